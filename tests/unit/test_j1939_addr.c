/* SPDX-License-Identifier: MIT */
/*
 * J1939-81 address claim as a service tool: claim, contention won and lost
 * (moving, or Cannot Claim), Request for Address Claimed answered within Tr,
 * request floods coalesced and NACKs rate-limited; identifiers, requests and
 * NAME layout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "j1939_fixture.h"

#define MS   1000u
#define T0   7000000000ull
#define TOOL J1939_ADDR_TOOL1

struct ctx {
    struct fx *fx;
    j1939_ac *ac;
    struct j1939_ac_config cfg;
    int handled; /* what the request callback answers */
    uint32_t last_request_pgn;
};

static bool on_request(void *user, uint32_t pgn, uint8_t requester, uint8_t da, uint64_t now)
{
    struct ctx *c = user;
    (void)requester;
    (void)da;
    (void)now;
    c->last_request_pgn = pgn;
    return c->handled;
}

static int send_ctx(void *user, const struct can_frame_rec *f)
{
    struct ctx *c = user;
    return fx_send(c->fx, f);
}

static void make(struct ctx *c)
{
    if (c->ac)
        j1939_ac_free(c->ac);
    struct j1939_ac_callbacks cb = {.send = send_ctx, .request = on_request, .user = c};
    char err[256];
    c->ac = j1939_ac_new(&c->cfg, &cb, err, sizeof err);
    if (!c->ac)
        fail_msg("%s", err);
}

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    c->fx = fx_new();
    j1939_ac_config_default(&c->cfg);
    make(c);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    j1939_ac_free(c->ac);
    free(c->fx);
    free(c);
    return 0;
}

static struct j1939_ac_stats stats(const struct ctx *c)
{
    struct j1939_ac_stats st;
    j1939_ac_get_stats(c->ac, &st);
    return st;
}

/* Checks frame i is an Address Claimed for name from sa. */
static void assert_claim(const struct fx *fx, long i, uint8_t sa, uint64_t name)
{
    if (i < 0)
        i += (long)fx->n_sent;
    assert_true(i >= 0 && (size_t)i < fx->n_sent);
    struct j1939_id id;
    assert_true(j1939_id_parse(&fx->sent[i], &id));
    assert_int_equal(id.pgn, J1939_PGN_ADDRESS_CLAIMED);
    assert_int_equal(id.da, J1939_ADDR_GLOBAL);
    assert_int_equal(id.sa, sa);
    assert_int_equal(id.priority, 6);
    uint64_t got = 0;
    for (int k = 7; k >= 0; k--)
        got = got << 8 | fx->sent[i].data[k];
    assert_int_equal(got, name);
}

static void claim_from(struct ctx *c, uint8_t sa, uint64_t name, uint64_t t)
{
    struct can_frame_rec f;
    j1939_address_claimed_make(&f, name, sa, t);
    assert_int_equal(j1939_ac_rx(c->ac, &f, t), 1);
}

static void request_from(struct ctx *c, uint8_t sa, uint8_t da, uint32_t pgn, uint64_t t)
{
    struct can_frame_rec f;
    j1939_request_make(&f, pgn, da, sa, t);
    assert_int_equal(j1939_ac_rx(c->ac, &f, t), 1);
}

static void claimed(struct ctx *c)
{
    j1939_ac_start(c->ac, T0);
    j1939_ac_tick(c->ac, T0 + 250 * MS);
    assert_int_equal(j1939_ac_get_state(c->ac), J1939_AC_CLAIMED);
    c->fx->n_sent = 0;
}

