/* For converter unit tests: canned replies parsed by the same hiredis
 * reader into the same arena as live replies, and converted as the runtime
 * converts them. */
#ifndef REDS_TESTREPLY_H
#define REDS_TESTREPLY_H

#include "testutil.h"

#include "convert.h"
#include "internal.h"
#include "replies.h"

/* The arena canned replies are parsed into; clear it in a teardown. */
extern reds__arena test_arena;

/* `len` bytes of RESP parsed into one reply (the test fails otherwise). */
const reds_reply *test_parse(const char *resp, size_t len);
#define TEST_PARSE(lit) test_parse(lit, sizeof(lit) - 1)

/* A bulk string reply holding `text`. */
const reds_reply *test_parse_bulk(const char *text);

/* Convert as the runtime does: an owned result takes the arena; a failed
 * conversion keeps nothing. */
reds_err test_convert(reds__conv_fn fn, const reds_reply *r, void *out);

/* A teardown for tcases that parse replies. */
void test_arena_clear(void);

/* A converter must refuse `reply`: InvalidResponse and a NULL result. */
#define ASSERT_REFUSED(fn, reply)                                                                  \
    do {                                                                                           \
        void *out_ = NULL;                                                                         \
        reds_err err_ = test_convert(fn, reply, &out_);                                            \
        ck_assert_msg(err_ == REDS_ERR_INVALID_RESPONSE, "%s on %s: %s", #fn, #reply,              \
                      reds_err_name(err_));                                                        \
        ck_assert_ptr_null(out_);                                                                  \
    } while (0)

#endif
