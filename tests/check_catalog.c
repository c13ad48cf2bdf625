/* The error model and the command catalogue, without a server: the
 * exception tree, server error prefixes, table lookups, and the keys a
 * router finds from key specs alone. */
#include <stdarg.h>

#include "testutil.h"

#include "internal.h"

START_TEST(error_tree)
{
    /* As redis-py: AuthenticationError is a ConnectionError, ReadOnlyError
     * a ResponseError, ClusterDownError both a cluster and a response
     * error, MovedError an AskError, and everything a RedisError. */
    ck_assert(reds_err_is(REDS_ERR_AUTH, REDS_ERR_CONNECTION));
    ck_assert(reds_err_is(REDS_ERR_BUSY_LOADING, REDS_ERR_CONNECTION));
    ck_assert(reds_err_is(REDS_ERR_POOL_EXHAUSTED, REDS_ERR_CONNECTION));
    ck_assert(reds_err_is(REDS_ERR_MASTER_NOT_FOUND, REDS_ERR_CONNECTION));
    ck_assert(!reds_err_is(REDS_ERR_TIMEOUT, REDS_ERR_CONNECTION));
    ck_assert(reds_err_is(REDS_ERR_READONLY, REDS_ERR_RESPONSE));
    ck_assert(reds_err_is(REDS_ERR_NOSCRIPT, REDS_ERR_RESPONSE));
    ck_assert(reds_err_is(REDS_ERR_CLUSTER_DOWN, REDS_ERR_CLUSTER));
    ck_assert(reds_err_is(REDS_ERR_CLUSTER_DOWN, REDS_ERR_RESPONSE));
    ck_assert(reds_err_is(REDS_ERR_MOVED, REDS_ERR_ASK));
    ck_assert(reds_err_is(REDS_ERR_MOVED, REDS_ERR_RESPONSE));
    ck_assert(reds_err_is(REDS_ERR_LOCK_NOT_OWNED, REDS_ERR_LOCK));
    ck_assert(!reds_err_is(REDS_ERR_DATA, REDS_ERR_RESPONSE));
    ck_assert(!reds_err_is(REDS_ERR_RESPONSE, REDS_ERR_READONLY));
    for (int e = REDS_ERR; e >= REDS_ERR__LAST; e--) {
        ck_assert(reds_err_is((reds_err)e, REDS_ERR));
        ck_assert(reds_err_is((reds_err)e, (reds_err)e));
        ck_assert_str_ne(reds_err_name((reds_err)e), "UnknownError");
    }
    ck_assert(!reds_err_is(REDS_OK, REDS_ERR));
    ck_assert(!reds_err_is((reds_err)-1000, REDS_ERR));
    ck_assert_str_eq(reds_err_name(REDS_ERR_AUTH), "AuthenticationError");
    ck_assert_str_eq(reds_err_name((reds_err)5), "UnknownError");
}
END_TEST

