/* SPDX-License-Identifier: MIT */
/*
 * J1939 transport protocol, receiving side, frame by frame: BAM, RTS/CTS with
 * windows, concurrent sessions, lost/repeated/wrong packets, every receiver
 * timeout just below and just above, aborts, sizes, table exhaustion, holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "j1939_fixture.h"

#define US    1u
#define MS    1000u
#define TOOL  J1939_ADDR_TOOL1
#define T0    1000000000ull /* an arbitrary start: nothing may assume time 0 */
#define PGN_X 0x00FEDAu     /* any PDU2 PGN */

struct ctx {
    struct fx *fx;
    j1939_tp_rx *rx;
};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    c->fx = fx_new();
    c->rx = fx_rx(c->fx, NULL);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    j1939_tp_rx_free(c->rx);
    free(c->fx);
    free(c);
    return 0;
}

static void feed(struct ctx *c, struct can_frame_rec f, uint64_t t)
{
    f.t_us = t;
    assert_int_equal(j1939_tp_rx_frame(c->rx, &f, t), 1);
}

static void assert_msg(const struct fx *fx, size_t i, uint8_t sa, uint8_t da, uint32_t pgn,
                       const uint8_t *data, size_t len)
{
    assert_true(i < fx->n_msg);
    const struct j1939_msg *m = &fx->msg[i].m;
    assert_int_equal(m->sa, sa);
    assert_int_equal(m->da, da);
    assert_int_equal(m->pgn, pgn);
    assert_true(m->via_tp);
    assert_int_equal(m->len, len);
    assert_memory_equal(m->data, data, len);
}

static struct j1939_tp_rx_stats stats(const struct ctx *c)
{
    struct j1939_tp_rx_stats st;
    j1939_tp_rx_get_stats(c->rx, &st);
    return st;
}

/* Sends a whole BAM at 50 ms spacing; returns the time after the last packet. */
static uint64_t send_bam(struct ctx *c, uint8_t sa, const uint8_t *msg, size_t len, uint64_t t)
{
    feed(c, fx_bam(sa, (unsigned)len, PGN_X), t);
    for (unsigned seq = 1; seq <= (len + 6) / 7; seq++)
        feed(c, fx_dt(sa, J1939_ADDR_GLOBAL, seq, msg, len), t += 50 * MS);
    return t;
}

static void test_not_tp_frames(void **state)
{
    struct ctx *c = *state;
    struct can_frame_rec f;
    uint8_t d[8] = {0};
    j1939_frame_make(&f, 3, J1939_PGN_EEC1, J1939_ADDR_GLOBAL, 0x00, d, 8, 0);
    assert_int_equal(j1939_tp_rx_frame(c->rx, &f, T0), 0);
    f = fx_bam(0x00, 20, PGN_X);
    f.id = 0x123; /* 11-bit */
    assert_int_equal(j1939_tp_rx_frame(c->rx, &f, T0), 0);
    assert_int_equal(c->fx->n_sent, 0);
}

static void test_bam_complete(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[20];
    fx_pattern(msg, sizeof msg, 1);
    send_bam(c, 0x00, msg, sizeof msg, T0);
    assert_int_equal(c->fx->n_msg, 1);
    assert_msg(c->fx, 0, 0x00, J1939_ADDR_GLOBAL, PGN_X, msg, sizeof msg);
    assert_int_equal(c->fx->n_sent, 0); /* a BAM is never answered */
    assert_int_equal(stats(c).active, 0);
}

static void test_bam_any_priority(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[9];
    fx_pattern(msg, sizeof msg, 2);
    for (unsigned prio = 0; prio < 8; prio++) {
        struct can_frame_rec f = fx_bam(0x10, sizeof msg, PGN_X);
        f.id = (f.id & ~(7u << 26)) | prio << 26;
        feed(c, f, T0);
        for (unsigned seq = 1; seq <= 2; seq++) {
            f = fx_dt(0x10, J1939_ADDR_GLOBAL, seq, msg, sizeof msg);
            f.id = (f.id & ~(7u << 26)) | (7u - prio) << 26;
            feed(c, f, T0 + seq);
        }
        assert_int_equal(c->fx->n_msg, prio + 1);
        assert_int_equal(c->fx->msg[prio].m.priority, prio);
    }
}

static void test_rts_cts_single_window(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[20];
    fx_pattern(msg, sizeof msg, 3);
    uint64_t t = T0;
    feed(c, fx_rts(0x00, TOOL, 20, 3, 0xFF, 0x00FEEC), t);
    fx_assert_cts(c->fx, -1, TOOL, 0x00, 3, 1, 0x00FEEC);
    for (unsigned seq = 1; seq <= 3; seq++)
        feed(c, fx_dt(0x00, TOOL, seq, msg, sizeof msg), t += 5 * MS);
    fx_assert_eoma(c->fx, -1, TOOL, 0x00, 20, 0x00FEEC);
    assert_int_equal(c->fx->n_sent, 2);
    assert_msg(c->fx, 0, 0x00, TOOL, 0x00FEEC, msg, sizeof msg);
}

/* A window smaller than the message: several CTS rounds, each asking for the
 * next packet, never more than the originator's limit or ours. */
