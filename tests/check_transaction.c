/* Transactions against a real server: MULTI/EXEC, WATCH conflicts made by
 * a second connection, EXECABORT from a queued-command error, runtime
 * errors inside EXEC, UNWATCH, DISCARD, the pinned connection coming
 * back, a watched connection dying, and reds_transaction() retrying. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static reds_client *c, *other;

static void setup(void)
{
    test_flush();
    c = test_client(NULL);
    other = test_client(NULL); /* the second connection that interferes */
}

static void teardown(void)
{
    reds_client_free(c);
    reds_client_free(other);
    c = other = NULL;
}

static reds_client *new_tx(reds_client *from)
{
    reds_client *p = NULL;
    ASSERT_OK(reds_pipeline_new(from, true, &p));
    return p;
}

static void assert_value(const char *key, const char *expect)
{
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, reds_cstr(key), &v));
    if (expect)
        ASSERT_STR(v, expect);
    else
        ck_assert_ptr_null(v);
    reds_free(v);
}

/* ------------------------------------------------------------ MULTI/EXEC */

START_TEST(multi_exec_atomic)
{
    reds_client *p = new_tx(c);
    int64_t a = 0, b = 0;
    reds_str *v = NULL;
    reds_strlist *l = NULL;
    reds_str items[] = {REDS_STR("x"), REDS_STR("y")};
    ASSERT_OK(reds_incr(p, REDS_STR("a"), &a));
    ASSERT_OK(reds_incrby(p, REDS_STR("a"), 10, &b));
    ASSERT_OK(reds_set(p, REDS_STR("s"), REDS_STR("val"), NULL, NULL));
    ASSERT_OK(reds_get(p, REDS_STR("s"), &v));
    ASSERT_OK(reds_rpush(p, REDS_STR("l"), items, 2, NULL));
    ASSERT_OK(reds_lrange(p, REDS_STR("l"), 0, -1, &l));
    reds_str eval[] = {REDS_STR("EVAL"), REDS_STR("return {1, {2, 'x', {}}, 'y'}"), REDS_STR("0")};
    reds_reply *tree = NULL;
    ASSERT_OK(reds_execute_command(p, 3, eval, &tree));
    assert_value("s", NULL); /* queued, not sent */
    ASSERT_OK(reds_pipeline_execute(p));
    /* A nested element, copied out of EXEC's reply whole. */
    ck_assert_uint_eq(reds_reply_count(tree), 3);
    const reds_reply *inner = reds_reply_at(tree, 1);
    ck_assert_uint_eq(reds_reply_count(inner), 3);
    ck_assert_str_eq(reds_reply_at(inner, 1)->str, "x");
    ck_assert_int_eq(reds_reply_at(inner, 2)->type, REDS_REPLY_ARRAY);
    ck_assert_uint_eq(reds_reply_count(reds_reply_at(inner, 2)), 0);
    ck_assert_str_eq(reds_reply_at(tree, 2)->str, "y");
    ck_assert_int_eq(a, 1);
    ck_assert_int_eq(b, 11);
    ASSERT_STR(v, "val");
    ck_assert_uint_eq(l->count, 2);
    ASSERT_STR(&l->items[1], "y");
    /* Each element of EXEC's reply is its own owned result. */
    reds_free(v);
    assert_value("s", "val");
    ASSERT_STR(&l->items[0], "x");
    reds_free(l);
    ck_assert_int_eq(reds_reply_at(tree, 0)->integer, 1);
    reds_free(tree);
    reds_client_free(p);
}
END_TEST

START_TEST(runtime_error_inside_exec)
{
    /* WRONGTYPE happens when EXEC runs: the others commit. */
    ASSERT_OK(reds_set(c, REDS_STR("s"), REDS_STR("text"), NULL, NULL));
    reds_client *p = new_tx(c);
    int64_t n1 = 0, n3 = 0, bad = 9;
    ASSERT_OK(reds_incr(p, REDS_STR("n"), &n1));
    ASSERT_OK(reds_llen(p, REDS_STR("s"), &bad));
    ASSERT_OK(reds_incr(p, REDS_STR("n"), &n3));
    ASSERT_ERR(reds_pipeline_execute(p), REDS_ERR_RESPONSE);
    ck_assert_str_eq(reds_errmsg(), "command 2 of 3 (LLEN): WRONGTYPE Operation against a key "
                                    "holding the wrong kind of value");
    ck_assert_int_eq(n1, 1);
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(n3, 2);
    reds_client_free(p);
}
END_TEST

