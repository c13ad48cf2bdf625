/* The Redis Cluster client against a real six-node cluster (three
 * primaries, three replicas; fixture_cluster.c): hash slots, routing by
 * the command table's keys (checked on the owner with CLUSTER KEYSLOT and
 * COUNTKEYSINSLOT), request and response policies, target handles,
 * CROSSSLOT, non-atomic MGET/MSET, reads from replicas (checked in the
 * replicas' INFO commandstats), pipelines across nodes with MOVED and ASK
 * inside, single-slot transactions, shard channels; then under change:
 * slots resharded while four threads write and read, and a primary killed.
 *
 * The suite runs without forking (CK_NOFORK): the cluster is started once,
 * and the tests at the end change it (slots move, a primary fails over).
 * Durations are printed, never asserted. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "fixture_cluster.h"
#include "testutil.h"

static fixture_cluster FC;
static reds_client *C; /* a cluster client every test may use */

static reds_client *direct(int port)
{
    reds_options o = {
        .host = "127.0.0.1", .port = port, .connect_timeout_ms = 1000, .socket_timeout_ms = 5000};
    reds_client *c = NULL;
    ASSERT_OK(reds_client_new(&o, &c));
    return c;
}

static reds_client *cluster_client(const reds_cluster_options *opts)
{
    reds_host_port seed = {"127.0.0.1", FC.node[0].port};
    reds_client *c = NULL;
    ASSERT_OK(reds_cluster_new(&seed, 1, opts, &c));
    return c;
}

/* A key "<prefix>:<n>" whose slot is in [lo, hi]. */
static void key_in(char *buf, size_t size, const char *prefix, int lo, int hi, unsigned *n)
{
    for (;;) {
        snprintf(buf, size, "%s:%u", prefix, (*n)++);
        int s = reds_cluster_hash_slot(reds_cstr(buf));
        if (s >= lo && s <= hi)
            return;
    }
}

/* The fixture index of the node a member index names. */
static int fixture_of(reds_client *c, size_t member)
{
    reds_cluster_member_list *m = NULL;
    ASSERT_OK(reds_cluster_members(c, &m));
    ck_assert_uint_lt(member, m->count);
    int i = fixture_cluster_index(&FC, m->items[member].port);
    reds_free(m);
    ck_assert_int_ge(i, 0);
    return i;
}

/* The fixture index of the primary serving `slot`, asked of the node
 * itself (CLUSTER SHARDS of a running node). */
static int owner_of_slot(int slot)
{
    for (int i = 0; i < FIXTURE_CLUSTER_NODES; i++) {
        if (FC.node[i].pid <= 0)
            continue;
        reds_client *d = direct(FC.node[i].port);
        reds_cluster_shard_list *l = NULL;
        ASSERT_OK(reds_cluster_shards(d, &l));
        int owner = -1;
        for (size_t s = 0; s < l->count && owner < 0; s++)
            for (size_t k = 0; k + 1 < l->items[s].slots.count && owner < 0; k += 2)
                if (l->items[s].slots.items[k] <= slot && slot <= l->items[s].slots.items[k + 1])
                    for (size_t j = 0; j < l->items[s].nnodes; j++)
                        if (str_eq(l->items[s].nodes[j].role, "master"))
                            owner = fixture_cluster_index(&FC, (int)l->items[s].nodes[j].port);
        reds_free(l);
        reds_client_free(d);
        return owner;
    }
    return -1;
}

static int64_t countkeysinslot(int node, int slot)
{
    reds_client *d = direct(FC.node[node].port);
    int64_t n = -1;
    ASSERT_OK(reds_cluster_countkeysinslot(d, slot, &n));
    reds_client_free(d);
    return n;
}

static void setslot(int node, int slot, const char *how, int other)
{
    ck_assert_int_eq(fixture_cluster_setslot(&FC, node, slot, how, other), 0);
}

/* MIGRATE every key of `slot` from node `from` to node `to`. */
static void migrate_keys(int from, int to, int slot)
{
    reds_client *d = direct(FC.node[from].port);
    for (;;) {
        reds_strlist *keys = NULL;
        ASSERT_OK(reds_cluster_getkeysinslot(d, slot, 100, &keys));
        size_t n = keys->count;
        if (n) {
            char port[16];
            snprintf(port, sizeof port, "%d", FC.node[to].port);
            reds_str *argv = calloc(n + 8, sizeof *argv);
            size_t argc = 0;
            argv[argc++] = REDS_STR("MIGRATE");
            argv[argc++] = REDS_STR("127.0.0.1");
            argv[argc++] = reds_cstr(port);
            argv[argc++] = REDS_STR("");
            argv[argc++] = REDS_STR("0");
            argv[argc++] = REDS_STR("5000");
            argv[argc++] = REDS_STR("KEYS");
            for (size_t i = 0; i < n; i++)
                argv[argc++] = keys->items[i];
            ASSERT_OK(reds_execute_command(d, argc, argv, NULL));
            free(argv);
        }
        reds_free(keys);
        if (!n)
            break;
    }
    reds_client_free(d);
}

/* The last step of a slot move: the new owner, the old, every primary. */
static void assign_slot(int slot, int from, int to)
{
    ck_assert_int_eq(fixture_cluster_assign_slot(&FC, slot, from, to), 0);
}

/* Wait until the replicas hold `n` keys in all. */
static void replicas_hold(reds_client *c, int64_t n)
{
    reds_client *reps = NULL;
    ASSERT_OK(reds_cluster_target(c, REDS_CLUSTER_REPLICAS, 0, &reps));
    int64_t size = -1;
    for (long long deadline = now_ms() + 10000; now_ms() < deadline; sleep_ms(10)) {
        ASSERT_OK(reds_dbsize(reps, &size));
        if (size == n)
            break;
    }
    ck_assert_int_eq(size, n);
    reds_client_free(reps);
}

static void settled(void)
{
    ck_assert_msg(fixture_cluster_settled(&FC, 3, true, 30000) == 0, "the cluster did not settle");
}

/* Move `slot` by hand (what redis-cli --cluster reshard does per slot),
 * and wait until every node knows (the next move must not start before
 * the new epoch has spread). */
static void move_slot(int slot, int from, int to)
{
    setslot(to, slot, "importing", from);
    setslot(from, slot, "migrating", to);
    migrate_keys(from, to, slot);
    assign_slot(slot, from, to);
    settled();
}

/* Another primary than `node` (fixture indexes). */
static int other_primary(int node)
{
    for (int i = 0; i < FIXTURE_CLUSTER_NODES; i++)
        if (i != node && fixture_cluster_role(&FC, i) == 'm')
            return i;
    ck_abort_msg("no other primary");
    return -1;
}

/* ------------------------------------------------------------ hash slots */

START_TEST(hash_slots)
{
    /* The Redis Cluster specification's CRC16 check value, and key slots
     * as CLUSTER KEYSLOT gives them. */
    ck_assert_int_eq(reds_cluster_hash_slot(REDS_STR("123456789")), 0x31C3 & 16383);
    ck_assert_int_eq(reds_cluster_hash_slot(REDS_STR("foo")), 12182);
    ck_assert_int_eq(reds_cluster_hash_slot(REDS_STR("bar")), 5061);
    ck_assert_int_eq(reds_cluster_hash_slot(REDS_STR("hello")), 866);
    ck_assert_int_eq(reds_cluster_hash_slot(REDS_STR("")), 0);
    ck_assert_int_eq(reds_cluster_hash_slot(reds_strn(NULL, 0)), 0);
    /* Hash tags: the first {...} with something inside. */
    ck_assert_int_eq(reds_cluster_hash_slot(REDS_STR("{user1000}.following")), 3443);
    ck_assert_int_eq(reds_cluster_hash_slot(REDS_STR("{user1000}.followers")), 3443);
    ck_assert_int_eq(reds_cluster_hash_slot(REDS_STR("user1000")), 3443);
    ck_assert_int_eq(reds_cluster_hash_slot(REDS_STR("foo{bar}{zap}")), 5061);
    ck_assert_int_eq(reds_cluster_hash_slot(REDS_STR("foo{}{bar}")), 8363);    /* the whole key */
    ck_assert_int_eq(reds_cluster_hash_slot(REDS_STR("foo{{bar}}zap")), 4015); /* "{bar" */
    ck_assert_int_eq(reds_cluster_hash_slot(REDS_STR("{}")), 15257);
    ck_assert_int_eq(reds_cluster_hash_slot(REDS_STR("a{b}c{d}e")), 3300);
    /* And the server agrees, for many keys. */
    reds_client *d = direct(FC.node[0].port);
    for (int i = 0; i < 200; i++) {
        char key[32];
        snprintf(key, sizeof key, i % 3 ? "k%d" : "{t%d}x", i);
        int64_t slot = -1;
        ASSERT_OK(reds_cluster_keyslot(d, reds_cstr(key), &slot));
        ck_assert_int_eq(reds_cluster_hash_slot(reds_cstr(key)), slot);
    }
    reds_client_free(d);
}
END_TEST

