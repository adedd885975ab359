/* SPDX-License-Identifier: MIT */
/*
 * J1939 decoding from memory on one core: a synthetic 10-second trace of a
 * heavy truck's bus (engine and aftertreatment broadcasts at their usual
 * rates, unknown PGNs, DM1 BAMs from three ECUs, the engine answering VI and
 * DM5-sized requests by RTS/CTS), replayed with advancing timestamps through
 * the transport-protocol receiver, the address-claim filter and the decoders.
 * Prints frames per second. Not a test.
 *   bench_j1939 [CYCLES]   (default 5000 cycles = 50000 s of bus time)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "j1939.h"

#define TOOL       J1939_ADDR_TOOL1
#define TRACE_US   10000000ull /* one cycle of the trace */
#define MAX_FRAMES 40000

struct trace {
    struct can_frame_rec f[MAX_FRAMES];
    size_t n;
};

struct counts {
    uint64_t frames, tp_frames, messages, dm1, dtcs, vins, live_values, valid_values;
};

struct pipeline {
    j1939_tp_rx *rx;
    j1939_ac *ac;
    struct counts n;
    struct j1939_dm1 dm1;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void add(struct trace *t, uint64_t at, uint8_t prio, uint32_t pgn, uint8_t da, uint8_t sa,
                const uint8_t *d, uint8_t len)
{
    if (t->n == MAX_FRAMES) {
        fprintf(stderr, "trace full\n");
        exit(1);
    }
    j1939_frame_make(&t->f[t->n++], prio, pgn, da, sa, d, len, at);
}

static void add_tp(struct trace *t, uint64_t at, uint8_t sa, uint8_t da, uint32_t pgn,
                   const uint8_t *msg, size_t len, uint64_t gap_us)
{
    unsigned packets = (unsigned)(len + 6) / 7;
    uint8_t cm[8] = {da == J1939_ADDR_GLOBAL ? J1939_TP_CM_BAM : J1939_TP_CM_RTS,
                     (uint8_t)len,
                     (uint8_t)(len >> 8),
                     (uint8_t)packets,
                     0xFF,
                     (uint8_t)pgn,
                     (uint8_t)(pgn >> 8),
                     (uint8_t)(pgn >> 16)};
    add(t, at, 7, J1939_PGN_TP_CM, da, sa, cm, 8);
    for (unsigned seq = 1; seq <= packets; seq++) {
        uint8_t d[8];
        memset(d, 0xFF, sizeof d);
        d[0] = (uint8_t)seq;
        size_t off = (seq - 1u) * 7u;
        memcpy(d + 1, msg + off, len - off < 7 ? len - off : 7);
        add(t, at + seq * gap_us, 7, J1939_PGN_TP_DT, da, sa, d, 8);
    }
}

static int cmp_time(const void *a, const void *b)
{
    const struct can_frame_rec *x = a, *y = b;
    return x->t_us < y->t_us ? -1 : x->t_us > y->t_us;
}

static void dm1_payload(uint8_t *p, unsigned dtcs)
{
    p[0] = 0x44;
    p[1] = 0xFF;
    for (unsigned i = 0; i < dtcs; i++) {
        uint32_t spn = 0x10000u + 97u * i;
        uint8_t *b = p + 2 + 4 * i;
        b[0] = (uint8_t)spn;
        b[1] = (uint8_t)(spn >> 8);
        b[2] = (uint8_t)(((spn >> 11) & 0xE0u) | (i % 31u));
        b[3] = (uint8_t)(i % 127u);
    }
}

static void build(struct trace *t)
{
    const struct {
        uint32_t pgn;
        uint8_t sa, prio;
        uint32_t period_ms;
    } periodic[] = {
        {J1939_PGN_EEC1, 0x00, 3, 10},    {0xF003, 0x00, 3, 50}, /* EEC2 */
        {J1939_PGN_CCVS, 0x17, 6, 100},   {J1939_PGN_ET1, 0x00, 6, 1000},
        {J1939_PGN_LFE, 0x00, 6, 100},    {J1939_PGN_AT1IG1, 0x3D, 6, 50},
        {J1939_PGN_AT1OG1, 0x3D, 6, 50},  {J1939_PGN_AT1T1I, 0x3D, 6, 1000},
        {J1939_PGN_AT1IMG, 0x3D, 6, 500}, {J1939_PGN_EGF1, 0x00, 6, 50},
        {J1939_PGN_VD, 0x17, 6, 1000},    {J1939_PGN_A1SCREGT1, 0x3D, 6, 500},
        {0xF001, 0x0B, 6, 100},           {0xF002, 0x03, 3, 10}, /* EBC1, ETC1 */
        {0xFEF5, 0x00, 6, 1000},          {0xFE6C, 0xEE, 3, 50}, /* AMB, TCO1 */
    };
    uint8_t d[8];
    for (size_t i = 0; i < sizeof periodic / sizeof periodic[0]; i++) {
        for (uint64_t at = i * 997; at < TRACE_US; at += periodic[i].period_ms * 1000ull) {
            for (int k = 0; k < 8; k++)
                d[k] = (uint8_t)(at >> (k + 3)) & 0x7F;
            add(t, at, periodic[i].prio, periodic[i].pgn, J1939_ADDR_GLOBAL, periodic[i].sa, d, 8);
        }
    }
    /* Proprietary and other PGNs nobody here decodes (a third of a real
     * bus), some of them all "not available". */
    for (unsigned i = 0; i < 40; i++) {
        for (uint64_t at = i * 1231; at < TRACE_US; at += (20 + 10 * (i % 10)) * 1000ull) {
            memset(d, i % 4 ? (uint8_t)(at >> 10) : 0xFF, sizeof d);
            add(t, at, 6, 0xFF00u + i, J1939_ADDR_GLOBAL, (uint8_t)(0x20 + i % 8), d, 8);
        }
    }
    /* DM1 every second from six ECUs, each as a BAM 50 ms per packet. */
    static uint8_t dm1[6][82];
    const unsigned dtcs[6] = {20, 5, 2, 12, 3, 8};
    const uint8_t ecus[6] = {0x00, 0x3D, 0x03, 0x0B, 0x17, 0x21};
    for (int e = 0; e < 6; e++) {
        dm1_payload(dm1[e], dtcs[e]);
        for (uint64_t at = 50000ull * (uint64_t)e; at + 700000 < TRACE_US; at += 1000000)
            add_tp(t, at, ecus[e], J1939_ADDR_GLOBAL, J1939_PGN_DM1, dm1[e], 2 + 4 * dtcs[e],
                   50000);
    }
    /* The engine answers the tool by RTS/CTS: VI (18 bytes) and a 100-byte
     * message, every second; the 100 bytes take two CTS windows of 16. */
    static uint8_t vin[18], big[100];
    memcpy(vin, "LFWADRJF011002346*", 18);
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)i;
    for (uint64_t at = 300000; at + 500000 < TRACE_US; at += 1000000) {
        add_tp(t, at, 0x00, TOOL, J1939_PGN_VI, vin, sizeof vin, 2000);
        add_tp(t, at + 200000, 0x00, TOOL, 0xFECE, big, sizeof big, 2000);
    }
    qsort(t->f, t->n, sizeof t->f[0], cmp_time);
}

