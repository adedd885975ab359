/* SPDX-License-Identifier: MIT */
/*
 * OBD on CAN (ISO 15765-4 / SAE J1979) for the roadside check: decoders for the answers
 * (services 01, 03/07/0A, 09, negative responses), a request/answer state machine that
 * collects the answers of every ECU to one functional request (obd_query), and protocol
 * detection (obd_detect). Pure state machines over struct can_frame_rec like isotp.h:
 * no sockets, no clock; every function takes now_us. docs/obd.md has the details.
 */
#ifndef OBD_H
#define OBD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "can_frame.h"
#include "isotp.h"

#define OBD_MAX_ECUS       8   /* ISO 15765-4: at most 8 emission-related ECUs */
#define OBD_MAX_DTCS       255 /* the count byte's range */
#define OBD_MAX_INFO_ITEMS 32  /* CAL IDs / CVNs kept per ECU */

enum obd_rc {
    OBD_OK = 0,
    OBD_EINVAL = -1,     /* bad argument or configuration */
    OBD_EMALFORMED = -2, /* an answer that contradicts itself or is too short */
    OBD_ENEGATIVE = -3,  /* a negative response: 7F sid nrc */
    OBD_EMISMATCH = -4,  /* an answer to another service or PID */
    OBD_EBUSY = -5,      /* a query is still running */
    OBD_ESEND = -6,      /* the request could not be sent */
};

const char *obd_strerror(int rc);

enum obd_can_addressing { OBD_CAN_11BIT, OBD_CAN_29BIT };

/* Services (J1979 modes) and response codes. */
#define OBD_SID_CURRENT_DATA     0x01
#define OBD_SID_STORED_DTCS      0x03
#define OBD_SID_PENDING_DTCS     0x07
#define OBD_SID_VEHICLE_INFO     0x09
#define OBD_SID_PERMANENT_DTC    0x0A
#define OBD_NEGATIVE_RESPONSE    0x7F
#define OBD_NRC_RESPONSE_PENDING 0x78

const char *obd_service_name(uint8_t sid);
/* "requestOutOfRange" etc. (ISO 14229-1 / ISO 15031-5 names); "unknown NRC" otherwise. */
const char *obd_nrc_name(uint8_t nrc);

/* What an answer is to a request: 1 a positive answer, 0 a negative one (*nrc set),
 * OBD_EMISMATCH neither (another service or PID, or too short to tell). */
int obd_classify(const uint8_t *req, size_t req_len, const uint8_t *msg, size_t len, uint8_t *nrc);

/* ---- service 01: current data -------------------------------------------------------- */

/* PIDs reported supported by one ECU (service 01 or 09, PIDs 00/20/40/...). */
struct obd_pid_support {
    uint8_t bits[32];    /* bit for PID n: bits[n / 8] & (0x80 >> n % 8) */
    uint8_t ranges_seen; /* bit i: the bitmap for PIDs i*0x20+1 .. i*0x20+0x20 was received */
};

/* Merges every bitmap PID (00, 20, ..., E0) of a 41 or 49 answer into *s. Number of
 * bitmaps merged, or a negative obd_rc. */
int obd_decode_supported(const uint8_t *msg, size_t len, struct obd_pid_support *s);
bool obd_pid_supported(const struct obd_pid_support *s, uint8_t pid);

enum obd_pid_kind { OBD_KIND_NUMBER, OBD_KIND_BITMAP, OBD_KIND_STATUS };

struct obd_pid_desc {
    uint8_t pid;
    uint8_t len; /* data bytes */
    enum obd_pid_kind kind;
    const char *name;
    const char *unit;
    double scale; /* value = raw * scale + offset, raw big-endian over len bytes */
    double offset;
};

/* The table entry for a service-01 PID, NULL when it is not one we know. */
const struct obd_pid_desc *obd_pid_find(uint8_t pid);

enum obd_value_status {
    OBD_VALUE_OK,
    OBD_VALUE_SHORT,       /* fewer data bytes than the PID carries */
    OBD_VALUE_UNKNOWN_PID, /* not in the table: length unknown, nothing decoded */
};

struct obd_value {
    uint8_t pid;
    enum obd_value_status status;
    const char *name; /* static strings; "unknown PID" for unknown */
    const char *unit;
    enum obd_pid_kind kind;
    uint32_t raw; /* the data bytes, big-endian */
    double value; /* OBD_KIND_NUMBER: scaled */
};

/* One PID's data bytes (after 41 pid). */
int obd_decode_pid(uint8_t pid, const uint8_t *data, size_t len, struct obd_value *out);
/* A whole 41 answer, which on CAN may carry up to 6 PIDs: number of values written (at
 * most cap). Parsing stops at the first unknown PID (its length is unknown); that entry
 * is written with OBD_VALUE_UNKNOWN_PID. */
int obd_decode_mode01(const uint8_t *msg, size_t len, struct obd_value *out, size_t cap);

