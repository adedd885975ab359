/* SPDX-License-Identifier: MIT */
/*
 * For the J1939 unit tests: records what the machines send and deliver, and
 * builds frames the way a truck's ECUs would. Include after <cmocka.h>.
 */
#ifndef J1939_FIXTURE_H
#define J1939_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "j1939.h"

#define FX_FRAMES 8192
#define FX_MSGS   64
#define FX_EVENTS 4096

struct fx_msg {
    struct j1939_msg m; /* m.data points into data */
    uint8_t data[J1939_TP_MAX_SIZE];
};

struct fx {
    struct can_frame_rec sent[FX_FRAMES];
    size_t n_sent;
    int send_rc; /* what the send callback returns */
    struct fx_msg msg[FX_MSGS];
    size_t n_msg;
    struct j1939_tp_event ev[FX_EVENTS];
    size_t n_ev;
    struct j1939_tp_tx_result res[FX_MSGS];
    size_t n_res;
};

static inline struct fx *fx_new(void)
{
    struct fx *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    return fx;
}

static inline int fx_send(void *user, const struct can_frame_rec *f)
{
    struct fx *fx = user;
    assert_true(fx->n_sent < FX_FRAMES);
    fx->sent[fx->n_sent++] = *f;
    return fx->send_rc;
}

static inline void fx_message(void *user, const struct j1939_msg *m)
{
    struct fx *fx = user;
    assert_true(fx->n_msg < FX_MSGS);
    struct fx_msg *c = &fx->msg[fx->n_msg++];
    c->m = *m;
    assert_true(m->len <= J1939_TP_MAX_SIZE);
    memcpy(c->data, m->data, m->len);
    c->m.data = c->data;
}

static inline void fx_event(void *user, const struct j1939_tp_event *ev)
{
    struct fx *fx = user;
    assert_true(fx->n_ev < FX_EVENTS);
    fx->ev[fx->n_ev++] = *ev;
}

static inline void fx_done(void *user, const struct j1939_tp_tx_result *r)
{
    struct fx *fx = user;
    assert_true(fx->n_res < FX_MSGS);
    fx->res[fx->n_res++] = *r;
}

static inline j1939_tp_rx *fx_rx(struct fx *fx, const struct j1939_tp_rx_config *cfg)
{
    struct j1939_tp_rx_config def;
    if (!cfg) {
        j1939_tp_rx_config_default(&def);
        def.address = J1939_ADDR_TOOL1;
        cfg = &def;
    }
    struct j1939_tp_rx_callbacks cb = {
        .send = fx_send, .message = fx_message, .event = fx_event, .user = fx};
    char err[256];
    j1939_tp_rx *rx = j1939_tp_rx_new(cfg, &cb, err, sizeof err);
    if (!rx)
        fail_msg("%s", err);
    return rx;
}

static inline j1939_tp_tx *fx_tx(struct fx *fx, const struct j1939_tp_tx_config *cfg)
{
    struct j1939_tp_tx_config def;
    if (!cfg) {
        j1939_tp_tx_config_default(&def);
        cfg = &def;
    }
    struct j1939_tp_tx_callbacks cb = {.send = fx_send, .done = fx_done, .user = fx};
    char err[256];
    j1939_tp_tx *tx = j1939_tp_tx_new(cfg, &cb, err, sizeof err);
    if (!tx)
        fail_msg("%s", err);
    return tx;
}

/* A test payload whose bytes tell where they came from. */
static inline void fx_pattern(uint8_t *buf, size_t len, uint8_t salt)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 7u + salt + (i >> 8));
}

static inline struct can_frame_rec fx_cm(uint8_t sa, uint8_t da, uint8_t control, unsigned b1,
                                         unsigned b2, unsigned b3, unsigned b4, uint32_t pgn)
{
    struct can_frame_rec f;
    uint8_t d[8] = {control,     (uint8_t)b1,  (uint8_t)b2,         (uint8_t)b3,
                    (uint8_t)b4, (uint8_t)pgn, (uint8_t)(pgn >> 8), (uint8_t)(pgn >> 16)};
    j1939_frame_make(&f, 7, J1939_PGN_TP_CM, da, sa, d, 8, 0);
    return f;
}

