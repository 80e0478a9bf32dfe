#!/usr/bin/env bash
# End-to-end: `cohort kv`, `cohort counter`, `cohort lock` one-shot and piped against 3
# `cohort node` processes on 127.0.0.1 over config/raft.xml (tcp, the default: TCP ports
# 7930..7932) or config/raft-udp.xml (udp: UDP ports 7940..7942, multicast 228.8.8.23:45633,
# AppendEntries multicast to the group). CLIENT ports 9930..9932 (tcp) or 9940..9942 (udp);
# override the bases with COHORT_E2E_TCP_PORT / COHORT_E2E_CLIENT_PORT. Processes are stopped
# by PID only. Where the kernel refuses multicast (udp) it prints "SKIPPED: ..." and exits 77.
# Usage: shells_test.sh PATH/TO/cohort [tcp|udp]
set -u
cohort="${1:?usage: $0 PATH/TO/cohort [tcp|udp]}"
mode="${2:-tcp}"
here="$(cd "$(dirname "$0")" && pwd)"
case "$mode" in
  tcp)
    config="$here/../../config/raft.xml"
    tcp="${COHORT_E2E_TCP_PORT:-7930}"
    client="${COHORT_E2E_CLIENT_PORT:-9930}"
    ;;
  udp)
    config="$here/../../config/raft-udp.xml"
    tcp="${COHORT_E2E_TCP_PORT:-7940}"
    client="${COHORT_E2E_CLIENT_PORT:-9940}"
    ;;
  *)
    echo "usage: $0 PATH/TO/cohort [tcp|udp]" >&2
    exit 2
    ;;
esac
work="$(mktemp -d)"
pids=()
failures=0

cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

hosts="127.0.0.1[$tcp],127.0.0.1[$((tcp + 1))],127.0.0.1[$((tcp + 2))]"
i=0
for name in A B C; do
  if [[ "$mode" == udp ]]; then
    transport=(-D COHORT_UDP_PORT=$((tcp + i)) -D COHORT_PORT_RANGE=3
      -D COHORT_MCAST_ADDR=228.8.8.23 -D COHORT_MCAST_PORT="${COHORT_E2E_MCAST_PORT:-45633}")
  else
    transport=(-D COHORT_TCP_PORT=$((tcp + i)) -D "COHORT_INITIAL_HOSTS=$hosts")
  fi
  "$cohort" node --config "$config" --name "$name" --cluster "e2e-shells-$mode-$$" \
    "${transport[@]}" -D COHORT_CLIENT_PORT=$((client + i)) -D COHORT_LOG_DIR="$work/$name" \
    >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  i=$((i + 1))
done
connect="--connect 127.0.0.1:$client,127.0.0.1:$((client + 1)),127.0.0.1:$((client + 2))"

# expect "WANT" CMD...: runs `cohort CMD...` and compares its stdout with WANT.
expect() {
  local want="$1"
  shift
  local got
  got="$("$cohort" "$@" 2>"$work/last.err")"
  if [[ "$got" != "$want" ]]; then
    echo "FAIL: cohort $*: want '$want', got '$got' ($(cat "$work/last.err"))"
    failures=$((failures + 1))
  fi
}

# Wait for a leader: the first counter read that succeeds.
deadline=$((SECONDS + 30))
until "$cohort" counter $connect --timeout 2s get warmup >/dev/null 2>&1; do
  if [[ "$mode" == udp ]] && grep -q "cannot join" "$work"/*.err 2>/dev/null; then
    echo "SKIPPED: multicast unavailable: $(grep -h "cannot join" "$work"/*.err | head -n 1)"
    exit 77
  fi
  if ((SECONDS > deadline)); then
    echo "FAIL: no leader within 30 s"
    exit 1
  fi
  sleep 0.5
done

# Every member printed the leader it follows ("leader B term 3"); they name the same one.
sleep 0.5
leaders=""
for name in A B C; do
  line="$(grep -E '^leader [ABC] term [0-9]+$' "$work/$name.out" | tail -n 1)"
  [[ -n "$line" ]] || { echo "FAIL: $name printed no 'leader X term N' line"; failures=$((failures + 1)); }
  leaders+="${line% term*}"$'\n'
done
[[ "$(sort -u <<<"$leaders" | grep -c .)" == 1 ]] || {
  echo "FAIL: the members name different leaders: $(tr '\n' ' ' <<<"$leaders")"
  failures=$((failures + 1))
}

expect "(absent)" kv $connect put k v1
expect "v1" kv $connect get k
expect "true" kv $connect cas k v1 v2
expect "false" kv $connect cas k v1 v3
expect "1" kv $connect size
expect "v2" kv $connect remove k
expect "(absent)" kv $connect get k
expect "5" counter $connect incr c 5
expect "4" counter $connect decr c
expect "ok" counter $connect set c 7
expect "true 8" counter $connect cas c 7 8
expect "false 8" counter $connect cas c 7 9
expect "8" counter $connect get c
token_line="$("$cohort" lock $connect try-lock L 2s)"
[[ "$token_line" =~ ^acquired\ L\ token\ [0-9]+$ ]] || {
  echo "FAIL: try-lock: $token_line"
  failures=$((failures + 1))
}
# The one-shot holder's session lives on (until it expires): another client finds L busy.
expect "busy" lock $connect try-lock L 500ms
expect "error: not_holder" lock $connect unlock L
# A piped script: one session for all lines; exit code 1 because one line failed.
script_out="$(printf 'try-lock M\nheld M\nunlock M\nunlock M\n' | "$cohort" lock $connect)"
rc=$?
want="$(printf 'acquired M token X\ntrue\nunlocked M\nerror: not_holder')"
got="$(sed -E 's/token [0-9]+/token X/' <<<"$script_out")"
if [[ "$got" != "$want" || $rc -ne 1 ]]; then
  echo "FAIL: piped lock script (rc $rc): $script_out"
  failures=$((failures + 1))
fi
"$cohort" counter $connect incr c nope >/dev/null 2>&1 && {
  echo "FAIL: a bad number must exit 1"
  failures=$((failures + 1))
}

if ((failures)); then
  echo "shells_test: $failures failure(s)"
  exit 1
fi
echo "shells_test: ok"
