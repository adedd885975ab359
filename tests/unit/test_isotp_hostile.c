/* SPDX-License-Identifier: MIT */
/*
 * Malformed and hostile frames: lengths beyond the data, impossible CAN lengths, remote
 * and error frames, first frames of length 0 and 4 GB, consecutive frames before any
 * first frame, and a long seeded random stream through a client, a link, obd_query and
 * every decoder. Everything stays bounded: no crash, no read past a buffer (ASan), no
 * frame longer than 8 bytes, no message longer than announced.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "isotp_fixture.h"
#include "obd.h"

static void test_impossible_can_frames(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    struct isotp_client_config cfg;
    isotp_client_config_default(&cfg, ISOTP_ADDR_11BIT);
    struct isotp_io io = fx_io(fx);
    isotp_client *c = isotp_client_new(&cfg, &io, NULL, 0);
    struct can_frame_rec f = fx_frame(0x7E8, "10 14 49 02 01 4C 46 56");
    for (unsigned len = 9; len < 256; len += 17) { /* a length no classic CAN frame has */
        f.len = (uint8_t)len;
        assert_int_equal(isotp_client_on_frame(c, &f, 0), 1);
    }
    f.len = 0;
    assert_int_equal(isotp_client_on_frame(c, &f, 0), 1);
    f = fx_frame(0x7E8 | CAN_FRAME_RTR, "10 14");
    assert_int_equal(isotp_client_on_frame(c, &f, 0), 0);
    f = fx_frame(0x7E8 | CAN_FRAME_ERR, "10 14 49 02 01 4C 46 56");
    assert_int_equal(isotp_client_on_frame(c, &f, 0), 0);
    assert_int_equal(fx->n_events, 0);
    assert_int_equal(fx->n_sent, 0);
    assert_false(isotp_client_rx_busy(c));
    isotp_client_free(c);
    fx_free(fx);
}

static void test_lengths_that_lie(void **state)
{
    (void)state;
    static const char *const frames[] = {
        "07 41",                   /* SF_DL 7 in a 2-byte frame */
        "01",                      /* SF_DL 1, no data */
        "10 00 00 00 00 00 49 02", /* escape, FF_DL 0 */
        "10 00 00 00 00 07 49 02", /* escape, FF_DL 7: a single frame's length */
        "10 01 49 02 01 4C 46 56", /* FF_DL 1 */
        "10 00",                   /* an FF without its length */
        "21 32 41 32 31 4B 30 41", /* CF with nothing started */
        "3F FF FF",                /* FC with reserved FS, nothing being sent */
        "F0 00 00 00 00 00 00 00", /* reserved N_PCI */
    };
    struct fx *fx = fx_new();
    struct isotp_link_config cfg = {.tx_id = 0x7E0, .rx_id = 0x7E8};
    isotp_params_default(&cfg.params);
    struct isotp_io io = fx_io(fx);
    isotp_link *l = isotp_link_new(&cfg, &io, NULL, 0);
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
        struct can_frame_rec f = fx_frame(0x7E8, frames[i]);
        assert_int_equal(isotp_link_on_frame(l, &f, i), 1);
    }
    assert_int_equal(fx->n_events, 0);
    assert_int_equal(fx->n_sent, 0);
    assert_int_equal(isotp_link_stats(l)->ignored, sizeof frames / sizeof frames[0]);
    /* Then a huge FF: refused with an OVERFLOW, no allocation, nothing pending. */
    struct can_frame_rec f = fx_frame(0x7E8, "10 00 7F FF FF FF 00 00");
    isotp_link_on_frame(l, &f, 100);
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 0)->rc, ISOTP_EOVERFLOW);
    fx_assert_sent(fx, 0, 0x7E0, "32 00 00 CC CC CC CC CC");
    assert_false(isotp_link_rx_busy(l));
    assert_int_equal(isotp_link_next_deadline_us(l), UINT64_MAX);
    isotp_link_free(l);
    fx_free(fx);
}

/* ---- a seeded random stream ---------------------------------------------------------- */

static uint32_t rng(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(*s >> 33);
}

static int checking_send(void *ctx, const struct can_frame_rec *f)
{
    uint64_t *seed = ctx;
    assert_true(f->len <= 8);
    assert_int_equal(f->id & (CAN_FRAME_RTR | CAN_FRAME_ERR), 0);
    uint32_t r = rng(seed) % 16;
    return r == 0 ? ISOTP_SEND_BUSY : r == 1 ? ISOTP_SEND_QUEUED : r == 2 ? -1 : 0;
}

