/* SPDX-License-Identifier: MIT */
/*
 * obd_query, frame by frame: one functional request and the answers of several ECUs
 * (PID 00, Mode 03 with 0/1/3/many DTCs interleaved, Mode 09 VIN / CAL ID / CVN),
 * negative responses, 0x78 response pending, P2, 29-bit, physical requests.
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

static obd_query *query(struct fx *fx, enum obd_can_addressing a)
{
    struct obd_query_config cfg;
    obd_query_config_default(&cfg, a);
    struct obd_bus bus = {.send = fx_send, .ctx = fx};
    char err[128];
    obd_query *q = obd_query_new(&cfg, &bus, err, sizeof err);
    if (!q)
        fail_msg("obd_query_new: %s", err);
    return q;
}

static void start(obd_query *q, const char *req_hex, uint64_t t)
{
    uint8_t req[8];
    size_t n = fx_bytes(req_hex, req, sizeof req);
    assert_int_equal(obd_query_start(q, req, n, t), OBD_OK);
    assert_true(obd_query_running(q));
}

static void frame(obd_query *q, uint32_t id, const char *hex, uint64_t t)
{
    struct can_frame_rec f = fx_frame(id, hex);
    assert_int_equal(obd_query_on_frame(q, &f, t), 1);
}

struct answer {
    uint32_t id;
    uint8_t msg[600];
    size_t len;
    struct can_frame_rec frames[100];
    size_t n, next;
};

static void answer_hex(struct answer *a, uint32_t id, const char *hex)
{
    a->id = id;
    a->len = fx_bytes(hex, a->msg, sizeof a->msg);
}

/* Feeds the answers' frames round robin from t0, one every millisecond. */
static uint64_t interleave(obd_query *q, struct answer *a, size_t na, uint64_t t0)
{
    for (size_t i = 0; i < na; i++) {
        a[i].n = fx_segments(a[i].id, a[i].msg, a[i].len, 0x55, a[i].frames, 100);
        a[i].next = 0;
    }
    uint64_t t = t0;
    for (bool more = true; more;) {
        more = false;
        for (size_t i = 0; i < na; i++) {
            if (a[i].next == a[i].n)
                continue;
            assert_int_equal(obd_query_on_frame(q, &a[i].frames[a[i].next++], t), 1);
            obd_query_poll(q, t);
            t += MS(1);
            more = true;
        }
    }
    return t;
}

/* Polls until the query ends; returns when. */
static uint64_t finish(obd_query *q, uint64_t t)
{
    for (int i = 0; i < 100 && obd_query_poll(q, t); i++)
        t = obd_query_next_deadline_us(q);
    assert_false(obd_query_running(q));
    return t;
}

static const struct obd_response *resp_of(const obd_query *q, uint8_t ecu)
{
    for (size_t i = 0; i < obd_query_count(q); i++)
        if (obd_query_response(q, i)->ecu == ecu)
            return obd_query_response(q, i);
    fail_msg("no response from ECU %u", ecu);
    return NULL;
}

static size_t fcs_to(const struct fx *fx, uint32_t id)
{
    size_t n = 0;
    for (size_t i = 0; i < fx->n_sent; i++)
        n += fx->sent[i].id == id && fx->sent[i].data[0] >> 4 == 3;
    return n;
}

