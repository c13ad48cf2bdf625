/* Client-side caching (cache.c): hits and misses, invalidation by another
 * client's write, this client's own writes, the invalidation connection
 * killed, a server restart, FLUSHALL, broadcast mode with prefixes, the
 * memory bound under churn, TTL, what is never cached (pipelines,
 * transactions, dedicated handles, non-cacheable commands), option
 * checks, 16 threads on the same keys, and a soak of writers and cached
 * readers checked against the values written. Nothing waits on a sleep:
 * tests wait, with a bound, on the cache's own counters. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define WAIT_MS 10000

static reds_cache_stats stats_of(reds_client *c)
{
    reds_cache_stats s;
    ASSERT_OK(reds_cache_get_stats(c, &s));
    return s;
}

/* Poll `c`'s counters until `cond` (an expression of `s`) holds, for up
 * to WAIT_MS; the test fails otherwise. */
#define WAIT_STATS(c, s, cond)                                                                     \
    do {                                                                                           \
        reds_cache_stats s;                                                                        \
        long long until_ = now_ms() + WAIT_MS;                                                     \
        for (;;) {                                                                                 \
            s = stats_of(c);                                                                       \
            if (cond)                                                                              \
                break;                                                                             \
            ck_assert_msg(now_ms() < until_, "waited %d ms for %s", WAIT_MS, #cond);               \
            sleep_ms(1);                                                                           \
        }                                                                                          \
    } while (0)

static reds_client *cache_client_on(const fixture_server *srv, size_t max_bytes,
                                    const reds_options *extra)
{
    reds_options o = {0};
    if (extra)
        o = *extra;
    o.port = srv->port;
    o.cache_max_bytes = max_bytes;
    reds_client *c = NULL;
    ASSERT_OK(reds_client_new(&o, &c));
    WAIT_STATS(c, s, s.connected);
    return c;
}

static reds_client *cache_client(size_t max_bytes, const reds_options *extra)
{
    return cache_client_on(&test_server, max_bytes, extra);
}

static void expect_get(reds_client *c, const char *key, const char *expect)
{
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, reds_cstr(key), &v));
    if (!expect) {
        ck_assert_ptr_null(v);
        return;
    }
    ck_assert_msg(v != NULL, "GET %s: nil, expected %s", key, expect);
    ASSERT_STR(v, expect);
    reds_free(v);
}

static void set_raw(reds_client *w, const char *key, const char *value)
{
    ASSERT_OK(reds_set(w, reds_cstr(key), reds_cstr(value), NULL, NULL));
}

/* ------------------------------------------------------------ basics */

START_TEST(hit_then_invalidated_by_another_client)
{
    reds_client *w = test_client(NULL);
    set_raw(w, "k", "v1");
    reds_client *c = cache_client(1 << 20, NULL);
    expect_get(c, "k", "v1");
    reds_cache_stats s = stats_of(c);
    ck_assert_uint_eq(s.misses, 1);
    ck_assert_uint_eq(s.hits, 0);
    ck_assert_uint_eq(s.entries, 1);
    expect_get(c, "k", "v1");
    ck_assert_uint_eq(stats_of(c).hits, 1);
    set_raw(w, "k", "v2");
    WAIT_STATS(c, t, t.invalidations >= 1 && t.entries == 0);
    expect_get(c, "k", "v2");
    s = stats_of(c);
    ck_assert_uint_eq(s.misses, 2);
    ck_assert_uint_eq(s.hits, 1);
    expect_get(c, "k", "v2");
    ck_assert_uint_eq(stats_of(c).hits, 2);
    reds_client_free(c);
    reds_client_free(w);
}
END_TEST

