/* The string group against a real server: every bound command and variant,
 * every option, binary values, server errors and argument checks. */
#include <stdarg.h>
#include <time.h>

#include "testutil.h"

/* A reds_str holds exactly `n` bytes at `expect` (binary-safe). */
#define ASSERT_BYTES(s, expect, n)                                                                 \
    do {                                                                                           \
        const reds_str *b_ = (s);                                                                  \
        ck_assert_msg(b_ && b_->ptr, "%s is NULL", #s);                                            \
        ck_assert_msg(b_->len == (n) && memcmp(b_->ptr, (expect), (n)) == 0,                       \
                      "%s has the wrong %zu bytes", #s, b_->len);                                  \
    } while (0)

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

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static int64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The value of `key`, or fails when it does not exist. */
static void assert_value(const char *key, const char *expect)
{
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, reds_cstr(key), &v));
    ASSERT_STR(v, expect);
    reds_free(v);
}

static void assert_missing(const char *key)
{
    int64_t n = -1;
    ASSERT_OK(reds_exists(c, &(reds_str){key, strlen(key)}, 1, &n));
    ck_assert_int_eq(n, 0);
}

static int64_t ttl_of(const char *key)
{
    int64_t t = 0;
    ASSERT_OK(reds_ttl(c, reds_cstr(key), &t));
    return t;
}

/* ------------------------------------------------------------------ SET */

START_TEST(set_and_get_binary)
{
    static const char val[] = "a\0b\r\n\xff\0";
    static const char key[] = "k\0ey";
    reds_str k = reds_strn(key, sizeof key - 1);
    bool ok = false;
    ASSERT_OK(reds_set(c, k, reds_strn(val, sizeof val - 1), NULL, &ok));
    ck_assert(ok);
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, k, &v));
    ASSERT_BYTES(v, val, sizeof val - 1);
    ck_assert_int_eq(v->ptr[v->len], '\0'); /* NUL-terminated after the bytes */
    reds_free(v);
    /* The key with a NUL is not the key cut at the NUL. */
    ASSERT_OK(reds_get(c, REDS_STR("k"), &v));
    ck_assert_ptr_null(v);
    /* The empty value is a value, not nil. */
    ASSERT_OK(reds_set(c, REDS_STR("empty"), reds_strn(NULL, 0), NULL, NULL));
    ASSERT_OK(reds_get(c, REDS_STR("empty"), &v));
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(v->len, 0);
    reds_free(v);
}
END_TEST

START_TEST(set_nx_xx)
{
    bool ok = true;
    ASSERT_OK(reds_set(c, REDS_STR("k"), REDS_STR("v1"),
                       &(reds_set_opts){.condition = REDS_SET_CONDITION_XX}, &ok));
    ck_assert(!ok);
    assert_missing("k");
    ASSERT_OK(reds_set(c, REDS_STR("k"), REDS_STR("v1"),
                       &(reds_set_opts){.condition = REDS_SET_CONDITION_NX}, &ok));
    ck_assert(ok);
    ASSERT_OK(reds_set(c, REDS_STR("k"), REDS_STR("v2"),
                       &(reds_set_opts){.condition = REDS_SET_CONDITION_NX}, &ok));
    ck_assert(!ok);
    assert_value("k", "v1");
    ASSERT_OK(reds_set(c, REDS_STR("k"), REDS_STR("v3"),
                       &(reds_set_opts){.condition = REDS_SET_CONDITION_XX}, &ok));
    ck_assert(ok);
    assert_value("k", "v3");
}
END_TEST