static void test_supported_pids_two_ecus_and_p2(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    obd_query *q = query(fx, OBD_CAN_11BIT);
    start(q, "01 00", 0);
    fx_assert_sent(fx, 0, 0x7DF, "02 01 00 CC CC CC CC CC");
    frame(q, 0x7E8, "06 41 00 BE 3E B8 11 55", MS(10));
    frame(q, 0x7E9, "06 41 00 98 08 00 01 55", MS(20));
    assert_int_equal(obd_query_next_deadline_us(q), MS(100) + 1);
    assert_int_equal(obd_query_poll(q, MS(100)), 1);
    assert_int_equal(obd_query_poll(q, MS(100) + 1), 0);
    assert_int_equal(obd_query_count(q), 2);
    const struct obd_response *r = resp_of(q, 0);
    assert_int_equal(r->status, OBD_RESP_POSITIVE);
    assert_int_equal(r->rx_id, 0x7E8);
    struct obd_pid_support s = {0};
    assert_int_equal(obd_decode_supported(r->data, r->len, &s), 1);
    assert_true(obd_pid_supported(&s, 0x0C));
    r = resp_of(q, 1);
    memset(&s, 0, sizeof s);
    assert_int_equal(obd_decode_supported(r->data, r->len, &s), 1);
    assert_true(obd_pid_supported(&s, 0x01));
    assert_false(obd_pid_supported(&s, 0x0C));
    assert_true(obd_pid_supported(&s, 0x20));
    assert_int_equal(obd_query_poll(q, MS(200)), 0);
    obd_query_free(q);
    fx_free(fx);
}

static void test_mode03_dtcs_across_ecus(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    obd_query *q = query(fx, OBD_CAN_11BIT);
    start(q, "03", 0);
    fx_assert_sent(fx, 0, 0x7DF, "01 03 CC CC CC CC CC CC");
    struct answer *a = calloc(4, sizeof *a);
    answer_hex(&a[0], 0x7E8, "43 00");
    answer_hex(&a[1], 0x7E9, "43 01 01 23");
    answer_hex(&a[2], 0x7EA, "43 03 41 23 81 00 C3 45"); /* 8 bytes: segmented */
    a[3].id = 0x7EB;                                     /* 120 DTCs: 242 bytes */
    a[3].msg[0] = 0x43;
    a[3].msg[1] = 120;
    for (unsigned i = 0; i < 120; i++) {
        a[3].msg[2 + 2 * i] = (uint8_t)(0x20 | i >> 8);
        a[3].msg[3 + 2 * i] = (uint8_t)(0x01 + i);
    }
    a[3].len = 242;
    uint64_t t = interleave(q, a, 4, MS(5));
    finish(q, t);
    assert_int_equal(obd_query_count(q), 4);
    /* Each segmented answer had its flow control on its own ECU's id. */
    assert_int_equal(fcs_to(fx, 0x7E2), 1);
    assert_int_equal(fcs_to(fx, 0x7E3), 1);
    assert_int_equal(fcs_to(fx, 0x7E0) + fcs_to(fx, 0x7E1), 0);

    struct obd_dtc_list *l = calloc(1, sizeof *l);
    char err[128];
    const struct obd_response *r = resp_of(q, 0);
    assert_int_equal(obd_decode_dtcs(r->data, r->len, l, err, sizeof err), 0);
    r = resp_of(q, 1);
    assert_int_equal(obd_decode_dtcs(r->data, r->len, l, err, sizeof err), 1);
    assert_string_equal(l->dtc[0].code, "P0123");
    r = resp_of(q, 2);
    assert_int_equal(obd_decode_dtcs(r->data, r->len, l, err, sizeof err), 3);
    assert_string_equal(l->dtc[2].code, "U0345");
    r = resp_of(q, 3);
    assert_int_equal(r->len, 242);
    assert_int_equal(obd_decode_dtcs(r->data, r->len, l, err, sizeof err), 120);
    assert_string_equal(l->dtc[0].code, "P2001");
    assert_string_equal(l->dtc[119].code, "P2078");
    assert_false(l->count_mismatch);
    free(l);
    free(a);
    obd_query_free(q);
    fx_free(fx);
}

static void test_mode09_vin_multi_frame(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    obd_query *q = query(fx, OBD_CAN_11BIT);
    start(q, "09 02", 0);
    frame(q, 0x7E8, "10 14 49 02 01 4C 46 56", MS(15));
    fx_assert_sent(fx, 1, 0x7E0, "30 00 00 CC CC CC CC CC");
    frame(q, 0x7E8, "21 32 41 32 31 4B 30 41", MS(16));
    frame(q, 0x7E8, "22 33 30 34 35 36 33 31", MS(17));
    finish(q, MS(17));
    const struct obd_response *r = resp_of(q, 0);
    assert_int_equal(r->status, OBD_RESP_POSITIVE);
    char vin[18], err[128];
    assert_int_equal(obd_decode_vin(r->data, r->len, vin, err, sizeof err), OBD_OK);
    assert_string_equal(vin, "LFV2A21K0A3045631");
    obd_query_free(q);
    fx_free(fx);
}

