/* bench: reds against raw hiredis, on the same server in the same run.
 *
 *   bench time [SCALE [CASE]]  timed cases (all, or seq, pipe, lrange or
 *                              async); prints "key value" lines
 *   bench threads [SCALE]      1, 8, 32 and 64 threads doing GETs: one
 *                              shared reds client (auto-pipelining on and
 *                              off), a hiredis context each, and
 *                              redis-benchmark -c N; prints "key value" lines
 *                              (BENCH_AUTOPIPELINE_CONNECTIONS=n: the "on"
 *                              client's autopipeline_connections)
 *   bench cache [SCALE]        client-side caching: a hit against a round
 *                              trip (GET, HGETALL), a read-mostly mix with
 *                              the cache on and off
 *   bench callgrind CASE N     one measured loop for valgrind --tool=callgrind
 *                              (collection is toggled around the loop only);
 *                              prints "CASE_units <commands or elements>"
 *   bench report FILE          the table, from the "key value" lines that
 *                              bench/run.sh gathered in FILE
 *
 * The server comes from REDS_HOST, REDS_PORT and REDS_SOCKET (make bench
 * runs this under with-redis). An "op" is one command, as redis-benchmark
 * counts requests. A benchmark never fails on a figure: the exit status
 * is non-zero only when something broke (a wrong reply, a lost server). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <valgrind/callgrind.h>

#include <reds/async.h>
#include <reds/async/libevent.h>
#include <reds/reds.h>

#define LIST_LEN  10000
#define NOT_BUILT 1 /* a case whose reds side does not exist yet */

/* Literals, for REDS_STR() and sizeof. */
#define KEY      "bench:key"
#define VAL      "bench-value-0123"
#define LIST_KEY "bench:list"
static const char key[] = KEY, val[] = VAL, list_key[] = LIST_KEY;

/* One transport, reached both ways, blocking and on an event loop (one
 * libevent base drives both async connections). */
typedef struct side {
    const char *transport; /* "tcp" or "unix" */
    reds_client *reds;
    redisContext *hi;
    struct event_base *base;
    reds_client *areds;     /* a reds async handle */
    redisAsyncContext *ahi; /* hiredis's own async context */
} side;

/* A measured loop: `n` units (a SET+GET pair, a pipelined batch, an
 * LRANGE); 0, -1 when something broke, or NOT_BUILT. */
typedef int (*loop_fn)(side *s, long n);

static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return -1;
}

static int reds_fail(const char *what, reds_err err)
{
    return fail("reds %s: %s (%s)", what, reds_errmsg(), reds_err_name(err));
}

/* Report a failed hiredis call, or an unexpected reply (which it frees). */
static int hi_fail(const side *s, const char *what, redisReply *r)
{
    if (!r)
        return fail("hiredis %s: %s", what, s->hi->errstr);
    fail("hiredis %s: unexpected reply type %d %.*s", what, r->type, r->str ? (int)r->len : 0,
         r->str ? r->str : "");
    freeReplyObject(r);
    return -1;
}

/* ------------------------------------------------- sequential SET + GET */

static int seq_reds(side *s, long pairs)
{
    const reds_str k = REDS_STR(KEY), v = REDS_STR(VAL);
    for (long i = 0; i < pairs; i++) {
        reds_err err = reds_set(s->reds, k, v, NULL, NULL);
        if (err)
            return reds_fail("SET", err);
        reds_str *got;
        err = reds_get(s->reds, k, &got);
        if (err)
            return reds_fail("GET", err);
        int ok = got && got->len == v.len && memcmp(got->ptr, v.ptr, v.len) == 0;
        reds_free(got);
        if (!ok)
            return fail("reds GET: wrong value");
    }
    return 0;
}

static int seq_hiredis(side *s, long pairs)
{
    const char *set_argv[] = {"SET", key, val}, *get_argv[] = {"GET", key};
    const size_t set_len[] = {3, sizeof key - 1, sizeof val - 1}, get_len[] = {3, sizeof key - 1};
    for (long i = 0; i < pairs; i++) {
        redisReply *r = redisCommandArgv(s->hi, 3, set_argv, set_len);
        if (!r || r->type != REDIS_REPLY_STATUS)
            return hi_fail(s, "SET", r);
        freeReplyObject(r);
        r = redisCommandArgv(s->hi, 2, get_argv, get_len);
        if (!r || r->type != REDIS_REPLY_STRING)
            return hi_fail(s, "GET", r);
        int ok = (size_t)r->len == sizeof val - 1 && memcmp(r->str, val, sizeof val - 1) == 0;
        freeReplyObject(r);
        if (!ok)
            return fail("hiredis GET: wrong value");
    }
    return 0;
}

/* ------------------------------------------ pipelined batches of 100 */

#define BATCH 100 /* commands per batch: 50 SET + GET pairs */

static int pipe_hiredis(side *s, long batches)
{
    const char *set_argv[] = {"SET", key, val}, *get_argv[] = {"GET", key};
    const size_t set_len[] = {3, sizeof key - 1, sizeof val - 1}, get_len[] = {3, sizeof key - 1};
    for (long b = 0; b < batches; b++) {
        for (int i = 0; i < BATCH / 2; i++) {
            if (redisAppendCommandArgv(s->hi, 3, set_argv, set_len) != REDIS_OK ||
                redisAppendCommandArgv(s->hi, 2, get_argv, get_len) != REDIS_OK)
                return hi_fail(s, "append", NULL);
        }
        for (int i = 0; i < BATCH; i++) {
            redisReply *r;
            if (redisGetReply(s->hi, (void **)&r) != REDIS_OK)
                return hi_fail(s, "pipelined reply", NULL);
            int want = i % 2 ? REDIS_REPLY_STRING : REDIS_REPLY_STATUS;
            if (r->type != want)
                return hi_fail(s, "pipelined reply", r);
            freeReplyObject(r);
        }
    }
    return 0;
}

/* The reds side of the pipelined case: queue 50 reds_set + reds_get pairs
 * on a pipeline handle, execute, check the outputs, release them. */
static int pipe_reds(side *s, long batches)
{
    const reds_str k = REDS_STR(KEY), v = REDS_STR(VAL);
    reds_client *p;
    reds_err err = reds_pipeline_new(s->reds, false, &p);
    if (err)
        return reds_fail("pipeline", err);
    bool stored[BATCH / 2];
    reds_str *got[BATCH / 2];
    int rc = 0;
    for (long b = 0; b < batches && !rc; b++) {
        for (int i = 0; i < BATCH / 2; i++) {
            reds_set(p, k, v, NULL, &stored[i]);
            reds_get(p, k, &got[i]);
        }
        err = reds_pipeline_execute(p);
        if (err)
            rc = reds_fail("pipelined batch", err);
        for (int i = 0; i < BATCH / 2; i++) {
            if (!rc && (!stored[i] || !got[i] || got[i]->len != v.len ||
                        memcmp(got[i]->ptr, v.ptr, v.len) != 0))
                rc = fail("reds pipelined GET: wrong value");
            reds_free(got[i]);
        }
    }
    reds_client_free(p);
    return rc;
}

