/* The sorted-set group against a real server: every bound command and every
 * variant (ZADD and ZADD INCR; each range command with and without
 * WITHSCORES; ZRANDMEMBER's three shapes; the algebra with and without
 * WITHSCORES and its STORE forms), the pops and blocking pops with their
 * nil, ZSCAN over a whole set, option checks made before sending, server
 * errors. Scores used are exact in binary, so they compare exactly. */
#include <math.h>
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

#define SM(score, member) ((reds_score_member){(score), REDS_STR(member)})
#define NSM(...)          (sizeof((const reds_score_member[]){__VA_ARGS__}) / sizeof(reds_score_member))
#define ZADD(key, ...)    zadd(key, (const reds_score_member[]){__VA_ARGS__}, NSM(__VA_ARGS__))

static int64_t zadd(const char *key, const reds_score_member *m, size_t n)
{
    int64_t added = -1;
    ASSERT_OK(reds_zadd(c, reds_cstr(key), m, n, NULL, &added));
    return added;
}

/* z = {a: 1, b: 2, c: 3, d: 4} */
static void fill(void)
{
    ck_assert_int_eq(ZADD("z", SM(1, "a"), SM(2, "b"), SM(3, "c"), SM(4, "d")), 4);
}

/* `l` is exactly the (member, score) pairs given, in order, then NULL. */
static void assert_scored(const reds_scored_list *l, ...)
{
    ck_assert_ptr_nonnull(l);
    va_list ap;
    va_start(ap, l);
    size_t i = 0;
    for (const char *m = va_arg(ap, const char *); m; m = va_arg(ap, const char *), i++) {
        double score = va_arg(ap, double);
        ck_assert_msg(i < l->count, "%zu pairs, expected more", l->count);
        ASSERT_STR(&l->items[i].member, m);
        ck_assert_msg(l->items[i].score == score, "%s: score %.17g, expected %.17g", m,
                      l->items[i].score, score);
    }
    va_end(ap);
    ck_assert_msg(l->count == i, "%zu pairs, expected %zu", l->count, i);
}

static reds_opt_f64 score_of(const char *key, const char *member)
{
    reds_opt_f64 s = {true, -12345};
    ASSERT_OK(reds_zscore(c, reds_cstr(key), reds_cstr(member), &s));
    return s;
}

#define ASSERT_SCORE(key, member, expect)                                                          \
    do {                                                                                           \
        reds_opt_f64 s_ = score_of(key, member);                                                   \
        ck_assert_msg(s_.set &&s_.value == (expect), "score of %s is %s%.17g, expected %.17g",     \
                      member, s_.set ? "" : "unset ", s_.value, (double)(expect));                 \
    } while (0)

static int64_t zcard(const char *key)
{
    int64_t n = -1;
    ASSERT_OK(reds_zcard(c, reds_cstr(key), &n));
    return n;
}

/* ------------------------------------------------------------- ZADD */

START_TEST(zadd_options)
{
    fill();
    int64_t n = -1;
    /* NX: only new members. */
    reds_zadd_opts nx = {.condition = REDS_ZADD_CONDITION_NX};
    ASSERT_OK(reds_zadd(c, S("z"), (reds_score_member[]){SM(10, "a"), SM(5, "e")}, 2, &nx, &n));
    ck_assert_int_eq(n, 1);
    ASSERT_SCORE("z", "a", 1);
    ASSERT_SCORE("z", "e", 5);
    /* XX with CH: only existing members, counting the changed ones. */
    reds_zadd_opts xx = {.condition = REDS_ZADD_CONDITION_XX, .change = true};
    ASSERT_OK(reds_zadd(c, S("z"), (reds_score_member[]){SM(1.5, "a"), SM(7, "new")}, 2, &xx, &n));
    ck_assert_int_eq(n, 1);
    ASSERT_SCORE("z", "a", 1.5);
    ck_assert(!score_of("z", "new").set);
    /* GT and LT: only moves in one direction. */
    reds_zadd_opts gt = {.comparison = REDS_ZADD_COMPARISON_GT, .change = true};
    ASSERT_OK(reds_zadd(c, S("z"), (reds_score_member[]){SM(0.5, "b"), SM(3.5, "c")}, 2, &gt, &n));
    ck_assert_int_eq(n, 1);
    ASSERT_SCORE("z", "b", 2);
    ASSERT_SCORE("z", "c", 3.5);
    reds_zadd_opts lt_xx = {
        .condition = REDS_ZADD_CONDITION_XX, .comparison = REDS_ZADD_COMPARISON_LT, .change = true};
    ASSERT_OK(reds_zadd(c, S("z"), (reds_score_member[]){SM(0.25, "d")}, 1, &lt_xx, &n));
    ck_assert_int_eq(n, 1);
    ASSERT_SCORE("z", "d", 0.25);
    /* Infinities are scores too. */
    ASSERT_OK(reds_zadd(c, S("z"),
                        (reds_score_member[]){SM(INFINITY, "top"), SM(-INFINITY, "bottom")}, 2,
                        NULL, &n));
    ck_assert_int_eq(n, 2);
    ASSERT_SCORE("z", "top", INFINITY);
    ASSERT_SCORE("z", "bottom", -INFINITY);
    ck_assert_int_eq(zcard("z"), 7);
    ck_assert_int_eq(zcard("nokey"), 0);
}
END_TEST

