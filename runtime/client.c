/* Clients: dedicated connections, and the one path every command takes
 * (pack -> run -> roundtrip -> deliver). Options are resolved in config.c,
 * the pooled client is pool.c. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "internal.h"
#include "pack.h"

/* ------------------------------------------------------------ the hot path */

const char *reds__command_name(uintptr_t id)
{
    const reds_catalog_entry *e = reds__command_info(id);
    return e ? e->name : "command";
}

/* One word of a label: printable ASCII as is, other bytes (and the
 * backslash) as \xNN, at most 32 bytes of it. */
static char *put_word(char *p, reds_str w)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = w.len > 32 ? 32 : w.len;
    if (!n) {
        memcpy(p, "''", 2);
        return p + 2;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)w.ptr[i];
        if (ch > ' ' && ch < 0x7f && ch != '\\') {
            *p++ = (char)ch;
        } else {
            memcpy(p, "\\x", 2);
            p[2] = hex[ch >> 4];
            p[3] = hex[ch & 15];
            p += 4;
        }
    }
    if (n < w.len) {
        memcpy(p, "...", 3);
        p += 3;
    }
    return p;
}

const char *reds__cmd_label(size_t argc, const reds_str *argv, char label[REDS__LABEL_MAX])
{
    if (!argc)
        return "command";
    char *p = put_word(label, argv[0]);
    if (argc > 1 && reds__catalog_container(argv[0])) {
        *p++ = ' ';
        p = put_word(p, argv[1]);
    }
    *p = '\0';
    return label;
}

const char *reds__cmd_name(const reds__cmd *cmd)
{
    if (REDS__LIKELY(cmd->id != REDS__CMD_NONE))
        return reds__command_name(cmd->id);
    static _Thread_local char label[REDS__LABEL_MAX];
    reds_str argv[2];
    size_t argc = cmd->buf ? reds__cmd_argv(cmd->buf, cmd->len, argv, 2) : 0;
    return reds__cmd_label(argc, argv, label);
}

/* A failure of begin(), out of its way: "NAME: text", NAME the table's
 * or, for a command it does not know, the label of the words the user
 * sent (none: "command"). */
static void begin_failed(reds_err err, uintptr_t id, size_t argc, const reds_str *argv,
                         const char *fmt, ...)
{
    char label[REDS__LABEL_MAX], text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    reds__error(err, "%s: %s",
                id == REDS__CMD_NONE ? reds__cmd_label(argc, argv, label) : reds__command_name(id),
                text);
}

/* reds__cmd_begin; reds_execute_command passes its words for messages.
 * Inlined into both: a call here would cost every command. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline char *
begin(reds_client *c, reds__cmd *cmd, uintptr_t id, const reds__size *size, size_t argc,
      const reds_str *argv)
{
    if (REDS__UNLIKELY(!c)) {
        begin_failed(REDS_ERR_DATA, id, argc, argv, "the client is NULL");
        return NULL;
    }
    if (REDS__UNLIKELY(size->bad != NULL)) {
        begin_failed(REDS_ERR_DATA, id, argc, argv,
                     "argument '%s' is invalid (NULL with a length, NaN, or too large)", size->bad);
        return NULL;
    }
    size_t bound = size->bytes + REDS__BULK_OVERHEAD;
    cmd->id = id;
    /* A pipeline packs into its own output buffer: no copy at execution. */
    if (REDS__UNLIKELY(c->router->reserve != NULL))
        return (cmd->buf = c->router->reserve(c, bound)) ? reds__put_len(cmd->buf, '*', size->argc)
                                                         : NULL;
    cmd->buf = bound <= sizeof cmd->inline_buf ? cmd->inline_buf : malloc(bound);
    if (REDS__UNLIKELY(!cmd->buf)) {
        begin_failed(REDS_ERR_NOMEM, id, argc, argv, "out of memory for %zu bytes", bound);
        return NULL;
    }
    return reds__put_len(cmd->buf, '*', size->argc);
}

char *reds__cmd_begin(reds_client *c, reds__cmd *cmd, uintptr_t id, const reds__size *size)
{
    return begin(c, cmd, id, size, 0, NULL);
}

/* Commands the server does not answer with exactly one reply (the
 * catalogue's scope: never): on any handle they would leave a caller
 * waiting for a reply that never comes, or hand replies to the wrong
 * commands, so nothing of them is ever sent. */
