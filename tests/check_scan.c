/* Scan iterators against a real server: 100,000 keys each returned at
 * least once, MATCH, COUNT and TYPE, the members, fields and scores of
 * SSCAN, HSCAN and ZSCAN, stopping early, and the refusals. */
#include <stdio.h>
#include <stdlib.h>

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

/* Keys "key:<i>" for i in [0, n), in pipelined batches. */
static void fill_keys(int n)
{
    reds_client *p;
    ASSERT_OK(reds_pipeline_new(c, false, &p));
    char key[32];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "key:%d", i);
        ASSERT_OK(reds_set(p, reds_cstr(key), REDS_STR("v"), NULL, NULL));
        if (i % 10000 == 9999 || i == n - 1)
            ASSERT_OK(reds_pipeline_execute(p));
    }
    reds_client_free(p);
}

/* The number in "<prefix><n>", or -1. */
static long number_after(const reds_str *s, const char *prefix)
{
    size_t n = strlen(prefix);
    if (s->len <= n || memcmp(s->ptr, prefix, n) != 0)
        return -1;
    char *end;
    long v = strtol(s->ptr + n, &end, 10);
    return end == s->ptr + s->len ? v : -1;
}

START_TEST(every_key_at_least_once)
{
    enum { N = 100000 };
    fill_keys(N);
    unsigned char *seen = calloc(N, 1);
    reds_scan_iter *it;
    reds_scan_iter_opts o = {.count = REDS_I64(1000)};
    ASSERT_OK(reds_scan_iter_new(c, &o, &it));
    const reds_scan_item *item;
    reds_err err;
    long total = 0, distinct = 0;
    while ((err = reds_scan_iter_next(it, &item)) == REDS_OK && item) {
        long i = number_after(&item->key, "key:");
        ck_assert_msg(i >= 0 && i < N, "unexpected key %s", item->key.ptr);
        ck_assert_uint_eq(item->value.len, 0);
        distinct += !seen[i];
        seen[i] = 1;
        total++;
    }
    ASSERT_OK(err);
    ck_assert_int_eq(distinct, N);
    ck_assert_int_ge(total, N);
    /* Past the end it stays at the end. */
    ASSERT_OK(reds_scan_iter_next(it, &item));
    ck_assert_ptr_null(item);
    reds_scan_iter_free(it);
    free(seen);
}
END_TEST

