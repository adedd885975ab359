/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void log_init(struct log *lg, int max_priority)
{
    lg->max_priority = max_priority;
    lg->journal = getenv("JOURNAL_STREAM") != NULL;
}

static const char *level_word(int priority)
{
    static const char *const words[] = {"emerg",   "alert",  "crit", "error",
                                        "warning", "notice", "info", "debug"};
    return priority >= 0 && priority <= 7 ? words[priority] : "info";
}

void log_msg(const struct log *lg, int priority, const char *fmt, ...)
{
    if (lg && priority > lg->max_priority)
        return;
    /* One fputs per line so concurrent lines from lane threads do not interleave. */
    char line[1024];
    int off;
    if (lg && lg->journal) {
        off = snprintf(line, sizeof line, "<%d>", priority);
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        off = (int)strftime(line, sizeof line, "%Y-%m-%d %H:%M:%S", &tm);
        off += snprintf(line + off, sizeof line - (size_t)off, ".%03ld %s: ", ts.tv_nsec / 1000000,
                        level_word(priority));
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + off, sizeof line - (size_t)off - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)off + (n < 0 ? 0 : (size_t)n);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len] = '\n';
    line[len + 1] = '\0';
    fputs(line, stderr);
}
