/* Redis Cluster clients (see <reds/cluster.h>): the slot map, key routing
 * from the command table, redirections and retries, commands of several
 * nodes and the combination of their replies, target handles, and the
 * address resolvers that let pub/sub handles and dedicated connections
 * follow the cluster. Pipelines are in cluster_pipeline.c. */
/* CLUSTER SLOTS, deprecated since 7.0, is the fallback for older servers. */
#define REDS_ALLOW_DEPRECATED 1

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <reds/url.h>

#include "cluster_impl.h"
#include "convert.h"

#define NSLOTS                REDS_CLUSTER_SLOTS
#define NO_SHARD              0xffffu
#define MAX_REPLICAS          16 /* per shard, for reads and resolvers */
#define MAX_NODES             4096
#define DEFAULT_MAX_REDIRECTS 16 /* redis-py's RedisClusterRequestTTL */
#define DEFAULT_RETRIES       3  /* redis-py's cluster_error_retry_attempts */
#define MOVED_PER_RELOAD      5  /* redis-py's reinitialize_steps */

typedef struct shard {
    size_t primary;
    size_t nreplicas;
    size_t replicas[MAX_REPLICAS]; /* online ones: reads and targets go there */
    size_t nlagging;
    size_t lagging[MAX_REPLICAS]; /* the others (syncing, failed): listed only */
} shard;

typedef struct slotmap {
    uint16_t owner[NSLOTS]; /* index in shards, or NO_SHARD */
    size_t nshards, cap;
    shard *shards;
} slotmap;

struct reds__cstate {
    atomic_uint refs; /* the client, its target handles, its resolvers */
    /* Guards nodes, map and default_node. Readers copy what they need
     * (a node pointer) and let go before any I/O. */
    pthread_rwlock_t lock;
    reds__cnode **nodes; /* every node ever known: indexes stay valid */
    size_t nnodes, ncap;
    slotmap *map;
    size_t default_node;         /* SIZE_MAX: none */
    pthread_mutex_t reload_lock; /* one map reload at a time */
    atomic_uint epoch;           /* bumped by every installed map */
    atomic_uint moved;           /* MOVED replies since the last reload */
    reds__config *tmpl;          /* the options of every node */
    bool read_from_replicas;
    int max_redirects, retries;
    _Atomic uint64_t n_moved, n_ask, n_tryagain, n_clusterdown, n_conn, n_reload, n_replica;
    reds__fork_hook fork;
};

static const reds__router cluster_router;

/* ------------------------------------------------------------- hash slots */

/* CRC16-CCITT (XMODEM), as the Redis Cluster specification defines it. */
static const uint16_t crc16tab[256] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7, 0x8108, 0x9129, 0xa14a, 0xb16b,
    0xc18c, 0xd1ad, 0xe1ce, 0xf1ef, 0x1231, 0x0210, 0x3273, 0x2252, 0x52b5, 0x4294, 0x72f7, 0x62d6,
    0x9339, 0x8318, 0xb37b, 0xa35a, 0xd3bd, 0xc39c, 0xf3ff, 0xe3de, 0x2462, 0x3443, 0x0420, 0x1401,
    0x64e6, 0x74c7, 0x44a4, 0x5485, 0xa56a, 0xb54b, 0x8528, 0x9509, 0xe5ee, 0xf5cf, 0xc5ac, 0xd58d,
    0x3653, 0x2672, 0x1611, 0x0630, 0x76d7, 0x66f6, 0x5695, 0x46b4, 0xb75b, 0xa77a, 0x9719, 0x8738,
    0xf7df, 0xe7fe, 0xd79d, 0xc7bc, 0x48c4, 0x58e5, 0x6886, 0x78a7, 0x0840, 0x1861, 0x2802, 0x3823,
    0xc9cc, 0xd9ed, 0xe98e, 0xf9af, 0x8948, 0x9969, 0xa90a, 0xb92b, 0x5af5, 0x4ad4, 0x7ab7, 0x6a96,
    0x1a71, 0x0a50, 0x3a33, 0x2a12, 0xdbfd, 0xcbdc, 0xfbbf, 0xeb9e, 0x9b79, 0x8b58, 0xbb3b, 0xab1a,
    0x6ca6, 0x7c87, 0x4ce4, 0x5cc5, 0x2c22, 0x3c03, 0x0c60, 0x1c41, 0xedae, 0xfd8f, 0xcdec, 0xddcd,
    0xad2a, 0xbd0b, 0x8d68, 0x9d49, 0x7e97, 0x6eb6, 0x5ed5, 0x4ef4, 0x3e13, 0x2e32, 0x1e51, 0x0e70,
    0xff9f, 0xefbe, 0xdfdd, 0xcffc, 0xbf1b, 0xaf3a, 0x9f59, 0x8f78, 0x9188, 0x81a9, 0xb1ca, 0xa1eb,
    0xd10c, 0xc12d, 0xf14e, 0xe16f, 0x1080, 0x00a1, 0x30c2, 0x20e3, 0x5004, 0x4025, 0x7046, 0x6067,
    0x83b9, 0x9398, 0xa3fb, 0xb3da, 0xc33d, 0xd31c, 0xe37f, 0xf35e, 0x02b1, 0x1290, 0x22f3, 0x32d2,
    0x4235, 0x5214, 0x6277, 0x7256, 0xb5ea, 0xa5cb, 0x95a8, 0x8589, 0xf56e, 0xe54f, 0xd52c, 0xc50d,
    0x34e2, 0x24c3, 0x14a0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405, 0xa7db, 0xb7fa, 0x8799, 0x97b8,
    0xe75f, 0xf77e, 0xc71d, 0xd73c, 0x26d3, 0x36f2, 0x0691, 0x16b0, 0x6657, 0x7676, 0x4615, 0x5634,
    0xd94c, 0xc96d, 0xf90e, 0xe92f, 0x99c8, 0x89e9, 0xb98a, 0xa9ab, 0x5844, 0x4865, 0x7806, 0x6827,
    0x18c0, 0x08e1, 0x3882, 0x28a3, 0xcb7d, 0xdb5c, 0xeb3f, 0xfb1e, 0x8bf9, 0x9bd8, 0xabbb, 0xbb9a,
    0x4a75, 0x5a54, 0x6a37, 0x7a16, 0x0af1, 0x1ad0, 0x2ab3, 0x3a92, 0xfd2e, 0xed0f, 0xdd6c, 0xcd4d,
    0xbdaa, 0xad8b, 0x9de8, 0x8dc9, 0x7c26, 0x6c07, 0x5c64, 0x4c45, 0x3ca2, 0x2c83, 0x1ce0, 0x0cc1,
    0xef1f, 0xff3e, 0xcf5d, 0xdf7c, 0xaf9b, 0xbfba, 0x8fd9, 0x9ff8, 0x6e17, 0x7e36, 0x4e55, 0x5e74,
    0x2e93, 0x3eb2, 0x0ed1, 0x1ef0,
};

static uint16_t crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++)
        crc = (uint16_t)((crc << 8) ^ crc16tab[((crc >> 8) ^ (unsigned char)buf[i]) & 0xff]);
    return crc;
}

int reds_cluster_hash_slot(reds_str key)
{
    const char *p = key.ptr;
    size_t len = key.ptr ? key.len : 0;
    const char *open = len ? memchr(p, '{', len) : NULL;
    if (open) {
        size_t rest = len - (size_t)(open - p) - 1;
        const char *close = rest ? memchr(open + 1, '}', rest) : NULL;
        if (close && close > open + 1) {
            p = open + 1;
            len = (size_t)(close - open - 1);
        }
    }
    return crc16(p, len) & (NSLOTS - 1);
}

static const reds_catalog_entry *entry_of(const reds__cmd *cmd)
{
    return reds__command_info(cmd->id);
}

reds_err reds__cluster_cmd_slot(const reds__cmd *cmd, int *slot)
{
    *slot = -1;
    const reds_catalog_entry *e = entry_of(cmd);
    if (!e || !e->nkey_specs)
        return REDS_OK;
    reds__keys k;
    reds_err err = reds__cmd_keys(cmd, e, &k);
    if (err)
        return err;
    for (long i = 0; i < k.n; i++) {
        int s = reds_cluster_hash_slot(reds__key(&k, i));
        if (*slot < 0) {
            *slot = s;
        } else if (s != *slot) {
            reds_str a = reds__key(&k, 0), b = reds__key(&k, i);
            err = reds__error(REDS_ERR_CROSSSLOT,
                              "%s: keys in different slots ('%.*s' in %d, "
                              "'%.*s' in %d); give them a common hash tag ({...})",
                              e->name, (int)(a.len > 64 ? 64 : a.len), a.ptr, *slot,
                              (int)(b.len > 64 ? 64 : b.len), b.ptr, s);
            *slot = -1;
            break;
        }
    }
    reds__keys_free(&k);
    return err;
}

