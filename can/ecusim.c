/* SPDX-License-Identifier: MIT */
/* The ECU simulator's J1939 side: broadcasts, DM1 by BAM, answers to requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecusim_priv.h"

#define MS(x) ((uint64_t)(x)*1000u)

int ecusim_send(struct ecusim *s, const struct can_frame_rec *f)
{
    int rc = s->io.send(s->io.ctx, f);
    if (rc < 0)
        s->st.tx_errors++;
    else
        s->st.frames_tx++;
    return rc;
}

static int tp_send(void *user, const struct can_frame_rec *f)
{
    return ecusim_send(user, f) < 0 ? -1 : 0;
}

static void tp_done(void *user, const struct j1939_tp_tx_result *res)
{
    struct ecusim *s = user;
    if (res->ok)
        s->st.tp_completed++;
    else
        s->st.tp_failed++;
}

/* A triangle wave between lo and hi with the given period: smooth enough to look
 * alive, no libm. */
static double wave(uint64_t t_us, uint64_t period_us, double lo, double hi)
{
    uint64_t ph = t_us % period_us;
    double x = (double)ph / (double)period_us; /* 0..1 */
    double tri = x < 0.5 ? 2 * x : 2 - 2 * x;
    return lo + (hi - lo) * tri;
}

void ecusim_live_at(const struct ecusim *s, uint64_t now_us, struct ecusim_live *v)
{
    uint64_t t = now_us - s->start_us;
    v->rpm = wave(t, MS(20000), 800, 1600);
    v->speed_kmh = wave(t, MS(30000), 20, 70);
    v->coolant_c = 85;
    v->fuel_lph = wave(t, MS(20000), 8, 30);
    v->nox_in_ppm = wave(t, MS(10000), 300, 900);
    v->nox_out_ppm = s->p.mil ? v->nox_in_ppm * 0.8 : v->nox_in_ppm * 0.05;
    v->def_pct = s->p.mil ? 4 : 62.4;
    v->dpf_kpa = 2.5;
    v->air_kgh = wave(t, MS(20000), 300, 900);
    v->distance_km = 123456.0 + (double)(t / 1000000u) * 0.0125;
    v->scr_in_c = 310;
    v->scr_out_c = 290;
}

static void put16(uint8_t *b, double raw)
{
    unsigned r = raw < 0 ? 0u : (unsigned)(raw + 0.5);
    if (r > 0xFAFFu)
        r = 0xFAFFu;
    b[0] = (uint8_t)(r & 0xFF);
    b[1] = (uint8_t)(r >> 8);
}

static void put32(uint8_t *b, double raw)
{
    uint32_t r = raw < 0 ? 0u : (uint32_t)(raw + 0.5);
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(r >> (8 * i));
}

static uint8_t raw8(double raw)
{
    return raw < 0 ? 0 : raw > 250 ? 250 : (uint8_t)(raw + 0.5);
}

/* Builds an 8-byte broadcast payload: the parameters of docs/j1939.md's table,
 * every other byte "not available". */
static void bcast_payload(const struct ecusim *s, uint32_t pgn, uint64_t now_us, uint8_t d[8])
{
    struct ecusim_live v;
    ecusim_live_at(s, now_us, &v);
    memset(d, 0xFF, 8);
    switch (pgn) {
    case J1939_PGN_EEC1:
        put16(d + 3, v.rpm / 0.125);
        break;
    case J1939_PGN_CCVS:
        put16(d + 1, v.speed_kmh * 256.0);
        break;
    case J1939_PGN_ET1:
        d[0] = raw8(v.coolant_c + 40);
        break;
    case J1939_PGN_LFE:
        put16(d + 0, v.fuel_lph / 0.05);
        break;
    case J1939_PGN_AT1IG1:
        put16(d + 0, (v.nox_in_ppm + 200) / 0.05);
        break;
    case J1939_PGN_AT1OG1:
        put16(d + 0, (v.nox_out_ppm + 200) / 0.05);
        break;
    case J1939_PGN_AT1T1I:
        d[0] = raw8(v.def_pct / 0.4);
        break;
    case J1939_PGN_AT1IMG:
        put16(d + 4, v.dpf_kpa / 0.1);
        break;
    case J1939_PGN_EGF1:
        put16(d + 2, v.air_kgh / 0.05);
        break;
    case J1939_PGN_VD:
        put32(d + 4, v.distance_km / 0.125);
        break;
    case J1939_PGN_A1SCREGT1:
        put16(d + 0, (v.scr_in_c + 273) / 0.03125);
        put16(d + 3, (v.scr_out_c + 273) / 0.03125);
        break;
    default:
        break;
    }
}

