/* Locks, as redis-py's Lock: SET NX PX to acquire, token-checking Lua
 * scripts to release, extend and reacquire. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include <reds/commands.h>
#include <reds/lock.h>
#include <reds/script.h>

#include "internal.h"

#define DEFAULT_SLEEP_MS 100
#define TOKEN_BYTES      16

/* The scripts of redis-py's Lock, unchanged. */
static const char release_lua[] = "local token = redis.call('get', KEYS[1])\n"
                                  "if not token or token ~= ARGV[1] then\n"
                                  "    return 0\n"
                                  "end\n"
                                  "redis.call('del', KEYS[1])\n"
                                  "return 1\n";

static const char extend_lua[] = "local token = redis.call('get', KEYS[1])\n"
                                 "if not token or token ~= ARGV[1] then\n"
                                 "    return 0\n"
                                 "end\n"
                                 "local expiration = redis.call('pttl', KEYS[1])\n"
                                 "if not expiration then\n"
                                 "    expiration = 0\n"
                                 "end\n"
                                 "if expiration < 0 then\n"
                                 "    return 0\n"
                                 "end\n"
                                 "local newttl = ARGV[2]\n"
                                 "if ARGV[3] == \"0\" then\n"
                                 "    newttl = ARGV[2] + expiration\n"
                                 "end\n"
                                 "redis.call('pexpire', KEYS[1], newttl)\n"
                                 "return 1\n";

static const char reacquire_lua[] = "local token = redis.call('get', KEYS[1])\n"
                                    "if not token or token ~= ARGV[1] then\n"
                                    "    return 0\n"
                                    "end\n"
                                    "redis.call('pexpire', KEYS[1], ARGV[2])\n"
                                    "return 1\n";

struct reds_lock {
    reds_client *client;
    int64_t timeout_ms;
    int64_t sleep_ms;
    bool non_blocking;
    reds_opt_i64 blocking_timeout_ms;
    reds_script *release, *extend, *reacquire;
    char *token; /* held: the token this owner set; NULL otherwise */
    size_t token_len;
    reds_str name;
    char name_buf[];
};

reds_err reds_lock_new(reds_client *client, reds_str name, const reds_lock_opts *opts,
                       reds_lock **out)
{
    static const reds_lock_opts defaults;
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_lock_new: out is NULL");
    *out = NULL;
    if (!opts)
        opts = &defaults;
    if (!client)
        return reds__error(REDS_ERR_DATA, "reds_lock_new: the client is NULL");
    if (reds__pipeline_queues(client))
        return reds__error(REDS_ERR_DATA, "reds_lock_new: a lock needs a client or a dedicated "
                                          "connection, not a pipeline");
    if (reds_async_is(client))
        return reds__error(REDS_ERR_DATA, "reds_lock_new: a lock waits and retries, which an "
                                          "async handle cannot: use a blocking client");
    if ((!name.ptr && name.len) || name.len > SIZE_MAX / 2)
        return reds__error(REDS_ERR_DATA, "reds_lock_new: the name is invalid");
    if (opts->timeout_ms < 0 || (opts->sleep_ms.set && opts->sleep_ms.value < 0) ||
        (opts->blocking_timeout_ms.set && opts->blocking_timeout_ms.value < 0))
        return reds__error(REDS_ERR_DATA, "reds_lock_new: timeouts and sleep must not be "
                                          "negative");
    reds_lock *l = calloc(1, sizeof *l + name.len + 1);
    if (!l)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    l->client = client;
    l->timeout_ms = opts->timeout_ms;
    l->sleep_ms = opts->sleep_ms.set ? opts->sleep_ms.value : DEFAULT_SLEEP_MS;
    l->non_blocking = opts->non_blocking;
    l->blocking_timeout_ms = opts->blocking_timeout_ms;
    if (name.len)
        memcpy(l->name_buf, name.ptr, name.len);
    l->name = reds_strn(l->name_buf, name.len);
    reds_err err =
        reds_script_new(client, reds_strn(release_lua, sizeof release_lua - 1), &l->release);
    if (!err)
        err = reds_script_new(client, reds_strn(extend_lua, sizeof extend_lua - 1), &l->extend);
    if (!err)
        err = reds_script_new(client, reds_strn(reacquire_lua, sizeof reacquire_lua - 1),
                              &l->reacquire);
    if (err) {
        reds_lock_free(l);
        return err;
    }
    *out = l;
    return REDS_OK;
}

