/* Pipelines and transactions of cluster clients (see <reds/cluster.h>),
 * and the non-atomic MGET/MSET built on them.
 *
 * A pipeline queues packed commands with their slots. At execution the
 * commands are grouped by node, every group is written, then every reply
 * read, so the nodes work at the same time; commands that met MOVED, ASK,
 * TRYAGAIN or CLUSTERDOWN (or whose node could not be reached before
 * anything was sent) run again one by one with every redirection.
 *
 * A transaction has one slot, so one node: it is handed to an ordinary
 * pipeline (pipeline.c) lent that node's connections by a small router,
 * which sends ASKING first when the transaction follows an ASK. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reds/pipeline.h>

#include "cluster_impl.h"
#include "command_ids.h"
#include "pack.h"

#define FIRST_CAP 4096

/* ------------------------------------------------------------- lenders */

/* Lends the connections of one node, after ASKING when asked to. */
typedef struct lender {
    reds_client base;
    reds__cnode *node;
    bool asking;
    bool unsent; /* the last lending failed before anything was sent */
} lender;

static const char asking_cmd[] = "*1\r\n$6\r\nASKING\r\n";

static reds_err lend(reds_client *c, reds__conn **out)
{
    lender *l = (lender *)c;
    reds_err err = reds__client_acquire(l->node->pool, out);
    l->unsent = err != REDS_OK;
    if (err || !l->asking)
        return err;
    reds_reply *reply;
    err = reds__conn_write(*out, asking_cmd, sizeof asking_cmd - 1);
    if (!err)
        err = reds__conn_read(*out, &reply);
    if (err) {
        l->unsent = (*out)->unsent;
        reds__client_release(l->node->pool, *out);
        return err;
    }
    reds__arena_finish(&(*out)->arena);
    return REDS_OK;
}

static void give_back(reds_client *c, reds__conn *conn)
{
    reds__client_release(((lender *)c)->node->pool, conn);
}

static reds_err lender_run(reds_client *c, reds__cmd *cmd)
{
    (void)c;
    return reds__error(REDS_ERR_DATA, "%s: not on a connection lender", reds__cmd_name(cmd));
}

static void lender_destroy(reds_client *c)
{
    (void)c;
}

static const reds__router lender_router = {
    .kind = "cluster node",
    .run = lender_run,
    .acquire = lend,
    .release = give_back,
    .destroy = lender_destroy,
};

/* A transactional pipeline on `node` (pipeline.c), through a lender. */
static reds_err node_pipeline(reds__cluster *cl, reds__cnode *node, bool asking, reds_client **lent,
                              reds_client **pipe)
{
    *pipe = NULL;
    lender *l = calloc(1, sizeof *l);
    if (!l)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    l->base.router = &lender_router;
    l->base.cfg = node->pool->cfg;
    l->base.parent = &cl->base; /* frees neither cfg nor callbacks */
    atomic_init(&l->base.callbacks, atomic_load(&cl->base.callbacks));
    l->node = node;
    l->asking = asking;
    reds_err err = reds_pipeline_new(&l->base, true, pipe);
    if (err) {
        free(l);
        return err;
    }
    *lent = &l->base;
    return REDS_OK;
}

static void free_node_pipeline(reds_client **lent, reds_client **pipe)
{
    reds_client_free(*pipe); /* first: it gives its connection back */
    reds_client_free(*lent);
    *pipe = *lent = NULL;
}

/* Queue (or run, while watching) a packed command on an ordinary pipeline. */
static reds_err forward(reds_client *pipe, uintptr_t id, const char *bytes, size_t len,
                        reds__conv_fn conv, void *out)
{
    char *dst = pipe->router->reserve(pipe, len);
    if (!dst)
        return reds__last_err();
    memcpy(dst, bytes, len);
    reds__cmd cmd;
    cmd.buf = dst;
    cmd.len = len;
    cmd.id = id;
    cmd.conv = conv;
    cmd.out = out;
    return pipe->router->run(pipe, &cmd);
}

/* A redirection named by a pipeline's message "NAME: MOVED ...". */
static bool redirect_in(const char *msg, uintptr_t id, reds__redirect *rd)
{
    size_t skip = strlen(reds__command_name(id)) + 2;
    if (strlen(msg) < skip)
        return false;
    return reds__cluster_redirect(msg + skip, strlen(msg + skip), NULL, rd);
}

