/* SPDX-License-Identifier: MIT */
/*
 * obdread: detection, then the J1939 or the ISO 15765-4 reading (obdread_iso.c).
 * Phases: DETECT (J1939 listening + a request for Address Claimed, obd_detect in
 * parallel), then J1939 CLAIM and COLLECT, or ISO (one obd_query after another).
 */
#include "obdread_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *obdread_protocol_name(enum obdread_protocol p)
{
    switch (p) {
    case OBDREAD_PROTO_J1939:
        return "J1939";
    case OBDREAD_PROTO_ISO15765_11BIT:
        return "ISO 15765-4 11-bit";
    case OBDREAD_PROTO_ISO15765_29BIT:
        return "ISO 15765-4 29-bit";
    case OBDREAD_PROTO_NONE:
        break;
    }
    return "none";
}

const char *obdread_comm_name(enum obdread_comm c)
{
    switch (c) {
    case OBDREAD_COMM_OK:
        return "ok";
    case OBDREAD_COMM_NO_ANSWER:
        return "no answer";
    case OBDREAD_COMM_INTERFACE_ERROR:
        return "interface error";
    }
    return "?";
}

const char *obdread_mil_name(enum obdread_mil m)
{
    return m == OBDREAD_MIL_ON ? "on" : m == OBDREAD_MIL_OFF ? "off" : "unknown";
}

const char *obdread_value_state_name(enum obdread_value_state s)
{
    switch (s) {
    case OBDREAD_VALUE_OK:
        return "ok";
    case OBDREAD_VALUE_NA:
        return "NA";
    case OBDREAD_VALUE_ERROR:
        return "error";
    case OBDREAD_VALUE_NO_ANSWER:
        return "no answer";
    }
    return "?";
}

void obdread_opts_default(struct obdread_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->detect_ms = 1000;
    o->broadcast_wait_ms = 1500;
    o->request_wait_ms = 1250;
    o->live_window_ms = 1000;
    o->iso_p2_ms = 100;
    o->max_error_frames = 5;
    o->tool_address = J1939_ADDR_TOOL1;
}

/* ---- bus glue ---------------------------------------------------------------------- */

static int bus_send(obdread *r, const struct can_frame_rec *f)
{
    if (r->o.listen_only)
        return -1;
    int rc = canbus_send(r->bus, f);
    if (rc == CANBUS_OK)
        return 0;
    if (rc == CANBUS_AGAIN)
        return ISOTP_SEND_BUSY;
    if (!r->iface_error) {
        r->iface_error = true;
        snprintf(r->iface_msg, sizeof(r->iface_msg), "send refused: %s",
                 canbus_errmsg(r->bus)[0] ? canbus_errmsg(r->bus) : "bus-off");
    }
    return -1;
}

int obdread_send_cb(void *ctx, const struct can_frame_rec *f)
{
    return bus_send(ctx, f);
}

static int detect_send(void *ctx, const struct can_frame_rec *f)
{
    return bus_send(ctx, f);
}

static int j1939_send(void *user, const struct can_frame_rec *f)
{
    int rc = bus_send(user, f);
    return rc == 0 ? 0 : -1;
}

/* ---- report helpers ---------------------------------------------------------------- */

void obdread_add_ecu(obdread *r, uint8_t ecu)
{
    for (size_t i = 0; i < r->rep.n_ecus; i++)
        if (r->rep.ecus[i] == ecu)
            return;
    if (r->rep.n_ecus < OBDREAD_MAX_ECUS)
        r->rep.ecus[r->rep.n_ecus++] = ecu;
}

void obdread_add_readiness(obdread *r, const char *name)
{
    for (size_t i = 0; i < r->rep.n_readiness_incomplete; i++)
        if (strcmp(r->rep.readiness_incomplete[i], name) == 0)
            return;
    if (r->rep.n_readiness_incomplete < OBDREAD_MAX_READINESS)
        snprintf(r->rep.readiness_incomplete[r->rep.n_readiness_incomplete++], OBDREAD_NAME_LEN,
                 "%s", name);
}

