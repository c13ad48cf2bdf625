/* The generic (keyspace) group against a real server: every bound command
 * and variant with its options, exact replies, server errors and argument
 * checks. MIGRATE goes to a second server of the fixture. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

#define RUN(...) reds_free(test_run(c, __VA_ARGS__, NULL))

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

static void set(reds_client *cl, const char *key, const char *value)
{
    ASSERT_OK(reds_set(cl, reds_cstr(key), reds_cstr(value), NULL, NULL));
}

/* Assert that `key` on `cl` holds `expect`, or is missing when NULL. */
static void assert_value_on(reds_client *cl, const char *key, const char *expect)
{
    reds_str *v = NULL;
    ASSERT_OK(reds_get(cl, reds_cstr(key), &v));
    if (expect)
        ASSERT_STR(v, expect);
    else
        ck_assert_msg(v == NULL, "%s exists, expected it missing", key);
    reds_free(v);
}

#define assert_value(key, expect) assert_value_on(c, key, expect)

static int64_t ttl_of(const char *key)
{
    int64_t t = 0;
    ASSERT_OK(reds_ttl(c, reds_cstr(key), &t));
    return t;
}

static int cmp_str(const void *a, const void *b)
{
    const reds_str *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->ptr, y->ptr, n);
    return r ? r : (x->len > y->len) - (x->len < y->len);
}

/* Assert a list holds exactly `expect` (a NULL-terminated array) in any
 * order; sorts the list. */
static void assert_same_set(reds_strlist *l, const char *const *expect)
{
    size_t n = 0;
    while (expect[n])
        n++;
    ck_assert_uint_eq(l->count, n);
    qsort(l->items, l->count, sizeof *l->items, cmp_str);
    const char *sorted[32];
    memcpy(sorted, expect, n * sizeof *expect);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(sorted[j - 1], sorted[j]) > 0; j--) {
            const char *t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++)
        ASSERT_STR(&l->items[i], sorted[i]);
}

/* Assert a list holds exactly `expect`, in order; NULL in `expect` is a
 * nil element, and `n` is the expected count. */
static void assert_list(const reds_strlist *l, size_t n, const char *const *expect)
{
    ck_assert_uint_eq(l->count, n);
    for (size_t i = 0; i < n; i++) {
        if (expect[i])
            ASSERT_STR(&l->items[i], expect[i]);
        else
            ck_assert_msg(l->items[i].ptr == NULL, "element %zu is not nil", i);
    }
}

/* -------------------------------------------- DEL, EXISTS, UNLINK, TOUCH */

START_TEST(del_exists_unlink)
{
    reds_key_value kv[] = {{REDS_STR("a"), REDS_STR("1")},
                           {REDS_STR("b"), REDS_STR("2")},
                           {REDS_STR("c"), REDS_STR("3")},
                           {REDS_STR("d"), REDS_STR("4")}};
    ASSERT_OK(reds_mset(c, kv, 4));
    int64_t n = 0;
    reds_str k1[] = {REDS_STR("a"), REDS_STR("a"), REDS_STR("nokey"), REDS_STR("b")};
    ASSERT_OK(reds_exists(c, k1, 4, &n));
    ck_assert_int_eq(n, 3); /* a key named twice counts twice */
    reds_str k2[] = {REDS_STR("a"), REDS_STR("nokey")};
    ASSERT_OK(reds_del(c, k2, 2, &n));
    ck_assert_int_eq(n, 1);
    reds_str k3[] = {REDS_STR("b"), REDS_STR("c"), REDS_STR("nokey")};
    ASSERT_OK(reds_unlink(c, k3, 3, &n));
    ck_assert_int_eq(n, 2);
    reds_str all[] = {REDS_STR("a"), REDS_STR("b"), REDS_STR("c"), REDS_STR("d")};
    ASSERT_OK(reds_exists(c, all, 4, &n));
    ck_assert_int_eq(n, 1);
    assert_value("d", "4");
    ASSERT_OK(reds_del(c, all, 4, &n));
    ck_assert_int_eq(n, 1);
    ASSERT_OK(reds_exists(c, all, 4, &n));
    ck_assert_int_eq(n, 0);
    /* A required key list may not be empty: nothing is sent. */
    set(c, "e", "5");
    n = 9;
    ASSERT_ERR(reds_del(c, all, 0, &n), REDS_ERR_DATA);
    ck_assert_int_eq(n, 0);
    ASSERT_ERR(reds_unlink(c, NULL, 0, &n), REDS_ERR_DATA);
    ASSERT_ERR(reds_exists(c, NULL, 1, &n), REDS_ERR_DATA);
    ASSERT_ERR(reds_del(c, (reds_str[]){REDS_STR("e"), reds_strn(NULL, 1)}, 2, &n), REDS_ERR_DATA);
    assert_value("e", "5");
    ASSERT_ERR(reds_del(NULL, all, 1, &n), REDS_ERR_DATA);
}
END_TEST

START_TEST(touch)
{
    set(c, "a", "1");
    set(c, "b", "2");
    int64_t n = 0;
    reds_str keys[] = {REDS_STR("a"), REDS_STR("b"), REDS_STR("nokey")};
    ASSERT_OK(reds_touch(c, keys, 3, &n));
    ck_assert_int_eq(n, 2);
    /* A key restored as idle for 1000 s is fresh again after TOUCH. */
    reds_str *dump = NULL;
    ASSERT_OK(reds_dump(c, REDS_STR("a"), &dump));
    ASSERT_OK(reds_restore(c, REDS_STR("idle"), 0, *dump,
                           &(reds_restore_opts){.seconds = REDS_I64(1000)}));
    reds_free(dump);
    reds_opt_i64 idle = {0};
    ASSERT_OK(reds_object_idletime(c, REDS_STR("idle"), &idle));
    ck_assert(idle.set);
    ck_assert_int_ge(idle.value, 1000);
    ck_assert_int_le(idle.value, 1001);
    ASSERT_OK(reds_touch(c, (reds_str[]){REDS_STR("idle")}, 1, &n));
    ck_assert_int_eq(n, 1);
    ASSERT_OK(reds_object_idletime(c, REDS_STR("idle"), &idle));
    ck_assert(idle.set);
    ck_assert_int_le(idle.value, 1);
    ASSERT_ERR(reds_touch(c, keys, 0, &n), REDS_ERR_DATA);
}
END_TEST

/* ------------------------------------------------------------ expiry */