static bool is_redirect(reds_err err)
{
    return err == REDS_ERR_MOVED || err == REDS_ERR_ASK || err == REDS_ERR_TRYAGAIN ||
           err == REDS_ERR_CLUSTER_DOWN;
}

/* ----------------------------------------------------------- the queue */

typedef struct pentry {
    reds__queued cmd;
    size_t off, len;
    int slot;
    bool redo; /* run again by itself */
    bool redirected;
    reds__redirect rd;
} pentry;

typedef struct cpipe {
    reds_client base; /* parent: the cluster client */
    reds__cluster *cl;
    bool transaction;
    bool multi;    /* reds_pipeline_multi() was called */
    bool executed; /* q (or inner) holds the outcome of the last execution */
    char *buf;
    size_t len, cap;
    pentry *q;
    size_t n, qcap;
    size_t nheld; /* entries of q holding memory: a message, a name */
    int slot;     /* transactions: the slot of every key so far; -1: none yet */
    /* WATCH pins a node pipeline; commands go to it until it executes.
     * It then holds the results (inner_results). */
    reds_client *lent, *inner;
    bool watching, inner_results;
} cpipe;

static const reds__router cpipe_router;

static char *cp_reserve(reds_client *c, size_t bound)
{
    cpipe *p = (cpipe *)c;
    return reds__buf_reserve(&p->buf, &p->cap, p->len, bound);
}

static void forget_results(cpipe *p)
{
    for (size_t i = 0; p->nheld && i < p->n; i++)
        reds__queued_free(&p->q[i].cmd);
    p->nheld = 0;
    p->n = 0;
    p->executed = false;
    if (p->inner_results)
        free_node_pipeline(&p->lent, &p->inner);
    p->inner_results = false;
}

static void set_err(cpipe *p, pentry *e, reds_err err, const char *text)
{
    p->nheld += reds__queued_fail(&e->cmd, err, text);
}

static reds_err cp_run(reds_client *c, reds__cmd *cmd)
{
    cpipe *p = (cpipe *)c;
    const reds_catalog_entry *e = reds__command_info(cmd->id);
    if (e && (e->flags & REDS_CMD_CONNECTION_SCOPE)) {
        if (reds__pipeline_owns(cmd->id))
            return reds__error(REDS_ERR_DATA,
                               "%s: use reds_pipeline_execute/multi/watch/"
                               "unwatch/discard on a pipeline",
                               e->name);
        return reds__refuse_connection_scope(cmd);
    }
    int slot;
    reds_err err = reds__cluster_cmd_slot(cmd, &slot);
    if (err)
        return err;
    if (slot < 0 && e && e->response_policy != REDS_RESPONSE_SPECIAL &&
        (e->request_policy == REDS_REQUEST_ALL_SHARDS ||
         e->request_policy == REDS_REQUEST_ALL_NODES))
        return reds__error(REDS_ERR_DATA,
                           "%s runs on several nodes of the cluster: run it "
                           "on the cluster client, not in a pipeline",
                           e->name);
    if (p->executed)
        forget_results(p);
    bool tx = p->transaction || p->multi;
    if (tx && slot >= 0 && p->slot >= 0 && slot != p->slot)
        return reds__error(REDS_ERR_CROSSSLOT,
                           "%s: a transaction on a cluster keeps its keys in "
                           "one slot (slot %d so far, this key is in %d)",
                           reds__cmd_name(cmd), p->slot, slot);
    if (p->watching) {
        /* The pinned node pipeline runs it now, or queues it after MULTI. */
        err = forward(p->inner, cmd->id, cmd->buf, cmd->len, cmd->conv, cmd->out);
        if (!err && tx && slot >= 0)
            p->slot = slot;
        return err;
    }
    if (REDS__UNLIKELY(p->n == p->qcap)) {
        size_t cap = p->qcap ? p->qcap * 2 : 64;
        pentry *q = realloc(p->q, cap * sizeof *q);
        if (!q)
            return reds__error(REDS_ERR_NOMEM, "pipeline: out of memory");
        p->q = q;
        p->qcap = cap;
    }
    if (tx && slot >= 0)
        p->slot = slot;
    pentry *q = &p->q[p->n++];
    memset(q, 0, sizeof *q);
    p->nheld += reds__queued_init(&q->cmd, cmd);
    q->off = p->len;
    q->len = cmd->len;
    q->slot = slot;
    p->len += cmd->len;
    return REDS_OK;
}

