/* Clients: options, the pooled router, dedicated connections, and the one
 * path every command takes (pack -> run -> roundtrip -> deliver). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "internal.h"
#include "pack.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_KEEPALIVE_S 60

/* ------------------------------------------------------------------ config */

static char *dup_or_null(const char *s, bool *failed)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = true;
    return d;
}

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void reds__config_free(reds__config *cfg)
{
    if (!cfg)
        return;
    free(cfg->host);
    free(cfg->unix_path);
    free(cfg->username);
    wipe_free(cfg->password);
    free(cfg->client_name);
    free(cfg);
}

static reds_err check_timeout(int ms, const char *name)
{
    if (ms < 0 && ms != REDS_NO_TIMEOUT)
        return reds__error(REDS_ERR_DATA, "%s must be positive, 0 (default) or "
                           "REDS_NO_TIMEOUT, not %d", name, ms);
    return REDS_OK;
}

reds_err reds__config_new(const reds_options *opts, reds__config **out)
{
    static const reds_options none;
    *out = NULL;
    if (!opts)
        opts = &none;
    if (opts->port < 0 || opts->port > 65535)
        return reds__error(REDS_ERR_DATA, "port %d is out of range 1..65535", opts->port);
    if (opts->db < 0)
        return reds__error(REDS_ERR_DATA, "db %d is negative", opts->db);
    if (opts->max_connections < 0)
        return reds__error(REDS_ERR_DATA, "max_connections %d is negative",
                           opts->max_connections);
    if (opts->keepalive_s < 0 && opts->keepalive_s != REDS_DISABLED)
        return reds__error(REDS_ERR_DATA, "keepalive_s must be positive, 0 (default) or "
                           "REDS_DISABLED, not %d", opts->keepalive_s);
    if (opts->username && !opts->password)
        return reds__error(REDS_ERR_DATA, "a username needs a password");
    reds_err err = check_timeout(opts->connect_timeout_ms, "connect_timeout_ms");
    if (!err)
        err = check_timeout(opts->socket_timeout_ms, "socket_timeout_ms");
    if (err)
        return err;
    reds__config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    bool failed = false;
    cfg->host = dup_or_null(opts->host ? opts->host : "127.0.0.1", &failed);
    cfg->port = opts->port ? opts->port : 6379;
    cfg->unix_path = dup_or_null(opts->unix_path, &failed);
    cfg->username = dup_or_null(opts->username, &failed);
    cfg->password = dup_or_null(opts->password, &failed);
    cfg->db = opts->db;
    cfg->client_name = dup_or_null(opts->client_name, &failed);
    /* Stored resolved: 0 means "no timeout" / "no keepalive" from here on. */
    cfg->connect_timeout_ms = opts->connect_timeout_ms == 0 ? DEFAULT_CONNECT_TIMEOUT_MS
                              : opts->connect_timeout_ms < 0 ? 0
                                                             : opts->connect_timeout_ms;
    cfg->socket_timeout_ms = opts->socket_timeout_ms < 0 ? 0 : opts->socket_timeout_ms;
    cfg->keepalive_s = opts->keepalive_s == 0 ? DEFAULT_KEEPALIVE_S
                       : opts->keepalive_s < 0 ? 0
                                               : opts->keepalive_s;
    cfg->max_connections = opts->max_connections;
    if (failed) {
        reds__config_free(cfg);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    *out = cfg;
    return REDS_OK;
}

reds_err reds__config_copy(const reds__config *cfg, reds__config **out)
{
    reds_options o = {
        .host = cfg->host,
        .port = cfg->port,
        .unix_path = cfg->unix_path,
        .username = cfg->username,
        .password = cfg->password,
        .db = cfg->db,
        .client_name = cfg->client_name,
        .connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : REDS_NO_TIMEOUT,
        .socket_timeout_ms = cfg->socket_timeout_ms ? cfg->socket_timeout_ms : REDS_NO_TIMEOUT,
        .keepalive_s = cfg->keepalive_s ? cfg->keepalive_s : REDS_DISABLED,
        .max_connections = cfg->max_connections,
    };
    return reds__config_new(&o, out);
}

/* ------------------------------------------------------------ the hot path */

const char *reds__command_name(unsigned id)
{
    return id < reds__ncommands ? reds__commands[id].info.name : "command";
}

char *reds__cmd_begin(reds_client *c, reds__cmd *cmd, unsigned id, const reds__size *size)
{
    if (REDS__UNLIKELY(!c)) {
        reds__error(REDS_ERR_DATA, "%s: the client is NULL", reds__command_name(id));
        return NULL;
    }
    if (REDS__UNLIKELY(size->bad != NULL)) {
        reds__error(REDS_ERR_DATA, "%s: argument '%s' is invalid (NULL with a length, "
                    "NaN, or too large)", reds__command_name(id), size->bad);
        return NULL;
    }
    size_t bound = size->bytes + REDS__BULK_OVERHEAD;
    cmd->id = id;
    cmd->buf = bound <= sizeof cmd->inline_buf ? cmd->inline_buf : malloc(bound);
    if (REDS__UNLIKELY(!cmd->buf)) {
        reds__error(REDS_ERR_NOMEM, "%s: out of memory for %zu bytes", reds__command_name(id),
                    bound);
        return NULL;
    }
    return reds__put_len(cmd->buf, '*', size->argc);
}

reds_err reds__cmd_run(reds_client *c, reds__cmd *cmd, char *end, reds__conv_fn conv, void *out)
{
    cmd->len = (size_t)(end - cmd->buf);
    cmd->conv = conv;
    cmd->out = out;
    reds_err err = c->router->run(c, cmd);
    if (cmd->buf != cmd->inline_buf)
        free(cmd->buf);
    return err;
}

reds_err reds__deliver(reds_client *c, reds__cmd *cmd, reds__arena *a, const reds_reply *reply)
{
    reds_err err = REDS_OK;
    if (reply->type == REDS_REPLY_ERROR) {
        err = reds__error_from_reply(reply->str, reply->len);
        reds__error(err, "%s: %s", reds__command_name(cmd->id), reply->str);
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

reds_err reds__roundtrip(reds_client *c, reds__conn *conn, reds__cmd *cmd)
{
    reds_err err = reds__conn_write(conn, cmd->buf, cmd->len);
    if (err)
        return err;
    reds_reply *reply;
    err = reds__conn_read(conn, &reply);
    if (err)
        return err;
    /* The server closes the connection once it has answered QUIT: never
     * reuse it, so that a dedicated handle reconnects for its next call. */
    if (REDS__UNLIKELY(cmd->id < reds__ncommands &&
                       (reds__commands[cmd->id].info.flags & REDS_CMD_CLOSES_CONNECTION)))
        conn->broken = true;
    return reds__deliver(c, cmd, &conn->arena, reply);
}

static reds_err refuse_connection_scope(const reds__cmd *cmd)
{
    return reds__error(REDS_ERR_DATA, "%s changes the state of one connection: run it on a "
                       "dedicated connection (reds_client_dedicated), not a pooled client",
                       reds__command_name(cmd->id));
}

static bool connection_scoped(const reds__cmd *cmd)
{
    return cmd->id < reds__ncommands &&
           (reds__commands[cmd->id].info.flags & REDS_CMD_CONNECTION_SCOPE);
}

/* ------------------------------------------------------- the pooled client */

typedef struct pool_client {
    reds_client base;
    pthread_mutex_t lock;
    reds__conn *idle; /* LIFO: the most recently used connection is warmest */
    size_t in_use;
    unsigned generation;
} pool_client;

/* Connections inherited across fork() belong to the parent: forget them
 * (closing our copy of the descriptor only). Called with the lock held. */
static void pool_after_fork(pool_client *p, unsigned gen)
{
    reds__conn *conn = p->idle;
    while (conn) {
        reds__conn *next = conn->next;
        reds__conn_close(conn);
        conn = next;
    }
    p->idle = NULL;
    p->in_use = 0;
    p->generation = gen;
}

static reds_err pool_get(pool_client *p, reds__conn **out)
{
    unsigned gen = atomic_load_explicit(&reds__fork_generation, memory_order_relaxed);
    pthread_mutex_lock(&p->lock);
    if (REDS__UNLIKELY(gen != p->generation))
        pool_after_fork(p, gen);
    reds__conn *conn = p->idle;
    if (conn) {
        p->idle = conn->next;
        p->in_use++;
        pthread_mutex_unlock(&p->lock);
        *out = conn;
        return REDS_OK;
    }
    size_t max = (size_t)p->base.cfg->max_connections;
    if (max && p->in_use >= max) {
        pthread_mutex_unlock(&p->lock);
        return reds__error(REDS_ERR_POOL_EXHAUSTED, "Too many connections: all %zu are in use",
                           max);
    }
    p->in_use++;
    pthread_mutex_unlock(&p->lock);
    reds_err err = reds__conn_open(p->base.cfg, out);
    if (err) {
        pthread_mutex_lock(&p->lock);
        p->in_use--;
        pthread_mutex_unlock(&p->lock);
    }
    return err;
}

static void pool_put(pool_client *p, reds__conn *conn)
{
    pthread_mutex_lock(&p->lock);
    bool ours = conn->fork_generation == p->generation;
    if (ours)
        p->in_use--;
    if (ours && !conn->broken) {
        conn->next = p->idle;
        p->idle = conn;
        conn = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    reds__conn_close(conn);
}

static reds_err pool_acquire(reds_client *c, reds__conn **out)
{
    return pool_get((pool_client *)c, out);
}

static void pool_release(reds_client *c, reds__conn *conn)
{
    pool_put((pool_client *)c, conn);
}

static reds_err pool_run(reds_client *c, reds__cmd *cmd)
{
    pool_client *p = (pool_client *)c;
    if (REDS__UNLIKELY(connection_scoped(cmd)))
        return refuse_connection_scope(cmd);
    reds__conn *conn;
    reds_err err = pool_get(p, &conn);
    if (err)
        return err;
    err = reds__roundtrip(c, conn, cmd);
    pool_put(p, conn);
    return err;
}

static void pool_destroy(reds_client *c)
{
    pool_client *p = (pool_client *)c;
    reds__conn *conn = p->idle;
    while (conn) {
        reds__conn *next = conn->next;
        reds__conn_close(conn);
        conn = next;
    }
    pthread_mutex_destroy(&p->lock);
}

static const reds__router pool_router = {"pool", pool_run, pool_acquire, pool_release,
                                         pool_destroy};

static void on_fork_child(void)
{
    atomic_fetch_add(&reds__fork_generation, 1);
}

static void register_fork_handler(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

reds_err reds_client_new(const reds_options *opts, reds_client **out)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_client_new: out is NULL");
    *out = NULL;
    pthread_once(&once, register_fork_handler);
    reds__config *cfg;
    reds_err err = reds__config_new(opts, &cfg);
    if (err)
        return err;
    pool_client *p = calloc(1, sizeof *p);
    if (!p) {
        reds__config_free(cfg);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    p->base.router = &pool_router;
    p->base.cfg = cfg;
    p->generation = atomic_load(&reds__fork_generation);
    pthread_mutex_init(&p->lock, NULL);
    *out = &p->base;
    return REDS_OK;
}

void reds_client_free(reds_client *c)
{
    if (!c)
        return;
    c->router->destroy(c);
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
} dedicated_client;

/* Lock the handle and make sure its connection is open and usable. */
static reds_err dedicated_acquire(reds_client *c, reds__conn **out)
{
    dedicated_client *d = (dedicated_client *)c;
    reds_err err = REDS_OK;
    pthread_mutex_lock(&d->lock);
    unsigned gen = atomic_load_explicit(&reds__fork_generation, memory_order_relaxed);
    if (d->conn && (d->conn->broken || d->conn->fork_generation != gen)) {
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
    (void)conn;
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
    reds__conn_close(d->conn);
    pthread_mutex_destroy(&d->lock);
}

static const reds__router dedicated_router = {"dedicated connection", dedicated_run,
                                              dedicated_acquire, dedicated_release,
                                              dedicated_destroy};

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
    unsigned id = info ? (unsigned)((const reds__command *)info - reds__commands)
                       : REDS__CMD_NONE;
    reds__size size = {0, 0, NULL};
    for (size_t i = 0; i < argc; i++)
        reds__size_str(&size, argv[i], "argv");
    reds__cmd cmd;
    char *p = reds__cmd_begin(client, &cmd, id, &size);
    if (!p)
        return reds__last_err();
    for (size_t i = 0; i < argc; i++)
        p = reds__put_str(p, argv[i]);
    /* Without an override `out` is a reds_reply **: clear it, so that it
     * is NULL (safe to reds_free) whatever happens next. */
    reds__callback *cbs = atomic_load(&client->callbacks);
    if (out && !(cbs && id < reds__ncommands && cbs[id].fn))
        *(reds_reply **)out = NULL;
    return reds__cmd_run(client, &cmd, p, reds__conv_reply, out);
}

reds_err reds_set_response_callback(reds_client *client, const char *command,
                                    reds_response_callback callback, void *udata)
{
    if (!client || !command)
        return reds__error(REDS_ERR_DATA, "reds_set_response_callback: NULL argument");
    const reds_catalog_entry *info = reds_catalog_lookup(command);
    if (!info)
        return reds__error(REDS_ERR_DATA, "reds_set_response_callback: %s is not in the "
                           "command table", command);
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
