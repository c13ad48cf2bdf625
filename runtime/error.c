/* The error model: codes mirroring redis-py's exceptions, a thread-local
 * message, and the mapping from server error prefixes to codes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define NCODES (-REDS_ERR__LAST + 1)

static const struct {
    const char *name;
    reds_err parent, parent2; /* 0: none (REDS_ERR is the root) */
} kinds[NCODES] = {
    [0] = {"OK", 0, 0},
    [-REDS_ERR] = {"RedisError", 0, 0},
    [-REDS_ERR_CONNECTION] = {"ConnectionError", REDS_ERR, 0},
    [-REDS_ERR_TIMEOUT] = {"TimeoutError", REDS_ERR, 0},
    [-REDS_ERR_AUTH] = {"AuthenticationError", REDS_ERR_CONNECTION, 0},
    [-REDS_ERR_BUSY_LOADING] = {"BusyLoadingError", REDS_ERR_CONNECTION, 0},
    [-REDS_ERR_INVALID_RESPONSE] = {"InvalidResponse", REDS_ERR, 0},
    [-REDS_ERR_RESPONSE] = {"ResponseError", REDS_ERR, 0},
    [-REDS_ERR_DATA] = {"DataError", REDS_ERR, 0},
    [-REDS_ERR_PUBSUB] = {"PubSubError", REDS_ERR, 0},
    [-REDS_ERR_WATCH] = {"WatchError", REDS_ERR, 0},
    [-REDS_ERR_NOSCRIPT] = {"NoScriptError", REDS_ERR_RESPONSE, 0},
    [-REDS_ERR_EXECABORT] = {"ExecAbortError", REDS_ERR_RESPONSE, 0},
    [-REDS_ERR_READONLY] = {"ReadOnlyError", REDS_ERR_RESPONSE, 0},
    [-REDS_ERR_NOPERM] = {"NoPermissionError", REDS_ERR_RESPONSE, 0},
    [-REDS_ERR_LOCK] = {"LockError", REDS_ERR, 0},
    [-REDS_ERR_LOCK_NOT_OWNED] = {"LockNotOwnedError", REDS_ERR_LOCK, 0},
    [-REDS_ERR_MASTER_NOT_FOUND] = {"MasterNotFoundError", REDS_ERR_CONNECTION, 0},
    [-REDS_ERR_SLAVE_NOT_FOUND] = {"SlaveNotFoundError", REDS_ERR_CONNECTION, 0},
    [-REDS_ERR_CLUSTER] = {"RedisClusterException", REDS_ERR, 0},
    [-REDS_ERR_CLUSTER_DOWN] = {"ClusterDownError", REDS_ERR_CLUSTER, REDS_ERR_RESPONSE},
    [-REDS_ERR_MOVED] = {"MovedError", REDS_ERR_ASK, 0},
    [-REDS_ERR_ASK] = {"AskError", REDS_ERR_RESPONSE, 0},
    [-REDS_ERR_TRYAGAIN] = {"TryAgainError", REDS_ERR_RESPONSE, 0},
    [-REDS_ERR_CROSSSLOT] = {"ClusterCrossSlotError", REDS_ERR_RESPONSE, 0},
    [-REDS_ERR_NOMEM] = {"OutOfMemoryError", REDS_ERR, 0},
    [-REDS_ERR_POOL_EXHAUSTED] = {"PoolExhaustedError", REDS_ERR_CONNECTION, 0},
    [-REDS_ERR_BUSY] = {"BusyError", REDS_ERR_RESPONSE, 0},
    [-REDS_ERR_REPLY_TOO_LARGE] = {"ReplyTooLargeError", REDS_ERR_INVALID_RESPONSE, 0},
};

static bool valid(reds_err err)
{
    return err <= 0 && err >= REDS_ERR__LAST;
}

bool reds_err_is(reds_err err, reds_err kind)
{
    if (!valid(err) || !valid(kind))
        return false;
    if (err == kind)
        return true;
    if (err == REDS_OK)
        return false;
    if (kind == REDS_ERR)
        return true;
    for (int i = 0; i < 2; i++) {
        reds_err parent = i ? kinds[-err].parent2 : kinds[-err].parent;
        if (parent && parent != REDS_ERR && reds_err_is(parent, kind))
            return true;
    }
    return false;
}

const char *reds_err_name(reds_err err)
{
    return valid(err) ? kinds[-err].name : "UnknownError";
}

static _Thread_local char message[512];
static _Thread_local reds_err last_code;

reds_err reds_ext_last_error(void)
{
    return last_code ? last_code : REDS_ERR;
}

const char *reds_errmsg(void)
{
    return message;
}

void reds__clear_error(void)
{
    message[0] = '\0';
    last_code = REDS_OK;
}

static reds_err vset(reds_err err, const char *fmt, va_list ap)
{
    vsnprintf(message, sizeof message, fmt, ap);
    last_code = err;
    return err;
}

reds_err reds__error(reds_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(err, fmt, ap);
    va_end(ap);
    return err;
}

reds_err reds_set_error(reds_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(err, fmt, ap);
    va_end(ap);
    return err;
}

static bool starts(const char *msg, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(msg, prefix, n) == 0 && (len == n || msg[n] == ' ');
}

reds_err reds__error_from_reply(const char *msg, size_t len)
{
    static const struct {
        const char *prefix;
        reds_err err;
    } map[] = {
        {"LOADING", REDS_ERR_BUSY_LOADING},
        {"READONLY", REDS_ERR_READONLY},
        {"NOSCRIPT", REDS_ERR_NOSCRIPT},
        {"EXECABORT", REDS_ERR_EXECABORT},
        {"WRONGPASS", REDS_ERR_AUTH},
        {"NOAUTH", REDS_ERR_AUTH},
        {"NOPERM", REDS_ERR_NOPERM},
        {"MOVED", REDS_ERR_MOVED},
        {"ASK", REDS_ERR_ASK},
        {"TRYAGAIN", REDS_ERR_TRYAGAIN},
        {"CLUSTERDOWN", REDS_ERR_CLUSTER_DOWN},
        {"MASTERDOWN", REDS_ERR_CLUSTER_DOWN},
        {"CROSSSLOT", REDS_ERR_CROSSSLOT},
        {"BUSY", REDS_ERR_BUSY},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (starts(msg, len, map[i].prefix))
            return map[i].err;
    /* The server refuses a connection over maxclients with this first
     * reply and closes it: a connection error, as in redis-py. */
    if (starts(msg, len, "ERR") && strstr(msg, "max number of clients reached"))
        return REDS_ERR_CONNECTION;
    /* Older servers and AUTH without a configured password say so in ERR. */
    if (starts(msg, len, "ERR") &&
        (strstr(msg, "invalid password") || strstr(msg, "without any password configured") ||
         strstr(msg, "no password is set")))
        return REDS_ERR_AUTH;
    return REDS_ERR_RESPONSE;
}
