/* Pipelines against a real server: every output kind queued and filled,
 * a failing command in the middle (the others' outputs exact), reuse
 * after execute and reset, pipelines of dedicated connections, errors of
 * the whole batch (no server, a connection closed mid-way), big batches
 * and the argument checks. */
#include <stdio.h>
#include <stdlib.h>

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

static reds_client *new_pipeline(reds_client *from, bool transaction)
{
    reds_client *p = NULL;
    ASSERT_OK(reds_pipeline_new(from, transaction, &p));
    ck_assert_ptr_nonnull(p);
    return p;
}

/* The value of `key` read outside the pipeline, or NULL-asserting. */
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

/* --------------------------------------------------------- output kinds */

/* Queue one command of every output kind; `execute` fills them. */
typedef struct outputs {
    bool set_ok;
    int64_t incr, rpush, llen;
    reds_str *get, *missing;
    reds_strlist *range;
    reds_map *hash;
    reds_reply *tree;
    reds_opt_i64 rank;
    reds_opt_f64 score;
} outputs;

static void queue_every_kind(reds_client *p, outputs *o)
{
    reds_str items[] = {REDS_STR("a"), REDS_STR("b"), REDS_STR("c")};
    reds_field_value fv[] = {{REDS_STR("f1"), REDS_STR("v1")}, {REDS_STR("f2"), REDS_STR("v2")}};
    reds_score_member zm[] = {{2.5, REDS_STR("m")}};
    reds_str echo[] = {REDS_STR("ECHO"), REDS_STR("tree")};
    ASSERT_OK(reds_set(p, REDS_STR("s"), REDS_STR("hello"), NULL, &o->set_ok));
    ASSERT_OK(reds_incr(p, REDS_STR("n"), &o->incr));
    ASSERT_OK(reds_get(p, REDS_STR("s"), &o->get));
    ASSERT_OK(reds_get(p, REDS_STR("nothing"), &o->missing));
    ASSERT_OK(reds_rpush(p, REDS_STR("l"), items, 3, &o->rpush));
    ASSERT_OK(reds_lrange(p, REDS_STR("l"), 0, -1, &o->range));
    ASSERT_OK(reds_llen(p, REDS_STR("l"), &o->llen));
    ASSERT_OK(reds_hset(p, REDS_STR("h"), fv, 2, NULL));
    ASSERT_OK(reds_hgetall(p, REDS_STR("h"), &o->hash));
    ASSERT_OK(reds_zadd(p, REDS_STR("z"), zm, 1, NULL, NULL));
    ASSERT_OK(reds_zscore(p, REDS_STR("z"), REDS_STR("m"), &o->score));
    ASSERT_OK(reds_zrank(p, REDS_STR("z"), REDS_STR("m"), &o->rank));
    ASSERT_OK(reds_execute_command(p, 2, echo, &o->tree));
}

static void check_every_kind(reds_client *p, outputs *o)
{
    ck_assert_uint_eq(reds_pipeline_count(p), 13);
    ck_assert(o->set_ok);
    ck_assert_int_eq(o->incr, 1);
    ASSERT_STR(o->get, "hello");
    ck_assert_ptr_null(o->missing);
    ck_assert_int_eq(o->rpush, 3);
    ck_assert_uint_eq(o->range->count, 3);
    ASSERT_STR(&o->range->items[0], "a");
    ASSERT_STR(&o->range->items[2], "c");
    ck_assert_int_eq(o->llen, 3);
    ck_assert_uint_eq(o->hash->count, 2);
    ASSERT_STR(reds_map_get(o->hash, REDS_STR("f2")), "v2");
    ck_assert(o->score.set && o->score.value == 2.5);
    ck_assert(o->rank.set && o->rank.value == 0);
    ck_assert_int_eq(o->tree->type, REDS_REPLY_STRING);
    ck_assert_str_eq(o->tree->str, "tree");
    for (size_t i = 0; i < 13; i++) {
        const char *msg = "unset";
        ASSERT_OK(reds_pipeline_result(p, i, &msg));
        ck_assert_str_eq(msg, "");
    }
    /* Every owned output is released on its own, in any order. */
    reds_free(o->range);
    reds_free(o->tree);
    reds_free(o->get);
    reds_free(o->hash);
    reds_free(o->missing);
}