static void test_name_layout(void **state)
{
    (void)state;
    struct j1939_name_fields n = {.identity = 0x1ABCDE,
                                  .manufacturer = 0x5A5,
                                  .ecu_instance = 5,
                                  .function_instance = 0x13,
                                  .function = 129,
                                  .vehicle_system = 0x55,
                                  .vehicle_system_instance = 9,
                                  .industry_group = 1,
                                  .arbitrary_address = true};
    uint64_t v = j1939_name_pack(&n);
    assert_int_equal(v & 0x1FFFFF, 0x1ABCDE);
    assert_int_equal((v >> 21) & 0x7FF, 0x5A5);
    assert_int_equal((v >> 32) & 7, 5);
    assert_int_equal((v >> 35) & 0x1F, 0x13);
    assert_int_equal((v >> 40) & 0xFF, 129);
    assert_int_equal((v >> 48) & 1, 0);
    assert_int_equal((v >> 49) & 0x7F, 0x55);
    assert_int_equal((v >> 56) & 0xF, 9);
    assert_int_equal((v >> 60) & 7, 1);
    assert_int_equal(v >> 63, 1);
    struct j1939_name_fields back;
    j1939_name_unpack(v, &back);
    assert_int_equal(back.identity, n.identity);
    assert_int_equal(back.manufacturer, n.manufacturer);
    assert_int_equal(back.ecu_instance, n.ecu_instance);
    assert_int_equal(back.function_instance, n.function_instance);
    assert_int_equal(back.function, n.function);
    assert_int_equal(back.vehicle_system, n.vehicle_system);
    assert_int_equal(back.vehicle_system_instance, n.vehicle_system_instance);
    assert_int_equal(back.industry_group, n.industry_group);
    assert_true(back.arbitrary_address);
    /* The default is an off-board service tool, arbitrary-address capable. */
    struct j1939_ac_config cfg;
    j1939_ac_config_default(&cfg);
    j1939_name_unpack(cfg.name, &back);
    assert_int_equal(back.function, 129);
    assert_true(back.arbitrary_address);
    assert_int_equal(cfg.preferred, 0xF9);
}

static void test_ids(void **state)
{
    (void)state;
    struct can_frame_rec f = {.id = 0x18EAF900u | CAN_FRAME_EFF, .len = 3};
    struct j1939_id id;
    assert_true(j1939_id_parse(&f, &id));
    assert_int_equal(id.priority, 6);
    assert_int_equal(id.pf, 0xEA);
    assert_int_equal(id.da, 0xF9);
    assert_int_equal(id.sa, 0x00);
    assert_int_equal(id.pgn, J1939_PGN_REQUEST);
    f.id = 0x0CFECA03u | CAN_FRAME_EFF;
    assert_true(j1939_id_parse(&f, &id));
    assert_int_equal(id.priority, 3);
    assert_int_equal(id.pgn, J1939_PGN_DM1);
    assert_int_equal(id.da, J1939_ADDR_GLOBAL);
    assert_int_equal(id.sa, 0x03);
    f.id = 0x1DEA0000u | CAN_FRAME_EFF; /* DP = 1 */
    assert_true(j1939_id_parse(&f, &id));
    assert_int_equal(id.pgn, 0x1EA00);
    f.id = 0x1AEA0000u | CAN_FRAME_EFF; /* EDP = 1: not J1939 */
    assert_false(j1939_id_parse(&f, &id));
    f.id = 0x18EAF900u; /* no EFF flag */
    assert_false(j1939_id_parse(&f, &id));
    f.id = 0x18EAF900u | CAN_FRAME_EFF | CAN_FRAME_RTR;
    assert_false(j1939_id_parse(&f, &id));
    f.id = 0x18EAF900u | CAN_FRAME_EFF | CAN_FRAME_ERR;
    assert_false(j1939_id_parse(&f, &id));
    /* Building and parsing agree for every priority, both PDU formats. */
    const uint32_t pgns[] = {J1939_PGN_TP_CM, J1939_PGN_DM1, J1939_PGN_EEC1, 0x1EF00, 0x1FEFF};
    for (unsigned prio = 0; prio < 8; prio++) {
        for (size_t i = 0; i < sizeof pgns / sizeof pgns[0]; i++) {
            f.id = j1939_id_make((uint8_t)prio, pgns[i], 0x42, 0x17);
            assert_true(j1939_id_parse(&f, &id));
            assert_int_equal(id.priority, prio);
            assert_int_equal(id.pgn, pgns[i]);
            assert_int_equal(id.sa, 0x17);
            assert_int_equal(id.da, j1939_pgn_is_pdu1(pgns[i]) ? 0x42 : J1939_ADDR_GLOBAL);
        }
    }
    assert_int_equal(j1939_id_make(6, J1939_PGN_REQUEST, 0xF9, 0x00), 0x18EAF900u | CAN_FRAME_EFF);
}

