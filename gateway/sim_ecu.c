/* SPDX-License-Identifier: MIT */
/*
 * rsgw sim ecu: a simulated truck or car (can/ecusim.h).
 *   --can IFACE  on a SocketCAN interface, in real time, until --duration or a signal.
 *   --log FILE   on an in-process virtual bus, in simulated time (as fast as it goes),
 *                with a scripted tester that asks for VI (global and specific), DM5 and
 *                the OBD answers every 10 s; every frame goes to FILE in candump -l form.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "canbus.h"
#include "cli.h"
#include "ecusim.h"
#include "isotp.h"
#include "j1939.h"
#include "sim_ecu.h"

#define US_PER_S      1000000ull
#define LOG_BASE_US   (1763800000ull * US_PER_S) /* a fixed epoch: logs are reproducible */
#define TESTER_CYCLE  (10 * US_PER_S)
#define TESTER_J1939  J1939_ADDR_TOOL1
#define TESTER_OBD_SA 0xF1u

static const char ecu_usage[] =
    "usage: rsgw sim ecu (--can IFACE | --log FILE) [--preset NAME] [--duration S]\n"
    "Simulates a vehicle on CAN: J1939 engine (0x00) and aftertreatment (0x3D) ECUs\n"
    "and ISO 15765-4 OBD ECUs, as the preset says. --log runs on a virtual bus in\n"
    "simulated time with a scripted tester and writes a candump -l log.\n"
    "Presets: truck-clean (default), truck-mil, car-obd, car-obd29.\n";

struct ecu_opts {
    const char *iface, *log, *preset;
    double duration_s; /* 0: until a signal (--can); 60 for --log */
};

