/* SPDX-License-Identifier: MIT */
#include "lanes.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

enum slot_state { SLOT_EMPTY, SLOT_READY, SLOT_STORED, SLOT_FAILED };

struct lane {
    const struct config_lane *cfg;
    struct rsu_device dev;
    int consecutive_failures;
    /* Guarded by lanes.mu: */
    enum slot_state slot;
    struct rsu_measurement pass;
    struct lane_health health;
};

struct port {
    struct lanes *owner;
    rsu_link *link;
    struct rsu_link_config link_cfg;
    size_t n_lanes;
    size_t lane_idx[CONFIG_LANES_MAX];
    int poll_interval_ms;
    int reconnect_min_ms, reconnect_max_ms;
    pthread_t thread;
    bool started;
    unsigned seed;
};

struct lanes {
    const struct log *lg;
    int event_fd;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;
    size_t n_lanes;
    struct lane lane[CONFIG_LANES_MAX];
    size_t n_ports;
    struct port port[CONFIG_LANES_MAX];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_error(struct lanes *ln, struct lane *l, const char *msg)
{
    pthread_mutex_lock(&ln->mu);
    snprintf(l->health.last_error, sizeof l->health.last_error, "%s", msg);
    l->health.last_error_ms = now_ms();
    pthread_mutex_unlock(&ln->mu);
}

/* Sleep up to ms, waking early on stop. Returns true when stopping. */
static bool wait_or_stop(struct lanes *ln, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&ln->mu);
    while (!ln->stop) {
        if (pthread_cond_timedwait(&ln->cond, &ln->mu, &until) == ETIMEDOUT)
            break;
    }
    bool stop = ln->stop;
    pthread_mutex_unlock(&ln->mu);
    return stop;
}

static bool stopping(struct lanes *ln)
{
    pthread_mutex_lock(&ln->mu);
    bool s = ln->stop;
    pthread_mutex_unlock(&ln->mu);
    return s;
}

/* Hand a pass to the main loop and wait for its verdict on durability. */
static enum slot_state hand_over(struct lanes *ln, struct lane *l, const struct rsu_measurement *m)
{
    pthread_mutex_lock(&ln->mu);
    l->pass = *m;
    l->slot = SLOT_READY;
    pthread_mutex_unlock(&ln->mu);

    uint64_t one = 1;
    ssize_t w = write(ln->event_fd, &one, sizeof one);
    (void)w; /* eventfd writes only fail on counter overflow, which cannot happen here */

    pthread_mutex_lock(&ln->mu);
    while (l->slot == SLOT_READY && !ln->stop)
        pthread_cond_wait(&ln->cond, &ln->mu);
    enum slot_state outcome = l->slot;
    l->slot = SLOT_EMPTY;
    pthread_mutex_unlock(&ln->mu);
    return outcome;
}

static int backoff_ms(struct port *p, int attempt)
{
    long ms = p->reconnect_min_ms;
    for (int i = 0; i < attempt && ms < p->reconnect_max_ms; i++)
        ms *= 2;
    if (ms > p->reconnect_max_ms)
        ms = p->reconnect_max_ms;
    /* Jitter (+-25 %) keeps lanes that failed together from retrying in step. */
    long jitter = ms / 4;
    if (jitter > 0)
        ms += (long)(rand_r(&p->seed) % (unsigned)(2 * jitter + 1)) - jitter;
    return (int)ms;
}

static bool connect_port(struct port *p)
{
    struct lanes *ln = p->owner;
    struct rsu_device *devs[CONFIG_LANES_MAX];
    for (size_t i = 0; i < p->n_lanes; i++)
        devs[i] = &ln->lane[p->lane_idx[i]].dev;

    for (int attempt = 0;; attempt++) {
        if (rsu_link_connect(p->link, devs, p->n_lanes) == 0) {
            for (size_t i = 0; i < p->n_lanes; i++) {
                struct lane *l = &ln->lane[p->lane_idx[i]];
                pthread_mutex_lock(&ln->mu);
                l->health.connected = true;
                if (attempt > 0 || l->health.reconnects > 0)
                    l->health.reconnects++;
                pthread_mutex_unlock(&ln->mu);
            }
            log_msg(ln->lg, LOG_NOTICE, "lane %s: connected", ln->lane[p->lane_idx[0]].cfg->name);
            return true;
        }
        const char *why = rsu_link_errmsg(p->link);
        for (size_t i = 0; i < p->n_lanes; i++) {
            struct lane *l = &ln->lane[p->lane_idx[i]];
            set_error(ln, l, why);
            pthread_mutex_lock(&ln->mu);
            l->health.connected = false;
            pthread_mutex_unlock(&ln->mu);
        }
        int wait = backoff_ms(p, attempt);
        if (attempt == 0 || attempt % 10 == 0)
            log_msg(ln->lg, LOG_WARNING, "lane %s: cannot connect: %s (retrying in %d ms)",
                    ln->lane[p->lane_idx[0]].cfg->name, why, wait);
        if (wait_or_stop(ln, wait))
            return false;
    }
}