START_TEST(expire_conditions)
{
    bool ok = true;
    ASSERT_OK(reds_expire(c, REDS_STR("nokey"), 100, NULL, &ok));
    ck_assert(!ok);
    set(c, "k", "v");
    /* Without a TTL: XX and GT do nothing, NX and LT set one. */
    ASSERT_OK(reds_expire(c, REDS_STR("k"), 100,
                          &(reds_expire_opts){.condition = REDS_EXPIRE_CONDITION_XX}, &ok));
    ck_assert(!ok);
    ASSERT_OK(reds_expire(c, REDS_STR("k"), 100,
                          &(reds_expire_opts){.condition = REDS_EXPIRE_CONDITION_GT}, &ok));
    ck_assert(!ok);
    ck_assert_int_eq(ttl_of("k"), REDS_TTL_NO_EXPIRY);
    ASSERT_OK(reds_expire(c, REDS_STR("k"), 100,
                          &(reds_expire_opts){.condition = REDS_EXPIRE_CONDITION_NX}, &ok));
    ck_assert(ok);
    ck_assert_int_ge(ttl_of("k"), 99);
    ck_assert_int_le(ttl_of("k"), 100);
    ASSERT_OK(reds_expire(c, REDS_STR("k"), 500,
                          &(reds_expire_opts){.condition = REDS_EXPIRE_CONDITION_NX}, &ok));
    ck_assert(!ok);
    ASSERT_OK(reds_expire(c, REDS_STR("k"), 200,
                          &(reds_expire_opts){.condition = REDS_EXPIRE_CONDITION_XX}, &ok));
    ck_assert(ok);
    ck_assert_int_ge(ttl_of("k"), 199);
    ASSERT_OK(reds_expire(c, REDS_STR("k"), 150,
                          &(reds_expire_opts){.condition = REDS_EXPIRE_CONDITION_GT}, &ok));
    ck_assert(!ok);
    ASSERT_OK(reds_expire(c, REDS_STR("k"), 300,
                          &(reds_expire_opts){.condition = REDS_EXPIRE_CONDITION_GT}, &ok));
    ck_assert(ok);
    ck_assert_int_ge(ttl_of("k"), 299);
    ASSERT_OK(reds_expire(c, REDS_STR("k"), 400,
                          &(reds_expire_opts){.condition = REDS_EXPIRE_CONDITION_LT}, &ok));
    ck_assert(!ok);
    ASSERT_OK(reds_expire(c, REDS_STR("k"), 50,
                          &(reds_expire_opts){.condition = REDS_EXPIRE_CONDITION_LT}, &ok));
    ck_assert(ok);
    ck_assert_int_ge(ttl_of("k"), 49);
    ck_assert_int_le(ttl_of("k"), 50);
    set(c, "j", "v");
    ASSERT_OK(reds_expire(c, REDS_STR("j"), 70,
                          &(reds_expire_opts){.condition = REDS_EXPIRE_CONDITION_LT}, &ok));
    ck_assert(ok);
    ck_assert_int_ge(ttl_of("j"), 69);
    /* Plain EXPIRE overwrites; a negative TTL deletes. */
    ASSERT_OK(reds_expire(c, REDS_STR("k"), 1000, NULL, &ok));
    ck_assert(ok);
    ck_assert_int_ge(ttl_of("k"), 999);
    ASSERT_OK(reds_expire(c, REDS_STR("k"), -1, NULL, &ok));
    ck_assert(ok);
    assert_value("k", NULL);
    ASSERT_ERR(reds_expire(c, REDS_STR("j"), 5,
                           &(reds_expire_opts){.condition = (reds_expire_condition)5}, &ok),
               REDS_ERR_DATA);
    ck_assert_int_ge(ttl_of("j"), 69);
}
END_TEST

START_TEST(expireat_and_expiretime)
{
    bool ok = false;
    int64_t t = 0;
    set(c, "k", "v");
    ASSERT_OK(reds_expiretime(c, REDS_STR("k"), &t));
    ck_assert_int_eq(t, REDS_TTL_NO_EXPIRY);
    ASSERT_OK(reds_expiretime(c, REDS_STR("nokey"), &t));
    ck_assert_int_eq(t, REDS_TTL_NO_KEY);
    int64_t at = now_s() + 1000;
    ASSERT_OK(reds_expireat(c, REDS_STR("k"), at,
                            &(reds_expireat_opts){.condition = REDS_EXPIREAT_CONDITION_XX}, &ok));
    ck_assert(!ok);
    ASSERT_OK(reds_expireat(c, REDS_STR("k"), at,
                            &(reds_expireat_opts){.condition = REDS_EXPIREAT_CONDITION_NX}, &ok));
    ck_assert(ok);
    ASSERT_OK(reds_expiretime(c, REDS_STR("k"), &t));
    ck_assert_int_eq(t, at);
    ASSERT_OK(reds_expireat(c, REDS_STR("k"), at - 10,
                            &(reds_expireat_opts){.condition = REDS_EXPIREAT_CONDITION_GT}, &ok));
    ck_assert(!ok);
    ASSERT_OK(reds_expireat(c, REDS_STR("k"), at + 10,
                            &(reds_expireat_opts){.condition = REDS_EXPIREAT_CONDITION_GT}, &ok));
    ck_assert(ok);
    ASSERT_OK(reds_expireat(c, REDS_STR("k"), at + 20,
                            &(reds_expireat_opts){.condition = REDS_EXPIREAT_CONDITION_LT}, &ok));
    ck_assert(!ok);
    ASSERT_OK(reds_expireat(c, REDS_STR("k"), at + 5,
                            &(reds_expireat_opts){.condition = REDS_EXPIREAT_CONDITION_LT}, &ok));
    ck_assert(ok);
    ASSERT_OK(reds_expireat(c, REDS_STR("k"), at + 7,
                            &(reds_expireat_opts){.condition = REDS_EXPIREAT_CONDITION_XX}, &ok));
    ck_assert(ok);
    ASSERT_OK(reds_expireat(c, REDS_STR("k"), at + 8, NULL, &ok));
    ck_assert(ok);
    ASSERT_OK(reds_expiretime(c, REDS_STR("k"), &t));
    ck_assert_int_eq(t, at + 8);
    /* A time in the past deletes the key. */
    ASSERT_OK(reds_expireat(c, REDS_STR("k"), 1, NULL, &ok));
    ck_assert(ok);
    assert_value("k", NULL);
    ASSERT_OK(reds_expireat(c, REDS_STR("nokey"), at, NULL, &ok));
    ck_assert(!ok);
}
END_TEST

START_TEST(pexpire_pttl)
{
    bool ok = false;
    int64_t t = 0;
    ASSERT_OK(reds_pttl(c, REDS_STR("nokey"), &t));
    ck_assert_int_eq(t, REDS_TTL_NO_KEY);
    set(c, "k", "v");
    ASSERT_OK(reds_pttl(c, REDS_STR("k"), &t));
    ck_assert_int_eq(t, REDS_TTL_NO_EXPIRY);
    ASSERT_OK(reds_pexpire(c, REDS_STR("k"), 100000,
                           &(reds_pexpire_opts){.condition = REDS_PEXPIRE_CONDITION_XX}, &ok));
    ck_assert(!ok);
    ASSERT_OK(reds_pexpire(c, REDS_STR("k"), 100000,
                           &(reds_pexpire_opts){.condition = REDS_PEXPIRE_CONDITION_NX}, &ok));
    ck_assert(ok);
    ASSERT_OK(reds_pttl(c, REDS_STR("k"), &t));
    ck_assert_int_gt(t, 90000);
    ck_assert_int_le(t, 100000);
    ASSERT_OK(reds_pexpire(c, REDS_STR("k"), 50000,
                           &(reds_pexpire_opts){.condition = REDS_PEXPIRE_CONDITION_GT}, &ok));
    ck_assert(!ok);
    ASSERT_OK(reds_pexpire(c, REDS_STR("k"), 200000,
                           &(reds_pexpire_opts){.condition = REDS_PEXPIRE_CONDITION_GT}, &ok));
    ck_assert(ok);
    ASSERT_OK(reds_pexpire(c, REDS_STR("k"), 300000,
                           &(reds_pexpire_opts){.condition = REDS_PEXPIRE_CONDITION_LT}, &ok));
    ck_assert(!ok);
    ASSERT_OK(reds_pexpire(c, REDS_STR("k"), 30000,
                           &(reds_pexpire_opts){.condition = REDS_PEXPIRE_CONDITION_LT}, &ok));
    ck_assert(ok);
    ASSERT_OK(reds_pttl(c, REDS_STR("k"), &t));
    ck_assert_int_gt(t, 20000);
    ck_assert_int_le(t, 30000);
    ck_assert_int_ge(ttl_of("k"), 29); /* TTL rounds the same expiry to seconds */
    ck_assert_int_le(ttl_of("k"), 30);
    ASSERT_OK(reds_pexpire(c, REDS_STR("k"), 40000, NULL, &ok));
    ck_assert(ok);
    ASSERT_OK(reds_pttl(c, REDS_STR("k"), &t));
    ck_assert_int_gt(t, 30000);
}
END_TEST