/* ------------------------------------------------------------ execution */

/* Back to an empty pipeline; the results stay for reds_pipeline_result(). */
static void finish(cpipe *p)
{
    p->executed = true;
    p->len = 0;
    p->multi = false;
    p->slot = -1;
    if (p->cap > 1024 * 1024) {
        char *small = realloc(p->buf, FIRST_CAP);
        if (small) {
            p->buf = small;
            p->cap = FIRST_CAP;
        }
    }
}

static reds_err report(cpipe *p)
{
    for (size_t i = 0; p->nheld && i < p->n; i++)
        if (p->q[i].cmd.err)
            return reds__queued_report(&p->q[i].cmd, i, p->n);
    return REDS_OK;
}

static void deliver(cpipe *p, pentry *e, reds__arena *a, const reds_reply *reply)
{
    p->nheld += reds__queued_deliver(&e->cmd, &p->cl->base, a, reply);
}

/* The commands of one node. */
typedef struct group {
    reds__cnode *node;
    size_t *idx;
    size_t n, cap;
    reds__conn *conn;
    reds_err err; /* lending or writing failed */
    bool sent;
    char msg[256];
} group;

static reds_err add_to_group(group **groups, size_t *ng, size_t *gcap, reds__cnode *node, size_t i)
{
    group *g = NULL;
    for (size_t k = 0; k < *ng && !g; k++)
        if ((*groups)[k].node == node)
            g = &(*groups)[k];
    if (!g) {
        if (*ng == *gcap) {
            size_t cap = *gcap ? *gcap * 2 : 8;
            group *grown = realloc(*groups, cap * sizeof *grown);
            if (!grown)
                return reds__error(REDS_ERR_NOMEM, "out of memory");
            *groups = grown;
            *gcap = cap;
        }
        g = &(*groups)[(*ng)++];
        memset(g, 0, sizeof *g);
        g->node = node;
    }
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        size_t *idx = realloc(g->idx, cap * sizeof *idx);
        if (!idx)
            return reds__error(REDS_ERR_NOMEM, "out of memory");
        g->idx = idx;
        g->cap = cap;
    }
    g->idx[g->n++] = i;
    return REDS_OK;
}

/* Write group `g`'s commands in one write. */
static void send_group(cpipe *p, group *g)
{
    g->err = reds__client_acquire(g->node->pool, &g->conn);
    if (g->err) {
        g->conn = NULL;
        snprintf(g->msg, sizeof g->msg, "%s", reds_errmsg());
        return;
    }
    const char *bytes = p->buf;
    size_t total = p->len;
    char *copy = NULL;
    if (g->n != p->n) { /* the pipeline's buffer holds other nodes' commands too */
        total = 0;
        for (size_t k = 0; k < g->n; k++)
            total += p->q[g->idx[k]].len;
        if (!(copy = malloc(total))) {
            g->err = reds__error(REDS_ERR_NOMEM, "out of memory");
            snprintf(g->msg, sizeof g->msg, "%s", reds_errmsg());
            return;
        }
        size_t at = 0;
        for (size_t k = 0; k < g->n; k++) {
            const pentry *e = &p->q[g->idx[k]];
            memcpy(copy + at, p->buf + e->off, e->len);
            at += e->len;
        }
        bytes = copy;
    }
    g->err = reds__conn_write(g->conn, bytes, total);
    g->sent = !g->conn->unsent;
    if (g->err)
        snprintf(g->msg, sizeof g->msg, "%s", reds_errmsg());
    free(copy);
}

/* Read group `g`'s replies, in order. */
static void read_group(cpipe *p, group *g)
{
    reds__cstate *st = p->cl->st;
    for (size_t k = 0; k < g->n; k++) {
        pentry *e = &p->q[g->idx[k]];
        reds_reply *reply;
        reds_err err = reds__conn_read(g->conn, &reply);
        if (err) {
            /* The rest may or may not have run. */
            char msg[512];
            snprintf(msg, sizeof msg, "%s", reds_errmsg());
            reds__cluster_node_failed(st, g->node);
            for (; k < g->n; k++) {
                e = &p->q[g->idx[k]];
                if (reds__cluster_may_retry(st, e->cmd.id, err, true))
                    e->redo = true;
                else
                    set_err(p, e, err, msg);
            }
            return;
        }
        if (reply->type == REDS_REPLY_ERROR &&
            reds__cluster_redirect(reply->str, reply->len, g->node, &e->rd)) {
            e->redo = e->redirected = true;
            reds__arena_finish(&g->conn->arena);
            continue;
        }
        deliver(p, e, &g->conn->arena, reply);
    }
}

