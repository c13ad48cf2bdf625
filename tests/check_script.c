/* Scripts against a real server: the SHA-1 computed locally, EVALSHA with
 * a reload on NOSCRIPT (SCRIPT FLUSH between calls), another client than
 * the script's own, every Lua value as a reply tree, script errors, and
 * scripts inside pipelines and transactions (loaded once per batch). */
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

static reds_client *c;

static void script_flush(void);

static void setup(void)
{
    test_flush();
    c = test_client(NULL);
    script_flush();
    reds_str reset[] = {REDS_STR("CONFIG"), REDS_STR("RESETSTAT")};
    ASSERT_OK(reds_execute_command(c, 2, reset, NULL));
}

static void teardown(void)
{
    reds_client_free(c);
    c = NULL;
}

#define INCR_BY_SRC "return redis.call('INCRBY', KEYS[1], ARGV[1])"

/* How many times the server ran `cmd` ("evalsha", "script|load") since
 * the last CONFIG RESETSTAT. */
static long calls(const char *cmd)
{
    reds_str argv[] = {REDS_STR("INFO"), REDS_STR("commandstats")};
    reds_reply *r = NULL;
    ASSERT_OK(reds_execute_command(c, 2, argv, &r));
    char needle[64];
    snprintf(needle, sizeof needle, "cmdstat_%s:calls=", cmd);
    const char *at = strstr(r->str, needle);
    long n = at ? atol(at + strlen(needle)) : 0;
    reds_free(r);
    return n;
}

static void script_flush(void)
{
    reds_str flush[] = {REDS_STR("SCRIPT"), REDS_STR("FLUSH")};
    ASSERT_OK(reds_execute_command(c, 2, flush, NULL));
}

static int64_t as_int(const reds_reply *r)
{
    int64_t v = -12345;
    ASSERT_OK(reds_reply_int(r, &v));
    return v;
}