static void cts_rounds(struct ctx *c, unsigned size, unsigned rts_max, unsigned expect_window)
{
    uint8_t msg[J1939_TP_MAX_SIZE];
    fx_pattern(msg, size, 4);
    unsigned packets = (size + 6) / 7;
    uint64_t t = T0;
    size_t first = c->fx->n_sent;
    feed(c, fx_rts(0x17, TOOL, size, packets, rts_max, PGN_X), t);
    unsigned next = 1, rounds = 0;
    while (next <= packets) {
        unsigned n = packets - next + 1 < expect_window ? packets - next + 1 : expect_window;
        fx_assert_cts(c->fx, -1, TOOL, 0x17, n, next, PGN_X);
        rounds++;
        for (unsigned k = 0; k < n; k++)
            feed(c, fx_dt(0x17, TOOL, next + k, msg, size), t += MS);
        next += n;
    }
    fx_assert_eoma(c->fx, -1, TOOL, 0x17, size, PGN_X);
    assert_int_equal(c->fx->n_sent - first, rounds + 1);
    assert_msg(c->fx, c->fx->n_msg - 1, 0x17, TOOL, PGN_X, msg, size);
}

static void test_rts_cts_windows(void **state)
{
    struct ctx *c = *state;
    cts_rounds(c, 100, 4, 4);      /* originator limit 4 < ours 16: 4 rounds of 4 */
    cts_rounds(c, 100, 0xFF, 16);  /* no originator limit: our 16 */
    cts_rounds(c, 1785, 0xFF, 16); /* the largest message, 16 rounds */
    cts_rounds(c, 9, 1, 1);        /* one packet per CTS */
    cts_rounds(c, 30, 0, 16);      /* 0 read as "no limit" */
}

static void test_rts_local_window(void **state)
{
    struct ctx *c = *state;
    struct j1939_tp_rx_config cfg;
    j1939_tp_rx_config_default(&cfg);
    cfg.address = TOOL;
    cfg.max_window = 3;
    j1939_tp_rx_free(c->rx);
    c->rx = fx_rx(c->fx, &cfg);
    cts_rounds(c, 100, 5, 3);
}

static void test_concurrent_bams_interleaved(void **state)
{
    struct ctx *c = *state;
    const uint8_t ecus[3] = {0x00, 0x01, 0x03};
    const size_t sizes[3] = {82, 30, 47};
    uint8_t msg[3][82];
    uint64_t t = T0;
    for (int e = 0; e < 3; e++) {
        fx_pattern(msg[e], sizes[e], (uint8_t)(10 + e));
        feed(c, fx_bam(ecus[e], (unsigned)sizes[e], J1939_PGN_DM1), t += MS);
    }
    /* Round robin, each ECU at its own pace; the short ones finish first. */
    for (unsigned seq = 1; seq <= 12; seq++)
        for (int e = 0; e < 3; e++)
            if (seq <= (sizes[e] + 6) / 7)
                feed(c, fx_dt(ecus[e], J1939_ADDR_GLOBAL, seq, msg[e], sizes[e]), t += 10 * MS);
    assert_int_equal(c->fx->n_msg, 3);
    assert_msg(c->fx, 0, 0x01, J1939_ADDR_GLOBAL, J1939_PGN_DM1, msg[1], sizes[1]);
    assert_msg(c->fx, 1, 0x03, J1939_ADDR_GLOBAL, J1939_PGN_DM1, msg[2], sizes[2]);
    assert_msg(c->fx, 2, 0x00, J1939_ADDR_GLOBAL, J1939_PGN_DM1, msg[0], sizes[0]);
    assert_int_equal(stats(c).peak_active, 3);
}

static void test_concurrent_rts_and_bams(void **state)
{
    struct ctx *c = *state;
    uint8_t vin[18], dm1[42], other[23];
    memcpy(vin, "1M8GDM9AXKP042788*", 18);
    fx_pattern(dm1, sizeof dm1, 20);
    fx_pattern(other, sizeof other, 21);
    uint64_t t = T0;
    /* The engine answers our VI request by RTS/CTS while it also broadcasts
     * DM1, and the transmission broadcasts something else. */
    feed(c, fx_rts(0x00, TOOL, sizeof vin, 3, 0xFF, J1939_PGN_VI), t);
    feed(c, fx_bam(0x00, sizeof dm1, J1939_PGN_DM1), t += MS);
    feed(c, fx_bam(0x03, sizeof other, PGN_X), t += MS);
    for (unsigned seq = 1; seq <= 6; seq++) {
        if (seq <= 3)
            feed(c, fx_dt(0x00, TOOL, seq, vin, sizeof vin), t += MS);
        feed(c, fx_dt(0x00, J1939_ADDR_GLOBAL, seq, dm1, sizeof dm1), t += MS);
        if (seq <= 4)
            feed(c, fx_dt(0x03, J1939_ADDR_GLOBAL, seq, other, sizeof other), t += MS);
    }
    assert_int_equal(c->fx->n_msg, 3);
    assert_msg(c->fx, 0, 0x00, TOOL, J1939_PGN_VI, vin, sizeof vin);
    assert_msg(c->fx, 1, 0x03, J1939_ADDR_GLOBAL, PGN_X, other, sizeof other);
    assert_msg(c->fx, 2, 0x00, J1939_ADDR_GLOBAL, J1939_PGN_DM1, dm1, sizeof dm1);
}

static void test_rts_lost_packet_aborts(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[40];
    fx_pattern(msg, sizeof msg, 5);
    feed(c, fx_rts(0x00, TOOL, 40, 6, 0xFF, PGN_X), T0);
    feed(c, fx_dt(0x00, TOOL, 1, msg, sizeof msg), T0 + MS);
    feed(c, fx_dt(0x00, TOOL, 2, msg, sizeof msg), T0 + 2 * MS);
    feed(c, fx_dt(0x00, TOOL, 4, msg, sizeof msg), T0 + 3 * MS); /* 3 lost */
    fx_assert_abort(c->fx, -1, TOOL, 0x00, J1939_TP_ABORT_BAD_SEQUENCE, PGN_X);
    assert_int_equal(c->fx->n_msg, 0);
    size_t sent = c->fx->n_sent;
    feed(c, fx_dt(0x00, TOOL, 5, msg, sizeof msg), T0 + 4 * MS);
    assert_int_equal(c->fx->n_sent, sent); /* the connection is gone: no second abort */
    assert_int_equal(stats(c).stray, 1);
}

