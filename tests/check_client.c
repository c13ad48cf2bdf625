/* Clients against a real server: transports, set-up on connect, errors,
 * timeouts, the pool under threads, dedicated connections, generic
 * commands and response callbacks. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"

START_TEST(ping_tcp_and_unix)
{
    reds_client *tcp = test_client(NULL), *unix_ = test_client_unix(NULL);
    reds_str *pong = NULL;
    ASSERT_OK(reds_ping(tcp, NULL, &pong));
    ASSERT_STR(pong, "PONG");
    reds_free(pong);
    reds_ping_opts msg = {.message = REDS_STR("hi\0there")};
    ASSERT_OK(reds_ping(unix_, &msg, &pong));
    ck_assert_uint_eq(pong->len, 8);
    ck_assert(memcmp(pong->ptr, "hi\0there", 8) == 0);
    reds_free(pong);
    reds_client_free(tcp);
    reds_client_free(unix_);
}
END_TEST

START_TEST(bad_options)
{
    reds_client *c = (reds_client *)&c;
    reds_options o = {.port = 70000};
    ASSERT_ERR(reds_client_new(&o, &c), REDS_ERR_DATA);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(reds_errmsg(), "port 70000 is out of range 1..65535");
    o = (reds_options){.username = "u"};
    ASSERT_ERR(reds_client_new(&o, &c), REDS_ERR_DATA);
    o = (reds_options){.socket_timeout_ms = -5};
    ASSERT_ERR(reds_client_new(&o, &c), REDS_ERR_DATA);
    o = (reds_options){.db = -1};
    ASSERT_ERR(reds_client_new(&o, &c), REDS_ERR_DATA);
    ASSERT_ERR(reds_client_new(NULL, NULL), REDS_ERR_DATA);
    reds_client_free(NULL);
}
END_TEST

START_TEST(connection_refused)
{
    reds_options o = {.port = fixture_free_port()};
    reds_client *c;
    ASSERT_OK(reds_client_new(&o, &c)); /* nothing connects before a command */
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_CONNECTION);
    char expect[64];
    snprintf(expect, sizeof expect, "127.0.0.1:%d: Connection refused", o.port);
    ck_assert_msg(strstr(reds_errmsg(), expect), "%s", reds_errmsg());
    reds_client_free(c);
    o = (reds_options){.unix_path = "/nonexistent/redis.sock"};
    ASSERT_OK(reds_client_new(&o, &c));
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_CONNECTION);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "unix:/nonexistent/redis.sock"));
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

START_TEST(handshake_bounded_by_connect_timeout)
{
    int port, fd = silent_listener(&port);
    reds_options o = {.port = port, .password = "pw", .connect_timeout_ms = 200};
    reds_client *c;
    ASSERT_OK(reds_client_new(&o, &c));
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_TIMEOUT);
    reds_client_free(c);
    /* Without a handshake, the socket timeout bounds the first command. */
    o = (reds_options){.port = port, .socket_timeout_ms = 200};
    ASSERT_OK(reds_client_new(&o, &c));
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_TIMEOUT);
    reds_client_free(c);
    close(fd);
}
END_TEST

START_TEST(auth_on_connect)
{
    fixture_server s;
    const char *args[] = {"--requirepass", "s3cret-pw", NULL};
    ck_assert_int_eq(fixture_start(&s, args), 0);
    reds_options o = {.port = s.port, .password = "wrong-pw"};
    reds_client *c;
    ASSERT_OK(reds_client_new(&o, &c));
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_AUTH);
    ck_assert(reds_err_is(REDS_ERR_AUTH, REDS_ERR_CONNECTION));
    ck_assert_msg(strstr(reds_errmsg(), "AUTH: WRONGPASS"), "%s", reds_errmsg());
    ck_assert_ptr_null(strstr(reds_errmsg(), "wrong-pw"));
    reds_client_free(c);

    o.password = NULL;
    ASSERT_OK(reds_client_new(&o, &c));
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_AUTH); /* NOAUTH */
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "NOAUTH"));
    reds_client_free(c);

    o.password = "s3cret-pw";
    ASSERT_OK(reds_client_new(&o, &c));
    ASSERT_OK(reds_ping(c, NULL, NULL));
    reds_client_free(c);

    /* An ACL user: username + password. */
    char reply[128];
    ck_assert_int_eq(fixture_command(&s, "AUTH s3cret-pw", reply, sizeof reply), 0);
    reds_options admin = {.port = s.port, .password = "s3cret-pw"};
    ASSERT_OK(reds_client_new(&admin, &c));
    reds_str acl[] = {REDS_STR("ACL"),     REDS_STR("SETUSER"), REDS_STR("app"),  REDS_STR("on"),
                      REDS_STR(">app-pw"), REDS_STR("~*"),      REDS_STR("+@all")};
    ASSERT_OK(reds_execute_command(c, 7, acl, NULL));
    reds_client_free(c);
    reds_options user = {.port = s.port, .username = "app", .password = "app-pw"};
    ASSERT_OK(reds_client_new(&user, &c));
    reds_str *who = NULL;
    reds_str whoami[] = {REDS_STR("ACL"), REDS_STR("WHOAMI")};
    reds_reply *r = NULL;
    ASSERT_OK(reds_execute_command(c, 2, whoami, &r));
    reds_str name;
    ASSERT_OK(reds_reply_str(r, &name));
    ASSERT_STR(&name, "app");
    reds_free(r);
    reds_free(who);
    reds_client_free(c);
    fixture_stop(&s);
}
END_TEST

