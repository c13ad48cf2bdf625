/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: scan iterators (redis-py's scan_iter, sscan_iter, hscan_iter and
 * zscan_iter).
 *
 * An iterator runs SCAN, SSCAN, HSCAN or ZSCAN page after page and hands
 * out one element at a time; the cursor never shows. As with the commands
 * themselves, every element present for the whole iteration is returned
 * at least once, and some may be returned more than once.
 *
 *     reds_scan_iter *it;
 *     reds_scan_iter_opts o = {.match = REDS_STR("user:*"), .count = REDS_I64(1000)};
 *     reds_scan_iter_new(client, &o, &it);
 *     const reds_scan_item *item;
 *     reds_err err;
 *     while ((err = reds_scan_iter_next(it, &item)) == REDS_OK && item)
 *         printf("%.*s\n", (int)item->key.len, item->key.ptr);
 *     reds_scan_iter_free(it);   // stopping early is fine
 */
#ifndef REDS_SCAN_H
#define REDS_SCAN_H

#include <reds/client.h>
#include <reds/types.h>

#ifdef __cplusplus
extern "C" {
#endif
REDS_API_BEGIN

typedef struct reds_scan_iter reds_scan_iter;

/** What to iterate over. Zero-initialise for everything. Strings are
 *  copied. */
typedef struct reds_scan_iter_opts {
    reds_str match;     /**< MATCH pattern; none when `ptr` is NULL */
    reds_opt_i64 count; /**< COUNT hint per page */
    reds_str type;      /**< TYPE filter ("string", "hash", ...): SCAN only */
} reds_scan_iter_opts;

/** One element. `key` is the key (SCAN), member (SSCAN, ZSCAN) or field
 *  (HSCAN); `value` is the field's value (HSCAN) or the score as the
 *  server wrote it (ZSCAN), and empty otherwise; `score` is the ZSCAN
 *  score as a double (0 otherwise). Strings are NUL-terminated. */
typedef struct reds_scan_item {
    reds_str key;
    reds_str value;
    double score;
} reds_scan_item;

/** An iterator over the keys of the database (SCAN). Nothing is sent
 *  before the first reds_scan_iter_next(). `client` is a pooled client, a
 *  dedicated connection, or a pipeline while it watches (not one that
 *  queues), and must outlive the iterator. The caller owns `*out` and
 *  releases it with reds_scan_iter_free(). */
reds_err reds_scan_iter_new(reds_client *client, const reds_scan_iter_opts *opts,
                            reds_scan_iter **out);

/** An iterator over the members of the set at `key` (SSCAN); as
 *  reds_scan_iter_new(), and `opts->type` must be empty. */
reds_err reds_sscan_iter_new(reds_client *client, reds_str key, const reds_scan_iter_opts *opts,
                             reds_scan_iter **out);

/** An iterator over the fields and values of the hash at `key` (HSCAN). */
reds_err reds_hscan_iter_new(reds_client *client, reds_str key, const reds_scan_iter_opts *opts,
                             reds_scan_iter **out);

/** An iterator over the members and scores of the sorted set at `key`
 *  (ZSCAN). */
reds_err reds_zscan_iter_new(reds_client *client, reds_str key, const reds_scan_iter_opts *opts,
                             reds_scan_iter **out);

/** The next element in `*item`, or NULL once the iteration is complete.
 *  Fetches the next page when needed. `*item` is borrowed until the next
 *  call or reds_scan_iter_free(). On an error `*item` is NULL, and
 *  calling again retries the same page. */
reds_err reds_scan_iter_next(reds_scan_iter *it, const reds_scan_item **item);

/** Release the iterator and its current page, whether or not it reached
 *  the end. NULL is ignored. */
void reds_scan_iter_free(reds_scan_iter *it);

REDS_API_END
#ifdef __cplusplus
}
#endif
#endif
