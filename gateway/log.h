/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr. Under systemd (JOURNAL_STREAM set) each line starts with
 * a "<N>" syslog priority, which journald turns into the entry's priority;
 * on a terminal lines carry a timestamp and a level word instead.
 */
#ifndef LOG_H
#define LOG_H

#include <stdbool.h>
#include <syslog.h>

struct log {
    int max_priority; /* LOG_INFO by default; LOG_DEBUG with -v */
    bool journal;
};

void log_init(struct log *lg, int max_priority);
void log_msg(const struct log *lg, int priority, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
