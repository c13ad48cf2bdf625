/* The pooled client: redis-py's ConnectionPool and BlockingConnectionPool.
 *
 * Connections are made on demand and reused last-in first-out (the
 * warmest first). With max_connections set, a command that finds every
 * connection in use fails at once (REDS_ERR_POOL_EXHAUSTED), or, in a
 * blocking pool, waits on a condition variable for one to come back.
 * Around that: health checks of idle connections, retries of commands
 * that are safe to repeat, disconnect-all, statistics, and fork safety. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* The borrow and return of every command: inlined into pool_run. */
#if defined(__GNUC__)
#define HOT  static inline __attribute__((always_inline))
#define COLD static __attribute__((noinline))
#else
#define HOT  static inline
#define COLD static
#endif

typedef struct pool_client {
    reds_client base;
    pthread_mutex_t lock;
    pthread_cond_t returned; /* a connection came back or a slot freed */
    reds__conn *idle;        /* LIFO */
    size_t nidle, in_use, waiting;
    uint64_t created;
    unsigned generation; /* reds__fork_generation the pool belongs to */
    unsigned epoch;      /* bumped by reds_pool_disconnect() */
    reds__fork_hook fork;
    reds__lanes *lanes; /* auto-pipelining; NULL when off */
    reds__cache *cache; /* client-side caching (cache.c), or NULL */
} pool_client;

/* `why`: the reds_close_reason the CLOSE hook reports. */
static void close_list(reds__conn *conn, int why)
{
    while (conn) {
        reds__conn *next = conn->next;
        reds__conn_why(conn, why, REDS_OK);
        reds__conn_close(conn);
        conn = next;
    }
}

/* Connections inherited across fork() belong to the parent: forget them
 * (closing our copy of the descriptor only). Called with the lock held. */
static void pool_after_fork(pool_client *p, unsigned gen)
{
    close_list(p->idle, REDS_CLOSE_FORK);
    p->idle = NULL;
    p->nidle = p->in_use = p->waiting = 0;
    p->created = 0;
    p->generation = gen;
}

HOT void lock_checked(pool_client *p)
{
    unsigned gen = atomic_load_explicit(&reds__fork_generation, memory_order_relaxed);
    pthread_mutex_lock(&p->lock);
    if (REDS__UNLIKELY(gen != p->generation))
        pool_after_fork(p, gen);
}

static void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* The POOL_WAIT hook, once the wait that began at `*since` is over. */
static void waited(const reds__config *cfg, uint64_t *since, reds_err err)
{
    if (*since) {
        reds__hook_pool_wait(cfg, *since, err);
        *since = 0;
    }
}

/* Everything but the common case, entered with the lock held: health
 * checks, new connections, the cap, waiting. */
COLD reds_err pool_get_slow(pool_client *p, reds__conn **out)
{
    const reds__config *cfg = p->base.cfg;
    size_t max = (size_t)cfg->max_connections;
    struct timespec deadline;
    bool timed = false;
    uint64_t wait_start = 0; /* hooks only */
    for (;;) {
        reds__conn *conn = p->idle;
        if (conn) {
            p->idle = conn->next;
            p->nidle--;
            p->in_use++;
            pthread_mutex_unlock(&p->lock);
            waited(cfg, &wait_start, REDS_OK);
            if (REDS__LIKELY(reds__conn_usable(conn))) {
                *out = conn;
                return REDS_OK;
            }
            /* Closed by the server while idle, or failed its health check:
             * nothing of the command was sent, so take another one. */
            reds__conn_close(conn);
            pthread_mutex_lock(&p->lock);
            p->in_use--;
            continue;
        }
        if (!max || p->in_use < max) {
            p->in_use++;
            unsigned epoch = p->epoch;
            pthread_mutex_unlock(&p->lock);
            waited(cfg, &wait_start, REDS_OK);
            reds_err err = reds__conn_open(cfg, &conn);
            pthread_mutex_lock(&p->lock);
            if (err) {
                p->in_use--;
                if (p->waiting)
                    pthread_cond_signal(&p->returned);
            } else {
                p->created++;
                conn->pool_epoch = epoch;
            }
            pthread_mutex_unlock(&p->lock);
            if (err)
                return err;
            reds__conn_touch(conn);
            *out = conn;
            return REDS_OK;
        }
        if (!cfg->pool_blocking) {
            pthread_mutex_unlock(&p->lock);
            return reds__error(REDS_ERR_POOL_EXHAUSTED, "Too many connections: all %zu are in use",
                               max);
        }
        int rc;
        if (REDS__UNLIKELY(cfg->hooks) && !wait_start)
            wait_start = reds__mono_ns();
        p->waiting++;
        if (cfg->pool_timeout_ms) {
            if (!timed) {
                deadline_after(&deadline, cfg->pool_timeout_ms);
                timed = true;
            }
            rc = pthread_cond_timedwait(&p->returned, &p->lock, &deadline);
        } else {
            rc = pthread_cond_wait(&p->returned, &p->lock);
        }
        p->waiting--;
        if (rc == ETIMEDOUT && !p->idle && p->in_use >= max) {
            pthread_mutex_unlock(&p->lock);
            waited(cfg, &wait_start, REDS_ERR_POOL_EXHAUSTED);
            return reds__error(REDS_ERR_POOL_EXHAUSTED,
                               "No connection available: all %zu are "
                               "in use, waited %d ms",
                               max, cfg->pool_timeout_ms);
        }
    }
}

