/* SPDX-License-Identifier: MIT */
/*
 * SAE J1939 as pure state machines over struct can_frame_rec: identifiers and
 * PGNs (J1939-21), requests and acknowledgements, address claim as an off-board
 * service tool (J1939-81), the transport protocol (TP.CM/TP.DT: BAM and
 * RTS/CTS, receive and transmit), and decoders for the diagnostic messages
 * (DM1, DM5, VI) and the live values a roadside check reads (J1939-71/-73).
 *
 * Nothing here opens a socket or reads a clock: every call that can time out
 * takes now_us (monotonic microseconds, or the log's timestamps), and frames a
 * machine must transmit go out through a send callback. Callbacks run inside
 * the call that triggered them and must not call back into the same context.
 * docs/j1939.md lists what is supported, the timeouts, limits and sources.
 */
#ifndef J1939_H
#define J1939_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "can_frame.h"

/* ---- addresses, PGNs, limits ------------------------------------------- */

#define J1939_ADDR_TOOL1  0xF9u /* off-board diagnostic-service tool #1 */
#define J1939_ADDR_NULL   0xFEu /* "no address": cannot-claim messages */
#define J1939_ADDR_GLOBAL 0xFFu /* broadcast / every node */

#define J1939_PGN_ACK             0x0E800u /* 59392 acknowledgement */
#define J1939_PGN_REQUEST         0x0EA00u /* 59904 */
#define J1939_PGN_TP_DT           0x0EB00u /* 60160 transport data */
#define J1939_PGN_TP_CM           0x0EC00u /* 60416 transport connection management */
#define J1939_PGN_ADDRESS_CLAIMED 0x0EE00u /* 60928 */
#define J1939_PGN_EEC1            0x0F004u /* 61444 electronic engine controller 1 */
#define J1939_PGN_EGF1            0x0F00Au /* 61450 engine gas flow rate */
#define J1939_PGN_AT1IG1          0x0F00Eu /* 61454 aftertreatment 1 intake gas 1 */
#define J1939_PGN_AT1OG1          0x0F00Fu /* 61455 aftertreatment 1 outlet gas 1 */
#define J1939_PGN_A1SCREGT1       0x0FD3Eu /* 64830 SCR exhaust gas temperature 1 [I] */
#define J1939_PGN_AT1IMG          0x0FDB2u /* 64946 aftertreatment 1 intermediate gas */
#define J1939_PGN_AT1T1I          0x0FE56u /* 65110 DEF tank 1 information */
#define J1939_PGN_DM1             0x0FECAu /* 65226 active DTCs */
#define J1939_PGN_DM2             0x0FECBu /* 65227 previously active DTCs (DM1 layout) */
#define J1939_PGN_DM5             0x0FECEu /* 65230 diagnostic readiness 1 */
#define J1939_PGN_VD              0x0FEE0u /* 65248 vehicle distance */
#define J1939_PGN_VI              0x0FEECu /* 65260 vehicle identification */
#define J1939_PGN_ET1             0x0FEEEu /* 65262 engine temperature 1 */
#define J1939_PGN_CCVS            0x0FEF1u /* 65265 cruise control / vehicle speed */
#define J1939_PGN_LFE             0x0FEF2u /* 65266 fuel economy (liquid) */

#define J1939_PGN_MAX            0x3FFFFu /* 18 bits: EDP, DP, PF, PS */
#define J1939_TP_MIN_SIZE        9u       /* 8 bytes or fewer go in one frame */
#define J1939_TP_MAX_SIZE        1785u    /* 255 packets x 7 bytes */
#define J1939_TP_RX_SESSIONS_MAX 32u      /* receive table, fixed at build time */
#define J1939_TP_TX_SESSIONS_MAX 16u      /* transmit table */

/* Result codes. Negative values are errors, j1939_strerror() names them. */
enum j1939_rc {
    J1939_OK = 0,
    J1939_EINVAL = -1, /* bad argument or configuration */
    J1939_EBUSY = -2,  /* a session for that (source, destination) already runs */
    J1939_EFULL = -3,  /* session table full */
    J1939_ENOENT = -4, /* no such session */
};
const char *j1939_strerror(int rc);

/* What a sender hands to the bus. Returns 0, or a negative value the machines
 * count as a transmit error (a timeout on the peer's side recovers). */
typedef int (*j1939_send_fn)(void *user, const struct can_frame_rec *frame);

