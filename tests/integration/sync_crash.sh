#!/usr/bin/env bash
# kill -9 the gateway 50 times at random moments while it uploads: the
# platform ends with exactly the records generated, none missing, none twice,
# chain intact.
. "$(dirname "$0")/lib.sh"
ROUNDS=${SYNC_CRASH_ROUNDS:-50}

start_platform platform
start_sim sim --listen 127.0.0.1:0 --random 3000 --interval 2 --seed 5 --ack-log "$TMP/acks.txt"
write_config "$TMP/gw.ini" "$(tcp_lane L1 "$SIM_PORT")" "$(plain_upstream city "$PLATFORM_PORT" 'batch_max_records = 50')"

for round in $(seq 1 "$ROUNDS"); do
    start_gateway "$TMP/gw.ini" gateway
    sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
    kill -9 "$GW_PID"
    wait "$GW_PID" 2>/dev/null || true
done
ok "$ROUNDS kills during uploads"

starts=$(grep -c ' started: ' "$TMP/gateway.log" || true)
start_gateway "$TMP/gw.ini" gateway
wait_gateway_started gateway $((starts + 1)) || fail "gateway did not start"
wait_for 120 bash -c "[ \$(wc -l <'$TMP/acks.txt') -ge 3000 ]" || fail "stream not finished: $(count_lines "$TMP/acks.txt")"
# Everything stored so far must reach the platform.
wait_for 120 bash -c "[ \$(curl -sf http://127.0.0.1:$PLATFORM_PORT/admin/gateways/IT-GW-1/seqs | wc -l) -ge \$('$RSGW' records --db '$(db)' --all --json | jq length) ]" || fail "platform has $(platform_seqs IT-GW-1 | wc -l) of $(store_count)"
kill -TERM "$GW_PID"; wait "$GW_PID" || fail "gateway did not stop cleanly"

n=$(store_count)
platform_seqs IT-GW-1 >"$TMP/seqs.txt"
m=$(wc -l <"$TMP/seqs.txt")
# The final stop event may still be on its way: everything before it is there.
[ "$m" -ge $((n - 1)) ] || fail "platform has $m records, the gateway generated $n"
[ "$(sort -n "$TMP/seqs.txt" | uniq -d | wc -l)" -eq 0 ] || fail "records stored twice on the platform"
diff <(seq 1 "$m") "$TMP/seqs.txt" >/dev/null || fail "platform records are not exactly 1..$m in order"
curl -sf "http://127.0.0.1:$PLATFORM_PORT/admin/stats" >"$TMP/stats.txt" || fail "no platform stats"
grep -qi 'chain.*ok\|"chain_ok": *true' "$TMP/stats.txt" || fail "platform reports a broken chain: $(cat "$TMP/stats.txt")"
"$RSGW" verify --db "$(db)" >/dev/null || fail "gateway chain broken"
ok "platform holds exactly 1..$m of $n records, none twice, chain intact"
