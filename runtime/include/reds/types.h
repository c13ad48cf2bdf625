/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: the value types every reds function uses.
 *
 * Strings are binary-safe views (pointer + length). Results a function
 * allocates for its caller ("owned results") are released with reds_free().
 */
#ifndef REDS_TYPES_H
#define REDS_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#define REDS__LITERAL(type, ...) (type{__VA_ARGS__})
#else
#define REDS__LITERAL(type, ...) ((type){__VA_ARGS__})
#endif

/* The shared library exports only what the public headers declare: it is
 * built with -fvisibility=hidden, and every public header puts its
 * declarations between REDS_API_BEGIN and REDS_API_END, which give them
 * default visibility (for an application, a no-op). */
#if defined(__GNUC__)
#define REDS_API_BEGIN _Pragma("GCC visibility push(default)")
#define REDS_API_END   _Pragma("GCC visibility pop")
#else
#define REDS_API_BEGIN
#define REDS_API_END
#endif

REDS_API_BEGIN

/** A binary-safe string: `len` bytes at `ptr`, not necessarily NUL-ended.
 *  As input, a NULL `ptr` with `len` 0 is the empty string for required
 *  arguments and "not given" for optional ones. As output (inside owned
 *  results) `ptr` is always NUL-terminated, and NULL marks a nil element. */
typedef struct reds_str {
    const char *ptr;
    size_t len;
} reds_str;

/** A reds_str for a string literal, length known at compile time. */
#define REDS_STR(literal) REDS__LITERAL(reds_str, "" literal, sizeof(literal) - 1)

/** A reds_str for a NUL-terminated C string (NULL gives the empty view). */
static inline reds_str reds_cstr(const char *s)
{
    reds_str v;
    v.ptr = s;
    v.len = s ? strlen(s) : 0;
    return v;
}

/** A reds_str for `len` bytes at `ptr`. */
static inline reds_str reds_strn(const char *ptr, size_t len)
{
    reds_str v;
    v.ptr = ptr;
    v.len = len;
    return v;
}

/** An optional integer: an option struct field that may be absent. Every
 *  value, 0 included, can be given: set `.set`, or use REDS_I64(v). */
typedef struct reds_opt_i64 {
    bool set;
    int64_t value;
} reds_opt_i64;

/** An optional double; see reds_opt_i64. */
typedef struct reds_opt_f64 {
    bool set;
    double value;
} reds_opt_f64;

/** What TTL, PTTL, EXPIRETIME and PEXPIRETIME answer instead of a time. */
#define REDS_TTL_NO_EXPIRY (-1)
#define REDS_TTL_NO_KEY    (-2)

#define REDS_I64(v) REDS__LITERAL(reds_opt_i64, true, (int64_t)(v))
#define REDS_F64(v) REDS__LITERAL(reds_opt_f64, true, (double)(v))

/** Error codes. 0 is success; every failure is negative and mirrors one of
 *  redis-py's exceptions. reds_err_is() answers "is this a kind of X?"
 *  across the tree. Codes are only ever appended, never renumbered. */
