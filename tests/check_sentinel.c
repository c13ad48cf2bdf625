/* Sentinel: every bound SENTINEL command against real Sentinels with exact
 * values; discovery, MasterNotFound and SlaveNotFound; replicas
 * round-robin with the master as fallback; and failovers (SENTINEL
 * FAILOVER, and killing the master) under a writer loop, with a pub/sub
 * handle that must follow the master.
 *
 * The suite runs without forking (CK_NOFORK): the Sentinel set is started
 * once, and failovers change which server is the master for the tests
 * after them, which find it through the Sentinels. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "fixture_sentinel.h"
#include "testutil.h"

#define SERVICE "reds-svc"

static fixture_sentinel_set set;
static fixture_server lone; /* a Sentinel of its own, monitoring "ghost" */
static int ghost_port;      /* where nothing listens */
static reds_sentinel *S;

static reds_client *direct(int port)
{
    reds_options o = {
        .host = "127.0.0.1", .port = port, .connect_timeout_ms = 1000, .socket_timeout_ms = 2000};
    reds_client *c = NULL;
    ASSERT_OK(reds_client_new(&o, &c));
    return c;
}

static int master_index(void)
{
    int m = fixture_sentinel_settled(&set, 1, 30000);
    ck_assert_msg(m >= 0, "the Sentinel set did not settle");
    return m;
}

/* The port of the server `c` reaches on a fresh connection. */
static int port_of(reds_client *c)
{
    ASSERT_OK(reds_pool_disconnect(c));
    reds_str name = REDS_STR("port");
    reds_map *m = NULL;
    ASSERT_OK(reds_config_get(c, &name, 1, &m));
    ck_assert_uint_eq(m->count, 1);
    int port = atoi(m->items[0].value.ptr);
    reds_free(m);
    return port;
}

/* ----------------------------------------------------------- the commands */

START_TEST(masters_and_master)
{
    int m = master_index(), r = 1 - m;
    reds_client *s0 = reds_sentinel_node(S, 0);
    reds_sentinel_master_state_list *all = NULL;
    ASSERT_OK(reds_sentinel_masters(s0, &all));
    ck_assert_uint_eq(all->count, 1);
    reds_sentinel_master_state *st = &all->items[0];
    ASSERT_STR(&st->name, SERVICE);
    ASSERT_STR(&st->ip, "127.0.0.1");
    ck_assert_int_eq(st->port, set.data[m].port);
    ASSERT_STR(&st->flags, "master");
    ASSERT_STR(&st->role_reported, "master");
    ck_assert_int_eq(st->runid.len, 40);
    ck_assert_int_eq(st->quorum, 2);
    ck_assert_int_eq(st->down_after_milliseconds, FIXTURE_DOWN_AFTER_MS);
    ck_assert_int_eq(st->failover_timeout, FIXTURE_FAILOVER_TIMEOUT_MS);
    ck_assert_int_eq(st->parallel_syncs, 1);
    ck_assert_int_eq(st->num_slaves, 1);
    ck_assert_int_eq(st->num_other_sentinels, 2);
    ck_assert_int_eq(st->link_pending_commands >= 0, 1);
    reds_free(all);

    reds_sentinel_master_state *one = NULL;
    ASSERT_OK(reds_sentinel_master(s0, REDS_STR(SERVICE), &one));
    ASSERT_STR(&one->name, SERVICE);
    ck_assert_int_eq(one->port, set.data[m].port);
    reds_free(one);
    ASSERT_ERR(reds_sentinel_master(s0, REDS_STR("nope"), &one), REDS_ERR_RESPONSE);
    ck_assert_str_eq(reds_errmsg(), "SENTINEL MASTER: ERR No such master with that name");
    ck_assert_ptr_null(one);
    (void)r;
}
END_TEST

START_TEST(get_master_addr_by_name)
{
    int m = master_index();
    reds_sentinel_master_addr *a = NULL;
    for (int i = 0; i < FIXTURE_SENTINELS; i++) {
        ASSERT_OK(reds_sentinel_get_master_addr_by_name(reds_sentinel_node(S, (size_t)i),
                                                        REDS_STR(SERVICE), &a));
        ASSERT_STR(&a->ip, "127.0.0.1");
        ck_assert_int_eq(a->port, set.data[m].port);
        reds_free(a);
    }
    a = (reds_sentinel_master_addr *)&a;
    ASSERT_OK(
        reds_sentinel_get_master_addr_by_name(reds_sentinel_node(S, 0), REDS_STR("nope"), &a));
    ck_assert_ptr_null(a); /* nil: unknown */
}
END_TEST

START_TEST(primary_names_on_valkey)
{
    /* Valkey 8.0 also answers under "primary" names, with the same replies. */
    TEST_SKIP_ON(FIXTURE_REDIS, "SENTINEL PRIMARY, PRIMARIES, GET-PRIMARY-ADDR-BY-NAME and "
                                "IS-PRIMARY-DOWN-BY-ADDR are Valkey's");
    int m = master_index();
    reds_client *s0 = reds_sentinel_node(S, 0);
    reds_sentinel_master_state_list *all = NULL;
    ASSERT_OK(reds_sentinel_primaries(s0, &all));
    ck_assert_uint_eq(all->count, 1);
    ASSERT_STR(&all->items[0].name, SERVICE);
    ck_assert_int_eq(all->items[0].port, set.data[m].port);
    reds_free(all);
    reds_sentinel_master_state *one = NULL;
    ASSERT_OK(reds_sentinel_primary(s0, REDS_STR(SERVICE), &one));
    ASSERT_STR(&one->flags, "master");
    ck_assert_int_eq(one->num_other_sentinels, 2);
    reds_free(one);
    reds_sentinel_master_addr *a = NULL;
    ASSERT_OK(reds_sentinel_get_primary_addr_by_name(s0, REDS_STR(SERVICE), &a));
    ASSERT_STR(&a->ip, "127.0.0.1");
    ck_assert_int_eq(a->port, set.data[m].port);
    reds_free(a);
    reds_sentinel_vote *v = NULL;
    ASSERT_OK(reds_sentinel_is_primary_down_by_addr(s0, REDS_STR("127.0.0.1"), set.data[m].port, 0,
                                                    REDS_STR("*"), &v));
    ck_assert(!v->down);
    ASSERT_STR(&v->leader, "*");
    reds_free(v);
}
END_TEST

