/* The stream group against a real server: every bound command and
 * variant, with typed results asserted exactly (entries, reads, consumer
 * groups, pending entries, claims, XINFO). */
#include <stdio.h>

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

#define ID(s) ((reds_xadd_id){.id = REDS_STR(s)})
#define AUTO  ((reds_xadd_id){.auto_id = true})
#define FV(f, v)                                                                                   \
    {                                                                                              \
        REDS_STR(f), REDS_STR(v)                                                                   \
    }

/* XADD key id field value... with an explicit ID; asserts the ID back. */
static void add(const char *key, const char *id, const reds_field_value *fv, size_t n)
{
    reds_str *got = NULL;
    ASSERT_OK(reds_xadd(c, reds_cstr(key), (reds_xadd_id){.id = reds_cstr(id)}, fv, n, NULL, &got));
    ASSERT_STR(got, id);
    reds_free(got);
}

/* The stream s: 1-1 {a:1, b:2}, 2-1 {c:3}, 3-1 {d:4}. */
static void three_entries(void)
{
    add("s", "1-1", (reds_field_value[]){FV("a", "1"), FV("b", "2")}, 2);
    add("s", "2-1", (reds_field_value[]){FV("c", "3")}, 1);
    add("s", "3-1", (reds_field_value[]){FV("d", "4")}, 1);
}

static int64_t xlen(const char *key)
{
    int64_t n = -1;
    ASSERT_OK(reds_xlen(c, reds_cstr(key), &n));
    return n;
}

/* A consumer group g on s at 0, and alice reads every entry. */
static void group_with_pending(void)
{
    three_entries();
    ASSERT_OK(reds_xgroup_create(c, REDS_STR("s"), REDS_STR("g"),
                                 (reds_xgroup_create_id){.id = REDS_STR("0")}, NULL));
    reds_xread_stream_list *r = NULL;
    ASSERT_OK(reds_xreadgroup(c, REDS_STR("g"), REDS_STR("alice"), &REDS_STR("s"), 1,
                              &REDS_STR(">"), 1, NULL, &r));
    ck_assert_uint_eq(r->items[0].nentries, 3);
    reds_free(r);
}

/* ----------------------------------------------------------------- XADD */

START_TEST(xadd_ids_and_nomkstream)
{
    add("s", "5-1", (reds_field_value[]){FV("f", "v")}, 1);
    /* An automatic ID is "<ms>-<seq>", greater than the last one. */
    reds_str *id = NULL;
    ASSERT_OK(reds_xadd(c, REDS_STR("s"), AUTO, (reds_field_value[]){FV("f", "w")}, 1, NULL, &id));
    ck_assert_ptr_nonnull(id);
    unsigned long long ms, seq;
    ck_assert_int_eq(sscanf(id->ptr, "%llu-%llu", &ms, &seq), 2);
    ck_assert(ms > 5);
    reds_free(id);
    ck_assert_int_eq(xlen("s"), 2);
    /* NOMKSTREAM on a missing key adds nothing and answers nil. */
    id = (reds_str *)1;
    ASSERT_OK(reds_xadd(c, REDS_STR("none"), AUTO, (reds_field_value[]){FV("f", "v")}, 1,
                        &(reds_xadd_opts){.nomkstream = true}, &id));
    ck_assert_ptr_null(id);
    ck_assert_int_eq(xlen("none"), 0);
    /* ...and works as usual on an existing one. */
    ASSERT_OK(reds_xadd(c, REDS_STR("s"), ID("99999999999999-0"),
                        (reds_field_value[]){FV("f", "x")}, 1,
                        &(reds_xadd_opts){.nomkstream = true}, &id));
    ASSERT_STR(id, "99999999999999-0");
    reds_free(id);
    /* An ID not above the last one is refused by the server. */
    ASSERT_ERR(
        reds_xadd(c, REDS_STR("s"), ID("1-1"), (reds_field_value[]){FV("f", "v")}, 1, NULL, &id),
        REDS_ERR_RESPONSE);
    ck_assert_ptr_null(id);
    /* Arguments are checked before anything is sent. */
    ASSERT_ERR(reds_xadd(c, REDS_STR("s"), (reds_xadd_id){0}, (reds_field_value[]){FV("f", "v")}, 1,
                         NULL, NULL),
               REDS_ERR_DATA);
    ASSERT_ERR(reds_xadd(c, REDS_STR("s"), AUTO, NULL, 0, NULL, NULL), REDS_ERR_DATA);
    ck_assert_int_eq(xlen("s"), 3);
}
END_TEST

