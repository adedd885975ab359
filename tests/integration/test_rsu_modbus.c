/* SPDX-License-Identifier: MIT */
/*
 * The real rsu driver against the real simulator: Modbus TCP on 127.0.0.1
 * with an ephemeral port, and Modbus RTU through a socat pseudo-terminal
 * pair. Exactly-once delivery, crash and restart recovery, and every fault.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* cmocka 1.1.5 has no double comparison (its float one rounds to float). */
#define assert_near(a, b, eps)                                                                     \
    do {                                                                                           \
        double got_ = (a), want_ = (b);                                                            \
        if (!(fabs(got_ - want_) <= (eps)))                                                        \
            fail_msg("%s = %.17g, want %.17g", #a, got_, want_);                                   \
    } while (0)

#include "rsu.h"
#include "rsusim.h"

#define TIMEOUT_MS 300 /* driver response timeout: short, so fault tests stay fast */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

struct ack_log {
    pthread_mutex_t mu;
    size_t n;
    uint32_t seq[256];
    char plate[256][RSU_PLATE_MAX];
};

static void on_ack(void *ud, uint32_t seq, const struct rsu_measurement *pass)
{
    struct ack_log *log = ud;
    pthread_mutex_lock(&log->mu);
    if (log->n < 256) {
        log->seq[log->n] = seq;
        snprintf(log->plate[log->n], RSU_PLATE_MAX, "%s", pass->plate);
        log->n++;
    }
    pthread_mutex_unlock(&log->mu);
}

struct fx {
    struct rsu_profile profile;
    struct rsusim_config sim_cfg;
    rsusim *sim;
    struct rsu_link_config link_cfg;
    rsu_link *link;
    struct rsu_device dev;
    struct rsu_device *devs[1];
    struct ack_log acks;
};

static void sample_pass(int i, struct rsu_measurement *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->plate, sizeof m->plate, i % 2 ? "豫A%05d" : "京AD%05d", i);
    m->plate_colour = i % 3 ? RSU_COLOUR_BLUE : RSU_COLOUR_YELLOW;
    m->value[RSU_F_OPACITY] = (i % 100) + 0.5;
    m->value[RSU_F_NO] = 100 + i;
    m->value[RSU_F_SPEED] = 40.5;
    m->value[RSU_F_ACCEL] = -0.25;
    m->value[RSU_F_VSP] = 3.2;
    m->value[RSU_F_PRESSURE] = 101.3;
    m->present = 1u << RSU_F_OPACITY | 1u << RSU_F_NO | 1u << RSU_F_SPEED | 1u << RSU_F_ACCEL |
                 1u << RSU_F_VSP | 1u << RSU_F_PRESSURE;
    m->has_device_time = true;
    m->device_time_ms = (1700000000LL + i) * 1000;
    m->n_image_refs = 1;
    snprintf(m->image_ref[0], RSU_IMAGE_REF_MAX, "far-%06d.jpg", i);
}

static void start_sim(struct fx *fx)
{
    char err[256];
    fx->sim = rsusim_start(&fx->sim_cfg, err, sizeof err);
    if (!fx->sim)
        fail_msg("rsusim_start: %s", err);
    rsusim_on_ack(fx->sim, on_ack, &fx->acks);
}

static rsu_link *new_link(const struct rsu_link_config *cfg)
{
    char err[256];
    rsu_link *link = rsu_link_new(cfg, err, sizeof err);
    if (!link)
        fail_msg("rsu_link_new: %s", err);
    return link;
}

static void connect_ok(rsu_link *link, struct rsu_device *dev)
{
    if (rsu_link_connect(link, &dev, 1) != RSU_OK)
        fail_msg("connect: %s", rsu_link_errmsg(link));
    assert_true(dev->recheck);
}

static void load_profile(struct rsu_profile *p)
{
    const char *root = getenv("RSGW_SOURCE_DIR");
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/deploy/profiles/generic-rsu.ini", root ? root : ".");
    if (rsu_profile_load(path, p, err, sizeof err) != 0)
        fail_msg("%s", err);
}

