/* SPDX-License-Identifier: MIT */
/*
 * obdread_run(): the blocking loop over a canbus. Live buses run on CLOCK_MONOTONIC;
 * with listen_only (a candump log) the log's timestamps are the clock and the end of
 * the file ends the reading.
 */
#define _POSIX_C_SOURCE 200809L
#include "obdread_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Drains the bus; CANBUS_EOF at the end of a log, CANBUS_ERR when the bus failed. */
static int drain(canbus *bus, obdread *r, bool log_clock, uint64_t *now_us, char *err,
                 size_t errlen)
{
    struct can_frame_rec f;
    for (int n = 0; n < 4096; n++) {
        int rc = canbus_recv(bus, &f);
        if (rc == CANBUS_AGAIN)
            return CANBUS_AGAIN;
        if (rc == CANBUS_EOF)
            return CANBUS_EOF;
        if (rc == CANBUS_EPARSE)
            continue;
        if (rc < 0) {
            snprintf(err, errlen, "%s", canbus_errmsg(bus));
            return CANBUS_ERR;
        }
        if (log_clock) {
            if (f.t_us > *now_us)
                *now_us = f.t_us;
            obdread_poll(r, *now_us);
        } else {
            *now_us = mono_us();
        }
        obdread_on_frame(r, &f, *now_us);
    }
    return CANBUS_OK;
}

int obdread_run(canbus *bus, const struct obdread_opts *opts, struct obdread_report *report,
                char *err, size_t errlen)
{
    if (!bus || !report)
        return OBDREAD_EINVAL;
    memset(report, 0, sizeof(*report));
    obdread *r = obdread_new(bus, opts, err, errlen);
    if (!r)
        return OBDREAD_EINVAL;
    bool log_clock = r->o.listen_only;
    int result = OBDREAD_OK;
    uint64_t now = 0;
    if (log_clock) {
        /* The first frame's time starts the clock. */
        struct can_frame_rec f;
        int rc;
        do
            rc = canbus_recv(bus, &f);
        while (rc == CANBUS_EPARSE || rc == CANBUS_AGAIN);
        now = rc == CANBUS_OK ? f.t_us : 0;
        obdread_start(r, now);
        if (rc == CANBUS_OK)
            obdread_on_frame(r, &f, now);
        for (;;) {
            int d = drain(bus, r, true, &now, err, errlen);
            if (d == CANBUS_ERR) {
                result = OBDREAD_EBUS;
                break;
            }
            if (d == CANBUS_EOF || obdread_poll(r, now) == 0)
                break;
            if (d == CANBUS_AGAIN) {
                struct pollfd p = {.fd = canbus_fd(bus), .events = POLLIN};
                poll(&p, 1, 100);
            }
        }
        /* Whatever was still awaited is over with the log. */
        for (int i = 0; i < 16 && obdread_poll(r, now) == 1; i++) {
            uint64_t next = obdread_next_deadline_us(r);
            now = next == UINT64_MAX || next < now ? now + 1000000u : next;
        }
    } else {
        now = mono_us();
        obdread_start(r, now);
        for (;;) {
            int d = drain(bus, r, false, &now, err, errlen);
            if (d == CANBUS_ERR) {
                result = OBDREAD_EBUS;
                r->iface_error = true;
                snprintf(r->iface_msg, sizeof(r->iface_msg), "%s", err);
            }
            now = mono_us();
            if (obdread_poll(r, now) == 0)
                break;
            if (result != OBDREAD_OK) {
                obdread_poll(r, now);
                break;
            }
            uint64_t next = obdread_next_deadline_us(r);
            int timeout = 1000;
            if (next != UINT64_MAX)
                timeout = next <= now ? 0 : (int)((next - now + 999) / 1000);
            if (timeout > 1000)
                timeout = 1000;
            int bt = canbus_timeout_ms(bus);
            if (bt >= 0 && bt < timeout)
                timeout = bt;
            struct pollfd p = {.fd = canbus_fd(bus), .events = POLLIN};
            if (poll(&p, 1, timeout) < 0 && errno != EINTR) {
                snprintf(err, errlen, "poll: %s", strerror(errno));
                result = OBDREAD_EBUS;
                break;
            }
            if (canbus_timeout_ms(bus) == 0)
                canbus_flush(bus);
        }
    }
    *report = *obdread_report(r);
    if (result != OBDREAD_OK && report->comm == OBDREAD_COMM_OK) {
        report->comm = OBDREAD_COMM_INTERFACE_ERROR;
        snprintf(report->message, sizeof(report->message), "interface error: %.200s", err);
    }
    obdread_free(r);
    return result;
}
