/* SPDX-License-Identifier: MIT */
/* The bus interface apart from logs: the virtual bus (3 endpoints, overflow, filters,
 * threads), error frames and bus state, frame checks, the send queue's schedule, and
 * socketcan's messages on a kernel without CAN (tests/vm/ covers a real bus). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "canbus.h"
#include "canbus_priv.h"

#ifndef AF_CAN
#define AF_CAN 29
#endif

static canbus *endpoint(canbus_virtual *vb, const char *name)
{
    char err[128];
    canbus *bus = canbus_virtual_endpoint(vb, name, err, sizeof err);
    if (!bus)
        fail_msg("%s", err);
    return bus;
}

static bool readable(canbus *bus)
{
    struct pollfd p = {.fd = canbus_fd(bus), .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

static struct can_frame_rec frame(uint32_t id, uint8_t b0)
{
    struct can_frame_rec f = {.id = id, .len = 2, .data = {b0, 0xEE}};
    return f;
}

static void test_virtual_three_endpoints(void **state)
{
    (void)state;
    char err[128];
    canbus_virtual *vb = canbus_virtual_new(0, err, sizeof err);
    assert_non_null(vb);
    canbus *a = endpoint(vb, "ecu"), *b = endpoint(vb, "gateway"), *c = endpoint(vb, "tester");
    assert_string_equal(canbus_name(b), "gateway");
    assert_false(readable(a) || readable(b) || readable(c));

    struct can_frame_rec f = frame(0x7DF, 1), got;
    assert_int_equal(canbus_send(a, &f), CANBUS_OK);
    f = frame(0x18DAF110 | CAN_FRAME_EFF, 2);
    assert_int_equal(canbus_send(b, &f), CANBUS_OK);

    /* a sees b's frame only; b sees a's; c sees both, in order. */
    assert_true(readable(a) && readable(b) && readable(c));
    assert_int_equal(canbus_recv(a, &got), CANBUS_OK);
    assert_int_equal(got.id, 0x18DAF110 | CAN_FRAME_EFF);
    assert_int_equal(got.data[0], 2);
    assert_true(got.t_us > 0);
    assert_int_equal(canbus_recv(a, &got), CANBUS_AGAIN);
    assert_false(readable(a));
    assert_int_equal(canbus_recv(b, &got), CANBUS_OK);
    assert_int_equal(got.id, 0x7DF);
    assert_int_equal(canbus_recv(b, &got), CANBUS_AGAIN);
    assert_int_equal(canbus_recv(c, &got), CANBUS_OK);
    assert_int_equal(got.data[0], 1);
    assert_true(readable(c));
    assert_int_equal(canbus_recv(c, &got), CANBUS_OK);
    assert_int_equal(got.data[0], 2);
    assert_false(readable(c));
    assert_int_equal(canbus_recv(c, &got), CANBUS_AGAIN);

    struct canbus_stats st;
    canbus_stats(c, &st);
    assert_int_equal(st.rx, 2);
    assert_int_equal(st.tx, 0);
    canbus_stats(a, &st);
    assert_int_equal(st.tx, 1);
    assert_int_equal(st.rx, 1);

    /* Endpoints outlive the creator's reference; a closed one no longer receives. */
    canbus_virtual_free(vb);
    canbus_close(c);
    f = frame(0x100, 3);
    assert_int_equal(canbus_send(a, &f), CANBUS_OK);
    assert_int_equal(canbus_recv(b, &got), CANBUS_OK);
    assert_int_equal(got.id, 0x100);
    canbus_close(a);
    canbus_close(b);
}