START_TEST(db_and_client_name_on_connect)
{
    reds_options o = {.db = 3, .client_name = "reds-test"};
    reds_client *c3 = test_client(&o), *c0 = test_client(NULL);
    ASSERT_OK(reds_set(c3, REDS_STR("k"), REDS_STR("in-db-3"), NULL, NULL));
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c0, REDS_STR("k"), &v));
    ck_assert_ptr_null(v);
    ASSERT_OK(reds_get(c3, REDS_STR("k"), &v));
    ASSERT_STR(v, "in-db-3");
    reds_free(v);
    reds_str *name = NULL;
    ASSERT_OK(reds_client_getname(c3, &name));
    ASSERT_STR(name, "reds-test");
    reds_free(name);
    reds_client_free(c3);
    reds_client_free(c0);
}
END_TEST

START_TEST(server_error_replies)
{
    reds_client *c = test_client(NULL);
    ASSERT_OK(reds_set(c, REDS_STR("s"), REDS_STR("abc"), NULL, NULL));
    int64_t n = 12345;
    ASSERT_ERR(reds_incr(c, REDS_STR("s"), &n), REDS_ERR_RESPONSE);
    ck_assert_str_eq(reds_errmsg(), "INCR: ERR value is not an integer or out of range");
    ck_assert(n == 0); /* outputs are cleared on entry */
    /* A command the table does not know is named as the user sent it;
     * a container with its subcommand, and no argument ever. */
    reds_str argv[] = {REDS_STR("NOSUCHCOMMAND"), REDS_STR("x")};
    reds_reply *r = NULL;
    ASSERT_ERR(reds_execute_command(c, 2, argv, &r), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(r);
    ck_assert_str_eq(reds_errmsg(), "NOSUCHCOMMAND: ERR unknown command 'NOSUCHCOMMAND', with "
                                    "args beginning with: 'x' ");
    reds_str sub[] = {REDS_STR("config"), REDS_STR("nosuch"), REDS_STR("x")};
    ASSERT_ERR(reds_execute_command(c, 3, sub, &r), REDS_ERR_RESPONSE);
    ck_assert_str_eq(reds_errmsg(),
                     "config nosuch: ERR unknown subcommand 'nosuch'. Try CONFIG HELP.");
    reds_str known[] = {REDS_STR("get")};
    ASSERT_ERR(reds_execute_command(c, 1, known, &r), REDS_ERR_RESPONSE);
    ck_assert_str_eq(reds_errmsg(), "GET: ERR wrong number of arguments for 'get' command");
    reds_client *d;
    ASSERT_OK(reds_client_dedicated(c, &d));
    reds_str auth[] = {REDS_STR("AUTH"), REDS_STR("nobody"), REDS_STR("hunter2")};
    ASSERT_ERR(reds_execute_command(d, 3, auth, &r), REDS_ERR_AUTH);
    ck_assert_str_eq(reds_errmsg(), "AUTH: WRONGPASS invalid username-password pair or user is "
                                    "disabled.");
    reds_client_free(d);
    /* The connection is still in step: the next reply is the right one. */
    ASSERT_OK(reds_incr(c, REDS_STR("counter"), &n));
    ck_assert(n == 1);
    reds_client_free(c);
}
END_TEST

START_TEST(socket_timeout_then_own_reply)
{
    reds_options o = {.socket_timeout_ms = 200, .max_connections = 1};
    reds_client *c = test_client(&o);
    reds_str sleep_cmd[] = {REDS_STR("DEBUG"), REDS_STR("SLEEP"), REDS_STR("0.6")};
    ASSERT_ERR(reds_execute_command(c, 3, sleep_cmd, NULL), REDS_ERR_TIMEOUT);
    ck_assert_msg(strstr(reds_errmsg(), "Timeout reading from 127.0.0.1"), "%s", reds_errmsg());
    /* DEBUG SLEEP blocks the whole server: wait until it answers again. */
    char pong[16];
    test_raw("PING", pong, sizeof pong);
    /* The late "+OK" of DEBUG SLEEP must not become this ECHO's reply: the
     * timed-out connection was closed, not reused. */
    reds_str *echo = NULL;
    ASSERT_OK(reds_echo(c, REDS_STR("mine"), &echo));
    ASSERT_STR(echo, "mine");
    reds_free(echo);
    reds_client_free(c);
}
END_TEST

START_TEST(big_values)
{
    reds_client *c = test_client_unix(NULL);
    size_t n = 3 * 1024 * 1024 + 7;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 31 + 7);
    ASSERT_OK(reds_set(c, REDS_STR("big"), reds_strn(big, n), NULL, NULL));
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, REDS_STR("big"), &v));
    ck_assert_uint_eq(v->len, n);
    ck_assert(memcmp(v->ptr, big, n) == 0);
    reds_free(v);
    free(big);
    reds_client_free(c);
}
END_TEST

