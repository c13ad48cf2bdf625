/* The bitmap and hyperloglog groups against a real server: every bound
 * command, BITCOUNT and BITPOS ranges in bytes and bits, BITFIELD with its
 * nils under OVERFLOW FAIL, BITFIELD_RO, BITOP, PFADD/PFCOUNT/PFMERGE with
 * exact (small-cardinality) counts, option checks and server errors. */
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

/* SET `key` to `len` raw bytes. */
static void set_bytes(const char *key, const char *bytes, size_t len)
{
    bool ok = false;
    ASSERT_OK(reds_set(c, reds_cstr(key), reds_strn(bytes, len), NULL, &ok));
    ck_assert(ok);
}

static void assert_bytes(const char *key, const char *bytes, size_t len)
{
    reds_str *v = NULL;
    ASSERT_OK(reds_get(c, reds_cstr(key), &v));
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(v->len, len);
    ck_assert_mem_eq(v->ptr, bytes, len);
    reds_free(v);
}

/* ------------------------------------------------------ single bits */

START_TEST(setbit_getbit)
{
    int64_t old = -1, bit = -1;
    ASSERT_OK(reds_setbit(c, S("b"), 7, 1, &old));
    ck_assert_int_eq(old, 0);
    ASSERT_OK(reds_setbit(c, S("b"), 7, 1, &old));
    ck_assert_int_eq(old, 1);
    ASSERT_OK(reds_getbit(c, S("b"), 7, &bit));
    ck_assert_int_eq(bit, 1);
    ASSERT_OK(reds_getbit(c, S("b"), 6, &bit));
    ck_assert_int_eq(bit, 0);
    ASSERT_OK(reds_getbit(c, S("b"), 1000, &bit)); /* past the end */
    ck_assert_int_eq(bit, 0);
    ASSERT_OK(reds_getbit(c, S("nokey"), 0, &bit));
    ck_assert_int_eq(bit, 0);
    assert_bytes("b", "\x01", 1);
    ASSERT_OK(reds_setbit(c, S("b"), 7, 0, &old));
    ck_assert_int_eq(old, 1);
    ASSERT_ERR(reds_setbit(c, S("b"), 0, 2, &old), REDS_ERR_RESPONSE);
    ASSERT_ERR(reds_setbit(c, S("b"), -1, 1, &old), REDS_ERR_RESPONSE);
}
END_TEST

