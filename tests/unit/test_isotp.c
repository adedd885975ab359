/* SPDX-License-Identifier: MIT */
/*
 * ISO-TP reception, frame by frame (can/isotp.h, isotp_link): single, first and
 * consecutive frames, our flow control (block size, padding), sequence numbers, N_Cr,
 * N_Ar, N_Br, unexpected frames, first-frame lengths (12-bit, escape, too long).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "isotp.h"
#include "isotp_fixture.h"

#define TESTER_TX 0x7E0u
#define ECU_TX    0x7E8u

/* The tester's side of one ECU: receives on 0x7E8, flow control to 0x7E0. */
static isotp_link *tester(struct fx *fx, const struct isotp_params *p)
{
    struct isotp_link_config cfg = {.tx_id = TESTER_TX, .rx_id = ECU_TX};
    if (p)
        cfg.params = *p;
    else
        isotp_params_default(&cfg.params);
    struct isotp_io io = fx_io(fx);
    char err[128];
    isotp_link *l = isotp_link_new(&cfg, &io, err, sizeof err);
    if (!l)
        fail_msg("isotp_link_new: %s", err);
    return l;
}

static void feed(isotp_link *l, const char *hex, uint64_t t_us)
{
    struct can_frame_rec f = fx_frame(ECU_TX, hex);
    assert_int_equal(isotp_link_on_frame(l, &f, t_us), 1);
}

static void assert_message(const struct fx *fx, size_t n, const uint8_t *want, size_t len)
{
    const struct isotp_event *ev = fx_nth(fx, ISOTP_EV_RX_DONE, n);
    assert_int_equal(ev->len, len);
    assert_memory_equal(ev->data, want, len);
    assert_int_equal(ev->rx_id, ECU_TX);
    assert_int_equal(ev->tx_id, TESTER_TX);
}

static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seed + i * 7u);
}

/* Feeds a whole segmented message from the ECU, one frame per millisecond. */
static void feed_message(isotp_link *l, const uint8_t *msg, size_t len, int pad, uint64_t t0)
{
    static struct can_frame_rec frames[700];
    size_t n = fx_segments(ECU_TX, msg, len, pad, frames, 700);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(isotp_link_on_frame(l, &frames[i], t0 + MS(i)), 1);
}

static void test_single_frame_padded_and_not(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = tester(fx, NULL);
    feed(l, "03 41 0D 32 CC CC CC CC", 0);
    feed(l, "03 41 0D 33", 1);
    feed(l, "07 49 0A 01 45 43 4D 00", 2); /* SF_DL 7 fills the frame */
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_DONE), 3);
    assert_message(fx, 0, (const uint8_t *)"\x41\x0D\x32", 3);
    assert_message(fx, 1, (const uint8_t *)"\x41\x0D\x33", 3);
    assert_message(fx, 2, (const uint8_t *)"\x49\x0A\x01\x45\x43\x4D\x00", 7);
    assert_int_equal(fx->n_sent, 0); /* single frames need no flow control */
    assert_false(isotp_link_rx_busy(l));
    isotp_link_free(l);
    fx_free(fx);
}

static void test_single_frame_invalid_lengths(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = tester(fx, NULL);
    feed(l, "00 41 0D CC CC CC CC CC", 0); /* SF_DL 0: CAN FD escape, not classic */
    feed(l, "08 41 0D 32 CC CC CC CC", 0); /* SF_DL 8 cannot fit */
    feed(l, "05 41 0D 32", 0);             /* SF_DL beyond the frame's data */
    feed(l, "0F 41 0D 32 00 00 00 00", 0);
    assert_int_equal(fx->n_events, 0);
    assert_int_equal(isotp_link_stats(l)->ignored, 4);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_first_and_consecutive_frames_vin(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = tester(fx, NULL);
    feed(l, "10 14 49 02 01 4C 46 56", MS(10));
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_FIRST), 1);
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_FIRST, 0)->len, 20);
    /* Flow control to the ECU's physical id: CTS, BS 0, STmin 0, padded with 0xCC. */
    assert_int_equal(fx->n_sent, 1);
    fx_assert_sent(fx, 0, TESTER_TX, "30 00 00 CC CC CC CC CC");
    assert_true(isotp_link_rx_busy(l));
    feed(l, "21 32 41 32 31 4B 30 41", MS(11));
    feed(l, "22 33 30 34 35 36 33 31", MS(12));
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_DONE), 1);
    assert_message(fx, 0, (const uint8_t *)"\x49\x02\x01LFV2A21K0A3045631", 20);
    assert_int_equal(fx->n_sent, 1);
    assert_false(isotp_link_rx_busy(l));
    isotp_link_free(l);
    fx_free(fx);
}

