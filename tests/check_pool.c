/* Pools: connections on demand and LIFO, blocking pools (wait, time out,
 * wait forever), disconnect-all, statistics, health checks, and retries
 * that never run a write twice. Connections are borrowed with the
 * runtime's own acquire/release where a test must hold one. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

/* `calls` of a command in INFO commandstats (0 when absent). */
static long calls_of(const char *command)
{
    reds_client *probe = test_client_unix(NULL);
    reds_str argv[] = {REDS_STR("INFO"), REDS_STR("commandstats")};
    reds_reply *r = NULL;
    ASSERT_OK(reds_execute_command(probe, 2, argv, &r));
    char key[64];
    snprintf(key, sizeof key, "cmdstat_%s:calls=", command);
    const char *p = strstr(r->str, key);
    long n = p ? strtol(p + strlen(key), NULL, 10) : 0;
    reds_free(r);
    reds_client_free(probe);
    return n;
}

static void reset_stats(void)
{
    char reply[64];
    test_raw("CONFIG RESETSTAT", reply, sizeof reply);
    ck_assert_str_eq(reply, "+OK");
}

/* The server's count of connections named `name`, once it settles (a
 * closed connection is noticed by the server's next event loop turn). */
static int server_connections(const char *name, int expect)
{
    char needle[80];
    snprintf(needle, sizeof needle, " name=%s ", name);
    int n = -1;
    for (int tries = 0; tries < 200 && n != expect; tries++) {
        if (tries)
            sleep_ms(10);
        reds_client *probe = test_client_unix(NULL);
        reds_str argv[] = {REDS_STR("CLIENT"), REDS_STR("LIST")};
        reds_reply *r = NULL;
        ASSERT_OK(reds_execute_command(probe, 2, argv, &r));
        n = 0;
        for (const char *p = r->str; (p = strstr(p, needle)); p++)
            n++;
        reds_free(r);
        reds_client_free(probe);
    }
    return n;
}

/* ------------------------------------------------------------ the pool */

START_TEST(on_demand_and_lifo)
{
    reds_options o = {.pool_blocking = true, .max_connections = 5};
    reds_client *c = test_client(&o);
    ASSERT_STATS(c, 0, 0, 0); /* nothing connects before a command */
    for (int i = 0; i < 20; i++)
        ASSERT_OK(reds_ping(c, NULL, NULL));
    ASSERT_STATS(c, 1, 0, 1); /* one at a time needs one connection */
    ck_assert_uint_eq(test_pool_stats(c).max_connections, 5);

    reds__conn *a, *b, *again;
    ASSERT_OK(reds__client_acquire(c, &a));
    ASSERT_OK(reds__client_acquire(c, &b));
    ck_assert_ptr_ne(a, b);
    ASSERT_STATS(c, 2, 2, 0);
    reds__client_release(c, a);
    reds__client_release(c, b);
    ASSERT_STATS(c, 2, 0, 2);
    /* Last in, first out: b came back last. */
    ASSERT_OK(reds__client_acquire(c, &again));
    ck_assert_ptr_eq(again, b);
    reds__client_release(c, again);
    reds_client_free(c);

    /* A blocking pool left at max_connections 0 has redis-py's 50. */
    reds_options d = {.pool_blocking = true};
    c = test_client(&d);
    ck_assert_uint_eq(test_pool_stats(c).max_connections, 50);
    reds_client_free(c);
    c = test_client(NULL);
    ck_assert_uint_eq(test_pool_stats(c).max_connections, 0);
    reds_client_free(c);
}
END_TEST

START_TEST(default_pool_fails_fast)
{
    reds_options o = {.max_connections = 1};
    reds_client *c = test_client(&o);
    reds__conn *held;
    ASSERT_OK(reds__client_acquire(c, &held));
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_POOL_EXHAUSTED);
    ck_assert_str_eq(reds_errmsg(), "Too many connections: all 1 are in use");
    reds__client_release(c, held);
    ASSERT_OK(reds_ping(c, NULL, NULL));
    ASSERT_STATS(c, 1, 0, 1);
    reds_client_free(c);
}
END_TEST

