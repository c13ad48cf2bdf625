/* A Sentinel deployment on loopback for tests and examples: one master,
 * one replica and three `redis-server --sentinel` (valkey-server with
 * REDS_TEST_SERVER=valkey), each in a temporary directory of its own (the
 * Sentinels with writable config files), with short down-after and
 * failover timeouts so that failovers take seconds.
 * Always stopped; every process also dies with its parent. */
#ifndef REDS_FIXTURE_SENTINEL_H
#define REDS_FIXTURE_SENTINEL_H

#include "fixture.h"

#define FIXTURE_SENTINELS 3
/* down-after-milliseconds and failover-timeout of the monitored service. */
#define FIXTURE_DOWN_AFTER_MS       1000
#define FIXTURE_FAILOVER_TIMEOUT_MS 3000

typedef struct fixture_sentinel_set {
    char service[32];
    /* data[0] starts as the master, data[1] as its replica; failovers swap
     * the roles, so ask the Sentinels (or fixture_sentinel_master()). */
    fixture_server data[2];
    fixture_server sentinel[FIXTURE_SENTINELS];
} fixture_sentinel_set;

/* Start the whole set monitoring `service` (quorum 2) and wait until every
 * Sentinel knows the replica and the two other Sentinels. Returns 0, or -1
 * with a message on stderr (everything started is stopped). */
int fixture_sentinel_start(fixture_sentinel_set *set, const char *service);

/* Stop every process and remove every directory. */
void fixture_sentinel_stop(fixture_sentinel_set *set);

/* Start one Sentinel from a config file holding `conf_text` (written as
 * sentinel.conf in a new temporary directory; port, bind, unix socket,
 * dir and log file are added). Returns 0 or -1. */
int fixture_sentinel_spawn(fixture_server *s, const char *conf_text);

/* The index in set->data of the server on `port`, or -1. */
int fixture_sentinel_data_index(const fixture_sentinel_set *set, int port);

/* Wait up to `timeout_ms` until all Sentinels name the same master for the
 * service, that master answers ROLE as a master and has `replicas` replicas
 * connected (and each Sentinel sees them). Returns the index in set->data
 * of the master, or -1 on timeout. */
int fixture_sentinel_settled(const fixture_sentinel_set *set, int replicas, int timeout_ms);

#endif
