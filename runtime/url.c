/* Redis URLs (redis-py's from_url): parse on top of caller options,
 * format for logs, redact.
 *
 * Secrets: a message never quotes the user information, host, port or
 * path, where a password with an unencoded '/', '?' or '#' would end up
 * (redis://:pa/ss@host splits before the '@'). Such URLs are refused as
 * a whole, with the hint to percent-encode, before anything else is
 * looked at; only option names and values of known options are quoted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reds/url.h>

#include "internal.h"

#define URL_ERROR(...) reds__error(REDS_ERR_DATA, "URL: " __VA_ARGS__)

typedef enum scheme { SCHEME_REDIS, SCHEME_REDISS, SCHEME_UNIX } scheme;

/* ------------------------------------------------------------- decoding */

/* Strings of the result, bump-allocated in its block. */
typedef struct bump {
    char *p, *end;
} bump;

static int hex(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Copy `n` bytes of `s`, percent-decoded ('+' is a space when `plus`, as
 * in query strings); NULL for a bad escape or an encoded NUL. */
static char *decode(bump *b, const char *s, size_t n, bool plus)
{
    if ((size_t)(b->end - b->p) < n + 1)
        return NULL; /* cannot happen: the block is sized for it */
    char *d = b->p, *w = d;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (n - i < 3 || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0)
                return NULL;
            char c = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            if (!c)
                return NULL;
            *w++ = c;
            i += 2;
        } else {
            *w++ = plus && s[i] == '+' ? ' ' : s[i];
        }
    }
    *w++ = '\0';
    b->p = w;
    return d;
}

static const char *copy(bump *b, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *d = b->p;
    memcpy(d, s, n + 1);
    b->p += n + 1;
    return d;
}

/* -------------------------------------------------------- query options */

typedef enum opt_type {
    T_COUNT,    /* a whole number, 0 or more */
    T_POSITIVE, /* a whole number, 1 or more */
    T_SECONDS,  /* decimal seconds above 0, stored as ms */
    T_SECONDS_OR_0,
    T_BOOL,     /* true/false, yes/no, 1/0 */
    T_STRING,   /* not empty */
    T_CERT_REQS /* none, optional, required */
} opt_type;

enum {
    Q_DB,
    Q_SOCKET_TIMEOUT,
    Q_SOCKET_CONNECT_TIMEOUT,
    Q_SOCKET_KEEPALIVE,
    Q_HEALTH_CHECK_INTERVAL,
    Q_MAX_CONNECTIONS,
    Q_CLIENT_NAME,
    Q_POOL_BLOCKING,
    Q_POOL_TIMEOUT,
    Q_RETRIES,
    Q_RETRY_ON_TIMEOUT,
    Q_SSL_CERT_REQS,
    Q_SSL_CHECK_HOSTNAME,
    Q_SSL_CA_CERTS,
    Q_SSL_CA_PATH,
    Q_SSL_CERTFILE,
    Q_SSL_KEYFILE,
    Q_SSL_SERVER_NAME,
    Q__COUNT
};

static const struct {
    const char *name;
    opt_type type;
    bool tls; /* rediss:// only */
} options[Q__COUNT] = {
    [Q_DB] = {"db", T_COUNT, false},
    [Q_SOCKET_TIMEOUT] = {"socket_timeout", T_SECONDS, false},
    [Q_SOCKET_CONNECT_TIMEOUT] = {"socket_connect_timeout", T_SECONDS, false},
    [Q_SOCKET_KEEPALIVE] = {"socket_keepalive", T_BOOL, false},
    [Q_HEALTH_CHECK_INTERVAL] = {"health_check_interval", T_SECONDS_OR_0, false},
    [Q_MAX_CONNECTIONS] = {"max_connections", T_POSITIVE, false},
    [Q_CLIENT_NAME] = {"client_name", T_STRING, false},
    [Q_POOL_BLOCKING] = {"pool_blocking", T_BOOL, false},
    [Q_POOL_TIMEOUT] = {"pool_timeout", T_SECONDS, false},
    [Q_RETRIES] = {"retries", T_COUNT, false},
    [Q_RETRY_ON_TIMEOUT] = {"retry_on_timeout", T_BOOL, false},
    [Q_SSL_CERT_REQS] = {"ssl_cert_reqs", T_CERT_REQS, true},
    [Q_SSL_CHECK_HOSTNAME] = {"ssl_check_hostname", T_BOOL, true},
    [Q_SSL_CA_CERTS] = {"ssl_ca_certs", T_STRING, true},
    [Q_SSL_CA_PATH] = {"ssl_ca_path", T_STRING, true},
    [Q_SSL_CERTFILE] = {"ssl_certfile", T_STRING, true},
    [Q_SSL_KEYFILE] = {"ssl_keyfile", T_STRING, true},
    [Q_SSL_SERVER_NAME] = {"ssl_server_name", T_STRING, true},
};

