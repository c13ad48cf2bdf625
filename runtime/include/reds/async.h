/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: the non-blocking client, for programs that run an event loop.
 *
 * An async handle is a reds_client that never blocks: every generated
 * command function (<reds/commands.h>), reds_execute_command() and the
 * response callbacks work on it unchanged. A command called on it is
 * packed and queued, and the call returns at once; the reply is
 * converted into the command's typed output and a completion callback
 * runs, from the event loop, with the command's reds_err, that output
 * and a pointer of yours. Commands queued in one loop iteration leave in
 * one write; any number may be in flight, answered in order.
 *
 * How a completion reaches a generated call. Prototypes stay as they are
 * (one set of command functions for every mode, no second copy of every
 * wrapper): the completion is set on the handle just before the call,
 * and that call takes it. The output pointer is the caller's until the
 * completion runs, so it points at memory that lives that long, usually
 * a field of the request the user pointer names:
 *
 *     struct get_req { reds_str *value; ... };
 *     static void on_get(reds_client *c, reds_err err, void *out, void *udata)
 *     {
 *         struct get_req *req = udata;   // out == &req->value
 *         ...
 *         reds_free(req->value);
 *         free(req);
 *     }
 *     ...
 *     reds_async_then(c, on_get, req);
 *     reds_get(c, REDS_STR("key"), &req->value);
 *
 * REDS_ASYNC(c, fn, udata, call) does both in one expression. A call
 * that returns an error queued nothing and its completion never runs; a
 * call that returns REDS_OK has its completion run exactly once: with the
 * reply, or with the error that ended it (a timeout, a lost connection,
 * reds_async_disconnect(), reds_client_free()). Without a completion the
 * reply is discarded (`out` is only zeroed by the call, as every command
 * function zeroes its output first).
 *
 * Threads. A handle belongs to the thread of its loop: call it from that
 * thread only (completions run there too).
 *
 * Event loops. The core needs no loop library: a loop is told which
 * descriptor to watch for what, and when to fire a timer, through
 * reds_async_loop; it reports back with reds_async_handle_events() and
 * reds_async_handle_timer(). Adapters for libevent 2, libuv 1 and libev 4
 * are single headers (<reds/async/libevent.h>, <reds/async/libuv.h>,
 * <reds/async/libev.h>) of a few dozen lines each, and reds_poll (below)
 * is a small loop of reds' own for programs that have none.
 *
 * What differs from the blocking client: the handle has one connection
 * of its own (no pool; open several handles for more); commands are not
 * retried (a command fails with the error that ended its connection);
 * Cluster routing is not available on it; host names are resolved with
 * getaddrinfo(), which may block: give an IP address or a unix socket
 * where the loop must never stop. What waits by nature (scan iterators,
 * locks, pipeline handles, reds_pubsub_new(), reds_monitor_new()) is
 * refused on it. Hooks see each command when it completes.
 */
#ifndef REDS_ASYNC_H
#define REDS_ASYNC_H

#include <reds/client.h>
#include <reds/pubsub.h>
#include <reds/types.h>