START_TEST(zadd_incr_variant)
{
    reds_opt_f64 s = {false, 0};
    ASSERT_OK(reds_zadd_incr(c, S("z"), 2.5, S("m"), NULL, &s));
    ck_assert(s.set && s.value == 2.5);
    ASSERT_OK(reds_zadd_incr(c, S("z"), -1, S("m"), NULL, &s));
    ck_assert(s.set && s.value == 1.5);
    /* A condition that prevents the update answers nil. */
    reds_zadd_opts nx = {.condition = REDS_ZADD_CONDITION_NX};
    ASSERT_OK(reds_zadd_incr(c, S("z"), 1, S("m"), &nx, &s));
    ck_assert(!s.set);
    reds_zadd_opts xx = {.condition = REDS_ZADD_CONDITION_XX};
    ASSERT_OK(reds_zadd_incr(c, S("z"), 1, S("absent"), &xx, &s));
    ck_assert(!s.set);
    reds_zadd_opts gt = {.comparison = REDS_ZADD_COMPARISON_GT};
    ASSERT_OK(reds_zadd_incr(c, S("z"), -1, S("m"), &gt, &s));
    ck_assert(!s.set);
    ASSERT_OK(reds_zadd_incr(c, S("z"), 2, S("m"), &gt, &s));
    ck_assert(s.set && s.value == 3.5);
    ASSERT_SCORE("z", "m", 3.5);
    ck_assert(!score_of("z", "absent").set);
}
END_TEST

START_TEST(zadd_checks_before_sending)
{
    int64_t n = 9;
    /* NX with GT or LT: the server refuses the mix, reds does first. */
    reds_zadd_opts bad = {.condition = REDS_ZADD_CONDITION_NX,
                          .comparison = REDS_ZADD_COMPARISON_GT};
    ASSERT_ERR(reds_zadd(c, S("z"), (reds_score_member[]){SM(1, "a")}, 1, &bad, &n), REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "NX"));
    reds_opt_f64 s = {true, 1};
    bad.comparison = REDS_ZADD_COMPARISON_LT;
    ASSERT_ERR(reds_zadd_incr(c, S("z"), 1, S("a"), &bad, &s), REDS_ERR_DATA);
    ck_assert(!s.set);
    ASSERT_ERR(reds_zadd(c, S("z"), NULL, 0, NULL, &n), REDS_ERR_DATA);
    ASSERT_ERR(reds_zadd(c, S("z"), (reds_score_member[]){SM(NAN, "a")}, 1, NULL, &n),
               REDS_ERR_DATA);
    ASSERT_ERR(reds_zadd_incr(c, S("z"), NAN, S("a"), NULL, &s), REDS_ERR_DATA);
    reds_zadd_opts range = {.comparison = (reds_zadd_comparison)3};
    ASSERT_ERR(reds_zadd(c, S("z"), (reds_score_member[]){SM(1, "a")}, 1, &range, &n),
               REDS_ERR_DATA);
    /* XX with GT is legal. */
    reds_zadd_opts ok = {.condition = REDS_ZADD_CONDITION_XX,
                         .comparison = REDS_ZADD_COMPARISON_GT};
    ASSERT_OK(reds_zadd(c, S("z"), (reds_score_member[]){SM(1, "a")}, 1, &ok, &n));
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(zcard("z"), 0);
}
END_TEST

/* ------------------------------------------------- scores and ranks */

START_TEST(zscore_zmscore_zincrby)
{
    fill();
    ASSERT_SCORE("z", "c", 3);
    ck_assert(!score_of("z", "nomember").set);
    ck_assert(!score_of("nokey", "a").set);
    reds_doublelist *l = NULL;
    ASSERT_OK(reds_zmscore(c, S("z"), STRS(S("d"), S("nomember"), S("a")), 3, &l));
    ck_assert_uint_eq(l->count, 3);
    ck_assert(l->items[0].set && l->items[0].value == 4);
    ck_assert(!l->items[1].set);
    ck_assert(l->items[2].set && l->items[2].value == 1);
    reds_free(l);
    ASSERT_OK(reds_zmscore(c, S("nokey"), STRS(S("a")), 1, &l));
    ck_assert_uint_eq(l->count, 1);
    ck_assert(!l->items[0].set);
    reds_free(l);

    double d = 0;
    ASSERT_OK(reds_zincrby(c, S("z"), 5, S("a"), &d));
    ck_assert(d == 6);
    ASSERT_OK(reds_zincrby(c, S("z"), -2.5, S("new"), &d));
    ck_assert(d == -2.5); /* fractional increments, though the docs say integer */
    ASSERT_SCORE("z", "new", -2.5);
}
END_TEST