/* ----------------------------------------------------------- at rest */

START_TEST(members_and_bad_input)
{
    reds_cluster_member_list *m = NULL;
    ASSERT_OK(reds_cluster_members(C, &m));
    ck_assert_uint_eq(m->count, 6);
    int primaries = 0, replicas = 0;
    int64_t slots = 0;
    for (size_t i = 0; i < m->count; i++) {
        const reds_cluster_member *it = &m->items[i];
        ck_assert_uint_eq(it->index, i);
        ASSERT_STR(&it->host, "127.0.0.1");
        int f = fixture_cluster_index(&FC, it->port);
        ck_assert_int_ge(f, 0);
        ck_assert_int_eq(fixture_cluster_role(&FC, f), it->primary ? 'm' : 's');
        if (it->primary) {
            primaries++;
            slots += it->slots;
            ck_assert(it->slots == 5461 || it->slots == 5462);
        } else {
            ck_assert(it->replica);
            replicas++;
            ck_assert(m->items[it->of].primary);
        }
    }
    ck_assert_int_eq(primaries, 3);
    ck_assert_int_eq(replicas, 3);
    ck_assert_int_eq(slots, 16384);
    reds_free(m);

    /* A URL works as a seed; its options are the nodes'. */
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0?client_name=via-url", FC.node[3].port);
    reds_client *u = NULL;
    ASSERT_OK(reds_cluster_from_url(url, NULL, &u));
    ASSERT_OK(reds_set(u, REDS_STR("url-key"), REDS_STR("1"), NULL, NULL));
    reds_str *v = NULL;
    ASSERT_OK(reds_get(C, REDS_STR("url-key"), &v));
    ASSERT_STR(v, "1");
    reds_free(v);
    reds_client_free(u);

    /* Bad input sends nothing. */
    reds_host_port seed = {"127.0.0.1", FC.node[0].port};
    reds_client *c = NULL;
    ASSERT_ERR(reds_cluster_new(NULL, 0, NULL, &c), REDS_ERR_DATA);
    ASSERT_ERR(reds_cluster_new(&seed, 1, NULL, NULL), REDS_ERR_DATA);
    reds_options db = {.db = 1};
    reds_cluster_options o = {.node = &db};
    ASSERT_ERR(reds_cluster_new(&seed, 1, &o, &c), REDS_ERR_DATA);
    ck_assert_ptr_null(c);
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/2", FC.node[0].port);
    ASSERT_ERR(reds_cluster_from_url(url, NULL, &c), REDS_ERR_DATA);
    /* No seed answers. */
    reds_host_port nobody = {"127.0.0.1", fixture_free_port()};
    ASSERT_ERR(reds_cluster_new(&nobody, 1, NULL, &c), REDS_ERR_CLUSTER);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "no node gave a slot map"));
    /* A server outside any cluster is no seed either. */
    fixture_server lone;
    ck_assert_int_eq(fixture_start(&lone, NULL), 0);
    reds_host_port plain = {"127.0.0.1", lone.port};
    ASSERT_ERR(reds_cluster_new(&plain, 1, NULL, &c), REDS_ERR_CLUSTER);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "cluster support disabled"));
    fixture_stop(&lone);
    /* Connection-scoped commands are refused, as on any pooled client. */
    ASSERT_ERR(reds_select(C, 1), REDS_ERR_DATA);
    ASSERT_ERR(reds_readonly(C), REDS_ERR_DATA);
    ASSERT_ERR(reds_cluster_target(C, (reds_cluster_target_kind)42, 0, &c), REDS_ERR_DATA);
    ASSERT_ERR(reds_cluster_target(C, REDS_CLUSTER_NODE, 99, &c), REDS_ERR_DATA);
    reds_client *plainc = direct(FC.node[0].port);
    ASSERT_ERR(reds_cluster_target(plainc, REDS_CLUSTER_PRIMARIES, 0, &c), REDS_ERR_DATA);
    ck_assert_ptr_null(reds_cluster_node_client(plainc, 0));
    reds_client_free(plainc);
}
END_TEST

START_TEST(routed_to_the_owner)
{
    ASSERT_OK(reds_flushall(C, NULL));
    reds_cluster_member_list *m = NULL;
    ASSERT_OK(reds_cluster_members(C, &m));
    for (int i = 0; i < 60; i++) {
        char key[32], val[32];
        snprintf(key, sizeof key, "route:%d", i);
        snprintf(val, sizeof val, "value-%d", i);
        ASSERT_OK(reds_set(C, reds_cstr(key), reds_cstr(val), NULL, NULL));
        size_t owner;
        int slot;
        ASSERT_OK(reds_cluster_locate(C, reds_cstr(key), &owner, &slot));
        ck_assert(m->items[owner].primary);
        /* On the owner: the server's own slot of the key, one key in it,
         * and the value; on every other primary, nothing. */
        reds_client *on = reds_cluster_node_client(C, owner);
        int64_t n = -1;
        ASSERT_OK(reds_cluster_keyslot(on, reds_cstr(key), &n));
        ck_assert_int_eq(n, slot);
        ASSERT_OK(reds_cluster_countkeysinslot(on, slot, &n));
        ck_assert_int_ge(n, 1);
        reds_str *v = NULL;
        ASSERT_OK(reds_get(on, reds_cstr(key), &v));
        ASSERT_STR(v, val);
        reds_free(v);
        for (size_t j = 0; j < m->count; j++) {
            if (j == owner || !m->items[j].primary)
                continue;
            reds_client *other = reds_cluster_node_client(C, j);
            ASSERT_OK(reds_cluster_countkeysinslot(other, slot, &n));
            ck_assert_int_eq(n, 0);
            ASSERT_ERR(reds_get(other, reds_cstr(key), &v), REDS_ERR_MOVED);
            char moved[64];
            snprintf(moved, sizeof moved, "GET: MOVED %d 127.0.0.1:%d", slot, m->items[owner].port);
            ck_assert_str_eq(reds_errmsg(), moved);
        }
        /* And back through the cluster client. */
        ASSERT_OK(reds_get(C, reds_cstr(key), &v));
        ASSERT_STR(v, val);
        reds_free(v);
    }
    reds_free(m);
    /* Keys found by key specs, not position: EVAL's keys, ZUNIONSTORE's. */
    reds_str keys[] = {REDS_STR("{z}dst"), REDS_STR("{z}a")};
    reds_eval_opts eo = {.keys = keys, .nkeys = 2};
    reds_reply *r = NULL;
    ASSERT_OK(reds_eval(C,
                        REDS_STR("redis.call('set', KEYS[1], 'x'); return "
                                 "redis.call('get', KEYS[1])"),
                        &eo, &r));
    ck_assert_str_eq(r->str, "x");
    reds_free(r);
}
END_TEST

