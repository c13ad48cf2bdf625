/* Fault injection (issue 16): what the client does when the network or the
 * server misbehaves, with exact expectations. A relay on loopback
 * (fixture_relay.h) sits between the client and the real server, or plays
 * a misbehaving fake server, and stalls, trickles, cuts or injects bytes.
 *
 *   relay      the harness itself, checked with raw sockets and the client
 *              (these pass whatever the runtime does: a failure elsewhere
 *              is the runtime's, not the relay's)
 *   unread     finding 1: bytes beyond the replies read never reach the
 *              next command; the connection holding them is dropped
 *   stale      finding 2: with the default options (no retries, no
 *              health checks) a pooled connection the server closed while
 *              it was idle costs the user no error: server restart, idle
 *              timeout, CLIENT KILL, a proxy closing its connections
 *   deadline   finding 5: command_timeout_ms bounds a whole reply however
 *              slowly it comes; a 20 MB line costs linear parsing work
 *   caps       finding 6: max_reply_bytes and max_reply_elements, enforced
 *              before allocating, and no allocation up front for what a
 *              header announces
 *
 * Findings 3 (maxclients) and 4 (CLIENT REPLY) are tested in check_pool
 * and check_client. No test asserts on wall time: durations are printed
 * for information only. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fixture_heap.h"
#include "fixture_relay.h"
#include "internal.h"
#include "testutil.h"

#define MiB (1024 * 1024)
/* Rounds of a race a correct client always wins. */
#define ROUNDS 50

/* A client of the relay (or of any loopback port) with `opts`. */
static reds_client *client_on(int port, const reds_options *opts)
{
    reds_options o = {0};
    if (opts)
        o = *opts;
    o.host = "127.0.0.1";
    o.port = port;
    reds_client *c = NULL;
    reds_err err = reds_client_new(&o, &c);
    ck_assert_msg(err == REDS_OK, "reds_client_new: %s", reds_errmsg());
    return c;
}

static relay *relay_to_server(void)
{
    relay *r = relay_start(test_server.port);
    ck_assert_ptr_nonnull(r);
    return r;
}

static relay *fake_server(void)
{
    relay *r = relay_start(0);
    ck_assert_ptr_nonnull(r);
    return r;
}

/* ECHO a message unique to this call: the reply must be exactly it. */
static void expect_own_reply(reds_client *c)
{
    static int serial;
    char nonce[64];
    snprintf(nonce, sizeof nonce, "nonce-%d-%d-%lld", (int)getpid(), ++serial, now_ms());
    reds_str *s = NULL;
    reds_err err = reds_echo(c, reds_cstr(nonce), &s);
    ck_assert_msg(err == REDS_OK, "ECHO %s -> %s: %s", nonce, reds_err_name(err), reds_errmsg());
    ck_assert_msg(s && s->ptr, "ECHO %s -> NULL", nonce);
    char got[64];
    snprintf(got, sizeof got, "%.*s", (int)s->len, s->ptr);
    bool own = str_eq(*s, nonce);
    reds_free(s); /* before a failure, which ends the test */
    ck_assert_msg(own, "ECHO %s answered \"%s\": another command's reply", nonce, got);
}

static void expect_get(reds_client *c, const char *key, const char *value)
{
    reds_str *v = NULL;
    reds_err err = reds_get(c, reds_cstr(key), &v);
    ck_assert_msg(err == REDS_OK, "GET %s -> %s: %s", key, reds_err_name(err), reds_errmsg());
    ASSERT_STR(v, value);
    reds_free(v);
}

/* An inline command on a server outside reds; its first reply line. */
static void raw_expect(const fixture_server *s, const char *cmd, const char *expect)
{
    char reply[256];
    ck_assert_msg(fixture_command(s, cmd, reply, sizeof reply) == 0, "raw %s failed", cmd);
    ck_assert_msg(strcmp(reply, expect) == 0, "raw %s -> %s, expected %s", cmd, reply, expect);
}

