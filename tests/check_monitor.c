/* MONITOR against a real server: records for commands with spaces, quotes,
 * control characters, every byte value and a 1 MB argument, compared byte
 * for byte with what was sent; TCP, unix-socket and Lua sources; the
 * database; timeouts; and the line parser on its own. */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include "testutil.h"

static bool same(reds_str s, const char *p, size_t len)
{
    return s.ptr && s.len == len && (len == 0 || memcmp(s.ptr, p, len) == 0) && s.ptr[len] == 0;
}

#define SAME(s, lit) same((s), "" lit, sizeof(lit) - 1)

static reds_monitor *new_monitor(reds_client *c)
{
    reds_monitor *m = NULL;
    ASSERT_OK(reds_monitor_new(c, &m));
    ck_assert_ptr_nonnull(m);
    return m;
}

/* The next record of `command` (others, such as a client's set-up, are
 * skipped). */
static reds_monitor_record *next_of(reds_monitor *m, const char *command)
{
    for (int i = 0; i < 100; i++) {
        reds_monitor_record *r = NULL;
        ASSERT_OK(reds_monitor_next(m, 5000, &r));
        ck_assert_msg(r != NULL, "no record of %s came", command);
        if (r->command.len == strlen(command) &&
            strncasecmp(r->command.ptr, command, r->command.len) == 0)
            return r;
        reds_free(r);
    }
    ck_abort_msg("no record of %s came", command);
    return NULL;
}

/* Run a command and check its record argument by argument. */
static reds_monitor_record *run_and_see(reds_client *c, reds_monitor *m, size_t argc,
                                        const reds_str *argv)
{
    reds_reply *reply = NULL;
    ASSERT_OK(reds_execute_command(c, argc, argv, &reply));
    reds_free(reply);
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int)argv[0].len, argv[0].ptr);
    reds_monitor_record *r = next_of(m, name);
    ck_assert(same(r->command, argv[0].ptr, argv[0].len));
    ck_assert_uint_eq(r->nargs, argc - 1);
    for (size_t i = 1; i < argc; i++)
        ck_assert_msg(same(r->args[i - 1], argv[i].ptr ? argv[i].ptr : "", argv[i].len),
                      "argument %zu differs (%zu bytes, sent %zu)", i, r->args[i - 1].len,
                      argv[i].len);
    return r;
}

START_TEST(records_are_parsed_byte_for_byte)
{
    reds_client *c = test_client(NULL);
    reds_monitor *m = new_monitor(c);
    time_t before = time(NULL);
    char every[256];
    for (int i = 0; i < 256; i++)
        every[i] = (char)(255 - i);
    reds_str argv[] = {REDS_STR("SET"), REDS_STR("key with  spaces \"and quotes\""),
                       reds_strn(every, sizeof every)};
    reds_monitor_record *r = run_and_see(c, m, 3, argv);
    time_t after = time(NULL);
    ck_assert_int_eq(r->source, REDS_MONITOR_TCP);
    ck_assert_msg(r->client.len > 10 && memcmp(r->client.ptr, "127.0.0.1:", 10) == 0, "%s",
                  r->client.ptr);
    ck_assert_int_eq(r->db, 0);
    /* The same clock as ours (the host's), as seconds + microseconds. */
    ck_assert_int_ge(r->seconds, (int64_t)before - 1);
    ck_assert_int_le(r->seconds, (int64_t)after + 1);
    ck_assert(r->microseconds >= 0 && r->microseconds <= 999999);
    ck_assert(r->time == (double)r->seconds + (double)r->microseconds / 1e6);
    reds_free(r);

    /* Every escape the server writes, and empty arguments. */
    reds_str escapes[] = {REDS_STR("MSET"), REDS_STR("\\\"\n\r\t\a\b"), REDS_STR(""),
                          REDS_STR("back\\slash \\x41 \\n"), REDS_STR("\x00\x01\x7f\x80\xff")};
    reds_free(run_and_see(c, m, 5, escapes));
    /* Numbers the server keeps as integers come back as text. */
    reds_str nums[] = {REDS_STR("SET"), REDS_STR("n"), REDS_STR("-12345")};
    reds_free(run_and_see(c, m, 3, nums));
    /* Many arguments, a container command. */
    reds_str many[101];
    char names[100][8];
    many[0] = REDS_STR("MGET");
    for (int i = 0; i < 100; i++) {
        snprintf(names[i], sizeof names[i], "k\"%d", i);
        many[i + 1] = reds_cstr(names[i]);
    }
    reds_free(run_and_see(c, m, 101, many));
    reds_str info[] = {REDS_STR("CLIENT"), REDS_STR("GETNAME")};
    reds_free(run_and_see(c, m, 2, info));

    /* Nothing happening: no record, no error, whatever the wait. */
    reds_monitor_record *none = (reds_monitor_record *)&none;
    ASSERT_OK(reds_monitor_next(m, 0, &none));
    ck_assert_ptr_null(none);
    ASSERT_OK(reds_monitor_next(m, 30, &none));
    ck_assert_ptr_null(none);
    ASSERT_ERR(reds_monitor_next(m, -7, &none), REDS_ERR_DATA);
    ASSERT_ERR(reds_monitor_next(NULL, 0, &none), REDS_ERR_DATA);
    ASSERT_ERR(reds_monitor_next(m, 0, NULL), REDS_ERR_DATA);
    reds_monitor_close(m);
    reds_monitor_close(NULL);
    reds_client_free(c);
}
END_TEST

