/* SPDX-License-Identifier: MIT */
/*
 * The findings window: "within 6 natural months" counted in local calendar
 * months, so the timezone (TZ) decides where a day starts.
 */
#include "policy.h"

#include <time.h>

static bool is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month0)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month0 == 1 && is_leap(year) ? 29 : days[month0];
}

int64_t policy_window_start(int64_t now_ms, int months)
{
    if (months < 0)
        months = 0;
    /* floor division: times before 1970 must not round towards the next second */
    int64_t secs = now_ms / 1000 - (now_ms % 1000 < 0 ? 1 : 0);
    time_t t = (time_t)secs;
    struct tm now;
    if (!localtime_r(&t, &now))
        return INT64_MIN; /* unrepresentable time: count the whole history */

    int year = now.tm_year + 1900;
    int month0 = now.tm_mon - months % 12;
    year -= months / 12;
    if (month0 < 0) {
        month0 += 12;
        year--;
    }
    int day = now.tm_mday;
    if (day > days_in_month(year, month0))
        day = days_in_month(year, month0);

    struct tm start = {0};
    start.tm_year = year - 1900;
    start.tm_mon = month0;
    start.tm_mday = day;
    start.tm_isdst = -1; /* let the zone decide whether DST applied on that day */
    time_t s = mktime(&start);
    if (s == (time_t)-1)
        return INT64_MIN; /* no local midnight is 1969-12-31 23:59:59 UTC: a real failure */
    return (int64_t)s * 1000;
}
