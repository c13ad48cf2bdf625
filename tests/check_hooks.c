/* Hooks for metrics and tracing (<reds/hooks.h>) and the credentials
 * callback, against a real server: the exact sequence of events a client
 * reports, and each field (command names, addresses, the RESP bytes of
 * requests and replies, outcomes, close reasons, pool waits, retries,
 * redirections on a real cluster); credentials asked at each connect,
 * rotated on the server between connections; many threads sharing one
 * hooked client. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture_cluster.h"
#include "internal.h"
#include "testutil.h"

/* ------------------------------------------------------------- recorder */

/* One event, its strings copied. */
typedef struct rec {
    bool is_command;
    reds_command_event c;
    reds_connection_event n;
    char command[64], address[300], host[256], status[32], text[512], target[256];
} rec;

#define MAX_RECS 4096
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static rec recs[MAX_RECS];
static size_t nrecs;

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

static void on_command(const reds_command_event *ev, void *udata)
{
    ck_assert_ptr_eq(udata, &recs);
    pthread_mutex_lock(&rec_lock);
    if (nrecs < MAX_RECS) {
        rec *r = &recs[nrecs++];
        memset(r, 0, sizeof *r);
        r->is_command = true;
        r->c = *ev;
        copy(r->command, sizeof r->command, ev->command);
        copy(r->address, sizeof r->address, ev->address);
        copy(r->host, sizeof r->host, ev->host);
        copy(r->status, sizeof r->status, ev->status_code);
        copy(r->text, sizeof r->text, ev->error_text);
    }
    pthread_mutex_unlock(&rec_lock);
}

static void on_connection(const reds_connection_event *ev, void *udata)
{
    ck_assert_ptr_eq(udata, &recs);
    pthread_mutex_lock(&rec_lock);
    if (nrecs < MAX_RECS) {
        rec *r = &recs[nrecs++];
        memset(r, 0, sizeof *r);
        r->n = *ev;
        copy(r->command, sizeof r->command, ev->command);
        copy(r->address, sizeof r->address, ev->address);
        copy(r->host, sizeof r->host, ev->host);
        copy(r->text, sizeof r->text, ev->error_text);
        copy(r->target, sizeof r->target, ev->target);
    }
    pthread_mutex_unlock(&rec_lock);
}

static const reds_hooks HOOKS = {on_command, on_connection, recs};

static void forget(void)
{
    pthread_mutex_lock(&rec_lock);
    nrecs = 0;
    pthread_mutex_unlock(&rec_lock);
}

static const char *reason_name(reds_close_reason r)
{
    static const char *const names[] = {"?",         "error", "timeout",    "protocol",
                                        "too-large", "stale", "unread",     "server-closed",
                                        "health",    "moved", "disconnect", "freed",
                                        "fork"};
    return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "?";
}

/* The events so far, one word each, ";" between:
 *   GET:OK  GET:ResponseError      a command and its outcome
 *   CONNECT  RECONNECT  CONNECT_FAILED(ConnectionError)
 *   CLOSE(stale)  POOL_WAIT(OK)  RETRY(2,ConnectionError)  REDIRECT(MovedError) */
static const char *summary(void)
{
    static char buf[8192];
    size_t at = 0;
    buf[0] = '\0';
    pthread_mutex_lock(&rec_lock);
    for (size_t i = 0; i < nrecs && at < sizeof buf - 100; i++) {
        const rec *r = &recs[i];
        const char *sep = i ? ";" : "";
        int n;
        if (r->is_command) {
            n = snprintf(buf + at, sizeof buf - at, "%s%s:%s", sep, r->command,
                         r->c.outcome ? reds_err_name(r->c.outcome) : "OK");
        } else {
            switch (r->n.kind) {
            case REDS_EVENT_CONNECT:
                n = snprintf(buf + at, sizeof buf - at, "%s%s", sep,
                             r->n.reconnect ? "RECONNECT" : "CONNECT");
                break;
            case REDS_EVENT_CONNECT_FAILED:
                n = snprintf(buf + at, sizeof buf - at, "%sCONNECT_FAILED(%s)", sep,
                             reds_err_name(r->n.error));
                break;
            case REDS_EVENT_CLOSE:
                n = snprintf(buf + at, sizeof buf - at, "%sCLOSE(%s)", sep,
                             reason_name(r->n.reason));
                break;
            case REDS_EVENT_POOL_WAIT:
                n = snprintf(buf + at, sizeof buf - at, "%sPOOL_WAIT(%s)", sep,
                             r->n.error ? reds_err_name(r->n.error) : "OK");
                break;
            case REDS_EVENT_REDIRECT:
                n = snprintf(buf + at, sizeof buf - at, "%sREDIRECT(%s)", sep,
                             reds_err_name(r->n.error));
                break;
            case REDS_EVENT_RETRY:
                n = snprintf(buf + at, sizeof buf - at, "%sRETRY(%u,%s)", sep, r->n.attempt,
                             reds_err_name(r->n.error));
                break;
            default:
                n = snprintf(buf + at, sizeof buf - at, "%s?", sep);
            }
        }
        at += (size_t)n;
    }
    pthread_mutex_unlock(&rec_lock);
    return buf;
}

#define ASSERT_EVENTS(expect) ck_assert_str_eq(summary(), (expect))

