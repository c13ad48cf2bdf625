/* RESP packing of every argument construct, byte for byte, and the
 * argument checks that stop a command before anything is sent. No server:
 * a capturing router records the bytes a wrapper hands to the runtime. */
#include <math.h>
#include <stdlib.h>

#include "testutil.h"

#include "internal.h"

static char sent[4096];
static size_t sent_len;
static int calls;

static reds_err capture_run(reds_client *c, reds__cmd *cmd)
{
    (void)c;
    ck_assert_uint_lt(cmd->len, sizeof sent);
    memcpy(sent, cmd->buf, cmd->len);
    sent_len = cmd->len;
    calls++;
    return REDS_OK;
}

static void capture_destroy(reds_client *c)
{
    (void)c;
}

static const reds__router capture_router = {"capture", capture_run,     NULL,
                                            NULL,      capture_destroy, NULL};
static struct reds_client capture = {&capture_router, NULL, NULL, NULL};
static reds_client *const cap = &capture;

static void reset(void)
{
    sent_len = 0;
    calls = 0;
}

/* `len` bytes made printable: \r, \n and \0 spelled out. */
static const char *escaped(const char *s, size_t len)
{
    static char out[8192];
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < sizeof out; i++) {
        const char *esc = s[i] == '\r' ? "\\r" : s[i] == '\n' ? "\\n" : s[i] == '\0' ? "\\0" : NULL;
        if (esc) {
            memcpy(out + n, esc, 2);
            n += 2;
        } else {
            out[n++] = s[i];
        }
    }
    out[n] = '\0';
    return out;
}

/* What was sent equals `expect` (a RESP string; sizeof keeps NULs). */
#define ASSERT_SENT(expect)                                                                        \
    do {                                                                                           \
        size_t n_ = sizeof(expect) - 1;                                                            \
        ck_assert_msg(calls == 1, "expected one command, got %d", calls);                          \
        ck_assert_msg(sent_len == n_ && memcmp(sent, expect, n_) == 0, "sent %s",                  \
                      escaped(sent, sent_len));                                                    \
        reset();                                                                                   \
    } while (0)

#define ASSERT_NOTHING_SENT(expr, code)                                                            \
    do {                                                                                           \
        ASSERT_ERR(expr, code);                                                                    \
        ck_assert_int_eq(calls, 0);                                                                \
    } while (0)