/* ------------------------------------------------------------- the state */

void reds__cluster_backoff(reds__cstate *st, int attempt)
{
    reds__backoff(st->tmpl, attempt);
}

static void free_map(slotmap *m)
{
    if (m) {
        free(m->shards);
        free(m);
    }
}

static slotmap *new_map(void)
{
    slotmap *m = calloc(1, sizeof *m);
    if (m)
        memset(m->owner, 0xff, sizeof m->owner);
    return m;
}

static void state_fork_prepare(void *owner)
{
    pthread_rwlock_wrlock(&((reds__cstate *)owner)->lock);
}

static void state_fork_parent(void *owner)
{
    pthread_rwlock_unlock(&((reds__cstate *)owner)->lock);
}

/* A reload may be under way on another thread of the parent: its lock is
 * made usable again (the pools forget their connections by themselves). */
static void state_fork_child(void *owner)
{
    reds__cstate *st = owner;
    pthread_rwlock_init(&st->lock, NULL);
    pthread_mutex_init(&st->reload_lock, NULL);
}

static void state_ref(reds__cstate *st)
{
    atomic_fetch_add(&st->refs, 1);
}

static void state_unref(reds__cstate *st)
{
    if (!st || atomic_fetch_sub(&st->refs, 1) != 1)
        return;
    reds__fork_unregister(&st->fork);
    for (size_t i = 0; i < st->nnodes; i++) {
        reds_client_free(st->nodes[i]->pool);
        free(st->nodes[i]);
    }
    free(st->nodes);
    free_map(st->map);
    reds__config_free(st->tmpl);
    pthread_rwlock_destroy(&st->lock);
    pthread_mutex_destroy(&st->reload_lock);
    free(st);
}

unsigned reds__cluster_epoch(reds__cstate *st)
{
    return atomic_load(&st->epoch);
}

bool reds__cluster_read_from_replicas(const reds__cstate *st)
{
    return st->read_from_replicas;
}

int reds__cluster_max_redirects(const reds__cstate *st)
{
    return st->max_redirects;
}

int reds__cluster_retries(const reds__cstate *st)
{
    return st->retries;
}

const reds__config *reds__cluster_node_config(const reds__cstate *st)
{
    return st->tmpl;
}

void reds__cluster_node_failed(reds__cstate *st, reds__cnode *node)
{
    atomic_fetch_add(&st->n_conn, 1);
    atomic_store(&node->failed_ms, reds__now_ms());
}

static bool find_node_locked(const reds__cstate *st, const char *host, size_t hlen, int port,
                             size_t *index)
{
    for (size_t i = 0; i < st->nnodes; i++) {
        const reds__cnode *n = st->nodes[i];
        if (n->port == port && strlen(n->host) == hlen && memcmp(n->host, host, hlen) == 0) {
            *index = i;
            return true;
        }
    }
    return false;
}

static void free_node(reds__cnode *n)
{
    if (n) {
        reds_client_free(n->pool);
        free(n);
    }
}

/* The node at host:port, made (with its pool) if new. The pool is made
 * without the lock held: making one registers fork hooks, whose lock the
 * fork handlers hold while they take ours. */
static reds_err node_get(reds__cstate *st, const char *host, size_t hlen, int port, size_t *index)
{
    pthread_rwlock_rdlock(&st->lock);
    bool known = find_node_locked(st, host, hlen, port, index);
    pthread_rwlock_unlock(&st->lock);
    if (known)
        return REDS_OK;
    if (!hlen || hlen >= sizeof st->nodes[0]->host || port <= 0 || port > 65535)
        return reds__error(REDS_ERR_CLUSTER, "a node address is invalid ('%.*s', port %d)",
                           (int)(hlen > 64 ? 64 : hlen), host, port);
    reds__cnode *n = calloc(1, sizeof *n);
    if (!n)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    memcpy(n->host, host, hlen);
    n->port = port;
    atomic_init(&n->rr, 0);
    atomic_init(&n->failed_ms, 0);
    reds__config *cfg;
    reds_err err = reds__config_copy(st->tmpl, &cfg);
    if (!err) {
        char *h = strdup(n->host);
        if (!h) {
            reds__config_free(cfg);
            err = reds__error(REDS_ERR_NOMEM, "out of memory");
        } else {
            free(cfg->host);
            cfg->host = h;
            cfg->port = port;
            err = reds__pool_new(cfg, &n->pool); /* owns cfg */
        }
    }
    if (err) {
        free(n);
        return err;
    }
    pthread_rwlock_wrlock(&st->lock);
    if (find_node_locked(st, host, hlen, port, index)) {
        /* Another thread made it meanwhile. */
    } else if (st->nnodes == MAX_NODES) {
        err = reds__error(REDS_ERR_CLUSTER, "more than %d nodes", MAX_NODES);
    } else if (st->nnodes == st->ncap) {
        size_t cap = st->ncap ? st->ncap * 2 : 8;
        reds__cnode **nodes = realloc(st->nodes, cap * sizeof *nodes);
        if (nodes) {
            st->nodes = nodes;
            st->ncap = cap;
        } else {
            err = reds__error(REDS_ERR_NOMEM, "out of memory");
        }
    }
    if (!err && !find_node_locked(st, host, hlen, port, index)) {
        st->nodes[st->nnodes] = n;
        *index = st->nnodes++;
        n = NULL;
    }
    pthread_rwlock_unlock(&st->lock);
    free_node(n);
    return err;
}

static reds_err add_shard(slotmap *m, size_t primary, size_t *index)
{
    for (size_t i = 0; i < m->nshards; i++) {
        if (m->shards[i].primary == primary) {
            *index = i;
            return REDS_OK;
        }
    }
    if (m->nshards == NO_SHARD)
        return reds__error(REDS_ERR_CLUSTER, "too many shards");
    if (m->nshards == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        shard *s = realloc(m->shards, cap * sizeof *s);
        if (!s)
            return reds__error(REDS_ERR_NOMEM, "out of memory");
        m->shards = s;
        m->cap = cap;
    }
    memset(&m->shards[m->nshards], 0, sizeof m->shards[0]);
    m->shards[m->nshards].primary = primary;
    *index = m->nshards++;
    return REDS_OK;
}

static bool str_is(reds_str s, const char *c)
{
    size_t n = strlen(c);
    return s.ptr && s.len == n && memcmp(s.ptr, c, n) == 0;
}

/* A usable address text: not empty, not "?" (unknown). */
static bool known_host(reds_str h)
{
    return h.ptr && h.len && !str_is(h, "?");
}

static void add_replica(shard *s, size_t node, bool online)
{
    size_t *list = online ? s->replicas : s->lagging;
    size_t *n = online ? &s->nreplicas : &s->nlagging;
    if (node == s->primary || *n == MAX_REPLICAS)
        return;
    for (size_t i = 0; i < *n; i++)
        if (list[i] == node)
            return;
    list[(*n)++] = node;
}

static void assign(slotmap *m, int64_t from, int64_t to, size_t shard_index)
{
    if (from < 0)
        from = 0;
    if (to >= NSLOTS)
        to = NSLOTS - 1;
    for (int64_t s = from; s <= to; s++)
        m->owner[s] = (uint16_t)shard_index;
}

/* CLUSTER SHARDS -> a map not shared yet (nodes may be added). */
static reds_err map_from_shards(reds__cstate *st, const reds__cnode *from,
                                const reds_cluster_shard_list *list, slotmap *m)
{
    for (size_t i = 0; i < list->count; i++) {
        const reds_cluster_shard *sh = &list->items[i];
        if (sh->slots.count < 2)
            continue;
        size_t ids[MAX_REPLICAS + 1], n = 0, primary = SIZE_MAX;
        bool online[MAX_REPLICAS + 1];
        for (size_t j = 0; j < sh->nnodes; j++) {
            const reds_cluster_shard_node *nd = &sh->nodes[j];
            bool master = str_is(nd->role, "master");
            reds_str host = known_host(nd->endpoint) ? nd->endpoint
                            : known_host(nd->ip)     ? nd->ip
                                                     : reds_cstr(from->host);
            int64_t port = st->tmpl->tls && nd->tls_port ? nd->tls_port : nd->port;
            size_t index;
            reds_err err = node_get(st, host.ptr, host.len, (int)port, &index);
            if (err)
                return err;
            /* Replicas serve only when in sync; a failed primary stays
             * primary until another is elected. */
            if (master) {
                primary = index;
            } else if (n < MAX_REPLICAS + 1) {
                online[n] = str_is(nd->health, "online");
                ids[n++] = index;
            }
        }
        if (primary == SIZE_MAX)
            continue;
        size_t si;
        reds_err err = add_shard(m, primary, &si);
        if (err)
            return err;
        for (size_t k = 0; k < n; k++)
            add_replica(&m->shards[si], ids[k], online[k]);
        for (size_t k = 0; k + 1 < sh->slots.count; k += 2)
            assign(m, sh->slots.items[k], sh->slots.items[k + 1], si);
    }
    return REDS_OK;
}

