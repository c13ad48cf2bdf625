/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: Redis Cluster clients, modelled on redis-py's RedisCluster.
 *
 *     reds_host_port seeds[] = {{"10.0.0.1", 7000}, {"10.0.0.2", 7000}};
 *     reds_client *c;
 *     reds_cluster_new(seeds, 2, NULL, &c);       // loads the slot map
 *     reds_set(c, REDS_STR("user:42"), REDS_STR("..."), NULL, NULL);
 *     int64_t n;
 *     reds_dbsize(c, &n);                          // summed over the primaries
 *
 * A cluster client is an ordinary reds_client: every command function
 * works on it, and so do pipelines (reds_pipeline_new), transactions
 * within one slot, scripts, locks, pub/sub handles and dedicated
 * connections. It keeps one connection pool per node, each with the
 * options the client was made with.
 *
 * Routing. The slot map comes from CLUSTER SHARDS (CLUSTER SLOTS on
 * servers before 7.0) of the first node that answers. A command's keys
 * are found from the command table's key specs (never by parsing the
 * command) and hashed to a slot (CRC16 of the key, or of its hash tag
 * `{...}`, modulo 16384):
 *
 * - A command whose keys are all in one slot runs on the primary serving
 *   it (on its replicas too, round-robin, for read-only commands with
 *   read_from_replicas). Keys in different slots: REDS_ERR_CROSSSLOT,
 *   and nothing is sent. reds_cluster_mget() and reds_cluster_mset() are
 *   the non-atomic forms that split their keys by slot.
 * - MOVED updates the map and the command runs again on the node named;
 *   ASK runs it once on the node named, after ASKING (both in one write);
 *   TRYAGAIN (a multi-key command during a migration) is retried with a
 *   backoff; CLUSTERDOWN and connection errors reload the map and retry,
 *   with a backoff, up to `retries` times, but only a command that
 *   provably was not sent, or is read-only, or with the node options'
 *   retry_writes (it may then run twice). At most `max_redirects`
 *   redirections per command; then the last error is returned.
 * - A keyless command runs where its catalogue request policy says:
 *   all_shards on every primary (DBSIZE, KEYS, FLUSHALL, PING, WAIT...),
 *   all_nodes on every node (SCRIPT LOAD, CONFIG SET...), and anything
 *   else on the default node (a primary chosen at random, kept while it
 *   serves). Replies of several nodes are combined as the response
 *   policy says before the typed converter runs: agg_sum (DBSIZE sums),
 *   agg_min, agg_max, agg_logical_and/or (element by element for arrays:
 *   SCRIPT EXISTS), all_succeeded (the first reply, unless a node
 *   failed), one_succeeded (the first success); with no policy, arrays are
 *   concatenated (KEYS) and other replies must all succeed (the first is
 *   returned). Replies with a "special" policy (INFO, MEMORY STATS...)
 *   cannot be combined: those commands run on the default node, and on
 *   one node at a time through reds_cluster_target().
 * - reds_cluster_target() makes a handle whose commands go to the nodes
 *   the caller names: the primaries, the replicas, every node, a random
 *   node, or one node. Commands with keys run there as they are (a MOVED
 *   reply is returned, not followed).
 *
 * Pipelines group their commands by node, write to every node before
 * reading any reply (the nodes work concurrently), follow MOVED and ASK
 * for the commands that met them, and fill outputs in the caller's order.
 * Commands of several nodes (DBSIZE...) are refused in a pipeline. A
 * transaction (a transactional pipeline, reds_transaction) must keep all
 * its keys in one slot: a command of another slot is refused
 * (REDS_ERR_CROSSSLOT) when queued; WATCH too. A transaction refused by a
 * MOVED or ASK did not run: it is sent again to the right node (after
 * ASKING, which holds for the whole transaction); with watched keys it
 * fails with REDS_ERR_WATCH instead, so reds_transaction() retries it.
 * Scripts in a cluster pipeline must be loaded first (SCRIPT LOAD loads
 * on every node).
 *
 * Pub/sub: reds_pubsub_new() on a cluster client subscribes on the default
 * node (SUBSCRIBE and PSUBSCRIBE see every PUBLISH of the cluster);
 * reds_cluster_pubsub_new() makes a handle on the primary of a shard
 * channel's slot, for SSUBSCRIBE. Both follow their node: a connection
 * that drops reconnects where the reloaded map says. reds_pubsub_new() on
 * reds_cluster_node_client() subscribes on one chosen node. Dedicated
 * connections and MONITOR made from a cluster client go to the default
 * node too, and SCAN (scan iterators included) runs there: scan every
 * primary through its reds_cluster_node_client().
 *
 * Thread-safe, like every reds_client. Connection-scoped commands (SELECT,
 * READONLY, ASKING, CLIENT SETNAME...) are refused, as on any pooled
 * client; a cluster has only database 0.
 */