/* ---- identifiers (J1939-21) -------------------------------------------- */

/* 29-bit identifier: priority (3) | EDP | DP | PF (8) | PS (8) | SA (8). */
struct j1939_id {
    uint8_t priority; /* 0 (highest) .. 7; any is accepted */
    uint8_t edp, dp;  /* extended data page, data page */
    uint8_t pf, ps;   /* PDU format, PDU specific */
    uint8_t sa;       /* source address */
    uint8_t da;       /* PDU1: PS; PDU2: J1939_ADDR_GLOBAL */
    uint32_t pgn;     /* EDP<<17 | DP<<16 | PF<<8 | (PDU2 ? PS : 0) */
};

static inline bool j1939_pgn_is_pdu1(uint32_t pgn)
{
    return ((pgn >> 8) & 0xFFu) < 240u;
}

/* Splits the identifier. False (out still filled where possible) when the
 * frame is not J1939: 11-bit, remote or error frame, or EDP = 1 (ISO 15765-3
 * and reserved pages). */
bool j1939_id_parse(const struct can_frame_rec *f, struct j1939_id *out);

/* The identifier (with CAN_FRAME_EFF) for pgn from sa; for a PDU1 PGN the low
 * byte is replaced by da, for PDU2 da is ignored. priority is masked to 3 bits. */
uint32_t j1939_id_make(uint8_t priority, uint32_t pgn, uint8_t da, uint8_t sa);

/* A whole frame: len bytes of data (at most 8), the rest 0xFF. */
void j1939_frame_make(struct can_frame_rec *f, uint8_t priority, uint32_t pgn, uint8_t da,
                      uint8_t sa, const uint8_t *data, uint8_t len, uint64_t t_us);

/* ---- requests (PGN 59904) and acknowledgements (PGN 59392) ------------ */

/* Request for pgn, to da (J1939_ADDR_GLOBAL: every node), priority 6, 3 bytes. */
void j1939_request_make(struct can_frame_rec *f, uint32_t pgn, uint8_t da, uint8_t sa,
                        uint64_t t_us);
/* The requested PGN; false when f is not a request or is shorter than 3 bytes. */
bool j1939_request_parse(const struct can_frame_rec *f, struct j1939_id *id, uint32_t *pgn);

enum j1939_ack_control {
    J1939_ACK_POSITIVE = 0,
    J1939_ACK_NEGATIVE = 1,
    J1939_ACK_ACCESS_DENIED = 2,
    J1939_ACK_CANNOT_RESPOND = 3,
};
/* Acknowledgement of pgn to requester, sent to global (J1939-21 [I]):
 * [control, group function 0xFF, 0xFF, 0xFF, requester, pgn LE (3)]. */
void j1939_ack_make(struct can_frame_rec *f, enum j1939_ack_control control, uint32_t pgn,
                    uint8_t requester, uint8_t sa, uint64_t t_us);
bool j1939_ack_parse(const struct can_frame_rec *f, enum j1939_ack_control *control, uint32_t *pgn,
                     uint8_t *requester);

/* ---- NAME and address claim (J1939-81) --------------------------------- */

/* The 64-bit NAME, sent little-endian in the Address Claimed message. A lower
 * value wins an address contention. Bit positions (LSB = 0): */
struct j1939_name_fields {
    uint32_t identity;               /* bits 0-20: serial number, unique per device */
    uint16_t manufacturer;           /* bits 21-31: SAE-assigned manufacturer code */
    uint8_t ecu_instance;            /* bits 32-34 */
    uint8_t function_instance;       /* bits 35-39 */
    uint8_t function;                /* bits 40-47: 129 = off-board diagnostic-service tool [I] */
    uint8_t vehicle_system;          /* bits 49-55 (bit 48 reserved, 0) */
    uint8_t vehicle_system_instance; /* bits 56-59 */
    uint8_t industry_group;          /* bits 60-62: 0 global, 1 on-highway */
    bool arbitrary_address;          /* bit 63: may claim any address in 128-247 */
};
uint64_t j1939_name_pack(const struct j1939_name_fields *n);
void j1939_name_unpack(uint64_t name, struct j1939_name_fields *n);

/* Address Claimed (or, with sa = J1939_ADDR_NULL, Cannot Claim) for name. */
void j1939_address_claimed_make(struct can_frame_rec *f, uint64_t name, uint8_t sa, uint64_t t_us);

