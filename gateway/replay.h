/* SPDX-License-Identifier: MIT */
/* rsgw replay: what a candump log said, as cmd_replay.c gathers it and
 * replay_print.c shows it. */
#ifndef REPLAY_H
#define REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isotp.h"
#include "j1939.h"
#include "obd.h"

#define REPLAY_MAX_ANOMALIES 200 /* listed; the rest are only counted */
#define REPLAY_MAX_SESSIONS  200 /* TP session outcomes listed */
#define REPLAY_MAX_VINS      16
#define REPLAY_MAX_OBD_ECUS  16
#define REPLAY_ANOMALY_TEXT  200
#define REPLAY_RTS_RECEIVERS 256
#define REPLAY_LIVE_MAX_SPN  64

struct anomaly {
    char text[REPLAY_ANOMALY_TEXT];
};

struct vin_seen {
    char source[24]; /* "J1939 0x00", "OBD 0x7E8" */
    char text[J1939_VIN_TEXT_MAX + 1];
    bool valid;
    uint64_t count;
};

struct dm1_seen {
    bool present;
    uint64_t count;
    bool via_tp;
    struct j1939_dm1 dm1;
};

struct live_seen {
    bool present;
    uint8_t sa;
    struct j1939_live_value v;
};

struct session_seen {
    uint8_t sa, da;
    uint32_t pgn;
    char outcome[16]; /* completed / aborted / timed-out / refused */
    char reason[48];
};

/* Completed TP messages, aggregated by (source, destination, PGN). */
struct tp_done_seen {
    uint8_t sa, da;
    uint32_t pgn;
    uint64_t count;
};
#define REPLAY_MAX_TP_DONE 64

struct obd_ecu_seen {
    uint32_t rx_id;
    bool have_mon, have_dtc;
    struct obd_monitor_status mon;
    size_t n_dtc;
    char dtc[16][6];
    unsigned dtc_count;
    uint64_t answers, negative;
};

/* Everything the replay learnt; owned by cmd_replay, freed at the end. */
struct replay {
    const char *path;
    uint64_t frames, error_frames, parse_errors, lines_skipped;
    uint64_t first_us, last_us;
    j1939_tp_rx *bam;
    j1939_tp_rx *rts[REPLAY_RTS_RECEIVERS]; /* by destination address, created on first RTS */
    bool abort_by_receiver;                 /* the Abort being fed was rewritten (see feed_tp) */
    isotp_client *obd11, *obd29;
    uint64_t obd_requests;
    struct vin_seen vins[REPLAY_MAX_VINS];
    size_t n_vins;
    struct dm1_seen *dm1[256]; /* by source, allocated on first DM1 */
    bool dm5_present[256];
    struct j1939_dm5 dm5[256];
    struct live_seen live[REPLAY_LIVE_MAX_SPN];
    struct obd_ecu_seen obd[REPLAY_MAX_OBD_ECUS];
    size_t n_obd;
    uint64_t tp_completed, tp_bam, tp_rts, tp_aborted, tp_timed_out, tp_refused;
    struct tp_done_seen done[REPLAY_MAX_TP_DONE];
    size_t n_done;
    struct session_seen sessions[REPLAY_MAX_SESSIONS];
    size_t n_sessions;
    uint64_t n_anomalies;
    struct anomaly anomalies[REPLAY_MAX_ANOMALIES];
    uint64_t orphan_dt, seq_errors, oversize, malformed_tp;
    uint64_t now_us; /* time of the frame being processed */
};

/* Seconds since the first frame of the log. */
double replay_rel_s(const struct replay *r, uint64_t t);
/* "OBD 0x7E8", "OBD 0x18DAF110". */
void replay_obd_source(uint32_t rx_id, char *buf, size_t len);
void replay_print_human(const struct replay *r);
void replay_print_json(const struct replay *r);

#endif
