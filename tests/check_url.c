/* URLs: a table of good URLs and the options they give, a table of bad
 * ones and the error each gets, precedence over the caller's options,
 * formatting and redaction, clients made from URLs, and secret hygiene:
 * no message ever shows a password. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"

/* Every field of `o` that differs from a zeroed reds_options, in a fixed
 * order: what the tables compare. */
static void describe(const reds_options *o, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fmemopen(buf, size, "w");
    ck_assert_ptr_nonnull(f);
#define STR(field)                                                                                 \
    if (o->field)                                                                                  \
        fprintf(f, " " #field "=%s", o->field);
#define INT(field)                                                                                 \
    if (o->field)                                                                                  \
        fprintf(f, " " #field "=%d", (int)o->field);
    STR(host)
    INT(port)
    STR(unix_path) STR(username) STR(password) INT(db) STR(client_name) INT(connect_timeout_ms)
        INT(socket_timeout_ms) INT(keepalive_s) INT(max_connections) INT(tls) INT(tls_verify)
            STR(tls_ca_file) STR(tls_ca_dir) STR(tls_cert_file) STR(tls_key_file)
                STR(tls_server_name) INT(pool_blocking) INT(pool_timeout_ms)
                    INT(health_check_interval_ms) INT(retries) INT(retry_backoff_base_ms)
                        INT(retry_backoff_cap_ms) INT(retry_writes)
#undef STR
#undef INT
                            fclose(f);
}

static const struct {
    const char *url, *expect;
} good[] = {
    {"redis://localhost", " host=localhost"},
    {"redis://localhost:6380/2", " host=localhost port=6380 db=2"},
    {"REDIS://Example.COM:6379", " host=Example.COM port=6379"},
    {"redis://", ""},
    {"redis:///", ""},
    {"redis://h?", " host=h"},
    {"redis://h?&&db=1&", " host=h db=1"},
    {"redis://host:/3", " host=host db=3"},
    {"redis://h%2Dx.example/", " host=h-x.example"},
    {"redis://10.0.0.1:7000/15", " host=10.0.0.1 port=7000 db=15"},
    /* IPv6 */
    {"redis://[::1]:6379", " host=::1 port=6379"},
    {"redis://[::1]", " host=::1"},
    {"redis://[2001:db8::7]:7001/4", " host=2001:db8::7 port=7001 db=4"},
    {"redis://[fe80::1%25eth0]:7000/1", " host=fe80::1%eth0 port=7000 db=1"},
    {"redis://[::ffff:127.0.0.1]", " host=::ffff:127.0.0.1"},
    /* as redis-py: an encoded ':' in a host name is taken (and formatted
     * back encoded, not as an IPv6 address) */
    {"redis://h%3Ax", " host=h:x"},
    /* user information, percent-encoded */
    {"redis://:p%40ss%3Aw0rd@host", " host=host password=p@ss:w0rd"},
    {"redis://user:p%40ss@host:1/0", " host=host port=1 username=user password=p@ss"},
    {"redis://us%3Aer:pa:ss@host", " host=host username=us:er password=pa:ss"},
    {"redis://u:p@ss@host", " host=host username=u password=p@ss"},
    {"redis://:%2F%3F%23%25%20@[::1]", " host=::1 password=/?#% "},
    {"redis://:@host", " host=host"},
    {"redis://alice:s%C3%A9same@h", " host=h username=alice password=s\xc3\xa9same"},
    /* schemes */
    {"rediss://host", " host=host tls=1"},
    {"rediss://[::1]:6390", " host=::1 port=6390 tls=1"},
    {"unix:///tmp/redis.sock", " unix_path=/tmp/redis.sock"},
    {"UNIX:///tmp/redis.sock", " unix_path=/tmp/redis.sock"},
    {"unix://:secret@/tmp/re%20dis.sock?db=3", " unix_path=/tmp/re dis.sock password=secret db=3"},
    {"unix://user:pw@/run/redis/redis.sock?db=0&client_name=me",
     " unix_path=/run/redis/redis.sock username=user password=pw client_name=me"},
    /* every query option */
    {"redis://h?db=4", " host=h db=4"},
    {"redis://h/2?db=5", " host=h db=5"},
    {"redis://h?socket_timeout=1.5", " host=h socket_timeout_ms=1500"},
    {"redis://h?socket_timeout=10", " host=h socket_timeout_ms=10000"},
    {"redis://h?socket_timeout=0.0001", " host=h socket_timeout_ms=1"},
    {"redis://h?socket_timeout=.25", " host=h socket_timeout_ms=250"},
    {"redis://h?socket_timeout=2.", " host=h socket_timeout_ms=2000"},
    {"redis://h?socket_timeout=0.0010", " host=h socket_timeout_ms=1"},
    {"redis://h?socket_connect_timeout=0.25", " host=h connect_timeout_ms=250"},
    {"redis://h?socket_keepalive=no", " host=h keepalive_s=-1"},
    {"redis://h?socket_keepalive=TRUE", " host=h"},
    {"redis://h?health_check_interval=30", " host=h health_check_interval_ms=30000"},
    {"redis://h?health_check_interval=0", " host=h"},
    {"redis://h?max_connections=10", " host=h max_connections=10"},
    {"redis://h?client_name=my-app", " host=h client_name=my-app"},
    {"redis://h?client_name=a+b%2Bc", " host=h client_name=a b+c"},
    {"redis://h?pool_blocking=yes", " host=h pool_blocking=1"},
    {"redis://h?pool_blocking=1&pool_timeout=2", " host=h pool_blocking=1 pool_timeout_ms=2000"},
    {"redis://h?pool_timeout=5", " host=h pool_blocking=1 pool_timeout_ms=5000"},
    {"redis://h?retries=3", " host=h retries=3"},
    {"redis://h?retries=0", " host=h"},
    {"redis://h?retry_on_timeout=true", " host=h retries=1 retry_writes=1"},
    {"redis://h?retries=2&retry_on_timeout=Yes", " host=h retries=2 retry_writes=1"},
    {"redis://h?retry_on_timeout=false", " host=h"},
    {"rediss://h?ssl_cert_reqs=none", " host=h tls=1 tls_verify=2"},
    {"rediss://h?ssl_cert_reqs=NONE&ssl_check_hostname=false", " host=h tls=1 tls_verify=2"},
    {"rediss://h?ssl_cert_reqs=optional", " host=h tls=1"},
    {"rediss://h?ssl_cert_reqs=required", " host=h tls=1"},
    {"rediss://h?ssl_cert_reqs=required&ssl_check_hostname=false", " host=h tls=1 tls_verify=1"},
    {"rediss://h?ssl_check_hostname=0", " host=h tls=1 tls_verify=1"},
    {"rediss://h?ssl_check_hostname=true", " host=h tls=1"},
    {"rediss://h?ssl_ca_certs=%2Fetc%2Fca.pem&ssl_ca_path=/etc/ssl/certs",
     " host=h tls=1 tls_ca_file=/etc/ca.pem tls_ca_dir=/etc/ssl/certs"},
    {"rediss://h?ssl_certfile=/c.pem&ssl_keyfile=/k.pem&ssl_server_name=redis.internal",
     " host=h tls=1 tls_cert_file=/c.pem tls_key_file=/k.pem tls_server_name=redis.internal"},
    {"redis://h?db=4&socket_timeout=1.5&socket_connect_timeout=0.25&socket_keepalive=no&"
     "health_check_interval=30&max_connections=10&client_name=app&pool_blocking=yes&"
     "pool_timeout=2&retries=3&retry_on_timeout=true",
     " host=h db=4 client_name=app connect_timeout_ms=250 socket_timeout_ms=1500 "
     "keepalive_s=-1 max_connections=10 pool_blocking=1 pool_timeout_ms=2000 "
     "health_check_interval_ms=30000 retries=3 retry_writes=1"},
};

START_TEST(good_urls)
{
    char got[1024];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        reds_options *o = NULL;
        reds_err err = reds_url_parse(good[i].url, NULL, &o);
        ck_assert_msg(err == REDS_OK, "%s: %s", good[i].url, reds_errmsg());
        describe(o, got, sizeof got);
        ck_assert_msg(strcmp(got, good[i].expect) == 0, "%s\n  gave   [%s]\n  wanted [%s]",
                      good[i].url, got, good[i].expect);
        reds_free(o);
    }
}
END_TEST

/* Every bad URL carries the password "hunter2" where it can: no message
 * may show it. */
static const struct {
    const char *url, *message;
} bad[] = {
    {"", "must start with redis://, rediss:// or unix://"},
    {"localhost:6379", "must start with"},
    {":hunter2@localhost:6379", "must start with"},
    {"redis:/h", "must start with"},
    {"redis:", "must start with"},
    {"http://h", "unsupported scheme 'http'"},
    {"redis+tls://:hunter2@h", "unsupported scheme 'redis+tls'"},
    {"://:hunter2@h", "must start with"},
    /* host and port */
    {"redis://:hunter2@h:0", "the port is not a number in 1..65535"},
    {"redis://:hunter2@h:65536", "the port is not a number"},
    {"redis://:hunter2@h:12ab", "the port is not a number"},
    {"redis://:hunter2@h:-1", "the port is not a number"},
    {"redis://:hunter2@h:1:2", "the port is not a number"},
    {"redis://[::1", "closing ']'"},
    {"redis://:hunter2@[zz]:1", "not an IPv6 address"},
    {"redis://[127.0.0.1]", "not an IPv6 address"},
    {"redis://[]", "not an IPv6 address"},
    {"redis://[::1]x", "unexpected characters after the IPv6 address"},
    {"redis://[::%231]", "not an IPv6 address"}, /* a zone starts with %25 */
    {"redis://[::1]:x", "the port is not a number"},
    {"redis://h%2Fx", "the host has characters a host name cannot have"},
    {"redis://h%40x", "the host has characters"},
    {"redis://h x", "the host has characters"},
    {"redis://h%zz", "bad percent-encoding in the host"},
    {"redis://h%00", "bad percent-encoding in the host"},
    /* path */
    {"redis://:hunter2@h/abc", "the path '/abc' is not a database number"},
    {"redis://h/1/2", "the path '/1/2' is not a database number"},
    {"redis://h/-1", "is not a database number"},
    {"redis://h/99999999999", "is not a database number"},
    {"redis://h/%zz", "bad percent-encoding in the path"},
    /* a password that was not percent-encoded */
    {"redis://:hun/ter2@h", "'@' after the host: percent-encode"},
    {"redis://:hunter2/@h/0", "'@' after the host"},
    {"redis://:hunter2?x@h", "'@' after the host"},
    {"redis://:hun#ter2@h", "'@' after the host"},
    {"redis://u:hunter2@h/0?client_name=a@b", "'@' after the host"},
    {"redis://:hunter2@h#frag", "a fragment ('#...') has no meaning"},
    {"redis://:hunter2%zz@h", "bad percent-encoding in the user name or password"},
    {"redis://:hunter2%4@h", "bad percent-encoding in the user name or password"},
    {"redis://:hunter2%00@h", "bad percent-encoding in the user name or password"},
    {"redis://hunter2@h", "a username needs a password"},
    /* query options */
    {"redis://:hunter2@h?nope=1", "unknown option 'nope'"},
    {"redis://h?Db=1", "unknown option 'Db'"},
    {"redis://h?password=hunter3", "unknown option 'password'"},
    {"redis://h?%zz=1", "bad percent-encoding in a query option's name"},
    {"redis://h?db", "option 'db' has no value"},
    {"redis://h?db=1%", "option 'db': bad percent-encoding"},
    {"redis://h?db=", "option 'db' must be a whole number (0 or more), not ''"},
    {"redis://h?db=x", "option 'db' must be a whole number (0 or more), not 'x'"},
    {"redis://h?db=-1", "option 'db' must be a whole number"},
    {"redis://h?db=1.5", "option 'db' must be a whole number"},
    {"redis://h?db=+1", "option 'db' must be a whole number"},
    {"redis://h?db=99999999999", "option 'db' must be a whole number"},
    {"redis://h?db=1&db=2", "option 'db' is given twice"},
    {"redis://h?socket_timeout=0", "option 'socket_timeout' must be a number of seconds above 0"},
    {"redis://h?socket_timeout=abc", "option 'socket_timeout' must be a number of seconds"},
    {"redis://h?socket_timeout=-1", "option 'socket_timeout' must be"},
    {"redis://h?socket_timeout=1e3", "option 'socket_timeout' must be"},
    {"redis://h?socket_timeout=inf", "option 'socket_timeout' must be"},
    {"redis://h?socket_timeout=nan", "option 'socket_timeout' must be"},
    {"redis://h?socket_timeout=1.2.3", "option 'socket_timeout' must be"},
    {"redis://h?socket_timeout=.", "option 'socket_timeout' must be"},
    {"redis://h?socket_timeout=1,5", "option 'socket_timeout' must be"},
    {"redis://h?socket_timeout=3000000", "option 'socket_timeout' must be"},
    {"redis://h?socket_connect_timeout=x", "option 'socket_connect_timeout' must be a number"},
    {"redis://h?socket_connect_timeout=0.0", "option 'socket_connect_timeout' must be"},
    {"redis://h?socket_keepalive=maybe",
     "option 'socket_keepalive' must be true, false, yes, no, 1 or 0, not 'maybe'"},
    {"redis://h?socket_keepalive=", "option 'socket_keepalive' must be true"},
    {"redis://h?health_check_interval=-1", "option 'health_check_interval' must be a number"},
    {"redis://h?max_connections=0", "option 'max_connections' must be a whole number (1 or more)"},
    {"redis://h?max_connections=ten", "option 'max_connections' must be"},
    {"redis://h?client_name=", "option 'client_name' must be a non-empty string"},
    {"redis://h?pool_blocking=2", "option 'pool_blocking' must be true"},
    {"redis://h?pool_timeout=0", "option 'pool_timeout' must be a number of seconds above 0"},
    {"redis://h?pool_blocking=false&pool_timeout=1", "'pool_timeout' needs pool_blocking=true"},
    {"redis://h?retries=x", "option 'retries' must be a whole number"},
    {"redis://h?retry_on_timeout=x", "option 'retry_on_timeout' must be true"},
    {"redis://h?ssl_cert_reqs=none", "option 'ssl_cert_reqs' needs a rediss:// URL"},
    {"redis://h?ssl_ca_certs=/ca.pem", "option 'ssl_ca_certs' needs a rediss:// URL"},
    {"unix:///tmp/s?ssl_certfile=/c", "option 'ssl_certfile' needs a rediss:// URL"},
    {"rediss://h?ssl_cert_reqs=maybe", "option 'ssl_cert_reqs' must be none, optional or required"},
    {"rediss://h?ssl_check_hostname=x", "option 'ssl_check_hostname' must be true"},
    {"rediss://h?ssl_cert_reqs=none&ssl_check_hostname=true",
     "ssl_check_hostname=true cannot go with ssl_cert_reqs=none"},
    {"rediss://h?ssl_ca_certs=", "option 'ssl_ca_certs' must be a non-empty string"},
    {"rediss://h?ssl_ca_path=", "option 'ssl_ca_path' must be a non-empty string"},
    {"rediss://h?ssl_server_name=", "option 'ssl_server_name' must be a non-empty string"},
    {"rediss://:hunter2@h?ssl_keyfile=/k.pem", "tls_key_file needs tls_cert_file"},
    /* unix */
    {"unix://host/tmp/s", "a unix:// URL has no host"},
    {"unix://:hunter2@host/tmp/s", "a unix:// URL has no host"},
    {"unix://", "a unix:// URL needs the socket's path"},
    {"unix://:hunter2@", "a unix:// URL needs the socket's path"},
    {"unix:///tmp/%zz", "bad percent-encoding in the path"},
};

START_TEST(bad_urls)
{
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        reds_options *o = (reds_options *)&o;
        reds_err err = reds_url_parse(bad[i].url, NULL, &o);
        ck_assert_msg(err == REDS_ERR_DATA, "%s: %s (%s)", bad[i].url, reds_err_name(err),
                      reds_errmsg());
        ck_assert_msg(o == NULL, "%s: out not cleared", bad[i].url);
        ck_assert_msg(strstr(reds_errmsg(), bad[i].message), "%s\n  gave   [%s]\n  wanted [%s]",
                      bad[i].url, reds_errmsg(), bad[i].message);
        ck_assert_msg(!strstr(reds_errmsg(), "hunter2") && !strstr(reds_errmsg(), "hun"),
                      "%s: the message shows the password: %s", bad[i].url, reds_errmsg());
    }
    reds_options *o = NULL;
    ASSERT_ERR(reds_url_parse(NULL, NULL, &o), REDS_ERR_DATA);
    ASSERT_ERR(reds_url_parse("redis://h", NULL, NULL), REDS_ERR_DATA);
    reds_client *c = NULL;
    ASSERT_ERR(reds_client_from_url("redis://h?db=x", NULL, &c), REDS_ERR_DATA);
    ck_assert_ptr_null(c);
    ASSERT_ERR(reds_client_from_url("redis://h", NULL, NULL), REDS_ERR_DATA);
    /* Files are read when a client is made, not by the parser. */
    ASSERT_OK(reds_url_parse("rediss://h?ssl_ca_certs=/nonexistent/ca.pem", NULL, &o));
    reds_free(o);
    ASSERT_ERR(reds_client_from_url("rediss://h?ssl_ca_certs=/nonexistent/ca.pem", NULL, &c),
               REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "tls_ca_file '/nonexistent/ca.pem': No such file or directory");
}
END_TEST