START_TEST(keyless_policies)
{
    ASSERT_OK(reds_flushall(C, NULL));
    char key[64];
    unsigned n = 0;
    for (int i = 0; i < 30; i++) {
        key_in(key, sizeof key, "kl", 0, 16383, &n);
        ASSERT_OK(reds_set(C, reds_cstr(key), REDS_STR("v"), NULL, NULL));
    }
    /* DBSIZE: agg_sum over the primaries. */
    int64_t size = 0;
    ASSERT_OK(reds_dbsize(C, &size));
    ck_assert_int_eq(size, 30);
    int64_t per_node = 0;
    reds_cluster_member_list *m = NULL;
    ASSERT_OK(reds_cluster_members(C, &m));
    for (size_t i = 0; i < m->count; i++) {
        if (!m->items[i].primary)
            continue;
        int64_t k = -1;
        reds_client *t = NULL;
        ASSERT_OK(reds_cluster_target(C, REDS_CLUSTER_NODE, i, &t));
        ASSERT_OK(reds_dbsize(t, &k));
        ck_assert_int_gt(k, 0); /* 30 random keys: every primary has some */
        per_node += k;
        /* KEYS on one node: exactly its keys, all in its slots. */
        reds_strlist *keys = NULL;
        ASSERT_OK(reds_keys(t, REDS_STR("kl:*"), &keys));
        ck_assert_uint_eq(keys->count, (size_t)k);
        for (size_t j = 0; j < keys->count; j++) {
            size_t owner;
            ASSERT_OK(reds_cluster_locate(C, keys->items[j], &owner, NULL));
            ck_assert_uint_eq(owner, i);
        }
        reds_free(keys);
        reds_client_free(t);
    }
    ck_assert_int_eq(per_node, 30);
    /* KEYS: all_shards, the arrays concatenated. */
    reds_strlist *all = NULL;
    ASSERT_OK(reds_keys(C, REDS_STR("kl:*"), &all));
    ck_assert_uint_eq(all->count, 30);
    for (size_t j = 0; j < all->count; j++) {
        int64_t one = 0;
        ASSERT_OK(reds_exists(C, &all->items[j], 1, &one));
        ck_assert_int_eq(one, 1);
        for (size_t k = 0; k < j; k++)
            ck_assert(all->items[k].len != all->items[j].len ||
                      memcmp(all->items[k].ptr, all->items[j].ptr, all->items[j].len));
    }
    reds_free(all);
    /* RANDOMKEY: one of them. */
    reds_str *rk = NULL;
    ASSERT_OK(reds_randomkey(C, &rk));
    ck_assert(rk && rk->len > 3 && !memcmp(rk->ptr, "kl:", 3));
    reds_free(rk);
    /* WAIT: agg_min over the primaries, each with its replica. */
    int64_t acked = -1;
    ASSERT_OK(reds_wait(C, 1, 2000, &acked));
    ck_assert_int_eq(acked, 1);
    /* The replicas have the keys too: DBSIZE on every replica, summed. */
    replicas_hold(C, 30);
    reds_client *everyone = NULL;
    ASSERT_OK(reds_cluster_target(C, REDS_CLUSTER_ALL_NODES, 0, &everyone));
    ASSERT_OK(reds_dbsize(everyone, &size));
    ck_assert_int_eq(size, 60);
    /* SCRIPT LOAD: all_nodes; SCRIPT EXISTS: agg_logical_and per element. */
    reds_str *sha = NULL;
    ASSERT_OK(reds_script_load(C, REDS_STR("return 42"), &sha));
    ck_assert_uint_eq(sha->len, 40);
    reds_str shas[2] = {*sha, REDS_STR("0000000000000000000000000000000000000000")};
    reds_boollist *ex = NULL;
    ASSERT_OK(reds_script_exists(everyone, shas, 2, &ex));
    ck_assert_uint_eq(ex->count, 2);
    ck_assert(ex->items[0]);
    ck_assert(!ex->items[1]);
    reds_free(ex);
    for (size_t i = 0; i < m->count; i++) {
        reds_client *one = reds_cluster_node_client(C, i);
        ASSERT_OK(reds_script_exists(one, shas, 1, &ex));
        ck_assert(ex->items[0]); /* loaded on every node */
        reds_free(ex);
    }
    /* Loaded on one node only: the AND over every node is false. */
    reds_str *sha2 = NULL;
    ASSERT_OK(reds_script_load(reds_cluster_node_client(C, 0), REDS_STR("return 43"), &sha2));
    ASSERT_OK(reds_script_exists(everyone, sha2, 1, &ex));
    ck_assert(!ex->items[0]);
    reds_free(ex);
    reds_free(sha2);
    reds_free(sha);
    /* CONFIG SET: all_nodes, all_succeeded. */
    reds_config_parameter p = {REDS_STR("slowlog-max-len"), REDS_STR("77")};
    ASSERT_OK(reds_config_set(C, &p, 1));
    for (size_t i = 0; i < m->count; i++) {
        reds_str name = REDS_STR("slowlog-max-len");
        reds_map *cfg = NULL;
        ASSERT_OK(reds_config_get(reds_cluster_node_client(C, i), &name, 1, &cfg));
        ASSERT_STR(&cfg->items[0].value, "77");
        reds_free(cfg);
    }
    /* A failure on any node fails it, naming the node. */
    reds_config_parameter bad = {REDS_STR("slowlog-max-len"), REDS_STR("many")};
    ASSERT_ERR(reds_config_set(C, &bad, 1), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "CONFIG SET: 127.0.0.1:"));
    /* PING: all_shards. INFO: special, so the default node; refused on
     * several nodes. */
    ASSERT_OK(reds_ping(C, NULL, NULL));
    reds_info_reply *info = NULL;
    ASSERT_OK(reds_info(C, NULL, &info));
    ASSERT_STR(reds_info_get(info, REDS_STR("cluster_enabled")), "1");
    reds_free(info);
    ASSERT_ERR(reds_info(everyone, NULL, &info), REDS_ERR_DATA);
    ck_assert_ptr_null(info);
    /* FLUSHALL: every primary. */
    ASSERT_OK(reds_flushall(C, NULL));
    ASSERT_OK(reds_dbsize(C, &size));
    ck_assert_int_eq(size, 0);
    /* A target names one node: a key of another is MOVED, not followed. */
    size_t owner;
    ASSERT_OK(reds_set(C, REDS_STR("foo"), REDS_STR("bar"), NULL, NULL));
    ASSERT_OK(reds_cluster_locate(C, REDS_STR("foo"), &owner, NULL));
    for (size_t i = 0; i < m->count; i++) {
        if (!m->items[i].primary)
            continue;
        reds_client *t = NULL;
        ASSERT_OK(reds_cluster_target(C, REDS_CLUSTER_NODE, i, &t));
        reds_str *v = NULL;
        if (i == owner) {
            ASSERT_OK(reds_get(t, REDS_STR("foo"), &v));
            ASSERT_STR(v, "bar");
            reds_free(v);
        } else {
            ASSERT_ERR(reds_get(t, REDS_STR("foo"), &v), REDS_ERR_MOVED);
        }
        reds_client_free(t);
    }
    reds_client *rnd = NULL;
    ASSERT_OK(reds_cluster_target(C, REDS_CLUSTER_RANDOM_NODE, 0, &rnd));
    ASSERT_OK(reds_ping(rnd, NULL, NULL));
    reds_client_free(rnd);
    reds_client_free(everyone);
    reds_free(m);
}
END_TEST

typedef struct busy {
    pthread_t t;
    reds_client *node;
    reds_err err;
    char msg[256];
} busy;

static void *busy_script(void *arg)
{
    busy *b = arg;
    b->err = reds_eval(b->node, REDS_STR("while true do end"), NULL, NULL);
    snprintf(b->msg, sizeof b->msg, "%s", reds_errmsg());
    return NULL;
}

START_TEST(one_succeeded)
{
    /* SCRIPT KILL: all_shards, one_succeeded. No script anywhere: every
     * primary says NOTBUSY, and so does the command. */
    ASSERT_ERR(reds_script_kill(C), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "NOTBUSY"));
    /* A script busy on one primary: it is killed there, the others' NOTBUSY
     * does not matter. */
    size_t owner;
    ASSERT_OK(reds_cluster_locate(C, REDS_STR("busy"), &owner, NULL));
    reds_client *node = reds_cluster_node_client(C, owner);
    reds_config_parameter p = {REDS_STR("busy-reply-threshold"), REDS_STR("100")};
    ASSERT_OK(reds_config_set(node, &p, 1));
    busy b = {0};
    b.node = node;
    ck_assert_int_eq(pthread_create(&b.t, NULL, busy_script, &b), 0);
    reds_err err;
    long long deadline = now_ms() + 10000;
    do {
        sleep_ms(100);
        err = reds_script_kill(C);
    } while (err && now_ms() < deadline);
    ASSERT_OK(err);
    pthread_join(b.t, NULL);
    ck_assert_int_eq(b.err, REDS_ERR_RESPONSE);
    ck_assert_msg(strstr(b.msg, "killed"), "%s", b.msg);
    p.value = REDS_STR("5000");
    ASSERT_OK(reds_config_set(node, &p, 1));
}
END_TEST

START_TEST(crossslot_refused)
{
    ASSERT_OK(reds_flushall(C, NULL));
    reds_cluster_stats before, after;
    ASSERT_OK(reds_cluster_get_stats(C, &before));
    reds_key_value kv[] = {{REDS_STR("foo"), REDS_STR("1")}, {REDS_STR("bar"), REDS_STR("2")}};
    ASSERT_ERR(reds_mset(C, kv, 2), REDS_ERR_CROSSSLOT);
    ck_assert_str_eq(reds_errmsg(), "MSET: keys in different slots ('foo' in 12182, 'bar' in "
                                    "5061); give them a common hash tag ({...})");
    reds_str two[] = {REDS_STR("foo"), REDS_STR("bar")};
    int64_t n = -1;
    ASSERT_ERR(reds_del(C, two, 2, &n), REDS_ERR_CROSSSLOT);
    reds_strlist *l = NULL;
    ASSERT_ERR(reds_mget(C, two, 2, &l), REDS_ERR_CROSSSLOT);
    ck_assert_ptr_null(l);
    /* Nothing was sent: no node has either key. */
    reds_client *everyone = NULL;
    ASSERT_OK(reds_cluster_target(C, REDS_CLUSTER_ALL_NODES, 0, &everyone));
    ASSERT_OK(reds_dbsize(everyone, &n));
    ck_assert_int_eq(n, 0);
    ASSERT_OK(reds_cluster_get_stats(C, &after));
    ck_assert_uint_eq(after.moved, before.moved);
    /* With a common hash tag they share a slot. */
    reds_key_value tagged[] = {{REDS_STR("{u}foo"), REDS_STR("1")},
                               {REDS_STR("{u}bar"), REDS_STR("2")}};
    ASSERT_OK(reds_mset(C, tagged, 2));
    reds_str tk[] = {REDS_STR("{u}foo"), REDS_STR("{u}bar"), REDS_STR("{u}none")};
    ASSERT_OK(reds_mget(C, tk, 3, &l));
    ck_assert_uint_eq(l->count, 3);
    ASSERT_STR(&l->items[0], "1");
    ASSERT_STR(&l->items[1], "2");
    ck_assert_ptr_null(l->items[2].ptr);
    reds_free(l);
    ASSERT_OK(reds_del(C, tk, 3, &n));
    ck_assert_int_eq(n, 2);
    reds_client_free(everyone);
}
END_TEST