enum j1939_ac_state {
    J1939_AC_IDLE,         /* not started */
    J1939_AC_CLAIMING,     /* claim sent, waiting out the contention window */
    J1939_AC_CLAIMED,      /* the address is ours */
    J1939_AC_CANNOT_CLAIM, /* lost and no free address: silent except Cannot Claim */
};

struct j1939_ac_config {
    uint64_t name;                /* default: function 129, industry group 0,
                                     arbitrary-address capable, identity 0 */
    uint8_t preferred;            /* default J1939_ADDR_TOOL1 (0xF9) */
    uint32_t claim_wait_us;       /* contention window after a claim: 250 ms [C] */
    uint32_t response_min_gap_us; /* Address Claimed answers at most this often;
                                     coalesced requests still get one within Tr
                                     (default 50 ms, must be <= tr_us) */
    uint32_t tr_us;               /* response time Tr, 200 ms */
    bool nack_requests;           /* NACK destination-specific requests nobody handles */
    uint16_t nack_per_second;     /* NACK rate limit (token bucket), default 20 */
    uint16_t nack_burst;          /* bucket size, default 10 */
};
void j1939_ac_config_default(struct j1939_ac_config *cfg);

/* A destination-specific or global request for some PGN other than Address
 * Claimed reached us. Return true when the application answers it; false lets
 * the stack NACK a destination-specific one (never a global one). */
typedef bool (*j1939_request_fn)(void *user, uint32_t pgn, uint8_t requester, uint8_t da,
                                 uint64_t now_us);

struct j1939_ac_callbacks {
    j1939_send_fn send;       /* required */
    j1939_request_fn request; /* optional */
    void *user;
};

struct j1939_ac_stats {
    uint64_t claims_sent; /* Address Claimed from us, any reason */
    uint64_t cannot_claim_sent;
    uint64_t contests_won; /* another NAME claimed our address and lost */
    uint64_t contests_lost;
    uint64_t requests_for_claim;
    uint64_t responses_coalesced; /* requests answered by an already scheduled claim */
    uint64_t nacks_sent;
    uint64_t nacks_suppressed; /* over the NACK rate limit */
    uint64_t tx_errors;
};

/* Opaque; owns nothing but itself. */
typedef struct j1939_ac j1939_ac;

j1939_ac *j1939_ac_new(const struct j1939_ac_config *cfg, const struct j1939_ac_callbacks *cb,
                       char *err, size_t errlen);
void j1939_ac_free(j1939_ac *ac);
/* Claims the preferred address (again, after CANNOT_CLAIM). */
void j1939_ac_start(j1939_ac *ac, uint64_t now_us);
/* Feeds one received frame. Returns 1 when it was address management (a claim
 * or a request) that the stack consumed, 0 otherwise. */
int j1939_ac_rx(j1939_ac *ac, const struct can_frame_rec *f, uint64_t now_us);
/* Sends what is due (coalesced answers, Cannot Claim delays) and ends the
 * contention window. */
void j1939_ac_tick(j1939_ac *ac, uint64_t now_us);
/* Earliest time tick has something to do, UINT64_MAX if nothing. */
uint64_t j1939_ac_next_deadline(const j1939_ac *ac);
enum j1939_ac_state j1939_ac_get_state(const j1939_ac *ac);
/* The address we may send from now, or J1939_ADDR_NULL (not yet, or lost). */
uint8_t j1939_ac_address(const j1939_ac *ac);
/* The NAME that last claimed addr, if any node did. */
bool j1939_ac_peer(const j1939_ac *ac, uint8_t addr, uint64_t *name);
void j1939_ac_get_stats(const j1939_ac *ac, struct j1939_ac_stats *st);

/* ---- transport protocol (J1939-21 TP.CM / TP.DT) ----------------------- */

enum j1939_tp_control {
    J1939_TP_CM_RTS = 0x10,
    J1939_TP_CM_CTS = 0x11,
    J1939_TP_CM_EOMA = 0x13,
    J1939_TP_CM_BAM = 0x20,
    J1939_TP_CM_ABORT = 0xFF,
};