START_TEST(queued_command_error_aborts)
{
    reds_client *p = new_tx(c);
    bool ok1 = true, ok3 = true;
    reds_str get_no_key[] = {REDS_STR("GET")}; /* wrong arity: refused at queue time */
    reds_reply *r = (reds_reply *)&r;
    ASSERT_OK(reds_set(p, REDS_STR("a"), REDS_STR("1"), NULL, &ok1));
    ASSERT_OK(reds_execute_command(p, 1, get_no_key, &r));
    ASSERT_OK(reds_set(p, REDS_STR("b"), REDS_STR("2"), NULL, &ok3));
    reds_err err = reds_pipeline_execute(p);
    ASSERT_ERR(err, REDS_ERR_EXECABORT);
    ck_assert(reds_err_is(err, REDS_ERR_RESPONSE));
    ck_assert_str_eq(reds_errmsg(), "command 2 of 3 (GET): ERR wrong number of arguments for "
                                    "'get' command (EXECABORT Transaction discarded because of "
                                    "previous errors.)");
    const char *msg;
    ASSERT_ERR(reds_pipeline_result(p, 1, &msg), REDS_ERR_RESPONSE);
    ck_assert_str_eq(msg, "GET: ERR wrong number of arguments for 'get' command");
    ASSERT_ERR(reds_pipeline_result(p, 0, &msg), REDS_ERR_EXECABORT);
    ck_assert_str_eq(msg, "SET: EXECABORT Transaction discarded because of previous errors.");
    ASSERT_ERR(reds_pipeline_result(p, 2, NULL), REDS_ERR_EXECABORT);
    /* Nothing ran, nothing was filled. */
    ck_assert(!ok1 && !ok3);
    ck_assert_ptr_null(r);
    assert_value("a", NULL);
    assert_value("b", NULL);
    /* The pipeline and its connection are fine afterwards. */
    ASSERT_OK(reds_set(p, REDS_STR("a"), REDS_STR("1"), NULL, &ok1));
    ASSERT_OK(reds_pipeline_execute(p));
    ck_assert(ok1);
    assert_value("a", "1");
    reds_client_free(p);
}
END_TEST

/* ---------------------------------------------------------------- WATCH */

/* While watching, before MULTI, commands run at once: a command the table
 * does not know is named as the user sent it there too. */
START_TEST(unknown_command_while_watching)
{
    reds_client *p = new_tx(c);
    reds_str key = REDS_STR("w");
    ASSERT_OK(reds_pipeline_watch(p, &key, 1));
    reds_str nosuch[] = {REDS_STR("nosuch"), REDS_STR("x")};
    reds_reply *r = NULL;
    ASSERT_ERR(reds_execute_command(p, 2, nosuch, &r), REDS_ERR_RESPONSE);
    ck_assert_str_eq(reds_errmsg(), "nosuch: ERR unknown command 'nosuch', with args beginning "
                                    "with: 'x' ");
    ck_assert_ptr_null(r);
    ASSERT_OK(reds_pipeline_multi(p));
    bool ok = false;
    ASSERT_OK(reds_set(p, REDS_STR("w"), REDS_STR("1"), NULL, &ok));
    ASSERT_OK(reds_pipeline_execute(p));
    ck_assert(ok);
    reds_client_free(p);
}
END_TEST

