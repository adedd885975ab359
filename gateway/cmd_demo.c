/* SPDX-License-Identifier: MIT */
/*
 * rsgw demo: a whole checkpoint on one machine. A simulated remote-sensing
 * unit (a real Modbus TCP server on loopback) plays a scripted stream of
 * vehicles; the real gateway (lanes, policy, store) reads, judges and stores
 * them; each stored record is shown as it becomes durable.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "daemon.h"
#include "pipeline.h"
#include "registry.h"
#include "rsusim.h"
#include "view.h"

/* The story. "@alert LEVEL" lines are the demo's own: the operator changes the
 * heavy-pollution alert level between vehicles. Everything else is the
 * simulator's scenario format (docs/simulator.md). */
static const char demo_script[] =
    "# A local petrol car, clean.\n"
    "pass plate=豫A12345 colour=blue opacity=3.1 no=210 ringelmann=0 co=0.3 hc=60 co2=12.5 "
    "speed=42 accel=0.4 vsp=6.2\n"
    "wait {W}\n"
    "# A local new-energy car (green plate).\n"
    "pass plate=豫AD12345 colour=green opacity=0.4 no=12 ringelmann=0 co=0.0 hc=2 co2=0.1 "
    "speed=38 accel=0.2 vsp=3.5\n"
    "wait {W}\n"
    "# An out-of-area diesel truck, not in the registry, smoking: first finding.\n"
    "pass plate=冀B67890 colour=yellow opacity=46.5 no=1320 ringelmann=1 co=0.1 hc=40 co2=11.2 "
    "speed=35 accel=0.3 vsp=5.1\n"
    "wait {W}\n"
    "# A local heavy diesel truck over the NO limit: first finding.\n"
    "pass plate=豫A88888 colour=yellow opacity=12.0 no=1710 ringelmann=0 co=0.1 hc=35 co2=10.8 "
    "speed=33 accel=0.2 vsp=4.8\n"
    "wait {W}\n"
    "# Too slow to judge (outside the speed window): stored, marked invalid.\n"
    "pass plate=豫A23456 colour=blue opacity=55.0 no=400 ringelmann=0 co=0.4 hc=80 co2=12.0 "
    "speed=2 accel=0.0 vsp=0.2\n"
    "wait {W}\n"
    "# A China III diesel truck entering the restricted zone: turned back whatever it emits.\n"
    "pass plate=晋C11111 colour=yellow opacity=8.0 no=600 ringelmann=0 co=0.1 hc=30 co2=11.0 "
    "speed=30 accel=0.1 vsp=4.0\n"
    "wait {W}\n"
    "# A light vehicle blowing black smoke (Ringelmann 3).\n"
    "pass plate=豫A66666 colour=blue opacity=28.0 no=300 ringelmann=3 co=0.9 hc=220 co2=11.9 "
    "speed=45 accel=0.5 vsp=7.0\n"
    "wait {W}\n"
    "# The unit sends garbage registers for one pass.\n"
    "fault garbage\n"
    "pass plate=豫A55555 colour=blue opacity=5 no=100 speed=40 accel=0.2 vsp=5\n"
    "wait {W}\n"
    "# The same out-of-area truck again, still dirty: second finding.\n"
    "pass plate=冀B67890 colour=yellow opacity=44.0 no=1290 ringelmann=1 co=0.1 hc=41 co2=11.0 "
    "speed=36 accel=0.2 vsp=5.0\n"
    "wait {W}\n"
    "# The local truck again, NO over the limit a second time in a row.\n"
    "pass plate=豫A88888 colour=yellow opacity=10.5 no=1650 ringelmann=0 co=0.1 hc=33 co2=10.9 "
    "speed=34 accel=0.3 vsp=5.2\n"
    "wait {W}\n"
    "@alert orange\n"
    "# Orange alert: a clean China IV diesel truck is kept out ...\n"
    "pass plate=豫A77777 colour=yellow opacity=6.0 no=500 ringelmann=0 co=0.1 hc=30 co2=11.0 "
    "speed=31 accel=0.2 vsp=4.5\n"
    "wait {W}\n"
    "# ... unless it carries livelihood supplies.\n"
    "pass plate=豫A99999 colour=yellow opacity=7.0 no=520 ringelmann=0 co=0.1 hc=31 co2=11.0 "
    "speed=32 accel=0.2 vsp=4.6\n"
    "wait {W}\n"
    "@alert none\n";