START_TEST(xadd_and_xtrim_trimming)
{
    for (int i = 1; i <= 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d-0", i);
        add("s", id, (reds_field_value[]){FV("n", "x")}, 1);
    }
    /* XADD ... MAXLEN = 3 keeps the newest three. */
    reds_str *id = NULL;
    reds_xadd_opts o = {.trim = {.set = true,
                                 .strategy = REDS_STREAM_TRIM_STRATEGY_MAXLEN,
                                 .op = REDS_STREAM_TRIM_OPERATOR_EQUAL,
                                 .threshold = REDS_STR("3")}};
    ASSERT_OK(
        reds_xadd(c, REDS_STR("s"), ID("6-0"), (reds_field_value[]){FV("n", "x")}, 1, &o, &id));
    ASSERT_STR(id, "6-0");
    reds_free(id);
    ck_assert_int_eq(xlen("s"), 3);
    /* XTRIM MINID 5-0 removes 4-0. */
    int64_t removed = -1;
    ASSERT_OK(reds_xtrim(c, REDS_STR("s"), REDS_STREAM_TRIM_STRATEGY_MINID, REDS_STR("5-0"), NULL,
                         &removed));
    ck_assert_int_eq(removed, 1);
    /* Approximate trimming only removes whole nodes: none while one entry must stay. */
    ASSERT_OK(reds_xtrim(
        c, REDS_STR("s"), REDS_STREAM_TRIM_STRATEGY_MAXLEN, REDS_STR("1"),
        &(reds_xtrim_opts){.op = REDS_STREAM_TRIM_OPERATOR_APPROXIMATELY, .limit = REDS_I64(10)},
        &removed));
    ck_assert_int_eq(removed, 0);
    ASSERT_OK(reds_xtrim(c, REDS_STR("s"), REDS_STREAM_TRIM_STRATEGY_MAXLEN, REDS_STR("0"),
                         &(reds_xtrim_opts){.op = REDS_STREAM_TRIM_OPERATOR_EQUAL}, &removed));
    ck_assert_int_eq(removed, 2);
    ck_assert_int_eq(xlen("s"), 0);
    /* LIMIT needs ~: the server refuses it with =. */
    ASSERT_ERR(reds_xtrim(c, REDS_STR("s"), REDS_STREAM_TRIM_STRATEGY_MAXLEN, REDS_STR("0"),
                          &(reds_xtrim_opts){.limit = REDS_I64(10)}, &removed),
               REDS_ERR_RESPONSE);
    ASSERT_ERR(reds_xtrim(c, REDS_STR("s"), 0, REDS_STR("0"), NULL, &removed), REDS_ERR_DATA);
}
END_TEST

/* ------------------------------------------------- XRANGE, XREVRANGE, XDEL */

START_TEST(xrange_xrevrange_xdel)
{
    three_entries();
    reds_stream_entry_list *l = NULL;
    ASSERT_OK(reds_xrange(c, REDS_STR("s"), REDS_STR("-"), REDS_STR("+"), NULL, &l));
    ck_assert_uint_eq(l->count, 3);
    ASSERT_STR(&l->items[0].id, "1-1");
    ck_assert_uint_eq(l->items[0].fields.count, 2);
    ASSERT_STR(&l->items[0].fields.items[0].key, "a");
    ASSERT_STR(&l->items[0].fields.items[0].value, "1");
    ASSERT_STR(&l->items[0].fields.items[1].key, "b");
    ASSERT_STR(&l->items[0].fields.items[1].value, "2");
    ASSERT_STR(&l->items[2].id, "3-1");
    ASSERT_STR(reds_map_get(&l->items[2].fields, REDS_STR("d")), "4");
    reds_free(l);
    l = NULL;
    ASSERT_OK(reds_xrange(c, REDS_STR("s"), REDS_STR("(1-1"), REDS_STR("+"),
                          &(reds_xrange_opts){.count = REDS_I64(1)}, &l));
    ck_assert_uint_eq(l->count, 1);
    ASSERT_STR(&l->items[0].id, "2-1");
    reds_free(l);
    l = NULL;
    ASSERT_OK(reds_xrevrange(c, REDS_STR("s"), REDS_STR("+"), REDS_STR("-"),
                             &(reds_xrevrange_opts){.count = REDS_I64(2)}, &l));
    ck_assert_uint_eq(l->count, 2);
    ASSERT_STR(&l->items[0].id, "3-1");
    ASSERT_STR(&l->items[1].id, "2-1");
    ASSERT_STR(&l->items[1].fields.items[0].key, "c");
    reds_free(l);

    int64_t n = -1;
    ASSERT_OK(reds_xdel(c, REDS_STR("s"), (reds_str[]){REDS_STR("2-1"), REDS_STR("7-7")}, 2, &n));
    ck_assert_int_eq(n, 1);
    l = NULL;
    ASSERT_OK(reds_xrevrange(c, REDS_STR("s"), REDS_STR("+"), REDS_STR("-"), NULL, &l));
    ck_assert_uint_eq(l->count, 2);
    ASSERT_STR(&l->items[1].id, "1-1");
    reds_free(l);
    /* Missing key: an empty list; wrong type: an error and no result. */
    l = NULL;
    ASSERT_OK(reds_xrange(c, REDS_STR("none"), REDS_STR("-"), REDS_STR("+"), NULL, &l));
    ck_assert_uint_eq(l->count, 0);
    reds_free(l);
    test_raw("SET str x", (char[16]){0}, 16);
    l = (void *)1;
    ASSERT_ERR(reds_xrange(c, REDS_STR("str"), REDS_STR("-"), REDS_STR("+"), NULL, &l),
               REDS_ERR_RESPONSE);
    ck_assert_ptr_null(l);
}
END_TEST

