/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: Lua scripts (redis-py's register_script()).
 *
 * A script object holds the Lua source and its SHA-1, computed locally.
 * Calling it sends EVALSHA; when the server does not know the script
 * (NOSCRIPT, after a restart or SCRIPT FLUSH) it is loaded and the call
 * retried once. On a pipeline the script is loaded within the pipeline,
 * before the first command that runs it, so the batch still goes out in
 * one write.
 *
 *     reds_script *incr_by;
 *     reds_script_new(client, REDS_STR("return redis.call('INCRBY', KEYS[1], ARGV[1])"),
 *                     &incr_by);
 *     reds_str keys[] = {REDS_STR("counter")}, args[] = {REDS_STR("5")};
 *     reds_reply *r;
 *     if (reds_script_call(incr_by, NULL, keys, 1, args, 1, &r) == REDS_OK) {
 *         int64_t n;
 *         reds_reply_int(r, &n);
 *     }
 *     reds_free(r);
 *     reds_script_free(incr_by);
 */
#ifndef REDS_SCRIPT_H
#define REDS_SCRIPT_H

#include <reds/client.h>
#include <reds/types.h>

#ifdef __cplusplus
extern "C" {
#endif
REDS_API_BEGIN

typedef struct reds_script reds_script;

/** A script of `source` (copied), to run on `client` by default (may be
 *  NULL: then every call names its client). Nothing is sent. The caller
 *  owns `*out` and releases it with reds_script_free(); it must not
 *  outlive `client`. */
reds_err reds_script_new(reds_client *client, reds_str source, reds_script **out);

/** The script's SHA-1 as 40 lowercase hex digits, borrowed until
 *  reds_script_free(). */
const char *reds_script_sha(const reds_script *script);

/** Run the script with `keys` (KEYS) and `args` (ARGV) on `client`, or on
 *  the script's own client when `client` is NULL: a pooled client, a
 *  dedicated connection or a pipeline (queued, `*out` filled when it
 *  executes). EVALSHA first; on NOSCRIPT, SCRIPT LOAD and EVALSHA once
 *  more. `*out` receives the script's value as a generic tree (Lua
 *  integers as integers, strings as strings, tables as arrays, false and
 *  nil as nil), owned by the caller: release it with reds_free(). `out`
 *  may be NULL to discard it. Errors raised by the script come back as
 *  REDS_ERR_RESPONSE with their text in reds_errmsg(). */
reds_err reds_script_call(const reds_script *script, reds_client *client, const reds_str *keys,
                          size_t nkeys, const reds_str *args, size_t nargs, reds_reply **out);

/** Release a script object (the server's copy stays cached). NULL is
 *  ignored. */
void reds_script_free(reds_script *script);

REDS_API_END
#ifdef __cplusplus
}
#endif
#endif