START_TEST(set_get_variant)
{
    reds_str *old = NULL;
    ASSERT_OK(reds_set_get(c, REDS_STR("k"), REDS_STR("v1"), NULL, &old));
    ck_assert_ptr_null(old); /* did not exist */
    assert_value("k", "v1");
    ASSERT_OK(reds_set_get(c, REDS_STR("k"), REDS_STR("v2"), NULL, &old));
    ASSERT_STR(old, "v1");
    reds_free(old);
    /* NX with GET: the old value comes back and nothing is set. */
    ASSERT_OK(reds_set_get(c, REDS_STR("k"), REDS_STR("v3"),
                           &(reds_set_opts){.condition = REDS_SET_CONDITION_NX}, &old));
    ASSERT_STR(old, "v2");
    reds_free(old);
    assert_value("k", "v2");
    /* XX with GET on a missing key: nil, and nothing is set. */
    ASSERT_OK(reds_set_get(c, REDS_STR("nokey"), REDS_STR("x"),
                           &(reds_set_opts){.condition = REDS_SET_CONDITION_XX}, &old));
    ck_assert_ptr_null(old);
    assert_missing("nokey");
    /* GET with an expiry option. */
    ASSERT_OK(reds_set_get(c, REDS_STR("k"), REDS_STR("v4"), &(reds_set_opts){.ex = REDS_I64(100)},
                           &old));
    ASSERT_STR(old, "v2");
    reds_free(old);
    ck_assert_int_ge(ttl_of("k"), 99);
    ck_assert_int_le(ttl_of("k"), 100);
    /* GET on a key of another type is a server error, and *out is NULL. */
    reds_reply *r = test_run(c, "HSET", "h", "f", "v", NULL);
    reds_free(r);
    reds_str sentinel = REDS_STR("x");
    old = &sentinel;
    ASSERT_ERR(reds_set_get(c, REDS_STR("h"), REDS_STR("v"), NULL, &old), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(old);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "WRONGTYPE"));
}
END_TEST

START_TEST(set_expiry_options)
{
    int64_t t = 0;
    ASSERT_OK(
        reds_set(c, REDS_STR("ex"), REDS_STR("v"), &(reds_set_opts){.ex = REDS_I64(100)}, NULL));
    t = ttl_of("ex");
    ck_assert_int_ge(t, 99);
    ck_assert_int_le(t, 100);

    ASSERT_OK(
        reds_set(c, REDS_STR("px"), REDS_STR("v"), &(reds_set_opts){.px = REDS_I64(100000)}, NULL));
    ASSERT_OK(reds_pttl(c, REDS_STR("px"), &t));
    ck_assert_int_gt(t, 90000);
    ck_assert_int_le(t, 100000);

    int64_t at = now_s() + 1000;
    ASSERT_OK(
        reds_set(c, REDS_STR("exat"), REDS_STR("v"), &(reds_set_opts){.exat = REDS_I64(at)}, NULL));
    ASSERT_OK(reds_expiretime(c, REDS_STR("exat"), &t));
    ck_assert_int_eq(t, at);

    int64_t pat = unix_ms() + 1000000;
    ASSERT_OK(reds_set(c, REDS_STR("pxat"), REDS_STR("v"), &(reds_set_opts){.pxat = REDS_I64(pat)},
                       NULL));
    ASSERT_OK(reds_pexpiretime(c, REDS_STR("pxat"), &t));
    ck_assert_int_eq(t, pat);

    /* KEEPTTL keeps the expiry of "ex"; a plain SET clears it. */
    ASSERT_OK(reds_set(c, REDS_STR("ex"), REDS_STR("w"), &(reds_set_opts){.keepttl = true}, NULL));
    assert_value("ex", "w");
    t = ttl_of("ex");
    ck_assert_int_ge(t, 99);
    ck_assert_int_le(t, 100);
    ASSERT_OK(reds_set(c, REDS_STR("ex"), REDS_STR("z"), NULL, NULL));
    ck_assert_int_eq(ttl_of("ex"), REDS_TTL_NO_EXPIRY);

    /* A condition and an expiry together. */
    bool ok = false;
    ASSERT_OK(reds_set(c, REDS_STR("ex"), REDS_STR("y"),
                       &(reds_set_opts){.condition = REDS_SET_CONDITION_XX, .px = REDS_I64(50000)},
                       &ok));
    ck_assert(ok);
    ASSERT_OK(reds_pttl(c, REDS_STR("ex"), &t));
    ck_assert_int_gt(t, 40000);
    ck_assert_int_le(t, 50000);

    /* EX 0 is sent (0 is a legal value to give) and the server refuses it. */
    ASSERT_ERR(
        reds_set(c, REDS_STR("zero"), REDS_STR("v"), &(reds_set_opts){.ex = REDS_I64(0)}, NULL),
        REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "invalid expire time"));
    assert_missing("zero");
}
END_TEST