static void test_calibration_ids_and_cvns_two_ecus(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    obd_query *q = query(fx, OBD_CAN_11BIT);
    start(q, "09 04", 0);
    struct answer *a = calloc(2, sizeof *a);
    /* Engine: one CAL ID; aftertreatment: two. */
    answer_hex(&a[0], 0x7E8, "49 04 01 4A 4D 42 2A 33 36 37 36 31 35 30 30 00 00 00 00");
    answer_hex(&a[1], 0x7E9,
               "49 04 02 50 35 42 46 30 30 30 30 53 43 52 30 31 56 30 32"
               " 41 42 43 44 45 46 47 48 49 4A 4B 4C 4D 4E 4F 50");
    uint64_t t = interleave(q, a, 2, MS(5));
    t = finish(q, t);
    struct obd_calid_list cal;
    char err[128];
    const struct obd_response *r = resp_of(q, 0);
    assert_int_equal(obd_decode_calids(r->data, r->len, &cal, err, sizeof err), 1);
    assert_string_equal(cal.id[0], "JMB*36761500");
    r = resp_of(q, 1);
    assert_int_equal(obd_decode_calids(r->data, r->len, &cal, err, sizeof err), 2);
    assert_string_equal(cal.id[0], "P5BF0000SCR01V02");
    assert_string_equal(cal.id[1], "ABCDEFGHIJKLMNOP");

    start(q, "09 06", t + MS(10));
    frame(q, 0x7E9, "10 0B 49 06 02 17 91 BC", t + MS(20));
    frame(q, 0x7E8, "07 49 06 01 A1 B2 C3 D4", t + MS(21));
    frame(q, 0x7E9, "21 82 16 E0 62 BE 55 55", t + MS(22));
    finish(q, t + MS(22));
    struct obd_cvn_list cvn;
    r = resp_of(q, 0);
    assert_int_equal(obd_decode_cvns(r->data, r->len, &cvn, err, sizeof err), 1);
    assert_string_equal(cvn.hex[0], "A1B2C3D4");
    r = resp_of(q, 1);
    assert_int_equal(obd_decode_cvns(r->data, r->len, &cvn, err, sizeof err), 2);
    assert_string_equal(cvn.hex[0], "1791BC82");
    assert_string_equal(cvn.hex[1], "16E062BE");
    free(a);
    obd_query_free(q);
    fx_free(fx);
}

static void test_negative_response(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    obd_query *q = query(fx, OBD_CAN_11BIT);
    start(q, "09 0A", 0);
    frame(q, 0x7E8, "03 7F 09 31 55 55 55 55", MS(8));
    frame(q, 0x7E9, "10 17 49 0A 01 44 43 4D", MS(9));
    frame(q, 0x7E9, "21 2D 41 66 74 65 72 74", MS(10));
    frame(q, 0x7E9, "22 72 65 61 74 6D 65 6E", MS(11));
    frame(q, 0x7E9, "23 74 00 00 00 00 00 00", MS(12));
    finish(q, MS(12));
    const struct obd_response *r = resp_of(q, 0);
    assert_int_equal(r->status, OBD_RESP_NEGATIVE);
    assert_int_equal(r->nrc, 0x31);
    assert_string_equal(obd_nrc_name(r->nrc), "requestOutOfRange");
    r = resp_of(q, 1);
    assert_int_equal(r->status, OBD_RESP_POSITIVE);
    char name[21], err[128];
    assert_int_equal(obd_decode_ecu_name(r->data, r->len, name, err, sizeof err), OBD_OK);
    assert_string_equal(name, "DCM-Aftertreatment");
    obd_query_free(q);
    fx_free(fx);
}

