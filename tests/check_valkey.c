/* The commands and arguments the catalogue has from Valkey 8.0 only
 * (spec `servers: [valkey]`), called on a real valkey-server whatever
 * REDS_TEST_SERVER says; and the same calls on Redis 7.0, which refuses
 * them with a ResponseError rather than anything silently wrong. */
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

static fixture_server valkey, cluster_node, redis;

static void start(void)
{
    ck_assert_int_eq(fixture_start_kind(&valkey, FIXTURE_VALKEY,
                                        (const char *const[]){"--appendonly", "yes", NULL}),
                     0);
    ck_assert_int_eq(
        fixture_start_kind(&cluster_node, FIXTURE_VALKEY,
                           (const char *const[]){"--cluster-enabled", "yes",
                                                 "--cluster-slot-stats-enabled", "yes", NULL}),
        0);
    ck_assert_int_eq(fixture_start_kind(&redis, FIXTURE_REDIS, NULL), 0);
}

static void stop(void)
{
    fixture_stop(&valkey);
    fixture_stop(&cluster_node);
    fixture_stop(&redis);
}

static reds_client *client_of(const fixture_server *s)
{
    reds_options o = {0};
    o.host = "127.0.0.1";
    o.port = s->port;
    reds_client *c = NULL;
    ck_assert_msg(reds_client_new(&o, &c) == REDS_OK, "%s", reds_errmsg());
    return c;
}

static reds_client *c;

static bool has(reds_str s, const char *needle)
{
    return s.ptr && memmem(s.ptr, s.len, needle, strlen(needle)) != NULL;
}

static void connect_valkey(void)
{
    c = client_of(&valkey);
    ASSERT_OK(reds_flushall(c, NULL));
}

static void disconnect(void)
{
    reds_client_free(c);
    c = NULL;
}

START_TEST(zrank_and_zrevrank_withscore)
{
    ASSERT_OK(reds_zadd(c, S("z"),
                        (const reds_score_member[]){{1.5, S("a")}, {2.25, S("b")}, {-3, S("c")}}, 3,
                        NULL, NULL));
    reds_rank_score *rs = NULL;
    ASSERT_OK(reds_zrank_withscore(c, S("z"), S("b"), &rs));
    ck_assert(rs->set);
    ck_assert_int_eq(rs->rank, 2);
    ck_assert_double_eq(rs->score, 2.25);
    reds_free(rs);
    ASSERT_OK(reds_zrevrank_withscore(c, S("z"), S("c"), &rs));
    ck_assert(rs->set);
    ck_assert_int_eq(rs->rank, 2);
    ck_assert_double_eq(rs->score, -3);
    reds_free(rs);
    /* A missing member: nil, `.set` false. */
    ASSERT_OK(reds_zrank_withscore(c, S("z"), S("nope"), &rs));
    ck_assert(!rs->set);
    reds_free(rs);
    /* The base function still answers the rank alone. */
    reds_opt_i64 rank;
    ASSERT_OK(reds_zrank(c, S("z"), S("a"), &rank));
    ck_assert(rank.set);
    ck_assert_int_eq(rank.value, 1);
}
END_TEST

START_TEST(hscan_novalues_and_zscan_noscores)
{
    ASSERT_OK(reds_hset(c, S("h"), (const reds_field_value[]){{S("f1"), S("v1")}}, 1, NULL));
    reds_scan_page *page = NULL;
    ASSERT_OK(reds_hscan_novalues(c, S("h"), 0, NULL, &page));
    ck_assert_uint_eq(page->cursor, 0);
    test_assert_strlist(&page->items, "f1", NULL);
    reds_free(page);
    ASSERT_OK(reds_zadd(c, S("z"), (const reds_score_member[]){{7, S("m")}}, 1, NULL, NULL));
    ASSERT_OK(reds_zscan_noscores(c, S("z"), 0, NULL, &page));
    test_assert_strlist(&page->items, "m", NULL);
    reds_free(page);
}
END_TEST

START_TEST(waitaof_counts_the_local_fsync)
{
    ASSERT_OK(reds_set(c, S("k"), S("v"), NULL, NULL));
    reds_waitaof_reply *w = NULL;
    ASSERT_OK(reds_waitaof(c, 1, 0, 1000, &w));
    ck_assert_int_eq(w->local, 1);
    ck_assert_int_eq(w->replicas, 0);
    reds_free(w);
}
END_TEST

START_TEST(script_show_returns_the_source)
{
    reds_str *sha = NULL;
    ASSERT_OK(reds_script_load(c, S("return 42"), &sha));
    reds_str *src = NULL;
    ASSERT_OK(reds_script_show(c, *sha, &src));
    ck_assert(str_eq(*src, "return 42"));
    reds_free(src);
    reds_free(sha);
    ck_assert_int_eq(reds_script_show(c, S("0000000000000000000000000000000000000000"), &src),
                     REDS_ERR_NOSCRIPT);
    ck_assert_ptr_null(src);
}
END_TEST

