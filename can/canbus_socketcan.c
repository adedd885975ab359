/* SPDX-License-Identifier: MIT */
/*
 * socketcan backend: a non-blocking CAN_RAW socket. Error frames are switched on
 * (CAN_RAW_ERR_FILTER), SO_TIMESTAMP gives the kernel's receive time and
 * SO_RXQ_OVFL the frames the socket queue dropped. Sends the driver refuses for
 * now (EAGAIN, ENOBUFS: the device queue is full) wait in a bounded queue and are
 * retried on a backing-off schedule the caller's poll loop sees through
 * canbus_timeout_ms(); POLLOUT cannot be used for that, since a CAN_RAW socket
 * stays writable while the device queue is full.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <linux/can.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>
#include <linux/if_arp.h>

/* can_frame.h spells these two as its own (same values); let its definitions stand. */
#undef CAN_SFF_MASK
#undef CAN_EFF_MASK
#include "canbus_priv.h"

_Static_assert(CAN_FRAME_EFF == CAN_EFF_FLAG && CAN_FRAME_RTR == CAN_RTR_FLAG &&
                   CAN_FRAME_ERR == CAN_ERR_FLAG,
               "can_frame.h flags are the kernel's");
_Static_assert(CANBUS_ERRC_BUSOFF == CAN_ERR_BUSOFF && CANBUS_ERRC_CRTL == CAN_ERR_CRTL &&
                   CANBUS_ERRC_RESTARTED == CAN_ERR_RESTARTED && CANBUS_ERRC_ACK == CAN_ERR_ACK &&
                   CANBUS_CTRL_TX_PASSIVE == CAN_ERR_CRTL_TX_PASSIVE &&
                   CANBUS_CTRL_ACTIVE == CAN_ERR_CRTL_ACTIVE,
               "error classes are the kernel's");

#define TX_QUEUE_DEFAULT 64

struct sc_bus {
    struct canbus base;
    int fd;
    struct canbus_txq txq;
};

static struct sc_bus *sc(canbus *bus)
{
    return (struct sc_bus *)bus;
}

static const struct sc_bus *csc(const canbus *bus)
{
    return (const struct sc_bus *)bus;
}

static void to_kernel(const struct can_frame_rec *f, struct can_frame *k)
{
    memset(k, 0, sizeof *k);
    k->can_id = f->id;
    k->can_dlc = f->len;
    memcpy(k->data, f->data, f->len);
}

/* The kernel's receive time (CLOCK_REALTIME) moved to CLOCK_MONOTONIC: now minus the
 * frame's age, so a clock step between reception and reading does not matter much. */
static uint64_t mono_from_real(const struct timeval *tv)
{
    struct timespec real;
    clock_gettime(CLOCK_REALTIME, &real);
    uint64_t mono = canbus_mono_us();
    int64_t real_us = (int64_t)real.tv_sec * 1000000 + real.tv_nsec / 1000;
    int64_t stamp_us = (int64_t)tv->tv_sec * 1000000 + tv->tv_usec;
    int64_t age = real_us - stamp_us;
    if (age < 0)
        age = 0;
    return (uint64_t)age > mono ? 0 : mono - (uint64_t)age;
}

/* Writes one frame: CANBUS_OK, CANBUS_AGAIN (driver busy) or CANBUS_ERR. */
static int write_frame(struct sc_bus *b, const struct can_frame_rec *f)
{
    struct can_frame k;
    to_kernel(f, &k);
    ssize_t n = write(b->fd, &k, sizeof k);
    if (n == (ssize_t)sizeof k) {
        b->base.stats.tx++;
        return CANBUS_OK;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR))
        return CANBUS_AGAIN;
    if (n < 0 && errno == ENETDOWN)
        return canbus_fail(&b->base, CANBUS_ERR, "write: interface is down");
    if (n < 0)
        return canbus_fail(&b->base, CANBUS_ERR, "write: %s", strerror(errno));
    return canbus_fail(&b->base, CANBUS_ERR, "write: short write (%zd of %zu bytes)", n, sizeof k);
}

static int sc_flush(canbus *bus)
{
    struct sc_bus *b = sc(bus);
    const struct can_frame_rec *f;
    int rc = CANBUS_OK;
    while ((f = canbus_txq_head(&b->txq)) != NULL) {
        int w = write_frame(b, f);
        if (w == CANBUS_AGAIN) {
            canbus_txq_refused(&b->txq, canbus_mono_us());
            return rc == CANBUS_OK ? CANBUS_AGAIN : rc;
        }
        if (w != CANBUS_OK) {
            /* Gone or down: keeping the frame would retry forever. */
            bus->stats.tx_failed++;
            rc = CANBUS_ERR;
        } else
            canbus_txq_accepted(&b->txq);
        canbus_txq_pop(&b->txq);
    }
    return rc;
}

static void flush_if_due(struct sc_bus *b)
{
    if (canbus_txq_timeout_ms(&b->txq, canbus_mono_us()) == 0)
        sc_flush(&b->base);
}