static int setup_tcp(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    pthread_mutex_init(&fx->acks.mu, NULL);
    load_profile(&fx->profile);
    fx->sim_cfg = (struct rsusim_config){
        .transport = RSU_TRANSPORT_TCP, .host = "127.0.0.1", .port = 0, .profile = &fx->profile};
    start_sim(fx);
    fx->link_cfg = (struct rsu_link_config){.transport = RSU_TRANSPORT_TCP,
                                            .host = "127.0.0.1",
                                            .port = rsusim_port(fx->sim),
                                            .response_timeout_ms = TIMEOUT_MS,
                                            .byte_timeout_ms = 100};
    assert_true(fx->link_cfg.port > 0);
    fx->link = new_link(&fx->link_cfg);
    fx->dev = (struct rsu_device){.unit_id = 1, .profile = &fx->profile};
    fx->devs[0] = &fx->dev;
    connect_ok(fx->link, &fx->dev);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    rsu_link_free(fx->link);
    rsusim_stop(fx->sim);
    pthread_mutex_destroy(&fx->acks.mu);
    free(fx);
    return 0;
}

/*
 * Poll like a lane thread: reconnect after a lost connection, back off after
 * an error, until a pass arrives or the budget is spent.
 */
static int poll_for_pass(rsu_link *link, struct rsu_device *dev, struct rsu_measurement *m,
                         int budget_ms, int *n_errors)
{
    int64_t deadline = now_ms() + budget_ms;
    int rc;
    do {
        rc = rsu_poll(link, dev, m);
        if (rc == RSU_OK)
            return rc;
        if (rc < 0) {
            if (n_errors)
                (*n_errors)++;
            sleep_ms(50);
            if (rc == RSU_ECONN)
                rsu_link_connect(link, &dev, 1);
        } else {
            sleep_ms(2);
        }
    } while (now_ms() < deadline);
    return rc;
}

static size_t acked_count(struct fx *fx)
{
    pthread_mutex_lock(&fx->acks.mu);
    size_t n = fx->acks.n;
    pthread_mutex_unlock(&fx->acks.mu);
    return n;
}

/* Read n passes pushed as sample_pass(first..), each exactly once, acknowledging each. */
static void drain(struct fx *fx, int first, int n, uint32_t first_seq)
{
    struct rsu_measurement m, want;
    for (int i = 0; i < n; i++) {
        int rc = poll_for_pass(fx->link, &fx->dev, &m, 3000, NULL);
        if (rc != RSU_OK)
            fail_msg("pass %d: %s (%s)", i, rsu_strerror(rc), rsu_link_errmsg(fx->link));
        sample_pass(first + i, &want);
        assert_int_equal(m.seq, first_seq + (uint32_t)i);
        assert_string_equal(m.plate, want.plate);
        assert_int_equal(m.plate_colour, want.plate_colour);
        assert_int_equal(m.n_issues, 0);
        assert_int_equal(m.present, want.present);
        for (int f = 0; f < RSU_F_COUNT; f++)
            if (rsu_has(&want, f) && m.value[f] != want.value[f])
                fail_msg("%s: %g != %g", rsu_field_name(f), m.value[f], want.value[f]);
        assert_int_equal(m.device_time_ms, want.device_time_ms);
        assert_string_equal(m.image_ref[0], want.image_ref[0]);
        assert_int_equal(m.raw_len, 2 * (86 + 5));
        assert_true(m.read_time_ms > 1700000000000LL);
        assert_int_equal(rsu_ack(fx->link, &fx->dev, &m), RSU_OK);
        assert_true(fx->dev.cursor.valid && fx->dev.cursor.acked);
        assert_int_equal(fx->dev.cursor.seq, m.seq);
    }
}

static void expect_idle(struct fx *fx)
{
    struct rsu_measurement m;
    for (int i = 0; i < 3; i++) {
        int rc = rsu_poll(fx->link, &fx->dev, &m);
        if (rc != RSU_IDLE)
            fail_msg("expected idle, got %s (%s)", rsu_strerror(rc), rsu_link_errmsg(fx->link));
    }
}