START_TEST(watch_conflict_from_another_connection)
{
    ASSERT_OK(reds_set(c, REDS_STR("balance"), REDS_STR("100"), NULL, NULL));
    reds_client *p = new_tx(c);
    reds_str key = REDS_STR("balance");
    ASSERT_OK(reds_pipeline_watch(p, &key, 1));
    /* Immediate mode: the read runs now and fills its output. */
    reds_str *v = NULL;
    ASSERT_OK(reds_get(p, key, &v));
    ASSERT_STR(v, "100");
    reds_free(v);
    ck_assert_uint_eq(reds_pipeline_count(p), 0);
    /* Another connection changes the watched key. */
    ASSERT_OK(reds_set(other, key, REDS_STR("50"), NULL, NULL));
    ASSERT_OK(reds_pipeline_multi(p));
    bool stored = true;
    int64_t n = 4;
    ASSERT_OK(reds_set(p, key, REDS_STR("90"), NULL, &stored));
    ASSERT_OK(reds_incr(p, REDS_STR("audit"), &n));
    ASSERT_ERR(reds_pipeline_execute(p), REDS_ERR_WATCH);
    ck_assert_str_eq(reds_errmsg(), "transaction of 2 commands: Watched variable changed: the "
                                    "transaction did not run");
    ASSERT_ERR(reds_pipeline_result(p, 0, NULL), REDS_ERR_WATCH);
    ASSERT_ERR(reds_pipeline_result(p, 1, NULL), REDS_ERR_WATCH);
    ck_assert(!stored);
    ck_assert_int_eq(n, 0);
    assert_value("balance", "50");
    assert_value("audit", NULL);

    /* The same pipeline, watching again without interference, commits. */
    ASSERT_OK(reds_pipeline_watch(p, &key, 1));
    ASSERT_OK(reds_pipeline_multi(p));
    ASSERT_OK(reds_set(p, key, REDS_STR("40"), NULL, &stored));
    ASSERT_OK(reds_pipeline_execute(p));
    ck_assert(stored);
    assert_value("balance", "40");
    reds_client_free(p);
}
END_TEST

START_TEST(watch_pins_a_connection_until_execute)
{
    reds_options o = {.max_connections = 1};
    reds_client *one = test_client(&o);
    reds_client *p = new_tx(one);
    reds_str key = REDS_STR("k");
    ASSERT_OK(reds_pipeline_watch(p, &key, 1));
    /* The pool's only connection is the pipeline's now. */
    ASSERT_ERR(reds_ping(one, NULL, NULL), REDS_ERR_POOL_EXHAUSTED);
    int64_t id1 = 0, id2 = 0;
    ASSERT_OK(reds_client_id(p, &id1)); /* immediate, on the pinned connection */
    ASSERT_OK(reds_pipeline_multi(p));
    ASSERT_OK(reds_client_id(p, &id2));
    ASSERT_OK(reds_pipeline_execute(p));
    ck_assert(id1 == id2);
    ASSERT_OK(reds_ping(one, NULL, NULL)); /* back in the pool */
    /* Reset gives it back too, after UNWATCH. */
    ASSERT_OK(reds_pipeline_watch(p, &key, 1));
    ASSERT_ERR(reds_ping(one, NULL, NULL), REDS_ERR_POOL_EXHAUSTED);
    reds_pipeline_reset(p);
    ASSERT_OK(reds_ping(one, NULL, NULL));
    /* The connection came back unwatched: a change does not abort the
     * next transaction on it. */
    ASSERT_OK(reds_set(other, key, REDS_STR("changed"), NULL, NULL));
    ASSERT_OK(reds_pipeline_multi(p));
    ASSERT_OK(reds_set(p, key, REDS_STR("mine"), NULL, NULL));
    ASSERT_OK(reds_pipeline_execute(p));
    assert_value("k", "mine");
    /* And so does freeing the pipeline while it watches. */
    ASSERT_OK(reds_pipeline_watch(p, &key, 1));
    reds_client_free(p);
    ASSERT_OK(reds_ping(one, NULL, NULL));
    reds_client_free(one);
}
END_TEST

START_TEST(unwatch)
{
    reds_client *p = new_tx(c);
    reds_str key = REDS_STR("k");
    ASSERT_OK(reds_pipeline_watch(p, &key, 1));
    ASSERT_OK(reds_pipeline_unwatch(p));
    ASSERT_OK(reds_set(other, key, REDS_STR("other"), NULL, NULL));
    /* Buffering again: this is queued. */
    ASSERT_OK(reds_set(p, key, REDS_STR("mine"), NULL, NULL));
    assert_value("k", "other");
    ASSERT_OK(reds_pipeline_execute(p));
    assert_value("k", "mine");
    ASSERT_OK(reds_pipeline_unwatch(p)); /* nothing watched: nothing sent */
    reds_client_free(p);
}
END_TEST

