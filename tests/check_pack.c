/* RESP packing of every argument construct, byte for byte, and the
 * argument checks that stop a command before anything is sent. No server:
 * a capturing router records the bytes a wrapper hands to the runtime. */
#include <math.h>
#include <stdlib.h>

#include "testutil.h"

#include "testpack.h"

START_TEST(scalars_and_tokens)
{
    test_cap_reset();
    ASSERT_OK(reds_get(test_cap, REDS_STR("k"), NULL));
    ASSERT_SENT("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    /* Binary-safe: NUL and CRLF inside values go through as they are. */
    ASSERT_OK(reds_set(test_cap, REDS_STR("a\0b"), reds_strn("x\r\ny", 4), NULL, NULL));
    ASSERT_SENT("*3\r\n$3\r\nSET\r\n$3\r\na\0b\r\n$4\r\nx\r\ny\r\n");
    /* The empty string, and a NULL view of length 0, are both "". */
    ASSERT_OK(reds_set(test_cap, reds_strn(NULL, 0), REDS_STR(""), NULL, NULL));
    ASSERT_SENT("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n");
    ASSERT_OK(reds_incrby(test_cap, REDS_STR("n"), INT64_MIN, NULL));
    ASSERT_SENT("*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$20\r\n-9223372036854775808\r\n");
    ASSERT_OK(reds_incrby(test_cap, REDS_STR("n"), 0, NULL));
    ASSERT_SENT("*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$1\r\n0\r\n");
    /* Scan cursors are unsigned 64-bit, up to the top of the range. */
    ASSERT_OK(reds_scan(test_cap, UINT64_MAX, NULL, NULL));
    ASSERT_SENT("*2\r\n$4\r\nSCAN\r\n$20\r\n18446744073709551615\r\n");
    /* A subcommand is two words. */
    ASSERT_OK(reds_object_encoding(test_cap, REDS_STR("k"), NULL));
    ASSERT_SENT("*3\r\n$6\r\nOBJECT\r\n$8\r\nENCODING\r\n$1\r\nk\r\n");
}
END_TEST

START_TEST(doubles)
{
    test_cap_reset();
    ASSERT_OK(reds_incrbyfloat(test_cap, REDS_STR("f"), 1.5, NULL));
    ASSERT_SENT("*3\r\n$11\r\nINCRBYFLOAT\r\n$1\r\nf\r\n$3\r\n1.5\r\n");
    ASSERT_OK(reds_incrbyfloat(test_cap, REDS_STR("f"), -3, NULL));
    ASSERT_SENT("*3\r\n$11\r\nINCRBYFLOAT\r\n$1\r\nf\r\n$2\r\n-3\r\n");
    /* The shortest text that reads back as exactly the same double. */
    ASSERT_OK(reds_incrbyfloat(test_cap, REDS_STR("f"), 0.1, NULL));
    ASSERT_SENT("*3\r\n$11\r\nINCRBYFLOAT\r\n$1\r\nf\r\n$3\r\n0.1\r\n");
    ASSERT_OK(reds_incrbyfloat(test_cap, REDS_STR("f"), 0.1 + 0.2, NULL));
    ASSERT_SENT("*3\r\n$11\r\nINCRBYFLOAT\r\n$1\r\nf\r\n$19\r\n0.30000000000000004\r\n");
    ASSERT_OK(reds_incrbyfloat(test_cap, REDS_STR("f"), INFINITY, NULL));
    ASSERT_SENT("*3\r\n$11\r\nINCRBYFLOAT\r\n$1\r\nf\r\n$4\r\n+inf\r\n");
    ASSERT_OK(reds_incrbyfloat(test_cap, REDS_STR("f"), -INFINITY, NULL));
    ASSERT_SENT("*3\r\n$11\r\nINCRBYFLOAT\r\n$1\r\nf\r\n$4\r\n-inf\r\n");
    ASSERT_OK(reds_incrbyfloat(test_cap, REDS_STR("f"), 1e300, NULL));
    ASSERT_SENT("*3\r\n$11\r\nINCRBYFLOAT\r\n$1\r\nf\r\n$6\r\n1e+300\r\n");
    ASSERT_NOTHING_SENT(reds_incrbyfloat(test_cap, REDS_STR("f"), NAN, NULL), REDS_ERR_DATA);
}
END_TEST

START_TEST(options_oneofs_and_enums)
{
    test_cap_reset();
    /* Every optional argument, 0 included, is expressible. */
    reds_set_opts o = {.condition = REDS_SET_CONDITION_NX, .ex = REDS_I64(0)};
    ASSERT_OK(reds_set(test_cap, REDS_STR("k"), REDS_STR("v"), &o, NULL));
    ASSERT_SENT("*6\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nNX\r\n$2\r\nEX\r\n$1\r\n0\r\n");
    reds_set_opts keep = {.condition = REDS_SET_CONDITION_XX, .keepttl = true};
    ASSERT_OK(reds_set(test_cap, REDS_STR("k"), REDS_STR("v"), &keep, NULL));
    ASSERT_SENT("*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nXX\r\n$7\r\nKEEPTTL\r\n");
    /* The GET variant always sends GET, in its place. */
    reds_set_opts px = {.px = REDS_I64(1500)};
    ASSERT_OK(reds_set_get(test_cap, REDS_STR("k"), REDS_STR("v"), &px, NULL));
    ASSERT_SENT("*6\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$3\r\nGET\r\n$2\r\nPX\r\n$4\r\n1500\r\n");
    reds_expire_opts gt = {.condition = REDS_EXPIRE_CONDITION_GT};
    ASSERT_OK(reds_expire(test_cap, REDS_STR("k"), 10, &gt, NULL));
    ASSERT_SENT("*4\r\n$6\r\nEXPIRE\r\n$1\r\nk\r\n$2\r\n10\r\n$2\r\nGT\r\n");

    /* Mutually exclusive choices and bad enum values never leave. */
    reds_set_opts two = {.ex = REDS_I64(1), .pxat = REDS_I64(2)};
    ASSERT_NOTHING_SENT(reds_set(test_cap, REDS_STR("k"), REDS_STR("v"), &two, NULL),
                        REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "at most one of"));
    reds_set_opts bad = {.condition = (reds_set_condition)7};
    ASSERT_NOTHING_SENT(reds_set(test_cap, REDS_STR("k"), REDS_STR("v"), &bad, NULL),
                        REDS_ERR_DATA);
    reds_getex_opts persist_and_ex = {.persist = true, .ex = REDS_I64(5)};
    ASSERT_NOTHING_SENT(reds_getex(test_cap, REDS_STR("k"), &persist_and_ex, NULL), REDS_ERR_DATA);
}
END_TEST

