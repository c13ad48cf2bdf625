/* Pipelines and transactions: a reds_client whose router queues commands
 * (packed straight into one output buffer by reds__cmd_begin) and runs
 * them in one write at execution; WATCH pins a connection and switches
 * to running commands at once until MULTI. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <reds/pipeline.h>

#include "command_ids.h"
#include "convert.h"
#include "internal.h"
#include "pack.h"

/* The buffer always starts with MULTI, so a transaction is sent from
 * offset 0 and a plain pipeline from PREFIX: no copy either way. */
static const char multi_cmd[] = "*1\r\n$5\r\nMULTI\r\n";
static const char exec_cmd[] = "*1\r\n$4\r\nEXEC\r\n";
static const char unwatch_cmd[] = "*1\r\n$7\r\nUNWATCH\r\n";
#define PREFIX    (sizeof multi_cmd - 1)
#define EXEC_LEN  (sizeof exec_cmd - 1)
#define FIRST_CAP 4096
/* A buffer grown beyond this by one big batch is given back afterwards. */
#define KEEP_CAP (1024 * 1024)

typedef struct entry {
    reds__queued cmd;
    unsigned preload; /* hidden SCRIPT LOADs sent just before this command */
    bool closes;      /* the server closes the connection after it (QUIT) */
} entry;

typedef struct pipeline {
    reds_client base;
    bool transaction;
    bool multi;       /* reds_pipeline_multi() was called */
    bool watching;    /* WATCH was sent on conn: immediate mode until multi */
    bool watch_lost;  /* conn failed while watching: WatchError until reset */
    bool executed;    /* q holds the outcome of the last execution */
    bool hiding;      /* the command being queued is a hidden preload */
    reds__conn *conn; /* pinned by WATCH */
    char *buf;
    size_t len, cap;
    entry *q;
    size_t n, qcap;
    size_t nheld;       /* entries of q holding memory: a message, a name */
    unsigned pending;   /* hidden preloads not yet followed by a command */
    reds__shas loaded; /* scripts preloaded in this batch */
    reds__arena tmp; /* each EXEC element is cloned here before converting */
} pipeline;

static const reds__router pipeline_router;

static pipeline *as_pipeline(const reds_client *c, const char *fn)
{
    if (!c || c->router != &pipeline_router) {
        reds__error(REDS_ERR_DATA, "%s: %s", fn,
                    c ? "the handle is not a pipeline" : "the pipeline is NULL");
        return NULL;
    }
    return (pipeline *)c;
}

/* ------------------------------------------------------------ the queue */

char *reds__buf_grow(char **buf, size_t *cap, size_t len, size_t bound)
{
    size_t grown = *cap;
    while (bound > grown - len) {
        if (grown > SIZE_MAX / 2) {
            reds__error(REDS_ERR_NOMEM, "pipeline: out of memory");
            return NULL;
        }
        grown *= 2;
    }
    char *bigger = realloc(*buf, grown);
    if (!bigger) {
        reds__error(REDS_ERR_NOMEM, "pipeline: out of memory for %zu bytes", grown);
        return NULL;
    }
    *buf = bigger;
    *cap = grown;
    return bigger + len;
}

static char *pipe_reserve(reds_client *c, size_t bound)
{
    pipeline *p = (pipeline *)c;
    return reds__buf_reserve(&p->buf, &p->cap, p->len, bound);
}

static void forget_results(pipeline *p)
{
    for (size_t i = 0; p->nheld && i < p->n; i++)
        reds__queued_free(&p->q[i].cmd);
    p->nheld = 0;
    p->n = 0;
    p->executed = false;
}

