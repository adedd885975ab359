/* SPDX-License-Identifier: MIT */
/*
 * rsgw-platform: the reference platform. See docs/platform-api.md,
 * "Reference platform".
 *
 *   rsgw-platform --listen 127.0.0.1:PORT --db FILE [--token T]
 *                 [--require-client-cn] [--cn-header NAME] [--strict-gateways]
 *                 [--gateway ID]... [--max-batch-records N] [--seed N]
 */
#include "pf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: rsgw-platform --listen HOST:PORT --db FILE [--token T]\n"
               "                     [--require-client-cn] [--cn-header NAME]\n"
               "                     [--strict-gateways] [--gateway ID]...\n"
               "                     [--max-batch-records N] [--seed N]\n"
               "PORT 0 picks a free port; the first line on stdout is\n"
               "\"listening on HOST:PORT\". SIGTERM or SIGINT stops it.\n");
}

static bool parse_number(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return false;
    *out = strtoull(s, &end, 10);
    return !*end && *out <= max;
}

int main(int argc, char **argv)
{
    struct pf_config cfg = {.cn_header = "X-Client-CN", .seed = 1};
    const char *gateways[64];
    size_t n_gateways = 0;
    unsigned long long max_batch = PF_MAX_BATCH_RECORDS, num;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--require-client-cn") == 0) {
            cfg.require_client_cn = true;
            continue;
        }
        if (strcmp(a, "--strict-gateways") == 0) {
            cfg.strict_gateways = true;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (strcmp(a, "--listen") == 0 && v)
            cfg.listen = v;
        else if (strcmp(a, "--db") == 0 && v)
            cfg.db_path = v;
        else if (strcmp(a, "--token") == 0 && v && v[0])
            cfg.token = v;
        else if (strcmp(a, "--cn-header") == 0 && v && v[0])
            cfg.cn_header = v;
        else if (strcmp(a, "--gateway") == 0 && v && n_gateways < 64 && pf_gateway_id_valid(v))
            gateways[n_gateways++] = v;
        else if (strcmp(a, "--max-batch-records") == 0 && parse_number(v, 1000000, &num) && num)
            max_batch = num;
        else if (strcmp(a, "--seed") == 0 && parse_number(v, UINT64_MAX, &num))
            cfg.seed = num;
        else {
            fprintf(stderr, "rsgw-platform: %s %s: unknown option or bad value\n", a,
                    v ? v : "(missing)");
            usage(stderr);
            return 2;
        }
    }
    if (!cfg.listen || !cfg.db_path) {
        usage(stderr);
        return 2;
    }

    /* Block the stop signals in every thread; main waits for them below. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[512];
    struct pf_server srv = {.cfg = &cfg};
    atomic_init(&srv.stopping, false);
    atomic_init(&srv.max_batch_records, (unsigned)max_batch);
    for (int i = 0; i < 4; i++)
        atomic_init(&srv.requests[i], 0);
    if (pf_db_open(cfg.db_path, &srv.db, err, sizeof err) != 0) {
        fprintf(stderr, "rsgw-platform: %s\n", err);
        return 1;
    }
    for (size_t i = 0; i < n_gateways; i++) {
        if (pf_db_gateway_register(srv.db, gateways[i]) != 0) {
            pf_db_close(srv.db);
            return 1;
        }
    }
    srv.faults = pf_faults_new(cfg.seed);
    if (!srv.faults || pf_server_start(&srv, err, sizeof err) != 0) {
        fprintf(stderr, "rsgw-platform: %s\n", srv.faults ? err : "out of memory");
        pf_faults_free(srv.faults);
        pf_db_close(srv.db);
        return 1;
    }
    const char *colon = strrchr(cfg.listen, ':');
    printf("listening on %.*s:%u\n", (int)(colon - cfg.listen), cfg.listen, srv.port);
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "rsgw-platform: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    pf_server_stop(&srv);
    pf_faults_free(srv.faults);
    pf_db_close(srv.db);
    return 0;
}
