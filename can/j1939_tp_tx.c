/* SPDX-License-Identifier: MIT */
/*
 * J1939-21 transport protocol, sending side (used by the ECU simulator): BAM
 * paced 50-200 ms, and RTS/CTS obeying the receiver's windows, holds (CTS with
 * 0 packets), retransmit requests, EndOfMsgAck and aborts. A receiver cannot
 * make it read outside the message or hold a session forever.
 */
#include <stdlib.h>
#include <string.h>

#include "j1939.h"
#include "j1939_internal.h"

enum tx_state {
    TX_BAM,      /* broadcasting, one packet per bam_gap */
    TX_SENDING,  /* inside a CTS window (paced when rts_gap_us > 0) */
    TX_WAIT_CTS, /* after RTS or a window: CTS or EoMA within T3 */
    TX_HOLD,     /* after CTS(0): the next CTS within T4 */
};

struct tx_session {
    bool active;
    bool bam;
    bool in_hold; /* a run of CTS(0) is going on since hold_since_us */
    enum tx_state state;
    uint8_t sa, da;
    uint8_t packets;
    uint8_t next;         /* next packet to send */
    uint8_t window_end;   /* last packet of the current window */
    uint8_t highest_sent; /* highest packet sent so far */
    uint8_t retransmits;
    uint16_t size;
    uint32_t pgn;
    uint64_t next_send_us;
    uint64_t deadline;
    uint64_t hold_since_us;
    uint8_t data[J1939_TP_MAX_SIZE];
};

struct j1939_tp_tx {
    struct j1939_tp_tx_config cfg;
    struct j1939_tp_tx_callbacks cb;
    struct j1939_tp_tx_stats st;
    uint8_t used_sa[32]; /* sources that ever sent: to count stray answers */
    struct tx_session s[J1939_TP_TX_SESSIONS_MAX];
};

void j1939_tp_tx_config_default(struct j1939_tp_tx_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->bam_gap_us = 50000;
    cfg->rts_gap_us = 0;
    cfg->max_per_cts = 255;
    cfg->max_retransmits = 2;
    cfg->priority = 7;
    cfg->max_sessions = J1939_TP_TX_SESSIONS_MAX;
    cfg->max_hold_us = 10000000;
    j1939_tp_timing_default(&cfg->timing);
}

j1939_tp_tx *j1939_tp_tx_new(const struct j1939_tp_tx_config *cfg,
                             const struct j1939_tp_tx_callbacks *cb, char *err, size_t errlen)
{
    if (!cfg || !cb || !cb->send) {
        tp_fail(err, errlen, "J1939 TP sender: configuration and send callback are required");
        return NULL;
    }
    if (cfg->bam_gap_us < 50000 || cfg->bam_gap_us > 200000) {
        tp_fail(err, errlen, "J1939 TP sender: BAM packet gap %u us is outside 50-200 ms",
                (unsigned)cfg->bam_gap_us);
        return NULL;
    }
    if (cfg->rts_gap_us > cfg->timing.tr_us) {
        tp_fail(err, errlen, "J1939 TP sender: packet gap %u us exceeds Tr (%u us)",
                (unsigned)cfg->rts_gap_us, (unsigned)cfg->timing.tr_us);
        return NULL;
    }
    if (cfg->max_per_cts == 0) {
        tp_fail(err, errlen, "J1939 TP sender: max_per_cts must be 1..255");
        return NULL;
    }
    if (cfg->max_sessions == 0 || cfg->max_sessions > J1939_TP_TX_SESSIONS_MAX) {
        tp_fail(err, errlen, "J1939 TP sender: max_sessions %u is outside 1..%u",
                (unsigned)cfg->max_sessions, J1939_TP_TX_SESSIONS_MAX);
        return NULL;
    }
    if (j1939_tp_timing_check(&cfg->timing, err, errlen) != 0)
        return NULL;
    j1939_tp_tx *tx = calloc(1, sizeof *tx);
    if (!tx) {
        tp_fail(err, errlen, "J1939 TP sender: out of memory");
        return NULL;
    }
    tx->cfg = *cfg;
    tx->cfg.priority &= 7u;
    tx->cb = *cb;
    return tx;
}

