/* SPDX-License-Identifier: MIT */
/*
 * ISO-TP transmission (the ECU simulator's side, isotp_link): segmentation, the
 * receiver's flow control honoured (block size, STmin in ms, us and reserved values,
 * WAIT and N_WFTmax, OVERFLOW, reserved flow status), N_As, N_Bs and N_Cs, send results,
 * full duplex, and two links talking to each other.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "isotp.h"
#include "isotp_fixture.h"

#define TESTER_TX 0x7E0u
#define ECU_TX    0x7E8u

static const uint8_t vin_msg[20] = "\x49\x02\x01LFV2A21K0A3045631";

static isotp_link *ecu(struct fx *fx, const struct isotp_params *p)
{
    struct isotp_link_config cfg = {.tx_id = ECU_TX, .rx_id = TESTER_TX};
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

static void fc(isotp_link *l, const char *hex, uint64_t t_us)
{
    struct can_frame_rec f = fx_frame(TESTER_TX, hex);
    assert_int_equal(isotp_link_on_frame(l, &f, t_us), 1);
}

static void fill(uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 13u + 1);
}

static void test_send_single_frame(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = ecu(fx, NULL);
    assert_int_equal(isotp_link_send(l, (const uint8_t *)"\x41\x0D\x32", 3, 0), ISOTP_OK);
    fx_assert_sent(fx, 0, ECU_TX, "03 41 0D 32 CC CC CC CC");
    assert_int_equal(fx_count(fx, ISOTP_EV_TX_DONE), 1);
    assert_false(isotp_link_tx_busy(l));
    isotp_link_free(l);

    struct isotp_params p;
    isotp_params_default(&p);
    p.pad_byte = ISOTP_NO_PADDING;
    fx_clear(fx);
    l = ecu(fx, &p);
    assert_int_equal(isotp_link_send(l, (const uint8_t *)"\x41\x0D\x32", 3, 0), ISOTP_OK);
    fx_assert_sent(fx, 0, ECU_TX, "03 41 0D 32");
    isotp_link_free(l);
    fx_free(fx);
}

static void test_send_vin_multi_frame(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = ecu(fx, NULL);
    assert_int_equal(isotp_link_send(l, vin_msg, 20, 0), ISOTP_OK);
    assert_int_equal(fx->n_sent, 1);
    fx_assert_sent(fx, 0, ECU_TX, "10 14 49 02 01 4C 46 56");
    assert_true(isotp_link_tx_busy(l));
    assert_int_equal(isotp_link_next_deadline_us(l), MS(1000) + 1); /* N_Bs */
    isotp_link_poll(l, MS(500));
    assert_int_equal(fx->n_sent, 1); /* nothing before the flow control */
    fc(l, "30 00 00 CC CC CC CC CC", MS(501));
    assert_int_equal(fx->n_sent, 3);
    fx_assert_sent(fx, 1, ECU_TX, "21 32 41 32 31 4B 30 41");
    fx_assert_sent(fx, 2, ECU_TX, "22 33 30 34 35 36 33 31");
    assert_int_equal(fx_count(fx, ISOTP_EV_TX_DONE), 1);
    assert_int_equal(fx_nth(fx, ISOTP_EV_TX_DONE, 0)->len, 20);
    assert_false(isotp_link_tx_busy(l));
    isotp_link_free(l);
    fx_free(fx);
}

static void test_unpadded_last_consecutive_frame(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    struct isotp_params p;
    isotp_params_default(&p);
    p.pad_byte = ISOTP_NO_PADDING;
    isotp_link *l = ecu(fx, &p);
    assert_int_equal(isotp_link_send(l, vin_msg, 16, 0), ISOTP_OK);
    fc(l, "30 00 00", 1);
    fx_assert_sent(fx, 1, ECU_TX, "21 32 41 32 31 4B 30 41");
    fx_assert_sent(fx, 2, ECU_TX, "22 33 30 34");
    isotp_link_free(l);
    fx_free(fx);
}

