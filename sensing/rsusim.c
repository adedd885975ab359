/* SPDX-License-Identifier: MIT */
/*
 * Simulated remote-sensing unit: the device half of the exactly-once
 * protocol. The oldest unacknowledged pass is encoded into the register
 * images; a write of its sequence number to the ack register pops it.
 */
#include "rsusim_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t rsusim_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint16_t next_random(rsusim *sim)
{
    /* xorshift64: plenty for garbage registers, and no shared libc state. */
    uint64_t x = sim->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sim->rng = x;
    return (uint16_t)(x >> 24);
}

static void extent(const struct rsu_reg *r, size_t *n_holding, size_t *n_input)
{
    size_t end = (size_t)r->address + (size_t)rsu_reg_words(r);
    size_t *n = r->table == RSU_TABLE_INPUT ? n_input : n_holding;
    if (end > *n)
        *n = end;
}

static void clear_images(rsusim *sim)
{
    if (sim->n_holding)
        memset(sim->map->tab_registers, 0, sim->n_holding * sizeof(uint16_t));
    if (sim->n_input)
        memset(sim->map->tab_input_registers, 0, sim->n_input * sizeof(uint16_t));
}

static uint16_t *image_of(rsusim *sim, enum rsu_table t)
{
    return t == RSU_TABLE_INPUT ? sim->map->tab_input_registers : sim->map->tab_registers;
}

/* Show the oldest unacknowledged pass. With none queued the last one stays
 * visible, acknowledged, which tells the gateway there is nothing new. */
static void present_locked(rsusim *sim)
{
    if (sim->len == 0)
        return;
    const struct rsusim_queued *head = &sim->queue[sim->head];
    if (head->pass.seq == sim->presented_seq)
        return;
    const struct rsu_profile *p = sim->cfg.profile;
    clear_images(sim);
    char err[160];
    /* Cannot fail: rsusim_push encoded the same pass into the scratch images. */
    rsu_profile_encode(p, &head->pass, sim->map->tab_registers, sim->n_holding,
                       sim->map->tab_input_registers, sim->n_input, err, sizeof err);
    if (head->garbage) {
        struct rsu_block blocks[RSU_BLOCKS_MAX];
        size_t nb = rsu_profile_blocks(p, blocks, RSU_BLOCKS_MAX);
        for (size_t b = 0; b < nb && b < RSU_BLOCKS_MAX; b++) {
            uint16_t *img = image_of(sim, blocks[b].table);
            for (size_t i = 0; i < blocks[b].count; i++)
                img[blocks[b].address + i] = next_random(sim);
        }
    }
    rsu_reg_put_u32(&p->sequence, head->pass.seq,
                    image_of(sim, p->sequence.table) + p->sequence.address);
    sim->presented_seq = head->pass.seq;
}

static void apply_fault_locked(rsusim *sim, enum rsusim_fault fault, int fault_ms, int duration_ms)
{
    /* A presented pass is never repainted: its registers must not change while
     * it is on show, or it would look like a new pass. GARBAGE therefore marks
     * passes as they are pushed (see rsusim_push). */
    sim->fault = fault;
    sim->fault_ms = fault_ms < 0 ? 0 : fault_ms;
    sim->fault_until_ms = duration_ms > 0 ? rsusim_now_ms() + duration_ms : 0;
}

static void tick_locked(rsusim *sim)
{
    if (sim->fault_until_ms && rsusim_now_ms() >= sim->fault_until_ms)
        apply_fault_locked(sim, RSUSIM_FAULT_NONE, 0, 0);
}

void rsusim_tick(rsusim *sim)
{
    pthread_mutex_lock(&sim->mu);
    tick_locked(sim);
    pthread_mutex_unlock(&sim->mu);
}

bool rsusim_wait(rsusim *sim, int ms)
{
    struct pollfd pfd = {.fd = sim->wake[0], .events = POLLIN};
    int64_t deadline = rsusim_now_ms() + ms;
    for (;;) {
        int64_t left = deadline - rsusim_now_ms();
        if (left <= 0)
            return true;
        int rc = poll(&pfd, 1, (int)left);
        if (rc > 0)
            return false;
        if (rc < 0 && errno != EINTR)
            return true;
    }
}

static bool grow_queue(rsusim *sim)
{
    size_t cap = sim->cap ? sim->cap * 2 : 64;
    if (cap > RSUSIM_QUEUE_MAX)
        cap = RSUSIM_QUEUE_MAX;
    struct rsusim_queued *q = malloc(cap * sizeof *q);
    if (!q)
        return false;
    for (size_t i = 0; i < sim->len; i++)
        q[i] = sim->queue[(sim->head + i) % sim->cap];
    free(sim->queue);
    sim->queue = q;
    sim->cap = cap;
    sim->head = 0;
    return true;
}