START_TEST(scalars_and_tokens)
{
    reset();
    ASSERT_OK(reds_get(cap, REDS_STR("k"), NULL));
    ASSERT_SENT("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    /* Binary-safe: NUL and CRLF inside values go through as they are. */
    ASSERT_OK(reds_set(cap, REDS_STR("a\0b"), reds_strn("x\r\ny", 4), NULL, NULL));
    ASSERT_SENT("*3\r\n$3\r\nSET\r\n$3\r\na\0b\r\n$4\r\nx\r\ny\r\n");
    /* The empty string, and a NULL view of length 0, are both "". */
    ASSERT_OK(reds_set(cap, reds_strn(NULL, 0), REDS_STR(""), NULL, NULL));
    ASSERT_SENT("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n");
    ASSERT_OK(reds_incrby(cap, REDS_STR("n"), INT64_MIN, NULL));
    ASSERT_SENT("*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$20\r\n-9223372036854775808\r\n");
    ASSERT_OK(reds_incrby(cap, REDS_STR("n"), 0, NULL));
    ASSERT_SENT("*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$1\r\n0\r\n");
    /* Scan cursors are unsigned 64-bit, up to the top of the range. */
    ASSERT_OK(reds_scan(cap, UINT64_MAX, NULL, NULL));
    ASSERT_SENT("*2\r\n$4\r\nSCAN\r\n$20\r\n18446744073709551615\r\n");
    /* A subcommand is two words. */
    ASSERT_OK(reds_object_encoding(cap, REDS_STR("k"), NULL));
    ASSERT_SENT("*3\r\n$6\r\nOBJECT\r\n$8\r\nENCODING\r\n$1\r\nk\r\n");
}
END_TEST

START_TEST(doubles)
{
    reset();
    ASSERT_OK(reds_incrbyfloat(cap, REDS_STR("f"), 1.5, NULL));
    ASSERT_SENT("*3\r\n$11\r\nINCRBYFLOAT\r\n$1\r\nf\r\n$3\r\n1.5\r\n");
    ASSERT_OK(reds_incrbyfloat(cap, REDS_STR("f"), -3, NULL));
    ASSERT_SENT("*3\r\n$11\r\nINCRBYFLOAT\r\n$1\r\nf\r\n$2\r\n-3\r\n");
    /* The shortest text that reads back as exactly the same double. */
    ASSERT_OK(reds_incrbyfloat(cap, REDS_STR("f"), 0.1, NULL));
    ASSERT_SENT("*3\r\n$11\r\nINCRBYFLOAT\r\n$1\r\nf\r\n$3\r\n0.1\r\n");
    ASSERT_OK(reds_incrbyfloat(cap, REDS_STR("f"), 0.1 + 0.2, NULL));
    ASSERT_SENT("*3\r\n$11\r\nINCRBYFLOAT\r\n$1\r\nf\r\n$19\r\n0.30000000000000004\r\n");
    ASSERT_OK(reds_incrbyfloat(cap, REDS_STR("f"), INFINITY, NULL));
    ASSERT_SENT("*3\r\n$11\r\nINCRBYFLOAT\r\n$1\r\nf\r\n$4\r\n+inf\r\n");
    ASSERT_OK(reds_incrbyfloat(cap, REDS_STR("f"), -INFINITY, NULL));
    ASSERT_SENT("*3\r\n$11\r\nINCRBYFLOAT\r\n$1\r\nf\r\n$4\r\n-inf\r\n");
    ASSERT_OK(reds_incrbyfloat(cap, REDS_STR("f"), 1e300, NULL));
    ASSERT_SENT("*3\r\n$11\r\nINCRBYFLOAT\r\n$1\r\nf\r\n$6\r\n1e+300\r\n");
    ASSERT_NOTHING_SENT(reds_incrbyfloat(cap, REDS_STR("f"), NAN, NULL), REDS_ERR_DATA);
}
END_TEST

START_TEST(options_oneofs_and_enums)
{
    reset();
    /* Every optional argument, 0 included, is expressible. */
    reds_set_opts o = {.condition = REDS_SET_CONDITION_NX, .ex = REDS_I64(0)};
    ASSERT_OK(reds_set(cap, REDS_STR("k"), REDS_STR("v"), &o, NULL));
    ASSERT_SENT("*6\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nNX\r\n$2\r\nEX\r\n$1\r\n0\r\n");
    reds_set_opts keep = {.condition = REDS_SET_CONDITION_XX, .keepttl = true};
    ASSERT_OK(reds_set(cap, REDS_STR("k"), REDS_STR("v"), &keep, NULL));
    ASSERT_SENT("*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nXX\r\n$7\r\nKEEPTTL\r\n");
    /* The GET variant always sends GET, in its place. */
    reds_set_opts px = {.px = REDS_I64(1500)};
    ASSERT_OK(reds_set_get(cap, REDS_STR("k"), REDS_STR("v"), &px, NULL));
    ASSERT_SENT("*6\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$3\r\nGET\r\n$2\r\nPX\r\n$4\r\n1500\r\n");
    reds_expire_opts gt = {.condition = REDS_EXPIRE_CONDITION_GT};
    ASSERT_OK(reds_expire(cap, REDS_STR("k"), 10, &gt, NULL));
    ASSERT_SENT("*4\r\n$6\r\nEXPIRE\r\n$1\r\nk\r\n$2\r\n10\r\n$2\r\nGT\r\n");

    /* Mutually exclusive choices and bad enum values never leave. */
    reds_set_opts two = {.ex = REDS_I64(1), .pxat = REDS_I64(2)};
    ASSERT_NOTHING_SENT(reds_set(cap, REDS_STR("k"), REDS_STR("v"), &two, NULL), REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "at most one of"));
    reds_set_opts bad = {.condition = (reds_set_condition)7};
    ASSERT_NOTHING_SENT(reds_set(cap, REDS_STR("k"), REDS_STR("v"), &bad, NULL), REDS_ERR_DATA);
    reds_getex_opts persist_and_ex = {.persist = true, .ex = REDS_I64(5)};
    ASSERT_NOTHING_SENT(reds_getex(cap, REDS_STR("k"), &persist_and_ex, NULL), REDS_ERR_DATA);
}
END_TEST

