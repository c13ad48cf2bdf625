/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: Redis URLs, as redis-py's from_url().
 *
 *     redis://[[user]:password@]host[:port][/db][?option=value&...]
 *     rediss://...                          TLS, same shape
 *     unix://[[user]:password@]/path/to.sock[?db=N&...]
 *
 * User, password, host and path are percent-decoded (%40 for '@', %3A for
 * ':', %2F for '/'); an IPv6 host is bracketed: redis://[::1]:6379. Query
 * options (README.md lists them with their types) override the path's db,
 * which overrides the `base` options the caller passes. An unknown option
 * or a bad value is REDS_ERR_DATA naming the option. No message ever
 * contains the password, or any part of the URL that could hold one.
 */
#ifndef REDS_URL_H
#define REDS_URL_H

#include <reds/client.h>
#include <reds/types.h>

#ifdef __cplusplus
extern "C" {
#endif
REDS_API_BEGIN

/** Parse `url` on top of `base` (NULL: every default): what the URL says
 *  wins, the rest comes from `base`. The scheme decides the transport:
 *  redis:// is TCP (tls off), rediss:// TCP with TLS, unix:// a unix
 *  socket. `*out` is a self-contained copy (its strings live in the same
 *  block), checked as reds_client_new() would check it; the caller owns
 *  it and releases it with reds_free(), which wipes the password. */
reds_err reds_url_parse(const char *url, const reds_options *base, reds_options **out);

/** Create a client from a URL: reds_url_parse() then reds_client_new().
 *  The caller owns `*out` and releases it with reds_client_free(). */
reds_err reds_client_from_url(const char *url, const reds_options *base, reds_client **out);

/** The URL of `opts`, for logs: the password is written as "***" (and
 *  the URL then no longer works as is). Options a URL cannot express
 *  (backoff times, REDS_NO_TIMEOUT, a custom keepalive time) are left
 *  out. The caller owns `*out` (a NUL-terminated reds_str) and releases
 *  it with reds_free(). */
reds_err reds_url_format(const reds_options *opts, reds_str **out);

/** `url` with its password, if any, replaced by "***", for logs; the rest
 *  is kept byte for byte. Works on malformed URLs too: everything
 *  between "user:" and the last '@' counts as the password. The caller
 *  owns `*out` and releases it with reds_free(). */
reds_err reds_url_redact(const char *url, reds_str **out);

REDS_API_END
#ifdef __cplusplus
}
#endif
#endif