uint32_t rsusim_push(rsusim *sim, const struct rsu_measurement *pass)
{
    pthread_mutex_lock(&sim->mu);
    uint32_t seq = 0;
    uint16_t *hold = sim->scratch, *input = sim->scratch + sim->n_holding;
    /* The prefix is written first so the encoder's reason can follow it in place. */
    int off = snprintf(sim->errmsg, sizeof sim->errmsg, "profile %s: ", sim->cfg.profile->name);
    if (off < 0 || (size_t)off >= sizeof sim->errmsg)
        off = 0;
    if (sim->len == RSUSIM_QUEUE_MAX) {
        snprintf(sim->errmsg, sizeof sim->errmsg,
                 "queue full: %d passes are waiting for an acknowledgement", RSUSIM_QUEUE_MAX);
    } else if (rsu_profile_encode(sim->cfg.profile, pass, hold, sim->n_holding, input, sim->n_input,
                                  sim->errmsg + off, sizeof sim->errmsg - (size_t)off) != 0) {
        /* sim->errmsg holds the reason */
    } else if (sim->len == sim->cap && !grow_queue(sim)) {
        snprintf(sim->errmsg, sizeof sim->errmsg, "out of memory");
    } else {
        seq = sim->next_seq++;
        /* 0 means "no pass" on the wire; a u16 sequence register wraps at 65535. */
        bool narrow = rsu_reg_words(&sim->cfg.profile->sequence) == 1;
        if (sim->next_seq == 0 || (narrow && sim->next_seq > 0xFFFF))
            sim->next_seq = 1;
        struct rsusim_queued *slot = &sim->queue[(sim->head + sim->len) % sim->cap];
        slot->pass = *pass;
        slot->pass.seq = seq;
        slot->garbage = sim->fault == RSUSIM_FAULT_GARBAGE;
        /* Without a duration, "fault garbage" spoils the next pass only. */
        if (slot->garbage && sim->fault_until_ms == 0)
            sim->fault = RSUSIM_FAULT_NONE;
        sim->len++;
        sim->stats.pushed++;
        sim->stats.pending = (uint32_t)sim->len;
        present_locked(sim);
    }
    pthread_mutex_unlock(&sim->mu);
    return seq;
}

const char *rsusim_errmsg(const rsusim *sim)
{
    return sim->errmsg;
}

void rsusim_set_fault_for(rsusim *sim, enum rsusim_fault fault, int fault_ms, int duration_ms)
{
    pthread_mutex_lock(&sim->mu);
    apply_fault_locked(sim, fault, fault_ms, duration_ms);
    pthread_mutex_unlock(&sim->mu);
}

void rsusim_set_fault(rsusim *sim, enum rsusim_fault fault, int fault_ms)
{
    rsusim_set_fault_for(sim, fault, fault_ms, 0);
}

static void wake(rsusim *sim)
{
    ssize_t n;
    do {
        n = write(sim->wake[1], "w", 1);
    } while (n < 0 && errno == EINTR);
    /* EAGAIN: the pipe is full of wake-ups already, which is just as good. */
}

void rsusim_restart(rsusim *sim)
{
    pthread_mutex_lock(&sim->mu);
    sim->len = 0;
    sim->head = 0;
    sim->next_seq = sim->cfg.first_seq;
    sim->presented_seq = 0;
    sim->stats.pending = 0;
    sim->drop_clients = true;
    clear_images(sim);
    pthread_mutex_unlock(&sim->mu);
    wake(sim);
}

void rsusim_get_stats(rsusim *sim, struct rsusim_stats *out)
{
    pthread_mutex_lock(&sim->mu);
    *out = sim->stats;
    pthread_mutex_unlock(&sim->mu);
}

void rsusim_on_ack(rsusim *sim, rsusim_ack_fn fn, void *ud)
{
    pthread_mutex_lock(&sim->mu);
    sim->ack_fn = fn;
    sim->ack_ud = ud;
    pthread_mutex_unlock(&sim->mu);
}

int rsusim_port(const rsusim *sim)
{
    return sim ? sim->port : 0;
}

/* Registers [address, address + count) written by a request, or false. */
static bool written_range(const uint8_t *req, int len, int hl, int *address, int *count)
{
    if (len < hl + 5)
        return false;
    const uint8_t *pdu = req + hl;
    switch (pdu[0]) {
    case 0x06: /* write single register */
        *address = pdu[1] << 8 | pdu[2];
        *count = 1;
        return true;
    case 0x10: /* write multiple registers */
        *address = pdu[1] << 8 | pdu[2];
        *count = pdu[3] << 8 | pdu[4];
        return true;
    case 0x17: /* write and read registers */
        if (len < hl + 9)
            return false;
        *address = pdu[5] << 8 | pdu[6];
        *count = pdu[7] << 8 | pdu[8];
        return true;
    }
    return false;
}

