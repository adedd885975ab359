#!/usr/bin/env bash
# kill -9 the gateway again and again while a unit streams passes: every pass
# the unit saw acknowledged is stored, none twice, and the chain verifies.
. "$(dirname "$0")/lib.sh"

PASSES=${CRASH_PASSES:-1500}
ROUNDS=${CRASH_ROUNDS:-25}

start_sim sim --listen 127.0.0.1:0 --random "$PASSES" --interval 1 --seed 7 --ack-log "$TMP/acks.txt"
write_config "$TMP/gw.ini" "$(tcp_lane L1 "$SIM_PORT")"

for round in $(seq 1 "$ROUNDS"); do
    start_gateway "$TMP/gw.ini" gateway
    sleep "0.$((RANDOM % 6 + 1))$((RANDOM % 10))"
    kill -9 "$GW_PID"
    wait "$GW_PID" 2>/dev/null || true
    # The store opens and verifies after every crash.
    "$RSGW" verify --db "$(db)" >"$TMP/verify.out" || { cat "$TMP/verify.out"; fail "chain broken after crash $round"; }
done
ok "$ROUNDS crashes, chain intact after each"

# Let the gateway finish the stream, then stop it cleanly.
starts=$(grep -c ' started: ' "$TMP/gateway.log" || true)
start_gateway "$TMP/gw.ini" gateway
wait_gateway_started gateway $((starts + 1)) || fail "the gateway did not start after the crashes"
wait_for 120 bash -c "[ \$(wc -l <'$TMP/acks.txt') -ge $PASSES ]" || fail "only $(count_lines "$TMP/acks.txt") of $PASSES passes acknowledged"
kill -TERM "$GW_PID"
wait "$GW_PID" || fail "gateway did not stop cleanly"

"$RSGW" verify --db "$(db)" || fail "chain broken at the end"
stored_passes >"$TMP/stored.txt"
acked=$(awk '{print $1}' "$TMP/acks.txt" | sort -n | uniq | wc -l)
[ "$acked" -eq "$PASSES" ] || fail "the unit saw $acked distinct acknowledgements, expected $PASSES"
dupes=$(awk '{print $2}' "$TMP/stored.txt" | sort | uniq -d | wc -l)
[ "$dupes" -eq 0 ] || fail "$dupes passes stored twice: $(awk '{print $2}' "$TMP/stored.txt" | sort | uniq -d | head -5 | tr '\n' ' ')"
missing=$(comm -23 <(awk '{print $1}' "$TMP/acks.txt" | sort -u) <(awk '{print $2}' "$TMP/stored.txt" | sort -u) | wc -l)
[ "$missing" -eq 0 ] || fail "$missing acknowledged passes are not in the store"
stored=$(wc -l <"$TMP/stored.txt")
[ "$stored" -eq "$PASSES" ] || fail "$stored passes stored, expected $PASSES"
ok "$PASSES passes: every acknowledged pass stored exactly once"
