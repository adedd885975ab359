/* SPDX-License-Identifier: MIT */
/*
 * isotp_client: a tester on ISO 15765-4 identifiers. One session (reassembly and
 * transmission state) per responding ECU, bound while the ECU has a transfer going and
 * handed to another ECU once idle, so memory stays bounded however many ECUs answer.
 * Flow control goes to each ECU's own physical id: 0x7E8 + n -> 0x7E0 + n on 11-bit,
 * 0x18DAF1xx -> 0x18DAxxF1 on 29-bit.
 */
#include <stdio.h>
#include <stdlib.h>

#include "isotp_engine.h"

struct isotp_session {
    bool bound;
    uint64_t last_used;
    struct isotp_engine e;
};

struct isotp_client {
    struct isotp_client_config cfg;
    struct isotp_io io;
    struct isotp_stats stats;
    uint64_t ticket;
    uint64_t use_counter;
    struct isotp_engine func; /* sends functional single frames, receives nothing */
    struct isotp_session s[ISOTP_CLIENT_MAX_RESPONDERS];
};

void isotp_client_config_default(struct isotp_client_config *cfg, enum isotp_addressing a)
{
    *cfg = (struct isotp_client_config){
        .addressing = a,
        .tester_addr = 0xF1,
        .max_responders = ISOTP_CLIENT_MAX_RESPONDERS,
    };
    isotp_params_default(&cfg->params);
}

isotp_client *isotp_client_new(const struct isotp_client_config *cfg, const struct isotp_io *io,
                               char *err, size_t errlen)
{
    const char *what = NULL;
    if (!cfg || !io || !io->send)
        what = "isotp client: configuration and a send callback are required";
    else if (cfg->addressing != ISOTP_ADDR_11BIT && cfg->addressing != ISOTP_ADDR_29BIT)
        what = "isotp client: addressing must be 11-bit or 29-bit";
    else if (cfg->max_responders < 1 || cfg->max_responders > ISOTP_CLIENT_MAX_RESPONDERS)
        what = "isotp client: max_responders must be 1..8";
    if (what) {
        if (err && errlen)
            snprintf(err, errlen, "%s", what);
        return NULL;
    }
    if (isotp_params_check(&cfg->params, err, errlen) != ISOTP_OK)
        return NULL;
    isotp_client *c = calloc(1, sizeof *c);
    if (!c) {
        if (err && errlen)
            snprintf(err, errlen, "isotp client: out of memory");
        return NULL;
    }
    c->cfg = *cfg;
    c->io = *io;
    isotp_engine_init(&c->func, &c->cfg.params, &c->io, &c->stats, &c->ticket,
                      isotp_functional_id(cfg->addressing, cfg->tester_addr), 0, 0xFF);
    return c;
}

void isotp_client_free(isotp_client *c)
{
    free(c);
}

static struct isotp_session *find_session(isotp_client *c, uint8_t ecu)
{
    for (unsigned i = 0; i < c->cfg.max_responders; i++)
        if (c->s[i].bound && c->s[i].e.ecu == ecu)
            return &c->s[i];
    return NULL;
}

/* A free session, or the least recently used idle one, bound to ecu. */
static struct isotp_session *claim_session(isotp_client *c, uint8_t ecu, uint32_t rx_id)
{
    struct isotp_session *pick = NULL;
    for (unsigned i = 0; i < c->cfg.max_responders; i++) {
        struct isotp_session *s = &c->s[i];
        if (!s->bound) {
            pick = s;
            break;
        }
        if (isotp_engine_rx_busy(&s->e) || isotp_engine_tx_busy(&s->e))
            continue;
        if (!pick || s->last_used < pick->last_used)
            pick = s;
    }
    if (!pick)
        return NULL;
    enum isotp_addressing a = c->cfg.addressing;
    isotp_engine_init(&pick->e, &c->cfg.params, &c->io, &c->stats, &c->ticket,
                      isotp_physical_id(a, ecu, c->cfg.tester_addr), rx_id, ecu);
    pick->bound = true;
    return pick;
}

int isotp_client_send_functional(isotp_client *c, const uint8_t *data, size_t len, uint64_t now_us)
{
    if (!c || !data || len == 0)
        return ISOTP_EINVAL;
    if (len > ISOTP_SF_MAX)
        return ISOTP_ETOOLONG;
    return isotp_engine_send(&c->func, data, len, now_us);
}

int isotp_client_send_physical(isotp_client *c, uint8_t ecu, const uint8_t *data, size_t len,
                               uint64_t now_us)
{
    if (!c || (c->cfg.addressing == ISOTP_ADDR_11BIT && ecu > 7) ||
        (c->cfg.addressing == ISOTP_ADDR_29BIT && ecu == c->cfg.tester_addr))
        return ISOTP_EINVAL;
    struct isotp_session *s = find_session(c, ecu);
    if (!s)
        s = claim_session(c, ecu, isotp_response_id(c->cfg.addressing, ecu, c->cfg.tester_addr));
    if (!s) {
        c->stats.no_slot++;
        return ISOTP_ENOSLOT;
    }
    s->last_used = ++c->use_counter;
    return isotp_engine_send(&s->e, data, len, now_us);
}

