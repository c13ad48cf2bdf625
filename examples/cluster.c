/* A Redis Cluster from one seed node: the nodes it finds, keys written and
 * read across slots, a pipeline that spans the nodes, MGET/MSET split by
 * slot, and a transaction kept in one slot by a hash tag.
 *
 *     build/examples/cluster [host:port]
 *
 * Default seed: 127.0.0.1:7000. To make a throwaway cluster of six nodes:
 *
 *     for p in 7000 7001 7002 7003 7004 7005; do
 *       redis-server --port $p --cluster-enabled yes --cluster-config-file nodes-$p.conf \
 *         --save "" --appendonly no --daemonize yes; done
 *     redis-cli --cluster create 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002 \
 *       127.0.0.1:7003 127.0.0.1:7004 127.0.0.1:7005 --cluster-replicas 1 --cluster-yes
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reds/reds.h>

#define KEYS 12

static int fail(const char *what)
{
    fprintf(stderr, "cluster: %s: %s\n", what, reds_errmsg());
    return 1;
}

int main(int argc, char **argv)
{
    char host[256] = "127.0.0.1";
    int port = 7000;
    if (argc > 1) {
        const char *colon = strrchr(argv[1], ':');
        size_t len = colon ? (size_t)(colon - argv[1]) : strlen(argv[1]);
        snprintf(host, sizeof host, "%.*s", (int)len, argv[1]);
        if (colon)
            port = atoi(colon + 1);
    }
    reds_host_port seed = {host, port};
    /* Short timeouts notice a dead node fast; the client then reloads the
     * slot map and retries what is safe to retry. */
    reds_options node = {.connect_timeout_ms = 1000, .socket_timeout_ms = 2000};
    reds_cluster_options opts = {.node = &node};
    reds_client *c;
    if (reds_cluster_new(&seed, 1, &opts, &c))
        return fail("connect");

    /* The nodes, as the slot map says. */
    reds_cluster_member_list *nodes = NULL;
    if (reds_cluster_members(c, &nodes) == REDS_OK) {
        for (size_t i = 0; i < nodes->count; i++) {
            const reds_cluster_member *m = &nodes->items[i];
            if (m->primary)
                printf("node %zu %s:%d primary, %lld slots\n", i, m->host.ptr, m->port,
                       (long long)m->slots);
            else if (m->replica)
                printf("node %zu %s:%d replica of node %zu\n", i, m->host.ptr, m->port, m->of);
        }
    }
    reds_free(nodes);

    /* Keys in many slots: each command goes to the primary of its key. */
    for (int i = 0; i < KEYS; i++) {
        char key[32], value[32];
        snprintf(key, sizeof key, "example:%d", i);
        snprintf(value, sizeof value, "value %d", i);
        size_t owner = 0;
        int slot = 0;
        if (reds_set(c, reds_cstr(key), reds_cstr(value), NULL, NULL) ||
            reds_cluster_locate(c, reds_cstr(key), &owner, &slot))
            return fail("SET");
        printf("%s -> slot %d on node %zu\n", key, slot, owner);
    }
    int64_t total = 0;
    if (reds_dbsize(c, &total)) /* summed over the primaries */
        return fail("DBSIZE");
    printf("DBSIZE over the cluster: %lld\n", (long long)total);

    /* A pipeline: grouped by node, every node written before any reply is
     * read, outputs filled in the order the commands were queued. */
    reds_client *p;
    reds_str *got[KEYS] = {0};
    int64_t hits[KEYS];
    if (reds_pipeline_new(c, false, &p))
        return fail("pipeline");
    for (int i = 0; i < KEYS; i++) {
        char key[32], counter[32];
        snprintf(key, sizeof key, "example:%d", i);
        snprintf(counter, sizeof counter, "example:hits:%d", i);
        reds_get(p, reds_cstr(key), &got[i]);
        reds_incr(p, reds_cstr(counter), &hits[i]);
    }
    if (reds_pipeline_execute(p))
        return fail("pipeline execute");
    for (int i = 0; i < KEYS; i++) {
        printf("pipeline: example:%d = %s, hits %lld\n", i, got[i] ? got[i]->ptr : "(nil)",
               (long long)hits[i]);
        reds_free(got[i]);
    }
    reds_client_free(p);

    /* MGET across slots needs the non-atomic form; MGET itself would be
     * refused before anything is sent (REDS_ERR_CROSSSLOT). */
    reds_str keys[3] = {REDS_STR("example:1"), REDS_STR("example:2"), REDS_STR("example:none")};
    reds_strlist *values = NULL;
    if (reds_mget(c, keys, 3, &values) == REDS_ERR_CROSSSLOT)
        printf("MGET over three slots: %s\n", reds_errmsg());
    if (reds_cluster_mget(c, keys, 3, &values))
        return fail("reds_cluster_mget");
    for (size_t i = 0; i < values->count; i++)
        printf("reds_cluster_mget: %s = %s\n", keys[i].ptr,
               values->items[i].ptr ? values->items[i].ptr : "(nil)");
    reds_free(values);

    /* A transaction: its keys share a hash tag, so one slot, one node. */
    reds_client *tx;
    int64_t balance = 0;
    if (reds_pipeline_new(c, true, &tx))
        return fail("transaction");
    reds_incrby(tx, REDS_STR("{account:7}:balance"), 100, &balance);
    reds_str entry = REDS_STR("+100");
    reds_lpush(tx, REDS_STR("{account:7}:log"), &entry, 1, NULL);
    if (reds_pipeline_execute(tx))
        return fail("transaction execute");
    printf("transaction: balance %lld\n", (long long)balance);
    reds_client_free(tx);

    reds_cluster_stats st;
    reds_cluster_get_stats(c, &st);
    printf("redirections: %llu MOVED, %llu ASK; %llu slot map loads\n",
           (unsigned long long)st.moved, (unsigned long long)st.ask,
           (unsigned long long)st.refreshes);
    reds_client_free(c);
    return 0;
}
