/* SPDX-License-Identifier: MIT */
/* The sync engine: lifecycle, the libcurl multi handle in the daemon's poll
 * loop, scheduling, retention, status. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"
#include "store_sync.h"
#include "sync_internal.h"

int64_t sync_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sync_backoff_ms(struct sync_upstream *u, int failures)
{
    int64_t lo = u->cfg.backoff_min_ms, hi = u->cfg.backoff_max_ms;
    int64_t d = lo;
    for (int i = 1; i < failures && d < hi; i++)
        d *= 2;
    if (d > hi)
        d = hi;
    /* ±25 % so that gateways cut off together do not come back in step. */
    int64_t span = d / 2;
    if (span > 0)
        d += (int64_t)(rand_r(&u->e->rng) % (unsigned)(span + 1)) - span / 2;
    if (d < lo)
        d = lo;
    if (d > hi)
        d = hi;
    return d;
}

void sync_store_failed(sync_engine *e, int rc, const char *what)
{
    if (rc == STORE_EFULL) {
        if (!e->disk_full)
            log_msg(e->lg, LOG_CRIT,
                    "DISK FULL: sync cannot %s (%s). Stored records are intact; delivery "
                    "state is kept as it was and retried until space is freed.",
                    what, store_errmsg(e->st));
        e->disk_full = true;
        return;
    }
    log_msg(e->lg, LOG_ERR, "sync: cannot %s: %s", what, store_errmsg(e->st));
}

void sync_store_ok(sync_engine *e)
{
    if (e->disk_full) {
        log_msg(e->lg, LOG_NOTICE, "sync: storing delivery state again (disk space is back)");
        e->disk_full = false;
    }
}

static const char *const slot_names[] = {"upload", "pull"};

/* What makes two errors the same episode: the message up to the cause's detail
 * (libcurl's text, the platform's message) or the schedule, so "HTTP 503" or
 * "TLS" is logged once however its details and the next attempt vary. */
static void episode_key(const char *msg, char *key, size_t len)
{
    size_t n = strlen(msg);
    const char *semi = strstr(msg, "; ");
    if (semi)
        n = (size_t)(semi - msg);
    const char *colon = strstr(msg, ": ");
    colon = colon ? strstr(colon + 2, ": ") : NULL;
    if (colon && (size_t)(colon - msg) < n)
        n = (size_t)(colon - msg);
    snprintf(key, len, "%.*s", (int)n, msg);
}

void sync_note_error(struct sync_upstream *u, enum sync_slot slot, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->last_error, sizeof u->last_error, fmt, ap);
    va_end(ap);
    u->last_error_ms = u->e->now_ms ? u->e->now_ms : wall_ms();
    int64_t mono = sync_mono_ms();
    char key[sizeof u->logged[0]];
    episode_key(u->last_error, key, sizeof key);
    /* Once per episode, and again every 10 minutes while it lasts, so a long
     * outage stays visible without flooding the journal. */
    bool again = strcmp(u->logged[slot], key) != 0 || mono - u->logged_mono[slot] >= 600000;
    if (again) {
        log_msg(u->e->lg, LOG_WARNING, "upstream %s: %s", u->cfg.name, u->last_error);
        snprintf(u->logged[slot], sizeof u->logged[slot], "%s", key);
        u->logged_mono[slot] = mono;
    } else {
        log_msg(u->e->lg, LOG_DEBUG, "upstream %s: %s", u->cfg.name, u->last_error);
    }
    u->failing[slot] = true;
}

void sync_note_ok(struct sync_upstream *u, enum sync_slot slot)
{
    if (u->failing[slot])
        log_msg(u->e->lg, LOG_NOTICE, "upstream %s: %s works again", u->cfg.name, slot_names[slot]);
    u->failing[slot] = false;
    u->logged[slot][0] = '\0';
    if (!u->failing[SLOT_UPLOAD] && !u->failing[SLOT_PULL]) {
        u->last_error[0] = '\0';
        u->last_error_ms = 0;
    }
}