START_TEST(pexpireat_pexpiretime)
{
    bool ok = false;
    int64_t t = 0;
    set(c, "k", "v");
    ASSERT_OK(reds_pexpiretime(c, REDS_STR("k"), &t));
    ck_assert_int_eq(t, REDS_TTL_NO_EXPIRY);
    ASSERT_OK(reds_pexpiretime(c, REDS_STR("nokey"), &t));
    ck_assert_int_eq(t, REDS_TTL_NO_KEY);
    int64_t at = unix_ms() + 1000000;
    ASSERT_OK(reds_pexpireat(c, REDS_STR("k"), at,
                             &(reds_pexpireat_opts){.condition = REDS_PEXPIREAT_CONDITION_XX},
                             &ok));
    ck_assert(!ok);
    ASSERT_OK(reds_pexpireat(c, REDS_STR("k"), at,
                             &(reds_pexpireat_opts){.condition = REDS_PEXPIREAT_CONDITION_NX},
                             &ok));
    ck_assert(ok);
    ASSERT_OK(reds_pexpiretime(c, REDS_STR("k"), &t));
    ck_assert_int_eq(t, at);
    /* EXPIRETIME is the same instant in seconds, rounded to the nearest. */
    ASSERT_OK(reds_expiretime(c, REDS_STR("k"), &t));
    ck_assert_int_eq(t, (at + 500) / 1000);
    ASSERT_OK(reds_pexpireat(c, REDS_STR("k"), at - 1,
                             &(reds_pexpireat_opts){.condition = REDS_PEXPIREAT_CONDITION_GT},
                             &ok));
    ck_assert(!ok);
    ASSERT_OK(reds_pexpireat(c, REDS_STR("k"), at + 1,
                             &(reds_pexpireat_opts){.condition = REDS_PEXPIREAT_CONDITION_GT},
                             &ok));
    ck_assert(ok);
    ASSERT_OK(reds_pexpireat(c, REDS_STR("k"), at + 2,
                             &(reds_pexpireat_opts){.condition = REDS_PEXPIREAT_CONDITION_LT},
                             &ok));
    ck_assert(!ok);
    ASSERT_OK(reds_pexpireat(c, REDS_STR("k"), at - 3,
                             &(reds_pexpireat_opts){.condition = REDS_PEXPIREAT_CONDITION_LT},
                             &ok));
    ck_assert(ok);
    ASSERT_OK(reds_pexpireat(c, REDS_STR("k"), at + 4, NULL, &ok));
    ck_assert(ok);
    ASSERT_OK(reds_pexpiretime(c, REDS_STR("k"), &t));
    ck_assert_int_eq(t, at + 4);
}
END_TEST

START_TEST(persist_and_ttl)
{
    bool ok = true;
    int64_t t = 0;
    ASSERT_OK(reds_ttl(c, REDS_STR("nokey"), &t));
    ck_assert_int_eq(t, REDS_TTL_NO_KEY);
    set(c, "k", "v");
    ASSERT_OK(reds_persist(c, REDS_STR("k"), &ok));
    ck_assert(!ok); /* no TTL to remove */
    ASSERT_OK(reds_expire(c, REDS_STR("k"), 100, NULL, NULL));
    ASSERT_OK(reds_persist(c, REDS_STR("k"), &ok));
    ck_assert(ok);
    ck_assert_int_eq(ttl_of("k"), REDS_TTL_NO_EXPIRY);
    ASSERT_OK(reds_persist(c, REDS_STR("nokey"), &ok));
    ck_assert(!ok);
}
END_TEST

/* ------------------------------------------------ KEYS, RANDOMKEY, TYPE */

START_TEST(keys_pattern)
{
    reds_key_value kv[] = {{REDS_STR("one"), REDS_STR("1")},
                           {REDS_STR("two"), REDS_STR("2")},
                           {REDS_STR("three"), REDS_STR("3")},
                           {REDS_STR("four"), REDS_STR("4")}};
    ASSERT_OK(reds_mset(c, kv, 4));
    reds_strlist *l = NULL;
    ASSERT_OK(reds_keys(c, REDS_STR("*o*"), &l));
    assert_same_set(l, (const char *[]){"one", "two", "four", NULL});
    reds_free(l);
    ASSERT_OK(reds_keys(c, REDS_STR("t??"), &l));
    assert_same_set(l, (const char *[]){"two", NULL});
    reds_free(l);
    ASSERT_OK(reds_keys(c, REDS_STR("*"), &l));
    assert_same_set(l, (const char *[]){"one", "two", "three", "four", NULL});
    reds_free(l);
    ASSERT_OK(reds_keys(c, REDS_STR("nomatch*"), &l));
    ck_assert_uint_eq(l->count, 0);
    reds_free(l);
}
END_TEST

START_TEST(randomkey)
{
    reds_str *k = (reds_str *)&k;
    ASSERT_OK(reds_randomkey(c, &k));
    ck_assert_ptr_null(k); /* empty database */
    ASSERT_OK(reds_set(c, reds_strn("only\0one", 8), REDS_STR("v"), NULL, NULL));
    ASSERT_OK(reds_randomkey(c, &k));
    ck_assert_ptr_nonnull(k);
    ck_assert_uint_eq(k->len, 8);
    ck_assert_mem_eq(k->ptr, "only\0one", 8);
    reds_free(k);
}
END_TEST

