/* Locks against a real server: acquire and release, blocking and not,
 * owned and locked, a lock that expires while held (and is taken by
 * another owner), extend and reacquire, caller tokens, the refusals, and
 * 8 threads x 200 increments of a plain GET/SET counter under one lock. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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

static reds_lock *new_lock(const char *name, const reds_lock_opts *o)
{
    reds_lock *l = NULL;
    ASSERT_OK(reds_lock_new(c, reds_cstr(name), o, &l));
    return l;
}

static int64_t pttl(const char *key)
{
    int64_t ms = 0;
    ASSERT_OK(reds_pttl(c, reds_cstr(key), &ms));
    return ms;
}

/* Wait (bounded) until `key` is gone: the server expired it. */
static void wait_gone(const char *key)
{
    for (int i = 0; i < 500 && pttl(key) != REDS_TTL_NO_KEY; i++)
        usleep(10000);
    ck_assert_int_eq(pttl(key), REDS_TTL_NO_KEY);
}

START_TEST(acquire_and_release)
{
    reds_lock *a = new_lock("lock", NULL), *b = new_lock("lock", NULL);
    bool got = false, flag = true;
    ASSERT_OK(reds_lock_locked(a, &flag));
    ck_assert(!flag);
    ASSERT_OK(reds_lock_acquire(a, NULL, &got));
    ck_assert(got);
    ASSERT_OK(reds_lock_owned(a, &flag));
    ck_assert(flag);
    ASSERT_OK(reds_lock_owned(b, &flag));
    ck_assert(!flag);
    ASSERT_OK(reds_lock_locked(b, &flag));
    ck_assert(flag);
    /* The key holds a 32-hex-digit token and no expiry (no timeout). */
    reds_str *token = NULL;
    ASSERT_OK(reds_get(c, REDS_STR("lock"), &token));
    ck_assert_uint_eq(token->len, 32);
    ck_assert_uint_eq(strspn(token->ptr, "0123456789abcdef"), 32);
    reds_free(token);
    ck_assert_int_eq(pttl("lock"), REDS_TTL_NO_EXPIRY);
    /* b cannot take it without waiting. */
    reds_lock_acquire_opts now = {.non_blocking = true};
    ASSERT_OK(reds_lock_acquire(b, &now, &got));
    ck_assert(!got);
    ASSERT_OK(reds_lock_release(a));
    ASSERT_OK(reds_lock_locked(a, &flag));
    ck_assert(!flag);
    /* Released twice: this object no longer holds it. */
    ASSERT_ERR(reds_lock_release(a), REDS_ERR_LOCK);
    ck_assert_str_eq(reds_errmsg(), "Cannot release an unlocked lock");
    ASSERT_OK(reds_lock_acquire(b, &now, &got));
    ck_assert(got);
    ASSERT_OK(reds_lock_release(b));
    reds_lock_free(a);
    reds_lock_free(b);
}
END_TEST

START_TEST(blocking_timeout)
{
    reds_lock_opts o = {
        .timeout_ms = 10000, .sleep_ms = REDS_I64(20), .blocking_timeout_ms = REDS_I64(150)};
    reds_lock *a = new_lock("lock", &o), *b = new_lock("lock", &o);
    bool got;
    ASSERT_OK(reds_lock_acquire(a, NULL, &got));
    ck_assert(got);
    ck_assert_int_gt(pttl("lock"), 5000);
    ck_assert_int_le(pttl("lock"), 10000);
    ASSERT_OK(reds_lock_acquire(b, NULL, &got)); /* waits, then gives up */
    ck_assert(!got);
    reds_lock_acquire_opts zero = {.blocking_timeout_ms = REDS_I64(0)};
    ASSERT_OK(reds_lock_acquire(b, &zero, &got)); /* one try */
    ck_assert(!got);
    ASSERT_ERR(reds_lock_release(b), REDS_ERR_LOCK);
    ASSERT_OK(reds_lock_release(a));
    ASSERT_OK(reds_lock_acquire(b, NULL, &got));
    ck_assert(got);
    ASSERT_OK(reds_lock_release(b));
    reds_lock_free(a);
    reds_lock_free(b);
    /* A non-blocking lock tries once. */
    reds_lock_opts nb = {.non_blocking = true};
    a = new_lock("lock2", &nb);
    b = new_lock("lock2", &nb);
    ASSERT_OK(reds_lock_acquire(a, NULL, &got));
    ck_assert(got);
    ASSERT_OK(reds_lock_acquire(b, NULL, &got));
    ck_assert(!got);
    reds_lock_free(a); /* does not release: the key stays */
    bool locked;
    ASSERT_OK(reds_lock_locked(b, &locked));
    ck_assert(locked);
    reds_lock_free(b);
}
END_TEST

/* A lock held by another thread is given up after a while. */
static void *release_later(void *arg)
{
    usleep(100000);
    return (void *)(intptr_t)reds_lock_release(arg);
}