static void test_rts_lost_last_packet_times_out(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[20];
    fx_pattern(msg, sizeof msg, 6);
    feed(c, fx_rts(0x00, TOOL, 20, 3, 0xFF, PGN_X), T0);
    feed(c, fx_dt(0x00, TOOL, 1, msg, sizeof msg), T0 + MS);
    feed(c, fx_dt(0x00, TOOL, 2, msg, sizeof msg), T0 + 2 * MS);
    j1939_tp_rx_tick(c->rx, T0 + 2 * MS + 750 * MS);
    assert_int_equal(c->fx->n_sent, 1); /* T1 exactly: still waiting */
    j1939_tp_rx_tick(c->rx, T0 + 2 * MS + 750 * MS + 1);
    fx_assert_abort(c->fx, -1, TOOL, 0x00, J1939_TP_ABORT_TIMEOUT, PGN_X);
    assert_int_equal(c->fx->n_msg, 0);
    assert_int_equal(stats(c).timeouts, 1);
}

static void test_bam_lost_packet_dropped(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[30];
    fx_pattern(msg, sizeof msg, 7);
    feed(c, fx_bam(0x00, 30, PGN_X), T0);
    feed(c, fx_dt(0x00, J1939_ADDR_GLOBAL, 1, msg, sizeof msg), T0 + 50 * MS);
    feed(c, fx_dt(0x00, J1939_ADDR_GLOBAL, 3, msg, sizeof msg), T0 + 100 * MS);
    assert_int_equal(c->fx->n_msg, 0);
    assert_int_equal(c->fx->n_sent, 0);
    assert_int_equal(stats(c).bam_dropped, 1);
    assert_int_equal(c->fx->ev[c->fx->n_ev - 1].kind, J1939_TP_EV_DROPPED);
    assert_int_equal(c->fx->ev[c->fx->n_ev - 1].reason, J1939_TP_ABORT_BAD_SEQUENCE);
    /* The rest of the broken BAM is stray; the next BAM from the ECU works. */
    feed(c, fx_dt(0x00, J1939_ADDR_GLOBAL, 4, msg, sizeof msg), T0 + 150 * MS);
    assert_int_equal(stats(c).stray, 1);
    send_bam(c, 0x00, msg, sizeof msg, T0 + 200 * MS);
    assert_int_equal(c->fx->n_msg, 1);
}

static void test_repeated_packet_ignored(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[20];
    fx_pattern(msg, sizeof msg, 8);
    uint8_t bad[20];
    memset(bad, 0xEE, sizeof bad);
    /* RTS/CTS: packet 2 twice; the repeat carries different bytes, which must
     * not overwrite the first copy. */
    feed(c, fx_rts(0x00, TOOL, 20, 3, 0xFF, PGN_X), T0);
    feed(c, fx_dt(0x00, TOOL, 1, msg, sizeof msg), T0 + 1);
    feed(c, fx_dt(0x00, TOOL, 2, msg, sizeof msg), T0 + 2);
    feed(c, fx_dt(0x00, TOOL, 2, bad, sizeof bad), T0 + 3);
    feed(c, fx_dt(0x00, TOOL, 1, bad, sizeof bad), T0 + 4);
    feed(c, fx_dt(0x00, TOOL, 3, msg, sizeof msg), T0 + 5);
    assert_msg(c->fx, 0, 0x00, TOOL, PGN_X, msg, sizeof msg);
    /* BAM likewise. */
    feed(c, fx_bam(0x00, 20, PGN_X), T0 + 10);
    feed(c, fx_dt(0x00, J1939_ADDR_GLOBAL, 1, msg, sizeof msg), T0 + 11);
    feed(c, fx_dt(0x00, J1939_ADDR_GLOBAL, 1, bad, sizeof bad), T0 + 12);
    feed(c, fx_dt(0x00, J1939_ADDR_GLOBAL, 2, msg, sizeof msg), T0 + 13);
    feed(c, fx_dt(0x00, J1939_ADDR_GLOBAL, 3, msg, sizeof msg), T0 + 14);
    assert_msg(c->fx, 1, 0x00, J1939_ADDR_GLOBAL, PGN_X, msg, sizeof msg);
    assert_int_equal(stats(c).duplicates, 3);
}

/* Sequence numbers 0 and beyond the announced count never write anything. */
static void test_bad_sequence_numbers(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[20];
    fx_pattern(msg, sizeof msg, 9);
    const unsigned bad[] = {0, 4, 255, 3 /* skips 2 */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t sent = c->fx->n_sent;
        feed(c, fx_rts(0x00, TOOL, 20, 3, 0xFF, PGN_X), T0);
        feed(c, fx_dt(0x00, TOOL, 1, msg, sizeof msg), T0 + 1);
        struct can_frame_rec f = fx_dt(0x00, TOOL, 1, msg, sizeof msg);
        f.data[0] = (uint8_t)bad[i];
        feed(c, f, T0 + 2);
        assert_int_equal(c->fx->n_sent, sent + 2); /* CTS, Abort */
        fx_assert_abort(c->fx, -1, TOOL, 0x00, J1939_TP_ABORT_BAD_SEQUENCE, PGN_X);

        feed(c, fx_bam(0x05, 20, PGN_X), T0 + 3);
        f = fx_dt(0x05, J1939_ADDR_GLOBAL, 1, msg, sizeof msg);
        f.data[0] = (uint8_t)bad[i];
        feed(c, f, T0 + 4);
        assert_int_equal(c->fx->n_sent, sent + 2);
        assert_int_equal(stats(c).bam_dropped, i + 1);
    }
    assert_int_equal(c->fx->n_msg, 0);
    assert_int_equal(stats(c).active, 0);
}