static void test_response_pending_extends_the_wait(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    obd_query *q = query(fx, OBD_CAN_11BIT);
    start(q, "09 02", 0);
    frame(q, 0x7E8, "03 7F 09 78", MS(30));
    frame(q, 0x7E9, "03 7F 09 11", MS(31));
    assert_int_equal(obd_query_poll(q, MS(100) + 1), 1); /* P2 over, but ECU 0 asked for P2* */
    assert_int_equal(resp_of(q, 0)->status, OBD_RESP_PENDING);
    assert_int_equal(resp_of(q, 0)->pending, 1);
    assert_int_equal(obd_query_next_deadline_us(q), MS(5030) + 1);
    frame(q, 0x7E8, "03 7F 09 78", MS(2000)); /* again: P2* from now */
    assert_int_equal(obd_query_next_deadline_us(q), MS(7000) + 1);
    frame(q, 0x7E8, "10 14 49 02 01 4C 46 56", MS(3000));
    frame(q, 0x7E8, "21 32 41 32 31 4B 30 41", MS(3001));
    frame(q, 0x7E8, "22 33 30 34 35 36 33 31", MS(3002));
    assert_int_equal(obd_query_poll(q, MS(3002)), 0);
    const struct obd_response *r = resp_of(q, 0);
    assert_int_equal(r->status, OBD_RESP_POSITIVE);
    assert_int_equal(r->pending, 2);
    assert_int_equal(r->len, 20);
    assert_int_equal(resp_of(q, 1)->status, OBD_RESP_NEGATIVE);
    assert_string_equal(obd_nrc_name(resp_of(q, 1)->nrc), "serviceNotSupported");
    obd_query_free(q);
    fx_free(fx);
}

static void test_response_pending_then_silence(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    obd_query *q = query(fx, OBD_CAN_11BIT);
    start(q, "09 02", 0);
    frame(q, 0x7E8, "03 7F 09 78", MS(30));
    assert_int_equal(obd_query_poll(q, MS(5030)), 1);
    assert_int_equal(obd_query_poll(q, MS(5030) + 1), 0);
    assert_int_equal(resp_of(q, 0)->status, OBD_RESP_TIMEOUT);
    obd_query_free(q);

    /* An ECU that keeps saying 0x78 is not waited for forever. */
    struct obd_query_config cfg;
    obd_query_config_default(&cfg, OBD_CAN_11BIT);
    cfg.max_pending = 2;
    struct obd_bus bus = {.send = fx_send, .ctx = fx};
    q = obd_query_new(&cfg, &bus, NULL, 0);
    start(q, "09 02", 0);
    frame(q, 0x7E8, "03 7F 09 78", MS(30));
    frame(q, 0x7E8, "03 7F 09 78", MS(1000));
    assert_int_equal(resp_of(q, 0)->status, OBD_RESP_PENDING);
    frame(q, 0x7E8, "03 7F 09 78", MS(2000));
    assert_int_equal(resp_of(q, 0)->status, OBD_RESP_NEGATIVE);
    assert_int_equal(resp_of(q, 0)->nrc, 0x78);
    assert_int_equal(obd_query_poll(q, MS(2000)), 0);
    obd_query_free(q);
    fx_free(fx);
}

static void test_segmented_answer_outlasts_p2(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    obd_query *q = query(fx, OBD_CAN_11BIT);
    start(q, "09 02", 0);
    frame(q, 0x7E8, "10 14 49 02 01 4C 46 56", MS(90));
    assert_int_equal(resp_of(q, 0)->status, OBD_RESP_RECEIVING);
    frame(q, 0x7E8, "21 32 41 32 31 4B 30 41", MS(150));
    assert_int_equal(obd_query_poll(q, MS(150)), 1);
    frame(q, 0x7E8, "22 33 30 34 35 36 33 31", MS(900));
    assert_int_equal(obd_query_poll(q, MS(900)), 0);
    assert_int_equal(resp_of(q, 0)->status, OBD_RESP_POSITIVE);

    /* One that stops half way ends the query by N_Cr, as an error. */
    start(q, "09 02", MS(1000));
    frame(q, 0x7E8, "10 14 49 02 01 4C 46 56", MS(1010));
    uint64_t t = finish(q, MS(1010));
    assert_int_equal(t, MS(2010) + 1);
    assert_int_equal(resp_of(q, 0)->status, OBD_RESP_ERROR);
    assert_int_equal(resp_of(q, 0)->isotp_rc, ISOTP_ETIMEOUT_CR);
    obd_query_free(q);
    fx_free(fx);
}