/* PID 01: MIL, DTC count, ignition type and readiness monitors. */
struct obd_monitor {
    const char *name;
    bool continuous;
    bool supported;
    bool ready; /* test complete since codes were cleared (the not-ready bit is 0) */
};

#define OBD_MONITORS_MAX 11

struct obd_monitor_status {
    bool mil_on;
    uint8_t dtc_count;
    bool compression_ignition; /* diesel meanings of the non-continuous bits */
    size_t n;
    struct obd_monitor mon[OBD_MONITORS_MAX]; /* 3 continuous, then the named others */
    uint8_t reserved_bits; /* byte C bits that are reserved for this ignition type but set */
};

/* data: the 4 bytes after 41 01. */
int obd_decode_monitor_status(const uint8_t *data, size_t len, struct obd_monitor_status *out);
/* The entry named name ("PM filter", ...), or NULL. */
const struct obd_monitor *obd_monitor_find(const struct obd_monitor_status *st, const char *name);

/* ---- services 03 / 07 / 0A: trouble codes -------------------------------------------- */

struct obd_dtc {
    uint16_t raw;
    char code[6]; /* "P0123" */
};

struct obd_dtc_list {
    uint8_t sid;           /* 0x43 stored, 0x47 pending, 0x4A permanent */
    unsigned count_byte;   /* the number of DTCs the ECU announced */
    bool count_mismatch;   /* announced count differs from the pairs sent */
    unsigned zero_skipped; /* 0x0000 entries (padding, "no DTC") not listed */
    size_t n;
    struct obd_dtc dtc[OBD_MAX_DTCS];
};

void obd_dtc_format(uint16_t raw, char out[6]);
/* A 43/47/4A answer on CAN: SID, count byte, 2 bytes per DTC. Decodes the pairs that are
 * there (the lesser of the count and the bytes); returns n, or a negative obd_rc. */
int obd_decode_dtcs(const uint8_t *msg, size_t len, struct obd_dtc_list *out, char *err,
                    size_t errlen);

/* ---- service 09: vehicle information ------------------------------------------------- */

/* 49 02 01 + 17 characters. vin always gets a printable string ('?' for bad bytes);
 * 0 when it is a valid ISO 3779 VIN, OBD_EMALFORMED with a message otherwise. */
int obd_decode_vin(const uint8_t *msg, size_t len, char vin[18], char *err, size_t errlen);

struct obd_calid_list {
    unsigned count_byte;
    bool count_mismatch;
    bool truncated; /* more than OBD_MAX_INFO_ITEMS */
    size_t n;
    char id[OBD_MAX_INFO_ITEMS][17]; /* 16 characters each, trailing NULs removed */
};

struct obd_cvn_list {
    unsigned count_byte;
    bool count_mismatch;
    bool truncated;
    size_t n;
    uint32_t cvn[OBD_MAX_INFO_ITEMS];
    char hex[OBD_MAX_INFO_ITEMS][9]; /* "1A2B3C4D", in the order sent */
};

/* 49 04 N + 16 bytes each. Returns n or a negative obd_rc. */
int obd_decode_calids(const uint8_t *msg, size_t len, struct obd_calid_list *out, char *err,
                      size_t errlen);
/* 49 06 N + 4 bytes each. Returns n or a negative obd_rc. */
int obd_decode_cvns(const uint8_t *msg, size_t len, struct obd_cvn_list *out, char *err,
                    size_t errlen);
/* 49 0A 01 + 20 bytes ("ECM" "-" "EngineControl"), optional in J1979. */
int obd_decode_ecu_name(const uint8_t *msg, size_t len, char name[21], char *err, size_t errlen);

/* ---- obd_query: one request, every ECU's answer -------------------------------------- */

struct obd_bus {
    int (*send)(void *ctx, const struct can_frame_rec *f); /* as isotp_io.send */
    void *ctx;
};

struct obd_query_config {
    enum obd_can_addressing addressing;
    uint8_t tester_addr;       /* 29-bit: 0xF1 */
    struct isotp_params isotp; /* isotp_params_default() */
    uint32_t p2_ms;            /* wait for answers after the request (100) */
    uint32_t p2_star_ms;       /* after NRC 0x78, per ECU (5000) */
    unsigned max_pending;      /* 0x78 answers accepted per ECU per request (10) */
};

void obd_query_config_default(struct obd_query_config *cfg, enum obd_can_addressing a);

enum obd_resp_status {
    OBD_RESP_RECEIVING, /* a segmented answer is arriving */
    OBD_RESP_PENDING,   /* answered 7F sid 78: waits up to p2_star_ms more */
    OBD_RESP_POSITIVE,
    OBD_RESP_NEGATIVE, /* nrc */
    OBD_RESP_ERROR,    /* the answer was lost in transport: isotp_rc */
    OBD_RESP_TIMEOUT,  /* announced (0x78 or first frame) but never completed */
};

