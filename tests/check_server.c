/* The server group against real servers: INFO, CONFIG, the keyspace
 * commands, persistence, SLOWLOG, LATENCY, MEMORY, COMMAND, ACL and
 * MODULE on the suite's server; CONFIG REWRITE, ACL SAVE/LOAD and module
 * loading on one started from a config file; replication (REPLICAOF,
 * SLAVEOF, ROLE in both forms, FAILOVER) and SHUTDOWN on throwaway ones. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static reds_client *c;

static void setup(void)
{
    test_flush();
    c = test_client(NULL);
}

static void teardown(void)
{
    reds_client_free(c);
    c = NULL;
}

static reds_client *client_of(const fixture_server *s)
{
    reds_options o = {.host = "127.0.0.1", .port = s->port};
    reds_client *x = NULL;
    ASSERT_OK(reds_client_new(&o, &x));
    return x;
}

static bool str_is(const reds_str *s, const char *text)
{
    return s && s->ptr && s->len == strlen(text) && memcmp(s->ptr, text, s->len) == 0;
}

static bool list_has(const reds_strlist *l, const char *text)
{
    for (size_t i = 0; i < l->count; i++)
        if (str_is(&l->items[i], text))
            return true;
    return false;
}

static void config_set(reds_client *x, const char *name, const char *value)
{
    ASSERT_OK(reds_config_set(x, &(reds_config_parameter){reds_cstr(name), reds_cstr(value)}, 1));
}

static void set(reds_client *x, const char *key, const char *value)
{
    ASSERT_OK(reds_set(x, reds_cstr(key), reds_cstr(value), NULL, NULL));
}

/* ----------------------------------------------------------------- INFO */

START_TEST(info_sections_and_fields)
{
    set(c, "k", "v");
    reds_info_reply *info = NULL;
    ASSERT_OK(reds_info(c, NULL, &info));
    static const char *const sections[] = {"Server",     "Clients",     "Memory",  "Persistence",
                                           "Stats",      "Replication", "CPU",     "Modules",
                                           "Errorstats", "Cluster",     "Keyspace"};
    ck_assert_uint_eq(info->count, sizeof sections / sizeof sections[0]);
    for (size_t i = 0; i < info->count; i++)
        ASSERT_STR(&info->sections[i].name, sections[i]);
    const reds_map *server = &info->sections[0].fields;
    ASSERT_STR(&server->items[0].key, "redis_version");
    /* Valkey names itself and its version after the Redis version it
     * answers like, and says server_mode where Redis says redis_mode. */
    ASSERT_STR(&server->items[0].value, ON_SERVER(test_server.version, "7.2.4"));
    if (test_kind() == FIXTURE_VALKEY) {
        ASSERT_STR(reds_map_get(server, REDS_STR("server_name")), "valkey");
        ASSERT_STR(reds_map_get(server, REDS_STR("valkey_version")), test_server.version);
        ck_assert_ptr_null(reds_map_get(server, REDS_STR("redis_mode")));
    } else {
        ck_assert_ptr_null(reds_map_get(server, REDS_STR("server_name")));
        ck_assert_ptr_null(reds_map_get(server, REDS_STR("server_mode")));
    }
    ASSERT_STR(reds_map_get(server, reds_cstr(ON_SERVER("redis_mode", "server_mode"))),
               "standalone");
    char num[32];
    snprintf(num, sizeof num, "%d", test_server.port);
    ASSERT_STR(reds_info_get(info, REDS_STR("tcp_port")), num);
    snprintf(num, sizeof num, "%d", (int)test_server.pid);
    ASSERT_STR(reds_info_get(info, REDS_STR("process_id")), num);
    ASSERT_STR(reds_info_get(info, REDS_STR("config_file")), ""); /* started without one */
    ASSERT_STR(reds_info_get(info, REDS_STR("role")), "master");
    ASSERT_STR(reds_info_get(info, REDS_STR("cluster_enabled")), "0");
    ASSERT_STR(reds_info_get(info, REDS_STR("aof_enabled")), "0");
    const reds_info_section *ks = &info->sections[10];
    ck_assert_uint_eq(ks->fields.count, 1);
    ASSERT_STR(&ks->fields.items[0].key, "db0");
    ASSERT_STR(&ks->fields.items[0].value, "keys=1,expires=0,avg_ttl=0");
    reds_free(info);

    /* Chosen sections only, in the server's order. */
    info = NULL;
    ASSERT_OK(reds_info(
        c,
        &(reds_info_opts){.sections = (reds_str[]){REDS_STR("keyspace"), REDS_STR("server")},
                          .nsections = 2},
        &info));
    ck_assert_uint_eq(info->count, 2);
    ASSERT_STR(&info->sections[0].name, "Server");
    ASSERT_STR(&info->sections[1].name, "Keyspace");
    ck_assert_ptr_null(reds_info_get(info, REDS_STR("connected_clients")));
    reds_free(info);
    /* An unknown section: nothing. */
    info = NULL;
    ASSERT_OK(
        reds_info(c, &(reds_info_opts){.sections = &REDS_STR("nosuch"), .nsections = 1}, &info));
    ck_assert_uint_eq(info->count, 0);
    reds_free(info);
}
END_TEST

/* --------------------------------------------------------------- CONFIG */

START_TEST(config_get_set_resetstat_help)
{
    reds_map *m = NULL;
    ASSERT_OK(reds_config_get(c, &REDS_STR("maxmemory-policy"), 1, &m));
    ck_assert_uint_eq(m->count, 1);
    ASSERT_STR(&m->items[0].key, "maxmemory-policy");
    ASSERT_STR(&m->items[0].value, "noeviction");
    reds_free(m);

    ASSERT_OK(reds_config_set(
        c,
        (reds_config_parameter[]){{REDS_STR("maxmemory-policy"), REDS_STR("allkeys-lru")},
                                  {REDS_STR("hz"), REDS_STR("20")}},
        2));
    m = NULL;
    ASSERT_OK(reds_config_get(
        c, (reds_str[]){REDS_STR("maxmemory-pol*"), REDS_STR("hz"), REDS_STR("nosuch")}, 3, &m));
    ck_assert_uint_eq(m->count, 2);
    ASSERT_STR(reds_map_get(m, REDS_STR("maxmemory-policy")), "allkeys-lru");
    ASSERT_STR(reds_map_get(m, REDS_STR("hz")), "20");
    reds_free(m);
    /* All or nothing: a bad value sets neither. */
    ASSERT_ERR(reds_config_set(
                   c,
                   (reds_config_parameter[]){{REDS_STR("maxmemory-policy"), REDS_STR("noeviction")},
                                             {REDS_STR("hz"), REDS_STR("fast")}},
                   2),
               REDS_ERR_RESPONSE);
    m = NULL;
    ASSERT_OK(reds_config_get(c, &REDS_STR("maxmemory-policy"), 1, &m));
    ASSERT_STR(&m->items[0].value, "allkeys-lru");
    reds_free(m);
    ASSERT_OK(reds_config_set(
        c,
        (reds_config_parameter[]){{REDS_STR("maxmemory-policy"), REDS_STR("noeviction")},
                                  {REDS_STR("hz"), REDS_STR("10")}},
        2));
    ASSERT_ERR(reds_config_get(c, NULL, 0, &m), REDS_ERR_DATA);

    /* RESETSTAT zeroes the counters. */
    set(c, "k", "v");
    ASSERT_OK(reds_config_resetstat(c));
    reds_info_reply *info = NULL;
    ASSERT_OK(
        reds_info(c, &(reds_info_opts){.sections = &REDS_STR("stats"), .nsections = 1}, &info));
    ASSERT_STR(reds_info_get(info, REDS_STR("total_commands_processed")), "1");
    ASSERT_STR(reds_info_get(info, REDS_STR("keyspace_hits")), "0");
    reds_free(info);

    /* CONFIG REWRITE needs a config file: see config_file_server below. */
    ASSERT_ERR(reds_config_rewrite(c), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "without a config file"));

    reds_strlist *help = NULL;
    ASSERT_OK(reds_config_help(c, &help));
    ck_assert_ptr_nonnull(strstr(help->items[0].ptr, "CONFIG"));
    reds_free(help);
}
END_TEST