static void test_unrelated_duplicate_and_late_answers(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    obd_query *q = query(fx, OBD_CAN_11BIT);
    start(q, "01 00", 0);
    frame(q, 0x7E8, "03 41 0D 32", MS(5));             /* answer to something else */
    frame(q, 0x7E8, "03 7F 03 11", MS(6));             /* negative, other service */
    frame(q, 0x7E8, "10 0A 43 04 01 23 02 34", MS(7)); /* segmented, other service */
    frame(q, 0x7E8, "21 03 45 04 56 55 55 55", MS(8));
    assert_int_equal(obd_query_count(q), 0);
    frame(q, 0x7E8, "06 41 00 BE 3E B8 11", MS(9));
    frame(q, 0x7E8, "06 41 00 FF FF FF FF", MS(10)); /* a second answer: ignored */
    finish(q, MS(10));
    frame(q, 0x7E9, "06 41 00 BE 3E B8 11", MS(500)); /* late */
    assert_int_equal(obd_query_count(q), 1);
    assert_int_equal(resp_of(q, 0)->data[2], 0xBE);
    assert_int_equal(obd_query_ignored(q), 5);
    struct can_frame_rec f = fx_frame(ID29(0x18FECA00), "00 FF 00 00 00 00 FF FF");
    assert_int_equal(obd_query_on_frame(q, &f, MS(501)), 0); /* J1939 DM1: not ours */
    obd_query_free(q);
    fx_free(fx);
}

static void test_29bit_two_ecus(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    obd_query *q = query(fx, OBD_CAN_29BIT);
    start(q, "03", 0);
    fx_assert_sent(fx, 0, ID29(0x18DB33F1), "01 03 CC CC CC CC CC CC");
    struct answer *a = calloc(2, sizeof *a);
    answer_hex(&a[0], ID29(0x18DAF100), "43 02 01 23 02 34");
    answer_hex(&a[1], ID29(0x18DAF13D), "43 04 20 01 20 02 20 03 20 04");
    uint64_t t = interleave(q, a, 2, MS(2));
    finish(q, t);
    assert_int_equal(obd_query_count(q), 2);
    assert_int_equal(fcs_to(fx, ID29(0x18DA3DF1)), 1);
    assert_int_equal(fcs_to(fx, ID29(0x18DA00F1)), 0); /* single frame: no FC */
    struct obd_dtc_list *l = calloc(1, sizeof *l);
    const struct obd_response *r = resp_of(q, 0x3D);
    assert_int_equal(r->rx_id, ID29(0x18DAF13D));
    assert_int_equal(obd_decode_dtcs(r->data, r->len, l, NULL, 0), 4);
    assert_string_equal(l->dtc[3].code, "P2004");
    r = resp_of(q, 0x00);
    assert_int_equal(obd_decode_dtcs(r->data, r->len, l, NULL, 0), 2);
    assert_string_equal(l->dtc[1].code, "P0234");
    free(l);
    free(a);
    obd_query_free(q);
    fx_free(fx);
}

static void test_more_ecus_than_kept(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    obd_query *q = query(fx, OBD_CAN_29BIT);
    start(q, "01 00", 0);
    for (uint32_t i = 0; i < 10; i++) {
        struct can_frame_rec f = fx_frame(ID29(0x18DAF100 + i), "06 41 00 80 00 00 00");
        assert_int_equal(obd_query_on_frame(q, &f, MS(1 + i)), 1);
    }
    finish(q, MS(20));
    assert_int_equal(obd_query_count(q), OBD_MAX_ECUS);
    assert_int_equal(obd_query_ignored(q), 2);
    obd_query_free(q);
    fx_free(fx);
}

