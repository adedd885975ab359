/* SPDX-License-Identifier: MIT */
/* Realistic records and scratch directories for the store's tests and benchmark. */
#ifndef STORE_FIXTURE_H
#define STORE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

struct fixture_pass {
    uint64_t seq;
    int64_t time_ms;
    const char *plate;     /* NULL: no plate read */
    int result;            /* rsgw.v1.Result; 0 = no verdict result */
    uint32_t exceeded;     /* POLLUTANT_* bits named in verdict.exceeded */
    const char *device_id; /* NULL: "rsu-north-1" */
    uint32_t device_seq;
    const char *checkpoint; /* NULL: "G107-K1423" */
};

/* A serialised Pass record (measurement, vehicle, verdict with two rule hits, ~650 bytes).
 * Returns its length, 0 if cap is too small. */
size_t fixture_pass(const struct fixture_pass *p, uint8_t *buf, size_t cap);
/* A serialised Event record. */
size_t fixture_event(uint64_t seq, int64_t time_ms, const char *kind, uint8_t *buf, size_t cap);
/* The raw_fingerprint fixture_pass() stores for a device_seq. */
void fixture_fingerprint(uint32_t device_seq, uint8_t out[32]);

/* mkdtemp under $TMPDIR (or /tmp); aborts on failure. */
void fixture_dir_make(char *dir, size_t cap);
/* Remove the directory and the files in it. */
void fixture_dir_remove(const char *dir);

#endif
