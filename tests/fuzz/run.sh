#!/usr/bin/env bash
# Runs every fuzz target (tests/fuzz/fuzz_*.c) for SECONDS each, on a scratch
# copy of its seed corpus (tests/fuzz/corpus/<target>/, if it has one), as many
# at a time as there are cores (RSGW_FUZZ_JOBS). Fails when any target finds a
# crash, a leak, a timeout or a broken invariant; the input that did it is kept
# under BUILD_DIR/fuzz-artifacts/ and its path printed.
#   tests/fuzz/run.sh BUILD_DIR [SECONDS]     (default 10; build with -DRSGW_FUZZ=ON)
# Reproduce a finding: BUILD_DIR/tests/fuzz/<target> <reproducer path>
set -euo pipefail

build=${1:?usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]}
secs=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
jobs=${RSGW_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
artifacts=$(cd "$build" && pwd)/fuzz-artifacts

case "$secs" in '' | *[!0-9]*)
    echo "run.sh: SECONDS must be a whole number, got '$secs'" >&2
    exit 2
    ;;
esac

targets=()
for src in "$here"/fuzz_*.c; do
    t=$(basename "$src" .c)
    if [ ! -x "$build/tests/fuzz/$t" ]; then
        echo "run.sh: $build/tests/fuzz/$t is missing (configure with CC=clang -DRSGW_FUZZ=ON" \
            "and list it in tests/fuzz/CMakeLists.txt)" >&2
        exit 2
    fi
    targets+=("$t")
done

work=$(mktemp -d "${TMPDIR:-/tmp}/rsgw-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

run_one() {
    local t=$1 rc=0
    mkdir -p "$work/$t/corpus" "$work/$t/tmp" "$artifacts/$t"
    if [ -d "$here/corpus/$t" ]; then
        cp "$here/corpus/$t"/* "$work/$t/corpus/"
    fi
    # stdin is /dev/null: a configuration naming /dev/stdin as a profile must not block.
    TMPDIR="$work/$t/tmp" TZ=Asia/Shanghai "$build/tests/fuzz/$t" \
        -max_total_time="$secs" -rss_limit_mb=1024 -timeout=25 -print_final_stats=1 \
        -artifact_prefix="$artifacts/$t/" "$work/$t/corpus" \
        </dev/null >"$work/$t/log" 2>&1 || rc=$?
    echo "$rc" >"$work/$t/rc"
}

echo "fuzzing ${#targets[@]} targets for ${secs} s each, $jobs at a time"
for t in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n || true
    done
    run_one "$t" &
done
wait

failed=0
for t in "${targets[@]}"; do
    log=$work/$t/log
    rc=$(cat "$work/$t/rc" 2>/dev/null || echo 1)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    corpus=$(find "$work/$t/corpus" -type f | wc -l)
    if [ "$rc" -eq 0 ]; then
        printf '%-14s ok      %9s runs %7s exec/s  corpus %s\n' "$t" "${runs:-?}" "${rate:-?}" \
            "$corpus"
        continue
    fi
    failed=1
    printf '%-14s FAILED  (exit %s)\n' "$t" "$rc"
    grep -E 'ERROR:|SUMMARY:|invariant violated|==[0-9]+==' "$log" | head -n 20 | sed 's/^/    /'
    repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    if [ -n "$repro" ]; then
        echo "    reproducer: $repro"
        echo "    rerun:      $build/tests/fuzz/$t $repro"
    else
        echo "    no reproducer written; the log follows"
        tail -n 40 "$log" | sed 's/^/    /'
    fi
done
find "$artifacts" -type d -empty -delete 2>/dev/null || true
exit "$failed"