static reds_err slot_node(reds__cstate *st, const reds__cnode *from,
                          const reds_cluster_slot_node *nd, size_t *index)
{
    reds_str host = known_host(nd->ip) ? nd->ip : reds_cstr(from->host);
    return node_get(st, host.ptr, host.len, (int)nd->port, index);
}

/* CLUSTER SLOTS (servers before 7.0) -> a map not shared yet. */
static reds_err map_from_slots(reds__cstate *st, const reds__cnode *from,
                               const reds_cluster_slot_range_list *list, slotmap *m)
{
    for (size_t i = 0; i < list->count; i++) {
        const reds_cluster_slot_range *r = &list->items[i];
        size_t primary, si;
        reds_err err = slot_node(st, from, &r->master, &primary);
        if (!err)
            err = add_shard(m, primary, &si);
        for (size_t k = 0; !err && k < r->nreplicas; k++) {
            size_t index;
            err = slot_node(st, from, &r->replicas[k], &index);
            if (!err)
                add_replica(&m->shards[si], index, true);
        }
        if (err)
            return err;
        assign(m, r->start, r->end, si);
    }
    return REDS_OK;
}

static bool serves(const slotmap *m, size_t node)
{
    for (size_t i = 0; i < m->nshards; i++)
        if (m->shards[i].primary == node)
            return true;
    return false;
}

/* Replace the map. The default node stays while it is a primary; else a
 * primary is chosen at random (redis-py). Lock held for writing. */
static void install_locked(reds__cstate *st, slotmap *m)
{
    slotmap *old = st->map;
    st->map = m;
    if (st->default_node == SIZE_MAX || !serves(m, st->default_node))
        st->default_node = m->shards[reds__random() % m->nshards].primary;
    atomic_store(&st->moved, 0);
    atomic_fetch_add(&st->epoch, 1);
    free_map(old);
}