void obdread_add_missing(obdread *r, const char *item)
{
    size_t used = strlen(r->rep.missing);
    snprintf(r->rep.missing + used, sizeof(r->rep.missing) - used, "%s%s", used ? ", " : "", item);
}

struct obdread_live *obdread_live_slot(obdread *r, const char *name, uint8_t ecu)
{
    for (size_t i = 0; i < r->rep.n_live; i++)
        if (strcmp(r->rep.live[i].name, name) == 0 && r->rep.live[i].ecu == ecu)
            return &r->rep.live[i];
    if (r->rep.n_live >= OBDREAD_MAX_LIVE)
        return NULL;
    struct obdread_live *l = &r->rep.live[r->rep.n_live++];
    memset(l, 0, sizeof(*l));
    snprintf(l->name, sizeof(l->name), "%s", name);
    l->ecu = ecu;
    l->state = OBDREAD_VALUE_NO_ANSWER;
    return l;
}

/* ---- J1939 ------------------------------------------------------------------------- */

/* Drops the DTCs an earlier DM1 of the same ECU reported: a DM1 is the whole list. */
static void drop_dtcs_of(obdread *r, uint8_t ecu)
{
    size_t k = 0;
    for (size_t i = 0; i < r->rep.n_dtcs; i++)
        if (r->rep.dtcs[i].ecu != ecu)
            r->rep.dtcs[k++] = r->rep.dtcs[i];
    r->rep.n_dtcs = k;
}

static void on_dm1(obdread *r, const struct j1939_msg *m)
{
    struct j1939_dm1 *dm1 = &r->dm1;
    if (j1939_dm1_decode(m->data, m->len, dm1) != 0)
        return;
    r->got_dm1 = true;
    obdread_add_ecu(r, m->sa);
    bool mil = dm1->lamps_present && dm1->lamps.mil == J1939_LAMP_ON;
    for (size_t i = 0; i < r->n_dm1_sa; i++)
        if (r->dm1_sa[i] == m->sa) {
            r->dm1_mil[i] = mil;
            goto have_slot;
        }
    if (r->n_dm1_sa < OBDREAD_MAX_ECUS) {
        r->dm1_sa[r->n_dm1_sa] = m->sa;
        r->dm1_mil[r->n_dm1_sa++] = mil;
    }
have_slot:
    drop_dtcs_of(r, m->sa);
    for (size_t i = 0; i < dm1->n_dtc; i++) {
        if (r->rep.n_dtcs >= OBDREAD_MAX_DTCS) {
            r->rep.dtcs_truncated = true;
            break;
        }
        struct obdread_dtc *d = &r->rep.dtcs[r->rep.n_dtcs++];
        memset(d, 0, sizeof(*d));
        d->ecu = m->sa;
        d->spn = dm1->dtc[i].spn;
        d->fmi = dm1->dtc[i].fmi;
        d->oc = dm1->dtc[i].oc;
        d->mil_on = mil;
        snprintf(d->code, sizeof(d->code), "SPN %u FMI %u", (unsigned)d->spn, (unsigned)d->fmi);
    }
}

static const enum j1939_monitor monitors[] = {
    J1939_MON_MISFIRE,
    J1939_MON_FUEL_SYSTEM,
    J1939_MON_COMPREHENSIVE,
    J1939_MON_CATALYST,
    J1939_MON_HEATED_CATALYST,
    J1939_MON_EVAPORATIVE,
    J1939_MON_SECONDARY_AIR,
    J1939_MON_AC_REFRIGERANT,
    J1939_MON_EXHAUST_GAS_SENSOR,
    J1939_MON_EXHAUST_GAS_SENSOR_HEATER,
    J1939_MON_EGR_VVT,
    J1939_MON_COLD_START_AID,
    J1939_MON_BOOST_PRESSURE,
    J1939_MON_DPF,
    J1939_MON_NOX_CATALYST,
    J1939_MON_NMHC_CATALYST,
};

