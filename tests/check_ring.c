/* Client-side sharding: ketama placement (spread, and stability when a
 * node is added), routing by the catalogue's key specs, multi-key and
 * keyless commands, and the replicate-writes mode (RedisCopy) surviving a
 * node that is killed. Three standalone servers, and a fourth for the
 * node added. */
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

#define NKEYS 10000

static fixture_server node[4];
static const char *names[4] = {"node-a", "node-b", "node-c", "node-d"};

static reds_client *ring_of(size_t n, bool copy)
{
    reds_ring_node nodes[4];
    memset(nodes, 0, sizeof nodes);
    for (size_t i = 0; i < n; i++) {
        nodes[i].name = names[i];
        nodes[i].options.host = "127.0.0.1";
        nodes[i].options.port = node[i].port;
        nodes[i].options.connect_timeout_ms = 1000;
    }
    reds_ring_options o = {.replicate_writes = copy};
    reds_client *r = NULL;
    ASSERT_OK(reds_ring_new(nodes, n, &o, &r));
    ck_assert_uint_eq(reds_ring_count(r), n);
    return r;
}

static void flush_all_nodes(void)
{
    char reply[64];
    for (int i = 0; i < 4; i++)
        if (node[i].pid > 0)
            ck_assert_int_eq(fixture_command(&node[i], "FLUSHALL", reply, sizeof reply), 0);
}

static int64_t dbsize(int i)
{
    char reply[64];
    ck_assert_int_eq(fixture_command(&node[i], "DBSIZE", reply, sizeof reply), 0);
    ck_assert_int_eq(reply[0], ':');
    return atoll(reply + 1);
}

static char *key_of(char *buf, size_t size, int i)
{
    snprintf(buf, size, "key:%d", i);
    return buf;
}

START_TEST(spread_within_ten_percent)
{
    flush_all_nodes();
    reds_client *r = ring_of(3, false);
    size_t count[3] = {0, 0, 0};
    char k[32];
    for (int i = 0; i < NKEYS; i++) {
        size_t at;
        ASSERT_OK(reds_ring_locate(r, reds_cstr(key_of(k, sizeof k, i)), &at));
        ck_assert_uint_lt(at, 3);
        count[at]++;
        /* Routed by the key spec of SET: it lands where locate says. */
        ASSERT_OK(reds_set(r, reds_cstr(k), REDS_STR("v"), NULL, NULL));
    }
    printf("ring spread of %d keys over 3 nodes: %zu %zu %zu (even: %.0f)\n", NKEYS, count[0],
           count[1], count[2], NKEYS / 3.0);
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(count[i] >= NKEYS / 3.0 * 0.9 && count[i] <= NKEYS / 3.0 * 1.1,
                      "node %d has %zu keys", i, count[i]);
        ck_assert_int_eq(dbsize(i), (int64_t)count[i]);
    }
    /* Reads find them; so does the generic path (reds_execute_command). */
    reds_str *v = NULL;
    ASSERT_OK(reds_get(r, REDS_STR("key:42"), &v));
    ASSERT_STR(v, "v");
    reds_free(v);
    reds_str argv[] = {REDS_STR("GET"), REDS_STR("key:4242")};
    reds_reply *reply = NULL;
    ASSERT_OK(reds_execute_command(r, 2, argv, &reply));
    ck_assert_str_eq(reply->str, "v");
    reds_free(reply);
    reds_client_free(r);
}
END_TEST

START_TEST(adding_a_node_moves_a_quarter)
{
    reds_client *r3 = ring_of(3, false), *r4 = ring_of(4, false);
    int moved = 0, to_new = 0;
    char k[32];
    for (int i = 0; i < NKEYS; i++) {
        size_t a, b;
        ASSERT_OK(reds_ring_locate(r3, reds_cstr(key_of(k, sizeof k, i)), &a));
        ASSERT_OK(reds_ring_locate(r4, reds_cstr(k), &b));
        if (a != b) {
            moved++;
            to_new += b == 3;
        }
    }
    printf("adding a 4th node moved %d of %d keys (%.1f%%; 1/N = 25%%, bound 1.5/N = 37.5%%)\n",
           moved, NKEYS, 100.0 * moved / NKEYS);
    ck_assert_int_le(moved, (int)(NKEYS * 1.5 / 4));
    ck_assert_int_gt(moved, 0);
    ck_assert_int_eq(to_new, moved); /* only to the new node, never between old ones */
    reds_client_free(r3);
    reds_client_free(r4);
}
END_TEST