static const char *const type_wants[] = {
    [T_COUNT] = "a whole number (0 or more)",
    [T_POSITIVE] = "a whole number (1 or more)",
    [T_SECONDS] = "a number of seconds above 0 (like 2 or 0.5)",
    [T_SECONDS_OR_0] = "a number of seconds (like 30 or 0.5; 0 is off)",
    [T_BOOL] = "true, false, yes, no, 1 or 0",
    [T_STRING] = "a non-empty string",
    [T_CERT_REQS] = "none, optional or required",
};

static bool parse_whole(const char *s, int *out)
{
    long long v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (*s - '0');
        if (v > 0x7fffffff)
            return false;
    }
    *out = (int)v;
    return true;
}

/* Decimal seconds to whole milliseconds, rounded up, without strtod (which
 * follows the locale's decimal point). */
static bool parse_seconds(const char *s, int *ms)
{
    long long whole = 0, frac = 0;
    int digits = 0, fdigits = 0;
    bool rest = false; /* digits beyond milliseconds */
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        whole = whole * 10 + (*s - '0');
        if (whole > 0x7fffffff / 1000)
            return false;
    }
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
            if (fdigits < 3) {
                frac = frac * 10 + (*s - '0');
                fdigits++;
            } else if (*s != '0') {
                rest = true;
            }
        }
    }
    if (*s || !digits)
        return false;
    for (; fdigits < 3; fdigits++)
        frac *= 10;
    long long v = whole * 1000 + frac + (rest ? 1 : 0);
    if (v > 0x7fffffff)
        return false;
    *ms = (int)v;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "1"}, *const no[] = {"false", "no", "0"};
    for (int i = 0; i < 3; i++) {
        if (reds__ascii_caseeq(s, yes[i]) || reds__ascii_caseeq(s, no[i])) {
            *out = reds__ascii_caseeq(s, yes[i]);
            return true;
        }
    }
    return false;
}

/* One parsed value, by type. */
typedef struct value {
    int i; /* counts, ms, cert_reqs (0 none, 1 optional, 2 required) */
    bool b;
    const char *s;
} value;

static bool parse_value(opt_type type, const char *s, value *v)
{
    v->s = s;
    switch (type) {
    case T_COUNT:
        return parse_whole(s, &v->i);
    case T_POSITIVE:
        return parse_whole(s, &v->i) && v->i > 0;
    case T_SECONDS:
        return parse_seconds(s, &v->i) && v->i > 0;
    case T_SECONDS_OR_0:
        return parse_seconds(s, &v->i);
    case T_BOOL:
        return parse_bool(s, &v->b);
    case T_STRING:
        return *s != '\0';
    case T_CERT_REQS:
        v->i = reds__ascii_caseeq(s, "none")       ? 0
               : reds__ascii_caseeq(s, "optional") ? 1
               : reds__ascii_caseeq(s, "required") ? 2
                                                   : -1;
        return v->i >= 0;
    }
    return false;
}

/* --------------------------------------------------------------- parsing */

