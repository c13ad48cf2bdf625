/* Options -> the resolved configuration a client and its connections
 * share. Every default is applied here, once; README.md's Defaults table
 * lists them. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_KEEPALIVE_S        60
/* redis-py's BlockingConnectionPool: max_connections=50, timeout=20. */
#define DEFAULT_BLOCKING_MAX    50
#define DEFAULT_POOL_TIMEOUT_MS 20000
/* redis-py's backoff defaults: base 8 ms, cap 512 ms. */
#define DEFAULT_BACKOFF_BASE_MS 8
#define DEFAULT_BACKOFF_CAP_MS  512
/* Reply caps: twice the server's largest value (proto-max-bulk-len, 512 MiB),
 * and 2^24 elements (640 MiB of reply nodes). */
#define DEFAULT_MAX_REPLY_BYTES    ((size_t)1024 * 1024 * 1024)
#define DEFAULT_MAX_REPLY_ELEMENTS ((size_t)1 << 24)
/* Auto-pipelining: on, over two shared connections (README,
 * "Auto-pipelining", gives the measurements behind both), at most 128
 * commands a write; no more than 256 connections shared. */
#define DEFAULT_AUTOPIPELINE_CONNECTIONS 2
#define DEFAULT_AUTOPIPELINE_BATCH       128
#define MAX_AUTOPIPELINE_CONNECTIONS     256

static char *dup_or_null(const char *s, bool *failed)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = true;
    return d;
}

void reds__wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void reds__config_free(reds__config *cfg)
{
    if (!cfg)
        return;
    free(cfg->host);
    free(cfg->unix_path);
    free(cfg->username);
    reds__wipe_free(cfg->password);
    free(cfg->client_name);
    free(cfg->tls_ca_file);
    free(cfg->tls_ca_dir);
    free(cfg->tls_cert_file);
    free(cfg->tls_key_file);
    free(cfg->tls_server_name);
    if (cfg->tls_ctx)
        reds__tls_ctx_free(cfg->tls_ctx);
    reds__resolver_unref(cfg->resolver);
    free(cfg->hooks);
    for (size_t i = 0; i < cfg->cache_nprefixes; i++)
        free(cfg->cache_prefixes[i]);
    free(cfg->cache_prefixes);
    free(cfg);
}

static reds_err check_timeout(int ms, const char *name)
{
    if (ms < 0 && ms != REDS_NO_TIMEOUT)
        return reds__error(REDS_ERR_DATA,
                           "%s must be positive, 0 (default) or "
                           "REDS_NO_TIMEOUT, not %d",
                           name, ms);
    return REDS_OK;
}

static reds_err check_positive(int v, const char *name)
{
    if (v < 0)
        return reds__error(REDS_ERR_DATA, "%s must be positive or 0 (default), not %d", name, v);
    return REDS_OK;
}

/* The TLS options other than `tls` itself, for "set without tls". */
static const char *tls_option_set(const reds_options *o)
{
    return o->tls_ca_file       ? "tls_ca_file"
           : o->tls_ca_dir      ? "tls_ca_dir"
           : o->tls_cert_file   ? "tls_cert_file"
           : o->tls_key_file    ? "tls_key_file"
           : o->tls_server_name ? "tls_server_name"
           : o->tls_verify      ? "tls_verify"
                                : NULL;
}

/* The caching options make sense together, or nothing is created. */
static reds_err check_cache(const reds_options *o)
{
    if ((unsigned)o->cache_mode > REDS_CACHE_BROADCAST)
        return reds__error(REDS_ERR_DATA, "cache_mode %d is not a reds_cache_mode value",
                           (int)o->cache_mode);
    if (o->cache_ttl_ms < 0)
        return reds__error(REDS_ERR_DATA, "cache_ttl_ms must be positive or 0 (never), not %d",
                           o->cache_ttl_ms);
    if (!o->cache_max_bytes && (o->cache_ttl_ms || o->cache_mode || o->cache_nprefixes))
        return reds__error(REDS_ERR_DATA, "cache_ttl_ms, cache_mode and cache_prefixes need "
                                          "cache_max_bytes > 0 (the cache is off)");
    if (o->cache_nprefixes && o->cache_mode != REDS_CACHE_BROADCAST)
        return reds__error(REDS_ERR_DATA, "cache_prefixes need cache_mode "
                                          "REDS_CACHE_BROADCAST: the default mode tracks the "
                                          "keys read, whatever their prefix");
    if (o->cache_nprefixes && !o->cache_prefixes)
        return reds__error(REDS_ERR_DATA, "cache_prefixes is NULL with cache_nprefixes %zu",
                           o->cache_nprefixes);
    for (size_t i = 0; i < o->cache_nprefixes; i++)
        if (!o->cache_prefixes[i])
            return reds__error(REDS_ERR_DATA, "cache_prefixes[%zu] is NULL", i);
    return REDS_OK;
}