START_TEST(discard)
{
    reds_client *p = new_tx(c);
    reds_str key = REDS_STR("k");
    ASSERT_ERR(reds_pipeline_discard(p), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "DISCARD without reds_pipeline_multi()");
    ASSERT_OK(reds_pipeline_watch(p, &key, 1));
    ASSERT_OK(reds_pipeline_multi(p));
    bool ok = true;
    ASSERT_OK(reds_set(p, key, REDS_STR("v"), NULL, &ok));
    ck_assert_uint_eq(reds_pipeline_count(p), 1);
    ASSERT_OK(reds_pipeline_discard(p));
    ck_assert_uint_eq(reds_pipeline_count(p), 0);
    ck_assert(!ok);
    ASSERT_OK(reds_pipeline_execute(p)); /* empty and unwatched: nothing to do */
    assert_value("k", NULL);
    /* DISCARD also unwatched: a later change does not abort. */
    ASSERT_OK(reds_set(other, key, REDS_STR("x"), NULL, NULL));
    ASSERT_OK(reds_set(p, key, REDS_STR("y"), NULL, NULL));
    ASSERT_OK(reds_pipeline_execute(p));
    assert_value("k", "y");
    reds_client_free(p);
}
END_TEST

START_TEST(empty_transaction_with_watch)
{
    reds_client *p = new_tx(c);
    reds_str key = REDS_STR("k");
    ASSERT_OK(reds_pipeline_watch(p, &key, 1));
    ASSERT_OK(reds_pipeline_execute(p)); /* MULTI EXEC: nothing changed */
    ASSERT_OK(reds_pipeline_watch(p, &key, 1));
    ASSERT_OK(reds_set(other, key, REDS_STR("x"), NULL, NULL));
    ASSERT_ERR(reds_pipeline_execute(p), REDS_ERR_WATCH);
    reds_client_free(p);
}
END_TEST

START_TEST(order_of_calls)
{
    reds_client *p = new_tx(c);
    reds_str key = REDS_STR("k");
    ASSERT_ERR(reds_pipeline_watch(p, NULL, 0), REDS_ERR_DATA);
    ASSERT_ERR(reds_pipeline_watch(p, NULL, 2), REDS_ERR_DATA);
    ASSERT_OK(reds_incr(p, REDS_STR("n"), NULL));
    ASSERT_ERR(reds_pipeline_watch(p, &key, 1), REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "commands are already queued"));
    ASSERT_ERR(reds_pipeline_multi(p), REDS_ERR_DATA);
    reds_pipeline_reset(p);
    ASSERT_OK(reds_pipeline_multi(p));
    ASSERT_ERR(reds_pipeline_multi(p), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "MULTI: calls can not be nested");
    ASSERT_ERR(reds_pipeline_watch(p, &key, 1), REDS_ERR_DATA);
    reds_client_free(p);

    /* MULTI on a non-transactional pipeline makes a transaction. */
    ASSERT_OK(reds_pipeline_new(c, false, &p));
    ASSERT_OK(reds_set(c, REDS_STR("s"), REDS_STR("t"), NULL, NULL));
    ASSERT_OK(reds_pipeline_multi(p));
    reds_str get_no_key[] = {REDS_STR("GET")};
    ASSERT_OK(reds_incr(p, REDS_STR("n"), NULL));
    ASSERT_OK(reds_execute_command(p, 1, get_no_key, NULL));
    ASSERT_ERR(reds_pipeline_execute(p), REDS_ERR_EXECABORT);
    assert_value("n", NULL);
    /* ... for one execution only. */
    ASSERT_OK(reds_incr(p, REDS_STR("n"), NULL));
    ASSERT_OK(reds_execute_command(p, 1, get_no_key, NULL));
    ASSERT_ERR(reds_pipeline_execute(p), REDS_ERR_RESPONSE);
    assert_value("n", "1");
    reds_client_free(p);
}
END_TEST

START_TEST(watched_connection_dies)
{
    reds_client *p = new_tx(c);
    reds_str key = REDS_STR("k");
    ASSERT_OK(reds_pipeline_watch(p, &key, 1));
    int64_t id = 0;
    ASSERT_OK(reds_client_id(p, &id));
    char cmd[64], reply[64];
    snprintf(cmd, sizeof cmd, "CLIENT KILL ID %lld", (long long)id);
    test_raw(cmd, reply, sizeof reply);
    ck_assert_str_eq(reply, ":1");
    /* The watch is void: WatchError, so that the caller retries. */
    reds_str *v = NULL;
    ASSERT_ERR(reds_get(p, key, &v), REDS_ERR_WATCH);
    ck_assert_msg(strstr(reds_errmsg(), "GET: the connection failed while watching keys"), "%s",
                  reds_errmsg());
    ASSERT_ERR(reds_get(p, key, &v), REDS_ERR_WATCH);
    ASSERT_ERR(reds_pipeline_multi(p), REDS_ERR_WATCH);
    ASSERT_ERR(reds_pipeline_execute(p), REDS_ERR_WATCH);
    /* Execute reset it: usable again. */
    ASSERT_OK(reds_pipeline_watch(p, &key, 1));
    ASSERT_OK(reds_pipeline_multi(p));
    ASSERT_OK(reds_set(p, key, REDS_STR("v"), NULL, NULL));
    ASSERT_OK(reds_pipeline_execute(p));
    assert_value("k", "v");
    reds_client_free(p);
}
END_TEST

