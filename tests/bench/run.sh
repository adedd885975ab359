#!/usr/bin/env bash
# Print the benchmark figures (not pass/fail).
# usage: tests/bench/run.sh BUILD_DIR [PASSES]
#   RSGW_BENCH_ONLY="store pipeline e2e" picks sections; RSGW_BENCH_E2E sets the
#   end-to-end pass count (default 20000).
set -euo pipefail
build=${1:?build dir}
passes=${2:-100000}
only=${RSGW_BENCH_ONLY:-store pipeline j1939 replay sync e2e}
want() { case " $only " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
tmp=$(mktemp -d /tmp/rsgw-bench-XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
if want store; then
    echo "== store: durable records per second"
    "$build/tests/bench/bench_store"
    echo
fi
if want pipeline; then
    echo "== pipeline: read measurement to stored verdict ($passes passes)"
    "$build/tests/bench/bench_pipeline" "$passes" "$tmp/pipeline"
    echo
fi
if want j1939; then
    echo "== J1939: frames decoded per second from memory, one core"
    "$build/tests/bench/bench_j1939"
    echo
fi
if want sync; then
    echo "== sync: drain a backlog to the reference platform on loopback"
    "$(dirname "$0")/sync.sh" "$build" "${RSGW_BENCH_SYNC:-600000}"
    echo
fi
if want replay; then
    echo "== replay: rsgw replay vs python-can on one candump log (RSGW_BENCH_REPLAY_FRAMES)"
    bash "$(dirname "$0")/bench_replay.sh" "$build" "${RSGW_BENCH_REPLAY_FRAMES:-1500000}"
    echo
fi
want e2e || exit 0
e2e=${RSGW_BENCH_E2E:-20000}
echo "== end to end: rsgw run against rsgw sim rsu over Modbus TCP ($e2e passes)"
rsgw="$build/gateway/rsgw"
"$rsgw" sim rsu --listen 127.0.0.1:0 --random "$e2e" --interval 0 --ack-log "$tmp/acks" >"$tmp/sim.out" 2>/dev/null &
for _ in $(seq 100); do grep -q listening "$tmp/sim.out" && break; sleep 0.05; done
port=$(sed -n 's/^listening on [^:]*:\([0-9]*\).*/\1/p' "$tmp/sim.out")
printf '[gateway]\nid = BENCH\nstate_dir = %s/state\nlog_level = warning\n[lane L1]\ntransport = tcp\nhost = 127.0.0.1\nport = %s\npoll_interval_ms = 10\n' "$tmp" "$port" >"$tmp/gw.ini"
start=$(date +%s.%N)
"$rsgw" run -c "$tmp/gw.ini" 2>"$tmp/gw.log" &
gw=$!
until [ "$(wc -l <"$tmp/acks" 2>/dev/null || echo 0)" -ge "$e2e" ]; do sleep 0.2; done
end=$(date +%s.%N)
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$gw/status")
kill -TERM "$gw"; wait "$gw" || true
awk -v n="$e2e" -v s="$start" -v e="$end" -v h="$hwm" 'BEGIN { printf "  %d passes in %.1f s (%.0f passes/s); gateway peak memory (VmHWM) %.1f MB\n", n, e - s, n / (e - s), h / 1024 }'