/* ---------------------------------------------------------------- XREAD */

START_TEST(xread_streams_and_timeout)
{
    three_entries();
    add("t", "5-0", (reds_field_value[]){FV("x", "y")}, 1);
    reds_xread_stream_list *r = NULL;
    ASSERT_OK(reds_xread(c, (reds_str[]){REDS_STR("s"), REDS_STR("none"), REDS_STR("t")}, 3,
                         (reds_str[]){REDS_STR("1-1"), REDS_STR("0"), REDS_STR("0")}, 3,
                         &(reds_xread_opts){.count = REDS_I64(1)}, &r));
    /* Streams without new entries are left out. */
    ck_assert_uint_eq(r->count, 2);
    ASSERT_STR(&r->items[0].key, "s");
    ck_assert_uint_eq(r->items[0].nentries, 1);
    ASSERT_STR(&r->items[0].entries[0].id, "2-1");
    ASSERT_STR(&r->items[0].entries[0].fields.items[0].value, "3");
    ASSERT_STR(&r->items[1].key, "t");
    ASSERT_STR(&r->items[1].entries[0].id, "5-0");
    reds_free(r);
    /* Nothing new within BLOCK: NULL. */
    r = (void *)1;
    ASSERT_OK(reds_xread(c, &REDS_STR("s"), 1, &REDS_STR("$"), 1,
                         &(reds_xread_opts){.block = REDS_I64(10)}, &r));
    ck_assert_ptr_null(r);
    /* Nothing new without BLOCK: NULL too. */
    r = (void *)1;
    ASSERT_OK(reds_xread(c, &REDS_STR("s"), 1, &REDS_STR("3-1"), 1, NULL, &r));
    ck_assert_ptr_null(r);
    /* Unbalanced keys and IDs are refused before sending (same_count_as). */
    ASSERT_ERR(
        reds_xread(c, (reds_str[]){REDS_STR("s"), REDS_STR("t")}, 2, &REDS_STR("0"), 1, NULL, &r),
        REDS_ERR_DATA);
    ck_assert_ptr_null(r);
}
END_TEST

/* --------------------------------------------------------------- XGROUP */

START_TEST(xgroup_lifecycle)
{
    /* MKSTREAM creates the stream; without it a missing key is an error. */
    ASSERT_ERR(reds_xgroup_create(c, REDS_STR("s"), REDS_STR("g"),
                                  (reds_xgroup_create_id){.new_id = true}, NULL),
               REDS_ERR_RESPONSE);
    ASSERT_OK(reds_xgroup_create(c, REDS_STR("s"), REDS_STR("g"),
                                 (reds_xgroup_create_id){.new_id = true},
                                 &(reds_xgroup_create_opts){.mkstream = true}));
    ck_assert_int_eq(xlen("s"), 0);
    ASSERT_ERR(reds_xgroup_create(c, REDS_STR("s"), REDS_STR("g"),
                                  (reds_xgroup_create_id){.new_id = true}, NULL),
               REDS_ERR_RESPONSE); /* BUSYGROUP */
    ASSERT_ERR(reds_xgroup_create(c, REDS_STR("s"), REDS_STR("h"),
                                  (reds_xgroup_create_id){.id = REDS_STR("0"), .new_id = true},
                                  NULL),
               REDS_ERR_DATA);
    three_entries();
    ASSERT_OK(reds_xgroup_create(c, REDS_STR("s"), REDS_STR("h"),
                                 (reds_xgroup_create_id){.id = REDS_STR("1-1")},
                                 &(reds_xgroup_create_opts){.entries_read = REDS_I64(1)}));

    bool created = false;
    ASSERT_OK(
        reds_xgroup_createconsumer(c, REDS_STR("s"), REDS_STR("g"), REDS_STR("bob"), &created));
    ck_assert(created);
    ASSERT_OK(
        reds_xgroup_createconsumer(c, REDS_STR("s"), REDS_STR("g"), REDS_STR("bob"), &created));
    ck_assert(!created);

    /* SETID moves the group back; ENTRIESREAD sets its counter. */
    ASSERT_OK(reds_xgroup_setid(c, REDS_STR("s"), REDS_STR("g"),
                                (reds_xgroup_setid_id){.id = REDS_STR("1-1")},
                                &(reds_xgroup_setid_opts){.entries_read = REDS_I64(1)}));
    reds_xinfo_group_list *groups = NULL;
    ASSERT_OK(reds_xinfo_groups(c, REDS_STR("s"), &groups));
    ck_assert_uint_eq(groups->count, 2);
    ASSERT_STR(&groups->items[0].name, "g");
    ASSERT_STR(&groups->items[0].last_delivered_id, "1-1");
    ck_assert(groups->items[0].entries_read.set && groups->items[0].entries_read.value == 1);
    ck_assert(groups->items[0].lag.set && groups->items[0].lag.value == 2);
    ck_assert_int_eq(groups->items[0].consumers, 1);
    ASSERT_STR(&groups->items[1].name, "h");
    ASSERT_STR(&groups->items[1].last_delivered_id, "1-1");
    reds_free(groups);
    ASSERT_OK(reds_xgroup_setid(c, REDS_STR("s"), REDS_STR("h"),
                                (reds_xgroup_setid_id){.new_id = true}, NULL));

    /* DELCONSUMER answers how many entries the consumer had pending. */
    reds_xread_stream_list *r = NULL;
    ASSERT_OK(reds_xreadgroup(c, REDS_STR("g"), REDS_STR("bob"), &REDS_STR("s"), 1, &REDS_STR(">"),
                              1, NULL, &r));
    ck_assert_uint_eq(r->items[0].nentries, 2);
    reds_free(r);
    int64_t pending = -1;
    ASSERT_OK(reds_xgroup_delconsumer(c, REDS_STR("s"), REDS_STR("g"), REDS_STR("bob"), &pending));
    ck_assert_int_eq(pending, 2);
    ASSERT_OK(reds_xgroup_delconsumer(c, REDS_STR("s"), REDS_STR("g"), REDS_STR("bob"), &pending));
    ck_assert_int_eq(pending, 0);

    bool destroyed = false;
    ASSERT_OK(reds_xgroup_destroy(c, REDS_STR("s"), REDS_STR("g"), &destroyed));
    ck_assert(destroyed);
    ASSERT_OK(reds_xgroup_destroy(c, REDS_STR("s"), REDS_STR("g"), &destroyed));
    ck_assert(!destroyed);

    reds_strlist *help = NULL;
    ASSERT_OK(reds_xgroup_help(c, &help));
    ck_assert_uint_gt(help->count, 5);
    ck_assert_ptr_nonnull(strstr(help->items[0].ptr, "XGROUP"));
    reds_free(help);
}
END_TEST

