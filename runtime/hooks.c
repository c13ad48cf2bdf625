/* Hooks for metrics and tracing (<reds/hooks.h>), and the credentials
 * callback. Nothing here runs unless a client has hooks: the hot path's
 * only cost is reds_ext_run() testing cfg->hooks. A traced command keeps
 * a reds__trace on its thread; hooked connections count the bytes they
 * move into it (their io is wrapped once connected), and the router adds
 * its retries and redirections. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

_Thread_local reds__trace *reds__tracing;

uint64_t reds__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

/* "host:port", "[v6]:port", or a unix socket's path (port 0). */
static void format_addr(char *buf, size_t size, const char *host, int port)
{
    if (!port)
        snprintf(buf, size, "%s", host);
    else
        reds__format_addr(buf, size, host, port);
}

/* The server `cfg` names by itself: none when a resolver picks one. */
static const char *cfg_host(const reds__config *cfg, int *port)
{
    *port = 0;
    if (cfg->resolver)
        return "";
    if (cfg->unix_path)
        return cfg->unix_path;
    *port = cfg->port;
    return cfg->host;
}

static void conn_host(const reds__conn *conn, const char **host, int *port)
{
    if (conn->resolved) {
        *host = conn->addr.host;
        *port = conn->addr.port;
    } else {
        *host = cfg_host(conn->cfg, port);
    }
}

/* ------------------------------------------------------------- commands */

static void copy_host(reds__trace *t, const char *host, int port)
{
    size_t n = strlen(host);
    if (n >= sizeof t->host)
        n = sizeof t->host - 1;
    memcpy(t->host, host, n);
    t->host[n] = '\0';
    t->port = port;
}

void reds__trace_begin(reds__trace *t, const reds__config *cfg, const char *name, bool copy)
{
    t->outer = reds__tracing;
    t->cfg = cfg;
    t->name = name;
    if (copy) {
        snprintf(t->label, sizeof t->label, "%s", name);
        t->name = t->label;
    }
    t->bytes_out = t->bytes_in = 0;
    t->attempts = 1;
    t->status[0] = '\0';
    int port;
    const char *host = cfg_host(cfg, &port);
    copy_host(t, host, port);
    t->start_unix_ns = unix_ns();
    t->start_ns = reds__mono_ns();
    reds__tracing = t;
}

void reds__trace_clock(uint64_t *mono_ns, int64_t *unix_ns_)
{
    *mono_ns = reds__mono_ns();
    *unix_ns_ = unix_ns();
}

void reds__trace_end(reds__trace *t, size_t batch, reds_err err)
{
    uint64_t end = reds__mono_ns();
    reds__tracing = t->outer;
    const reds_hooks *h = &t->cfg->hooks->user;
    if (!h->on_command)
        return;
    char address[300];
    format_addr(address, sizeof address, t->host, t->port);
    reds_command_event ev;
    memset(&ev, 0, sizeof ev);
    ev.command = t->name;
    ev.address = address;
    ev.host = t->host;
    ev.port = t->port;
    ev.db = t->cfg->db;
    ev.start_unix_ns = t->start_unix_ns;
    ev.duration_ns = end - t->start_ns;
    ev.bytes_out = t->bytes_out;
    ev.bytes_in = t->bytes_in;
    ev.outcome = err;
    if (err) {
        ev.status_code = t->status[0] ? t->status : NULL;
        ev.error_text = reds_errmsg();
    }
    ev.attempts = t->attempts;
    ev.batch_size = batch;
    h->on_command(&ev, h->udata);
}

void reds__trace_addr(const char *host, int port)
{
    reds__trace *t = reds__tracing;
    if (t)
        copy_host(t, host, port);
}

void reds__trace_share(reds__trace *t, const reds__conn *conn, uint64_t out, uint64_t in)
{
    const char *host;
    int port;
    conn_host(conn, &host, &port);
    copy_host(t, host, port);
    t->bytes_out += out;
    t->bytes_in += in;
}

void reds__trace_status(const char *msg, size_t len)
{
    reds__trace *t = reds__tracing;
    if (!t || t->status[0])
        return; /* the first error of a batch is the one its outcome reports */
    /* The first word, as the server's error codes are ("ERR", "MOVED"). */
    size_t n = 0;
    while (n < len && n < sizeof t->status - 1 && msg[n] > ' ' && msg[n] < 0x7f)
        n++;
    memcpy(t->status, msg, n);
    t->status[n] = '\0';
}