/* Event `i` (negative: from the end). */
static const rec *event(long i)
{
    pthread_mutex_lock(&rec_lock);
    size_t n = nrecs;
    pthread_mutex_unlock(&rec_lock);
    size_t at = i < 0 ? n - (size_t)-i : (size_t)i;
    ck_assert_uint_lt(at, n);
    return &recs[at];
}

/* The RESP bytes of a command given as C strings, NULL-terminated. */
static uint64_t resp(const char *first, ...)
{
    char head[32];
    va_list ap;
    size_t argc = 0;
    uint64_t n = 0;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        argc++;
        n += (uint64_t)snprintf(head, sizeof head, "$%zu\r\n", strlen(a)) + strlen(a) + 2;
    }
    va_end(ap);
    return n + (uint64_t)snprintf(head, sizeof head, "*%zu\r\n", argc);
}

static reds_client *hooked(reds_options *o)
{
    o->hooks = &HOOKS;
    reds_client *c = test_client(o);
    forget();
    return c;
}

static char *tcp_address(char *buf, size_t size, int port)
{
    snprintf(buf, size, "127.0.0.1:%d", port);
    return buf;
}

/* ------------------------------------------------------------- commands */

START_TEST(command_events)
{
    reds_options o = {0};
    reds_client *c = hooked(&o);
    int64_t t0 = (int64_t)time(NULL) * 1000000000;
    ASSERT_OK(reds_set(c, S("k"), S("value"), NULL, NULL));
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, S("k"), &v));
    reds_free(v);
    ASSERT_OK(reds_get(c, S("missing"), &v));
    ASSERT_EVENTS("CONNECT;SET:OK;GET:OK;GET:OK");

    char addr[64];
    tcp_address(addr, sizeof addr, test_server.port);
    const rec *r = event(0);
    ck_assert_str_eq(r->address, addr);
    ck_assert_str_eq(r->host, "127.0.0.1");
    ck_assert_int_eq(r->n.port, test_server.port);
    ck_assert(r->n.duration_ns > 0);
    ck_assert(!r->n.reconnect);

    r = event(1);
    ck_assert_str_eq(r->address, addr);
    ck_assert_str_eq(r->host, "127.0.0.1");
    ck_assert_int_eq(r->c.port, test_server.port);
    ck_assert_int_eq(r->c.db, 0);
    ck_assert_uint_eq(r->c.bytes_out, resp("SET", "k", "value", NULL));
    ck_assert_uint_eq(r->c.bytes_in, strlen("+OK\r\n"));
    ck_assert_int_eq(r->c.outcome, REDS_OK);
    ck_assert_str_eq(r->status, "");
    ck_assert_str_eq(r->text, "");
    ck_assert_uint_eq(r->c.attempts, 1);
    ck_assert_uint_eq(r->c.batch_size, 0);
    ck_assert(r->c.duration_ns > 0);
    ck_assert(r->c.start_unix_ns >= t0 && r->c.start_unix_ns < t0 + 60 * 1000000000LL);
    /* The connection's set-up is not the command's. */
    ck_assert(r->c.duration_ns < 60 * 1000000000ULL);

    r = event(2);
    ck_assert_uint_eq(r->c.bytes_out, resp("GET", "k", NULL));
    ck_assert_uint_eq(r->c.bytes_in, strlen("$5\r\nvalue\r\n"));
    r = event(3);
    ck_assert_uint_eq(r->c.bytes_in, strlen("$-1\r\n"));
    ck_assert(event(2)->c.start_unix_ns <= event(3)->c.start_unix_ns);

    /* Names: two words for a container's subcommand; an unknown
     * command's first word, never an argument. */
    forget();
    reds_client_entry_list *list = NULL;
    ASSERT_OK(reds_client_list(c, NULL, &list));
    reds_free(list);
    reds_str argv[] = {S("NOSUCHCMD"), S("secret-argument")};
    ASSERT_ERR(reds_execute_command(c, 2, argv, NULL), REDS_ERR_RESPONSE);
    ASSERT_EVENTS("CLIENT LIST:OK;NOSUCHCMD:ResponseError");
    r = event(1);
    ck_assert_str_eq(r->status, "ERR");
    ck_assert_msg(strstr(r->text, "unknown command") != NULL, "%s", r->text);
    ck_assert_uint_eq(r->c.bytes_out, resp("NOSUCHCMD", "secret-argument", NULL));

    /* An error reply: its prefix is the status code. */
    forget();
    int64_t n = 0;
    ASSERT_ERR(reds_lpush(c, S("k"), STRS(S("x")), 1, &n), REDS_ERR_RESPONSE);
    ASSERT_EVENTS("LPUSH:ResponseError");
    r = event(0);
    ck_assert_str_eq(r->status, "WRONGTYPE");
    ck_assert_msg(strncmp(r->text, "LPUSH: WRONGTYPE", 16) == 0, "%s", r->text);
    const char *wrongtype =
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    ck_assert_uint_eq(r->c.bytes_in, strlen(wrongtype));

    /* Refused before anything is sent: reported, with no bytes. */
    forget();
    ASSERT_ERR(reds_select(c, 1), REDS_ERR_DATA);
    ASSERT_EVENTS("SELECT:DataError");
    ck_assert_uint_eq(event(0)->c.bytes_out, 0);
    reds_client_free(c);
    ASSERT_EVENTS("SELECT:DataError;CLOSE(freed)");
}
END_TEST

