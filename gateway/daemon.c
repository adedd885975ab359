/* SPDX-License-Identifier: MIT */
#include "daemon.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "lanes.h"
#include "pipeline.h"
#include "status.h"
#include "store.h"
#include "sync.h"

#ifndef RSGW_VERSION
#define RSGW_VERSION "dev"
#endif

struct daemon {
    const struct daemon_opts *opts;
    const struct log *lg;
    struct config *cfg;
    bool cfg_owned;
    store *st;
    lanes *ln;
    sync_engine *sy; /* NULL when platform sync could not start */
    struct pipeline pl;
    int64_t next_status_ms;
    int64_t next_alert_ms;
    bool store_failing;
    struct store_stats stats;   /* counted at start, then kept up to date here */
    struct pipeline_out *batch; /* one per lane */
    struct pipeline_out event_out;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void emit(struct daemon *d, const struct pipeline_out *o)
{
    d->stats.records++;
    d->stats.last_seq = o->seq;
    if (d->opts->hooks.on_record)
        d->opts->hooks.on_record(d->opts->hooks.ud, o->seq, o->record, o->len);
}

/* Append an event on its own (its own durable transaction). */
static void record_event(struct daemon *d, const char *kind, const char *detail)
{
    int rc = pipeline_event(&d->pl, kind, detail, now_ms(), &d->event_out);
    if (rc < 0) {
        log_msg(d->lg, LOG_ERR, "cannot record %s event: %s", kind, store_errmsg(d->st));
        return;
    }
    emit(d, &d->event_out);
}

static void store_trouble(struct daemon *d, int rc)
{
    if (rc == STORE_EFULL)
        log_msg(d->lg, LOG_CRIT,
                "DISK FULL: cannot store passes (%s). Stored records are intact; new passes stay "
                "on the devices unacknowledged until space is freed.",
                store_errmsg(d->st));
    else
        log_msg(d->lg, LOG_ERR,
                "cannot store passes: %s. They stay on the devices and will be read again.",
                store_errmsg(d->st));
    d->store_failing = true;
}

static void log_pass(struct daemon *d, const struct config_lane *lane,
                     const struct rsu_measurement *m, const struct pipeline_out *o)
{
    char actions[64];
    policy_actions_format(o->verdict_actions, actions, sizeof actions);
    log_msg(d->lg, LOG_INFO, "lane %s pass %u: %s %s%s -> %s, action %s, finding #%u (record %llu)",
            lane->name, m->seq, m->plate[0] ? m->plate : "(no plate)",
            o->verdict_local ? "local" : "out-of-area", m->n_issues ? " [register issues]" : "",
            policy_result_name(o->verdict_result), actions, o->verdict_finding,
            (unsigned long long)o->seq);
}

static void process_ready(struct daemon *d)
{
    size_t idx[CONFIG_LANES_MAX];
    size_t n = lanes_ready(d->ln, idx, CONFIG_LANES_MAX);
    if (n == 0)
        return;
    int64_t t = now_ms();
    int rc = store_begin(d->st);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct config_lane *lane = &d->cfg->lanes[idx[i]];
        rc = pipeline_pass(&d->pl, lane, lanes_pass(d->ln, idx[i]), t, &d->batch[i]);
    }
    if (rc == 0)
        rc = store_commit(d->st);
    if (rc != 0) {
        store_rollback(d->st);
        store_trouble(d, rc);
        for (size_t i = 0; i < n; i++)
            lanes_done(d->ln, idx[i], false);
        return;
    }
    if (d->store_failing) {
        log_msg(d->lg, LOG_NOTICE, "storing passes again");
        d->store_failing = false;
    }
    /* Durable now: acknowledge to the devices, then show. */
    for (size_t i = 0; i < n; i++) {
        d->stats.passes++;
        d->stats.findings += d->batch[i].verdict_result == RESULT_OVER_STANDARD;
        lanes_done(d->ln, idx[i], true);
        log_pass(d, &d->cfg->lanes[idx[i]], lanes_pass(d->ln, idx[i]), &d->batch[i]);
    }
    for (size_t i = 0; i < n; i++)
        emit(d, &d->batch[i]);
}

static int start_lanes(struct daemon *d, char *err, size_t errlen)
{
    struct rsu_cursor cursors[CONFIG_LANES_MAX];
    memset(cursors, 0, sizeof cursors);
    for (size_t i = 0; i < d->cfg->n_lanes; i++) {
        bool found = false;
        uint32_t seq = 0;
        if (store_device_cursor(d->st, d->cfg->lanes[i].device_id, &found, &seq,
                                cursors[i].fingerprint) < 0) {
            snprintf(err, errlen, "store: %s", store_errmsg(d->st));
            return -1;
        }
        cursors[i].valid = found;
        cursors[i].seq = seq;
    }
    d->ln = lanes_start(d->cfg, cursors, d->lg, err, errlen);
    return d->ln ? 0 : -1;
}

static bool history_stale(void *ud)
{
    struct daemon *d = ud;
    if (d->sy)
        return sync_history_stale(d->sy);
    for (size_t i = 0; i < d->cfg->n_upstreams; i++)
        if (d->cfg->upstreams[i].pull_findings)
            return true; /* sync is down: findings from elsewhere are unknown */
    return false;
}