static void push_samples(struct fx *fx, int first, int n)
{
    struct rsu_measurement m;
    for (int i = 0; i < n; i++) {
        sample_pass(first + i, &m);
        if (rsusim_push(fx->sim, &m) == 0)
            fail_msg("push: %s", rsusim_errmsg(fx->sim));
    }
}

static void test_tcp_exactly_once(void **state)
{
    struct fx *fx = *state;
    struct rsu_measurement m;
    assert_int_equal(rsu_poll(fx->link, &fx->dev, &m), RSU_IDLE); /* sequence 0: nothing yet */
    push_samples(fx, 1, 50);

    /* A second client is served alongside (a commissioning laptop, say). */
    rsu_link *other = new_link(&fx->link_cfg);
    struct rsu_device watcher = {.unit_id = 1, .profile = &fx->profile};
    connect_ok(other, &watcher);
    assert_int_equal(rsu_poll(other, &watcher, &m), RSU_OK);
    assert_int_equal(m.seq, 1);

    drain(fx, 1, 50, 1);
    expect_idle(fx);
    assert_int_equal(rsu_poll(other, &watcher, &m), RSU_OK); /* it never acked: sees the last */
    assert_int_equal(m.seq, 50);
    rsu_link_free(other);

    struct rsusim_stats st;
    rsusim_get_stats(fx->sim, &st);
    assert_int_equal(st.pushed, 50);
    assert_int_equal(st.acked, 50);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.last_acked_seq, 50);
    assert_int_equal(acked_count(fx), 50);
    for (size_t i = 0; i < 50; i++) {
        struct rsu_measurement want;
        sample_pass((int)i + 1, &want);
        assert_int_equal(fx->acks.seq[i], i + 1);
        assert_string_equal(fx->acks.plate[i], want.plate);
    }
    struct rsu_link_stats ls;
    rsu_link_get_stats(fx->link, &ls);
    assert_int_equal(ls.timeouts, 0);
    assert_int_equal(ls.protocol_errors, 0);
    assert_true(ls.transactions >= 50 * 4); /* sequence, two blocks, ack */
}

static void test_tcp_stored_unacked_recognised(void **state)
{
    struct fx *fx = *state;
    struct rsu_measurement m;
    push_samples(fx, 1, 2);
    assert_int_equal(poll_for_pass(fx->link, &fx->dev, &m, 2000, NULL), RSU_OK);
    assert_int_equal(m.seq, 1);
    /* Stored durably, then the gateway died before the ack: the store keeps this cursor. */
    struct rsu_cursor stored = {.valid = true, .seq = m.seq, .acked = false};
    memcpy(stored.fingerprint, m.fingerprint, sizeof stored.fingerprint);
    rsu_link_free(fx->link);

    fx->link = new_link(&fx->link_cfg);
    fx->dev = (struct rsu_device){.unit_id = 1, .profile = &fx->profile, .cursor = stored};
    connect_ok(fx->link, &fx->dev);
    assert_int_equal(rsu_poll(fx->link, &fx->dev, &m), RSU_IDLE); /* recognised, re-acked */
    assert_true(fx->dev.cursor.acked);
    assert_false(fx->dev.recheck);
    assert_int_equal(acked_count(fx), 1);
    drain(fx, 2, 1, 2);

    /* Crash after the ack: the last pass stays on show and must not come back. */
    stored = fx->dev.cursor;
    rsu_link_free(fx->link);
    fx->link = new_link(&fx->link_cfg);
    fx->dev = (struct rsu_device){.unit_id = 1, .profile = &fx->profile, .cursor = stored};
    connect_ok(fx->link, &fx->dev);
    expect_idle(fx);
    assert_int_equal(acked_count(fx), 2);
}

static void test_tcp_device_restart_detected(void **state)
{
    struct fx *fx = *state;
    push_samples(fx, 1, 1);
    drain(fx, 1, 1, 1);
    /* Power cycle: numbering starts over, and number 1 is now a different pass. */
    rsusim_restart(fx->sim);
    push_samples(fx, 7, 1);
    struct rsu_measurement m, want;
    int errors = 0;
    assert_int_equal(poll_for_pass(fx->link, &fx->dev, &m, 3000, &errors), RSU_OK);
    assert_true(errors >= 1); /* the restart dropped the connection */
    sample_pass(7, &want);
    assert_int_equal(m.seq, 1);
    assert_string_equal(m.plate, want.plate);
    assert_int_equal(rsu_ack(fx->link, &fx->dev, &m), RSU_OK);
    expect_idle(fx);
    assert_int_equal(acked_count(fx), 2);
}