START_TEST(database_and_unix_socket)
{
    reds_options o = {.db = 3, .hooks = &HOOKS};
    reds_client *c = test_client_unix(&o);
    forget();
    ASSERT_OK(reds_set(c, S("k"), S("v"), NULL, NULL));
    ASSERT_EVENTS("CONNECT;SET:OK");
    for (int i = 0; i < 2; i++) {
        const rec *r = event(i);
        ck_assert_str_eq(r->address, test_server.sock);
        ck_assert_str_eq(r->host, test_server.sock);
        ck_assert_int_eq(i ? r->c.port : r->n.port, 0);
        ck_assert_int_eq(i ? r->c.db : r->n.db, 3);
    }
    /* SELECT 3 at connect is nobody's command, and not counted. */
    ck_assert_uint_eq(event(1)->c.bytes_out, resp("SET", "k", "v", NULL));
    reds_client_free(c);
}
END_TEST

START_TEST(no_hook_set_is_no_hooks)
{
    reds_hooks none = {NULL, NULL, recs};
    reds_options o = {.hooks = &none};
    reds_client *c = test_client(&o);
    ck_assert_ptr_null(c->cfg->hooks);
    ASSERT_OK(reds_ping(c, NULL, NULL));
    reds_client_free(c);
    ck_assert_uint_eq(nrecs, 0);

    /* The struct is copied: it need not outlive the client. */
    reds_hooks *h = malloc(sizeof *h);
    *h = HOOKS;
    o.hooks = h;
    c = test_client(&o);
    memset(h, 0, sizeof *h);
    free(h);
    ASSERT_OK(reds_ping(c, NULL, NULL));
    ASSERT_EVENTS("CONNECT;PING:OK");
    reds_client_free(c);
}
END_TEST

START_TEST(timeout_outcome)
{
    reds_options o = {.socket_timeout_ms = 200};
    reds_client *c = hooked(&o);
    ASSERT_OK(reds_ping(c, NULL, NULL));
    forget();
    reds_keyed_element *e = NULL;
    ASSERT_ERR(reds_blpop(c, STRS(S("nothing")), 1, 2.0, &e), REDS_ERR_TIMEOUT);
    /* The connection is closed as it goes back, before the command
     * returns. */
    ASSERT_EVENTS("CLOSE(timeout);BLPOP:TimeoutError");
    const rec *r = event(0);
    ck_assert_int_eq(r->n.error, REDS_ERR_TIMEOUT);
    r = event(1);
    ck_assert_str_eq(r->status, "");
    ck_assert_msg(strstr(r->text, "Timeout reading from") != NULL, "%s", r->text);
    ck_assert_uint_eq(r->c.bytes_out, resp("BLPOP", "nothing", "2", NULL));
    ck_assert_uint_eq(r->c.bytes_in, 0);
    /* The next command connects afresh: the lost one is replaced. */
    forget();
    ASSERT_OK(reds_ping(c, NULL, NULL));
    ASSERT_EVENTS("RECONNECT;PING:OK");
    reds_client_free(c);
}
END_TEST

START_TEST(connection_refused)
{
    int port = fixture_free_port();
    reds_options o = {.host = "127.0.0.1", .port = port, .hooks = &HOOKS};
    reds_client *c = NULL;
    ASSERT_OK(reds_client_new(&o, &c));
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_CONNECTION);
    ASSERT_EVENTS("CONNECT_FAILED(ConnectionError);PING:ConnectionError");
    char addr[64];
    tcp_address(addr, sizeof addr, port);
    const rec *r = event(0);
    ck_assert_str_eq(r->address, addr);
    ck_assert_int_eq(r->n.port, port);
    ck_assert_msg(strstr(r->text, "Connection refused") != NULL, "%s", r->text);
    r = event(1);
    ck_assert_str_eq(r->address, addr);
    ck_assert_uint_eq(r->c.bytes_out, 0);
    ck_assert_uint_eq(r->c.bytes_in, 0);
    ck_assert_str_eq(r->status, "");
    ck_assert_msg(strstr(r->text, "Connection refused") != NULL, "%s", r->text);
    reds_client_free(c);
    /* Nothing was connected: nothing to close. */
    ck_assert_uint_eq(nrecs, 2);
}
END_TEST

/* ------------------------------------------------------------ connections */

