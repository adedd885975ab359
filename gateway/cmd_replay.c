/* SPDX-License-Identifier: MIT */
/*
 * rsgw replay FILE [--json]: what a candump log says, through the real stacks.
 * J1939 transport is observed passively: one BAM receiver for every broadcast and
 * one receiver per destination address for RTS/CTS sessions between other nodes
 * (their CTS/EoMA go nowhere; the real ones are in the log). ISO-TP answers on
 * 0x7E8-0x7EF and 0x18DAF1xx are reassembled by isotp_client. Nothing is sent.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canbus.h"
#include "cli.h"
#include "isotp.h"
#include "j1939.h"
#include "obd.h"
#include "replay.h"

static const char replay_usage[] =
    "usage: rsgw replay FILE [--json]\n"
    "Decodes a candump log (-l or the printed formats): VINs (J1939 VI and OBD 09 02),\n"
    "DM1 per source, DM5, live values, J1939 TP sessions and anomalies.\n";

static void anomaly(struct replay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void anomaly(struct replay *r, const char *fmt, ...)
{
    if (r->n_anomalies < REPLAY_MAX_ANOMALIES) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->anomalies[r->n_anomalies].text, REPLAY_ANOMALY_TEXT, fmt, ap);
        va_end(ap);
    }
    r->n_anomalies++;
}

double replay_rel_s(const struct replay *r, uint64_t t)
{
    return t >= r->first_us ? (double)(t - r->first_us) / 1e6 : 0;
}

static void add_vin(struct replay *r, const char *source, const char *text, bool valid)
{
    for (size_t i = 0; i < r->n_vins; i++)
        if (strcmp(r->vins[i].source, source) == 0 && strcmp(r->vins[i].text, text) == 0) {
            r->vins[i].count++;
            return;
        }
    if (r->n_vins == REPLAY_MAX_VINS)
        return;
    struct vin_seen *v = &r->vins[r->n_vins++];
    snprintf(v->source, sizeof v->source, "%s", source);
    snprintf(v->text, sizeof v->text, "%s", text);
    v->valid = valid;
    v->count = 1;
}

static void add_session(struct replay *r, uint8_t sa, uint8_t da, uint32_t pgn, const char *outcome,
                        const char *reason)
{
    if (r->n_sessions == REPLAY_MAX_SESSIONS)
        return;
    struct session_seen *s = &r->sessions[r->n_sessions++];
    *s = (struct session_seen){.sa = sa, .da = da, .pgn = pgn};
    snprintf(s->outcome, sizeof s->outcome, "%s", outcome);
    snprintf(s->reason, sizeof s->reason, "%s", reason ? reason : "");
}

/* ---- J1939 ---------------------------------------------------------------------- */

static void on_j1939(struct replay *r, const struct j1939_msg *m)
{
    if (m->via_tp) {
        r->tp_completed++;
        if (m->da == J1939_ADDR_GLOBAL)
            r->tp_bam++;
        else
            r->tp_rts++;
        size_t k;
        for (k = 0; k < r->n_done; k++)
            if (r->done[k].sa == m->sa && r->done[k].da == m->da && r->done[k].pgn == m->pgn)
                break;
        if (k == r->n_done && k < REPLAY_MAX_TP_DONE)
            r->done[r->n_done++] = (struct tp_done_seen){.sa = m->sa, .da = m->da, .pgn = m->pgn};
        if (k < REPLAY_MAX_TP_DONE)
            r->done[k].count++;
    }
    switch (m->pgn) {
    case J1939_PGN_VI: {
        struct j1939_vin v;
        j1939_vin_decode(m->data, m->len, &v);
        char src[24];
        snprintf(src, sizeof src, "J1939 0x%02X", m->sa);
        add_vin(r, src, v.text, v.validity == J1939_VALID);
        return;
    }
    case J1939_PGN_DM1: {
        if (!r->dm1[m->sa]) {
            r->dm1[m->sa] = calloc(1, sizeof *r->dm1[m->sa]);
            if (!r->dm1[m->sa])
                return;
        }
        struct dm1_seen *d = r->dm1[m->sa];
        if (j1939_dm1_decode(m->data, m->len, &d->dm1) < 0) {
            anomaly(r, "t=%.3f s: DM1 from 0x%02X too short (%u bytes)", replay_rel_s(r, m->t_us),
                    m->sa, m->len);
            return;
        }
        d->present = true;
        d->via_tp = m->via_tp;
        d->count++;
        return;
    }
    case J1939_PGN_DM5:
        j1939_dm5_decode(m->data, m->len, &r->dm5[m->sa]);
        r->dm5_present[m->sa] = true;
        return;
    default:
        break;
    }
    struct j1939_live_value v[16];
    size_t n = j1939_live_decode(NULL, 0, m->pgn, m->data, m->len, v, 16);
    for (size_t i = 0; i < n; i++) {
        size_t k;
        for (k = 0; k < REPLAY_LIVE_MAX_SPN; k++)
            if (!r->live[k].present || r->live[k].v.def->spn == v[i].def->spn)
                break;
        if (k == REPLAY_LIVE_MAX_SPN)
            continue;
        r->live[k] = (struct live_seen){.present = true, .sa = m->sa, .v = v[i]};
    }
}