/* ------------------------------------------------------------ XREADGROUP */

START_TEST(xreadgroup_new_history_and_noack)
{
    group_with_pending();
    /* History: alice's pending entries from the start, two at a time. */
    reds_xread_stream_list *r = NULL;
    ASSERT_OK(reds_xreadgroup(c, REDS_STR("g"), REDS_STR("alice"), &REDS_STR("s"), 1,
                              &REDS_STR("0"), 1, &(reds_xreadgroup_opts){.count = REDS_I64(2)},
                              &r));
    ck_assert_uint_eq(r->count, 1);
    ASSERT_STR(&r->items[0].key, "s");
    ck_assert_uint_eq(r->items[0].nentries, 2);
    ASSERT_STR(&r->items[0].entries[0].id, "1-1");
    ASSERT_STR(&r->items[0].entries[0].fields.items[1].value, "2");
    ASSERT_STR(&r->items[0].entries[1].id, "2-1");
    reds_free(r);
    /* An entry deleted while pending comes back from history with no fields. */
    ASSERT_OK(reds_xdel(c, REDS_STR("s"), &REDS_STR("2-1"), 1, NULL));
    r = NULL;
    ASSERT_OK(reds_xreadgroup(c, REDS_STR("g"), REDS_STR("alice"), &REDS_STR("s"), 1,
                              &REDS_STR("1-1"), 1, NULL, &r));
    ck_assert_uint_eq(r->items[0].nentries, 2);
    ASSERT_STR(&r->items[0].entries[0].id, "2-1");
    ck_assert_uint_eq(r->items[0].entries[0].fields.count, 0);
    ck_assert_ptr_null(r->items[0].entries[0].fields.items);
    ASSERT_STR(&r->items[0].entries[1].id, "3-1");
    ASSERT_STR(&r->items[0].entries[1].fields.items[0].key, "d");
    reds_free(r);
    /* Nothing new: NULL, also with a short BLOCK. */
    r = (void *)1;
    ASSERT_OK(reds_xreadgroup(c, REDS_STR("g"), REDS_STR("alice"), &REDS_STR("s"), 1,
                              &REDS_STR(">"), 1, &(reds_xreadgroup_opts){.block = REDS_I64(10)},
                              &r));
    ck_assert_ptr_null(r);
    /* NOACK: delivered without joining the PEL. */
    add("s", "4-1", (reds_field_value[]){FV("e", "5")}, 1);
    r = NULL;
    ASSERT_OK(reds_xreadgroup(c, REDS_STR("g"), REDS_STR("carol"), &REDS_STR("s"), 1,
                              &REDS_STR(">"), 1, &(reds_xreadgroup_opts){.noack = true}, &r));
    ASSERT_STR(&r->items[0].entries[0].id, "4-1");
    reds_free(r);
    reds_xpending_summary *sum = NULL;
    ASSERT_OK(reds_xpending(c, REDS_STR("s"), REDS_STR("g"), &sum));
    ck_assert_int_eq(sum->count, 3);
    ck_assert_uint_eq(sum->nconsumers, 1);
    ASSERT_STR(&sum->consumers[0].name, "alice");
    reds_free(sum);
    /* No such group: NOGROUP. */
    ASSERT_ERR(reds_xreadgroup(c, REDS_STR("x"), REDS_STR("alice"), &REDS_STR("s"), 1,
                               &REDS_STR(">"), 1, NULL, &r),
               REDS_ERR_RESPONSE);
}
END_TEST

