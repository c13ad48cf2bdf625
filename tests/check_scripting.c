/* The scripting group against a real server: EVAL and friends (generic
 * reply trees), the script cache, a real Lua function library (LOAD, LIST,
 * DUMP, RESTORE, DELETE, FCALL, FCALL_RO) and killing a busy script or
 * function from another connection. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "testutil.h"

static reds_client *c;

/* A library with a writing function, a read-only one and one that never
 * returns (for FUNCTION KILL and FUNCTION STATS). */
static const char LIBRARY[] =
    "#!lua name=mylib\n"
    "redis.register_function('myset', function(keys, args)\n"
    "    return redis.call('SET', keys[1], args[1])\n"
    "end)\n"
    "redis.register_function{function_name='myget', callback=function(keys, args)\n"
    "    return redis.call('GET', keys[1])\n"
    "end, flags={'no-writes'}, description='read a key'}\n"
    "redis.register_function{function_name='spin', callback=function(keys, args)\n"
    "    while true do end\n"
    "end, flags={'no-writes'}}\n";

static const char OTHER_LIBRARY[] = "#!lua name=otherlib\n"
                                    "redis.register_function('answer', function() return 42 end)\n";

/* SHA1("return 1"). */
#define RETURN_1_SHA "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"

static void setup(void)
{
    test_flush();
    c = test_client(NULL);
    ASSERT_OK(reds_function_flush(c, &(reds_function_flush_opts){.mode = REDS_FLUSH_MODE_SYNC}));
    ASSERT_OK(reds_script_flush(c, NULL));
}

static void teardown(void)
{
    reds_client_free(c);
    c = NULL;
}

/* A string or status reply node holds exactly `expect`. */
static void assert_text(const reds_reply *r, const char *expect)
{
    reds_str s = {NULL, 0};
    ASSERT_OK(reds_reply_str(r, &s));
    ASSERT_STR(&s, expect);
}

static void load_library(void)
{
    reds_str *name = NULL;
    ASSERT_OK(reds_function_load(c, reds_cstr(LIBRARY), NULL, &name));
    ASSERT_STR(name, "mylib");
    reds_free(name);
}

/* The function of `lib` called `name`: FUNCTION LIST does not sort them. */
static const reds_function_info *function_named(const reds_function_library *lib, const char *name)
{
    for (size_t i = 0; i < lib->nfunctions; i++)
        if (lib->functions[i].name.len == strlen(name) &&
            !memcmp(lib->functions[i].name.ptr, name, strlen(name)))
            return &lib->functions[i];
    ck_abort_msg("no function %s in the library", name);
    return NULL;
}

/* ----------------------------------------------------------------- EVAL */

START_TEST(eval_variants_return_reply_trees)
{
    reds_reply *r = NULL;
    ASSERT_OK(
        reds_eval(c, REDS_STR("return {KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]) + 1, {true}}"),
                  &(reds_eval_opts){.keys = (reds_str[]){REDS_STR("k1"), REDS_STR("k2")},
                                    .nkeys = 2,
                                    .args = (reds_str[]){REDS_STR("a"), REDS_STR("41")},
                                    .nargs = 2},
                  &r));
    ck_assert_int_eq(r->type, REDS_REPLY_ARRAY);
    ck_assert_uint_eq(r->len, 5);
    reds_str s;
    int64_t n = 0;
    ASSERT_OK(reds_reply_str(reds_reply_at(r, 0), &s));
    ASSERT_STR(&s, "k1");
    ASSERT_OK(reds_reply_str(reds_reply_at(r, 1), &s));
    ASSERT_STR(&s, "k2");
    ASSERT_OK(reds_reply_str(reds_reply_at(r, 2), &s));
    ASSERT_STR(&s, "a");
    ASSERT_OK(reds_reply_int(reds_reply_at(r, 3), &n));
    ck_assert_int_eq(n, 42);
    ASSERT_OK(reds_reply_int(reds_reply_at(reds_reply_at(r, 4), 0), &n)); /* Lua true is 1 */
    ck_assert_int_eq(n, 1);
    reds_free(r);

    /* No keys, no arguments: numkeys 0 is sent for us. */
    r = NULL;
    ASSERT_OK(reds_eval(c, REDS_STR("return redis.call('SET', 'x', 'y')"), NULL, &r));
    ck_assert_int_eq(r->type, REDS_REPLY_STATUS);
    assert_text(r, "OK");
    reds_free(r);
    r = NULL;
    ASSERT_OK(reds_eval_ro(c, REDS_STR("return redis.call('GET', KEYS[1])"),
                           &(reds_eval_ro_opts){.keys = &REDS_STR("x"), .nkeys = 1}, &r));
    assert_text(r, "y");
    reds_free(r);
    /* A read-only script may not write. */
    r = (void *)1;
    ASSERT_ERR(reds_eval_ro(c, REDS_STR("return redis.call('DEL', KEYS[1])"),
                            &(reds_eval_ro_opts){.keys = &REDS_STR("x"), .nkeys = 1}, &r),
               REDS_ERR_RESPONSE);
    ck_assert_ptr_null(r);
    /* Lua false is nil; a Lua error is a ResponseError. */
    r = NULL;
    ASSERT_OK(reds_eval(c, REDS_STR("return false"), NULL, &r));
    ck_assert_int_eq(r->type, REDS_REPLY_NIL);
    reds_free(r);
    ASSERT_ERR(reds_eval(c, REDS_STR("return redis.error_reply('my error')"), NULL, &r),
               REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "my error"));
}
END_TEST

