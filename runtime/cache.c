/* Client-side caching: a layer in front of the pooled router (pool.c),
 * driven by the catalogue's cacheable flag (REDS_CMD_CACHEABLE).
 *
 * An entry is keyed by the packed command (its exact RESP bytes, so GET k
 * and MGET k differ) and holds the reply, flattened into one block; it is
 * linked to every key the command reads, so that an invalidation of key K
 * drops every entry that read K. A hit copies the reply into an arena and
 * converts it as a round trip would: the caller owns a fresh result.
 *
 * Invalidations arrive on a connection of their own (a reds_pubsub
 * subscribed to __redis__:invalidate, serviced by its background thread),
 * which every data connection names in CLIENT TRACKING ON REDIRECT <id>.
 * They race with replies, which arrive on other sockets; hence:
 *
 * - A read registers each of its keys before it is sent (a key node with
 *   a count of pending reads) and remembers the node's invalidation
 *   sequence. An invalidation of the key bumps it; a flush bumps the
 *   cache's. The reply is stored only when neither moved: otherwise an
 *   invalidation may have passed it, and the server, having reported the
 *   key, would not report it again. It is returned to the caller anyway.
 * - Each connection remembers the tracking generation it was set up in.
 *   The generation moves whenever the invalidation connection is lost or
 *   replaced; a reply read on a connection of another generation (its
 *   REDIRECT names a dead connection) is never stored, and such
 *   connections are retired from the pool (reds_pool_disconnect()).
 * - While the invalidation connection is down nothing is served or
 *   stored; losing it, getting it back, FLUSHALL/FLUSHDB (the server's nil
 *   invalidation, or this client's own) flush everything.
 * - Two reads of a key in flight together may return different versions
 *   (they travel on different connections). So that no thread reads an
 *   older value from the cache after a newer one: a reply that is not
 *   kept, for any reason, voids the reads of its keys still in flight and
 *   drops their entries (as an invalidation would); an evicted entry
 *   voids them; a reply that differs from the entry a concurrent read of
 *   the same command stored removes it rather than replacing it; and
 *   reads made while the invalidation connection is down are registered
 *   all the same.
 * - A write of this client invalidates its keys locally once it returns,
 *   so that the same process reads its own writes even before the
 *   server's invalidation comes.
 *
 * One mutex guards everything: a hit holds it for a hash lookup and a
 * copy of the reply. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <reds/cache.h>
#include <reds/pubsub.h>

#include "command_ids.h"
#include "internal.h"

#define INVALIDATE_CHANNEL "__redis__:invalidate"
#define MIN_BUCKETS        64
/* What malloc adds to a block, for honest accounting. */
#define MALLOC_OVERHEAD 16

typedef struct ckey ckey;
typedef struct entry entry;

/* One key of an entry: an entry is on the list of each key it read. */
typedef struct keylink {
    entry *entry;
    ckey *key;
    struct keylink *prev, *next;
} keylink;

/* A key some entries read, or some reads in flight wait on. */
struct ckey {
    ckey *next; /* hash chain */
    uint64_t hash;
    uint64_t seq; /* bumped by each invalidation of the key */
    size_t refs;  /* pending reads + links */
    keylink *links;
    size_t len;
    char bytes[];
};

struct entry {
    entry *next; /* hash chain */
    entry *newer, *older;
    uint64_t hash;
    uint64_t born_ms;
    size_t bytes; /* accounted */
    size_t cmd_len;
    const char *cmd;
    reds_reply *reply;
    size_t reply_size;
    size_t nlinks;
    keylink links[];
};

struct reds__cache {
    pthread_mutex_t lock;
    reds_client *owner;
    size_t max_bytes;
    uint64_t ttl_ms;
    bool bcast;
    char **prefixes;
    size_t nprefixes;
    unsigned fork_generation;
    reds__fork_hook fork;
    /* The invalidation connection. */
    reds_pubsub *ps;
    bool up;
    bool settled; /* up, and the pool's older connections retired */
    int64_t redirect_id;
    unsigned gen;       /* tracking generation; 0 is never current */
    uint64_t flush_seq; /* bumped by each flush */
    /* Entries by command bytes, keys by name, and the LRU list. */
    entry **eb;
    size_t neb, nentries;
    ckey **kb;
    size_t nkb, nkeys;
    entry *newest, *oldest;
    size_t bytes;
    reds_cache_stats stats;
    struct reds__cache *orphan_next; /* reds__cache_free() in a forked child */
};