/* Query over path over the caller's options; the scheme decides the
 * transport. */
START_TEST(precedence_over_base)
{
    reds_options base = {.host = "basehost",
                         .port = 7000,
                         .db = 5,
                         .password = "basepw",
                         .socket_timeout_ms = 100,
                         .client_name = "base-name",
                         .keepalive_s = 30,
                         .retries = 2};
    static const struct {
        const char *url, *expect;
    } cases[] = {
        {"redis://", " host=basehost port=7000 password=basepw db=5 client_name=base-name "
                     "socket_timeout_ms=100 keepalive_s=30 retries=2"},
        {"redis://h/3", " host=h port=7000 password=basepw db=3 client_name=base-name "
                        "socket_timeout_ms=100 keepalive_s=30 retries=2"},
        {"redis://h:1/3?db=7&client_name=url&socket_keepalive=yes",
         " host=h port=1 password=basepw db=7 client_name=url socket_timeout_ms=100 "
         "keepalive_s=30 retries=2"},
        {"redis://:urlpw@h?socket_timeout=0.5&retries=0",
         " host=h port=7000 password=urlpw db=5 client_name=base-name socket_timeout_ms=500 "
         "keepalive_s=30"},
        {"redis://admin@h", " host=h port=7000 username=admin password=basepw db=5 "
                            "client_name=base-name socket_timeout_ms=100 keepalive_s=30 retries=2"},
        {"unix:///s", " host=basehost port=7000 unix_path=/s password=basepw db=5 "
                      "client_name=base-name socket_timeout_ms=100 keepalive_s=30 retries=2"},
        {"rediss://h", " host=h port=7000 password=basepw db=5 client_name=base-name "
                       "socket_timeout_ms=100 keepalive_s=30 tls=1 retries=2"},
    };
    char got[1024];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reds_options *o = NULL;
        reds_err err = reds_url_parse(cases[i].url, &base, &o);
        ck_assert_msg(err == REDS_OK, "%s: %s", cases[i].url, reds_errmsg());
        describe(o, got, sizeof got);
        ck_assert_msg(strcmp(got, cases[i].expect) == 0, "%s\n  gave   [%s]\n  wanted [%s]",
                      cases[i].url, got, cases[i].expect);
        /* The result owns its strings: it outlives `base`'s. */
        ck_assert_ptr_ne(o->password, base.password);
        reds_free(o);
    }
    /* A unix base is replaced by a TCP URL. */
    reds_options unix_base = {.unix_path = "/tmp/x.sock"};
    reds_options *o = NULL;
    ASSERT_OK(reds_url_parse("redis://h", &unix_base, &o));
    ck_assert_ptr_null(o->unix_path);
    reds_free(o);
    /* TLS settings in the base conflict with a redis:// URL. */
    reds_options tls_base = {.tls = true, .tls_ca_file = "/ca.pem"};
    ASSERT_ERR(reds_url_parse("redis://h", &tls_base, &o), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "tls_ca_file is set but tls is off");
    ASSERT_OK(reds_url_parse("rediss://h?ssl_check_hostname=false", &tls_base, &o));
    ck_assert_int_eq(o->tls_verify, REDS_TLS_VERIFY_CHAIN);
    ck_assert_str_eq(o->tls_ca_file, "/ca.pem");
    reds_free(o);
    /* An invalid base is refused too. */
    reds_options broken = {.db = -1};
    ASSERT_ERR(reds_url_parse("redis://h", &broken, &o), REDS_ERR_DATA);
    ASSERT_OK(reds_url_parse("redis://h/1", &broken, &o)); /* the URL's db wins */
    reds_free(o);
}
END_TEST