/* After a write touching the ack register: pop the presented pass if it names it. */
static bool check_ack_locked(rsusim *sim, struct rsu_measurement *acked)
{
    const struct rsu_reg *ack = &sim->cfg.profile->ack;
    uint32_t value = rsu_reg_get_u32(ack, sim->map->tab_registers + ack->address);
    if (sim->len == 0 || value == 0 || value != sim->presented_seq ||
        sim->queue[sim->head].pass.seq != sim->presented_seq)
        return false;
    *acked = sim->queue[sim->head].pass;
    sim->head = (sim->head + 1) % sim->cap;
    sim->len--;
    sim->stats.acked++;
    sim->stats.last_acked_seq = value;
    sim->stats.pending = (uint32_t)sim->len;
    present_locked(sim);
    return true;
}

/*
 * Build the reply on a socketpair instead of sending it: the ack takes effect
 * (stats, on_ack) before the client can see the answer, and a CRC fault can
 * damage the frame. Returns the frame length, or 0 when there is no reply.
 */
static size_t build_reply(rsusim *sim, const uint8_t *req, int req_len, uint8_t *frame, size_t size)
{
    int real = modbus_get_socket(sim->ctx);
    modbus_set_socket(sim->ctx, sim->capture[0]);
    int rc = modbus_reply(sim->ctx, req, req_len, sim->map);
    modbus_set_socket(sim->ctx, real);
    if (rc <= 0)
        return 0;
    ssize_t n = recv(sim->capture[1], frame, size, MSG_DONTWAIT);
    return n > 0 ? (size_t)n : 0;
}

/*
 * CRC fault: RTU gets a wrong CRC. TCP has no CRC, so the transaction id is
 * damaged instead, which a client rejects the same way (protocol error).
 */
static void damage(const rsusim *sim, uint8_t *frame, size_t n)
{
    if (n < 3)
        return;
    if (sim->cfg.transport == RSU_TRANSPORT_RTU)
        frame[n - 1] ^= 0x5A;
    else
        frame[0] ^= 0x5A;
}

static void send_frame(rsusim *sim, const uint8_t *frame, size_t n)
{
    int fd = modbus_get_socket(sim->ctx);
    ssize_t w = sim->cfg.transport == RSU_TRANSPORT_RTU ? write(fd, frame, n)
                                                        : send(fd, frame, n, MSG_NOSIGNAL);
    (void)w; /* a client that went away is noticed on its next request */
}

int rsusim_serve(rsusim *sim, const uint8_t *req, int req_len)
{
    int hl = modbus_get_header_length(sim->ctx);
    if (req_len <= hl)
        return 0;
    int unit = req[hl - 1];
    pthread_mutex_lock(&sim->mu);
    sim->stats.requests++;
    tick_locked(sim);
    enum rsusim_fault fault = sim->fault;
    int delay_ms = sim->fault_ms;
    pthread_mutex_unlock(&sim->mu);

    bool tcp_any = sim->cfg.transport == RSU_TRANSPORT_TCP && unit == 0xFF;
    if ((unit != sim->cfg.unit_id && !tcp_any) || fault == RSUSIM_FAULT_SILENT)
        return 0; /* a device that is not addressed, or is dead, says nothing */
    if (fault == RSUSIM_FAULT_SLOW && delay_ms > 0 && !rsusim_wait(sim, delay_ms))
        return -1;

    uint8_t frame[MODBUS_TCP_MAX_ADU_LENGTH + 8];
    struct rsu_measurement *acked = NULL;
    rsusim_ack_fn fn = NULL;
    void *ud = NULL;
    int address, count;
    pthread_mutex_lock(&sim->mu);
    size_t n = build_reply(sim, req, req_len, frame, sizeof frame);
    const struct rsu_reg *ack = &sim->cfg.profile->ack;
    if (written_range(req, req_len, hl, &address, &count) &&
        address < ack->address + rsu_reg_words(ack) && address + count > ack->address) {
        /* Heap, not stack: a measurement is large and the callback is rare. */
        acked = malloc(sizeof *acked);
        if (acked && !check_ack_locked(sim, acked)) {
            free(acked);
            acked = NULL;
        }
        fn = sim->ack_fn;
        ud = sim->ack_ud;
    }
    pthread_mutex_unlock(&sim->mu);
    /* Outside the lock: the callback may push the next pass. */
    if (acked && fn)
        fn(ud, acked->seq, acked);
    free(acked);
    if (fault == RSUSIM_FAULT_CRC)
        damage(sim, frame, n);
    if (n)
        send_frame(sim, frame, n);
    return 0;
}