HOT reds_err pool_get(pool_client *p, reds__conn **out)
{
    lock_checked(p);
    reds__conn *conn = p->idle;
    if (REDS__LIKELY(conn && !p->base.cfg->health_check_interval_ms)) {
        p->idle = conn->next;
        p->nidle--;
        p->in_use++;
        pthread_mutex_unlock(&p->lock);
        if (REDS__LIKELY(reds__conn_fresh(conn))) {
            *out = conn;
            return REDS_OK;
        }
        reds__conn_close(conn); /* as in pool_get_slow() */
        pthread_mutex_lock(&p->lock);
        p->in_use--;
    }
    return pool_get_slow(p, out);
}

HOT void pool_put(pool_client *p, reds__conn *conn)
{
    if (REDS__LIKELY(!conn->broken))
        reds__conn_idle(conn);
    if (REDS__UNLIKELY(p->base.cfg->health_check_interval_ms) && !conn->broken)
        reds__conn_touch_slow(conn);
    pthread_mutex_lock(&p->lock);
    if (conn->fork_generation == p->generation) {
        p->in_use--;
        /* Since reds_pool_disconnect(), connections close as they return. */
        if (!conn->broken && conn->pool_epoch == p->epoch) {
            conn->next = p->idle;
            p->idle = conn;
            p->nidle++;
            conn = NULL;
        } else if (!conn->broken) {
            reds__conn_why(conn, REDS_CLOSE_POOL_DISCONNECT, REDS_OK);
        }
        if (p->waiting)
            pthread_cond_signal(&p->returned);
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

/* ---------------------------------------------------------------- retries */

/* Whether a failed command may run again. Only connection failures and
 * timeouts are retried (and LOADING, which the server answers without
 * running the command); and only when the command provably never left
 * (connect failed, or its first write moved nothing), or the catalogue
 * marks it read-only, or the caller opted in with retry_writes. Anything
 * else may have run: running it again would run it twice. */
static bool may_retry(const reds__config *cfg, const reds__cmd *cmd, reds_err err, bool sent)
{
    if (err == REDS_ERR_BUSY_LOADING)
        return true;
    if (err != REDS_ERR_CONNECTION && err != REDS_ERR_TIMEOUT)
        return false;
    if (!sent || cfg->retry_writes)
        return true;
    return (reds__command_flags(cmd->id) & REDS_CMD_READONLY) != 0;
}

uint64_t reds__random(void)
{
    static _Thread_local uint64_t state;
    if (!state)
        state = ((uint64_t)(uintptr_t)&state * 0x9E3779B97F4A7C15ull) ^ (reds__now_ms() << 20) ^
                (uint64_t)getpid();
    /* xorshift64* */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1Dull;
}

/* Full jitter: a random delay in µs up to the attempt's limit. */
static uint64_t backoff_us(const reds__config *cfg, int attempt)
{
    uint64_t limit = (uint64_t)cfg->retry_backoff_base_ms << (attempt < 20 ? attempt : 20);
    if (limit > (uint64_t)cfg->retry_backoff_cap_ms)
        limit = (uint64_t)cfg->retry_backoff_cap_ms;
    return limit ? reds__random() % (limit * 1000 + 1) : 0;
}

void reds__backoff(const reds__config *cfg, int attempt)
{
    reds__sleep_us(backoff_us(cfg, attempt));
}

uint64_t reds__backoff_ms(const reds__config *cfg, int attempt)
{
    return backoff_us(cfg, attempt) / 1000;
}

/* A command with its retries; `rd`, a cacheable read whose reply the
 * cache keeps, is a constant NULL on the plain path. */
HOT reds_err pool_call(pool_client *p, reds__cmd *cmd, reds__cache_read *rd)
{
    reds_client *c = &p->base;
    for (int attempt = 0;; attempt++) {
        reds__conn *conn;
        bool sent = false;
        reds_err err;
        struct reds__lane *lane = NULL;
        /* Auto-pipelining: alone on the lane, the command runs as below;
         * with others there, it joins their next write. (A cacheable
         * read the cache sees go by takes the plain path.) */
        if (!rd && p->lanes && reds__shareable(cmd) && !(lane = reds__lane_take(p->lanes))) {
            err = reds__lanes_queue(p->lanes, c, cmd, &sent, NULL, NULL);
        } else if (REDS__LIKELY(!(err = pool_get(p, &conn)))) {
            err = rd ? reds__roundtrip_cached(c, conn, cmd, rd) : reds__roundtrip(c, conn, cmd);
            sent = !conn->unsent;
            pool_put(p, conn);
        }
        if (lane)
            reds__lane_leave(lane, sent);
        if (REDS__LIKELY(!err) || attempt >= c->cfg->retries || !may_retry(c->cfg, cmd, err, sent))
            return err;
        if (REDS__UNLIKELY(c->cfg->hooks))
            reds__hook_retry(c->cfg, cmd, (unsigned)attempt + 2, err);
        reds__backoff(c->cfg, attempt);
    }
}

/* A client with a cache: the cache answers, or sees the reply go by. */
COLD reds_err pool_run_cached(pool_client *p, reds__cmd *cmd)
{
    reds__cache_read rd;
    reds_err err = REDS_OK;
    switch (reds__cache_lookup(p->cache, &p->base, cmd, &rd, &err)) {
    case REDS__CACHE_HIT:
        return err;
    case REDS__CACHE_MISS:
        err = pool_call(p, cmd, &rd);
        reds__cache_end(&rd);
        return err;
    default:
        err = pool_call(p, cmd, NULL);
        reds__cache_wrote(p->cache, cmd);
        return err;
    }
}

static reds_err pool_run(reds_client *c, reds__cmd *cmd)
{
    pool_client *p = (pool_client *)c;
    if (REDS__UNLIKELY(reds__connection_scoped(cmd)))
        return reds__refuse_connection_scope(cmd);
    /* The one test the hot path pays for caching. */
    if (REDS__UNLIKELY(p->cache != NULL))
        return pool_run_cached(p, cmd);
    return pool_call(p, cmd, NULL);
}

/* ------------------------------------------------------------ fork hooks */

static void fork_prepare(void *owner)
{
    pool_client *p = owner;
    pthread_mutex_lock(&p->lock);
    reds__lanes_lock(p->lanes);
}

static void fork_parent(void *owner)
{
    pool_client *p = owner;
    reds__lanes_unlock(p->lanes);
    pthread_mutex_unlock(&p->lock);
}

static void init_sync(pool_client *p)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->returned, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&p->lock, NULL);
}

