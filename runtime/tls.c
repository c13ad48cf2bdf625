/* TLS with OpenSSL: the reds__io transport of rediss:// connections.
 *
 * The socket stays blocking with the kernel timeouts of conn.c
 * (SO_RCVTIMEO/SO_SNDTIMEO), so a stalled peer ends an SSL_read or
 * SSL_write with EAGAIN, which conn.c reports as REDS_ERR_TIMEOUT. OpenSSL
 * moves bytes through a BIO of our own rather than a socket BIO: writes
 * use send(MSG_NOSIGNAL), so a peer that went away never raises SIGPIPE,
 * and close_notify is sent without waiting. In a forked child nothing is
 * sent: the TLS session belongs to the parent. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "internal.h"

typedef struct tls_state {
    SSL *ssl;
    int sys_errno;   /* errno of the BIO's last failed socket call */
    bool dont_wait;  /* closing: never block on the socket */
    char error[256]; /* the last TLS-level failure, for reds__io.error */
} tls_state;

/* ---------------------------------------------------------------- the BIO */

static int bio_write(BIO *b, const char *buf, int len)
{
    reds__conn *conn = BIO_get_data(b);
    tls_state *t = conn->tls;
    BIO_clear_retry_flags(b);
    ssize_t n;
    do
        n = send(conn->fd, buf, (size_t)len, MSG_NOSIGNAL | (t->dont_wait ? MSG_DONTWAIT : 0));
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        t->sys_errno = errno;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_write(b);
        return -1;
    }
    return (int)n;
}

static int bio_read(BIO *b, char *buf, int len)
{
    reds__conn *conn = BIO_get_data(b);
    tls_state *t = conn->tls;
    BIO_clear_retry_flags(b);
    ssize_t n;
    do
        n = recv(conn->fd, buf, (size_t)len, t->dont_wait ? MSG_DONTWAIT : 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        t->sys_errno = errno;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_read(b);
        return -1;
    }
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    /* send() does not buffer: a flush has nothing to do. */
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static void make_bio_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "reds socket");
    if (m && BIO_meth_set_write(m, bio_write) && BIO_meth_set_read(m, bio_read) &&
        BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_create(m, bio_create))
        bio_method = m;
    else if (m)
        BIO_meth_free(m);
}

/* ------------------------------------------------------------ the context */

/* Encrypted keys are not supported: never let OpenSSL prompt on a tty. */
static int no_passphrase(char *buf, int size, int rwflag, void *udata)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)udata;
    return 0;
}

/* The reason of the newest queued OpenSSL error, or `fallback`. */
static const char *ssl_reason(const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : fallback;
}

static reds_err file_error(const char *option, const char *path, const char *what)
{
    reds_err err;
    if (access(path, R_OK) != 0)
        err = reds__error(REDS_ERR_DATA, "%s '%s': %s", option, path, strerror(errno));
    else
        err = reds__error(REDS_ERR_DATA, "%s '%s': %s: %s", option, path, what,
                          ssl_reason("invalid"));
    ERR_clear_error();
    return err;
}

reds_err reds__tls_ctx_new(const reds__config *cfg, void **out)
{
    *out = NULL;
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return reds__error(REDS_ERR_NOMEM, "TLS: cannot create a context: %s",
                           ssl_reason("out of memory"));
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Partial writes let conn.c count what left (retries need to know). */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_AUTO_RETRY);
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    reds_err err = REDS_OK;
    if (cfg->tls_verify == REDS_TLS_VERIFY_NONE_INSECURE) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        if (cfg->tls_ca_file || cfg->tls_ca_dir) {
            if (cfg->tls_ca_file && SSL_CTX_load_verify_locations(ctx, cfg->tls_ca_file, NULL) != 1)
                err = file_error("tls_ca_file", cfg->tls_ca_file, "no CA certificate");
            else if (cfg->tls_ca_dir &&
                     SSL_CTX_load_verify_locations(ctx, NULL, cfg->tls_ca_dir) != 1)
                err = file_error("tls_ca_dir", cfg->tls_ca_dir, "not a CA directory");
        } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            err = reds__error(REDS_ERR_DATA, "TLS: cannot load the system's CA certificates: %s",
                              ssl_reason("unknown error"));
        }
    }
    if (!err && cfg->tls_cert_file) {
        const char *key = cfg->tls_key_file ? cfg->tls_key_file : cfg->tls_cert_file;
        if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1)
            err = file_error("tls_cert_file", cfg->tls_cert_file, "no certificate");
        else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
            err = file_error("tls_key_file", key, "not the unencrypted key of tls_cert_file");
        else if (SSL_CTX_check_private_key(ctx) != 1)
            err = file_error("tls_key_file", key, "does not match tls_cert_file");
    }
    ERR_clear_error();
    if (err) {
        SSL_CTX_free(ctx);
        return err;
    }
    *out = ctx;
    return REDS_OK;
}

