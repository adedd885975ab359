/* SPDX-License-Identifier: MIT */
#include "pf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FAULTS_MAX 16

/* Faults are checked in the order they were added; the first that matches the
 * endpoint and wins its dice roll fires. */
struct pf_faults {
    pthread_mutex_t mu;
    struct pf_fault list[FAULTS_MAX];
    size_t n;
    uint64_t rng; /* xorshift64 state, never 0 */
    unsigned long fired;
};

static const char *const mode_names[] = {
    [PF_FAULT_STATUS] = "status",
    [PF_FAULT_HANG] = "hang",
    [PF_FAULT_SLOW] = "slow",
    [PF_FAULT_DROP_BEFORE_STORE] = "drop_before_store",
    [PF_FAULT_DROP_AFTER_STORE] = "drop_after_store",
    [PF_FAULT_PARTIAL] = "partial",
};

const char *pf_fault_mode_name(enum pf_fault_mode m)
{
    return (size_t)m < sizeof mode_names / sizeof mode_names[0] ? mode_names[m] : "?";
}

int pf_fault_mode_parse(const char *s, enum pf_fault_mode *out)
{
    for (size_t i = 0; i < sizeof mode_names / sizeof mode_names[0]; i++) {
        if (strcmp(s, mode_names[i]) == 0) {
            *out = (enum pf_fault_mode)i;
            return 0;
        }
    }
    return PF_EINVAL;
}

pf_faults *pf_faults_new(uint64_t seed)
{
    pf_faults *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    if (pthread_mutex_init(&f->mu, NULL) != 0) {
        free(f);
        return NULL;
    }
    f->rng = seed ? seed : 0x9e3779b97f4a7c15u;
    return f;
}

void pf_faults_free(pf_faults *f)
{
    if (!f)
        return;
    pthread_mutex_destroy(&f->mu);
    free(f);
}

int pf_faults_add(pf_faults *f, const struct pf_fault *fault)
{
    pthread_mutex_lock(&f->mu);
    int rc = PF_EINVAL;
    if (f->n < FAULTS_MAX) {
        f->list[f->n] = *fault;
        f->list[f->n].fired = 0;
        f->n++;
        rc = 0;
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

void pf_faults_clear(pf_faults *f)
{
    pthread_mutex_lock(&f->mu);
    f->n = 0;
    pthread_mutex_unlock(&f->mu);
}

static double next_uniform(pf_faults *f)
{
    uint64_t x = f->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    f->rng = x;
    return (double)(x >> 11) / (double)(UINT64_C(1) << 53);
}

/* Partial acks and drops are about batches: they never match a GET. */
static bool mode_applies(enum pf_fault_mode m, enum pf_endpoint ep)
{
    if (m == PF_FAULT_PARTIAL || m == PF_FAULT_DROP_AFTER_STORE)
        return ep == PF_EP_UPLOAD;
    return true;
}

bool pf_faults_take(pf_faults *f, enum pf_endpoint ep, struct pf_fault *out)
{
    bool fired = false;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n && !fired; i++) {
        struct pf_fault *x = &f->list[i];
        if (!(x->endpoints & (unsigned)ep) || !mode_applies(x->mode, ep))
            continue;
        if (x->probability < 1.0 && next_uniform(f) >= x->probability)
            continue;
        x->fired++;
        f->fired++;
        *out = *x;
        fired = true;
        if (x->count && --x->count == 0) {
            memmove(x, x + 1, (f->n - i - 1) * sizeof *x);
            f->n--;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return fired;
}

void pf_faults_describe(pf_faults *f, struct pf_buf *out)
{
    static const char *const ep_names[] = {"upload", "findings", "policy", "registry"};
    pthread_mutex_lock(&f->mu);
    pf_buf_printf(out, "fired %lu\n", f->fired);
    for (size_t i = 0; i < f->n; i++) {
        const struct pf_fault *x = &f->list[i];
        pf_buf_printf(out, "mode=%s on=", pf_fault_mode_name(x->mode));
        if (x->endpoints == PF_EP_ANY) {
            pf_buf_printf(out, "any");
        } else {
            const char *sep = "";
            for (unsigned b = 0; b < 4; b++) {
                if (x->endpoints & (1u << b)) {
                    pf_buf_printf(out, "%s%s", sep, ep_names[b]);
                    sep = ",";
                }
            }
        }
        pf_buf_printf(out,
                      " status=%u retry_after=%u ms=%u k=%u count=%u probability=%g fired=%lu\n",
                      x->status, x->retry_after_s, x->ms, x->k, x->count, x->probability, x->fired);
    }
    pthread_mutex_unlock(&f->mu);
}

unsigned long pf_faults_fired(pf_faults *f)
{
    pthread_mutex_lock(&f->mu);
    unsigned long n = f->fired;
    pthread_mutex_unlock(&f->mu);
    return n;
}