/* A hit is a fresh result the caller owns, of every reply shape. */
START_TEST(hits_are_fresh_typed_results)
{
    reds_client *c = cache_client(1 << 20, NULL);
    reds_field_value fv[] = {{S("f1"), S("a")}, {S("f2"), S("b")}};
    ASSERT_OK(reds_hset(c, S("h"), fv, 2, NULL));
    ASSERT_OK(reds_rpush(c, S("l"), STRS(S("x"), S("y"), S("z")), 3, NULL));
    set_raw(c, "s1", "one");
    for (int round = 0; round < 3; round++) {
        reds_map *m = NULL;
        ASSERT_OK(reds_hgetall(c, S("h"), &m));
        ck_assert_uint_eq(m->count, 2);
        ASSERT_STR(reds_map_get(m, S("f1")), "a");
        ASSERT_STR(reds_map_get(m, S("f2")), "b");
        reds_free(m);
        reds_strlist *l = NULL;
        ASSERT_OK(reds_lrange(c, S("l"), 0, -1, &l));
        test_assert_strlist(l, "x", "y", "z", NULL);
        reds_free(l);
        ASSERT_OK(reds_mget(c, STRS(S("s1"), S("nokey")), 2, &l));
        ck_assert_uint_eq(l->count, 2);
        ASSERT_STR(&l->items[0], "one");
        ck_assert_ptr_null(l->items[1].ptr);
        reds_free(l);
        int64_t n = -1;
        ASSERT_OK(reds_exists(c, STRS(S("s1"), S("h"), S("nokey")), 3, &n));
        ck_assert_int_eq(n, 2);
        /* The generic reply of reds_execute_command() is cached too. */
        reds_reply *r = test_run(c, "GET", "s1", NULL);
        ck_assert_str_eq(r->str, "one");
        reds_free(r);
    }
    reds_cache_stats s = stats_of(c);
    ck_assert_uint_eq(s.misses, 5);
    ck_assert_uint_eq(s.hits, 10);
    reds_client_free(c);
}
END_TEST

/* This process reads its own writes at once, before the server's
 * invalidation comes back. */
START_TEST(own_writes_invalidate_at_once)
{
    reds_client *c = cache_client(1 << 20, NULL);
    for (int i = 0; i < 200; i++) {
        char v[16];
        snprintf(v, sizeof v, "v%d", i);
        set_raw(c, "k", v);
        expect_get(c, "k", v);
        expect_get(c, "k", v);
    }
    ck_assert_uint_ge(stats_of(c).hits, 1);
    int64_t n;
    ASSERT_OK(reds_incr(c, S("k2"), &n));
    expect_get(c, "k2", "1");
    ASSERT_OK(reds_incr(c, S("k2"), &n));
    expect_get(c, "k2", "2");
    reds_client_free(c);
}
END_TEST

/* Pipelines, transactions, dedicated handles and commands the catalogue
 * does not mark cacheable always go to the server. */
START_TEST(never_from_the_cache)
{
    reds_client *c = cache_client(1 << 20, NULL);
    set_raw(c, "k", "v1");
    expect_get(c, "k", "v1");
    expect_get(c, "k", "v1");
    reds_cache_stats before = stats_of(c);
    ck_assert_uint_eq(before.hits, 1);
    for (int tx = 0; tx < 2; tx++) {
        reds_client *p = NULL;
        ASSERT_OK(reds_pipeline_new(c, tx, &p));
        reds_str *v = NULL;
        ASSERT_OK(reds_get(p, S("k"), &v));
        ASSERT_OK(reds_pipeline_execute(p));
        ASSERT_STR(v, "v1");
        reds_free(v);
        reds_client_free(p);
    }
    reds_client *d = NULL;
    ASSERT_OK(reds_client_dedicated(c, &d));
    expect_get(d, "k", "v1");
    reds_client_free(d);
    int64_t ttl = 0;
    ASSERT_OK(reds_ttl(c, S("k"), &ttl));
    ck_assert_int_eq(ttl, -1);
    ASSERT_OK(reds_ttl(c, S("k"), &ttl));
    reds_cache_stats after = stats_of(c);
    ck_assert_uint_eq(after.hits, before.hits);
    ck_assert_uint_eq(after.misses, before.misses);
    reds_client_free(c);
}
END_TEST

/* An error reply is never cached. */
START_TEST(errors_are_not_cached)
{
    reds_client *c = cache_client(1 << 20, NULL);
    ASSERT_OK(reds_rpush(c, S("l"), STRS(S("x")), 1, NULL));
    for (int i = 0; i < 2; i++) {
        reds_str *v = NULL;
        ASSERT_ERR(reds_get(c, S("l"), &v), REDS_ERR_RESPONSE);
    }
    reds_cache_stats s = stats_of(c);
    ck_assert_uint_eq(s.hits, 0);
    ck_assert_uint_eq(s.misses, 2);
    ck_assert_uint_eq(s.entries, 0);
    reds_client_free(c);
}
END_TEST

/* -------------------------------------------------- flushes and losses */

