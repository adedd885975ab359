/* SPDX-License-Identifier: MIT */
/* isotp_link: one ISO-TP peer on a fixed pair of identifiers (plus a functional id). */
#include <stdio.h>
#include <stdlib.h>

#include "isotp_engine.h"

struct isotp_link {
    struct isotp_params params;
    struct isotp_io io;
    struct isotp_stats stats;
    uint64_t ticket;
    bool functional;
    uint32_t func_id;
    struct isotp_engine e;
};

static bool id_valid(uint32_t id)
{
    if (id & (CAN_FRAME_RTR | CAN_FRAME_ERR))
        return false;
    if (id & CAN_FRAME_EFF)
        return (id & ~(CAN_FRAME_EFF | CAN_EFF_MASK)) == 0;
    return id <= CAN_SFF_MASK;
}

isotp_link *isotp_link_new(const struct isotp_link_config *cfg, const struct isotp_io *io,
                           char *err, size_t errlen)
{
    const char *what = NULL;
    if (!cfg || !io || !io->send)
        what = "isotp link: configuration and a send callback are required";
    else if (!id_valid(cfg->tx_id) || !id_valid(cfg->rx_id) ||
             (cfg->functional && !id_valid(cfg->func_id)))
        what = "isotp link: identifier out of range (11-bit, or 29-bit with CAN_FRAME_EFF)";
    else if (cfg->tx_id == cfg->rx_id || (cfg->functional && cfg->func_id == cfg->rx_id))
        what = "isotp link: transmit, receive and functional identifiers must differ";
    if (what) {
        if (err && errlen)
            snprintf(err, errlen, "%s", what);
        return NULL;
    }
    if (isotp_params_check(&cfg->params, err, errlen) != ISOTP_OK)
        return NULL;
    isotp_link *l = calloc(1, sizeof *l);
    if (!l) {
        if (err && errlen)
            snprintf(err, errlen, "isotp link: out of memory");
        return NULL;
    }
    l->params = cfg->params;
    l->io = *io;
    l->functional = cfg->functional;
    l->func_id = cfg->func_id;
    isotp_engine_init(&l->e, &l->params, &l->io, &l->stats, &l->ticket, cfg->tx_id, cfg->rx_id, 0);
    return l;
}

void isotp_link_free(isotp_link *l)
{
    free(l);
}

int isotp_link_send(isotp_link *l, const uint8_t *data, size_t len, uint64_t now_us)
{
    if (!l)
        return ISOTP_EINVAL;
    return isotp_engine_send(&l->e, data, len, now_us);
}

static void functional_frame(isotp_link *l, const struct can_frame_rec *f)
{
    const uint8_t *data;
    size_t len;
    l->stats.frames_rx++;
    /* ISO 15765-4: functional requests are single frames; anything else is ignored. */
    if (!isotp_parse_sf(f, &data, &len)) {
        l->stats.ignored++;
        return;
    }
    l->stats.msgs_rx++;
    if (!l->io.on_event)
        return;
    struct isotp_event ev = {
        .kind = ISOTP_EV_RX_DONE,
        .rx_id = l->func_id,
        .tx_id = l->e.tx_id,
        .functional = true,
        .data = data,
        .len = len,
    };
    l->io.on_event(l->io.ctx, &ev);
}

int isotp_link_on_frame(isotp_link *l, const struct can_frame_rec *f, uint64_t now_us)
{
    if (!l || !f || (f->id & (CAN_FRAME_RTR | CAN_FRAME_ERR)))
        return 0;
    bool ours = f->id == l->e.rx_id;
    bool func = l->functional && f->id == l->func_id;
    if (!ours && !func)
        return 0;
    if (!isotp_frame_usable(f)) {
        l->stats.frames_rx++;
        l->stats.ignored++;
        return 1;
    }
    if (func)
        functional_frame(l, f);
    else
        isotp_engine_on_frame(&l->e, f, now_us);
    return 1;
}

void isotp_link_poll(isotp_link *l, uint64_t now_us)
{
    if (l)
        isotp_engine_poll(&l->e, now_us);
}

void isotp_link_tx_done(isotp_link *l, uint64_t now_us)
{
    if (l)
        isotp_engine_tx_done(&l->e, now_us);
}

uint64_t isotp_link_next_deadline_us(const isotp_link *l)
{
    return l ? isotp_engine_next_deadline_us(&l->e) : UINT64_MAX;
}

bool isotp_link_tx_busy(const isotp_link *l)
{
    return l && isotp_engine_tx_busy(&l->e);
}

bool isotp_link_rx_busy(const isotp_link *l)
{
    return l && isotp_engine_rx_busy(&l->e);
}

const struct isotp_stats *isotp_link_stats(const isotp_link *l)
{
    return l ? &l->stats : NULL;
}