/* Ask `from` for the map and install it. */
static reds_err load_from(reds__cstate *st, reds__cnode *from)
{
    reds_cluster_shard_list *shards = NULL;
    reds_cluster_slot_range_list *ranges = NULL;
    reds_err err = reds_cluster_shards(from->pool, &shards);
    if (err == REDS_ERR_RESPONSE) /* before Redis 7.0 */
        err = reds_cluster_slots(from->pool, &ranges);
    if (err)
        return err;
    slotmap *m = new_map();
    if (!m) {
        reds_free(shards);
        reds_free(ranges);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    err = shards ? map_from_shards(st, from, shards, m) : map_from_slots(st, from, ranges, m);
    if (!err && !m->nshards)
        err = reds__error(REDS_ERR_CLUSTER, "%s:%d serves no slots (not in a cluster yet?)",
                          from->host, from->port);
    if (!err) {
        pthread_rwlock_wrlock(&st->lock);
        install_locked(st, m);
        pthread_rwlock_unlock(&st->lock);
        m = NULL;
    }
    free_map(m);
    reds_free(shards);
    reds_free(ranges);
    if (!err)
        atomic_fetch_add(&st->n_reload, 1);
    return err;
}

#define FAILED_RECENTLY_MS 10000

static bool recently_failed(reds__cnode *n, uint64_t now)
{
    uint64_t at = atomic_load(&n->failed_ms);
    return at && now - at < FAILED_RECENTLY_MS;
}

reds_err reds__cluster_reload(reds__cstate *st, unsigned epoch)
{
    pthread_mutex_lock(&st->reload_lock);
    if (atomic_load(&st->epoch) != epoch) {
        /* Another thread reloaded meanwhile. */
        pthread_mutex_unlock(&st->reload_lock);
        return REDS_OK;
    }
    /* The primaries of the map first, from a random one, then the rest;
     * nodes that failed lately last (a host that is down may cost a whole
     * connect timeout). */
    pthread_rwlock_rdlock(&st->lock);
    size_t n = st->nnodes, k = 0;
    reds__cnode **order = malloc((n ? n : 1) * sizeof *order);
    bool *taken = calloc(n ? n : 1, sizeof *taken);
    uint64_t now = reds__now_ms();
    if (order && taken) {
        const slotmap *m = st->map;
        size_t start = m && m->nshards ? reds__random() % m->nshards : 0;
        for (int pass = 0; pass < 2; pass++) {
            for (size_t i = 0; m && i < m->nshards; i++) {
                size_t p = m->shards[(start + i) % m->nshards].primary;
                if (!taken[p] && (pass || !recently_failed(st->nodes[p], now))) {
                    taken[p] = true;
                    order[k++] = st->nodes[p];
                }
            }
            for (size_t i = 0; i < n; i++) {
                if (!taken[i] && (pass || !recently_failed(st->nodes[i], now))) {
                    taken[i] = true;
                    order[k++] = st->nodes[i];
                }
            }
        }
    }
    pthread_rwlock_unlock(&st->lock);
    free(taken);
    reds_err err = order ? REDS_ERR_CLUSTER : reds__error(REDS_ERR_NOMEM, "out of memory");
    char last[400] = "no node is known";
    for (size_t i = 0; i < k; i++) {
        if ((err = load_from(st, order[i])) == REDS_OK)
            break;
        if (reds__cluster_transient(err))
            atomic_store(&order[i]->failed_ms, reds__now_ms());
        snprintf(last, sizeof last, "%s:%d: %s", order[i]->host, order[i]->port, reds_errmsg());
    }
    pthread_mutex_unlock(&st->reload_lock);
    free(order);
    if (err && err != REDS_ERR_NOMEM)
        return reds__error(REDS_ERR_CLUSTER, "no node gave a slot map (last: %s)", last);
    return err;
}

/* ---------------------------------------------------------------- routing */

reds_err reds__cluster_pick(reds__cstate *st, int slot, bool read, reds__cnode **out)
{
    for (int attempt = 0;; attempt++) {
        unsigned epoch = reds__cluster_epoch(st);
        reds__cnode *node = NULL;
        bool replica = false;
        pthread_rwlock_rdlock(&st->lock);
        const slotmap *m = st->map;
        if (slot < 0) {
            if (st->default_node != SIZE_MAX)
                node = st->nodes[st->default_node];
        } else if (m && m->owner[slot] != NO_SHARD) {
            const shard *s = &m->shards[m->owner[slot]];
            node = st->nodes[s->primary];
            if (read && st->read_from_replicas && s->nreplicas) {
                unsigned k = atomic_fetch_add(&node->rr, 1) % (unsigned)(s->nreplicas + 1);
                if (k) {
                    node = st->nodes[s->replicas[k - 1]];
                    replica = true;
                }
            }
        }
        pthread_rwlock_unlock(&st->lock);
        if (node) {
            if (replica)
                atomic_fetch_add(&st->n_replica, 1);
            *out = node;
            return REDS_OK;
        }
        if (attempt)
            return slot < 0
                       ? reds__error(REDS_ERR_CLUSTER, "no node of the cluster is known")
                       : reds__error(REDS_ERR_CLUSTER, "slot %d is not served by any node", slot);
        reds__cluster_reload(st, epoch);
    }
}

static bool word(const char *msg, size_t len, const char *w)
{
    size_t n = strlen(w);
    return len >= n && memcmp(msg, w, n) == 0 && (len == n || msg[n] == ' ');
}

bool reds__cluster_redirect(const char *msg, size_t len, const reds__cnode *from,
                            reds__redirect *rd)
{
    memset(rd, 0, sizeof *rd);
    rd->slot = -1;
    if (word(msg, len, "TRYAGAIN")) {
        rd->kind = REDS_ERR_TRYAGAIN;
        return true;
    }
    if (word(msg, len, "CLUSTERDOWN")) {
        rd->kind = REDS_ERR_CLUSTER_DOWN;
        return true;
    }
    size_t skip;
    if (word(msg, len, "MOVED")) {
        rd->kind = REDS_ERR_MOVED;
        skip = 6;
    } else if (word(msg, len, "ASK")) {
        rd->kind = REDS_ERR_ASK;
        skip = 4;
    } else {
        return false;
    }
    /* "MOVED <slot> <host>:<port>"; the host may be empty (the same host)
     * or an IPv6 address: the port follows the last ':'. */
    const char *p = msg + skip, *end = msg + len;
    long slot = 0;
    while (p < end && *p >= '0' && *p <= '9' && slot < NSLOTS)
        slot = slot * 10 + (*p++ - '0');
    if (p >= end || *p != ' ' || slot >= NSLOTS)
        return false;
    const char *host = ++p, *colon = NULL;
    while (p < end && *p != ' ') {
        if (*p == ':')
            colon = p;
        p++;
    }
    if (!colon)
        return false;
    long port = 0;
    for (const char *q = colon + 1; q < p; q++) {
        if (*q < '0' || *q > '9' || port > 65535)
            return false;
        port = port * 10 + (*q - '0');
    }
    size_t hlen = (size_t)(colon - host);
    if (!hlen && from) {
        snprintf(rd->addr.host, sizeof rd->addr.host, "%s", from->host);
    } else {
        if (hlen >= sizeof rd->addr.host)
            return false;
        memcpy(rd->addr.host, host, hlen);
        rd->addr.host[hlen] = '\0';
    }
    if (port <= 0 || port > 65535)
        return false;
    rd->addr.port = (int)port;
    rd->slot = (int)slot;
    return true;
}

/* MOVED: the slot is served by `rd->addr` now. A node known as a replica
 * of the slot's shard was promoted (failover): it takes the shard over.
 * Another node takes the slot alone until the next reload. */
static reds__cnode *apply_moved(reds__cstate *st, const reds__redirect *rd)
{
    reds__cnode *node = NULL;
    size_t index;
    if (node_get(st, rd->addr.host, strlen(rd->addr.host), rd->addr.port, &index))
        return NULL;
    pthread_rwlock_wrlock(&st->lock);
    slotmap *m = st->map;
    if (m) {
        node = st->nodes[index];
        size_t si = SIZE_MAX;
        for (size_t i = 0; i < m->nshards && si == SIZE_MAX; i++) {
            shard *s = &m->shards[i];
            if (s->primary == index)
                si = i;
            for (size_t k = 0; k < s->nreplicas && si == SIZE_MAX; k++) {
                if (s->replicas[k] == index) {
                    s->replicas[k] = s->replicas[--s->nreplicas];
                    s->primary = index;
                    si = i;
                }
            }
            for (size_t k = 0; k < s->nlagging && si == SIZE_MAX; k++) {
                if (s->lagging[k] == index) {
                    s->lagging[k] = s->lagging[--s->nlagging];
                    s->primary = index;
                    si = i;
                }
            }
        }
        if (si != SIZE_MAX || add_shard(m, index, &si) == REDS_OK)
            m->owner[rd->slot] = (uint16_t)si;
    }
    pthread_rwlock_unlock(&st->lock);
    return node;
}

reds__cnode *reds__cluster_follow(reds__cstate *st, const reds__redirect *rd)
{
    if (rd->kind == REDS_ERR_TRYAGAIN) {
        atomic_fetch_add(&st->n_tryagain, 1);
        return NULL;
    }
    if (rd->kind == REDS_ERR_CLUSTER_DOWN) {
        atomic_fetch_add(&st->n_clusterdown, 1);
        return NULL;
    }
    if (rd->kind == REDS_ERR_ASK) {
        atomic_fetch_add(&st->n_ask, 1);
        reds__cnode *node = NULL;
        size_t index;
        if (node_get(st, rd->addr.host, strlen(rd->addr.host), rd->addr.port, &index))
            return NULL;
        pthread_rwlock_rdlock(&st->lock);
        node = st->nodes[index];
        pthread_rwlock_unlock(&st->lock);
        return node;
    }
    atomic_fetch_add(&st->n_moved, 1);
    unsigned epoch = reds__cluster_epoch(st);
    reds__cnode *node = apply_moved(st, rd);
    /* Slots rarely move alone (resharding, failover): reload the whole map
     * every few MOVED replies. */
    if (atomic_fetch_add(&st->moved, 1) + 1 >= MOVED_PER_RELOAD) {
        char msg[512];
        reds_err code = reds__last_err();
        snprintf(msg, sizeof msg, "%s", reds_errmsg());
        reds__cluster_reload(st, epoch);
        reds__error(code, "%s", msg);
    }
    return node;
}

/* ------------------------------------------------------------------ runs */

static const char asking_cmd[] = "*1\r\n$6\r\nASKING\r\n";

/* A reply of `node` to `cmd`: a redirection fills `*rd`, sets
 * `*redirected` and returns its code; anything else is converted. */
typedef struct node_reply {
    reds__cluster *cl;
    reds__cnode *node;
    reds__redirect *rd;
    bool *redirected;
} node_reply;

static reds_err on_node_reply(void *ctx, reds_client *pool, reds__conn *conn, reds__cmd *cmd,
                              const reds_reply *reply)
{
    node_reply *nr = ctx;
    (void)pool;
    if (reply->type == REDS_REPLY_ERROR &&
        reds__cluster_redirect(reply->str, reply->len, nr->node, nr->rd)) {
        *nr->redirected = true;
        reds_err err = reds__error(nr->rd->kind, "%s: %s", reds__cmd_name(cmd), reply->str);
        reds__trace_status(reply->str, reply->len);
        reds__arena_finish(&conn->arena);
        return err;
    }
    if (REDS__UNLIKELY(reds__command_flags(cmd->id) & REDS_CMD_CLOSES_CONNECTION)) {
        conn->broken = true;
        reds__conn_why(conn, REDS_CLOSE_SERVER_CLOSED, REDS_OK);
    }
    return reds__deliver(&nr->cl->base, cmd, &conn->arena, reply);
}

/* One try of `cmd` on `node` (after ASKING, in the same write, when
 * `asking`). A redirection fills `*rd`, sets `*redirected` and returns its
 * code. `*sent`: whether any of it may have reached the server. Commands
 * that may share the node's connection with other threads' go through
 * its lanes (auto-pipelining). */
static reds_err run_on(reds__cluster *cl, reds__cnode *node, reds__cmd *cmd, bool asking,
                       reds__redirect *rd, bool *redirected, bool *sent)
{
    reds__conn *conn;
    *sent = false;
    *redirected = false;
    node_reply nr = {cl, node, rd, redirected};
    reds__lanes *lanes = asking ? NULL : reds__pool_lanes(node->pool);
    if (lanes && reds__shareable(cmd))
        return reds__lanes_run(lanes, node->pool, cmd, sent, on_node_reply, &nr);
    reds_err err = reds__client_acquire(node->pool, &conn);
    if (err)
        return err;
    if (asking) {
        size_t n = sizeof asking_cmd - 1;
        char small[512], *buf = n + cmd->len <= sizeof small ? small : malloc(n + cmd->len);
        if (!buf) {
            reds__client_release(node->pool, conn);
            return reds__error(REDS_ERR_NOMEM, "out of memory");
        }
        memcpy(buf, asking_cmd, n);
        memcpy(buf + n, cmd->buf, cmd->len);
        err = reds__conn_write(conn, buf, n + cmd->len);
        if (buf != small)
            free(buf);
    } else {
        err = reds__conn_write(conn, cmd->buf, cmd->len);
    }
    *sent = !conn->unsent;
    reds_reply *reply = NULL;
    if (!err && asking && (err = reds__conn_read(conn, &reply)) == REDS_OK)
        reds__arena_finish(&conn->arena); /* ASKING's +OK */
    if (!err)
        err = reds__conn_read(conn, &reply);
    if (err) {
        reds__client_release(node->pool, conn);
        return err;
    }
    err = on_node_reply(&nr, node->pool, conn, cmd, reply);
    reds__client_release(node->pool, conn);
    return err;
}

bool reds__cluster_may_retry(const reds__cstate *st, uintptr_t id, reds_err err, bool sent)
{
    if (err == REDS_ERR_BUSY_LOADING || !sent || st->tmpl->retry_writes)
        return true;
    return (reds__command_flags(id) & REDS_CMD_READONLY) != 0;
}

static bool may_retry(const reds__cstate *st, const reds__cmd *cmd, reds_err err, bool sent)
{
    return reds__cluster_may_retry(st, cmd->id, err, sent);
}

bool reds__cluster_transient(reds_err err)
{
    return err == REDS_ERR_CONNECTION || err == REDS_ERR_TIMEOUT || err == REDS_ERR_BUSY_LOADING;
}

#define transient reds__cluster_transient

reds_err reds__cluster_run_slot(reds__cluster *cl, reds__cmd *cmd, int slot, reds__cnode *node,
                                bool asking)
{
    reds__cstate *st = cl->st;
    const reds_catalog_entry *e = entry_of(cmd);
    bool read = e && (e->flags & REDS_CMD_READONLY);
    int redirects = 0, failures = 0;
    for (;;) {
        unsigned epoch = reds__cluster_epoch(st);
        reds_err err = node ? REDS_OK : reds__cluster_pick(st, slot, read, &node);
        if (err)
            return err;
        bool sent, redirected;
        reds__redirect rd;
        err = run_on(cl, node, cmd, asking, &rd, &redirected, &sent);
        asking = false;
        if (redirected) {
            bool retry = rd.kind == REDS_ERR_CLUSTER_DOWN ? failures++ < st->retries
                                                          : redirects++ < st->max_redirects;
            char msg[512];
            snprintf(msg, sizeof msg, "%s", reds_errmsg());
            reds__cnode *to = reds__cluster_follow(st, &rd);
            if (!retry)
                return rd.kind == REDS_ERR_CLUSTER_DOWN
                           ? reds__error(err, "%s (after %d retries)", msg, st->retries)
                           : reds__error(err, "%s (after %d redirections)", msg, st->max_redirects);
            node = to;
            asking = rd.kind == REDS_ERR_ASK && to;
            if (REDS__UNLIKELY(st->tmpl->hooks)) {
                unsigned next = (unsigned)(redirects + failures) + 1;
                if (to)
                    reds__hook_redirect(st->tmpl, cmd, rd.kind, rd.slot, to->host, to->port);
                else
                    reds__hook_retry(st->tmpl, cmd, next, rd.kind);
            }
            if (rd.kind == REDS_ERR_TRYAGAIN)
                reds__cluster_backoff(st, redirects - 1);
            if (rd.kind == REDS_ERR_CLUSTER_DOWN) {
                reds__cluster_backoff(st, failures - 1);
                reds__cluster_reload(st, epoch);
            }
            continue;
        }
        if (!transient(err))
            return err;
        /* The node is gone, or slow: the map may be stale. */
        reds__cluster_node_failed(st, node);
        char msg[512];
        snprintf(msg, sizeof msg, "%s", reds_errmsg());
        if (err != REDS_ERR_BUSY_LOADING)
            reds__cluster_reload(st, epoch);
        if (failures >= st->retries || !may_retry(st, cmd, err, sent))
            return reds__error(err, "%s", msg);
        if (REDS__UNLIKELY(st->tmpl->hooks)) {
            reds__error(err, "%s", msg);
            reds__hook_retry(st->tmpl, cmd, (unsigned)(redirects + failures) + 2, err);
        }
        reds__cluster_backoff(st, failures++);
        node = NULL;
    }
}

/* ------------------------------------------------------ several nodes */

typedef struct node_run {
    reds__cnode *node;
    reds__conn *conn;
    reds_reply *reply;
    reds_err err;
    char msg[256];
} node_run;

static reds_reply *new_node(reds__arena *a, reds_reply_type type)
{
    reds_reply *r = reds__arena_alloc(a, sizeof *r);
    if (r) {
        memset(r, 0, sizeof *r);
        r->type = type;
    } else {
        reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    return r;
}

static int64_t fold(uint8_t policy, int64_t a, int64_t b)
{
    switch (policy) {
    case REDS_RESPONSE_AGG_SUM:
        return (int64_t)((uint64_t)a + (uint64_t)b);
    case REDS_RESPONSE_AGG_MIN:
        return a < b ? a : b;
    case REDS_RESPONSE_AGG_MAX:
        return a > b ? a : b;
    case REDS_RESPONSE_AGG_LOGICAL_AND:
        return a && b;
    default: /* REDS_RESPONSE_AGG_LOGICAL_OR */
        return a || b;
    }
}

/* agg_*: integers, or arrays of integers element by element. */
static reds_reply *aggregate(uint8_t policy, node_run *runs, size_t n, reds__arena *a,
                             const char *name)
{
    const reds_reply *model = runs[0].reply;
    bool logical =
        policy == REDS_RESPONSE_AGG_LOGICAL_AND || policy == REDS_RESPONSE_AGG_LOGICAL_OR;
    if (model->type == REDS_REPLY_INTEGER) {
        int64_t v = logical ? model->integer != 0 : model->integer;
        for (size_t i = 1; i < n; i++) {
            if (runs[i].reply->type != REDS_REPLY_INTEGER)
                goto bad;
            v = fold(policy, v, runs[i].reply->integer);
        }
        reds_reply *r = new_node(a, REDS_REPLY_INTEGER);
        if (r)
            r->integer = v;
        return r;
    }
    if (model->type != REDS_REPLY_ARRAY)
        goto bad;
    for (size_t i = 0; i < n; i++) {
        const reds_reply *r = runs[i].reply;
        if (r->type != REDS_REPLY_ARRAY || r->len != model->len)
            goto bad;
        for (size_t k = 0; k < r->len; k++)
            if (r->element[k].type != REDS_REPLY_INTEGER)
                goto bad;
    }
    reds_reply *root = new_node(a, REDS_REPLY_ARRAY);
    if (!root)
        return NULL;
    root->len = model->len;
    if (model->len && !(root->element = reds__arena_alloc(a, model->len * sizeof *root->element)))
        return reds__error(REDS_ERR_NOMEM, "out of memory"), NULL;
    for (size_t k = 0; k < model->len; k++) {
        int64_t v = logical ? model->element[k].integer != 0 : model->element[k].integer;
        for (size_t i = 1; i < n; i++)
            v = fold(policy, v, runs[i].reply->element[k].integer);
        memset(&root->element[k], 0, sizeof root->element[k]);
        root->element[k].type = REDS_REPLY_INTEGER;
        root->element[k].integer = v;
    }
    return root;
bad:
    reds__error(REDS_ERR_INVALID_RESPONSE,
                "%s: the replies of %zu nodes cannot be combined "
                "(expected integers, or arrays of integers of one length)",
                name, n);
    return NULL;
}

/* No response policy: arrays are concatenated (KEYS); anything else must
 * have succeeded everywhere, and the first reply that is not nil is it
 * (RANDOMKEY). */
static reds_reply *merge(node_run *runs, size_t n, reds__arena *a)
{
    size_t total = 0;
    bool arrays = true;
    for (size_t i = 0; i < n; i++) {
        arrays = arrays && runs[i].reply->type == REDS_REPLY_ARRAY;
        total += runs[i].reply->len;
    }
    if (!arrays) {
        for (size_t i = 0; i < n; i++)
            if (runs[i].reply->type != REDS_REPLY_NIL)
                return reds__reply_clone(runs[i].reply, a);
        return reds__reply_clone(runs[0].reply, a);
    }
    reds_reply *root = new_node(a, REDS_REPLY_ARRAY);
    if (!root)
        return NULL;
    root->len = total;
    if (total && !(root->element = reds__arena_alloc(a, total * sizeof *root->element)))
        return reds__error(REDS_ERR_NOMEM, "out of memory"), NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < runs[i].reply->len; j++) {
            reds_reply *copy = reds__reply_clone(&runs[i].reply->element[j], a);
            if (!copy)
                return NULL;
            root->element[k++] = *copy;
        }
    }
    return root;
}