START_TEST(type)
{
    set(c, "s", "v");
    RUN("RPUSH", "l", "a");
    RUN("HSET", "h", "f", "v");
    RUN("SADD", "set", "m");
    RUN("ZADD", "z", "1", "m");
    RUN("XADD", "x", "*", "f", "v");
    const char *names[][2] = {{"s", "string"}, {"l", "list"},   {"h", "hash"},    {"set", "set"},
                              {"z", "zset"},   {"x", "stream"}, {"nokey", "none"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        reds_str *t = NULL;
        ASSERT_OK(reds_type(c, reds_cstr(names[i][0]), &t));
        ASSERT_STR(t, names[i][1]);
        reds_free(t);
    }
}
END_TEST

/* ------------------------------------------------ RENAME, COPY, MOVE */

START_TEST(rename_renamenx)
{
    set(c, "a", "1");
    ASSERT_OK(reds_expire(c, REDS_STR("a"), 100, NULL, NULL));
    ASSERT_OK(reds_rename(c, REDS_STR("a"), REDS_STR("b")));
    assert_value("a", NULL);
    assert_value("b", "1");
    ck_assert_int_ge(ttl_of("b"), 99); /* the TTL moves with the value */
    ASSERT_ERR(reds_rename(c, REDS_STR("nokey"), REDS_STR("x")), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "no such key"));
    bool ok = false;
    set(c, "c", "3");
    ASSERT_OK(reds_renamenx(c, REDS_STR("b"), REDS_STR("c"), &ok));
    ck_assert(!ok);
    assert_value("b", "1");
    assert_value("c", "3");
    ASSERT_OK(reds_renamenx(c, REDS_STR("b"), REDS_STR("d"), &ok));
    ck_assert(ok);
    assert_value("b", NULL);
    assert_value("d", "1");
    /* RENAME overwrites. */
    ASSERT_OK(reds_rename(c, REDS_STR("d"), REDS_STR("c")));
    assert_value("c", "1");
    ASSERT_ERR(reds_renamenx(c, REDS_STR("nokey"), REDS_STR("e"), &ok), REDS_ERR_RESPONSE);
}
END_TEST

START_TEST(copy)
{
    reds_client *db1 = test_client(&(reds_options){.db = 1});
    bool ok = false;
    set(c, "s", "v1");
    ASSERT_OK(reds_copy(c, REDS_STR("s"), REDS_STR("d"), NULL, &ok));
    ck_assert(ok);
    assert_value("d", "v1");
    set(c, "s", "v2");
    ASSERT_OK(reds_copy(c, REDS_STR("s"), REDS_STR("d"), NULL, &ok));
    ck_assert(!ok); /* the destination exists */
    assert_value("d", "v1");
    ASSERT_OK(reds_copy(c, REDS_STR("s"), REDS_STR("d"), &(reds_copy_opts){.replace = true}, &ok));
    ck_assert(ok);
    assert_value("d", "v2");
    /* DB: into database 1, which the db-1 client sees and db 0 does not. */
    ASSERT_OK(reds_copy(c, REDS_STR("s"), REDS_STR("other"),
                        &(reds_copy_opts){.destination_db = REDS_I64(1)}, &ok));
    ck_assert(ok);
    assert_value_on(db1, "other", "v2");
    assert_value("other", NULL);
    set(c, "s", "v3");
    ASSERT_OK(reds_copy(c, REDS_STR("s"), REDS_STR("other"),
                        &(reds_copy_opts){.destination_db = REDS_I64(1)}, &ok));
    ck_assert(!ok);
    ASSERT_OK(reds_copy(c, REDS_STR("s"), REDS_STR("other"),
                        &(reds_copy_opts){.destination_db = REDS_I64(1), .replace = true}, &ok));
    ck_assert(ok);
    assert_value_on(db1, "other", "v3");
    /* DB 0 is a value like any other: it is sent. */
    ASSERT_OK(reds_copy(db1, REDS_STR("other"), REDS_STR("back"),
                        &(reds_copy_opts){.destination_db = REDS_I64(0)}, &ok));
    ck_assert(ok);
    assert_value("back", "v3");
    ASSERT_OK(reds_copy(c, REDS_STR("nokey"), REDS_STR("x"), NULL, &ok));
    ck_assert(!ok);
    ASSERT_ERR(reds_copy(c, REDS_STR("s"), REDS_STR("s"), NULL, &ok), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "same"));
    /* Collections are copied whole. */
    RUN("RPUSH", "l", "a", "b");
    ASSERT_OK(reds_copy(c, REDS_STR("l"), REDS_STR("l2"), NULL, &ok));
    ck_assert(ok);
    reds_strlist *items = NULL;
    ASSERT_OK(reds_sort(c, REDS_STR("l2"), &(reds_sort_opts){.alpha = true}, &items));
    assert_list(items, 2, (const char *[]){"a", "b"});
    reds_free(items);
    reds_client_free(db1);
}
END_TEST

START_TEST(move)
{
    reds_client *db1 = test_client(&(reds_options){.db = 1});
    bool ok = false;
    set(c, "k", "v");
    ASSERT_OK(reds_move(c, REDS_STR("k"), 1, &ok));
    ck_assert(ok);
    assert_value("k", NULL);
    assert_value_on(db1, "k", "v");
    set(c, "k", "again");
    ASSERT_OK(reds_move(c, REDS_STR("k"), 1, &ok));
    ck_assert(!ok); /* already there: nothing moves */
    assert_value("k", "again");
    assert_value_on(db1, "k", "v");
    ASSERT_OK(reds_move(c, REDS_STR("nokey"), 1, &ok));
    ck_assert(!ok);
    ASSERT_OK(reds_move(db1, REDS_STR("k"), 0, &ok)); /* db 0 is sent */
    ck_assert(!ok);
    ASSERT_ERR(reds_move(c, REDS_STR("k"), 0, &ok), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "same"));
    ASSERT_ERR(reds_move(c, REDS_STR("k"), 100000, &ok), REDS_ERR_RESPONSE);
    reds_client_free(db1);
}
END_TEST

/* ------------------------------------------------------ DUMP, RESTORE */

