/* A Redis Cluster on loopback for tests and examples: six
 * `redis-server --cluster-enabled yes` (each with its own nodes.conf in a
 * temporary directory), joined by `redis-cli --cluster create
 * --cluster-replicas 1`: three primaries with one replica each
 * (valkey-server and valkey-cli with REDS_TEST_SERVER=valkey). Ports are
 * chosen at or below 45000 (the cluster bus listens on port + 10000).
 * Always stopped; every process also dies with its parent. */
#ifndef REDS_FIXTURE_CLUSTER_H
#define REDS_FIXTURE_CLUSTER_H

#include <stddef.h>

#include "fixture.h"

#define FIXTURE_CLUSTER_NODES 6
/* cluster-node-timeout: a primary is failed over about this long after it
 * stops answering. */
#define FIXTURE_CLUSTER_NODE_TIMEOUT_MS 2000

typedef struct fixture_cluster {
    fixture_server node[FIXTURE_CLUSTER_NODES];
    char id[FIXTURE_CLUSTER_NODES][41]; /* CLUSTER MYID of each */
} fixture_cluster;

/* Start the six servers, create the cluster and wait until it has
 * settled (fixture_cluster_settled). Returns 0, or -1 with a message on
 * stderr (everything started is stopped). */
int fixture_cluster_start(fixture_cluster *fc);

/* Stop every server and remove every directory. */
void fixture_cluster_stop(fixture_cluster *fc);

/* Wait up to `timeout_ms` until every running node says cluster_state:ok
 * with all 16384 slots ok, every running node gives the same CLUSTER
 * SHARDS view (slots, primaries, and replicas online), and that view has
 * `primaries` primaries with one online replica each when `replicated`.
 * Returns 0 or -1. */
int fixture_cluster_settled(const fixture_cluster *fc, int primaries, bool replicated,
                            int timeout_ms);

/* Start killed node `i` again on its port and directory (its nodes.conf
 * brings it back into the cluster). Returns 0 or -1. */
int fixture_cluster_restart(fixture_cluster *fc, int i);

/* The index in fc->node of the server on `port`, or -1. */
int fixture_cluster_index(const fixture_cluster *fc, int port);

/* Run redis-cli (valkey-cli for a Valkey cluster) with `args`
 * (NULL-terminated, after the program name), its output appended to
 * cli.log in the first node's directory. Returns its exit status, or -1. */
int fixture_cluster_cli(const fixture_cluster *fc, const char *const *args);

/* The role of node `i` as it says itself (ROLE): 'm', 's', or 0 when it
 * does not answer. */
char fixture_cluster_role(const fixture_cluster *fc, int i);

/* CLUSTER SETSLOT `slot` on node `i`: `how` is "importing", "migrating" or
 * "node" (with node `other`'s id), or "stable". Returns 0, or -1 with a
 * message on stderr. */
int fixture_cluster_setslot(const fixture_cluster *fc, int i, int slot, const char *how, int other);

/* The last step of moving `slot` from `from` to `to`: the new owner, the
 * old one and every other primary are told it is `to`'s. Returns 0 or -1. */
int fixture_cluster_assign_slot(const fixture_cluster *fc, int slot, int from, int to);

#endif
