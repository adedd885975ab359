/* SPDX-License-Identifier: MIT */
/* rsgw sim rsu: a simulated remote-sensing unit, for commissioning and tests. */
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "rsusim.h"
#include "rsusim_gen.h"
#include "sim_ecu.h"

static const char sim_usage[] =
    "usage: rsgw sim rsu [--listen HOST:PORT | --rtu DEVICE [--baud N] [--parity N|E|O]]\n"
    "                    [--unit N] [--profile NAME|PATH]\n"
    "                    [--scenario FILE | --random N [--interval MS] [--seed S]]\n"
    "                    [--ack-log FILE] [--exit-when-done]\n"
    "Serves passes as a real remote-sensing unit would (docs/simulator.md).\n"
    "Prints 'listening on HOST:PORT' once ready (port 0 picks a free port).\n"
    "\n"
    "       rsgw sim ecu --can IFACE | --log FILE [--preset NAME] [--duration S]\n"
    "A simulated vehicle on a CAN bus: J1939 ECUs and ISO 15765-4 ECUs\n"
    "(rsgw sim ecu --help for the presets).\n";

struct sim_opts {
    struct rsusim_config cfg;
    const char *profile;
    const char *scenario;
    long random_count;
    long interval_ms;
    unsigned long long seed;
    const char *ack_log;
    bool exit_when_done;
};

struct sim_run {
    rsusim *sim;
    FILE *ack_log;
    const struct sim_opts *o;
    const struct rsusim_scenario *scenario;
    volatile int stop;
    atomic_bool played;
    int play_rc;
};

static void on_ack(void *ud, uint32_t seq, const struct rsu_measurement *pass)
{
    struct sim_run *r = ud;
    /* One line per acknowledged pass, flushed: the crash test reads it while we run. */
    fprintf(r->ack_log, "%u %s %s\n", seq, pass->plate[0] ? pass->plate : "-",
            pass->n_image_refs ? pass->image_ref[0] : "-");
    fflush(r->ack_log);
}

static void *play_main(void *arg)
{
    struct sim_run *r = arg;
    if (r->scenario) {
        r->play_rc = rsusim_play(r->sim, r->scenario, &r->stop);
    } else {
        struct rsusim_gen g;
        rsusim_gen_init(&g, r->o->seed);
        for (long i = 0; i < r->o->random_count && !r->stop; i++) {
            struct rsu_measurement m;
            rsusim_gen_next(&g, &m);
            rsusim_push(r->sim, &m);
            if (r->o->interval_ms > 0)
                usleep((useconds_t)r->o->interval_ms * 1000);
        }
    }
    atomic_store(&r->played, true);
    return NULL;
}

static int parse_listen(const char *arg, struct rsusim_config *c)
{
    const char *colon = strrchr(arg, ':');
    if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof c->host)
        return -1;
    snprintf(c->host, sizeof c->host, "%.*s", (int)(colon - arg), arg);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return -1;
    c->port = (int)port;
    return 0;
}

static int parse_sim(int argc, char **argv, struct sim_opts *o)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},   {"rtu", required_argument, NULL, 'r'},
        {"baud", required_argument, NULL, 'b'},     {"parity", required_argument, NULL, 'p'},
        {"unit", required_argument, NULL, 'u'},     {"profile", required_argument, NULL, 'P'},
        {"scenario", required_argument, NULL, 's'}, {"random", required_argument, NULL, 'n'},
        {"interval", required_argument, NULL, 'i'}, {"seed", required_argument, NULL, 'S'},
        {"ack-log", required_argument, NULL, 'a'},  {"exit-when-done", no_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->cfg.transport = RSU_TRANSPORT_TCP;
    snprintf(o->cfg.host, sizeof o->cfg.host, "127.0.0.1");
    o->cfg.port = 1502;
    o->cfg.baud = 9600;
    o->cfg.parity = 'N';
    o->cfg.data_bits = 8;
    o->cfg.stop_bits = 1;
    o->cfg.unit_id = 1;
    o->cfg.first_seq = 1;
    o->profile = "generic-rsu";
    o->seed = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'l':
            if (parse_listen(optarg, &o->cfg) < 0) {
                fprintf(stderr, "rsgw sim: --listen expects HOST:PORT, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'r':
            o->cfg.transport = RSU_TRANSPORT_RTU;
            snprintf(o->cfg.device, sizeof o->cfg.device, "%s", optarg);
            break;
        case 'b':
            o->cfg.baud = (int)strtol(optarg, &end, 10);
            break;
        case 'p':
            o->cfg.parity = optarg[0];
            break;
        case 'u':
            o->cfg.unit_id = (int)strtol(optarg, &end, 10);
            break;
        case 'P':
            o->profile = optarg;
            break;
        case 's':
            o->scenario = optarg;
            break;
        case 'n':
            o->random_count = strtol(optarg, &end, 10);
            break;
        case 'i':
            o->interval_ms = strtol(optarg, &end, 10);
            break;
        case 'S':
            o->seed = strtoull(optarg, &end, 10);
            break;
        case 'a':
            o->ack_log = optarg;
            break;
        case 'x':
            o->exit_when_done = true;
            break;
        case 'h':
            printf("%s", sim_usage);
            return 1;
        default:
            fprintf(stderr, "%s", sim_usage);
            return 2;
        }
        if (end && *end) {
            fprintf(stderr, "rsgw sim: '%s' is not a number\n", optarg);
            return 2;
        }
    }
    return 0;
}

