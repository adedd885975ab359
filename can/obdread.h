/* SPDX-License-Identifier: MIT */
/*
 * The roadside OBD check's reader: reads one connected vehicle over a canbus (any
 * backend) and fills a struct obdread_report. It detects the protocol itself (J1939
 * broadcasts and address claims versus ISO 15765-4 11-bit / 29-bit through obd_detect;
 * the officer never chooses), claims an address as an off-board service tool on J1939,
 * and reads what the check needs: VIN, MIL, DTCs per ECU, readiness not complete,
 * odometer, CAL ID / CVN, a few live values.
 *
 * Built on the stacks in can/ (j1939_*, obd_*, isotp_*); never includes gateway/.
 * Two ways to drive it:
 *   obdread_run()   blocking: polls canbus_fd() with deadlines on CLOCK_MONOTONIC
 *                   (log backend: the log's own timestamps), until the report is done;
 *   step API        obdread_new/start, then feed every received frame to
 *                   obdread_on_frame() and call obdread_poll() at
 *                   obdread_next_deadline_us(); the tests drive it with their clock.
 */
#ifndef OBDREAD_H
#define OBDREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canbus.h"

#define OBDREAD_MAX_ECUS      8
#define OBDREAD_MAX_DTCS      64
#define OBDREAD_MAX_READINESS 24
#define OBDREAD_MAX_CALS      16
#define OBDREAD_MAX_LIVE      24
#define OBDREAD_NAME_LEN      48
#define OBDREAD_MSG_LEN       256

enum obdread_rc {
    OBDREAD_OK = 0,
    OBDREAD_EINVAL = -1, /* bad argument */
    OBDREAD_EBUS = -2,   /* the bus failed (the report says interface error) */
};

enum obdread_protocol {
    OBDREAD_PROTO_NONE = 0, /* nothing answered */
    OBDREAD_PROTO_J1939,
    OBDREAD_PROTO_ISO15765_11BIT,
    OBDREAD_PROTO_ISO15765_29BIT,
};
/* "J1939", "ISO 15765-4 11-bit", "ISO 15765-4 29-bit", "none". */
const char *obdread_protocol_name(enum obdread_protocol p);

enum obdread_comm {
    OBDREAD_COMM_OK = 0,
    OBDREAD_COMM_NO_ANSWER,       /* the vehicle said nothing in the configured time */
    OBDREAD_COMM_INTERFACE_ERROR, /* error frames, bus-off, a send the bus refused */
};
/* "ok", "no answer", "interface error". */
const char *obdread_comm_name(enum obdread_comm c);

enum obdread_mil { OBDREAD_MIL_UNKNOWN = 0, OBDREAD_MIL_OFF, OBDREAD_MIL_ON };
const char *obdread_mil_name(enum obdread_mil m);

enum obdread_value_state {
    OBDREAD_VALUE_OK = 0,
    OBDREAD_VALUE_NA,        /* the ECU says not available */
    OBDREAD_VALUE_ERROR,     /* the ECU reports an error indicator */
    OBDREAD_VALUE_NO_ANSWER, /* nothing received for it */
};
/* "ok", "NA", "error", "no answer". */
const char *obdread_value_state_name(enum obdread_value_state s);

struct obdread_dtc {
    uint8_t ecu;   /* J1939 source address, or the ISO 15765 ECU (0-7 / source address) */
    char code[24]; /* "P0401", or "SPN 524287 FMI 31" */
    uint32_t spn;  /* J1939 only (0 otherwise) */
    uint8_t fmi;
    uint8_t oc;  /* occurrence count, 127 = not available */
    bool mil_on; /* the ECU that reports it has its MIL on */
};

struct obdread_cal {
    uint8_t ecu;
    char cal_id[17];
    char cvn[9]; /* "1A2B3C4D", "" when not read */
};

struct obdread_live {
    char name[OBDREAD_NAME_LEN];
    char unit[16];
    enum obdread_value_state state;
    double value; /* OBDREAD_VALUE_OK only */
    uint8_t ecu;
};

/* Everything the reader learned; plain data, no pointers. */
struct obdread_report {
    enum obdread_protocol protocol;
    enum obdread_comm comm;
    char message[OBDREAD_MSG_LEN]; /* one line for the officer: what answered, what did not */
    char vin[33];                  /* "" when not read */
    bool vin_valid;                /* 17 ISO 3779 characters */
    enum obdread_mil mil;
    size_t n_ecus;
    uint8_t ecus[OBDREAD_MAX_ECUS];
    size_t n_dtcs;
    struct obdread_dtc dtcs[OBDREAD_MAX_DTCS];
    bool dtcs_truncated;
    bool readiness_read; /* DM5 or 01 01 answered */
    size_t n_readiness_incomplete;
    char readiness_incomplete[OBDREAD_MAX_READINESS][OBDREAD_NAME_LEN];
    bool odometer_present;
    double odometer_km;
    size_t n_cals;
    struct obdread_cal cals[OBDREAD_MAX_CALS];
    size_t n_live;
    struct obdread_live live[OBDREAD_MAX_LIVE];
    char missing[OBDREAD_MSG_LEN]; /* items requested without an answer: "VI, DM5" */
    unsigned error_frames;
};

struct obdread_opts {
    uint32_t detect_ms;         /* listen for J1939 / run obd_detect this long (1000) */
    uint32_t broadcast_wait_ms; /* wait for DM1 and other broadcasts (1500) */
    uint32_t request_wait_ms;   /* answers to a J1939 request (1250: busy buses take
                                   600-750 ms, TP adds more) */
    uint32_t live_window_ms;    /* collect live values this long (1000) */
    uint32_t iso_p2_ms;         /* ISO 15765 answers per request (obd_query p2, 100) */
    unsigned max_error_frames;  /* error frames that mean interface error (5) */
    uint8_t tool_address;       /* J1939 address we claim (0xF9) */
    bool listen_only;           /* log backend: send nothing, report what the bus showed */
};
void obdread_opts_default(struct obdread_opts *o);

typedef struct obdread obdread; /* owns its j1939 and obd machines; not the bus */

/* bus stays the caller's. opts NULL: defaults. */
obdread *obdread_new(canbus *bus, const struct obdread_opts *opts, char *err, size_t errlen);
void obdread_free(obdread *r);
/* Starts reading (sends the first requests). */
int obdread_start(obdread *r, uint64_t now_us);
/* Every received frame, error frames included. */
void obdread_on_frame(obdread *r, const struct can_frame_rec *f, uint64_t now_us);
/* Runs the timers and the next steps: 1 while reading, 0 when the report is done. */
int obdread_poll(obdread *r, uint64_t now_us);
/* When obdread_poll() should run next, UINT64_MAX when done. */
uint64_t obdread_next_deadline_us(const obdread *r);
const struct obdread_report *obdread_report(const obdread *r);

/* Reads the vehicle on bus until the report is done (a few seconds). Returns
 * OBDREAD_OK with *report filled (its comm says whether the vehicle answered), or a
 * negative code with err set when the bus itself failed (report still filled). */
int obdread_run(canbus *bus, const struct obdread_opts *opts, struct obdread_report *report,
                char *err, size_t errlen);

#endif
