/* SPDX-License-Identifier: MIT */
/*
 * policy_judge_obd(): the roadside OBD check (GB 3847-2018 §7 and Appendix E, as
 * standards.md summarises it). No communication, MIL on, or emission-relevant DTCs
 * with the MIL on fail the check; readiness monitors not complete ask for a re-check
 * up to [obd] readiness_max_incomplete and fail above it. A failed check is an
 * exceedance of POLLUTANT_OBD and goes through the same findings, actions, agencies
 * and restrictions as an over-standard remote-sensing pass (policy_findings.c,
 * policy_restrict.c), so the out-of-area first/second rule applies unchanged.
 */
#include "policy_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define OBD_CLAUSE "GB 3847-2018 §7 / App. E"

static bool check_rules(const struct policy_config *cfg, const struct policy_obd_check *k,
                        struct policy_verdict *out, bool *recheck)
{
    bool failed = false;
    *recheck = false;
    if (!k->communication_ok) {
        struct policy_rule_hit *h = policy_hit_add(out, "OBD_NO_COMM");
        policy_hit_quantity(h, "communication", "");
        policy_hit_measured(h, 0);
        policy_hit_limit(h, 1);
        policy_hit_clause(h, OBD_CLAUSE " (no communication with the OBD system)");
        policy_hit_text(h, "no communication with the vehicle's OBD (%s): OBD check failed",
                        k->communication && *k->communication ? k->communication : "no answer");
        return true; /* nothing else was read */
    }
    if (k->mil_known && k->mil_on) {
        struct policy_rule_hit *h = policy_hit_add(out, "OBD_MIL");
        policy_hit_quantity(h, "MIL", "");
        policy_hit_measured(h, 1);
        policy_hit_limit(h, 0);
        policy_hit_clause(h, OBD_CLAUSE " (malfunction indicator on)");
        policy_hit_text(h, "malfunction indicator lamp (MIL) is on: OBD check failed");
        failed = true;
    }
    if (k->n_dtcs_mil > 0) {
        struct policy_rule_hit *h = policy_hit_add(out, "OBD_DTC");
        policy_hit_quantity(h, "DTCs", "codes");
        policy_hit_measured(h, (double)k->n_dtcs_mil);
        policy_hit_limit(h, 0);
        policy_hit_clause(h, OBD_CLAUSE " (emission-relevant fault codes with MIL on)");
        policy_hit_text(h,
                        "%zu emission-relevant fault code(s) with the MIL on%s%s: OBD check "
                        "failed",
                        k->n_dtcs_mil, k->dtc_codes && *k->dtc_codes ? ": " : "",
                        k->dtc_codes ? k->dtc_codes : "");
        failed = true;
    }
    if (k->n_readiness_incomplete > 0) {
        bool over = k->n_readiness_incomplete > (size_t)cfg->obd_readiness_max_incomplete;
        struct policy_rule_hit *h = policy_hit_add(out, "OBD_READINESS");
        policy_hit_quantity(h, "readiness_incomplete", "monitors");
        policy_hit_measured(h, (double)k->n_readiness_incomplete);
        policy_hit_limit(h, cfg->obd_readiness_max_incomplete);
        policy_hit_clause(h, OBD_CLAUSE " (readiness); [obd] readiness_max_incomplete");
        const char *what =
            over ? "more than allowed, OBD check failed" : "re-check after a drive cycle";
        if (k->readiness_names && *k->readiness_names)
            policy_hit_text(h, "%zu readiness monitor(s) not complete (%s): %s",
                            k->n_readiness_incomplete, k->readiness_names, what);
        else
            policy_hit_text(h, "%zu readiness monitor(s) not complete: %s",
                            k->n_readiness_incomplete, what);
        if (over)
            failed = true;
        else
            *recheck = true;
    }
    return failed;
}

void policy_judge_obd(const struct policy_config *cfg, const struct policy_obd_check *check,
                      const struct policy_vehicle *vehicle, const struct history *history,
                      int64_t now_ms, enum alert_level alert, struct policy_verdict *out)
{
    static const struct history no_history;
    static const struct rsu_measurement no_measurement;
    struct policy_vehicle unknown_vehicle;
    memset(out, 0, sizeof(*out));
    if (!vehicle) {
        memset(&unknown_vehicle, 0, sizeof(unknown_vehicle));
        vehicle = &unknown_vehicle;
    }
    struct judge_ctx c = {
        .cfg = cfg,
        .m = &no_measurement, /* no remote-sensing values: no black-smoke agency rule */
        .v = vehicle,
        .hist = history ? history : &no_history,
        .alert = alert,
        .out = out,
        .identified = vehicle->plate.valid,
    };
    out->limit_set = cfg->limit_set == 1 ? 1 : 0;
    out->alert = alert;
    out->window_start_ms = policy_window_start(now_ms, cfg->window_months);
    out->history_stale = c.hist->stale;
    time_t t = (time_t)(out->window_start_ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm) ||
        strftime(c.window_date, sizeof(c.window_date), "%Y-%m-%d", &tm) == 0)
        snprintf(c.window_date, sizeof(c.window_date), "the beginning");

    if (!check) {
        struct policy_rule_hit *h = policy_hit_add(out, "NO_MEASUREMENT");
        policy_hit_clause(h, "rsgw: nothing to judge");
        policy_hit_text(h, "no OBD check given: not judged");
        out->result = RESULT_NOT_JUDGED;
        return;
    }
    policy_plate_hits(&c);
    policy_assumption_hits(&c);
    bool recheck = false;
    bool failed = check_rules(cfg, check, out, &recheck);
    if (failed) {
        out->result = RESULT_OVER_STANDARD;
        out->exceeded = POLLUTANT_OBD;
    } else if (recheck) {
        out->result = RESULT_NOT_JUDGED;
    } else if (!check->mil_known || !check->readiness_read) {
        struct policy_rule_hit *h = policy_hit_add(out, "OBD_INCOMPLETE");
        policy_hit_quantity(h, "OBD", "");
        policy_hit_clause(h, OBD_CLAUSE);
        policy_hit_text(h, "%s%s%s not read: cannot pass the OBD check, re-check",
                        check->mil_known ? "" : "MIL state",
                        !check->mil_known && !check->readiness_read ? " and " : "",
                        check->readiness_read ? "" : "readiness");
        out->result = RESULT_NOT_JUDGED;
    } else {
        struct policy_rule_hit *h = policy_hit_add(out, "OBD_PASS");
        policy_hit_quantity(h, "OBD", "");
        policy_hit_clause(h, OBD_CLAUSE);
        policy_hit_text(h, "communication ok, MIL off, no fault codes with MIL on, readiness "
                           "complete: OBD check passed");
        out->result = RESULT_PASS;
    }
    if (c.identified && out->result == RESULT_OVER_STANDARD) {
        policy_apply_findings(&c);
        policy_apply_agencies(&c);
    }
    if (c.identified)
        policy_apply_restrictions(&c);
    if (out->actions & POLICY_ACT(ACTION_TURN_BACK)) {
        struct policy_rule_hit *h = policy_hit_add(out, "AGENCY_TURN_BACK");
        policy_hit_quantity(h, "action", "");
        policy_hit_clause(h, "local rule, seed 001 line 247: 并由公安交通管理部门全部劝返");
        policy_hit_text(h, "turning back (劝返) is carried out by the traffic police");
        out->agencies |= POLICY_AGENCY(AGENCY_TRAFFIC_POLICE);
    }
}
