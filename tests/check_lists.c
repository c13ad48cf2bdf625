/* The list group against a real server: every bound command and variant
 * (LPOP/RPOP with and without a count, LPOS with and without COUNT), the
 * blocking pops with a value and with their nil on timeout, binary
 * elements, server errors and argument checks. */
#include <math.h>
#include <stdarg.h>

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

/* RPUSH `key` the given elements; returns the new length. */
#define PUSH(key, ...) push(key, STRS(__VA_ARGS__), NSTRS(__VA_ARGS__))
static int64_t push(const char *key, const reds_str *v, size_t n)
{
    int64_t len = -1;
    ASSERT_OK(reds_rpush(c, reds_cstr(key), v, n, &len));
    return len;
}

/* The whole list at `key` is exactly the NULL-terminated strings given. */
static void assert_list(const char *key, const char *first, ...)
{
    reds_strlist *l = NULL;
    ASSERT_OK(reds_lrange(c, reds_cstr(key), 0, -1, &l));
    ck_assert_ptr_nonnull(l);
    va_list ap;
    va_start(ap, first);
    size_t i = 0;
    for (const char *e = first; e; e = va_arg(ap, const char *), i++) {
        ck_assert_msg(i < l->count, "%s has %zu elements, expected more", key, l->count);
        ASSERT_STR(&l->items[i], e);
    }
    va_end(ap);
    ck_assert_msg(l->count == i, "%s has %zu elements, expected %zu", key, l->count, i);
    reds_free(l);
}

static int64_t llen(const char *key)
{
    int64_t n = -1;
    ASSERT_OK(reds_llen(c, reds_cstr(key), &n));
    return n;
}

/* ------------------------------------------------------ pushing, reading */

START_TEST(push_range_len)
{
    ck_assert_int_eq(PUSH("l", S("b"), S("c")), 2);
    int64_t n = -1;
    ASSERT_OK(reds_lpush(c, S("l"), STRS(S("a"), S("z")), 2, &n));
    ck_assert_int_eq(n, 4); /* LPUSH a z pushes a, then z in front of it */
    assert_list("l", "z", "a", "b", "c", NULL);
    ck_assert_int_eq(llen("l"), 4);
    ck_assert_int_eq(llen("nokey"), 0);

    reds_strlist *l = NULL;
    ASSERT_OK(reds_lrange(c, S("l"), 1, 2, &l));
    test_assert_strlist(l, "a", "b", NULL);
    reds_free(l);
    ASSERT_OK(reds_lrange(c, S("l"), 10, 20, &l));
    test_assert_strlist(l, NULL);
    reds_free(l);
    ASSERT_OK(reds_lrange(c, S("nokey"), 0, -1, &l));
    test_assert_strlist(l, NULL);
    reds_free(l);

    /* Binary elements round-trip. */
    static const char bin[] = "a\0b\r\n";
    ck_assert_int_eq(push("bin", (reds_str[]){reds_strn(bin, sizeof bin - 1)}, 1), 1);
    ASSERT_OK(reds_lrange(c, S("bin"), 0, -1, &l));
    ck_assert_uint_eq(l->count, 1);
    ck_assert_uint_eq(l->items[0].len, sizeof bin - 1);
    ck_assert_mem_eq(l->items[0].ptr, bin, sizeof bin - 1);
    reds_free(l);
}
END_TEST

START_TEST(pushx_only_existing)
{
    int64_t n = -1;
    ASSERT_OK(reds_lpushx(c, S("l"), STRS(S("x")), 1, &n));
    ck_assert_int_eq(n, 0);
    ASSERT_OK(reds_rpushx(c, S("l"), STRS(S("x")), 1, &n));
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(llen("l"), 0);
    PUSH("l", S("m"));
    ASSERT_OK(reds_lpushx(c, S("l"), STRS(S("a"), S("b")), 2, &n));
    ck_assert_int_eq(n, 3);
    ASSERT_OK(reds_rpushx(c, S("l"), STRS(S("y"), S("z")), 2, &n));
    ck_assert_int_eq(n, 5);
    assert_list("l", "b", "a", "m", "y", "z", NULL);
}
END_TEST

