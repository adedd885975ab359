/* SPDX-License-Identifier: MIT */
/*
 * J1939-21 transport protocol, receiving side: BAM from any source and RTS/CTS
 * addressed to us, several at once, keyed by (source, destination). Memory is
 * one fixed table; sequence numbers are checked before anything is written.
 */
#include <stdlib.h>
#include <string.h>

#include "j1939.h"
#include "j1939_internal.h"

#define NO_SLOT 0xFFu

struct rx_session {
    bool active;
    bool bam;
    bool hold_requested; /* hold at the next window boundary */
    bool holding;        /* CTS(0) sent, repeating every Th */
    uint8_t sa, da, priority;
    uint8_t packets;    /* total announced */
    uint8_t next;       /* next expected sequence number, 1-based */
    uint8_t window_end; /* last sequence number of the current CTS window */
    uint8_t rts_max;    /* originator's limit per CTS */
    uint16_t size;
    uint32_t pgn;
    uint64_t deadline;     /* timeout when now is past it */
    uint64_t hold_next_us; /* next CTS(0) while holding */
    uint8_t buf[J1939_TP_MAX_SIZE];
};

struct j1939_tp_rx {
    struct j1939_tp_rx_config cfg;
    struct j1939_tp_rx_callbacks cb;
    struct j1939_tp_rx_stats st;
    uint8_t bam_slot[256]; /* by source address: index into s, or NO_SLOT */
    uint8_t rts_slot[256];
    struct rx_session s[J1939_TP_RX_SESSIONS_MAX];
};

void j1939_tp_rx_config_default(struct j1939_tp_rx_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->address = J1939_ADDR_NULL;
    cfg->max_window = 16;
    cfg->priority = 7;
    cfg->max_sessions = J1939_TP_RX_SESSIONS_MAX;
    j1939_tp_timing_default(&cfg->timing);
}

j1939_tp_rx *j1939_tp_rx_new(const struct j1939_tp_rx_config *cfg,
                             const struct j1939_tp_rx_callbacks *cb, char *err, size_t errlen)
{
    if (!cfg || !cb || !cb->send || !cb->message) {
        tp_fail(err, errlen,
                "J1939 TP receiver: configuration, send and message callbacks are required");
        return NULL;
    }
    if (cfg->max_window == 0) {
        tp_fail(err, errlen, "J1939 TP receiver: max_window must be 1..255");
        return NULL;
    }
    if (cfg->max_sessions == 0 || cfg->max_sessions > J1939_TP_RX_SESSIONS_MAX) {
        tp_fail(err, errlen, "J1939 TP receiver: max_sessions %u is outside 1..%u",
                (unsigned)cfg->max_sessions, J1939_TP_RX_SESSIONS_MAX);
        return NULL;
    }
    if (j1939_tp_timing_check(&cfg->timing, err, errlen) != 0)
        return NULL;
    j1939_tp_rx *rx = calloc(1, sizeof *rx);
    if (!rx) {
        tp_fail(err, errlen, "J1939 TP receiver: out of memory");
        return NULL;
    }
    rx->cfg = *cfg;
    rx->cfg.priority &= 7u;
    rx->cb = *cb;
    memset(rx->bam_slot, NO_SLOT, sizeof rx->bam_slot);
    memset(rx->rts_slot, NO_SLOT, sizeof rx->rts_slot);
    return rx;
}

void j1939_tp_rx_free(j1939_tp_rx *rx)
{
    free(rx);
}

void j1939_tp_rx_get_stats(const j1939_tp_rx *rx, struct j1939_tp_rx_stats *st)
{
    *st = rx->st;
}

static void emit(j1939_tp_rx *rx, enum j1939_tp_event_kind kind, uint8_t sa, uint8_t da,
                 uint32_t pgn, unsigned reason)
{
    if (!rx->cb.event)
        return;
    struct j1939_tp_event ev = {.kind = kind, .sa = sa, .da = da, .pgn = pgn, .reason = reason};
    rx->cb.event(rx->cb.user, &ev);
}

static void send_cm(j1939_tp_rx *rx, uint8_t to, uint8_t control, uint8_t b1, uint8_t b2,
                    uint8_t b3, uint8_t b4, uint32_t pgn, uint64_t now_us)
{
    struct can_frame_rec f;
    tp_cm_make(&f, rx->cfg.priority, to, rx->cfg.address, control, b1, b2, b3, b4, pgn, now_us);
    if (rx->cb.send(rx->cb.user, &f) != 0)
        rx->st.tx_errors++;
}

