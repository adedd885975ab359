/* SPDX-License-Identifier: MIT */
#include "rsusim_gen.h"

#include <stdio.h>
#include <string.h>

/* splitmix64: small, fast, good enough for test data. */
static uint64_t next_u64(struct rsusim_gen *g)
{
    uint64_t z = (g->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform(struct rsusim_gen *g, double lo, double hi)
{
    return lo + (hi - lo) * (double)(next_u64(g) >> 11) / (double)(1ull << 53);
}

void rsusim_gen_init(struct rsusim_gen *g, uint64_t seed)
{
    memset(g, 0, sizeof *g);
    g->state = seed;
    g->plate_pool = 5000;
}

static void set(struct rsu_measurement *m, enum rsu_field f, double v)
{
    m->value[f] = v;
    m->present |= 1u << f;
}

void rsusim_gen_next(struct rsusim_gen *g, struct rsu_measurement *m)
{
    static const char *const regions[] = {"豫A", "豫A", "豫A", "豫B", "冀B", "晋C", "鲁Q", "京A"};
    static const char letters[] = "ABCDEFGHJKLMNPQRSTUVWXYZ";
    memset(m, 0, sizeof *m);
    uint32_t plate_no = (uint32_t)(next_u64(g) % (g->plate_pool ? g->plate_pool : 1));
    const char *region = regions[plate_no % 8];
    bool truck = plate_no % 3 == 0;
    snprintf(m->plate, sizeof m->plate, "%s%c%04u", region, letters[(plate_no / 8) % 24],
             plate_no % 10000);
    m->plate_colour = truck ? RSU_COLOUR_YELLOW : RSU_COLOUR_BLUE;
    m->plate_colour_code = truck ? 1 : 0;

    double roll = uniform(g, 0, 1);
    bool dirty = roll<0.08, invalid = roll> 0.97;
    set(m, RSU_F_OPACITY, dirty ? uniform(g, 31, 70) : uniform(g, 0, 18));
    set(m, RSU_F_NO, dirty && roll < 0.04 ? uniform(g, 1501, 3000) : uniform(g, 50, 900));
    set(m, RSU_F_RINGELMANN, dirty && roll < 0.02 ? 3 : uniform(g, 0, 1) < 0.9 ? 0 : 1);
    set(m, RSU_F_CO, uniform(g, 0, 0.8));
    set(m, RSU_F_HC, uniform(g, 10, 150));
    set(m, RSU_F_CO2, uniform(g, 8, 14));
    set(m, RSU_F_SPEED, invalid ? uniform(g, 0, 3) : uniform(g, 20, 60));
    set(m, RSU_F_ACCEL, uniform(g, -0.5, 1.0));
    set(m, RSU_F_VSP, uniform(g, 1, 12));
    set(m, RSU_F_WIND_SPEED, uniform(g, 0, 4));
    set(m, RSU_F_WIND_DIR, uniform(g, 0, 359));
    set(m, RSU_F_AMBIENT_TEMP, uniform(g, -5, 35));
    set(m, RSU_F_HUMIDITY, uniform(g, 20, 90));
    set(m, RSU_F_PRESSURE, uniform(g, 98, 103));
    set(m, RSU_F_SLOPE, uniform(g, -1, 1));
    g->count++;
    m->n_image_refs = 1;
    snprintf(m->image_ref[0], sizeof m->image_ref[0], "gen-%u", g->count);
}