static void tp_message(void *user, const struct j1939_msg *m)
{
    on_j1939(user, m);
}

static void tp_event(void *user, const struct j1939_tp_event *ev)
{
    struct replay *r = user;
    const char *why = j1939_tp_abort_name(ev->reason);
    switch (ev->kind) {
    case J1939_TP_EV_ABORT_RECEIVED:
        r->tp_aborted++;
        char by[48];
        snprintf(by, sizeof by, "by %s: %s", r->abort_by_receiver ? "receiver" : "originator", why);
        add_session(r, ev->sa, ev->da, ev->pgn, "aborted", by);
        return;
    case J1939_TP_EV_ABORT_SENT:
    case J1939_TP_EV_DROPPED:
        /* Our passive receiver gave up: the log shows a broken session. */
        if (ev->reason == J1939_TP_ABORT_TIMEOUT) {
            r->tp_timed_out++;
            add_session(r, ev->sa, ev->da, ev->pgn, "timed-out", why);
            return;
        }
        r->tp_aborted++;
        add_session(r, ev->sa, ev->da, ev->pgn, "aborted", why);
        if (ev->reason == J1939_TP_ABORT_BAD_SEQUENCE) {
            r->seq_errors++;
            anomaly(r, "t=%.3f s: TP sequence error: 0x%02X->0x%02X PGN %u (%s)",
                    replay_rel_s(r, r->now_us), ev->sa, ev->da, ev->pgn, why);
        }
        return;
    case J1939_TP_EV_REFUSED:
        r->tp_refused++;
        add_session(r, ev->sa, ev->da, ev->pgn, "refused", why);
        if (ev->reason == J1939_TP_ABORT_TOO_LARGE || ev->reason == J1939_TP_ABORT_OTHER) {
            r->oversize++;
            anomaly(r, "t=%.3f s: TP announcement refused: 0x%02X->0x%02X PGN %u (%s)",
                    replay_rel_s(r, r->now_us), ev->sa, ev->da, ev->pgn, why);
        }
        return;
    case J1939_TP_EV_REPLACED:
        r->tp_aborted++;
        add_session(r, ev->sa, ev->da, ev->pgn, "replaced", "superseded by a new announcement");
        return;
    }
}

static int send_nothing(void *user, const struct can_frame_rec *f)
{
    (void)user;
    (void)f;
    return 0; /* passive: we observe, the log already has the real answers */
}

static j1939_tp_rx *new_rx(struct replay *r, uint8_t address, char *err, size_t errlen)
{
    struct j1939_tp_rx_config cfg;
    j1939_tp_rx_config_default(&cfg);
    cfg.address = address;
    cfg.max_window = 255; /* whatever window the real receiver asked for, we take all */
    if (address != J1939_ADDR_NULL)
        cfg.max_sessions = 8;
    struct j1939_tp_rx_callbacks cb = {
        .send = send_nothing, .message = tp_message, .event = tp_event, .user = r};
    return j1939_tp_rx_new(&cfg, &cb, err, errlen);
}

