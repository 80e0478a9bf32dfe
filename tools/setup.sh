#!/usr/bin/env bash
# The README's two set-up commands:
#   tools/setup.sh demo   installs what is missing, builds, runs the main job (cohort demo)
#   tools/setup.sh test   installs what is missing, builds, runs every test
# Idempotent: packages are installed only when missing and the build is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-demo}"

packages=(build-essential cmake ninja-build ccache pkg-config
  libboost-dev libboost-serialization-dev libfmt-dev libspdlog-dev doctest-dev
  libpugixml-dev libsodium-dev libc-ares-dev libcli11-dev
  dnsmasq-base iproute2 procps
  etcd-client curl)

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
    cd "$build_dir"
    exec ctest --output-on-failure -j"${COHORT_JOBS:-2}" --timeout 900
    ;;
  *)
    echo "usage: tools/setup.sh demo|test" >&2
    exit 2
    ;;
esac
