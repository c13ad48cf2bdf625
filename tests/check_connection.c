/* The connection group against a real server: every bound command, the
 * refusal of connection-scoped commands on a pooled client and their use
 * on dedicated connections, CLIENT subcommands across several connections
 * (KILL, PAUSE, UNBLOCK across threads, TRACKING), AUTH with ACL users. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "testutil.h"

static reds_client *c;

static void setup(void)
{
    test_flush();
    c = test_client(NULL);
}

static void teardown(void)
{
    reds_client_free(c);
    c = NULL;
}

static reds_client *dedicated(void)
{
    reds_client *d = NULL;
    ASSERT_OK(reds_client_dedicated(c, &d));
    ck_assert_ptr_nonnull(d);
    return d;
}

static int64_t id_of(reds_client *cl)
{
    int64_t id = 0;
    ASSERT_OK(reds_client_id(cl, &id));
    ck_assert_int_gt(id, 0);
    return id;
}

static bool has_flag(const reds_str *flags, char f)
{
    return flags->ptr && memchr(flags->ptr, f, flags->len) != NULL;
}

static bool list_has(const reds_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i].len == strlen(s) && memcmp(l->items[i].ptr, s, l->items[i].len) == 0)
            return true;
    return false;
}

/* How many connections CLIENT LIST ID `id` shows (0 or 1); fills `flags`
 * (when not NULL) with that connection's flags. */
static size_t listed(int64_t id, char *flags, size_t size)
{
    reds_client_entry_list *l = NULL;
    ASSERT_OK(reds_client_list(c, &(reds_client_list_opts){.id = {true, &id, 1}}, &l));
    size_t n = l->count;
    if (n) {
        ck_assert_int_eq(l->items[0].id, id);
        if (flags)
            snprintf(flags, size, "%.*s", (int)l->items[0].flags.len, l->items[0].flags.ptr);
    }
    reds_free(l);
    return n;
}

/* Wait until connection `id` is blocked (flag 'b'); the test timeout
 * bounds the wait. */
static void wait_blocked(int64_t id)
{
    char flags[32] = "";
    while (!(listed(id, flags, sizeof flags) && strchr(flags, 'b')))
        sleep_ms(5);
}

/* Wait until connection `id` is gone from the server. */
static void wait_gone(int64_t id)
{
    while (listed(id, NULL, 0))
        sleep_ms(5);
}

/* A dedicated handle whose connection the server dropped: the next call
 * may report the drop (the command is never resent), and after that the
 * handle reconnects. Returns the new connection's id. */
static int64_t id_after_drop(reds_client *d)
{
    int64_t id = 0;
    reds_err err = reds_client_id(d, &id);
    if (err) {
        ck_assert_msg(reds_err_is(err, REDS_ERR_CONNECTION), "%s: %s", reds_err_name(err),
                      reds_errmsg());
        ASSERT_OK(reds_client_id(d, &id));
    }
    return id;
}

static void raw_ok(const char *cmd)
{
    char reply[256];
    test_raw(cmd, reply, sizeof reply);
    ck_assert_msg(strcmp(reply, "+OK") == 0 || strcmp(reply, ":1") == 0, "%s -> %s", cmd, reply);
}

/* ---------------------------------------------------------- PING, ECHO */

START_TEST(ping)
{
    reds_str *r = NULL;
    ASSERT_OK(reds_ping(c, NULL, &r));
    ASSERT_STR(r, "PONG");
    reds_free(r);
    ASSERT_OK(reds_ping(c, &(reds_ping_opts){0}, &r));
    ASSERT_STR(r, "PONG");
    reds_free(r);
    /* With a message: the message back, binary-safe. */
    ASSERT_OK(reds_ping(c, &(reds_ping_opts){.message = reds_strn("hi\0there", 8)}, &r));
    ck_assert_uint_eq(r->len, 8);
    ck_assert_mem_eq(r->ptr, "hi\0there", 8);
    reds_free(r);
    /* The empty message is a message ("" is not left out). */
    ASSERT_OK(reds_ping(c, &(reds_ping_opts){.message = REDS_STR("")}, &r));
    ASSERT_STR(r, "");
    reds_free(r);
    ASSERT_OK(reds_ping(c, NULL, NULL));
    reds_client *d = dedicated();
    ASSERT_OK(reds_ping(d, &(reds_ping_opts){.message = REDS_STR("d")}, &r));
    ASSERT_STR(r, "d");
    reds_free(r);
    reds_client_free(d);
    ASSERT_ERR(reds_ping(NULL, NULL, &r), REDS_ERR_DATA);
    ck_assert_ptr_null(r);
    ASSERT_ERR(reds_ping(c, &(reds_ping_opts){.message = reds_strn(NULL, 2)}, &r), REDS_ERR_DATA);
}
END_TEST

START_TEST(echo)
{
    static const char msg[] = "e\0c\r\nho\xff";
    reds_str *r = NULL;
    ASSERT_OK(reds_echo(c, reds_strn(msg, sizeof msg - 1), &r));
    ck_assert_uint_eq(r->len, sizeof msg - 1);
    ck_assert_mem_eq(r->ptr, msg, sizeof msg - 1);
    ck_assert_int_eq(r->ptr[r->len], '\0');
    reds_free(r);
    ASSERT_OK(reds_echo(c, reds_strn(NULL, 0), &r));
    ASSERT_STR(r, "");
    reds_free(r);
    ASSERT_ERR(reds_echo(c, reds_strn(NULL, 1), &r), REDS_ERR_DATA);
    ck_assert_ptr_null(r);
}
END_TEST

/* ---------------------------------------- connection scope on a pool */

