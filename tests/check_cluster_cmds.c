/* The cluster group against real cluster-enabled servers: one node that
 * serves every slot (INFO, NODES, SHARDS, SLOTS, keys and slots, epochs,
 * the connection-scoped READONLY, READWRITE and ASKING), then three nodes
 * that meet, forget and meet again, replicate, migrate a slot and fail
 * over, ending in a consistent cluster. Waits poll with a deadline, so a
 * cluster that does not converge fails the test instead of hanging it. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

typedef struct node {
    fixture_server srv;
    reds_client *c;
    char id[41];
} node;

static bool str_is(const reds_str *s, const char *text)
{
    return s && s->ptr && s->len == strlen(text) && memcmp(s->ptr, text, s->len) == 0;
}

static void read_id(node *n)
{
    reds_str *id = NULL;
    ASSERT_OK(reds_cluster_myid(n->c, &id));
    ck_assert_uint_eq(id->len, 40);
    ck_assert_uint_eq(strspn(id->ptr, "0123456789abcdef"), 40);
    memcpy(n->id, id->ptr, 41);
    reds_free(id);
}

static void node_start(node *n)
{
    const char *extra[] = {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                           "--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1",
                           /* A master that lost its slots waits this long (at
                            * least 500 ms) before it serves again. */
                           "--cluster-node-timeout", "1000", NULL};
    ck_assert_int_eq(fixture_start(&n->srv, extra), 0);
    reds_options o = {.host = "127.0.0.1", .port = n->srv.port};
    ASSERT_OK(reds_client_new(&o, &n->c));
    read_id(n);
}

static void node_stop(node *n)
{
    reds_client_free(n->c);
    n->c = NULL;
    fixture_stop(&n->srv);
}

/* Poll `pred` for up to ten seconds. */
#define WAIT_FOR(pred, what)                                                                       \
    do {                                                                                           \
        bool ok_ = false;                                                                          \
        for (int i_ = 0; i_ < 1000 && !(ok_ = (pred)); i_++)                                       \
            sleep_ms(10);                                                                          \
        ck_assert_msg(ok_, "timed out waiting for %s", what);                                      \
    } while (0)

static bool state_ok(reds_client *c)
{
    reds_cluster_info_reply *ci = NULL;
    ASSERT_OK(reds_cluster_info(c, &ci));
    bool ok = str_is(&ci->cluster_state, "ok");
    reds_free(ci);
    return ok;
}

/* The node knows exactly `n` nodes, all connected, none in handshake. */
static bool knows(reds_client *c, size_t n)
{
    reds_cluster_node_list *l = NULL;
    ASSERT_OK(reds_cluster_nodes(c, &l));
    bool ok = l->count == n;
    for (size_t i = 0; ok && i < l->count; i++)
        ok = str_is(&l->items[i].link_state, "connected") &&
             !strstr(l->items[i].flags.ptr, "handshake") &&
             !strstr(l->items[i].flags.ptr, "noaddr");
    reds_free(l);
    return ok;
}

static const reds_cluster_node *find_node(const reds_cluster_node_list *l, const char *id)
{
    for (size_t i = 0; i < l->count; i++)
        if (str_is(&l->items[i].id, id))
            return &l->items[i];
    return NULL;
}

static void addr_of(const node *n, char *buf, size_t size)
{
    snprintf(buf, size, "127.0.0.1:%d@%d", n->srv.port, n->srv.port + 10000);
}

/* ------------------------------------------------------------ one node */

static node solo;

static void solo_start(void)
{
    node_start(&solo);
    ASSERT_OK(reds_cluster_addslotsrange(solo.c, &(reds_slot_range){0, 16383}, 1));
    WAIT_FOR(state_ok(solo.c), "cluster_state:ok");
}

static void solo_stop(void)
{
    node_stop(&solo);
}

