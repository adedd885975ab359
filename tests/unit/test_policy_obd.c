/* SPDX-License-Identifier: MIT */
/*
 * The roadside OBD check's verdict (policy_judge_obd), table-driven: communication,
 * MIL, DTCs with MIL on, readiness against [obd] readiness_max_incomplete, and the
 * findings / actions / agencies that a failed check shares with remote sensing. Then an
 * ObdInspection record through the real store: appended, indexed (plate, result,
 * exceeded, finding), counted in the plate's history, unpacked intact, and the hash
 * chain verified.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "obd_inspect.h"
#include "policy.h"
#include "record.h"
#include "store.h"
#include "store_fixture.h"

#define NOW_MS 1780000000000LL /* 2026-05-28 */

static bool has_rule(const struct policy_verdict *v, const char *id)
{
    for (size_t i = 0; i < v->n_rules; i++)
        if (strcmp(v->rules[i].rule_id, id) == 0)
            return true;
    return false;
}

static const struct policy_rule_hit *rule(const struct policy_verdict *v, const char *id)
{
    for (size_t i = 0; i < v->n_rules; i++)
        if (strcmp(v->rules[i].rule_id, id) == 0)
            return &v->rules[i];
    return NULL;
}

struct obd_case {
    const char *name;
    bool comm_ok;
    int mil; /* -1 unknown, 0 off, 1 on */
    size_t n_dtcs, n_dtcs_mil;
    bool readiness_read;
    size_t n_incomplete;
    int max_incomplete; /* 0 = the default (2) */
    enum policy_result result;
    const char *rules[4]; /* must be there */
    const char *absent;   /* must not be there */
    double readiness_limit;
};

static const struct obd_case cases[] = {
    {"all good", true, 0, 0, 0, true, 0, 0, RESULT_PASS, {"OBD_PASS"}, "OBD_MIL", 0},
    {"no answer",
     false,
     -1,
     0,
     0,
     false,
     0,
     0,
     RESULT_OVER_STANDARD,
     {"OBD_NO_COMM"},
     "OBD_MIL",
     0},
    {"MIL on", true, 1, 0, 0, true, 0, 0, RESULT_OVER_STANDARD, {"OBD_MIL"}, "OBD_DTC", 0},
    {"MIL on with DTCs",
     true,
     1,
     3,
     3,
     true,
     0,
     0,
     RESULT_OVER_STANDARD,
     {"OBD_MIL", "OBD_DTC"},
     "OBD_PASS",
     0},
    {"pending DTCs, MIL off", true, 0, 2, 0, true, 0, 0, RESULT_PASS, {"OBD_PASS"}, "OBD_DTC", 0},
    {"1 monitor incomplete: re-check",
     true,
     0,
     0,
     0,
     true,
     1,
     0,
     RESULT_NOT_JUDGED,
     {"OBD_READINESS"},
     "OBD_PASS",
     2},
    {"2 incomplete: still re-check",
     true,
     0,
     0,
     0,
     true,
     2,
     0,
     RESULT_NOT_JUDGED,
     {"OBD_READINESS"},
     "OBD_PASS",
     2},
    {"3 incomplete: fail",
     true,
     0,
     0,
     0,
     true,
     3,
     0,
     RESULT_OVER_STANDARD,
     {"OBD_READINESS"},
     "OBD_PASS",
     2},
    {"threshold 4: 3 is re-check",
     true,
     0,
     0,
     0,
     true,
     3,
     4,
     RESULT_NOT_JUDGED,
     {"OBD_READINESS"},
     NULL,
     4},
    {"MIL unknown: not judged",
     true,
     -1,
     0,
     0,
     true,
     0,
     0,
     RESULT_NOT_JUDGED,
     {"OBD_INCOMPLETE"},
     "OBD_PASS",
     0},
    {"readiness not read",
     true,
     0,
     0,
     0,
     false,
     0,
     0,
     RESULT_NOT_JUDGED,
     {"OBD_INCOMPLETE"},
     "OBD_PASS",
     0},
};

static void local_vehicle(const struct policy_config *cfg, const char *plate,
                          struct policy_vehicle *v)
{
    policy_resolve_vehicle(cfg, plate, 0, NULL, v);
}

