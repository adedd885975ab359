/* SPDX-License-Identifier: MIT */
/*
 * Simulator internals shared by rsusim.c (device state: queue, registers,
 * faults), rsusim_server.c (Modbus transports, the server thread) and
 * rsusim_scenario.c. Not part of the API.
 */
#ifndef RSUSIM_INTERNAL_H
#define RSUSIM_INTERNAL_H

#include <modbus/modbus.h>
#include <pthread.h>
#include <stdbool.h>

#include "rsusim.h"

#define RSUSIM_CLIENTS_MAX 16

struct rsusim_queued {
    struct rsu_measurement pass; /* seq set by the simulator */
    bool garbage;                /* pushed during a GARBAGE fault: shown as random words */
};

struct rsusim {
    struct rsusim_config cfg; /* profile is borrowed: the caller keeps it alive */
    pthread_t thread;
    bool running; /* the server thread was started */
    int wake[2];  /* pipe: rsusim_stop / rsusim_restart wake the server thread */

    pthread_mutex_t mu; /* guards everything down to the server-only part */
    bool stopping;
    bool drop_clients;           /* a restart drops TCP connections, like a power cycle */
    struct rsusim_queued *queue; /* owned ring buffer of unacknowledged passes */
    size_t cap, head, len;
    uint32_t next_seq;
    uint32_t presented_seq; /* 0: nothing presented since start or restart */
    enum rsusim_fault fault;
    int fault_ms;
    int64_t fault_until_ms; /* 0: no expiry */
    modbus_mapping_t *map;  /* owned register images served to clients */
    uint16_t *scratch;      /* owned; checks that a pushed pass encodes */
    size_t n_holding, n_input;
    struct rsusim_stats stats;
    rsusim_ack_fn ack_fn;
    void *ack_ud;
    uint64_t rng;
    char errmsg[256];

    /* Server thread only (and start/stop around it). */
    modbus_t *ctx;  /* owned; frames requests and replies for every connection */
    int listen_fd;  /* TCP */
    int capture[2]; /* socketpair: a reply is built here to be corrupted (CRC fault) */
    int clients[RSUSIM_CLIENTS_MAX];
    size_t n_clients;
    int port;
};

int64_t rsusim_now_ms(void);

/* rsusim_server.c: open the transport in the caller's thread, then serve in the background. */
int rsusim_server_open(rsusim *sim, char *err, size_t errlen);
void *rsusim_server_main(void *arg);
void rsusim_server_close(rsusim *sim);

/* rsusim.c: answer one request that is addressed to this unit. Returns -1 to drop the
 * connection (the simulator is stopping), else 0. */
int rsusim_serve(rsusim *sim, const uint8_t *req, int req_len);
/* Expire a timed fault; called by the server thread at least every 100 ms. */
void rsusim_tick(rsusim *sim);
/* Wait up to ms; returns false early when the simulator is woken (stop or restart). */
bool rsusim_wait(rsusim *sim, int ms);

#endif