/* The replies of `runs` (all read), combined as the command's response
 * policy says, then delivered to the command's output. */
static reds_err combine(reds__cluster *cl, reds__cmd *cmd, node_run *runs, size_t n)
{
    const reds_catalog_entry *e = entry_of(cmd);
    uint8_t policy = e ? e->response_policy : REDS_RESPONSE_DEFAULT;
    const char *name = reds__cmd_name(cmd);
    size_t ok = 0, failed = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        if (!runs[i].err && runs[i].reply->type == REDS_REPLY_ERROR) {
            runs[i].err = reds__error_from_reply(runs[i].reply->str, runs[i].reply->len);
            snprintf(runs[i].msg, sizeof runs[i].msg, "%s", runs[i].reply->str);
        }
        if (runs[i].err) {
            if (failed == SIZE_MAX)
                failed = i;
        } else if (ok++ != i) {
            node_run t = runs[ok - 1]; /* successes first, in node order */
            runs[ok - 1] = runs[i];
            runs[i] = t;
            if (failed == ok - 1)
                failed = i;
        }
    }
    if (failed != SIZE_MAX && (policy != REDS_RESPONSE_ONE_SUCCEEDED || !ok))
        return reds__error(runs[failed].err, "%s: %s:%d: %s", name, runs[failed].node->host,
                           runs[failed].node->port, runs[failed].msg);
    reds__arena tmp = {0};
    reds_reply *root;
    switch (policy) {
    case REDS_RESPONSE_AGG_SUM:
    case REDS_RESPONSE_AGG_MIN:
    case REDS_RESPONSE_AGG_MAX:
    case REDS_RESPONSE_AGG_LOGICAL_AND:
    case REDS_RESPONSE_AGG_LOGICAL_OR:
        root = aggregate(policy, runs, ok, &tmp, name);
        break;
    case REDS_RESPONSE_DEFAULT:
        root = merge(runs, ok, &tmp);
        break;
    default: /* one_succeeded, all_succeeded: the first success */
        root = reds__reply_clone(runs[0].reply, &tmp);
    }
    reds_err err = root ? reds__deliver(&cl->base, cmd, &tmp, root) : reds__last_err();
    reds__arena_clear(&tmp);
    return err;
}