START_TEST(close_reasons)
{
    reds_options o = {0};
    reds_client *c = hooked(&o);
    int64_t id = test_client_id(c);
    /* Killed while idle: found closed before anything is sent. */
    test_kill_client(id);
    sleep_ms(30);
    ASSERT_OK(reds_ping(c, NULL, NULL));
    ASSERT_EVENTS("CONNECT;CLIENT ID:OK;CLOSE(stale);RECONNECT;PING:OK");
    ck_assert_int_eq(event(2)->n.error, REDS_OK);

    /* reds_pool_disconnect(): idle ones now, the others as they return. */
    forget();
    reds__conn *held = NULL;
    ASSERT_OK(reds__client_acquire(c, &held));
    ASSERT_OK(reds_ping(c, NULL, NULL)); /* a second connection, idle after */
    ASSERT_OK(reds_pool_disconnect(c));
    reds__client_release(c, held);
    ASSERT_EVENTS("CONNECT;PING:OK;CLOSE(disconnect);CLOSE(disconnect)");

    /* Beyond max_reply_elements: the reply is refused, and its connection. */
    reds_client_free(c);
    o = (reds_options){.max_reply_elements = 2};
    c = hooked(&o);
    ASSERT_OK(reds_rpush(c, S("l"), STRS(S("a"), S("b"), S("c")), 3, NULL));
    reds_strlist *l = NULL;
    ASSERT_ERR(reds_lrange(c, S("l"), 0, -1, &l), REDS_ERR_REPLY_TOO_LARGE);
    ASSERT_EVENTS("CONNECT;RPUSH:OK;CLOSE(too-large);LRANGE:ReplyTooLargeError");
    ck_assert_int_eq(event(2)->n.error, REDS_ERR_REPLY_TOO_LARGE);

    /* QUIT: the server closes; a dedicated handle reconnects. */
    reds_client *d = NULL;
    ASSERT_OK(reds_client_dedicated(c, &d));
    forget();
    ASSERT_OK(reds_quit(d));
    ASSERT_OK(reds_ping(d, NULL, NULL));
    ASSERT_EVENTS("CONNECT;QUIT:OK;CLOSE(server-closed);RECONNECT;PING:OK");
    forget();
    reds_client_free(d);
    ASSERT_EVENTS("CLOSE(freed)");
    reds_client_free(c);
}
END_TEST

START_TEST(closed_in_a_forked_child)
{
    reds_options o = {0};
    reds_client *c = hooked(&o);
    ASSERT_OK(reds_ping(c, NULL, NULL));
    forget();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* The parent's connection is dropped unused, and one of our own
         * made. */
        bool ok = reds_ping(c, NULL, NULL) == REDS_OK &&
                  strcmp(summary(), "CLOSE(fork);CONNECT;PING:OK") == 0;
        if (!ok)
            fprintf(stderr, "child: %s\n", summary());
        _exit(ok ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_OK(reds_ping(c, NULL, NULL));
    ASSERT_EVENTS("PING:OK");
    reds_client_free(c);
}
END_TEST

typedef struct waiter {
    reds_client *c;
    reds_err err;
    pthread_t t;
} waiter;

static void *wait_and_ping(void *arg)
{
    waiter *w = arg;
    w->err = reds_ping(w->c, NULL, NULL);
    return NULL;
}

START_TEST(pool_wait)
{
    reds_options o = {.pool_blocking = true, .max_connections = 1, .pool_timeout_ms = 5000};
    reds_client *c = hooked(&o);
    reds__conn *held = NULL;
    ASSERT_OK(reds__client_acquire(c, &held));
    waiter w = {c, REDS_ERR, 0};
    ck_assert_int_eq(pthread_create(&w.t, NULL, wait_and_ping, &w), 0);
    reds_pool_stats s;
    for (int i = 0; i < 500; i++) {
        ASSERT_OK(reds_pool_get_stats(c, &s));
        if (s.waiting)
            break;
        sleep_ms(2);
    }
    ck_assert_uint_eq(s.waiting, 1);
    sleep_ms(20);
    reds__client_release(c, held);
    pthread_join(w.t, NULL);
    ASSERT_OK(w.err);
    ASSERT_EVENTS("CONNECT;POOL_WAIT(OK);PING:OK");
    const rec *r = event(1);
    ck_assert(r->n.duration_ns > 0);
    char addr[64];
    ck_assert_str_eq(r->address, tcp_address(addr, sizeof addr, test_server.port));
    /* The command's duration includes its wait. */
    ck_assert(event(2)->c.duration_ns >= r->n.duration_ns);
    reds_client_free(c);

    /* None in time: the wait and the command fail. */
    o.pool_timeout_ms = 30;
    c = hooked(&o);
    ASSERT_OK(reds__client_acquire(c, &held));
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_POOL_EXHAUSTED);
    reds__client_release(c, held);
    ASSERT_EVENTS("CONNECT;POOL_WAIT(PoolExhaustedError);PING:PoolExhaustedError");
    reds_client_free(c);
}
END_TEST

START_TEST(retries)
{
    reds_options o = {.retries = 2, .max_connections = 1, .retry_backoff_base_ms = 1};
    reds_client *c = hooked(&o);
    int64_t id = test_client_id(c);
    forget();
    /* XREAD is read-only: killed while it blocks, it runs again on a new
     * connection, and times out there (nothing comes). */
    test_killer k;
    test_kill_later(&k, id, 100);
    reds_xread_stream_list *r = NULL;
    reds_str key = S("s"), last = S("$");
    ASSERT_OK(reds_xread(c, &key, 1, &last, 1, &(reds_xread_opts){.block = REDS_I64(300)}, &r));
    test_killed(&k);
    ck_assert_ptr_null(r);
    ASSERT_EVENTS("CLOSE(error);RETRY(2,ConnectionError);RECONNECT;XREAD:OK");
    const rec *e = event(0);
    ck_assert_int_eq(e->n.error, REDS_ERR_CONNECTION);
    e = event(1);
    ck_assert_str_eq(e->command, "XREAD");
    ck_assert_msg(strstr(e->text, "connection closed by server") != NULL, "%s", e->text);
    char addr[64];
    ck_assert_str_eq(e->address, tcp_address(addr, sizeof addr, test_server.port));
    e = event(3);
    ck_assert_uint_eq(e->c.attempts, 2);
    /* Sent twice; answered once (a nil array on RESP2). */
    uint64_t once = resp("XREAD", "BLOCK", "300", "STREAMS", "s", "$", NULL);
    ck_assert_uint_eq(e->c.bytes_out, 2 * once);
    ck_assert_uint_eq(e->c.bytes_in, strlen("*-1\r\n"));

    /* A connection refused, retried until it gives up. */
    reds_client_free(c);
    int port = fixture_free_port();
    o = (reds_options){.host = "127.0.0.1",
                       .port = port,
                       .retries = 1,
                       .retry_backoff_base_ms = 1,
                       .hooks = &HOOKS};
    ASSERT_OK(reds_client_new(&o, &c));
    forget();
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_CONNECTION);
    ASSERT_EVENTS("CONNECT_FAILED(ConnectionError);RETRY(2,ConnectionError);"
                  "CONNECT_FAILED(ConnectionError);PING:ConnectionError");
    ck_assert_uint_eq(event(3)->c.attempts, 2);
    reds_client_free(c);
}
END_TEST