struct obd_response {
    uint32_t rx_id; /* the ECU's response id (with CAN_FRAME_EFF on 29-bit) */
    uint8_t ecu;    /* as isotp_event.ecu */
    enum obd_resp_status status;
    uint8_t nrc;
    int isotp_rc;
    unsigned pending; /* 0x78 answers seen */
    uint64_t t_us;    /* when the status last changed */
    size_t len;
    uint8_t data[ISOTP_MAX_PAYLOAD]; /* POSITIVE: the whole answer (41 ...) */
};

typedef struct obd_query obd_query; /* owns its isotp_client; obd_query_new */

obd_query *obd_query_new(const struct obd_query_config *cfg, const struct obd_bus *bus, char *err,
                         size_t errlen);
void obd_query_free(obd_query *q);
/* Functional request (1..7 bytes) to every ECU. OBD_EBUSY while one runs. */
int obd_query_start(obd_query *q, const uint8_t *req, size_t len, uint64_t now_us);
/* Physical request to one ECU (ecu as in struct isotp_event). */
int obd_query_start_physical(obd_query *q, uint8_t ecu, const uint8_t *req, size_t len,
                             uint64_t now_us);
/* 1 when the frame was an OBD answer frame (consumed), 0 otherwise. */
int obd_query_on_frame(obd_query *q, const struct can_frame_rec *f, uint64_t now_us);
/* Runs the timers. 1 while the query runs, 0 once it is over (or none was started). */
int obd_query_poll(obd_query *q, uint64_t now_us);
void obd_query_tx_done(obd_query *q, const struct can_frame_rec *echo, uint64_t now_us);
/* Ends the query now: ECUs still receiving or pending become OBD_RESP_TIMEOUT, transfers
 * in progress are dropped. */
void obd_query_cancel(obd_query *q, uint64_t now_us);
uint64_t obd_query_next_deadline_us(const obd_query *q);
bool obd_query_running(const obd_query *q);
/* Answers of the current (or last) query, in order of first contact. */
size_t obd_query_count(const obd_query *q);
const struct obd_response *obd_query_response(const obd_query *q, size_t i);
/* Answers ignored: late, duplicate, for another request, or beyond OBD_MAX_ECUS. */
uint64_t obd_query_ignored(const obd_query *q);
/* 0, or the ISO-TP error that stopped the request itself from going out. */
int obd_query_request_rc(const obd_query *q);
const struct isotp_stats *obd_query_isotp_stats(const obd_query *q);

/* ---- obd_detect: which OBD-on-CAN variant this vehicle speaks ------------------------ */

struct obd_detect_bus {
    int (*send)(void *ctx, const struct can_frame_rec *f);
    /* optional: switch the bus to bitrate (bit/s); 0 on success. NULL: the bus stays at
     * its bitrate and only that one is tried. */
    int (*set_bitrate)(void *ctx, uint32_t bitrate);
    void *ctx;
};

struct obd_detect_config {
    uint32_t bitrates[4]; /* tried in order: {500000, 250000} (ISO 15765-4) */
    size_t n_bitrates;
    uint32_t wait_ms;          /* answers to 01 00 per attempt (p2: 100) */
    uint8_t tester_addr;       /* 0xF1 */
    unsigned max_error_frames; /* error frames in one attempt that mean "wrong bitrate" (3) */
};

void obd_detect_config_default(struct obd_detect_config *cfg);

enum obd_detect_state {
    OBD_DETECT_IDLE,
    OBD_DETECT_RUNNING,
    OBD_DETECT_FOUND, /* addressing, bitrate and the ECUs that answered are known */
    OBD_DETECT_NONE,  /* no OBD-on-CAN answer: try J1939 (see docs/obd.md) */
};

struct obd_detect_ecu {
    uint32_t rx_id;
    uint8_t ecu;
    bool positive; /* 41 00 (false: a negative answer, which still proves the protocol) */
    struct obd_pid_support pids;
};

struct obd_detect_result {
    enum obd_detect_state state;
    enum obd_can_addressing addressing;
    uint32_t bitrate; /* 0 when the bus could not be switched (its own bitrate) */
    size_t n_ecus;
    struct obd_detect_ecu ecus[OBD_MAX_ECUS];
    unsigned attempts;
    char log[256]; /* one line per attempt: "500k 11-bit: no answer; ..." */
};

typedef struct obd_detect obd_detect; /* owns two obd_query; obd_detect_new */

obd_detect *obd_detect_new(const struct obd_detect_config *cfg, const struct obd_detect_bus *bus,
                           char *err, size_t errlen);
void obd_detect_free(obd_detect *d);
int obd_detect_start(obd_detect *d, uint64_t now_us);
/* 1 when the frame was consumed (an OBD answer or an error frame), 0 otherwise: frames not
 * consumed can go to the J1939 detector running on the same bus. */
int obd_detect_on_frame(obd_detect *d, const struct can_frame_rec *f, uint64_t now_us);
enum obd_detect_state obd_detect_poll(obd_detect *d, uint64_t now_us);
uint64_t obd_detect_next_deadline_us(const obd_detect *d);
const struct obd_detect_result *obd_detect_result(const obd_detect *d);

#endif