START_TEST(flushall_flushes)
{
    reds_client *w = test_client(NULL);
    reds_client *c = cache_client(1 << 20, NULL);
    set_raw(w, "a", "1");
    set_raw(w, "b", "2");
    expect_get(c, "a", "1");
    expect_get(c, "b", "2");
    ck_assert_uint_eq(stats_of(c).entries, 2);
    uint64_t flushes = stats_of(c).flushes;
    ASSERT_OK(reds_flushall(w, NULL));
    WAIT_STATS(c, s, s.flushes > flushes && s.entries == 0);
    expect_get(c, "a", NULL);
    /* This client's own FLUSHDB: at once. */
    set_raw(w, "a", "3");
    WAIT_STATS(c, t, t.entries == 0);
    expect_get(c, "a", "3");
    expect_get(c, "a", "3");
    ASSERT_OK(reds_flushdb(c, NULL));
    expect_get(c, "a", NULL);
    reds_client_free(c);
    reds_client_free(w);
}
END_TEST

/* The invalidation connection killed: a write made while it is gone is
 * never read stale once it is back (on a new connection id). */
START_TEST(invalidation_connection_killed)
{
    reds_client *w = test_client(NULL);
    reds_client *c = cache_client(1 << 20, NULL);
    set_raw(w, "k", "v1");
    expect_get(c, "k", "v1");
    expect_get(c, "k", "v1");
    reds_cache_stats s = stats_of(c);
    ck_assert_uint_eq(s.hits, 1);
    int64_t id = s.connection_id;
    ck_assert_int_gt(id, 0);
    test_kill_client(id);
    set_raw(w, "k", "v2");
    WAIT_STATS(c, t, t.connected && t.connection_id != id);
    ck_assert_uint_gt(stats_of(c).flushes, s.flushes);
    expect_get(c, "k", "v2");
    /* Caching works on the new connection: hit, then invalidated. */
    expect_get(c, "k", "v2");
    uint64_t hits = stats_of(c).hits;
    ck_assert_uint_eq(hits, s.hits + 1);
    set_raw(w, "k", "v3");
    WAIT_STATS(c, t, t.entries == 0);
    expect_get(c, "k", "v3");
    reds_client_free(c);
    reds_client_free(w);
}
END_TEST

/* Killed while other threads read: no read after the recovery is stale. */
typedef struct reader_arg {
    reds_client *c;
    atomic_bool *stop;
    long reads;
    char error[256]; /* the first failure, checked after the join */
} reader_arg;

static void *read_loop(void *arg)
{
    reader_arg *a = arg;
    while (!atomic_load(a->stop) && !a->error[0]) {
        reds_str *v = NULL;
        reds_err err = reds_get(a->c, S("k"), &v);
        if (err)
            snprintf(a->error, sizeof a->error, "%s: %s", reds_err_name(err), reds_errmsg());
        reds_free(v);
        a->reads++;
    }
    return NULL;
}

START_TEST(invalidation_connection_killed_mid_run)
{
    reds_client *w = test_client(NULL);
    reds_client *c = cache_client(1 << 20, NULL);
    set_raw(w, "k", "v1");
    /* Static: a failed assertion leaves the readers running (CK_FORK=no). */
    static atomic_bool stop;
    static pthread_t t[4];
    static reader_arg args[4];
    atomic_store(&stop, false);
    for (int i = 0; i < 4; i++) {
        args[i] = (reader_arg){c, &stop, 0, ""};
        pthread_create(&t[i], NULL, read_loop, &args[i]);
    }
    WAIT_STATS(c, s, s.hits > 100);
    for (int round = 0; round < 3; round++) {
        int64_t id = stats_of(c).connection_id;
        test_kill_client(id);
        char v[16];
        snprintf(v, sizeof v, "v%d", round + 2);
        set_raw(w, "k", v);
        WAIT_STATS(c, s, s.connected && s.connection_id != id);
        /* The readers may have cached "k" again on the new connection
         * before the write, whose invalidation is then on its way: the
         * value must arrive, and then never go back. What the loss must
         * not cause is an entry that stays stale. */
        long long until = now_ms() + WAIT_MS;
        for (;;) {
            reds_str *got = NULL;
            ASSERT_OK(reds_get(c, S("k"), &got));
            bool fresh = got && str_eq(*got, v);
            reds_free(got);
            if (fresh)
                break;
            ck_assert_msg(now_ms() < until, "k never became %s", v);
            sleep_ms(1);
        }
        for (int i = 0; i < 20; i++)
            expect_get(c, "k", v);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_msg(!args[i].error[0], "reader %d: %s", i, args[i].error);
    }
    reds_client_free(c);
    reds_client_free(w);
}
END_TEST

