#!/usr/bin/env bash
# run_fuzzers.sh BUILD_DIR SECONDS [TARGET...]: runs each libFuzzer target (default: all) for
# SECONDS on a scratch copy of its seed corpus (tests/fuzz/corpus/<target>/; the checked-in corpus
# is never modified) and fails if any target crashes, leaks, times out or hits a sanitizer.
# Crashing inputs are kept in BUILD_DIR/fuzz-artifacts/<target>/ — add them to the corpus once
# fixed. Build first:
#   cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCOHORT_FUZZ=ON \
#         -DCOHORT_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
#   cmake --build build-fuzz --target cohort_fuzz
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "$1" && pwd)"
seconds="$2"
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fuzz_frame fuzz_headers fuzz_sym_encrypt fuzz_raft_messages fuzz_client_wire
    fuzz_block_codecs fuzz_config fuzz_file_log)
fi

scratch="$(mktemp -d "${TMPDIR:-/tmp}/cohort-fuzz.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/$t"
  if [ ! -x "$bin" ]; then
    echo "== $t: not built ($bin)" >&2
    failed+=("$t")
    continue
  fi
  corpus="$scratch/$t"
  mkdir -p "$corpus" "$build/fuzz-artifacts/$t"
  if [ -d "$here/corpus/$t" ]; then cp -r "$here/corpus/$t/." "$corpus/"; fi
  echo "== $t: ${seconds}s, $(find "$corpus" -type f | wc -l) seeds"
  # -rss_limit_mb / -malloc_limit_mb catch unbounded allocations; -timeout catches hangs.
  if "$bin" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=512 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$t/" >"$scratch/$t.log" 2>&1; then
    grep -E "^stat::(number_of_executed_units|new_units_added)|cov: " "$scratch/$t.log" | tail -3
  else
    echo "!! $t FAILED; last lines of its log:"
    tail -40 "$scratch/$t.log"
    ls -1 "$build/fuzz-artifacts/$t/"
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing failed: ${failed[*]}"
  exit 1
fi
echo "fuzzing passed: ${targets[*]} (${seconds}s each)"
