/* SPDX-License-Identifier: MIT */
/*
 * Remote-sensing unit driver over libmodbus (TCP or RTU).
 *
 * A link is one Modbus connection: a TCP endpoint, or a serial line shared by
 * several units (unit ids). Calls on one link are blocking and must come from
 * one thread at a time; that is what serialises a serial line.
 *
 * Exactly-once reading: the device presents the oldest pass it has not had
 * acknowledged, numbered by its sequence register (0 = no pass yet). The
 * gateway reads it, stores it durably, then writes the sequence number to the
 * ack register, and only then does the device present the next pass. The
 * cursor (sequence + fingerprint of the raw registers of the last stored pass)
 * recognises a pass that was stored but not acknowledged before a crash, and a
 * device that restarted and reused a sequence number for a different pass.
 */
#ifndef RSU_H
#define RSU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsu_measurement.h"
#include "rsu_profile.h"

enum rsu_transport { RSU_TRANSPORT_TCP, RSU_TRANSPORT_RTU };

struct rsu_link_config {
    enum rsu_transport transport;
    char host[128];          /* TCP */
    int port;                /* TCP, default 502 */
    char device[128];        /* RTU: /dev/ttyUSB0 */
    int baud;                /* RTU, default 9600 */
    char parity;             /* 'N', 'E', 'O' */
    int data_bits;           /* 8 */
    int stop_bits;           /* 1 */
    int response_timeout_ms; /* whole reply, default 1000 */
    int byte_timeout_ms;     /* gap between bytes, default 100 (RTU) */
};

/* Result codes. Negative values are errors, rsu_strerror() names them. */
enum rsu_rc {
    RSU_OK = 0,        /* a new pass is in *out */
    RSU_IDLE = 1,      /* nothing new */
    RSU_ECONN = -1,    /* not connected / connection lost: reconnect */
    RSU_ETIMEOUT = -2, /* no answer in time (link flushed) */
    RSU_EPROTO = -3,   /* CRC error, exception or malformed reply (link flushed) */
    RSU_EINVAL = -4,   /* bad configuration */
};

typedef struct rsu_link rsu_link;

struct rsu_cursor {
    bool valid;   /* false: nothing stored yet for this device */
    uint32_t seq; /* last stored pass */
    uint8_t fingerprint[32];
    bool acked; /* the ack for seq was written successfully */
};

struct rsu_device {
    int unit_id; /* Modbus slave / unit id */
    const struct rsu_profile *profile;
    struct rsu_cursor cursor; /* owned by the caller, updated by rsu_* */
    bool recheck;             /* compare fingerprints on the next poll */
};

struct rsu_link_stats {
    uint64_t transactions;
    uint64_t timeouts;
    uint64_t protocol_errors;
    uint64_t reconnects;
};

rsu_link *rsu_link_new(const struct rsu_link_config *cfg, char *err, size_t errlen);
void rsu_link_free(rsu_link *link);

/* Connect (or reconnect). Every device on the link gets recheck = true. */
int rsu_link_connect(rsu_link *link, struct rsu_device *const *devs, size_t n_devs);
void rsu_link_close(rsu_link *link);
bool rsu_link_connected(const rsu_link *link);
const char *rsu_link_errmsg(const rsu_link *link);
void rsu_link_get_stats(const rsu_link *link, struct rsu_link_stats *out);

/*
 * Look for a new pass on one device. RSU_OK: *out holds it (seq, read time,
 * raw registers and fingerprint set); the caller stores it durably and then
 * calls rsu_ack(). A pass already stored (cursor matches) is re-acknowledged
 * if needed and reported as RSU_IDLE.
 */
int rsu_poll(rsu_link *link, struct rsu_device *dev, struct rsu_measurement *out);

/* Acknowledge a stored pass and move the cursor to it. */
int rsu_ack(rsu_link *link, struct rsu_device *dev, const struct rsu_measurement *stored);

const char *rsu_strerror(int rc);

#endif
