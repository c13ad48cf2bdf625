/* Auto-pipelining: threads that call one pooled client at the same time
 * share a connection, their commands leaving in one write.
 *
 * A lane is a leader-follower queue in front of the pool. A caller that
 * finds the lane free becomes its leader and runs its own command as a
 * batch of one on a connection borrowed from the pool: the same round
 * trip as without lanes, plus one compare-and-swap. Callers that arrive
 * while a leader is busy queue up and sleep; when the leader is done it
 * wakes them with their results and hands the lane to the first still
 * queued, who sends everything queued by then in one write, reads the
 * replies in order and converts each into its caller's output (the
 * caller is asleep, its output untouched by anyone else). A leader
 * serves the batches up to and including its own command, then hands
 * on: nobody serves the others for ever.
 *
 * Lost wake-ups: a waiter publishes itself (`queued`) and then tries to
 * take the lane; a leader frees the lane and then looks for waiters.
 * Both are sequentially consistent, so at least one sees the other. */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

enum { WAITING, DONE, LEAD };

/* Batches a leader may serve after its own before it hands the lane on. */
#define LEAD_MORE 4

typedef struct reds__waiter {
    struct reds__waiter *next;
    reds__cmd *cmd;
    reds_err err;
    bool sent; /* its batch may have reached the server */
    /* WAITING, then DONE (err, sent and msg are set) or LEAD (the lane is
     * ours). Written by the leader, with release: a futex. */
    atomic_int state;
    char *msg; /* the error's message, copied from the leader's thread */
    /* The caller's trace (hooks), asleep on its stack: the leader adds its
     * command's bytes and server to it. */
    reds__trace *trace;
    reds__lane_reply on_reply; /* NULL: reds__reply() */
    void *ctx;
} waiter;

typedef reds__lane lane;

/* Sleep while *state is `value`; wake one sleeper. The waiter's word may
 * be gone by the time it is woken (it returned): a spurious wake-up of
 * whoever sleeps there next, which rechecks its state. */
static void sleep_while(atomic_int *state, int value)
{
    while (atomic_load_explicit(state, memory_order_acquire) == value)
        syscall(SYS_futex, state, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}

static void set_state(waiter *w, int state)
{
    atomic_int *word = &w->state;
    atomic_store_explicit(word, state, memory_order_release);
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* The lock of a lane guards a few pointer moves: spinning a little
 * before sleeping beats a futex round trip under contention. */
static void lock_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
#ifdef PTHREAD_MUTEX_ADAPTIVE_NP
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
    pthread_mutex_init(m, &attr);
    pthread_mutexattr_destroy(&attr);
}

reds_err reds__lanes_new(size_t n, size_t max_batch, reds__lanes **out)
{
    /* Lanes are cache-line aligned (calloc() gives 16 bytes). */
    size_t size = (sizeof(reds__lanes) + n * sizeof(reds__lane) + 63) & ~(size_t)63;
    reds__lanes *l = aligned_alloc(64, size);
    *out = l;
    if (!l)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    memset(l, 0, size);
    l->n = n;
    l->max_batch = max_batch;
    for (size_t i = 0; i < n; i++) {
        lock_init(&l->lanes[i].lock);
        l->lanes[i].tail = &l->lanes[i].head;
    }
    return REDS_OK;
}

void reds__lanes_free(reds__lanes *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        pthread_mutex_destroy(&l->lanes[i].lock);
        free(l->lanes[i].buf);
    }
    free(l);
}

void reds__lanes_lock(reds__lanes *l)
{
    for (size_t i = 0; l && i < l->n; i++)
        pthread_mutex_lock(&l->lanes[i].lock);
}

void reds__lanes_unlock(reds__lanes *l)
{
    for (size_t i = 0; l && i < l->n; i++)
        pthread_mutex_unlock(&l->lanes[i].lock);
}

