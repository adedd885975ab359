/* SPDX-License-Identifier: MIT */
/*
 * isotp_client: one functional request answered by several ECUs, each answer reassembled
 * in its own session with flow control to that ECU's own id; 11-bit and 29-bit
 * normal-fixed addressing, a full responder table, physical requests, confirmations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "isotp.h"
#include "isotp_fixture.h"

static isotp_client *client(struct fx *fx, enum isotp_addressing a, unsigned max_responders)
{
    struct isotp_client_config cfg;
    isotp_client_config_default(&cfg, a);
    if (max_responders)
        cfg.max_responders = max_responders;
    struct isotp_io io = fx_io(fx);
    char err[128];
    isotp_client *c = isotp_client_new(&cfg, &io, err, sizeof err);
    if (!c)
        fail_msg("isotp_client_new: %s", err);
    return c;
}

static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seed ^ (i * 31u));
}

/* The RX_DONE event of ecu, which must exist exactly once. */
static const struct isotp_event *answer_of(const struct fx *fx, uint8_t ecu)
{
    const struct isotp_event *found = NULL;
    for (size_t i = 0; i < fx_count(fx, ISOTP_EV_RX_DONE); i++) {
        const struct isotp_event *ev = fx_nth(fx, ISOTP_EV_RX_DONE, i);
        if (ev->ecu != ecu)
            continue;
        if (found)
            fail_msg("two answers from ECU %u", ecu);
        found = ev;
    }
    if (!found)
        fail_msg("no answer from ECU %u", ecu);
    return found;
}

/* Flow control frames sent to id. */
static size_t fcs_to(const struct fx *fx, uint32_t id)
{
    size_t n = 0;
    for (size_t i = 0; i < fx->n_sent; i++)
        n += fx->sent[i].id == id && fx->sent[i].data[0] >> 4 == 3;
    return n;
}

struct responder {
    uint32_t id;
    const uint8_t *msg;
    size_t len;
    struct can_frame_rec frames[64];
    size_t n, next;
};

/* Feeds the responders' frames round robin, one per millisecond. */
static void interleave(isotp_client *c, struct responder *r, size_t nr, uint64_t t0)
{
    for (size_t i = 0; i < nr; i++) {
        r[i].n = fx_segments(r[i].id, r[i].msg, r[i].len, 0xAA, r[i].frames, 64);
        r[i].next = 0;
    }
    uint64_t t = t0;
    for (bool more = true; more;) {
        more = false;
        for (size_t i = 0; i < nr; i++) {
            if (r[i].next == r[i].n)
                continue;
            assert_int_equal(isotp_client_on_frame(c, &r[i].frames[r[i].next++], t), 1);
            t += MS(1);
            more = true;
        }
    }
}

static void test_two_ecus_interleaved_11bit(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_client *c = client(fx, ISOTP_ADDR_11BIT, 0);
    assert_int_equal(isotp_client_send_functional(c, (const uint8_t *)"\x09\x02", 2, 0), 0);
    fx_assert_sent(fx, 0, 0x7DF, "02 09 02 CC CC CC CC CC");
    const uint8_t *vin1 = (const uint8_t *)"\x49\x02\x01LFV2A21K0A3045631";
    const uint8_t *vin2 = (const uint8_t *)"\x49\x02\x01LGBH52E05EY012345";
    struct responder r[2] = {{.id = 0x7E8, .msg = vin1, .len = 20},
                             {.id = 0x7E9, .msg = vin2, .len = 20}};
    interleave(c, r, 2, MS(5));
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_DONE), 2);
    const struct isotp_event *a = answer_of(fx, 0), *b = answer_of(fx, 1);
    assert_memory_equal(a->data, vin1, 20);
    assert_memory_equal(b->data, vin2, 20);
    assert_int_equal(a->rx_id, 0x7E8);
    assert_int_equal(a->tx_id, 0x7E0);
    assert_int_equal(b->rx_id, 0x7E9);
    assert_int_equal(b->tx_id, 0x7E1);
    /* Each ECU got its own flow control, on its own physical id. */
    assert_int_equal(fcs_to(fx, 0x7E0), 1);
    assert_int_equal(fcs_to(fx, 0x7E1), 1);
    fx_assert_sent(fx, 1, 0x7E0, "30 00 00 CC CC CC CC CC");
    fx_assert_sent(fx, 2, 0x7E1, "30 00 00 CC CC CC CC CC");
    assert_false(isotp_client_rx_busy(c));
    isotp_client_free(c);
    fx_free(fx);
}