void reds_lock_free(reds_lock *lock)
{
    if (!lock)
        return;
    reds_script_free(lock->release);
    reds_script_free(lock->extend);
    reds_script_free(lock->reacquire);
    free(lock->token);
    free(lock);
}

static void forget_token(reds_lock *lock)
{
    free(lock->token);
    lock->token = NULL;
    lock->token_len = 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static reds_err new_token(char **out, size_t *len)
{
    unsigned char raw[TOKEN_BYTES];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return reds__error(REDS_ERR, "lock: no random bytes for a token");
    static const char hex[] = "0123456789abcdef";
    char *t = malloc(2 * TOKEN_BYTES + 1);
    if (!t)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < TOKEN_BYTES; i++) {
        t[2 * i] = hex[raw[i] >> 4];
        t[2 * i + 1] = hex[raw[i] & 15];
    }
    t[2 * TOKEN_BYTES] = '\0';
    *out = t;
    *len = 2 * TOKEN_BYTES;
    return REDS_OK;
}

reds_err reds_lock_acquire(reds_lock *lock, const reds_lock_acquire_opts *opts, bool *acquired)
{
    static const reds_lock_acquire_opts defaults;
    if (!acquired)
        return reds__error(REDS_ERR_DATA, "reds_lock_acquire: acquired is NULL");
    *acquired = false;
    if (!lock)
        return reds__error(REDS_ERR_DATA, "reds_lock_acquire: the lock is NULL");
    if (!opts)
        opts = &defaults;
    if ((!opts->token.ptr && opts->token.len) ||
        (opts->blocking_timeout_ms.set && opts->blocking_timeout_ms.value < 0))
        return reds__error(REDS_ERR_DATA, "reds_lock_acquire: invalid token or timeout");
    char *token = NULL;
    size_t token_len = 0;
    reds_err err;
    if (opts->token.ptr) {
        token = malloc(opts->token.len + 1);
        if (!token)
            return reds__error(REDS_ERR_NOMEM, "out of memory");
        if (opts->token.len)
            memcpy(token, opts->token.ptr, opts->token.len);
        token[opts->token.len] = '\0';
        token_len = opts->token.len;
    } else if ((err = new_token(&token, &token_len))) {
        return err;
    }
    bool blocking = !(opts->non_blocking || lock->non_blocking);
    reds_opt_i64 limit =
        opts->blocking_timeout_ms.set ? opts->blocking_timeout_ms : lock->blocking_timeout_ms;
    double stop = limit.set ? now_ms() + (double)limit.value : 0;
    reds_set_opts set = {.condition = REDS_SET_CONDITION_NX};
    if (lock->timeout_ms)
        set.px = REDS_I64(lock->timeout_ms);
    bool stored = false;
    for (;;) {
        err = reds_set(lock->client, lock->name, reds_strn(token, token_len), &set, &stored);
        if (err || stored)
            break;
        if (!blocking || (limit.set && now_ms() + (double)lock->sleep_ms > stop))
            break;
        reds__sleep_us((uint64_t)lock->sleep_ms * 1000);
    }
    if (err || !stored) {
        free(token);
        return err;
    }
    forget_token(lock);
    lock->token = token;
    lock->token_len = token_len;
    *acquired = true;
    return REDS_OK;
}

/* Run one of the token-checking scripts: 1 when it did its work, 0 when
 * the lock is not this owner's (any more). */
