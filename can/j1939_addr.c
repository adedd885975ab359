/* SPDX-License-Identifier: MIT */
/*
 * J1939-81 address claim for a service tool, and the requests that reach it:
 * claim on start, defend by NAME priority, move (arbitrary-address capable) or
 * fall silent with Cannot Claim, answer Request for Address Claimed, NACK
 * destination-specific requests nobody handles. Answers are coalesced and
 * rate-limited so a flood of requests cannot turn us into a flood.
 */
#include <stdlib.h>
#include <string.h>

#include "j1939.h"
#include "j1939_internal.h"

#define MICRO                1000000u
#define ARBITRARY_FIRST      128u
#define ARBITRARY_LAST       247u
#define CANNOT_CLAIM_STEP_US 600u /* pseudo-random delay 0..255 x 0.6 ms = 0..153 ms [I] */

struct j1939_ac {
    struct j1939_ac_config cfg;
    struct j1939_ac_callbacks cb;
    struct j1939_ac_stats st;
    enum j1939_ac_state state;
    uint8_t addr;        /* being claimed or claimed */
    uint64_t claimed_at; /* our last claim for addr went out */
    bool answer_pending; /* a coalesced Address Claimed / Cannot Claim is due */
    uint64_t answer_due;
    bool answered_once;
    uint64_t last_answer_us;
    uint64_t nack_tokens; /* millionths of a NACK */
    uint64_t nack_refill_us;
    uint32_t rng;
    uint8_t tried[32]; /* arbitrary addresses already lost, bit per address */
    uint8_t peer_known[32];
    uint64_t peer_name[256];
};

void j1939_ac_config_default(struct j1939_ac_config *cfg)
{
    struct j1939_name_fields n = {.function = 129, .industry_group = 0, .arbitrary_address = true};
    memset(cfg, 0, sizeof *cfg);
    cfg->name = j1939_name_pack(&n);
    cfg->preferred = J1939_ADDR_TOOL1;
    cfg->claim_wait_us = 250000;
    cfg->response_min_gap_us = 50000;
    cfg->tr_us = 200000;
    cfg->nack_requests = true;
    cfg->nack_per_second = 20;
    cfg->nack_burst = 10;
}

static bool bit_get(const uint8_t *set, uint8_t i)
{
    return (set[i >> 3] >> (i & 7u)) & 1u;
}

static void bit_set(uint8_t *set, uint8_t i, bool on)
{
    if (on)
        set[i >> 3] = (uint8_t)(set[i >> 3] | 1u << (i & 7u));
    else
        set[i >> 3] = (uint8_t)(set[i >> 3] & ~(1u << (i & 7u)));
}

j1939_ac *j1939_ac_new(const struct j1939_ac_config *cfg, const struct j1939_ac_callbacks *cb,
                       char *err, size_t errlen)
{
    if (!cfg || !cb || !cb->send) {
        tp_fail(err, errlen, "J1939 address claim: configuration and send callback are required");
        return NULL;
    }
    if (cfg->preferred >= J1939_ADDR_NULL) {
        tp_fail(err, errlen, "J1939 address claim: preferred address 0x%02X is not claimable",
                (unsigned)cfg->preferred);
        return NULL;
    }
    if (cfg->tr_us == 0 || cfg->response_min_gap_us > cfg->tr_us) {
        tp_fail(err, errlen,
                "J1939 address claim: response gap %u us must not exceed Tr (%u us, above 0)",
                (unsigned)cfg->response_min_gap_us, (unsigned)cfg->tr_us);
        return NULL;
    }
    j1939_ac *ac = calloc(1, sizeof *ac);
    if (!ac) {
        tp_fail(err, errlen, "J1939 address claim: out of memory");
        return NULL;
    }
    ac->cfg = *cfg;
    ac->cb = *cb;
    ac->state = J1939_AC_IDLE;
    ac->addr = J1939_ADDR_NULL;
    ac->nack_tokens = (uint64_t)cfg->nack_burst * MICRO;
    ac->rng = (uint32_t)(cfg->name ^ cfg->name >> 32) | 1u;
    return ac;
}

void j1939_ac_free(j1939_ac *ac)
{
    free(ac);
}

static void send_frame(j1939_ac *ac, const struct can_frame_rec *f)
{
    if (ac->cb.send(ac->cb.user, f) != 0)
        ac->st.tx_errors++;
}

