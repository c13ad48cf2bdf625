/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: distributed locks (redis-py's Lock).
 *
 * A lock is a key holding its owner's random token: acquired with
 * SET NX PX, released, extended and reacquired by Lua scripts that first
 * check the token, so that an owner whose lock expired and was taken by
 * someone else can never release or extend that other owner's lock.
 *
 *     reds_lock *lock;
 *     reds_lock_opts o = {.timeout_ms = 10000, .blocking_timeout_ms = REDS_I64(2000)};
 *     reds_lock_new(client, REDS_STR("lock:report"), &o, &lock);
 *     bool got;
 *     if (reds_lock_acquire(lock, NULL, &got) == REDS_OK && got) {
 *         ...                                  // at most 10 s of work
 *         reds_lock_release(lock);             // REDS_ERR_LOCK_NOT_OWNED if it expired
 *     }
 *     reds_lock_free(lock);
 *
 * A lock object is one owner: use it from one thread at a time, and give
 * each thread (or process) that competes for the same name its own.
 */
#ifndef REDS_LOCK_H
#define REDS_LOCK_H

#include <reds/client.h>
#include <reds/types.h>

#ifdef __cplusplus
extern "C" {
#endif
REDS_API_BEGIN

typedef struct reds_lock reds_lock;

/** A lock's settings. Zero-initialise for the defaults. */
typedef struct reds_lock_opts {
    int64_t timeout_ms;               /**< auto-expiry of a held lock; 0: never expires */
    reds_opt_i64 sleep_ms;            /**< pause between tries while blocking; default 100 */
    bool non_blocking;                /**< acquire tries once instead of waiting */
    reds_opt_i64 blocking_timeout_ms; /**< how long acquire waits at most; default forever */
} reds_lock_opts;

/** Per-call settings of reds_lock_acquire(); NULL or zero for the lock's. */
typedef struct reds_lock_acquire_opts {
    bool non_blocking;                /**< try once, whatever the lock's setting */
    reds_opt_i64 blocking_timeout_ms; /**< instead of the lock's */
    reds_str token;                   /**< own this token instead of a random one */
} reds_lock_acquire_opts;

/** A lock on key `name` through `client` (a pooled client or a dedicated
 *  connection; not a pipeline that queues). Nothing is sent. `opts` may
 *  be NULL. The caller owns `*out` and releases it with reds_lock_free();
 *  it must not outlive `client`. */
reds_err reds_lock_new(reds_client *client, reds_str name, const reds_lock_opts *opts,
                       reds_lock **out);

/** Try to take the lock (SET name token NX PX timeout), blocking as the
 *  lock or `opts` say: every sleep_ms until blocking_timeout_ms has
 *  passed. `*acquired` tells whether this owner now holds it; not getting
 *  it in time is not an error. A new random token (16 bytes from the
 *  system's CSPRNG, as hex) is drawn for every acquisition. */
reds_err reds_lock_acquire(reds_lock *lock, const reds_lock_acquire_opts *opts, bool *acquired);

/** Release the lock if this owner still holds it. REDS_ERR_LOCK when this
 *  object does not hold it; REDS_ERR_LOCK_NOT_OWNED when it expired or
 *  someone else holds it now. Either way this object no longer holds it. */
reds_err reds_lock_release(reds_lock *lock);

/** Add `additional_ms` to the lock's remaining time, or set its time to
 *  `additional_ms` when `replace_ttl`. REDS_ERR_LOCK when this object
 *  does not hold it or the lock has no timeout; REDS_ERR_LOCK_NOT_OWNED
 *  when it is no longer this owner's. */
reds_err reds_lock_extend(reds_lock *lock, int64_t additional_ms, bool replace_ttl);

/** Reset the lock's time to its full timeout; errors as
 *  reds_lock_extend(). */
reds_err reds_lock_reacquire(reds_lock *lock);

/** Whether the key holds this owner's token (one GET). */
reds_err reds_lock_owned(reds_lock *lock, bool *owned);

/** Whether anyone holds the lock (one GET). */
reds_err reds_lock_locked(reds_lock *lock, bool *locked);

/** Release the lock object. A held lock is not released: it expires on
 *  its timeout (call reds_lock_release() first). NULL is ignored. */
void reds_lock_free(reds_lock *lock);

REDS_API_END
#ifdef __cplusplus
}
#endif
#endif