static reds_err queue(pipeline *p, const reds__cmd *cmd, uint32_t flags)
{
    if (p->executed)
        forget_results(p);
    if (p->hiding) {
        p->pending++;
        p->len += cmd->len;
        return REDS_OK;
    }
    if (REDS__UNLIKELY(p->n == p->qcap)) {
        size_t cap = p->qcap ? p->qcap * 2 : 64;
        entry *q = realloc(p->q, cap * sizeof *q);
        if (!q)
            return reds__error(REDS_ERR_NOMEM, "pipeline: out of memory");
        p->q = q;
        p->qcap = cap;
    }
    entry *e = &p->q[p->n++];
    p->nheld += reds__queued_init(&e->cmd, cmd);
    e->preload = p->pending;
    e->closes = (flags & REDS_CMD_CLOSES_CONNECTION) != 0;
    p->pending = 0;
    p->len += cmd->len;
    return REDS_OK;
}

/* ---------------------------------------------- queued commands' fate */

size_t reds__queued_label(reds__queued *q, const reds__cmd *cmd)
{
    q->name = strdup(reds__cmd_name(cmd));
    return q->name != NULL;
}

void reds__queued_free(reds__queued *q)
{
    free(q->msg);
    q->msg = NULL;
    free(q->name);
    q->name = NULL;
}

const char *reds__queued_name(const reds__queued *q)
{
    return q->name ? q->name : reds__command_name(q->id);
}

size_t reds__queued_fail(reds__queued *q, reds_err err, const char *text)
{
    const char *name = reds__queued_name(q);
    size_t size = strlen(name) + strlen(text) + 3;
    size_t first = q->err || q->name ? 0 : 1;
    char *msg = malloc(size);
    if (msg)
        snprintf(msg, size, "%s: %s", name, text);
    free(q->msg);
    q->msg = msg;
    q->err = err;
    return first;
}

const char *reds__queued_text(const reds__queued *q)
{
    return q->msg ? q->msg + strlen(reds__queued_name(q)) + 2 : "out of memory";
}

size_t reds__queued_deliver(reds__queued *q, reds_client *c, reds__arena *a,
                            const reds_reply *reply)
{
    if (reply->type == REDS_REPLY_ERROR) {
        reds__trace_status(reply->str, reply->len);
        size_t first = q->err ? 0
                              : reds__queued_fail(q, reds__error_from_reply(reply->str, reply->len),
                                                  reply->str);
        reds__arena_finish(a);
        return first;
    }
    if (q->err || !q->out) { /* failed already (a preload), or discarded */
        reds__arena_finish(a);
        return 0;
    }
    /* Not an error reply: reds__deliver() needs no bytes to name it. */
    reds__cmd cmd;
    cmd.id = q->id;
    cmd.conv = q->conv;
    cmd.out = q->out;
    reds_err err = reds__deliver(c, &cmd, a, reply);
    return err ? reds__queued_fail(q, err, reds_errmsg()) : 0;
}

reds_err reds__queued_report(const reds__queued *q, size_t i, size_t n)
{
    return reds__error(q->err, "command %zu of %zu (%s): %s", i + 1, n, reds__queued_name(q),
                       reds__queued_text(q));
}

reds_err reds__queued_result(const reds__queued *q, const char **msg)
{
    if (msg)
        *msg = !q->err ? "" : q->msg ? q->msg : "out of memory";
    return q->err;
}

static void set_err(pipeline *p, entry *e, reds_err err, const char *text)
{
    p->nheld += reds__queued_fail(&e->cmd, err, text);
}

/* ------------------------------------------------------ immediate mode */

static void release_conn(pipeline *p)
{
    if (p->conn)
        reds__client_release(p->base.parent, p->conn);
    p->conn = NULL;
}

/* A connection pinned before fork() is the parent's: never touch it. */
static bool forked(const reds__conn *conn)
{
    return conn->fork_generation !=
           atomic_load_explicit(&reds__fork_generation, memory_order_relaxed);
}

#define FORKED "the process forked: the connection belongs to the parent"

/* A watched connection failed: the watch is void, and the transaction
 * must be retried (redis-py raises WatchError here too). */