void reds__tls_ctx_free(void *ctx)
{
    SSL_CTX_free(ctx);
}

/* ------------------------------------------------------------- transport */

/* A peer that refused us (TLS 1.3 checks a client certificate after our
 * side of the handshake is done) says why in an alert, then closes; a
 * write can meet the close first. Look for the alert, without waiting. */
static void read_alert(reds__conn *conn)
{
    tls_state *t = conn->tls;
    char byte;
    t->dont_wait = true;
    ERR_clear_error();
    int rc = SSL_peek(t->ssl, &byte, 1);
    if (rc <= 0 && SSL_get_error(t->ssl, rc) == SSL_ERROR_SSL)
        snprintf(t->error, sizeof t->error, "TLS: %s", ssl_reason("protocol error"));
    ERR_clear_error();
    t->dont_wait = false;
}

/* Map a failed SSL_read/SSL_write to the send()/recv() convention: 0 for
 * the end of the stream, or -1 with errno (EAGAIN for a timeout, EPROTO
 * with t->error for a TLS failure). */
static ssize_t tls_failed(reds__conn *conn, int rc, bool reading)
{
    tls_state *t = conn->tls;
    int e = SSL_get_error(t->ssl, rc);
    unsigned long ssl_err = ERR_peek_last_error();
    switch (e) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN; /* a socket timeout expired */
        return -1;
    case SSL_ERROR_ZERO_RETURN: /* close_notify */
        break;
    case SSL_ERROR_SYSCALL:
        if (t->sys_errno) {
            if (!reading && (t->sys_errno == EPIPE || t->sys_errno == ECONNRESET))
                read_alert(conn);
            errno = t->sys_errno;
            return -1;
        }
        if (ssl_err)
            goto protocol;
        break; /* the peer closed the socket */
    default:
        /* OpenSSL 3 calls a close without close_notify a protocol error;
         * it is the peer going away like any other. */
        if (ERR_GET_REASON(ssl_err) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
            break;
        goto protocol;
    }
    ERR_clear_error();
    if (reading)
        return 0;
    errno = EPIPE;
    return -1;
protocol:
    snprintf(t->error, sizeof t->error, "TLS: %s", ssl_reason("protocol error"));
    ERR_clear_error();
    errno = EPROTO;
    return -1;
}

