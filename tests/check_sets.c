/* The set group against a real server: every bound command and variant
 * (SPOP and SRANDMEMBER with and without a count), the set algebra and its
 * STORE forms, SMISMEMBER's booleans, SSCAN over a whole set, server
 * errors and argument checks. Sets have no order: results are compared
 * as sets. */
#include <stdarg.h>
#include <stdio.h>

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

/* SADD `key` the given members; returns how many were new. */
#define ADD(key, ...) add(key, STRS(__VA_ARGS__), NSTRS(__VA_ARGS__))
static int64_t add(const char *key, const reds_str *m, size_t n)
{
    int64_t added = -1;
    ASSERT_OK(reds_sadd(c, reds_cstr(key), m, n, &added));
    return added;
}

static bool has(const reds_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i].len == strlen(s) && memcmp(l->items[i].ptr, s, l->items[i].len) == 0)
            return true;
    return false;
}

/* `l` holds exactly the NULL-terminated strings given, in any order, each
 * once. */
static void assert_set(const reds_strlist *l, const char *first, ...)
{
    ck_assert_ptr_nonnull(l);
    va_list ap;
    va_start(ap, first);
    size_t n = 0;
    for (const char *e = first; e; e = va_arg(ap, const char *), n++)
        ck_assert_msg(has(l, e), "\"%s\" missing", e);
    va_end(ap);
    ck_assert_msg(l->count == n, "%zu members, expected %zu", l->count, n);
}

static int64_t card(const char *key)
{
    int64_t n = -1;
    ASSERT_OK(reds_scard(c, reds_cstr(key), &n));
    return n;
}

/* ------------------------------------------------------- membership */

START_TEST(sadd_srem_scard_smembers)
{
    ck_assert_int_eq(ADD("s", S("a"), S("b"), S("c")), 3);
    ck_assert_int_eq(ADD("s", S("c"), S("d")), 1);
    ck_assert_int_eq(card("s"), 4);
    ck_assert_int_eq(card("nokey"), 0);
    reds_strlist *l = NULL;
    ASSERT_OK(reds_smembers(c, S("s"), &l));
    assert_set(l, "a", "b", "c", "d", NULL);
    reds_free(l);
    ASSERT_OK(reds_smembers(c, S("nokey"), &l));
    assert_set(l, NULL);
    reds_free(l);
    int64_t n = -1;
    ASSERT_OK(reds_srem(c, S("s"), STRS(S("a"), S("zz")), 2, &n));
    ck_assert_int_eq(n, 1);
    ASSERT_OK(reds_srem(c, S("nokey"), STRS(S("a")), 1, &n));
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(card("s"), 3);

    /* Binary members: "m\0" and "m" are different members. */
    static const char bin[] = "m\0";
    ck_assert_int_eq(add("b", (reds_str[]){reds_strn(bin, 2), S("m")}, 2), 2);
    bool in = false;
    ASSERT_OK(reds_sismember(c, S("b"), reds_strn(bin, 2), &in));
    ck_assert(in);
}
END_TEST

START_TEST(sismember_smismember)
{
    ADD("s", S("a"), S("b"));
    bool in = false;
    ASSERT_OK(reds_sismember(c, S("s"), S("a"), &in));
    ck_assert(in);
    ASSERT_OK(reds_sismember(c, S("s"), S("z"), &in));
    ck_assert(!in);
    ASSERT_OK(reds_sismember(c, S("nokey"), S("a"), &in));
    ck_assert(!in);

    reds_boollist *bl = NULL;
    ASSERT_OK(reds_smismember(c, S("s"), STRS(S("z"), S("b"), S("a"), S("b")), 4, &bl));
    ck_assert_uint_eq(bl->count, 4);
    ck_assert(!bl->items[0] && bl->items[1] && bl->items[2] && bl->items[3]);
    reds_free(bl);
    ASSERT_OK(reds_smismember(c, S("nokey"), STRS(S("a")), 1, &bl));
    ck_assert_uint_eq(bl->count, 1);
    ck_assert(!bl->items[0]);
    reds_free(bl);
}
END_TEST