START_TEST(mget_mset_split_by_slot)
{
    ASSERT_OK(reds_flushall(C, NULL));
    enum { N = 200 };
    static char keys_text[N][24], vals_text[N][24];
    reds_key_value kv[N];
    reds_str keys[N + 2];
    for (int i = 0; i < N; i++) {
        snprintf(keys_text[i], sizeof keys_text[i], "mk:%d", i);
        snprintf(vals_text[i], sizeof vals_text[i], "mv:%d:%d", i, i * 7);
        kv[i] = (reds_key_value){reds_cstr(keys_text[i]), reds_cstr(vals_text[i])};
    }
    ASSERT_OK(reds_cluster_mset(C, kv, N));
    int64_t size = 0;
    ASSERT_OK(reds_dbsize(C, &size));
    ck_assert_int_eq(size, N);
    /* Read back in another order, with two missing keys in between. */
    size_t k = 0;
    for (int i = N - 1; i >= 0; i--) {
        keys[k++] = reds_cstr(keys_text[i]);
        if (i == 100)
            keys[k++] = REDS_STR("mk:missing");
        if (i == 3)
            keys[k++] = REDS_STR("{mk:5}:missing");
    }
    reds_strlist *l = NULL;
    ASSERT_OK(reds_cluster_mget(C, keys, k, &l));
    ck_assert_uint_eq(l->count, N + 2);
    for (size_t j = 0; j < k; j++) {
        if (str_eq(keys[j], "mk:missing") || str_eq(keys[j], "{mk:5}:missing")) {
            ck_assert_ptr_null(l->items[j].ptr);
            continue;
        }
        int i = atoi(keys[j].ptr + 3);
        ASSERT_STR(&l->items[j], vals_text[i]);
    }
    reds_free(l);
    /* Bad input. */
    ASSERT_ERR(reds_cluster_mget(C, keys, 0, &l), REDS_ERR_DATA);
    ASSERT_ERR(reds_cluster_mget(C, NULL, 2, &l), REDS_ERR_DATA);
    ASSERT_ERR(reds_cluster_mset(C, NULL, 1), REDS_ERR_DATA);
    reds_client *plain = direct(FC.node[0].port);
    ASSERT_ERR(reds_cluster_mget(plain, keys, 1, &l), REDS_ERR_DATA);
    reds_client_free(plain);
}
END_TEST

/* Sum of "calls=" of `cmdstat` in INFO commandstats of node `c`. */
static int64_t calls_of(reds_client *c, const char *cmd)
{
    reds_info_opts io = {0};
    reds_str section = REDS_STR("commandstats");
    io.sections = &section;
    io.nsections = 1;
    reds_info_reply *info = NULL;
    ASSERT_OK(reds_info(c, &io, &info));
    char name[64];
    snprintf(name, sizeof name, "cmdstat_%s", cmd);
    const reds_str *v = reds_info_get(info, reds_cstr(name));
    int64_t calls = v ? atoll(v->ptr + 6) : 0; /* "calls=N,..." */
    reds_free(info);
    return calls;
}

START_TEST(reads_from_replicas)
{
    ASSERT_OK(reds_flushall(C, NULL));
    reds_cluster_options o = {.read_from_replicas = true};
    reds_client *r = cluster_client(&o);
    char key[32];
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "rr:%d", i);
        ASSERT_OK(reds_set(r, reds_cstr(key), reds_cstr(key), NULL, NULL));
    }
    int64_t acked = 0;
    ASSERT_OK(reds_wait(r, 1, 5000, &acked)); /* on the connections that wrote */
    ck_assert_int_eq(acked, 1);
    replicas_hold(C, 20);
    reds_client *everyone = NULL;
    ASSERT_OK(reds_cluster_target(C, REDS_CLUSTER_ALL_NODES, 0, &everyone));
    ASSERT_OK(reds_config_resetstat(everyone));
    reds_cluster_stats before, after;
    ASSERT_OK(reds_cluster_get_stats(r, &before));
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 20; i++) {
            snprintf(key, sizeof key, "rr:%d", i);
            reds_str *v = NULL;
            ASSERT_OK(reds_get(r, reds_cstr(key), &v));
            ASSERT_STR(v, key);
            reds_free(v);
        }
    }
    ASSERT_OK(reds_cluster_get_stats(r, &after));
    /* 60 GETs: every one ran once, some on replicas, which said READONLY
     * when their connections opened. Writes still go to primaries. */
    reds_cluster_member_list *m = NULL;
    ASSERT_OK(reds_cluster_members(r, &m));
    int64_t on_replicas = 0, on_primaries = 0, readonly = 0;
    for (size_t i = 0; i < m->count; i++) {
        reds_client *d = direct(m->items[i].port);
        int64_t gets = calls_of(d, "get");
        if (m->items[i].replica) {
            on_replicas += gets;
            readonly += calls_of(d, "readonly");
        } else {
            on_primaries += gets;
        }
        reds_client_free(d);
    }
    ck_assert_int_eq(on_replicas + on_primaries, 60);
    ck_assert_int_gt(on_replicas, 0);
    ck_assert_int_gt(on_primaries, 0);
    ck_assert_int_gt(readonly, 0);
    ck_assert_int_eq((int64_t)(after.replica_reads - before.replica_reads), on_replicas);
    printf("read_from_replicas: 60 GETs, %lld on replicas, %lld on primaries\n",
           (long long)on_replicas, (long long)on_primaries);
    ASSERT_OK(reds_set(r, REDS_STR("rr:w"), REDS_STR("1"), NULL, NULL));
    /* The default client never reads from replicas. */
    ASSERT_OK(reds_config_resetstat(everyone));
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "rr:%d", i);
        ASSERT_OK(reds_get(C, reds_cstr(key), NULL));
    }
    for (size_t i = 0; i < m->count; i++) {
        if (!m->items[i].replica)
            continue;
        reds_client *d = direct(m->items[i].port);
        ck_assert_int_eq(calls_of(d, "get"), 0);
        reds_client_free(d);
    }
    reds_free(m);
    reds_client_free(everyone);
    reds_client_free(r);
}
END_TEST

START_TEST(pipeline_across_nodes)
{
    ASSERT_OK(reds_flushall(C, NULL));
    enum { N = 90 };
    reds_client *p = NULL;
    ASSERT_OK(reds_pipeline_new(C, false, &p));
    static char keys[N][24];
    bool set[N];
    reds_str *got[N];
    int64_t lens[N];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "pk:%d", i);
        ASSERT_OK(reds_set(p, reds_cstr(keys[i]), reds_cstr(keys[i]), NULL, &set[i]));
        ASSERT_OK(reds_get(p, reds_cstr(keys[i]), &got[i]));
        ASSERT_OK(reds_strlen(p, reds_cstr(keys[i]), &lens[i]));
    }
    ck_assert_uint_eq(reds_pipeline_count(p), 3 * N);
    ASSERT_OK(reds_pipeline_execute(p));
    for (int i = 0; i < N; i++) {
        ck_assert(set[i]);
        ASSERT_STR(got[i], keys[i]);
        ck_assert_int_eq(lens[i], (int64_t)strlen(keys[i]));
        reds_free(got[i]);
    }
    for (size_t i = 0; i < 3 * N; i++)
        ASSERT_OK(reds_pipeline_result(p, i, NULL));
    /* A command's own error stays its own; the others run. */
    int64_t n = 0;
    reds_str *v = NULL;
    ASSERT_OK(reds_incr(p, REDS_STR("pk:1"), &n)); /* not an integer */
    ASSERT_OK(reds_get(p, REDS_STR("pk:2"), &v));
    ASSERT_ERR(reds_pipeline_execute(p), REDS_ERR_RESPONSE);
    ck_assert_str_eq(reds_errmsg(), "command 1 of 2 (INCR): ERR value is not an integer or out "
                                    "of range");
    ASSERT_STR(v, "pk:2");
    reds_free(v);
    const char *msg;
    ASSERT_ERR(reds_pipeline_result(p, 0, &msg), REDS_ERR_RESPONSE);
    ck_assert_str_eq(msg, "INCR: ERR value is not an integer or out of range");
    /* A command the table does not know is named as the user sent it. */
    reds_str nosuch[] = {REDS_STR("NOSUCH"), REDS_STR("x")};
    ASSERT_OK(reds_execute_command(p, 2, nosuch, NULL));
    ASSERT_OK(reds_get(p, REDS_STR("pk:2"), &v));
    ASSERT_ERR(reds_pipeline_execute(p), REDS_ERR_RESPONSE);
    ck_assert_str_eq(reds_errmsg(), "command 1 of 2 (NOSUCH): ERR unknown command 'NOSUCH', with "
                                    "args beginning with: 'x' ");
    ASSERT_STR(v, "pk:2");
    reds_free(v);
    /* Refused when queued: several nodes, several slots in a transaction. */
    ASSERT_ERR(reds_dbsize(p, &n), REDS_ERR_DATA);
    reds_key_value kv[] = {{REDS_STR("foo"), REDS_STR("1")}, {REDS_STR("bar"), REDS_STR("2")}};
    ASSERT_ERR(reds_mset(p, kv, 2), REDS_ERR_CROSSSLOT);
    ck_assert_uint_eq(reds_pipeline_count(p), 2); /* still the last execution's */
    reds_client_free(p);
}
END_TEST

