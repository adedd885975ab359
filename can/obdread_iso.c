/* SPDX-License-Identifier: MIT */
/*
 * obdread over ISO 15765-4: one functional request after another through obd_query,
 * every ECU's answer kept separately (MIL, readiness, DTCs, VIN, CAL ID, CVN, live PIDs).
 */
#include "obdread_internal.h"

#include <stdio.h>
#include <string.h>

/* The live PIDs of the check, asked only when some ECU reports them supported. */
static const uint8_t live_pids[] = {0x0C, 0x0D, 0x05, 0x04, 0x10, 0x5E};

enum step_kind { ST_STATUS, ST_DTCS, ST_VIN, ST_CALID, ST_CVN, ST_ODOMETER, ST_LIVE };

struct step {
    enum step_kind kind;
    uint8_t req[2];
    const char *what;
};

static const struct step steps[] = {
    {ST_STATUS, {0x01, 0x01}, "01 01 (MIL, readiness)"},
    {ST_DTCS, {0x03, 0}, "03 (DTCs)"},
    {ST_VIN, {0x09, 0x02}, "09 02 (VIN)"},
    {ST_CALID, {0x09, 0x04}, "09 04 (CAL ID)"},
    {ST_CVN, {0x09, 0x06}, "09 06 (CVN)"},
    {ST_ODOMETER, {0x01, 0xA6}, "01 A6 (odometer)"},
};
#define N_FIXED (sizeof(steps) / sizeof(steps[0]))
#define N_STEPS (N_FIXED + sizeof(live_pids))

static bool any_supports(const obdread *r, uint8_t pid)
{
    for (size_t i = 0; i < r->det_res.n_ecus; i++)
        if (obd_pid_supported(&r->det_res.ecus[i].pids, pid))
            return true;
    return false;
}

/* PID A6 sits in the A1-C0 bitmap, which detection did not ask for: try it unless
 * every ECU said it has no such PID. */
static bool odometer_maybe(const obdread *r)
{
    for (size_t i = 0; i < r->det_res.n_ecus; i++) {
        const struct obd_pid_support *p = &r->det_res.ecus[i].pids;
        if (!(p->ranges_seen & (1u << 5)) || obd_pid_supported(p, 0xA6))
            return true;
    }
    return false;
}

static struct obdread_cal *cal_slot(obdread *r, uint8_t ecu, size_t idx)
{
    size_t seen = 0;
    for (size_t i = 0; i < r->rep.n_cals; i++)
        if (r->rep.cals[i].ecu == ecu && seen++ == idx)
            return &r->rep.cals[i];
    if (r->rep.n_cals >= OBDREAD_MAX_CALS)
        return NULL;
    struct obdread_cal *c = &r->rep.cals[r->rep.n_cals++];
    memset(c, 0, sizeof(*c));
    c->ecu = ecu;
    return c;
}

static void take_status(obdread *r, const struct obd_response *a)
{
    struct obd_monitor_status st;
    if (a->len < 6 || obd_decode_monitor_status(a->data + 2, a->len - 2, &st) != 0)
        return;
    r->rep.readiness_read = true;
    if (st.mil_on)
        r->rep.mil = OBDREAD_MIL_ON;
    else if (r->rep.mil == OBDREAD_MIL_UNKNOWN)
        r->rep.mil = OBDREAD_MIL_OFF;
    for (size_t i = 0; i < st.n; i++)
        if (st.mon[i].supported && !st.mon[i].ready)
            obdread_add_readiness(r, st.mon[i].name);
}

static void take_dtcs(obdread *r, const struct obd_response *a, bool mil_on)
{
    char err[128];
    if (obd_decode_dtcs(a->data, a->len, &r->dtcs, err, sizeof(err)) < 0)
        return;
    for (size_t i = 0; i < r->dtcs.n; i++) {
        if (r->rep.n_dtcs >= OBDREAD_MAX_DTCS) {
            r->rep.dtcs_truncated = true;
            return;
        }
        struct obdread_dtc *d = &r->rep.dtcs[r->rep.n_dtcs++];
        memset(d, 0, sizeof(*d));
        d->ecu = a->ecu;
        d->oc = 127;
        d->mil_on = mil_on;
        snprintf(d->code, sizeof(d->code), "%s", r->dtcs.dtc[i].code);
    }
}

static void take_live(obdread *r, const struct obd_response *a)
{
    struct obd_value v[6];
    int n = obd_decode_mode01(a->data, a->len, v, 6);
    for (int i = 0; i < n; i++) {
        if (v[i].status == OBD_VALUE_UNKNOWN_PID)
            continue;
        if (v[i].pid == 0xA6 && v[i].status == OBD_VALUE_OK) {
            r->rep.odometer_present = true;
            r->rep.odometer_km = v[i].value;
            continue;
        }
        struct obdread_live *l = obdread_live_slot(r, v[i].name, a->ecu);
        if (!l)
            continue;
        snprintf(l->unit, sizeof(l->unit), "%s", v[i].unit ? v[i].unit : "");
        l->state = v[i].status == OBD_VALUE_OK ? OBDREAD_VALUE_OK : OBDREAD_VALUE_ERROR;
        l->value = v[i].value;
    }
}

