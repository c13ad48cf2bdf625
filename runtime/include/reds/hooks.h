/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: hooks for metrics and tracing, and a credentials callback.
 *
 * Set `reds_options.hooks` and every command a client runs is reported
 * once, when it completes (on_command), and so is every connection
 * event: connected, failed to connect, closed and why, waited for a
 * pooled connection, followed a MOVED/ASK, retried (on_connection).
 * With no hooks set a command pays one predictable branch and no clock
 * read (README, "Metrics and tracing", has the measured cost).
 *
 * The fields are named after what they are; each says which attribute of
 * the OpenTelemetry semantic conventions for databases (Redis) it
 * carries, so that a hook can turn an event into a span or a metric
 * point as is. Every event has db.system.name = "redis".
 *
 * Set `reds_options.credentials` and each new connection asks it for the
 * username and password to AUTH with: passwords rotate without a new
 * client.
 */
#ifndef REDS_HOOKS_H
#define REDS_HOOKS_H

#include <reds/types.h>

#ifdef __cplusplus
extern "C" {
#endif
REDS_API_BEGIN

/** One command, reported once when it is over, successful or not.
 *
 *  A command is what the caller asked for: its duration covers routing,
 *  waiting for a pooled connection, connecting, every retry and
 *  redirection and their backoff, up to the reply being converted
 *  (as OpenTelemetry's database spans do). A pipeline or transaction is
 *  one event for the batch ("PIPELINE" or "MULTI", `batch_size` commands):
 *  its commands share one write and one stream of replies, so there is no
 *  duration of its own to give each of them; per-command outcomes are
 *  reds_pipeline_result()'s.
 *
 *  Strings are borrowed for the call only. */
typedef struct reds_command_event {
    /** The command as the command table names it ("GET", "CLIENT LIST"),
     *  for one the table does not know its first word or two (never an
     *  argument), "PIPELINE" or "MULTI" for a batch.
     *  OpenTelemetry: db.operation.name. */
    const char *command;
    /** Where it went: "host:port", "[v6]:port", or a unix socket's path.
     *  The last server written to (or tried), for one that went to
     *  several (a cluster command on every node, a cluster pipeline). */
    const char *address;
    /** The host name or address as configured (or as a Sentinel or the
     *  cluster named it), or the socket's path. OpenTelemetry:
     *  server.address (and network.peer.address). */
    const char *host;
    /** The TCP port; 0 for a unix socket. OpenTelemetry: server.port
     *  (and network.peer.port). */
    int port;
    /** The database the connection selected on connect (`db`; a SELECT
     *  sent on a dedicated handle is not followed). OpenTelemetry:
     *  db.namespace, as a string. */
    int db;
    /** When it started: CLOCK_REALTIME, nanoseconds since the Unix epoch
     *  (a span's start time). */
    int64_t start_unix_ns;
    /** How long it took, measured on CLOCK_MONOTONIC. OpenTelemetry: the
     *  value of the db.client.operation.duration histogram (in seconds
     *  there: divide by 1e9). */
    uint64_t duration_ns;
    /** Bytes written to the server for it, and read from it: its RESP
     *  request and reply, summed over every attempt (an ASKING sent
     *  before it included). Connecting and its AUTH/SELECT are not. */
    uint64_t bytes_out, bytes_in;
    /** REDS_OK, or what the call returned. OpenTelemetry: error.type =
     *  reds_err_name(outcome) ("TimeoutError", "ResponseError") when not
     *  REDS_OK. */
    reds_err outcome;
    /** The prefix of the server's error reply ("ERR", "WRONGTYPE",
     *  "NOSCRIPT", "MOVED") when the outcome is one; NULL otherwise (a
     *  timeout, a refused connection). OpenTelemetry:
     *  db.response.status_code. */
    const char *status_code;
    /** reds_errmsg() of the outcome (never a password); NULL on success. */
    const char *error_text;
    /** Tries made: 1, plus one per retry and per redirection. */
    unsigned attempts;
    /** Commands in the batch for a pipeline or transaction; 0 for a
     *  single command. OpenTelemetry: db.operation.batch.size. */
    size_t batch_size;
} reds_command_event;

/** What happened to a connection (reds_connection_event.kind). CONNECT
 *  minus CLOSE events is the number of open connections (OpenTelemetry:
 *  db.client.connection.count); reds_pool_get_stats() splits a pool's
 *  into idle and in use (its db.client.connection.state). */
typedef enum reds_connection_event_kind {
    /** A connection is open and set up (TLS, AUTH, SELECT...):
     *  `duration_ns` took it. OpenTelemetry: the value of the
     *  db.client.connection.create_time histogram. */
    REDS_EVENT_CONNECT = 1,
    /** Connecting failed: `error`, `error_text`, after `duration_ns`. */
    REDS_EVENT_CONNECT_FAILED,
    /** A connection was closed, for `reason` (with `error`, the code of
     *  the failure that made it unusable, when there was one). */
    REDS_EVENT_CLOSE,
    /** A command waited `duration_ns` for a connection of a blocking
     *  pool; `error` REDS_ERR_POOL_EXHAUSTED when none came in time.
     *  OpenTelemetry: db.client.connection.wait_time (and
     *  db.client.connection.timeouts). */
    REDS_EVENT_POOL_WAIT,
    /** A cluster node answered MOVED or ASK (`error` REDS_ERR_MOVED or
     *  REDS_ERR_ASK) for `slot`: the command goes to `target`, `port`
     *  `target_port`, next. */
    REDS_EVENT_REDIRECT,
    /** A command failed with `error` and runs again: `attempt` is the
     *  number of the try about to start (2 for the first retry). Also a
     *  cluster's TRYAGAIN and CLUSTERDOWN. */
    REDS_EVENT_RETRY
} reds_connection_event_kind;

/** Why a connection was closed (REDS_EVENT_CLOSE). */
typedef enum reds_close_reason {
    REDS_CLOSE_ERROR = 1,       /**< a read or write failed: reset, closed mid-reply */
    REDS_CLOSE_TIMEOUT,         /**< a read, a write or the whole command timed out */
    REDS_CLOSE_PROTOCOL,        /**< the server sent what is not RESP */
    REDS_CLOSE_REPLY_TOO_LARGE, /**< beyond max_reply_bytes or max_reply_elements */
    REDS_CLOSE_STALE,           /**< found closed by the server while idle (its
                                     restart, its idle timeout, CLIENT KILL) */
    REDS_CLOSE_UNREAD_DATA,     /**< bytes nobody asked for were waiting on it */
    REDS_CLOSE_SERVER_CLOSED,   /**< the server closes it: after QUIT, or when it
                                     refuses the connection (max clients) */
    REDS_CLOSE_HEALTH_CHECK,    /**< its health-check PING failed */
    REDS_CLOSE_MOVED,           /**< its server is no longer the one wanted (a
                                     Sentinel failover, a demoted master) */
    REDS_CLOSE_POOL_DISCONNECT, /**< reds_pool_disconnect() */
    REDS_CLOSE_CLIENT_FREED,    /**< its client or handle was freed */
    REDS_CLOSE_FORK             /**< inherited across fork(): the child closed its
                                     copy of the descriptor, the parent's is intact */
} reds_close_reason;

/** One connection event. Fields a kind does not use are 0 or NULL.
 *  Strings are borrowed for the call only. */
typedef struct reds_connection_event {
    reds_connection_event_kind kind;
    /** The server: as reds_command_event's address, host and port
     *  (OpenTelemetry: server.address, server.port). For POOL_WAIT, the
     *  pool's configured server (empty for a Sentinel-routed pool, which
     *  has none of its own). */
    const char *address;
    const char *host;
    int port;
    int db; /**< OpenTelemetry: db.namespace */
    /** CONNECT, CONNECT_FAILED: connecting; POOL_WAIT: waiting. */
    uint64_t duration_ns;
    /** CONNECT: this connection replaces one the client lost (closed for
     *  an error, by the server, or found stale), rather than adding one. */
    bool reconnect;
    reds_close_reason reason; /**< CLOSE */
    /** CONNECT_FAILED, RETRY: the failure; CLOSE: what broke it, or
     *  REDS_OK; POOL_WAIT: REDS_ERR_POOL_EXHAUSTED or REDS_OK; REDIRECT:
     *  REDS_ERR_MOVED or REDS_ERR_ASK. OpenTelemetry: error.type =
     *  reds_err_name(error). */
    reds_err error;
    /** CONNECT_FAILED, RETRY: reds_errmsg() of the failure. */
    const char *error_text;
    /** RETRY, REDIRECT: the command concerned (as reds_command_event's). */
    const char *command;
    /** RETRY: the try about to start, from 2. */
    unsigned attempt;
    /** REDIRECT: the hash slot, and where it is served now. */
    int slot;
    const char *target;
    int target_port;
} reds_connection_event;

/** Callbacks for metrics and tracing (reds_options.hooks). Either may be
 *  NULL. reds copies the struct when the client is made; `udata` must
 *  stay valid until the client and every handle made from it (pipelines,
 *  dedicated connections, pub/sub, MONITOR) are freed.
 *
 *  Hooks run on the thread that caused the event, while the command is
 *  in progress (pub/sub and MONITOR handles report their connection
 *  events too), and on many threads at once when threads share a client:
 *  they must be thread-safe, and quick. A hook must not call the client
 *  (or a handle of it) whose event it receives. */
typedef struct reds_hooks {
    void (*on_command)(const reds_command_event *ev, void *udata);
    void (*on_connection)(const reds_connection_event *ev, void *udata);
    void *udata;
} reds_hooks;

/** What a credentials callback fills: see reds_credentials_set(). */
typedef struct reds_credentials reds_credentials;

/** Asked for the username and password each time a connection is made,
 *  before AUTH (reds_options.credentials), on the thread that connects:
 *  call reds_credentials_set() and return REDS_OK, or return an error
 *  (with reds_set_error() for the message), and connecting fails with
 *  REDS_ERR_AUTH. Setting nothing sends no AUTH. It must be thread-safe. */
typedef reds_err (*reds_credentials_fn)(reds_credentials *cred, void *udata);

/** Give the credentials for the connection being made: `password` (NULL:
 *  no AUTH), and `username` (NULL: the default user; needs a password).
 *  Both are copied; reds wipes its copies once AUTH is sent. Calling it
 *  again replaces them. `cred` is valid only during the callback it was
 *  passed to; REDS_ERR_DATA for NULL, REDS_ERR_NOMEM. */
reds_err reds_credentials_set(reds_credentials *cred, const char *username, const char *password);

REDS_API_END
#ifdef __cplusplus
}
#endif
#endif
