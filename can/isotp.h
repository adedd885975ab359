/* SPDX-License-Identifier: MIT */
/*
 * ISO-TP (ISO 15765-2) on classic CAN with normal (11-bit) and normal-fixed (29-bit)
 * addressing, as pure state machines over struct can_frame_rec: no sockets, no clock.
 * Every function takes the current time (now_us, microseconds, any monotonic epoch);
 * frames to transmit go out through a send callback, results come back through an
 * event callback. docs/obd.md describes the behaviour, the timers and their sources.
 *
 * Two shapes:
 *   isotp_link    one peer: one transmit id, one receive id (plus, optionally, a
 *                 functional id on which single frames are accepted). Sends and
 *                 receives segmented messages, full duplex. The ECU simulator is one.
 *   isotp_client  a tester on ISO 15765-4 ids: sends functional single frames
 *                 (0x7DF / 0x18DB33F1) and physical requests, and reassembles the
 *                 answers of up to ISOTP_CLIENT_MAX_RESPONDERS ECUs at once, each in
 *                 its own session, flow control going to that ECU's own id.
 *
 * Transmission and its confirmation. send() returns:
 *   ISOTP_SEND_DONE    the frame is on the bus (or as good as: synchronous backends);
 *   ISOTP_SEND_QUEUED  accepted, confirmation follows: call isotp_*_tx_done() when the
 *                      frame was sent (SocketCAN echo). N_As / N_Ar run until then;
 *   ISOTP_SEND_BUSY    not accepted now (queue full): offered again by isotp_*_poll()
 *                      until N_Br (flow control), N_Cs (consecutive frames) or N_As
 *                      (single and first frames) run out;
 *   negative           failed: the transfer ends with ISOTP_ESEND.
 *
 * Timers: a timer of T ms started at t expires when now_us > t + T*1000, so an event
 * at exactly t + T*1000 is still in time. isotp_*_next_deadline_us() says when
 * isotp_*_poll() next has something to do.
 *
 * Events are delivered synchronously from inside on_frame / poll / send / tx_done.
 * The callback must not call functions of the same link or client; data pointers in
 * an event are valid only during the callback. One thread drives an object.
 */
#ifndef ISOTP_H
#define ISOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "can_frame.h"

#define ISOTP_MAX_PAYLOAD           4095u /* largest message sent or received */
#define ISOTP_SF_MAX                7u    /* classic CAN, normal addressing */
#define ISOTP_NO_PADDING            (-1)
#define ISOTP_CLIENT_MAX_RESPONDERS 8
#define ISOTP_RETRY_US              500u /* a refused frame is offered again after this */

/* Results. Negative values are errors; isotp_strerror() names them with the ISO 15765-2
 * N_Result where there is one. */
enum isotp_rc {
    ISOTP_OK = 0,
    ISOTP_EINVAL = -1,       /* bad argument or configuration */
    ISOTP_EBUSY = -2,        /* a transmission is already in progress */
    ISOTP_ETOOLONG = -3,     /* message longer than ISOTP_MAX_PAYLOAD (or SF_DL for functional) */
    ISOTP_ESEND = -4,        /* the send callback failed (N_ERROR) */
    ISOTP_ETIMEOUT_AS = -5,  /* N_As: our SF/FF/CF was not confirmed in time */
    ISOTP_ETIMEOUT_AR = -6,  /* N_Ar: our FC was not confirmed in time */
    ISOTP_ETIMEOUT_BS = -7,  /* N_Bs: no flow control from the receiver */
    ISOTP_ETIMEOUT_BR = -8,  /* N_Br: our flow control could not be sent in time */
    ISOTP_ETIMEOUT_CS = -9,  /* N_Cs: our next consecutive frame could not be sent in time */
    ISOTP_ETIMEOUT_CR = -10, /* N_Cr: no consecutive frame from the sender */
    ISOTP_EWRONG_SN = -11,   /* consecutive frame out of sequence (lost or repeated frame) */
    ISOTP_EINVALID_FS = -12, /* flow control with a reserved flow status */
    ISOTP_EUNEXP_PDU = -13,  /* reception abandoned: a new SF/FF from the same sender */
    ISOTP_EWFT_OVRN = -14,   /* more FC WAIT in a row than N_WFTmax */
    ISOTP_EOVERFLOW = -15,   /* message longer than the receiver's buffer (FC OVERFLOW) */
    ISOTP_ENOSLOT = -16,     /* client: every responder session is busy */
};

