/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: MONITOR, every command the server processes as a parsed record
 * (redis-py's Monitor, with the arguments unescaped and binary-safe).
 */
#ifndef REDS_MONITOR_H
#define REDS_MONITOR_H

#include <reds/client.h>
#include <reds/types.h>

#ifdef __cplusplus
extern "C" {
#endif
REDS_API_BEGIN

typedef struct reds_monitor reds_monitor;

/** Who sent a command. */
typedef enum reds_monitor_source {
    REDS_MONITOR_TCP = 1, /**< a TCP client: `client` is "ip:port" or "[ipv6]:port" */
    REDS_MONITOR_UNIX,    /**< a unix socket client: `client` is "unix:<path>" */
    REDS_MONITOR_LUA,     /**< a script (EVAL, FCALL): `client` is "lua" */
    REDS_MONITOR_OTHER    /**< anything else the server writes there */
} reds_monitor_source;

/** One command the server ran. Strings are NUL-terminated and binary-safe. */
typedef struct reds_monitor_record {
    int64_t seconds;      /**< when it ran: Unix time, whole seconds ... */
    int32_t microseconds; /**< ... and microseconds */
    double time;          /**< the same as one double (redis-py's `time`) */
    int64_t db;           /**< the database it ran in */
    reds_monitor_source source;
    reds_str client;  /**< as the server wrote it: "127.0.0.1:50432", "unix:/tmp/r.sock", "lua" */
    reds_str command; /**< the command name as the client sent it ("set", "CLIENT") */
    size_t nargs;     /**< arguments after the name */
    reds_str *args;   /**< unescaped, byte for byte as sent */
} reds_monitor_record;

/** Open a connection of its own with `client`'s options and send MONITOR.
 *  The caller owns `*out`; release it with reds_monitor_close(). */
reds_err reds_monitor_new(reds_client *client, reds_monitor **out);

/** The next command, waiting up to `timeout_ms` for it: 0 polls,
 *  REDS_NO_TIMEOUT waits until one comes. `*out` is owned by the caller
 *  (reds_free()), or NULL when none came in time. A connection error is
 *  returned as such: MONITOR does not reconnect (commands would be lost
 *  unnoticed), open a new monitor instead. */
reds_err reds_monitor_next(reds_monitor *m, int timeout_ms, reds_monitor_record **out);

/** Close the connection (which ends MONITOR) and release the handle.
 *  NULL is ignored. */
void reds_monitor_close(reds_monitor *m);

/** Parse one line of MONITOR output (`1700000000.123456 [0 127.0.0.1:5000]
 *  "SET" "k" "v\x00"`, with or without the leading '+' and the line end),
 *  undoing the server's quoting (\" \\ \n \r \t \a \b \xHH). `*out` is
 *  owned by the caller (reds_free()); REDS_ERR_INVALID_RESPONSE for a line
 *  of another shape. */
reds_err reds_monitor_parse(const char *line, size_t len, reds_monitor_record **out);

REDS_API_END
#ifdef __cplusplus
}
#endif
#endif
