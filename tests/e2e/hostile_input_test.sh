#!/usr/bin/env bash
# End-to-end: hostile input against a RUNNING `cohort node` (a real process).
#   hostile_input_test.sh PATH/TO/cohort tcp   # config/tcp.xml (TCP + TCPPING), ports 7960..7962
#   hostile_input_test.sh PATH/TO/cohort udp   # config/udp.xml (UDP + PING), ports 7970..7972,
#                                              # multicast group 228.8.8.8:45620
# Member A runs with a peer B (so that it has a view of 2). The script then sends A, with bash's
# own /dev/tcp and /dev/udp (no other tool needed):
#   tcp: a random-byte stream, an HTTP request, a zero length prefix, a length prefix with only
#        half of its frame, a connection that sends nothing, and a truncated frame followed by EOF;
#   udp: random datagrams, datagrams that start like a frame (magic, version) and stop short.
# It proves, from the counters A prints on SIGUSR1 (`stats UDP ... malformed=N ...`), that every
# one was counted as malformed (exactly one per connection / datagram) and dropped; for tcp that
# A closed each garbage connection itself (our read ends within the timeout); and that A still
# works: a third member C started after the attack ends up in A's view, and B and C do too.
# Processes are stopped by PID only. The udp run exits 77 (skipped, SKIP_RETURN_CODE) with
# "SKIPPED: multicast unavailable" where the kernel refuses to join the group.
set -u
cohort="${1:?usage: $0 PATH/TO/cohort tcp|udp}"
transport="${2:?usage: $0 PATH/TO/cohort tcp|udp}"
here="$(cd "$(dirname "$0")" && pwd)"
timeout_s=30
work="$(mktemp -d)"
pids=()
declare -A pid_of

cleanup() {
  exec 3>&- 2>/dev/null
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.out "$work"/*.err; do
    [ -s "$f" ] && { echo "--- $f" >&2; tail -n 8 "$f" >&2; }
  done
  exit 1
}

cluster="e2e-hostile-$transport-$$"
case "$transport" in
  tcp)
    port="${COHORT_E2E_HOSTILE_TCP_PORT:-7960}"
    config="$here/../../config/tcp.xml"
    proto=TCP
    hosts="127.0.0.1[$port],127.0.0.1[$((port + 1))],127.0.0.1[$((port + 2))]"
    start() {  # NAME PORT: port_range 0, so that A is exactly on $port or fails to start
      "$cohort" node --config "$config" --name "$1" --cluster "$cluster" \
        -D COHORT_TCP_PORT="$2" -D COHORT_PORT_RANGE=0 -D "COHORT_INITIAL_HOSTS=$hosts" \
        -D COHORT_DISCOVERY_INTERVAL=500ms >"$work/$1.out" 2>"$work/$1.err" &
      pids+=($!)
      pid_of[$1]=$!
    }
    ;;
  udp)
    port="${COHORT_E2E_HOSTILE_UDP_PORT:-7970}"
    mcast_port="${COHORT_E2E_HOSTILE_MCAST_PORT:-45620}"
    config="$here/../../config/udp.xml"
    proto=UDP
    start() {
      "$cohort" node --config "$config" --name "$1" --cluster "$cluster" \
        -D COHORT_UDP_PORT="$2" -D COHORT_PORT_RANGE=0 -D COHORT_MCAST_PORT="$mcast_port" \
        -D COHORT_DISCOVERY_INTERVAL=500ms >"$work/$1.out" 2>"$work/$1.err" &
      pids+=($!)
      pid_of[$1]=$!
    }
    ;;
  *)
    echo "usage: $0 PATH/TO/cohort tcp|udp" >&2
    exit 2
    ;;
esac

check_alive() {
  for name in "${!pid_of[@]}"; do
    kill -0 "${pid_of[$name]}" 2>/dev/null && continue
    if [ "$transport" = udp ] && grep -q "cannot join" "$work"/*.err; then
      echo "SKIPPED: multicast unavailable: $(grep -h "cannot join" "$work"/*.err | head -n 1)"
      exit 77
    fi
    fail "node $name exited early"
  done
}

# Waits until NAME's output has a view line holding exactly the given members (any order).
wait_view() {
  local name="$1"
  shift
  local want
  want="$(printf '%s\n' "$@" | sort | paste -sd,)"
  local deadline=$((SECONDS + timeout_s))
  while [ "$SECONDS" -lt "$deadline" ]; do
    check_alive
    while read -r members; do
      [ "$(tr -d ' ' <<<"$members" | tr ',' '\n' | sort | paste -sd,)" = "$want" ] && return 0
    done < <(sed -nE 's/^view \[([^]]*)\].*/\1/p' "$work/$name.out")
    sleep 0.2
  done
  fail "$name did not print a view of [$*] within ${timeout_s}s"
}

