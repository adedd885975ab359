/* SPDX-License-Identifier: MIT */
/*
 * canbus on a real SocketCAN bus, inside the test VM (tests/vm/run-in-vm.sh), where
 * vcan0 is up and the kernel's CAN modules are loaded:
 *   - two socketcan endpoints exchange standard, extended and remote frames both ways;
 *     receive filters, own frames not seen, kernel timestamps;
 *   - error frames switched on (CAN_RAW_ERR_FILTER) and decoded: bus-off refuses
 *     sending until a restart; socket queue overflows counted (SO_RXQ_OVFL);
 *   - the kernel's can-isotp as a peer: a multi-frame request and a multi-frame answer,
 *     driven frame by frame over CAN_RAW (FF, FC, CF);
 *   - the kernel's can-j1939 sending 20 bytes by BAM and by RTS/CTS to an address,
 *     captured and answered over CAN_RAW (TP.CM, TP.DT, CTS, EndOfMsgAck), and its
 *     abort when no CTS comes;
 *   - sends the driver refuses (slcan on a pty, ENOBUFS): queued, retried on the
 *     backing-off schedule, all delivered in order;
 *   - the open errors: no such device, not a CAN interface, interface down.
 * Linked statically (the VM has no libc); prints one line per check, exits 1 on any
 * failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <termios.h>
#include <unistd.h>

#include <linux/can.h>
#include <linux/can/isotp.h>
#include <linux/can/j1939.h>
#include <linux/can/raw.h>
#include <linux/tty.h>
#include <net/if.h>

/* can_frame.h spells these two as its own (same values). */
#undef CAN_SFF_MASK
#undef CAN_EFF_MASK
#include "canbus.h"

#define IFACE "vcan0"

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

static canbus *open_bus(bool loopback)
{
    struct canbus_socketcan_opts o = {.loopback = loopback};
    char err[256];
    canbus *bus = canbus_open_socketcan(IFACE, &o, err, sizeof err);
    if (!bus) {
        printf("FAIL - open %s: %s\n", IFACE, err);
        exit(1);
    }
    return bus;
}

/* The next frame within timeout_ms, waiting in poll: CANBUS_OK or CANBUS_AGAIN. */
static int recv_wait(canbus *bus, struct can_frame_rec *f, int timeout_ms)
{
    uint64_t end = 0;
    for (;;) {
        int rc = canbus_recv(bus, f);
        if (rc != CANBUS_AGAIN)
            return rc;
        struct timeval tv;
        gettimeofday(&tv, NULL);
        uint64_t now = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
        if (!end)
            end = now + (uint64_t)timeout_ms;
        if (now >= end)
            return CANBUS_AGAIN;
        struct pollfd p = {.fd = canbus_fd(bus), .events = POLLIN};
        poll(&p, 1, (int)(end - now));
    }
}

/* Like recv_wait, but only frames whose id passes (id & mask) == want. */
static int recv_id(canbus *bus, struct can_frame_rec *f, uint32_t mask, uint32_t want,
                   int timeout_ms)
{
    int rc;
    while ((rc = recv_wait(bus, f, timeout_ms)) == CANBUS_OK)
        if ((f->id & mask) == want)
            return CANBUS_OK;
    return rc;
}

static struct can_frame_rec mk(uint32_t id, uint8_t len, const uint8_t *data)
{
    struct can_frame_rec f = {.id = id, .len = len};
    if (data)
        memcpy(f.data, data, len);
    return f;
}

static bool same(const struct can_frame_rec *a, const struct can_frame_rec *b)
{
    return a->id == b->id && a->len == b->len &&
           ((a->id & CAN_FRAME_RTR) || memcmp(a->data, b->data, a->len) == 0);
}

