/* SPDX-License-Identifier: MIT */
/*
 * J1939 transport protocol, sending side (the ECU simulator's): BAM pacing,
 * RTS/CTS windows against our own receiver, holds, retransmit requests, the
 * originator's timeouts (T3, T4) just below and above, aborts both ways, and
 * receivers that misbehave (hold forever, ask for packets that do not exist,
 * answer after EndOfMsgAck).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "j1939_fixture.h"

#define MS    1000u
#define ECU   0x00u
#define TOOL  J1939_ADDR_TOOL1
#define T0    5000000000ull
#define PGN_X 0x00FEDAu

struct ctx {
    struct fx *fx;
    j1939_tp_tx *tx;
};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    c->fx = fx_new();
    c->tx = fx_tx(c->fx, NULL);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    j1939_tp_tx_free(c->tx);
    free(c->fx);
    free(c);
    return 0;
}

static struct j1939_tp_tx_stats stats(const struct ctx *c)
{
    struct j1939_tp_tx_stats st;
    j1939_tp_tx_get_stats(c->tx, &st);
    return st;
}

/* The receiver's answer, as our tool would send it. */
static void answer(struct ctx *c, uint8_t control, unsigned b1, unsigned b2, uint64_t t)
{
    struct can_frame_rec f = fx_cm(TOOL, ECU, control, b1, b2, 0xFF, 0xFF, PGN_X);
    f.t_us = t;
    assert_int_equal(j1939_tp_tx_frame(c->tx, &f, t), 1);
}

static void assert_dt(const struct fx *fx, long i, uint8_t da, unsigned seq, const uint8_t *msg,
                      size_t size)
{
    if (i < 0)
        i += (long)fx->n_sent;
    assert_true(i >= 0 && (size_t)i < fx->n_sent);
    struct can_frame_rec want = fx_dt(ECU, da, seq, msg, size);
    assert_int_equal(fx->sent[i].id, want.id);
    assert_int_equal(fx->sent[i].len, 8);
    assert_memory_equal(fx->sent[i].data, want.data, 8);
}

static void test_start_rejects(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[J1939_TP_MAX_SIZE + 1] = {0};
    assert_int_equal(j1939_tp_tx_start(c->tx, ECU, TOOL, PGN_X, msg, 8, T0), J1939_EINVAL);
    assert_int_equal(j1939_tp_tx_start(c->tx, ECU, TOOL, PGN_X, msg, 1786, T0), J1939_EINVAL);
    assert_int_equal(j1939_tp_tx_start(c->tx, J1939_ADDR_NULL, TOOL, PGN_X, msg, 9, T0),
                     J1939_EINVAL);
    assert_int_equal(j1939_tp_tx_start(c->tx, ECU, ECU, PGN_X, msg, 9, T0), J1939_EINVAL);
    assert_int_equal(j1939_tp_tx_start(c->tx, ECU, TOOL, J1939_PGN_TP_DT, msg, 9, T0),
                     J1939_EINVAL);
    assert_int_equal(j1939_tp_tx_start(c->tx, ECU, TOOL, 0x40000, msg, 9, T0), J1939_EINVAL);
    assert_int_equal(c->fx->n_sent, 0);
    assert_int_equal(j1939_tp_tx_start(c->tx, ECU, TOOL, PGN_X, msg, 9, T0), 0);
    assert_int_equal(j1939_tp_tx_start(c->tx, ECU, TOOL, 0x00FEEC, msg, 9, T0), J1939_EBUSY);
    for (unsigned da = 1; da < J1939_TP_TX_SESSIONS_MAX; da++)
        assert_int_equal(j1939_tp_tx_start(c->tx, ECU, (uint8_t)da, PGN_X, msg, 9, T0), 0);
    assert_int_equal(j1939_tp_tx_start(c->tx, ECU, 0x80, PGN_X, msg, 9, T0), J1939_EFULL);
    assert_int_equal(stats(c).active, J1939_TP_TX_SESSIONS_MAX);
}