START_TEST(hash_tags_and_multi_key_commands)
{
    flush_all_nodes();
    reds_client *r = ring_of(3, false);
    size_t a, b, c;
    ASSERT_OK(reds_ring_locate(r, REDS_STR("{user1}.name"), &a));
    ASSERT_OK(reds_ring_locate(r, REDS_STR("{user1}.cart"), &b));
    ASSERT_OK(reds_ring_locate(r, REDS_STR("user1"), &c));
    ck_assert_uint_eq(a, b);
    ck_assert_uint_eq(a, c);
    /* Keys on one node: fine. */
    reds_key_value same[] = {{REDS_STR("{user1}.name"), REDS_STR("ann")},
                             {REDS_STR("{user1}.cart"), REDS_STR("3")}};
    ASSERT_OK(reds_mset(r, same, 2));
    ck_assert_int_eq(dbsize((int)a), 2);
    /* Keys on different nodes: refused before anything is sent. */
    char k1[32] = "x", k2[32];
    size_t n1, n2;
    ASSERT_OK(reds_ring_locate(r, reds_cstr(k1), &n1));
    int i = 0;
    do {
        key_of(k2, sizeof k2, i++);
        ASSERT_OK(reds_ring_locate(r, reds_cstr(k2), &n2));
    } while (n2 == n1);
    reds_key_value spread[] = {{reds_cstr(k1), REDS_STR("1")}, {reds_cstr(k2), REDS_STR("2")}};
    ASSERT_ERR(reds_mset(r, spread, 2), REDS_ERR_DATA);
    char expect[160];
    snprintf(expect, sizeof expect,
             "MSET: keys map to different nodes of the ring ('%s' to node "
             "%zu, '%s' to node %zu)",
             k1, n1, k2, n2);
    ck_assert_msg(strstr(reds_errmsg(), expect), "%s", reds_errmsg());
    reds_str keys[] = {reds_cstr(k1), reds_cstr(k2)};
    ASSERT_ERR(reds_del(r, keys, 2, NULL), REDS_ERR_DATA);
    ck_assert_int_eq(dbsize(0) + dbsize(1) + dbsize(2), 2);
    /* Pipelines need one connection: a ring has none to lend. */
    reds_client *p = NULL;
    reds_err err = reds_pipeline_new(r, false, &p);
    if (!err) {
        err = reds_ping(p, NULL, NULL);
        if (!err)
            err = reds_pipeline_execute(p);
        reds_client_free(p);
    }
    ASSERT_ERR(err, REDS_ERR_DATA);
    ck_assert_msg(strstr(reds_errmsg(), "a ring cannot"), "%s", reds_errmsg());
    reds_client_free(r);
}
END_TEST

START_TEST(keyless_commands)
{
    flush_all_nodes();
    reds_client *r = ring_of(3, false);
    char k[32];
    for (int i = 0; i < 30; i++)
        ASSERT_OK(reds_set(r, reds_cstr(key_of(k, sizeof k, i)), REDS_STR("v"), NULL, NULL));
    /* A read runs on the first node. */
    int64_t n = -1;
    ASSERT_OK(reds_dbsize(r, &n));
    ck_assert_int_eq(n, dbsize(0));
    ck_assert_int_eq(dbsize(0) + dbsize(1) + dbsize(2), 30);
    reds_str *pong = NULL;
    ASSERT_OK(reds_ping(r, NULL, &pong));
    ASSERT_STR(pong, "PONG");
    reds_free(pong);
    /* A write runs on every node. */
    ASSERT_OK(reds_flushall(r, NULL));
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(dbsize(i), 0);
    /* Commands that change a connection are refused, as on any pool. */
    ASSERT_ERR(reds_select(r, 1), REDS_ERR_DATA);
    reds_client_free(r);
    /* Bad input. */
    reds_ring_node nodes[2] = {{"same", {.port = node[0].port}}, {"same", {.port = node[1].port}}};
    ASSERT_ERR(reds_ring_new(nodes, 2, NULL, &r), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "reds_ring_new: nodes 0 and 1 are both named 'same'");
    reds_ring_options o = {.points = 6};
    ASSERT_ERR(reds_ring_new(nodes, 1, &o, &r), REDS_ERR_DATA);
    ASSERT_ERR(reds_ring_new(NULL, 0, NULL, &r), REDS_ERR_DATA);
    ck_assert_ptr_null(r);
    size_t at;
    ASSERT_ERR(reds_ring_locate(NULL, REDS_STR("k"), &at), REDS_ERR_DATA);
    /* Unnamed nodes are placed by host:port. */
    nodes[0].name = nodes[1].name = NULL;
    ASSERT_OK(reds_ring_new(nodes, 2, NULL, &r));
    ck_assert_ptr_nonnull(reds_ring_get_node(r, 1));
    ck_assert_ptr_null(reds_ring_get_node(r, 2));
    reds_client_free(r);
}
END_TEST

