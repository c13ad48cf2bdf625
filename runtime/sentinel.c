/* Sentinel clients (see <reds/sentinel.h>): discovery through the
 * generated SENTINEL commands, and address resolvers that make ordinary
 * pooled clients follow a service's master or replicas. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reds/commands.h>
#include <reds/sentinel.h>

#include "internal.h"

#define DEFAULT_SENTINEL_TIMEOUT_MS 1000
#define MAX_REPLICAS                15 /* a resolver names at most 16 candidates, the master last */

struct reds_sentinel {
    atomic_uint refs;     /* the caller's, and one per resolver made from it */
    pthread_mutex_t lock; /* guards `order` */
    size_t n;
    reds_client **nodes; /* in the order given */
    size_t *order;       /* indexes into nodes, in the order to ask them */
    int min_other_sentinels;
    reds__fork_hook fork;
};

/* ------------------------------------------------------------ the handle */

static void sentinel_fork_prepare(void *owner)
{
    pthread_mutex_lock(&((reds_sentinel *)owner)->lock);
}

static void sentinel_fork_parent(void *owner)
{
    pthread_mutex_unlock(&((reds_sentinel *)owner)->lock);
}

static void sentinel_fork_child(void *owner)
{
    pthread_mutex_init(&((reds_sentinel *)owner)->lock, NULL);
}