static reds_err lose_watch(pipeline *p, const char *what, const char *reason)
{
    char why[256];
    snprintf(why, sizeof why, "%s", reason);
    release_conn(p);
    p->watch_lost = true;
    return reds__error(REDS_ERR_WATCH,
                       "%s: the connection failed while watching keys (%s); "
                       "reset the pipeline and try again",
                       what, why);
}

static reds_err watch_lost_err(const char *what)
{
    return reds__error(REDS_ERR_WATCH,
                       "%s: the connection failed while watching keys; reset "
                       "the pipeline and try again",
                       what);
}

/* Send one command made by hand (WATCH, UNWATCH) on the pinned connection. */
static reds_err send_now(pipeline *p, uintptr_t id, const char *buf, size_t len)
{
    reds__cmd cmd;
    cmd.buf = (char *)buf;
    cmd.len = len;
    cmd.id = id;
    cmd.conv = reds__conv_ok;
    cmd.out = NULL;
    return reds__roundtrip(&p->base, p->conn, &cmd);
}

/* ------------------------------------------------------------- routing */

bool reds__pipeline_owns(uintptr_t id)
{
    return id == REDS__CMD_MULTI || id == REDS__CMD_EXEC || id == REDS__CMD_DISCARD ||
           id == REDS__CMD_WATCH || id == REDS__CMD_UNWATCH;
}

static reds_err pipe_run(reds_client *c, reds__cmd *cmd)
{
    pipeline *p = (pipeline *)c;
    /* One flag test keeps the common commands off the slow checks: the
     * transaction commands are all flagged noscript. */
    uint32_t flags = reds__command_flags(cmd->id);
    if (REDS__UNLIKELY(flags & (REDS_CMD_NOSCRIPT | REDS_CMD_CONNECTION_SCOPE))) {
        if (reds__pipeline_owns(cmd->id))
            return reds__error(REDS_ERR_DATA,
                               "%s: use reds_pipeline_execute/multi/watch/"
                               "unwatch/discard on a pipeline",
                               reds__cmd_name(cmd));
        if ((flags & REDS_CMD_CONNECTION_SCOPE) && !reds__client_is_dedicated(c->parent))
            return reds__error(REDS_ERR_DATA,
                               "%s changes the state of one connection: run it "
                               "on a dedicated connection (reds_client_dedicated) or a "
                               "pipeline of one",
                               reds__cmd_name(cmd));
    }
    if (REDS__LIKELY(!p->watching || p->multi))
        return queue(p, cmd, flags);
    if (p->watch_lost)
        return watch_lost_err(reds__cmd_name(cmd));
    if (REDS__UNLIKELY(forked(p->conn)))
        return lose_watch(p, reds__cmd_name(cmd), FORKED);
    reds_err err = reds__roundtrip(c, p->conn, cmd);
    if (p->conn->broken)
        return lose_watch(p, reds__cmd_name(cmd), reds_errmsg());
    return err;
}

bool reds__pipeline_queues(const reds_client *c)
{
    if (!c || c->router != &pipeline_router)
        return false;
    const pipeline *p = (const pipeline *)c;
    return !p->watching || p->multi;
}

reds_err reds__pipeline_preload(reds_client *c, const char *sha, reds_str source)
{
    pipeline *p = (pipeline *)c;
    if (reds__shas_has(&p->loaded, sha))
        return REDS_OK;
    p->hiding = true;
    reds_err err = reds__script_load(c, source);
    p->hiding = false;
    return err ? err : reds__shas_add(&p->loaded, sha);
}

/* ------------------------------------------------------------ execution */

/* The outcome of one execution, before it becomes the return value. */
typedef struct outcome {
    reds_err err; /* a failure of the whole batch (I/O, WATCH, EXEC) */
    size_t at;    /* the first command it hit, when positional */
    bool positional;
    char msg[400];
} outcome;