static bool scheme_of(const char *s, size_t n, scheme *out)
{
    static const struct {
        const char *name;
        scheme kind;
    } known[] = {{"redis", SCHEME_REDIS}, {"rediss", SCHEME_REDISS}, {"unix", SCHEME_UNIX}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strlen(known[i].name) == n && reds__ascii_ncaseeq(s, known[i].name, n)) {
            *out = known[i].kind;
            return true;
        }
    }
    return false;
}

static bool plausible_scheme(const char *s, size_t n)
{
    if (!n || n > 16 || !((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.", s[i]))
            return false;
    return true;
}

static size_t base_bytes(const reds_options *o)
{
    const char *const s[] = {o->host,         o->unix_path,      o->username,   o->password,
                             o->client_name,  o->tls_ca_file,    o->tls_ca_dir, o->tls_cert_file,
                             o->tls_key_file, o->tls_server_name};
    size_t n = 0;
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        n += s[i] ? strlen(s[i]) + 1 : 0;
    /* cache_prefixes: an aligned array of pointers, and the strings. */
    if (o->cache_prefixes && o->cache_nprefixes) {
        n += sizeof(char *) + o->cache_nprefixes * sizeof(char *);
        for (size_t i = 0; i < o->cache_nprefixes; i++)
            n += o->cache_prefixes[i] ? strlen(o->cache_prefixes[i]) + 1 : 0;
    }
    return n;
}

static void copy_base(bump *b, reds_options *o)
{
    o->host = copy(b, o->host);
    o->unix_path = copy(b, o->unix_path);
    o->username = copy(b, o->username);
    o->password = copy(b, o->password);
    o->client_name = copy(b, o->client_name);
    o->tls_ca_file = copy(b, o->tls_ca_file);
    o->tls_ca_dir = copy(b, o->tls_ca_dir);
    o->tls_cert_file = copy(b, o->tls_cert_file);
    o->tls_key_file = copy(b, o->tls_key_file);
    o->tls_server_name = copy(b, o->tls_server_name);
    if (o->cache_prefixes && o->cache_nprefixes) {
        uintptr_t at = ((uintptr_t)b->p + sizeof(char *) - 1) & ~(uintptr_t)(sizeof(char *) - 1);
        const char **prefixes = (const char **)at;
        b->p = (char *)(prefixes + o->cache_nprefixes);
        for (size_t i = 0; i < o->cache_nprefixes; i++)
            prefixes[i] = copy(b, o->cache_prefixes[i]);
        o->cache_prefixes = prefixes;
    }
}

/* The host of a redis:// URL: "[v6]" or a name; `*host` NULL when empty. */
static reds_err parse_hostport(bump *b, const char *s, size_t n, const char **host, int *port)
{
    const char *colon;
    *host = NULL;
    *port = 0;
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return URL_ERROR("an IPv6 address needs its closing ']'");
        size_t hn = (size_t)(close - s - 1);
        /* Hex digits, ':' and '.', then an optional %25zone. */
        size_t addr = strspn(s + 1, "0123456789abcdefABCDEF:.");
        if (addr > hn)
            addr = hn;
        if (!hn || !memchr(s + 1, ':', addr) ||
            (addr < hn && (hn - addr < 3 || memcmp(s + 1 + addr, "%25", 3) != 0)))
            return URL_ERROR("the bracketed host is not an IPv6 address");
        if (!(*host = decode(b, s + 1, hn, false)))
            return URL_ERROR("bad percent-encoding in the host");
        colon = close + 1 < s + n ? close + 1 : NULL;
        if (colon && *colon != ':')
            return URL_ERROR("unexpected characters after the IPv6 address");
    } else {
        colon = memchr(s, ':', n);
        size_t hn = colon ? (size_t)(colon - s) : n;
        if (hn && !(*host = decode(b, s, hn, false)))
            return URL_ERROR("bad percent-encoding in the host");
        if (*host && (*host)[strcspn(*host, " /?#@[]\\")] != '\0')
            return URL_ERROR("the host has characters a host name cannot have");
    }
    if (colon) {
        const char *p = colon + 1, *end = s + n;
        int v = 0;
        if (p == end)
            return REDS_OK; /* "host:" is the default port (RFC 3986) */
        for (; p < end; p++) {
            if (*p < '0' || *p > '9' || (v = v * 10 + (*p - '0')) > 65535)
                return URL_ERROR("the port is not a number in 1..65535");
        }
        if (!v)
            return URL_ERROR("the port is not a number in 1..65535");
        *port = v;
    }
    return REDS_OK;
}

reds_err reds_url_parse(const char *url, const reds_options *base, reds_options **out)
{
    static const reds_options none;
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_url_parse: out is NULL");
    *out = NULL;
    if (!url)
        return reds__error(REDS_ERR_DATA, "reds_url_parse: the URL is NULL");
    if (!base)
        base = &none;

    const char *sep = strstr(url, "://");
    scheme kind;
    if (!sep || !scheme_of(url, (size_t)(sep - url), &kind)) {
        if (sep && plausible_scheme(url, (size_t)(sep - url)))
            return URL_ERROR("unsupported scheme '%.*s': use redis://, rediss:// or unix://",
                             (int)(sep - url), url);
        return URL_ERROR("it must start with redis://, rediss:// or unix://");
    }
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *after = auth + alen;
    /* A password with an unencoded '/', '?' or '#' splits early: refuse
     * before quoting anything. */
    if (strchr(after, '@'))
        return URL_ERROR("'@' after the host: percent-encode '@', ':', '/', '?' and '#' in the "
                         "user name and password (%%40, %%3A, %%2F, %%3F, %%23)");
    if (strchr(after, '#'))
        return URL_ERROR("a fragment ('#...') has no meaning in a Redis URL");
    size_t plen = strcspn(after, "?");
    const char *query = after[plen] == '?' ? after + plen + 1 : NULL;

    size_t total = sizeof(reds_options) + 2 * strlen(url) + 2 + base_bytes(base);
    reds_options *o = reds__alloc_secret(total);
    if (!o)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    bump b = {(char *)(o + 1), (char *)o + total};
    *o = *base;
    copy_base(&b, o);
    reds_err err = REDS_OK;

    /* User information: up to the last '@' of the authority. */
    const char *at = NULL;
    for (const char *p = auth; p < after; p++)
        if (*p == '@')
            at = p;
    const char *user = NULL, *password = NULL;
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        size_t ulen = colon ? (size_t)(colon - auth) : (size_t)(at - auth);
        user = decode(&b, auth, ulen, false);
        password = colon ? decode(&b, colon + 1, (size_t)(at - colon - 1), false) : "";
        if (!user || !password) {
            err = URL_ERROR("bad percent-encoding in the user name or password");
            goto fail;
        }
    }
    const char *hostport = at ? at + 1 : auth;
    size_t hplen = (size_t)(after - hostport);

    if (kind == SCHEME_UNIX) {
        if (hplen) {
            err = URL_ERROR("a unix:// URL has no host: the socket's path follows the "
                            "'//' (unix:///path/to.sock)");
            goto fail;
        }
        const char *path = plen ? decode(&b, after, plen, false) : NULL;
        if (!plen || !path) {
            err = plen ? URL_ERROR("bad percent-encoding in the path")
                       : URL_ERROR("a unix:// URL needs the socket's path");
            goto fail;
        }
        o->unix_path = path;
        o->tls = false;
    } else {
        const char *host;
        int port;
        if ((err = parse_hostport(&b, hostport, hplen, &host, &port)) != REDS_OK)
            goto fail;
        if (host)
            o->host = host;
        if (port)
            o->port = port;
        o->unix_path = NULL;
        o->tls = kind == SCHEME_REDISS;
        /* The path is a database number: "/3". */
        if (plen > 1) {
            const char *path = decode(&b, after + 1, plen - 1, false);
            if (!path || !parse_whole(path, &o->db)) {
                err = path ? URL_ERROR("the path '/%.32s' is not a database number", path)
                           : URL_ERROR("bad percent-encoding in the path");
                goto fail;
            }
        }
    }
    /* As redis-py: an empty user name or password is none. */
    if (user && *user)
        o->username = user;
    if (password && *password)
        o->password = password;

    bool seen[Q__COUNT] = {false};
    value values[Q__COUNT];
    memset(values, 0, sizeof values);
    for (const char *q = query; q && *q;) {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        const char *name = n ? decode(&b, q, eq ? (size_t)(eq - q) : n, true) : "";
        if (!name) {
            err = URL_ERROR("bad percent-encoding in a query option's name");
            goto fail;
        }
        if (n) {
            int id = 0;
            while (id < Q__COUNT && strcmp(options[id].name, name))
                id++;
            const char *text = eq ? decode(&b, eq + 1, n - (size_t)(eq + 1 - q), true) : NULL;
            if (id == Q__COUNT)
                err = URL_ERROR("unknown option '%.64s'", name);
            else if (!eq)
                err = URL_ERROR("option '%s' has no value", name);
            else if (!text)
                err = URL_ERROR("option '%s': bad percent-encoding", name);
            else if (seen[id])
                err = URL_ERROR("option '%s' is given twice", name);
            else if (options[id].tls && kind != SCHEME_REDISS)
                err = URL_ERROR("option '%s' needs a rediss:// URL", name);
            else if (!parse_value(options[id].type, text, &values[id]))
                err = URL_ERROR("option '%s' must be %s, not '%.64s'", name,
                                type_wants[options[id].type], text);
            if (err)
                goto fail;
            seen[id] = true;
        }
        q += n;
        if (*q == '&')
            q++;
    }

    /* Query over path over `base`. */
    if (seen[Q_DB])
        o->db = values[Q_DB].i;
    if (seen[Q_SOCKET_TIMEOUT])
        o->socket_timeout_ms = values[Q_SOCKET_TIMEOUT].i;
    if (seen[Q_SOCKET_CONNECT_TIMEOUT])
        o->connect_timeout_ms = values[Q_SOCKET_CONNECT_TIMEOUT].i;
    if (seen[Q_SOCKET_KEEPALIVE])
        o->keepalive_s = !values[Q_SOCKET_KEEPALIVE].b ? REDS_DISABLED
                         : o->keepalive_s > 0          ? o->keepalive_s
                                                       : 0;
    if (seen[Q_HEALTH_CHECK_INTERVAL])
        o->health_check_interval_ms = values[Q_HEALTH_CHECK_INTERVAL].i;
    if (seen[Q_MAX_CONNECTIONS])
        o->max_connections = values[Q_MAX_CONNECTIONS].i;
    if (seen[Q_CLIENT_NAME])
        o->client_name = values[Q_CLIENT_NAME].s;
    if (seen[Q_POOL_BLOCKING])
        o->pool_blocking = values[Q_POOL_BLOCKING].b;
    if (seen[Q_POOL_TIMEOUT]) {
        if (seen[Q_POOL_BLOCKING] && !o->pool_blocking) {
            err = URL_ERROR("option 'pool_timeout' needs pool_blocking=true");
            goto fail;
        }
        o->pool_blocking = true;
        o->pool_timeout_ms = values[Q_POOL_TIMEOUT].i;
    }
    if (seen[Q_RETRIES])
        o->retries = values[Q_RETRIES].i;
    if (seen[Q_RETRY_ON_TIMEOUT]) {
        /* redis-py: retry_on_timeout=True retries once, any command. */
        o->retry_writes = values[Q_RETRY_ON_TIMEOUT].b;
        if (o->retry_writes && !o->retries)
            o->retries = 1;
    }
    if (seen[Q_SSL_CA_CERTS])
        o->tls_ca_file = values[Q_SSL_CA_CERTS].s;
    if (seen[Q_SSL_CA_PATH])
        o->tls_ca_dir = values[Q_SSL_CA_PATH].s;
    if (seen[Q_SSL_CERTFILE])
        o->tls_cert_file = values[Q_SSL_CERTFILE].s;
    if (seen[Q_SSL_KEYFILE])
        o->tls_key_file = values[Q_SSL_KEYFILE].s;
    if (seen[Q_SSL_SERVER_NAME])
        o->tls_server_name = values[Q_SSL_SERVER_NAME].s;
    if (seen[Q_SSL_CERT_REQS]) {
        if (values[Q_SSL_CERT_REQS].i == 0 && seen[Q_SSL_CHECK_HOSTNAME] &&
            values[Q_SSL_CHECK_HOSTNAME].b) {
            err = URL_ERROR("ssl_check_hostname=true cannot go with ssl_cert_reqs=none");
            goto fail;
        }
        /* "optional" is "required" for a client: a server always shows a
         * certificate. */
        o->tls_verify =
            values[Q_SSL_CERT_REQS].i == 0 ? REDS_TLS_VERIFY_NONE_INSECURE : REDS_TLS_VERIFY_FULL;
    }
    if (seen[Q_SSL_CHECK_HOSTNAME]) {
        if (values[Q_SSL_CHECK_HOSTNAME].b)
            o->tls_verify = REDS_TLS_VERIFY_FULL;
        else if (o->tls_verify != REDS_TLS_VERIFY_NONE_INSECURE)
            o->tls_verify = REDS_TLS_VERIFY_CHAIN;
    }
    if ((err = reds__options_check(o)) != REDS_OK)
        goto fail;
    *out = o;
    return REDS_OK;
fail:
    reds_free(o);
    return err;
}

reds_err reds__from_url(const char *fn, const char *url, const reds_options *base,
                        reds_err (*make)(const reds_options *opts, reds_client **out),
                        reds_client **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "%s: out is NULL", fn);
    *out = NULL;
    reds_options *o;
    reds_err err = reds_url_parse(url, base, &o);
    if (err)
        return err;
    err = make(o, out);
    reds_free(o);
    return err;
}