START_TEST(dump_restore)
{
    reds_str *dump = NULL;
    ASSERT_OK(reds_dump(c, REDS_STR("nokey"), &dump));
    ck_assert_ptr_null(dump);
    static const char val[] = "bin\0ary\xff";
    ASSERT_OK(reds_set(c, REDS_STR("src"), reds_strn(val, sizeof val - 1), NULL, NULL));
    ASSERT_OK(reds_dump(c, REDS_STR("src"), &dump));
    ck_assert_ptr_nonnull(dump);
    ck_assert_uint_gt(dump->len, sizeof val - 1); /* value + version + CRC */

    ASSERT_OK(reds_restore(c, REDS_STR("dst"), 0, *dump, NULL));
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, REDS_STR("dst"), &v));
    ck_assert_uint_eq(v->len, sizeof val - 1);
    ck_assert_mem_eq(v->ptr, val, sizeof val - 1);
    reds_free(v);
    ck_assert_int_eq(ttl_of("dst"), REDS_TTL_NO_EXPIRY);

    /* The key exists: BUSYKEY, unless REPLACE. */
    ASSERT_ERR(reds_restore(c, REDS_STR("dst"), 0, *dump, NULL), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "BUSYKEY"));
    set(c, "dst", "other");
    ASSERT_OK(
        reds_restore(c, REDS_STR("dst"), 100000, *dump, &(reds_restore_opts){.replace = true}));
    ASSERT_OK(reds_get(c, REDS_STR("dst"), &v));
    ck_assert_mem_eq(v->ptr, val, sizeof val - 1);
    reds_free(v);
    int64_t t = 0;
    ASSERT_OK(reds_pttl(c, REDS_STR("dst"), &t));
    ck_assert_int_gt(t, 90000);
    ck_assert_int_le(t, 100000);

    /* ABSTTL: the ttl is a Unix time in milliseconds. */
    int64_t at = unix_ms() + 500000;
    ASSERT_OK(reds_restore(c, REDS_STR("abs"), at, *dump, &(reds_restore_opts){.absttl = true}));
    ASSERT_OK(reds_pexpiretime(c, REDS_STR("abs"), &t));
    ck_assert_int_eq(t, at);

    /* IDLETIME sets the LRU idle time (the default policy tracks it). */
    ASSERT_OK(reds_restore(c, REDS_STR("idle"), 0, *dump,
                           &(reds_restore_opts){.seconds = REDS_I64(500)}));
    reds_opt_i64 idle = {0};
    ASSERT_OK(reds_object_idletime(c, REDS_STR("idle"), &idle));
    ck_assert(idle.set);
    ck_assert_int_ge(idle.value, 500);
    ck_assert_int_le(idle.value, 501);

    /* REPLACE, ABSTTL and IDLETIME together; IDLETIME 0 is sent. */
    ASSERT_OK(reds_restore(
        c, REDS_STR("idle"), at, *dump,
        &(reds_restore_opts){.replace = true, .absttl = true, .seconds = REDS_I64(0)}));
    ASSERT_OK(reds_pexpiretime(c, REDS_STR("idle"), &t));
    ck_assert_int_eq(t, at);
    ASSERT_OK(reds_object_idletime(c, REDS_STR("idle"), &idle));
    ck_assert_int_le(idle.value, 1);

    ASSERT_ERR(reds_restore(c, REDS_STR("bad"), 0, REDS_STR("not a dump"), NULL),
               REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "payload"));
    assert_value("bad", NULL);
    ASSERT_ERR(reds_restore(c, REDS_STR("bad"), 0, reds_strn(NULL, 3), NULL), REDS_ERR_DATA);

    /* A hash round-trips too. */
    RUN("HSET", "h", "f1", "v1", "f2", "v2");
    reds_str *hd = NULL;
    ASSERT_OK(reds_dump(c, REDS_STR("h"), &hd));
    ASSERT_OK(reds_restore(c, REDS_STR("h2"), 0, *hd, NULL));
    reds_free(hd);
    reds_str *hv = NULL;
    ASSERT_OK(reds_hget(c, REDS_STR("h2"), REDS_STR("f2"), &hv));
    ASSERT_STR(hv, "v2");
    reds_free(hv);
    reds_free(dump);
}
END_TEST

/* The server takes IDLETIME or FREQ, never both ("ERR syntax error"), so
 * the pair is mutually exclusive and must be refused before sending. */
START_TEST(restore_idletime_freq_exclusive)
{
    set(c, "src", "v");
    reds_str *dump = NULL;
    ASSERT_OK(reds_dump(c, REDS_STR("src"), &dump));
    set(c, "dst", "old");
    ASSERT_ERR(reds_restore(c, REDS_STR("dst"), 0, *dump,
                            &(reds_restore_opts){.replace = true,
                                                 .seconds = REDS_I64(10),
                                                 .frequency = REDS_I64(10)}),
               REDS_ERR_DATA);
    reds_free(dump);
    assert_value("dst", "old");
}
END_TEST

/* ----------------------------------------------------------- OBJECT */

static void object_setup(void)
{
    char reply[64];
    setup();
    /* A failed test can leave LFU behind: always start from the default. */
    test_raw("CONFIG SET maxmemory-policy noeviction", reply, sizeof reply);
    ck_assert_str_eq(reply, "+OK");
}

START_TEST(object_encoding_refcount)
{
    set(c, "int", "12345");
    set(c, "short", "hello");
    char big[100];
    memset(big, 'x', sizeof big);
    ASSERT_OK(reds_set(c, REDS_STR("raw"), reds_strn(big, sizeof big), NULL, NULL));
    RUN("HSET", "h", "f", "v");
    const char *enc[][2] = {{"int", "int"}, {"short", "embstr"}, {"raw", "raw"}, {"h", "listpack"}};
    for (size_t i = 0; i < sizeof enc / sizeof enc[0]; i++) {
        reds_str *e = NULL;
        ASSERT_OK(reds_object_encoding(c, reds_cstr(enc[i][0]), &e));
        ASSERT_STR(e, enc[i][1]);
        reds_free(e);
    }
    reds_str *e = (reds_str *)&e;
    ASSERT_OK(reds_object_encoding(c, REDS_STR("nokey"), &e));
    ck_assert_ptr_null(e);

    reds_opt_i64 rc = {0};
    ASSERT_OK(reds_object_refcount(c, REDS_STR("short"), &rc));
    ck_assert(rc.set);
    ck_assert_int_eq(rc.value, 1);
    /* Small integers are shared objects: the server reports INT_MAX. */
    set(c, "small", "100");
    ASSERT_OK(reds_object_refcount(c, REDS_STR("small"), &rc));
    ck_assert(rc.set);
    ck_assert_int_eq(rc.value, 2147483647);
    rc = REDS_I64(7);
    ASSERT_OK(reds_object_refcount(c, REDS_STR("nokey"), &rc));
    ck_assert(!rc.set);
    ck_assert_int_eq(rc.value, 0);
}
END_TEST

START_TEST(object_idletime_freq)
{
    char reply[64];
    set(c, "k", "v");
    reds_opt_i64 v = {0};
    ASSERT_OK(reds_object_idletime(c, REDS_STR("k"), &v));
    ck_assert(v.set);
    ck_assert_int_le(v.value, 1);
    ASSERT_OK(reds_object_idletime(c, REDS_STR("nokey"), &v));
    ck_assert(!v.set);
    /* FREQ needs an LFU policy. */
    ASSERT_ERR(reds_object_freq(c, REDS_STR("k"), &v), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "LFU"));

    test_raw("CONFIG SET maxmemory-policy allkeys-lfu", reply, sizeof reply);
    ck_assert_str_eq(reply, "+OK");
    set(c, "fresh", "v");
    ASSERT_OK(reds_object_freq(c, REDS_STR("fresh"), &v));
    ck_assert(v.set);
    ck_assert_int_eq(v.value, 5); /* LFU_INIT_VAL: a new key starts at 5 */
    ASSERT_OK(reds_object_freq(c, REDS_STR("nokey"), &v));
    ck_assert(!v.set);
    /* RESTORE FREQ sets the counter exactly. */
    reds_str *dump = NULL;
    ASSERT_OK(reds_dump(c, REDS_STR("fresh"), &dump));
    ASSERT_OK(reds_restore(c, REDS_STR("hot"), 0, *dump,
                           &(reds_restore_opts){.frequency = REDS_I64(100)}));
    ASSERT_OK(reds_object_freq(c, REDS_STR("hot"), &v));
    ck_assert(v.set);
    ck_assert_int_eq(v.value, 100);
    ASSERT_OK(reds_restore(c, REDS_STR("hot"), 0, *dump,
                           &(reds_restore_opts){.replace = true, .frequency = REDS_I64(0)}));
    ASSERT_OK(reds_object_freq(c, REDS_STR("hot"), &v));
    ck_assert_int_eq(v.value, 0);
    reds_free(dump);
    /* Under LFU the idle time is not tracked. */
    ASSERT_ERR(reds_object_idletime(c, REDS_STR("k"), &v), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "LFU"));
    test_raw("CONFIG SET maxmemory-policy noeviction", reply, sizeof reply);
    ck_assert_str_eq(reply, "+OK");
}
END_TEST