/* ------------------------------------------------------------- hashing */

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    return h ^ (h >> 29);
}

/* Double a chain table of `*n` buckets (threaded by `next`, hashed by
 * `hash`). Failure is harmless: chains only get longer. */
#define DEFINE_GROW(name, type)                                                                    \
    static void name(type ***buckets, size_t *n)                                                   \
    {                                                                                              \
        size_t nn = *n ? *n * 2 : MIN_BUCKETS;                                                     \
        type **nb = calloc(nn, sizeof *nb);                                                        \
        if (!nb)                                                                                   \
            return;                                                                                \
        for (size_t i = 0; i < *n; i++) {                                                          \
            type *node = (*buckets)[i];                                                            \
            while (node) {                                                                         \
                type *next = node->next;                                                           \
                node->next = nb[node->hash & (nn - 1)];                                            \
                nb[node->hash & (nn - 1)] = node;                                                  \
                node = next;                                                                       \
            }                                                                                      \
        }                                                                                          \
        free(*buckets);                                                                            \
        *buckets = nb;                                                                             \
        *n = nn;                                                                                   \
    }

DEFINE_GROW(grow_keys, ckey)
DEFINE_GROW(grow_entries, entry)

/* ------------------------------------------------------- flat replies */

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Bytes of `r`'s children and strings, laid out by flat_copy(). */
static size_t flat_extra(const reds_reply *r)
{
    if (r->type == REDS_REPLY_ARRAY) {
        size_t n = r->len * sizeof(reds_reply);
        for (size_t i = 0; i < r->len; i++)
            n += flat_extra(&r->element[i]);
        return n;
    }
    return r->str ? align8(r->len + 1) : 0;
}

/* Copy `src` into `dst`, its children and strings at `*at`. */
static void flat_copy(reds_reply *dst, const reds_reply *src, char **at)
{
    *dst = *src;
    if (src->type == REDS_REPLY_ARRAY) {
        dst->element = src->len ? (reds_reply *)*at : NULL;
        *at += src->len * sizeof(reds_reply);
        for (size_t i = 0; i < src->len; i++)
            flat_copy(&dst->element[i], &src->element[i], at);
    } else if (src->str) {
        char *s = *at;
        memcpy(s, src->str, src->len);
        s[src->len] = '\0';
        dst->str = s;
        *at += align8(src->len + 1);
    }
}

/* ------------------------------------------------------------- keys */

static ckey *key_find(reds__cache *c, reds_str k, uint64_t h)
{
    if (!c->nkb)
        return NULL;
    for (ckey *n = c->kb[h & (c->nkb - 1)]; n; n = n->next)
        if (n->hash == h && n->len == k.len && memcmp(n->bytes, k.ptr, k.len) == 0)
            return n;
    return NULL;
}

static size_t key_bytes(size_t len)
{
    return sizeof(ckey) + len + MALLOC_OVERHEAD;
}

static ckey *key_get(reds__cache *c, reds_str k)
{
    uint64_t h = hash_bytes(k.ptr, k.len);
    ckey *n = key_find(c, k, h);
    if (n)
        return n;
    if (c->nkeys >= c->nkb)
        grow_keys(&c->kb, &c->nkb);
    if (!c->nkb || !(n = malloc(sizeof *n + k.len)))
        return NULL;
    n->hash = h;
    n->seq = 0;
    n->refs = 0;
    n->links = NULL;
    n->len = k.len;
    memcpy(n->bytes, k.ptr, k.len);
    n->next = c->kb[h & (c->nkb - 1)];
    c->kb[h & (c->nkb - 1)] = n;
    c->nkeys++;
    c->bytes += key_bytes(k.len);
    return n;
}

static void key_unref(reds__cache *c, ckey *n)
{
    if (--n->refs)
        return;
    ckey **pp = &c->kb[n->hash & (c->nkb - 1)];
    while (*pp != n)
        pp = &(*pp)->next;
    *pp = n->next;
    c->nkeys--;
    c->bytes -= key_bytes(n->len);
    free(n);
}

