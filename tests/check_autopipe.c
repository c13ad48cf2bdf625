/* Auto-pipelining (issue 14): threads calling one pooled client at the
 * same time share its connection, their commands leaving together in one
 * write. What must hold, with exact expectations:
 *
 *   desync     64 threads, each checking its own ECHO nonces byte for byte,
 *              while every normal connection is killed every 10 ms and
 *              blocking commands run alongside: no wrong reply, ever; what
 *              fails, fails with a connection error and a message
 *   alone      what cannot share does not: BLPOP, XREAD BLOCK and WAIT
 *              blocked forever do not hold up other callers; pipelines,
 *              transactions and dedicated handles are not counted as shared
 *   batching   the pool's statistics count commands per write: more than
 *              one with 32 threads, exactly one with one thread, none when
 *              off; autopipeline_connections and autopipeline_max_batch
 *              bound connections and batches
 *   callers    error replies and typed outputs belong to their own caller
 *   failures   a timeout fails every command in flight with TimeoutError;
 *              connections cut mid-batch never make reds run a write twice
 *   fork       a child forked while a batch is in flight (or while threads
 *              batch freely) uses the client afresh
 *   options    invalid values are refused; a Sentinel-managed client
 *              batches too
 *
 * Nothing waits a fixed time for something to happen: threads are waited
 * for with bounded polling on a condition, and durations are printed for
 * information only. REDS_TEST_SCALE scales the rounds (ThreadSanitizer
 * builds default to a quarter). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture_relay.h"
#include "fixture_sentinel.h"
#include "testutil.h"

/* ---------------------------------------------------------------- helpers */

/* Batching made certain (below): 8 INCRs queued behind a paused write. */
static void assert_batches(reds_client *c);

static int scaled(int n)
{
    double s = 1.0;
#if defined(__SANITIZE_THREAD__)
    s = 0.25;
#endif
    const char *e = getenv("REDS_TEST_SCALE");
    if (e && *e)
        s = atof(e);
    int v = (int)(n * s);
    return v > 0 ? v : 1;
}

/* Wait up to `ms` for *counter to reach `want`; whether it did. */
static bool await_count(atomic_long *counter, long want, int ms)
{
    for (long long end = now_ms() + ms; atomic_load(counter) < want && now_ms() < end;)
        sleep_ms(1);
    return atomic_load(counter) >= want;
}

enum { ROLE_ECHO, ROLE_BLPOP, ROLE_PUSH };

/* One thread's work and what it met. Counters are the thread's own until
 * it is joined; `progress` is read while it runs. */
typedef struct worker {
    reds_client *c;
    int id, role, rounds;
    unsigned seed;
    atomic_bool *stop;     /* blockers and pushers run until it is set */
    atomic_long *progress; /* commands completed, by every thread */
    pthread_barrier_t *go; /* when set, all start together */
    long ok, conn_failed;  /* successes, connection-class failures */
    long popped, read;     /* BLPOP and XREAD deliveries */
    char first_msg[256];   /* the first connection failure's message */
    char problem[512];     /* a wrong reply or a wrong kind of error */
} worker;