/* Connection Abort reasons (J1939-21; the kernel's can-j1939 uses the same). */
enum j1939_tp_abort {
    J1939_TP_ABORT_BUSY = 1,      /* already in a session, cannot support another */
    J1939_TP_ABORT_RESOURCES = 2, /* resources needed elsewhere (table full) */
    J1939_TP_ABORT_TIMEOUT = 3,
    J1939_TP_ABORT_CTS_WHILE_SENDING = 4,
    J1939_TP_ABORT_RETRANSMIT_LIMIT = 5,
    J1939_TP_ABORT_UNEXPECTED_DT = 6,
    J1939_TP_ABORT_BAD_SEQUENCE = 7,
    J1939_TP_ABORT_DUPLICATE_SEQUENCE = 8,
    J1939_TP_ABORT_TOO_LARGE = 9, /* message size > 1785 bytes */
    J1939_TP_ABORT_OTHER = 250,   /* any other reason */
};
const char *j1939_tp_abort_name(unsigned reason);

/* J1939-21 timeouts (microseconds). A timeout fires when more than the value
 * has elapsed: exactly T is still in time. */
struct j1939_tp_timing {
    uint32_t t1_us; /* receiver: between data packets (also BAM), 750 ms */
    uint32_t t2_us; /* receiver: after sending a CTS until data, 1250 ms */
    uint32_t t3_us; /* originator: after RTS or a window until CTS/EoMA, 1250 ms */
    uint32_t t4_us; /* originator: after a CTS(0) hold until the next CTS, 1050 ms */
    uint32_t tr_us; /* response time, 200 ms */
    uint32_t th_us; /* receiver holding: repeat CTS(0) this often, 500 ms */
};
void j1939_tp_timing_default(struct j1939_tp_timing *t);

/* A complete message: single frame or reassembled. data is valid only
 * during the callback. */
struct j1939_msg {
    uint32_t pgn;
    uint8_t sa, da; /* da J1939_ADDR_GLOBAL for broadcasts and BAM */
    uint8_t priority;
    bool via_tp;
    uint16_t len;
    const uint8_t *data;
    uint64_t t_us; /* when the last frame arrived */
};
typedef void (*j1939_msg_fn)(void *user, const struct j1939_msg *msg);

/* A single-frame message as a j1939_msg (data points into f). False if f is
 * not J1939. TP frames are returned as they are; feed them to the receiver. */
bool j1939_msg_from_frame(const struct can_frame_rec *f, struct j1939_msg *msg);

enum j1939_tp_event_kind {
    J1939_TP_EV_ABORT_SENT,     /* we aborted a connection (reason) */
    J1939_TP_EV_ABORT_RECEIVED, /* the peer aborted it (reason) */
    J1939_TP_EV_DROPPED,        /* a BAM abandoned (reason: TIMEOUT, BAD_SEQUENCE, ...) */
    J1939_TP_EV_REFUSED,        /* a new session refused (reason; RTS also got an Abort) */
    J1939_TP_EV_REPLACED,       /* a session superseded by a new RTS/BAM from the same source */
};
struct j1939_tp_event {
    enum j1939_tp_event_kind kind;
    uint8_t sa, da; /* of the data: originator, receiver */
    uint32_t pgn;
    unsigned reason; /* enum j1939_tp_abort */
};
typedef void (*j1939_tp_event_fn)(void *user, const struct j1939_tp_event *ev);

/* -- receive: BAM and RTS/CTS as the destination -- */

struct j1939_tp_rx_config {
    uint8_t address;       /* ours, for RTS/CTS; J1939_ADDR_NULL: BAM only */
    uint8_t max_window;    /* most packets asked for per CTS, 1..255 (default 16) */
    uint8_t priority;      /* of our CTS/EoMA/Abort, default 7 */
    uint16_t max_sessions; /* 1..J1939_TP_RX_SESSIONS_MAX, default the maximum */
    struct j1939_tp_timing timing;
};
void j1939_tp_rx_config_default(struct j1939_tp_rx_config *cfg);

struct j1939_tp_rx_callbacks {
    j1939_send_fn send;      /* required: CTS, EoMA, Abort */
    j1939_msg_fn message;    /* required: every reassembled message */
    j1939_tp_event_fn event; /* optional */
    void *user;
};