const char *isotp_strerror(int rc);

/* Return values of the send callback (see above). */
enum isotp_send_rc { ISOTP_SEND_DONE = 0, ISOTP_SEND_QUEUED = 1, ISOTP_SEND_BUSY = 2 };

/* Protocol parameters. isotp_params_default() gives the ISO 15765-2 values,
 * isotp_params_obd() the tighter ISO 15765-4 ones; docs/obd.md lists both. */
struct isotp_params {
    uint32_t n_as_ms;    /* sender: SF/FF/CF request to confirmation (1000) */
    uint32_t n_ar_ms;    /* receiver: FC request to confirmation (1000) */
    uint32_t n_bs_ms;    /* sender: FF or last CF of a block, or FC WAIT, to the next FC (1000) */
    uint32_t n_br_ms;    /* receiver: FF or block end to FC accepted by the bus (900) */
    uint32_t n_cs_ms;    /* sender: CF due (STmin over) to CF accepted by the bus (900) */
    uint32_t n_cr_ms;    /* receiver: FC or CF to the next CF (1000) */
    uint8_t block_size;  /* BS we ask for in our FC; 0 = no further FC */
    uint8_t st_min;      /* STmin we ask for (raw: 0x00-0x7F ms, 0xF1-0xF9 100-900 us) */
    uint8_t wft_max;     /* N_WFTmax: FC WAIT accepted in a row while sending (10) */
    bool dynamic_fc;     /* sender: take BS/STmin from every FC, not only the first */
    int pad_byte;        /* ISOTP_NO_PADDING, or 0x00-0xFF (0xCC default): frames sent with DLC 8 */
    uint32_t rx_max_len; /* longest message accepted, <= ISOTP_MAX_PAYLOAD; longer: FC OVERFLOW */
};

void isotp_params_default(struct isotp_params *p);
void isotp_params_obd(struct isotp_params *p);
/* 0, or ISOTP_EINVAL with a message naming the bad field. */
int isotp_params_check(const struct isotp_params *p, char *err, size_t errlen);
/* Separation time in microseconds for a raw STmin byte; reserved values give 127 ms. */
uint32_t isotp_stmin_us(uint8_t raw);

enum isotp_event_kind {
    ISOTP_EV_RX_FIRST, /* a first frame was accepted: len = announced length */
    ISOTP_EV_RX_DONE,  /* a whole message: data, len */
    ISOTP_EV_RX_ERROR, /* a reception ended without a message: rc (and len announced) */
    ISOTP_EV_TX_DONE,  /* our message was sent completely */
    ISOTP_EV_TX_ERROR, /* our transmission was abandoned: rc */
};

struct isotp_event {
    enum isotp_event_kind kind;
    int rc;              /* RX_ERROR, TX_ERROR */
    uint32_t rx_id;      /* the peer's transmit id (the responder, for a client) */
    uint32_t tx_id;      /* the peer's receive id (where our FC and physical requests go) */
    uint8_t ecu;         /* client: 0-7 (0x7E8 + n) on 11-bit, the source address on 29-bit */
    bool functional;     /* link: received on the functional id */
    const uint8_t *data; /* RX_DONE: the message, valid during the callback */
    size_t len;          /* RX_DONE: its length; RX_FIRST / RX_ERROR: length announced (or 0) */
};

struct isotp_io {
    int (*send)(void *ctx, const struct can_frame_rec *f);     /* required */
    void (*on_event)(void *ctx, const struct isotp_event *ev); /* optional */
    void *ctx;
};

struct isotp_stats {
    uint64_t frames_rx; /* frames addressed to us and processed */
    uint64_t frames_tx; /* frames handed to the bus */
    uint64_t msgs_rx, msgs_tx;
    uint64_t rx_errors, tx_errors;
    uint64_t ignored;   /* malformed, unexpected or stray frames (ISO 15765-2: ignore) */
    uint64_t send_busy; /* ISOTP_SEND_BUSY answers */
    uint64_t no_slot;   /* client: a new responder while every session was busy */
};

/* ---- isotp_link: one peer ---------------------------------------------------------- */

struct isotp_link_config {
    uint32_t tx_id; /* identifier | CAN_FRAME_EFF for 29-bit */
    uint32_t rx_id;
    bool functional; /* also accept single frames on func_id (ISO 15765-4: SF only) */
    uint32_t func_id;
    struct isotp_params params;
};