/* ------------------------------------------------------------- entries */

static entry *entry_find(reds__cache *c, const char *cmd, size_t len, uint64_t h)
{
    if (!c->neb)
        return NULL;
    for (entry *e = c->eb[h & (c->neb - 1)]; e; e = e->next)
        if (e->hash == h && e->cmd_len == len && memcmp(e->cmd, cmd, len) == 0)
            return e;
    return NULL;
}

static void lru_unlink(reds__cache *c, entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
}

static void lru_push(reds__cache *c, entry *e)
{
    e->newer = NULL;
    e->older = c->newest;
    if (c->newest)
        c->newest->newer = e;
    else
        c->oldest = e;
    c->newest = e;
}

static void entry_remove(reds__cache *c, entry *e)
{
    entry **pp = &c->eb[e->hash & (c->neb - 1)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    lru_unlink(c, e);
    for (size_t i = 0; i < e->nlinks; i++) {
        keylink *l = &e->links[i];
        if (l->prev)
            l->prev->next = l->next;
        else
            l->key->links = l->next;
        if (l->next)
            l->next->prev = l->prev;
        key_unref(c, l->key);
    }
    c->nentries--;
    c->bytes -= e->bytes;
    free(e);
}

static void flush_locked(reds__cache *c)
{
    while (c->newest)
        entry_remove(c, c->newest);
    c->flush_seq++;
    c->stats.flushes++;
}

static void invalidate_locked(reds__cache *c, reds_str k)
{
    c->stats.invalidations++;
    ckey *n = key_find(c, k, hash_bytes(k.ptr, k.len));
    if (!n)
        return; /* neither cached nor being read */
    n->seq++;
    n->refs++; /* keep it while its entries go */
    while (n->links)
        entry_remove(c, n->links->entry);
    key_unref(c, n);
}

/* ------------------------------------------------------- the read path */

/* Whether every key of a read falls under a broadcast prefix: the server
 * reports no other key in that mode. */
static bool under_prefixes(const reds__cache *c, const reds__keys *k)
{
    if (!c->bcast || !c->nprefixes)
        return true;
    for (long i = 0; i < k->n; i++) {
        reds_str key = reds__key(k, i);
        bool ok = false;
        for (size_t j = 0; j < c->nprefixes && !ok; j++) {
            size_t plen = strlen(c->prefixes[j]);
            ok = key.len >= plen && memcmp(key.ptr, c->prefixes[j], plen) == 0;
        }
        if (!ok)
            return false;
    }
    return true;
}

static void release_pending(reds__cache *c, reds__cache_read *rd)
{
    for (size_t i = 0; i < rd->nkeys; i++)
        key_unref(c, rd->keys[i]);
    rd->nkeys = 0;
}

static void read_free(reds__cache_read *rd)
{
    if (rd->keys != rd->small_keys)
        free(rd->keys);
    if (rd->seqs != rd->small_seqs)
        free(rd->seqs);
}

/* A hit: the stored reply, copied into an arena, converted. Entered with
 * the lock held; releases it. */
static reds_err serve(reds__cache *c, entry *e, reds_client *client, reds__cmd *cmd)
{
    reds__arena a = {0};
    reds__arena_expect(&a, e->reply_size + REDS__ARENA_SMALL);
    reds_reply *reply = reds__arena_alloc(&a, e->reply_size);
    if (reply) {
        char *at = (char *)(reply + 1);
        flat_copy(reply, e->reply, &at);
    }
    c->stats.hits++;
    pthread_mutex_unlock(&c->lock);
    reds_err err = reply ? reds__deliver(client, cmd, &a, reply)
                         : reds__error(REDS_ERR_NOMEM, "out of memory");
    reds__arena_clear(&a);
    return err;
}

int reds__cache_lookup(reds__cache *c, reds_client *client, reds__cmd *cmd, reds__cache_read *rd,
                       reds_err *err)
{
    const reds_catalog_entry *info = reds__command_info(cmd->id);
    if (!info || !(info->flags & REDS_CMD_CACHEABLE) ||
        atomic_load_explicit(&reds__fork_generation, memory_order_relaxed) != c->fork_generation)
        return REDS__CACHE_BYPASS;
    reds__keys k;
    if (reds__cmd_keys(cmd, info, &k) != REDS_OK)
        return REDS__CACHE_BYPASS;
    if (k.n <= 0 || !under_prefixes(c, &k)) {
        reds__keys_free(&k);
        return REDS__CACHE_BYPASS;
    }
    uint64_t h = hash_bytes(cmd->buf, cmd->len);
    rd->cache = c;
    rd->cmd = cmd;
    rd->hash = h;
    rd->nkeys = 0;
    rd->keys = rd->small_keys;
    rd->seqs = rd->small_seqs;
    if ((size_t)k.n > REDS__KEYS_SMALL) {
        rd->keys = malloc((size_t)k.n * sizeof *rd->keys);
        rd->seqs = malloc((size_t)k.n * sizeof *rd->seqs);
        if (!rd->keys || !rd->seqs) {
            read_free(rd);
            reds__keys_free(&k);
            return REDS__CACHE_BYPASS;
        }
    }
    /* While the invalidation connection is down the cache is empty, and
     * a read is registered all the same: its reply, never stored, then
     * voids the reads of its keys in flight (void_keys()). */
    pthread_mutex_lock(&c->lock);
    entry *e = entry_find(c, cmd->buf, cmd->len, h);
    if (e && c->ttl_ms && reds__now_ms() - e->born_ms >= c->ttl_ms) {
        entry_remove(c, e);
        c->stats.expirations++;
        e = NULL;
    }
    if (e) {
        lru_unlink(c, e);
        lru_push(c, e);
        read_free(rd);
        reds__keys_free(&k);
        *err = serve(c, e, client, cmd);
        return REDS__CACHE_HIT;
    }
    /* A miss: register the keys before the command leaves, so that an
     * invalidation that comes before its reply is seen. */
    c->stats.misses++;
    for (long i = 0; i < k.n; i++) {
        ckey *n = key_get(c, reds__key(&k, i));
        if (!n) {
            release_pending(c, rd);
            pthread_mutex_unlock(&c->lock);
            read_free(rd);
            reds__keys_free(&k);
            return REDS__CACHE_BYPASS;
        }
        n->refs++;
        rd->keys[rd->nkeys] = n;
        rd->seqs[rd->nkeys++] = n->seq;
    }
    rd->flush_seq = c->flush_seq;
    rd->gen = c->gen;
    pthread_mutex_unlock(&c->lock);
    reds__keys_free(&k);
    return REDS__CACHE_MISS;
}

/* Whether a reply read on `conn` for `rd` may be stored: nothing has
 * invalidated its keys or flushed the cache since it was registered, and
 * the connection's tracking reports to the current invalidation
 * connection. Under the lock. */
static bool still_valid(const reds__cache *c, const reds__cache_read *rd, const reds__conn *conn)
{
    if (!c->up || rd->flush_seq != c->flush_seq || rd->gen != c->gen || conn->track_gen != c->gen)
        return false;
    for (size_t i = 0; i < rd->nkeys; i++)
        if (rd->keys[i]->seq != rd->seqs[i])
            return false;
    return true;
}

/* Whether two replies are the same, node for node. */
static bool reply_equal(const reds_reply *a, const reds_reply *b)
{
    if (a->type != b->type || a->len != b->len || a->integer != b->integer || !a->str != !b->str ||
        (a->str && memcmp(a->str, b->str, a->len) != 0))
        return false;
    if (a->type == REDS_REPLY_ARRAY)
        for (size_t i = 0; i < a->len; i++)
            if (!reply_equal(&a->element[i], &b->element[i]))
                return false;
    return true;
}

/* A reply of a miss that is not kept: reads of the same keys in flight
 * now may have read an older value than this one, and entries stored
 * meanwhile may hold one. So that no thread reads an older value from the
 * cache after this newer one (the server's invalidation still on its
 * way), the keys are dropped as by an invalidation. Under the lock; `rd`
 * keeps its key nodes alive. */
static void void_keys(reds__cache *c, ckey *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        keys[i]->seq++;
        while (keys[i]->links)
            entry_remove(c, keys[i]->links->entry);
    }
}