static void test_tcp_silent(void **state)
{
    struct fx *fx = *state;
    struct rsu_measurement m;
    push_samples(fx, 1, 1);
    rsusim_set_fault(fx->sim, RSUSIM_FAULT_SILENT, 0);
    int64_t t0 = now_ms();
    assert_int_equal(rsu_poll(fx->link, &fx->dev, &m), RSU_ETIMEOUT);
    int64_t took = now_ms() - t0;
    assert_true(took >= TIMEOUT_MS - 20 && took < TIMEOUT_MS + 500);
    assert_non_null(
        strstr(rsu_link_errmsg(fx->link), " unit 1: read holding 0..1: Connection timed out"));
    assert_true(fx->dev.recheck);
    struct rsu_link_stats ls;
    rsu_link_get_stats(fx->link, &ls);
    assert_int_equal(ls.timeouts, 1);
    assert_true(rsu_link_connected(fx->link)); /* a timeout does not drop the link */

    rsusim_set_fault(fx->sim, RSUSIM_FAULT_NONE, 0);
    drain(fx, 1, 1, 1);

    /* A timed fault ends by itself. */
    push_samples(fx, 2, 1);
    rsusim_set_fault_for(fx->sim, RSUSIM_FAULT_SILENT, 0, 400);
    assert_int_equal(rsu_poll(fx->link, &fx->dev, &m), RSU_ETIMEOUT);
    drain(fx, 2, 1, 2);
    assert_int_equal(acked_count(fx), 2);
}

static void test_tcp_slow(void **state)
{
    struct fx *fx = *state;
    struct rsu_measurement m;
    push_samples(fx, 1, 1);
    rsusim_set_fault(fx->sim, RSUSIM_FAULT_SLOW, TIMEOUT_MS * 2);
    assert_int_equal(rsu_poll(fx->link, &fx->dev, &m), RSU_ETIMEOUT);
    /* Slower than usual but within the timeout: passes flow again, each once. */
    rsusim_set_fault(fx->sim, RSUSIM_FAULT_SLOW, 50);
    int oks = 0;
    int64_t deadline = now_ms() + 5000;
    while (acked_count(fx) < 1 && now_ms() < deadline) {
        int rc = poll_for_pass(fx->link, &fx->dev, &m, 200, NULL);
        if (rc == RSU_OK) {
            oks++;
            assert_int_equal(m.seq, 1);
            rsu_ack(fx->link, &fx->dev, &m);
        }
    }
    assert_int_equal(acked_count(fx), 1);
    assert_int_equal(oks, 1);
    push_samples(fx, 2, 1);
    drain(fx, 2, 1, 2);
    rsusim_set_fault(fx->sim, RSUSIM_FAULT_NONE, 0);
}

static void expect_garbage(struct fx *fx, uint32_t seq)
{
    struct rsu_measurement m;
    assert_int_equal(poll_for_pass(fx->link, &fx->dev, &m, 2000, NULL), RSU_OK);
    assert_int_equal(m.seq, seq);
    assert_true(m.n_issues > 0); /* random registers: implausible values, broken text */
    assert_true(m.present != (1u << RSU_F_COUNT) - 1);
    assert_int_equal(rsu_ack(fx->link, &fx->dev, &m), RSU_OK);
}