static void send_abort(j1939_tp_rx *rx, uint8_t to, uint32_t pgn, unsigned reason, uint64_t now_us)
{
    send_cm(rx, to, J1939_TP_CM_ABORT, (uint8_t)reason, 0xFF, 0xFF, 0xFF, pgn, now_us);
    rx->st.aborts_sent++;
    emit(rx, J1939_TP_EV_ABORT_SENT, to, rx->cfg.address, pgn, reason);
}

static struct rx_session *find(j1939_tp_rx *rx, bool bam, uint8_t sa)
{
    uint8_t i = bam ? rx->bam_slot[sa] : rx->rts_slot[sa];
    return i == NO_SLOT ? NULL : &rx->s[i];
}

static void end(j1939_tp_rx *rx, struct rx_session *s)
{
    if (s->bam)
        rx->bam_slot[s->sa] = NO_SLOT;
    else
        rx->rts_slot[s->sa] = NO_SLOT;
    s->active = false;
    rx->st.active--;
}

/* A session that cannot go on: a BAM is dropped silently, RTS/CTS aborted. */
static void fail(j1939_tp_rx *rx, struct rx_session *s, unsigned reason, uint64_t now_us)
{
    if (s->bam) {
        rx->st.bam_dropped++;
        emit(rx, J1939_TP_EV_DROPPED, s->sa, s->da, s->pgn, reason);
    } else {
        send_abort(rx, s->sa, s->pgn, reason, now_us);
    }
    end(rx, s);
}

static void timeout(j1939_tp_rx *rx, struct rx_session *s, uint64_t now_us)
{
    rx->st.timeouts++;
    fail(rx, s, J1939_TP_ABORT_TIMEOUT, now_us);
}

/* Lazy expiry: a frame that arrives after the deadline finds the session gone,
 * whether or not tick ran in between. */
static struct rx_session *find_live(j1939_tp_rx *rx, bool bam, uint8_t sa, uint64_t now_us)
{
    struct rx_session *s = find(rx, bam, sa);
    if (s && !s->holding && now_us > s->deadline) {
        timeout(rx, s, now_us);
        return NULL;
    }
    return s;
}

/* Asks for the next window, or holds the connection with CTS(0). */
static void send_cts(j1939_tp_rx *rx, struct rx_session *s, uint64_t now_us)
{
    if (s->hold_requested) {
        s->holding = true;
        s->hold_next_us = tp_deadline(now_us, rx->cfg.timing.th_us);
        s->deadline = UINT64_MAX;
        send_cm(rx, s->sa, J1939_TP_CM_CTS, 0, s->next, 0xFF, 0xFF, s->pgn, now_us);
        return;
    }
    unsigned n = (unsigned)s->packets - s->next + 1u;
    if (n > s->rts_max)
        n = s->rts_max;
    if (n > rx->cfg.max_window)
        n = rx->cfg.max_window;
    s->holding = false;
    s->window_end = (uint8_t)(s->next + n - 1u);
    s->deadline = tp_deadline(now_us, rx->cfg.timing.t2_us);
    send_cm(rx, s->sa, J1939_TP_CM_CTS, (uint8_t)n, s->next, 0xFF, 0xFF, s->pgn, now_us);
}

static struct rx_session *alloc(j1939_tp_rx *rx)
{
    for (unsigned i = 0; i < rx->cfg.max_sessions; i++) {
        if (!rx->s[i].active) {
            rx->st.active++;
            if (rx->st.active > rx->st.peak_active)
                rx->st.peak_active = rx->st.active;
            rx->s[i].active = true;
            return &rx->s[i];
        }
    }
    return NULL;
}

