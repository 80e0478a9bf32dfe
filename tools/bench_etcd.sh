#!/usr/bin/env bash
# Side-by-side benchmark of issue 8: a 3-member etcd 3.4 cluster (--enable-v2) and a 3-member
# cohort cluster (config/raft.xml: file log, fsync on), both on 127.0.0.1, driven one after the
# other by wrk with the same Lua script (tools/bench/put_key.lua: PUT /v2/keys/bench/k<n>, a
# 100-byte value) against each leader, at 1, 16, 64 and 256 connections. Prints one table:
# req/s and p50/p99 for both systems and the throughput ratio cohort/etcd.
#
#   tools/bench_etcd.sh                      # 10 s per point (a few minutes in all)
#   tools/bench_etcd.sh --quick              # 3 s per point
#   tools/bench_etcd.sh --duration 8s --connections "1 64" --cohort build/cohort
#   tools/bench_etcd.sh --no-etcd --connections 64 --perf 64   # perf record -g the cohort leader
#
# Installs etcd-server, etcd-client and wrk with apt-get when missing. Every process it starts is
# stopped by PID on exit; data dirs live in a temporary directory (kept with --keep). Without a
# cohort binary whose `node` command has --http (the etcd gateway), only etcd is measured.
# Not run by CI: it takes minutes and its figures depend on the machine; it never asserts them.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lua="$repo/tools/bench/put_key.lua"
cohort="$repo/build/cohort"
config="$repo/config/raft.xml"
duration=10s
warmup=2s
connections="1 16 64 256"
run_etcd=1
run_cohort=1
keep=0
perf_conns=""

usage() {
  cat <<EOF
usage: $0 [--duration 10s] [--quick] [--connections "1 16 64 256"] [--cohort PATH]
          [--config FILE] [--no-etcd] [--no-cohort] [--keep] [--perf CONNECTIONS]
  --perf N   profile the cohort leader (perf record -g) during the N-connection point and print
             perf's top symbols; perf.data stays in the kept directory (implies --keep)
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --quick) duration=3s; warmup=1s; shift ;;
    --connections) connections="$2"; shift 2 ;;
    --cohort) cohort="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    --no-etcd) run_etcd=0; shift ;;
    --no-cohort) run_cohort=0; shift ;;
    --keep) keep=1; shift ;;
    --perf) perf_conns="$2"; keep=1; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done

# Ports: etcd clients 23790/23792/23794, peers 23791/23793/23795; cohort TCP 23800-23802, CLIENT
# 23810-23812, HTTP 23820-23822. No test uses these.
etcd_names=(e1 e2 e3)
etcd_client_ports=(23790 23792 23794)
etcd_peer_ports=(23791 23793 23795)
cohort_names=(A B C)
cohort_tcp_ports=(23800 23801 23802)
cohort_client_ports=(23810 23811 23812)
cohort_http_ports=(23820 23821 23822)

log() { echo "[bench] $*" >&2; }
die() { echo "[bench] error: $*" >&2; exit 1; }