void reds__lanes_after_fork(reds__lanes *l)
{
    /* The parent's leaders and waiters are not in this process. */
    for (size_t i = 0; l && i < l->n; i++) {
        lane *ln = &l->lanes[i];
        lock_init(&ln->lock);
        atomic_store(&ln->busy, false);
        atomic_store(&ln->queued, 0);
        ln->head = NULL;
        ln->tail = &ln->head;
        /* As the pool's own counters, the child's start afresh. */
        atomic_store(&ln->writes, 0);
        atomic_store(&ln->commands, 0);
    }
}

void reds__lanes_stats(reds__lanes *l, uint64_t *writes, uint64_t *commands)
{
    *writes = *commands = 0;
    for (size_t i = 0; l && i < l->n; i++) {
        *writes += atomic_load_explicit(&l->lanes[i].writes, memory_order_relaxed);
        *commands += atomic_load_explicit(&l->lanes[i].commands, memory_order_relaxed);
    }
}

/* ---------------------------------------------------------------- a batch */

static void fail_from(waiter *w, waiter *end, reds_err err, bool sent)
{
    const char *msg = reds_errmsg();
    for (; w != end; w = w->next) {
        w->err = err;
        w->sent = sent;
        free(w->msg);
        w->msg = strdup(msg);
    }
}

/* Send the commands of `batch` (up to `end`) in one write, read their
 * replies in order and convert each into its caller's output. */
static void run_batch(lane *ln, reds_client *c, waiter *batch, waiter *end, size_t n)
{
    reds__conn *conn;
    reds_err err = reds__client_acquire(c, &conn);
    if (err) {
        fail_from(batch, end, err, false);
        return;
    }
    const char *buf = batch->cmd->buf;
    size_t len = batch->cmd->len;
    if (n > 1) {
        len = 0;
        for (waiter *w = batch; w != end; w = w->next)
            len += w->cmd->len;
        if (len > ln->cap) {
            char *grown = realloc(ln->buf, len);
            if (!grown) {
                reds__client_release(c, conn);
                fail_from(batch, end, reds__error(REDS_ERR_NOMEM, "out of memory"), false);
                return;
            }
            ln->buf = grown;
            ln->cap = len;
        }
        char *p = ln->buf;
        for (waiter *w = batch; w != end; w = w->next) {
            memcpy(p, w->cmd->buf, w->cmd->len);
            p += w->cmd->len;
        }
        buf = ln->buf;
    }
    /* With hooks, each caller's trace gets its own command's bytes, not
     * the leader's whole batch: the transport counts for nobody here. */
    bool hooked = c->cfg->hooks != NULL;
    reds__trace *leader = reds__tracing;
    reds__tracing = NULL;
    err = reds__conn_write(conn, buf, len);
    if (err) {
        reds__tracing = leader;
        fail_from(batch, end, err, !conn->unsent);
        reds__client_release(c, conn);
        return;
    }
    reds__lane_count(ln, n);
    uint64_t at = conn->reply_begin; /* where the first reply starts */
    for (waiter *w = batch; w != end; w = w->next) {
        reds_reply *reply;
        w->sent = true;
        err = reds__conn_read(conn, &reply);
        if (err) {
            reds__tracing = leader;
            /* Everything after it is lost with the connection. */
            fail_from(w, end, err, true);
            break;
        }
        reds__tracing = w->trace; /* an error reply's status */
        conn->unsent = false;
        w->err = w->on_reply ? w->on_reply(w->ctx, c, conn, w->cmd, reply)
                             : reds__reply(c, conn, w->cmd, reply);
        /* A demoted Sentinel master's READONLY: it did not run (retries). */
        w->sent = !conn->unsent;
        reds__tracing = NULL;
        if (REDS__UNLIKELY(hooked) && w->trace)
            reds__trace_share(w->trace, conn, w->cmd->len, conn->reply_begin - at);
        at = conn->reply_begin;
        if (w->err)
            w->msg = strdup(reds_errmsg());
    }
    reds__tracing = leader;
    reds__client_release(c, conn);
}

/* --------------------------------------------------------------- the lane */

#define take reds__lane_try

/* Under the lock: hand the lane to the first waiter, or free it. */
static void hand_on(lane *ln)
{
    if (ln->head)
        set_state(ln->head, LEAD); /* the lane stays busy: it is theirs now */
    else
        atomic_store(&ln->busy, false);
}