static ssize_t tls_send(reds__conn *conn, const char *buf, size_t len)
{
    tls_state *t = conn->tls;
    t->sys_errno = 0;
    ERR_clear_error();
    int n = SSL_write(t->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    return n > 0 ? n : tls_failed(conn, n, false);
}

static ssize_t tls_recv(reds__conn *conn, char *buf, size_t len)
{
    tls_state *t = conn->tls;
    t->sys_errno = 0;
    ERR_clear_error();
    int n = SSL_read(t->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    return n > 0 ? n : tls_failed(conn, n, true);
}

static size_t tls_pending(reds__conn *conn)
{
    tls_state *t = conn->tls;
    int n = SSL_pending(t->ssl);
    if (n > 0)
        return (size_t)n;
    return SSL_has_pending(t->ssl) ? 1 : 0;
}

static void tls_close(reds__conn *conn, bool inherited)
{
    tls_state *t = conn->tls;
    if (!t)
        return;
    if (t->ssl) {
        /* One close_notify, without waiting for the peer's: only on a
         * healthy connection of our own. A forked child must not end its
         * parent's session. */
        if (!inherited && !conn->broken && SSL_is_init_finished(t->ssl)) {
            t->dont_wait = true;
            ERR_clear_error();
            SSL_shutdown(t->ssl);
        } else {
            SSL_set_quiet_shutdown(t->ssl, 1);
        }
        SSL_free(t->ssl); /* and the BIO; the socket is conn.c's */
    }
    ERR_clear_error();
    free(t);
    conn->tls = NULL;
}

static const char *tls_error(const reds__conn *conn)
{
    const tls_state *t = conn->tls;
    return t && t->error[0] ? t->error : NULL;
}

static const reds__io tls_io = {tls_send, tls_recv, tls_pending, tls_close, tls_error};

/* An IP literal (IPv6 possibly with a %zone) as verification wants it. */
static bool ip_literal(const char *name, char *ip, size_t size)
{
    unsigned char addr[16];
    size_t n = strcspn(name, "%");
    if (n >= size)
        return false;
    memcpy(ip, name, n);
    ip[n] = '\0';
    return inet_pton(AF_INET, ip, addr) == 1 || inet_pton(AF_INET6, ip, addr) == 1;
}

/* The server we reached: the configured one, or the one a resolver
 * (Sentinel) named, whose name or address the certificate must show. */
static const char *peer_host(const reds__conn *conn)
{
    return conn->resolved ? conn->addr.host : conn->cfg->host;
}

reds_err reds__tls_begin(reds__conn *conn)
{
    const reds__config *cfg = conn->cfg;
    const char *host = peer_host(conn);
    pthread_once(&bio_once, make_bio_method);
    tls_state *t = calloc(1, sizeof *t);
    if (!t || !bio_method) {
        free(t);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    ERR_clear_error();
    t->ssl = SSL_new(cfg->tls_ctx);
    BIO *bio = t->ssl ? BIO_new(bio_method) : NULL;
    if (!bio) {
        SSL_free(t->ssl);
        free(t);
        ERR_clear_error();
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    BIO_set_data(bio, conn);
    SSL_set_bio(t->ssl, bio, bio);
    /* From here reds__conn_close() releases it all. */
    conn->tls = t;
    conn->io = &tls_io;

    const char *name = cfg->tls_server_name ? cfg->tls_server_name : host;
    char ip[64];
    bool is_ip = ip_literal(name, ip, sizeof ip);
    int ok = 1;
    if (!is_ip) /* RFC 6066: no SNI for addresses */
        ok = SSL_set_tlsext_host_name(t->ssl, name);
    if (ok && cfg->tls_verify == REDS_TLS_VERIFY_FULL) {
        if (is_ip) {
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), ip);
        } else {
            SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            ok = SSL_set1_host(t->ssl, name);
        }
    }
    if (ok != 1) {
        conn->broken = true;
        reds_err err = reds__error(REDS_ERR_DATA,
                                   "TLS: '%s' cannot be verified as a server "
                                   "name: %s",
                                   name, ssl_reason("invalid name"));
        ERR_clear_error();
        return err;
    }
    return REDS_OK;
}

reds_err reds__tls_handshake(reds__conn *conn, int *want)
{
    tls_state *t = conn->tls;
    const reds__config *cfg = conn->cfg;
    char where[300];
    reds__format_addr(where, sizeof where, peer_host(conn),
                      conn->resolved ? conn->addr.port : cfg->port);
    *want = 0;
    t->sys_errno = 0;
    ERR_clear_error();
    int rc = SSL_connect(t->ssl);
    if (rc == 1)
        return REDS_OK;
    int e = SSL_get_error(t->ssl, rc);
    /* A non-blocking socket that must wait (a blocking one timed out). */
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *want = e == SSL_ERROR_WANT_READ ? 1 : 2;
        return REDS_OK;
    }
    conn->broken = true;
    long verify = SSL_get_verify_result(t->ssl);
    reds_err err;
    if (verify != X509_V_OK && cfg->tls_verify != REDS_TLS_VERIFY_NONE_INSECURE)
        err = reds__error(REDS_ERR_CONNECTION,
                          "TLS handshake with %s failed: certificate "
                          "verify failed: %s",
                          where, X509_verify_cert_error_string(verify));
    else if (ERR_peek_last_error())
        err = reds__error(REDS_ERR_CONNECTION, "TLS handshake with %s failed: %s", where,
                          ssl_reason("protocol error"));
    else
        err = reds__error(REDS_ERR_CONNECTION, "TLS handshake with %s failed: %s", where,
                          t->sys_errno ? strerror(t->sys_errno) : "connection closed by server");
    ERR_clear_error();
    return err;
}

reds_err reds__tls_start(reds__conn *conn)
{
    int want;
    reds_err err = reds__tls_begin(conn);
    if (!err)
        err = reds__tls_handshake(conn, &want);
    if (!err && want) {
        char where[300];
        conn->broken = true;
        reds__format_addr(where, sizeof where, peer_host(conn),
                          conn->resolved ? conn->addr.port : conn->cfg->port);
        err = reds__error(REDS_ERR_TIMEOUT, "Timeout in the TLS handshake with %s", where);
    }
    return err;
}
