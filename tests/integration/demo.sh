#!/usr/bin/env bash
# The demo tells the story it promises: a dirty out-of-area truck is warned at
# the west checkpoint and turned back at the north one, through the platform;
# and every verdict says why.
. "$(dirname "$0")/lib.sh"
"$RSGW" demo --fast --state "$TMP/demo" >"$TMP/demo.out" 2>"$TMP/demo.log" || fail "demo failed: $(tail -5 "$TMP/demo.out")"
[ "$(grep -c 'hash chain verified intact' "$TMP/demo.out")" -eq 2 ] || fail "demo did not verify both chains"
grep -q 'every record of both checkpoints is on the platform' "$TMP/demo.out" || fail "records not delivered"
"$RSGW" records --db "$TMP/demo/west/rsgw.db" --all --json >"$TMP/west.json"
"$RSGW" records --db "$TMP/demo/north/rsgw.db" --all --json >"$TMP/north.json"
verdicts() { jq -r --arg p "$2" '[.[] | select(.type=="pass" and .measurement.plate==$p) | (.verdict.actions | join("+")) + "#" + (.verdict.finding_number|tostring)] | join(" ")' "$1"; }
pass_of() { jq -c --arg p "$2" '[.[] | select(.type=="pass" and .measurement.plate==$p)][0]' "$1"; }

[ "$(verdicts "$TMP/west.json" 冀B67890)" = "WARN#1" ] || fail "west: out-of-area truck: $(verdicts "$TMP/west.json" 冀B67890)"
north=$(verdicts "$TMP/north.json" 冀B67890)
[ "$north" = "TURN_BACK+PENALTY#2" ] || [ "$north" = "PENALTY+TURN_BACK#2" ] || fail "north: out-of-area truck: $north"
pass_of "$TMP/north.json" 冀B67890 | jq -e '.verdict.rules[] | select(.rule_id=="OUT_OF_AREA_SECOND") | .text | test("Zhengzhou 4th ring west \\(via the platform\\)")' >/dev/null || fail "north's verdict does not name the west finding"
ok "out-of-area truck: warned at west, turned back at north, naming the west finding"

[ "$(verdicts "$TMP/west.json" 豫A88888)" = "NOTICE#1 PENALTY#2" ] || fail "local truck: $(verdicts "$TMP/west.json" 豫A88888)"
ok "local truck: notice, then penalty"
[ "$(pass_of "$TMP/west.json" 豫A23456 | jq -r .verdict.result)" = INVALID ] || fail "slow pass not invalid"
pass_of "$TMP/west.json" 晋C11111 | jq -e '.verdict.actions | index("TURN_BACK")' >/dev/null || fail "China III truck not turned back"
pass_of "$TMP/west.json" 晋C11111 | jq -e '.vehicle.in_registry and .vehicle.emission_stage == 3' >/dev/null || fail "registry from the platform not used"
pass_of "$TMP/north.json" 豫A77777 | jq -e '.verdict.actions | index("TURN_BACK")' >/dev/null || fail "China IV truck not turned back at orange"
pass_of "$TMP/north.json" 豫A77777 | jq -e '.verdict.alert_level == "orange"' >/dev/null || fail "the platform's alert level was not applied"
pass_of "$TMP/north.json" 豫A99999 | jq -e '.verdict.actions | index("TURN_BACK") | not' >/dev/null || fail "exempt truck turned back"
pass_of "$TMP/west.json" 豫A66666 | jq -e '.verdict.agencies | index("traffic_police")' >/dev/null || fail "black smoke not referred to the traffic police"
pass_of "$TMP/west.json" 冀B67890 | jq -e '.verdict.agencies | index("environment")' >/dev/null || fail "heavy diesel not referred to the environment bureau"
jq -s -e '[.[][] | select(.type=="pass")] | all(.verdict.rules | length > 0)' "$TMP/west.json" "$TMP/north.json" >/dev/null || fail "a verdict without rules"
ok "restricted zone, platform registry and alert, exemption, agencies; every verdict explains itself"

# The roadside OBD check on the turned-back truck, over the in-process CAN bus.
jq -e '[.[] | select(.type=="obd")] | length == 1' "$TMP/north.json" >/dev/null || fail "no roadside OBD record at north"
jq -e '[.[] | select(.type=="obd")][0] | .verdict.result == "OVER_STANDARD" and ([.verdict.rules[].rule_id] | index("OBD_MIL") and index("OBD_DTC"))' "$TMP/north.json" >/dev/null || fail "the OBD check did not fail on MIL and DTCs"
ok "roadside OBD check: MIL on and fault codes read over CAN, judged and stored"
