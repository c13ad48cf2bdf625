/* The non-blocking client (<reds/async.h>): a reds_client whose router
 * queues each command (packed straight into the handle's output buffer,
 * as a pipeline's are) with its converter and completion, and a
 * connection driven by the loop's readiness callbacks. The reader,
 * arena, converters and transport are the blocking client's own
 * (conn.c); only waiting differs.
 *
 * Re-entrancy. Completions run user code that may queue commands,
 * disconnect or free the handle. So an entry is taken off the queue
 * before its completion runs; a lost connection is forgotten (its bytes,
 * its descriptor, `gen` bumped) before any completion is told; and while
 * `depth` says we are inside the handle, freeing it only marks it, the
 * memory going when the outermost call returns. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reds/async.h>

#include "internal.h"
#include "pack.h"

#define FIRST_CAP 4096
#define KEEP_CAP  (256 * 1024) /* an output buffer grown past this is given back when empty */

enum state {
    IDLE,       /* not attached yet, or disconnected by the user */
    CONNECTING, /* TCP connect in progress */
    TLS,        /* TLS handshake in progress */
    READY,      /* connected: commands flow (the AUTH... replies may be pending) */
    BACKOFF,    /* lost; waiting to reconnect */
};

typedef struct pending {
    reds__queued q; /* id, converter, output, outcome */
    reds_async_fn fn;
    void *udata;
    uint64_t deadline; /* reds__now_ms(); 0: none */
    int hs;            /* a connect-time command (its index), or -1 */
    size_t bytes_out; /* its size, packed */
    /* Hooks only: when it was queued. */
    uint64_t start_ns;
    int64_t start_unix_ns;
} pending;

typedef struct async_client {
    reds_client base;
    enum state state;
    reds__conn *conn;
    unsigned gen; /* bumped whenever the connection goes */
    bool user_closed, freed;
    unsigned depth; /* calls into the handle in progress (callbacks may nest) */
    /* The loop, and what it was last asked for. */
    bool attached;
    reds_async_loop loop;
    int wfd, wevents;
    uint64_t timer_at; /* 0: no timer set */
    int tls_want;
    /* Commands packed and not yet written: out[sent, len). */
    char *out;
    size_t sent, len, cap;
    /* The queue of commands in flight, in order: a ring. */
    pending *q;
    size_t head, n, qcap;
    reds_async_fn next_fn;
    void *next_udata;
    uint64_t timeout_ms; /* per command; 0: none */
    uint64_t connect_deadline, reconnect_at;
    int attempt;
    uint64_t connect_start_ns; /* hooks: when the connect began */
    uint64_t reply_at;         /* hooks: where the next reply starts in the stream */
    reds__handshake hs; /* names of the connect-time commands in flight */
    size_t hs_left;
    reds_async_status_fn status_fn;
    void *status_udata;
    /* Pub/sub. */
    bool pubsub;
    reds__subtable subs[REDS__NTABLES];
    reds_async_message_fn notice_fn;
    void *notice_udata;
    reds__shas loaded; /* scripts loaded on this connection (reds__async_preload) */
    bool gap; /* subscriptions were lost with a connection: RECONNECTED is due */
    int64_t restored;
    char cause[512];
} async_client;

static const reds__router async_router;

static async_client *as_async(const reds_client *c)
{
    return c && c->router == &async_router ? (async_client *)c : NULL;
}

static void lose(async_client *a, reds_err err);
static void start_connect(async_client *a);
static void settle(async_client *a);

/* ------------------------------------------------------------ the queue */

static bool queue_grow(async_client *a)
{
    size_t cap = a->qcap ? a->qcap * 2 : 64;
    pending *q = malloc(cap * sizeof *q);
    if (!q)
        return false;
    for (size_t i = 0; i < a->n; i++)
        q[i] = a->q[(a->head + i) & (a->qcap - 1)];
    free(a->q);
    a->q = q;
    a->qcap = cap;
    a->head = 0;
    return true;
}

static pending *push_back(async_client *a)
{
    if (REDS__UNLIKELY(a->n == a->qcap) && !queue_grow(a))
        return NULL;
    return &a->q[(a->head + a->n++) & (a->qcap - 1)];
}

static pending *push_front(async_client *a)
{
    if (a->n == a->qcap && !queue_grow(a))
        return NULL;
    a->head = (a->head - 1) & (a->qcap - 1);
    a->n++;
    return &a->q[a->head];
}

static pending pop(async_client *a)
{
    pending e = a->q[a->head];
    a->head = (a->head + 1) & (a->qcap - 1);
    a->n--;
    return e;
}