int cmd_sim(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "ecu") == 0)
        return sim_ecu_main(argc - 1, argv + 1);
    if (argc < 2 || strcmp(argv[1], "rsu") != 0) {
        fprintf(stderr, "%s", sim_usage);
        return 2;
    }
    struct sim_opts o;
    int rc = parse_sim(argc - 1, argv + 1, &o);
    if (rc)
        return rc == 1 ? 0 : rc;

    char path[CONFIG_PATH_MAX], err[512];
    struct rsu_profile profile;
    if (config_resolve_profile(NULL, NULL, o.profile, path, sizeof path) < 0) {
        fprintf(stderr, "rsgw sim: profile '%s' not found (looked for %s)\n", o.profile, path);
        return 1;
    }
    if (rsu_profile_load(path, &profile, err, sizeof err) < 0) {
        fprintf(stderr, "rsgw sim: %s\n", err);
        return 1;
    }
    struct rsusim_scenario scenario = {0};
    if (o.scenario && rsusim_scenario_load(o.scenario, &scenario, err, sizeof err) < 0) {
        fprintf(stderr, "rsgw sim: %s\n", err);
        return 1;
    }
    int sfd = cli_signal_fd();
    o.cfg.profile = &profile;
    struct sim_run run = {.o = &o, .scenario = o.scenario ? &scenario : NULL};
    run.ack_log = o.ack_log ? fopen(o.ack_log, "a") : NULL;
    if (o.ack_log && !run.ack_log) {
        perror(o.ack_log);
        rsusim_scenario_free(&scenario);
        return 1;
    }
    run.sim = rsusim_start(&o.cfg, err, sizeof err);
    if (!run.sim) {
        fprintf(stderr, "rsgw sim: %s\n", err);
        if (run.ack_log)
            fclose(run.ack_log);
        rsusim_scenario_free(&scenario);
        return 1;
    }
    if (run.ack_log)
        rsusim_on_ack(run.sim, on_ack, &run);
    if (o.cfg.transport == RSU_TRANSPORT_TCP)
        printf("listening on %s:%d (profile %s %s, unit %d)\n", o.cfg.host, rsusim_port(run.sim),
               profile.name, profile.version, o.cfg.unit_id);
    else
        printf("listening on %s (profile %s %s, unit %d)\n", o.cfg.device, profile.name,
               profile.version, o.cfg.unit_id);
    fflush(stdout);

    pthread_t player;
    bool playing =
        (o.scenario || o.random_count > 0) && pthread_create(&player, NULL, play_main, &run) == 0;
    for (;;) {
        struct pollfd pfd = {.fd = sfd, .events = POLLIN};
        if (poll(&pfd, sfd >= 0 ? 1 : 0, 100) > 0)
            break; /* TERM, INT or HUP: stop */
        if (o.exit_when_done && (!playing || atomic_load(&run.played))) {
            struct rsusim_stats st;
            rsusim_get_stats(run.sim, &st);
            if (st.pending == 0)
                break;
        }
    }
    run.stop = 1;
    if (playing)
        pthread_join(player, NULL);
    struct rsusim_stats st;
    rsusim_get_stats(run.sim, &st);
    rsusim_stop(run.sim);
    fprintf(stderr, "rsgw sim: %u pass(es) queued, %u acknowledged, %u pending\n", st.pushed,
            st.acked, st.pending);
    if (run.ack_log)
        fclose(run.ack_log);
    rsusim_scenario_free(&scenario);
    if (sfd >= 0)
        close(sfd);
    return run.play_rc < 0 ? 1 : 0;
}
