#!/usr/bin/env bash
# The README's main job as a test: 3 member processes, kill -9 of the leader mid-workload, exact
# counter check, restart and catch-up. `cohort demo` exits non-zero if any check fails; it stops
# every process it started by PID.
set -euo pipefail
cohort="$1"
exec "$cohort" demo --base-port 8300 --client-port 9300 --increments 200