_Thread_local unsigned reds__lane_hint;

unsigned reds__lane_hint_slow(reds__lanes *l)
{
    reds__lane_hint = atomic_fetch_add_explicit(&l->next, 1, memory_order_relaxed) + 1;
    return reds__lane_hint;
}

void reds__lane_hand_on(lane *ln)
{
    /* Someone queued meanwhile: unless they took the lane themselves, it
     * is theirs. */
    pthread_mutex_lock(&ln->lock);
    if (ln->head && take(ln))
        hand_on(ln);
    pthread_mutex_unlock(&ln->lock);
}

/* Under the lock: unlink up to max_batch waiters from the head; returns
 * the end of the batch. */
static waiter *detach_batch(reds__lanes *l, lane *ln, size_t *n)
{
    waiter *w = ln->head;
    size_t k = 0;
    while (w && k < l->max_batch) {
        w = w->next;
        k++;
    }
    ln->head = w;
    if (!w)
        ln->tail = &ln->head;
    atomic_fetch_sub(&ln->queued, k);
    *n = k;
    return w;
}

/* The result of a caller's command, its message set on its own thread. */
static reds_err result(waiter *me, bool *sent)
{
    *sent = me->sent;
    if (me->err)
        reds__error(me->err, "%s", me->msg ? me->msg : "out of memory");
    free(me->msg);
    return me->err;
}

static void waiter_init(waiter *w, reds__cmd *cmd, reds__lane_reply on_reply, void *ctx)
{
    w->next = NULL;
    w->cmd = cmd;
    w->err = REDS_OK;
    w->sent = false;
    w->msg = NULL;
    w->trace = reds__tracing;
    w->on_reply = on_reply;
    w->ctx = ctx;
    atomic_init(&w->state, WAITING);
}

reds_err reds__lanes_run(reds__lanes *l, reds_client *c, reds__cmd *cmd, bool *sent,
                         reds__lane_reply on_reply, void *ctx)
{
    lane *ln = reds__lane_take(l);
    if (!ln)
        return reds__lanes_queue(l, c, cmd, sent, on_reply, ctx);
    waiter me;
    waiter_init(&me, cmd, on_reply, ctx);
    run_batch(ln, c, &me, NULL, 1); /* counts its write itself */
    reds__lane_leave(ln, false);
    return result(&me, sent);
}

reds_err reds__lanes_queue(reds__lanes *l, reds_client *c, reds__cmd *cmd, bool *sent,
                           reds__lane_reply on_reply, void *ctx)
{
    lane *ln = reds__lane_of(l);
    waiter me;
    waiter_init(&me, cmd, on_reply, ctx);
    pthread_mutex_lock(&ln->lock);
    *ln->tail = &me;
    ln->tail = &me.next;
    atomic_fetch_add(&ln->queued, 1);
    if (take(ln))
        atomic_store_explicit(&me.state, LEAD, memory_order_relaxed); /* the leader left */
    pthread_mutex_unlock(&ln->lock);
    sleep_while(&me.state, WAITING);
    if (atomic_load_explicit(&me.state, memory_order_acquire) == DONE)
        return result(&me, sent);
    /* Leading: batches from the head of the queue until ours is done (we
     * are the head unless we took the lane ourselves), and then a few
     * more while callers queue: handing the lane on costs the next
     * leader a wake-up before it can write. */
    bool done = false;
    for (int served = 0;; served++) {
        pthread_mutex_lock(&ln->lock);
        if (done && (!ln->head || served >= LEAD_MORE)) {
            hand_on(ln);
            pthread_mutex_unlock(&ln->lock);
            return result(&me, sent);
        }
        waiter *batch = ln->head;
        size_t n;
        waiter *end = detach_batch(l, ln, &n);
        pthread_mutex_unlock(&ln->lock);
        run_batch(ln, c, batch, end, n);
        for (waiter *w = batch; w != end;) {
            waiter *next = w->next; /* w is gone once told */
            if (w == &me)
                done = true;
            else
                set_state(w, DONE);
            w = next;
        }
    }
}