START_TEST(zrank_zrevrank)
{
    fill();
    reds_opt_i64 r = {false, -1};
    ASSERT_OK(reds_zrank(c, S("z"), S("a"), &r));
    ck_assert(r.set && r.value == 0);
    ASSERT_OK(reds_zrank(c, S("z"), S("c"), &r));
    ck_assert(r.set && r.value == 2);
    ASSERT_OK(reds_zrevrank(c, S("z"), S("a"), &r));
    ck_assert(r.set && r.value == 3);
    ASSERT_OK(reds_zrank(c, S("z"), S("nomember"), &r));
    ck_assert(!r.set);
    ASSERT_OK(reds_zrevrank(c, S("nokey"), S("a"), &r));
    ck_assert(!r.set);
}
END_TEST

START_TEST(zcount_zlexcount)
{
    fill();
    int64_t n = -1;
    ASSERT_OK(reds_zcount(c, S("z"), S("2"), S("3"), &n));
    ck_assert_int_eq(n, 2);
    /* Score bounds are strings: exclusive "(" bounds and infinities. */
    ASSERT_OK(reds_zcount(c, S("z"), S("(2"), S("3"), &n));
    ck_assert_int_eq(n, 1);
    ASSERT_OK(reds_zcount(c, S("z"), S("-inf"), S("+inf"), &n));
    ck_assert_int_eq(n, 4);
    ASSERT_OK(reds_zcount(c, S("nokey"), S("0"), S("1"), &n));
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(ZADD("lex", SM(0, "a"), SM(0, "b"), SM(0, "c"), SM(0, "d")), 4);
    ASSERT_OK(reds_zlexcount(c, S("lex"), S("[b"), S("+"), &n));
    ck_assert_int_eq(n, 3);
    ASSERT_OK(reds_zlexcount(c, S("lex"), S("(a"), S("(d"), &n));
    ck_assert_int_eq(n, 2);
    ASSERT_ERR(reds_zlexcount(c, S("lex"), S("a"), S("+"), &n), REDS_ERR_RESPONSE);
}
END_TEST

/* ------------------------------------------------------------ ranges */

START_TEST(zrange_forms)
{
    fill();
    reds_strlist *l = NULL;
    reds_scored_list *sl = NULL;
    ASSERT_OK(reds_zrange(c, S("z"), S("0"), S("-1"), NULL, &l));
    test_assert_strlist(l, "a", "b", "c", "d", NULL);
    reds_free(l);
    ASSERT_OK(reds_zrange_withscores(c, S("z"), S("1"), S("2"), NULL, &sl));
    assert_scored(sl, "b", 2.0, "c", 3.0, NULL);
    reds_free(sl);

    reds_zrange_opts rev = {.rev = true};
    ASSERT_OK(reds_zrange(c, S("z"), S("0"), S("1"), &rev, &l));
    test_assert_strlist(l, "d", "c", NULL);
    reds_free(l);

    reds_zrange_opts byscore = {.sortby = REDS_ZRANGE_SORTBY_BYSCORE,
                                .limit = {.set = true, .offset = 1, .count = 2}};
    ASSERT_OK(reds_zrange_withscores(c, S("z"), S("(1"), S("+inf"), &byscore, &sl));
    assert_scored(sl, "c", 3.0, "d", 4.0, NULL);
    reds_free(sl);
    byscore.rev = true;
    /* Dropping LIMIT means zeroing it: a filled block with `set` false is
     * refused (see check_pack's unset_blocks). */
    byscore.limit = (reds_zrange_limit){0};
    ASSERT_OK(reds_zrange(c, S("z"), S("3"), S("-inf"), &byscore, &l));
    test_assert_strlist(l, "c", "b", "a", NULL);
    reds_free(l);

    ck_assert_int_eq(ZADD("lex", SM(0, "a"), SM(0, "b"), SM(0, "c")), 3);
    reds_zrange_opts bylex = {.sortby = REDS_ZRANGE_SORTBY_BYLEX,
                              .limit = {.set = true, .offset = 0, .count = 2}};
    ASSERT_OK(reds_zrange(c, S("lex"), S("-"), S("+"), &bylex, &l));
    test_assert_strlist(l, "a", "b", NULL);
    reds_free(l);
    /* BYLEX with WITHSCORES is refused before sending. */
    sl = (reds_scored_list *)&sl;
    ASSERT_ERR(reds_zrange_withscores(c, S("lex"), S("-"), S("+"), &bylex, &sl), REDS_ERR_DATA);
    ck_assert_ptr_null(sl);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "BYLEX"));
    /* Empty ranges and missing keys. */
    ASSERT_OK(reds_zrange(c, S("nokey"), S("0"), S("-1"), NULL, &l));
    test_assert_strlist(l, NULL);
    reds_free(l);
    ASSERT_OK(reds_zrange_withscores(c, S("z"), S("10"), S("20"), NULL, &sl));
    assert_scored(sl, NULL);
    reds_free(sl);
}
END_TEST