/* Every command from `from` on failed for one reason. */
static void fail_from(pipeline *p, size_t from, reds_err err, const char *text, outcome *o,
                      bool positional)
{
    if (!o->err) {
        o->err = err;
        o->at = from;
        o->positional = positional && from < p->n;
        snprintf(o->msg, sizeof o->msg, "%s", text);
    }
    for (size_t i = from; i < p->n; i++)
        if (!p->q[i].cmd.err)
            set_err(p, &p->q[i], err, text);
}

/* Convert one reply (its own, or an EXEC element) into entry `e`. */
static void deliver(pipeline *p, entry *e, reds__arena *a, const reds_reply *reply)
{
    p->nheld += reds__queued_deliver(&e->cmd, &p->base, a, reply);
}

/* A hidden preload's reply: only its failure matters, to the command it
 * was sent for (`e`, or nobody for trailing ones). */
static void preload_reply(pipeline *p, entry *e, reds__arena *a, const reds_reply *reply)
{
    if (reply->type == REDS_REPLY_ERROR && e && !e->cmd.err)
        set_err(p, e, reds__error_from_reply(reply->str, reply->len), reply->str);
    reds__arena_finish(a);
}

static void read_pipeline(pipeline *p, reds__conn *conn, outcome *o)
{
    reds_reply *reply;
    for (size_t i = 0; i < p->n; i++) {
        entry *e = &p->q[i];
        for (unsigned k = 0; k <= e->preload; k++) {
            if (reds__conn_read(conn, &reply)) {
                fail_from(p, i, reds__last_err(), reds_errmsg(), o, true);
                return;
            }
            if (k < e->preload)
                preload_reply(p, e, &conn->arena, reply);
            else
                deliver(p, e, &conn->arena, reply);
        }
        if (REDS__UNLIKELY(e->closes))
            conn->broken = true;
    }
    for (unsigned k = 0; k < p->pending; k++) {
        if (reds__conn_read(conn, &reply)) {
            fail_from(p, p->n, reds__last_err(), reds_errmsg(), o, false);
            return;
        }
        preload_reply(p, NULL, &conn->arena, reply);
    }
}

