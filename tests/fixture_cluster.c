/* See fixture_cluster.h. */
#include "fixture_cluster.h"

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

#define PORT_LOW  20000
#define PORT_HIGH 45000 /* the bus port, +10000, stays below 55536 */

static const char *const node_args[] = {
    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout",
    "2000",
    /* A replica may always take over, however long its link was down. */
    "--cluster-replica-validity-factor", "0", "--repl-diskless-sync", "yes",
    "--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1", NULL};

int fixture_cluster_index(const fixture_cluster *fc, int port)
{
    for (int i = 0; i < FIXTURE_CLUSTER_NODES; i++)
        if (fc->node[i].port == port)
            return i;
    return -1;
}

static bool port_taken(const fixture_cluster *fc, int upto, int port)
{
    for (int i = 0; i < upto; i++)
        if (abs(fc->node[i].port - port) < 2 || abs(fc->node[i].port + 10000 - port) < 2 ||
            abs(fc->node[i].port - 10000 - port) < 2)
            return true;
    return false;
}

/* One node on a port of our choosing (fixture_free_port() may give ports
 * whose bus port would not exist); another port when it is taken. */
static int start_node(fixture_cluster *fc, int i)
{
    fixture_server *s = &fc->node[i];
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/reds-cluster-XXXXXX");
    if (!mkdtemp(s->dir)) {
        perror("fixture: mkdtemp");
        s->dir[0] = '\0';
        return -1;
    }
    snprintf(s->sock, sizeof s->sock, "%s/redis.sock", s->dir);
    for (int attempt = 0; attempt < 20; attempt++) {
        int port;
        do
            port = PORT_LOW + (int)((unsigned)rand() % (PORT_HIGH - PORT_LOW));
        while (port_taken(fc, i, port));
        s->port = port;
        if (fixture_restart(s, node_args) == 0)
            return 0;
    }
    fprintf(stderr, "fixture: cluster node %d did not start (log in %s)\n", i, s->dir);
    return -1;
}

int fixture_cluster_restart(fixture_cluster *fc, int i)
{
    return fixture_restart(&fc->node[i], node_args);
}

static reds_client *client_on(int port)
{
    reds_options o = {
        .host = "127.0.0.1", .port = port, .connect_timeout_ms = 500, .socket_timeout_ms = 2000};
    reds_client *c = NULL;
    return reds_client_new(&o, &c) == REDS_OK ? c : NULL;
}