static const struct registry_vehicle demo_registry[] = {
    {.plate = "豫A12345",
     .fuel = FUEL_GASOLINE,
     .emission_stage = 6,
     .gross_weight_kg = 1600,
     .vclass = VCLASS_CAR,
     .source = "demo"},
    {.plate = "豫A88888",
     .fuel = FUEL_DIESEL,
     .emission_stage = 5,
     .gross_weight_kg = 18000,
     .vclass = VCLASS_TRUCK,
     .vin = "LZZ5BLSJ8KN123456",
     .source = "demo"},
    {.plate = "晋C11111",
     .fuel = FUEL_DIESEL,
     .emission_stage = 3,
     .gross_weight_kg = 25000,
     .vclass = VCLASS_TRUCK,
     .source = "demo"},
    {.plate = "豫A66666",
     .fuel = FUEL_GASOLINE,
     .emission_stage = 4,
     .gross_weight_kg = 2100,
     .vclass = VCLASS_CAR,
     .source = "demo"},
    {.plate = "豫A77777",
     .fuel = FUEL_DIESEL,
     .emission_stage = 4,
     .gross_weight_kg = 16000,
     .vclass = VCLASS_TRUCK,
     .source = "demo"},
    {.plate = "豫A99999",
     .fuel = FUEL_DIESEL,
     .emission_stage = 4,
     .gross_weight_kg = 16000,
     .vclass = VCLASS_TRUCK,
     .exemption = EXEMPT_LIVELIHOOD,
     .source = "demo"},
};

struct demo {
    rsusim *sim;
    char db_path[CONFIG_PATH_MAX + 16];
    int wait_ms;
    volatile int stop_player;
    atomic_bool done;
    atomic_bool failed;
    atomic_int alert_events; /* alert_level events seen by the gateway */
    atomic_uint records;
    struct view_opts view;
    pthread_mutex_t out_mu;
};

static void on_record(void *ud, uint64_t seq, const uint8_t *bytes, size_t len)
{
    struct demo *d = ud;
    (void)seq;
    Rsgw__V1__Record *r = record_unpack(bytes, len);
    if (!r)
        return;
    if (r->body_case == RSGW__V1__RECORD__BODY_EVENT && r->event && r->event->kind &&
        strcmp(r->event->kind, "alert_level") == 0)
        atomic_fetch_add(&d->alert_events, 1);
    pthread_mutex_lock(&d->out_mu);
    view_table_row(stdout, &d->view, r);
    fflush(stdout);
    pthread_mutex_unlock(&d->out_mu);
    atomic_fetch_add(&d->records, 1);
    record_free(r);
}

static bool should_stop(void *ud)
{
    struct demo *d = ud;
    return atomic_load(&d->done);
}

static bool wait_until_acked(struct demo *d)
{
    for (int i = 0; i < 600 && !d->stop_player; i++) {
        struct rsusim_stats st;
        rsusim_get_stats(d->sim, &st);
        if (st.pending == 0)
            return true;
        usleep(50000);
    }
    return false;
}

static int set_alert(struct demo *d, const char *level)
{
    store *st;
    char err[512];
    if (store_open(d->db_path, STORE_ADMIN, &st, err, sizeof err) < 0) {
        fprintf(stderr, "demo: %s\n", err);
        return -1;
    }
    int seen = atomic_load(&d->alert_events);
    int rc = store_setting_set(st, ALERT_UNTIL_KEY, "0");
    if (rc == 0)
        rc = store_setting_set(st, ALERT_LEVEL_KEY, level);
    if (rc < 0)
        fprintf(stderr, "demo: %s\n", store_errmsg(st));
    store_close(st);
    pthread_mutex_lock(&d->out_mu);
    printf("%s-- operator: rsgw alert set %s%s\n", d->view.colour ? "\033[1m" : "", level,
           d->view.colour ? "\033[0m" : "");
    pthread_mutex_unlock(&d->out_mu);
    /* The gateway applies it within a second and records it in the chain. */
    for (int i = 0; i < 100 && atomic_load(&d->alert_events) == seen && !d->stop_player; i++)
        usleep(50000);
    return rc;
}