START_TEST(arrays_and_items)
{
    test_cap_reset();
    reds_str keys[] = {REDS_STR("a"), REDS_STR("bb")};
    ASSERT_OK(reds_del(test_cap, keys, 2, NULL));
    ASSERT_SENT("*3\r\n$3\r\nDEL\r\n$1\r\na\r\n$2\r\nbb\r\n");
    reds_key_value kv[] = {{REDS_STR("k1"), REDS_STR("v1")}, {REDS_STR("k2"), REDS_STR("")}};
    ASSERT_OK(reds_mset(test_cap, kv, 2));
    ASSERT_SENT("*5\r\n$4\r\nMSET\r\n$2\r\nk1\r\n$2\r\nv1\r\n$2\r\nk2\r\n$0\r\n\r\n");
    /* A required array may not be empty, nor NULL with a count. */
    ASSERT_NOTHING_SENT(reds_del(test_cap, keys, 0, NULL), REDS_ERR_DATA);
    ASSERT_NOTHING_SENT(reds_del(test_cap, NULL, 3, NULL), REDS_ERR_DATA);
    /* Absurd counts are refused before anything is read or sent. */
    ASSERT_NOTHING_SENT(reds_del(test_cap, keys, SIZE_MAX / 2, NULL), REDS_ERR_DATA);
    ASSERT_NOTHING_SENT(reds_get(test_cap, reds_strn(NULL, 3), NULL), REDS_ERR_DATA);
    ASSERT_NOTHING_SENT(reds_get(test_cap, reds_strn("x", SIZE_MAX), NULL), REDS_ERR_DATA);
}
END_TEST

