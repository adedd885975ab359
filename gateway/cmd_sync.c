/* SPDX-License-Identifier: MIT */
/* rsgw sync status, rsgw sync rejects: platform delivery as the store and the daemon see it. */
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "store_sync.h"
#include "sync.h"

#define WATCH_INTERVAL_MS 500
/* A sync.txt older than this is not from a running daemon (status_interval_ms is at most 1 h,
 * but a daemon that stopped writing it for this long is not worth waiting for). */
#define STATE_FRESH_MS 120000

static const char usage_text[] =
    "usage: rsgw sync status [-c FILE | --db PATH] [--json] [--watch | --no-watch]\n"
    "       rsgw sync rejects UPSTREAM [-c FILE | --db PATH] [--json]\n"
    "status: per upstream, what is delivered, the backlog and its oldest record, rejected\n"
    "  records, the last success and the last error. On a terminal, while a backlog drains,\n"
    "  it shows progress every 0.5 s until the backlog is empty (--watch always, --no-watch\n"
    "  never; Ctrl-C stops watching).\n"
    "rejects: the records UPSTREAM refused for good, with the platform's reasons.\n";

struct sync_opts {
    struct cli_target target;
    bool json;
    int watch; /* -1 auto, 0 no, 1 yes */
};

struct view {
    size_t n;
    struct sync_upstream_status u[CONFIG_UPSTREAMS_MAX];
    bool from_daemon[CONFIG_UPSTREAMS_MAX]; /* daemon's sync.txt had this upstream */
    bool daemon_running;
    int64_t state_ms;
    char state_path[CONFIG_PATH_MAX + 16];
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void dir_of(const char *path, char *out, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, len, ".");
    else
        snprintf(out, len, "%.*s", (int)(slash - path), path);
}

/* Names from the configuration (-c, or the default file), else from the daemon's sync.txt. */
static int find_upstreams(const struct sync_opts *o, struct view *v)
{
    memset(v, 0, sizeof *v);
    struct sync_upstream_status *st = calloc(CONFIG_UPSTREAMS_MAX, sizeof *st);
    if (!st)
        return -1;
    size_t n_state = 0;
    if (!o->target.db) {
        struct config *cfg = malloc(sizeof *cfg);
        const char *path = o->target.config ? o->target.config : CLI_DEFAULT_CONFIG;
        if (!cfg || cli_load_config(path, cfg) < 0) {
            fprintf(stderr, "rsgw: cannot read %s: fix it or pass --db PATH\n", path);
            free(cfg);
            free(st);
            return -1;
        }
        for (size_t i = 0; i < cfg->n_upstreams; i++) {
            snprintf(v->u[i].name, sizeof v->u[i].name, "%s", cfg->upstreams[i].name);
            snprintf(v->u[i].url, sizeof v->u[i].url, "%s", cfg->upstreams[i].url);
        }
        v->n = cfg->n_upstreams;
        config_sync_state_path(cfg, v->state_path, sizeof v->state_path);
        free(cfg);
    } else {
        char dir[CONFIG_PATH_MAX];
        dir_of(o->target.db, dir, sizeof dir);
        snprintf(v->state_path, sizeof v->state_path, "%s/sync.txt", dir);
    }
    if (sync_state_read(v->state_path, st, CONFIG_UPSTREAMS_MAX, &n_state, &v->daemon_running,
                        &v->state_ms) < 0)
        n_state = 0;
    if (v->daemon_running && wall_ms() - v->state_ms > STATE_FRESH_MS)
        v->daemon_running = false; /* it stopped without saying so (killed) */
    if (o->target.db) {
        for (size_t i = 0; i < n_state; i++) {
            snprintf(v->u[i].name, sizeof v->u[i].name, "%s", st[i].name);
            snprintf(v->u[i].url, sizeof v->u[i].url, "%s", st[i].url);
        }
        v->n = n_state;
    }
    /* What only the daemon knows: last success and error, transfers, rates. */
    for (size_t i = 0; i < v->n; i++) {
        for (size_t k = 0; k < n_state; k++) {
            if (strcmp(st[k].name, v->u[i].name) != 0)
                continue;
            char url[sizeof v->u[i].url];
            memcpy(url, v->u[i].url, sizeof url);
            v->u[i] = st[k];
            memcpy(v->u[i].url, url, sizeof url);
            v->from_daemon[i] = true;
        }
    }
    free(st);
    return 0;
}