#ifndef REDS_CLUSTER_H
#define REDS_CLUSTER_H

#include <reds/client.h>
#include <reds/commands.h>
#include <reds/pubsub.h>
#include <reds/sentinel.h>
#include <reds/types.h>

#ifdef __cplusplus
extern "C" {
#endif
REDS_API_BEGIN

/** The number of hash slots of a Redis Cluster. */
#define REDS_CLUSTER_SLOTS 16384

/** How a cluster client behaves. Zero-initialise for the defaults. */
typedef struct reds_cluster_options {
    /** Options of every connection to every node: password, TLS,
     *  timeouts, pool size, retry_writes... (host, port and unix_path are
     *  ignored; db must be 0). NULL for the defaults. */
    const reds_options *node;
    /** Read-only commands (catalogue flag readonly) go round-robin to the
     *  primary and the replicas of their slot, and every connection sends
     *  READONLY when it opens (redis-py's read_from_replicas). Replicas
     *  lag behind their primary: a read may not see a write just made. */
    bool read_from_replicas;
    /** Redirections (MOVED, ASK, TRYAGAIN) followed per command before
     *  giving up; default 16 (redis-py's RedisClusterRequestTTL). */
    int max_redirects;
    /** Map reloads and attempts after a connection error or CLUSTERDOWN,
     *  per command; default 3 (redis-py's cluster_error_retry_attempts).
     *  REDS_DISABLED for none. */
    int retries;
} reds_cluster_options;

/** A cluster client from `n` seed nodes (any nodes of the cluster; the
 *  first that answers gives the slot map, which is loaded now). `opts`
 *  may be NULL. REDS_ERR_CLUSTER when no seed gives a map. The caller
 *  owns `*out` (reds_client_free()). */
reds_err reds_cluster_new(const reds_host_port *seeds, size_t n, const reds_cluster_options *opts,
                          reds_client **out);

/** A cluster client from one seed's URL (redis:// or rediss://, see
 *  <reds/url.h>): its host and port are the seed, the rest are the node
 *  options, on top of `opts->node`. */
reds_err reds_cluster_from_url(const char *url, const reds_cluster_options *opts,
                               reds_client **out);

/** The slot of `key`: CRC16 (XMODEM) of the key, or of its hash tag (the
 *  bytes between the first '{' and the next '}', when not empty), modulo
 *  16384. */
int reds_cluster_hash_slot(reds_str key);

/** One node the client knows, as of its current map. */
typedef struct reds_cluster_member {
    size_t index; /**< for reds_cluster_target() and reds_cluster_node_client() */
    reds_str host;
    int port;
    bool primary;  /**< serves slots (as a primary) in the current map */
    bool replica;  /**< a replica of a primary of the map (`of` says which);
                        reads and targets use only those in sync */
    size_t of;     /**< replicas: the index of their primary */
    int64_t slots; /**< primaries: how many slots they serve */
} reds_cluster_member;

/** Nodes, owned by the caller: one reds_free() releases the list. */
typedef struct reds_cluster_member_list {
    size_t count;
    reds_cluster_member *items;
} reds_cluster_member_list;

/** Every node the client knows (it forgets none: a node that left stays,
 *  neither primary nor replica). Indexes are stable for the life of the
 *  client. `*out` is owned by the caller (reds_free()). */
reds_err reds_cluster_members(reds_client *cluster, reds_cluster_member_list **out);

/** In `*node`, the index of the primary serving the slot of `key`, as the
 *  current map says (nothing is sent), and in `*slot` (may be NULL) the
 *  slot. REDS_ERR_CLUSTER when no node serves it. */
reds_err reds_cluster_locate(reds_client *cluster, reds_str key, size_t *node, int *slot);

/** The pooled client of node `index` (every command runs there as is,
 *  nothing is routed): for pipelines, pub/sub or MONITOR on one node.
 *  Borrowed: valid until the cluster client is freed. NULL when out of
 *  range or when `cluster` is no cluster client. */
reds_client *reds_cluster_node_client(reds_client *cluster, size_t index);

/** Which nodes the commands of a reds_cluster_target() handle go to. */
typedef enum reds_cluster_target_kind {
    REDS_CLUSTER_DEFAULT_NODE = 0, /**< the default node */
    REDS_CLUSTER_PRIMARIES,        /**< every primary */
    REDS_CLUSTER_REPLICAS,         /**< every replica */
    REDS_CLUSTER_ALL_NODES,        /**< every primary and replica */
    REDS_CLUSTER_RANDOM_NODE,      /**< one node chosen at random per command */
    REDS_CLUSTER_NODE              /**< the node whose index is given */
} reds_cluster_target_kind;

/** A handle whose commands run on the nodes `kind` names (`node` is the
 *  index for REDS_CLUSTER_NODE, and ignored otherwise), as redis-py's
 *  target_nodes. The set is taken from the map at each command. Replies of
 *  several nodes are combined by the command's response policy (see
 *  above); a command whose policy is "special" fails with REDS_ERR_DATA
 *  on more than one node. The handle must not outlive `cluster`; the
 *  caller owns `*out` (reds_client_free()). */
reds_err reds_cluster_target(reds_client *cluster, reds_cluster_target_kind kind, size_t node,
                             reds_client **out);

/** Reload the slot map now (it is reloaded by itself after MOVED
 *  replies, connection errors and CLUSTERDOWN). */
reds_err reds_cluster_refresh(reds_client *cluster);

/** Counters since the client was made. */
typedef struct reds_cluster_stats {
    uint64_t moved;             /**< MOVED redirections followed */
    uint64_t ask;               /**< ASK redirections followed */
    uint64_t tryagain;          /**< TRYAGAIN replies retried */
    uint64_t clusterdown;       /**< CLUSTERDOWN replies retried */
    uint64_t connection_errors; /**< commands that met a connection error or timeout */
    uint64_t refreshes;         /**< slot maps loaded */
    uint64_t replica_reads;     /**< commands sent to a replica (read_from_replicas) */
} reds_cluster_stats;

/** Fill `out` with the counters of `cluster` (of the cluster a target
 *  handle or pipeline comes from). */
reds_err reds_cluster_get_stats(reds_client *cluster, reds_cluster_stats *out);

/** MGET of keys in any slots (redis-py's mget_nonatomic): one MGET per
 *  slot, pipelined to their nodes, the values put back in the order of
 *  `keys` (a missing key: `ptr` NULL). Not atomic: a write may land
 *  between the slots' reads. `*out` is owned by the caller (reds_free()). */
reds_err reds_cluster_mget(reds_client *cluster, const reds_str *keys, size_t nkeys,
                           reds_strlist **out);

/** MSET of keys in any slots (redis-py's mset_nonatomic): one MSET per
 *  slot, pipelined. Not atomic: on an error some slots may be written. */
reds_err reds_cluster_mset(reds_client *cluster, const reds_key_value *pairs, size_t npairs);

/** A pub/sub handle on the primary serving the slot of `shard_channel`,
 *  for SSUBSCRIBE to shard channels of that slot (SPUBLISH reaches the
 *  shard of the channel's slot only). When its connection drops, it
 *  reconnects to whichever node serves the slot then. The caller owns
 *  `*out` (reds_pubsub_close()). */
reds_err reds_cluster_pubsub_new(reds_client *cluster, reds_str shard_channel,
                                 const reds_pubsub_options *opts, reds_pubsub **out);

REDS_API_END
#ifdef __cplusplus
}
#endif
#endif