static void evict(reds__cache *c, entry *e)
{
    for (size_t i = 0; i < e->nlinks; i++)
        e->links[i].key->seq++;
    entry_remove(c, e);
    c->stats.evictions++;
}

static void not_stored(reds__cache *c, reds__cache_read *rd, entry *e)
{
    pthread_mutex_lock(&c->lock);
    void_keys(c, rd->keys, rd->nkeys);
    c->stats.not_stored++;
    pthread_mutex_unlock(&c->lock);
    free(e);
}

void reds__cache_store(reds__cache_read *rd, const reds__conn *conn, const reds_reply *reply)
{
    reds__cache *c = rd->cache;
    /* Built before taking the lock: only the checks and links are under it. */
    size_t reply_size = sizeof(reds_reply) + flat_extra(reply);
    size_t head = sizeof(entry) + rd->nkeys * sizeof(keylink);
    size_t size = head + align8(rd->cmd->len) + reply_size;
    /* Error replies are never kept, nor one that would not fit at all. */
    entry *e = reply->type != REDS_REPLY_ERROR && size + MALLOC_OVERHEAD <= c->max_bytes
                   ? malloc(size)
                   : NULL;
    if (!e) {
        not_stored(c, rd, NULL);
        return;
    }
    char *cmd = (char *)e + head;
    memcpy(cmd, rd->cmd->buf, rd->cmd->len);
    e->cmd = cmd;
    e->cmd_len = rd->cmd->len;
    e->hash = rd->hash;
    e->reply = (reds_reply *)(cmd + align8(rd->cmd->len));
    e->reply_size = reply_size;
    char *at = (char *)(e->reply + 1);
    flat_copy(e->reply, reply, &at);
    e->bytes = size + MALLOC_OVERHEAD;
    e->nlinks = rd->nkeys;
    e->born_ms = c->ttl_ms ? reds__now_ms() : 0;
    pthread_mutex_lock(&c->lock);
    if (!still_valid(c, rd, conn)) {
        pthread_mutex_unlock(&c->lock);
        not_stored(c, rd, e);
        return;
    }
    /* A read of the same command overlapped this one and stored first.
     * The same reply: keep it. Another: one of them is older, and which
     * cannot be told from here; keep neither. */
    entry *old = entry_find(c, e->cmd, e->cmd_len, e->hash);
    if (old && !reply_equal(old->reply, e->reply)) {
        entry_remove(c, old);
        pthread_mutex_unlock(&c->lock);
        not_stored(c, rd, e);
        return;
    }
    if (old) {
        pthread_mutex_unlock(&c->lock);
        free(e);
        return;
    }
    if (c->nentries >= c->neb)
        grow_entries(&c->eb, &c->neb);
    if (!c->neb) {
        pthread_mutex_unlock(&c->lock);
        not_stored(c, rd, e);
        return;
    }
    /* The pending references become the entry's links. */
    for (size_t i = 0; i < e->nlinks; i++) {
        keylink *l = &e->links[i];
        l->entry = e;
        l->key = rd->keys[i];
        l->prev = NULL;
        l->next = l->key->links;
        if (l->next)
            l->next->prev = l;
        l->key->links = l;
    }
    rd->nkeys = 0;
    e->next = c->eb[e->hash & (c->neb - 1)];
    c->eb[e->hash & (c->neb - 1)] = e;
    c->nentries++;
    c->bytes += e->bytes;
    lru_push(c, e);
    while (c->bytes > c->max_bytes && c->oldest && c->oldest != e)
        evict(c, c->oldest);
    pthread_mutex_unlock(&c->lock);
}

