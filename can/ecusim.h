/* SPDX-License-Identifier: MIT */
/*
 * A simulated vehicle on CAN, for commissioning and tests: a heavy truck's J1939
 * engine ECU (0x00) and aftertreatment ECU (0x3D) broadcasting live values and
 * DM1, answering requests for VI and DM5 (BAM to global, RTS/CTS to a specific
 * requester), and ISO 15765-4 OBD ECUs (engine and transmission, 11- or 29-bit)
 * answering services 01, 03 and 09 through isotp_link.
 *
 * A pure state machine like the stacks it reuses (j1939_tp_tx, isotp_link): no
 * sockets, no clock. Frames go out through io.send; feed received frames to
 * ecusim_rx() and call ecusim_tick() by ecusim_next_deadline(). The same object
 * runs on the virtual bus in-process, on SocketCAN, or in simulated time.
 */
#ifndef ECUSIM_H
#define ECUSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "can_frame.h"

#define ECUSIM_MAX_DTC     16
#define ECUSIM_ADDR_ENGINE 0x00u
#define ECUSIM_ADDR_AFTERT 0x3Du
/* 29-bit OBD source addresses (0x18DAF1xx). */
#define ECUSIM_OBD29_ENGINE 0x10u
#define ECUSIM_OBD29_TRANS  0x18u

enum ecusim_rc {
    ECUSIM_OK = 0,
    ECUSIM_EINVAL = -1, /* bad profile or argument */
    ECUSIM_ENOENT = -2, /* no such preset */
    ECUSIM_ESTACK = -3, /* a protocol stack could not be created */
};

struct ecusim_j1939_dtc {
    uint32_t spn; /* 19 bits */
    uint8_t fmi;  /* 0..31 */
    uint8_t oc;   /* occurrence count 0..126 */
};

/* What the vehicle is and says. Plain data: copied by ecusim_new. */
struct ecusim_profile {
    char name[24];
    char vin[18];           /* 17 characters */
    char calid[17];         /* service 09 04, up to 16 characters */
    uint32_t cvn;           /* service 09 06 */
    bool j1939;             /* engine 0x00 and aftertreatment 0x3D */
    bool obd11;             /* ISO 15765-4 11-bit: 0x7E8 engine, 0x7E9 transmission */
    bool obd29;             /* ISO 15765-4 29-bit: 0x18DAF110, 0x18DAF118 */
    bool mil;               /* DM1 MIL lamp and PID 01 bit A7 */
    uint8_t obd_compliance; /* DM5 byte 2 (SPN 1220), e.g. 20 HD OBD */
    size_t n_engine_dtc, n_aftert_dtc;
    struct ecusim_j1939_dtc engine_dtc[ECUSIM_MAX_DTC];
    struct ecusim_j1939_dtc aftert_dtc[ECUSIM_MAX_DTC];
    uint16_t dm5_supported;    /* non-continuous monitors, bit n = enum j1939_monitor n */
    uint16_t dm5_not_complete; /* same bits */
    /* OBD service 03, per ECU (raw 2-byte DTCs, e.g. 0x2002 = P2002). */
    size_t n_obd_engine_dtc, n_obd_trans_dtc;
    uint16_t obd_engine_dtc[ECUSIM_MAX_DTC];
    uint16_t obd_trans_dtc[ECUSIM_MAX_DTC];
    /* PID 01 bytes C and D (compression ignition meanings): supported and not ready. */
    uint8_t pid01_supported, pid01_not_ready;
};

/* Built-in presets: "truck-clean", "truck-mil", "car-obd", "car-obd29". */
int ecusim_preset(const char *name, struct ecusim_profile *out);
/* The i-th preset name, NULL past the end. */
const char *ecusim_preset_name(size_t i);

struct ecusim_io {
    int (*send)(void *ctx, const struct can_frame_rec *f); /* 0, or negative: counted */
    void *ctx;
};

struct ecusim_stats {
    uint64_t frames_tx, tx_errors;
    uint64_t broadcasts;   /* single-frame J1939 broadcasts */
    uint64_t dm1_sent;     /* DM1 messages (both ECUs) */
    uint64_t requests;     /* J1939 requests answered */
    uint64_t nacks;        /* destination-specific requests for PGNs we do not have */
    uint64_t tp_started;   /* BAM and RTS/CTS sessions started */
    uint64_t tp_completed; /* ... and ended well */
    uint64_t tp_failed;    /* ... aborted */
    uint64_t tp_deferred;  /* a session had to wait for a running one */
    uint64_t obd_requests; /* OBD requests received (each ECU counts) */
    uint64_t obd_answers;  /* positive or negative answers sent */
};

typedef struct ecusim ecusim; /* owns its stacks; ecusim_new / ecusim_free */

ecusim *ecusim_new(const struct ecusim_profile *p, const struct ecusim_io *io, char *err,
                   size_t errlen);
void ecusim_free(ecusim *s);
/* Starts the broadcast schedules at now_us (call once before ticking). */
void ecusim_start(ecusim *s, uint64_t now_us);
/* One received frame (requests, TP CTS/EoMA/Abort, OBD requests and flow control). */
void ecusim_rx(ecusim *s, const struct can_frame_rec *f, uint64_t now_us);
/* Sends what is due. */
void ecusim_tick(ecusim *s, uint64_t now_us);
/* Earliest time tick has something to do. */
uint64_t ecusim_next_deadline(const ecusim *s);
void ecusim_get_stats(const ecusim *s, struct ecusim_stats *st);

/* Payload builders (also what the tests compare against). Return the length. */
size_t ecusim_dm1_payload(const struct ecusim_profile *p, bool aftertreatment, uint8_t *out,
                          size_t cap);
size_t ecusim_dm5_payload(const struct ecusim_profile *p, uint8_t *out, size_t cap);

#endif
