/* SPDX-License-Identifier: MIT */
/*
 * Building and reading rsgw.v1.Record messages (the evidence format).
 * Packing uses stack structures and a caller buffer: no allocation.
 */
#ifndef RECORD_H
#define RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "obdread.h"
#include "policy.h"
#include "rsgw/v1/record.pb-c.h"
#include "rsu_measurement.h"

#define RECORD_MAX 16384 /* bytes; a pass record is about 1 KB */

struct record_pass {
    uint64_t seq;
    int64_t time_ms;
    const char *gateway_id;
    const char *checkpoint;
    const char *lane;
    const char *device_id;
    const char *profile; /* "name version" of the register map */
    const char *policy_digest;
    const struct rsu_measurement *m;
    const struct policy_vehicle *vehicle;
    const struct policy_verdict *verdict;
};

struct record_event {
    uint64_t seq;
    int64_t time_ms;
    const char *gateway_id;
    const char *checkpoint;
    const char *kind; /* "start", "stop", "config_reload", "alert_level" */
    const char *detail;
    enum alert_level alert;
    int64_t valid_until_ms;
};

/* A roadside OBD inspection: the reader's report, what the officer entered, the verdict. */
struct record_obd {
    uint64_t seq;
    int64_t time_ms;
    const char *gateway_id;
    const char *checkpoint;
    const char *policy_digest;
    const char *plate;     /* as the officer entered it */
    const char *note;      /* operator note, may be NULL */
    const char *interface; /* "can0", or the log file read */
    const struct obdread_report *report;
    const struct policy_vehicle *vehicle;
    const struct policy_verdict *verdict;
};

/* 0, or -1 when the record would not fit (cannot happen with bounded inputs). */
int record_pack_pass(const struct record_pass *in, uint8_t *buf, size_t cap, size_t *len);
int record_pack_event(const struct record_event *in, uint8_t *buf, size_t cap, size_t *len);
int record_pack_obd(const struct record_obd *in, uint8_t *buf, size_t cap, size_t *len);

/* Unpack; NULL when the bytes are not a record. Free with record_free(). */
Rsgw__V1__Record *record_unpack(const uint8_t *buf, size_t len);
void record_free(Rsgw__V1__Record *r);

/* Lower-case agency names used in JSON ("environment", "traffic_police"). */
const char *record_agency_word(int agency);

#endif