/* A slot of node `owner` with no key yet, and a key in it. */
static int slot_with_key(int owner, char *key, size_t size, const char *prefix)
{
    unsigned n = 0;
    for (;;) {
        snprintf(key, size, "%s:%u", prefix, n++);
        int slot = reds_cluster_hash_slot(reds_cstr(key));
        if (owner_of_slot(slot) == owner && countkeysinslot(owner, slot) == 0)
            return slot;
    }
}

START_TEST(pipeline_follows_moved_and_ask)
{
    ASSERT_OK(reds_flushall(C, NULL));
    /* A second client whose map goes stale when the slot moves. */
    reds_client *c = cluster_client(NULL);
    size_t m0;
    ASSERT_OK(reds_cluster_locate(c, REDS_STR("move-me"), &m0, NULL));
    int from = fixture_of(c, m0), to = other_primary(from);
    char key[64], key2[64];
    int slot = slot_with_key(from, key, sizeof key, "mv");
    snprintf(key2, sizeof key2, "{%s}.2", key);
    ASSERT_OK(reds_set(c, reds_cstr(key), REDS_STR("before"), NULL, NULL));
    ASSERT_OK(reds_get(c, reds_cstr(key), NULL));

    /* The slot moves while the client is not looking. */
    move_slot(slot, from, to);
    ck_assert_int_eq(countkeysinslot(to, slot), 1);
    reds_cluster_stats st0, st1;
    ASSERT_OK(reds_cluster_get_stats(c, &st0));
    reds_client *p = NULL;
    ASSERT_OK(reds_pipeline_new(c, false, &p));
    reds_str *got = NULL, *other = NULL;
    bool ok = false;
    ASSERT_OK(reds_get(p, reds_cstr(key), &got));
    ASSERT_OK(reds_set(p, reds_cstr(key2), REDS_STR("after"), NULL, &ok));
    ASSERT_OK(reds_get(p, REDS_STR("untouched"), &other));
    ASSERT_OK(reds_pipeline_execute(p));
    ASSERT_STR(got, "before");
    ck_assert(ok);
    ck_assert_ptr_null(other);
    reds_free(got);
    ASSERT_OK(reds_cluster_get_stats(c, &st1));
    ck_assert_uint_eq(st1.moved - st0.moved, 2);
    ck_assert_int_eq(countkeysinslot(to, slot), 2);
    ck_assert_int_eq(countkeysinslot(from, slot), 0);
    /* The map learnt it: no MOVED any more. */
    ASSERT_OK(reds_get(c, reds_cstr(key), NULL));
    ASSERT_OK(reds_cluster_get_stats(c, &st0));
    ck_assert_uint_eq(st0.moved, st1.moved);

    /* ASK: the slot is migrating back, its keys still on `to`; a new key
     * of the slot belongs where it is imported. */
    setslot(from, slot, "importing", to);
    setslot(to, slot, "migrating", from);
    char key3[80];
    snprintf(key3, sizeof key3, "{%s}.3", key);
    ASSERT_OK(reds_set(p, reds_cstr(key3), REDS_STR("asked"), NULL, &ok));
    ASSERT_OK(reds_get(p, reds_cstr(key), &got));
    ASSERT_OK(reds_pipeline_execute(p));
    ck_assert(ok);
    ASSERT_STR(got, "before"); /* still on `to`: served there */
    reds_free(got);
    ASSERT_OK(reds_cluster_get_stats(c, &st1));
    ck_assert_uint_eq(st1.ask - st0.ask, 1);
    ck_assert_int_eq(countkeysinslot(from, slot), 1); /* key3, imported */
    ck_assert_int_eq(countkeysinslot(to, slot), 2);
    /* Outside a pipeline too: a read of key3 is asked for on `from`. */
    ASSERT_OK(reds_get(c, reds_cstr(key3), &got));
    ASSERT_STR(got, "asked");
    reds_free(got);
    ASSERT_OK(reds_cluster_get_stats(c, &st0));
    ck_assert_uint_eq(st0.ask - st1.ask, 1);
    /* A transaction on a new key of the slot: refused with ASK when queued
     * (so nothing ran), then sent to the importing node after ASKING,
     * which holds for the whole MULTI ... EXEC. */
    reds_client *tx = NULL;
    ASSERT_OK(reds_pipeline_new(c, true, &tx));
    char key4[80];
    snprintf(key4, sizeof key4, "{%s}.4", key);
    int64_t len4 = 0;
    ASSERT_OK(reds_set(tx, reds_cstr(key4), REDS_STR("in a transaction"), NULL, NULL));
    ASSERT_OK(reds_strlen(tx, reds_cstr(key4), &len4));
    ASSERT_OK(reds_pipeline_execute(tx));
    ck_assert_int_eq(len4, 16);
    ASSERT_OK(reds_cluster_get_stats(c, &st1));
    ck_assert_uint_eq(st1.ask - st0.ask, 1);
    ck_assert_int_eq(countkeysinslot(from, slot), 2); /* key3 and key4 */
    reds_client_free(tx);
    /* Finish the move back. */
    migrate_keys(to, from, slot);
    assign_slot(slot, to, from);
    settled();
    ASSERT_OK(reds_get(c, reds_cstr(key2), &got));
    ASSERT_STR(got, "after");
    reds_free(got);
    reds_client_free(p);
    reds_client_free(c);
}
END_TEST

typedef struct finisher {
    pthread_t t;
    int slot, from, to;
    const char *key;
} finisher;

/* Complete a migration a moment later, while a command waits for it. */
static void *finish_migration(void *arg)
{
    finisher *f = arg;
    sleep_ms(150);
    migrate_keys(f->from, f->to, f->slot);
    assign_slot(f->slot, f->from, f->to);
    return NULL;
}

START_TEST(tryagain_retried_with_backoff)
{
    ASSERT_OK(reds_flushall(C, NULL));
    int slot = reds_cluster_hash_slot(REDS_STR("{ta}"));
    int from = owner_of_slot(slot), to = other_primary(from);
    ASSERT_OK(reds_set(C, REDS_STR("{ta}1"), REDS_STR("one"), NULL, NULL));
    ASSERT_OK(reds_set(C, REDS_STR("{ta}2"), REDS_STR("two"), NULL, NULL));
    /* Mid-migration: {ta}1 has moved, {ta}2 not yet. A command on both
     * keys can run on neither node: TRYAGAIN. */
    setslot(to, slot, "importing", from);
    setslot(from, slot, "migrating", to);
    reds_client *d = direct(FC.node[from].port);
    char port[16];
    snprintf(port, sizeof port, "%d", FC.node[to].port);
    reds_free(test_run(d, "MIGRATE", "127.0.0.1", port, "", "0", "5000", "KEYS", "{ta}1", NULL));
    reds_client_free(d);
    reds_str both[] = {REDS_STR("{ta}1"), REDS_STR("{ta}2")};
    reds_cluster_options few = {.max_redirects = 3};
    reds_client *c = cluster_client(&few);
    reds_cluster_stats s0, s1;
    ASSERT_OK(reds_cluster_get_stats(c, &s0));
    reds_strlist *l = NULL;
    ASSERT_ERR(reds_mget(c, both, 2, &l), REDS_ERR_TRYAGAIN);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "MGET: TRYAGAIN"));
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "(after 3 redirections)"));
    ASSERT_OK(reds_cluster_get_stats(c, &s1));
    ck_assert_uint_eq(s1.tryagain - s0.tryagain, 4); /* the first try and 3 more */
    /* With the default 16, the backoff outlasts the migration's end. */
    finisher f = {0, slot, from, to, NULL};
    ck_assert_int_eq(pthread_create(&f.t, NULL, finish_migration, &f), 0);
    ASSERT_OK(reds_cluster_get_stats(C, &s0));
    long long t0 = now_ms();
    ASSERT_OK(reds_mget(C, both, 2, &l));
    long long took = now_ms() - t0;
    pthread_join(f.t, NULL);
    ASSERT_OK(reds_cluster_get_stats(C, &s1));
    ASSERT_STR(&l->items[0], "one");
    ASSERT_STR(&l->items[1], "two");
    reds_free(l);
    printf("TRYAGAIN: MGET waited %lld ms for the migration, %llu TRYAGAIN retried\n", took,
           (unsigned long long)(s1.tryagain - s0.tryagain));
    ck_assert_uint_ge(s1.tryagain - s0.tryagain, 1);
    settled();
    reds_client_free(c);
}
END_TEST

