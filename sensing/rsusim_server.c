/* SPDX-License-Identifier: MIT */
/*
 * Simulator transports. TCP: our own listening socket (libmodbus's
 * modbus_tcp_listen cannot report an ephemeral port), one libmodbus context
 * pointed at each client in turn with modbus_set_socket, like libmodbus's
 * bandwidth-server-many-up example. RTU: one context on the serial device.
 */
#include "rsusim_internal.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

/* The server thread looks at timed faults at least this often. */
#define TICK_MS                  50
#define RTU_OTHER_UNIT_ANSWER_MS 100

static int open_tcp(rsusim *sim, char *err, size_t errlen)
{
    char port[8];
    snprintf(port, sizeof port, "%d", sim->cfg.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(sim->cfg.host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "simulator: tcp %s:%s: %s", sim->cfg.host, port, gai_strerror(rc));
        return -1;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        /* A restarted simulator must get its port back while old connections linger. */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 8) != 0) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "simulator: tcp %s:%s: %s", sim->cfg.host, port, strerror(saved));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
        sim->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    sim->listen_fd = fd;
    /* The address is unused: this context only frames messages on accepted sockets. */
    sim->ctx = modbus_new_tcp("127.0.0.1", sim->port);
    if (!sim->ctx) {
        snprintf(err, errlen, "simulator: %s", modbus_strerror(errno));
        return -1;
    }
    return 0;
}

static int open_rtu(rsusim *sim, char *err, size_t errlen)
{
    const struct rsusim_config *c = &sim->cfg;
    sim->ctx = modbus_new_rtu(c->device, c->baud, c->parity, c->data_bits, c->stop_bits);
    if (!sim->ctx) {
        snprintf(err, errlen, "simulator: rtu %s: %s", c->device, modbus_strerror(errno));
        return -1;
    }
    modbus_set_slave(sim->ctx, c->unit_id);
    /* How long another unit on the line may take to start answering a request
     * that is not ours (see serve_rtu). */
    modbus_set_response_timeout(sim->ctx, 0, RTU_OTHER_UNIT_ANSWER_MS * 1000);
    if (modbus_connect(sim->ctx) != 0) {
        snprintf(err, errlen, "simulator: rtu %s: %s", c->device, modbus_strerror(errno));
        modbus_free(sim->ctx);
        sim->ctx = NULL;
        return -1;
    }
    return 0;
}

int rsusim_server_open(rsusim *sim, char *err, size_t errlen)
{
    return sim->cfg.transport == RSU_TRANSPORT_RTU ? open_rtu(sim, err, errlen)
                                                   : open_tcp(sim, err, errlen);
}

static void drop_client(rsusim *sim, size_t i)
{
    close(sim->clients[i]);
    sim->clients[i] = sim->clients[--sim->n_clients];
}

static void drop_all_clients(rsusim *sim)
{
    while (sim->n_clients)
        drop_client(sim, sim->n_clients - 1);
}

void rsusim_server_close(rsusim *sim)
{
    drop_all_clients(sim);
    if (sim->listen_fd >= 0)
        close(sim->listen_fd);
    sim->listen_fd = -1;
    if (sim->ctx) {
        if (sim->cfg.transport == RSU_TRANSPORT_RTU)
            modbus_close(sim->ctx);
        else
            modbus_set_socket(sim->ctx, -1); /* client sockets are closed above */
        modbus_free(sim->ctx);
        sim->ctx = NULL;
    }
}

static void accept_client(rsusim *sim)
{
    int fd = accept4(sim->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    /* libmodbus waits with select(), which cannot watch descriptors past FD_SETSIZE. */
    if (sim->n_clients == RSUSIM_CLIENTS_MAX || fd >= FD_SETSIZE) {
        close(fd);
        return;
    }
    sim->clients[sim->n_clients++] = fd;
}

/* Returns false when the connection is finished. */
static bool serve_tcp_client(rsusim *sim, int fd)
{
    uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
    modbus_set_socket(sim->ctx, fd);
    int n = modbus_receive(sim->ctx, req);
    if (n < 0)
        return false; /* closed by the client, or a frame we cannot trust on a stream */
    return n == 0 || rsusim_serve(sim, req, n) == 0;
}

static void serve_rtu(rsusim *sim)
{
    uint8_t req[MODBUS_RTU_MAX_ADU_LENGTH];
    int n = modbus_receive(sim->ctx, req);
    if (n > 0) {
        rsusim_serve(sim, req, n);
    } else if (n == 0) {
        /* libmodbus ignored a request for another unit and now expects that
         * unit's answer: take it (or time out) now, so that with no such unit
         * on the line the next request to us is not swallowed as that answer. */
        if (modbus_receive(sim->ctx, req) < 0)
            modbus_flush(sim->ctx);
    } else {
        /* A broken frame: start afresh with the next one. A dead line (EIO
         * after the other end closed) must not turn this loop into a spin. */
        int e = errno;
        modbus_flush(sim->ctx);
        if (e != ETIMEDOUT && e < MODBUS_ENOBASE)
            rsusim_wait(sim, TICK_MS);
    }
}

/* Drain wake-ups; returns false when the simulator is stopping. */
static bool handle_wake(rsusim *sim)
{
    char buf[64];
    while (read(sim->wake[0], buf, sizeof buf) > 0)
        ;
    pthread_mutex_lock(&sim->mu);
    bool stopping = sim->stopping, drop = sim->drop_clients;
    sim->drop_clients = false;
    pthread_mutex_unlock(&sim->mu);
    if (drop)
        drop_all_clients(sim);
    return !stopping;
}

void *rsusim_server_main(void *arg)
{
    rsusim *sim = arg;
    bool rtu = sim->cfg.transport == RSU_TRANSPORT_RTU;
    struct pollfd fds[2 + RSUSIM_CLIENTS_MAX];
    for (;;) {
        size_t n = 0, n_clients = sim->n_clients;
        fds[n++] = (struct pollfd){.fd = sim->wake[0], .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = rtu ? modbus_get_socket(sim->ctx) : sim->listen_fd,
                                   .events = POLLIN};
        for (size_t i = 0; i < n_clients; i++)
            fds[n++] = (struct pollfd){.fd = sim->clients[i], .events = POLLIN};
        int rc = poll(fds, n, TICK_MS);
        if (rc < 0 && errno != EINTR)
            break;
        /* Wake-ups first: after a restart no old connection may be served again. */
        if (rc > 0 && fds[0].revents) {
            if (!handle_wake(sim))
                break;
            continue;
        }
        rsusim_tick(sim);
        if (rc <= 0)
            continue;
        if (rtu) {
            if (fds[1].revents & POLLIN)
                serve_rtu(sim);
            else if (fds[1].revents)
                rsusim_wait(sim, TICK_MS); /* hung-up line: wait for stop */
            continue;
        }
        /* Serve from the end so dropping a client (moved from the end) skips nobody. */
        for (size_t i = n_clients; i-- > 0;) {
            if (fds[2 + i].revents && !serve_tcp_client(sim, sim->clients[i]))
                drop_client(sim, i);
        }
        if (fds[1].revents & POLLIN)
            accept_client(sim);
    }
    return NULL;
}
