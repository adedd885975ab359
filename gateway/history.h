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
    POLLUTANT_OBD = 1u << 5, /* a failed OBD check (GB 3847-2018 §7): counts as a finding */
};

#define HISTORY_MAX 32

struct history_pass {
    uint64_t seq; /* the record's seq at the gateway that stored it */
    int64_t time_ms;
    uint32_t exceeded;   /* pollutant bits over the limit; 0 = judged clean */
    char checkpoint[64]; /* where it was seen */
    /* A finding made at another checkpoint, pulled from the platform: it counts as a
     * finding, but it is not one of this checkpoint's passes (a same-pollutant streak needs
     * the clean passes in between too, which only the local records have). */
    bool remote;
};

struct history {
    /* Valid, judged passes of the plate since the window start, and findings made at
     * other checkpoints (remote set), newest first, at most HISTORY_MAX of them. */
    size_t n;
    struct history_pass pass[HISTORY_MAX];
    /* Over-standard passes in the window, local and remote (all of them, not only n). */
    uint32_t findings;
    bool stale; /* some sources could not be consulted (set by platform sync) */
};

const char *history_pollutant_name(uint32_t bit); /* "opacity", "NO", ... */

#endif