static void read_transaction(pipeline *p, reds__conn *conn, outcome *o)
{
    reds_reply *reply;
    /* MULTI's +OK, then +QUEUED or a refusal for every command. */
    if (reds__conn_read(conn, &reply)) {
        fail_from(p, 0, reds__last_err(), reds_errmsg(), o, false);
        return;
    }
    if (reply->type == REDS_REPLY_ERROR) {
        /* The connection was already in a transaction: our commands went
         * into someone else's. Never reuse it. */
        char text[300];
        snprintf(text, sizeof text, "MULTI: %s", reply->str);
        conn->broken = true;
        reds__arena_finish(&conn->arena);
        fail_from(p, 0, reds__error_from_reply(reply->str, reply->len), text, o, false);
        return;
    }
    reds__arena_finish(&conn->arena);
    bool refused = false;
    size_t total = p->pending;
    for (size_t i = 0; i < p->n; i++) {
        entry *e = &p->q[i];
        total += e->preload + 1;
        for (unsigned k = 0; k <= e->preload; k++) {
            if (reds__conn_read(conn, &reply)) {
                fail_from(p, 0, reds__last_err(), reds_errmsg(), o, false);
                return;
            }
            if (reply->type == REDS_REPLY_ERROR) {
                refused = true;
                preload_reply(p, e, &conn->arena, reply);
            } else {
                reds__arena_finish(&conn->arena);
            }
        }
    }
    for (unsigned k = 0; k < p->pending; k++) {
        if (reds__conn_read(conn, &reply)) {
            fail_from(p, 0, reds__last_err(), reds_errmsg(), o, false);
            return;
        }
        refused |= reply->type == REDS_REPLY_ERROR;
        reds__arena_finish(&conn->arena);
    }
    if (reds__conn_read(conn, &reply)) {
        fail_from(p, 0, reds__last_err(), reds_errmsg(), o, false);
        return;
    }
    if (reply->type == REDS_REPLY_ERROR) {
        /* EXECABORT: nothing ran. The refused commands keep their own
         * error; the others get EXEC's. */
        char text[300];
        snprintf(text, sizeof text, "%s", reply->str);
        reds_err err = reds__error_from_reply(reply->str, reply->len);
        reds__arena_finish(&conn->arena);
        for (size_t i = 0; i < p->n; i++) {
            if (p->q[i].cmd.err && !o->err) {
                o->err = err;
                o->at = i;
                o->positional = true;
                snprintf(o->msg, sizeof o->msg, "%s (%s)", reds__queued_text(&p->q[i].cmd), text);
            }
        }
        fail_from(p, 0, err, text, o, false);
        return;
    }
    if (reply->type == REDS_REPLY_NIL) {
        reds__arena_finish(&conn->arena);
        fail_from(p, 0, REDS_ERR_WATCH, "Watched variable changed: the transaction did not run", o,
                  false);
        return;
    }
    if (reply->type != REDS_REPLY_ARRAY || reply->len != total || refused) {
        char text[128];
        snprintf(text, sizeof text, "EXEC: expected an array of %zu replies", total);
        reds__arena_finish(&conn->arena);
        fail_from(p, 0, REDS_ERR_INVALID_RESPONSE, text, o, false);
        return;
    }
    /* Each element becomes its command's output through a copy of its
     * own, so that every owned output is released on its own. */
    const reds_reply *el = reply->element;
    for (size_t i = 0; i < p->n; i++) {
        entry *e = &p->q[i];
        for (unsigned k = 0; k < e->preload; k++, el++)
            if (el->type == REDS_REPLY_ERROR && !e->cmd.err)
                set_err(p, e, reds__error_from_reply(el->str, el->len), el->str);
        if (el->type == REDS_REPLY_ERROR || !e->cmd.out || e->cmd.err) {
            deliver(p, e, &p->tmp, el++);
            continue;
        }
        reds_reply *copy = reds__reply_clone(el++, &p->tmp);
        if (!copy) {
            reds__arena_finish(&p->tmp);
            set_err(p, e, REDS_ERR_NOMEM, reds_errmsg());
            continue;
        }
        deliver(p, e, &p->tmp, copy);
    }
    reds__arena_finish(&conn->arena);
}

/* Give the connection back and return to an empty, unwatched pipeline;
 * the results stay for reds_pipeline_result(). */
static void finish(pipeline *p, reds__conn *conn, bool unwatched)
{
    if (conn && p->watching && !unwatched && !conn->broken && !forked(conn)) {
        reds_err err = reds__conn_write(conn, unwatch_cmd, sizeof unwatch_cmd - 1);
        reds_reply *reply;
        if (!err && !reds__conn_read(conn, &reply))
            reds__arena_finish(&conn->arena);
    }
    if (conn)
        reds__client_release(p->base.parent, conn);
    p->conn = NULL;
    p->watching = p->multi = p->watch_lost = false;
    p->executed = true;
    p->pending = 0;
    p->loaded.n = 0;
    p->len = PREFIX;
    if (p->cap > KEEP_CAP) {
        char *small = realloc(p->buf, FIRST_CAP);
        if (small) {
            p->buf = small;
            p->cap = FIRST_CAP;
        }
    }
}

static reds_err report(pipeline *p, const outcome *o)
{
    if (!o->err) {
        for (size_t i = 0; p->nheld && i < p->n; i++)
            if (p->q[i].cmd.err)
                return reds__queued_report(&p->q[i].cmd, i, p->n);
        return REDS_OK;
    }
    if (o->positional)
        return reds__error(o->err, "command %zu of %zu (%s): %s", o->at + 1, p->n,
                           reds__queued_name(&p->q[o->at].cmd), o->msg);
    return reds__error(o->err, "%s of %zu commands: %s",
                       p->transaction || p->multi ? "transaction" : "pipeline", p->n, o->msg);
}

static reds_err execute(pipeline *p);