START_TEST(blocking_pool_times_out)
{
    reds_options o = {.pool_blocking = true, .max_connections = 1, .pool_timeout_ms = 200};
    reds_client *c = test_client(&o);
    reds__conn *held;
    ASSERT_OK(reds__client_acquire(c, &held));
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_POOL_EXHAUSTED);
    ck_assert(reds_err_is(REDS_ERR_POOL_EXHAUSTED, REDS_ERR_CONNECTION));
    ck_assert_str_eq(reds_errmsg(), "No connection available: all 1 are in use, waited 200 ms");
    ASSERT_STATS(c, 1, 1, 0);
    ck_assert_uint_eq(test_pool_stats(c).waiting, 0);
    reds__client_release(c, held);
    ASSERT_OK(reds_ping(c, NULL, NULL));
    reds_client_free(c);
}
END_TEST

static void *ping_worker(void *arg)
{
    return (void *)(intptr_t)reds_ping(arg, NULL, NULL);
}

/* Wait (bounded) until `n` threads wait for a connection of `c`. */
static void await_waiters(reds_client *c, size_t n)
{
    for (int i = 0; i < 1000 && test_pool_stats(c).waiting != n; i++)
        sleep_ms(5);
    ck_assert_uint_eq(test_pool_stats(c).waiting, n);
}

START_TEST(blocking_pool_waits_for_a_connection)
{
    /* Forever, and within a timeout: both get the connection given back.
     * Without auto-pipelining, so that each PING waits for the pool
     * itself (with it, one waits and the others queue behind it). */
    int timeouts[] = {REDS_NO_TIMEOUT, 10000};
    for (int t = 0; t < 2; t++) {
        reds_options o = {.pool_blocking = true,
                          .max_connections = 1,
                          .pool_timeout_ms = timeouts[t],
                          .autopipeline = REDS_DISABLED};
        reds_client *c = test_client(&o);
        reds__conn *held;
        ASSERT_OK(reds__client_acquire(c, &held));
        pthread_t th[3];
        for (int i = 0; i < 3; i++)
            pthread_create(&th[i], NULL, ping_worker, c);
        await_waiters(c, 3);
        ASSERT_STATS(c, 1, 1, 0);
        reds__client_release(c, held);
        for (int i = 0; i < 3; i++) {
            void *err;
            pthread_join(th[i], &err);
            ck_assert_int_eq((int)(intptr_t)err, REDS_OK);
        }
        /* Each waiter had the one connection in turn: none was added. */
        ASSERT_STATS(c, 1, 0, 1);
        reds_client_free(c);
    }
}
END_TEST

/* A slot freed by a connection that broke also wakes a waiter. */
START_TEST(blocking_pool_wakes_on_a_broken_connection)
{
    reds_options o = {
        .pool_blocking = true, .max_connections = 1, .pool_timeout_ms = REDS_NO_TIMEOUT};
    reds_client *c = test_client(&o);
    reds__conn *held;
    ASSERT_OK(reds__client_acquire(c, &held));
    pthread_t th;
    pthread_create(&th, NULL, ping_worker, c);
    await_waiters(c, 1);
    held->broken = true;
    reds__client_release(c, held); /* closed, not pooled */
    void *err;
    pthread_join(th, &err);
    ck_assert_int_eq((int)(intptr_t)err, REDS_OK);
    ASSERT_STATS(c, 2, 0, 1);
    reds_client_free(c);
}
END_TEST

START_TEST(disconnect_all)
{
    reds_options o = {.client_name = "pooled"};
    reds_client *c = test_client(&o);
    reds__conn *a, *b, *d;
    ASSERT_OK(reds__client_acquire(c, &a));
    ASSERT_OK(reds__client_acquire(c, &b));
    ASSERT_OK(reds__client_acquire(c, &d));
    reds__client_release(c, b);
    reds__client_release(c, d);
    ASSERT_STATS(c, 3, 1, 2);
    ck_assert_int_eq(server_connections("pooled", 3), 3);

    ASSERT_OK(reds_pool_disconnect(c));
    ASSERT_STATS(c, 3, 1, 0);
    ck_assert_int_eq(server_connections("pooled", 1), 1);
    /* The one in use closes when it comes back. */
    reds__client_release(c, a);
    ASSERT_STATS(c, 3, 0, 0);
    ck_assert_int_eq(server_connections("pooled", 0), 0);
    /* And the pool carries on with new connections. */
    ASSERT_OK(reds_ping(c, NULL, NULL));
    ASSERT_STATS(c, 4, 0, 1);
    reds_client_free(c);
}
END_TEST