static void test_short_data_packet(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[20];
    fx_pattern(msg, sizeof msg, 10);
    feed(c, fx_rts(0x00, TOOL, 20, 3, 0xFF, PGN_X), T0);
    struct can_frame_rec f = fx_dt(0x00, TOOL, 1, msg, sizeof msg);
    f.len = 5;
    feed(c, f, T0 + 1);
    fx_assert_abort(c->fx, -1, TOOL, 0x00, J1939_TP_ABORT_UNEXPECTED_DT, PGN_X);
    /* The last packet needs only its 6 remaining bytes; a short final frame
     * carrying all of them is accepted. */
    feed(c, fx_rts(0x00, TOOL, 20, 3, 0xFF, PGN_X), T0 + 2);
    feed(c, fx_dt(0x00, TOOL, 1, msg, sizeof msg), T0 + 3);
    feed(c, fx_dt(0x00, TOOL, 2, msg, sizeof msg), T0 + 4);
    f = fx_dt(0x00, TOOL, 3, msg, sizeof msg);
    f.len = 7;
    feed(c, f, T0 + 5);
    assert_msg(c->fx, 0, 0x00, TOOL, PGN_X, msg, sizeof msg);
    /* A short TP.CM is not a command at all. */
    f = fx_rts(0x00, TOOL, 20, 3, 0xFF, PGN_X);
    f.len = 7;
    size_t sent = c->fx->n_sent;
    feed(c, f, T0 + 6);
    assert_int_equal(c->fx->n_sent, sent);
    assert_int_equal(stats(c).malformed, 1);
}

/* T1 between data packets, T2 after our CTS: exactly T is in time, T + 1 us
 * is not, whether the tick or the next frame notices first. */
static void test_receiver_timeouts(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[40];
    fx_pattern(msg, sizeof msg, 11);
    const uint64_t t1 = 750 * MS, t2 = 1250 * MS;

    /* T2: first packet after the CTS. */
    feed(c, fx_rts(0x00, TOOL, 40, 6, 0xFF, PGN_X), T0);
    j1939_tp_rx_tick(c->rx, T0 + t2);
    feed(c, fx_dt(0x00, TOOL, 1, msg, sizeof msg), T0 + t2);
    /* T1: between packets, via tick and via a late frame. */
    j1939_tp_rx_tick(c->rx, T0 + t2 + t1);
    feed(c, fx_dt(0x00, TOOL, 2, msg, sizeof msg), T0 + t2 + t1);
    assert_int_equal(c->fx->n_sent, 1);
    feed(c, fx_dt(0x00, TOOL, 3, msg, sizeof msg), T0 + t2 + 2 * t1 + 1);
    fx_assert_abort(c->fx, -1, TOOL, 0x00, J1939_TP_ABORT_TIMEOUT, PGN_X);
    assert_int_equal(stats(c).stray, 1); /* the late packet itself */

    /* T2 just above, by tick. */
    feed(c, fx_rts(0x00, TOOL, 40, 6, 0xFF, PGN_X), T0);
    size_t sent = c->fx->n_sent;
    assert_int_equal(j1939_tp_rx_next_deadline(c->rx), T0 + t2 + 1);
    j1939_tp_rx_tick(c->rx, T0 + t2 + 1);
    assert_int_equal(c->fx->n_sent, sent + 1);
    fx_assert_abort(c->fx, -1, TOOL, 0x00, J1939_TP_ABORT_TIMEOUT, PGN_X);

    /* T2 after a later window's CTS. */
    struct j1939_tp_rx_config cfg;
    j1939_tp_rx_config_default(&cfg);
    cfg.address = TOOL;
    cfg.max_window = 2;
    j1939_tp_rx_free(c->rx);
    c->rx = fx_rx(c->fx, &cfg);
    feed(c, fx_rts(0x00, TOOL, 40, 6, 0xFF, PGN_X), T0);
    feed(c, fx_dt(0x00, TOOL, 1, msg, sizeof msg), T0 + 1);
    feed(c, fx_dt(0x00, TOOL, 2, msg, sizeof msg), T0 + 2);
    fx_assert_cts(c->fx, -1, TOOL, 0x00, 2, 3, PGN_X);
    j1939_tp_rx_tick(c->rx, T0 + 2 + t2);
    fx_assert_cts(c->fx, -1, TOOL, 0x00, 2, 3, PGN_X);
    j1939_tp_rx_tick(c->rx, T0 + 2 + t2 + 1);
    fx_assert_abort(c->fx, -1, TOOL, 0x00, J1939_TP_ABORT_TIMEOUT, PGN_X);
}

