/* SPDX-License-Identifier: MIT */
/*
 * From a read measurement to a stored, fsync'd verdict: plate, registry,
 * history, policy, record, store. Prints latency percentiles and peak memory.
 *   bench_pipeline [PASSES] [DIR]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "pipeline.h"
#include "registry.h"
#include "rsusim_gen.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void fake_raw(struct rsu_measurement *m, uint32_t i)
{
    m->raw_len = 128;
    for (size_t k = 0; k < m->raw_len; k++)
        m->raw[k] = (uint8_t)(i * 31 + k);
    memcpy(m->fingerprint, m->raw, 32);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    const char *dir = argc > 2 ? argv[2] : NULL;
    char tmpl[] = "/tmp/rsgw-bench-XXXXXX";
    if (!dir && !(dir = mkdtemp(tmpl))) {
        perror("mkdtemp");
        return 1;
    }
    struct config *cfg = calloc(1, sizeof *cfg);
    struct config_diag diag;
    char text[512];
    snprintf(text, sizeof text,
             "[gateway]\nid = BENCH\nstate_dir = %s\n[policy]\nlocal_prefixes = 豫A\n", dir);
    if (config_parse(text, "bench.ini", cfg, &diag) < 0) {
        fprintf(stderr, "%s\n", diag.msg[0]);
        return 1;
    }
    struct config_lane lane = {.name = "L1", .device_id = "RSU-1"};
    snprintf(lane.profile.name, sizeof lane.profile.name, "generic-rsu");
    snprintf(lane.profile.version, sizeof lane.profile.version, "1");

    char path[600], err[512];
    if (config_make_state_dir(cfg, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    config_db_path(cfg, path, sizeof path);
    store *st;
    if (store_open(path, STORE_WRITER, &st, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct pipeline pl;
    pipeline_init(&pl, cfg, st);
    struct pipeline_out *out = malloc(sizeof *out);
    int64_t *lat = malloc((size_t)n * sizeof *lat);
    int64_t *judge = malloc((size_t)n * sizeof *judge);
    struct rsusim_gen g;
    rsusim_gen_init(&g, 42);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    int64_t base_ms = (int64_t)wall.tv_sec * 1000;

    int64_t t_start = now_ns();
    for (long i = 0; i < n; i++) {
        struct rsu_measurement m;
        rsusim_gen_next(&g, &m);
        m.seq = (uint32_t)i + 1;
        m.read_time_ms = base_ms + i;
        fake_raw(&m, (uint32_t)i);
        int64_t t0 = now_ns();
        /* What the main loop does for one pass: one transaction, one fsync. */
        int rc = store_begin(st);
        if (rc == 0)
            rc = pipeline_pass(&pl, &lane, &m, base_ms + i, out);
        int64_t t1 = now_ns();
        if (rc == 0)
            rc = store_commit(st);
        if (rc != 0) {
            fprintf(stderr, "pass %ld: %s\n", i, store_errmsg(st));
            return 1;
        }
        lat[i] = now_ns() - t0;
        judge[i] = t1 - t0;
    }
    double secs = (double)(now_ns() - t_start) / 1e9;
    qsort(lat, (size_t)n, sizeof *lat, cmp_i64);
    qsort(judge, (size_t)n, sizeof *judge, cmp_i64);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("pipeline: %ld passes, one durable transaction each, %.1f s (%.0f passes/s)\n", n, secs,
           (double)n / secs);
    printf(
        "  read measurement -> stored verdict (fsync'd): p50 %.3f ms  p99 %.3f ms  max %.3f ms\n",
        (double)lat[n / 2] / 1e6, (double)lat[(long)((double)n * 0.99)] / 1e6,
        (double)lat[n - 1] / 1e6);
    printf("  of which judging and appending before commit: p50 %.3f ms  p99 %.3f ms\n",
           (double)judge[n / 2] / 1e6, (double)judge[(long)((double)n * 0.99)] / 1e6);
    printf("  peak memory (max RSS) %.1f MB\n", (double)ru.ru_maxrss / 1024.0);
    store_close(st);
    free(out);
    free(lat);
    free(judge);
    free(cfg);
    return 0;
}