START_TEST(arrays_and_items)
{
    reset();
    reds_str keys[] = {REDS_STR("a"), REDS_STR("bb")};
    ASSERT_OK(reds_del(cap, keys, 2, NULL));
    ASSERT_SENT("*3\r\n$3\r\nDEL\r\n$1\r\na\r\n$2\r\nbb\r\n");
    reds_key_value kv[] = {{REDS_STR("k1"), REDS_STR("v1")}, {REDS_STR("k2"), REDS_STR("")}};
    ASSERT_OK(reds_mset(cap, kv, 2));
    ASSERT_SENT("*5\r\n$4\r\nMSET\r\n$2\r\nk1\r\n$2\r\nv1\r\n$2\r\nk2\r\n$0\r\n\r\n");
    /* A required array may not be empty, nor NULL with a count. */
    ASSERT_NOTHING_SENT(reds_del(cap, keys, 0, NULL), REDS_ERR_DATA);
    ASSERT_NOTHING_SENT(reds_del(cap, NULL, 3, NULL), REDS_ERR_DATA);
    /* Absurd counts are refused before anything is read or sent. */
    ASSERT_NOTHING_SENT(reds_del(cap, keys, SIZE_MAX / 2, NULL), REDS_ERR_DATA);
    ASSERT_NOTHING_SENT(reds_get(cap, reds_strn(NULL, 3), NULL), REDS_ERR_DATA);
    ASSERT_NOTHING_SENT(reds_get(cap, reds_strn("x", SIZE_MAX), NULL), REDS_ERR_DATA);
}
END_TEST