/* BAM or RTS: validate, resolve a session already running, take a slot. */
static void rx_announce(j1939_tp_rx *rx, const struct j1939_id *id, const uint8_t *d,
                        uint64_t now_us)
{
    bool bam = d[0] == J1939_TP_CM_BAM;
    unsigned size = tp_cm_size(d), packets = d[3];
    uint32_t pgn = tp_cm_pgn(d);
    unsigned reason = 0;
    if (size > J1939_TP_MAX_SIZE)
        reason = J1939_TP_ABORT_TOO_LARGE;
    else if (size < J1939_TP_MIN_SIZE || packets != tp_packets(size) || pgn > J1939_PGN_MAX)
        reason = J1939_TP_ABORT_OTHER;
    if (reason) {
        rx->st.refused_invalid++;
        emit(rx, J1939_TP_EV_REFUSED, id->sa, id->da, pgn, reason);
        if (!bam)
            send_abort(rx, id->sa, pgn, reason, now_us);
        return;
    }
    if (j1939_pgn_is_pdu1(pgn))
        pgn &= 0x3FF00u;

    struct rx_session *s = find_live(rx, bam, id->sa, now_us);
    if (s) {
        if (!bam && s->pgn != pgn) {
            /* Two messages at once on one connection: nobody can tell which
             * packets belong to which, so both end (as the Linux stack does). */
            send_abort(rx, s->sa, s->pgn, J1939_TP_ABORT_BUSY, now_us);
            end(rx, s);
            rx->st.refused_invalid++;
            emit(rx, J1939_TP_EV_REFUSED, id->sa, id->da, pgn, J1939_TP_ABORT_BUSY);
            send_abort(rx, id->sa, pgn, J1939_TP_ABORT_BUSY, now_us);
            return;
        }
        /* The same PGN again (RTS), or any new BAM: the old one is abandoned
         * without an Abort and the new one starts (J1939-21). */
        rx->st.replaced++;
        emit(rx, J1939_TP_EV_REPLACED, s->sa, s->da, s->pgn, 0);
    } else {
        s = alloc(rx);
        if (!s) {
            rx->st.refused_full++;
            emit(rx, J1939_TP_EV_REFUSED, id->sa, id->da, pgn, J1939_TP_ABORT_RESOURCES);
            if (!bam)
                send_abort(rx, id->sa, pgn, J1939_TP_ABORT_RESOURCES, now_us);
            return;
        }
        if (bam)
            rx->bam_slot[id->sa] = (uint8_t)(s - rx->s);
        else
            rx->rts_slot[id->sa] = (uint8_t)(s - rx->s);
    }
    s->bam = bam;
    s->hold_requested = false;
    s->holding = false;
    s->sa = id->sa;
    s->da = id->da;
    s->priority = id->priority;
    s->packets = (uint8_t)packets;
    s->next = 1;
    s->size = (uint16_t)size;
    s->pgn = pgn;
    if (bam) {
        rx->st.bam_started++;
        s->window_end = s->packets;
        s->deadline = tp_deadline(now_us, rx->cfg.timing.t1_us);
    } else {
        rx->st.rts_started++;
        /* 0xFF: no limit. 0 is not a valid limit; old ECUs left the byte
         * reserved, so it is read as no limit too. */
        s->rts_max = d[4] ? d[4] : 0xFF;
        send_cts(rx, s, now_us);
    }
}

static void rx_abort(j1939_tp_rx *rx, const struct j1939_id *id, const uint8_t *d)
{
    struct rx_session *s = find(rx, false, id->sa);
    uint32_t pgn = tp_cm_pgn(d);
    if (j1939_pgn_is_pdu1(pgn))
        pgn &= 0x3FF00u;
    if (!s || s->pgn != pgn) {
        rx->st.stray++;
        return;
    }
    rx->st.aborts_received++;
    emit(rx, J1939_TP_EV_ABORT_RECEIVED, s->sa, s->da, s->pgn, d[1]);
    end(rx, s);
}

static bool ours(const j1939_tp_rx *rx, uint8_t da)
{
    return rx->cfg.address < J1939_ADDR_NULL && da == rx->cfg.address;
}

static void rx_cm(j1939_tp_rx *rx, const struct j1939_id *id, const struct can_frame_rec *f,
                  uint64_t now_us)
{
    if (f->len < 8) {
        rx->st.malformed++;
        return;
    }
    const uint8_t *d = f->data;
    switch (d[0]) {
    case J1939_TP_CM_BAM:
        if (id->da != J1939_ADDR_GLOBAL) {
            rx->st.malformed++;
            return;
        }
        rx_announce(rx, id, d, now_us);
        return;
    case J1939_TP_CM_RTS:
        if (id->da == J1939_ADDR_GLOBAL) {
            rx->st.malformed++;
            return;
        }
        if (ours(rx, id->da))
            rx_announce(rx, id, d, now_us);
        return;
    case J1939_TP_CM_ABORT:
        if (ours(rx, id->da))
            rx_abort(rx, id, d);
        return;
    case J1939_TP_CM_CTS:
    case J1939_TP_CM_EOMA:
        return; /* the originator's business (j1939_tp_tx) */
    default:
        rx->st.malformed++;
        return;
    }
}

static void complete(j1939_tp_rx *rx, struct rx_session *s, uint64_t now_us)
{
    if (!s->bam)
        send_cm(rx, s->sa, J1939_TP_CM_EOMA, (uint8_t)s->size, (uint8_t)(s->size >> 8), s->packets,
                0xFF, s->pgn, now_us);
    struct j1939_msg m = {.pgn = s->pgn,
                          .sa = s->sa,
                          .da = s->da,
                          .priority = s->priority,
                          .via_tp = true,
                          .len = s->size,
                          .data = s->buf,
                          .t_us = now_us};
    rx->st.messages++;
    rx->cb.message(rx->cb.user, &m);
    end(rx, s);
}