static void test_flow_control_unpadded_and_other_pads(void **state)
{
    (void)state;
    static const int pads[] = {ISOTP_NO_PADDING, 0x55, 0xAA, 0x00};
    static const char *const want[] = {"30 00 00", "30 00 00 55 55 55 55 55",
                                       "30 00 00 AA AA AA AA AA", "30 00 00 00 00 00 00 00"};
    for (size_t i = 0; i < 4; i++) {
        struct fx *fx = fx_new();
        struct isotp_params p;
        isotp_params_default(&p);
        p.pad_byte = pads[i];
        isotp_link *l = tester(fx, &p);
        feed(l, "10 14 49 02 01 4C 46 56", 0);
        fx_assert_sent(fx, 0, TESTER_TX, want[i]);
        /* An unpadded last consecutive frame is accepted as well as a padded one. */
        feed(l, "21 32 41 32 31 4B 30 41", 1);
        feed(l, "22 33 30 34 35 36 33 31", 2);
        assert_int_equal(fx_count(fx, ISOTP_EV_RX_DONE), 1);
        isotp_link_free(l);
        fx_free(fx);
    }
}

static void test_last_cf_short_without_padding(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = tester(fx, NULL);
    uint8_t msg[9];
    fill(msg, sizeof msg, 1);
    feed_message(l, msg, sizeof msg, ISOTP_NO_PADDING, 0); /* last CF has DLC 4 */
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_DONE), 1);
    assert_message(fx, 0, msg, sizeof msg);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_block_size_several_blocks(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    struct isotp_params p;
    isotp_params_default(&p);
    p.block_size = 2;
    p.st_min = 0x05;
    isotp_link *l = tester(fx, &p);
    uint8_t msg[40]; /* FF 6 + CFs of 7,7,7,7,6 */
    fill(msg, sizeof msg, 3);
    struct can_frame_rec frames[8];
    size_t n = fx_segments(ECU_TX, msg, sizeof msg, 0xAA, frames, 8);
    assert_int_equal(n, 6);
    /* FC after the FF, after CF 2 and after CF 4; none after the last. */
    static const size_t fc_after[] = {1, 1, 2, 2, 3, 3};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(isotp_link_on_frame(l, &frames[i], MS(i)), 1);
        assert_int_equal(fx->n_sent, fc_after[i]);
    }
    for (size_t i = 0; i < 3; i++)
        fx_assert_sent(fx, i, TESTER_TX, "30 02 05 CC CC CC CC CC");
    assert_message(fx, 0, msg, sizeof msg);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_sequence_number_wraps(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = tester(fx, NULL);
    uint8_t msg[6 + 7 * 20]; /* 20 CFs: SN 1..15, 0, 1..4 */
    fill(msg, sizeof msg, 9);
    struct can_frame_rec frames[24];
    size_t n = fx_segments(ECU_TX, msg, sizeof msg, 0xCC, frames, 24);
    assert_int_equal(n, 21);
    assert_int_equal(frames[15].data[0], 0x2F);
    assert_int_equal(frames[16].data[0], 0x20);
    assert_int_equal(frames[17].data[0], 0x21);
    for (size_t i = 0; i < n; i++)
        isotp_link_on_frame(l, &frames[i], MS(i));
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_DONE), 1);
    assert_message(fx, 0, msg, sizeof msg);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_largest_message(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = tester(fx, NULL);
    static uint8_t msg[4095];
    fill(msg, sizeof msg, 0x42);
    feed_message(l, msg, sizeof msg, 0xCC, 0);
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_DONE), 1);
    assert_message(fx, 0, msg, sizeof msg);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_wrong_sequence_number_aborts(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = tester(fx, NULL);
    feed(l, "10 14 49 02 01 4C 46 56", 0);
    feed(l, "22 33 30 34 35 36 33 31", 1); /* SN 2 where 1 was due */
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_ERROR), 1);
    const struct isotp_event *ev = fx_nth(fx, ISOTP_EV_RX_ERROR, 0);
    assert_int_equal(ev->rc, ISOTP_EWRONG_SN);
    assert_int_equal(ev->len, 20);
    assert_false(isotp_link_rx_busy(l));
    /* What follows of the broken message is ignored, not glued to anything. */
    feed(l, "21 32 41 32 31 4B 30 41", 2);
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_DONE), 0);
    assert_int_equal(isotp_link_stats(l)->ignored, 1);
    assert_string_equal(isotp_strerror(ISOTP_EWRONG_SN),
                        "consecutive frame out of sequence (N_WRONG_SN)");
    isotp_link_free(l);
    fx_free(fx);
}