START_TEST(replicas_and_slaves)
{
    int m = master_index(), r = 1 - m;
    reds_client *s1 = reds_sentinel_node(S, 1);
    for (int deprecated = 0; deprecated < 2; deprecated++) {
        reds_sentinel_replica_state_list *l = NULL;
        if (deprecated)
            ASSERT_OK(reds_sentinel_slaves(s1, REDS_STR(SERVICE), &l));
        else
            ASSERT_OK(reds_sentinel_replicas(s1, REDS_STR(SERVICE), &l));
        ck_assert_uint_eq(l->count, 1);
        reds_sentinel_replica_state *x = &l->items[0];
        char name[64];
        snprintf(name, sizeof name, "127.0.0.1:%d", set.data[r].port);
        ASSERT_STR(&x->name, name);
        ASSERT_STR(&x->ip, "127.0.0.1");
        ck_assert_int_eq(x->port, set.data[r].port);
        ASSERT_STR(&x->flags, "slave");
        ASSERT_STR(&x->role_reported, "slave");
        ASSERT_STR(&x->master_host, "127.0.0.1");
        ck_assert_int_eq(x->master_port, set.data[m].port);
        ASSERT_STR(&x->master_link_status, "ok");
        ck_assert_int_eq(x->slave_priority, 100);
        ck_assert_int_eq(x->replica_announced, 1);
        ck_assert_int_eq(x->down_after_milliseconds, FIXTURE_DOWN_AFTER_MS);
        reds_free(l);
    }
    reds_sentinel_replica_state_list *l = NULL;
    ASSERT_ERR(reds_sentinel_replicas(s1, REDS_STR("nope"), &l), REDS_ERR_RESPONSE);
}
END_TEST

START_TEST(sentinels_and_myid)
{
    master_index();
    reds_str *ids[FIXTURE_SENTINELS];
    for (int i = 0; i < FIXTURE_SENTINELS; i++) {
        ASSERT_OK(reds_sentinel_myid(reds_sentinel_node(S, (size_t)i), &ids[i]));
        ck_assert_uint_eq(ids[i]->len, 40);
    }
    reds_sentinel_peer_state_list *peers = NULL;
    ASSERT_OK(reds_sentinel_sentinels(reds_sentinel_node(S, 0), REDS_STR(SERVICE), &peers));
    ck_assert_uint_eq(peers->count, 2);
    for (size_t k = 0; k < peers->count; k++) {
        const reds_sentinel_peer_state *p = &peers->items[k];
        int i = p->port == set.sentinel[1].port ? 1 : 2;
        ck_assert_int_eq(p->port, set.sentinel[i].port);
        ASSERT_STR(&p->ip, "127.0.0.1");
        ASSERT_STR(&p->flags, "sentinel");
        ASSERT_STR(&p->runid, ids[i]->ptr);
        ASSERT_STR(&p->name, ids[i]->ptr);
        ck_assert_int_eq(p->down_after_milliseconds, FIXTURE_DOWN_AFTER_MS);
    }
    ck_assert_int_ne(peers->items[0].port, peers->items[1].port);
    reds_free(peers);
    for (int i = 0; i < FIXTURE_SENTINELS; i++)
        reds_free(ids[i]);
}
END_TEST

START_TEST(ckquorum_help_flushconfig)
{
    master_index();
    reds_client *s2 = reds_sentinel_node(S, 2);
    reds_str *verdict = NULL;
    ASSERT_OK(reds_sentinel_ckquorum(s2, REDS_STR(SERVICE), &verdict));
    ASSERT_STR(verdict, "OK 3 usable Sentinels. Quorum and failover authorization can be reached");
    reds_free(verdict);
    ASSERT_ERR(reds_sentinel_ckquorum(s2, REDS_STR("nope"), &verdict), REDS_ERR_RESPONSE);
    ck_assert_str_eq(reds_errmsg(), "SENTINEL CKQUORUM: ERR No such master with that name");
    reds_strlist *help = NULL;
    ASSERT_OK(reds_sentinel_help(s2, &help));
    ASSERT_STR(&help->items[0],
               "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    ASSERT_STR(&help->items[1], ON_SERVER("CKQUORUM <master-name>", "CKQUORUM <primary-name>"));
    reds_free(help);
    ASSERT_OK(reds_sentinel_flushconfig(s2));
    /* The rewritten file monitors the service. */
    char path[256], text[4096];
    snprintf(path, sizeof path, "%s/sentinel.conf", set.sentinel[2].dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "sentinel monitor " SERVICE " 127.0.0.1 "));
}
END_TEST