START_TEST(match_and_type)
{
    reds_field_value fv[] = {{REDS_STR("f"), REDS_STR("v")}};
    reds_str member = REDS_STR("m");
    for (int i = 0; i < 30; i++) {
        char key[32];
        snprintf(key, sizeof key, "user:%d", i);
        if (i % 3 == 0)
            ASSERT_OK(reds_hset(c, reds_cstr(key), fv, 1, NULL));
        else if (i % 3 == 1)
            ASSERT_OK(reds_sadd(c, reds_cstr(key), &member, 1, NULL));
        else
            ASSERT_OK(reds_set(c, reds_cstr(key), REDS_STR("s"), NULL, NULL));
        snprintf(key, sizeof key, "other:%d", i);
        ASSERT_OK(reds_set(c, reds_cstr(key), REDS_STR("s"), NULL, NULL));
    }
    struct {
        reds_scan_iter_opts o;
        int expect;
        int modulo; /* the i % 3 every returned user key must have; -1: any */
    } cases[] = {
        {{.match = REDS_STR("user:*")}, 30, -1},
        {{.match = REDS_STR("user:*"), .type = REDS_STR("hash"), .count = REDS_I64(7)}, 10, 0},
        {{.type = REDS_STR("set")}, 10, 1},
        {{.type = REDS_STR("string")}, 40, -1},
        {{.match = REDS_STR("nobody:*")}, 0, -1},
        {{.count = REDS_I64(1)}, 60, -1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        reds_scan_iter *it;
        ASSERT_OK(reds_scan_iter_new(c, &cases[k].o, &it));
        const reds_scan_item *item;
        reds_err err;
        unsigned char seen[2][30] = {{0}};
        int distinct = 0;
        while ((err = reds_scan_iter_next(it, &item)) == REDS_OK && item) {
            long u = number_after(&item->key, "user:"), o = number_after(&item->key, "other:");
            ck_assert_msg(u >= 0 || o >= 0, "case %zu: %s", k, item->key.ptr);
            if (u >= 0 && cases[k].modulo >= 0)
                ck_assert_int_eq(u % 3, cases[k].modulo);
            unsigned char *s = u >= 0 ? &seen[0][u] : &seen[1][o];
            distinct += !*s;
            *s = 1;
        }
        ASSERT_OK(err);
        ck_assert_msg(distinct == cases[k].expect, "case %zu: %d keys, expected %d", k, distinct,
                      cases[k].expect);
        reds_scan_iter_free(it);
    }
}
END_TEST

START_TEST(sscan_members)
{
    enum { N = 1000 };
    static reds_str members[N];
    static char text[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(text[i], sizeof text[i], "m%d", i);
        members[i] = reds_cstr(text[i]);
    }
    ASSERT_OK(reds_sadd(c, REDS_STR("set"), members, N, NULL));
    reds_scan_iter *it;
    ASSERT_OK(reds_sscan_iter_new(c, REDS_STR("set"), NULL, &it));
    static unsigned char seen[N];
    memset(seen, 0, sizeof seen);
    const reds_scan_item *item;
    reds_err err;
    int distinct = 0;
    while ((err = reds_scan_iter_next(it, &item)) == REDS_OK && item) {
        long i = number_after(&item->key, "m");
        ck_assert(i >= 0 && i < N);
        distinct += !seen[i];
        seen[i] = 1;
    }
    ASSERT_OK(err);
    ck_assert_int_eq(distinct, N);
    reds_scan_iter_free(it);
    /* MATCH on members. */
    reds_scan_iter_opts o = {.match = REDS_STR("m99*")};
    ASSERT_OK(reds_sscan_iter_new(c, REDS_STR("set"), &o, &it));
    distinct = 0;
    while ((err = reds_scan_iter_next(it, &item)) == REDS_OK && item)
        distinct++;
    ck_assert_int_eq(distinct, 11); /* m99, m990..m999 */
    reds_scan_iter_free(it);
}
END_TEST

START_TEST(hscan_fields_and_values)
{
    enum { N = 500 };
    static reds_field_value fv[N];
    static char f[N][16], v[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(f[i], sizeof f[i], "f%d", i);
        snprintf(v[i], sizeof v[i], "value-%d", i * 7);
        fv[i] = (reds_field_value){reds_cstr(f[i]), reds_cstr(v[i])};
    }
    ASSERT_OK(reds_hset(c, REDS_STR("h"), fv, N, NULL));
    reds_scan_iter *it;
    reds_scan_iter_opts o = {.count = REDS_I64(50)};
    ASSERT_OK(reds_hscan_iter_new(c, REDS_STR("h"), &o, &it));
    static unsigned char seen[N];
    memset(seen, 0, sizeof seen);
    const reds_scan_item *item;
    reds_err err;
    int distinct = 0;
    while ((err = reds_scan_iter_next(it, &item)) == REDS_OK && item) {
        long i = number_after(&item->key, "f");
        ck_assert(i >= 0 && i < N);
        ck_assert_str_eq(item->value.ptr, v[i]);
        ck_assert(item->score == 0);
        distinct += !seen[i];
        seen[i] = 1;
    }
    ASSERT_OK(err);
    ck_assert_int_eq(distinct, N);
    reds_scan_iter_free(it);
}
END_TEST

START_TEST(zscan_members_and_scores)
{
    enum { N = 300 };
    static reds_score_member zm[N];
    static char m[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(m[i], sizeof m[i], "z%d", i);
        zm[i] = (reds_score_member){i * 0.5 - 10, reds_cstr(m[i])};
    }
    ASSERT_OK(reds_zadd(c, REDS_STR("z"), zm, N, NULL, NULL));
    reds_scan_iter *it;
    ASSERT_OK(reds_zscan_iter_new(c, REDS_STR("z"), NULL, &it));
    static unsigned char seen[N];
    memset(seen, 0, sizeof seen);
    const reds_scan_item *item;
    reds_err err;
    int distinct = 0;
    while ((err = reds_scan_iter_next(it, &item)) == REDS_OK && item) {
        long i = number_after(&item->key, "z");
        ck_assert(i >= 0 && i < N);
        ck_assert(item->score == i * 0.5 - 10);
        ck_assert(strtod(item->value.ptr, NULL) == i * 0.5 - 10);
        distinct += !seen[i];
        seen[i] = 1;
    }
    ASSERT_OK(err);
    ck_assert_int_eq(distinct, N);
    reds_scan_iter_free(it);
}
END_TEST

START_TEST(stop_early_and_empty)
{
    fill_keys(5000);
    reds_scan_iter *it;
    reds_scan_iter_opts o = {.count = REDS_I64(100)};
    ASSERT_OK(reds_scan_iter_new(c, &o, &it));
    const reds_scan_item *item;
    for (int i = 0; i < 150; i++) {
        ASSERT_OK(reds_scan_iter_next(it, &item));
        ck_assert_ptr_nonnull(item);
    }
    reds_scan_iter_free(it); /* mid-iteration, a page held: nothing leaks */
    ASSERT_OK(reds_scan_iter_new(c, &o, &it));
    reds_scan_iter_free(it); /* never started */
    reds_scan_iter_free(NULL);
    /* A missing key is an empty collection. */
    ASSERT_OK(reds_hscan_iter_new(c, REDS_STR("nothing"), NULL, &it));
    ASSERT_OK(reds_scan_iter_next(it, &item));
    ck_assert_ptr_null(item);
    reds_scan_iter_free(it);
}
END_TEST

static reds_err page_count(const reds_reply *reply, void *out, void *udata)
{
    (void)reply;
    (void)out;
    (void)udata;
    return REDS_OK;
}

START_TEST(errors)
{
    reds_scan_iter *it = (reds_scan_iter *)&it;
    reds_scan_iter_opts typed = {.type = REDS_STR("hash")}, zero = {.count = REDS_I64(0)};
    ASSERT_ERR(reds_sscan_iter_new(c, REDS_STR("s"), &typed, &it), REDS_ERR_DATA);
    ck_assert_ptr_null(it);
    ck_assert_str_eq(reds_errmsg(), "SSCAN iterator: TYPE is for SCAN only");
    ASSERT_ERR(reds_scan_iter_new(c, &zero, &it), REDS_ERR_DATA);
    ASSERT_ERR(reds_scan_iter_new(NULL, NULL, &it), REDS_ERR_DATA);
    ASSERT_ERR(reds_scan_iter_new(c, NULL, NULL), REDS_ERR_DATA);
    ASSERT_ERR(reds_hscan_iter_new(c, reds_strn(NULL, 2), NULL, &it), REDS_ERR_DATA);
    reds_client *p;
    ASSERT_OK(reds_pipeline_new(c, false, &p));
    ASSERT_ERR(reds_scan_iter_new(p, NULL, &it), REDS_ERR_DATA);
    reds_client_free(p);
    /* A server error comes from next(), and the iterator can be freed. */
    ASSERT_OK(reds_set(c, REDS_STR("str"), REDS_STR("v"), NULL, NULL));
    ASSERT_OK(reds_sscan_iter_new(c, REDS_STR("str"), NULL, &it));
    const reds_scan_item *item = (const reds_scan_item *)&item;
    ASSERT_ERR(reds_scan_iter_next(it, &item), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(item);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "SSCAN: WRONGTYPE"));
    ASSERT_ERR(reds_scan_iter_next(it, NULL), REDS_ERR_DATA);
    reds_scan_iter_free(it);
    /* A response callback for the command changes what its replies become:
     * refused rather than misread. */
    ASSERT_OK(reds_set_response_callback(c, "HSCAN", page_count, NULL));
    ASSERT_ERR(reds_hscan_iter_new(c, REDS_STR("h"), NULL, &it), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "HSCAN iterator: the client has a response callback for "
                                    "HSCAN; iterate on a client without one");
    ASSERT_OK(reds_scan_iter_new(c, NULL, &it)); /* SCAN has none */
    reds_scan_iter_free(it);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("scan");
    TCase *tc = tcase_create("iterators");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_key_at_least_once);
    tcase_add_test(tc, match_and_type);
    tcase_add_test(tc, sscan_members);
    tcase_add_test(tc, hscan_fields_and_values);
    tcase_add_test(tc, zscan_members_and_scores);
    tcase_add_test(tc, stop_early_and_empty);
    tcase_add_test(tc, errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