/* ------------------------------------------------- LRANGE of 10,000 */

static int lrange_reds(side *s, long n)
{
    for (long i = 0; i < n; i++) {
        reds_strlist *l;
        reds_err err = reds_lrange(s->reds, REDS_STR(LIST_KEY), 0, -1, &l);
        if (err)
            return reds_fail("LRANGE", err);
        size_t count = l->count;
        reds_free(l);
        if (count != LIST_LEN)
            return fail("reds LRANGE: %zu elements, not %d", count, LIST_LEN);
    }
    return 0;
}

static int lrange_hiredis(side *s, long n)
{
    const char *argv[] = {"LRANGE", list_key, "0", "-1"};
    const size_t len[] = {6, sizeof list_key - 1, 1, 2};
    for (long i = 0; i < n; i++) {
        redisReply *r = redisCommandArgv(s->hi, 4, argv, len);
        if (!r || r->type != REDIS_REPLY_ARRAY)
            return hi_fail(s, "LRANGE", r);
        size_t count = r->elements;
        freeReplyObject(r);
        if (count != LIST_LEN)
            return fail("hiredis LRANGE: %zu elements, not %d", count, LIST_LEN);
    }
    return 0;
}

/* The list, filled once with 10,000 distinct 10-byte values. */
static int fill_list(side *s)
{
    static char vals[LIST_LEN][11];
    static reds_str items[LIST_LEN];
    for (int i = 0; i < LIST_LEN; i++) {
        snprintf(vals[i], sizeof vals[i], "value%05d", i);
        items[i] = reds_strn(vals[i], 10);
    }
    reds_str k = REDS_STR(LIST_KEY);
    int64_t n;
    reds_err err = reds_del(s->reds, &k, 1, &n);
    for (int i = 0; i < LIST_LEN && !err; i += 1000)
        err = reds_rpush(s->reds, k, items + i, 1000, &n);
    if (err)
        return reds_fail("filling the list", err);
    /* Both clients must see exactly these values, in order. */
    reds_strlist *l;
    if ((err = reds_lrange(s->reds, k, 0, -1, &l)))
        return reds_fail("LRANGE", err);
    int ok = l->count == LIST_LEN;
    for (size_t i = 0; ok && i < l->count; i++)
        ok = l->items[i].len == 10 && memcmp(l->items[i].ptr, vals[i], 10) == 0;
    reds_free(l);
    const char *argv[] = {"LRANGE", list_key, "0", "-1"};
    const size_t len[] = {6, sizeof list_key - 1, 1, 2};
    redisReply *r = redisCommandArgv(s->hi, 4, argv, len);
    ok = ok && r && r->type == REDIS_REPLY_ARRAY && r->elements == LIST_LEN;
    for (size_t i = 0; ok && i < r->elements; i++)
        ok = r->element[i]->len == 10 && memcmp(r->element[i]->str, vals[i], 10) == 0;
    freeReplyObject(r);
    return ok ? 0 : fail("the list does not read back as written");
}

/* ------------------------------------------- async: depth 1, 10 and 100 */

/* One async connection keeps `depth` commands in flight: each completion
 * issues the next command, alternately SET and GET of the 16-byte value,
 * until `n` commands completed. reds completes into typed outputs (a bool
 * for SET, an owned reds_str for GET, freed in the completion); hiredis
 * builds a redisReply for each, freed after its callback. Both are driven
 * by the same libevent base through their own libevent adapters. */
#define MAX_DEPTH 100

typedef struct async_run async_run;

typedef struct slot {
    async_run *run;
    long i; /* the command in flight here: even SET, odd GET */
    bool stored;
    reds_str *got;
} slot;

struct async_run {
    side *s;
    long n, issued, done;
    int rc;
    slot slots[MAX_DEPTH];
};

/* After a completion: the next command in this slot, or the end. */
static void async_next(async_run *r, slot *sl, void (*issue)(slot *))
{
    r->done++;
    if (!r->rc && r->issued < r->n)
        issue(sl);
    if (r->done == r->issued && (r->rc || r->issued == r->n))
        event_base_loopbreak(r->s->base);
}

static void reds_issue(slot *sl);

static void reds_done(reds_client *c, reds_err err, void *out, void *udata)
{
    (void)c;
    (void)out;
    slot *sl = (slot *)udata;
    async_run *r = sl->run;
    if (err) {
        if (!r->rc)
            r->rc = reds_fail(sl->i % 2 ? "async GET" : "async SET", err);
    } else if (sl->i % 2) {
        int ok = sl->got && sl->got->len == sizeof val - 1 &&
                 memcmp(sl->got->ptr, val, sizeof val - 1) == 0;
        reds_free(sl->got);
        if (!ok && !r->rc)
            r->rc = fail("reds async GET: wrong value");
    } else if (!sl->stored && !r->rc) {
        r->rc = fail("reds async SET: not stored");
    }
    async_next(r, sl, reds_issue);
}

static void reds_issue(slot *sl)
{
    async_run *r = sl->run;
    reds_client *c = r->s->areds;
    sl->i = r->issued++;
    reds_err err = sl->i % 2
                       ? REDS_ASYNC(c, reds_done, sl, reds_get(c, REDS_STR(KEY), &sl->got))
                       : REDS_ASYNC(c, reds_done, sl,
                                    reds_set(c, REDS_STR(KEY), REDS_STR(VAL), NULL, &sl->stored));
    if (err) { /* nothing queued: no completion will come */
        r->issued--;
        if (!r->rc)
            r->rc = reds_fail("async queue", err);
    }
}

static void hi_issue(slot *sl);

static void hi_done(redisAsyncContext *ac, void *reply, void *privdata)
{
    slot *sl = (slot *)privdata;
    async_run *r = sl->run;
    redisReply *rep = (redisReply *)reply;
    int want = sl->i % 2 ? REDIS_REPLY_STRING : REDIS_REPLY_STATUS;
    if (!r->rc) {
        if (!rep)
            r->rc = fail("hiredis async: %s", ac->errstr[0] ? ac->errstr : "no reply");
        else if (rep->type != want)
            r->rc = fail("hiredis async: unexpected reply type %d", rep->type);
        else if (sl->i % 2 &&
                 ((size_t)rep->len != sizeof val - 1 || memcmp(rep->str, val, sizeof val - 1) != 0))
            r->rc = fail("hiredis async GET: wrong value");
    }
    async_next(r, sl, hi_issue);
}

