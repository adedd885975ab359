/* SPDX-License-Identifier: MIT */
#include "obd_inspect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "plate.h"
#include "registry.h"

static void append(char *buf, size_t len, const char *item)
{
    size_t used = strlen(buf);
    if (used + 1 < len)
        snprintf(buf + used, len - used, "%s%s", used ? ", " : "", item);
}

void obd_inspect_check(const struct obdread_report *rep, struct obd_inspection *out,
                       struct policy_obd_check *check)
{
    memset(check, 0, sizeof(*check));
    out->dtc_codes[0] = '\0';
    out->readiness_names[0] = '\0';
    check->communication_ok = rep->comm == OBDREAD_COMM_OK;
    check->communication = rep->message;
    check->mil_known = rep->mil != OBDREAD_MIL_UNKNOWN;
    check->mil_on = rep->mil == OBDREAD_MIL_ON;
    check->n_dtcs = rep->n_dtcs;
    /* J1979 service 03 lists emission-related DTCs only; on J1939 the DM1 of an ECU with
     * its MIL on. Either way: a code the ECU reports with the MIL on. */
    for (size_t i = 0; i < rep->n_dtcs && i < OBDREAD_MAX_DTCS; i++) {
        if (!rep->dtcs[i].mil_on)
            continue;
        check->n_dtcs_mil++;
        append(out->dtc_codes, sizeof(out->dtc_codes), rep->dtcs[i].code);
    }
    check->dtc_codes = out->dtc_codes;
    check->readiness_read = rep->readiness_read;
    check->n_readiness_incomplete = rep->n_readiness_incomplete;
    for (size_t i = 0; i < rep->n_readiness_incomplete && i < OBDREAD_MAX_READINESS; i++)
        append(out->readiness_names, sizeof(out->readiness_names), rep->readiness_incomplete[i]);
    check->readiness_names = out->readiness_names;
}

static enum alert_level current_alert(store *st, int64_t now_ms)
{
    char level_text[32], until_text[32];
    if (store_setting_get(st, ALERT_LEVEL_KEY, level_text, sizeof level_text) != 1)
        return ALERT_NONE;
    int level = alert_level_parse(level_text);
    if (level < 0)
        return ALERT_NONE;
    if (store_setting_get(st, ALERT_UNTIL_KEY, until_text, sizeof until_text) == 1) {
        int64_t until = strtoll(until_text, NULL, 10);
        if (until > 0 && now_ms >= until)
            return ALERT_NONE;
    }
    return (enum alert_level)level;
}

int obd_inspect(const struct config *cfg, store *st, const struct obdread_report *rep,
                const char *plate, int plate_colour, const char *note, const char *interface,
                int64_t now_ms, struct obd_inspection *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out) - sizeof(out->record));
    struct policy_config policy = cfg->policy;
    if (st) {
        /* The platform may have switched the limit set; the daemon judges by it too. */
        struct pipeline p;
        pipeline_init(&p, cfg, st);
        policy = p.policy;
    }
    policy_config_digest(&policy, out->policy_digest);

    const char *plate_text = plate ? plate : "";
    struct plate_info pi;
    plate_parse(plate_text, &pi);
    struct registry_vehicle reg;
    int found = 0;
    if (st && pi.valid) {
        found = registry_get(st, pi.normalised, &reg);
        if (found < 0) {
            snprintf(err, errlen, "registry: %s", store_errmsg(st));
            return -1;
        }
    }
    policy_resolve_vehicle(&policy, plate_text, plate_colour, found == 1 ? &reg : NULL,
                           &out->vehicle);
    struct history hist;
    memset(&hist, 0, sizeof hist);
    if (st && pi.valid &&
        store_history(st, pi.normalised, policy_window_start(now_ms, policy.window_months), &hist) <
            0) {
        snprintf(err, errlen, "history: %s", store_errmsg(st));
        return -1;
    }
    enum alert_level alert = st ? current_alert(st, now_ms) : ALERT_NONE;

    struct policy_obd_check check;
    obd_inspect_check(rep, out, &check);
    policy_judge_obd(&policy, &check, &out->vehicle, &hist, now_ms, alert, &out->verdict);

    struct record_obd ro = {
        .seq = st ? store_next_seq(st) : 1,
        .time_ms = now_ms,
        .gateway_id = cfg->gateway_id,
        .checkpoint = cfg->checkpoint,
        .policy_digest = out->policy_digest,
        .plate = plate_text,
        .note = note,
        .interface = interface,
        .report = rep,
        .vehicle = &out->vehicle,
        .verdict = &out->verdict,
    };
    if (record_pack_obd(&ro, out->record, sizeof out->record, &out->len) < 0) {
        snprintf(err, errlen, "the OBD record does not fit in %d bytes", RECORD_MAX);
        return -1;
    }
    return 0;
}