/* `cmd` on every node of `nodes`: written to all, then read from all, so
 * they work at the same time. `*transient_seen`: some node met a
 * connection error; `*sent`: some node may have received the command. */
static reds_err run_multi(reds__cluster *cl, reds__cmd *cmd, reds__cnode **nodes, size_t n,
                          bool *transient_seen, bool *sent)
{
    *transient_seen = *sent = false;
    node_run *runs = calloc(n, sizeof *runs);
    if (!runs)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        node_run *r = &runs[i];
        r->node = nodes[i];
        r->err = reds__client_acquire(r->node->pool, &r->conn);
        if (r->err) {
            r->conn = NULL;
        } else {
            r->err = reds__conn_write(r->conn, cmd->buf, cmd->len);
            *sent = *sent || !r->conn->unsent;
        }
        if (r->err)
            snprintf(r->msg, sizeof r->msg, "%s", reds_errmsg());
    }
    for (size_t i = 0; i < n; i++) {
        node_run *r = &runs[i];
        if (!r->err && (r->err = reds__conn_read(r->conn, &r->reply)) != REDS_OK)
            snprintf(r->msg, sizeof r->msg, "%s", reds_errmsg());
        if (transient(r->err)) {
            *transient_seen = true;
            reds__cluster_node_failed(cl->st, r->node);
        }
    }
    reds_err err = combine(cl, cmd, runs, n);
    for (size_t i = 0; i < n; i++) {
        if (runs[i].conn) {
            reds__arena_finish(&runs[i].conn->arena);
            reds__client_release(runs[i].node->pool, runs[i].conn);
        }
    }
    free(runs);
    return err;
}