START_TEST(stats_and_disconnect_need_a_pool)
{
    reds_client *c = test_client(NULL), *d, *p;
    reds_pool_stats s;
    ASSERT_ERR(reds_pool_get_stats(NULL, &s), REDS_ERR_DATA);
    ASSERT_ERR(reds_pool_get_stats(c, NULL), REDS_ERR_DATA);
    ASSERT_ERR(reds_pool_disconnect(NULL), REDS_ERR_DATA);
    ASSERT_OK(reds_client_dedicated(c, &d));
    ASSERT_ERR(reds_pool_get_stats(d, &s), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "reds_pool_get_stats: a dedicated connection has no pool");
    ASSERT_ERR(reds_pool_disconnect(d), REDS_ERR_DATA);
    reds_client_free(d);
    /* A pipeline reports on the pool it comes from. */
    ASSERT_OK(reds_ping(c, NULL, NULL));
    ASSERT_OK(reds_pipeline_new(c, false, &p));
    ASSERT_OK(reds_pool_get_stats(p, &s));
    ck_assert_uint_eq(s.created, 1);
    reds_client_free(p);
    reds_client_free(c);
}
END_TEST

START_TEST(option_checks)
{
    static const struct {
        reds_options o;
        const char *message;
    } cases[] = {
        {{.pool_timeout_ms = 100}, "pool_timeout_ms needs pool_blocking"},
        {{.pool_blocking = true, .pool_timeout_ms = -7}, "pool_timeout_ms must be positive"},
        {{.health_check_interval_ms = -1}, "health_check_interval_ms must be positive or 0"},
        {{.retries = -1}, "retries must be positive or 0"},
        {{.retry_backoff_base_ms = -1}, "retry_backoff_base_ms must be positive"},
        {{.retry_backoff_cap_ms = -1}, "retry_backoff_cap_ms must be positive"},
        {{.retry_writes = true}, "retry_writes needs retries > 0"},
        {{.tls_ca_file = "/ca.pem"}, "tls_ca_file is set but tls is off"},
        {{.tls_verify = REDS_TLS_VERIFY_NONE_INSECURE}, "tls_verify is set but tls is off"},
        {{.tls = true, .unix_path = "/tmp/s"}, "tls needs TCP"},
        {{.tls = true, .tls_verify = (reds_tls_verify)7}, "tls_verify 7 is not"},
        {{.tls = true, .tls_key_file = "/k.pem"}, "tls_key_file needs tls_cert_file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reds_client *c = (reds_client *)&c;
        ASSERT_ERR(reds_client_new(&cases[i].o, &c), REDS_ERR_DATA);
        ck_assert_ptr_null(c);
        ck_assert_msg(strstr(reds_errmsg(), cases[i].message), "case %zu: %s", i, reds_errmsg());
    }
}
END_TEST

/* ------------------------------------------------------- health checks */

START_TEST(health_check_replaces_a_dead_connection)
{
    reds_options o = {.health_check_interval_ms = 50, .max_connections = 1};
    reds_client *c = test_client(&o);
    int64_t id = test_client_id(c);
    test_kill_client(id);
    sleep_ms(120); /* idle longer than the interval */
    reset_stats();
    int64_t n = 0;
    ASSERT_OK(reds_incr(c, REDS_STR("counter"), &n));
    ck_assert(n == 1);
    ck_assert(test_client_id(c) != id);
    ck_assert_int_eq(calls_of("incr"), 1);
    ASSERT_STATS(c, 2, 0, 1);
    reds_client_free(c);

    /* Without health checks too: the server's close of an idle
     * connection is seen before anything is sent on it. */
    reds_options off = {.max_connections = 1};
    c = test_client(&off);
    test_kill_client(test_client_id(c));
    ASSERT_OK(reds_incr(c, REDS_STR("counter"), &n));
    ck_assert(n == 2);
    ck_assert_int_eq(calls_of("incr"), 2);
    ASSERT_STATS(c, 2, 0, 1);
    reds_client_free(c);
}
END_TEST

START_TEST(health_check_only_when_idle)
{
    reds_options o = {.health_check_interval_ms = 100, .max_connections = 1};
    reds_client *c = test_client(&o);
    ASSERT_OK(reds_incr(c, REDS_STR("n"), NULL));
    reset_stats();
    for (int i = 0; i < 20; i++)
        ASSERT_OK(reds_incr(c, REDS_STR("n"), NULL));
    ck_assert_int_eq(calls_of("ping"), 0); /* fresh: no PING */
    sleep_ms(200);
    ASSERT_OK(reds_incr(c, REDS_STR("n"), NULL));
    ASSERT_OK(reds_incr(c, REDS_STR("n"), NULL));
    ck_assert_int_eq(calls_of("ping"), 1); /* one, before the first command */
    reds_client_free(c);

    /* A dedicated connection is checked the same way. */
    reds_client *base = test_client(&o), *d;
    ASSERT_OK(reds_client_dedicated(base, &d));
    ASSERT_OK(reds_select(d, 2));
    int64_t id = test_client_id(d);
    test_kill_client(id);
    sleep_ms(200);
    ASSERT_OK(reds_ping(d, NULL, NULL)); /* reconnected after the failed check */
    ck_assert(test_client_id(d) != id);
    reds_client_free(d);
    reds_client_free(base);
}
END_TEST

/* ------------------------------------------------------------- retries */

/* Put the server to sleep for `seconds` and return once it sleeps: a PING
 * on another connection then goes unanswered for a while. */
static int sleep_server(const char *seconds)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, test_server.sock, strlen(test_server.sock) + 1);
    int sleeper = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(sleeper, (struct sockaddr *)&sa, sizeof sa), 0);
    char cmd[64];
    int n = snprintf(cmd, sizeof cmd, "DEBUG SLEEP %s\r\n", seconds);
    ck_assert_int_eq(write(sleeper, cmd, (size_t)n), n);
    for (int i = 0; i < 200; i++) {
        int probe = socket(AF_UNIX, SOCK_STREAM, 0);
        ck_assert_int_eq(connect(probe, (struct sockaddr *)&sa, sizeof sa), 0);
        ck_assert_int_eq(write(probe, "PING\r\n", 6), 6);
        struct pollfd p = {probe, POLLIN, 0};
        int ready = poll(&p, 1, 50);
        close(probe);
        if (ready == 0)
            return sleeper;
    }
    ck_abort_msg("the server did not go to sleep");
    return -1;
}