START_TEST(server_error_prefixes)
{
    static const struct {
        const char *msg;
        reds_err err;
    } cases[] = {
        {"LOADING Redis is loading the dataset in memory", REDS_ERR_BUSY_LOADING},
        {"READONLY You can't write against a read only replica.", REDS_ERR_READONLY},
        {"NOSCRIPT No matching script.", REDS_ERR_NOSCRIPT},
        {"EXECABORT Transaction discarded because of previous errors.", REDS_ERR_EXECABORT},
        {"WRONGPASS invalid username-password pair or user is disabled.", REDS_ERR_AUTH},
        {"NOAUTH Authentication required.", REDS_ERR_AUTH},
        {"ERR AUTH <password> called without any password configured for the default user.",
         REDS_ERR_AUTH},
        {"NOPERM this user has no permissions to run the 'get' command", REDS_ERR_NOPERM},
        {"MOVED 3999 127.0.0.1:6381", REDS_ERR_MOVED},
        {"ASK 3999 127.0.0.1:6381", REDS_ERR_ASK},
        {"TRYAGAIN Multiple keys request during rehashing of slot", REDS_ERR_TRYAGAIN},
        {"CLUSTERDOWN The cluster is down", REDS_ERR_CLUSTER_DOWN},
        {"CROSSSLOT Keys in request don't hash to the same slot", REDS_ERR_CROSSSLOT},
        {"BUSY Redis is busy running a script.", REDS_ERR_BUSY},
        /* Look-alike prefixes are ordinary response errors. */
        {"BUSYKEY Target key name already exists.", REDS_ERR_RESPONSE},
        {"BUSYGROUP Consumer Group name already exists", REDS_ERR_RESPONSE},
        {"WRONGTYPE Operation against a key holding the wrong kind of value", REDS_ERR_RESPONSE},
        {"ERR unknown command 'FOO'", REDS_ERR_RESPONSE},
        {"", REDS_ERR_RESPONSE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(reds__error_from_reply(cases[i].msg, strlen(cases[i].msg)) == cases[i].err,
                      "%s", cases[i].msg);
}
END_TEST

START_TEST(lookups)
{
    const reds_catalog_entry *get = reds_catalog_lookup("get");
    ck_assert_ptr_nonnull(get);
    ck_assert_str_eq(get->name, "GET");
    ck_assert_str_eq(get->group, "string");
    ck_assert_str_eq(get->reply, "nullable_string");
    ck_assert_int_eq(get->arity, 2);
    ck_assert(get->flags & REDS_CMD_READONLY);
    ck_assert(!(get->flags & REDS_CMD_WRITE));
    ck_assert_ptr_eq(reds_catalog_lookup("Client List"), reds_catalog_lookup("CLIENT LIST"));
    ck_assert_ptr_null(reds_catalog_lookup("CLIENT"));
    ck_assert_ptr_null(reds_catalog_lookup("GETX"));
    ck_assert_ptr_null(reds_catalog_lookup(""));
    ck_assert_ptr_null(reds_catalog_lookup(NULL));

    reds_str argv[] = {REDS_STR("object"), REDS_STR("encoding"), REDS_STR("k")};
    ck_assert_ptr_eq(reds_catalog_find(3, argv), reds_catalog_lookup("OBJECT ENCODING"));
    ck_assert_ptr_eq(reds_catalog_find(1, argv), NULL);

    /* The table is sorted, complete, and marks what reds adds. */
    size_t n = reds_catalog_count();
    ck_assert_uint_ge(n, 351);
    for (size_t i = 1; i < n; i++)
        ck_assert_int_lt(strcmp(reds_catalog_at(i - 1)->name, reds_catalog_at(i)->name), 0);
    ck_assert_ptr_null(reds_catalog_at(n));
    ck_assert(reds_catalog_lookup("SELECT")->flags & REDS_CMD_CONNECTION_SCOPE);
    ck_assert(reds_catalog_lookup("GETSET")->flags & REDS_CMD_DEPRECATED);
    ck_assert_str_eq(reds_catalog_lookup("SUBSCRIBE")->reply, "dedicated:pubsub");
    ck_assert_str_eq(reds_catalog_lookup("SYNC")->reply, "excluded");
    ck_assert_int_eq(reds_catalog_lookup("DBSIZE")->request_policy, REDS_REQUEST_ALL_SHARDS);
    ck_assert_int_eq(reds_catalog_lookup("DBSIZE")->response_policy, REDS_RESPONSE_AGG_SUM);
}
END_TEST

/* The key positions of a command line given as C strings. */
static long keys_of(size_t *pos, size_t max, size_t argc, ...)
{
    reds_str argv[32];
    va_list ap;
    va_start(ap, argc);
    for (size_t i = 0; i < argc; i++)
        argv[i] = reds_cstr(va_arg(ap, const char *));
    va_end(ap);
    return reds_catalog_keys(reds_catalog_find(argc, argv), argc, argv, pos, max);
}

START_TEST(keys_from_key_specs)
{
    size_t pos[16];
    ck_assert_int_eq(keys_of(pos, 16, 2, "GET", "k"), 1);
    ck_assert_uint_eq(pos[0], 1);
    /* MSET: every other argument. */
    ck_assert_int_eq(keys_of(pos, 16, 5, "MSET", "a", "1", "b", "2"), 2);
    ck_assert(pos[0] == 1 && pos[1] == 3);
    /* ZUNIONSTORE dst 2 a b WEIGHTS 1 2: a destination, then a key count. */
    ck_assert_int_eq(keys_of(pos, 16, 8, "ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"),
                     3);
    ck_assert(pos[0] == 1 && pos[1] == 3 && pos[2] == 4);
    /* XREAD ... STREAMS s1 s2 id1 id2: half of what follows the keyword. */
    ck_assert_int_eq(keys_of(pos, 16, 8, "XREAD", "COUNT", "1", "STREAMS", "s1", "s2", "0", "0"),
                     2);
    ck_assert(pos[0] == 4 && pos[1] == 5);
    /* MIGRATE with KEYS, found by searching backwards. */
    ck_assert_int_eq(keys_of(pos, 16, 9, "MIGRATE", "h", "1", "", "0", "5", "KEYS", "x", "y"), 3);
    ck_assert(pos[1] == 7 && pos[2] == 8);
    /* EVAL with no keys, and with two; a subcommand's key at index 2. */
    ck_assert_int_eq(keys_of(pos, 16, 3, "EVAL", "return 1", "0"), 0);
    ck_assert_int_eq(keys_of(pos, 16, 6, "EVAL", "s", "2", "k1", "k2", "arg"), 2);
    ck_assert(pos[0] == 3 && pos[1] == 4);
    ck_assert_int_eq(keys_of(pos, 16, 3, "OBJECT", "ENCODING", "k"), 1);
    ck_assert_uint_eq(pos[0], 2);
    /* Key specs of unknown kind (SORT's BY/GET/STORE) are skipped. */
    ck_assert_int_eq(keys_of(pos, 16, 4, "SORT", "l", "STORE", "d"), 1);
    /* More keys than room: the count is still exact. */
    ck_assert_int_eq(keys_of(pos, 1, 4, "DEL", "a", "b", "c"), 3);
    ck_assert_uint_eq(pos[0], 1);
    /* A line too short for its own specs, or a bad key count. */
    ck_assert_int_eq(keys_of(pos, 16, 1, "GET"), -1);
    ck_assert_int_eq(keys_of(pos, 16, 4, "EVAL", "s", "x", "k"), -1);
    ck_assert_int_eq(keys_of(pos, 16, 4, "EVAL", "s", "5", "k"), -1);
    ck_assert_int_eq(reds_catalog_keys(NULL, 0, NULL, pos, 16), -1);
}
END_TEST

START_TEST(argv_of_a_packed_command)
{
    static const char packed[] = "*4\r\n$4\r\nMSET\r\n$1\r\na\r\n$0\r\n\r\n$3\r\nb\0c\r\n";
    reds_str argv[8];
    ck_assert_uint_eq(reds__cmd_argv(packed, sizeof packed - 1, argv, 8), 4);
    ASSERT_STR(&argv[0], "MSET");
    ASSERT_STR(&argv[2], "");
    ck_assert(argv[3].len == 3 && memcmp(argv[3].ptr, "b\0c", 3) == 0);
    size_t pos[4];
    ck_assert_int_eq(reds_catalog_keys(reds_catalog_lookup("MSET"), 4, argv, pos, 4), 2);
    ck_assert(pos[0] == 1 && pos[1] == 3);
    ck_assert_uint_eq(reds__cmd_argv(packed, sizeof packed - 1, argv, 2), 2);
    ck_assert_uint_eq(reds__cmd_argv("", 0, argv, 8), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("catalog");
    TCase *tc = tcase_create("errors");
    tcase_add_test(tc, error_tree);
    tcase_add_test(tc, server_error_prefixes);
    suite_add_tcase(s, tc);
    tc = tcase_create("table");
    tcase_add_test(tc, lookups);
    tcase_add_test(tc, keys_from_key_specs);
    tcase_add_test(tc, argv_of_a_packed_command);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), false);
}