START_TEST(evalsha_and_the_script_cache)
{
    reds_reply *r = NULL;
    ASSERT_ERR(reds_evalsha(c, REDS_STR(RETURN_1_SHA), NULL, &r), REDS_ERR_NOSCRIPT);
    ck_assert_ptr_null(r);

    reds_str *sha = NULL;
    ASSERT_OK(reds_script_load(c, REDS_STR("return 1"), &sha));
    ASSERT_STR(sha, RETURN_1_SHA);
    reds_free(sha);

    reds_boollist *exists = NULL;
    ASSERT_OK(
        reds_script_exists(c, (reds_str[]){REDS_STR(RETURN_1_SHA), REDS_STR("0000")}, 2, &exists));
    ck_assert_uint_eq(exists->count, 2);
    ck_assert(exists->items[0]);
    ck_assert(!exists->items[1]);
    reds_free(exists);

    int64_t n = 0;
    ASSERT_OK(reds_evalsha(c, REDS_STR(RETURN_1_SHA), NULL, &r));
    ASSERT_OK(reds_reply_int(r, &n));
    ck_assert_int_eq(n, 1);
    reds_free(r);
    r = NULL;
    ASSERT_OK(reds_script_load(c, REDS_STR("return #KEYS + #ARGV"), &sha));
    ASSERT_OK(
        reds_evalsha_ro(c, *sha,
                        &(reds_evalsha_ro_opts){.keys = &REDS_STR("k"),
                                                .nkeys = 1,
                                                .args = (reds_str[]){REDS_STR("a"), REDS_STR("b")},
                                                .nargs = 2},
                        &r));
    ASSERT_OK(reds_reply_int(r, &n));
    ck_assert_int_eq(n, 3);
    reds_free(r);
    reds_free(sha);

    /* Both flush modes empty the cache. */
    ASSERT_OK(reds_script_flush(c, &(reds_script_flush_opts){.mode = REDS_FLUSH_MODE_ASYNC}));
    exists = NULL;
    ASSERT_OK(reds_script_exists(c, &REDS_STR(RETURN_1_SHA), 1, &exists));
    ck_assert(!exists->items[0]);
    reds_free(exists);
    ASSERT_OK(reds_script_load(c, REDS_STR("return 1"), NULL));
    ASSERT_OK(reds_script_flush(c, &(reds_script_flush_opts){.mode = REDS_FLUSH_MODE_SYNC}));
    exists = NULL;
    ASSERT_OK(reds_script_exists(c, &REDS_STR(RETURN_1_SHA), 1, &exists));
    ck_assert(!exists->items[0]);
    reds_free(exists);
    ASSERT_ERR(reds_script_exists(c, NULL, 0, &exists), REDS_ERR_DATA);

    reds_strlist *help = NULL;
    ASSERT_OK(reds_script_help(c, &help));
    ck_assert_uint_gt(help->count, 5);
    ck_assert_ptr_nonnull(strstr(help->items[0].ptr, "SCRIPT"));
    reds_free(help);
}
END_TEST

