/* SPDX-License-Identifier: MIT */
/* The backend-independent half of canbus: dispatch, checks, filters, stats, messages. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "canbus_priv.h"

uint64_t canbus_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void canbus_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void canbus_init(canbus *bus, const struct canbus_backend *be, const char *name)
{
    bus->be = be;
    snprintf(bus->name, sizeof bus->name, "%s", name && *name ? name : be->kind);
    bus->errmsg[0] = '\0';
    memset(&bus->stats, 0, sizeof bus->stats);
    bus->state = CANBUS_STATE_ACTIVE;
    bus->n_filters = 0;
}

void canbus_vfail(canbus *bus, const char *fmt, va_list ap)
{
    int n = snprintf(bus->errmsg, sizeof bus->errmsg, "%s: ", bus->name);
    if (n < 0 || (size_t)n >= sizeof bus->errmsg)
        n = 0;
    vsnprintf(bus->errmsg + n, sizeof bus->errmsg - (size_t)n, fmt, ap);
}

int canbus_fail(canbus *bus, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    canbus_vfail(bus, fmt, ap);
    va_end(ap);
    return rc;
}

int canbus_filters_check(const struct canbus_filter *f, size_t n, char *err, size_t errlen)
{
    if (n > CANBUS_FILTERS_MAX) {
        canbus_set_err(err, errlen, "%zu receive filters, at most %d", n, CANBUS_FILTERS_MAX);
        return CANBUS_ERR;
    }
    if (n > 0 && !f) {
        canbus_set_err(err, errlen, "%zu receive filters but no array", n);
        return CANBUS_ERR;
    }
    return CANBUS_OK;
}

bool canbus_filters_pass(const struct canbus_filter *f, size_t n, const struct can_frame_rec *fr)
{
    if (n == 0 || (fr->id & CAN_FRAME_ERR))
        return true;
    for (size_t i = 0; i < n; i++) {
        bool match = (fr->id & f[i].mask) == (f[i].id & f[i].mask);
        if (match != f[i].invert)
            return true;
    }
    return false;
}

/* A frame the bus can carry: classic length, the id within its format. */
static int check_frame(canbus *bus, const struct can_frame_rec *f)
{
    if (f->len > 8)
        return canbus_fail(bus, CANBUS_ERR, "frame length %u above 8 (classic CAN)", f->len);
    if (f->id & CAN_FRAME_ERR) {
        if (f->id & (CAN_FRAME_EFF | CAN_FRAME_RTR))
            return canbus_fail(bus, CANBUS_ERR, "error frame id 0x%08X also has EFF/RTR flags",
                               (unsigned)f->id);
        return CANBUS_OK;
    }
    if (!(f->id & CAN_FRAME_EFF) && (f->id & ~CAN_FRAME_RTR) > CAN_SFF_MASK)
        return canbus_fail(bus, CANBUS_ERR,
                           "standard id 0x%X above 0x7FF (set CAN_FRAME_EFF for 29 bits)",
                           (unsigned)(f->id & ~CAN_FRAME_RTR));
    return CANBUS_OK;
}

int canbus_recv(canbus *bus, struct can_frame_rec *out)
{
    if (!bus || !out)
        return CANBUS_ERR;
    for (;;) {
        int rc = bus->be->recv(bus, out);
        if (rc != CANBUS_OK)
            return rc;
        if (out->id & CAN_FRAME_ERR) {
            canbus_account_error(bus, out);
            return CANBUS_OK;
        }
        if (!bus->be->set_filters && !canbus_filters_pass(bus->filters, bus->n_filters, out)) {
            bus->stats.filtered++;
            continue;
        }
        bus->stats.rx++;
        return CANBUS_OK;
    }
}

int canbus_send(canbus *bus, const struct can_frame_rec *f)
{
    if (!bus)
        return CANBUS_ERR;
    if (!f)
        return canbus_fail(bus, CANBUS_ERR, "send: no frame");
    int rc = check_frame(bus, f);
    if (rc != CANBUS_OK)
        return rc;
    if (bus->state == CANBUS_STATE_BUS_OFF)
        return canbus_fail(bus, CANBUS_EBUSOFF,
                           "controller is bus-off; sending waits until it restarts");
    return bus->be->send(bus, f);
}

int canbus_fd(const canbus *bus)
{
    return bus ? bus->be->fd(bus) : -1;
}

int canbus_timeout_ms(const canbus *bus)
{
    return bus && bus->be->timeout_ms ? bus->be->timeout_ms(bus) : -1;
}

int canbus_flush(canbus *bus)
{
    if (!bus)
        return CANBUS_ERR;
    return bus->be->flush ? bus->be->flush(bus) : CANBUS_OK;
}

int canbus_set_filters(canbus *bus, const struct canbus_filter *filters, size_t n)
{
    if (!bus)
        return CANBUS_ERR;
    char err[128];
    if (canbus_filters_check(filters, n, err, sizeof err) != CANBUS_OK)
        return canbus_fail(bus, CANBUS_ERR, "%s", err);
    if (bus->be->set_filters)
        return bus->be->set_filters(bus, filters, n);
    if (n)
        memcpy(bus->filters, filters, n * sizeof *filters);
    bus->n_filters = n;
    return CANBUS_OK;
}

void canbus_stats(const canbus *bus, struct canbus_stats *out)
{
    if (!out)
        return;
    if (!bus) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = bus->stats;
    if (bus->be->stats)
        bus->be->stats(bus, out);
}

enum canbus_state canbus_state(const canbus *bus)
{
    return bus ? bus->state : CANBUS_STATE_ACTIVE;
}

const char *canbus_state_name(enum canbus_state state)
{
    switch (state) {
    case CANBUS_STATE_ACTIVE:
        return "error-active";
    case CANBUS_STATE_WARNING:
        return "error-warning";
    case CANBUS_STATE_PASSIVE:
        return "error-passive";
    case CANBUS_STATE_BUS_OFF:
        return "bus-off";
    }
    return "unknown";
}

const char *canbus_name(const canbus *bus)
{
    return bus ? bus->name : "";
}

const char *canbus_errmsg(const canbus *bus)
{
    return bus ? bus->errmsg : "no CAN bus";
}

void canbus_close(canbus *bus)
{
    if (bus)
        bus->be->close(bus);
}