START_TEST(bitcount_ranges)
{
    set_bytes("k", "foobar", 6);
    int64_t n = -1;
    ASSERT_OK(reds_bitcount(c, S("k"), NULL, &n));
    ck_assert_int_eq(n, 26);
    reds_bitcount_opts o = {.index = {.set = true, .start = 0, .end = 0}};
    ASSERT_OK(reds_bitcount(c, S("k"), &o, &n)); /* BITCOUNT k 0 0: 0 is a legal bound */
    ck_assert_int_eq(n, 4);
    o.index = (reds_bitcount_index){.set = true, .start = 1, .end = 1, .unit = REDS_BIT_UNIT_BYTE};
    ASSERT_OK(reds_bitcount(c, S("k"), &o, &n));
    ck_assert_int_eq(n, 6);
    o.index = (reds_bitcount_index){.set = true, .start = 5, .end = 30, .unit = REDS_BIT_UNIT_BIT};
    ASSERT_OK(reds_bitcount(c, S("k"), &o, &n));
    ck_assert_int_eq(n, 17);
    o.index = (reds_bitcount_index){.set = true, .start = -2, .end = -1};
    ASSERT_OK(reds_bitcount(c, S("k"), &o, &n));
    ck_assert_int_eq(n, 7); /* "ar" */
    ASSERT_OK(reds_bitcount(c, S("nokey"), NULL, &n));
    ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(bitpos_ranges)
{
    set_bytes("k", "\xff\xf0\x00", 3);
    int64_t pos = 0;
    ASSERT_OK(reds_bitpos(c, S("k"), 0, NULL, &pos));
    ck_assert_int_eq(pos, 12);
    set_bytes("k", "\x00\xff\xf0", 3);
    ASSERT_OK(reds_bitpos(c, S("k"), 1, NULL, &pos));
    ck_assert_int_eq(pos, 8);
    reds_bitpos_opts o = {.index = {.set = true, .start = 2}};
    ASSERT_OK(reds_bitpos(c, S("k"), 1, &o, &pos));
    ck_assert_int_eq(pos, 16);
    o.index.end_index = (reds_bitpos_end_index){.set = true, .end = -1, .unit = REDS_BIT_UNIT_BYTE};
    ASSERT_OK(reds_bitpos(c, S("k"), 1, &o, &pos));
    ck_assert_int_eq(pos, 16);
    o.index = (reds_bitpos_index){
        .set = true, .start = 7, .end_index = {.set = true, .end = 15, .unit = REDS_BIT_UNIT_BIT}};
    ASSERT_OK(reds_bitpos(c, S("k"), 1, &o, &pos));
    ck_assert_int_eq(pos, 8);
    o.index = (reds_bitpos_index){.set = true, .start = 0, .end_index = {.set = true, .end = 0}};
    ASSERT_OK(reds_bitpos(c, S("k"), 1, &o, &pos)); /* no 1 in the first byte */
    ck_assert_int_eq(pos, -1);
    ASSERT_OK(reds_bitpos(c, S("nokey"), 1, NULL, &pos));
    ck_assert_int_eq(pos, -1);
    ASSERT_OK(reds_bitpos(c, S("nokey"), 0, NULL, &pos));
    ck_assert_int_eq(pos, 0);
    ASSERT_ERR(reds_bitpos(c, S("k"), 2, NULL, &pos), REDS_ERR_RESPONSE);
}
END_TEST

START_TEST(bitop_all_operations)
{
    set_bytes("a", "\xf0\x0f", 2);
    set_bytes("b", "\xff", 1);
    int64_t len = -1;
    ASSERT_OK(reds_bitop(c, S("AND"), S("and"), STRS(S("a"), S("b")), 2, &len));
    ck_assert_int_eq(len, 2);
    assert_bytes("and", "\xf0\x00", 2);
    ASSERT_OK(reds_bitop(c, S("OR"), S("or"), STRS(S("a"), S("b")), 2, &len));
    assert_bytes("or", "\xff\x0f", 2);
    ASSERT_OK(reds_bitop(c, S("XOR"), S("xor"), STRS(S("a"), S("b")), 2, &len));
    assert_bytes("xor", "\x0f\x0f", 2);
    ASSERT_OK(reds_bitop(c, S("NOT"), S("not"), STRS(S("a")), 1, &len));
    ck_assert_int_eq(len, 2);
    assert_bytes("not", "\x0f\xf0", 2);
    ASSERT_OK(reds_bitop(c, S("AND"), S("none"), STRS(S("nokey")), 1, &len));
    ck_assert_int_eq(len, 0);
    ASSERT_ERR(reds_bitop(c, S("NOT"), S("not"), STRS(S("a"), S("b")), 2, &len), REDS_ERR_RESPONSE);
    ASSERT_ERR(reds_bitop(c, S("NAND"), S("x"), STRS(S("a")), 1, &len), REDS_ERR_RESPONSE);
}
END_TEST

/* ----------------------------------------------------------- BITFIELD */

START_TEST(bitfield_operations)
{
    reds_opt_intlist *r = NULL;
    reds_bitfield_op ops[] = {
        {.write = {.set = true, .set_value = {.set = true, S("u8"), 0, 200}}},
        {.write = {.set = true, .incrby = {.set = true, S("u8"), 0, 100}}}, /* wraps */
        {.write = {.set = true,
                   .overflow = REDS_BITFIELD_OVERFLOW_SAT,
                   .incrby = {.set = true, S("u8"), 0, 1000}}}, /* saturates */
        {.get = {.set = true, S("i4"), 4}},
        {.write = {.set = true,
                   .overflow = REDS_BITFIELD_OVERFLOW_FAIL,
                   .incrby = {.set = true, S("u8"), 0, 1}}}, /* refused */
        {.get = {.set = true, S("u8"), 0}},
    };
    reds_bitfield_opts o = {.operations = ops, .noperations = 6};
    ASSERT_OK(reds_bitfield(c, S("bf"), &o, &r));
    ck_assert_uint_eq(r->count, 6);
    ck_assert(r->items[0].set && r->items[0].value == 0);   /* old value */
    ck_assert(r->items[1].set && r->items[1].value == 44);  /* 300 mod 256 */
    ck_assert(r->items[2].set && r->items[2].value == 255); /* capped */
    ck_assert(r->items[3].set && r->items[3].value == -1);  /* low nibble of 0xff, signed */
    ck_assert(!r->items[4].set);                            /* nil under FAIL */
    ck_assert(r->items[5].set && r->items[5].value == 255);
    reds_free(r);
    /* OVERFLOW WRAP explicitly, and no operation at all. */
    reds_bitfield_op wrap = {.write = {.set = true,
                                       .overflow = REDS_BITFIELD_OVERFLOW_WRAP,
                                       .incrby = {.set = true, S("u8"), 0, 2}}};
    o = (reds_bitfield_opts){.operations = &wrap, .noperations = 1};
    ASSERT_OK(reds_bitfield(c, S("bf"), &o, &r));
    ck_assert(r->count == 1 && r->items[0].set && r->items[0].value == 1);
    reds_free(r);
    ASSERT_OK(reds_bitfield(c, S("bf"), NULL, &r));
    ck_assert_uint_eq(r->count, 0);
    reds_free(r);
    reds_bitfield_op bad = {.get = {.set = true, S("u99"), 0}};
    o = (reds_bitfield_opts){.operations = &bad, .noperations = 1};
    ASSERT_ERR(reds_bitfield(c, S("bf"), &o, &r), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(r);
}
END_TEST

START_TEST(bitfield_ro)
{
    set_bytes("k", "\x12\x34", 2);
    reds_intlist *r = NULL;
    reds_bitfield_ro_get gets[] = {{S("u8"), 0}, {S("u4"), 8}, {S("i16"), 0}, {S("u8"), 100}};
    reds_bitfield_ro_opts o = {.gets = gets, .ngets = 4};
    ASSERT_OK(reds_bitfield_ro(c, S("k"), &o, &r));
    ck_assert_uint_eq(r->count, 4);
    ck_assert(r->items[0] == 0x12 && r->items[1] == 0x3 && r->items[2] == 0x1234 &&
              r->items[3] == 0);
    reds_free(r);
    ASSERT_OK(reds_bitfield_ro(c, S("k"), NULL, &r));
    ck_assert_uint_eq(r->count, 0);
    reds_free(r);
}
END_TEST

START_TEST(bitfield_checks_before_sending)
{
    reds_opt_intlist *r = (reds_opt_intlist *)&r;
    /* Each operation is exactly one of GET and a write. */
    reds_bitfield_op both = {.get = {.set = true, S("u8"), 0},
                             .write = {.set = true, .set_value = {.set = true, S("u8"), 0, 1}}};
    reds_bitfield_opts o = {.operations = &both, .noperations = 1};
    ASSERT_ERR(reds_bitfield(c, S("bf"), &o, &r), REDS_ERR_DATA);
    ck_assert_ptr_null(r);
    reds_bitfield_op neither = {0};
    o.operations = &neither;
    ASSERT_ERR(reds_bitfield(c, S("bf"), &o, &r), REDS_ERR_DATA);
    /* A write is exactly one of SET and INCRBY. */
    reds_bitfield_op two = {.write = {.set = true,
                                      .set_value = {.set = true, S("u8"), 0, 1},
                                      .incrby = {.set = true, S("u8"), 0, 1}}};
    o.operations = &two;
    ASSERT_ERR(reds_bitfield(c, S("bf"), &o, &r), REDS_ERR_DATA);
    reds_bitfield_op overflow = {.write = {.set = true,
                                           .overflow = (reds_bitfield_overflow)4,
                                           .incrby = {.set = true, S("u8"), 0, 1}}};
    o.operations = &overflow;
    ASSERT_ERR(reds_bitfield(c, S("bf"), &o, &r), REDS_ERR_DATA);
    o = (reds_bitfield_opts){.operations = NULL, .noperations = 2};
    ASSERT_ERR(reds_bitfield(c, S("bf"), &o, &r), REDS_ERR_DATA);
    reds_bitcount_opts bc = {
        .index = {.set = true, .start = 0, .end = 1, .unit = (reds_bit_unit)3}};
    int64_t n = -1;
    ASSERT_ERR(reds_bitcount(c, S("bf"), &bc, &n), REDS_ERR_DATA);
    ASSERT_ERR(reds_bitop(c, S("AND"), S("d"), NULL, 0, &n), REDS_ERR_DATA);
    ASSERT_OK(reds_exists(c, STRS(S("bf"), S("d")), 2, &n));
    ck_assert_int_eq(n, 0);
}
END_TEST

/* -------------------------------------------------------- HyperLogLog */

START_TEST(pfadd_pfcount_pfmerge)
{
    bool changed = false;
    /* PFADD without elements creates the key once. */
    ASSERT_OK(reds_pfadd(c, S("h1"), NULL, &changed));
    ck_assert(changed);
    ASSERT_OK(reds_pfadd(c, S("h1"), NULL, &changed));
    ck_assert(!changed);
    reds_pfadd_opts o = {.elements = STRS(S("a"), S("b"), S("c")), .nelements = 3};
    ASSERT_OK(reds_pfadd(c, S("h1"), &o, &changed));
    ck_assert(changed);
    ASSERT_OK(reds_pfadd(c, S("h1"), &o, &changed)); /* nothing new */
    ck_assert(!changed);
    o = (reds_pfadd_opts){.elements = STRS(S("c"), S("d")), .nelements = 2};
    ASSERT_OK(reds_pfadd(c, S("h2"), &o, &changed));
    ck_assert(changed);

    /* Small cardinalities are exact. */
    int64_t n = -1;
    ASSERT_OK(reds_pfcount(c, STRS(S("h1")), 1, &n));
    ck_assert_int_eq(n, 3);
    ASSERT_OK(reds_pfcount(c, STRS(S("h1"), S("h2")), 2, &n)); /* the union */
    ck_assert_int_eq(n, 4);
    ASSERT_OK(reds_pfcount(c, STRS(S("nokey")), 1, &n));
    ck_assert_int_eq(n, 0);
    ASSERT_OK(reds_pfmerge(c, S("m"), STRS(S("h1"), S("h2"), S("nokey")), 3));
    ASSERT_OK(reds_pfcount(c, STRS(S("m")), 1, &n));
    ck_assert_int_eq(n, 4);
    ASSERT_OK(reds_pfmerge(c, S("m"), STRS(S("m")), 1));
    ASSERT_OK(reds_pfcount(c, STRS(S("m")), 1, &n));
    ck_assert_int_eq(n, 4);
}
END_TEST

START_TEST(hyperloglog_errors)
{
    set_bytes("str", "not a hll", 9);
    int64_t n = -1;
    ASSERT_ERR(reds_pfcount(c, STRS(S("str")), 1, &n), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "WRONGTYPE"));
    bool changed = true;
    reds_pfadd_opts o = {.elements = STRS(S("a")), .nelements = 1};
    ASSERT_ERR(reds_pfadd(c, S("str"), &o, &changed), REDS_ERR_RESPONSE);
    ck_assert(!changed);
    ASSERT_ERR(reds_pfmerge(c, S("m"), STRS(S("str")), 1), REDS_ERR_RESPONSE);
    ASSERT_ERR(reds_pfcount(c, NULL, 0, &n), REDS_ERR_DATA);
    ASSERT_ERR(reds_pfmerge(c, S("m"), NULL, 0), REDS_ERR_DATA);
    o = (reds_pfadd_opts){.elements = NULL, .nelements = 1};
    ASSERT_ERR(reds_pfadd(c, S("h"), &o, &changed), REDS_ERR_DATA);
    ASSERT_OK(reds_exists(c, STRS(S("m"), S("h")), 2, &n));
    ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(bitmap_wrong_type)
{
    char reply[64];
    test_raw("RPUSH l a", reply, sizeof reply);
    int64_t n = -1;
    ASSERT_ERR(reds_bitcount(c, S("l"), NULL, &n), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "WRONGTYPE"));
    reds_intlist *r = (reds_intlist *)&r;
    reds_bitfield_ro_get g = {S("u8"), 0};
    reds_bitfield_ro_opts o = {.gets = &g, .ngets = 1};
    ASSERT_ERR(reds_bitfield_ro(c, S("l"), &o, &r), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(r);
    ASSERT_ERR(reds_setbit(c, S("l"), 0, 1, &n), REDS_ERR_RESPONSE);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("bitmaps");
    struct {
        const char *name;
        const TTest *tests[8];
    } groups[] = {
        {"bits", {setbit_getbit, bitcount_ranges, bitpos_ranges, bitop_all_operations}},
        {"bitfield", {bitfield_operations, bitfield_ro, bitfield_checks_before_sending}},
        {"hyperloglog", {pfadd_pfcount_pfmerge, hyperloglog_errors}},
        {"errors", {bitmap_wrong_type}},
    };
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        TCase *tc = tcase_create(groups[i].name);
        tcase_add_checked_fixture(tc, setup, teardown);
        for (size_t j = 0; j < 8 && groups[i].tests[j]; j++)
            tcase_add_test(tc, groups[i].tests[j]);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
