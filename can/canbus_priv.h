/* SPDX-License-Identifier: MIT */
/*
 * Inside canbus: the backend function table and what the backends share. Each
 * backend's handle starts with struct canbus and is freed by its close().
 */
#ifndef CANBUS_PRIV_H
#define CANBUS_PRIV_H

#include <stdarg.h>

#include "canbus.h"

struct canbus_backend {
    const char *kind;
    /* One frame or a code; the core counts, filters (unless set_filters is set)
     * and accounts error frames. */
    int (*recv)(canbus *bus, struct can_frame_rec *out);
    int (*send)(canbus *bus, const struct can_frame_rec *f); /* counts stats.tx itself */
    int (*fd)(const canbus *bus);
    int (*timeout_ms)(const canbus *bus);                                     /* NULL: -1 */
    int (*flush)(canbus *bus);                                                /* NULL: CANBUS_OK */
    int (*set_filters)(canbus *bus, const struct canbus_filter *f, size_t n); /* NULL: core */
    void (*stats)(const canbus *bus, struct canbus_stats *out); /* NULL: none; adds its own */
    void (*close)(canbus *bus);                                 /* frees the handle */
};

struct canbus {
    const struct canbus_backend *be;
    char name[64];
    char errmsg[320];
    struct canbus_stats stats;
    enum canbus_state state;
    /* Software filters, for backends without set_filters. */
    struct canbus_filter filters[CANBUS_FILTERS_MAX];
    size_t n_filters;
};

void canbus_init(canbus *bus, const struct canbus_backend *be, const char *name);
/* Sets the message "NAME: ..." and returns rc. */
int canbus_fail(canbus *bus, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void canbus_vfail(canbus *bus, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Checks a filter set; fills err when refused. */
int canbus_filters_check(const struct canbus_filter *f, size_t n, char *err, size_t errlen);
bool canbus_filters_pass(const struct canbus_filter *f, size_t n, const struct can_frame_rec *fr);
/* Counts an error frame's events in stats and moves the state. */
void canbus_account_error(canbus *bus, const struct can_frame_rec *f);
uint64_t canbus_mono_us(void);
void canbus_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A bounded FIFO of frames waiting for the driver, with the retry schedule:
 * 1 ms after the first refusal, doubling up to CANBUS_TXQ_BACKOFF_MAX_MS while the
 * driver keeps refusing, so a full controller never makes the caller spin. */
#define CANBUS_TXQ_BACKOFF_MAX_MS 32
struct canbus_txq {
    struct can_frame_rec *ring; /* owned */
    size_t cap, head, count;
    uint64_t due_us;     /* CLOCK_MONOTONIC time of the next retry */
    unsigned backoff_ms; /* current retry interval */
};
int canbus_txq_init(struct canbus_txq *q, size_t cap);
void canbus_txq_free(struct canbus_txq *q);
bool canbus_txq_push(struct canbus_txq *q, const struct can_frame_rec *f); /* false: full */
const struct can_frame_rec *canbus_txq_head(const struct canbus_txq *q);   /* NULL: empty */
void canbus_txq_pop(struct canbus_txq *q);
/* The driver refused (now_us): schedule the next retry, backing off. */
void canbus_txq_refused(struct canbus_txq *q, uint64_t now_us);
/* The driver took a frame: the next refusal starts again at 1 ms. */
void canbus_txq_accepted(struct canbus_txq *q);
/* Milliseconds until the retry (rounded up), 0 when due, -1 when empty. */
int canbus_txq_timeout_ms(const struct canbus_txq *q, uint64_t now_us);

#endif