static void test_config_rejected(void **state)
{
    (void)state;
    struct j1939_tp_tx_config cfg;
    struct j1939_tp_tx_callbacks cb = {.send = fx_send};
    char err[256];
    j1939_tp_tx_config_default(&cfg);
    cfg.bam_gap_us = 49999;
    assert_null(j1939_tp_tx_new(&cfg, &cb, err, sizeof err));
    assert_non_null(strstr(err, "50-200 ms"));
    cfg.bam_gap_us = 200001;
    assert_null(j1939_tp_tx_new(&cfg, &cb, err, sizeof err));
    j1939_tp_tx_config_default(&cfg);
    cfg.rts_gap_us = cfg.timing.tr_us + 1; /* packets further apart than Tr */
    assert_null(j1939_tp_tx_new(&cfg, &cb, err, sizeof err));
    assert_non_null(strstr(err, "Tr"));
    cfg.rts_gap_us = cfg.timing.tr_us;
    j1939_tp_tx *tx = j1939_tp_tx_new(&cfg, &cb, err, sizeof err);
    assert_non_null(tx);
    j1939_tp_tx_free(tx);
    j1939_tp_tx_config_default(&cfg);
    cfg.max_per_cts = 0;
    assert_null(j1939_tp_tx_new(&cfg, &cb, err, sizeof err));
}

/* BAM: the announcement at once, then one packet per gap (never a burst when
 * the tick comes late), the last padded with 0xFF. */
static void test_bam_pacing(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[20];
    fx_pattern(msg, sizeof msg, 1);
    assert_int_equal(j1939_tp_tx_start(c->tx, ECU, J1939_ADDR_GLOBAL, J1939_PGN_DM1, msg, 20, T0),
                     0);
    const uint8_t *d = fx_sent_cm(c->fx, 0, ECU, J1939_ADDR_GLOBAL);
    const uint8_t bam[8] = {0x20, 20, 0, 3, 0xFF, 0xCA, 0xFE, 0x00};
    assert_memory_equal(d, bam, 8);
    uint64_t t = T0;
    for (unsigned seq = 1; seq <= 3; seq++) {
        assert_int_equal(j1939_tp_tx_next_deadline(c->tx), t + 50 * MS);
        j1939_tp_tx_tick(c->tx, t + 50 * MS - 1);
        assert_int_equal(c->fx->n_sent, seq);
        t += seq == 2 ? 120 * MS : 50 * MS; /* a late tick: one packet, not two */
        j1939_tp_tx_tick(c->tx, t);
        assert_int_equal(c->fx->n_sent, seq + 1);
        assert_dt(c->fx, -1, J1939_ADDR_GLOBAL, seq, msg, sizeof msg);
    }
    assert_int_equal(c->fx->sent[3].data[7], 0xFF);
    assert_int_equal(c->fx->n_res, 1);
    assert_true(c->fx->res[0].ok);
    assert_int_equal(j1939_tp_tx_next_deadline(c->tx), UINT64_MAX);
}

/* Sends every frame one side produced since last time to the other side. */
struct bus {
    struct fx *a, *b;
    size_t a_seen, b_seen;
    j1939_tp_tx *tx;
    j1939_tp_rx *rx;
};

static void bus_pump(struct bus *bus, uint64_t t)
{
    bool moved = true;
    while (moved) {
        moved = false;
        while (bus->a_seen < bus->a->n_sent) {
            j1939_tp_rx_frame(bus->rx, &bus->a->sent[bus->a_seen++], t);
            moved = true;
        }
        while (bus->b_seen < bus->b->n_sent) {
            j1939_tp_tx_frame(bus->tx, &bus->b->sent[bus->b_seen++], t);
            moved = true;
        }
    }
}

/* Our sender against our receiver: small windows, several CTS rounds, with
 * and without packet spacing; the message arrives intact and EoMA ends it. */