START_TEST(setnx_setex_psetex)
{
    bool ok = false;
    ASSERT_OK(reds_setnx(c, REDS_STR("k"), REDS_STR("v1"), &ok));
    ck_assert(ok);
    ASSERT_OK(reds_setnx(c, REDS_STR("k"), REDS_STR("v2"), &ok));
    ck_assert(!ok);
    assert_value("k", "v1");

    ASSERT_OK(reds_setex(c, REDS_STR("se"), 100, REDS_STR("sv")));
    assert_value("se", "sv");
    int64_t t = ttl_of("se");
    ck_assert_int_ge(t, 99);
    ck_assert_int_le(t, 100);

    ASSERT_OK(reds_psetex(c, REDS_STR("pse"), 100000, REDS_STR("psv")));
    assert_value("pse", "psv");
    ASSERT_OK(reds_pttl(c, REDS_STR("pse"), &t));
    ck_assert_int_gt(t, 90000);
    ck_assert_int_le(t, 100000);

    ASSERT_ERR(reds_setex(c, REDS_STR("bad"), -5, REDS_STR("v")), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "invalid expire time"));
    assert_missing("bad");
}
END_TEST

/* ------------------------------------------------------------------ GET */

START_TEST(get_missing_and_wrongtype)
{
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, REDS_STR("nokey"), &v));
    ck_assert_ptr_null(v);
    reds_free(test_run(c, "RPUSH", "list", "a", NULL));
    reds_str sentinel = REDS_STR("x");
    v = &sentinel;
    ASSERT_ERR(reds_get(c, REDS_STR("list"), &v), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(v); /* an owned *out is NULL on failure */
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "WRONGTYPE"));
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "GET"));
    /* NULL out discards the reply. */
    ASSERT_OK(reds_set(c, REDS_STR("k"), REDS_STR("v"), NULL, NULL));
    ASSERT_OK(reds_get(c, REDS_STR("k"), NULL));
}
END_TEST

START_TEST(getdel)
{
    ASSERT_OK(reds_set(c, REDS_STR("k"), REDS_STR("v"), NULL, NULL));
    reds_str *v = NULL;
    ASSERT_OK(reds_getdel(c, REDS_STR("k"), &v));
    ASSERT_STR(v, "v");
    reds_free(v);
    assert_missing("k");
    ASSERT_OK(reds_getdel(c, REDS_STR("k"), &v));
    ck_assert_ptr_null(v);
}
END_TEST

START_TEST(getex_options)
{
    reds_str *v = NULL;
    int64_t t = 0;
    ASSERT_OK(reds_set(c, REDS_STR("k"), REDS_STR("v"), NULL, NULL));

    ASSERT_OK(reds_getex(c, REDS_STR("k"), NULL, &v));
    ASSERT_STR(v, "v");
    reds_free(v);
    ck_assert_int_eq(ttl_of("k"), REDS_TTL_NO_EXPIRY);

    ASSERT_OK(reds_getex(c, REDS_STR("k"), &(reds_getex_opts){.ex = REDS_I64(100)}, &v));
    ASSERT_STR(v, "v");
    reds_free(v);
    t = ttl_of("k");
    ck_assert_int_ge(t, 99);
    ck_assert_int_le(t, 100);

    ASSERT_OK(reds_getex(c, REDS_STR("k"), &(reds_getex_opts){.px = REDS_I64(200000)}, &v));
    reds_free(v);
    ASSERT_OK(reds_pttl(c, REDS_STR("k"), &t));
    ck_assert_int_gt(t, 190000);
    ck_assert_int_le(t, 200000);

    int64_t at = now_s() + 5000;
    ASSERT_OK(reds_getex(c, REDS_STR("k"), &(reds_getex_opts){.exat = REDS_I64(at)}, &v));
    reds_free(v);
    ASSERT_OK(reds_expiretime(c, REDS_STR("k"), &t));
    ck_assert_int_eq(t, at);

    int64_t pat = unix_ms() + 7000000;
    ASSERT_OK(reds_getex(c, REDS_STR("k"), &(reds_getex_opts){.pxat = REDS_I64(pat)}, &v));
    reds_free(v);
    ASSERT_OK(reds_pexpiretime(c, REDS_STR("k"), &t));
    ck_assert_int_eq(t, pat);

    ASSERT_OK(reds_getex(c, REDS_STR("k"), &(reds_getex_opts){.persist = true}, &v));
    ASSERT_STR(v, "v");
    reds_free(v);
    ck_assert_int_eq(ttl_of("k"), REDS_TTL_NO_EXPIRY);

    ASSERT_OK(reds_getex(c, REDS_STR("nokey"), &(reds_getex_opts){.ex = REDS_I64(10)}, &v));
    ck_assert_ptr_null(v);

    /* At most one of the expiry options, checked before sending. */
    ASSERT_ERR(
        reds_getex(c, REDS_STR("k"), &(reds_getex_opts){.ex = REDS_I64(10), .persist = true}, &v),
        REDS_ERR_DATA);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(ttl_of("k"), REDS_TTL_NO_EXPIRY);
}
END_TEST

