#!/usr/bin/env bash
# End-to-end: the etcd v2 HTTP gateway of 3 `cohort node --http` processes on 127.0.0.1, driven
# by real clients: Debian's etcdctl 3.4 (ETCDCTL_API=2) against the leader and a follower, and
# curl for the JSON shapes, headers and error codes. Raft TCP ports 8500..8502, HTTP ports
# 8510..8512 (override the bases with COHORT_E2E_TCP_PORT / COHORT_E2E_HTTP_PORT). Processes are
# stopped by PID only. Exit 77 (skipped) when etcdctl or curl is missing.
# Usage: etcd_gateway_test.sh PATH/TO/cohort
set -u
cohort="${1:?usage: $0 PATH/TO/cohort}"
here="$(cd "$(dirname "$0")" && pwd)"
config="$here/../../config/raft.xml"
tcp="${COHORT_E2E_TCP_PORT:-8500}"
http="${COHORT_E2E_HTTP_PORT:-8510}"
for tool in etcdctl curl; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool is not installed (tools/setup.sh installs it)"
    exit 77
  fi
done
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
  "$cohort" node --config "$config" --name "$name" --cluster "e2e-etcd-$$" \
    -D COHORT_TCP_PORT=$((tcp + i)) -D COHORT_CLIENT_PORT=0 \
    -D "COHORT_INITIAL_HOSTS=$hosts" -D COHORT_LOG_DIR="$work/$name" \
    --http "127.0.0.1:$((http + i))" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  i=$((i + 1))