static void test_both_ways(void)
{
    canbus *a = open_bus(true), *b = open_bus(true);
    static const uint8_t d8[8] = {0x01, 0x04, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF};
    struct can_frame_rec sent[] = {
        mk(0x123, 3, (const uint8_t[]){0x11, 0x22, 0x33}),
        mk(0x18FECA00 | CAN_FRAME_EFF, 8, d8),
        mk(0x7DF | CAN_FRAME_RTR, 3, NULL),
        mk(0x000, 0, NULL),
    };
    for (size_t i = 0; i < sizeof sent / sizeof sent[0]; i++)
        check(canbus_send(a, &sent[i]) == CANBUS_OK, "a sends frame %zu", i);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    for (size_t i = 0; i < sizeof sent / sizeof sent[0]; i++) {
        struct can_frame_rec got;
        int rc = recv_wait(b, &got, 1000);
        check(rc == CANBUS_OK && same(&got, &sent[i]) && got.t_us > 0,
              "b receives frame %zu (id %08X len %u)", i, (unsigned)got.id, got.len);
    }
    struct can_frame_rec back = mk(0x321, 2, (const uint8_t[]){0xAB, 0xCD}), got;
    check(canbus_send(b, &back) == CANBUS_OK, "b answers");
    int rc = recv_wait(a, &got, 1000);
    check(rc == CANBUS_OK && same(&got, &back), "a receives b's frame, not its own ones");
    check(recv_wait(a, &got, 50) == CANBUS_AGAIN, "a has nothing else (recv_own_msgs off)");
    struct canbus_stats sa, sb;
    canbus_stats(a, &sa);
    canbus_stats(b, &sb);
    check(sa.tx == 4 && sa.rx == 1 && sb.tx == 1 && sb.rx == 4,
          "stats: a tx %llu rx %llu, b tx %llu rx %llu", (unsigned long long)sa.tx,
          (unsigned long long)sa.rx, (unsigned long long)sb.tx, (unsigned long long)sb.rx);

    /* Filters in the kernel: only standard data frames 0x123. */
    struct canbus_filter only = {.id = 0x123, .mask = CAN_SFF_MASK | CAN_FRAME_EFF | CAN_FRAME_RTR};
    check(canbus_set_filters(b, &only, 1) == CANBUS_OK, "b filters 0x123");
    struct can_frame_rec f124 = mk(0x124, 1, (const uint8_t[]){1}),
                         f123 = mk(0x123, 1, (const uint8_t[]){2}),
                         eff = mk(0x123 | CAN_FRAME_EFF, 1, (const uint8_t[]){3}),
                         rtr = mk(0x123 | CAN_FRAME_RTR, 0, NULL);
    canbus_send(a, &f124);
    canbus_send(a, &eff);
    canbus_send(a, &rtr);
    canbus_send(a, &f123);
    rc = recv_wait(b, &got, 1000);
    check(rc == CANBUS_OK && same(&got, &f123), "b gets only the standard data frame 0x123");
    check(recv_wait(b, &got, 50) == CANBUS_AGAIN, "and nothing else");
    check(canbus_set_filters(b, NULL, 0) == CANBUS_OK, "b drops its filters");
    canbus_send(a, &f124);
    check(recv_wait(b, &got, 1000) == CANBUS_OK && same(&got, &f124), "b gets 0x124 again");

    /* Without loopback (the default), no other socket on this host sees our frames. */
    canbus *quiet = open_bus(false);
    canbus_send(quiet, &f123);
    check(recv_wait(b, &got, 100) == CANBUS_AGAIN, "loopback off: b does not see the frame");
    canbus_close(quiet);
    canbus_close(a);
    canbus_close(b);
}

static int sockopt(canbus *bus, int opt)
{
    int v = -1;
    socklen_t len = sizeof v;
    if (getsockopt(canbus_fd(bus), SOL_CAN_RAW, opt, &v, &len) < 0)
        return -1;
    return v;
}

