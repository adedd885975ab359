#!/usr/bin/env bash
# Drain a backlog to the reference platform on loopback and print the figures
# (not pass/fail): records/s, wall time and the gateway's peak memory for the
# batched uploads, and the same for one record per request, with the ratio.
# usage: tests/bench/sync.sh BUILD_DIR [RECORDS] [SINGLE_RECORDS]
set -euo pipefail
build=${1:?build dir}
n=${2:-600000}
n1=${3:-20000}
tmp=$(mktemp -d /tmp/rsgw-syncbench-XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT

"$build/tests/platform/rsgw-platform" --listen 127.0.0.1:0 --db "$tmp/platform.db" >"$tmp/pf.out" 2>"$tmp/pf.log" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$tmp/pf.out" && break; sleep 0.05; done
port=$(sed -n 's/^listening on [^:]*:\([0-9]*\).*/\1/p' "$tmp/pf.out")

# drain NAME RECORDS EXTRA_UPSTREAM_LINES: fill a store, run the gateway until the
# platform holds everything; prints "seconds peak_kb".
drain() {
    local name=$1 count=$2 extra=$3
    "$build/tests/bench/bench_fill" "$tmp/$name" "$count" "$name" >/dev/null
    local total
    total=$("$build/gateway/rsgw" records --db "$tmp/$name/rsgw.db" --limit 1 --json | jq '.[0].seq')
    printf '[gateway]\nid = %s\nstate_dir = %s\nlog_level = warning\n[upstream city]\nurl = http://127.0.0.1:%s\nallow_plain_http = yes\npull_findings = no\npull_policy = no\npull_registry = no\n%b' \
        "$name" "$tmp/$name" "$port" "$extra" >"$tmp/$name.ini"
    local start end gw hwm=0 h
    start=$(date +%s.%N)
    "$build/gateway/rsgw" run -c "$tmp/$name.ini" 2>"$tmp/$name.log" &
    gw=$!
    pids+=("$gw")
    # Done when the platform holds the filled records (the start event comes after them).
    until [ "$(curl -sf "http://127.0.0.1:$port/admin/gateways/$name/seqs" | wc -l)" -ge "$total" ]; do
        kill -0 "$gw" 2>/dev/null || { echo "gateway exited: $(tail -3 "$tmp/$name.log")" >&2; exit 1; }
        h=$(awk '/VmHWM/ {print $2}' "/proc/$gw/status" 2>/dev/null || echo 0)
        [ "${h:-0}" -gt "$hwm" ] && hwm=$h
        sleep 0.5
    done
    end=$(date +%s.%N)
    h=$(awk '/VmHWM/ {print $2}' "/proc/$gw/status")
    [ "$h" -gt "$hwm" ] && hwm=$h
    kill -TERM "$gw"
    wait "$gw" || true
    awk -v s="$start" -v e="$end" -v h="$hwm" 'BEGIN { printf "%.2f %d\n", e - s, h }'
}

read -r t_batch kb_batch < <(drain BATCH "$n" "")
read -r t_single kb_single < <(drain SINGLE "$n1" "batch_max_records = 1\n")
awk -v n="$n" -v t="$t_batch" -v kb="$kb_batch" -v n1="$n1" -v t1="$t_single" -v kb1="$kb_single" 'BEGIN {
    r = n / t; r1 = n1 / t1
    printf "  batched (500 records or 1 MiB per request, gzip): %d records in %.1f s = %.0f records/s; gateway peak memory %.1f MB\n", n, t, r, kb / 1024
    printf "  one record per request:                          %d records in %.1f s = %.0f records/s; gateway peak memory %.1f MB\n", n1, t1, r1, kb1 / 1024
    printf "  batched / single: %.0fx the throughput\n", r / r1
}'