START_TEST(blocking_waits_for_release)
{
    reds_lock_opts o = {.timeout_ms = 10000, .sleep_ms = REDS_I64(10)};
    reds_lock *a = new_lock("lock", &o), *b = new_lock("lock", &o);
    bool got;
    ASSERT_OK(reds_lock_acquire(a, NULL, &got));
    ck_assert(got);
    pthread_t t;
    pthread_create(&t, NULL, release_later, a);
    ASSERT_OK(reds_lock_acquire(b, NULL, &got)); /* no blocking timeout: waits */
    ck_assert(got);
    void *err;
    pthread_join(t, &err);
    ck_assert_int_eq((int)(intptr_t)err, REDS_OK);
    ASSERT_OK(reds_lock_release(b));
    reds_lock_free(a);
    reds_lock_free(b);
}
END_TEST

START_TEST(expires_while_held)
{
    reds_lock_opts o = {.timeout_ms = 50};
    reds_lock *a = new_lock("lock", &o), *b = new_lock("lock", &o);
    bool got, owned;
    ASSERT_OK(reds_lock_acquire(a, NULL, &got));
    ck_assert(got);
    wait_gone("lock");
    ASSERT_OK(reds_lock_owned(a, &owned));
    ck_assert(!owned);
    ASSERT_ERR(reds_lock_extend(a, 1000, false), REDS_ERR_LOCK_NOT_OWNED);
    ck_assert_str_eq(reds_errmsg(), "Cannot extend a lock that's no longer owned");
    ASSERT_ERR(reds_lock_reacquire(a), REDS_ERR_LOCK_NOT_OWNED);
    ASSERT_ERR(reds_lock_release(a), REDS_ERR_LOCK_NOT_OWNED);
    ck_assert_str_eq(reds_errmsg(), "Cannot release a lock that's no longer owned");
    ck_assert(reds_err_is(REDS_ERR_LOCK_NOT_OWNED, REDS_ERR_LOCK));

    /* Expired and taken by b: a's release must not free b's lock. */
    ASSERT_OK(reds_lock_acquire(a, NULL, &got));
    wait_gone("lock");
    reds_lock_opts long_opts = {.timeout_ms = 60000};
    reds_lock *b2 = new_lock("lock", &long_opts);
    ASSERT_OK(reds_lock_acquire(b2, NULL, &got));
    ck_assert(got);
    ASSERT_ERR(reds_lock_release(a), REDS_ERR_LOCK_NOT_OWNED);
    ASSERT_OK(reds_lock_owned(b2, &owned));
    ck_assert(owned);
    ASSERT_OK(reds_lock_release(b2));
    reds_lock_free(a);
    reds_lock_free(b);
    reds_lock_free(b2);
}
END_TEST

START_TEST(extend_and_reacquire)
{
    reds_lock_opts o = {.timeout_ms = 10000};
    reds_lock *a = new_lock("lock", &o);
    ASSERT_ERR(reds_lock_extend(a, 1000, false), REDS_ERR_LOCK);
    ck_assert_str_eq(reds_errmsg(), "Cannot extend an unlocked lock");
    ASSERT_ERR(reds_lock_reacquire(a), REDS_ERR_LOCK);
    bool got;
    ASSERT_OK(reds_lock_acquire(a, NULL, &got));
    ck_assert(got);
    /* Add time: 10 s + 50 s. */
    ASSERT_OK(reds_lock_extend(a, 50000, false));
    ck_assert_int_gt(pttl("lock"), 55000);
    ck_assert_int_le(pttl("lock"), 60000);
    /* Replace the time: 2 s. */
    ASSERT_OK(reds_lock_extend(a, 2000, true));
    ck_assert_int_gt(pttl("lock"), 1000);
    ck_assert_int_le(pttl("lock"), 2000);
    /* Back to the full timeout. */
    ASSERT_OK(reds_lock_reacquire(a));
    ck_assert_int_gt(pttl("lock"), 5000);
    ck_assert_int_le(pttl("lock"), 10000);
    ASSERT_ERR(reds_lock_extend(a, 0, false), REDS_ERR_DATA);
    ASSERT_OK(reds_lock_release(a));
    reds_lock_free(a);
    /* Without a timeout there is nothing to extend. */
    a = new_lock("forever", NULL);
    ASSERT_OK(reds_lock_acquire(a, NULL, &got));
    ASSERT_ERR(reds_lock_extend(a, 1000, false), REDS_ERR_LOCK);
    ck_assert_str_eq(reds_errmsg(), "Cannot extend a lock with no timeout");
    ASSERT_OK(reds_lock_release(a));
    reds_lock_free(a);
}
END_TEST