static reds_err exec_batch(cpipe *p)
{
    reds__cstate *st = p->cl->st;
    unsigned epoch = reds__cluster_epoch(st);
    group *groups = NULL;
    size_t ng = 0, gcap = 0;
    for (size_t i = 0; i < p->n; i++) {
        pentry *e = &p->q[i];
        bool read = (reds__command_flags(e->cmd.id) & REDS_CMD_READONLY) != 0;
        reds__cnode *node;
        reds_err err = reds__cluster_pick(st, e->slot, read, &node);
        if (!err)
            err = add_to_group(&groups, &ng, &gcap, node, i);
        if (err)
            set_err(p, e, err, reds_errmsg());
    }
    for (size_t k = 0; k < ng; k++)
        send_group(p, &groups[k]);
    bool trouble = false;
    for (size_t k = 0; k < ng; k++) {
        group *g = &groups[k];
        if (!g->err) {
            read_group(p, g);
        } else {
            trouble = trouble || reds__cluster_transient(g->err);
            if (reds__cluster_transient(g->err))
                reds__cluster_node_failed(st, g->node);
            for (size_t j = 0; j < g->n; j++) {
                pentry *e = &p->q[g->idx[j]];
                if (reds__cluster_transient(g->err) &&
                    reds__cluster_may_retry(st, e->cmd.id, g->err, g->sent))
                    e->redo = true;
                else
                    set_err(p, e, g->err, g->msg);
            }
        }
        if (g->conn) {
            trouble = trouble || g->conn->broken;
            reds__client_release(g->node->pool, g->conn);
        }
        free(g->idx);
    }
    free(groups);
    if (trouble)
        reds__cluster_reload(st, epoch);
    /* What met a redirection, or never reached its node, runs again. */
    for (size_t i = 0; i < p->n; i++) {
        pentry *e = &p->q[i];
        if (!e->redo)
            continue;
        reds__cnode *node = NULL;
        bool asking = false;
        if (e->redirected) {
            node = reds__cluster_follow(st, &e->rd);
            asking = e->rd.kind == REDS_ERR_ASK && node;
            if (e->rd.kind == REDS_ERR_TRYAGAIN || e->rd.kind == REDS_ERR_CLUSTER_DOWN)
                reds__cluster_backoff(st, 0);
        }
        reds__cmd cmd;
        cmd.buf = p->buf + e->off;
        cmd.len = e->len;
        cmd.id = e->cmd.id;
        cmd.conv = e->cmd.conv;
        cmd.out = e->cmd.out;
        if (REDS__UNLIKELY(p->base.cfg->hooks) && e->redirected && node)
            reds__hook_redirect(p->base.cfg, &cmd, e->rd.kind, e->rd.slot, node->host, node->port);
        reds_err err = reds__cluster_run_slot(p->cl, &cmd, e->slot, node, asking);
        if (err)
            set_err(p, e, err, reds_errmsg());
    }
    finish(p);
    return report(p);
}

/* The first redirection among a node pipeline's results, if any. */
static bool find_redirect(reds_client *inner, reds__redirect *rd)
{
    size_t n = reds_pipeline_count(inner);
    for (size_t i = 0; i < n; i++) {
        const char *msg;
        reds_err err = reds_pipeline_result(inner, i, &msg);
        if (is_redirect(err)) {
            /* The entry's command name starts its message. */
            const char *colon = strstr(msg, ": ");
            if (colon && reds__cluster_redirect(colon + 2, strlen(colon + 2), NULL, rd))
                return true;
        }
    }
    return false;
}

/* Copy a node pipeline's outcome into the entries. */
static void take_results(cpipe *p, reds_client *inner)
{
    for (size_t i = 0; i < p->n; i++) {
        const char *msg;
        reds_err err = reds_pipeline_result(inner, i, &msg);
        if (err) {
            size_t skip = strlen(reds__queued_name(&p->q[i].cmd)) + 2;
            set_err(p, &p->q[i], err, strlen(msg) >= skip ? msg + skip : msg);
        }
    }
}

