#!/usr/bin/env bash
# rsgw sim ecu writes a candump log from the simulated truck (virtual bus, simulated
# time, scripted tester); rsgw replay must find in it the VIN, the DM1 DTCs and the
# completed TP sessions, and report a damaged copy's anomalies by line, not crash.
. "$(dirname "$0")/lib.sh"

# On this host there is no SocketCAN: the command must fail with the backend's message.
if "$RSGW" sim ecu --can rsgw-none0 --preset truck-mil --duration 1 >"$TMP/can.out" 2>"$TMP/can.log"; then
    fail "sim ecu --can on a missing interface succeeded"
fi
grep -q 'rsgw-none0\|CAN' "$TMP/can.log" || fail "no clear message: $(cat "$TMP/can.log")"
ok "sim ecu --can fails with the backend's message: $(head -c 120 "$TMP/can.log")"
if "$RSGW" sim ecu --log "$TMP/x.log" --preset no-such 2>"$TMP/preset.log"; then fail "unknown preset accepted"; fi
grep -q "unknown preset 'no-such'" "$TMP/preset.log" || fail "unknown preset not named"

"$RSGW" sim ecu --log "$TMP/truck.log" --preset truck-mil --duration 25 2>"$TMP/sim.log" || fail "sim ecu --log failed"
[ "$(wc -l <"$TMP/truck.log")" -gt 1000 ] || fail "log too short"
"$RSGW" replay "$TMP/truck.log" --json >"$TMP/replay.json" 2>"$TMP/replay.log" || fail "replay failed"
"$RSGW" replay "$TMP/truck.log" >"$TMP/replay.txt" || fail "replay (human) failed"
python3 - "$TMP/replay.json" <<'PY' || fail "replay JSON lacks what the simulator sent"
import json, sys
d = json.load(open(sys.argv[1]))
vins = {(v["source"], v["vin"], v["valid"]) for v in d["vins"]}
assert ("J1939 0x00", "LFWSRXSJ3N1A00042", True) in vins, vins
assert any(s.startswith("OBD 0x18DAF1") for s, _, _ in vins), vins
dm1 = {x["source"]: x for x in d["dm1"]}
eng = [(t["spn"], t["fmi"], t["oc"]) for t in dm1[0]["dtcs"]]
assert eng == [(3216, 2, 5), (4364, 18, 4), (3251, 0, 2), (524287, 31, 1)], eng
assert dm1[0]["mil"] == "on" and dm1[0]["via_tp"], dm1[0]
at = [(t["spn"], t["fmi"]) for t in dm1[0x3D]["dtcs"]]
assert at == [(4094, 18), (1761, 1), (5246, 0)], at
tp = d["tp"]
assert tp["completed_bam"] >= 48 and tp["completed_rts_cts"] >= 2, tp
assert tp["aborted"] == 0 and tp["timed_out"] == 0, tp
assert d["anomalies"]["count"] == 0 and d["malformed_lines"] == 0, d["anomalies"]
dm5 = d["dm5"][0]["monitors"]
assert dm5["NOx catalyst/adsorber (SCR)"] == "not complete", dm5
live = {x["spn"]: x for x in d["live"]}
assert 800 <= live[190]["value"] <= 1600 and live[190]["unit"] == "rpm", live[190]
ecus = {e["ecu"]: e for e in d["obd"]["ecus"]}
assert ecus["0x18DAF110"]["stored_dtcs"] == ["P20EE", "P2002", "P0401"], ecus
assert ecus["0x18DAF110"]["mil"] is True
PY
grep -q 'LFWSRXSJ3N1A00042' "$TMP/replay.txt" || fail "human output lacks the VIN"
grep -q 'SPN 4364 *FMI 18' "$TMP/replay.txt" || fail "human output lacks the DM1 DTC"
ok "replay: VIN (J1939 and OBD), DM1 DTCs of both ECUs, DM5, live values, TP sessions"

# A car: 11-bit OBD only; both ECUs' VINs.
"$RSGW" sim ecu --log "$TMP/car.log" --preset car-obd --duration 12 2>/dev/null || fail "car log"
"$RSGW" replay "$TMP/car.log" --json >"$TMP/car.json" || fail "replay car"
python3 -c "
import json,sys; d=json.load(open('$TMP/car.json'))
src={v['source'] for v in d['vins']}
assert src=={'OBD 0x7E8','OBD 0x7E9'}, src
assert d['dm1']==[] and d['tp']['completed']==0
" || fail "car replay: $(cat "$TMP/car.json")"
ok "replay: 11-bit OBD VINs from two ECUs"