START_TEST(every_output_kind)
{
    reds_client *p = new_pipeline(c, false);
    outputs o;
    memset(&o, 0xff, sizeof o); /* the wrappers clear outputs on entry */
    queue_every_kind(p, &o);
    ck_assert_ptr_null(o.get); /* nothing is filled before execution */
    ck_assert_ptr_null(o.range);
    ck_assert_int_eq(o.incr, 0);
    ck_assert_uint_eq(reds_pipeline_count(p), 13);
    ASSERT_OK(reds_pipeline_execute(p));
    check_every_kind(p, &o);
    reds_client_free(p);
}
END_TEST

START_TEST(every_output_kind_in_a_transaction)
{
    reds_client *p = new_pipeline(c, true);
    outputs o;
    memset(&o, 0, sizeof o);
    queue_every_kind(p, &o);
    ASSERT_OK(reds_pipeline_execute(p));
    check_every_kind(p, &o);
    reds_client_free(p);
}
END_TEST

/* ----------------------------------------------- one command of n fails */

START_TEST(command_k_of_n_fails)
{
    reds_str items[] = {REDS_STR("x")};
    ASSERT_OK(reds_rpush(c, REDS_STR("list"), items, 1, NULL));
    ASSERT_OK(reds_set(c, REDS_STR("k1"), REDS_STR("one"), NULL, NULL));
    for (int tx = 0; tx < 2; tx++) {
        reds_client *p = new_pipeline(c, tx);
        reds_str *v1 = NULL, *bad = (reds_str *)&v1, *v5 = NULL;
        int64_t n2 = -1, n4 = -1;
        ASSERT_OK(reds_get(p, REDS_STR("k1"), &v1));
        ASSERT_OK(reds_incr(p, REDS_STR("counter"), &n2));
        ASSERT_OK(reds_get(p, REDS_STR("list"), &bad));
        ASSERT_OK(reds_incr(p, REDS_STR("counter"), &n4));
        ASSERT_OK(reds_getset(p, REDS_STR("k1"), REDS_STR("two"), &v5));
        ASSERT_ERR(reds_pipeline_execute(p), REDS_ERR_RESPONSE);
        ck_assert_str_eq(reds_errmsg(), "command 3 of 5 (GET): WRONGTYPE Operation against a "
                                        "key holding the wrong kind of value");
        /* The others ran, and their outputs are exact. */
        ASSERT_STR(v1, tx ? "two" : "one");
        ck_assert_int_eq(n2, tx ? 3 : 1);
        ck_assert_ptr_null(bad);
        ck_assert_int_eq(n4, tx ? 4 : 2);
        ASSERT_STR(v5, tx ? "two" : "one");
        const char *msg = NULL;
        ASSERT_ERR(reds_pipeline_result(p, 2, &msg), REDS_ERR_RESPONSE);
        ck_assert_str_eq(msg, "GET: WRONGTYPE Operation against a key holding the wrong kind "
                              "of value");
        for (size_t i = 0; i < 5; i++)
            if (i != 2)
                ASSERT_OK(reds_pipeline_result(p, i, &msg));
        ASSERT_ERR(reds_pipeline_result(p, 5, &msg), REDS_ERR_DATA);
        ck_assert_str_eq(msg, "");
        reds_free(v1);
        reds_free(v5);
        reds_client_free(p);
        if (!tx) /* the transaction below starts where this one ended */
            ASSERT_OK(reds_set(c, REDS_STR("k1"), REDS_STR("two"), NULL, NULL));
    }
}
END_TEST

/* A command the table does not know is named as the user sent it, in
 * the execution's message and in its own. */