static void test_bam_timeout(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[30];
    fx_pattern(msg, sizeof msg, 12);
    const uint64_t t1 = 750 * MS;
    /* Announcement to first packet, and between packets: T1 exactly is fine. */
    feed(c, fx_bam(0x00, 30, PGN_X), T0);
    uint64_t t = T0;
    for (unsigned seq = 1; seq <= 5; seq++) {
        j1939_tp_rx_tick(c->rx, t + t1);
        feed(c, fx_dt(0x00, J1939_ADDR_GLOBAL, seq, msg, sizeof msg), t += t1);
    }
    assert_int_equal(c->fx->n_msg, 1);
    /* One microsecond more and the BAM is dropped, silently. */
    feed(c, fx_bam(0x00, 30, PGN_X), T0);
    feed(c, fx_dt(0x00, J1939_ADDR_GLOBAL, 1, msg, sizeof msg), T0 + 50 * MS);
    j1939_tp_rx_tick(c->rx, T0 + 50 * MS + t1 + 1);
    assert_int_equal(stats(c).bam_dropped, 1);
    assert_int_equal(c->fx->n_sent, 0);
    feed(c, fx_dt(0x00, J1939_ADDR_GLOBAL, 2, msg, sizeof msg), T0 + 50 * MS + t1 + 2);
    assert_int_equal(c->fx->n_msg, 1);
    assert_int_equal(stats(c).stray, 1);
}

/* Th: while we hold a connection we repeat CTS(0) every Th (below the
 * originator's T4); released, we ask for the next window. */
static void test_hold_repeats_every_th(void **state)
{
    struct ctx *c = *state;
    struct j1939_tp_rx_config cfg;
    j1939_tp_rx_config_default(&cfg);
    cfg.address = TOOL;
    cfg.max_window = 2;
    j1939_tp_rx_free(c->rx);
    c->rx = fx_rx(c->fx, &cfg);
    const uint64_t th = 500 * MS;
    uint8_t msg[30];
    fx_pattern(msg, sizeof msg, 13);
    feed(c, fx_rts(0x00, TOOL, 30, 5, 0xFF, PGN_X), T0);
    assert_int_equal(j1939_tp_rx_hold(c->rx, 0x00, true, T0), 0);
    assert_int_equal(j1939_tp_rx_hold(c->rx, 0x33, true, T0), J1939_ENOENT);
    feed(c, fx_dt(0x00, TOOL, 1, msg, sizeof msg), T0 + 1);
    feed(c, fx_dt(0x00, TOOL, 2, msg, sizeof msg), T0 + 2);
    fx_assert_cts(c->fx, -1, TOOL, 0x00, 0, 3, PGN_X);
    size_t sent = c->fx->n_sent;
    uint64_t t = T0 + 2;
    for (int i = 0; i < 5; i++) { /* held far beyond T1, T2 and T4: no timeout */
        assert_int_equal(j1939_tp_rx_next_deadline(c->rx), t + th);
        j1939_tp_rx_tick(c->rx, t + th - 1);
        assert_int_equal(c->fx->n_sent, sent);
        j1939_tp_rx_tick(c->rx, t += th);
        assert_int_equal(c->fx->n_sent, ++sent);
        fx_assert_cts(c->fx, -1, TOOL, 0x00, 0, 3, PGN_X);
    }
    /* Data while holding is unexpected. */
    assert_int_equal(j1939_tp_rx_hold(c->rx, 0x00, false, t), 0);
    fx_assert_cts(c->fx, -1, TOOL, 0x00, 2, 3, PGN_X);
    for (unsigned seq = 3; seq <= 5; seq++)
        feed(c, fx_dt(0x00, TOOL, seq, msg, sizeof msg), t += MS);
    assert_msg(c->fx, 0, 0x00, TOOL, PGN_X, msg, sizeof msg);

    feed(c, fx_rts(0x00, TOOL, 30, 5, 0xFF, PGN_X), t);
    j1939_tp_rx_hold(c->rx, 0x00, true, t);
    feed(c, fx_dt(0x00, TOOL, 1, msg, sizeof msg), t + 1);
    feed(c, fx_dt(0x00, TOOL, 2, msg, sizeof msg), t + 2);
    feed(c, fx_dt(0x00, TOOL, 3, msg, sizeof msg), t + 3);
    fx_assert_abort(c->fx, -1, TOOL, 0x00, J1939_TP_ABORT_UNEXPECTED_DT, PGN_X);
}

static void test_abort_from_originator(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[30];
    fx_pattern(msg, sizeof msg, 14);
    feed(c, fx_rts(0x00, TOOL, 30, 5, 0xFF, PGN_X), T0);
    feed(c, fx_dt(0x00, TOOL, 1, msg, sizeof msg), T0 + 1);
    /* An abort for some other PGN is not for this session. */
    feed(c, fx_cm(0x00, TOOL, J1939_TP_CM_ABORT, 3, 0xFF, 0xFF, 0xFF, 0x00FEEC), T0 + 2);
    assert_int_equal(stats(c).active, 1);
    feed(c, fx_cm(0x00, TOOL, J1939_TP_CM_ABORT, 2, 0xFF, 0xFF, 0xFF, PGN_X), T0 + 3);
    assert_int_equal(stats(c).active, 0);
    assert_int_equal(stats(c).aborts_received, 1);
    const struct j1939_tp_event *ev = &c->fx->ev[c->fx->n_ev - 1];
    assert_int_equal(ev->kind, J1939_TP_EV_ABORT_RECEIVED);
    assert_int_equal(ev->reason, 2);
    size_t sent = c->fx->n_sent;
    feed(c, fx_dt(0x00, TOOL, 2, msg, sizeof msg), T0 + 4);
    assert_int_equal(c->fx->n_sent, sent); /* nothing to answer */
    assert_int_equal(c->fx->n_msg, 0);
}