static void tick_rx(j1939_tp_rx *rx, uint64_t t)
{
    if (rx && j1939_tp_rx_next_deadline(rx) <= t)
        j1939_tp_rx_tick(rx, t);
}

static void note_malformed(struct replay *r, const struct j1939_tp_rx_stats *before,
                           const struct j1939_tp_rx_stats *after, const struct j1939_id *id)
{
    if (after->malformed > before->malformed) {
        r->malformed_tp++;
        anomaly(r, "t=%.3f s: malformed TP.%s from 0x%02X to 0x%02X", replay_rel_s(r, r->now_us),
                id->pgn == J1939_PGN_TP_CM ? "CM" : "DT", id->sa, id->da);
    }
}

/* Returns 1 when f was TP. */
static int feed_tp(struct replay *r, const struct can_frame_rec *f, const struct j1939_id *id)
{
    if (id->pgn != J1939_PGN_TP_CM && id->pgn != J1939_PGN_TP_DT)
        return 0;
    uint64_t t = f->t_us;
    struct j1939_tp_rx_stats before, after;
    if (id->da == J1939_ADDR_GLOBAL) {
        j1939_tp_rx_get_stats(r->bam, &before);
        j1939_tp_rx_frame(r->bam, f, t);
        j1939_tp_rx_get_stats(r->bam, &after);
        if (after.stray > before.stray && id->pgn == J1939_PGN_TP_DT) {
            r->orphan_dt++;
            anomaly(r, "t=%.3f s: orphan TP.DT from 0x%02X (no BAM running)", replay_rel_s(r, t),
                    id->sa);
        }
        note_malformed(r, &before, &after, id);
        return 1;
    }
    char err[128];
    if (id->pgn == J1939_PGN_TP_CM && f->len >= 1 &&
        (f->data[0] == J1939_TP_CM_CTS || f->data[0] == J1939_TP_CM_EOMA))
        return 1; /* the receiver's side; our passive receiver plays it */
    if (id->pgn == J1939_PGN_TP_CM && f->len >= 8 && f->data[0] == J1939_TP_CM_ABORT &&
        r->rts[id->sa]) {
        /* An Abort from the receiver (sa) to the originator (da): hand it to the
         * receiver's stack as if the originator had aborted, so the session ends. */
        j1939_tp_rx *rx = r->rts[id->sa];
        struct can_frame_rec g = *f;
        g.id = j1939_id_make(id->priority, J1939_PGN_TP_CM, id->sa, id->da);
        r->abort_by_receiver = true;
        j1939_tp_rx_get_stats(rx, &before);
        j1939_tp_rx_frame(rx, &g, t);
        j1939_tp_rx_get_stats(rx, &after);
        r->abort_by_receiver = false;
        if (after.aborts_received > before.aborts_received)
            return 1;
    }
    if (!r->rts[id->da]) {
        if (!(id->pgn == J1939_PGN_TP_CM && f->len >= 1 && f->data[0] == J1939_TP_CM_RTS)) {
            if (id->pgn == J1939_PGN_TP_DT) {
                r->orphan_dt++;
                anomaly(r, "t=%.3f s: orphan TP.DT 0x%02X->0x%02X (no RTS seen)",
                        replay_rel_s(r, t), id->sa, id->da);
            }
            return 1;
        }
        r->rts[id->da] = new_rx(r, id->da, err, sizeof err);
        if (!r->rts[id->da])
            return 1;
    }
    j1939_tp_rx *rx = r->rts[id->da];
    j1939_tp_rx_get_stats(rx, &before);
    j1939_tp_rx_frame(rx, f, t);
    j1939_tp_rx_get_stats(rx, &after);
    if (after.stray > before.stray && id->pgn == J1939_PGN_TP_DT) {
        r->orphan_dt++;
        anomaly(r, "t=%.3f s: orphan TP.DT 0x%02X->0x%02X (no session)", replay_rel_s(r, t), id->sa,
                id->da);
    }
    note_malformed(r, &before, &after, id);
    return 1;
}

/* ---- OBD (ISO 15765-4) -------------------------------------------------------------- */