START_TEST(deprecated_ranges)
{
    fill();
    reds_strlist *l = NULL;
    reds_scored_list *sl = NULL;
    ASSERT_OK(reds_zrangebyscore(c, S("z"), S("2"), S("+inf"), NULL, &l));
    test_assert_strlist(l, "b", "c", "d", NULL);
    reds_free(l);
    reds_zrangebyscore_opts lim = {.limit = {.set = true, .offset = 1, .count = 1}};
    ASSERT_OK(reds_zrangebyscore_withscores(c, S("z"), S("-inf"), S("3"), &lim, &sl));
    assert_scored(sl, "b", 2.0, NULL);
    reds_free(sl);
    ASSERT_OK(reds_zrevrangebyscore(c, S("z"), S("3"), S("2"), NULL, &l));
    test_assert_strlist(l, "c", "b", NULL);
    reds_free(l);
    ASSERT_OK(reds_zrevrangebyscore(c, S("z"), S("3"), S("(2"), NULL, &l));
    test_assert_strlist(l, "c", NULL);
    reds_free(l);
    ASSERT_OK(reds_zrevrangebyscore_withscores(c, S("z"), S("+inf"), S("3.5"), NULL, &sl));
    assert_scored(sl, "d", 4.0, NULL);
    reds_free(sl);
    ASSERT_OK(reds_zrevrange(c, S("z"), 0, 1, &l));
    test_assert_strlist(l, "d", "c", NULL);
    reds_free(l);
    ASSERT_OK(reds_zrevrange_withscores(c, S("z"), -1, -1, &sl));
    assert_scored(sl, "a", 1.0, NULL);
    reds_free(sl);

    ck_assert_int_eq(ZADD("lex", SM(0, "a"), SM(0, "b"), SM(0, "c"), SM(0, "d")), 4);
    ASSERT_OK(reds_zrangebylex(c, S("lex"), S("[b"), S("(d"), NULL, &l));
    test_assert_strlist(l, "b", "c", NULL);
    reds_free(l);
    reds_zrevrangebylex_opts rl = {.limit = {.set = true, .offset = 0, .count = 3}};
    ASSERT_OK(reds_zrevrangebylex(c, S("lex"), S("+"), S("-"), &rl, &l));
    test_assert_strlist(l, "d", "c", "b", NULL);
    reds_free(l);
}
END_TEST

START_TEST(zrangestore)
{
    fill();
    int64_t n = -1;
    ASSERT_OK(reds_zrangestore(c, S("dst"), S("z"), S("1"), S("2"), NULL, &n));
    ck_assert_int_eq(n, 2);
    reds_scored_list *sl = NULL;
    ASSERT_OK(reds_zrange_withscores(c, S("dst"), S("0"), S("-1"), NULL, &sl));
    assert_scored(sl, "b", 2.0, "c", 3.0, NULL);
    reds_free(sl);
    reds_zrangestore_opts o = {.sortby = REDS_ZRANGE_SORTBY_BYSCORE,
                               .rev = true,
                               .limit = {.set = true, .offset = 0, .count = 1}};
    ASSERT_OK(reds_zrangestore(c, S("dst"), S("z"), S("+inf"), S("-inf"), &o, &n));
    ck_assert_int_eq(n, 1);
    ASSERT_SCORE("dst", "d", 4);
    ck_assert_int_eq(zcard("dst"), 1);
}
END_TEST

