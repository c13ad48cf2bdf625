/* TLS against real redis-servers (--tls-port), with a CA and certificates
 * this suite makes with the openssl command line in a temporary
 * directory: a good certificate connects (by name and by IP address); a
 * certificate for another name, or from another CA, is refused unless
 * verification is relaxed on purpose; a client certificate is required
 * when the server asks; rediss:// URLs; timeouts; no SIGPIPE; fork. */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char dir[128];
static char ca[192], rogue_ca[192], ca_dir[192], server_crt[192], server_key[192];
static char client_crt[192], client_key[192], client_pem[192], other_crt[192], other_key[192];

/* Three servers: the right certificate, one for "other.example", and
 * the right one asking for client certificates. */
static fixture_server good, other, mutual;
static int good_port, other_port, mutual_port;

static const char certs_script[] =
    "set -e\n"
    "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$1\"; }\n"
    "ca() {\n"
    "  key $1.key\n"
    "  openssl req -x509 -new -key $1.key -subj \"/CN=$2\" -days 2 -out $1.crt \\\n"
    "    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign\n"
    "}\n"
    "leaf() {\n"
    "  key $1.key\n"
    "  openssl req -new -key $1.key -subj \"/CN=$2\" -out $1.csr\n"
    "  printf 'basicConstraints=CA:FALSE\\nkeyUsage=critical,digitalSignature\\n"
    "extendedKeyUsage=%s\\n%s\\n' \"$4\" \"$3\" > $1.ext\n"
    "  openssl x509 -req -in $1.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \\\n"
    "    -out $1.crt -extfile $1.ext\n"
    "}\n"
    "ca ca 'reds test CA'\n"
    "ca rogue 'rogue CA'\n"
    "leaf server localhost 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1' "
    "serverAuth,clientAuth\n"
    "leaf other other.example 'subjectAltName=DNS:other.example' serverAuth,clientAuth\n"
    "leaf client 'reds client' '' clientAuth\n"
    "cat client.crt client.key > client.pem\n"
    "mkdir cadir && cp ca.crt cadir/ && openssl rehash cadir\n";

static int make_certs(void)
{
    snprintf(dir, sizeof dir, "/tmp/reds-tls-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char script[256], cmd[512];
    snprintf(script, sizeof script, "%s/certs.sh", dir);
    FILE *f = fopen(script, "w");
    if (!f)
        return -1;
    fputs(certs_script, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd %s && sh certs.sh > openssl.log 2>&1", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "check_tls: making certificates failed, see %s/openssl.log\n", dir);
        return -1;
    }
#define PATH(var, name) snprintf(var, sizeof var, "%s/%s", dir, name)
    PATH(ca, "ca.crt");
    PATH(rogue_ca, "rogue.crt");
    PATH(ca_dir, "cadir");
    PATH(server_crt, "server.crt");
    PATH(server_key, "server.key");
    PATH(client_crt, "client.crt");
    PATH(client_key, "client.key");
    PATH(client_pem, "client.pem");
    PATH(other_crt, "other.crt");
    PATH(other_key, "other.key");
#undef PATH
    return 0;
}

static int start_tls(fixture_server *s, int *port, const char *cert, const char *key,
                     const char *auth_clients)
{
    char p[16];
    for (int attempt = 0; attempt < 5; attempt++) {
        *port = fixture_free_port();
        snprintf(p, sizeof p, "%d", *port);
        const char *args[] = {"--tls-port",
                              p,
                              "--tls-cert-file",
                              cert,
                              "--tls-key-file",
                              key,
                              "--tls-ca-cert-file",
                              ca,
                              "--tls-auth-clients",
                              auth_clients,
                              NULL};
        if (fixture_start(s, args) == 0)
            return 0;
    }
    return -1;
}

static reds_options tls_opts(const char *host, int port)
{
    reds_options o = {.host = host,
                      .port = port,
                      .tls = true,
                      .tls_ca_file = ca,
                      .connect_timeout_ms = 5000,
                      .socket_timeout_ms = 5000};
    return o;
}

/* A client made from `o`, which must work (PING). */
static reds_client *connect_ok(const reds_options *o)
{
    reds_client *c = NULL;
    ASSERT_OK(reds_client_new(o, &c));
    ASSERT_OK(reds_ping(c, NULL, NULL));
    return c;
}

/* `o` connects to nothing: the first command fails with `code`, and the
 * message contains `text`. */
static void connect_fails(const reds_options *o, reds_err code, const char *text)
{
    reds_client *c = NULL;
    ASSERT_OK(reds_client_new(o, &c));
    ASSERT_ERR(reds_ping(c, NULL, NULL), code);
    ck_assert_msg(strstr(reds_errmsg(), text), "\"%s\" does not say \"%s\"", reds_errmsg(), text);
    reds_client_free(c);
}

/* ------------------------------------------------------------------ tests */

START_TEST(good_certificate_connects)
{
    reds_options o = tls_opts("localhost", good_port);
    reds_client *c = connect_ok(&o);
    /* Big values cross many TLS records both ways. */
    size_t n = 3 * 1024 * 1024 + 5;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 7 + 3);
    ASSERT_OK(reds_set(c, REDS_STR("big"), reds_strn(big, n), NULL, NULL));
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, REDS_STR("big"), &v));
    ck_assert_uint_eq(v->len, n);
    ck_assert(memcmp(v->ptr, big, n) == 0);
    reds_free(v);
    free(big);
    reds_client_free(c);

    /* By IP address: the certificate names 127.0.0.1 too. */
    o = tls_opts("127.0.0.1", good_port);
    reds_client_free(connect_ok(&o));
    /* A hashed CA directory instead of a file. */
    o.tls_ca_file = NULL;
    o.tls_ca_dir = ca_dir;
    reds_client_free(connect_ok(&o));

    /* The port speaks TLS only, and the plain port does not speak TLS. */
    reds_options plain = {.port = good_port, .socket_timeout_ms = 2000};
    connect_fails(&plain, REDS_ERR_CONNECTION, "Error reading from 127.0.0.1");
    /* The plain port takes a ClientHello for the start of an inline
     * command and waits for its end: the handshake times out. */
    o = tls_opts("127.0.0.1", good.port);
    o.connect_timeout_ms = 300;
    connect_fails(&o, REDS_ERR_TIMEOUT, "Timeout in the TLS handshake with 127.0.0.1");
}
END_TEST

