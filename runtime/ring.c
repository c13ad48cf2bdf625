/* Client-side sharding (see <reds/ring.h>): a router over one pooled
 * client per node, placing keys ketama style (MD5, points per node). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <reds/ring.h>

#include "internal.h"

#define DEFAULT_POINTS 160
#define MAX_NODES      1024

typedef struct point {
    uint32_t hash;
    uint32_t node;
} point;

typedef struct ring_client {
    reds_client base;
    size_t n;
    reds_client **nodes;
    point *points;
    size_t npoints;
    bool copy;
} ring_client;

static const reds__router ring_router;

/* ------------------------------------------------------------- placement */

static void md5(const void *data, size_t len, unsigned char digest[16])
{
    unsigned int n = 16;
    EVP_Digest(data, len, digest, &n, EVP_md5(), NULL);
}

/* libketama: four 32-bit points from each digest, little-endian. */
static uint32_t digest_word(const unsigned char *d, int h)
{
    return (uint32_t)d[3 + h * 4] << 24 | (uint32_t)d[2 + h * 4] << 16 |
           (uint32_t)d[1 + h * 4] << 8 | (uint32_t)d[h * 4];
}

/* The part of a key that places it: the hash tag, as in Redis Cluster. */
static reds_str hashed_part(reds_str key)
{
    const char *open = key.len ? memchr(key.ptr, '{', key.len) : NULL;
    if (open) {
        size_t rest = key.len - (size_t)(open - key.ptr) - 1;
        const char *close = memchr(open + 1, '}', rest);
        if (close && close > open + 1)
            return reds_strn(open + 1, (size_t)(close - open - 1));
    }
    return key;
}