static void test_virtual_overflow(void **state)
{
    (void)state;
    char err[128];
    canbus_virtual *vb = canbus_virtual_new(4, err, sizeof err);
    canbus *tx = endpoint(vb, "tx"), *slow = endpoint(vb, "slow"), *fast = endpoint(vb, "fast");
    struct can_frame_rec f, got;
    for (int i = 0; i < 10; i++) {
        f = frame(0x200, (uint8_t)i);
        assert_int_equal(canbus_send(tx, &f), CANBUS_OK);
        if (i < 8)
            while (canbus_recv(fast, &got) == CANBUS_OK)
                ;
    }
    /* slow kept the first four and dropped six; fast, reading along, dropped none of the
     * first eight and kept the last two. */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(canbus_recv(slow, &got), CANBUS_OK);
        assert_int_equal(got.data[0], i);
    }
    assert_int_equal(canbus_recv(slow, &got), CANBUS_AGAIN);
    struct canbus_stats st;
    canbus_stats(slow, &st);
    assert_int_equal(st.dropped, 6);
    assert_int_equal(st.rx, 4);
    canbus_stats(fast, &st);
    assert_int_equal(st.dropped, 0);
    /* After draining, the queue takes frames again. */
    f = frame(0x200, 42);
    assert_int_equal(canbus_send(tx, &f), CANBUS_OK);
    assert_int_equal(canbus_recv(slow, &got), CANBUS_OK);
    assert_int_equal(got.data[0], 42);
    canbus_close(tx);
    canbus_close(slow);
    canbus_close(fast);
    canbus_virtual_free(vb);
    assert_null(canbus_virtual_new(1u << 21, err, sizeof err));
    assert_non_null(strstr(err, "too long"));
}

static void test_virtual_filters(void **state)
{
    (void)state;
    char err[128];
    canbus_virtual *vb = canbus_virtual_new(16, err, sizeof err);
    canbus *tx = endpoint(vb, "tx"), *rx = endpoint(vb, "rx");
    /* J1939 PGN 0xFECA (DM1) from any source: extended frames only. */
    struct canbus_filter dm1 = {.id = 0x00FECA00 | CAN_FRAME_EFF,
                                .mask = 0x00FFFF00 | CAN_FRAME_EFF | CAN_FRAME_RTR};
    assert_int_equal(canbus_set_filters(rx, &dm1, 1), CANBUS_OK);
    uint32_t ids[] = {0x18FECA00 | CAN_FRAME_EFF, 0x18FECA3D | CAN_FRAME_EFF,
                      0x18FEF100 | CAN_FRAME_EFF, 0x0CA,
                      0x18FECA00 | CAN_FRAME_EFF | CAN_FRAME_RTR};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        struct can_frame_rec f = frame(ids[i], (uint8_t)i);
        assert_int_equal(canbus_send(tx, &f), CANBUS_OK);
    }
    struct can_frame_rec got;
    assert_int_equal(canbus_recv(rx, &got), CANBUS_OK);
    assert_int_equal(got.data[0], 0);
    assert_int_equal(canbus_recv(rx, &got), CANBUS_OK);
    assert_int_equal(got.data[0], 1);
    assert_int_equal(canbus_recv(rx, &got), CANBUS_AGAIN);
    struct canbus_stats st;
    canbus_stats(rx, &st);
    assert_int_equal(st.filtered, 3);
    assert_int_equal(canbus_set_filters(rx, NULL, 0), CANBUS_OK);
    assert_int_equal(canbus_set_filters(rx, &dm1, CANBUS_FILTERS_MAX + 1), CANBUS_ERR);
    assert_non_null(strstr(canbus_errmsg(rx), "rx: 65 receive filters"));
    canbus_close(tx);
    canbus_close(rx);
    canbus_virtual_free(vb);
}

#define THREADS    3
#define PER_THREAD 2000

struct worker {
    canbus *bus;
    int index;
    int received[THREADS];
    int sent;
};

/* Each worker sends its frames and reads everyone else's, through poll on its eventfd. */
static void *work(void *arg)
{
    struct worker *w = arg;
    int expected = (THREADS - 1) * PER_THREAD, got = 0;
    while (w->sent < PER_THREAD || got < expected) {
        if (w->sent < PER_THREAD) {
            struct can_frame_rec f = {.id = 0x300u + (unsigned)w->index, .len = 4};
            memcpy(f.data, &w->sent, 4);
            if (canbus_send(w->bus, &f) == CANBUS_OK)
                w->sent++;
        }
        struct can_frame_rec f;
        while (canbus_recv(w->bus, &f) == CANBUS_OK) {
            int from = (int)(f.id - 0x300), seq;
            memcpy(&seq, f.data, 4);
            if (from < 0 || from >= THREADS || from == w->index || seq != w->received[from])
                return "out of order";
            w->received[from]++;
            got++;
        }
        if (w->sent == PER_THREAD && got < expected) {
            struct pollfd p = {.fd = canbus_fd(w->bus), .events = POLLIN};
            if (poll(&p, 1, 5000) != 1)
                return "stalled";
        }
    }
    return NULL;
}

