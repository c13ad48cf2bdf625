/* Shared by the Check suites: one real redis-server per test binary, a
 * FLUSHALL before each test, and assertions that print reds' message. */
#ifndef REDS_TESTUTIL_H
#define REDS_TESTUTIL_H

#define REDS_ALLOW_DEPRECATED 1

#include <check.h>
#include <string.h>

#include <reds/reds.h>

#include "fixture.h"

/* The server of this test binary (started by test_main when asked). */
extern fixture_server test_server;

/* Run `suite`, starting a server first when `with_server`; returns the
 * process exit status (0 when every test passed). */
int test_main(Suite *suite, bool with_server);

/* A checked fixture: FLUSHALL the test server before a test. */
void test_flush(void);

/* A new pooled client on the test server over TCP (or the unix socket);
 * `opts` may carry extra options (host/port are filled in). */
reds_client *test_client(const reds_options *opts);
reds_client *test_client_unix(const reds_options *opts);

/* Run an inline command on the test server outside reds (set-up only). */
void test_raw(const char *inline_cmd, char *reply, size_t size);

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