START_TEST(zrem_and_remrange)
{
    fill();
    ZADD("z", SM(5, "e"), SM(6, "f"));
    int64_t n = -1;
    ASSERT_OK(reds_zrem(c, S("z"), STRS(S("a"), S("nomember")), 2, &n));
    ck_assert_int_eq(n, 1);
    ASSERT_OK(reds_zremrangebyrank(c, S("z"), 0, 0, &n)); /* b */
    ck_assert_int_eq(n, 1);
    ASSERT_OK(reds_zremrangebyscore(c, S("z"), S("5"), S("+inf"), &n)); /* e, f */
    ck_assert_int_eq(n, 2);
    reds_strlist *l = NULL;
    ASSERT_OK(reds_zrange(c, S("z"), S("0"), S("-1"), NULL, &l));
    test_assert_strlist(l, "c", "d", NULL);
    reds_free(l);
    ck_assert_int_eq(ZADD("lex", SM(0, "a"), SM(0, "b"), SM(0, "c")), 3);
    ASSERT_OK(reds_zremrangebylex(c, S("lex"), S("[a"), S("(c"), &n));
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(zcard("lex"), 1);
}
END_TEST

/* ------------------------------------------------------------ algebra */

START_TEST(zunion_zinter_zdiff)
{
    ZADD("x", SM(1, "a"), SM(2, "b"), SM(3, "c"));
    ZADD("y", SM(10, "b"), SM(20, "c"), SM(30, "d"));
    reds_strlist *l = NULL;
    reds_scored_list *sl = NULL;
    ASSERT_OK(reds_zunion(c, STRS(S("x"), S("y")), 2, NULL, &l));
    test_assert_strlist(l, "a", "b", "c", "d", NULL); /* by summed score: 1, 12, 23, 30 */
    reds_free(l);
    ASSERT_OK(reds_zunion_withscores(c, STRS(S("x"), S("y")), 2, NULL, &sl));
    assert_scored(sl, "a", 1.0, "b", 12.0, "c", 23.0, "d", 30.0, NULL);
    reds_free(sl);
    reds_zunion_opts wmax = {
        .weights = (const double[]){2, 1}, .nweights = 2, .aggregate = REDS_ZSET_AGGREGATE_MAX};
    ASSERT_OK(reds_zunion_withscores(c, STRS(S("x"), S("y")), 2, &wmax, &sl));
    assert_scored(sl, "a", 2.0, "b", 10.0, "c", 20.0, "d", 30.0, NULL);
    reds_free(sl);

    ASSERT_OK(reds_zinter(c, STRS(S("x"), S("y")), 2, NULL, &l));
    test_assert_strlist(l, "b", "c", NULL);
    reds_free(l);
    reds_zinter_opts min = {.aggregate = REDS_ZSET_AGGREGATE_MIN};
    ASSERT_OK(reds_zinter_withscores(c, STRS(S("x"), S("y")), 2, &min, &sl));
    assert_scored(sl, "b", 2.0, "c", 3.0, NULL);
    reds_free(sl);

    ASSERT_OK(reds_zdiff(c, STRS(S("x"), S("y")), 2, &l));
    test_assert_strlist(l, "a", NULL);
    reds_free(l);
    ASSERT_OK(reds_zdiff_withscores(c, STRS(S("y"), S("x")), 2, &sl));
    assert_scored(sl, "d", 30.0, NULL);
    reds_free(sl);
    ASSERT_OK(reds_zdiff_withscores(c, STRS(S("nokey"), S("x")), 2, &sl));
    assert_scored(sl, NULL);
    reds_free(sl);
    /* More weights than keys: refused before sending (same_count_as). */
    reds_zinter_opts extra = {.weights = (const double[]){1, 2, 3}, .nweights = 3};
    ASSERT_ERR(reds_zinter(c, STRS(S("x"), S("y")), 2, &extra, &l), REDS_ERR_DATA);
    ck_assert_ptr_null(l);
}
END_TEST

START_TEST(store_forms_and_zintercard)
{
    ZADD("x", SM(1, "a"), SM(2, "b"), SM(3, "c"));
    ZADD("y", SM(10, "b"), SM(20, "c"), SM(30, "d"));
    int64_t n = -1;
    ASSERT_OK(reds_zunionstore(c, S("u"), STRS(S("x"), S("y")), 2, NULL, &n));
    ck_assert_int_eq(n, 4);
    ASSERT_SCORE("u", "c", 23);
    reds_zinterstore_opts o = {
        .weights = (const double[]){1.5, 0}, .nweights = 2, .aggregate = REDS_ZSET_AGGREGATE_SUM};
    ASSERT_OK(reds_zinterstore(c, S("i"), STRS(S("x"), S("y")), 2, &o, &n));
    ck_assert_int_eq(n, 2);
    ASSERT_SCORE("i", "b", 3); /* fractional weights */
    ASSERT_SCORE("i", "c", 4.5);
    ASSERT_OK(reds_zdiffstore(c, S("d"), STRS(S("x"), S("y")), 2, &n));
    ck_assert_int_eq(n, 1);
    ASSERT_SCORE("d", "a", 1);
    reds_zunionstore_opts mx = {.aggregate = REDS_ZSET_AGGREGATE_MAX};
    ASSERT_OK(reds_zunionstore(c, S("u"), STRS(S("x")), 1, &mx, &n));
    ck_assert_int_eq(n, 3);

    ASSERT_OK(reds_zintercard(c, STRS(S("x"), S("y")), 2, NULL, &n));
    ck_assert_int_eq(n, 2);
    reds_zintercard_opts lim = {.limit = REDS_I64(1)};
    ASSERT_OK(reds_zintercard(c, STRS(S("x"), S("y")), 2, &lim, &n));
    ck_assert_int_eq(n, 1);
    ASSERT_OK(reds_zintercard(c, STRS(S("x"), S("nokey")), 2, NULL, &n));
    ck_assert_int_eq(n, 0);
}
END_TEST

