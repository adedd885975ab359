/* SPDX-License-Identifier: MIT */
/*
 * rsgw demo: two checkpoints and the platform on one machine.
 *
 * The reference platform (rsgw-platform) runs as a subprocess on loopback.
 * Each checkpoint is the real gateway (lanes, policy, store, sync engine) in
 * its own thread, reading its own simulated remote-sensing unit (a real
 * Modbus TCP server). The story: a dirty out-of-area truck is warned at the
 * west checkpoint; the finding reaches the platform, the north checkpoint
 * pulls it, and the same truck is turned back at the north checkpoint. The
 * platform then raises the heavy-pollution alert for both checkpoints.
 * Every row is printed when its record is durable.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "daemon.h"
#include "demo_obd.h"
#include "registry.h"
#include "rsusim.h"
#include "store_sync.h"
#include "view.h"

extern char **environ;

/* "@west" / "@north" pick the checkpoint whose unit plays the next lines;
 * "@sync PLATE" waits until the north checkpoint knows PLATE's findings from
 * the platform; "@alert LEVEL" is the platform raising or lowering the alert.
 * Everything else is the simulator's scenario format (docs/simulator.md). */
static const char demo_script[] =
    "@west\n"
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
    "# A local heavy diesel truck over the NO limit: first exceedance.\n"
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
    "# The local truck again, NO over the limit a second time in a row.\n"
    "pass plate=豫A88888 colour=yellow opacity=10.5 no=1650 ringelmann=0 co=0.1 hc=33 co2=10.9 "
    "speed=34 accel=0.3 vsp=5.2\n"
    "wait {W}\n"
    "@sync 冀B67890\n"
    "@north\n"
    "# The out-of-area truck reaches the north checkpoint, still dirty: second finding.\n"
    "pass plate=冀B67890 colour=yellow opacity=44.0 no=1290 ringelmann=1 co=0.1 hc=41 co2=11.0 "
    "speed=36 accel=0.2 vsp=5.0\n"
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

/* The platform's vehicle registry; both checkpoints pull it. */
static const char *const demo_registry[] = {
    "plate=豫A12345&fuel=gasoline&stage=6&weight_kg=1600&class=car",
    "plate=豫A88888&fuel=diesel&stage=5&weight_kg=18000&class=truck&vin=LZZ5BLSJ8KN123456",
    "plate=晋C11111&fuel=diesel&stage=3&weight_kg=25000&class=truck",
    "plate=豫A66666&fuel=gasoline&stage=4&weight_kg=2100&class=car",
    "plate=豫A77777&fuel=diesel&stage=4&weight_kg=16000&class=truck",
    "plate=豫A99999&fuel=diesel&stage=4&weight_kg=16000&class=truck&exemption=livelihood",
};
#define LAST_REGISTRY_PLATE "豫A99999"

struct demo;

struct checkpoint {
    struct demo *demo;
    const char *tag; /* shown in the first column */
    const char *id;
    const char *name;
    char state_dir[CONFIG_PATH_MAX];
    char db_path[CONFIG_PATH_MAX + 16];
    rsusim *sim;
    struct config *cfg;
    pthread_t thread;
    bool started;
    int rc;
    atomic_int alert_events;
};

struct demo {
    int wait_ms;
    int signal_fd;
    atomic_bool done;
    atomic_bool failed;
    pid_t platform_pid;
    int platform_port;
    char platform_url[64];
    struct log lg;
    struct view_opts view;
    pthread_mutex_t out_mu;
    struct rsu_profile profile;
    struct checkpoint cp[2]; /* west, north */
};