START_TEST(server_restart_flushes)
{
    fixture_server srv;
    ck_assert_int_eq(fixture_start(&srv, NULL), 0);
    reds_client *c = cache_client_on(&srv, 1 << 20, NULL);
    char reply[64];
    ck_assert_int_eq(fixture_command(&srv, "SET k before", reply, sizeof reply), 0);
    expect_get(c, "k", "before");
    expect_get(c, "k", "before");
    reds_cache_stats s = stats_of(c);
    ck_assert_uint_eq(s.hits, 1);
    fixture_kill(&srv);
    ck_assert_int_eq(fixture_restart(&srv, NULL), 0);
    ck_assert_int_eq(fixture_command(&srv, "SET k after", reply, sizeof reply), 0);
    WAIT_STATS(c, t, t.connected && t.flushes > s.flushes);
    expect_get(c, "k", "after");
    expect_get(c, "k", "after");
    ck_assert_uint_eq(stats_of(c).hits, s.hits + 1);
    reds_client_free(c);
    fixture_stop(&srv);
}
END_TEST

/* A client made while its server is down works, and caches once the
 * invalidation connection gets through. */
START_TEST(made_while_the_server_is_down)
{
    fixture_server srv;
    ck_assert_int_eq(fixture_start(&srv, NULL), 0);
    fixture_kill(&srv);
    reds_options o = {0};
    o.port = srv.port;
    o.cache_max_bytes = 1 << 20;
    reds_client *c = NULL;
    ASSERT_OK(reds_client_new(&o, &c));
    reds_cache_stats s = stats_of(c);
    ck_assert(!s.connected);
    ck_assert_int_eq(s.connection_id, 0);
    reds_str *v = NULL;
    ASSERT_ERR(reds_get(c, S("k"), &v), REDS_ERR_CONNECTION);
    ck_assert_int_eq(fixture_restart(&srv, NULL), 0);
    WAIT_STATS(c, t, t.connected);
    char reply[64];
    ck_assert_int_eq(fixture_command(&srv, "SET k v", reply, sizeof reply), 0);
    expect_get(c, "k", "v");
    expect_get(c, "k", "v");
    ck_assert_uint_eq(stats_of(c).hits, 1);
    reds_client_free(c);
    fixture_stop(&srv);
}
END_TEST

/* --------------------------------------------------------- broadcast */

START_TEST(broadcast_with_prefixes)
{
    reds_client *w = test_client(NULL);
    const char *const prefixes[] = {"user:", "cfg:"};
    reds_options o = {0};
    o.cache_mode = REDS_CACHE_BROADCAST;
    o.cache_prefixes = prefixes;
    o.cache_nprefixes = 2;
    reds_client *c = cache_client(1 << 20, &o);
    /* The prefixes are registered when c opens its connection; from then
     * on every write under them is reported, to c's own too: wait for it
     * before reading, or the report could drop what the read cached. */
    expect_get(c, "user:1", NULL);
    uint64_t inv = stats_of(c).invalidations;
    set_raw(w, "user:1", "ann");
    WAIT_STATS(c, t, t.invalidations > inv);
    set_raw(w, "other", "x");
    expect_get(c, "user:1", "ann");
    expect_get(c, "user:1", "ann");
    ck_assert_uint_eq(stats_of(c).hits, 1);
    /* A key under no prefix is never cached: no invalidation would come. */
    expect_get(c, "other", "x");
    expect_get(c, "other", "x");
    reds_cache_stats s = stats_of(c);
    ck_assert_uint_eq(s.hits, 1);
    ck_assert_uint_eq(s.misses, 2);
    /* MGET across a tracked and an untracked key: not cached either. */
    reds_strlist *l = NULL;
    ASSERT_OK(reds_mget(c, STRS(S("user:1"), S("other")), 2, &l));
    reds_free(l);
    ck_assert_uint_eq(stats_of(c).misses, 2);
    set_raw(w, "user:1", "bob");
    WAIT_STATS(c, t, t.entries == 0);
    expect_get(c, "user:1", "bob");
    /* Broadcast reports keys nobody read too. */
    inv = stats_of(c).invalidations;
    set_raw(w, "cfg:never-read", "1");
    WAIT_STATS(c, t, t.invalidations > inv);
    reds_client_free(c);
    reds_client_free(w);
}
END_TEST

/* ----------------------------------------------------- memory and TTL */

