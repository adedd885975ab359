/* SPDX-License-Identifier: MIT */
/*
 * A CAN bus with interchangeable backends (like libmodbus's transports):
 *   socketcan  a Linux CAN_RAW socket (can0, vcan0): error frames, bus-off
 *   log        candump -l files and candump's printed format with timestamps
 *   virtual    in-process bus for simulation and tests (several endpoints)
 * Opaque context, new/free, result codes, a message for every failure.
 *
 * Every handle is non-blocking and made for one poll loop: poll canbus_fd() for
 * POLLIN, use canbus_timeout_ms() as (part of) the poll timeout, then call
 * canbus_recv() until it returns CANBUS_AGAIN. One handle is used by one thread
 * at a time; the endpoints of one virtual bus may live in different threads.
 *
 * Error frames (id & CAN_FRAME_ERR) are delivered like any frame, after the bus
 * has counted their events in its stats and updated canbus_state(); decode one
 * with canbus_error_decode(). While the state is bus-off, canbus_send() refuses
 * with CANBUS_EBUSOFF until an error frame reports the controller restarted.
 *
 * Frame times (t_us): socketcan and virtual give CLOCK_MONOTONIC microseconds of
 * the reception (the kernel's SO_TIMESTAMP, else the read time); log gives the
 * log's own time: microseconds since the epoch for absolute timestamps
 * (candump -l, -ta, -tA), since the first frame for -tz and -td, 0 without.
 */
#ifndef CANBUS_H
#define CANBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "can_frame.h"

typedef struct canbus canbus;

enum canbus_rc {
    CANBUS_OK = 0,
    CANBUS_AGAIN = 1,    /* nothing to read now (non-blocking); send: tx queue full */
    CANBUS_EOF = 2,      /* log backend: end of file */
    CANBUS_SKIP = 3,     /* log line parser: a valid line that is not a classic CAN frame */
    CANBUS_ERR = -1,     /* see canbus_errmsg() */
    CANBUS_EBUSOFF = -2, /* controller is bus-off */
    CANBUS_EPARSE = -3,  /* log backend: a line that is not a frame (skipped; message says which) */
};

/* Bus events a backend can report besides frames. */
struct canbus_stats {
    uint64_t rx, tx;       /* data and remote frames received (after filters) / written */
    uint64_t error_frames; /* every error frame received */
    uint64_t bus_off;
    uint64_t parse_errors; /* log backend */
    uint64_t dropped;      /* kernel or virtual-bus queue overflows (socketcan: the
                              kernel reports them with the next frame received) */
    /* What the error frames said (one error frame may count in several). */
    uint64_t error_passive;       /* controller reached error passive (rx or tx) */
    uint64_t error_warning;       /* controller reached the warning level */
    uint64_t controller_problems; /* error frames of class controller-problem */
    uint64_t no_ack;              /* transmission got no acknowledgement */
    uint64_t bus_errors;          /* protocol violations and bus errors */
    uint64_t lost_arbitration;
    uint64_t tx_timeouts;
    uint64_t restarts; /* controller restarted after bus-off */
    /* Transmission. */
    uint64_t tx_deferred; /* frames the driver refused for now (EAGAIN, ENOBUFS), queued */
    uint64_t tx_failed;   /* queued frames given up on (interface gone or down) */
    /* Reception. */
    uint64_t filtered; /* frames the software filters (log, virtual) left out */
    uint64_t skipped;  /* log: lines that are no classic frame (CAN FD/XL, DROPCOUNT, -e detail) */
};

enum canbus_state {
    CANBUS_STATE_ACTIVE = 0,
    CANBUS_STATE_WARNING,
    CANBUS_STATE_PASSIVE,
    CANBUS_STATE_BUS_OFF,
};

/* Receive filter as CAN_RAW applies it: a frame passes when
 * (frame.id & mask) == (id & mask), or with invert when it does not. id and mask
 * include the CAN_FRAME_EFF and CAN_FRAME_RTR bits: {0x123, CAN_SFF_MASK |
 * CAN_FRAME_EFF | CAN_FRAME_RTR} passes only standard data frames 0x123. A frame
 * passes a set when it passes any filter of it. Error frames are not filtered. */
struct canbus_filter {
    uint32_t id;
    uint32_t mask;
    bool invert;
};
#define CANBUS_FILTERS_MAX 64