void reds__cache_end(reds__cache_read *rd)
{
    reds__cache *c = rd->cache;
    if (rd->nkeys) {
        pthread_mutex_lock(&c->lock);
        release_pending(c, rd);
        pthread_mutex_unlock(&c->lock);
    }
    read_free(rd);
}

void reds__cache_wrote(reds__cache *c, const reds__cmd *cmd)
{
    const reds_catalog_entry *info = reds__command_info(cmd->id);
    if (!info || !(info->flags & REDS_CMD_WRITE) ||
        atomic_load_explicit(&reds__fork_generation, memory_order_relaxed) != c->fork_generation)
        return;
    if (cmd->id == REDS__CMD_FLUSHALL || cmd->id == REDS__CMD_FLUSHDB ||
        cmd->id == REDS__CMD_SWAPDB) {
        pthread_mutex_lock(&c->lock);
        flush_locked(c);
        pthread_mutex_unlock(&c->lock);
        return;
    }
    reds__keys k;
    if (reds__cmd_keys(cmd, info, &k) != REDS_OK)
        return;
    if (k.n > 0) {
        pthread_mutex_lock(&c->lock);
        for (long i = 0; i < k.n; i++)
            invalidate_locked(c, reds__key(&k, i));
        pthread_mutex_unlock(&c->lock);
    }
    reds__keys_free(&k);
}