START_TEST(blocks_and_repeated_tokens)
{
    test_cap_reset();
    /* SORT: an optional block with a token, a repeated token (GET ... GET
     * ...), an enum and a flag, in Redis order. */
    reds_str get[] = {REDS_STR("#"), REDS_STR("w_*")};
    reds_sort_opts o = {.by = REDS_STR("w_*"),
                        .limit = {.set = true, .offset = 0, .count = 5},
                        .get = get,
                        .nget = 2,
                        .order = REDS_SORT_ORDER_DESC,
                        .alpha = true};
    ASSERT_OK(reds_sort(test_cap, REDS_STR("l"), &o, NULL));
    ASSERT_SENT(
        "*13\r\n$4\r\nSORT\r\n$1\r\nl\r\n$2\r\nBY\r\n$3\r\nw_*\r\n$5\r\nLIMIT\r\n$1\r\n0\r\n"
        "$1\r\n5\r\n$3\r\nGET\r\n$1\r\n#\r\n$3\r\nGET\r\n$3\r\nw_*\r\n$4\r\nDESC\r\n"
        "$5\r\nALPHA\r\n");
    ASSERT_OK(reds_sort_store(test_cap, REDS_STR("l"), REDS_STR("dst"), NULL, NULL));
    ASSERT_SENT("*4\r\n$4\r\nSORT\r\n$1\r\nl\r\n$5\r\nSTORE\r\n$3\r\ndst\r\n");
    /* A token sent once before all elements (MIGRATE KEYS), and a token
     * that is the empty string. */
    reds_migrate_key_or_empty_string none = {.empty_string = true};
    reds_str mkeys[] = {REDS_STR("x"), REDS_STR("y")};
    reds_migrate_opts mo = {.copy = true, .keys = mkeys, .nkeys = 2};
    ASSERT_OK(reds_migrate(test_cap, REDS_STR("h"), 7000, none, 0, 100, &mo, NULL));
    ASSERT_SENT(
        "*10\r\n$7\r\nMIGRATE\r\n$1\r\nh\r\n$4\r\n7000\r\n$0\r\n\r\n$1\r\n0\r\n$3\r\n100\r\n"
        "$4\r\nCOPY\r\n$4\r\nKEYS\r\n$1\r\nx\r\n$1\r\ny\r\n");
    reds_migrate_key_or_empty_string both = {.key = REDS_STR("k"), .empty_string = true};
    ASSERT_NOTHING_SENT(reds_migrate(test_cap, REDS_STR("h"), 1, both, 0, 1, NULL, NULL),
                        REDS_ERR_DATA);
    reds_migrate_key_or_empty_string neither = {0};
    ASSERT_NOTHING_SENT(reds_migrate(test_cap, REDS_STR("h"), 1, neither, 0, 1, NULL, NULL),
                        REDS_ERR_DATA);
    /* Nested optional blocks: HELLO 2 AUTH user pass SETNAME name. */
    reds_hello_opts h = {.arguments = {.set = true,
                                       .protover = 2,
                                       .username_password = {.set = true,
                                                             .username = REDS_STR("u"),
                                                             .password = REDS_STR("p")},
                                       .clientname = REDS_STR("n")}};
    ASSERT_OK(reds_hello(test_cap, &h, NULL));
    ASSERT_SENT(
        "*7\r\n$5\r\nHELLO\r\n$1\r\n2\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$1\r\np\r\n$7\r\nSETNAME\r\n"
        "$1\r\nn\r\n");
}
END_TEST

START_TEST(repeated_choices)
{
    test_cap_reset();
    /* CLIENT KILL filters: an array of choices, exactly one set in each. */
    reds_client_kill_filter f[] = {
        {.id = REDS_I64(7)}, {.type = REDS_CLIENT_KILL_TYPE_PUBSUB}, {.skipme = REDS_STR("no")}};
    ASSERT_OK(reds_client_kill(test_cap, f, 3, NULL));
    ASSERT_SENT("*8\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$2\r\nID\r\n$1\r\n7\r\n$4\r\nTYPE\r\n"
                "$6\r\nPUBSUB\r\n$6\r\nSKIPME\r\n$2\r\nno\r\n");
    reds_client_kill_filter two[] = {{.id = REDS_I64(7), .user = REDS_STR("x")}};
    ASSERT_NOTHING_SENT(reds_client_kill(test_cap, two, 1, NULL), REDS_ERR_DATA);
    reds_client_kill_filter empty[1] = {0};
    ASSERT_NOTHING_SENT(reds_client_kill(test_cap, empty, 1, NULL), REDS_ERR_DATA);
    ASSERT_OK(reds_client_kill_addr(test_cap, REDS_STR("127.0.0.1:1")));
    ASSERT_SENT("*3\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$11\r\n127.0.0.1:1\r\n");
    /* CLIENT LIST ID id...: a block holding an array. */
    int64_t ids[] = {1, 22};
    reds_client_list_opts lo = {.id = {.set = true, .ids = ids, .nids = 2}};
    ASSERT_OK(reds_client_list(test_cap, &lo, NULL));
    ASSERT_SENT("*5\r\n$6\r\nCLIENT\r\n$4\r\nLIST\r\n$2\r\nID\r\n$1\r\n1\r\n$2\r\n22\r\n");
    /* TYPE and ID are independent options the server takes only one of
     * (the spec's `exclusive:`). */
    lo.type = REDS_CLIENT_LIST_TYPE_NORMAL;
    ASSERT_NOTHING_SENT(reds_client_list(test_cap, &lo, NULL), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "CLIENT LIST: give at most one of TYPE, ID");
}
END_TEST