/* The nodes a target names, now. `*out` is malloc'ed. */
static reds_err collect(reds__cstate *st, reds_cluster_target_kind kind, size_t which,
                        reds__cnode ***out, size_t *n)
{
    *n = 0;
    pthread_rwlock_rdlock(&st->lock);
    const slotmap *m = st->map;
    size_t cap = st->nnodes ? st->nnodes : 1;
    reds__cnode **nodes = malloc(cap * sizeof *nodes);
    if (!nodes) {
        pthread_rwlock_unlock(&st->lock);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    if (kind == REDS_CLUSTER_DEFAULT_NODE) {
        if (st->default_node != SIZE_MAX)
            nodes[(*n)++] = st->nodes[st->default_node];
    } else if (kind == REDS_CLUSTER_NODE) {
        if (which < st->nnodes)
            nodes[(*n)++] = st->nodes[which];
    } else {
        bool primaries = kind != REDS_CLUSTER_REPLICAS;
        bool replicas = kind != REDS_CLUSTER_PRIMARIES;
        for (size_t i = 0; m && i < m->nshards; i++) {
            if (primaries && *n < cap)
                nodes[(*n)++] = st->nodes[m->shards[i].primary];
            for (size_t k = 0; replicas && k < m->shards[i].nreplicas && *n < cap; k++)
                nodes[(*n)++] = st->nodes[m->shards[i].replicas[k]];
        }
        if (kind == REDS_CLUSTER_RANDOM_NODE && *n) {
            nodes[0] = nodes[reds__random() % *n];
            *n = 1;
        }
    }
    pthread_rwlock_unlock(&st->lock);
    *out = nodes;
    return REDS_OK;
}

/* A keyless command of request policy all_shards (primaries) or
 * all_nodes, untargeted: retried like a single command when a node
 * could not be reached. */
static reds_err run_everywhere(reds__cluster *cl, reds__cmd *cmd, reds_cluster_target_kind kind)
{
    reds__cstate *st = cl->st;
    for (int failures = 0;; failures++) {
        unsigned epoch = reds__cluster_epoch(st);
        reds__cnode **nodes;
        size_t n;
        bool trouble, sent;
        reds_err err = collect(st, kind, 0, &nodes, &n);
        if (err)
            return err;
        err = n ? run_multi(cl, cmd, nodes, n, &trouble, &sent)
                : reds__error(REDS_ERR_CLUSTER, "%s: no node to run it on", reds__cmd_name(cmd));
        free(nodes);
        if (!n || !trouble)
            return err;
        char msg[512];
        snprintf(msg, sizeof msg, "%s", reds_errmsg());
        reds__cluster_reload(st, epoch);
        if (failures >= st->retries || !may_retry(st, cmd, REDS_ERR_CONNECTION, sent))
            return reds__error(err, "%s", msg);
        if (REDS__UNLIKELY(st->tmpl->hooks)) {
            reds__error(err, "%s", msg);
            reds__hook_retry(st->tmpl, cmd, (unsigned)failures + 2, err);
        }
        reds__cluster_backoff(st, failures);
    }
}

/* A target handle's command: where it says, as it is. */
static reds_err run_targeted(reds__cluster *cl, reds__cmd *cmd)
{
    reds__cstate *st = cl->st;
    unsigned epoch = reds__cluster_epoch(st);
    reds__cnode **nodes;
    size_t n;
    reds_err err = collect(st, cl->target, cl->target_node, &nodes, &n);
    if (err)
        return err;
    const reds_catalog_entry *e = entry_of(cmd);
    bool trouble = false, sent;
    if (!n) {
        err = reds__error(REDS_ERR_CLUSTER, "%s: no node to run it on (no %s)", reds__cmd_name(cmd),
                          cl->target == REDS_CLUSTER_REPLICAS ? "replicas" : "node");
    } else if (n == 1) {
        bool redirected;
        reds__redirect rd;
        err = run_on(cl, nodes[0], cmd, false, &rd, &redirected, &sent);
        trouble = transient(err);
        if (trouble)
            reds__cluster_node_failed(st, nodes[0]);
    } else if (e && e->response_policy == REDS_RESPONSE_SPECIAL) {
        err = reds__error(REDS_ERR_DATA,
                          "%s: the replies of several nodes cannot be combined; "
                          "target one node (REDS_CLUSTER_NODE)",
                          e->name);
    } else {
        err = run_multi(cl, cmd, nodes, n, &trouble, &sent);
    }
    free(nodes);
    if (trouble) {
        /* Not retried (the caller chose the node), but the map may be stale. */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", reds_errmsg());
        reds__cluster_reload(st, epoch);
        reds__error(err, "%s", msg);
    }
    return err;
}

static reds_err cluster_run(reds_client *c, reds__cmd *cmd)
{
    reds__cluster *cl = (reds__cluster *)c;
    if (REDS__UNLIKELY(reds__connection_scoped(cmd)))
        return reds__refuse_connection_scope(cmd);
    int slot;
    reds_err err = reds__cluster_cmd_slot(cmd, &slot);
    if (err)
        return err;
    if (cl->targeted)
        return run_targeted(cl, cmd);
    const reds_catalog_entry *e = entry_of(cmd);
    if (slot < 0 && e && e->response_policy != REDS_RESPONSE_SPECIAL) {
        if (e->request_policy == REDS_REQUEST_ALL_SHARDS)
            return run_everywhere(cl, cmd, REDS_CLUSTER_PRIMARIES);
        if (e->request_policy == REDS_REQUEST_ALL_NODES)
            return run_everywhere(cl, cmd, REDS_CLUSTER_ALL_NODES);
    }
    return reds__cluster_run_slot(cl, cmd, slot, NULL, false);
}

static void cluster_destroy(reds_client *c)
{
    state_unref(((reds__cluster *)c)->st);
}

static const reds__router cluster_router = {
    .kind = "cluster client",
    .run = cluster_run,
    .destroy = cluster_destroy,
};

bool reds__is_cluster(const reds_client *c)
{
    return c && c->router == &cluster_router;
}

reds__cluster *reds__cluster_of(const reds_client *c)
{
    while (c && c->router != &cluster_router)
        c = c->parent;
    return (reds__cluster *)c;
}

/* --------------------------------------------------------------- resolvers */

/* Where the connections of a config made from a cluster go: the primary
 * serving `slot`, or the default node (slot -1) and then the other
 * primaries. Pub/sub handles and dedicated connections use it. */
typedef struct cresolver {
    reds__resolver base;
    reds__cstate *st;
    int slot;
    atomic_uint calls;
    pthread_mutex_t lock; /* guards last, known */
    reds__addr last;
    bool known;
    reds__fork_hook fork;
} cresolver;

static void addr_of(const reds__cnode *n, reds__addr *a)
{
    snprintf(a->host, sizeof a->host, "%s", n->host);
    a->port = n->port;
}

static reds_err cresolve(reds__resolver *r, reds__addr *addrs, size_t max, size_t *n,
                         unsigned *generation)
{
    cresolver *cr = (cresolver *)r;
    reds__cstate *st = cr->st;
    /* A reconnection: the node may have failed or lost the slot. */
    if (atomic_fetch_add(&cr->calls, 1))
        reds__cluster_reload(st, reds__cluster_epoch(st));
    *n = 0;
    pthread_rwlock_rdlock(&st->lock);
    const slotmap *m = st->map;
    if (cr->slot >= 0) {
        if (m && m->owner[cr->slot] != NO_SHARD)
            addr_of(st->nodes[m->shards[m->owner[cr->slot]].primary], &addrs[(*n)++]);
    } else if (m) {
        size_t d = st->default_node;
        if (d != SIZE_MAX)
            addr_of(st->nodes[d], &addrs[(*n)++]);
        for (size_t i = 0; i < m->nshards && *n < max; i++)
            if (m->shards[i].primary != d)
                addr_of(st->nodes[m->shards[i].primary], &addrs[(*n)++]);
    }
    pthread_rwlock_unlock(&st->lock);
    if (!*n)
        return cr->slot >= 0
                   ? reds__error(REDS_ERR_CLUSTER, "slot %d is not served by any node", cr->slot)
                   : reds__error(REDS_ERR_CLUSTER, "no node of the cluster is known");
    pthread_mutex_lock(&cr->lock);
    if (cr->known && (cr->last.port != addrs[0].port || strcmp(cr->last.host, addrs[0].host)))
        atomic_fetch_add(&r->generation, 1);
    cr->last = addrs[0];
    cr->known = true;
    *generation = atomic_load(&r->generation);
    pthread_mutex_unlock(&cr->lock);
    return REDS_OK;
}

/* Cluster replicas answer writes with MOVED, not READONLY: a READONLY
 * reply is the server's own business, passed on as it is. */
static bool creadonly(reds__resolver *r, const reds__addr *addr)
{
    (void)r;
    (void)addr;
    return false;
}

static void cresolver_destroy(reds__resolver *r)
{
    cresolver *cr = (cresolver *)r;
    reds__fork_unregister(&cr->fork);
    pthread_mutex_destroy(&cr->lock);
    state_unref(cr->st);
    free(cr);
}

static void cresolver_fork_prepare(void *owner)
{
    pthread_mutex_lock(&((cresolver *)owner)->lock);
}

static void cresolver_fork_parent(void *owner)
{
    pthread_mutex_unlock(&((cresolver *)owner)->lock);
}

static void cresolver_fork_child(void *owner)
{
    pthread_mutex_init(&((cresolver *)owner)->lock, NULL);
}

/* A config of the node options whose connections go where `slot` says. */
static reds_err resolver_config(reds__cstate *st, int slot, reds__config **out)
{
    reds_err err = reds__config_copy(st->tmpl, out);
    if (err)
        return err;
    cresolver *cr = calloc(1, sizeof *cr);
    if (!cr) {
        reds__config_free(*out);
        *out = NULL;
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    cr->base.resolve = cresolve;
    cr->base.readonly = creadonly;
    cr->base.destroy = cresolver_destroy;
    cr->base.unreachable = REDS_OK;
    atomic_init(&cr->base.refs, 1);
    atomic_init(&cr->base.generation, 0);
    atomic_init(&cr->calls, 0);
    pthread_mutex_init(&cr->lock, NULL);
    cr->fork = (reds__fork_hook){
        cresolver_fork_prepare, cresolver_fork_parent, cresolver_fork_child, cr, NULL, NULL};
    reds__fork_register(&cr->fork);
    state_ref(st);
    cr->st = st;
    cr->slot = slot;
    (*out)->resolver = &cr->base;
    return REDS_OK;
}

/* -------------------------------------------------------------- lifecycle */

static reds__cluster *as_cluster(const reds_client *c, const char *fn)
{
    reds__cluster *cl = reds__cluster_of(c);
    if (!cl)
        reds__error(REDS_ERR_DATA, "%s: %s", fn, c ? "not a cluster client" : "the client is NULL");
    return cl;
}

reds_err reds_cluster_new(const reds_host_port *seeds, size_t n, const reds_cluster_options *opts,
                          reds_client **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_cluster_new: out is NULL");
    *out = NULL;
    if (!seeds || !n || n > MAX_NODES)
        return reds__error(REDS_ERR_DATA, "reds_cluster_new: give 1 to %d seed nodes, not %zu",
                           MAX_NODES, seeds ? n : 0);
    for (size_t i = 0; i < n; i++)
        if (!seeds[i].host || !*seeds[i].host || seeds[i].port <= 0 || seeds[i].port > 65535)
            return reds__error(REDS_ERR_DATA,
                               "reds_cluster_new: seed %zu has no host or a port "
                               "out of range 1..65535",
                               i);
    static const reds_cluster_options none;
    if (!opts)
        opts = &none;
    if (opts->max_redirects < 0)
        return reds__error(REDS_ERR_DATA, "reds_cluster_new: max_redirects %d is negative",
                           opts->max_redirects);
    if (opts->retries < 0 && opts->retries != REDS_DISABLED)
        return reds__error(REDS_ERR_DATA,
                           "reds_cluster_new: retries must be positive, 0 "
                           "(default) or REDS_DISABLED, not %d",
                           opts->retries);
    reds_options o = {0};
    if (opts->node)
        o = *opts->node;
    if (o.cache_max_bytes)
        return reds__error(REDS_ERR_DATA, "reds_cluster_new: client-side caching "
                                          "(cache_max_bytes) is not supported on cluster "
                                          "clients yet");
    if (o.db)
        return reds__error(REDS_ERR_DATA,
                           "reds_cluster_new: a cluster has only database 0, "
                           "not %d",
                           o.db);
    o.host = NULL;
    o.port = 0;
    o.unix_path = NULL;
    reds__cstate *st = calloc(1, sizeof *st);
    if (!st)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    reds_err err = reds__config_new(&o, &st->tmpl);
    if (err) {
        free(st);
        return err;
    }
    st->tmpl->readonly = opts->read_from_replicas;
    st->read_from_replicas = opts->read_from_replicas;
    st->max_redirects = opts->max_redirects ? opts->max_redirects : DEFAULT_MAX_REDIRECTS;
    st->retries = opts->retries == REDS_DISABLED ? 0
                  : opts->retries                ? opts->retries
                                                 : DEFAULT_RETRIES;
    st->default_node = SIZE_MAX;
    atomic_init(&st->refs, 1);
    atomic_init(&st->epoch, 0);
    atomic_init(&st->moved, 0);
    pthread_rwlock_init(&st->lock, NULL);
    pthread_mutex_init(&st->reload_lock, NULL);
    st->fork =
        (reds__fork_hook){state_fork_prepare, state_fork_parent, state_fork_child, st, NULL, NULL};
    reds__fork_register(&st->fork);
    for (size_t i = 0; i < n && !err; i++) {
        size_t index;
        err = node_get(st, seeds[i].host, strlen(seeds[i].host), seeds[i].port, &index);
    }
    if (!err)
        err = reds__cluster_reload(st, reds__cluster_epoch(st));
    reds__cluster *cl = err ? NULL : calloc(1, sizeof *cl);
    if (!err && !cl)
        err = reds__error(REDS_ERR_NOMEM, "out of memory");
    if (!err) {
        cl->base.router = &cluster_router;
        cl->st = st;
        atomic_init(&cl->base.callbacks, NULL);
        err = resolver_config(st, -1, &cl->base.cfg);
    }
    if (err) {
        free(cl);
        state_unref(st);
        return err;
    }
    *out = &cl->base;
    return REDS_OK;
}

reds_err reds_cluster_from_url(const char *url, const reds_cluster_options *opts, reds_client **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_cluster_from_url: out is NULL");
    *out = NULL;
    reds_options *o = NULL;
    reds_err err = reds_url_parse(url, opts ? opts->node : NULL, &o);
    if (err)
        return err;
    if (o->unix_path) {
        reds_free(o);
        return reds__error(REDS_ERR_DATA, "reds_cluster_from_url: cluster nodes are reached "
                                          "over TCP, not a unix socket");
    }
    reds_host_port seed = {o->host ? o->host : "127.0.0.1", o->port ? o->port : 6379};
    reds_cluster_options co = {0};
    if (opts)
        co = *opts;
    co.node = o;
    err = reds_cluster_new(&seed, 1, &co, out);
    reds_free(o);
    return err;
}

reds_err reds_cluster_target(reds_client *cluster, reds_cluster_target_kind kind, size_t node,
                             reds_client **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_cluster_target: out is NULL");
    *out = NULL;
    reds__cluster *root = as_cluster(cluster, "reds_cluster_target");
    if (!root)
        return REDS_ERR_DATA;
    while (root->targeted)
        root = (reds__cluster *)root->base.parent;
    if ((unsigned)kind > REDS_CLUSTER_NODE)
        return reds__error(REDS_ERR_DATA,
                           "reds_cluster_target: %d is not a "
                           "reds_cluster_target_kind",
                           (int)kind);
    if (kind == REDS_CLUSTER_NODE) {
        pthread_rwlock_rdlock(&root->st->lock);
        size_t known = root->st->nnodes;
        pthread_rwlock_unlock(&root->st->lock);
        if (node >= known)
            return reds__error(REDS_ERR_DATA, "reds_cluster_target: node %zu of %zu", node, known);
    }
    reds__cluster *v = calloc(1, sizeof *v);
    if (!v)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    v->base.router = &cluster_router;
    v->base.cfg = root->base.cfg;
    v->base.parent = &root->base;
    atomic_init(&v->base.callbacks, atomic_load(&root->base.callbacks));
    state_ref(root->st);
    v->st = root->st;
    v->targeted = true;
    v->target = kind;
    v->target_node = node;
    *out = &v->base;
    return REDS_OK;
}

/* ----------------------------------------------------------- inspection */

reds_err reds_cluster_refresh(reds_client *cluster)
{
    reds__cluster *cl = as_cluster(cluster, "reds_cluster_refresh");
    if (!cl)
        return REDS_ERR_DATA;
    return reds__cluster_reload(cl->st, reds__cluster_epoch(cl->st));
}

reds_err reds_cluster_get_stats(reds_client *cluster, reds_cluster_stats *out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_cluster_get_stats: out is NULL");
    memset(out, 0, sizeof *out);
    reds__cluster *cl = as_cluster(cluster, "reds_cluster_get_stats");
    if (!cl)
        return REDS_ERR_DATA;
    reds__cstate *st = cl->st;
    out->moved = atomic_load(&st->n_moved);
    out->ask = atomic_load(&st->n_ask);
    out->tryagain = atomic_load(&st->n_tryagain);
    out->clusterdown = atomic_load(&st->n_clusterdown);
    out->connection_errors = atomic_load(&st->n_conn);
    out->refreshes = atomic_load(&st->n_reload);
    out->replica_reads = atomic_load(&st->n_replica);
    return REDS_OK;
}

reds_err reds_cluster_members(reds_client *cluster, reds_cluster_member_list **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_cluster_members: out is NULL");
    *out = NULL;
    reds__cluster *cl = as_cluster(cluster, "reds_cluster_members");
    if (!cl)
        return REDS_ERR_DATA;
    reds__cstate *st = cl->st;
    pthread_rwlock_rdlock(&st->lock);
    size_t n = st->nnodes,
           bytes = sizeof(reds_cluster_member_list) + n * sizeof(reds_cluster_member);
    for (size_t i = 0; i < n; i++)
        bytes += strlen(st->nodes[i]->host) + 1;
    reds_cluster_member_list *l = reds_alloc(bytes);
    if (!l) {
        pthread_rwlock_unlock(&st->lock);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    l->count = n;
    l->items = (reds_cluster_member *)(l + 1);
    char *text = (char *)(l->items + n);
    const slotmap *m = st->map;
    for (size_t i = 0; i < n; i++) {
        reds_cluster_member *it = &l->items[i];
        size_t len = strlen(st->nodes[i]->host);
        memcpy(text, st->nodes[i]->host, len + 1);
        it->index = i;
        it->host = reds_strn(text, len);
        it->port = st->nodes[i]->port;
        text += len + 1;
    }
    for (size_t s = 0; m && s < m->nshards; s++) {
        const shard *sh = &m->shards[s];
        l->items[sh->primary].primary = true;
        for (size_t k = 0; k < sh->nreplicas + sh->nlagging; k++) {
            size_t r = k < sh->nreplicas ? sh->replicas[k] : sh->lagging[k - sh->nreplicas];
            l->items[r].replica = true;
            l->items[r].of = sh->primary;
        }
    }
    for (size_t slot = 0; m && slot < NSLOTS; slot++)
        if (m->owner[slot] != NO_SHARD)
            l->items[m->shards[m->owner[slot]].primary].slots++;
    pthread_rwlock_unlock(&st->lock);
    *out = l;
    return REDS_OK;
}

reds_err reds_cluster_locate(reds_client *cluster, reds_str key, size_t *node, int *slot)
{
    reds__cluster *cl = as_cluster(cluster, "reds_cluster_locate");
    if (!cl)
        return REDS_ERR_DATA;
    if (!node)
        return reds__error(REDS_ERR_DATA, "reds_cluster_locate: node is NULL");
    if (!key.ptr && key.len)
        return reds__error(REDS_ERR_DATA, "reds_cluster_locate: the key is NULL with a length");
    int s = reds_cluster_hash_slot(key);
    if (slot)
        *slot = s;
    reds__cstate *st = cl->st;
    pthread_rwlock_rdlock(&st->lock);
    const slotmap *m = st->map;
    bool served = m && m->owner[s] != NO_SHARD;
    if (served)
        *node = m->shards[m->owner[s]].primary;
    pthread_rwlock_unlock(&st->lock);
    return served ? REDS_OK : reds__error(REDS_ERR_CLUSTER, "slot %d is not served by any node", s);
}

reds_client *reds_cluster_node_client(reds_client *cluster, size_t index)
{
    reds__cluster *cl = reds__cluster_of(cluster);
    if (!cl)
        return NULL;
    pthread_rwlock_rdlock(&cl->st->lock);
    reds_client *c = index < cl->st->nnodes ? cl->st->nodes[index]->pool : NULL;
    pthread_rwlock_unlock(&cl->st->lock);
    return c;
}

reds_err reds_cluster_pubsub_new(reds_client *cluster, reds_str shard_channel,
                                 const reds_pubsub_options *opts, reds_pubsub **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_cluster_pubsub_new: out is NULL");
    *out = NULL;
    reds__cluster *cl = as_cluster(cluster, "reds_cluster_pubsub_new");
    if (!cl)
        return REDS_ERR_DATA;
    if (!shard_channel.ptr && shard_channel.len)
        return reds__error(REDS_ERR_DATA, "reds_cluster_pubsub_new: the channel is NULL with a "
                                          "length");
    reds__config *cfg;
    reds_err err = resolver_config(cl->st, reds_cluster_hash_slot(shard_channel), &cfg);
    if (err)
        return err;
    /* The handle copies the config of the client it is given. */
    reds_client shell;
    memset(&shell, 0, sizeof shell);
    shell.router = &cluster_router;
    shell.cfg = cfg;
    atomic_init(&shell.callbacks, NULL);
    err = reds_pubsub_new(&shell, opts, out);
    reds__config_free(cfg);
    return err;
}