static void test_tcp_garbage(void **state)
{
    struct fx *fx = *state;
    /* Without a duration only the next pass is spoilt. */
    rsusim_set_fault(fx->sim, RSUSIM_FAULT_GARBAGE, 0);
    push_samples(fx, 1, 2);
    expect_garbage(fx, 1);
    drain(fx, 2, 1, 2);
    /* With one, every pass pushed meanwhile. */
    rsusim_set_fault_for(fx->sim, RSUSIM_FAULT_GARBAGE, 0, 60000);
    push_samples(fx, 3, 2);
    rsusim_set_fault(fx->sim, RSUSIM_FAULT_NONE, 0);
    push_samples(fx, 5, 1);
    expect_garbage(fx, 3);
    expect_garbage(fx, 4);
    drain(fx, 5, 1, 5);
    assert_int_equal(acked_count(fx), 5);
}

static void test_tcp_server_restart(void **state)
{
    struct fx *fx = *state;
    struct rsu_measurement m;
    push_samples(fx, 1, 1);
    drain(fx, 1, 1, 1);
    int port = rsusim_port(fx->sim);
    rsusim_stop(fx->sim);
    fx->sim = NULL;
    assert_int_equal(rsu_poll(fx->link, &fx->dev, &m), RSU_ECONN);
    assert_false(rsu_link_connected(fx->link));
    assert_int_equal(rsu_poll(fx->link, &fx->dev, &m), RSU_ECONN);
    assert_int_equal(rsu_link_connect(fx->link, fx->devs, 1), RSU_ECONN);
    assert_non_null(strstr(rsu_link_errmsg(fx->link), "connect: "));

    fx->sim_cfg.port = port;
    start_sim(fx);
    assert_int_equal(rsusim_port(fx->sim), port);
    assert_int_equal(rsu_link_connect(fx->link, fx->devs, 1), RSU_OK);
    struct rsu_link_stats ls;
    rsu_link_get_stats(fx->link, &ls);
    assert_true(ls.reconnects >= 1);
    /* The new server numbers from 1 again; the fingerprint tells the passes apart. */
    push_samples(fx, 5, 1);
    struct rsu_measurement want;
    assert_int_equal(poll_for_pass(fx->link, &fx->dev, &m, 2000, NULL), RSU_OK);
    sample_pass(5, &want);
    assert_int_equal(m.seq, 1);
    assert_string_equal(m.plate, want.plate);
}

struct stopper {
    volatile int stop;
    int after_ms;
};

static void *stop_later(void *arg)
{
    struct stopper *st = arg;
    sleep_ms(st->after_ms);
    st->stop = 1;
    return NULL;
}

static void test_tcp_scenario_play(void **state)
{
    struct fx *fx = *state;
    const char *text = "# two good passes, a garbage one, then a good one after a pause\n"
                       "pass plate=豫A12345 colour=yellow opacity=12.5 no=300 speed=42\n"
                       "pass plate=京AD12345 colour=green co=0.5 pressure=99.5\n"
                       "fault garbage\n"
                       "pass plate=豫B00001\n"
                       "fault none\n"
                       "wait 60\n"
                       "pass plate=豫A00002 opacity=30\n";
    struct rsusim_scenario sc;
    char err[256];
    if (rsusim_scenario_parse(text, "drill.txt", &sc, err, sizeof err) != 0)
        fail_msg("%s", err);
    int64_t t0 = now_ms();
    assert_int_equal(rsusim_play(fx->sim, &sc, NULL), 0);
    assert_true(now_ms() - t0 >= 60);
    rsusim_scenario_free(&sc);

    struct rsu_measurement m;
    const char *plates[] = {"豫A12345", "京AD12345", NULL, "豫A00002"};
    for (uint32_t i = 0; i < 4; i++) {
        assert_int_equal(poll_for_pass(fx->link, &fx->dev, &m, 2000, NULL), RSU_OK);
        assert_int_equal(m.seq, i + 1);
        if (plates[i]) {
            assert_string_equal(m.plate, plates[i]);
            assert_int_equal(m.n_issues, 0);
        } else {
            assert_true(m.n_issues > 0);
        }
        assert_int_equal(rsu_ack(fx->link, &fx->dev, &m), RSU_OK);
    }
    assert_near(m.value[RSU_F_OPACITY], 30, 0);
    expect_idle(fx);

    /* A pass the profile cannot carry stops the play and names its line. */
    assert_int_equal(
        rsusim_scenario_parse("wait 1\npass opacity=9000\n", "x", &sc, err, sizeof err), 0);
    assert_int_equal(rsusim_play(fx->sim, &sc, NULL), -1);
    assert_string_equal(rsusim_errmsg(fx->sim),
                        "scenario line 2: profile generic-rsu: opacity: 9000 is raw 90000, outside "
                        "the register's 0..65535");
    rsusim_scenario_free(&sc);

    /* A long wait ends promptly when asked to stop. */
    assert_int_equal(rsusim_scenario_parse("wait 60000\npass\n", "x", &sc, err, sizeof err), 0);
    struct stopper st = {.after_ms = 100};
    pthread_t th;
    pthread_create(&th, NULL, stop_later, &st);
    t0 = now_ms();
    assert_int_equal(rsusim_play(fx->sim, &sc, &st.stop), 1);
    assert_true(now_ms() - t0 < 100 + 200);
    pthread_join(th, NULL);
    rsusim_scenario_free(&sc);
    struct rsusim_stats ss;
    rsusim_get_stats(fx->sim, &ss);
    assert_int_equal(ss.pushed, 4);
}