static void loop(unsigned size, uint8_t rx_window, uint8_t tx_max, uint32_t gap_us)
{
    struct bus bus = {.a = fx_new(), .b = fx_new()};
    struct j1939_tp_tx_config tc;
    j1939_tp_tx_config_default(&tc);
    tc.max_per_cts = tx_max;
    tc.rts_gap_us = gap_us;
    bus.tx = fx_tx(bus.a, &tc);
    struct j1939_tp_rx_config rc;
    j1939_tp_rx_config_default(&rc);
    rc.address = TOOL;
    rc.max_window = rx_window;
    bus.rx = fx_rx(bus.b, &rc);
    uint8_t msg[J1939_TP_MAX_SIZE];
    fx_pattern(msg, size, (uint8_t)size);
    uint64_t t = T0;
    assert_int_equal(j1939_tp_tx_start(bus.tx, ECU, TOOL, PGN_X, msg, size, t), 0);
    for (int i = 0; i < 100000 && bus.a->n_res == 0; i++) {
        bus_pump(&bus, t);
        t += MS;
        j1939_tp_tx_tick(bus.tx, t);
        j1939_tp_rx_tick(bus.rx, t);
    }
    assert_int_equal(bus.a->n_res, 1);
    assert_true(bus.a->res[0].ok);
    assert_int_equal(bus.b->n_msg, 1);
    assert_int_equal(bus.b->msg[0].m.len, size);
    assert_memory_equal(bus.b->msg[0].data, msg, size);
    unsigned window = rx_window < tx_max ? rx_window : tx_max;
    unsigned packets = (size + 6) / 7;
    unsigned cts = 0;
    for (size_t i = 0; i < bus.b->n_sent; i++)
        cts += bus.b->sent[i].data[0] == J1939_TP_CM_CTS;
    assert_int_equal(cts, (packets + window - 1) / window);
    struct j1939_tp_tx_stats st;
    j1939_tp_tx_get_stats(bus.tx, &st);
    assert_int_equal(st.packets_sent, packets);
    j1939_tp_tx_free(bus.tx);
    j1939_tp_rx_free(bus.rx);
    free(bus.a);
    free(bus.b);
}

static void test_rts_cts_against_receiver(void **state)
{
    (void)state;
    loop(18, 16, 255, 0);
    loop(100, 4, 255, 0);
    loop(100, 16, 3, 0);
    loop(1785, 16, 255, 0);
    loop(1785, 255, 255, 0);
    loop(60, 2, 255, 10 * MS);
}

static void test_rts_windows_by_hand(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[50]; /* 8 packets */
    fx_pattern(msg, sizeof msg, 2);
    assert_int_equal(j1939_tp_tx_start(c->tx, ECU, TOOL, PGN_X, msg, sizeof msg, T0), 0);
    const uint8_t rts[8] = {0x10, 50, 0, 8, 0xFF, 0xDA, 0xFE, 0x00};
    assert_memory_equal(fx_sent_cm(c->fx, 0, ECU, TOOL), rts, 8);
    answer(c, J1939_TP_CM_CTS, 3, 1, T0 + MS);
    assert_int_equal(c->fx->n_sent, 4); /* the window goes out at once (Tr) */
    for (unsigned seq = 1; seq <= 3; seq++)
        assert_dt(c->fx, seq, TOOL, seq, msg, sizeof msg);
    answer(c, J1939_TP_CM_CTS, 5, 4, T0 + 2 * MS);
    assert_int_equal(c->fx->n_sent, 9);
    assert_dt(c->fx, -1, TOOL, 8, msg, sizeof msg);
    answer(c, J1939_TP_CM_EOMA, 50, 0, T0 + 3 * MS);
    assert_int_equal(c->fx->n_res, 1);
    assert_true(c->fx->res[0].ok);
    assert_int_equal(stats(c).active, 0);
}

/* T3: after the RTS and after a window, the CTS or EoMA may come T3 later
 * but not a microsecond more. */