struct sink {
    uint64_t *seed;
    size_t done, errors, max_len;
};

static void decode_everything(const uint8_t *m, size_t len)
{
    static struct obd_dtc_list dtcs;
    struct obd_calid_list cal;
    struct obd_cvn_list cvn;
    struct obd_value v[6];
    struct obd_pid_support sup = {0};
    struct obd_monitor_status st;
    char vin[18], name[21], err[160];
    int n = obd_decode_dtcs(m, len, &dtcs, err, sizeof err);
    assert_true(n < 0 || (size_t)n == dtcs.n);
    assert_true(dtcs.n <= OBD_MAX_DTCS);
    for (size_t i = 0; i < dtcs.n; i++)
        assert_int_equal(strlen(dtcs.dtc[i].code), 5);
    obd_decode_vin(m, len, vin, err, sizeof err);
    assert_true(strlen(vin) <= 17);
    n = obd_decode_calids(m, len, &cal, err, sizeof err);
    assert_true(cal.n <= OBD_MAX_INFO_ITEMS);
    for (size_t i = 0; i < cal.n; i++)
        assert_true(strlen(cal.id[i]) <= 16);
    n = obd_decode_cvns(m, len, &cvn, err, sizeof err);
    assert_true(cvn.n <= OBD_MAX_INFO_ITEMS);
    obd_decode_ecu_name(m, len, name, err, sizeof err);
    assert_true(strlen(name) <= 20);
    n = obd_decode_mode01(m, len, v, 6);
    assert_true(n <= 6);
    obd_decode_supported(m, len, &sup);
    if (len >= 2)
        obd_decode_monitor_status(m + 2, len - 2, &st);
}

static void sink_event(void *ctx, const struct isotp_event *ev)
{
    struct sink *s = ctx;
    if (ev->kind == ISOTP_EV_RX_DONE) {
        assert_true(ev->len >= 1 && ev->len <= ISOTP_MAX_PAYLOAD);
        if (ev->len > s->max_len)
            s->max_len = ev->len;
        decode_everything(ev->data, ev->len);
        s->done++;
    } else if (ev->kind == ISOTP_EV_RX_ERROR || ev->kind == ISOTP_EV_TX_ERROR) {
        assert_true(ev->rc < 0);
        assert_non_null(isotp_strerror(ev->rc));
        s->errors++;
    }
}

static int sink_send(void *ctx, const struct can_frame_rec *f)
{
    struct sink *s = ctx;
    return checking_send(s->seed, f);
}

static void random_frame(uint64_t *seed, struct can_frame_rec *f)
{
    static const uint32_t ids[] = {0x7E8,
                                   0x7E9,
                                   0x7EF,
                                   0x7E0,
                                   0x7DF,
                                   ID29(0x18DAF100),
                                   ID29(0x18DAF13D),
                                   ID29(0x1CDAF117),
                                   ID29(0x18FECA00)};
    memset(f, 0, sizeof *f);
    f->id = ids[rng(seed) % (sizeof ids / sizeof ids[0])];
    uint32_t r = rng(seed);
    f->len = r % 10 == 0 ? (uint8_t)(rng(seed) % 256) : (uint8_t)(r % 9);
    for (int i = 0; i < 8; i++)
        f->data[i] = (uint8_t)rng(seed);
    /* Mostly plausible N_PCI, so that reassembly gets exercised. */
    static const uint8_t pci[] = {0x03, 0x07, 0x10, 0x21, 0x22, 0x23, 0x2F, 0x20, 0x30, 0x31};
    if (rng(seed) % 4)
        f->data[0] = pci[rng(seed) % sizeof pci];
    if (f->data[0] == 0x10 && rng(seed) % 2)
        f->data[1] = (uint8_t)(rng(seed) % 40 + 8);
}