START_TEST(unknown_command_named_as_sent)
{
    ASSERT_OK(reds_set(c, REDS_STR("k1"), REDS_STR("one"), NULL, NULL));
    reds_str nosuch[] = {REDS_STR("NOSUCH"), REDS_STR("x")};
    reds_str sub[] = {REDS_STR("config"), REDS_STR("nosuch"), REDS_STR("x")};
    for (int tx = 0; tx < 2; tx++) {
        reds_client *p = new_pipeline(c, tx);
        reds_str *v1 = NULL;
        reds_reply *r2 = NULL, *r3 = NULL;
        int64_t n4 = -1;
        ASSERT_OK(reds_get(p, REDS_STR("k1"), &v1));
        ASSERT_OK(reds_execute_command(p, 2, nosuch, &r2));
        ASSERT_OK(reds_execute_command(p, 3, sub, &r3));
        ASSERT_OK(reds_incr(p, REDS_STR("counter"), &n4));
        const char *msg;
        if (!tx) {
            ASSERT_ERR(reds_pipeline_execute(p), REDS_ERR_RESPONSE);
            ck_assert_str_eq(reds_errmsg(), "command 2 of 4 (NOSUCH): ERR unknown command "
                                            "'NOSUCH', with args beginning with: 'x' ");
            ASSERT_STR(v1, "one");
            ck_assert_int_eq(n4, 1);
            ASSERT_OK(reds_pipeline_result(p, 0, &msg));
        } else {
            /* Refused when queued: nothing runs. */
            ASSERT_ERR(reds_pipeline_execute(p), REDS_ERR_EXECABORT);
            ck_assert_str_eq(reds_errmsg(), "command 2 of 4 (NOSUCH): ERR unknown command "
                                            "'NOSUCH', with args beginning with: 'x'  "
                                            "(EXECABORT Transaction discarded because of "
                                            "previous errors.)");
            ASSERT_ERR(reds_pipeline_result(p, 0, &msg), REDS_ERR_EXECABORT);
            ck_assert_str_eq(msg, "GET: EXECABORT Transaction discarded because of previous "
                                  "errors.");
        }
        ASSERT_ERR(reds_pipeline_result(p, 1, &msg), REDS_ERR_RESPONSE);
        ck_assert_str_eq(msg, "NOSUCH: ERR unknown command 'NOSUCH', with args beginning with: "
                              "'x' ");
        ASSERT_ERR(reds_pipeline_result(p, 2, &msg), REDS_ERR_RESPONSE);
        ck_assert_str_eq(msg, "config nosuch: ERR unknown subcommand 'nosuch'. Try CONFIG HELP.");
        ck_assert_ptr_null(r2);
        ck_assert_ptr_null(r3);
        reds_free(v1);
        /* The next batch starts afresh (ASan checks the names are freed). */
        ASSERT_OK(reds_execute_command(p, 2, nosuch, NULL));
        ASSERT_OK(reds_get(p, REDS_STR("k1"), NULL));
        ASSERT_ERR(reds_pipeline_execute(p), tx ? REDS_ERR_EXECABORT : REDS_ERR_RESPONSE);
        reds_pipeline_reset(p);
        ASSERT_OK(reds_execute_command(p, 2, nosuch, NULL));
        reds_client_free(p);
    }
}
END_TEST

/* STRLEN refused by a response callback: a conversion error. */
static reds_err refuse(const reds_reply *reply, void *out, void *udata)
{
    (void)reply;
    (void)out;
    (void)udata;
    return reds_set_error(REDS_ERR_INVALID_RESPONSE, "refused");
}

/* GET upper-cased, into GET's own output type. */
static reds_err shout(const reds_reply *reply, void *out, void *udata)
{
    (void)udata;
    reds_str *s = reds_alloc(sizeof *s + reply->len + 1);
    char *p = (char *)(s + 1);
    for (size_t i = 0; i < reply->len; i++)
        p[i] = (char)(reply->str[i] >= 'a' && reply->str[i] <= 'z' ? reply->str[i] - 32
                                                                   : reply->str[i]);
    s->ptr = p;
    s->len = reply->len;
    *(reds_str **)out = s;
    return REDS_OK;
}