START_TEST(variants_fix_and_omit)
{
    test_cap_reset();
    ASSERT_OK(reds_lcs(test_cap, REDS_STR("a"), REDS_STR("b"), NULL));
    ASSERT_SENT("*3\r\n$3\r\nLCS\r\n$1\r\na\r\n$1\r\nb\r\n");
    ASSERT_OK(reds_lcs_len(test_cap, REDS_STR("a"), REDS_STR("b"), NULL));
    ASSERT_SENT("*4\r\n$3\r\nLCS\r\n$1\r\na\r\n$1\r\nb\r\n$3\r\nLEN\r\n");
    reds_lcs_opts lo = {.minmatchlen = REDS_I64(4), .withmatchlen = true};
    ASSERT_OK(reds_lcs_idx(test_cap, REDS_STR("a"), REDS_STR("b"), &lo, NULL));
    ASSERT_SENT("*7\r\n$3\r\nLCS\r\n$1\r\na\r\n$1\r\nb\r\n$3\r\nIDX\r\n$11\r\nMINMATCHLEN\r\n"
                "$1\r\n4\r\n$12\r\nWITHMATCHLEN\r\n");
    ASSERT_OK(reds_hrandfield_count(test_cap, REDS_STR("h"), -3, NULL));
    ASSERT_SENT("*3\r\n$10\r\nHRANDFIELD\r\n$1\r\nh\r\n$2\r\n-3\r\n");
    ASSERT_OK(reds_hrandfield_withvalues(test_cap, REDS_STR("h"), 2, NULL));
    ASSERT_SENT("*4\r\n$10\r\nHRANDFIELD\r\n$1\r\nh\r\n$1\r\n2\r\n$10\r\nWITHVALUES\r\n");
}
END_TEST

/* An optional block is sent when its `set` is true; a member filled while
 * `set` is false would be dropped without a word, so it is refused. */