static void test_t3(void **state)
{
    struct ctx *c = *state;
    const uint64_t t3 = 1250 * MS;
    uint8_t msg[30];
    fx_pattern(msg, sizeof msg, 3);
    j1939_tp_tx_start(c->tx, ECU, TOOL, PGN_X, msg, sizeof msg, T0);
    j1939_tp_tx_tick(c->tx, T0 + t3);
    answer(c, J1939_TP_CM_CTS, 2, 1, T0 + t3);
    assert_int_equal(c->fx->n_sent, 3);
    uint64_t t = T0 + t3;
    assert_int_equal(j1939_tp_tx_next_deadline(c->tx), t + t3 + 1);
    j1939_tp_tx_tick(c->tx, t + t3);
    assert_int_equal(c->fx->n_sent, 3);
    j1939_tp_tx_tick(c->tx, t + t3 + 1);
    fx_assert_abort(c->fx, -1, ECU, TOOL, J1939_TP_ABORT_TIMEOUT, PGN_X);
    assert_int_equal(c->fx->n_res, 1);
    assert_false(c->fx->res[0].ok);
    assert_false(c->fx->res[0].by_peer);
    assert_int_equal(c->fx->res[0].reason, J1939_TP_ABORT_TIMEOUT);
    /* No answer to the RTS at all; the late CTS finds the session gone. */
    j1939_tp_tx_start(c->tx, ECU, TOOL, PGN_X, msg, sizeof msg, T0);
    answer(c, J1939_TP_CM_CTS, 2, 1, T0 + t3 + 1);
    fx_assert_abort(c->fx, -1, ECU, TOOL, J1939_TP_ABORT_TIMEOUT, PGN_X);
    assert_int_equal(stats(c).timeouts, 2);
}

/* T4 after CTS(0); each CTS(0) restarts it; a real CTS resumes. */
static void test_hold_and_t4(void **state)
{
    struct ctx *c = *state;
    const uint64_t t4 = 1050 * MS;
    uint8_t msg[30];
    fx_pattern(msg, sizeof msg, 4);
    j1939_tp_tx_start(c->tx, ECU, TOOL, PGN_X, msg, sizeof msg, T0);
    answer(c, J1939_TP_CM_CTS, 0, 1, T0 + MS);
    assert_int_equal(c->fx->n_sent, 1);
    j1939_tp_tx_tick(c->tx, T0 + MS + t4);
    answer(c, J1939_TP_CM_CTS, 0, 1, T0 + MS + t4); /* hold again, at the last moment */
    j1939_tp_tx_tick(c->tx, T0 + MS + 2 * t4);
    assert_int_equal(c->fx->n_sent, 1);
    answer(c, J1939_TP_CM_CTS, 5, 1, T0 + MS + 2 * t4);
    assert_int_equal(c->fx->n_sent, 6);
    answer(c, J1939_TP_CM_EOMA, 30, 0, T0 + 3 * t4);
    assert_true(c->fx->res[0].ok);
    assert_int_equal(stats(c).holds, 2);
    /* A hold that is never renewed ends at T4 + 1 us. */
    j1939_tp_tx_start(c->tx, ECU, TOOL, PGN_X, msg, sizeof msg, T0);
    answer(c, J1939_TP_CM_CTS, 0, 1, T0 + MS);
    j1939_tp_tx_tick(c->tx, T0 + MS + t4 + 1);
    fx_assert_abort(c->fx, -1, ECU, TOOL, J1939_TP_ABORT_TIMEOUT, PGN_X);
}

/* A receiver that holds forever, renewing every Th as it should, does not
 * hold us forever: the total hold is capped (max_hold_us, 10 s). */
static void test_malicious_hold_forever(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[30];
    fx_pattern(msg, sizeof msg, 5);
    j1939_tp_tx_start(c->tx, ECU, TOOL, PGN_X, msg, sizeof msg, T0);
    uint64_t t = T0 + MS;
    uint64_t first = t;
    while (c->fx->n_res == 0) {
        answer(c, J1939_TP_CM_CTS, 0, 1, t);
        t += 500 * MS;
        j1939_tp_tx_tick(c->tx, t);
        assert_true(t - first < 11000 * MS);
    }
    fx_assert_abort(c->fx, -1, ECU, TOOL, J1939_TP_ABORT_TIMEOUT, PGN_X);
    assert_true(t - first > 10000 * MS);
    assert_int_equal(c->fx->n_sent, 2); /* RTS, Abort: never a data packet */
}