START_TEST(conversion_error_is_per_command)
{
    ASSERT_OK(reds_set(c, REDS_STR("k"), REDS_STR("v"), NULL, NULL));
    ASSERT_OK(reds_set_response_callback(c, "STRLEN", refuse, NULL));
    ASSERT_OK(reds_set_response_callback(c, "GET", shout, NULL));
    for (int tx = 0; tx < 2; tx++) {
        reds_client *p = new_pipeline(c, tx);
        int64_t len = 5;
        reds_str *v1 = NULL, *v3 = NULL;
        ASSERT_OK(reds_get(p, REDS_STR("k"), &v1));
        ASSERT_OK(reds_strlen(p, REDS_STR("k"), &len));
        ASSERT_OK(reds_get(p, REDS_STR("k"), &v3));
        ASSERT_ERR(reds_pipeline_execute(p), REDS_ERR_INVALID_RESPONSE);
        ck_assert_str_eq(reds_errmsg(), "command 2 of 3 (STRLEN): refused");
        const char *msg;
        ASSERT_ERR(reds_pipeline_result(p, 1, &msg), REDS_ERR_INVALID_RESPONSE);
        ck_assert_str_eq(msg, "STRLEN: refused");
        ck_assert_int_eq(len, 0);
        ASSERT_STR(v1, "V"); /* the callbacks of the client apply */
        ASSERT_STR(v3, "V");
        reds_free(v1);
        reds_free(v3);
        reds_client_free(p);
    }
}
END_TEST

/* ---------------------------------------------------------------- reuse */

START_TEST(reuse_after_execute_and_reset)
{
    reds_client *p = new_pipeline(c, false);
    reds_str *v = NULL;
    ASSERT_OK(reds_set(p, REDS_STR("a"), REDS_STR("1"), NULL, NULL));
    ASSERT_OK(reds_get(p, REDS_STR("a"), &v));
    reds_pipeline_reset(p);
    ck_assert_uint_eq(reds_pipeline_count(p), 0);
    ck_assert_ptr_null(v);
    assert_value("a", NULL); /* nothing was sent */

    for (int round = 0; round < 3; round++) {
        char val[16];
        snprintf(val, sizeof val, "v%d", round);
        int64_t n = 0;
        ASSERT_OK(reds_set(p, REDS_STR("a"), reds_cstr(val), NULL, NULL));
        ASSERT_OK(reds_get(p, REDS_STR("a"), &v));
        ASSERT_OK(reds_incr(p, REDS_STR("rounds"), &n));
        ck_assert_uint_eq(reds_pipeline_count(p), 3);
        ASSERT_OK(reds_pipeline_execute(p));
        ASSERT_STR(v, val);
        ck_assert_int_eq(n, round + 1);
        reds_free(v);
        v = NULL;
        /* The results stay readable until the next command is queued. */
        ck_assert_uint_eq(reds_pipeline_count(p), 3);
    }
    /* Executing an empty pipeline is a no-op. */
    ASSERT_OK(reds_pipeline_execute(p));
    ck_assert_uint_eq(reds_pipeline_count(p), 0);
    /* Freed with commands queued: nothing is sent, nothing leaks. */
    ASSERT_OK(reds_get(p, REDS_STR("a"), &v));
    reds_client_free(p);
    ck_assert_ptr_null(v);
}
END_TEST

START_TEST(no_callbacks_on_a_pipeline)
{
    reds_client *p = new_pipeline(c, false);
    ASSERT_ERR(reds_set_response_callback(p, "GET", NULL, NULL), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "reds_set_response_callback: set callbacks on the client a "
                                    "pipeline comes from");
    reds_client_free(p);
}
END_TEST

/* ------------------------------------------------- dedicated connections */