static void sentinel_unref(reds_sentinel *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    reds__fork_unregister(&s->fork);
    for (size_t i = 0; i < s->n; i++)
        reds_client_free(s->nodes[i]);
    free(s->nodes);
    free(s->order);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

reds_err reds_sentinel_new(const reds_host_port *sentinels, size_t n,
                           const reds_sentinel_options *opts, reds_sentinel **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_sentinel_new: out is NULL");
    *out = NULL;
    if (!sentinels || !n)
        return reds__error(REDS_ERR_DATA, "reds_sentinel_new: no Sentinel given");
    if (opts && opts->min_other_sentinels < 0)
        return reds__error(REDS_ERR_DATA, "reds_sentinel_new: min_other_sentinels is negative");
    reds_sentinel *s = calloc(1, sizeof *s);
    if (!s)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    atomic_init(&s->refs, 1);
    pthread_mutex_init(&s->lock, NULL);
    s->nodes = calloc(n, sizeof *s->nodes);
    s->order = calloc(n, sizeof *s->order);
    s->min_other_sentinels = opts ? opts->min_other_sentinels : 0;
    s->fork = (reds__fork_hook){
        sentinel_fork_prepare, sentinel_fork_parent, sentinel_fork_child, s, NULL, NULL};
    reds__fork_register(&s->fork);
    if (!s->nodes || !s->order) {
        sentinel_unref(s);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        reds_options o = {0};
        if (opts && opts->sentinel)
            o = *opts->sentinel;
        o.host = sentinels[i].host;
        o.port = sentinels[i].port;
        o.unix_path = NULL;
        if (!o.connect_timeout_ms)
            o.connect_timeout_ms = DEFAULT_SENTINEL_TIMEOUT_MS;
        if (!o.socket_timeout_ms)
            o.socket_timeout_ms = DEFAULT_SENTINEL_TIMEOUT_MS;
        reds_err err = reds_client_new(&o, &s->nodes[i]);
        if (err) {
            s->n = i;
            sentinel_unref(s);
            return err;
        }
        s->order[i] = i;
    }
    s->n = n;
    *out = s;
    return REDS_OK;
}

void reds_sentinel_free(reds_sentinel *sentinel)
{
    sentinel_unref(sentinel);
}

size_t reds_sentinel_count(const reds_sentinel *sentinel)
{
    return sentinel ? sentinel->n : 0;
}

reds_client *reds_sentinel_node(reds_sentinel *sentinel, size_t i)
{
    return sentinel && i < sentinel->n ? sentinel->nodes[i] : NULL;
}

/* ------------------------------------------------------------- discovery */

/* The order to ask the Sentinels in, as it is now (the caller frees). */
static size_t *order_snapshot(reds_sentinel *s)
{
    size_t *order = malloc(s->n * sizeof *order);
    if (!order) {
        reds__error(REDS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_lock(&s->lock);
    memcpy(order, s->order, s->n * sizeof *order);
    pthread_mutex_unlock(&s->lock);
    return order;
}

/* Sentinel `node` answered: swap it with the first, as redis-py does. */
static void move_to_front(reds_sentinel *s, size_t node)
{
    pthread_mutex_lock(&s->lock);
    for (size_t k = 1; k < s->n; k++) {
        if (s->order[k] == node) {
            s->order[k] = s->order[0];
            s->order[0] = node;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
}

/* Whether the comma-separated `flags` hold `flag`. */
static bool has_flag(reds_str flags, const char *flag)
{
    size_t n = strlen(flag);
    const char *p = flags.ptr, *end = flags.ptr + flags.len;
    while (p && p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if ((size_t)(stop - p) == n && memcmp(p, flag, n) == 0)
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

static bool set_addr(reds__addr *a, reds_str ip, int64_t port)
{
    if (!ip.ptr || ip.len >= sizeof a->host || port <= 0 || port > 65535)
        return false;
    memcpy(a->host, ip.ptr, ip.len);
    a->host[ip.len] = '\0';
    a->port = (int)port;
    return true;
}

static void describe_node(reds_sentinel *s, size_t i, char *buf, size_t size)
{
    reds__conn_describe(s->nodes[i]->cfg, buf, size);
}

/* redis-py's discover_master: the first Sentinel that names a healthy
 * master wins, and moves to the front. */
static reds_err find_master(reds_sentinel *s, const char *service, reds__addr *out)
{
    size_t *order = order_snapshot(s);
    if (!order)
        return REDS_ERR_NOMEM;
    char why[512] = "";
    for (size_t k = 0; k < s->n; k++) {
        size_t i = order[k];
        reds_sentinel_master_state *st = NULL;
        reds_err err = reds_sentinel_master(s->nodes[i], reds_cstr(service), &st);
        char where[300];
        describe_node(s, i, where, sizeof where);
        if (err) {
            snprintf(why, sizeof why, "%s: %s", where, reds_errmsg());
        } else if (!has_flag(st->flags, "master") || has_flag(st->flags, "s_down") ||
                   has_flag(st->flags, "o_down")) {
            snprintf(why, sizeof why, "%s: the master is %.*s", where, (int)st->flags.len,
                     st->flags.ptr);
        } else if (st->num_other_sentinels < s->min_other_sentinels) {
            snprintf(why, sizeof why, "%s: sees %lld other Sentinels, fewer than %d", where,
                     (long long)st->num_other_sentinels, s->min_other_sentinels);
        } else if (!set_addr(out, st->ip, st->port)) {
            snprintf(why, sizeof why, "%s: a bad address", where);
        } else {
            reds_free(st);
            free(order);
            move_to_front(s, i);
            reds__clear_error();
            return REDS_OK;
        }
        reds_free(st);
    }
    free(order);
    return reds__error(REDS_ERR_MASTER_NOT_FOUND, "No master found for '%s' (last: %s)", service,
                       why);
}

/* redis-py's discover_slaves: the replicas of the first Sentinel that
 * reports any that are up. `*n` may be 0. */
static reds_err find_replicas(reds_sentinel *s, const char *service, reds__addr *out, size_t max,
                              size_t *n)
{
    *n = 0;
    size_t *order = order_snapshot(s);
    if (!order)
        return REDS_ERR_NOMEM;
    for (size_t k = 0; k < s->n && !*n; k++) {
        reds_sentinel_replica_state_list *list = NULL;
        if (reds_sentinel_replicas(s->nodes[order[k]], reds_cstr(service), &list))
            continue;
        for (size_t j = 0; j < list->count && *n < max; j++) {
            const reds_sentinel_replica_state *r = &list->items[j];
            if (has_flag(r->flags, "s_down") || has_flag(r->flags, "o_down"))
                continue;
            if (set_addr(&out[*n], r->ip, r->port))
                (*n)++;
        }
        reds_free(list);
    }
    free(order);
    reds__clear_error();
    return REDS_OK;
}

static reds_err check_args(reds_sentinel *s, const char *service, void *out, const char *fn)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "%s: out is NULL", fn);
    if (!s)
        return reds__error(REDS_ERR_DATA, "%s: the handle is NULL", fn);
    if (!service || !*service)
        return reds__error(REDS_ERR_DATA, "%s: no service name", fn);
    return REDS_OK;
}

/* One owned block: the list, its items, then their host strings. */
static reds_host_port_list *addr_list(const reds__addr *addrs, size_t n)
{
    size_t bytes = sizeof(reds_host_port_list) + n * sizeof(reds_host_port);
    for (size_t i = 0; i < n; i++)
        bytes += strlen(addrs[i].host) + 1;
    reds_host_port_list *l = reds_alloc(bytes);
    if (!l)
        return NULL;
    l->count = n;
    l->items = (reds_host_port *)(l + 1);
    char *text = (char *)(l->items + n);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(addrs[i].host) + 1;
        memcpy(text, addrs[i].host, len);
        l->items[i].host = text;
        l->items[i].port = addrs[i].port;
        text += len;
    }
    return l;
}

reds_err reds_sentinel_discover_master(reds_sentinel *sentinel, const char *service,
                                       reds_host_port **out)
{
    reds_err err = check_args(sentinel, service, out, "reds_sentinel_discover_master");
    if (err)
        return err;
    *out = NULL;
    reds__addr addr;
    if ((err = find_master(sentinel, service, &addr)) != REDS_OK)
        return err;
    size_t len = strlen(addr.host) + 1;
    reds_host_port *hp = reds_alloc(sizeof *hp + len);
    if (!hp)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    memcpy(hp + 1, addr.host, len);
    hp->host = (const char *)(hp + 1);
    hp->port = addr.port;
    *out = hp;
    return REDS_OK;
}

reds_err reds_sentinel_discover_replicas(reds_sentinel *sentinel, const char *service,
                                         reds_host_port_list **out)
{
    reds_err err = check_args(sentinel, service, out, "reds_sentinel_discover_replicas");
    if (err)
        return err;
    *out = NULL;
    reds__addr addrs[64];
    size_t n;
    if ((err = find_replicas(sentinel, service, addrs, 64, &n)) != REDS_OK)
        return err;
    if (!(*out = addr_list(addrs, n)))
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    return REDS_OK;
}

/* ------------------------------------------------------------- resolvers */

typedef struct target {
    reds__resolver base;
    reds_sentinel *s;
    char *service;
    atomic_uint next;     /* round-robin over replicas */
    pthread_mutex_t lock; /* guards master, known */
    reds__addr master;    /* where the master was last found */
    bool known;
    reds__fork_hook fork;
} target;

static void target_fork_prepare(void *owner)
{
    pthread_mutex_lock(&((target *)owner)->lock);
}

static void target_fork_parent(void *owner)
{
    pthread_mutex_unlock(&((target *)owner)->lock);
}

static void target_fork_child(void *owner)
{
    pthread_mutex_init(&((target *)owner)->lock, NULL);
}

static bool same_addr(const reds__addr *a, const reds__addr *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* Every connection of a master client asks the Sentinels (as redis-py's
 * SentinelConnectionPool does); a new address retires older connections. */
static reds_err resolve_master(reds__resolver *r, reds__addr *addrs, size_t max, size_t *n,
                               unsigned *generation)
{
    target *t = (target *)r;
    (void)max;
    reds_err err = find_master(t->s, t->service, &addrs[0]);
    if (err)
        return err;
    pthread_mutex_lock(&t->lock);
    if (t->known && !same_addr(&t->master, &addrs[0]))
        atomic_fetch_add(&r->generation, 1);
    t->master = addrs[0];
    t->known = true;
    *generation = atomic_load(&r->generation);
    pthread_mutex_unlock(&t->lock);
    *n = 1;
    return REDS_OK;
}

/* A master that answers READONLY was demoted: forget it, and retire every
 * connection made to it. */
static bool readonly_master(reds__resolver *r, const reds__addr *addr)
{
    target *t = (target *)r;
    pthread_mutex_lock(&t->lock);
    if (t->known && same_addr(&t->master, addr)) {
        atomic_fetch_add(&r->generation, 1);
        t->known = false;
    }
    pthread_mutex_unlock(&t->lock);
    return true;
}

/* redis-py's rotate_slaves: the replicas, round-robin from one connection
 * to the next, then the master. */
static reds_err resolve_replica(reds__resolver *r, reds__addr *addrs, size_t max, size_t *n,
                                unsigned *generation)
{
    target *t = (target *)r;
    reds__addr found[MAX_REPLICAS];
    size_t nfound;
    *n = 0;
    *generation = atomic_load(&r->generation);
    reds_err err = find_replicas(t->s, t->service, found,
                                 max - 1 < MAX_REPLICAS ? max - 1 : MAX_REPLICAS, &nfound);
    if (err)
        return err;
    if (nfound) {
        unsigned start = atomic_fetch_add(&t->next, 1);
        for (size_t i = 0; i < nfound; i++)
            addrs[(*n)++] = found[(start + i) % nfound];
    }
    if (find_master(t->s, t->service, &addrs[*n]) == REDS_OK)
        (*n)++;
    if (!*n)
        return reds__error(REDS_ERR_SLAVE_NOT_FOUND, "No replica found for '%s', nor a master",
                           t->service);
    reds__clear_error();
    return REDS_OK;
}

/* A replica refuses writes: that is its job, not a sign of a move. */
static bool readonly_replica(reds__resolver *r, const reds__addr *addr)
{
    (void)r;
    (void)addr;
    return false;
}

static void target_destroy(reds__resolver *r)
{
    target *t = (target *)r;
    reds__fork_unregister(&t->fork);
    pthread_mutex_destroy(&t->lock);
    sentinel_unref(t->s);
    free(t->service);
    free(t);
}

void reds__resolver_ref(reds__resolver *r)
{
    atomic_fetch_add(&r->refs, 1);
}

void reds__resolver_unref(reds__resolver *r)
{
    if (r && atomic_fetch_sub(&r->refs, 1) == 1)
        r->destroy(r);
}

reds_err reds__resolver_readonly(reds__conn *conn, reds_err err)
{
    reds__resolver *r = conn->cfg->resolver;
    if (!conn->resolved || !r->readonly(r, &conn->addr))
        return err;
    /* READONLY means it did not run: safe to retry (pool retries). */
    conn->broken = true;
    conn->unsent = true;
    reds__conn_why(conn, REDS_CLOSE_MOVED, REDS_ERR_READONLY);
    char msg[256];
    snprintf(msg, sizeof msg, "%s", reds_errmsg());
    return reds__error(REDS_ERR_CONNECTION,
                       "%s:%d is no longer the master; asking the Sentinels "
                       "again (%s)",
                       conn->addr.host, conn->addr.port, msg);
}

static reds_err make_client(reds_sentinel *s, const char *service, const reds_options *opts,
                            bool replica, reds_client **out, const char *fn)
{
    reds_err err = check_args(s, service, out, fn);
    if (err)
        return err;
    *out = NULL;
    reds_options o = {0};
    if (opts)
        o = *opts;
    o.host = NULL;
    o.port = 0;
    o.unix_path = NULL;
    reds__config *cfg;
    if ((err = reds__config_new(&o, &cfg)) != REDS_OK)
        return err;
    target *t = calloc(1, sizeof *t);
    if (!t || !(t->service = strdup(service))) {
        free(t);
        reds__config_free(cfg);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    t->base.resolve = replica ? resolve_replica : resolve_master;
    t->base.readonly = replica ? readonly_replica : readonly_master;
    t->base.destroy = target_destroy;
    t->base.unreachable = replica ? REDS_ERR_SLAVE_NOT_FOUND : REDS_OK;
    atomic_init(&t->base.refs, 1);
    atomic_init(&t->base.generation, 0);
    atomic_init(&t->next, 0);
    pthread_mutex_init(&t->lock, NULL);
    t->fork = (reds__fork_hook){
        target_fork_prepare, target_fork_parent, target_fork_child, t, NULL, NULL};
    reds__fork_register(&t->fork);
    atomic_fetch_add(&s->refs, 1);
    t->s = s;
    cfg->resolver = &t->base;
    return reds__pool_new(cfg, out); /* owns cfg, and so the resolver */
}

reds_err reds_sentinel_master_for(reds_sentinel *sentinel, const char *service,
                                  const reds_options *opts, reds_client **out)
{
    return make_client(sentinel, service, opts, false, out, "reds_sentinel_master_for");
}

reds_err reds_sentinel_replica_for(reds_sentinel *sentinel, const char *service,
                                   const reds_options *opts, reds_client **out)
{
    return make_client(sentinel, service, opts, true, out, "reds_sentinel_replica_for");
}
