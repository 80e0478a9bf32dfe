#!/usr/bin/env bash
# End-to-end partition and merge: 5 `cohort node --control` processes on 127.0.0.1 over
# config/udp.xml (udp: IP multicast on loopback) or config/tcp.xml (tcp).
#   1. all 5 print the same view of 5;
#   2. a partition made at run time with DISCARD through each node's control input: P0, P1, P2
#      get `discard P3,P4`, P3 and P4 get `discard P0,P1,P2` -> each side prints the same view of
#      exactly its own members;
#   3. healed (`discard none` everywhere) -> all 5 print the same view of 5 again, and each of
#      them printed a view of 5 marked `merge` after the heal.
# Ports: udp 8700..8706 and multicast group 228.8.8.20:45630, tcp 8708..8712 (override with
# COHORT_E2E_PARTITION_PORT / COHORT_E2E_PARTITION_MCAST_PORT). Processes are stopped by PID only.
# Where the kernel refuses multicast (udp) the test prints "SKIPPED: ..." and exits 77, which CTest
# reports as skipped (SKIP_RETURN_CODE). Limits are generous; no timing is asserted.
# Usage: partition_nodes_test.sh PATH/TO/cohort udp|tcp
set -u
cohort="${1:?usage: $0 PATH/TO/cohort udp|tcp}"
transport="${2:?usage: $0 PATH/TO/cohort udp|tcp}"
here="$(cd "$(dirname "$0")" && pwd)"
n=5
side_a=(0 1 2)
side_b=(3 4)
limit_s=60
work="$(mktemp -d)"
declare -A pids=() ctl=()
trap '' PIPE # a write to a dead node's control FIFO fails instead of killing the test

case "$transport" in
  udp)
    port="${COHORT_E2E_PARTITION_PORT:-8700}"
    mcast_port="${COHORT_E2E_PARTITION_MCAST_PORT:-45630}"
    args=(--config "$here/../../config/udp.xml" -D COHORT_UDP_PORT="$port"
      -D COHORT_PORT_RANGE=$((n + 1)) -D COHORT_MCAST_ADDR=228.8.8.20
      -D COHORT_MCAST_PORT="$mcast_port")
    ;;
  tcp)
    port="${COHORT_E2E_PARTITION_PORT:-8708}"
    args=(--config "$here/../../config/tcp.xml" -D COHORT_TCP_PORT="$port"
      -D COHORT_PORT_RANGE=$((n - 1)) -D "COHORT_INITIAL_HOSTS=127.0.0.1[$port]")
    ;;
  *)
    echo "usage: $0 PATH/TO/cohort udp|tcp" >&2
    exit 2
    ;;
esac

cleanup() {
  for fd in "${ctl[@]}"; do
    exec {fd}>&-
  done
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT

cluster="e2e-partition-$transport-$$"
# Each node reads its commands from a FIFO that the test keeps open for writing.
start_node() {
  local i=$1
  mkfifo "$work/P$i.ctl"
  "$cohort" node "${args[@]}" --name "P$i" --cluster "$cluster" --control \
    -D COHORT_DISCOVERY_INTERVAL=500ms \
    <"$work/P$i.ctl" >"$work/P$i.out" 2>"$work/P$i.err" &
  pids[$i]=$!
  local fd
  exec {fd}>"$work/P$i.ctl"
  ctl[$i]=$fd
}
command_to() { echo "$2" >&"${ctl[$1]}"; }

# Node i's last view line ("view [P0, P1] id=7 merge"; "" if none yet) and its members ("P0, P1").
last_line() { grep -E '^view \[' "$work/P$1.out" 2>/dev/null | tail -n 1; }
members_of() { echo "$1" | sed -E 's/^view \[(.*)\] id=.*/\1/'; }
count_members() { [ -z "$1" ] && echo 0 || echo "$1" | awk -F', ' '{print NF}'; }

dump() {
  for f in "$work"/*.out "$work"/*.err; do
    echo "--- $f" >&2
    tail -n 12 "$f" >&2
  done
}

# True if every node in "$@" has the same last view line and its members are exactly "$@".
agree() {
  local first="" i j line v
  for i in "$@"; do
    line="$(last_line "$i")"
    v="$(members_of "$line")"
    [ "$(count_members "$v")" -eq $# ] || return 1
    for j in "$@"; do
      echo ", $v," | grep -q ", P$j," || return 1
    done
    [ -z "$first" ] && first="$line"
    [ "$line" = "$first" ] || return 1 # same members, same order, same id
  done
  return 0
}

# Waits up to limit_s for the command "$@" to succeed; a node that exits early fails the test.
wait_for() {
  local deadline=$((SECONDS + limit_s)) i
  while ! "$@"; do
    for i in "${!pids[@]}"; do
      if ! kill -0 "${pids[$i]}" 2>/dev/null; then
        if grep -q "cannot join" "$work"/*.err; then
          echo "SKIPPED: multicast unavailable: $(grep -h "cannot join" "$work"/*.err | head -n 1)"
          exit 77
        fi
        echo "FAIL: node P$i exited early" >&2
        dump
        exit 1
      fi
    done
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}

all=(0 1 2 3 4)
for i in "${all[@]}"; do
  start_node "$i"
done
if ! wait_for agree "${all[@]}"; then
  echo "FAIL: the $n nodes did not agree on a view of $n within ${limit_s}s" >&2
  dump
  exit 1
fi
echo "OK: $n nodes agree over $transport: $(last_line 0)"

# 2. Partition: each side drops everything from and to the other.
for i in "${side_a[@]}"; do
  command_to "$i" "discard P3,P4"
done
for i in "${side_b[@]}"; do
  command_to "$i" "discard P0,P1,P2"
done
both_sides() { agree "${side_a[@]}" && agree "${side_b[@]}"; }
if ! wait_for both_sides; then
  echo "FAIL: the partition did not yield two views within ${limit_s}s" >&2
  dump
  exit 1
fi
echo "OK: partitioned: $(last_line 0) | $(last_line 3)"

# 3. Heal: every node drops nothing any more; MERGE finds the other side.
declare -A lines_before=()
for i in "${all[@]}"; do
  lines_before[$i]=$(wc -l <"$work/P$i.out")
  command_to "$i" "discard none"
done
# Node i printed, after the heal, a view of all 5 marked as a merge view.
merged_since_heal() {
  local i
  for i in "${all[@]}"; do
    tail -n +$((${lines_before[$i]} + 1)) "$work/P$i.out" |
      grep -Eq '^view \[[^],]+(, [^],]+){4}\] id=[0-9]+ merge$' || return 1
  done
}
all_merged() { agree "${all[@]}" && merged_since_heal; }
if ! wait_for all_merged; then
  echo "FAIL: after the heal the $n nodes did not agree on a merged view within ${limit_s}s" >&2
  dump
  exit 1
fi
for i in "${all[@]}"; do
  if grep -q "^error:" "$work/P$i.err"; then
    echo "FAIL: node P$i rejected a control command" >&2
    dump
    exit 1
  fi
done
echo "OK: healed and merged: $(grep -E '^view .* merge$' "$work/P0.out" | tail -n 1)"
exit 0
