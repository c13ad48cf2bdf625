/* See testutil.h. */
#include "testutil.h"
#include "testreply.h"

#include <hiredis/read.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

fixture_server test_server;

int test_main(Suite *suite, bool with_server)
{
    if (with_server && fixture_start(&test_server, NULL) != 0)
        return 1;
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (with_server)
        fixture_stop(&test_server);
    return failed ? 1 : 0;
}

void test_raw(const char *inline_cmd, char *reply, size_t size)
{
    ck_assert_msg(fixture_command(&test_server, inline_cmd, reply, size) == 0,
                  "raw command %s failed", inline_cmd);
}

reds_reply *test_run(reds_client *c, const char *first, ...)
{
    reds_str argv[32];
    size_t argc = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        ck_assert_uint_lt(argc, 32);
        argv[argc++] = reds_cstr(a);
    }
    va_end(ap);
    reds_reply *r = NULL;
    reds_err err = reds_execute_command(c, argc, argv, &r);
    ck_assert_msg(err == REDS_OK, "%s: %s", first, reds_errmsg());
    return r;
}

void test_assert_strlist(const reds_strlist *l, ...)
{
    ck_assert_ptr_nonnull(l);
    va_list ap;
    va_start(ap, l);
    size_t i = 0;
    for (const char *e = va_arg(ap, const char *); e; e = va_arg(ap, const char *), i++) {
        ck_assert_msg(i < l->count, "%zu elements, expected more", l->count);
        ASSERT_STR(&l->items[i], e);
    }
    va_end(ap);
    ck_assert_msg(l->count == i, "%zu elements, expected %zu", l->count, i);
}

void test_flush(void)
{
    char reply[64];
    test_raw("FLUSHALL", reply, sizeof reply);
    ck_assert_str_eq(reply, "+OK");
}

reds_client *test_client(const reds_options *opts)
{
    reds_options o = {0};
    if (opts)
        o = *opts;
    o.host = "127.0.0.1";
    o.port = test_server.port;
    reds_client *c = NULL;
    reds_err err = reds_client_new(&o, &c);
    ck_assert_msg(err == REDS_OK, "reds_client_new: %s", reds_errmsg());
    return c;
}

reds_client *test_client_unix(const reds_options *opts)
{
    reds_options o = {0};
    if (opts)
        o = *opts;
    o.unix_path = test_server.sock;
    reds_client *c = NULL;
    reds_err err = reds_client_new(&o, &c);
    ck_assert_msg(err == REDS_OK, "reds_client_new: %s", reds_errmsg());
    return c;
}

/* ------------------------------------------------------- canned replies */

reds__arena test_arena;

const reds_reply *test_parse(const char *resp, size_t len)
{
    struct redisReader *r = reds__reader_new(&test_arena);
    void *reply = NULL;
    ck_assert_int_eq(redisReaderFeed(r, resp, len), REDIS_OK);
    ck_assert_int_eq(redisReaderGetReply(r, &reply), REDIS_OK);
    ck_assert_ptr_nonnull(reply);
    redisReaderFree(r);
    return reply;
}

const reds_reply *test_parse_bulk(const char *text)
{
    static char buf[4096];
    int n = snprintf(buf, sizeof buf, "$%zu\r\n%s\r\n", strlen(text), text);
    ck_assert_int_lt(n, (int)sizeof buf);
    return test_parse(buf, (size_t)n);
}

reds_err test_convert(reds__conv_fn fn, const reds_reply *r, void *out)
{
    reds_err err = fn(r, &test_arena, out);
    if (err)
        test_arena.result = NULL;
    reds__arena_finish(&test_arena);
    return err;
}

void test_arena_clear(void)
{
    reds__arena_clear(&test_arena);
}

void test_assert_follows(reds_client *pub, reds_pubsub *ps, reds_str ch, bool shard, int timeout_ms)
{
    bool reconnected = false, heard = false;
    reds_str text = REDS_STR("after failover");
    for (long long deadline = now_ms() + timeout_ms; !heard && now_ms() < deadline;) {
        ASSERT_OK(shard ? reds_spublish(pub, ch, text, NULL) : reds_publish(pub, ch, text, NULL));
        reds_pubsub_message *msg = NULL;
        if (reds_pubsub_get_message(ps, 200, &msg) == REDS_OK && msg) {
            reconnected = reconnected || msg->kind == REDS_PUBSUB_RECONNECTED;
            if (msg->kind == REDS_PUBSUB_MESSAGE || msg->kind == REDS_PUBSUB_SMESSAGE) {
                ck_assert(str_eq(msg->data, "after failover"));
                heard = true;
            }
        }
        reds_free(msg);
    }
    ck_assert_msg(reconnected, "the pub/sub handle did not report a reconnection");
    ck_assert_msg(heard, "the pub/sub handle did not follow the failover");
}