START_TEST(reply_deeper_than_the_reader_allows)
{
    /* hiredis 0.14's reader stops at 7 levels; COMMAND DOCS CLIENT has 11.
     * The reply is refused cleanly and the client carries on. */
    reds_client *c = test_client(NULL);
    reds_str argv[] = {REDS_STR("COMMAND"), REDS_STR("DOCS"), REDS_STR("CLIENT")};
    reds_reply *r = NULL;
    ASSERT_ERR(reds_execute_command(c, 3, argv, &r), REDS_ERR_INVALID_RESPONSE);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "depth"));
    ASSERT_OK(reds_ping(c, NULL, NULL));
    reds_client_free(c);
}
END_TEST

/* ------------------------------------------------------------- threads */

enum { THREADS = 8, ROUNDS = 400 };

static reds_client *shared;

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    char key[32], val[64], nonce[64];
    for (int i = 0; i < ROUNDS; i++) {
        snprintf(key, sizeof key, "t%d:%d", id, i % 10);
        snprintf(val, sizeof val, "value-%d-%d", id, i);
        snprintf(nonce, sizeof nonce, "nonce-%d-%d", id, i);
        if (reds_set(shared, reds_cstr(key), reds_cstr(val), NULL, NULL))
            return (void *)"SET failed";
        reds_str *got = NULL, *echo = NULL;
        if (reds_get(shared, reds_cstr(key), &got) || !got || strcmp(got->ptr, val))
            return (void *)"GET returned another value";
        if (reds_echo(shared, reds_cstr(nonce), &echo) || strcmp(echo->ptr, nonce))
            return (void *)"ECHO returned another caller's reply";
        reds_free(got);
        reds_free(echo);
        if (reds_incr(shared, REDS_STR("total"), NULL))
            return (void *)"INCR failed";
    }
    return NULL;
}

START_TEST(threads_share_one_client)
{
    shared = test_client(NULL);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++) {
        void *failure;
        pthread_join(t[i], &failure);
        ck_assert_msg(failure == NULL, "thread %d: %s", i, (const char *)failure);
    }
    reds_str *total = NULL;
    ASSERT_OK(reds_get(shared, REDS_STR("total"), &total));
    ASSERT_STR(total, "3200");
    reds_free(total);
    /* Connections are made on demand and reused: never more than threads. */
    reds_client_entry_list *clients = NULL;
    ASSERT_OK(reds_client_list(shared, NULL, &clients));
    ck_assert_uint_le(clients->count, THREADS);
    ck_assert_uint_ge(clients->count, 1);
    reds_free(clients);
    reds_client_free(shared);
}
END_TEST

static void *blocker(void *arg)
{
    reds_str argv[] = {REDS_STR("BLPOP"), REDS_STR("q"), REDS_STR("5")};
    reds_reply *r = NULL;
    reds_err err = reds_execute_command(arg, 3, argv, &r);
    reds_free(r);
    return (void *)(intptr_t)err;
}