START_TEST(pooled_client_refuses_connection_scope)
{
    int64_t id = id_of(c);
    reds_hello_reply *h = NULL;
    reds_str *s = NULL;
    ASSERT_ERR(reds_auth(c, REDS_STR("pw"), NULL), REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "AUTH"));
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "dedicated"));
    ASSERT_ERR(reds_select(c, 1), REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "SELECT"));
    ASSERT_ERR(reds_hello(c, NULL, &h), REDS_ERR_DATA);
    ck_assert_ptr_null(h);
    ASSERT_ERR(reds_client_setname(c, REDS_STR("n")), REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "CLIENT SETNAME"));
    ASSERT_ERR(reds_client_tracking(c, REDS_CLIENT_TRACKING_STATUS_ON,
                                    &(reds_client_tracking_opts){.client_id = REDS_I64(id)}),
               REDS_ERR_DATA);
    ASSERT_ERR(reds_client_caching(c, REDS_CLIENT_CACHING_MODE_YES), REDS_ERR_DATA);
    ASSERT_ERR(reds_client_no_evict(c, REDS_CLIENT_NO_EVICT_ENABLED_ON), REDS_ERR_DATA);
    ASSERT_ERR(reds_reset(c, &s), REDS_ERR_DATA);
    ck_assert_ptr_null(s);
    ASSERT_ERR(reds_quit(c), REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "QUIT"));
    /* Nothing reached the server: same connection, same state. */
    ck_assert_int_eq(id_of(c), id);
    reds_client_entry *e = NULL;
    ASSERT_OK(reds_client_info(c, &e));
    ck_assert_int_eq(e->db, 0);
    ASSERT_STR(&e->name, "");
    ck_assert(!has_flag(&e->flags, 't'));
    ck_assert(!has_flag(&e->flags, 'e'));
    reds_free(e);
    ASSERT_OK(reds_client_getname(c, &s));
    ck_assert_ptr_null(s);
    reds_tracking_info *ti = NULL;
    ASSERT_OK(reds_client_trackinginfo(c, &ti));
    ck_assert_uint_eq(ti->flags.count, 1);
    ASSERT_STR(&ti->flags.items[0], "off");
    reds_free(ti);
}
END_TEST

/* ------------------------------------------------------------- SELECT */

START_TEST(select_isolates_databases)
{
    reds_client *d = dedicated();
    ASSERT_OK(reds_select(d, 1));
    ASSERT_OK(reds_set(d, REDS_STR("k"), REDS_STR("in db 1"), NULL, NULL));
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, REDS_STR("k"), &v));
    ck_assert_ptr_null(v); /* the pool is in db 0 */
    ASSERT_OK(reds_set(c, REDS_STR("k"), REDS_STR("in db 0"), NULL, NULL));
    ASSERT_OK(reds_get(d, REDS_STR("k"), &v));
    ASSERT_STR(v, "in db 1");
    reds_free(v);
    reds_client_entry *e = NULL;
    ASSERT_OK(reds_client_info(d, &e));
    ck_assert_int_eq(e->db, 1);
    reds_free(e);
    /* Database 0 is a value to send like any other. */
    ASSERT_OK(reds_select(d, 0));
    ASSERT_OK(reds_get(d, REDS_STR("k"), &v));
    ASSERT_STR(v, "in db 0");
    reds_free(v);
    ASSERT_ERR(reds_select(d, 100000), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "out of range"));
    ASSERT_ERR(reds_select(NULL, 1), REDS_ERR_DATA);
    reds_client_free(d);
}
END_TEST

/* --------------------------------------------------------------- AUTH */

START_TEST(auth_acl_user)
{
    raw_ok("ACL SETUSER alice on >alicepw ~* &* +@all");
    reds_client *d = dedicated();
    ASSERT_OK(reds_auth(d, REDS_STR("alicepw"), &(reds_auth_opts){.username = REDS_STR("alice")}));
    reds_client_entry *e = NULL;
    ASSERT_OK(reds_client_info(d, &e));
    ASSERT_STR(&e->user, "alice");
    reds_free(e);
    /* A wrong password is an AuthenticationError (a ConnectionError). */
    ASSERT_ERR(reds_auth(d, REDS_STR("nope"), &(reds_auth_opts){.username = REDS_STR("alice")}),
               REDS_ERR_AUTH);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "WRONGPASS"));
    ck_assert_ptr_null(strstr(reds_errmsg(), "nope")); /* never the password */
    ck_assert(reds_err_is(REDS_ERR_AUTH, REDS_ERR_CONNECTION));
    ASSERT_ERR(reds_auth(d, REDS_STR("alicepw"), &(reds_auth_opts){.username = REDS_STR("nobody")}),
               REDS_ERR_AUTH);
    /* The failed attempts left the connection authenticated as alice. */
    ASSERT_OK(reds_client_info(d, &e));
    ASSERT_STR(&e->user, "alice");
    reds_free(e);
    /* Without a username: the default user, which has no password. */
    ASSERT_ERR(reds_auth(d, REDS_STR("x"), NULL), REDS_ERR_AUTH);
    ASSERT_ERR(reds_auth(d, reds_strn(NULL, 3), NULL), REDS_ERR_DATA);
    ASSERT_ERR(reds_auth(d, REDS_STR("alicepw"), &(reds_auth_opts){.username = reds_strn(NULL, 5)}),
               REDS_ERR_DATA);
    reds_client_free(d);
    raw_ok("ACL DELUSER alice");
}
END_TEST

/* -------------------------------------------------------------- HELLO */

START_TEST(hello_2)
{
    reds_client *d = dedicated();
    reds_hello_reply *h = NULL;
    ASSERT_OK(reds_hello(d, &(reds_hello_opts){.arguments = {.set = true, .protover = 2}}, &h));
    ck_assert_int_eq(h->proto, 2);
    ASSERT_STR(&h->server, ON_SERVER("redis", "valkey"));
    ck_assert_int_gt(h->id, 0);
    ck_assert_int_eq(h->id, id_of(d));
    /* What INFO says: redis_version on Redis, valkey_version on Valkey. */
    ASSERT_STR(&h->version, test_server.version);
    ASSERT_STR(&h->mode, "standalone");
    ASSERT_STR(&h->role, "master");
    ck_assert_ptr_nonnull(h->modules);
    ck_assert_int_eq(h->modules->type, REDS_REPLY_ARRAY);
    reds_free(h);
    /* Without arguments: the current protocol. */
    ASSERT_OK(reds_hello(d, NULL, &h));
    ck_assert_int_eq(h->proto, 2);
    reds_free(h);
    ASSERT_OK(reds_hello(d, NULL, NULL));
    reds_client_free(d);
}
END_TEST

