/* SPDX-License-Identifier: MIT */
/*
 * Our stacks against independent peers on a real SocketCAN bus, inside the test VM
 * (tests/vm/run-in-vm.sh), where vcan0 is up and the kernel's CAN modules are loaded:
 *   - the kernel's can-j1939 sends 100 bytes of PGN 0xFECA by BAM and by RTS/CTS to
 *     our address; j1939_tp_rx on a socketcan endpoint reassembles both, answering the
 *     RTS with CTS and EndOfMsgAck (the kernel's send succeeds only if those were right);
 *   - the kernel's can-isotp as an ECU (rx 0x7E0, tx 0x7E8): our isotp_client sends a
 *     physical 09 02 and reassembles the multi-frame 49 02 01 + VIN (our FC to 0x7E0);
 *     our isotp_link sends a multi-frame message the kernel receives intact;
 *   - obdread_run against ecusim on two socketcan endpoints: truck-mil (J1939: VIN, MIL,
 *     DTCs of both ECUs) and car-obd (ISO 15765-4 11-bit: VIN, DTCs per ECU).
 * Every endpoint has loopback on: vcan delivers a socket's frames to the other sockets
 * of the host only then. Linked statically; one line per check, exits 1 on any failure.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <linux/can.h>
#include <linux/can/isotp.h>
#include <net/if.h>

/* can_frame.h spells these two as its own (same values). */
#undef CAN_SFF_MASK
#undef CAN_EFF_MASK
#include "canbus.h"
#include "ecusim.h"
#include "isotp.h"
#include "j1939.h"
#include "obd.h"
#include "obdread.h"

#define IFACE "vcan0"
/* <linux/can/j1939.h> clashes with our j1939.h (J1939_PGN_*); its two values we use: */
#define KERNEL_J1939_NO_NAME 0ULL
#define KERNEL_J1939_NO_PGN  0x40000u

static int failures, checks;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s - ", ok ? "ok" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    checks++;
    failures += !ok;
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static canbus *open_bus(void)
{
    struct canbus_socketcan_opts o = {.loopback = true};
    char err[256];
    canbus *bus = canbus_open_socketcan(IFACE, &o, err, sizeof err);
    if (!bus) {
        printf("FAIL - open %s: %s\n", IFACE, err);
        exit(1);
    }
    return bus;
}

/* Waits for the bus until until_us, a queued send's retry or 50 ms, whichever is first. */
static void wait_bus(canbus *bus, uint64_t until_us)
{
    uint64_t now = mono_us();
    int ms = until_us > now ? (int)((until_us - now + 999) / 1000) : 0;
    int bt = canbus_timeout_ms(bus);
    if (bt >= 0 && bt < ms)
        ms = bt;
    if (ms > 50)
        ms = 50;
    struct pollfd p = {.fd = canbus_fd(bus), .events = POLLIN};
    poll(&p, 1, ms);
}

static int bus_send(void *ctx, const struct can_frame_rec *f)
{
    return canbus_send(ctx, f) == CANBUS_OK ? 0 : -1;
}

/* ---- 1. J1939: the kernel's can-j1939 sends, our j1939_tp_rx receives ---------------- */

#define J_SRC 0x80
#define J_US  J1939_ADDR_TOOL1
#define J_LEN 100

struct jsend {
    int fd;
    uint8_t dst;
    const uint8_t *data;
    size_t len;
    ssize_t rc;
    int err;
    atomic_bool done;
};

static void *jsend_main(void *arg)
{
    struct jsend *s = arg;
    struct sockaddr_can to = {.can_family = AF_CAN, .can_ifindex = (int)if_nametoindex(IFACE)};
    to.can_addr.j1939.name = KERNEL_J1939_NO_NAME;
    to.can_addr.j1939.addr = s->dst;
    to.can_addr.j1939.pgn = J1939_PGN_DM1;
    s->rc = sendto(s->fd, s->data, s->len, 0, (struct sockaddr *)&to, sizeof to);
    s->err = s->rc < 0 ? errno : 0;
    atomic_store(&s->done, true);
    return NULL;
}