START_TEST(lindex_lset_linsert)
{
    PUSH("l", S("a"), S("b"), S("c"));
    reds_str *v = NULL;
    ASSERT_OK(reds_lindex(c, S("l"), 1, &v));
    ASSERT_STR(v, "b");
    reds_free(v);
    ASSERT_OK(reds_lindex(c, S("l"), -1, &v));
    ASSERT_STR(v, "c");
    reds_free(v);
    ASSERT_OK(reds_lindex(c, S("l"), 3, &v));
    ck_assert_ptr_null(v);
    ASSERT_OK(reds_lindex(c, S("nokey"), 0, &v));
    ck_assert_ptr_null(v);

    ASSERT_OK(reds_lset(c, S("l"), 1, S("B")));
    ASSERT_OK(reds_lset(c, S("l"), -1, S("C")));
    assert_list("l", "a", "B", "C", NULL);
    ASSERT_ERR(reds_lset(c, S("l"), 5, S("x")), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "index out of range"));
    ASSERT_ERR(reds_lset(c, S("nokey"), 0, S("x")), REDS_ERR_RESPONSE);

    int64_t n = 0;
    ASSERT_OK(reds_linsert(c, S("l"), REDS_LINSERT_WHERE_BEFORE, S("B"), S("x"), &n));
    ck_assert_int_eq(n, 4);
    ASSERT_OK(reds_linsert(c, S("l"), REDS_LINSERT_WHERE_AFTER, S("C"), S("y"), &n));
    ck_assert_int_eq(n, 5);
    assert_list("l", "a", "x", "B", "C", "y", NULL);
    ASSERT_OK(reds_linsert(c, S("l"), REDS_LINSERT_WHERE_AFTER, S("nopivot"), S("z"), &n));
    ck_assert_int_eq(n, -1);
    ASSERT_OK(reds_linsert(c, S("nokey"), REDS_LINSERT_WHERE_AFTER, S("a"), S("z"), &n));
    ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(lrem_ltrim)
{
    PUSH("l", S("a"), S("x"), S("b"), S("x"), S("c"), S("x"));
    int64_t n = -1;
    ASSERT_OK(reds_lrem(c, S("l"), -1, S("x"), &n)); /* from the tail */
    ck_assert_int_eq(n, 1);
    assert_list("l", "a", "x", "b", "x", "c", NULL);
    ASSERT_OK(reds_lrem(c, S("l"), 1, S("x"), &n)); /* from the head */
    ck_assert_int_eq(n, 1);
    assert_list("l", "a", "b", "x", "c", NULL);
    ASSERT_OK(reds_lrem(c, S("l"), 0, S("x"), &n)); /* all */
    ck_assert_int_eq(n, 1);
    ASSERT_OK(reds_lrem(c, S("l"), 0, S("nothing"), &n));
    ck_assert_int_eq(n, 0);

    ASSERT_OK(reds_ltrim(c, S("l"), 1, -1));
    assert_list("l", "b", "c", NULL);
    ASSERT_OK(reds_ltrim(c, S("l"), 5, 10)); /* an empty range deletes the key */
    ck_assert_int_eq(llen("l"), 0);
    ASSERT_OK(reds_ltrim(c, S("nokey"), 0, 1));
}
END_TEST

/* ------------------------------------------------------------ popping */

START_TEST(lpop_rpop_single)
{
    PUSH("l", S("a"), S("b"), S("c"));
    reds_str *v = NULL;
    ASSERT_OK(reds_lpop(c, S("l"), &v));
    ASSERT_STR(v, "a");
    reds_free(v);
    ASSERT_OK(reds_rpop(c, S("l"), &v));
    ASSERT_STR(v, "c");
    reds_free(v);
    ASSERT_OK(reds_rpop(c, S("l"), &v));
    ASSERT_STR(v, "b");
    reds_free(v);
    /* The list is gone: nil. */
    ASSERT_OK(reds_lpop(c, S("l"), &v));
    ck_assert_ptr_null(v);
    ASSERT_OK(reds_rpop(c, S("l"), &v));
    ck_assert_ptr_null(v);
}
END_TEST