static struct obd_ecu_seen *obd_ecu(struct replay *r, uint32_t rx_id)
{
    for (size_t i = 0; i < r->n_obd; i++)
        if (r->obd[i].rx_id == rx_id)
            return &r->obd[i];
    if (r->n_obd == REPLAY_MAX_OBD_ECUS)
        return NULL;
    struct obd_ecu_seen *e = &r->obd[r->n_obd++];
    memset(e, 0, sizeof *e);
    e->rx_id = rx_id;
    return e;
}

void replay_obd_source(uint32_t rx_id, char *buf, size_t len)
{
    snprintf(buf, len, "OBD 0x%0*X", (rx_id & CAN_FRAME_EFF) ? 8 : 3, rx_id & ~CAN_FRAME_EFF);
}

static void on_obd_event(void *ctx, const struct isotp_event *ev)
{
    struct replay *r = ctx;
    char src[24];
    replay_obd_source(ev->rx_id, src, sizeof src);
    if (ev->kind == ISOTP_EV_RX_ERROR) {
        anomaly(r, "%s: ISO-TP reception failed: %s", src, isotp_strerror(ev->rc));
        return;
    }
    if (ev->kind != ISOTP_EV_RX_DONE || ev->len == 0)
        return;
    struct obd_ecu_seen *e = obd_ecu(r, ev->rx_id);
    if (!e)
        return;
    e->answers++;
    const uint8_t *d = ev->data;
    size_t n = ev->len;
    char err[128];
    if (d[0] == OBD_NEGATIVE_RESPONSE) {
        e->negative++;
    } else if (d[0] == 0x49 && n >= 2 && d[1] == 0x02) {
        char vin[18];
        int rc = obd_decode_vin(d, n, vin, err, sizeof err);
        add_vin(r, src, vin, rc == 0);
    } else if (d[0] == 0x43) {
        struct obd_dtc_list *l = malloc(sizeof *l);
        if (l && obd_decode_dtcs(d, n, l, err, sizeof err) >= 0) {
            e->have_dtc = true;
            e->dtc_count = l->count_byte;
            e->n_dtc = l->n < 16 ? l->n : 16;
            for (size_t i = 0; i < e->n_dtc; i++)
                memcpy(e->dtc[i], l->dtc[i].code, 6);
        }
        free(l);
    } else if (d[0] == 0x41 && n >= 6 && d[1] == 0x01) {
        if (obd_decode_monitor_status(d + 2, n - 2, &e->mon) == 0)
            e->have_mon = true;
    }
}

static void feed_obd(struct replay *r, const struct can_frame_rec *f)
{
    uint32_t id = can_frame_ident(f);
    bool ext = can_frame_is_ext(f);
    /* Requests: count them (single frames from the tester). */
    if ((!ext && (id == 0x7DF || (id >= 0x7E0 && id <= 0x7E7))) ||
        (ext && ((id & 0x1FFFFF00u) == 0x18DB3300u || (id & 0x1FFF00FFu) == 0x18DA00F1u))) {
        if (f->len >= 1 && (f->data[0] & 0xF0) == 0x00)
            r->obd_requests++;
        return;
    }
    if (!ext)
        isotp_client_on_frame(r->obd11, f, f->t_us);
    else if ((id & 0x1FFFFF00u) == 0x18DAF100u)
        isotp_client_on_frame(r->obd29, f, f->t_us);
}
/* ---- main --------------------------------------------------------------------------- */

static void replay_free(struct replay *r)
{
    j1939_tp_rx_free(r->bam);
    for (int i = 0; i < REPLAY_RTS_RECEIVERS; i++)
        j1939_tp_rx_free(r->rts[i]);
    for (int i = 0; i < 256; i++)
        free(r->dm1[i]);
    isotp_client_free(r->obd11);
    isotp_client_free(r->obd29);
    free(r);
}

static void tick_all(struct replay *r, uint64_t t)
{
    tick_rx(r->bam, t);
    for (int i = 0; i < REPLAY_RTS_RECEIVERS; i++)
        tick_rx(r->rts[i], t);
    if (isotp_client_next_deadline_us(r->obd11) <= t)
        isotp_client_poll(r->obd11, t);
    if (isotp_client_next_deadline_us(r->obd29) <= t)
        isotp_client_poll(r->obd29, t);
}