START_TEST(object_help)
{
    reds_strlist *l = NULL;
    ASSERT_OK(reds_object_help(c, &l));
    ck_assert_uint_gt(l->count, 5);
    ASSERT_STR(&l->items[0], "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    bool freq = false;
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i].len >= 4 && memcmp(l->items[i].ptr, "FREQ", 4) == 0)
            freq = true;
    ck_assert(freq);
    reds_free(l);
}
END_TEST

/* -------------------------------------------------------------- SCAN */

/* Collect a full SCAN iteration; returns how many calls it took. Keys
 * must look like "<prefix><n>" with n < 200; seen[n] counts them. */
static int scan_all(const reds_scan_opts *opts, const char *prefix, int *seen, int *others)
{
    int64_t cursor = 0;
    int calls = 0;
    size_t plen = strlen(prefix);
    do {
        reds_scan_page *page = NULL;
        ASSERT_OK(reds_scan(c, cursor, opts, &page));
        calls++;
        ck_assert_int_lt(calls, 1000);
        for (size_t i = 0; i < page->items.count; i++) {
            const reds_str *k = &page->items.items[i];
            if (k->len > plen && memcmp(k->ptr, prefix, plen) == 0) {
                int n = atoi(k->ptr + plen);
                ck_assert(n >= 0 && n < 200);
                seen[n] = 1; /* SCAN may return a key twice: count once */
            } else {
                (*others)++;
            }
        }
        cursor = (int64_t)page->cursor;
        reds_free(page);
    } while (cursor != 0);
    return calls;
}

static void scan_fill(void)
{
    reds_key_value kv[60];
    char names[60][16];
    for (int i = 0; i < 60; i++) {
        snprintf(names[i], sizeof names[i], i < 50 ? "user:%d" : "other:%d", i);
        kv[i].key = reds_cstr(names[i]);
        kv[i].value = REDS_STR("v");
    }
    ASSERT_OK(reds_mset(c, kv, 60));
    RUN("HSET", "hash:1", "f", "v");
    RUN("RPUSH", "list:1", "a");
}

START_TEST(scan_full_iteration)
{
    scan_fill();
    int seen[200] = {0}, others = 0;
    scan_all(NULL, "user:", seen, &others);
    for (int i = 0; i < 50; i++)
        ck_assert_msg(seen[i], "user:%d not seen", i);
    /* 10 other:N keys, the hash and the list, each at least once. */
    ck_assert_int_ge(others, 12);

    memset(seen, 0, sizeof seen);
    others = 0;
    int calls = scan_all(&(reds_scan_opts){.pattern = REDS_STR("user:*"), .count = REDS_I64(5)},
                         "user:", seen, &others);
    ck_assert_int_eq(others, 0);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(seen[i], i < 50);
    ck_assert_int_gt(calls, 1); /* COUNT 5 over 62 keys cannot be one page */
}
END_TEST

START_TEST(scan_type_and_match)
{
    scan_fill();
    int seen[200] = {0}, others = 0;
    /* TYPE hash: only the hash, which is not a user: key. */
    scan_all(&(reds_scan_opts){.type = REDS_STR("hash")}, "hash:", seen, &others);
    ck_assert_int_eq(others, 0);
    ck_assert_int_eq(seen[1], 1);
    memset(seen, 0, sizeof seen);
    scan_all(&(reds_scan_opts){.type = REDS_STR("list"),
                               .pattern = REDS_STR("list:*"),
                               .count = REDS_I64(100)},
             "list:", seen, &others);
    ck_assert_int_eq(others, 0);
    ck_assert_int_eq(seen[1], 1);
    memset(seen, 0, sizeof seen);
    scan_all(&(reds_scan_opts){.type = REDS_STR("string"), .pattern = REDS_STR("other:*")},
             "other:", seen, &others);
    ck_assert_int_eq(others, 0);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(seen[i], i >= 50 && i < 60);
    /* No match at all still ends with cursor 0. */
    memset(seen, 0, sizeof seen);
    scan_all(&(reds_scan_opts){.pattern = REDS_STR("zzz*")}, "zzz", seen, &others);
    ck_assert_int_eq(others, 0);
    ASSERT_ERR(reds_scan(c, 0, &(reds_scan_opts){.count = REDS_I64(0)}, NULL), REDS_ERR_RESPONSE);
    /* An optional string with a NULL pointer and a length is invalid, not
     * "left out". */
    reds_scan_page *page = (reds_scan_page *)&page;
    ASSERT_ERR(reds_scan(c, 0, &(reds_scan_opts){.type = reds_strn(NULL, 4)}, &page),
               REDS_ERR_DATA);
    ck_assert_ptr_null(page);
    ASSERT_ERR(reds_scan(c, 0, &(reds_scan_opts){.pattern = reds_strn(NULL, 1)}, &page),
               REDS_ERR_DATA);
}
END_TEST

/* -------------------------------------------------------------- SORT */

static void sort_fill(void)
{
    RUN("RPUSH", "nums", "3", "1", "2", "10");
    RUN("RPUSH", "words", "pear", "apple", "fig");
    RUN("MSET", "weight_1", "30", "weight_2", "10", "weight_3", "20", "weight_10", "0");
    RUN("MSET", "obj_1", "one", "obj_2", "two", "obj_3", "three");
    RUN("HSET", "hobj_1", "name", "h-one");
}