static void test_obd_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct obd_case *c = &cases[i];
        struct policy_config cfg;
        policy_config_defaults(&cfg);
        if (c->max_incomplete)
            cfg.obd_readiness_max_incomplete = c->max_incomplete;
        struct policy_obd_check k = {
            .communication_ok = c->comm_ok,
            .communication = c->comm_ok ? "ok" : "no answer",
            .mil_known = c->mil >= 0,
            .mil_on = c->mil == 1,
            .n_dtcs = c->n_dtcs,
            .n_dtcs_mil = c->n_dtcs_mil,
            .readiness_read = c->readiness_read,
            .n_readiness_incomplete = c->n_incomplete,
            .readiness_names = "PM filter",
        };
        struct policy_verdict v;
        policy_judge_obd(&cfg, &k, NULL, NULL, NOW_MS, ALERT_NONE, &v);
        if (v.result != c->result)
            fail_msg("%s: result %s, expected %s", c->name, policy_result_name(v.result),
                     policy_result_name(c->result));
        for (size_t r = 0; r < 4 && c->rules[r]; r++)
            if (!has_rule(&v, c->rules[r]))
                fail_msg("%s: rule %s missing", c->name, c->rules[r]);
        if (c->absent && has_rule(&v, c->absent))
            fail_msg("%s: rule %s should not fire", c->name, c->absent);
        for (size_t r = 0; r < v.n_rules; r++)
            if (strncmp(v.rules[r].rule_id, "OBD_", 4) == 0 &&
                !strstr(v.rules[r].clause, "GB 3847-2018 §7 / App. E"))
                fail_msg("%s: %s without the clause", c->name, v.rules[r].rule_id);
        const struct policy_rule_hit *h = rule(&v, "OBD_READINESS");
        if (h) {
            assert_true(h->has_measured && h->has_limit);
            assert_true(h->measured == (double)c->n_incomplete);
            assert_true(h->limit == c->readiness_limit);
        }
        /* no plate: no findings, actions or agencies */
        assert_int_equal(v.actions, 0);
        assert_int_equal(v.finding_number, 0);
        assert_int_equal(v.exceeded, c->result == RESULT_OVER_STANDARD ? POLLUTANT_OBD : 0);
    }
}

/* A failed check counts as a finding: an out-of-area diesel truck is warned on the first,
 * turned back on the second (with earlier remote-sensing findings too); local vehicles get
 * a notice, then a penalty on a second consecutive OBD failure. */
static void test_obd_findings(void **state)
{
    (void)state;
    struct policy_config cfg;
    policy_config_defaults(&cfg);
    cfg.n_local_prefixes = 1;
    snprintf(cfg.local_prefixes[0], sizeof cfg.local_prefixes[0], "豫A");
    struct policy_obd_check k = {
        .communication_ok = true, .mil_known = true, .mil_on = true, .readiness_read = true};

    struct policy_vehicle truck;
    policy_resolve_vehicle(&cfg, "冀B67890", 2 /* yellow */, NULL, &truck);
    struct history hist;
    memset(&hist, 0, sizeof hist);
    struct policy_verdict v;
    policy_judge_obd(&cfg, &k, &truck, &hist, NOW_MS, ALERT_NONE, &v);
    assert_int_equal(v.result, RESULT_OVER_STANDARD);
    assert_true(has_rule(&v, "OUT_OF_AREA_FIRST"));
    assert_int_equal(v.finding_number, 1);
    assert_int_equal(v.actions, cfg.out_of_area_first);
    assert_true(v.agencies & POLICY_AGENCY(AGENCY_ENVIRONMENT));

    hist.n = 1;
    hist.pass[0] = (struct history_pass){
        .seq = 7, .time_ms = NOW_MS - 86400000LL, .exceeded = POLLUTANT_OPACITY};
    hist.findings = 1;
    policy_judge_obd(&cfg, &k, &truck, &hist, NOW_MS, ALERT_NONE, &v);
    assert_true(has_rule(&v, "OUT_OF_AREA_SECOND"));
    assert_int_equal(v.finding_number, 2);
    assert_true(v.actions & POLICY_ACT(ACTION_TURN_BACK));
    assert_true(has_rule(&v, "AGENCY_TURN_BACK"));
    assert_true(v.agencies & POLICY_AGENCY(AGENCY_TRAFFIC_POLICE));

    struct policy_vehicle car;
    local_vehicle(&cfg, "豫A12345", &car);
    memset(&hist, 0, sizeof hist);
    policy_judge_obd(&cfg, &k, &car, &hist, NOW_MS, ALERT_NONE, &v);
    assert_true(has_rule(&v, "CONSECUTIVE_FIRST"));
    assert_int_equal(v.actions, cfg.local_first);
    hist.n = 1;
    hist.pass[0] =
        (struct history_pass){.seq = 9, .time_ms = NOW_MS - 3600000LL, .exceeded = POLLUTANT_OBD};
    hist.findings = 1;
    policy_judge_obd(&cfg, &k, &car, &hist, NOW_MS, ALERT_NONE, &v);
    assert_true(has_rule(&v, "CONSECUTIVE_SECOND"));
    assert_int_equal(v.actions, cfg.local_second);

    /* a pass or a re-check is no finding */
    k.mil_on = false;
    policy_judge_obd(&cfg, &k, &car, &hist, NOW_MS, ALERT_NONE, &v);
    assert_int_equal(v.result, RESULT_PASS);
    assert_int_equal(v.finding_number, 0);
    assert_int_equal(v.actions, 0);
}