/* ------------------------------------------------------------- keyspace */

START_TEST(dbsize_flush_swapdb)
{
    reds_client *db1 = test_client(&(reds_options){.db = 1});
    int64_t n = -1;
    set(c, "a", "1");
    set(c, "b", "2");
    set(db1, "x", "1");
    ASSERT_OK(reds_dbsize(c, &n));
    ck_assert_int_eq(n, 2);
    ASSERT_OK(reds_swapdb(c, 0, 1));
    ASSERT_OK(reds_dbsize(c, &n));
    ck_assert_int_eq(n, 1);
    ASSERT_OK(reds_dbsize(db1, &n));
    ck_assert_int_eq(n, 2);
    ASSERT_ERR(reds_swapdb(c, 0, 99), REDS_ERR_RESPONSE);

    /* FLUSHDB empties one database, FLUSHALL every one. */
    ASSERT_OK(reds_flushdb(db1, &(reds_flushdb_opts){.mode = REDS_FLUSH_MODE_ASYNC}));
    ASSERT_OK(reds_dbsize(db1, &n));
    ck_assert_int_eq(n, 0);
    ASSERT_OK(reds_dbsize(c, &n));
    ck_assert_int_eq(n, 1);
    ASSERT_OK(reds_flushdb(c, NULL));
    ASSERT_OK(reds_dbsize(c, &n));
    ck_assert_int_eq(n, 0);
    set(c, "a", "1");
    set(db1, "x", "1");
    ASSERT_OK(reds_flushall(c, &(reds_flushall_opts){.mode = REDS_FLUSH_MODE_SYNC}));
    ASSERT_OK(reds_dbsize(c, &n));
    ck_assert_int_eq(n, 0);
    ASSERT_OK(reds_dbsize(db1, &n));
    ck_assert_int_eq(n, 0);
    set(c, "a", "1");
    ASSERT_OK(reds_flushall(c, NULL));
    ASSERT_OK(reds_dbsize(c, &n));
    ck_assert_int_eq(n, 0);
    ASSERT_ERR(reds_flushall(c, &(reds_flushall_opts){.mode = 3}), REDS_ERR_DATA);
    reds_client_free(db1);
}
END_TEST

START_TEST(restore_asking)
{
    set(c, "src", "payload");
    reds_str *dump = NULL;
    ASSERT_OK(reds_dump(c, REDS_STR("src"), &dump));
    ASSERT_OK(reds_restore_asking(c, REDS_STR("dst"), 0, *dump, NULL));
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, REDS_STR("dst"), &v));
    ASSERT_STR(v, "payload");
    reds_free(v);
    /* The key exists: BUSYKEY unless REPLACE. */
    ASSERT_ERR(reds_restore_asking(c, REDS_STR("dst"), 0, *dump, NULL), REDS_ERR_RESPONSE);
    ASSERT_OK(
        reds_restore_asking(c, REDS_STR("dst"), 60000, *dump,
                            &(reds_restore_asking_opts){.replace = true, .seconds = REDS_I64(10)}));
    int64_t ttl = 0;
    ASSERT_OK(reds_pttl(c, REDS_STR("dst"), &ttl));
    ck_assert(ttl > 50000 && ttl <= 60000);
    ASSERT_ERR(reds_restore_asking(c, REDS_STR("dst"), 0, *dump,
                                   &(reds_restore_asking_opts){.replace = true,
                                                               .seconds = REDS_I64(1),
                                                               .frequency = REDS_I64(1)}),
               REDS_ERR_DATA);
    reds_free(dump);
}
END_TEST

/* ---------------------------------------------------------- persistence */

/* Wait until no background save or rewrite runs. */
static void wait_no_child(reds_client *x)
{
    for (int i = 0; i < 1000; i++) {
        reds_info_reply *info = NULL;
        ASSERT_OK(reds_info(
            x, &(reds_info_opts){.sections = &REDS_STR("persistence"), .nsections = 1}, &info));
        bool busy = !str_is(reds_info_get(info, REDS_STR("rdb_bgsave_in_progress")), "0") ||
                    !str_is(reds_info_get(info, REDS_STR("aof_rewrite_in_progress")), "0") ||
                    !str_is(reds_info_get(info, REDS_STR("aof_rewrite_scheduled")), "0");
        reds_free(info);
        if (!busy)
            return;
        sleep_ms(10);
    }
    ck_abort_msg("a background save never finished");
}

START_TEST(time_save_lastsave_bgsave_bgrewriteaof)
{
    reds_server_time *t = NULL;
    ASSERT_OK(reds_time(c, &t));
    int64_t now = (int64_t)time(NULL);
    ck_assert(t->seconds >= now - 5 && t->seconds <= now + 5);
    ck_assert(t->microseconds >= 0 && t->microseconds < 1000000);
    reds_free(t);

    set(c, "k", "v");
    ASSERT_OK(reds_save(c));
    int64_t last = 0;
    ASSERT_OK(reds_lastsave(c, &last));
    ck_assert(last >= now - 5 && last <= now + 5);

    reds_str *status = NULL;
    ASSERT_OK(reds_bgsave(c, NULL, &status));
    ASSERT_STR(status, "Background saving started");
    reds_free(status);
    wait_no_child(c);

    status = NULL;
    ASSERT_OK(reds_bgrewriteaof(c, &status));
    ASSERT_STR(status, "Background append only file rewriting started");
    reds_free(status);
    /* While the rewrite runs, SCHEDULE queues the save (or starts it, if
     * the rewrite has already finished). */
    status = NULL;
    ASSERT_OK(reds_bgsave(c, &(reds_bgsave_opts){.schedule = true}, &status));
    ck_assert_msg(str_is(status, "Background saving scheduled") ||
                      str_is(status, "Background saving started"),
                  "%s", status->ptr);
    reds_free(status);
    wait_no_child(c);
}
END_TEST

/* -------------------------------------------------------------- SLOWLOG */