struct j1939_tp_rx_stats {
    uint64_t messages; /* delivered */
    uint64_t bam_started, rts_started;
    uint64_t refused_full;    /* session table exhausted */
    uint64_t refused_invalid; /* size, packet count or PGN out of range */
    uint64_t aborts_sent, aborts_received;
    uint64_t bam_dropped;
    uint64_t timeouts;   /* sessions ended by T1/T2 */
    uint64_t duplicates; /* repeated data packets, ignored */
    uint64_t replaced;
    uint64_t stray;     /* data or aborts for no session */
    uint64_t malformed; /* short TP.CM, unknown control byte, misaddressed */
    uint64_t tx_errors;
    uint32_t active, peak_active;
};

typedef struct j1939_tp_rx j1939_tp_rx; /* opaque; buffers are inside, fixed size */

j1939_tp_rx *j1939_tp_rx_new(const struct j1939_tp_rx_config *cfg,
                             const struct j1939_tp_rx_callbacks *cb, char *err, size_t errlen);
void j1939_tp_rx_free(j1939_tp_rx *rx);
/* Our address changed (address claim). RTS/CTS sessions to the old one are
 * dropped without an Abort: we may no longer send from it. */
void j1939_tp_rx_set_address(j1939_tp_rx *rx, uint8_t address);
/* Feeds one received frame. Returns 1 when it was TP.CM/TP.DT (consumed, even
 * if ignored), 0 for any other frame. */
int j1939_tp_rx_frame(j1939_tp_rx *rx, const struct can_frame_rec *f, uint64_t now_us);
/* Ends sessions that timed out and repeats CTS(0) for held connections. */
void j1939_tp_rx_tick(j1939_tp_rx *rx, uint64_t now_us);
uint64_t j1939_tp_rx_next_deadline(const j1939_tp_rx *rx);
/* Holds (or releases) the RTS/CTS connection from sa: at the next window
 * boundary we send CTS(0) and repeat it every Th until released. */
int j1939_tp_rx_hold(j1939_tp_rx *rx, uint8_t sa, bool hold, uint64_t now_us);
void j1939_tp_rx_get_stats(const j1939_tp_rx *rx, struct j1939_tp_rx_stats *st);

/* -- transmit: BAM and RTS/CTS as the originator (the ECU simulator) -- */

struct j1939_tp_tx_config {
    uint32_t bam_gap_us;     /* between BAM packets, 50..200 ms (default 50 ms) */
    uint32_t rts_gap_us;     /* between packets of a CTS window, 0..Tr (default 0) */
    uint8_t max_per_cts;     /* announced in the RTS, 1..255 (default 255 = no limit) */
    uint8_t max_retransmits; /* CTS re-requests tolerated per message (default 2) */
    uint8_t priority;        /* of TP.CM/TP.DT, default 7 */
    uint16_t max_sessions;   /* 1..J1939_TP_TX_SESSIONS_MAX */
    uint32_t max_hold_us;    /* total CTS(0) hold tolerated per message, default 10 s */
    struct j1939_tp_timing timing;
};
void j1939_tp_tx_config_default(struct j1939_tp_tx_config *cfg);

struct j1939_tp_tx_result {
    uint8_t sa, da;
    uint32_t pgn;
    uint16_t size;
    bool ok;         /* BAM: every packet sent; RTS/CTS: EndOfMsgAck received */
    bool by_peer;    /* the receiver aborted */
    unsigned reason; /* enum j1939_tp_abort when !ok */
};
typedef void (*j1939_tp_done_fn)(void *user, const struct j1939_tp_tx_result *res);

struct j1939_tp_tx_callbacks {
    j1939_send_fn send;    /* required */
    j1939_tp_done_fn done; /* optional */
    void *user;
};

struct j1939_tp_tx_stats {
    uint64_t started, completed, aborted_by_peer, aborted, timeouts;
    uint64_t packets_sent, retransmit_requests, holds;
    uint64_t stray; /* CTS/EoMA/Abort for no session (e.g. CTS after EoMA) */
    uint64_t tx_errors;
    uint32_t active;
};

typedef struct j1939_tp_tx j1939_tp_tx; /* opaque; copies of the messages are inside */

j1939_tp_tx *j1939_tp_tx_new(const struct j1939_tp_tx_config *cfg,
                             const struct j1939_tp_tx_callbacks *cb, char *err, size_t errlen);
void j1939_tp_tx_free(j1939_tp_tx *tx);
/* Starts sending len (9..1785) bytes of pgn from sa to da: BAM when da is
 * J1939_ADDR_GLOBAL, RTS/CTS otherwise. The data is copied. The RTS or BAM
 * goes out now; J1939_EBUSY if (sa, da) already has a session. */
