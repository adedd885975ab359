/* SPDX-License-Identifier: MIT */
/*
 * Random but plausible passes for load tests, crash tests and benchmarks:
 * a pool of plates that come back (so findings and second findings happen),
 * mostly clean plumes with some dirty ones and a few invalid measurements.
 * Deterministic for a given seed.
 */
#ifndef RSUSIM_GEN_H
#define RSUSIM_GEN_H

#include <stdint.h>

#include "rsu_measurement.h"

struct rsusim_gen {
    uint64_t state;
    uint32_t count;      /* passes generated so far */
    uint32_t plate_pool; /* distinct plates, default 5000 */
};

void rsusim_gen_init(struct rsusim_gen *g, uint64_t seed);
/* Fills every field a pass has (not seq, raw or fingerprint). The plate
 * carries the running count in its image reference so tests can match passes. */
void rsusim_gen_next(struct rsusim_gen *g, struct rsu_measurement *m);

#endif