START_TEST(getset_deprecated)
{
    reds_str *v = NULL;
    ASSERT_OK(reds_getset(c, REDS_STR("k"), REDS_STR("v1"), &v));
    ck_assert_ptr_null(v);
    ASSERT_OK(reds_getset(c, REDS_STR("k"), REDS_STR("v2"), &v));
    ASSERT_STR(v, "v1");
    reds_free(v);
    assert_value("k", "v2");
}
END_TEST

START_TEST(getrange_and_substr)
{
    ASSERT_OK(reds_set(c, REDS_STR("k"), REDS_STR("This is a string"), NULL, NULL));
    reds_str *v = NULL;
    ASSERT_OK(reds_getrange(c, REDS_STR("k"), 0, 3, &v));
    ASSERT_STR(v, "This");
    reds_free(v);
    ASSERT_OK(reds_getrange(c, REDS_STR("k"), -3, -1, &v));
    ASSERT_STR(v, "ing");
    reds_free(v);
    ASSERT_OK(reds_getrange(c, REDS_STR("k"), 0, -1, &v));
    ASSERT_STR(v, "This is a string");
    reds_free(v);
    ASSERT_OK(reds_getrange(c, REDS_STR("k"), 10, 100, &v));
    ASSERT_STR(v, "string");
    reds_free(v);
    /* A missing key is the empty string, not nil. */
    ASSERT_OK(reds_getrange(c, REDS_STR("nokey"), 0, 10, &v));
    ASSERT_STR(v, "");
    reds_free(v);
    ASSERT_OK(reds_substr(c, REDS_STR("k"), 5, 8, &v));
    ASSERT_STR(v, "is a");
    reds_free(v);
    ASSERT_OK(reds_substr(c, REDS_STR("k"), -6, -1, &v));
    ASSERT_STR(v, "string");
    reds_free(v);
}
END_TEST

/* ------------------------------------------------------------- counters */

START_TEST(incr_decr)
{
    int64_t n = 0;
    ASSERT_OK(reds_incr(c, REDS_STR("n"), &n));
    ck_assert_int_eq(n, 1);
    ASSERT_OK(reds_incrby(c, REDS_STR("n"), 41, &n));
    ck_assert_int_eq(n, 42);
    ASSERT_OK(reds_incrby(c, REDS_STR("n"), -50, &n));
    ck_assert_int_eq(n, -8);
    ASSERT_OK(reds_decr(c, REDS_STR("n"), &n));
    ck_assert_int_eq(n, -9);
    ASSERT_OK(reds_decrby(c, REDS_STR("n"), 11, &n));
    ck_assert_int_eq(n, -20);
    ASSERT_OK(reds_decrby(c, REDS_STR("m"), -3, &n));
    ck_assert_int_eq(n, 3);
    assert_value("n", "-20");
    /* The extremes of int64 go through exactly. */
    ASSERT_OK(reds_set(c, REDS_STR("big"), REDS_STR("9223372036854775806"), NULL, NULL));
    ASSERT_OK(reds_incr(c, REDS_STR("big"), &n));
    ck_assert_int_eq(n, INT64_MAX);
    ASSERT_ERR(reds_incr(c, REDS_STR("big"), &n), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "overflow"));
    ASSERT_OK(reds_set(c, REDS_STR("small"), REDS_STR("0"), NULL, NULL));
    ASSERT_OK(reds_incrby(c, REDS_STR("small"), INT64_MIN, &n));
    ck_assert(n == INT64_MIN);
}
END_TEST