int j1939_tp_tx_start(j1939_tp_tx *tx, uint8_t sa, uint8_t da, uint32_t pgn, const uint8_t *data,
                      size_t len, uint64_t now_us);
/* Aborts our RTS/CTS session (sends the Abort) or silently ends a BAM. */
int j1939_tp_tx_abort(j1939_tp_tx *tx, uint8_t sa, uint8_t da, unsigned reason, uint64_t now_us);
/* Feeds a received frame (CTS, EoMA, Abort). Returns 1 when it was TP.CM. */
int j1939_tp_tx_frame(j1939_tp_tx *tx, const struct can_frame_rec *f, uint64_t now_us);
/* Sends packets that are due and applies T3/T4 and the hold limit. */
void j1939_tp_tx_tick(j1939_tp_tx *tx, uint64_t now_us);
uint64_t j1939_tp_tx_next_deadline(const j1939_tp_tx *tx);
void j1939_tp_tx_get_stats(const j1939_tp_tx *tx, struct j1939_tp_tx_stats *st);

/* ---- decoders ------------------------------------------------------------ */

/* A parameter is a number only when VALID. J1939-71 ranges: 1 byte 0..0xFA,
 * 2 bytes 0..0xFAFF, 4 bytes 0..0xFAFFFFFF valid; 0xFE.. error indicator;
 * 0xFF.. not available; the reserved ranges in between count as ERROR.
 * MISSING: the payload is too short to hold the parameter. */
enum j1939_validity {
    J1939_VALID = 0,
    J1939_NOT_AVAILABLE = 1,
    J1939_ERROR = 2,
    J1939_MISSING = 3,
};
const char *j1939_validity_name(enum j1939_validity v);

/* -- VI 65260: VIN (SPN 237) -- */
#define J1939_VIN_TEXT_MAX 32
struct j1939_vin {
    enum j1939_validity validity;      /* VALID: exactly 17 ISO 3779 characters */
    char text[J1939_VIN_TEXT_MAX + 1]; /* printable ASCII up to '*' (others '?') */
    bool terminated;                   /* the '*' delimiter was present */
    bool check_digit_ok;               /* position 9 matches (ISO 3779 / GB 16735); informative */
};
void j1939_vin_decode(const uint8_t *data, size_t len, struct j1939_vin *out);

/* -- DM1 65226 / DM2 65227 -- */
enum j1939_lamp {
    J1939_LAMP_OFF = 0,
    J1939_LAMP_ON = 1,
    J1939_LAMP_ERROR = 2, /* 10b: reserved */
    J1939_LAMP_NA = 3,
};
enum j1939_flash {
    J1939_FLASH_SLOW = 0, /* 1 Hz */
    J1939_FLASH_FAST = 1, /* 2 Hz and faster */
    J1939_FLASH_RESERVED = 2,
    J1939_FLASH_NONE = 3, /* unavailable / do not flash */
};
struct j1939_lamps {
    enum j1939_lamp mil, red_stop, amber_warning, protect;
    enum j1939_flash mil_flash, red_stop_flash, amber_warning_flash, protect_flash;
};
struct j1939_dtc {
    uint32_t spn; /* 19 bits, may exceed 0xFFFF */
    uint8_t fmi;  /* 0..31 */
    uint8_t oc;   /* occurrence count 0..126; 127 = not available */
    bool cm;      /* conversion method 1: an older SPN byte order (J1939-73
                     versions 1-3); spn is then only the version-4 reading */
};
#define J1939_DM_MAX_DTC ((J1939_TP_MAX_SIZE - 2u) / 4u) /* 445 */
struct j1939_dm1 {
    bool lamps_present;
    struct j1939_lamps lamps;
    uint16_t n_dtc;   /* real DTCs (SPN 0/FMI 0 and all-0xFF slots skipped) */
    uint16_t n_slots; /* 4-byte slots in the payload */
    bool any_cm;      /* some DTC uses an old conversion method */
    struct j1939_dtc dtc[J1939_DM_MAX_DTC];
};
/* 0, or J1939_EINVAL when len < 2 (no lamp bytes). */
int j1939_dm1_decode(const uint8_t *data, size_t len, struct j1939_dm1 *out);
const char *j1939_lamp_name(enum j1939_lamp l);
const char *j1939_flash_name(enum j1939_flash f);

