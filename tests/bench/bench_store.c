/* SPDX-License-Identifier: MIT */
/*
 * Record store figures on a real file (in $TMPDIR or /tmp):
 *   (a) durable records/s with one transaction (one fsync) per record,
 *   (b) durable records/s with group commits of 64,
 *   (c) store_history() latency in a store of N records (default 1,000,000),
 *       plus the time to build and to verify that store.
 * Usage: bench_store [history_records [single_records]]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "history.h"
#include "store.h"
#include "store_fixture.h"

#define DAY_MS  86400000LL
#define T_START 1700000000000LL
#define GROUP   64
#define QUERIES 10000

struct plan {
    uint64_t records;
    uint32_t plates; /* distinct plates: ~20 passes each */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void plate_of(uint32_t i, char *out, size_t cap)
{
    static const char *const prov[] = {"豫", "京", "冀", "鲁", "晋", "陕", "鄂", "皖"};
    snprintf(out, cap, "%s%c%05u", prov[i % 8], 'A' + (int)(i / 8 % 20), i / 160 % 100000);
}

/* Record seq of a year-long stream: 1% of passes are one busy plate (a bus line). */
static size_t make_record(uint64_t seq, uint64_t total, uint32_t plates, uint8_t *buf, size_t cap,
                          uint32_t *plate_index)
{
    char plate[48];
    uint32_t idx = seq % 100 == 0 ? 0 : 1 + (uint32_t)((seq * 2654435761u) % plates);
    plate_of(idx, plate, sizeof plate);
    bool over = (seq * 2246822519u >> 7) % 10 == 0; /* 10% findings, busy plate too */
    struct fixture_pass p = {.seq = seq,
                             .time_ms =
                                 T_START + (int64_t)(365 * DAY_MS * (double)seq / (double)total),
                             .plate = plate,
                             .result = over ? 2 : 1,
                             .exceeded = over ? POLLUTANT_OPACITY : 0,
                             .device_seq = (uint32_t)seq};
    if (plate_index)
        *plate_index = idx;
    return fixture_pass(&p, buf, cap);
}

static store *open_writer(const char *path)
{
    store *s = NULL;
    char err[512];
    if (store_open(path, STORE_WRITER, &s, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "bench_store: %s\n", err);
        exit(1);
    }
    return s;
}

