/* Threads sharing one client: 16 threads, 100,000 commands in all, each
 * reply checked against what its own caller sent. `make tsan` runs this
 * suite under ThreadSanitizer. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

enum { THREADS = 16, TOTAL = 100000 };

typedef struct worker {
    reds_client *c;
    int id, rounds;
    unsigned seed;
    char problem[256];
} worker;

static void *run(void *arg)
{
    worker *w = arg;
    char nonce[64];
    for (int i = 0; i < w->rounds; i++) {
        /* Unique to this thread and round, and unpredictable. */
        snprintf(nonce, sizeof nonce, "t%02d-%06d-%08x", w->id, i, (unsigned)rand_r(&w->seed));
        reds_str *echo = NULL;
        reds_err err = reds_echo(w->c, reds_cstr(nonce), &echo);
        if (err) {
            snprintf(w->problem, sizeof w->problem, "round %d: %s: %s", i, reds_err_name(err),
                     reds_errmsg());
            return w;
        }
        if (echo->len != strlen(nonce) || memcmp(echo->ptr, nonce, echo->len)) {
            snprintf(w->problem, sizeof w->problem, "round %d: sent %s, got %.*s", i, nonce,
                     (int)echo->len, echo->ptr);
            reds_free(echo);
            return w;
        }
        reds_free(echo);
    }
    return NULL;
}

static void share(reds_client *c, int total)
{
    static worker w[THREADS];
    pthread_t t[THREADS];
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.c = c, .id = i, .rounds = total / THREADS, .seed = seed + (unsigned)i};
        pthread_create(&t[i], NULL, run, &w[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        void *failed;
        pthread_join(t[i], &failed);
        ck_assert_msg(failed == NULL, "thread %d: %s", i, w[i].problem);
    }
}

START_TEST(sixteen_threads_one_client)
{
    reds_client *c = test_client(NULL);
    share(c, TOTAL);
    reds_pool_stats s;
    ASSERT_OK(reds_pool_get_stats(c, &s));
    ck_assert_uint_le(s.created, THREADS); /* made on demand, reused */
    ck_assert_uint_eq(s.in_use, 0);
    ck_assert_uint_eq(s.idle, s.created);
    reds_client_free(c);
}
END_TEST

/* Fewer connections than threads: waits on the condition variable, and
 * health checks and retries in the mix. */
START_TEST(sixteen_threads_four_connections)
{
    reds_options o = {.pool_blocking = true,
                      .max_connections = 4,
                      .pool_timeout_ms = REDS_NO_TIMEOUT,
                      .health_check_interval_ms = 1,
                      .retries = 2};
    reds_client *c = test_client_unix(&o);
    share(c, TOTAL / 5);
    reds_pool_stats s;
    ASSERT_OK(reds_pool_get_stats(c, &s));
    ck_assert_uint_le(s.created, 4);
    ck_assert_uint_eq(s.waiting, 0);
    /* Disconnect while others work: in-use connections close on return. */
    pthread_t t;
    worker w = {.c = c, .id = 99, .rounds = 2000, .seed = 7};
    pthread_create(&t, NULL, run, &w);
    for (int i = 0; i < 20; i++) {
        ASSERT_OK(reds_pool_disconnect(c));
        usleep(1000);
    }
    void *failed;
    pthread_join(t, &failed);
    ck_assert_msg(failed == NULL, "%s", w.problem);
    reds_client_free(c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    /* ThreadSanitizer runs this several times slower. */
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, sixteen_threads_one_client);
    tcase_add_test(tc, sixteen_threads_four_connections);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
