#!/usr/bin/env bash
# rsgw developer entry point: installs what is missing, builds, runs.
#   deploy/dev.sh demo    build and run the simulated checkpoint
#   deploy/dev.sh test    build with sanitizers and run the whole test suite
#   deploy/dev.sh bench   optimised build, print the benchmark figures
# Works on a fresh Debian 12 as root or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake pkg-config libmodbus-dev libsqlite3-dev libssl-dev
          libprotobuf-c-dev protobuf-c-compiler libinih-dev libcmocka-dev
          sqlite3 jq socat procps)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing: ${missing[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

jobs=$(nproc 2>/dev/null || echo 2)

case "${1:-}" in
demo)
    shift
    install_missing
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRSGW_TESTS=OFF >/dev/null
    cmake --build build -j"$jobs" --target rsgw >/dev/null
    exec build/gateway/rsgw demo "$@"
    ;;
test)
    shift
    install_missing
    cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DRSGW_SANITIZE=ON >/dev/null
    cmake --build build-test -j"$jobs"
    exec ctest --test-dir build-test --output-on-failure -j"$jobs" "$@"
    ;;
bench)
    shift
    install_missing
    cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build-bench -j"$jobs"
    exec tests/bench/run.sh build-bench "$@"
    ;;
*)
    echo "usage: deploy/dev.sh demo | test | bench" >&2
    exit 2
    ;;
esac