struct jrecv {
    canbus *bus;
    uint8_t data[J1939_TP_MAX_SIZE];
    size_t len;
    uint8_t sa, da;
    bool via_tp;
    int messages, events;
};

static int jrecv_send(void *user, const struct can_frame_rec *f)
{
    struct jrecv *r = user;
    return canbus_send(r->bus, f) == CANBUS_OK ? 0 : -1;
}

static void jrecv_msg(void *user, const struct j1939_msg *m)
{
    struct jrecv *r = user;
    if (m->pgn != J1939_PGN_DM1 || m->sa != J_SRC)
        return;
    memcpy(r->data, m->data, m->len);
    r->len = m->len;
    r->sa = m->sa;
    r->da = m->da;
    r->via_tp = m->via_tp;
    r->messages++;
}

static void jrecv_event(void *user, const struct j1939_tp_event *ev)
{
    struct jrecv *r = user;
    printf("#   tp event %d sa %02X da %02X reason %u (%s)\n", (int)ev->kind, ev->sa, ev->da,
           ev->reason, j1939_tp_abort_name(ev->reason));
    r->events++;
}

static void j1939_one(int fd, uint8_t dst, const uint8_t *payload)
{
    const char *how = dst == J1939_ADDR_GLOBAL ? "BAM" : "RTS/CTS";
    struct jrecv r = {.bus = open_bus()};
    struct j1939_tp_rx_config cfg;
    j1939_tp_rx_config_default(&cfg);
    cfg.address = J_US;
    struct j1939_tp_rx_callbacks cb = {
        .send = jrecv_send, .message = jrecv_msg, .event = jrecv_event, .user = &r};
    char err[256];
    j1939_tp_rx *rx = j1939_tp_rx_new(&cfg, &cb, err, sizeof err);
    if (!rx) {
        check(false, "j1939_tp_rx_new: %s", err);
        canbus_close(r.bus);
        return;
    }
    struct jsend s = {.fd = fd, .dst = dst, .data = payload, .len = J_LEN};
    pthread_t t;
    uint64_t t0 = mono_us(), end = t0 + 10000000u;
    pthread_create(&t, NULL, jsend_main, &s);
    /* Until the message is in and the kernel's send returned (RTS/CTS: after EoMA). */
    while (mono_us() < end && !(r.messages && atomic_load(&s.done))) {
        struct can_frame_rec f;
        int rc;
        while ((rc = canbus_recv(r.bus, &f)) == CANBUS_OK)
            j1939_tp_rx_frame(rx, &f, f.t_us ? f.t_us : mono_us());
        j1939_tp_rx_tick(rx, mono_us());
        uint64_t next = j1939_tp_rx_next_deadline(rx);
        wait_bus(r.bus, next < end ? next : end);
    }
    uint64_t took = mono_us() - t0;
    pthread_join(t, NULL);
    check(r.messages == 1 && r.len == J_LEN && memcmp(r.data, payload, J_LEN) == 0 && r.via_tp &&
              r.sa == J_SRC && r.da == dst,
          "%s: j1939_tp_rx reassembled the kernel's %d-byte PGN %05X exactly (%d message(s), "
          "%zu bytes, sa %02X da %02X, %llu ms)",
          how, J_LEN, J1939_PGN_DM1, r.messages, r.len, r.sa, r.da,
          (unsigned long long)(took / 1000));
    check(s.rc == J_LEN && r.events == 0, "%s: the kernel's sendto returned %zd%s%s%s", how, s.rc,
          s.err ? ": " : "", s.err ? strerror(s.err) : "",
          dst == J1939_ADDR_GLOBAL ? "" : " (it accepted our CTS and EndOfMsgAck)");
    struct j1939_tp_rx_stats st;
    j1939_tp_rx_get_stats(rx, &st);
    check(dst == J1939_ADDR_GLOBAL ? st.bam_started == 1 : st.rts_started == 1,
          "%s: one session (bam %llu, rts %llu)", how, (unsigned long long)st.bam_started,
          (unsigned long long)st.rts_started);
    j1939_tp_rx_free(rx);
    canbus_close(r.bus);
}