START_TEST(wrong_name_and_relaxed_verification)
{
    char expect[160];
    reds_options o = tls_opts("localhost", other_port);
    snprintf(expect, sizeof expect,
             "TLS handshake with localhost:%d failed: certificate verify failed: hostname "
             "mismatch",
             other_port);
    connect_fails(&o, REDS_ERR_CONNECTION, expect);
    o = tls_opts("127.0.0.1", other_port);
    connect_fails(&o, REDS_ERR_CONNECTION, "certificate verify failed: IP address mismatch");
    /* The same certificate passes for its own name... */
    o.tls_server_name = "other.example";
    reds_client_free(connect_ok(&o));
    /* ...with the name check turned off (the chain is still checked)... */
    o = tls_opts("localhost", other_port);
    o.tls_verify = REDS_TLS_VERIFY_CHAIN;
    reds_client_free(connect_ok(&o));
    /* ...and with no verification at all. */
    o.tls_verify = REDS_TLS_VERIFY_NONE_INSECURE;
    o.tls_ca_file = NULL;
    reds_client_free(connect_ok(&o));
}
END_TEST

START_TEST(certificate_from_another_ca_is_refused)
{
    reds_options o = tls_opts("localhost", good_port);
    o.tls_ca_file = rogue_ca;
    connect_fails(&o, REDS_ERR_CONNECTION,
                  "certificate verify failed: self-signed certificate in certificate chain");
    /* The name check alone does not help: the chain must verify. */
    o.tls_verify = REDS_TLS_VERIFY_CHAIN;
    connect_fails(&o, REDS_ERR_CONNECTION, "certificate verify failed");
    /* The system's CAs do not know our test CA either. */
    o = tls_opts("localhost", good_port);
    o.tls_ca_file = NULL;
    connect_fails(&o, REDS_ERR_CONNECTION, "certificate verify failed");
    o.tls_verify = REDS_TLS_VERIFY_NONE_INSECURE;
    reds_client_free(connect_ok(&o));
}
END_TEST