static int sc_send(canbus *bus, const struct can_frame_rec *f)
{
    struct sc_bus *b = sc(bus);
    flush_if_due(b);
    if (b->txq.count) {
        /* Behind earlier frames, to keep the order (J1939 TP.DT, ISO-TP CF). */
        if (!canbus_txq_push(&b->txq, f))
            return canbus_fail(bus, CANBUS_AGAIN, "send queue full (%zu frames wait)",
                               b->txq.count);
        bus->stats.tx_deferred++;
        return CANBUS_OK;
    }
    int w = write_frame(b, f);
    if (w != CANBUS_AGAIN)
        return w;
    canbus_txq_push(&b->txq, f); /* the queue is empty here */
    canbus_txq_refused(&b->txq, canbus_mono_us());
    bus->stats.tx_deferred++;
    return CANBUS_OK;
}

static int sc_recv(canbus *bus, struct can_frame_rec *out)
{
    struct sc_bus *b = sc(bus);
    flush_if_due(b);
    struct can_frame k;
    struct sockaddr_can addr;
    char ctrl[CMSG_SPACE(sizeof(struct timeval)) + CMSG_SPACE(sizeof(uint32_t))];
    struct iovec iov = {.iov_base = &k, .iov_len = sizeof k};
    struct msghdr msg = {
        .msg_name = &addr,
        .msg_namelen = sizeof addr,
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = ctrl,
        .msg_controllen = sizeof ctrl,
    };
    ssize_t n;
    do
        n = recvmsg(b->fd, &msg, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return CANBUS_AGAIN;
    if (n < 0 && errno == ENETDOWN)
        return canbus_fail(bus, CANBUS_ERR, "read: interface is down");
    if (n < 0)
        return canbus_fail(bus, CANBUS_ERR, "read: %s", strerror(errno));
    if (n != (ssize_t)sizeof k)
        return canbus_fail(bus, CANBUS_ERR, "read: %zd bytes, not a classic CAN frame", n);

    uint64_t t_us = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET)
            continue;
        if (c->cmsg_type == SO_TIMESTAMP) {
            struct timeval tv;
            memcpy(&tv, CMSG_DATA(c), sizeof tv);
            t_us = mono_from_real(&tv);
        } else if (c->cmsg_type == SO_RXQ_OVFL) {
            uint32_t dropped;
            memcpy(&dropped, CMSG_DATA(c), sizeof dropped);
            bus->stats.dropped = dropped; /* the socket's running total */
        }
    }
    memset(out, 0, sizeof *out);
    out->id = k.can_id;
    out->len = k.can_dlc > 8 ? 8 : k.can_dlc;
    memcpy(out->data, k.data, out->len);
    out->t_us = t_us ? t_us : canbus_mono_us();
    return CANBUS_OK;
}

static int sc_fd(const canbus *bus)
{
    return csc(bus)->fd;
}

static int sc_timeout_ms(const canbus *bus)
{
    return canbus_txq_timeout_ms(&csc(bus)->txq, canbus_mono_us());
}

static int apply_filters(int fd, const struct canbus_filter *f, size_t n, char *err, size_t errlen)
{
    struct can_filter k[CANBUS_FILTERS_MAX];
    for (size_t i = 0; i < n; i++) {
        k[i].can_id = f[i].id | (f[i].invert ? CAN_INV_FILTER : 0);
        k[i].can_mask = f[i].mask & ~(canid_t)CAN_ERR_FLAG;
    }
    /* No filters at all is the kernel's default: one that passes everything. */
    struct can_filter all = {.can_id = 0, .can_mask = 0};
    if (setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FILTER, n ? k : &all,
                   (socklen_t)((n ? n : 1) * sizeof k[0])) < 0) {
        canbus_set_err(err, errlen, "setsockopt(CAN_RAW_FILTER): %s", strerror(errno));
        return CANBUS_ERR;
    }
    return CANBUS_OK;
}

static int sc_set_filters(canbus *bus, const struct canbus_filter *f, size_t n)
{
    char err[160];
    if (apply_filters(sc(bus)->fd, f, n, err, sizeof err) != CANBUS_OK)
        return canbus_fail(bus, CANBUS_ERR, "%s", err);
    return CANBUS_OK;
}

static void sc_close(canbus *bus)
{
    struct sc_bus *b = sc(bus);
    close(b->fd);
    canbus_txq_free(&b->txq);
    free(b);
}

static const struct canbus_backend socketcan_backend = {
    .kind = "socketcan",
    .recv = sc_recv,
    .send = sc_send,
    .fd = sc_fd,
    .timeout_ms = sc_timeout_ms,
    .flush = sc_flush,
    .set_filters = sc_set_filters,
    .close = sc_close,
};

static int set_int(int fd, int level, int opt, int value, const char *what, const char *ifname,
                   char *err, size_t errlen)
{
    if (setsockopt(fd, level, opt, &value, sizeof value) == 0)
        return 0;
    canbus_set_err(err, errlen, "%s: setsockopt(%s): %s", ifname, what, strerror(errno));
    return -1;
}