reds_err reds__options_check(const reds_options *o)
{
    if (o->port < 0 || o->port > 65535)
        return reds__error(REDS_ERR_DATA, "port %d is out of range 1..65535", o->port);
    if (o->db < 0)
        return reds__error(REDS_ERR_DATA, "db %d is negative", o->db);
    if (o->max_connections < 0)
        return reds__error(REDS_ERR_DATA, "max_connections %d is negative", o->max_connections);
    if (o->keepalive_s < 0 && o->keepalive_s != REDS_DISABLED)
        return reds__error(REDS_ERR_DATA,
                           "keepalive_s must be positive, 0 (default) or "
                           "REDS_DISABLED, not %d",
                           o->keepalive_s);
    if (o->username && !o->password)
        return reds__error(REDS_ERR_DATA, "a username needs a password");
    reds_err err = check_timeout(o->connect_timeout_ms, "connect_timeout_ms");
    if (!err)
        err = check_timeout(o->socket_timeout_ms, "socket_timeout_ms");
    if (!err)
        err = check_timeout(o->pool_timeout_ms, "pool_timeout_ms");
    if (!err)
        err = check_positive(o->health_check_interval_ms, "health_check_interval_ms");
    if (!err)
        err = check_timeout(o->command_timeout_ms, "command_timeout_ms");
    if (!err)
        err = check_positive(o->retries, "retries");
    if (!err)
        err = check_positive(o->retry_backoff_base_ms, "retry_backoff_base_ms");
    if (!err)
        err = check_positive(o->retry_backoff_cap_ms, "retry_backoff_cap_ms");
    if (!err)
        err = check_positive(o->autopipeline_connections, "autopipeline_connections");
    if (!err)
        err = check_positive(o->autopipeline_max_batch, "autopipeline_max_batch");
    if (err)
        return err;
    if (o->autopipeline != 0 && o->autopipeline != 1 && o->autopipeline != REDS_DISABLED)
        return reds__error(REDS_ERR_DATA,
                           "autopipeline must be 1 (on), REDS_DISABLED (off) or 0 (the "
                           "default), not %d",
                           o->autopipeline);
    if (o->autopipeline_connections > MAX_AUTOPIPELINE_CONNECTIONS)
        return reds__error(REDS_ERR_DATA, "autopipeline_connections %d is more than %d",
                           o->autopipeline_connections, MAX_AUTOPIPELINE_CONNECTIONS);
    if (o->autopipeline == REDS_DISABLED &&
        (o->autopipeline_connections || o->autopipeline_max_batch))
        return reds__error(REDS_ERR_DATA, "autopipeline_connections and autopipeline_max_batch "
                                          "need autopipeline on");
    if (o->pool_timeout_ms && !o->pool_blocking)
        return reds__error(REDS_ERR_DATA, "pool_timeout_ms needs pool_blocking: a pool that "
                                          "does not block never waits");
    if (o->retry_writes && !o->retries)
        return reds__error(REDS_ERR_DATA, "retry_writes needs retries > 0");
    if ((unsigned)o->tls_verify > REDS_TLS_VERIFY_NONE_INSECURE)
        return reds__error(REDS_ERR_DATA, "tls_verify %d is not a reds_tls_verify value",
                           (int)o->tls_verify);
    const char *tls_opt = tls_option_set(o);
    if (!o->tls && tls_opt)
        return reds__error(REDS_ERR_DATA, "%s is set but tls is off", tls_opt);
    if (o->tls && o->unix_path)
        return reds__error(REDS_ERR_DATA, "tls needs TCP: it cannot be used with unix_path");
    if (o->tls_key_file && !o->tls_cert_file)
        return reds__error(REDS_ERR_DATA, "tls_key_file needs tls_cert_file");
    return check_cache(o);
}

