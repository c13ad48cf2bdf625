/* The non-blocking client (<reds/async.h>, issue 13) against real servers,
 * once per event loop: libevent, libuv, libev and the built-in reds_poll.
 * Every behaviour test is a Check loop test over the driver table below
 * (`_i` picks the loop), so "inflight / libuv" is one test.
 *
 *   inflight        thousands of mixed commands in flight (INCR, SET/GET of
 *                   binary values, LRANGE, HGETALL, an error reply, raw
 *                   commands with generic trees): each completes exactly
 *                   once, in order, with its own typed output
 *   queueing        commands queued before attach and before the loop
 *                   runs; commands issued from completions (a chain of
 *                   depth 1, a fan-out of thousands)
 *   restart         the server killed and restarted, and CLIENT KILL, with
 *                   big ECHOs in flight: each completes once, with its own
 *                   reply or a connection error; the handle recovers
 *   reset           a reset connection with a reply still buffered: the
 *                   reply, then connection errors
 *   timeout         command_timeout_ms against DEBUG SLEEP
 *   stall           a stalled relay (command_timeout_ms, socket_timeout_ms)
 *   stall_free      the handle freed inside a timed-out command's completion
 *   connect         connect and handshake timeouts
 *   scripts         reds_script_call: loaded once per connection
 *   limits          replies of megabytes; max_reply_bytes
 *   teardown        reds_client_free() and reds_async_disconnect() inside a
 *                   completion and outside; reds_async_reconnect()
 *   handshake       password, ACL user, db, client_name; a wrong password
 *   api             reds_async_from_url, response callbacks, bad input,
 *                   replies nobody waits for, disconnected handles
 *   refused         a call refused before it is queued never completes; a
 *                   call that is queued always does
 *   attach          attaching to another loop, detaching
 *   pubsub          subscribe/psubscribe/ssubscribe with messages from
 *                   another client, refusals, unsubscribe (also inside a
 *                   handler), CLIENT KILL and the RECONNECTED notice, a
 *                   handler that frees the handle
 *   pubsub_restart  the server restarted under a subscribed handle
 *   reconnect       nothing listening at first; the handle connects by
 *                   itself once the server is up; reds_async_on_status
 *   contract        reds_async_loop's promises, seen by a loop of our own;
 *                   reds_poll_free(); a command timeout during a backoff
 *   tls             thousands of commands and megabytes over TLS; a stalled
 *                   and a cut TLS connection
 *
 * No sleeps: a test runs its loop until a condition holds, with a generous
 * deadline that only stops a hang (never a pass/fail on timing). Sizes
 * shrink under valgrind (detected from LD_PRELOAD) or with
 * REDS_TEST_SCALE=<factor>. */
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* libev before libevent: both name EV_READ (see tests/headers_async.c). */
#include <reds/async.h>
#include <reds/async/libev.h>
#include <reds/async/libevent.h>
#include <reds/async/libuv.h>

#include "fixture_relay.h"
#include "testutil.h"

/* ------------------------------------------------------------- scaling */

static bool under_valgrind(void)
{
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "vgpreload") != NULL;
}

/* The factor sizes are multiplied by: REDS_TEST_SCALE, else 0.05 under
 * valgrind, else 1. */
static double scale_factor(void)
{
    const char *e = getenv("REDS_TEST_SCALE");
    if (e && *e) {
        double f = atof(e);
        if (f > 0)
            return f;
    }
    return under_valgrind() ? 0.05 : 1.0;
}

/* `n` scaled, never below `floor_`. */
static int scaled(int n, int floor_)
{
    int v = (int)(n * scale_factor());
    return v < floor_ ? floor_ : v;
}

/* A deadline that only stops a hang: longer under valgrind. */
static int patience_ms(int ms)
{
    return under_valgrind() ? ms * 3 : ms;
}

/* ------------------------------------------------------------ the loops */

#define TICK_MS 10

typedef struct tloop tloop;

typedef struct loop_driver {
    const char *name;
    void (*open)(tloop *l);
    reds_err (*attach)(tloop *l, reds_client *c);
    /* One iteration: returns within about TICK_MS even when nothing
     * happens (each loop has a periodic timer of ours, or a timeout). */
    void (*once)(tloop *l);
    void (*close)(tloop *l);
} loop_driver;

struct tloop {
    const loop_driver *d;
    struct event_base *base;
    struct event *tick;
    uv_loop_t uv;
    uv_timer_t uv_tick;
    struct ev_loop *ev;
    ev_timer ev_tick;
    reds_poll *poll;
    reds_client *keeper; /* see loop_keep_running() */
};

static void libevent_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static void libevent_open(tloop *l)
{
    l->base = event_base_new();
    ck_assert_ptr_nonnull(l->base);
    l->tick = event_new(l->base, -1, EV_PERSIST, libevent_tick, NULL);
    ck_assert_ptr_nonnull(l->tick);
    struct timeval tv = {0, TICK_MS * 1000};
    ck_assert_int_eq(event_add(l->tick, &tv), 0);
}

static reds_err libevent_attach(tloop *l, reds_client *c)
{
    return reds_libevent_attach(c, l->base);
}

static void libevent_once(tloop *l)
{
    ck_assert_int_ge(event_base_loop(l->base, EVLOOP_ONCE), 0);
}

static void libevent_close(tloop *l)
{
    event_free(l->tick);
    event_base_free(l->base);
}

static void uv_tick_cb(uv_timer_t *t)
{
    (void)t;
}

static void libuv_open(tloop *l)
{
    ck_assert_int_eq(uv_loop_init(&l->uv), 0);
    ck_assert_int_eq(uv_timer_init(&l->uv, &l->uv_tick), 0);
    ck_assert_int_eq(uv_timer_start(&l->uv_tick, uv_tick_cb, TICK_MS, TICK_MS), 0);
}

static reds_err libuv_attach(tloop *l, reds_client *c)
{
    return reds_libuv_attach(c, &l->uv);
}

static void libuv_once(tloop *l)
{
    uv_run(&l->uv, UV_RUN_ONCE);
}

static void libuv_close(tloop *l)
{
    uv_timer_stop(&l->uv_tick);
    uv_close((uv_handle_t *)&l->uv_tick, NULL);
    /* Handles close on the next iterations (the adapters' too). */
    int rc = UV_EBUSY;
    for (int i = 0; i < 100 && (rc = uv_loop_close(&l->uv)) == UV_EBUSY; i++)
        uv_run(&l->uv, UV_RUN_NOWAIT);
    ck_assert_msg(rc == 0, "uv_loop_close: %s (a handle is still open)", uv_strerror(rc));
}

static void ev_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

static void libev_open(tloop *l)
{
    l->ev = ev_loop_new(EVFLAG_AUTO);
    ck_assert_ptr_nonnull(l->ev);
    ev_timer_init(&l->ev_tick, ev_tick_cb, TICK_MS / 1000.0, TICK_MS / 1000.0);
    ev_timer_start(l->ev, &l->ev_tick);
}

static reds_err libev_attach(tloop *l, reds_client *c)
{
    return reds_libev_attach(c, l->ev);
}

static void libev_once(tloop *l)
{
    ev_run(l->ev, EVRUN_ONCE);
}

static void libev_close(tloop *l)
{
    ev_timer_stop(l->ev, &l->ev_tick);
    ev_loop_destroy(l->ev);
}

static void poll_open(tloop *l)
{
    ASSERT_OK(reds_poll_new(&l->poll));
}

static reds_err poll_attach(tloop *l, reds_client *c)
{
    return reds_poll_attach(l->poll, c);
}

static void poll_once(tloop *l)
{
    reds_poll_run(l->poll, TICK_MS);
}

static void poll_close(tloop *l)
{
    reds_poll_free(l->poll);
}

static const loop_driver drivers[] = {
    {"libevent", libevent_open, libevent_attach, libevent_once, libevent_close},
    {"libuv", libuv_open, libuv_attach, libuv_once, libuv_close},
    {"libev", libev_open, libev_attach, libev_once, libev_close},
    {"reds_poll", poll_open, poll_attach, poll_once, poll_close},
};
#define NDRIVERS    ((int)(sizeof drivers / sizeof drivers[0]))
#define POLL_DRIVER 3

static void loop_open(tloop *l, int driver)
{
    memset(l, 0, sizeof *l);
    l->d = &drivers[driver];
    l->d->open(l);
}

static void loop_once(tloop *l)
{
    l->d->once(l);
}

/* Free the handles first: the adapters release their watchers then. */
static void loop_close(tloop *l)
{
    reds_client_free(l->keeper);
    l->keeper = NULL;
    l->d->close(l);
}

/* reds_poll_run() runs while some attached handle has work (a pending
 * command or a subscription) and returns at once otherwise, as its header
 * says; so it does not run the reconnect timer of an idle handle that
 * lost its connection. A poll-driven test that waits for such a handle to
 * reconnect by itself keeps a second handle on the same loop with a BLPOP
 * that never returns, as an application's other work would keep it
 * running. */
static void loop_keep_running(tloop *l)
{
    if (l->d != &drivers[POLL_DRIVER] || l->keeper)
        return;
    reds_options o = {.host = "127.0.0.1", .port = test_server.port};
    ASSERT_OK(reds_async_new(&o, &l->keeper));
    ASSERT_OK(l->d->attach(l, l->keeper));
    reds_str argv[] = {S("BLPOP"), S("reds:async:keeper:never"), S("0")};
    ASSERT_OK(reds_execute_command(l->keeper, 3, argv, NULL));
}

/* Run the loop until `cond` holds; fail after `ms` (a hang, not a
 * timing). */
#define RUN_UNTIL(l, cond, ms)                                                                     \
    do {                                                                                           \
        int ms_ = patience_ms(ms);                                                                 \
        long long end_ = now_ms() + ms_;                                                           \
        while (!(cond)) {                                                                          \
            ck_assert_msg(now_ms() < end_, "%s: still not (%s) after %d ms", (l)->d->name, #cond,  \
                          ms_);                                                                    \
            loop_once(l);                                                                          \
        }                                                                                          \
    } while (0)

/* A handle on 127.0.0.1:`port` (0: the test server) with `opts`,
 * attached to `l`. */
static reds_client *async_on(tloop *l, int port, const reds_options *opts)
{
    reds_options o = {0};
    if (opts)
        o = *opts;
    if (!o.unix_path) {
        o.host = "127.0.0.1";
        o.port = port ? port : test_server.port;
    }
    reds_client *c = NULL;
    ASSERT_OK(reds_async_new(&o, &c));
    ck_assert(reds_async_is(c));
    ASSERT_OK(l->d->attach(l, c));
    return c;
}

/* ----------------------------------------------------- request records */

/* What completions saw; checked by the test body (a failed assertion
 * inside a loop callback would unwind through the loop library). */
typedef struct tally {
    int done, next, bad;
    char why[512];
    bool in_call; /* inside reds_client_free() or reds_async_disconnect() */
    reds_client *client;
} tally;

static void tally_bad(tally *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tally_bad(tally *t, const char *fmt, ...)
{
    if (!t->bad++) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(t->why, sizeof t->why, fmt, ap);
        va_end(ap);
    }
}

#define ASSERT_TALLY(t, n)                                                                         \
    do {                                                                                           \
        ck_assert_msg((t)->bad == 0, "%d bad completions; the first: %s", (t)->bad, (t)->why);     \
        ck_assert_int_eq((t)->done, (n));                                                          \
    } while (0)

enum kind { K_INCR, K_SET, K_GET, K_LRANGE, K_HGETALL, K_BADINCR, K_RAW, K_ECHO, K_NKINDS };

typedef struct req {
    tally *t;
    int idx, kind, calls;
    reds_err err;
    char errmsg[256];
    int64_t n, want;
    bool b;
    reds_str *s;
    reds_strlist *list;
    reds_map *map;
    reds_reply *reply;
    char expect[64];
    size_t expect_len;
    int from; /* LRANGE start */
} req;

static req *reqs_new(tally *t, int n)
{
    req *r = calloc((size_t)n, sizeof *r);
    ck_assert_ptr_nonnull(r);
    for (int i = 0; i < n; i++) {
        r[i].t = t;
        r[i].idx = i;
    }
    return r;
}

/* Each request completed exactly once. */
static void assert_once_each(const req *r, int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(r[i].calls == 1, "request %d completed %d times", i, r[i].calls);
}

static void set_nonce(req *r, const char *tag)
{
    r->expect_len =
        (size_t)snprintf(r->expect, sizeof r->expect, "%s-%d-%d", tag, r->idx, (int)getpid());
}

/* The common part of every completion: counted once, in order. */
static void record(req *r, reds_err err, void *out, void *expect_out)
{
    tally *t = r->t;
    r->calls++;
    r->err = err;
    if (err)
        snprintf(r->errmsg, sizeof r->errmsg, "%s", reds_errmsg());
    if (r->calls != 1)
        tally_bad(t, "request %d completed %d times", r->idx, r->calls);
    if (r->idx != t->next)
        tally_bad(t, "request %d completed when %d was next", r->idx, t->next);
    if (out != expect_out)
        tally_bad(t, "request %d: out %p, expected %p", r->idx, out, expect_out);
    t->next = r->idx + 1;
    t->done++;
}

/* An ECHO of r->expect: its own reply, or an error (kept in r->err). */
static void on_echo(reds_client *c, reds_err err, void *out, void *udata)
{
    (void)c;
    req *r = udata;
    record(r, err, out, &r->s);
    if (!err &&
        !(r->s && r->s->len == r->expect_len && memcmp(r->s->ptr, r->expect, r->expect_len) == 0))
        tally_bad(r->t, "ECHO %s answered \"%.*s\": another command's reply", r->expect,
                  r->s ? (int)r->s->len : 6, r->s ? r->s->ptr : "(null)");
    reds_free(r->s);
    r->s = NULL;
}

static reds_err echo(reds_client *c, req *r, const char *tag)
{
    set_nonce(r, tag);
    return REDS_ASYNC(c, on_echo, r, reds_echo(c, reds_strn(r->expect, r->expect_len), &r->s));
}

/* Queue ECHOs for r[from, to), each with its own nonce. */
static void echo_range(reds_client *c, req *r, int from, int to, const char *tag)
{
    for (int i = from; i < to; i++)
        ASSERT_OK(echo(c, &r[i], tag));
}

