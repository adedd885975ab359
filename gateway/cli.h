/* SPDX-License-Identifier: MIT */
/* What the commands share: finding the store, signals, output conventions. */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "store.h"

#define CLI_DEFAULT_CONFIG "/etc/rsgw/rsgw.ini"

/* -c CONFIG or --db PATH, as given on the command line (NULL when absent). */
struct cli_target {
    const char *config;
    const char *db;
};

/* Opens the store named by --db, or by the configuration's state_dir.
 * Prints the reason and returns -1 on failure. */
int cli_open_store(const struct cli_target *t, enum store_mode mode, store **out);

/* Loads a configuration, printing every problem. 0 or -1. */
int cli_load_config(const char *path, struct config *cfg);

/* Blocks TERM, INT and HUP in this thread (and threads created after) and
 * returns a signalfd for them, or -1. */
int cli_signal_fd(void);

/* Every command. argv[0] is the command's name. */
int cmd_run(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_records(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_registry(int argc, char **argv);
int cmd_alert(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_obd(int argc, char **argv);

#endif
