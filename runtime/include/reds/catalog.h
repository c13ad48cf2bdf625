/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: the command table, generated from spec/ as data (like the Redis
 * server's commands.def). Routers find every key of a command from its key
 * specs; tools and tests introspect names, arity, flags and tips.
 */
#ifndef REDS_CATALOG_H
#define REDS_CATALOG_H

#include <reds/types.h>

#ifdef __cplusplus
extern "C" {
#endif
REDS_API_BEGIN

/** Command flags (COMMAND INFO), plus reds' own from bit 24 on. */
enum {
    REDS_CMD_WRITE = 1u << 0,
    REDS_CMD_READONLY = 1u << 1,
    REDS_CMD_DENYOOM = 1u << 2,
    REDS_CMD_ADMIN = 1u << 3,
    REDS_CMD_PUBSUB = 1u << 4,
    REDS_CMD_NOSCRIPT = 1u << 5,
    REDS_CMD_BLOCKING = 1u << 6,
    REDS_CMD_LOADING = 1u << 7,
    REDS_CMD_STALE = 1u << 8,
    REDS_CMD_SKIP_MONITOR = 1u << 9,
    REDS_CMD_SKIP_SLOWLOG = 1u << 10,
    REDS_CMD_ASKING = 1u << 11,
    REDS_CMD_FAST = 1u << 12,
    REDS_CMD_NO_AUTH = 1u << 13,
    REDS_CMD_MAY_REPLICATE = 1u << 14,
    REDS_CMD_NO_MANDATORY_KEYS = 1u << 15,
    REDS_CMD_NO_ASYNC_LOADING = 1u << 16,
    REDS_CMD_NO_MULTI = 1u << 17,
    REDS_CMD_MOVABLEKEYS = 1u << 18,
    REDS_CMD_ALLOW_BUSY = 1u << 19,
    REDS_CMD_MODULE = 1u << 20,
    REDS_CMD_SENTINEL = 1u << 21,
    REDS_CMD_ONLY_SENTINEL = 1u << 22,
    /** reds: changes the state of its connection; refused on pooled
     *  clients, allowed on reds_client_dedicated() handles. */
    REDS_CMD_CONNECTION_SCOPE = 1u << 24,
    /** reds: deprecated by Redis (the function carries a deprecation
     *  attribute too). */
    REDS_CMD_DEPRECATED = 1u << 25,
    /** reds: the server closes the connection after answering (QUIT). */
    REDS_CMD_CLOSES_CONNECTION = 1u << 26,
    /** reds: served by a hand-written API (pub/sub, MONITOR, pipelines and
     *  transactions), not a generated function; also connection-scoped. */
    REDS_CMD_DEDICATED_API = 1u << 27,
    /** reds: the server does not answer it with exactly one reply
     *  (CLIENT REPLY, SYNC): refused on every handle, before sending. */
    REDS_CMD_UNPAIRED_REPLIES = 1u << 28,
    /** reds: a read whose reply depends only on its keys' values and its
     *  arguments: a client with a cache (reds_options.cache_max_bytes)
     *  may answer it from the process (spec `cacheable: true`). */
    REDS_CMD_CACHEABLE = 1u << 29
};

/** COMMAND INFO tips: request and response policies and output notes. */
typedef enum reds_request_policy {
    REDS_REQUEST_DEFAULT = 0,
    REDS_REQUEST_ALL_NODES,
    REDS_REQUEST_ALL_SHARDS,
    REDS_REQUEST_MULTI_SHARD,
    REDS_REQUEST_SPECIAL
} reds_request_policy;

typedef enum reds_response_policy {
    REDS_RESPONSE_DEFAULT = 0,
    REDS_RESPONSE_ONE_SUCCEEDED,
    REDS_RESPONSE_ALL_SUCCEEDED,
    REDS_RESPONSE_AGG_LOGICAL_AND,
    REDS_RESPONSE_AGG_LOGICAL_OR,
    REDS_RESPONSE_AGG_MIN,
    REDS_RESPONSE_AGG_MAX,
    REDS_RESPONSE_AGG_SUM,
    REDS_RESPONSE_SPECIAL
} reds_response_policy;

enum {
    REDS_TIP_NONDETERMINISTIC_OUTPUT = 1u << 0,
    REDS_TIP_NONDETERMINISTIC_OUTPUT_ORDER = 1u << 1
};

/** Key spec flags. */
enum {
    REDS_KEY_RO = 1u << 0,
    REDS_KEY_RW = 1u << 1,
    REDS_KEY_OW = 1u << 2,
    REDS_KEY_RM = 1u << 3,
    REDS_KEY_ACCESS = 1u << 4,
    REDS_KEY_UPDATE = 1u << 5,
    REDS_KEY_INSERT = 1u << 6,
    REDS_KEY_DELETE = 1u << 7,
    REDS_KEY_NOT_KEY = 1u << 8,
    REDS_KEY_INCOMPLETE = 1u << 9,
    REDS_KEY_VARIABLE_FLAGS = 1u << 10
};

typedef enum reds_begin_search {
    REDS_BEGIN_UNKNOWN = 0,
    REDS_BEGIN_INDEX,  /**< keys start at argv[index] */
    REDS_BEGIN_KEYWORD /**< keys follow `keyword`, searched from startfrom */
} reds_begin_search;

typedef enum reds_find_keys {
    REDS_FIND_UNKNOWN = 0,
    REDS_FIND_RANGE, /**< lastkey (relative; -1 = end), keystep, limit */
    REDS_FIND_KEYNUM /**< the count is at keynumidx; then firstkey, keystep */
} reds_find_keys;

/** One key spec, as COMMAND INFO describes it. */
typedef struct reds_key_spec {
    uint16_t flags;
    uint8_t begin_search; /**< reds_begin_search */
    uint8_t find_keys;    /**< reds_find_keys */
    int32_t index;        /**< INDEX: position; KEYWORD: startfrom */
    const char *keyword;  /**< KEYWORD only */
    int32_t a, b, c;      /**< RANGE: lastkey, keystep, limit;
                               KEYNUM: keynumidx, firstkey, keystep */
} reds_key_spec;

/** One leaf command of the catalogue. */
typedef struct reds_catalog_entry {
    const char *name;        /**< "GET", "CLIENT LIST" */
    const char *group;       /**< "string", "connection", ... */
    const char *since;       /**< "1.0.0" */
    const char *reply;       /**< the reply kind of the base function */
    int32_t arity;           /**< COMMAND INFO arity: -N means at least N */
    uint32_t flags;          /**< REDS_CMD_* */
    uint8_t request_policy;  /**< reds_request_policy */
    uint8_t response_policy; /**< reds_response_policy */
    uint8_t tips;            /**< REDS_TIP_* */
    uint8_t nkey_specs;
    const reds_key_spec *key_specs;
} reds_catalog_entry;

/** The entry for `name` ("get", "CLIENT LIST"; case-insensitive), or NULL. */
const reds_catalog_entry *reds_catalog_lookup(const char *name);

/** The entry for a command line: argv[0], and argv[1] for containers. */
const reds_catalog_entry *reds_catalog_find(size_t argc, const reds_str *argv);

/** Number of entries, and the i-th (sorted by name). */
size_t reds_catalog_count(void);
const reds_catalog_entry *reds_catalog_at(size_t i);

/** The positions in argv of the keys of a command line, from the key
 *  specs (no knowledge of the command beyond its table entry). Writes up
 *  to `max` indexes to `pos` and returns how many keys there are (which
 *  may exceed `max`); -1 when argv is too short for its own key specs.
 *  Specs of kind "unknown" (SORT's BY/STORE, for instance) are skipped. */
long reds_catalog_keys(const reds_catalog_entry *cmd, size_t argc, const reds_str *argv,
                       size_t *pos, size_t max);

REDS_API_END
#ifdef __cplusplus
}
#endif
#endif