START_TEST(client_certificate_when_the_server_asks)
{
    reds_options o = tls_opts("localhost", mutual_port);
    connect_fails(&o, REDS_ERR_CONNECTION, "certificate required");
    o.tls_cert_file = client_crt;
    o.tls_key_file = client_key;
    reds_client_free(connect_ok(&o));
    /* Certificate and key in one file. */
    o.tls_cert_file = client_pem;
    o.tls_key_file = NULL;
    reds_client_free(connect_ok(&o));

    /* Bad files are refused when the client is made. */
    reds_client *c = (reds_client *)&c;
    o.tls_cert_file = client_crt;
    o.tls_key_file = server_key;
    ASSERT_ERR(reds_client_new(&o, &c), REDS_ERR_DATA);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(reds_errmsg(), "not the unencrypted key of tls_cert_file: key values "
                                        "mismatch"),
                  "%s", reds_errmsg());
    o.tls_cert_file = "/nonexistent/client.crt";
    o.tls_key_file = NULL;
    ASSERT_ERR(reds_client_new(&o, &c), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "tls_cert_file '/nonexistent/client.crt': No such file or "
                                    "directory");
    o.tls_cert_file = client_key; /* a key is no certificate */
    ASSERT_ERR(reds_client_new(&o, &c), REDS_ERR_DATA);
    ck_assert_msg(strstr(reds_errmsg(), "no certificate"), "%s", reds_errmsg());
    o = tls_opts("localhost", mutual_port);
    o.tls_ca_file = client_key; /* not a CA certificate */
    ASSERT_ERR(reds_client_new(&o, &c), REDS_ERR_DATA);
    ck_assert_msg(strstr(reds_errmsg(), "tls_ca_file"), "%s", reds_errmsg());
}
END_TEST

START_TEST(rediss_urls)
{
    char url[1024];
    reds_client *c;
    snprintf(url, sizeof url, "rediss://localhost:%d/2?ssl_ca_certs=%s", good_port, ca);
    ASSERT_OK(reds_client_from_url(url, NULL, &c));
    ASSERT_OK(reds_set(c, REDS_STR("k"), REDS_STR("over-tls"), NULL, NULL));
    reds_client_free(c);
    reds_options plain = {.unix_path = good.sock, .db = 2};
    ASSERT_OK(reds_client_new(&plain, &c));
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, REDS_STR("k"), &v));
    ASSERT_STR(v, "over-tls");
    reds_free(v);
    reds_client_free(c);

    snprintf(url, sizeof url,
             "rediss://localhost:%d?ssl_ca_certs=%s&ssl_certfile=%s&"
             "ssl_keyfile=%s",
             mutual_port, ca, client_crt, client_key);
    ASSERT_OK(reds_client_from_url(url, NULL, &c));
    ASSERT_OK(reds_ping(c, NULL, NULL));
    reds_client_free(c);

    snprintf(url, sizeof url, "rediss://localhost:%d?ssl_ca_certs=%s", other_port, ca);
    ASSERT_OK(reds_client_from_url(url, NULL, &c));
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_CONNECTION);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "hostname mismatch"));
    reds_client_free(c);
    snprintf(url, sizeof url, "rediss://localhost:%d?ssl_ca_certs=%s&ssl_check_hostname=false",
             other_port, ca);
    ASSERT_OK(reds_client_from_url(url, NULL, &c));
    ASSERT_OK(reds_ping(c, NULL, NULL));
    reds_client_free(c);
    snprintf(url, sizeof url, "rediss://127.0.0.1:%d?ssl_cert_reqs=none", other_port);
    ASSERT_OK(reds_client_from_url(url, NULL, &c));
    ASSERT_OK(reds_ping(c, NULL, NULL));
    reds_client_free(c);
    snprintf(url, sizeof url,
             "rediss://127.0.0.1:%d?ssl_ca_certs=%s&"
             "ssl_server_name=other.example",
             other_port, ca);
    ASSERT_OK(reds_client_from_url(url, NULL, &c));
    ASSERT_OK(reds_ping(c, NULL, NULL));
    reds_client_free(c);
}
END_TEST

/* A listener that accepts connections (the kernel does) but never answers. */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    *port = ntohs(sa.sin_port);
    return fd;
}

START_TEST(a_stalled_peer_times_out)
{
    int port, fd = silent_listener(&port);
    reds_options o = tls_opts("localhost", port);
    o.connect_timeout_ms = 200;
    char expect[64];
    snprintf(expect, sizeof expect, "Timeout in the TLS handshake with localhost:%d", port);
    connect_fails(&o, REDS_ERR_TIMEOUT, expect);
    close(fd);

    /* Mid-stream: the socket timeout bounds each TLS read, and the late
     * reply never reaches the next caller. */
    o = tls_opts("localhost", good_port);
    o.socket_timeout_ms = 300;
    o.max_connections = 1;
    reds_client *c = connect_ok(&o);
    reds_str sleep_cmd[] = {REDS_STR("DEBUG"), REDS_STR("SLEEP"), REDS_STR("0.8")};
    ASSERT_ERR(reds_execute_command(c, 3, sleep_cmd, NULL), REDS_ERR_TIMEOUT);
    ck_assert_msg(strstr(reds_errmsg(), "Timeout reading from localhost"), "%s", reds_errmsg());
    char pong[16];
    ck_assert_int_eq(fixture_command(&good, "PING", pong, sizeof pong), 0);
    reds_str *echo = NULL;
    ASSERT_OK(reds_echo(c, REDS_STR("mine"), &echo));
    ASSERT_STR(echo, "mine");
    reds_free(echo);
    reds_client_free(c);
}
END_TEST

