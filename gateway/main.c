/* SPDX-License-Identifier: MIT */
/* rsgw: roadside emission checkpoint gateway. One command per file (cmd_*.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef RSGW_VERSION
#define RSGW_VERSION "dev"
#endif

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"run", cmd_run, "run the gateway daemon (-c FILE)"},
    {"check-config", cmd_check_config, "validate a configuration file"},
    {"demo", cmd_demo, "run a simulated checkpoint end to end"},
    {"sim", cmd_sim, "simulate a field device: sim rsu (Modbus), sim ecu (CAN)"},
    {"records", cmd_records, "list stored records"},
    {"history", cmd_history, "show a plate's records and findings"},
    {"verify", cmd_verify, "check the tamper-evident hash chain"},
    {"status", cmd_status, "show the running gateway's lane health"},
    {"registry", cmd_registry, "vehicle registry: import, set, show, rm, list"},
    {"alert", cmd_alert, "heavy-pollution alert level: set, show"},
    {"sync", cmd_sync, "platform sync: status, rejects"},
    {"replay", cmd_replay, "decode a candump log: VINs, DM1, DM5, live values, TP"},
    {"obd", cmd_obd, "roadside OBD check of the connected vehicle (--can IFACE)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: rsgw COMMAND [OPTIONS]   (rsgw COMMAND --help for details)\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-13s %s\n", "version", "print the version");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("rsgw %s\n", RSGW_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "rsgw: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