static void wake_wait(int sleeper)
{
    char pong[16];
    test_raw("PING", pong, sizeof pong); /* answered once the sleep ends */
    close(sleeper);
}

START_TEST(a_write_that_timed_out_is_never_repeated)
{
    reds_options o = {.socket_timeout_ms = 300, .retries = 3, .retry_backoff_base_ms = 1};
    reds_client *c = test_client(&o);
    ASSERT_OK(reds_ping(c, NULL, NULL));
    reset_stats();
    int s = sleep_server("1");
    int64_t n = 0;
    ASSERT_ERR(reds_incr(c, REDS_STR("counter"), &n), REDS_ERR_TIMEOUT);
    wake_wait(s);
    /* It ran once, when the server woke up; nothing sent it again. */
    ck_assert_int_eq(calls_of("incr"), 1);
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, REDS_STR("counter"), &v));
    ASSERT_STR(v, "1");
    reds_free(v);
    reds_client_free(c);

    /* Opting in to retry writes does run it again: the test can tell. */
    o.retries = 1;
    o.retry_writes = true;
    c = test_client(&o);
    ASSERT_OK(reds_ping(c, NULL, NULL));
    reset_stats();
    s = sleep_server("1");
    ASSERT_ERR(reds_incr(c, REDS_STR("counter"), &n), REDS_ERR_TIMEOUT);
    wake_wait(s);
    ck_assert_int_eq(calls_of("incr"), 2);
    reds_client_free(c);
}
END_TEST

