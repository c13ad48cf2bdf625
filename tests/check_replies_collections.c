/* The reply converters of the list, set, sorted-set, geo, bitmap and
 * hyperloglog commands, fed canned replies through the same hiredis reader
 * and test_arena as live ones: the values the server sends (RESP2, Redis 7.0),
 * and wrong shapes, which must give InvalidResponse, no crash and no owned
 * result. */
#include <math.h>
#include <stdio.h>

#include "testreply.h"

/* ------------------------------------------- every converter, every shape */

static const char *const shapes[] = {
    "+OK\r\n",                                 /* 0 status */
    "$3\r\nfoo\r\n",                           /* 1 bulk */
    ":1\r\n",                                  /* 2 integer */
    "$-1\r\n",                                 /* 3 nil */
    "*-1\r\n",                                 /* 4 nil array */
    "*0\r\n",                                  /* 5 empty array */
    "*2\r\n$1\r\na\r\n$1\r\nb\r\n",            /* 6 two strings */
    "*2\r\n$1\r\na\r\n$3\r\n1.5\r\n",          /* 7 a member and a score */
    "*3\r\n:1\r\n:0\r\n:1\r\n",                /* 8 integers */
    "*2\r\n*0\r\n$1\r\nx\r\n",                 /* 9 nested */
    "-ERR x\r\n",                              /* 10 error */
    "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", /* 11 three strings */
    "*2\r\n$-1\r\n$1\r\n2\r\n",                /* 12 nil and a number */
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])
#define SH(i)   (1u << (i))

static const struct {
    const char *name;
    reds__conv_fn fn;
    unsigned accepts;
} converters[] = {
    {"doublelist", reds__conv_doublelist, SH(5) | SH(8) | SH(12)},
    {"opt_intlist", reds__conv_opt_intlist, SH(5) | SH(8)},
    {"scored_list", reds__conv_scored_list, SH(5) | SH(7)},
    {"zscan_page", reds__conv_zscan_page, 0},
    /* Nullable records: nil is NULL; extra elements are skipped. */
    {"keyed_element", reds__conv_keyed_element, SH(3) | SH(4) | SH(6) | SH(7) | SH(11)},
    {"keyed_elements", reds__conv_keyed_elements, SH(3) | SH(4)},
    {"keyed_scored", reds__conv_keyed_scored, SH(3) | SH(4)},
    {"keyed_members", reds__conv_keyed_members, SH(3) | SH(4)},
    {"geo_pos_list", reds__conv_geo_pos_list, SH(5)},
    /* Bare members are results without WITH* fields. */
    {"geo_result_list", reds__conv_geo_result_list, SH(5) | SH(6) | SH(7) | SH(11)},
};

START_TEST(every_converter_against_every_shape)
{
    for (size_t c = 0; c < sizeof converters / sizeof converters[0]; c++) {
        for (size_t s = 0; s < NSHAPES; s++) {
            void *out = NULL;
            reds_err err =
                test_convert(converters[c].fn, test_parse(shapes[s], strlen(shapes[s])), &out);
            bool ok = converters[c].accepts & (1u << s);
            ck_assert_msg(err == (ok ? REDS_OK : REDS_ERR_INVALID_RESPONSE),
                          "%s on shape %zu: %s (%s)", converters[c].name, s, reds_err_name(err),
                          reds_errmsg());
            if (!ok)
                ck_assert_ptr_null(out);
            reds_free(out);
        }
    }
}
END_TEST

/* ------------------------------------------------ lists of scalars */

