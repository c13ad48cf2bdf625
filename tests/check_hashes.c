/* The hash group against a real server: every bound command and variant
 * (HRANDFIELD in its three shapes), binary fields and values, HSCAN over a
 * whole hash, server errors and argument checks. */
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

#define FV(f, v) ((reds_field_value){REDS_STR(f), REDS_STR(v)})

/* h = {f1: v1, f2: v2, f3: v3} */
static void fill3(void)
{
    reds_field_value fv[] = {FV("f1", "v1"), FV("f2", "v2"), FV("f3", "v3")};
    int64_t n = 0;
    ASSERT_OK(reds_hset(c, REDS_STR("h"), fv, 3, &n));
    ck_assert_int_eq(n, 3);
}

/* The value of field `f` of `key`, or NULL-asserting when `expect` is. */
static void assert_field(const char *key, const char *f, const char *expect)
{
    reds_str *v = NULL;
    ASSERT_OK(reds_hget(c, reds_cstr(key), reds_cstr(f), &v));
    if (expect)
        ASSERT_STR(v, expect);
    else
        ck_assert_msg(v == NULL, "field %s exists, expected it missing", f);
    reds_free(v);
}

/* Index of `s` among "f1".."f3" (or "v1".."v3"), or -1. */
static int index_of(const reds_str *s, char prefix)
{
    if (!s->ptr || s->len != 2 || s->ptr[0] != prefix || s->ptr[1] < '1' || s->ptr[1] > '3')
        return -1;
    return s->ptr[1] - '1';
}

/* -------------------------------------------------- HSET, HGET, HMSET */

START_TEST(hset_hget_binary)
{
    static const char field[] = "f\0ld";
    static const char value[] = "\0v\r\nal\xff";
    reds_field_value fv[] = {
        {reds_strn(field, sizeof field - 1), reds_strn(value, sizeof value - 1)},
        {REDS_STR("f"), REDS_STR("plain")}};
    int64_t n = 0;
    ASSERT_OK(reds_hset(c, REDS_STR("h"), fv, 2, &n));
    ck_assert_int_eq(n, 2);
    reds_str *v = NULL;
    ASSERT_OK(reds_hget(c, REDS_STR("h"), reds_strn(field, sizeof field - 1), &v));
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(v->len, sizeof value - 1);
    ck_assert_mem_eq(v->ptr, value, sizeof value - 1);
    reds_free(v);
    /* "f" is another field than "f\0ld". */
    assert_field("h", "f", "plain");
    int64_t len = 0;
    ASSERT_OK(reds_hstrlen(c, REDS_STR("h"), reds_strn(field, sizeof field - 1), &len));
    ck_assert_int_eq(len, (int64_t)sizeof value - 1);
    /* Updating counts no new field; adding one counts one. */
    reds_field_value upd[] = {FV("f", "new"), FV("g", "gv")};
    ASSERT_OK(reds_hset(c, REDS_STR("h"), upd, 2, &n));
    ck_assert_int_eq(n, 1);
    assert_field("h", "f", "new");
    assert_field("h", "g", "gv");
    assert_field("h", "nofield", NULL);
    assert_field("nokey", "f", NULL);
    /* An empty field and an empty value are legal. */
    ASSERT_OK(reds_hset(c, REDS_STR("h"), (reds_field_value[]){{reds_strn(NULL, 0), REDS_STR("")}},
                        1, &n));
    ck_assert_int_eq(n, 1);
    assert_field("h", "", "");
}
END_TEST

START_TEST(hmset_deprecated)
{
    reds_field_value fv[] = {FV("a", "1"), FV("b", "2")};
    ASSERT_OK(reds_hmset(c, REDS_STR("h"), fv, 2));
    assert_field("h", "a", "1");
    assert_field("h", "b", "2");
    reds_field_value upd[] = {FV("a", "3")};
    ASSERT_OK(reds_hmset(c, REDS_STR("h"), upd, 1));
    assert_field("h", "a", "3");
    ASSERT_ERR(reds_hmset(c, REDS_STR("h"), fv, 0), REDS_ERR_DATA);
}
END_TEST