/* ---------------------------------------------- many commands in flight */

#define LIST_LEN 5
static const reds_str list_items[LIST_LEN] = {
    {"first", 5}, {"", 0}, {"bin\0\r\n\xff", 7}, {"fourth item", 11}, {"x", 1}};
static const reds_field_value hash_items[3] = {
    {{"f1", 2}, {"v1", 2}}, {{"empty", 5}, {"", 0}}, {{"bin\0key", 7}, {"\0\1\2", 3}}};

static void value_of(int i, char *buf, size_t *len)
{
    int n = snprintf(buf, 48, "value-%d-", i);
    buf[n++] = '\0';
    buf[n++] = '\n';
    buf[n++] = (char)(i & 0xff);
    *len = (size_t)n;
}

static void on_mixed(reds_client *c, reds_err err, void *out, void *udata)
{
    (void)c;
    req *r = udata;
    tally *t = r->t;
    void *expect_out = r->kind == K_INCR || r->kind == K_BADINCR ? (void *)&r->n
                       : r->kind == K_SET                        ? (void *)&r->b
                       : r->kind == K_GET                        ? (void *)&r->s
                       : r->kind == K_LRANGE                     ? (void *)&r->list
                       : r->kind == K_HGETALL                    ? (void *)&r->map
                                                                 : (void *)&r->reply;
    record(r, err, out, expect_out);
    if (r->kind == K_BADINCR) {
        if (err != REDS_ERR_RESPONSE || !strstr(reds_errmsg(), "not an integer"))
            tally_bad(t, "INCR of a string %d: %s (%s)", r->idx, reds_err_name(err), reds_errmsg());
        return;
    }
    if (err) {
        tally_bad(t, "request %d (kind %d): %s: %s", r->idx, r->kind, reds_err_name(err),
                  reds_errmsg());
        return;
    }
    switch (r->kind) {
    case K_INCR:
        if (r->n != r->want)
            tally_bad(t, "INCR %d gave %lld, expected %lld", r->idx, (long long)r->n,
                      (long long)r->want);
        break;
    case K_SET:
        if (!r->b)
            tally_bad(t, "SET %d answered false", r->idx);
        break;
    case K_GET:
        if (!r->s || r->s->len != r->expect_len || memcmp(r->s->ptr, r->expect, r->expect_len))
            tally_bad(t, "GET %d: wrong value", r->idx);
        reds_free(r->s);
        r->s = NULL;
        break;
    case K_LRANGE: {
        size_t want = (size_t)(LIST_LEN - r->from);
        bool ok = r->list && r->list->count == want;
        for (size_t k = 0; ok && k < want; k++) {
            reds_str e = list_items[r->from + (int)k], g = r->list->items[k];
            ok = g.ptr && g.len == e.len && memcmp(g.ptr, e.ptr, e.len) == 0;
        }
        if (!ok)
            tally_bad(t, "LRANGE %d from %d: wrong list", r->idx, r->from);
        reds_free(r->list);
        r->list = NULL;
        break;
    }
    case K_HGETALL: {
        bool ok = r->map && r->map->count == 3;
        for (int k = 0; ok && k < 3; k++) {
            const reds_str *v = reds_map_get(r->map, hash_items[k].field);
            ok = v && v->len == hash_items[k].value.len &&
                 memcmp(v->ptr, hash_items[k].value.ptr, v->len) == 0;
        }
        if (!ok)
            tally_bad(t, "HGETALL %d: wrong map", r->idx);
        reds_free(r->map);
        r->map = NULL;
        break;
    }
    case K_RAW: {
        const reds_reply *p = r->reply;
        bool ok;
        if (r->expect_len) { /* ECHO */
            ok = p && p->type == REDS_REPLY_STRING && p->len == r->expect_len &&
                 memcmp(p->str, r->expect, p->len) == 0;
        } else { /* LRANGE list 0 -1 */
            ok = p && p->type == REDS_REPLY_ARRAY && reds_reply_count(p) == LIST_LEN;
            for (size_t k = 0; ok && k < LIST_LEN; k++) {
                const reds_reply *e = reds_reply_at(p, k);
                ok = e->type == REDS_REPLY_STRING && e->len == list_items[k].len &&
                     memcmp(e->str, list_items[k].ptr, e->len) == 0;
            }
        }
        if (!ok)
            tally_bad(t, "raw %d: wrong reply tree", r->idx);
        reds_free(r->reply);
        r->reply = NULL;
        break;
    }
    default:
        tally_bad(t, "kind %d", r->kind);
    }
}

/* `n` mixed commands in flight on a fresh handle with `opts` (`port` 0:
 * the test server); `setup` is a blocking client on the same server. */
static void many_in_flight(tloop *l, reds_client *setup, int port, const reds_options *opts, int n)
{
    ASSERT_OK(reds_del(setup, STRS(S("a:ctr"), S("a:list"), S("a:hash"), S("a:str")), 4, NULL));
    ASSERT_OK(reds_rpush(setup, S("a:list"), list_items, LIST_LEN, NULL));
    ASSERT_OK(reds_hset(setup, S("a:hash"), hash_items, 3, NULL));
    ASSERT_OK(reds_set(setup, S("a:str"), S("not a number"), NULL, NULL));

    reds_client *c = async_on(l, port, opts);
    tally t = {0};
    req *r = reqs_new(&t, n);
    int64_t incrs = 0;
    int last_set = -1;
    char key[32];
    for (int i = 0; i < n; i++) {
        r[i].kind = i % (K_RAW + 1);
        reds_err err = REDS_OK;
        switch (r[i].kind) {
        case K_INCR:
            r[i].want = ++incrs;
            err = REDS_ASYNC(c, on_mixed, &r[i], reds_incr(c, S("a:ctr"), &r[i].n));
            break;
        case K_SET:
            snprintf(key, sizeof key, "a:key:%d", i);
            value_of(i, r[i].expect, &r[i].expect_len);
            err = REDS_ASYNC(c, on_mixed, &r[i],
                             reds_set(c, reds_cstr(key), reds_strn(r[i].expect, r[i].expect_len),
                                      NULL, &r[i].b));
            last_set = i;
            break;
        case K_GET:
            snprintf(key, sizeof key, "a:key:%d", last_set);
            value_of(last_set, r[i].expect, &r[i].expect_len);
            err = REDS_ASYNC(c, on_mixed, &r[i], reds_get(c, reds_cstr(key), &r[i].s));
            break;
        case K_LRANGE:
            r[i].from = (i / (K_RAW + 1)) % LIST_LEN;
            err = REDS_ASYNC(c, on_mixed, &r[i],
                             reds_lrange(c, S("a:list"), r[i].from, -1, &r[i].list));
            break;
        case K_HGETALL:
            err = REDS_ASYNC(c, on_mixed, &r[i], reds_hgetall(c, S("a:hash"), &r[i].map));
            break;
        case K_BADINCR:
            err = REDS_ASYNC(c, on_mixed, &r[i], reds_incr(c, S("a:str"), &r[i].n));
            /* The wrapper zeroes `out` when called (every mode does);
             * from then on only a success may write it. */
            r[i].n = -12345;
            break;
        case K_RAW:
            if ((i / (K_RAW + 1)) % 2 == 0) {
                set_nonce(&r[i], "raw");
                reds_str argv[] = {S("ECHO"), reds_strn(r[i].expect, r[i].expect_len)};
                err = REDS_ASYNC(c, on_mixed, &r[i], reds_execute_command(c, 2, argv, &r[i].reply));
            } else {
                reds_str argv[] = {S("LRANGE"), S("a:list"), S("0"), S("-1")};
                err = REDS_ASYNC(c, on_mixed, &r[i], reds_execute_command(c, 4, argv, &r[i].reply));
            }
            break;
        }
        ck_assert_msg(err == REDS_OK, "queueing %d: %s", i, reds_errmsg());
    }
    ck_assert_uint_eq(reds_async_pending(c), (size_t)n);
    RUN_UNTIL(l, t.done == n, 30000);
    ASSERT_TALLY(&t, n);
    assert_once_each(r, n);
    for (int i = 0; i < n; i++)
        if (r[i].kind == K_BADINCR)
            ck_assert_int_eq(r[i].n, -12345); /* an error writes no output */
    ck_assert_uint_eq(reds_async_pending(c), 0);
    ck_assert(reds_async_connected(c));
    reds_client_free(c);
    int64_t v = 0;
    reds_str *s = NULL;
    ASSERT_OK(reds_get(setup, S("a:ctr"), &s));
    ck_assert_ptr_nonnull(s);
    v = strtoll(s->ptr, NULL, 10);
    reds_free(s);
    ck_assert_int_eq(v, incrs);
    free(r);
}

START_TEST(inflight_mixed)
{
    tloop L;
    loop_open(&L, _i);
    reds_client *setup = test_client(NULL);
    many_in_flight(&L, setup, 0, NULL, scaled(14000, 700));
    reds_client_free(setup);
    loop_close(&L);
}
END_TEST

/* ------------------------------------------------------------- queueing */

typedef struct chain {
    tally t;
    req *r;
    int n;
    bool refused;
} chain;

static chain the_chain;

/* Each completion issues the next ECHO, from inside the loop. */
static void on_chain(reds_client *c, reds_err err, void *out, void *udata)
{
    req *r = udata;
    on_echo(c, err, out, udata);
    if (err)
        tally_bad(r->t, "chain %d: %s", r->idx, reds_errmsg());
    if (r->idx + 1 < the_chain.n) {
        req *next = &the_chain.r[r->idx + 1];
        set_nonce(next, "chain");
        if (REDS_ASYNC(c, on_chain, next,
                       reds_echo(c, reds_strn(next->expect, next->expect_len), &next->s)))
            tally_bad(r->t, "chain %d: queueing the next: %s", r->idx, reds_errmsg());
    }
}

static void on_incr_want(reds_client *c, reds_err err, void *out, void *udata)
{
    (void)c;
    req *r = udata;
    record(r, err, out, &r->n);
    if (err || r->n != r->want)
        tally_bad(r->t, "INCR %d: %s, %lld expected %lld", r->idx, reds_err_name(err),
                  (long long)r->n, (long long)r->want);
}

/* The first request's completion queues all the others at once. */
static void on_fan_out(reds_client *c, reds_err err, void *out, void *udata)
{
    req *r = udata;
    on_incr_want(c, err, out, udata);
    for (int i = 1; i < the_chain.n; i++) {
        req *e = &the_chain.r[i];
        e->want = i + 1;
        if (REDS_ASYNC(c, on_incr_want, e, reds_incr(c, S("a:fan"), &e->n)))
            tally_bad(r->t, "fan-out %d: %s", i, reds_errmsg());
    }
    if (reds_async_pending(c) != (size_t)(the_chain.n - 1))
        tally_bad(r->t, "pending %zu inside the completion, expected %d", reds_async_pending(c),
                  the_chain.n - 1);
}

START_TEST(queued_before_attach_and_from_completions)
{
    tloop L;
    loop_open(&L, _i);
    /* Before attach (over the unix socket): nothing connects yet. */
    reds_options o = {.unix_path = test_server.sock};
    reds_client *c = NULL;
    ASSERT_OK(reds_async_new(&o, &c));
    int n = 100;
    tally t = {0};
    req *r = reqs_new(&t, n);
    echo_range(c, r, 0, n / 2, "early");
    ASSERT_OK(reds_ping(c, NULL, NULL)); /* no completion: its reply is dropped */
    echo_range(c, r, n / 2, n, "early");
    ck_assert_uint_eq(reds_async_pending(c), (size_t)n + 1);
    ck_assert(!reds_async_connected(c));
    ASSERT_OK(L.d->attach(&L, c));
    /* Attached, the loop not run yet: more may be queued. */
    ck_assert_uint_eq(reds_async_pending(c), (size_t)n + 1);
    RUN_UNTIL(&L, t.done == n && reds_async_pending(c) == 0, 10000);
    ASSERT_TALLY(&t, n);
    assert_once_each(r, n);
    for (int i = 0; i < n; i++)
        ck_assert_msg(r[i].err == REDS_OK, "%d: %s", i, r[i].errmsg);
    ck_assert(reds_async_connected(c));
    free(r);

    /* Depth 1: each completion issues the next command. */
    memset(&the_chain, 0, sizeof the_chain);
    the_chain.n = scaled(2000, 100);
    the_chain.r = reqs_new(&the_chain.t, the_chain.n);
    set_nonce(&the_chain.r[0], "chain");
    ASSERT_OK(REDS_ASYNC(c, on_chain, &the_chain.r[0],
                         reds_echo(c, reds_strn(the_chain.r[0].expect, the_chain.r[0].expect_len),
                                   &the_chain.r[0].s)));
    RUN_UNTIL(&L, the_chain.t.done == the_chain.n, 20000);
    ASSERT_TALLY(&the_chain.t, the_chain.n);
    assert_once_each(the_chain.r, the_chain.n);
    free(the_chain.r);

    /* Depth N: one completion issues thousands. */
    memset(&the_chain, 0, sizeof the_chain);
    the_chain.n = scaled(5000, 200);
    the_chain.r = reqs_new(&the_chain.t, the_chain.n);
    the_chain.r[0].want = 1;
    ASSERT_OK(
        REDS_ASYNC(c, on_fan_out, &the_chain.r[0], reds_incr(c, S("a:fan"), &the_chain.r[0].n)));
    RUN_UNTIL(&L, the_chain.t.done == the_chain.n, 20000);
    ASSERT_TALLY(&the_chain.t, the_chain.n);
    assert_once_each(the_chain.r, the_chain.n);
    free(the_chain.r);
    ck_assert_uint_eq(reds_async_pending(c), 0);
    reds_client_free(c);
    loop_close(&L);
}
END_TEST

/* A generic reply; a string one must be r->expect when that is set. */
static void on_raw(reds_client *c, reds_err err, void *out, void *udata)
{
    (void)c;
    req *r = udata;
    record(r, err, out, &r->reply);
    const reds_reply *p = r->reply;
    if (!err && r->expect_len &&
        !(p && (p->type == REDS_REPLY_STRING || p->type == REDS_REPLY_STATUS) &&
          p->len == r->expect_len && memcmp(p->str, r->expect, p->len) == 0))
        tally_bad(r->t, "request %d: not \"%s\"", r->idx, r->expect);
    reds_free(r->reply);
    r->reply = NULL;
}