static void test_physical_request(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    obd_query *q = query(fx, OBD_CAN_11BIT);
    uint8_t req[2] = {0x09, 0x02};
    assert_int_equal(obd_query_start_physical(q, 1, req, 2, 0), OBD_OK);
    fx_assert_sent(fx, 0, 0x7E1, "02 09 02 CC CC CC CC CC");
    frame(q, 0x7E8, "03 7F 09 31", MS(5)); /* not the ECU asked */
    frame(q, 0x7E9, "03 7F 09 12", MS(6));
    finish(q, MS(6));
    assert_int_equal(obd_query_count(q), 1);
    assert_int_equal(resp_of(q, 1)->nrc, 0x12);
    obd_query_free(q);
    fx_free(fx);
}

static void test_start_errors_and_cancel(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    obd_query *q = query(fx, OBD_CAN_11BIT);
    uint8_t req[8] = {0x01, 0x00};
    assert_int_equal(obd_query_start(q, req, 0, 0), OBD_EINVAL);
    assert_int_equal(obd_query_start(q, req, 8, 0), OBD_EINVAL); /* functional: SF only */
    assert_int_equal(obd_query_start(q, req, 2, 0), OBD_OK);
    assert_int_equal(obd_query_start(q, req, 2, 0), OBD_EBUSY);
    frame(q, 0x7E8, "03 7F 01 78", MS(1));
    frame(q, 0x7E9, "10 08 41 00 BE 3E B8 11", MS(2));
    obd_query_cancel(q, MS(3));
    assert_false(obd_query_running(q));
    assert_int_equal(resp_of(q, 0)->status, OBD_RESP_TIMEOUT);
    assert_int_equal(resp_of(q, 1)->status, OBD_RESP_TIMEOUT);
    assert_int_equal(obd_query_next_deadline_us(q), UINT64_MAX);
    assert_int_equal(obd_query_poll(q, MS(4)), 0);

    /* The bus refuses the request. */
    fx->default_rc = -1;
    assert_int_equal(obd_query_start(q, req, 2, MS(10)), OBD_ESEND);
    assert_false(obd_query_running(q));
    assert_int_equal(obd_query_request_rc(q), ISOTP_ESEND);
    /* ... or takes it and never confirms it (N_As). */
    fx->default_rc = ISOTP_SEND_QUEUED;
    assert_int_equal(obd_query_start(q, req, 2, MS(20)), OBD_OK);
    finish(q, MS(20));
    assert_int_equal(obd_query_request_rc(q), ISOTP_ETIMEOUT_AS);
    obd_query_free(q);

    struct obd_query_config cfg;
    obd_query_config_default(&cfg, OBD_CAN_11BIT);
    cfg.p2_ms = 0;
    struct obd_bus bus = {.send = fx_send, .ctx = fx};
    char err[128] = "";
    assert_null(obd_query_new(&cfg, &bus, err, sizeof err));
    assert_non_null(strstr(err, "p2_ms"));
    obd_query_free(NULL);
    fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_supported_pids_two_ecus_and_p2),
        cmocka_unit_test(test_mode03_dtcs_across_ecus),
        cmocka_unit_test(test_mode09_vin_multi_frame),
        cmocka_unit_test(test_calibration_ids_and_cvns_two_ecus),
        cmocka_unit_test(test_negative_response),
        cmocka_unit_test(test_response_pending_extends_the_wait),
        cmocka_unit_test(test_response_pending_then_silence),
        cmocka_unit_test(test_segmented_answer_outlasts_p2),
        cmocka_unit_test(test_unrelated_duplicate_and_late_answers),
        cmocka_unit_test(test_29bit_two_ecus),
        cmocka_unit_test(test_more_ecus_than_kept),
        cmocka_unit_test(test_physical_request),
        cmocka_unit_test(test_start_errors_and_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