START_TEST(lpop_rpop_count)
{
    PUSH("l", S("a"), S("b"), S("c"), S("d"), S("e"));
    reds_strlist *l = NULL;
    ASSERT_OK(reds_lpop_count(c, S("l"), 2, &l));
    test_assert_strlist(l, "a", "b", NULL);
    reds_free(l);
    ASSERT_OK(reds_rpop_count(c, S("l"), 2, &l));
    test_assert_strlist(l, "e", "d", NULL);
    reds_free(l);
    /* COUNT 0 on an existing list: an empty list, not nil. */
    ASSERT_OK(reds_lpop_count(c, S("l"), 0, &l));
    test_assert_strlist(l, NULL);
    reds_free(l);
    /* More than there is: what there is; then the list is missing: nil. */
    ASSERT_OK(reds_rpop_count(c, S("l"), 10, &l));
    test_assert_strlist(l, "c", NULL);
    reds_free(l);
    l = (reds_strlist *)&l;
    ASSERT_OK(reds_lpop_count(c, S("l"), 3, &l));
    ck_assert_ptr_null(l);
    l = (reds_strlist *)&l;
    ASSERT_OK(reds_rpop_count(c, S("l"), 3, &l));
    ck_assert_ptr_null(l);
    /* A negative count is the server's error. */
    PUSH("l", S("a"));
    ASSERT_ERR(reds_lpop_count(c, S("l"), -1, &l), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(l);
}
END_TEST

START_TEST(lpos_single_and_count)
{
    PUSH("l", S("a"), S("b"), S("c"), S("b"), S("d"), S("b"));
    reds_opt_i64 pos = {true, -5};
    ASSERT_OK(reds_lpos(c, S("l"), S("b"), NULL, &pos));
    ck_assert(pos.set && pos.value == 1);
    reds_lpos_opts o = {.rank = REDS_I64(2)};
    ASSERT_OK(reds_lpos(c, S("l"), S("b"), &o, &pos));
    ck_assert(pos.set && pos.value == 3);
    o.rank = REDS_I64(-1);
    ASSERT_OK(reds_lpos(c, S("l"), S("b"), &o, &pos));
    ck_assert(pos.set && pos.value == 5);
    /* MAXLEN 1 looks at "a" only; MAXLEN 0 means the whole list. */
    reds_lpos_opts m = {.maxlen = REDS_I64(1)};
    ASSERT_OK(reds_lpos(c, S("l"), S("b"), &m, &pos));
    ck_assert(!pos.set);
    m.maxlen = REDS_I64(0);
    ASSERT_OK(reds_lpos(c, S("l"), S("d"), &m, &pos));
    ck_assert(pos.set && pos.value == 4);
    ASSERT_OK(reds_lpos(c, S("l"), S("zzz"), NULL, &pos));
    ck_assert(!pos.set);
    ASSERT_OK(reds_lpos(c, S("nokey"), S("a"), NULL, &pos));
    ck_assert(!pos.set);

    reds_intlist *all = NULL;
    ASSERT_OK(reds_lpos_count(c, S("l"), S("b"), 0, NULL, &all)); /* COUNT 0: all */
    ck_assert_uint_eq(all->count, 3);
    ck_assert(all->items[0] == 1 && all->items[1] == 3 && all->items[2] == 5);
    reds_free(all);
    reds_lpos_opts r = {.rank = REDS_I64(-1)};
    ASSERT_OK(reds_lpos_count(c, S("l"), S("b"), 2, &r, &all));
    ck_assert_uint_eq(all->count, 2);
    ck_assert(all->items[0] == 5 && all->items[1] == 3);
    reds_free(all);
    ASSERT_OK(reds_lpos_count(c, S("l"), S("zzz"), 2, NULL, &all));
    ck_assert_uint_eq(all->count, 0);
    reds_free(all);
    reds_lpos_opts bad = {.rank = REDS_I64(0)};
    ASSERT_ERR(reds_lpos(c, S("l"), S("b"), &bad, &pos), REDS_ERR_RESPONSE);
}
END_TEST

START_TEST(lmove_rpoplpush)
{
    PUSH("src", S("a"), S("b"), S("c"));
    reds_str *v = NULL;
    ASSERT_OK(reds_lmove(c, S("src"), S("dst"), REDS_LIST_SIDE_LEFT, REDS_LIST_SIDE_RIGHT, &v));
    ASSERT_STR(v, "a");
    reds_free(v);
    ASSERT_OK(reds_lmove(c, S("src"), S("dst"), REDS_LIST_SIDE_RIGHT, REDS_LIST_SIDE_LEFT, &v));
    ASSERT_STR(v, "c");
    reds_free(v);
    assert_list("src", "b", NULL);
    assert_list("dst", "c", "a", NULL);
    ASSERT_OK(reds_rpoplpush(c, S("src"), S("dst"), &v));
    ASSERT_STR(v, "b");
    reds_free(v);
    assert_list("dst", "b", "c", "a", NULL);
    /* The source is gone now: nil from both. */
    ASSERT_OK(reds_lmove(c, S("src"), S("dst"), REDS_LIST_SIDE_LEFT, REDS_LIST_SIDE_LEFT, &v));
    ck_assert_ptr_null(v);
    ASSERT_OK(reds_rpoplpush(c, S("src"), S("dst"), &v));
    ck_assert_ptr_null(v);
    /* Rotating a list onto itself. */
    ASSERT_OK(reds_lmove(c, S("dst"), S("dst"), REDS_LIST_SIDE_LEFT, REDS_LIST_SIDE_RIGHT, &v));
    ASSERT_STR(v, "b");
    reds_free(v);
    assert_list("dst", "c", "a", "b", NULL);
}
END_TEST

START_TEST(lmpop_value_and_nil)
{
    PUSH("l2", S("a"), S("b"), S("c"));
    reds_keyed_elements *r = NULL;
    /* The first non-empty list of the keys, left end, one element. */
    ASSERT_OK(reds_lmpop(c, STRS(S("l1"), S("l2")), 2, REDS_LIST_SIDE_LEFT, NULL, &r));
    ck_assert_ptr_nonnull(r);
    ASSERT_STR(&r->key, "l2");
    test_assert_strlist(&r->elements, "a", NULL);
    reds_free(r);
    reds_lmpop_opts o = {.count = REDS_I64(5)};
    ASSERT_OK(reds_lmpop(c, STRS(S("l1"), S("l2")), 2, REDS_LIST_SIDE_RIGHT, &o, &r));
    ASSERT_STR(&r->key, "l2");
    test_assert_strlist(&r->elements, "c", "b", NULL);
    reds_free(r);
    r = (reds_keyed_elements *)&r;
    ASSERT_OK(reds_lmpop(c, STRS(S("l1"), S("l2")), 2, REDS_LIST_SIDE_LEFT, &o, &r));
    ck_assert_ptr_null(r);
    o.count = REDS_I64(0);
    ASSERT_ERR(reds_lmpop(c, STRS(S("l1")), 1, REDS_LIST_SIDE_LEFT, &o, &r), REDS_ERR_RESPONSE);
}
END_TEST

/* ---------------------------------------------------- blocking pops */

START_TEST(blpop_brpop)
{
    PUSH("l2", S("a"), S("b"), S("c"));
    reds_keyed_element *e = NULL;
    ASSERT_OK(reds_blpop(c, STRS(S("l1"), S("l2")), 2, 0.1, &e));
    ck_assert_ptr_nonnull(e);
    ASSERT_STR(&e->key, "l2");
    ASSERT_STR(&e->element, "a");
    reds_free(e);
    ASSERT_OK(reds_brpop(c, STRS(S("l2")), 1, 0.1, &e));
    ASSERT_STR(&e->key, "l2");
    ASSERT_STR(&e->element, "c");
    reds_free(e);
    ASSERT_OK(reds_brpop(c, STRS(S("l2")), 1, 0.1, &e));
    ASSERT_STR(&e->element, "b");
    reds_free(e);
    /* Nothing left: nil once the timeout expires. */
    e = (reds_keyed_element *)&e;
    ASSERT_OK(reds_blpop(c, STRS(S("l1"), S("l2")), 2, 0.1, &e));
    ck_assert_ptr_null(e);
    e = (reds_keyed_element *)&e;
    ASSERT_OK(reds_brpop(c, STRS(S("l1")), 1, 0.1, &e));
    ck_assert_ptr_null(e);
    ASSERT_ERR(reds_blpop(c, STRS(S("l1")), 1, -1, &e), REDS_ERR_RESPONSE);
}
END_TEST

START_TEST(blmove_brpoplpush)
{
    PUSH("src", S("a"), S("b"));
    reds_str *v = NULL;
    ASSERT_OK(
        reds_blmove(c, S("src"), S("dst"), REDS_LIST_SIDE_RIGHT, REDS_LIST_SIDE_LEFT, 0.1, &v));
    ASSERT_STR(v, "b");
    reds_free(v);
    ASSERT_OK(reds_brpoplpush(c, S("src"), S("dst"), 0.1, &v));
    ASSERT_STR(v, "a");
    reds_free(v);
    assert_list("dst", "a", "b", NULL);
    v = (reds_str *)&v;
    ASSERT_OK(
        reds_blmove(c, S("src"), S("dst"), REDS_LIST_SIDE_LEFT, REDS_LIST_SIDE_LEFT, 0.1, &v));
    ck_assert_ptr_null(v);
    v = (reds_str *)&v;
    ASSERT_OK(reds_brpoplpush(c, S("src"), S("dst"), 0.1, &v));
    ck_assert_ptr_null(v);
    assert_list("dst", "a", "b", NULL);
}
END_TEST

START_TEST(blmpop_value_and_nil)
{
    PUSH("l1", S("a"), S("b"), S("c"));
    reds_keyed_elements *r = NULL;
    reds_blmpop_opts o = {.count = REDS_I64(2)};
    ASSERT_OK(reds_blmpop(c, 0.1, STRS(S("l0"), S("l1")), 2, REDS_LIST_SIDE_RIGHT, &o, &r));
    ck_assert_ptr_nonnull(r);
    ASSERT_STR(&r->key, "l1");
    test_assert_strlist(&r->elements, "c", "b", NULL);
    reds_free(r);
    ASSERT_OK(reds_blmpop(c, 0.1, STRS(S("l1")), 1, REDS_LIST_SIDE_LEFT, NULL, &r));
    ASSERT_STR(&r->key, "l1");
    test_assert_strlist(&r->elements, "a", NULL);
    reds_free(r);
    r = (reds_keyed_elements *)&r;
    ASSERT_OK(reds_blmpop(c, 0.1, STRS(S("l0"), S("l1")), 2, REDS_LIST_SIDE_LEFT, &o, &r));
    ck_assert_ptr_null(r);
}
END_TEST

/* ------------------------------------------------------------ errors */

START_TEST(wrong_type)
{
    char reply[64];
    test_raw("SET s v", reply, sizeof reply);
    int64_t n = 0;
    ASSERT_ERR(reds_rpush(c, S("s"), STRS(S("a")), 1, &n), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "WRONGTYPE"));
    reds_str *v = (reds_str *)&v;
    ASSERT_ERR(reds_lpop(c, S("s"), &v), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(v);
    reds_keyed_element *e = (reds_keyed_element *)&e;
    ASSERT_ERR(reds_blpop(c, STRS(S("s")), 1, 0.1, &e), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(e);
    reds_keyed_elements *m = (reds_keyed_elements *)&m;
    ASSERT_ERR(reds_lmpop(c, STRS(S("s")), 1, REDS_LIST_SIDE_LEFT, NULL, &m), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(m);
}
END_TEST

START_TEST(argument_checks)
{
    int64_t n = 5;
    ASSERT_ERR(reds_rpush(c, S("l"), NULL, 0, &n), REDS_ERR_DATA);
    ck_assert_int_eq(n, 0);
    ASSERT_ERR(reds_lpushx(c, S("l"), NULL, 0, &n), REDS_ERR_DATA);
    reds_keyed_element *e = (reds_keyed_element *)&e;
    ASSERT_ERR(reds_blpop(c, NULL, 0, 0.1, &e), REDS_ERR_DATA);
    ck_assert_ptr_null(e);
    reds_keyed_elements *m = (reds_keyed_elements *)&m;
    /* numkeys comes from the array: an empty one is refused here. */
    ASSERT_ERR(reds_lmpop(c, NULL, 0, REDS_LIST_SIDE_LEFT, NULL, &m), REDS_ERR_DATA);
    ASSERT_ERR(reds_blmpop(c, 0.1, NULL, 0, REDS_LIST_SIDE_LEFT, NULL, &m), REDS_ERR_DATA);
    ck_assert_ptr_null(m);
    /* Enums outside their range, including 0 for a required one. */
    reds_str *v = NULL;
    ASSERT_ERR(reds_lmove(c, S("a"), S("b"), 0, REDS_LIST_SIDE_LEFT, &v), REDS_ERR_DATA);
    ASSERT_ERR(reds_lmove(c, S("a"), S("b"), REDS_LIST_SIDE_LEFT, (reds_list_side)3, &v),
               REDS_ERR_DATA);
    ASSERT_ERR(reds_lmpop(c, STRS(S("l")), 1, (reds_list_side)7, NULL, &m), REDS_ERR_DATA);
    ASSERT_ERR(reds_linsert(c, S("l"), 0, S("p"), S("e"), &n), REDS_ERR_DATA);
    /* A NaN timeout cannot be sent. */
    ASSERT_ERR(reds_blmove(c, S("a"), S("b"), REDS_LIST_SIDE_LEFT, REDS_LIST_SIDE_LEFT, NAN, &v),
               REDS_ERR_DATA);
    ASSERT_ERR(reds_lpos(c, S("l"), reds_strn(NULL, 3), NULL, &(reds_opt_i64){0}), REDS_ERR_DATA);
    /* Nothing above reached the server. */
    ASSERT_OK(reds_exists(c, STRS(S("l"), S("a"), S("b")), 3, &n));
    ck_assert_int_eq(n, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("lists");
    struct {
        const char *name;
        const TTest *tests[8];
    } groups[] = {
        {"push", {push_range_len, pushx_only_existing}},
        {"edit", {lindex_lset_linsert, lrem_ltrim}},
        {"pop",
         {lpop_rpop_single, lpop_rpop_count, lpos_single_and_count, lmove_rpoplpush,
          lmpop_value_and_nil}},
        {"blocking", {blpop_brpop, blmove_brpoplpush, blmpop_value_and_nil}},
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