static reds_err bump(reds_client *pipe, void *udata, void **value)
{
    (void)value;
    reds_str *v = NULL;
    reds_err err = reds_get(pipe, REDS_STR("{tx}counter"), &v);
    if (err)
        return err;
    long long n = v ? atoll(v->ptr) : 0;
    reds_free(v);
    char text[32];
    snprintf(text, sizeof text, "%lld", n + 1);
    if ((err = reds_pipeline_multi(pipe)) != REDS_OK)
        return err;
    (*(int *)udata)++;
    return reds_set(pipe, REDS_STR("{tx}counter"), reds_cstr(text), NULL, NULL);
}

START_TEST(transaction_in_one_slot)
{
    ASSERT_OK(reds_flushall(C, NULL));
    reds_client *t = NULL;
    ASSERT_OK(reds_pipeline_new(C, true, &t));
    int64_t n = 0;
    reds_str *v = NULL;
    ASSERT_OK(reds_set(t, REDS_STR("{tx}a"), REDS_STR("1"), NULL, NULL));
    ASSERT_OK(reds_incr(t, REDS_STR("{tx}b"), &n));
    ASSERT_OK(reds_get(t, REDS_STR("{tx}a"), &v));
    ASSERT_ERR(reds_get(t, REDS_STR("other"), &v), REDS_ERR_CROSSSLOT);
    ck_assert_str_eq(reds_errmsg(), "GET: a transaction on a cluster keeps its keys in one slot "
                                    "(slot 15106 so far, this key is in 11361)");
    ck_assert_uint_eq(reds_pipeline_count(t), 3);
    ASSERT_OK(reds_pipeline_execute(t));
    ck_assert_int_eq(n, 1);
    ASSERT_STR(v, "1");
    reds_free(v);
    /* A command the table does not know, refused when queued: named as
     * the user sent it. */
    reds_str nosuch[] = {REDS_STR("NOSUCH"), REDS_STR("x")};
    ASSERT_OK(reds_get(t, REDS_STR("{tx}a"), NULL));
    ASSERT_OK(reds_execute_command(t, 2, nosuch, NULL));
    ASSERT_ERR(reds_pipeline_execute(t), REDS_ERR_EXECABORT);
    ck_assert_str_eq(reds_errmsg(), "command 2 of 2 (NOSUCH): ERR unknown command 'NOSUCH', with "
                                    "args beginning with: 'x'  (EXECABORT Transaction discarded "
                                    "because of previous errors.)");
    const char *msg;
    ASSERT_ERR(reds_pipeline_result(t, 1, &msg), REDS_ERR_RESPONSE);
    ck_assert_str_eq(msg, "NOSUCH: ERR unknown command 'NOSUCH', with args beginning with: 'x' ");
    /* The transaction ran on the slot's node, as a MULTI/EXEC. */
    size_t owner;
    ASSERT_OK(reds_cluster_locate(C, REDS_STR("{tx}a"), &owner, NULL));
    reds_client *d = direct(fixture_of(C, owner) >= 0 ? FC.node[fixture_of(C, owner)].port : 0);
    ck_assert_int_gt(calls_of(d, "exec"), 0);
    reds_client_free(d);

    /* The slot moves under the client: the refused transaction (nothing
     * ran) is sent again to the new owner. */
    reds_client *c = cluster_client(NULL);
    reds_client *t2 = NULL;
    ASSERT_OK(reds_pipeline_new(c, true, &t2));
    ASSERT_OK(reds_incr(t2, REDS_STR("{tx}b"), NULL));
    ASSERT_OK(reds_pipeline_execute(t2));
    int slot = reds_cluster_hash_slot(REDS_STR("{tx}"));
    int from = owner_of_slot(slot), to = other_primary(from);
    move_slot(slot, from, to);
    reds_cluster_stats s0, s1;
    ASSERT_OK(reds_cluster_get_stats(c, &s0));
    ASSERT_OK(reds_incr(t2, REDS_STR("{tx}b"), &n));
    ASSERT_OK(reds_get(t2, REDS_STR("{tx}a"), &v));
    ASSERT_OK(reds_pipeline_execute(t2));
    ck_assert_int_eq(n, 3); /* exactly once more */
    ASSERT_STR(v, "1");
    reds_free(v);
    ASSERT_OK(reds_cluster_get_stats(c, &s1));
    ck_assert_uint_ge(s1.moved - s0.moved, 1);

    /* reds_transaction: WATCH, read, MULTI, write, EXEC, in one slot. */
    int tries = 0;
    for (int i = 0; i < 5; i++)
        ASSERT_OK(reds_transaction(c, (reds_str[]){REDS_STR("{tx}counter")}, 1, bump, &tries, NULL,
                                   NULL));
    ASSERT_OK(reds_get(C, REDS_STR("{tx}counter"), &v));
    ASSERT_STR(v, "5");
    reds_free(v);
    ck_assert_int_eq(tries, 5);
    ASSERT_ERR(reds_pipeline_watch(t2, (reds_str[]){REDS_STR("{tx}a"), REDS_STR("b")}, 2),
               REDS_ERR_CROSSSLOT);
    /* A watched key changed by someone else: WatchError, nothing ran. */
    ASSERT_OK(reds_pipeline_watch(t2, (reds_str[]){REDS_STR("{tx}a")}, 1));
    ASSERT_OK(reds_set(C, REDS_STR("{tx}a"), REDS_STR("changed"), NULL, NULL));
    ASSERT_OK(reds_pipeline_multi(t2));
    ASSERT_OK(reds_set(t2, REDS_STR("{tx}a"), REDS_STR("mine"), NULL, NULL));
    ASSERT_ERR(reds_pipeline_execute(t2), REDS_ERR_WATCH);
    ASSERT_OK(reds_get(C, REDS_STR("{tx}a"), &v));
    ASSERT_STR(v, "changed");
    reds_free(v);
    move_slot(slot, to, from);
    settled();
    reds_client_free(t2);
    reds_client_free(c);
    reds_client_free(t);
}
END_TEST

/* A handle subscribed to shard channel `ch`, with nothing to read yet. */
static reds_pubsub *shard_subscriber(reds_client *c, reds_str ch)
{
    reds_pubsub_options po = {.ignore_subscribe_messages = true};
    reds_pubsub *ps = NULL;
    ASSERT_OK(reds_cluster_pubsub_new(c, ch, &po, &ps));
    ASSERT_OK(reds_pubsub_ssubscribe(ps, &ch, 1, NULL, NULL));
    reds_pubsub_message *msg = NULL;
    ASSERT_OK(reds_pubsub_get_message(ps, 500, &msg));
    ck_assert_ptr_null(msg);
    return ps;
}