/* Hooks: a command's trace, begun when its reply (or its failure) came,
 * dated back to when it was queued. */
static void trace_begin(async_client *a, reds__trace *t, const pending *e)
{
    reds__trace_begin(t, a->base.cfg, reds__queued_name(&e->q), e->q.name != NULL);
    t->start_ns = e->start_ns;
    t->start_unix_ns = e->start_unix_ns;
    t->bytes_out = e->bytes_out;
    if (a->conn)
        reds__trace_share(t, a->conn, 0, 0); /* its server */
}

/* Run e's completion with its outcome, its message set for reds_errmsg();
 * `t` is its trace (hooks), ended first. */
static void complete(async_client *a, pending *e, reds__trace *t)
{
    if (e->q.err)
        reds__error(e->q.err, "%s", e->q.msg ? e->q.msg : "out of memory");
    if (REDS__UNLIKELY(t))
        reds__trace_end(t, 0, e->q.err);
    if (e->fn)
        e->fn(&a->base, e->q.err, e->q.out, e->udata);
    reds__queued_free(&e->q);
}

/* Complete up to `count` queued commands with `err` and `text`. */
static void fail_queued(async_client *a, size_t count, reds_err err, const char *text)
{
    while (count-- && a->n) {
        pending e = pop(a);
        if (e.hs >= 0) {
            a->hs_left--;
            continue;
        }
        reds__queued_fail(&e.q, err, text);
        reds__trace t;
        if (REDS__UNLIKELY(a->base.cfg->hooks))
            trace_begin(a, &t, &e);
        complete(a, &e, a->base.cfg->hooks ? &t : NULL);
    }
}

/* ------------------------------------------------------------- the loop */

/* Tell the loop what to watch now: the socket while connecting, what TLS
 * waits for, or replies (and room to write when bytes wait). */
static void watch(async_client *a)
{
    if (!a->attached)
        return;
    int fd = a->conn ? a->conn->fd : -1, ev = 0;
    if (a->state == CONNECTING)
        ev = REDS_ASYNC_WRITE;
    else if (a->state == TLS)
        ev = a->tls_want;
    else if (a->state == READY)
        ev = REDS_ASYNC_READ | (a->sent < a->len ? REDS_ASYNC_WRITE : 0);
    if (fd == a->wfd && ev == a->wevents)
        return;
    if (a->wfd >= 0 && a->wfd != fd)
        a->loop.watch(a->loop.data, a->wfd, 0);
    if (fd >= 0)
        a->loop.watch(a->loop.data, fd, ev);
    a->wfd = fd;
    a->wevents = fd >= 0 ? ev : 0;
}

/* The earliest time something must happen, 0 for none. Commands share one
 * timeout and are answered in order, so the head's deadline is the
 * earliest of theirs. */
static uint64_t next_due(const async_client *a)
{
    uint64_t due = 0;
    if (a->state == CONNECTING || a->state == TLS || (a->state == READY && a->hs_left))
        due = a->connect_deadline;
    else if (a->state == BACKOFF)
        due = a->reconnect_at;
    if (a->n && a->timeout_ms) {
        uint64_t d = a->q[a->head].deadline;
        if (d && (!due || d < due))
            due = d;
    }
    return due;
}

/* Arm the loop's timer when something is due before it would fire. A
 * timer that fires early (its command completed) is simply set again:
 * the hot path never touches the timer. */
static void schedule(async_client *a)
{
    if (!a->attached)
        return;
    uint64_t due = next_due(a);
    if (!due || (a->timer_at && a->timer_at <= due))
        return;
    uint64_t now = reds__now_ms();
    a->timer_at = due;
    a->loop.timer(a->loop.data, due > now ? (long)(due - now) : 0);
}

static void detach(async_client *a)
{
    if (!a->attached)
        return;
    if (a->wfd >= 0)
        a->loop.watch(a->loop.data, a->wfd, 0);
    a->loop.timer(a->loop.data, -1);
    a->attached = false;
    a->wfd = -1;
    a->wevents = 0;
    a->timer_at = 0;
    if (a->loop.detach)
        a->loop.detach(a->loop.data);
}

/* ----------------------------------------------------- the connection */

static void status(async_client *a, reds_err err)
{
    if (a->status_fn && !a->freed)
        a->status_fn(&a->base, err, a->status_udata);
}

/* Forget the connection (its bytes and descriptor) before anyone hears of
 * it, then tell every queued command `err` (the message set), then plan
 * the reconnect. */
