/* Memory a client holds (issue 16, finding 7), measured on this process's
 * heap (fixture_heap.h: glibc's mallinfo2(), or the sanitizer's count)
 * against the real server with default options:
 *
 *   - an idle pooled connection holds at most 4 KiB of heap;
 *   - after a 1 MiB reply, a connection that goes idle again is back
 *     within 4 KiB of its idle size (its buffers shrink back);
 *   - a small owned result (GET of 16 bytes) costs at most 16 + 128 bytes
 *     while it is held.
 *
 * The figures are printed whether or not they pass.
 *
 * Two things besides the connections hold heap and would blur the
 * figures; each measurement is arranged so that they cancel out:
 *   - the runtime's per-thread cache of freed arena chunks (arena.c,
 *     "spares": up to 2 MiB of big chunks and 128 KiB of small ones per
 *     thread), released when the thread exits. Work whose spares would be
 *     counted runs in a thread of its own that exits before the heap is
 *     measured (run_in_thread), or, for the results held, in a fresh
 *     thread whose cache starts empty;
 *   - glibc's own state per thread and per arena (its tcache, and the
 *     arenas made the first time many threads allocate at once): a
 *     warm-up round does the same work once before the baseline. */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fixture_heap.h"
#include "testutil.h"

#define KiB         1024
#define MiB         (1024 * 1024)
#define IDLE_LIMIT  4096
#define NCONN       100
#define NRESULTS    1000
#define SMALL_VALUE "0123456789abcdef" /* 16 bytes */

/* End the test as skipped where the heap cannot be measured (valgrind). */
#define REQUIRE_HEAP()                                                                             \
    do {                                                                                           \
        if (!heap_measurable()) {                                                                  \
            test_skip(__func__, "the heap cannot be measured here (valgrind?)");                   \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Run fn(arg) in a thread of its own and wait for it to end: what it
 * leaves in its thread's caches is released before this returns. */
static void run_in_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, fn, arg), 0);
    void *ret = NULL;
    pthread_join(t, &ret);
    ck_assert_msg(ret == NULL, "%s", (const char *)ret);
}

static void *free_client(void *c)
{
    reds_client_free(c);
    return NULL;
}

static void *ping(void *c)
{
    return reds_ping(c, NULL, NULL) ? (void *)"PING failed" : NULL;
}

/* ------------------------------------------- idle pooled connections */

typedef struct blpop_arg {
    reds_client *c;
    const char *gate;
    reds_err err;
} blpop_arg;

static void *blpop_worker(void *arg)
{
    blpop_arg *a = arg;
    reds_keyed_element *e = NULL;
    a->err = reds_blpop(a->c, &(reds_str){a->gate, strlen(a->gate)}, 1, 0, &e);
    reds_free(e);
    return NULL;
}

/* A field of INFO clients, read on a connection of its own. */
static long info_clients(const char *field)
{
    reds_client *probe = test_client_unix(NULL);
    reds_reply *r = test_run(probe, "INFO", "clients", NULL);
    char key[64];
    snprintf(key, sizeof key, "%s:", field);
    const char *p = strstr(r->str, key);
    ck_assert_ptr_nonnull(p);
    long n = strtol(p + strlen(key), NULL, 10);
    reds_free(r);
    reds_client_free(probe);
    return n;
}

/* Make `n` idle connections in c's pool, each having served a command:
 * `n` threads block in BLPOP on `gate` at the same time (so each has a
 * connection of its own), then one RPUSH of `n` elements wakes them all. */
static void open_idle(reds_client *c, int n, const char *gate)
{
    pthread_t t[NCONN];
    blpop_arg args[NCONN];
    ck_assert_int_le(n, NCONN);
    for (int i = 0; i < n; i++) {
        args[i] = (blpop_arg){c, gate, REDS_ERR};
        ck_assert_int_eq(pthread_create(&t[i], NULL, blpop_worker, &args[i]), 0);
    }
    while (info_clients("blocked_clients") < n)
        sleep_ms(10);
    reds_str items[NCONN];
    for (int i = 0; i < n; i++)
        items[i] = S("x");
    reds_client *pusher = test_client_unix(NULL);
    ASSERT_OK(reds_rpush(pusher, reds_cstr(gate), items, (size_t)n, NULL));
    reds_client_free(pusher);
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        ASSERT_OK(args[i].err);
    }
    reds_pool_stats s = test_pool_stats(c);
    ck_assert_uint_eq(s.created, (size_t)n);
    ck_assert_uint_eq(s.idle, (size_t)n);
}

