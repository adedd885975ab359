# Shared helpers for the process-level integration tests (bash).
# Each test: source this, then use tmp, start_sim, write_config, ...; every
# process it starts is killed on exit. Needs RSGW (path to the binary).
set -euo pipefail

: "${RSGW:?RSGW must point to the rsgw binary}"
TMP=$(mktemp -d /tmp/rsgw-it-XXXXXX)
PIDS=()

cleanup() {
    local rc=$?
    # Processes with children of their own (nginx) stop gracefully first.
    if declare -F cleanup_extra >/dev/null; then cleanup_extra || true; fi
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ "$rc" -ne 0 ]; then
        echo "--- test failed (rc=$rc); logs in $TMP:" >&2
        for f in "$TMP"/*.log; do
            [ -f "$f" ] || continue
            echo "--- $f (last 30 lines)" >&2
            tail -n 30 "$f" >&2
        done
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

ok() {
    echo "ok: $*"
}

# wait_for SECONDS CMD...: poll CMD every 50 ms until it succeeds.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}

# start_sim NAME ARGS...: runs `rsgw sim rsu ARGS` in the background; sets
# SIM_PID and SIM_PORT (TCP) once it listens. Output in $TMP/NAME.log.
start_sim() {
    local name=$1
    shift
    "$RSGW" sim rsu "$@" >"$TMP/$name.out" 2>"$TMP/$name.log" &
    SIM_PID=$!
    PIDS+=("$SIM_PID")
    wait_for 10 grep -q '^listening on' "$TMP/$name.out" || fail "simulator $name did not start"
    SIM_PORT=$(sed -n 's/^listening on [^:]*:\([0-9]*\).*/\1/p' "$TMP/$name.out")
}

# write_config FILE LANE_SECTIONS...: a gateway configuration with state in $TMP/state.
write_config() {
    local file=$1
    shift
    {
        printf '[gateway]\nid = IT-GW-1\ncheckpoint = integration\nstate_dir = %s\nstatus_interval_ms = 200\n' "$TMP/state"
        printf '[policy]\nlocal_prefixes = 豫A\n'
        for lane in "$@"; do printf '%b\n' "$lane"; done
    } >"$file"
}

tcp_lane() { # NAME PORT [extra lines]
    printf '[lane %s]\ntransport = tcp\nhost = 127.0.0.1\nport = %s\npoll_interval_ms = 10\nresponse_timeout_ms = 300\nreconnect_min_ms = 50\nreconnect_max_ms = 400\n%s' "$1" "$2" "${3:-}"
}

# start_gateway CONFIG NAME: rsgw run in the background; sets GW_PID.
start_gateway() {
    "$RSGW" run -c "$1" 2>>"$TMP/$2.log" &
    GW_PID=$!
    PIDS+=("$GW_PID")
}

# wait_gateway_started NAME N: the log shows the Nth start.
wait_gateway_started() {
    wait_for 20 bash -c "[ \$(grep -c ' started: ' '$TMP/$1.log' 2>/dev/null || echo 0) -ge $2 ]"
}

db() { echo "$TMP/state/rsgw.db"; }

# Stored passes as "device_id device_seq image_ref" lines.
stored_passes() {
    "$RSGW" records --db "$(db)" --all --json |
        jq -r '.[] | select(.type=="pass") | "\(.measurement.device_id) \(.measurement.device_seq) \(.measurement.image_refs[0] // "-")"'
}

count_lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }

# start_platform NAME: the reference platform on loopback; sets PLATFORM_PID, PLATFORM_PORT.
start_platform() {
    local name=$1
    shift
    : "${RSGW_PLATFORM:?RSGW_PLATFORM must point to the rsgw-platform binary}"
    "$RSGW_PLATFORM" --listen "127.0.0.1:${PLATFORM_PORT:-0}" --db "$TMP/$name.db" "$@" >"$TMP/$name.out" 2>>"$TMP/$name.log" &
    PLATFORM_PID=$!
    PIDS+=("$PLATFORM_PID")
    wait_for 10 grep -q '^listening on' "$TMP/$name.out" || fail "platform $name did not start"
    PLATFORM_PORT=$(sed -n 's/^listening on [^:]*:\([0-9]*\).*/\1/p' "$TMP/$name.out")
}

plain_upstream() { # NAME PORT [extra lines]
    printf '[upstream %s]\nurl = http://127.0.0.1:%s\nallow_plain_http = yes\nbackoff_min_ms = 50\nbackoff_max_ms = 400\ntimeout_ms = 2000\npull_interval_ms = 300\n%s' "$1" "$2" "${3:-}"
}

# Seqs the platform holds for a gateway, one per line, in the order it stored them.
platform_seqs() { curl -sf "http://127.0.0.1:$PLATFORM_PORT/admin/gateways/$1/seqs"; }

store_count() { "$RSGW" records --db "$(db)" --all --json | jq length; }