static void lose(async_client *a, reds_err err)
{
    char text[512];
    snprintf(text, sizeof text, "%s", reds_errmsg());
    size_t count = a->n;
    /* Hooks: a connect that failed (before the set-up commands went). */
    if (REDS__UNLIKELY(a->base.cfg->hooks) && !a->freed && !a->user_closed &&
        (a->state == CONNECTING || a->state == TLS || a->state == IDLE || a->state == BACKOFF))
        reds__hook_connect_failed(a->base.cfg, NULL, a->connect_start_ns, err);
    if (a->conn) {
        if (a->wfd == a->conn->fd && a->attached) {
            a->loop.watch(a->loop.data, a->wfd, 0);
            a->wfd = -1;
            a->wevents = 0;
        }
        a->conn->broken = true;
        reds__conn_close(a->conn);
        a->conn = NULL;
        if (a->pubsub && !a->gap && a->state == READY && !a->hs_left) {
            a->gap = true;
            snprintf(a->cause, sizeof a->cause, "%s", text);
        }
    }
    a->gen++;
    a->loaded.n = 0; /* a restarted server may have none of them */
    a->sent = a->len = 0;
    a->tls_want = 0;
    if (a->user_closed || a->freed) {
        a->state = IDLE;
    } else {
        a->state = BACKOFF;
        a->reconnect_at = reds__now_ms() + reds__backoff_ms(a->base.cfg, a->attempt++);
    }
    a->depth++;
    status(a, err);
    fail_queued(a, count, err, text);
    a->depth--;
    if (!a->freed) {
        watch(a);
        schedule(a);
    }
}

/* Connected and set up (the AUTH... replies are in): up for good. */
static void set_up(async_client *a)
{
    a->attempt = 0;
    status(a, REDS_OK);
}

/* Connected and, for TLS, encrypted: queue the connect-time commands and
 * the subscriptions ahead of everything queued meanwhile. */
static void ready(async_client *a)
{
    reds__handshake hs;
    char *subs = NULL;
    size_t nsubs = 0;
    reds_err err = reds__handshake_pack(a->base.cfg, NULL, &hs);
    if (!err && a->pubsub)
        err = reds__subs_pack(a->subs, &subs, &nsubs);
    size_t need = hs.len + nsubs + a->len;
    char *out = err ? NULL : malloc(need > FIRST_CAP ? need : FIRST_CAP);
    if (!err && !out)
        err = reds__error(REDS_ERR_NOMEM, "out of memory");
    for (size_t i = hs.n; !err && i-- > 0;) {
        pending *e = push_front(a);
        if (!e) {
            err = reds__error(REDS_ERR_NOMEM, "out of memory");
            break;
        }
        memset(e, 0, sizeof *e);
        e->q.id = REDS__CMD_NONE;
        e->hs = (int)i;
        a->hs_left++;
    }
    if (err) {
        reds__handshake_free(&hs);
        free(subs);
        free(out);
        lose(a, err);
        return;
    }
    if (hs.len)
        memcpy(out, hs.buf, hs.len);
    if (nsubs)
        memcpy(out + hs.len, subs, nsubs);
    memcpy(out + hs.len + nsubs, a->out, a->len);
    reds__handshake_free(&hs);
    free(subs);
    free(a->out);
    a->hs = hs;
    a->out = out;
    a->cap = need > FIRST_CAP ? need : FIRST_CAP;
    a->len = need;
    a->sent = 0;
    a->restored = 0;
    for (int t = 0; t < REDS__NTABLES; t++)
        a->restored += (int64_t)a->subs[t].count;
    a->state = READY;
    if (REDS__UNLIKELY(a->base.cfg->hooks)) {
        reds__hook_connect(a->conn, a->connect_start_ns);
        a->reply_at = a->conn->reply_begin;
    }
    if (!a->hs_left)
        set_up(a);
}

static void start_connect(async_client *a)
{
    reds__conn *conn;
    if (REDS__UNLIKELY(a->base.cfg->hooks))
        a->connect_start_ns = reds__mono_ns();
    reds_err err = reds__conn_start(a->base.cfg, &conn);
    int ms = a->base.cfg->connect_timeout_ms;
    a->connect_deadline = ms ? reds__now_ms() + (uint64_t)ms : 0;
    if (err) {
        lose(a, err);
        return;
    }
    a->conn = conn;
    a->state = CONNECTING;
}

/* Advance TLS; on to ready() when done. */
static void tls_step(async_client *a)
{
    reds_err err = reds__tls_handshake(a->conn, &a->tls_want);
    if (err)
        lose(a, err);
    else if (!a->tls_want)
        ready(a);
}

