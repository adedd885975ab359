#!/usr/bin/env bash
# rsgw developer entry point: installs what is missing, builds, runs.
#   deploy/dev.sh demo    build and run the simulated checkpoint
#   deploy/dev.sh test    build with sanitizers and run the whole test suite, then
#                         fuzz every input parser briefly (RSGW_FUZZ_SECONDS each, default 10)
#   deploy/dev.sh bench   optimised build, print the benchmark figures
# Works on a fresh Debian 12 as root or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake pkg-config libmodbus-dev libsqlite3-dev libssl-dev
          libprotobuf-c-dev protobuf-c-compiler libinih-dev libcmocka-dev
          libcurl4-openssl-dev zlib1g-dev libmicrohttpd-dev
          sqlite3 jq socat procps curl openssl nginx-light   # test tools: TLS, platform checks
          clang libclang-rt-14-dev llvm)  # libFuzzer, sanitizer runtimes, llvm-symbolizer

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
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j"$jobs" --target rsgw rsgw-platform >/dev/null
    exec build/gateway/rsgw demo "$@"
    ;;
test)
    shift
    install_missing
    cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DRSGW_SANITIZE=ON >/dev/null
    cmake --build build-test -j"$jobs"
    rc=0
    ctest --test-dir build-test --output-on-failure -j"$jobs" "$@" || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "dev.sh: tests failed (ctest exit $rc); fuzzing skipped" >&2
        exit "$rc"
    fi
    # Then every parser of outside input under libFuzzer (tests/fuzz/), a few seconds each.
    CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRSGW_FUZZ=ON >/dev/null
    cmake --build build-fuzz -j"$jobs" --target fuzz
    exec tests/fuzz/run.sh build-fuzz "${RSGW_FUZZ_SECONDS:-10}"
    ;;
bench)
    shift
    PACKAGES+=(python3-can)   # the replay benchmark compares with python-can
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
