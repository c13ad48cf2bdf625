/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: pipelines and transactions (redis-py's pipeline() and
 * transaction()).
 *
 * A pipeline is a reds_client in buffering mode: every command function
 * (reds_get(), reds_hset(), reds_execute_command(), ...) called on it
 * queues its command and returns REDS_OK at once; its output is filled
 * when reds_pipeline_execute() runs the queue: one write for every
 * command, then every reply read in order.
 *
 * A transactional pipeline (the default) wraps the queue in MULTI/EXEC.
 * reds_pipeline_watch() pins a connection and switches the pipeline to
 * immediate mode: commands then run at once and fill their outputs (read
 * the values the transaction depends on), until reds_pipeline_multi()
 * switches back to buffering for the transaction itself.
 *
 *     reds_client *p;
 *     reds_pipeline_new(client, true, &p);
 *     int64_t n;
 *     reds_str *v;
 *     reds_incr(p, REDS_STR("hits"), &n);       // queued
 *     reds_get(p, REDS_STR("greeting"), &v);    // queued
 *     reds_err err = reds_pipeline_execute(p);  // MULTI INCR GET EXEC
 *     ...                                       // n and v are filled
 *     reds_free(v);
 *     reds_client_free(p);
 *
 * A pipeline is used by one thread at a time, and must not outlive the
 * client it comes from. Outputs must stay valid until the pipeline
 * executes, is reset or is freed, and every queued command needs an
 * output of its own (the command functions clear theirs when called).
 */
#ifndef REDS_PIPELINE_H
#define REDS_PIPELINE_H

#include <reds/client.h>
#include <reds/types.h>

#ifdef __cplusplus
extern "C" {
#endif
REDS_API_BEGIN

/** Create a pipeline of `client` (a pooled client or a dedicated
 *  connection), transactional (MULTI/EXEC) when `transaction` is true.
 *  It borrows a connection of `client` only while it executes or
 *  watches. Response callbacks set on `client` before this call apply.
 *  The caller owns `*out` and releases it with reds_client_free() (which
 *  drops whatever is queued and gives back any pinned connection). */
reds_err reds_pipeline_new(reds_client *client, bool transaction, reds_client **out);

/** Run everything queued: one write, then every reply, each converted
 *  into the output its command was given. Returns REDS_OK when every
 *  command succeeded; otherwise the first failing command's code, with
 *  reds_errmsg() saying which ("command 3 of 5 (GET): WRONGTYPE ...")
 *  while the other commands' outputs are filled all the same. In a
 *  transaction: REDS_ERR_WATCH when a watched key changed (nothing ran,
 *  no output is filled), REDS_ERR_EXECABORT when the server refused to
 *  queue a command (nothing ran). An empty transaction sends nothing
 *  unless keys are watched. Afterwards the pipeline is empty, its
 *  connection is given back (closed if it failed mid-way) and it can be
 *  reused; reds_pipeline_result() tells each command's outcome until the
 *  next command is queued. Owned outputs belong to the caller, one
 *  reds_free() each. */
reds_err reds_pipeline_execute(reds_client *pipe);

/** Drop everything queued (outputs stay as they were: zero or NULL),
 *  UNWATCH if keys are watched, give back the pinned connection and
 *  forget the last results. The pipeline stays usable. NULL is ignored. */
void reds_pipeline_reset(reds_client *pipe);

/** The number of commands queued, or run by the last execution (until the
 *  next command is queued); 0 for NULL or a handle that is no pipeline. */
size_t reds_pipeline_count(const reds_client *pipe);

/** The outcome of command `i` (0-based, in queueing order) of the last
 *  execution: its own error code (REDS_OK on success) and, when `msg` is
 *  not NULL, its message ("GET: WRONGTYPE ..."; "" on success), borrowed
 *  until the pipeline queues, executes, resets or is freed. REDS_ERR_DATA
 *  for an index out of range. */
reds_err reds_pipeline_result(const reds_client *pipe, size_t i, const char **msg);

/** WATCH `keys` (redis-py's pipe.watch()): pins a connection and puts the
 *  pipeline in immediate mode, where commands run at once and fill their
 *  outputs, until reds_pipeline_multi(). Refused (REDS_ERR_DATA) once
 *  commands are queued or after reds_pipeline_multi(). On a pipeline of a
 *  dedicated connection, that connection is busy (its handle blocks)
 *  until the pipeline executes or is reset. */
reds_err reds_pipeline_watch(reds_client *pipe, const reds_str *keys, size_t nkeys);

/** Start the transaction (redis-py's pipe.multi()): commands are queued
 *  again and reds_pipeline_execute() wraps them in MULTI/EXEC, even on a
 *  non-transactional pipeline. Refused when called twice or once
 *  commands are queued. */
reds_err reds_pipeline_multi(reds_client *pipe);

/** UNWATCH: forget the watched keys, give back the pinned connection and
 *  return to buffering mode. Nothing is sent when nothing is watched. */
reds_err reds_pipeline_unwatch(reds_client *pipe);

/** DISCARD: drop the commands queued since reds_pipeline_multi() and
 *  unwatch (as Redis's DISCARD does), so the pipeline is as new. Refused
 *  (REDS_ERR_DATA) without reds_pipeline_multi(), as Redis refuses
 *  DISCARD without MULTI. MULTI is only sent at execution, so nothing
 *  but UNWATCH (when watching) goes to the server. */
reds_err reds_pipeline_discard(reds_client *pipe);

/** The body of a transaction: watched keys can be read on `pipe`
 *  (immediate mode); call reds_pipeline_multi(pipe) and queue the writes.
 *  Return REDS_OK to execute, or an error to give up (REDS_ERR_WATCH to
 *  try again). Store a result for the caller in `*value` if wanted.
 *  Called again on every retry: free what an earlier try allocated. */
typedef reds_err (*reds_transaction_fn)(reds_client *pipe, void *udata, void **value);

/** How reds_transaction() retries. Zero-initialise for the defaults. */
typedef struct reds_transaction_opts {
    unsigned max_tries;      /**< give up with REDS_ERR_WATCH after this many tries; 0: no cap */
    unsigned watch_delay_ms; /**< sleep between tries; 0: retry at once */
} reds_transaction_opts;

/** redis-py's client.transaction(): on a transactional pipeline of
 *  `client`, WATCH `keys`, call `fn`, execute, and do it all again while
 *  EXEC is aborted by a change to a watched key (REDS_ERR_WATCH). Returns
 *  what the committed execution returned (the EXEC results: the outputs
 *  `fn` queued are filled) or `fn`'s own error. When `value` is not NULL
 *  it receives what `fn` stored in its `value` argument on the try that
 *  committed (redis-py's value_from_callable); NULL otherwise. `opts` may
 *  be NULL. Owned outputs `fn` queued belong to the caller, and `*value`
 *  is whatever `fn` made it: reds neither owns nor frees it. */
reds_err reds_transaction(reds_client *client, const reds_str *keys, size_t nkeys,
                          reds_transaction_fn fn, void *udata, const reds_transaction_opts *opts,
                          void **value);

REDS_API_END
#ifdef __cplusplus
}
#endif
#endif