START_TEST(doublelist_values)
{
    /* ZMSCORE z a nomember top bottom */
    reds_doublelist *l = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_doublelist,
                     TEST_PARSE("*4\r\n$3\r\n1.5\r\n$-1\r\n$3\r\ninf\r\n$4\r\n-inf\r\n"), &l),
        REDS_OK);
    ck_assert_uint_eq(l->count, 4);
    ck_assert(l->items[0].set && l->items[0].value == 1.5);
    ck_assert(!l->items[1].set && l->items[1].value == 0);
    ck_assert(l->items[2].set && isinf(l->items[2].value) && l->items[2].value > 0);
    ck_assert(l->items[3].set && isinf(l->items[3].value) && l->items[3].value < 0);
    reds_free(l);
    ASSERT_REFUSED(reds__conv_doublelist, TEST_PARSE("*2\r\n$1\r\n1\r\n$2\r\nx1\r\n"));
    ASSERT_REFUSED(reds__conv_doublelist, TEST_PARSE("*1\r\n*0\r\n"));
    ASSERT_REFUSED(reds__conv_doublelist, TEST_PARSE("$-1\r\n"));
}
END_TEST

START_TEST(opt_intlist_values)
{
    /* BITFIELD ... OVERFLOW FAIL INCRBY ... GET ... */
    reds_opt_intlist *l = NULL;
    ck_assert_int_eq(test_convert(reds__conv_opt_intlist,
                                  TEST_PARSE("*3\r\n$-1\r\n:-9223372036854775808\r\n*-1\r\n"), &l),
                     REDS_OK);
    ck_assert_uint_eq(l->count, 3);
    ck_assert(!l->items[0].set);
    ck_assert(l->items[1].set && l->items[1].value == INT64_MIN);
    ck_assert(!l->items[2].set);
    reds_free(l);
    /* Integers only: a number as a bulk string is not one. */
    ASSERT_REFUSED(reds__conv_opt_intlist, TEST_PARSE("*1\r\n$1\r\n1\r\n"));
    ASSERT_REFUSED(reds__conv_opt_intlist, TEST_PARSE(":1\r\n"));
}
END_TEST

/* ----------------------------------------------------- scored members */

START_TEST(scored_list_flat_and_nested)
{
    /* ZRANGE z 0 -1 WITHSCORES: flat member, score pairs. */
    reds_scored_list *l = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_scored_list,
                     TEST_PARSE("*6\r\n$1\r\na\r\n$4\r\n-inf\r\n$3\r\nb\0c\r\n$3\r\n2.5\r\n"
                                "$1\r\nd\r\n$22\r\n1.0000000000000002e+30\r\n"),
                     &l),
        REDS_OK);
    ck_assert_uint_eq(l->count, 3);
    ASSERT_STR(&l->items[0].member, "a");
    ck_assert(isinf(l->items[0].score) && l->items[0].score < 0);
    ck_assert_uint_eq(l->items[1].member.len, 3);
    ck_assert_mem_eq(l->items[1].member.ptr, "b\0c", 3);
    ck_assert(l->items[1].score == 2.5);
    ck_assert(l->items[2].score == 1.0000000000000002e+30);
    reds_free(l);
    /* The same pairs as [member, score] arrays (ZMPOP's members). */
    ck_assert_int_eq(
        test_convert(reds__conv_scored_list,
                     TEST_PARSE("*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"),
                     &l),
        REDS_OK);
    ck_assert_uint_eq(l->count, 2);
    ASSERT_STR(&l->items[1].member, "b");
    ck_assert(l->items[1].score == 2);
    reds_free(l);
    ASSERT_REFUSED(reds__conv_scored_list,
                   TEST_PARSE("*3\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n")); /* odd */
    ASSERT_REFUSED(reds__conv_scored_list,
                   TEST_PARSE("*2\r\n$1\r\na\r\n$3\r\nabc\r\n"));                  /* score */
    ASSERT_REFUSED(reds__conv_scored_list, TEST_PARSE("*2\r\n:1\r\n$1\r\n1\r\n")); /* member */
    ASSERT_REFUSED(reds__conv_scored_list,
                   TEST_PARSE("*1\r\n*3\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nx\r\n"));
    ASSERT_REFUSED(reds__conv_scored_list,
                   TEST_PARSE("*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n"));
    ASSERT_REFUSED(reds__conv_scored_list, TEST_PARSE("*-1\r\n"));
}
END_TEST