static void test_lost_consecutive_frame(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = tester(fx, NULL);
    uint8_t msg[30];
    fill(msg, sizeof msg, 5);
    struct can_frame_rec frames[6];
    size_t n = fx_segments(ECU_TX, msg, sizeof msg, 0xCC, frames, 6);
    assert_int_equal(n, 5);
    isotp_link_on_frame(l, &frames[0], 0);
    isotp_link_on_frame(l, &frames[1], 1);
    isotp_link_on_frame(l, &frames[3], 2); /* frames[2] (SN 2) lost */
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 0)->rc, ISOTP_EWRONG_SN);
    /* A lost last frame is noticed by N_Cr instead. */
    fx_clear(fx);
    for (size_t i = 0; i < 4; i++)
        isotp_link_on_frame(l, &frames[i], MS(10));
    isotp_link_poll(l, MS(10) + MS(1000));
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_ERROR), 0);
    isotp_link_poll(l, MS(10) + MS(1000) + 1);
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 0)->rc, ISOTP_ETIMEOUT_CR);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_n_cr_below_and_above(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = tester(fx, NULL);
    feed(l, "10 14 49 02 01 4C 46 56", 0);
    assert_int_equal(isotp_link_next_deadline_us(l), MS(1000) + 1);
    isotp_link_poll(l, MS(1000));
    feed(l, "21 32 41 32 31 4B 30 41", MS(1000)); /* exactly N_Cr after the FC: in time */
    assert_int_equal(isotp_link_next_deadline_us(l), MS(2000) + 1);
    isotp_link_poll(l, MS(2000));
    assert_true(isotp_link_rx_busy(l));
    isotp_link_poll(l, MS(2000) + 1);
    assert_false(isotp_link_rx_busy(l));
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 0)->rc, ISOTP_ETIMEOUT_CR);
    assert_int_equal(isotp_link_next_deadline_us(l), UINT64_MAX);
    /* The ISO 15765-4 profile is tighter: 150 ms. */
    struct isotp_params p;
    isotp_params_obd(&p);
    assert_int_equal(p.n_cr_ms, 150);
    assert_int_equal(p.n_bs_ms, 75);
    assert_int_equal(p.n_as_ms, 25);
    assert_int_equal(p.n_ar_ms, 25);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_unexpected_first_frame_restarts(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = tester(fx, NULL);
    feed(l, "10 14 49 02 01 4C 46 56", 0);
    feed(l, "21 32 41 32 31 4B 30 41", 1);
    feed(l, "10 14 49 02 01 4C 46 56", 2); /* the ECU started over */
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 0)->rc, ISOTP_EUNEXP_PDU);
    assert_int_equal(fx->n_sent, 2); /* a fresh FC for the new message */
    feed(l, "21 32 41 32 31 4B 30 41", 3);
    feed(l, "22 33 30 34 35 36 33 31", 4);
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_DONE), 1);
    assert_message(fx, 0, (const uint8_t *)"\x49\x02\x01LFV2A21K0A3045631", 20);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_unexpected_single_frame_mid_reception(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = tester(fx, NULL);
    feed(l, "10 14 49 02 01 4C 46 56", 0);
    feed(l, "03 7F 09 78", 1);
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 0)->rc, ISOTP_EUNEXP_PDU);
    assert_message(fx, 0, (const uint8_t *)"\x7F\x09\x78", 3);
    /* The old message's frames are now strays. */
    feed(l, "21 32 41 32 31 4B 30 41", 2);
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_DONE), 1);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_stray_consecutive_and_flow_control_ignored(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = tester(fx, NULL);
    feed(l, "21 32 41 32 31 4B 30 41", 0); /* CF before any FF */
    feed(l, "30 00 00 CC CC CC CC CC", 0); /* FC while we send nothing */
    feed(l, "45 01 02 03 04 05 06 07", 0); /* reserved N_PCI type */
    assert_int_equal(fx->n_events, 0);
    assert_int_equal(fx->n_sent, 0);
    assert_int_equal(isotp_link_stats(l)->ignored, 3);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_short_consecutive_frame_ignored(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = tester(fx, NULL);
    feed(l, "10 14 49 02 01 4C 46 56", 0);
    feed(l, "21 32 41 32", 1); /* must carry 7 bytes: ignored */
    assert_int_equal(isotp_link_stats(l)->ignored, 1);
    assert_true(isotp_link_rx_busy(l));
    feed(l, "21 32 41 32 31 4B 30 41", 2); /* the real one is still welcome */
    feed(l, "22 33 30 34 35 36 33 31", 3);
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_DONE), 1);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_first_frame_lengths(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    struct isotp_params p;
    isotp_params_default(&p);
    p.rx_max_len = 100;
    isotp_link *l = tester(fx, &p);

    feed(l, "10 05 41 00 BE 3E B8 11", 0); /* FF_DL 5 < 8: ignored */
    feed(l, "10 14 49 02 01 4C 46", 0);    /* a FF shorter than 8 bytes: ignored */
    feed(l, "10 00 00 00 00 00 49 02", 0); /* escape with FF_DL 0: ignored */
    assert_int_equal(fx->n_sent, 0);
    assert_int_equal(fx->n_events, 0);
    assert_int_equal(isotp_link_stats(l)->ignored, 3);

    /* 12-bit length beyond our buffer: one error event and a polite FC OVERFLOW. */
    feed(l, "10 C8 49 02 01 4C 46 56", MS(1));
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 0)->rc, ISOTP_EOVERFLOW);
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 0)->len, 200);
    fx_assert_sent(fx, 0, TESTER_TX, "32 00 00 CC CC CC CC CC");
    assert_false(isotp_link_rx_busy(l));
    feed(l, "21 32 41 32 31 4B 30 41", MS(2)); /* nothing follows an OVERFLOW */
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_DONE), 0);

    /* 32-bit escape, huge: the same polite refusal. */
    feed(l, "10 00 FF FF FF FF 49 02", MS(3));
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 1)->rc, ISOTP_EOVERFLOW);
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 1)->len, 0xFFFFFFFFu);
    fx_assert_sent(fx, 1, TESTER_TX, "32 00 00 CC CC CC CC CC");

    /* 32-bit escape with a length we can take: two data bytes in the FF, then CFs. */
    fx_clear(fx);
    feed(l, "10 00 00 00 00 14 49 02", MS(4));
    fx_assert_sent(fx, 0, TESTER_TX, "30 00 00 CC CC CC CC CC");
    feed(l, "21 01 4C 46 56 32 41 32", MS(5));
    feed(l, "22 31 4B 30 41 33 30 34", MS(6));
    feed(l, "23 35 36 33 31 CC CC CC", MS(7));
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_DONE), 1);
    assert_message(fx, 0, (const uint8_t *)"\x49\x02\x01LFV2A21K0A3045631", 20);
    isotp_link_free(l);
    fx_free(fx);
}