/* ----------------------------------------------------- pipelines, handles */

START_TEST(pipelines_are_one_event)
{
    reds_options o = {0};
    reds_client *c = hooked(&o);
    ASSERT_OK(reds_ping(c, NULL, NULL));
    forget();
    reds_client *p = NULL;
    ASSERT_OK(reds_pipeline_new(c, false, &p));
    reds_str *v = NULL;
    int64_t n = 0;
    ASSERT_OK(reds_set(p, S("a"), S("1"), NULL, NULL));
    ASSERT_OK(reds_get(p, S("a"), &v));
    ASSERT_OK(reds_incr(p, S("a"), &n));
    ck_assert_uint_eq(nrecs, 0); /* queued: nothing ran yet */
    ASSERT_OK(reds_pipeline_execute(p));
    reds_free(v);
    ASSERT_EVENTS("PIPELINE:OK");
    const rec *r = event(0);
    ck_assert_uint_eq(r->c.batch_size, 3);
    ck_assert_uint_eq(r->c.attempts, 1);
    ck_assert_uint_eq(r->c.bytes_out, resp("SET", "a", "1", NULL) + resp("GET", "a", NULL) +
                                          resp("INCR", "a", NULL));
    ck_assert_uint_eq(r->c.bytes_in, strlen("+OK\r\n$1\r\n1\r\n:2\r\n"));

    /* An error reply fails the execution: the first one's prefix. */
    forget();
    ASSERT_OK(reds_lpush(p, S("a"), STRS(S("x")), 1, NULL));
    ASSERT_OK(reds_get(p, S("a"), NULL));
    ASSERT_ERR(reds_pipeline_execute(p), REDS_ERR_RESPONSE);
    ASSERT_EVENTS("PIPELINE:ResponseError");
    ck_assert_str_eq(event(0)->status, "WRONGTYPE");
    ck_assert_uint_eq(event(0)->c.batch_size, 2);

    /* Nothing to send: nothing to report. */
    forget();
    ASSERT_OK(reds_pipeline_execute(p));
    ck_assert_uint_eq(nrecs, 0);
    reds_client_free(p);

    /* A transaction: MULTI and EXEC are part of its bytes. */
    ASSERT_OK(reds_pipeline_new(c, true, &p));
    ASSERT_OK(reds_set(p, S("b"), S("x"), NULL, NULL));
    ASSERT_OK(reds_get(p, S("b"), &v));
    ASSERT_OK(reds_pipeline_execute(p));
    ASSERT_STR(v, "x");
    reds_free(v);
    ASSERT_EVENTS("MULTI:OK");
    r = event(0);
    ck_assert_uint_eq(r->c.batch_size, 2);
    ck_assert_uint_eq(r->c.bytes_out, resp("MULTI", NULL) + resp("SET", "b", "x", NULL) +
                                          resp("GET", "b", NULL) + resp("EXEC", NULL));
    ck_assert_uint_eq(r->c.bytes_in,
                      strlen("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n$1\r\nx\r\n"));
    reds_client_free(p);
    reds_client_free(c);
}
END_TEST

START_TEST(handles_carry_the_hooks)
{
    reds_options o = {0};
    reds_client *c = hooked(&o);
    /* A dedicated connection, with its own connection events. */
    reds_client *d = NULL;
    ASSERT_OK(reds_client_dedicated(c, &d));
    ASSERT_OK(reds_ping(d, NULL, NULL));
    ASSERT_EVENTS("CONNECT;PING:OK");
    reds_client_free(d);
    /* Pub/sub: its connection. */
    forget();
    reds_pubsub *ps = NULL;
    ASSERT_OK(reds_pubsub_new(c, NULL, &ps));
    ASSERT_OK(reds_pubsub_subscribe(ps, STRS(S("ch")), 1, NULL, NULL));
    reds_pubsub_close(ps);
    ASSERT_EVENTS("CONNECT;CLOSE(freed)");
    /* A client made from a URL with base options. */
    char url[128];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/2", test_server.port);
    reds_options base = {.hooks = &HOOKS};
    reds_client *u = NULL;
    ASSERT_OK(reds_client_from_url(url, &base, &u));
    forget();
    ASSERT_OK(reds_ping(u, NULL, NULL));
    ASSERT_EVENTS("CONNECT;PING:OK");
    ck_assert_int_eq(event(1)->c.db, 2);
    reds_client_free(u);
    reds_client_free(c);
}
END_TEST

