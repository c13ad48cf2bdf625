/* Reply converters fed canned replies, parsed by the same hiredis reader
 * into the same test_arena as live replies: every base converter against every
 * reply shape (the wrong ones must give InvalidResponse, never a crash),
 * and the generated record converters on real server output. */
#include <hiredis/read.h>
#include <math.h>
#include <stdio.h>

#include "testreply.h"

static const char *const shapes[] = {
    "+OK\r\n",                                 /* 0 status */
    "$3\r\nfoo\r\n",                           /* 1 bulk */
    ":1\r\n",                                  /* 2 integer 1 */
    ":42\r\n",                                 /* 3 integer 42 */
    "$-1\r\n",                                 /* 4 nil */
    "*-1\r\n",                                 /* 5 nil array */
    "*2\r\n$1\r\na\r\n$1\r\nb\r\n",            /* 6 array of strings */
    "*0\r\n",                                  /* 7 empty array */
    "-ERR x\r\n",                              /* 8 error */
    "$3\r\n2.5\r\n",                           /* 9 a double as a bulk */
    "*3\r\n:1\r\n:2\r\n:3\r\n",                /* 10 array of integers */
    "*2\r\n*0\r\n$1\r\nx\r\n",                 /* 11 nested array */
    "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", /* 12 odd-length array */
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])
#define ALL     ((1u << NSHAPES) - 1)
#define BIT(i)  (1u << (i))

static const struct {
    const char *name;
    reds__conv_fn fn;
    unsigned accepts; /* bit i: shapes[i] converts */
    bool owned;
} converters[] = {
    {"ok", reds__conv_ok, BIT(0), false},
    {"ok_or_nil", reds__conv_ok_or_nil, BIT(0) | BIT(4) | BIT(5), false},
    {"int", reds__conv_int, BIT(2) | BIT(3), false},
    {"bool", reds__conv_bool, BIT(2), false},
    {"nullable_int", reds__conv_nullable_int, BIT(2) | BIT(3) | BIT(4) | BIT(5), false},
    {"double", reds__conv_double, BIT(2) | BIT(3) | BIT(9), false},
    {"nullable_double", reds__conv_nullable_double, BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(9),
     false},
    {"string", reds__conv_string, BIT(0) | BIT(1) | BIT(9), true},
    {"nullable_string", reds__conv_nullable_string, BIT(0) | BIT(1) | BIT(4) | BIT(5) | BIT(9),
     true},
    {"strlist", reds__conv_strlist, BIT(6) | BIT(7) | BIT(12), true},
    {"nullable_strlist", reds__conv_nullable_strlist, BIT(4) | BIT(5) | BIT(6) | BIT(7) | BIT(12),
     true},
    {"map", reds__conv_map, BIT(6) | BIT(7), true},
    {"intlist", reds__conv_intlist, BIT(7) | BIT(10), true},
    {"reply", reds__conv_reply, ALL, true},
    {"scan_page", reds__conv_scan_page, 0, true},
    /* Records of field/value pairs skip fields they do not know. */
    {"hello", reds__conv_hello, BIT(6) | BIT(7), true},
    {"client_list", reds__conv_client_list, BIT(1) | BIT(9), true},
    {"tracking_info", reds__conv_tracking_info, BIT(6) | BIT(7), true},
};

START_TEST(every_converter_against_every_shape)
{
    for (size_t c = 0; c < sizeof converters / sizeof converters[0]; c++) {
        for (size_t s = 0; s < NSHAPES; s++) {
            union {
                void *ptr;
                int64_t i;
                double d;
                bool b;
                reds_opt_i64 oi;
                reds_opt_f64 od;
            } out;
            memset(&out, 0, sizeof out);
            const reds_reply *r = test_parse(shapes[s], strlen(shapes[s]));
            reds_err err = test_convert(converters[c].fn, r, &out);
            bool ok = converters[c].accepts & (1u << s);
            ck_assert_msg(err == (ok ? REDS_OK : REDS_ERR_INVALID_RESPONSE),
                          "%s on shape %zu: %s (%s)", converters[c].name, s, reds_err_name(err),
                          reds_errmsg());
            if (converters[c].owned) {
                if (!ok)
                    ck_assert_ptr_null(out.ptr);
                reds_free(out.ptr);
            }
        }
    }
}
END_TEST