static void test_sizes(void **state)
{
    struct ctx *c = *state;
    /* Oversize: Abort 9 for RTS; a BAM is refused without a word. */
    feed(c, fx_rts(0x00, TOOL, 1786, 255, 0xFF, PGN_X), T0);
    fx_assert_abort(c->fx, -1, TOOL, 0x00, J1939_TP_ABORT_TOO_LARGE, PGN_X);
    feed(c, fx_rts(0x00, TOOL, 0xFFFF, 255, 0xFF, PGN_X), T0);
    fx_assert_abort(c->fx, -1, TOOL, 0x00, J1939_TP_ABORT_TOO_LARGE, PGN_X);
    /* Undersize, or a packet count that does not match the size. */
    feed(c, fx_rts(0x00, TOOL, 8, 2, 0xFF, PGN_X), T0);
    fx_assert_abort(c->fx, -1, TOOL, 0x00, J1939_TP_ABORT_OTHER, PGN_X);
    feed(c, fx_rts(0x00, TOOL, 0, 0, 0xFF, PGN_X), T0);
    fx_assert_abort(c->fx, -1, TOOL, 0x00, J1939_TP_ABORT_OTHER, PGN_X);
    feed(c, fx_rts(0x00, TOOL, 20, 4, 0xFF, PGN_X), T0);
    fx_assert_abort(c->fx, -1, TOOL, 0x00, J1939_TP_ABORT_OTHER, PGN_X);
    feed(c, fx_rts(0x00, TOOL, 20, 2, 0xFF, PGN_X), T0);
    fx_assert_abort(c->fx, -1, TOOL, 0x00, J1939_TP_ABORT_OTHER, PGN_X);
    feed(c, fx_rts(0x00, TOOL, 20, 3, 0xFF, 0xFC0000), T0); /* PGN beyond 18 bits */
    fx_assert_abort(c->fx, -1, TOOL, 0x00, J1939_TP_ABORT_OTHER, 0xFC0000);
    size_t sent = c->fx->n_sent;
    feed(c, fx_bam(0x00, 1786, PGN_X), T0);
    feed(c, fx_bam(0x00, 8, PGN_X), T0);
    struct can_frame_rec f = fx_bam(0x00, 20, PGN_X);
    f.data[3] = 200;
    feed(c, f, T0);
    assert_int_equal(c->fx->n_sent, sent);
    assert_int_equal(stats(c).refused_invalid, 10);
    assert_int_equal(stats(c).active, 0);
    /* The limits themselves work: 9 and 1785 bytes. */
    uint8_t msg[J1939_TP_MAX_SIZE];
    fx_pattern(msg, sizeof msg, 15);
    send_bam(c, 0x00, msg, 9, T0);
    send_bam(c, 0x01, msg, J1939_TP_MAX_SIZE, T0);
    assert_msg(c->fx, 0, 0x00, J1939_ADDR_GLOBAL, PGN_X, msg, 9);
    assert_msg(c->fx, 1, 0x01, J1939_ADDR_GLOBAL, PGN_X, msg, J1939_TP_MAX_SIZE);
}

static void test_pdu1_pgn_normalised(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[10];
    fx_pattern(msg, sizeof msg, 16);
    /* A PDU1 PGN carries no destination inside TP: a stray low byte is dropped. */
    feed(c, fx_rts(0x00, TOOL, 10, 2, 0xFF, 0x00EF42), T0);
    feed(c, fx_dt(0x00, TOOL, 1, msg, sizeof msg), T0 + 1);
    feed(c, fx_dt(0x00, TOOL, 2, msg, sizeof msg), T0 + 2);
    assert_msg(c->fx, 0, 0x00, TOOL, 0x00EF00, msg, sizeof msg);
}

/* Connection exhaustion: a full table refuses (RTS gets Abort "resources"),
 * counts, and recovers as sessions end. Memory never grows. */
static void test_table_exhaustion_and_recovery(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[30];
    fx_pattern(msg, sizeof msg, 17);
    for (unsigned sa = 0; sa < J1939_TP_RX_SESSIONS_MAX; sa++)
        feed(c, fx_bam((uint8_t)sa, 30, PGN_X), T0);
    assert_int_equal(stats(c).active, J1939_TP_RX_SESSIONS_MAX);
    feed(c, fx_bam(0x80, 30, PGN_X), T0 + 1);
    feed(c, fx_rts(0x81, TOOL, 30, 5, 0xFF, PGN_X), T0 + 2);
    fx_assert_abort(c->fx, -1, TOOL, 0x81, J1939_TP_ABORT_RESOURCES, PGN_X);
    assert_int_equal(stats(c).refused_full, 2);
    /* A flood of announcements from every address changes nothing. */
    for (unsigned sa = 0x40; sa < 0xFE; sa++) {
        feed(c, fx_bam((uint8_t)sa, 30, PGN_X), T0 + 3);
        feed(c, fx_rts((uint8_t)sa, TOOL, 30, 5, 0xFF, PGN_X), T0 + 3);
    }
    assert_int_equal(stats(c).active, J1939_TP_RX_SESSIONS_MAX);
    assert_int_equal(stats(c).peak_active, J1939_TP_RX_SESSIONS_MAX);
    /* One finishes: one slot for the next ECU. */
    for (unsigned seq = 1; seq <= 5; seq++)
        feed(c, fx_dt(0x07, J1939_ADDR_GLOBAL, seq, msg, sizeof msg), T0 + 10 + seq);
    assert_int_equal(c->fx->n_msg, 1);
    feed(c, fx_rts(0x81, TOOL, 30, 5, 0xFF, PGN_X), T0 + 20);
    fx_assert_cts(c->fx, -1, TOOL, 0x81, 5, 1, PGN_X);
    /* The rest time out (T1) and free their slots. */
    j1939_tp_rx_tick(c->rx, T0 + 751 * MS);
    assert_int_equal(stats(c).active, 1);
    j1939_tp_rx_tick(c->rx, T0 + 20 + 1251 * MS);
    assert_int_equal(stats(c).active, 0);
    send_bam(c, 0x80, msg, sizeof msg, T0 + 2000 * MS);
    assert_int_equal(c->fx->n_msg, 2);
}