static void test_block_size_honoured(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = ecu(fx, NULL);
    uint8_t msg[40]; /* FF + 5 CFs */
    fill(msg, sizeof msg);
    assert_int_equal(isotp_link_send(l, msg, sizeof msg, 0), ISOTP_OK);
    fc(l, "30 02 00 CC CC CC CC CC", MS(1));
    assert_int_equal(fx->n_sent, 3); /* FF, CF1, CF2 */
    isotp_link_poll(l, MS(500));
    assert_int_equal(fx->n_sent, 3); /* waits for the next FC */
    assert_int_equal(isotp_link_next_deadline_us(l), MS(1001) + 1);
    fc(l, "30 02 00 CC CC CC CC CC", MS(600));
    assert_int_equal(fx->n_sent, 5);
    fc(l, "30 02 00 CC CC CC CC CC", MS(700));
    assert_int_equal(fx->n_sent, 6);
    for (size_t i = 1; i < 6; i++)
        assert_int_equal(fx->sent[i].data[0], 0x20 + i);
    assert_int_equal(fx->sent[5].data[1], msg[34]);
    assert_int_equal(fx_count(fx, ISOTP_EV_TX_DONE), 1);
    isotp_link_free(l);
    fx_free(fx);
}

/* Sends a 40-byte message, answers its FF with an FC carrying stmin at t = 0, and returns
 * the link with CF1 sent. */
static isotp_link *start_with_stmin(struct fx *fx, uint8_t stmin)
{
    isotp_link *l = ecu(fx, NULL);
    uint8_t msg[40];
    fill(msg, sizeof msg);
    assert_int_equal(isotp_link_send(l, msg, sizeof msg, 0), ISOTP_OK);
    char hex[32];
    snprintf(hex, sizeof hex, "30 00 %02X CC CC CC CC CC", stmin);
    fc(l, hex, 0);
    assert_int_equal(fx->n_sent, 2);
    return l;
}