START_TEST(solo_info_nodes_shards_slots)
{
    reds_cluster_info_reply *ci = NULL;
    ASSERT_OK(reds_cluster_info(solo.c, &ci));
    ASSERT_STR(&ci->cluster_state, "ok");
    ck_assert_int_eq(ci->cluster_slots_assigned, 16384);
    ck_assert_int_eq(ci->cluster_slots_ok, 16384);
    ck_assert_int_eq(ci->cluster_slots_pfail, 0);
    ck_assert_int_eq(ci->cluster_slots_fail, 0);
    ck_assert_int_eq(ci->cluster_known_nodes, 1);
    ck_assert_int_eq(ci->cluster_size, 1);
    ck_assert_int_eq(ci->cluster_my_epoch, 0);
    ck_assert_int_eq(ci->total_cluster_links_buffer_limit_exceeded, 0);
    reds_free(ci);

    /* Alone, a node has not learned its own IP yet. */
    char addr[64];
    snprintf(addr, sizeof addr, ":%d@%d", solo.srv.port, solo.srv.port + 10000);
    reds_cluster_node_list *nodes = NULL;
    ASSERT_OK(reds_cluster_nodes(solo.c, &nodes));
    ck_assert_uint_eq(nodes->count, 1);
    const reds_cluster_node *me = &nodes->items[0];
    ASSERT_STR(&me->id, solo.id);
    ASSERT_STR(&me->addr, addr);
    ASSERT_STR(&me->flags, "myself,master");
    ASSERT_STR(&me->master, "-");
    ck_assert_int_eq(me->ping_sent, 0);
    ck_assert_int_eq(me->pong_recv, 0);
    ck_assert_int_eq(me->config_epoch, 0);
    ASSERT_STR(&me->link_state, "connected");
    ck_assert_uint_eq(me->slots.count, 1);
    ASSERT_STR(&me->slots.items[0], "0-16383");
    reds_free(nodes);

    reds_cluster_shard_list *shards = NULL;
    ASSERT_OK(reds_cluster_shards(solo.c, &shards));
    ck_assert_uint_eq(shards->count, 1);
    ck_assert_uint_eq(shards->items[0].slots.count, 2);
    ck_assert_int_eq(shards->items[0].slots.items[0], 0);
    ck_assert_int_eq(shards->items[0].slots.items[1], 16383);
    ck_assert_uint_eq(shards->items[0].nnodes, 1);
    const reds_cluster_shard_node *sn = &shards->items[0].nodes[0];
    ASSERT_STR(&sn->id, solo.id);
    ck_assert_int_eq(sn->port, solo.srv.port);
    ck_assert_int_eq(sn->tls_port, 0);
    ASSERT_STR(&sn->ip, ""); /* not learned yet, as above */
    ASSERT_STR(&sn->endpoint, "");
    ASSERT_STR(&sn->role, "master");
    ck_assert_int_ge(sn->replication_offset, 0);
    ASSERT_STR(&sn->health, "online");
    reds_free(shards);

    reds_cluster_slot_range_list *slots = NULL;
    ASSERT_OK(reds_cluster_slots(solo.c, &slots));
    ck_assert_uint_eq(slots->count, 1);
    ck_assert_int_eq(slots->items[0].start, 0);
    ck_assert_int_eq(slots->items[0].end, 16383);
    ASSERT_STR(&slots->items[0].master.ip, "");
    ck_assert_int_eq(slots->items[0].master.port, solo.srv.port);
    ASSERT_STR(&slots->items[0].master.id, solo.id);
    ck_assert_uint_eq(slots->items[0].master.metadata.count, 0);
    ck_assert_uint_eq(slots->items[0].nreplicas, 0);
    reds_free(slots);

    reds_cluster_link_list *links = NULL;
    ASSERT_OK(reds_cluster_links(solo.c, &links));
    ck_assert_uint_eq(links->count, 0);
    reds_free(links);
    nodes = NULL;
    ASSERT_OK(reds_cluster_replicas(solo.c, reds_cstr(solo.id), &nodes));
    ck_assert_uint_eq(nodes->count, 0);
    reds_free(nodes);
    nodes = NULL;
    ASSERT_OK(reds_cluster_slaves(solo.c, reds_cstr(solo.id), &nodes));
    ck_assert_uint_eq(nodes->count, 0);
    reds_free(nodes);
    ASSERT_ERR(
        reds_cluster_replicas(solo.c, REDS_STR("0000000000000000000000000000000000000000"), &nodes),
        REDS_ERR_RESPONSE);

    int64_t n = -1;
    ASSERT_OK(reds_cluster_count_failure_reports(solo.c, reds_cstr(solo.id), &n));
    ck_assert_int_eq(n, 0);
    ASSERT_ERR(reds_cluster_count_failure_reports(solo.c, REDS_STR("nosuch"), &n),
               REDS_ERR_RESPONSE);

    reds_strlist *help = NULL;
    ASSERT_OK(reds_cluster_help(solo.c, &help));
    ck_assert_ptr_nonnull(strstr(help->items[0].ptr, "CLUSTER"));
    reds_free(help);
}
END_TEST

