/* SPDX-License-Identifier: MIT */
/*
 * Private to can/isotp_*.c: one ISO-TP endpoint (a receiver and a sender for one pair
 * of identifiers). isotp_link wraps one; isotp_client keeps one per responding ECU plus
 * one that only sends functional single frames.
 */
#ifndef ISOTP_ENGINE_H
#define ISOTP_ENGINE_H

#include "isotp.h"

enum isotp_pci { ISOTP_PCI_SF = 0, ISOTP_PCI_FF = 1, ISOTP_PCI_CF = 2, ISOTP_PCI_FC = 3 };
enum isotp_fs { ISOTP_FS_CTS = 0, ISOTP_FS_WAIT = 1, ISOTP_FS_OVFLW = 2 };

/* A frame on its way to the bus: refused for now (retry) or awaiting confirmation. */
enum isotp_out_state { OUT_IDLE, OUT_RETRY, OUT_CONFIRM };

struct isotp_out {
    enum isotp_out_state state;
    struct can_frame_rec frame;
    uint64_t retry_at_us;      /* next offer of a refused frame */
    uint64_t retry_until_us;   /* give up offering after this (N_Br / N_Cs / N_As) */
    uint64_t confirm_until_us; /* N_Ar / N_As */
    uint32_t confirm_ms;
    int retry_rc, confirm_rc; /* what expiry of either window means */
    uint64_t ticket;          /* confirmations arrive in the order frames were queued */
};

enum isotp_rx_state { RX_IDLE, RX_FC, RX_CF };

struct isotp_rx {
    enum isotp_rx_state state;
    bool fc_overflow; /* the FC being sent says OVERFLOW: nothing follows it */
    uint32_t len, got;
    uint8_t sn;         /* next expected sequence number */
    uint8_t block_left; /* CFs until our next FC (0 with BS 0: unlimited) */
    uint64_t cr_until_us;
    struct isotp_out out;
    uint8_t buf[ISOTP_MAX_PAYLOAD];
};

enum isotp_tx_state { TX_IDLE, TX_SF, TX_FF, TX_CF, TX_WAIT_FC, TX_WAIT_GAP };

struct isotp_tx {
    enum isotp_tx_state state;
    uint32_t len, sent;
    uint8_t sn;
    bool fc_seen;
    uint8_t bs;
    uint8_t block_left;
    uint32_t stmin_us;
    unsigned wft; /* FC WAIT in a row */
    uint64_t bs_until_us;
    uint64_t next_cf_us;
    struct isotp_out out;
    uint8_t buf[ISOTP_MAX_PAYLOAD];
};

struct isotp_engine {
    const struct isotp_params *p; /* owned by the link / client */
    const struct isotp_io *io;
    struct isotp_stats *stats;
    uint64_t *ticket;
    uint32_t tx_id, rx_id;
    uint8_t ecu;
    struct isotp_rx rx;
    struct isotp_tx tx;
};

void isotp_engine_init(struct isotp_engine *e, const struct isotp_params *p,
                       const struct isotp_io *io, struct isotp_stats *stats, uint64_t *ticket,
                       uint32_t tx_id, uint32_t rx_id, uint8_t ecu);
/* Drops any transfer silently (a session handed to another ECU). */
void isotp_engine_reset(struct isotp_engine *e);
int isotp_engine_send(struct isotp_engine *e, const uint8_t *data, size_t len, uint64_t now_us);
/* f's identifier is rx_id; f is well formed as a CAN frame (len <= 8, no RTR / ERR). */
void isotp_engine_on_frame(struct isotp_engine *e, const struct can_frame_rec *f, uint64_t now_us);
void isotp_engine_poll(struct isotp_engine *e, uint64_t now_us);
/* The oldest queued frame's ticket, 0 when none awaits confirmation. */
uint64_t isotp_engine_oldest_ticket(const struct isotp_engine *e);
void isotp_engine_tx_done(struct isotp_engine *e, uint64_t now_us);
uint64_t isotp_engine_next_deadline_us(const struct isotp_engine *e);
bool isotp_engine_rx_busy(const struct isotp_engine *e);
bool isotp_engine_tx_busy(const struct isotp_engine *e);

/* A single frame's payload, or false when f is not a well-formed SF. */
bool isotp_parse_sf(const struct can_frame_rec *f, const uint8_t **data, size_t *len);
/* Whether a frame can be processed at all: classic CAN, data frame, len <= 8. */
bool isotp_frame_usable(const struct can_frame_rec *f);
void isotp_emit(const struct isotp_engine *e, enum isotp_event_kind kind, int rc,
                const uint8_t *data, size_t len);

static inline uint64_t isotp_add_us(uint64_t t, uint64_t us)
{
    return t > UINT64_MAX - us ? UINT64_MAX : t + us;
}

static inline uint64_t isotp_add_ms(uint64_t t, uint32_t ms)
{
    return isotp_add_us(t, (uint64_t)ms * 1000u);
}

#endif
