/* SPDX-License-Identifier: MIT */
/*
 * The roadside OBD inspection as the gateway records it: the reader's report
 * (can/obdread.h) plus the plate the officer entered, judged by policy_judge_obd()
 * with the vehicle's registry facts, the plate's history and the alert level in the
 * store, packed as an rsgw.v1.Record with an ObdInspection body.
 */
#ifndef OBD_INSPECT_H
#define OBD_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "obdread.h"
#include "policy.h"
#include "record.h"
#include "store.h"

struct obd_inspection {
    struct policy_vehicle vehicle;
    struct policy_verdict verdict;
    char policy_digest[65];
    char dtc_codes[256]; /* for the verdict's texts */
    char readiness_names[256];
    size_t len;
    uint8_t record[RECORD_MAX]; /* seq = store_next_seq(st) (1 without a store) */
};

/* The policy's view of a report; the texts go to out's buffers. */
void obd_inspect_check(const struct obdread_report *rep, struct obd_inspection *out,
                       struct policy_obd_check *check);

/* Judges rep and packs the record. plate_colour: enum rsu_plate_colour (0 unknown). st may be NULL
 * (no history, no registry, no alert level); any mode works, nothing is written. 0, or -1 with err
 * set. */
int obd_inspect(const struct config *cfg, store *st, const struct obdread_report *rep,
                const char *plate, int plate_colour, const char *note, const char *interface,
                int64_t now_ms, struct obd_inspection *out, char *err, size_t errlen);

#endif