/* ------------------------------------------------------ XPENDING, XACK */

START_TEST(xpending_summary_range_and_xack)
{
    group_with_pending();
    reds_xpending_summary *sum = NULL;
    ASSERT_OK(reds_xpending(c, REDS_STR("s"), REDS_STR("g"), &sum));
    ck_assert_int_eq(sum->count, 3);
    ASSERT_STR(&sum->min, "1-1");
    ASSERT_STR(&sum->max, "3-1");
    ck_assert_uint_eq(sum->nconsumers, 1);
    ASSERT_STR(&sum->consumers[0].name, "alice");
    ck_assert_int_eq(sum->consumers[0].pending, 3);
    reds_free(sum);

    /* Make 1-1 bob's and an hour idle; the others stay fresh. */
    reds_strlist *ids = NULL;
    ASSERT_OK(reds_xclaim_justid(c, REDS_STR("s"), REDS_STR("g"), REDS_STR("bob"), REDS_STR("0"),
                                 &REDS_STR("1-1"), 1,
                                 &(reds_xclaim_opts){.idle = REDS_I64(3600000)}, &ids));
    reds_free(ids);
    reds_xpending_entry_list *pe = NULL;
    ASSERT_OK(reds_xpending_range(c, REDS_STR("s"), REDS_STR("g"), REDS_STR("-"), REDS_STR("+"), 10,
                                  NULL, &pe));
    ck_assert_uint_eq(pe->count, 3);
    ASSERT_STR(&pe->items[0].id, "1-1");
    ASSERT_STR(&pe->items[0].consumer, "bob");
    ck_assert_int_ge(pe->items[0].idle, 3600000);
    ck_assert_int_lt(pe->items[0].idle, 3660000);
    ck_assert_int_eq(pe->items[0].deliveries, 1); /* JUSTID does not count a delivery */
    ASSERT_STR(&pe->items[1].id, "2-1");
    ASSERT_STR(&pe->items[1].consumer, "alice");
    ck_assert_int_lt(pe->items[1].idle, 60000);
    ck_assert_int_eq(pe->items[1].deliveries, 1);
    reds_free(pe);
    /* IDLE and consumer filters, COUNT. */
    pe = NULL;
    ASSERT_OK(reds_xpending_range(c, REDS_STR("s"), REDS_STR("g"), REDS_STR("-"), REDS_STR("+"), 10,
                                  &(reds_xpending_opts){.idle = REDS_I64(60000)}, &pe));
    ck_assert_uint_eq(pe->count, 1);
    ASSERT_STR(&pe->items[0].id, "1-1");
    reds_free(pe);
    pe = NULL;
    ASSERT_OK(reds_xpending_range(c, REDS_STR("s"), REDS_STR("g"), REDS_STR("-"), REDS_STR("+"), 1,
                                  &(reds_xpending_opts){.consumer = REDS_STR("alice")}, &pe));
    ck_assert_uint_eq(pe->count, 1);
    ASSERT_STR(&pe->items[0].id, "2-1");
    reds_free(pe);

    int64_t acked = -1;
    ASSERT_OK(reds_xack(c, REDS_STR("s"), REDS_STR("g"),
                        (reds_str[]){REDS_STR("1-1"), REDS_STR("2-1"), REDS_STR("9-9")}, 3,
                        &acked));
    ck_assert_int_eq(acked, 2);
    ASSERT_OK(reds_xack(c, REDS_STR("s"), REDS_STR("g"), &REDS_STR("3-1"), 1, &acked));
    ck_assert_int_eq(acked, 1);
    /* Nothing pending: nil bounds, no consumers. */
    sum = NULL;
    ASSERT_OK(reds_xpending(c, REDS_STR("s"), REDS_STR("g"), &sum));
    ck_assert_int_eq(sum->count, 0);
    ck_assert_ptr_null(sum->min.ptr);
    ck_assert_ptr_null(sum->max.ptr);
    ck_assert_uint_eq(sum->nconsumers, 0);
    reds_free(sum);
    pe = NULL;
    ASSERT_OK(reds_xpending_range(c, REDS_STR("s"), REDS_STR("g"), REDS_STR("-"), REDS_STR("+"), 10,
                                  NULL, &pe));
    ck_assert_uint_eq(pe->count, 0);
    reds_free(pe);
}
END_TEST

/* --------------------------------------------------- XCLAIM, XAUTOCLAIM */

