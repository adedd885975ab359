#!/usr/bin/env bash
# The commands as an operator uses them: check-config, run + SIGHUP, alert,
# registry, records, history, verify (including a tampered store).
. "$(dirname "$0")/lib.sh"

# check-config: a good file passes, a bad one lists every problem with its line.
start_sim sim --listen 127.0.0.1:0
write_config "$TMP/gw.ini" "$(tcp_lane L1 "$SIM_PORT")"
"$RSGW" check-config "$TMP/gw.ini" >"$TMP/check.out" || fail "good config rejected: $(cat "$TMP/check.out")"
grep -q 'OK' "$TMP/check.out" || fail "check-config did not say OK"
cat >"$TMP/bad.ini" <<'INI'
[gateway]
id = BAD
colour = red
[policy]
limit_set = c
[lane X]
transport = carrier-pigeon
port = 99999
[mystery]
INI
if "$RSGW" check-config "$TMP/bad.ini" 2>"$TMP/bad.out"; then fail "bad config accepted"; fi
for want in 'bad.ini:3: unknown key' 'bad.ini:5: limit_set' 'bad.ini:7: transport' 'bad.ini:8: port'; do
    grep -q "$want" "$TMP/bad.out" || fail "check-config output lacks '$want': $(cat "$TMP/bad.out")"
done
ok "check-config: line-numbered errors"
"$RSGW" check-config "$(dirname "$0")/../../deploy/rsgw.ini" >/dev/null || fail "the shipped deploy/rsgw.ini does not validate"
ok "the shipped example configuration validates"
printf '[gateway]\nid = X\n\xff\xfe garbage line without equals\n' >"$TMP/corrupt.ini"
if "$RSGW" check-config "$TMP/corrupt.ini" 2>"$TMP/corrupt.out"; then fail "corrupt config accepted"; fi
grep -q 'corrupt.ini:3' "$TMP/corrupt.out" || fail "corrupt line not located: $(cat "$TMP/corrupt.out")"
if "$RSGW" run -c "$TMP/bad.ini" 2>/dev/null; then fail "run started with a bad config"; fi
ok "a corrupt configuration is located and refused"

# registry: import, set, show.
cat >"$TMP/vehicles.csv" <<'CSV'
plate,fuel,stage,gross_weight_kg,class,vin,exemption
豫A88888,diesel,5,18000,truck,LZZ5BLSJ8KN123456,none
晋C11111,diesel,III,25000,truck,,
CSV
"$RSGW" registry --db "$TMP/state/rsgw.db" import "$TMP/vehicles.csv" 2>"$TMP/reg.err" || {
    # The store may not exist yet: the gateway creates it. Start it once.
    start_gateway "$TMP/gw.ini" gateway; wait_for 10 test -e "$TMP/state/rsgw.db"; kill -TERM "$GW_PID"; wait "$GW_PID" || true
    "$RSGW" registry --db "$TMP/state/rsgw.db" import "$TMP/vehicles.csv" || fail "registry import failed"
}
"$RSGW" registry --db "$(db)" set 豫A77777 fuel=diesel stage=4 gross_weight_kg=16000 class=truck >/dev/null || fail "registry set failed"
[ "$("$RSGW" registry --db "$(db)" show 晋C11111 --json | jq -r .emission_stage)" = 3 ] || fail "registry show: stage III not stored as 3"
printf 'plate,fuel\n豫A1,dizel\n' >"$TMP/badreg.csv"
if "$RSGW" registry --db "$(db)" import "$TMP/badreg.csv" 2>"$TMP/badreg.out"; then fail "bad CSV accepted"; fi
grep -q 'badreg.csv:2' "$TMP/badreg.out" || fail "bad CSV line not named: $(cat "$TMP/badreg.out")"
ok "registry import/set/show, bad CSV refused with its line"

# run + alert + SIGHUP.
starts=$(grep -c ' started: ' "$TMP/gateway.log" 2>/dev/null || true)
rm -f "$TMP/state/status.json"
start_gateway "$TMP/gw.ini" gateway
wait_gateway_started gateway $((starts + 1)) || fail "gateway did not start"
wait_for 10 test -e "$TMP/state/status.json" || fail "no status file"
"$RSGW" status -c "$TMP/gw.ini" | grep -q 'L1 .*connected' || fail "status does not show lane L1 connected"
"$RSGW" alert --db "$(db)" set orange >/dev/null || fail "alert set failed"
wait_for 5 bash -c "'$RSGW' records --db '$(db)' --all --json | jq -e '[.[] | select(.type==\"event\" and .event.kind==\"alert_level\")] | length > 0' >/dev/null" || fail "alert change not recorded"
grep -q 'alert level now orange' "$TMP/gateway.log" || fail "the running gateway did not apply the alert"
ok "the running gateway applies an alert level change and records it in the chain"

sed -i 's/^\[policy\]$/[policy]\nlimit_set = b/' "$TMP/gw.ini"
kill -HUP "$GW_PID"
wait_for 5 bash -c "'$RSGW' records --db '$(db)' --all --json | jq -e '[.[] | select(.type==\"event\" and .event.kind==\"config_reload\")] | length == 1' >/dev/null" || fail "reload not recorded"
grep -q 'limit set b' <("$RSGW" records --db "$(db)" --all --json | jq -r '.[] | select(.type=="event") | .event.detail') || fail "reload did not apply limit set b"
echo 'this is not ini' >>"$TMP/gw.ini"
kill -HUP "$GW_PID"
wait_for 5 grep -q 'reload rejected' "$TMP/gateway.log" || fail "bad reload not reported"
kill -0 "$GW_PID" || fail "gateway died on a bad reload"
ok "SIGHUP reloads; a bad file is rejected and the gateway keeps running"
kill -TERM "$GW_PID"; wait "$GW_PID" || fail "gateway did not stop cleanly on SIGTERM"
grep -q 'stopped' "$TMP/gateway.log" || fail "no clean-stop message"
ok "SIGTERM stops cleanly"

# verify: intact, then tampered.
"$RSGW" verify --db "$(db)" >"$TMP/v.out" || fail "verify failed on an intact store"
n=$("$RSGW" records --db "$(db)" --all --json | jq length)
[ "$n" -ge 4 ] || fail "expected at least 4 records, got $n"
cp "$(db)" "$TMP/tampered.db"
sqlite3 "$TMP/tampered.db" "DROP TRIGGER IF EXISTS records_no_update; DROP TRIGGER IF EXISTS records_no_delete;" 2>/dev/null || true
for t in $(sqlite3 "$TMP/tampered.db" "SELECT name FROM sqlite_master WHERE type='trigger'"); do sqlite3 "$TMP/tampered.db" "DROP TRIGGER $t"; done
sqlite3 "$TMP/tampered.db" "DELETE FROM records WHERE seq = 2"
if "$RSGW" verify --db "$TMP/tampered.db" >"$TMP/v2.out"; then fail "verify missed a deleted record"; fi
grep -q 'record 2\b\|first broken record: 2' "$TMP/v2.out" || fail "verify did not name record 2: $(cat "$TMP/v2.out")"
ok "verify names the first broken record after a deletion"

"$RSGW" history 豫A88888 --db "$(db)" --json | jq -e '.plate == "豫A88888"' >/dev/null || fail "history --json"
ok "history --json"