static void add_bc(struct ecusim *s, uint32_t pgn, uint32_t period_ms)
{
    s->bc[s->n_bc++] =
        (struct ecusim_bcast){.pgn = pgn, .sa = ECUSIM_ADDR_ENGINE, .period_us = period_ms * 1000u};
}

ecusim *ecusim_new(const struct ecusim_profile *p, const struct ecusim_io *io, char *err,
                   size_t errlen)
{
    if (!p || !io || !io->send) {
        snprintf(err, errlen, "ecusim: profile and send callback are required");
        return NULL;
    }
    if (!p->j1939 && !p->obd11 && !p->obd29) {
        snprintf(err, errlen, "ecusim: profile '%s' speaks no protocol", p->name);
        return NULL;
    }
    if (strlen(p->vin) != 17 || p->n_engine_dtc > ECUSIM_MAX_DTC ||
        p->n_aftert_dtc > ECUSIM_MAX_DTC || p->n_obd_engine_dtc > ECUSIM_MAX_DTC ||
        p->n_obd_trans_dtc > ECUSIM_MAX_DTC) {
        snprintf(err, errlen, "ecusim: profile '%s': VIN must be 17 characters, at most %d DTCs",
                 p->name, ECUSIM_MAX_DTC);
        return NULL;
    }
    struct ecusim *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "ecusim: out of memory");
        return NULL;
    }
    s->p = *p;
    s->io = *io;
    if (p->j1939) {
        struct j1939_tp_tx_config cfg;
        j1939_tp_tx_config_default(&cfg);
        struct j1939_tp_tx_callbacks cb = {.send = tp_send, .done = tp_done, .user = s};
        s->tp = j1939_tp_tx_new(&cfg, &cb, err, errlen);
        if (!s->tp) {
            free(s);
            return NULL;
        }
        add_bc(s, J1939_PGN_EEC1, 100);
        add_bc(s, J1939_PGN_CCVS, 100);
        add_bc(s, J1939_PGN_ET1, 1000);
        add_bc(s, J1939_PGN_LFE, 100);
        add_bc(s, J1939_PGN_AT1IG1, 100);
        add_bc(s, J1939_PGN_AT1OG1, 100);
        add_bc(s, J1939_PGN_AT1T1I, 1000);
        add_bc(s, J1939_PGN_AT1IMG, 500);
        add_bc(s, J1939_PGN_EGF1, 100);
        add_bc(s, J1939_PGN_VD, 1000);
        add_bc(s, J1939_PGN_A1SCREGT1, 500);
    }
    if (ecusim_obd_init(s, err, errlen) < 0) {
        ecusim_free(s);
        return NULL;
    }
    return s;
}

void ecusim_free(ecusim *s)
{
    if (!s)
        return;
    ecusim_obd_free(s);
    j1939_tp_tx_free(s->tp);
    free(s);
}

void ecusim_start(ecusim *s, uint64_t now_us)
{
    s->start_us = now_us;
    s->started = true;
    /* Stagger the schedules a little, as real ECUs do not all start on one tick. */
    for (size_t i = 0; i < s->n_bc; i++)
        s->bc[i].next_us = now_us + i * 3000u;
    s->dm1_next_us = now_us + MS(5);
}