static void append_or_die(store *s, const uint8_t *buf, size_t n)
{
    if (store_append(s, buf, n, NULL) != STORE_OK) {
        fprintf(stderr, "bench_store: %s\n", store_errmsg(s));
        exit(1);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void percentiles(double *v, size_t n, double *p50, double *p99, double *max)
{
    qsort(v, n, sizeof *v, cmp_double);
    *p50 = v[n / 2];
    *p99 = v[n * 99 / 100];
    *max = v[n - 1];
}

static void bench_single(const char *dir, uint64_t count)
{
    char path[400];
    snprintf(path, sizeof path, "%s/single.db", dir);
    store *s = open_writer(path);
    uint8_t buf[2048];
    double *lat = malloc(count * sizeof *lat);
    double t0 = now_s();
    for (uint64_t i = 0; i < count; i++) {
        size_t n = make_record(store_next_seq(s), count, 1000, buf, sizeof buf, NULL);
        double a = now_s();
        append_or_die(s, buf, n);
        lat[i] = (now_s() - a) * 1e3;
    }
    double dt = now_s() - t0;
    store_close(s);
    double p50, p99, max;
    percentiles(lat, count, &p50, &p99, &max);
    printf("(a) one transaction per record: %" PRIu64 " records in %.2f s = %.0f records/s "
           "(append p50 %.2f ms, p99 %.2f ms, max %.2f ms)\n",
           count, dt, (double)count / dt, p50, p99, max);
    free(lat);
}

static void bench_group(const char *dir, uint64_t count)
{
    char path[400];
    snprintf(path, sizeof path, "%s/group.db", dir);
    store *s = open_writer(path);
    uint8_t buf[2048];
    double t0 = now_s();
    for (uint64_t i = 0; i < count; i += GROUP) {
        if (store_begin(s) != STORE_OK)
            exit(1);
        for (int g = 0; g < GROUP; g++) {
            size_t n = make_record(store_next_seq(s), count, 1000, buf, sizeof buf, NULL);
            append_or_die(s, buf, n);
        }
        if (store_commit(s) != STORE_OK) {
            fprintf(stderr, "bench_store: %s\n", store_errmsg(s));
            exit(1);
        }
    }
    double dt = now_s() - t0;
    store_close(s);
    printf("(b) group commit of %d: %" PRIu64 " records in %.2f s = %.0f records/s\n", GROUP, count,
           dt, (double)count / dt);
}

static void history_latency(store *s, const char *label, const struct plan *pl, bool busy)
{
    double *lat = malloc(QUERIES * sizeof *lat);
    unsigned seed = 12345;
    size_t found = 0;
    uint32_t findings = 0;
    int64_t since = T_START; /* the whole year: the policy's window */
    for (int q = 0; q < QUERIES; q++) {
        char plate[48];
        plate_of(busy ? 0 : 1 + (uint32_t)rand_r(&seed) % pl->plates, plate, sizeof plate);
        struct history h;
        double a = now_s();
        if (store_history(s, plate, since, &h) != STORE_OK) {
            fprintf(stderr, "bench_store: %s\n", store_errmsg(s));
            exit(1);
        }
        lat[q] = (now_s() - a) * 1e6;
        found += h.n;
        findings += h.findings;
    }
    double p50, p99, max;
    percentiles(lat, QUERIES, &p50, &p99, &max);
    printf("    store_history, %s: p50 %.1f us, p99 %.1f us, max %.1f us "
           "(%d queries, %.1f passes and %.1f findings returned on average)\n",
           label, p50, p99, max, QUERIES, (double)found / QUERIES, (double)findings / QUERIES);
    free(lat);
}

static void progress(void *ud, uint64_t done, uint64_t total)
{
    (void)ud, (void)done, (void)total;
}

static void bench_history(const char *dir, uint64_t records)
{
    char path[400];
    snprintf(path, sizeof path, "%s/history.db", dir);
    struct plan pl = {.records = records, .plates = (uint32_t)(records / 20 + 1)};
    store *s = open_writer(path);
    uint8_t buf[2048];
    double t0 = now_s();
    const uint64_t batch = 10000;
    for (uint64_t seq = 1; seq <= records;) {
        if (store_begin(s) != STORE_OK)
            exit(1);
        for (uint64_t k = 0; k < batch && seq <= records; k++, seq++) {
            size_t n = make_record(seq, records, pl.plates, buf, sizeof buf, NULL);
            append_or_die(s, buf, n);
        }
        if (store_commit(s) != STORE_OK) {
            fprintf(stderr, "bench_store: %s\n", store_errmsg(s));
            exit(1);
        }
    }
    double build = now_s() - t0;
    store_close(s);
    struct stat st;
    stat(path, &st);
    printf("(c) store of %" PRIu64 " records (%u plates, one busy plate with 1%% of passes): "
           "built in %.1f s (%.0f records/s in groups of %" PRIu64 "), %.0f MB\n",
           records, pl.plates, build, (double)records / build, batch, (double)st.st_size / 1e6);

    store *r = NULL;
    char err[512];
    t0 = now_s();
    if (store_open(path, STORE_WRITER, &r, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "bench_store: %s\n", err);
        exit(1);
    }
    printf("    open as writer: %.1f ms\n", (now_s() - t0) * 1e3);
    history_latency(r, "typical plate (~20 passes in the window)", &pl, false);
    history_latency(r, "busy plate (1% of all passes)", &pl, true);
    struct store_verify_result v;
    t0 = now_s();
    store_verify(r, &v, progress, NULL);
    printf("    store_verify: %s, %" PRIu64 " records in %.1f s\n", v.ok ? "ok" : v.reason,
           v.checked, now_s() - t0);
    struct store_stats stats;
    t0 = now_s();
    store_get_stats(r, &stats);
    printf("    store_get_stats: %.1f ms (%" PRIu64 " records, %" PRIu64 " findings)\n",
           (now_s() - t0) * 1e3, stats.records, stats.findings);
    store_close(r);
}

int main(int argc, char **argv)
{
    uint64_t history_records = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    uint64_t single = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000;
    if (history_records < 1000 || single < 10) {
        fprintf(stderr, "usage: bench_store [history_records (>= 1000) [single_records]]\n");
        return 2;
    }
    char dir[256];
    fixture_dir_make(dir, sizeof dir);
    uint8_t buf[2048];
    size_t n = make_record(1, 1, 1000, buf, sizeof buf, NULL);
    printf("store bench in %s: payload %zu bytes, synchronous=FULL, WAL\n", dir, n);
    fflush(stdout);
    bench_single(dir, single);
    fflush(stdout);
    bench_group(dir, single * 16 / GROUP * GROUP);
    fflush(stdout);
    bench_history(dir, history_records);
    fixture_dir_remove(dir);
    return 0;
}
