#!/usr/bin/env bash
# End-to-end: `cohort node` processes on 127.0.0.1 over config/tcp-gms-encrypt.xml (SYM_ENCRYPT
# above TCP, AUTH below GMS), key and secret in the environment.
#   1. A and B (right key, right secret) print the same view of 2;
#   2. W (right key, wrong AUTH secret) is refused: it prints "cannot join: ... AUTH ..." on
#      stderr and exits 3, without ever printing a view; A and B's view is unchanged;
#   3. K (wrong SYM_ENCRYPT key) cannot join: whatever it sends is dropped; it ends up alone
#      (a view of itself only) and A and B's view is unchanged.
# Ports 8400..8403 (override with COHORT_E2E_ENCRYPT_PORT). Processes are stopped by PID only.
# Usage: encrypt_nodes_test.sh PATH/TO/cohort
set -u
cohort="${1:?usage: $0 PATH/TO/cohort}"
here="$(cd "$(dirname "$0")" && pwd)"
config="$here/../../config/tcp-gms-encrypt.xml"
port="${COHORT_E2E_ENCRYPT_PORT:-8400}"
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

good_key=$(printf 'a%.0s' $(seq 64))
bad_key=$(printf 'b%.0s' $(seq 64))
good_secret="e2e encrypt test shared secret"
cluster="e2e-encrypt-$$"

# start_node NAME KEY SECRET
start_node() {
  COHORT_SYM_KEY="$2" COHORT_AUTH_SECRET="$3" "$cohort" node --config "$config" --name "$1" \
    --cluster "$cluster" -D COHORT_TCP_PORT="$port" -D COHORT_PORT_RANGE=3 \
    -D "COHORT_INITIAL_HOSTS=127.0.0.1[$port]" -D COHORT_DISCOVERY_INTERVAL=500ms \
    >"$work/$1.out" 2>"$work/$1.err" &
  pids[$1]=$!
}

last_view() { grep -E '^view \[' "$work/$1.out" 2>/dev/null | tail -n 1; }

dump() {
  for f in "$work"/*.out "$work"/*.err; do
    echo "--- $f" >&2
    tail -n 8 "$f" >&2
  done
}
fail() {
  echo "FAIL: $*" >&2
  dump
  exit 1
}

# wait_for SECONDS COMMAND...: polls until the command succeeds.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}

pair_agrees() {
  local a b
  a="$(last_view A)"
  b="$(last_view B)"
  [[ "$a" == "view [A, B] id="* && "$a" == "$b" ]]
}

start_node A "$good_key" "$good_secret"
wait_for 20 grep -q '^view \[A\]' "$work/A.out" || fail "A printed no view"
start_node B "$good_key" "$good_secret"
wait_for 30 pair_agrees || fail "A and B did not agree on a view of 2"
pair_view="$(last_view A)"
echo "A and B: $pair_view"

start_node W "$good_key" "a wrong shared secret of W"
wpid=${pids[W]}
exited() { ! kill -0 "$1" 2>/dev/null; }
wait_for 30 exited "$wpid" || fail "W (wrong AUTH secret) still runs"
wait "$wpid"
code=$?
unset 'pids[W]'
[ "$code" -eq 3 ] || fail "W exited with $code, expected 3"
grep -q "cannot join: .*AUTH.*invalid token" "$work/W.err" || fail "W's error does not name AUTH"
grep -q '^view' "$work/W.out" && fail "W printed a view"
echo "W refused: $(head -n 1 "$work/W.err")"

start_node K "$bad_key" "$good_secret"
wait_for 30 grep -q '^view \[K\]' "$work/K.out" || fail "K (wrong key) printed no view of itself"
sleep 8  # a few MERGE rounds: nothing K sends gets through
grep -q '^view \[K\]' "$work/K.out" || fail "K has no singleton view"
[ "$(grep -c '^view' "$work/K.out")" -eq 1 ] || fail "K saw other views: $(cat "$work/K.out")"
[ "$(last_view A)" = "$pair_view" ] || fail "A's view changed: $(last_view A)"
[ "$(last_view B)" = "$pair_view" ] || fail "B's view changed: $(last_view B)"
echo "K (wrong key) stayed alone; A and B unchanged: $pair_view"
echo "PASS"