static void hi_issue(slot *sl)
{
    static const char *set_argv[] = {"SET", key, val}, *get_argv[] = {"GET", key};
    static const size_t set_len[] = {3, sizeof key - 1, sizeof val - 1},
                        get_len[] = {3, sizeof key - 1};
    async_run *r = sl->run;
    sl->i = r->issued++;
    int rc = sl->i % 2 ? redisAsyncCommandArgv(r->s->ahi, hi_done, sl, 2, get_argv, get_len)
                       : redisAsyncCommandArgv(r->s->ahi, hi_done, sl, 3, set_argv, set_len);
    if (rc != REDIS_OK) {
        r->issued--;
        if (!r->rc)
            r->rc = fail("hiredis async: queueing: %s", r->s->ahi->errstr);
    }
}

/* `n` commands, `depth` in flight, on the loop until the last completes. */
static int async_loop(side *s, long n, int depth, void (*issue)(slot *))
{
    static async_run r;
    memset(&r, 0, sizeof r);
    r.s = s;
    r.n = n;
    for (int j = 0; j < depth && r.issued < n && !r.rc; j++) {
        r.slots[j].run = &r;
        issue(&r.slots[j]);
    }
    if (r.issued && event_base_loop(s->base, 0) < 0)
        return fail("event_base_loop failed");
    if (!r.rc && r.done != n)
        return fail("async: %ld of %ld commands completed", r.done, n);
    return r.rc;
}

static int async_reds_d1(side *s, long n)
{
    return async_loop(s, n, 1, reds_issue);
}
static int async_reds_d10(side *s, long n)
{
    return async_loop(s, n, 10, reds_issue);
}
static int async_reds_d100(side *s, long n)
{
    return async_loop(s, n, 100, reds_issue);
}
static int async_hiredis_d1(side *s, long n)
{
    return async_loop(s, n, 1, hi_issue);
}
static int async_hiredis_d10(side *s, long n)
{
    return async_loop(s, n, 10, hi_issue);
}
static int async_hiredis_d100(side *s, long n)
{
    return async_loop(s, n, 100, hi_issue);
}

/* hiredis frees a context that lost its connection: forget it. */
static void hi_disconnected(const redisAsyncContext *ac, int status)
{
    (void)status;
    ((side *)ac->data)->ahi = NULL;
}

/* The async connections of `s`, on a base of their own, warmed up. */
static int connect_async(side *s, reds_options *o, const char *host, int port, const char *sock)
{
    s->base = event_base_new();
    if (!s->base)
        return fail("event_base_new failed");
    reds_err err = reds_async_new(o, &s->areds);
    if (!err)
        err = reds_libevent_attach(s->areds, s->base);
    if (err)
        return reds_fail("async handle", err);
    s->ahi = sock ? redisAsyncConnectUnix(sock) : redisAsyncConnect(host, port);
    if (!s->ahi || s->ahi->err)
        return fail("hiredis async: connecting over %s: %s", s->transport,
                    s->ahi ? s->ahi->errstr : "out of memory");
    s->ahi->data = s;
    redisAsyncSetDisconnectCallback(s->ahi, hi_disconnected);
    if (redisLibeventAttach(s->ahi, s->base) != REDIS_OK)
        return fail("hiredis async: attaching to libevent failed");
    return async_reds_d10(s, 200) || async_hiredis_d10(s, 200) ? -1 : 0;
}

/* ----------------------------------------------------------- connecting */

static int connect_side(side *s, const char *transport)
{
    const char *host = getenv("REDS_HOST"), *port = getenv("REDS_PORT");
    const char *sock = getenv("REDS_SOCKET");
    if (!host || !port || !sock)
        return fail("REDS_HOST, REDS_PORT and REDS_SOCKET must be set (run under with-redis)");
    reds_options o = {0};
    memset(s, 0, sizeof *s);
    s->transport = transport;
    if (strcmp(transport, "unix") == 0) {
        o.unix_path = sock;
        s->hi = redisConnectUnix(sock);
    } else {
        o.host = host;
        o.port = atoi(port);
        s->hi = redisConnect(host, atoi(port));
    }
    if (!s->hi || s->hi->err)
        return fail("hiredis: connecting over %s: %s", transport,
                    s->hi ? s->hi->errstr : "out of memory");
    reds_err err = reds_client_new(&o, &s->reds);
    if (err)
        return reds_fail("client", err);
    /* Connect (the pool opens its connection on first use) and warm up. */
    if (seq_reds(s, 100) || seq_hiredis(s, 100))
        return -1;
    return connect_async(s, &o, host, atoi(port), strcmp(transport, "unix") == 0 ? sock : NULL);
}

static void disconnect_side(side *s)
{
    reds_client_free(s->reds);
    redisFree(s->hi);
    reds_client_free(s->areds); /* detaches from the base first */
    if (s->ahi)
        redisAsyncFree(s->ahi);
    if (s->base)
        event_base_free(s->base);
}

/* ---------------------------------------------------------------- timing */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* How one case is timed. This machine is noisy (a small VM shared with
 * other work, whose round-trip latency can change several-fold from one
 * second to the next), so the two sides alternate in short blocks of
 * `block` units, `blocks` times each (stopping early after `cap`
 * seconds). Each side's figure is its median block, and the ratio is the
 * median of the ratios of neighbouring blocks, which both saw the same
 * conditions. */
typedef struct plan {
    const char *name;
    loop_fn reds, hiredis;
    long block, blocks, ops_per_unit;
    double cap;
} plan;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, long n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Print "<name>_<transport>_reds", "..._hiredis" (median blocks, in ops
 * (commands) per second) and "..._ratio"; nothing for a NOT_BUILT side. */
#define MAX_BLOCKS 200

static int compare(side *s, const plan *p)
{
    const char *who[2] = {"reds", "hiredis"};
    loop_fn fn[2] = {p->reds, p->hiredis};
    int built[2] = {1, 1};
    static double rates[2][MAX_BLOCKS], ratio[MAX_BLOCKS];
    long n = 0;
    double start = now();
    for (; n < p->blocks && n < MAX_BLOCKS && now() - start < p->cap; n++) {
        for (int i = 0; i < 2; i++) {
            if (!built[i])
                continue;
            double t0 = now();
            int rc = fn[i](s, p->block);
            double t = now() - t0;
            if (rc < 0)
                return -1;
            built[i] = rc != NOT_BUILT;
            rates[i][n] = (double)(p->block * p->ops_per_unit) / t;
            /* Paired with the hiredis block that follows. */
            if (i == 1 && built[0])
                ratio[n] = rates[0][n] / rates[1][n];
        }
    }
    for (int i = 0; i < 2; i++) {
        fprintf(stderr, "  %-7s %-5s %-8s %s\n", p->name, s->transport, who[i],
                built[i] ? "done" : "not built yet");
        if (built[i])
            printf("%s_%s_%s %.0f\n", p->name, s->transport, who[i], median(rates[i], n));
    }
    if (built[0])
        printf("%s_%s_ratio %.3f\n", p->name, s->transport, median(ratio, n));
    fflush(stdout);
    return 0;
}