START_TEST(memory_bound_under_churn)
{
    const size_t bound = 64 * 1024;
    reds_client *c = cache_client(bound, NULL);
    char value[101];
    memset(value, 'x', 100);
    value[100] = '\0';
    for (int i = 0; i < 2000; i++) {
        char key[32];
        snprintf(key, sizeof key, "churn:%d", i);
        set_raw(c, key, value);
    }
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 2000; i++) {
            char key[32];
            snprintf(key, sizeof key, "churn:%d", i);
            expect_get(c, key, value);
            reds_cache_stats s = stats_of(c);
            ck_assert_msg(s.bytes <= bound, "%zu bytes held, bound %zu", s.bytes, bound);
        }
    reds_cache_stats s = stats_of(c);
    ck_assert_uint_gt(s.evictions, 0);
    ck_assert_uint_gt(s.entries, 100);
    ck_assert_uint_lt(s.entries, 2000);
    /* The most recent entries stay: the last key read is a hit. */
    expect_get(c, "churn:1999", value);
    ck_assert_uint_eq(stats_of(c).hits, s.hits + 1);
    /* A reply larger than the bound is returned, never cached. */
    char *big = malloc(bound + 1);
    memset(big, 'y', bound);
    big[bound] = '\0';
    set_raw(c, "big", big);
    expect_get(c, "big", big);
    expect_get(c, "big", big);
    ck_assert_uint_eq(stats_of(c).hits, s.hits + 1);
    free(big);
    ASSERT_OK(reds_cache_flush(c));
    s = stats_of(c);
    ck_assert_uint_eq(s.entries, 0);
    ck_assert_uint_eq(s.bytes, 0);
    reds_client_free(c);
}
END_TEST

START_TEST(ttl_expires_entries)
{
    reds_options o = {0};
    o.cache_ttl_ms = 30;
    reds_client *c = cache_client(1 << 20, &o);
    set_raw(c, "k", "v");
    expect_get(c, "k", "v");
    expect_get(c, "k", "v");
    ck_assert_uint_eq(stats_of(c).hits, 1);
    sleep_ms(60); /* the TTL itself, not a synchronisation */
    expect_get(c, "k", "v");
    reds_cache_stats s = stats_of(c);
    ck_assert_uint_eq(s.expirations, 1);
    ck_assert_uint_eq(s.misses, 2);
    reds_client_free(c);
}
END_TEST

/* ------------------------------------------------------------ options */

START_TEST(option_checks)
{
    const char *const prefixes[] = {"a:"};
    reds_client *c = NULL;
    reds_options o = {0};
    o.cache_nprefixes = 1;
    o.cache_prefixes = prefixes;
    o.cache_max_bytes = 1024;
    ASSERT_ERR(reds_client_new(&o, &c), REDS_ERR_DATA);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "REDS_CACHE_BROADCAST"));
    o = (reds_options){0};
    o.cache_ttl_ms = 10;
    ASSERT_ERR(reds_client_new(&o, &c), REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "cache_max_bytes"));
    o = (reds_options){0};
    o.cache_max_bytes = 1024;
    o.cache_ttl_ms = -1;
    ASSERT_ERR(reds_client_new(&o, &c), REDS_ERR_DATA);
    o.cache_ttl_ms = 0;
    o.cache_mode = (reds_cache_mode)7;
    ASSERT_ERR(reds_client_new(&o, &c), REDS_ERR_DATA);
    o.cache_mode = REDS_CACHE_BROADCAST;
    o.cache_nprefixes = 1;
    o.cache_prefixes = NULL;
    ASSERT_ERR(reds_client_new(&o, &c), REDS_ERR_DATA);
    /* Cluster and ring clients refuse it, connecting to nothing. */
    reds_options node = {0};
    node.cache_max_bytes = 1024;
    reds_host_port seed = {"127.0.0.1", 1};
    reds_cluster_options co = {0};
    co.node = &node;
    ASSERT_ERR(reds_cluster_new(&seed, 1, &co, &c), REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "cluster"));
    reds_ring_node rn = {0};
    rn.options = node;
    ASSERT_ERR(reds_ring_new(&rn, 1, NULL, &c), REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "ring"));
    reds_sentinel *sentinel = NULL;
    ASSERT_OK(reds_sentinel_new(&seed, 1, NULL, &sentinel));
    ASSERT_ERR(reds_sentinel_master_for(sentinel, "mymaster", &node, &c), REDS_ERR_DATA);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "Sentinel"));
    reds_sentinel_free(sentinel);
    /* Stats of a client without a cache. */
    reds_client *plain = test_client(NULL);
    reds_cache_stats s;
    ASSERT_ERR(reds_cache_get_stats(plain, &s), REDS_ERR_DATA);
    ASSERT_ERR(reds_cache_flush(plain), REDS_ERR_DATA);
    ASSERT_ERR(reds_cache_get_stats(NULL, &s), REDS_ERR_DATA);
    reds_client_free(plain);
}
END_TEST