reds_err reds_client_from_url(const char *url, const reds_options *base, reds_client **out)
{
    return reds__from_url("reds_client_from_url", url, base, reds_client_new, out);
}

/* ------------------------------------------------------------ formatting */

static reds_err to_result(char *buf, size_t len, reds_str **out)
{
    reds_str *s = buf ? reds_alloc(sizeof *s + len + 1) : NULL;
    if (!s) {
        free(buf);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    char *p = (char *)(s + 1);
    memcpy(p, buf, len);
    p[len] = '\0';
    s->ptr = p;
    s->len = len;
    free(buf);
    *out = s;
    return REDS_OK;
}

static void put_encoded(FILE *f, const char *s, const char *keep)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~", c) || (keep && strchr(keep, c)))
            fputc(c, f);
        else
            fprintf(f, "%%%02X", c);
    }
}

static void put_seconds(FILE *f, int ms)
{
    if (ms % 1000 == 0) {
        fprintf(f, "%d", ms / 1000);
        return;
    }
    char frac[8];
    snprintf(frac, sizeof frac, "%03d", ms % 1000);
    for (int i = 2; i > 0 && frac[i] == '0'; i--)
        frac[i] = '\0';
    fprintf(f, "%d.%s", ms / 1000, frac);
}

/* "?name=" or "&name=" */
static void put_option(FILE *f, bool *first, const char *name)
{
    fprintf(f, "%c%s=", *first ? '?' : '&', name);
    *first = false;
}