static int j1939_socket(void)
{
    int fd = socket(PF_CAN, SOCK_DGRAM, CAN_J1939);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
    struct sockaddr_can addr = {.can_family = AF_CAN, .can_ifindex = (int)if_nametoindex(IFACE)};
    addr.can_addr.j1939.name = KERNEL_J1939_NO_NAME;
    addr.can_addr.j1939.addr = J_SRC;
    addr.can_addr.j1939.pgn = KERNEL_J1939_NO_PGN;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void test_j1939(void)
{
    int fd = j1939_socket();
    check(fd >= 0, "kernel J1939 socket bound to address %02X%s%s", J_SRC, fd < 0 ? ": " : "",
          fd < 0 ? strerror(errno) : "");
    if (fd < 0)
        return;
    uint8_t payload[J_LEN];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 37 + 11);
    j1939_one(fd, J1939_ADDR_GLOBAL, payload);
    payload[0] ^= 0x5A; /* not the same message twice */
    j1939_one(fd, J_US, payload);
    close(fd);
}

/* ---- 2. ISO-TP: the kernel's can-isotp as the ECU ------------------------------------- */

#define REQ_ID  0x7E0
#define RESP_ID 0x7E8
#define BIG_LEN 64

static const char VIN[] = "WDB9634031L123456";

struct kecu {
    int fd;
    uint8_t request[64];
    ssize_t request_len;
    ssize_t sent;
    uint8_t big[256];
    ssize_t big_len;
    int err;
};

static void *kecu_main(void *arg)
{
    struct kecu *e = arg;
    uint8_t reply[20] = {0x49, 0x02, 0x01};
    memcpy(reply + 3, VIN, 17);
    e->request_len = read(e->fd, e->request, sizeof e->request);
    if (e->request_len < 0) {
        e->err = errno;
        return NULL;
    }
    e->sent = write(e->fd, reply, sizeof reply);
    if (e->sent < 0) {
        e->err = errno;
        return NULL;
    }
    e->big_len = read(e->fd, e->big, sizeof e->big);
    if (e->big_len < 0)
        e->err = errno;
    return NULL;
}