START_TEST(health_check_ping_is_not_counted)
{
    reds_options o = {.health_check_interval_ms = 1};
    reds_client *c = hooked(&o);
    ASSERT_OK(reds_set(c, S("k"), S("v"), NULL, NULL));
    sleep_ms(20);
    ASSERT_OK(reds_get(c, S("k"), NULL));
    ASSERT_EVENTS("CONNECT;SET:OK;GET:OK");
    ck_assert_uint_eq(event(2)->c.bytes_out, resp("GET", "k", NULL));
    ck_assert_uint_eq(event(2)->c.bytes_in, strlen("$1\r\nv\r\n"));
    reds_client_free(c);
}
END_TEST

/* ------------------------------------------------------------- threads */

static atomic_ulong n_commands, n_connects, n_bad;

static void count_command(const reds_command_event *ev, void *udata)
{
    (void)udata;
    atomic_fetch_add(&n_commands, 1);
    if (ev->outcome || !ev->command || ev->bytes_out == 0 || ev->bytes_in == 0 ||
        ev->attempts != 1 || strcmp(ev->host, "127.0.0.1") != 0)
        atomic_fetch_add(&n_bad, 1);
}

static void count_connection(const reds_connection_event *ev, void *udata)
{
    (void)udata;
    if (ev->kind == REDS_EVENT_CONNECT)
        atomic_fetch_add(&n_connects, 1);
}

#define THREADS    8
#define PER_THREAD 1500

static void *hammer(void *arg)
{
    reds_client *c = arg;
    char key[32];
    snprintf(key, sizeof key, "t:%p", (void *)&key);
    for (int i = 0; i < PER_THREAD / 3; i++) {
        int64_t n;
        reds_str *v = NULL;
        if (reds_set(c, reds_cstr(key), S("v"), NULL, NULL) || reds_get(c, reds_cstr(key), &v) ||
            reds_incr(c, S("shared"), &n))
            atomic_fetch_add(&n_bad, 1);
        reds_free(v);
    }
    return NULL;
}

START_TEST(threads_share_a_hooked_client)
{
    static const reds_hooks counting = {count_command, count_connection, NULL};
    reds_options o = {.hooks = &counting};
    reds_client *c = test_client(&o);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, c), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_eq(atomic_load(&n_bad), 0);
    ck_assert_uint_eq(atomic_load(&n_commands), THREADS * (PER_THREAD / 3) * 3);
    reds_pool_stats s;
    ASSERT_OK(reds_pool_get_stats(c, &s));
    ck_assert_uint_eq(atomic_load(&n_connects), s.created);
    reds_client_free(c);
}
END_TEST

/* ----------------------------------------------------------- credentials */

typedef struct vault {
    pthread_mutex_t lock;
    char user[32], password[32];
    reds_err fail;
    int calls;
} vault;

static reds_err ask_vault(reds_credentials *cred, void *udata)
{
    vault *v = udata;
    pthread_mutex_lock(&v->lock);
    v->calls++;
    reds_err err = v->fail ? reds_set_error(v->fail, "the vault is sealed")
                           : reds_credentials_set(cred, v->user[0] ? v->user : NULL,
                                                  v->password[0] ? v->password : NULL);
    pthread_mutex_unlock(&v->lock);
    return err;
}

static void vault_set(vault *v, const char *user, const char *password, reds_err fail)
{
    pthread_mutex_lock(&v->lock);
    snprintf(v->user, sizeof v->user, "%s", user);
    snprintf(v->password, sizeof v->password, "%s", password);
    v->fail = fail;
    pthread_mutex_unlock(&v->lock);
}

static void raw_ok(const char *cmd)
{
    char reply[128];
    test_raw(cmd, reply, sizeof reply);
    ck_assert_msg(strcmp(reply, "+OK") == 0, "%s: %s", cmd, reply);
}

static void assert_whoami(reds_client *c, const char *user)
{
    reds_str *who = NULL;
    ASSERT_OK(reds_acl_whoami(c, &who));
    ASSERT_STR(who, user);
    reds_free(who);
}