static void test_three_ecus_interleaved_with_blocks(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    struct isotp_client_config cfg;
    isotp_client_config_default(&cfg, ISOTP_ADDR_11BIT);
    cfg.params.block_size = 2;
    struct isotp_io io = fx_io(fx);
    isotp_client *c = isotp_client_new(&cfg, &io, NULL, 0);
    assert_non_null(c);
    static uint8_t m1[100], m2[33], m3[250];
    fill(m1, sizeof m1, 1);
    fill(m2, sizeof m2, 2);
    fill(m3, sizeof m3, 3);
    struct responder r[3] = {{.id = 0x7EA, .msg = m1, .len = sizeof m1},
                             {.id = 0x7E8, .msg = m2, .len = sizeof m2},
                             {.id = 0x7EF, .msg = m3, .len = sizeof m3}};
    interleave(c, r, 3, 0);
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_DONE), 3);
    assert_memory_equal(answer_of(fx, 2)->data, m1, sizeof m1);
    assert_memory_equal(answer_of(fx, 0)->data, m2, sizeof m2);
    assert_memory_equal(answer_of(fx, 7)->data, m3, sizeof m3);
    assert_int_equal(answer_of(fx, 7)->len, 250);
    /* FC after the FF and after every second CF that is not the last:
     * 100 bytes = 14 CFs -> 1 + 6; 33 = 4 CFs -> 1 + 1; 250 = 35 CFs -> 1 + 17. */
    assert_int_equal(fcs_to(fx, 0x7E2), 7);
    assert_int_equal(fcs_to(fx, 0x7E0), 2);
    assert_int_equal(fcs_to(fx, 0x7E7), 18);
    assert_int_equal(fx->n_sent, 27);
    isotp_client_free(c);
    fx_free(fx);
}

static void test_one_ecu_breaks_the_other_completes(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_client *c = client(fx, ISOTP_ADDR_11BIT, 0);
    struct can_frame_rec f;
    f = fx_frame(0x7E8, "10 14 49 02 01 4C 46 56");
    isotp_client_on_frame(c, &f, 0);
    f = fx_frame(0x7E9, "10 14 49 02 01 4C 47 42");
    isotp_client_on_frame(c, &f, 1);
    f = fx_frame(0x7E9, "22 33 30 34 35 36 33 31"); /* ECU 1 skips SN 1 */
    isotp_client_on_frame(c, &f, 2);
    f = fx_frame(0x7E8, "21 32 41 32 31 4B 30 41");
    isotp_client_on_frame(c, &f, 3);
    f = fx_frame(0x7E8, "22 33 30 34 35 36 33 31");
    isotp_client_on_frame(c, &f, 4);
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_ERROR), 1);
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 0)->ecu, 1);
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 0)->rc, ISOTP_EWRONG_SN);
    assert_memory_equal(answer_of(fx, 0)->data, "\x49\x02\x01LFV2A21K0A3045631", 20);
    isotp_client_free(c);
    fx_free(fx);
}

static void test_29bit_functional_two_responders(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_client *c = client(fx, ISOTP_ADDR_29BIT, 0);
    assert_int_equal(isotp_client_send_functional(c, (const uint8_t *)"\x09\x02", 2, 0), 0);
    fx_assert_sent(fx, 0, ID29(0x18DB33F1), "02 09 02 CC CC CC CC CC");
    const uint8_t *vin = (const uint8_t *)"\x49\x02\x01LFV2A21K0A3045631";
    static uint8_t other[60];
    fill(other, sizeof other, 9);
    struct responder r[2] = {{.id = ID29(0x18DAF100), .msg = vin, .len = 20},
                             {.id = ID29(0x18DAF13D), .msg = other, .len = sizeof other}};
    interleave(c, r, 2, MS(3));
    assert_memory_equal(answer_of(fx, 0x00)->data, vin, 20);
    assert_memory_equal(answer_of(fx, 0x3D)->data, other, sizeof other);
    assert_int_equal(answer_of(fx, 0x3D)->rx_id, ID29(0x18DAF13D));
    assert_int_equal(answer_of(fx, 0x3D)->tx_id, ID29(0x18DA3DF1));
    assert_int_equal(fcs_to(fx, ID29(0x18DA00F1)), 1);
    assert_int_equal(fcs_to(fx, ID29(0x18DA3DF1)), 1);
    isotp_client_free(c);
    fx_free(fx);
}