static void connected(async_client *a)
{
    reds_err err = reds__conn_connected(a->conn);
    if (!err && a->base.cfg->tls) {
        err = reds__tls_begin(a->conn);
        if (!err) {
            a->state = TLS;
            tls_step(a);
            return;
        }
    }
    if (err)
        lose(a, err);
    else
        ready(a);
}

/* --------------------------------------------------------------- replies */

/* A connect-time command's reply: any refusal ends the connection. */
static void handshake_reply(async_client *a, pending *e, const reds_reply *reply)
{
    reds_err err = reds__handshake_check(&a->hs, (size_t)e->hs, reply);
    reds__arena_finish(&a->conn->arena);
    if (err) {
        lose(a, err);
        return;
    }
    if (!--a->hs_left)
        set_up(a);
}

static void notice(async_client *a, reds_pubsub_message *m)
{
    if (a->notice_fn)
        a->notice_fn(&a->base, m, a->notice_udata);
}

/* A message of a subscribed connection. */
static void message(async_client *a, const reds_reply *reply)
{
    reds__arena *arena = &a->conn->arena;
    reds_pubsub_message *m;
    reds_err err = reds__pubsub_parse(reply, arena, &m);
    if (err) {
        arena->result = NULL;
        reds__arena_finish(arena);
        if (err == REDS_ERR_INVALID_RESPONSE || err == REDS_ERR_NOMEM)
            lose(a, err); /* out of step with the server */
        else
            status(a, err); /* an error reply: a refused subscription */
        return;
    }
    reds__arena_finish(arena);
    int t = reds__subs_table(m->kind);
    reds__sub *s = NULL;
    switch (m->kind) {
    case REDS_PUBSUB_MESSAGE:
    case REDS_PUBSUB_SMESSAGE:
        s = reds__st_find(&a->subs[t], m->channel.ptr, m->channel.len);
        break;
    case REDS_PUBSUB_PMESSAGE:
        s = reds__st_find(&a->subs[t], m->pattern.ptr, m->pattern.len);
        break;
    case REDS_PUBSUB_UNSUBSCRIBE:
    case REDS_PUBSUB_PUNSUBSCRIBE:
    case REDS_PUBSUB_SUNSUBSCRIBE: {
        reds__sub *gone =
            m->channel.ptr ? reds__st_find(&a->subs[t], m->channel.ptr, m->channel.len) : NULL;
        if (gone && gone->leaving)
            reds__st_remove(&a->subs[t], gone);
        break;
    }
    default:
        break;
    }
    if (s && !s->leaving && s->fn.async)
        s->fn.async(&a->base, m, s->udata);
    else if (!s)
        notice(a, m);
    reds_free(m);
}

static void report_gap(async_client *a)
{
    reds_pubsub_message m;
    memset(&m, 0, sizeof m);
    m.kind = REDS_PUBSUB_RECONNECTED;
    m.data = reds_cstr(a->cause);
    m.count = a->restored;
    a->gap = false;
    notice(a, &m);
}

/* One reply: the oldest command's, or a message. */
static void dispatch(async_client *a, const reds_reply *reply)
{
    if (REDS__UNLIKELY(a->gap))
        report_gap(a);
    if (REDS__UNLIKELY(!a->n)) {
        if (a->pubsub) {
            message(a, reply);
            return;
        }
        reds__arena_finish(&a->conn->arena);
        lose(a, reds__error(REDS_ERR_INVALID_RESPONSE,
                            "Protocol error: a reply came with no command waiting for it"));
        return;
    }
    pending e = pop(a);
    if (REDS__UNLIKELY(e.hs >= 0)) {
        handshake_reply(a, &e, reply);
        return;
    }
    reds__trace t, *traced = NULL;
    if (REDS__UNLIKELY(a->base.cfg->hooks)) {
        trace_begin(a, &t, &e); /* an error reply's status goes to it */
        t.bytes_in = a->conn->reply_begin - a->reply_at;
        a->reply_at = a->conn->reply_begin;
        traced = &t;
    }
    if (e.fn)
        reds__queued_deliver(&e.q, &a->base, &a->conn->arena, reply);
    else if (reply->type == REDS_REPLY_ERROR) /* its outcome, for hooks */
        reds__queued_deliver(&e.q, &a->base, &a->conn->arena, reply);
    else
        reds__arena_finish(&a->conn->arena);
    complete(a, &e, traced);
}