/* Flow control handed to an asynchronous bus: N_Ar until its confirmation. */
static void test_n_ar_below_and_above(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    fx->default_rc = ISOTP_SEND_QUEUED;
    isotp_link *l = tester(fx, NULL);
    feed(l, "10 14 49 02 01 4C 46 56", 0);
    assert_int_equal(isotp_link_next_deadline_us(l), MS(1000) + 1);
    isotp_link_poll(l, MS(1000));
    isotp_link_tx_done(l, MS(1000)); /* confirmed just in time */
    /* N_Cr runs from the confirmation. */
    assert_int_equal(isotp_link_next_deadline_us(l), MS(2000) + 1);
    feed(l, "21 32 41 32 31 4B 30 41", MS(1500));
    feed(l, "22 33 30 34 35 36 33 31", MS(1600));
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_DONE), 1);

    fx_clear(fx);
    feed(l, "10 14 49 02 01 4C 46 56", MS(5000));
    isotp_link_poll(l, MS(6000) + 1); /* never confirmed */
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 0)->rc, ISOTP_ETIMEOUT_AR);
    assert_false(isotp_link_rx_busy(l));

    fx_clear(fx);
    feed(l, "10 14 49 02 01 4C 46 56", MS(7000));
    isotp_link_tx_done(l, MS(8000) + 1); /* confirmed too late */
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 0)->rc, ISOTP_ETIMEOUT_AR);
    assert_false(isotp_link_rx_busy(l));
    isotp_link_free(l);
    fx_free(fx);
}