START_TEST(unset_blocks)
{
    test_cap_reset();
    /* BITPOS with an end but no start. */
    reds_bitpos_opts end_only = {.index = {.end_index = {.set = true, .end = 5}}};
    ASSERT_NOTHING_SENT(reds_bitpos(test_cap, REDS_STR("k"), 1, &end_only, NULL), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "BITPOS: index.end_index is given but index.set is false");
    reds_bitpos_opts start_only = {.index = {.start = 2}};
    ASSERT_NOTHING_SENT(reds_bitpos(test_cap, REDS_STR("k"), 1, &start_only, NULL), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "BITPOS: index.start is given but index.set is false");
    /* One level down: BYTE | BIT without its end. */
    reds_bitpos_opts unit_only = {.index = {.set = true, .end_index = {.unit = REDS_BIT_UNIT_BIT}}};
    ASSERT_NOTHING_SENT(reds_bitpos(test_cap, REDS_STR("k"), 1, &unit_only, NULL), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(),
                     "BITPOS: index.end_index.unit is given but index.end_index.set is false");
    /* The valid shapes pack as before, 0 included. */
    reds_bitpos_opts start0 = {.index = {.set = true}};
    ASSERT_OK(reds_bitpos(test_cap, REDS_STR("k"), 1, &start0, NULL));
    ASSERT_SENT("*4\r\n$6\r\nBITPOS\r\n$1\r\nk\r\n$1\r\n1\r\n$1\r\n0\r\n");
    reds_bitpos_opts all = {
        .index = {.set = true,
                  .start = 2,
                  .end_index = {.set = true, .end = -1, .unit = REDS_BIT_UNIT_BIT}}};
    ASSERT_OK(reds_bitpos(test_cap, REDS_STR("k"), 0, &all, NULL));
    ASSERT_SENT("*6\r\n$6\r\nBITPOS\r\n$1\r\nk\r\n$1\r\n0\r\n$1\r\n2\r\n$2\r\n-1\r\n$3\r\nBIT\r\n");
    ASSERT_OK(reds_bitpos(test_cap, REDS_STR("k"), 1, NULL, NULL));
    ASSERT_SENT("*3\r\n$6\r\nBITPOS\r\n$1\r\nk\r\n$1\r\n1\r\n");

    /* GEOSEARCH ... ANY without COUNT. */
    reds_geo_from from = {.member = REDS_STR("m")};
    reds_geo_by by = {.circle = {.set = true, .radius = 10, .unit = REDS_GEO_UNIT_KM}};
    reds_geosearch_opts any = {.count = {.any = true}};
    ASSERT_NOTHING_SENT(reds_geosearch(test_cap, REDS_STR("g"), from, by, &any, NULL),
                        REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "GEOSEARCH: count.any is given but count.set is false");
    any.count.set = true;
    any.count.count = 3;
    ASSERT_OK(reds_geosearch(test_cap, REDS_STR("g"), from, by, &any, NULL));
    ASSERT_SENT(
        "*10\r\n$9\r\nGEOSEARCH\r\n$1\r\ng\r\n$10\r\nFROMMEMBER\r\n$1\r\nm\r\n"
        "$8\r\nBYRADIUS\r\n$2\r\n10\r\n$2\r\nKM\r\n$5\r\nCOUNT\r\n$1\r\n3\r\n$3\r\nANY\r\n");
    /* A choice that is a block: its fields need its `set` too. */
    reds_geo_by unset_circle = {.circle = {.radius = 10, .unit = REDS_GEO_UNIT_KM},
                                .box = {.set = true, .width = 1, .height = 2, .unit = 1}};
    ASSERT_NOTHING_SENT(reds_geosearch(test_cap, REDS_STR("g"), from, unset_circle, NULL, NULL),
                        REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(),
                     "GEOSEARCH: by.circle.radius is given but by.circle.set is false");

    /* XADD ... LIMIT without MAXLEN | MINID. */
    reds_xadd_id auto_id = {.auto_id = true};
    reds_field_value fv[] = {{REDS_STR("f"), REDS_STR("v")}};
    reds_xadd_opts limit_only = {.trim = {.limit = REDS_I64(10)}};
    ASSERT_NOTHING_SENT(reds_xadd(test_cap, REDS_STR("s"), auto_id, fv, 1, &limit_only, NULL),
                        REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "XADD: trim.limit is given but trim.set is false");
    reds_xadd_opts trim = {.trim = {.set = true,
                                    .strategy = REDS_STREAM_TRIM_STRATEGY_MAXLEN,
                                    .op = REDS_STREAM_TRIM_OPERATOR_APPROXIMATELY,
                                    .threshold = REDS_STR("1000"),
                                    .limit = REDS_I64(10)}};
    ASSERT_OK(reds_xadd(test_cap, REDS_STR("s"), auto_id, fv, 1, &trim, NULL));
    ASSERT_SENT("*10\r\n$4\r\nXADD\r\n$1\r\ns\r\n$6\r\nMAXLEN\r\n$1\r\n~\r\n$4\r\n1000\r\n"
                "$5\r\nLIMIT\r\n$2\r\n10\r\n$1\r\n*\r\n$1\r\nf\r\n$1\r\nv\r\n");

    /* In an array of choices (BITFIELD operations), per element. */
    reds_bitfield_op ops[] = {
        {.get = {.set = true, .encoding = REDS_STR("u8"), .offset = 0}},
        {.get = {.set = true, .encoding = REDS_STR("u8")}, .write = {.incrby = {.offset = 4}}}};
    reds_bitfield_opts bo = {.operations = ops, .noperations = 2};
    ASSERT_NOTHING_SENT(reds_bitfield(test_cap, REDS_STR("b"), &bo, NULL), REDS_ERR_DATA);
    ck_assert_str_eq(
        reds_errmsg(),
        "BITFIELD: operations[].write.incrby is given but operations[].write.set is false");
}
END_TEST

/* `same_count_as`: arrays whose lengths must agree are checked before
 * anything is sent. */
