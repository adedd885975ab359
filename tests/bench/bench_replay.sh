#!/usr/bin/env bash
# rsgw replay against python-can on the same candump log (printed, not timed).
# usage: tests/bench/bench_replay.sh BUILD_DIR [FRAMES]   (default 1500000 frames)
# Needs Debian's python3-can (apt-get install python3-can), run by /usr/bin/python3.
set -euo pipefail
build=${1:?build dir}
frames=${2:-1500000}
rsgw="$build/gateway/rsgw"
here=$(dirname "$0")
tmp=$(mktemp -d /tmp/rsgw-bench-replay-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# The simulated truck sends about 76 frames per simulated second.
secs=$((frames / 76 + 1))
"$rsgw" sim ecu --log "$tmp/truck.log" --preset truck-mil --duration "$secs" 2>/dev/null
n=$(wc -l <"$tmp/truck.log")
size=$(du -m "$tmp/truck.log" | cut -f1)
echo "  log: $n frames, ${size} MB (rsgw sim ecu --preset truck-mil, ${secs} s simulated)"
cat "$tmp/truck.log" >/dev/null # both readers start from the page cache
start=$(date +%s.%N)
"$rsgw" replay "$tmp/truck.log" --json >"$tmp/replay.json"
end=$(date +%s.%N)
c_rate=$(awk -v n="$n" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }')
awk -v n="$n" -v s="$start" -v e="$end" 'BEGIN { printf "  rsgw replay:         %.2f s, %.0f frames/s (J1939 TP, DM1, DM5, VI, live values, ISO-TP, JSON)\n", e - s, n / (e - s) }'
if ! /usr/bin/python3 -c 'import can' 2>/dev/null; then
    echo "  python-can: not installed (apt-get install python3-can); no comparison"
    exit 0
fi
py=$(/usr/bin/python3 "$here/replay_pycan.py" "$tmp/truck.log")
py_rate=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$py")
py_secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$py")
echo "  python-can $(/usr/bin/python3 -c 'import can; print(can.__version__)'): ${py_secs} s, ${py_rate} frames/s (LogReader + EEC1 speed + DM1 via BAM) [$py]"
awk -v c="$c_rate" -v p="$py_rate" 'BEGIN { printf "  ratio: rsgw replay is %.1fx python-can\n", c / p }'