reds_err reds__config_new(const reds_options *opts, reds__config **out)
{
    static const reds_options none;
    *out = NULL;
    if (!opts)
        opts = &none;
    reds_err err = reds__options_check(opts);
    if (err)
        return err;
    reds__config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    bool failed = false;
    cfg->host = dup_or_null(opts->host ? opts->host : "127.0.0.1", &failed);
    cfg->port = opts->port ? opts->port : 6379;
    cfg->unix_path = dup_or_null(opts->unix_path, &failed);
    cfg->username = dup_or_null(opts->username, &failed);
    cfg->password = dup_or_null(opts->password, &failed);
    cfg->db = opts->db;
    cfg->client_name = dup_or_null(opts->client_name, &failed);
    /* Stored resolved: 0 means "no timeout" / "no keepalive" from here on. */
    cfg->connect_timeout_ms = opts->connect_timeout_ms == 0  ? DEFAULT_CONNECT_TIMEOUT_MS
                              : opts->connect_timeout_ms < 0 ? 0
                                                             : opts->connect_timeout_ms;
    cfg->socket_timeout_ms = opts->socket_timeout_ms < 0 ? 0 : opts->socket_timeout_ms;
    cfg->keepalive_s = opts->keepalive_s == 0  ? DEFAULT_KEEPALIVE_S
                       : opts->keepalive_s < 0 ? 0
                                               : opts->keepalive_s;
    cfg->max_connections = opts->max_connections;
    cfg->pool_blocking = opts->pool_blocking;
    if (opts->pool_blocking) {
        if (!cfg->max_connections)
            cfg->max_connections = DEFAULT_BLOCKING_MAX;
        cfg->pool_timeout_ms = opts->pool_timeout_ms == 0  ? DEFAULT_POOL_TIMEOUT_MS
                               : opts->pool_timeout_ms < 0 ? 0
                                                           : opts->pool_timeout_ms;
    }
    cfg->health_check_interval_ms = opts->health_check_interval_ms;
    cfg->retries = opts->retries;
    cfg->retry_backoff_base_ms =
        opts->retry_backoff_base_ms ? opts->retry_backoff_base_ms : DEFAULT_BACKOFF_BASE_MS;
    cfg->retry_backoff_cap_ms =
        opts->retry_backoff_cap_ms ? opts->retry_backoff_cap_ms : DEFAULT_BACKOFF_CAP_MS;
    cfg->retry_writes = opts->retry_writes;
    cfg->command_timeout_ms = opts->command_timeout_ms < 0 ? 0 : opts->command_timeout_ms;
    cfg->max_reply_bytes = opts->max_reply_bytes ? opts->max_reply_bytes : DEFAULT_MAX_REPLY_BYTES;
    cfg->max_reply_elements =
        opts->max_reply_elements ? opts->max_reply_elements : DEFAULT_MAX_REPLY_ELEMENTS;
    cfg->tls = opts->tls;
    cfg->tls_verify = opts->tls_verify;
    cfg->tls_ca_file = dup_or_null(opts->tls_ca_file, &failed);
    cfg->tls_ca_dir = dup_or_null(opts->tls_ca_dir, &failed);
    cfg->tls_cert_file = dup_or_null(opts->tls_cert_file, &failed);
    cfg->tls_key_file = dup_or_null(opts->tls_key_file, &failed);
    cfg->tls_server_name = dup_or_null(opts->tls_server_name, &failed);
    /* A copy: the caller's struct need not outlive the client. No hook
     * set is no hooks at all, so that commands do not trace for nothing. */
    if (opts->hooks && (opts->hooks->on_command || opts->hooks->on_connection)) {
        if ((cfg->hooks = calloc(1, sizeof *cfg->hooks)) != NULL) {
            cfg->hooks->user = *opts->hooks;
            atomic_init(&cfg->hooks->lost, 0);
        } else {
            failed = true;
        }
    }
    cfg->credentials = opts->credentials;
    cfg->credentials_udata = opts->credentials_udata;
    cfg->autopipeline = opts->autopipeline == REDS_DISABLED ? 0
                        : opts->autopipeline_connections    ? opts->autopipeline_connections
                                                            : DEFAULT_AUTOPIPELINE_CONNECTIONS;
    cfg->autopipeline_max_batch =
        opts->autopipeline_max_batch ? opts->autopipeline_max_batch : DEFAULT_AUTOPIPELINE_BATCH;
    cfg->cache_max_bytes = opts->cache_max_bytes;
    cfg->cache_ttl_ms = opts->cache_ttl_ms;
    cfg->cache_mode = opts->cache_mode;
    if (opts->cache_nprefixes) {
        cfg->cache_prefixes = calloc(opts->cache_nprefixes, sizeof *cfg->cache_prefixes);
        if (cfg->cache_prefixes) {
            cfg->cache_nprefixes = opts->cache_nprefixes;
            for (size_t i = 0; i < opts->cache_nprefixes; i++)
                cfg->cache_prefixes[i] = dup_or_null(opts->cache_prefixes[i], &failed);
        } else {
            failed = true;
        }
    }
    if (failed) {
        reds__config_free(cfg);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    /* Certificates and keys are read now: a wrong path fails here, not at
     * the first command. */
    if (cfg->tls && (err = reds__tls_ctx_new(cfg, &cfg->tls_ctx)) != REDS_OK) {
        reds__config_free(cfg);
        return err;
    }
    *out = cfg;
    return REDS_OK;
}

/* The options that make `cfg` again (resolved values written out),
 * caching aside: a copy serves a dedicated handle or a pub/sub handle,
 * which are never cached and must not turn tracking on. */
static reds_options options_of(const reds__config *cfg)
{
    reds_options o = {
        .host = cfg->host,
        .port = cfg->port,
        .unix_path = cfg->unix_path,
        .username = cfg->username,
        .password = cfg->password,
        .db = cfg->db,
        .client_name = cfg->client_name,
        .connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : REDS_NO_TIMEOUT,
        .socket_timeout_ms = cfg->socket_timeout_ms ? cfg->socket_timeout_ms : REDS_NO_TIMEOUT,
        .keepalive_s = cfg->keepalive_s ? cfg->keepalive_s : REDS_DISABLED,
        .max_connections = cfg->max_connections,
        .tls = cfg->tls,
        .tls_verify = (reds_tls_verify)cfg->tls_verify,
        .tls_ca_file = cfg->tls_ca_file,
        .tls_ca_dir = cfg->tls_ca_dir,
        .tls_cert_file = cfg->tls_cert_file,
        .tls_key_file = cfg->tls_key_file,
        .tls_server_name = cfg->tls_server_name,
        .pool_blocking = cfg->pool_blocking,
        .pool_timeout_ms = !cfg->pool_blocking    ? 0
                           : cfg->pool_timeout_ms ? cfg->pool_timeout_ms
                                                  : REDS_NO_TIMEOUT,
        .health_check_interval_ms = cfg->health_check_interval_ms,
        .retries = cfg->retries,
        .retry_backoff_base_ms = cfg->retry_backoff_base_ms,
        .retry_backoff_cap_ms = cfg->retry_backoff_cap_ms,
        .retry_writes = cfg->retry_writes,
        .command_timeout_ms = cfg->command_timeout_ms ? cfg->command_timeout_ms : REDS_NO_TIMEOUT,
        .max_reply_bytes = cfg->max_reply_bytes,
        .max_reply_elements = cfg->max_reply_elements,
        .hooks = cfg->hooks ? &cfg->hooks->user : NULL,
        .credentials = cfg->credentials,
        .credentials_udata = cfg->credentials_udata,
        .autopipeline = cfg->autopipeline ? 1 : REDS_DISABLED,
        .autopipeline_connections = cfg->autopipeline,
        .autopipeline_max_batch = cfg->autopipeline ? cfg->autopipeline_max_batch : 0,
    };
    return o;
}

reds_err reds__config_copy(const reds__config *cfg, reds__config **out)
{
    reds_options o = options_of(cfg);
    reds_err err = reds__config_new(&o, out);
    if (!err)
        (*out)->readonly = cfg->readonly;
    /* A copy goes where the original goes (a Sentinel-managed master). */
    if (!err && cfg->resolver) {
        reds__resolver_ref(cfg->resolver);
        (*out)->resolver = cfg->resolver;
    }
    return err;
}