START_TEST(sha_is_computed_locally)
{
    reds_script *s;
    ASSERT_OK(reds_script_new(NULL, REDS_STR("return 1"), &s));
    /* sha1("return 1"), as the server computes it. */
    ck_assert_str_eq(reds_script_sha(s), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
    reds_reply *sha = NULL;
    reds_str load[] = {REDS_STR("SCRIPT"), REDS_STR("LOAD"), REDS_STR("return 1")};
    ASSERT_OK(reds_execute_command(c, 3, load, &sha));
    ck_assert_str_eq(sha->str, reds_script_sha(s));
    reds_free(sha);
    reds_script_free(s);
    ASSERT_OK(reds_script_new(NULL, REDS_STR(""), &s)); /* empty is a valid script */
    ck_assert_str_eq(reds_script_sha(s), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    reds_script_free(s);
    reds_script_free(NULL);
    ck_assert_str_eq(reds_script_sha(NULL), "");
}
END_TEST

START_TEST(evalsha_then_reload_on_noscript)
{
    reds_script *s;
    ASSERT_OK(reds_script_new(c, REDS_STR(INCR_BY_SRC), &s));
    reds_str key = REDS_STR("n"), arg = REDS_STR("5");
    reds_reply *r = NULL;
    /* Unknown to the server: EVALSHA, NOSCRIPT, SCRIPT LOAD, EVALSHA. */
    ASSERT_OK(reds_script_call(s, NULL, &key, 1, &arg, 1, &r));
    ck_assert_int_eq(as_int(r), 5);
    reds_free(r);
    ck_assert_int_eq(calls("evalsha"), 2);
    ck_assert_int_eq(calls("script|load"), 1);
    /* Known now: one EVALSHA. */
    ASSERT_OK(reds_script_call(s, NULL, &key, 1, &arg, 1, &r));
    ck_assert_int_eq(as_int(r), 10);
    reds_free(r);
    ck_assert_int_eq(calls("evalsha"), 3);
    ck_assert_int_eq(calls("script|load"), 1);
    /* SCRIPT FLUSH between calls: reloaded transparently. */
    script_flush();
    ASSERT_OK(reds_script_call(s, NULL, &key, 1, &arg, 1, &r));
    ck_assert_int_eq(as_int(r), 15);
    reds_free(r);
    ck_assert_int_eq(calls("script|load"), 2);
    ASSERT_OK(reds_script_call(s, NULL, &key, 1, &arg, 1, NULL)); /* discarded */
    reds_script_free(s);
}
END_TEST

START_TEST(another_client)
{
    reds_script *s;
    ASSERT_OK(reds_script_new(c, REDS_STR(INCR_BY_SRC), &s));
    reds_client *unix_ = test_client_unix(NULL), *d;
    ASSERT_OK(reds_client_dedicated(unix_, &d));
    reds_str key = REDS_STR("n"), arg = REDS_STR("2");
    reds_reply *r = NULL;
    ASSERT_OK(reds_script_call(s, unix_, &key, 1, &arg, 1, &r));
    ck_assert_int_eq(as_int(r), 2);
    reds_free(r);
    ASSERT_OK(reds_select(d, 1));
    ASSERT_OK(reds_script_call(s, d, &key, 1, &arg, 1, &r));
    ck_assert_int_eq(as_int(r), 2); /* db 1's own n */
    reds_free(r);
    reds_client_free(d);
    reds_client_free(unix_);
    reds_script_free(s);
    /* A script without a client needs one at each call. */
    ASSERT_OK(reds_script_new(NULL, REDS_STR(INCR_BY_SRC), &s));
    ASSERT_ERR(reds_script_call(s, NULL, &key, 1, &arg, 1, &r), REDS_ERR_DATA);
    ASSERT_OK(reds_script_call(s, c, &key, 1, &arg, 1, &r));
    ck_assert_int_eq(as_int(r), 4);
    reds_free(r);
    reds_script_free(s);
}
END_TEST

START_TEST(lua_values_as_reply_trees)
{
    reds_script *s;
    ASSERT_OK(reds_script_new(c,
                              REDS_STR("return {1, 'two', {3, false}, ARGV[1], KEYS[1], "
                                       "redis.status_reply('fine'), 3.99}"),
                              &s));
    reds_str key = REDS_STR("k"), arg = REDS_STR("bin\0ary");
    reds_reply *r = NULL;
    ASSERT_OK(reds_script_call(s, NULL, &key, 1, &arg, 1, &r));
    ck_assert_uint_eq(reds_reply_count(r), 7);
    ck_assert_int_eq(as_int(reds_reply_at(r, 0)), 1);
    reds_str str;
    ASSERT_OK(reds_reply_str(reds_reply_at(r, 1), &str));
    ASSERT_STR(&str, "two");
    const reds_reply *inner = reds_reply_at(r, 2);
    ck_assert_uint_eq(reds_reply_count(inner), 2);
    ck_assert_int_eq(as_int(reds_reply_at(inner, 0)), 3);
    ck_assert(reds_reply_is_nil(reds_reply_at(inner, 1))); /* Lua false */
    ASSERT_OK(reds_reply_str(reds_reply_at(r, 3), &str));
    ck_assert_uint_eq(str.len, 7);
    ck_assert(memcmp(str.ptr, "bin\0ary", 7) == 0);
    ASSERT_OK(reds_reply_str(reds_reply_at(r, 4), &str));
    ASSERT_STR(&str, "k");
    ck_assert_int_eq(reds_reply_at(r, 5)->type, REDS_REPLY_STATUS);
    ck_assert_int_eq(as_int(reds_reply_at(r, 6)), 3); /* Lua numbers truncate */
    ck_assert_uint_eq(reds_reply_count(reds_reply_at(r, 6)), 0);
    ck_assert_ptr_null(reds_reply_at(r, 7));
    ck_assert(!reds_reply_is_nil(r));
    reds_free(r);
    reds_script_free(s);

    ASSERT_OK(reds_script_new(c, REDS_STR("return nil"), &s));
    ASSERT_OK(reds_script_call(s, NULL, NULL, 0, NULL, 0, &r));
    ck_assert(reds_reply_is_nil(r));
    reds_free(r);
    reds_script_free(s);
}
END_TEST

START_TEST(script_errors)
{
    reds_script *s;
    ASSERT_OK(reds_script_new(c, REDS_STR("return redis.error_reply('MYERR custom failure')"), &s));
    reds_reply *r = (reds_reply *)&r;
    ASSERT_ERR(reds_script_call(s, NULL, NULL, 0, NULL, 0, &r), REDS_ERR_RESPONSE);
    ck_assert_str_eq(reds_errmsg(), "EVALSHA: MYERR custom failure");
    ck_assert_ptr_null(r);
    reds_script_free(s);
    ASSERT_OK(reds_script_new(c, REDS_STR("this is not lua"), &s));
    ASSERT_ERR(reds_script_call(s, NULL, NULL, 0, NULL, 0, &r), REDS_ERR_RESPONSE);
    ck_assert_msg(strstr(reds_errmsg(), "SCRIPT LOAD: ERR Error compiling script"), "%s",
                  reds_errmsg());
    ASSERT_ERR(reds_script_call(s, NULL, NULL, 3, NULL, 0, &r), REDS_ERR_DATA);
    ASSERT_ERR(reds_script_call(NULL, c, NULL, 0, NULL, 0, &r), REDS_ERR_DATA);
    reds_str bad_key = reds_strn(NULL, 1);
    ASSERT_ERR(reds_script_call(s, NULL, &bad_key, 1, NULL, 0, &r), REDS_ERR_DATA);
    reds_script_free(s);
    ASSERT_ERR(reds_script_new(c, reds_strn(NULL, 4), &s), REDS_ERR_DATA);
    ck_assert_ptr_null(s);
    ASSERT_ERR(reds_script_new(c, REDS_STR("x"), NULL), REDS_ERR_DATA);
}
END_TEST

/* --------------------------------------------------------- in pipelines */

START_TEST(in_a_pipeline)
{
    reds_script *incr_by, *echo;
    ASSERT_OK(reds_script_new(c, REDS_STR(INCR_BY_SRC), &incr_by));
    ASSERT_OK(reds_script_new(c, REDS_STR("return ARGV[1]"), &echo));
    for (int tx = 0; tx < 2; tx++) {
        script_flush();
        reds_str reset[] = {REDS_STR("CONFIG"), REDS_STR("RESETSTAT")};
        ASSERT_OK(reds_execute_command(c, 2, reset, NULL));
        reds_client *p;
        ASSERT_OK(reds_pipeline_new(c, tx, &p));
        reds_str key = REDS_STR("n"), one = REDS_STR("1"), hi = REDS_STR("hi");
        reds_reply *r1 = NULL, *r2 = NULL, *r3 = NULL;
        int64_t n = 0;
        ASSERT_OK(reds_script_call(incr_by, p, &key, 1, &one, 1, &r1));
        ASSERT_OK(reds_incr(p, key, &n));
        ASSERT_OK(reds_script_call(echo, p, NULL, 0, &hi, 1, &r2));
        ASSERT_OK(reds_script_call(incr_by, p, &key, 1, &one, 1, &r3));
        ck_assert_uint_eq(reds_pipeline_count(p), 4); /* the loads are hidden */
        ck_assert_ptr_null(r1);
        ASSERT_OK(reds_pipeline_execute(p));
        int64_t base = tx ? 4 : 0;
        ck_assert_int_eq(as_int(r1), base + 1);
        ck_assert_int_eq(n, base + 2);
        ck_assert_str_eq(r2->str, "hi");
        ck_assert_int_eq(as_int(r3), base + 3);
        reds_free(r1);
        reds_free(r2);
        reds_free(r3);
        /* Each script was loaded once, ahead of its first call: no NOSCRIPT. */
        ck_assert_int_eq(calls("script|load"), 2);
        ck_assert_int_eq(calls("evalsha"), 3);
        for (size_t i = 0; i < 4; i++)
            ASSERT_OK(reds_pipeline_result(p, i, NULL));
        /* The next batch loads again (the server may have flushed). */
        ASSERT_OK(reds_script_call(incr_by, p, &key, 1, &one, 1, NULL));
        ASSERT_OK(reds_pipeline_execute(p));
        ck_assert_int_eq(calls("script|load"), 3);
        reds_client_free(p);
    }
    reds_script_free(incr_by);
    reds_script_free(echo);
}
END_TEST

START_TEST(broken_script_in_a_pipeline)
{
    reds_script *bad, *good;
    ASSERT_OK(reds_script_new(c, REDS_STR("this is not lua"), &bad));
    ASSERT_OK(reds_script_new(c, REDS_STR("return 7"), &good));
    for (int tx = 0; tx < 2; tx++) {
        reds_client *p;
        ASSERT_OK(reds_pipeline_new(c, tx, &p));
        reds_reply *r1 = NULL, *r2 = NULL;
        ASSERT_OK(reds_script_call(good, p, NULL, 0, NULL, 0, &r1));
        ASSERT_OK(reds_script_call(bad, p, NULL, 0, NULL, 0, &r2));
        ASSERT_ERR(reds_pipeline_execute(p), REDS_ERR_RESPONSE);
        /* The compile error is the EVALSHA's, not a NOSCRIPT. */
        ck_assert_msg(strstr(reds_errmsg(), "command 2 of 2 (EVALSHA): ERR Error compiling "
                                            "script"),
                      "%s", reds_errmsg());
        ck_assert_int_eq(as_int(r1), 7);
        ck_assert_ptr_null(r2);
        reds_free(r1);
        reds_client_free(p);
    }
    reds_script_free(bad);
    reds_script_free(good);
}
END_TEST

START_TEST(while_watching)
{
    /* Immediate mode: the script runs at once, loading on NOSCRIPT. */
    reds_script *s;
    ASSERT_OK(reds_script_new(c, REDS_STR(INCR_BY_SRC), &s));
    reds_client *p;
    ASSERT_OK(reds_pipeline_new(c, true, &p));
    reds_str key = REDS_STR("n"), two = REDS_STR("2");
    ASSERT_OK(reds_pipeline_watch(p, &key, 1));
    reds_reply *r = NULL;
    ASSERT_OK(reds_script_call(s, p, &key, 1, &two, 1, &r));
    ck_assert_int_eq(as_int(r), 2);
    reds_free(r);
    ASSERT_OK(reds_pipeline_multi(p));
    ASSERT_OK(reds_script_call(s, p, &key, 1, &two, 1, &r));
    /* The script's own write changed the watched key: EXEC aborts. */
    ASSERT_ERR(reds_pipeline_execute(p), REDS_ERR_WATCH);
    ck_assert_ptr_null(r);
    reds_client_free(p);
    reds_script_free(s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("script");
    TCase *tc = tcase_create("client");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, sha_is_computed_locally);
    tcase_add_test(tc, evalsha_then_reload_on_noscript);
    tcase_add_test(tc, another_client);
    tcase_add_test(tc, lua_values_as_reply_trees);
    tcase_add_test(tc, script_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("pipeline");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, in_a_pipeline);
    tcase_add_test(tc, broken_script_in_a_pipeline);
    tcase_add_test(tc, while_watching);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
