/* Publish/subscribe handles (see <reds/pubsub.h>).
 *
 * Locking. `lock` guards the handle: the subscription tables, the
 * connection pointer, the health-check state and the queued messages.
 * One thread at a time is the reader (`reading`): it alone parses replies
 * and it waits in poll() without the lock, on the connection and on a
 * wake-up pipe. Writers (subscribe, ping, from any thread) write under the
 * lock, so bytes never interleave and a TLS session never sees a read and
 * a write at once. While a reader exists, only the reader may close or
 * replace the connection (it may be polling that descriptor); writers
 * that find it broken mark it and wake the reader. Without a reader, the
 * writer repairs the connection itself. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <reds/pubsub.h>

#include "internal.h"
#include "pack.h"

#define HEALTH_CHECK_MESSAGE "reds-health-check"
#define DEFAULT_POLL_MS      100
#define MAX_RETRY_PAUSE_MS   2000
/* How long stop() waits for each unsubscribe confirmation when the
 * options set no connect timeout. */
#define DRAIN_TIMEOUT_MS 5000

/* ------------------------------------------------------------------ handle */

struct reds_pubsub {
    reds__config *cfg;
    reds_pubsub_options opts;
    pthread_mutex_t lock;
    reds__subtable subs[REDS__NTABLES];
    reds__conn *conn;
    bool conn_failed; /* a writer saw the connection fail; the reader replaces it */
    /* A live connection with subscriptions was lost, and the gap is not
     * reported yet: it is, as soon as a new connection gives its first
     * reply (proof that the server took the re-subscriptions). */
    bool dropped;
    char cause[256];               /* why it was lost */
    int64_t restored;              /* subscriptions the last connect re-sent */
    int64_t conn_id;               /* CLIENT ID of `conn`, asked when it opened */
    reds_pubsub_message *queue[2]; /* read, not delivered yet: RECONNECTED and the
                                    * reply that revealed it */
    int nqueue;
    bool reading; /* a thread is reading (get_message, listen, the thread) */
    int wake[2];  /* a pipe that interrupts the reader's wait */
    /* Health checks (times in ms of the monotonic clock). */
    int64_t last_rx;
    int64_t ping_sent;
    bool ping_out;
    /* The background thread. */
    pthread_t thread;
    bool thread_started; /* joinable */
    atomic_bool stop;
    reds_pubsub_thread_options topts;
    /* reds__pubsub_on_drop(): a client's cache, told of every loss. */
    void (*on_drop)(void *udata);
    void *on_drop_udata;
};