START_TEST(scalar_values)
{
    int64_t i;
    ck_assert_int_eq(test_convert(reds__conv_int, TEST_PARSE(":-9223372036854775808\r\n"), &i),
                     REDS_OK);
    ck_assert(i == INT64_MIN);
    bool b = true;
    ck_assert_int_eq(test_convert(reds__conv_bool, TEST_PARSE(":0\r\n"), &b), REDS_OK);
    ck_assert(!b);
    ck_assert_int_eq(test_convert(reds__conv_ok_or_nil, TEST_PARSE("$-1\r\n"), &b), REDS_OK);
    ck_assert(!b);
    double d;
    ck_assert_int_eq(test_convert(reds__conv_double, TEST_PARSE("$4\r\n-inf\r\n"), &d), REDS_OK);
    ck_assert(d < 0 && isinf(d));
    ck_assert_int_eq(
        test_convert(reds__conv_double, TEST_PARSE("$20\r\n3.0000000000000004e5\r\n"), &d),
        REDS_OK);
    ck_assert(d == 3.0000000000000004e5);
    ck_assert_int_eq(test_convert(reds__conv_double, TEST_PARSE("$3\r\n1.x\r\n"), &d),
                     REDS_ERR_INVALID_RESPONSE);
    ck_assert_int_eq(test_convert(reds__conv_double, TEST_PARSE("$0\r\n\r\n"), &d),
                     REDS_ERR_INVALID_RESPONSE);
    reds_opt_f64 od = {true, 1};
    ck_assert_int_eq(test_convert(reds__conv_nullable_double, TEST_PARSE("$-1\r\n"), &od), REDS_OK);
    ck_assert(!od.set);
    reds_opt_i64 oi;
    ck_assert_int_eq(test_convert(reds__conv_nullable_int, TEST_PARSE(":7\r\n"), &oi), REDS_OK);
    ck_assert(oi.set && oi.value == 7);
}
END_TEST

START_TEST(strings_and_lists)
{
    reds_str *s = NULL;
    ck_assert_int_eq(test_convert(reds__conv_string, TEST_PARSE("$5\r\na\0b\r\n\r\n"), &s),
                     REDS_OK);
    ck_assert_uint_eq(s->len, 5);
    ck_assert(memcmp(s->ptr, "a\0b\r\n", 5) == 0 && s->ptr[5] == '\0');
    reds_free(s);
    ck_assert_int_eq(test_convert(reds__conv_nullable_string, TEST_PARSE("$-1\r\n"), &s), REDS_OK);
    ck_assert_ptr_null(s);

    reds_strlist *l = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_strlist, TEST_PARSE("*3\r\n$1\r\nx\r\n$-1\r\n$0\r\n\r\n"), &l),
        REDS_OK);
    ck_assert_uint_eq(l->count, 3);
    ASSERT_STR(&l->items[0], "x");
    ck_assert_ptr_null(l->items[1].ptr);
    ASSERT_STR(&l->items[2], "");
    reds_free(l);

    reds_map *m = NULL;
    ck_assert_int_eq(test_convert(reds__conv_map,
                                  TEST_PARSE("*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\ng\r\n$1\r\nw\r\n"),
                                  &m),
                     REDS_OK);
    ck_assert_uint_eq(m->count, 2);
    ASSERT_STR(reds_map_get(m, REDS_STR("g")), "w");
    ck_assert_ptr_null(reds_map_get(m, REDS_STR("h")));
    reds_free(m);
    m = NULL;
    ck_assert_int_eq(test_convert(reds__conv_map, TEST_PARSE("*2\r\n:1\r\n$1\r\nv\r\n"), &m),
                     REDS_ERR_INVALID_RESPONSE);
    ck_assert_ptr_null(m);

    reds_reply *tree = NULL;
    ck_assert_int_eq(test_convert(reds__conv_reply, TEST_PARSE("*2\r\n:5\r\n*1\r\n+hi\r\n"), &tree),
                     REDS_OK);
    int64_t five;
    reds_str hi;
    ASSERT_OK(reds_reply_int(reds_reply_at(tree, 0), &five));
    ck_assert(five == 5);
    ASSERT_OK(reds_reply_str(reds_reply_at(reds_reply_at(tree, 1), 0), &hi));
    ASSERT_STR(&hi, "hi");
    ck_assert_ptr_null(reds_reply_at(tree, 2));
    ASSERT_ERR(reds_reply_int(reds_reply_at(tree, 1), &five), REDS_ERR_INVALID_RESPONSE);
    ASSERT_ERR(reds_reply_str(NULL, &hi), REDS_ERR_INVALID_RESPONSE);
    reds_free(tree);
    reds_free(NULL);
}
END_TEST

