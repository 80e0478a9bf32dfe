#!/usr/bin/env bash
# End-to-end: real IP multicast between 3 "hosts". The script creates 3 network namespaces joined
# by a Linux bridge (a veth pair each, 10.201.0.1-3/24, a multicast route on eth0), runs one
# `cohort node` over config/udp.xml (UDP + PING: discovery by multicast) in each, and checks
# that all 3 print a view of 3 members — which they can only learn over multicast crossing the
# bridge, since no member knows another's address in advance.
# Names include the script's PID ($$), so parallel runs do not clash; everything created is
# removed on exit (trap), nodes are stopped by PID. Where the kernel or the user may not create
# namespaces, bridges or veth pairs (not root, a restricted container), it prints
# "SKIPPED: ..." and exits 77 (SKIP_RETURN_CODE in CTest), never a pass.
# Usage: netns_multicast_test.sh PATH/TO/cohort
set -u
cohort="$(realpath "${1:?usage: $0 PATH/TO/cohort}")"
here="$(cd "$(dirname "$0")" && pwd)"
config="$here/../../config/udp.xml"
n=3
timeout_s=30
tag="$$"
bridge="cbr$tag"
work="$(mktemp -d)"
pids=()
namespaces=()
host_links=()

cleanup() {
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null
  done
  for ns in "${namespaces[@]}"; do
    ip netns del "$ns" 2>/dev/null
  done
  for link in "${host_links[@]}"; do
    ip link del "$link" 2>/dev/null
  done
  ip link del "$bridge" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

skip() {
  echo "SKIPPED: $*"
  exit 77
}
# Runs a setup command; when the kernel refuses it, skips with its message.
setup() {
  local out
  out="$("$@" 2>&1)" || skip "cannot set up network namespaces ('$*': ${out:-failed})"
}

[ "$(id -u)" -eq 0 ] || skip "needs root to create network namespaces (uid $(id -u))"
command -v ip >/dev/null || skip "the ip command (iproute2) is missing"

setup ip link add "$bridge" type bridge
# Flood multicast to every port: without an IGMP querier, snooping could hold groups back.
setup ip link set "$bridge" type bridge mcast_snooping 0
setup ip link set "$bridge" up
for i in $(seq 1 $n); do
  ns="coh${tag}n$i"
  setup ip netns add "$ns"
  namespaces+=("$ns")
  setup ip link add "cv${tag}h$i" type veth peer name "cv${tag}p$i"
  host_links+=("cv${tag}h$i")
  setup ip link set "cv${tag}h$i" master "$bridge" up
  setup ip link set "cv${tag}p$i" netns "$ns"
  setup ip -n "$ns" link set "cv${tag}p$i" name eth0
  setup ip -n "$ns" addr add "10.201.0.$i/24" dev eth0
  setup ip -n "$ns" link set lo up
  setup ip -n "$ns" link set eth0 up multicast on
  setup ip -n "$ns" route add 224.0.0.0/4 dev eth0
done
# ip netns exec itself may be refused (it remounts /sys) in restricted containers.
setup ip netns exec "coh${tag}n1" true

cluster="e2e-netns-$tag"
for i in $(seq 1 $n); do
  # exec: the PID is the node's own, so stopping by PID stops the node.
  ip netns exec "coh${tag}n$i" "$cohort" node --config "$config" --name "H$i" --cluster "$cluster" \
    -D COHORT_BIND_ADDR="10.201.0.$i" -D COHORT_UDP_PORT=7800 -D COHORT_PORT_RANGE=0 \
    -D COHORT_MCAST_PORT=45588 -D COHORT_DISCOVERY_INTERVAL=500ms \
    >"$work/H$i.out" 2>"$work/H$i.err" &
  pids+=($!)
done

has_full_view() { grep -Eq '^view \[[^],]+(, [^],]+){2}\] id=[0-9]+$' "$1"; }

deadline=$((SECONDS + timeout_s))
while :; do
  done_count=0
  for i in $(seq 1 $n); do
    has_full_view "$work/H$i.out" && done_count=$((done_count + 1))
  done
  [ "$done_count" -eq "$n" ] && break
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      if grep -q "cannot join" "$work"/*.err; then
        skip "multicast refused in the namespaces: $(grep -h "cannot join" "$work"/*.err | head -n 1)"
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
last_views=$(for i in $(seq 1 $n); do
  grep -E '^view \[[^],]+(, [^],]+){2}\]' "$work/H$i.out" | tail -n 1 | sed 's/ id=.*//'
done | sort -u | wc -l)
if [ "$last_views" -ne 1 ]; then
  echo "FAIL: the nodes disagree on the view of $n:" >&2
  tail -n 1 "$work"/*.out >&2
  exit 1
fi
echo "OK: $n nodes in $n network namespaces found each other by multicast over bridge $bridge:" \
  "$(tail -n 1 "$work/H1.out")"
exit 0