START_TEST(a_megabyte_argument)
{
    reds_client *c = test_client(NULL);
    reds_monitor *m = new_monitor(c);
    size_t n = 1 << 20;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)((i * 7919) >> 3); /* every byte value, NULs and quotes included */
    reds_str argv[] = {REDS_STR("SET"), REDS_STR("big"), reds_strn(big, n)};
    reds_free(run_and_see(c, m, 3, argv));
    free(big);
    reds_monitor_close(m);
    reds_client_free(c);
}
END_TEST

START_TEST(unix_lua_and_databases)
{
    reds_client *c = test_client(NULL);
    reds_monitor *m = new_monitor(c);
    reds_options o = {.db = 3};
    reds_client *u = test_client_unix(&o);
    reds_str get[] = {REDS_STR("GET"), REDS_STR("in db 3")};
    reds_monitor_record *r = run_and_see(u, m, 2, get);
    ck_assert_int_eq(r->source, REDS_MONITOR_UNIX);
    char expect[256];
    snprintf(expect, sizeof expect, "unix:%s", test_server.sock);
    ck_assert(same(r->client, expect, strlen(expect)));
    ck_assert_int_eq(r->db, 3);
    reds_free(r);

    static const char arg[] = "lua \"arg\"\x00\xfe";
    reds_str eval[] = {REDS_STR("EVAL"), REDS_STR("return redis.call('set', KEYS[1], ARGV[1])"),
                       REDS_STR("1"), REDS_STR("lua key"), reds_strn(arg, sizeof arg - 1)};
    reds_free(run_and_see(c, m, 5, eval));
    r = next_of(m, "set"); /* what the script ran */
    ck_assert_int_eq(r->source, REDS_MONITOR_LUA);
    ck_assert(SAME(r->client, "lua"));
    ck_assert(SAME(r->command, "set"));
    ck_assert_uint_eq(r->nargs, 2);
    ck_assert(SAME(r->args[0], "lua key"));
    ck_assert(same(r->args[1], arg, sizeof arg - 1));
    reds_free(r);
    reds_client_free(u);
    reds_monitor_close(m);
    reds_client_free(c);
}
END_TEST

START_TEST(monitor_errors)
{
    reds_monitor *m = (reds_monitor *)&m;
    ASSERT_ERR(reds_monitor_new(NULL, &m), REDS_ERR_DATA);
    ck_assert_ptr_null(m);
    ASSERT_ERR(reds_monitor_new(NULL, NULL), REDS_ERR_DATA);
    reds_options o = {.port = fixture_free_port()};
    reds_client *nowhere;
    ASSERT_OK(reds_client_new(&o, &nowhere));
    ASSERT_ERR(reds_monitor_new(nowhere, &m), REDS_ERR_CONNECTION);
    ck_assert_ptr_null(m);
    reds_client_free(nowhere);

    /* The server ends MONITOR by closing: the error is reported. */
    reds_client *c = test_client(NULL);
    m = new_monitor(c);
    /* A monitor counts as a "normal" client: kill all but this one. */
    reds_str kill[] = {REDS_STR("CLIENT"), REDS_STR("KILL"),   REDS_STR("TYPE"),
                       REDS_STR("normal"), REDS_STR("SKIPME"), REDS_STR("yes")};
    reds_reply *reply = NULL;
    ASSERT_OK(reds_execute_command(c, 6, kill, &reply));
    ck_assert_int_eq(reply->integer, 1);
    reds_free(reply);
    reds_monitor_record *r;
    reds_err err = REDS_OK;
    for (int i = 0; i < 100 && !err; i++) {
        err = reds_monitor_next(m, 1000, &r);
        reds_free(r);
    }
    ck_assert(reds_err_is(err, REDS_ERR_CONNECTION));
    ASSERT_ERR(reds_monitor_next(m, 0, &r), REDS_ERR_CONNECTION);
    reds_monitor_close(m);
    reds_client_free(c);
}
END_TEST