START_TEST(slowlog_entries)
{
    config_set(c, "slowlog-log-slower-than", "0"); /* log everything */
    ASSERT_OK(reds_slowlog_reset(c));
    reds_client *named = test_client(&(reds_options){.client_name = "slowpoke"});
    ASSERT_OK(reds_set(named, REDS_STR("k"), REDS_STR("v"), NULL, NULL));
    reds_client_free(named);

    reds_slowlog_entry_list *l = NULL;
    ASSERT_OK(reds_slowlog_get(c, &(reds_slowlog_get_opts){.count = REDS_I64(2)}, &l));
    ck_assert_uint_eq(l->count, 2);
    const reds_slowlog_entry *e = &l->items[0]; /* newest first */
    ck_assert_uint_eq(e->args.count, 3);
    ASSERT_STR(&e->args.items[0], "SET");
    ASSERT_STR(&e->args.items[1], "k");
    ASSERT_STR(&e->args.items[2], "v");
    ASSERT_STR(&e->client_name, "slowpoke");
    ck_assert_msg(strncmp(e->client_addr.ptr, "127.0.0.1:", 10) == 0, "%s", e->client_addr.ptr);
    ck_assert_int_ge(e->duration, 0);
    int64_t now = (int64_t)time(NULL);
    ck_assert(e->timestamp >= now - 5 && e->timestamp <= now + 5);
    /* The one before: the connection's CLIENT SETNAME. */
    ck_assert_int_eq(l->items[1].id, e->id - 1);
    ASSERT_STR(&l->items[1].args.items[0], "CLIENT");
    ASSERT_STR(&l->items[1].args.items[1], "SETNAME");
    reds_free(l);
    l = NULL;
    ASSERT_OK(reds_slowlog_get(c, NULL, &l)); /* default: 10 */
    ck_assert_uint_ge(l->count, 4);
    reds_free(l);

    int64_t n = -1;
    ASSERT_OK(reds_slowlog_len(c, &n));
    ck_assert_int_ge(n, 5);
    config_set(c, "slowlog-log-slower-than", "10000000");
    ASSERT_OK(reds_slowlog_reset(c));
    ASSERT_OK(reds_slowlog_len(c, &n));
    ck_assert_int_eq(n, 0);
    l = NULL;
    ASSERT_OK(reds_slowlog_get(c, NULL, &l));
    ck_assert_uint_eq(l->count, 0);
    reds_free(l);
    config_set(c, "slowlog-log-slower-than", "10000");

    reds_strlist *help = NULL;
    ASSERT_OK(reds_slowlog_help(c, &help));
    ck_assert_ptr_nonnull(strstr(help->items[0].ptr, "SLOWLOG"));
    reds_free(help);
}
END_TEST

/* -------------------------------------------------------------- LATENCY */

START_TEST(latency_monitor)
{
    config_set(c, "latency-monitor-threshold", "1");
    int64_t n = -1;
    ASSERT_OK(reds_latency_reset(c, NULL, &n));
    /* DEBUG is not bound (see spec/server.yaml): a 30 ms command. */
    ASSERT_OK(reds_execute_command(
        c, 3, (reds_str[]){REDS_STR("DEBUG"), REDS_STR("SLEEP"), REDS_STR("0.03")}, NULL));

    reds_latency_event_list *ev = NULL;
    ASSERT_OK(reds_latency_latest(c, &ev));
    ck_assert_uint_eq(ev->count, 1);
    ASSERT_STR(&ev->items[0].event, "command");
    int64_t now = (int64_t)time(NULL);
    ck_assert(ev->items[0].timestamp >= now - 5 && ev->items[0].timestamp <= now + 5);
    ck_assert_int_ge(ev->items[0].latest, 30);
    ck_assert_int_lt(ev->items[0].latest, 5000);
    ck_assert_int_eq(ev->items[0].max, ev->items[0].latest);
    reds_free(ev);

    reds_latency_sample_list *h = NULL;
    ASSERT_OK(reds_latency_history(c, REDS_STR("command"), &h));
    ck_assert_uint_eq(h->count, 1);
    ck_assert_int_ge(h->items[0].latency, 30);
    ck_assert(h->items[0].timestamp >= now - 5 && h->items[0].timestamp <= now + 5);
    reds_free(h);
    h = NULL;
    ASSERT_OK(reds_latency_history(c, REDS_STR("nosuch"), &h));
    ck_assert_uint_eq(h->count, 0);
    reds_free(h);

    reds_str *text = NULL;
    ASSERT_OK(reds_latency_doctor(c, &text));
    ck_assert_ptr_nonnull(strstr(text->ptr, "command"));
    reds_free(text);
    text = NULL;
    ASSERT_OK(reds_latency_graph(c, REDS_STR("command"), &text));
    ck_assert_ptr_nonnull(strstr(text->ptr, "command - high"));
    reds_free(text);
    ASSERT_ERR(reds_latency_graph(c, REDS_STR("nosuch"), &text), REDS_ERR_RESPONSE);

    ASSERT_OK(reds_latency_reset(
        c,
        &(reds_latency_reset_opts){.events = (reds_str[]){REDS_STR("command"), REDS_STR("nosuch")},
                                   .nevents = 2},
        &n));
    ck_assert_int_eq(n, 1);
    ev = NULL;
    ASSERT_OK(reds_latency_latest(c, &ev));
    ck_assert_uint_eq(ev->count, 0);
    reds_free(ev);
    config_set(c, "latency-monitor-threshold", "0");

    /* Per-command histograms count since the last CONFIG RESETSTAT. */
    ASSERT_OK(reds_config_resetstat(c));
    set(c, "a", "1");
    set(c, "b", "2");
    set(c, "c", "3");
    reds_command_histogram_list *hist = NULL;
    ASSERT_OK(reds_latency_histogram(
        c,
        &(reds_latency_histogram_opts){.commands = (reds_str[]){REDS_STR("set"), REDS_STR("lpush")},
                                       .ncommands = 2},
        &hist));
    ck_assert_uint_eq(hist->count, 1); /* LPUSH never ran */
    ASSERT_STR(&hist->items[0].command, "set");
    ck_assert_int_eq(hist->items[0].stats.calls, 3);
    ck_assert_uint_ge(hist->items[0].stats.nbuckets, 1);
    /* Cumulative buckets: the last one counts every call. */
    const reds_latency_bucket *last =
        &hist->items[0].stats.buckets[hist->items[0].stats.nbuckets - 1];
    ck_assert_int_eq(last->count, 3);
    ck_assert_int_gt(last->usec, 0);
    reds_free(hist);

    reds_strlist *help = NULL;
    ASSERT_OK(reds_latency_help(c, &help));
    ck_assert_ptr_nonnull(strstr(help->items[0].ptr, "LATENCY"));
    reds_free(help);
}
END_TEST

/* --------------------------------------------------------------- MEMORY */

START_TEST(memory_commands)
{
    reds_opt_i64 usage = {true, 0};
    ASSERT_OK(reds_memory_usage(c, REDS_STR("k"), NULL, &usage));
    ck_assert(!usage.set);
    set(c, "k", "a value of some length");
    ASSERT_OK(reds_memory_usage(c, REDS_STR("k"), &(reds_memory_usage_opts){.samples = REDS_I64(0)},
                                &usage));
    ck_assert(usage.set);
    ck_assert_int_gt(usage.value, 22);
    ck_assert_int_lt(usage.value, 200);

    reds_str *text = NULL;
    ASSERT_OK(reds_memory_doctor(c, &text));
    ck_assert_ptr_nonnull(strstr(text->ptr, "Sam"));
    reds_free(text);
    text = NULL;
    ASSERT_OK(reds_memory_malloc_stats(c, &text));
    ck_assert_uint_gt(text->len, 0);
    reds_free(text);
    ASSERT_OK(reds_memory_purge(c));
    reds_strlist *help = NULL;
    ASSERT_OK(reds_memory_help(c, &help));
    ck_assert_ptr_nonnull(strstr(help->items[0].ptr, "MEMORY"));
    reds_free(help);
}
END_TEST