/* ------------------------------------------------------- raw sockets */

static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void raw_send(int fd, const char *s)
{
    ck_assert_int_eq(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* One recv() within `ms` into buf (NUL-terminated): its length, 0 at end
 * of stream, -1 when nothing came. */
static ssize_t raw_recv(int fd, char *buf, size_t size, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0)
        return -1;
    ssize_t n = recv(fd, buf, size - 1, 0);
    ck_assert_int_ge(n, 0);
    buf[n] = '\0';
    return n;
}

/* Read exactly `n` bytes within `ms` each. */
static void raw_expect_bytes(int fd, const char *expect, int ms)
{
    size_t n = strlen(expect), got = 0;
    char buf[256];
    ck_assert_uint_lt(n, sizeof buf);
    while (got < n) {
        struct pollfd p = {fd, POLLIN, 0};
        ck_assert_msg(poll(&p, 1, ms) == 1, "waited for \"%s\", got \"%.*s\"", expect, (int)got,
                      buf);
        ssize_t r = recv(fd, buf + got, n - got, 0);
        ck_assert_int_gt(r, 0);
        got += (size_t)r;
    }
    ck_assert_msg(memcmp(buf, expect, n) == 0, "got \"%.*s\", expected \"%s\"", (int)n, buf,
                  expect);
}

/* ================================================ the relay itself */

START_TEST(relay_passes_and_counts)
{
    relay *r = relay_to_server();
    reds_client *c = client_on(relay_port(r), NULL);
    ASSERT_OK(reds_ping(c, NULL, NULL));
    relay_reset_counts(r);
    ASSERT_OK(reds_set(c, S("k"), S("v"), NULL, NULL));
    expect_get(c, "k", "v");
    relay_counts n = relay_get_counts(r);
    /* *3 $3 SET $1 k $1 v, then *2 $3 GET $1 k; +OK, then $1 v. */
    ck_assert_uint_eq(n.to_server, 27 + 20);
    ck_assert_uint_eq(n.to_client, 5 + 7);
    ck_assert_uint_eq(n.open, 1);
    ASSERT_STATS(c, 1, 0, 1);
    reds_client_free(c);
    relay_stop(r);
}
END_TEST

/* An injection, seen on a raw socket: in the same segment as the reply,
 * or later. */
START_TEST(relay_injects)
{
    relay *r = relay_to_server();
    int fd = raw_connect(relay_port(r));
    char buf[256];
    relay_inject(r, "+INJECTED\r\n", 11, 0);
    raw_send(fd, "PING\r\n");
    ck_assert_int_eq(raw_recv(fd, buf, sizeof buf, 2000), 18);
    ck_assert_str_eq(buf, "+PONG\r\n+INJECTED\r\n");
    /* One shot: the next reply comes alone. */
    raw_send(fd, "PING\r\n");
    raw_expect_bytes(fd, "+PONG\r\n", 2000);
    ck_assert_int_eq(raw_recv(fd, buf, sizeof buf, 100), -1);

    relay_inject(r, "+LATE\r\n", 7, 50);
    raw_send(fd, "PING\r\n");
    raw_expect_bytes(fd, "+PONG\r\n", 2000);
    raw_expect_bytes(fd, "+LATE\r\n", 2000);
    close(fd);
    relay_stop(r);
}
END_TEST

START_TEST(relay_stalls_cuts_and_closes)
{
    test_raw("SET k value", (char[64]){0}, 64);
    relay *r = relay_to_server();
    reds_options o = {.socket_timeout_ms = 300};
    reds_client *c = client_on(relay_port(r), &o);
    ASSERT_OK(reds_ping(c, NULL, NULL));

    /* Stalled: the read times out; the connection is dropped. */
    relay_stall(r);
    reds_str *v = NULL;
    ASSERT_ERR(reds_get(c, S("k"), &v), REDS_ERR_TIMEOUT);
    relay_pass(r);
    expect_own_reply(c);
    ASSERT_STATS(c, 2, 0, 1);

    /* Cut after 3 bytes of "$5\r\nvalue\r\n": the server side closed. */
    relay_reset_counts(r);
    relay_cut(r, 3);
    ASSERT_ERR(reds_get(c, S("k"), &v), REDS_ERR_CONNECTION);
    ck_assert_uint_eq(relay_get_counts(r).to_client, 3);
    expect_own_reply(c); /* the relay passes again */
    ASSERT_STATS(c, 3, 0, 1);

    /* Closing every client connection, seen by a raw socket. */
    int fd = raw_connect(relay_port(r));
    raw_send(fd, "PING\r\n");
    raw_expect_bytes(fd, "+PONG\r\n", 2000);
    relay_close_clients(r);
    char buf[64];
    ck_assert_int_eq(raw_recv(fd, buf, sizeof buf, 2000), 0);
    ck_assert_uint_eq(relay_get_counts(r).open, 0);
    close(fd);
    reds_client_free(c);
    relay_stop(r);
}
END_TEST

START_TEST(relay_fakes_a_server)
{
    relay *r = fake_server();
    int fd = raw_connect(relay_port(r));
    char buf[256];
    /* Silent until scripted. */
    raw_send(fd, "*1\r\n$4\r\nPING\r\n");
    ck_assert_int_eq(raw_recv(fd, buf, sizeof buf, 100), -1);
    relay_script(r, "+", 10, 'a', "\r\n");
    /* The request that came before the script is owed its reply; two
     * requests in one write get two. */
    raw_expect_bytes(fd, "+aaaaaaaaaa\r\n", 2000);
    raw_send(fd, "*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n*1\r\n$4\r\nPING\r\n");
    raw_expect_bytes(fd, "+aaaaaaaaaa\r\n", 2000);
    raw_expect_bytes(fd, "+aaaaaaaaaa\r\n", 2000);
    ck_assert_uint_eq(relay_get_counts(r).requests, 3);

    /* A header, then silence with the connection open. */
    relay_script(r, "*100000000\r\n", 0, 0, NULL);
    raw_send(fd, "*1\r\n$4\r\nPING\r\n");
    raw_expect_bytes(fd, "*100000000\r\n", 2000);
    ck_assert_int_eq(raw_recv(fd, buf, sizeof buf, 100), -1);
    ck_assert_uint_eq(relay_get_counts(r).open, 1);
    close(fd);

    /* And through reds: a status line of 100,000 bytes, in pieces. */
    relay_script(r, "+", 100000, 'b', "\r\n");
    reds_client *c = client_on(relay_port(r), NULL);
    reds_reply *reply = NULL;
    ASSERT_OK(reds_execute_command(c, 1, STRS(S("PING")), &reply));
    ck_assert_int_eq(reply->type, REDS_REPLY_STATUS);
    ck_assert_uint_eq(reply->len, 100000);
    ck_assert(reply->str[0] == 'b' && reply->str[99999] == 'b' && reply->str[100000] == '\0');
    reds_free(reply);
    reds_client_free(c);
    relay_stop(r);
}
END_TEST

/* ======================================== finding 1: unread bytes */

/* The server's reply and an extra one arrive in the same read: the
 * connection comes back from GET with bytes nobody asked for, and must not
 * go back to the pool. */
START_TEST(injected_in_the_same_write)
{
    relay *r = relay_to_server();
    reds_client *c = client_on(relay_port(r), NULL);
    ASSERT_OK(reds_set(c, S("k"), S("v"), NULL, NULL));
    ASSERT_STATS(c, 1, 0, 1);
    relay_inject(r, "+INJECTED\r\n", 11, 0);
    expect_get(c, "k", "v");
    reds_pool_stats after_get = test_pool_stats(c);
    expect_own_reply(c);
    /* Dropped as it came back from GET, not pooled. */
    ASSERT_STATS_ARE(after_get, 1, 0, 0);
    ASSERT_STATS(c, 2, 0, 1);
    ck_assert_uint_eq(relay_get_counts(r).accepted, 2);
    reds_client_free(c);
    relay_stop(r);
}
END_TEST

/* The extra reply comes 50 ms after GET's, while the connection is idle
 * in the pool: the next command must not take it for its own. */
START_TEST(injected_while_idle)
{
    relay *r = relay_to_server();
    reds_client *c = client_on(relay_port(r), NULL);
    ASSERT_OK(reds_set(c, S("k"), S("v"), NULL, NULL));
    relay_inject(r, "+INJECTED\r\n", 11, 50);
    expect_get(c, "k", "v");
    sleep_ms(200);
    ck_assert_uint_eq(relay_get_counts(r).to_client, 5 + 7 + 11); /* it did arrive */
    expect_own_reply(c);
    ASSERT_STATS(c, 2, 0, 1);
    ck_assert_uint_eq(relay_get_counts(r).accepted, 2);
    /* And the pool carries on normally. */
    expect_own_reply(c);
    expect_get(c, "k", "v");
    ASSERT_STATS(c, 2, 0, 1);
    reds_client_free(c);
    relay_stop(r);
}
END_TEST

/* The extra reply comes a millisecond after GET's, and the next command
 * follows as soon as it is in the client's socket: each time, the
 * connection holding it must be dropped, not lent. Any check that skips
 * some borrows (once per clock tick, say) lets some through. */
START_TEST(injected_just_before_the_next_command)
{
    relay *r = relay_to_server();
    reds_client *c = client_on(relay_port(r), NULL);
    ASSERT_OK(reds_set(c, S("k"), S("v"), NULL, NULL));
    for (int i = 0; i < ROUNDS; i++) {
        uint64_t sent = relay_get_counts(r).to_client;
        relay_inject(r, "+INJECTED\r\n", 11, 1);
        expect_get(c, "k", "v");
        /* Written by the relay: on loopback, in the client's socket. */
        long long t0 = now_ms();
        while (relay_get_counts(r).to_client < sent + 7 + 11 && now_ms() - t0 < 2000)
            nanosleep(&(struct timespec){0, 100000}, NULL);
        ck_assert_uint_eq(relay_get_counts(r).to_client, sent + 7 + 11);
        expect_own_reply(c);
    }
    /* One connection per round, each dropped for the next. */
    ASSERT_STATS(c, 1 + ROUNDS, 0, 1);
    reds_client_free(c);
    relay_stop(r);
}
END_TEST

/* ===================================== finding 2: stale connections */

#define STALE 4

/* `n` idle connections in `c`'s pool: borrowed together, given back. */
static void fill_pool(reds_client *c, int n)
{
    reds__conn *held[STALE];
    for (int i = 0; i < n; i++)
        ASSERT_OK(reds__client_acquire(c, &held[i]));
    for (int i = 0; i < n; i++)
        reds__client_release(c, held[i]);
    /* Each has served a command too (the pool is LIFO: the top one). */
    ASSERT_OK(reds_ping(c, NULL, NULL));
    ASSERT_STATS(c, n, 0, n);
    /* Idle for a while before the server closes them: a check of idle
     * connections may skip one used within the same clock tick (10 ms at
     * most, for a kernel at HZ=100); that is a busy connection, not what
     * these tests are about. */
    sleep_ms(50);
}

/* After the server closed every idle connection: a read and a write,
 * each answered normally, the write applied once. Another connection is
 * held while INCR runs, so that INCR too meets a pooled connection the
 * server closed (unless the runtime dropped them all already). */
static void expect_no_error(reds_client *c, const fixture_server *s)
{
    raw_expect(s, "SET k v", "+OK");
    expect_get(c, "k", "v");
    reds__conn *held;
    ASSERT_OK(reds__client_acquire(c, &held));
    int64_t n = 0;
    reds_err err = reds_incr(c, S("counter"), &n);
    reds__client_release(c, held);
    ck_assert_msg(err == REDS_OK, "INCR -> %s: %s", reds_err_name(err), reds_errmsg());
    ck_assert_int_eq(n, 1);
    raw_expect(s, "INCRBY counter 0", ":1"); /* applied exactly once */
    expect_own_reply(c);
    ck_assert_uint_eq(test_pool_stats(c).in_use, 0);
}

START_TEST(stale_after_restart)
{
    fixture_server s;
    ck_assert_int_eq(fixture_start(&s, NULL), 0);
    reds_client *c = client_on(s.port, NULL);
    fill_pool(c, STALE);
    fixture_kill(&s);
    ck_assert_int_eq(fixture_restart(&s, NULL), 0);
    expect_no_error(c, &s);
    reds_client_free(c);
    fixture_stop(&s);
}
END_TEST

/* The number after connected_clients: in INFO clients of `s`. */
static long connected_clients(const fixture_server *s)
{
    reds_options o = {.unix_path = s->sock};
    reds_client *probe = NULL;
    ASSERT_OK(reds_client_new(&o, &probe));
    reds_reply *r = test_run(probe, "INFO", "clients", NULL);
    const char *p = strstr(r->str, "connected_clients:");
    ck_assert_ptr_nonnull(p);
    long n = strtol(p + strlen("connected_clients:"), NULL, 10);
    reds_free(r);
    reds_client_free(probe);
    return n;
}

START_TEST(stale_after_idle_timeout)
{
    fixture_server s;
    ck_assert_int_eq(fixture_start(&s, NULL), 0);
    reds_client *c = client_on(s.port, NULL);
    fill_pool(c, STALE);
    raw_expect(&s, "CONFIG SET timeout 1", "+OK");
    /* The server closes clients idle over 1 s on its next cron: wait for
     * it (only the probe left), 2.5 s at least, 10 s at most. */
    long long t0 = now_ms();
    sleep_ms(2500);
    while (connected_clients(&s) != 1 && now_ms() - t0 < 10000)
        sleep_ms(100);
    ck_assert_int_eq(connected_clients(&s), 1);
    expect_no_error(c, &s);
    reds_client_free(c);
    fixture_stop(&s);
}
END_TEST

START_TEST(stale_after_client_kill)
{
    fixture_server s;
    ck_assert_int_eq(fixture_start(&s, NULL), 0);
    reds_client *c = client_on(s.port, NULL);
    fill_pool(c, STALE);
    /* Every normal client but the killer (SKIPME): the pool's four, and
     * perhaps a probe of the fixture's the server has not reaped yet. */
    char killed[64];
    ck_assert_int_eq(fixture_command(&s, "CLIENT KILL TYPE normal", killed, sizeof killed), 0);
    ck_assert_msg(killed[0] == ':' && atoi(killed + 1) >= STALE, "CLIENT KILL -> %s", killed);
    expect_no_error(c, &s);
    reds_client_free(c);
    fixture_stop(&s);
}
END_TEST

/* A proxy (here the relay) closes its idle connections. */
START_TEST(stale_after_proxy_close)
{
    relay *r = relay_to_server();
    reds_client *c = client_on(relay_port(r), NULL);
    fill_pool(c, STALE);
    relay_close_clients(r);
    expect_no_error(c, &test_server);
    reds_client_free(c);
    relay_stop(r);
}
END_TEST

/* ============================================= finding 5: deadlines */

/* "$20\r\n" + 20 bytes + "\r\n" */
#define VALUE20    "0123456789abcdefghij"
#define REPLY20    27
#define TRICKLE_MS 50

START_TEST(deadline_bounds_a_trickled_reply)
{
    test_raw("SET k " VALUE20, (char[64]){0}, 64);
    relay *r = relay_to_server();
    reds_options o = {.socket_timeout_ms = 500, .command_timeout_ms = 500};
    reds_client *c = client_on(relay_port(r), &o);
    ASSERT_OK(reds_ping(c, NULL, NULL));
    relay_trickle(r, TRICKLE_MS); /* the whole reply takes 1.35 s */
    relay_reset_counts(r);
    reds_str *v = NULL;
    long long t0 = now_ms();
    reds_err err = reds_get(c, S("k"), &v);
    long long took = now_ms() - t0;
    relay_counts n = relay_get_counts(r);
    test_note("deadline: GET of a reply trickled 1 byte / %d ms with command_timeout_ms 500: "
              "%s after %lld ms, %llu of %d bytes forwarded\n",
              TRICKLE_MS, reds_err_name(err), took, (unsigned long long)n.to_client, REPLY20);
    ck_assert_msg(err == REDS_ERR_TIMEOUT, "GET -> %s (%s), value \"%s\", expected TimeoutError",
                  reds_err_name(err), reds_errmsg(), v && v->ptr ? v->ptr : "(none)");
    ck_assert_ptr_null(v);
    /* It gave up before the whole reply came. */
    ck_assert_uint_lt(n.to_client, REPLY20);
    /* The connection that timed out is not reused. */
    relay_pass(r);
    expect_own_reply(c);
    ASSERT_STATS(c, 2, 0, 1);
    reds_client_free(c);
    relay_stop(r);
}
END_TEST

/* Without command_timeout_ms the socket timeout bounds each read only:
 * the same trickle completes. */
START_TEST(socket_timeout_is_per_read)
{
    test_raw("SET k " VALUE20, (char[64]){0}, 64);
    relay *r = relay_to_server();
    reds_options o = {.socket_timeout_ms = 500};
    reds_client *c = client_on(relay_port(r), &o);
    ASSERT_OK(reds_ping(c, NULL, NULL));
    relay_trickle(r, TRICKLE_MS);
    relay_reset_counts(r);
    long long t0 = now_ms();
    expect_get(c, "k", VALUE20);
    test_note("deadline: the same trickle without command_timeout_ms: complete after %lld ms\n",
              now_ms() - t0);
    ck_assert_uint_eq(relay_get_counts(r).to_client, REPLY20);
    relay_pass(r);
    expect_own_reply(c);
    ASSERT_STATS(c, 1, 0, 1);
    reds_client_free(c);
    relay_stop(r);
}
END_TEST

#define LONG_LINE 20000000

/* One status line of 20 MB, sent in 64 KiB pieces: exact, and parsed
 * with work linear in its length (reds__reader_scanned: the bytes the
 * reader had pending, summed over its parse attempts on this thread). */
START_TEST(long_line_is_linear)
{
    relay *r = fake_server();
    relay_script(r, "+", LONG_LINE, 'a', "\r\n");
    reds_client *c = client_on(relay_port(r), NULL);
    uint64_t before = reds__reader_scanned;
    long long t0 = now_ms();
    reds_reply *reply = NULL;
    reds_err err = reds_execute_command(c, 1, STRS(S("PING")), &reply);
    long long took = now_ms() - t0;
    uint64_t scanned = reds__reader_scanned - before;
    test_note("deadline: a 20 MB status line: %s in %lld ms, %llu bytes scanned (%.1f x its "
              "length)\n",
              reds_err_name(err), took, (unsigned long long)scanned, (double)scanned / LONG_LINE);
    ck_assert_msg(err == REDS_OK, "PING -> %s: %s", reds_err_name(err), reds_errmsg());
    ck_assert_int_eq(reply->type, REDS_REPLY_STATUS);
    ck_assert_uint_eq(reply->len, LONG_LINE);
    size_t bad = 0;
    for (size_t i = 0; i < LONG_LINE; i++)
        bad += reply->str[i] != 'a';
    ck_assert_uint_eq(bad, 0);
    ck_assert(reply->str[LONG_LINE] == '\0');
    reds_free(reply);
    /* The counter is live (it would pass any bound otherwise)... */
    ck_assert_msg(scanned > 0, "reds__reader_scanned did not move: it measures nothing");
    /* ...and the line was not rescanned as it came. */
    ck_assert_msg(scanned < 3ull * LONG_LINE, "the reader scanned %llu bytes for a %d-byte line",
                  (unsigned long long)scanned, LONG_LINE);
    reds_client_free(c);
    relay_stop(r);
}
END_TEST

/* ================================================== finding 6: caps */

#define HEAP_LIMIT (16 * MiB)

static void assert_heap_bounded(size_t grew)
{
    if (!heap_measurable()) {
        test_note("caps: the heap cannot be measured here (%s does not move): not checked\n",
                  heap_source());
        return;
    }
    ck_assert_msg(grew < HEAP_LIMIT, "the heap grew %zu bytes", grew);
}

/* Run PING on a fake server that answers with `head`, `fill` bytes of
 * 'x' and silence: its result, and how far the heap grew meanwhile. */
static reds_err against_header(const char *head, size_t fill, int socket_timeout_ms, size_t *grew,
                               reds_pool_stats *stats, long long *took)
{
    relay *r = fake_server();
    relay_script(r, head, fill, 'x', NULL);
    reds_options o = {.socket_timeout_ms = socket_timeout_ms};
    reds_client *c = client_on(relay_port(r), &o);
    reds_reply *reply = NULL;
    heap_peak *peak = heap_peak_start();
    long long t0 = now_ms();
    reds_err err = reds_execute_command(c, 1, STRS(S("PING")), &reply);
    *took = now_ms() - t0;
    *grew = heap_peak_stop(peak);
    ck_assert_ptr_null(reply);
    *stats = test_pool_stats(c);
    reds_client_free(c);
    relay_stop(r);
    return err;
}

START_TEST(huge_array_header_is_refused_at_once)
{
    size_t grew;
    reds_pool_stats s;
    long long took;
    reds_err err = against_header("*100000000\r\n", 0, 5000, &grew, &s, &took);
    const char *msg = reds_errmsg();
    test_note("caps: \"*100000000\" then silence: %s (%s) after %lld ms, heap grew %zu bytes at "
              "most (%s)\n",
              reds_err_name(err), msg, took, grew, heap_source());
    ck_assert_msg(err == REDS_ERR_REPLY_TOO_LARGE, "-> %s (%s), expected ReplyTooLargeError",
                  reds_err_name(err), msg);
    ck_assert(reds_err_is(err, REDS_ERR_INVALID_RESPONSE));
    assert_heap_bounded(grew);
    ASSERT_STATS_ARE(s, 1, 0, 0); /* closed */
}
END_TEST

START_TEST(huge_bulk_header_is_refused)
{
    size_t grew;
    reds_pool_stats s;
    long long took;
    /* 48 MiB of the announced 10 GB come, then nothing. */
    reds_err err = against_header("$10000000000\r\n", 48 * MiB, 2000, &grew, &s, &took);
    const char *msg = reds_errmsg();
    test_note("caps: \"$10000000000\" then 48 MiB of data: %s (%s) after %lld ms, heap grew %zu "
              "bytes at most\n",
              reds_err_name(err), msg, took, grew);
    ck_assert_msg(err == REDS_ERR_REPLY_TOO_LARGE, "-> %s (%s), expected ReplyTooLargeError",
                  reds_err_name(err), msg);
    assert_heap_bounded(grew);
    ASSERT_STATS_ARE(s, 1, 0, 0);
}
END_TEST

/* 10,000,000 elements are allowed (the default cap is 2^24), but none
 * come: nothing is allocated for them in advance. */
START_TEST(array_header_allocates_nothing_up_front)
{
    size_t grew;
    reds_pool_stats s;
    long long took;
    reds_err err = against_header("*10000000\r\n", 0, 300, &grew, &s, &took);
    test_note("caps: \"*10000000\" then silence: %s after %lld ms, heap grew %zu bytes at most\n",
              reds_err_name(err), took, grew);
    ck_assert_msg(err == REDS_ERR_TIMEOUT, "-> %s (%s), expected TimeoutError", reds_err_name(err),
                  reds_errmsg());
    assert_heap_bounded(grew);
    ASSERT_STATS_ARE(s, 1, 0, 0);
}
END_TEST

static void set_value(reds_client *c, const char *key, size_t len)
{
    char *v = malloc(len);
    ck_assert_ptr_nonnull(v);
    memset(v, 'v', len);
    ASSERT_OK(reds_set(c, reds_cstr(key), reds_strn(v, len), NULL, NULL));
    free(v);
}

START_TEST(max_reply_bytes)
{
    reds_client *setup = test_client(NULL);
    set_value(setup, "half", MiB / 2);
    set_value(setup, "big", 2 * MiB);
    ASSERT_OK(reds_set(setup, S("small"), S("small value"), NULL, NULL));
    reds_client_free(setup);

    reds_options o = {.max_reply_bytes = MiB};
    reds_client *c = test_client(&o);
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, S("half"), &v));
    ck_assert_uint_eq(v->len, MiB / 2);
    reds_free(v);
    v = NULL;
    reds_err err = reds_get(c, S("big"), &v);
    ck_assert_msg(err == REDS_ERR_REPLY_TOO_LARGE,
                  "GET of 2 MiB with max_reply_bytes 1 MiB -> %s (%s), %zu bytes",
                  reds_err_name(err), reds_errmsg(), v ? v->len : 0);
    ck_assert_ptr_null(v);
    expect_get(c, "small", "small value");
    ASSERT_STATS(c, 2, 0, 1);
    reds_client_free(c);
}
END_TEST