START_TEST(shard_channels_and_channels)
{
    /* SSUBSCRIBE on the shard of the channel's slot; SPUBLISH routed there. */
    reds_pubsub_options po = {.ignore_subscribe_messages = true};
    reds_str ch = REDS_STR("news{s1}");
    reds_pubsub *ps = shard_subscriber(C, ch);
    reds_pubsub_message *msg = NULL;
    int64_t receivers = -1;
    ASSERT_OK(reds_spublish(C, ch, REDS_STR("hello shard"), &receivers));
    ck_assert_int_eq(receivers, 1);
    long long deadline = now_ms() + 5000;
    while (!msg && now_ms() < deadline)
        ASSERT_OK(reds_pubsub_get_message(ps, 200, &msg));
    ck_assert_ptr_nonnull(msg);
    ck_assert_int_eq(msg->kind, REDS_PUBSUB_SMESSAGE);
    ck_assert(str_eq(msg->channel, "news{s1}"));
    ck_assert(str_eq(msg->data, "hello shard"));
    reds_free(msg);
    reds_pubsub_close(ps);

    /* SUBSCRIBE on the default node hears a PUBLISH sent to any node. */
    ASSERT_OK(reds_pubsub_new(C, &po, &ps));
    reds_str plain = REDS_STR("plain");
    ASSERT_OK(reds_pubsub_subscribe(ps, &plain, 1, NULL, NULL));
    msg = NULL;
    ASSERT_OK(reds_pubsub_get_message(ps, 500, &msg));
    ck_assert_ptr_null(msg);
    reds_cluster_member_list *m = NULL;
    ASSERT_OK(reds_cluster_members(C, &m));
    for (size_t i = 0; i < m->count; i++) {
        char text[32];
        snprintf(text, sizeof text, "from %zu", i);
        ASSERT_OK(reds_publish(reds_cluster_node_client(C, i), plain, reds_cstr(text), NULL));
        msg = NULL;
        deadline = now_ms() + 5000;
        while (!msg && now_ms() < deadline)
            ASSERT_OK(reds_pubsub_get_message(ps, 200, &msg));
        ck_assert_ptr_nonnull(msg);
        ck_assert_int_eq(msg->kind, REDS_PUBSUB_MESSAGE);
        ck_assert(str_eq(msg->data, text));
        reds_free(msg);
    }
    reds_pubsub_close(ps);

    /* SUBSCRIBE on a chosen node (here a replica) through its own client;
     * a channel of its own, as the cluster bus may still be carrying the
     * messages above. */
    size_t chosen = 0;
    for (size_t i = 0; i < m->count; i++)
        if (m->items[i].replica)
            chosen = i;
    plain = REDS_STR("chosen");
    ASSERT_OK(reds_pubsub_new(reds_cluster_node_client(C, chosen), &po, &ps));
    ASSERT_OK(reds_pubsub_subscribe(ps, &plain, 1, NULL, NULL));
    msg = NULL;
    ASSERT_OK(reds_pubsub_get_message(ps, 500, &msg));
    ck_assert_ptr_null(msg);
    ASSERT_OK(reds_publish(C, plain, REDS_STR("to the chosen one"), NULL));
    deadline = now_ms() + 5000;
    while (!msg && now_ms() < deadline)
        ASSERT_OK(reds_pubsub_get_message(ps, 200, &msg));
    ck_assert_ptr_nonnull(msg);
    ck_assert_msg(str_eq(msg->data, "to the chosen one"), "kind %d, data '%.*s'", (int)msg->kind,
                  (int)msg->data.len, msg->data.ptr);
    reds_free(msg);
    reds_pubsub_close(ps);
    reds_free(m);
}
END_TEST

START_TEST(scripts_and_dedicated)
{
    ASSERT_OK(reds_flushall(C, NULL));
    /* A script object: EVALSHA routed by its keys, loaded on NOSCRIPT. */
    reds_script *s = NULL;
    ASSERT_OK(reds_script_new(C, REDS_STR("return redis.call('incrby', KEYS[1], ARGV[1])"), &s));
    reds_client *everyone = NULL;
    ASSERT_OK(reds_cluster_target(C, REDS_CLUSTER_ALL_NODES, 0, &everyone));
    ASSERT_OK(reds_script_flush(everyone, NULL));
    for (int i = 0; i < 20; i++) {
        char key[16];
        snprintf(key, sizeof key, "sc:%d", i);
        reds_str k = reds_cstr(key), a = REDS_STR("5");
        reds_reply *r = NULL;
        ASSERT_OK(reds_script_call(s, C, &k, 1, &a, 1, &r));
        ck_assert_int_eq(r->integer, 5);
        reds_free(r);
    }
    reds_script_free(s);
    /* A dedicated connection goes to the default node. */
    reds_client *d = NULL;
    ASSERT_OK(reds_client_dedicated(C, &d));
    ASSERT_OK(reds_client_setname(d, REDS_STR("dedicated")));
    reds_str *name = NULL;
    ASSERT_OK(reds_client_getname(d, &name));
    ASSERT_STR(name, "dedicated");
    reds_free(name);
    reds_client_free(d);
    reds_client_free(everyone);
}
END_TEST

/* --------------------------------------------------------- under change */

#define THREADS 4

typedef struct worker {
    pthread_t t;
    int id;
    reds_client *c;
    int lo, hi; /* most keys in these slots: the ones that move */
    atomic_bool *stop;
    long ops, errors, wrong;
    char first_error[256];
    int n;       /* keys written */
    char **keys; /* written keys */
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    unsigned n = 0;
    int cap = 1 << 16;
    w->keys = malloc((size_t)cap * sizeof *w->keys);
    while (!atomic_load(w->stop) && w->n < cap) {
        char key[64], val[64];
        char prefix[16];
        snprintf(prefix, sizeof prefix, "rs%d", w->id);
        if (w->n % 4 == 3)
            key_in(key, sizeof key, prefix, 0, 16383, &n);
        else
            key_in(key, sizeof key, prefix, w->lo, w->hi, &n);
        snprintf(val, sizeof val, "v:%d:%d:%s", w->id, w->n, key);
        bool set = false;
        reds_err err = reds_set(w->c, reds_cstr(key), reds_cstr(val), NULL, &set);
        w->ops++;
        if (err || !set) {
            if (!w->errors++)
                snprintf(w->first_error, sizeof w->first_error, "SET %s: %s", key, reds_errmsg());
            continue;
        }
        w->keys[w->n++] = strdup(key);
        reds_str *got = NULL;
        err = reds_get(w->c, reds_cstr(key), &got);
        w->ops++;
        if (err) {
            if (!w->errors++)
                snprintf(w->first_error, sizeof w->first_error, "GET %s: %s", key, reds_errmsg());
        } else if (!got || got->len != strlen(val) || memcmp(got->ptr, val, got->len)) {
            w->wrong++;
        }
        reds_free(got);
    }
    return NULL;
}

START_TEST(resharding_under_load)
{
    ASSERT_OK(reds_flushall(C, NULL));
    settled();
    /* Move the first MOVE slots of the primary serving slot 0 to another;
     * redis-cli reshard takes a source's slots from its lowest. */
    enum { MOVE = 500 };
    int from = owner_of_slot(0), to = other_primary(from);
    reds_options no = {.socket_timeout_ms = 5000};
    reds_cluster_options co = {.node = &no};
    reds_client *c = cluster_client(&co);
    atomic_bool stop;
    atomic_init(&stop, false);
    worker w[THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < THREADS; i++) {
        w[i].id = i;
        w[i].c = c;
        w[i].lo = 0;
        w[i].hi = MOVE - 1;
        w[i].stop = &stop;
        ck_assert_int_eq(pthread_create(&w[i].t, NULL, work, &w[i]), 0);
    }
    sleep_ms(300);
    long long t0 = now_ms();
    char slots[16];
    snprintf(slots, sizeof slots, "%d", MOVE);
    char seed[32];
    snprintf(seed, sizeof seed, "127.0.0.1:%d", FC.node[from].port);
    const char *args[] = {"--cluster", "reshard",       seed,      "--cluster-from",
                          FC.id[from], "--cluster-to",  FC.id[to], "--cluster-slots",
                          slots,       "--cluster-yes", NULL};
    int rc = fixture_cluster_cli(&FC, args);
    long long took = now_ms() - t0;
    sleep_ms(500); /* and on the new layout a while */
    atomic_store(&stop, true);
    long ops = 0, errors = 0, wrong = 0, keys = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(w[i].t, NULL);
        ops += w[i].ops;
        errors += w[i].errors;
        wrong += w[i].wrong;
        keys += w[i].n;
    }
    ck_assert_msg(rc == 0, "redis-cli --cluster reshard failed (log in %s/cli.log)",
                  FC.node[0].dir);
    for (int s = 0; s < MOVE; s++)
        ck_assert_int_eq(owner_of_slot(s), to);
    reds_cluster_stats st;
    ASSERT_OK(reds_cluster_get_stats(c, &st));
    printf("resharding %d slots under load: %ld ms, %ld commands from %d threads, "
           "%llu MOVED, %llu ASK, %llu TRYAGAIN, %llu map reloads, %ld errors, %ld wrong "
           "replies\n",
           MOVE, (long)took, ops, THREADS, (unsigned long long)st.moved, (unsigned long long)st.ask,
           (unsigned long long)st.tryagain, (unsigned long long)st.refreshes, errors, wrong);
    for (int i = 0; i < THREADS; i++)
        ck_assert_msg(!w[i].errors, "thread %d: %ld errors, first: %s", i, w[i].errors,
                      w[i].first_error);
    ck_assert_int_eq(wrong, 0);
    ck_assert_uint_gt(st.moved, 0);
    /* Zero lost writes: every acknowledged key holds its value, read by a
     * fresh client. */
    reds_client *check = cluster_client(NULL);
    long lost = 0;
    for (int i = 0; i < THREADS; i++) {
        for (int k = 0; k < w[i].n; k++) {
            char val[64];
            snprintf(val, sizeof val, "v:%d:%d:%s", i, k, w[i].keys[k]);
            reds_str *got = NULL;
            ASSERT_OK(reds_get(check, reds_cstr(w[i].keys[k]), &got));
            if (!got || !str_eq(*got, val))
                lost++;
            reds_free(got);
            free(w[i].keys[k]);
        }
        free(w[i].keys);
    }
    int64_t size = 0;
    ASSERT_OK(reds_dbsize(check, &size));
    printf("resharding: %ld keys written, %ld lost, DBSIZE %lld\n", keys, lost, (long long)size);
    ck_assert_int_eq(lost, 0);
    ck_assert_int_eq(size, keys);
    reds_client_free(check);
    reds_client_free(c);
    settled();
}
END_TEST