static void problem(worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(worker *w, const char *fmt, ...)
{
    if (w->problem[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->problem, sizeof w->problem, fmt, ap);
    va_end(ap);
}

/* A failed call: a connection-class error with a message counts; anything
 * else is a problem. Returns false on a problem. */
static bool failed(worker *w, const char *what, reds_err err, const void *out)
{
    const char *msg = reds_errmsg();
    if (out) {
        problem(w, "%s failed (%s) but filled its output", what, reds_err_name(err));
        return false;
    }
    if (!reds_err_is(err, REDS_ERR_CONNECTION) || !msg || !*msg) {
        problem(w, "%s: %s (%s), expected a connection error", what, reds_err_name(err),
                msg ? msg : "(no message)");
        return false;
    }
    if (!w->first_msg[0])
        snprintf(w->first_msg, sizeof w->first_msg, "%s", msg);
    w->conn_failed++;
    return true;
}

/* ECHO a nonce of this thread and round and check the reply byte for byte.
 * False on a problem. */
static bool echo_once(worker *w, long round)
{
    char nonce[64];
    int n =
        snprintf(nonce, sizeof nonce, "t%02d-%06ld-%08x", w->id, round, (unsigned)rand_r(&w->seed));
    reds_str *echo = NULL;
    reds_err err = reds_echo(w->c, reds_strn(nonce, (size_t)n), &echo);
    if (err)
        return failed(w, "ECHO", err, echo);
    bool same = echo && echo->len == (size_t)n && memcmp(echo->ptr, nonce, (size_t)n) == 0;
    if (!same)
        problem(w, "round %ld: sent %s, got %.*s", round, nonce, echo ? (int)echo->len : 6,
                echo ? echo->ptr : "(null)");
    reds_free(echo);
    w->ok += same;
    atomic_fetch_add(w->progress, 1);
    return same;
}

static void start(worker *w)
{
    if (w->go)
        pthread_barrier_wait(w->go);
}

static void *echo_loop(void *arg)
{
    worker *w = arg;
    start(w);
    for (long i = 0; i < w->rounds && echo_once(w, i);)
        i++;
    return NULL;
}

/* BLPOP with a short timeout on "bq", where pushers push "p<id>-<n>". */
static bool blpop_once(worker *w)
{
    reds_str k = S("bq");
    reds_keyed_element *e = NULL;
    reds_err err = reds_blpop(w->c, &k, 1, 0.05, &e);
    if (err)
        return failed(w, "BLPOP", err, e);
    bool good = true;
    if (e) {
        int pusher, n, used = 0;
        good = str_eq(e->key, "bq") && e->element.ptr &&
               sscanf(e->element.ptr, "p%d-%d%n", &pusher, &n, &used) == 2 &&
               (size_t)used == e->element.len;
        if (!good)
            problem(w, "BLPOP: got %.*s from %.*s", (int)e->element.len, e->element.ptr,
                    (int)e->key.len, e->key.ptr);
        w->popped++;
    }
    reds_free(e);
    w->ok += good;
    atomic_fetch_add(w->progress, 1);
    return good;
}

/* XREAD BLOCK 20 on "st" from the last entry seen, where pushers add
 * entries f=v<n>. */
static bool xread_once(worker *w, char last[64])
{
    reds_str k = S("st"), id = reds_cstr(last);
    reds_xread_opts o = {.block = REDS_I64(20), .count = REDS_I64(10)};
    reds_xread_stream_list *l = NULL;
    reds_err err = reds_xread(w->c, &k, 1, &id, 1, &o, &l);
    if (err)
        return failed(w, "XREAD", err, l);
    bool good = !l || (l->count == 1 && str_eq(l->items[0].key, "st") && l->items[0].nentries);
    for (size_t i = 0; good && l && i < l->items[0].nentries; i++) {
        const reds_stream_entry *e = &l->items[0].entries[i];
        good = e->id.ptr && e->id.len < 64 && e->fields.count == 1 &&
               str_eq(e->fields.items[0].key, "f") && e->fields.items[0].value.len > 1 &&
               e->fields.items[0].value.ptr[0] == 'v';
        if (good)
            snprintf(last, 64, "%.*s", (int)e->id.len, e->id.ptr);
        w->read++;
    }
    if (!good)
        problem(w, "XREAD: a reply not from the stream (%zu streams)", l ? l->count : 0);
    reds_free(l);
    w->ok += good;
    atomic_fetch_add(w->progress, 1);
    return good;
}

/* Blocking commands, alternately, until told to stop. */
static void *blocker_loop(void *arg)
{
    worker *w = arg;
    start(w);
    char last[64] = "0-0";
    for (long i = 0; !atomic_load(w->stop); i++)
        if (!(i % 2 ? xread_once(w, last) : blpop_once(w)))
            break;
    return NULL;
}

/* LPUSH to "bq" and XADD to "st" (with an ECHO between), until told to
 * stop. */
static void *pusher_loop(void *arg)
{
    worker *w = arg;
    start(w);
    for (long i = 0; !atomic_load(w->stop); i++) {
        char item[32];
        if (i % 2)
            snprintf(item, sizeof item, "v%ld", i);
        else
            snprintf(item, sizeof item, "p%d-%ld", w->id, i);
        reds_err err;
        if (i % 2 == 0) {
            reds_str v = reds_cstr(item);
            err = reds_lpush(w->c, S("bq"), &v, 1, NULL);
        } else {
            reds_field_value fv = {S("f"), reds_cstr(item)};
            err = reds_xadd(w->c, S("st"), (reds_xadd_id){.auto_id = true}, &fv, 1, NULL, NULL);
        }
        if (err && !failed(w, i % 2 ? "XADD" : "LPUSH", err, NULL))
            break;
        if (!echo_once(w, i))
            break;
    }
    return NULL;
}

/* CLIENT KILL TYPE normal every 10 ms on a connection of its own (SKIPME
 * yes: not itself), until told to stop; counts the connections killed. */
typedef struct killer {
    atomic_bool stop;
    long kills, rounds;
    pthread_t thread;
} killer;

static void *kill_loop(void *arg)
{
    killer *k = arg;
    while (!atomic_load(&k->stop)) {
        char reply[64] = "";
        if (fixture_command(&test_server, "CLIENT KILL TYPE normal", reply, sizeof reply) == 0 &&
            reply[0] == ':')
            k->kills += atol(reply + 1);
        k->rounds++;
        sleep_ms(10); /* the pace of the kills, not a synchronisation */
    }
    return NULL;
}

static void join_all(pthread_t *t, int n)
{
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

/* The workers' problems, as one test failure naming the first. */
static void assert_no_problem(worker *w, int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(!w[i].problem[0], "thread %d: %s", w[i].id, w[i].problem);
}

/* `n` threads of echo_loop, `rounds` each, on `c`; their problems fail the
 * test. Returns the ECHOs that succeeded. */
static long echo_threads(reds_client *c, int n, int rounds)
{
    worker *w = calloc((size_t)n, sizeof *w);
    pthread_t *t = calloc((size_t)n, sizeof *t);
    atomic_long progress;
    atomic_init(&progress, 0);
    for (int i = 0; i < n; i++) {
        w[i] = (worker){.c = c,
                        .id = i,
                        .rounds = rounds,
                        .seed = (unsigned)(i * 7919 + getpid()),
                        .progress = &progress};
        pthread_create(&t[i], NULL, echo_loop, &w[i]);
    }
    join_all(t, n);
    long ok = 0;
    for (int i = 0; i < n; i++) {
        ck_assert_msg(!w[i].problem[0], "thread %d: %s", i, w[i].problem);
        ck_assert_msg(w[i].conn_failed == 0, "thread %d: %s", i, w[i].first_msg);
        ok += w[i].ok;
    }
    free(w);
    free(t);
    return ok;
}

/* ================================================================ desync */

enum { DESYNC_THREADS = 64, BLOCKERS = 4, PUSHERS = 2 };

START_TEST(desync_detector_under_kills)
{
    reds_client *c = test_client(NULL); /* auto-pipelining on: the default */
    int rounds = scaled(2000);
    static worker w[DESYNC_THREADS];
    pthread_t t[DESYNC_THREADS];
    atomic_bool stop;
    atomic_long progress;
    pthread_barrier_t go;
    atomic_init(&stop, false);
    atomic_init(&progress, 0);
    pthread_barrier_init(&go, NULL, DESYNC_THREADS + 1);
    killer k = {.kills = 0};
    atomic_init(&k.stop, false);
    pthread_create(&k.thread, NULL, kill_loop, &k);
    int echoers = DESYNC_THREADS - BLOCKERS - PUSHERS;
    for (int i = 0; i < DESYNC_THREADS; i++) {
        w[i] = (worker){.c = c,
                        .id = i,
                        .role = i < echoers              ? ROLE_ECHO
                                : i < echoers + BLOCKERS ? ROLE_BLPOP
                                                         : ROLE_PUSH,
                        .rounds = rounds,
                        .seed = (unsigned)(i * 7919 + getpid()),
                        .stop = &stop,
                        .progress = &progress,
                        .go = &go};
        pthread_create(&t[i], NULL,
                       w[i].role == ROLE_ECHO    ? echo_loop
                       : w[i].role == ROLE_BLPOP ? blocker_loop
                                                 : pusher_loop,
                       &w[i]);
    }
    pthread_barrier_wait(&go);
    long long t0 = now_ms();
    join_all(t, echoers);
    long long took = now_ms() - t0;
    atomic_store(&stop, true);
    join_all(t + echoers, DESYNC_THREADS - echoers);
    atomic_store(&k.stop, true);
    pthread_join(k.thread, NULL);
    pthread_barrier_destroy(&go);

    long ok = 0, conn_failed = 0, popped = 0, read = 0, blocking_ok = 0;
    const char *msg = "";
    for (int i = 0; i < DESYNC_THREADS; i++) {
        ck_assert_msg(!w[i].problem[0], "thread %d: %s", i, w[i].problem);
        ok += w[i].ok;
        conn_failed += w[i].conn_failed;
        popped += w[i].popped;
        read += w[i].read;
        if (w[i].role == ROLE_BLPOP)
            blocking_ok += w[i].ok;
        if (!*msg && w[i].first_msg[0])
            msg = w[i].first_msg;
    }
    reds_pool_stats s = test_pool_stats(c);
    test_note("desync: %ld replies right, 0 wrong, %ld connection errors (\"%s\"), %ld "
              "connections killed in %ld rounds, %ld BLPOP and %ld XREAD deliveries, %.1f "
              "commands/write, %zu connections made, %lld ms\n",
              ok, conn_failed, msg, k.kills, k.rounds, popped, read,
              s.shared_writes ? (double)s.shared_commands / (double)s.shared_writes : 0.0,
              s.created, took);
    ck_assert_int_gt(ok, 0);
    ck_assert_int_gt(blocking_ok, 0);
    ck_assert_int_gt(k.kills, 0); /* the test did test something */
    /* Every echo thread ran all its rounds, each either right or failed. */
    long echo_done = 0;
    for (int i = 0; i < echoers; i++)
        echo_done += w[i].ok + w[i].conn_failed;
    ck_assert_int_eq(echo_done, (long)echoers * rounds);
    /* Afterwards the client is as good as new. */
    ck_assert_int_eq(echo_threads(c, 8, 50), 8 * 50);
    ck_assert_uint_eq(test_pool_stats(c).in_use, 0);
    reds_client_free(c);
}
END_TEST

/* =============================================================== alone */

typedef struct blocked_call {
    reds_client *c;
    const char *kind; /* "blpop", "xread", "wait" */
    reds_err err;
    bool empty; /* it returned nothing (unblocked) */
    atomic_bool done;
} blocked_call;

static void *block_forever(void *arg)
{
    blocked_call *b = arg;
    if (strcmp(b->kind, "blpop") == 0) {
        reds_str k = S("never");
        reds_keyed_element *e = NULL;
        b->err = reds_blpop(b->c, &k, 1, 0, &e);
        b->empty = e == NULL;
        reds_free(e);
    } else if (strcmp(b->kind, "xread") == 0) {
        reds_str k = S("never-stream"), id = S("$");
        reds_xread_opts o = {.block = REDS_I64(0)};
        reds_xread_stream_list *l = NULL;
        b->err = reds_xread(b->c, &k, 1, &id, 1, &o, &l);
        b->empty = l == NULL;
        reds_free(l);
    } else {
        int64_t acked = -1;
        b->err = reds_wait(b->c, 1, 0, &acked); /* no replica: forever */
        b->empty = acked == 0;
    }
    atomic_store(&b->done, true);
    return NULL;
}

/* The id of the connection blocked in `cmd` ("blpop"), waiting for it to
 * block (bounded); 0 when none did. */
static int64_t blocked_id(reds_client *ctl, const char *cmd)
{
    for (long long end = now_ms() + 10000; now_ms() < end; sleep_ms(2)) {
        reds_client_entry_list *l = NULL;
        ASSERT_OK(reds_client_list(ctl, NULL, &l));
        int64_t id = 0;
        for (size_t i = 0; i < l->count && !id; i++)
            if (str_eq(l->items[i].cmd, cmd) &&
                memchr(l->items[i].flags.ptr, 'b', l->items[i].flags.len))
                id = l->items[i].id;
        reds_free(l);
        if (id)
            return id;
    }
    return 0;
}

/* While a command of `kind` blocks forever on `c`, 8 threads ECHO 50
 * nonces each on `c`: all of them complete before it is unblocked. */
static void others_go_on_while(const char *kind)
{
    reds_options one = {.autopipeline_connections = 1};
    reds_client *c = test_client(&one);
    reds_options off = {.autopipeline = REDS_DISABLED};
    reds_client *ctl = test_client(&off);
    ASSERT_OK(reds_ping(c, NULL, NULL)); /* the lane's connection, warm */
    blocked_call b = {.c = c, .kind = kind};
    atomic_init(&b.done, false);
    pthread_t bt;
    pthread_create(&bt, NULL, block_forever, &b);
    int64_t id = blocked_id(ctl, kind);
    ck_assert_msg(id != 0, "%s never blocked", kind);

    enum { N = 8, ROUNDS = 50 };
    worker w[N];
    pthread_t t[N];
    atomic_long progress;
    atomic_init(&progress, 0);
    for (int i = 0; i < N; i++) {
        w[i] =
            (worker){.c = c, .id = i, .rounds = ROUNDS, .seed = (unsigned)i, .progress = &progress};
        pthread_create(&t[i], NULL, echo_loop, &w[i]);
    }
    bool all_done = await_count(&progress, N * ROUNDS, 10000);
    long done = atomic_load(&progress);
    bool still_blocked = !atomic_load(&b.done);
    reds_pool_stats s = test_pool_stats(c);
    /* Unblock it whatever happened, so that every thread ends. */
    bool unblocked = false;
    ASSERT_OK(reds_client_unblock(ctl, id, NULL, &unblocked));
    pthread_join(bt, NULL);
    join_all(t, N);
    assert_no_problem(w, N);
    ck_assert_msg(all_done,
                  "%s held up the other callers: %ld of %d ECHOs done while it "
                  "blocked",
                  kind, done, N * ROUNDS);
    ck_assert(still_blocked);
    ck_assert(unblocked);
    ASSERT_OK(b.err);
    ck_assert(b.empty);
    /* Its connection was its own: the lane had another. */
    ck_assert_uint_eq(s.created, 2);
    ck_assert_uint_eq(s.in_use, 1);
    ck_assert_uint_eq(s.shared_commands, 1 + N * ROUNDS);
    reds_client_free(ctl);
    reds_client_free(c);
}

START_TEST(blpop_keeps_its_own_connection)
{
    others_go_on_while("blpop");
}
END_TEST

START_TEST(xread_block_keeps_its_own_connection)
{
    others_go_on_while("xread");
}
END_TEST

/* WAIT blocks its connection until enough replicas acknowledge (here:
 * forever, there are none): the header names it with BLPOP as a command
 * that keeps a connection of its own. */
START_TEST(wait_keeps_its_own_connection)
{
    others_go_on_while("wait");
}
END_TEST

/* ============================================================ batching */

/* Commands of their own kind next to 32 threads of ECHOs: a pipeline, a
 * transaction, a dedicated handle and BLPOPs. None of them is counted as
 * shared: shared_commands is exactly the ECHOs. */
typedef struct unshared {
    reds_client *c;
    int rounds;
    char problem[256];
} unshared;

static void *unshared_loop(void *arg)
{
    unshared *u = arg;
    reds_client *d = NULL;
    reds_err err = reds_client_dedicated(u->c, &d);
    for (int i = 0; i < u->rounds && !err; i++) {
        for (int tx = 0; tx < 2 && !err; tx++) {
            reds_client *p = NULL;
            int64_t n = 0;
            if (!(err = reds_pipeline_new(u->c, tx, &p))) {
                reds_incr(p, S("unshared"), &n);
                reds_ping(p, NULL, NULL);
                err = reds_pipeline_execute(p);
                reds_client_free(p);
                if (!err && n < 1)
                    snprintf(u->problem, sizeof u->problem, "pipeline INCR gave %lld",
                             (long long)n);
            }
        }
        if (!err)
            err = reds_ping(d, NULL, NULL);
        reds_str k = S("nothing");
        reds_keyed_element *e = NULL;
        if (!err)
            err = reds_blpop(u->c, &k, 1, 0.01, &e);
        reds_free(e);
    }
    if (err)
        snprintf(u->problem, sizeof u->problem, "%s: %s", reds_err_name(err), reds_errmsg());
    reds_client_free(d);
    return NULL;
}

START_TEST(batching_is_counted)
{
    int rounds = scaled(400);
    /* 32 threads: more than one command per write, every ECHO counted. */
    reds_client *c = test_client(NULL);
    unshared u = {.c = c, .rounds = scaled(20)};
    pthread_t ut;
    pthread_create(&ut, NULL, unshared_loop, &u);
    ck_assert_int_eq(echo_threads(c, 32, rounds), 32 * rounds);
    pthread_join(ut, NULL);
    ck_assert_msg(!u.problem[0], "%s", u.problem);
    reds_pool_stats s = test_pool_stats(c);
    test_note("batching: 32 threads: %llu commands in %llu writes (%.2f a write), %zu "
              "connections\n",
              (unsigned long long)s.shared_commands, (unsigned long long)s.shared_writes,
              (double)s.shared_commands / (double)s.shared_writes, s.created);
    ck_assert_uint_eq(s.shared_commands, (uint64_t)32 * rounds);
    ck_assert_uint_gt(s.shared_writes, 0);
    assert_batches(c);
    reds_client_free(c);

    /* One thread: one command a write, each counted. */
    c = test_client(NULL);
    ck_assert_int_eq(echo_threads(c, 1, rounds), rounds);
    s = test_pool_stats(c);
    ck_assert_uint_eq(s.shared_commands, (uint64_t)rounds);
    ck_assert_uint_eq(s.shared_writes, (uint64_t)rounds);
    ASSERT_STATS_ARE(s, 1, 0, 1);
    reds_client_free(c);

    /* Off: nothing shared, nothing counted. */
    reds_options off = {.autopipeline = REDS_DISABLED};
    c = test_client(&off);
    ck_assert_int_eq(echo_threads(c, 8, rounds / 4), 8 * (rounds / 4));
    s = test_pool_stats(c);
    ck_assert_uint_eq(s.shared_commands, 0);
    ck_assert_uint_eq(s.shared_writes, 0);
    reds_client_free(c);
}
END_TEST

START_TEST(shared_connections_and_batches_are_bounded)
{
    int rounds = scaled(400);
    /* Two shared connections (the default) for 16 threads: at most two
     * are made. */
    reds_client *c = test_client(NULL);
    ck_assert_int_eq(echo_threads(c, 16, rounds), 16 * rounds);
    reds_pool_stats s = test_pool_stats(c);
    test_note("bounds: 2 shared connections, 16 threads: %zu made, %.2f commands a write\n",
              s.created, (double)s.shared_commands / (double)s.shared_writes);
    ck_assert_uint_le(s.created, 2);
    ck_assert_uint_ge(s.created, 1);
    ck_assert_uint_eq(s.in_use, 0);
    ck_assert_uint_eq(s.shared_commands, (uint64_t)16 * rounds);
    assert_batches(c);
    reds_client_free(c);

    /* At most four commands a write. */
    reds_options four = {.autopipeline_connections = 1, .autopipeline_max_batch = 4};
    c = test_client(&four);
    ck_assert_int_eq(echo_threads(c, 32, rounds), 32 * rounds);
    s = test_pool_stats(c);
    test_note("bounds: max_batch 4, 32 threads: %.2f commands a write\n",
              (double)s.shared_commands / (double)s.shared_writes);
    ck_assert_uint_eq(s.shared_commands, (uint64_t)32 * rounds);
    ck_assert_uint_le(s.shared_commands, 4 * s.shared_writes);
    ck_assert_uint_lt(s.shared_writes, s.shared_commands);
    ck_assert_uint_eq(s.created, 1);
    reds_client_free(c);
}
END_TEST

/* ============================================================= callers */

enum { CALLERS = 32 };

typedef struct caller {
    reds_client *c;
    int id, rounds;
    long errors; /* INCRs refused, as expected */
    char problem[512];
} caller;

static void *caller_loop(void *arg)
{
    caller *w = arg;
    char key[32], want[32];
    for (int i = 0; i < w->rounds && !w->problem[0]; i++) {
        reds_err err;
        if (w->id % 4 == 0) {
            /* Refused by the server: the error and its text are ours. */
            int64_t n = -7; /* zeroed by the call, never filled */
            err = reds_incr(w->c, S("text"), &n);
            const char *expect = "INCR: ERR value is not an integer or out of range";
            if (err != REDS_ERR_RESPONSE || strcmp(reds_errmsg(), expect) != 0 || n != 0)
                snprintf(w->problem, sizeof w->problem, "INCR -> %s (%s), out %lld",
                         reds_err_name(err), reds_errmsg(), (long long)n);
            w->errors++;
        } else if (w->id % 4 == 1) {
            reds_str *v = NULL;
            snprintf(key, sizeof key, "s:%d", w->id);
            snprintf(want, sizeof want, "value-%d", w->id);
            err = reds_get(w->c, reds_cstr(key), &v);
            if (err || !v || !str_eq(*v, want) || v->ptr[v->len] != '\0')
                snprintf(w->problem, sizeof w->problem, "GET %s -> %s, %.*s", key,
                         reds_err_name(err), v ? (int)v->len : 6, v ? v->ptr : "(nil)");
            reds_free(v);
        } else if (w->id % 4 == 2) {
            reds_strlist *l = NULL;
            snprintf(key, sizeof key, "l:%d", w->id);
            err = reds_lrange(w->c, reds_cstr(key), 0, -1, &l);
            bool good = !err && l && l->count == 3;
            for (int j = 0; good && j < 3; j++) {
                snprintf(want, sizeof want, "%c-%d", 'a' + j, w->id);
                good = str_eq(l->items[j], want);
            }
            if (!good)
                snprintf(w->problem, sizeof w->problem, "LRANGE %s -> %s, %zu items", key,
                         reds_err_name(err), l ? l->count : 0);
            reds_free(l);
        } else {
            reds_map *m = NULL;
            snprintf(key, sizeof key, "h:%d", w->id);
            err = reds_hgetall(w->c, reds_cstr(key), &m);
            bool good = !err && m && m->count == 2;
            for (int j = 0; good && j < 2; j++) {
                char f[8];
                snprintf(f, sizeof f, "f%d", j + 1);
                snprintf(want, sizeof want, "%c-%d", 'x' + j, w->id);
                const reds_str *v = reds_map_get(m, reds_cstr(f));
                good = v && str_eq(*v, want);
            }
            if (!good)
                snprintf(w->problem, sizeof w->problem, "HGETALL %s -> %s, %zu pairs", key,
                         reds_err_name(err), m ? m->count : 0);
            reds_free(m);
        }
    }
    return NULL;
}

START_TEST(errors_and_outputs_are_per_caller)
{
    reds_options off = {.autopipeline = REDS_DISABLED};
    reds_client *setup = test_client(&off);
    ASSERT_OK(reds_set(setup, S("text"), S("not a number"), NULL, NULL));
    for (int i = 0; i < CALLERS; i++) {
        char key[32], v[3][32];
        snprintf(key, sizeof key, "s:%d", i);
        snprintf(v[0], sizeof v[0], "value-%d", i);
        ASSERT_OK(reds_set(setup, reds_cstr(key), reds_cstr(v[0]), NULL, NULL));
        snprintf(key, sizeof key, "l:%d", i);
        for (int j = 0; j < 3; j++)
            snprintf(v[j], sizeof v[j], "%c-%d", 'a' + j, i);
        reds_str items[3] = {reds_cstr(v[0]), reds_cstr(v[1]), reds_cstr(v[2])};
        ASSERT_OK(reds_rpush(setup, reds_cstr(key), items, 3, NULL));
        snprintf(key, sizeof key, "h:%d", i);
        snprintf(v[0], sizeof v[0], "x-%d", i);
        snprintf(v[1], sizeof v[1], "y-%d", i);
        reds_field_value fv[2] = {{S("f1"), reds_cstr(v[0])}, {S("f2"), reds_cstr(v[1])}};
        ASSERT_OK(reds_hset(setup, reds_cstr(key), fv, 2, NULL));
    }
    reds_client_free(setup);

    reds_options one = {.autopipeline_connections = 1};
    reds_client *c = test_client(&one);
    int rounds = scaled(300);
    static caller w[CALLERS];
    pthread_t t[CALLERS];
    for (int i = 0; i < CALLERS; i++) {
        w[i] = (caller){.c = c, .id = i, .rounds = rounds};
        pthread_create(&t[i], NULL, caller_loop, &w[i]);
    }
    join_all(t, CALLERS);
    long errors = 0;
    for (int i = 0; i < CALLERS; i++) {
        ck_assert_msg(!w[i].problem[0], "thread %d: %s", i, w[i].problem);
        errors += w[i].errors;
    }
    ck_assert_int_eq(errors, (long)(CALLERS / 4) * rounds);
    reds_pool_stats s = test_pool_stats(c);
    /* They shared writes: errors and values went out mixed. */
    ck_assert_uint_eq(s.shared_commands, (uint64_t)CALLERS * rounds);
    ck_assert_uint_lt(s.shared_writes, s.shared_commands);
    ASSERT_STATS_ARE(s, 1, 0, 1); /* an error reply costs no connection */
    reds_client_free(c);
}
END_TEST

/* ============================================================ failures */

static relay *relay_to_server(void)
{
    relay *r = relay_start(test_server.port);
    ck_assert_ptr_nonnull(r);
    return r;
}

static reds_client *client_on(int port, const reds_options *opts)
{
    reds_options o = {0};
    if (opts)
        o = *opts;
    o.host = "127.0.0.1";
    o.port = port;
    reds_client *c = NULL;
    ASSERT_OK(reds_client_new(&o, &c));
    return c;
}

typedef struct timed {
    reds_client *c;
    int id;
    reds_err err;
    bool filled;
    char msg[256];
    atomic_long *started;
} timed;

static void *echo_expecting_timeout(void *arg)
{
    timed *w = arg;
    char nonce[32];
    snprintf(nonce, sizeof nonce, "stalled-%d", w->id);
    reds_str *echo = NULL;
    atomic_fetch_add(w->started, 1);
    w->err = reds_echo(w->c, reds_cstr(nonce), &echo);
    w->filled = echo != NULL;
    snprintf(w->msg, sizeof w->msg, "%s", reds_errmsg());
    reds_free(echo);
    return NULL;
}

/* The server's replies stop coming: every command in flight on the shared
 * connection, and every one queued behind it, fails with TimeoutError;
 * none is answered with another's reply afterwards. */
START_TEST(timeout_fails_the_batch_in_flight)
{
    relay *r = relay_to_server();
    reds_options o = {.socket_timeout_ms = 1000}; /* ample for replies that do come */
    reds_client *c = client_on(relay_port(r), &o);
    ASSERT_OK(reds_ping(c, NULL, NULL));
    relay_stall(r);
    enum { N = 16 };
    timed w[N];
    pthread_t t[N];
    atomic_long started;
    atomic_init(&started, 0);
    for (int i = 0; i < N; i++) {
        w[i] = (timed){.c = c, .id = i, .started = &started};
        pthread_create(&t[i], NULL, echo_expecting_timeout, &w[i]);
    }
    join_all(t, N);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(w[i].err == REDS_ERR_TIMEOUT && strstr(w[i].msg, "Timeout reading from"),
                      "thread %d: %s (%s), expected a timeout", i, reds_err_name(w[i].err),
                      w[i].msg);
        ck_assert(!w[i].filled);
    }
    reds_pool_stats s = test_pool_stats(c);
    ck_assert_uint_eq(s.in_use, 0);
    ck_assert_uint_eq(s.idle, 0); /* every connection that timed out is closed */
    relay_pass(r);
    /* The stalled replies arrive on connections reds closed: nobody gets
     * them. */
    ck_assert_int_eq(echo_threads(c, N, 20), N * 20);
    reds_client_free(c);
    relay_stop(r);
}
END_TEST

enum { CUT_INCR = 12, CUT_GET = 4, CUTS = 20 };

static void *incr_loop(void *arg)
{
    worker *w = arg;
    char key[32];
    snprintf(key, sizeof key, "ctr:%d", w->id);
    for (int i = 0; i < w->rounds; i++) {
        int64_t n = 0;
        reds_err err = reds_incr(w->c, reds_cstr(key), &n);
        if (err) {
            if (!reds_err_is(err, REDS_ERR_CONNECTION) || !*reds_errmsg()) {
                problem(w, "INCR: %s (%s)", reds_err_name(err), reds_errmsg());
                break;
            }
            w->conn_failed++;
        } else if (n <= w->ok) { /* each success counts at least one more */
            problem(w, "INCR %s gave %lld after %ld successes", key, (long long)n, w->ok);
            break;
        } else {
            w->ok++;
        }
        atomic_fetch_add(w->progress, 1);
    }
    return NULL;
}

static void *get_loop(void *arg)
{
    worker *w = arg;
    while (!atomic_load(w->stop)) {
        reds_str *v = NULL;
        reds_err err = reds_get(w->c, S("g"), &v);
        if (err) {
            if (!failed(w, "GET", err, v))
                break;
        } else if (!v || !str_eq(*v, "the-value-of-g")) {
            problem(w, "GET g: %.*s", v ? (int)v->len : 5, v ? v->ptr : "(nil)");
            reds_free(v);
            break;
        } else {
            w->ok++;
        }
        reds_free(v);
        atomic_fetch_add(w->progress, 1);
    }
    return NULL;
}

/* Connections cut in the middle of batches, with retries = 2: an INCR that
 * failed may have run (the cut came after the server ran it), but reds
 * never runs one again by itself. So each counter is at least the INCRs
 * that succeeded and at most those plus the ones that failed. GETs are
 * retried and, when they succeed, are right. */
START_TEST(cut_connections_never_run_a_write_twice)
{
    char reply[64];
    test_raw("SET g the-value-of-g", reply, sizeof reply);
    relay *r = relay_to_server();
    reds_options o = {.retries = 2, .retry_backoff_base_ms = 1, .retry_backoff_cap_ms = 2};
    reds_client *c = client_on(relay_port(r), &o);
    int rounds = scaled(1500);
    static worker w[CUT_INCR + CUT_GET];
    pthread_t t[CUT_INCR + CUT_GET];
    atomic_bool stop;
    atomic_long progress;
    atomic_init(&stop, false);
    atomic_init(&progress, 0);
    for (int i = 0; i < CUT_INCR + CUT_GET; i++) {
        w[i] = (worker){.c = c, .id = i, .rounds = rounds, .stop = &stop, .progress = &progress};
        pthread_create(&t[i], NULL, i < CUT_INCR ? incr_loop : get_loop, &w[i]);
    }
    int cuts = 0;
    for (int k = 0; k < CUTS; k++) {
        long before = atomic_load(&progress);
        if (!await_count(&progress, before + 200, 10000))
            break; /* the INCR threads are done */
        uint64_t accepted = relay_get_counts(r).accepted;
        relay_cut(r, 5 + (size_t)(k * 37) % 200);
        /* The cut came when the next connection is made. */
        for (long long end = now_ms() + 10000;
             relay_get_counts(r).accepted == accepted && now_ms() < end;)
            sleep_ms(1);
        cuts += relay_get_counts(r).accepted > accepted;
    }
    join_all(t, CUT_INCR);
    atomic_store(&stop, true);
    join_all(t + CUT_INCR, CUT_GET);
    relay_pass(r);

    reds_options off = {.autopipeline = REDS_DISABLED};
    reds_client *check = test_client(&off);
    long ok = 0, failed_incr = 0, extra = 0, gets = 0, get_failed = 0;
    for (int i = 0; i < CUT_INCR + CUT_GET; i++) {
        ck_assert_msg(!w[i].problem[0], "thread %d: %s", i, w[i].problem);
        if (i >= CUT_INCR) {
            gets += w[i].ok;
            get_failed += w[i].conn_failed;
            continue;
        }
        char key[32];
        snprintf(key, sizeof key, "ctr:%d", i);
        reds_str *v = NULL;
        ASSERT_OK(reds_get(check, reds_cstr(key), &v));
        long final = v ? atol(v->ptr) : 0;
        reds_free(v);
        ck_assert_int_eq(w[i].ok + w[i].conn_failed, rounds);
        ck_assert_msg(final >= w[i].ok && final <= w[i].ok + w[i].conn_failed,
                      "%s is %ld after %ld INCRs that succeeded and %ld that failed", key, final,
                      w[i].ok, w[i].conn_failed);
        ok += w[i].ok;
        failed_incr += w[i].conn_failed;
        extra += final - w[i].ok;
    }
    reds_pool_stats s = test_pool_stats(c);
    test_note("cuts: %d connections cut: %ld INCRs succeeded, %ld failed (%ld of them ran), "
              "%ld GETs right, %ld failed; %.2f commands a write\n",
              cuts, ok, failed_incr, extra, gets, get_failed,
              (double)s.shared_commands / (double)s.shared_writes);
    ck_assert_int_gt(cuts, 0);
    ck_assert_int_gt(failed_incr + get_failed, 0);
    ck_assert_int_gt(gets, 0);
    reds_client_free(check);
    reds_client_free(c);
    relay_stop(r);
}
END_TEST

/* ================================================================ fork */

/* Wait for `pid`; its exit status, or 100 + signal. */
static int reap(pid_t pid)
{
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

/* In a forked child: the client works afresh, on a connection of its own
 * (not `parent_id`). Exits with 0, or the number of what failed. */
static void child_checks(reds_client *c, int64_t parent_id)
{
    signal(SIGALRM, SIG_DFL); /* not Check's timeout handler */
    alarm(10);                /* an inherited lane taken would hang */
    reds_pool_stats s;
    if (reds_pool_get_stats(c, &s) || s.in_use || s.idle || s.created)
        _exit(2);
    char nonce[64];
    snprintf(nonce, sizeof nonce, "child-%d", (int)getpid());
    reds_str *echo = NULL;
    if (reds_echo(c, reds_cstr(nonce), &echo) || !echo || !str_eq(*echo, nonce))
        _exit(3);
    reds_free(echo);
    if (reds_ping(c, NULL, NULL))
        _exit(4);
    int64_t id = 0;
    if (reds_client_id(c, &id) || id == parent_id)
        _exit(5);
    if (reds_pool_get_stats(c, &s) || s.created != 1 || s.idle != 1)
        _exit(6);
    _exit(0);
}

typedef struct paused {
    reds_client *c;
    atomic_long *calling;
    pid_t tid;
    reds_err err;
} paused;

static void *incr_once(void *arg)
{
    paused *p = arg;
    p->tid = (pid_t)syscall(SYS_gettid);
    atomic_fetch_add(p->calling, 1);
    p->err = reds_incr(p->c, S("paused"), NULL);
    return NULL;
}

/* The state letter of thread `tid` of this process (R, S, D...). */
static char thread_state(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' ? paren[2] : '?';
}

/* Eight callers queued on `c` behind a paused write: the server holds
 * writes (CLIENT PAUSE WRITE), so the first INCR waits for its reply and
 * the others queue behind it. Returns once every caller sleeps (in the
 * queue or in recv()); unpause() lets them go and checks each INCR. */
enum { PAUSED = 8 };
typedef struct pause_set {
    paused p[PAUSED];
    pthread_t t[PAUSED];
    atomic_long calling;
} pause_set;

static void pause_callers(reds_client *c, pause_set *ps)
{
    char reply[64];
    test_raw("CLIENT PAUSE 20000 WRITE", reply, sizeof reply);
    ck_assert_str_eq(reply, "+OK");
    atomic_init(&ps->calling, 0);
    for (int i = 0; i < PAUSED; i++) {
        ps->p[i] = (paused){.c = c, .calling = &ps->calling};
        pthread_create(&ps->t[i], NULL, incr_once, &ps->p[i]);
    }
    ck_assert(await_count(&ps->calling, PAUSED, 10000));
    bool asleep = false;
    for (long long end = now_ms() + 10000; !asleep && now_ms() < end; sleep_ms(2)) {
        asleep = true;
        for (int i = 0; i < PAUSED && asleep; i++)
            asleep = thread_state(ps->p[i].tid) == 'S';
    }
    ck_assert_msg(asleep, "the callers never all slept");
}

static void unpause_callers(pause_set *ps)
{
    char reply[64];
    test_raw("CLIENT UNPAUSE", reply, sizeof reply);
    ck_assert_str_eq(reply, "+OK");
    join_all(ps->t, PAUSED);
    for (int i = 0; i < PAUSED; i++)
        ASSERT_OK(ps->p[i].err);
}

/* Fork while a batch is in flight: the server holds writes (CLIENT PAUSE
 * WRITE), so the leader's INCR waits for its reply and the other callers
 * wait in the queue behind it. The child must find the lane free and its
 * pool empty; it never waits for the parent's leader. Every thread is
 * asleep when fork() runs (none inside malloc()). */
START_TEST(fork_while_a_batch_is_in_flight)
{
    reds_options one = {.autopipeline_connections = 1}; /* all eight on one lane */
    reds_client *c = test_client(&one);
    int64_t parent_id = test_client_id(c);
    static pause_set ps;
    pause_callers(c, &ps);
    reds_pool_stats s = test_pool_stats(c);
    ck_assert_uint_eq(s.in_use, 1); /* the leader's, its reply held */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        child_checks(c, parent_id);
    int status = reap(pid); /* before the parent's batch can end */
    unpause_callers(&ps);
    ck_assert_msg(status == 0, "the child %s (%d)",
                  status == 100 + SIGALRM ? "hung on the parent's lane" : "failed", status);
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, S("paused"), &v));
    ASSERT_STR(v, "8");
    reds_free(v);
    ck_assert(test_client_id(c) == parent_id); /* the parent's survived */
    reds_client_free(c);
}
END_TEST

/* GCC 12's AddressSanitizer does not take its allocator's locks around
 * fork() (see check_fork.c): a child forked while another thread is in
 * malloc() can hang. Forking under threads that run freely is for the
 * other builds; the test above forks with every thread asleep. */
#if defined(__SANITIZE_ADDRESS__)
#define FREE_RUNNING_FORKS 0
#else
#define FREE_RUNNING_FORKS 1
#endif

START_TEST(fork_while_threads_batch)
{
    if (!FREE_RUNNING_FORKS) {
        test_note("fork: forks under free-running threads skipped under AddressSanitizer\n");
        return;
    }
    reds_client *c = test_client(NULL);
    int64_t parent_id = test_client_id(c);
    enum { N = 16 };
    static worker w[N];
    pthread_t t[N];
    atomic_long progress;
    atomic_init(&progress, 0);
    int rounds = scaled(3000);
    for (int i = 0; i < N; i++) {
        w[i] =
            (worker){.c = c, .id = i, .rounds = rounds, .seed = (unsigned)i, .progress = &progress};
        pthread_create(&t[i], NULL, echo_loop, &w[i]);
    }
    int forks = 0, status = 0;
    for (; forks < 20 && status == 0 && atomic_load(&progress) < (long)N * rounds; forks++) {
        await_count(&progress, atomic_load(&progress) + 100, 5000);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
            child_checks(c, parent_id);
        status = reap(pid);
    }
    join_all(t, N);
    assert_no_problem(w, N);
    ck_assert_msg(status == 0, "fork %d: the child %s (%d)", forks,
                  status == 100 + SIGALRM ? "hung" : "failed", status);
    ck_assert_int_gt(forks, 0);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(w[i].ok, rounds);
    /* The two shared connections of the default, no more. */
    ck_assert_uint_le(test_pool_stats(c).created, 2);
    reds_client_free(c);
}
END_TEST

/* Batching made certain rather than likely: with writes paused on the
 * server, 8 INCRs are called while the first waits for its reply; once
 * all 8 threads sleep, the pause ends. They went out in fewer writes. */
static void assert_batches(reds_client *c)
{
    reds_pool_stats before = test_pool_stats(c);
    static pause_set ps;
    pause_callers(c, &ps);
    unpause_callers(&ps);
    reds_pool_stats after = test_pool_stats(c);
    ck_assert_uint_eq(after.shared_commands - before.shared_commands, PAUSED);
    ck_assert_uint_lt(after.shared_writes - before.shared_writes, PAUSED);
}

/* ============================================================= options */

static void refused(reds_options o, const char *expect)
{
    o.host = "127.0.0.1";
    o.port = test_server.port;
    static char not_null;
    reds_client *c = (reds_client *)&not_null; /* must become NULL */
    ASSERT_ERR(reds_client_new(&o, &c), REDS_ERR_DATA);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(reds_errmsg(), expect), "\"%s\" does not say \"%s\"", reds_errmsg(),
                  expect);
}