static void assert_gap(uint8_t stmin, uint64_t gap_us)
{
    struct fx *fx = fx_new();
    isotp_link *l = start_with_stmin(fx, stmin);
    assert_int_equal(isotp_link_next_deadline_us(l), gap_us);
    isotp_link_poll(l, gap_us - 1);
    assert_int_equal(fx->n_sent, 2);
    isotp_link_poll(l, gap_us);
    assert_int_equal(fx->n_sent, 3);
    isotp_link_poll(l, 2 * gap_us - 1);
    assert_int_equal(fx->n_sent, 3);
    isotp_link_poll(l, 2 * gap_us);
    assert_int_equal(fx->n_sent, 4);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_stmin_milliseconds(void **state)
{
    (void)state;
    assert_gap(0x01, MS(1));
    assert_gap(0x0A, MS(10));
    assert_gap(0x7F, MS(127));
}

static void test_stmin_microseconds(void **state)
{
    (void)state;
    for (uint8_t raw = 0xF1; raw <= 0xF9; raw++)
        assert_gap(raw, (raw - 0xF0u) * 100u);
}

static void test_stmin_reserved_values_mean_127ms(void **state)
{
    (void)state;
    static const uint8_t reserved[] = {0x80, 0xA5, 0xF0, 0xFA, 0xFF};
    for (size_t i = 0; i < sizeof reserved; i++)
        assert_int_equal(isotp_stmin_us(reserved[i]), 127000);
    assert_gap(0x80, MS(127));
    assert_gap(0xFA, MS(127));
    assert_int_equal(isotp_stmin_us(0x00), 0);
    assert_int_equal(isotp_stmin_us(0xF9), 900);
}

static void test_stmin_zero_sends_a_block_at_once(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = ecu(fx, NULL);
    static uint8_t msg[4095];
    fill(msg, sizeof msg);
    assert_int_equal(isotp_link_send(l, msg, sizeof msg, 0), ISOTP_OK);
    fc(l, "30 00 00 CC CC CC CC CC", 1);
    assert_int_equal(fx->n_sent, 586);
    assert_int_equal(fx_count(fx, ISOTP_EV_TX_DONE), 1);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_first_flow_control_parameters_kept(void **state)
{
    (void)state;
    for (int dynamic = 0; dynamic <= 1; dynamic++) {
        struct fx *fx = fx_new();
        struct isotp_params p;
        isotp_params_default(&p);
        p.dynamic_fc = dynamic;
        isotp_link *l = ecu(fx, &p);
        uint8_t msg[40];
        fill(msg, sizeof msg);
        assert_int_equal(isotp_link_send(l, msg, sizeof msg, 0), ISOTP_OK);
        fc(l, "30 01 00 CC CC CC CC CC", 0); /* BS 1, STmin 0 */
        assert_int_equal(fx->n_sent, 2);
        fc(l, "30 02 14 CC CC CC CC CC", MS(1)); /* BS 2, STmin 20 ms */
        assert_int_equal(fx->n_sent, 3);
        isotp_link_poll(l, MS(1));
        if (dynamic) {
            /* New values: CF3 only after 20 ms, and then a block of 2. */
            assert_int_equal(fx->n_sent, 3);
            isotp_link_poll(l, MS(21));
            assert_int_equal(fx->n_sent, 4);
        } else {
            /* ISO 15765-2: the first FC's BS 1 and STmin 0 hold for the message. */
            assert_int_equal(fx->n_sent, 3);
            assert_int_equal(isotp_link_next_deadline_us(l), MS(1) + MS(1000) + 1);
        }
        isotp_link_free(l);
        fx_free(fx);
    }
}

static void test_wait_frames_extend_n_bs(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = ecu(fx, NULL);
    assert_int_equal(isotp_link_send(l, vin_msg, 20, 0), ISOTP_OK);
    fc(l, "31 00 00 CC CC CC CC CC", MS(900));
    isotp_link_poll(l, MS(1800)); /* N_Bs restarted by the WAIT */
    assert_true(isotp_link_tx_busy(l));
    fc(l, "31 00 00 CC CC CC CC CC", MS(1800));
    fc(l, "31 00 00 CC CC CC CC CC", MS(2700));
    assert_int_equal(fx->n_sent, 1);
    fc(l, "30 00 00 CC CC CC CC CC", MS(3000));
    assert_int_equal(fx->n_sent, 3);
    assert_int_equal(fx_count(fx, ISOTP_EV_TX_DONE), 1);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_wait_frames_beyond_wft_max(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    struct isotp_params p;
    isotp_params_default(&p);
    p.wft_max = 2;
    isotp_link *l = ecu(fx, &p);
    assert_int_equal(isotp_link_send(l, vin_msg, 20, 0), ISOTP_OK);
    fc(l, "31 00 00 CC CC CC CC CC", MS(1));
    fc(l, "31 00 00 CC CC CC CC CC", MS(2));
    assert_int_equal(fx_count(fx, ISOTP_EV_TX_ERROR), 0);
    fc(l, "31 00 00 CC CC CC CC CC", MS(3));
    assert_int_equal(fx_nth(fx, ISOTP_EV_TX_ERROR, 0)->rc, ISOTP_EWFT_OVRN);
    assert_false(isotp_link_tx_busy(l));
    isotp_link_free(l);

    /* N_WFTmax 0: WAIT is not accepted at all. */
    p.wft_max = 0;
    fx_clear(fx);
    l = ecu(fx, &p);
    assert_int_equal(isotp_link_send(l, vin_msg, 20, 0), ISOTP_OK);
    fc(l, "31 00 00 CC CC CC CC CC", MS(1));
    assert_int_equal(fx_nth(fx, ISOTP_EV_TX_ERROR, 0)->rc, ISOTP_EWFT_OVRN);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_overflow_and_reserved_flow_status(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = ecu(fx, NULL);
    assert_int_equal(isotp_link_send(l, vin_msg, 20, 0), ISOTP_OK);
    fc(l, "32 00 00 CC CC CC CC CC", MS(1));
    assert_int_equal(fx_nth(fx, ISOTP_EV_TX_ERROR, 0)->rc, ISOTP_EOVERFLOW);
    assert_int_equal(fx->n_sent, 1);

    fx_clear(fx);
    assert_int_equal(isotp_link_send(l, vin_msg, 20, 0), ISOTP_OK);
    fc(l, "33 00 00 CC CC CC CC CC", MS(2));
    assert_int_equal(fx_nth(fx, ISOTP_EV_TX_ERROR, 0)->rc, ISOTP_EINVALID_FS);

    /* OVERFLOW after the first block is not a legal answer either. */
    fx_clear(fx);
    uint8_t msg[40];
    fill(msg, sizeof msg);
    assert_int_equal(isotp_link_send(l, msg, sizeof msg, MS(3)), ISOTP_OK);
    fc(l, "30 01 00 CC CC CC CC CC", MS(4));
    fc(l, "32 00 00 CC CC CC CC CC", MS(5));
    assert_int_equal(fx_nth(fx, ISOTP_EV_TX_ERROR, 0)->rc, ISOTP_EINVALID_FS);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_n_bs_below_and_above(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = ecu(fx, NULL);
    assert_int_equal(isotp_link_send(l, vin_msg, 20, 0), ISOTP_OK);
    isotp_link_poll(l, MS(1000));
    assert_int_equal(fx_count(fx, ISOTP_EV_TX_ERROR), 0);
    isotp_link_poll(l, MS(1000) + 1);
    assert_int_equal(fx_nth(fx, ISOTP_EV_TX_ERROR, 0)->rc, ISOTP_ETIMEOUT_BS);

    /* After a block too. */
    fx_clear(fx);
    uint8_t msg[40];
    fill(msg, sizeof msg);
    assert_int_equal(isotp_link_send(l, msg, sizeof msg, MS(2000)), ISOTP_OK);
    fc(l, "30 01 00 CC CC CC CC CC", MS(2100));
    isotp_link_poll(l, MS(3100));
    assert_int_equal(fx_count(fx, ISOTP_EV_TX_ERROR), 0);
    isotp_link_poll(l, MS(3100) + 1);
    assert_int_equal(fx_nth(fx, ISOTP_EV_TX_ERROR, 0)->rc, ISOTP_ETIMEOUT_BS);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_n_as_below_and_above(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    fx->default_rc = ISOTP_SEND_QUEUED;
    isotp_link *l = ecu(fx, NULL);
    /* A single frame is done when the bus confirms it, not when it is queued. */
    assert_int_equal(isotp_link_send(l, (const uint8_t *)"\x41\x00", 2, 0), ISOTP_OK);
    assert_int_equal(fx_count(fx, ISOTP_EV_TX_DONE), 0);
    isotp_link_poll(l, MS(1000));
    isotp_link_tx_done(l, MS(1000));
    assert_int_equal(fx_count(fx, ISOTP_EV_TX_DONE), 1);

    /* A first frame: N_Bs starts at its confirmation. */
    assert_int_equal(isotp_link_send(l, vin_msg, 20, MS(2000)), ISOTP_OK);
    isotp_link_tx_done(l, MS(2500));
    assert_int_equal(isotp_link_next_deadline_us(l), MS(3500) + 1);
    fc(l, "30 00 00 CC CC CC CC CC", MS(2600));
    isotp_link_tx_done(l, MS(2601)); /* CF1 */
    isotp_link_tx_done(l, MS(2602)); /* CF2 */
    assert_int_equal(fx_count(fx, ISOTP_EV_TX_DONE), 2);

    /* Never confirmed. */
    fx_clear(fx);
    assert_int_equal(isotp_link_send(l, vin_msg, 20, MS(5000)), ISOTP_OK);
    isotp_link_poll(l, MS(6000));
    assert_int_equal(fx_count(fx, ISOTP_EV_TX_ERROR), 0);
    isotp_link_poll(l, MS(6000) + 1);
    assert_int_equal(fx_nth(fx, ISOTP_EV_TX_ERROR, 0)->rc, ISOTP_ETIMEOUT_AS);

    /* Confirmed too late, with no poll in between: still the timeout. */
    fx_clear(fx);
    assert_int_equal(isotp_link_send(l, vin_msg, 20, MS(7000)), ISOTP_OK);
    isotp_link_tx_done(l, MS(8000) + 1);
    assert_int_equal(fx_nth(fx, ISOTP_EV_TX_ERROR, 0)->rc, ISOTP_ETIMEOUT_AS);
    assert_false(isotp_link_tx_busy(l));
    isotp_link_free(l);
    fx_free(fx);
}

static void test_fc_before_first_frame_confirmation(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    fx->default_rc = ISOTP_SEND_QUEUED;
    isotp_link *l = ecu(fx, NULL);
    assert_int_equal(isotp_link_send(l, vin_msg, 20, 0), ISOTP_OK);
    fc(l, "30 00 00 CC CC CC CC CC", MS(1)); /* the receiver was faster than our echo */
    assert_int_equal(fx->n_sent, 2);         /* CF1 queued */
    isotp_link_tx_done(l, MS(2));
    assert_int_equal(fx->n_sent, 3);
    isotp_link_tx_done(l, MS(3));
    assert_int_equal(fx_count(fx, ISOTP_EV_TX_DONE), 1);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_n_cs_below_and_above(void **state)
{
    (void)state;
    /* A late poll: the CF due at 10 ms still goes out at 10 ms + N_Cs ... */
    struct fx *fx = fx_new();
    isotp_link *l = start_with_stmin(fx, 0x0A);
    isotp_link_poll(l, MS(10) + MS(900));
    assert_int_equal(fx->n_sent, 3);
    isotp_link_free(l);
    fx_free(fx);
    /* ... but not a microsecond later. */
    fx = fx_new();
    l = start_with_stmin(fx, 0x0A);
    isotp_link_poll(l, MS(10) + MS(900) + 1);
    assert_int_equal(fx->n_sent, 2);
    assert_int_equal(fx_nth(fx, ISOTP_EV_TX_ERROR, 0)->rc, ISOTP_ETIMEOUT_CS);
    isotp_link_free(l);
    fx_free(fx);
    /* A bus that refuses the CF: offered again until N_Cs has passed. */
    fx = fx_new();
    l = start_with_stmin(fx, 0x0A);
    fx->default_rc = ISOTP_SEND_BUSY;
    isotp_link_poll(l, MS(10));
    assert_int_equal(fx->n_sent, 3);
    isotp_link_poll(l, MS(500));
    assert_int_equal(fx->n_sent, 4);
    isotp_link_poll(l, MS(910) + 1);
    assert_int_equal(fx_nth(fx, ISOTP_EV_TX_ERROR, 0)->rc, ISOTP_ETIMEOUT_CS);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_send_argument_errors(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = ecu(fx, NULL);
    static uint8_t big[4096];
    assert_int_equal(isotp_link_send(l, big, 0, 0), ISOTP_EINVAL);
    assert_int_equal(isotp_link_send(l, NULL, 3, 0), ISOTP_EINVAL);
    assert_int_equal(isotp_link_send(l, big, sizeof big, 0), ISOTP_ETOOLONG);
    assert_int_equal(isotp_link_send(NULL, big, 3, 0), ISOTP_EINVAL);
    assert_int_equal(isotp_link_send(l, vin_msg, 20, 0), ISOTP_OK);
    assert_int_equal(isotp_link_send(l, vin_msg, 3, 0), ISOTP_EBUSY);
    assert_int_equal(fx->n_events, 0);
    isotp_link_free(l);

    /* A bus error on the first frame is returned, not reported by event. */
    fx_clear(fx);
    fx->default_rc = -1;
    l = ecu(fx, NULL);
    assert_int_equal(isotp_link_send(l, vin_msg, 20, 0), ISOTP_ESEND);
    assert_false(isotp_link_tx_busy(l));
    assert_int_equal(fx->n_events, 0);
    /* On a consecutive frame it ends the transfer with an event. */
    fx->default_rc = ISOTP_SEND_DONE;
    assert_int_equal(isotp_link_send(l, vin_msg, 20, 0), ISOTP_OK);
    fx->default_rc = -1;
    fc(l, "30 00 00 CC CC CC CC CC", 1);
    assert_int_equal(fx_nth(fx, ISOTP_EV_TX_ERROR, 0)->rc, ISOTP_ESEND);
    assert_false(isotp_link_tx_busy(l));
    isotp_link_free(l);
    fx_free(fx);
}

static void test_flow_control_when_not_waiting(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = ecu(fx, NULL);
    fc(l, "30 00 00 CC CC CC CC CC", 0); /* nothing being sent */
    assert_int_equal(isotp_link_send(l, vin_msg, 20, 0), ISOTP_OK);
    fc(l, "30 00", 1); /* shorter than 3 bytes */
    assert_int_equal(fx->n_sent, 1);
    assert_int_equal(isotp_link_stats(l)->ignored, 2);
    fc(l, "30 00 00", 2);
    assert_int_equal(fx_count(fx, ISOTP_EV_TX_DONE), 1);
    fc(l, "30 00 00", 3); /* after the end: a stray */
    assert_int_equal(isotp_link_stats(l)->ignored, 3);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_full_duplex(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_link *l = ecu(fx, NULL);
    assert_int_equal(isotp_link_send(l, vin_msg, 20, 0), ISOTP_OK);
    fc(l, "02 01 00 CC CC CC CC CC", 1); /* a request arrives while we wait for FC */
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_DONE), 1);
    assert_true(isotp_link_tx_busy(l));
    fc(l, "30 00 00 CC CC CC CC CC", 2);
    assert_int_equal(fx_count(fx, ISOTP_EV_TX_DONE), 1);
    isotp_link_free(l);
    fx_free(fx);
}

static void test_29bit_ecu_link(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    struct isotp_link_config cfg = {.tx_id = ID29(0x18DAF100),
                                    .rx_id = ID29(0x18DA00F1),
                                    .functional = true,
                                    .func_id = ID29(0x18DB33F1)};
    isotp_params_default(&cfg.params);
    struct isotp_io io = fx_io(fx);
    isotp_link *l = isotp_link_new(&cfg, &io, NULL, 0);
    assert_non_null(l);
    struct can_frame_rec f = fx_frame(ID29(0x18DB33F1), "02 09 02 CC CC CC CC CC");
    assert_int_equal(isotp_link_on_frame(l, &f, 0), 1);
    assert_true(fx_nth(fx, ISOTP_EV_RX_DONE, 0)->functional);
    f = fx_frame(0x18DB33F1 & CAN_SFF_MASK, "02 09 02"); /* same bits, 11-bit: not ours */
    assert_int_equal(isotp_link_on_frame(l, &f, 0), 0);
    assert_int_equal(isotp_link_send(l, vin_msg, 20, MS(1)), ISOTP_OK);
    fx_assert_sent(fx, 0, ID29(0x18DAF100), "10 14 49 02 01 4C 46 56");
    f = fx_frame(ID29(0x18DA00F1), "30 00 00 CC CC CC CC CC");
    assert_int_equal(isotp_link_on_frame(l, &f, MS(2)), 1);
    fx_assert_sent(fx, 2, ID29(0x18DAF100), "22 33 30 34 35 36 33 31");
    assert_int_equal(fx_count(fx, ISOTP_EV_TX_DONE), 1);
    isotp_link_free(l);
    /* A 29-bit id with bits beyond the 29 is refused. */
    cfg.tx_id = CAN_FRAME_EFF | 0x3FFFFFFFu;
    char err[128] = "";
    assert_null(isotp_link_new(&cfg, &io, err, sizeof err));
    assert_non_null(strstr(err, "out of range"));
    fx_free(fx);
}

/* ---- two links on one in-memory bus -------------------------------------------------- */

struct wire {
    isotp_link *peer[2];
    struct can_frame_rec q[64];
    int dest[64];
    size_t n;
    uint64_t last_cf_us;
    uint64_t min_gap_us;
    size_t cfs;
};

struct end {
    struct wire *w;
    int side;
    struct fx *fx; /* events of this side */
};

static int wire_send(void *ctx, const struct can_frame_rec *f)
{
    struct end *e = ctx;
    struct wire *w = e->w;
    assert_true(w->n < 64);
    w->q[w->n] = *f;
    w->dest[w->n++] = !e->side;
    if (e->side == 1 && (f->data[0] >> 4) == 2) {
        /* Gaps inside a block of 3 (the first CF of a block follows the FC at once). */
        if (w->cfs % 3 != 0 && f->t_us - w->last_cf_us < w->min_gap_us)
            w->min_gap_us = f->t_us - w->last_cf_us;
        w->last_cf_us = f->t_us;
        w->cfs++;
    }
    return ISOTP_SEND_DONE;
}

static void wire_event(void *ctx, const struct isotp_event *ev)
{
    struct end *e = ctx;
    fx_on_event(e->fx, ev);
}

static void test_two_links_end_to_end(void **state)
{
    (void)state;
    struct fx *fx_tester = fx_new(), *fx_ecu = fx_new();
    struct wire w = {.min_gap_us = UINT64_MAX};
    struct end ends[2] = {{&w, 0, fx_tester}, {&w, 1, fx_ecu}};
    struct isotp_link_config tc = {.tx_id = TESTER_TX, .rx_id = ECU_TX};
    isotp_params_default(&tc.params);
    tc.params.block_size = 3;
    tc.params.st_min = 0xF2; /* 200 us */
    struct isotp_link_config ec = {.tx_id = ECU_TX, .rx_id = TESTER_TX};
    isotp_params_default(&ec.params);
    struct isotp_io io0 = {.send = wire_send, .on_event = wire_event, .ctx = &ends[0]};
    struct isotp_io io1 = {.send = wire_send, .on_event = wire_event, .ctx = &ends[1]};
    w.peer[0] = isotp_link_new(&tc, &io0, NULL, 0);
    w.peer[1] = isotp_link_new(&ec, &io1, NULL, 0);
    assert_non_null(w.peer[0]);
    assert_non_null(w.peer[1]);

    static uint8_t msg[4095];
    fill(msg, sizeof msg);
    uint64_t now = 0;
    assert_int_equal(isotp_link_send(w.peer[1], msg, sizeof msg, now), ISOTP_OK);
    for (int guard = 0; guard < 100000; guard++) {
        while (w.n) { /* deliver in order; deliveries may queue more */
            struct can_frame_rec f = w.q[0];
            int dest = w.dest[0];
            memmove(w.q, w.q + 1, (w.n - 1) * sizeof w.q[0]);
            memmove(w.dest, w.dest + 1, (w.n - 1) * sizeof w.dest[0]);
            w.n--;
            isotp_link_on_frame(w.peer[dest], &f, now);
        }
        uint64_t t0 = isotp_link_next_deadline_us(w.peer[0]);
        uint64_t t1 = isotp_link_next_deadline_us(w.peer[1]);
        uint64_t next = t0 < t1 ? t0 : t1;
        if (next == UINT64_MAX)
            break;
        now = next > now ? next : now;
        isotp_link_poll(w.peer[0], now);
        isotp_link_poll(w.peer[1], now);
    }
    assert_int_equal(fx_count(fx_tester, ISOTP_EV_RX_DONE), 1);
    const struct isotp_event *ev = fx_nth(fx_tester, ISOTP_EV_RX_DONE, 0);
    assert_int_equal(ev->len, sizeof msg);
    assert_memory_equal(ev->data, msg, sizeof msg);
    assert_int_equal(fx_count(fx_ecu, ISOTP_EV_TX_DONE), 1);
    assert_int_equal(w.cfs, 585);
    assert_int_equal(w.min_gap_us, 200);                           /* STmin 0xF2 */
    assert_int_equal(isotp_link_stats(w.peer[0])->frames_tx, 195); /* one FC per 3 CFs */
    isotp_link_free(w.peer[0]);
    isotp_link_free(w.peer[1]);
    fx_free(fx_tester);
    fx_free(fx_ecu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_single_frame),
        cmocka_unit_test(test_send_vin_multi_frame),
        cmocka_unit_test(test_unpadded_last_consecutive_frame),
        cmocka_unit_test(test_block_size_honoured),
        cmocka_unit_test(test_stmin_milliseconds),
        cmocka_unit_test(test_stmin_microseconds),
        cmocka_unit_test(test_stmin_reserved_values_mean_127ms),
        cmocka_unit_test(test_stmin_zero_sends_a_block_at_once),
        cmocka_unit_test(test_first_flow_control_parameters_kept),
        cmocka_unit_test(test_wait_frames_extend_n_bs),
        cmocka_unit_test(test_wait_frames_beyond_wft_max),
        cmocka_unit_test(test_overflow_and_reserved_flow_status),
        cmocka_unit_test(test_n_bs_below_and_above),
        cmocka_unit_test(test_n_as_below_and_above),
        cmocka_unit_test(test_fc_before_first_frame_confirmation),
        cmocka_unit_test(test_n_cs_below_and_above),
        cmocka_unit_test(test_send_argument_errors),
        cmocka_unit_test(test_flow_control_when_not_waiting),
        cmocka_unit_test(test_full_duplex),
        cmocka_unit_test(test_29bit_ecu_link),
        cmocka_unit_test(test_two_links_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