/* The fixture starts the server a test asks for whatever REDS_TEST_SERVER
 * says (a test of a command only Valkey has needs that), and knows what it
 * runs: the kind and version HELLO names too. */
START_TEST(fixture_starts_either_server)
{
    static const struct {
        fixture_kind kind;
        const char *name, *series;
        int low, high;
    } want[] = {{FIXTURE_REDIS, "redis", "7.0.", 70000, 70100},
                {FIXTURE_VALKEY, "valkey", "8.0.", 80000, 80100}};
    for (size_t i = 0; i < 2; i++) {
        fixture_server s;
        ck_assert_int_eq(fixture_start_kind(&s, want[i].kind, NULL), 0);
        ck_assert_int_eq(s.kind, want[i].kind);
        ck_assert_str_eq(fixture_kind_name(s.kind), want[i].name);
        ck_assert_msg(strncmp(s.version, want[i].series, 4) == 0, "%s %s, expected %s*",
                      want[i].name, s.version, want[i].series);
        ck_assert_int_ge(fixture_version(&s), want[i].low);
        ck_assert_int_lt(fixture_version(&s), want[i].high);
        reds_client *pool = NULL, *d = NULL;
        ASSERT_OK(reds_client_new(&(reds_options){.host = "127.0.0.1", .port = s.port}, &pool));
        ASSERT_OK(reds_client_dedicated(pool, &d));
        reds_hello_reply *h = NULL;
        ASSERT_OK(reds_hello(d, NULL, &h));
        ASSERT_STR(&h->server, want[i].name);
        ASSERT_STR(&h->version, s.version);
        reds_free(h);
        reds_client_free(d);
        reds_client_free(pool);
        fixture_stop(&s);
    }
    /* The suite's own server is the kind REDS_TEST_SERVER names. */
    ck_assert_int_eq(test_server.kind, fixture_server_kind());
}
END_TEST

START_TEST(hello_auth_setname)
{
    raw_ok("ACL SETUSER helen on >helenpw ~* &* +@all");
    reds_client *d = dedicated();
    reds_hello_reply *h = NULL;
    reds_hello_opts o = {
        .arguments = {.set = true,
                      .protover = 2,
                      .username_password = {true, REDS_STR("helen"), REDS_STR("helenpw")},
                      .clientname = REDS_STR("hello-name")}};
    ASSERT_OK(reds_hello(d, &o, &h));
    ck_assert_int_eq(h->proto, 2);
    reds_free(h);
    reds_client_entry *e = NULL;
    ASSERT_OK(reds_client_info(d, &e));
    ASSERT_STR(&e->user, "helen");
    ASSERT_STR(&e->name, "hello-name");
    reds_free(e);
    o.arguments.username_password.password = REDS_STR("bad");
    h = (reds_hello_reply *)&h;
    ASSERT_ERR(reds_hello(d, &o, &h), REDS_ERR_AUTH);
    ck_assert_ptr_null(h);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "WRONGPASS"));
    reds_client_free(d);
    raw_ok("ACL DELUSER helen");
}
END_TEST

START_TEST(hello_3_is_refused)
{
    /* RESP3 is not readable: documented to fail and drop the connection. */
    reds_client *d = dedicated();
    int64_t before = id_of(d);
    reds_hello_reply *h = (reds_hello_reply *)&h;
    ASSERT_ERR(reds_hello(d, &(reds_hello_opts){.arguments = {.set = true, .protover = 3}}, &h),
               REDS_ERR_INVALID_RESPONSE);
    ck_assert_ptr_null(h);
    /* The handle reconnects, in RESP2. */
    int64_t after = id_of(d);
    ck_assert_int_ne(after, before);
    ASSERT_OK(reds_hello(d, NULL, &h));
    ck_assert_int_eq(h->proto, 2);
    reds_free(h);
    ASSERT_ERR(reds_hello(d, &(reds_hello_opts){.arguments = {.set = true, .protover = 9}}, &h),
               REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "NOPROTO"));
    reds_client_free(d);
}
END_TEST

/* ------------------------------------------------- names, ids, info */

START_TEST(setname_getname)
{
    reds_client *d = dedicated();
    reds_str *n = (reds_str *)&n;
    ASSERT_OK(reds_client_getname(d, &n));
    ck_assert_ptr_null(n);
    ASSERT_OK(reds_client_setname(d, REDS_STR("conn-a")));
    ASSERT_OK(reds_client_getname(d, &n));
    ASSERT_STR(n, "conn-a");
    reds_free(n);
    ASSERT_ERR(reds_client_setname(d, REDS_STR("has space")), REDS_ERR_RESPONSE);
    ASSERT_OK(reds_client_getname(d, &n));
    ASSERT_STR(n, "conn-a");
    reds_free(n);
    /* The empty name clears it. */
    ASSERT_OK(reds_client_setname(d, REDS_STR("")));
    ASSERT_OK(reds_client_getname(d, &n));
    ck_assert_ptr_null(n);
    reds_client_free(d);
    /* A name given in the options is set on every pooled connection. */
    reds_client *named = test_client(&(reds_options){.client_name = "pool-name"});
    ASSERT_OK(reds_client_getname(named, &n));
    ASSERT_STR(n, "pool-name");
    reds_free(n);
    reds_client_free(named);
}
END_TEST