START_TEST(sort_options)
{
    sort_fill();
    reds_strlist *l = NULL;
    ASSERT_OK(reds_sort(c, REDS_STR("nums"), NULL, &l));
    assert_list(l, 4, (const char *[]){"1", "2", "3", "10"});
    reds_free(l);
    ASSERT_OK(reds_sort(c, REDS_STR("nums"), &(reds_sort_opts){.order = REDS_SORT_ORDER_ASC}, &l));
    assert_list(l, 4, (const char *[]){"1", "2", "3", "10"});
    reds_free(l);
    ASSERT_OK(reds_sort(c, REDS_STR("nums"), &(reds_sort_opts){.order = REDS_SORT_ORDER_DESC}, &l));
    assert_list(l, 4, (const char *[]){"10", "3", "2", "1"});
    reds_free(l);
    /* ALPHA: lexicographic, so "10" sorts before "2". */
    ASSERT_OK(reds_sort(c, REDS_STR("nums"), &(reds_sort_opts){.alpha = true}, &l));
    assert_list(l, 4, (const char *[]){"1", "10", "2", "3"});
    reds_free(l);
    ASSERT_OK(reds_sort(c, REDS_STR("words"),
                        &(reds_sort_opts){.alpha = true, .order = REDS_SORT_ORDER_DESC}, &l));
    assert_list(l, 3, (const char *[]){"pear", "fig", "apple"});
    reds_free(l);
    ASSERT_ERR(reds_sort(c, REDS_STR("words"), NULL, &l), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(l);
    /* LIMIT offset count, 0 included. */
    ASSERT_OK(reds_sort(c, REDS_STR("nums"), &(reds_sort_opts){.limit = {true, 1, 2}}, &l));
    assert_list(l, 2, (const char *[]){"2", "3"});
    reds_free(l);
    ASSERT_OK(reds_sort(c, REDS_STR("nums"), &(reds_sort_opts){.limit = {true, 0, 0}}, &l));
    ck_assert_uint_eq(l->count, 0);
    reds_free(l);
    /* BY weights: 10 (0), 2 (10), 3 (20), 1 (30). */
    ASSERT_OK(reds_sort(c, REDS_STR("nums"), &(reds_sort_opts){.by = REDS_STR("weight_*")}, &l));
    assert_list(l, 4, (const char *[]){"10", "2", "3", "1"});
    reds_free(l);
    /* GET patterns, # for the element itself; a missing key is nil. */
    reds_str get[] = {REDS_STR("#"), REDS_STR("obj_*"), REDS_STR("hobj_*->name")};
    ASSERT_OK(reds_sort(c, REDS_STR("nums"),
                        &(reds_sort_opts){.by = REDS_STR("weight_*"),
                                          .get = get,
                                          .nget = 3,
                                          .order = REDS_SORT_ORDER_DESC,
                                          .limit = {true, 0, 2}},
                        &l));
    assert_list(l, 6, (const char *[]){"1", "one", "h-one", "3", "three", NULL});
    reds_free(l);
    /* BY nosort keeps the list order. */
    ASSERT_OK(reds_sort(c, REDS_STR("nums"),
                        &(reds_sort_opts){.by = REDS_STR("nosort"), .get = get + 1, .nget = 1},
                        &l));
    assert_list(l, 4, (const char *[]){"three", "one", "two", NULL});
    reds_free(l);
    ASSERT_ERR(reds_sort(c, REDS_STR("nums"), &(reds_sort_opts){.order = (reds_sort_order)3}, &l),
               REDS_ERR_DATA);
    ASSERT_ERR(reds_sort(c, REDS_STR("nums"), &(reds_sort_opts){.get = NULL, .nget = 2}, &l),
               REDS_ERR_DATA);
    set(c, "str", "x");
    ASSERT_ERR(reds_sort(c, REDS_STR("str"), NULL, &l), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "WRONGTYPE"));
    /* A set sorts too; a missing key is an empty list. */
    RUN("SADD", "set", "b", "c", "a");
    ASSERT_OK(reds_sort(c, REDS_STR("set"), &(reds_sort_opts){.alpha = true}, &l));
    assert_list(l, 3, (const char *[]){"a", "b", "c"});
    reds_free(l);
    ASSERT_OK(reds_sort(c, REDS_STR("nokey"), NULL, &l));
    ck_assert_uint_eq(l->count, 0);
    reds_free(l);
}
END_TEST

START_TEST(sort_store)
{
    sort_fill();
    int64_t n = 0;
    ASSERT_OK(reds_sort_store(c, REDS_STR("nums"), REDS_STR("out"),
                              &(reds_sort_opts){.order = REDS_SORT_ORDER_DESC}, &n));
    ck_assert_int_eq(n, 4);
    reds_strlist *l = NULL;
    ASSERT_OK(reds_lrange(c, REDS_STR("out"), 0, -1, &l));
    assert_list(l, 4, (const char *[]){"10", "3", "2", "1"});
    reds_free(l);
    reds_str get[] = {REDS_STR("obj_*")};
    ASSERT_OK(reds_sort_store(
        c, REDS_STR("nums"), REDS_STR("out"),
        &(reds_sort_opts){.by = REDS_STR("weight_*"), .get = get, .nget = 1, .limit = {true, 1, 3}},
        &n));
    ck_assert_int_eq(n, 3);
    ASSERT_OK(reds_lrange(c, REDS_STR("out"), 0, -1, &l));
    assert_list(l, 3, (const char *[]){"two", "three", "one"});
    reds_free(l);
    ASSERT_OK(reds_sort_store(c, REDS_STR("words"), REDS_STR("out"),
                              &(reds_sort_opts){.alpha = true}, &n));
    ck_assert_int_eq(n, 3);
    ASSERT_OK(reds_lrange(c, REDS_STR("out"), 0, -1, &l));
    assert_list(l, 3, (const char *[]){"apple", "fig", "pear"});
    reds_free(l);
    /* An empty result deletes the destination. */
    ASSERT_OK(reds_sort_store(c, REDS_STR("nokey"), REDS_STR("out"), NULL, &n));
    ck_assert_int_eq(n, 0);
    assert_value("out", NULL);
    ASSERT_ERR(reds_sort_store(c, REDS_STR("nums"), reds_strn(NULL, 2), NULL, &n), REDS_ERR_DATA);
}
END_TEST

START_TEST(sort_ro)
{
    sort_fill();
    reds_strlist *l = NULL;
    ASSERT_OK(reds_sort_ro(c, REDS_STR("nums"), NULL, &l));
    assert_list(l, 4, (const char *[]){"1", "2", "3", "10"});
    reds_free(l);
    reds_str get[] = {REDS_STR("#"), REDS_STR("obj_*")};
    ASSERT_OK(reds_sort_ro(c, REDS_STR("nums"),
                           &(reds_sort_ro_opts){.by = REDS_STR("weight_*"),
                                                .limit = {true, 1, 2},
                                                .get = get,
                                                .nget = 2,
                                                .order = REDS_SORT_RO_ORDER_ASC},
                           &l));
    assert_list(l, 4, (const char *[]){"2", "two", "3", "three"});
    reds_free(l);
    ASSERT_OK(reds_sort_ro(c, REDS_STR("words"),
                           &(reds_sort_ro_opts){.alpha = true, .order = REDS_SORT_RO_ORDER_DESC},
                           &l));
    assert_list(l, 3, (const char *[]){"pear", "fig", "apple"});
    reds_free(l);
    ASSERT_ERR(
        reds_sort_ro(c, REDS_STR("nums"), &(reds_sort_ro_opts){.order = (reds_sort_ro_order)7}, &l),
        REDS_ERR_DATA);
}
END_TEST

/* -------------------------------------------------------------- WAIT */

START_TEST(wait_no_replicas)
{
    set(c, "k", "v");
    int64_t n = -1;
    ASSERT_OK(reds_wait(c, 0, 0, &n));
    ck_assert_int_eq(n, 0);
    /* Asking for one replica times out with the number reached: 0. */
    ASSERT_OK(reds_wait(c, 1, 50, &n));
    ck_assert_int_eq(n, 0);
}
END_TEST

/* ----------------------------------------------------------- MIGRATE */

typedef struct target {
    fixture_server srv;
    reds_client *db0, *db1;
} target;

/* A second server that wants a password, and clients to it. */
static void target_start(target *t)
{
    ck_assert_int_eq(fixture_start(&t->srv, NULL), 0);
    char reply[64];
    ck_assert_int_eq(fixture_command(&t->srv, "CONFIG SET requirepass tpass", reply, sizeof reply),
                     0);
    ck_assert_str_eq(reply, "+OK");
    reds_options o = {.port = t->srv.port, .password = "tpass"};
    ASSERT_OK(reds_client_new(&o, &t->db0));
    o.db = 1;
    ASSERT_OK(reds_client_new(&o, &t->db1));
}