/* Address Claimed from addr, or Cannot Claim when we have none. */
static void send_claim(j1939_ac *ac, uint64_t now_us)
{
    struct can_frame_rec f;
    bool cannot = ac->state == J1939_AC_CANNOT_CLAIM;
    j1939_address_claimed_make(&f, ac->cfg.name, cannot ? J1939_ADDR_NULL : ac->addr, now_us);
    send_frame(ac, &f);
    if (cannot)
        ac->st.cannot_claim_sent++;
    else
        ac->st.claims_sent++;
    ac->answer_pending = false;
    ac->answered_once = true;
    ac->last_answer_us = now_us;
}

static uint32_t next_random(j1939_ac *ac)
{
    uint32_t x = ac->rng; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    ac->rng = x;
    return x;
}

/* One answer per response gap however many asks arrive; every ask is still
 * answered within Tr because the gap is at most Tr. */
static void schedule_answer(j1939_ac *ac, uint64_t now_us, uint64_t delay_us)
{
    if (ac->answer_pending) {
        ac->st.responses_coalesced++;
        return;
    }
    uint64_t due = tp_deadline(now_us, delay_us);
    if (ac->answered_once) {
        uint64_t gap_end = tp_deadline(ac->last_answer_us, ac->cfg.response_min_gap_us);
        if (gap_end > due && ac->last_answer_us <= now_us)
            due = gap_end;
    }
    if (due <= now_us) {
        send_claim(ac, now_us);
        return;
    }
    ac->answer_pending = true;
    ac->answer_due = due;
}

static void claim(j1939_ac *ac, uint8_t addr, uint64_t now_us)
{
    ac->state = J1939_AC_CLAIMING;
    ac->addr = addr;
    ac->claimed_at = now_us;
    send_claim(ac, now_us);
}

/* Another NAME won our address: move to a free arbitrary address, or give up. */
static void lose(j1939_ac *ac, uint64_t now_us)
{
    ac->st.contests_lost++;
    if (ac->addr >= ARBITRARY_FIRST && ac->addr <= ARBITRARY_LAST)
        bit_set(ac->tried, ac->addr, true);
    if (ac->cfg.name >> 63) {
        /* Prefer addresses nobody has claimed; from the top, like most tools. */
        for (int pass = 0; pass < 2; pass++) {
            for (unsigned a = ARBITRARY_LAST; a >= ARBITRARY_FIRST; a--) {
                if (bit_get(ac->tried, (uint8_t)a))
                    continue;
                if (pass == 0 && bit_get(ac->peer_known, (uint8_t)a))
                    continue;
                if (pass == 1 && ac->peer_name[a] < ac->cfg.name)
                    continue; /* we would lose it again */
                claim(ac, (uint8_t)a, now_us);
                return;
            }
        }
    }
    ac->state = J1939_AC_CANNOT_CLAIM;
    ac->addr = J1939_ADDR_NULL;
    send_claim(ac, now_us);
}

void j1939_ac_start(j1939_ac *ac, uint64_t now_us)
{
    memset(ac->tried, 0, sizeof ac->tried);
    ac->answer_pending = false;
    claim(ac, ac->cfg.preferred, now_us);
}

static void rx_claim(j1939_ac *ac, const struct j1939_id *id, const struct can_frame_rec *f,
                     uint64_t now_us)
{
    if (f->len < 8 || id->sa == J1939_ADDR_GLOBAL)
        return;
    uint64_t name = 0;
    for (int i = 7; i >= 0; i--)
        name = name << 8 | f->data[i];
    if (id->sa == J1939_ADDR_NULL)
        return; /* someone's Cannot Claim: holds no address */
    bool mine = ac->state == J1939_AC_CLAIMING || ac->state == J1939_AC_CLAIMED;
    if (name == ac->cfg.name) {
        return; /* our own claim echoed back (or a clone of us, which no NAME rule can settle) */
    }
    /* A NAME lives at one address: forget where it was before. */
    for (unsigned a = 0; a < J1939_ADDR_NULL; a++) {
        if (bit_get(ac->peer_known, (uint8_t)a) && ac->peer_name[a] == name)
            bit_set(ac->peer_known, (uint8_t)a, false);
    }
    bit_set(ac->peer_known, id->sa, true);
    ac->peer_name[id->sa] = name;
    if (!mine || id->sa != ac->addr)
        return;
    if (ac->cfg.name < name) {
        ac->st.contests_won++;
        schedule_answer(ac, now_us, 0);
    } else {
        lose(ac, now_us);
    }
}