static reds_err run_checked(reds_lock *lock, const reds_script *script, const reds_str *args,
                            size_t nargs, bool *done)
{
    reds_reply *r = NULL;
    reds_err err = reds_script_call(script, lock->client, &lock->name, 1, args, nargs, &r);
    int64_t v = 0;
    if (!err)
        err = reds_reply_int(r, &v);
    reds_free(r);
    *done = v == 1;
    return err;
}

static reds_err not_held(const char *what)
{
    return reds__error(REDS_ERR_LOCK, "Cannot %s an unlocked lock", what);
}

reds_err reds_lock_release(reds_lock *lock)
{
    if (!lock)
        return reds__error(REDS_ERR_DATA, "reds_lock_release: the lock is NULL");
    if (!lock->token)
        return not_held("release");
    char *token = lock->token;
    reds_str arg = reds_strn(token, lock->token_len);
    /* Forgotten first, as redis-py does: whatever the outcome, this
     * object does not hold the lock afterwards. */
    lock->token = NULL;
    lock->token_len = 0;
    bool done;
    reds_err err = run_checked(lock, lock->release, &arg, 1, &done);
    free(token);
    if (!err && !done)
        err = reds__error(REDS_ERR_LOCK_NOT_OWNED, "Cannot release a lock that's no longer "
                                                   "owned");
    return err;
}

static reds_err change_ttl(reds_lock *lock, const char *what, const reds_script *script, int64_t ms,
                           const char *replace)
{
    if (!lock)
        return reds__error(REDS_ERR_DATA, "reds_lock_%s: the lock is NULL", what);
    if (!lock->token)
        return not_held(what);
    if (!lock->timeout_ms)
        return reds__error(REDS_ERR_LOCK, "Cannot %s a lock with no timeout", what);
    if (ms <= 0)
        return reds__error(REDS_ERR_DATA, "reds_lock_%s: the time must be positive", what);
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)ms);
    reds_str args[3] = {reds_strn(lock->token, lock->token_len), reds_cstr(num),
                        reds_cstr(replace)};
    bool done;
    reds_err err = run_checked(lock, script, args, replace ? 3 : 2, &done);
    if (!err && !done)
        err = reds__error(REDS_ERR_LOCK_NOT_OWNED, "Cannot %s a lock that's no longer owned", what);
    return err;
}

reds_err reds_lock_extend(reds_lock *lock, int64_t additional_ms, bool replace_ttl)
{
    return change_ttl(lock, "extend", lock ? lock->extend : NULL, additional_ms,
                      replace_ttl ? "1" : "0");
}

reds_err reds_lock_reacquire(reds_lock *lock)
{
    return change_ttl(lock, "reacquire", lock ? lock->reacquire : NULL, lock ? lock->timeout_ms : 0,
                      NULL);
}

static reds_err stored_token(reds_lock *lock, const char *what, reds_str **value)
{
    *value = NULL;
    if (!lock)
        return reds__error(REDS_ERR_DATA, "reds_lock_%s: the lock is NULL", what);
    return reds_get(lock->client, lock->name, value);
}

reds_err reds_lock_owned(reds_lock *lock, bool *owned)
{
    if (!owned)
        return reds__error(REDS_ERR_DATA, "reds_lock_owned: owned is NULL");
    *owned = false;
    reds_str *v;
    reds_err err = stored_token(lock, "owned", &v);
    if (!err)
        *owned = v && lock->token && v->len == lock->token_len &&
                 memcmp(v->ptr, lock->token, v->len) == 0;
    reds_free(v);
    return err;
}

reds_err reds_lock_locked(reds_lock *lock, bool *locked)
{
    if (!locked)
        return reds__error(REDS_ERR_DATA, "reds_lock_locked: locked is NULL");
    *locked = false;
    reds_str *v;
    reds_err err = stored_token(lock, "locked", &v);
    if (!err)
        *locked = v != NULL;
    reds_free(v);
    return err;
}