static reds_err exec_tx(cpipe *p)
{
    reds__cstate *st = p->cl->st;
    reds__cnode *node = NULL;
    bool asking = false;
    int redirects = 0, failures = 0;
    reds_err err;
    char msg[512];
    for (;;) {
        unsigned epoch = reds__cluster_epoch(st);
        reds_client *lent = NULL, *inner = NULL;
        err = node ? REDS_OK : reds__cluster_pick(st, p->slot, false, &node);
        if (!err)
            err = node_pipeline(p->cl, node, asking, &lent, &inner);
        for (size_t i = 0; !err && i < p->n; i++) {
            const pentry *e = &p->q[i];
            err = forward(inner, e->cmd.id, p->buf + e->off, e->len, e->cmd.conv, e->cmd.out);
        }
        if (err) {
            snprintf(msg, sizeof msg, "%s", reds_errmsg());
            if (inner)
                free_node_pipeline(&lent, &inner);
            for (size_t i = 0; i < p->n; i++)
                set_err(p, &p->q[i], err, msg);
            break;
        }
        err = reds_pipeline_execute(inner);
        snprintf(msg, sizeof msg, "%s", reds_errmsg());
        bool unsent = ((lender *)lent)->unsent;
        reds__redirect rd;
        /* Refused at MULTI or EXEC time: nothing ran, send it again. */
        if (err && find_redirect(inner, &rd)) {
            bool down = rd.kind == REDS_ERR_CLUSTER_DOWN;
            bool retry = down ? failures++ < reds__cluster_retries(st)
                              : redirects++ < reds__cluster_max_redirects(st);
            if (!retry) {
                take_results(p, inner);
                free_node_pipeline(&lent, &inner);
                break;
            }
            free_node_pipeline(&lent, &inner);
            node = reds__cluster_follow(st, &rd);
            asking = rd.kind == REDS_ERR_ASK && node;
            if (rd.kind == REDS_ERR_TRYAGAIN || down)
                reds__cluster_backoff(st, down ? failures - 1 : redirects - 1);
            if (down)
                reds__cluster_reload(st, epoch);
            continue;
        }
        if (err && reds__cluster_transient(err) && unsent && failures < reds__cluster_retries(st)) {
            free_node_pipeline(&lent, &inner);
            reds__cluster_node_failed(st, node);
            reds__cluster_reload(st, epoch);
            reds__cluster_backoff(st, failures++);
            node = NULL;
            continue;
        }
        take_results(p, inner);
        free_node_pipeline(&lent, &inner);
        break;
    }
    finish(p);
    return err ? reds__error(err, "%s", msg) : REDS_OK;
}

/* A watched transaction: its node pipeline executes. A redirection means
 * the slot moved under the watch: WatchError, so that it is tried again. */
static reds_err exec_watched(cpipe *p)
{
    reds_err err = reds_pipeline_execute(p->inner);
    reds__redirect rd;
    if (err && find_redirect(p->inner, &rd)) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", reds_errmsg());
        reds__cluster_follow(p->cl->st, &rd);
        err = reds__error(REDS_ERR_WATCH,
                          "the slot of the watched keys moved or is "
                          "unavailable (%s); try again",
                          msg);
    }
    p->watching = false;
    p->inner_results = true;
    finish(p);
    return err;
}

/* ------------------------------------------------------ pipeline calls */

static cpipe *as_cpipe(const reds_client *c)
{
    return c && c->router == &cpipe_router ? (cpipe *)c : NULL;
}

static reds_err cp_execute(reds_client *c)
{
    cpipe *p = (cpipe *)c;
    if (p->watching)
        return exec_watched(p);
    if (p->executed)
        forget_results(p);
    if (!p->n) {
        finish(p);
        return REDS_OK;
    }
    if (p->transaction || p->multi)
        return exec_tx(p); /* its node pipeline reports it (pipeline.c) */
    if (REDS__LIKELY(!c->cfg->hooks))
        return exec_batch(p);
    /* One command event for the batch, as pipeline.c's. */
    size_t n = p->n;
    reds__trace t;
    reds__trace_begin(&t, c->cfg, "PIPELINE", false);
    reds_err err = exec_batch(p);
    reds__trace_end(&t, n, err);
    return err;
}