void j1939_tp_tx_free(j1939_tp_tx *tx)
{
    free(tx);
}

void j1939_tp_tx_get_stats(const j1939_tp_tx *tx, struct j1939_tp_tx_stats *st)
{
    *st = tx->st;
}

static void send_frame(j1939_tp_tx *tx, const struct can_frame_rec *f)
{
    if (tx->cb.send(tx->cb.user, f) != 0)
        tx->st.tx_errors++;
}

static void send_cm(j1939_tp_tx *tx, const struct tx_session *s, uint8_t control, uint8_t b1,
                    uint8_t b2, uint8_t b3, uint8_t b4, uint64_t now_us)
{
    struct can_frame_rec f;
    tp_cm_make(&f, tx->cfg.priority, s->da, s->sa, control, b1, b2, b3, b4, s->pgn, now_us);
    send_frame(tx, &f);
}

static void send_dt(j1939_tp_tx *tx, struct tx_session *s, uint8_t seq, uint64_t now_us)
{
    uint8_t d[8];
    unsigned off = (seq - 1u) * 7u;
    unsigned n = s->size - off < 7u ? s->size - off : 7u;
    memset(d, 0xFF, sizeof d);
    d[0] = seq;
    memcpy(d + 1, s->data + off, n);
    struct can_frame_rec f;
    j1939_frame_make(&f, tx->cfg.priority, J1939_PGN_TP_DT, s->da, s->sa, d, 8, now_us);
    send_frame(tx, &f);
    tx->st.packets_sent++;
    if (seq > s->highest_sent)
        s->highest_sent = seq;
}

/* The session ends before the callback runs, so the callback may start the
 * next message for the same (source, destination). */
static void finish(j1939_tp_tx *tx, struct tx_session *s, bool ok, bool by_peer, unsigned reason)
{
    struct j1939_tp_tx_result r = {.sa = s->sa,
                                   .da = s->da,
                                   .pgn = s->pgn,
                                   .size = s->size,
                                   .ok = ok,
                                   .by_peer = by_peer,
                                   .reason = ok ? 0 : reason};
    s->active = false;
    tx->st.active--;
    if (ok)
        tx->st.completed++;
    else if (by_peer)
        tx->st.aborted_by_peer++;
    else
        tx->st.aborted++;
    if (tx->cb.done)
        tx->cb.done(tx->cb.user, &r);
}

static void abort_session(j1939_tp_tx *tx, struct tx_session *s, unsigned reason, uint64_t now_us)
{
    if (!s->bam)
        send_cm(tx, s, J1939_TP_CM_ABORT, (uint8_t)reason, 0xFF, 0xFF, 0xFF, now_us);
    finish(tx, s, false, false, reason);
}

static struct tx_session *find(j1939_tp_tx *tx, uint8_t sa, uint8_t da)
{
    for (unsigned i = 0; i < tx->cfg.max_sessions; i++) {
        struct tx_session *s = &tx->s[i];
        if (s->active && s->sa == sa && s->da == da)
            return s;
    }
    return NULL;
}