START_TEST(info_cache_and_vote)
{
    int m = master_index();
    reds_client *s0 = reds_sentinel_node(S, 0);
    reds_str names[] = {REDS_STR(SERVICE), REDS_STR("nope")};
    reds_sentinel_cached_master_list *cache = NULL;
    ASSERT_OK(reds_sentinel_info_cache(s0, names, 2, &cache));
    ck_assert_uint_eq(cache->count, 1); /* unknown names are left out */
    ASSERT_STR(&cache->items[0].master, SERVICE);
    ck_assert_uint_eq(cache->items[0].ninstances, 2); /* the master, then its replica */
    const reds_sentinel_cached_info *mi = &cache->items[0].instances[0];
    const reds_sentinel_cached_info *ri = &cache->items[0].instances[1];
    ck_assert_ptr_nonnull(mi->info.ptr);
    ck_assert_ptr_nonnull(strstr(mi->info.ptr, "role:master\r\n"));
    char port[32];
    snprintf(port, sizeof port, "tcp_port:%d\r\n", set.data[m].port);
    ck_assert_ptr_nonnull(strstr(mi->info.ptr, port));
    ck_assert_ptr_nonnull(strstr(ri->info.ptr, "role:slave\r\n"));
    ck_assert_int_ge(mi->age_ms, 0);
    reds_free(cache);

    reds_sentinel_vote *v = NULL;
    ASSERT_OK(reds_sentinel_is_master_down_by_addr(s0, REDS_STR("127.0.0.1"), set.data[m].port, 0,
                                                   REDS_STR("*"), &v));
    ck_assert(!v->down);
    ASSERT_STR(&v->leader, "*");
    ck_assert_int_eq(v->leader_epoch, 0);
    reds_free(v);
    /* Down by its own account: a port where nothing listens is unknown. */
    ASSERT_OK(reds_sentinel_is_master_down_by_addr(s0, REDS_STR("127.0.0.1"), ghost_port, 0,
                                                   REDS_STR("*"), &v));
    ck_assert(!v->down);
    reds_free(v);

    reds_sentinel_pending_script_list *scripts = NULL;
    ASSERT_OK(reds_sentinel_pending_scripts(s0, &scripts));
    ck_assert_uint_eq(scripts->count, 0);
    reds_free(scripts);
}
END_TEST

START_TEST(config_and_debug)
{
    reds_client *s0 = reds_sentinel_node(S, 0);
    reds_str p = REDS_STR("resolve-hostnames");
    reds_map *m = NULL;
    ASSERT_OK(reds_sentinel_config_get(s0, &p, 1, &m));
    ck_assert_uint_eq(m->count, 1);
    ASSERT_STR(&m->items[0].key, "resolve-hostnames");
    ASSERT_STR(&m->items[0].value, "no");
    reds_free(m);
    reds_sentinel_config_set_set_param_value sv = {REDS_STR("announce-hostnames"), REDS_STR("no")};
    ASSERT_OK(reds_sentinel_config_set(s0, &sv, 1));
    p = REDS_STR("announce-hostnames");
    ASSERT_OK(reds_sentinel_config_get(s0, &p, 1, &m));
    ASSERT_STR(reds_map_get(m, REDS_STR("announce-hostnames")), "no");
    reds_free(m);
    sv.parameter = REDS_STR("no-such-parameter");
    ASSERT_ERR(reds_sentinel_config_set(s0, &sv, 1), REDS_ERR_RESPONSE);

    /* The fixture set these periods with reds_sentinel_debug(). */
    ASSERT_OK(reds_sentinel_debug_list(s0, &m));
    ASSERT_STR(reds_map_get(m, REDS_STR("INFO-PERIOD")), "500");
    ASSERT_STR(reds_map_get(m, REDS_STR("PING-PERIOD")), "250");
    ASSERT_STR(reds_map_get(m, REDS_STR("PUBLISH-PERIOD")), "500");
    reds_free(m);
    reds_sentinel_debug_parameter_value pv = {REDS_STR("ask-period"), REDS_STR("300")};
    ASSERT_OK(reds_sentinel_debug(s0, &pv, 1));
    ASSERT_OK(reds_sentinel_debug_list(s0, &m));
    ASSERT_STR(reds_map_get(m, REDS_STR("ASK-PERIOD")), "300");
    reds_free(m);
    ASSERT_ERR(reds_sentinel_debug(s0, NULL, 0), REDS_ERR_DATA); /* nothing sent */
}
END_TEST

/* MONITOR, SET, RESET, REMOVE, FAILOVER and SIMULATE-FAILURE change what a
 * Sentinel does: on a Sentinel of its own. */
