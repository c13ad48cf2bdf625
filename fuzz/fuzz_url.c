/* fuzz_url: the input is a URL, as a user, a config file or an
 * environment variable could give it: reds_url_parse() (runtime/url.c) on
 * its own and on top of caller options, then reds_url_format(),
 * reds_url_redact() and reds_client_from_url(), which never connects (a
 * pool connects on its first command; TLS URLs are not given to it, since
 * creating a TLS client reads the files the URL names).
 *
 * Beyond the sanitizers it checks what <reds/url.h> promises:
 *   - a parsed URL is a self-contained copy: the caller's options may be
 *     freed at once (ASan reports any string still pointing into them);
 *   - what reds_url_format() writes parses again, to the same URL;
 *   - no message, formatted or redacted URL holds the password
 *     (password_of() says when that can be told).
 * Built by `make fuzz`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reds/reds.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *url, const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_url: %s\n  url: %s\n  %s\n", what, url, detail ? detail : "");
    abort();
}

/* Caller options with every string set, on the heap: freed right after
 * parsing, before the result is used. */
static reds_options *heap_base(void)
{
    static const char *const text[] = {
        "base-host",    "/base/sock", "base-user",      "base-password", "base-name",
        "/base/ca.pem", "/base/ca",   "/base/cert.pem", "/base/key.pem", "base-sni"};
    char *s[10];
    for (size_t i = 0; i < 10; i++)
        if (!(s[i] = strdup(text[i])))
            abort();
    reds_options *o = malloc(sizeof *o);
    if (!o)
        abort();
    *o = (reds_options){.host = s[0],
                        .port = 7000,
                        .unix_path = s[1],
                        .username = s[2],
                        .password = s[3],
                        .db = 2,
                        .client_name = s[4],
                        .connect_timeout_ms = 1500,
                        .socket_timeout_ms = 2500,
                        .keepalive_s = 30,
                        .max_connections = 7,
                        .tls_ca_file = s[5],
                        .tls_ca_dir = s[6],
                        .tls_cert_file = s[7],
                        .tls_key_file = s[8],
                        .tls_server_name = s[9],
                        .retries = 1};
    return o;
}

static void free_base(reds_options *o)
{
    free((char *)o->host);
    free((char *)o->unix_path);
    free((char *)o->username);
    free((char *)o->password);
    free((char *)o->client_name);
    free((char *)o->tls_ca_file);
    free((char *)o->tls_ca_dir);
    free((char *)o->tls_cert_file);
    free((char *)o->tls_key_file);
    free((char *)o->tls_server_name);
    free(o);
}

/* ------------------------------------------------------------ the password */

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* `s` percent-decoded as leniently as possible (bad escapes kept), with
 * '+' as a space when `plus`: whatever the parser decodes from a part of
 * `s` is in it. */
static char *lenient_decode(const char *s, size_t n, bool plus)
{
    char *d = malloc(n + 1), *w = d;
    if (!d)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            *w++ = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
            i += 2;
        } else {
            *w++ = plus && s[i] == '+' ? ' ' : s[i];
        }
    }
    *w = '\0';
    return d;
}

/* Whether `pw` occurs in the `n` bytes at `s`, raw or decoded. */
static bool found_in(const char *s, size_t n, const char *pw)
{
    if (memmem(s, n, pw, strlen(pw)))
        return true;
    for (int plus = 0; plus < 2; plus++) {
        char *d = lenient_decode(s, n, plus);
        bool hit = strstr(d, pw) != NULL;
        free(d);
        if (hit)
            return true;
    }
    return false;
}

/* The password as reds_url_redact() sees it (everything between "user:"
 * and the last '@'), raw and decoded; each is kept only when a text could
 * hold it by quoting it and in no other way: it has a byte no message's
 * own words have (above 0x7f) and no '*' (which "***" could complete),
 * and neither the URL around it nor a decoding of that holds it. */
typedef struct secret {
    char *text[2];
} secret;

static bool meaningful(const char *url, const char *colon, const char *at, const char *pw)
{
    bool high = false;
    for (const char *p = pw; *p; p++)
        high |= (unsigned char)*p >= 0x80;
    return strlen(pw) >= 4 && high && !strchr(pw, '*') &&
           !found_in(url, (size_t)(colon + 1 - url), pw) && !found_in(at, strlen(at), pw);
}