START_TEST(memory_stats)
{
    /* Valkey 8.0 also says db.dict.rehashing.count, an integer: not a
     * database, although its name starts like one. */
    set(c, "k", "a value of some length");
    reds_client *db3 = test_client(&(reds_options){.db = 3});
    set(db3, "x", "1");
    ASSERT_OK(reds_expire(db3, REDS_STR("x"), 100, NULL, NULL));
    reds_memory_stats_reply *m = NULL;
    ASSERT_OK(reds_memory_stats(c, &m));
    ck_assert_int_eq(m->keys_count, 2);
    ck_assert_int_gt(m->total_allocated, 0);
    ck_assert_int_ge(m->peak_allocated, m->total_allocated);
    ck_assert_int_gt(m->startup_allocated, 0);
    ck_assert_int_gt(m->overhead_total, m->startup_allocated);
    ck_assert_int_eq(m->clients_slaves, 0);
    ck_assert_int_ge(m->clients_normal, 0);
    ck_assert(m->dataset_percentage > 0 && m->dataset_percentage <= 100);
    ck_assert(m->fragmentation > 0);
    ck_assert_uint_eq(m->ndbs, 2);
    ck_assert_int_eq(m->dbs[0].db, 0);
    ck_assert_int_gt(m->dbs[0].overhead.hashtable_main, 0);
    /* No key of db 0 expires: Redis has no table for them, Valkey 8.0 the
     * fixed cost of its (empty) kvstore, 104 bytes on 64-bit builds. */
    ck_assert_int_eq(m->dbs[0].overhead.hashtable_expires, ON_SERVER(0, 104));
    ck_assert_int_eq(m->dbs[1].db, 3);
    ck_assert_int_gt(m->dbs[1].overhead.hashtable_expires, m->dbs[0].overhead.hashtable_expires);
    reds_free(m);
    reds_client_free(db3);
}
END_TEST

/* -------------------------------------------------------------- COMMAND */