static int check_config(struct rsusim_config *c, char *err, size_t errlen)
{
    if (!c->profile) {
        snprintf(err, errlen, "simulator: no profile");
        return -1;
    }
    if (c->transport == RSU_TRANSPORT_TCP) {
        if (!c->host[0])
            snprintf(c->host, sizeof c->host, "127.0.0.1");
        if (c->port < 0 || c->port > 65535) {
            snprintf(err, errlen, "simulator: port %d is not 0..65535", c->port);
            return -1;
        }
    } else if (c->transport == RSU_TRANSPORT_RTU) {
        if (!c->device[0]) {
            snprintf(err, errlen, "simulator: rtu needs a serial device");
            return -1;
        }
        c->baud = c->baud ? c->baud : 9600;
        c->parity = c->parity ? c->parity : 'N';
        c->data_bits = c->data_bits ? c->data_bits : 8;
        c->stop_bits = c->stop_bits ? c->stop_bits : 1;
    } else {
        snprintf(err, errlen, "simulator: unknown transport %d", (int)c->transport);
        return -1;
    }
    c->unit_id = c->unit_id ? c->unit_id : 1;
    if (c->unit_id < 1 || c->unit_id > 247) {
        snprintf(err, errlen, "simulator: unit id %d is not 1..247", c->unit_id);
        return -1;
    }
    c->first_seq = c->first_seq ? c->first_seq : 1;
    if (rsu_reg_words(&c->profile->sequence) == 1 && c->first_seq > 0xFFFF) {
        snprintf(err, errlen, "simulator: first sequence %u does not fit the u16 register",
                 (unsigned)c->first_seq);
        return -1;
    }
    return 0;
}

void rsusim_stop(rsusim *sim)
{
    if (!sim)
        return;
    if (sim->running) {
        pthread_mutex_lock(&sim->mu);
        sim->stopping = true;
        pthread_mutex_unlock(&sim->mu);
        wake(sim);
        pthread_join(sim->thread, NULL);
    }
    rsusim_server_close(sim);
    for (int i = 0; i < 2; i++) {
        if (sim->wake[i] >= 0)
            close(sim->wake[i]);
        if (sim->capture[i] >= 0)
            close(sim->capture[i]);
    }
    if (sim->map)
        modbus_mapping_free(sim->map);
    pthread_mutex_destroy(&sim->mu);
    free(sim->scratch);
    free(sim->queue);
    free(sim);
}

rsusim *rsusim_start(const struct rsusim_config *cfg, char *err, size_t errlen)
{
    struct rsusim_config c = *cfg;
    if (check_config(&c, err, errlen) != 0)
        return NULL;
    rsusim *sim = calloc(1, sizeof *sim);
    if (!sim) {
        snprintf(err, errlen, "simulator: out of memory");
        return NULL;
    }
    sim->cfg = c;
    sim->wake[0] = sim->wake[1] = sim->capture[0] = sim->capture[1] = sim->listen_fd = -1;
    pthread_mutex_init(&sim->mu, NULL);
    sim->next_seq = c.first_seq;
    sim->rng = (uint64_t)rsusim_now_ms() * 0x9E3779B97F4A7C15ull ^ (uintptr_t)sim;
    if (sim->rng == 0)
        sim->rng = 1;
    const struct rsu_profile *p = c.profile;
    extent(&p->sequence, &sim->n_holding, &sim->n_input);
    extent(&p->ack, &sim->n_holding, &sim->n_input);
    for (int f = 0; f < RSU_X_COUNT; f++)
        if (p->mapped & (1u << f))
            extent(&p->field[f], &sim->n_holding, &sim->n_input);
    sim->map = modbus_mapping_new(0, 0, (int)sim->n_holding, (int)sim->n_input);
    sim->scratch = calloc(sim->n_holding + sim->n_input + 1, sizeof(uint16_t));
    if (!sim->map || !sim->scratch || pipe2(sim->wake, O_CLOEXEC | O_NONBLOCK) != 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sim->capture) != 0) {
        snprintf(err, errlen, "simulator: %s", strerror(errno ? errno : ENOMEM));
        rsusim_stop(sim);
        return NULL;
    }
    if (rsusim_server_open(sim, err, errlen) != 0) {
        rsusim_stop(sim);
        return NULL;
    }
    int rc = pthread_create(&sim->thread, NULL, rsusim_server_main, sim);
    if (rc != 0) {
        snprintf(err, errlen, "simulator: cannot start thread: %s", strerror(rc));
        rsusim_stop(sim);
        return NULL;
    }
    sim->running = true;
    return sim;
}