static void test_29bit_identifiers(void **state)
{
    (void)state;
    uint8_t ecu = 0;
    /* Any priority; the tester address must be ours; EDP/DP must be 0. */
    assert_true(isotp_is_response_id(ISOTP_ADDR_29BIT, ID29(0x1CDAF117), 0xF1, &ecu));
    assert_int_equal(ecu, 0x17);
    assert_true(isotp_is_response_id(ISOTP_ADDR_29BIT, ID29(0x18DAF100), 0xF1, &ecu));
    assert_false(isotp_is_response_id(ISOTP_ADDR_29BIT, ID29(0x18DAF200), 0xF1, &ecu));
    assert_false(isotp_is_response_id(ISOTP_ADDR_29BIT, ID29(0x19DAF100), 0xF1, &ecu));
    assert_false(isotp_is_response_id(ISOTP_ADDR_29BIT, 0x18DAF100 & 0x7FF, 0xF1, &ecu));
    assert_false(isotp_is_response_id(ISOTP_ADDR_29BIT, ID29(0x18DAF1F1), 0xF1, &ecu));
    assert_false(isotp_is_response_id(ISOTP_ADDR_29BIT, ID29(0x18FECA00), 0xF1, &ecu));
    assert_true(isotp_is_response_id(ISOTP_ADDR_11BIT, 0x7EF, 0xF1, &ecu));
    assert_int_equal(ecu, 7);
    assert_false(isotp_is_response_id(ISOTP_ADDR_11BIT, 0x7E7, 0xF1, &ecu));
    assert_false(isotp_is_response_id(ISOTP_ADDR_11BIT, 0x7F0, 0xF1, &ecu));
    assert_false(isotp_is_response_id(ISOTP_ADDR_11BIT, ID29(0x7E8), 0xF1, &ecu));
    assert_false(isotp_is_response_id(ISOTP_ADDR_11BIT, 0x7E8 | CAN_FRAME_RTR, 0xF1, &ecu));
    assert_int_equal(isotp_functional_id(ISOTP_ADDR_29BIT, 0xF1), ID29(0x18DB33F1));
    assert_int_equal(isotp_physical_id(ISOTP_ADDR_29BIT, 0x10, 0xF1), ID29(0x18DA10F1));
    assert_int_equal(isotp_response_id(ISOTP_ADDR_29BIT, 0x10, 0xF1), ID29(0x18DAF110));
    assert_int_equal(isotp_functional_id(ISOTP_ADDR_11BIT, 0xF1), 0x7DF);
    assert_int_equal(isotp_physical_id(ISOTP_ADDR_11BIT, 3, 0xF1), 0x7E3);
    assert_int_equal(isotp_response_id(ISOTP_ADDR_11BIT, 3, 0xF1), 0x7EB);

    /* A priority-7 answer is reassembled; its FC goes out at priority 6. */
    struct fx *fx = fx_new();
    isotp_client *c = client(fx, ISOTP_ADDR_29BIT, 0);
    struct can_frame_rec f = fx_frame(ID29(0x1CDAF117), "10 08 41 00 BE 3E B8 11");
    assert_int_equal(isotp_client_on_frame(c, &f, 0), 1);
    fx_assert_sent(fx, 0, ID29(0x18DA17F1), "30 00 00 CC CC CC CC CC");
    f = fx_frame(ID29(0x1CDAF117), "21 20 80 CC CC CC CC CC");
    assert_int_equal(isotp_client_on_frame(c, &f, 1), 1);
    assert_int_equal(answer_of(fx, 0x17)->len, 8);
    isotp_client_free(c);
    fx_free(fx);
}