/* -- DM5 65230: diagnostic readiness 1 (J1939-73; bit layout [I]) -- */
enum j1939_monitor {
    /* Non-continuous, bit n of bytes 4-5 (support) and 6-7 (not complete). */
    J1939_MON_CATALYST = 0,
    J1939_MON_HEATED_CATALYST = 1,
    J1939_MON_EVAPORATIVE = 2,
    J1939_MON_SECONDARY_AIR = 3,
    J1939_MON_AC_REFRIGERANT = 4,
    J1939_MON_EXHAUST_GAS_SENSOR = 5,        /* O2 sensor */
    J1939_MON_EXHAUST_GAS_SENSOR_HEATER = 6, /* O2 heater */
    J1939_MON_EGR_VVT = 7,
    J1939_MON_COLD_START_AID = 8,
    J1939_MON_BOOST_PRESSURE = 9,
    J1939_MON_DPF = 10,
    J1939_MON_NOX_CATALYST = 11,  /* NOx converting catalyst / adsorber (SCR) */
    J1939_MON_NMHC_CATALYST = 12, /* NMHC converting catalyst (DOC/POC) */
    /* Continuous, byte 3: support bits 0-2, not-complete bits 4-6. */
    J1939_MON_MISFIRE = 16,
    J1939_MON_FUEL_SYSTEM = 17,
    J1939_MON_COMPREHENSIVE = 18,
};
enum j1939_readiness {
    J1939_READY_UNSUPPORTED, /* also: the ECU is not an OBD ECU */
    J1939_READY_COMPLETE,
    J1939_READY_NOT_COMPLETE,
    J1939_READY_UNKNOWN, /* the bytes are not available / missing */
};
struct j1939_dm5 {
    enum j1939_validity active_valid, previous_valid, compliance_valid;
    uint8_t active_count, previous_count; /* meaningful when VALID */
    uint8_t obd_compliance;               /* SPN 1220 raw code */
    bool is_obd; /* compliance valid and not 5 ("not intended to meet OBD") */
    bool continuous_present, noncontinuous_present;
    uint8_t continuous_supported;     /* bits 0 misfire, 1 fuel system, 2 comprehensive */
    uint8_t continuous_not_complete;  /* same bits */
    uint16_t noncontinuous_supported; /* bit n = enum j1939_monitor n */
    uint16_t noncontinuous_not_complete;
};
void j1939_dm5_decode(const uint8_t *data, size_t len, struct j1939_dm5 *out);
enum j1939_readiness j1939_dm5_monitor(const struct j1939_dm5 *dm5, enum j1939_monitor m);
const char *j1939_monitor_name(enum j1939_monitor m);
const char *j1939_readiness_name(enum j1939_readiness r);
/* SPN 1220 names (J1939-73 as used by ETI j1939-84 [I]); never NULL. */
const char *j1939_obd_compliance_name(uint8_t code);

/* -- live values: table driven, one entry per SPN -- */
struct j1939_spn_def {
    uint32_t spn;
    uint32_t pgn;
    const char *name;
    const char *unit;
    uint8_t byte; /* first byte, 0-based, little-endian */
    uint8_t size; /* 1, 2 or 4 bytes */
    double scale; /* physical = raw * scale + offset */
    double offset;
    const char *source; /* "C" confirmed, "I" implementations agree, "U" unconfirmed */
};
struct j1939_live_value {
    const struct j1939_spn_def *def;
    enum j1939_validity validity;
    double value; /* 0 unless VALID */
};
/* The built-in table (standards.md; docs/j1939.md lists it with sources). */
const struct j1939_spn_def *j1939_live_defaults(size_t *n);
/* The entry for spn in table (NULL: the defaults), or NULL. */
const struct j1939_spn_def *j1939_live_find(const struct j1939_spn_def *table, size_t n,
                                            uint32_t spn);
/* One parameter from a payload of its PGN. */
void j1939_live_value(const struct j1939_spn_def *def, const uint8_t *data, size_t len,
                      struct j1939_live_value *out);
/* Every parameter of pgn in table (NULL: the defaults); returns how many were
 * written to out (at most max). */
size_t j1939_live_decode(const struct j1939_spn_def *table, size_t n, uint32_t pgn,
                         const uint8_t *data, size_t len, struct j1939_live_value *out, size_t max);

#endif