START_TEST(zscan_page_values)
{
    reds_zscan_page *p = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_zscan_page,
                     TEST_PARSE("*2\r\n$3\r\n176\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n"
                                "$4\r\n-0.5\r\n"),
                     &p),
        REDS_OK);
    ck_assert(p->cursor == 176);
    ck_assert_uint_eq(p->nitems, 2);
    ASSERT_STR(&p->items[0].member, "a");
    ck_assert(p->items[0].score == 1);
    ASSERT_STR(&p->items[1].member, "b");
    ck_assert(p->items[1].score == -0.5);
    reds_free(p);
    ck_assert_int_eq(test_convert(reds__conv_zscan_page, TEST_PARSE("*2\r\n$1\r\n0\r\n*0\r\n"), &p),
                     REDS_OK);
    ck_assert(p->cursor == 0 && p->nitems == 0 && p->items == NULL);
    reds_free(p);
    ASSERT_REFUSED(reds__conv_zscan_page, TEST_PARSE("*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n"));
    ASSERT_REFUSED(reds__conv_zscan_page, TEST_PARSE("*2\r\n$2\r\n-1\r\n*0\r\n"));
    ASSERT_REFUSED(reds__conv_zscan_page, TEST_PARSE("*1\r\n$1\r\n0\r\n"));
}
END_TEST

/* ------------------------------------------------------- keyed pops */

START_TEST(keyed_pops)
{
    /* BLPOP / BRPOP */
    reds_keyed_element *e = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_keyed_element, TEST_PARSE("*2\r\n$2\r\nl2\r\n$1\r\nc\r\n"), &e),
        REDS_OK);
    ASSERT_STR(&e->key, "l2");
    ASSERT_STR(&e->element, "c");
    reds_free(e);
    e = (reds_keyed_element *)&e;
    ck_assert_int_eq(test_convert(reds__conv_keyed_element, TEST_PARSE("*-1\r\n"), &e), REDS_OK);
    ck_assert_ptr_null(e);
    ASSERT_REFUSED(reds__conv_keyed_element, TEST_PARSE("*1\r\n$2\r\nl2\r\n"));
    ASSERT_REFUSED(reds__conv_keyed_element, TEST_PARSE("*2\r\n$2\r\nl2\r\n*0\r\n"));

    /* LMPOP / BLMPOP */
    reds_keyed_elements *es = NULL;
    ck_assert_int_eq(test_convert(reds__conv_keyed_elements,
                                  TEST_PARSE("*2\r\n$1\r\nl\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n"), &es),
                     REDS_OK);
    ASSERT_STR(&es->key, "l");
    ck_assert_uint_eq(es->elements.count, 2);
    ASSERT_STR(&es->elements.items[1], "b");
    reds_free(es);
    ASSERT_REFUSED(reds__conv_keyed_elements, TEST_PARSE("*2\r\n$1\r\nl\r\n$1\r\na\r\n"));
    ASSERT_REFUSED(reds__conv_keyed_elements, TEST_PARSE("*2\r\n:1\r\n*0\r\n"));

    /* BZPOPMIN / BZPOPMAX */
    reds_keyed_scored *s = NULL;
    ck_assert_int_eq(test_convert(reds__conv_keyed_scored,
                                  TEST_PARSE("*3\r\n$1\r\nz\r\n$1\r\nc\r\n$3\r\n3.5\r\n"), &s),
                     REDS_OK);
    ASSERT_STR(&s->key, "z");
    ASSERT_STR(&s->member, "c");
    ck_assert(s->score == 3.5);
    reds_free(s);
    s = (reds_keyed_scored *)&s;
    ck_assert_int_eq(test_convert(reds__conv_keyed_scored, TEST_PARSE("$-1\r\n"), &s), REDS_OK);
    ck_assert_ptr_null(s);
    ASSERT_REFUSED(reds__conv_keyed_scored, TEST_PARSE("*2\r\n$1\r\nz\r\n$1\r\nc\r\n"));
    ASSERT_REFUSED(reds__conv_keyed_scored, TEST_PARSE("*3\r\n$1\r\nz\r\n$1\r\nc\r\n$1\r\n?\r\n"));

    /* ZMPOP / BZMPOP: members and scores as [member, score] arrays. */
    reds_keyed_members *m = NULL;
    ck_assert_int_eq(test_convert(reds__conv_keyed_members,
                                  TEST_PARSE("*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
                                             "*2\r\n$1\r\nb\r\n$1\r\n2\r\n"),
                                  &m),
                     REDS_OK);
    ASSERT_STR(&m->key, "z");
    ck_assert_uint_eq(m->nmembers, 2);
    ASSERT_STR(&m->members[0].member, "a");
    ck_assert(m->members[0].score == 1);
    ASSERT_STR(&m->members[1].member, "b");
    ck_assert(m->members[1].score == 2);
    reds_free(m);
    ASSERT_REFUSED(reds__conv_keyed_members, TEST_PARSE("*2\r\n$1\r\nz\r\n$1\r\na\r\n"));
    ASSERT_REFUSED(reds__conv_keyed_members,
                   TEST_PARSE("*2\r\n$1\r\nz\r\n*1\r\n*1\r\n$1\r\na\r\n"));
    ASSERT_REFUSED(reds__conv_keyed_members, TEST_PARSE("*1\r\n$1\r\nz\r\n"));
}
END_TEST

