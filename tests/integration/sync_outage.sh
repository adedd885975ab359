#!/usr/bin/env bash
# The platform is down for a long stretch while passes keep coming, then
# comes back: everything is delivered, in order. Then every injected fault.
. "$(dirname "$0")/lib.sh"

start_platform platform
start_sim sim --listen 127.0.0.1:0 --random 800 --interval 10 --seed 9 --ack-log "$TMP/acks.txt"
write_config "$TMP/gw.ini" "$(tcp_lane L1 "$SIM_PORT")" "$(plain_upstream city "$PLATFORM_PORT" 'batch_max_records = 100')"
start_gateway "$TMP/gw.ini" gateway
wait_for 20 bash -c "[ \$(curl -sf http://127.0.0.1:$PLATFORM_PORT/admin/gateways/IT-GW-1/seqs | wc -l) -ge 20 ]" || fail "nothing delivered at first"

kill -9 "$PLATFORM_PID"; wait "$PLATFORM_PID" 2>/dev/null || true
down_at=$(count_lines "$TMP/acks.txt")
wait_for 60 bash -c "[ \$(wc -l <'$TMP/acks.txt') -ge 800 ]" || fail "the lane stalled while the platform was down"
ok "platform down: the lane went on ($down_at -> $(count_lines "$TMP/acks.txt") passes)"
"$RSGW" sync status --db "$(db)" --json >"$TMP/sync.json" || fail "sync status failed"
backlog=$(jq '[.. | objects | select(has("backlog")) | .backlog] | max // 0' "$TMP/sync.json")
[ "$backlog" -gt 100 ] || fail "sync status shows no backlog while the platform is down: $(cat "$TMP/sync.json")"
ok "sync status shows a backlog of $backlog"

start_platform platform   # same port, same database
wait_for 60 bash -c "[ \$(curl -sf http://127.0.0.1:$PLATFORM_PORT/admin/gateways/IT-GW-1/seqs | wc -l) -ge \$('$RSGW' records --db '$(db)' --all --json | jq length) ]" || fail "backlog not delivered after the outage"
platform_seqs IT-GW-1 >"$TMP/seqs.txt"
diff <(seq 1 "$(wc -l <"$TMP/seqs.txt")") "$TMP/seqs.txt" >/dev/null || fail "not delivered in order"
ok "after the outage: $(wc -l <"$TMP/seqs.txt") records delivered, in order"

kill -TERM "$GW_PID"; wait "$GW_PID" || fail "gateway did not stop cleanly"