/* A second RTS from the same source: the same PGN replaces the first without
 * an Abort (J1939-21); another PGN ends both with Abort 1. A new BAM from a
 * source replaces its unfinished one. */
static void test_new_announcement_from_same_source(void **state)
{
    struct ctx *c = *state;
    uint8_t a[30], b[20];
    fx_pattern(a, sizeof a, 18);
    fx_pattern(b, sizeof b, 19);
    feed(c, fx_rts(0x00, TOOL, 30, 5, 0xFF, PGN_X), T0);
    feed(c, fx_dt(0x00, TOOL, 1, a, sizeof a), T0 + 1);
    feed(c, fx_rts(0x00, TOOL, 20, 3, 0xFF, PGN_X), T0 + 2);
    fx_assert_cts(c->fx, -1, TOOL, 0x00, 3, 1, PGN_X);
    assert_int_equal(stats(c).replaced, 1);
    for (unsigned seq = 1; seq <= 3; seq++)
        feed(c, fx_dt(0x00, TOOL, seq, b, sizeof b), T0 + 2 + seq);
    assert_msg(c->fx, 0, 0x00, TOOL, PGN_X, b, sizeof b);

    feed(c, fx_rts(0x00, TOOL, 30, 5, 0xFF, PGN_X), T0 + 10);
    feed(c, fx_rts(0x00, TOOL, 20, 3, 0xFF, 0x00FEEC), T0 + 11);
    fx_assert_abort(c->fx, -2, TOOL, 0x00, J1939_TP_ABORT_BUSY, PGN_X);
    fx_assert_abort(c->fx, -1, TOOL, 0x00, J1939_TP_ABORT_BUSY, 0x00FEEC);
    assert_int_equal(stats(c).active, 0);

    feed(c, fx_bam(0x00, 30, PGN_X), T0 + 20);
    feed(c, fx_dt(0x00, J1939_ADDR_GLOBAL, 1, a, sizeof a), T0 + 21);
    send_bam(c, 0x00, b, sizeof b, T0 + 22);
    assert_msg(c->fx, 1, 0x00, J1939_ADDR_GLOBAL, PGN_X, b, sizeof b);
    assert_int_equal(stats(c).replaced, 2);
}

static void test_not_addressed_to_us(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[20];
    fx_pattern(msg, sizeof msg, 20);
    /* RTS/CTS between two other nodes, and a misaddressed BAM/RTS. */
    feed(c, fx_rts(0x00, 0x03, 20, 3, 0xFF, PGN_X), T0);
    feed(c, fx_dt(0x00, 0x03, 1, msg, sizeof msg), T0 + 1);
    feed(c, fx_cm(0x00, 0x55, J1939_TP_CM_BAM, 20, 0, 3, 0xFF, PGN_X), T0 + 2);
    feed(c, fx_cm(0x00, J1939_ADDR_GLOBAL, J1939_TP_CM_RTS, 20, 0, 3, 0xFF, PGN_X), T0 + 3);
    feed(c, fx_cm(0x00, TOOL, 0x42, 20, 0, 3, 0xFF, PGN_X), T0 + 4);
    assert_int_equal(c->fx->n_sent, 0);
    assert_int_equal(stats(c).active, 0);
    assert_int_equal(stats(c).malformed, 3);
    /* Without an address we take only BAMs. */
    j1939_tp_rx_set_address(c->rx, J1939_ADDR_NULL);
    feed(c, fx_rts(0x00, J1939_ADDR_NULL, 20, 3, 0xFF, PGN_X), T0 + 5);
    assert_int_equal(c->fx->n_sent, 0);
}

static void test_address_change_drops_connections(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[20];
    fx_pattern(msg, sizeof msg, 21);
    feed(c, fx_rts(0x00, TOOL, 20, 3, 0xFF, PGN_X), T0);
    feed(c, fx_bam(0x01, 20, PGN_X), T0);
    j1939_tp_rx_set_address(c->rx, 0xF7);
    assert_int_equal(stats(c).active, 1); /* the BAM goes on */
    size_t sent = c->fx->n_sent;
    feed(c, fx_dt(0x00, TOOL, 1, msg, sizeof msg), T0 + 1);
    assert_int_equal(c->fx->n_sent, sent);
    feed(c, fx_rts(0x00, 0xF7, 20, 3, 0xFF, PGN_X), T0 + 2);
    fx_assert_cts(c->fx, -1, 0xF7, 0x00, 3, 1, PGN_X);
}

static void test_config_rejected(void **state)
{
    (void)state;
    struct j1939_tp_rx_config cfg;
    struct j1939_tp_rx_callbacks cb = {.send = fx_send, .message = fx_message};
    char err[256];
    j1939_tp_rx_config_default(&cfg);
    cfg.max_sessions = J1939_TP_RX_SESSIONS_MAX + 1;
    assert_null(j1939_tp_rx_new(&cfg, &cb, err, sizeof err));
    assert_non_null(strstr(err, "max_sessions"));
    j1939_tp_rx_config_default(&cfg);
    cfg.max_window = 0;
    assert_null(j1939_tp_rx_new(&cfg, &cb, err, sizeof err));
    j1939_tp_rx_config_default(&cfg);
    cfg.timing.th_us = cfg.timing.t4_us;
    assert_null(j1939_tp_rx_new(&cfg, &cb, err, sizeof err));
    assert_non_null(strstr(err, "Th"));
    j1939_tp_rx_config_default(&cfg);
    cb.message = NULL;
    assert_null(j1939_tp_rx_new(&cfg, &cb, err, sizeof err));
}