START_TEST(caller_token)
{
    reds_lock *a = new_lock("lock", NULL), *b = new_lock("lock", NULL);
    reds_lock_acquire_opts mine = {.token = REDS_STR("shared-token")};
    bool got, owned;
    ASSERT_OK(reds_lock_acquire(a, &mine, &got));
    ck_assert(got);
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, REDS_STR("lock"), &v));
    ASSERT_STR(v, "shared-token");
    reds_free(v);
    ASSERT_OK(reds_lock_owned(b, &owned));
    ck_assert(!owned);
    ASSERT_OK(reds_lock_release(a));
    reds_lock_free(a);
    reds_lock_free(b);
}
END_TEST

START_TEST(refusals)
{
    reds_lock *l = (reds_lock *)&l;
    reds_lock_opts neg = {.timeout_ms = -1};
    ASSERT_ERR(reds_lock_new(c, REDS_STR("x"), &neg, &l), REDS_ERR_DATA);
    ck_assert_ptr_null(l);
    ASSERT_ERR(reds_lock_new(NULL, REDS_STR("x"), NULL, &l), REDS_ERR_DATA);
    ASSERT_ERR(reds_lock_new(c, reds_strn(NULL, 1), NULL, &l), REDS_ERR_DATA);
    reds_client *p;
    ASSERT_OK(reds_pipeline_new(c, true, &p));
    ASSERT_ERR(reds_lock_new(p, REDS_STR("x"), NULL, &l), REDS_ERR_DATA);
    reds_client_free(p);
    bool b;
    ASSERT_ERR(reds_lock_acquire(NULL, NULL, &b), REDS_ERR_DATA);
    ASSERT_ERR(reds_lock_release(NULL), REDS_ERR_DATA);
    ASSERT_ERR(reds_lock_owned(NULL, &b), REDS_ERR_DATA);
    ASSERT_ERR(reds_lock_locked(NULL, &b), REDS_ERR_DATA);
    ASSERT_ERR(reds_lock_extend(NULL, 1, false), REDS_ERR_DATA);
    reds_lock_free(NULL);
    /* A lock key of another type: the server's error comes back. */
    reds_str m = REDS_STR("m");
    ASSERT_OK(reds_sadd(c, REDS_STR("set"), &m, 1, NULL));
    l = new_lock("set", NULL);
    ASSERT_OK(reds_lock_acquire(l, &(reds_lock_acquire_opts){.non_blocking = true}, &b));
    ck_assert(!b); /* SET NX on an existing key of any type: not set */
    ASSERT_ERR(reds_lock_owned(l, &b), REDS_ERR_RESPONSE);
    reds_lock_free(l);
}
END_TEST

/* -------------------------------------------------------------- contention */

enum { THREADS = 8, ROUNDS = 200 };

static void *contender(void *arg)
{
    (void)arg;
    reds_lock_opts o = {.timeout_ms = 10000, .sleep_ms = REDS_I64(1)};
    reds_lock *l;
    if (reds_lock_new(c, REDS_STR("counter-lock"), &o, &l))
        return (void *)"lock_new failed";
    const char *failure = NULL;
    for (int i = 0; i < ROUNDS && !failure; i++) {
        bool got = false;
        if (reds_lock_acquire(l, NULL, &got) || !got) {
            failure = "acquire failed";
            break;
        }
        /* A plain read-modify-write: only the lock makes it safe. */
        reds_str *v = NULL;
        char next[24];
        if (reds_get(c, REDS_STR("counter"), &v))
            failure = "GET failed";
        snprintf(next, sizeof next, "%lld", (long long)((v ? atoll(v->ptr) : 0) + 1));
        reds_free(v);
        if (!failure && reds_set(c, REDS_STR("counter"), reds_cstr(next), NULL, NULL))
            failure = "SET failed";
        if (reds_lock_release(l))
            failure = "release failed";
    }
    reds_lock_free(l);
    return (void *)failure;
}

START_TEST(contention)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, contender, NULL);
    for (int i = 0; i < THREADS; i++) {
        void *failure;
        pthread_join(t[i], &failure);
        ck_assert_msg(!failure, "thread %d: %s: %s", i, (const char *)failure, reds_errmsg());
    }
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, REDS_STR("counter"), &v));
    ASSERT_STR(v, "1600");
    reds_free(v);
    bool locked;
    reds_lock *l = new_lock("counter-lock", NULL);
    ASSERT_OK(reds_lock_locked(l, &locked));
    ck_assert(!locked);
    reds_lock_free(l);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("lock");
    TCase *tc = tcase_create("lock");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, acquire_and_release);
    tcase_add_test(tc, blocking_timeout);
    tcase_add_test(tc, blocking_waits_for_release);
    tcase_add_test(tc, expires_while_held);
    tcase_add_test(tc, extend_and_reacquire);
    tcase_add_test(tc, caller_token);
    tcase_add_test(tc, refusals);
    suite_add_tcase(s, tc);

    tc = tcase_create("contention");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, contention);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