static void test_cf_before_fc_confirmation_counts_as_confirmation(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    fx->default_rc = ISOTP_SEND_QUEUED;
    isotp_link *l = tester(fx, NULL);
    feed(l, "10 14 49 02 01 4C 46 56", 0);
    feed(l, "21 32 41 32 31 4B 30 41", MS(1)); /* the echo of our FC is late */
    feed(l, "22 33 30 34 35 36 33 31", MS(2));
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_DONE), 1);
    isotp_link_tx_done(l, MS(3)); /* the late echo confirms nothing else */
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_ERROR), 0);
    isotp_link_free(l);
    fx_free(fx);
}

/* A bus that refuses the flow control for a while: retried until N_Br. */
static void test_n_br_below_and_above(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    const int busy3[] = {ISOTP_SEND_BUSY, ISOTP_SEND_BUSY, ISOTP_SEND_BUSY};
    fx_script(fx, 3, busy3);
    isotp_link *l = tester(fx, NULL);
    feed(l, "10 14 49 02 01 4C 46 56", 0);
    assert_int_equal(fx->n_sent, 1);
    assert_int_equal(isotp_link_next_deadline_us(l), ISOTP_RETRY_US);
    isotp_link_poll(l, ISOTP_RETRY_US - 1); /* too early to offer again */
    assert_int_equal(fx->n_sent, 1);
    isotp_link_poll(l, MS(1));
    isotp_link_poll(l, MS(2));
    assert_int_equal(fx->n_sent, 3);
    isotp_link_poll(l, MS(900)); /* the last moment N_Br allows: accepted */
    assert_int_equal(fx->n_sent, 4);
    fx_assert_sent(fx, 3, TESTER_TX, "30 00 00 CC CC CC CC CC");
    assert_int_equal(isotp_link_stats(l)->send_busy, 3);
    feed(l, "21 32 41 32 31 4B 30 41", MS(901));
    feed(l, "22 33 30 34 35 36 33 31", MS(902));
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_DONE), 1);

    fx_clear(fx);
    fx->default_rc = ISOTP_SEND_BUSY;
    feed(l, "10 14 49 02 01 4C 46 56", MS(2000));
    isotp_link_poll(l, MS(2900));
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_ERROR), 0);
    isotp_link_poll(l, MS(2900) + 1);
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 0)->rc, ISOTP_ETIMEOUT_BR);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_send_failure_while_receiving(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    fx->default_rc = -5;
    isotp_link *l = tester(fx, NULL);
    feed(l, "10 14 49 02 01 4C 46 56", 0);
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 0)->rc, ISOTP_ESEND);
    assert_false(isotp_link_rx_busy(l));
    isotp_link_free(l);
    fx_free(fx);
}

