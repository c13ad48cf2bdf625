/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: Redis Sentinel clients, modelled on redis-py's Sentinel.
 *
 * A reds_sentinel handle knows a set of Sentinels. It discovers the master
 * and the replicas of a service, and makes clients for them:
 *
 *     reds_host_port at[] = {{"10.0.0.1", 26379}, {"10.0.0.2", 26379}};
 *     reds_sentinel *s;
 *     reds_sentinel_new(at, 2, NULL, &s);
 *     reds_client *master, *replica;
 *     reds_sentinel_master_for(s, "mymaster", NULL, &master);
 *     reds_sentinel_replica_for(s, "mymaster", NULL, &replica);
 *     reds_set(master, REDS_STR("k"), REDS_STR("v"), NULL, NULL);
 *
 * Those are ordinary reds_client handles: every command function, pipeline,
 * pub/sub handle and dedicated connection works on them. Their pools ask
 * the Sentinels where to connect each time they open a connection:
 *
 * - A master client connects to the address the first Sentinel that knows
 *   a healthy master names (flags "master", not s_down or o_down, and at
 *   least min_other_sentinels peers). None does: REDS_ERR_MASTER_NOT_FOUND.
 *   When the address changes, pooled connections to the old one are closed
 *   as they come up for use. A server that answers READONLY (a master
 *   demoted by a failover) has its connection closed and the command, which
 *   did not run, fails with REDS_ERR_CONNECTION, so that options.retries
 *   retries it against the new master.
 * - A replica client connects to the replicas the Sentinels report (not
 *   s_down or o_down), round-robin from one connection to the next, and to
 *   the master when none answers. Nothing answers:
 *   REDS_ERR_SLAVE_NOT_FOUND.
 *
 * Both errors are kinds of REDS_ERR_CONNECTION (reds_err_is()). Sentinels
 * are asked in order; one that answers moves to the front, as in redis-py.
 *
 * The handle is thread-safe. Clients made from it keep what they need:
 * reds_sentinel_free() may come before reds_client_free() of its clients.
 */
#ifndef REDS_SENTINEL_H
#define REDS_SENTINEL_H

#include <reds/client.h>
#include <reds/types.h>

#ifdef __cplusplus
extern "C" {
#endif
REDS_API_BEGIN

typedef struct reds_sentinel reds_sentinel;

/** A server address. */
typedef struct reds_host_port {
    const char *host;
    int port;
} reds_host_port;

/** Addresses, owned by the caller: one reds_free() releases the list and
 *  its strings. */
typedef struct reds_host_port_list {
    size_t count;
    reds_host_port *items;
} reds_host_port_list;

/** How to use the Sentinels. Zero-initialise for the defaults. */
typedef struct reds_sentinel_options {
    /** Options of the connections to the Sentinels themselves (password,
     *  TLS, timeouts; host, port and unix_path are ignored), as redis-py's
     *  sentinel_kwargs. NULL, or a timeout left at 0: the connect and
     *  socket timeouts are 1000 ms, so that a hung Sentinel costs a
     *  second, not forever. */
    const reds_options *sentinel;
    /** Trust a master only when its Sentinel sees at least this many other
     *  Sentinels (redis-py's min_other_sentinels); default 0. */
    int min_other_sentinels;
} reds_sentinel_options;

/** A handle on the Sentinels at `sentinels` (`n` of them, tried in this
 *  order). Nothing is connected yet. `opts` may be NULL. The caller owns
 *  `*out`; release it with reds_sentinel_free(). */
reds_err reds_sentinel_new(const reds_host_port *sentinels, size_t n,
                           const reds_sentinel_options *opts, reds_sentinel **out);

/** Release the handle (clients made from it stay usable). NULL is
 *  ignored. */
void reds_sentinel_free(reds_sentinel *sentinel);

/** The number of Sentinels of the handle. */
size_t reds_sentinel_count(const reds_sentinel *sentinel);

/** A client on the `i`-th Sentinel (in the order given to
 *  reds_sentinel_new()), for the SENTINEL commands (reds_sentinel_masters(),
 *  reds_sentinel_failover(), ...); NULL when `i` is out of range. Borrowed:
 *  valid until reds_sentinel_free(). */
reds_client *reds_sentinel_node(reds_sentinel *sentinel, size_t i);

/** Ask the Sentinels where the master of `service` is (redis-py's
 *  discover_master). `*out` is owned by the caller (reds_free()).
 *  REDS_ERR_MASTER_NOT_FOUND when no Sentinel names a healthy one. */
reds_err reds_sentinel_discover_master(reds_sentinel *sentinel, const char *service,
                                       reds_host_port **out);

/** The replicas of `service` that the first Sentinel to know any reports
 *  up (not s_down or o_down), in its order (redis-py's discover_slaves).
 *  `*out` is owned by the caller (reds_free()); it is empty, not an error,
 *  when there are none. */
reds_err reds_sentinel_discover_replicas(reds_sentinel *sentinel, const char *service,
                                         reds_host_port_list **out);

/** A client on the master of `service`, wherever the Sentinels say it is,
 *  with `opts` for its connections (host, port and unix_path are ignored;
 *  NULL for the defaults). Nothing is connected yet. The caller owns
 *  `*out` (reds_client_free()). */
reds_err reds_sentinel_master_for(reds_sentinel *sentinel, const char *service,
                                  const reds_options *opts, reds_client **out);

/** A client on the replicas of `service` (round-robin over connections,
 *  the master as a fallback), as reds_sentinel_master_for(). For reads:
 *  writes fail with REDS_ERR_READONLY on a replica. */
reds_err reds_sentinel_replica_for(reds_sentinel *sentinel, const char *service,
                                   const reds_options *opts, reds_client **out);

REDS_API_END
#ifdef __cplusplus
}
#endif
#endif