START_TEST(smove)
{
    ADD("src", S("a"), S("b"));
    ADD("dst", S("b"));
    bool moved = false;
    ASSERT_OK(reds_smove(c, S("src"), S("dst"), S("a"), &moved));
    ck_assert(moved);
    ASSERT_OK(reds_smove(c, S("src"), S("dst"), S("a"), &moved));
    ck_assert(!moved);
    /* Already in the destination: still moved (removed from the source). */
    ASSERT_OK(reds_smove(c, S("src"), S("dst"), S("b"), &moved));
    ck_assert(moved);
    ck_assert_int_eq(card("src"), 0);
    ck_assert_int_eq(card("dst"), 2);
    ASSERT_OK(reds_smove(c, S("nokey"), S("dst"), S("x"), &moved));
    ck_assert(!moved);
}
END_TEST

/* --------------------------------------------------- random members */

START_TEST(spop_single_and_count)
{
    ADD("s", S("a"), S("b"), S("c"));
    reds_str *v = NULL;
    ASSERT_OK(reds_spop(c, S("s"), &v));
    ck_assert_ptr_nonnull(v);
    ck_assert(v->len == 1 && v->ptr[0] >= 'a' && v->ptr[0] <= 'c');
    char popped = v->ptr[0];
    reds_free(v);
    ck_assert_int_eq(card("s"), 2);
    bool in = true;
    ASSERT_OK(reds_sismember(c, S("s"), reds_strn(&popped, 1), &in));
    ck_assert(!in);

    reds_strlist *l = NULL;
    ASSERT_OK(reds_spop_count(c, S("s"), 5, &l));
    ck_assert_uint_eq(l->count, 2);
    ck_assert(!has(l, (char[]){popped, 0}));
    reds_free(l);
    /* The set is gone: nil, and an empty list for a count. */
    v = (reds_str *)&v;
    ASSERT_OK(reds_spop(c, S("s"), &v));
    ck_assert_ptr_null(v);
    ASSERT_OK(reds_spop_count(c, S("s"), 2, &l));
    assert_set(l, NULL);
    reds_free(l);
    ADD("s", S("a"));
    ASSERT_OK(reds_spop_count(c, S("s"), 0, &l));
    assert_set(l, NULL);
    reds_free(l);
    ck_assert_int_eq(card("s"), 1);
}
END_TEST

START_TEST(srandmember_single_and_count)
{
    ADD("s", S("a"), S("b"), S("c"));
    reds_str *v = NULL;
    ASSERT_OK(reds_srandmember(c, S("s"), &v));
    ck_assert(v && v->len == 1 && v->ptr[0] >= 'a' && v->ptr[0] <= 'c');
    reds_free(v);
    ck_assert_int_eq(card("s"), 3); /* nothing removed */

    reds_strlist *l = NULL;
    /* A positive count: distinct members, at most the set. */
    ASSERT_OK(reds_srandmember_count(c, S("s"), 10, &l));
    assert_set(l, "a", "b", "c", NULL);
    reds_free(l);
    /* A negative count: exactly |count| members, repeats allowed. */
    ASSERT_OK(reds_srandmember_count(c, S("s"), -7, &l));
    ck_assert_uint_eq(l->count, 7);
    for (size_t i = 0; i < l->count; i++)
        ck_assert(l->items[i].len == 1 && l->items[i].ptr[0] >= 'a' && l->items[i].ptr[0] <= 'c');
    reds_free(l);
    v = (reds_str *)&v;
    ASSERT_OK(reds_srandmember(c, S("nokey"), &v));
    ck_assert_ptr_null(v);
    ASSERT_OK(reds_srandmember_count(c, S("nokey"), 3, &l));
    assert_set(l, NULL);
    reds_free(l);
}
END_TEST

/* ------------------------------------------------------- set algebra */