typedef enum reds_err {
    REDS_OK = 0,
    REDS_ERR = -1,                   /**< RedisError: the root of the tree */
    REDS_ERR_CONNECTION = -2,        /**< ConnectionError */
    REDS_ERR_TIMEOUT = -3,           /**< TimeoutError */
    REDS_ERR_AUTH = -4,              /**< AuthenticationError (a ConnectionError) */
    REDS_ERR_BUSY_LOADING = -5,      /**< BusyLoadingError (a ConnectionError) */
    REDS_ERR_INVALID_RESPONSE = -6,  /**< InvalidResponse: a reply of the wrong shape */
    REDS_ERR_RESPONSE = -7,          /**< ResponseError: the server replied with an error */
    REDS_ERR_DATA = -8,              /**< DataError: bad input, nothing was sent */
    REDS_ERR_PUBSUB = -9,            /**< PubSubError */
    REDS_ERR_WATCH = -10,            /**< WatchError: EXEC aborted by a watched key */
    REDS_ERR_NOSCRIPT = -11,         /**< NoScriptError (a ResponseError) */
    REDS_ERR_EXECABORT = -12,        /**< ExecAbortError (a ResponseError) */
    REDS_ERR_READONLY = -13,         /**< ReadOnlyError (a ResponseError) */
    REDS_ERR_NOPERM = -14,           /**< NoPermissionError (a ResponseError) */
    REDS_ERR_LOCK = -15,             /**< LockError */
    REDS_ERR_LOCK_NOT_OWNED = -16,   /**< LockNotOwnedError (a LockError) */
    REDS_ERR_MASTER_NOT_FOUND = -17, /**< MasterNotFoundError (a ConnectionError) */
    REDS_ERR_SLAVE_NOT_FOUND = -18,  /**< SlaveNotFoundError (a ConnectionError) */
    REDS_ERR_CLUSTER = -19,          /**< RedisClusterException */
    REDS_ERR_CLUSTER_DOWN = -20,     /**< ClusterDownError (a ClusterError and ResponseError) */
    REDS_ERR_MOVED = -21,            /**< MovedError (an AskError) */
    REDS_ERR_ASK = -22,              /**< AskError (a ResponseError) */
    REDS_ERR_TRYAGAIN = -23,         /**< TryAgainError (a ResponseError) */
    REDS_ERR_CROSSSLOT = -24,        /**< ClusterCrossSlotError (a ResponseError) */
    REDS_ERR_NOMEM = -25,            /**< out of memory */
    REDS_ERR_POOL_EXHAUSTED = -26,   /**< every pooled connection is in use (a ConnectionError) */
    REDS_ERR_BUSY = -27,             /**< BUSY: a script or function is running (a ResponseError) */
    REDS_ERR_REPLY_TOO_LARGE = -28,  /**< a reply beyond max_reply_bytes or max_reply_elements
                                          (an InvalidResponse); the connection is closed */
    REDS_ERR__LAST = -28
} reds_err;

/** True when `err` is `kind` or one of its descendants, as Python's
 *  isinstance(): reds_err_is(REDS_ERR_AUTH, REDS_ERR_CONNECTION) is true. */
bool reds_err_is(reds_err err, reds_err kind);

/** The redis-py name of a code ("ConnectionError"); never NULL. */
const char *reds_err_name(reds_err err);

/** The message of the last error on this thread: the server's text, the
 *  command name and, in pipelines, the position. Never contains a password.
 *  Valid until the next reds call on this thread; "" when none. */
const char *reds_errmsg(void);

/** Kinds of node in a generic reply tree (same numbers as hiredis). */
typedef enum reds_reply_type {
    REDS_REPLY_STRING = 1,
    REDS_REPLY_ARRAY = 2,
    REDS_REPLY_INTEGER = 3,
    REDS_REPLY_NIL = 4,
    REDS_REPLY_STATUS = 5,
    REDS_REPLY_ERROR = 6
} reds_reply_type;

/** A generic reply tree, for EVAL, FCALL, reds_execute_command() and
 *  anything truly dynamic. Strings are NUL-terminated. */
typedef struct reds_reply {
    reds_reply_type type;
    size_t len;                 /**< bytes of `str`, or elements of an array */
    const char *str;            /**< STRING, STATUS and ERROR */
    int64_t integer;            /**< INTEGER */
    struct reds_reply *element; /**< ARRAY: `len` elements */
} reds_reply;

/** The `i`-th element of an array reply, or NULL when `r` is not an array
 *  or `i` is out of range. */
const reds_reply *reds_reply_at(const reds_reply *r, size_t i);

/** The number of elements of an array reply; 0 for any other node and
 *  for NULL. */
size_t reds_reply_count(const reds_reply *r);

/** True for a nil reply (a Lua `false` or `nil` from a script) and for
 *  NULL. */
bool reds_reply_is_nil(const reds_reply *r);

/** Typed views of a reply node: REDS_OK, or REDS_ERR_INVALID_RESPONSE when
 *  the node has another type (`*out` is then untouched). */