static void note_failure(struct lanes *ln, struct lane *l, int rc, const char *why)
{
    pthread_mutex_lock(&ln->mu);
    if (rc == RSU_ETIMEOUT)
        l->health.timeouts++;
    else if (rc == RSU_EPROTO)
        l->health.protocol_errors++;
    l->consecutive_failures++;
    if (l->consecutive_failures >= 3)
        l->health.connected = false;
    pthread_mutex_unlock(&ln->mu);
    set_error(ln, l, why);
    if (l->consecutive_failures == 1 || l->consecutive_failures % 50 == 0)
        log_msg(ln->lg, LOG_WARNING, "lane %s: %s (%s, %d in a row)", l->cfg->name, why,
                rsu_strerror(rc), l->consecutive_failures);
}

static void note_contact(struct lanes *ln, struct lane *l)
{
    if (l->consecutive_failures >= 3)
        log_msg(ln->lg, LOG_NOTICE, "lane %s: answering again", l->cfg->name);
    pthread_mutex_lock(&ln->mu);
    l->consecutive_failures = 0;
    l->health.connected = true;
    l->health.last_contact_ms = now_ms();
    pthread_mutex_unlock(&ln->mu);
}

/* One poll of one device. Returns true if a pass was stored (poll again at once). */
static bool poll_lane(struct port *p, struct lane *l, bool *reconnect)
{
    struct lanes *ln = p->owner;
    struct rsu_measurement m;
    int rc = rsu_poll(p->link, &l->dev, &m);
    if (rc == RSU_IDLE) {
        note_contact(ln, l);
        return false;
    }
    if (rc < 0) {
        note_failure(ln, l, rc, rsu_link_errmsg(p->link));
        /* A TCP stream that keeps failing is better reopened than flushed. */
        if (rc == RSU_ECONN ||
            (p->link_cfg.transport == RSU_TRANSPORT_TCP && l->consecutive_failures >= 3))
            *reconnect = true;
        return false;
    }
    note_contact(ln, l);
    enum slot_state outcome = hand_over(ln, l, &m);
    if (outcome != SLOT_STORED) {
        if (outcome == SLOT_FAILED) {
            pthread_mutex_lock(&ln->mu);
            l->health.store_failures++;
            pthread_mutex_unlock(&ln->mu);
            set_error(ln, l, "pass not stored: left on the device, will be read again");
            wait_or_stop(ln, 1000);
        }
        return false;
    }
    pthread_mutex_lock(&ln->mu);
    l->health.passes++;
    l->health.last_pass_ms = now_ms();
    if (m.n_issues)
        l->health.decode_issues++;
    pthread_mutex_unlock(&ln->mu);

    rc = rsu_ack(p->link, &l->dev, &m);
    if (rc < 0) /* stored; the next poll sees the cursor and acknowledges again */
        note_failure(ln, l, rc, rsu_link_errmsg(p->link));
    return true;
}

static void *port_main(void *arg)
{
    struct port *p = arg;
    struct lanes *ln = p->owner;
    while (!stopping(ln)) {
        if (!rsu_link_connected(p->link) && !connect_port(p))
            break;
        bool busy = false, reconnect = false;
        for (size_t i = 0; i < p->n_lanes && !reconnect && !stopping(ln); i++)
            busy |= poll_lane(p, &ln->lane[p->lane_idx[i]], &reconnect);
        if (reconnect) {
            rsu_link_close(p->link);
            for (size_t i = 0; i < p->n_lanes; i++) {
                pthread_mutex_lock(&ln->mu);
                ln->lane[p->lane_idx[i]].health.connected = false;
                pthread_mutex_unlock(&ln->mu);
            }
            if (wait_or_stop(ln, backoff_ms(p, 0)))
                break;
            continue;
        }
        if (!busy && wait_or_stop(ln, p->poll_interval_ms))
            break;
    }
    rsu_link_close(p->link);
    return NULL;
}