# Damage: truncated lines, garbage, a lost TP.DT, an orphan TP.DT, an oversize BAM,
# an error frame, binary junk.
python3 - "$TMP/truck.log" "$TMP/bad.log" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
out = list(lines)
out[9] = out[9][:17]                                # line 10: truncated
out[19] = "this is not a candump line"              # line 20
out[29] = out[29].split("#")[0] + "#01ZZ"           # line 30: bad data
for i in range(200, len(out)):                      # a lost packet: sequence error
    if " 1CEBFF00#02" in out[i]:
        del out[i]
        break
out.insert(300, "(1763800003.900000) vcan0 1CEBFF22#01AABBCCDDEEFF00")  # orphan TP.DT
out.insert(400, "(1763800004.900000) vcan0 1CECFF22#20FF0F00FFCAFE00")  # 4095-byte BAM
out.insert(500, "(1763800005.900000) vcan0 20000040#0000000000000000")  # bus-off
out.append(out[-1][:25])                            # truncated last line
open(sys.argv[2], "w").write("\n".join(out) + "\n\x00\xff\xfe garbage\n")
PY
"$RSGW" replay "$TMP/bad.log" --json >"$TMP/bad.json" 2>"$TMP/bad.err" || fail "replay of a damaged log failed: $(cat "$TMP/bad.err")"
python3 - "$TMP/bad.json" <<'PY' || fail "damaged log: anomalies not reported: $(cat "$TMP/bad.json")"
import json, sys
d = json.load(open(sys.argv[1]))
a = d["anomalies"]
text = "\n".join(a["list"])
for want in ["bad.log:10:", "bad.log:20:", "bad.log:30:", "orphan TP.DT", "sequence error",
             "larger than 1785", "bus-off"]:
    assert want in text, (want, text)
assert d["malformed_lines"] >= 4, d["malformed_lines"]
assert a["orphan_tp_dt"] >= 1 and a["sequence_errors"] >= 1 and a["refused_announcements"] >= 1
assert d["error_frames"] == 1
assert any(v["vin"] == "LFWSRXSJ3N1A00042" for v in d["vins"])
PY
"$RSGW" replay "$TMP/bad.log" >/dev/null || fail "human replay of a damaged log failed"
ok "replay: a damaged log's anomalies are reported with line numbers"

# A log cut in the middle of two BAMs, and an RTS/CTS session the receiver aborts.
line=$(grep -n '1CECFF00#20' "$TMP/truck.log" | sed -n 5p | cut -d: -f1)
head -n $((line + 1)) "$TMP/truck.log" >"$TMP/cut.log"
"$RSGW" replay "$TMP/cut.log" --json >"$TMP/cut.json" || fail "replay of a cut log failed"
python3 -c "
import json; d=json.load(open('$TMP/cut.json'))
t=[s for s in d['tp']['sessions'] if s['outcome']=='timed-out']
assert d['tp']['timed_out']>=1 and t and t[0]['pgn']==65226, d['tp']
" || fail "cut log: no timed-out session: $(cat "$TMP/cut.json")"
python3 - "$TMP/truck.log" "$TMP/abort.log" <<'PY'
import sys
l = open(sys.argv[1]).read().splitlines()
i = [k for k, x in enumerate(l) if " 1CECF900#10" in x][0]  # RTS, CTS, DT1, DT2, DT3, EoMA
abort = l[i].split()[0] + " vcan0 1CEC00F9#FF03FFFFFFECFE00"
open(sys.argv[2], "w").write("\n".join(l[:i + 3] + [abort] + l[i + 6:]) + "\n")
PY
"$RSGW" replay "$TMP/abort.log" --json >"$TMP/abort.json" || fail "replay of the abort log failed"
python3 -c "
import json; d=json.load(open('$TMP/abort.json'))
a=[s for s in d['tp']['sessions'] if s['outcome']=='aborted']
assert len(a)==1 and a[0]['sa']==0 and a[0]['da']==0xF9 and a[0]['pgn']==65260, a
assert a[0]['reason'].startswith('by receiver'), a
" || fail "receiver abort not reported: $(cat "$TMP/abort.json")"
ok "replay: timed-out sessions at the end of a cut log, an RTS/CTS session aborted by its receiver"

if "$RSGW" replay "$TMP/missing.log" 2>"$TMP/missing.err"; then fail "missing file accepted"; fi
grep -q 'missing.log' "$TMP/missing.err" || fail "missing file not named"
ok "replay: a missing file is named"