/* The slot ranges the node's own line of CLUSTER NODES lists, joined. */
static void my_slots(reds_client *c, char *buf, size_t size)
{
    reds_cluster_node_list *l = NULL;
    ASSERT_OK(reds_cluster_nodes(c, &l));
    buf[0] = '\0';
    for (size_t i = 0; i < l->count; i++) {
        if (!strstr(l->items[i].flags.ptr, "myself"))
            continue;
        for (size_t j = 0; j < l->items[i].slots.count; j++) {
            strncat(buf, j ? " " : "", size - strlen(buf) - 1);
            strncat(buf, l->items[i].slots.items[j].ptr, size - strlen(buf) - 1);
        }
    }
    reds_free(l);
}

START_TEST(solo_keys_and_slots)
{
    int64_t slot = -1, other = -2;
    ASSERT_OK(reds_cluster_keyslot(solo.c, REDS_STR("foo"), &slot));
    ck_assert_int_eq(slot, 12182);
    ASSERT_OK(reds_cluster_keyslot(solo.c, REDS_STR("{user1}:a"), &slot));
    ASSERT_OK(reds_cluster_keyslot(solo.c, REDS_STR("user1"), &other));
    ck_assert_int_eq(slot, other);

    ASSERT_OK(reds_set(solo.c, REDS_STR("{user1}:a"), REDS_STR("1"), NULL, NULL));
    ASSERT_OK(reds_set(solo.c, REDS_STR("{user1}:b"), REDS_STR("2"), NULL, NULL));
    int64_t n = -1;
    ASSERT_OK(reds_cluster_countkeysinslot(solo.c, slot, &n));
    ck_assert_int_eq(n, 2);
    reds_strlist *keys = NULL;
    ASSERT_OK(reds_cluster_getkeysinslot(solo.c, slot, 10, &keys));
    ck_assert_uint_eq(keys->count, 2);
    ck_assert((str_is(&keys->items[0], "{user1}:a") && str_is(&keys->items[1], "{user1}:b")) ||
              (str_is(&keys->items[0], "{user1}:b") && str_is(&keys->items[1], "{user1}:a")));
    reds_free(keys);
    keys = NULL;
    ASSERT_OK(reds_cluster_getkeysinslot(solo.c, slot, 1, &keys));
    ck_assert_uint_eq(keys->count, 1);
    reds_free(keys);
    ASSERT_ERR(reds_cluster_countkeysinslot(solo.c, 16384, &n), REDS_ERR_RESPONSE);

    /* Slots out and back in, one by one and by ranges. */
    ASSERT_OK(reds_cluster_delslots(solo.c, (int64_t[]){5, 6}, 2));
    ASSERT_OK(reds_cluster_delslotsrange(solo.c, (reds_slot_range[]){{100, 199}, {300, 300}}, 2));
    char buf[256];
    my_slots(solo.c, buf, sizeof buf);
    ck_assert_str_eq(buf, "0-4 7-99 200-299 301-16383");
    reds_cluster_info_reply *ci = NULL;
    ASSERT_OK(reds_cluster_info(solo.c, &ci));
    ck_assert_int_eq(ci->cluster_slots_assigned, 16384 - 2 - 101);
    reds_free(ci);
    ASSERT_ERR(reds_cluster_addslots(solo.c, (int64_t[]){0}, 1), REDS_ERR_RESPONSE); /* busy */
    ASSERT_OK(reds_cluster_addslots(solo.c, (int64_t[]){5, 6}, 2));
    ASSERT_OK(reds_cluster_addslotsrange(solo.c, (reds_slot_range[]){{100, 199}, {300, 300}}, 2));
    my_slots(solo.c, buf, sizeof buf);
    ck_assert_str_eq(buf, "0-16383");
    ASSERT_ERR(reds_cluster_addslots(solo.c, NULL, 0), REDS_ERR_DATA);

    /* FLUSHSLOTS needs an empty database. */
    ASSERT_ERR(reds_cluster_flushslots(solo.c), REDS_ERR_RESPONSE);
    ASSERT_OK(reds_flushall(solo.c, NULL));
    ASSERT_OK(reds_cluster_flushslots(solo.c));
    ci = NULL;
    ASSERT_OK(reds_cluster_info(solo.c, &ci));
    ck_assert_int_eq(ci->cluster_slots_assigned, 0);
    reds_free(ci);
    ASSERT_OK(reds_cluster_addslotsrange(solo.c, &(reds_slot_range){0, 16383}, 1));
    WAIT_FOR(state_ok(solo.c), "cluster_state:ok again");

    /* SETSLOT on a node alone: what it can and cannot do. */
    ASSERT_OK(reds_cluster_setslot(solo.c, 7, (reds_cluster_setslot_subcommand){.stable = true}));
    ASSERT_OK(reds_cluster_setslot(solo.c, 7,
                                   (reds_cluster_setslot_subcommand){.node = reds_cstr(solo.id)}));
    ASSERT_ERR(reds_cluster_setslot(
                   solo.c, 7, (reds_cluster_setslot_subcommand){.importing = reds_cstr(solo.id)}),
               REDS_ERR_RESPONSE);
    ASSERT_ERR(reds_cluster_setslot(
                   solo.c, 7, (reds_cluster_setslot_subcommand){.migrating = REDS_STR("nosuch")}),
               REDS_ERR_RESPONSE);
    ASSERT_ERR(reds_cluster_setslot(
                   solo.c, 7,
                   (reds_cluster_setslot_subcommand){.stable = true, .node = reds_cstr(solo.id)}),
               REDS_ERR_DATA);

    ASSERT_OK(reds_cluster_saveconfig(solo.c));
    char path[256];
    snprintf(path, sizeof path, "%s/nodes.conf", solo.srv.dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[512] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    ck_assert_msg(strncmp(line, solo.id, 40) == 0 || strstr(line, "myself"), "%s", line);
}
END_TEST

START_TEST(solo_connection_scoped_commands)
{
    /* READONLY, READWRITE and ASKING set state on one connection. */
    ASSERT_ERR(reds_readonly(solo.c), REDS_ERR_DATA);
    ASSERT_ERR(reds_readwrite(solo.c), REDS_ERR_DATA);
    ASSERT_ERR(reds_asking(solo.c), REDS_ERR_DATA);
    reds_client *d = NULL;
    ASSERT_OK(reds_client_dedicated(solo.c, &d));
    ASSERT_OK(reds_readonly(d));
    ASSERT_OK(reds_readwrite(d));
    ASSERT_OK(reds_asking(d));
    reds_client_free(d);
}
END_TEST

START_TEST(solo_config_epochs)
{
    ASSERT_OK(reds_cluster_set_config_epoch(solo.c, 7));
    ASSERT_ERR(reds_cluster_set_config_epoch(solo.c, 8), REDS_ERR_RESPONSE); /* has one now */
    reds_cluster_info_reply *ci = NULL;
    ASSERT_OK(reds_cluster_info(solo.c, &ci));
    ck_assert_int_eq(ci->cluster_my_epoch, 7);
    ck_assert_int_eq(ci->cluster_current_epoch, 7);
    reds_free(ci);
    /* Already the greatest epoch: nothing to bump. */
    reds_str *s = NULL;
    ASSERT_OK(reds_cluster_bumpepoch(solo.c, &s));
    ASSERT_STR(s, "STILL 7");
    reds_free(s);
}
END_TEST

/* --------------------------------------------------------- three nodes */

static bool links_ready(reds_client *c, size_t n)
{
    reds_cluster_link_list *l = NULL;
    ASSERT_OK(reds_cluster_links(c, &l));
    bool ok = l->count == n;
    reds_free(l);
    return ok;
}

/* CLUSTER SLOTS of `at` lists `replica` under `master`. */
static bool replica_listed(const node *at, const node *master, const node *replica)
{
    reds_cluster_slot_range_list *l = NULL;
    ASSERT_OK(reds_cluster_slots(at->c, &l));
    bool ok = false;
    for (size_t i = 0; i < l->count; i++)
        for (size_t j = 0; j < l->items[i].nreplicas; j++)
            ok |= str_is(&l->items[i].replicas[j].id, replica->id) &&
                  str_is(&l->items[i].master.id, master->id);
    reds_free(l);
    return ok;
}

/* CLUSTER SLOTS of `at` says `slot` is served by `owner`. */
static bool serves(const node *at, int64_t slot, const node *owner)
{
    reds_cluster_slot_range_list *l = NULL;
    ASSERT_OK(reds_cluster_slots(at->c, &l));
    bool ok = false;
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i].start <= slot && slot <= l->items[i].end)
            ok = str_is(&l->items[i].master.id, owner->id);
    reds_free(l);
    return ok;
}