/* ---- libcurl multi glue ---- */

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    (void)socketp;
    sync_engine *e = userp;
    size_t i = 0;
    while (i < e->n_socks && e->socks[i].fd != fd)
        i++;
    if (what == CURL_POLL_REMOVE) {
        if (i < e->n_socks)
            e->socks[i] = e->socks[--e->n_socks];
        return 0;
    }
    short ev = (short)((what & CURL_POLL_IN ? POLLIN : 0) | (what & CURL_POLL_OUT ? POLLOUT : 0));
    if (i == e->n_socks) {
        if (e->n_socks == SYNC_POLLFDS_MAX) {
            if (!e->socks_overflow_logged)
                log_msg(e->lg, LOG_ERR,
                        "sync: more than %d sockets at once; some transfers will only "
                        "progress on timeouts",
                        SYNC_POLLFDS_MAX);
            e->socks_overflow_logged = true;
            return 0;
        }
        e->n_socks++;
    }
    e->socks[i].fd = fd;
    e->socks[i].events = ev;
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    sync_engine *e = userp;
    e->curl_deadline_mono = timeout_ms < 0 ? -1 : sync_mono_ms() + timeout_ms;
    return 0;
}

size_t sync_pollfds(sync_engine *e, struct pollfd *out, size_t max)
{
    if (!e)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < e->n_socks && n < max; i++, n++) {
        out[n].fd = e->socks[i].fd;
        out[n].events = e->socks[i].events;
        out[n].revents = 0;
    }
    return n;
}

static int64_t min_deadline(int64_t a, int64_t b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

/* The next moment something is due, on the monotonic clock; -1 = nothing. */
static int64_t next_due(const sync_engine *e)
{
    int64_t due = e->curl_deadline_mono;
    for (size_t i = 0; i < e->n_up; i++) {
        const struct sync_upstream *u = &e->up[i];
        if (!u->upload.busy && u->cursor + 1 < store_next_seq(e->st))
            due = min_deadline(due, u->next_upload_mono);
        if (!u->pull.busy && u->step != PULL_IDLE)
            due = min_deadline(due, 0); /* the next page of a pull */
        else if (!u->pull.busy && u->next_pull_mono != INT64_MAX)
            due = min_deadline(due, u->next_pull_mono);
        if (u->alert_pending)
            due = min_deadline(due, sync_mono_ms() + 1000);
    }
    if (e->n_up > 0 && e->cfg->retention_days > 0)
        due = min_deadline(due, e->next_prune_mono);
    return due;
}

int sync_timeout_ms(sync_engine *e)
{
    if (!e)
        return -1;
    int64_t due = next_due(e);
    if (due < 0)
        return -1;
    int64_t left = due - sync_mono_ms();
    if (left < 0)
        return 0;
    return left > 60000 ? 60000 : (int)left;
}

static void finish_transfers(sync_engine *e)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(e->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct sync_xfer *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (!x)
            continue;
        CURLcode cc = msg->data.result;
        long opened = 0;
        if (curl_easy_getinfo(msg->easy_handle, CURLINFO_NUM_CONNECTS, &opened) == CURLE_OK &&
            opened > 0)
            x->up->connections += (uint64_t)opened;
        struct sync_result r;
        sync_xfer_result(x, cc, &r);
        int64_t mono = sync_mono_ms();
        curl_multi_remove_handle(e->multi, x->easy);
        if (x->kind == SYNC_UPLOAD)
            sync_upload_done(x->up, &r, mono);
        else
            sync_pull_done(x->up, &r, mono);
    }
}

static uint64_t min_cursor(const sync_engine *e)
{
    uint64_t m = UINT64_MAX;
    for (size_t i = 0; i < e->n_up; i++)
        if (e->up[i].cursor < m)
            m = e->up[i].cursor;
    return e->n_up ? m : 0;
}

static void prune(sync_engine *e, int64_t mono)
{
    e->next_prune_mono = mono + e->cfg->prune_interval_ms;
    uint64_t everywhere = min_cursor(e);
    if (everywhere == 0)
        return;
    int64_t older_than = e->now_ms - (int64_t)e->cfg->retention_days * 86400000;
    uint64_t pruned = 0;
    int64_t t0 = sync_mono_ms();
    int rc = store_prune(e->st, older_than, everywhere, &pruned);
    if (rc < 0) {
        sync_store_failed(e, rc, "prune old records");
        return;
    }
    sync_store_ok(e);
    if (pruned > 0)
        log_msg(e->lg, LOG_NOTICE,
                "retention: removed %llu records older than %d days and delivered to every "
                "upstream (%lld ms); the chain now starts at record %llu",
                (unsigned long long)pruned, e->cfg->retention_days,
                (long long)(sync_mono_ms() - t0), (unsigned long long)store_base_seq(e->st));
}