/* Payload of a PGN we answer, or 0 when we do not have it. */
static size_t answer_payload(const struct ecusim *s, uint8_t sa, uint32_t pgn, uint64_t now_us,
                             uint8_t *out, size_t cap)
{
    bool aftert = sa == ECUSIM_ADDR_AFTERT;
    switch (pgn) {
    case J1939_PGN_VI:
        if (aftert || cap < 18)
            return 0;
        memcpy(out, s->p.vin, 17);
        out[17] = '*';
        return 18;
    case J1939_PGN_DM1:
        return ecusim_dm1_payload(&s->p, aftert, out, cap);
    case J1939_PGN_DM5:
        return aftert ? 0 : ecusim_dm5_payload(&s->p, out, cap);
    default:
        for (size_t i = 0; i < s->n_bc; i++)
            if (s->bc[i].pgn == pgn && s->bc[i].sa == sa && cap >= 8) {
                bcast_payload(s, pgn, now_us, out);
                return 8;
            }
        return 0;
    }
}

/* Sends pgn from sa to da: one frame, or TP. 1 sent/started, 0 must wait, <0 failed. */
static int send_msg(struct ecusim *s, uint8_t sa, uint8_t da, uint32_t pgn, uint64_t now_us)
{
    uint8_t buf[J1939_TP_MAX_SIZE];
    size_t len = answer_payload(s, sa, pgn, now_us, buf, sizeof buf);
    if (len == 0)
        return -1;
    if (len <= 8) {
        struct can_frame_rec f;
        /* PDU2 PGNs go to global whatever the requester; PDU1 would carry da. */
        j1939_frame_make(&f, 6, pgn, da, sa, buf, (uint8_t)len, now_us);
        ecusim_send(s, &f);
        if (pgn == J1939_PGN_DM1)
            s->st.dm1_sent++;
        return 1;
    }
    int rc = j1939_tp_tx_start(s->tp, sa, da, pgn, buf, len, now_us);
    if (rc == J1939_EBUSY || rc == J1939_EFULL)
        return 0;
    if (rc < 0)
        return -1;
    s->st.tp_started++;
    if (pgn == J1939_PGN_DM1)
        s->st.dm1_sent++;
    return 1;
}

static void queue_msg(struct ecusim *s, uint8_t sa, uint8_t da, uint32_t pgn, uint64_t now_us)
{
    int rc = send_msg(s, sa, da, pgn, now_us);
    if (rc != 0)
        return;
    s->st.tp_deferred++;
    for (size_t i = 0; i < ECUSIM_PENDING_MAX; i++) {
        struct ecusim_pending *q = &s->pending[i];
        if (q->used && q->sa == sa && q->da == da && q->pgn == pgn)
            return; /* already waiting */
    }
    for (size_t i = 0; i < ECUSIM_PENDING_MAX; i++)
        if (!s->pending[i].used) {
            s->pending[i] = (struct ecusim_pending){.used = true, .sa = sa, .da = da, .pgn = pgn};
            return;
        }
}

static void on_request(struct ecusim *s, const struct j1939_id *id, uint32_t pgn, uint64_t now_us)
{
    static const uint8_t ecus[] = {ECUSIM_ADDR_ENGINE, ECUSIM_ADDR_AFTERT};
    bool global = id->da == J1939_ADDR_GLOBAL;
    for (size_t i = 0; i < sizeof ecus; i++) {
        uint8_t sa = ecus[i];
        if (!global && id->da != sa)
            continue;
        uint8_t probe[J1939_TP_MAX_SIZE];
        if (answer_payload(s, sa, pgn, now_us, probe, sizeof probe) == 0) {
            if (!global) { /* J1939-21: a specific request we cannot answer is NACKed */
                struct can_frame_rec f;
                j1939_ack_make(&f, J1939_ACK_NEGATIVE, pgn, id->sa, sa, now_us);
                ecusim_send(s, &f);
                s->st.nacks++;
            }
            continue;
        }
        s->st.requests++;
        /* Global request: the answer is a broadcast (BAM); specific: to the requester. */
        queue_msg(s, sa, global ? J1939_ADDR_GLOBAL : id->sa, pgn, now_us);
    }
}