#ifdef __cplusplus
extern "C" {
#endif
REDS_API_BEGIN

/** A command's completion: `err` is REDS_OK or its error (reds_errmsg()
 *  has the message during the call), `out` the output pointer given to
 *  the command (filled on success; owned results are the caller's, to
 *  release as the command's documentation says), `udata` yours. The
 *  completion may issue commands, reds_async_disconnect() or
 *  reds_client_free() the handle. */
typedef void (*reds_async_fn)(reds_client *client, reds_err err, void *out, void *udata);

/** A non-blocking handle with `opts` (NULL for the defaults; see
 *  reds_options: AUTH, SELECT and CLIENT SETNAME run on every connect,
 *  TLS works as for the blocking client). Nothing is connected until it
 *  is attached to a loop; commands may be queued before. Timeouts:
 *  connect_timeout_ms bounds connecting (and the handshake);
 *  command_timeout_ms, or else socket_timeout_ms, bounds each command
 *  from the moment it is queued until its reply is complete: a command
 *  that times out completes with REDS_ERR_TIMEOUT and the connection is
 *  replaced (its other commands complete with REDS_ERR_CONNECTION).
 *  A lost connection is reopened with backoff (retry_backoff_base_ms
 *  and retry_backoff_cap_ms) until reds_async_disconnect(). The caller
 *  owns `*out` and releases it with reds_client_free(). */
reds_err reds_async_new(const reds_options *opts, reds_client **out);

/** As reds_async_new(), with the options of a redis://, rediss:// or
 *  unix:// URL over `base` (NULL for the defaults); see <reds/url.h>. */
reds_err reds_async_from_url(const char *url, const reds_options *base, reds_client **out);

/** Whether `client` is an async handle. */
bool reds_async_is(const reds_client *client);

/** The completion (and its `udata`) of the next command called on
 *  `client`, which takes it; the command after that has none unless set
 *  again. A call refused before it reaches the handle (an invalid
 *  argument: it returns an error) does not take it: pass that call's
 *  result to reds_async_result(), or use REDS_ASYNC(), which does, so
 *  that no later command takes it instead. */
void reds_async_then(reds_client *client, reds_async_fn fn, void *udata);

/** `err`, the result of a call made after reds_async_then(); when it is an
 *  error, the completion that call did not take is dropped. */
reds_err reds_async_result(reds_client *client, reds_err err);

/** Set the next completion and call: `REDS_ASYNC(c, on_get, req,
 *  reds_get(c, key, &req->value))` is the call's reds_err, and a refused
 *  call's completion never runs nor stays set. `client` is evaluated
 *  more than once. */
#define REDS_ASYNC(client, fn, udata, call)                                                   \
    reds_async_result((client), (reds_async_then((client), (fn), (udata)), (call)))

/** Commands queued and not completed yet. */
size_t reds_async_pending(const reds_client *client);

/** Whether the handle's connection is open and set up. */
bool reds_async_connected(const reds_client *client);

/** Close the connection and stop reconnecting: every pending command
 *  completes with REDS_ERR_CONNECTION first (so each is told once), and
 *  later commands are refused until reds_async_reconnect(). Safe inside
 *  a completion. */
void reds_async_disconnect(reds_client *client);

/** Connect again after reds_async_disconnect(), or at once when waiting
 *  out a reconnect's backoff. */
reds_err reds_async_reconnect(reds_client *client);

/** Called when the handle's connection comes up (`err` REDS_OK) or goes
 *  down (`err` why), for logs and metrics; NULL to stop. Pending
 *  commands learn of a drop through their own completions. */
typedef void (*reds_async_status_fn)(reds_client *client, reds_err err, void *udata);
void reds_async_on_status(reds_client *client, reds_async_status_fn fn, void *udata);

/* ------------------------------------------------------------- event loops */

/** Interest in a descriptor, for reds_async_loop.watch. */
enum { REDS_ASYNC_READ = 1, REDS_ASYNC_WRITE = 2 };

/** What a loop does for a handle. Every function is called from the
 *  handle's calls (never from another thread) with `data`. */
typedef struct reds_async_loop {
    void *data;
    /** Watch `fd` for `events` (REDS_ASYNC_READ | REDS_ASYNC_WRITE) from
     *  now on, replacing the interest set before. 0 means the descriptor
     *  is about to be closed: release what watches it. A reconnect
     *  unwatches the old descriptor (0) before it watches a new one, which
     *  may have the same number. */
    void (*watch)(void *data, int fd, int events);
    /** Call reds_async_handle_timer() once, `ms` (>= 0) milliseconds from
     *  now, replacing any timer set before; a negative `ms` cancels it. */
    void (*timer)(void *data, long ms);
    /** The handle is being freed (or attached elsewhere): release `data`.
     *  No other function is called after this one. May be NULL. */
    void (*detach)(void *data);
} reds_async_loop;

/** Drive `client` with `loop` (copied) and start connecting. A handle is
 *  attached to one loop at a time: attaching again detaches the first,
 *  and a NULL `loop` only detaches (the connection stays, unwatched). */
reds_err reds_async_attach(reds_client *client, const reds_async_loop *loop);

/** The loop saw `events` (REDS_ASYNC_READ | REDS_ASYNC_WRITE) on the
 *  descriptor it was told to watch. */
void reds_async_handle_events(reds_client *client, int events);

/** The timer the loop was asked for fired. */
void reds_async_handle_timer(reds_client *client);

/* ------------------------------------------------- the built-in poll loop */

/** A minimal loop on poll(), for programs that have none: attach handles,
 *  then run it. Not thread-safe; one per thread. */
typedef struct reds_poll reds_poll;

/** A new loop; the caller owns `*out` (reds_poll_free()). */
reds_err reds_poll_new(reds_poll **out);

/** Release the loop. Handles still attached are detached first (they
 *  then do nothing until attached again). NULL is ignored. */
void reds_poll_free(reds_poll *loop);

/** Drive `client` with `loop` (reds_async_attach() with this loop). */
reds_err reds_poll_attach(reds_poll *loop, reds_client *client);

/** Run the loop until every attached handle has no pending command and
 *  no subscription, or `timeout_ms` passed (REDS_NO_TIMEOUT: no limit; 0:
 *  one pass that does not wait). Returns what is still pending: commands,
 *  plus one for each handle still subscribed. */
size_t reds_poll_run(reds_poll *loop, int timeout_ms);

/* ---------------------------------------------------------------- pub/sub */

/** Called with each message on a subscription (borrowed for the call),
 *  from the loop. May subscribe, unsubscribe, or free the handle. */
typedef void (*reds_async_message_fn)(reds_client *client, const reds_pubsub_message *msg,
                                      void *udata);

/** SUBSCRIBE to `count` (>= 1) channels; messages on them go to `fn`
 *  (subscribing again replaces the handler). A handle that subscribes is
 *  a pub/sub handle from then on, as the server sees its connection:
 *  other commands are refused with REDS_ERR_PUBSUB (use another handle).
 *  Subscriptions are remembered: after a reconnect they are all made
 *  again and a REDS_PUBSUB_RECONNECTED notice is delivered (see
 *  reds_async_on_notice()). Returns once the command is queued. */
reds_err reds_async_subscribe(reds_client *client, const reds_str *channels, size_t count,
                              reds_async_message_fn fn, void *udata);
/** PSUBSCRIBE to `count` (>= 1) patterns; as reds_async_subscribe(). */
reds_err reds_async_psubscribe(reds_client *client, const reds_str *patterns, size_t count,
                               reds_async_message_fn fn, void *udata);
/** SSUBSCRIBE to `count` (>= 1) shard channels; as reds_async_subscribe(). */
reds_err reds_async_ssubscribe(reds_client *client, const reds_str *channels, size_t count,
                               reds_async_message_fn fn, void *udata);
/** UNSUBSCRIBE from `count` channels, or all when `count` is 0; they are
 *  forgotten at once. */
reds_err reds_async_unsubscribe(reds_client *client, const reds_str *channels, size_t count);
/** PUNSUBSCRIBE `count` patterns, or all when `count` is 0. */
reds_err reds_async_punsubscribe(reds_client *client, const reds_str *patterns, size_t count);
/** SUNSUBSCRIBE `count` shard channels, or all when `count` is 0. */
reds_err reds_async_sunsubscribe(reds_client *client, const reds_str *channels, size_t count);

/** Receives what is not a message on a subscription: the (un)subscribe
 *  confirmations and REDS_PUBSUB_RECONNECTED (`data` why the connection
 *  dropped, `count` the subscriptions made again). NULL: dropped. */
void reds_async_on_notice(reds_client *client, reds_async_message_fn fn, void *udata);

REDS_API_END
#ifdef __cplusplus
}
#endif
#endif