START_TEST(copy_writes_everywhere_reads_survive_a_kill)
{
    flush_all_nodes();
    reds_client *r = ring_of(3, true);
    ASSERT_OK(reds_set(r, REDS_STR("shared"), REDS_STR("v1"), NULL, NULL));
    char reply[64];
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(fixture_command(&node[i], "GET shared", reply, sizeof reply), 0);
        ck_assert_str_eq(reply, "$2"); /* the bulk header of "v1", on every node */
        ck_assert_int_eq(dbsize(i), 1);
    }
    /* Multi-key commands may span nodes: every node has every key. */
    reds_key_value kv[] = {{REDS_STR("a"), REDS_STR("1")},
                           {REDS_STR("b"), REDS_STR("2")},
                           {REDS_STR("c"), REDS_STR("3")}};
    ASSERT_OK(reds_mset(r, kv, 3));
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(dbsize(i), 4);
    /* The key's node dies: the read is served by another. */
    size_t at;
    ASSERT_OK(reds_ring_locate(r, REDS_STR("shared"), &at));
    fixture_kill(&node[at]);
    reds_str *v = NULL;
    ASSERT_OK(reds_get(r, REDS_STR("shared"), &v));
    ASSERT_STR(v, "v1");
    reds_free(v);
    reds_strlist *vals = NULL;
    reds_str keys[] = {REDS_STR("a"), REDS_STR("c")};
    ASSERT_OK(reds_mget(r, keys, 2, &vals));
    ASSERT_STR(&vals->items[0], "1");
    ASSERT_STR(&vals->items[1], "3");
    reds_free(vals);
    /* A write while a node is down reaches the others, and says so. */
    ASSERT_ERR(reds_set(r, REDS_STR("shared"), REDS_STR("v2"), NULL, NULL), REDS_ERR_CONNECTION);
    for (int i = 0; i < 3; i++) {
        if ((size_t)i == at)
            continue;
        ck_assert_int_eq(fixture_command(&node[i], "GET shared", reply, sizeof reply), 0);
        ck_assert_str_eq(reply, "$2");
    }
    /* In ring mode the same read fails: that node held the only copy. */
    reds_client *ring = ring_of(3, false);
    ASSERT_ERR(reds_get(ring, REDS_STR("shared"), &v), REDS_ERR_CONNECTION);
    reds_client_free(ring);
    reds_client_free(r);
    ck_assert_int_eq(fixture_restart(&node[at], NULL), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ring");
    TCase *tc = tcase_create("placement");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, spread_within_ten_percent);
    tcase_add_test(tc, adding_a_node_moves_a_quarter);
    suite_add_tcase(s, tc);
    tc = tcase_create("routing");
    tcase_add_test(tc, hash_tags_and_multi_key_commands);
    tcase_add_test(tc, keyless_commands);
    suite_add_tcase(s, tc);
    tc = tcase_create("copy");
    tcase_add_test(tc, copy_writes_everywhere_reads_survive_a_kill);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int started = 0, rc = 1;
    for (; started < 4; started++)
        if (fixture_start(&node[started], NULL) != 0)
            break;
    if (started == 4) {
        SRunner *sr = srunner_create(suite());
        /* One process: a test kills and restarts a node. */
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_NORMAL);
        rc = srunner_ntests_failed(sr) ? 1 : 0;
        srunner_free(sr);
    }
    while (started-- > 0)
        fixture_stop(&node[started]);
    return rc;
}