static void test_malicious_cts_beyond_message(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[30]; /* 5 packets */
    fx_pattern(msg, sizeof msg, 6);
    j1939_tp_tx_start(c->tx, ECU, TOOL, PGN_X, msg, sizeof msg, T0);
    answer(c, J1939_TP_CM_CTS, 3, 6, T0 + 1);
    fx_assert_abort(c->fx, -1, ECU, TOOL, J1939_TP_ABORT_OTHER, PGN_X);
    j1939_tp_tx_start(c->tx, ECU, TOOL, PGN_X, msg, sizeof msg, T0);
    answer(c, J1939_TP_CM_CTS, 3, 0, T0 + 1);
    fx_assert_abort(c->fx, -1, ECU, TOOL, J1939_TP_ABORT_OTHER, PGN_X);
    /* A window running past the end is cut at the last packet. */
    j1939_tp_tx_start(c->tx, ECU, TOOL, PGN_X, msg, sizeof msg, T0);
    size_t sent = c->fx->n_sent;
    answer(c, J1939_TP_CM_CTS, 255, 5, T0 + 1);
    assert_int_equal(c->fx->n_sent, sent + 1);
    assert_dt(c->fx, -1, TOOL, 5, msg, sizeof msg);
    /* A window larger than we announced is cut to our limit. */
    struct j1939_tp_tx_config cfg;
    j1939_tp_tx_config_default(&cfg);
    cfg.max_per_cts = 2;
    j1939_tp_tx_free(c->tx);
    c->tx = fx_tx(c->fx, &cfg);
    j1939_tp_tx_start(c->tx, ECU, TOOL, PGN_X, msg, sizeof msg, T0);
    assert_int_equal(c->fx->sent[c->fx->n_sent - 1].data[4], 2);
    sent = c->fx->n_sent;
    answer(c, J1939_TP_CM_CTS, 5, 1, T0 + 1);
    assert_int_equal(c->fx->n_sent, sent + 2);
}

static void test_cts_after_eoma_ignored(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[10];
    fx_pattern(msg, sizeof msg, 7);
    j1939_tp_tx_start(c->tx, ECU, TOOL, PGN_X, msg, sizeof msg, T0);
    answer(c, J1939_TP_CM_CTS, 2, 1, T0 + 1);
    answer(c, J1939_TP_CM_EOMA, 10, 0, T0 + 2);
    size_t sent = c->fx->n_sent;
    answer(c, J1939_TP_CM_CTS, 2, 1, T0 + 3);
    answer(c, J1939_TP_CM_EOMA, 10, 0, T0 + 4);
    answer(c, J1939_TP_CM_ABORT, 3, 0xFF, T0 + 5);
    assert_int_equal(c->fx->n_sent, sent);
    assert_int_equal(c->fx->n_res, 1);
    assert_int_equal(stats(c).stray, 3);
}

/* The receiver may ask for packets again (a retransmit request) up to a
 * limit; then the connection is aborted with reason 5. */
static void test_retransmit_requests(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[30];
    fx_pattern(msg, sizeof msg, 8);
    j1939_tp_tx_start(c->tx, ECU, TOOL, PGN_X, msg, sizeof msg, T0);
    answer(c, J1939_TP_CM_CTS, 3, 1, T0 + 1);
    answer(c, J1939_TP_CM_CTS, 2, 2, T0 + 2);
    assert_dt(c->fx, -2, TOOL, 2, msg, sizeof msg);
    assert_dt(c->fx, -1, TOOL, 3, msg, sizeof msg);
    answer(c, J1939_TP_CM_CTS, 1, 1, T0 + 3);
    assert_int_equal(stats(c).retransmit_requests, 2);
    answer(c, J1939_TP_CM_CTS, 1, 1, T0 + 4);
    fx_assert_abort(c->fx, -1, ECU, TOOL, J1939_TP_ABORT_RETRANSMIT_LIMIT, PGN_X);
}