START_TEST(sdiff_sinter_sunion)
{
    ADD("x", S("a"), S("b"), S("c"), S("d"));
    ADD("y", S("c"), S("d"), S("e"));
    reds_strlist *l = NULL;
    ASSERT_OK(reds_sdiff(c, STRS(S("x"), S("y")), 2, &l));
    assert_set(l, "a", "b", NULL);
    reds_free(l);
    ASSERT_OK(reds_sinter(c, STRS(S("x"), S("y")), 2, &l));
    assert_set(l, "c", "d", NULL);
    reds_free(l);
    ASSERT_OK(reds_sunion(c, STRS(S("x"), S("y"), S("nokey")), 3, &l));
    assert_set(l, "a", "b", "c", "d", "e", NULL);
    reds_free(l);
    ASSERT_OK(reds_sinter(c, STRS(S("x"), S("nokey")), 2, &l));
    assert_set(l, NULL);
    reds_free(l);
    ASSERT_OK(reds_sdiff(c, STRS(S("x")), 1, &l));
    assert_set(l, "a", "b", "c", "d", NULL);
    reds_free(l);
}
END_TEST

START_TEST(store_forms)
{
    ADD("x", S("a"), S("b"), S("c"));
    ADD("y", S("b"), S("c"), S("z"));
    int64_t n = -1;
    ASSERT_OK(reds_sdiffstore(c, S("d"), STRS(S("x"), S("y")), 2, &n));
    ck_assert_int_eq(n, 1);
    ASSERT_OK(reds_sinterstore(c, S("i"), STRS(S("x"), S("y")), 2, &n));
    ck_assert_int_eq(n, 2);
    ASSERT_OK(reds_sunionstore(c, S("u"), STRS(S("x"), S("y")), 2, &n));
    ck_assert_int_eq(n, 4);
    reds_strlist *l = NULL;
    ASSERT_OK(reds_smembers(c, S("d"), &l));
    assert_set(l, "a", NULL);
    reds_free(l);
    ASSERT_OK(reds_smembers(c, S("i"), &l));
    assert_set(l, "b", "c", NULL);
    reds_free(l);
    ASSERT_OK(reds_smembers(c, S("u"), &l));
    assert_set(l, "a", "b", "c", "z", NULL);
    reds_free(l);
    /* An empty result deletes the destination. */
    ASSERT_OK(reds_sinterstore(c, S("u"), STRS(S("x"), S("nokey")), 2, &n));
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(card("u"), 0);
}
END_TEST

START_TEST(sintercard)
{
    ADD("x", S("a"), S("b"), S("c"), S("d"));
    ADD("y", S("b"), S("c"), S("d"), S("e"));
    int64_t n = -1;
    ASSERT_OK(reds_sintercard(c, STRS(S("x"), S("y")), 2, NULL, &n));
    ck_assert_int_eq(n, 3);
    reds_sintercard_opts o = {.limit = REDS_I64(2)};
    ASSERT_OK(reds_sintercard(c, STRS(S("x"), S("y")), 2, &o, &n));
    ck_assert_int_eq(n, 2);
    o.limit = REDS_I64(0); /* LIMIT 0: no limit */
    ASSERT_OK(reds_sintercard(c, STRS(S("x"), S("y")), 2, &o, &n));
    ck_assert_int_eq(n, 3);
    ASSERT_OK(reds_sintercard(c, STRS(S("x")), 1, NULL, &n));
    ck_assert_int_eq(n, 4);
    ASSERT_OK(reds_sintercard(c, STRS(S("x"), S("nokey")), 2, NULL, &n));
    ck_assert_int_eq(n, 0);
    o.limit = REDS_I64(-1);
    ASSERT_ERR(reds_sintercard(c, STRS(S("x")), 1, &o, &n), REDS_ERR_RESPONSE);
}
END_TEST

/* -------------------------------------------------------------- SSCAN */