START_TEST(command_count_list_getkeys)
{
    int64_t count = 0;
    ASSERT_OK(reds_command_count(c, &count));
    /* COMMAND LIST names subcommands too; COMMAND COUNT does not count them. */
    reds_strlist *l = NULL;
    ASSERT_OK(reds_command_list(c, NULL, &l));
    int64_t top = 0;
    for (size_t i = 0; i < l->count; i++)
        top += memchr(l->items[i].ptr, '|', l->items[i].len) == NULL;
    ck_assert_int_eq(top, count);
    ck_assert(list_has(l, "get") && list_has(l, "xinfo") && list_has(l, "xinfo|stream"));
    reds_free(l);
    /* COMMAND INFO without names: every command, subcommands nested. */
    reds_command_info_entry_list *all = NULL;
    ASSERT_OK(reds_command_info(c, NULL, &all));
    ck_assert_int_eq((int64_t)all->count, count);
    reds_free(all);

    l = NULL;
    ASSERT_OK(
        reds_command_list(c, &(reds_command_list_opts){.category = REDS_STR("hyperloglog")}, &l));
    ck_assert_uint_eq(l->count, 5);
    static const char *const pf[] = {"pfadd", "pfcount", "pfdebug", "pfmerge", "pfselftest"};
    for (size_t i = 0; i < 5; i++)
        ck_assert_msg(list_has(l, pf[i]), "no %s", pf[i]);
    reds_free(l);
    l = NULL;
    ASSERT_OK(reds_command_list(c, &(reds_command_list_opts){.pattern = REDS_STR("xa*")}, &l));
    ck_assert_uint_eq(l->count, 3);
    ck_assert(list_has(l, "xack") && list_has(l, "xadd") && list_has(l, "xautoclaim"));
    reds_free(l);
    l = NULL;
    ASSERT_OK(
        reds_command_list(c, &(reds_command_list_opts){.module_name = REDS_STR("nosuch")}, &l));
    ck_assert_uint_eq(l->count, 0);
    reds_free(l);
    ASSERT_ERR(reds_command_list(c,
                                 &(reds_command_list_opts){.pattern = REDS_STR("x*"),
                                                           .category = REDS_STR("read")},
                                 &l),
               REDS_ERR_DATA);

    l = NULL;
    ASSERT_OK(reds_command_getkeys(
        c, REDS_STR("MSET"),
        &(reds_command_getkeys_opts){
            .args = (reds_str[]){REDS_STR("a"), REDS_STR("1"), REDS_STR("b"), REDS_STR("2")},
            .nargs = 4},
        &l));
    ck_assert_uint_eq(l->count, 2);
    ASSERT_STR(&l->items[0], "a");
    ASSERT_STR(&l->items[1], "b");
    reds_free(l);
    ASSERT_ERR(reds_command_getkeys(c, REDS_STR("PING"), NULL, &l), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(l);

    reds_command_key_flags_list *kf = NULL;
    ASSERT_OK(
        reds_command_getkeysandflags(c, REDS_STR("LMOVE"),
                                     &(reds_command_getkeysandflags_opts){
                                         .args = (reds_str[]){REDS_STR("src"), REDS_STR("dst"),
                                                              REDS_STR("LEFT"), REDS_STR("RIGHT")},
                                         .nargs = 4},
                                     &kf));
    ck_assert_uint_eq(kf->count, 2);
    ASSERT_STR(&kf->items[0].key, "src");
    ck_assert_uint_eq(kf->items[0].flags.count, 3);
    ASSERT_STR(&kf->items[0].flags.items[0], "RW");
    ASSERT_STR(&kf->items[0].flags.items[1], "access");
    ASSERT_STR(&kf->items[0].flags.items[2], "delete");
    ASSERT_STR(&kf->items[1].key, "dst");
    ck_assert_uint_eq(kf->items[1].flags.count, 2);
    ASSERT_STR(&kf->items[1].flags.items[0], "RW");
    ASSERT_STR(&kf->items[1].flags.items[1], "insert");
    reds_free(kf);

    reds_strlist *help = NULL;
    ASSERT_OK(reds_command_help(c, &help));
    ck_assert_ptr_nonnull(strstr(help->items[0].ptr, "COMMAND"));
    reds_free(help);
}
END_TEST

START_TEST(command_info_records)
{
    reds_command_info_entry_list *l = NULL;
    ASSERT_OK(reds_command_info(
        c,
        &(reds_command_info_opts){.names = (reds_str[]){REDS_STR("get"), REDS_STR("nosuch"),
                                                        REDS_STR("xread"), REDS_STR("config|get")},
                                  .nnames = 4},
        &l));
    ck_assert_uint_eq(l->count, 4);
    const reds_command_info_entry *get = &l->items[0];
    ASSERT_STR(&get->name, "get");
    ck_assert_int_eq(get->arity, 2);
    ck_assert_uint_eq(get->flags.count, 2);
    ASSERT_STR(&get->flags.items[0], "readonly");
    ASSERT_STR(&get->flags.items[1], "fast");
    ck_assert_int_eq(get->first_key, 1);
    ck_assert_int_eq(get->last_key, 1);
    ck_assert_int_eq(get->step, 1);
    ck_assert_uint_eq(get->acl_categories.count, 3);
    ASSERT_STR(&get->acl_categories.items[0], "@read");
    ASSERT_STR(&get->acl_categories.items[1], "@string");
    ASSERT_STR(&get->acl_categories.items[2], "@fast");
    ck_assert_uint_eq(get->tips.count, 0);
    ck_assert_uint_eq(get->nkey_specs, 1);
    const reds_command_key_spec *ks = &get->key_specs[0];
    ck_assert_ptr_null(ks->notes.ptr);
    ck_assert_uint_eq(ks->flags.count, 2);
    ASSERT_STR(&ks->flags.items[0], "RO");
    ASSERT_STR(&ks->flags.items[1], "access");
    ASSERT_STR(&ks->begin_search.type, "index");
    ck_assert_int_eq(ks->begin_search.spec.index, 1);
    ASSERT_STR(&ks->find_keys.type, "range");
    ck_assert_int_eq(ks->find_keys.spec.lastkey, 0);
    ck_assert_int_eq(ks->find_keys.spec.keystep, 1);
    ck_assert_int_eq(ks->find_keys.spec.limit, 0);
    ck_assert_uint_eq(get->nsubcommands, 0);

    ck_assert_ptr_null(l->items[1].name.ptr); /* unknown */

    /* XREAD: keys after a keyword, half of the rest. */
    const reds_command_info_entry *xread = &l->items[2];
    ASSERT_STR(&xread->name, "xread");
    ck_assert_int_eq(xread->arity, -4);
    ck_assert(list_has(&xread->flags, "blocking") && list_has(&xread->flags, "movablekeys"));
    ck_assert_uint_eq(xread->nkey_specs, 1);
    ASSERT_STR(&xread->key_specs[0].begin_search.type, "keyword");
    ASSERT_STR(&xread->key_specs[0].begin_search.spec.keyword, "STREAMS");
    ck_assert_int_eq(xread->key_specs[0].begin_search.spec.startfrom, 1);
    ck_assert_int_eq(xread->key_specs[0].find_keys.spec.lastkey, -1);
    ck_assert_int_eq(xread->key_specs[0].find_keys.spec.limit, 2);

    /* A subcommand by its full name, with tips. */
    const reds_command_info_entry *cg = &l->items[3];
    ASSERT_STR(&cg->name, "config|get");
    ck_assert_int_eq(cg->arity, -3);
    ck_assert(list_has(&cg->flags, "admin"));
    ck_assert(list_has(&cg->acl_categories, "@dangerous"));
    reds_free(l);

    /* A container with its subcommands. */
    l = NULL;
    ASSERT_OK(reds_command_info(
        c, &(reds_command_info_opts){.names = &REDS_STR("config"), .nnames = 1}, &l));
    ck_assert_uint_eq(l->count, 1);
    ASSERT_STR(&l->items[0].name, "config");
    ck_assert_int_eq(l->items[0].arity, -2);
    ck_assert_uint_eq(l->items[0].nsubcommands, 5); /* GET SET RESETSTAT REWRITE HELP */
    bool found = false;
    for (size_t i = 0; i < l->items[0].nsubcommands; i++)
        if (str_is(&l->items[0].subcommands[i].name, "config|set")) {
            found = true;
            ck_assert_int_eq(l->items[0].subcommands[i].arity, -4);
            ck_assert(list_has(&l->items[0].subcommands[i].tips, "request_policy:all_nodes"));
        }
    ck_assert(found);
    reds_free(l);

    /* Subcommands with key specs: the deepest COMMAND INFO gets. */
    l = NULL;
    ASSERT_OK(reds_command_info(
        c, &(reds_command_info_opts){.names = &REDS_STR("xinfo"), .nnames = 1}, &l));
    found = false;
    for (size_t i = 0; i < l->items[0].nsubcommands; i++) {
        const reds_command_info_entry *sub = &l->items[0].subcommands[i];
        if (!str_is(&sub->name, "xinfo|stream"))
            continue;
        found = true;
        ck_assert_int_eq(sub->arity, -3);
        ck_assert_uint_eq(sub->nkey_specs, 1);
        ASSERT_STR(&sub->key_specs[0].begin_search.type, "index");
        ck_assert_int_eq(sub->key_specs[0].begin_search.spec.index, 2);
        ck_assert_int_eq(sub->key_specs[0].find_keys.spec.keystep, 1);
    }
    ck_assert(found);
    reds_free(l);
}
END_TEST

START_TEST(command_docs_records)
{
    reds_command_doc_list *d = NULL;
    ASSERT_OK(reds_command_docs(
        c,
        &(reds_command_docs_opts){.names = (reds_str[]){REDS_STR("get"), REDS_STR("getex")},
                                  .nnames = 2},
        &d));
    ck_assert_uint_eq(d->count, 2);
    const reds_command_doc *get = str_is(&d->items[0].name, "get") ? &d->items[0] : &d->items[1];
    const reds_command_doc *getex = get == &d->items[0] ? &d->items[1] : &d->items[0];
    ASSERT_STR(&get->name, "get");
    ASSERT_STR(&get->doc.summary,
               ON_SERVER("Get the value of a key", "Returns the string value of a key."));
    ASSERT_STR(&get->doc.since, "1.0.0");
    ASSERT_STR(&get->doc.group, "string");
    ASSERT_STR(&get->doc.complexity, "O(1)");
    ck_assert_ptr_null(get->doc.deprecated_since.ptr);
    ck_assert_uint_eq(get->doc.nhistory, 0);
    ck_assert_uint_eq(get->doc.narguments, 1);
    ASSERT_STR(&get->doc.arguments[0].name, "key");
    ASSERT_STR(&get->doc.arguments[0].type, "key");
    ck_assert(get->doc.arguments[0].key_spec_index.set &&
              get->doc.arguments[0].key_spec_index.value == 0);
    ck_assert_uint_eq(get->doc.arguments[0].flags.count, 0);

    /* GETEX: an optional oneof of valued and pure-token choices. */
    ASSERT_STR(&getex->name, "getex");
    ASSERT_STR(&getex->doc.since, "6.2.0");
    ck_assert_uint_eq(getex->doc.narguments, 2);
    const reds_command_arg *exp = &getex->doc.arguments[1];
    ASSERT_STR(&exp->name, "expiration");
    ASSERT_STR(&exp->type, "oneof");
    ck_assert(!exp->key_spec_index.set);
    ck_assert_uint_eq(exp->flags.count, 1);
    ASSERT_STR(&exp->flags.items[0], "optional");
    ck_assert_uint_eq(exp->narguments, 5);
    ASSERT_STR(&exp->arguments[0].name, "seconds");
    ASSERT_STR(&exp->arguments[0].type, "integer");
    ASSERT_STR(&exp->arguments[0].token, "EX");
    ASSERT_STR(&exp->arguments[4].name, "persist");
    ASSERT_STR(&exp->arguments[4].type, "pure-token");
    ASSERT_STR(&exp->arguments[4].token, "PERSIST");
    reds_free(d);

    /* A deprecated command, with its history. */
    d = NULL;
    ASSERT_OK(reds_command_docs(
        c, &(reds_command_docs_opts){.names = &REDS_STR("hmset"), .nnames = 1}, &d));
    ASSERT_STR(&d->items[0].doc.deprecated_since, "4.0.0");
    ASSERT_STR(&d->items[0].doc.replaced_by, "`HSET` with multiple field-value pairs");
    ck_assert_uint_eq(d->items[0].doc.doc_flags.count, 1);
    ASSERT_STR(&d->items[0].doc.doc_flags.items[0], "deprecated");
    reds_free(d);
    d = NULL;
    ASSERT_OK(reds_command_docs(
        c, &(reds_command_docs_opts){.names = &REDS_STR("nosuch"), .nnames = 1}, &d));
    ck_assert_uint_eq(d->count, 0);
    reds_free(d);

    /* Too deep for hiredis 0.14.1's reader: refused cleanly, and the
     * connection is replaced. */
    d = (void *)1;
    ASSERT_ERR(reds_command_docs(
                   c, &(reds_command_docs_opts){.names = &REDS_STR("client"), .nnames = 1}, &d),
               REDS_ERR_INVALID_RESPONSE);
    ck_assert_ptr_null(d);
    int64_t n = 0;
    ASSERT_OK(reds_dbsize(c, &n));
}
END_TEST

/* ------------------------------------------------------------------ ACL */

START_TEST(acl_users_and_rules)
{
    ASSERT_OK(
        reds_acl_setuser(c, REDS_STR("bob"),
                         &(reds_acl_setuser_opts){
                             .rules = (reds_str[]){REDS_STR("on"), REDS_STR(">pw"), REDS_STR("~k*"),
                                                   REDS_STR("%R~r*"), REDS_STR("&ch*"),
                                                   REDS_STR("+get"), REDS_STR("(~x* +set)")},
                             .nrules = 7}));
    reds_acl_user *u = NULL;
    ASSERT_OK(reds_acl_getuser(c, REDS_STR("bob"), &u));
    /* Valkey adds the default sanitize-payload to every user. */
    ck_assert_uint_eq(u->flags.count, ON_SERVER(1, 2));
    ASSERT_STR(&u->flags.items[0], "on");
    if (test_kind() == FIXTURE_VALKEY)
        ASSERT_STR(&u->flags.items[1], "sanitize-payload");
    ck_assert_uint_eq(u->passwords.count, 1);
    /* SHA-256("pw") */
    ASSERT_STR(&u->passwords.items[0],
               "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4");
    ASSERT_STR(&u->commands, "-@all +get");
    ASSERT_STR(&u->keys, "~k* %R~r*");
    ASSERT_STR(&u->channels, "&ch*");
    ck_assert_uint_eq(u->nselectors, 1);
    ASSERT_STR(&u->selectors[0].commands, "-@all +set");
    ASSERT_STR(&u->selectors[0].keys, "~x*");
    ASSERT_STR(&u->selectors[0].channels, "");
    reds_free(u);
    u = (void *)1;
    ASSERT_OK(reds_acl_getuser(c, REDS_STR("nosuch"), &u));
    ck_assert_ptr_null(u);
    ASSERT_ERR(reds_acl_setuser(c, REDS_STR("bob"),
                                &(reds_acl_setuser_opts){.rules = &REDS_STR("bogus"), .nrules = 1}),
               REDS_ERR_RESPONSE);

    reds_strlist *l = NULL;
    ASSERT_OK(reds_acl_users(c, &l));
    ck_assert_uint_eq(l->count, 2);
    ASSERT_STR(&l->items[0], "bob");
    ASSERT_STR(&l->items[1], "default");
    reds_free(l);
    l = NULL;
    ASSERT_OK(reds_acl_list(c, &l));
    ck_assert_uint_eq(l->count, 2);
    ASSERT_STR(&l->items[0],
               ON_SERVER("user bob on "
                         "#30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 "
                         "~k* %R~r* resetchannels &ch* -@all +get (~x* resetchannels -@all +set)",
                         "user bob on sanitize-payload "
                         "#30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 "
                         "~k* %R~r* resetchannels &ch* -@all +get (~x* resetchannels -@all +set)"));
    ASSERT_STR(&l->items[1], ON_SERVER("user default on nopass ~* &* +@all",
                                       "user default on nopass sanitize-payload ~* &* +@all"));
    reds_free(l);

    reds_str *s = NULL;
    ASSERT_OK(reds_acl_whoami(c, &s));
    ASSERT_STR(s, "default");
    reds_free(s);
    s = NULL;
    ASSERT_OK(reds_acl_dryrun(c, REDS_STR("bob"), REDS_STR("get"),
                              &(reds_acl_dryrun_opts){.args = &REDS_STR("k1"), .nargs = 1}, &s));
    ASSERT_STR(s, "OK");
    reds_free(s);
    s = NULL;
    ASSERT_OK(reds_acl_dryrun(
        c, REDS_STR("bob"), REDS_STR("set"),
        &(reds_acl_dryrun_opts){.args = (reds_str[]){REDS_STR("x1"), REDS_STR("v")}, .nargs = 2},
        &s));
    ASSERT_STR(s, "OK"); /* through the selector */
    reds_free(s);
    s = NULL;
    ASSERT_OK(reds_acl_dryrun(
        c, REDS_STR("bob"), REDS_STR("set"),
        &(reds_acl_dryrun_opts){.args = (reds_str[]){REDS_STR("k1"), REDS_STR("v")}, .nargs = 2},
        &s));
    ASSERT_STR(s, ON_SERVER("This user has no permissions to access the 'k1' key",
                            "User bob has no permissions to access the 'k1' key"));
    reds_free(s);
    s = NULL;
    ASSERT_OK(reds_acl_dryrun(c, REDS_STR("bob"), REDS_STR("del"),
                              &(reds_acl_dryrun_opts){.args = &REDS_STR("k1"), .nargs = 1}, &s));
    ASSERT_STR(s, ON_SERVER("This user has no permissions to run the 'del' command",
                            "User bob has no permissions to run the 'del' command"));
    reds_free(s);

    s = NULL;
    ASSERT_OK(reds_acl_genpass(c, NULL, &s));
    ck_assert_uint_eq(s->len, 64);
    ck_assert_uint_eq(strspn(s->ptr, "0123456789abcdef"), 64);
    reds_free(s);
    s = NULL;
    ASSERT_OK(reds_acl_genpass(c, &(reds_acl_genpass_opts){.bits = REDS_I64(32)}, &s));
    ck_assert_uint_eq(s->len, 8);
    reds_free(s);

    l = NULL;
    ASSERT_OK(reds_acl_cat(c, NULL, &l));
    ck_assert(list_has(l, "keyspace") && list_has(l, "stream") && list_has(l, "dangerous"));
    reds_free(l);
    l = NULL;
    ASSERT_OK(reds_acl_cat(c, &(reds_acl_cat_opts){.categoryname = REDS_STR("hyperloglog")}, &l));
    ck_assert_uint_eq(l->count, 5);
    ck_assert(list_has(l, "pfadd") && list_has(l, "pfmerge"));
    reds_free(l);
    ASSERT_ERR(reds_acl_cat(c, &(reds_acl_cat_opts){.categoryname = REDS_STR("nosuch")}, &l),
               REDS_ERR_RESPONSE);

    int64_t n = -1;
    ASSERT_OK(reds_acl_deluser(c, (reds_str[]){REDS_STR("bob"), REDS_STR("nosuch")}, 2, &n));
    ck_assert_int_eq(n, 1);
    ASSERT_ERR(reds_acl_deluser(c, &REDS_STR("default"), 1, &n), REDS_ERR_RESPONSE);

    reds_strlist *help = NULL;
    ASSERT_OK(reds_acl_help(c, &help));
    ck_assert_ptr_nonnull(strstr(help->items[0].ptr, "ACL"));
    reds_free(help);
}
END_TEST

START_TEST(acl_log_entries)
{
    ASSERT_OK(reds_acl_log_reset(c));
    ASSERT_OK(reds_acl_setuser(
        c, REDS_STR("eve"),
        &(reds_acl_setuser_opts){.rules = (reds_str[]){REDS_STR("on"), REDS_STR(">secret"),
                                                       REDS_STR("~*"), REDS_STR("+ping"),
                                                       REDS_STR("+client|setname")},
                                 .nrules = 5}));
    /* A wrong password, twice (one entry, counted), then a denied command. */
    reds_client *bad = test_client(&(reds_options){.username = "eve", .password = "wrong"});
    ASSERT_ERR(reds_ping(bad, NULL, NULL), REDS_ERR_AUTH);
    ASSERT_ERR(reds_ping(bad, NULL, NULL), REDS_ERR_AUTH);
    reds_client_free(bad);
    reds_client *eve = test_client(
        &(reds_options){.username = "eve", .password = "secret", .client_name = "eve-app"});
    ASSERT_ERR(reds_get(eve, REDS_STR("k"), NULL), REDS_ERR_NOPERM);
    reds_client_free(eve);

    reds_acl_log_entry_list *log = NULL;
    ASSERT_OK(reds_acl_log(c, NULL, &log));
    ck_assert_uint_eq(log->count, 2);
    const reds_acl_log_entry *denied = &log->items[0], *auth = &log->items[1]; /* newest first */
    ck_assert_int_eq(denied->count, 1);
    ASSERT_STR(&denied->reason, "command");
    ASSERT_STR(&denied->context, "toplevel");
    ASSERT_STR(&denied->object, "get");
    ASSERT_STR(&denied->username, "eve");
    ck_assert(denied->age_seconds >= 0 && denied->age_seconds < 60);
    ck_assert_ptr_nonnull(strstr(denied->client_info.ptr, "name=eve-app"));
    ck_assert_ptr_nonnull(strstr(denied->client_info.ptr, "user=eve"));
    ck_assert_int_eq(auth->count, 2);
    ASSERT_STR(&auth->reason, "auth");
    ASSERT_STR(&auth->object, "AUTH");
    ASSERT_STR(&auth->username, "eve");
    reds_free(log);

    log = NULL;
    ASSERT_OK(reds_acl_log(c, &(reds_acl_log_opts){.count = REDS_I64(1)}, &log));
    ck_assert_uint_eq(log->count, 1);
    ASSERT_STR(&log->items[0].reason, "command");
    reds_free(log);
    ASSERT_OK(reds_acl_log_reset(c));
    log = NULL;
    ASSERT_OK(reds_acl_log(c, NULL, &log));
    ck_assert_uint_eq(log->count, 0);
    reds_free(log);
    ASSERT_OK(reds_acl_deluser(c, &REDS_STR("eve"), 1, NULL));
}
END_TEST

/* --------------------------------------------------- MODULE, LOLWUT */

START_TEST(module_commands_without_modules)
{
    reds_module_info_list *mods = NULL;
    ASSERT_OK(reds_module_list(c, &mods));
    ck_assert_uint_eq(mods->count, 0);
    reds_free(mods);
    /* The suite's server does not allow MODULE LOAD at all. */
    ASSERT_ERR(reds_module_load(c, REDS_STR("/nonexistent/reds-test.so"), NULL), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "MODULE command not allowed"));
    reds_strlist *help = NULL;
    ASSERT_OK(reds_module_help(c, &help));
    ck_assert_ptr_nonnull(strstr(help->items[0].ptr, "MODULE"));
    reds_free(help);
}
END_TEST