static void test_obd_config_key(void **state)
{
    (void)state;
    struct policy_config cfg;
    policy_config_defaults(&cfg);
    char before[65], after[65], err[128];
    policy_config_digest(&cfg, before);
    assert_int_equal(cfg.obd_readiness_max_incomplete, 2);
    assert_int_equal(
        policy_config_set(&cfg, "obd", "readiness_max_incomplete", "3", err, sizeof err), 0);
    assert_int_equal(cfg.obd_readiness_max_incomplete, 3);
    policy_config_digest(&cfg, after);
    assert_string_not_equal(before, after); /* the digest names the setting */
    assert_int_equal(
        policy_config_set(&cfg, "obd", "readiness_max_incomplete", "-1", err, sizeof err), -1);
    assert_int_equal(policy_config_set(&cfg, "obd", "nonsense", "1", err, sizeof err), 1);

    struct config *c = calloc(1, sizeof *c);
    struct config_diag diag;
    memset(&diag, 0, sizeof diag);
    assert_int_equal(config_parse("[gateway]\nid = g1\n[obd]\nreadiness_max_incomplete = 0\n",
                                  "t.ini", c, &diag),
                     0);
    assert_int_equal(c->policy.obd_readiness_max_incomplete, 0);
    free(c);
}

/* ---- the record through the store ---- */

static void sample_report(struct obdread_report *r)
{
    memset(r, 0, sizeof *r);
    r->protocol = OBDREAD_PROTO_J1939;
    r->comm = OBDREAD_COMM_OK;
    snprintf(r->message, sizeof r->message, "J1939: 1 ECU(s)");
    snprintf(r->vin, sizeof r->vin, "LFWADRJF7K1234567");
    r->vin_valid = true;
    r->mil = OBDREAD_MIL_ON;
    r->n_dtcs = 2;
    r->dtcs[0] = (struct obdread_dtc){
        .ecu = 0, .code = "SPN 3226 FMI 2", .spn = 3226, .fmi = 2, .oc = 3, .mil_on = true};
    r->dtcs[1] = (struct obdread_dtc){
        .ecu = 0x3D, .code = "SPN 1761 FMI 1", .spn = 1761, .fmi = 1, .oc = 1, .mil_on = true};
    r->readiness_read = true;
    r->n_readiness_incomplete = 1;
    snprintf(r->readiness_incomplete[0], OBDREAD_NAME_LEN, "DPF");
    r->odometer_present = true;
    r->odometer_km = 123456.5;
    r->n_cals = 1;
    r->cals[0] = (struct obdread_cal){.ecu = 0, .cal_id = "ECM-CAL-0042", .cvn = "1A2B3C4D"};
    r->n_live = 2;
    r->live[0] = (struct obdread_live){
        .name = "engine speed", .unit = "rpm", .state = OBDREAD_VALUE_OK, .value = 2000};
    r->live[1] =
        (struct obdread_live){.name = "DEF tank 1 level", .unit = "%", .state = OBDREAD_VALUE_NA};
    snprintf(r->missing, sizeof r->missing, "VD (odometer)");
}