static void on_dm5(obdread *r, const struct j1939_msg *m)
{
    struct j1939_dm5 dm5;
    j1939_dm5_decode(m->data, m->len, &dm5);
    r->got_dm5 = true;
    obdread_add_ecu(r, m->sa);
    if (!dm5.is_obd)
        return;
    r->rep.readiness_read = true;
    for (size_t i = 0; i < sizeof(monitors) / sizeof(monitors[0]); i++)
        if (j1939_dm5_monitor(&dm5, monitors[i]) == J1939_READY_NOT_COMPLETE)
            obdread_add_readiness(r, j1939_monitor_name(monitors[i]));
}

static void on_j1939_msg(void *user, const struct j1939_msg *m)
{
    obdread *r = user;
    r->j1939_seen = true;
    if (m->sa < J1939_ADDR_NULL)
        obdread_add_ecu(r, m->sa);
    switch (m->pgn) {
    case J1939_PGN_DM1:
        on_dm1(r, m);
        return;
    case J1939_PGN_DM5:
        on_dm5(r, m);
        return;
    case J1939_PGN_VI: {
        struct j1939_vin vin;
        j1939_vin_decode(m->data, m->len, &vin);
        r->got_vi = true;
        if (!r->rep.vin_valid) {
            snprintf(r->rep.vin, sizeof(r->rep.vin), "%s", vin.text);
            r->rep.vin_valid = vin.validity == J1939_VALID;
        }
        return;
    }
    default:
        break;
    }
    struct j1939_live_value vals[8];
    size_t n = j1939_live_decode(NULL, 0, m->pgn, m->data, m->len, vals, 8);
    for (size_t i = 0; i < n; i++) {
        if (m->pgn == J1939_PGN_VD && vals[i].def->spn == 245) {
            r->got_vd = true;
            if (vals[i].validity == J1939_VALID) {
                r->rep.odometer_present = true;
                r->rep.odometer_km = vals[i].value;
            }
        }
        struct obdread_live *l = obdread_live_slot(r, vals[i].def->name, m->sa);
        if (!l)
            continue;
        snprintf(l->unit, sizeof(l->unit), "%s", vals[i].def->unit);
        l->state = vals[i].validity == J1939_VALID           ? OBDREAD_VALUE_OK
                   : vals[i].validity == J1939_NOT_AVAILABLE ? OBDREAD_VALUE_NA
                                                             : OBDREAD_VALUE_ERROR;
        l->value = vals[i].value;
    }
}

/* A J1939 frame that is no ISO 15765 answer or request (PF 0xDA / 0xDB on 29-bit). */
static bool is_j1939_traffic(const struct can_frame_rec *f)
{
    struct j1939_id id;
    if (!j1939_id_parse(f, &id))
        return false;
    return id.pf != 0xDA && id.pf != 0xDB;
}

static void j1939_frame(obdread *r, const struct can_frame_rec *f, uint64_t now_us)
{
    if (!is_j1939_traffic(f))
        return;
    r->j1939_seen = true;
    struct j1939_id id;
    j1939_id_parse(f, &id);
    if (id.pgn == J1939_PGN_ADDRESS_CLAIMED && id.sa < J1939_ADDR_NULL)
        obdread_add_ecu(r, id.sa);
    if (r->ac && j1939_ac_rx(r->ac, f, now_us) == 1)
        return;
    if (j1939_tp_rx_frame(r->rx, f, now_us) == 1)
        return;
    struct j1939_msg m;
    if (j1939_msg_from_frame(f, &m))
        on_j1939_msg(r, &m);
}