static inline struct can_frame_rec fx_rts(uint8_t sa, uint8_t da, unsigned size, unsigned packets,
                                          unsigned max, uint32_t pgn)
{
    return fx_cm(sa, da, J1939_TP_CM_RTS, size & 0xFF, size >> 8, packets, max, pgn);
}

static inline struct can_frame_rec fx_bam(uint8_t sa, unsigned size, uint32_t pgn)
{
    return fx_cm(sa, J1939_ADDR_GLOBAL, J1939_TP_CM_BAM, size & 0xFF, size >> 8, (size + 6) / 7,
                 0xFF, pgn);
}

/* Data packet seq of msg (size bytes), padded with 0xFF like a real ECU. */
static inline struct can_frame_rec fx_dt(uint8_t sa, uint8_t da, unsigned seq, const uint8_t *msg,
                                         size_t size)
{
    uint8_t d[8];
    memset(d, 0xFF, sizeof d);
    d[0] = (uint8_t)seq;
    size_t off = seq ? (seq - 1u) * 7u : 0;
    for (size_t i = 0; i < 7 && off + i < size; i++)
        d[1 + i] = msg[off + i];
    struct can_frame_rec f;
    j1939_frame_make(&f, 7, J1939_PGN_TP_DT, da, sa, d, 8, 0);
    return f;
}

/* The n-th sent frame (negative: from the end) as a TP.CM; checks its addresses. */
static inline const uint8_t *fx_sent_cm(const struct fx *fx, long i, uint8_t sa, uint8_t da)
{
    if (i < 0)
        i += (long)fx->n_sent;
    assert_true(i >= 0 && (size_t)i < fx->n_sent);
    struct j1939_id id;
    assert_true(j1939_id_parse(&fx->sent[i], &id));
    assert_int_equal(id.pgn, J1939_PGN_TP_CM);
    assert_int_equal(id.sa, sa);
    assert_int_equal(id.da, da);
    assert_int_equal(fx->sent[i].len, 8);
    return fx->sent[i].data;
}

static inline void fx_assert_cts(const struct fx *fx, long i, uint8_t sa, uint8_t da, unsigned n,
                                 unsigned next, uint32_t pgn)
{
    const uint8_t *d = fx_sent_cm(fx, i, sa, da);
    assert_int_equal(d[0], J1939_TP_CM_CTS);
    assert_int_equal(d[1], n);
    assert_int_equal(d[2], next);
    assert_int_equal(d[3], 0xFF);
    assert_int_equal(d[4], 0xFF);
    assert_int_equal(d[5] | d[6] << 8 | d[7] << 16, pgn);
}

static inline void fx_assert_abort(const struct fx *fx, long i, uint8_t sa, uint8_t da,
                                   unsigned reason, uint32_t pgn)
{
    const uint8_t *d = fx_sent_cm(fx, i, sa, da);
    assert_int_equal(d[0], J1939_TP_CM_ABORT);
    assert_int_equal(d[1], reason);
    assert_int_equal(d[5] | d[6] << 8 | d[7] << 16, pgn);
}

static inline void fx_assert_eoma(const struct fx *fx, long i, uint8_t sa, uint8_t da,
                                  unsigned size, uint32_t pgn)
{
    const uint8_t *d = fx_sent_cm(fx, i, sa, da);
    assert_int_equal(d[0], J1939_TP_CM_EOMA);
    assert_int_equal(d[1] | d[2] << 8, size);
    assert_int_equal(d[3], (size + 6) / 7);
    assert_int_equal(d[5] | d[6] << 8 | d[7] << 16, pgn);
}

#endif