START_TEST(client_id_and_info)
{
    reds_client *d = dedicated();
    int64_t id = id_of(d);
    ck_assert_int_eq(id_of(d), id); /* one connection, one id */
    ASSERT_OK(reds_client_setname(d, REDS_STR("info-test")));
    reds_client_entry *e = NULL;
    ASSERT_OK(reds_client_info(d, &e));
    ck_assert_int_eq(e->id, id);
    ASSERT_STR(&e->name, "info-test");
    ck_assert_int_eq(e->db, 0);
    ASSERT_STR(&e->user, "default");
    ASSERT_STR(&e->cmd, "client|info");
    ASSERT_STR(&e->flags, "N");
    ck_assert_int_eq(e->resp, 2);
    ck_assert_int_eq(e->multi, -1);
    ck_assert_int_eq(e->sub, 0);
    ck_assert_int_eq(e->psub, 0);
    ck_assert_int_eq(e->redir, -1);
    ck_assert_int_ge(e->fd, 0);
    char laddr[64];
    snprintf(laddr, sizeof laddr, "127.0.0.1:%d", test_server.port);
    ASSERT_STR(&e->laddr, laddr);
    ck_assert(e->addr.len > 10 && memcmp(e->addr.ptr, "127.0.0.1:", 10) == 0);
    /* The whole line is kept, and holds the parsed id. */
    char idfield[40];
    snprintf(idfield, sizeof idfield, "id=%lld ", (long long)id);
    ck_assert(e->line.len > strlen(idfield) && memcmp(e->line.ptr, idfield, strlen(idfield)) == 0);
    reds_free(e);
    /* The pool's connection is another one. */
    ck_assert_int_ne(id_of(c), id);
    reds_client_free(d);

    /* Over the unix socket, with the 'U' flag. */
    reds_client *u = test_client_unix(NULL);
    ASSERT_OK(reds_client_info(u, &e));
    ASSERT_STR(&e->flags, "U");
    reds_free(e);
    reds_client_free(u);
}
END_TEST

START_TEST(client_list_filters)
{
    reds_client *a = dedicated(), *b = dedicated();
    ASSERT_OK(reds_client_setname(a, REDS_STR("list-a")));
    ASSERT_OK(reds_client_setname(b, REDS_STR("list-b")));
    int64_t ids[] = {id_of(a), id_of(b)};
    int64_t own = id_of(c);

    reds_client_entry_list *l = NULL;
    ASSERT_OK(reds_client_list(c, NULL, &l));
    int found = 0;
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i].id == ids[0] || l->items[i].id == ids[1] || l->items[i].id == own)
            found++;
    ck_assert_int_eq(found, 3);
    reds_free(l);

    ASSERT_OK(reds_client_list(c, &(reds_client_list_opts){.id = {true, ids, 2}}, &l));
    ck_assert_uint_eq(l->count, 2);
    for (size_t i = 0; i < 2; i++) {
        const reds_client_entry *e = &l->items[i];
        ck_assert(e->id == ids[0] || e->id == ids[1]);
        ASSERT_STR(&e->name, e->id == ids[0] ? "list-a" : "list-b");
        ASSERT_STR(&e->cmd, "client|id");
    }
    reds_free(l);

    ASSERT_OK(reds_client_list(c, &(reds_client_list_opts){.id = {true, ids + 1, 1}}, &l));
    ck_assert_uint_eq(l->count, 1);
    ck_assert_int_eq(l->items[0].id, ids[1]);
    ASSERT_STR(&l->items[0].name, "list-b");
    reds_free(l);

    ASSERT_OK(
        reds_client_list(c, &(reds_client_list_opts){.type = REDS_CLIENT_LIST_TYPE_NORMAL}, &l));
    found = 0;
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i].id == ids[0] || l->items[i].id == ids[1])
            found++;
    ck_assert_int_eq(found, 2);
    reds_free(l);

    const reds_client_list_type empty[] = {
        REDS_CLIENT_LIST_TYPE_PUBSUB, REDS_CLIENT_LIST_TYPE_MASTER, REDS_CLIENT_LIST_TYPE_REPLICA};
    for (size_t i = 0; i < 3; i++) {
        ASSERT_OK(reds_client_list(c, &(reds_client_list_opts){.type = empty[i]}, &l));
        ck_assert_uint_eq(l->count, 0);
        ck_assert_ptr_null(l->items);
        reds_free(l);
    }
    int64_t none = 999999999;
    ASSERT_OK(reds_client_list(c, &(reds_client_list_opts){.id = {true, &none, 1}}, &l));
    ck_assert_uint_eq(l->count, 0);
    reds_free(l);

    l = (reds_client_entry_list *)&l;
    ASSERT_ERR(reds_client_list(c, &(reds_client_list_opts){.type = (reds_client_list_type)5}, &l),
               REDS_ERR_DATA);
    ck_assert_ptr_null(l);
    ASSERT_ERR(reds_client_list(c, &(reds_client_list_opts){.id = {true, ids, 0}}, &l),
               REDS_ERR_DATA);
    ASSERT_ERR(reds_client_list(c, &(reds_client_list_opts){.id = {true, NULL, 2}}, &l),
               REDS_ERR_DATA);
    reds_client_free(a);
    reds_client_free(b);
}
END_TEST

START_TEST(client_help)
{
    reds_strlist *l = NULL;
    ASSERT_OK(reds_client_help(c, &l));
    ck_assert_uint_gt(l->count, 10);
    ASSERT_STR(&l->items[0], "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    bool kill = false;
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i].len >= 4 && memcmp(l->items[i].ptr, "KILL", 4) == 0)
            kill = true;
    ck_assert(kill);
    reds_free(l);
}
END_TEST

/* --------------------------------------------------------- CLIENT KILL */

START_TEST(kill_by_id)
{
    reds_client *v = dedicated();
    int64_t id = id_of(v), n = -1;
    ASSERT_OK(reds_client_kill(c, &(reds_client_kill_filter){.id = REDS_I64(id)}, 1, &n));
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(listed(id, NULL, 0), 0);
    ASSERT_OK(reds_client_kill(c, &(reds_client_kill_filter){.id = REDS_I64(id)}, 1, &n));
    ck_assert_int_eq(n, 0);
    /* The handle comes back on a new connection. */
    int64_t again = id_after_drop(v);
    ck_assert_int_ne(again, id);
    reds_client_free(v);
}
END_TEST