static void j1939_send_requests(obdread *r, uint64_t now_us)
{
    uint8_t sa = j1939_ac_address(r->ac);
    /* VI is longer than 8 bytes: asked of the engine (or the first ECU seen) it comes by
     * RTS/CTS to us; DM5 and VD are asked of everybody. */
    uint8_t engine = r->rep.n_ecus ? r->rep.ecus[0] : 0x00;
    for (size_t i = 0; i < r->rep.n_ecus; i++)
        if (r->rep.ecus[i] == 0x00)
            engine = 0x00;
    struct can_frame_rec f;
    j1939_request_make(&f, J1939_PGN_VI, engine, sa, now_us);
    bus_send(r, &f);
    j1939_request_make(&f, J1939_PGN_DM5, J1939_ADDR_GLOBAL, sa, now_us);
    bus_send(r, &f);
    j1939_request_make(&f, J1939_PGN_VD, J1939_ADDR_GLOBAL, sa, now_us);
    bus_send(r, &f);
}

static uint64_t ms_us(uint32_t ms)
{
    return (uint64_t)ms * 1000u;
}

static void j1939_begin(obdread *r, uint64_t now_us)
{
    r->rep.protocol = OBDREAD_PROTO_J1939;
    if (r->o.listen_only) {
        r->phase = PH_J_COLLECT;
        r->t_end = now_us + ms_us(r->o.broadcast_wait_ms);
        return;
    }
    j1939_ac_start(r->ac, now_us);
    r->phase = PH_J_CLAIM;
    r->t_end = now_us + ms_us(1000); /* the claim takes 250 ms */
}

static void j1939_collect_begin(obdread *r, uint64_t now_us)
{
    j1939_tp_rx_set_address(r->rx, j1939_ac_address(r->ac));
    j1939_send_requests(r, now_us);
    r->phase = PH_J_COLLECT;
    uint32_t wait = r->o.broadcast_wait_ms;
    if (r->o.request_wait_ms > wait)
        wait = r->o.request_wait_ms;
    if (r->o.live_window_ms > wait)
        wait = r->o.live_window_ms;
    r->t_end = now_us + ms_us(wait);
}

static void j1939_finish(obdread *r)
{
    bool mil = false;
    for (size_t i = 0; i < r->n_dm1_sa; i++)
        mil = mil || r->dm1_mil[i];
    r->rep.mil = r->got_dm1 ? (mil ? OBDREAD_MIL_ON : OBDREAD_MIL_OFF) : OBDREAD_MIL_UNKNOWN;
    if (!r->got_dm1)
        obdread_add_missing(r, "DM1");
    if (!r->got_vi)
        obdread_add_missing(r, "VI (VIN)");
    if (!r->got_dm5)
        obdread_add_missing(r, "DM5 (readiness)");
    if (!r->got_vd)
        obdread_add_missing(r, "VD (odometer)");
    /* The live values the check looks for and the bus never showed: said as such. */
    size_t n;
    const struct j1939_spn_def *defs = j1939_live_defaults(&n);
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t k = 0; k < r->rep.n_live; k++)
            seen = seen || strcmp(r->rep.live[k].name, defs[i].name) == 0;
        if (seen)
            continue;
        struct obdread_live *l = obdread_live_slot(r, defs[i].name, J1939_ADDR_GLOBAL);
        if (l)
            snprintf(l->unit, sizeof(l->unit), "%s", defs[i].unit);
    }
}

/* ---- lifecycle --------------------------------------------------------------------- */