START_TEST(parse_lines)
{
    static const char line[] = "+1700000000.012345 [12 [::1]:6380] \"set\" \"a \\\"b\\\\c\" "
                               "\"\\x00\\n\\r\\t\\a\\b\\xff\\xE9 ~\"";
    reds_monitor_record *r = NULL;
    ASSERT_OK(reds_monitor_parse(line, sizeof line - 1, &r));
    ck_assert_int_eq(r->seconds, 1700000000);
    ck_assert_int_eq(r->microseconds, 12345);
    ck_assert(r->time == 1700000000.012345);
    ck_assert_int_eq(r->db, 12);
    ck_assert_int_eq(r->source, REDS_MONITOR_TCP);
    ck_assert(SAME(r->client, "[::1]:6380"));
    ck_assert(SAME(r->command, "set"));
    ck_assert_uint_eq(r->nargs, 2);
    ck_assert(SAME(r->args[0], "a \"b\\c"));
    ck_assert(SAME(r->args[1], "\x00\n\r\t\a\b\xff\xe9 ~"));
    reds_free(r);

    /* Without the '+', with the line end, a lone command, odd clients. */
    static const char bare[] = "1.000001 [0 lua] \"PING\"\r\n";
    ASSERT_OK(reds_monitor_parse(bare, sizeof bare - 1, &r));
    ck_assert_int_eq(r->source, REDS_MONITOR_LUA);
    ck_assert_uint_eq(r->nargs, 0);
    ck_assert(SAME(r->command, "PING"));
    ck_assert_ptr_nonnull(r->args);
    reds_free(r);
    static const char unix_[] = "1.000001 [0 unix:/tmp/a b] \"x\" \"\"";
    ASSERT_OK(reds_monitor_parse(unix_, sizeof unix_ - 1, &r));
    ck_assert_int_eq(r->source, REDS_MONITOR_UNIX);
    ck_assert(SAME(r->client, "unix:/tmp/a b"));
    ck_assert(SAME(r->args[0], ""));
    reds_free(r);
    static const char other[] = "1.000001 [0 ?] \"x\" \"a]\" \"] \\\"\"";
    ASSERT_OK(reds_monitor_parse(other, sizeof other - 1, &r));
    ck_assert_int_eq(r->source, REDS_MONITOR_OTHER);
    ck_assert(SAME(r->client, "?"));
    ck_assert_uint_eq(r->nargs, 2);
    ck_assert(SAME(r->args[0], "a]"));
    ck_assert(SAME(r->args[1], "] \""));
    reds_free(r);

    static const char *const bad[] = {
        "",
        "OK",
        "1700000000 [0 lua] \"x\"",
        "1700000000.12 [0 lua] \"x\"",
        "1.000001 [x lua] \"x\"",
        "1.000001 [0 lua]",
        "1.000001 [0 lua] \"x",
        "1.000001 [0 lua] \"x\"\"y\"",
        "1.000001 [0 lua] \"\\q\"",
        "1.000001 [0 lua] \"\\x4\"",
        "1.000001 [0 lua] \"\\xzz\"",
        "1.000001 [0 lua] \"x\" y",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = (reds_monitor_record *)&r;
        ck_assert_msg(reds_monitor_parse(bad[i], strlen(bad[i]), &r) == REDS_ERR_INVALID_RESPONSE,
                      "accepted: %s", bad[i]);
        ck_assert_ptr_null(r);
    }
    ASSERT_ERR(reds_monitor_parse(NULL, 3, &r), REDS_ERR_DATA);
    ASSERT_ERR(reds_monitor_parse(line, 3, NULL), REDS_ERR_DATA);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("monitor");
    TCase *tc = tcase_create("server");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, records_are_parsed_byte_for_byte);
    tcase_add_test(tc, a_megabyte_argument);
    tcase_add_test(tc, unix_lua_and_databases);
    tcase_add_test(tc, monitor_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("parse");
    tcase_add_test(tc, parse_lines);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