reds_err reds_reply_int(const reds_reply *r, int64_t *out);
reds_err reds_reply_str(const reds_reply *r, reds_str *out);
reds_err reds_reply_double(const reds_reply *r, double *out);

/** A list of strings; a nil element has `ptr == NULL`. */
typedef struct reds_strlist {
    size_t count;
    reds_str *items;
} reds_strlist;

/** One field/value (or member/score as text) pair. */
typedef struct reds_pair {
    reds_str key;
    reds_str value;
} reds_pair;

/** Flat pairs (HGETALL, CONFIG GET, HRANDFIELD WITHVALUES), in reply order. */
typedef struct reds_map {
    size_t count;
    reds_pair *items;
} reds_map;

/** The value stored under `key`, or NULL. Linear: maps are replies. */
const reds_str *reds_map_get(const reds_map *map, reds_str key);

/** A list of integers (SMISMEMBER as 0/1, SCRIPT EXISTS, ...). */
typedef struct reds_intlist {
    size_t count;
    int64_t *items;
} reds_intlist;

/** A list of integers any of which may be nil (BITFIELD, where OVERFLOW
 *  FAIL answers nil for an update it refused): `.set` is false there. */
typedef struct reds_opt_intlist {
    size_t count;
    reds_opt_i64 *items;
} reds_opt_intlist;

/** A list of numbers any of which may be nil (ZMSCORE: a member that is
 *  not in the sorted set): `.set` is false there. */
typedef struct reds_doublelist {
    size_t count;
    reds_opt_f64 *items;
} reds_doublelist;

/** A list of booleans (SCRIPT EXISTS: one per SHA1 asked about). */
typedef struct reds_boollist {
    size_t count;
    bool *items;
} reds_boollist;

/** One section of INFO: its name as the `# Name` header gives it
 *  ("Server", "Keyspace"; empty for lines before any header) and its
 *  `key:value` lines, in order. Values stay text ("db0" holds
 *  "keys=1,expires=0,avg_ttl=0"). */
typedef struct reds_info_section {
    reds_str name;
    reds_map fields;
} reds_info_section;

/** INFO, parsed: every section in reply order. */
typedef struct reds_info_reply {
    size_t count;
    reds_info_section *sections;
} reds_info_reply;

/** The value of the INFO field `key` ("redis_version"), whatever its
 *  section, or NULL. Borrowed from `info`. */
const reds_str *reds_info_get(const reds_info_reply *info, reds_str key);

/** Which role ROLE reports. */
typedef enum reds_role_type {
    REDS_ROLE_MASTER = 1,
    REDS_ROLE_REPLICA = 2,
    REDS_ROLE_SENTINEL = 3
} reds_role_type;

/** A replica as its primary's ROLE lists it. */
typedef struct reds_role_replica {
    reds_str ip;
    int64_t port;
    int64_t offset; /**< the replication offset it acknowledged */
} reds_role_replica;

/** The reply of ROLE. `type` says which of `master`, `replica` and
 *  `sentinel` is filled; the others are zero. */
typedef struct reds_role_reply {
    reds_role_type type;
    reds_str name; /**< the role as sent: "master", "slave" or "sentinel" */
    struct {
        int64_t offset; /**< the primary's replication offset */
        size_t nreplicas;
        reds_role_replica *replicas; /**< the connected replicas */
    } master;
    struct {
        reds_str master_host;
        int64_t master_port;
        reds_str state; /**< "connect", "connecting", "sync", "connected" or "handshake" */
        int64_t offset; /**< data received from the primary so far; -1 before the first sync */
    } replica;
    struct {
        reds_strlist masters; /**< the names of the primaries it monitors */
    } sentinel;
} reds_role_reply;

/** Release any owned result a reds function gave you. NULL is ignored. */
void reds_free(void *result);

/** Zeroed memory that reds_free() releases: for response callbacks that
 *  fill an owned result. NULL when out of memory. */
void *reds_alloc(size_t size);

REDS_API_END
#ifdef __cplusplus
}
#endif
#endif
