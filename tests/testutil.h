/* Shared by the Check suites: one real server per test binary (Redis, or
 * Valkey with REDS_TEST_SERVER=valkey), a FLUSHALL before each test, and
 * assertions that print reds' message. */
#ifndef REDS_TESTUTIL_H
#define REDS_TESTUTIL_H

#define REDS_ALLOW_DEPRECATED 1

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <reds/reds.h>

#include "fixture.h"

/* The server of this test binary (started by test_main when asked). */
extern fixture_server test_server;

/* Run `suite`, starting a server first when `with_server` (of the kind
 * REDS_TEST_SERVER names; its name and version are printed); returns the
 * process exit status (0 when every test passed). */
int test_main(Suite *suite, bool with_server);

/* The kind of the test server: what answers once it runs, before that
 * (and in suites without one) what REDS_TEST_SERVER names. */
fixture_kind test_kind(void);

/* The expectation on the server the test runs against: `redis` on Redis
 * 7.0, `valkey` on Valkey 8.0. Each is exact; use it where the servers
 * answer differently (texts, field names, defaults). */
#define ON_SERVER(redis, valkey) (test_kind() == FIXTURE_VALKEY ? (valkey) : (redis))

/* End the running test as skipped when the test server is of `kind`
 * (FIXTURE_REDIS, FIXTURE_VALKEY): it prints "SKIP <test>: on <server>
 * <version>: <why>", and test_main() reports how many were skipped. For
 * what one server lacks; a test of a command only one server has starts
 * that server itself instead (fixture_start_kind()). */
#define TEST_SKIP_ON(kind, why)                                                                    \
    do {                                                                                           \
        if (test_kind() == (kind)) {                                                               \
            test_skip(__func__, (why));                                                            \
            return;                                                                                \
        }                                                                                          \
    } while (0)
void test_skip(const char *fn, const char *why);

/* A checked fixture: FLUSHALL the test server before a test. */
void test_flush(void);

/* A new pooled client on the test server over TCP (or the unix socket);
 * `opts` may carry extra options (host/port are filled in). */
reds_client *test_client(const reds_options *opts);
reds_client *test_client_unix(const reds_options *opts);

/* Run an inline command on the test server outside reds (set-up only). */
void test_raw(const char *inline_cmd, char *reply, size_t size);
/* The counters of `c`'s pool (reds_pool_get_stats()), and a check of
 * three of them. */
reds_pool_stats test_pool_stats(reds_client *c);
#define ASSERT_STATS_ARE(s, created_, in_use_, idle_)                                              \
    do {                                                                                           \
        reds_pool_stats s_ = (s);                                                                  \
        ck_assert_msg(s_.created == (size_t)(created_) && s_.in_use == (size_t)(in_use_) &&        \
                          s_.idle == (size_t)(idle_),                                              \
                      "pool: created %zu in use %zu idle %zu, expected %d %d %d", s_.created,      \
                      s_.in_use, s_.idle, (int)(created_), (int)(in_use_), (int)(idle_));          \
    } while (0)
#define ASSERT_STATS(c, created_, in_use_, idle_)                                                  \
    ASSERT_STATS_ARE(test_pool_stats(c), created_, in_use_, idle_)
/* A figure for the log, printed at once: never a pass/fail condition. */
void test_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* CLIENT ID of the connection `c` uses next (a pool's warmest). */
int64_t test_client_id(reds_client *c);
/* CLIENT KILL ID `id` on the test server: it must close one connection. */
void test_kill_client(int64_t id);
/* The same from another thread after `ms`, to kill a connection while
 * its command is in flight; test_killed() waits for it and checks that
 * it closed one. */
typedef struct test_killer {
    int64_t id;
    int ms;
    char reply[64];
    pthread_t thread;
} test_killer;
void test_kill_later(test_killer *k, int64_t id, int ms);
void test_killed(test_killer *k);

/* Run a command given as NULL-terminated C strings on `c` (set-up and
 * inspection through reds_execute_command); the caller reds_free()s the
 * reply. The test fails if the command does. */
reds_reply *test_run(reds_client *c, const char *first, ...);

/* A string list holds exactly the NULL-terminated strings given, in order. */
void test_assert_strlist(const reds_strlist *l, ...);

/* After a failover: publish "after failover" on `ch` through `pub`
 * (SPUBLISH when `shard`) until `ps` delivers it, for up to `timeout_ms`.
 * The test fails unless `ps` reported its reconnection (RECONNECTED) and
 * then delivered the message byte for byte. */
void test_assert_follows(reds_client *pub, reds_pubsub *ps, reds_str ch, bool shard,
                         int timeout_ms);

/* For the suites that run the build-time tools (codegen/) on files of
 * their own: a fresh directory /tmp/reds-<tag>-XXXXXX in `dir` (64 bytes),
 * removed with everything in it by test_rmtree(). */
void test_tmpdir(char dir[64], const char *tag);
void test_rmtree(const char *dir);

/* Run a shell command line made from `fmt`: its exit status (-1 when it did
 * not exit), its stdout and stderr together in `log`. */
int test_sh(char *log, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The Python the Makefile found (REDS_PYTHON), or python3. */
const char *test_python(void);

/* Replace the first `from` in the file at `path` with `to`; the test fails
 * when the file does not hold `from`. */
void test_edit_file(const char *path, const char *from, const char *to);

/* Assert `cond`, printing `log` (a tool's output, often more than a Check
 * message holds) to stderr first when it fails. */
#define ASSERT_LOG(cond, log)                                                                      \
    do {                                                                                           \
        bool ok_ = (cond);                                                                         \
        if (!ok_)                                                                                  \
            fprintf(stderr, "%s\n", (log));                                                        \
        ck_assert_msg(ok_, "%s (the output is above)", #cond);                                     \
    } while (0)

/* A reds_str holds exactly the C string `c` (false for nil). */
static inline bool str_eq(reds_str s, const char *c)
{
    return s.ptr && s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0;
}

/* Short literals for arguments: S("k"), and arrays STRS(S("a"), S("b")). */
#define S(lit)     REDS_STR(lit)
#define STRS(...)  ((const reds_str[]){__VA_ARGS__})
#define NSTRS(...) (sizeof(STRS(__VA_ARGS__)) / sizeof(reds_str))

#define ASSERT_OK(expr)                                                                            \
    do {                                                                                           \
        reds_err err_ = (expr);                                                                    \
        ck_assert_msg(err_ == REDS_OK, "%s -> %s: %s", #expr, reds_err_name(err_), reds_errmsg()); \
    } while (0)

#define ASSERT_ERR(expr, code)                                                                     \
    do {                                                                                           \
        reds_err err_ = (expr);                                                                    \
        ck_assert_msg(err_ == (code), "%s -> %s (%s), expected %s", #expr, reds_err_name(err_),    \
                      reds_errmsg(), reds_err_name(code));                                         \
    } while (0)

/* A reds_str equals a C string, byte for byte. */
#define ASSERT_STR(s, expect)                                                                      \
    do {                                                                                           \
        const reds_str *s_ = (s);                                                                  \
        const char *e_ = (expect);                                                                 \
        ck_assert_msg(s_ && s_->ptr, "%s is NULL, expected \"%s\"", #s, e_);                       \
        ck_assert_msg(s_->len == strlen(e_) && memcmp(s_->ptr, e_, s_->len) == 0,                  \
                      "%s is \"%.*s\", expected \"%s\"", #s, (int)s_->len, s_->ptr, e_);           \
    } while (0)

#endif