/* ---------------------------------------------------- data connections */

size_t reds__cache_tracking(reds__cache *c, reds__conn *conn, reds_str *argv, char idbuf[24])
{
    size_t n = 0;
    /* A forked child does not cache (reds__cache_lookup()): its
     * connections must not report to the parent's invalidation one. */
    bool up =
        atomic_load_explicit(&reds__fork_generation, memory_order_relaxed) == c->fork_generation;
    pthread_mutex_lock(&c->lock);
    up = up && c->up;
    conn->track_gen = up ? c->gen : 0;
    if (up) {
        snprintf(idbuf, 24, "%lld", (long long)c->redirect_id);
        argv[n++] = REDS_STR("CLIENT");
        argv[n++] = REDS_STR("TRACKING");
        argv[n++] = REDS_STR("ON");
        argv[n++] = REDS_STR("REDIRECT");
        argv[n++] = reds_cstr(idbuf);
        if (c->bcast) {
            argv[n++] = REDS_STR("BCAST");
            for (size_t i = 0; i < c->nprefixes; i++) {
                argv[n++] = REDS_STR("PREFIX");
                argv[n++] = reds_cstr(c->prefixes[i]);
            }
        }
    }
    pthread_mutex_unlock(&c->lock);
    return n;
}

size_t reds__cache_tracking_argc(const reds__cache *c)
{
    return 6 + 2 * c->nprefixes;
}

/* ------------------------------------------- the invalidation connection */

/* Lose the invalidation connection: what was cached may have changed
 * unreported. Called by the pub/sub handle when its connection goes, and
 * on errors of its thread. */
static void go_down(void *udata)
{
    reds__cache *c = udata;
    pthread_mutex_lock(&c->lock);
    if (c->up) {
        c->up = c->settled = false;
        c->gen++;
        flush_locked(c);
    }
    pthread_mutex_unlock(&c->lock);
}

static void on_error(reds_pubsub *ps, reds_err err, const char *message, void *udata)
{
    (void)ps;
    (void)err;
    (void)message;
    go_down(udata);
}

/* The subscription is confirmed on a (new) connection: from now on the
 * server reports to it. Handlers run on the handle's thread, which alone
 * replaces its connection, so the id is that of the connection that
 * confirmed. */
static void on_message(reds_pubsub *ps, const reds_pubsub_message *m, void *udata)
{
    reds__cache *c = udata;
    if (m->kind != REDS_PUBSUB_SUBSCRIBE)
        return;
    int64_t id;
    if (reds_pubsub_connection_id(ps, &id) != REDS_OK) {
        go_down(c);
        return;
    }
    pthread_mutex_lock(&c->lock);
    c->up = true;
    c->redirect_id = id;
    unsigned gen = ++c->gen;
    flush_locked(c);
    pthread_mutex_unlock(&c->lock);
    /* Connections set up for an older generation redirect elsewhere. */
    reds_pool_disconnect(c->owner);
    /* Only now is the cache reported connected: a caller that waits for
     * it then knows its next connection is a new one. */
    pthread_mutex_lock(&c->lock);
    c->settled = c->gen == gen;
    pthread_mutex_unlock(&c->lock);
}

static void on_invalidate(reds_pubsub *ps, const reds_pubsub_message *m, void *udata)
{
    (void)ps;
    reds__cache *c = udata;
    if (m->kind != REDS_PUBSUB_MESSAGE)
        return;
    pthread_mutex_lock(&c->lock);
    if (m->items) {
        for (size_t i = 0; i < m->nitems; i++)
            invalidate_locked(c, m->items[i]);
    } else if (!m->data.ptr) {
        flush_locked(c); /* nil: every key (FLUSHALL, FLUSHDB) */
    } else {
        invalidate_locked(c, m->data);
    }
    pthread_mutex_unlock(&c->lock);
}