/* Play the script segment by segment, changing the alert level between them. */
static void *player_main(void *arg)
{
    struct demo *d = arg;
    char wait_text[16];
    snprintf(wait_text, sizeof wait_text, "%d", d->wait_ms);
    const char *p = demo_script;
    while (*p && !d->stop_player) {
        const char *alert = strstr(p, "@alert ");
        size_t seg_len = alert ? (size_t)(alert - p) : strlen(p);
        /* Substitute the pacing into the segment. */
        char *seg = malloc(seg_len * 2 + 64);
        if (!seg)
            break;
        size_t o = 0;
        for (size_t i = 0; i < seg_len; i++) {
            if (strncmp(p + i, "{W}", 3) == 0) {
                o += (size_t)sprintf(seg + o, "%s", wait_text);
                i += 2;
            } else {
                seg[o++] = p[i];
            }
        }
        seg[o] = '\0';
        struct rsusim_scenario sc;
        char err[256];
        if (rsusim_scenario_parse(seg, "demo script", &sc, err, sizeof err) < 0) {
            fprintf(stderr, "demo: %s\n", err);
            free(seg);
            atomic_store(&d->failed, true);
            break;
        }
        free(seg);
        rsusim_play(d->sim, &sc, &d->stop_player);
        rsusim_scenario_free(&sc);
        if (!wait_until_acked(d)) {
            atomic_store(&d->failed, true);
            break;
        }
        if (!alert)
            break;
        char level[16];
        const char *eol = strchr(alert, '\n');
        snprintf(level, sizeof level, "%.*s",
                 (int)((eol ? eol : alert + strlen(alert)) - alert - 7), alert + 7);
        if (set_alert(d, level) < 0) {
            atomic_store(&d->failed, true);
            break;
        }
        p = eol ? eol + 1 : alert + strlen(alert);
    }
    atomic_store(&d->done, true);
    return NULL;
}

static int seed_registry(const char *db_path)
{
    store *st;
    char err[512];
    if (store_open(db_path, STORE_ADMIN, &st, err, sizeof err) < 0) {
        fprintf(stderr, "demo: %s\n", err);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < sizeof demo_registry / sizeof demo_registry[0] && rc == 0; i++)
        rc = registry_put(st, &demo_registry[i]);
    if (rc < 0)
        fprintf(stderr, "demo: registry: %s\n", store_errmsg(st));
    store_close(st);
    return rc;
}

static int verify_summary(const char *db_path, const struct demo *d)
{
    store *st;
    char err[512];
    if (store_open(db_path, STORE_READ, &st, err, sizeof err) < 0) {
        fprintf(stderr, "demo: %s\n", err);
        return -1;
    }
    struct store_verify_result res;
    int rc = store_verify(st, &res, NULL, NULL);
    struct store_stats stats;
    store_get_stats(st, &stats);
    store_close(st);
    printf("\n%llu records stored (%llu passes, %llu findings); hash chain %s\n",
           (unsigned long long)stats.records, (unsigned long long)stats.passes,
           (unsigned long long)stats.findings, rc == 0 && res.ok ? "verified intact" : res.reason);
    (void)d;
    return rc == 0 && res.ok ? 0 : -1;
}

int cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {{"fast", no_argument, NULL, 'f'},
                                         {"state", required_argument, NULL, 's'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool fast = false, verbose = false;
    const char *state = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "fs:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            fast = true;
            break;
        case 's':
            state = optarg;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            printf("usage: rsgw demo [--fast] [--state DIR] [-v]\n"
                   "Runs a simulated checkpoint end to end and shows every verdict.\n");
            return 0;
        default:
            return 2;
        }
    }
    char state_dir[CONFIG_PATH_MAX];
    if (state)
        snprintf(state_dir, sizeof state_dir, "%s", state);
    else {
        snprintf(state_dir, sizeof state_dir, "/tmp/rsgw-demo-XXXXXX");
        if (!mkdtemp(state_dir)) {
            perror("mkdtemp");
            return 1;
        }
    }
    int sfd = cli_signal_fd(); /* before any thread starts */

    struct demo d = {.wait_ms = fast ? 0 : 900, .view.colour = isatty(STDOUT_FILENO)};
    pthread_mutex_init(&d.out_mu, NULL);
    char path[CONFIG_PATH_MAX], err[512];
    struct rsu_profile profile;
    if (config_resolve_profile(NULL, NULL, "generic-rsu", path, sizeof path) < 0 ||
        rsu_profile_load(path, &profile, err, sizeof err) < 0) {
        fprintf(stderr, "demo: cannot load the generic profile (%s)\n", path);
        return 1;
    }
    struct rsusim_config sc = {.transport = RSU_TRANSPORT_TCP,
                               .host = "127.0.0.1",
                               .port = 0,
                               .unit_id = 1,
                               .profile = &profile,
                               .first_seq = 1};
    d.sim = rsusim_start(&sc, err, sizeof err);
    if (!d.sim) {
        fprintf(stderr, "demo: simulator: %s\n", err);
        return 1;
    }

    char text[2048];
    snprintf(text, sizeof text,
             "[gateway]\n"
             "id = DEMO-ZZ-01\n"
             "checkpoint = Zhengzhou demo checkpoint (4th ring)\n"
             "state_dir = %s\n"
             "status_interval_ms = 1000\n"
             "[policy]\n"
             "local_prefixes = 豫A\n"
             "restricted_zone = yes\n"
             "restricted_over_standard_turn_back = no\n"
             "[limits]\n"
             "gasoline_co_pct_a = 3.0\n"
             "gasoline_hc_ppm_a = 600\n"
             "gasoline_no_ppm_a = 2500\n"
             "[lane L1]\n"
             "transport = tcp\n"
             "host = 127.0.0.1\n"
             "port = %d\n"
             "device_id = RSU-DEMO-1\n"
             "profile = generic-rsu\n"
             "poll_interval_ms = 50\n"
             "response_timeout_ms = 500\n",
             state_dir, rsusim_port(d.sim));
    struct config *cfg = malloc(sizeof *cfg);
    struct config_diag *diag = malloc(sizeof *diag);
    int rc = 1;
    if (!cfg || !diag)
        goto out;
    if (config_parse(text, "demo.ini", cfg, diag) < 0) {
        for (size_t i = 0; i < diag->n; i++)
            fprintf(stderr, "demo: %s\n", diag->msg[i]);
        goto out;
    }
    config_db_path(cfg, d.db_path, sizeof d.db_path);
    if (config_make_state_dir(cfg, err, sizeof err) < 0) {
        fprintf(stderr, "demo: %s\n", err);
        goto out;
    }
    /* The store must exist before the registry is seeded: let the writer create it. */
    store *st;
    if (store_open(d.db_path, STORE_WRITER, &st, err, sizeof err) < 0) {
        fprintf(stderr, "demo: %s\n", err);
        goto out;
    }
    store_close(st);
    if (seed_registry(d.db_path) < 0)
        goto out;

    printf("rsgw demo: simulated remote-sensing unit on 127.0.0.1:%d (Modbus TCP, profile %s)\n"
           "checkpoint DEMO-ZZ-01 on the restricted zone's edge; local plates 豫A; limit set a;\n"
           "over-standard vehicles are handled by the findings rules (warn, then turn back)\n"
           "state: %s\n\n",
           rsusim_port(d.sim), profile.name, state_dir);
    view_table_header(stdout, &d.view);
    fflush(stdout);

    struct log lg;
    log_init(&lg, verbose ? LOG_INFO : LOG_WARNING);
    pthread_t player;
    if (pthread_create(&player, NULL, player_main, &d) != 0)
        goto out;
    struct daemon_opts o = {
        .config = cfg,
        .signal_fd = sfd,
        .hooks = {.on_record = on_record, .should_stop = should_stop, .ud = &d}};
    rc = daemon_run(&o, &lg);
    d.stop_player = 1;
    pthread_join(player, NULL);
    if (rc == 0 && verify_summary(d.db_path, &d) < 0)
        rc = 1;
    if (atomic_load(&d.failed)) {
        fprintf(stderr, "demo: the simulated unit's passes were not all acknowledged\n");
        rc = 1;
    }
    printf("\nExplore: rsgw records --db %s --detail\n"
           "         rsgw history 冀B67890 --db %s\n"
           "         rsgw verify --db %s\n",
           d.db_path, d.db_path, d.db_path);
out:
    free(cfg);
    free(diag);
    rsusim_stop(d.sim);
    pthread_mutex_destroy(&d.out_mu);
    if (sfd >= 0)
        close(sfd);
    return rc;
}