START_TEST(format_masks_the_password)
{
    reds_options o = {.host = "::1",
                      .port = 7000,
                      .username = "us er",
                      .password = "hunter2",
                      .db = 2,
                      .client_name = "x",
                      .socket_timeout_ms = 1500,
                      .connect_timeout_ms = 250,
                      .tls = true,
                      .tls_ca_file = "/a b/ca.pem",
                      .tls_verify = REDS_TLS_VERIFY_CHAIN};
    reds_str *s = NULL;
    ASSERT_OK(reds_url_format(&o, &s));
    ASSERT_STR(s, "rediss://us%20er:***@[::1]:7000/2?socket_timeout=1.5&"
                  "socket_connect_timeout=0.25&client_name=x&ssl_check_hostname=false&"
                  "ssl_ca_certs=/a%20b/ca.pem");
    /* It parses back to the same options, but for the password. */
    reds_options *back = NULL;
    ASSERT_OK(reds_url_parse(s->ptr, NULL, &back));
    ck_assert_str_eq(back->password, "***");
    back->password = o.password;
    char a[1024], b[1024];
    describe(&o, a, sizeof a);
    describe(back, b, sizeof b);
    ck_assert_str_eq(a, b);
    reds_free(back);
    reds_free(s);

    reds_options every = {.host = "h",
                          .password = "hunter2",
                          .keepalive_s = REDS_DISABLED,
                          .health_check_interval_ms = 30000,
                          .max_connections = 4,
                          .pool_blocking = true,
                          .pool_timeout_ms = 2500,
                          .retries = 3,
                          .retry_writes = true};
    ASSERT_OK(reds_url_format(&every, &s));
    ASSERT_STR(s, "redis://:***@h:6379?health_check_interval=30&socket_keepalive=false&"
                  "max_connections=4&pool_blocking=true&pool_timeout=2.5&retries=3&"
                  "retry_on_timeout=true");
    ASSERT_OK(reds_url_parse(s->ptr, NULL, &back));
    back->password = every.password;
    back->port = 0;
    describe(&every, a, sizeof a);
    describe(back, b, sizeof b);
    ck_assert_str_eq(a, b);
    reds_free(back);
    reds_free(s);

    reds_options unix_o = {
        .unix_path = "/run/re dis.sock", .db = 3, .username = "u", .password = "hunter2"};
    ASSERT_OK(reds_url_format(&unix_o, &s));
    ASSERT_STR(s, "unix://u:***@/run/re%20dis.sock?db=3");
    reds_free(s);
    /* Brackets only around an IPv6 address: the URL parses back. */
    reds_options colon = {.host = "h:x"};
    ASSERT_OK(reds_url_format(&colon, &s));
    ASSERT_STR(s, "redis://h%3Ax:6379");
    ASSERT_OK(reds_url_parse(s->ptr, NULL, &back));
    ck_assert_str_eq(back->host, "h:x");
    reds_free(back);
    reds_free(s);
    reds_options plain = {0};
    ASSERT_OK(reds_url_format(&plain, &s));
    ASSERT_STR(s, "redis://127.0.0.1:6379");
    reds_free(s);
    reds_options insecure = {.tls = true, .tls_verify = REDS_TLS_VERIFY_NONE_INSECURE};
    ASSERT_OK(reds_url_format(&insecure, &s));
    ASSERT_STR(s, "rediss://127.0.0.1:6379?ssl_cert_reqs=none");
    reds_free(s);
    ASSERT_ERR(reds_url_format(NULL, &s), REDS_ERR_DATA);
    ck_assert_ptr_null(s);
    ASSERT_ERR(reds_url_format(&plain, NULL), REDS_ERR_DATA);
}
END_TEST