/* The socket, bound and configured; -1 with err set. */
static int open_socket(const char *ifname, const struct canbus_socketcan_opts *o, char *err,
                       size_t errlen)
{
    int fd = socket(PF_CAN, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_RAW);
    if (fd < 0) {
        int e = errno;
        if (e == EAFNOSUPPORT)
            canbus_set_err(err, errlen,
                           "%s: socket(PF_CAN): %s — this kernel has no CAN support "
                           "(modules can and can-raw)",
                           ifname, strerror(e));
        else if (e == EPROTONOSUPPORT)
            canbus_set_err(err, errlen,
                           "%s: socket(PF_CAN, CAN_RAW): %s — the can-raw module is not loaded",
                           ifname, strerror(e));
        else
            canbus_set_err(err, errlen, "%s: socket(PF_CAN): %s", ifname, strerror(e));
        return -1;
    }

    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
        int e = errno;
        if (e == ENODEV && strncmp(ifname, "vcan", 4) == 0)
            canbus_set_err(err, errlen,
                           "%s: %s (a virtual bus: ip link add dev %s type vcan && "
                           "ip link set up %s)",
                           ifname, strerror(e), ifname, ifname);
        else
            canbus_set_err(err, errlen, "%s: %s", ifname, strerror(e));
        goto fail;
    }
    int ifindex = ifr.ifr_ifindex;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0 && ifr.ifr_hwaddr.sa_family != ARPHRD_CAN) {
        canbus_set_err(err, errlen, "%s: not a CAN interface", ifname);
        goto fail;
    }
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
        canbus_set_err(err, errlen,
                       "%s: interface is down (ip link set %s up, with a bitrate for a "
                       "real controller)",
                       ifname, ifname);
        goto fail;
    }

    if (o->n_filters && apply_filters(fd, o->filters, o->n_filters, err, errlen) != CANBUS_OK)
        goto fail;
    can_err_mask_t err_mask = (o->err_mask ? o->err_mask : CANBUS_ERRC_ALL) & CAN_ERR_MASK;
    if (setsockopt(fd, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &err_mask, sizeof err_mask) < 0) {
        canbus_set_err(err, errlen, "%s: setsockopt(CAN_RAW_ERR_FILTER): %s", ifname,
                       strerror(errno));
        goto fail;
    }
    if (set_int(fd, SOL_CAN_RAW, CAN_RAW_LOOPBACK, o->loopback, "CAN_RAW_LOOPBACK", ifname, err,
                errlen) ||
        set_int(fd, SOL_CAN_RAW, CAN_RAW_RECV_OWN_MSGS, o->recv_own_msgs, "CAN_RAW_RECV_OWN_MSGS",
                ifname, err, errlen) ||
        set_int(fd, SOL_SOCKET, SO_TIMESTAMP, 1, "SO_TIMESTAMP", ifname, err, errlen) ||
        set_int(fd, SOL_SOCKET, SO_RXQ_OVFL, 1, "SO_RXQ_OVFL", ifname, err, errlen))
        goto fail;
    if (o->rcvbuf_bytes > 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &o->rcvbuf_bytes, sizeof o->rcvbuf_bytes) < 0 &&
        set_int(fd, SOL_SOCKET, SO_RCVBUF, o->rcvbuf_bytes, "SO_RCVBUF", ifname, err, errlen))
        goto fail;

    struct sockaddr_can addr;
    memset(&addr, 0, sizeof addr);
    addr.can_family = AF_CAN;
    addr.can_ifindex = ifindex;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        canbus_set_err(err, errlen, "%s: bind: %s", ifname, strerror(errno));
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

canbus *canbus_open_socketcan(const char *ifname, const struct canbus_socketcan_opts *opts,
                              char *err, size_t errlen)
{
    static const struct canbus_socketcan_opts defaults = {0};
    const struct canbus_socketcan_opts *o = opts ? opts : &defaults;
    if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ) {
        canbus_set_err(err, errlen, "CAN interface name '%s' is empty or longer than %d bytes",
                       ifname ? ifname : "", IFNAMSIZ - 1);
        return NULL;
    }
    if (canbus_filters_check(o->filters, o->n_filters, err, errlen) != CANBUS_OK)
        return NULL;
    struct sc_bus *b = calloc(1, sizeof *b);
    if (!b || canbus_txq_init(&b->txq, o->tx_queue_len ? o->tx_queue_len : TX_QUEUE_DEFAULT)) {
        canbus_set_err(err, errlen, "%s: out of memory", ifname);
        free(b);
        return NULL;
    }
    b->fd = open_socket(ifname, o, err, errlen);
    if (b->fd < 0) {
        canbus_txq_free(&b->txq);
        free(b);
        return NULL;
    }
    canbus_init(&b->base, &socketcan_backend, ifname);
    return &b->base;
}