void reds__pubsub_on_drop(reds_pubsub *ps, void (*fn)(void *udata), void *udata)
{
    pthread_mutex_lock(&ps->lock);
    ps->on_drop = fn;
    ps->on_drop_udata = udata;
    pthread_mutex_unlock(&ps->lock);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake_reader(reds_pubsub *ps)
{
    char c = 1;
    ssize_t n = write(ps->wake[1], &c, 1); /* full pipe: a wake-up is pending anyway */
    (void)n;
}

static void drain_wake(reds_pubsub *ps)
{
    char buf[64];
    while (read(ps->wake[0], buf, sizeof buf) > 0)
        ;
}

const char *reds_pubsub_kind_name(reds_pubsub_kind kind)
{
    static const char *const names[] = {
        NULL,           "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe",
        "sunsubscribe", "message",   "pmessage",    "smessage",   "pong",         "reconnected",
    };
    if ((int)kind < 1 || (size_t)kind >= sizeof names / sizeof names[0])
        return "unknown";
    return names[kind];
}

static size_t active_count(const reds_pubsub *ps)
{
    size_t n = 0;
    for (int t = 0; t < REDS__NTABLES; t++)
        n += ps->subs[t].count - ps->subs[t].nleaving;
    return n;
}

static bool has_entries(const reds_pubsub *ps)
{
    return ps->subs[REDS__CHANNELS].count || ps->subs[REDS__PATTERNS].count || ps->subs[REDS__SHARDS].count;
}

reds_err reds_pubsub_new(reds_client *client, const reds_pubsub_options *opts, reds_pubsub **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_pubsub_new: out is NULL");
    *out = NULL;
    if (!client)
        return reds__error(REDS_ERR_DATA, "reds_pubsub_new: the client is NULL");
    if (reds_async_is(client))
        return reds__error(REDS_ERR_DATA, "reds_pubsub_new: a pub/sub handle blocks: on an "
                                          "async handle, use reds_async_subscribe()");
    if (opts && opts->health_check_interval_ms < 0)
        return reds__error(REDS_ERR_DATA,
                           "health_check_interval_ms must be positive or 0, "
                           "not %d",
                           opts->health_check_interval_ms);
    reds_pubsub *ps = calloc(1, sizeof *ps);
    if (!ps)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    if (opts)
        ps->opts = *opts;
    ps->wake[0] = ps->wake[1] = -1;
    reds_err err = reds__config_copy(client->cfg, &ps->cfg);
    if (!err && pipe2(ps->wake, O_NONBLOCK | O_CLOEXEC) < 0)
        err = reds__error(REDS_ERR, "reds_pubsub_new: pipe: %s", strerror(errno));
    if (err) {
        reds__config_free(ps->cfg);
        free(ps);
        return err;
    }
    pthread_mutex_init(&ps->lock, NULL);
    atomic_init(&ps->stop, false);
    *out = ps;
    return REDS_OK;
}

/* ------------------------------------------------------------- connection */

static reds_err write_locked(reds_pubsub *ps, const char *buf, size_t len)
{
    reds_err err = reds__conn_write(ps->conn, buf, len);
    if (err)
        ps->conn_failed = true;
    return err;
}

/* Lose the connection: remember why, for the RECONNECTED message. Only
 * when no other thread can be polling it (the caller is the reader, or
 * there is none). */
static void drop_locked(reds_pubsub *ps, const char *why)
{
    if (ps->conn) {
        reds__conn_close(ps->conn);
        ps->conn = NULL;
        if (ps->on_drop)
            ps->on_drop(ps->on_drop_udata);
        /* Nothing subscribed, nothing lost: no gap to report. A gap not
         * reported yet keeps its first cause. */
        if (!ps->dropped && active_count(ps)) {
            ps->dropped = true;
            if (why)
                snprintf(ps->cause, sizeof ps->cause, "%s", why);
            if (!ps->cause[0])
                snprintf(ps->cause, sizeof ps->cause, "connection lost");
        } else if (!ps->dropped) {
            ps->cause[0] = '\0';
        }
    }
    /* Unsubscriptions in flight died with the connection. */
    for (int t = 0; t < REDS__NTABLES; t++)
        reds__st_remove_if(&ps->subs[t], reds__st_is_leaving, NULL);
    ps->conn_failed = false;
    ps->ping_out = false;
}

/* Open a connection and subscribe to everything recorded. Only when no
 * other thread can be polling the old connection. */
static reds_err connect_locked(reds_pubsub *ps)
{
    if (ps->conn)
        drop_locked(ps, "connection replaced");
    reds__conn *conn;
    reds_err err = reds__conn_open(ps->cfg, &conn);
    if (err)
        return err;
    /* Its id, while it may still send CLIENT ID (a subscribed RESP2
     * connection may not): CLIENT TRACKING redirects name it. */
    static const char client_id[] = "*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n";
    reds_reply *reply = NULL;
    err = reds__conn_write(conn, client_id, sizeof client_id - 1);
    if (!err)
        err = reds__conn_read(conn, &reply);
    if (!err && reply->type != REDS_REPLY_INTEGER)
        err = reply->type == REDS_REPLY_ERROR
                  ? reds__error(REDS_ERR_RESPONSE, "CLIENT ID: %s", reply->str)
                  : reds__bad_reply(reply, "an integer");
    if (!err)
        ps->conn_id = reply->integer;
    reds__arena_finish(&conn->arena);
    if (err) {
        reds__conn_close(conn);
        return err;
    }
    char *buf;
    size_t len;
    err = reds__subs_pack(ps->subs, &buf, &len);
    if (!err && len)
        err = reds__conn_write(conn, buf, len);
    free(buf);
    if (err) {
        reds__conn_close(conn);
        return err;
    }
    ps->conn = conn;
    ps->conn_failed = false;
    ps->ping_out = false;
    ps->last_rx = now_ms();
    ps->restored = (int64_t)active_count(ps);
    return REDS_OK;
}

/* The first reply on a new connection after a drop: queue the gap. */
static void report_gap_locked(reds_pubsub *ps)
{
    size_t clen = strlen(ps->cause);
    reds_pubsub_message *m = reds_alloc(sizeof *m + clen + 1);
    if (!m)
        return; /* tried again at the next reply */
    char *text = (char *)(m + 1);
    memcpy(text, ps->cause, clen + 1);
    m->kind = REDS_PUBSUB_RECONNECTED;
    m->data = reds_strn(text, clen);
    m->count = ps->restored;
    ps->queue[ps->nqueue++] = m;
    ps->dropped = false;
    ps->cause[0] = '\0';
}

/* Write `name` and `count` arguments as one command. */
static reds_err write_cmd_locked(reds_pubsub *ps, const char *name, const reds_str *args,
                                 size_t count)
{
    size_t bound = REDS__BULK_OVERHEAD * 2 + strlen(name);
    for (size_t i = 0; i < count; i++)
        bound += args[i].len + REDS__BULK_OVERHEAD;
    char *buf = malloc(bound);
    if (!buf)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    char *p = reds__put_len(buf, '*', count + 1);
    p = reds__put_str(p, reds_cstr(name));
    for (size_t i = 0; i < count; i++)
        p = reds__put_str(p, args[i]);
    reds_err err = write_locked(ps, buf, (size_t)(p - buf));
    free(buf);
    return err;
}

/* Make sure there is a usable connection for a writer. `*deferred`: the
 * reader is replacing it (and will subscribe to everything recorded). */
static reds_err writer_conn_locked(reds_pubsub *ps, bool *deferred)
{
    *deferred = false;
    unsigned gen = atomic_load_explicit(&reds__fork_generation, memory_order_relaxed);
    if (ps->conn && !ps->reading) {
        if (ps->conn->fork_generation != gen)
            drop_locked(ps, "the connection was inherited across fork()");
        else if (ps->conn_failed || ps->conn->broken)
            drop_locked(ps, NULL); /* the cause is recorded already */
    }
    if (ps->conn && (ps->conn_failed || ps->conn->broken)) {
        /* The reader polls it: leave the repair to the reader. */
        wake_reader(ps);
        *deferred = true;
        return reds__error(REDS_ERR_CONNECTION, "the pub/sub connection is being replaced");
    }
    if (!ps->conn)
        return connect_locked(ps); /* nobody polls a missing connection */
    return REDS_OK;
}

/* Send one command of `name` and `count` arguments. With `tabled`, the
 * command only brings the server in line with the tables (a subscription
 * recorded, or an unsubscription marked): a new connection does that by
 * itself, so there is nothing more to send, nor an error when the reader
 * is replacing the connection. */
static reds_err send_locked(reds_pubsub *ps, const char *name, const reds_str *args, size_t count,
                            bool tabled)
{
    reds__conn *before = ps->conn;
    bool deferred;
    reds_err err = writer_conn_locked(ps, &deferred);
    if (deferred && tabled)
        return REDS_OK;
    if (err || (ps->conn != before && tabled))
        return err;
    err = write_cmd_locked(ps, name, args, count);
    if (err) {
        char why[256];
        snprintf(why, sizeof why, "%s", reds_errmsg());
        if (ps->reading) {
            if (!ps->dropped)
                snprintf(ps->cause, sizeof ps->cause, "%s", why);
            wake_reader(ps);
        } else {
            /* Repair now: a new connection subscribes to everything. */
            drop_locked(ps, why);
            if (tabled)
                return active_count(ps) ? connect_locked(ps) : REDS_OK;
            reds__error(err, "%s", why);
        }
    }
    return err;
}

static reds_err check_args(const char *fn, reds_pubsub *ps, const reds_str *args, size_t count,
                           bool need_one)
{
    if (!ps)
        return reds__error(REDS_ERR_DATA, "%s: the handle is NULL", fn);
    return reds__subs_check(fn, args, count, need_one);
}

static reds_err subscribe(reds_pubsub *ps, int table, const char *fn, const reds_str *args,
                          size_t count, reds_pubsub_handler handler, void *udata)
{
    reds_err err = check_args(fn, ps, args, count, true);
    if (err)
        return err;
    pthread_mutex_lock(&ps->lock);
    if (!handler && ps->thread_started && !ps->topts.on_message) {
        pthread_mutex_unlock(&ps->lock);
        return reds__error(REDS_ERR_PUBSUB,
                           "%s: the background thread runs without "
                           "on_message: give the subscription a handler",
                           fn);
    }
    for (size_t i = 0; i < count; i++) {
        if (!reds__st_put(&ps->subs[table], args[i], (reds__handler){.sync = handler}, udata)) {
            pthread_mutex_unlock(&ps->lock);
            return reds__error(REDS_ERR_NOMEM, "out of memory");
        }
    }
    err = send_locked(ps, reds__subs_commands[table].subscribe, args, count, true);
    pthread_mutex_unlock(&ps->lock);
    /* A reader waiting without a connection, or for its first
     * subscription, has something to do now. */
    wake_reader(ps);
    return err;
}

reds_err reds_pubsub_subscribe(reds_pubsub *ps, const reds_str *channels, size_t count,
                               reds_pubsub_handler handler, void *udata)
{
    return subscribe(ps, REDS__CHANNELS, "SUBSCRIBE", channels, count, handler, udata);
}

reds_err reds_pubsub_psubscribe(reds_pubsub *ps, const reds_str *patterns, size_t count,
                                reds_pubsub_handler handler, void *udata)
{
    return subscribe(ps, REDS__PATTERNS, "PSUBSCRIBE", patterns, count, handler, udata);
}

reds_err reds_pubsub_ssubscribe(reds_pubsub *ps, const reds_str *channels, size_t count,
                                reds_pubsub_handler handler, void *udata)
{
    return subscribe(ps, REDS__SHARDS, "SSUBSCRIBE", channels, count, handler, udata);
}

static reds_err unsubscribe(reds_pubsub *ps, int table, const char *fn, const reds_str *args,
                            size_t count)
{
    reds_err err = check_args(fn, ps, args, count, false);
    if (err)
        return err;
    pthread_mutex_lock(&ps->lock);
    reds__subtable *t = &ps->subs[table];
    reds__st_leave_names(t, args, count);
    if (!ps->conn) {
        /* Nothing is subscribed on the server: just forget them. */
        reds__st_remove_if(t, reds__st_is_leaving, NULL);
    } else {
        err = send_locked(ps, reds__subs_commands[table].unsubscribe, args, count, true);
        if (err && !ps->conn) {
            /* The connection went with the error, and so did the
             * subscriptions; leaving entries were dropped with it. */
            err = REDS_OK;
        }
    }
    pthread_mutex_unlock(&ps->lock);
    return err;
}

reds_err reds_pubsub_unsubscribe(reds_pubsub *ps, const reds_str *channels, size_t count)
{
    return unsubscribe(ps, REDS__CHANNELS, "UNSUBSCRIBE", channels, count);
}

reds_err reds_pubsub_punsubscribe(reds_pubsub *ps, const reds_str *patterns, size_t count)
{
    return unsubscribe(ps, REDS__PATTERNS, "PUNSUBSCRIBE", patterns, count);
}

reds_err reds_pubsub_sunsubscribe(reds_pubsub *ps, const reds_str *channels, size_t count)
{
    return unsubscribe(ps, REDS__SHARDS, "SUNSUBSCRIBE", channels, count);
}

reds_err reds_pubsub_connection_id(reds_pubsub *ps, int64_t *out)
{
    if (!ps || !out)
        return reds__error(REDS_ERR_DATA, "reds_pubsub_connection_id: %s is NULL",
                           ps ? "out" : "the handle");
    *out = 0;
    pthread_mutex_lock(&ps->lock);
    bool deferred;
    reds_err err = writer_conn_locked(ps, &deferred);
    if (!err)
        *out = ps->conn_id;
    pthread_mutex_unlock(&ps->lock);
    return err;
}

bool reds_pubsub_subscribed(reds_pubsub *ps)
{
    if (!ps)
        return false;
    pthread_mutex_lock(&ps->lock);
    bool any = has_entries(ps);
    pthread_mutex_unlock(&ps->lock);
    return any;
}

reds_err reds_pubsub_ping(reds_pubsub *ps, reds_str message)
{
    reds_err err = check_args("PING", ps, &message, 1, true);
    if (err)
        return err;
    pthread_mutex_lock(&ps->lock);
    err = send_locked(ps, "PING", &message, 1, false);
    pthread_mutex_unlock(&ps->lock);
    wake_reader(ps);
    return err;
}

/* ---------------------------------------------------------------- reading */

static bool is_confirmation(reds_pubsub_kind kind)
{
    return kind >= REDS_PUBSUB_SUBSCRIBE && kind <= REDS_PUBSUB_SUNSUBSCRIBE;
}

/* What to do with a message once read. */
typedef struct route {
    reds_pubsub_handler fn; /* NULL: hand it to the caller */
    void *udata;
    bool drop; /* health-check pong, ignored confirmation */
} route;

/* Apply a message to the tables and find its handler; under the lock. */
static route route_locked(reds_pubsub *ps, const reds_pubsub_message *m)
{
    route r = {NULL, NULL, false};
    int table = reds__subs_table(m->kind);
    switch (m->kind) {
    case REDS_PUBSUB_UNSUBSCRIBE:
    case REDS_PUBSUB_PUNSUBSCRIBE:
    case REDS_PUBSUB_SUNSUBSCRIBE: {
        reds__sub *s = m->channel.ptr ? reds__st_find(&ps->subs[table], m->channel.ptr, m->channel.len) : NULL;
        if (s && s->leaving)
            reds__st_remove(&ps->subs[table], s);
        break;
    }
    case REDS_PUBSUB_MESSAGE:
    case REDS_PUBSUB_SMESSAGE:
    case REDS_PUBSUB_PMESSAGE: {
        reds_str key = m->kind == REDS_PUBSUB_PMESSAGE ? m->pattern : m->channel;
        reds__sub *s = reds__st_find(&ps->subs[table], key.ptr, key.len);
        if (s && s->fn.sync) {
            r.fn = s->fn.sync;
            r.udata = s->udata;
        }
        break;
    }
    case REDS_PUBSUB_PONG:
        if (m->data.len == sizeof HEALTH_CHECK_MESSAGE - 1 &&
            memcmp(m->data.ptr, HEALTH_CHECK_MESSAGE, m->data.len) == 0) {
            ps->ping_out = false;
            r.drop = true;
        }
        break;
    case REDS_PUBSUB_RECONNECTED:
        r.fn = ps->opts.on_reconnect;
        r.udata = ps->opts.on_reconnect_udata;
        break;
    default:
        break;
    }
    if (is_confirmation(m->kind) && ps->opts.ignore_subscribe_messages)
        r.drop = true;
    return r;
}

/* Become the handle's one reader, or fail. */
static reds_err begin_read(reds_pubsub *ps, const char *fn)
{
    pthread_mutex_lock(&ps->lock);
    bool busy = ps->reading, thread = ps->thread_started;
    ps->reading = true;
    pthread_mutex_unlock(&ps->lock);
    if (busy)
        return reds__error(REDS_ERR_PUBSUB, "%s: %s", fn,
                           thread ? "the background thread reads this handle"
                                  : "another thread is reading this handle");
    return REDS_OK;
}

static void end_read(reds_pubsub *ps)
{
    pthread_mutex_lock(&ps->lock);
    ps->reading = false;
    pthread_mutex_unlock(&ps->lock);
}

/* The reader's drop: the cause is the error just recorded. */
static void drop_on_error(reds_pubsub *ps)
{
    char why[256];
    snprintf(why, sizeof why, "%s", reds_errmsg());
    drop_locked(ps, why);
}

/* Health checks, once nothing is left to read: PING a silent connection;
 * declare it dead when the PING is not answered within the interval. */
static reds_err health_locked(reds_pubsub *ps, int64_t now)
{
    int interval = ps->opts.health_check_interval_ms;
    if (ps->ping_out && now - ps->ping_sent >= interval)
        return reds__error(REDS_ERR_TIMEOUT, "health check: no reply to PING within %d ms",
                           interval);
    if (!ps->ping_out && now - ps->last_rx >= interval) {
        static const char ping[] = "*2\r\n$4\r\nPING\r\n$17\r\n" HEALTH_CHECK_MESSAGE "\r\n";
        reds_err err = write_locked(ps, ping, sizeof ping - 1);
        if (err)
            return err;
        ps->ping_out = true;
        ps->ping_sent = now;
    }
    return REDS_OK;
}

/* Read one message, waiting up to `timeout_ms` (negative: forever); the
 * caller is the reader. `*out` is an owned message and `*rt` its route,
 * or `*out` is NULL: nothing came in time, or (`stoppable`) the
 * background thread was asked to stop. A lost connection is replaced
 * once per call when something is subscribed; otherwise its error is
 * returned. */
static reds_err read_one(reds_pubsub *ps, int timeout_ms, bool stoppable, reds_pubsub_message **out,
                         route *rt)
{
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    int interval = ps->opts.health_check_interval_ms;
    reds_err last = REDS_OK; /* the error that lost the connection */
    bool reconnected = false;
    *out = NULL;
    pthread_mutex_lock(&ps->lock);
    for (;;) {
        if (ps->nqueue) {
            *out = ps->queue[0];
            ps->queue[0] = ps->queue[1];
            ps->nqueue--;
            *rt = route_locked(ps, *out);
            break;
        }
        unsigned gen = atomic_load_explicit(&reds__fork_generation, memory_order_relaxed);
        if (ps->conn && ps->conn->fork_generation != gen)
            drop_locked(ps, "the connection was inherited across fork()");
        else if (ps->conn && (ps->conn_failed || ps->conn->broken))
            drop_locked(ps, NULL);
        if (!ps->conn && active_count(ps)) {
            if (reconnected) /* lost again at once: let the caller pause */
                break;
            reds_err err = connect_locked(ps);
            if (err) {
                last = err;
                break;
            }
            reconnected = true;
            last = REDS_OK;
            continue;
        }
        if (!ps->conn && last)
            break; /* lost, with nothing to restore: say so at once */
        int fd = -1;
        if (ps->conn) {
            reds_reply *reply;
            reds_err err = reds__conn_read_timeout(ps->conn, 0, &reply);
            if (err) {
                last = err;
                drop_on_error(ps);
                continue;
            }
            int64_t now = now_ms();
            if (reply) {
                ps->last_rx = now;
                if (ps->dropped && ps->nqueue == 0)
                    report_gap_locked(ps);
                reds__arena *a = &ps->conn->arena;
                err = reds__pubsub_parse(reply, a, out);
                if (err) {
                    a->result = NULL;
                    reds__arena_finish(a);
                    if (err == REDS_ERR_INVALID_RESPONSE || err == REDS_ERR_NOMEM)
                        drop_on_error(ps); /* out of step with the server */
                    last = err;
                    break;
                }
                reds__arena_finish(a);
                last = REDS_OK;
                if (ps->nqueue) { /* the gap goes first */
                    ps->queue[ps->nqueue++] = *out;
                    *out = NULL;
                    continue;
                }
                *rt = route_locked(ps, *out);
                break;
            }
            if (interval) {
                err = health_locked(ps, now);
                if (err) {
                    last = err;
                    drop_on_error(ps);
                    continue;
                }
            }
            fd = ps->conn->fd;
        }
        /* Nothing to read: wait for the socket, a wake-up or a deadline. */
        int64_t now = now_ms(), wait = deadline < 0 ? -1 : deadline - now;
        if (deadline >= 0 && wait <= 0)
            break;
        if (fd >= 0 && interval) {
            int64_t due = (ps->ping_out ? ps->ping_sent : ps->last_rx) + interval - now;
            if (due < 1)
                due = 1;
            if (wait < 0 || due < wait)
                wait = due;
        }
        pthread_mutex_unlock(&ps->lock);
        struct pollfd p[2] = {{ps->wake[0], POLLIN, 0}, {fd, POLLIN, 0}};
        int n = poll(p, fd >= 0 ? 2 : 1, wait > INT32_MAX ? INT32_MAX : (int)wait);
        if (n > 0 && p[0].revents) {
            drain_wake(ps);
            if (stoppable && atomic_load(&ps->stop))
                return REDS_OK;
        }
        pthread_mutex_lock(&ps->lock);
    }
    pthread_mutex_unlock(&ps->lock);
    return *out ? REDS_OK : last;
}

/* Hand a message to its handler, else to `fallback`, else to the caller
 * (`out`; NULL drops it). */
static void deliver(reds_pubsub *ps, reds_pubsub_message *m, route rt, reds_pubsub_handler fallback,
                    void *fallback_udata, reds_pubsub_message **out)
{
    reds_pubsub_handler fn = rt.fn ? rt.fn : fallback;
    void *udata = rt.fn ? rt.udata : fallback_udata;
    if (!rt.drop && fn)
        fn(ps, m, udata);
    else if (!rt.drop && out) {
        *out = m;
        return;
    }
    reds_free(m);
}

reds_err reds_pubsub_get_message(reds_pubsub *ps, int timeout_ms, reds_pubsub_message **out)
{
    if (out)
        *out = NULL;
    if (!ps || !out)
        return reds__error(REDS_ERR_DATA, "reds_pubsub_get_message: NULL argument");
    if (timeout_ms < 0 && timeout_ms != REDS_NO_TIMEOUT)
        return reds__error(REDS_ERR_DATA,
                           "reds_pubsub_get_message: timeout_ms must be "
                           ">= 0 or REDS_NO_TIMEOUT, not %d",
                           timeout_ms);
    reds_err err = begin_read(ps, "reds_pubsub_get_message");
    if (err)
        return err;
    reds_pubsub_message *m;
    route rt;
    err = read_one(ps, timeout_ms, false, &m, &rt);
    if (m)
        deliver(ps, m, rt, NULL, NULL, out);
    end_read(ps);
    return err;
}

reds_err reds_pubsub_listen(reds_pubsub *ps, reds_pubsub_handler handler, void *udata)
{
    if (!ps || !handler)
        return reds__error(REDS_ERR_DATA, "reds_pubsub_listen: NULL argument");
    reds_err err = begin_read(ps, "reds_pubsub_listen");
    if (err)
        return err;
    for (;;) {
        pthread_mutex_lock(&ps->lock);
        bool subscribed = has_entries(ps) || ps->nqueue;
        pthread_mutex_unlock(&ps->lock);
        if (!subscribed)
            break;
        reds_pubsub_message *m;
        route rt;
        err = read_one(ps, REDS_NO_TIMEOUT, false, &m, &rt);
        if (err)
            break;
        if (m)
            deliver(ps, m, rt, handler, udata, NULL);
    }
    end_read(ps);
    return err;
}

/* ------------------------------------------------------ the background thread */

/* On the way out of the thread: unsubscribe from everything and read the
 * confirmations (messages still in flight go to their handlers). If the
 * server does not confirm in time, drop the connection instead: the
 * server forgets its subscriptions with it. */
static void unsubscribe_all(reds_pubsub *ps)
{
    pthread_mutex_lock(&ps->lock);
    if (ps->conn && !ps->conn_failed && !ps->conn->broken) {
        for (int t = 0; t < REDS__NTABLES; t++) {
            reds__subtable *st = &ps->subs[t];
            for (size_t i = 0; i < st->nbuckets; i++)
                for (reds__sub *s = st->buckets[i]; s; s = s->next)
                    reds__st_leave(st, s);
        }
        for (int t = 0; t < REDS__NTABLES; t++)
            if (ps->subs[t].count && write_cmd_locked(ps, reds__subs_commands[t].unsubscribe, NULL, 0))
                break; /* the loop below drops the connection */
    } else {
        /* No usable connection: nothing to tell the server. */
        drop_locked(ps, NULL);
        for (int t = 0; t < REDS__NTABLES; t++)
            reds__st_remove_if(&ps->subs[t], NULL, NULL);
    }
    pthread_mutex_unlock(&ps->lock);
    int bound = ps->cfg->connect_timeout_ms > 0 ? ps->cfg->connect_timeout_ms : DRAIN_TIMEOUT_MS;
    for (;;) {
        pthread_mutex_lock(&ps->lock);
        bool waiting = false;
        for (int t = 0; t < REDS__NTABLES; t++)
            waiting |= ps->subs[t].nleaving > 0;
        if (waiting && (!ps->conn || ps->conn_failed || ps->conn->broken)) {
            drop_locked(ps, NULL); /* forgets every leaving entry */
            waiting = false;
        }
        if (!waiting) {
            /* Nothing was meant to stay subscribed: no gap to report. */
            ps->dropped = false;
            ps->cause[0] = '\0';
        }
        pthread_mutex_unlock(&ps->lock);
        if (!waiting)
            return;
        reds_pubsub_message *m;
        route rt;
        reds_err err = read_one(ps, bound, false, &m, &rt);
        if (m) {
            deliver(ps, m, rt, ps->topts.on_message, ps->topts.udata, NULL);
            continue;
        }
        pthread_mutex_lock(&ps->lock);
        if (!err)
            reds__error(REDS_ERR_TIMEOUT, "no confirmation of the unsubscriptions");
        drop_on_error(ps);
        pthread_mutex_unlock(&ps->lock);
    }
}

static void *thread_main(void *arg)
{
    reds_pubsub *ps = arg;
    unsigned failures = 0;
    while (!atomic_load(&ps->stop)) {
        reds_pubsub_message *m;
        route rt;
        reds_err err = read_one(ps, ps->topts.poll_ms, true, &m, &rt);
        if (m)
            deliver(ps, m, rt, ps->topts.on_message, ps->topts.udata, NULL);
        if (!err) {
            failures = 0;
            continue;
        }
        if (ps->topts.on_error)
            ps->topts.on_error(ps, err, reds_errmsg(), ps->topts.error_udata);
        /* Pause before trying again, longer each time, until stopped. */
        int64_t pause = ps->topts.poll_ms > 0 ? ps->topts.poll_ms : 1;
        for (unsigned i = 0; i < failures && pause < MAX_RETRY_PAUSE_MS; i++)
            pause *= 2;
        if (pause > MAX_RETRY_PAUSE_MS)
            pause = MAX_RETRY_PAUSE_MS;
        failures++;
        if (!atomic_load(&ps->stop)) {
            struct pollfd p = {ps->wake[0], POLLIN, 0};
            if (poll(&p, 1, (int)pause) > 0)
                drain_wake(ps);
        }
    }
    unsubscribe_all(ps);
    end_read(ps);
    return NULL;
}

reds_err reds_pubsub_run(reds_pubsub *ps, const reds_pubsub_thread_options *opts)
{
    static const reds_pubsub_thread_options none;
    if (!ps)
        return reds__error(REDS_ERR_DATA, "reds_pubsub_run: the handle is NULL");
    if (!opts)
        opts = &none;
    if (opts->poll_ms < 0)
        return reds__error(REDS_ERR_DATA, "reds_pubsub_run: poll_ms must be >= 0, not %d",
                           opts->poll_ms);
    reds_err err = REDS_OK;
    pthread_mutex_lock(&ps->lock);
    if (ps->thread_started)
        err = reds__error(REDS_ERR_PUBSUB, "reds_pubsub_run: a background thread already "
                                           "runs (reds_pubsub_stop() it first)");
    else if (ps->reading)
        err = reds__error(REDS_ERR_PUBSUB, "reds_pubsub_run: another thread is reading "
                                           "this handle");
    for (int t = 0; t < REDS__NTABLES && !err && !opts->on_message; t++)
        for (size_t i = 0; i < ps->subs[t].nbuckets && !err; i++)
            for (const reds__sub *s = ps->subs[t].buckets[i]; s && !err; s = s->next)
                if (!s->fn.sync && !s->leaving)
                    err = reds__error(REDS_ERR_PUBSUB,
                                      "reds_pubsub_run: %s '%s' has no "
                                      "handler, and there is no on_message",
                                      t == REDS__PATTERNS ? "pattern" : "channel", s->name);
    if (!err) {
        ps->topts = *opts;
        if (!ps->topts.poll_ms)
            ps->topts.poll_ms = DEFAULT_POLL_MS;
        atomic_store(&ps->stop, false);
        drain_wake(ps);
        ps->reading = true;
        int rc = pthread_create(&ps->thread, NULL, thread_main, ps);
        if (rc) {
            ps->reading = false;
            err = reds__error(REDS_ERR, "reds_pubsub_run: pthread_create: %s", strerror(rc));
        } else {
            ps->thread_started = true;
        }
    }
    pthread_mutex_unlock(&ps->lock);
    return err;
}

reds_err reds_pubsub_stop(reds_pubsub *ps)
{
    if (!ps)
        return reds__error(REDS_ERR_DATA, "reds_pubsub_stop: the handle is NULL");
    pthread_mutex_lock(&ps->lock);
    if (!ps->thread_started) {
        pthread_mutex_unlock(&ps->lock);
        return REDS_OK;
    }
    atomic_store(&ps->stop, true);
    wake_reader(ps);
    if (pthread_equal(pthread_self(), ps->thread)) {
        pthread_mutex_unlock(&ps->lock); /* a handler: the thread ends after it */
        return REDS_OK;
    }
    pthread_t t = ps->thread;
    ps->thread_started = false; /* this call joins it */
    pthread_mutex_unlock(&ps->lock);
    pthread_join(t, NULL);
    atomic_store(&ps->stop, false);
    return REDS_OK;
}

void reds_pubsub_close(reds_pubsub *ps)
{
    if (!ps)
        return;
    reds_pubsub_stop(ps);
    reds__conn_close(ps->conn);
    for (int t = 0; t < REDS__NTABLES; t++)
        reds__st_free(&ps->subs[t]);
    for (int i = 0; i < ps->nqueue; i++)
        reds_free(ps->queue[i]);
    close(ps->wake[0]);
    close(ps->wake[1]);
    pthread_mutex_destroy(&ps->lock);
    reds__config_free(ps->cfg);
    free(ps);
}
