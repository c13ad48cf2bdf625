/* See testutil.h. */
#include "testutil.h"
#include "testreply.h"

#include <hiredis/read.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/wait.h>

fixture_server test_server;

/* Tests skipped (TEST_SKIP_ON), counted across Check's forked children in
 * memory shared with test_main(). */
static int *skipped;

fixture_kind test_kind(void)
{
    return test_server.pid > 0 ? test_server.kind : fixture_server_kind();
}

void test_skip(const char *fn, const char *why)
{
    /* START_TEST(name) defines name_fn. */
    size_t n = strlen(fn);
    if (n > 3 && strcmp(fn + n - 3, "_fn") == 0)
        n -= 3;
    const char *version = test_server.pid > 0 ? test_server.version : "";
    printf("SKIP %.*s: on %s%s%s: %s\n", (int)n, fn, fixture_kind_name(test_kind()),
           *version ? " " : "", version, why);
    fflush(stdout);
    if (skipped)
        __atomic_fetch_add(skipped, 1, __ATOMIC_SEQ_CST);
}

int test_main(Suite *suite, bool with_server)
{
    if (with_server) {
        if (fixture_start(&test_server, NULL) != 0)
            return 1;
        printf("server: %s %s\n", fixture_kind_name(test_server.kind), test_server.version);
        fflush(stdout);
    }
    skipped =
        mmap(NULL, sizeof *skipped, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (skipped == MAP_FAILED)
        skipped = NULL;
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    if (skipped && *skipped)
        printf("%d of the %d checks skipped on %s %s (SKIP lines above)\n", *skipped,
               srunner_ntests_run(sr), fixture_kind_name(test_kind()), test_server.version);
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
    static reds__parser parser;
    parser = (reds__parser){.arena = &test_arena};
    struct redisReader *r = reds__reader_new(&parser);
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

/* ------------------------------------------------- build-time tools */

void test_tmpdir(char dir[64], const char *tag)
{
    snprintf(dir, 64, "/tmp/reds-%s-XXXXXX", tag);
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

void test_rmtree(const char *dir)
{
    char log[256];
    ck_assert_int_eq(test_sh(log, sizeof log, "rm -rf '%s'", dir), 0);
}

int test_sh(char *log, size_t size, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd - 8, fmt, ap);
    va_end(ap);
    ck_assert(n > 0 && (size_t)n < sizeof cmd - 8);
    strcat(cmd, " 2>&1");
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t got = fread(log, 1, size - 1, p);
    log[got] = '\0';
    /* Read what did not fit, so the command never dies of SIGPIPE. */
    char rest[4096];
    while (fread(rest, 1, sizeof rest, p) > 0)
        ;
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

const char *test_python(void)
{
    const char *p = getenv("REDS_PYTHON");
    return p && *p ? p : "python3";
}

void test_edit_file(const char *path, const char *from, const char *to)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    char *at = strstr(text, from);
    ck_assert_msg(at != NULL, "%s does not hold %.200s", path, from);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fwrite(text, 1, (size_t)(at - text), f);
    fputs(to, f);
    fputs(at + strlen(from), f);
    fclose(f);
}

int64_t test_client_id(reds_client *c)
{
    int64_t id = 0;
    ASSERT_OK(reds_client_id(c, &id));
    return id;
}

void test_kill_client(int64_t id)
{
    char cmd[64], reply[64];
    snprintf(cmd, sizeof cmd, "CLIENT KILL ID %lld", (long long)id);
    test_raw(cmd, reply, sizeof reply);
    ck_assert_str_eq(reply, ":1");
}

static void *kill_loop(void *arg)
{
    test_killer *k = arg;
    char cmd[64];
    sleep_ms(k->ms);
    snprintf(cmd, sizeof cmd, "CLIENT KILL ID %lld", (long long)k->id);
    test_raw(cmd, k->reply, sizeof k->reply);
    return NULL;
}

void test_kill_later(test_killer *k, int64_t id, int ms)
{
    k->id = id;
    k->ms = ms;
    k->reply[0] = '\0';
    ck_assert_int_eq(pthread_create(&k->thread, NULL, kill_loop, k), 0);
}

void test_killed(test_killer *k)
{
    pthread_join(k->thread, NULL);
    ck_assert_str_eq(k->reply, ":1");
}

reds_pool_stats test_pool_stats(reds_client *c)
{
    reds_pool_stats s;
    ASSERT_OK(reds_pool_get_stats(c, &s));
    return s;
}

void test_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}