START_TEST(read_only_commands_retry_on_a_new_connection)
{
    reds_options o = {.retries = 2, .max_connections = 1, .retry_backoff_base_ms = 1};
    reds_client *c = test_client(&o);
    int64_t id = test_client_id(c);
    /* XREAD is read-only: killed while it blocks, it runs again on a new
     * connection (and times out there: nothing new comes). */
    test_killer k;
    test_kill_later(&k, id, 100);
    reds_xread_stream_list *r = NULL;
    reds_str key = REDS_STR("s"), last = REDS_STR("$");
    reset_stats();
    ASSERT_OK(reds_xread(c, &key, 1, &last, 1, &(reds_xread_opts){.block = REDS_I64(300)}, &r));
    test_killed(&k);
    ck_assert_ptr_null(r);
    /* Valkey counts a blocked command in commandstats only once it ends:
     * the XREAD killed while it blocked is not counted there. */
    ck_assert_int_eq(calls_of("xread"), ON_SERVER(2, 1));
    ck_assert(test_client_id(c) != id);

    /* BLPOP was sent before the failure showed: it may have run, so it is
     * not repeated. */
    test_kill_later(&k, test_client_id(c), 100);
    reset_stats();
    reds_keyed_element *e = NULL;
    ASSERT_ERR(reds_blpop(c, &key, 1, 1.0, &e), REDS_ERR_CONNECTION);
    test_killed(&k);
    ck_assert_int_eq(calls_of("blpop"), ON_SERVER(1, 0));
    reds_client_free(c);

    /* Retries are off by default. */
    reds_options none = {.max_connections = 1};
    c = test_client(&none);
    test_kill_later(&k, test_client_id(c), 100);
    ASSERT_ERR(reds_xread(c, &key, 1, &last, 1, &(reds_xread_opts){.block = REDS_I64(1000)}, &r),
               REDS_ERR_CONNECTION);
    test_killed(&k);
    reds_client_free(c);
}
END_TEST

/* A listener that accepts and at once resets every connection, counting. */
typedef struct resetter {
    int fd, port;
    atomic_int accepted;
    atomic_bool stop;
    pthread_t thread;
} resetter;

static void *reset_loop(void *arg)
{
    resetter *r = arg;
    while (!atomic_load(&r->stop)) {
        struct pollfd p = {r->fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(r->fd, NULL, NULL);
        if (fd < 0)
            continue;
        struct linger l = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        atomic_fetch_add(&r->accepted, 1);
        close(fd);
    }
    return NULL;
}

static void resetter_start(resetter *r)
{
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    ck_assert_int_eq(bind(r->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(r->fd, 16), 0);
    getsockname(r->fd, (struct sockaddr *)&sa, &len);
    r->port = ntohs(sa.sin_port);
    atomic_init(&r->accepted, 0);
    atomic_init(&r->stop, false);
    pthread_create(&r->thread, NULL, reset_loop, r);
}

static void resetter_stop(resetter *r)
{
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    close(r->fd);
}

START_TEST(connect_failures_are_retried)
{
    resetter r;
    resetter_start(&r);
    /* The set-up command (CLIENT SETNAME) meets the reset: the connection
     * fails before the command is sent, so even INCR is safe to retry. */
    reds_options o = {.port = r.port, .client_name = "x", .retries = 2, .retry_backoff_base_ms = 1};
    reds_client *c;
    ASSERT_OK(reds_client_new(&o, &c));
    ASSERT_ERR(reds_incr(c, REDS_STR("n"), NULL), REDS_ERR_CONNECTION);
    ck_assert_int_eq(atomic_load(&r.accepted), 3);
    reds_client_free(c);
    o.retries = 0;
    ASSERT_OK(reds_client_new(&o, &c));
    ASSERT_ERR(reds_incr(c, REDS_STR("n"), NULL), REDS_ERR_CONNECTION);
    ck_assert_int_eq(atomic_load(&r.accepted), 4);
    reds_client_free(c);
    resetter_stop(&r);

    /* Refused connections too (no server at all). */
    reds_options refused = {.port = fixture_free_port(), .retries = 3, .retry_backoff_base_ms = 1};
    ASSERT_OK(reds_client_new(&refused, &c));
    ASSERT_ERR(reds_incr(c, REDS_STR("n"), NULL), REDS_ERR_CONNECTION);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "Connection refused"));
    reds_client_free(c);
}
END_TEST

/* Errors that are not about the connection are never retried. */
START_TEST(server_errors_are_not_retried)
{
    reds_options o = {.retries = 3, .retry_writes = true, .retry_backoff_base_ms = 1};
    reds_client *c = test_client(&o);
    ASSERT_OK(reds_set(c, REDS_STR("s"), REDS_STR("abc"), NULL, NULL));
    reset_stats();
    ASSERT_ERR(reds_incr(c, REDS_STR("s"), NULL), REDS_ERR_RESPONSE);
    ck_assert_int_eq(calls_of("incr"), 1);
    reds_client_free(c);
}
END_TEST

/* ---------------------------------------------------------- maxclients */

/* A server of its own at maxclients 1 (with `password` when not NULL)
 * and a client holding its only slot. The server's own readiness probe
 * may still count while it closes: wait until the holder is served. */