START_TEST(kill_addr_old_form)
{
    reds_client *v = dedicated();
    int64_t id = id_of(v);
    reds_client_entry *e = NULL;
    ASSERT_OK(reds_client_info(v, &e));
    char addr[64];
    snprintf(addr, sizeof addr, "%.*s", (int)e->addr.len, e->addr.ptr);
    reds_free(e);
    ASSERT_OK(reds_client_kill_addr(c, reds_cstr(addr)));
    ck_assert_uint_eq(listed(id, NULL, 0), 0);
    ASSERT_ERR(reds_client_kill_addr(c, reds_cstr(addr)), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "No such client"));
    ASSERT_ERR(reds_client_kill_addr(c, reds_strn(NULL, 9)), REDS_ERR_DATA);
    ck_assert_int_ne(id_after_drop(v), id);
    reds_client_free(v);
}
END_TEST

START_TEST(kill_filters)
{
    int64_t n = -1;
    /* ADDR (new form). */
    reds_client *v = dedicated();
    int64_t id = id_of(v);
    reds_client_entry *e = NULL;
    ASSERT_OK(reds_client_info(v, &e));
    char addr[64], laddr[64];
    snprintf(addr, sizeof addr, "%.*s", (int)e->addr.len, e->addr.ptr);
    snprintf(laddr, sizeof laddr, "%.*s", (int)e->laddr.len, e->laddr.ptr);
    reds_free(e);
    ASSERT_OK(reds_client_kill(c, &(reds_client_kill_filter){.addr = reds_cstr(addr)}, 1, &n));
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(listed(id, NULL, 0), 0);

    /* LADDR is shared by every TCP client: AND it with ID and TYPE. */
    id = id_after_drop(v);
    reds_client_kill_filter f3[] = {
        {.laddr = reds_cstr(laddr)}, {.id = REDS_I64(id)}, {.type = REDS_CLIENT_KILL_TYPE_NORMAL}};
    ASSERT_OK(reds_client_kill(c, f3, 3, &n));
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(listed(id, NULL, 0), 0);

    /* TYPE PUBSUB: there are none. */
    ASSERT_OK(reds_client_kill(c, &(reds_client_kill_filter){.type = REDS_CLIENT_KILL_TYPE_PUBSUB},
                               1, &n));
    ck_assert_int_eq(n, 0);

    /* USER: the connections of one ACL user. */
    raw_ok("ACL SETUSER killme on >killpw ~* &* +@all");
    id = id_after_drop(v);
    ASSERT_OK(reds_auth(v, REDS_STR("killpw"), &(reds_auth_opts){.username = REDS_STR("killme")}));
    ASSERT_OK(reds_client_kill(c, &(reds_client_kill_filter){.user = REDS_STR("killme")}, 1, &n));
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(listed(id, NULL, 0), 0);
    raw_ok("ACL DELUSER killme");

    /* SKIPME: a connection spares itself unless told "no". */
    id = id_after_drop(v);
    reds_client_kill_filter self[] = {{.id = REDS_I64(id)}, {.skipme = REDS_STR("yes")}};
    ASSERT_OK(reds_client_kill(v, self, 2, &n));
    ck_assert_int_eq(n, 0);
    self[1].skipme = REDS_STR("no");
    ASSERT_OK(reds_client_kill(v, self, 2, &n));
    ck_assert_int_eq(n, 1);
    wait_gone(id);
    reds_client_free(v);
}
END_TEST

START_TEST(kill_argument_checks)
{
    int64_t n = 5;
    int64_t own = id_of(c);
    ASSERT_ERR(reds_client_kill(c, NULL, 0, &n), REDS_ERR_DATA);
    ck_assert_int_eq(n, 0);
    reds_client_kill_filter f = {0};
    ASSERT_ERR(reds_client_kill(c, &f, 1, &n), REDS_ERR_DATA); /* none given */
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "exactly one"));
    f = (reds_client_kill_filter){.id = REDS_I64(own), .skipme = REDS_STR("no")};
    ASSERT_ERR(reds_client_kill(c, &f, 1, &n), REDS_ERR_DATA); /* two in one filter */
    f = (reds_client_kill_filter){.type = (reds_client_kill_type)6};
    ASSERT_ERR(reds_client_kill(c, &f, 1, &n), REDS_ERR_DATA);
    f = (reds_client_kill_filter){.user = reds_strn(NULL, 3)};
    ASSERT_ERR(reds_client_kill(c, &f, 1, &n), REDS_ERR_DATA);
    /* Our own connection survived every refusal. */
    ck_assert_int_eq(id_of(c), own);
}
END_TEST

/* ------------------------------------------------ CLIENT PAUSE/UNPAUSE */

typedef struct writer {
    reds_client *cl;
    reds_err err;
} writer;

static void *write_while_paused(void *arg)
{
    writer *w = arg;
    w->err = reds_set(w->cl, REDS_STR("paused"), REDS_STR("written"), NULL, NULL);
    return NULL;
}

START_TEST(pause_write_unpause)
{
    reds_client *wc = dedicated();
    int64_t wid = id_of(wc);
    ASSERT_OK(reds_client_pause(c, 3000,
                                &(reds_client_pause_opts){.mode = REDS_CLIENT_PAUSE_MODE_WRITE}));
    writer w = {wc, REDS_ERR};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, write_while_paused, &w), 0);
    wait_blocked(wid); /* the SET is held by the pause */
    /* Reads still run, and see that the write has not happened. */
    reds_str *v = (reds_str *)&v;
    ASSERT_OK(reds_get(c, REDS_STR("paused"), &v));
    ck_assert_ptr_null(v);
    ASSERT_OK(reds_client_unpause(c));
    pthread_join(t, NULL);
    ASSERT_OK(w.err);
    ASSERT_OK(reds_get(c, REDS_STR("paused"), &v));
    ASSERT_STR(v, "written");
    reds_free(v);
    reds_client_free(wc);
    /* Unpausing when nothing is paused is fine. */
    ASSERT_OK(reds_client_unpause(c));
}
END_TEST