reds_err reds__run_traced(reds_client *c, reds__cmd *cmd)
{
    /* Queued in a pipeline: it runs when the pipeline does, which is the
     * event (pipeline.c, cluster_pipeline.c). */
    if (c->router->reserve && (reds__pipeline_queues(c) || reds__cluster_pipeline_ops(c)))
        return c->router->run(c, cmd);
    /* On an async handle the command only starts here; its end is in the
     * loop, which traces nothing yet. */
    if (reds_async_is(c))
        return c->router->run(c, cmd);
    reds__trace t;
    reds__trace_begin(&t, c->cfg, reds__cmd_name(cmd), cmd->id == REDS__CMD_NONE);
    reds_err err = c->router->run(c, cmd);
    reds__trace_end(&t, 0, err);
    return err;
}

/* ------------------------------------------------- byte-counting transport */

/* A hooked connection's io once it is set up (so that its AUTH and SELECT
 * are nobody's bytes): its own transport underneath, and what moves is
 * added to the command being traced on this thread, if any. */
static void note_conn(reds__trace *t, const reds__conn *conn)
{
    const char *host;
    int port;
    conn_host(conn, &host, &port);
    copy_host(t, host, port);
}

static ssize_t counted_send(reds__conn *conn, const char *buf, size_t len)
{
    ssize_t n = conn->inner_io->send(conn, buf, len);
    reds__trace *t = reds__tracing;
    if (t && n > 0) {
        t->bytes_out += (uint64_t)n;
        note_conn(t, conn);
    }
    return n;
}

static ssize_t counted_recv(reds__conn *conn, char *buf, size_t len)
{
    ssize_t n = conn->inner_io->recv(conn, buf, len);
    reds__trace *t = reds__tracing;
    if (t && n > 0)
        t->bytes_in += (uint64_t)n;
    return n;
}

static size_t counted_pending(reds__conn *conn)
{
    return conn->inner_io->pending(conn);
}

static void counted_close(reds__conn *conn, bool inherited)
{
    conn->inner_io->close(conn, inherited);
}

static const char *counted_error(const reds__conn *conn)
{
    return conn->inner_io->error ? conn->inner_io->error(conn) : NULL;
}

static const reds__io counted_io = {counted_send, counted_recv, counted_pending, counted_close,
                                    counted_error};

/* ------------------------------------------------------ connection events */

static void emit(const reds__config *cfg, reds_connection_event *ev, const char *host, int port)
{
    const reds_hooks *h = &cfg->hooks->user;
    if (!h->on_connection)
        return;
    char address[300];
    format_addr(address, sizeof address, host, port);
    ev->address = address;
    ev->host = host;
    ev->port = port;
    ev->db = cfg->db;
    h->on_connection(ev, h->udata);
}

/* The command a RETRY or REDIRECT concerns (one of a batch, or the
 * batch's name). */
static const char *command_of(const reds__cmd *cmd)
{
    return cmd ? reds__cmd_name(cmd) : reds__tracing ? reds__tracing->name : NULL;
}

void reds__hook_connect(reds__conn *conn, uint64_t start_ns)
{
    reds__hooks *h = conn->cfg->hooks;
    unsigned lost = atomic_load(&h->lost);
    bool reconnect = false;
    while (lost && !(reconnect = atomic_compare_exchange_weak(&h->lost, &lost, lost - 1)))
        ;
    reds_connection_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = REDS_EVENT_CONNECT;
    ev.duration_ns = reds__mono_ns() - start_ns;
    ev.reconnect = reconnect;
    const char *host;
    int port;
    conn_host(conn, &host, &port);
    conn->announced = true;
    conn->inner_io = conn->io;
    conn->io = &counted_io;
    emit(conn->cfg, &ev, host, port);
}

void reds__hook_connect_failed(const reds__config *cfg, const reds__addr *addr, uint64_t start_ns,
                               reds_err err)
{
    reds_connection_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = REDS_EVENT_CONNECT_FAILED;
    ev.duration_ns = reds__mono_ns() - start_ns;
    ev.error = err;
    ev.error_text = reds_errmsg();
    int port = addr ? addr->port : 0;
    const char *host = addr ? addr->host : cfg_host(cfg, &port);
    emit(cfg, &ev, host, port);
}