static void test_request_and_ack_frames(void **state)
{
    (void)state;
    struct can_frame_rec f;
    struct j1939_id id;
    uint32_t pgn;
    j1939_request_make(&f, J1939_PGN_VI, 0x00, TOOL, 0);
    assert_int_equal(f.id, 0x18EA00F9u | CAN_FRAME_EFF);
    assert_int_equal(f.len, 3);
    assert_int_equal(f.data[0], 0xEC);
    assert_int_equal(f.data[1], 0xFE);
    assert_int_equal(f.data[2], 0x00);
    assert_true(j1939_request_parse(&f, &id, &pgn));
    assert_int_equal(pgn, J1939_PGN_VI);
    assert_int_equal(id.da, 0x00);
    f.len = 2;
    assert_false(j1939_request_parse(&f, &id, &pgn));
    f.len = 8; /* padded requests are fine */
    assert_true(j1939_request_parse(&f, &id, &pgn));
    j1939_ack_make(&f, J1939_ACK_NEGATIVE, J1939_PGN_DM5, 0x42, TOOL, 0);
    enum j1939_ack_control ctl;
    uint8_t requester;
    assert_true(j1939_ack_parse(&f, &ctl, &pgn, &requester));
    assert_int_equal(ctl, J1939_ACK_NEGATIVE);
    assert_int_equal(pgn, J1939_PGN_DM5);
    assert_int_equal(requester, 0x42);
    assert_true(j1939_id_parse(&f, &id));
    assert_int_equal(id.da, J1939_ADDR_GLOBAL);
}

static void test_claim_on_start(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(j1939_ac_get_state(c->ac), J1939_AC_IDLE);
    assert_int_equal(j1939_ac_address(c->ac), J1939_ADDR_NULL);
    j1939_ac_start(c->ac, T0);
    assert_int_equal(c->fx->n_sent, 1);
    assert_claim(c->fx, 0, TOOL, c->cfg.name);
    assert_int_equal(j1939_ac_get_state(c->ac), J1939_AC_CLAIMING);
    assert_int_equal(j1939_ac_address(c->ac), J1939_ADDR_NULL); /* not yet */
    assert_int_equal(j1939_ac_next_deadline(c->ac), T0 + 250 * MS);
    j1939_ac_tick(c->ac, T0 + 250 * MS - 1);
    assert_int_equal(j1939_ac_get_state(c->ac), J1939_AC_CLAIMING);
    j1939_ac_tick(c->ac, T0 + 250 * MS);
    assert_int_equal(j1939_ac_address(c->ac), TOOL);
    assert_int_equal(c->fx->n_sent, 1);
}

/* Another node claims our address with a NAME of lower priority (higher
 * value): we keep it and say so again. */
static void test_contention_won(void **state)
{
    struct ctx *c = *state;
    claimed(c);
    claim_from(c, TOOL, c->cfg.name + 1, T0 + 300 * MS);
    assert_int_equal(c->fx->n_sent, 1);
    assert_claim(c->fx, 0, TOOL, c->cfg.name);
    assert_int_equal(j1939_ac_address(c->ac), TOOL);
    assert_int_equal(stats(c).contests_won, 1);
    /* During the contention window too. */
    c->fx->n_sent = 0;
    j1939_ac_start(c->ac, T0 + 10000 * MS);
    claim_from(c, TOOL, ~0ull, T0 + 10100 * MS);
    j1939_ac_tick(c->ac, T0 + 10250 * MS);
    assert_int_equal(j1939_ac_address(c->ac), TOOL);
}