static size_t node_of(const ring_client *r, reds_str key)
{
    unsigned char d[16];
    reds_str part = hashed_part(key);
    md5(part.ptr ? part.ptr : "", part.len, d);
    uint32_t h = digest_word(d, 0);
    /* The first point at or after h, wrapping around. */
    size_t lo = 0, hi = r->npoints;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->points[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return r->points[lo == r->npoints ? 0 : lo].node;
}

static int by_hash(const void *a, const void *b)
{
    const point *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

/* ----------------------------------------------------------------- runs */

/* A node's reply, converted with the ring's callbacks. */
static reds_err on_node_reply(void *ctx, reds_client *node, reds__conn *conn, reds__cmd *cmd,
                              const reds_reply *reply)
{
    (void)node;
    return reds__reply(ctx, conn, cmd, reply);
}

/* One round trip of `cmd` on node `i`, converting with the ring's
 * callbacks; through the node's lanes when it may share its connection
 * (auto-pipelining). `*sent`: whether any of it may have reached the
 * server. */
static reds_err run_node(ring_client *r, size_t i, reds__cmd *cmd, bool *sent)
{
    reds__conn *conn;
    *sent = false;
    reds__lanes *lanes = reds__pool_lanes(r->nodes[i]);
    if (lanes && reds__shareable(cmd))
        return reds__lanes_run(lanes, r->nodes[i], cmd, sent, on_node_reply, &r->base);
    reds_err err = reds__client_acquire(r->nodes[i], &conn);
    if (err)
        return err;
    err = reds__roundtrip(&r->base, conn, cmd);
    *sent = !conn->unsent;
    reds__client_release(r->nodes[i], conn);
    return err;
}

/* On every node, `first` first with the caller's `out`, the others
 * discarding their replies. The first error wins, after all were tried. */
static reds_err run_all(ring_client *r, size_t first, reds__cmd *cmd)
{
    void *out = cmd->out;
    reds_err result = REDS_OK;
    char msg[512] = "";
    for (size_t k = 0; k < r->n; k++) {
        size_t i = (first + k) % r->n;
        bool sent;
        cmd->out = k ? NULL : out;
        reds_err err = run_node(r, i, cmd, &sent);
        if (err && !result) {
            result = err;
            snprintf(msg, sizeof msg, "%s", reds_errmsg());
        }
    }
    cmd->out = out;
    return result ? reds__error(result, "%s", msg) : REDS_OK;
}

/* On `first`, then on the next nodes while a node cannot be reached and
 * running again is safe (a read, or nothing was sent). */
static reds_err run_fallback(ring_client *r, size_t first, reds__cmd *cmd, bool readonly)
{
    reds_err err = REDS_OK;
    for (size_t k = 0; k < r->n; k++) {
        bool sent;
        err = run_node(r, (first + k) % r->n, cmd, &sent);
        if (!err || !(reds_err_is(err, REDS_ERR_CONNECTION) || err == REDS_ERR_TIMEOUT) ||
            (sent && !readonly))
            return err;
    }
    return err;
}

/* The node every key of `cmd` maps to: SIZE_MAX for a keyless command;
 * REDS_ERR_DATA when keys map to different nodes (and `spread` is false). */
static reds_err place(ring_client *r, const reds__cmd *cmd, const reds_catalog_entry *e,
                      bool spread, size_t *node)
{
    *node = SIZE_MAX;
    if (!e)
        return REDS_OK;
    reds__keys k;
    reds_err err = reds__cmd_keys(cmd, e, &k);
    if (err)
        return err;
    for (long j = 0; j < k.n; j++) {
        size_t i = node_of(r, reds__key(&k, j));
        if (*node == SIZE_MAX) {
            *node = i;
        } else if (i != *node && !spread) {
            reds_str a = reds__key(&k, 0), b = reds__key(&k, j);
            err = reds__error(REDS_ERR_DATA,
                              "%s: keys map to different nodes of the ring "
                              "('%.*s' to node %zu, '%.*s' to node %zu); give them a common "
                              "hash tag ({...}) or run it on one node",
                              e->name, (int)(a.len > 64 ? 64 : a.len), a.ptr, *node,
                              (int)(b.len > 64 ? 64 : b.len), b.ptr, i);
            break;
        }
        if (spread)
            break; /* every node has every key: the first one decides */
    }
    reds__keys_free(&k);
    return err;
}

static reds_err ring_run(reds_client *c, reds__cmd *cmd)
{
    ring_client *r = (ring_client *)c;
    if (REDS__UNLIKELY(reds__connection_scoped(cmd)))
        return reds__refuse_connection_scope(cmd);
    const reds_catalog_entry *e = reds__command_info(cmd->id);
    bool write = e && (e->flags & REDS_CMD_WRITE);
    bool readonly = e && (e->flags & REDS_CMD_READONLY);
    size_t node;
    reds_err err = place(r, cmd, e, r->copy, &node);
    if (err)
        return err;
    if (node == SIZE_MAX)
        return write ? run_all(r, 0, cmd) : run_fallback(r, 0, cmd, readonly);
    if (r->copy)
        return write ? run_all(r, node, cmd) : run_fallback(r, node, cmd, readonly);
    bool sent;
    return run_node(r, node, cmd, &sent);
}

static void ring_destroy(reds_client *c)
{
    ring_client *r = (ring_client *)c;
    for (size_t i = 0; i < r->n; i++)
        reds_client_free(r->nodes[i]);
    free(r->nodes);
    free(r->points);
}

static const reds__router ring_router = {
    .kind = "ring",
    .run = ring_run,
    .destroy = ring_destroy,
};

/* ------------------------------------------------------------ lifecycle */

static ring_client *as_ring(const reds_client *c)
{
    return c && c->router == &ring_router ? (ring_client *)c : NULL;
}

reds_err reds_ring_new(const reds_ring_node *nodes, size_t n, const reds_ring_options *opts,
                       reds_client **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_ring_new: out is NULL");
    *out = NULL;
    if (!nodes || !n || n > MAX_NODES)
        return reds__error(REDS_ERR_DATA, "reds_ring_new: give 1 to %d nodes, not %zu", MAX_NODES,
                           nodes ? n : 0);
    for (size_t i = 0; i < n; i++)
        if (nodes[i].options.cache_max_bytes)
            return reds__error(REDS_ERR_DATA,
                               "reds_ring_new: client-side caching (cache_max_bytes of "
                               "node %zu) is not supported on ring clients yet",
                               i);
    int points = opts && opts->points ? opts->points : DEFAULT_POINTS;
    if (points < 4 || points % 4 || points > 4096)
        return reds__error(REDS_ERR_DATA,
                           "reds_ring_new: points must be a multiple of 4 from "
                           "4 to 4096, not %d",
                           points);
    ring_client *r = calloc(1, sizeof *r);
    if (!r)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    r->base.router = &ring_router;
    r->copy = opts && opts->replicate_writes;
    r->nodes = calloc(n, sizeof *r->nodes);
    r->points = malloc(n * (size_t)points * sizeof *r->points);
    char(*names)[300] = calloc(n, sizeof *names);
    reds_err err =
        r->nodes && r->points && names ? REDS_OK : reds__error(REDS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && !err; i++) {
        if ((err = reds_client_new(&nodes[i].options, &r->nodes[i])) != REDS_OK)
            break;
        r->n = i + 1;
        if (nodes[i].name)
            snprintf(names[i], sizeof names[i], "%s", nodes[i].name);
        else
            reds__conn_describe(r->nodes[i]->cfg, names[i], sizeof names[i]);
        for (size_t j = 0; j < i && !err; j++)
            if (strcmp(names[i], names[j]) == 0)
                err = reds__error(REDS_ERR_DATA,
                                  "reds_ring_new: nodes %zu and %zu are both "
                                  "named '%s'",
                                  j, i, names[i]);
        for (int k = 0; k < points / 4 && !err; k++) {
            char label[320];
            unsigned char d[16];
            int len = snprintf(label, sizeof label, "%s-%d", names[i], k);
            md5(label, (size_t)len, d);
            for (int h = 0; h < 4; h++)
                r->points[r->npoints++] = (point){digest_word(d, h), (uint32_t)i};
        }
    }
    free(names);
    /* The ring's own options are its first node's: pub/sub handles and
     * dedicated connections made from it go there. */
    if (!err)
        err = reds__config_copy(r->nodes[0]->cfg, &r->base.cfg);
    if (err) {
        ring_destroy(&r->base);
        free(r);
        return err;
    }
    qsort(r->points, r->npoints, sizeof *r->points, by_hash);
    *out = &r->base;
    return REDS_OK;
}

size_t reds_ring_count(const reds_client *ring)
{
    const ring_client *r = as_ring(ring);
    return r ? r->n : 0;
}

reds_client *reds_ring_get_node(reds_client *ring, size_t i)
{
    ring_client *r = as_ring(ring);
    return r && i < r->n ? r->nodes[i] : NULL;
}

reds_err reds_ring_locate(reds_client *ring, reds_str key, size_t *index)
{
    ring_client *r = as_ring(ring);
    if (!r || !index)
        return reds__error(REDS_ERR_DATA, "reds_ring_locate: %s",
                           r ? "index is NULL" : "not a ring client");
    if (!key.ptr && key.len)
        return reds__error(REDS_ERR_DATA, "reds_ring_locate: the key is NULL with a length");
    *index = node_of(r, key);
    return REDS_OK;
}