/* ---------------------------------------------------------------- geo */

START_TEST(geo_positions)
{
    /* GEOPOS Sicily Palermo nomember */
    reds_geo_pos_list *l = NULL;
    ck_assert_int_eq(test_convert(reds__conv_geo_pos_list,
                                  TEST_PARSE("*2\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n"
                                             "38.11555639549629859\r\n*-1\r\n"),
                                  &l),
                     REDS_OK);
    ck_assert_uint_eq(l->count, 2);
    ck_assert(l->items[0].set);
    ck_assert(fabs(l->items[0].longitude - 13.361389) < 1e-5);
    ck_assert(fabs(l->items[0].latitude - 38.115556) < 1e-5);
    ck_assert(!l->items[1].set && l->items[1].longitude == 0 && l->items[1].latitude == 0);
    reds_free(l);
    ASSERT_REFUSED(reds__conv_geo_pos_list, TEST_PARSE("*1\r\n*1\r\n$1\r\n1\r\n"));
    ASSERT_REFUSED(reds__conv_geo_pos_list, TEST_PARSE("*1\r\n*2\r\n$1\r\n1\r\n$1\r\nx\r\n"));
    ASSERT_REFUSED(reds__conv_geo_pos_list, TEST_PARSE("*1\r\n$1\r\n1\r\n"));
    ASSERT_REFUSED(reds__conv_geo_pos_list, TEST_PARSE("*-1\r\n"));
}
END_TEST