typedef struct isotp_link isotp_link; /* owns its buffers; created by isotp_link_new */

isotp_link *isotp_link_new(const struct isotp_link_config *cfg, const struct isotp_io *io,
                           char *err, size_t errlen);
void isotp_link_free(isotp_link *l);
/* Starts sending a message (copied). 0, ISOTP_EBUSY, ISOTP_EINVAL, ISOTP_ETOOLONG,
 * ISOTP_ESEND (nothing is reported by event for a failure returned here). */
int isotp_link_send(isotp_link *l, const uint8_t *data, size_t len, uint64_t now_us);
/* 1 when the frame was for this link (processed or ignored as the standard says), 0 when
 * its identifier is not ours. */
int isotp_link_on_frame(isotp_link *l, const struct can_frame_rec *f, uint64_t now_us);
void isotp_link_poll(isotp_link *l, uint64_t now_us);
/* The oldest ISOTP_SEND_QUEUED frame of this link was sent. */
void isotp_link_tx_done(isotp_link *l, uint64_t now_us);
uint64_t isotp_link_next_deadline_us(const isotp_link *l); /* UINT64_MAX: nothing pending */
bool isotp_link_tx_busy(const isotp_link *l);
bool isotp_link_rx_busy(const isotp_link *l);
const struct isotp_stats *isotp_link_stats(const isotp_link *l);

/* ---- isotp_client: a tester and up to 8 responding ECUs --------------------------- */

enum isotp_addressing {
    ISOTP_ADDR_11BIT, /* 0x7DF; answers 0x7E8-0x7EF; FC / physical to answer id - 8 */
    ISOTP_ADDR_29BIT, /* 0x18DB33F1; answers 0x18DAF1xx; FC / physical to 0x18DAxxF1 */
};

struct isotp_client_config {
    enum isotp_addressing addressing;
    uint8_t tester_addr;     /* 29-bit: our source address (0xF1) */
    unsigned max_responders; /* concurrent sessions, 1..ISOTP_CLIENT_MAX_RESPONDERS */
    struct isotp_params params;
};

void isotp_client_config_default(struct isotp_client_config *cfg, enum isotp_addressing a);

typedef struct isotp_client isotp_client; /* owns every session; isotp_client_new */

isotp_client *isotp_client_new(const struct isotp_client_config *cfg, const struct isotp_io *io,
                               char *err, size_t errlen);
void isotp_client_free(isotp_client *c);
/* A functional request: single frame only (ISO 15765-4), len 1..7. */
int isotp_client_send_functional(isotp_client *c, const uint8_t *data, size_t len, uint64_t now_us);
/* A physical request to one ECU (ecu as in struct isotp_event), segmented if needed. */
int isotp_client_send_physical(isotp_client *c, uint8_t ecu, const uint8_t *data, size_t len,
                               uint64_t now_us);
/* 1 when the frame came from a responder id (processed or ignored), 0 otherwise: frames
 * not consumed can go to other stacks (J1939) on the same bus. */
int isotp_client_on_frame(isotp_client *c, const struct can_frame_rec *f, uint64_t now_us);
void isotp_client_poll(isotp_client *c, uint64_t now_us);
/* Drops every transfer without events (the bus changed bitrate, the caller gave up). */
void isotp_client_cancel(isotp_client *c);
/* echo: the frame the bus confirmed (its identifier picks the session). */
void isotp_client_tx_done(isotp_client *c, const struct can_frame_rec *echo, uint64_t now_us);
uint64_t isotp_client_next_deadline_us(const isotp_client *c);
bool isotp_client_rx_busy(const isotp_client *c); /* a segmented answer is being received */
bool isotp_client_tx_busy(const isotp_client *c);
const struct isotp_stats *isotp_client_stats(const isotp_client *c);

/* Identifiers (with CAN_FRAME_EFF for 29-bit). */
uint32_t isotp_functional_id(enum isotp_addressing a, uint8_t tester_addr);
uint32_t isotp_physical_id(enum isotp_addressing a, uint8_t ecu, uint8_t tester_addr);
uint32_t isotp_response_id(enum isotp_addressing a, uint8_t ecu, uint8_t tester_addr);
/* true when id is an ECU's answer to tester_addr; *ecu then names it. */
bool isotp_is_response_id(enum isotp_addressing a, uint32_t id, uint8_t tester_addr, uint8_t *ecu);

#endif