static reds_err refuse_unpaired(const reds_catalog_entry *e)
{
    return reds__error(REDS_ERR_DATA,
                       "%s: refused, nothing sent: the server does not answer it with one "
                       "reply per command, so reds could not pair its replies with commands",
                       e->name);
}

char *reds_ext_begin(reds_client *c, reds_ext_cmd *cmd, const reds_catalog_entry *entry,
                     const reds_ext_size *size)
{
    if (REDS__UNLIKELY(!entry || !entry->name || (uintptr_t)entry < reds__ncommands ||
                       (uintptr_t)entry == REDS__CMD_NONE)) {
        reds__error(REDS_ERR_DATA, "reds_ext_begin: no command table entry");
        return NULL;
    }
    if (REDS__UNLIKELY(entry->flags & REDS_CMD_UNPAIRED_REPLIES)) {
        refuse_unpaired(entry);
        return NULL;
    }
    /* An entry of the library's own table (reds_catalog_lookup()) is
     * that command: its response callbacks apply. */
    uintptr_t at = (uintptr_t)entry, table = (uintptr_t)reds__commands;
    if (at >= table && at < table + reds__ncommands * sizeof *reds__commands)
        return reds__cmd_begin(c, cmd, (at - table) / sizeof *reds__commands, size);
    return reds__cmd_begin(c, cmd, at, size);
}

reds_err reds_ext_run(reds_client *c, reds__cmd *cmd, char *end, reds__conv_fn conv, void *out)
{
    cmd->len = (size_t)(end - cmd->buf);
    cmd->conv = conv;
    cmd->out = out;
    /* The one test a command pays for hooks when none is set. */
    reds_err err =
        REDS__UNLIKELY(c->cfg->hooks != NULL) ? reds__run_traced(c, cmd) : c->router->run(c, cmd);
    if (cmd->buf != cmd->inline_buf && !c->router->reserve)
        free(cmd->buf);
    return err;
}

reds_err reds__deliver(reds_client *c, reds__cmd *cmd, reds__arena *a, const reds_reply *reply)
{
    reds_err err = REDS_OK;
    if (reply->type == REDS_REPLY_ERROR) {
        err = reds__error_from_reply(reply->str, reply->len);
        reds__error(err, "%s: %s", reds__cmd_name(cmd), reply->str);
        reds__trace_status(reply->str, reply->len);
    } else if (cmd->out) {
        reds__callback *cbs = atomic_load_explicit(&c->callbacks, memory_order_acquire);
        if (cbs && cmd->id < reds__ncommands && cbs[cmd->id].fn)
            err = cbs[cmd->id].fn(reply, cmd->out, cbs[cmd->id].udata);
        else
            err = cmd->conv(reply, a, cmd->out);
    }
    if (err)
        a->result = NULL; /* a failed conversion keeps nothing */
    reds__arena_finish(a);
    return err;
}

/* What a round trip does once the reply is in conn's arena; `rd`, a
 * cacheable read whose reply the cache keeps, is a constant NULL on the
 * plain paths. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline reds_err
reply_for(reds_client *c, reds__conn *conn, reds__cmd *cmd, const reds_reply *reply,
          reds__cache_read *rd)
{
    /* The server closes the connection once it has answered QUIT: never
     * reuse it, so that a dedicated handle reconnects for its next call. */
    if (REDS__UNLIKELY(reds__command_flags(cmd->id) & REDS_CMD_CLOSES_CONNECTION)) {
        conn->broken = true;
        reds__conn_why(conn, REDS_CLOSE_SERVER_CLOSED, REDS_OK);
    }
    if (rd)
        reds__cache_store(rd, conn, reply);
    reds_err err = reds__deliver(c, cmd, &conn->arena, reply);
    /* A Sentinel-managed master that answers READONLY was demoted. */
    if (REDS__UNLIKELY(err == REDS_ERR_READONLY) && conn->cfg->resolver)
        err = reds__resolver_readonly(conn, err);
    return err;
}

#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline reds_err
roundtrip(reds_client *c, reds__conn *conn, reds__cmd *cmd, reds__cache_read *rd)
{
    reds_err err = reds__conn_write(conn, cmd->buf, cmd->len);
    if (err)
        return err;
    reds_reply *reply;
    err = reds__conn_read(conn, &reply);
    return err ? err : reply_for(c, conn, cmd, reply, rd);
}

reds_err reds__roundtrip(reds_client *c, reds__conn *conn, reds__cmd *cmd)
{
    return roundtrip(c, conn, cmd, NULL);
}