START_TEST(blocks_and_repeated_tokens)
{
    reset();
    /* SORT: an optional block with a token, a repeated token (GET ... GET
     * ...), an enum and a flag, in Redis order. */
    reds_str get[] = {REDS_STR("#"), REDS_STR("w_*")};
    reds_sort_opts o = {.by = REDS_STR("w_*"),
                        .limit = {.set = true, .offset = 0, .count = 5},
                        .get = get,
                        .nget = 2,
                        .order = REDS_SORT_ORDER_DESC,
                        .alpha = true};
    ASSERT_OK(reds_sort(cap, REDS_STR("l"), &o, NULL));
    ASSERT_SENT(
        "*13\r\n$4\r\nSORT\r\n$1\r\nl\r\n$2\r\nBY\r\n$3\r\nw_*\r\n$5\r\nLIMIT\r\n$1\r\n0\r\n"
        "$1\r\n5\r\n$3\r\nGET\r\n$1\r\n#\r\n$3\r\nGET\r\n$3\r\nw_*\r\n$4\r\nDESC\r\n"
        "$5\r\nALPHA\r\n");
    ASSERT_OK(reds_sort_store(cap, REDS_STR("l"), REDS_STR("dst"), NULL, NULL));
    ASSERT_SENT("*4\r\n$4\r\nSORT\r\n$1\r\nl\r\n$5\r\nSTORE\r\n$3\r\ndst\r\n");
    /* A token sent once before all elements (MIGRATE KEYS), and a token
     * that is the empty string. */
    reds_migrate_key_or_empty_string none = {.empty_string = true};
    reds_str mkeys[] = {REDS_STR("x"), REDS_STR("y")};
    reds_migrate_opts mo = {.copy = true, .keys = mkeys, .nkeys = 2};
    ASSERT_OK(reds_migrate(cap, REDS_STR("h"), 7000, none, 0, 100, &mo, NULL));
    ASSERT_SENT(
        "*10\r\n$7\r\nMIGRATE\r\n$1\r\nh\r\n$4\r\n7000\r\n$0\r\n\r\n$1\r\n0\r\n$3\r\n100\r\n"
        "$4\r\nCOPY\r\n$4\r\nKEYS\r\n$1\r\nx\r\n$1\r\ny\r\n");
    reds_migrate_key_or_empty_string both = {.key = REDS_STR("k"), .empty_string = true};
    ASSERT_NOTHING_SENT(reds_migrate(cap, REDS_STR("h"), 1, both, 0, 1, NULL, NULL), REDS_ERR_DATA);
    reds_migrate_key_or_empty_string neither = {0};
    ASSERT_NOTHING_SENT(reds_migrate(cap, REDS_STR("h"), 1, neither, 0, 1, NULL, NULL),
                        REDS_ERR_DATA);
    /* Nested optional blocks: HELLO 2 AUTH user pass SETNAME name. */
    reds_hello_opts h = {.arguments = {.set = true,
                                       .protover = 2,
                                       .username_password = {.set = true,
                                                             .username = REDS_STR("u"),
                                                             .password = REDS_STR("p")},
                                       .clientname = REDS_STR("n")}};
    ASSERT_OK(reds_hello(cap, &h, NULL));
    ASSERT_SENT(
        "*7\r\n$5\r\nHELLO\r\n$1\r\n2\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$1\r\np\r\n$7\r\nSETNAME\r\n"
        "$1\r\nn\r\n");
}
END_TEST

START_TEST(repeated_choices)
{
    reset();
    /* CLIENT KILL filters: an array of choices, exactly one set in each. */
    reds_client_kill_filter f[] = {
        {.id = REDS_I64(7)}, {.type = REDS_CLIENT_KILL_TYPE_PUBSUB}, {.skipme = REDS_STR("no")}};
    ASSERT_OK(reds_client_kill(cap, f, 3, NULL));
    ASSERT_SENT("*8\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$2\r\nID\r\n$1\r\n7\r\n$4\r\nTYPE\r\n"
                "$6\r\nPUBSUB\r\n$6\r\nSKIPME\r\n$2\r\nno\r\n");
    reds_client_kill_filter two[] = {{.id = REDS_I64(7), .user = REDS_STR("x")}};
    ASSERT_NOTHING_SENT(reds_client_kill(cap, two, 1, NULL), REDS_ERR_DATA);
    reds_client_kill_filter empty[1] = {0};
    ASSERT_NOTHING_SENT(reds_client_kill(cap, empty, 1, NULL), REDS_ERR_DATA);
    ASSERT_OK(reds_client_kill_addr(cap, REDS_STR("127.0.0.1:1")));
    ASSERT_SENT("*3\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$11\r\n127.0.0.1:1\r\n");
    /* CLIENT LIST ID id...: a block holding an array. */
    int64_t ids[] = {1, 22};
    reds_client_list_opts lo = {.id = {.set = true, .ids = ids, .nids = 2}};
    ASSERT_OK(reds_client_list(cap, &lo, NULL));
    ASSERT_SENT("*5\r\n$6\r\nCLIENT\r\n$4\r\nLIST\r\n$2\r\nID\r\n$1\r\n1\r\n$2\r\n22\r\n");
    /* TYPE and ID are independent options the server takes only one of
     * (the spec's `exclusive:`). */
    lo.type = REDS_CLIENT_LIST_TYPE_NORMAL;
    ASSERT_NOTHING_SENT(reds_client_list(cap, &lo, NULL), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "CLIENT LIST: give at most one of TYPE, ID");
}
END_TEST