# --- prerequisites ----------------------------------------------------------------------------
install_missing() {
  local missing=()
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v etcdctl >/dev/null || missing+=(etcd-client)
  command -v wrk >/dev/null || missing+=(wrk)
  command -v curl >/dev/null || missing+=(curl)
  [[ -n $perf_conns ]] && ! command -v perf >/dev/null && missing+=(linux-perf)
  [[ ${#missing[@]} -eq 0 ]] && return
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "missing ${missing[*]} and not root: install them first"
    sudo=(sudo)
  fi
  log "installing ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null ||
    { "${sudo[@]}" apt-get update >/dev/null &&
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null; }
  # Debian's etcd-server package enables a system etcd on 2379; ours use other ports, so leave it.
}

# --- processes, stopped by PID ----------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/bench_etcd.XXXXXX")
pids=()

stop_pids() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}

cleanup() {
  stop_pids
  if [[ $keep -eq 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- wrk --------------------------------------------------------------------------------------
# Milliseconds from a wrk duration such as 812.00us, 1.36ms, 2.01s or 1.05m.
to_ms() {
  awk -v t="$1" 'BEGIN {
    if (match(t, /^[0-9.]+/) == 0) { print "?"; exit }
    v = substr(t, 1, RLENGTH); u = substr(t, RLENGTH + 1)
    if (u == "us") v /= 1000; else if (u == "ms") v += 0; else if (u == "s") v *= 1000;
    else if (u == "m") v *= 60000; else if (u == "h") v *= 3600000; else { print "?"; exit }
    printf "%.3f", v }'
}

# CPU seconds (user + system) used so far by the running members (the pids array).
members_cpu_seconds() {
  local pid ticks=0 t
  for pid in "${pids[@]}"; do
    # Fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends the command name.
    t=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}') || t=0
    ticks=$((ticks + ${t:-0}))
  done
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.3f", t / hz}'
}

# CPU seconds (user + system) of this shell's waited-for children, from a file `times` (the bash
# builtin; it must run in the shell that waited for wrk, not in a $(...) subshell) wrote.
children_cpu_seconds() {
  tail -n 1 "$1" | awk '{
    t = 0
    for (i = 1; i <= 2; i++) { split($i, p, "m"); sub(/s$/, "", p[2]); t += p[1] * 60 + p[2] }
    printf "%.3f", t }'
}

# run_wrk URL CONNECTIONS DURATION OUTFILE: prints "req/s p50_ms p99_ms cpu_us wrk_us errors":
# cpu_us is the CPU time all three members spent per request (a figure the other processes on
# the machine disturb far less than req/s), wrk_us the client's own (the same client drives both
# systems; on a 2-core machine it bounds what either can reach); errors is empty when every
# response was 2xx/3xx and no socket error occurred.
run_wrk() {
  local url=$1 conns=$2 dur=$3 out=$4
  local threads=$((conns < 2 ? conns : 2))  # the machine has 2 cores; the servers need them too
  local cpu_before cpu_after wrk_before wrk_after
  cpu_before=$(members_cpu_seconds)
  times >"$out.times-before"
  wrk_before=$(children_cpu_seconds "$out.times-before")
  wrk -t "$threads" -c "$conns" -d "$dur" --timeout 10s --latency -s "$lua" "$url" >"$out" 2>&1 ||
    { cat "$out" >&2; die "wrk failed against $url"; }
  times >"$out.times-after"
  wrk_after=$(children_cpu_seconds "$out.times-after")
  cpu_after=$(members_cpu_seconds)
  local rps p50 p99 non2xx sockerr requests cpu_us wrk_us
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
  p50=$(awk '$1 == "50%" {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  requests=$(awk '$2 == "requests" && $3 == "in" {print $1}' "$out")
  [[ -n $rps && -n $p50 && -n $p99 && -n $requests ]] ||
    { cat "$out" >&2; die "cannot parse wrk output ($out)"; }
  cpu_us=$(awk -v a="$cpu_before" -v b="$cpu_after" -v n="$requests" \
    'BEGIN {printf "%.0f", (n > 0 ? (b - a) * 1e6 / n : 0)}')
  wrk_us=$(awk -v a="$wrk_before" -v b="$wrk_after" -v n="$requests" \
    'BEGIN {printf "%.0f", (n > 0 ? (b - a) * 1e6 / n : 0)}')
  non2xx=$(awk -F: '/Non-2xx or 3xx responses/ {gsub(/ /, "", $2); print $2}' "$out")
  sockerr=$(sed -n 's/^ *Socket errors: *//p' "$out")
  local errors=""
  [[ -n $non2xx && $non2xx != 0 ]] && errors+="non-2xx=$non2xx "
  [[ -n $sockerr ]] && errors+="socket errors: $sockerr"
  echo "$rps $(to_ms "$p50") $(to_ms "$p99") $cpu_us $wrk_us $errors"
}

# bench SYSTEM URL: warms up, then fills result_<system>[conns] and prints a line per point.
declare -A result_etcd result_cohort
bench() {
  local system=$1 url=$2 conns line
  log "$system: warm-up ($warmup, 16 connections) against $url"
  run_wrk "$url" 16 "$warmup" "$work/$system-warmup.txt" >/dev/null
  # The script's first keys are bench/k1, k2, ... (wrk may spend the very first request() on a
  # probe): one of them must now hold the 100-byte value.
  local value k
  value=$(printf 'x%.0s' $(seq 100))
  for k in 1 2 3 4 5 0; do
    [[ $k == 0 ]] && die "$system: GET $url/v2/keys/bench/k1..k5 returns no value the script wrote"
    curl -sf "$url/v2/keys/bench/k$k" | grep -q "\"value\": *\"$value\"" && break
  done
  for conns in $connections; do
    local perf_pid=""
    if [[ $system == cohort && $conns == "$perf_conns" ]]; then
      perf record -F 499 -g -p "$cohort_leader_pid" -o "$work/perf-cohort-c$conns.data" \
        -- sleep "${duration%s}" >"$work/perf-record.log" 2>&1 &
      perf_pid=$!
    fi
    line=$(run_wrk "$url" "$conns" "$duration" "$work/$system-c$conns.txt")
    if [[ -n $perf_pid ]]; then
      wait "$perf_pid" || true
      log "perf: top symbols of the cohort leader at c=$conns ($work/perf-cohort-c$conns.data)"
      perf report -i "$work/perf-cohort-c$conns.data" --no-children --sort dso,symbol \
        -g none --percent-limit 1 --stdio 2>/dev/null | grep -E "^ +[0-9.]+%" | sed -E "s/ {3,}-? *-? *$//" | head -n 40 >&2 || true
    fi
    log "$system c=$conns: $line (load $(cut -d' ' -f1-3 /proc/loadavg))"
    if [[ $system == etcd ]]; then result_etcd[$conns]=$line; else result_cohort[$conns]=$line; fi
  done
}

# Retries a command up to SECONDS seconds.
wait_for() {
  local seconds=$1; shift
  for _ in $(seq $((seconds * 10))); do "$@" && return 0; sleep 0.1; done
  return 1
}

put_ok() { curl -sf -o /dev/null -X PUT "$1/v2/keys/bench/probe" -d value=probe; }

# --- etcd -------------------------------------------------------------------------------------
etcd_leader_url=""
find_etcd_leader() {
  local p
  for p in "${etcd_client_ports[@]}"; do
    if curl -sf "http://127.0.0.1:$p/v2/stats/self" 2>/dev/null | grep -q '"state":"StateLeader"'; then
      etcd_leader_url="http://127.0.0.1:$p"
      return 0
    fi
  done
  return 1
}

start_etcd() {
  local cluster="" i
  for i in 0 1 2; do
    cluster+="${cluster:+,}${etcd_names[i]}=http://127.0.0.1:${etcd_peer_ports[i]}"
  done
  for i in 0 1 2; do
    local name=${etcd_names[i]} cp=${etcd_client_ports[i]} pp=${etcd_peer_ports[i]}
    etcd --name "$name" --data-dir "$work/etcd/$name" --enable-v2=true \
      --listen-client-urls "http://127.0.0.1:$cp" --advertise-client-urls "http://127.0.0.1:$cp" \
      --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token cohort-bench \
      >"$work/etcd-$name.log" 2>&1 &
    pids+=($!)
  done
  wait_for 60 find_etcd_leader || { tail -n 20 "$work"/etcd-*.log >&2; die "etcd elected no leader"; }
  wait_for 30 put_ok "$etcd_leader_url" || die "etcd refuses PUT on $etcd_leader_url"
  log "etcd $(etcd --version | head -1 | awk '{print $3}') leader at $etcd_leader_url"
}

# --- cohort -----------------------------------------------------------------------------------
cohort_has_http() { [[ -x $cohort ]] && "$cohort" node --help 2>&1 | grep -q -- '--http'; }

cohort_leader_url=""
cohort_leader_pid=""
# The leader per the members' own `leader X term N` lines: each member's latest line, and of
# those the one with the highest term that names a leader.
find_cohort_leader() {
  local f best=""
  best=$(for f in "$work"/cohort-*.log; do
    awk '$1 == "leader" && $3 == "term" {last = $4 " " $2} END {if (last != "") print last}' "$f"
  done | awk '$2 != "none"' | sort -n -k1,1 | tail -n 1 | awk '{print $2}')
  [[ -n $best ]] || return 1
  local i
  for i in 0 1 2; do
    if [[ ${cohort_names[i]} == "$best" ]]; then
      cohort_leader_url="http://127.0.0.1:${cohort_http_ports[i]}"
      cohort_leader_pid=${cohort_pids[i]}
      return 0
    fi
  done
  return 1
}

cohort_pids=()
start_cohort() {
  local hosts="" i
  for i in 0 1 2; do hosts+="${hosts:+,}127.0.0.1[${cohort_tcp_ports[i]}]"; done
  for i in 0 1 2; do
    local name=${cohort_names[i]}
    "$cohort" node --config "$config" --name "$name" \
      -D "COHORT_TCP_PORT=${cohort_tcp_ports[i]}" -D "COHORT_CLIENT_PORT=${cohort_client_ports[i]}" \
      -D "COHORT_INITIAL_HOSTS=$hosts" -D "COHORT_LOG_DIR=$work/cohort/$name" \
      --http "127.0.0.1:${cohort_http_ports[i]}" >"$work/cohort-$name.log" 2>&1 &
    pids+=($!)
    cohort_pids+=($!)
  done
  wait_for 60 find_cohort_leader || { tail -n 20 "$work"/cohort-*.log >&2; die "cohort elected no leader"; }
  wait_for 30 put_ok "$cohort_leader_url" || die "cohort refuses PUT on $cohort_leader_url"
  find_cohort_leader  # it may have changed while the gateway came up
  log "cohort leader at $cohort_leader_url ($config)"
}

# --- main -------------------------------------------------------------------------------------
install_missing
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

if [[ $run_etcd -eq 1 ]]; then
  start_etcd
  bench etcd "$etcd_leader_url"
  stop_pids
fi

if [[ $run_cohort -eq 1 ]]; then
  if cohort_has_http; then
    start_cohort
    bench cohort "$cohort_leader_url"
    stop_pids
  else
    log "skipping cohort: $cohort missing or its 'node' command has no --http (build it first)"
    run_cohort=0
  fi
fi

# --- the table --------------------------------------------------------------------------------
field() { echo "$1" | awk -v i="$2" '{print (NF >= i ? $i : "-")}'; }
echo
echo "PUT /v2/keys/bench/k<n>, 100-byte value, wrk $duration per point, threads = min(connections, 2)"
echo "cpu us: CPU time (user + system) of all 3 members per request; wrk us: the client's own"
printf "%6s | %10s %8s %8s %7s %6s | %10s %8s %8s %7s %6s | %6s\n" conns "etcd req/s" "p50 ms" \
  "p99 ms" "cpu us" "wrk us" "cohort r/s" "p50 ms" "p99 ms" "cpu us" "wrk us" ratio
printf -- "-------+---------------------------------------------+---------------------------------------------+-------\n"
problems=()
for conns in $connections; do
  e=${result_etcd[$conns]:-}
  c=${result_cohort[$conns]:-}
  ratio="-"
  if [[ -n $e && -n $c ]]; then
    ratio=$(awk -v a="$(field "$c" 1)" -v b="$(field "$e" 1)" 'BEGIN {printf "%.2fx", (b > 0 ? a / b : 0)}')
  fi
  printf "%6s | %10s %8s %8s %7s %6s | %10s %8s %8s %7s %6s | %6s\n" "$conns" \
    "$(field "$e" 1)" "$(field "$e" 2)" "$(field "$e" 3)" "$(field "$e" 4)" "$(field "$e" 5)" \
    "$(field "$c" 1)" "$(field "$c" 2)" "$(field "$c" 3)" "$(field "$c" 4)" "$(field "$c" 5)" "$ratio"
  [[ -n $e && $(echo "$e" | cut -d' ' -f6-) != "" ]] &&
    problems+=("etcd c=$conns: $(echo "$e" | cut -d' ' -f6-)")
  [[ -n $c && $(echo "$c" | cut -d' ' -f6-) != "" ]] &&
    problems+=("cohort c=$conns: $(echo "$c" | cut -d' ' -f6-)")
done
echo "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
if [[ ${#problems[@]} -gt 0 ]]; then
  echo "NOT all responses were 2xx/3xx or some sockets failed:"
  printf '  %s\n' "${problems[@]}"
else
  echo "every response 2xx/3xx, no socket errors"
fi