START_TEST(monitor_set_reset_remove)
{
    reds_client *c = direct(lone.port);
    ASSERT_OK(
        reds_sentinel_monitor(c, REDS_STR("other"), REDS_STR("127.0.0.1"), ghost_port + 1, 2));
    ASSERT_ERR(reds_sentinel_monitor(c, REDS_STR("other"), REDS_STR("127.0.0.1"), ghost_port, 2),
               REDS_ERR_RESPONSE);
    ck_assert_str_eq(reds_errmsg(), "SENTINEL MONITOR: ERR Duplicate master name.");
    reds_sentinel_set_option_value ov[] = {{REDS_STR("quorum"), REDS_STR("3")},
                                           {REDS_STR("down-after-milliseconds"), REDS_STR("7000")}};
    ASSERT_OK(reds_sentinel_set(c, REDS_STR("other"), ov, 2));
    reds_sentinel_master_state *st = NULL;
    ASSERT_OK(reds_sentinel_master(c, REDS_STR("other"), &st));
    ck_assert_int_eq(st->quorum, 3);
    ck_assert_int_eq(st->down_after_milliseconds, 7000);
    ck_assert_int_eq(st->port, ghost_port + 1);
    reds_free(st);
    int64_t n = -1;
    ASSERT_OK(reds_sentinel_reset(c, REDS_STR("oth*"), &n));
    ck_assert_int_eq(n, 1);
    ASSERT_OK(reds_sentinel_reset(c, REDS_STR("nomatch*"), &n));
    ck_assert_int_eq(n, 0);
    reds_sentinel_master_state_list *all = NULL;
    ASSERT_OK(reds_sentinel_masters(c, &all));
    ck_assert_uint_eq(all->count, 2); /* ghost and other */
    reds_free(all);
    ASSERT_OK(reds_sentinel_remove(c, REDS_STR("other")));
    ASSERT_ERR(reds_sentinel_remove(c, REDS_STR("other")), REDS_ERR_RESPONSE);
    ck_assert_str_eq(reds_errmsg(), "SENTINEL REMOVE: ERR No such master with that name");
    ASSERT_OK(reds_sentinel_masters(c, &all));
    ck_assert_uint_eq(all->count, 1);
    ASSERT_STR(&all->items[0].name, "ghost");
    reds_free(all);
    /* One Sentinel, quorum 2: no quorum; no replica: nothing to promote. */
    reds_str *verdict = NULL;
    ASSERT_ERR(reds_sentinel_ckquorum(c, REDS_STR("ghost"), &verdict), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "NOQUORUM 1 usable Sentinels."));
    ASSERT_ERR(reds_sentinel_failover(c, REDS_STR("ghost")), REDS_ERR_RESPONSE);
    ck_assert_str_eq(reds_errmsg(), "SENTINEL FAILOVER: NOGOODSLAVE No suitable replica to "
                                    "promote");
    /* Armed, harmless here: this Sentinel never wins an election. */
    reds_sentinel_simulate_failure_mode modes[] = {
        REDS_SENTINEL_SIMULATE_FAILURE_MODE_CRASH_AFTER_ELECTION,
        REDS_SENTINEL_SIMULATE_FAILURE_MODE_CRASH_AFTER_PROMOTION};
    ASSERT_OK(reds_sentinel_simulate_failure(c, modes, 2));
    ASSERT_ERR(reds_sentinel_simulate_failure(c, modes, 0), REDS_ERR_DATA);
    modes[0] = (reds_sentinel_simulate_failure_mode)3; /* `help` is not offered */
    ASSERT_ERR(reds_sentinel_simulate_failure(c, modes, 1), REDS_ERR_DATA);
    /* The connection is still in step (help would have left a reply). */
    ASSERT_OK(reds_sentinel_masters(c, &all));
    ck_assert_uint_eq(all->count, 1);
    reds_free(all);
    reds_client_free(c);
}
END_TEST

/* ------------------------------------------------------------- discovery */

START_TEST(discover_master_and_replicas)
{
    int m = master_index(), r = 1 - m;
    reds_host_port *hp = NULL;
    ASSERT_OK(reds_sentinel_discover_master(S, SERVICE, &hp));
    ck_assert_str_eq(hp->host, "127.0.0.1");
    ck_assert_int_eq(hp->port, set.data[m].port);
    reds_free(hp);
    reds_host_port_list *l = NULL;
    ASSERT_OK(reds_sentinel_discover_replicas(S, SERVICE, &l));
    ck_assert_uint_eq(l->count, 1);
    ck_assert_str_eq(l->items[0].host, "127.0.0.1");
    ck_assert_int_eq(l->items[0].port, set.data[r].port);
    reds_free(l);
    ASSERT_OK(reds_sentinel_discover_replicas(S, "nope", &l));
    ck_assert_uint_eq(l->count, 0);
    reds_free(l);
}
END_TEST

START_TEST(master_not_found)
{
    reds_host_port *hp = NULL;
    ASSERT_ERR(reds_sentinel_discover_master(S, "nope", &hp), REDS_ERR_MASTER_NOT_FOUND);
    ck_assert(reds_err_is(REDS_ERR_MASTER_NOT_FOUND, REDS_ERR_CONNECTION));
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "No master found for 'nope'"));
    reds_client *c = NULL;
    ASSERT_OK(reds_sentinel_master_for(S, "nope", NULL, &c));
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_MASTER_NOT_FOUND);
    reds_client_free(c);
    ASSERT_ERR(reds_sentinel_master_for(S, "", NULL, &c), REDS_ERR_DATA);
    ASSERT_ERR(reds_sentinel_master_for(NULL, "x", NULL, &c), REDS_ERR_DATA);

    /* ghost: known, nothing listens. Connection errors until the Sentinel
     * sees it down, MasterNotFound after. */
    reds_host_port at = {"127.0.0.1", lone.port};
    reds_sentinel *one;
    ASSERT_OK(reds_sentinel_new(&at, 1, NULL, &one));
    ASSERT_OK(reds_sentinel_master_for(one, "ghost", NULL, &c));
    long long deadline = now_ms() + 10000;
    reds_err err;
    while ((err = reds_ping(c, NULL, NULL)) == REDS_ERR_CONNECTION && now_ms() < deadline)
        sleep_ms(100);
    ASSERT_ERR(err, REDS_ERR_MASTER_NOT_FOUND);
    ck_assert_msg(strstr(reds_errmsg(), "the master is s_down,master"), "%s", reds_errmsg());
    reds_client_free(c);
    reds_sentinel_free(one);
}
END_TEST