START_TEST(pause_all)
{
    /* ALL holds every command, this connection's too, until it ends. */
    ASSERT_OK(
        reds_client_pause(c, 100, &(reds_client_pause_opts){.mode = REDS_CLIENT_PAUSE_MODE_ALL}));
    reds_str *r = NULL;
    ASSERT_OK(reds_ping(c, NULL, &r));
    ASSERT_STR(r, "PONG");
    reds_free(r);
    ASSERT_OK(reds_client_pause(c, 50, NULL)); /* the mode is optional */
    ASSERT_OK(reds_ping(c, NULL, NULL));
    ASSERT_ERR(
        reds_client_pause(c, 100, &(reds_client_pause_opts){.mode = (reds_client_pause_mode)3}),
        REDS_ERR_DATA);
    ASSERT_ERR(reds_client_pause(c, -1, NULL), REDS_ERR_RESPONSE);
    ASSERT_OK(reds_client_unpause(c));
}
END_TEST

/* ------------------------------------------------------- CLIENT UNBLOCK */

typedef struct blocker {
    reds_client *cl;
    reds_err err;
    char msg[256];
    reds_reply *reply;
} blocker;

static void *blpop_forever(void *arg)
{
    blocker *b = arg;
    reds_str argv[] = {REDS_STR("BLPOP"), REDS_STR("unblock:list"), REDS_STR("0")};
    b->err = reds_execute_command(b->cl, 3, argv, &b->reply);
    snprintf(b->msg, sizeof b->msg, "%s", reds_errmsg()); /* thread-local */
    return NULL;
}

START_TEST(unblock)
{
    reds_client *d = dedicated();
    int64_t id = id_of(d);
    bool ok = true;
    ASSERT_OK(reds_client_unblock(c, id, NULL, &ok));
    ck_assert(!ok); /* not blocked */

    /* Default (TIMEOUT): the blocked command returns as if timed out. */
    blocker b = {d, REDS_ERR, "", NULL};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, blpop_forever, &b), 0);
    wait_blocked(id);
    ASSERT_OK(reds_client_unblock(c, id, NULL, &ok));
    ck_assert(ok);
    pthread_join(t, NULL);
    ck_assert_msg(b.err == REDS_OK, "BLPOP: %s", b.msg);
    ck_assert_ptr_nonnull(b.reply);
    ck_assert_int_eq(b.reply->type, REDS_REPLY_NIL);
    reds_free(b.reply);

    /* TIMEOUT given explicitly. */
    b = (blocker){d, REDS_ERR, "", NULL};
    ck_assert_int_eq(pthread_create(&t, NULL, blpop_forever, &b), 0);
    wait_blocked(id);
    ASSERT_OK(reds_client_unblock(
        c, id,
        &(reds_client_unblock_opts){.timeout_error = REDS_CLIENT_UNBLOCK_TIMEOUT_ERROR_TIMEOUT},
        &ok));
    ck_assert(ok);
    pthread_join(t, NULL);
    ck_assert_int_eq(b.err, REDS_OK);
    ck_assert_int_eq(b.reply->type, REDS_REPLY_NIL);
    reds_free(b.reply);

    /* ERROR: the blocked command fails with UNBLOCKED. */
    b = (blocker){d, REDS_ERR, "", NULL};
    ck_assert_int_eq(pthread_create(&t, NULL, blpop_forever, &b), 0);
    wait_blocked(id);
    ASSERT_OK(reds_client_unblock(
        c, id,
        &(reds_client_unblock_opts){.timeout_error = REDS_CLIENT_UNBLOCK_TIMEOUT_ERROR_ERROR},
        &ok));
    ck_assert(ok);
    pthread_join(t, NULL);
    ck_assert_int_eq(b.err, REDS_ERR_RESPONSE);
    ck_assert_msg(strstr(b.msg, "UNBLOCKED") != NULL, "message: %s", b.msg);
    ck_assert_ptr_null(b.reply);

    /* The connection is still the same one, in sync. */
    ck_assert_int_eq(id_of(d), id);
    ASSERT_ERR(reds_client_unblock(c, id,
                                   &(reds_client_unblock_opts){
                                       .timeout_error = (reds_client_unblock_timeout_error)3},
                                   &ok),
               REDS_ERR_DATA);
    ck_assert(!ok);
    reds_client_free(d);
}
END_TEST

/* ---------------------------------------------------- CLIENT TRACKING */

START_TEST(tracking_redirect)
{
    reds_client *r = dedicated(), *t = dedicated();
    int64_t rid = id_of(r), redir = 0;
    ASSERT_OK(reds_client_getredir(t, &redir));
    ck_assert_int_eq(redir, -1); /* tracking is off */
    ASSERT_OK(reds_client_tracking(t, REDS_CLIENT_TRACKING_STATUS_ON,
                                   &(reds_client_tracking_opts){.client_id = REDS_I64(rid)}));
    reds_tracking_info *ti = NULL;
    ASSERT_OK(reds_client_trackinginfo(t, &ti));
    ck_assert_uint_eq(ti->flags.count, 1);
    ASSERT_STR(&ti->flags.items[0], "on");
    ck_assert_int_eq(ti->redirect, rid);
    ck_assert_uint_eq(ti->prefixes.count, 0);
    reds_free(ti);
    ASSERT_OK(reds_client_getredir(t, &redir));
    ck_assert_int_eq(redir, rid);
    reds_client_entry *e = NULL;
    ASSERT_OK(reds_client_info(t, &e));
    ck_assert(has_flag(&e->flags, 't'));
    ck_assert_int_eq(e->redir, rid);
    reds_free(e);
    /* Reading a tracked key keeps the connection in sync (no push). */
    ASSERT_OK(reds_set(c, REDS_STR("tracked"), REDS_STR("1"), NULL, NULL));
    reds_str *v = NULL;
    ASSERT_OK(reds_get(t, REDS_STR("tracked"), &v));
    ASSERT_STR(v, "1");
    reds_free(v);
    ASSERT_OK(reds_set(c, REDS_STR("tracked"), REDS_STR("2"), NULL, NULL));
    ASSERT_OK(reds_get(t, REDS_STR("tracked"), &v));
    ASSERT_STR(v, "2");
    reds_free(v);

    ASSERT_OK(reds_client_tracking(t, REDS_CLIENT_TRACKING_STATUS_OFF, NULL));
    ASSERT_OK(reds_client_trackinginfo(t, &ti));
    ck_assert_uint_eq(ti->flags.count, 1);
    ASSERT_STR(&ti->flags.items[0], "off");
    ck_assert_int_eq(ti->redirect, -1);
    reds_free(ti);
    ASSERT_OK(reds_client_getredir(t, &redir));
    ck_assert_int_eq(redir, -1);
    /* Redirecting to a connection that does not exist is refused. */
    ASSERT_ERR(reds_client_tracking(t, REDS_CLIENT_TRACKING_STATUS_ON,
                                    &(reds_client_tracking_opts){.client_id = REDS_I64(999999999)}),
               REDS_ERR_RESPONSE);
    ASSERT_ERR(reds_client_tracking(t, (reds_client_tracking_status)0, NULL), REDS_ERR_DATA);
    ASSERT_ERR(reds_client_tracking(t, (reds_client_tracking_status)3, NULL), REDS_ERR_DATA);
    reds_client_free(t);
    reds_client_free(r);
}
END_TEST

