/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: publish/subscribe, modelled on redis-py's PubSub.
 *
 * A reds_pubsub handle has a connection of its own (opened with its
 * client's options, never taken from the pool). It remembers every
 * channel, pattern and shard channel it is subscribed to; when the
 * connection drops (network error, CLIENT KILL, server restart, a failed
 * health check) it reconnects, subscribes to all of them again and
 * reports the gap as a REDS_PUBSUB_RECONNECTED message, since whatever was
 * published meanwhile is lost.
 *
 * Messages are read in one of three ways: reds_pubsub_get_message() (poll,
 * or wait up to a timeout), reds_pubsub_listen() (a blocking loop) or
 * reds_pubsub_run() (a background thread that calls handlers).
 *
 * Thread safety. One thread reads a handle at a time: get_message(),
 * listen() and the background thread exclude each other (the loser gets
 * REDS_ERR_PUBSUB). Subscribing, unsubscribing, reds_pubsub_ping(),
 * reds_pubsub_subscribed() and reds_pubsub_stop() may be called from any
 * thread at any time, including while another thread reads and from inside
 * a handler. reds_pubsub_close() must not run concurrently with any other
 * call on the handle (it stops the background thread itself).
 *
 * PUBLISH, SPUBLISH and PUBSUB CHANNELS/NUMSUB/NUMPAT/... are ordinary
 * commands on a reds_client (reds_publish(), reds_pubsub_numsub(), ...).
 */
#ifndef REDS_PUBSUB_H
#define REDS_PUBSUB_H

#include <reds/client.h>
#include <reds/types.h>

#ifdef __cplusplus
extern "C" {
#endif
REDS_API_BEGIN

typedef struct reds_pubsub reds_pubsub;

/** What a message is. */
typedef enum reds_pubsub_kind {
    REDS_PUBSUB_SUBSCRIBE = 1, /**< SUBSCRIBE confirmed for `channel` */
    REDS_PUBSUB_UNSUBSCRIBE,   /**< UNSUBSCRIBE confirmed (`channel` NULL: none was subscribed) */
    REDS_PUBSUB_PSUBSCRIBE,    /**< PSUBSCRIBE confirmed; the pattern is in `channel` */
    REDS_PUBSUB_PUNSUBSCRIBE,  /**< PUNSUBSCRIBE confirmed; the pattern is in `channel` */
    REDS_PUBSUB_SSUBSCRIBE,    /**< SSUBSCRIBE confirmed for shard channel `channel` */
    REDS_PUBSUB_SUNSUBSCRIBE,  /**< SUNSUBSCRIBE confirmed */
    REDS_PUBSUB_MESSAGE,       /**< `data` was published to `channel` */
    REDS_PUBSUB_PMESSAGE,      /**< `data` published to `channel`, which matched `pattern` */
    REDS_PUBSUB_SMESSAGE,      /**< `data` was published to shard channel `channel` */
    REDS_PUBSUB_PONG,          /**< the reply to reds_pubsub_ping(); `data` is its message */
    /** The connection dropped and was replaced: everything was subscribed
     *  again, but messages published meanwhile may have been lost. `data`
     *  is why it dropped, `count` how many subscriptions were restored. */
    REDS_PUBSUB_RECONNECTED
} reds_pubsub_kind;

/** "subscribe", "pmessage", ..., "reconnected"; "unknown" otherwise. */
const char *reds_pubsub_kind_name(reds_pubsub_kind kind);

/** One message. Absent fields have `ptr == NULL`; present ones are
 *  NUL-terminated (but binary-safe: use `len`). */
typedef struct reds_pubsub_message {
    reds_pubsub_kind kind;
    reds_str channel; /**< the channel, pattern or shard channel it concerns */
    reds_str pattern; /**< PMESSAGE only: the pattern that matched */
    reds_str data;    /**< the payload (MESSAGE, PMESSAGE, SMESSAGE, PONG, RECONNECTED) */
    /** The (un)subscribe kinds: subscriptions the connection has now, as
     *  the server counts them (channels + patterns for SUBSCRIBE,
     *  UNSUBSCRIBE, PSUBSCRIBE and PUNSUBSCRIBE; shard channels for
     *  SSUBSCRIBE and SUNSUBSCRIBE). RECONNECTED: subscriptions restored. */
    int64_t count;
    /** A MESSAGE whose payload is an array rather than a string: its
     *  elements, `data` being empty. CLIENT TRACKING's invalidations on
     *  `__redis__:invalidate` carry the keys invalidated this way (and a
     *  nil payload, `data.ptr` NULL, when every key is: FLUSHALL). NULL
     *  and 0 otherwise. */
    const reds_str *items;
    size_t nitems;
} reds_pubsub_message;

/** Called with a message that is borrowed for the duration of the call
 *  (copy what you keep). Runs on whichever thread reads the handle. It
 *  may subscribe, unsubscribe, ping and call reds_pubsub_stop(), but not
 *  read the handle or close it. */
typedef void (*reds_pubsub_handler)(reds_pubsub *ps, const reds_pubsub_message *msg, void *udata);

/** Options of a handle; zero-initialise for the defaults. */
typedef struct reds_pubsub_options {
    /** Drop (un)subscribe confirmations instead of delivering them. */
    bool ignore_subscribe_messages;
    /** When non-zero: while a read waits and the connection has been
     *  silent this long, send a PING; if its reply does not come within
     *  the same time, the connection is declared dead and replaced. Health
     *  checks only run inside reads, so read more often than this. */
    int health_check_interval_ms;
    /** Receives every REDS_PUBSUB_RECONNECTED message (which is then not
     *  delivered any other way). NULL: it is delivered like a message
     *  without a handler. */
    reds_pubsub_handler on_reconnect;
    void *on_reconnect_udata;
} reds_pubsub_options;

/** A pub/sub handle for `client`'s server, with a copy of its options; it
 *  connects at its first subscription or ping. `opts` may be NULL. The
 *  caller owns `*out` and releases it with reds_pubsub_close(). */
reds_err reds_pubsub_new(reds_client *client, const reds_pubsub_options *opts, reds_pubsub **out);

/** Stop the background thread if one runs, close the connection and
 *  release everything. NULL is ignored. */
void reds_pubsub_close(reds_pubsub *ps);

/** SUBSCRIBE to `count` (>= 1) channels, binary-safe. Messages on them go
 *  to `handler` (with `udata`) when it is not NULL, and are then not
 *  returned by reds_pubsub_get_message(); subscribing again replaces the
 *  handler. The command is sent at once; its confirmations arrive as
 *  messages. If the connection is down, the channels are recorded anyway
 *  and subscribed when it comes back; the connection error is returned,
 *  unless a reader (get_message, listen, the thread) is repairing the
 *  connection, which then reports its own errors. */
reds_err reds_pubsub_subscribe(reds_pubsub *ps, const reds_str *channels, size_t count,
                               reds_pubsub_handler handler, void *udata);
/** PSUBSCRIBE to `count` (>= 1) glob-style patterns; as reds_pubsub_subscribe(). */
reds_err reds_pubsub_psubscribe(reds_pubsub *ps, const reds_str *patterns, size_t count,
                                reds_pubsub_handler handler, void *udata);
/** SSUBSCRIBE (Redis 7) to `count` (>= 1) shard channels; as reds_pubsub_subscribe(). */
reds_err reds_pubsub_ssubscribe(reds_pubsub *ps, const reds_str *channels, size_t count,
                                reds_pubsub_handler handler, void *udata);

/** UNSUBSCRIBE from `count` channels, or from all of them when `count` is
 *  0. They are forgotten at once (a reconnect will not restore them);
 *  their handlers still receive messages already in flight until the
 *  server confirms. */
reds_err reds_pubsub_unsubscribe(reds_pubsub *ps, const reds_str *channels, size_t count);
/** PUNSUBSCRIBE `count` patterns, or all of them when `count` is 0. */
reds_err reds_pubsub_punsubscribe(reds_pubsub *ps, const reds_str *patterns, size_t count);
/** SUNSUBSCRIBE `count` shard channels, or all of them when `count` is 0. */
reds_err reds_pubsub_sunsubscribe(reds_pubsub *ps, const reds_str *channels, size_t count);

/** True while the handle is subscribed to anything, or still waits for
 *  the confirmation of an unsubscription (redis-py's `subscribed`). */
bool reds_pubsub_subscribed(reds_pubsub *ps);

/** The CLIENT ID of the handle's connection, connecting first when it
 *  has none: what `CLIENT TRACKING ON REDIRECT <id>` names to send
 *  invalidations here. A new connection (after a drop, announced by a
 *  REDS_PUBSUB_RECONNECTED message) has a new id: redirect again. */
reds_err reds_pubsub_connection_id(reds_pubsub *ps, int64_t *out);

/** Send PING with `message` (may be empty); the reply arrives as a
 *  REDS_PUBSUB_PONG message whose `data` is `message`. */
reds_err reds_pubsub_ping(reds_pubsub *ps, reds_str message);

/** Read at most one message, waiting up to `timeout_ms` for it: 0 polls
 *  and returns at once, REDS_NO_TIMEOUT waits until one arrives. `*out`
 *  is the message, owned by the caller (release with reds_free()), or
 *  NULL when none came in time, or when the one read was given to a
 *  handler or ignored. A dropped connection is replaced within the call
 *  (one attempt) when something is subscribed; the RECONNECTED message
 *  comes before anything else the new connection brings. If the attempt
 *  fails, or nothing was subscribed, the error is returned (and the next
 *  call tries again). */
reds_err reds_pubsub_get_message(reds_pubsub *ps, int timeout_ms, reds_pubsub_message **out);

/** The blocking loop: read messages and call `handler` (borrowed message)
 *  for every one that has no handler of its own, until the handle is
 *  subscribed to nothing any more (unsubscribe everything, from the
 *  handler or another thread, to end it). Returns REDS_OK then, or the
 *  error that a reconnect could not repair. */
reds_err reds_pubsub_listen(reds_pubsub *ps, reds_pubsub_handler handler, void *udata);

/** Receives errors of the background thread: the code and reds_errmsg()
 *  of that thread. The thread carries on (reconnecting, with a growing
 *  pause) unless the handler calls reds_pubsub_stop(). */
typedef void (*reds_pubsub_error_handler)(reds_pubsub *ps, reds_err err, const char *message,
                                          void *udata);

/** Options of the background thread; zero-initialise for the defaults. */
typedef struct reds_pubsub_thread_options {
    /** How long one wait for a message lasts (redis-py's sleep_time), and
     *  the first pause after an error; default 100. stop() does not wait
     *  for it: it wakes the thread at once. */
    int poll_ms;
    /** Messages with no handler of their own (confirmations unless
     *  ignored, pongs, RECONNECTED without on_reconnect). NULL: such
     *  messages are dropped, and then every subscription must have a
     *  handler (as redis-py's run_in_thread demands). */
    reds_pubsub_handler on_message;
    void *udata;
    reds_pubsub_error_handler on_error; /**< NULL: errors are only retried */
    void *error_udata;
} reds_pubsub_thread_options;

/** Start a background thread that reads the handle and dispatches every
 *  message to its handler. REDS_ERR_PUBSUB when a thread already runs,
 *  another thread is reading, or (without `on_message`) a subscription
 *  has no handler. `opts` may be NULL. */
reds_err reds_pubsub_run(reds_pubsub *ps, const reds_pubsub_thread_options *opts);

/** Stop the background thread: wake it, let it unsubscribe from
 *  everything (messages that arrive meanwhile still go to handlers), and
 *  join it. The connection stays open for the handle's next use. Called
 *  from a handler on that thread, it only asks the thread to stop (a
 *  later reds_pubsub_stop() or reds_pubsub_close() joins it). REDS_OK
 *  when no thread runs. */
reds_err reds_pubsub_stop(reds_pubsub *ps);

REDS_API_END
#ifdef __cplusplus
}
#endif
#endif