START_TEST(redact)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"redis://user:hunter2@host:6379/0", "redis://user:***@host:6379/0"},
        {"redis://:hunter2@host", "redis://:***@host"},
        {"rediss://:hun/ter2@h/0?db=1", "rediss://:***@h/0?db=1"},
        {"unix://:hunter2@/tmp/s.sock?db=2", "unix://:***@/tmp/s.sock?db=2"},
        {"redis://user@host", "redis://user@host"},
        {"redis://host:6379/0", "redis://host:6379/0"},
        {"user:hunter2@host", "user:***@host"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reds_str *s = NULL;
        ASSERT_OK(reds_url_redact(cases[i].in, &s));
        ASSERT_STR(s, cases[i].out);
        reds_free(s);
    }
    reds_str *s = (reds_str *)&s;
    ASSERT_ERR(reds_url_redact(NULL, &s), REDS_ERR_DATA);
    ck_assert_ptr_null(s);
}
END_TEST

/* --------------------------------------------------------- with a server */

START_TEST(clients_from_urls)
{
    char url[512];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/3?client_name=from-url&socket_timeout=2",
             test_server.port);
    reds_client *c = NULL;
    ASSERT_OK(reds_client_from_url(url, NULL, &c));
    ASSERT_OK(reds_set(c, REDS_STR("k"), REDS_STR("in-3"), NULL, NULL));
    reds_str *name = NULL;
    ASSERT_OK(reds_client_getname(c, &name));
    ASSERT_STR(name, "from-url");
    reds_free(name);
    reds_client_free(c);

    /* unix://, percent-encoded path, db in the query. */
    char path[256];
    size_t n = 0;
    for (const char *p = test_server.sock; *p && n + 4 < sizeof path; p++)
        n += (size_t)snprintf(path + n, sizeof path - n, *p == '-' ? "%%%02X" : "%c",
                              (unsigned char)*p);
    snprintf(url, sizeof url, "unix://%s?db=3", path);
    ASSERT_OK(reds_client_from_url(url, NULL, &c));
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, REDS_STR("k"), &v));
    ASSERT_STR(v, "in-3");
    reds_free(v);
    reds_client_free(c);

    /* The caller's options fill in what the URL leaves out. */
    reds_options base = {.port = test_server.port, .db = 3};
    ASSERT_OK(reds_client_from_url("redis://127.0.0.1", &base, &c));
    ASSERT_OK(reds_get(c, REDS_STR("k"), &v));
    ASSERT_STR(v, "in-3");
    reds_free(v);
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