START_TEST(hsetnx)
{
    bool ok = false;
    ASSERT_OK(reds_hsetnx(c, REDS_STR("h"), REDS_STR("f"), REDS_STR("v1"), &ok));
    ck_assert(ok);
    ASSERT_OK(reds_hsetnx(c, REDS_STR("h"), REDS_STR("f"), REDS_STR("v2"), &ok));
    ck_assert(!ok);
    assert_field("h", "f", "v1");
}
END_TEST

/* ------------------------------------------------- reading a whole hash */

START_TEST(hgetall_hkeys_hvals_hlen)
{
    fill3();
    reds_map *m = NULL;
    ASSERT_OK(reds_hgetall(c, REDS_STR("h"), &m));
    ck_assert_uint_eq(m->count, 3);
    ASSERT_STR(reds_map_get(m, REDS_STR("f1")), "v1");
    ASSERT_STR(reds_map_get(m, REDS_STR("f2")), "v2");
    ASSERT_STR(reds_map_get(m, REDS_STR("f3")), "v3");
    ck_assert_ptr_null(reds_map_get(m, REDS_STR("f4")));
    reds_free(m);

    int seen[3] = {0};
    reds_strlist *l = NULL;
    ASSERT_OK(reds_hkeys(c, REDS_STR("h"), &l));
    ck_assert_uint_eq(l->count, 3);
    for (size_t i = 0; i < l->count; i++) {
        int k = index_of(&l->items[i], 'f');
        ck_assert_int_ge(k, 0);
        seen[k]++;
    }
    reds_free(l);
    ck_assert(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);

    memset(seen, 0, sizeof seen);
    ASSERT_OK(reds_hvals(c, REDS_STR("h"), &l));
    ck_assert_uint_eq(l->count, 3);
    for (size_t i = 0; i < l->count; i++) {
        int k = index_of(&l->items[i], 'v');
        ck_assert_int_ge(k, 0);
        seen[k]++;
    }
    reds_free(l);
    ck_assert(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);

    int64_t n = 0;
    ASSERT_OK(reds_hlen(c, REDS_STR("h"), &n));
    ck_assert_int_eq(n, 3);

    /* A missing key is an empty hash. */
    ASSERT_OK(reds_hgetall(c, REDS_STR("nokey"), &m));
    ck_assert_uint_eq(m->count, 0);
    reds_free(m);
    ASSERT_OK(reds_hkeys(c, REDS_STR("nokey"), &l));
    ck_assert_uint_eq(l->count, 0);
    reds_free(l);
    ASSERT_OK(reds_hvals(c, REDS_STR("nokey"), &l));
    ck_assert_uint_eq(l->count, 0);
    reds_free(l);
    ASSERT_OK(reds_hlen(c, REDS_STR("nokey"), &n));
    ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(hmget)
{
    fill3();
    reds_str fields[] = {REDS_STR("f2"), REDS_STR("nofield"), REDS_STR("f1"), REDS_STR("f2")};
    reds_strlist *l = NULL;
    ASSERT_OK(reds_hmget(c, REDS_STR("h"), fields, 4, &l));
    ck_assert_uint_eq(l->count, 4);
    ASSERT_STR(&l->items[0], "v2");
    ck_assert_ptr_null(l->items[1].ptr);
    ck_assert_uint_eq(l->items[1].len, 0);
    ASSERT_STR(&l->items[2], "v1");
    ASSERT_STR(&l->items[3], "v2");
    reds_free(l);
    ASSERT_OK(reds_hmget(c, REDS_STR("nokey"), fields, 2, &l));
    ck_assert_uint_eq(l->count, 2);
    ck_assert_ptr_null(l->items[0].ptr);
    ck_assert_ptr_null(l->items[1].ptr);
    reds_free(l);
}
END_TEST

START_TEST(hdel_hexists_hstrlen)
{
    fill3();
    bool ok = false;
    ASSERT_OK(reds_hexists(c, REDS_STR("h"), REDS_STR("f1"), &ok));
    ck_assert(ok);
    ASSERT_OK(reds_hexists(c, REDS_STR("h"), REDS_STR("nofield"), &ok));
    ck_assert(!ok);
    ASSERT_OK(reds_hexists(c, REDS_STR("nokey"), REDS_STR("f1"), &ok));
    ck_assert(!ok);
    int64_t n = 0;
    reds_str del[] = {REDS_STR("f1"), REDS_STR("nofield"), REDS_STR("f2")};
    ASSERT_OK(reds_hdel(c, REDS_STR("h"), del, 3, &n));
    ck_assert_int_eq(n, 2);
    ASSERT_OK(reds_hexists(c, REDS_STR("h"), REDS_STR("f1"), &ok));
    ck_assert(!ok);
    ASSERT_OK(reds_hlen(c, REDS_STR("h"), &n));
    ck_assert_int_eq(n, 1);
    ASSERT_OK(reds_hstrlen(c, REDS_STR("h"), REDS_STR("f3"), &n));
    ck_assert_int_eq(n, 2);
    ASSERT_OK(reds_hstrlen(c, REDS_STR("h"), REDS_STR("f1"), &n));
    ck_assert_int_eq(n, 0);
    /* Deleting the last field deletes the key. */
    ASSERT_OK(reds_hdel(c, REDS_STR("h"), (reds_str[]){REDS_STR("f3")}, 1, &n));
    ck_assert_int_eq(n, 1);
    int64_t exists = 1;
    ASSERT_OK(reds_exists(c, (reds_str[]){REDS_STR("h")}, 1, &exists));
    ck_assert_int_eq(exists, 0);
    ASSERT_OK(reds_hdel(c, REDS_STR("nokey"), del, 1, &n));
    ck_assert_int_eq(n, 0);
}
END_TEST

/* ------------------------------------------------------------ counters */

START_TEST(hincrby_hincrbyfloat)
{
    int64_t n = 0;
    ASSERT_OK(reds_hincrby(c, REDS_STR("h"), REDS_STR("n"), 5, &n));
    ck_assert_int_eq(n, 5);
    ASSERT_OK(reds_hincrby(c, REDS_STR("h"), REDS_STR("n"), -12, &n));
    ck_assert_int_eq(n, -7);
    assert_field("h", "n", "-7");
    /* The example of the Redis documentation. */
    double d = 0;
    ASSERT_OK(reds_hset(c, REDS_STR("h"), (reds_field_value[]){FV("field", "10.50")}, 1, NULL));
    ASSERT_OK(reds_hincrbyfloat(c, REDS_STR("h"), REDS_STR("field"), 0.1, &d));
    ck_assert(d == 10.6);
    assert_field("h", "field", "10.6");
    ASSERT_OK(reds_hincrbyfloat(c, REDS_STR("h"), REDS_STR("field"), -5, &d));
    ck_assert(d == 5.6);
    ASSERT_OK(reds_hset(c, REDS_STR("h"), (reds_field_value[]){FV("field", "5.0e3")}, 1, NULL));
    ASSERT_OK(reds_hincrbyfloat(c, REDS_STR("h"), REDS_STR("field"), 2.0e2, &d));
    ck_assert(d == 5200);
    assert_field("h", "field", "5200");
    ASSERT_OK(reds_hincrbyfloat(c, REDS_STR("h"), REDS_STR("new"), 2.5, &d));
    ck_assert(d == 2.5);

    ASSERT_OK(reds_hset(c, REDS_STR("h"), (reds_field_value[]){FV("s", "abc")}, 1, NULL));
    n = 3;
    ASSERT_ERR(reds_hincrby(c, REDS_STR("h"), REDS_STR("s"), 1, &n), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "not an integer"));
    ck_assert_int_eq(n, 0);
    ASSERT_ERR(reds_hincrbyfloat(c, REDS_STR("h"), REDS_STR("s"), 1, &d), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "not a float"));
    ASSERT_ERR(reds_hincrbyfloat(c, REDS_STR("h"), REDS_STR("n"), 0.0 / 0.0, &d), REDS_ERR_DATA);
    assert_field("h", "n", "-7");
}
END_TEST

