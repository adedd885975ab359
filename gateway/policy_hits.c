/* SPDX-License-Identifier: MIT */
/* Building rule hits: bounded, UTF-8 safe, never losing a deciding hit silently. */
#include "policy_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void policy_copy_utf8(char *dst, size_t len, const char *src)
{
    if (len == 0)
        return;
    size_t n = strlen(src);
    if (n >= len) {
        n = len - 1;
        /* back up over continuation bytes so no character is cut in half */
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memmove(dst, src, n);
    dst[n] = 0;
}

static bool is_informational(const struct policy_rule_hit *h)
{
    return strncmp(h->rule_id, "WITHIN_", 7) == 0;
}

struct policy_rule_hit *policy_hit_add(struct policy_verdict *v, const char *rule_id)
{
    if (v->n_rules >= POLICY_RULES_MAX) {
        /* Full. Informational hits are listed only while there is room; a deciding hit
         * replaces the newest informational one. */
        if (strncmp(rule_id, "WITHIN_", 7) == 0)
            return NULL;
        size_t drop = POLICY_RULES_MAX;
        for (size_t i = POLICY_RULES_MAX; i-- > 0;) {
            if (is_informational(&v->rules[i])) {
                drop = i;
                break;
            }
        }
        if (drop == POLICY_RULES_MAX) {
            struct policy_rule_hit *last = &v->rules[POLICY_RULES_MAX - 1];
            memset(last, 0, sizeof(*last));
            policy_copy_utf8(last->rule_id, sizeof(last->rule_id), "RULES_TRUNCATED");
            policy_copy_utf8(last->clause, sizeof(last->clause), "rsgw verdict capacity");
            snprintf(last->text, sizeof(last->text),
                     "more rules fired than a verdict holds (%d); later ones are not listed, "
                     "the result and actions still include them",
                     POLICY_RULES_MAX);
            return NULL;
        }
        memmove(&v->rules[drop], &v->rules[drop + 1],
                (POLICY_RULES_MAX - drop - 1) * sizeof(v->rules[0]));
        v->n_rules--;
    }
    struct policy_rule_hit *h = &v->rules[v->n_rules++];
    memset(h, 0, sizeof(*h));
    policy_copy_utf8(h->rule_id, sizeof(h->rule_id), rule_id);
    return h;
}

void policy_hit_quantity(struct policy_rule_hit *h, const char *quantity, const char *unit)
{
    if (!h)
        return;
    policy_copy_utf8(h->quantity, sizeof(h->quantity), quantity ? quantity : "");
    policy_copy_utf8(h->unit, sizeof(h->unit), unit ? unit : "");
}

void policy_hit_measured(struct policy_rule_hit *h, double measured)
{
    if (!h)
        return;
    h->has_measured = true;
    h->measured = measured;
}

void policy_hit_limit(struct policy_rule_hit *h, double limit)
{
    if (!h)
        return;
    h->has_limit = true;
    h->limit = limit;
}

void policy_hit_clause(struct policy_rule_hit *h, const char *fmt, ...)
{
    if (!h)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    policy_copy_utf8(h->clause, sizeof(h->clause), buf);
}

void policy_hit_text(struct policy_rule_hit *h, const char *fmt, ...)
{
    if (!h)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    policy_copy_utf8(h->text, sizeof(h->text), buf);
}