/* URLs have no cache parameter: the base options carry it, copied. */
START_TEST(from_url_with_a_cached_base)
{
    char prefix[] = "user:";
    const char *prefixes[] = {prefix};
    reds_options base = {0};
    base.cache_max_bytes = 1 << 20;
    base.cache_mode = REDS_CACHE_BROADCAST;
    base.cache_prefixes = prefixes;
    base.cache_nprefixes = 1;
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", test_server.port);
    reds_options *o = NULL;
    ASSERT_OK(reds_url_parse(url, &base, &o));
    prefix[0] = 'X'; /* the parsed options hold copies */
    ck_assert_uint_eq(o->cache_nprefixes, 1);
    ck_assert_ptr_ne(o->cache_prefixes, base.cache_prefixes);
    ck_assert_str_eq(o->cache_prefixes[0], "user:");
    reds_client *c = NULL;
    ASSERT_OK(reds_client_new(o, &c));
    reds_free(o);
    WAIT_STATS(c, s, s.connected);
    /* The write invalidates its key twice: at once in c, and when the
     * server reports it (broadcast reports it to the writer too). Wait
     * for both before reading. */
    set_raw(c, "user:1", "a");
    WAIT_STATS(c, s, s.invalidations >= 2);
    expect_get(c, "user:1", "a");
    expect_get(c, "user:1", "a");
    reds_cache_stats st = stats_of(c);
    ck_assert_msg(st.hits == 1, "hits %llu misses %llu inv %llu flushes %llu not stored %llu",
                  (unsigned long long)st.hits, (unsigned long long)st.misses,
                  (unsigned long long)st.invalidations, (unsigned long long)st.flushes,
                  (unsigned long long)st.not_stored);
    reds_client_free(c);
}
END_TEST

/* ------------------------------------------------------------ threads */

/* In a thread: a failure is recorded (the first one), and checked by the
 * test once the thread is joined; an assertion there would end the
 * process (CK_FORK=no). */
static char thread_error[256];
static pthread_mutex_t thread_error_lock = PTHREAD_MUTEX_INITIALIZER;
static bool thread_ok(reds_err err, const char *what)
{
    if (!err)
        return true;
    pthread_mutex_lock(&thread_error_lock);
    if (!thread_error[0])
        snprintf(thread_error, sizeof thread_error, "%s: %s: %s", what, reds_err_name(err),
                 reds_errmsg());
    pthread_mutex_unlock(&thread_error_lock);
    return false;
}
#define ASSERT_NO_THREAD_ERROR() ck_assert_msg(!thread_error[0], "%s", thread_error)

#define NKEYS 10

typedef struct thread_arg {
    reds_client *c;
    atomic_bool *stop;
    int writer;
    long ops;
    long regressions;
} thread_arg;

/* Readers check that no key ever goes back to an older value. */
static void *shared_keys_loop(void *arg)
{
    thread_arg *a = arg;
    long last[NKEYS] = {0};
    long n = 0;
    while (!atomic_load(a->stop) || (!a->writer && n < 2000)) {
        char key[16];
        int k = (int)(n % NKEYS);
        snprintf(key, sizeof key, "t:%d", k);
        if (a->writer) {
            int64_t v;
            if (!thread_ok(reds_incr(a->c, reds_cstr(key), &v), "INCR"))
                break;
        } else {
            reds_str *v = NULL;
            if (!thread_ok(reds_get(a->c, reds_cstr(key), &v), "GET"))
                break;
            long got = v ? strtol(v->ptr, NULL, 10) : 0;
            reds_free(v);
            if (got < last[k])
                a->regressions++;
            last[k] = got;
        }
        n++;
        if (a->writer && n % 64 == 0)
            sched_yield();
    }
    a->ops = n;
    return NULL;
}

