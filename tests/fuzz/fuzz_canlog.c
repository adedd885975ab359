/* SPDX-License-Identifier: MIT */
/*
 * candump log parser (can/canbus_logline.c) and the log backend over it. Every line
 * must parse to a frame, a skip or an error with a note; a frame must be a valid
 * classic CAN frame that survives canbus_log_format() and a second parse unchanged;
 * the backend must reach the end having accounted for every line.
 * Input: the log file's bytes (NULs included).
 */
#include "canbus.h"
#include "fuzz.h"

static void check_frame(const struct can_frame_rec *f)
{
    FUZZ_CHECK(f->len <= 8);
    if (f->id & CAN_FRAME_ERR)
        FUZZ_CHECK(!(f->id & (CAN_FRAME_EFF | CAN_FRAME_RTR)));
    else if (!(f->id & CAN_FRAME_EFF))
        FUZZ_CHECK((f->id & ~CAN_FRAME_RTR) <= CAN_SFF_MASK);
}

static void check_line(const char *line, size_t len)
{
    struct canbus_log_line ll;
    char note[160];
    memset(note, 'x', sizeof note);
    int rc = canbus_log_parse_line(line, len, &ll, note, sizeof note);
    FUZZ_CHECK(rc == CANBUS_OK || rc == CANBUS_SKIP || rc == CANBUS_EPARSE);
    FUZZ_CHECK(fuzz_terminated(note, sizeof note));
    if (rc == CANBUS_EPARSE)
        FUZZ_CHECK(note[0] != '\0');
    if (rc != CANBUS_OK)
        return;
    FUZZ_CHECK(fuzz_terminated(ll.ifname, sizeof ll.ifname) && ll.ifname[0]);
    check_frame(&ll.frame);

    char text[128];
    int n = canbus_log_format(&ll.frame, ll.ifname, text, sizeof text);
    FUZZ_CHECK(n > 0 && (size_t)n == strlen(text));
    struct canbus_log_line again;
    FUZZ_CHECK(canbus_log_parse_line(text, (size_t)n, &again, note, sizeof note) == CANBUS_OK);
    FUZZ_CHECK(again.frame.id == ll.frame.id && again.frame.len == ll.frame.len);
    FUZZ_CHECK(memcmp(again.frame.data, ll.frame.data, ll.frame.len) == 0);
    FUZZ_CHECK(again.frame.t_us == ll.frame.t_us);
    FUZZ_CHECK(strcmp(again.ifname, ll.ifname) == 0);
    FUZZ_CHECK(again.time == CANBUS_LOG_TIME_ABS && again.log_format);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t lines = 0;
    for (size_t start = 0; start <= size;) {
        const char *nl = memchr(text + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - text) : size;
        check_line(text + start, end - start);
        lines++;
        start = end + 1;
    }

    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "r");
    FUZZ_CHECK(f != NULL);
    struct canbus_log_opts opts = {.reltime =
                                       (data[0] & 1) ? CANBUS_LOG_REL_DELTA : CANBUS_LOG_REL_ZERO};
    char err[256];
    canbus *bus = canbus_open_log_stream(f, "fuzz.log", &opts, err, sizeof err);
    FUZZ_CHECK(bus != NULL);
    size_t calls = 0, frames = 0, errors = 0;
    struct can_frame_rec fr;
    int rc;
    while ((rc = canbus_recv(bus, &fr)) != CANBUS_EOF) {
        FUZZ_CHECK(++calls <= lines);
        if (rc == CANBUS_OK) {
            check_frame(&fr);
            frames++;
        } else {
            FUZZ_CHECK(rc == CANBUS_EPARSE);
            FUZZ_CHECK(strncmp(canbus_errmsg(bus), "fuzz.log:", 9) == 0);
            errors++;
        }
    }
    struct canbus_stats st;
    canbus_stats(bus, &st);
    FUZZ_CHECK(st.rx + st.error_frames == frames && st.parse_errors == errors);
    FUZZ_CHECK(frames + errors + st.skipped <= lines);
    canbus_close(bus);
    fclose(f);
    return 0;
}