int fixture_cluster_cli(const fixture_cluster *fc, const char *const *args)
{
    /* The client of the servers' own kind (redis-cli or valkey-cli). */
    const char *argv[64] = {fixture_cli_program(fc->node[0].kind)};
    size_t n = 1;
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char log[256];
    snprintf(log, sizeof log, "%s/cli.log", fc->node[0].dir);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int null = open("/dev/null", O_RDONLY);
        if (out >= 0) {
            dup2(out, 1);
            dup2(out, 2);
        }
        if (null >= 0)
            dup2(null, 0);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char fixture_cluster_role(const fixture_cluster *fc, int i)
{
    if (fc->node[i].pid <= 0)
        return 0;
    reds_client *c = client_on(fc->node[i].port);
    reds_role_reply *r = NULL;
    char role = 0;
    if (c && reds_role(c, &r) == REDS_OK)
        role = r->type == REDS_ROLE_MASTER ? 'm' : r->type == REDS_ROLE_REPLICA ? 's' : 0;
    reds_free(r);
    reds_client_free(c);
    return role;
}

/* A text form of a node's CLUSTER SHARDS, to compare the nodes' views:
 * per shard its slot ranges, its primary, and its online replicas. */
static bool shards_view(int port, char *buf, size_t size, int *primaries, int *replicated)
{
    reds_client *c = client_on(port);
    reds_cluster_info_reply *ci = NULL;
    reds_cluster_shard_list *l = NULL;
    bool ok = c && reds_cluster_info(c, &ci) == REDS_OK && ci->cluster_state.len == 2 &&
              memcmp(ci->cluster_state.ptr, "ok", 2) == 0 && ci->cluster_slots_ok == 16384 &&
              ci->cluster_slots_pfail == 0 && ci->cluster_slots_fail == 0 &&
              reds_cluster_shards(c, &l) == REDS_OK;
    size_t used = 0;
    *primaries = *replicated = 0;
    buf[0] = '\0';
    /* The epoch too: a node that does not know the newest one yet would
     * not bump its own when it takes a slot over (CLUSTER SETSLOT NODE),
     * and a stale claim could then win. */
    if (ok)
        used = (size_t)snprintf(buf, size, "epoch %lld ", (long long)ci->cluster_current_epoch);
    /* Shards come in no fixed order: list them by their first slot. */
    for (int64_t want = 0; ok && want < 16384;) {
        const reds_cluster_shard *sh = NULL;
        for (size_t i = 0; i < l->count && !sh; i++)
            for (size_t k = 0; k + 1 < l->items[i].slots.count && !sh; k += 2)
                if (l->items[i].slots.items[k] == want)
                    sh = &l->items[i];
        if (!sh) {
            ok = false;
            break;
        }
        int64_t last = want;
        for (size_t k = 0; k + 1 < sh->slots.count; k += 2)
            if (sh->slots.items[k] == want)
                last = sh->slots.items[k + 1];
        int replicas = 0;
        long long master_port = 0, replica_ports[8];
        for (size_t j = 0; j < sh->nnodes; j++) {
            const reds_cluster_shard_node *nd = &sh->nodes[j];
            bool master = nd->role.len == 6 && memcmp(nd->role.ptr, "master", 6) == 0;
            bool online = nd->health.len == 6 && memcmp(nd->health.ptr, "online", 6) == 0;
            if (master)
                master_port = (long long)nd->port;
            else if (online && replicas < 8)
                replica_ports[replicas++] = (long long)nd->port;
        }
        /* Nodes list a shard's members in no fixed order. */
        for (int a = 0; a < replicas; a++)
            for (int b = a + 1; b < replicas; b++)
                if (replica_ports[b] < replica_ports[a]) {
                    long long t = replica_ports[a];
                    replica_ports[a] = replica_ports[b];
                    replica_ports[b] = t;
                }
        used += (size_t)snprintf(buf + used, size - used, "[%lld-%lld m%lld", (long long)want,
                                 (long long)last, master_port);
        for (int a = 0; a < replicas && used < size; a++)
            used += (size_t)snprintf(buf + used, size - used, " s%lld", replica_ports[a]);
        used += (size_t)snprintf(buf + used, size - used, "]");
        want = last + 1;
        if (used >= size)
            ok = false;
    }
    for (size_t i = 0; ok && i < l->count; i++) {
        const reds_cluster_shard *sh = &l->items[i];
        int masters = 0, replicas = 0;
        for (size_t j = 0; sh->slots.count && j < sh->nnodes; j++) {
            bool master = sh->nodes[j].role.len == 6 && !memcmp(sh->nodes[j].role.ptr, "master", 6);
            bool online =
                sh->nodes[j].health.len == 6 && !memcmp(sh->nodes[j].health.ptr, "online", 6);
            masters += master && online;
            replicas += !master && online;
        }
        *primaries += masters;
        *replicated += masters && replicas == 1;
    }
    reds_free(ci);
    reds_free(l);
    reds_client_free(c);
    return ok;
}

int fixture_cluster_settled(const fixture_cluster *fc, int primaries, bool replicated,
                            int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    char first[2048] = "", view[2048] = "";
    int p = 0, r = 0, at = -1;
    do {
        bool agreed = true;
        int running = 0;
        for (int i = 0; i < FIXTURE_CLUSTER_NODES && agreed; i++) {
            if (fc->node[i].pid <= 0)
                continue;
            at = i;
            agreed = shards_view(fc->node[i].port, view, sizeof view, &p, &r);
            if (agreed && running++ == 0)
                memcpy(first, view, sizeof first);
            else if (agreed)
                agreed = strcmp(first, view) == 0;
        }
        if (agreed && running && p == primaries && (!replicated || r == primaries))
            return 0;
        sleep_ms(50);
    } while (now_ms() < deadline);
    fprintf(stderr,
            "fixture: the cluster has not settled: node %d (port %d) sees %s (%d "
            "primaries, %d replicated), the first node %s\n",
            at, at >= 0 ? fc->node[at].port : 0, view, p, r, first);
    for (int i = 0; i < FIXTURE_CLUSTER_NODES; i++) {
        reds_client *c = fc->node[i].pid > 0 ? client_on(fc->node[i].port) : NULL;
        reds_reply *nodes = NULL;
        reds_str argv[] = {REDS_STR("CLUSTER"), REDS_STR("NODES")};
        if (c && reds_execute_command(c, 2, argv, &nodes) == REDS_OK)
            fprintf(stderr, "fixture: CLUSTER NODES of %d:\n%s", fc->node[i].port, nodes->str);
        reds_free(nodes);
        reds_client_free(c);
    }
    return -1;
}

void fixture_cluster_stop(fixture_cluster *fc)
{
    for (int i = 0; i < FIXTURE_CLUSTER_NODES; i++)
        fixture_stop(&fc->node[i]);
}

int fixture_cluster_start(fixture_cluster *fc)
{
    memset(fc, 0, sizeof *fc);
    srand((unsigned)(getpid() ^ (unsigned)now_ms()));
    for (int i = 0; i < FIXTURE_CLUSTER_NODES; i++)
        if (start_node(fc, i) != 0)
            goto fail;
    char addrs[FIXTURE_CLUSTER_NODES][32];
    const char *args[FIXTURE_CLUSTER_NODES + 8];
    size_t n = 0;
    args[n++] = "--cluster";
    args[n++] = "create";
    for (int i = 0; i < FIXTURE_CLUSTER_NODES; i++) {
        snprintf(addrs[i], sizeof addrs[i], "127.0.0.1:%d", fc->node[i].port);
        args[n++] = addrs[i];
    }
    args[n++] = "--cluster-replicas";
    args[n++] = "1";
    args[n++] = "--cluster-yes";
    args[n] = NULL;
    if (fixture_cluster_cli(fc, args) != 0) {
        fprintf(stderr, "fixture: %s --cluster create failed (log in %s/cli.log)\n",
                fixture_cli_program(fc->node[0].kind), fc->node[0].dir);
        goto fail;
    }
    if (fixture_cluster_settled(fc, 3, true, 60000) != 0) {
        fprintf(stderr, "fixture: the cluster did not settle (logs in %s...)\n", fc->node[0].dir);
        goto fail;
    }
    for (int i = 0; i < FIXTURE_CLUSTER_NODES; i++) {
        reds_client *c = client_on(fc->node[i].port);
        reds_str *id = NULL;
        if (!c || reds_cluster_myid(c, &id) != REDS_OK || id->len != 40) {
            reds_free(id);
            reds_client_free(c);
            goto fail;
        }
        memcpy(fc->id[i], id->ptr, 41);
        reds_free(id);
        reds_client_free(c);
    }
    return 0;
fail:
    fixture_cluster_stop(fc);
    return -1;
}

int fixture_cluster_setslot(const fixture_cluster *fc, int i, int slot, const char *how, int other)
{
    reds_cluster_setslot_subcommand sc = {0};
    reds_str id = other >= 0 ? reds_cstr(fc->id[other]) : reds_strn(NULL, 0);
    if (!strcmp(how, "importing"))
        sc.importing = id;
    else if (!strcmp(how, "migrating"))
        sc.migrating = id;
    else if (!strcmp(how, "node"))
        sc.node = id;
    else
        sc.stable = true;
    reds_client *c = client_on(fc->node[i].port);
    reds_err err = c ? reds_cluster_setslot(c, slot, sc) : REDS_ERR;
    if (err)
        fprintf(stderr, "fixture: CLUSTER SETSLOT %d %s on node %d: %s\n", slot, how, i,
                reds_errmsg());
    reds_client_free(c);
    return err ? -1 : 0;
}

int fixture_cluster_assign_slot(const fixture_cluster *fc, int slot, int from, int to)
{
    int rc = fixture_cluster_setslot(fc, to, slot, "node", to);
    if (!rc)
        rc = fixture_cluster_setslot(fc, from, slot, "node", to);
    for (int i = 0; i < FIXTURE_CLUSTER_NODES && !rc; i++)
        if (i != from && i != to && fixture_cluster_role(fc, i) == 'm')
            rc = fixture_cluster_setslot(fc, i, slot, "node", to);
    return rc;
}