void ecusim_rx(ecusim *s, const struct can_frame_rec *f, uint64_t now_us)
{
    if (!s || !f)
        return;
    if (s->p.j1939) {
        struct j1939_id id;
        uint32_t pgn;
        if (j1939_request_parse(f, &id, &pgn)) {
            on_request(s, &id, pgn, now_us);
            return;
        }
        if (j1939_tp_tx_frame(s->tp, f, now_us) == 1)
            return;
    }
    ecusim_obd_rx(s, f, now_us);
}

static void retry_pending(struct ecusim *s, uint64_t now_us)
{
    for (size_t i = 0; i < ECUSIM_PENDING_MAX; i++) {
        struct ecusim_pending *q = &s->pending[i];
        if (q->used && send_msg(s, q->sa, q->da, q->pgn, now_us) != 0)
            q->used = false;
    }
}

void ecusim_tick(ecusim *s, uint64_t now_us)
{
    if (!s)
        return;
    if (!s->started)
        ecusim_start(s, now_us);
    if (s->p.j1939) {
        j1939_tp_tx_tick(s->tp, now_us);
        retry_pending(s, now_us);
        for (size_t i = 0; i < s->n_bc; i++) {
            struct ecusim_bcast *b = &s->bc[i];
            if (now_us < b->next_us)
                continue;
            uint8_t d[8];
            bcast_payload(s, b->pgn, now_us, d);
            struct can_frame_rec f;
            j1939_frame_make(&f, b->pgn == J1939_PGN_EEC1 ? 3 : 6, b->pgn, J1939_ADDR_GLOBAL, b->sa,
                             d, 8, now_us);
            ecusim_send(s, &f);
            s->st.broadcasts++;
            /* Keep the phase; after a long stall, do not burst. */
            b->next_us += b->period_us;
            if (b->next_us <= now_us)
                b->next_us = now_us + b->period_us;
        }
        if (now_us >= s->dm1_next_us) {
            /* Both ECUs start their DM1 BAM in the same tick: concurrent BAMs. */
            queue_msg(s, ECUSIM_ADDR_ENGINE, J1939_ADDR_GLOBAL, J1939_PGN_DM1, now_us);
            queue_msg(s, ECUSIM_ADDR_AFTERT, J1939_ADDR_GLOBAL, J1939_PGN_DM1, now_us);
            s->dm1_next_us += MS(1000);
            if (s->dm1_next_us <= now_us)
                s->dm1_next_us = now_us + MS(1000);
        }
    }
    ecusim_obd_tick(s, now_us);
}

uint64_t ecusim_next_deadline(const ecusim *s)
{
    uint64_t d = UINT64_MAX;
    if (!s)
        return d;
    if (s->p.j1939) {
        if (!s->started)
            return 0;
        for (size_t i = 0; i < s->n_bc; i++)
            if (s->bc[i].next_us < d)
                d = s->bc[i].next_us;
        if (s->dm1_next_us < d)
            d = s->dm1_next_us;
        uint64_t t = j1939_tp_tx_next_deadline(s->tp);
        if (t < d)
            d = t;
        for (size_t i = 0; i < ECUSIM_PENDING_MAX; i++)
            if (s->pending[i].used) {
                uint64_t r = t < UINT64_MAX ? t : 0; /* retry when a session can end */
                if (r < d)
                    d = r;
            }
    }
    uint64_t o = ecusim_obd_next_deadline(s);
    return o < d ? o : d;
}

void ecusim_get_stats(const ecusim *s, struct ecusim_stats *st)
{
    if (s && st)
        *st = s->st;
}