reds_err reds_pipeline_execute(reds_client *c)
{
    const reds__pipeline_ops *ops = reds__cluster_pipeline_ops(c);
    if (ops)
        return ops->execute(c);
    pipeline *p = as_pipeline(c, "reds_pipeline_execute");
    if (!p)
        return REDS_ERR_DATA;
    if (REDS__LIKELY(!p->base.cfg->hooks))
        return execute(p);
    /* One command event for the batch (reds/hooks.h says why), when
     * anything was sent or failed. */
    size_t n = p->executed ? 0 : p->n;
    reds__trace t;
    reds__trace_begin(&t, p->base.cfg, p->transaction || p->multi ? "MULTI" : "PIPELINE", false);
    reds_err err = execute(p);
    if (err || t.bytes_out)
        reds__trace_end(&t, n, err);
    else
        reds__tracing = t.outer;
    return err;
}

static reds_err execute(pipeline *p)
{
    if (p->executed)
        forget_results(p);
    outcome o = {REDS_OK, 0, false, ""};
    bool tx = p->transaction || p->multi;
    if (p->conn && forked(p->conn))
        lose_watch(p, "EXEC", FORKED);
    if (p->watch_lost) {
        fail_from(p, 0, REDS_ERR_WATCH, "the connection failed while watching keys", &o, false);
        finish(p, NULL, true);
        return report(p, &o);
    }
    /* Nothing to say to the server (an empty transaction without WATCH). */
    if (!p->n && !p->pending && !(tx && p->watching)) {
        finish(p, p->conn, false);
        return REDS_OK;
    }
    reds__conn *conn = p->conn;
    reds_err err = conn ? REDS_OK : reds__client_acquire(p->base.parent, &conn);
    if (err) {
        fail_from(p, 0, err, reds_errmsg(), &o, false);
        finish(p, NULL, true);
        return report(p, &o);
    }
    size_t start = PREFIX, end = p->len;
    if (tx) {
        if (!reds__buf_reserve(&p->buf, &p->cap, p->len, EXEC_LEN)) {
            fail_from(p, 0, REDS_ERR_NOMEM, reds_errmsg(), &o, false);
            finish(p, conn, false);
            return report(p, &o);
        }
        memcpy(p->buf + p->len, exec_cmd, EXEC_LEN);
        start = 0;
        end += EXEC_LEN;
    }
    err = reds__conn_write(conn, p->buf + start, end - start);
    if (err)
        fail_from(p, 0, err, reds_errmsg(), &o, false);
    else if (tx)
        read_transaction(p, conn, &o);
    else
        read_pipeline(p, conn, &o);
    /* EXEC unwatches, whatever its outcome. */
    finish(p, conn, tx);
    return report(p, &o);
}

/* --------------------------------------------------------- public calls */

static void reset(pipeline *p)
{
    finish(p, p->conn, false);
    forget_results(p);
}

void reds_pipeline_reset(reds_client *c)
{
    const reds__pipeline_ops *ops = reds__cluster_pipeline_ops(c);
    if (ops) {
        ops->reset(c);
        return;
    }
    if (c && c->router == &pipeline_router)
        reset((pipeline *)c);
}

size_t reds_pipeline_count(const reds_client *c)
{
    const reds__pipeline_ops *ops = reds__cluster_pipeline_ops(c);
    if (ops)
        return ops->count(c);
    return c && c->router == &pipeline_router ? ((const pipeline *)c)->n : 0;
}

reds_err reds_pipeline_result(const reds_client *c, size_t i, const char **msg)
{
    const reds__pipeline_ops *ops = reds__cluster_pipeline_ops(c);
    if (ops)
        return ops->result(c, i, msg);
    if (msg)
        *msg = "";
    const pipeline *p = as_pipeline(c, "reds_pipeline_result");
    if (!p)
        return REDS_ERR_DATA;
    if (i >= p->n)
        return reds__error(REDS_ERR_DATA, "reds_pipeline_result: command %zu of %zu", i, p->n);
    return reds__queued_result(&p->q[i].cmd, msg);
}