START_TEST(idle_connection)
{
    REQUIRE_HEAP();
    /* Warm-up: the same work once, so that glibc's arenas for this many
     * threads exist before the baseline. */
    reds_client *warm = test_client(NULL);
    open_idle(warm, NCONN, "gate:warm");
    run_in_thread(free_client, warm);

    size_t before = heap_in_use();
    reds_client *c = test_client(NULL);
    open_idle(c, NCONN, "gate");
    size_t with = heap_in_use();
    /* Closing them (in a thread that exits, with its spares) gives back
     * what they held: a second view of the same figure. */
    run_in_thread(free_client, c);
    size_t after = heap_in_use();
    long long per_conn = ((long long)with - (long long)before) / NCONN;
    long long released = ((long long)with - (long long)after) / NCONN;
    test_note("memory: an idle pooled connection: %lld bytes of heap (%lld released per connection "
              "when the client is freed; %d connections, %s)\n",
              per_conn, released, NCONN, heap_source());
    ck_assert_msg(per_conn <= IDLE_LIMIT, "an idle pooled connection holds %lld bytes", per_conn);
}
END_TEST

/* ------------------------------------------------- after a big reply */

static void *get_big(void *c)
{
    reds_str *v = NULL;
    reds_err err = reds_get(c, S("big"), &v);
    bool ok = !err && v && v->len == MiB;
    reds_free(v);
    return ok ? NULL : (void *)"GET big failed";
}

START_TEST(buffers_shrink_after_a_big_reply)
{
    REQUIRE_HEAP();
    reds_client *setup = test_client(NULL);
    char *value = malloc(MiB);
    ck_assert_ptr_nonnull(value);
    memset(value, 'b', MiB);
    ASSERT_OK(reds_set(setup, S("big"), reds_strn(value, MiB), NULL, NULL));
    free(value);
    run_in_thread(free_client, setup);

    /* Warm-up with a client of its own. */
    reds_client *warm = test_client(NULL);
    run_in_thread(ping, warm);
    run_in_thread(get_big, warm);
    run_in_thread(free_client, warm);

    size_t before = heap_in_use();
    reds_client *c = test_client(NULL);
    run_in_thread(ping, c);
    size_t idle = heap_in_use();
    run_in_thread(get_big, c);
    size_t after = heap_in_use();
    /* And once it has served a small command since. */
    run_in_thread(ping, c);
    size_t later = heap_in_use();
    ck_assert_uint_eq(test_pool_stats(c).created, 1);
    long long idle_size = (long long)idle - (long long)before;
    long long after_size = (long long)after - (long long)before;
    long long later_size = (long long)later - (long long)before;
    test_note(
        "memory: one connection idle: %lld bytes (with its client); after a 1 MiB reply: %lld "
        "bytes (%+lld); after a PING more: %lld bytes (%+lld)\n",
        idle_size, after_size, after_size - idle_size, later_size, later_size - idle_size);
    ck_assert_msg(after_size - idle_size <= IDLE_LIMIT,
                  "after a 1 MiB reply the connection holds %lld bytes more than idle",
                  after_size - idle_size);
    ck_assert_msg(later_size - idle_size <= IDLE_LIMIT,
                  "after a 1 MiB reply and a PING the connection holds %lld bytes more than idle",
                  later_size - idle_size);
    run_in_thread(free_client, c);
}
END_TEST

/* ------------------------------------------------- small owned results */

typedef struct hold_arg {
    reds_client *c;
    long long per_result;
} hold_arg;

/* In a fresh thread, whose chunk cache starts empty: hold NRESULTS
 * results of GET at once, and measure what they cost. */
static void *hold_results(void *arg)
{
    hold_arg *h = arg;
    reds_str **results = calloc(NRESULTS, sizeof *results);
    if (!results)
        return (void *)"out of memory";
    const char *failed = NULL;
    size_t before = heap_in_use();
    for (int i = 0; i < NRESULTS && !failed; i++) {
        if (reds_get(h->c, S("small"), &results[i]) || !results[i] ||
            !str_eq(*results[i], SMALL_VALUE))
            failed = "GET small failed";
    }
    size_t held = heap_in_use();
    h->per_result = ((long long)held - (long long)before) / NRESULTS;
    for (int i = 0; i < NRESULTS; i++)
        reds_free(results[i]);
    free(results);
    return (void *)failed;
}

START_TEST(small_result)
{
    REQUIRE_HEAP();
    test_raw("SET small " SMALL_VALUE, (char[64]){0}, 64);
    reds_client *c = test_client(NULL);
    run_in_thread(ping, c); /* the connection exists before the count */
    hold_arg h = {c, 0};
    run_in_thread(hold_results, &h);
    test_note("memory: a held GET result of %zu bytes: %lld bytes of heap each (%d held, %s)\n",
              strlen(SMALL_VALUE), h.per_result, NRESULTS, heap_source());
    ck_assert_msg(h.per_result <= (long long)strlen(SMALL_VALUE) + 128,
                  "a held 16-byte GET result costs %lld bytes", h.per_result);
    run_in_thread(free_client, c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("memory");
    TCase *tc = tcase_create("memory");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, idle_connection);
    tcase_add_test(tc, buffers_shrink_after_a_big_reply);
    tcase_add_test(tc, small_result);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