static void test_error_frames(void)
{
    canbus *plain = open_bus(false);
    check(sockopt(plain, CAN_RAW_ERR_FILTER) == (int)CAN_ERR_MASK,
          "error frames on: CAN_RAW_ERR_FILTER = %08X",
          (unsigned)sockopt(plain, CAN_RAW_ERR_FILTER));
    check(sockopt(plain, CAN_RAW_LOOPBACK) == 0 && sockopt(plain, CAN_RAW_RECV_OWN_MSGS) == 0,
          "defaults: loopback %d, recv_own_msgs %d", sockopt(plain, CAN_RAW_LOOPBACK),
          sockopt(plain, CAN_RAW_RECV_OWN_MSGS));
    canbus_close(plain);

    /* vcan carries error frames like any other (canerrsim does the same), so one socket
     * plays the controller reporting to the other. */
    canbus *ctrl = open_bus(true), *node = open_bus(true);
    struct can_frame_rec busoff = {.id = CAN_FRAME_ERR | CANBUS_ERRC_BUSOFF, .len = 8}, got;
    check(canbus_send(ctrl, &busoff) == CANBUS_OK, "error frame bus-off sent");
    int rc = recv_wait(node, &got, 1000);
    char text[128] = "";
    canbus_error_describe(&got, text, sizeof text);
    check(rc == CANBUS_OK && (got.id & CAN_FRAME_ERR) && strcmp(text, "bus-off") == 0,
          "node receives it as an error frame: %s", text);
    check(canbus_state(node) == CANBUS_STATE_BUS_OFF, "node state %s",
          canbus_state_name(canbus_state(node)));
    struct can_frame_rec data = mk(0x100, 1, (const uint8_t[]){1});
    check(canbus_send(node, &data) == CANBUS_EBUSOFF, "bus-off refuses sending: %s",
          canbus_errmsg(node));
    struct can_frame_rec passive = {.id = CAN_FRAME_ERR | CANBUS_ERRC_CRTL | CANBUS_ERRC_CNT,
                                    .len = 8,
                                    .data = {0, CANBUS_CTRL_TX_PASSIVE, 0, 0, 0, 0, 128, 0}};
    struct can_frame_rec restarted = {.id = CAN_FRAME_ERR | CANBUS_ERRC_RESTARTED, .len = 8};
    canbus_send(ctrl, &restarted);
    canbus_send(ctrl, &passive);
    recv_wait(node, &got, 1000);
    check(canbus_state(node) == CANBUS_STATE_ACTIVE, "restarted: node %s",
          canbus_state_name(canbus_state(node)));
    recv_wait(node, &got, 1000);
    check(canbus_state(node) == CANBUS_STATE_PASSIVE, "then tx-error-passive: node %s",
          canbus_state_name(canbus_state(node)));
    check(canbus_send(node, &data) == CANBUS_OK, "node sends again");
    struct canbus_stats st;
    canbus_stats(node, &st);
    check(st.error_frames == 3 && st.bus_off == 1 && st.restarts == 1 && st.error_passive == 1 &&
              st.rx == 0,
          "node stats: %llu error frames, bus-off %llu, restarts %llu, passive %llu",
          (unsigned long long)st.error_frames, (unsigned long long)st.bus_off,
          (unsigned long long)st.restarts, (unsigned long long)st.error_passive);
    canbus_close(node);

    /* A receiver that does not read: its socket queue overflows. The kernel stamps the
     * running drop count on each frame it queues, so the loss shows with the first frame
     * that arrives after it. */
    struct canbus_socketcan_opts small = {.rcvbuf_bytes = 4096};
    char err[256];
    canbus *slow = canbus_open_socketcan(IFACE, &small, err, sizeof err);
    check(slow != NULL, "slow reader opened%s%s", slow ? "" : ": ", slow ? "" : err);
    if (!slow)
        return;
    for (int i = 0; i < 500; i++) {
        struct can_frame_rec f = mk(0x200, 2, (const uint8_t[]){(uint8_t)i, 0});
        canbus_send(ctrl, &f);
    }
    int n = 0;
    while (recv_wait(slow, &got, 50) == CANBUS_OK)
        n++;
    struct can_frame_rec last = mk(0x201, 0, NULL);
    canbus_send(ctrl, &last);
    int rc_last = recv_wait(slow, &got, 1000);
    canbus_stats(slow, &st);
    check(n > 0 && n < 500 && rc_last == CANBUS_OK && n + (int)st.dropped == 500,
          "slow reader got %d of 500 frames, dropped %llu (SO_RXQ_OVFL)", n,
          (unsigned long long)st.dropped);
    canbus_close(slow);
    canbus_close(ctrl);
}