START_TEST(fork_while_watching)
{
    reds_client *p = new_tx(c);
    reds_str key = REDS_STR("k");
    ASSERT_OK(reds_set(c, key, REDS_STR("before"), NULL, NULL));
    ASSERT_OK(reds_pipeline_watch(p, &key, 1));
    pid_t pid = fork();
    if (pid == 0) {
        /* The pinned connection is the parent's: the child's watch is
         * void, and nothing may be sent on that socket. */
        reds_str *v = NULL;
        reds_err err = reds_get(p, key, &v);
        _exit(err == REDS_ERR_WATCH && !v ? 0 : 1);
    }
    int status = -1;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The parent's watch and connection are intact and in step. */
    reds_str *v = NULL;
    ASSERT_OK(reds_get(p, key, &v));
    ASSERT_STR(v, "before");
    reds_free(v);
    ASSERT_OK(reds_pipeline_multi(p));
    ASSERT_OK(reds_set(p, key, REDS_STR("after"), NULL, NULL));
    ASSERT_OK(reds_pipeline_execute(p));
    assert_value("k", "after");
    reds_client_free(p);
}
END_TEST

START_TEST(transaction_of_a_dedicated_connection)
{
    reds_client *d;
    ASSERT_OK(reds_client_dedicated(c, &d));
    ASSERT_OK(reds_select(d, 5));
    reds_client *p = new_tx(d);
    reds_str key = REDS_STR("k");
    ASSERT_OK(reds_pipeline_watch(p, &key, 1));
    ASSERT_OK(reds_pipeline_multi(p));
    ASSERT_OK(reds_set(p, key, REDS_STR("db5"), NULL, NULL));
    ASSERT_OK(reds_pipeline_execute(p));
    reds_str *v = NULL;
    ASSERT_OK(reds_get(d, key, &v)); /* the handle is free again */
    ASSERT_STR(v, "db5");
    reds_free(v);
    assert_value("k", NULL);
    reds_client_free(p);
    reds_client_free(d);
}
END_TEST

/* -------------------------------------------------- reds_transaction() */

typedef struct transfer {
    int tries;
    int interfere_until; /* tries on which another connection changes the key */
    int64_t new_balance;
    bool stored;
    int64_t result;
} transfer;

/* Read the balance, let the other connection interfere on early tries,
 * then write balance - 10. */
static reds_err withdraw(reds_client *pipe, void *udata, void **value)
{
    transfer *t = udata;
    t->tries++;
    reds_str *v = NULL;
    reds_err err = reds_get(pipe, REDS_STR("balance"), &v);
    if (err)
        return err;
    int64_t balance = v ? atoll(v->ptr) : 0;
    reds_free(v);
    if (t->tries <= t->interfere_until) {
        char amount[24];
        snprintf(amount, sizeof amount, "%lld", (long long)(balance + 1000));
        err = reds_set(other, REDS_STR("balance"), reds_cstr(amount), NULL, NULL);
        if (err)
            return err;
    }
    if (balance < 10)
        return reds_set_error(REDS_ERR_DATA, "insufficient funds");
    err = reds_pipeline_multi(pipe);
    char amount[24];
    snprintf(amount, sizeof amount, "%lld", (long long)(balance - 10));
    if (!err)
        err = reds_set(pipe, REDS_STR("balance"), reds_cstr(amount), NULL, &t->stored);
    t->result = balance - 10;
    *value = &t->result;
    return err;
}