START_TEST(pool_exhausted_fails_fast)
{
    reds_options o = {.max_connections = 1};
    reds_client *c = test_client(&o);
    pthread_t t;
    pthread_create(&t, NULL, blocker, c);
    /* Wait until the server sees the BLPOP, so the one connection is taken. */
    char reply[64];
    for (int i = 0; i < 500; i++) {
        reds_client *probe = test_client(NULL);
        reds_str argv[] = {REDS_STR("INFO"), REDS_STR("clients")};
        reds_reply *info = NULL;
        ASSERT_OK(reds_execute_command(probe, 2, argv, &info));
        bool blocked = strstr(info->str, "blocked_clients:1") != NULL;
        reds_free(info);
        reds_client_free(probe);
        if (blocked)
            break;
        usleep(10000);
    }
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_POOL_EXHAUSTED);
    ck_assert(reds_err_is(REDS_ERR_POOL_EXHAUSTED, REDS_ERR_CONNECTION));
    ck_assert_str_eq(reds_errmsg(), "Too many connections: all 1 are in use");
    test_raw("RPUSH q x", reply, sizeof reply);
    void *err;
    pthread_join(t, &err);
    ck_assert_int_eq((int)(intptr_t)err, REDS_OK);
    ASSERT_OK(reds_ping(c, NULL, NULL)); /* the connection came back */
    reds_client_free(c);
}
END_TEST

/* --------------------------------------------------- dedicated connections */

START_TEST(connection_state_needs_a_dedicated_connection)
{
    reds_client *c = test_client(NULL), *d;
    ASSERT_ERR(reds_select(c, 2), REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "SELECT changes the state of one connection"));
    ASSERT_ERR(reds_client_setname(c, REDS_STR("x")), REDS_ERR_DATA);
    reds_str argv[] = {REDS_STR("select"), REDS_STR("2")};
    ASSERT_ERR(reds_execute_command(c, 2, argv, NULL), REDS_ERR_DATA);
    /* Commands of the dedicated APIs would leave a pooled connection in
     * a special state: refused, naming the API to use. */
    reds_str multi[] = {REDS_STR("MULTI")}, sub[] = {REDS_STR("SUBSCRIBE"), REDS_STR("ch")};
    ASSERT_ERR(reds_execute_command(c, 1, multi, NULL), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "MULTI puts its connection in a special state: use pipelines "
                                    "(reds_pipeline_new, reds_transaction)");
    ASSERT_ERR(reds_execute_command(c, 2, sub, NULL), REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "reds_pubsub_new"));
    ASSERT_OK(reds_ping(c, NULL, NULL)); /* the pool is unharmed */

    ASSERT_OK(reds_client_dedicated(c, &d));
    ASSERT_OK(reds_select(d, 2));
    ASSERT_OK(reds_set(d, REDS_STR("k"), REDS_STR("db2"), NULL, NULL));
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, REDS_STR("k"), &v));
    ck_assert_ptr_null(v); /* the pooled client is still on db 0 */
    ASSERT_OK(reds_get(d, REDS_STR("k"), &v));
    ASSERT_STR(v, "db2");
    reds_free(v);
    int64_t id1, id2;
    ASSERT_OK(reds_client_id(d, &id1));
    ASSERT_OK(reds_client_id(d, &id2));
    ck_assert(id1 == id2); /* one connection */
    reds_client_free(d);
    ASSERT_ERR(reds_client_dedicated(NULL, &d), REDS_ERR_DATA);
    reds_client_free(c);
}
END_TEST

/* CLIENT REPLY (and the catalogue's other scope: never commands) would
 * leave the caller without a reply or shift replies onto the wrong
 * commands: refused on every handle, before anything is sent. */
static void assert_unpaired_refused(reds_client *h, size_t argc, const reds_str *argv,
                                    const char *name)
{
    char expect[256];
    snprintf(expect, sizeof expect,
             "%s: refused, nothing sent: the server does not answer it with one reply per "
             "command, so reds could not pair its replies with commands",
             name);
    reds_reply *r = (reds_reply *)&r;
    ASSERT_ERR(reds_execute_command(h, argc, argv, &r), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), expect);
    ck_assert_ptr_null(r);
}

/* The handle answers its next commands with their own replies. */
static void assert_in_step(reds_client *h)
{
    reds_str *pong = NULL, *v = NULL;
    ASSERT_OK(reds_ping(h, NULL, &pong));
    ASSERT_STR(pong, "PONG");
    reds_free(pong);
    ASSERT_OK(reds_get(h, REDS_STR("k"), &v));
    ASSERT_STR(v, "before");
    reds_free(v);
}