START_TEST(counts_that_must_agree)
{
    test_cap_reset();
    reds_str keys[] = {REDS_STR("a"), REDS_STR("b")};
    reds_str ids[] = {REDS_STR("0"), REDS_STR("$")};
    ASSERT_NOTHING_SENT(reds_xread(test_cap, keys, 2, ids, 1, NULL, NULL), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "XREAD: id and key need the same number of elements (1 and 2)");
    ASSERT_NOTHING_SENT(
        reds_xreadgroup(test_cap, REDS_STR("g"), REDS_STR("c"), keys, 1, ids, 2, NULL, NULL),
        REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(),
                     "XREADGROUP: id and key need the same number of elements (2 and 1)");
    ASSERT_OK(reds_xread(test_cap, keys, 2, ids, 2, NULL, NULL));
    ASSERT_SENT(
        "*6\r\n$5\r\nXREAD\r\n$7\r\nSTREAMS\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\n0\r\n$1\r\n$\r\n");

    /* WEIGHTS, when given, has one weight per key. */
    double w[] = {1, 2, 3};
    reds_zinter_opts three = {.weights = w, .nweights = 3};
    ASSERT_NOTHING_SENT(reds_zinter(test_cap, keys, 2, &three, NULL), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(),
                     "ZINTER: weight and key need the same number of elements (3 and 2)");
    reds_zunionstore_opts one = {.weights = w, .nweights = 1};
    ASSERT_NOTHING_SENT(reds_zunionstore(test_cap, REDS_STR("d"), keys, 2, &one, NULL),
                        REDS_ERR_DATA);
    reds_zinter_opts two = {.weights = w, .nweights = 2};
    ASSERT_OK(reds_zinter(test_cap, keys, 2, &two, NULL));
    ASSERT_SENT("*7\r\n$6\r\nZINTER\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\nb\r\n$7\r\nWEIGHTS\r\n"
                "$1\r\n1\r\n$1\r\n2\r\n");
    ASSERT_OK(reds_zinter(test_cap, keys, 2, NULL, NULL));
    ASSERT_SENT("*4\r\n$6\r\nZINTER\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\nb\r\n");
}
END_TEST

START_TEST(execute_command_packing)
{
    test_cap_reset();
    reds_str argv[] = {REDS_STR("client"), REDS_STR("list")};
    reds_reply *r = NULL;
    ASSERT_OK(reds_execute_command(test_cap, 2, argv, &r));
    ASSERT_SENT("*2\r\n$6\r\nclient\r\n$4\r\nlist\r\n");
    ck_assert_ptr_null(r);
    ASSERT_NOTHING_SENT(reds_execute_command(test_cap, 0, argv, &r), REDS_ERR_DATA);
    ASSERT_NOTHING_SENT(reds_execute_command(NULL, 2, argv, &r), REDS_ERR_DATA);
    /* Commands longer than the inline buffer go through the heap path. */
    char big[1000];
    memset(big, 'x', sizeof big);
    ASSERT_OK(reds_set(test_cap, REDS_STR("k"), reds_strn(big, sizeof big), NULL, NULL));
    ck_assert_uint_eq(test_sent_len, strlen("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000\r\n\r\n") + 1000);
    ck_assert(memcmp(test_sent + test_sent_len - 1002, big, 1000) == 0);
}
END_TEST

/* The message an error reply to the last captured command gets. */
static const char *reply_error(const char *text)
{
    reds__arena a = {0};
    reds_reply r = {REDS_REPLY_ERROR, strlen(text), text, 0, NULL};
    ck_assert_int_ne(reds__deliver(test_cap, &test_last, &a, &r), REDS_OK);
    reds__arena_clear(&a);
    return reds_errmsg();
}

/* Sends argv through reds_execute_command; the name messages give it. */
static const char *name_of(size_t argc, const reds_str *argv)
{
    test_cap_reset();
    reds_reply *r;
    ASSERT_OK(reds_execute_command(test_cap, argc, argv, &r));
    ck_assert_int_eq(test_calls, 1);
    return reds__cmd_name(&test_last);
}

