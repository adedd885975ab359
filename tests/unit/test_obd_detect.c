/* SPDX-License-Identifier: MIT */
/*
 * obd_detect (ISO 15765-4 initialisation), driven frame by frame: 11-bit or 29-bit at
 * 500 k or 250 k, nobody answering, error frames at a wrong bitrate, a bus that cannot
 * switch, and frames left for the J1939 detector.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "isotp_fixture.h"
#include "obd.h"

struct bus {
    struct fx *fx;
    uint32_t bitrates[8];
    size_t n_bitrates;
    uint32_t refuse; /* set_bitrate fails for this one */
};

static int bus_send(void *ctx, const struct can_frame_rec *f)
{
    struct bus *b = ctx;
    return fx_send(b->fx, f);
}

static int bus_set_bitrate(void *ctx, uint32_t bitrate)
{
    struct bus *b = ctx;
    assert_true(b->n_bitrates < 8);
    b->bitrates[b->n_bitrates++] = bitrate;
    return bitrate == b->refuse ? -1 : 0;
}

static obd_detect *detector(struct bus *b, bool switchable)
{
    struct obd_detect_config cfg;
    obd_detect_config_default(&cfg);
    struct obd_detect_bus db = {
        .send = bus_send, .set_bitrate = switchable ? bus_set_bitrate : NULL, .ctx = b};
    char err[128];
    obd_detect *d = obd_detect_new(&cfg, &db, err, sizeof err);
    if (!d)
        fail_msg("obd_detect_new: %s", err);
    return d;
}

static int frame(obd_detect *d, uint32_t id, const char *hex, uint64_t t)
{
    struct can_frame_rec f = fx_frame(id, hex);
    return obd_detect_on_frame(d, &f, t);
}

static void test_found_11bit_at_500k(void **state)
{
    (void)state;
    struct bus b = {.fx = fx_new()};
    obd_detect *d = detector(&b, true);
    assert_int_equal(obd_detect_start(d, 0), OBD_OK);
    assert_int_equal(b.n_bitrates, 1);
    assert_int_equal(b.bitrates[0], 500000);
    fx_assert_sent(b.fx, 0, 0x7DF, "02 01 00 CC CC CC CC CC");
    assert_int_equal(obd_detect_poll(d, MS(10)), OBD_DETECT_RUNNING);
    assert_int_equal(frame(d, 0x7E8, "06 41 00 BE 3E B8 11 00", MS(12)), 1);
    assert_int_equal(frame(d, 0x7E9, "03 7F 01 11", MS(13)), 1);
    assert_int_equal(obd_detect_next_deadline_us(d), MS(100) + 1);
    assert_int_equal(obd_detect_poll(d, MS(100) + 1), OBD_DETECT_FOUND);
    const struct obd_detect_result *r = obd_detect_result(d);
    assert_int_equal(r->addressing, OBD_CAN_11BIT);
    assert_int_equal(r->bitrate, 500000);
    assert_int_equal(r->n_ecus, 2);
    assert_int_equal(r->ecus[0].rx_id, 0x7E8);
    assert_true(r->ecus[0].positive);
    assert_true(obd_pid_supported(&r->ecus[0].pids, 0x0C));
    assert_false(r->ecus[1].positive); /* a negative answer still proves the protocol */
    assert_int_equal(r->attempts, 1);
    assert_string_equal(r->log, "500k 11-bit: 2 ECU(s) answered");
    assert_int_equal(b.fx->n_sent, 1);
    assert_int_equal(obd_detect_next_deadline_us(d), UINT64_MAX);
    obd_detect_free(d);
    fx_free(b.fx);
}

static void test_found_29bit(void **state)
{
    (void)state;
    struct bus b = {.fx = fx_new()};
    obd_detect *d = detector(&b, true);
    obd_detect_start(d, 0);
    assert_int_equal(obd_detect_poll(d, MS(100) + 1), OBD_DETECT_RUNNING);
    /* The 11-bit attempt found nobody; the 29-bit request is out, same bitrate. */
    assert_int_equal(b.fx->n_sent, 2);
    fx_assert_sent(b.fx, 1, ID29(0x18DB33F1), "02 01 00 CC CC CC CC CC");
    assert_int_equal(b.n_bitrates, 1);
    assert_int_equal(frame(d, ID29(0x18DAF100), "06 41 00 BE 3E B8 11 00", MS(120)), 1);
    assert_int_equal(frame(d, ID29(0x18DAF13D), "06 41 00 80 00 00 00 00", MS(121)), 1);
    assert_int_equal(obd_detect_poll(d, MS(200) + 2), OBD_DETECT_FOUND);
    const struct obd_detect_result *r = obd_detect_result(d);
    assert_int_equal(r->addressing, OBD_CAN_29BIT);
    assert_int_equal(r->bitrate, 500000);
    assert_int_equal(r->n_ecus, 2);
    assert_int_equal(r->ecus[1].ecu, 0x3D);
    assert_string_equal(r->log, "500k 11-bit: no answer; 500k 29-bit: 2 ECU(s) answered");
    obd_detect_free(d);
    fx_free(b.fx);
}

static void test_nobody_answers(void **state)
{
    (void)state;
    struct bus b = {.fx = fx_new()};
    obd_detect *d = detector(&b, true);
    obd_detect_start(d, 0);
    uint64_t t = 0;
    enum obd_detect_state st = OBD_DETECT_RUNNING;
    for (int i = 0; i < 20 && st == OBD_DETECT_RUNNING; i++) {
        t = obd_detect_next_deadline_us(d);
        st = obd_detect_poll(d, t);
    }
    assert_int_equal(st, OBD_DETECT_NONE);
    assert_int_equal(t, MS(400) + 4);
    const struct obd_detect_result *r = obd_detect_result(d);
    assert_int_equal(r->attempts, 4);
    assert_int_equal(b.n_bitrates, 2);
    assert_int_equal(b.bitrates[1], 250000);
    assert_string_equal(r->log, "500k 11-bit: no answer; 500k 29-bit: no answer; "
                                "250k 11-bit: no answer; 250k 29-bit: no answer");
    assert_int_equal(b.fx->n_sent, 4);
    assert_int_equal(obd_detect_poll(d, t + MS(1000)), OBD_DETECT_NONE);
    obd_detect_free(d);
    fx_free(b.fx);
}

