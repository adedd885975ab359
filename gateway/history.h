/* SPDX-License-Identifier: MIT */
/*
 * A plate's recent judged passes, as the store returns them and the policy
 * reads them. Kept apart so that neither module depends on the other.
 */
#ifndef HISTORY_H
#define HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Pollutant bits of an exceedance mask. */
enum history_pollutant {
    POLLUTANT_OPACITY = 1u << 0,
    POLLUTANT_NO = 1u << 1,
    POLLUTANT_RINGELMANN = 1u << 2,
    POLLUTANT_CO = 1u << 3,
    POLLUTANT_HC = 1u << 4,
};

#define HISTORY_MAX 32

struct history_pass {
    uint64_t seq;
    int64_t time_ms;
    uint32_t exceeded;   /* pollutant bits over the limit; 0 = judged clean */
    char checkpoint[64]; /* where it was seen (other checkpoints come with platform sync) */
};

struct history {
    /* Valid, judged passes of the plate since the window start, newest first,
     * at most HISTORY_MAX of them. */
    size_t n;
    struct history_pass pass[HISTORY_MAX];
    uint32_t findings; /* over-standard passes in the window (all of them, not only n) */
    bool stale;        /* some sources could not be consulted (set by platform sync) */
};

const char *history_pollutant_name(uint32_t bit); /* "opacity", "NO", ... */

#endif
