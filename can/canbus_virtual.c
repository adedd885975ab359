/* SPDX-License-Identifier: MIT */
/*
 * virtual backend: an in-process bus. Every frame an endpoint sends is copied into
 * the bounded queue of every other endpoint whose filters pass it; a full queue
 * drops the frame and counts it (like a socket's receive queue). One mutex guards
 * the endpoint list and all queues; each endpoint's eventfd is readable while its
 * queue holds frames.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "canbus_priv.h"

#define QUEUE_DEFAULT 256

struct vendpoint;

struct canbus_virtual {
    pthread_mutex_t lock;
    size_t queue_len;
    struct vendpoint *endpoints;
    unsigned refs; /* the creator's and one per endpoint */
    unsigned next_id;
};

struct vendpoint {
    struct canbus base;
    struct canbus_virtual *vb;
    struct vendpoint *next;
    int efd;
    /* Under vb->lock: */
    struct can_frame_rec *ring; /* owned */
    size_t head, count;
    uint64_t dropped, filtered;
    struct canbus_filter filters[CANBUS_FILTERS_MAX];
    size_t n_filters;
};

static struct vendpoint *ve(canbus *bus)
{
    return (struct vendpoint *)bus;
}

static const struct vendpoint *cve(const canbus *bus)
{
    return (const struct vendpoint *)bus;
}

static void release(struct canbus_virtual *vb)
{
    pthread_mutex_lock(&vb->lock);
    bool last = --vb->refs == 0;
    pthread_mutex_unlock(&vb->lock);
    if (last) {
        pthread_mutex_destroy(&vb->lock);
        free(vb);
    }
}

/* Under the lock. */
static void deliver(struct vendpoint *to, const struct can_frame_rec *f)
{
    if (!canbus_filters_pass(to->filters, to->n_filters, f)) {
        to->filtered++;
        return;
    }
    if (to->count == to->vb->queue_len) {
        to->dropped++;
        return;
    }
    to->ring[(to->head + to->count) % to->vb->queue_len] = *f;
    if (to->count++ == 0) {
        uint64_t one = 1;
        ssize_t n = write(to->efd, &one, sizeof one);
        (void)n; /* cannot fail: the counter is 0 or 1 */
    }
}

static void broadcast(struct canbus_virtual *vb, const struct vendpoint *from,
                      const struct can_frame_rec *f)
{
    struct can_frame_rec copy = *f;
    copy.t_us = canbus_mono_us();
    pthread_mutex_lock(&vb->lock);
    for (struct vendpoint *e = vb->endpoints; e; e = e->next)
        if (e != from)
            deliver(e, &copy);
    pthread_mutex_unlock(&vb->lock);
}

static int v_send(canbus *bus, const struct can_frame_rec *f)
{
    struct vendpoint *e = ve(bus);
    broadcast(e->vb, e, f);
    bus->stats.tx++;
    return CANBUS_OK;
}

static int v_recv(canbus *bus, struct can_frame_rec *out)
{
    struct vendpoint *e = ve(bus);
    int rc = CANBUS_AGAIN;
    pthread_mutex_lock(&e->vb->lock);
    if (e->count) {
        *out = e->ring[e->head];
        e->head = (e->head + 1) % e->vb->queue_len;
        if (--e->count == 0) {
            uint64_t drain;
            ssize_t n = read(e->efd, &drain, sizeof drain);
            (void)n; /* resets the counter; EAGAIN if already 0 */
        }
        rc = CANBUS_OK;
    }
    pthread_mutex_unlock(&e->vb->lock);
    return rc;
}

static int v_fd(const canbus *bus)
{
    return cve(bus)->efd;
}

static int v_set_filters(canbus *bus, const struct canbus_filter *f, size_t n)
{
    struct vendpoint *e = ve(bus);
    pthread_mutex_lock(&e->vb->lock);
    if (n)
        memcpy(e->filters, f, n * sizeof *f);
    e->n_filters = n;
    pthread_mutex_unlock(&e->vb->lock);
    return CANBUS_OK;
}

static void v_stats(const canbus *bus, struct canbus_stats *out)
{
    struct vendpoint *e = (struct vendpoint *)(uintptr_t)bus; /* the lock is not const */
    pthread_mutex_lock(&e->vb->lock);
    out->dropped += e->dropped;
    out->filtered += e->filtered;
    pthread_mutex_unlock(&e->vb->lock);
}

static void v_close(canbus *bus)
{
    struct vendpoint *e = ve(bus);
    struct canbus_virtual *vb = e->vb;
    pthread_mutex_lock(&vb->lock);
    for (struct vendpoint **p = &vb->endpoints; *p; p = &(*p)->next) {
        if (*p == e) {
            *p = e->next;
            break;
        }
    }
    pthread_mutex_unlock(&vb->lock);
    close(e->efd);
    free(e->ring);
    free(e);
    release(vb);
}

static const struct canbus_backend virtual_backend = {
    .kind = "virtual",
    .recv = v_recv,
    .send = v_send,
    .fd = v_fd,
    .set_filters = v_set_filters,
    .stats = v_stats,
    .close = v_close,
};

canbus_virtual *canbus_virtual_new(size_t queue_len, char *err, size_t errlen)
{
    if (queue_len > 1u << 20) {
        canbus_set_err(err, errlen, "virtual bus: queue of %zu frames is too long (max %u)",
                       queue_len, 1u << 20);
        return NULL;
    }
    canbus_virtual *vb = calloc(1, sizeof *vb);
    if (!vb) {
        canbus_set_err(err, errlen, "virtual bus: out of memory");
        return NULL;
    }
    if (pthread_mutex_init(&vb->lock, NULL) != 0) {
        canbus_set_err(err, errlen, "virtual bus: pthread_mutex_init failed");
        free(vb);
        return NULL;
    }
    vb->queue_len = queue_len ? queue_len : QUEUE_DEFAULT;
    vb->refs = 1;
    return vb;
}

canbus *canbus_virtual_endpoint(canbus_virtual *vb, const char *name, char *err, size_t errlen)
{
    if (!vb) {
        canbus_set_err(err, errlen, "virtual bus: no bus");
        return NULL;
    }
    struct vendpoint *e = calloc(1, sizeof *e);
    if (e)
        e->ring = calloc(vb->queue_len, sizeof *e->ring);
    if (!e || !e->ring) {
        canbus_set_err(err, errlen, "virtual bus: out of memory");
        free(e);
        return NULL;
    }
    e->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (e->efd < 0) {
        canbus_set_err(err, errlen, "virtual bus: eventfd: %s", strerror(errno));
        free(e->ring);
        free(e);
        return NULL;
    }
    e->vb = vb;
    pthread_mutex_lock(&vb->lock);
    char fallback[32];
    snprintf(fallback, sizeof fallback, "virtual%u", vb->next_id++);
    canbus_init(&e->base, &virtual_backend, name && *name ? name : fallback);
    e->next = vb->endpoints;
    vb->endpoints = e;
    vb->refs++;
    pthread_mutex_unlock(&vb->lock);
    return &e->base;
}

int canbus_virtual_inject(canbus_virtual *vb, const struct can_frame_rec *f)
{
    if (!vb || !f || f->len > 8)
        return CANBUS_ERR;
    broadcast(vb, NULL, f);
    return CANBUS_OK;
}

void canbus_virtual_free(canbus_virtual *vb)
{
    if (vb)
        release(vb);
}