START_TEST(max_reply_elements)
{
    reds_client *setup = test_client(NULL);
    reds_str items[1001];
    char text[1001][8];
    for (int i = 0; i < 1001; i++) {
        snprintf(text[i], sizeof text[i], "e%d", i);
        items[i] = reds_cstr(text[i]);
    }
    ASSERT_OK(reds_rpush(setup, S("list"), items, 1001, NULL));
    reds_client_free(setup);

    reds_options o = {.max_reply_elements = 1000};
    reds_client *c = test_client(&o);
    reds_strlist *l = NULL;
    ASSERT_OK(reds_lrange(c, S("list"), 0, 999, &l));
    ck_assert_uint_eq(l->count, 1000);
    ASSERT_STR(&l->items[0], "e0");
    ASSERT_STR(&l->items[999], "e999");
    reds_free(l);
    l = NULL;
    reds_err err = reds_lrange(c, S("list"), 0, -1, &l);
    ck_assert_msg(err == REDS_ERR_REPLY_TOO_LARGE,
                  "LRANGE of 1001 with max_reply_elements 1000 -> %s (%s), %zu elements",
                  reds_err_name(err), reds_errmsg(), l ? l->count : 0);
    ck_assert_ptr_null(l);
    expect_own_reply(c);
    ASSERT_STATS(c, 2, 0, 1);
    reds_client_free(c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("faults");
    struct {
        const char *name;
        int timeout;
        const TTest *tests[8];
    } groups[] = {
        {"relay",
         10,
         {relay_passes_and_counts, relay_injects, relay_stalls_cuts_and_closes,
          relay_fakes_a_server}},
        {"unread",
         10,
         {injected_in_the_same_write, injected_while_idle, injected_just_before_the_next_command}},
        {"stale",
         20,
         {stale_after_restart, stale_after_idle_timeout, stale_after_client_kill,
          stale_after_proxy_close}},
        {"deadline",
         60,
         {deadline_bounds_a_trickled_reply, socket_timeout_is_per_read, long_line_is_linear}},
        {"caps",
         20,
         {huge_array_header_is_refused_at_once, huge_bulk_header_is_refused,
          array_header_allocates_nothing_up_front, max_reply_bytes, max_reply_elements}},
    };
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        TCase *tc = tcase_create(groups[i].name);
        tcase_add_checked_fixture(tc, test_flush, NULL);
        tcase_set_timeout(tc, groups[i].timeout);
        for (size_t j = 0; j < 8 && groups[i].tests[j]; j++)
            tcase_add_test(tc, groups[i].tests[j]);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