START_TEST(client_setinfo_no_touch_and_capa_on_a_dedicated_connection)
{
    reds_client *d = NULL;
    ASSERT_OK(reds_client_dedicated(c, &d));
    ASSERT_OK(reds_client_setinfo(d, (reds_client_setinfo_attr){.libname = S("reds-test")}));
    ASSERT_OK(reds_client_setinfo(d, (reds_client_setinfo_attr){.libver = S("1.2.3")}));
    ASSERT_OK(reds_client_no_touch(d, REDS_CLIENT_NO_TOUCH_ENABLED_ON));
    ASSERT_OK(reds_client_capa(d, STRS(S("redirect")), 1));
    reds_client_entry *info = NULL;
    ASSERT_OK(reds_client_info(d, &info));
    ck_assert_msg(has(info->line, " lib-name=reds-test ") && has(info->line, " lib-ver=1.2.3"),
                  "%.*s", (int)info->line.len, info->line.ptr);
    ck_assert_msg(has(info->flags, "T"), "%.*s", (int)info->flags.len,
                  info->flags.ptr); /* T: no-touch */
    reds_free(info);
    /* Exactly one of LIB-NAME and LIB-VER, checked before sending. */
    ck_assert_int_eq(reds_client_setinfo(d, (reds_client_setinfo_attr){0}), REDS_ERR_DATA);
    ck_assert_msg(strstr(reds_errmsg(), "LIB-NAME"), "%s", reds_errmsg());
    ck_assert_int_eq(
        reds_client_setinfo(d, (reds_client_setinfo_attr){.libname = S("a"), .libver = S("b")}),
        REDS_ERR_DATA);
    ASSERT_OK(reds_ping(d, NULL, NULL));
    reds_client_free(d);
    /* Connection state: a pooled client refuses it, sending nothing. */
    ck_assert_int_eq(reds_client_no_touch(c, REDS_CLIENT_NO_TOUCH_ENABLED_ON), REDS_ERR_DATA);
}
END_TEST

START_TEST(cluster_myshardid_slot_stats_and_setslot_timeout)
{
    reds_client *n = client_of(&cluster_node);
    ASSERT_OK(reds_cluster_addslotsrange(n, (const reds_slot_range[]){{0, 16383}}, 1));
    reds_str *shard = NULL;
    ASSERT_OK(reds_cluster_myshardid(n, &shard));
    ck_assert_uint_eq(shard->len, 40);
    reds_free(shard);
    /* "a" hashes to slot 15495; the node serves once it sees its slots. */
    long long deadline = now_ms() + 10000;
    reds_err err;
    while ((err = reds_set(n, S("a"), S("1"), NULL, NULL)) == REDS_ERR_CLUSTER_DOWN &&
           now_ms() < deadline)
        sleep_ms(20);
    ASSERT_OK(err);
    reds_slot_stats_list *stats = NULL;
    reds_cluster_slot_stats_filter f = {
        .slotsrange = {.set = true, .start_slot = 15494, .end_slot = 15495}};
    ASSERT_OK(reds_cluster_slot_stats(n, f, &stats));
    ck_assert_uint_eq(stats->count, 2);
    ck_assert_int_eq(stats->items[0].slot, 15494);
    ck_assert_int_eq(stats->items[0].stats.key_count, 0);
    ck_assert_int_eq(stats->items[1].slot, 15495);
    ck_assert_int_eq(stats->items[1].stats.key_count, 1);
    ck_assert(stats->items[1].stats.cpu_usec.set);
    reds_free(stats);
    f = (reds_cluster_slot_stats_filter){.orderby = {.set = true,
                                                     .metric = S("key-count"),
                                                     .limit = REDS_I64(1),
                                                     .order = REDS_CLUSTER_SLOT_STATS_ORDER_DESC}};
    ASSERT_OK(reds_cluster_slot_stats(n, f, &stats));
    ck_assert_uint_eq(stats->count, 1);
    ck_assert_int_eq(stats->items[0].slot, 15495);
    reds_free(stats);
    ASSERT_OK(reds_cluster_setslot_timeout(n, 15495,
                                           (reds_cluster_setslot_subcommand){.stable = true}, 100));
    reds_client_free(n);
}
END_TEST

START_TEST(memory_stats_skips_valkeys_scalar_db_fields)
{
    /* Valkey adds db.dict.rehashing.count (a number) beside db.0 (a map):
     * only the maps are databases. */
    ASSERT_OK(reds_set(c, S("k"), S("v"), NULL, NULL));
    reds_memory_stats_reply *m = NULL;
    ASSERT_OK(reds_memory_stats(c, &m));
    ck_assert_uint_eq(m->ndbs, 1);
    ck_assert_int_eq(m->dbs[0].db, 0);
    reds_free(m);
}
END_TEST

START_TEST(redis_7_0_refuses_what_only_valkey_has)
{
    reds_client *r = client_of(&redis);
    reds_rank_score *rs = NULL;
    ck_assert_int_eq(reds_zrank_withscore(r, S("z"), S("m"), &rs), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(rs);
    reds_waitaof_reply *w = NULL;
    ck_assert_int_eq(reds_waitaof(r, 0, 0, 0, &w), REDS_ERR_RESPONSE);
    ck_assert_msg(strstr(reds_errmsg(), "unknown command"), "%s", reds_errmsg());
    ck_assert_ptr_null(w);
    reds_client_free(r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("valkey");
    TCase *tc = tcase_create("valkey only");
    tcase_add_unchecked_fixture(tc, start, stop);
    tcase_add_checked_fixture(tc, connect_valkey, disconnect);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, zrank_and_zrevrank_withscore);
    tcase_add_test(tc, hscan_novalues_and_zscan_noscores);
    tcase_add_test(tc, waitaof_counts_the_local_fsync);
    tcase_add_test(tc, script_show_returns_the_source);
    tcase_add_test(tc, client_setinfo_no_touch_and_capa_on_a_dedicated_connection);
    tcase_add_test(tc, cluster_myshardid_slot_stats_and_setslot_timeout);
    tcase_add_test(tc, memory_stats_skips_valkeys_scalar_db_fields);
    tcase_add_test(tc, redis_7_0_refuses_what_only_valkey_has);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), false);
}
