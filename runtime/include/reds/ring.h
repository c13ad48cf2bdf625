/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: client-side sharding over standalone servers, as the RedisRing and
 * RedisCopy backends: a ring client is an ordinary reds_client whose
 * commands go to the server their key hashes to.
 *
 *     reds_ring_node nodes[3] = {
 *         {"cache-a", {.host = "10.0.0.1", .port = 6379}},
 *         {"cache-b", {.host = "10.0.0.2", .port = 6379}},
 *         {"cache-c", {.host = "10.0.0.3", .port = 6379}},
 *     };
 *     reds_client *ring;
 *     reds_ring_new(nodes, 3, NULL, &ring);
 *     reds_set(ring, REDS_STR("user:42"), REDS_STR("..."), NULL, NULL);
 *
 * Routing. Keys are found from the command table's key specs (never by
 * parsing the command) and placed by consistent hashing, ketama style: each
 * node owns `points` points on a 32-bit circle (MD5 of "name-i"), a key
 * goes to the first point at or after the MD5 of its name. Adding a node
 * takes about 1/N of the keys, all from the others to it; nothing else
 * moves. A key with a hash tag ("{user42}.cart") is placed by the tag
 * alone, as in Redis Cluster, so related keys can share a node.
 *
 * - A command whose keys all map to one node runs there. Keys on different
 *   nodes: REDS_ERR_DATA before anything is sent (use hash tags).
 * - A keyless command that writes (catalogue flag write: FLUSHALL, FLUSHDB,
 *   SWAPDB ...) runs on every node; `out` gets the first node's reply, and
 *   the first error is returned once all were tried. Any other keyless
 *   command (PING, INFO, DBSIZE, KEYS, SCAN, PUBLISH, CONFIG ...) runs on
 *   the first node that answers, in node order. For per-node answers use
 *   reds_ring_get_node().
 * - With replicate_writes (RedisCopy), every node holds every key: a
 *   command with keys that writes runs on every node (the key's node
 *   first; `out` gets its reply; the first error is returned once all were
 *   tried, so a write while a node is down fails though the others applied
 *   it). A read runs on the key's node, and when that node cannot be
 *   reached on the next ones in node order. Keys may span nodes.
 *
 * Pipelines and transactions need one connection and are refused on a
 * ring (REDS_ERR_DATA): run them on a node. Pub/sub handles and dedicated
 * connections made from a ring use its first node, where keyless commands
 * (PUBLISH) go too. Response callbacks set on the ring apply to its
 * commands. Commands are not retried (the `retries` of node options are
 * not used by the ring).
 */
#ifndef REDS_RING_H
#define REDS_RING_H

#include <reds/client.h>
#include <reds/types.h>

#ifdef __cplusplus
extern "C" {
#endif
REDS_API_BEGIN

/** One server of a ring. */
typedef struct reds_ring_node {
    /** What the ring places the node by; NULL for "host:port" (or
     *  "unix:path"). Name nodes to move one to another address without
     *  moving its keys. Names must differ. */
    const char *name;
    /** How to reach it (and pool its connections). */
    reds_options options;
} reds_ring_node;

/** Zero-initialise for the defaults. */
typedef struct reds_ring_options {
    /** RedisCopy: writes go to every node, reads to the key's node with
     *  fallback to the others. Default off (RedisRing). */
    bool replicate_writes;
    /** Points per node on the circle, a multiple of 4; default 160
     *  (libketama's). More evens the spread out, at a little memory. */
    int points;
} reds_ring_options;

/** A ring over `n` nodes (1 to 1024). `opts` may be NULL. Nothing is
 *  connected yet. The caller owns `*out` (reds_client_free()). */
reds_err reds_ring_new(const reds_ring_node *nodes, size_t n, const reds_ring_options *opts,
                       reds_client **out);

/** The number of nodes of `ring`; 0 when it is not a ring. */
size_t reds_ring_count(const reds_client *ring);

/** The client of the `i`-th node (in the order given), or NULL. Borrowed:
 *  valid until the ring is freed. */
reds_client *reds_ring_get_node(reds_client *ring, size_t i);

/** In `*index`, the node `key` maps to (hash tags honoured). */
reds_err reds_ring_locate(reds_client *ring, reds_str key, size_t *index);

REDS_API_END
#ifdef __cplusplus
}
#endif
#endif