/* ---------------------------------------------------------------- fork */

static void fork_prepare(void *owner)
{
    pthread_mutex_lock(&((reds__cache *)owner)->lock);
}

static void fork_parent(void *owner)
{
    pthread_mutex_unlock(&((reds__cache *)owner)->lock);
}

/* The invalidation thread does not exist in a child: the cache is off
 * there (reds__cache_lookup() sees the generation), its lock usable. */
static void fork_child(void *owner)
{
    pthread_mutex_init(&((reds__cache *)owner)->lock, NULL);
}

/* ----------------------------------------------------------- lifecycle */

reds_err reds__cache_new(reds_client *owner, reds__cache **out)
{
    const reds__config *cfg = owner->cfg;
    *out = NULL;
    reds__cache *c = calloc(1, sizeof *c);
    if (!c)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    c->owner = owner;
    c->max_bytes = cfg->cache_max_bytes;
    c->ttl_ms = (uint64_t)cfg->cache_ttl_ms;
    c->bcast = cfg->cache_mode == REDS_CACHE_BROADCAST;
    c->prefixes = cfg->cache_prefixes;
    c->nprefixes = cfg->cache_nprefixes;
    c->gen = 1;
    c->stats.max_bytes = c->max_bytes;
    pthread_mutex_init(&c->lock, NULL);
    c->fork = (reds__fork_hook){fork_prepare, fork_parent, fork_child, c, NULL, NULL};
    reds__fork_register(&c->fork);
    c->fork_generation = atomic_load(&reds__fork_generation);
    reds_err err = reds_pubsub_new(owner, NULL, &c->ps);
    if (err) {
        reds__cache_free(c);
        return err;
    }
    reds__pubsub_on_drop(c->ps, go_down, c);
    /* A server that is down now is not an error: the thread connects
     * when it can, and until then nothing is cached. */
    static const reds_str channel = {INVALIDATE_CHANNEL, sizeof INVALIDATE_CHANNEL - 1};
    err = reds_pubsub_subscribe(c->ps, &channel, 1, on_invalidate, c);
    if (err == REDS_ERR_NOMEM || err == REDS_ERR_DATA) {
        reds__cache_free(c);
        return err;
    }
    reds__clear_error();
    reds_pubsub_thread_options topts = {0};
    topts.on_message = on_message;
    topts.udata = c;
    topts.on_error = on_error;
    topts.error_udata = c;
    if ((err = reds_pubsub_run(c->ps, &topts)) != REDS_OK) {
        reds__cache_free(c);
        return err;
    }
    *out = c;
    return REDS_OK;
}

/* Caches freed in a forked child, kept (see reds__cache_free()). */
static _Atomic(reds__cache *) orphans;

void reds__cache_free(reds__cache *c)
{
    if (!c)
        return;
    reds__fork_unregister(&c->fork);
    bool forked = atomic_load(&reds__fork_generation) != c->fork_generation;
    if (!forked)
        reds_pubsub_close(c->ps);
    while (c->newest)
        entry_remove(c, c->newest);
    /* No read is in flight any more: every key went with its entries. */
    free(c->eb);
    free(c->kb);
    c->eb = NULL;
    c->kb = NULL;
    if (forked) {
        /* In a forked child the pub/sub handle's thread does not exist,
         * its lock may be held for ever and its socket is the parent's:
         * it cannot be closed. The cache keeps it, and stays listed here
         * so that it is not lost memory to leak checkers. */
        c->orphan_next = atomic_load(&orphans);
        while (!atomic_compare_exchange_weak(&orphans, &c->orphan_next, c))
            ;
        return;
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

reds_err reds__cache_stats(reds__cache *c, reds_cache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    out->entries = c->nentries;
    out->bytes = c->bytes;
    out->connected = c->up && c->settled;
    out->connection_id = out->connected ? c->redirect_id : 0;
    pthread_mutex_unlock(&c->lock);
    return REDS_OK;
}

reds_err reds__cache_flush(reds__cache *c)
{
    pthread_mutex_lock(&c->lock);
    flush_locked(c);
    pthread_mutex_unlock(&c->lock);
    return REDS_OK;
}