/* Error classes, the bits of an error frame's id (the kernel's CAN_ERR_*). */
#define CANBUS_ERRC_TX_TIMEOUT 0x001u
#define CANBUS_ERRC_LOSTARB    0x002u /* data[0]: bit position */
#define CANBUS_ERRC_CRTL       0x004u /* data[1]: controller status */
#define CANBUS_ERRC_PROT       0x008u /* data[2]: type, data[3]: location */
#define CANBUS_ERRC_TRX        0x010u /* data[4]: transceiver status */
#define CANBUS_ERRC_ACK        0x020u /* no ACK on transmission */
#define CANBUS_ERRC_BUSOFF     0x040u
#define CANBUS_ERRC_BUSERROR   0x080u
#define CANBUS_ERRC_RESTARTED  0x100u
#define CANBUS_ERRC_CNT        0x200u /* data[6]: tx error counter, data[7]: rx */
#define CANBUS_ERRC_ALL        0x1FFFFFFFu
/* Controller status bits (data[1] of a CANBUS_ERRC_CRTL error frame). */
#define CANBUS_CTRL_RX_OVERFLOW 0x01u
#define CANBUS_CTRL_TX_OVERFLOW 0x02u
#define CANBUS_CTRL_RX_WARNING  0x04u
#define CANBUS_CTRL_TX_WARNING  0x08u
#define CANBUS_CTRL_RX_PASSIVE  0x10u
#define CANBUS_CTRL_TX_PASSIVE  0x20u
#define CANBUS_CTRL_ACTIVE      0x40u /* back to error active */

/* An error frame, decoded. */
struct canbus_error {
    uint32_t classes; /* CANBUS_ERRC_* */
    bool bus_off, restarted, no_ack, lost_arbitration, tx_timeout;
    bool protocol_violation, bus_error, transceiver;
    bool controller;     /* controller problem: see ctrl */
    uint8_t ctrl;        /* CANBUS_CTRL_* */
    bool error_passive;  /* ctrl says rx or tx error passive */
    bool error_warning;  /* ctrl says rx or tx warning level */
    bool back_to_active; /* ctrl says error active again */
    uint8_t lostarb_bit, prot_type, prot_location, trx_status;
    bool counters; /* tx_errors/rx_errors are valid (CANBUS_ERRC_CNT, or non-zero) */
    uint8_t tx_errors, rx_errors;
};

/* Decodes an error frame: 0, or -1 when f is not one. */
int canbus_error_decode(const struct can_frame_rec *f, struct canbus_error *out);
/* candump -e's words: "bus-off", "controller-problem{rx-error-passive}", ...
 * Returns the length written (truncated to fit), or -1 when f is no error frame. */
int canbus_error_describe(const struct can_frame_rec *f, char *buf, size_t len);

/* ---- socketcan ------------------------------------------------------------------ */

struct canbus_socketcan_opts {
    const struct canbus_filter *filters; /* NULL or n_filters == 0: every frame */
    size_t n_filters;
    uint32_t err_mask;   /* error classes to receive; 0: all (CANBUS_ERRC_ALL) */
    bool loopback;       /* other sockets on this host see our frames (needed with vcan) */
    bool recv_own_msgs;  /* this socket sees its own frames too */
    size_t tx_queue_len; /* frames held while the driver is busy; 0: 64 */
    int rcvbuf_bytes;    /* socket receive buffer; 0: the kernel's default */
};

/* A CAN_RAW socket bound to ifname (opts NULL: the defaults above, loopback and
 * recv_own_msgs off). Fails with a message naming the cause: no CAN in the kernel,
 * no such device, not a CAN interface, interface down. */
canbus *canbus_open_socketcan(const char *ifname, const struct canbus_socketcan_opts *opts,
                              char *err, size_t errlen);

/* ---- log ------------------------------------------------------------------------ */

/* What relative timestamps mean; a log does not say whether candump ran with -tz or -td. */
enum canbus_log_reltime {
    CANBUS_LOG_REL_ZERO = 0, /* -tz: time since the first frame */
    CANBUS_LOG_REL_DELTA,    /* -td: time since the previous frame */
};

struct canbus_log_opts {
    bool paced; /* deliver frames at their original pace (else as fast as read) */
    enum canbus_log_reltime reltime;
    const char *ifname;                  /* only frames of this interface; NULL: all */
    const struct canbus_filter *filters; /* software filters, as socketcan's */
    size_t n_filters;
};

/* Reads a candump log: "-l" files ("(1436509052.249713) vcan0 18FECA00#0104...") and
 * candump's printed lines ("(1436509052.249713)  vcan0  18FECA00   [8]  01 04 ...",
 * with -ta, -tA, -td, -tz or no timestamp, -a and -x output), mixed freely. Classic
 * CAN only: CAN FD and XL lines are skipped and counted (stats.skipped). A malformed
 * line makes canbus_recv() return CANBUS_EPARSE with "NAME:LINE: reason"; the next
 * call goes on with the next line. Sending is refused: a log is read-only. */