/* The forking thread holds the lock (prepare); waiters of the parent do
 * not exist here. Start both afresh; the pool's connections are dropped
 * on first use (pool_after_fork). */
static void fork_child(void *owner)
{
    pool_client *p = owner;
    init_sync(p);
    reds__lanes_after_fork(p->lanes);
}

/* ------------------------------------------------------------- lifecycle */

static void pool_destroy(reds_client *c)
{
    pool_client *p = (pool_client *)c;
    /* First: its thread may still retire connections of the pool. */
    reds__cache_free(p->cache);
    reds__fork_unregister(&p->fork);
    close_list(p->idle, REDS_CLOSE_CLIENT_FREED);
    reds__lanes_free(p->lanes);
    pthread_cond_destroy(&p->returned);
    pthread_mutex_destroy(&p->lock);
}

static const reds__router pool_router = {
    .kind = "pool",
    .run = pool_run,
    .acquire = pool_acquire,
    .release = pool_release,
    .destroy = pool_destroy,
};

reds_err reds__pool_new(reds__config *cfg, reds_client **out)
{
    pool_client *p = calloc(1, sizeof *p);
    if (!p) {
        reds__config_free(cfg);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    p->base.router = &pool_router;
    p->base.cfg = cfg;
    if (cfg->autopipeline &&
        reds__lanes_new((size_t)cfg->autopipeline, (size_t)cfg->autopipeline_max_batch,
                        &p->lanes) != REDS_OK) {
        reds__config_free(cfg);
        free(p);
        return reds__last_err();
    }
    init_sync(p);
    p->fork = (reds__fork_hook){fork_prepare, fork_parent, fork_child, p, NULL, NULL};
    reds__fork_register(&p->fork);
    /* After registering: a fork in between would bump the generation. */
    p->generation = atomic_load(&reds__fork_generation);
    if (cfg->cache_max_bytes) {
        reds_err err = cfg->resolver
                           ? reds__error(REDS_ERR_DATA, "cache_max_bytes: client-side caching is "
                                                        "not supported on Sentinel clients yet")
                           : reds__cache_new(&p->base, &p->cache);
        if (err) {
            reds_client_free(&p->base);
            return err;
        }
        cfg->cache = p->cache; /* from now on connections turn tracking on */
    }
    *out = &p->base;
    return REDS_OK;
}

reds__lanes *reds__pool_lanes(reds_client *c)
{
    return c && c->router == &pool_router ? ((pool_client *)c)->lanes : NULL;
}

reds__cache *reds__pool_cache(reds_client *c)
{
    while (c && c->parent)
        c = c->parent;
    return c && c->router == &pool_router ? ((pool_client *)c)->cache : NULL;
}

/* The cache of `client`, or NULL with the error set for `fn`. */
static reds__cache *cache_of(reds_client *client, const char *fn)
{
    reds__cache *cache = reds__pool_cache(client);
    if (!cache)
        reds__error(REDS_ERR_DATA, "%s: %s", fn,
                    client ? "the client has no cache (cache_max_bytes is 0)"
                           : "the client is NULL");
    return cache;
}

reds_err reds_cache_get_stats(reds_client *client, reds_cache_stats *out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_cache_get_stats: out is NULL");
    memset(out, 0, sizeof *out);
    reds__cache *cache = cache_of(client, "reds_cache_get_stats");
    return cache ? reds__cache_stats(cache, out) : reds__last_err();
}

reds_err reds_cache_flush(reds_client *client)
{
    reds__cache *cache = cache_of(client, "reds_cache_flush");
    return cache ? reds__cache_flush(cache) : reds__last_err();
}

/* A pipeline or other child handle reports on its parent's pool. */
static pool_client *pool_of(reds_client *c, const char *fn)
{
    while (c && c->parent)
        c = c->parent;
    if (!c) {
        reds__error(REDS_ERR_DATA, "%s: the client is NULL", fn);
        return NULL;
    }
    if (c->router != &pool_router) {
        reds__error(REDS_ERR_DATA, "%s: a %s has no pool", fn, c->router->kind);
        return NULL;
    }
    return (pool_client *)c;
}

reds_err reds_pool_get_stats(reds_client *client, reds_pool_stats *out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_pool_get_stats: out is NULL");
    memset(out, 0, sizeof *out);
    pool_client *p = pool_of(client, "reds_pool_get_stats");
    if (!p)
        return reds__last_err();
    lock_checked(p);
    out->created = p->created;
    out->in_use = p->in_use;
    out->idle = p->nidle;
    out->waiting = p->waiting;
    out->max_connections = (size_t)p->base.cfg->max_connections;
    pthread_mutex_unlock(&p->lock);
    reds__lanes_stats(p->lanes, &out->shared_writes, &out->shared_commands);
    return REDS_OK;
}

reds_err reds_pool_disconnect(reds_client *client)
{
    pool_client *p = pool_of(client, "reds_pool_disconnect");
    if (!p)
        return reds__last_err();
    lock_checked(p);
    p->epoch++;
    reds__conn *idle = p->idle;
    p->idle = NULL;
    p->nidle = 0;
    pthread_mutex_unlock(&p->lock);
    close_list(idle, REDS_CLOSE_POOL_DISCONNECT);
    return REDS_OK;
}