static long scaled(double scale, long n)
{
    long v = (long)(n * scale);
    return v > 0 ? v : 1;
}

static int wanted(const char *only, const char *name)
{
    return !only || strcmp(only, name) == 0;
}

/* `only` (NULL for all) names the one case to run: seq, pipe, lrange or
 * async. */
static int run_time(double scale, const char *only)
{
    static const char *transports[] = {"tcp", "unix"};
    /* Up to 50,000 round trips a side (50 blocks of 500 SET+GET pairs),
     * 5,000 pipelined batches, 250 LRANGEs; fewer on a slow day. */
    const plan seq = {"seq", seq_reds, seq_hiredis, 500, scaled(scale, 50), 2, 15};
    const plan pipe = {"pipe", pipe_reds, pipe_hiredis, 100, scaled(scale, 50), BATCH, 10};
    const plan lrange = {"lrange", lrange_reds, lrange_hiredis, 5, scaled(scale, 50), 1, 10};
    /* One async connection each, 1, 10 or 100 commands in flight: blocks
     * of 1,000, 5,000 and 20,000 commands (about the same time each). */
    const plan async[] = {
        {"async_d1", async_reds_d1, async_hiredis_d1, 1000, scaled(scale, 50), 1, 10},
        {"async_d10", async_reds_d10, async_hiredis_d10, 5000, scaled(scale, 50), 1, 10},
        {"async_d100", async_reds_d100, async_hiredis_d100, 20000, scaled(scale, 50), 1, 10},
    };
    for (int t = 0; t < 2; t++) {
        side s;
        if (connect_side(&s, transports[t]))
            return 1;
        int rc = wanted(only, "seq") ? compare(&s, &seq) : 0;
        if (!rc && t == 0 && wanted(only, "pipe"))
            rc = compare(&s, &pipe);
        if (!rc && t == 0 && wanted(only, "lrange"))
            rc = fill_list(&s);
        if (!rc && wanted(only, "lrange"))
            rc = compare(&s, &lrange);
        for (int d = 0; d < 3 && !rc && t == 0 && wanted(only, "async"); d++)
            rc = compare(&s, &async[d]);
        disconnect_side(&s);
        if (rc)
            return 1;
    }
    return 0;
}

/* ------------------------------------------------ threads sharing a client */

/* N threads doing GET of the 16-byte value as fast as they can, four
 * ways: all sharing one reds client with auto-pipelining on, the same
 * with it off (each thread borrows a pooled connection), each thread with
 * a hiredis context of its own, and redis-benchmark -c N (one process,
 * an event loop over N connections). Every way runs in each round, one
 * after the other, so that a slow second of the machine costs them all;
 * each figure is the median of its rounds, each ratio the median of the
 * ratios within a round. Client CPU is getrusage() user + system over the
 * measured interval (the child's, from wait4(), for redis-benchmark). */
enum { MODE_ON, MODE_OFF, MODE_HIREDIS, MODE_RB, NMODES };
static const char *const mode_names[NMODES] = {"on", "off", "hiredis", "rb"};
#define RB_KEY "key:__rand_int__" /* what redis-benchmark -t get reads */

typedef struct tblock {
    reds_client *reds; /* MODE_ON, MODE_OFF */
    const char *host, *port;
    long per_thread;
    pthread_barrier_t start, end;
    atomic_int failed;
} tblock;

static double cpu_seconds(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
           (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
}

static void *reds_gets(void *arg)
{
    tblock *b = arg;
    const reds_str k = REDS_STR(KEY), v = REDS_STR(VAL);
    pthread_barrier_wait(&b->start);
    for (long i = 0; i < b->per_thread; i++) {
        reds_str *got = NULL;
        reds_err err = reds_get(b->reds, k, &got);
        int ok = !err && got && got->len == v.len && memcmp(got->ptr, v.ptr, v.len) == 0;
        reds_free(got);
        if (!ok) {
            if (!atomic_exchange(&b->failed, 1))
                err ? reds_fail("threaded GET", err) : fail("reds threaded GET: wrong value");
            break;
        }
    }
    pthread_barrier_wait(&b->end);
    return NULL;
}

static void *hiredis_gets(void *arg)
{
    tblock *b = arg;
    const char *argv[] = {"GET", key};
    const size_t len[] = {3, sizeof key - 1};
    redisContext *h = redisConnect(b->host, atoi(b->port));
    if (!h || h->err) {
        if (!atomic_exchange(&b->failed, 1))
            fail("hiredis: connecting: %s", h ? h->errstr : "out of memory");
    }
    pthread_barrier_wait(&b->start);
    for (long i = 0; i < b->per_thread && !atomic_load(&b->failed); i++) {
        redisReply *r = redisCommandArgv(h, 2, argv, len);
        int ok = r && r->type == REDIS_REPLY_STRING && (size_t)r->len == sizeof val - 1 &&
                 memcmp(r->str, val, sizeof val - 1) == 0;
        if (r)
            freeReplyObject(r);
        if (!ok) {
            if (!atomic_exchange(&b->failed, 1))
                fail("hiredis threaded GET: %s", r ? "wrong reply" : h->errstr);
            break;
        }
    }
    pthread_barrier_wait(&b->end);
    redisFree(h);
    return NULL;
}

/* One block of `ops` GETs over `n` threads: ops/s and CPU seconds. */
static int thread_block(tblock *b, int mode, int n, long ops, double *rate, double *cpu)
{
    pthread_t t[64];
    b->per_thread = ops / n;
    atomic_init(&b->failed, 0);
    pthread_barrier_init(&b->start, NULL, (unsigned)n + 1);
    pthread_barrier_init(&b->end, NULL, (unsigned)n + 1);
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, mode == MODE_HIREDIS ? hiredis_gets : reds_gets, b);
    struct rusage r0, r1;
    pthread_barrier_wait(&b->start);
    getrusage(RUSAGE_SELF, &r0);
    double t0 = now();
    pthread_barrier_wait(&b->end);
    double dt = now() - t0;
    getrusage(RUSAGE_SELF, &r1);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&b->start);
    pthread_barrier_destroy(&b->end);
    *rate = (double)(b->per_thread * n) / dt;
    *cpu = cpu_seconds(&r1) - cpu_seconds(&r0);
    return atomic_load(&b->failed) ? -1 : 0;
}

/* redis-benchmark -c n -n ops -t get -q: its own requests per second,
 * and its CPU time from wait4(). */
