/* SPDX-License-Identifier: MIT */
/* Frames waiting for a busy driver, and when to try again. */
#include <stdlib.h>

#include "canbus_priv.h"

int canbus_txq_init(struct canbus_txq *q, size_t cap)
{
    q->ring = calloc(cap ? cap : 1, sizeof *q->ring);
    q->cap = cap ? cap : 1;
    q->head = q->count = 0;
    q->due_us = 0;
    q->backoff_ms = 0;
    return q->ring ? 0 : -1;
}

void canbus_txq_free(struct canbus_txq *q)
{
    free(q->ring);
    q->ring = NULL;
    q->cap = q->count = 0;
}

bool canbus_txq_push(struct canbus_txq *q, const struct can_frame_rec *f)
{
    if (q->count == q->cap)
        return false;
    q->ring[(q->head + q->count) % q->cap] = *f;
    q->count++;
    return true;
}

const struct can_frame_rec *canbus_txq_head(const struct canbus_txq *q)
{
    return q->count ? &q->ring[q->head] : NULL;
}

void canbus_txq_pop(struct canbus_txq *q)
{
    if (!q->count)
        return;
    q->head = (q->head + 1) % q->cap;
    q->count--;
}

void canbus_txq_refused(struct canbus_txq *q, uint64_t now_us)
{
    if (q->backoff_ms == 0)
        q->backoff_ms = 1;
    else if (q->backoff_ms < CANBUS_TXQ_BACKOFF_MAX_MS)
        q->backoff_ms *= 2;
    q->due_us = now_us + (uint64_t)q->backoff_ms * 1000u;
}

void canbus_txq_accepted(struct canbus_txq *q)
{
    q->backoff_ms = 0;
}

int canbus_txq_timeout_ms(const struct canbus_txq *q, uint64_t now_us)
{
    if (!q->count)
        return -1;
    if (q->due_us <= now_us)
        return 0;
    return (int)((q->due_us - now_us + 999u) / 1000u);
}