static void test_obd_record_round_trip(void **state)
{
    (void)state;
    char dir[256], path[300], err[512];
    fixture_dir_make(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/rsgw.db", dir);
    store *st = NULL;
    assert_int_equal(store_open(path, STORE_WRITER, &st, err, sizeof err), STORE_OK);

    /* a remote-sensing pass first, so the chain mixes bodies */
    uint8_t buf[4096];
    struct fixture_pass fp = {.seq = 1,
                              .time_ms = NOW_MS - 1000,
                              .plate = "冀B67890",
                              .result = 2,
                              .exceeded = POLLUTANT_OPACITY};
    size_t n = fixture_pass(&fp, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(store_append(st, buf, n, NULL), STORE_OK);

    struct config *cfg = calloc(1, sizeof *cfg);
    struct config_diag diag;
    memset(&diag, 0, sizeof diag);
    assert_int_equal(config_parse("[gateway]\nid = g1\ncheckpoint = K1\n", "t.ini", cfg, &diag), 0);
    struct obdread_report *rep = calloc(1, sizeof *rep);
    sample_report(rep);
    struct obd_inspection *in = calloc(1, sizeof *in);
    assert_int_equal(obd_inspect(cfg, st, rep, "冀B67890", 2 /* yellow */, "officer 17", "can0",
                                 NOW_MS, in, err, sizeof err),
                     0);
    assert_int_equal(in->verdict.result, RESULT_OVER_STANDARD);
    assert_true(has_rule(&in->verdict, "OBD_MIL"));
    assert_true(has_rule(&in->verdict, "OBD_DTC"));
    assert_true(has_rule(&in->verdict, "OBD_READINESS"));
    /* yellow plate, out of area: the second finding after the stored opacity one */
    assert_true(has_rule(&in->verdict, "OUT_OF_AREA_SECOND"));
    assert_int_equal(in->verdict.finding_number, 2);
    assert_int_equal(store_append(st, in->record, in->len, NULL), STORE_OK);

    struct history hist;
    assert_int_equal(store_history(st, "冀B67890", 0, &hist), 0);
    assert_int_equal(hist.n, 2);
    assert_int_equal(hist.pass[0].exceeded, POLLUTANT_OBD);
    assert_int_equal(hist.findings, 2);

    struct store_verify_result vr;
    assert_int_equal(store_verify(st, &vr, NULL, NULL), 0);
    if (!vr.ok)
        fail_msg("verify: %s", vr.reason);
    assert_int_equal(vr.checked, 2);

    Rsgw__V1__Record *r = record_unpack(in->record, in->len);
    assert_non_null(r);
    assert_int_equal(r->body_case, RSGW__V1__RECORD__BODY_OBD);
    const Rsgw__V1__ObdInspection *o = r->obd;
    assert_non_null(o->check);
    assert_int_equal(o->check->protocol, RSGW__V1__OBD_PROTOCOL__OBD_PROTOCOL_J1939);
    assert_string_equal(o->check->vin, "LFWADRJF7K1234567");
    assert_true(o->check->has_mil_on && o->check->mil_on);
    assert_int_equal(o->check->n_dtcs, 2);
    assert_int_equal(o->check->dtcs[1]->ecu, 0x3D);
    assert_int_equal(o->check->dtcs[1]->spn, 1761);
    assert_int_equal(o->check->dtcs[0]->occurrence, 3);
    assert_int_equal(o->check->n_readiness_incomplete, 1);
    assert_string_equal(o->check->readiness_incomplete[0], "DPF");
    assert_true(o->check->has_odometer_km && o->check->odometer_km == 123456.5);
    assert_int_equal(o->check->n_calibrations, 1);
    assert_string_equal(o->check->calibrations[0]->cvn, "1A2B3C4D");
    assert_int_equal(o->check->n_live_values, 2);
    assert_true(o->check->live_values[0]->has_value);
    assert_false(o->check->live_values[1]->has_value);
    assert_string_equal(o->check->live_values[1]->state, "NA");
    assert_int_equal(o->check->communication, RSGW__V1__OBD_COMMUNICATION__OBD_COMMUNICATION_OK);
    assert_string_equal(o->check->plate, "冀B67890");
    assert_string_equal(o->check->operator_note, "officer 17");
    assert_string_equal(o->vehicle->plate, "冀B67890");
    assert_int_equal(o->verdict->result, RSGW__V1__RESULT__RESULT_OVER_STANDARD);
    assert_int_equal(o->verdict->n_exceeded, 1);
    assert_string_equal(o->verdict->exceeded[0], "OBD");
    record_free(r);

    /* A communication failure is recorded and judged too. */
    memset(rep, 0, sizeof *rep);
    rep->comm = OBDREAD_COMM_NO_ANSWER;
    snprintf(rep->message, sizeof rep->message, "no answer");
    assert_int_equal(
        obd_inspect(cfg, st, rep, "冀B67890", 2, NULL, "can0", NOW_MS + 1, in, err, sizeof err), 0);
    assert_true(has_rule(&in->verdict, "OBD_NO_COMM"));
    assert_int_equal(store_append(st, in->record, in->len, NULL), STORE_OK);
    assert_int_equal(store_verify(st, &vr, NULL, NULL), 0);
    assert_true(vr.ok);
    assert_int_equal(vr.checked, 3);

    store_close(st);
    free(in);
    free(rep);
    free(cfg);
    fixture_dir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_obd_table),
        cmocka_unit_test(test_obd_findings),
        cmocka_unit_test(test_obd_config_key),
        cmocka_unit_test(test_obd_record_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
