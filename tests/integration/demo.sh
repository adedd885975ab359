#!/usr/bin/env bash
# The demo tells the story it promises: warn, then turn back, and why.
. "$(dirname "$0")/lib.sh"
"$RSGW" demo --fast --state "$TMP/demo" >"$TMP/demo.out" 2>"$TMP/demo.log" || fail "demo failed: $(tail -5 "$TMP/demo.out")"
grep -q 'hash chain verified intact' "$TMP/demo.out" || fail "demo did not verify its chain"
R() { "$RSGW" records --db "$TMP/demo/rsgw.db" --all --json; }
R >"$TMP/r.json"
verdicts() { jq -r --arg p "$1" '[.[] | select(.type=="pass" and .measurement.plate==$p) | (.verdict.actions | join("+")) + "#" + (.verdict.finding_number|tostring)] | join(" ")' "$TMP/r.json"; }
[ "$(verdicts 冀B67890)" = "WARN#1 PENALTY+TURN_BACK#2" ] || [ "$(verdicts 冀B67890)" = "WARN#1 TURN_BACK+PENALTY#2" ] || fail "out-of-area truck: $(verdicts 冀B67890)"
ok "out-of-area diesel truck: warned, then turned back and referred"
[ "$(verdicts 豫A88888)" = "NOTICE#1 PENALTY#2" ] || fail "local truck: $(verdicts 豫A88888)"
ok "local truck: notice, then penalty"
[ "$(jq -r '[.[] | select(.type=="pass" and .measurement.plate=="豫A23456")][0].verdict.result' "$TMP/r.json")" = INVALID ] || fail "slow pass not invalid"
jq -e '[.[] | select(.type=="pass" and .measurement.plate=="晋C11111")][0].verdict.actions | index("TURN_BACK")' "$TMP/r.json" >/dev/null || fail "China III truck not turned back"
jq -e '[.[] | select(.type=="pass" and .measurement.plate=="豫A77777")][0].verdict.actions | index("TURN_BACK")' "$TMP/r.json" >/dev/null || fail "China IV truck not turned back at orange"
jq -e '[.[] | select(.type=="pass" and .measurement.plate=="豫A99999")][0].verdict.actions | index("TURN_BACK") | not' "$TMP/r.json" >/dev/null || fail "exempt truck turned back"
jq -e '[.[] | select(.type=="pass" and .measurement.plate=="豫A66666")][0].verdict.agencies | index("traffic_police")' "$TMP/r.json" >/dev/null || fail "black smoke not referred to the traffic police"
jq -e '[.[] | select(.type=="pass" and .measurement.plate=="冀B67890")][0].verdict.agencies | index("environment")' "$TMP/r.json" >/dev/null || fail "heavy diesel not referred to the environment bureau"
jq -e '[.[] | select(.type=="pass")] | all(.verdict.rules | length > 0)' "$TMP/r.json" >/dev/null || fail "a verdict without rules"
ok "restricted zone, alert, exemption, agencies, and every verdict explains itself"