static void test_virtual_threads(void **state)
{
    (void)state;
    char err[128];
    canbus_virtual *vb = canbus_virtual_new(THREADS * PER_THREAD, err, sizeof err);
    struct worker w[THREADS];
    pthread_t t[THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < THREADS; i++) {
        char name[16];
        snprintf(name, sizeof name, "node%d", i);
        w[i].bus = endpoint(vb, name);
        w[i].index = i;
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    for (int i = 0; i < THREADS; i++) {
        void *res;
        assert_int_equal(pthread_join(t[i], &res), 0);
        if (res)
            fail_msg("worker %d: %s", i, (const char *)res);
        struct canbus_stats st;
        canbus_stats(w[i].bus, &st);
        assert_int_equal(st.rx, (THREADS - 1) * PER_THREAD);
        assert_int_equal(st.dropped, 0);
        canbus_close(w[i].bus);
    }
    canbus_virtual_free(vb);
}

static struct can_frame_rec error_frame(uint32_t classes, uint8_t ctrl, uint8_t tx, uint8_t rx)
{
    struct can_frame_rec f = {.id = CAN_FRAME_ERR | classes, .len = 8};
    f.data[1] = ctrl;
    f.data[6] = tx;
    f.data[7] = rx;
    return f;
}

/* Error frames from the bus: counted, state moved, bus-off refuses sending until the
 * controller restarts. */
static void test_error_frames_and_state(void **state)
{
    (void)state;
    char err[128];
    canbus_virtual *vb = canbus_virtual_new(16, err, sizeof err);
    canbus *node = endpoint(vb, "can0");
    struct can_frame_rec f, got;

    f = error_frame(CANBUS_ERRC_CRTL | CANBUS_ERRC_CNT, CANBUS_CTRL_TX_WARNING, 96, 0);
    canbus_virtual_inject(vb, &f);
    assert_int_equal(canbus_recv(node, &got), CANBUS_OK);
    assert_true(got.id & CAN_FRAME_ERR);
    assert_int_equal(canbus_state(node), CANBUS_STATE_WARNING);

    f = error_frame(CANBUS_ERRC_CRTL, CANBUS_CTRL_TX_PASSIVE, 128, 0);
    canbus_virtual_inject(vb, &f);
    f = error_frame(CANBUS_ERRC_ACK | CANBUS_ERRC_PROT, 0, 136, 0);
    canbus_virtual_inject(vb, &f);
    f = error_frame(CANBUS_ERRC_BUSOFF, 0, 0, 0);
    canbus_virtual_inject(vb, &f);
    for (int i = 0; i < 3; i++)
        assert_int_equal(canbus_recv(node, &got), CANBUS_OK);
    assert_int_equal(canbus_state(node), CANBUS_STATE_BUS_OFF);
    assert_string_equal(canbus_state_name(canbus_state(node)), "bus-off");

    struct can_frame_rec out = frame(0x123, 1);
    assert_int_equal(canbus_send(node, &out), CANBUS_EBUSOFF);
    assert_string_equal(canbus_errmsg(node),
                        "can0: controller is bus-off; sending waits until it restarts");
    /* Passive reports while bus-off do not lift it. */
    f = error_frame(CANBUS_ERRC_CRTL, CANBUS_CTRL_RX_PASSIVE, 0, 128);
    canbus_virtual_inject(vb, &f);
    assert_int_equal(canbus_recv(node, &got), CANBUS_OK);
    assert_int_equal(canbus_state(node), CANBUS_STATE_BUS_OFF);

    f = error_frame(CANBUS_ERRC_RESTARTED, 0, 0, 0);
    canbus_virtual_inject(vb, &f);
    assert_int_equal(canbus_recv(node, &got), CANBUS_OK);
    assert_int_equal(canbus_state(node), CANBUS_STATE_ACTIVE);
    assert_int_equal(canbus_send(node, &out), CANBUS_OK);

    f = error_frame(CANBUS_ERRC_CRTL, CANBUS_CTRL_TX_PASSIVE, 130, 0);
    canbus_virtual_inject(vb, &f);
    f = error_frame(CANBUS_ERRC_CRTL, CANBUS_CTRL_ACTIVE, 20, 0);
    canbus_virtual_inject(vb, &f);
    assert_int_equal(canbus_recv(node, &got), CANBUS_OK);
    assert_int_equal(canbus_state(node), CANBUS_STATE_PASSIVE);
    assert_int_equal(canbus_recv(node, &got), CANBUS_OK);
    assert_int_equal(canbus_state(node), CANBUS_STATE_ACTIVE);

    struct canbus_stats st;
    canbus_stats(node, &st);
    assert_int_equal(st.error_frames, 8);
    assert_int_equal(st.bus_off, 1);
    assert_int_equal(st.restarts, 1);
    assert_int_equal(st.error_passive, 3);
    assert_int_equal(st.error_warning, 1);
    assert_int_equal(st.controller_problems, 5);
    assert_int_equal(st.no_ack, 1);
    assert_int_equal(st.bus_errors, 1);
    assert_int_equal(st.rx, 0);
    canbus_close(node);
    canbus_virtual_free(vb);
}

static void test_error_decode_describe(void **state)
{
    (void)state;
    struct can_frame_rec f = error_frame(CANBUS_ERRC_CRTL | CANBUS_ERRC_CNT,
                                         CANBUS_CTRL_RX_PASSIVE | CANBUS_CTRL_TX_WARNING, 97, 130);
    struct canbus_error e;
    assert_int_equal(canbus_error_decode(&f, &e), 0);
    assert_true(e.controller && e.error_passive && e.error_warning && e.counters);
    assert_false(e.bus_off || e.no_ack || e.back_to_active);
    assert_int_equal(e.tx_errors, 97);
    assert_int_equal(e.rx_errors, 130);
    char buf[160];
    assert_true(canbus_error_describe(&f, buf, sizeof buf) > 0);
    assert_string_equal(buf, "controller-problem{tx-error-warning,rx-error-passive},"
                             "error-counter-tx-rx{{97}{130}}");

    f = error_frame(CANBUS_ERRC_BUSOFF | CANBUS_ERRC_ACK, 0, 0, 0);
    canbus_error_describe(&f, buf, sizeof buf);
    assert_string_equal(buf, "no-acknowledgement-on-tx,bus-off");
    f = error_frame(CANBUS_ERRC_LOSTARB, 0, 0, 0);
    f.data[0] = 11;
    canbus_error_describe(&f, buf, sizeof buf);
    assert_string_equal(buf, "lost-arbitration{at bit 11}");
    f = error_frame(CANBUS_ERRC_PROT, 0, 0, 0);
    f.data[2] = 0x04;
    f.data[3] = 0x08;
    canbus_error_describe(&f, buf, sizeof buf);
    assert_string_equal(buf, "protocol-violation{bit-stuffing-error}{location 8}");
    f = error_frame(0, 0, 0, 0);
    canbus_error_describe(&f, buf, sizeof buf);
    assert_string_equal(buf, "unspecified");

    /* Truncation keeps a terminated prefix. */
    char small[8];
    f = error_frame(CANBUS_ERRC_BUSOFF, 0, 0, 0);
    assert_int_equal(canbus_error_describe(&f, small, sizeof small), 7);
    assert_string_equal(small, "bus-off");
    f = error_frame(CANBUS_ERRC_RESTARTED, 0, 0, 0);
    canbus_error_describe(&f, small, sizeof small);
    assert_string_equal(small, "restart");

    struct can_frame_rec data = frame(0x123, 0);
    assert_int_equal(canbus_error_decode(&data, &e), -1);
    assert_int_equal(canbus_error_describe(&data, buf, sizeof buf), -1);
}

static void test_send_checks(void **state)
{
    (void)state;
    char err[128];
    canbus_virtual *vb = canbus_virtual_new(4, err, sizeof err);
    canbus *node = endpoint(vb, "can0");
    struct can_frame_rec f = {.id = 0x100, .len = 9};
    assert_int_equal(canbus_send(node, &f), CANBUS_ERR);
    assert_string_equal(canbus_errmsg(node), "can0: frame length 9 above 8 (classic CAN)");
    f = (struct can_frame_rec){.id = 0x800, .len = 1};
    assert_int_equal(canbus_send(node, &f), CANBUS_ERR);
    assert_non_null(strstr(canbus_errmsg(node), "standard id 0x800 above 0x7FF"));
    f = (struct can_frame_rec){.id = 0x7FF | CAN_FRAME_RTR, .len = 1};
    assert_int_equal(canbus_send(node, &f), CANBUS_OK);
    f = (struct can_frame_rec){.id = CAN_FRAME_ERR | CAN_FRAME_EFF | 4, .len = 8};
    assert_int_equal(canbus_send(node, &f), CANBUS_ERR);
    assert_int_equal(canbus_send(node, NULL), CANBUS_ERR);
    assert_int_equal(canbus_send(NULL, &f), CANBUS_ERR);
    assert_int_equal(canbus_recv(NULL, &f), CANBUS_ERR);
    assert_int_equal(canbus_fd(NULL), -1);
    assert_int_equal(canbus_timeout_ms(node), -1);
    assert_int_equal(canbus_flush(node), CANBUS_OK);
    canbus_close(NULL);
    assert_string_equal(canbus_errmsg(NULL), "no CAN bus");
    canbus_close(node);
    canbus_virtual_free(vb);
    canbus_virtual_free(NULL);
}

/* The send queue: order, capacity, and a retry schedule that backs off (1, 2, 4 ...
 * 32 ms) so a driver that keeps refusing never makes the loop spin. */
static void test_txq_schedule(void **state)
{
    (void)state;
    struct canbus_txq q;
    assert_int_equal(canbus_txq_init(&q, 3), 0);
    assert_int_equal(canbus_txq_timeout_ms(&q, 0), -1);
    for (int i = 0; i < 3; i++) {
        struct can_frame_rec f = frame(0x100u + (unsigned)i, 0);
        assert_true(canbus_txq_push(&q, &f));
    }
    struct can_frame_rec extra = frame(0x1FF, 0);
    assert_false(canbus_txq_push(&q, &extra));

    uint64_t now = 1000000;
    static const int backoff[] = {1, 2, 4, 8, 16, 32, 32};
    for (size_t i = 0; i < sizeof backoff / sizeof backoff[0]; i++) {
        canbus_txq_refused(&q, now);
        assert_int_equal(canbus_txq_timeout_ms(&q, now), backoff[i]);
        assert_int_equal(canbus_txq_timeout_ms(&q, now + 500), backoff[i]); /* rounds up */
        assert_int_equal(canbus_txq_timeout_ms(&q, now + (uint64_t)backoff[i] * 1000), 0);
        now += (uint64_t)backoff[i] * 1000;
    }
    canbus_txq_accepted(&q);
    canbus_txq_refused(&q, now);
    assert_int_equal(canbus_txq_timeout_ms(&q, now), 1);

    for (int i = 0; i < 3; i++) {
        assert_int_equal(canbus_txq_head(&q)->id, 0x100u + (unsigned)i);
        canbus_txq_pop(&q);
        if (i == 0)
            assert_true(canbus_txq_push(&q, &extra)); /* wraps around */
    }
    assert_int_equal(canbus_txq_head(&q)->id, 0x1FF);
    canbus_txq_pop(&q);
    assert_null(canbus_txq_head(&q));
    assert_int_equal(canbus_txq_timeout_ms(&q, now), -1);
    canbus_txq_free(&q);
}

/* This host's kernel has no CAN: the message must say so. On a kernel with CAN, a
 * missing interface must be named instead. */
static void test_socketcan_messages(void **state)
{
    (void)state;
    char err[256];
    int probe = socket(AF_CAN, SOCK_RAW, 1 /* CAN_RAW */);
    int probe_errno = errno;
    if (probe >= 0)
        close(probe);
    canbus *bus = canbus_open_socketcan("rsgwnone0", NULL, err, sizeof err);
    assert_null(bus);
    if (probe < 0 && probe_errno == EAFNOSUPPORT)
        assert_non_null(strstr(err, "rsgwnone0: socket(PF_CAN): Address family not supported "
                                    "by protocol — this kernel has no CAN support"));
    else
        assert_string_equal(err, "rsgwnone0: No such device");

    assert_null(canbus_open_socketcan("a-name-longer-than-15", NULL, err, sizeof err));
    assert_non_null(strstr(err, "longer than 15"));
    assert_null(canbus_open_socketcan(NULL, NULL, err, sizeof err));
    struct canbus_socketcan_opts o = {.n_filters = 1};
    assert_null(canbus_open_socketcan("vcan0", &o, err, sizeof err));
    assert_non_null(strstr(err, "no array"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_virtual_three_endpoints),
        cmocka_unit_test(test_virtual_overflow),
        cmocka_unit_test(test_virtual_filters),
        cmocka_unit_test(test_virtual_threads),
        cmocka_unit_test(test_error_frames_and_state),
        cmocka_unit_test(test_error_decode_describe),
        cmocka_unit_test(test_send_checks),
        cmocka_unit_test(test_txq_schedule),
        cmocka_unit_test(test_socketcan_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