static void test_random_stream_stays_bounded(void **state)
{
    (void)state;
    uint64_t seed = 0x5EED1979u;
    struct sink s = {.seed = &seed};
    struct isotp_io io = {.send = sink_send, .on_event = sink_event, .ctx = &s};
    struct isotp_client_config cc;
    isotp_client_config_default(&cc, ISOTP_ADDR_11BIT);
    isotp_client *c11 = isotp_client_new(&cc, &io, NULL, 0);
    isotp_client_config_default(&cc, ISOTP_ADDR_29BIT);
    cc.max_responders = 2;
    cc.params.block_size = 1;
    isotp_client *c29 = isotp_client_new(&cc, &io, NULL, 0);
    struct isotp_link_config lc = {
        .tx_id = 0x7E8, .rx_id = 0x7E0, .functional = true, .func_id = 0x7DF};
    isotp_params_default(&lc.params);
    lc.params.pad_byte = ISOTP_NO_PADDING;
    isotp_link *l = isotp_link_new(&lc, &io, NULL, 0);
    struct obd_query_config qc;
    obd_query_config_default(&qc, OBD_CAN_11BIT);
    struct obd_bus qb = {.send = checking_send, .ctx = &seed};
    obd_query *q = obd_query_new(&qc, &qb, NULL, 0);
    assert_non_null(c11);
    assert_non_null(c29);
    assert_non_null(l);
    assert_non_null(q);

    uint64_t now = 0;
    static uint8_t payload[ISOTP_MAX_PAYLOAD];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)i;
    for (int i = 0; i < 200000; i++) {
        now += rng(&seed) % 3 == 0 ? rng(&seed) % MS(300) : rng(&seed) % 2000;
        uint32_t op = rng(&seed) % 100;
        if (op < 80) {
            struct can_frame_rec f;
            random_frame(&seed, &f);
            isotp_client_on_frame(c11, &f, now);
            isotp_client_on_frame(c29, &f, now);
            isotp_link_on_frame(l, &f, now);
            obd_query_on_frame(q, &f, now);
        } else if (op < 85) {
            isotp_link_send(l, payload, rng(&seed) % 200 + 1, now);
        } else if (op < 88) {
            uint8_t req[2] = {(uint8_t)(rng(&seed) % 10), 0x02};
            obd_query_start(q, req, 2, now);
            isotp_client_send_functional(c11, req, 2, now);
            isotp_client_send_physical(c29, (uint8_t)rng(&seed), payload, rng(&seed) % 30 + 1, now);
        } else if (op < 90) {
            /* A well-formed segmented answer, fed whole, among the noise. */
            static struct can_frame_rec burst[64];
            uint32_t id = 0x7E8 + rng(&seed) % 8;
            size_t n = fx_segments(id, payload, rng(&seed) % 400 + 1, 0xAA, burst, 64);
            for (size_t k = 0; k < n; k++) {
                isotp_client_on_frame(c11, &burst[k], now);
                obd_query_on_frame(q, &burst[k], now);
            }
        } else if (op < 92) {
            isotp_client_tx_done(c11, NULL, now);
            isotp_client_tx_done(c29, NULL, now);
            isotp_link_tx_done(l, now);
            obd_query_tx_done(q, NULL, now);
        } else {
            isotp_client_poll(c11, now);
            isotp_client_poll(c29, now);
            isotp_link_poll(l, now);
            obd_query_poll(q, now);
            /* Nothing is overdue after a poll: a caller sleeping until the next deadline
             * never spins. */
            assert_true(isotp_client_next_deadline_us(c11) > now);
            assert_true(isotp_client_next_deadline_us(c29) > now);
            assert_true(isotp_link_next_deadline_us(l) > now);
            assert_true(obd_query_next_deadline_us(q) > now);
        }
        for (size_t k = 0; k < obd_query_count(q); k++) {
            const struct obd_response *r = obd_query_response(q, k);
            assert_true(r->len <= ISOTP_MAX_PAYLOAD);
            if (r->status == OBD_RESP_POSITIVE)
                decode_everything(r->data, r->len);
        }
        assert_true(obd_query_count(q) <= OBD_MAX_ECUS);
    }
    /* Everything ends: after a long quiet spell nothing is pending any more. */
    now += MS(60000);
    for (int k = 0; k < 3; k++) {
        isotp_client_poll(c11, now);
        isotp_client_poll(c29, now);
        isotp_link_poll(l, now);
        obd_query_poll(q, now);
        isotp_client_tx_done(c11, NULL, now);
        isotp_client_tx_done(c29, NULL, now);
        isotp_link_tx_done(l, now);
        now += MS(60000);
    }
    assert_false(isotp_client_rx_busy(c11));
    assert_false(isotp_client_rx_busy(c29));
    assert_false(isotp_link_rx_busy(l));
    assert_false(isotp_link_tx_busy(l));
    assert_false(obd_query_running(q));
    /* The stream did exercise reassembly, not only rejection. */
    assert_true(s.done > 1000);
    assert_true(s.errors > 100);
    assert_true(s.max_len > 300);
    isotp_client_free(c11);
    isotp_client_free(c29);
    isotp_link_free(l);
    obd_query_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_impossible_can_frames),
        cmocka_unit_test(test_lengths_that_lie),
        cmocka_unit_test(test_random_stream_stays_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
