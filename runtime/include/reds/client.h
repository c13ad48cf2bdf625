/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: clients, connections and generic command execution.
 *
 * A reds_client is opaque and thread-safe. Each command borrows a
 * connection from the client's pool for exactly one round trip and gives
 * it back, so any number of threads can share one client. Every generated
 * command function (see <reds/commands.h>) takes a reds_client *, whatever
 * the client routes to.
 */
#ifndef REDS_CLIENT_H
#define REDS_CLIENT_H

#include <reds/hooks.h>
#include <reds/types.h>

#ifdef __cplusplus
extern "C" {
#endif
REDS_API_BEGIN

typedef struct reds_client reds_client;

/** Use in a timeout field to wait forever; 0 always means "the default". */
#define REDS_NO_TIMEOUT (-1)
/** Use in keepalive_s to turn TCP keepalive off. */
#define REDS_DISABLED (-1)

/** How much of a TLS server's certificate is checked. */
typedef enum reds_tls_verify {
    /** The default: the chain up to a trusted CA, and the host name (or
     *  IP address) the client connects to, or tls_server_name. */
    REDS_TLS_VERIFY_FULL = 0,
    /** The chain only, any name (redis-py's ssl_check_hostname=False). */
    REDS_TLS_VERIFY_CHAIN = 1,
    /** Nothing: any certificate, any name (ssl_cert_reqs=none). Encrypts
     *  but lets a man in the middle read everything. Tests only. */
    REDS_TLS_VERIFY_NONE_INSECURE = 2
} reds_tls_verify;

/** What the server reports to a client's cache (reds_options.cache_mode;
 *  README.md, "Client-side caching"). */
typedef enum reds_cache_mode {
    /** The server remembers the keys each connection of the client read
     *  and reports a change of any of them (CLIENT TRACKING ON). */
    REDS_CACHE_DEFAULT = 0,
    /** The server reports every change of a key that starts with one of
     *  cache_prefixes (of any key, with none), read or not (CLIENT
     *  TRACKING ON BCAST PREFIX ...). Only such keys are cached. */
    REDS_CACHE_BROADCAST = 1
} reds_cache_mode;

/** How to reach and set up a server. Zero-initialise for the defaults:
 *  `reds_options o = {0}; o.port = 6380;`. Strings are copied. README.md
 *  has a table of every default. */
typedef struct reds_options {
    const char *host;        /**< default "127.0.0.1" */
    int port;                /**< default 6379 */
    const char *unix_path;   /**< a unix socket; when set, host/port are unused */
    const char *username;    /**< ACL user for AUTH (needs password) */
    const char *password;    /**< AUTH on connect when set */
    int db;                  /**< SELECT on connect when non-zero */
    const char *client_name; /**< CLIENT SETNAME on connect when set */
    int connect_timeout_ms;  /**< connect and handshake; default 5000 */
    int socket_timeout_ms;   /**< each read/write; default REDS_NO_TIMEOUT */
    int keepalive_s;         /**< TCP keepalive idle time; default 60 */
    int max_connections;     /**< pool size cap; default 0 = unlimited
                                  (50 when pool_blocking) */
    /* TLS (rediss://). Every path is a PEM file read when the client is
     * created. */
    bool tls;                    /**< TLS over TCP; default off */
    reds_tls_verify tls_verify;  /**< default REDS_TLS_VERIFY_FULL */
    const char *tls_ca_file;     /**< trusted CAs (PEM bundle); default the system's */
    const char *tls_ca_dir;      /**< trusted CAs (a c_rehash directory) */
    const char *tls_cert_file;   /**< client certificate (chain), for servers that ask */
    const char *tls_key_file;    /**< its unencrypted key; default tls_cert_file */
    const char *tls_server_name; /**< SNI and the name verified; default host */
    /* Pool. */
    bool pool_blocking;  /**< wait for a connection when all are in use,
                              rather than fail (BlockingConnectionPool) */
    int pool_timeout_ms; /**< how long; default 20000; REDS_NO_TIMEOUT forever */
    /* Health checks and retries. */
    int health_check_interval_ms; /**< PING a connection idle longer than this
                                       before using it; default 0 = never */
    int retries;                  /**< extra attempts of a command that is safe to
                                       repeat (see README); default 0 */
    int retry_backoff_base_ms;    /**< backoff before attempt n: random up to
                                       min(cap, base * 2^n); default 8 */
    int retry_backoff_cap_ms;     /**< default 512 */
    bool retry_writes;            /**< also retry commands that may have run
                                       already (they may run twice); default off */
    /* Bounds on what a server can make a command cost. */
    int command_timeout_ms;    /**< the whole of one command: its write and its
                                    complete reply, however slowly the reply
                                    trickles in (socket_timeout_ms bounds each
                                    read); default REDS_NO_TIMEOUT */
    size_t max_reply_bytes;    /**< the largest reply accepted, in bytes on the
                                    wire; default 1 GiB (twice the server's
                                    largest value, proto-max-bulk-len) */
    size_t max_reply_elements; /**< the most elements (at every level) one reply
                                    may hold; default 16,777,216 */
    /* Observability and credentials (<reds/hooks.h>). */
    const reds_hooks *hooks;         /**< called for every command and connection
                                          event; copied, its udata must outlive
                                          the client; default none */
    reds_credentials_fn credentials; /**< asked for the username and password at
                                          each connect; overrides username and
                                          password; default none */
    void *credentials_udata;         /**< passed to credentials; must outlive the
                                          client and its handles */
    /* Auto-pipelining (README, "Auto-pipelining"): threads calling one
     * client at the same time share its connections, their commands
     * leaving together in one write. Commands that block or change the
     * connection (BLPOP, WAIT, SELECT...) keep connections of their own. */
    int autopipeline;             /**< 1 on, REDS_DISABLED off; default 0 = on */
    int autopipeline_connections; /**< connections shared that way (a thread keeps
                                       to one); default 2, at most 256 */
    int autopipeline_max_batch;   /**< most commands one write carries (the bound
                                       on commands in flight on a connection);
                                       default 128 */
    /* Client-side caching (<reds/cache.h>): pooled single-server clients
     * only; a cluster, ring or Sentinel client refuses it. */
    size_t cache_max_bytes;            /**< cache replies of cacheable reads in the process,
                                            up to this many bytes (least recently used
                                            evicted first); default 0 = no cache */
    int cache_ttl_ms;                  /**< drop an entry this old even if the server
                                            did not invalidate it; default 0 = never */
    reds_cache_mode cache_mode;        /**< default REDS_CACHE_DEFAULT */
    const char *const *cache_prefixes; /**< REDS_CACHE_BROADCAST: the key prefixes
                                            tracked (copied); none = every key */
    size_t cache_nprefixes;            /**< entries of cache_prefixes */
} reds_options;

/** A pool's counters (reds_pool_get_stats()). */
typedef struct reds_pool_stats {
    size_t created;         /**< connections opened since the client was made
                                 (in a forked child: since the fork) */
    size_t in_use;          /**< lent to a command or a pipeline right now */
    size_t idle;            /**< open and waiting in the pool */
    size_t waiting;         /**< threads waiting for one (blocking pools) */
    size_t max_connections; /**< the cap; 0 = unlimited */
    /** Auto-pipelining: writes that carried shared commands, and how many
     *  commands they carried (commands / writes is the batching). */
    uint64_t shared_writes, shared_commands;
} reds_pool_stats;

/** Create a client. Nothing is connected until the first command.
 *  `opts` may be NULL for every default. The caller owns `*out` and
 *  releases it with reds_client_free(). */
reds_err reds_client_new(const reds_options *opts, reds_client **out);

/** Close every connection and release the client. NULL is ignored. The
 *  caller must ensure no thread is still using it. */
void reds_client_free(reds_client *client);

/** A handle on one connection of its own, for commands that change the
 *  state of a connection (SELECT, AUTH, CLIENT SETNAME, CLIENT TRACKING,
 *  ...), which a pooled client refuses. It connects with `client`'s
 *  options and stays usable from any thread (calls are serialised). If
 *  the connection drops it reconnects with those options, so state set
 *  by commands is lost. The caller owns `*out`; reds_client_free() it. */
reds_err reds_client_dedicated(reds_client *client, reds_client **out);

/** Fill `out` with the counters of `client`'s pool (of its parent's, for
 *  a pipeline). REDS_ERR_DATA for a dedicated connection, which has no
 *  pool. */
reds_err reds_pool_get_stats(reds_client *client, reds_pool_stats *out);

/** Close every idle connection of `client`'s pool now, and each one in
 *  use as soon as it comes back (redis-py's ConnectionPool.disconnect()).
 *  The pool stays usable: the next command connects afresh. */
reds_err reds_pool_disconnect(reds_client *client);

/** Send any command, binary-safe: argv[0] is the command name, and a
 *  container's subcommand is argv[1] ("CLIENT", "LIST"). `*out` receives
 *  the reply as a generic tree the caller owns (reds_free()), or, when a
 *  response callback is set for the command, whatever that callback
 *  fills. `out` may be NULL to discard the reply. */
reds_err reds_execute_command(reds_client *client, size_t argc, const reds_str *argv, void *out);

/** A reply converter: fill `out` from `reply` (borrowed for the call).
 *  Return REDS_OK, or an error code (REDS_ERR_INVALID_RESPONSE for a
 *  reply of the wrong shape) after reds_set_error(). */
typedef reds_err (*reds_response_callback)(const reds_reply *reply, void *out, void *udata);

/** Replace how `client` converts the replies of `command` ("GET",
 *  "CLIENT LIST"), as redis-py's set_response_callback. The callback then
 *  serves both the typed function, whose `out` type it must fill, and
 *  reds_execute_command(). NULL `callback` restores the default. Set
 *  callbacks before sharing the client between threads. */
reds_err reds_set_response_callback(reds_client *client, const char *command,
                                    reds_response_callback callback, void *udata);

/** Record an error for reds_errmsg() (printf format) and return `err`;
 *  for response callbacks and extensions. */
reds_err reds_set_error(reds_err err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

REDS_API_END
#ifdef __cplusplus
}
#endif
#endif
