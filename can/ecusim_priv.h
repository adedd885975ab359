/* SPDX-License-Identifier: MIT */
/* Inside the ECU simulator: shared between ecusim.c (J1939) and ecusim_obd.c. */
#ifndef ECUSIM_PRIV_H
#define ECUSIM_PRIV_H

#include "ecusim.h"
#include "isotp.h"
#include "j1939.h"

#define ECUSIM_OBD_ECUS    4 /* engine and transmission, 11- and 29-bit */
#define ECUSIM_PENDING_MAX 16

struct ecusim_obd_ecu {
    isotp_link *link;
    struct ecusim *sim;
    bool engine;
    bool have_req; /* a request arrived; answered after on_frame returns */
    bool req_functional;
    uint8_t req[8];
    size_t req_len;
};

/* A TP message waiting for its (source, destination) to be free. */
struct ecusim_pending {
    bool used;
    uint8_t sa, da;
    uint32_t pgn;
};

struct ecusim_bcast {
    uint32_t pgn;
    uint8_t sa;
    uint32_t period_us;
    uint64_t next_us;
};

struct ecusim {
    struct ecusim_profile p;
    struct ecusim_io io;
    struct ecusim_stats st;
    j1939_tp_tx *tp;
    uint64_t start_us;
    bool started;
    struct ecusim_bcast bc[16];
    size_t n_bc;
    uint64_t dm1_next_us;
    struct ecusim_pending pending[ECUSIM_PENDING_MAX];
    struct ecusim_obd_ecu obd[ECUSIM_OBD_ECUS];
    size_t n_obd;
};

int ecusim_send(struct ecusim *s, const struct can_frame_rec *f);
/* Live values at a time, shared by J1939 and OBD so both tell the same story. */
struct ecusim_live {
    double rpm, speed_kmh, coolant_c, fuel_lph, nox_in_ppm, nox_out_ppm, def_pct, dpf_kpa, air_kgh,
        distance_km, scr_in_c, scr_out_c;
};
void ecusim_live_at(const struct ecusim *s, uint64_t now_us, struct ecusim_live *v);

int ecusim_obd_init(struct ecusim *s, char *err, size_t errlen);
void ecusim_obd_free(struct ecusim *s);
int ecusim_obd_rx(struct ecusim *s, const struct can_frame_rec *f, uint64_t now_us);
void ecusim_obd_tick(struct ecusim *s, uint64_t now_us);
uint64_t ecusim_obd_next_deadline(const struct ecusim *s);

#endif