obdread *obdread_new(canbus *bus, const struct obdread_opts *opts, char *err, size_t errlen)
{
    obdread *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "obdread: out of memory");
        return NULL;
    }
    r->bus = bus;
    if (opts)
        r->o = *opts;
    else
        obdread_opts_default(&r->o);
    struct j1939_tp_rx_config rc;
    j1939_tp_rx_config_default(&rc);
    rc.address = J1939_ADDR_NULL;
    struct j1939_tp_rx_callbacks rcb = {.send = j1939_send, .message = on_j1939_msg, .user = r};
    r->rx = j1939_tp_rx_new(&rc, &rcb, err, errlen);
    struct j1939_ac_config ac;
    j1939_ac_config_default(&ac);
    ac.preferred = r->o.tool_address;
    struct j1939_ac_callbacks acb = {.send = j1939_send, .user = r};
    r->ac = r->rx ? j1939_ac_new(&ac, &acb, err, errlen) : NULL;
    struct obd_detect_config dc;
    obd_detect_config_default(&dc);
    dc.n_bitrates = 1;
    struct obd_detect_bus db = {.send = detect_send, .ctx = r};
    r->det = r->ac ? obd_detect_new(&dc, &db, err, errlen) : NULL;
    if (!r->det) {
        obdread_free(r);
        return NULL;
    }
    return r;
}

void obdread_free(obdread *r)
{
    if (!r)
        return;
    obd_detect_free(r->det);
    obd_query_free(r->q);
    j1939_ac_free(r->ac);
    j1939_tp_rx_free(r->rx);
    free(r);
}

int obdread_start(obdread *r, uint64_t now_us)
{
    memset(&r->rep, 0, sizeof(r->rep));
    r->t_start = now_us;
    r->phase = PH_DETECT;
    r->t_end = now_us + ms_us(r->o.detect_ms);
    if (!r->o.listen_only) {
        struct can_frame_rec f;
        j1939_request_make(&f, J1939_PGN_ADDRESS_CLAIMED, J1939_ADDR_GLOBAL, J1939_ADDR_NULL,
                           now_us);
        bus_send(r, &f);
        obd_detect_start(r->det, now_us);
        r->det_running = true;
    }
    return OBDREAD_OK;
}

void obdread_on_frame(obdread *r, const struct can_frame_rec *f, uint64_t now_us)
{
    if (r->phase == PH_DONE || r->phase == PH_IDLE)
        return;
    if (f->id & CAN_FRAME_ERR) {
        r->rep.error_frames++;
        struct canbus_error e;
        if (canbus_error_decode(f, &e) == 0 && e.bus_off && !r->iface_error) {
            r->iface_error = true;
            snprintf(r->iface_msg, sizeof(r->iface_msg), "the CAN controller went bus-off");
        }
        if (r->rep.error_frames >= r->o.max_error_frames && !r->iface_error) {
            char what[64] = "";
            canbus_error_describe(f, what, sizeof(what));
            r->iface_error = true;
            snprintf(r->iface_msg, sizeof(r->iface_msg),
                     "%u error frames on the bus (last: %s): wrong bitrate, wiring or no "
                     "termination",
                     r->rep.error_frames, what);
        }
        if (r->det_running)
            obd_detect_on_frame(r->det, f, now_us);
        return;
    }
    if (r->phase == PH_DETECT) {
        if (r->det_running && obd_detect_on_frame(r->det, f, now_us) == 1)
            return;
        j1939_frame(r, f, now_us);
        return;
    }
    if (r->phase == PH_ISO) {
        if (r->q)
            obd_query_on_frame(r->q, f, now_us);
        return;
    }
    j1939_frame(r, f, now_us);
}

static void finish(obdread *r)
{
    r->phase = PH_DONE;
    if (r->rep.protocol == OBDREAD_PROTO_J1939)
        j1939_finish(r);
    if (r->iface_error && r->rep.protocol == OBDREAD_PROTO_NONE) {
        r->rep.comm = OBDREAD_COMM_INTERFACE_ERROR;
        snprintf(r->rep.message, sizeof(r->rep.message), "interface error: %.160s", r->iface_msg);
    } else if (r->rep.protocol == OBDREAD_PROTO_NONE) {
        r->rep.comm = OBDREAD_COMM_NO_ANSWER;
        snprintf(r->rep.message, sizeof(r->rep.message),
                 "no answer: no J1939 traffic and no ISO 15765-4 answer in %u ms (%.160s)",
                 r->o.detect_ms, obd_detect_result(r->det)->log);
    } else {
        r->rep.comm = OBDREAD_COMM_OK;
        snprintf(r->rep.message, sizeof(r->rep.message), "%s: %zu ECU(s)%s%.180s",
                 obdread_protocol_name(r->rep.protocol), r->rep.n_ecus,
                 r->rep.missing[0] ? "; no answer for: " : "", r->rep.missing);
    }
}