START_TEST(sscan_whole_set)
{
    /* 300 members: an encoding that SSCAN really pages through. */
    reds_str m[300];
    char buf[300][8];
    for (int i = 0; i < 300; i++) {
        int n = snprintf(buf[i], sizeof buf[i], "m%d", i);
        m[i] = reds_strn(buf[i], (size_t)n);
    }
    ck_assert_int_eq(add("s", m, 300), 300);
    ADD("s", S("other"));
    int seen[300] = {0};
    uint64_t cursor = 0;
    int pages = 0;
    reds_sscan_opts o = {.pattern = S("m*"), .count = REDS_I64(50)};
    do {
        reds_scan_page *p = NULL;
        ASSERT_OK(reds_sscan(c, S("s"), (int64_t)cursor, &o, &p));
        for (size_t i = 0; i < p->items.count; i++) {
            int k = -1;
            ck_assert_int_eq(sscanf(p->items.items[i].ptr, "m%d", &k), 1);
            ck_assert(k >= 0 && k < 300);
            seen[k]++;
        }
        cursor = p->cursor;
        reds_free(p);
        pages++;
    } while (cursor != 0);
    ck_assert_int_gt(pages, 1);
    for (int i = 0; i < 300; i++)
        ck_assert_msg(seen[i] >= 1, "m%d never seen", i);

    /* A small set comes back whole in one page; a missing key is empty. */
    ADD("small", S("a"), S("b"));
    reds_scan_page *p = NULL;
    ASSERT_OK(reds_sscan(c, S("small"), 0, NULL, &p));
    ck_assert(p->cursor == 0);
    assert_set(&p->items, "a", "b", NULL);
    reds_free(p);
    ASSERT_OK(reds_sscan(c, S("nokey"), 0, NULL, &p));
    ck_assert(p->cursor == 0);
    ck_assert_uint_eq(p->items.count, 0);
    reds_free(p);
}
END_TEST

/* ------------------------------------------------------------ errors */

START_TEST(wrong_type)
{
    char reply[64];
    test_raw("SET str v", reply, sizeof reply);
    int64_t n = 0;
    ASSERT_ERR(reds_sadd(c, S("str"), STRS(S("a")), 1, &n), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "WRONGTYPE"));
    reds_boollist *bl = (reds_boollist *)&bl;
    ASSERT_ERR(reds_smismember(c, S("str"), STRS(S("a")), 1, &bl), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(bl);
    reds_strlist *l = (reds_strlist *)&l;
    ASSERT_ERR(reds_sinter(c, STRS(S("str")), 1, &l), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(l);
    reds_scan_page *p = (reds_scan_page *)&p;
    ASSERT_ERR(reds_sscan(c, S("str"), 0, NULL, &p), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(p);
}
END_TEST

START_TEST(argument_checks)
{
    int64_t n = 5;
    ASSERT_ERR(reds_sadd(c, S("s"), NULL, 0, &n), REDS_ERR_DATA);
    ck_assert_int_eq(n, 0);
    ASSERT_ERR(reds_srem(c, S("s"), NULL, 0, &n), REDS_ERR_DATA);
    reds_strlist *l = (reds_strlist *)&l;
    ASSERT_ERR(reds_sunion(c, NULL, 0, &l), REDS_ERR_DATA);
    ck_assert_ptr_null(l);
    ASSERT_ERR(reds_sdiffstore(c, S("d"), NULL, 0, &n), REDS_ERR_DATA);
    ASSERT_ERR(reds_sintercard(c, NULL, 0, NULL, &n), REDS_ERR_DATA);
    reds_boollist *bl = (reds_boollist *)&bl;
    ASSERT_ERR(reds_smismember(c, S("s"), STRS(S("a"), reds_strn(NULL, 1)), 2, &bl), REDS_ERR_DATA);
    ck_assert_ptr_null(bl);
    reds_sscan_opts o = {.pattern = reds_strn(NULL, 2)};
    reds_scan_page *p = NULL;
    ASSERT_ERR(reds_sscan(c, S("s"), 0, &o, &p), REDS_ERR_DATA);
    ASSERT_ERR(reds_sadd(NULL, S("s"), STRS(S("a")), 1, &n), REDS_ERR_DATA);
    ASSERT_OK(reds_exists(c, STRS(S("s"), S("d")), 2, &n));
    ck_assert_int_eq(n, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sets");
    struct {
        const char *name;
        const TTest *tests[8];
    } groups[] = {
        {"members", {sadd_srem_scard_smembers, sismember_smismember, smove}},
        {"random", {spop_single_and_count, srandmember_single_and_count}},
        {"algebra", {sdiff_sinter_sunion, store_forms, sintercard}},
        {"sscan", {sscan_whole_set}},
        {"errors", {wrong_type, argument_checks}},
    };
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        TCase *tc = tcase_create(groups[i].name);
        tcase_add_checked_fixture(tc, setup, teardown);
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