START_TEST(lolwut_art)
{
    reds_str *art = NULL;
    ASSERT_OK(reds_lolwut(c, NULL, &art));
    ck_assert_ptr_nonnull(strstr(art->ptr, "Redis ver. "));
    reds_free(art);
    art = NULL;
    ASSERT_OK(reds_lolwut(c, &(reds_lolwut_opts){.version = REDS_I64(5)}, &art));
    ck_assert_ptr_nonnull(strstr(art->ptr, "Georg Nees"));
    reds_free(art);
}
END_TEST

/* ------------------------------------ a server started from a config file */

static fixture_server confsrv;
static char acl_dir[64], acl_file[128];

static void confsrv_start(void)
{
    snprintf(acl_dir, sizeof acl_dir, "/tmp/reds-acl-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(acl_dir));
    snprintf(acl_file, sizeof acl_file, "%s/users.acl", acl_dir);
    FILE *f = fopen(acl_file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    const char *extra[] = {"--aclfile", acl_file, "--enable-module-command", "local", NULL};
    ck_assert_int_eq(fixture_start_conf(&confsrv, "# written by check_server\nhz 10\n", extra), 0);
}

static void confsrv_stop(void)
{
    fixture_stop(&confsrv);
    unlink(acl_file);
    rmdir(acl_dir);
}

/* Whether the file at `path` contains `text`. */
static bool file_has(const char *path, const char *text)
{
    static char buf[65536];
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, text) != NULL;
}

START_TEST(config_file_server)
{
    reds_client *x = client_of(&confsrv);
    char conf[256];
    snprintf(conf, sizeof conf, "%s/redis.conf", confsrv.dir);
    config_set(x, "maxmemory-policy", "allkeys-lfu");
    ASSERT_OK(reds_config_rewrite(x));
    ck_assert(file_has(conf, "maxmemory-policy allkeys-lfu"));
    ck_assert(file_has(conf, "# written by check_server"));

    /* ACL SAVE writes the users; ACL LOAD brings them back. */
    ASSERT_OK(reds_acl_setuser(
        x, REDS_STR("carol"),
        &(reds_acl_setuser_opts){
            .rules = (reds_str[]){REDS_STR("on"), REDS_STR("nopass"), REDS_STR("+ping")},
            .nrules = 3}));
    ASSERT_OK(reds_acl_save(x));
    ck_assert(file_has(acl_file, "user carol on nopass"));
    ASSERT_OK(reds_acl_deluser(x, &REDS_STR("carol"), 1, NULL));
    ASSERT_OK(reds_acl_load(x));
    reds_acl_user *u = NULL;
    ASSERT_OK(reds_acl_getuser(x, REDS_STR("carol"), &u));
    ck_assert_ptr_nonnull(u);
    ASSERT_STR(&u->commands, "-@all +ping");
    reds_free(u);
    /* On the suite's server (no aclfile) both are refused. */
    ASSERT_ERR(reds_acl_save(c), REDS_ERR_RESPONSE);
    ASSERT_ERR(reds_acl_load(c), REDS_ERR_RESPONSE);

    /* Modules may be loaded here, but there is no module to load. */
    ASSERT_ERR(reds_module_load(x, REDS_STR("/nonexistent/reds-test.so"),
                                &(reds_module_load_opts){.args = &REDS_STR("arg"), .nargs = 1}),
               REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "Error loading the extension"));
    ASSERT_ERR(reds_module_loadex(
                   x, REDS_STR("/nonexistent/reds-test.so"),
                   &(reds_module_loadex_opts){
                       .configs = (reds_module_config[]){{REDS_STR("name"), REDS_STR("value")}},
                       .nconfigs = 1,
                       .args = (reds_str[]){REDS_STR("a"), REDS_STR("b")},
                       .nargs = 2}),
               REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "Error loading the extension"));
    ASSERT_ERR(reds_module_unload(x, REDS_STR("nosuch")), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "no such module"));
    reds_module_info_list *mods = NULL;
    ASSERT_OK(reds_module_list(x, &mods));
    ck_assert_uint_eq(mods->count, 0);
    reds_free(mods);
    reds_client_free(x);
}
END_TEST