void sync_handle(sync_engine *e, const struct pollfd *fds, size_t n, int64_t now_ms)
{
    if (!e)
        return;
    e->now_ms = now_ms;
    int running = 0;
    for (size_t i = 0; i < n; i++) {
        if (!fds[i].revents)
            continue;
        bool ours = false;
        for (size_t k = 0; k < e->n_socks && !ours; k++)
            ours = e->socks[k].fd == fds[i].fd;
        if (!ours)
            continue;
        int ev = 0;
        if (fds[i].revents & (POLLIN | POLLHUP))
            ev |= CURL_CSELECT_IN;
        if (fds[i].revents & POLLOUT)
            ev |= CURL_CSELECT_OUT;
        if (fds[i].revents & (POLLERR | POLLNVAL))
            ev |= CURL_CSELECT_ERR;
        curl_multi_socket_action(e->multi, fds[i].fd, ev, &running);
    }
    if (e->curl_deadline_mono >= 0 && sync_mono_ms() >= e->curl_deadline_mono) {
        e->curl_deadline_mono = -1;
        curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    finish_transfers(e);

    int64_t mono = sync_mono_ms();
    for (size_t i = 0; i < e->n_up; i++) {
        sync_pull_poll(&e->up[i], mono);
        sync_upload_poll(&e->up[i], mono);
    }
    if (e->n_up > 0 && e->cfg->retention_days > 0 && mono >= e->next_prune_mono)
        prune(e, mono);
    /* Starting transfers may have set a curl timer of 0: let it run now. */
    if (e->curl_deadline_mono >= 0 && sync_mono_ms() >= e->curl_deadline_mono) {
        e->curl_deadline_mono = -1;
        curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        finish_transfers(e);
    }
}

bool sync_history_stale(sync_engine *e)
{
    if (!e)
        return false;
    int64_t mono = sync_mono_ms();
    for (size_t i = 0; i < e->n_up; i++) {
        const struct sync_upstream *u = &e->up[i];
        if (!u->cfg.pull_findings)
            continue;
        if (u->last_findings_mono == 0 ||
            mono - u->last_findings_mono > u->cfg.findings_stale_after_ms)
            return true;
    }
    return false;
}

bool sync_take_settings_changed(sync_engine *e)
{
    if (!e || !e->settings_changed)
        return false;
    e->settings_changed = false;
    return true;
}

size_t sync_status(sync_engine *e, struct sync_upstream_status *out, size_t max)
{
    if (!e)
        return 0;
    int64_t mono = sync_mono_ms();
    int64_t sec = mono / 1000;
    uint64_t head = store_next_seq(e->st) - 1;
    size_t n = 0;
    for (size_t i = 0; i < e->n_up && n < max; i++, n++) {
        struct sync_upstream *u = &e->up[i];
        struct sync_upstream_status *s = &out[n];
        memset(s, 0, sizeof *s);
        snprintf(s->name, sizeof s->name, "%s", u->cfg.name);
        snprintf(s->url, sizeof s->url, "%s", u->cfg.url);
        s->last_success_ms = u->last_success_ms;
        s->last_error_ms = u->last_error_ms;
        snprintf(s->last_error, sizeof s->last_error, "%s", u->last_error);
        s->delivered_seq = u->cursor;
        s->backlog = head > u->cursor ? head - u->cursor : 0;
        if (s->backlog) {
            sync_upload_refresh_oldest(u);
            s->oldest_seq = u->cursor + 1;
            s->oldest_time_ms = u->oldest_time_ms;
        }
        s->rejected = u->rejected;
        s->in_flight = u->upload.busy;
        s->in_flight_records = u->upload.busy ? u->upload.n_records : 0;
        uint64_t bytes = 0;
        for (size_t b = 0; b < SYNC_RATE_BUCKETS; b++)
            if (sec - u->rate_sec[b] < SYNC_RATE_BUCKETS)
                bytes += u->rate_bytes[b];
        s->bytes_per_s = bytes / SYNC_RATE_BUCKETS;
        s->connections = u->connections;
        s->last_findings_ms = u->last_findings_ms;
        s->last_policy_ms = u->last_policy_ms;
        s->last_registry_ms = u->last_registry_ms;
        s->findings_stale =
            u->cfg.pull_findings && (u->last_findings_mono == 0 ||
                                     mono - u->last_findings_mono > u->cfg.findings_stale_after_ms);
    }
    return n;
}

/* ---- lifecycle ---- */

static int upstream_init(sync_engine *e, struct sync_upstream *u, const struct config_upstream *c,
                         char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    u->e = e;
    u->cfg = *c;
    u->eff_records = (size_t)c->batch_max_records;
    u->eff_bytes = (size_t)c->batch_max_bytes;
    if (sync_xfer_init(&u->upload, u, SYNC_UPLOAD) < 0 ||
        sync_xfer_init(&u->pull, u, SYNC_FINDINGS) < 0) {
        snprintf(err, errlen, "upstream %s: cannot create a libcurl handle", c->name);
        return -1;
    }
    int rc = store_upstream_cursor(e->st, c->name, &u->cursor);
    if (rc < 0) {
        snprintf(err, errlen, "upstream %s: delivery cursor: %s", c->name, store_errmsg(e->st));
        return -1;
    }
    uint64_t base = store_base_seq(e->st);
    if (u->cursor + 1 < base) {
        /* Pruned before this upstream was configured: those records cannot reach it. */
        log_msg(e->lg, LOG_WARNING,
                "upstream %s: records %llu-%llu were pruned before this upstream was "
                "configured; delivery starts at record %llu",
                c->name, (unsigned long long)(u->cursor + 1), (unsigned long long)(base - 1),
                (unsigned long long)base);
        rc = store_upstream_advance(e->st, c->name, base - 1, NULL, 0);
        if (rc < 0) {
            snprintf(err, errlen, "upstream %s: delivery cursor: %s", c->name, store_errmsg(e->st));
            return -1;
        }
        u->cursor = base - 1;
    }
    struct store_backlog bl;
    if (store_upstream_backlog(e->st, c->name, &bl) == 0) {
        u->rejected = bl.rejected;
        u->oldest_time_ms = bl.oldest_time_ms;
        u->oldest_for_cursor = u->cursor + 1;
    }
    int64_t mono = sync_mono_ms();
    u->next_upload_mono = mono;
    u->next_pull_mono = mono;
    u->step = PULL_IDLE;
    return 0;
}

sync_engine *sync_new(const struct config *cfg, store *st, const struct log *lg, char *err,
                      size_t errlen)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl failed to initialise");
        return NULL;
    }
    sync_engine *e = calloc(1, sizeof *e);
    if (!e) {
        curl_global_cleanup();
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->cfg = cfg;
    e->st = st;
    e->lg = lg;
    e->curl_deadline_mono = -1;
    e->rng = (unsigned)sync_mono_ms() ^ (unsigned)getpid() * 2654435761u;
    e->multi = curl_multi_init();
    if (!e->multi) {
        snprintf(err, errlen, "libcurl: cannot create a multi handle");
        sync_free(e);
        return NULL;
    }
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
    curl_multi_setopt(e->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    /* Idle connections kept for reuse: one per transfer slot is plenty. */
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)(2 * CONFIG_UPSTREAMS_MAX));
    for (size_t i = 0; i < cfg->n_upstreams; i++) {
        e->n_up = i + 1;
        if (upstream_init(e, &e->up[i], &cfg->upstreams[i], err, errlen) < 0) {
            sync_free(e);
            return NULL;
        }
    }
    /* The first retention run comes a minute after the start, not in it. */
    e->next_prune_mono =
        sync_mono_ms() + (cfg->prune_interval_ms < 60000 ? cfg->prune_interval_ms : 60000);
    if (cfg->n_upstreams == 0 && cfg->retention_days > 0)
        log_msg(lg, LOG_INFO,
                "retention: no upstream is configured, so no record is delivered and none is "
                "pruned");
    return e;
}

void sync_free(sync_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_up; i++) {
        struct sync_upstream *u = &e->up[i];
        if (u->upload.busy && u->upload.n_records)
            log_msg(e->lg, LOG_INFO,
                    "upstream %s: abandoning the upload of records %llu-%llu (sent again later)",
                    u->cfg.name, (unsigned long long)u->upload.first_seq,
                    (unsigned long long)u->upload.last_seq);
        sync_xfer_cleanup(e, &u->upload);
        sync_xfer_cleanup(e, &u->pull);
    }
    if (e->multi)
        curl_multi_cleanup(e->multi);
    free(e);
    curl_global_cleanup();
}