START_TEST(sixteen_threads_same_keys)
{
    reds_client *c = cache_client(1 << 20, NULL);
    reds_client *w = test_client(NULL);
    static atomic_bool stop;
    static pthread_t t[17];
    static thread_arg args[17];
    atomic_store(&stop, false);
    thread_error[0] = '\0';
    for (int i = 0; i < 17; i++) {
        args[i] = (thread_arg){i == 16 ? w : c, &stop, i == 16, 0, 0};
        pthread_create(&t[i], NULL, shared_keys_loop, &args[i]);
    }
    WAIT_STATS(c, s, (s.hits > 20000 && s.invalidations > 200) || thread_error[0]);
    atomic_store(&stop, true);
    long reads = 0;
    for (int i = 0; i < 17; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(args[i].regressions, 0);
        if (i < 16)
            reads += args[i].ops;
    }
    ASSERT_NO_THREAD_ERROR();
    reds_cache_stats s = stats_of(c);
    test_note("16 threads: %ld reads, %llu hits, %llu invalidations, %llu not stored\n", reads,
              (unsigned long long)s.hits, (unsigned long long)s.invalidations,
              (unsigned long long)s.not_stored);
    /* Once the writer stopped, every key converges to the server's value. */
    for (int k = 0; k < NKEYS; k++) {
        char key[16];
        snprintf(key, sizeof key, "t:%d", k);
        reds_str *truth = NULL;
        ASSERT_OK(reds_get(w, reds_cstr(key), &truth));
        char expect[32];
        snprintf(expect, sizeof expect, "%.*s", (int)truth->len, truth->ptr);
        reds_free(truth);
        long long until = now_ms() + WAIT_MS;
        for (;;) {
            reds_str *v = NULL;
            ASSERT_OK(reds_get(c, reds_cstr(key), &v));
            bool same = v && str_eq(*v, expect);
            reds_free(v);
            if (same)
                break;
            ck_assert_msg(now_ms() < until, "%s never converged to %s", key, expect);
            sleep_ms(1);
        }
    }
    reds_client_free(c);
    reds_client_free(w);
}
END_TEST

/* ------------------------------------------------------------- the soak */

#define SOAK_KEYS 60

/* Writers bump per-key counters; `committed[k]` is the value whose write
 * has returned and, for this client's writes, been invalidated locally.
 * A reader takes the floor before its GET: reading below it is a stale
 * read beyond the invalidation. The external writer's keys (another
 * client: the server's invalidation is the only path) are checked for
 * going backwards, and for converging once writes stop. */
typedef struct soak {
    reds_client *c, *ext;
    atomic_bool stop;
    atomic_long committed[SOAK_KEYS];
    atomic_long stale, regressions, reads;
} soak;

typedef struct soak_arg {
    soak *s;
    int first, last; /* writer: keys [first, last) */
    bool external;
} soak_arg;

static void soak_key(char *buf, size_t size, int k)
{
    snprintf(buf, size, "soak:%d", k);
}

static void *soak_writer(void *arg)
{
    soak_arg *a = arg;
    soak *s = a->s;
    long n = 0;
    while (!atomic_load(&s->stop)) {
        int k = a->first + (int)(n++ % (a->last - a->first));
        char key[32];
        soak_key(key, sizeof key, k);
        int64_t v;
        if (!thread_ok(reds_incr(a->external ? s->ext : s->c, reds_cstr(key), &v), "INCR"))
            break;
        if (!a->external)
            atomic_store(&s->committed[k], (long)v);
        if (n % 8 == 0)
            sleep_ms(1); /* read-mostly: pace the writers */
    }
    return NULL;
}

static void *soak_reader(void *arg)
{
    soak_arg *a = arg;
    soak *s = a->s;
    long last[SOAK_KEYS] = {0};
    unsigned seed = (unsigned)a->first * 7919u + 1;
    while (!atomic_load(&s->stop)) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % SOAK_KEYS);
        char key[32];
        soak_key(key, sizeof key, k);
        long floor = atomic_load(&s->committed[k]);
        reds_str *v = NULL;
        if (!thread_ok(reds_get(s->c, reds_cstr(key), &v), "GET"))
            break;
        long got = v ? strtol(v->ptr, NULL, 10) : 0;
        reds_free(v);
        if (got < floor)
            atomic_fetch_add(&s->stale, 1);
        if (got < last[k])
            atomic_fetch_add(&s->regressions, 1);
        last[k] = got;
        atomic_fetch_add(&s->reads, 1);
    }
    return NULL;
}

