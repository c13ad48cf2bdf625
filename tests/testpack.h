/* For packing tests, no server needed: `test_cap` is a client whose router
 * records the bytes a wrapper hands to the runtime instead of sending
 * them. */
#ifndef REDS_TESTPACK_H
#define REDS_TESTPACK_H

#include "testutil.h"

#include "internal.h"

extern reds_client *const test_cap;
extern char test_sent[4096]; /* the last command's bytes */
extern size_t test_sent_len;
extern int test_calls;      /* commands recorded since test_cap_reset() */
extern reds__cmd test_last; /* the last command (buf: test_sent) */

void test_cap_reset(void);

/* `len` bytes with \r, \n and \0 spelled out, for messages (two may be in
 * one message). */
const char *test_escaped(const char *s, size_t len);

/* Exactly one command went out, and it was `expect` (a RESP string literal;
 * sizeof keeps NULs). Resets the capture. */
#define ASSERT_SENT(expect)                                                                        \
    do {                                                                                           \
        size_t n_ = sizeof(expect) - 1;                                                            \
        ck_assert_msg(test_calls == 1, "expected one command, got %d", test_calls);                \
        ck_assert_msg(test_sent_len == n_ && memcmp(test_sent, expect, n_) == 0, "sent %s",        \
                      test_escaped(test_sent, test_sent_len));                                     \
        test_cap_reset();                                                                          \
    } while (0)

/* `expr` fails with `code` and nothing went out. */
#define ASSERT_NOTHING_SENT(expr, code)                                                            \
    do {                                                                                           \
        ASSERT_ERR(expr, code);                                                                    \
        ck_assert_int_eq(test_calls, 0);                                                           \
    } while (0)

#endif