/* ------------------------------------------------------------- FUNCTION */

START_TEST(function_load_list_and_fcall)
{
    load_library();
    /* Loading it again needs REPLACE. */
    reds_str *name = NULL;
    ASSERT_ERR(reds_function_load(c, reds_cstr(LIBRARY), NULL, &name), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(name);
    ASSERT_OK(reds_function_load(c, reds_cstr(LIBRARY), &(reds_function_load_opts){.replace = true},
                                 &name));
    ASSERT_STR(name, "mylib");
    reds_free(name);
    ASSERT_OK(reds_function_load(c, reds_cstr(OTHER_LIBRARY), NULL, NULL));

    reds_function_library_list *libs = NULL;
    ASSERT_OK(
        reds_function_list(c, &(reds_function_list_opts){.libraryname = REDS_STR("my*")}, &libs));
    ck_assert_uint_eq(libs->count, 1);
    const reds_function_library *lib = &libs->items[0];
    ASSERT_STR(&lib->library_name, "mylib");
    ASSERT_STR(&lib->engine, "LUA");
    ck_assert_ptr_null(lib->library_code.ptr); /* no WITHCODE */
    ck_assert_uint_eq(lib->nfunctions, 3);
    const reds_function_info *f = function_named(lib, "myset");
    ck_assert_ptr_null(f->description.ptr);
    ck_assert_uint_eq(f->flags.count, 0);
    f = function_named(lib, "myget");
    ASSERT_STR(&f->description, "read a key");
    ck_assert_uint_eq(f->flags.count, 1);
    ASSERT_STR(&f->flags.items[0], "no-writes");
    f = function_named(lib, "spin");
    ck_assert_ptr_null(f->description.ptr);
    ASSERT_STR(&f->flags.items[0], "no-writes");
    reds_free(libs);

    libs = NULL;
    ASSERT_OK(reds_function_list(c, &(reds_function_list_opts){.withcode = true}, &libs));
    ck_assert_uint_eq(libs->count, 2);
    for (size_t i = 0; i < libs->count; i++) {
        const reds_function_library *l = &libs->items[i];
        if (l->library_name.len == 8 && !memcmp(l->library_name.ptr, "otherlib", 8)) {
            ASSERT_STR(&l->library_code, OTHER_LIBRARY);
            ck_assert_uint_eq(l->nfunctions, 1);
            ASSERT_STR(&l->functions[0].name, "answer");
        } else {
            ASSERT_STR(&l->library_name, "mylib");
            ASSERT_STR(&l->library_code, LIBRARY);
        }
    }
    reds_free(libs);

    reds_reply *r = NULL;
    ASSERT_OK(reds_fcall(
        c, REDS_STR("myset"),
        &(reds_fcall_opts){.keys = &REDS_STR("k"), .nkeys = 1, .args = &REDS_STR("v"), .nargs = 1},
        &r));
    ck_assert_int_eq(r->type, REDS_REPLY_STATUS);
    assert_text(r, "OK");
    reds_free(r);
    r = NULL;
    ASSERT_OK(reds_fcall_ro(c, REDS_STR("myget"),
                            &(reds_fcall_ro_opts){.keys = &REDS_STR("k"), .nkeys = 1}, &r));
    ck_assert_int_eq(r->type, REDS_REPLY_STRING);
    assert_text(r, "v");
    reds_free(r);
    r = NULL;
    ASSERT_OK(reds_fcall(c, REDS_STR("answer"), NULL, &r));
    int64_t n = 0;
    ASSERT_OK(reds_reply_int(r, &n));
    ck_assert_int_eq(n, 42);
    reds_free(r);
    /* FCALL_RO refuses a function that may write; unknown functions fail. */
    r = (void *)1;
    ASSERT_ERR(
        reds_fcall_ro(c, REDS_STR("myset"),
                      &(reds_fcall_ro_opts){
                          .keys = &REDS_STR("k"), .nkeys = 1, .args = &REDS_STR("w"), .nargs = 1},
                      &r),
        REDS_ERR_RESPONSE);
    ck_assert_ptr_null(r);
    ASSERT_ERR(reds_fcall(c, REDS_STR("nosuch"), NULL, &r), REDS_ERR_RESPONSE);
    r = NULL;
    ASSERT_OK(reds_fcall_ro(c, REDS_STR("myget"),
                            &(reds_fcall_ro_opts){.keys = &REDS_STR("k"), .nkeys = 1}, &r));
    assert_text(r, "v");
    reds_free(r);

    reds_strlist *help = NULL;
    ASSERT_OK(reds_function_help(c, &help));
    ck_assert_uint_gt(help->count, 5);
    ck_assert_ptr_nonnull(strstr(help->items[0].ptr, "FUNCTION"));
    reds_free(help);
}
END_TEST

START_TEST(function_dump_restore_delete_flush)
{
    load_library();
    reds_str *dump = NULL;
    ASSERT_OK(reds_function_dump(c, &dump));
    ck_assert_uint_gt(dump->len, 10);
    ck_assert_int_eq(dump->ptr[dump->len], '\0');

    ASSERT_OK(reds_function_delete(c, REDS_STR("mylib")));
    ASSERT_ERR(reds_function_delete(c, REDS_STR("mylib")), REDS_ERR_RESPONSE);
    reds_function_library_list *libs = NULL;
    ASSERT_OK(reds_function_list(c, NULL, &libs));
    ck_assert_uint_eq(libs->count, 0);
    reds_free(libs);

    /* The binary payload restores the library (APPEND is the default). */
    ASSERT_OK(reds_function_restore(c, *dump, NULL));
    ASSERT_ERR(
        reds_function_restore(
            c, *dump, &(reds_function_restore_opts){.policy = REDS_FUNCTION_RESTORE_POLICY_APPEND}),
        REDS_ERR_RESPONSE); /* the library exists */
    ASSERT_OK(reds_function_restore(
        c, *dump, &(reds_function_restore_opts){.policy = REDS_FUNCTION_RESTORE_POLICY_REPLACE}));
    ASSERT_OK(reds_function_load(c, reds_cstr(OTHER_LIBRARY), NULL, NULL));
    /* FLUSH drops the libraries the payload does not have. */
    ASSERT_OK(reds_function_restore(
        c, *dump, &(reds_function_restore_opts){.policy = REDS_FUNCTION_RESTORE_POLICY_FLUSH}));
    libs = NULL;
    ASSERT_OK(reds_function_list(c, NULL, &libs));
    ck_assert_uint_eq(libs->count, 1);
    ASSERT_STR(&libs->items[0].library_name, "mylib");
    ck_assert_uint_eq(libs->items[0].nfunctions, 3);
    reds_free(libs);
    reds_free(dump);
    ASSERT_ERR(reds_function_restore(c, REDS_STR("not a payload"), NULL), REDS_ERR_RESPONSE);

    ASSERT_OK(reds_function_flush(c, &(reds_function_flush_opts){.mode = REDS_FLUSH_MODE_ASYNC}));
    libs = NULL;
    ASSERT_OK(reds_function_list(c, NULL, &libs));
    ck_assert_uint_eq(libs->count, 0);
    reds_free(libs);
    ASSERT_OK(reds_function_load(c, reds_cstr(OTHER_LIBRARY), NULL, NULL));
    ASSERT_OK(reds_function_flush(c, NULL));
    reds_function_stats_reply *st = NULL;
    ASSERT_OK(reds_function_stats(c, &st));
    ck_assert_uint_eq(st->nengines, 1);
    ck_assert_int_eq(st->engines[0].stats.libraries_count, 0);
    reds_free(st);
}
END_TEST

/* ------------------------------------------------------ busy and killed */

typedef struct busy_call {
    reds_client *client;
    bool function; /* FCALL_RO spin, else EVAL of an endless loop */
    reds_err err;
    char msg[256];
} busy_call;

static void *run_busy(void *arg)
{
    busy_call *b = arg;
    reds_reply *r = NULL;
    b->err = b->function ? reds_fcall_ro(b->client, REDS_STR("spin"), NULL, &r)
                         : reds_eval(b->client, REDS_STR("while true do end"), NULL, &r);
    snprintf(b->msg, sizeof b->msg, "%s", reds_errmsg());
    reds_free(r);
    return NULL;
}

/* Start a script or function that never ends, on a connection of its own,
 * and wait until the server reports it busy. */
static void start_busy(busy_call *b, pthread_t *t, bool function)
{
    ASSERT_OK(reds_config_set(
        c, &(reds_config_parameter){REDS_STR("busy-reply-threshold"), REDS_STR("20")}, 1));
    memset(b, 0, sizeof *b);
    b->client = test_client(NULL);
    b->function = function;
    ck_assert_int_eq(pthread_create(t, NULL, run_busy, b), 0);
}

static void finish_busy(busy_call *b, pthread_t t)
{
    pthread_join(t, NULL);
    reds_client_free(b->client);
    ASSERT_OK(reds_config_set(
        c, &(reds_config_parameter){REDS_STR("busy-reply-threshold"), REDS_STR("5000")}, 1));
}

START_TEST(script_kill_a_busy_script)
{
    ASSERT_ERR(reds_script_kill(c), REDS_ERR_RESPONSE); /* NOTBUSY */
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "NOTBUSY"));
    busy_call b;
    pthread_t t;
    start_busy(&b, &t, false);
    reds_err err;
    for (int i = 0; i < 500; i++) {
        if ((err = reds_script_kill(c)) == REDS_OK)
            break;
        sleep_ms(10); /* NOTBUSY until the script has started */
    }
    ASSERT_OK(err);
    finish_busy(&b, t);
    ck_assert_int_eq(b.err, REDS_ERR_RESPONSE);
    ck_assert_msg(strstr(b.msg, "killed") != NULL, "%s", b.msg);
}
END_TEST