START_TEST(tracking_bcast_prefix_noloop)
{
    reds_client *r = dedicated(), *t = dedicated();
    int64_t rid = id_of(r);
    reds_str prefixes[] = {REDS_STR("user:"), REDS_STR("acct:")};
    ASSERT_OK(reds_client_tracking(t, REDS_CLIENT_TRACKING_STATUS_ON,
                                   &(reds_client_tracking_opts){.client_id = REDS_I64(rid),
                                                                .prefixes = prefixes,
                                                                .nprefixes = 2,
                                                                .bcast = true,
                                                                .noloop = true}));
    reds_tracking_info *ti = NULL;
    ASSERT_OK(reds_client_trackinginfo(t, &ti));
    ck_assert_uint_eq(ti->flags.count, 3);
    ck_assert(list_has(&ti->flags, "on"));
    ck_assert(list_has(&ti->flags, "bcast"));
    ck_assert(list_has(&ti->flags, "noloop"));
    ck_assert_int_eq(ti->redirect, rid);
    ck_assert_uint_eq(ti->prefixes.count, 2);
    ck_assert(list_has(&ti->prefixes, "user:"));
    ck_assert(list_has(&ti->prefixes, "acct:"));
    reds_free(ti);
    reds_client_entry *e = NULL;
    ASSERT_OK(reds_client_info(t, &e));
    ck_assert(has_flag(&e->flags, 'B'));
    reds_free(e);
    ASSERT_OK(reds_client_tracking(t, REDS_CLIENT_TRACKING_STATUS_OFF, NULL));
    /* PREFIX without BCAST is a server error. */
    ASSERT_ERR(reds_client_tracking(t, REDS_CLIENT_TRACKING_STATUS_ON,
                                    &(reds_client_tracking_opts){.client_id = REDS_I64(rid),
                                                                 .prefixes = prefixes,
                                                                 .nprefixes = 1}),
               REDS_ERR_RESPONSE);
    ASSERT_ERR(reds_client_tracking(t, REDS_CLIENT_TRACKING_STATUS_ON,
                                    &(reds_client_tracking_opts){.client_id = REDS_I64(rid),
                                                                 .prefixes = NULL,
                                                                 .nprefixes = 1}),
               REDS_ERR_DATA);
    reds_client_free(t);
    reds_client_free(r);
}
END_TEST

START_TEST(caching_optin_optout)
{
    reds_client *r = dedicated(), *t = dedicated();
    int64_t rid = id_of(r);
    /* Without tracking, CLIENT CACHING is refused by the server. */
    ASSERT_ERR(reds_client_caching(t, REDS_CLIENT_CACHING_MODE_YES), REDS_ERR_RESPONSE);

    ASSERT_OK(reds_client_tracking(
        t, REDS_CLIENT_TRACKING_STATUS_ON,
        &(reds_client_tracking_opts){.client_id = REDS_I64(rid), .optin = true}));
    ASSERT_OK(reds_client_caching(t, REDS_CLIENT_CACHING_MODE_YES));
    reds_tracking_info *ti = NULL;
    ASSERT_OK(reds_client_trackinginfo(t, &ti));
    ck_assert(list_has(&ti->flags, "on"));
    ck_assert(list_has(&ti->flags, "optin"));
    ck_assert(list_has(&ti->flags, "caching-yes"));
    ck_assert_int_eq(ti->redirect, rid);
    reds_free(ti);
    /* NO only makes sense with OPTOUT. */
    ASSERT_ERR(reds_client_caching(t, REDS_CLIENT_CACHING_MODE_NO), REDS_ERR_RESPONSE);
    ASSERT_OK(reds_client_tracking(t, REDS_CLIENT_TRACKING_STATUS_OFF, NULL));

    ASSERT_OK(reds_client_tracking(
        t, REDS_CLIENT_TRACKING_STATUS_ON,
        &(reds_client_tracking_opts){.client_id = REDS_I64(rid), .optout = true}));
    ASSERT_OK(reds_client_caching(t, REDS_CLIENT_CACHING_MODE_NO));
    ASSERT_OK(reds_client_trackinginfo(t, &ti));
    ck_assert(list_has(&ti->flags, "optout"));
    ck_assert(list_has(&ti->flags, "caching-no"));
    reds_free(ti);
    ASSERT_ERR(reds_client_caching(t, REDS_CLIENT_CACHING_MODE_YES), REDS_ERR_RESPONSE);
    ASSERT_ERR(reds_client_caching(t, (reds_client_caching_mode)0), REDS_ERR_DATA);
    ASSERT_ERR(reds_client_caching(t, (reds_client_caching_mode)3), REDS_ERR_DATA);
    ASSERT_OK(reds_client_tracking(t, REDS_CLIENT_TRACKING_STATUS_OFF, NULL));
    reds_client_free(t);
    reds_client_free(r);
}
END_TEST