static void on_int(reds_client *c, reds_err err, void *out, void *udata)
{
    (void)c;
    req *r = udata;
    record(r, err, out, &r->n);
}

/* ---------------------------------------------------- restart and kill */

typedef struct slog {
    int ups, downs, bad;
    reds_err last_down;
    char why[256];
} slog;

static void on_status(reds_client *c, reds_err err, void *udata)
{
    (void)c;
    slog *s = udata;
    if (err == REDS_OK) {
        s->ups++;
    } else {
        s->downs++;
        s->last_down = err;
        snprintf(s->why, sizeof s->why, "%s", reds_errmsg());
    }
}

/* Big ECHOs (a nonce then BIG_PAD bytes of padding), so that replies are
 * still coming when the connection goes. */
#define BIG_PAD (64 * 1024)
static char big_pad[BIG_PAD];

static void on_echo_big(reds_client *c, reds_err err, void *out, void *udata)
{
    (void)c;
    req *r = udata;
    record(r, err, out, &r->s);
    if (!err && !(r->s && r->s->len == r->expect_len + BIG_PAD &&
                  memcmp(r->s->ptr, r->expect, r->expect_len) == 0 &&
                  memcmp(r->s->ptr + r->expect_len, big_pad, BIG_PAD) == 0))
        tally_bad(r->t, "big ECHO %s: another command's reply", r->expect);
    reds_free(r->s);
    r->s = NULL;
}

static void echo_big_range(reds_client *c, req *r, int from, int to, const char *tag)
{
    static char buf[sizeof r->expect + BIG_PAD];
    memset(big_pad, 'p', BIG_PAD);
    for (int i = from; i < to; i++) {
        set_nonce(&r[i], tag);
        memcpy(buf, r[i].expect, r[i].expect_len);
        memcpy(buf + r[i].expect_len, big_pad, BIG_PAD);
        ASSERT_OK(REDS_ASYNC(c, on_echo_big, &r[i],
                             reds_echo(c, reds_strn(buf, r[i].expect_len + BIG_PAD), &r[i].s)));
    }
}

/* Every request completed once, with its own reply or a connection-class
 * error; returns how many failed. */
static int own_reply_or_connection_error(const req *r, int from, int to)
{
    int failed = 0;
    for (int i = from; i < to; i++) {
        ck_assert_msg(r[i].calls == 1, "request %d completed %d times", i, r[i].calls);
        if (r[i].err) {
            ck_assert_msg(reds_err_is(r[i].err, REDS_ERR_CONNECTION), "request %d: %s: %s", i,
                          reds_err_name(r[i].err), r[i].errmsg);
            failed++;
        }
    }
    return failed;
}

/* Issue ECHOs until one succeeds (those before may meet the dead
 * connection or a refused reconnect: connection errors). */
static void until_echo_works(tloop *l, reds_client *c, tally *t, req *r, int *used, int room)
{
    long long end = now_ms() + patience_ms(20000);
    for (;;) {
        ck_assert_msg(*used < room, "%s: no ECHO worked in %d tries", l->d->name, room);
        ck_assert_msg(now_ms() < end, "%s: the handle did not recover", l->d->name);
        req *e = &r[(*used)++];
        ASSERT_OK(echo(c, e, "recover"));
        RUN_UNTIL(l, e->calls == 1, 10000);
        if (!e->err)
            break;
        ck_assert_msg(reds_err_is(e->err, REDS_ERR_CONNECTION), "%s: %s", reds_err_name(e->err),
                      e->errmsg);
    }
    ck_assert_msg(t->bad == 0, "%s", t->why);
}

START_TEST(server_restart_and_client_kill_mid_stream)
{
    tloop L;
    loop_open(&L, _i);
    fixture_server s;
    ck_assert_int_eq(fixture_start(&s, NULL), 0);
    reds_options o = {.retry_backoff_base_ms = 5, .retry_backoff_cap_ms = 50};
    reds_client *c = async_on(&L, s.port, &o);
    slog st = {0};
    reds_async_on_status(c, on_status, &st);
    int n = scaled(400, 40), after = 200, room = 200, batch = scaled(1000, 50);
    int total = n + after + room + batch;
    tally t = {0};
    req *r = reqs_new(&t, 3 * total);

    /* Connected, then the server dies with commands in flight. */
    ASSERT_OK(echo(c, &r[0], "first"));
    RUN_UNTIL(&L, t.done == 1, 10000);
    ck_assert_int_eq(r[0].err, REDS_OK);
    ck_assert_int_eq(st.ups, 1);
    int base = 1;
    echo_big_range(c, r, base, base + n, "restart");
    RUN_UNTIL(&L, t.done > base + n / 4, 10000);
    fixture_kill(&s);
    /* Queued after the kill: they cannot succeed. */
    echo_range(c, r, base + n, base + n + after, "dead");
    RUN_UNTIL(&L, t.done == base + n + after, 20000);
    ck_assert_msg(t.bad == 0, "%s", t.why);
    int lost = own_reply_or_connection_error(r, base, base + n);
    test_note("%s: server killed with %d big ECHOs in flight: %d answered, %d connection errors\n",
              L.d->name, n, n - lost, lost);
    ck_assert_int_eq(own_reply_or_connection_error(r, base + n, base + n + after), after);
    ck_assert_int_ge(st.downs, 1);
    ck_assert_msg(reds_err_is(st.last_down, REDS_ERR_CONNECTION), "%s", st.why);

    /* Back: the handle reconnects by itself; later commands work. */
    ck_assert_int_eq(fixture_restart(&s, NULL), 0);
    int used = base + n + after;
    until_echo_works(&L, c, &t, r, &used, used + room);
    int from = used;
    echo_range(c, r, from, from + batch, "after");
    used = from + batch;
    RUN_UNTIL(&L, t.done == used, 20000);
    ASSERT_TALLY(&t, used);
    ck_assert_int_eq(own_reply_or_connection_error(r, from, used), 0);
    ck_assert_int_ge(st.ups, 2);

    /* CLIENT KILL of the handle's connection from another client. */
    int64_t id = 0, id2 = 0;
    req *idr = &r[used++];
    ASSERT_OK(REDS_ASYNC(c, on_int, idr, reds_client_id(c, &idr->n)));
    RUN_UNTIL(&L, idr->calls == 1, 10000);
    ck_assert_int_eq(idr->err, REDS_OK);
    id = idr->n;
    from = used;
    echo_big_range(c, r, from, from + n, "kill");
    used = from + n;
    RUN_UNTIL(&L, t.done > from + n / 4, 10000);
    char cmd[64], reply[64];
    snprintf(cmd, sizeof cmd, "CLIENT KILL ID %lld", (long long)id);
    ck_assert_int_eq(fixture_command(&s, cmd, reply, sizeof reply), 0);
    ck_assert_str_eq(reply, ":1");
    int killed_from = used;
    echo_range(c, r, killed_from, killed_from + after, "killed");
    used = killed_from + after;
    RUN_UNTIL(&L, t.done == used, 20000);
    ck_assert_msg(t.bad == 0, "%s", t.why);
    lost = own_reply_or_connection_error(r, from, killed_from);
    test_note("%s: CLIENT KILL with %d big ECHOs in flight: %d answered, %d connection errors\n",
              L.d->name, n, n - lost, lost);
    ck_assert_int_eq(own_reply_or_connection_error(r, killed_from, used), after);
    int downs = st.downs;
    ck_assert_int_ge(downs, 2);
    until_echo_works(&L, c, &t, r, &used, used + room);
    idr = &r[used++];
    ASSERT_OK(REDS_ASYNC(c, on_int, idr, reds_client_id(c, &idr->n)));
    RUN_UNTIL(&L, idr->calls == 1, 10000);
    ck_assert_int_eq(idr->err, REDS_OK);
    id2 = idr->n;
    ck_assert_int_ne(id2, id);

    reds_client_free(c);
    free(r);
    loop_close(&L);
    fixture_stop(&s);
}
END_TEST

/* A fake server of the test's own, on a raw socket: it takes the handle's
 * connection and its requests, answers the first, then resets the
 * connection (SO_LINGER 0). The reply and the reset reach the handle
 * together: the loop reports an error on the descriptor (POLLERR) while
 * a reply is still readable. */
typedef struct fake {
    int lfd, fd;
    size_t got, want;
} fake;

static bool fake_took_requests(fake *f)
{
    if (f->fd < 0)
        f->fd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK);
    if (f->fd < 0)
        return false;
    char buf[4096];
    ssize_t n;
    while ((n = recv(f->fd, buf, sizeof buf, 0)) > 0)
        f->got += (size_t)n;
    return f->got >= f->want;
}