int j1939_tp_tx_start(j1939_tp_tx *tx, uint8_t sa, uint8_t da, uint32_t pgn, const uint8_t *data,
                      size_t len, uint64_t now_us)
{
    if (!data || len < J1939_TP_MIN_SIZE || len > J1939_TP_MAX_SIZE || sa >= J1939_ADDR_NULL ||
        da == J1939_ADDR_NULL || sa == da || pgn > J1939_PGN_MAX || pgn == J1939_PGN_TP_CM ||
        pgn == J1939_PGN_TP_DT)
        return J1939_EINVAL;
    if (j1939_pgn_is_pdu1(pgn))
        pgn &= 0x3FF00u;
    if (find(tx, sa, da))
        return J1939_EBUSY;
    struct tx_session *s = NULL;
    for (unsigned i = 0; i < tx->cfg.max_sessions && !s; i++)
        if (!tx->s[i].active)
            s = &tx->s[i];
    if (!s)
        return J1939_EFULL;
    memset(s, 0, offsetof(struct tx_session, data));
    s->active = true;
    s->bam = da == J1939_ADDR_GLOBAL;
    s->sa = sa;
    s->da = da;
    s->size = (uint16_t)len;
    s->packets = (uint8_t)tp_packets((unsigned)len);
    s->pgn = pgn;
    s->next = 1;
    memcpy(s->data, data, len);
    tx->used_sa[sa >> 3] = (uint8_t)(tx->used_sa[sa >> 3] | 1u << (sa & 7u));
    tx->st.started++;
    tx->st.active++;
    if (s->bam) {
        s->state = TX_BAM;
        s->next_send_us = tp_deadline(now_us, tx->cfg.bam_gap_us);
        send_cm(tx, s, J1939_TP_CM_BAM, (uint8_t)len, (uint8_t)(len >> 8), s->packets, 0xFF,
                now_us);
    } else {
        s->state = TX_WAIT_CTS;
        s->deadline = tp_deadline(now_us, tx->cfg.timing.t3_us);
        send_cm(tx, s, J1939_TP_CM_RTS, (uint8_t)len, (uint8_t)(len >> 8), s->packets,
                tx->cfg.max_per_cts, now_us);
    }
    return 0;
}

int j1939_tp_tx_abort(j1939_tp_tx *tx, uint8_t sa, uint8_t da, unsigned reason, uint64_t now_us)
{
    struct tx_session *s = find(tx, sa, da);
    if (!s)
        return J1939_ENOENT;
    abort_session(tx, s, reason, now_us);
    return 0;
}

/* Sends the next packet of the window; at its end, waits for CTS/EoMA. */
static void window_step(j1939_tp_tx *tx, struct tx_session *s, uint64_t now_us)
{
    send_dt(tx, s, s->next, now_us);
    if (s->next == s->window_end) {
        s->state = TX_WAIT_CTS;
        s->deadline = tp_deadline(now_us, tx->cfg.timing.t3_us);
    } else {
        s->next++;
        s->next_send_us = tp_deadline(now_us, tx->cfg.rts_gap_us);
    }
}

static void rx_cts(j1939_tp_tx *tx, struct tx_session *s, const uint8_t *d, uint64_t now_us)
{
    if (s->state == TX_SENDING) {
        abort_session(tx, s, J1939_TP_ABORT_CTS_WHILE_SENDING, now_us);
        return;
    }
    unsigned n = d[1], next = d[2];
    if (n == 0) {
        tx->st.holds++;
        if (!s->in_hold) {
            s->in_hold = true;
            s->hold_since_us = now_us;
        }
        uint64_t t4 = tp_deadline(now_us, tx->cfg.timing.t4_us);
        uint64_t cap = tp_deadline(s->hold_since_us, tx->cfg.max_hold_us);
        if (now_us > cap) {
            tx->st.timeouts++;
            abort_session(tx, s, J1939_TP_ABORT_TIMEOUT, now_us);
            return;
        }
        s->state = TX_HOLD;
        s->deadline = t4 < cap ? t4 : cap;
        return;
    }
    s->in_hold = false;
    if (next == 0 || next > s->packets) {
        /* TP has no code for "CTS asks for packets the message does not have"
         * (ETP's 15 is that); 250 is J1939-21's catch-all. */
        abort_session(tx, s, J1939_TP_ABORT_OTHER, now_us);
        return;
    }
    if (next <= s->highest_sent) {
        tx->st.retransmit_requests++;
        if (++s->retransmits > tx->cfg.max_retransmits) {
            abort_session(tx, s, J1939_TP_ABORT_RETRANSMIT_LIMIT, now_us);
            return;
        }
    }
    /* We never send more than we announced per CTS, nor past the message. */
    if (n > tx->cfg.max_per_cts)
        n = tx->cfg.max_per_cts;
    if (n > (unsigned)s->packets - next + 1u)
        n = (unsigned)s->packets - next + 1u;
    s->next = (uint8_t)next;
    s->window_end = (uint8_t)(next + n - 1u);
    s->state = TX_SENDING;
    if (tx->cfg.rts_gap_us == 0) {
        while (s->state == TX_SENDING)
            window_step(tx, s, now_us);
    } else {
        window_step(tx, s, now_us); /* the first packet goes out at once, within Tr */
    }
}