/* ------------------------------------- options the server takes alone */

/* The server takes at most one of OPTIN and OPTOUT, and neither with
 * BCAST; CLIENT LIST takes TYPE or ID, not both ("ERR syntax error").
 * Mutually exclusive options, to be refused before anything is sent. */
START_TEST(client_list_type_or_id)
{
    int64_t id = id_of(c);
    reds_client_entry_list *l = (reds_client_entry_list *)&l;
    ASSERT_ERR(reds_client_list(c,
                                &(reds_client_list_opts){.type = REDS_CLIENT_LIST_TYPE_NORMAL,
                                                         .id = {true, &id, 1}},
                                &l),
               REDS_ERR_DATA);
    ck_assert_ptr_null(l);
}
END_TEST

START_TEST(tracking_exclusive_modes)
{
    reds_client *r = dedicated(), *t = dedicated();
    int64_t rid = id_of(r);
    ASSERT_ERR(reds_client_tracking(t, REDS_CLIENT_TRACKING_STATUS_ON,
                                    &(reds_client_tracking_opts){
                                        .client_id = REDS_I64(rid), .optin = true, .optout = true}),
               REDS_ERR_DATA);
    ASSERT_ERR(reds_client_tracking(t, REDS_CLIENT_TRACKING_STATUS_ON,
                                    &(reds_client_tracking_opts){
                                        .client_id = REDS_I64(rid), .bcast = true, .optin = true}),
               REDS_ERR_DATA);
    reds_client_free(t);
    reds_client_free(r);
}
END_TEST

/* --------------------------------------------------- CLIENT NO-EVICT */

START_TEST(no_evict)
{
    reds_client *d = dedicated();
    reds_client_entry *e = NULL;
    ASSERT_OK(reds_client_no_evict(d, REDS_CLIENT_NO_EVICT_ENABLED_ON));
    ASSERT_OK(reds_client_info(d, &e));
    ck_assert(has_flag(&e->flags, 'e'));
    reds_free(e);
    ASSERT_OK(reds_client_no_evict(d, REDS_CLIENT_NO_EVICT_ENABLED_OFF));
    ASSERT_OK(reds_client_info(d, &e));
    ck_assert(!has_flag(&e->flags, 'e'));
    reds_free(e);
    ASSERT_ERR(reds_client_no_evict(d, (reds_client_no_evict_enabled)0), REDS_ERR_DATA);
    ASSERT_ERR(reds_client_no_evict(d, (reds_client_no_evict_enabled)3), REDS_ERR_DATA);
    reds_client_free(d);
}
END_TEST

/* ---------------------------------------------------------- RESET, QUIT */

START_TEST(reset)
{
    raw_ok("ACL SETUSER resetuser on >resetpw ~* &* +@all");
    reds_client *r = dedicated(), *d = dedicated();
    int64_t id = id_of(d);
    ASSERT_OK(
        reds_auth(d, REDS_STR("resetpw"), &(reds_auth_opts){.username = REDS_STR("resetuser")}));
    ASSERT_OK(reds_select(d, 2));
    ASSERT_OK(reds_client_setname(d, REDS_STR("before-reset")));
    ASSERT_OK(reds_client_tracking(d, REDS_CLIENT_TRACKING_STATUS_ON,
                                   &(reds_client_tracking_opts){.client_id = REDS_I64(id_of(r))}));
    reds_str *s = NULL;
    ASSERT_OK(reds_reset(d, &s));
    ASSERT_STR(s, "RESET");
    reds_free(s);
    /* Same connection, its state back to the defaults (RESET leaves
     * NO-EVICT alone before Redis 7.2, so it is not part of this). */
    reds_client_entry *e = NULL;
    ASSERT_OK(reds_client_info(d, &e));
    ck_assert_int_eq(e->id, id);
    ck_assert_int_eq(e->db, 0);
    ASSERT_STR(&e->name, "");
    ASSERT_STR(&e->user, "default");
    ASSERT_STR(&e->flags, "N");
    ck_assert_int_eq(e->redir, -1);
    reds_free(e);
    reds_client_free(d);
    reds_client_free(r);
    raw_ok("ACL DELUSER resetuser");
}
END_TEST

START_TEST(quit)
{
    reds_client *d = dedicated();
    int64_t id = id_of(d);
    ASSERT_OK(reds_quit(d));
    wait_gone(id); /* the server closes after its reply */
    /* The handle reconnects for the next command: QUIT is not an error. */
    reds_str *r = NULL;
    ASSERT_OK(reds_ping(d, NULL, &r));
    ASSERT_STR(r, "PONG");
    reds_free(r);
    ck_assert_int_ne(id_of(d), id);
    reds_client_free(d);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("connection");
    struct {
        const char *name;
        const TTest *tests[8];
    } groups[] = {
        {"ping_echo", {ping, echo}},
        {"scope", {pooled_client_refuses_connection_scope}},
        {"select", {select_isolates_databases}},
        {"auth", {auth_acl_user}},
        {"hello", {hello_2, hello_auth_setname, hello_3_is_refused, fixture_starts_either_server}},
        {"names_info", {setname_getname, client_id_and_info, client_list_filters, client_help}},
        {"kill", {kill_by_id, kill_addr_old_form, kill_filters, kill_argument_checks}},
        {"pause", {pause_write_unpause, pause_all}},
        {"unblock", {unblock}},
        {"tracking", {tracking_redirect, tracking_bcast_prefix_noloop, caching_optin_optout}},
        {"exclusive_options", {client_list_type_or_id, tracking_exclusive_modes}},
        {"no_evict", {no_evict}},
        {"reset_quit", {reset, quit}},
    };
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        TCase *tc = tcase_create(groups[i].name);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 10); /* threads, pauses and polling */
        for (size_t j = 0; j < 8 && groups[i].tests[j]; j++)
            tcase_add_test(tc, groups[i].tests[j]);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
