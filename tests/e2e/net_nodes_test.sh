#!/usr/bin/env bash
# End-to-end: 5 `cohort node` processes on 127.0.0.1 over config/tcp.xml (the full stack) must each
# print a view of 5 members. Ports 7900..7904 (override with COHORT_E2E_TCP_PORT). Processes are
# stopped by PID only. Usage: net_nodes_test.sh PATH/TO/cohort
set -u
cohort="${1:?usage: $0 PATH/TO/cohort}"
here="$(cd "$(dirname "$0")" && pwd)"
config="$here/../../config/tcp.xml"
port="${COHORT_E2E_TCP_PORT:-7900}"
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

cluster="e2e-net-$$"
for i in $(seq 0 $((n - 1))); do
  "$cohort" node --config "$config" --name "N$i" --cluster "$cluster" \
    -D COHORT_TCP_PORT="$port" -D COHORT_PORT_RANGE=$((n - 1)) \
    -D "COHORT_INITIAL_HOSTS=127.0.0.1[$port]" -D COHORT_DISCOVERY_INTERVAL=500ms \
    >"$work/N$i.out" 2>"$work/N$i.err" &
  pids+=($!)
done

# A view of 5 is a line "view [a, b, c, d, e] id=N": four ", " separators inside the brackets.
has_full_view() { grep -Eq '^view \[[^],]+(, [^],]+){4}\] id=[0-9]+$' "$1"; }

deadline=$((SECONDS + timeout_s))
while :; do
  done_count=0
  for i in $(seq 0 $((n - 1))); do
    has_full_view "$work/N$i.out" && done_count=$((done_count + 1))
  done
  [ "$done_count" -eq "$n" ] && break
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
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
  grep -E '^view \[[^],]+(, [^],]+){4}\]' "$work/N$i.out" | tail -n 1 | sed 's/ id=.*//'
done | sort -u | wc -l)
if [ "$last_views" -ne 1 ]; then
  echo "FAIL: the nodes disagree on the view of $n:" >&2
  tail -n 1 "$work"/*.out >&2
  exit 1
fi
echo "OK: $n nodes each printed a view of $n: $(tail -n 1 "$work/N0.out")"
exit 0