START_TEST(incrbyfloat)
{
    double d = 0;
    /* The example of the Redis documentation. */
    ASSERT_OK(reds_set(c, REDS_STR("f"), REDS_STR("10.50"), NULL, NULL));
    ASSERT_OK(reds_incrbyfloat(c, REDS_STR("f"), 0.1, &d));
    ck_assert(d == 10.6);
    assert_value("f", "10.6");
    ASSERT_OK(reds_incrbyfloat(c, REDS_STR("f"), -5, &d));
    ck_assert(d == 5.6);
    assert_value("f", "5.6");
    ASSERT_OK(reds_set(c, REDS_STR("g"), REDS_STR("5.0e3"), NULL, NULL));
    ASSERT_OK(reds_incrbyfloat(c, REDS_STR("g"), 2.0e2, &d));
    ck_assert(d == 5200);
    assert_value("g", "5200");
    ASSERT_OK(reds_incrbyfloat(c, REDS_STR("new"), 1.5, &d));
    ck_assert(d == 1.5);
    /* An infinity is sent and refused by the server; NaN is not sent. */
    ASSERT_ERR(reds_incrbyfloat(c, REDS_STR("new"), 1.0 / 0.0, &d), REDS_ERR_RESPONSE);
    ASSERT_ERR(reds_incrbyfloat(c, REDS_STR("new"), 0.0 / 0.0, &d), REDS_ERR_DATA);
    assert_value("new", "1.5");
}
END_TEST

START_TEST(counter_errors)
{
    int64_t n = 7;
    ASSERT_OK(reds_set(c, REDS_STR("s"), REDS_STR("abc"), NULL, NULL));
    ASSERT_ERR(reds_incr(c, REDS_STR("s"), &n), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "not an integer"));
    ck_assert_int_eq(n, 0); /* the output is cleared on failure */
    ASSERT_ERR(reds_decrby(c, REDS_STR("s"), 1, &n), REDS_ERR_RESPONSE);
    double d = 3;
    ASSERT_ERR(reds_incrbyfloat(c, REDS_STR("s"), 1, &d), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "not a valid float"));
    reds_free(test_run(c, "HSET", "h", "f", "1", NULL));
    ASSERT_ERR(reds_incr(c, REDS_STR("h"), &n), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "WRONGTYPE"));
    ck_assert(reds_err_is(REDS_ERR_RESPONSE, REDS_ERR));
}
END_TEST

/* ---------------------------------------------------- APPEND, SETRANGE */

START_TEST(append_and_strlen)
{
    int64_t n = 0;
    ASSERT_OK(reds_append(c, REDS_STR("k"), REDS_STR("Hello"), &n));
    ck_assert_int_eq(n, 5);
    ASSERT_OK(reds_append(c, REDS_STR("k"), reds_strn(" \0World", 7), &n));
    ck_assert_int_eq(n, 12);
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, REDS_STR("k"), &v));
    ASSERT_BYTES(v, "Hello \0World", 12);
    reds_free(v);
    ASSERT_OK(reds_strlen(c, REDS_STR("k"), &n));
    ck_assert_int_eq(n, 12);
    ASSERT_OK(reds_strlen(c, REDS_STR("nokey"), &n));
    ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(setrange)
{
    int64_t n = 0;
    ASSERT_OK(reds_set(c, REDS_STR("k"), REDS_STR("Hello World"), NULL, NULL));
    ASSERT_OK(reds_setrange(c, REDS_STR("k"), 6, REDS_STR("Redis"), &n));
    ck_assert_int_eq(n, 11);
    assert_value("k", "Hello Redis");
    /* Past the end of a missing key: zero bytes pad the gap. */
    ASSERT_OK(reds_setrange(c, REDS_STR("pad"), 3, REDS_STR("ab"), &n));
    ck_assert_int_eq(n, 5);
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, REDS_STR("pad"), &v));
    ASSERT_BYTES(v, "\0\0\0ab", 5);
    reds_free(v);
    ASSERT_ERR(reds_setrange(c, REDS_STR("k"), -1, REDS_STR("x"), &n), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "offset is out of range"));
}
END_TEST

