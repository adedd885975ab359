/* SPDX-License-Identifier: MIT */
/*
 * log backend: replays a candump log (see canbus_logline.c for the formats) as a
 * read-only bus, as fast as it is read or at its original pace. Its descriptor is
 * a timerfd that is readable while a frame is due (always, unpaced), so the log
 * sits in the same poll loop as a live bus.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "canbus_priv.h"

#define LOG_LINE_MAX 512

struct log_bus {
    struct canbus base;
    FILE *f;
    bool owns_file;
    char path[256];
    uint64_t line_no;
    struct canbus_log_opts opts;
    char ifname[16];
    int tfd;
    bool eof;
    uint64_t delta_sum_us; /* -td: the running time */
    /* Pacing: the frame read ahead and the time base. */
    bool pending, started;
    struct can_frame_rec next;
    uint64_t base_mono_us, base_t_us;
    char line[LOG_LINE_MAX + 1];
};

static struct log_bus *lb(canbus *bus)
{
    return (struct log_bus *)bus;
}

/* Arms the timer to fire at mono_us (CLOCK_MONOTONIC); 0: now. */
static void arm_timer(struct log_bus *b, uint64_t mono_us)
{
    uint64_t drain;
    while (read(b->tfd, &drain, sizeof drain) > 0)
        ;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (mono_us == 0) {
        its.it_value.tv_nsec = 1; /* relative: fires at once and stays readable */
        timerfd_settime(b->tfd, 0, &its, NULL);
        return;
    }
    its.it_value.tv_sec = (time_t)(mono_us / 1000000u);
    its.it_value.tv_nsec = (long)(mono_us % 1000000u) * 1000;
    timerfd_settime(b->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* The next line into b->line: its length, -1 at the end of the file. Longer lines are
 * consumed and reported through *too_long. */
static long read_line(struct log_bus *b, bool *too_long)
{
    size_t n = 0;
    int ch;
    *too_long = false;
    while ((ch = getc_unlocked(b->f)) != EOF && ch != '\n') {
        if (n < LOG_LINE_MAX)
            b->line[n++] = (char)ch;
        else
            *too_long = true;
    }
    if (ch == EOF && n == 0 && !*too_long)
        return -1;
    b->line[n] = '\0';
    return (long)n;
}

static int parse_fail(struct log_bus *b, const char *why)
{
    b->base.stats.parse_errors++;
    char *msg = b->base.errmsg;
    size_t cap = sizeof b->base.errmsg;
    int n = snprintf(msg, cap, "%.200s:%llu: ", b->path, (unsigned long long)b->line_no);
    size_t used = n > 0 && (size_t)n < cap ? (size_t)n : 0, len = strlen(why);
    if (len > cap - used - 1)
        len = cap - used - 1;
    memcpy(msg + used, why, len);
    msg[used + len] = '\0';
    return CANBUS_EPARSE;
}

/* The next frame of the log, its time resolved: CANBUS_OK, CANBUS_EOF, CANBUS_EPARSE. */
static int next_frame(struct log_bus *b, struct can_frame_rec *out)
{
    for (;;) {
        bool too_long;
        long n = read_line(b, &too_long);
        if (n < 0) {
            if (ferror(b->f))
                return canbus_fail(&b->base, CANBUS_ERR, "read: %s", strerror(errno));
            return CANBUS_EOF;
        }
        b->line_no++;
        if (too_long) {
            char why[64];
            snprintf(why, sizeof why, "line longer than %d bytes", LOG_LINE_MAX);
            return parse_fail(b, why);
        }
        struct canbus_log_line ll;
        char note[160];
        int rc = canbus_log_parse_line(b->line, (size_t)n, &ll, note, sizeof note);
        if (rc == CANBUS_EPARSE)
            return parse_fail(b, note);
        /* -td: every line candump printed moves the time on, also those we skip. */
        if (ll.time == CANBUS_LOG_TIME_REL && b->opts.reltime == CANBUS_LOG_REL_DELTA) {
            b->delta_sum_us += ll.frame.t_us;
            ll.frame.t_us = b->delta_sum_us;
        }
        if (rc == CANBUS_SKIP) {
            b->base.stats.dropped += ll.dropped;
            if (note[0])
                b->base.stats.skipped++;
            continue;
        }
        if (b->ifname[0] && strcmp(ll.ifname, b->ifname) != 0) {
            b->base.stats.filtered++;
            continue;
        }
        *out = ll.frame;
        return CANBUS_OK;
    }
}

static int log_recv(canbus *bus, struct can_frame_rec *out)
{
    struct log_bus *b = lb(bus);
    if (b->eof)
        return CANBUS_EOF;
    if (!b->pending) {
        int rc = next_frame(b, &b->next);
        if (rc == CANBUS_EOF) {
            b->eof = true;
            arm_timer(b, 0); /* readable: the caller sees the end */
        }
        if (rc != CANBUS_OK)
            return rc;
        if (!b->opts.paced) {
            *out = b->next;
            return CANBUS_OK;
        }
        b->pending = true;
    }
    uint64_t now = canbus_mono_us(), t = b->next.t_us;
    if (!b->started || t < b->base_t_us) { /* first frame, or time went back */
        b->started = true;
        b->base_mono_us = now;
        b->base_t_us = t;
    }
    uint64_t due = b->base_mono_us + (t - b->base_t_us);
    if (due > now) {
        arm_timer(b, due);
        return CANBUS_AGAIN;
    }
    b->pending = false;
    *out = b->next;
    return CANBUS_OK;
}

static int log_send(canbus *bus, const struct can_frame_rec *f)
{
    (void)f;
    return canbus_fail(bus, CANBUS_ERR, "a log is read-only: cannot send");
}

static int log_fd(const canbus *bus)
{
    return ((const struct log_bus *)bus)->tfd;
}

static void log_close(canbus *bus)
{
    struct log_bus *b = lb(bus);
    if (b->owns_file)
        fclose(b->f);
    close(b->tfd);
    free(b);
}

static const struct canbus_backend log_backend = {
    .kind = "log",
    .recv = log_recv,
    .send = log_send,
    .fd = log_fd,
    .close = log_close,
};

static canbus *open_stream(FILE *f, bool owns, const char *name, const struct canbus_log_opts *opts,
                           char *err, size_t errlen)
{
    static const struct canbus_log_opts defaults = {0};
    const struct canbus_log_opts *o = opts ? opts : &defaults;
    if (!name || !*name)
        name = "log";
    if (canbus_filters_check(o->filters, o->n_filters, err, errlen) != CANBUS_OK)
        return NULL;
    if (o->ifname && strlen(o->ifname) >= sizeof((struct log_bus *)0)->ifname) {
        canbus_set_err(err, errlen, "%s: interface name '%s' too long", name, o->ifname);
        return NULL;
    }
    struct log_bus *b = calloc(1, sizeof *b);
    if (!b) {
        canbus_set_err(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    b->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (b->tfd < 0) {
        canbus_set_err(err, errlen, "%s: timerfd_create: %s", name, strerror(errno));
        free(b);
        return NULL;
    }
    canbus_init(&b->base, &log_backend, name);
    snprintf(b->path, sizeof b->path, "%s", name);
    b->f = f;
    b->owns_file = owns;
    b->opts = *o;
    b->opts.ifname = NULL;
    b->opts.filters = NULL;
    if (o->ifname)
        snprintf(b->ifname, sizeof b->ifname, "%s", o->ifname);
    if (o->n_filters)
        memcpy(b->base.filters, o->filters, o->n_filters * sizeof *o->filters);
    b->base.n_filters = o->n_filters;
    arm_timer(b, 0);
    return &b->base;
}

canbus *canbus_open_log(const char *path, const struct canbus_log_opts *opts, char *err,
                        size_t errlen)
{
    if (!path || !*path) {
        canbus_set_err(err, errlen, "no log file given");
        return NULL;
    }
    FILE *f = fopen(path, "re");
    if (!f) {
        canbus_set_err(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    canbus *bus = open_stream(f, true, path, opts, err, errlen);
    if (!bus)
        fclose(f);
    return bus;
}

canbus *canbus_open_log_stream(FILE *f, const char *name, const struct canbus_log_opts *opts,
                               char *err, size_t errlen)
{
    if (!f) {
        canbus_set_err(err, errlen, "%s: no stream", name ? name : "log");
        return NULL;
    }
    return open_stream(f, false, name, opts, err, errlen);
}