static bool nack_allowed(j1939_ac *ac, uint64_t now_us)
{
    uint64_t cap = (uint64_t)ac->cfg.nack_burst * MICRO;
    if (now_us > ac->nack_refill_us) {
        uint64_t elapsed = now_us - ac->nack_refill_us, rate = ac->cfg.nack_per_second;
        uint64_t add = rate && elapsed > cap / rate ? cap : elapsed * rate;
        uint64_t room = cap - (ac->nack_tokens < cap ? ac->nack_tokens : cap);
        ac->nack_tokens += add < room ? add : room;
    }
    ac->nack_refill_us = now_us;
    if (ac->nack_tokens < MICRO)
        return false;
    ac->nack_tokens -= MICRO;
    return true;
}

static void rx_request(j1939_ac *ac, const struct j1939_id *id, uint32_t pgn, uint64_t now_us)
{
    bool have = ac->state == J1939_AC_CLAIMED || ac->state == J1939_AC_CLAIMING;
    bool to_us = have && id->da == ac->addr;
    if (id->da != J1939_ADDR_GLOBAL && !to_us)
        return;
    if (pgn == J1939_PGN_ADDRESS_CLAIMED) {
        ac->st.requests_for_claim++;
        if (ac->state == J1939_AC_IDLE)
            return;
        if (ac->state == J1939_AC_CANNOT_CLAIM) {
            schedule_answer(ac, now_us, (uint64_t)(next_random(ac) & 0xFFu) * CANNOT_CLAIM_STEP_US);
            return;
        }
        schedule_answer(ac, now_us, 0);
        return;
    }
    if (ac->state != J1939_AC_CLAIMED || id->sa >= J1939_ADDR_NULL || id->sa == ac->addr)
        return;
    bool handled = ac->cb.request && ac->cb.request(ac->cb.user, pgn, id->sa, id->da, now_us);
    if (handled || !to_us || !ac->cfg.nack_requests)
        return;
    if (!nack_allowed(ac, now_us)) {
        ac->st.nacks_suppressed++;
        return;
    }
    struct can_frame_rec f;
    j1939_ack_make(&f, J1939_ACK_NEGATIVE, pgn, id->sa, ac->addr, now_us);
    send_frame(ac, &f);
    ac->st.nacks_sent++;
}

int j1939_ac_rx(j1939_ac *ac, const struct can_frame_rec *f, uint64_t now_us)
{
    struct j1939_id id;
    if (!j1939_id_parse(f, &id))
        return 0;
    if (id.pgn == J1939_PGN_ADDRESS_CLAIMED) {
        rx_claim(ac, &id, f, now_us);
        return 1;
    }
    uint32_t pgn;
    if (id.pgn == J1939_PGN_REQUEST) {
        if (j1939_request_parse(f, &id, &pgn))
            rx_request(ac, &id, pgn, now_us);
        return 1;
    }
    return 0;
}

void j1939_ac_tick(j1939_ac *ac, uint64_t now_us)
{
    if (ac->state == J1939_AC_CLAIMING &&
        now_us >= tp_deadline(ac->claimed_at, ac->cfg.claim_wait_us))
        ac->state = J1939_AC_CLAIMED;
    if (ac->answer_pending && now_us >= ac->answer_due)
        send_claim(ac, now_us);
}

uint64_t j1939_ac_next_deadline(const j1939_ac *ac)
{
    uint64_t next = UINT64_MAX;
    if (ac->state == J1939_AC_CLAIMING)
        next = tp_deadline(ac->claimed_at, ac->cfg.claim_wait_us);
    if (ac->answer_pending && ac->answer_due < next)
        next = ac->answer_due;
    return next;
}

enum j1939_ac_state j1939_ac_get_state(const j1939_ac *ac)
{
    return ac->state;
}

uint8_t j1939_ac_address(const j1939_ac *ac)
{
    return ac->state == J1939_AC_CLAIMED ? ac->addr : J1939_ADDR_NULL;
}

bool j1939_ac_peer(const j1939_ac *ac, uint8_t addr, uint64_t *name)
{
    if (!bit_get(ac->peer_known, addr))
        return false;
    if (name)
        *name = ac->peer_name[addr];
    return true;
}

void j1939_ac_get_stats(const j1939_ac *ac, struct j1939_ac_stats *st)
{
    *st = ac->st;
}