START_TEST(client_reply_is_refused_everywhere)
{
    reds_client *c = test_client(NULL), *d, *p;
    ASSERT_OK(reds_set(c, REDS_STR("k"), REDS_STR("before"), NULL, NULL));
    ASSERT_OK(reds_client_dedicated(c, &d));
    ASSERT_OK(reds_ping(d, NULL, NULL));
    char reply[64];
    test_raw("CONFIG RESETSTAT", reply, sizeof reply);
    ck_assert_str_eq(reply, "+OK");
    reds_str modes[] = {REDS_STR("OFF"), REDS_STR("SKIP"), REDS_STR("ON"), REDS_STR("skip")};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        reds_str argv[] = {REDS_STR("CLIENT"), REDS_STR("REPLY"), modes[i]};
        assert_unpaired_refused(c, 3, argv, "CLIENT REPLY");
        assert_in_step(c);
        assert_unpaired_refused(d, 3, argv, "CLIENT REPLY");
        assert_in_step(d);
        reds_str lower[] = {REDS_STR("client"), REDS_STR("reply"), modes[i]};
        assert_unpaired_refused(d, 3, lower, "CLIENT REPLY");
        for (int tx = 0; tx < 2; tx++) {
            ASSERT_OK(reds_pipeline_new(c, tx, &p));
            reds_str *pong = NULL, *v = NULL;
            ASSERT_OK(reds_ping(p, NULL, &pong));
            assert_unpaired_refused(p, 3, argv, "CLIENT REPLY");
            ck_assert_uint_eq(reds_pipeline_count(p), 1);
            ASSERT_OK(reds_get(p, REDS_STR("k"), &v));
            ASSERT_OK(reds_pipeline_execute(p));
            ASSERT_STR(pong, "PONG");
            ASSERT_STR(v, "before");
            reds_free(pong);
            reds_free(v);
            reds_client_free(p);
        }
    }
    /* The others the catalogue marks: replication streams, and REPLCONF
     * ACK, which a server never answers on a client connection. */
    reds_str sync[] = {REDS_STR("SYNC")},
             psync[] = {REDS_STR("PSYNC"), REDS_STR("?"), REDS_STR("-1")},
             ack[] = {REDS_STR("REPLCONF"), REDS_STR("ACK"), REDS_STR("0")},
             dbg[] = {REDS_STR("SCRIPT"), REDS_STR("DEBUG"), REDS_STR("YES")};
    assert_unpaired_refused(d, 1, sync, "SYNC");
    assert_unpaired_refused(d, 3, psync, "PSYNC");
    assert_unpaired_refused(d, 3, ack, "REPLCONF");
    assert_unpaired_refused(c, 3, ack, "REPLCONF");
    assert_unpaired_refused(d, 3, dbg, "SCRIPT DEBUG");
    assert_in_step(d);
    /* Nothing of them reached the server. */
    reds_str info[] = {REDS_STR("INFO"), REDS_STR("commandstats")};
    reds_reply *r = NULL;
    ASSERT_OK(reds_execute_command(c, 2, info, &r));
    ck_assert_ptr_null(strstr(r->str, "cmdstat_client|reply"));
    ck_assert_ptr_null(strstr(r->str, "cmdstat_sync"));
    ck_assert_ptr_null(strstr(r->str, "cmdstat_psync"));
    ck_assert_ptr_null(strstr(r->str, "cmdstat_replconf"));
    ck_assert_ptr_null(strstr(r->str, "cmdstat_script|debug"));
    reds_free(r);
    /* The catalogue says so, for apps that look. */
    ck_assert(reds_catalog_lookup("CLIENT REPLY")->flags & REDS_CMD_UNPAIRED_REPLIES);
    ck_assert(!(reds_catalog_lookup("DEBUG")->flags & REDS_CMD_UNPAIRED_REPLIES));
    reds_client_free(d);
    reds_client_free(c);
}
END_TEST

/* ------------------------------------------------------- generic commands */