START_TEST(reset_with_a_reply_buffered)
{
    tloop L;
    loop_open(&L, _i);
    fake f = {.fd = -1};
    f.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(f.lfd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    ck_assert_int_eq(bind(f.lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(f.lfd, 4), 0);
    ck_assert_int_eq(getsockname(f.lfd, (struct sockaddr *)&sa, &len), 0);

    reds_options o = {.host = "127.0.0.1", .port = ntohs(sa.sin_port)};
    reds_client *c = NULL;
    ASSERT_OK(reds_async_new(&o, &c));
    tally t = {0};
    req *r = reqs_new(&t, 3);
    for (int i = 0; i < 3; i++) {
        r[i].expect_len = (size_t)snprintf(r[i].expect, sizeof r[i].expect, "n%d", i);
        ASSERT_OK(REDS_ASYNC(c, on_echo, &r[i],
                             reds_echo(c, reds_strn(r[i].expect, r[i].expect_len), &r[i].s)));
        f.want += 22; /* *2\r\n$4\r\nECHO\r\n$2\r\nnX\r\n */
    }
    ASSERT_OK(L.d->attach(&L, c));
    RUN_UNTIL(&L, fake_took_requests(&f), 10000);
    ck_assert_uint_eq(f.got, f.want);
    const char reply[] = "$2\r\nn0\r\n";
    ck_assert_int_eq(send(f.fd, reply, sizeof reply - 1, MSG_NOSIGNAL), (ssize_t)sizeof reply - 1);
    struct linger lg = {1, 0};
    ck_assert_int_eq(setsockopt(f.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(f.fd);
    RUN_UNTIL(&L, t.done >= 1, 10000); /* the reply that came first */
    RUN_UNTIL(&L, t.done == 3, 10000); /* then the reset is seen */
    ck_assert_msg(t.bad == 0, "%s", t.why);
    ck_assert_msg(r[0].err == REDS_OK, "%s", r[0].errmsg);
    ck_assert_msg(reds_err_is(r[1].err, REDS_ERR_CONNECTION), "%s", reds_err_name(r[1].err));
    ck_assert_msg(reds_err_is(r[2].err, REDS_ERR_CONNECTION), "%s", reds_err_name(r[2].err));
    reds_client_free(c);
    close(f.lfd);
    free(r);
    loop_close(&L);
}
END_TEST

/* -------------------------------------------------------------- timeouts */

START_TEST(command_timeout_with_debug_sleep)
{
    tloop L;
    loop_open(&L, _i);
    int timeout = under_valgrind() ? 500 : 200;
    reds_options o = {.command_timeout_ms = timeout};
    reds_client *c = async_on(&L, 0, &o);
    tally t = {0};
    req *r = reqs_new(&t, 10);
    ASSERT_OK(echo(c, &r[0], "before"));
    RUN_UNTIL(&L, t.done == 1, 10000);
    ck_assert_int_eq(r[0].err, REDS_OK);

    reds_str argv[] = {S("DEBUG"), S("SLEEP"), under_valgrind() ? S("3") : S("1")};
    ASSERT_OK(REDS_ASYNC(c, on_raw, &r[1], reds_execute_command(c, 3, argv, &r[1].reply)));
    echo_range(c, r, 2, 6, "behind");
    RUN_UNTIL(&L, t.done == 6, 10000);
    ck_assert_msg(t.bad == 0, "%s", t.why);
    ck_assert_msg(r[1].err == REDS_ERR_TIMEOUT, "DEBUG SLEEP: %s: %s", reds_err_name(r[1].err),
                  r[1].errmsg);
    ck_assert_msg(strstr(r[1].errmsg, "Timeout"), "%s", r[1].errmsg);
    for (int i = 2; i < 6; i++)
        ck_assert_msg(r[i].err == REDS_ERR_CONNECTION, "behind %d: %s: %s", i,
                      reds_err_name(r[i].err), r[i].errmsg);
    /* The server sleeps on: wait for it (a blocking PING), then the handle
     * works again. */
    reds_client *b = test_client(NULL);
    ASSERT_OK(reds_ping(b, NULL, NULL));
    reds_client_free(b);
    int used = 6;
    until_echo_works(&L, c, &t, r, &used, 10);
    reds_client_free(c);
    free(r);
    loop_close(&L);
}
END_TEST

/* A stalled server: the command times out (command_timeout_ms, or else
 * socket_timeout_ms); a fresh connection works once the relay passes. */
START_TEST(stalled_server_times_out)
{
    tloop L;
    loop_open(&L, _i);
    relay *rl = relay_start(test_server.port);
    ck_assert_ptr_nonnull(rl);
    for (int variant = 0; variant < 2; variant++) {
        int ms = under_valgrind() ? 500 : 200;
        reds_options o = {0};
        if (variant == 0)
            o.command_timeout_ms = ms;
        else
            o.socket_timeout_ms = ms;
        reds_client *c = async_on(&L, relay_port(rl), &o);
        tally t = {0};
        req *r = reqs_new(&t, 10);
        ASSERT_OK(echo(c, &r[0], "ok"));
        RUN_UNTIL(&L, t.done == 1, 10000);
        ck_assert_int_eq(r[0].err, REDS_OK);
        relay_stall(rl);
        echo_range(c, r, 1, 4, "stalled");
        RUN_UNTIL(&L, t.done == 4, 10000);
        ck_assert_msg(t.bad == 0, "%s", t.why);
        ck_assert_msg(r[1].err == REDS_ERR_TIMEOUT, "variant %d: %s: %s", variant,
                      reds_err_name(r[1].err), r[1].errmsg);
        ck_assert_int_eq(r[2].err, REDS_ERR_CONNECTION);
        ck_assert_int_eq(r[3].err, REDS_ERR_CONNECTION);
        relay_pass(rl);
        int used = 4;
        until_echo_works(&L, c, &t, r, &used, 10);
        reds_client_free(c);
        free(r);
    }
    relay_stop(rl);
    loop_close(&L);
}
END_TEST

/* The completion of a command that timed out frees the handle: the
 * commands behind it are told inside that reds_client_free(), once. */
static void on_free_when_failed(reds_client *c, reds_err err, void *out, void *udata)
{
    req *r = udata;
    tally *t = r->t;
    on_echo(c, err, out, udata);
    if (r->idx == 1 && err != REDS_ERR_TIMEOUT)
        tally_bad(t, "the stalled command: %s", reds_err_name(err));
    if (r->idx > 1 && (err != REDS_ERR_CONNECTION || !t->in_call))
        tally_bad(t, "request %d: %s, %s the free", r->idx, reds_err_name(err),
                  t->in_call ? "inside" : "outside");
    if (err && t->client) {
        t->in_call = true;
        reds_client_free(c);
        t->client = NULL;
        t->in_call = false;
    }
}

START_TEST(free_inside_a_timeout_completion)
{
    tloop L;
    loop_open(&L, _i);
    relay *rl = relay_start(test_server.port);
    ck_assert_ptr_nonnull(rl);
    reds_options o = {.command_timeout_ms = under_valgrind() ? 500 : 200};
    tally t = {0};
    req *r = reqs_new(&t, 6);
    t.client = async_on(&L, relay_port(rl), &o);
    ASSERT_OK(echo(t.client, &r[0], "ok"));
    RUN_UNTIL(&L, t.done == 1, 10000);
    ck_assert_int_eq(r[0].err, REDS_OK);
    relay_stall(rl);
    for (int i = 1; i < 6; i++) {
        set_nonce(&r[i], "stalled");
        ASSERT_OK(
            REDS_ASYNC(t.client, on_free_when_failed, &r[i],
                       reds_echo(t.client, reds_strn(r[i].expect, r[i].expect_len), &r[i].s)));
    }
    RUN_UNTIL(&L, t.done == 6, 10000);
    ASSERT_TALLY(&t, 6);
    assert_once_each(r, 6);
    ck_assert_ptr_null(t.client);
    for (int k = 0; k < 3; k++)
        loop_once(&L);
    ck_assert_int_eq(t.done, 6);
    relay_stop(rl);
    free(r);
    loop_close(&L);
}
END_TEST

/* Queued commands learn of a connect that never completes: the TCP
 * connect (a listener whose backlog is full drops the SYN), or the
 * handshake (CLIENT SETNAME through a stalled relay). */
START_TEST(connect_and_handshake_timeouts)
{
    tloop L;
    loop_open(&L, _i);
    int ms = under_valgrind() ? 600 : 300;

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(lfd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(lfd, 0), 0);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    int fill[2];
    for (int k = 0; k < 2; k++) {
        fill[k] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        ck_assert_int_ge(fill[k], 0);
        connect(fill[k], (struct sockaddr *)&sa, sizeof sa);
        if (k == 0) { /* the one the backlog takes: wait until it is in */
            struct pollfd p = {fill[0], POLLOUT, 0};
            ck_assert_int_eq(poll(&p, 1, 5000), 1);
        }
    }
    for (int variant = 0; variant < 2; variant++) {
        relay *rl = NULL;
        reds_options o = {.connect_timeout_ms = ms};
        int port = ntohs(sa.sin_port);
        if (variant == 1) {
            rl = relay_start(test_server.port);
            ck_assert_ptr_nonnull(rl);
            relay_stall(rl);
            o.client_name = "reds-stalled";
            port = relay_port(rl);
        }
        reds_client *c = NULL;
        reds_options full = o;
        full.host = "127.0.0.1";
        full.port = port;
        ASSERT_OK(reds_async_new(&full, &c));
        tally t = {0};
        req *r = reqs_new(&t, 3);
        echo_range(c, r, 0, 3, "never");
        ASSERT_OK(L.d->attach(&L, c));
        RUN_UNTIL(&L, t.done == 3, 10000);
        ck_assert_msg(t.bad == 0, "%s", t.why);
        for (int i = 0; i < 3; i++) {
            ck_assert_msg(r[i].err == REDS_ERR_TIMEOUT, "variant %d, %d: %s: %s", variant, i,
                          reds_err_name(r[i].err), r[i].errmsg);
            ck_assert_msg(strstr(r[i].errmsg, "Timeout connecting"), "%s", r[i].errmsg);
        }
        ck_assert(!reds_async_connected(c));
        reds_client_free(c);
        free(r);
        relay_stop(rl);
    }
    close(fill[0]);
    close(fill[1]);
    close(lfd);
    loop_close(&L);
}
END_TEST

/* -------------------------------------------------------------- scripts */

static void on_script(reds_client *c, reds_err err, void *out, void *udata)
{
    (void)c;
    req *r = udata;
    record(r, err, out, &r->reply);
    const reds_reply *p = r->reply;
    char arg[32];
    snprintf(arg, sizeof arg, "arg-%d", r->idx);
    if (!err && !(p && p->type == REDS_REPLY_ARRAY && reds_reply_count(p) == 3 &&
                  reds_reply_at(p, 0)->type == REDS_REPLY_STRING &&
                  strcmp(reds_reply_at(p, 0)->str, "a:script") == 0 &&
                  reds_reply_at(p, 1)->type == REDS_REPLY_STRING &&
                  strcmp(reds_reply_at(p, 1)->str, arg) == 0 &&
                  reds_reply_at(p, 2)->type == REDS_REPLY_INTEGER &&
                  reds_reply_at(p, 2)->integer == r->want))
        tally_bad(r->t, "script call %d: wrong reply", r->idx);
    reds_free(r->reply);
    r->reply = NULL;
}

static reds_err call_script(reds_client *c, const reds_script *sc, req *r)
{
    char arg[32];
    snprintf(arg, sizeof arg, "arg-%d", r->idx);
    return REDS_ASYNC(
        c, on_script, r,
        reds_script_call(sc, c, STRS(S("a:script")), 1, STRS(reds_cstr(arg)), 1, &r->reply));
}

/* The number after "cmdstat_script|load:calls=" in INFO commandstats. */
static int64_t script_loads(reds_client *b)
{
    reds_reply *info = test_run(b, "INFO", "commandstats", NULL);
    const char *at = strstr(info->str, "cmdstat_script|load:calls=");
    int64_t n = at ? strtoll(at + strlen("cmdstat_script|load:calls="), NULL, 10) : 0;
    reds_free(info);
    return n;
}

/* Scripts on an async handle: loaded once per connection ahead of the
 * first EVALSHA, and again on a new connection (after SCRIPT FLUSH and
 * CLIENT KILL). */
START_TEST(scripts_on_the_loop)
{
    tloop L;
    loop_open(&L, _i);
    reds_client *b = test_client(NULL);
    reds_free(test_run(b, "SCRIPT", "FLUSH", NULL));
    reds_free(test_run(b, "CONFIG", "RESETSTAT", NULL));
    reds_script *sc = NULL;
    ASSERT_OK(
        reds_script_new(NULL, S("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}"), &sc));
    reds_client *c = async_on(&L, 0, NULL);
    int n = scaled(2000, 100), room = 50;
    tally t = {0};
    req *r = reqs_new(&t, n + room + 1);
    for (int i = 0; i < n; i++) {
        r[i].want = i + 1;
        ASSERT_OK(call_script(c, sc, &r[i]));
    }
    RUN_UNTIL(&L, t.done == n && reds_async_pending(c) == 0, 20000);
    ASSERT_TALLY(&t, n);
    assert_once_each(r, n);
    ck_assert_int_eq(script_loads(b), 1);

    /* Gone from the server and the connection replaced: loaded again. */
    req *idr = &r[n];
    t.next = n;
    ASSERT_OK(REDS_ASYNC(c, on_int, idr, reds_client_id(c, &idr->n)));
    RUN_UNTIL(&L, idr->calls == 1, 10000);
    reds_free(test_run(b, "SCRIPT", "FLUSH", NULL));
    test_kill_client(idr->n);
    for (int i = n + 1;; i++) {
        ck_assert_int_lt(i, n + room + 1);
        r[i].want = 1; /* a:script is deleted first */
        ASSERT_OK(reds_del(b, STRS(S("a:script")), 1, NULL));
        t.next = i;
        ASSERT_OK(call_script(c, sc, &r[i]));
        RUN_UNTIL(&L, r[i].calls == 1, 10000);
        if (r[i].err == REDS_OK)
            break;
        ck_assert_msg(reds_err_is(r[i].err, REDS_ERR_CONNECTION), "%s: %s", reds_err_name(r[i].err),
                      r[i].errmsg);
    }
    ck_assert_msg(t.bad == 0, "%s", t.why);
    ck_assert_int_eq(script_loads(b), 2);
    reds_client_free(c);
    reds_script_free(sc);
    reds_client_free(b);
    free(r);
    loop_close(&L);
}
END_TEST

/* --------------------------------------------------------------- limits */

static void on_big_get(reds_client *c, reds_err err, void *out, void *udata)
{
    (void)c;
    req *r = udata;
    record(r, err, out, &r->s);
    if (!err) {
        bool ok = r->s && r->s->len == (size_t)r->want;
        for (size_t k = 0; ok && k < r->s->len; k++)
            ok = r->s->ptr[k] == (char)('a' + k % 26);
        if (!ok)
            tally_bad(r->t, "big GET %d: wrong value", r->idx);
    }
    reds_free(r->s);
    r->s = NULL;
}

/* Values of megabytes come whole; a reply over max_reply_bytes fails
 * with REDS_ERR_REPLY_TOO_LARGE, the commands behind it with a connection
 * error (the connection is closed, as for a timeout), and the handle goes
 * on. */
START_TEST(big_replies_and_reply_caps)
{
    tloop L;
    loop_open(&L, _i);
    size_t big = 4u << 20;
    char *value = malloc(big);
    ck_assert_ptr_nonnull(value);
    for (size_t k = 0; k < big; k++)
        value[k] = (char)('a' + k % 26);
    reds_client *b = test_client(NULL);
    ASSERT_OK(reds_set(b, S("a:big"), reds_strn(value, big), NULL, NULL));
    free(value);

    reds_client *c = async_on(&L, 0, NULL);
    tally t = {0};
    req *r = reqs_new(&t, 16);
    for (int i = 0; i < 6; i += 2) {
        r[i].want = (int64_t)big;
        ASSERT_OK(REDS_ASYNC(c, on_big_get, &r[i], reds_get(c, S("a:big"), &r[i].s)));
        ASSERT_OK(echo(c, &r[i + 1], "between"));
    }
    RUN_UNTIL(&L, t.done == 6, 20000);
    ASSERT_TALLY(&t, 6);
    for (int i = 0; i < 6; i++)
        ck_assert_msg(r[i].err == REDS_OK, "%d: %s", i, r[i].errmsg);
    reds_client_free(c);

    reds_options o = {.max_reply_bytes = 64 * 1024};
    c = async_on(&L, 0, &o);
    ASSERT_OK(echo(c, &r[6], "small"));
    r[7].want = (int64_t)big;
    ASSERT_OK(REDS_ASYNC(c, on_big_get, &r[7], reds_get(c, S("a:big"), &r[7].s)));
    echo_range(c, r, 8, 11, "behind-the-big-one");
    RUN_UNTIL(&L, t.done == 11, 20000);
    ck_assert_msg(t.bad == 0, "%s", t.why);
    ck_assert_int_eq(r[6].err, REDS_OK);
    ck_assert_msg(r[7].err == REDS_ERR_REPLY_TOO_LARGE, "%s: %s", reds_err_name(r[7].err),
                  r[7].errmsg);
    /* Behind it: the error that closed the connection, as a pipeline's
     * commands get it (pipeline.c, fail_from), or a connection error, as
     * behind a timeout. (Doubtful: "ECHO: Reply ... too large" for a
     * small reply, and not a connection-class error.) */
    for (int i = 8; i < 11; i++)
        ck_assert_msg(r[i].err == REDS_ERR_REPLY_TOO_LARGE ||
                          reds_err_is(r[i].err, REDS_ERR_CONNECTION),
                      "behind the big reply, %d: %s: %s", i, reds_err_name(r[i].err), r[i].errmsg);
    int used = 11;
    until_echo_works(&L, c, &t, r, &used, 16);
    reds_client_free(c);
    free(r);
    reds_client_free(b);
    loop_close(&L);
}
END_TEST

/* ------------------------------------------------------------- teardown */

/* Request 10 frees (or disconnects) the handle from its completion; the
 * rest must be told then, inside that call, once each. */
static bool teardown_by_free;

static void on_teardown(reds_client *c, reds_err err, void *out, void *udata)
{
    req *r = udata;
    tally *t = r->t;
    on_echo(c, err, out, udata);
    if (r->idx < 10 && err)
        tally_bad(t, "request %d before the teardown: %s", r->idx, reds_errmsg());
    if (r->idx > 10) {
        if (err != REDS_ERR_CONNECTION)
            tally_bad(t, "request %d after the teardown: %s", r->idx, reds_err_name(err));
        if (!t->in_call)
            tally_bad(t, "request %d told outside the teardown call", r->idx);
    }
    if (r->idx == 10) {
        t->in_call = true;
        if (teardown_by_free) {
            reds_client_free(c);
            t->client = NULL;
        } else {
            reds_async_disconnect(c);
            if (reds_async_pending(c) != 0)
                tally_bad(t, "%zu pending after reds_async_disconnect", reds_async_pending(c));
        }
        t->in_call = false;
    }
}

static void on_never(reds_client *c, reds_err err, void *out, void *udata)
{
    (void)c;
    (void)err;
    (void)out;
    req *r = udata;
    r->calls++;
}

START_TEST(free_and_disconnect_inside_completions)
{
    tloop L;
    loop_open(&L, _i);
    int n = 200;
    for (int variant = 0; variant < 2; variant++) {
        teardown_by_free = variant == 0;
        tally t = {0};
        req *r = reqs_new(&t, n + 2);
        t.client = async_on(&L, 0, NULL);
        reds_client *c = t.client;
        for (int i = 0; i < n; i++) {
            set_nonce(&r[i], "teardown");
            ASSERT_OK(REDS_ASYNC(c, on_teardown, &r[i],
                                 reds_echo(c, reds_strn(r[i].expect, r[i].expect_len), &r[i].s)));
        }
        RUN_UNTIL(&L, t.done == n, 10000);
        ASSERT_TALLY(&t, n);
        assert_once_each(r, n);
        /* Nothing after: a few more iterations call nobody. */
        for (int k = 0; k < 5; k++)
            loop_once(&L);
        ck_assert_int_eq(t.done, n);
        assert_once_each(r, n);
        if (teardown_by_free) {
            ck_assert_ptr_null(t.client);
        } else {
            /* Disconnected: refused, completion never runs, until
             * reds_async_reconnect(). */
            ck_assert(!reds_async_connected(c));
            ASSERT_ERR(REDS_ASYNC(c, on_never, &r[n], reds_echo(c, S("x"), &r[n].s)),
                       REDS_ERR_CONNECTION);
            ck_assert_uint_eq(reds_async_pending(c), 0);
            ASSERT_OK(reds_async_reconnect(c));
            t.next = n + 1;
            ASSERT_OK(echo(c, &r[n + 1], "reconnected"));
            RUN_UNTIL(&L, r[n + 1].calls == 1, 10000);
            ck_assert_msg(r[n + 1].err == REDS_OK, "%s", r[n + 1].errmsg);
            ck_assert(reds_async_connected(c));
            ck_assert_int_eq(r[n].calls, 0);
            reds_client_free(c);
        }
        free(r);
    }

    /* Freed outside the loop with commands queued and in flight: each is
     * told inside reds_client_free(), once. */
    tally t = {0};
    req *r = reqs_new(&t, n);
    reds_client *c = async_on(&L, 0, NULL);
    echo_range(c, r, 0, n / 2, "sent");
    loop_once(&L);
    echo_range(c, r, n / 2, n, "queued");
    int before = t.done;
    reds_client_free(c);
    ck_assert_int_eq(t.done, n);
    ck_assert_msg(t.bad == 0, "%s", t.why);
    assert_once_each(r, n);
    for (int i = before; i < n; i++)
        ck_assert_msg(r[i].err == REDS_ERR_CONNECTION, "%d: %s", i, reds_err_name(r[i].err));
    for (int k = 0; k < 3; k++)
        loop_once(&L);
    ck_assert_int_eq(t.done, n);
    free(r);

    /* reds_async_disconnect() from outside, and reconnect. */
    memset(&t, 0, sizeof t);
    r = reqs_new(&t, 4);
    c = async_on(&L, 0, NULL);
    echo_range(c, r, 0, 2, "bye");
    reds_async_disconnect(c);
    ck_assert_int_eq(t.done, 2);
    ck_assert_int_eq(r[0].err, REDS_ERR_CONNECTION);
    ck_assert_msg(strstr(r[0].errmsg, "reds_async_disconnect"), "%s", r[0].errmsg);
    ASSERT_OK(reds_async_reconnect(c));
    echo_range(c, r, 2, 4, "back");
    RUN_UNTIL(&L, t.done == 4, 10000);
    ck_assert_int_eq(r[2].err, REDS_OK);
    ck_assert_int_eq(r[3].err, REDS_OK);
    reds_client_free(c);
    free(r);
    loop_close(&L);
}
END_TEST

/* ------------------------------------------------------------ handshake */

static void on_str(reds_client *c, reds_err err, void *out, void *udata)
{
    (void)c;
    req *r = udata;
    record(r, err, out, &r->s);
    if (err)
        return;
    if (!r->s || r->s->len != r->expect_len || memcmp(r->s->ptr, r->expect, r->expect_len))
        tally_bad(r->t, "request %d: \"%.*s\", expected \"%s\"", r->idx, r->s ? (int)r->s->len : 6,
                  r->s ? r->s->ptr : "(nil)", r->expect);
    reds_free(r->s);
    r->s = NULL;
}

static void on_bool(reds_client *c, reds_err err, void *out, void *udata)
{
    (void)c;
    req *r = udata;
    record(r, err, out, &r->b);
}

static void expect_text(req *r, const char *text)
{
    r->expect_len = (size_t)snprintf(r->expect, sizeof r->expect, "%s", text);
}

START_TEST(handshake_password_db_and_name)
{
    tloop L;
    loop_open(&L, _i);
    fixture_server s;
    const char *args[] = {"--requirepass", "s3cret-pw", NULL};
    ck_assert_int_eq(fixture_start(&s, args), 0);

    reds_options o = {.host = "127.0.0.1",
                      .port = s.port,
                      .password = "s3cret-pw",
                      .db = 3,
                      .client_name = "reds-async-test"};
    reds_client *c = NULL;
    ASSERT_OK(reds_async_new(&o, &c));
    tally t = {0};
    req *r = reqs_new(&t, 8);
    ASSERT_OK(REDS_ASYNC(c, on_bool, &r[0], reds_set(c, S("k"), S("in db 3"), NULL, &r[0].b)));
    expect_text(&r[1], "reds-async-test");
    ASSERT_OK(REDS_ASYNC(c, on_str, &r[1], reds_client_getname(c, &r[1].s)));
    expect_text(&r[2], "in db 3");
    ASSERT_OK(REDS_ASYNC(c, on_str, &r[2], reds_get(c, S("k"), &r[2].s)));
    ASSERT_OK(L.d->attach(&L, c));
    RUN_UNTIL(&L, t.done == 3, 10000);
    ASSERT_TALLY(&t, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(r[i].err == REDS_OK, "%d: %s", i, r[i].errmsg);
    ck_assert(r[0].b);
    ck_assert(reds_async_connected(c));
    reds_client_free(c);

    /* The key is in db 3 only. */
    reds_options bo = {.host = "127.0.0.1", .port = s.port, .password = "s3cret-pw", .db = 3};
    reds_client *b3 = NULL, *b0 = NULL;
    ASSERT_OK(reds_client_new(&bo, &b3));
    bo.db = 0;
    ASSERT_OK(reds_client_new(&bo, &b0));
    reds_str *v = NULL;
    ASSERT_OK(reds_get(b3, S("k"), &v));
    ASSERT_STR(v, "in db 3");
    reds_free(v);
    v = (reds_str *)&v;
    ASSERT_OK(reds_get(b0, S("k"), &v));
    ck_assert_ptr_null(v);

    /* An ACL user. */
    reds_free(
        test_run(b0, "ACL", "SETUSER", "alice", "on", ">alice-pw", "~*", "&*", "+@all", NULL));
    o = (reds_options){.username = "alice", .password = "alice-pw", .client_name = "as-alice"};
    c = async_on(&L, s.port, &o);
    memset(&t, 0, sizeof t);
    memset(r, 0, 8 * sizeof *r);
    for (int i = 0; i < 8; i++) {
        r[i].t = &t;
        r[i].idx = i;
    }
    reds_str whoami[] = {S("ACL"), S("WHOAMI")};
    expect_text(&r[0], "alice");
    ASSERT_OK(REDS_ASYNC(c, on_raw, &r[0], reds_execute_command(c, 2, whoami, &r[0].reply)));
    expect_text(&r[1], "as-alice");
    ASSERT_OK(REDS_ASYNC(c, on_str, &r[1], reds_client_getname(c, &r[1].s)));
    RUN_UNTIL(&L, t.done == 2, 10000);
    ASSERT_TALLY(&t, 2);
    ck_assert_msg(r[0].err == REDS_OK && r[1].err == REDS_OK, "%s %s", r[0].errmsg, r[1].errmsg);
    reds_client_free(c);

    /* A wrong password: every queued command is told AUTH, without the
     * password in its message. */
    o = (reds_options){
        .password = "wrong-pw-123", .retry_backoff_base_ms = 5, .retry_backoff_cap_ms = 20};
    c = async_on(&L, s.port, &o);
    slog st = {0};
    reds_async_on_status(c, on_status, &st);
    memset(&t, 0, sizeof t);
    for (int i = 0; i < 8; i++)
        r[i] = (req){.t = &t, .idx = i};
    echo_range(c, r, 0, 5, "noauth");
    RUN_UNTIL(&L, t.done == 5, 10000);
    ck_assert_msg(t.bad == 0, "%s", t.why);
    for (int i = 0; i < 5; i++) {
        ck_assert_msg(r[i].err == REDS_ERR_AUTH, "%d: %s: %s", i, reds_err_name(r[i].err),
                      r[i].errmsg);
        ck_assert_ptr_null(strstr(r[i].errmsg, "wrong-pw-123"));
    }
    ck_assert(!reds_async_connected(c));
    ck_assert_int_ge(st.downs, 1);
    ck_assert_int_eq(st.last_down, REDS_ERR_AUTH);
    if (st.ups)
        test_note("%s: wrong password: on_status reported %d ups (before AUTH was answered)\n",
                  L.d->name, st.ups);
    reds_client_free(c);

    reds_client_free(b3);
    reds_client_free(b0);
    free(r);
    loop_close(&L);
    fixture_stop(&s);
}
END_TEST

/* ------------------------------------------------------------------ api */

static reds_err times_100(const reds_reply *reply, void *out, void *udata)
{
    int *calls = udata;
    (*calls)++;
    if (reply->type != REDS_REPLY_INTEGER)
        return reds_set_error(REDS_ERR_INVALID_RESPONSE, "not an integer");
    *(int64_t *)out = reply->integer * 100;
    return REDS_OK;
}

static void nop_watch(void *data, int fd, int events)
{
    (void)data;
    (void)fd;
    (void)events;
}

static void nop_timer(void *data, long ms)
{
    (void)data;
    (void)ms;
}

START_TEST(urls_callbacks_and_bad_input)
{
    tloop L;
    loop_open(&L, _i);
    reds_client *b = test_client(NULL);
    tally t = {0};
    req *r = reqs_new(&t, 32);

    /* From a URL: db and client name. */
    char url[128];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/2?client_name=from-url", test_server.port);
    reds_client *c = NULL;
    ASSERT_OK(reds_async_from_url(url, NULL, &c));
    ck_assert(reds_async_is(c));
    ASSERT_OK(L.d->attach(&L, c));
    ASSERT_OK(REDS_ASYNC(c, on_bool, &r[0], reds_set(c, S("u"), S("db2"), NULL, &r[0].b)));
    expect_text(&r[1], "from-url");
    ASSERT_OK(REDS_ASYNC(c, on_str, &r[1], reds_client_getname(c, &r[1].s)));
    RUN_UNTIL(&L, t.done == 2, 10000);
    ASSERT_TALLY(&t, 2);
    ck_assert(r[0].err == REDS_OK && r[0].b && r[1].err == REDS_OK);
    reds_client_free(c);
    {
        reds_options o2 = {.db = 2};
        reds_client *b2 = test_client(&o2);
        reds_str *v = NULL;
        ASSERT_OK(reds_get(b2, S("u"), &v));
        ASSERT_STR(v, "db2");
        reds_free(v);
        reds_client_free(b2);
    }
    c = (reds_client *)&c;
    ASSERT_ERR(reds_async_from_url("redis://127.0.0.1:notaport", NULL, &c), REDS_ERR_DATA);
    ck_assert_ptr_null(c);
    ASSERT_ERR(reds_async_from_url(url, NULL, NULL), REDS_ERR_DATA);

    /* A response callback on an async handle serves typed calls and
     * reds_execute_command(). */
    c = async_on(&L, 0, NULL);
    int cb_calls = 0;
    ASSERT_OK(reds_set_response_callback(c, "INCR", times_100, &cb_calls));
    t = (tally){.next = 2};
    for (int i = 2; i < 5; i++)
        r[i] = (req){.t = &t, .idx = i};
    ASSERT_OK(REDS_ASYNC(c, on_int, &r[2], reds_incr(c, S("cb"), &r[2].n)));
    ASSERT_OK(REDS_ASYNC(c, on_int, &r[3], reds_incr(c, S("cb"), &r[3].n)));
    reds_str incr[] = {S("INCR"), S("cb")};
    ASSERT_OK(REDS_ASYNC(c, on_int, &r[4], reds_execute_command(c, 2, incr, &r[4].n)));
    RUN_UNTIL(&L, t.done == 3, 10000);
    ck_assert_msg(t.bad == 0, "%s", t.why);
    ck_assert_int_eq(r[2].n, 100);
    ck_assert_int_eq(r[3].n, 200);
    ck_assert_int_eq(r[4].n, 300);
    ck_assert_int_eq(cb_calls, 3);
    ASSERT_OK(reds_set_response_callback(c, "INCR", NULL, NULL));
    r[5] = (req){.t = &t, .idx = 5};
    ASSERT_OK(REDS_ASYNC(c, on_int, &r[5], reds_incr(c, S("cb"), &r[5].n)));
    RUN_UNTIL(&L, t.done == 4, 10000);
    ck_assert_int_eq(r[5].n, 4);
    ck_assert_int_eq(cb_calls, 3);

    /* No completion: the reply is dropped. The call zeroes `out`, as every
     * command function does first (the header says so); nothing writes it
     * once the call has returned (the caller's memory may be gone by then). */
    int64_t untouched = 777;
    reds_str sentinel = S("sentinel"), *sp = &sentinel;
    ASSERT_OK(reds_incr(c, S("plain"), &untouched));
    ASSERT_OK(reds_get(c, S("cb"), &sp));
    ck_assert_int_eq(untouched, 0); /* zeroed by the call, see above */
    ck_assert_ptr_null(sp);
    untouched = 777;
    sp = &sentinel;
    r[6] = (req){.t = &t, .idx = 6};
    ASSERT_OK(echo(c, &r[6], "after-plain"));
    t.next = 6;
    RUN_UNTIL(&L, t.done == 5 && reds_async_pending(c) == 0, 10000);
    ck_assert_msg(t.bad == 0, "%s", t.why);
    ck_assert_int_eq(untouched, 777);
    ck_assert_ptr_eq(sp, &sentinel);
    {
        reds_str *v = NULL;
        ASSERT_OK(reds_get(b, S("plain"), &v));
        ASSERT_STR(v, "1");
        reds_free(v);
    }

    /* A call refused before anything is queued never runs its
     * completion, and takes it: the next call has none. */
    r[7] = (req){.t = &t, .idx = 7};
    /* Bad input. */
    reds_async_loop bad = {NULL, nop_watch, NULL, NULL};
    reds_async_loop ok = {NULL, nop_watch, nop_timer, NULL};
    ASSERT_ERR(reds_async_attach(NULL, &ok), REDS_ERR_DATA);
    ASSERT_ERR(reds_async_attach(b, &ok), REDS_ERR_DATA);
    ASSERT_ERR(reds_async_attach(c, &bad), REDS_ERR_DATA);
    ASSERT_ERR(reds_async_new(NULL, NULL), REDS_ERR_DATA);
    reds_options badport = {.port = 70000};
    reds_client *nc = (reds_client *)&nc;
    ASSERT_ERR(reds_async_new(&badport, &nc), REDS_ERR_DATA);
    ck_assert_ptr_null(nc);
    ck_assert(!reds_async_is(NULL));
    ck_assert(!reds_async_is(b));
    ck_assert_uint_eq(reds_async_pending(NULL), 0);
    ck_assert_uint_eq(reds_async_pending(b), 0);
    ck_assert(!reds_async_connected(NULL));
    ck_assert(!reds_async_connected(b));
    reds_async_then(NULL, on_never, NULL);
    reds_async_then(b, on_never, &r[7]);
    reds_async_disconnect(NULL);
    reds_async_disconnect(b);
    ASSERT_ERR(reds_async_reconnect(NULL), REDS_ERR_DATA);
    ASSERT_ERR(reds_async_reconnect(b), REDS_ERR_DATA);
    reds_async_handle_events(NULL, REDS_ASYNC_READ);
    reds_async_handle_events(b, REDS_ASYNC_READ);
    reds_async_handle_timer(NULL);
    reds_async_handle_timer(b);
    reds_async_on_status(NULL, on_status, NULL);
    reds_async_on_notice(NULL, NULL, NULL);
    ASSERT_ERR(reds_async_subscribe(NULL, STRS(S("x")), 1, NULL, NULL), REDS_ERR_DATA);
    ASSERT_ERR(reds_async_subscribe(b, STRS(S("x")), 1, NULL, NULL), REDS_ERR_DATA);
    ASSERT_ERR(reds_async_subscribe(c, STRS(S("x")), 0, NULL, NULL), REDS_ERR_DATA);
    ASSERT_ERR(reds_async_subscribe(c, NULL, 1, NULL, NULL), REDS_ERR_DATA);
    ASSERT_ERR(reds_async_unsubscribe(NULL, NULL, 0), REDS_ERR_DATA);
    ASSERT_ERR(reds_poll_new(NULL), REDS_ERR_DATA);
    reds_poll *p = NULL;
    ASSERT_OK(reds_poll_new(&p));
    ASSERT_ERR(reds_poll_attach(NULL, c), REDS_ERR_DATA);
    ASSERT_ERR(reds_poll_attach(p, b), REDS_ERR_DATA);
    ASSERT_ERR(reds_poll_attach(p, NULL), REDS_ERR_DATA);
    ck_assert_uint_eq(reds_poll_run(NULL, 0), 0);
    ck_assert_uint_eq(reds_poll_run(p, 0), 0);
    reds_poll_free(p);
    reds_poll_free(NULL);
    /* A blocking client was never touched by any of it. */
    ASSERT_OK(reds_ping(b, NULL, NULL));
    ck_assert_int_eq(r[7].calls, 0);

    /* A disconnected handle refuses commands (completion never runs),
     * even before it was ever attached. */
    reds_client *d = NULL;
    ASSERT_OK(reds_async_new(NULL, &d));
    reds_async_disconnect(d);
    ASSERT_ERR(REDS_ASYNC(d, on_never, &r[7], reds_ping(d, NULL, NULL)), REDS_ERR_CONNECTION);
    ck_assert_uint_eq(reds_async_pending(d), 0);
    reds_client_free(d);
    ck_assert_int_eq(r[7].calls, 0);

    reds_client_free(c);
    reds_client_free(b);
    free(r);
    loop_close(&L);
}
END_TEST

/* A call that returns an error queued nothing: its completion never
 * runs, and the next call does not inherit it (async.h: "A call that
 * returns an error queued nothing and its completion never runs"). */
START_TEST(refused_calls_never_complete)
{
    tloop L;
    loop_open(&L, _i);
    reds_client *c = async_on(&L, 0, NULL);
    tally t = {.next = 1};
    req *r = reqs_new(&t, 4);
    /* Refused by the handle (a command with an API of its own). */
    reds_str sub[] = {S("SUBSCRIBE"), S("x")};
    ASSERT_ERR(REDS_ASYNC(c, on_never, &r[0], reds_execute_command(c, 2, sub, &r[0].reply)),
               REDS_ERR_DATA);
    ASSERT_OK(reds_ping(c, NULL, NULL)); /* no completion of its own */
    ASSERT_OK(echo(c, &r[1], "after-refused-subscribe"));
    RUN_UNTIL(&L, t.done == 1 && reds_async_pending(c) == 0, 10000);
    ck_assert_msg(t.bad == 0, "%s", t.why);
    ck_assert_msg(r[0].calls == 0, "a refused call's completion ran %d times", r[0].calls);
    /* Refused by the generated wrapper before it reaches the handle (a
     * NULL argument with a length). */
    ASSERT_ERR(REDS_ASYNC(c, on_never, &r[0], reds_echo(c, reds_strn(NULL, 3), &r[0].s)),
               REDS_ERR_DATA);
    ASSERT_OK(reds_ping(c, NULL, NULL));
    ASSERT_OK(echo(c, &r[2], "after-refused-echo"));
    RUN_UNTIL(&L, t.done == 2 && reds_async_pending(c) == 0, 10000);
    ck_assert_msg(t.bad == 0, "%s", t.why);
    ck_assert_msg(r[0].calls == 0,
                  "the completion of a call refused by its wrapper ran %d times (the next "
                  "call took it)",
                  r[0].calls);
    /* Refused by the wrapper's option checks (two expiries). */
    reds_set_opts both = {.ex = REDS_I64(10), .px = REDS_I64(10)};
    ASSERT_ERR(REDS_ASYNC(c, on_never, &r[0], reds_set(c, S("k"), S("v"), &both, &r[0].b)),
               REDS_ERR_DATA);
    ASSERT_OK(reds_ping(c, NULL, NULL));
    RUN_UNTIL(&L, reds_async_pending(c) == 0, 10000);
    ck_assert_msg(r[0].calls == 0, "a call refused for its options had its completion run");
    /* The completion belongs to the next command called on the handle,
     * whatever failed elsewhere on this thread in between (here: an
     * error reply to a blocking client): that command returns REDS_OK,
     * so its completion runs once. */
    reds_client *b = test_client(NULL);
    ASSERT_OK(reds_set(b, S("a:text"), S("not a number"), NULL, NULL));
    reds_async_then(c, on_echo, &r[3]);
    ASSERT_ERR(reds_incr(b, S("a:text"), NULL), REDS_ERR_RESPONSE);
    set_nonce(&r[3], "after-another-error");
    ASSERT_OK(reds_echo(c, reds_strn(r[3].expect, r[3].expect_len), &r[3].s));
    RUN_UNTIL(&L, reds_async_pending(c) == 0, 10000);
    ck_assert_msg(r[3].calls == 1,
                  "a call that returned REDS_OK had its completion run %d times (an error on "
                  "another client came between reds_async_then and the call)",
                  r[3].calls);
    ck_assert_msg(t.bad == 0, "%s", t.why);
    reds_client_free(b);
    reds_client_free(c);
    free(r);
    loop_close(&L);
}
END_TEST

/* Attached to a second loop, the handle is driven by it; detached
 * (NULL), it keeps its connection; attached again, it goes on. */
START_TEST(attach_again_and_detach)
{
    tloop L, M;
    loop_open(&L, _i);
    loop_open(&M, _i);
    tally t = {0};
    req *r = reqs_new(&t, 4);
    reds_client *c = async_on(&L, 0, NULL);
    ASSERT_OK(echo(c, &r[0], "on-L"));
    RUN_UNTIL(&L, t.done == 1, 10000);
    ASSERT_OK(M.d->attach(&M, c));
    ASSERT_OK(echo(c, &r[1], "on-M"));
    RUN_UNTIL(&M, t.done == 2, 10000);
    ASSERT_OK(reds_async_attach(c, NULL));
    ck_assert(reds_async_connected(c)); /* the connection stays */
    ASSERT_OK(echo(c, &r[2], "detached"));
    ck_assert_uint_eq(reds_async_pending(c), 1);
    ASSERT_OK(L.d->attach(&L, c));
    ASSERT_OK(echo(c, &r[3], "on-L-again"));
    RUN_UNTIL(&L, t.done == 4, 10000);
    ASSERT_TALLY(&t, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(r[i].err == REDS_OK, "%d: %s", i, r[i].errmsg);
    reds_client_free(c);
    free(r);
    loop_close(&M);
    loop_close(&L);
}
END_TEST

/* --------------------------------------------------------------- pub/sub */

typedef struct seen_msg {
    reds_pubsub_kind kind;
    char channel[64], pattern[64], data[64];
    size_t data_len;
    int64_t count;
} seen_msg;

typedef struct plog {
    seen_msg m[256];
    int n, messages, notices, confirms, unsubs, reconnected, bad;
} plog;

static void keep(plog *p, const reds_pubsub_message *m)
{
    if (p->n == (int)(sizeof p->m / sizeof p->m[0])) {
        p->bad++;
        return;
    }
    seen_msg *s = &p->m[p->n++];
    s->kind = m->kind;
    snprintf(s->channel, sizeof s->channel, "%.*s", (int)m->channel.len,
             m->channel.ptr ? m->channel.ptr : "");
    snprintf(s->pattern, sizeof s->pattern, "%.*s", (int)m->pattern.len,
             m->pattern.ptr ? m->pattern.ptr : "");
    s->data_len = m->data.len < sizeof s->data ? m->data.len : sizeof s->data;
    if (m->data.ptr)
        memcpy(s->data, m->data.ptr, s->data_len);
    s->count = m->count;
}

static plog the_log;
static int other_udata;

static void on_message(reds_client *c, const reds_pubsub_message *m, void *udata)
{
    (void)c;
    plog *p = udata;
    if (p != &the_log)
        other_udata++;
    keep(p, m);
    p->messages++;
}

static void on_notice(reds_client *c, const reds_pubsub_message *m, void *udata)
{
    (void)c;
    plog *p = udata;
    keep(p, m);
    p->notices++;
    switch (m->kind) {
    case REDS_PUBSUB_SUBSCRIBE:
    case REDS_PUBSUB_PSUBSCRIBE:
    case REDS_PUBSUB_SSUBSCRIBE:
        p->confirms++;
        break;
    case REDS_PUBSUB_UNSUBSCRIBE:
    case REDS_PUBSUB_PUNSUBSCRIBE:
    case REDS_PUBSUB_SUNSUBSCRIBE:
        p->unsubs++;
        break;
    case REDS_PUBSUB_RECONNECTED:
        p->reconnected++;
        break;
    default:
        p->bad++;
    }
}

static const seen_msg *last_seen(reds_pubsub_kind kind)
{
    for (int i = the_log.n - 1; i >= 0; i--)
        if (the_log.m[i].kind == kind)
            return &the_log.m[i];
    return NULL;
}

static void publish(reds_client *b, bool shard, const char *ch, reds_str data, int64_t receivers)
{
    int64_t got = -1;
    ASSERT_OK(shard ? reds_spublish(b, reds_cstr(ch), data, &got)
                    : reds_publish(b, reds_cstr(ch), data, &got));
    ck_assert_msg(got == receivers, "PUBLISH %s reached %lld, expected %lld", ch, (long long)got,
                  (long long)receivers);
}

static int64_t pubsub_client_id(reds_client *b)
{
    reds_reply *list = test_run(b, "CLIENT", "LIST", "TYPE", "pubsub", NULL);
    ck_assert_int_eq(list->type, REDS_REPLY_STRING);
    ck_assert_msg(strncmp(list->str, "id=", 3) == 0, "%s", list->str);
    ck_assert_msg(strchr(list->str, '\n') == list->str + list->len - 1, "more than one: %s",
                  list->str);
    int64_t id = strtoll(list->str + 3, NULL, 10);
    reds_free(list);
    return id;
}

/* Unsubscribes from the channel of the message it got. */
static void on_leave(reds_client *c, const reds_pubsub_message *m, void *udata)
{
    on_message(c, m, udata);
    if (reds_async_unsubscribe(c, &m->channel, 1) != REDS_OK)
        the_log.bad++;
}

/* Frees the handle; `udata` is the test's pointer to it. */
static void on_bye(reds_client *c, const reds_pubsub_message *m, void *udata)
{
    reds_client **h = udata;
    if (*h != c || !str_eq(m->data, "free it"))
        the_log.bad++;
    reds_client_free(c);
    *h = NULL;
}

START_TEST(pubsub_on_the_loop)
{
    tloop L;
    loop_open(&L, _i);
    memset(&the_log, 0, sizeof the_log);
    other_udata = 0;
    reds_client *b = test_client(NULL);
    reds_options o = {.retry_backoff_base_ms = 5, .retry_backoff_cap_ms = 50};
    reds_client *sub = async_on(&L, 0, &o);
    slog st = {0};
    reds_async_on_status(sub, on_status, &st);
    reds_async_on_notice(sub, on_notice, &the_log);
    /* Not while commands are in flight. */
    tally t0 = {0};
    req *r0 = reqs_new(&t0, 1);
    ASSERT_OK(echo(sub, &r0[0], "before-subscribing"));
    ASSERT_ERR(reds_async_subscribe(sub, STRS(S("ch1")), 1, on_message, &the_log), REDS_ERR_PUBSUB);
    RUN_UNTIL(&L, t0.done == 1, 10000);
    ck_assert_int_eq(r0[0].err, REDS_OK);
    free(r0);
    ASSERT_OK(reds_async_subscribe(sub, STRS(S("ch1"), S("ch2")), 2, on_message, &the_log));
    ASSERT_OK(reds_async_psubscribe(sub, STRS(S("pat.*")), 1, on_message, &the_log));
    ASSERT_OK(reds_async_ssubscribe(sub, STRS(S("sh1")), 1, on_message, &the_log));
    RUN_UNTIL(&L, the_log.confirms == 4, 10000);
    ck_assert_int_eq(the_log.bad, 0);
    ck_assert_int_eq(last_seen(REDS_PUBSUB_SUBSCRIBE)->count, 2);
    ck_assert_int_eq(last_seen(REDS_PUBSUB_PSUBSCRIBE)->count, 3);
    ck_assert_int_eq(last_seen(REDS_PUBSUB_SSUBSCRIBE)->count, 1);
    ck_assert_str_eq(last_seen(REDS_PUBSUB_SSUBSCRIBE)->channel, "sh1");

    /* A subscribed handle takes no other command. */
    tally t = {0};
    req *r = reqs_new(&t, 2);
    ASSERT_ERR(REDS_ASYNC(sub, on_never, &r[0], reds_ping(sub, NULL, &r[0].s)), REDS_ERR_PUBSUB);
    reds_str ping[] = {S("PING")};
    ASSERT_ERR(REDS_ASYNC(sub, on_never, &r[0], reds_execute_command(sub, 1, ping, &r[0].reply)),
               REDS_ERR_PUBSUB);

    /* Messages from another client, byte for byte. */
    publish(b, false, "ch1", S("hello\0world"), 1);
    publish(b, false, "pat.x", S("by pattern"), 1);
    publish(b, true, "sh1", S("sharded"), 1);
    RUN_UNTIL(&L, the_log.messages == 3, 10000);
    const seen_msg *m = last_seen(REDS_PUBSUB_MESSAGE);
    ck_assert_str_eq(m->channel, "ch1");
    ck_assert_uint_eq(m->data_len, 11);
    ck_assert(memcmp(m->data, "hello\0world", 11) == 0);
    m = last_seen(REDS_PUBSUB_PMESSAGE);
    ck_assert_str_eq(m->pattern, "pat.*");
    ck_assert_str_eq(m->channel, "pat.x");
    ck_assert(m->data_len == 10 && memcmp(m->data, "by pattern", 10) == 0);
    m = last_seen(REDS_PUBSUB_SMESSAGE);
    ck_assert_str_eq(m->channel, "sh1");
    ck_assert(m->data_len == 7 && memcmp(m->data, "sharded", 7) == 0);
    ck_assert_int_eq(other_udata, 0);

    /* Unsubscribed from ch2: nobody hears it. */
    ASSERT_OK(reds_async_unsubscribe(sub, STRS(S("ch2")), 1));
    RUN_UNTIL(&L, the_log.unsubs == 1, 10000);
    ck_assert_str_eq(last_seen(REDS_PUBSUB_UNSUBSCRIBE)->channel, "ch2");
    publish(b, false, "ch2", S("nobody"), 0);

    /* CLIENT KILL TYPE pubsub, then by id: reconnected, resubscribed, a
     * RECONNECTED notice, and messages again. */
    for (int round = 0; round < 2; round++) {
        int confirms = the_log.confirms, messages = the_log.messages, downs = st.downs;
        if (round == 0) {
            int64_t killed = 0;
            reds_client_kill_filter f = {.type = REDS_CLIENT_KILL_TYPE_PUBSUB};
            ASSERT_OK(reds_client_kill(b, &f, 1, &killed));
            ck_assert_int_eq(killed, 1);
        } else {
            test_kill_client(pubsub_client_id(b));
        }
        RUN_UNTIL(&L, the_log.reconnected == round + 1 && the_log.confirms == confirms + 3, 10000);
        m = last_seen(REDS_PUBSUB_RECONNECTED);
        ck_assert_int_eq(m->count, 3);
        ck_assert_uint_gt(m->data_len, 0);
        ck_assert_int_eq(st.downs, downs + 1);
        publish(b, false, "ch1", S("after kill"), 1);
        publish(b, false, "pat.y", S("pattern after kill"), 1);
        publish(b, true, "sh1", S("shard after kill"), 1);
        publish(b, false, "ch2", S("still nobody"), 0);
        RUN_UNTIL(&L, the_log.messages == messages + 3, 10000);
        m = last_seen(REDS_PUBSUB_MESSAGE);
        ck_assert(m->data_len == 10 && memcmp(m->data, "after kill", 10) == 0);
    }
    ck_assert_int_eq(the_log.bad, 0);

    /* A handler unsubscribes from its own channel. */
    int unsubs0 = the_log.unsubs, messages0 = the_log.messages;
    int confirms1 = the_log.confirms;
    ASSERT_OK(reds_async_subscribe(sub, STRS(S("leaving")), 1, on_leave, &the_log));
    RUN_UNTIL(&L, the_log.confirms == confirms1 + 1, 10000);
    ck_assert_str_eq(last_seen(REDS_PUBSUB_SUBSCRIBE)->channel, "leaving");
    publish(b, false, "leaving", S("leave now"), 1);
    RUN_UNTIL(&L, the_log.unsubs == unsubs0 + 1, 10000);
    ck_assert_int_eq(the_log.messages, messages0 + 1);
    ck_assert_str_eq(last_seen(REDS_PUBSUB_UNSUBSCRIBE)->channel, "leaving");
    publish(b, false, "leaving", S("too late"), 0);

    /* Unsubscribe everything: nothing reaches the handle, which stays a
     * pub/sub handle. */
    int unsubs = the_log.unsubs;
    ASSERT_OK(reds_async_unsubscribe(sub, NULL, 0));
    ASSERT_OK(reds_async_punsubscribe(sub, NULL, 0));
    ASSERT_OK(reds_async_sunsubscribe(sub, NULL, 0));
    RUN_UNTIL(&L, the_log.unsubs == unsubs + 3, 10000);
    publish(b, false, "ch1", S("gone"), 0);
    publish(b, false, "pat.z", S("gone"), 0);
    publish(b, true, "sh1", S("gone"), 0);
    ASSERT_ERR(REDS_ASYNC(sub, on_never, &r[0], reds_ping(sub, NULL, &r[0].s)), REDS_ERR_PUBSUB);
    ck_assert_int_eq(r[0].calls, 0);

    /* A handler frees the handle. */
    ASSERT_OK(reds_async_subscribe(sub, STRS(S("bye")), 1, on_bye, &sub));
    int confirms = the_log.confirms;
    RUN_UNTIL(&L, the_log.confirms == confirms + 1, 10000);
    publish(b, false, "bye", S("free it"), 1);
    RUN_UNTIL(&L, sub == NULL, 10000);
    for (int k = 0; k < 3; k++)
        loop_once(&L);
    reds_client_free(b);
    free(r);
    loop_close(&L);
}
END_TEST

/* The server restarts under a subscribed handle; what is (un)subscribed
 * while it is down is what the handle restores. */
START_TEST(pubsub_across_a_server_restart)
{
    tloop L;
    loop_open(&L, _i);
    memset(&the_log, 0, sizeof the_log);
    fixture_server srv;
    ck_assert_int_eq(fixture_start(&srv, NULL), 0);
    reds_options o = {.retry_backoff_base_ms = 5, .retry_backoff_cap_ms = 50};
    reds_client *sub = async_on(&L, srv.port, &o);
    slog st = {0};
    reds_async_on_status(sub, on_status, &st);
    reds_async_on_notice(sub, on_notice, &the_log);
    ASSERT_OK(reds_async_subscribe(sub, STRS(S("ch1"), S("ch2")), 2, on_message, &the_log));
    ASSERT_OK(reds_async_psubscribe(sub, STRS(S("pat.*")), 1, on_message, &the_log));
    RUN_UNTIL(&L, the_log.confirms == 3, 10000);

    fixture_kill(&srv);
    RUN_UNTIL(&L, st.downs >= 2, 10000); /* the drop, and a refused reconnect */
    ASSERT_OK(reds_async_unsubscribe(sub, STRS(S("ch2")), 1));
    ASSERT_OK(reds_async_subscribe(sub, STRS(S("ch3")), 1, on_message, &the_log));
    ck_assert_int_eq(fixture_restart(&srv, NULL), 0);
    RUN_UNTIL(&L, the_log.reconnected == 1 && the_log.confirms == 6, 10000);
    const seen_msg *m = last_seen(REDS_PUBSUB_RECONNECTED);
    ck_assert_int_eq(m->count, 3); /* ch1, ch3, pat.* */
    reds_options bo = {.host = "127.0.0.1", .port = srv.port};
    reds_client *b = NULL;
    ASSERT_OK(reds_client_new(&bo, &b));
    publish(b, false, "ch2", S("unsubscribed while down"), 0);
    publish(b, false, "ch1", S("one"), 1);
    publish(b, false, "ch3", S("three"), 1);
    publish(b, false, "pat.q", S("pattern"), 1);
    RUN_UNTIL(&L, the_log.messages == 3, 10000);
    ck_assert_int_eq(the_log.bad, 0);
    reds_client_free(sub);
    reds_client_free(b);
    loop_close(&L);
    fixture_stop(&srv);
}
END_TEST

/* ------------------------------------------------------------------ TLS */

static char tls_dir[128], tls_ca[192];
static fixture_server tls_server;
static int tls_port;
static bool tls_ready;

static const char certs_script[] =
    "set -e\n"
    "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$1\"; }\n"
    "key ca.key\n"
    "openssl req -x509 -new -key ca.key -subj '/CN=reds async test CA' -days 2 -out ca.crt \\\n"
    "  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign\n"
    "key server.key\n"
    "openssl req -new -key server.key -subj '/CN=localhost' -out server.csr\n"
    "printf 'basicConstraints=CA:FALSE\\nkeyUsage=critical,digitalSignature\\n"
    "extendedKeyUsage=serverAuth\\nsubjectAltName=DNS:localhost,IP:127.0.0.1\\n' > server.ext\n"
    "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \\\n"
    "  -out server.crt -extfile server.ext\n";

static void tls_setup(void)
{
    snprintf(tls_dir, sizeof tls_dir, "/tmp/reds-atls-XXXXXX");
    if (!mkdtemp(tls_dir))
        return;
    char path[256], cmd[512], crt[192], key[192];
    snprintf(path, sizeof path, "%s/certs.sh", tls_dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fputs(certs_script, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd %s && sh certs.sh > openssl.log 2>&1", tls_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "check_async: making certificates failed, see %s/openssl.log\n", tls_dir);
        return;
    }
    snprintf(tls_ca, sizeof tls_ca, "%s/ca.crt", tls_dir);
    snprintf(crt, sizeof crt, "%s/server.crt", tls_dir);
    snprintf(key, sizeof key, "%s/server.key", tls_dir);
    for (int attempt = 0; attempt < 5 && !tls_ready; attempt++) {
        char p[16];
        tls_port = fixture_free_port();
        snprintf(p, sizeof p, "%d", tls_port);
        const char *args[] = {"--tls-port",
                              p,
                              "--tls-cert-file",
                              crt,
                              "--tls-key-file",
                              key,
                              "--tls-ca-cert-file",
                              tls_ca,
                              "--tls-auth-clients",
                              "no",
                              NULL};
        tls_ready = fixture_start(&tls_server, args) == 0;
    }
}

static void tls_teardown(void)
{
    fixture_stop(&tls_server);
    if (tls_dir[0]) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -rf %s", tls_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "check_async: could not remove %s\n", tls_dir);
    }
}

START_TEST(tls_inflight)
{
    ck_assert_msg(tls_ready, "the TLS server did not start");
    tloop L;
    loop_open(&L, _i);
    reds_options o = {.host = "127.0.0.1", .port = tls_port, .tls = true, .tls_ca_file = tls_ca};
    reds_client *setup = NULL;
    ASSERT_OK(reds_client_new(&o, &setup));
    many_in_flight(&L, setup, tls_port, &o, scaled(7000, 350));
    reds_client_free(setup);

    /* Megabytes each way: TLS writes that wait for room, with more
     * commands packed meanwhile. */
    reds_client *c = async_on(&L, tls_port, &o);
    int n = scaled(200, 20);
    tally t = {0};
    req *r = reqs_new(&t, n);
    echo_big_range(c, r, 0, n / 2, "tls-big");
    loop_once(&L);
    echo_big_range(c, r, n / 2, n, "tls-big");
    RUN_UNTIL(&L, t.done == n, 30000);
    ASSERT_TALLY(&t, n);
    ck_assert_int_eq(own_reply_or_connection_error(r, 0, n), 0);
    reds_client_free(c);
    free(r);
    loop_close(&L);
}
END_TEST

/* TLS through a relay: a stall times out, a cut connection fails what
 * is in flight, and a fresh TLS connection works after each. */
START_TEST(tls_faults)
{
    ck_assert_msg(tls_ready, "the TLS server did not start");
    tloop L;
    loop_open(&L, _i);
    relay *rl = relay_start(tls_port);
    ck_assert_ptr_nonnull(rl);
    reds_options o = {.host = "127.0.0.1",
                      .port = relay_port(rl),
                      .tls = true,
                      .tls_ca_file = tls_ca,
                      .command_timeout_ms = under_valgrind() ? 1000 : 300,
                      .retry_backoff_base_ms = 5};
    reds_client *c = async_on(&L, relay_port(rl), &o);
    tally t = {0};
    req *r = reqs_new(&t, 40);
    ASSERT_OK(echo(c, &r[0], "tls-ok"));
    RUN_UNTIL(&L, t.done == 1, 10000);
    ck_assert_msg(r[0].err == REDS_OK, "%s", r[0].errmsg);
    relay_stall(rl);
    echo_range(c, r, 1, 4, "tls-stalled");
    RUN_UNTIL(&L, t.done == 4, 10000);
    ck_assert_msg(t.bad == 0, "%s", t.why);
    ck_assert_msg(r[1].err == REDS_ERR_TIMEOUT, "%s: %s", reds_err_name(r[1].err), r[1].errmsg);
    ck_assert_int_eq(r[2].err, REDS_ERR_CONNECTION);
    ck_assert_int_eq(r[3].err, REDS_ERR_CONNECTION);
    relay_pass(rl);
    int used = 4;
    until_echo_works(&L, c, &t, r, &used, 20);
    int from = used;
    echo_range(c, r, from, from + 10, "tls-cut");
    relay_close_clients(rl);
    used = from + 10;
    RUN_UNTIL(&L, t.done == used, 10000);
    ck_assert_msg(t.bad == 0, "%s", t.why);
    own_reply_or_connection_error(r, from, used);
    until_echo_works(&L, c, &t, r, &used, 40);
    reds_client_free(c);

    /* The TLS handshake stalls: connect_timeout_ms covers it. */
    relay_stall(rl);
    o.command_timeout_ms = 0;
    o.connect_timeout_ms = under_valgrind() ? 1000 : 300;
    ASSERT_OK(reds_async_new(&o, &c));
    tally t2 = {0};
    req *r2 = reqs_new(&t2, 2);
    echo_range(c, r2, 0, 2, "tls-handshake");
    ASSERT_OK(L.d->attach(&L, c));
    RUN_UNTIL(&L, t2.done == 2, 10000);
    ck_assert_msg(t2.bad == 0, "%s", t2.why);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(r2[i].err == REDS_ERR_TIMEOUT, "%s: %s", reds_err_name(r2[i].err),
                      r2[i].errmsg);
        ck_assert_msg(strstr(r2[i].errmsg, "Timeout connecting"), "%s", r2[i].errmsg);
    }
    reds_client_free(c);
    free(r2);
    free(r);
    relay_stop(rl);
    loop_close(&L);
}
END_TEST

/* ------------------------------------------------------------ reconnect */

START_TEST(reconnects_once_the_server_is_up)
{
    tloop L;
    loop_open(&L, _i);
    fixture_server s;
    ck_assert_int_eq(fixture_start(&s, NULL), 0);
    fixture_kill(&s); /* its port is free: nothing listens */
    reds_options o = {.host = "127.0.0.1",
                      .port = s.port,
                      .retry_backoff_base_ms = 5,
                      .retry_backoff_cap_ms = 40};
    reds_client *c = NULL;
    ASSERT_OK(reds_async_new(&o, &c));
    slog st = {0};
    reds_async_on_status(c, on_status, &st);
    int n = 100;
    tally t = {0};
    req *r = reqs_new(&t, n + 10);
    echo_range(c, r, 0, 3, "refused");
    ASSERT_OK(L.d->attach(&L, c));
    RUN_UNTIL(&L, t.done == 3, 10000);
    ck_assert_msg(t.bad == 0, "%s", t.why);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(reds_err_is(r[i].err, REDS_ERR_CONNECTION), "%d: %s: %s", i,
                      reds_err_name(r[i].err), r[i].errmsg);
    /* Queued while it waits to try again: the next attempt fails too. */
    echo_range(c, r, 3, 6, "still-refused");
    RUN_UNTIL(&L, t.done == 6, 10000);
    for (int i = 3; i < 6; i++)
        ck_assert_msg(reds_err_is(r[i].err, REDS_ERR_CONNECTION), "%d: %s: %s", i,
                      reds_err_name(r[i].err), r[i].errmsg);
    ck_assert_int_ge(st.downs, 2);
    ck_assert_int_eq(st.ups, 0);
    ck_assert_msg(reds_err_is(st.last_down, REDS_ERR_CONNECTION), "%s", st.why);
    ck_assert(!reds_async_connected(c));

    /* Up: the handle connects by itself, nothing queued. */
    ck_assert_int_eq(fixture_restart(&s, NULL), 0);
    loop_keep_running(&L);
    RUN_UNTIL(&L, st.ups == 1 && reds_async_connected(c), 10000);
    echo_range(c, r, 6, 6 + n, "up");
    RUN_UNTIL(&L, t.done == 6 + n, 10000);
    ASSERT_TALLY(&t, 6 + n);
    for (int i = 6; i < 6 + n; i++)
        ck_assert_msg(r[i].err == REDS_OK, "%d: %s", i, r[i].errmsg);
    ck_assert_int_eq(st.ups, 1);
    reds_client_free(c);
    free(r);
    loop_close(&L);
    fixture_stop(&s);
}
END_TEST

/* ------------------------------------------------- the loop contract */

/* A loop of the test's own on poll(), that checks what reds_async_loop
 * promises: a descriptor is unwatched (0) before another is watched,
 * nothing is called after detach, and how often the timer is armed. */
typedef struct cloop {
    reds_client *c;
    int fd, events;
    long long due; /* -1: none */
    int timers, timer0, fired, watches, unwatches, detached, after_detach, bad_order;
} cloop;

static void c_watch(void *data, int fd, int events)
{
    cloop *l = data;
    if (l->detached)
        l->after_detach++;
    l->watches++;
    if (!events) {
        if (fd != l->fd)
            l->bad_order++;
        l->unwatches++;
        l->fd = -1;
        l->events = 0;
        return;
    }
    if (l->fd >= 0 && l->fd != fd)
        l->bad_order++; /* a new descriptor while the old one is watched */
    l->fd = fd;
    l->events = events;
}

static void c_timer(void *data, long ms)
{
    cloop *l = data;
    if (l->detached)
        l->after_detach++;
    l->timers++;
    l->timer0 += ms == 0;
    l->due = ms < 0 ? -1 : now_ms() + ms;
}

static void c_detach(void *data)
{
    cloop *l = data;
    l->detached++;
}

static void c_once(cloop *l)
{
    long long now = now_ms();
    int wait = l->due < 0 ? TICK_MS : l->due > now ? (int)(l->due - now) : 0;
    if (wait > TICK_MS)
        wait = TICK_MS;
    struct pollfd p = {l->fd,
                       (short)((l->events & REDS_ASYNC_READ ? POLLIN : 0) |
                               (l->events & REDS_ASYNC_WRITE ? POLLOUT : 0)),
                       0};
    int n = poll(&p, l->fd >= 0 ? 1 : 0, wait);
    if (n > 0 && p.revents)
        reds_async_handle_events(
            l->c, (p.revents & (POLLIN | POLLERR | POLLHUP) ? REDS_ASYNC_READ : 0) |
                      (p.revents & (POLLOUT | POLLERR | POLLHUP) ? REDS_ASYNC_WRITE : 0));
    if (l->due >= 0 && now_ms() >= l->due) {
        l->due = -1;
        l->fired++;
        reds_async_handle_timer(l->c);
    }
}

#define C_RUN_UNTIL(l, cond, ms)                                                                   \
    do {                                                                                           \
        long long end_ = now_ms() + patience_ms(ms);                                               \
        while (!(cond)) {                                                                          \
            ck_assert_msg(now_ms() < end_, "still not (%s)", #cond);                               \
            c_once(l);                                                                             \
        }                                                                                          \
    } while (0)

static reds_client *c_attach(cloop *l, const reds_options *o)
{
    memset(l, 0, sizeof *l);
    l->fd = -1;
    l->due = -1;
    ASSERT_OK(reds_async_new(o, &l->c));
    reds_async_loop loop = {l, c_watch, c_timer, c_detach};
    ASSERT_OK(reds_async_attach(l->c, &loop));
    return l->c;
}

START_TEST(loop_contract)
{
    cloop l;
    reds_options o = {.host = "127.0.0.1", .port = test_server.port, .retry_backoff_base_ms = 5};
    reds_client *c = c_attach(&l, &o);
    tally t = {0};
    req *r = reqs_new(&t, 40);
    ASSERT_OK(REDS_ASYNC(c, on_int, &r[0], reds_client_id(c, &r[0].n)));
    C_RUN_UNTIL(&l, t.done == 1, 10000);
    ck_assert_int_eq(r[0].err, REDS_OK);
    int fd = l.fd, unwatches = l.unwatches;
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(l.events, REDS_ASYNC_READ); /* nothing to write */

    /* A reconnect unwatches the old descriptor first. */
    test_kill_client(r[0].n);
    int used = 1;
    for (;;) {
        ck_assert_int_lt(used, 40);
        req *e = &r[used++];
        ASSERT_OK(echo(c, e, "contract"));
        C_RUN_UNTIL(&l, e->calls == 1, 10000);
        if (!e->err)
            break;
        ck_assert_msg(reds_err_is(e->err, REDS_ERR_CONNECTION), "%s", e->errmsg);
    }
    ck_assert_int_gt(l.unwatches, unwatches);
    ck_assert_int_eq(l.bad_order, 0);
    ck_assert_int_ge(l.fd, 0);
    reds_client_free(c);
    ck_assert_int_eq(l.detached, 1);
    ck_assert_int_eq(l.after_detach, 0);
    free(r);
}
END_TEST

/* reds_poll_free() detaches the handles still attached: they keep their
 * connection and queue, and go on once attached to another loop. */
START_TEST(poll_free_detaches_handles)
{
    reds_poll *p = NULL, *q = NULL;
    ASSERT_OK(reds_poll_new(&p));
    reds_client *c = NULL, *d = NULL;
    reds_options o = {.host = "127.0.0.1", .port = test_server.port};
    ASSERT_OK(reds_async_new(&o, &c));
    ASSERT_OK(reds_async_new(&o, &d));
    ASSERT_OK(reds_poll_attach(p, c));
    ASSERT_OK(reds_poll_attach(p, d));
    tally t = {0}, u = {0};
    req *r = reqs_new(&t, 3), *s2 = reqs_new(&u, 1);
    ASSERT_OK(echo(c, &r[0], "first"));
    ASSERT_OK(echo(d, &s2[0], "other"));
    ck_assert_uint_eq(reds_poll_run(p, patience_ms(10000)), 0);
    ck_assert_int_eq(t.done, 1);
    ck_assert_int_eq(u.done, 1);
    ck_assert(r[0].err == REDS_OK && s2[0].err == REDS_OK);
    reds_client_free(d); /* one handle gone before the loop */
    reds_poll_free(p);
    ck_assert(reds_async_connected(c));
    ASSERT_OK(echo(c, &r[1], "queued-unattached"));
    ck_assert_uint_eq(reds_async_pending(c), 1);
    ASSERT_OK(reds_poll_new(&q));
    ASSERT_OK(reds_poll_attach(q, c));
    ASSERT_OK(echo(c, &r[2], "attached-again"));
    ck_assert_uint_eq(reds_poll_run(q, patience_ms(10000)), 0);
    ASSERT_TALLY(&t, 3);
    ck_assert(r[1].err == REDS_OK && r[2].err == REDS_OK);
    /* The handle freed while attached: the loop forgets it. */
    reds_client_free(c);
    ck_assert_uint_eq(reds_poll_run(q, 0), 0);
    reds_poll_free(q);
    free(r);
    free(s2);
}
END_TEST

/* A command whose command_timeout_ms passes while the handle waits out a
 * reconnect's backoff completes then, with REDS_ERR_TIMEOUT (or with the
 * connection error of a reconnect attempt that came first), and the timer
 * is not re-armed at 0 ms over and over meanwhile (a busy loop). */
START_TEST(command_timeout_during_backoff)
{
    int port = fixture_free_port(); /* nothing listens there */
    cloop l;
    reds_options o = {.host = "127.0.0.1",
                      .port = port,
                      .command_timeout_ms = 50,
                      .retry_backoff_base_ms = 20000,
                      .retry_backoff_cap_ms = 20000};
    reds_client *c = c_attach(&l, &o);
    slog st = {0};
    reds_async_on_status(c, on_status, &st);
    C_RUN_UNTIL(&l, st.downs == 1, 10000); /* refused: now in backoff */
    l.timers = l.timer0 = l.fired = 0;
    tally t = {0};
    req *r = reqs_new(&t, 1);
    ASSERT_OK(echo(c, &r[0], "in-backoff"));
    C_RUN_UNTIL(&l, t.done == 1 || l.timer0 >= 50, 30000);
    ck_assert_msg(l.timer0 < 50,
                  "the timer was armed %d times at 0 ms (fired %d times) while the command "
                  "waited out the backoff (completed: %s)",
                  l.timer0, l.fired, t.done ? reds_err_name(r[0].err) : "not yet");
    ck_assert_msg(r[0].err == REDS_ERR_TIMEOUT || reds_err_is(r[0].err, REDS_ERR_CONNECTION),
                  "%s: %s", reds_err_name(r[0].err), r[0].errmsg);
    reds_client_free(c);
    free(r);
}
END_TEST

/* ----------------------------------------------------------------- suite */

static void loop_tests(Suite *s, const char *name, const TTest *test, int timeout, bool flush)
{
    TCase *tc = tcase_create(name);
    if (flush)
        tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, timeout);
    tcase_add_loop_test(tc, test, 0, NDRIVERS);
    suite_add_tcase(s, tc);
}

static Suite *suite(void)
{
    Suite *s = suite_create("async");
    loop_tests(s, "inflight", inflight_mixed, 60, true);
    loop_tests(s, "queueing", queued_before_attach_and_from_completions, 60, true);
    loop_tests(s, "restart", server_restart_and_client_kill_mid_stream, 90, false);
    loop_tests(s, "reset", reset_with_a_reply_buffered, 60, false);
    loop_tests(s, "timeout", command_timeout_with_debug_sleep, 60, true);
    loop_tests(s, "stall", stalled_server_times_out, 60, true);
    loop_tests(s, "stall_free", free_inside_a_timeout_completion, 60, true);
    loop_tests(s, "connect", connect_and_handshake_timeouts, 60, true);
    loop_tests(s, "scripts", scripts_on_the_loop, 60, true);
    loop_tests(s, "limits", big_replies_and_reply_caps, 60, true);
    loop_tests(s, "teardown", free_and_disconnect_inside_completions, 60, true);
    loop_tests(s, "handshake", handshake_password_db_and_name, 60, false);
    loop_tests(s, "api", urls_callbacks_and_bad_input, 60, true);
    loop_tests(s, "refused", refused_calls_never_complete, 60, true);
    loop_tests(s, "attach", attach_again_and_detach, 60, true);
    loop_tests(s, "pubsub", pubsub_on_the_loop, 60, true);
    loop_tests(s, "pubsub_restart", pubsub_across_a_server_restart, 60, false);
    loop_tests(s, "reconnect", reconnects_once_the_server_is_up, 60, false);

    TCase *tc = tcase_create("contract");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, loop_contract);
    tcase_add_test(tc, poll_free_detaches_handles);
    tcase_add_test(tc, command_timeout_during_backoff);
    suite_add_tcase(s, tc);

    tc = tcase_create("tls");
    tcase_add_unchecked_fixture(tc, tls_setup, tls_teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_loop_test(tc, tls_inflight, 0, NDRIVERS);
    tcase_add_loop_test(tc, tls_faults, 0, NDRIVERS);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