/* ------------------------------------------------------------ replication */

/* ROLE of `x`, once it is `type` (and, for a replica, connected). */
static reds_role_reply *role_when(reds_client *x, reds_role_type type)
{
    for (int i = 0; i < 1000; i++) {
        reds_role_reply *r = NULL;
        ASSERT_OK(reds_role(x, &r));
        if (r->type == type &&
            (type != REDS_ROLE_REPLICA || str_is(&r->replica.state, "connected")) &&
            (type != REDS_ROLE_MASTER || r->master.nreplicas > 0 || i > 20))
            return r;
        reds_free(r);
        sleep_ms(10);
    }
    ck_abort_msg("ROLE never became %d", (int)type);
    return NULL;
}

START_TEST(replication_role_and_failover)
{
    const char *extra[] = {"--repl-diskless-sync-delay", "0", NULL};
    fixture_server a, b;
    ck_assert_int_eq(fixture_start(&a, extra), 0);
    ck_assert_int_eq(fixture_start(&b, extra), 0);
    reds_client *ca = client_of(&a), *cb = client_of(&b);

    reds_role_reply *role = NULL;
    ASSERT_OK(reds_role(ca, &role));
    ck_assert_int_eq(role->type, REDS_ROLE_MASTER);
    ASSERT_STR(&role->name, "master");
    ck_assert_uint_eq(role->master.nreplicas, 0);
    reds_free(role);

    ASSERT_OK(reds_replicaof(cb, REDS_STR("127.0.0.1"), a.port));
    role = role_when(cb, REDS_ROLE_REPLICA);
    ASSERT_STR(&role->name, "slave");
    ASSERT_STR(&role->replica.master_host, "127.0.0.1");
    ck_assert_int_eq(role->replica.master_port, a.port);
    ASSERT_STR(&role->replica.state, "connected");
    ck_assert_int_ge(role->replica.offset, 0);
    reds_free(role);
    role = role_when(ca, REDS_ROLE_MASTER);
    ck_assert_uint_eq(role->master.nreplicas, 1);
    ASSERT_STR(&role->master.replicas[0].ip, "127.0.0.1");
    ck_assert_int_eq(role->master.replicas[0].port, b.port);
    ck_assert_int_ge(role->master.replicas[0].offset, 0);
    ck_assert_int_ge(role->master.offset, role->master.replicas[0].offset);
    reds_free(role);
    /* Writes reach the replica, which refuses its own. */
    set(ca, "k", "v");
    reds_str *v = NULL;
    for (int i = 0; i < 500 && !v; i++) {
        ASSERT_OK(reds_get(cb, REDS_STR("k"), &v));
        if (!v)
            sleep_ms(10);
    }
    ASSERT_STR(v, "v");
    reds_free(v);
    ASSERT_ERR(reds_set(cb, REDS_STR("k"), REDS_STR("w"), NULL, NULL), REDS_ERR_READONLY);

    /* FAILOVER: a hands over to b and follows it. */
    ASSERT_ERR(reds_failover(ca, &(reds_failover_opts){.abort = true}),
               REDS_ERR_RESPONSE); /* none running */
    ASSERT_OK(reds_failover(
        ca, &(reds_failover_opts){
                .target = {.set = true, .host = REDS_STR("127.0.0.1"), .port = b.port},
                .timeout = REDS_I64(5000)}));
    role = role_when(ca, REDS_ROLE_REPLICA);
    ck_assert_int_eq(role->replica.master_port, b.port);
    reds_free(role);
    role = role_when(cb, REDS_ROLE_MASTER);
    ck_assert_uint_eq(role->master.nreplicas, 1);
    ck_assert_int_eq(role->master.replicas[0].port, a.port);
    reds_free(role);
    set(cb, "k2", "v2");

    /* REPLICAOF NO ONE: a stands alone again; SLAVEOF, the old spelling. */
    ASSERT_OK(reds_replicaof_no_one(ca));
    role = role_when(ca, REDS_ROLE_MASTER);
    ASSERT_STR(&role->name, "master");
    reds_free(role);
    ASSERT_OK(reds_slaveof(ca, REDS_STR("127.0.0.1"), b.port));
    role = role_when(ca, REDS_ROLE_REPLICA);
    ck_assert_int_eq(role->replica.master_port, b.port);
    reds_free(role);
    ASSERT_OK(reds_slaveof_no_one(ca));
    role = role_when(ca, REDS_ROLE_MASTER);
    reds_free(role);

    reds_client_free(ca);
    reds_client_free(cb);
    fixture_stop(&a);
    fixture_stop(&b);
}
END_TEST