/* A NAME of higher priority takes our address: being arbitrary-address
 * capable we move to a free one at the top of 128-247, and again if needed. */
static void test_contention_lost_moves(void **state)
{
    struct ctx *c = *state;
    claimed(c);
    claim_from(c, 0xF7, c->cfg.name + 5, T0 + 280 * MS); /* someone already at 247 */
    claim_from(c, TOOL, c->cfg.name - 1, T0 + 300 * MS);
    assert_int_equal(j1939_ac_address(c->ac), J1939_ADDR_NULL);
    assert_int_equal(c->fx->n_sent, 1);
    assert_claim(c->fx, 0, 0xF6, c->cfg.name);
    uint64_t peer;
    assert_true(j1939_ac_peer(c->ac, TOOL, &peer));
    assert_int_equal(peer, c->cfg.name - 1);
    j1939_ac_tick(c->ac, T0 + 550 * MS);
    assert_int_equal(j1939_ac_address(c->ac), 0xF6);
    claim_from(c, 0xF6, 1, T0 + 600 * MS);
    assert_claim(c->fx, -1, 0xF5, c->cfg.name);
    assert_int_equal(stats(c).contests_lost, 2);
}

/* Not arbitrary-address capable: lose, send Cannot Claim from 254, then go
 * quiet except for answering requests (after a pseudo-random 0-153 ms). */
static void test_contention_lost_cannot_claim(void **state)
{
    struct ctx *c = *state;
    struct j1939_name_fields n;
    j1939_name_unpack(c->cfg.name, &n);
    n.arbitrary_address = false;
    c->cfg.name = j1939_name_pack(&n);
    make(c);
    claimed(c);
    claim_from(c, TOOL, 7, T0 + 300 * MS);
    assert_int_equal(j1939_ac_get_state(c->ac), J1939_AC_CANNOT_CLAIM);
    assert_int_equal(j1939_ac_address(c->ac), J1939_ADDR_NULL);
    assert_claim(c->fx, -1, J1939_ADDR_NULL, c->cfg.name);
    assert_int_equal(stats(c).cannot_claim_sent, 1);
    for (int i = 0; i < 20; i++) {
        uint64_t t = T0 + (uint64_t)(1000 + 1000 * i) * MS;
        size_t sent = c->fx->n_sent;
        request_from(c, 0x00, J1939_ADDR_GLOBAL, J1939_PGN_ADDRESS_CLAIMED, t);
        uint64_t due = j1939_ac_next_deadline(c->ac);
        if (due == UINT64_MAX) { /* a zero delay: sent at once */
            assert_int_equal(c->fx->n_sent, sent + 1);
            continue;
        }
        assert_true(due > t && due <= t + 153 * MS);
        j1939_ac_tick(c->ac, due - 1);
        assert_int_equal(c->fx->n_sent, sent);
        j1939_ac_tick(c->ac, due);
        assert_int_equal(c->fx->n_sent, sent + 1);
        assert_claim(c->fx, -1, J1939_ADDR_NULL, c->cfg.name);
    }
    /* Requests for other PGNs get nothing from a node without an address. */
    size_t sent = c->fx->n_sent;
    request_from(c, 0x00, J1939_ADDR_NULL, J1939_PGN_VI, T0 + 30000 * MS);
    assert_int_equal(c->fx->n_sent, sent);
    /* Starting again claims the preferred address again. */
    j1939_ac_start(c->ac, T0 + 31000 * MS);
    assert_claim(c->fx, -1, TOOL, c->cfg.name);
}