static void test_aborts_both_ways(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[30];
    fx_pattern(msg, sizeof msg, 9);
    /* The receiver aborts. An abort for another PGN is not for us. */
    j1939_tp_tx_start(c->tx, ECU, TOOL, PGN_X, msg, sizeof msg, T0);
    struct can_frame_rec f = fx_cm(TOOL, ECU, J1939_TP_CM_ABORT, 2, 0xFF, 0xFF, 0xFF, 0x00FEEC);
    j1939_tp_tx_frame(c->tx, &f, T0 + 1);
    assert_int_equal(c->fx->n_res, 0);
    answer(c, J1939_TP_CM_ABORT, J1939_TP_ABORT_RESOURCES, 0xFF, T0 + 2);
    assert_int_equal(c->fx->n_res, 1);
    assert_true(c->fx->res[0].by_peer);
    assert_int_equal(c->fx->res[0].reason, J1939_TP_ABORT_RESOURCES);
    assert_int_equal(c->fx->n_sent, 1); /* an abort is never answered */
    /* We abort (the application asks). */
    j1939_tp_tx_start(c->tx, ECU, TOOL, PGN_X, msg, sizeof msg, T0);
    assert_int_equal(j1939_tp_tx_abort(c->tx, ECU, TOOL, J1939_TP_ABORT_RESOURCES, T0 + 3), 0);
    fx_assert_abort(c->fx, -1, ECU, TOOL, J1939_TP_ABORT_RESOURCES, PGN_X);
    assert_int_equal(j1939_tp_tx_abort(c->tx, ECU, TOOL, 2, T0 + 4), J1939_ENOENT);
    /* A BAM has no one to tell. */
    j1939_tp_tx_start(c->tx, ECU, J1939_ADDR_GLOBAL, PGN_X, msg, sizeof msg, T0);
    size_t sent = c->fx->n_sent;
    j1939_tp_tx_abort(c->tx, ECU, J1939_ADDR_GLOBAL, 2, T0 + 5);
    assert_int_equal(c->fx->n_sent, sent);
    assert_int_equal(c->fx->n_res, 3);
}

/* With packet spacing, a CTS while the window is still going out is a
 * protocol error (reason 4). The first packet of a window leaves at once. */
static void test_cts_while_sending(void **state)
{
    struct ctx *c = *state;
    struct j1939_tp_tx_config cfg;
    j1939_tp_tx_config_default(&cfg);
    cfg.rts_gap_us = 20 * MS;
    j1939_tp_tx_free(c->tx);
    c->tx = fx_tx(c->fx, &cfg);
    uint8_t msg[30];
    fx_pattern(msg, sizeof msg, 10);
    j1939_tp_tx_start(c->tx, ECU, TOOL, PGN_X, msg, sizeof msg, T0);
    answer(c, J1939_TP_CM_CTS, 3, 1, T0);
    assert_int_equal(c->fx->n_sent, 2);
    j1939_tp_tx_tick(c->tx, T0 + 20 * MS - 1);
    assert_int_equal(c->fx->n_sent, 2);
    j1939_tp_tx_tick(c->tx, T0 + 20 * MS);
    assert_int_equal(c->fx->n_sent, 3);
    answer(c, J1939_TP_CM_CTS, 3, 3, T0 + 25 * MS);
    fx_assert_abort(c->fx, -1, ECU, TOOL, J1939_TP_ABORT_CTS_WHILE_SENDING, PGN_X);
}

/* Several ECUs broadcasting at once (the simulator's usual case). */
static void test_concurrent_bams(void **state)
{
    struct ctx *c = *state;
    uint8_t msg[40];
    fx_pattern(msg, sizeof msg, 11);
    for (uint8_t sa = 0; sa < 4; sa++)
        assert_int_equal(
            j1939_tp_tx_start(c->tx, sa, J1939_ADDR_GLOBAL, J1939_PGN_DM1, msg, 40, T0 + sa), 0);
    for (uint64_t t = T0; c->fx->n_res < 4; t += 10 * MS)
        j1939_tp_tx_tick(c->tx, t);
    assert_int_equal(stats(c).packets_sent, 4 * 6);
    assert_int_equal(c->fx->n_sent, 4 * 7);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_start_rejects),
        T(test_config_rejected),
        T(test_bam_pacing),
        T(test_rts_cts_against_receiver),
        T(test_rts_windows_by_hand),
        T(test_t3),
        T(test_hold_and_t4),
        T(test_malicious_hold_forever),
        T(test_malicious_cts_beyond_message),
        T(test_cts_after_eoma_ignored),
        T(test_retransmit_requests),
        T(test_aborts_both_ways),
        T(test_cts_while_sending),
        T(test_concurrent_bams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