/* The server drops the connection while we still write: an error, not a
 * SIGPIPE (which would kill this test process). */
START_TEST(a_peer_gone_mid_write_is_an_error)
{
    char reply[64];
    ck_assert_int_eq(
        fixture_command(&good, "CONFIG SET proto-max-bulk-len 1mb", reply, sizeof reply), 0);
    ck_assert_str_eq(reply, "+OK");
    reds_options o = tls_opts("localhost", good_port);
    reds_client *c = connect_ok(&o);
    size_t n = 32 * 1024 * 1024;
    char *big = calloc(1, n);
    ASSERT_ERR(reds_set(c, REDS_STR("big"), reds_strn(big, n), NULL, NULL), REDS_ERR_CONNECTION);
    free(big);
    ASSERT_OK(reds_ping(c, NULL, NULL)); /* a new connection */
    reds_client_free(c);
    ck_assert_int_eq(
        fixture_command(&good, "CONFIG SET proto-max-bulk-len 512mb", reply, sizeof reply), 0);
}
END_TEST

/* A child after fork() makes its own TLS session and never ends its
 * parent's: no close_notify on the parent's connection. */
START_TEST(fork_leaves_the_parent_session_alone)
{
    reds_options o = tls_opts("localhost", good_port);
    o.max_connections = 1;
    reds_client *c = connect_ok(&o);
    int64_t parent_id = 0, id = 0;
    ASSERT_OK(reds_client_id(c, &parent_id));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        signal(SIGALRM, SIG_DFL);
        alarm(10);
        reds_str *echo = NULL;
        bool ok = reds_client_id(c, &id) == REDS_OK && id != parent_id &&
                  reds_echo(c, REDS_STR("child"), &echo) == REDS_OK && echo &&
                  strcmp(echo->ptr, "child") == 0;
        reds_free(echo);
        reds_client_free(c); /* its own session ends; the parent's must not */
        _exit(ok ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    reds_str *echo = NULL;
    ASSERT_OK(reds_echo(c, REDS_STR("parent"), &echo));
    ASSERT_STR(echo, "parent");
    reds_free(echo);
    ASSERT_OK(reds_client_id(c, &id));
    ck_assert(id == parent_id);
    reds_client_free(c);
}
END_TEST

START_TEST(no_password_in_tls_messages)
{
    reds_options o = tls_opts("localhost", other_port);
    o.password = "hunter2";
    connect_fails(&o, REDS_ERR_CONNECTION, "hostname mismatch");
    ck_assert_ptr_null(strstr(reds_errmsg(), "hunter2"));
    o = tls_opts("localhost", mutual_port);
    o.password = "hunter2";
    connect_fails(&o, REDS_ERR_CONNECTION, "certificate required");
    ck_assert_ptr_null(strstr(reds_errmsg(), "hunter2"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("verify");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, good_certificate_connects);
    tcase_add_test(tc, wrong_name_and_relaxed_verification);
    tcase_add_test(tc, certificate_from_another_ca_is_refused);
    tcase_add_test(tc, client_certificate_when_the_server_asks);
    tcase_add_test(tc, rediss_urls);
    tcase_add_test(tc, no_password_in_tls_messages);
    suite_add_tcase(s, tc);

    tc = tcase_create("transport");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, a_stalled_peer_times_out);
    tcase_add_test(tc, a_peer_gone_mid_write_is_an_error);
    tcase_add_test(tc, fork_leaves_the_parent_session_alone);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = 1;
    if (make_certs() == 0 && start_tls(&good, &good_port, server_crt, server_key, "no") == 0 &&
        start_tls(&other, &other_port, other_crt, other_key, "no") == 0 &&
        start_tls(&mutual, &mutual_port, server_crt, server_key, "yes") == 0) {
        SRunner *sr = srunner_create(suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
    }
    fixture_stop(&good);
    fixture_stop(&other);
    fixture_stop(&mutual);
    if (dir[0]) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "check_tls: could not remove %s\n", dir);
    }
    return failed ? 1 : 0;
}