static void read_replies(async_client *a)
{
    unsigned gen = a->gen;
    reds__conn *conn = a->conn;
    for (;;) {
        size_t got;
        reds_err err = reds__conn_pull(conn, &got);
        if (err) {
            lose(a, err);
            return;
        }
        if (!got)
            return;
        for (;;) {
            reds_reply *reply;
            err = reds__conn_next(conn, &reply);
            if (err) {
                lose(a, err);
                return;
            }
            if (!reply)
                break;
            dispatch(a, reply);
            if (a->gen != gen)
                return; /* lost, disconnected or freed by a completion */
        }
        /* A full slice may have left more; TLS may hold a whole record. */
        if (got < 16 * 1024 && !conn->io->pending(conn))
            return;
    }
}

/* Write what waits, as far as the socket takes it. */
static void flush(async_client *a)
{
    if (a->state != READY || a->sent == a->len)
        return;
    reds_err err;
    ssize_t n = reds__conn_send_some(a->conn, a->out + a->sent, a->len - a->sent, &err);
    if (n < 0) {
        lose(a, err);
        return;
    }
    a->sent += (size_t)n;
    if (a->sent == a->len) {
        a->sent = a->len = 0;
        if (a->cap > KEEP_CAP) {
            char *small = malloc(FIRST_CAP);
            if (small) {
                free(a->out);
                a->out = small;
                a->cap = FIRST_CAP;
            }
        }
    }
}

/* ------------------------------------------------------------- timeouts */

/* A late command that was never sent (no connection yet, or being made):
 * it times out alone, its bytes taken out of what waits to be written
 * (which, before a connection is ready, is exactly the queued commands'
 * bytes in order). False when a completion disconnected or freed. */
static bool expire_unsent(async_client *a, uint64_t now)
{
    char where[300], text[400];
    reds__conn_describe(a->base.cfg, where, sizeof where);
    snprintf(text, sizeof text, "Timeout: not sent within %llu ms: no connection to %s",
             (unsigned long long)a->timeout_ms, where);
    unsigned gen = a->gen;
    while (a->n && a->q[a->head].deadline && now >= a->q[a->head].deadline) {
        pending e = pop(a);
        memmove(a->out, a->out + e.bytes_out, a->len - e.bytes_out);
        a->len -= e.bytes_out;
        reds__queued_fail(&e.q, REDS_ERR_TIMEOUT, text);
        reds__trace t;
        if (REDS__UNLIKELY(a->base.cfg->hooks))
            trace_begin(a, &t, &e);
        a->depth++;
        complete(a, &e, a->base.cfg->hooks ? &t : NULL);
        a->depth--;
        if (a->gen != gen || a->freed || a->user_closed)
            return false;
    }
    return true;
}

static void expire(async_client *a)
{
    uint64_t now = reds__now_ms();
    if (a->state != READY && !expire_unsent(a, now))
        return;
    if (a->state == BACKOFF) {
        if (now >= a->reconnect_at)
            start_connect(a);
        return;
    }
    bool connecting = a->state == CONNECTING || a->state == TLS || (a->state == READY && a->hs_left);
    if (connecting && a->connect_deadline && now >= a->connect_deadline) {
        char where[300];
        reds__conn_describe(a->base.cfg, where, sizeof where);
        lose(a, reds__error(REDS_ERR_TIMEOUT, "Timeout connecting to %s (connect_timeout_ms %d)",
                            where, a->base.cfg->connect_timeout_ms));
        return;
    }
    if (!a->n || !a->q[a->head].deadline || now < a->q[a->head].deadline)
        return;
    /* The oldest command is late: its reply may still come, so the
     * connection cannot carry anything else. It is told first. */
    pending e = pop(a);
    char where[300], text[400];
    reds__conn_describe(a->base.cfg, where, sizeof where);
    snprintf(text, sizeof text, "Timeout: no reply from %s within %llu ms", where,
             (unsigned long long)a->timeout_ms);
    reds__queued_fail(&e.q, REDS_ERR_TIMEOUT, text);
    reds__trace t;
    if (REDS__UNLIKELY(a->base.cfg->hooks))
        trace_begin(a, &t, &e);
    unsigned gen = a->gen;
    a->depth++;
    complete(a, &e, a->base.cfg->hooks ? &t : NULL);
    a->depth--;
    if (a->gen == gen && !a->freed)
        lose(a, reds__error(REDS_ERR_CONNECTION,
                            "Connection to %s closed: an earlier command timed out", where));
}

/* --------------------------------------------------------- entry points */

/* After every entry point: write what callbacks queued, update the loop,
 * and free a handle freed meanwhile. */