static int rb_block(const char *host, const char *port, int n, long ops, double *rate, double *cpu)
{
    char clients[16], requests[24];
    snprintf(clients, sizeof clients, "%d", n);
    snprintf(requests, sizeof requests, "%ld", ops);
    int fds[2];
    if (pipe(fds) != 0)
        return fail("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        return fail("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execlp("redis-benchmark", "redis-benchmark", "-h", host, "-p", port, "-c", clients, "-n",
               requests, "-t", "get", "-P", "1", "-q", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char out[4096];
    size_t got = 0;
    ssize_t r;
    while ((r = read(fds[0], out + got, sizeof out - 1 - got)) > 0 && got < sizeof out - 1)
        got += (size_t)r;
    close(fds[0]);
    out[got] = '\0';
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail("redis-benchmark -c %d failed (is it installed?)", n);
    /* "GET: 12345.67 requests per second, p50=..." after \r progress. */
    bool found = false;
    for (const char *at = out; !found && (at = strstr(at, "GET: ")) != NULL; at += 5) {
        int end = 0;
        found = sscanf(at + 5, "%lf requests per second%n", rate, &end) == 1 && end > 0;
    }
    if (!found)
        return fail("redis-benchmark: no GET figure in \"%s\"", out);
    *cpu = cpu_seconds(&ru);
    return 0;
}

#define MAX_ROUNDS 64

static int run_threads(double scale)
{
    const char *host = getenv("REDS_HOST"), *port = getenv("REDS_PORT");
    if (!host || !port)
        return fail("REDS_HOST and REDS_PORT must be set (run under with-redis)");
    static const int counts[] = {1, 8, 32, 64};
    /* GETs a block per thread count (each way takes about a fifth of a
     * second or more), and rounds: many short ones at one thread, where
     * on and off are compared for a 5% goal. */
    static const long block_ops[] = {4000, 20000, 40000, 40000};
    static const long base_rounds[] = {25, 7, 7, 7};
    /* BENCH_AUTOPIPELINE_CONNECTIONS: the "on" client's shared
     * connections (0, unset: the library's default). */
    const char *env = getenv("BENCH_AUTOPIPELINE_CONNECTIONS");
    int lanes = env && atoi(env) > 0 ? atoi(env) : 0;
    printf("threads_lanes %d\n", lanes);
    tblock b = {.host = host, .port = port};
    reds_options o = {.host = host, .port = atoi(port)};
    reds_client *setup;
    reds_err err = reds_client_new(&o, &setup);
    if (!err)
        err = reds_set(setup, REDS_STR(KEY), REDS_STR(VAL), NULL, NULL);
    if (!err)
        err = reds_set(setup, REDS_STR(RB_KEY), REDS_STR(VAL), NULL, NULL);
    reds_client_free(setup);
    if (err)
        return reds_fail("setting up", err);
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        int n = counts[c];
        long ops = scaled(scale, block_ops[c]), rounds = scaled(scale, base_rounds[c]);
        if (rounds < 3)
            rounds = 3;
        if (rounds > MAX_ROUNDS)
            rounds = MAX_ROUNDS;
        if (ops < n)
            ops = n;
        reds_client *clients[2];
        for (int m = 0; m < 2; m++) {
            reds_options co = o;
            co.autopipeline = m == MODE_ON ? 1 : REDS_DISABLED;
            if (m == MODE_ON)
                co.autopipeline_connections = lanes;
            if ((err = reds_client_new(&co, &clients[m])))
                return reds_fail("client", err);
        }
        static double rate[NMODES][MAX_ROUNDS], cpu[NMODES][MAX_ROUNDS];
        static double on_hi[MAX_ROUNDS], on_off[MAX_ROUNDS];
        /* A warm-up block each (connections, buffers), not counted. */
        for (int m = 0; m < 2; m++) {
            double r_, c_;
            b.reds = clients[m];
            if (thread_block(&b, m, n, ops / 4 > n ? ops / 4 : n, &r_, &c_))
                return 1;
        }
        for (long r = 0; r < rounds; r++) {
            for (int m = 0; m < NMODES; m++) {
                double secs = 0;
                int rc;
                if (m == MODE_RB) {
                    rc = rb_block(host, port, n, ops, &rate[m][r], &secs);
                } else {
                    b.reds = m < 2 ? clients[m] : NULL;
                    rc = thread_block(&b, m, n, ops, &rate[m][r], &secs);
                }
                if (rc)
                    return 1;
                cpu[m][r] = secs * 1e6 / (double)ops; /* µs a GET */
            }
            on_hi[r] = rate[MODE_ON][r] / rate[MODE_HIREDIS][r];
            on_off[r] = rate[MODE_ON][r] / rate[MODE_OFF][r];
        }
        size_t conns[NMODES];
        for (int m = 0; m < 2; m++) {
            reds_pool_stats st;
            if ((err = reds_pool_get_stats(clients[m], &st)))
                return reds_fail("stats", err);
            conns[m] = st.created;
            if (m == MODE_ON)
                printf("threads_%d_on_batch %.2f\n", n,
                       st.shared_writes ? (double)st.shared_commands / (double)st.shared_writes
                                        : 0.0);
            reds_client_free(clients[m]);
        }
        conns[MODE_HIREDIS] = conns[MODE_RB] = (size_t)n;
        for (int m = 0; m < NMODES; m++) {
            printf("threads_%d_%s_ops %.0f\n", n, mode_names[m], median(rate[m], rounds));
            printf("threads_%d_%s_cpu %.2f\n", n, mode_names[m], median(cpu[m], rounds));
            printf("threads_%d_%s_conns %zu\n", n, mode_names[m], conns[m]);
        }
        printf("threads_%d_on_hiredis_ratio %.3f\n", n, median(on_hi, rounds));
        printf("threads_%d_on_off_ratio %.3f\n", n, median(on_off, rounds));
        fflush(stdout);
        fprintf(stderr, "  threads %-2d done (%ld rounds of %ld GETs each way)\n", n, rounds, ops);
    }
    return 0;
}

/* ------------------------------------------------ client-side caching */

/* A cache hit against a round trip, for GET and HGETALL, and a
 * read-mostly mix (90% GET, 10% SET over 1,000 hot keys) with the cache on
 * and off. Blocks alternate, as in compare(); figures are medians. */
#define HOT_KEYS    1000
#define HASH_FIELDS 10

typedef int (*op_fn)(reds_client *c, long n);

static int get_n(reds_client *c, long n)
{
    for (long i = 0; i < n; i++) {
        reds_str *v;
        reds_err err = reds_get(c, REDS_STR(KEY), &v);
        if (err)
            return reds_fail("GET", err);
        int ok = v && v->len == sizeof val - 1;
        reds_free(v);
        if (!ok)
            return fail("GET: wrong value");
    }
    return 0;
}

static int hgetall_n(reds_client *c, long n)
{
    for (long i = 0; i < n; i++) {
        reds_map *m;
        reds_err err = reds_hgetall(c, REDS_STR("bench:hash"), &m);
        if (err)
            return reds_fail("HGETALL", err);
        int ok = m->count == HASH_FIELDS;
        reds_free(m);
        if (!ok)
            return fail("HGETALL: wrong reply");
    }
    return 0;
}

/* 90% GET, 10% SET, over HOT_KEYS keys picked at random. */
static int mix_n(reds_client *c, long n)
{
    static unsigned seed = 12345;
    for (long i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        char k[32];
        int len = snprintf(k, sizeof k, "bench:hot:%u", (seed >> 8) % HOT_KEYS);
        reds_err err;
        if ((seed >> 4) % 10 == 0) {
            err = reds_set(c, reds_strn(k, (size_t)len), REDS_STR(VAL), NULL, NULL);
        } else {
            reds_str *v;
            err = reds_get(c, reds_strn(k, (size_t)len), &v);
            reds_free(v);
        }
        if (err)
            return reds_fail("mix", err);
    }
    return 0;
}

/* Seconds per op of `a` and `b` (median blocks of na and nb ops). */
static int time_pair(reds_client *ca, op_fn a, long na, reds_client *cb, op_fn b, long nb,
                     long blocks, double *ta, double *tb)
{
    static double x[MAX_BLOCKS], y[MAX_BLOCKS];
    long n = 0;
    double start = now();
    for (; n < blocks && n < MAX_BLOCKS && (n < 3 || now() - start < 10); n++) {
        double t0 = now();
        if (a(ca, na))
            return -1;
        double t1 = now();
        if (b(cb, nb))
            return -1;
        x[n] = (t1 - t0) / (double)na;
        y[n] = (now() - t1) / (double)nb;
    }
    *ta = median(x, n);
    *tb = median(y, n);
    return 0;
}

static int run_cache(double scale)
{
    const char *host = getenv("REDS_HOST"), *port = getenv("REDS_PORT");
    if (!host || !port)
        return fail("REDS_HOST and REDS_PORT must be set (run under with-redis)");
    reds_options o = {0};
    o.host = host;
    o.port = atoi(port);
    reds_client *plain = NULL, *cached = NULL;
    reds_err err = reds_client_new(&o, &plain);
    o.cache_max_bytes = 64u << 20;
    if (!err)
        err = reds_client_new(&o, &cached);
    if (err)
        return reds_fail("client", err);
    /* The invalidation connection subscribes in the background. */
    reds_cache_stats st = {0};
    for (double t0 = now(); !st.connected && now() - t0 < 5;)
        reds_cache_get_stats(cached, &st);
    if (!st.connected)
        return fail("the cache's invalidation connection never came up");
    reds_field_value fields[HASH_FIELDS];
    char names[HASH_FIELDS][8];
    for (int i = 0; i < HASH_FIELDS; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        fields[i] = (reds_field_value){reds_cstr(names[i]), REDS_STR(VAL)};
    }
    int rc = 0;
    if ((err = reds_set(plain, REDS_STR(KEY), REDS_STR(VAL), NULL, NULL)) ||
        (err = reds_hset(plain, REDS_STR("bench:hash"), fields, HASH_FIELDS, NULL)))
        rc = reds_fail("set-up", err);
    long blocks = scaled(scale, 30);
    double hit, rt;
    /* Warm: the first read of each is a miss that fills the cache. */
    if (!rc)
        rc = get_n(cached, 10) || hgetall_n(cached, 10);
    if (!rc && !(rc = time_pair(cached, get_n, 20000, plain, get_n, 500, blocks, &hit, &rt)))
        printf("cache_get_hit_ns %.1f\ncache_get_rt_ns %.1f\ncache_get_ratio %.1f\n", hit * 1e9,
               rt * 1e9, rt / hit);
    if (!rc &&
        !(rc = time_pair(cached, hgetall_n, 10000, plain, hgetall_n, 500, blocks, &hit, &rt)))
        printf("cache_hgetall_hit_ns %.1f\ncache_hgetall_rt_ns %.1f\ncache_hgetall_ratio %.1f\n",
               hit * 1e9, rt * 1e9, rt / hit);
    /* The mix: fill the hot keys, warm the cache, then time both. */
    for (int i = 0; i < HOT_KEYS && !rc; i++) {
        char k[32];
        snprintf(k, sizeof k, "bench:hot:%d", i);
        if ((err = reds_set(plain, reds_cstr(k), REDS_STR(VAL), NULL, NULL)))
            rc = reds_fail("set-up", err);
    }
    double on, off;
    if (!rc)
        rc = mix_n(cached, 5000);
    if (!rc && !(rc = time_pair(cached, mix_n, 5000, plain, mix_n, 1000, blocks, &on, &off)))
        printf("mix_cache_on %.0f\nmix_cache_off %.0f\nmix_speedup %.2f\n", 1 / on, 1 / off,
               off / on);
    if (!rc && !reds_cache_get_stats(cached, &st))
        fprintf(stderr, "  cache: %llu hits, %llu misses, %llu invalidations, %zu entries\n",
                (unsigned long long)st.hits, (unsigned long long)st.misses,
                (unsigned long long)st.invalidations, st.entries);
    fflush(stdout);
    reds_client_free(cached);
    reds_client_free(plain);
    return rc ? 1 : 0;
}

/* ------------------------------------------------------------- callgrind */

static const struct {
    const char *name;
    loop_fn fn;
    long units_per_n; /* commands (seq, pipe, async) or elements (lrange) per unit */
} cg_cases[] = {
    {"seq_reds", seq_reds, 2},
    {"seq_hiredis", seq_hiredis, 2},
    {"lrange_reds", lrange_reds, LIST_LEN},
    {"lrange_hiredis", lrange_hiredis, LIST_LEN},
    {"pipe_reds", pipe_reds, BATCH},
    {"pipe_hiredis", pipe_hiredis, BATCH},
    {"async_reds_d1", async_reds_d1, 1},
    {"async_hiredis_d1", async_hiredis_d1, 1},
    {"async_reds_d10", async_reds_d10, 1},
    {"async_hiredis_d10", async_hiredis_d10, 1},
    {"async_reds_d100", async_reds_d100, 1},
    {"async_hiredis_d100", async_hiredis_d100, 1},
};

/* Valgrind runs with --collect-atstart=no: only the measured loop, after
 * a warm-up (connection, buffers, malloc arenas), is counted. */
static int run_callgrind(const char *name, long n)
{
    for (size_t i = 0; i < sizeof cg_cases / sizeof cg_cases[0]; i++) {
        if (strcmp(cg_cases[i].name, name) != 0)
            continue;
        side s;
        if (connect_side(&s, "tcp"))
            return 1;
        int rc = strncmp(name, "lrange", 6) == 0 ? fill_list(&s) : 0;
        /* Async cases warm up longer: the queue grows to its depth. */
        long warm = strncmp(name, "async", 5) == 0 ? 1000 : 10;
        if (!rc)
            rc = cg_cases[i].fn(&s, n < warm ? n : warm);
        if (!rc) {
            CALLGRIND_TOGGLE_COLLECT;
            rc = cg_cases[i].fn(&s, n);
            CALLGRIND_TOGGLE_COLLECT;
        }
        disconnect_side(&s);
        if (rc)
            return 1;
        printf("%s_units %ld\n", name, n * cg_cases[i].units_per_n);
        return 0;
    }
    fail("unknown callgrind case %s", name);
    return 2;
}

/* ---------------------------------------------------------------- report */

#define MAX_RESULTS 320

static struct {
    char key[64];
    double value;
} results[MAX_RESULTS];
static int nresults;

/* The value of `k`, NAN when missing. */
static double get(const char *k)
{
    for (int i = 0; i < nresults; i++)
        if (strcmp(results[i].key, k) == 0)
            return results[i].value;
    return NAN;
}

static void fmt_num(char *buf, size_t size, double v, const char *unit)
{
    if (isnan(v))
        snprintf(buf, size, "-");
    else if (v >= 1e6)
        snprintf(buf, size, "%.2fM%s", v / 1e6, unit);
    else if (v >= 1e4)
        snprintf(buf, size, "%.1fk%s", v / 1e3, unit);
    else
        snprintf(buf, size, "%.0f%s", v, unit);
}

/* Two rates of alternating commands combined: the harmonic mean. */
static double combined(double a, double b)
{
    return isnan(a) || isnan(b) ? NAN : 2 / (1 / a + 1 / b);
}

/* One row. `ratio` is reds/hiredis (NAN: work it out from the two);
 * `higher` says whether a higher ratio is better; `goal` bounds it (NAN:
 * no goal). */
static void row(const char *name, double reds, double hi, double rb, const char *unit, double ratio,
                int higher, double goal)
{
    char r[32], h[32], b[32], q[16] = "-", g[16] = "-";
    const char *met = "-";
    fmt_num(r, sizeof r, reds, unit);
    fmt_num(h, sizeof h, hi, unit);
    fmt_num(b, sizeof b, rb, unit);
    if (isnan(reds) && !isnan(hi))
        snprintf(r, sizeof r, "not built");
    if (isnan(ratio))
        ratio = reds / hi;
    if (!isnan(ratio))
        snprintf(q, sizeof q, "%.2fx", ratio);
    if (!isnan(goal)) {
        snprintf(g, sizeof g, "%s %.2fx", higher ? ">=" : "<=", goal);
        met = isnan(ratio) ? "n/a" : (higher ? ratio >= goal : ratio <= goal) ? "met" : "NOT MET";
    }
    printf("%-30s %11s %11s %11s %8s %9s  %s\n", name, r, h, b, q, g, met);
}

/* The threads table: one row per thread count and way. */
static void threads_report(void)
{
    static const int counts[] = {1, 8, 32, 64};
    static const char *const label[] = {"reds, auto-pipelining on", "reds, auto-pipelining off",
                                        "hiredis, a context each", "redis-benchmark -c N"};
    if (isnan(get("threads_1_on_ops")))
        return;
    if (get("threads_lanes") > 0)
        printf("\n(auto-pipelining on with autopipeline_connections = %.0f)", get("threads_lanes"));
    printf("\n%-32s %10s %10s %6s %10s %13s  %-22s %s\n", "GET, N threads", "ops/s", "CPU us/op",
           "conns", "cmds/write", "ratio", "goal", "");
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        int n = counts[c];
        char k[64], name[64], ops[32], cpu[32], conns[16], batch[16] = "-", ratio[24] = "-";
        snprintf(k, sizeof k, "threads_%d_on_batch", n);
        double b = get(k);
        for (int m = 0; m < NMODES; m++) {
            snprintf(name, sizeof name, "%2d  %s", n, label[m]);
            snprintf(k, sizeof k, "threads_%d_%s_ops", n, mode_names[m]);
            fmt_num(ops, sizeof ops, get(k), "/s");
            snprintf(k, sizeof k, "threads_%d_%s_cpu", n, mode_names[m]);
            snprintf(cpu, sizeof cpu, "%.2f", get(k));
            snprintf(k, sizeof k, "threads_%d_%s_conns", n, mode_names[m]);
            snprintf(conns, sizeof conns, "%.0f", get(k));
            const char *goal = "", *met = "";
            snprintf(batch, sizeof batch, "-");
            snprintf(ratio, sizeof ratio, "-");
            if (m == MODE_ON) {
                if (!isnan(b))
                    snprintf(batch, sizeof batch, "%.2f", b);
                snprintf(k, sizeof k, "threads_%d_on_hiredis_ratio", n);
                double r = get(k);
                snprintf(ratio, sizeof ratio, "on/hi %.2fx", r);
                if (n >= 32) {
                    snprintf(k, sizeof k, "threads_%d_on_conns", n);
                    goal = ">= 2.00x, <= 4 conns";
                    met = isnan(r) ? "n/a" : r >= 2.0 && get(k) <= 4 ? "met" : "NOT MET";
                }
            } else if (m == MODE_OFF && n == 1) {
                double r = get("threads_1_on_off_ratio");
                snprintf(ratio, sizeof ratio, "on/off %.2fx", r);
                goal = "on/off >= 0.95x";
                met = isnan(r) ? "n/a" : r >= 0.95 ? "met" : "NOT MET";
            }
            printf("%-32s %10s %10s %6s %10s %13s  %-22s %s\n", name, ops, cpu, conns, batch, ratio,
                   goal, met);
        }
    }
    printf("\nThreads: N threads GET a 16-byte value as fast as they can: all sharing one\n"
           "reds client (auto-pipelining on: their GETs share one connection's writes;\n"
           "off: each borrows a pooled connection), each with a hiredis context of its\n"
           "own, or redis-benchmark -c N -t get (one process, an event loop). The four\n"
           "alternate within each round; figures are medians of the rounds, on/hi the\n"
           "median ratio within a round (at 1 thread, also on/off: the cost of the\n"
           "lane on a single caller). CPU is the client process's user + system time\n"
           "over the measured interval per GET (redis-benchmark's includes starting\n"
           "the process and connecting); conns are connections opened (reds: pool\n"
           "statistics; cmds/write from them). The server shares the machine's\n"
           "cores with the client: fewer, larger reads are what it gains.\n");
}