/* ------------------------------------------------------ MGET, MSET(NX) */

START_TEST(mset_mget)
{
    reds_key_value kv[] = {
        {REDS_STR("a"), REDS_STR("1")},
        {REDS_STR("b"), reds_strn("2\0two", 5)},
        {REDS_STR("c"), REDS_STR("")},
    };
    ASSERT_OK(reds_mset(c, kv, 3));
    reds_str keys[] = {REDS_STR("a"), REDS_STR("nokey"), REDS_STR("b"), REDS_STR("c"),
                       REDS_STR("a")};
    reds_strlist *l = NULL;
    ASSERT_OK(reds_mget(c, keys, 5, &l));
    ck_assert_uint_eq(l->count, 5);
    ASSERT_STR(&l->items[0], "1");
    ck_assert_ptr_null(l->items[1].ptr); /* a missing key is a nil element */
    ASSERT_BYTES(&l->items[2], "2\0two", 5);
    ASSERT_STR(&l->items[3], "");
    ASSERT_STR(&l->items[4], "1");
    reds_free(l);
    /* A hash among the keys is nil for MGET, not an error. */
    reds_free(test_run(c, "HSET", "h", "f", "v", NULL));
    ASSERT_OK(reds_mget(c, &(reds_str){"h", 1}, 1, &l));
    ck_assert_uint_eq(l->count, 1);
    ck_assert_ptr_null(l->items[0].ptr);
    reds_free(l);
}
END_TEST

START_TEST(msetnx)
{
    bool ok = false;
    reds_key_value kv[] = {{REDS_STR("a"), REDS_STR("1")}, {REDS_STR("b"), REDS_STR("2")}};
    ASSERT_OK(reds_msetnx(c, kv, 2, &ok));
    ck_assert(ok);
    /* One key exists: nothing at all is set. */
    reds_key_value kv2[] = {{REDS_STR("c"), REDS_STR("3")}, {REDS_STR("a"), REDS_STR("x")}};
    ASSERT_OK(reds_msetnx(c, kv2, 2, &ok));
    ck_assert(!ok);
    assert_missing("c");
    assert_value("a", "1");
    assert_value("b", "2");
}
END_TEST

/* ------------------------------------------------------------------ LCS */

static void lcs_setup(void)
{
    reds_key_value kv[] = {{REDS_STR("key1"), REDS_STR("ohmytext")},
                           {REDS_STR("key2"), REDS_STR("mynewtext")}};
    ASSERT_OK(reds_mset(c, kv, 2));
}

START_TEST(lcs_string_and_len)
{
    lcs_setup();
    reds_str *v = NULL;
    ASSERT_OK(reds_lcs(c, REDS_STR("key1"), REDS_STR("key2"), &v));
    ASSERT_STR(v, "mytext");
    reds_free(v);
    int64_t n = 0;
    ASSERT_OK(reds_lcs_len(c, REDS_STR("key1"), REDS_STR("key2"), &n));
    ck_assert_int_eq(n, 6);
    /* Missing keys are empty strings. */
    ASSERT_OK(reds_lcs(c, REDS_STR("key1"), REDS_STR("nokey"), &v));
    ASSERT_STR(v, "");
    reds_free(v);
    ASSERT_OK(reds_lcs_len(c, REDS_STR("nokey"), REDS_STR("key2"), &n));
    ck_assert_int_eq(n, 0);
}
END_TEST