START_TEST(credentials_rotate)
{
    raw_ok("ACL SETUSER rotor on >first ~* &* +@all");
    vault v = {PTHREAD_MUTEX_INITIALIZER, "rotor", "first", REDS_OK, 0};
    /* The callback wins over a static username and password. */
    reds_options o = {.username = "nobody",
                      .password = "wrong",
                      .credentials = ask_vault,
                      .credentials_udata = &v,
                      .hooks = &HOOKS};
    reds_client *c = test_client(&o);
    assert_whoami(c, "rotor");
    ck_assert_int_eq(v.calls, 1);

    /* Rotated on the server: open connections stay authenticated... */
    raw_ok("ACL SETUSER rotor resetpass >second");
    assert_whoami(c, "rotor");
    ck_assert_int_eq(v.calls, 1);
    /* ... and each new one asks again. */
    vault_set(&v, "rotor", "second", REDS_OK);
    ASSERT_OK(reds_pool_disconnect(c));
    assert_whoami(c, "rotor");
    ck_assert_int_eq(v.calls, 2);
    /* Handles made from the client ask too. */
    reds_client *d = NULL;
    ASSERT_OK(reds_client_dedicated(c, &d));
    assert_whoami(d, "rotor");
    ck_assert_int_eq(v.calls, 3);
    reds_client_free(d);

    /* Stale credentials: refused by the server. */
    raw_ok("ACL SETUSER rotor resetpass >third");
    ASSERT_OK(reds_pool_disconnect(c));
    forget();
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_AUTH);
    ck_assert_msg(strstr(reds_errmsg(), "WRONGPASS") != NULL, "%s", reds_errmsg());
    ck_assert_msg(!strstr(reds_errmsg(), "second"), "%s", reds_errmsg());
    ASSERT_EVENTS("CONNECT_FAILED(AuthenticationError);PING:AuthenticationError");

    /* A failing callback fails the connect, with its message. */
    vault_set(&v, "rotor", "third", REDS_ERR_DATA);
    forget();
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_AUTH);
    ck_assert_str_eq(reds_errmsg(), "AUTH: the credentials callback failed: the vault is sealed");
    ASSERT_EVENTS("CONNECT_FAILED(AuthenticationError);PING:AuthenticationError");
    vault_set(&v, "rotor", "third", REDS_OK);
    assert_whoami(c, "rotor");
    reds_client_free(c);

    /* From a URL, whose own password the callback overrides. */
    char url[128];
    snprintf(url, sizeof url, "redis://rotor:stale@127.0.0.1:%d", test_server.port);
    reds_options base = {.credentials = ask_vault, .credentials_udata = &v};
    ASSERT_OK(reds_client_from_url(url, &base, &c));
    assert_whoami(c, "rotor");
    reds_client_free(c);
    /* Outside a callback, setting credentials is refused. */
    ASSERT_ERR(reds_credentials_set(NULL, "u", "p"), REDS_ERR_DATA);
    char reply[64];
    test_raw("ACL DELUSER rotor", reply, sizeof reply);
    ck_assert_str_eq(reply, ":1");
}
END_TEST

static const char *const passwords[] = {"pw-one", "pw-two"};

/* After the requirepass tests, whatever happened: no password again. */
static void no_requirepass(void)
{
    for (size_t i = 0; i < 2; i++) {
        reds_options o = {.host = "127.0.0.1", .port = test_server.port, .password = passwords[i]};
        reds_client *c = NULL;
        if (reds_client_new(&o, &c) == REDS_OK) {
            reds_execute_command(c, 4, STRS(S("CONFIG"), S("SET"), S("requirepass"), S("")), NULL);
            reds_client_free(c);
        }
    }
}

START_TEST(credentials_follow_requirepass)
{
    vault v = {PTHREAD_MUTEX_INITIALIZER, "", "pw-one", REDS_OK, 0};
    reds_options o = {.credentials = ask_vault, .credentials_udata = &v};
    reds_client *c = test_client(&o);
    raw_ok("CONFIG SET requirepass pw-one");
    ASSERT_OK(reds_ping(c, NULL, NULL));
    assert_whoami(c, "default");
    /* The password changes (through a connection made with the old one);
     * the callback gives the new one to the next connection. */
    ASSERT_OK(reds_execute_command(c, 4, STRS(S("CONFIG"), S("SET"), S("requirepass"), S("pw-two")),
                                   NULL));
    vault_set(&v, "", "pw-two", REDS_OK);
    ASSERT_OK(reds_pool_disconnect(c));
    ASSERT_OK(reds_ping(c, NULL, NULL));
    ck_assert_int_eq(v.calls, 2);
    /* No password given: no AUTH, and the server refuses commands. */
    vault_set(&v, "", "", REDS_OK);
    ASSERT_OK(reds_pool_disconnect(c));
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_AUTH);
    ck_assert_msg(strstr(reds_errmsg(), "NOAUTH") != NULL, "%s", reds_errmsg());
    reds_client_free(c);
    no_requirepass();
}
END_TEST

/* --------------------------------------------------------------- cluster */

static fixture_cluster FC;
static bool fc_up;

static void cluster_up(void)
{
    fc_up = fixture_cluster_start(&FC) == 0;
}

static void cluster_down(void)
{
    if (fc_up)
        fixture_cluster_stop(&FC);
}

static void setslot(int node, int slot, const char *how, int other)
{
    ck_assert_int_eq(fixture_cluster_setslot(&FC, node, slot, how, other), 0);
}

/* `slot` is served by `to` now, as every primary says. */
static void assign_slot(int slot, int from, int to)
{
    ck_assert_int_eq(fixture_cluster_assign_slot(&FC, slot, from, to), 0);
}

/* The fixture index of the primary the client routes `key` to. */
static int owner(reds_client *c, reds_str key)
{
    size_t m;
    ASSERT_OK(reds_cluster_locate(c, key, &m, NULL));
    reds_cluster_member_list *l = NULL;
    ASSERT_OK(reds_cluster_members(c, &l));
    int i = fixture_cluster_index(&FC, l->items[m].port);
    reds_free(l);
    ck_assert_int_ge(i, 0);
    return i;
}