canbus *canbus_open_log(const char *path, const struct canbus_log_opts *opts, char *err,
                        size_t errlen);
/* The same over an open stream, which stays the caller's (close it after the bus).
 * name is used in messages. */
canbus *canbus_open_log_stream(FILE *f, const char *name, const struct canbus_log_opts *opts,
                               char *err, size_t errlen);

enum canbus_log_time {
    CANBUS_LOG_TIME_NONE = 0, /* candump without -t */
    CANBUS_LOG_TIME_ABS,      /* seconds since the epoch: -l, -ta, -tA */
    CANBUS_LOG_TIME_REL,      /* -tz or -td */
};

/* One line of a candump log, parsed. */
struct canbus_log_line {
    struct can_frame_rec frame; /* t_us: the timestamp as written (see time) */
    char ifname[16];
    enum canbus_log_time time;
    bool log_format;  /* "-l" style (id#data), else candump's printed style */
    uint64_t dropped; /* a DROPCOUNT line: frames candump lost */
};

/* Parses one line (without its newline; len bytes, NULs are an error). Returns
 * CANBUS_OK with a frame, CANBUS_SKIP for a valid line that carries no classic frame
 * (blank, CAN FD/XL, DROPCOUNT, error detail of -e; note says which, empty for
 * blank) or CANBUS_EPARSE (note says why). note is always terminated. */
int canbus_log_parse_line(const char *line, size_t len, struct canbus_log_line *out, char *note,
                          size_t notelen);

/* Writes f in candump -l format with t_us as the absolute time, e.g.
 * "(1436509052.249713) vcan0 18FECA00#0104000000FFFFFF" (no newline). Returns the
 * length, or -1 when buf is too small or f is not a valid classic frame. */
int canbus_log_format(const struct can_frame_rec *f, const char *ifname, char *buf, size_t len);

/* ---- virtual -------------------------------------------------------------------- */

typedef struct canbus_virtual canbus_virtual;

/* An in-process bus; each endpoint queues up to queue_len frames (0: 256) and
 * counts what does not fit as dropped. Thread-safe. */
canbus_virtual *canbus_virtual_new(size_t queue_len, char *err, size_t errlen);
/* A new endpoint: it receives every frame the other endpoints send (never its own)
 * and has an eventfd (canbus_fd) readable while frames wait. Close it with
 * canbus_close(); it may outlive canbus_virtual_free(). */
canbus *canbus_virtual_endpoint(canbus_virtual *vb, const char *name, char *err, size_t errlen);
/* Delivers f to every endpoint as if the bus produced it (error frames, bus-off). */
int canbus_virtual_inject(canbus_virtual *vb, const struct can_frame_rec *f);
/* Drops the creator's reference; the bus goes when its last endpoint is closed. */
void canbus_virtual_free(canbus_virtual *vb);

/* ---- every backend ------------------------------------------------------------- */

/* Next frame: CANBUS_OK (*out filled), CANBUS_AGAIN (nothing now), CANBUS_EOF (log),
 * CANBUS_EPARSE (log: a malformed line skipped) or CANBUS_ERR. Also retries sends
 * that are due (socketcan). */
int canbus_recv(canbus *bus, struct can_frame_rec *out);
/* Sends f (len <= 8, id within its 11 or 29 bits). CANBUS_OK: written or queued
 * behind frames the driver could not take yet (retried without busy-looping: see
 * canbus_timeout_ms); CANBUS_AGAIN: the queue is full, try later; CANBUS_EBUSOFF;
 * CANBUS_ERR. */
int canbus_send(canbus *bus, const struct can_frame_rec *f);
/* The descriptor to poll for POLLIN: the socket (socketcan), an eventfd (virtual),
 * a timerfd that fires when the next frame is due (log). */
int canbus_fd(const canbus *bus);
/* Milliseconds until canbus_flush() (or canbus_recv) should run again to retry queued
 * sends; -1 when nothing waits. */
int canbus_timeout_ms(const canbus *bus);
/* Retries queued sends now: CANBUS_OK (queue empty), CANBUS_AGAIN (some still wait)
 * or CANBUS_ERR (frames given up on: stats.tx_failed). */
int canbus_flush(canbus *bus);
/* Replaces the receive filters (n == 0: every frame). */
int canbus_set_filters(canbus *bus, const struct canbus_filter *filters, size_t n);
void canbus_stats(const canbus *bus, struct canbus_stats *out);
enum canbus_state canbus_state(const canbus *bus);
const char *canbus_state_name(enum canbus_state state);
const char *canbus_name(const canbus *bus);
/* The last failure, "NAME: cause"; "" when none. */
const char *canbus_errmsg(const canbus *bus);
/* NULL-safe. */
void canbus_close(canbus *bus);

#endif
