/* See fixture_sentinel.h. */
#include "fixture_sentinel.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <reds/reds.h>

static int exec_sentinel(fixture_server *s, const char *conf)
{
    char port[16], logfile[256];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(logfile, sizeof logfile, "%s/sentinel.log", s->dir);
    const char *server = fixture_server_program(s->kind);
    const char *argv[] = {
        server,      conf,           "--sentinel", "--port",           port,  "--bind",
        "127.0.0.1", "--unixsocket", s->sock,      "--unixsocketperm", "700", "--dir",
        s->dir,      "--logfile",    logfile,      "--daemonize",      "no",  NULL};
    return fixture_exec(s, argv);
}

int fixture_sentinel_spawn(fixture_server *s, const char *conf_text)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/reds-sentinel-XXXXXX");
    if (!mkdtemp(s->dir)) {
        perror("fixture: mkdtemp");
        return -1;
    }
    snprintf(s->sock, sizeof s->sock, "%s/sentinel.sock", s->dir);
    char conf[192];
    snprintf(conf, sizeof conf, "%s/sentinel.conf", s->dir);
    for (int attempt = 0; attempt < 5; attempt++) {
        /* Written afresh each time: a Sentinel rewrites its file. */
        FILE *f = fopen(conf, "w");
        if (!f || fputs(conf_text, f) < 0 || fclose(f) != 0) {
            perror("fixture: sentinel.conf");
            return -1;
        }
        s->port = fixture_free_port();
        if (s->port > 0 && exec_sentinel(s, conf) == 0)
            return 0;
    }
    fprintf(stderr, "fixture: the Sentinel did not start (log in %s)\n", s->dir);
    return -1;
}

void fixture_sentinel_stop(fixture_sentinel_set *set)
{
    for (int i = 0; i < FIXTURE_SENTINELS; i++)
        fixture_stop(&set->sentinel[i]);
    for (int i = 0; i < 2; i++)
        fixture_stop(&set->data[i]);
}

int fixture_sentinel_data_index(const fixture_sentinel_set *set, int port)
{
    for (int i = 0; i < 2; i++)
        if (set->data[i].port == port)
            return i;
    return -1;
}

static reds_client *client_on(int port)
{
    reds_options o = {
        .host = "127.0.0.1", .port = port, .connect_timeout_ms = 500, .socket_timeout_ms = 1000};
    reds_client *c = NULL;
    return reds_client_new(&o, &c) == REDS_OK ? c : NULL;
}

/* Whether the server on `port` is a master with `replicas` replicas online. */
static bool master_with(int port, int replicas)
{
    reds_client *c = client_on(port);
    reds_str argv[] = {REDS_STR("INFO"), REDS_STR("replication")};
    reds_reply *r = NULL;
    bool ok = false;
    if (c && reds_execute_command(c, 2, argv, &r) == REDS_OK && r->str) {
        char want[64];
        snprintf(want, sizeof want, "connected_slaves:%d\r\n", replicas);
        ok = strstr(r->str, "role:master\r\n") && strstr(r->str, want);
        for (int i = 0; ok && i < replicas; i++) {
            char slave[32];
            snprintf(slave, sizeof slave, "slave%d:", i);
            const char *line = strstr(r->str, slave);
            ok = line && strstr(line, "state=online");
        }
    }
    reds_free(r);
    reds_client_free(c);
    return ok;
}

/* The master port Sentinel `port` names, if it sees `replicas` replicas up
 * and two other Sentinels; else -1. */
static int sentinel_view(int port, const char *service, int replicas)
{
    reds_client *c = client_on(port);
    reds_sentinel_master_state *m = NULL;
    reds_sentinel_replica_state_list *rs = NULL;
    int result = -1;
    if (c && reds_sentinel_master(c, reds_cstr(service), &m) == REDS_OK &&
        m->num_other_sentinels == FIXTURE_SENTINELS - 1 && m->flags.len == 6 &&
        reds_sentinel_replicas(c, reds_cstr(service), &rs) == REDS_OK) {
        int up = 0;
        for (size_t i = 0; i < rs->count; i++)
            if (rs->items[i].flags.len == 5 /* "slave", nothing else */ &&
                rs->items[i].master_port == m->port &&
                rs->items[i].master_link_status.len == 2 /* "ok" */)
                up++;
        if (up == replicas)
            result = (int)m->port;
    }
    reds_free(m);
    reds_free(rs);
    reds_client_free(c);
    return result;
}

int fixture_sentinel_settled(const fixture_sentinel_set *set, int replicas, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    do {
        int port = sentinel_view(set->sentinel[0].port, set->service, replicas);
        bool agreed = port > 0;
        for (int i = 1; i < FIXTURE_SENTINELS && agreed; i++)
            agreed = sentinel_view(set->sentinel[i].port, set->service, replicas) == port;
        if (agreed && master_with(port, replicas))
            return fixture_sentinel_data_index(set, port);
        sleep_ms(50);
    } while (now_ms() < deadline);
    return -1;
}

/* Shorter Sentinel periods (SENTINEL DEBUG): INFO every 500 ms rather than
 * 10 s, so that replicas and role changes are seen at once. */
static int speed_up(const fixture_server *s)
{
    reds_client *c = client_on(s->port);
    reds_sentinel_debug_parameter_value pv[] = {
        {REDS_STR("info-period"), REDS_STR("500")},
        {REDS_STR("ping-period"), REDS_STR("250")},
        {REDS_STR("ask-period"), REDS_STR("250")},
        {REDS_STR("publish-period"), REDS_STR("500")},
    };
    reds_err err = c ? reds_sentinel_debug(c, pv, 4) : REDS_ERR;
    reds_client_free(c);
    return err ? -1 : 0;
}

int fixture_sentinel_start(fixture_sentinel_set *set, const char *service)
{
    memset(set, 0, sizeof *set);
    snprintf(set->service, sizeof set->service, "%s", service);
    if (fixture_start_conf(&set->data[0], "", NULL) != 0)
        goto fail;
    char port[16];
    snprintf(port, sizeof port, "%d", set->data[0].port);
    const char *replica[] = {"--replicaof", "127.0.0.1", port, NULL};
    if (fixture_start_conf(&set->data[1], "", replica) != 0)
        goto fail;
    char conf[512];
    snprintf(conf, sizeof conf,
             "sentinel monitor %s 127.0.0.1 %d 2\n"
             "sentinel down-after-milliseconds %s %d\n"
             "sentinel failover-timeout %s %d\n"
             "sentinel parallel-syncs %s 1\n",
             service, set->data[0].port, service, FIXTURE_DOWN_AFTER_MS, service,
             FIXTURE_FAILOVER_TIMEOUT_MS, service);
    for (int i = 0; i < FIXTURE_SENTINELS; i++)
        if (fixture_sentinel_spawn(&set->sentinel[i], conf) != 0 ||
            speed_up(&set->sentinel[i]) != 0)
            goto fail;
    if (fixture_sentinel_settled(set, 1, 30000) != 0) {
        fprintf(stderr, "fixture: the Sentinels did not settle (logs in %s...)\n",
                set->sentinel[0].dir);
        goto fail;
    }
    return 0;
fail:
    fixture_sentinel_stop(set);
    return -1;
}