static int isotp_socket(uint32_t rx_id)
{
    int fd = socket(PF_CAN, SOCK_DGRAM, CAN_ISOTP);
    if (fd < 0)
        return -1;
    /* ISO 15765-4: every frame DLC 8 (padding); the kernel's default is no padding. */
    struct can_isotp_options opts = {.flags = CAN_ISOTP_TX_PADDING, .txpad_content = 0xAA};
    setsockopt(fd, SOL_CAN_ISOTP, CAN_ISOTP_OPTS, &opts, sizeof opts);
    struct sockaddr_can addr = {.can_family = AF_CAN, .can_ifindex = (int)if_nametoindex(IFACE)};
    addr.can_addr.tp.tx_id = RESP_ID;
    addr.can_addr.tp.rx_id = rx_id;
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The functional ECU: reads one single frame on 0x7DF, answers 41 00 + 4 bytes. */
struct kfunc {
    int fd;
    uint8_t request[8];
    ssize_t request_len, sent;
};

static const uint8_t PID00[] = {0x41, 0x00, 0xBE, 0x3F, 0xA8, 0x13};

static void *kfunc_main(void *arg)
{
    struct kfunc *k = arg;
    k->request_len = read(k->fd, k->request, sizeof k->request);
    if (k->request_len > 0)
        k->sent = write(k->fd, PID00, sizeof PID00);
    return NULL;
}

struct tester {
    canbus *bus;
    uint8_t data[ISOTP_MAX_PAYLOAD];
    size_t len;
    uint8_t ecu;
    uint32_t rx_id;
    int rx_done, rx_errors, tx_done, tx_errors, last_rc;
};

static int tester_send(void *ctx, const struct can_frame_rec *f)
{
    struct tester *t = ctx;
    return canbus_send(t->bus, f) == CANBUS_OK ? ISOTP_SEND_DONE : -1;
}

static void tester_event(void *ctx, const struct isotp_event *ev)
{
    struct tester *t = ctx;
    switch (ev->kind) {
    case ISOTP_EV_RX_DONE:
        memcpy(t->data, ev->data, ev->len);
        t->len = ev->len;
        t->ecu = ev->ecu;
        t->rx_id = ev->rx_id;
        t->rx_done++;
        break;
    case ISOTP_EV_RX_ERROR:
        t->rx_errors++;
        t->last_rc = ev->rc;
        break;
    case ISOTP_EV_TX_DONE:
        t->tx_done++;
        break;
    case ISOTP_EV_TX_ERROR:
        t->tx_errors++;
        t->last_rc = ev->rc;
        break;
    default:
        break;
    }
}

static void test_isotp(void)
{
    struct kecu e = {.fd = isotp_socket(REQ_ID)};
    check(e.fd >= 0, "kernel ISO-TP socket bound (rx %03X, tx %03X)%s%s", REQ_ID, RESP_ID,
          e.fd < 0 ? ": " : "", e.fd < 0 ? strerror(errno) : "");
    if (e.fd < 0)
        return;
    pthread_t th;
    pthread_create(&th, NULL, kecu_main, &e);
    struct tester t = {.bus = open_bus()};
    struct isotp_io io = {.send = tester_send, .on_event = tester_event, .ctx = &t};
    char err[256];

    /* Our client: physical 09 02 to 0x7E0, the kernel answers 20 bytes multi-frame. */
    struct isotp_client_config ccfg;
    isotp_client_config_default(&ccfg, ISOTP_ADDR_11BIT);
    isotp_client *c = isotp_client_new(&ccfg, &io, err, sizeof err);
    if (!c) {
        check(false, "isotp_client_new: %s", err);
        exit(1);
    }
    /* Functional 01 00 on 0x7DF to a kernel socket bound to rx 0x7DF, tx 0x7E8: a
     * single-frame exchange (a segmented answer would need its FC on 0x7E0, which a
     * socket bound to 0x7DF does not listen to). */
    struct kfunc k = {.fd = isotp_socket(0x7DF)};
    if (k.fd >= 0) {
        pthread_t kt;
        pthread_create(&kt, NULL, kfunc_main, &k);
        static const uint8_t freq[] = {0x01, 0x00};
        uint64_t f0 = mono_us(), fend = f0 + 5000000u;
        int frc = isotp_client_send_functional(c, freq, sizeof freq, f0);
        while (frc == 0 && mono_us() < fend && !t.rx_done && !t.rx_errors) {
            struct can_frame_rec f;
            while (canbus_recv(t.bus, &f) == CANBUS_OK)
                isotp_client_on_frame(c, &f, mono_us());
            isotp_client_poll(c, mono_us());
            uint64_t next = isotp_client_next_deadline_us(c);
            wait_bus(t.bus, next < fend ? next : fend);
        }
        pthread_join(kt, NULL);
        check(frc == 0 && k.request_len == 2 && k.request[0] == 0x01 && k.request[1] == 0x00 &&
                  t.rx_done == 1 && t.len == sizeof PID00 &&
                  memcmp(t.data, PID00, sizeof PID00) == 0 && t.ecu == 0,
              "functional 01 00 on 7DF: the kernel socket read it (%zd bytes) and our client "
              "got its answer from ECU %u (%zu bytes, %llu ms)",
              k.request_len, t.ecu, t.len, (unsigned long long)((mono_us() - f0) / 1000));
        close(k.fd);
    } else {
        check(false, "kernel ISO-TP socket on 7DF: %s", strerror(errno));
    }
    t.rx_done = t.rx_errors = 0;
    t.len = 0;

    static const uint8_t req[] = {0x09, 0x02};
    uint64_t t0 = mono_us(), end = t0 + 5000000u;
    int rc = isotp_client_send_physical(c, 0, req, sizeof req, t0);
    check(rc == 0, "isotp_client sends 09 02 to %03X (rc %d)", REQ_ID, rc);
    while (mono_us() < end && !t.rx_done && !t.rx_errors) {
        struct can_frame_rec f;
        while (canbus_recv(t.bus, &f) == CANBUS_OK)
            isotp_client_on_frame(c, &f, mono_us());
        isotp_client_poll(c, mono_us());
        uint64_t next = isotp_client_next_deadline_us(c);
        wait_bus(t.bus, next < end ? next : end);
    }
    uint64_t took = mono_us() - t0;
    uint8_t want[20] = {0x49, 0x02, 0x01};
    memcpy(want + 3, VIN, 17);
    check(e.request_len == 2 && e.request[0] == 0x09 && e.request[1] == 0x02,
          "the kernel's ISO-TP socket read our request (%zd bytes)", e.request_len);
    check(t.rx_done == 1 && t.len == sizeof want && memcmp(t.data, want, sizeof want) == 0 &&
              t.ecu == 0 && t.rx_id == RESP_ID,
          "isotp_client reassembled the kernel's %zu-byte answer from %03X with our flow "
          "control to %03X (VIN %.17s, %llu ms; rx errors %d, last %s)",
          t.len, (unsigned)t.rx_id, REQ_ID, t.len >= 20 ? (const char *)t.data + 3 : "-",
          (unsigned long long)(took / 1000), t.rx_errors, isotp_strerror(t.last_rc));
    isotp_client_free(c);

    /* Our link sends 64 bytes to 0x7E0; the kernel sends the flow control on 0x7E8. */
    struct isotp_link_config lcfg = {.tx_id = REQ_ID, .rx_id = RESP_ID};
    isotp_params_default(&lcfg.params);
    isotp_link *l = isotp_link_new(&lcfg, &io, err, sizeof err);
    if (!l) {
        check(false, "isotp_link_new: %s", err);
        exit(1);
    }
    uint8_t big[BIG_LEN];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(0xF0 ^ (i * 7));
    t.tx_done = t.tx_errors = 0; /* the client's single frame counted one */
    t0 = mono_us();
    end = t0 + 5000000u;
    rc = isotp_link_send(l, big, sizeof big, t0);
    check(rc == 0, "isotp_link starts a %d-byte message to %03X (rc %d)", BIG_LEN, REQ_ID, rc);
    while (mono_us() < end && !t.tx_done && !t.tx_errors) {
        struct can_frame_rec f;
        while (canbus_recv(t.bus, &f) == CANBUS_OK)
            isotp_link_on_frame(l, &f, mono_us());
        isotp_link_poll(l, mono_us());
        uint64_t next = isotp_link_next_deadline_us(l);
        wait_bus(t.bus, next < end ? next : end);
    }
    took = mono_us() - t0;
    pthread_join(th, NULL);
    check(t.tx_done == 1 && t.tx_errors == 0,
          "isotp_link finished sending, paced by the kernel's flow control (%llu ms%s%s)",
          (unsigned long long)(took / 1000), t.tx_errors ? ": " : "",
          t.tx_errors ? isotp_strerror(t.last_rc) : "");
    check(e.big_len == BIG_LEN && memcmp(e.big, big, BIG_LEN) == 0,
          "the kernel's ISO-TP socket received our %d-byte message intact (%zd bytes)%s%s", BIG_LEN,
          e.big_len, e.err ? ": " : "", e.err ? strerror(e.err) : "");
    isotp_link_free(l);
    canbus_close(t.bus);
    close(e.fd);
}

/* ---- 3. obdread against ecusim on the real bus ---------------------------------------- */

struct simrun {
    const struct ecusim_profile *p;
    canbus *bus;
    atomic_bool stop;
    bool failed;
    struct ecusim_stats st;
};

static void *sim_main(void *arg)
{
    struct simrun *r = arg;
    char err[256];
    struct ecusim_io io = {.send = bus_send, .ctx = r->bus};
    ecusim *sim = ecusim_new(r->p, &io, err, sizeof err);
    if (!sim) {
        printf("#   ecusim_new: %s\n", err);
        r->failed = true;
        return NULL;
    }
    ecusim_start(sim, mono_us());
    while (!atomic_load(&r->stop)) {
        struct can_frame_rec f;
        while (canbus_recv(r->bus, &f) == CANBUS_OK)
            ecusim_rx(sim, &f, mono_us());
        ecusim_tick(sim, mono_us());
        wait_bus(r->bus, ecusim_next_deadline(sim));
    }
    ecusim_get_stats(sim, &r->st);
    ecusim_free(sim);
    return NULL;
}

static bool has_dtc(const struct obdread_report *rep, uint8_t ecu, const char *code)
{
    for (size_t i = 0; i < rep->n_dtcs; i++)
        if (rep->dtcs[i].ecu == ecu && strcmp(rep->dtcs[i].code, code) == 0)
            return true;
    return false;
}

static void print_report(const struct obdread_report *rep)
{
    printf("#   %s, %s: %s\n#   VIN '%s', MIL %s, %zu ECU(s), %zu DTC(s):",
           obdread_protocol_name(rep->protocol), obdread_comm_name(rep->comm), rep->message,
           rep->vin, obdread_mil_name(rep->mil), rep->n_ecus, rep->n_dtcs);
    for (size_t i = 0; i < rep->n_dtcs; i++)
        printf(" %02X:%s", rep->dtcs[i].ecu, rep->dtcs[i].code);
    printf("\n");
}

/* obdread_run against ecusim running profile pp; preset names the variant. */
static void test_obdread(const char *preset, const struct ecusim_profile *pp)
{
    struct ecusim_profile p = *pp;
    struct simrun r = {.p = &p, .bus = open_bus()};
    pthread_t th;
    pthread_create(&th, NULL, sim_main, &r);
    canbus *bus = open_bus();
    struct obdread_report rep;
    char err[256] = "";
    uint64_t t0 = mono_us();
    int rc = obdread_run(bus, NULL, &rep, err, sizeof err);
    uint64_t took = mono_us() - t0;
    atomic_store(&r.stop, true);
    pthread_join(th, NULL);
    canbus_close(bus);
    canbus_close(r.bus);
    print_report(&rep);
    check(rc == OBDREAD_OK && rep.comm == OBDREAD_COMM_OK && !r.failed,
          "%s: obdread_run read the simulator over %s in %llu ms (rc %d%s%s)", preset, IFACE,
          (unsigned long long)(took / 1000), rc, err[0] ? ": " : "", err);
    check(strcmp(rep.vin, p.vin) == 0 && rep.vin_valid, "%s: VIN %s", preset, rep.vin);
    printf("#   ecusim: %llu frames, %llu requests answered, %llu OBD answers, TP %llu started, "
           "%llu completed, %llu failed\n",
           (unsigned long long)r.st.frames_tx, (unsigned long long)r.st.requests,
           (unsigned long long)r.st.obd_answers, (unsigned long long)r.st.tp_started,
           (unsigned long long)r.st.tp_completed, (unsigned long long)r.st.tp_failed);
    if (rep.protocol == OBDREAD_PROTO_J1939)
        check(r.st.requests > 0 && r.st.tp_completed > 0 && r.st.tp_failed == 0,
              "%s: our requests answered by the simulator, its transport sessions all completed "
              "(%llu requests, TP %llu completed, %llu failed)",
              preset, (unsigned long long)r.st.requests, (unsigned long long)r.st.tp_completed,
              (unsigned long long)r.st.tp_failed);
    if (p.j1939) {
        /* The truck presets also answer ISO 15765-4 on 29-bit ids (ECUs 10 and 18);
         * obdread then reads them as well and names that protocol, keeping the J1939
         * broadcasts (DM1) it collected while detecting. */
        bool iso = rep.protocol == OBDREAD_PROTO_ISO15765_29BIT;
        check(rep.protocol == OBDREAD_PROTO_J1939 || (p.obd29 && iso), "%s: protocol %s", preset,
              obdread_protocol_name(rep.protocol));
        check(rep.mil == (p.mil ? OBDREAD_MIL_ON : OBDREAD_MIL_OFF), "%s: MIL %s", preset,
              obdread_mil_name(rep.mil));
        size_t want = p.n_engine_dtc + p.n_aftert_dtc, found = 0;
        for (size_t i = 0; i < want; i++) {
            bool eng = i < p.n_engine_dtc;
            const struct ecusim_j1939_dtc *d =
                eng ? &p.engine_dtc[i] : &p.aftert_dtc[i - p.n_engine_dtc];
            char code[32];
            snprintf(code, sizeof code, "SPN %u FMI %u", (unsigned)d->spn, (unsigned)d->fmi);
            found += has_dtc(&rep, eng ? ECUSIM_ADDR_ENGINE : ECUSIM_ADDR_AFTERT, code);
        }
        check(want > 0 && found == want, "%s: the DM1 DTCs of ECUs 00 and 3D (%zu of %zu)", preset,
              found, want);
        size_t want_iso = 0, found_iso = 0;
        if (iso) {
            want_iso = p.n_obd_engine_dtc + p.n_obd_trans_dtc;
            for (size_t i = 0; i < want_iso; i++) {
                bool eng = i < p.n_obd_engine_dtc;
                char code[6];
                obd_dtc_format(eng ? p.obd_engine_dtc[i] : p.obd_trans_dtc[i - p.n_obd_engine_dtc],
                               code);
                found_iso += has_dtc(&rep, eng ? ECUSIM_OBD29_ENGINE : ECUSIM_OBD29_TRANS, code);
            }
            check(found_iso == want_iso,
                  "%s: the service 03 DTCs of 29-bit ECUs 10 and 18 (%zu of %zu)", preset,
                  found_iso, want_iso);
        }
        check(rep.n_dtcs == want + want_iso, "%s: no other DTCs (report has %zu, want %zu)", preset,
              rep.n_dtcs, want + want_iso);
    } else {
        check(rep.n_ecus == 2 && rep.ecus[0] + rep.ecus[1] == 1,
              "%s: ECUs 7E8 and 7E9 (%zu ECU(s))", preset, rep.n_ecus);
        check(rep.protocol == OBDREAD_PROTO_ISO15765_11BIT, "%s: protocol %s", preset,
              obdread_protocol_name(rep.protocol));
        size_t want = p.n_obd_engine_dtc + p.n_obd_trans_dtc, found = 0;
        for (size_t i = 0; i < want; i++) {
            bool eng = i < p.n_obd_engine_dtc;
            char code[6];
            obd_dtc_format(eng ? p.obd_engine_dtc[i] : p.obd_trans_dtc[i - p.n_obd_engine_dtc],
                           code);
            found += has_dtc(&rep, eng ? 0 : 1, code);
        }
        check(want > 0 && found == want && rep.n_dtcs == want,
              "%s: DTCs per ECU, engine 7E8 and transmission 7E9 (%zu of %zu, report has %zu)",
              preset, found, want, rep.n_dtcs);
        check(rep.mil == (p.mil ? OBDREAD_MIL_ON : OBDREAD_MIL_OFF), "%s: MIL %s", preset,
              obdread_mil_name(rep.mil));
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    uint64_t t0 = mono_us();
    test_j1939();
    uint64_t t1 = mono_us();
    test_isotp();
    uint64_t t2 = mono_us();
    struct ecusim_profile p;
    /* truck-mil as built in: J1939 and ISO 15765-4 29-bit. */
    if (ecusim_preset("truck-mil", &p) == ECUSIM_OK)
        test_obdread("truck-mil", &p);
    /* The same truck on J1939 only: address claim, VI requested (transport protocol to
     * our address), DM1 broadcasts, DM5. */
    if (ecusim_preset("truck-mil", &p) == ECUSIM_OK) {
        p.obd29 = false;
        test_obdread("truck-mil/J1939 only", &p);
    }
    /* car-obd with a transmission DTC too, so that each ECU has its own. */
    if (ecusim_preset("car-obd", &p) == ECUSIM_OK) {
        p.obd_trans_dtc[p.n_obd_trans_dtc++] = 0x0700; /* P0700 */
        test_obdread("car-obd+P0700", &p);
    }
    uint64_t t3 = mono_us();
    printf("vm_stack_test: j1939 %llu ms, isotp %llu ms, obdread %llu ms\n",
           (unsigned long long)((t1 - t0) / 1000), (unsigned long long)((t2 - t1) / 1000),
           (unsigned long long)((t3 - t2) / 1000));
    printf("vm_stack_test: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