static bool has_queue(const pipeline *p)
{
    return (p->n && !p->executed) || p->pending;
}

reds_err reds_pipeline_watch(reds_client *c, const reds_str *keys, size_t nkeys)
{
    const reds__pipeline_ops *ops = reds__cluster_pipeline_ops(c);
    if (ops)
        return ops->watch(c, keys, nkeys);
    pipeline *p = as_pipeline(c, "reds_pipeline_watch");
    if (!p)
        return REDS_ERR_DATA;
    if (p->multi)
        return reds__error(REDS_ERR_DATA, "WATCH: not allowed after reds_pipeline_multi()");
    if (has_queue(p))
        return reds__error(REDS_ERR_DATA, "WATCH: commands are already queued; watch before "
                                          "queueing (or reset the pipeline)");
    if (p->conn && forked(p->conn))
        lose_watch(p, "WATCH", FORKED);
    if (p->watch_lost)
        return watch_lost_err("WATCH");
    reds__size size = {0, 0, NULL};
    reds__size_lit(&size, 11);
    reds__size_array(&size, keys, nkeys, sizeof *keys, "keys");
    for (size_t i = 0; i < nkeys && !size.bad; i++)
        reds__size_str(&size, keys[i], "keys");
    if (!nkeys || size.bad)
        return reds__error(REDS_ERR_DATA, "WATCH: %s",
                           nkeys ? "a key is invalid (NULL with a "
                                   "length, or too large)"
                                 : "no keys given");
    if (p->executed)
        forget_results(p);
    /* Packed in the free space of the buffer: nothing is queued. */
    char *buf = pipe_reserve(c, size.bytes + REDS__BULK_OVERHEAD);
    if (!buf)
        return REDS_ERR_NOMEM;
    char *q = reds__put_len(buf, '*', size.argc);
    q = reds__put_lit(q, "$5\r\nWATCH\r\n", 11);
    for (size_t i = 0; i < nkeys; i++)
        q = reds__put_str(q, keys[i]);
    bool acquired = false;
    if (!p->conn) {
        reds_err err = reds__client_acquire(c->parent, &p->conn);
        if (err) {
            p->conn = NULL;
            return err;
        }
        acquired = true;
    }
    reds_err err = send_now(p, REDS__CMD_WATCH, buf, (size_t)(q - buf));
    if (p->conn->broken)
        return p->watching ? lose_watch(p, "WATCH", reds_errmsg()) : (release_conn(p), err);
    if (err) {
        if (acquired)
            release_conn(p);
        return err;
    }
    p->watching = true;
    return REDS_OK;
}

reds_err reds_pipeline_multi(reds_client *c)
{
    const reds__pipeline_ops *ops = reds__cluster_pipeline_ops(c);
    if (ops)
        return ops->multi(c);
    pipeline *p = as_pipeline(c, "reds_pipeline_multi");
    if (!p)
        return REDS_ERR_DATA;
    if (p->multi)
        return reds__error(REDS_ERR_DATA, "MULTI: calls can not be nested");
    if (has_queue(p))
        return reds__error(REDS_ERR_DATA, "MULTI: commands are already queued; call "
                                          "reds_pipeline_multi() before queueing them");
    if (p->watch_lost)
        return watch_lost_err("MULTI");
    if (p->executed)
        forget_results(p);
    p->multi = true;
    return REDS_OK;
}

reds_err reds_pipeline_unwatch(reds_client *c)
{
    const reds__pipeline_ops *ops = reds__cluster_pipeline_ops(c);
    if (ops)
        return ops->unwatch(c);
    pipeline *p = as_pipeline(c, "reds_pipeline_unwatch");
    if (!p)
        return REDS_ERR_DATA;
    reds_err err = REDS_OK;
    if (p->watching && p->conn && !p->conn->broken && !forked(p->conn))
        err = send_now(p, REDS__CMD_UNWATCH, unwatch_cmd, sizeof unwatch_cmd - 1);
    release_conn(p);
    p->watching = p->watch_lost = false;
    return err;
}