static void report_no_slot(isotp_client *c, const struct can_frame_rec *f, uint8_t ecu)
{
    c->stats.no_slot++;
    c->stats.rx_errors++;
    if (!c->io.on_event)
        return;
    struct isotp_event ev = {
        .kind = ISOTP_EV_RX_ERROR,
        .rc = ISOTP_ENOSLOT,
        .rx_id = f->id,
        .tx_id = isotp_physical_id(c->cfg.addressing, ecu, c->cfg.tester_addr),
        .ecu = ecu,
    };
    c->io.on_event(c->io.ctx, &ev);
}

int isotp_client_on_frame(isotp_client *c, const struct can_frame_rec *f, uint64_t now_us)
{
    uint8_t ecu;
    if (!c || !f || !isotp_is_response_id(c->cfg.addressing, f->id, c->cfg.tester_addr, &ecu))
        return 0;
    if (!isotp_frame_usable(f)) {
        c->stats.frames_rx++;
        c->stats.ignored++;
        return 1;
    }
    struct isotp_session *s = find_session(c, ecu);
    if (!s) {
        unsigned type = f->data[0] >> 4;
        if (type != ISOTP_PCI_SF && type != ISOTP_PCI_FF) {
            /* A CF or FC from an ECU we have nothing going with. */
            c->stats.frames_rx++;
            c->stats.ignored++;
            return 1;
        }
        s = claim_session(c, ecu, f->id);
        if (!s) {
            c->stats.frames_rx++;
            report_no_slot(c, f, ecu);
            return 1;
        }
    }
    s->last_used = ++c->use_counter;
    isotp_engine_on_frame(&s->e, f, now_us);
    return 1;
}

void isotp_client_poll(isotp_client *c, uint64_t now_us)
{
    if (!c)
        return;
    isotp_engine_poll(&c->func, now_us);
    for (unsigned i = 0; i < c->cfg.max_responders; i++)
        if (c->s[i].bound)
            isotp_engine_poll(&c->s[i].e, now_us);
}

void isotp_client_cancel(isotp_client *c)
{
    if (!c)
        return;
    isotp_engine_reset(&c->func);
    for (unsigned i = 0; i < c->cfg.max_responders; i++)
        if (c->s[i].bound)
            isotp_engine_reset(&c->s[i].e);
}

void isotp_client_tx_done(isotp_client *c, const struct can_frame_rec *echo, uint64_t now_us)
{
    if (!c)
        return;
    struct isotp_engine *pick = NULL;
    uint64_t best = 0;
    struct isotp_engine *all[ISOTP_CLIENT_MAX_RESPONDERS + 1];
    unsigned n = 0;
    all[n++] = &c->func;
    for (unsigned i = 0; i < c->cfg.max_responders; i++)
        if (c->s[i].bound)
            all[n++] = &c->s[i].e;
    for (unsigned i = 0; i < n; i++) {
        if (echo && all[i]->tx_id != echo->id)
            continue;
        uint64_t t = isotp_engine_oldest_ticket(all[i]);
        if (t && (!best || t < best)) {
            best = t;
            pick = all[i];
        }
    }
    if (pick)
        isotp_engine_tx_done(pick, now_us);
}

uint64_t isotp_client_next_deadline_us(const isotp_client *c)
{
    if (!c)
        return UINT64_MAX;
    uint64_t t = isotp_engine_next_deadline_us(&c->func);
    for (unsigned i = 0; i < c->cfg.max_responders; i++) {
        if (!c->s[i].bound)
            continue;
        uint64_t d = isotp_engine_next_deadline_us(&c->s[i].e);
        if (d < t)
            t = d;
    }
    return t;
}

bool isotp_client_rx_busy(const isotp_client *c)
{
    if (!c)
        return false;
    for (unsigned i = 0; i < c->cfg.max_responders; i++)
        if (c->s[i].bound && isotp_engine_rx_busy(&c->s[i].e))
            return true;
    return false;
}

bool isotp_client_tx_busy(const isotp_client *c)
{
    if (!c)
        return false;
    if (isotp_engine_tx_busy(&c->func))
        return true;
    for (unsigned i = 0; i < c->cfg.max_responders; i++)
        if (c->s[i].bound && isotp_engine_tx_busy(&c->s[i].e))
            return true;
    return false;
}

const struct isotp_stats *isotp_client_stats(const isotp_client *c)
{
    return c ? &c->stats : NULL;
}