START_TEST(options_are_checked)
{
    refused((reds_options){.autopipeline = 2}, "autopipeline must be 1 (on), REDS_DISABLED");
    refused((reds_options){.autopipeline = -2}, "autopipeline must be 1 (on), REDS_DISABLED");
    refused((reds_options){.autopipeline_connections = -1}, "autopipeline_connections");
    refused((reds_options){.autopipeline_max_batch = -1}, "autopipeline_max_batch");
    refused((reds_options){.autopipeline = REDS_DISABLED, .autopipeline_max_batch = 4},
            "need autopipeline on");
    refused((reds_options){.autopipeline = REDS_DISABLED, .autopipeline_connections = 2},
            "need autopipeline on");
    /* 0 and 1 are on, REDS_DISABLED off; a dedicated handle made from each
     * (its options copied back out) works. */
    int values[] = {0, 1, REDS_DISABLED};
    for (int i = 0; i < 3; i++) {
        reds_options o = {.autopipeline = values[i]};
        if (values[i] == 1) {
            o.autopipeline_connections = 3;
            o.autopipeline_max_batch = 7;
        }
        reds_client *c = test_client(&o), *d = NULL;
        ASSERT_OK(reds_ping(c, NULL, NULL));
        reds_pool_stats s = test_pool_stats(c);
        ck_assert_uint_eq(s.shared_writes, values[i] == REDS_DISABLED ? 0 : 1);
        ck_assert_uint_eq(s.shared_commands, values[i] == REDS_DISABLED ? 0 : 1);
        ASSERT_OK(reds_client_dedicated(c, &d));
        ASSERT_OK(reds_ping(d, NULL, NULL));
        reds_client_free(d);
        reds_client_free(c);
    }
}
END_TEST