static void say(struct demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct demo *d, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&d->out_mu);
    fputs(d->view.colour ? "\033[1m-- " : "-- ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputs(d->view.colour ? "\033[0m\n" : "\n", stdout);
    fflush(stdout);
    pthread_mutex_unlock(&d->out_mu);
}

static void on_record(void *ud, uint64_t seq, const uint8_t *bytes, size_t len)
{
    struct checkpoint *cp = ud;
    (void)seq;
    Rsgw__V1__Record *r = record_unpack(bytes, len);
    if (!r)
        return;
    if (r->body_case == RSGW__V1__RECORD__BODY_EVENT && r->event && r->event->kind &&
        strcmp(r->event->kind, "alert_level") == 0)
        atomic_fetch_add(&cp->alert_events, 1);
    pthread_mutex_lock(&cp->demo->out_mu);
    printf("%-6s ", cp->tag);
    view_table_row(stdout, &cp->demo->view, r);
    fflush(stdout);
    pthread_mutex_unlock(&cp->demo->out_mu);
    record_free(r);
}

static bool should_stop(void *ud)
{
    struct checkpoint *cp = ud;
    return atomic_load(&cp->demo->done);
}

/* Ctrl-C (or TERM) ends the demo from any wait. */
static bool interrupted(struct demo *d)
{
    struct signalfd_siginfo si;
    if (d->signal_fd >= 0 && read(d->signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        atomic_store(&d->failed, true);
        atomic_store(&d->done, true);
    }
    return atomic_load(&d->done);
}

/* Poll cond every 50 ms for up to seconds; false on timeout or interrupt. */
static bool wait_until(struct demo *d, int seconds, bool (*cond)(struct checkpoint *, const char *),
                       struct checkpoint *cp, const char *arg)
{
    for (int i = 0; i < seconds * 20; i++) {
        if (interrupted(d))
            return false;
        if (cond(cp, arg))
            return true;
        usleep(50000);
    }
    return false;
}

static bool all_acked(struct checkpoint *cp, const char *unused)
{
    (void)unused;
    struct rsusim_stats st;
    rsusim_get_stats(cp->sim, &st);
    return st.pending == 0;
}

static bool knows_findings(struct checkpoint *cp, const char *plate)
{
    store *st;
    char err[256];
    if (store_open(cp->db_path, STORE_READ, &st, err, sizeof err) < 0)
        return false;
    struct history h;
    bool known = store_history(st, plate, 0, &h) == 0 && h.findings > 0;
    store_close(st);
    return known;
}

static bool has_registry(struct checkpoint *cp, const char *plate)
{
    store *st;
    char err[256];
    if (store_open(cp->db_path, STORE_READ, &st, err, sizeof err) < 0)
        return false;
    struct registry_vehicle v;
    bool found = registry_get(st, plate, &v) == 1;
    store_close(st);
    return found;
}

static bool delivered(struct checkpoint *cp, const char *upstream)
{
    store *st;
    char err[256];
    if (store_open(cp->db_path, STORE_READ, &st, err, sizeof err) < 0)
        return false;
    struct store_backlog bl;
    bool done = store_upstream_backlog(st, upstream, &bl) == 0 && bl.records == 0;
    store_close(st);
    return done;
}

static bool alert_seen(struct checkpoint *cp, const char *before)
{
    return atomic_load(&cp->alert_events) > atoi(before);
}

static size_t discard(void *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* The platform's operator: POST a form to the reference platform's admin API. */
static int platform_post(struct demo *d, const char *path, const char *form)
{
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    char url[256];
    snprintf(url, sizeof url, "%s%s", d->platform_url, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK || status / 100 != 2) {
        fprintf(stderr, "demo: platform %s: %s (HTTP %ld)\n", path, curl_easy_strerror(rc), status);
        return -1;
    }
    return 0;
}

static int play(struct demo *d, struct checkpoint *cp, const char *text)
{
    struct rsusim_scenario sc;
    char err[256];
    if (rsusim_scenario_parse(text, "demo script", &sc, err, sizeof err) < 0) {
        fprintf(stderr, "demo: %s\n", err);
        return -1;
    }
    volatile int stop = 0;
    rsusim_play(cp->sim, &sc, &stop);
    rsusim_scenario_free(&sc);
    if (!wait_until(d, 30, all_acked, cp, NULL)) {
        fprintf(stderr, "demo: %s: passes not acknowledged in time\n", cp->name);
        return -1;
    }
    return 0;
}

static int directive(struct demo *d, const char *line, struct checkpoint **cur)
{
    char arg[64] = "";
    if (strncmp(line, "@west", 5) == 0) {
        *cur = &d->cp[0];
    } else if (strncmp(line, "@north", 6) == 0) {
        *cur = &d->cp[1];
    } else if (sscanf(line, "@sync %63s", arg) == 1) {
        if (!wait_until(d, 30, knows_findings, &d->cp[1], arg))
            return -1;
        say(d, "%s's finding at %s reached the platform; %s pulled it", arg, d->cp[0].name,
            d->cp[1].name);
    } else if (sscanf(line, "@alert %15s", arg) == 1) {
        char form[96], before[2][16];
        for (int i = 0; i < 2; i++)
            snprintf(before[i], sizeof before[i], "%d", atomic_load(&d->cp[i].alert_events));
        snprintf(form, sizeof form, "gateway=*&alert=%s", arg);
        say(d, "platform: heavy-pollution alert %s for every checkpoint", arg);
        if (platform_post(d, "/admin/policy", form) < 0)
            return -1;
        for (int i = 0; i < 2; i++)
            if (!wait_until(d, 30, alert_seen, &d->cp[i], before[i]))
                return -1;
    } else {
        fprintf(stderr, "demo: unknown directive %s\n", line);
        return -1;
    }
    return 0;
}

/* Play the script, segment by segment, in the calling thread. */
static int run_script(struct demo *d)
{
    char wait_text[16];
    snprintf(wait_text, sizeof wait_text, "%d", d->wait_ms);
    size_t cap = sizeof demo_script * 2;
    char *seg = malloc(cap);
    if (!seg)
        return -1;
    size_t o = 0;
    struct checkpoint *cur = &d->cp[0];
    int rc = 0;
    for (const char *p = demo_script; *p && rc == 0 && !interrupted(d);) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (*p == '@') {
            seg[o] = '\0';
            if (o)
                rc = play(d, cur, seg);
            o = 0;
            char line[128];
            snprintf(line, sizeof line, "%.*s", (int)n, p);
            if (rc == 0)
                rc = directive(d, line, &cur);
        } else {
            for (size_t i = 0; i < n && o + 32 < cap; i++) {
                if (strncmp(p + i, "{W}", 3) == 0) {
                    o += (size_t)snprintf(seg + o, cap - o, "%s", wait_text);
                    i += 2;
                } else {
                    seg[o++] = p[i];
                }
            }
            seg[o++] = '\n';
        }
        p += n + (eol ? 1 : 0);
    }
    seg[o] = '\0';
    if (rc == 0 && o)
        rc = play(d, cur, seg);
    free(seg);
    return rc;
}

static int start_platform(struct demo *d, const char *state_dir)
{
    const char *bin = getenv("RSGW_PLATFORM");
    char path[PATH_MAX];
    if (!bin) {
        /* Next to rsgw in the build tree, else on the PATH. */
        char self[PATH_MAX - 64];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) {
            self[n] = '\0';
            char *slash = strrchr(self, '/');
            if (slash)
                *slash = '\0';
            snprintf(path, sizeof path, "%s/../tests/platform/rsgw-platform", self);
            bin = access(path, X_OK) == 0 ? path : "rsgw-platform";
        } else {
            bin = "rsgw-platform";
        }
    }
    char db[CONFIG_PATH_MAX + 32];
    snprintf(db, sizeof db, "%s/platform.db", state_dir);
    int out[2];
    if (pipe(out) < 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    char log_path[CONFIG_PATH_MAX + 32];
    snprintf(log_path, sizeof log_path, "%s/platform.log", state_dir);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, log_path, O_WRONLY | O_CREAT | O_APPEND,
                                     0640);
    char *argv[] = {(char *)bin, "--listen", "127.0.0.1:0", "--db", db, NULL};
    int rc = posix_spawnp(&d->platform_pid, bin, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    if (rc != 0) {
        fprintf(stderr,
                "demo: cannot start the reference platform '%s': %s\n"
                "      (deploy/dev.sh demo builds it; or set RSGW_PLATFORM to its path)\n",
                bin, strerror(rc));
        close(out[0]);
        return -1;
    }
    FILE *f = fdopen(out[0], "r");
    char line[128] = "";
    if (!f || !fgets(line, sizeof line, f) ||
        sscanf(line, "listening on 127.0.0.1:%d", &d->platform_port) != 1) {
        fprintf(stderr, "demo: the reference platform did not start (%s)\n", line);
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f); /* it writes nothing more to stdout */
    snprintf(d->platform_url, sizeof d->platform_url, "http://127.0.0.1:%d", d->platform_port);
    return 0;
}

static void stop_platform(struct demo *d)
{
    if (d->platform_pid > 0) {
        kill(d->platform_pid, SIGTERM);
        waitpid(d->platform_pid, NULL, 0);
    }
}

static int setup_checkpoint(struct demo *d, struct checkpoint *cp, const char *root)
{
    char err[512];
    snprintf(cp->state_dir, sizeof cp->state_dir, "%s/%s", root, cp->tag);
    struct rsusim_config sc = {.transport = RSU_TRANSPORT_TCP,
                               .host = "127.0.0.1",
                               .unit_id = 1,
                               .profile = &d->profile,
                               .first_seq = 1};
    cp->sim = rsusim_start(&sc, err, sizeof err);
    if (!cp->sim) {
        fprintf(stderr, "demo: simulator: %s\n", err);
        return -1;
    }
    char text[2048];
    snprintf(text, sizeof text,
             "[gateway]\nid = %s\ncheckpoint = %s\nstate_dir = %s\nstatus_interval_ms = 1000\n"
             "[policy]\nlocal_prefixes = 豫A\nrestricted_zone = yes\n"
             "restricted_over_standard_turn_back = no\n"
             "[limits]\ngasoline_co_pct_a = 3.0\ngasoline_hc_ppm_a = 600\n"
             "gasoline_no_ppm_a = 2500\n"
             "[lane L1]\ntransport = tcp\nhost = 127.0.0.1\nport = %d\ndevice_id = RSU-%s\n"
             "profile = generic-rsu\npoll_interval_ms = 50\nresponse_timeout_ms = 500\n"
             "[upstream city]\nurl = %s\nallow_plain_http = yes\npull_interval_ms = 250\n"
             "findings_stale_after_ms = 5000\nbackoff_min_ms = 100\nbackoff_max_ms = 1000\n",
             cp->id, cp->name, cp->state_dir, rsusim_port(cp->sim), cp->id, d->platform_url);
    cp->cfg = malloc(sizeof *cp->cfg);
    struct config_diag *diag = malloc(sizeof *diag);
    int rc = cp->cfg && diag ? config_parse(text, "demo.ini", cp->cfg, diag) : -1;
    if (rc < 0 && diag)
        for (size_t i = 0; i < diag->n; i++)
            fprintf(stderr, "demo: %s\n", diag->msg[i]);
    free(diag);
    if (rc < 0)
        return -1;
    config_db_path(cp->cfg, cp->db_path, sizeof cp->db_path);
    return config_make_state_dir(cp->cfg, err, sizeof err);
}

static void *checkpoint_main(void *arg)
{
    struct checkpoint *cp = arg;
    struct daemon_opts o = {
        .config = cp->cfg,
        .signal_fd = -1,
        .hooks = {.on_record = on_record, .should_stop = should_stop, .ud = cp}};
    cp->rc = daemon_run(&o, &cp->demo->lg);
    if (cp->rc != 0) /* a checkpoint that cannot run ends the demo */
        atomic_store(&cp->demo->done, true);
    return NULL;
}

/* The turned-back truck is stopped at the north checkpoint and plugged in. */
static int roadside_obd(struct demo *d)
{
    struct checkpoint *cp = &d->cp[1];
    say(d, "%s: the turned-back truck 冀B67890 is stopped; roadside OBD check over CAN", cp->name);
    store *st;
    char err[512];
    if (store_open(cp->db_path, STORE_WRITER, &st, err, sizeof err) < 0) {
        fprintf(stderr, "demo: %s\n", err);
        return -1;
    }
    struct obd_inspection *in = malloc(sizeof *in);
    int rc =
        in ? demo_obd_check(cp->cfg, st, "冀B67890", RSU_COLOUR_YELLOW, in, err, sizeof err) : -1;
    if (rc < 0) {
        fprintf(stderr, "demo: OBD check: %s\n", in ? err : "out of memory");
    } else {
        Rsgw__V1__Record *r = record_unpack(in->record, in->len);
        if (r) {
            printf("%-6s ", cp->tag);
            view_table_row(stdout, &d->view, r);
            view_record_detail(stdout, &d->view, r, NULL);
            record_free(r);
        }
    }
    free(in);
    store_close(st);
    return rc;
}

static int summary(struct demo *d)
{
    int rc = 0;
    printf("\n");
    for (int i = 0; i < 2; i++) {
        struct checkpoint *cp = &d->cp[i];
        store *st;
        char err[512];
        if (store_open(cp->db_path, STORE_READ, &st, err, sizeof err) < 0) {
            fprintf(stderr, "demo: %s\n", err);
            rc = -1;
            continue;
        }
        struct store_verify_result res;
        int vrc = store_verify(st, &res, NULL, NULL);
        struct store_stats stats;
        store_get_stats(st, &stats);
        store_close(st);
        printf("%-6s %s: %llu records (%llu passes, %llu over the standard), hash chain %s\n",
               cp->tag, cp->name, (unsigned long long)stats.records,
               (unsigned long long)stats.passes, (unsigned long long)stats.findings,
               vrc == 0 && res.ok ? "verified intact" : res.reason);
        if (vrc != 0 || !res.ok)
            rc = -1;
    }
    printf("\nExplore: rsgw history 冀B67890 --db %s\n"
           "         rsgw records --db %s --detail\n"
           "         rsgw sync status --db %s\n"
           "         curl %s/admin/stats   (while a demo runs)\n",
           d->cp[1].db_path, d->cp[0].db_path, d->cp[0].db_path, d->platform_url);
    return rc;
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
                   "Two simulated checkpoints and the reference platform, end to end.\n");
            return 0;
        default:
            return 2;
        }
    }
    char root[CONFIG_PATH_MAX - 16];
    if (state) {
        snprintf(root, sizeof root, "%s", state);
    } else {
        snprintf(root, sizeof root, "/tmp/rsgw-demo-XXXXXX");
        if (!mkdtemp(root)) {
            perror("mkdtemp");
            return 1;
        }
    }
    struct demo *d = calloc(1, sizeof *d);
    if (!d)
        return 1;
    d->signal_fd = cli_signal_fd(); /* before any thread starts */
    d->wait_ms = fast ? 0 : 900;
    d->view.colour = isatty(STDOUT_FILENO);
    pthread_mutex_init(&d->out_mu, NULL);
    log_init(&d->lg, verbose ? LOG_INFO : LOG_WARNING);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    d->cp[0] = (struct checkpoint){
        .demo = d, .tag = "west", .id = "ZZ-WEST-01", .name = "Zhengzhou 4th ring west"};
    d->cp[1] = (struct checkpoint){
        .demo = d, .tag = "north", .id = "ZZ-NORTH-01", .name = "Zhengzhou 4th ring north"};

    int rc = 1;
    char path[CONFIG_PATH_MAX], err[512];
    if (config_resolve_profile(NULL, NULL, "generic-rsu", path, sizeof path) < 0 ||
        rsu_profile_load(path, &d->profile, err, sizeof err) < 0) {
        fprintf(stderr, "demo: cannot load the generic profile (%s)\n", path);
        goto out;
    }
    {
        struct config tmp_cfg; /* only for mkdir -p of the root */
        memset(&tmp_cfg, 0, sizeof tmp_cfg);
        snprintf(tmp_cfg.state_dir, sizeof tmp_cfg.state_dir, "%s", root);
        if (config_make_state_dir(&tmp_cfg, err, sizeof err) < 0) {
            fprintf(stderr, "demo: %s\n", err);
            goto out;
        }
    }
    if (start_platform(d, root) < 0)
        goto out;
    for (int i = 0; i < 2; i++)
        if (setup_checkpoint(d, &d->cp[i], root) < 0)
            goto out;
    for (size_t i = 0; i < sizeof demo_registry / sizeof demo_registry[0]; i++)
        if (platform_post(d, "/admin/registry", demo_registry[i]) < 0)
            goto out;

    printf("rsgw demo: two checkpoints on the 4th ring road of Zhengzhou (local plates 豫A) and\n"
           "the platform at %s. Each checkpoint reads its own simulated remote-sensing\n"
           "unit over Modbus TCP; over-standard vehicles are handled by the findings rules.\n"
           "state: %s\n\n",
           d->platform_url, root);
    printf("%-6s ", "CP");
    view_table_header(stdout, &d->view);
    fflush(stdout);

    for (int i = 0; i < 2; i++) {
        if (pthread_create(&d->cp[i].thread, NULL, checkpoint_main, &d->cp[i]) != 0)
            goto stop;
        d->cp[i].started = true;
    }
    /* Both checkpoints pull the registry from the platform before vehicles come. */
    for (int i = 0; i < 2; i++)
        if (!wait_until(d, 30, has_registry, &d->cp[i], LAST_REGISTRY_PLATE)) {
            fprintf(stderr, "demo: %s did not get the registry from the platform\n", d->cp[i].name);
            goto stop;
        }
    say(d, "both checkpoints pulled the vehicle registry from the platform");
    if (run_script(d) == 0) {
        /* Everything reaches the platform before the checkpoints stop. */
        rc = 0;
        for (int i = 0; i < 2; i++)
            if (!wait_until(d, 30, delivered, &d->cp[i], "city"))
                rc = 1;
        if (rc == 0)
            say(d, "every record of both checkpoints is on the platform");
    }
stop:
    atomic_store(&d->done, true);
    for (int i = 0; i < 2; i++)
        if (d->cp[i].started) {
            pthread_join(d->cp[i].thread, NULL);
            if (d->cp[i].rc != 0)
                rc = 1;
        }
    if (atomic_load(&d->failed))
        rc = 1;
    if (rc == 0 && roadside_obd(d) < 0)
        rc = 1;
    if (summary(d) < 0)
        rc = 1;
out:
    stop_platform(d);
    for (int i = 0; i < 2; i++) {
        rsusim_stop(d->cp[i].sim);
        free(d->cp[i].cfg);
    }
    curl_global_cleanup();
    pthread_mutex_destroy(&d->out_mu);
    if (d->signal_fd >= 0)
        close(d->signal_fd);
    free(d);
    return rc;
}
