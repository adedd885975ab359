/* SPDX-License-Identifier: MIT */
/*
 * Fill a gateway store with N real pass records (through the real pipeline:
 * plate, registry, history, policy, record, hash chain), in transactions of
 * 1000, to build a backlog for the sync benchmark.
 *   bench_fill STATE_DIR N [GATEWAY_ID]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "pipeline.h"
#include "rsusim_gen.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_fill STATE_DIR N [GATEWAY_ID]\n");
        return 2;
    }
    long n = atol(argv[2]);
    struct config *cfg = calloc(1, sizeof *cfg);
    struct config_diag *diag = calloc(1, sizeof *diag);
    struct pipeline_out *out = malloc(sizeof *out);
    char text[768], err[512], path[600];
    snprintf(text, sizeof text,
             "[gateway]\nid = %s\nstate_dir = %s\n[policy]\nlocal_prefixes = 豫A\n",
             argc > 3 ? argv[3] : "BENCH", argv[1]);
    if (!cfg || !diag || !out || config_parse(text, "bench.ini", cfg, diag) < 0 ||
        config_make_state_dir(cfg, err, sizeof err) < 0) {
        fprintf(stderr, "bench_fill: bad arguments or state dir\n");
        return 1;
    }
    struct config_lane lane = {.name = "L1", .device_id = "RSU-1"};
    snprintf(lane.profile.name, sizeof lane.profile.name, "generic-rsu");
    snprintf(lane.profile.version, sizeof lane.profile.version, "1");
    config_db_path(cfg, path, sizeof path);
    store *st;
    if (store_open(path, STORE_WRITER, &st, err, sizeof err) < 0) {
        fprintf(stderr, "bench_fill: %s\n", err);
        return 1;
    }
    struct pipeline pl;
    pipeline_init(&pl, cfg, st);
    struct rsusim_gen g;
    rsusim_gen_init(&g, 99);
    int64_t base_ms = (int64_t)time(NULL) * 1000 - n * 1000; /* one pass a second, ending now */
    uint32_t first_seq = (uint32_t)store_next_seq(st);
    for (long i = 0; i < n;) {
        if (store_begin(st) < 0)
            break;
        long end = i + 1000 < n ? i + 1000 : n;
        int rc = 0;
        for (; i < end && rc == 0; i++) {
            struct rsu_measurement m;
            rsusim_gen_next(&g, &m);
            m.seq = first_seq + (uint32_t)i;
            m.read_time_ms = base_ms + i * 1000;
            m.raw_len = 64;
            memset(m.raw, (int)(i & 0xFF), m.raw_len);
            memcpy(m.fingerprint, &i, sizeof i);
            rc = pipeline_pass(&pl, &lane, &m, m.read_time_ms, out);
        }
        if (rc == 0)
            rc = store_commit(st);
        if (rc != 0) {
            fprintf(stderr, "bench_fill: %s\n", store_errmsg(st));
            return 1;
        }
    }
    printf("%llu records\n", (unsigned long long)(store_next_seq(st) - 1));
    store_close(st);
    free(cfg);
    free(diag);
    free(out);
    return 0;
}