void reds__hook_close(reds__conn *conn)
{
    reds_connection_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = REDS_EVENT_CLOSE;
    unsigned gen = atomic_load_explicit(&reds__fork_generation, memory_order_relaxed);
    if (conn->fork_generation != gen)
        ev.reason = REDS_CLOSE_FORK;
    else if (conn->close_reason)
        ev.reason = (reds_close_reason)conn->close_reason;
    else
        ev.reason = conn->broken ? REDS_CLOSE_ERROR : REDS_CLOSE_CLIENT_FREED;
    ev.error = conn->close_err;
    /* Lost rather than let go: the next connection made replaces it. */
    if (ev.reason != REDS_CLOSE_FORK && ev.reason != REDS_CLOSE_CLIENT_FREED &&
        ev.reason != REDS_CLOSE_POOL_DISCONNECT)
        atomic_fetch_add(&conn->cfg->hooks->lost, 1);
    const char *host;
    int port;
    conn_host(conn, &host, &port);
    emit(conn->cfg, &ev, host, port);
}

void reds__hook_pool_wait(const reds__config *cfg, uint64_t start_ns, reds_err err)
{
    reds_connection_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = REDS_EVENT_POOL_WAIT;
    ev.duration_ns = reds__mono_ns() - start_ns;
    ev.error = err;
    int port;
    const char *host = cfg_host(cfg, &port);
    emit(cfg, &ev, host, port);
}

/* The server the current trace last went to, or `cfg`'s. */
static const char *last_host(const reds__config *cfg, int *port)
{
    if (reds__tracing) {
        *port = reds__tracing->port;
        return reds__tracing->host;
    }
    return cfg_host(cfg, port);
}

void reds__hook_retry(const reds__config *cfg, const reds__cmd *cmd, unsigned attempt, reds_err err)
{
    if (reds__tracing) {
        reds__tracing->attempts++;
        reds__tracing->status[0] = '\0'; /* a new try, a new outcome */
    }
    reds_connection_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = REDS_EVENT_RETRY;
    ev.error = err;
    ev.error_text = reds_errmsg();
    ev.command = command_of(cmd);
    ev.attempt = attempt;
    int port;
    const char *host = last_host(cfg, &port);
    emit(cfg, &ev, host, port);
}

void reds__hook_redirect(const reds__config *cfg, const reds__cmd *cmd, reds_err kind, int slot,
                         const char *host, int port)
{
    if (reds__tracing) {
        reds__tracing->attempts++;
        reds__tracing->status[0] = '\0';
    }
    reds_connection_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = REDS_EVENT_REDIRECT;
    ev.error = kind;
    ev.command = command_of(cmd);
    ev.slot = slot;
    ev.target = host;
    ev.target_port = port;
    int from_port;
    const char *from = last_host(cfg, &from_port);
    emit(cfg, &ev, from, from_port);
}

/* ------------------------------------------------------------ credentials */

struct reds_credentials {
    unsigned magic; /* set while a callback may fill it */
    char *username, *password;
};

#define CREDENTIALS_MAGIC 0x72656473u

reds_err reds_credentials_set(reds_credentials *cred, const char *username, const char *password)
{
    if (!cred || cred->magic != CREDENTIALS_MAGIC)
        return reds__error(REDS_ERR_DATA,
                           "reds_credentials_set: not called from a credentials callback");
    char *u = username ? strdup(username) : NULL;
    char *p = password ? strdup(password) : NULL;
    if ((username && !u) || (password && !p)) {
        reds__wipe_free(u);
        reds__wipe_free(p);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    reds__wipe_free(cred->username);
    reds__wipe_free(cred->password);
    cred->username = u;
    cred->password = p;
    return REDS_OK;
}

reds_err reds__credentials_get(const reds__config *cfg, char **user, char **password)
{
    reds_credentials cred = {CREDENTIALS_MAGIC, NULL, NULL};
    *user = *password = NULL;
    reds__clear_error();
    reds_err err = cfg->credentials(&cred, cfg->credentials_udata);
    cred.magic = 0;
    if (!err && cred.username && !cred.password)
        err = reds__error(REDS_ERR_DATA, "a username needs a password");
    if (err) {
        char why[256];
        snprintf(why, sizeof why, "%s", reds_errmsg()[0] ? reds_errmsg() : reds_err_name(err));
        reds__wipe_free(cred.username);
        reds__wipe_free(cred.password);
        return reds__error(REDS_ERR_AUTH, "AUTH: the credentials callback failed: %s", why);
    }
    *user = cred.username;
    *password = cred.password;
    return REDS_OK;
}