static void test_functional_single_frames(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    struct isotp_link_config cfg = {
        .tx_id = ECU_TX, .rx_id = TESTER_TX, .functional = true, .func_id = 0x7DF};
    isotp_params_default(&cfg.params);
    struct isotp_io io = fx_io(fx);
    isotp_link *ecu = isotp_link_new(&cfg, &io, NULL, 0);
    assert_non_null(ecu);
    struct can_frame_rec f = fx_frame(0x7DF, "02 01 00 00 00 00 00 00");
    assert_int_equal(isotp_link_on_frame(ecu, &f, 0), 1);
    const struct isotp_event *ev = fx_nth(fx, ISOTP_EV_RX_DONE, 0);
    assert_true(ev->functional);
    assert_int_equal(ev->len, 2);
    /* Multi-frame functional requests do not exist in ISO 15765-4: ignored, no FC. */
    f = fx_frame(0x7DF, "10 0A 01 00 20 40 60 80");
    assert_int_equal(isotp_link_on_frame(ecu, &f, 1), 1);
    assert_int_equal(fx->n_sent, 0);
    /* Another identifier is not ours. */
    f = fx_frame(0x7E1, "02 01 00");
    assert_int_equal(isotp_link_on_frame(ecu, &f, 2), 0);
    f = fx_frame(ID29(0x7E0), "02 01 00"); /* same number, 29-bit: not ours either */
    assert_int_equal(isotp_link_on_frame(ecu, &f, 2), 0);
    isotp_link_free(ecu);
    fx_free(fx);
}

static void test_configuration_errors(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    struct isotp_io io = fx_io(fx);
    struct isotp_link_config cfg = {.tx_id = 0x7E0, .rx_id = 0x7E0};
    isotp_params_default(&cfg.params);
    char err[160] = "";
    assert_null(isotp_link_new(&cfg, &io, err, sizeof err));
    assert_non_null(strstr(err, "must differ"));
    cfg.rx_id = 0x800; /* not an 11-bit id */
    assert_null(isotp_link_new(&cfg, &io, err, sizeof err));
    assert_non_null(strstr(err, "out of range"));
    cfg.rx_id = 0x7E8;
    cfg.params.st_min = 0x80;
    assert_null(isotp_link_new(&cfg, &io, err, sizeof err));
    assert_non_null(strstr(err, "st_min"));
    isotp_params_default(&cfg.params);
    cfg.params.pad_byte = 0x100;
    assert_null(isotp_link_new(&cfg, &io, err, sizeof err));
    assert_non_null(strstr(err, "pad_byte"));
    isotp_params_default(&cfg.params);
    cfg.params.n_cr_ms = 0;
    assert_null(isotp_link_new(&cfg, &io, err, sizeof err));
    assert_non_null(strstr(err, "N_"));
    isotp_params_default(&cfg.params);
    cfg.params.rx_max_len = 5000;
    assert_null(isotp_link_new(&cfg, &io, err, sizeof err));
    assert_non_null(strstr(err, "rx_max_len"));
    io.send = NULL;
    isotp_params_default(&cfg.params);
    assert_null(isotp_link_new(&cfg, &io, err, sizeof err));
    isotp_link_free(NULL);
    fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_frame_padded_and_not),
        cmocka_unit_test(test_single_frame_invalid_lengths),
        cmocka_unit_test(test_first_and_consecutive_frames_vin),
        cmocka_unit_test(test_flow_control_unpadded_and_other_pads),
        cmocka_unit_test(test_last_cf_short_without_padding),
        cmocka_unit_test(test_block_size_several_blocks),
        cmocka_unit_test(test_sequence_number_wraps),
        cmocka_unit_test(test_largest_message),
        cmocka_unit_test(test_wrong_sequence_number_aborts),
        cmocka_unit_test(test_lost_consecutive_frame),
        cmocka_unit_test(test_n_cr_below_and_above),
        cmocka_unit_test(test_unexpected_first_frame_restarts),
        cmocka_unit_test(test_unexpected_single_frame_mid_reception),
        cmocka_unit_test(test_stray_consecutive_and_flow_control_ignored),
        cmocka_unit_test(test_short_consecutive_frame_ignored),
        cmocka_unit_test(test_first_frame_lengths),
        cmocka_unit_test(test_n_ar_below_and_above),
        cmocka_unit_test(test_cf_before_fc_confirmation_counts_as_confirmation),
        cmocka_unit_test(test_n_br_below_and_above),
        cmocka_unit_test(test_send_failure_while_receiving),
        cmocka_unit_test(test_functional_single_frames),
        cmocka_unit_test(test_configuration_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