/* --------------------------------------------------------- popping */

START_TEST(zpopmin_zpopmax)
{
    fill();
    reds_scored_list *sl = NULL;
    ASSERT_OK(reds_zpopmin(c, S("z"), NULL, &sl));
    assert_scored(sl, "a", 1.0, NULL);
    reds_free(sl);
    ASSERT_OK(reds_zpopmax(c, S("z"), NULL, &sl));
    assert_scored(sl, "d", 4.0, NULL);
    reds_free(sl);
    reds_zpopmin_opts two = {.count = REDS_I64(5)};
    ASSERT_OK(reds_zpopmin(c, S("z"), &two, &sl));
    assert_scored(sl, "b", 2.0, "c", 3.0, NULL);
    reds_free(sl);
    ASSERT_OK(reds_zpopmax(c, S("z"), NULL, &sl));
    assert_scored(sl, NULL);
    reds_free(sl);
    reds_zpopmax_opts zero = {.count = REDS_I64(0)};
    ASSERT_OK(reds_zpopmax(c, S("nokey"), &zero, &sl));
    assert_scored(sl, NULL);
    reds_free(sl);
}
END_TEST

START_TEST(zmpop_value_and_nil)
{
    fill();
    reds_keyed_members *m = NULL;
    ASSERT_OK(reds_zmpop(c, STRS(S("empty"), S("z")), 2, REDS_ZMPOP_WHERE_MIN, NULL, &m));
    ck_assert_ptr_nonnull(m);
    ASSERT_STR(&m->key, "z");
    ck_assert_uint_eq(m->nmembers, 1);
    ASSERT_STR(&m->members[0].member, "a");
    ck_assert(m->members[0].score == 1);
    reds_free(m);
    reds_zmpop_opts three = {.count = REDS_I64(3)};
    ASSERT_OK(reds_zmpop(c, STRS(S("z")), 1, REDS_ZMPOP_WHERE_MAX, &three, &m));
    ASSERT_STR(&m->key, "z");
    ck_assert_uint_eq(m->nmembers, 3);
    ASSERT_STR(&m->members[0].member, "d");
    ck_assert(m->members[0].score == 4);
    ASSERT_STR(&m->members[2].member, "b");
    ck_assert(m->members[2].score == 2);
    reds_free(m);
    m = (reds_keyed_members *)&m;
    ASSERT_OK(reds_zmpop(c, STRS(S("z"), S("empty")), 2, REDS_ZMPOP_WHERE_MIN, NULL, &m));
    ck_assert_ptr_null(m);
}
END_TEST

START_TEST(blocking_pops)
{
    fill();
    reds_keyed_scored *k = NULL;
    ASSERT_OK(reds_bzpopmin(c, STRS(S("empty"), S("z")), 2, 0.1, &k));
    ck_assert_ptr_nonnull(k);
    ASSERT_STR(&k->key, "z");
    ASSERT_STR(&k->member, "a");
    ck_assert(k->score == 1);
    reds_free(k);
    ASSERT_OK(reds_bzpopmax(c, STRS(S("z")), 1, 0.1, &k));
    ASSERT_STR(&k->member, "d");
    ck_assert(k->score == 4);
    reds_free(k);

    reds_keyed_members *m = NULL;
    reds_bzmpop_opts two = {.count = REDS_I64(2)};
    ASSERT_OK(reds_bzmpop(c, 0.1, STRS(S("z")), 1, REDS_ZMPOP_WHERE_MAX, &two, &m));
    ASSERT_STR(&m->key, "z");
    ck_assert_uint_eq(m->nmembers, 2);
    ASSERT_STR(&m->members[0].member, "c");
    ck_assert(m->members[0].score == 3);
    ASSERT_STR(&m->members[1].member, "b");
    ck_assert(m->members[1].score == 2);
    reds_free(m);

    /* Everything popped: each answers nil once its timeout expires. */
    k = (reds_keyed_scored *)&k;
    ASSERT_OK(reds_bzpopmin(c, STRS(S("z"), S("empty")), 2, 0.1, &k));
    ck_assert_ptr_null(k);
    k = (reds_keyed_scored *)&k;
    ASSERT_OK(reds_bzpopmax(c, STRS(S("z")), 1, 0.1, &k));
    ck_assert_ptr_null(k);
    m = (reds_keyed_members *)&m;
    ASSERT_OK(reds_bzmpop(c, 0.1, STRS(S("z")), 1, REDS_ZMPOP_WHERE_MIN, NULL, &m));
    ck_assert_ptr_null(m);
}
END_TEST