START_TEST(transaction_helper_retries)
{
    ASSERT_OK(reds_set(c, REDS_STR("balance"), REDS_STR("100"), NULL, NULL));
    transfer t = {0, 2, 0, false, 0};
    reds_str key = REDS_STR("balance");
    void *value = (void *)&t;
    ASSERT_OK(reds_transaction(c, &key, 1, withdraw, &t, NULL, &value));
    ck_assert_int_eq(t.tries, 3); /* two conflicts, then success */
    ck_assert(t.stored);
    /* 100 + 1000 (try 1) + 1000 (try 2) - 10 */
    ck_assert_ptr_eq(value, &t.result);
    ck_assert_int_eq(t.result, 2090);
    assert_value("balance", "2090");

    /* A callback error is returned at once, with its message. */
    ASSERT_OK(reds_set(c, REDS_STR("balance"), REDS_STR("5"), NULL, NULL));
    t = (transfer){0, 0, 0, false, 0};
    ASSERT_ERR(reds_transaction(c, &key, 1, withdraw, &t, NULL, &value), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "insufficient funds");
    ck_assert_int_eq(t.tries, 1);
    ck_assert_ptr_null(value);
}
END_TEST

START_TEST(transaction_helper_gives_up)
{
    ASSERT_OK(reds_set(c, REDS_STR("balance"), REDS_STR("100"), NULL, NULL));
    transfer t = {0, 1000, 0, false, 0};
    reds_str key = REDS_STR("balance");
    reds_transaction_opts o = {.max_tries = 3, .watch_delay_ms = 5};
    ASSERT_ERR(reds_transaction(c, &key, 1, withdraw, &t, &o, NULL), REDS_ERR_WATCH);
    ck_assert_int_eq(t.tries, 3);
    ck_assert_msg(strstr(reds_errmsg(), "transaction gave up after 3 tries: "), "%s",
                  reds_errmsg());
    assert_value("balance", "3100");
    ASSERT_ERR(reds_transaction(c, &key, 1, NULL, &t, &o, NULL), REDS_ERR_DATA);
    ASSERT_ERR(reds_transaction(NULL, &key, 1, withdraw, &t, &o, NULL), REDS_ERR_DATA);
}
END_TEST

/* Threads incrementing one counter through reds_transaction(): WATCH makes
 * every read-modify-write atomic, so none is lost. */
enum { THREADS = 4, ROUNDS = 50 };

static reds_err increment(reds_client *pipe, void *udata, void **value)
{
    (void)udata;
    (void)value;
    reds_str *v = NULL;
    reds_err err = reds_get(pipe, REDS_STR("counter"), &v);
    if (err)
        return err;
    char next[24];
    snprintf(next, sizeof next, "%lld", (long long)((v ? atoll(v->ptr) : 0) + 1));
    reds_free(v);
    err = reds_pipeline_multi(pipe);
    return err ? err : reds_set(pipe, REDS_STR("counter"), reds_cstr(next), NULL, NULL);
}

static void *incrementer(void *arg)
{
    (void)arg;
    reds_str key = REDS_STR("counter");
    for (int i = 0; i < ROUNDS; i++)
        if (reds_transaction(c, &key, 1, increment, NULL, NULL, NULL))
            return (void *)"transaction failed";
    return NULL;
}

START_TEST(transaction_helper_threads)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, incrementer, NULL);
    for (int i = 0; i < THREADS; i++) {
        void *failure;
        pthread_join(t[i], &failure);
        ck_assert_msg(!failure, "%s", (const char *)failure);
    }
    char expect[16];
    snprintf(expect, sizeof expect, "%d", THREADS * ROUNDS);
    assert_value("counter", expect);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("transaction");
    TCase *tc = tcase_create("multi");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, multi_exec_atomic);
    tcase_add_test(tc, runtime_error_inside_exec);
    tcase_add_test(tc, queued_command_error_aborts);
    tcase_add_test(tc, order_of_calls);
    suite_add_tcase(s, tc);

    tc = tcase_create("watch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, watch_conflict_from_another_connection);
    tcase_add_test(tc, unknown_command_while_watching);
    tcase_add_test(tc, watch_pins_a_connection_until_execute);
    tcase_add_test(tc, unwatch);
    tcase_add_test(tc, discard);
    tcase_add_test(tc, empty_transaction_with_watch);
    tcase_add_test(tc, watched_connection_dies);
    tcase_add_test(tc, fork_while_watching);
    tcase_add_test(tc, transaction_of_a_dedicated_connection);
    suite_add_tcase(s, tc);

    tc = tcase_create("helper");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, transaction_helper_retries);
    tcase_add_test(tc, transaction_helper_gives_up);
    tcase_add_test(tc, transaction_helper_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