/* ---- ISO-TP: the kernel's can-isotp as the ECU, driven over CAN_RAW ------------------ */

#define ISOTP_REQ_ID  0x7E0
#define ISOTP_RESP_ID 0x7E8

struct ecu {
    int fd;
    uint8_t request[64];
    ssize_t request_len;
    const uint8_t *response;
    size_t response_len;
    ssize_t sent;
    int err;
};

static void *ecu_main(void *arg)
{
    struct ecu *e = arg;
    e->request_len = recv(e->fd, e->request, sizeof e->request, 0);
    if (e->request_len < 0) {
        e->err = errno;
        return NULL;
    }
    e->sent = send(e->fd, e->response, e->response_len, 0);
    if (e->sent < 0)
        e->err = errno;
    return NULL;
}

static int isotp_socket(void)
{
    int fd = socket(PF_CAN, SOCK_DGRAM, CAN_ISOTP);
    if (fd < 0)
        return -1;
    struct sockaddr_can addr = {.can_family = AF_CAN, .can_ifindex = (int)if_nametoindex(IFACE)};
    addr.can_addr.tp.tx_id = ISOTP_RESP_ID;
    addr.can_addr.tp.rx_id = ISOTP_REQ_ID;
    struct timeval tv = {.tv_sec = 3};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void test_isotp_peer(void)
{
    uint8_t request[12], response[20];
    for (size_t i = 0; i < sizeof request; i++)
        request[i] = (uint8_t)(0x30 + i);
    static const char vin[] = "LZZ1CLSB9AW123456";
    response[0] = 0x49, response[1] = 0x02, response[2] = 0x01;
    memcpy(response + 3, vin, 17);

    struct ecu e = {.response = response, .response_len = sizeof response};
    e.fd = isotp_socket();
    check(e.fd >= 0, "kernel ISO-TP socket bound (rx %03X, tx %03X)%s%s", ISOTP_REQ_ID,
          ISOTP_RESP_ID, e.fd < 0 ? ": " : "", e.fd < 0 ? strerror(errno) : "");
    if (e.fd < 0)
        return;
    pthread_t t;
    pthread_create(&t, NULL, ecu_main, &e);
    canbus *tester = open_bus(true);
    struct can_frame_rec f, got;

    /* Request, 12 bytes: First Frame, the ECU's Flow Control, one Consecutive Frame. */
    f = mk(ISOTP_REQ_ID, 8, (const uint8_t[]){0x10, sizeof request, 0, 0, 0, 0, 0, 0});
    memcpy(f.data + 2, request, 6);
    canbus_send(tester, &f);
    int rc = recv_id(tester, &got, CAN_SFF_MASK | CAN_FRAME_EFF, ISOTP_RESP_ID, 1000);
    check(rc == CANBUS_OK && (got.data[0] & 0xF0) == 0x30 && got.len >= 3,
          "kernel answers the First Frame with Flow Control %02X %02X %02X", got.data[0],
          got.data[1], got.data[2]);
    f = mk(ISOTP_REQ_ID, 8, (const uint8_t[]){0x21, 0, 0, 0, 0, 0, 0, 0xAA});
    memcpy(f.data + 1, request + 6, 6);
    canbus_send(tester, &f);

    /* Answer, 20 bytes: First Frame, our Flow Control, two Consecutive Frames. */
    rc = recv_id(tester, &got, CAN_SFF_MASK | CAN_FRAME_EFF, ISOTP_RESP_ID, 2000);
    check(rc == CANBUS_OK && got.data[0] == 0x10 && got.data[1] == sizeof response && got.len == 8,
          "kernel answers with a First Frame of %u bytes", got.data[1]);
    uint8_t answer[20];
    size_t have = 0;
    if (rc == CANBUS_OK) {
        memcpy(answer, got.data + 2, 6);
        have = 6;
    }
    f = mk(ISOTP_REQ_ID, 8, (const uint8_t[]){0x30, 0, 0, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA});
    canbus_send(tester, &f);
    for (uint8_t sn = 1; have < sizeof answer; sn++) {
        rc = recv_id(tester, &got, CAN_SFF_MASK | CAN_FRAME_EFF, ISOTP_RESP_ID, 1000);
        if (rc != CANBUS_OK || got.data[0] != (0x20 | sn)) {
            check(false, "Consecutive Frame %u: rc %d, PCI %02X", sn, rc, got.data[0]);
            break;
        }
        size_t take = sizeof answer - have < 7 ? sizeof answer - have : 7;
        memcpy(answer + have, got.data + 1, take);
        have += take;
    }
    pthread_join(t, NULL);
    check(e.request_len == sizeof request && memcmp(e.request, request, sizeof request) == 0,
          "kernel ISO-TP received our 12-byte request (%zd bytes)%s%s", e.request_len,
          e.err ? ": " : "", e.err ? strerror(e.err) : "");
    check(have == sizeof answer && memcmp(answer, response, sizeof answer) == 0 &&
              e.sent == (ssize_t)sizeof response,
          "we reassembled its 20-byte answer (VIN %.17s)", (const char *)answer + 3);
    close(e.fd);
    canbus_close(tester);
}

/* ---- J1939: the kernel's can-j1939 sending, captured and answered over CAN_RAW ---------- */

#define J_SRC      0x80
#define J_DST      0x90
#define PGN_VIN    0x0FEEC
#define PGN_PROP_A 0x0EF00

struct jsend {
    int fd;
    uint8_t dst;
    uint32_t pgn;
    const uint8_t *data;
    size_t len;
    ssize_t rc;
    int err;
};

static void *jsend_main(void *arg)
{
    struct jsend *s = arg;
    struct sockaddr_can to = {.can_family = AF_CAN, .can_ifindex = (int)if_nametoindex(IFACE)};
    to.can_addr.j1939.name = J1939_NO_NAME;
    to.can_addr.j1939.addr = s->dst;
    to.can_addr.j1939.pgn = s->pgn;
    s->rc = sendto(s->fd, s->data, s->len, 0, (struct sockaddr *)&to, sizeof to);
    s->err = s->rc < 0 ? errno : 0;
    return NULL;
}

static int j1939_socket(void)
{
    int fd = socket(PF_CAN, SOCK_DGRAM, CAN_J1939);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
    struct sockaddr_can addr = {.can_family = AF_CAN, .can_ifindex = (int)if_nametoindex(IFACE)};
    addr.can_addr.j1939.name = J1939_NO_NAME;
    addr.can_addr.j1939.addr = J_SRC;
    addr.can_addr.j1939.pgn = J1939_NO_PGN;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads the TP.DT frames 1..n from src to dst and checks their payload and padding. */
static bool read_dt(canbus *raw, uint8_t dst, const uint8_t *payload, size_t len,
                    uint64_t *gap_min_us)
{
    size_t packets = (len + 6) / 7;
    uint64_t prev = 0;
    *gap_min_us = UINT64_MAX;
    for (size_t sn = 1; sn <= packets; sn++) {
        struct can_frame_rec got;
        int rc = recv_id(raw, &got, CAN_FRAME_EFF | 0xFFFFFF,
                         CAN_FRAME_EFF | 0xEB0000u | (uint32_t)dst << 8 | J_SRC, 2000);
        if (rc != CANBUS_OK || got.len != 8 || got.data[0] != sn) {
            check(false, "TP.DT %zu: rc %d len %u seq %u", sn, rc, got.len, got.data[0]);
            return false;
        }
        for (size_t i = 0; i < 7; i++) {
            size_t at = (sn - 1) * 7 + i;
            uint8_t want = at < len ? payload[at] : 0xFF;
            if (got.data[1 + i] != want) {
                check(false, "TP.DT %zu byte %zu: %02X, want %02X", sn, i, got.data[1 + i], want);
                return false;
            }
        }
        if (prev && got.t_us - prev < *gap_min_us)
            *gap_min_us = got.t_us - prev;
        prev = got.t_us;
    }
    return true;
}

static void test_j1939_peer(void)
{
    int fd = j1939_socket();
    check(fd >= 0, "kernel J1939 socket bound to address %02X%s%s", J_SRC, fd < 0 ? ": " : "",
          fd < 0 ? strerror(errno) : "");
    if (fd < 0)
        return;
    canbus *raw = open_bus(true);
    uint8_t payload[20];
    memcpy(payload, "LZZ1CLSB9AW123456*\0\0", 20);
    struct can_frame_rec got;

    /* BAM: TP.CM_BAM to 0xFF, then 3 TP.DT at the BAM pace. */
    struct jsend s = {.fd = fd, .dst = 0xFF, .pgn = PGN_VIN, .data = payload, .len = 20};
    pthread_t t;
    pthread_create(&t, NULL, jsend_main, &s);
    int rc = recv_id(raw, &got, CAN_FRAME_EFF | 0xFFFFFF, CAN_FRAME_EFF | 0xECFF00u | J_SRC, 2000);
    static const uint8_t bam[8] = {0x20, 20, 0, 3, 0xFF, 0xEC, 0xFE, 0x00};
    check(rc == CANBUS_OK && got.len == 8 && memcmp(got.data, bam, 8) == 0,
          "BAM: TP.CM %08X %02X %02X %02X %02X %02X %02X %02X %02X",
          (unsigned)(got.id & CAN_EFF_MASK), got.data[0], got.data[1], got.data[2], got.data[3],
          got.data[4], got.data[5], got.data[6], got.data[7]);
    uint64_t gap;
    bool ok = read_dt(raw, 0xFF, payload, 20, &gap);
    check(ok && gap >= 10000, "BAM: 3 TP.DT with the payload, padded with FF, >= %llu ms apart",
          (unsigned long long)(gap / 1000));
    pthread_join(t, NULL);
    check(s.rc == 20, "BAM: sendto returned %zd%s%s", s.rc, s.err ? ": " : "",
          s.err ? strerror(s.err) : "");

    /* RTS/CTS to 0x90: we are 0x90 and answer with CTS and EndOfMsgAck. */
    s = (struct jsend){.fd = fd, .dst = J_DST, .pgn = PGN_PROP_A, .data = payload, .len = 20};
    pthread_create(&t, NULL, jsend_main, &s);
    rc = recv_id(raw, &got, CAN_FRAME_EFF | 0xFFFFFF,
                 CAN_FRAME_EFF | 0xEC0000u | J_DST << 8 | J_SRC, 2000);
    check(rc == CANBUS_OK && got.len == 8 && got.data[0] == 0x10 && got.data[1] == 20 &&
              got.data[2] == 0 && got.data[3] == 3 && got.data[5] == 0x00 && got.data[6] == 0xEF &&
              got.data[7] == 0x00,
          "RTS: TP.CM %08X %02X %02X %02X %02X %02X %02X %02X %02X",
          (unsigned)(got.id & CAN_EFF_MASK), got.data[0], got.data[1], got.data[2], got.data[3],
          got.data[4], got.data[5], got.data[6], got.data[7]);
    uint32_t prio = (got.id >> 26) & 7;
    struct can_frame_rec cts = mk(CAN_FRAME_EFF | prio << 26 | 0xEC0000u | J_SRC << 8 | J_DST, 8,
                                  (const uint8_t[]){0x11, 3, 1, 0xFF, 0xFF, 0x00, 0xEF, 0x00});
    canbus_send(raw, &cts);
    ok = read_dt(raw, J_DST, payload, 20, &gap);
    check(ok, "RTS/CTS: 3 TP.DT to %02X with the payload, padded with FF", J_DST);
    struct can_frame_rec eoma =
        mk(cts.id, 8, (const uint8_t[]){0x13, 20, 0, 3, 0xFF, 0x00, 0xEF, 0x00});
    canbus_send(raw, &eoma);
    pthread_join(t, NULL);
    /* An aborted session would leave its error on the socket and a TP.CM_Abort (0xFF) on
     * the bus; wait past the kernel's 750 ms T1 to be sure neither comes. */
    rc = recv_id(raw, &got, CAN_FRAME_EFF | 0xFFFFFF,
                 CAN_FRAME_EFF | 0xEC0000u | J_DST << 8 | J_SRC, 1000);
    int so_error = 0;
    socklen_t len = sizeof so_error;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    check(s.rc == 20 && rc == CANBUS_AGAIN && so_error == 0,
          "RTS/CTS: session completed (sendto %zd, no abort, SO_ERROR %d)", s.rc, so_error);

    /* Control: the same without a CTS must be aborted by the kernel. */
    s = (struct jsend){.fd = fd, .dst = J_DST, .pgn = PGN_PROP_A, .data = payload, .len = 20};
    pthread_create(&t, NULL, jsend_main, &s);
    pthread_join(t, NULL);
    rc = recv_id(raw, &got, CAN_FRAME_EFF | 0xFFFFFF,
                 CAN_FRAME_EFF | 0xEC0000u | J_DST << 8 | J_SRC, 2000); /* the RTS */
    rc = recv_id(raw, &got, CAN_FRAME_EFF | 0xFFFFFF,
                 CAN_FRAME_EFF | 0xEC0000u | J_DST << 8 | J_SRC, 3000);
    check(rc == CANBUS_OK && got.data[0] == 0xFF,
          "RTS without CTS: the kernel sends TP.Conn_Abort (control %02X, reason %u)", got.data[0],
          got.data[1]);
    close(fd);
    canbus_close(raw);
}

/* ---- Sends the driver refuses: slcan on a pseudo-terminal ----------------------------- */

/* vcan takes every frame at once. slcan has a real transmit queue: while nobody reads
 * the pty's master side the tty fills, slcan stops its queue, the qdisc fills and write()
 * fails with ENOBUFS. canbus must queue those frames and send them, in order, once the
 * tty drains, retrying on its backing-off schedule instead of spinning. */
#define SLCAN_FRAMES 3000

static int slcan_open(int *master, char *name, size_t namelen)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
        return -1;
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    if (s < 0)
        return -1;
    struct termios t;
    tcgetattr(s, &t);
    cfmakeraw(&t);
    tcsetattr(s, TCSANOW, &t);
    int ldisc = N_SLCAN;
    char ifname[IFNAMSIZ] = "";
    if (ioctl(s, TIOCSETD, &ldisc) < 0 || ioctl(s, SIOCGIFNAME, ifname) < 0)
        return -1;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "ip link set %s up", ifname);
    if (system(cmd) != 0)
        return -1;
    snprintf(name, namelen, "%s", ifname);
    *master = m;
    return s;
}