/* --- RTU over a pseudo-terminal pair ------------------------------------- */

struct pty_pair {
    char dir[64];
    char a[96], b[96], log[96];
    pid_t socat;
};

static bool start_socat(struct pty_pair *pp)
{
    snprintf(pp->dir, sizeof pp->dir, "/tmp/rsgw-rtu-XXXXXX");
    if (!mkdtemp(pp->dir))
        return false;
    snprintf(pp->a, sizeof pp->a, "%s/a", pp->dir);
    snprintf(pp->b, sizeof pp->b, "%s/b", pp->dir);
    snprintf(pp->log, sizeof pp->log, "%s/socat.log", pp->dir);
    char arg_a[128], arg_b[128];
    snprintf(arg_a, sizeof arg_a, "pty,raw,echo=0,link=%s", pp->a);
    snprintf(arg_b, sizeof arg_b, "pty,raw,echo=0,link=%s", pp->b);
    pp->socat = fork();
    if (pp->socat == 0) {
        /* socat -d -d names the ptys it made: keep that out of the test output. */
        int fd = open(pp->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        /* Never outlive the test, even when it crashes. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execlp("socat", "socat", "-d", "-d", arg_a, arg_b, (char *)NULL);
        _exit(127);
    }
    if (pp->socat < 0)
        return false;
    struct stat st;
    int64_t deadline = now_ms() + 5000;
    while (now_ms() < deadline) {
        if (stat(pp->a, &st) == 0 && stat(pp->b, &st) == 0)
            return true;
        int status;
        if (waitpid(pp->socat, &status, WNOHANG) == pp->socat) {
            pp->socat = -1; /* socat is not installed or failed */
            return false;
        }
        sleep_ms(10);
    }
    return false;
}

static void stop_socat(struct pty_pair *pp)
{
    if (pp->socat > 0) {
        kill(pp->socat, SIGTERM);
        waitpid(pp->socat, NULL, 0);
    }
    unlink(pp->a);
    unlink(pp->b);
    unlink(pp->log);
    rmdir(pp->dir);
}

struct rtu_fx {
    struct fx fx; /* first: teardown() frees it as a struct fx */
    struct pty_pair pp;
};

static int setup_rtu(void **state)
{
    struct rtu_fx *r = calloc(1, sizeof *r);
    struct fx *fx = &r->fx;
    *state = r;
    pthread_mutex_init(&fx->acks.mu, NULL);
    if (!start_socat(&r->pp)) {
        /* The test command installs socat; without it this test must not pass quietly. */
        print_error("socat could not create a pty pair (is socat installed?)\n");
        return -1;
    }
    load_profile(&fx->profile);
    fx->sim_cfg = (struct rsusim_config){.transport = RSU_TRANSPORT_RTU,
                                         .baud = 115200,
                                         .unit_id = 3,
                                         .profile = &fx->profile,
                                         .first_seq = 1000};
    snprintf(fx->sim_cfg.device, sizeof fx->sim_cfg.device, "%s", r->pp.a);
    start_sim(fx);
    fx->link_cfg = (struct rsu_link_config){.transport = RSU_TRANSPORT_RTU,
                                            .baud = 115200,
                                            .response_timeout_ms = TIMEOUT_MS,
                                            .byte_timeout_ms = 100};
    snprintf(fx->link_cfg.device, sizeof fx->link_cfg.device, "%s", r->pp.b);
    fx->link = new_link(&fx->link_cfg);
    fx->dev = (struct rsu_device){.unit_id = 3, .profile = &fx->profile};
    fx->devs[0] = &fx->dev;
    connect_ok(fx->link, &fx->dev);
    return 0;
}