static secret password_of(const char *url)
{
    secret s = {{NULL, NULL}};
    const char *sep = strstr(url, "://");
    const char *start = sep ? sep + 3 : url;
    const char *at = strrchr(start, '@');
    const char *colon = at ? memchr(start, ':', (size_t)(at - start)) : NULL;
    if (!colon)
        return s;
    s.text[0] = strndup(colon + 1, (size_t)(at - colon - 1));
    s.text[1] = lenient_decode(colon + 1, (size_t)(at - colon - 1), false);
    for (int i = 0; i < 2; i++) {
        if (!s.text[i] || !meaningful(url, colon, at, s.text[i])) {
            free(s.text[i]);
            s.text[i] = NULL;
        }
    }
    return s;
}

static void check_secret(const char *url, const secret *pw, const char *text)
{
    for (int i = 0; i < 2; i++)
        if (pw->text[i] && text && strstr(text, pw->text[i]))
            fail(url, "the password is in a message", text);
}

/* ------------------------------------------------------------- formatting */

/* What reds_url_format() writes parses again, to the same URL. */
static void check_format(const char *url, const secret *pw, const reds_options *o)
{
    reds_str *formatted = NULL, *again = NULL;
    if (reds_url_format(o, &formatted) != REDS_OK)
        fail(url, "reds_url_format() failed", reds_errmsg());
    if (strlen(formatted->ptr) != formatted->len)
        fail(url, "the formatted URL has a NUL inside", NULL);
    check_secret(url, pw, formatted->ptr);
    reds_options *o2 = NULL;
    if (reds_url_parse(formatted->ptr, NULL, &o2) != REDS_OK) {
        char detail[1024];
        snprintf(detail, sizeof detail, "formatted: %s\n  error: %s", formatted->ptr,
                 reds_errmsg());
        fail(url, "the formatted URL does not parse", detail);
    }
    if (reds_url_format(o2, &again) != REDS_OK)
        fail(url, "reds_url_format() failed on its own output", reds_errmsg());
    if (again->len != formatted->len || memcmp(again->ptr, formatted->ptr, again->len) != 0) {
        char detail[1024];
        snprintf(detail, sizeof detail, "formatted: %s\n  again:     %s", formatted->ptr,
                 again->ptr);
        fail(url, "the formatted URL parses to another URL", detail);
    }
    reds_free(again);
    reds_free(o2);
    reds_free(formatted);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    if (!url)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    secret pw = password_of(url);

    /* Alone. */
    reds_options *o = NULL;
    reds_err err = reds_url_parse(url, NULL, &o);
    if (err) {
        if (o)
            fail(url, "a failed parse left options", NULL);
        if (err != REDS_ERR_DATA && err != REDS_ERR_NOMEM)
            fail(url, "a bad URL is not REDS_ERR_DATA", reds_errmsg());
        check_secret(url, &pw, reds_errmsg());
    } else {
        check_format(url, &pw, o);
        if (!o->tls) {
            reds_client *c = NULL;
            if (reds_client_from_url(url, NULL, &c) != REDS_OK)
                fail(url, "reds_client_from_url() refused what reds_url_parse() took",
                     reds_errmsg());
            reds_client_free(c);
        }
    }
    reds_free(o);

    /* On top of caller options, freed before the result is used. */
    reds_options *base = heap_base();
    o = NULL;
    err = reds_url_parse(url, base, &o);
    free_base(base);
    if (err)
        check_secret(url, &pw, reds_errmsg());
    else
        check_format(url, &pw, o);
    reds_free(o);

    reds_str *redacted = NULL;
    if (reds_url_redact(url, &redacted) != REDS_OK)
        fail(url, "reds_url_redact() failed", reds_errmsg());
    if (redacted->len != strlen(redacted->ptr))
        fail(url, "the redacted URL has a NUL inside", NULL);
    check_secret(url, &pw, redacted->ptr);
    reds_free(redacted);

    free(pw.text[0]);
    free(pw.text[1]);
    free(url);
    return 0;
}