START_TEST(zrandmember_shapes)
{
    fill();
    reds_str *v = NULL;
    ASSERT_OK(reds_zrandmember(c, S("z"), &v));
    ck_assert(v && v->len == 1 && v->ptr[0] >= 'a' && v->ptr[0] <= 'd');
    reds_free(v);
    v = (reds_str *)&v;
    ASSERT_OK(reds_zrandmember(c, S("nokey"), &v));
    ck_assert_ptr_null(v);

    reds_strlist *l = NULL;
    ASSERT_OK(reds_zrandmember_count(c, S("z"), 10, &l)); /* distinct: all four */
    ck_assert_uint_eq(l->count, 4);
    int seen[4] = {0};
    for (size_t i = 0; i < l->count; i++)
        seen[l->items[i].ptr[0] - 'a']++;
    ck_assert(seen[0] == 1 && seen[1] == 1 && seen[2] == 1 && seen[3] == 1);
    reds_free(l);
    ASSERT_OK(reds_zrandmember_count(c, S("z"), -6, &l)); /* repeats allowed */
    ck_assert_uint_eq(l->count, 6);
    reds_free(l);

    reds_scored_list *sl = NULL;
    ASSERT_OK(reds_zrandmember_withscores(c, S("z"), -5, &sl));
    ck_assert_uint_eq(sl->count, 5);
    for (size_t i = 0; i < sl->count; i++) {
        /* Each member comes with its own score: a=1, b=2, ... */
        ck_assert_uint_eq(sl->items[i].member.len, 1);
        ck_assert(sl->items[i].score == (double)(sl->items[i].member.ptr[0] - 'a' + 1));
    }
    reds_free(sl);
    ASSERT_OK(reds_zrandmember_withscores(c, S("nokey"), 3, &sl));
    assert_scored(sl, NULL);
    reds_free(sl);
}
END_TEST

/* -------------------------------------------------------------- ZSCAN */

START_TEST(zscan_whole_set)
{
    /* 200 members (skiplist encoding, so the scan really pages). */
    reds_score_member m[200];
    char buf[200][8];
    for (int i = 0; i < 200; i++) {
        int n = snprintf(buf[i], sizeof buf[i], "m%d", i);
        m[i] = (reds_score_member){i + 0.5, reds_strn(buf[i], (size_t)n)};
    }
    ck_assert_int_eq(zadd("z", m, 200), 200);
    int seen[200] = {0};
    uint64_t cursor = 0;
    int pages = 0;
    reds_zscan_opts o = {.count = REDS_I64(20)};
    do {
        reds_zscan_page *p = NULL;
        ASSERT_OK(reds_zscan(c, S("z"), (int64_t)cursor, &o, &p));
        for (size_t i = 0; i < p->nitems; i++) {
            int k = -1;
            ck_assert_int_eq(sscanf(p->items[i].member.ptr, "m%d", &k), 1);
            ck_assert(k >= 0 && k < 200);
            ck_assert(p->items[i].score == k + 0.5);
            seen[k]++;
        }
        cursor = p->cursor;
        reds_free(p);
        pages++;
    } while (cursor != 0);
    ck_assert_int_gt(pages, 1);
    for (int i = 0; i < 200; i++)
        ck_assert_msg(seen[i] >= 1, "m%d never seen", i);

    /* MATCH on a small set: one page with exactly what matches. */
    ZADD("small", SM(1, "apple"), SM(2, "avocado"), SM(3, "banana"));
    reds_zscan_opts match = {.pattern = S("a*")};
    reds_zscan_page *p = NULL;
    ASSERT_OK(reds_zscan(c, S("small"), 0, &match, &p));
    ck_assert(p->cursor == 0);
    ck_assert_uint_eq(p->nitems, 2);
    ASSERT_STR(&p->items[0].member, "apple");
    ck_assert(p->items[0].score == 1);
    ASSERT_STR(&p->items[1].member, "avocado");
    ck_assert(p->items[1].score == 2);
    reds_free(p);
    ASSERT_OK(reds_zscan(c, S("nokey"), 0, NULL, &p));
    ck_assert(p->cursor == 0 && p->nitems == 0);
    reds_free(p);
}
END_TEST