static void target_stop(target *t)
{
    reds_client_free(t->db0);
    reds_client_free(t->db1);
    fixture_stop(&t->srv);
}

#define ONE_KEY(k) ((reds_migrate_key_or_empty_string){.key = REDS_STR(k)})

START_TEST(migrate_options)
{
    target t;
    target_start(&t);
    reds_str host = REDS_STR("127.0.0.1");
    reds_migrate_opts auth = {.password = REDS_STR("tpass")};
    reds_str *st = NULL;

    set(c, "k", "v");
    ASSERT_OK(reds_migrate(c, host, t.srv.port, ONE_KEY("k"), 0, 5000, &auth, &st));
    ASSERT_STR(st, "OK");
    reds_free(st);
    assert_value("k", NULL);
    assert_value_on(t.db0, "k", "v");

    /* A missing key: NOKEY, not an error. */
    ASSERT_OK(reds_migrate(c, host, t.srv.port, ONE_KEY("k"), 0, 5000, &auth, &st));
    ASSERT_STR(st, "NOKEY");
    reds_free(st);

    /* COPY keeps the source; into destination db 1. */
    set(c, "c", "copied");
    ASSERT_OK(reds_migrate(c, host, t.srv.port, ONE_KEY("c"), 1, 5000,
                           &(reds_migrate_opts){.copy = true, .password = REDS_STR("tpass")}, &st));
    ASSERT_STR(st, "OK");
    reds_free(st);
    assert_value("c", "copied");
    assert_value_on(t.db1, "c", "copied");
    assert_value_on(t.db0, "c", NULL);

    /* The target key exists: BUSYKEY without REPLACE, replaced with it. */
    set(c, "k", "new");
    ASSERT_ERR(reds_migrate(c, host, t.srv.port, ONE_KEY("k"), 0, 5000, &auth, &st),
               REDS_ERR_RESPONSE);
    ck_assert_ptr_null(st);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "BUSYKEY"));
    assert_value("k", "new");
    ASSERT_OK(reds_migrate(c, host, t.srv.port, ONE_KEY("k"), 0, 5000,
                           &(reds_migrate_opts){.replace = true, .password = REDS_STR("tpass")},
                           &st));
    ASSERT_STR(st, "OK");
    reds_free(st);
    assert_value("k", NULL);
    assert_value_on(t.db0, "k", "new");

    /* KEYS with the empty key argument; missing keys are skipped. */
    set(c, "a", "1");
    set(c, "b", "2");
    reds_str keys[] = {REDS_STR("a"), REDS_STR("nokey"), REDS_STR("b")};
    ASSERT_OK(reds_migrate(
        c, host, t.srv.port, (reds_migrate_key_or_empty_string){.empty_string = true}, 0, 5000,
        &(reds_migrate_opts){
            .copy = true, .replace = true, .password = REDS_STR("tpass"), .keys = keys, .nkeys = 3},
        &st));
    ASSERT_STR(st, "OK");
    reds_free(st);
    assert_value("a", "1");
    assert_value_on(t.db0, "a", "1");
    assert_value_on(t.db0, "b", "2");
    target_stop(&t);
}
END_TEST

START_TEST(migrate_auth)
{
    target t;
    target_start(&t);
    reds_str host = REDS_STR("127.0.0.1");
    reds_str *st = NULL;
    set(c, "k", "v");
    /* Without credentials the target refuses, and the key stays. */
    ASSERT_ERR(reds_migrate(c, host, t.srv.port, ONE_KEY("k"), 0, 5000, NULL, &st),
               REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "NOAUTH"));
    assert_value("k", "v");
    ASSERT_ERR(reds_migrate(c, host, t.srv.port, ONE_KEY("k"), 0, 5000,
                            &(reds_migrate_opts){.password = REDS_STR("wrong")}, &st),
               REDS_ERR_RESPONSE);
    assert_value("k", "v");
    /* AUTH2 username password. */
    ASSERT_OK(reds_migrate(
        c, host, t.srv.port, ONE_KEY("k"), 0, 5000,
        &(reds_migrate_opts){.username_password = {true, REDS_STR("default"), REDS_STR("tpass")}},
        &st));
    ASSERT_STR(st, "OK");
    reds_free(st);
    assert_value_on(t.db0, "k", "v");
    /* Argument checks, before anything is sent. */
    set(c, "x", "1");
    ASSERT_ERR(reds_migrate(c, host, t.srv.port, ONE_KEY("x"), 0, 5000,
                            &(reds_migrate_opts){.password = REDS_STR("tpass"),
                                                 .username_password = {true, REDS_STR("default"),
                                                                       REDS_STR("tpass")}},
                            &st),
               REDS_ERR_DATA);
    ASSERT_ERR(
        reds_migrate(c, host, t.srv.port,
                     (reds_migrate_key_or_empty_string){.key = REDS_STR("x"), .empty_string = true},
                     0, 5000, &(reds_migrate_opts){.password = REDS_STR("tpass")}, &st),
        REDS_ERR_DATA);
    ASSERT_ERR(reds_migrate(c, host, t.srv.port, (reds_migrate_key_or_empty_string){0}, 0, 5000,
                            &(reds_migrate_opts){.password = REDS_STR("tpass")}, &st),
               REDS_ERR_DATA);
    ASSERT_ERR(
        reds_migrate(
            c, host, t.srv.port, (reds_migrate_key_or_empty_string){.empty_string = true}, 0, 5000,
            &(reds_migrate_opts){.password = REDS_STR("tpass"), .keys = NULL, .nkeys = 1}, &st),
        REDS_ERR_DATA);
    assert_value("x", "1");
    assert_value_on(t.db0, "x", NULL);
    target_stop(&t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("keys");
    struct {
        const char *name;
        void (*setup)(void);
        const TTest *tests[8];
    } groups[] = {
        {"del_exists_touch", setup, {del_exists_unlink, touch}},
        {"expiry",
         setup,
         {expire_conditions, expireat_and_expiretime, pexpire_pttl, pexpireat_pexpiretime,
          persist_and_ttl}},
        {"keyspace", setup, {keys_pattern, randomkey, type}},
        {"rename_copy_move", setup, {rename_renamenx, copy, move}},
        {"dump_restore", object_setup, {dump_restore, restore_idletime_freq_exclusive}},
        {"object", object_setup, {object_encoding_refcount, object_idletime_freq, object_help}},
        {"scan", setup, {scan_full_iteration, scan_type_and_match}},
        {"sort", setup, {sort_options, sort_store, sort_ro}},
        {"wait", setup, {wait_no_replicas}},
        {"migrate", setup, {migrate_options, migrate_auth}},
    };
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        TCase *tc = tcase_create(groups[i].name);
        tcase_add_checked_fixture(tc, groups[i].setup, teardown);
        for (size_t j = 0; j < 8 && groups[i].tests[j]; j++)
            tcase_add_test(tc, groups[i].tests[j]);
        if (strcmp(groups[i].name, "migrate") == 0)
            tcase_set_timeout(tc, 20); /* starts a second server */
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