/* A Sentinel-managed client is a pool too: its callers batch. One
 * Sentinel watching the test server is enough. */
START_TEST(sentinel_client_batches)
{
    fixture_server sentinel;
    char conf[256];
    snprintf(conf, sizeof conf, "sentinel monitor solo 127.0.0.1 %d 1\n", test_server.port);
    ck_assert_int_eq(fixture_sentinel_spawn(&sentinel, conf), 0);
    reds_host_port at = {"127.0.0.1", sentinel.port};
    reds_sentinel *one = NULL;
    ASSERT_OK(reds_sentinel_new(&at, 1, NULL, &one));
    reds_client *c = NULL;
    ASSERT_OK(reds_sentinel_master_for(one, "solo", NULL, &c));
    int rounds = scaled(300);
    ck_assert_int_eq(echo_threads(c, 16, rounds), 16 * rounds);
    reds_pool_stats s = test_pool_stats(c);
    test_note("sentinel: 16 threads: %.2f commands a write, %zu connections\n",
              (double)s.shared_commands / (double)s.shared_writes, s.created);
    ck_assert_uint_eq(s.shared_commands, (uint64_t)16 * rounds);
    ck_assert_uint_le(s.created, 2); /* the two shared connections of the default */
    assert_batches(c);
    reds_client_free(c);
    reds_sentinel_free(one);
    fixture_stop(&sentinel);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("autopipe");
    TCase *tc = tcase_create("autopipe");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    /* ThreadSanitizer runs these several times slower. */
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, desync_detector_under_kills);
    tcase_add_test(tc, blpop_keeps_its_own_connection);
    tcase_add_test(tc, xread_block_keeps_its_own_connection);
    tcase_add_test(tc, wait_keeps_its_own_connection);
    tcase_add_test(tc, batching_is_counted);
    tcase_add_test(tc, shared_connections_and_batches_are_bounded);
    tcase_add_test(tc, errors_and_outputs_are_per_caller);
    tcase_add_test(tc, timeout_fails_the_batch_in_flight);
    tcase_add_test(tc, cut_connections_never_run_a_write_twice);
    tcase_add_test(tc, fork_while_a_batch_is_in_flight);
    tcase_add_test(tc, fork_while_threads_batch);
    tcase_add_test(tc, options_are_checked);
    tcase_add_test(tc, sentinel_client_batches);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    return test_main(suite(), true);
}