static int parse_ecu(int argc, char **argv, struct ecu_opts *o)
{
    static const struct option lo[] = {
        {"can", required_argument, NULL, 'c'},    {"log", required_argument, NULL, 'l'},
        {"preset", required_argument, NULL, 'p'}, {"duration", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    *o = (struct ecu_opts){.preset = "truck-clean"};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "c:l:p:d:h", lo, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'c':
            o->iface = optarg;
            break;
        case 'l':
            o->log = optarg;
            break;
        case 'p':
            o->preset = optarg;
            break;
        case 'd':
            o->duration_s = strtod(optarg, &end);
            if (end == optarg || *end || o->duration_s < 0 || o->duration_s > 1e7) {
                fprintf(stderr, "rsgw sim ecu: --duration '%s' is not a number of seconds\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            printf("%s", ecu_usage);
            return 1;
        default:
            fprintf(stderr, "%s", ecu_usage);
            return 2;
        }
    }
    if (!o->iface == !o->log || optind != argc) {
        fprintf(stderr, "rsgw sim ecu: give exactly one of --can IFACE or --log FILE\n%s",
                ecu_usage);
        return 2;
    }
    return 0;
}

/* ---- --log: virtual bus, simulated time, a scripted tester ------------------------ */

struct logrun {
    canbus *ecu_ep, *tester_ep;
    FILE *out;
    const char *path;
    uint64_t now_us;
    uint64_t frames;
    int write_err;
    ecusim *sim;
    j1939_tp_rx *tp;
    isotp_client *obd;
    bool obd29;
    uint64_t cycle_start;
    unsigned step; /* next scripted request in this cycle */
    uint64_t vins, obd_msgs;
};

static void log_frame(struct logrun *r, const struct can_frame_rec *f)
{
    struct can_frame_rec g = *f;
    g.t_us = r->now_us;
    char line[128];
    int n = canbus_log_format(&g, "vcan0", line, sizeof line);
    if (n < 0)
        return;
    if (fprintf(r->out, "%s\n", line) < 0)
        r->write_err = errno ? errno : EIO;
    r->frames++;
}

static int ecu_send(void *ctx, const struct can_frame_rec *f)
{
    struct logrun *r = ctx;
    int rc = canbus_send(r->ecu_ep, f);
    if (rc != CANBUS_OK)
        return -1;
    log_frame(r, f);
    return 0;
}

static int tester_send(void *ctx, const struct can_frame_rec *f)
{
    struct logrun *r = ctx;
    int rc = canbus_send(r->tester_ep, f);
    if (rc != CANBUS_OK)
        return -1;
    log_frame(r, f);
    return 0;
}

static int tester_isotp_send(void *ctx, const struct can_frame_rec *f)
{
    return tester_send(ctx, f) < 0 ? -1 : ISOTP_SEND_DONE;
}

static void tester_msg(void *user, const struct j1939_msg *m)
{
    struct logrun *r = user;
    if (m->pgn == J1939_PGN_VI)
        r->vins++;
}

static void tester_obd_event(void *ctx, const struct isotp_event *ev)
{
    struct logrun *r = ctx;
    if (ev->kind == ISOTP_EV_RX_DONE)
        r->obd_msgs++;
}

/* The tester's script, offsets in a 10 s cycle. */
static const struct step {
    uint32_t at_ms;
    char kind; /* 'J': J1939 request, 'O': OBD functional request */
    uint32_t pgn;
    uint8_t da;
    uint8_t req[3];
    uint8_t req_len;
} tester_script[] = {
    {500, 'J', J1939_PGN_VI, J1939_ADDR_GLOBAL, {0}, 0},
    {2000, 'J', J1939_PGN_VI, 0x00, {0}, 0},
    {3500, 'J', J1939_PGN_DM5, J1939_ADDR_GLOBAL, {0}, 0},
    {4000, 'O', 0, 0, {0x09, 0x02}, 2},
    {5000, 'O', 0, 0, {0x01, 0x01}, 2},
    {6000, 'O', 0, 0, {0x03}, 1},
    {7000, 'O', 0, 0, {0x01, 0x0C, 0x0D}, 3},
};

static void tester_tick(struct logrun *r, bool j1939, bool obd)
{
    size_t n = sizeof tester_script / sizeof tester_script[0];
    while (r->now_us >= r->cycle_start + TESTER_CYCLE) {
        r->cycle_start += TESTER_CYCLE;
        r->step = 0;
    }
    while (r->step < n && r->now_us >= r->cycle_start + tester_script[r->step].at_ms * 1000ull) {
        const struct step *s = &tester_script[r->step++];
        if (s->kind == 'J' && j1939) {
            struct can_frame_rec f;
            j1939_request_make(&f, s->pgn, s->da, TESTER_J1939, r->now_us);
            tester_send(r, &f);
        } else if (s->kind == 'O' && obd) {
            isotp_client_send_functional(r->obd, s->req, s->req_len, r->now_us);
        }
    }
}

static uint64_t tester_deadline(const struct logrun *r)
{
    uint64_t d = r->cycle_start + TESTER_CYCLE;
    if (r->step < sizeof tester_script / sizeof tester_script[0])
        d = r->cycle_start + tester_script[r->step].at_ms * 1000ull;
    if (r->tp) {
        uint64_t t = j1939_tp_rx_next_deadline(r->tp);
        if (t < d)
            d = t;
    }
    if (r->obd) {
        uint64_t t = isotp_client_next_deadline_us(r->obd);
        if (t < d)
            d = t;
    }
    return d;
}

/* Moves frames between the two endpoints until the bus is quiet. */
static void pump(struct logrun *r)
{
    for (int round = 0; round < 1000; round++) {
        int moved = 0;
        struct can_frame_rec f;
        while (canbus_recv(r->ecu_ep, &f) == CANBUS_OK) {
            ecusim_rx(r->sim, &f, r->now_us);
            moved++;
        }
        while (canbus_recv(r->tester_ep, &f) == CANBUS_OK) {
            if (r->tp && j1939_tp_rx_frame(r->tp, &f, r->now_us) == 1) {
                moved++;
                continue;
            }
            if (r->obd)
                isotp_client_on_frame(r->obd, &f, r->now_us);
            moved++;
        }
        if (!moved)
            return;
        ecusim_tick(r->sim, r->now_us);
    }
}

static int run_log(const struct ecu_opts *o, const struct ecusim_profile *p)
{
    char err[256];
    struct logrun r = {.path = o->log};
    int rc = 1;
    canbus_virtual *vb = canbus_virtual_new(8192, err, sizeof err);
    if (!vb) {
        fprintf(stderr, "rsgw sim ecu: %s\n", err);
        return 1;
    }
    r.ecu_ep = canbus_virtual_endpoint(vb, "ecu", err, sizeof err);
    r.tester_ep = r.ecu_ep ? canbus_virtual_endpoint(vb, "tester", err, sizeof err) : NULL;
    canbus_virtual_free(vb);
    if (!r.tester_ep) {
        fprintf(stderr, "rsgw sim ecu: %s\n", err);
        goto out;
    }
    r.out = fopen(o->log, "w");
    if (!r.out) {
        fprintf(stderr, "rsgw sim ecu: %s: %s\n", o->log, strerror(errno));
        goto out;
    }
    struct ecusim_io io = {.send = ecu_send, .ctx = &r};
    r.sim = ecusim_new(p, &io, err, sizeof err);
    if (!r.sim) {
        fprintf(stderr, "rsgw sim ecu: %s\n", err);
        goto out;
    }
    if (p->j1939) {
        struct j1939_tp_rx_config cfg;
        j1939_tp_rx_config_default(&cfg);
        cfg.address = TESTER_J1939;
        struct j1939_tp_rx_callbacks cb = {.send = tester_send, .message = tester_msg, .user = &r};
        r.tp = j1939_tp_rx_new(&cfg, &cb, err, sizeof err);
        if (!r.tp) {
            fprintf(stderr, "rsgw sim ecu: %s\n", err);
            goto out;
        }
    }
    if (p->obd11 || p->obd29) {
        struct isotp_client_config cfg;
        isotp_client_config_default(&cfg, p->obd11 ? ISOTP_ADDR_11BIT : ISOTP_ADDR_29BIT);
        struct isotp_io io2 = {.send = tester_isotp_send, .on_event = tester_obd_event, .ctx = &r};
        r.obd = isotp_client_new(&cfg, &io2, err, sizeof err);
        if (!r.obd) {
            fprintf(stderr, "rsgw sim ecu: %s\n", err);
            goto out;
        }
    }
    double dur = o->duration_s > 0 ? o->duration_s : 60;
    uint64_t end = LOG_BASE_US + (uint64_t)(dur * (double)US_PER_S);
    r.now_us = LOG_BASE_US;
    r.cycle_start = LOG_BASE_US;
    ecusim_start(r.sim, r.now_us);
    while (r.now_us <= end && !r.write_err) {
        ecusim_tick(r.sim, r.now_us);
        if (r.tp)
            j1939_tp_rx_tick(r.tp, r.now_us);
        if (r.obd)
            isotp_client_poll(r.obd, r.now_us);
        tester_tick(&r, p->j1939, r.obd != NULL);
        pump(&r);
        uint64_t next = ecusim_next_deadline(r.sim);
        uint64_t t = tester_deadline(&r);
        if (t < next)
            next = t;
        r.now_us = next > r.now_us ? next : r.now_us + 100; /* always move on */
    }
    if (fflush(r.out) != 0 || r.write_err) {
        fprintf(stderr, "rsgw sim ecu: %s: %s\n", o->log,
                strerror(r.write_err ? r.write_err : errno));
        goto out;
    }
    struct ecusim_stats st;
    ecusim_get_stats(r.sim, &st);
    fprintf(stderr,
            "rsgw sim ecu: %s: %llu frames, %.0f s simulated (preset %s); DM1 %llu, TP %llu/%llu "
            "completed, OBD answers %llu; tester got %llu VIN(s), %llu OBD message(s)\n",
            o->log, (unsigned long long)r.frames, dur, p->name, (unsigned long long)st.dm1_sent,
            (unsigned long long)st.tp_completed, (unsigned long long)st.tp_started,
            (unsigned long long)st.obd_answers, (unsigned long long)r.vins,
            (unsigned long long)r.obd_msgs);
    rc = 0;
out:
    if (r.out && fclose(r.out) != 0 && rc == 0) {
        fprintf(stderr, "rsgw sim ecu: %s: %s\n", o->log, strerror(errno));
        rc = 1;
    }
    isotp_client_free(r.obd);
    j1939_tp_rx_free(r.tp);
    ecusim_free(r.sim);
    canbus_close(r.tester_ep);
    canbus_close(r.ecu_ep);
    return rc;
}

/* ---- --can: SocketCAN in real time ------------------------------------------------ */

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * US_PER_S + (uint64_t)ts.tv_nsec / 1000u;
}

static int bus_send(void *ctx, const struct can_frame_rec *f)
{
    int rc = canbus_send(ctx, f);
    return rc == CANBUS_OK ? 0 : -1;
}

static int run_can(const struct ecu_opts *o, const struct ecusim_profile *p)
{
    char err[256];
    canbus *bus = canbus_open_socketcan(o->iface, NULL, err, sizeof err);
    if (!bus) {
        fprintf(stderr, "rsgw sim ecu: %s\n", err);
        return 1;
    }
    struct ecusim_io io = {.send = bus_send, .ctx = bus};
    ecusim *sim = ecusim_new(p, &io, err, sizeof err);
    if (!sim) {
        fprintf(stderr, "rsgw sim ecu: %s\n", err);
        canbus_close(bus);
        return 1;
    }
    int sfd = cli_signal_fd();
    uint64_t start = mono_us();
    uint64_t end = o->duration_s > 0 ? start + (uint64_t)(o->duration_s * (double)US_PER_S) : 0;
    ecusim_start(sim, start);
    printf("simulating %s on %s\n", p->name, o->iface);
    fflush(stdout);
    int rc = 0;
    for (;;) {
        uint64_t now = mono_us();
        if (end && now >= end)
            break;
        ecusim_tick(sim, now);
        uint64_t next = ecusim_next_deadline(sim);
        if (end && end < next)
            next = end;
        int timeout = next <= now ? 0 : (int)((next - now + 999) / 1000);
        if (timeout > 1000)
            timeout = 1000;
        int bt = canbus_timeout_ms(bus);
        if (bt >= 0 && bt < timeout)
            timeout = bt;
        struct pollfd pfd[2] = {{.fd = canbus_fd(bus), .events = POLLIN},
                                {.fd = sfd, .events = POLLIN}};
        if (poll(pfd, sfd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR) {
            rc = 1;
            break;
        }
        if (sfd >= 0 && (pfd[1].revents & POLLIN))
            break;
        struct can_frame_rec f;
        int r;
        while ((r = canbus_recv(bus, &f)) == CANBUS_OK)
            ecusim_rx(sim, &f, mono_us());
        if (r == CANBUS_ERR) {
            fprintf(stderr, "rsgw sim ecu: %s\n", canbus_errmsg(bus));
            rc = 1;
            break;
        }
    }
    struct ecusim_stats st;
    ecusim_get_stats(sim, &st);
    fprintf(stderr, "rsgw sim ecu: %llu frames sent, %llu send errors\n",
            (unsigned long long)st.frames_tx, (unsigned long long)st.tx_errors);
    ecusim_free(sim);
    canbus_close(bus);
    if (sfd >= 0)
        close(sfd);
    return rc;
}

int sim_ecu_main(int argc, char **argv)
{
    struct ecu_opts o;
    int rc = parse_ecu(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    struct ecusim_profile p;
    if (ecusim_preset(o.preset, &p) != ECUSIM_OK) {
        fprintf(stderr, "rsgw sim ecu: unknown preset '%s' (", o.preset);
        for (size_t i = 0; ecusim_preset_name(i); i++)
            fprintf(stderr, "%s%s", i ? ", " : "", ecusim_preset_name(i));
        fprintf(stderr, ")\n");
        return 2;
    }
    return o.log ? run_log(&o, &p) : run_can(&o, &p);
}
