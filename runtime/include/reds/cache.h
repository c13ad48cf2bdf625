/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: client-side caching (server-assisted, CLIENT TRACKING).
 *
 * A client made with reds_options.cache_max_bytes > 0 answers the
 * catalogue's cacheable reads (REDS_CMD_CACHEABLE: GET, MGET, HGETALL,
 * SMEMBERS, ZRANGE...) from its process when it can, and the server tells
 * it when a key it cached changes. A hit gives the caller a fresh typed
 * result it owns, exactly as a round trip would, response callbacks
 * included. README.md, "Client-side caching", says what is cached, when
 * the whole cache is flushed and why reads are never stale beyond an
 * invalidation on its way.
 */
#ifndef REDS_CACHE_H
#define REDS_CACHE_H

#include <stdint.h>

#include <reds/client.h>
#include <reds/types.h>

#ifdef __cplusplus
extern "C" {
#endif
REDS_API_BEGIN

/** A cache's counters since the client was made (reds_cache_get_stats()). */
typedef struct reds_cache_stats {
    uint64_t hits;          /**< cacheable reads answered from the cache */
    uint64_t misses;        /**< cacheable reads sent to the server */
    uint64_t invalidations; /**< keys the server (or a write of this client)
                                 invalidated; each may drop several entries */
    uint64_t evictions;     /**< entries dropped to stay under the memory bound */
    uint64_t expirations;   /**< entries dropped at a hit for being older than
                                 cache_ttl_ms */
    uint64_t flushes;       /**< times the whole cache was emptied (FLUSHALL,
                                 FLUSHDB, the invalidation connection lost or
                                 replaced) */
    uint64_t not_stored;    /**< replies of misses not cached: an
                                 invalidation of one of their keys (or a
                                 flush) may have overtaken them, a read of
                                 the same command in flight with them got
                                 another reply, an error reply, or too
                                 large for the bound */
    size_t entries;         /**< entries held now */
    size_t bytes;           /**< bytes they take now, overheads included */
    size_t max_bytes;       /**< the bound: cache_max_bytes */
    bool connected;         /**< the invalidation connection is subscribed
                                 and the pool's connections that redirected
                                 elsewhere are retired: when false, nothing
                                 is served from the cache nor stored in it
                                 (or will be, at once) */
    int64_t connection_id;  /**< its CLIENT ID (what CLIENT TRACKING
                                 redirects to); 0 while down */
} reds_cache_stats;

/** Fill `out` with the counters of `client`'s cache (of its parent's, for
 *  a pipeline). REDS_ERR_DATA when the client has no cache. `out` is the
 *  caller's; nothing is allocated. */
reds_err reds_cache_get_stats(reds_client *client, reds_cache_stats *out);

/** Empty `client`'s cache now (it fills again as reads come). REDS_ERR_DATA
 *  when the client has no cache. */
reds_err reds_cache_flush(reds_client *client);

REDS_API_END
#ifdef __cplusplus
}
#endif
#endif