/* Reads what slcan wrote ("t1004xxxxxxxx\r" per frame) and checks the sequence. */
struct slcan_reader {
    char line[32];
    size_t len;
    unsigned next, bad;
};

static void slcan_consume(struct slcan_reader *r, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (buf[i] != '\r') {
            if (r->len < sizeof r->line - 1)
                r->line[r->len++] = buf[i];
            continue;
        }
        r->line[r->len] = '\0';
        unsigned b[4] = {0};
        if (r->len != 13 || strncmp(r->line, "t2004", 5) != 0 ||
            sscanf(r->line + 5, "%2x%2x%2x%2x", &b[0], &b[1], &b[2], &b[3]) != 4 ||
            (b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24) != r->next)
            r->bad++;
        r->next++;
        r->len = 0;
    }
}

static void test_deferred_sends(void)
{
    int master, slave;
    char name[IFNAMSIZ];
    slave = slcan_open(&master, name, sizeof name);
    check(slave >= 0, "slcan on a pty: %s", slave >= 0 ? name : strerror(errno));
    if (slave < 0)
        return;
    struct canbus_socketcan_opts o = {.tx_queue_len = SLCAN_FRAMES};
    char err[256];
    canbus *bus = canbus_open_socketcan(name, &o, err, sizeof err);
    check(bus != NULL, "socketcan on %s%s%s", name, bus ? "" : ": ", bus ? "" : err);
    if (!bus)
        return;
    int accepted = 0;
    for (unsigned i = 0; i < SLCAN_FRAMES; i++) {
        struct can_frame_rec f = {.id = 0x200, .len = 4};
        memcpy(f.data, &i, 4);
        accepted += canbus_send(bus, &f) == CANBUS_OK;
    }
    struct canbus_stats st;
    canbus_stats(bus, &st);
    int first_wait = canbus_timeout_ms(bus);
    check(accepted == SLCAN_FRAMES && st.tx_deferred > 0 &&
              st.tx + st.tx_deferred == SLCAN_FRAMES && first_wait > 0,
          "driver busy: %llu frames written, %llu queued (retry in %d ms, not at once)",
          (unsigned long long)st.tx, (unsigned long long)st.tx_deferred, first_wait);
    /* Go on until the queue is full: then sending says so instead of growing. */
    unsigned sent = SLCAN_FRAMES;
    int rc = CANBUS_OK;
    while (sent < 2 * SLCAN_FRAMES) {
        struct can_frame_rec f = {.id = 0x200, .len = 4};
        memcpy(f.data, &sent, 4);
        if ((rc = canbus_send(bus, &f)) != CANBUS_OK)
            break;
        sent++;
    }
    check(rc == CANBUS_AGAIN && strstr(canbus_errmsg(bus), "send queue full"),
          "a full send queue refuses with CANBUS_AGAIN: %s", canbus_errmsg(bus));

    /* The poll loop: the pty is the "bus"; canbus_timeout_ms() paces the retries. */
    struct slcan_reader r = {.next = 0};
    static char buf[1 << 14];
    int wakeups = 0, early = 0;
    while (r.next < sent && wakeups < 8 * SLCAN_FRAMES) {
        ssize_t n = read(master, buf, sizeof buf);
        if (n > 0)
            slcan_consume(&r, buf, (size_t)n);
        int timeout = canbus_timeout_ms(bus);
        if (n <= 0) {
            struct pollfd p = {.fd = master, .events = POLLIN};
            early += timeout == 0;
            poll(&p, 1, timeout < 0 ? 100 : timeout);
        }
        canbus_flush(bus);
        wakeups++;
    }
    canbus_stats(bus, &st);
    check(r.next == sent && r.bad == 0 && st.tx == sent && st.tx_failed == 0,
          "all %u frames went out in order (%u out of order, %llu failed)", r.next, r.bad,
          (unsigned long long)st.tx_failed);
    check(early == 0 && canbus_timeout_ms(bus) == -1,
          "no busy loop: %d wakeups, %d with a retry already due", wakeups, early);
    canbus_close(bus);
    close(slave);
    close(master);
}

static void test_open_errors(void)
{
    char err[256];
    canbus *bus = canbus_open_socketcan("vcan9", NULL, err, sizeof err);
    check(!bus && strstr(err, "vcan9: No such device") == err, "missing device: %s", err);
    bus = canbus_open_socketcan("lo", NULL, err, sizeof err);
    check(!bus && strcmp(err, "lo: not a CAN interface") == 0, "loopback: %s", err);
    if (system("ip link add dev vcan1 type vcan") == 0) {
        bus = canbus_open_socketcan("vcan1", NULL, err, sizeof err);
        check(!bus && strstr(err, "vcan1: interface is down") == err, "down: %s", err);
        if (system("ip link del dev vcan1") != 0)
            check(false, "ip link del dev vcan1");
    } else
        check(false, "ip link add dev vcan1 type vcan");
    canbus_close(bus);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_both_ways();
    test_error_frames();
    test_isotp_peer();
    test_j1939_peer();
    test_deferred_sends();
    test_open_errors();
    printf("vm_canbus_test: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