static void cp_reset(reds_client *c)
{
    cpipe *p = (cpipe *)c;
    if (p->inner) /* freeing it UNWATCHes and gives its connection back */
        free_node_pipeline(&p->lent, &p->inner);
    p->watching = p->inner_results = false;
    forget_results(p);
    p->len = 0;
    p->multi = false;
    p->slot = -1;
}

static size_t cp_count(const reds_client *c)
{
    const cpipe *p = (const cpipe *)c;
    return p->inner ? reds_pipeline_count(p->inner) : p->n;
}

static reds_err cp_result(const reds_client *c, size_t i, const char **msg)
{
    const cpipe *p = (const cpipe *)c;
    if (msg)
        *msg = "";
    if (p->inner)
        return reds_pipeline_result(p->inner, i, msg);
    if (i >= p->n)
        return reds__error(REDS_ERR_DATA, "reds_pipeline_result: command %zu of %zu", i, p->n);
    return reds__queued_result(&p->q[i].cmd, msg);
}

static reds_err cp_watch(reds_client *c, const reds_str *keys, size_t nkeys)
{
    cpipe *p = (cpipe *)c;
    if (p->multi)
        return reds__error(REDS_ERR_DATA, "WATCH: not allowed after reds_pipeline_multi()");
    if (p->n && !p->executed)
        return reds__error(REDS_ERR_DATA, "WATCH: commands are already queued; watch before "
                                          "queueing (or reset the pipeline)");
    if (!keys || !nkeys)
        return reds__error(REDS_ERR_DATA, "WATCH: no keys given");
    int slot = -1;
    for (size_t i = 0; i < nkeys; i++) {
        if (!keys[i].ptr && keys[i].len)
            return reds__error(REDS_ERR_DATA, "WATCH: a key is NULL with a length");
        int s = reds_cluster_hash_slot(keys[i]);
        if ((slot >= 0 && s != slot) || (p->slot >= 0 && s != p->slot))
            return reds__error(REDS_ERR_CROSSSLOT,
                               "WATCH: a transaction on a cluster keeps its "
                               "keys in one slot ('%.*s' is in slot %d, not %d)",
                               (int)(keys[i].len > 64 ? 64 : keys[i].len), keys[i].ptr, s,
                               slot >= 0 ? slot : p->slot);
        slot = s;
    }
    if (p->watching) /* more keys, on the pinned node */
        return reds_pipeline_watch(p->inner, keys, nkeys);
    if (p->executed)
        forget_results(p);
    reds__cstate *st = p->cl->st;
    reds__cnode *node = NULL;
    for (int redirects = 0;; redirects++) {
        reds_err err = node ? REDS_OK : reds__cluster_pick(st, slot, false, &node);
        if (!err)
            err = node_pipeline(p->cl, node, false, &p->lent, &p->inner);
        if (err)
            return err;
        err = reds_pipeline_watch(p->inner, keys, nkeys);
        if (!err) {
            p->watching = true;
            p->slot = slot;
            return REDS_OK;
        }
        char msg[512];
        snprintf(msg, sizeof msg, "%s", reds_errmsg());
        free_node_pipeline(&p->lent, &p->inner);
        reds__redirect rd;
        if (!is_redirect(err) || !redirect_in(msg, REDS__CMD_WATCH, &rd) ||
            redirects >= reds__cluster_max_redirects(st))
            return reds__error(err, "%s", msg);
        /* MOVED: the right node. ASK (the slot is migrating), TRYAGAIN,
         * CLUSTERDOWN: wait, then the map's node again. */
        node = reds__cluster_follow(st, &rd);
        if (rd.kind != REDS_ERR_MOVED) {
            node = NULL;
            reds__cluster_backoff(st, redirects);
        }
    }
}

static reds_err cp_multi(reds_client *c)
{
    cpipe *p = (cpipe *)c;
    if (p->multi)
        return reds__error(REDS_ERR_DATA, "MULTI: calls can not be nested");
    if (p->n && !p->executed)
        return reds__error(REDS_ERR_DATA, "MULTI: commands are already queued; call "
                                          "reds_pipeline_multi() before queueing them");
    if (p->watching) {
        reds_err err = reds_pipeline_multi(p->inner);
        if (err)
            return err;
    } else if (p->executed) {
        forget_results(p);
    }
    p->multi = true;
    return REDS_OK;
}