static void settle(async_client *a)
{
    if (!a->freed && !a->depth)
        flush(a); /* a failed write's completions may free the handle */
    if (a->freed) {
        if (!a->depth)
            reds__client_free_memory(&a->base);
        return;
    }
    if (!a->depth) {
        watch(a);
        schedule(a);
    }
}

void reds_async_handle_events(reds_client *c, int events)
{
    async_client *a = as_async(c);
    if (!a || a->freed)
        return;
    a->depth++;
    switch (a->state) {
    case CONNECTING:
        connected(a);
        break;
    case TLS:
        tls_step(a);
        break;
    case READY:
        if (events & REDS_ASYNC_READ)
            read_replies(a);
        break;
    default:
        break;
    }
    a->depth--;
    settle(a);
}

void reds_async_handle_timer(reds_client *c)
{
    async_client *a = as_async(c);
    if (!a || a->freed)
        return;
    a->timer_at = 0;
    a->depth++;
    expire(a);
    a->depth--;
    settle(a);
}

/* ---------------------------------------------------------------- router */

static char *async_reserve(reds_client *c, size_t bound)
{
    async_client *a = (async_client *)c;
    if (a->sent && bound > a->cap - a->len) { /* make room by dropping what left */
        memmove(a->out, a->out + a->sent, a->len - a->sent);
        a->len -= a->sent;
        a->sent = 0;
    }
    return reds__buf_reserve(&a->out, &a->cap, a->len, bound);
}

static reds_err async_run(reds_client *c, reds__cmd *cmd)
{
    async_client *a = (async_client *)c;
    reds_async_fn fn = a->next_fn;
    void *udata = a->next_udata;
    a->next_fn = NULL;
    a->next_udata = NULL;
    if (REDS__UNLIKELY(a->user_closed || a->freed))
        return reds__error(REDS_ERR_CONNECTION, "%s: the async handle is disconnected",
                           reds__cmd_name(cmd));
    if (REDS__UNLIKELY(a->pubsub))
        return reds__error(REDS_ERR_PUBSUB,
                           "%s: refused: the handle is subscribed, and a subscribed "
                           "connection takes no other command (use another handle)",
                           reds__cmd_name(cmd));
    uint32_t flags = reds__command_flags(cmd->id);
    if (REDS__UNLIKELY(flags & REDS_CMD_DEDICATED_API))
        return reds__error(REDS_ERR_DATA, "%s: refused: use reds_async_subscribe() and friends",
                           reds__cmd_name(cmd));
    pending *e = push_back(a);
    if (!e)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    reds__queued_init(&e->q, cmd);
    if (!fn)
        e->q.out = NULL; /* nobody waits: never write to it */
    e->fn = fn;
    e->udata = udata;
    e->hs = -1;
    e->deadline = a->timeout_ms ? reds__now_ms() + a->timeout_ms : 0;
    e->bytes_out = cmd->len;
    if (REDS__UNLIKELY(c->cfg->hooks))
        reds__trace_clock(&e->start_ns, &e->start_unix_ns);
    a->len += cmd->len;
    if (!a->depth) {
        watch(a);
        if (a->timeout_ms)
            schedule(a);
    }
    return REDS_OK;
}

static void async_destroy(reds_client *c)
{
    async_client *a = (async_client *)c;
    a->freed = true;
    a->next_fn = NULL;
    a->depth++;
    reds__error(REDS_ERR_CONNECTION, "the async handle was freed");
    if (a->conn)
        lose(a, REDS_ERR_CONNECTION);
    fail_queued(a, a->n, REDS_ERR_CONNECTION, "the async handle was freed");
    a->depth--;
    detach(a);
    for (int t = 0; t < REDS__NTABLES; t++)
        reds__st_free(&a->subs[t]);
    free(a->out);
    a->out = NULL;
    free(a->q);
    a->q = NULL;
    reds__shas_free(&a->loaded);
}

static bool async_deferred(reds_client *c)
{
    return ((async_client *)c)->depth > 0;
}

static const reds__router async_router = {
    .kind = "non-blocking (async) handle",
    .run = async_run,
    .destroy = async_destroy,
    .reserve = async_reserve,
    .deferred = async_deferred,
};

/* ------------------------------------------------------------ public API */