static void assert_no_secret(const char *secret)
{
    ck_assert_msg(!strstr(reds_errmsg(), secret), "the message shows the password: %s",
                  reds_errmsg());
}

START_TEST(passwords_never_in_messages)
{
    /* A server that wants a password whose encoding needs every trick. */
    fixture_server s;
    const char *args[] = {"--requirepass", "p@ss:w/rd?#%", NULL};
    ck_assert_int_eq(fixture_start(&s, args), 0);
    char url[512];
    reds_client *c;

    snprintf(url, sizeof url, "redis://:p%%40ss%%3Aw%%2Frd%%3F%%23%%25@127.0.0.1:%d", s.port);
    ASSERT_OK(reds_client_from_url(url, NULL, &c));
    ASSERT_OK(reds_ping(c, NULL, NULL));
    reds_client_free(c);

    /* A failing AUTH, with and without a user name. */
    snprintf(url, sizeof url, "redis://:Wrong-hunter2@127.0.0.1:%d", s.port);
    ASSERT_OK(reds_client_from_url(url, NULL, &c));
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_AUTH);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "AUTH: WRONGPASS"));
    assert_no_secret("hunter2");
    reds_client_free(c);
    snprintf(url, sizeof url, "redis://alice:Wrong-hunter2@127.0.0.1:%d", s.port);
    ASSERT_OK(reds_client_from_url(url, NULL, &c));
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_AUTH);
    assert_no_secret("hunter2");
    reds_client_free(c);
    fixture_stop(&s);

    /* A failing connect: refused, a missing socket, a silent server. */
    snprintf(url, sizeof url, "redis://u:hunter2@127.0.0.1:%d/0", fixture_free_port());
    ASSERT_OK(reds_client_from_url(url, NULL, &c));
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_CONNECTION);
    assert_no_secret("hunter2");
    reds_client_free(c);
    ASSERT_OK(reds_client_from_url("unix://:hunter2@/nonexistent/r.sock", NULL, &c));
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_CONNECTION);
    assert_no_secret("hunter2");
    reds_client_free(c);
    int port, fd = silent_listener(&port);
    snprintf(url, sizeof url, "redis://:hunter2@127.0.0.1:%d?socket_connect_timeout=0.2", port);
    ASSERT_OK(reds_client_from_url(url, NULL, &c));
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_TIMEOUT);
    assert_no_secret("hunter2");
    reds_client_free(c);
    close(fd);
    ASSERT_OK(reds_client_from_url("redis://:hunter2@nonexistent.invalid:1", NULL, &c));
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_CONNECTION);
    assert_no_secret("hunter2");
    reds_client_free(c);

    /* Bad options next to a password. */
    reds_options o = {.password = "hunter2", .port = 70000};
    ASSERT_ERR(reds_client_new(&o, &c), REDS_ERR_DATA);
    assert_no_secret("hunter2");
    ASSERT_ERR(reds_client_from_url("redis://:hunter2@h:99999", NULL, &c), REDS_ERR_DATA);
    assert_no_secret("hunter2");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("url");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, good_urls);
    tcase_add_test(tc, bad_urls);
    tcase_add_test(tc, precedence_over_base);
    tcase_add_test(tc, format_masks_the_password);
    tcase_add_test(tc, redact);
    suite_add_tcase(s, tc);

    tc = tcase_create("server");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, clients_from_urls);
    tcase_add_test(tc, passwords_never_in_messages);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