START_TEST(pipeline_of_a_dedicated_connection)
{
    reds_client *d;
    ASSERT_OK(reds_client_dedicated(c, &d));
    /* A pooled client's pipeline refuses connection state, as the client. */
    reds_client *pooled = new_pipeline(c, false);
    ASSERT_ERR(reds_select(pooled, 3), REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "SELECT changes the state of one connection"));
    ck_assert_uint_eq(reds_pipeline_count(pooled), 0);
    reds_client_free(pooled);

    reds_client *p = new_pipeline(d, false);
    int64_t id1 = 0, id2 = 0;
    reds_str *v = NULL;
    ASSERT_OK(reds_client_id(p, &id1));
    ASSERT_OK(reds_select(p, 3));
    ASSERT_OK(reds_set(p, REDS_STR("k"), REDS_STR("db3"), NULL, NULL));
    ASSERT_OK(reds_get(p, REDS_STR("k"), &v));
    ASSERT_OK(reds_pipeline_execute(p));
    ASSERT_STR(v, "db3");
    reds_free(v);
    /* The same connection, still on db 3, serves the handle afterwards. */
    ASSERT_OK(reds_client_id(d, &id2));
    ck_assert(id1 == id2);
    ASSERT_OK(reds_get(d, REDS_STR("k"), &v));
    ASSERT_STR(v, "db3");
    reds_free(v);
    assert_value("k", NULL); /* db 0 */
    reds_client_free(p);
    reds_client_free(d);
}
END_TEST

START_TEST(connection_closed_mid_way)
{
    /* QUIT in the middle: the server answers it and closes, so the last
     * command never gets a reply. The connection is closed, not reused. */
    reds_client *d;
    ASSERT_OK(reds_client_dedicated(c, &d));
    reds_client *p = new_pipeline(d, false);
    bool ok = false;
    reds_str *v = (reds_str *)&ok;
    int64_t id1 = 0, id2 = 0;
    ASSERT_OK(reds_client_id(d, &id1));
    ASSERT_OK(reds_set(p, REDS_STR("k"), REDS_STR("v"), NULL, &ok));
    ASSERT_OK(reds_quit(p));
    ASSERT_OK(reds_get(p, REDS_STR("k"), &v));
    reds_err err = reds_pipeline_execute(p);
    ck_assert_msg(reds_err_is(err, REDS_ERR_CONNECTION), "%s", reds_errmsg());
    ck_assert_msg(strstr(reds_errmsg(), "command 3 of 3 (GET): Error reading from"), "%s",
                  reds_errmsg());
    ck_assert(ok);
    ck_assert_ptr_null(v);
    ASSERT_OK(reds_pipeline_result(p, 0, NULL));
    ASSERT_OK(reds_pipeline_result(p, 1, NULL));
    ck_assert(reds_err_is(reds_pipeline_result(p, 2, NULL), REDS_ERR_CONNECTION));
    /* The handle reconnects. */
    ASSERT_OK(reds_client_id(d, &id2));
    ck_assert(id1 != id2);
    reds_client_free(p);
    reds_client_free(d);
}
END_TEST

START_TEST(no_server)
{
    reds_options o = {.port = fixture_free_port()};
    reds_client *none;
    ASSERT_OK(reds_client_new(&o, &none));
    /* An empty transaction sends nothing, so it cannot fail. */
    reds_client *p = new_pipeline(none, true);
    ASSERT_OK(reds_pipeline_execute(p));
    reds_str *v = NULL;
    int64_t n = 7;
    ASSERT_OK(reds_get(p, REDS_STR("k"), &v));
    ASSERT_OK(reds_incr(p, REDS_STR("n"), &n));
    ASSERT_ERR(reds_pipeline_execute(p), REDS_ERR_CONNECTION);
    ck_assert_msg(strstr(reds_errmsg(), "transaction of 2 commands: Error connecting to"), "%s",
                  reds_errmsg());
    ASSERT_ERR(reds_pipeline_result(p, 1, NULL), REDS_ERR_CONNECTION);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(n, 0);
    reds_client_free(p);
    reds_client_free(none);
}
END_TEST

/* ------------------------------------------------------------ big batches */

