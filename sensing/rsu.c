/* SPDX-License-Identifier: MIT */
/*
 * Remote-sensing unit driver: one libmodbus context per link, the
 * exactly-once poll/ack protocol described in rsu.h and docs/profiles.md.
 */
#include "rsu.h"

#include <errno.h>
#include <modbus/modbus.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rsu_link {
    struct rsu_link_config cfg;
    modbus_t *ctx; /* owned; created once, connected and closed many times */
    bool connected;
    bool ever_connected;
    bool flush_pending; /* a late reply to a failed request may still arrive */
    char name[180];     /* "tcp 127.0.0.1:1502", "rtu /dev/ttyUSB0" */
    char errmsg[320];
    struct rsu_link_stats stats;
};

const char *rsu_strerror(int rc)
{
    switch (rc) {
    case RSU_OK:
        return "ok";
    case RSU_IDLE:
        return "idle";
    case RSU_ECONN:
        return "not connected";
    case RSU_ETIMEOUT:
        return "timeout";
    case RSU_EPROTO:
        return "protocol error";
    case RSU_EINVAL:
        return "invalid configuration";
    }
    return "unknown error";
}

static void apply_defaults(struct rsu_link_config *c)
{
    if (c->port == 0)
        c->port = 502;
    if (c->baud == 0)
        c->baud = 9600;
    if (c->parity == 0)
        c->parity = 'N';
    if (c->data_bits == 0)
        c->data_bits = 8;
    if (c->stop_bits == 0)
        c->stop_bits = 1;
    if (c->response_timeout_ms == 0)
        c->response_timeout_ms = 1000;
    if (c->byte_timeout_ms == 0)
        c->byte_timeout_ms = 100;
}

static int check_config(const struct rsu_link_config *c, char *err, size_t errlen)
{
    if (c->transport == RSU_TRANSPORT_TCP) {
        if (!c->host[0]) {
            snprintf(err, errlen, "tcp link: no host");
            return -1;
        }
        if (c->port < 1 || c->port > 65535) {
            snprintf(err, errlen, "tcp %s: port %d is not 1..65535", c->host, c->port);
            return -1;
        }
    } else if (c->transport == RSU_TRANSPORT_RTU) {
        if (!c->device[0]) {
            snprintf(err, errlen, "rtu link: no serial device");
            return -1;
        }
        if (c->parity != 'N' && c->parity != 'E' && c->parity != 'O') {
            snprintf(err, errlen, "rtu %s: parity '%c' is not N, E or O", c->device, c->parity);
            return -1;
        }
        if (c->data_bits < 5 || c->data_bits > 8 || c->stop_bits < 1 || c->stop_bits > 2) {
            snprintf(err, errlen, "rtu %s: %d data bits / %d stop bits not supported", c->device,
                     c->data_bits, c->stop_bits);
            return -1;
        }
    } else {
        snprintf(err, errlen, "unknown transport %d", (int)c->transport);
        return -1;
    }
    if (c->response_timeout_ms < 1 || c->response_timeout_ms > 60000 || c->byte_timeout_ms < 1 ||
        c->byte_timeout_ms > 60000) {
        snprintf(err, errlen, "timeouts must be 1..60000 ms (response %d, byte %d)",
                 c->response_timeout_ms, c->byte_timeout_ms);
        return -1;
    }
    return 0;
}

rsu_link *rsu_link_new(const struct rsu_link_config *cfg, char *err, size_t errlen)
{
    struct rsu_link_config c = *cfg;
    apply_defaults(&c);
    if (check_config(&c, err, errlen) != 0)
        return NULL;
    rsu_link *link = calloc(1, sizeof *link);
    if (!link) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    link->cfg = c;
    if (c.transport == RSU_TRANSPORT_TCP) {
        char port[8];
        snprintf(port, sizeof port, "%d", c.port);
        snprintf(link->name, sizeof link->name, "tcp %s:%d", c.host, c.port);
        /* The _pi variant resolves host names and IPv6, not only dotted IPv4. */
        link->ctx = modbus_new_tcp_pi(c.host, port);
    } else {
        snprintf(link->name, sizeof link->name, "rtu %s", c.device);
        link->ctx = modbus_new_rtu(c.device, c.baud, c.parity, c.data_bits, c.stop_bits);
    }
    if (!link->ctx) {
        snprintf(err, errlen, "%s: %s", link->name, modbus_strerror(errno));
        free(link);
        return NULL;
    }
    modbus_set_response_timeout(link->ctx, (uint32_t)(c.response_timeout_ms / 1000),
                                (uint32_t)(c.response_timeout_ms % 1000) * 1000);
    modbus_set_byte_timeout(link->ctx, (uint32_t)(c.byte_timeout_ms / 1000),
                            (uint32_t)(c.byte_timeout_ms % 1000) * 1000);
    snprintf(link->errmsg, sizeof link->errmsg, "%s: not connected", link->name);
    return link;
}