static void test_others_claims(void **state)
{
    struct ctx *c = *state;
    claimed(c);
    claim_from(c, J1939_ADDR_NULL, 1234, T0 + 300 * MS); /* someone's Cannot Claim */
    claim_from(c, 0x00, 1111, T0 + 300 * MS);
    claim_from(c, 0x01, 2222, T0 + 300 * MS);
    claim_from(c, 0x05, 1111, T0 + 301 * MS); /* the first one moved */
    uint64_t name;
    assert_false(j1939_ac_peer(c->ac, 0x00, &name));
    assert_true(j1939_ac_peer(c->ac, 0x05, &name));
    assert_int_equal(name, 1111);
    assert_false(j1939_ac_peer(c->ac, J1939_ADDR_NULL, &name));
    claim_from(c, TOOL, c->cfg.name, T0 + 302 * MS); /* our own, echoed */
    assert_int_equal(c->fx->n_sent, 0);
    assert_int_equal(j1939_ac_address(c->ac), TOOL);
    struct can_frame_rec f;
    j1939_frame_make(&f, 6, J1939_PGN_EEC1, J1939_ADDR_GLOBAL, 0, NULL, 0, 0);
    assert_int_equal(j1939_ac_rx(c->ac, &f, T0), 0);
}

static void test_request_for_claim(void **state)
{
    struct ctx *c = *state;
    request_from(c, 0x00, J1939_ADDR_GLOBAL, J1939_PGN_ADDRESS_CLAIMED, T0);
    assert_int_equal(c->fx->n_sent, 0); /* not started: nothing to say */
    claimed(c);
    request_from(c, 0x00, J1939_ADDR_GLOBAL, J1939_PGN_ADDRESS_CLAIMED, T0 + 1000 * MS);
    assert_claim(c->fx, -1, TOOL, c->cfg.name);
    request_from(c, 0x00, TOOL, J1939_PGN_ADDRESS_CLAIMED, T0 + 2000 * MS);
    assert_int_equal(c->fx->n_sent, 2);
    request_from(c, J1939_ADDR_NULL, TOOL, J1939_PGN_ADDRESS_CLAIMED, T0 + 3000 * MS);
    assert_int_equal(c->fx->n_sent, 3); /* a node without an address may ask */
    request_from(c, 0x00, 0x17, J1939_PGN_ADDRESS_CLAIMED, T0 + 4000 * MS);
    assert_int_equal(c->fx->n_sent, 3); /* asked of someone else */
}

/* Tr: with the response gap at its limit (= Tr), a request that arrives just
 * after an answer is answered exactly Tr later, not a microsecond sooner or
 * later; a gap of Tr + 1 us is refused as configuration. */
static void test_tr_boundary(void **state)
{
    struct ctx *c = *state;
    c->cfg.response_min_gap_us = c->cfg.tr_us;
    make(c);
    claimed(c);
    uint64_t t = T0 + 1000 * MS;
    request_from(c, 0x00, J1939_ADDR_GLOBAL, J1939_PGN_ADDRESS_CLAIMED, t);
    assert_int_equal(c->fx->n_sent, 1);
    request_from(c, 0x01, J1939_ADDR_GLOBAL, J1939_PGN_ADDRESS_CLAIMED, t);
    assert_int_equal(j1939_ac_next_deadline(c->ac), t + 200 * MS);
    j1939_ac_tick(c->ac, t + 200 * MS - 1);
    assert_int_equal(c->fx->n_sent, 1);
    j1939_ac_tick(c->ac, t + 200 * MS);
    assert_int_equal(c->fx->n_sent, 2);
    assert_claim(c->fx, -1, TOOL, c->cfg.name);
    c->cfg.response_min_gap_us = c->cfg.tr_us + 1;
    struct j1939_ac_callbacks cb = {.send = send_ctx, .user = c};
    char err[256];
    assert_null(j1939_ac_new(&c->cfg, &cb, err, sizeof err));
    assert_non_null(strstr(err, "Tr"));
}

/* A flood of requests for Address Claimed: at most one answer per response
 * gap (50 ms), and every request still sees an answer within Tr (200 ms). */