# Asks A for its counters (SIGUSR1) and prints the value of $proto's counter $1.
stats_round=0
stat_of_a() {
  stats_round=$((stats_round + 1))
  local before
  before=$(grep -c '^stats end$' "$work/A.out")
  kill -USR1 "${pid_of[A]}"
  local deadline=$((SECONDS + 10))
  while [ "$(grep -c '^stats end$' "$work/A.out")" -le "$before" ]; do
    [ "$SECONDS" -ge "$deadline" ] && fail "A printed no stats on SIGUSR1"
    sleep 0.1
  done
  grep "^stats $proto " "$work/A.out" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$1=//p"
}

start A "$port"
start B "$((port + 1))"
wait_view A A B
wait_view B A B
malformed_before=$(stat_of_a malformed)
closed_before=$(stat_of_a connections_closed)
[ -n "$malformed_before" ] || fail "A's stats have no $proto malformed counter"
echo "A and B see each other; A's $proto malformed=$malformed_before before the attack"

sent=0
if [ "$transport" = tcp ]; then
  # Each hostile connection: write the bytes, keep our side open, and read until A closes it.
  # `timeout` exits 124 if A never closes; EOF (0) or a reset (1) both mean A closed it.
  hostile_connection() {
    local what="$1" payload="$2" rc
    exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect to A on $port"
    [ -n "$payload" ] && (cat "$payload" >&3) 2>/dev/null
    timeout 15 cat <&3 >/dev/null 2>&1
    rc=$?
    exec 3>&-
    [ "$rc" -eq 124 ] && fail "A did not close the connection that sent $what"
    sent=$((sent + 1))
    echo "A closed the connection that sent $what"
  }
  head -c 1500 /dev/urandom >"$work/random"
  hostile_connection "1500 random bytes" "$work/random"
  printf 'GET / HTTP/1.1\r\nHost: a\r\n\r\n' >"$work/http"
  hostile_connection "an HTTP request" "$work/http"
  printf '\x00\x00\x00\x00' >"$work/zero"
  hostile_connection "a zero length prefix" "$work/zero"
  { printf '\x64\x00\x00\x00'; head -c 50 /dev/urandom; } >"$work/half"
  hostile_connection "half a frame (length 100, 50 bytes)" "$work/half"
  hostile_connection "nothing (no hello within sock_conn_timeout)" ""
  # A frame cut short by EOF: we close first; A counts the stream that ended inside a frame.
  exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect to A on $port"
  { printf '\x00\x01\x00\x00\x43\x48\x01\x00'; head -c 20 /dev/urandom; } >&3
  timeout 1 cat <&3 >/dev/null 2>&1  # read A's hello first, so that our close is a FIN, not a reset
  exec 3>&-
  sent=$((sent + 1))
else
  # One datagram per write: each file is written by one cat (well below the pipe/datagram size).
  datagram() { cat "$1" >"/dev/udp/127.0.0.1/$port" || fail "cannot send to A on $port"; sent=$((sent + 1)); }
  for i in $(seq 1 20); do
    head -c $((1 + RANDOM % 1400)) /dev/urandom >"$work/d$i"
    datagram "$work/d$i"
  done
  for cut in 1 2 3 4 6 9 13 20 40; do  # "CH", version 1, flags, a cluster name that stops short
    { printf '\x43\x48\x01\x00\x40'; printf '%s' "$cluster"; head -c 64 /dev/zero; } |
      head -c "$cut" >"$work/t$cut"
    datagram "$work/t$cut"
  done
fi
echo "sent $sent hostile inputs to A over $transport"

deadline=$((SECONDS + timeout_s))
while :; do
  malformed=$(stat_of_a malformed)
  [ $((malformed - malformed_before)) -eq "$sent" ] && break
  [ $((malformed - malformed_before)) -gt "$sent" ] &&
    fail "A counted $((malformed - malformed_before)) malformed inputs, $sent were sent"
  [ "$SECONDS" -ge "$deadline" ] &&
    fail "A counted $((malformed - malformed_before)) of $sent hostile inputs as malformed"
  sleep 0.5
done
if [ "$transport" = tcp ]; then
  closed=$(stat_of_a connections_closed)
  [ $((closed - closed_before)) -ge "$sent" ] ||
    fail "A closed $((closed - closed_before)) connections, expected at least $sent"
fi
received_before=$(stat_of_a msgs_received)

# Still working: a member that joins after the attack is seen by A, and everyone agrees.
start C "$((port + 2))"
wait_view A A B C
wait_view B A B C
wait_view C A B C
received=$(stat_of_a msgs_received)
[ "$received" -gt "$received_before" ] || fail "A received nothing after the attack"
check_alive
echo "OK: $transport: A counted all $sent hostile inputs as malformed ($proto malformed" \
  "$malformed_before -> $malformed), kept running, and sees C, which joined afterwards" \
  "($proto msgs_received $received_before -> $received)"
exit 0
