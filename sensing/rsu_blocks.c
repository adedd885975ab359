/* SPDX-License-Identifier: MIT */
/* Register geometry: word helpers, read blocks and the layout checks built on them. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "rsu_profile.h"
#include "rsu_profile_check.h"

/* One Modbus read returns at most 125 registers. */
#define BLOCK_REGS_MAX 125
/*
 * Fields this close together are read in one request, gap included: one
 * request of 40 registers is much faster than three of 10 on a 9600 Bd line.
 */
#define BLOCK_GAP_MAX 16

int rsu_reg_words(const struct rsu_reg *r)
{
    switch (r->type) {
    case RSU_TYPE_U16:
    case RSU_TYPE_S16:
        return 1;
    case RSU_TYPE_U32:
    case RSU_TYPE_S32:
    case RSU_TYPE_FLOAT32:
        return 2;
    case RSU_TYPE_STRING:
        return r->length;
    }
    return 1;
}

uint32_t rsu_reg_get_u32(const struct rsu_reg *r, const uint16_t *words)
{
    if (rsu_reg_words(r) < 2)
        return words[0];
    if (r->words == RSU_WORDS_LITTLE)
        return (uint32_t)words[1] << 16 | words[0];
    return (uint32_t)words[0] << 16 | words[1];
}

void rsu_reg_put_u32(const struct rsu_reg *r, uint32_t v, uint16_t *words)
{
    if (rsu_reg_words(r) < 2) {
        words[0] = (uint16_t)v;
        return;
    }
    uint16_t hi = (uint16_t)(v >> 16), lo = (uint16_t)v;
    words[0] = r->words == RSU_WORDS_LITTLE ? lo : hi;
    words[1] = r->words == RSU_WORDS_LITTLE ? hi : lo;
}

struct span {
    enum rsu_table table;
    long start, end; /* [start, end) */
    int line;
    const char *what;
};

static int span_cmp(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    if (x->table != y->table)
        return x->table < y->table ? -1 : 1;
    return (x->start > y->start) - (x->start < y->start);
}

static struct span span_of(const struct rsu_reg *r, const char *what)
{
    return (struct span){r->table, r->address, (long)r->address + rsu_reg_words(r), r->line, what};
}

/* The sequence and ack registers must never be inside a block: the ack register
 * changes when the gateway writes it, which would change the pass's fingerprint. */
static bool control_reg_in(const struct rsu_profile *p, enum rsu_table t, long start, long end)
{
    const struct rsu_reg *ctl[2] = {&p->sequence, &p->ack};
    for (int i = 0; i < 2; i++) {
        struct span s = span_of(ctl[i], "");
        if (s.table == t && s.start < end && s.end > start)
            return true;
    }
    return false;
}

static size_t field_spans(const struct rsu_profile *p, struct span *out)
{
    size_t n = 0;
    for (int f = 0; f < RSU_X_COUNT; f++)
        if (p->mapped & (1u << f))
            out[n++] = span_of(&p->field[f], rsu_profile_field_name(f));
    qsort(out, n, sizeof out[0], span_cmp);
    return n;
}

/* Returns the number of blocks needed, which may exceed max (only max are written). */
size_t rsu_profile_blocks(const struct rsu_profile *p, struct rsu_block *out, size_t max)
{
    struct span s[RSU_X_COUNT];
    size_t n = field_spans(p, s), count = 0;
    for (size_t i = 0; i < n;) {
        long start = s[i].start, end = s[i].end;
        size_t j = i + 1;
        for (; j < n; j++) {
            long new_end = s[j].end > end ? s[j].end : end;
            if (s[j].table != s[i].table || s[j].start - end > BLOCK_GAP_MAX ||
                new_end - start > BLOCK_REGS_MAX || control_reg_in(p, s[i].table, end, s[j].start))
                break;
            end = new_end;
        }
        if (count < max)
            out[count] = (struct rsu_block){s[i].table, (uint16_t)start, (uint16_t)(end - start)};
        count++;
        i = j;
    }
    return count;
}

static const char *table_name(enum rsu_table t)
{
    return t == RSU_TABLE_INPUT ? "input" : "holding";
}

int rsu_profile_check_layout(const struct rsu_profile *p, char *msg, size_t msglen)
{
    struct span all[RSU_X_COUNT + 2];
    size_t n = field_spans(p, all);
    all[n++] = span_of(&p->sequence, "sequence");
    all[n++] = span_of(&p->ack, "ack");
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            const struct span *a = &all[i], *b = &all[j];
            if (a->table != b->table || a->start >= b->end || b->start >= a->end)
                continue;
            if (a->line > b->line) {
                const struct span *t = a;
                a = b, b = t;
            }
            snprintf(msg, msglen, "%s (%s %ld..%ld) overlaps %s (%s %ld..%ld, line %d)", b->what,
                     table_name(b->table), b->start, b->end - 1, a->what, table_name(a->table),
                     a->start, a->end - 1, a->line);
            return b->line;
        }
    }
    struct rsu_block blocks[RSU_BLOCKS_MAX];
    size_t nb = rsu_profile_blocks(p, blocks, RSU_BLOCKS_MAX);
    if (nb > RSU_BLOCKS_MAX) {
        snprintf(msg, msglen,
                 "the fields need %zu read requests, at most %d are supported: map them closer "
                 "together",
                 nb, RSU_BLOCKS_MAX);
        return -1;
    }
    long regs = 0;
    for (size_t i = 0; i < nb; i++)
        regs += blocks[i].count;
    if (regs * 2 > RSU_RAW_MAX) {
        snprintf(msg, msglen,
                 "the fields span %ld registers, at most %d are kept as raw evidence of a pass",
                 regs, RSU_RAW_MAX / 2);
        return -1;
    }
    return 0;
}