START_TEST(execute_command_generic_tree)
{
    reds_client *c = test_client(NULL);
    reds_field_value fv[] = {{REDS_STR("f1"), REDS_STR("v1")}, {REDS_STR("f2"), REDS_STR("v2")}};
    ASSERT_OK(reds_hset(c, REDS_STR("h"), fv, 2, NULL));
    reds_str argv[] = {REDS_STR("hgetall"), REDS_STR("h")};
    reds_reply *r = NULL;
    ASSERT_OK(reds_execute_command(c, 2, argv, &r));
    ck_assert_int_eq(r->type, REDS_REPLY_ARRAY);
    ck_assert_uint_eq(r->len, 4);
    reds_str s;
    ASSERT_OK(reds_reply_str(reds_reply_at(r, 3), &s));
    ASSERT_STR(&s, "v2");
    reds_free(r);
    reds_str list[] = {REDS_STR("CLIENT"), REDS_STR("LIST")};
    ASSERT_OK(reds_execute_command(c, 2, list, &r));
    ck_assert_int_eq(r->type, REDS_REPLY_STRING);
    ck_assert_ptr_nonnull(strstr(r->str, "cmd=client|list"));
    reds_free(r);
    ASSERT_OK(reds_execute_command(c, 2, argv, NULL)); /* discarded */
    reds_client_free(c);
}
END_TEST

/* A GET that upper-cases, into the type GET declares (reds_str *). */
static reds_err shout(const reds_reply *reply, void *out, void *udata)
{
    ck_assert_ptr_eq(udata, (void *)&shout);
    if (reply->type == REDS_REPLY_NIL) {
        *(reds_str **)out = NULL;
        return REDS_OK;
    }
    if (reply->type != REDS_REPLY_STRING)
        return reds_set_error(REDS_ERR_INVALID_RESPONSE, "shout: not a string");
    reds_str *s = reds_alloc(sizeof *s + reply->len + 1);
    char *p = (char *)(s + 1);
    for (size_t i = 0; i < reply->len; i++)
        p[i] = (char)(reply->str[i] >= 'a' && reply->str[i] <= 'z' ? reply->str[i] - 32
                                                                   : reply->str[i]);
    s->ptr = p;
    s->len = reply->len;
    *(reds_str **)out = s;
    return REDS_OK;
}

/* DBSIZE as a double, through reds_execute_command. */
static reds_err as_double(const reds_reply *reply, void *out, void *udata)
{
    (void)udata;
    *(double *)out = (double)reply->integer + 0.5;
    return REDS_OK;
}

START_TEST(response_callbacks)
{
    reds_client *c = test_client(NULL);
    ASSERT_OK(reds_set(c, REDS_STR("k"), REDS_STR("quiet"), NULL, NULL));
    ASSERT_OK(reds_set_response_callback(c, "get", shout, (void *)&shout));
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, REDS_STR("k"), &v));
    ASSERT_STR(v, "QUIET");
    reds_free(v);
    ASSERT_OK(reds_set_response_callback(c, "DBSIZE", as_double, NULL));
    reds_str argv[] = {REDS_STR("DBSIZE")};
    double d = 0;
    ASSERT_OK(reds_execute_command(c, 1, argv, &d));
    ck_assert(d == 1.5);
    /* A dedicated connection inherits the client's callbacks. */
    reds_client *dc;
    ASSERT_OK(reds_client_dedicated(c, &dc));
    ASSERT_OK(reds_get(dc, REDS_STR("k"), &v));
    ASSERT_STR(v, "QUIET");
    reds_free(v);
    reds_client_free(dc);
    /* NULL restores the default converter. */
    ASSERT_OK(reds_set_response_callback(c, "GET", NULL, NULL));
    ASSERT_OK(reds_get(c, REDS_STR("k"), &v));
    ASSERT_STR(v, "quiet");
    reds_free(v);
    ASSERT_ERR(reds_set_response_callback(c, "NOPE", shout, NULL), REDS_ERR_DATA);
    reds_client_free(c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("client");
    TCase *tc = tcase_create("connect");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, ping_tcp_and_unix);
    tcase_add_test(tc, bad_options);
    tcase_add_test(tc, connection_refused);
    tcase_add_test(tc, handshake_bounded_by_connect_timeout);
    tcase_add_test(tc, auth_on_connect);
    tcase_add_test(tc, db_and_client_name_on_connect);
    suite_add_tcase(s, tc);

    tc = tcase_create("commands");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, server_error_replies);
    tcase_add_test(tc, socket_timeout_then_own_reply);
    tcase_add_test(tc, big_values);
    tcase_add_test(tc, reply_deeper_than_the_reader_allows);
    tcase_add_test(tc, execute_command_generic_tree);
    tcase_add_test(tc, response_callbacks);
    suite_add_tcase(s, tc);

    tc = tcase_create("pool");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, threads_share_one_client);
    tcase_add_test(tc, pool_exhausted_fails_fast);
    tcase_add_test(tc, connection_state_needs_a_dedicated_connection);
    tcase_add_test(tc, client_reply_is_refused_everywhere);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