static bool role_is(reds_client *c, reds_role_type type)
{
    reds_role_reply *r = NULL;
    ASSERT_OK(reds_role(c, &r));
    bool ok = r->type == type;
    reds_free(r);
    return ok;
}

START_TEST(three_nodes_meet_replicate_migrate_failover)
{
    node a, b, cc;
    node_start(&a);
    node_start(&b);
    node_start(&cc);
    ASSERT_OK(reds_cluster_addslotsrange(a.c, &(reds_slot_range){0, 16383}, 1));

    /* MEET: a introduces b and c; gossip does the rest. */
    ASSERT_OK(reds_cluster_meet(a.c, REDS_STR("127.0.0.1"), b.srv.port, NULL));
    ASSERT_OK(reds_cluster_meet(
        a.c, REDS_STR("127.0.0.1"), cc.srv.port,
        &(reds_cluster_meet_opts){.cluster_bus_port = REDS_I64(cc.srv.port + 10000)}));
    WAIT_FOR(knows(a.c, 3) && knows(b.c, 3) && knows(cc.c, 3), "three nodes that know each other");
    WAIT_FOR(state_ok(a.c) && state_ok(b.c) && state_ok(cc.c), "cluster_state:ok everywhere");

    /* REPLICATE: c follows a. */
    ASSERT_ERR(reds_cluster_replicate(a.c, reds_cstr(a.id)), REDS_ERR_RESPONSE); /* itself */
    ASSERT_OK(reds_cluster_replicate(cc.c, reds_cstr(a.id)));
    /* The cluster counts c as loading while its offset is 0: a's pings to
     * its replicas (every second here) move it on. */
    ASSERT_OK(reds_set(a.c, REDS_STR("k"), REDS_STR("v"), NULL, NULL));
    WAIT_FOR(replica_listed(&a, &a, &cc) && replica_listed(&b, &a, &cc) &&
                 replica_listed(&cc, &a, &cc),
             "c to serve as a's replica");

    reds_cluster_node_list *nodes = NULL;
    ASSERT_OK(reds_cluster_nodes(a.c, &nodes));
    ck_assert_uint_eq(nodes->count, 3);
    char addr[64];
    const reds_cluster_node *n = find_node(nodes, b.id);
    ck_assert_ptr_nonnull(n);
    addr_of(&b, addr, sizeof addr);
    ASSERT_STR(&n->addr, addr);
    ASSERT_STR(&n->flags, "master");
    ASSERT_STR(&n->master, "-");
    ck_assert_uint_eq(n->slots.count, 0);
    n = find_node(nodes, cc.id);
    ASSERT_STR(&n->flags, "slave");
    ASSERT_STR(&n->master, a.id);
    ck_assert_int_gt(n->pong_recv, 0);
    n = find_node(nodes, a.id);
    ASSERT_STR(&n->flags, "myself,master");
    ASSERT_STR(&n->slots.items[0], "0-16383");
    reds_free(nodes);

    /* REPLICAS and its old name SLAVES: c's line, as in CLUSTER NODES. */
    nodes = NULL;
    ASSERT_OK(reds_cluster_replicas(a.c, reds_cstr(a.id), &nodes));
    ck_assert_uint_eq(nodes->count, 1);
    ASSERT_STR(&nodes->items[0].id, cc.id);
    ASSERT_STR(&nodes->items[0].master, a.id);
    reds_free(nodes);
    nodes = NULL;
    ASSERT_OK(reds_cluster_slaves(b.c, reds_cstr(a.id), &nodes));
    ck_assert_uint_eq(nodes->count, 1);
    ASSERT_STR(&nodes->items[0].id, cc.id);
    reds_free(nodes);

    reds_cluster_shard_list *shards = NULL;
    ASSERT_OK(reds_cluster_shards(a.c, &shards));
    ck_assert_uint_eq(shards->count, 2);
    for (size_t i = 0; i < shards->count; i++) {
        const reds_cluster_shard *sh = &shards->items[i];
        if (str_is(&sh->nodes[0].id, b.id)) {
            ck_assert_uint_eq(sh->slots.count, 0);
            ck_assert_uint_eq(sh->nnodes, 1);
            ASSERT_STR(&sh->nodes[0].role, "master");
            continue;
        }
        ck_assert_uint_eq(sh->slots.count, 2);
        ck_assert_int_eq(sh->slots.items[1], 16383);
        ck_assert_uint_eq(sh->nnodes, 2);
        for (size_t j = 0; j < 2; j++) {
            const reds_cluster_shard_node *sn = &sh->nodes[j];
            bool is_a = str_is(&sn->id, a.id);
            ck_assert(is_a || str_is(&sn->id, cc.id));
            ASSERT_STR(&sn->role, is_a ? "master" : "replica");
            ck_assert_int_eq(sn->port, is_a ? a.srv.port : cc.srv.port);
            ASSERT_STR(&sn->health, "online");
        }
    }
    reds_free(shards);

    reds_cluster_slot_range_list *slots = NULL;
    ASSERT_OK(reds_cluster_slots(b.c, &slots));
    ck_assert_uint_eq(slots->count, 1);
    ASSERT_STR(&slots->items[0].master.id, a.id);
    ck_assert_uint_eq(slots->items[0].nreplicas, 1);
    ASSERT_STR(&slots->items[0].replicas[0].id, cc.id);
    ck_assert_int_eq(slots->items[0].replicas[0].port, cc.srv.port);
    reds_free(slots);

    /* Two links per peer: one each way. */
    WAIT_FOR(links_ready(a.c, 4), "four cluster bus links on a");
    reds_cluster_link_list *links = NULL;
    ASSERT_OK(reds_cluster_links(a.c, &links));
    int to = 0, from = 0;
    for (size_t i = 0; i < links->count; i++) {
        const reds_cluster_link *l = &links->items[i];
        ck_assert(str_is(&l->node, b.id) || str_is(&l->node, cc.id));
        to += str_is(&l->direction, "to");
        from += str_is(&l->direction, "from");
        ck_assert_int_gt(l->create_time, 1600000000000);
        ck_assert_ptr_nonnull(strchr(l->events.ptr, 'r'));
        ck_assert_int_ge(l->send_buffer_allocated, l->send_buffer_used);
    }
    ck_assert(to == 2 && from == 2);
    reds_free(links);
    int64_t reports = -1;
    ASSERT_OK(reds_cluster_count_failure_reports(a.c, reds_cstr(b.id), &reports));
    ck_assert_int_eq(reports, 0);

    /* READONLY: the replica serves reads of its master's slots. */
    reds_client *onc = NULL;
    ASSERT_OK(reds_client_dedicated(cc.c, &onc));
    reds_str *v = NULL;
    ASSERT_ERR(reds_get(onc, REDS_STR("k"), &v), REDS_ERR_MOVED);
    ASSERT_OK(reds_readonly(onc));
    for (int i = 0; i < 500 && !v; i++) {
        ASSERT_OK(reds_get(onc, REDS_STR("k"), &v));
        if (!v)
            sleep_ms(10);
    }
    ASSERT_STR(v, "v");
    reds_free(v);
    ASSERT_OK(reds_readwrite(onc));
    ASSERT_ERR(reds_get(onc, REDS_STR("k"), &v), REDS_ERR_MOVED);
    reds_client_free(onc);

    /* FORGET b everywhere, RESET it, and let it meet the cluster again
     * under a new ID. */
    ASSERT_ERR(reds_cluster_forget(a.c, reds_cstr(a.id)), REDS_ERR_RESPONSE);  /* itself */
    ASSERT_ERR(reds_cluster_forget(cc.c, reds_cstr(a.id)), REDS_ERR_RESPONSE); /* its master */
    ASSERT_OK(reds_cluster_forget(a.c, reds_cstr(b.id)));
    ASSERT_OK(reds_cluster_forget(cc.c, reds_cstr(b.id)));
    nodes = NULL;
    ASSERT_OK(reds_cluster_nodes(a.c, &nodes));
    ck_assert_uint_eq(nodes->count, 2);
    ck_assert_ptr_null(find_node(nodes, b.id));
    reds_free(nodes);
    char old_b[41];
    memcpy(old_b, b.id, sizeof old_b);
    ASSERT_OK(
        reds_cluster_reset(b.c, &(reds_cluster_reset_opts){.mode = REDS_CLUSTER_RESET_MODE_HARD}));
    read_id(&b);
    ck_assert_str_ne(b.id, old_b);
    ck_assert(knows(b.c, 1));
    ASSERT_OK(reds_cluster_meet(a.c, REDS_STR("127.0.0.1"), b.srv.port, NULL));
    WAIT_FOR(knows(a.c, 3) && knows(b.c, 3) && knows(cc.c, 3), "b to join again");
    WAIT_FOR(state_ok(b.c), "cluster_state:ok on b");

    /* Migrate one slot from a to b: IMPORTING, MIGRATING, ASKING, NODE. */
    int64_t slot = -1;
    ASSERT_OK(reds_cluster_keyslot(a.c, REDS_STR("mig"), &slot));
    ASSERT_OK(reds_cluster_setslot(
        b.c, slot, (reds_cluster_setslot_subcommand){.importing = reds_cstr(a.id)}));
    ASSERT_OK(reds_cluster_setslot(
        a.c, slot, (reds_cluster_setslot_subcommand){.migrating = reds_cstr(b.id)}));
    char expect[128], buf[256];
    my_slots(a.c, buf, sizeof buf);
    snprintf(expect, sizeof expect, "[%lld->-%s]", (long long)slot, b.id);
    ck_assert_msg(strstr(buf, expect) != NULL, "a's slots: %s", buf);
    my_slots(b.c, buf, sizeof buf);
    snprintf(expect, sizeof expect, "[%lld-<-%s]", (long long)slot, a.id);
    ck_assert_str_eq(buf, expect);
    /* A missing key in a migrating slot: ASK b. On b, only after ASKING. */
    ASSERT_ERR(reds_get(a.c, REDS_STR("mig"), NULL), REDS_ERR_ASK);
    reds_client *onb = NULL;
    ASSERT_OK(reds_client_dedicated(b.c, &onb));
    ASSERT_ERR(reds_get(onb, REDS_STR("mig"), &v), REDS_ERR_MOVED);
    ASSERT_OK(reds_asking(onb));
    v = (void *)1;
    ASSERT_OK(reds_get(onb, REDS_STR("mig"), &v));
    ck_assert_ptr_null(v);
    reds_client_free(onb);
    ASSERT_OK(reds_cluster_setslot(b.c, slot,
                                   (reds_cluster_setslot_subcommand){.node = reds_cstr(b.id)}));
    ASSERT_OK(reds_cluster_setslot(a.c, slot,
                                   (reds_cluster_setslot_subcommand){.node = reds_cstr(b.id)}));
    WAIT_FOR(serves(&a, slot, &b) && serves(&b, slot, &b) && serves(&cc, slot, &b),
             "b to own the slot everywhere");
    slots = NULL;
    ASSERT_OK(reds_cluster_slots(a.c, &slots));
    ck_assert_uint_eq(slots->count, 3);
    reds_free(slots);
    ASSERT_ERR(reds_get(a.c, REDS_STR("mig"), NULL), REDS_ERR_MOVED);

    /* CLUSTER FAILOVER: only a replica may; TAKEOVER needs no agreement. */
    ASSERT_ERR(reds_cluster_failover(a.c, NULL), REDS_ERR_RESPONSE);
    ASSERT_OK(reds_cluster_failover(
        cc.c, &(reds_cluster_failover_opts){.mode = REDS_CLUSTER_FAILOVER_MODE_TAKEOVER}));
    WAIT_FOR(role_is(cc.c, REDS_ROLE_MASTER) && role_is(a.c, REDS_ROLE_REPLICA),
             "c to take over from a");
    WAIT_FOR(serves(&b, 0, &cc) && serves(&a, 0, &cc) && serves(&cc, 0, &cc),
             "every node to see c as master");
    WAIT_FOR(state_ok(a.c) && state_ok(b.c) && state_ok(cc.c),
             "cluster_state:ok after the failover");
    reds_str *bumped = NULL;
    ASSERT_OK(reds_cluster_bumpepoch(b.c, &bumped));
    ck_assert_msg(strncmp(bumped->ptr, "BUMPED ", 7) == 0, "%s", bumped->ptr);
    reds_free(bumped);

    node_stop(&a);
    node_stop(&b);
    node_stop(&cc);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cluster_cmds");
    TCase *tc = tcase_create("one_node");
    tcase_set_timeout(tc, 30);
    tcase_add_unchecked_fixture(tc, solo_start, solo_stop);
    tcase_add_test(tc, solo_info_nodes_shards_slots);
    tcase_add_test(tc, solo_keys_and_slots);
    tcase_add_test(tc, solo_connection_scoped_commands);
    tcase_add_test(tc, solo_config_epochs);
    suite_add_tcase(s, tc);
    tc = tcase_create("three_nodes");
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, three_nodes_meet_replicate_migrate_failover);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), false);
}