static reds_err cp_unwatch(reds_client *c)
{
    cpipe *p = (cpipe *)c;
    if (!p->watching)
        return REDS_OK;
    reds_err err = reds_pipeline_unwatch(p->inner);
    free_node_pipeline(&p->lent, &p->inner);
    p->watching = p->multi = false;
    p->slot = -1;
    return err;
}

static reds_err cp_discard(reds_client *c)
{
    cpipe *p = (cpipe *)c;
    if (!p->multi)
        return reds__error(REDS_ERR_DATA, "DISCARD without reds_pipeline_multi()");
    cp_reset(c);
    return REDS_OK;
}

static void cp_destroy(reds_client *c)
{
    cpipe *p = (cpipe *)c;
    cp_reset(c);
    free(p->q);
    free(p->buf);
}

static const reds__router cpipe_router = {
    .kind = "cluster pipeline",
    .run = cp_run,
    .destroy = cp_destroy,
    .reserve = cp_reserve,
};

static const reds__pipeline_ops cpipe_ops = {
    cp_execute, cp_reset, cp_count, cp_result, cp_watch, cp_multi, cp_unwatch, cp_discard,
};

const reds__pipeline_ops *reds__cluster_pipeline_ops(const reds_client *c)
{
    return as_cpipe(c) ? &cpipe_ops : NULL;
}