static void test_request_flood(void **state)
{
    struct ctx *c = *state;
    claimed(c);
    uint64_t start = T0 + 1000 * MS, t = start;
    uint64_t asked[2000];
    size_t n = 0;
    while (n < 2000) {
        asked[n++] = t;
        request_from(c, (uint8_t)(n % 200), J1939_ADDR_GLOBAL, J1939_PGN_ADDRESS_CLAIMED, t);
        t += 500; /* 2000 requests per second: more than a 250 kbit/s bus carries */
        j1939_ac_tick(c->ac, t);
    }
    j1939_ac_tick(c->ac, t + 200 * MS);
    size_t answers = c->fx->n_sent;
    assert_true(answers <= (t - start) / (50 * MS) + 2);
    assert_true(answers >= (t - start) / (200 * MS));
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t k = 0; k < answers && !seen; k++)
            seen = c->fx->sent[k].t_us >= asked[i] && c->fx->sent[k].t_us <= asked[i] + 200 * MS;
        if (!seen)
            fail_msg("request at +%llu us not answered within Tr",
                     (unsigned long long)(asked[i] - start));
    }
    assert_int_equal(stats(c).responses_coalesced + answers, n);
}

/* Destination-specific requests nobody answers are NACKed (global ones never),
 * at a bounded rate however many arrive. */
static void test_nack_and_flood(void **state)
{
    struct ctx *c = *state;
    claimed(c);
    request_from(c, 0x00, TOOL, J1939_PGN_DM5, T0 + 1000 * MS);
    assert_int_equal(c->last_request_pgn, J1939_PGN_DM5);
    assert_int_equal(c->fx->n_sent, 1);
    enum j1939_ack_control ctl;
    uint32_t pgn;
    uint8_t requester;
    assert_true(j1939_ack_parse(&c->fx->sent[0], &ctl, &pgn, &requester));
    assert_int_equal(ctl, J1939_ACK_NEGATIVE);
    assert_int_equal(pgn, J1939_PGN_DM5);
    assert_int_equal(requester, 0x00);
    request_from(c, 0x00, J1939_ADDR_GLOBAL, J1939_PGN_DM5, T0 + 1001 * MS);
    assert_int_equal(c->fx->n_sent, 1);
    c->handled = 1;
    request_from(c, 0x00, TOOL, J1939_PGN_DM5, T0 + 1002 * MS);
    assert_int_equal(c->fx->n_sent, 1);
    c->handled = 0;
    /* 10 s of 1000 requests per second: burst 10 + 20 per second. */
    uint64_t t = T0 + 2000 * MS;
    for (int i = 0; i < 10000; i++, t += MS)
        request_from(c, (uint8_t)(i % 100), TOOL, J1939_PGN_VI, t);
    size_t nacks = c->fx->n_sent - 1;
    assert_true(nacks <= 10 + 20 * 10 + 1);
    assert_true(nacks >= 200);
    assert_int_equal(stats(c).nacks_suppressed + nacks, 10000);
}

static void test_config_rejected(void **state)
{
    struct ctx *c = *state;
    struct j1939_ac_callbacks cb = {.send = send_ctx, .user = c};
    struct j1939_ac_config cfg;
    char err[256];
    j1939_ac_config_default(&cfg);
    cfg.preferred = J1939_ADDR_NULL;
    assert_null(j1939_ac_new(&cfg, &cb, err, sizeof err));
    assert_non_null(strstr(err, "0xFE"));
    j1939_ac_config_default(&cfg);
    cfg.response_min_gap_us = cfg.tr_us + 1;
    assert_null(j1939_ac_new(&cfg, &cb, err, sizeof err));
    cb.send = NULL;
    j1939_ac_config_default(&cfg);
    assert_null(j1939_ac_new(&cfg, &cb, err, sizeof err));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_name_layout),
        T(test_ids),
        T(test_request_and_ack_frames),
        T(test_claim_on_start),
        T(test_contention_won),
        T(test_contention_lost_moves),
        T(test_contention_lost_cannot_claim),
        T(test_others_claims),
        T(test_request_for_claim),
        T(test_tr_boundary),
        T(test_request_flood),
        T(test_nack_and_flood),
        T(test_config_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