static void detect_decide(obdread *r, uint64_t now_us)
{
    const struct obd_detect_result *d = obd_detect_result(r->det);
    if (d->state == OBD_DETECT_FOUND) {
        obdread_iso_begin(r, d, now_us);
        return;
    }
    if (r->j1939_seen) {
        j1939_begin(r, now_us);
        return;
    }
    finish(r);
}

int obdread_poll(obdread *r, uint64_t now_us)
{
    for (int guard = 0; guard < 64; guard++) {
        if (r->phase == PH_DONE || r->phase == PH_IDLE)
            return 0;
        if (r->iface_error && r->rep.protocol == OBDREAD_PROTO_NONE) {
            finish(r);
            return 0;
        }
        enum obdread_phase before = r->phase;
        switch (r->phase) {
        case PH_DETECT:
            if (r->det_running && obd_detect_poll(r->det, now_us) != OBD_DETECT_RUNNING)
                r->det_running = false;
            if (!r->det_running && (obd_detect_result(r->det)->state == OBD_DETECT_FOUND ||
                                    r->j1939_seen || now_us >= r->t_end))
                detect_decide(r, now_us);
            break;
        case PH_J_CLAIM:
            j1939_ac_tick(r->ac, now_us);
            j1939_tp_rx_tick(r->rx, now_us);
            if (j1939_ac_get_state(r->ac) == J1939_AC_CLAIMED)
                j1939_collect_begin(r, now_us);
            else if (j1939_ac_get_state(r->ac) == J1939_AC_CANNOT_CLAIM || now_us >= r->t_end) {
                obdread_add_missing(r, "address claim (requests not sent)");
                r->phase = PH_J_COLLECT;
                r->t_end = now_us + ms_us(r->o.broadcast_wait_ms);
            }
            break;
        case PH_J_COLLECT:
            if (r->ac)
                j1939_ac_tick(r->ac, now_us);
            j1939_tp_rx_tick(r->rx, now_us);
            if (now_us >= r->t_end) {
                struct j1939_tp_rx_stats st;
                j1939_tp_rx_get_stats(r->rx, &st);
                /* A transfer under way gets its T1/T2 to finish. */
                if (st.active == 0 || now_us >= r->t_end + ms_us(3000))
                    finish(r);
            }
            break;
        case PH_ISO:
            if (obdread_iso_poll(r, now_us) == 0)
                finish(r);
            break;
        case PH_IDLE:
        case PH_DONE:
            break;
        }
        if (r->phase == before)
            break;
    }
    return r->phase == PH_DONE ? 0 : 1;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

uint64_t obdread_next_deadline_us(const obdread *r)
{
    switch (r->phase) {
    case PH_DETECT:
        return r->det_running ? min_u64(obd_detect_next_deadline_us(r->det), r->t_end) : r->t_end;
    case PH_J_CLAIM:
    case PH_J_COLLECT: {
        uint64_t t = min_u64(j1939_ac_next_deadline(r->ac), j1939_tp_rx_next_deadline(r->rx));
        return min_u64(t, r->t_end);
    }
    case PH_ISO:
        return r->q ? obd_query_next_deadline_us(r->q) : 0;
    case PH_IDLE:
    case PH_DONE:
        break;
    }
    return UINT64_MAX;
}

const struct obdread_report *obdread_report(const obdread *r)
{
    return &r->rep;
}