START_TEST(cluster_redirects)
{
    ck_assert_msg(fc_up, "the cluster did not start");
    reds_host_port seed = {"127.0.0.1", FC.node[0].port};
    reds_options node = {.hooks = &HOOKS};
    reds_cluster_options co = {.node = &node};
    reds_client *c = NULL;
    ASSERT_OK(reds_cluster_new(&seed, 1, &co, &c));
    const char *key = "hooked";
    int slot = reds_cluster_hash_slot(reds_cstr(key));
    int from = owner(c, reds_cstr(key)), to = -1;
    for (int i = 0; i < FIXTURE_CLUSTER_NODES && to < 0; i++)
        if (i != from && fixture_cluster_role(&FC, i) == 'm')
            to = i;
    ck_assert_int_ge(to, 0);
    /* A connection to both, so that no CONNECT comes between. */
    char other[32];
    unsigned k = 0;
    do
        snprintf(other, sizeof other, "k%u", k++);
    while (owner(c, reds_cstr(other)) != to);
    ASSERT_OK(reds_get(c, reds_cstr(key), NULL));
    ASSERT_OK(reds_get(c, reds_cstr(other), NULL));
    forget();

    /* The (empty) slot moves while the client is not looking: MOVED. */
    assign_slot(slot, from, to);
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, reds_cstr(key), &v));
    ck_assert_ptr_null(v);
    ASSERT_EVENTS("REDIRECT(MovedError);GET:OK");
    char addr[64], moved[128];
    const rec *r = event(0);
    ck_assert_str_eq(r->command, "GET");
    ck_assert_str_eq(r->address, tcp_address(addr, sizeof addr, FC.node[from].port));
    ck_assert_int_eq(r->n.slot, slot);
    ck_assert_str_eq(r->target, "127.0.0.1");
    ck_assert_int_eq(r->n.target_port, FC.node[to].port);
    r = event(1);
    ck_assert_str_eq(r->address, tcp_address(addr, sizeof addr, FC.node[to].port));
    ck_assert_uint_eq(r->c.attempts, 2);
    ck_assert_uint_eq(r->c.bytes_out, 2 * resp("GET", key, NULL));
    snprintf(moved, sizeof moved, "-MOVED %d 127.0.0.1:%d\r\n$-1\r\n", slot, FC.node[to].port);
    ck_assert_uint_eq(r->c.bytes_in, strlen(moved));

    /* Migrating back: a key `to` does not have is asked for on `from`,
     * after ASKING. */
    forget();
    setslot(from, slot, "importing", to);
    setslot(to, slot, "migrating", from);
    ASSERT_OK(reds_get(c, reds_cstr(key), &v));
    ck_assert_ptr_null(v);
    ASSERT_EVENTS("REDIRECT(AskError);GET:OK");
    r = event(0);
    ck_assert_str_eq(r->address, tcp_address(addr, sizeof addr, FC.node[to].port));
    ck_assert_int_eq(r->n.target_port, FC.node[from].port);
    r = event(1);
    ck_assert_str_eq(r->address, tcp_address(addr, sizeof addr, FC.node[from].port));
    ck_assert_uint_eq(r->c.attempts, 2);
    ck_assert_uint_eq(r->c.bytes_out, 2 * resp("GET", key, NULL) + resp("ASKING", NULL));
    snprintf(moved, sizeof moved, "-ASK %d 127.0.0.1:%d\r\n+OK\r\n$-1\r\n", slot,
             FC.node[from].port);
    ck_assert_uint_eq(r->c.bytes_in, strlen(moved));
    assign_slot(slot, to, from);

    /* A pipeline across nodes is one event; the slot has moved back
     * meanwhile, so its GET of `key` follows a MOVED and runs again. */
    forget();
    reds_client *p = NULL;
    ASSERT_OK(reds_pipeline_new(c, false, &p));
    ASSERT_OK(reds_get(p, reds_cstr(key), NULL));
    ASSERT_OK(reds_get(p, reds_cstr(other), NULL));
    ASSERT_OK(reds_pipeline_execute(p));
    ASSERT_EVENTS("REDIRECT(MovedError);PIPELINE:OK");
    ck_assert_str_eq(event(0)->command, "GET");
    r = event(1);
    ck_assert_uint_eq(r->c.batch_size, 2);
    ck_assert_uint_eq(r->c.attempts, 2);
    ck_assert_uint_eq(r->c.bytes_out, 2 * resp("GET", key, NULL) + resp("GET", other, NULL));
    reds_client_free(p);
    reds_client_free(c);
}
END_TEST

/* ------------------------------------------------------------------ main */

static Suite *suite(void)
{
    Suite *s = suite_create("hooks");
    TCase *tc = tcase_create("commands");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, command_events);
    tcase_add_test(tc, database_and_unix_socket);
    tcase_add_test(tc, no_hook_set_is_no_hooks);
    tcase_add_test(tc, timeout_outcome);
    tcase_add_test(tc, connection_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("connections");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, close_reasons);
    tcase_add_test(tc, closed_in_a_forked_child);
    tcase_add_test(tc, pool_wait);
    tcase_add_test(tc, retries);
    tcase_add_test(tc, pipelines_are_one_event);
    tcase_add_test(tc, handles_carry_the_hooks);
    tcase_add_test(tc, health_check_ping_is_not_counted);
    tcase_add_test(tc, threads_share_a_hooked_client);
    suite_add_tcase(s, tc);
    tc = tcase_create("credentials");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_add_unchecked_fixture(tc, NULL, no_requirepass);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, credentials_rotate);
    tcase_add_test(tc, credentials_follow_requirepass);
    suite_add_tcase(s, tc);
    tc = tcase_create("cluster");
    tcase_add_unchecked_fixture(tc, cluster_up, cluster_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, cluster_redirects);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