START_TEST(execute_command_names)
{
    /* The table's name for what it knows; a password is never a name. */
    reds_str get[] = {REDS_STR("get"), REDS_STR("k")};
    ck_assert_str_eq(name_of(2, get), "GET");
    reds_str list[] = {REDS_STR("client"), REDS_STR("list")};
    ck_assert_str_eq(name_of(2, list), "CLIENT LIST");
    reds_str auth[] = {REDS_STR("auth"), REDS_STR("alice"), REDS_STR("hunter2")};
    ck_assert_str_eq(name_of(3, auth), "AUTH");
    ck_assert_str_eq(reply_error("WRONGPASS invalid username-password pair"),
                     "AUTH: WRONGPASS invalid username-password pair");
    reds_str hello[] = {REDS_STR("HELLO"), REDS_STR("3"), REDS_STR("AUTH"), REDS_STR("alice"),
                        REDS_STR("hunter2")};
    ck_assert_str_eq(name_of(5, hello), "HELLO");
    /* What it does not know: the first word as sent, and the second
     * after a container, never an argument. */
    reds_str foobar[] = {REDS_STR("FOOBAR"), REDS_STR("hunter2")};
    ck_assert_str_eq(name_of(2, foobar), "FOOBAR");
    ck_assert_str_eq(reply_error("ERR unknown command 'FOOBAR'"),
                     "FOOBAR: ERR unknown command 'FOOBAR'");
    reds_str sub[] = {REDS_STR("config"), REDS_STR("nosuch"), REDS_STR("hunter2")};
    ck_assert_str_eq(name_of(3, sub), "config nosuch");
    ck_assert_str_eq(reply_error("ERR unknown subcommand 'nosuch'. Try CONFIG HELP."),
                     "config nosuch: ERR unknown subcommand 'nosuch'. Try CONFIG HELP.");
    reds_str container[] = {REDS_STR("CLIENT")};
    ck_assert_str_eq(name_of(1, container), "CLIENT");
    reds_str module[] = {REDS_STR("JSON.GET"), REDS_STR("doc"), REDS_STR("$")};
    ck_assert_str_eq(name_of(3, module), "JSON.GET");
    /* Binary-safe: bytes other than printable ASCII are escaped. */
    reds_str binary[] = {REDS_STR("no\0such\r\n\\\xff")};
    ck_assert_str_eq(name_of(1, binary), "no\\x00such\\x0d\\x0a\\x5c\\xff");
    reds_str spaced[] = {REDS_STR("two words"), REDS_STR("x")};
    ck_assert_str_eq(name_of(2, spaced), "two\\x20words");
    reds_str empty[] = {REDS_STR("")};
    ck_assert_str_eq(name_of(1, empty), "''");
    /* Cut at 32 bytes a word. */
    reds_str longer[] = {REDS_STR("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), REDS_STR("x")};
    ck_assert_str_eq(name_of(2, longer), "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345...");
    reds_str long_sub[] = {REDS_STR("OBJECT"), REDS_STR("\x01\x02\x03\x04\x05\x06\x07\x08\x09"
                                                        "\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12"
                                                        "\x13\x14\x15\x16\x17\x18\x19\x1a\x1b"
                                                        "\x1c\x1d\x1e\x1f\x7f\x80\x81")};
    const char *name = name_of(2, long_sub);
    ck_assert_str_eq(name, "OBJECT \\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\x09\\x0a\\x0b\\x0c"
                           "\\x0d\\x0e\\x0f\\x10\\x11\\x12\\x13\\x14\\x15\\x16\\x17\\x18\\x19"
                           "\\x1a\\x1b\\x1c\\x1d\\x1e\\x1f\\x7f...");
    ck_assert_uint_lt(strlen(name), REDS__LABEL_MAX);
    /* Refused before sending, named the same way. */
    test_cap_reset();
    reds_str null_arg[] = {REDS_STR("FOOBAR"), reds_strn(NULL, 3)};
    reds_reply *r;
    ASSERT_NOTHING_SENT(reds_execute_command(test_cap, 2, null_arg, &r), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "FOOBAR: argument 'argv' is invalid (NULL with a length, NaN, "
                                    "or too large)");
    reds_str null_get[] = {REDS_STR("get"), reds_strn(NULL, 3)};
    ASSERT_NOTHING_SENT(reds_execute_command(test_cap, 2, null_get, &r), REDS_ERR_DATA);
    ck_assert_str_eq(reds_errmsg(), "GET: argument 'argv' is invalid (NULL with a length, NaN, "
                                    "or too large)");
}
END_TEST

START_TEST(null_client)
{
    test_cap_reset();
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
    tcase_add_test(tc, unset_blocks);
    tcase_add_test(tc, counts_that_must_agree);
    tcase_add_test(tc, execute_command_packing);
    tcase_add_test(tc, execute_command_names);
    tcase_add_test(tc, null_client);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), false);
}