static int teardown_rtu(void **state)
{
    struct rtu_fx *r = *state;
    struct pty_pair pp = r->pp;
    teardown(state); /* frees r */
    stop_socat(&pp);
    return 0;
}

static void test_rtu_pty(void **state)
{
    struct rtu_fx *r = *state;
    struct fx *fx = &r->fx;
    push_samples(fx, 1, 10);
    drain(fx, 1, 10, 1000);
    expect_idle(fx);

    /* Another unit id on the same line is not there: nobody answers. */
    struct rsu_device absent = {.unit_id = 4, .profile = &fx->profile};
    struct rsu_measurement m;
    assert_int_equal(rsu_poll(fx->link, &absent, &m), RSU_ETIMEOUT);

    rsusim_set_fault(fx->sim, RSUSIM_FAULT_CRC, 0);
    push_samples(fx, 11, 1);
    assert_int_equal(rsu_poll(fx->link, &fx->dev, &m), RSU_EPROTO);
    assert_non_null(strstr(rsu_link_errmsg(fx->link), "rtu "));
    assert_non_null(strstr(rsu_link_errmsg(fx->link), "CRC"));
    struct rsu_link_stats ls;
    rsu_link_get_stats(fx->link, &ls);
    assert_true(ls.protocol_errors >= 1);
    rsusim_set_fault(fx->sim, RSUSIM_FAULT_NONE, 0);
    drain(fx, 11, 1, 1010);
    assert_int_equal(acked_count(fx), 11);
    for (size_t i = 0; i < 11; i++)
        assert_int_equal(fx->acks.seq[i], 1000 + i);
}

static void test_link_config_errors(void **state)
{
    (void)state;
    char err[256];
    struct rsu_link_config c = {.transport = RSU_TRANSPORT_TCP};
    assert_null(rsu_link_new(&c, err, sizeof err));
    assert_string_equal(err, "tcp link: no host");
    c = (struct rsu_link_config){
        .transport = RSU_TRANSPORT_RTU, .device = "/dev/null", .parity = 'X'};
    assert_null(rsu_link_new(&c, err, sizeof err));
    assert_string_equal(err, "rtu /dev/null: parity 'X' is not N, E or O");
    c = (struct rsu_link_config){.transport = RSU_TRANSPORT_RTU, .device = "/nonexistent/tty"};
    rsu_link *link = new_link(&c);
    struct rsu_profile p;
    load_profile(&p);
    struct rsu_device dev = {.unit_id = 1, .profile = &p}, *devs[1] = {&dev};
    struct rsu_measurement m;
    assert_int_equal(rsu_poll(link, &dev, &m), RSU_ECONN);
    assert_int_equal(rsu_link_connect(link, devs, 1), RSU_ECONN);
    assert_non_null(strstr(rsu_link_errmsg(link), "rtu /nonexistent/tty: connect: "));
    rsu_link_free(link);
    rsu_link_free(NULL);
    rsusim_stop(NULL);
    assert_string_equal(rsu_strerror(RSU_ETIMEOUT), "timeout");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tcp_exactly_once, setup_tcp, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_stored_unacked_recognised, setup_tcp, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_device_restart_detected, setup_tcp, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_silent, setup_tcp, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_slow, setup_tcp, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_garbage, setup_tcp, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_server_restart, setup_tcp, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_scenario_play, setup_tcp, teardown),
        cmocka_unit_test_setup_teardown(test_rtu_pty, setup_rtu, teardown_rtu),
        cmocka_unit_test(test_link_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