static void test_frames_not_for_the_client(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_client *c = client(fx, ISOTP_ADDR_11BIT, 0);
    static const uint32_t others[] = {0x7DF,           0x7E0, 0x7E7, 0x7F0, 0x123, ID29(0x18FECA00),
                                      ID29(0x0CF00400)};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        struct can_frame_rec f = fx_frame(others[i], "02 41 00");
        assert_int_equal(isotp_client_on_frame(c, &f, 0), 0);
    }
    struct can_frame_rec err = {.id = CAN_FRAME_ERR | 0x7E8, .len = 8};
    assert_int_equal(isotp_client_on_frame(c, &err, 0), 0);
    assert_int_equal(isotp_client_on_frame(c, NULL, 0), 0);
    assert_int_equal(fx->n_events, 0);
    assert_int_equal(isotp_client_stats(c)->frames_rx, 0);
    /* A CF or FC from an ECU with nothing going: ignored, consumed. */
    struct can_frame_rec f = fx_frame(0x7E8, "21 00 00 00 00 00 00 00");
    assert_int_equal(isotp_client_on_frame(c, &f, 0), 1);
    f = fx_frame(0x7E8, "30 00 00 00 00 00 00 00");
    assert_int_equal(isotp_client_on_frame(c, &f, 0), 1);
    assert_int_equal(isotp_client_stats(c)->ignored, 2);
    isotp_client_free(c);
    fx_free(fx);
}

static void test_responder_table_full(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_client *c = client(fx, ISOTP_ADDR_29BIT, 2);
    struct can_frame_rec f;
    f = fx_frame(ID29(0x18DAF100), "10 14 49 02 01 4C 46 56");
    isotp_client_on_frame(c, &f, 0);
    f = fx_frame(ID29(0x18DAF101), "10 14 49 02 01 4C 46 56");
    isotp_client_on_frame(c, &f, 1);
    f = fx_frame(ID29(0x18DAF102), "10 14 49 02 01 4C 46 56");
    assert_int_equal(isotp_client_on_frame(c, &f, 2), 1);
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_ERROR), 1);
    const struct isotp_event *ev = fx_nth(fx, ISOTP_EV_RX_ERROR, 0);
    assert_int_equal(ev->rc, ISOTP_ENOSLOT);
    assert_int_equal(ev->ecu, 2);
    assert_int_equal(isotp_client_stats(c)->no_slot, 1);
    assert_int_equal(fcs_to(fx, ID29(0x18DA02F1)), 0); /* no FC promised to it */
    /* Single frames from a third ECU also need a session, but only for an instant. */
    f = fx_frame(ID29(0x18DAF100), "21 32 41 32 31 4B 30 41");
    isotp_client_on_frame(c, &f, 3);
    f = fx_frame(ID29(0x18DAF100), "22 33 30 34 35 36 33 31");
    isotp_client_on_frame(c, &f, 4);
    f = fx_frame(ID29(0x18DAF102), "03 41 0D 32");
    isotp_client_on_frame(c, &f, 5);
    assert_int_equal(answer_of(fx, 0x02)->len, 3);
    assert_int_equal(answer_of(fx, 0x00)->len, 20);
    /* Session memory is bounded: ECU 2 took ECU 0's idle session. */
    f = fx_frame(ID29(0x18DAF101), "21 32 41 32 31 4B 30 41");
    isotp_client_on_frame(c, &f, 6);
    f = fx_frame(ID29(0x18DAF101), "22 33 30 34 35 36 33 31");
    isotp_client_on_frame(c, &f, 7);
    assert_int_equal(answer_of(fx, 0x01)->len, 20);
    isotp_client_free(c);
    fx_free(fx);
}

static void test_physical_multi_frame_request(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_client *c = client(fx, ISOTP_ADDR_11BIT, 0);
    uint8_t req[12];
    fill(req, sizeof req, 4);
    assert_int_equal(isotp_client_send_physical(c, 1, req, sizeof req, 0), 0);
    assert_int_equal(fx->sent[0].id, 0x7E1);
    assert_int_equal(fx->sent[0].data[0], 0x10);
    assert_true(isotp_client_tx_busy(c));
    /* Flow control from the ECU itself (0x7E9) releases the consecutive frame. */
    struct can_frame_rec f = fx_frame(0x7E8, "30 00 00 CC CC CC CC CC");
    isotp_client_on_frame(c, &f, 1); /* another ECU's FC: not ours to honour */
    assert_int_equal(fx->n_sent, 1);
    f = fx_frame(0x7E9, "30 00 00 CC CC CC CC CC");
    isotp_client_on_frame(c, &f, 2);
    assert_int_equal(fx->n_sent, 2);
    assert_int_equal(fx->sent[1].id, 0x7E1);
    assert_int_equal(fx->sent[1].data[0], 0x21);
    assert_int_equal(fx_count(fx, ISOTP_EV_TX_DONE), 1);
    assert_int_equal(fx_nth(fx, ISOTP_EV_TX_DONE, 0)->ecu, 1);

    assert_int_equal(isotp_client_send_physical(c, 8, req, 2, 3), ISOTP_EINVAL);
    assert_int_equal(isotp_client_send_functional(c, req, 8, 3), ISOTP_ETOOLONG);
    assert_int_equal(isotp_client_send_functional(c, req, 0, 3), ISOTP_EINVAL);
    isotp_client_free(c);
    fx_free(fx);
}