static void assert_match(const reds_lcs_match *m, int64_t a0, int64_t a1, int64_t b0, int64_t b1,
                         int64_t len)
{
    ck_assert_int_eq(m->a.start, a0);
    ck_assert_int_eq(m->a.end, a1);
    ck_assert_int_eq(m->b.start, b0);
    ck_assert_int_eq(m->b.end, b1);
    ck_assert_int_eq(m->len, len);
}

START_TEST(lcs_idx)
{
    lcs_setup();
    reds_lcs_result *r = NULL;
    ASSERT_OK(reds_lcs_idx(c, REDS_STR("key1"), REDS_STR("key2"), NULL, &r));
    ck_assert_int_eq(r->len, 6);
    ck_assert_uint_eq(r->nmatches, 2);
    /* "text" is key1[4..7] and key2[5..8]; "my" is key1[2..3], key2[0..1]. */
    assert_match(&r->matches[0], 4, 7, 5, 8, 0);
    assert_match(&r->matches[1], 2, 3, 0, 1, 0);
    reds_free(r);

    ASSERT_OK(reds_lcs_idx(c, REDS_STR("key1"), REDS_STR("key2"),
                           &(reds_lcs_opts){.withmatchlen = true}, &r));
    ck_assert_int_eq(r->len, 6);
    ck_assert_uint_eq(r->nmatches, 2);
    assert_match(&r->matches[0], 4, 7, 5, 8, 4);
    assert_match(&r->matches[1], 2, 3, 0, 1, 2);
    reds_free(r);

    ASSERT_OK(reds_lcs_idx(c, REDS_STR("key1"), REDS_STR("key2"),
                           &(reds_lcs_opts){.minmatchlen = REDS_I64(4), .withmatchlen = true}, &r));
    ck_assert_int_eq(r->len, 6); /* the LCS length is not filtered */
    ck_assert_uint_eq(r->nmatches, 1);
    assert_match(&r->matches[0], 4, 7, 5, 8, 4);
    reds_free(r);

    ASSERT_OK(reds_lcs_idx(c, REDS_STR("key1"), REDS_STR("key2"),
                           &(reds_lcs_opts){.minmatchlen = REDS_I64(5)}, &r));
    ck_assert_int_eq(r->len, 6);
    ck_assert_uint_eq(r->nmatches, 0);
    ck_assert_ptr_null(r->matches);
    reds_free(r);

    /* MINMATCHLEN 0 is a value to send, like any other (keeps every match). */
    ASSERT_OK(reds_lcs_idx(c, REDS_STR("key1"), REDS_STR("key2"),
                           &(reds_lcs_opts){.minmatchlen = REDS_I64(0)}, &r));
    ck_assert_uint_eq(r->nmatches, 2);
    reds_free(r);

    reds_free(test_run(c, "RPUSH", "list", "a", NULL));
    r = (reds_lcs_result *)&r;
    ASSERT_ERR(reds_lcs_idx(c, REDS_STR("key1"), REDS_STR("list"), NULL, &r), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(r);
}
END_TEST

/* ------------------------------------------------------ argument checks */

START_TEST(null_client)
{
    reds_str *v = (reds_str *)&v;
    ASSERT_ERR(reds_get(NULL, REDS_STR("k"), &v), REDS_ERR_DATA);
    ck_assert_ptr_null(v);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "NULL"));
    ASSERT_ERR(reds_set(NULL, REDS_STR("k"), REDS_STR("v"), NULL, NULL), REDS_ERR_DATA);
    int64_t n = 5;
    ASSERT_ERR(reds_incr(NULL, REDS_STR("k"), &n), REDS_ERR_DATA);
    ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(null_pointer_with_length)
{
    ASSERT_ERR(reds_set(c, reds_strn(NULL, 3), REDS_STR("v"), NULL, NULL), REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "key"));
    ASSERT_ERR(reds_set(c, REDS_STR("k"), reds_strn(NULL, 1), NULL, NULL), REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "value"));
    assert_missing("k");
    reds_key_value kv[] = {{REDS_STR("a"), REDS_STR("1")}, {REDS_STR("b"), reds_strn(NULL, 2)}};
    ASSERT_ERR(reds_mset(c, kv, 2), REDS_ERR_DATA);
    assert_missing("a"); /* nothing was sent, not even the valid pair */
    ASSERT_ERR(reds_append(c, REDS_STR("k"), reds_strn(NULL, 4), NULL), REDS_ERR_DATA);
    assert_missing("k");
}
END_TEST