static void start_pipeline(struct daemon *d)
{
    pipeline_init(&d->pl, d->cfg, d->st);
    d->pl.history_stale = history_stale;
    d->pl.history_stale_ud = d;
}

static void start_sync(struct daemon *d)
{
    char err[256];
    d->sy = sync_new(d->cfg, d->st, d->lg, err, sizeof err);
    if (!d->sy)
        log_msg(d->lg, LOG_ERR, "platform sync cannot start: %s; records are kept until it can",
                err);
    else if (d->cfg->n_upstreams)
        log_msg(d->lg, LOG_INFO, "platform sync: %zu upstream(s)", d->cfg->n_upstreams);
}

static void describe_start(const struct daemon *d, const char *what, char *buf, size_t len)
{
    snprintf(buf, len, "%s: %zu lane(s), limit set %s, policy %s", what, d->cfg->n_lanes,
             d->pl.policy.limit_set == 1 ? "b" : "a", d->pl.policy_digest);
}

static void reload(struct daemon *d)
{
    const char *path = d->opts->config_path;
    if (!path) {
        log_msg(d->lg, LOG_NOTICE, "SIGHUP: no configuration file to reload");
        return;
    }
    struct config *next = malloc(sizeof *next);
    struct config_diag *diag = malloc(sizeof *diag);
    if (!next || !diag) {
        log_msg(d->lg, LOG_ERR, "reload: out of memory; keeping the running configuration");
        free(next);
        free(diag);
        return;
    }
    if (config_load(path, next, diag) < 0) {
        for (size_t i = 0; i < diag->n; i++)
            log_msg(d->lg, LOG_ERR, "reload: %s", diag->msg[i]);
        log_msg(d->lg, LOG_ERR, "reload rejected: keeping the running configuration");
        free(next);
        free(diag);
        return;
    }
    free(diag);
    if (strcmp(next->state_dir, d->cfg->state_dir) != 0) {
        log_msg(d->lg, LOG_WARNING, "reload: state_dir changes need a restart; keeping %s",
                d->cfg->state_dir);
        snprintf(next->state_dir, sizeof next->state_dir, "%s", d->cfg->state_dir);
    }
    /* Passes waiting in lane threads are not acknowledged: devices present them again.
     * Uploads in flight are abandoned: their records are sent again (the platform
     * answers DUPLICATE for any it stored). */
    lanes_stop(d->ln);
    d->ln = NULL;
    sync_free(d->sy);
    d->sy = NULL;
    if (d->cfg_owned)
        free(d->cfg);
    d->cfg = next;
    d->cfg_owned = true;
    enum alert_level alert = d->pl.alert;
    int64_t until = d->pl.alert_until_ms;
    start_pipeline(d);
    d->pl.alert = alert;
    d->pl.alert_until_ms = until;
    start_sync(d);

    char err[256], detail[256];
    if (start_lanes(d, err, sizeof err) < 0)
        log_msg(d->lg, LOG_ERR, "reload: lanes: %s", err);
    describe_start(d, "configuration reloaded", detail, sizeof detail);
    record_event(d, "config_reload", detail);
    log_msg(d->lg, LOG_NOTICE, "%s", detail);
}

static bool handle_signals(struct daemon *d, int fd)
{
    struct signalfd_siginfo si;
    bool stop = false;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            log_msg(d->lg, LOG_NOTICE, "SIGHUP: reloading %s", d->opts->config_path);
            reload(d);
        } else {
            log_msg(d->lg, LOG_NOTICE, "signal %u: stopping", si.ssi_signo);
            stop = true;
        }
    }
    return stop;
}

static void refresh_policy(struct daemon *d, int64_t t)
{
    int rc = pipeline_refresh_policy(&d->pl, t, &d->event_out);
    if (rc == 1) {
        log_msg(d->lg, LOG_NOTICE, "limit set now %s (policy %s)",
                d->pl.policy.limit_set == 1 ? "b" : "a", d->pl.policy_digest);
        emit(d, &d->event_out);
    } else if (rc < 0) {
        log_msg(d->lg, LOG_ERR, "policy settings: %s", store_errmsg(d->st));
    }
}

static void write_status(struct daemon *d, bool running)
{
    struct sync_upstream_status *ups = NULL;
    size_t n_ups = 0;
    if (d->cfg->n_upstreams) {
        ups = calloc(d->cfg->n_upstreams, sizeof *ups);
        if (ups)
            n_ups = sync_status(d->sy, ups, d->cfg->n_upstreams);
    }
    char err[256];
    if (status_write(d->cfg, &d->stats, running ? d->ln : NULL, d->pl.alert, d->store_failing,
                     running, ups, n_ups, err, sizeof err) < 0)
        log_msg(d->lg, LOG_WARNING, "status file: %s", err);
    free(ups);
}

