/* SPDX-License-Identifier: MIT */
/*
 * The demo's roadside OBD check: a simulated truck (can/ecusim, preset
 * truck-mil) on the in-process virtual CAN bus, read by the real OBD reader,
 * judged and stored exactly as `rsgw obd` does.
 */
#include "demo_obd.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "canbus.h"
#include "ecusim.h"
#include "obd_inspect.h"
#include "obdread.h"

struct truck {
    canbus *bus;
    ecusim *sim;
    atomic_bool stop;
};

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int truck_send(void *ctx, const struct can_frame_rec *f)
{
    return canbus_send(ctx, f) == CANBUS_OK ? 0 : -1;
}

/* The truck's ECUs: broadcast, answer requests, until stopped. */
static void *truck_main(void *arg)
{
    struct truck *t = arg;
    ecusim_start(t->sim, mono_us());
    while (!atomic_load(&t->stop)) {
        uint64_t now = mono_us();
        ecusim_tick(t->sim, now);
        uint64_t next = ecusim_next_deadline(t->sim);
        int timeout = next <= now ? 0 : (int)((next - now + 999) / 1000);
        if (timeout > 50)
            timeout = 50; /* notice the stop flag */
        struct pollfd pfd = {.fd = canbus_fd(t->bus), .events = POLLIN};
        poll(&pfd, 1, timeout);
        struct can_frame_rec f;
        while (canbus_recv(t->bus, &f) == CANBUS_OK)
            ecusim_rx(t->sim, &f, mono_us());
    }
    return NULL;
}

int demo_obd_check(const struct config *cfg, store *st, const char *plate, int plate_colour,
                   struct obd_inspection *out, char *err, size_t errlen)
{
    struct ecusim_profile profile;
    if (ecusim_preset("truck-mil", &profile) < 0) {
        snprintf(err, errlen, "no truck-mil preset");
        return -1;
    }
    canbus_virtual *vb = canbus_virtual_new(8192, err, errlen);
    if (!vb)
        return -1;
    struct truck t = {0};
    t.bus = canbus_virtual_endpoint(vb, "truck", err, errlen);
    canbus *tester = t.bus ? canbus_virtual_endpoint(vb, "gateway", err, errlen) : NULL;
    canbus_virtual_free(vb); /* the endpoints keep the bus */
    struct ecusim_io io = {.send = truck_send, .ctx = t.bus};
    t.sim = tester ? ecusim_new(&profile, &io, err, errlen) : NULL;
    pthread_t thread;
    int rc = -1;
    if (t.sim && pthread_create(&thread, NULL, truck_main, &t) == 0) {
        struct obdread_opts opts;
        obdread_opts_default(&opts);
        struct obdread_report *rep = calloc(1, sizeof *rep);
        if (rep && obdread_run(tester, &opts, rep, err, errlen) == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
            rc = obd_inspect(cfg, st, rep, plate, plate_colour,
                             "stopped after the remote-sensing finding", "virtual CAN", now_ms, out,
                             err, errlen);
            if (rc == 0 && store_append(st, out->record, out->len, NULL) < 0) {
                snprintf(err, errlen, "store: %s", store_errmsg(st));
                rc = -1;
            }
        }
        free(rep);
        atomic_store(&t.stop, true);
        pthread_join(thread, NULL);
    }
    ecusim_free(t.sim);
    canbus_close(t.bus);
    canbus_close(tester);
    return rc;
}