static void rx_dt(j1939_tp_rx *rx, const struct j1939_id *id, const struct can_frame_rec *f,
                  uint64_t now_us)
{
    bool bam = id->da == J1939_ADDR_GLOBAL;
    if (!bam && !ours(rx, id->da))
        return;
    struct rx_session *s = find_live(rx, bam, id->sa, now_us);
    if (!s) {
        rx->st.stray++;
        return;
    }
    unsigned len = f->len > 8 ? 8 : f->len;
    unsigned seq = len ? f->data[0] : 0;
    if (seq == 0 || seq > s->packets || seq > s->next) {
        fail(rx, s, J1939_TP_ABORT_BAD_SEQUENCE, now_us);
        return;
    }
    if (seq < s->next) {
        rx->st.duplicates++;
        return;
    }
    if (!bam && (s->holding || seq > s->window_end)) {
        fail(rx, s, J1939_TP_ABORT_UNEXPECTED_DT, now_us);
        return;
    }
    unsigned off = (seq - 1u) * 7u;
    unsigned n = s->size - off < 7u ? s->size - off : 7u;
    if (len < 1u + n) {
        fail(rx, s, J1939_TP_ABORT_UNEXPECTED_DT, now_us);
        return;
    }
    memcpy(s->buf + off, f->data + 1, n);
    s->next++;
    if (seq == s->packets)
        complete(rx, s, now_us);
    else if (!bam && seq == s->window_end)
        send_cts(rx, s, now_us);
    else
        s->deadline = tp_deadline(now_us, rx->cfg.timing.t1_us);
}

int j1939_tp_rx_frame(j1939_tp_rx *rx, const struct can_frame_rec *f, uint64_t now_us)
{
    struct j1939_id id;
    if (!j1939_id_parse(f, &id))
        return 0;
    if (id.pgn != J1939_PGN_TP_CM && id.pgn != J1939_PGN_TP_DT)
        return 0;
    if (id.sa >= J1939_ADDR_NULL) {
        rx->st.malformed++;
        return 1;
    }
    if (id.pgn == J1939_PGN_TP_CM)
        rx_cm(rx, &id, f, now_us);
    else
        rx_dt(rx, &id, f, now_us);
    return 1;
}

void j1939_tp_rx_tick(j1939_tp_rx *rx, uint64_t now_us)
{
    for (unsigned i = 0; i < rx->cfg.max_sessions; i++) {
        struct rx_session *s = &rx->s[i];
        if (!s->active)
            continue;
        if (s->holding) {
            if (now_us >= s->hold_next_us) {
                s->hold_next_us = tp_deadline(now_us, rx->cfg.timing.th_us);
                send_cm(rx, s->sa, J1939_TP_CM_CTS, 0, s->next, 0xFF, 0xFF, s->pgn, now_us);
            }
        } else if (now_us > s->deadline) {
            timeout(rx, s, now_us);
        }
    }
}

uint64_t j1939_tp_rx_next_deadline(const j1939_tp_rx *rx)
{
    uint64_t next = UINT64_MAX;
    for (unsigned i = 0; i < rx->cfg.max_sessions; i++) {
        const struct rx_session *s = &rx->s[i];
        if (!s->active)
            continue;
        uint64_t t = s->holding ? s->hold_next_us
                                : (s->deadline == UINT64_MAX ? UINT64_MAX : s->deadline + 1);
        if (t < next)
            next = t;
    }
    return next;
}

int j1939_tp_rx_hold(j1939_tp_rx *rx, uint8_t sa, bool hold, uint64_t now_us)
{
    struct rx_session *s = find(rx, false, sa);
    if (!s)
        return J1939_ENOENT;
    s->hold_requested = hold;
    if (!hold && s->holding)
        send_cts(rx, s, now_us);
    return 0;
}

void j1939_tp_rx_set_address(j1939_tp_rx *rx, uint8_t address)
{
    if (address == rx->cfg.address)
        return;
    for (unsigned i = 0; i < rx->cfg.max_sessions; i++) {
        struct rx_session *s = &rx->s[i];
        if (s->active && !s->bam) {
            emit(rx, J1939_TP_EV_DROPPED, s->sa, s->da, s->pgn, J1939_TP_ABORT_OTHER);
            end(rx, s);
        }
    }
    rx->cfg.address = address;
}