static void periodic(struct daemon *d, int64_t t)
{
    if (t >= d->next_alert_ms) {
        d->next_alert_ms = t + 1000;
        refresh_policy(d, t);
        int rc = pipeline_refresh_alert(&d->pl, t, &d->event_out);
        if (rc == 1) {
            log_msg(d->lg, LOG_NOTICE, "heavy-pollution alert level now %s",
                    alert_level_name(d->pl.alert));
            emit(d, &d->event_out);
        } else if (rc < 0) {
            log_msg(d->lg, LOG_ERR, "alert level: %s", store_errmsg(d->st));
        }
    }
    if (t >= d->next_status_ms) {
        d->next_status_ms = t + d->cfg->status_interval_ms;
        write_status(d, true);
    }
}

/* poll() waits on the lanes' eventfd, the signalfd and platform sync's sockets
 * (after them, from SYNC_FD_BASE on); sync's timers shorten the wait. */
#define SYNC_FD_BASE 2

static int run_loop(struct daemon *d)
{
    int sfd = d->opts->signal_fd;
    struct pollfd pfd[SYNC_FD_BASE + SYNC_POLLFDS_MAX];
    for (;;) {
        pfd[0] = (struct pollfd){.fd = lanes_event_fd(d->ln), .events = POLLIN};
        /* A negative fd is ignored by poll(): no signalfd, no entry. */
        pfd[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
        size_t n_sync = sync_pollfds(d->sy, pfd + SYNC_FD_BASE, SYNC_POLLFDS_MAX);
        int timeout = 100;
        int sync_timeout = sync_timeout_ms(d->sy);
        if (sync_timeout >= 0 && sync_timeout < timeout)
            timeout = sync_timeout;
        int rc = poll(pfd, SYNC_FD_BASE + n_sync, timeout);
        if (rc < 0 && errno != EINTR) {
            log_msg(d->lg, LOG_ERR, "poll: %s", strerror(errno));
            return 1;
        }
        if (rc < 0)
            for (size_t i = 0; i < SYNC_FD_BASE + n_sync; i++)
                pfd[i].revents = 0;
        if (rc > 0 && (pfd[0].revents & POLLIN)) {
            uint64_t count;
            ssize_t r = read(pfd[0].fd, &count, sizeof count);
            (void)r; /* EAGAIN only: the counter is drained either way */
            process_ready(d);
        }
        if (rc > 0 && sfd >= 0 && (pfd[1].revents & POLLIN) && handle_signals(d, sfd))
            return 0;
        if (d->opts->hooks.should_stop && d->opts->hooks.should_stop(d->opts->hooks.ud))
            return 0;
        int64_t t = now_ms();
        sync_handle(d->sy, pfd + SYNC_FD_BASE, n_sync, t);
        if (sync_take_settings_changed(d->sy))
            d->next_alert_ms = 0; /* the platform changed the alert level or limit set */
        periodic(d, t);
    }
}

int daemon_run(const struct daemon_opts *opts, const struct log *lg)
{
    struct daemon d = {.opts = opts, .lg = lg, .cfg = opts->config};
    char err[512], db_path[CONFIG_PATH_MAX + 16];

    if (config_make_state_dir(d.cfg, err, sizeof err) < 0) {
        log_msg(lg, LOG_ERR, "%s", err);
        return 1;
    }
    config_db_path(d.cfg, db_path, sizeof db_path);
    if (store_open(db_path, STORE_WRITER, &d.st, err, sizeof err) < 0) {
        log_msg(lg, LOG_ERR, "%s", err);
        return 1;
    }
    d.batch = calloc(CONFIG_LANES_MAX, sizeof *d.batch);
    if (!d.batch) {
        log_msg(lg, LOG_ERR, "out of memory");
        store_close(d.st);
        return 1;
    }
    if (store_get_stats(d.st, &d.stats) < 0)
        log_msg(lg, LOG_WARNING, "store statistics: %s", store_errmsg(d.st));
    start_pipeline(&d);
    /* Pick up the alert level quietly: the start event records it. */
    pipeline_refresh_alert(&d.pl, now_ms(), &d.event_out);

    char detail[256];
    describe_start(&d, "rsgw " RSGW_VERSION " started", detail, sizeof detail);
    record_event(&d, "start", detail);
    log_msg(lg, LOG_NOTICE, "%s; store %s (next record %llu), alert %s", detail, db_path,
            (unsigned long long)store_next_seq(d.st), alert_level_name(d.pl.alert));

    int rc = 1;
    start_sync(&d);
    if (start_lanes(&d, err, sizeof err) < 0) {
        log_msg(lg, LOG_ERR, "lanes: %s", err);
    } else {
        rc = run_loop(&d);
        lanes_stop(d.ln);
        d.ln = NULL;
        /* Passes handed over during the stop were not acknowledged; the devices keep them. */
        record_event(&d, "stop", "stopped cleanly");
        write_status(&d, false);
        log_msg(lg, LOG_NOTICE, "stopped; last record %llu",
                (unsigned long long)(store_next_seq(d.st) - 1));
    }
    /* Transfers in flight are abandoned; cursors moved only on acknowledgements. */
    sync_free(d.sy);
    if (d.cfg_owned)
        free(d.cfg);
    free(d.batch);
    store_close(d.st);
    return rc;
}