int j1939_tp_tx_frame(j1939_tp_tx *tx, const struct can_frame_rec *f, uint64_t now_us)
{
    struct j1939_id id;
    if (!j1939_id_parse(f, &id) || id.pgn != J1939_PGN_TP_CM)
        return 0;
    if (f->len < 8 || id.da >= J1939_ADDR_NULL)
        return 1;
    const uint8_t *d = f->data;
    if (d[0] != J1939_TP_CM_CTS && d[0] != J1939_TP_CM_EOMA && d[0] != J1939_TP_CM_ABORT)
        return 1;
    struct tx_session *s = find(tx, id.da, id.sa);
    uint32_t pgn = tp_cm_pgn(d);
    if (j1939_pgn_is_pdu1(pgn))
        pgn &= 0x3FF00u;
    if (!s || s->bam || s->pgn != pgn) {
        if ((tx->used_sa[id.da >> 3] >> (id.da & 7u)) & 1u)
            tx->st.stray++;
        return 1;
    }
    if (s->state != TX_SENDING && now_us > s->deadline) {
        tx->st.timeouts++;
        abort_session(tx, s, J1939_TP_ABORT_TIMEOUT, now_us);
        return 1;
    }
    switch (d[0]) {
    case J1939_TP_CM_CTS:
        rx_cts(tx, s, d, now_us);
        break;
    case J1939_TP_CM_EOMA:
        finish(tx, s, true, false, 0);
        break;
    default:
        finish(tx, s, false, true, d[1]);
        break;
    }
    return 1;
}

void j1939_tp_tx_tick(j1939_tp_tx *tx, uint64_t now_us)
{
    for (unsigned i = 0; i < tx->cfg.max_sessions; i++) {
        struct tx_session *s = &tx->s[i];
        if (!s->active)
            continue;
        switch (s->state) {
        case TX_BAM:
            if (now_us < s->next_send_us)
                break;
            send_dt(tx, s, s->next, now_us);
            if (s->next == s->packets) {
                finish(tx, s, true, false, 0);
            } else {
                s->next++;
                s->next_send_us = tp_deadline(now_us, tx->cfg.bam_gap_us);
            }
            break;
        case TX_SENDING:
            if (now_us >= s->next_send_us)
                window_step(tx, s, now_us);
            break;
        case TX_WAIT_CTS:
        case TX_HOLD:
            if (now_us > s->deadline) {
                tx->st.timeouts++;
                abort_session(tx, s, J1939_TP_ABORT_TIMEOUT, now_us);
            }
            break;
        }
    }
}

uint64_t j1939_tp_tx_next_deadline(const j1939_tp_tx *tx)
{
    uint64_t next = UINT64_MAX;
    for (unsigned i = 0; i < tx->cfg.max_sessions; i++) {
        const struct tx_session *s = &tx->s[i];
        if (!s->active)
            continue;
        uint64_t t;
        if (s->state == TX_BAM || s->state == TX_SENDING)
            t = s->next_send_us;
        else
            t = s->deadline == UINT64_MAX ? UINT64_MAX : s->deadline + 1;
        if (t < next)
            next = t;
    }
    return next;
}