START_TEST(slave_not_found)
{
    reds_host_port at = {"127.0.0.1", lone.port};
    reds_sentinel *one;
    ASSERT_OK(reds_sentinel_new(&at, 1, NULL, &one));
    reds_client *c = NULL;
    ASSERT_OK(reds_sentinel_replica_for(one, "ghost", NULL, &c));
    /* No replica, and the master (down or unreachable) does not answer. */
    reds_err err = reds_ping(c, NULL, NULL);
    ck_assert_msg(err == REDS_ERR_SLAVE_NOT_FOUND, "%s: %s", reds_err_name(err), reds_errmsg());
    ck_assert(reds_err_is(REDS_ERR_SLAVE_NOT_FOUND, REDS_ERR_CONNECTION));
    reds_client_free(c);
    /* The handle goes first; the client keeps what it needs. */
    ASSERT_OK(reds_sentinel_replica_for(one, "nope", NULL, &c));
    reds_sentinel_free(one);
    ASSERT_ERR(reds_ping(c, NULL, NULL), REDS_ERR_SLAVE_NOT_FOUND);
    ck_assert_msg(strstr(reds_errmsg(), "No replica found for 'nope', nor a master"), "%s",
                  reds_errmsg());
    reds_client_free(c);
}
END_TEST

/* The Sentinel that found the master moves to the front: asked first next
 * time, the others are not asked at all. A Sentinel has no commandstats:
 * count the commands it processed (each reading adds its own INFO). */
static long long commands_processed(int port)
{
    reds_client *c = direct(port);
    reds_str argv[] = {REDS_STR("INFO"), REDS_STR("stats")};
    reds_reply *r = NULL;
    ASSERT_OK(reds_execute_command(c, 2, argv, &r));
    const char *at = strstr(r->str, "total_commands_processed:");
    ck_assert_ptr_nonnull(at);
    long long n = atoll(at + strlen("total_commands_processed:"));
    reds_free(r);
    reds_client_free(c);
    return n;
}

START_TEST(responsive_sentinel_moves_to_front)
{
    master_index();
    /* A dead address first, then a Sentinel that does not know the
     * service, then one that does. */
    reds_host_port at[] = {
        {"127.0.0.1", ghost_port}, {"127.0.0.1", lone.port}, {"127.0.0.1", set.sentinel[1].port}};
    reds_sentinel_options so = {.min_other_sentinels = 2};
    reds_sentinel *s;
    ASSERT_OK(reds_sentinel_new(at, 3, &so, &s));
    ck_assert_uint_eq(reds_sentinel_count(s), 3);
    long long before = commands_processed(lone.port);
    reds_host_port *hp = NULL;
    ASSERT_OK(reds_sentinel_discover_master(s, SERVICE, &hp));
    ck_assert_int_eq(hp->port, set.data[master_index()].port);
    reds_free(hp);
    long long after = commands_processed(lone.port);
    ck_assert_int_eq(after, before + 2); /* the INFO before, and SENTINEL MASTER */
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(reds_sentinel_discover_master(s, SERVICE, &hp));
        reds_free(hp);
    }
    ck_assert_int_eq(commands_processed(lone.port), after + 1); /* not asked again */
    reds_sentinel_free(s);
    /* min_other_sentinels: 3 others are more than any Sentinel sees. */
    so.min_other_sentinels = 3;
    ASSERT_OK(reds_sentinel_new(at + 2, 1, &so, &s));
    ASSERT_ERR(reds_sentinel_discover_master(s, SERVICE, &hp), REDS_ERR_MASTER_NOT_FOUND);
    ck_assert_msg(strstr(reds_errmsg(), "sees 2 other Sentinels, fewer than 3"), "%s",
                  reds_errmsg());
    reds_sentinel_free(s);
}
END_TEST

/* -------------------------------------------------------------- replicas */

START_TEST(replica_reads_round_robin_and_fall_back)
{
    int m = master_index(), r = 1 - m;
    reds_client *master = NULL, *replica = NULL;
    ASSERT_OK(reds_sentinel_master_for(S, SERVICE, NULL, &master));
    ASSERT_OK(reds_sentinel_replica_for(S, SERVICE, NULL, &replica));
    ASSERT_OK(reds_set(master, REDS_STR("rr:key"), REDS_STR("v1"), NULL, NULL));
    int64_t acked = 0;
    ASSERT_OK(reds_wait(master, 1, 5000, &acked));
    ck_assert_int_eq(acked, 1);
    reds_str *v = NULL;
    ASSERT_OK(reds_get(replica, REDS_STR("rr:key"), &v));
    ASSERT_STR(v, "v1");
    reds_free(v);
    ck_assert_int_eq(port_of(replica), set.data[r].port);
    ck_assert_int_eq(port_of(master), set.data[m].port);
    /* A replica refuses writes, and that is no reason to look elsewhere. */
    ASSERT_ERR(reds_set(replica, REDS_STR("rr:key"), REDS_STR("x"), NULL, NULL), REDS_ERR_READONLY);

    /* A second replica: connections alternate between the two. */
    fixture_server extra;
    char mport[16];
    snprintf(mport, sizeof mport, "%d", set.data[m].port);
    const char *args[] = {"--replicaof", "127.0.0.1", mport, NULL};
    ck_assert_int_eq(fixture_start(&extra, args), 0);
    ck_assert_int_eq(fixture_sentinel_settled(&set, 2, 30000), m);
    int seen[6];
    for (int i = 0; i < 6; i++)
        seen[i] = port_of(replica);
    for (int i = 0; i < 6; i++) {
        ck_assert_msg(seen[i] == set.data[r].port || seen[i] == extra.port, "port %d", seen[i]);
        if (i)
            ck_assert_int_ne(seen[i], seen[i - 1]);
    }
    printf("replica round-robin over ports:");
    for (int i = 0; i < 6; i++)
        printf(" %d", seen[i]);
    printf("\n");

    /* No replica answers: the master serves the reads. */
    fixture_stop(&extra);
    fixture_kill(&set.data[r]);
    ck_assert_int_eq(port_of(replica), set.data[m].port);
    ASSERT_OK(reds_get(replica, REDS_STR("rr:key"), &v));
    ASSERT_STR(v, "v1");
    reds_free(v);

    /* Back to one replica: restart it, and make the Sentinels forget the
     * stopped one (SENTINEL RESET answers how many masters matched). */
    const char *again[] = {"--replicaof", "127.0.0.1", mport, NULL};
    ck_assert_int_eq(fixture_restart(&set.data[r], again), 0);
    for (int i = 0; i < FIXTURE_SENTINELS; i++) {
        int64_t n = 0;
        ASSERT_OK(reds_sentinel_reset(reds_sentinel_node(S, (size_t)i), REDS_STR(SERVICE), &n));
        ck_assert_int_eq(n, 1);
    }
    ck_assert_int_eq(fixture_sentinel_settled(&set, 1, 30000), m);
    ck_assert_int_eq(port_of(replica), set.data[r].port);
    reds_client_free(master);
    reds_client_free(replica);
}
END_TEST