static void test_send_failures_counted(void **state)
{
    struct ctx *c = *state;
    c->fx->send_rc = -1;
    feed(c, fx_rts(0x00, TOOL, 20, 3, 0xFF, PGN_X), T0);
    assert_int_equal(stats(c).tx_errors, 1);
    j1939_tp_rx_tick(c->rx, T0 + 2 * 1250 * MS);
    assert_int_equal(stats(c).tx_errors, 2);
    assert_int_equal(stats(c).active, 0);
}

/* Hostile traffic around a legitimate ECU: random identifiers and data, TP.DT
 * that belong to nothing, announcements and RTS that never finish, requests.
 * The engine's DM1 BAM between them must still decode every time, and the
 * session table must stay bounded. */
static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static void hostile_frame(struct ctx *c, uint32_t *seed, uint64_t t)
{
    struct can_frame_rec f;
    uint8_t d[8];
    for (int i = 0; i < 8; i++)
        d[i] = (uint8_t)lcg(seed);
    uint8_t sa = (uint8_t)(1 + lcg(seed) % 0xF7); /* never the engine (0x00) or us */
    if (sa == TOOL)
        sa = 0x42;
    switch (lcg(seed) % 5) {
    case 0: /* any identifier, any data */
        f.id = (lcg(seed) & CAN_EFF_MASK) | CAN_FRAME_EFF;
        f.len = (uint8_t)(lcg(seed) % 9);
        memcpy(f.data, d, 8);
        break;
    case 1: /* a data packet of no session */
        f = fx_dt(sa, J1939_ADDR_GLOBAL, 1 + lcg(seed) % 255, d, 8);
        break;
    case 2: /* a BAM that never finishes */
        f = fx_bam(sa, 9 + lcg(seed) % 1777, PGN_X);
        break;
    case 3: { /* an RTS to us that never continues */
        unsigned size = 9 + lcg(seed) % 100;
        f = fx_rts(sa, TOOL, size, (size + 6) / 7, 255, PGN_X);
        break;
    }
    default: { /* a request flood */
        uint8_t req[3] = {0xCA, 0xFE, 0x00};
        j1939_frame_make(&f, 6, J1939_PGN_REQUEST, TOOL, sa, req, 3, 0);
        break;
    }
    }
    f.t_us = t;
    j1939_tp_rx_frame(c->rx, &f, t); /* accepted or not: it must not hurt */
}

static void test_hostile_traffic_legit_still_decoded(void **state)
{
    struct ctx *c = *state;
    uint32_t seed = 12345;
    uint64_t t = T0;
    uint8_t msg[82]; /* a 20-DTC DM1 */
    for (int round = 0; round < 200; round++) {
        fx_pattern(msg, sizeof msg, (uint8_t)round);
        c->fx->n_msg = 0;
        c->fx->n_sent = 0;
        c->fx->n_ev = 0;
        feed(c, fx_bam(0x00, sizeof msg, PGN_X), t);
        for (unsigned seq = 1; seq <= (sizeof msg + 6) / 7; seq++) {
            for (int k = 0; k < 8; k++) /* eight hostile frames between two packets */
                hostile_frame(c, &seed, t + (uint64_t)(k + 1) * 5 * MS);
            feed(c, fx_dt(0x00, J1939_ADDR_GLOBAL, seq, msg, sizeof msg), t += 50 * MS);
            j1939_tp_rx_tick(c->rx, t);
            c->fx->n_sent = 0; /* our CTS/aborts to the attackers: not checked here */
            c->fx->n_ev = 0;   /* nor the session events they cause */
        }
        bool found = false;
        for (size_t i = 0; i < c->fx->n_msg && !found; i++) {
            const struct j1939_msg *m = &c->fx->msg[i].m;
            found = m->sa == 0x00 && m->pgn == PGN_X && m->len == sizeof msg &&
                    memcmp(m->data, msg, sizeof msg) == 0;
        }
        if (!found)
            fail_msg("round %d: the engine's DM1 was lost in hostile traffic", round);
        assert_true(stats(c).active <= 32);
        t += 100 * MS;
    }
    assert_true(stats(c).peak_active <= 32);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_not_tp_frames),
        T(test_bam_complete),
        T(test_bam_any_priority),
        T(test_rts_cts_single_window),
        T(test_rts_cts_windows),
        T(test_rts_local_window),
        T(test_concurrent_bams_interleaved),
        T(test_concurrent_rts_and_bams),
        T(test_rts_lost_packet_aborts),
        T(test_rts_lost_last_packet_times_out),
        T(test_bam_lost_packet_dropped),
        T(test_repeated_packet_ignored),
        T(test_bad_sequence_numbers),
        T(test_short_data_packet),
        T(test_receiver_timeouts),
        T(test_bam_timeout),
        T(test_hold_repeats_every_th),
        T(test_abort_from_originator),
        T(test_sizes),
        T(test_pdu1_pgn_normalised),
        T(test_table_exhaustion_and_recovery),
        T(test_hostile_traffic_legit_still_decoded),
        T(test_new_announcement_from_same_source),
        T(test_not_addressed_to_us),
        T(test_address_change_drops_connections),
        T(test_config_rejected),
        T(test_send_failures_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
