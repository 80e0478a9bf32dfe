#!/usr/bin/env bash
# End-to-end: 5 `cohort node` processes on 127.0.0.1 over the full stock stack, config/tcp.xml
# (tcp, the default) or config/udp.xml (udp: IP multicast on loopback):
#   1. all 5 print the same view of 5;
#   2. kill -9 one: the other 4 print the same view of 4 (without it) within FD_ALL timeout +
#      timeout_check_interval + VERIFY_SUSPECT timeout + 4.5s of slack for a loaded machine (3s + 0.5s + 1s + 4.5s);
#   3. restart it (a new incarnation, same name and port): all 5 print the same view of 5 again.
# Ports: tcp 8100..8104, udp 8714..8720 and multicast group 228.8.8.21:45631 (override with
# COHORT_E2E_GMS_PORT / COHORT_E2E_GMS_MCAST_PORT). Processes are stopped by PID only. Where the
# kernel refuses multicast (udp) the test prints "SKIPPED: ..." and exits 77 (CTest: skipped).
# Usage: gms_nodes_test.sh PATH/TO/cohort [tcp|udp]
set -u
cohort="${1:?usage: $0 PATH/TO/cohort [tcp|udp]}"
transport="${2:-tcp}"
here="$(cd "$(dirname "$0")" && pwd)"
n=5
case "$transport" in
  tcp)
    port="${COHORT_E2E_GMS_PORT:-8100}"
    args=(--config "$here/../../config/tcp.xml" -D COHORT_TCP_PORT="$port"
      -D COHORT_PORT_RANGE=$((n - 1)) -D "COHORT_INITIAL_HOSTS=127.0.0.1[$port]")
    ;;
  udp)
    port="${COHORT_E2E_GMS_PORT:-8714}"
    args=(--config "$here/../../config/udp.xml" -D COHORT_UDP_PORT="$port"
      -D COHORT_PORT_RANGE=$((n + 1)) -D COHORT_MCAST_ADDR=228.8.8.21
      -D COHORT_MCAST_PORT="${COHORT_E2E_GMS_MCAST_PORT:-45631}")
    ;;
  *)
    echo "usage: $0 PATH/TO/cohort [tcp|udp]" >&2
    exit 2
    ;;
esac
victim=2
detect_limit_ms=9000
work="$(mktemp -d)"
declare -A pids=()

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

cluster="e2e-gms-$transport-$$"
start_node() {
  local i=$1
  "$cohort" node "${args[@]}" --name "N$i" --cluster "$cluster" \
    -D COHORT_DISCOVERY_INTERVAL=500ms \
    >"$work/N$i.out" 2>"$work/N$i.err" &
  pids[$i]=$!
}

# Node i's last view line ("view [N0, N1] id=7"; "" if none yet) and its members ("N0, N1").
last_line() { grep -E '^view \[' "$work/N$1.out" 2>/dev/null | tail -n 1; }
members_of() { echo "$1" | sed -E 's/^view \[(.*)\] id=.*/\1/'; }
count_members() { [ -z "$1" ] && echo 0 || echo "$1" | awk -F', ' '{print NF}'; }
now_ms() { date +%s%3N; }

dump() {
  for f in "$work"/*.out "$work"/*.err; do
    echo "--- $f" >&2
    tail -n 8 "$f" >&2
  done
}

# Waits until every node in "$@" has the same last view of exactly the nodes listed; $limit_s.
wait_agree() {
  local limit_s=$1
  shift
  local deadline=$((SECONDS + limit_s))
  while :; do
    local ok=1 first=""
    for i in "$@"; do
      local line v
      line="$(last_line "$i")"
      v="$(members_of "$line")"
      [ "$(count_members "$v")" -eq $# ] || ok=0
      for j in "$@"; do
        echo ", $v," | grep -q ", N$j," || ok=0
      done
      [ -z "$first" ] && first="$line"
      [ "$line" = "$first" ] || ok=0  # same members, same order, same id
    done
    [ "$ok" -eq 1 ] && return 0
    for i in "$@"; do
      if ! kill -0 "${pids[$i]}" 2>/dev/null; then
        if grep -q "cannot join" "$work"/*.err; then
          echo "SKIPPED: multicast unavailable: $(grep -h "cannot join" "$work"/*.err | head -n 1)"
          exit 77
        fi
        echo "FAIL: node N$i exited early" >&2
        dump
        exit 1
      fi
    done
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

all=$(seq 0 $((n - 1)))
for i in $all; do
  start_node "$i"
done
if ! wait_agree 30 $all; then
  echo "FAIL: the $n nodes did not agree on a view of $n within 30s" >&2
  dump
  exit 1
fi
echo "OK: $n nodes agree: $(grep -E '^view' "$work/N0.out" | tail -n 1)"
# GMS print_local_addr (on in the stock stacks): each member printed its address once at connect.
for i in $all; do
  if [ "$(grep -c '^GMS: address=.* physical=[0-9]' "$work/N$i.out")" != 1 ]; then
    echo "FAIL: N$i did not print one 'GMS: address=... physical=...' line" >&2
    dump
    exit 1
  fi
done

# 2. kill -9 one member.
rest=$(for i in $all; do [ "$i" -ne "$victim" ] && echo "$i"; done)
t0=$(now_ms)
kill -KILL "${pids[$victim]}"
wait "${pids[$victim]}" 2>/dev/null
unset "pids[$victim]"
if ! wait_agree 20 $rest; then
  echo "FAIL: the other $((n - 1)) nodes did not agree on a view of $((n - 1)) within 20s" >&2
  dump
  exit 1
fi
took=$(($(now_ms) - t0))
echo "OK: after kill -9 of N$victim the others agree in ${took}ms: $(grep -E '^view' "$work/N0.out" | tail -n 1)"
if [ "$took" -gt "$detect_limit_ms" ]; then
  echo "FAIL: detection took ${took}ms, above ${detect_limit_ms}ms" >&2
  dump
  exit 1
fi

# 3. restart it: a new incarnation joins.
start_node "$victim"
if ! wait_agree 30 $all; then
  echo "FAIL: after the restart the $n nodes did not agree on a view of $n within 30s" >&2
  dump
  exit 1
fi
echo "OK: N$victim restarted and joined: $(grep -E '^view' "$work/N0.out" | tail -n 1)"
exit 0