static bool same_link(const struct rsu_link_config *a, const struct rsu_link_config *b)
{
    if (a->transport != b->transport)
        return false;
    if (a->transport == RSU_TRANSPORT_RTU)
        return strcmp(a->device, b->device) == 0;
    return strcmp(a->host, b->host) == 0 && a->port == b->port;
}

static struct port *port_for(struct lanes *ln, const struct config_lane *cl)
{
    for (size_t i = 0; i < ln->n_ports; i++)
        if (same_link(&ln->port[i].link_cfg, &cl->link))
            return &ln->port[i];
    struct port *p = &ln->port[ln->n_ports++];
    p->owner = ln;
    p->link_cfg = cl->link;
    p->poll_interval_ms = cl->poll_interval_ms;
    p->reconnect_min_ms = cl->reconnect_min_ms;
    p->reconnect_max_ms = cl->reconnect_max_ms;
    p->seed = (unsigned)now_ms() ^ (unsigned)(ln->n_ports * 7919);
    return p;
}

lanes *lanes_start(const struct config *cfg, const struct rsu_cursor *cursors, const struct log *lg,
                   char *err, size_t errlen)
{
    struct lanes *ln = calloc(1, sizeof *ln);
    if (!ln) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ln->lg = lg;
    ln->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ln->event_fd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        free(ln);
        return NULL;
    }
    pthread_mutex_init(&ln->mu, NULL);
    pthread_cond_init(&ln->cond, NULL);

    ln->n_lanes = cfg->n_lanes;
    for (size_t i = 0; i < cfg->n_lanes; i++) {
        const struct config_lane *cl = &cfg->lanes[i];
        struct lane *l = &ln->lane[i];
        l->cfg = cl;
        l->dev.unit_id = cl->unit_id;
        l->dev.profile = &cl->profile;
        l->dev.cursor = cursors[i];
        l->dev.recheck = true;
        struct port *p = port_for(ln, cl);
        p->lane_idx[p->n_lanes++] = i;
        if (cl->poll_interval_ms < p->poll_interval_ms)
            p->poll_interval_ms = cl->poll_interval_ms;
    }
    for (size_t i = 0; i < ln->n_ports; i++) {
        struct port *p = &ln->port[i];
        p->link = rsu_link_new(&p->link_cfg, err, errlen);
        if (!p->link) {
            lanes_stop(ln);
            return NULL;
        }
    }
    for (size_t i = 0; i < ln->n_ports; i++) {
        struct port *p = &ln->port[i];
        int rc = pthread_create(&p->thread, NULL, port_main, p);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start lane thread: %s", strerror(rc));
            lanes_stop(ln);
            return NULL;
        }
        p->started = true;
    }
    return ln;
}

void lanes_stop(lanes *ln)
{
    if (!ln)
        return;
    pthread_mutex_lock(&ln->mu);
    ln->stop = true;
    pthread_cond_broadcast(&ln->cond);
    pthread_mutex_unlock(&ln->mu);
    for (size_t i = 0; i < ln->n_ports; i++) {
        if (ln->port[i].started)
            pthread_join(ln->port[i].thread, NULL);
        rsu_link_free(ln->port[i].link);
    }
    pthread_cond_destroy(&ln->cond);
    pthread_mutex_destroy(&ln->mu);
    close(ln->event_fd);
    free(ln);
}

int lanes_event_fd(const lanes *ln)
{
    return ln->event_fd;
}

size_t lanes_ready(lanes *ln, size_t *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&ln->mu);
    for (size_t i = 0; i < ln->n_lanes && n < max; i++)
        if (ln->lane[i].slot == SLOT_READY)
            out[n++] = i;
    pthread_mutex_unlock(&ln->mu);
    return n;
}

const struct rsu_measurement *lanes_pass(const lanes *ln, size_t lane)
{
    /* Stable while the slot is READY: the lane thread waits until lanes_done(). */
    return &ln->lane[lane].pass;
}

void lanes_done(lanes *ln, size_t lane, bool stored)
{
    pthread_mutex_lock(&ln->mu);
    ln->lane[lane].slot = stored ? SLOT_STORED : SLOT_FAILED;
    pthread_cond_broadcast(&ln->cond);
    pthread_mutex_unlock(&ln->mu);
}

void lanes_health(lanes *ln, size_t lane, struct lane_health *out)
{
    pthread_mutex_lock(&ln->mu);
    *out = ln->lane[lane].health;
    pthread_mutex_unlock(&ln->mu);
}