START_TEST(xclaim_and_justid)
{
    group_with_pending();
    reds_stream_entry_list *l = NULL;
    ASSERT_OK(reds_xclaim(c, REDS_STR("s"), REDS_STR("g"), REDS_STR("bob"), REDS_STR("0"),
                          (reds_str[]){REDS_STR("1-1"), REDS_STR("3-1")}, 2,
                          &(reds_xclaim_opts){.retrycount = REDS_I64(5)}, &l));
    ck_assert_uint_eq(l->count, 2);
    ASSERT_STR(&l->items[0].id, "1-1");
    ASSERT_STR(reds_map_get(&l->items[0].fields, REDS_STR("a")), "1");
    ASSERT_STR(&l->items[1].id, "3-1");
    ASSERT_STR(&l->items[1].fields.items[0].key, "d");
    reds_free(l);
    reds_xpending_entry_list *pe = NULL;
    ASSERT_OK(reds_xpending_range(c, REDS_STR("s"), REDS_STR("g"), REDS_STR("1-1"), REDS_STR("1-1"),
                                  1, NULL, &pe));
    ASSERT_STR(&pe->items[0].consumer, "bob");
    ck_assert_int_eq(pe->items[0].deliveries, 5); /* RETRYCOUNT */
    reds_free(pe);
    /* Not idle long enough: nothing claimed. */
    l = NULL;
    ASSERT_OK(reds_xclaim(c, REDS_STR("s"), REDS_STR("g"), REDS_STR("carol"), REDS_STR("3600000"),
                          &REDS_STR("2-1"), 1, NULL, &l));
    ck_assert_uint_eq(l->count, 0);
    reds_free(l);
    /* JUSTID; FORCE claims an ID that is not pending (if it exists); LASTID and TIME. */
    ASSERT_OK(reds_xack(c, REDS_STR("s"), REDS_STR("g"), &REDS_STR("2-1"), 1, NULL));
    reds_strlist *ids = NULL;
    ASSERT_OK(reds_xclaim_justid(
        c, REDS_STR("s"), REDS_STR("g"), REDS_STR("carol"), REDS_STR("0"),
        (reds_str[]){REDS_STR("2-1"), REDS_STR("3-1")}, 2,
        &(reds_xclaim_opts){.force = true, .time = REDS_I64(1000), .lastid = REDS_STR("3-1")},
        &ids));
    ck_assert_uint_eq(ids->count, 2);
    ASSERT_STR(&ids->items[0], "2-1");
    ASSERT_STR(&ids->items[1], "3-1");
    reds_free(ids);
    pe = NULL;
    ASSERT_OK(reds_xpending_range(c, REDS_STR("s"), REDS_STR("g"), REDS_STR("2-1"), REDS_STR("3-1"),
                                  10, &(reds_xpending_opts){.consumer = REDS_STR("carol")}, &pe));
    ck_assert_uint_eq(pe->count, 2);
    ck_assert_int_gt(pe->items[0].idle, 1000000); /* TIME 1000 ms after the epoch */
    reds_free(pe);
    ASSERT_ERR(reds_xclaim(c, REDS_STR("s"), REDS_STR("g"), REDS_STR("carol"), REDS_STR("0"), NULL,
                           0, NULL, &l),
               REDS_ERR_DATA);
}
END_TEST

START_TEST(xautoclaim_pages_and_deleted)
{
    group_with_pending();
    /* One entry at a time: the cursor walks the PEL. */
    reds_xautoclaim_page *p = NULL;
    ASSERT_OK(reds_xautoclaim(c, REDS_STR("s"), REDS_STR("g"), REDS_STR("bob"), REDS_STR("0"),
                              REDS_STR("0-0"), &(reds_xautoclaim_opts){.count = REDS_I64(1)}, &p));
    ASSERT_STR(&p->next, "2-1");
    ck_assert_uint_eq(p->nentries, 1);
    ASSERT_STR(&p->entries[0].id, "1-1");
    ASSERT_STR(&p->entries[0].fields.items[0].key, "a");
    ck_assert_uint_eq(p->deleted.count, 0);
    reds_free(p);
    /* An entry deleted while pending is reported and dropped from the PEL. */
    ASSERT_OK(reds_xdel(c, REDS_STR("s"), &REDS_STR("2-1"), 1, NULL));
    p = NULL;
    ASSERT_OK(reds_xautoclaim(c, REDS_STR("s"), REDS_STR("g"), REDS_STR("bob"), REDS_STR("0"),
                              REDS_STR("2-1"), NULL, &p));
    ASSERT_STR(&p->next, "0-0");
    ck_assert_uint_eq(p->nentries, 1);
    ASSERT_STR(&p->entries[0].id, "3-1");
    ck_assert_uint_eq(p->deleted.count, 1);
    ASSERT_STR(&p->deleted.items[0], "2-1");
    reds_free(p);
    /* JUSTID: the IDs only. */
    reds_xautoclaim_ids_page *ids = NULL;
    ASSERT_OK(reds_xautoclaim_justid(c, REDS_STR("s"), REDS_STR("g"), REDS_STR("carol"),
                                     REDS_STR("0"), REDS_STR("-"), NULL, &ids));
    ASSERT_STR(&ids->next, "0-0");
    ck_assert_uint_eq(ids->ids.count, 2);
    ASSERT_STR(&ids->ids.items[0], "1-1");
    ASSERT_STR(&ids->ids.items[1], "3-1");
    ck_assert_uint_eq(ids->deleted.count, 0);
    reds_free(ids);
    reds_xpending_summary *sum = NULL;
    ASSERT_OK(reds_xpending(c, REDS_STR("s"), REDS_STR("g"), &sum));
    ck_assert_int_eq(sum->count, 2);
    ASSERT_STR(&sum->consumers[0].name, "carol");
    reds_free(sum);
}
END_TEST