/* ------------------------------------------------------------- failovers */

#define MAX_WRITES 40000

typedef struct writer {
    reds_client *c;
    atomic_bool stop;
    atomic_int n;                /* writes attempted (read by the main thread) */
    bool ok[MAX_WRITES];         /* acknowledged (OK) */
    bool replicated[MAX_WRITES]; /* and confirmed on a replica by WAIT */
    long long at[MAX_WRITES];    /* when each finished */
    int failed;
    reds_err first_err;
    char first_msg[256];
} writer;

/* One write: SET then WAIT 1 in one pipeline, so that both run on the same
 * connection (WAIT counts that connection's writes). The SET's OK is what
 * the window measures; `*replicated` says a replica confirmed the write.
 * Redis replicates asynchronously, so only confirmed writes are certain to
 * survive a failover, and those are the ones checked afterwards. */
static reds_err replicated_set(reds_client *pipe, const char *key, const char *val,
                               bool *replicated)
{
    int64_t replicas = 0;
    reds_set(pipe, reds_cstr(key), reds_cstr(val), NULL, NULL);
    reds_wait(pipe, 1, 100, &replicas);
    reds_pipeline_execute(pipe);
    reds_err err = reds_pipeline_result(pipe, 0, NULL);
    *replicated = !err && reds_pipeline_result(pipe, 1, NULL) == REDS_OK && replicas >= 1;
    return err;
}

static void *write_loop(void *arg)
{
    writer *w = arg;
    reds_client *pipe = NULL;
    if (reds_pipeline_new(w->c, false, &pipe))
        return NULL;
    long long until = now_ms() + 60000; /* bounded in time and count */
    while (!atomic_load(&w->stop) && w->n < MAX_WRITES && now_ms() < until) {
        char key[32], val[32];
        snprintf(key, sizeof key, "w:%d", w->n);
        snprintf(val, sizeof val, "%d", w->n);
        reds_err err = replicated_set(pipe, key, val, &w->replicated[w->n]);
        w->ok[w->n] = err == REDS_OK;
        w->at[w->n] = now_ms();
        if (err) {
            if (!w->failed++) {
                w->first_err = err;
                snprintf(w->first_msg, sizeof w->first_msg, "%s", reds_errmsg());
            }
            sleep_ms(20);
        } else {
            sleep_ms(1);
        }
        atomic_fetch_add(&w->n, 1);
    }
    reds_client_free(pipe);
    return NULL;
}

/* Run the writer around `trigger`, wait for the new master, then check
 * every acknowledged write on it. */
static void failover_under_writes(const char *what, void (*trigger)(int master),
                                  void (*after)(int old_master))
{
    int old = master_index();
    reds_options o = {.connect_timeout_ms = 500, .socket_timeout_ms = 1000};
    writer *w = calloc(1, sizeof *w);
    ASSERT_OK(reds_sentinel_master_for(S, SERVICE, &o, &w->c));
    atomic_init(&w->stop, false);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, write_loop, w), 0);
    sleep_ms(300);
    long long t0 = now_ms();
    trigger(old);
    /* The new master: the other server, as every Sentinel names it. */
    int now = -1;
    long long deadline = now_ms() + 60000;
    while (now_ms() < deadline) {
        reds_sentinel_master_addr *a = NULL;
        if (!reds_sentinel_get_master_addr_by_name(reds_sentinel_node(S, 0), REDS_STR(SERVICE),
                                                   &a) &&
            a && a->port == set.data[1 - old].port)
            now = 1 - old;
        reds_free(a);
        if (now >= 0)
            break;
        sleep_ms(50);
    }
    ck_assert_msg(now == 1 - old, "%s: no new master within 60 s", what);
    long long switched = now_ms() - t0;
    if (after)
        after(old);
    /* Let the writer reach the new master and write there a while. */
    deadline = now_ms() + 30000;
    int tail = 0;
    while (now_ms() < deadline && tail < 200) {
        sleep_ms(50);
        tail = 0;
        for (int i = atomic_load(&w->n) - 1; i >= 0 && w->ok[i] && tail < 200; i--)
            tail++;
    }
    atomic_store(&w->stop, true);
    pthread_join(t, NULL);

    /* The window: from the last OK before the first failure to the first
     * OK after the last failure. */
    int first_fail = -1, last_fail = -1, oks = 0;
    for (int i = 0; i < w->n; i++) {
        if (w->ok[i]) {
            oks++;
        } else {
            if (first_fail < 0)
                first_fail = i;
            last_fail = i;
        }
    }
    long long window = 0;
    if (first_fail >= 0) {
        long long from = first_fail > 0 ? w->at[first_fail - 1] : t0;
        int next = last_fail + 1;
        ck_assert_msg(next < w->n, "%s: no write succeeded after the failover", what);
        window = w->at[next] - from;
    }
    /* Zero lost acknowledged writes: every write a replica confirmed is on
     * the new master. */
    reds_client *c = direct(set.data[now].port);
    int lost = 0, confirmed = 0;
    for (int i = 0; i < w->n; i++) {
        if (!w->replicated[i])
            continue;
        confirmed++;
        char key[32], val[32];
        snprintf(key, sizeof key, "w:%d", i);
        snprintf(val, sizeof val, "%d", i);
        reds_str *v = NULL;
        ASSERT_OK(reds_get(c, reds_cstr(key), &v));
        if (!v || v->len != strlen(val) || memcmp(v->ptr, val, v->len) != 0) {
            if (lost++ < 5)
                fprintf(stderr, "%s: lost write w:%d\n", what, i);
        }
        reds_free(v);
    }
    printf("%s: %d writes, %d acknowledged (%d confirmed on a replica), %d failed; "
           "write-unavailable window %lld ms; Sentinels named the new master after %lld ms; "
           "%d confirmed writes lost%s%s\n",
           what, w->n, oks, confirmed, w->failed, window, switched, lost,
           w->failed ? "; first failure: " : "", w->failed ? w->first_msg : "");
    ck_assert_int_eq(lost, 0);
    /* Clean up for the next failover. */
    ASSERT_OK(reds_flushall(c, NULL));
    reds_client_free(c);
    reds_client_free(w->c);
    free(w);
}