START_TEST(required_array_empty)
{
    reds_strlist *l = (reds_strlist *)&l;
    reds_str keys[] = {REDS_STR("a")};
    ASSERT_ERR(reds_mget(c, keys, 0, &l), REDS_ERR_DATA);
    ck_assert_ptr_null(l);
    ASSERT_ERR(reds_mget(c, NULL, 2, &l), REDS_ERR_DATA);
    ASSERT_ERR(reds_mset(c, NULL, 0), REDS_ERR_DATA);
    bool ok = true;
    ASSERT_ERR(reds_msetnx(c, (reds_key_value[]){{REDS_STR("a"), REDS_STR("1")}}, 0, &ok),
               REDS_ERR_DATA);
    ck_assert(!ok);
    assert_missing("a");
}
END_TEST

START_TEST(enum_out_of_range)
{
    bool ok = true;
    ASSERT_ERR(reds_set(c, REDS_STR("k"), REDS_STR("v"),
                        &(reds_set_opts){.condition = (reds_set_condition)3}, &ok),
               REDS_ERR_DATA);
    ck_assert(!ok);
    ASSERT_ERR(reds_set(c, REDS_STR("k"), REDS_STR("v"),
                        &(reds_set_opts){.condition = (reds_set_condition)-1}, &ok),
               REDS_ERR_DATA);
    reds_str *old = NULL;
    ASSERT_ERR(reds_set_get(c, REDS_STR("k"), REDS_STR("v"),
                            &(reds_set_opts){.condition = (reds_set_condition)9}, &old),
               REDS_ERR_DATA);
    assert_missing("k");
}
END_TEST

START_TEST(exclusive_options)
{
    bool ok = true;
    ASSERT_ERR(reds_set(c, REDS_STR("k"), REDS_STR("v"),
                        &(reds_set_opts){.ex = REDS_I64(10), .px = REDS_I64(10000)}, &ok),
               REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "at most one"));
    ASSERT_ERR(reds_set(c, REDS_STR("k"), REDS_STR("v"),
                        &(reds_set_opts){.exat = REDS_I64(10), .keepttl = true}, &ok),
               REDS_ERR_DATA);
    ASSERT_ERR(reds_set(c, REDS_STR("k"), REDS_STR("v"),
                        &(reds_set_opts){.pxat = REDS_I64(1), .px = REDS_I64(1)}, &ok),
               REDS_ERR_DATA);
    reds_str *old = NULL;
    ASSERT_ERR(reds_set_get(c, REDS_STR("k"), REDS_STR("v"),
                            &(reds_set_opts){.ex = REDS_I64(1), .keepttl = true}, &old),
               REDS_ERR_DATA);
    reds_str *v = NULL;
    ASSERT_ERR(reds_getex(c, REDS_STR("k"),
                          &(reds_getex_opts){.px = REDS_I64(1), .exat = REDS_I64(1)}, &v),
               REDS_ERR_DATA);
    assert_missing("k");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("strings");
    struct {
        const char *name;
        const TTest *tests[8];
    } groups[] = {
        {"set",
         {set_and_get_binary, set_nx_xx, set_get_variant, set_expiry_options, setnx_setex_psetex}},
        {"get",
         {get_missing_and_wrongtype, getdel, getex_options, getset_deprecated,
          getrange_and_substr}},
        {"counters", {incr_decr, incrbyfloat, counter_errors}},
        {"append_setrange", {append_and_strlen, setrange}},
        {"mget_mset", {mset_mget, msetnx}},
        {"lcs", {lcs_string_and_len, lcs_idx}},
        {"argument_checks",
         {null_client, null_pointer_with_length, required_array_empty, enum_out_of_range,
          exclusive_options}},
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