START_TEST(primary_killed)
{
    ASSERT_OK(reds_flushall(C, NULL));
    settled();
    reds_options no = {.connect_timeout_ms = 500, .socket_timeout_ms = 2000};
    reds_cluster_options co = {.node = &no};
    reds_client *c = cluster_client(&co);
    size_t owner;
    ASSERT_OK(reds_cluster_locate(c, REDS_STR("{victim}"), &owner, NULL));
    int victim = fixture_of(c, owner);
    int slot = reds_cluster_hash_slot(REDS_STR("{victim}"));
    /* Its replica. */
    reds_cluster_member_list *m = NULL;
    ASSERT_OK(reds_cluster_members(c, &m));
    int heir = -1;
    for (size_t i = 0; i < m->count; i++)
        if (m->items[i].replica && m->items[i].of == owner)
            heir = fixture_cluster_index(&FC, m->items[i].port);
    reds_free(m);
    ck_assert_int_ge(heir, 0);
    /* Keys on the victim, replicated before it dies. */
    char key[64], val[64];
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof key, "{victim}%d", i);
        snprintf(val, sizeof val, "kept-%d", i);
        ASSERT_OK(reds_set(c, reds_cstr(key), reds_cstr(val), NULL, NULL));
    }
    reds_client *on = NULL;
    ASSERT_OK(reds_cluster_target(c, REDS_CLUSTER_NODE, owner, &on));
    int64_t acked = 0;
    ASSERT_OK(reds_wait(on, 1, 5000, &acked));
    ck_assert_int_eq(acked, 1);
    reds_client_free(on);
    /* A shard channel of the victim's slot, to follow the failover. */
    reds_str ch = REDS_STR("{victim}news");
    reds_pubsub *ps = shard_subscriber(c, ch);

    /* A key of another primary: its reads only fail while the cluster as
     * a whole is down (a slot without a live primary). */
    char bystander[32];
    unsigned bn = 0;
    size_t where = owner;
    while (where == owner) {
        key_in(bystander, sizeof bystander, "bystander", 0, 16383, &bn);
        ASSERT_OK(reds_cluster_locate(c, reds_cstr(bystander), &where, NULL));
    }
    ASSERT_OK(reds_set(c, reds_cstr(bystander), REDS_STR("still here"), NULL, NULL));
    long bystander_failed = 0;
    reds_err bystander_err = REDS_OK;

    reds_cluster_stats s0;
    ASSERT_OK(reds_cluster_get_stats(c, &s0));
    long long t0 = now_ms();
    fixture_kill(&FC.node[victim]);
    long long promoted = -1, recovered = -1;
    long failed = 0;
    int i = 0;
    while (recovered < 0 && now_ms() - t0 < 60000) {
        snprintf(key, sizeof key, "{victim}after-%d", i++);
        bool ok = false;
        reds_str *b = NULL;
        reds_err berr = reds_get(c, reds_cstr(bystander), &b);
        if (berr) {
            bystander_failed++;
            bystander_err = berr;
        } else {
            ASSERT_STR(b, "still here");
        }
        reds_free(b);
        reds_err err = reds_set(c, reds_cstr(key), REDS_STR("x"), NULL, &ok);
        if (promoted < 0 && fixture_cluster_role(&FC, heir) == 'm')
            promoted = now_ms() - t0;
        if (!err && ok) {
            recovered = now_ms() - t0;
        } else {
            failed++;
            sleep_ms(20);
        }
    }
    ck_assert_msg(recovered >= 0, "the client did not recover within 60 s: %s", reds_errmsg());
    while (promoted < 0 && now_ms() - t0 < 60000) {
        if (fixture_cluster_role(&FC, heir) == 'm')
            promoted = now_ms() - t0;
        sleep_ms(20);
    }
    reds_cluster_stats s1;
    ASSERT_OK(reds_cluster_get_stats(c, &s1));
    printf("primary killed: replica promoted after %lld ms (seen by the test), client "
           "recovered after %lld ms; %ld failed attempts on its keys, %ld on another "
           "primary's (last: %s); %llu connection errors, %llu CLUSTERDOWN, %llu MOVED, "
           "%llu map reloads meanwhile\n",
           promoted, recovered, failed, bystander_failed, reds_err_name(bystander_err),
           (unsigned long long)(s1.connection_errors - s0.connection_errors),
           (unsigned long long)(s1.clusterdown - s0.clusterdown),
           (unsigned long long)(s1.moved - s0.moved),
           (unsigned long long)(s1.refreshes - s0.refreshes));
    /* The replicated keys are all there, served by the heir. */
    for (int k = 0; k < 50; k++) {
        snprintf(key, sizeof key, "{victim}%d", k);
        snprintf(val, sizeof val, "kept-%d", k);
        reds_str *got = NULL;
        ASSERT_OK(reds_get(c, reds_cstr(key), &got));
        ASSERT_STR(got, val);
        reds_free(got);
    }
    ASSERT_OK(reds_cluster_locate(c, REDS_STR("{victim}"), &owner, NULL));
    ck_assert_int_eq(fixture_of(c, owner), heir);
    /* The servers agree once gossip has reached the node asked. */
    int agreed = owner_of_slot(slot);
    for (long long until = now_ms() + 10000; agreed != heir && now_ms() < until; sleep_ms(50))
        agreed = owner_of_slot(slot);
    ck_assert_int_eq(agreed, heir);
    /* The shard channel's handle reconnected to the heir. */
    test_assert_follows(c, ps, ch, true, 20000);
    reds_pubsub_close(ps);
    /* The old primary comes back as a replica of the heir. */
    ck_assert_int_eq(fixture_cluster_restart(&FC, victim), 0);
    settled();
    ck_assert_int_eq(fixture_cluster_role(&FC, victim), 's');
    ASSERT_OK(reds_cluster_refresh(c));
    ASSERT_OK(reds_cluster_members(c, &m));
    for (size_t k = 0; k < m->count; k++) {
        int f = fixture_cluster_index(&FC, m->items[k].port);
        if (f == victim)
            ck_assert(m->items[k].replica && !m->items[k].primary);
        if (f == heir)
            ck_assert(m->items[k].primary);
    }
    reds_free(m);
    reds_client_free(c);
}
END_TEST

/* ------------------------------------------------------------------ main */

static Suite *suite(void)
{
    Suite *s = suite_create("cluster");
    TCase *tc = tcase_create("at rest");
    tcase_add_test(tc, hash_slots);
    tcase_add_test(tc, members_and_bad_input);
    tcase_add_test(tc, routed_to_the_owner);
    tcase_add_test(tc, keyless_policies);
    tcase_add_test(tc, one_succeeded);
    tcase_add_test(tc, crossslot_refused);
    tcase_add_test(tc, mget_mset_split_by_slot);
    tcase_add_test(tc, reads_from_replicas);
    tcase_add_test(tc, pipeline_across_nodes);
    tcase_add_test(tc, pipeline_follows_moved_and_ask);
    tcase_add_test(tc, tryagain_retried_with_backoff);
    tcase_add_test(tc, transaction_in_one_slot);
    tcase_add_test(tc, shard_channels_and_channels);
    tcase_add_test(tc, scripts_and_dedicated);
    suite_add_tcase(s, tc);
    tc = tcase_create("under change");
    tcase_add_test(tc, resharding_under_load);
    tcase_add_test(tc, primary_killed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    long long t0 = now_ms();
    if (fixture_cluster_start(&FC) != 0)
        return 1;
    printf("cluster of %d nodes up in %lld ms\n", FIXTURE_CLUSTER_NODES, now_ms() - t0);
    int rc = 1;
    reds_host_port seed = {"127.0.0.1", FC.node[0].port};
    if (reds_cluster_new(&seed, 1, NULL, &C) == REDS_OK) {
        SRunner *sr = srunner_create(suite());
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_NORMAL);
        rc = srunner_ntests_failed(sr) ? 1 : 0;
        srunner_free(sr);
        reds_client_free(C);
    } else {
        fprintf(stderr, "reds_cluster_new: %s\n", reds_errmsg());
    }
    fixture_cluster_stop(&FC);
    return rc;
}