reds_err reds__cluster_pipeline_new(reds_client *client, bool transaction, reds_client **out)
{
    reds__cluster *cl = (reds__cluster *)client;
    if (cl->targeted)
        return reds__error(REDS_ERR_DATA, "reds_pipeline_new: make pipelines from the cluster "
                                          "client, not a target handle");
    cpipe *p = calloc(1, sizeof *p);
    if (p)
        p->buf = malloc(FIRST_CAP);
    if (!p || !p->buf) {
        free(p);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    p->base.router = &cpipe_router;
    p->base.cfg = client->cfg;
    p->base.parent = client;
    atomic_init(&p->base.callbacks, atomic_load(&client->callbacks));
    p->cl = cl;
    p->transaction = transaction;
    p->cap = FIRST_CAP;
    p->slot = -1;
    *out = &p->base;
    return REDS_OK;
}

/* ------------------------------------------------------ non-atomic MGET/MSET */

typedef struct keyslot {
    int slot;
    size_t i;
} keyslot;

static int by_slot(const void *a, const void *b)
{
    const keyslot *x = a, *y = b;
    if (x->slot != y->slot)
        return x->slot < y->slot ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* `n` keys sorted by slot (stable), in `*order`. */
static reds_err sort_by_slot(const reds_str *keys, size_t stride, size_t n, const char *fn,
                             keyslot **order)
{
    *order = malloc(n * sizeof **order);
    if (!*order)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        reds_str k = *(const reds_str *)((const char *)keys + i * stride);
        if (!k.ptr && k.len) {
            free(*order);
            *order = NULL;
            return reds__error(REDS_ERR_DATA, "%s: key %zu is NULL with a length", fn, i);
        }
        (*order)[i].slot = reds_cluster_hash_slot(k);
        (*order)[i].i = i;
    }
    qsort(*order, n, sizeof **order, by_slot);
    return REDS_OK;
}

static reds__cluster *root_cluster(reds_client *c, const char *fn)
{
    reds__cluster *cl = reds__cluster_of(c);
    while (cl && cl->targeted)
        cl = (reds__cluster *)cl->base.parent;
    if (!cl)
        reds__error(REDS_ERR_DATA, "%s: %s", fn, c ? "not a cluster client" : "the client is NULL");
    return cl;
}

reds_err reds_cluster_mget(reds_client *cluster, const reds_str *keys, size_t nkeys,
                           reds_strlist **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_cluster_mget: out is NULL");
    *out = NULL;
    reds__cluster *cl = root_cluster(cluster, "reds_cluster_mget");
    if (!cl)
        return REDS_ERR_DATA;
    if (!keys || !nkeys)
        return reds__error(REDS_ERR_DATA, "reds_cluster_mget: no keys given");
    keyslot *order;
    reds_err err = sort_by_slot(keys, sizeof *keys, nkeys, "reds_cluster_mget", &order);
    if (err)
        return err;
    reds_str *sorted = malloc(nkeys * sizeof *sorted);
    reds_strlist **parts = calloc(nkeys, sizeof *parts);
    size_t *starts = malloc((nkeys + 1) * sizeof *starts);
    reds_client *pipe = NULL;
    size_t ngroups = 0;
    err = sorted && parts && starts ? reds__cluster_pipeline_new(&cl->base, false, &pipe)
                                    : reds__error(REDS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !err && i < nkeys; i++) {
        sorted[i] = keys[order[i].i];
        if (!i || order[i].slot != order[i - 1].slot)
            starts[ngroups++] = i;
    }
    if (!err)
        starts[ngroups] = nkeys;
    for (size_t g = 0; !err && g < ngroups; g++)
        err = reds_mget(pipe, &sorted[starts[g]], starts[g + 1] - starts[g], &parts[g]);
    if (!err)
        err = reds_pipeline_execute(pipe);
    size_t bytes = sizeof(reds_strlist) + nkeys * sizeof(reds_str);
    for (size_t g = 0; !err && g < ngroups; g++) {
        if (!parts[g] || parts[g]->count != starts[g + 1] - starts[g]) {
            err = reds__error(REDS_ERR_INVALID_RESPONSE,
                              "reds_cluster_mget: MGET of slot %d "
                              "answered %zu values for %zu keys",
                              order[starts[g]].slot, parts[g] ? parts[g]->count : 0,
                              starts[g + 1] - starts[g]);
            break;
        }
        for (size_t j = 0; j < parts[g]->count; j++)
            bytes += parts[g]->items[j].len + 1;
    }
    reds_strlist *l = err ? NULL : reds_alloc(bytes);
    if (!err && !l)
        err = reds__error(REDS_ERR_NOMEM, "out of memory");
    if (!err) {
        l->count = nkeys;
        l->items = (reds_str *)(l + 1);
        char *text = (char *)(l->items + nkeys);
        for (size_t g = 0; g < ngroups; g++) {
            for (size_t j = 0; j < parts[g]->count; j++) {
                reds_str v = parts[g]->items[j];
                reds_str *dst = &l->items[order[starts[g] + j].i];
                if (!v.ptr) {
                    *dst = reds_strn(NULL, 0);
                    continue;
                }
                memcpy(text, v.ptr, v.len);
                text[v.len] = '\0';
                *dst = reds_strn(text, v.len);
                text += v.len + 1;
            }
        }
        *out = l;
    }
    char msg[512];
    snprintf(msg, sizeof msg, "%s", reds_errmsg());
    reds_client_free(pipe);
    for (size_t g = 0; parts && g < ngroups; g++)
        reds_free(parts[g]);
    free(parts);
    free(starts);
    free(sorted);
    free(order);
    return err ? reds__error(err, "%s", msg) : REDS_OK;
}

reds_err reds_cluster_mset(reds_client *cluster, const reds_key_value *pairs, size_t npairs)
{
    reds__cluster *cl = root_cluster(cluster, "reds_cluster_mset");
    if (!cl)
        return REDS_ERR_DATA;
    if (!pairs || !npairs)
        return reds__error(REDS_ERR_DATA, "reds_cluster_mset: no pairs given");
    keyslot *order;
    reds_err err = sort_by_slot(&pairs[0].key, sizeof *pairs, npairs, "reds_cluster_mset", &order);
    if (err)
        return err;
    reds_key_value *sorted = malloc(npairs * sizeof *sorted);
    reds_client *pipe = NULL;
    err = sorted ? reds__cluster_pipeline_new(&cl->base, false, &pipe)
                 : reds__error(REDS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !err && i < npairs; i++)
        sorted[i] = pairs[order[i].i];
    for (size_t i = 0, start = 0; !err && i < npairs; i++)
        if (i + 1 == npairs || order[i + 1].slot != order[i].slot) {
            err = reds_mset(pipe, &sorted[start], i + 1 - start);
            start = i + 1;
        }
    if (!err)
        err = reds_pipeline_execute(pipe);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", reds_errmsg());
    reds_client_free(pipe);
    free(sorted);
    free(order);
    return err ? reds__error(err, "%s", msg) : REDS_OK;
}