static void process(struct replay *r, const struct can_frame_rec *f)
{
    if (r->frames == 0)
        r->first_us = f->t_us;
    r->frames++;
    r->last_us = f->t_us;
    r->now_us = f->t_us;
    if (f->id & CAN_FRAME_ERR) {
        r->error_frames++;
        char what[128];
        if (canbus_error_describe(f, what, sizeof what) < 0)
            snprintf(what, sizeof what, "error frame");
        anomaly(r, "t=%.3f s: error frame: %s", replay_rel_s(r, f->t_us), what);
        return;
    }
    if ((r->frames & 63u) == 0)
        tick_all(r, f->t_us);
    struct j1939_id id;
    if (can_frame_is_ext(f) && (can_frame_ident(f) & 0x1FFF0000u) != 0x18DA0000u &&
        (can_frame_ident(f) & 0x1FFF0000u) != 0x18DB0000u && j1939_id_parse(f, &id)) {
        if (feed_tp(r, f, &id))
            return;
        struct j1939_msg m;
        if (j1939_msg_from_frame(f, &m))
            on_j1939(r, &m);
        return;
    }
    feed_obd(r, f);
}

int cmd_replay(int argc, char **argv)
{
    static const struct option lo[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    bool as_json = false;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
        if (c == 'j') {
            as_json = true;
        } else if (c == 'h') {
            printf("%s", replay_usage);
            return 0;
        } else {
            fprintf(stderr, "%s", replay_usage);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "%s", replay_usage);
        return 2;
    }
    char err[256];
    struct replay *r = calloc(1, sizeof *r);
    if (!r) {
        fprintf(stderr, "rsgw replay: out of memory\n");
        return 1;
    }
    r->path = argv[optind];
    canbus *bus = canbus_open_log(r->path, NULL, err, sizeof err);
    if (!bus) {
        fprintf(stderr, "rsgw replay: %s\n", err);
        free(r);
        return 1;
    }
    r->bam = new_rx(r, J1939_ADDR_NULL, err, sizeof err);
    struct isotp_client_config cc;
    struct isotp_io io = {.send = send_nothing, .on_event = on_obd_event, .ctx = r};
    isotp_client_config_default(&cc, ISOTP_ADDR_11BIT);
    cc.max_responders = ISOTP_CLIENT_MAX_RESPONDERS;
    r->obd11 = isotp_client_new(&cc, &io, err, sizeof err);
    isotp_client_config_default(&cc, ISOTP_ADDR_29BIT);
    cc.max_responders = ISOTP_CLIENT_MAX_RESPONDERS;
    r->obd29 = r->obd11 ? isotp_client_new(&cc, &io, err, sizeof err) : NULL;
    if (!r->bam || !r->obd29) {
        fprintf(stderr, "rsgw replay: %s\n", err);
        canbus_close(bus);
        replay_free(r);
        return 1;
    }
    int rc = 0;
    for (;;) {
        struct can_frame_rec f;
        int k = canbus_recv(bus, &f);
        if (k == CANBUS_OK) {
            process(r, &f);
        } else if (k == CANBUS_EPARSE) {
            r->parse_errors++;
            anomaly(r, "%s", canbus_errmsg(bus));
        } else if (k == CANBUS_EOF) {
            break;
        } else if (k == CANBUS_AGAIN) {
            continue; /* not paced: cannot happen, but never spin on it silently */
        } else {
            fprintf(stderr, "rsgw replay: %s\n", canbus_errmsg(bus));
            rc = 1;
            break;
        }
    }
    /* Sessions still open at the end of the log: let their timers run out. */
    tick_all(r, r->last_us + 10 * 1000000ull);
    struct canbus_stats st;
    canbus_stats(bus, &st);
    r->lines_skipped = st.skipped;
    canbus_close(bus);
    if (rc == 0) {
        if (as_json)
            replay_print_json(r);
        else
            replay_print_human(r);
    }
    replay_free(r);
    return rc;
}
