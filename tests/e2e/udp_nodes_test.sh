#!/usr/bin/env bash
# End-to-end: 5 `cohort node` processes on 127.0.0.1 over config/udp.xml (the full stack) must
# each print a view of 5 members, found by IP multicast on the loopback interface. Unicast ports
# 7950.. and multicast group 228.8.8.8:45600 (override with COHORT_E2E_UDP_PORT /
# COHORT_E2E_MCAST_PORT) so as not to collide with other tests. Processes are stopped by PID only.
# Where the kernel refuses multicast the nodes exit with "mcast_addr: cannot join ..." and the test
# prints "SKIPPED: multicast unavailable: ..." and exits 77, which CTest reports as skipped
# (SKIP_RETURN_CODE), never as passed.
# Usage: udp_nodes_test.sh PATH/TO/cohort
set -u
cohort="${1:?usage: $0 PATH/TO/cohort}"
here="$(cd "$(dirname "$0")" && pwd)"
config="$here/../../config/udp.xml"
port="${COHORT_E2E_UDP_PORT:-7950}"
mcast_port="${COHORT_E2E_MCAST_PORT:-45600}"
n=5
timeout_s=40
work="$(mktemp -d)"
pids=()

cleanup() {
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT

cluster="e2e-udp-$$"
for i in $(seq 0 $((n - 1))); do
  "$cohort" node --config "$config" --name "U$i" --cluster "$cluster" \
    -D COHORT_UDP_PORT="$port" -D COHORT_PORT_RANGE=$((n + 5)) \
    -D COHORT_MCAST_PORT="$mcast_port" -D COHORT_DISCOVERY_INTERVAL=500ms \
    >"$work/U$i.out" 2>"$work/U$i.err" &
  pids+=($!)
done

# A view of 5 is a line "view [a, b, c, d, e] id=N": four ", " separators inside the brackets.
has_full_view() { grep -Eq '^view \[[^],]+(, [^],]+){4}\] id=[0-9]+$' "$1"; }

deadline=$((SECONDS + timeout_s))
while :; do
  done_count=0
  for i in $(seq 0 $((n - 1))); do
    has_full_view "$work/U$i.out" && done_count=$((done_count + 1))
  done
  [ "$done_count" -eq "$n" ] && break
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      if grep -q "cannot join" "$work"/*.err; then
        echo "SKIPPED: multicast unavailable: $(grep -h "cannot join" "$work"/*.err | head -n 1)"
        exit 77
      fi
      echo "FAIL: a node exited early" >&2
      tail -n 5 "$work"/*.err "$work"/*.out >&2
      exit 1
    fi
  done
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "FAIL: only $done_count of $n nodes saw a view of $n within ${timeout_s}s" >&2
    tail -n 3 "$work"/*.out "$work"/*.err >&2
    exit 1
  fi
  sleep 0.2
done

# All five agree on the membership (same members in the same order) in their last full view.
last_views=$(for i in $(seq 0 $((n - 1))); do
  grep -E '^view \[[^],]+(, [^],]+){4}\]' "$work/U$i.out" | tail -n 1 | sed 's/ id=.*//'
done | sort -u | wc -l)
if [ "$last_views" -ne 1 ]; then
  echo "FAIL: the nodes disagree on the view of $n:" >&2
  tail -n 1 "$work"/*.out >&2
  exit 1
fi
echo "OK: $n nodes each printed a view of $n over UDP multicast: $(tail -n 1 "$work/U0.out")"
exit 0
