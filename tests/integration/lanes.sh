#!/usr/bin/env bash
# Two lanes: one unit vanishes, comes back, turns slow and sends garbage;
# the other lane keeps flowing throughout, and nothing is lost or doubled.
. "$(dirname "$0")/lib.sh"

# Lane A: a steady unit.
start_sim simA --listen 127.0.0.1:0 --random 400 --interval 20 --seed 1 --ack-log "$TMP/acksA.txt"
PORT_A=$SIM_PORT
# Lane B: a unit with trouble scripted in.
cat >"$TMP/b1.scn" <<'SCN'
pass plate=豫A10001 colour=blue opacity=5 no=100 speed=40 accel=0.2 vsp=5
pass plate=豫A10002 colour=blue opacity=5 no=100 speed=40 accel=0.2 vsp=5
wait 300
fault garbage
pass plate=豫A10003 colour=blue opacity=5 no=100 speed=40 accel=0.2 vsp=5
wait 300
fault slow 800 1500
pass plate=豫A10004 colour=blue opacity=5 no=100 speed=40 accel=0.2 vsp=5
wait 2000
pass plate=豫A10005 colour=blue opacity=5 no=100 speed=40 accel=0.2 vsp=5
SCN
start_sim simB --listen 127.0.0.1:0 --scenario "$TMP/b1.scn" --ack-log "$TMP/acksB.txt"
PORT_B=$SIM_PORT; SIMB_PID=$SIM_PID

write_config "$TMP/gw.ini" "$(tcp_lane A "$PORT_A")" "$(tcp_lane B "$PORT_B")"
start_gateway "$TMP/gw.ini" gateway

wait_for 20 bash -c "[ \$(wc -l <'$TMP/acksB.txt' 2>/dev/null || echo 0) -ge 5 ]" || fail "lane B: $(count_lines "$TMP/acksB.txt") of 5 passes acknowledged"
ok "lane B: garbage and a slow spell survived"
grep -q 'Connection timed out\|timed out\|timeout' "$TMP/gateway.log" || fail "the slow unit's timeouts were not logged"

# Lane B's unit vanishes (power cut) ...
kill -9 "$SIMB_PID"
a_before=$(count_lines "$TMP/acksA.txt")
sleep 1.5
a_after=$(count_lines "$TMP/acksA.txt")
[ "$a_after" -gt "$a_before" ] || fail "lane A stalled while lane B was down ($a_before -> $a_after)"
ok "lane A kept flowing while lane B was down ($a_before -> $a_after)"
"$RSGW" status -c "$TMP/gw.ini" --json >"$TMP/status.json"
[ "$(jq -r '.lanes[] | select(.name=="B") | .connected' "$TMP/status.json")" = false ] || fail "status does not show lane B down"
ok "status shows lane B down"

# ... and comes back on the same port with a fresh queue (sequence restarts at 1).
cat >"$TMP/b2.scn" <<'SCN'
pass plate=豫A20001 colour=blue opacity=5 no=100 speed=40 accel=0.2 vsp=5
pass plate=豫A20002 colour=blue opacity=5 no=100 speed=40 accel=0.2 vsp=5
SCN
start_sim simB2 --listen "127.0.0.1:$PORT_B" --scenario "$TMP/b2.scn" --ack-log "$TMP/acksB2.txt"
wait_for 20 bash -c "[ \$(wc -l <'$TMP/acksB2.txt' 2>/dev/null || echo 0) -ge 2 ]" || fail "lane B did not resume after the unit came back"
ok "lane B reconnected and read the restarted unit"

wait_for 60 bash -c "[ \$(wc -l <'$TMP/acksA.txt') -ge 400 ]" || fail "lane A: $(count_lines "$TMP/acksA.txt") of 400"
kill -TERM "$GW_PID"; wait "$GW_PID" || fail "gateway did not stop cleanly"

"$RSGW" verify --db "$(db)" >/dev/null || fail "chain broken"
stored_passes >"$TMP/stored.txt"
[ "$(grep -c '^A ' "$TMP/stored.txt")" -eq 400 ] || fail "lane A: $(grep -c '^A ' "$TMP/stored.txt") stored, expected 400"
[ "$(grep -c '^B ' "$TMP/stored.txt")" -eq 7 ] || fail "lane B: $(grep -c '^B ' "$TMP/stored.txt") stored, expected 7 (5 + 2 after the restart)"
ok "every pass stored exactly once (400 + 7)"

"$RSGW" records --db "$(db)" --all --json >"$TMP/records.json"
garbage=$(jq '[.[] | select(.type=="pass" and .measurement.device_id=="B" and (.measurement.issues | length) > 0)] | length' "$TMP/records.json")
[ "$garbage" -eq 1 ] || fail "expected 1 pass with register issues on lane B, got $garbage"
result=$(jq -r '[.[] | select(.type=="pass" and (.measurement.issues | length) > 0)][0].verdict.result' "$TMP/records.json")
[ "$result" = INVALID ] || fail "the garbage pass was judged ($result) instead of marked invalid"
ok "garbage registers stored and marked INVALID, not judged"
