#!/usr/bin/env bash
# rsgw obd: fails clearly without SocketCAN; reads a J1939 truck's broadcasts from a
# candump log (MIL on, three DTCs by BAM, odometer, engine speed), judges it (OBD_MIL,
# OBD_DTC; out-of-area yellow plate: warned, then turned back), stores ObdInspection
# records that `rsgw records` shows and `rsgw verify` accepts, and stores nothing while
# another process (the daemon) holds the store.
. "$(dirname "$0")/lib.sh"

if "$RSGW" obd --can rsgw-none0 --no-store >"$TMP/can.out" 2>"$TMP/can.log"; then
    fail "obd --can on a missing interface succeeded"
fi
grep -q 'rsgw-none0' "$TMP/can.log" || fail "no clear message: $(cat "$TMP/can.log")"
ok "obd --can fails with the backend's message: $(head -c 120 "$TMP/can.log")"

python3 - "$TMP/truck.log" <<'PY'
import sys
t, lines = 1700000000.0, []
for i in range(30):
    ts = t + i * 0.1
    lines.append("(%.6f) can0 0CF00400#F07D7D803E00F07D" % ts)           # EEC1 2000 rpm
    if i % 10 == 2:                                                       # DM1 by BAM
        lines.append("(%.6f) can0 1CECFF00#200E0002FFCAFE00" % (ts + 0.01))
        lines.append("(%.6f) can0 1CEBFF00#0140FF9A0C0203E1" % (ts + 0.06))
        lines.append("(%.6f) can0 1CEBFF00#02060101B30C0005" % (ts + 0.11))
    if i == 5:                                                            # VD 1234567 km
        lines.append("(%.6f) can0 18FEE000#FFFFFFFF38B49600" % (ts + 0.02))
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY

DB="$TMP/rsgw.db"
run_obd() {
    "$RSGW" obd --log "$TMP/truck.log" --plate 冀B67890 --colour yellow --db "$DB" --json \
        --note "lane 2" >"$TMP/obd$1.json" 2>"$TMP/obd$1.log" || fail "obd --log failed: $(cat "$TMP/obd$1.log")"
}
run_obd 1
run_obd 2
python3 - "$TMP/obd1.json" "$TMP/obd2.json" <<'PY' || fail "obd JSON is not what the log shows"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["protocol"] == "J1939" and a["communication"] == "ok", a
assert a["mil_on"] is True, a
assert sorted(d["code"] for d in a["dtcs"]) == ["SPN 1761 FMI 1", "SPN 3226 FMI 2", "SPN 3251 FMI 0"], a["dtcs"]
assert abs(a["odometer_km"] - 1234567) < 0.01, a
assert any(l["name"] == "engine speed" and abs(l["value"] - 2000) < 0.01 for l in a["live_values"])
assert "VI" in a["missing"] and "DM5" in a["missing"], a["missing"]
rules = [r["rule_id"] for r in a["verdict"]["rules"]]
assert a["verdict"]["result"] == "over_standard" or a["verdict"]["result"].upper().startswith("OVER"), a["verdict"]
assert "OBD_MIL" in rules and "OBD_DTC" in rules and "OUT_OF_AREA_FIRST" in rules, rules
assert a["seq"] == 1 and b["seq"] == 2, (a.get("seq"), b.get("seq"))
assert "OUT_OF_AREA_SECOND" in [r["rule_id"] for r in b["verdict"]["rules"]]
assert "TURN_BACK" in b["verdict"]["actions"], b["verdict"]
PY
ok "J1939 log read, judged and stored twice (warn, then turn back)"

"$RSGW" verify --db "$DB" >"$TMP/verify.out" || fail "verify failed: $(cat "$TMP/verify.out")"
grep -q "chain intact: 2 record" "$TMP/verify.out" || fail "verify: $(cat "$TMP/verify.out")"
"$RSGW" records --db "$DB" >"$TMP/records.out" || fail "records failed"
[ "$(grep -c 'OBD .*MIL on' "$TMP/records.out")" -eq 2 ] || fail "records: $(cat "$TMP/records.out")"
"$RSGW" history 冀B67890 --db "$DB" >"$TMP/history.out" || fail "history failed"
grep -q "2 finding" "$TMP/history.out" || fail "history: $(cat "$TMP/history.out")"
ok "verify, records and history see the OBD inspections"

# A daemon holds the store: report printed, nothing stored, said clearly.
flock "$DB.lock" sleep 5 &
PIDS+=($!)
sleep 0.3
"$RSGW" obd --log "$TMP/truck.log" --plate 冀B67890 --db "$DB" >"$TMP/held.out" 2>"$TMP/held.log" \
    || fail "obd with a held store failed: $(cat "$TMP/held.log")"
grep -q "NOT stored" "$TMP/held.out" || fail "no NOT stored notice: $(cat "$TMP/held.out")"
grep -q "daemon holds the store" "$TMP/held.log" || fail "no notice on stderr"
grep -q "^VERDICT" "$TMP/held.out" || fail "no verdict printed"
wait "${PIDS[-1]}" 2>/dev/null || true
"$RSGW" verify --db "$DB" | grep -q "chain intact: 2 record" || fail "a record was stored while held"
ok "store held by another writer: printed, not stored"
