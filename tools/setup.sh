#!/usr/bin/env bash
# The README's two set-up commands:
#   tools/setup.sh demo   installs what is missing, builds, runs the main job (cohort demo)
#   tools/setup.sh test   installs what is missing, builds, runs every test, then builds the
#                         libFuzzer targets (clang, a second build dir with only what they need)
#                         and runs each for COHORT_FUZZ_SECONDS (default 10; 0 skips fuzzing)
# Idempotent: packages are installed only when missing and the build is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-demo}"

packages=(build-essential cmake ninja-build ccache pkg-config
  libboost-dev libboost-serialization-dev libfmt-dev libspdlog-dev doctest-dev
  libpugixml-dev libsodium-dev libc-ares-dev libcli11-dev libgoogle-perftools-dev
  dnsmasq-base iproute2 procps
  etcd-client curl
  clang libclang-rt-14-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

build_dir="${COHORT_BUILD_DIR:-build}"
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${COHORT_CMAKE_ARGS:-}
fi
cmake --build "$build_dir" -j"${COHORT_JOBS:-2}"

case "$mode" in
  demo)
    exec "$build_dir/cohort" demo
    ;;
  test)
    rc=0
    (cd "$build_dir" && ctest --output-on-failure -j"${COHORT_JOBS:-2}" --timeout 900) || rc=$?
    fuzz_seconds="${COHORT_FUZZ_SECONDS:-10}"
    if [ "$fuzz_seconds" != 0 ]; then
      fuzz_dir="${COHORT_FUZZ_BUILD_DIR:-build-fuzz}"
      if [ ! -f "$fuzz_dir/build.ninja" ]; then
        # -O1 and line tables only: the fuzz build is compiled on every CI run.
        cmake -S . -B "$fuzz_dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCOHORT_FUZZ=ON \
          -DCOHORT_TESTS=OFF -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only"
      fi
      cmake --build "$fuzz_dir" -j"${COHORT_JOBS:-2}" --target cohort_fuzz || rc=1
      tests/fuzz/run_fuzzers.sh "$fuzz_dir" "$fuzz_seconds" || rc=1
    fi
    exit $rc
    ;;
  *)
    echo "usage: tools/setup.sh demo|test" >&2
    exit 2
    ;;
esac