/* A caching row: the two figures and their ratio (higher is better). */
static void cache_row(const char *name, double with, double without, double ratio, double goal)
{
    char a[32], b[32], q[16] = "-", g[16] = "-";
    const char *met = "-";
    fmt_num(a, sizeof a, with, "");
    fmt_num(b, sizeof b, without, "");
    if (!isnan(ratio))
        snprintf(q, sizeof q, "%.1fx", ratio);
    if (!isnan(goal)) {
        snprintf(g, sizeof g, ">= %.0fx", goal);
        met = isnan(ratio) ? "n/a" : ratio >= goal ? "met" : "NOT MET";
    }
    printf("%-30s %11s %11s %8s %9s  %s\n", name, a, b, q, g, met);
}

static int run_report(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fail("cannot open %s", path);
    char k[64];
    double v;
    while (nresults < MAX_RESULTS && fscanf(f, "%63s %lf", k, &v) == 2) {
        snprintf(results[nresults].key, sizeof results[nresults].key, "%s", k);
        results[nresults++].value = v;
    }
    fclose(f);

    printf("\n%-30s %11s %11s %11s %8s %9s  %s\n", "case", "reds", "hiredis", "redis-bench",
           "reds/hi", "goal", "");
    double rb1 = combined(get("rb_p1_set"), get("rb_p1_get"));
    double rb1u = combined(get("rb_unix_p1_set"), get("rb_unix_p1_get"));
    double rb100 = combined(get("rb_p100_set"), get("rb_p100_get"));
    row("SET+GET sequential, tcp", get("seq_tcp_reds"), get("seq_tcp_hiredis"), rb1, "/s",
        get("seq_tcp_ratio"), 1, NAN);
    row("SET+GET sequential, unix", get("seq_unix_reds"), get("seq_unix_hiredis"), rb1u, "/s",
        get("seq_unix_ratio"), 1, NAN);
    row("SET+GET pipelined x100, tcp", get("pipe_tcp_reds"), get("pipe_tcp_hiredis"), rb100, "/s",
        get("pipe_tcp_ratio"), 1, NAN);
    row("LRANGE 10k, tcp", get("lrange_tcp_reds"), get("lrange_tcp_hiredis"), NAN, "/s",
        get("lrange_tcp_ratio"), 1, 2.0);
    row("LRANGE 10k, unix", get("lrange_unix_reds"), get("lrange_unix_hiredis"), NAN, "/s",
        get("lrange_unix_ratio"), 1, 2.0);
    double seq_r = get("seq_reds_ir") / get("seq_reds_units");
    double seq_h = get("seq_hiredis_ir") / get("seq_hiredis_units");
    double lr_r = get("lrange_reds_ir") / get("lrange_reds_units");
    double lr_h = get("lrange_hiredis_ir") / get("lrange_hiredis_units");
    row("instructions/command SET+GET", seq_r, seq_h, NAN, "", NAN, 0, 0.5);
    row("instructions/element LRANGE", lr_r, lr_h, NAN, "", NAN, 0, 0.5);
    row("instructions/command pipelined", get("pipe_reds_ir") / get("pipe_reds_units"),
        get("pipe_hiredis_ir") / get("pipe_hiredis_units"), NAN, "", NAN, 0, NAN);
    static const int depths[] = {1, 10, 100};
    static const char *part[] = {"reds", "hiredis", "ratio"};
    for (int d = 0; d < 3; d++) {
        char name[40], kv[3][48];
        snprintf(name, sizeof name, "async depth %d, tcp", depths[d]);
        for (int i = 0; i < 3; i++)
            snprintf(kv[i], sizeof kv[i], "async_d%d_tcp_%s", depths[d], part[i]);
        row(name, get(kv[0]), get(kv[1]), NAN, "/s", get(kv[2]), 1, 1.0);
    }
    for (int d = 0; d < 3; d++) {
        char name[40], kv[4][48];
        snprintf(name, sizeof name, "instructions/command async d%d", depths[d]);
        snprintf(kv[0], sizeof kv[0], "async_reds_d%d_ir", depths[d]);
        snprintf(kv[1], sizeof kv[1], "async_reds_d%d_units", depths[d]);
        snprintf(kv[2], sizeof kv[2], "async_hiredis_d%d_ir", depths[d]);
        snprintf(kv[3], sizeof kv[3], "async_hiredis_d%d_units", depths[d]);
        row(name, get(kv[0]) / get(kv[1]), get(kv[2]) / get(kv[3]), NAN, "", NAN, 0, 0.5);
    }
    threads_report();
    printf("\nops/s count commands (a SET and a GET are two; an LRANGE is one), median of\n"
           "up to 50 short blocks with reds and hiredis alternating; reds/hi is the\n"
           "median ratio of neighbouring blocks. redis-bench (-c 1, -P 1 or -P 100)\n"
           "combines its SET and GET figures (harmonic mean). Sequential round trips\n"
           "are bound by the kernel's wake-up latency, hence no goal there: the\n"
           "per-command cost goal is the instruction count. Instructions are\n"
           "user-space (callgrind Ir) inside the measured loop only.\n"
           "async: one connection each (reds with <reds/async/libevent.h>, hiredis\n"
           "with its async API and <hiredis/adapters/libevent.h>, one event_base),\n"
           "1, 10 or 100 commands in flight (each completion issues the next),\n"
           "alternating SET and GET of a 16-byte value; instructions include\n"
           "libevent's own, which both pay.\n");
    printf("\n%-30s %11s %11s %8s %9s  %s\n", "client-side caching, tcp", "cache", "no cache",
           "speed-up", "goal", "");
    cache_row("GET: hit vs round trip, ns", get("cache_get_hit_ns"), get("cache_get_rt_ns"),
              get("cache_get_ratio"), 100);
    cache_row("HGETALL 10: hit vs trip, ns", get("cache_hgetall_hit_ns"),
              get("cache_hgetall_rt_ns"), get("cache_hgetall_ratio"), 100);
    cache_row("90% GET / 10% SET (ops/s)", get("mix_cache_on"), get("mix_cache_off"),
              get("mix_speedup"), NAN);
    printf("\nA hit is served from the process (a fresh owned result, converted as a\n"
           "reply would be); the round trip is the same call on a client without a\n"
           "cache. The mix runs over 1,000 hot keys on one thread; every SET\n"
           "invalidates its key, so the next GET of it goes to the server.\n");
    if (isnan(get("pipe_tcp_reds")))
        printf("reds: pipeline not built yet (hiredis figure shown for reference).\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "time") == 0)
        return run_time(argc >= 3 ? atof(argv[2]) : 1.0, argc >= 4 ? argv[3] : NULL);
    if (argc >= 2 && strcmp(argv[1], "threads") == 0)
        return run_threads(argc >= 3 ? atof(argv[2]) : 1.0) ? 1 : 0;
    if (argc >= 2 && strcmp(argv[1], "cache") == 0)
        return run_cache(argc >= 3 ? atof(argv[2]) : 1.0);
    if (argc == 4 && strcmp(argv[1], "callgrind") == 0)
        return run_callgrind(argv[2], atol(argv[3]));
    if (argc == 3 && strcmp(argv[1], "report") == 0)
        return run_report(argv[2]) ? 1 : 0;
    fprintf(stderr,
            "usage: %s time [SCALE [CASE]] | threads [SCALE] | cache [SCALE] | callgrind CASE N "
            "| report FILE\n",
            argv[0]);
    return 2;
}