done

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# Wait until every member's gateway is up and one of them reports itself leader.
leader=""
deadline=$((SECONDS + 60))
while [[ -z "$leader" ]]; do
  if ((SECONDS > deadline)); then
    echo "FAIL: no leader within 60 s"
    tail -n 5 "$work"/*.out "$work"/*.err
    exit 1
  fi
  sleep 0.3
  up=0
  for i in 0 1 2; do
    stats="$(curl -s --max-time 2 "http://127.0.0.1:$((http + i))/v2/stats/self")" || continue
    up=$((up + 1))
    [[ "$stats" == *'"state":"StateLeader"'* ]] && leader="http://127.0.0.1:$((http + i))"
  done
  ((up == 3)) || leader=""
done
follower=""
for i in 0 1 2; do
  url="http://127.0.0.1:$((http + i))"
  [[ "$url" != "$leader" ]] && follower="$url" && break
done
echo "leader $leader, follower $follower"

# ctl URL ARGS...: etcdctl v2 against one member only (no endpoint sync).
ctl() {
  local url="$1"
  shift
  ETCDCTL_API=2 etcdctl --no-sync --endpoints "$url" --timeout 10s --total-timeout 30s "$@"
}
# expect WANT URL ARGS...: etcdctl's stdout must be WANT.
expect() {
  local want="$1" got
  shift
  got="$(ctl "$@" 2>"$work/last.err")"
  [[ "$got" == "$want" ]] || fail "etcdctl ${*:2} on $1: want '$want', got '$got' ($(cat "$work/last.err"))"
}
# expect_error CODE URL ARGS...: etcdctl must fail with etcd error CODE.
expect_error() {
  local code="$1"
  shift
  if ctl "$@" >"$work/last.out" 2>"$work/last.err"; then
    fail "etcdctl ${*:2} on $1: should fail with $code, printed '$(cat "$work/last.out")'"
  elif ! grep -q "$code:" "$work/last.err"; then
    fail "etcdctl ${*:2} on $1: want error $code, got '$(cat "$work/last.err")'"
  fi
}

for url in "$leader" "$follower"; do
  p="/e2e${url##*:}"  # a key space per member under test
  expect "bar" "$url" set "$p/foo" bar
  expect "bar" "$url" get "$p/foo"
  expect "v1" "$url" mk "$p/new" v1
  expect_error 105 "$url" mk "$p/new" v2
  expect "baz" "$url" update "$p/foo" baz
  expect_error 100 "$url" update "$p/missing" x
  expect "qux" "$url" set --swap-with-value baz "$p/foo" qux
  expect_error 101 "$url" set --swap-with-value nope "$p/foo" zzz
  expect "qux" "$url" get "$p/foo"
  ctl "$url" mkdir "$p/dir" || fail "mkdir $p/dir on $url"
  expect "1" "$url" set "$p/dir/a" 1
  expect "2" "$url" set "$p/dir/sub/b" 2
  expect "$p/dir/a
$p/dir/sub
$p/dir/sub/b" "$url" ls -r "$p/dir"
  expect_error 108 "$url" rmdir "$p/dir"
  ctl "$url" rm "$p/foo" >/dev/null 2>&1 || fail "rm $p/foo on $url"
  expect_error 100 "$url" get "$p/foo"
  ctl "$url" rm --recursive "$p/dir" >/dev/null 2>&1 || fail "rm --recursive $p/dir on $url"
  expect_error 100 "$url" ls "$p/dir"

  # watch on this member; the write goes through the other one. --after-index makes it race
  # free: a set that lands before the watch is registered is answered from the history.
  index="$(curl -s -o /dev/null -D - "$url/v2/keys/" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-etcd-index"{print $2}')"
  [[ -n "$index" ]] || fail "no X-Etcd-Index on GET /v2/keys/ from $url"
  ctl "$url" watch --after-index "${index:-0}" "$p/w" >"$work/watch.out" 2>"$work/watch.err" &
  watcher=$!
  other="$leader"
  [[ "$url" == "$leader" ]] && other="$follower"
  expect "hello" "$other" set "$p/w" hello
  for _ in $(seq 1 300); do
    kill -0 "$watcher" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$watcher" 2>/dev/null; then
    kill "$watcher"
    fail "watch $p/w on $url did not return"
  fi
  wait "$watcher" 2>/dev/null
  [[ "$(cat "$work/watch.out")" == "hello" ]] ||
    fail "watch $p/w on $url printed '$(cat "$work/watch.out")' ($(cat "$work/watch.err"))"
done

# curl URL... -> "STATUS BODY" (body without its trailing newline)
req() { curl -s --max-time 30 -w ' %{http_code}' "$@" | tr -d '\n'; }
# check_re WHAT GOT REGEX
check_re() { [[ "$2" =~ $3 ]] || fail "$1: '$2' does not match '$3'"; }

got="$(req -X PUT "$leader/v2/keys/c/k1" -d value=v1)"
check_re "PUT new key" "$got" '^\{"action":"set","node":\{"key":"/c/k1","value":"v1","modifiedIndex":([0-9]+),"createdIndex":([0-9]+)\}\} 201$'
got="$(req -X PUT "$follower/v2/keys/c/k1" -d value=v2)"
check_re "PUT existing key" "$got" '^\{"action":"set","node":\{"key":"/c/k1","value":"v2","modifiedIndex":[0-9]+,"createdIndex":[0-9]+\},"prevNode":\{"key":"/c/k1","value":"v1","modifiedIndex":[0-9]+,"createdIndex":[0-9]+\}\} 200$'
got="$(req "$follower/v2/keys/c/k1?quorum=true")"
check_re "GET quorum on a follower" "$got" '^\{"action":"get","node":\{"key":"/c/k1","value":"v2",.*\}\} 200$'
got="$(req "$leader/v2/keys/c/missing")"
check_re "GET missing" "$got" '^\{"errorCode":100,"message":"Key not found","cause":"/c/missing","index":[0-9]+\} 404$'
got="$(req -X PUT "$leader/v2/keys/c/k1?prevExist=false" -d value=x)"
check_re "create existing" "$got" '^\{"errorCode":105,"message":"Key already exists","cause":"/c/k1","index":[0-9]+\} 412$'
got="$(req -X PUT "$leader/v2/keys/c/k1?prevValue=wrong" -d value=x)"
check_re "CAS mismatch" "$got" '^\{"errorCode":101,"message":"Compare failed","cause":"\[wrong != v2\]","index":[0-9]+\} 412$'
got="$(req -X PUT "$leader/v2/keys/c/k1?prevValue=v2" -d value=v3)"
check_re "CAS match" "$got" '^\{"action":"compareAndSwap",.*"value":"v3".*"prevNode":\{.*"value":"v2".* 200$'
got="$(req -X PUT "$leader/v2/keys/c" -d value=x)"
check_re "PUT on a directory" "$got" '^\{"errorCode":102,"message":"Not a file","cause":"/c","index":[0-9]+\} 403$'
got="$(req -X PUT "$leader/v2/keys/c/k1/under" -d value=x)"
check_re "PUT under a file" "$got" '^\{"errorCode":104,"message":"Not a directory","cause":"/c/k1","index":[0-9]+\} 400$'
got="$(req -X DELETE "$leader/v2/keys/c?dir=true")"
check_re "DELETE non-empty dir" "$got" '^\{"errorCode":108,"message":"Directory not empty","cause":"/c","index":[0-9]+\} 403$'
got="$(req -X PUT "$leader/v2/keys/c/k1?ttl=abc" -d value=x)"
check_re "bad ttl" "$got" '^\{"errorCode":202,"message":"The given TTL in POST form is not a number","cause":"invalid value for \\"ttl\\"","index":0\} 400$'
got="$(req -X POST "$leader/v2/keys/queue" -d value=job)"
check_re "POST in-order key" "$got" '^\{"action":"create","node":\{"key":"/queue/[0-9]{20}","value":"job",.* 201$'
got="$(req "$leader/v2/keys/c?recursive=true")"
check_re "GET recursive" "$got" '^\{"action":"get","node":\{"key":"/c","dir":true,"nodes":\[\{"key":"/c/k1","value":"v3",.* 200$'
got="$(req -X DELETE "$follower/v2/keys/c/k1?prevValue=v3")"
check_re "compareAndDelete" "$got" '^\{"action":"compareAndDelete","node":\{"key":"/c/k1","modifiedIndex":[0-9]+,"createdIndex":[0-9]+\},"prevNode":\{.*"value":"v3".* 200$'
headers="$(curl -s -o /dev/null -D - -X PUT "$leader/v2/keys/h" -d value=1 | tr -d '\r')"
for h in X-Etcd-Index X-Raft-Index X-Raft-Term; do
  grep -qi "^$h: [0-9]" <<<"$headers" || fail "PUT: no $h header in: $headers"
done
check_re "GET /version" "$(req "$follower/version")" '^\{"etcdserver":"3\.4\.[0-9]+","etcdcluster":"3\.4\.0"\} 200$'
check_re "GET /health" "$(req "$follower/health")" '^\{"health":"true"\} 200$'
check_re "GET /v2/members" "$(req "$follower/v2/members")" '^\{"members":\[\{"id":"[0-9a-f]+","name":"A".*"name":"C".*\]\} 200$'

# Every gateway publishes its URL: /v2/members lists all three, so etcdctl's endpoint sync,
# member list and cluster-health work against any member.
healthy=no
for _ in $(seq 1 300); do
  if ETCDCTL_API=2 etcdctl --endpoints "$follower" --timeout 10s cluster-health >"$work/health.out" 2>&1 &&
    grep -q "cluster is healthy" "$work/health.out"; then
    healthy=yes
    break
  fi
  sleep 0.1
done
[[ "$healthy" == yes ]] || fail "etcdctl cluster-health: $(cat "$work/health.out")"
members="$(ETCDCTL_API=2 etcdctl --endpoints "$leader" --timeout 10s member list 2>&1)"
[[ "$(grep -c 'clientURLs=http://127.0.0.1:' <<<"$members")" == 3 && "$members" == *"isLeader=true"* ]] ||
  fail "etcdctl member list: $members"
[[ "$(ETCDCTL_API=2 etcdctl --endpoints "$follower" --timeout 10s get /e2e${leader##*:}/new 2>&1)" == v1 ]] ||
  fail "etcdctl get with endpoint sync"

# TTL: expires on cluster time (the leader's gateway submits sync entries while TTL keys exist).
got="$(req -X PUT "$follower/v2/keys/ttl/k?ttl=1" -d value=short)"
check_re "PUT with ttl" "$got" '"expiration":"[0-9T:.-]+Z","ttl":1,.* 201$'
expired=no
for _ in $(seq 1 300); do
  if [[ "$(req "$follower/v2/keys/ttl/k")" == *'"errorCode":100'*' 404' ]]; then
    expired=yes
    break
  fi
  sleep 0.1
done
[[ "$expired" == yes ]] || fail "a key with ttl=1 did not expire within 30 s"

# Concurrent writes (they reach Raft in batch entries): 200 PUTs from 40 clients at once, half
# through the leader and half through a follower; each key is there and every write got its own
# modifiedIndex.
seq 1 200 | xargs -P 40 -I{} sh -c '
  if [ $(({} % 2)) = 0 ]; then url="$1"; else url="$2"; fi
  curl -s --max-time 30 -X PUT "$url/v2/keys/many/k{}" -d value=v{}' _ "$leader" "$follower" \
  >"$work/many.out" 2>&1
indexes="$(grep -o '"modifiedIndex":[0-9]*' "$work/many.out" | sort -u | wc -l)"
[[ "$indexes" == 200 ]] || fail "200 concurrent PUTs: $indexes distinct modifiedIndex values"
listed="$(req "$follower/v2/keys/many?quorum=true")"
[[ "$(grep -o '"key":"/many/k[0-9]*","value":"v[0-9]*"' <<<"$listed" | wc -l)" == 200 ]] ||
  fail "200 concurrent PUTs: the listing has $(grep -o '"key":"/many/k' <<<"$listed" | wc -l) keys"

if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "etcd gateway e2e: all checks passed"