reds_err reds_url_format(const reds_options *opts, reds_str **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_url_format: out is NULL");
    *out = NULL;
    if (!opts)
        return reds__error(REDS_ERR_DATA, "reds_url_format: the options are NULL");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    fputs(opts->unix_path ? "unix://" : opts->tls ? "rediss://" : "redis://", f);
    if (opts->username || opts->password) {
        if (opts->username)
            put_encoded(f, opts->username, NULL);
        fputs(opts->password ? ":***@" : "@", f);
    }
    bool first = true;
    if (opts->unix_path) {
        put_encoded(f, opts->unix_path, "/");
        if (opts->db) {
            put_option(f, &first, "db");
            fprintf(f, "%d", opts->db);
        }
    } else {
        const char *host = opts->host ? opts->host : "127.0.0.1";
        /* Brackets for what reds_url_parse() reads back from them, an
         * IPv6 address (hex digits, ':' and '.', then any %zone); any
         * other ':' (a host given as "a%3Ab") is percent-encoded. */
        size_t addr = strspn(host, "0123456789abcdefABCDEF:.");
        if (memchr(host, ':', addr) && (host[addr] == '\0' || host[addr] == '%')) {
            fputc('[', f);
            put_encoded(f, host, ":");
            fputc(']', f);
        } else {
            put_encoded(f, host, NULL);
        }
        fprintf(f, ":%d", opts->port ? opts->port : 6379);
        if (opts->db)
            fprintf(f, "/%d", opts->db);
    }
    const struct {
        const char *name;
        int ms;
    } seconds[] = {
        {"socket_timeout", opts->socket_timeout_ms},
        {"socket_connect_timeout", opts->connect_timeout_ms},
        {"health_check_interval", opts->health_check_interval_ms},
    };
    for (size_t i = 0; i < sizeof seconds / sizeof seconds[0]; i++) {
        if (seconds[i].ms > 0) {
            put_option(f, &first, seconds[i].name);
            put_seconds(f, seconds[i].ms);
        }
    }
    if (opts->keepalive_s == REDS_DISABLED) {
        put_option(f, &first, "socket_keepalive");
        fputs("false", f);
    }
    if (opts->max_connections > 0) {
        put_option(f, &first, "max_connections");
        fprintf(f, "%d", opts->max_connections);
    }
    if (opts->client_name) {
        put_option(f, &first, "client_name");
        put_encoded(f, opts->client_name, NULL);
    }
    if (opts->pool_blocking) {
        put_option(f, &first, "pool_blocking");
        fputs("true", f);
        if (opts->pool_timeout_ms > 0) {
            put_option(f, &first, "pool_timeout");
            put_seconds(f, opts->pool_timeout_ms);
        }
    }
    if (opts->retries > 0) {
        put_option(f, &first, "retries");
        fprintf(f, "%d", opts->retries);
    }
    if (opts->retry_writes) {
        put_option(f, &first, "retry_on_timeout");
        fputs("true", f);
    }
    if (opts->tls && !opts->unix_path) {
        if (opts->tls_verify == REDS_TLS_VERIFY_NONE_INSECURE) {
            put_option(f, &first, "ssl_cert_reqs");
            fputs("none", f);
        } else if (opts->tls_verify == REDS_TLS_VERIFY_CHAIN) {
            put_option(f, &first, "ssl_check_hostname");
            fputs("false", f);
        }
        const struct {
            const char *name, *value;
        } paths[] = {
            {"ssl_ca_certs", opts->tls_ca_file},        {"ssl_ca_path", opts->tls_ca_dir},
            {"ssl_certfile", opts->tls_cert_file},      {"ssl_keyfile", opts->tls_key_file},
            {"ssl_server_name", opts->tls_server_name},
        };
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
            if (paths[i].value) {
                put_option(f, &first, paths[i].name);
                put_encoded(f, paths[i].value, "/");
            }
        }
    }
    if (fclose(f) != 0) {
        free(buf);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    return to_result(buf, len, out);
}

reds_err reds_url_redact(const char *url, reds_str **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_url_redact: out is NULL");
    *out = NULL;
    if (!url)
        return reds__error(REDS_ERR_DATA, "reds_url_redact: the URL is NULL");
    const char *sep = strstr(url, "://");
    const char *start = sep ? sep + 3 : url;
    const char *at = strrchr(start, '@');
    const char *colon = at ? memchr(start, ':', (size_t)(at - start)) : NULL;
    size_t len = strlen(url);
    char *buf = malloc(len + 4);
    if (!buf)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    size_t n;
    if (colon) {
        size_t head = (size_t)(colon + 1 - url);
        memcpy(buf, url, head);
        memcpy(buf + head, "***", 3);
        memcpy(buf + head + 3, at, len - (size_t)(at - url));
        n = head + 3 + len - (size_t)(at - url);
    } else {
        memcpy(buf, url, len);
        n = len;
    }
    return to_result(buf, n, out);
}
