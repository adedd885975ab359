/* SPDX-License-Identifier: MIT */
/* Private to obdread*.c: the reader's state. */
#ifndef OBDREAD_INTERNAL_H
#define OBDREAD_INTERNAL_H

#include "j1939.h"
#include "obd.h"
#include "obdread.h"

enum obdread_phase { PH_IDLE = 0, PH_DETECT, PH_J_CLAIM, PH_J_COLLECT, PH_ISO, PH_DONE };

struct obdread {
    canbus *bus; /* the caller's */
    struct obdread_opts o;
    struct obdread_report rep;
    enum obdread_phase phase;
    uint64_t t_start, t_end;
    bool iface_error;
    char iface_msg[160];
    /* detection */
    obd_detect *det;
    bool det_running;
    bool j1939_seen;
    /* J1939 */
    j1939_ac *ac;
    j1939_tp_rx *rx;
    bool got_dm1, got_dm5, got_vi, got_vd;
    size_t n_dm1_sa;
    uint8_t dm1_sa[OBDREAD_MAX_ECUS];
    bool dm1_mil[OBDREAD_MAX_ECUS];
    struct j1939_dm1 dm1; /* scratch, large */
    /* ISO 15765-4 */
    obd_query *q;
    enum obd_can_addressing addressing;
    size_t step;
    bool step_running;
    struct obd_detect_result det_res;
    struct obd_dtc_list dtcs; /* scratch */
};

int obdread_send_cb(void *ctx, const struct can_frame_rec *f);
void obdread_add_ecu(obdread *r, uint8_t ecu);
void obdread_add_readiness(obdread *r, const char *name);
void obdread_add_missing(obdread *r, const char *item);
struct obdread_live *obdread_live_slot(obdread *r, const char *name, uint8_t ecu);

/* obdread_iso.c */
void obdread_iso_begin(obdread *r, const struct obd_detect_result *d, uint64_t now_us);
/* 1 while requests remain, 0 when done. */
int obdread_iso_poll(obdread *r, uint64_t now_us);

#endif