static void set_min_replicas(int port, const char *n)
{
    reds_client *c = direct(port);
    reds_config_parameter p[] = {{REDS_STR("min-replicas-to-write"), reds_cstr(n)},
                                 {REDS_STR("min-replicas-max-lag"), REDS_STR("10")}};
    ASSERT_OK(reds_config_set(c, p, 2));
    reds_client_free(c);
}

static void sentinel_failover(int master)
{
    /* Redis replicates asynchronously, and Sentinel promotes the replica
     * without stopping the old master: writes it still acknowledged would
     * be lost when it is turned into a replica. min-replicas-to-write
     * (what the Sentinel documentation recommends) makes it refuse writes
     * as soon as its replica leaves. */
    set_min_replicas(set.data[master].port, "1");
    ASSERT_OK(reds_sentinel_failover(reds_sentinel_node(S, 0), REDS_STR(SERVICE)));
}

static void after_sentinel_failover(int old)
{
    /* The old master comes back as a replica. */
    ck_assert_int_eq(fixture_sentinel_settled(&set, 1, 30000), 1 - old);
    set_min_replicas(set.data[old].port, "0");
}

START_TEST(failover_by_command_under_writes)
{
    failover_under_writes("SENTINEL FAILOVER", sentinel_failover, after_sentinel_failover);
}
END_TEST

static reds_pubsub *ps;

static void kill_master(int master)
{
    fixture_kill(&set.data[master]);
}

static void after_kill(int old)
{
    /* The killed master returns, empty, and is made a replica. */
    ck_assert_int_eq(fixture_restart(&set.data[old], NULL), 0);
    ck_assert_int_eq(fixture_sentinel_settled(&set, 1, 30000), 1 - old);
}

START_TEST(failover_by_kill_under_writes)
{
    /* A pub/sub handle made from the master client must follow it. */
    reds_client *master = NULL;
    ASSERT_OK(reds_sentinel_master_for(S, SERVICE, NULL, &master));
    reds_pubsub_options po = {.ignore_subscribe_messages = true};
    ASSERT_OK(reds_pubsub_new(master, &po, &ps));
    reds_str ch = REDS_STR("news");
    ASSERT_OK(reds_pubsub_subscribe(ps, &ch, 1, NULL, NULL));
    reds_pubsub_message *msg = NULL;
    ASSERT_OK(reds_pubsub_get_message(ps, 100, &msg));
    reds_free(msg);
    int old = master_index();

    failover_under_writes("master killed", kill_master, after_kill);

    /* Published on the new master, heard by the handle that reconnected
     * through the Sentinels. */
    test_assert_follows(master, ps, ch, false, 20000);
    ck_assert_int_eq(port_of(master), set.data[1 - old].port);
    reds_pubsub_close(ps);
    reds_client_free(master);
}
END_TEST

static void raw(int port, const char *fmt, int arg)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, fmt, arg);
    reds_client *c = direct(port);
    reds_str argv[8];
    size_t argc = 0;
    for (char *tok = strtok(cmd, " "); tok && argc < 8; tok = strtok(NULL, " "))
        argv[argc++] = reds_cstr(tok);
    ASSERT_OK(reds_execute_command(c, argc, argv, NULL));
    reds_client_free(c);
}

/* Point the lone Sentinel's "solo" service at `port`. */
static void monitor_solo(reds_client *lone_c, int port, bool first)
{
    if (!first)
        ASSERT_OK(reds_sentinel_remove(lone_c, REDS_STR("solo")));
    ASSERT_OK(reds_sentinel_monitor(lone_c, REDS_STR("solo"), REDS_STR("127.0.0.1"), port, 2));
}

/* Port of the server a dedicated handle is on, without reconnecting. */
static int dedicated_port(reds_client *d)
{
    reds_str name = REDS_STR("port");
    reds_map *m = NULL;
    ASSERT_OK(reds_config_get(d, &name, 1, &m));
    int port = atoi(m->items[0].value.ptr);
    reds_free(m);
    return port;
}

