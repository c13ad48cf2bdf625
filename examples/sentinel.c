/* A service behind Redis Sentinel: find it through the Sentinels, write to
 * its master, read from its replicas, and carry on through a failover.
 *
 *     build/examples/sentinel [service] [host:port ...]
 *
 * Defaults: service "mymaster", one Sentinel at 127.0.0.1:26379. It stops
 * at once, with status 1, when no Sentinel answers or none knows the
 * service. A throwaway set to try it: a master on 6380, a replica on 6381
 * and three Sentinels, everything in a temporary directory:
 *
 *     d=$(mktemp -d)
 *     redis-server --port 6380 --save "" --appendonly no --daemonize yes --logfile $d/6380.log
 *     redis-server --port 6381 --save "" --appendonly no --daemonize yes --logfile $d/6381.log \
 *         --replicaof 127.0.0.1 6380
 *     for p in 26379 26380 26381; do
 *         printf 'port %s\nsentinel monitor mymaster 127.0.0.1 6380 2\n' $p >$d/$p.conf
 *         printf 'sentinel down-after-milliseconds mymaster 2000\n' >>$d/$p.conf
 *         redis-server $d/$p.conf --sentinel --daemonize yes --logfile $d/$p.log
 *     done
 *     build/examples/sentinel mymaster 127.0.0.1:26379 127.0.0.1:26380 127.0.0.1:26381
 *
 * Then, from another shell, `redis-cli -p 26379 SENTINEL FAILOVER mymaster`
 * (or kill the master: `redis-cli -p 6380 SHUTDOWN NOSAVE`): a few writes
 * fail while the Sentinels elect a new master, then the program continues
 * on it. It stops after 60 seconds, or with status 1 after 30 seconds
 * without a successful write. Clean up with
 *
 *     for p in 6380 6381 26379 26380 26381; do redis-cli -p $p SHUTDOWN NOSAVE; done
 *     rm -r "$d"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <reds/reds.h>

#define MAX_SENTINELS 8

int main(int argc, char **argv)
{
    const char *service = argc > 1 ? argv[1] : "mymaster";
    reds_host_port at[MAX_SENTINELS];
    char hosts[MAX_SENTINELS][256];
    size_t n = 0;
    for (int i = 2; i < argc && n < MAX_SENTINELS; i++, n++) {
        const char *colon = strrchr(argv[i], ':');
        size_t len = colon ? (size_t)(colon - argv[i]) : strlen(argv[i]);
        snprintf(hosts[n], sizeof hosts[n], "%.*s", (int)len, argv[i]);
        at[n] = (reds_host_port){hosts[n], colon ? atoi(colon + 1) : 26379};
    }
    if (!n)
        at[n++] = (reds_host_port){"127.0.0.1", 26379};

    reds_sentinel *sentinel;
    reds_client *master, *replica;
    /* Short timeouts find a dead master fast; retries re-run a write that
     * met a demoted master (READONLY: it did not run) on the new one. */
    reds_options opts = {.connect_timeout_ms = 500, .socket_timeout_ms = 1000, .retries = 3};
    if (reds_sentinel_new(at, n, NULL, &sentinel) ||
        reds_sentinel_master_for(sentinel, service, &opts, &master) ||
        reds_sentinel_replica_for(sentinel, service, &opts, &replica)) {
        fprintf(stderr, "sentinel: %s\n", reds_errmsg());
        return 1;
    }

    /* Fail fast: without a Sentinel that knows the service, every write
     * below would fail for a minute. */
    reds_host_port *where = NULL;
    reds_err err = reds_sentinel_discover_master(sentinel, service, &where);
    if (err) {
        char why[512]; /* reds_errmsg() is the last error: keep this one */
        snprintf(why, sizeof why, "%s", reds_errmsg());
        size_t answering = 0;
        for (size_t i = 0; i < n; i++)
            if (reds_ping(reds_sentinel_node(sentinel, i), NULL, NULL) == REDS_OK)
                answering++;
            else
                fprintf(stderr, "sentinel: %s:%d does not answer: %s\n", at[i].host, at[i].port,
                        reds_errmsg());
        if (answering)
            fprintf(stderr, "sentinel: no Sentinel names a master for '%s': %s\n", service, why);
        else
            fprintf(stderr, "sentinel: no Sentinel answers; the top of examples/sentinel.c "
                            "says how to start a throwaway set\n");
        reds_client_free(replica);
        reds_client_free(master);
        reds_sentinel_free(sentinel);
        return 1;
    }
    printf("%s: master at %s:%d\n", service, where->host, where->port);
    reds_free(where);

    int failing = 0; /* consecutive failed writes */
    for (int i = 0; i < 600 && failing < 300; i++) {
        char value[32];
        snprintf(value, sizeof value, "%d", i);
        err = reds_set(master, REDS_STR("example:counter"), reds_cstr(value), NULL, NULL);
        if (err) {
            /* MasterNotFound and connection errors while the Sentinels
             * fail over; both are kinds of ConnectionError. */
            printf("write %d failed (%s): %s\n", i, reds_err_name(err), reds_errmsg());
            failing++;
        } else {
            failing = 0;
            reds_str *seen = NULL;
            /* A replica may lag behind: it shows the last value it has. */
            if (reds_get(replica, REDS_STR("example:counter"), &seen) == REDS_OK && i % 50 == 0)
                printf("wrote %s; a replica has %s\n", value, seen ? seen->ptr : "(nil)");
            reds_free(seen);
        }
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (failing)
        fprintf(stderr, "sentinel: the last %d writes failed; giving up\n", failing);
    reds_client_free(replica);
    reds_client_free(master);
    reds_sentinel_free(sentinel);
    return failing ? 1 : 0;
}