reds_err reds__roundtrip_cached(reds_client *c, reds__conn *conn, reds__cmd *cmd,
                                reds__cache_read *rd)
{
    return roundtrip(c, conn, cmd, rd);
}

reds_err reds__reply(reds_client *c, reds__conn *conn, reds__cmd *cmd, const reds_reply *reply)
{
    return reply_for(c, conn, cmd, reply, NULL);
}

reds_err reds__refuse_connection_scope(const reds__cmd *cmd)
{
    const reds_catalog_entry *e = reds__command_info(cmd->id);
    if (e->flags & REDS_CMD_DEDICATED_API) {
        const char *api = strstr(e->reply, "pubsub")    ? "the pub/sub API (reds_pubsub_new)"
                          : strstr(e->reply, "monitor") ? "the monitor API (reds_monitor_new)"
                                                        : "pipelines (reds_pipeline_new, "
                                                          "reds_transaction)";
        return reds__error(REDS_ERR_DATA, "%s puts its connection in a special state: use %s",
                           e->name, api);
    }
    return reds__error(REDS_ERR_DATA,
                       "%s changes the state of one connection: run it on a "
                       "dedicated connection (reds_client_dedicated), not a pooled client",
                       e->name);
}

/* ------------------------------------------------------------- clients */

reds_err reds_client_new(const reds_options *opts, reds_client **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_client_new: out is NULL");
    *out = NULL;
    reds__config *cfg;
    reds_err err = reds__config_new(opts, &cfg);
    return err ? err : reds__pool_new(cfg, out);
}

void reds_client_free(reds_client *c)
{
    if (!c)
        return;
    c->router->destroy(c);
    /* An async handle freed inside its own callback lives until it returns. */
    if (!c->router->deferred || !c->router->deferred(c))
        reds__client_free_memory(c);
}

void reds__client_free_memory(reds_client *c)
{
    if (!c->parent) {
        reds__config_free(c->cfg);
        free(atomic_load(&c->callbacks));
    }
    free(c);
}

reds_err reds__client_acquire(reds_client *c, reds__conn **out)
{
    if (!c->router->acquire)
        return reds__error(REDS_ERR_DATA, "a %s cannot lend a connection", c->router->kind);
    return c->router->acquire(c, out);
}

void reds__client_release(reds_client *c, reds__conn *conn)
{
    c->router->release(c, conn);
}

/* --------------------------------------------------- dedicated connections */

typedef struct dedicated_client {
    reds_client base;
    pthread_mutex_t lock;
    reds__conn *conn;
    reds__fork_hook fork;
} dedicated_client;

/* Lock the handle and make sure its connection is open and usable. */
static reds_err dedicated_acquire(reds_client *c, reds__conn **out)
{
    dedicated_client *d = (dedicated_client *)c;
    reds_err err = REDS_OK;
    pthread_mutex_lock(&d->lock);
    unsigned gen = atomic_load_explicit(&reds__fork_generation, memory_order_relaxed);
    if (d->conn &&
        (d->conn->broken || d->conn->fork_generation != gen || !reds__conn_usable(d->conn))) {
        reds__conn_close(d->conn);
        d->conn = NULL;
    }
    if (!d->conn)
        err = reds__conn_open(c->cfg, &d->conn);
    if (err) {
        pthread_mutex_unlock(&d->lock);
        return err;
    }
    *out = d->conn;
    return REDS_OK;
}

static void dedicated_release(reds_client *c, reds__conn *conn)
{
    if (!conn->broken)
        reds__conn_idle(conn);
    reds__conn_touch(conn);
    pthread_mutex_unlock(&((dedicated_client *)c)->lock);
}

static reds_err dedicated_run(reds_client *c, reds__cmd *cmd)
{
    reds__conn *conn;
    reds_err err = dedicated_acquire(c, &conn);
    if (err)
        return err;
    err = reds__roundtrip(c, conn, cmd);
    dedicated_release(c, conn);
    return err;
}

static void dedicated_destroy(reds_client *c)
{
    dedicated_client *d = (dedicated_client *)c;
    reds__fork_unregister(&d->fork);
    reds__conn_close(d->conn);
    pthread_mutex_destroy(&d->lock);
}

static const reds__router dedicated_router = {"dedicated connection", dedicated_run,
                                              dedicated_acquire,      dedicated_release,
                                              dedicated_destroy,      NULL,
                                              NULL};

bool reds__client_is_dedicated(const reds_client *c)
{
    return c->router == &dedicated_router;
}