START_TEST(soak_writers_and_cached_readers)
{
    const char *env = getenv("REDS_CACHE_SOAK_S");
    int seconds = env ? atoi(env) : 60;
    if (seconds <= 0)
        seconds = 1;
    static soak s;
    memset(&s, 0, sizeof s);
    thread_error[0] = '\0';
    s.c = cache_client(256 * 1024, NULL);
    s.ext = test_client(NULL);
    static soak_arg wa[3], ra[4];
    static pthread_t wt[3], rt[4];
    wa[0] = (soak_arg){&s, 0, 20, false};
    wa[1] = (soak_arg){&s, 20, 40, false};
    wa[2] = (soak_arg){&s, 40, SOAK_KEYS, true};
    for (int i = 0; i < 3; i++)
        pthread_create(&wt[i], NULL, soak_writer, &wa[i]);
    for (int i = 0; i < 4; i++) {
        ra[i] = (soak_arg){&s, i, 0, false};
        pthread_create(&rt[i], NULL, soak_reader, &ra[i]);
    }
    long long until = now_ms() + seconds * 1000LL, next_kill = now_ms() + 2000;
    while (now_ms() < until) {
        sleep_ms(50); /* the soak's length, not a synchronisation */
        /* The invalidation connection lost mid-run, every 2 s. */
        if (now_ms() >= next_kill) {
            int64_t id = stats_of(s.c).connection_id;
            if (id)
                test_kill_client(id);
            next_kill = now_ms() + 2000;
        }
    }
    atomic_store(&s.stop, true);
    for (int i = 0; i < 3; i++)
        pthread_join(wt[i], NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(rt[i], NULL);
    reds_cache_stats st = stats_of(s.c);
    test_note("soak %d s: %ld reads, %llu hits, %llu misses, %llu invalidations, %llu not "
              "stored, %llu flushes; %ld stale, %ld regressions\n",
              seconds, atomic_load(&s.reads), (unsigned long long)st.hits,
              (unsigned long long)st.misses, (unsigned long long)st.invalidations,
              (unsigned long long)st.not_stored, (unsigned long long)st.flushes,
              atomic_load(&s.stale), atomic_load(&s.regressions));
    ASSERT_NO_THREAD_ERROR();
    ck_assert_int_eq(atomic_load(&s.stale), 0);
    ck_assert_int_eq(atomic_load(&s.regressions), 0);
    ck_assert_uint_gt(st.hits, 0);
    /* Writes have stopped: every key converges to the server's value. */
    for (int k = 0; k < SOAK_KEYS; k++) {
        char key[32];
        soak_key(key, sizeof key, k);
        reds_str *truth = NULL;
        ASSERT_OK(reds_get(s.ext, reds_cstr(key), &truth));
        char expect[32];
        snprintf(expect, sizeof expect, "%.*s", truth ? (int)truth->len : 0,
                 truth ? truth->ptr : "");
        bool nil = !truth;
        reds_free(truth);
        long long end = now_ms() + WAIT_MS;
        for (;;) {
            reds_str *v = NULL;
            ASSERT_OK(reds_get(s.c, reds_cstr(key), &v));
            bool same = nil ? !v : v && str_eq(*v, expect);
            reds_free(v);
            if (same)
                break;
            ck_assert_msg(now_ms() < end, "%s never converged to %s", key, expect);
            sleep_ms(1);
        }
    }
    reds_client_free(s.c);
    reds_client_free(s.ext);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("basics");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, hit_then_invalidated_by_another_client);
    tcase_add_test(tc, hits_are_fresh_typed_results);
    tcase_add_test(tc, own_writes_invalidate_at_once);
    tcase_add_test(tc, never_from_the_cache);
    tcase_add_test(tc, errors_are_not_cached);
    tcase_add_test(tc, option_checks);
    tcase_add_test(tc, from_url_with_a_cached_base);
    suite_add_tcase(s, tc);

    tc = tcase_create("flushes");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, flushall_flushes);
    tcase_add_test(tc, invalidation_connection_killed);
    tcase_add_test(tc, invalidation_connection_killed_mid_run);
    tcase_add_test(tc, server_restart_flushes);
    tcase_add_test(tc, made_while_the_server_is_down);
    suite_add_tcase(s, tc);

    tc = tcase_create("modes");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, broadcast_with_prefixes);
    tcase_add_test(tc, memory_bound_under_churn);
    tcase_add_test(tc, ttl_expires_entries);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, sixteen_threads_same_keys);
    tcase_add_test(tc, soak_writers_and_cached_readers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