START_TEST(readonly_makes_the_master_client_rediscover)
{
    /* A service on the lone Sentinel, moved by hand: X, then Y. */
    fixture_server x, y;
    ck_assert_int_eq(fixture_start(&x, NULL), 0);
    ck_assert_int_eq(fixture_start(&y, NULL), 0);
    reds_client *lc = direct(lone.port);
    monitor_solo(lc, x.port, true);
    reds_host_port at = {"127.0.0.1", lone.port};
    reds_sentinel *one;
    ASSERT_OK(reds_sentinel_new(&at, 1, NULL, &one));
    reds_client *c = NULL, *d = NULL;
    ASSERT_OK(reds_sentinel_master_for(one, "solo", NULL, &c));
    ASSERT_OK(reds_client_dedicated(c, &d));
    ASSERT_OK(reds_set(c, REDS_STR("ro"), REDS_STR("1"), NULL, NULL));
    ck_assert_int_eq(dedicated_port(d), x.port);

    /* X is demoted: the pooled connection meets READONLY. The write did
     * not run; it fails as a connection error and the connection goes. */
    raw(x.port, "REPLICAOF 127.0.0.1 %d", y.port);
    ASSERT_ERR(reds_set(c, REDS_STR("ro"), REDS_STR("2"), NULL, NULL), REDS_ERR_CONNECTION);
    char expect[128];
    snprintf(expect, sizeof expect, "127.0.0.1:%d is no longer the master", x.port);
    ck_assert_msg(strstr(reds_errmsg(), expect), "%s", reds_errmsg());
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "READONLY"));
    reds_pool_stats st;
    ASSERT_OK(reds_pool_get_stats(c, &st));
    ck_assert_uint_eq(st.idle, 0);

    /* The Sentinel names Y: the next connection asks it and goes there,
     * and the dedicated handle's connection to X is retired too. */
    monitor_solo(lc, y.port, false);
    ASSERT_OK(reds_set(c, REDS_STR("ro"), REDS_STR("3"), NULL, NULL));
    reds_client *dy = direct(y.port);
    reds_str *v = NULL;
    ASSERT_OK(reds_get(dy, REDS_STR("ro"), &v));
    ASSERT_STR(v, "3");
    reds_free(v);
    ck_assert_int_eq(dedicated_port(d), y.port);
    reds_client_free(d);
    reds_client_free(c);

    /* With retries, a write that met READONLY runs once, on the new
     * master. */
    reds_options o = {.retries = 2};
    ASSERT_OK(reds_sentinel_master_for(one, "solo", &o, &c));
    ASSERT_OK(reds_set(c, REDS_STR("ro"), REDS_STR("4"), NULL, NULL)); /* on Y */
    raw(x.port, "REPLICAOF NO ONE", 0);
    raw(y.port, "REPLICAOF 127.0.0.1 %d", x.port);
    monitor_solo(lc, x.port, false);
    ASSERT_OK(reds_incr(c, REDS_STR("counter"), NULL));
    reds_client *dx = direct(x.port);
    int64_t n = 0;
    ASSERT_OK(reds_incr(dx, REDS_STR("counter"), &n));
    ck_assert_int_eq(n, 2); /* the retried INCR ran exactly once */
    ASSERT_OK(reds_sentinel_remove(lc, REDS_STR("solo")));
    reds_client_free(dx);
    reds_client_free(dy);
    reds_client_free(c);
    reds_sentinel_free(one);
    reds_client_free(lc);
    fixture_stop(&x);
    fixture_stop(&y);
}
END_TEST

/* ------------------------------------------------------------------ main */

static Suite *suite(void)
{
    Suite *s = suite_create("sentinel");
    TCase *tc = tcase_create("commands");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, masters_and_master);
    tcase_add_test(tc, get_master_addr_by_name);
    tcase_add_test(tc, primary_names_on_valkey);
    tcase_add_test(tc, replicas_and_slaves);
    tcase_add_test(tc, sentinels_and_myid);
    tcase_add_test(tc, ckquorum_help_flushconfig);
    tcase_add_test(tc, info_cache_and_vote);
    tcase_add_test(tc, config_and_debug);
    tcase_add_test(tc, monitor_set_reset_remove);
    suite_add_tcase(s, tc);
    tc = tcase_create("discovery");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, discover_master_and_replicas);
    tcase_add_test(tc, master_not_found);
    tcase_add_test(tc, slave_not_found);
    tcase_add_test(tc, responsive_sentinel_moves_to_front);
    suite_add_tcase(s, tc);
    tc = tcase_create("replicas");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, replica_reads_round_robin_and_fall_back);
    suite_add_tcase(s, tc);
    tc = tcase_create("failover");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, failover_by_command_under_writes);
    tcase_add_test(tc, failover_by_kill_under_writes);
    tcase_add_test(tc, readonly_makes_the_master_client_rediscover);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (fixture_sentinel_start(&set, SERVICE) != 0)
        return 1;
    ghost_port = fixture_free_port();
    char conf[256];
    snprintf(conf, sizeof conf,
             "sentinel monitor ghost 127.0.0.1 %d 2\n"
             "sentinel down-after-milliseconds ghost 1000\n",
             ghost_port);
    if (fixture_sentinel_spawn(&lone, conf) != 0) {
        fixture_sentinel_stop(&set);
        return 1;
    }
    reds_host_port at[FIXTURE_SENTINELS];
    for (int i = 0; i < FIXTURE_SENTINELS; i++)
        at[i] = (reds_host_port){"127.0.0.1", set.sentinel[i].port};
    int rc = 1;
    if (reds_sentinel_new(at, FIXTURE_SENTINELS, NULL, &S) == REDS_OK) {
        SRunner *sr = srunner_create(suite());
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_NORMAL);
        rc = srunner_ntests_failed(sr) ? 1 : 0;
        srunner_free(sr);
        reds_sentinel_free(S);
    }
    fixture_stop(&lone);
    fixture_sentinel_stop(&set);
    return rc;
}