/* ----------------------------------------------------------------- XINFO */

START_TEST(xinfo_stream_and_full)
{
    group_with_pending();
    ASSERT_OK(reds_xack(c, REDS_STR("s"), REDS_STR("g"),
                        (reds_str[]){REDS_STR("2-1"), REDS_STR("3-1")}, 2, NULL));
    reds_xinfo_stream_reply *st = NULL;
    ASSERT_OK(reds_xinfo_stream(c, REDS_STR("s"), &st));
    ck_assert_int_eq(st->length, 3);
    ck_assert_int_eq(st->radix_tree_keys, 1);
    ck_assert_int_eq(st->radix_tree_nodes, 2);
    ASSERT_STR(&st->last_generated_id, "3-1");
    ASSERT_STR(&st->max_deleted_entry_id, "0-0");
    ck_assert_int_eq(st->entries_added, 3);
    ASSERT_STR(&st->recorded_first_entry_id, "1-1");
    ck_assert_int_eq(st->groups, 1);
    ASSERT_STR(&st->first_entry.id, "1-1");
    ck_assert_uint_eq(st->first_entry.fields.count, 2);
    ASSERT_STR(&st->first_entry.fields.items[1].value, "2");
    ASSERT_STR(&st->last_entry.id, "3-1");
    ASSERT_STR(&st->last_entry.fields.items[0].key, "d");
    reds_free(st);

    reds_xinfo_stream_full_reply *full = NULL;
    ASSERT_OK(reds_xinfo_stream_full(c, REDS_STR("s"),
                                     &(reds_xinfo_stream_opts){.count = REDS_I64(2)}, &full));
    ck_assert_int_eq(full->length, 3);
    ASSERT_STR(&full->last_generated_id, "3-1");
    ck_assert_int_eq(full->entries_added, 3);
    ck_assert_uint_eq(full->nentries, 2); /* COUNT 2 */
    ASSERT_STR(&full->entries[1].id, "2-1");
    ck_assert_uint_eq(full->ngroups, 1);
    const reds_xinfo_full_group *g = &full->groups[0];
    ASSERT_STR(&g->name, "g");
    ASSERT_STR(&g->last_delivered_id, "3-1");
    ck_assert(g->entries_read.set && g->entries_read.value == 3);
    ck_assert(g->lag.set && g->lag.value == 0);
    ck_assert_int_eq(g->pel_count, 1);
    ck_assert_uint_eq(g->npending, 1);
    ASSERT_STR(&g->pending[0].id, "1-1");
    ASSERT_STR(&g->pending[0].consumer, "alice");
    ck_assert_int_gt(g->pending[0].delivery_time, 1600000000000);
    ck_assert_int_eq(g->pending[0].deliveries, 1);
    ck_assert_uint_eq(g->nconsumers, 1);
    ASSERT_STR(&g->consumers[0].name, "alice");
    ck_assert_int_gt(g->consumers[0].seen_time, 1600000000000);
    ck_assert_int_eq(g->consumers[0].pel_count, 1);
    ck_assert_uint_eq(g->consumers[0].npending, 1);
    ASSERT_STR(&g->consumers[0].pending[0].id, "1-1");
    ck_assert_int_eq(g->consumers[0].pending[0].delivery_time, g->pending[0].delivery_time);
    ck_assert_int_eq(g->consumers[0].pending[0].deliveries, 1);
    reds_free(full);
    full = NULL;
    ASSERT_OK(reds_xinfo_stream_full(c, REDS_STR("s"), NULL, &full));
    ck_assert_uint_eq(full->nentries, 3);
    reds_free(full);

    /* An empty stream: no first or last entry. */
    ASSERT_OK(reds_xdel(c, REDS_STR("s"),
                        (reds_str[]){REDS_STR("1-1"), REDS_STR("2-1"), REDS_STR("3-1")}, 3, NULL));
    st = NULL;
    ASSERT_OK(reds_xinfo_stream(c, REDS_STR("s"), &st));
    ck_assert_int_eq(st->length, 0);
    ASSERT_STR(&st->max_deleted_entry_id, "3-1");
    ck_assert_ptr_null(st->first_entry.id.ptr);
    ck_assert_ptr_null(st->last_entry.id.ptr);
    reds_free(st);
    st = (void *)1;
    ASSERT_ERR(reds_xinfo_stream(c, REDS_STR("none"), &st), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(st);
}
END_TEST

START_TEST(xinfo_groups_consumers_help)
{
    group_with_pending();
    ASSERT_OK(reds_xgroup_createconsumer(c, REDS_STR("s"), REDS_STR("g"), REDS_STR("bob"), NULL));
    ASSERT_OK(reds_xgroup_create(c, REDS_STR("s"), REDS_STR("h"),
                                 (reds_xgroup_create_id){.new_id = true}, NULL));
    reds_xinfo_group_list *groups = NULL;
    ASSERT_OK(reds_xinfo_groups(c, REDS_STR("s"), &groups));
    ck_assert_uint_eq(groups->count, 2);
    ASSERT_STR(&groups->items[0].name, "g");
    ck_assert_int_eq(groups->items[0].consumers, 2);
    ck_assert_int_eq(groups->items[0].pending, 3);
    ASSERT_STR(&groups->items[0].last_delivered_id, "3-1");
    ck_assert(groups->items[0].entries_read.set && groups->items[0].entries_read.value == 3);
    ck_assert(groups->items[0].lag.set && groups->items[0].lag.value == 0);
    ASSERT_STR(&groups->items[1].name, "h");
    ck_assert_int_eq(groups->items[1].consumers, 0);
    ck_assert_int_eq(groups->items[1].pending, 0);
    ASSERT_STR(&groups->items[1].last_delivered_id, "3-1");
    reds_free(groups);

    reds_xinfo_consumer_list *cons = NULL;
    ASSERT_OK(reds_xinfo_consumers(c, REDS_STR("s"), REDS_STR("g"), &cons));
    ck_assert_uint_eq(cons->count, 2);
    ASSERT_STR(&cons->items[0].name, "alice");
    ck_assert_int_eq(cons->items[0].pending, 3);
    ck_assert_int_ge(cons->items[0].idle, 0);
    ck_assert_int_lt(cons->items[0].idle, 60000);
    ASSERT_STR(&cons->items[1].name, "bob");
    ck_assert_int_eq(cons->items[1].pending, 0);
    reds_free(cons);
    cons = (void *)1;
    ASSERT_ERR(reds_xinfo_consumers(c, REDS_STR("s"), REDS_STR("nosuch"), &cons),
               REDS_ERR_RESPONSE);
    ck_assert_ptr_null(cons);

    reds_strlist *help = NULL;
    ASSERT_OK(reds_xinfo_help(c, &help));
    ck_assert_uint_gt(help->count, 3);
    ck_assert_ptr_nonnull(strstr(help->items[0].ptr, "XINFO"));
    reds_free(help);
}
END_TEST

START_TEST(xsetid_counters)
{
    three_entries();
    ASSERT_OK(reds_xsetid(c, REDS_STR("s"), REDS_STR("10-0"),
                          &(reds_xsetid_opts){.entries_added = REDS_I64(7),
                                              .max_deleted_entry_id = REDS_STR("5-0")}));
    reds_xinfo_stream_reply *st = NULL;
    ASSERT_OK(reds_xinfo_stream(c, REDS_STR("s"), &st));
    ASSERT_STR(&st->last_generated_id, "10-0");
    ck_assert_int_eq(st->entries_added, 7);
    ASSERT_STR(&st->max_deleted_entry_id, "5-0");
    reds_free(st);
    /* The next automatic ID follows the new last ID. */
    reds_str *id = NULL;
    ASSERT_OK(
        reds_xadd(c, REDS_STR("s"), ID("10-*"), (reds_field_value[]){FV("f", "v")}, 1, NULL, &id));
    ASSERT_STR(id, "10-1");
    reds_free(id);
    /* Smaller than the greatest ID: refused. */
    ASSERT_ERR(reds_xsetid(c, REDS_STR("s"), REDS_STR("2-0"), NULL), REDS_ERR_RESPONSE);
    ASSERT_OK(reds_xsetid(c, REDS_STR("s"), REDS_STR("11-0"), NULL));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("streams");
    TCase *tc = tcase_create("entries");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, xadd_ids_and_nomkstream);
    tcase_add_test(tc, xadd_and_xtrim_trimming);
    tcase_add_test(tc, xrange_xrevrange_xdel);
    tcase_add_test(tc, xread_streams_and_timeout);
    tcase_add_test(tc, xsetid_counters);
    suite_add_tcase(s, tc);
    tc = tcase_create("groups");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, xgroup_lifecycle);
    tcase_add_test(tc, xreadgroup_new_history_and_noack);
    tcase_add_test(tc, xpending_summary_range_and_xack);
    tcase_add_test(tc, xclaim_and_justid);
    tcase_add_test(tc, xautoclaim_pages_and_deleted);
    suite_add_tcase(s, tc);
    tc = tcase_create("xinfo");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, xinfo_stream_and_full);
    tcase_add_test(tc, xinfo_groups_consumers_help);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
