/* Between cluster.c (the router, the slot map) and cluster_pipeline.c
 * (pipelines and transactions of cluster clients). Never installed. */
#ifndef REDS_CLUSTER_IMPL_H
#define REDS_CLUSTER_IMPL_H

#include <reds/cluster.h>

#include "internal.h"

/* One node: its address and its pool. Never freed before the cluster
 * state, so a pointer to it stays valid without a lock. */
typedef struct reds__cnode {
    char host[256];
    int port;
    reds_client *pool;
    atomic_uint rr;             /* round-robin over the shard, when it is a primary */
    _Atomic uint64_t failed_ms; /* reds__now_ms() of its last connection error */
} reds__cnode;

typedef struct reds__cstate reds__cstate;

/* A cluster client, or a target handle of one (parent set). */
typedef struct reds__cluster {
    reds_client base;
    reds__cstate *st;
    bool targeted;
    reds_cluster_target_kind target;
    size_t target_node;
} reds__cluster;

/* A redirection or retry asked for by an error reply. */
typedef struct reds__redirect {
    reds_err kind; /* REDS_ERR_MOVED, _ASK, _TRYAGAIN or _CLUSTER_DOWN */
    int slot;
    reds__addr addr;
} reds__redirect;

/* The cluster client of a cluster client, target handle or pipeline;
 * NULL otherwise. */
reds__cluster *reds__cluster_of(const reds_client *c);

/* The slot of the keys of `cmd` in `*slot`, -1 when it has none;
 * REDS_ERR_CROSSSLOT (message set) when they span slots. */
reds_err reds__cluster_cmd_slot(const reds__cmd *cmd, int *slot);

/* Where a command of `slot` (-1: keyless) goes now: the primary, or for
 * a read with read_from_replicas, the shard round-robin; the default
 * node for keyless commands. Reloads the map once when the slot has no
 * node. */
reds_err reds__cluster_pick(reds__cstate *st, int slot, bool read, reds__cnode **out);

/* Whether `reply` is a redirection (MOVED, ASK, TRYAGAIN, CLUSTERDOWN);
 * fills `rd`. `from` supplies the host when the reply leaves it out. */
bool reds__cluster_redirect(const char *msg, size_t len, const reds__cnode *from,
                            reds__redirect *rd);

/* Account for `rd` (counters; MOVED updates the map) and return the node
 * to go to next (ASK, MOVED), or NULL (TRYAGAIN, CLUSTERDOWN: route
 * again, after reds__cluster_backoff()). */
reds__cnode *reds__cluster_follow(reds__cstate *st, const reds__redirect *rd);

/* Run one command with every redirection and retry (see cluster.h),
 * starting at `node` (NULL: route by `slot`), after ASKING when `asking`. */
reds_err reds__cluster_run_slot(reds__cluster *cl, reds__cmd *cmd, int slot, reds__cnode *node,
                                bool asking);

/* Sleep before retry `attempt` (0, 1, ...): full jitter up to
 * min(cap, base * 2^attempt) of the node options. */
void reds__cluster_backoff(reds__cstate *st, int attempt);

/* Reload the map unless it changed since `epoch` (reds__cluster_epoch()). */
reds_err reds__cluster_reload(reds__cstate *st, unsigned epoch);
unsigned reds__cluster_epoch(reds__cstate *st);

/* The options a cluster was made with. */
bool reds__cluster_read_from_replicas(const reds__cstate *st);
int reds__cluster_max_redirects(const reds__cstate *st);
int reds__cluster_retries(const reds__cstate *st);
const reds__config *reds__cluster_node_config(const reds__cstate *st);
/* `node` met a connection error or timeout: counted, and asked last for
 * the map for a while. */
void reds__cluster_node_failed(reds__cstate *st, reds__cnode *node);
/* Whether a command that failed with `err` may run again: it was not
 * sent, it is read-only, or the node options allow retrying writes. */
bool reds__cluster_may_retry(const reds__cstate *st, uintptr_t id, reds_err err, bool sent);
/* Connection errors, timeouts, LOADING: worth a reload and a retry. */
bool reds__cluster_transient(reds_err err);

#endif