static void decode(struct pipeline *p, const struct j1939_msg *m)
{
    switch (m->pgn) {
    case J1939_PGN_DM1:
        if (j1939_dm1_decode(m->data, m->len, &p->dm1) == 0) {
            p->n.dm1++;
            p->n.dtcs += p->dm1.n_dtc;
        }
        break;
    case J1939_PGN_VI: {
        struct j1939_vin v;
        j1939_vin_decode(m->data, m->len, &v);
        p->n.vins += v.validity == J1939_VALID;
        break;
    }
    default: {
        struct j1939_live_value out[4];
        size_t k = j1939_live_decode(NULL, 0, m->pgn, m->data, m->len, out, 4);
        p->n.live_values += k;
        for (size_t i = 0; i < k; i++)
            p->n.valid_values += out[i].validity == J1939_VALID;
        break;
    }
    }
}

static void on_message(void *user, const struct j1939_msg *m)
{
    struct pipeline *p = user;
    p->n.messages++;
    decode(p, m);
}

static int sink(void *user, const struct can_frame_rec *f)
{
    (void)user;
    (void)f;
    return 0;
}

int main(int argc, char **argv)
{
    long cycles = argc > 1 ? atol(argv[1]) : 5000;
    static struct trace t;
    build(&t);
    static struct pipeline p;
    struct j1939_tp_rx_config rc;
    j1939_tp_rx_config_default(&rc);
    rc.address = TOOL;
    struct j1939_tp_rx_callbacks rcb = {.send = sink, .message = on_message, .user = &p};
    struct j1939_ac_config ac;
    j1939_ac_config_default(&ac);
    struct j1939_ac_callbacks acb = {.send = sink, .user = &p};
    char err[256];
    p.rx = j1939_tp_rx_new(&rc, &rcb, err, sizeof err);
    p.ac = j1939_ac_new(&ac, &acb, err, sizeof err);
    if (!p.rx || !p.ac) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    j1939_ac_start(p.ac, 0);

    int64_t start = now_ns();
    for (long c = 0; c < cycles; c++) {
        uint64_t base = (uint64_t)c * TRACE_US;
        for (size_t i = 0; i < t.n; i++) {
            const struct can_frame_rec *f = &t.f[i];
            uint64_t now = base + f->t_us;
            if ((i & 255) == 0) { /* a poll loop ticks every few milliseconds */
                j1939_tp_rx_tick(p.rx, now);
                j1939_ac_tick(p.ac, now);
            }
            p.n.frames++;
            if (j1939_tp_rx_frame(p.rx, f, now)) {
                p.n.tp_frames++;
                continue;
            }
            if (j1939_ac_rx(p.ac, f, now))
                continue;
            struct j1939_msg m;
            if (j1939_msg_from_frame(f, &m))
                decode(&p, &m);
        }
    }
    double s = (double)(now_ns() - start) / 1e9;
    struct j1939_tp_rx_stats st;
    j1939_tp_rx_get_stats(p.rx, &st);
    printf("  trace: %zu frames per %.0f s of bus time (%.0f frames/s on the bus), %ld cycles\n",
           t.n, TRACE_US / 1e6, t.n / (TRACE_US / 1e6), cycles);
    printf("  %llu frames (%.1f%% TP) in %.2f s: %.2f million frames/s on one core\n",
           (unsigned long long)p.n.frames, 100.0 * (double)p.n.tp_frames / (double)p.n.frames, s,
           (double)p.n.frames / s / 1e6);
    printf("  reassembled %llu messages (%llu DM1 with %llu DTCs, %llu VINs), %llu live values "
           "(%llu valid); TP timeouts %llu, aborts %llu, peak sessions %u\n",
           (unsigned long long)p.n.messages, (unsigned long long)p.n.dm1,
           (unsigned long long)p.n.dtcs, (unsigned long long)p.n.vins,
           (unsigned long long)p.n.live_values, (unsigned long long)p.n.valid_values,
           (unsigned long long)st.timeouts, (unsigned long long)st.aborts_sent,
           (unsigned)st.peak_active);
    int bad = st.timeouts != 0 || st.aborts_sent != 0 || p.n.vins == 0;
    j1939_tp_rx_free(p.rx);
    j1939_ac_free(p.ac);
    if (bad) {
        fprintf(stderr, "bench_j1939: the trace did not decode cleanly\n");
        return 1;
    }
    return 0;
}