/* --------------------------------------------------------- HRANDFIELD */

START_TEST(hrandfield_single)
{
    reds_str *f = (reds_str *)&f;
    ASSERT_OK(reds_hrandfield(c, REDS_STR("nokey"), &f));
    ck_assert_ptr_null(f);
    fill3();
    for (int i = 0; i < 10; i++) {
        ASSERT_OK(reds_hrandfield(c, REDS_STR("h"), &f));
        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(index_of(f, 'f'), 0);
        reds_free(f);
    }
}
END_TEST

START_TEST(hrandfield_count)
{
    fill3();
    reds_strlist *l = NULL;
    /* Positive: distinct fields, at most the hash's size. */
    ASSERT_OK(reds_hrandfield_count(c, REDS_STR("h"), 2, &l));
    ck_assert_uint_eq(l->count, 2);
    int a = index_of(&l->items[0], 'f'), b = index_of(&l->items[1], 'f');
    ck_assert(a >= 0 && b >= 0 && a != b);
    reds_free(l);
    ASSERT_OK(reds_hrandfield_count(c, REDS_STR("h"), 10, &l));
    ck_assert_uint_eq(l->count, 3);
    int seen[3] = {0};
    for (size_t i = 0; i < l->count; i++) {
        int k = index_of(&l->items[i], 'f');
        ck_assert_int_ge(k, 0);
        seen[k]++;
    }
    ck_assert(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
    reds_free(l);
    /* Negative: exactly |count| fields, repeats allowed. */
    ASSERT_OK(reds_hrandfield_count(c, REDS_STR("h"), -7, &l));
    ck_assert_uint_eq(l->count, 7);
    for (size_t i = 0; i < l->count; i++)
        ck_assert_int_ge(index_of(&l->items[i], 'f'), 0);
    reds_free(l);
    /* Zero is sent like any count: an empty list. */
    ASSERT_OK(reds_hrandfield_count(c, REDS_STR("h"), 0, &l));
    ck_assert_uint_eq(l->count, 0);
    reds_free(l);
    ASSERT_OK(reds_hrandfield_count(c, REDS_STR("nokey"), 5, &l));
    ck_assert_uint_eq(l->count, 0);
    reds_free(l);
}
END_TEST

START_TEST(hrandfield_withvalues)
{
    fill3();
    reds_map *m = NULL;
    ASSERT_OK(reds_hrandfield_withvalues(c, REDS_STR("h"), 3, &m));
    ck_assert_uint_eq(m->count, 3);
    int seen[3] = {0};
    for (size_t i = 0; i < m->count; i++) {
        int k = index_of(&m->items[i].key, 'f');
        ck_assert_int_ge(k, 0);
        ck_assert_int_eq(index_of(&m->items[i].value, 'v'), k); /* f<n> holds v<n> */
        seen[k]++;
    }
    ck_assert(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
    reds_free(m);
    ASSERT_OK(reds_hrandfield_withvalues(c, REDS_STR("h"), -5, &m));
    ck_assert_uint_eq(m->count, 5);
    for (size_t i = 0; i < m->count; i++)
        ck_assert_int_eq(index_of(&m->items[i].value, 'v'), index_of(&m->items[i].key, 'f'));
    reds_free(m);
    ASSERT_OK(reds_hrandfield_withvalues(c, REDS_STR("h"), 1, &m));
    ck_assert_uint_eq(m->count, 1);
    reds_free(m);
    ASSERT_OK(reds_hrandfield_withvalues(c, REDS_STR("nokey"), 2, &m));
    ck_assert_uint_eq(m->count, 0);
    reds_free(m);
}
END_TEST

/* -------------------------------------------------------------- HSCAN */

/* Fill `key` with fields field:0..n-1 holding value:<i>. */
static void fill_many(const char *key, int n)
{
    reds_field_value fv[50];
    char f[50][16], v[50][16];
    for (int base = 0; base < n; base += 50) {
        int m = n - base < 50 ? n - base : 50;
        for (int i = 0; i < m; i++) {
            snprintf(f[i], sizeof f[i], "field:%d", base + i);
            snprintf(v[i], sizeof v[i], "value:%d", base + i);
            fv[i].field = reds_cstr(f[i]);
            fv[i].value = reds_cstr(v[i]);
        }
        ASSERT_OK(reds_hset(c, reds_cstr(key), fv, (size_t)m, NULL));
    }
}

/* A full HSCAN iteration; seen[i] marks field:i (whose value is checked).
 * Returns the number of calls. */
static int hscan_all(const char *key, const reds_hscan_opts *opts, int *seen, int max)
{
    int64_t cursor = 0;
    int calls = 0;
    do {
        reds_hscan_page *page = NULL;
        ASSERT_OK(reds_hscan(c, reds_cstr(key), cursor, opts, &page));
        calls++;
        ck_assert_int_lt(calls, 10000);
        for (size_t i = 0; i < page->items.count; i++) {
            const reds_pair *p = &page->items.items[i];
            ck_assert(p->key.len > 6 && memcmp(p->key.ptr, "field:", 6) == 0);
            int k = atoi(p->key.ptr + 6);
            ck_assert(k >= 0 && k < max);
            char expect[16];
            snprintf(expect, sizeof expect, "value:%d", k);
            ASSERT_STR(&p->value, expect);
            seen[k] = 1; /* a field may come twice: count it once */
        }
        cursor = (int64_t)page->cursor;
        reds_free(page);
    } while (cursor != 0);
    return calls;
}

START_TEST(hscan_full)
{
    /* 1000 fields: a real hash table, iterated over several pages. */
    fill_many("big", 1000);
    reds_str *enc = NULL;
    ASSERT_OK(reds_object_encoding(c, REDS_STR("big"), &enc));
    ASSERT_STR(enc, "hashtable");
    reds_free(enc);
    static int seen[1000];
    memset(seen, 0, sizeof seen);
    int calls = hscan_all("big", NULL, seen, 1000);
    ck_assert_int_gt(calls, 1);
    for (int i = 0; i < 1000; i++)
        ck_assert_msg(seen[i], "field:%d not seen", i);
    memset(seen, 0, sizeof seen);
    hscan_all("big", &(reds_hscan_opts){.pattern = REDS_STR("field:1?"), .count = REDS_I64(7)},
              seen, 1000);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(seen[i], i >= 10 && i < 20);
    memset(seen, 0, sizeof seen);
    hscan_all("big", &(reds_hscan_opts){.count = REDS_I64(5000)}, seen, 1000);
    for (int i = 0; i < 1000; i++)
        ck_assert(seen[i]);
}
END_TEST

START_TEST(hscan_small_and_missing)
{
    /* A small (listpack) hash comes back whole in one page. */
    fill_many("small", 5);
    reds_hscan_page *page = NULL;
    ASSERT_OK(reds_hscan(c, REDS_STR("small"), 0, NULL, &page));
    ck_assert_uint_eq(page->cursor, 0);
    ck_assert_uint_eq(page->items.count, 5);
    ASSERT_STR(reds_map_get(&page->items, REDS_STR("field:3")), "value:3");
    reds_free(page);
    ASSERT_OK(
        reds_hscan(c, REDS_STR("small"), 0, &(reds_hscan_opts){.pattern = REDS_STR("*:4")}, &page));
    ck_assert_uint_eq(page->items.count, 1);
    ASSERT_STR(&page->items.items[0].key, "field:4");
    ASSERT_STR(&page->items.items[0].value, "value:4");
    reds_free(page);
    ASSERT_OK(reds_hscan(c, REDS_STR("nokey"), 0, NULL, &page));
    ck_assert_uint_eq(page->cursor, 0);
    ck_assert_uint_eq(page->items.count, 0);
    reds_free(page);
    ASSERT_ERR(reds_hscan(c, REDS_STR("small"), 0, &(reds_hscan_opts){.count = REDS_I64(0)}, &page),
               REDS_ERR_RESPONSE);
    ck_assert_ptr_null(page);
    ASSERT_ERR(reds_hscan(c, REDS_STR("small"), 0,
                          &(reds_hscan_opts){.pattern = reds_strn(NULL, 3)}, &page),
               REDS_ERR_DATA);
}
END_TEST

/* ------------------------------------------------------------- errors */

START_TEST(wrong_type)
{
    ASSERT_OK(reds_set(c, REDS_STR("s"), REDS_STR("v"), NULL, NULL));
    int64_t n = 0;
    ASSERT_ERR(reds_hset(c, REDS_STR("s"), (reds_field_value[]){FV("f", "v")}, 1, &n),
               REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "WRONGTYPE"));
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "HSET"));
    reds_str *v = (reds_str *)&v;
    ASSERT_ERR(reds_hget(c, REDS_STR("s"), REDS_STR("f"), &v), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(v);
    reds_map *m = (reds_map *)&m;
    ASSERT_ERR(reds_hgetall(c, REDS_STR("s"), &m), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(m);
    ASSERT_ERR(reds_hrandfield_withvalues(c, REDS_STR("s"), 2, &m), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(m);
    ASSERT_ERR(reds_hincrby(c, REDS_STR("s"), REDS_STR("f"), 1, &n), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "WRONGTYPE"));
}
END_TEST

START_TEST(argument_checks)
{
    int64_t n = 5;
    ASSERT_ERR(reds_hset(c, REDS_STR("h"), NULL, 0, &n), REDS_ERR_DATA);
    ck_assert_int_eq(n, 0);
    ASSERT_ERR(reds_hset(c, REDS_STR("h"), NULL, 2, &n), REDS_ERR_DATA);
    reds_field_value bad[] = {FV("a", "1"), {REDS_STR("b"), reds_strn(NULL, 1)}};
    ASSERT_ERR(reds_hset(c, REDS_STR("h"), bad, 2, &n), REDS_ERR_DATA);
    ASSERT_ERR(reds_hset(c, reds_strn(NULL, 1), bad, 1, &n), REDS_ERR_DATA);
    ASSERT_ERR(reds_hset(NULL, REDS_STR("h"), bad, 1, &n), REDS_ERR_DATA);
    ASSERT_ERR(reds_hdel(c, REDS_STR("h"), NULL, 0, &n), REDS_ERR_DATA);
    reds_strlist *l = (reds_strlist *)&l;
    ASSERT_ERR(reds_hmget(c, REDS_STR("h"), (reds_str[]){REDS_STR("a")}, 0, &l), REDS_ERR_DATA);
    ck_assert_ptr_null(l);
    bool ok = true;
    ASSERT_ERR(reds_hsetnx(c, REDS_STR("h"), reds_strn(NULL, 2), REDS_STR("v"), &ok),
               REDS_ERR_DATA);
    ck_assert(!ok);
    /* Nothing above reached the server. */
    ASSERT_OK(reds_exists(c, (reds_str[]){REDS_STR("h")}, 1, &n));
    ck_assert_int_eq(n, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hashes");
    struct {
        const char *name;
        const TTest *tests[8];
    } groups[] = {
        {"hset", {hset_hget_binary, hmset_deprecated, hsetnx}},
        {"read", {hgetall_hkeys_hvals_hlen, hmget, hdel_hexists_hstrlen}},
        {"counters", {hincrby_hincrbyfloat}},
        {"hrandfield", {hrandfield_single, hrandfield_count, hrandfield_withvalues}},
        {"hscan", {hscan_full, hscan_small_and_missing}},
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