START_TEST(big_batch)
{
    enum { N = 20000 };
    reds_client *p = new_pipeline(c, false);
    static int64_t lens[N];
    char key[32], *big = malloc(100000);
    memset(big, 'x', 100000);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "key:%d", i);
        /* Every 1000th value is big: the buffer grows past 1 MiB. */
        reds_str v = i % 1000 ? reds_cstr(key) : reds_strn(big, 100000);
        ASSERT_OK(reds_set(p, reds_cstr(key), v, NULL, NULL));
        ASSERT_OK(reds_strlen(p, reds_cstr(key), &lens[i]));
    }
    ck_assert_uint_eq(reds_pipeline_count(p), 2 * N);
    ASSERT_OK(reds_pipeline_execute(p));
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "key:%d", i);
        ck_assert_int_eq(lens[i], i % 1000 ? (int64_t)strlen(key) : 100000);
    }
    int64_t size = 0;
    ASSERT_OK(reds_dbsize(c, &size));
    ck_assert_int_eq(size, N);
    /* And the pipeline stays usable with its buffer shrunk back. */
    reds_str *v = NULL;
    ASSERT_OK(reds_get(p, REDS_STR("key:1"), &v));
    ASSERT_OK(reds_pipeline_execute(p));
    ASSERT_STR(v, "key:1");
    reds_free(v);
    free(big);
    reds_client_free(p);
}
END_TEST

/* ------------------------------------------------------------ refusals */

START_TEST(bad_arguments)
{
    reds_client *p = NULL;
    ASSERT_ERR(reds_pipeline_new(NULL, true, &p), REDS_ERR_DATA);
    ASSERT_ERR(reds_pipeline_new(c, true, NULL), REDS_ERR_DATA);
    p = new_pipeline(c, false);
    reds_client *nested = (reds_client *)&nested;
    ASSERT_ERR(reds_pipeline_new(p, true, &nested), REDS_ERR_DATA);
    ck_assert_ptr_null(nested);
    ck_assert_str_eq(reds_errmsg(), "reds_pipeline_new: a pipeline cannot make pipelines");
    /* Transaction commands belong to the pipeline API. */
    reds_str multi[] = {REDS_STR("MULTI")}, exec[] = {REDS_STR("exec")};
    ASSERT_ERR(reds_execute_command(p, 1, multi, NULL), REDS_ERR_DATA);
    ASSERT_ERR(reds_execute_command(p, 1, exec, NULL), REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "use reds_pipeline_execute"));
    /* Invalid arguments are refused before queueing. */
    ASSERT_ERR(reds_get(p, reds_strn(NULL, 3), NULL), REDS_ERR_DATA);
    ck_assert_uint_eq(reds_pipeline_count(p), 0);
    /* A pooled client is not a pipeline. */
    ASSERT_ERR(reds_pipeline_execute(c), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "reds_pipeline_execute: the handle is not a pipeline");
    ASSERT_ERR(reds_pipeline_execute(NULL), REDS_ERR_DATA);
    ck_assert_uint_eq(reds_pipeline_count(c), 0);
    reds_pipeline_reset(NULL);
    reds_pipeline_reset(c); /* ignored */
    ASSERT_ERR(reds_pipeline_discard(p), REDS_ERR_DATA);
    reds_client_free(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("outputs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, every_output_kind);
    tcase_add_test(tc, every_output_kind_in_a_transaction);
    tcase_add_test(tc, command_k_of_n_fails);
    tcase_add_test(tc, unknown_command_named_as_sent);
    tcase_add_test(tc, conversion_error_is_per_command);
    suite_add_tcase(s, tc);

    tc = tcase_create("lifecycle");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, reuse_after_execute_and_reset);
    tcase_add_test(tc, no_callbacks_on_a_pipeline);
    tcase_add_test(tc, pipeline_of_a_dedicated_connection);
    tcase_add_test(tc, connection_closed_mid_way);
    tcase_add_test(tc, no_server);
    tcase_add_test(tc, big_batch);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
