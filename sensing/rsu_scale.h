/* SPDX-License-Identifier: MIT */
/* Raw <-> engineering value conversion shared by decode and encode. Internal to sensing/. */
#ifndef RSU_SCALE_H
#define RSU_SCALE_H

#include <math.h>

#include "rsu_profile.h"

/*
 * Scales like 0.1 are not exact in binary; dividing by 10 instead of
 * multiplying by 0.1 gives the double nearest the decimal (12.5, not
 * 12.500000000000002), so records print as the device meant them.
 */
static inline double rsu_scale_divisor(const struct rsu_reg *r)
{
    if (fabs(r->scale) >= 1.0)
        return 0;
    double inv = 1.0 / r->scale, n = round(inv);
    return n != 0 && fabs(inv - n) < 1e-9 * fabs(n) ? n : 0;
}

static inline double rsu_scale_apply(const struct rsu_reg *r, double raw)
{
    double n = rsu_scale_divisor(r);
    return (n != 0 ? raw / n : raw * r->scale) + r->offset;
}

static inline double rsu_scale_unapply(const struct rsu_reg *r, double value)
{
    double n = rsu_scale_divisor(r);
    return n != 0 ? (value - r->offset) * n : (value - r->offset) / r->scale;
}

#endif
