/* SPDX-License-Identifier: MIT */
/* rsgw run, rsgw check-config */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "daemon.h"

int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *path = CLI_DEFAULT_CONFIG;
    bool verbose = false;
    int c;
    while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            printf("usage: rsgw run [-c FILE] [-v]\n"
                   "Runs the gateway: reads the lanes, judges, stores. Logs to stderr.\n"
                   "SIGTERM/SIGINT stop cleanly; SIGHUP reloads FILE (kept if it has errors).\n");
            return 0;
        default:
            return 2;
        }
    }
    /* Take signals synchronously from the start: a SIGTERM during start-up stops cleanly. */
    int sfd = cli_signal_fd();
    struct config *cfg = malloc(sizeof *cfg);
    if (!cfg || sfd < 0) {
        fprintf(stderr, "rsgw: %s\n", cfg ? "signalfd failed" : "out of memory");
        free(cfg);
        return 1;
    }
    if (cli_load_config(path, cfg) < 0) {
        fprintf(stderr, "rsgw: not starting: %s has errors (rsgw check-config %s)\n", path, path);
        free(cfg);
        close(sfd);
        return 1;
    }
    struct log lg;
    log_init(&lg, verbose ? LOG_DEBUG : cfg->log_priority);
    struct daemon_opts o = {.config_path = path, .config = cfg, .signal_fd = sfd};
    int rc = daemon_run(&o, &lg);
    close(sfd);
    free(cfg);
    return rc;
}

int cmd_check_config(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: rsgw check-config FILE\n");
        return 2;
    }
    struct config *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return 1;
    int rc = cli_load_config(argv[1], cfg);
    if (rc == 0) {
        char digest[65];
        policy_config_digest(&cfg->policy, digest);
        printf("%s: OK: gateway %s, %zu lane(s), limit set %s, state in %s\n", argv[1],
               cfg->gateway_id, cfg->n_lanes, cfg->policy.limit_set == 1 ? "b" : "a",
               cfg->state_dir);
        for (size_t i = 0; i < cfg->n_lanes; i++) {
            const struct config_lane *l = &cfg->lanes[i];
            if (l->link.transport == RSU_TRANSPORT_TCP)
                printf("  lane %s: tcp %s:%d unit %d, profile %s %s\n", l->name, l->link.host,
                       l->link.port, l->unit_id, l->profile.name, l->profile.version);
            else
                printf("  lane %s: rtu %s %d %c%d%d unit %d, profile %s %s\n", l->name,
                       l->link.device, l->link.baud, l->link.parity, l->link.data_bits,
                       l->link.stop_bits, l->unit_id, l->profile.name, l->profile.version);
        }
        printf("  policy digest %s\n", digest);
    }
    free(cfg);
    return rc == 0 ? 0 : 1;
}