START_TEST(shutdown_a_throwaway_server)
{
    fixture_server s;
    ck_assert_int_eq(fixture_start(&s, NULL), 0);
    reds_client *x = client_of(&s);
    ASSERT_ERR(reds_shutdown(x, &(reds_shutdown_opts){.abort = true}), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "No shutdown in progress"));
    /* Success closes the connection without a reply. */
    ASSERT_ERR(
        reds_shutdown(x, &(reds_shutdown_opts){.save = REDS_SHUTDOWN_SAVE_NOSAVE, .now = true}),
        REDS_ERR_CONNECTION);
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 500 && done != s.pid; i++) {
        done = waitpid(s.pid, &status, WNOHANG);
        if (done != s.pid)
            sleep_ms(10);
    }
    ck_assert_int_eq(done, s.pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    s.pid = 0;
    ASSERT_ERR(reds_ping(x, NULL, NULL), REDS_ERR_CONNECTION);
    reds_client_free(x);
    fixture_stop(&s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("server");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, info_sections_and_fields);
    tcase_add_test(tc, config_get_set_resetstat_help);
    tcase_add_test(tc, dbsize_flush_swapdb);
    tcase_add_test(tc, restore_asking);
    tcase_add_test(tc, time_save_lastsave_bgsave_bgrewriteaof);
    tcase_add_test(tc, slowlog_entries);
    tcase_add_test(tc, latency_monitor);
    tcase_add_test(tc, memory_commands);
    tcase_add_test(tc, memory_stats);
    tcase_add_test(tc, command_count_list_getkeys);
    tcase_add_test(tc, command_info_records);
    tcase_add_test(tc, command_docs_records);
    tcase_add_test(tc, acl_users_and_rules);
    tcase_add_test(tc, acl_log_entries);
    tcase_add_test(tc, module_commands_without_modules);
    tcase_add_test(tc, lolwut_art);
    suite_add_tcase(s, tc);
    tc = tcase_create("config_file");
    tcase_add_unchecked_fixture(tc, confsrv_start, confsrv_stop);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, config_file_server);
    suite_add_tcase(s, tc);
    tc = tcase_create("replication");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, replication_role_and_failover);
    tcase_add_test(tc, shutdown_a_throwaway_server);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