/* ------------------------------------------------------------ errors */

START_TEST(wrong_type)
{
    char reply[64];
    test_raw("SET str v", reply, sizeof reply);
    int64_t n = 0;
    ASSERT_ERR(reds_zadd(c, S("str"), (reds_score_member[]){SM(1, "a")}, 1, NULL, &n),
               REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "WRONGTYPE"));
    reds_scored_list *sl = (reds_scored_list *)&sl;
    ASSERT_ERR(reds_zrange_withscores(c, S("str"), S("0"), S("-1"), NULL, &sl), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(sl);
    reds_keyed_scored *k = (reds_keyed_scored *)&k;
    ASSERT_ERR(reds_bzpopmin(c, STRS(S("str")), 1, 0.1, &k), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(k);
    reds_zscan_page *p = (reds_zscan_page *)&p;
    ASSERT_ERR(reds_zscan(c, S("str"), 0, NULL, &p), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(p);
    reds_doublelist *dl = (reds_doublelist *)&dl;
    ASSERT_ERR(reds_zmscore(c, S("str"), STRS(S("a")), 1, &dl), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(dl);
    /* A score that is not a number: the server's error. */
    ZADD("z", SM(1, "a"));
    reds_zrange_opts byscore = {.sortby = REDS_ZRANGE_SORTBY_BYSCORE};
    reds_strlist *l = NULL;
    ASSERT_ERR(reds_zrange(c, S("z"), S("x"), S("1"), &byscore, &l), REDS_ERR_RESPONSE);
}
END_TEST

START_TEST(argument_checks)
{
    int64_t n = 5;
    reds_strlist *l = (reds_strlist *)&l;
    /* numkeys is counted from the array: an empty array is refused. */
    ASSERT_ERR(reds_zunion(c, NULL, 0, NULL, &l), REDS_ERR_DATA);
    ck_assert_ptr_null(l);
    ASSERT_ERR(reds_zinterstore(c, S("d"), NULL, 0, NULL, &n), REDS_ERR_DATA);
    ck_assert_int_eq(n, 0);
    ASSERT_ERR(reds_zintercard(c, NULL, 0, NULL, &n), REDS_ERR_DATA);
    reds_keyed_members *m = (reds_keyed_members *)&m;
    ASSERT_ERR(reds_zmpop(c, NULL, 0, REDS_ZMPOP_WHERE_MIN, NULL, &m), REDS_ERR_DATA);
    ASSERT_ERR(reds_zmpop(c, STRS(S("z")), 1, 0, NULL, &m), REDS_ERR_DATA);
    ASSERT_ERR(reds_bzmpop(c, NAN, STRS(S("z")), 1, REDS_ZMPOP_WHERE_MIN, NULL, &m), REDS_ERR_DATA);
    ck_assert_ptr_null(m);
    reds_zunion_opts agg = {.aggregate = (reds_zset_aggregate)4};
    ASSERT_ERR(reds_zunion(c, STRS(S("a")), 1, &agg, &l), REDS_ERR_DATA);
    reds_zunion_opts w = {.weights = NULL, .nweights = 2};
    ASSERT_ERR(reds_zunion(c, STRS(S("a"), S("b")), 2, &w, &l), REDS_ERR_DATA);
    reds_zrange_opts sort = {.sortby = (reds_zrange_sortby)3};
    ASSERT_ERR(reds_zrange(c, S("z"), S("0"), S("1"), &sort, &l), REDS_ERR_DATA);
    ASSERT_ERR(reds_zincrby(c, S("z"), NAN, S("a"), NULL), REDS_ERR_DATA);
    reds_doublelist *dl = (reds_doublelist *)&dl;
    ASSERT_ERR(reds_zmscore(c, S("z"), NULL, 0, &dl), REDS_ERR_DATA);
    ck_assert_ptr_null(dl);
    ASSERT_OK(reds_exists(c, STRS(S("z"), S("d")), 2, &n));
    ck_assert_int_eq(n, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("zsets");
    struct {
        const char *name;
        const TTest *tests[8];
    } groups[] = {
        {"zadd", {zadd_options, zadd_incr_variant, zadd_checks_before_sending}},
        {"scores", {zscore_zmscore_zincrby, zrank_zrevrank, zcount_zlexcount}},
        {"ranges", {zrange_forms, deprecated_ranges, zrangestore, zrem_and_remrange}},
        {"algebra", {zunion_zinter_zdiff, store_forms_and_zintercard}},
        {"pop", {zpopmin_zpopmax, zmpop_value_and_nil, blocking_pops, zrandmember_shapes}},
        {"zscan", {zscan_whole_set}},
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