void rsu_link_free(rsu_link *link)
{
    if (!link)
        return;
    rsu_link_close(link);
    modbus_free(link->ctx);
    free(link);
}

int rsu_link_connect(rsu_link *link, struct rsu_device *const *devs, size_t n_devs)
{
    for (size_t i = 0; i < n_devs; i++)
        devs[i]->recheck = true;
    /* libmodbus opens a new socket on every connect; close first so a retry loop never leaks. */
    rsu_link_close(link);
    if (modbus_connect(link->ctx) != 0) {
        snprintf(link->errmsg, sizeof link->errmsg, "%s: connect: %s", link->name,
                 modbus_strerror(errno));
        return RSU_ECONN;
    }
    link->connected = true;
    link->flush_pending = false;
    if (link->ever_connected)
        link->stats.reconnects++;
    link->ever_connected = true;
    link->errmsg[0] = '\0';
    return RSU_OK;
}

void rsu_link_close(rsu_link *link)
{
    if (link && link->connected) {
        modbus_close(link->ctx);
        link->connected = false;
    }
}

bool rsu_link_connected(const rsu_link *link)
{
    return link && link->connected;
}

const char *rsu_link_errmsg(const rsu_link *link)
{
    return link ? link->errmsg : "no link";
}

void rsu_link_get_stats(const rsu_link *link, struct rsu_link_stats *out)
{
    *out = link->stats;
}

static const char *table_name(enum rsu_table t)
{
    return t == RSU_TABLE_INPUT ? "input" : "holding";
}

/*
 * Turn a failed libmodbus call into a result code. A timeout or a bad frame
 * leaves the line usable once flushed; anything else means the connection
 * is gone. Either way the device's state is uncertain: recheck the next pass.
 */
static int fail_transaction(rsu_link *link, struct rsu_device *dev, const char *what, int err)
{
    dev->recheck = true;
    snprintf(link->errmsg, sizeof link->errmsg, "%s unit %d: %s: %s", link->name, dev->unit_id,
             what, modbus_strerror(err));
    if (err == ETIMEDOUT || err >= MODBUS_ENOBASE) {
        modbus_flush(link->ctx);
        link->flush_pending = true;
        if (err == ETIMEDOUT) {
            link->stats.timeouts++;
            return RSU_ETIMEOUT;
        }
        link->stats.protocol_errors++;
        return RSU_EPROTO;
    }
    rsu_link_close(link);
    return RSU_ECONN;
}

static int begin(rsu_link *link, struct rsu_device *dev)
{
    if (!link->connected) {
        dev->recheck = true;
        snprintf(link->errmsg, sizeof link->errmsg, "%s: not connected", link->name);
        return RSU_ECONN;
    }
    if (modbus_set_slave(link->ctx, dev->unit_id) != 0) {
        snprintf(link->errmsg, sizeof link->errmsg, "%s: unit id %d is not 0..247", link->name,
                 dev->unit_id);
        return RSU_EINVAL;
    }
    if (link->flush_pending) {
        /* A slow device answers a request we gave up on while the caller backed
         * off; without this that answer would be taken for the next one's. */
        modbus_flush(link->ctx);
        link->flush_pending = false;
    }
    link->stats.transactions++;
    return RSU_OK;
}

static int read_regs(rsu_link *link, struct rsu_device *dev, enum rsu_table table, uint16_t address,
                     int count, uint16_t *dest)
{
    int rc = begin(link, dev);
    if (rc != RSU_OK)
        return rc;
    errno = 0;
    int n = table == RSU_TABLE_INPUT ? modbus_read_input_registers(link->ctx, address, count, dest)
                                     : modbus_read_registers(link->ctx, address, count, dest);
    if (n == count)
        return RSU_OK;
    char what[64];
    snprintf(what, sizeof what, "read %s %u..%d", table_name(table), address, address + count - 1);
    return fail_transaction(link, dev, what, n < 0 ? errno : EMBMDATA);
}