static void take_answers(obdread *r, size_t step)
{
    const struct step *s = step < N_FIXED ? &steps[step] : NULL;
    size_t n = obd_query_count(r->q);
    size_t positive = 0;
    for (size_t i = 0; i < n; i++) {
        const struct obd_response *a = obd_query_response(r->q, i);
        if (a->status != OBD_RESP_POSITIVE)
            continue;
        positive++;
        obdread_add_ecu(r, a->ecu);
        char err[128];
        if (!s) {
            take_live(r, a);
            continue;
        }
        switch (s->kind) {
        case ST_STATUS: {
            struct obd_monitor_status st;
            if (a->len >= 6 && obd_decode_monitor_status(a->data + 2, a->len - 2, &st) == 0 &&
                st.mil_on && r->n_dm1_sa < OBDREAD_MAX_ECUS) {
                /* remember which ECUs have the MIL on, for their DTCs */
                r->dm1_sa[r->n_dm1_sa] = a->ecu;
                r->dm1_mil[r->n_dm1_sa++] = true;
            }
            take_status(r, a);
            break;
        }
        case ST_DTCS: {
            bool mil = false;
            for (size_t k = 0; k < r->n_dm1_sa; k++)
                mil = mil || (r->dm1_sa[k] == a->ecu && r->dm1_mil[k]);
            take_dtcs(r, a, mil);
            break;
        }
        case ST_VIN: {
            char vin[18];
            int rc = obd_decode_vin(a->data, a->len, vin, err, sizeof(err));
            if (!r->rep.vin_valid) {
                snprintf(r->rep.vin, sizeof(r->rep.vin), "%s", vin);
                r->rep.vin_valid = rc == 0;
            }
            break;
        }
        case ST_CALID: {
            struct obd_calid_list l;
            if (obd_decode_calids(a->data, a->len, &l, err, sizeof(err)) < 0)
                break;
            for (size_t k = 0; k < l.n; k++) {
                struct obdread_cal *c = cal_slot(r, a->ecu, k);
                if (c)
                    snprintf(c->cal_id, sizeof(c->cal_id), "%s", l.id[k]);
            }
            break;
        }
        case ST_CVN: {
            struct obd_cvn_list l;
            if (obd_decode_cvns(a->data, a->len, &l, err, sizeof(err)) < 0)
                break;
            for (size_t k = 0; k < l.n; k++) {
                struct obdread_cal *c = cal_slot(r, a->ecu, k);
                if (c)
                    snprintf(c->cvn, sizeof(c->cvn), "%s", l.hex[k]);
            }
            break;
        }
        case ST_ODOMETER:
        case ST_LIVE:
            take_live(r, a);
            break;
        }
    }
    if (positive == 0 && s)
        obdread_add_missing(r, s->what);
    if (positive == 0 && !s) {
        const struct obd_pid_desc *d = obd_pid_find(live_pids[step - N_FIXED]);
        struct obdread_live *l = d ? obdread_live_slot(r, d->name, 0) : NULL;
        if (l)
            snprintf(l->unit, sizeof(l->unit), "%s", d->unit ? d->unit : "");
    }
}

/* Starts the next step that applies; false when none is left. */
static bool start_next(obdread *r, uint64_t now_us)
{
    for (; r->step < N_STEPS; r->step++) {
        uint8_t req[2];
        if (r->step < N_FIXED) {
            if (steps[r->step].kind == ST_ODOMETER && !odometer_maybe(r))
                continue;
            memcpy(req, steps[r->step].req, 2);
        } else {
            req[0] = 0x01;
            req[1] = live_pids[r->step - N_FIXED];
            if (!any_supports(r, req[1]))
                continue;
        }
        size_t len = req[0] == 0x03 ? 1 : 2;
        if (obd_query_start(r->q, req, len, now_us) != OBD_OK) {
            obdread_add_missing(r, r->step < N_FIXED ? steps[r->step].what : "live PID");
            continue;
        }
        r->step_running = true;
        return true;
    }
    return false;
}

void obdread_iso_begin(obdread *r, const struct obd_detect_result *d, uint64_t now_us)
{
    r->det_res = *d;
    r->addressing = d->addressing;
    r->rep.protocol = d->addressing == OBD_CAN_29BIT ? OBDREAD_PROTO_ISO15765_29BIT
                                                     : OBDREAD_PROTO_ISO15765_11BIT;
    for (size_t i = 0; i < d->n_ecus; i++)
        obdread_add_ecu(r, d->ecus[i].ecu);
    r->n_dm1_sa = 0;
    r->phase = PH_ISO;
    r->step = 0;
    r->step_running = false;
    struct obd_query_config qc;
    obd_query_config_default(&qc, d->addressing);
    qc.p2_ms = r->o.iso_p2_ms;
    struct obd_bus b = {.send = obdread_send_cb, .ctx = r};
    char err[128];
    r->q = obd_query_new(&qc, &b, err, sizeof(err));
    if (!r->q) {
        obdread_add_missing(r, "every request (obd_query failed)");
        r->step = N_STEPS;
        return;
    }
    start_next(r, now_us);
}

int obdread_iso_poll(obdread *r, uint64_t now_us)
{
    if (!r->q)
        return 0;
    if (r->step_running && obd_query_poll(r->q, now_us) == 1)
        return 1;
    if (r->step_running) {
        take_answers(r, r->step);
        r->step_running = false;
        r->step++;
    }
    return start_next(r, now_us) ? 1 : 0;
}