START_TEST(variants_fix_and_omit)
{
    reset();
    ASSERT_OK(reds_lcs(cap, REDS_STR("a"), REDS_STR("b"), NULL));
    ASSERT_SENT("*3\r\n$3\r\nLCS\r\n$1\r\na\r\n$1\r\nb\r\n");
    ASSERT_OK(reds_lcs_len(cap, REDS_STR("a"), REDS_STR("b"), NULL));
    ASSERT_SENT("*4\r\n$3\r\nLCS\r\n$1\r\na\r\n$1\r\nb\r\n$3\r\nLEN\r\n");
    reds_lcs_opts lo = {.minmatchlen = REDS_I64(4), .withmatchlen = true};
    ASSERT_OK(reds_lcs_idx(cap, REDS_STR("a"), REDS_STR("b"), &lo, NULL));
    ASSERT_SENT("*7\r\n$3\r\nLCS\r\n$1\r\na\r\n$1\r\nb\r\n$3\r\nIDX\r\n$11\r\nMINMATCHLEN\r\n"
                "$1\r\n4\r\n$12\r\nWITHMATCHLEN\r\n");
    ASSERT_OK(reds_hrandfield_count(cap, REDS_STR("h"), -3, NULL));
    ASSERT_SENT("*3\r\n$10\r\nHRANDFIELD\r\n$1\r\nh\r\n$2\r\n-3\r\n");
    ASSERT_OK(reds_hrandfield_withvalues(cap, REDS_STR("h"), 2, NULL));
    ASSERT_SENT("*4\r\n$10\r\nHRANDFIELD\r\n$1\r\nh\r\n$1\r\n2\r\n$10\r\nWITHVALUES\r\n");
}
END_TEST

START_TEST(execute_command_packing)
{
    reset();
    reds_str argv[] = {REDS_STR("client"), REDS_STR("list")};
    reds_reply *r = NULL;
    ASSERT_OK(reds_execute_command(cap, 2, argv, &r));
    ASSERT_SENT("*2\r\n$6\r\nclient\r\n$4\r\nlist\r\n");
    ck_assert_ptr_null(r);
    ASSERT_NOTHING_SENT(reds_execute_command(cap, 0, argv, &r), REDS_ERR_DATA);
    ASSERT_NOTHING_SENT(reds_execute_command(NULL, 2, argv, &r), REDS_ERR_DATA);
    /* Commands longer than the inline buffer go through the heap path. */
    char big[1000];
    memset(big, 'x', sizeof big);
    ASSERT_OK(reds_set(cap, REDS_STR("k"), reds_strn(big, sizeof big), NULL, NULL));
    ck_assert_uint_eq(sent_len, strlen("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000\r\n\r\n") + 1000);
    ck_assert(memcmp(sent + sent_len - 1002, big, 1000) == 0);
}
END_TEST

START_TEST(null_client)
{
    reset();
    ASSERT_ERR(reds_get(NULL, REDS_STR("k"), NULL), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "GET: the client is NULL");
    /* An owned output is NULL after any failure, so reds_free is safe. */
    reds_str *v = (reds_str *)&v;
    ASSERT_ERR(reds_get(NULL, REDS_STR("k"), &v), REDS_ERR_DATA);
    ck_assert_ptr_null(v);
    reds_free(v);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pack");
    TCase *tc = tcase_create("resp");
    tcase_add_test(tc, scalars_and_tokens);
    tcase_add_test(tc, doubles);
    tcase_add_test(tc, options_oneofs_and_enums);
    tcase_add_test(tc, arrays_and_items);
    tcase_add_test(tc, blocks_and_repeated_tokens);
    tcase_add_test(tc, repeated_choices);
    tcase_add_test(tc, variants_fix_and_omit);
    tcase_add_test(tc, execute_command_packing);
    tcase_add_test(tc, null_client);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), false);
}