reds_err reds_pipeline_discard(reds_client *c)
{
    const reds__pipeline_ops *ops = reds__cluster_pipeline_ops(c);
    if (ops)
        return ops->discard(c);
    pipeline *p = as_pipeline(c, "reds_pipeline_discard");
    if (!p)
        return REDS_ERR_DATA;
    if (!p->multi)
        return reds__error(REDS_ERR_DATA, "DISCARD without reds_pipeline_multi()");
    reset(p);
    return REDS_OK;
}

/* ------------------------------------------------------------ lifetime */

static void pipe_destroy(reds_client *c)
{
    pipeline *p = (pipeline *)c;
    reset(p);
    free(p->q);
    free(p->buf);
    reds__shas_free(&p->loaded);
    reds__arena_clear(&p->tmp);
}

static const reds__router pipeline_router = {"pipeline", pipe_run,     NULL,
                                             NULL,       pipe_destroy, pipe_reserve, NULL};

reds_err reds_pipeline_new(reds_client *client, bool transaction, reds_client **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_pipeline_new: out is NULL");
    *out = NULL;
    if (!client)
        return reds__error(REDS_ERR_DATA, "reds_pipeline_new: the client is NULL");
    if (reds__is_cluster(client))
        return reds__cluster_pipeline_new(client, transaction, out);
    if (!client->router->acquire || client->router == &pipeline_router)
        return reds__error(REDS_ERR_DATA, "reds_pipeline_new: a %s cannot make pipelines",
                           client->router->kind);
    pipeline *p = calloc(1, sizeof *p);
    if (p)
        p->buf = malloc(FIRST_CAP);
    if (!p || !p->buf) {
        free(p);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    p->base.router = &pipeline_router;
    p->base.cfg = client->cfg;
    p->base.parent = client;
    atomic_init(&p->base.callbacks, atomic_load(&client->callbacks));
    p->transaction = transaction;
    memcpy(p->buf, multi_cmd, PREFIX);
    p->len = PREFIX;
    p->cap = FIRST_CAP;
    *out = &p->base;
    return REDS_OK;
}

/* ---------------------------------------------------------- transaction */

reds_err reds_transaction(reds_client *client, const reds_str *keys, size_t nkeys,
                          reds_transaction_fn fn, void *udata, const reds_transaction_opts *opts,
                          void **value)
{
    static const reds_transaction_opts defaults;
    if (value)
        *value = NULL;
    if (!fn)
        return reds__error(REDS_ERR_DATA, "reds_transaction: the callback is NULL");
    if (!opts)
        opts = &defaults;
    reds_client *pipe;
    reds_err err = reds_pipeline_new(client, true, &pipe);
    if (err)
        return err;
    char msg[512];
    for (unsigned tries = 1;; tries++) {
        void *v = NULL;
        err = nkeys ? reds_pipeline_watch(pipe, keys, nkeys) : REDS_OK;
        if (!err) {
            err = fn(pipe, udata, &v);
            if (!err) {
                err = reds_pipeline_execute(pipe);
            } else {
                /* Keep the callback's message over whatever UNWATCH says. */
                snprintf(msg, sizeof msg, "%s", reds_errmsg());
                reds_pipeline_reset(pipe);
                reds__error(err, "%s", msg);
            }
        }
        if (err != REDS_ERR_WATCH) {
            if (!err && value)
                *value = v;
            break;
        }
        if (opts->max_tries && tries >= opts->max_tries) {
            snprintf(msg, sizeof msg, "%s", reds_errmsg());
            reds__error(err, "transaction gave up after %u tries: %s", tries, msg);
            break;
        }
        if (opts->watch_delay_ms)
            reds__sleep_us((uint64_t)opts->watch_delay_ms * 1000);
    }
    reds_client_free(pipe);
    return err;
}