START_TEST(records_array_and_map)
{
    reds_scan_page *page = NULL;
    ck_assert_int_eq(
        test_convert(
            reds__conv_scan_page,
            TEST_PARSE("*2\r\n$20\r\n18446744073709551615\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n"), &page),
        REDS_OK);
    ck_assert(page->cursor == UINT64_MAX);
    ck_assert_uint_eq(page->items.count, 2);
    ASSERT_STR(&page->items.items[1], "b");
    reds_free(page);
    page = NULL;
    /* A cursor that is not a number, one that overflows, a short page. */
    ck_assert_int_eq(
        test_convert(reds__conv_scan_page, TEST_PARSE("*2\r\n$2\r\n1x\r\n*0\r\n"), &page),
        REDS_ERR_INVALID_RESPONSE);
    ck_assert_int_eq(test_convert(reds__conv_scan_page,
                                  TEST_PARSE("*2\r\n$20\r\n18446744073709551616\r\n*0\r\n"), &page),
                     REDS_ERR_INVALID_RESPONSE);
    ck_assert_int_eq(test_convert(reds__conv_scan_page, TEST_PARSE("*1\r\n$1\r\n0\r\n"), &page),
                     REDS_ERR_INVALID_RESPONSE);
    ck_assert_ptr_null(page);

    /* LCS IDX, as Redis 7.0 answers LCS a b IDX WITHMATCHLEN. */
    reds_lcs_result *lcs = NULL;
    ck_assert_int_eq(
        test_convert(
            reds__conv_lcs_idx,
            TEST_PARSE(
                "*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
                "*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"),
            &lcs),
        REDS_OK);
    ck_assert_int_eq(lcs->len, 6);
    ck_assert_uint_eq(lcs->nmatches, 2);
    ck_assert(lcs->matches[0].a.start == 4 && lcs->matches[0].a.end == 7);
    ck_assert(lcs->matches[0].b.start == 5 && lcs->matches[0].b.end == 8);
    ck_assert_int_eq(lcs->matches[0].len, 4);
    ck_assert(lcs->matches[1].a.start == 2 && lcs->matches[1].b.end == 1);
    ck_assert_int_eq(lcs->matches[1].len, 0); /* no WITHMATCHLEN element */
    reds_free(lcs);
    ck_assert_int_eq(
        test_convert(reds__conv_lcs_idx, TEST_PARSE("*2\r\n$7\r\nmatches\r\n*1\r\n:1\r\n"), &lcs),
        REDS_ERR_INVALID_RESPONSE);
    /* A bad field before a good optional one still fails the record. */
    ck_assert_int_eq(
        test_convert(
            reds__conv_lcs_idx,
            TEST_PARSE("*2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n:1\r\n*2\r\n:0\r\n:1\r\n:4\r\n"), &lcs),
        REDS_ERR_INVALID_RESPONSE);

    reds_hello_reply *h = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_hello,
                     TEST_PARSE("*8\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:2\r\n"
                                "$7\r\nmodules\r\n*0\r\n$5\r\nextra\r\n$1\r\nx\r\n"),
                     &h),
        REDS_OK);
    ASSERT_STR(&h->server, "redis");
    ck_assert_int_eq(h->proto, 2);
    ck_assert_int_eq(h->modules->type, REDS_REPLY_ARRAY);
    ck_assert_ptr_null(h->version.ptr); /* missing fields stay zero */
    reds_free(h);
    ck_assert_int_eq(
        test_convert(reds__conv_hello, TEST_PARSE("*2\r\n$5\r\nproto\r\n$1\r\nx\r\n"), &h),
        REDS_ERR_INVALID_RESPONSE);
}
END_TEST

START_TEST(records_text)
{
    reds_client_entry *e = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_client_info,
                     test_parse_bulk(
                         "id=3 addr=127.0.0.1:50 laddr=127.0.0.1:6379 fd=8 name=web age=2 idle=0 "
                         "flags=N db=1 multi=-1 new-field=7 cmd=client|info\n"),
                     &e),
        REDS_OK);
    ck_assert_int_eq(e->id, 3);
    ASSERT_STR(&e->addr, "127.0.0.1:50");
    ASSERT_STR(&e->name, "web");
    ck_assert_int_eq(e->db, 1);
    ck_assert_int_eq(e->multi, -1);
    ASSERT_STR(&e->cmd, "client|info");
    ck_assert_ptr_nonnull(strstr(e->line.ptr, "new-field=7"));
    reds_free(e);
    ck_assert_int_eq(test_convert(reds__conv_client_info, TEST_PARSE("$6\r\nid=abc\r\n"), &e),
                     REDS_ERR_INVALID_RESPONSE);
    ck_assert_int_eq(test_convert(reds__conv_client_info, TEST_PARSE(":1\r\n"), &e),
                     REDS_ERR_INVALID_RESPONSE);

    reds_client_entry_list *list = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_client_list, test_parse_bulk("id=1 name=a\nid=2 name=b\n"), &list),
        REDS_OK);
    ck_assert_uint_eq(list->count, 2);
    ck_assert_int_eq(list->items[1].id, 2);
    ASSERT_STR(&list->items[1].name, "b");
    reds_free(list);
    ck_assert_int_eq(test_convert(reds__conv_client_list, TEST_PARSE("$0\r\n\r\n"), &list),
                     REDS_OK);
    ck_assert_uint_eq(list->count, 0);
    reds_free(list);
}
END_TEST

START_TEST(protocol_errors_from_the_reader)
{
    /* Bytes that are not RESP, and nesting beyond hiredis 0.14's limit. */
    reds__parser parser = {.arena = &test_arena};
    struct redisReader *r = reds__reader_new(&parser);
    void *reply = NULL;
    redisReaderFeed(r, "?oops\r\n", 7);
    ck_assert_int_eq(redisReaderGetReply(r, &reply), REDIS_ERR);
    redisReaderFree(r);
    reds__arena_clear(&test_arena);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("convert");
    TCase *tc = tcase_create("converters");
    tcase_add_checked_fixture(tc, NULL, test_arena_clear);
    tcase_add_test(tc, every_converter_against_every_shape);
    tcase_add_test(tc, scalar_values);
    tcase_add_test(tc, strings_and_lists);
    tcase_add_test(tc, records_array_and_map);
    tcase_add_test(tc, records_text);
    tcase_add_test(tc, protocol_errors_from_the_reader);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), false);
}