static int write_ack(rsu_link *link, struct rsu_device *dev, uint32_t seq)
{
    const struct rsu_reg *ack = &dev->profile->ack;
    int rc = begin(link, dev);
    if (rc != RSU_OK)
        return rc;
    uint16_t words[2];
    rsu_reg_put_u32(ack, seq, words);
    int count = rsu_reg_words(ack);
    errno = 0;
    /* Function 06 for one register: some devices only implement it for single writes. */
    int n = count == 1 ? modbus_write_register(link->ctx, ack->address, words[0])
                       : modbus_write_registers(link->ctx, ack->address, count, words);
    if (n == 1 || n == count)
        return RSU_OK;
    char what[64];
    snprintf(what, sizeof what, "write ack %u to holding %u", (unsigned)seq, ack->address);
    return fail_transaction(link, dev, what, n < 0 ? errno : EMBMDATA);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read every data block; raw gets the registers as big-endian bytes, blocks in order. */
static int read_pass(rsu_link *link, struct rsu_device *dev, struct rsu_measurement *m)
{
    const struct rsu_profile *p = dev->profile;
    struct rsu_block blocks[RSU_BLOCKS_MAX];
    size_t nb = rsu_profile_blocks(p, blocks, RSU_BLOCKS_MAX);
    uint16_t words[RSU_RAW_MAX / 2];
    uint16_t *regs[RSU_BLOCKS_MAX];
    size_t used = 0;
    if (nb > RSU_BLOCKS_MAX) {
        snprintf(link->errmsg, sizeof link->errmsg, "%s unit %d: profile %s needs %zu blocks",
                 link->name, dev->unit_id, p->name, nb);
        return RSU_EINVAL;
    }
    for (size_t i = 0; i < nb; i++) {
        if (used + blocks[i].count > RSU_RAW_MAX / 2) {
            snprintf(link->errmsg, sizeof link->errmsg,
                     "%s unit %d: profile %s spans more than %d registers", link->name,
                     dev->unit_id, p->name, RSU_RAW_MAX / 2);
            return RSU_EINVAL;
        }
        regs[i] = words + used;
        int rc = read_regs(link, dev, blocks[i].table, blocks[i].address, blocks[i].count, regs[i]);
        if (rc != RSU_OK)
            return rc;
        used += blocks[i].count;
    }
    m->raw_len = used * 2;
    for (size_t i = 0; i < used; i++) {
        m->raw[2 * i] = (uint8_t)(words[i] >> 8);
        m->raw[2 * i + 1] = (uint8_t)words[i];
    }
    SHA256(m->raw, m->raw_len, m->fingerprint);
    rsu_profile_decode(p, blocks, regs, nb, m);
    return RSU_OK;
}

int rsu_poll(rsu_link *link, struct rsu_device *dev, struct rsu_measurement *out)
{
    const struct rsu_profile *p = dev->profile;
    struct rsu_cursor *cur = &dev->cursor;
    uint16_t seq_words[2] = {0, 0};
    int rc = read_regs(link, dev, p->sequence.table, p->sequence.address,
                       rsu_reg_words(&p->sequence), seq_words);
    if (rc != RSU_OK)
        return rc;
    uint32_t seq = rsu_reg_get_u32(&p->sequence, seq_words);
    if (seq == 0)
        return RSU_IDLE;
    bool same_seq = cur->valid && seq == cur->seq;
    if (same_seq && !dev->recheck) {
        if (!cur->acked && (rc = write_ack(link, dev, seq)) != RSU_OK)
            return rc;
        cur->acked = true;
        return RSU_IDLE;
    }
    memset(out, 0, sizeof *out);
    if ((rc = read_pass(link, dev, out)) != RSU_OK)
        return rc;
    if (same_seq && memcmp(out->fingerprint, cur->fingerprint, sizeof cur->fingerprint) == 0) {
        /* Stored before a crash or a lost ack: acknowledge again, never store twice. */
        if ((rc = write_ack(link, dev, seq)) != RSU_OK)
            return rc;
        cur->acked = true;
        dev->recheck = false;
        return RSU_IDLE;
    }
    out->seq = seq;
    out->read_time_ms = now_ms();
    dev->recheck = false;
    return RSU_OK;
}

int rsu_ack(rsu_link *link, struct rsu_device *dev, const struct rsu_measurement *stored)
{
    struct rsu_cursor *cur = &dev->cursor;
    /* The pass is stored whatever happens to the write: move the cursor first. */
    cur->valid = true;
    cur->seq = stored->seq;
    memcpy(cur->fingerprint, stored->fingerprint, sizeof cur->fingerprint);
    cur->acked = false;
    int rc = write_ack(link, dev, stored->seq);
    if (rc == RSU_OK)
        cur->acked = true;
    return rc;
}