static void test_error_frames_skip_the_bitrate(void **state)
{
    (void)state;
    struct bus b = {.fx = fx_new()};
    obd_detect *d = detector(&b, true);
    obd_detect_start(d, 0);
    struct can_frame_rec err = {.id = CAN_FRAME_ERR | 0x004, .len = 8};
    for (int i = 0; i < 3; i++)
        assert_int_equal(obd_detect_on_frame(d, &err, MS(1 + i)), 1);
    assert_int_equal(obd_detect_poll(d, MS(4)), OBD_DETECT_RUNNING);
    /* Straight to 250 k, 11-bit: the 29-bit attempt at 500 k is skipped. */
    assert_int_equal(b.n_bitrates, 2);
    assert_int_equal(b.bitrates[1], 250000);
    fx_assert_sent(b.fx, 1, 0x7DF, "02 01 00 CC CC CC CC CC");
    assert_int_equal(frame(d, 0x7E8, "06 41 00 BE 3E B8 11 00", MS(10)), 1);
    assert_int_equal(obd_detect_poll(d, MS(104) + 1), OBD_DETECT_FOUND);
    const struct obd_detect_result *r = obd_detect_result(d);
    assert_int_equal(r->bitrate, 250000);
    assert_int_equal(r->addressing, OBD_CAN_11BIT);
    assert_string_equal(r->log, "500k 11-bit: 3 error frames, wrong bitrate; "
                                "250k 11-bit: 1 ECU(s) answered");
    obd_detect_free(d);
    fx_free(b.fx);
}

static void test_bus_that_cannot_switch(void **state)
{
    (void)state;
    struct bus b = {.fx = fx_new(), .refuse = 500000};
    obd_detect *d = detector(&b, true);
    obd_detect_start(d, 0);
    assert_int_equal(b.n_bitrates, 2); /* 500 k refused, 250 k taken */
    assert_string_equal(obd_detect_result(d)->log,
                        "500k 11-bit: cannot switch the bus to this bitrate");
    obd_detect_free(d);
    fx_free(b.fx);

    /* Without set_bitrate: the bus's own bitrate, two attempts. */
    b = (struct bus){.fx = fx_new()};
    d = detector(&b, false);
    obd_detect_start(d, 0);
    assert_int_equal(obd_detect_poll(d, MS(100) + 1), OBD_DETECT_RUNNING);
    assert_int_equal(obd_detect_poll(d, MS(200) + 2), OBD_DETECT_NONE);
    assert_int_equal(obd_detect_result(d)->bitrate, 0);
    assert_string_equal(obd_detect_result(d)->log,
                        "bus bitrate 11-bit: no answer; bus bitrate 29-bit: no answer");
    assert_int_equal(b.n_bitrates, 0);
    obd_detect_free(d);
    fx_free(b.fx);
}

static void test_frames_left_for_j1939(void **state)
{
    (void)state;
    struct bus b = {.fx = fx_new()};
    obd_detect *d = detector(&b, true);
    assert_int_equal(frame(d, 0x7E8, "06 41 00 BE 3E B8 11 00", 0), 0); /* not started */
    obd_detect_start(d, 0);
    obd_detect_poll(d, MS(100) + 1); /* now on 29-bit */
    assert_int_equal(frame(d, ID29(0x18FECA00), "00 FF 00 00 00 00 FF FF", MS(101)), 0);
    assert_int_equal(frame(d, ID29(0x0CF00400), "F0 7D 7D 00 00 00 F0 7D", MS(102)), 0);
    assert_int_equal(frame(d, 0x7E8, "06 41 00 BE 3E B8 11 00", MS(103)), 0); /* 11-bit: over */
    assert_int_equal(frame(d, ID29(0x18DAF100), "06 41 00 BE 3E B8 11 00", MS(104)), 1);
    obd_detect_free(d);
    fx_free(b.fx);
}

static void test_detect_configuration(void **state)
{
    (void)state;
    struct bus b = {.fx = fx_new()};
    struct obd_detect_config cfg;
    obd_detect_config_default(&cfg);
    assert_int_equal(cfg.bitrates[0], 500000);
    assert_int_equal(cfg.bitrates[1], 250000);
    struct obd_detect_bus db = {.send = bus_send, .set_bitrate = bus_set_bitrate, .ctx = &b};
    char err[128] = "";
    cfg.n_bitrates = 0;
    assert_null(obd_detect_new(&cfg, &db, err, sizeof err));
    assert_non_null(strstr(err, "bitrates"));
    obd_detect_config_default(&cfg);
    cfg.wait_ms = 0;
    assert_null(obd_detect_new(&cfg, &db, err, sizeof err));
    assert_int_equal(obd_detect_poll(NULL, 0), OBD_DETECT_IDLE);
    obd_detect_free(NULL);
    fx_free(b.fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_found_11bit_at_500k),
        cmocka_unit_test(test_found_29bit),
        cmocka_unit_test(test_nobody_answers),
        cmocka_unit_test(test_error_frames_skip_the_bitrate),
        cmocka_unit_test(test_bus_that_cannot_switch),
        cmocka_unit_test(test_frames_left_for_j1939),
        cmocka_unit_test(test_detect_configuration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