START_TEST(geo_results_by_type)
{
    /* GEORADIUS ... WITHDIST WITHHASH WITHCOORD, as Redis 7.0 answers. */
    reds_geo_result_list *l = NULL;
    ck_assert_int_eq(
        test_convert(
            reds__conv_geo_result_list,
            TEST_PARSE("*2\r\n"
                       "*4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n"
                       "*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n"
                       "*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n"
                       "*2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n"),
            &l),
        REDS_OK);
    ck_assert_uint_eq(l->count, 2);
    const reds_geo_result *p = &l->items[0];
    ASSERT_STR(&p->member, "Palermo");
    ck_assert(p->dist.set && p->dist.value == 190.4424);
    ck_assert(p->hash.set && p->hash.value == INT64_C(3479099956230698));
    ck_assert(p->coord.set && fabs(p->coord.longitude - 13.361389) < 1e-5 &&
              fabs(p->coord.latitude - 38.115556) < 1e-5);
    ck_assert(l->items[1].dist.value == 56.4413);
    reds_free(l);

    /* Each field alone is recognised by its reply type. */
    ck_assert_int_eq(
        test_convert(reds__conv_geo_result_list,
                     TEST_PARSE("*3\r\n*2\r\n$1\r\na\r\n:7\r\n*2\r\n$1\r\nb\r\n$3\r\n0.5\r\n"
                                "*2\r\n$1\r\nc\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n"),
                     &l),
        REDS_OK);
    ck_assert_uint_eq(l->count, 3);
    ck_assert(l->items[0].hash.set && l->items[0].hash.value == 7);
    ck_assert(!l->items[0].dist.set && !l->items[0].coord.set);
    ck_assert(l->items[1].dist.set && l->items[1].dist.value == 0.5);
    ck_assert(!l->items[1].hash.set && !l->items[1].coord.set);
    ck_assert(l->items[2].coord.set && l->items[2].coord.longitude == 1 &&
              l->items[2].coord.latitude == 2);
    ck_assert(!l->items[2].dist.set && !l->items[2].hash.set);
    reds_free(l);

    /* Without WITH* fields: bare members, nothing else set. */
    ck_assert_int_eq(test_convert(reds__conv_geo_result_list, TEST_PARSE("*1\r\n$1\r\nm\r\n"), &l),
                     REDS_OK);
    ASSERT_STR(&l->items[0].member, "m");
    ck_assert(!l->items[0].dist.set && !l->items[0].hash.set && !l->items[0].coord.set);
    reds_free(l);

    /* A field twice, a type no field has, a bad value, an empty result. */
    ASSERT_REFUSED(reds__conv_geo_result_list,
                   TEST_PARSE("*1\r\n*3\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\n2\r\n"));
    ASSERT_REFUSED(reds__conv_geo_result_list, TEST_PARSE("*1\r\n*2\r\n$1\r\na\r\n$-1\r\n"));
    ASSERT_REFUSED(reds__conv_geo_result_list, TEST_PARSE("*1\r\n*2\r\n$1\r\na\r\n$2\r\nxx\r\n"));
    ASSERT_REFUSED(reds__conv_geo_result_list,
                   TEST_PARSE("*1\r\n*2\r\n$1\r\na\r\n*1\r\n$1\r\n1\r\n"));
    ASSERT_REFUSED(reds__conv_geo_result_list, TEST_PARSE("*1\r\n*0\r\n"));
    ASSERT_REFUSED(reds__conv_geo_result_list, TEST_PARSE("*1\r\n:5\r\n"));
    ASSERT_REFUSED(reds__conv_geo_result_list, TEST_PARSE("*1\r\n*2\r\n:1\r\n$1\r\n1\r\n"));
}
END_TEST

START_TEST(protocol_error_inside_a_reply)
{
    /* An error element where a score belongs is a wrong shape too. */
    ASSERT_REFUSED(reds__conv_scored_list, TEST_PARSE("*2\r\n$1\r\na\r\n-ERR no\r\n"));
    ASSERT_REFUSED(reds__conv_keyed_scored, TEST_PARSE("*3\r\n$1\r\nz\r\n$1\r\nc\r\n-ERR no\r\n"));
    ASSERT_REFUSED(reds__conv_doublelist, TEST_PARSE("*1\r\n-ERR no\r\n"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("replies_collections");
    TCase *tc = tcase_create("converters");
    tcase_add_checked_fixture(tc, NULL, test_arena_clear);
    tcase_add_test(tc, every_converter_against_every_shape);
    tcase_add_test(tc, doublelist_values);
    tcase_add_test(tc, opt_intlist_values);
    tcase_add_test(tc, scored_list_flat_and_nested);
    tcase_add_test(tc, zscan_page_values);
    tcase_add_test(tc, keyed_pops);
    tcase_add_test(tc, geo_positions);
    tcase_add_test(tc, geo_results_by_type);
    tcase_add_test(tc, protocol_error_inside_a_reply);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), false);
}