static reds_client *fill_server(fixture_server *s, const char *password)
{
    const char *extra[] = {"--maxclients", "1", password ? "--requirepass" : NULL, password, NULL};
    ck_assert_int_eq(fixture_start(s, extra), 0);
    reds_options o = {.port = s->port, .password = password, .max_connections = 1};
    reds_client *holder;
    ASSERT_OK(reds_client_new(&o, &holder));
    reds_err err = REDS_ERR;
    for (int tries = 0; tries < 200 && err; tries++) {
        if (tries)
            sleep_ms(10);
        err = reds_ping(holder, NULL, NULL);
    }
    ASSERT_OK(err);
    return holder;
}

/* Raise the cap through the holder: the slot is free for the next one. */
static void free_a_slot(reds_client *holder)
{
    reds_config_parameter p = {REDS_STR("maxclients"), REDS_STR("2")};
    ASSERT_OK(reds_config_set(holder, &p, 1));
}

START_TEST(a_connection_over_maxclients_is_dropped)
{
    fixture_server s;
    reds_client *holder = fill_server(&s, NULL), *c;
    reds_options o = {.port = s.port, .max_connections = 1};
    ASSERT_OK(reds_client_new(&o, &c));
    /* The refusal is the reply to the connection's first command. */
    ASSERT_ERR(reds_set(c, REDS_STR("k"), REDS_STR("v"), NULL, NULL), REDS_ERR_CONNECTION);
    ck_assert_str_eq(reds_errmsg(), "SET: ERR max number of clients reached");
    ASSERT_STATS(c, 1, 0, 0); /* closed, not pooled */
    free_a_slot(holder);
    ASSERT_OK(reds_set(c, REDS_STR("k"), REDS_STR("v"), NULL, NULL));
    ASSERT_STATS(c, 2, 0, 1); /* on a fresh connection */
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, REDS_STR("k"), &v));
    ASSERT_STR(v, "v");
    reds_free(v);
    ASSERT_STATS(c, 2, 0, 1);
    reds_client_free(c);
    reds_client_free(holder);
    fixture_stop(&s);
}
END_TEST

START_TEST(a_connection_over_maxclients_is_not_an_auth_failure)
{
    fixture_server s;
    reds_client *holder = fill_server(&s, "pw-h16"), *c[2];
    /* The refusal is the reply to AUTH of the handshake, alone or with
     * SELECT after it. */
    for (int db = 0; db < 2; db++) {
        reds_options o = {.port = s.port, .password = "pw-h16", .db = db, .max_connections = 1};
        ASSERT_OK(reds_client_new(&o, &c[db]));
        ASSERT_ERR(reds_set(c[db], REDS_STR("k"), REDS_STR("v"), NULL, NULL), REDS_ERR_CONNECTION);
        ck_assert_str_eq(reds_errmsg(), "AUTH: ERR max number of clients reached");
        ASSERT_STATS(c[db], 0, 0, 0);
    }
    free_a_slot(holder);
    for (int db = 0; db < 2; db++) {
        ASSERT_OK(reds_set(c[db], REDS_STR("k"), REDS_STR("v"), NULL, NULL));
        ASSERT_STATS(c[db], 1, 0, 1);
        reds_client_free(c[db]);
    }
    reds_client_free(holder);
    fixture_stop(&s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("pool");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, on_demand_and_lifo);
    tcase_add_test(tc, default_pool_fails_fast);
    tcase_add_test(tc, blocking_pool_times_out);
    tcase_add_test(tc, blocking_pool_waits_for_a_connection);
    tcase_add_test(tc, blocking_pool_wakes_on_a_broken_connection);
    tcase_add_test(tc, disconnect_all);
    tcase_add_test(tc, stats_and_disconnect_need_a_pool);
    tcase_add_test(tc, option_checks);
    suite_add_tcase(s, tc);

    tc = tcase_create("health");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, health_check_replaces_a_dead_connection);
    tcase_add_test(tc, health_check_only_when_idle);
    suite_add_tcase(s, tc);

    tc = tcase_create("retries");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, a_write_that_timed_out_is_never_repeated);
    tcase_add_test(tc, read_only_commands_retry_on_a_new_connection);
    tcase_add_test(tc, connect_failures_are_retried);
    tcase_add_test(tc, server_errors_are_not_retried);
    suite_add_tcase(s, tc);

    tc = tcase_create("maxclients");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, a_connection_over_maxclients_is_dropped);
    tcase_add_test(tc, a_connection_over_maxclients_is_not_an_auth_failure);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