START_TEST(function_kill_and_stats_of_a_running_function)
{
    ASSERT_ERR(reds_function_kill(c), REDS_ERR_RESPONSE); /* NOTBUSY */
    load_library();
    busy_call b;
    pthread_t t;
    start_busy(&b, &t, true);
    /* FUNCTION STATS is served while the function runs, and shows it. */
    reds_function_stats_reply *st = NULL;
    for (int i = 0; i < 500; i++) {
        ASSERT_OK(reds_function_stats(c, &st));
        if (st->running_script.name.ptr)
            break;
        reds_free(st);
        st = NULL;
        sleep_ms(10);
    }
    ck_assert_ptr_nonnull(st);
    ASSERT_STR(&st->running_script.name, "spin");
    ck_assert_uint_eq(st->running_script.command.count, 3);
    ASSERT_STR(&st->running_script.command.items[0], "FCALL_RO");
    ASSERT_STR(&st->running_script.command.items[1], "spin");
    ASSERT_STR(&st->running_script.command.items[2], "0");
    ck_assert_int_ge(st->running_script.duration_ms, 0);
    ck_assert_uint_eq(st->nengines, 1);
    ASSERT_STR(&st->engines[0].name, "LUA");
    ck_assert_int_eq(st->engines[0].stats.libraries_count, 1);
    ck_assert_int_eq(st->engines[0].stats.functions_count, 3);
    reds_free(st);
    /* Other commands are refused with BUSY meanwhile. */
    ASSERT_ERR(reds_fcall_ro(c, REDS_STR("myget"),
                             &(reds_fcall_ro_opts){.keys = &REDS_STR("k"), .nkeys = 1}, NULL),
               REDS_ERR_BUSY);
    ASSERT_OK(reds_function_kill(c));
    finish_busy(&b, t);
    ck_assert_int_eq(b.err, REDS_ERR_RESPONSE);
    ck_assert_msg(strstr(b.msg, "killed") != NULL, "%s", b.msg);
    /* Idle again: nothing runs. */
    st = NULL;
    ASSERT_OK(reds_function_stats(c, &st));
    ck_assert_ptr_null(st->running_script.name.ptr);
    reds_free(st);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("scripting");
    TCase *tc = tcase_create("scripts");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, eval_variants_return_reply_trees);
    tcase_add_test(tc, evalsha_and_the_script_cache);
    tcase_add_test(tc, script_kill_a_busy_script);
    suite_add_tcase(s, tc);
    tc = tcase_create("functions");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, function_load_list_and_fcall);
    tcase_add_test(tc, function_dump_restore_delete_flush);
    tcase_add_test(tc, function_kill_and_stats_of_a_running_function);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
