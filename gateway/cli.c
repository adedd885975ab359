/* SPDX-License-Identifier: MIT */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>

int cli_load_config(const char *path, struct config *cfg)
{
    struct config_diag *diag = malloc(sizeof *diag);
    if (!diag) {
        fprintf(stderr, "rsgw: out of memory\n");
        return -1;
    }
    int rc = config_load(path, cfg, diag);
    for (size_t i = 0; i < diag->n; i++)
        fprintf(stderr, "%s\n", diag->msg[i]);
    if (diag->dropped)
        fprintf(stderr, "%s: ... and %zu more problems\n", path, diag->dropped);
    free(diag);
    return rc;
}

int cli_open_store(const struct cli_target *t, enum store_mode mode, store **out)
{
    char path[CONFIG_PATH_MAX + 16];
    if (t->db) {
        snprintf(path, sizeof path, "%s", t->db);
    } else {
        const char *cfg_path = t->config ? t->config : CLI_DEFAULT_CONFIG;
        struct config *cfg = malloc(sizeof *cfg);
        if (!cfg || cli_load_config(cfg_path, cfg) < 0) {
            fprintf(stderr, "rsgw: cannot find the store: fix %s or pass --db PATH\n", cfg_path);
            free(cfg);
            return -1;
        }
        config_db_path(cfg, path, sizeof path);
        free(cfg);
    }
    char err[512];
    if (store_open(path, mode, out, err, sizeof err) < 0) {
        fprintf(stderr, "rsgw: %s\n", err);
        return -1;
    }
    return 0;
}

int cli_signal_fd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    /* A closed pipe must show up as EPIPE on the socket, not kill the daemon. */
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}