static void test_confirmations_go_to_the_right_session(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    fx->default_rc = ISOTP_SEND_QUEUED;
    isotp_client *c = client(fx, ISOTP_ADDR_11BIT, 0);
    struct can_frame_rec f = fx_frame(0x7E8, "10 14 49 02 01 4C 46 56");
    isotp_client_on_frame(c, &f, 0);
    f = fx_frame(0x7E9, "10 14 49 02 01 4C 46 56");
    isotp_client_on_frame(c, &f, 1);
    assert_int_equal(fx->n_sent, 2);
    /* The echo of the FC to 0x7E1 arrives; ECU 0's FC stays unconfirmed. */
    isotp_client_tx_done(c, &fx->sent[1], MS(10));
    isotp_client_poll(c, MS(1000) + 1);
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_ERROR), 1);
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 0)->ecu, 0);
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 0)->rc, ISOTP_ETIMEOUT_AR);
    assert_true(isotp_client_rx_busy(c)); /* ECU 1 still expects its CFs */
    assert_int_equal(isotp_client_next_deadline_us(c), MS(1010) + 1);
    isotp_client_poll(c, MS(1010) + 1);
    assert_int_equal(fx_nth(fx, ISOTP_EV_RX_ERROR, 1)->rc, ISOTP_ETIMEOUT_CR);
    assert_false(isotp_client_rx_busy(c));
    /* A functional request confirmed without an echo frame (oldest first). */
    assert_int_equal(isotp_client_send_functional(c, (const uint8_t *)"\x01\x00", 2, MS(2000)), 0);
    assert_true(isotp_client_tx_busy(c));
    isotp_client_tx_done(c, NULL, MS(2001));
    assert_false(isotp_client_tx_busy(c));
    assert_int_equal(fx_count(fx, ISOTP_EV_TX_DONE), 1);
    isotp_client_free(c);
    fx_free(fx);
}

static void test_cancel_drops_everything(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    isotp_client *c = client(fx, ISOTP_ADDR_11BIT, 0);
    struct can_frame_rec f = fx_frame(0x7E8, "10 14 49 02 01 4C 46 56");
    isotp_client_on_frame(c, &f, 0);
    assert_true(isotp_client_rx_busy(c));
    isotp_client_cancel(c);
    assert_false(isotp_client_rx_busy(c));
    assert_int_equal(isotp_client_next_deadline_us(c), UINT64_MAX);
    isotp_client_poll(c, MS(5000));
    assert_int_equal(fx_count(fx, ISOTP_EV_RX_ERROR), 0);
    isotp_client_free(c);
    fx_free(fx);
}

static void test_client_configuration_errors(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    struct isotp_io io = fx_io(fx);
    struct isotp_client_config cfg;
    isotp_client_config_default(&cfg, ISOTP_ADDR_11BIT);
    char err[128] = "";
    cfg.max_responders = 9;
    assert_null(isotp_client_new(&cfg, &io, err, sizeof err));
    assert_non_null(strstr(err, "max_responders"));
    cfg.max_responders = 0;
    assert_null(isotp_client_new(&cfg, &io, err, sizeof err));
    isotp_client_config_default(&cfg, ISOTP_ADDR_11BIT);
    cfg.params.st_min = 0xFA;
    assert_null(isotp_client_new(&cfg, &io, err, sizeof err));
    assert_non_null(strstr(err, "st_min"));
    isotp_client_free(NULL);
    fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_ecus_interleaved_11bit),
        cmocka_unit_test(test_three_ecus_interleaved_with_blocks),
        cmocka_unit_test(test_one_ecu_breaks_the_other_completes),
        cmocka_unit_test(test_29bit_functional_two_responders),
        cmocka_unit_test(test_29bit_identifiers),
        cmocka_unit_test(test_frames_not_for_the_client),
        cmocka_unit_test(test_responder_table_full),
        cmocka_unit_test(test_physical_multi_frame_request),
        cmocka_unit_test(test_confirmations_go_to_the_right_session),
        cmocka_unit_test(test_cancel_drops_everything),
        cmocka_unit_test(test_client_configuration_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