/* The store is the truth about delivery: cursor, backlog, rejects. */
static int read_backlog(store *s, struct view *v)
{
    for (size_t i = 0; i < v->n; i++) {
        struct sync_upstream_status *u = &v->u[i];
        struct store_backlog bl;
        if (store_upstream_cursor(s, u->name, &u->delivered_seq) < 0 ||
            store_upstream_backlog(s, u->name, &bl) < 0) {
            fprintf(stderr, "rsgw: %s\n", store_errmsg(s));
            return -1;
        }
        u->backlog = bl.records;
        u->oldest_seq = bl.oldest_seq;
        u->oldest_time_ms = bl.oldest_time_ms;
        u->rejected = bl.rejected;
    }
    return 0;
}

static void format_age(int64_t now, int64_t then, char *buf, size_t len)
{
    if (then <= 0)
        snprintf(buf, len, "never");
    else if (now - then < 120000)
        snprintf(buf, len, "%llds ago", (long long)((now - then) / 1000));
    else if (now - then < 7200000)
        snprintf(buf, len, "%lldmin ago", (long long)((now - then) / 60000));
    else
        snprintf(buf, len, "%lldh ago", (long long)((now - then) / 3600000));
}

static void format_time(int64_t ms, char *buf, size_t len)
{
    if (ms <= 0) {
        snprintf(buf, len, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static void print_text(const struct view *v)
{
    int64_t now = wall_ms();
    if (v->n == 0) {
        printf("no upstream is configured: records are kept here only (and none is pruned)\n");
        return;
    }
    char when[32];
    format_age(now, v->state_ms, when, sizeof when);
    if (!v->daemon_running)
        printf("the gateway is not running%s%s%s\n\n", v->state_ms ? " (its last state: " : "",
               v->state_ms ? when : "", v->state_ms ? ")" : "");
    for (size_t i = 0; i < v->n; i++) {
        const struct sync_upstream_status *u = &v->u[i];
        char ok[32], err_age[32], oldest[32];
        format_age(now, u->last_success_ms, ok, sizeof ok);
        format_age(now, u->last_error_ms, err_age, sizeof err_age);
        format_time(u->oldest_time_ms, oldest, sizeof oldest);
        printf("upstream %s  %s\n", u->name, u->url);
        printf("  delivered      up to record %llu\n", (unsigned long long)u->delivered_seq);
        if (u->backlog)
            printf("  backlog        %llu records, oldest record %llu from %s\n",
                   (unsigned long long)u->backlog, (unsigned long long)u->oldest_seq, oldest);
        else
            printf("  backlog        0 (everything delivered)\n");
        if (v->from_daemon[i]) {
            printf("  last success   %s\n", ok);
            if (u->last_error[0])
                printf("  last error     %s: %s\n", err_age, u->last_error);
            else
                printf("  last error     -\n");
            if (u->in_flight)
                printf("  in flight      %llu records (%llu bytes/s)\n",
                       (unsigned long long)u->in_flight_records,
                       (unsigned long long)u->bytes_per_s);
            if (u->findings_stale)
                printf("  findings       STALE: verdicts may miss findings made elsewhere\n");
        }
        if (u->rejected)
            printf("  rejected       %llu records (rsgw sync rejects %s)\n",
                   (unsigned long long)u->rejected, u->name);
        else
            printf("  rejected       0\n");
    }
}

static void print_json(const struct view *v)
{
    struct json j;
    json_init(&j, stdout, true);
    json_object_begin(&j, NULL);
    json_bool(&j, "daemon_running", v->daemon_running);
    json_int(&j, "state_time_ms", v->state_ms);
    json_array_begin(&j, "upstreams");
    for (size_t i = 0; i < v->n; i++) {
        const struct sync_upstream_status *u = &v->u[i];
        json_object_begin(&j, NULL);
        json_string(&j, "name", u->name);
        json_string(&j, "url", u->url);
        json_uint(&j, "delivered_seq", u->delivered_seq);
        json_uint(&j, "backlog", u->backlog);
        json_uint(&j, "oldest_seq", u->oldest_seq);
        json_int(&j, "oldest_time_ms", u->oldest_time_ms);
        json_uint(&j, "rejected", u->rejected);
        if (v->from_daemon[i]) {
            json_int(&j, "last_success_ms", u->last_success_ms);
            json_string(&j, "last_error", u->last_error[0] ? u->last_error : NULL);
            json_int(&j, "last_error_ms", u->last_error_ms);
            json_bool(&j, "in_flight", u->in_flight);
            json_uint(&j, "bytes_per_s", u->bytes_per_s);
            json_bool(&j, "findings_stale", u->findings_stale);
        }
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_finish(&j);
}

static uint64_t total_backlog(const struct view *v)
{
    uint64_t n = 0;
    for (size_t i = 0; i < v->n; i++)
        n += v->u[i].backlog;
    return n;
}

/* One line per upstream, redrawn in place. */
static void draw_progress(const struct view *v, const uint64_t *start, double elapsed_s,
                          bool redraw)
{
    if (redraw)
        printf("\033[%zuA", v->n);
    for (size_t i = 0; i < v->n; i++) {
        const struct sync_upstream_status *u = &v->u[i];
        uint64_t total = start[i] > u->backlog ? start[i] : u->backlog;
        double frac = total ? (double)(total - u->backlog) / (double)total : 1.0;
        char bar[41];
        size_t fill = (size_t)(frac * 40.0 + 0.5);
        for (size_t k = 0; k < 40; k++)
            bar[k] = k < fill ? '#' : '.';
        bar[40] = '\0';
        /* The average since watching began: steadier than the last half second. */
        double rate = elapsed_s > 0 && start[i] > u->backlog
                          ? (double)(start[i] - u->backlog) / elapsed_s
                          : 0;
        char eta[32] = "";
        if (u->backlog && rate > 0)
            snprintf(eta, sizeof eta, ", ~%.0f s left", (double)u->backlog / rate);
        printf("\r\033[K%-12s [%s] %3.0f%%  %llu left, %.0f records/s%s%s\n", u->name, bar,
               frac * 100, (unsigned long long)u->backlog, rate, eta,
               u->last_error[0] && u->backlog ? "  (last error: see rsgw sync status)" : "");
    }
    fflush(stdout);
}

static int watch(store *s, const struct sync_opts *o, struct view *v)
{
    int sfd = cli_signal_fd(); /* Ctrl-C ends the watch, not the process */
    uint64_t start[CONFIG_UPSTREAMS_MAX];
    for (size_t i = 0; i < v->n; i++)
        start[i] = v->u[i].backlog;
    printf("draining the backlog (Ctrl-C stops watching; delivery goes on)\n");
    draw_progress(v, start, 0, false);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = 0;
    while (total_backlog(v) > 0) {
        struct pollfd p = {.fd = sfd, .events = POLLIN};
        if (poll(&p, sfd >= 0 ? 1 : 0, WATCH_INTERVAL_MS) > 0) {
            struct signalfd_siginfo si;
            ssize_t r = read(sfd, &si, sizeof si);
            (void)r;
            printf("\n");
            break;
        }
        if (find_upstreams(o, v) < 0 || read_backlog(s, v) < 0) {
            rc = -1;
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        draw_progress(v, start,
                      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
                      true);
    }
    if (sfd >= 0)
        close(sfd);
    return rc;
}

static int sync_status_cmd(const struct sync_opts *o)
{
    struct view *v = malloc(sizeof *v);
    if (!v || find_upstreams(o, v) < 0) {
        free(v);
        return 1;
    }
    store *s;
    if (cli_open_store(&o->target, STORE_READ, &s) < 0) {
        free(v);
        return 1;
    }
    int rc = read_backlog(s, v) < 0 ? 1 : 0;
    if (rc == 0) {
        bool tty = isatty(STDOUT_FILENO);
        bool do_watch =
            !o->json &&
            (o->watch == 1 || (o->watch == -1 && tty && v->daemon_running && total_backlog(v) > 0));
        if (o->json)
            print_json(v);
        else
            print_text(v);
        if (do_watch && v->n > 0 && total_backlog(v) > 0) {
            printf("\n");
            if (watch(s, o, v) < 0)
                rc = 1;
        }
    }
    store_close(s);
    free(v);
    return rc;
}

struct rejects_out {
    struct json *j;
    size_t n;
};

static int on_reject(void *ud, uint64_t seq, int64_t time_ms, const char *reason)
{
    struct rejects_out *r = ud;
    r->n++;
    if (r->j) {
        json_object_begin(r->j, NULL);
        json_uint(r->j, "seq", seq);
        json_int(r->j, "time_ms", time_ms);
        json_string(r->j, "reason", reason);
        json_object_end(r->j);
    } else {
        char when[32];
        format_time(time_ms, when, sizeof when);
        printf("%-8llu %-19s  %s\n", (unsigned long long)seq, when, reason);
    }
    return 0;
}

static int sync_rejects_cmd(const struct sync_opts *o, const char *upstream)
{
    store *s;
    if (cli_open_store(&o->target, STORE_READ, &s) < 0)
        return 1;
    struct json j;
    struct rejects_out r = {.j = o->json ? &j : NULL};
    if (o->json) {
        json_init(&j, stdout, true);
        json_object_begin(&j, NULL);
        json_string(&j, "upstream", upstream);
        json_array_begin(&j, "rejects");
    } else {
        printf("%-8s %-19s  %s\n", "RECORD", "TIME", "REASON");
    }
    int rc = store_upstream_rejects(s, upstream, on_reject, &r);
    if (o->json) {
        json_array_end(&j);
        json_object_end(&j);
        json_finish(&j);
    } else if (rc == 0 && r.n == 0) {
        printf("(upstream %s rejected no record)\n", upstream);
    }
    if (rc < 0)
        fprintf(stderr, "rsgw: %s\n", store_errmsg(s));
    store_close(s);
    return rc < 0 ? 1 : 0;
}

int cmd_sync(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"db", required_argument, NULL, 'd'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"watch", no_argument, NULL, 'w'},
                                         {"no-watch", no_argument, NULL, 'W'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct sync_opts o = {.watch = -1};
    int c;
    while ((c = getopt_long(argc, argv, "c:d:jwh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o.target.config = optarg;
            break;
        case 'd':
            o.target.db = optarg;
            break;
        case 'j':
            o.json = true;
            break;
        case 'w':
            o.watch = 1;
            break;
        case 'W':
            o.watch = 0;
            break;
        case 'h':
            printf("%s", usage_text);
            return 0;
        default:
            fprintf(stderr, "%s", usage_text);
            return 2;
        }
    }
    const char *sub = optind < argc ? argv[optind] : NULL;
    if (sub && strcmp(sub, "status") == 0 && optind + 1 == argc)
        return sync_status_cmd(&o);
    if (sub && strcmp(sub, "rejects") == 0 && optind + 2 == argc)
        return sync_rejects_cmd(&o, argv[optind + 1]);
    fprintf(stderr, "%s", usage_text);
    return 2;
}