reds_err reds_async_new(const reds_options *opts, reds_client **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_async_new: out is NULL");
    *out = NULL;
    if (opts && opts->cache_max_bytes)
        return reds__error(REDS_ERR_DATA, "cache_max_bytes: client-side caching is for pooled "
                                          "clients, not async handles");
    reds__config *cfg;
    reds_err err = reds__config_new(opts, &cfg);
    if (err)
        return err;
    async_client *a = calloc(1, sizeof *a);
    char *buf = malloc(FIRST_CAP);
    if (!a || !buf) {
        free(a);
        free(buf);
        reds__config_free(cfg);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    a->base.router = &async_router;
    a->base.cfg = cfg;
    a->out = buf;
    a->cap = FIRST_CAP;
    a->wfd = -1;
    int ms = cfg->command_timeout_ms ? cfg->command_timeout_ms : cfg->socket_timeout_ms;
    a->timeout_ms = ms > 0 ? (uint64_t)ms : 0;
    *out = &a->base;
    return REDS_OK;
}

reds_err reds_async_from_url(const char *url, const reds_options *base, reds_client **out)
{
    return reds__from_url("reds_async_from_url", url, base, reds_async_new, out);
}

bool reds_async_is(const reds_client *c)
{
    return as_async(c) != NULL;
}

void reds_async_then(reds_client *c, reds_async_fn fn, void *udata)
{
    async_client *a = as_async(c);
    if (a) {
        a->next_fn = fn;
        a->next_udata = udata;
    }
}

reds_err reds_async_result(reds_client *c, reds_err err)
{
    async_client *a = as_async(c);
    /* Refused before it reached the handle (an invalid argument): the
     * completion it left must not go to a later command. */
    if (a && err) {
        a->next_fn = NULL;
        a->next_udata = NULL;
    }
    return err;
}

size_t reds_async_pending(const reds_client *c)
{
    const async_client *a = as_async(c);
    return a ? a->n - a->hs_left : 0;
}

size_t reds__async_work(const reds_client *c)
{
    const async_client *a = as_async(c);
    if (!a)
        return 0;
    size_t subs = 0;
    for (int t = 0; a->pubsub && t < REDS__NTABLES; t++)
        subs += a->subs[t].count;
    return a->n - a->hs_left + (subs > 0);
}

bool reds_async_connected(const reds_client *c)
{
    const async_client *a = as_async(c);
    return a && a->state == READY && !a->hs_left;
}

void reds_async_on_status(reds_client *c, reds_async_status_fn fn, void *udata)
{
    async_client *a = as_async(c);
    if (a) {
        a->status_fn = fn;
        a->status_udata = udata;
    }
}

static reds_err not_async(const char *fn, const reds_client *c)
{
    return reds__error(REDS_ERR_DATA, "%s: %s", fn,
                       c ? "the handle is not an async handle" : "the handle is NULL");
}

reds_err reds_async_attach(reds_client *c, const reds_async_loop *loop)
{
    async_client *a = as_async(c);
    if (!a || a->freed)
        return not_async("reds_async_attach", c);
    if (loop && (!loop->watch || !loop->timer))
        return reds__error(REDS_ERR_DATA, "reds_async_attach: the loop needs watch and timer");
    detach(a);
    if (!loop)
        return REDS_OK;
    a->loop = *loop;
    a->attached = true;
    a->depth++;
    if (a->state == IDLE && !a->user_closed)
        start_connect(a);
    a->depth--;
    settle(a);
    return REDS_OK;
}

void reds_async_disconnect(reds_client *c)
{
    async_client *a = as_async(c);
    if (!a || a->freed || a->user_closed)
        return;
    a->user_closed = true;
    a->depth++;
    reds__error(REDS_ERR_CONNECTION, "disconnected by reds_async_disconnect()");
    if (a->conn || a->state == BACKOFF)
        lose(a, REDS_ERR_CONNECTION);
    else
        fail_queued(a, a->n, REDS_ERR_CONNECTION, "disconnected by reds_async_disconnect()");
    a->state = IDLE;
    a->depth--;
    settle(a);
}

reds_err reds_async_reconnect(reds_client *c)
{
    async_client *a = as_async(c);
    if (!a || a->freed)
        return not_async("reds_async_reconnect", c);
    a->user_closed = false;
    a->depth++;
    if (a->state == IDLE || a->state == BACKOFF) {
        a->state = IDLE;
        if (a->attached)
            start_connect(a);
    }
    a->depth--;
    settle(a);
    return REDS_OK;
}

reds_err reds__async_preload(reds_client *c, const char *sha, reds_str source)
{
    async_client *a = (async_client *)c;
    if (reds__shas_has(&a->loaded, sha))
        return REDS_OK;
    /* The load has no completion of its own: the next one is the caller's. */
    reds_async_fn fn = a->next_fn;
    void *udata = a->next_udata;
    a->next_fn = NULL;
    reds_err err = reds__script_load(c, source);
    a->next_fn = fn;
    a->next_udata = udata;
    return err ? err : reds__shas_add(&a->loaded, sha);
}

/* ---------------------------------------------------------------- pub/sub */

void reds_async_on_notice(reds_client *c, reds_async_message_fn fn, void *udata)
{
    async_client *a = as_async(c);
    if (a) {
        a->notice_fn = fn;
        a->notice_udata = udata;
    }
}

/* Queue `name` with `count` arguments (0: none) when connected; otherwise
 * the next connection subscribes from the tables. */
static reds_err send_subs(async_client *a, const char *name, const reds_str *args, size_t count)
{
    if (a->state != READY)
        return REDS_OK;
    size_t bound = REDS__BULK_OVERHEAD * (count + 2) + strlen(name);
    for (size_t i = 0; i < count; i++)
        bound += args[i].len;
    char *p = async_reserve(&a->base, bound);
    if (!p)
        return reds__last_err();
    char *start = p;
    p = reds__put_len(p, '*', count + 1);
    p = reds__put_str(p, reds_cstr(name));
    for (size_t i = 0; i < count; i++)
        p = reds__put_str(p, args[i]);
    a->len += (size_t)(p - start);
    if (!a->depth)
        watch(a);
    return REDS_OK;
}

static reds_err check_subs(const char *fn, async_client *a, const reds_str *args, size_t count,
                           bool need)
{
    if (!a || a->freed)
        return reds__error(REDS_ERR_DATA, "%s: the handle is not an async handle", fn);
    if (a->user_closed)
        return reds__error(REDS_ERR_CONNECTION, "%s: the async handle is disconnected", fn);
    return reds__subs_check(fn, args, count, need);
}

static reds_err subscribe(reds_client *c, int table, const char *fn, const reds_str *args,
                          size_t count, reds_async_message_fn handler, void *udata)
{
    async_client *a = as_async(c);
    reds_err err = check_subs(fn, a, args, count, true);
    if (err)
        return err;
    size_t busy = reds_async_pending(c);
    if (!a->pubsub && busy)
        return reds__error(REDS_ERR_PUBSUB,
                           "%s: %zu commands are still in flight: subscribe once they completed",
                           fn, busy);
    for (size_t i = 0; i < count; i++)
        if (!reds__st_put(&a->subs[table], args[i], (reds__handler){.async = handler}, udata))
            return reds__error(REDS_ERR_NOMEM, "out of memory");
    a->pubsub = true;
    return send_subs(a, reds__subs_commands[table].subscribe, args, count);
}

static reds_err unsubscribe(reds_client *c, int table, const char *fn, const reds_str *args,
                            size_t count)
{
    async_client *a = as_async(c);
    reds_err err = check_subs(fn, a, args, count, false);
    if (err)
        return err;
    reds__subtable *t = &a->subs[table];
    reds__st_leave_names(t, args, count);
    /* Without a connection no confirmation will come. */
    if (a->state != READY)
        reds__st_remove_if(t, reds__st_is_leaving, NULL);
    return send_subs(a, reds__subs_commands[table].unsubscribe, args, count);
}

reds_err reds_async_subscribe(reds_client *c, const reds_str *channels, size_t count,
                              reds_async_message_fn fn, void *udata)
{
    return subscribe(c, REDS__CHANNELS, "reds_async_subscribe", channels, count, fn, udata);
}

reds_err reds_async_psubscribe(reds_client *c, const reds_str *patterns, size_t count,
                               reds_async_message_fn fn, void *udata)
{
    return subscribe(c, REDS__PATTERNS, "reds_async_psubscribe", patterns, count, fn, udata);
}

reds_err reds_async_ssubscribe(reds_client *c, const reds_str *channels, size_t count,
                               reds_async_message_fn fn, void *udata)
{
    return subscribe(c, REDS__SHARDS, "reds_async_ssubscribe", channels, count, fn, udata);
}

reds_err reds_async_unsubscribe(reds_client *c, const reds_str *channels, size_t count)
{
    return unsubscribe(c, REDS__CHANNELS, "reds_async_unsubscribe", channels, count);
}

reds_err reds_async_punsubscribe(reds_client *c, const reds_str *patterns, size_t count)
{
    return unsubscribe(c, REDS__PATTERNS, "reds_async_punsubscribe", patterns, count);
}

reds_err reds_async_sunsubscribe(reds_client *c, const reds_str *channels, size_t count)
{
    return unsubscribe(c, REDS__SHARDS, "reds_async_sunsubscribe", channels, count);
}
