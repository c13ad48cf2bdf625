/* A service behind Redis Sentinel: find it through the Sentinels, write to
 * its master, read from its replicas, and carry on through a failover.
 *
 *     build/examples/sentinel [service] [host:port ...]
 *
 * Defaults: service "mymaster", one Sentinel at 127.0.0.1:26379. Run it,
 * then `redis-cli -p 26379 SENTINEL FAILOVER mymaster` (or kill the
 * master): a few writes fail while the Sentinels elect a new master, then
 * the program continues on it. It stops after 60 seconds. */
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

    reds_host_port *where = NULL;
    if (reds_sentinel_discover_master(sentinel, service, &where) == REDS_OK)
        printf("%s: master at %s:%d\n", service, where->host, where->port);
    reds_free(where);

    for (int i = 0; i < 600; i++) {
        char value[32];
        snprintf(value, sizeof value, "%d", i);
        reds_err err = reds_set(master, REDS_STR("example:counter"), reds_cstr(value), NULL, NULL);
        if (err) {
            /* MasterNotFound and connection errors while the Sentinels
             * fail over; both are kinds of ConnectionError. */
            printf("write %d failed (%s): %s\n", i, reds_err_name(err), reds_errmsg());
        } else {
            reds_str *seen = NULL;
            /* A replica may lag behind: it shows the last value it has. */
            if (reds_get(replica, REDS_STR("example:counter"), &seen) == REDS_OK && i % 50 == 0)
                printf("wrote %s; a replica has %s\n", value, seen ? seen->ptr : "(nil)");
            reds_free(seen);
        }
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    reds_client_free(replica);
    reds_client_free(master);
    reds_sentinel_free(sentinel);
    return 0;
}