/* The lock may be held by a parent thread in the middle of a round trip
 * (fork.c says why it is not taken before fork): make it usable. The
 * connection is the parent's and is dropped on first use. */
static void dedicated_after_fork(void *owner)
{
    pthread_mutex_init(&((dedicated_client *)owner)->lock, NULL);
}

static reds__callback *copy_callbacks(const reds_client *c, bool *failed)
{
    reds__callback *cbs = atomic_load(&((reds_client *)c)->callbacks);
    if (!cbs)
        return NULL;
    reds__callback *copy = malloc(reds__ncommands * sizeof *copy);
    if (!copy) {
        *failed = true;
        return NULL;
    }
    memcpy(copy, cbs, reds__ncommands * sizeof *copy);
    return copy;
}

reds_err reds_client_dedicated(reds_client *client, reds_client **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_client_dedicated: out is NULL");
    *out = NULL;
    if (!client)
        return reds__error(REDS_ERR_DATA, "reds_client_dedicated: the client is NULL");
    dedicated_client *d = calloc(1, sizeof *d);
    if (!d)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    bool failed = false;
    d->base.router = &dedicated_router;
    atomic_init(&d->base.callbacks, copy_callbacks(client, &failed));
    reds_err err = failed ? reds__error(REDS_ERR_NOMEM, "out of memory")
                          : reds__config_copy(client->cfg, &d->base.cfg);
    if (err) {
        free(atomic_load(&d->base.callbacks));
        free(d);
        return err;
    }
    pthread_mutex_init(&d->lock, NULL);
    d->fork = (reds__fork_hook){NULL, NULL, dedicated_after_fork, d, NULL, NULL};
    reds__fork_register(&d->fork);
    *out = &d->base;
    return REDS_OK;
}

/* --------------------------------------------------------- generic commands */

reds_err reds_execute_command(reds_client *client, size_t argc, const reds_str *argv, void *out)
{
    if (!client)
        return reds__error(REDS_ERR_DATA, "reds_execute_command: the client is NULL");
    if (!argc || !argv)
        return reds__error(REDS_ERR_DATA, "reds_execute_command: no command given");
    const reds_catalog_entry *info = reds_catalog_find(argc, argv);
    uintptr_t id =
        info ? (uintptr_t)((const reds__command *)info - reds__commands) : REDS__CMD_NONE;
    /* Without an override `out` is a reds_reply **: clear it, so that it
     * is NULL (safe to reds_free) whatever happens next. */
    reds__callback *cbs = atomic_load(&client->callbacks);
    if (out && !(cbs && id < reds__ncommands && cbs[id].fn))
        *(reds_reply **)out = NULL;
    if (REDS__UNLIKELY(info && (info->flags & REDS_CMD_UNPAIRED_REPLIES)))
        return refuse_unpaired(info);
    reds__size size = {0, 0, NULL};
    for (size_t i = 0; i < argc; i++)
        reds__size_str(&size, argv[i], "argv");
    reds__cmd cmd;
    char *p = begin(client, &cmd, id, &size, argc, argv);
    if (!p)
        return reds__last_err();
    for (size_t i = 0; i < argc; i++)
        p = reds__put_str(p, argv[i]);
    return reds__cmd_run(client, &cmd, p, reds__conv_reply, out);
}

reds_err reds_set_response_callback(reds_client *client, const char *command,
                                    reds_response_callback callback, void *udata)
{
    if (!client || !command)
        return reds__error(REDS_ERR_DATA, "reds_set_response_callback: NULL argument");
    /* A child handle (a pipeline) shares its parent's callbacks. */
    if (client->parent)
        return reds__error(REDS_ERR_DATA,
                           "reds_set_response_callback: set callbacks on the "
                           "client a %s comes from",
                           client->router->kind);
    const reds_catalog_entry *info = reds_catalog_lookup(command);
    if (!info)
        return reds__error(REDS_ERR_DATA,
                           "reds_set_response_callback: %s is not in the "
                           "command table",
                           command);
    size_t id = (size_t)((const reds__command *)info - reds__commands);
    reds__callback *cbs = atomic_load(&client->callbacks);
    if (!cbs) {
        cbs = calloc(reds__ncommands, sizeof *cbs);
        if (!cbs)
            return reds__error(REDS_ERR_NOMEM, "out of memory");
        atomic_store(&client->callbacks, cbs);
    }
    cbs[id].fn = callback;
    cbs[id].udata = udata;
    return REDS_OK;
}
