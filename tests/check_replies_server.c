/* The reply converters of the stream, scripting, pubsub, server and
 * cluster groups, fed canned replies (copied from Redis 7.0 output)
 * through the same hiredis reader and test_arena as live ones: the values of
 * every record field, the shapes each converter refuses
 * (InvalidResponse, never a crash, no owned result), and the record
 * shapes the generator adds for them (pairs, lines, words, rest and
 * prefix fields, nullable records and fields). */
#include <ctype.h>
#include <stdio.h>

#include "testreply.h"

/* Replies are written in a small notation, turned into RESP here:
 *   [ ... ]   an array         "text"  a bulk string (\" \\ \n \r escapes)
 *   :12       an integer       +word   a status
 *   nil       a nil bulk       nilarr  a nil array
 * separated by white space. */
static const char *resp_of(const char **s, char *out, size_t *n, size_t cap);

static void put(char *out, size_t *n, size_t cap, const char *bytes, size_t len)
{
    ck_assert_msg(*n + len < cap, "canned reply too long");
    memcpy(out + *n, bytes, len);
    *n += len;
}

static void put_header(char *out, size_t *n, size_t cap, char type, long long v)
{
    char head[32];
    int len = snprintf(head, sizeof head, "%c%lld\r\n", type, v);
    put(out, n, cap, head, (size_t)len);
}

static const char *resp_of(const char **s, char *out, size_t *n, size_t cap)
{
    while (isspace((unsigned char)**s))
        (*s)++;
    const char *p = *s;
    if (*p == '[') {
        /* Elements are written after a placeholder header, then moved. */
        char body[16384];
        size_t bn = 0;
        long long count = 0;
        *s = p + 1;
        for (;;) {
            while (isspace((unsigned char)**s))
                (*s)++;
            if (**s == ']') {
                (*s)++;
                break;
            }
            ck_assert_msg(**s, "unterminated array in canned reply");
            resp_of(s, body, &bn, sizeof body);
            count++;
        }
        put_header(out, n, cap, '*', count);
        put(out, n, cap, body, bn);
    } else if (*p == '"') {
        char text[4096];
        size_t tn = 0;
        for (p++; *p != '"'; p++) {
            ck_assert_msg(*p, "unterminated string in canned reply");
            char ch = *p;
            if (ch == '\\') {
                ch = *++p;
                ch = ch == 'n' ? '\n' : ch == 'r' ? '\r' : ch;
            }
            ck_assert(tn + 1 < sizeof text);
            text[tn++] = ch;
        }
        *s = p + 1;
        put_header(out, n, cap, '$', (long long)tn);
        put(out, n, cap, text, tn);
        put(out, n, cap, "\r\n", 2);
    } else if (*p == ':') {
        char *end;
        long long v = strtoll(p + 1, &end, 10);
        *s = end;
        put_header(out, n, cap, ':', v);
    } else if (*p == '+') {
        const char *end = p;
        while (*end && !isspace((unsigned char)*end) && *end != ']')
            end++;
        put(out, n, cap, p, (size_t)(end - p));
        put(out, n, cap, "\r\n", 2);
        *s = end;
    } else if (!strncmp(p, "nilarr", 6)) {
        put(out, n, cap, "*-1\r\n", 5);
        *s = p + 6;
    } else if (!strncmp(p, "nil", 3)) {
        put(out, n, cap, "$-1\r\n", 5);
        *s = p + 3;
    } else {
        ck_abort_msg("bad canned reply at '%.20s'", p);
    }
    return *s;
}

/* Parse one reply written in the notation above. */
static const reds_reply *R(const char *notation)
{
    static char buf[32768];
    size_t n = 0;
    const char *s = notation;
    resp_of(&s, buf, &n, sizeof buf);
    return test_parse(buf, n);
}

/* ------------------------------------------------- every converter, every shape */

static const char *const shapes[] = {
    "+OK",           /* 0 status */
    "\"foo\"",       /* 1 bulk */
    ":1",            /* 2 integer */
    "nil",           /* 3 nil */
    "nilarr",        /* 4 nil array */
    "[]",            /* 5 empty array */
    "[\"a\" \"b\"]", /* 6 array of two strings */
    "[:1 :2]",       /* 7 array of integers */
    "[[]]",          /* 8 array of one empty array */
    "[\"a\"]",       /* 9 array of one string */
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])
#define BIT(i)  (1u << (i))

static const struct {
    const char *name;
    reds__conv_fn fn;
    unsigned accepts; /* bit i: shapes[i] converts */
} converters[] = {
    {"boollist", reds__conv_boollist, BIT(5)},
    {"stream_entries", reds__conv_stream_entries, BIT(5)},
    {"xread", reds__conv_xread, BIT(3) | BIT(4) | BIT(5)},
    {"xautoclaim", reds__conv_xautoclaim, 0},
    {"xautoclaim_justid", reds__conv_xautoclaim_justid, 0},
    {"xpending_summary", reds__conv_xpending_summary, 0},
    {"xpending_entries", reds__conv_xpending_entries, BIT(5)},
    /* Records of field/value pairs skip fields they do not know. */
    {"xinfo_stream", reds__conv_xinfo_stream, BIT(5) | BIT(6)},
    {"xinfo_stream_full", reds__conv_xinfo_stream_full, BIT(5) | BIT(6)},
    {"xinfo_groups", reds__conv_xinfo_groups, BIT(5) | BIT(8)},
    {"xinfo_consumers", reds__conv_xinfo_consumers, BIT(5) | BIT(8)},
    {"function_list", reds__conv_function_list, BIT(5) | BIT(8)},
    {"function_stats", reds__conv_function_stats, BIT(5) | BIT(6)},
    {"channel_counts", reds__conv_channel_counts, BIT(5)},
    {"info", reds__conv_info, 0},
    {"role", reds__conv_role, 0},
    /* TIME's parts are decimal strings; integers would do as well. */
    {"server_time", reds__conv_server_time, BIT(7)},
    {"slowlog", reds__conv_slowlog, BIT(5)},
    {"latency_latest", reds__conv_latency_latest, BIT(5)},
    {"latency_history", reds__conv_latency_history, BIT(5)},
    {"latency_histogram", reds__conv_latency_histogram, BIT(5)},
    {"memory_stats", reds__conv_memory_stats, BIT(5) | BIT(6)},
    {"command_info", reds__conv_command_info, BIT(5)},
    {"command_docs", reds__conv_command_docs, BIT(5)},
    {"command_key_flags", reds__conv_command_key_flags, BIT(5)},
    {"acl_user", reds__conv_acl_user, BIT(3) | BIT(4) | BIT(5) | BIT(6)},
    {"acl_log", reds__conv_acl_log, BIT(5) | BIT(8)},
    {"module_list", reds__conv_module_list, BIT(5) | BIT(8)},
    /* key:value lines skip lines they do not know, like maps. */
    {"cluster_info", reds__conv_cluster_info, BIT(0) | BIT(1)},
    {"cluster_nodes", reds__conv_cluster_nodes, BIT(5)},
    {"cluster_shards", reds__conv_cluster_shards, BIT(5) | BIT(8)},
    {"cluster_slots", reds__conv_cluster_slots, BIT(5)},
    {"cluster_links", reds__conv_cluster_links, BIT(5) | BIT(8)},
};

START_TEST(every_converter_against_every_shape)
{
    for (size_t c = 0; c < sizeof converters / sizeof converters[0]; c++) {
        for (size_t s = 0; s < NSHAPES; s++) {
            void *out = NULL;
            reds_err err = test_convert(converters[c].fn, R(shapes[s]), &out);
            bool ok = converters[c].accepts & BIT(s);
            ck_assert_msg(err == (ok ? REDS_OK : REDS_ERR_INVALID_RESPONSE), "%s on %s: %s (%s)",
                          converters[c].name, shapes[s], reds_err_name(err), reds_errmsg());
            if (!ok)
                ck_assert_msg(out == NULL, "%s on %s left a result", converters[c].name, shapes[s]);
            reds_free(out);
        }
    }
}
END_TEST

/* ------------------------------------------------------------------ streams */

#define ENTRY_1 "[\"1-1\" [\"a\" \"1\" \"b\" \"2\"]]"
#define ENTRY_2 "[\"2-1\" [\"c\" \"3\"]]"

START_TEST(stream_entries_and_reads)
{
    reds_stream_entry_list *l = NULL;
    ck_assert_int_eq(test_convert(reds__conv_stream_entries, R("[" ENTRY_1 " " ENTRY_2 "]"), &l),
                     REDS_OK);
    ck_assert_uint_eq(l->count, 2);
    ASSERT_STR(&l->items[0].id, "1-1");
    ck_assert_uint_eq(l->items[0].fields.count, 2);
    ASSERT_STR(&l->items[0].fields.items[1].key, "b");
    ASSERT_STR(reds_map_get(&l->items[0].fields, REDS_STR("a")), "1");
    ASSERT_STR(&l->items[1].id, "2-1");
    ASSERT_STR(&l->items[1].fields.items[0].value, "3");
    reds_free(l);
    /* An entry deleted while pending (XREADGROUP history) has nil fields. */
    l = NULL;
    ck_assert_int_eq(test_convert(reds__conv_stream_entries, R("[[\"3-0\" nil]]"), &l), REDS_OK);
    ASSERT_STR(&l->items[0].id, "3-0");
    ck_assert_uint_eq(l->items[0].fields.count, 0);
    ck_assert_ptr_null(l->items[0].fields.items);
    reds_free(l);
    ASSERT_REFUSED(reds__conv_stream_entries, R("[[\"1-1\" [\"a\"]]]"));  /* odd field list */
    ASSERT_REFUSED(reds__conv_stream_entries, R("[[\"1-1\"]]"));          /* no fields */
    ASSERT_REFUSED(reds__conv_stream_entries, R("[[:1 [\"a\" \"1\"]]]")); /* ID not a string */
    ASSERT_REFUSED(reds__conv_stream_entries, R("[nil]"));

    reds_xread_stream_list *x = NULL;
    ck_assert_int_eq(test_convert(reds__conv_xread,
                                  R("[[\"s\" [" ENTRY_1 " " ENTRY_2 "]] [\"t\" [" ENTRY_2 "]]]"),
                                  &x),
                     REDS_OK);
    ck_assert_uint_eq(x->count, 2);
    ASSERT_STR(&x->items[0].key, "s");
    ck_assert_uint_eq(x->items[0].nentries, 2);
    ASSERT_STR(&x->items[0].entries[1].id, "2-1");
    ASSERT_STR(&x->items[1].key, "t");
    ASSERT_STR(&x->items[1].entries[0].fields.items[0].key, "c");
    reds_free(x);
    x = (void *)1;
    ck_assert_int_eq(test_convert(reds__conv_xread, R("nilarr"), &x),
                     REDS_OK); /* BLOCK timed out */
    ck_assert_ptr_null(x);
    ASSERT_REFUSED(reds__conv_xread, R("[[\"s\"]]"));
    ASSERT_REFUSED(reds__conv_xread, R("[[\"s\" \"x\"]]"));
}
END_TEST

START_TEST(stream_claims_and_pending)
{
    reds_xautoclaim_page *p = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_xautoclaim, R("[\"0-0\" [" ENTRY_1 "] [\"9-1\" \"9-2\"]]"), &p),
        REDS_OK);
    ASSERT_STR(&p->next, "0-0");
    ck_assert_uint_eq(p->nentries, 1);
    ASSERT_STR(&p->entries[0].id, "1-1");
    ck_assert_uint_eq(p->deleted.count, 2);
    ASSERT_STR(&p->deleted.items[1], "9-2");
    reds_free(p);
    /* Redis 6.2 sends no deleted IDs. */
    p = NULL;
    ck_assert_int_eq(test_convert(reds__conv_xautoclaim, R("[\"5-0\" []]"), &p), REDS_OK);
    ASSERT_STR(&p->next, "5-0");
    ck_assert_uint_eq(p->nentries, 0);
    ck_assert_uint_eq(p->deleted.count, 0);
    reds_free(p);
    ASSERT_REFUSED(reds__conv_xautoclaim, R("[\"0-0\" [\"1-1\"] []]"));

    reds_xautoclaim_ids_page *ids = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_xautoclaim_justid, R("[\"0-0\" [\"1-1\" \"2-1\"] []]"), &ids),
        REDS_OK);
    ASSERT_STR(&ids->next, "0-0");
    ck_assert_uint_eq(ids->ids.count, 2);
    ASSERT_STR(&ids->ids.items[1], "2-1");
    reds_free(ids);
    ASSERT_REFUSED(reds__conv_xautoclaim_justid, R("[\"0-0\" [[\"1-1\"]] []]"));

    reds_xpending_summary *sum = NULL;
    ck_assert_int_eq(test_convert(reds__conv_xpending_summary,
                                  R("[:3 \"1-1\" \"2-1\" [[\"alice\" \"2\"] [\"bob\" \"1\"]]]"),
                                  &sum),
                     REDS_OK);
    ck_assert_int_eq(sum->count, 3);
    ASSERT_STR(&sum->min, "1-1");
    ASSERT_STR(&sum->max, "2-1");
    ck_assert_uint_eq(sum->nconsumers, 2);
    ASSERT_STR(&sum->consumers[0].name, "alice");
    ck_assert_int_eq(sum->consumers[0].pending, 2);
    ck_assert_int_eq(sum->consumers[1].pending, 1);
    reds_free(sum);
    /* Nothing pending: nil bounds and no consumers. */
    sum = NULL;
    ck_assert_int_eq(test_convert(reds__conv_xpending_summary, R("[:0 nil nil nil]"), &sum),
                     REDS_OK);
    ck_assert_int_eq(sum->count, 0);
    ck_assert_ptr_null(sum->min.ptr);
    ck_assert_ptr_null(sum->max.ptr);
    ck_assert_uint_eq(sum->nconsumers, 0);
    reds_free(sum);
    ASSERT_REFUSED(reds__conv_xpending_summary, R("[:1 \"1-1\" \"1-1\" [[\"alice\" \"x\"]]]"));
    ASSERT_REFUSED(reds__conv_xpending_summary, R("[:1 \"1-1\" \"1-1\"]"));

    reds_xpending_entry_list *pe = NULL;
    ck_assert_int_eq(test_convert(reds__conv_xpending_entries,
                                  R("[[\"1-1\" \"bob\" :1554 :2] [\"2-1\" \"alice\" :7 :1]]"), &pe),
                     REDS_OK);
    ck_assert_uint_eq(pe->count, 2);
    ASSERT_STR(&pe->items[0].id, "1-1");
    ASSERT_STR(&pe->items[0].consumer, "bob");
    ck_assert_int_eq(pe->items[0].idle, 1554);
    ck_assert_int_eq(pe->items[0].deliveries, 2);
    ASSERT_STR(&pe->items[1].consumer, "alice");
    reds_free(pe);
    ASSERT_REFUSED(reds__conv_xpending_entries, R("[[\"1-1\" \"bob\" \"1554\" :2]]"));
}
END_TEST

START_TEST(xinfo_replies)
{
    reds_xinfo_stream_reply *st = NULL;
    ck_assert_int_eq(
        test_convert(
            reds__conv_xinfo_stream,
            R("[\"length\" :2 \"radix-tree-keys\" :1 \"radix-tree-nodes\" :2 "
              "\"last-generated-id\" \"2-1\" \"max-deleted-entry-id\" \"0-0\" \"entries-added\" :2 "
              "\"recorded-first-entry-id\" \"1-1\" \"groups\" :1 "
              "\"first-entry\" " ENTRY_1 " \"last-entry\" " ENTRY_2 "]"),
            &st),
        REDS_OK);
    ck_assert_int_eq(st->length, 2);
    ck_assert_int_eq(st->radix_tree_keys, 1);
    ck_assert_int_eq(st->radix_tree_nodes, 2);
    ASSERT_STR(&st->last_generated_id, "2-1");
    ASSERT_STR(&st->max_deleted_entry_id, "0-0");
    ck_assert_int_eq(st->entries_added, 2);
    ASSERT_STR(&st->recorded_first_entry_id, "1-1");
    ck_assert_int_eq(st->groups, 1);
    ASSERT_STR(&st->first_entry.id, "1-1");
    ASSERT_STR(reds_map_get(&st->first_entry.fields, REDS_STR("b")), "2");
    ASSERT_STR(&st->last_entry.id, "2-1");
    reds_free(st);
    /* An empty stream: nil first and last entries stay zero. */
    st = NULL;
    ck_assert_int_eq(test_convert(reds__conv_xinfo_stream,
                                  R("[\"length\" :0 \"first-entry\" nil \"last-entry\" nil]"), &st),
                     REDS_OK);
    ck_assert_ptr_null(st->first_entry.id.ptr);
    ck_assert_ptr_null(st->last_entry.id.ptr);
    reds_free(st);
    ASSERT_REFUSED(reds__conv_xinfo_stream, R("[\"length\" \"2\"]"));
    ASSERT_REFUSED(reds__conv_xinfo_stream, R("[\"first-entry\" [\"1-1\"]]"));

    reds_xinfo_stream_full_reply *full = NULL;
    ck_assert_int_eq(
        test_convert(
            reds__conv_xinfo_stream_full,
            R("[\"length\" :2 \"radix-tree-keys\" :1 \"radix-tree-nodes\" :2 "
              "\"last-generated-id\" \"2-1\" \"max-deleted-entry-id\" \"0-0\" \"entries-added\" :2 "
              "\"recorded-first-entry-id\" \"1-1\" \"entries\" [" ENTRY_1 " " ENTRY_2 "] "
              "\"groups\" [[\"name\" \"g\" \"last-delivered-id\" \"1-1\" \"entries-read\" :1 "
              "\"lag\" :1 \"pel-count\" :1 \"pending\" [[\"1-1\" \"bob\" :1795260875646 :2]] "
              "\"consumers\" [[\"name\" \"alice\" \"seen-time\" :1795260875550 \"pel-count\" :0 "
              "\"pending\" []] [\"name\" \"bob\" \"seen-time\" :1795260875646 \"pel-count\" :1 "
              "\"pending\" [[\"1-1\" :1795260875646 :2]]]]]]]"),
            &full),
        REDS_OK);
    ck_assert_int_eq(full->length, 2);
    ck_assert_int_eq(full->entries_added, 2);
    ck_assert_uint_eq(full->nentries, 2);
    ASSERT_STR(&full->entries[1].fields.items[0].key, "c");
    ck_assert_uint_eq(full->ngroups, 1);
    const reds_xinfo_full_group *g = &full->groups[0];
    ASSERT_STR(&g->name, "g");
    ASSERT_STR(&g->last_delivered_id, "1-1");
    ck_assert(g->entries_read.set && g->entries_read.value == 1);
    ck_assert(g->lag.set && g->lag.value == 1);
    ck_assert_int_eq(g->pel_count, 1);
    ck_assert_uint_eq(g->npending, 1);
    ASSERT_STR(&g->pending[0].consumer, "bob");
    ck_assert_int_eq(g->pending[0].delivery_time, 1795260875646);
    ck_assert_int_eq(g->pending[0].deliveries, 2);
    ck_assert_uint_eq(g->nconsumers, 2);
    ASSERT_STR(&g->consumers[0].name, "alice");
    ck_assert_int_eq(g->consumers[0].seen_time, 1795260875550);
    ck_assert(!g->consumers[0].active_time.set); /* Redis 7.2+ only */
    ck_assert_uint_eq(g->consumers[0].npending, 0);
    ck_assert_int_eq(g->consumers[1].pel_count, 1);
    ASSERT_STR(&g->consumers[1].pending[0].id, "1-1");
    ck_assert_int_eq(g->consumers[1].pending[0].deliveries, 2);
    reds_free(full);
    ASSERT_REFUSED(reds__conv_xinfo_stream_full,
                   R("[\"groups\" [[\"pending\" [[\"1-1\" \"bob\"]]]]]"));

    reds_xinfo_group_list *groups = NULL;
    ck_assert_int_eq(
        test_convert(
            reds__conv_xinfo_groups,
            R("[[\"name\" \"g\" \"consumers\" :1 \"pending\" :1 \"last-delivered-id\" "
              "\"1-1\" \"entries-read\" :1 \"lag\" :1] [\"name\" \"h\" \"consumers\" :0 "
              "\"pending\" :0 \"last-delivered-id\" \"0-0\" \"entries-read\" nil \"lag\" nil]]"),
            &groups),
        REDS_OK);
    ck_assert_uint_eq(groups->count, 2);
    ASSERT_STR(&groups->items[0].name, "g");
    ck_assert_int_eq(groups->items[0].consumers, 1);
    ck_assert_int_eq(groups->items[0].pending, 1);
    ASSERT_STR(&groups->items[0].last_delivered_id, "1-1");
    ck_assert(groups->items[0].entries_read.set && groups->items[0].entries_read.value == 1);
    ck_assert(groups->items[0].lag.set && groups->items[0].lag.value == 1);
    ck_assert(!groups->items[1].entries_read.set && !groups->items[1].lag.set);
    reds_free(groups);
    ASSERT_REFUSED(reds__conv_xinfo_groups, R("[[\"lag\" \"1\"]]"));

    reds_xinfo_consumer_list *cons = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_xinfo_consumers,
                     R("[[\"name\" \"alice\" \"pending\" :1 \"idle\" :50 \"inactive\" :40]]"),
                     &cons),
        REDS_OK);
    ck_assert_uint_eq(cons->count, 1);
    ASSERT_STR(&cons->items[0].name, "alice");
    ck_assert_int_eq(cons->items[0].pending, 1);
    ck_assert_int_eq(cons->items[0].idle, 50);
    ck_assert(cons->items[0].inactive.set && cons->items[0].inactive.value == 40);
    reds_free(cons);
    ASSERT_REFUSED(reds__conv_xinfo_consumers, R("[[\"idle\" nil]]"));
}
END_TEST

/* ---------------------------------------------------------------- scripting */

START_TEST(scripting_replies)
{
    reds_boollist *b = NULL;
    ck_assert_int_eq(test_convert(reds__conv_boollist, R("[:1 :0 :1]"), &b), REDS_OK);
    ck_assert_uint_eq(b->count, 3);
    ck_assert(b->items[0] && !b->items[1] && b->items[2]);
    reds_free(b);
    ASSERT_REFUSED(reds__conv_boollist, R("[:1 :2]"));
    ASSERT_REFUSED(reds__conv_boollist, R("[\"1\"]"));

    reds_function_library_list *libs = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_function_list,
                     R("[[\"library_name\" \"mylib\" \"engine\" \"LUA\" \"functions\" "
                       "[[\"name\" \"ro\" \"description\" \"read only\" \"flags\" [+no-writes]] "
                       "[\"name\" \"myfunc\" \"description\" nil \"flags\" []]] "
                       "\"library_code\" \"#!lua name=mylib\\n\"]]"),
                     &libs),
        REDS_OK);
    ck_assert_uint_eq(libs->count, 1);
    const reds_function_library *lib = &libs->items[0];
    ASSERT_STR(&lib->library_name, "mylib");
    ASSERT_STR(&lib->engine, "LUA");
    ck_assert_uint_eq(lib->nfunctions, 2);
    ASSERT_STR(&lib->functions[0].name, "ro");
    ASSERT_STR(&lib->functions[0].description, "read only");
    ck_assert_uint_eq(lib->functions[0].flags.count, 1);
    ASSERT_STR(&lib->functions[0].flags.items[0], "no-writes");
    ASSERT_STR(&lib->functions[1].name, "myfunc");
    ck_assert_ptr_null(lib->functions[1].description.ptr);
    ck_assert_uint_eq(lib->functions[1].flags.count, 0);
    ASSERT_STR(&lib->library_code, "#!lua name=mylib\n");
    reds_free(libs);
    /* Without WITHCODE there is no code. */
    libs = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_function_list,
                     R("[[\"library_name\" \"l\" \"engine\" \"LUA\" \"functions\" []]]"), &libs),
        REDS_OK);
    ck_assert_ptr_null(libs->items[0].library_code.ptr);
    reds_free(libs);
    ASSERT_REFUSED(reds__conv_function_list, R("[[\"functions\" [[\"flags\" \"no-writes\"]]]]"));

    reds_function_stats_reply *st = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_function_stats,
                     R("[\"running_script\" nil \"engines\" [\"LUA\" [\"libraries_count\" :1 "
                       "\"functions_count\" :2]]]"),
                     &st),
        REDS_OK);
    ck_assert_ptr_null(st->running_script.name.ptr);
    ck_assert_uint_eq(st->nengines, 1);
    ASSERT_STR(&st->engines[0].name, "LUA");
    ck_assert_int_eq(st->engines[0].stats.libraries_count, 1);
    ck_assert_int_eq(st->engines[0].stats.functions_count, 2);
    reds_free(st);
    st = NULL;
    ck_assert_int_eq(
        test_convert(
            reds__conv_function_stats,
            R("[\"running_script\" [\"name\" \"spin\" \"command\" [\"fcall\" \"spin\" \"0\"] "
              "\"duration_ms\" :120] \"engines\" []]"),
            &st),
        REDS_OK);
    ASSERT_STR(&st->running_script.name, "spin");
    ck_assert_uint_eq(st->running_script.command.count, 3);
    ASSERT_STR(&st->running_script.command.items[1], "spin");
    ck_assert_int_eq(st->running_script.duration_ms, 120);
    ck_assert_uint_eq(st->nengines, 0);
    reds_free(st);
    ASSERT_REFUSED(reds__conv_function_stats, R("[\"engines\" [\"LUA\"]]"));
    ASSERT_REFUSED(reds__conv_function_stats, R("[\"engines\" [\"LUA\" :1]]"));
}
END_TEST

/* ------------------------------------------------------------------- pubsub */

START_TEST(pubsub_replies)
{
    reds_channel_count_list *l = NULL;
    ck_assert_int_eq(test_convert(reds__conv_channel_counts, R("[\"news\" :2 \"none\" :0]"), &l),
                     REDS_OK);
    ck_assert_uint_eq(l->count, 2);
    ASSERT_STR(&l->items[0].channel, "news");
    ck_assert_int_eq(l->items[0].count, 2);
    ASSERT_STR(&l->items[1].channel, "none");
    ck_assert_int_eq(l->items[1].count, 0);
    reds_free(l);
    ASSERT_REFUSED(reds__conv_channel_counts, R("[\"news\" :2 \"none\"]"));
    ASSERT_REFUSED(reds__conv_channel_counts, R("[\"news\" \"2\"]"));
}
END_TEST

/* ------------------------------------------------------------------- server */

START_TEST(info_text)
{
    reds_info_reply *info = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_info,
                     R("\"# Server\\r\\nredis_version:7.0.15\\r\\nredis_mode:standalone\\r\\n\\r\\n"
                       "# Keyspace\\r\\ndb0:keys=1,expires=0,avg_ttl=0\\r\\nweird::x:\\r\\n\""),
                     &info),
        REDS_OK);
    ck_assert_uint_eq(info->count, 2);
    ASSERT_STR(&info->sections[0].name, "Server");
    ck_assert_uint_eq(info->sections[0].fields.count, 2);
    ASSERT_STR(&info->sections[0].fields.items[0].key, "redis_version");
    ASSERT_STR(&info->sections[0].fields.items[0].value, "7.0.15");
    ASSERT_STR(&info->sections[0].fields.items[1].value, "standalone");
    ASSERT_STR(&info->sections[1].name, "Keyspace");
    ASSERT_STR(reds_map_get(&info->sections[1].fields, REDS_STR("db0")),
               "keys=1,expires=0,avg_ttl=0");
    /* Only the first colon separates: values may hold more. */
    ASSERT_STR(reds_info_get(info, REDS_STR("weird")), ":x:");
    ASSERT_STR(reds_info_get(info, REDS_STR("redis_mode")), "standalone");
    ck_assert_ptr_null(reds_info_get(info, REDS_STR("nosuch")));
    ck_assert_ptr_null(reds_info_get(NULL, REDS_STR("redis_mode")));
    reds_free(info);
    /* Lines before any header go to a section with an empty name; empty text is no section. */
    info = NULL;
    ck_assert_int_eq(test_convert(reds__conv_info, R("\"a:1\\nb:2\\n# Later\\nc:3\""), &info),
                     REDS_OK);
    ck_assert_uint_eq(info->count, 2);
    ASSERT_STR(&info->sections[0].name, "");
    ck_assert_uint_eq(info->sections[0].fields.count, 2);
    ASSERT_STR(&info->sections[1].name, "Later");
    ASSERT_STR(&info->sections[1].fields.items[0].value, "3");
    reds_free(info);
    info = NULL;
    ck_assert_int_eq(test_convert(reds__conv_info, R("\"\""), &info), REDS_OK);
    ck_assert_uint_eq(info->count, 0);
    reds_free(info);
    ASSERT_REFUSED(reds__conv_info, R("\"# Server\\r\\nno colon here\\r\\n\""));
    ASSERT_REFUSED(reds__conv_info, R("[\"a:1\"]"));
}
END_TEST

START_TEST(role_forms)
{
    reds_role_reply *role = NULL;
    ck_assert_int_eq(test_convert(reds__conv_role,
                                  R("[\"master\" :3129659 [[\"127.0.0.1\" \"9001\" \"3129242\"] "
                                    "[\"127.0.0.1\" \"9002\" \"3129543\"]]]"),
                                  &role),
                     REDS_OK);
    ck_assert_int_eq(role->type, REDS_ROLE_MASTER);
    ASSERT_STR(&role->name, "master");
    ck_assert_int_eq(role->master.offset, 3129659);
    ck_assert_uint_eq(role->master.nreplicas, 2);
    ASSERT_STR(&role->master.replicas[0].ip, "127.0.0.1");
    ck_assert_int_eq(role->master.replicas[0].port, 9001);
    ck_assert_int_eq(role->master.replicas[1].offset, 3129543);
    ck_assert_ptr_null(role->replica.master_host.ptr);
    reds_free(role);

    role = NULL;
    ck_assert_int_eq(test_convert(reds__conv_role,
                                  R("[\"slave\" \"127.0.0.1\" :9000 \"connected\" :3167038]"),
                                  &role),
                     REDS_OK);
    ck_assert_int_eq(role->type, REDS_ROLE_REPLICA);
    ASSERT_STR(&role->name, "slave");
    ASSERT_STR(&role->replica.master_host, "127.0.0.1");
    ck_assert_int_eq(role->replica.master_port, 9000);
    ASSERT_STR(&role->replica.state, "connected");
    ck_assert_int_eq(role->replica.offset, 3167038);
    ck_assert_uint_eq(role->master.nreplicas, 0);
    reds_free(role);

    role = NULL;
    ck_assert_int_eq(test_convert(reds__conv_role,
                                  R("[\"sentinel\" [\"resque-master\" \"html-fragments\"]]"),
                                  &role),
                     REDS_OK);
    ck_assert_int_eq(role->type, REDS_ROLE_SENTINEL);
    ck_assert_uint_eq(role->sentinel.masters.count, 2);
    ASSERT_STR(&role->sentinel.masters.items[1], "html-fragments");
    reds_free(role);

    ASSERT_REFUSED(reds__conv_role, R("[\"leader\" :1]"));
    ASSERT_REFUSED(reds__conv_role, R("[\"master\" :1]"));
    ASSERT_REFUSED(reds__conv_role, R("[\"master\" :1 [[\"127.0.0.1\" \"x\" \"1\"]]]"));
    ASSERT_REFUSED(reds__conv_role, R("[\"master\" :1 [\"127.0.0.1\"]]"));
    ASSERT_REFUSED(reds__conv_role, R("[\"slave\" \"127.0.0.1\" :9000 \"connected\"]"));
    ASSERT_REFUSED(reds__conv_role, R("[\"slave\" \"127.0.0.1\" \"9000\" \"connected\" :1]"));
    ASSERT_REFUSED(reds__conv_role, R("[\"sentinel\"]"));
    ASSERT_REFUSED(reds__conv_role, R("[:1]"));
}
END_TEST

START_TEST(server_small_records)
{
    reds_server_time *t = NULL;
    ck_assert_int_eq(test_convert(reds__conv_server_time, R("[\"1714000000\" \"680261\"]"), &t),
                     REDS_OK);
    ck_assert_int_eq(t->seconds, 1714000000);
    ck_assert_int_eq(t->microseconds, 680261);
    reds_free(t);
    ASSERT_REFUSED(reds__conv_server_time, R("[\"1714000000\"]"));
    ASSERT_REFUSED(reds__conv_server_time, R("[\"17x\" \"1\"]"));

    reds_slowlog_entry_list *sl = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_slowlog,
                     R("[[:14 :1309448221 :15 [\"ping\"] \"127.0.0.1:58217\" \"worker-123\"] "
                       "[:13 :1309448128 :30 [\"slowlog\" \"get\" \"100\"]]]"),
                     &sl),
        REDS_OK);
    ck_assert_uint_eq(sl->count, 2);
    ck_assert_int_eq(sl->items[0].id, 14);
    ck_assert_int_eq(sl->items[0].timestamp, 1309448221);
    ck_assert_int_eq(sl->items[0].duration, 15);
    ASSERT_STR(&sl->items[0].args.items[0], "ping");
    ASSERT_STR(&sl->items[0].client_addr, "127.0.0.1:58217");
    ASSERT_STR(&sl->items[0].client_name, "worker-123");
    /* Before Redis 4.0 there is no client. */
    ck_assert_uint_eq(sl->items[1].args.count, 3);
    ck_assert_ptr_null(sl->items[1].client_addr.ptr);
    reds_free(sl);
    ASSERT_REFUSED(reds__conv_slowlog, R("[[:14 :1309448221 :15 \"ping\"]]"));

    reds_latency_event_list *ev = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_latency_latest, R("[[\"command\" :1795260945 :10 :12]]"), &ev),
        REDS_OK);
    ck_assert_uint_eq(ev->count, 1);
    ASSERT_STR(&ev->items[0].event, "command");
    ck_assert_int_eq(ev->items[0].timestamp, 1795260945);
    ck_assert_int_eq(ev->items[0].latest, 10);
    ck_assert_int_eq(ev->items[0].max, 12);
    reds_free(ev);
    ASSERT_REFUSED(reds__conv_latency_latest, R("[[\"command\" :1795260945 :10]]"));

    reds_latency_sample_list *hist = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_latency_history, R("[[:1795260945 :10] [:1795260946 :20]]"), &hist),
        REDS_OK);
    ck_assert_uint_eq(hist->count, 2);
    ck_assert_int_eq(hist->items[1].timestamp, 1795260946);
    ck_assert_int_eq(hist->items[1].latency, 20);
    reds_free(hist);
    ASSERT_REFUSED(reds__conv_latency_history, R("[[:1795260945]]"));

    reds_command_histogram_list *h = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_latency_histogram,
                     R("[\"set\" [\"calls\" :100 \"histogram_usec\" [:1 :99 :2 :99 :4 :100]] "
                       "\"ping\" [\"calls\" :1 \"histogram_usec\" [:8 :1]]]"),
                     &h),
        REDS_OK);
    ck_assert_uint_eq(h->count, 2);
    ASSERT_STR(&h->items[0].command, "set");
    ck_assert_int_eq(h->items[0].stats.calls, 100);
    ck_assert_uint_eq(h->items[0].stats.nbuckets, 3);
    ck_assert_int_eq(h->items[0].stats.buckets[2].usec, 4);
    ck_assert_int_eq(h->items[0].stats.buckets[2].count, 100);
    ASSERT_STR(&h->items[1].command, "ping");
    ck_assert_int_eq(h->items[1].stats.buckets[0].usec, 8);
    reds_free(h);
    ASSERT_REFUSED(reds__conv_latency_histogram,
                   R("[\"set\" [\"calls\" :100 \"histogram_usec\" [:1]]]"));
    ASSERT_REFUSED(reds__conv_latency_histogram, R("[\"set\"]"));

    reds_module_info_list *mods = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_module_list,
                     R("[[\"name\" \"search\" \"ver\" :20610 \"path\" \"/m/search.so\" \"args\" "
                       "[\"MAXDOCS\" \"10\"]]]"),
                     &mods),
        REDS_OK);
    ASSERT_STR(&mods->items[0].name, "search");
    ck_assert_int_eq(mods->items[0].ver, 20610);
    ASSERT_STR(&mods->items[0].path, "/m/search.so");
    ASSERT_STR(&mods->items[0].args.items[1], "10");
    reds_free(mods);
    ASSERT_REFUSED(reds__conv_module_list, R("[[\"ver\" \"20610\"]]"));
}
END_TEST

START_TEST(memory_stats_with_databases)
{
    reds_memory_stats_reply *m = NULL;
    ck_assert_int_eq(
        test_convert(
            reds__conv_memory_stats,
            R("[\"peak.allocated\" :1487336 \"total.allocated\" :1466744 \"startup.allocated\" "
              ":876112 "
              "\"replication.backlog\" :0 \"clients.slaves\" :0 \"clients.normal\" :1 "
              "\"cluster.links\" :0 \"aof.buffer\" :0 \"lua.caches\" :0 \"functions.caches\" :200 "
              "\"db.0\" [\"overhead.hashtable.main\" :72 \"overhead.hashtable.expires\" :0 "
              "\"overhead.hashtable.slot-to-keys\" :0] "
              "\"db.9\" [\"overhead.hashtable.main\" :144 \"overhead.hashtable.expires\" :32] "
              "\"overhead.total\" :876384 \"keys.count\" :1 \"keys.bytes-per-key\" :590632 "
              "\"dataset.bytes\" :590360 \"dataset.percentage\" \"99.953948974609375\" "
              "\"peak.percentage\" \"98.615509033203125\" \"allocator.allocated\" :1935952 "
              "\"allocator.active\" :2224128 \"allocator.resident\" :5025792 "
              "\"allocator-fragmentation.ratio\" \"1.1488549709320068\" "
              "\"allocator-fragmentation.bytes\" :288176 \"allocator-rss.ratio\" \"2.25\" "
              "\"allocator-rss.bytes\" :2801664 \"rss-overhead.ratio\" \"1.5\" "
              "\"rss-overhead.bytes\" :1949696 \"fragmentation\" \"5.3521571159362793\" "
              "\"fragmentation.bytes\" :5672184 \"future.field\" :1]"),
            &m),
        REDS_OK);
    ck_assert_int_eq(m->peak_allocated, 1487336);
    ck_assert_int_eq(m->total_allocated, 1466744);
    ck_assert_int_eq(m->startup_allocated, 876112);
    ck_assert_int_eq(m->clients_normal, 1);
    ck_assert_int_eq(m->functions_caches, 200);
    ck_assert_int_eq(m->overhead_total, 876384);
    ck_assert_int_eq(m->keys_count, 1);
    ck_assert_int_eq(m->keys_bytes_per_key, 590632);
    ck_assert_int_eq(m->dataset_bytes, 590360);
    ck_assert(m->dataset_percentage == 99.953948974609375);
    ck_assert(m->peak_percentage == 98.615509033203125);
    ck_assert(m->allocator_fragmentation_ratio == 1.1488549709320068);
    ck_assert_int_eq(m->allocator_rss_bytes, 2801664);
    ck_assert(m->allocator_rss_ratio == 2.25);
    ck_assert(m->rss_overhead_ratio == 1.5);
    ck_assert(m->fragmentation == 5.3521571159362793);
    ck_assert_int_eq(m->fragmentation_bytes, 5672184);
    ck_assert_uint_eq(m->ndbs, 2);
    ck_assert_int_eq(m->dbs[0].db, 0);
    ck_assert_int_eq(m->dbs[0].overhead.hashtable_main, 72);
    ck_assert_int_eq(m->dbs[0].overhead.hashtable_expires, 0);
    ck_assert_int_eq(m->dbs[1].db, 9);
    ck_assert_int_eq(m->dbs[1].overhead.hashtable_main, 144);
    ck_assert_int_eq(m->dbs[1].overhead.hashtable_expires, 32);
    reds_free(m);
    /* No database holds keys. */
    m = NULL;
    ck_assert_int_eq(test_convert(reds__conv_memory_stats, R("[\"keys.count\" :0]"), &m), REDS_OK);
    ck_assert_uint_eq(m->ndbs, 0);
    ck_assert_ptr_null(m->dbs);
    reds_free(m);
    /* Valkey's scalar db.dict.rehashing.count is not a database. */
    m = NULL;
    ck_assert_int_eq(test_convert(reds__conv_memory_stats,
                                  R("[\"db.dict.rehashing.count\" :0 \"db.3\" "
                                    "[\"overhead.hashtable.main\" :72]]"),
                                  &m),
                     REDS_OK);
    ck_assert_uint_eq(m->ndbs, 1);
    ck_assert_int_eq(m->dbs[0].db, 3);
    ck_assert_int_eq(m->dbs[0].overhead.hashtable_main, 72);
    reds_free(m);
    ASSERT_REFUSED(reds__conv_memory_stats, R("[\"db.x\" [\"overhead.hashtable.main\" :1]]"));
    ASSERT_REFUSED(reds__conv_memory_stats, R("[\"db.0\" :1]"));
    ASSERT_REFUSED(reds__conv_memory_stats, R("[\"dataset.percentage\" \"lots\"]"));
}
END_TEST

#define GET_INFO                                                                                   \
    "[\"get\" :2 [+readonly +fast] :1 :1 :1 [+@read +@string +@fast] [] "                          \
    "[[\"flags\" [+RO +access] \"begin_search\" [\"type\" \"index\" \"spec\" [\"index\" :1]] "     \
    "\"find_keys\" [\"type\" \"range\" \"spec\" [\"lastkey\" :0 \"keystep\" :1 \"limit\" :0]]]] "  \
    "[]]"

START_TEST(command_info_and_docs)
{
    reds_command_info_entry_list *ci = NULL;
    ck_assert_int_eq(test_convert(reds__conv_command_info, R("[" GET_INFO " nil]"), &ci), REDS_OK);
    ck_assert_uint_eq(ci->count, 2);
    const reds_command_info_entry *get = &ci->items[0];
    ASSERT_STR(&get->name, "get");
    ck_assert_int_eq(get->arity, 2);
    ck_assert_uint_eq(get->flags.count, 2);
    ASSERT_STR(&get->flags.items[1], "fast");
    ck_assert_int_eq(get->first_key, 1);
    ck_assert_int_eq(get->last_key, 1);
    ck_assert_int_eq(get->step, 1);
    ck_assert_uint_eq(get->acl_categories.count, 3);
    ASSERT_STR(&get->acl_categories.items[0], "@read");
    ck_assert_uint_eq(get->tips.count, 0);
    ck_assert_uint_eq(get->nkey_specs, 1);
    ASSERT_STR(&get->key_specs[0].flags.items[0], "RO");
    ASSERT_STR(&get->key_specs[0].begin_search.type, "index");
    ck_assert_int_eq(get->key_specs[0].begin_search.spec.index, 1);
    ASSERT_STR(&get->key_specs[0].find_keys.type, "range");
    ck_assert_int_eq(get->key_specs[0].find_keys.spec.keystep, 1);
    ck_assert_uint_eq(get->nsubcommands, 0);
    /* An unknown command: a zeroed item. */
    ck_assert_ptr_null(ci->items[1].name.ptr);
    reds_free(ci);
    /* Subcommands are command records too; Redis 2.8 stops after step. */
    ci = NULL;
    ck_assert_int_eq(test_convert(reds__conv_command_info,
                                  R("[[\"config\" :-2 [] :0 :0 :0 [+@slow] [] [] "
                                    "[[\"config|get\" :-3 [+admin] :0 :0 :0 [] [] [] []]]] "
                                    "[\"ping\" :-1 [+fast] :0 :0 :0]]"),
                                  &ci),
                     REDS_OK);
    ck_assert_uint_eq(ci->items[0].nsubcommands, 1);
    ASSERT_STR(&ci->items[0].subcommands[0].name, "config|get");
    ck_assert_int_eq(ci->items[0].subcommands[0].arity, -3);
    ASSERT_STR(&ci->items[1].name, "ping");
    ck_assert_uint_eq(ci->items[1].acl_categories.count, 0);
    reds_free(ci);
    ASSERT_REFUSED(reds__conv_command_info, R("[[\"get\" \"2\" [] :1 :1 :1]]"));
    ASSERT_REFUSED(reds__conv_command_info, R("[[\"get\" :2 [] :1 :1]]"));

    reds_command_doc_list *docs = NULL;
    ck_assert_int_eq(
        test_convert(
            reds__conv_command_docs,
            R("[\"get\" [\"summary\" \"Get the value of a key\" \"since\" \"1.0.0\" \"group\" "
              "\"string\" "
              "\"complexity\" \"O(1)\" \"arguments\" [[\"name\" \"key\" \"type\" \"key\" "
              "\"key_spec_index\" :0]]] "
              "\"set\" [\"summary\" \"Set\" \"since\" \"1.0.0\" \"group\" \"string\" \"history\" "
              "[[\"2.6.12\" \"Added the `EX`, `PX`, `NX` and `XX` options.\"]] \"doc_flags\" "
              "[+syscmd] "
              "\"arguments\" [[\"name\" \"condition\" \"type\" \"oneof\" \"since\" \"2.6.12\" "
              "\"flags\" "
              "[+optional] \"arguments\" [[\"name\" \"nx\" \"type\" \"pure-token\" \"token\" "
              "\"NX\"]]]]] "
              "\"x\" [\"subcommands\" [\"x|y\" [\"summary\" \"sub\"]]]]"),
            &docs),
        REDS_OK);
    ck_assert_uint_eq(docs->count, 3);
    const reds_command_doc *d = &docs->items[0];
    ASSERT_STR(&d->name, "get");
    ASSERT_STR(&d->doc.summary, "Get the value of a key");
    ASSERT_STR(&d->doc.since, "1.0.0");
    ASSERT_STR(&d->doc.group, "string");
    ASSERT_STR(&d->doc.complexity, "O(1)");
    ck_assert_ptr_null(d->doc.deprecated_since.ptr);
    ck_assert_uint_eq(d->doc.narguments, 1);
    ASSERT_STR(&d->doc.arguments[0].name, "key");
    ASSERT_STR(&d->doc.arguments[0].type, "key");
    ck_assert(d->doc.arguments[0].key_spec_index.set &&
              d->doc.arguments[0].key_spec_index.value == 0);
    d = &docs->items[1];
    ck_assert_uint_eq(d->doc.nhistory, 1);
    ASSERT_STR(&d->doc.history[0].version, "2.6.12");
    ASSERT_STR(&d->doc.doc_flags.items[0], "syscmd");
    const reds_command_arg *cond = &d->doc.arguments[0];
    ASSERT_STR(&cond->type, "oneof");
    ck_assert(!cond->key_spec_index.set);
    ASSERT_STR(&cond->flags.items[0], "optional");
    ck_assert_uint_eq(cond->narguments, 1);
    ASSERT_STR(&cond->arguments[0].token, "NX");
    ck_assert_uint_eq(docs->items[2].doc.nsubcommands, 1);
    ASSERT_STR(&docs->items[2].doc.subcommands[0].name, "x|y");
    ASSERT_STR(&docs->items[2].doc.subcommands[0].doc.summary, "sub");
    reds_free(docs);
    ASSERT_REFUSED(reds__conv_command_docs, R("[\"get\" [\"summary\" \"x\"] \"set\"]"));
    ASSERT_REFUSED(reds__conv_command_docs,
                   R("[\"get\" [\"arguments\" [[\"flags\" \"optional\"]]]]"));

    reds_command_key_flags_list *kf = NULL;
    ck_assert_int_eq(test_convert(reds__conv_command_key_flags,
                                  R("[[\"a\" [+OW +update]] [\"b\" [+RO +access]]]"), &kf),
                     REDS_OK);
    ck_assert_uint_eq(kf->count, 2);
    ASSERT_STR(&kf->items[0].key, "a");
    ASSERT_STR(&kf->items[0].flags.items[0], "OW");
    ASSERT_STR(&kf->items[1].flags.items[1], "access");
    reds_free(kf);
    ASSERT_REFUSED(reds__conv_command_key_flags, R("[[\"a\"]]"));
}
END_TEST

START_TEST(acl_records)
{
    reds_acl_user *u = NULL;
    ck_assert_int_eq(
        test_convert(
            reds__conv_acl_user,
            R("[\"flags\" [\"on\"] \"passwords\" "
              "[\"30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4\"] "
              "\"commands\" \"-@all +get\" \"keys\" \"~k* %R~r*\" \"channels\" \"&ch*\" "
              "\"selectors\" [[\"commands\" \"-@all +set\" \"keys\" \"~x*\" \"channels\" \"\"]]]"),
            &u),
        REDS_OK);
    ck_assert_uint_eq(u->flags.count, 1);
    ASSERT_STR(&u->flags.items[0], "on");
    ASSERT_STR(&u->passwords.items[0],
               "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4");
    ASSERT_STR(&u->commands, "-@all +get");
    ASSERT_STR(&u->keys, "~k* %R~r*");
    ASSERT_STR(&u->channels, "&ch*");
    ck_assert_uint_eq(u->nselectors, 1);
    ASSERT_STR(&u->selectors[0].commands, "-@all +set");
    ASSERT_STR(&u->selectors[0].keys, "~x*");
    ASSERT_STR(&u->selectors[0].channels, "");
    reds_free(u);
    u = (void *)1;
    ck_assert_int_eq(test_convert(reds__conv_acl_user, R("nil"), &u), REDS_OK); /* no such user */
    ck_assert_ptr_null(u);
    ASSERT_REFUSED(reds__conv_acl_user, R("[\"flags\" \"on\"]"));
    ASSERT_REFUSED(reds__conv_acl_user, R("[\"selectors\" [\"commands\"]]"));

    reds_acl_log_entry_list *log = NULL;
    ck_assert_int_eq(
        test_convert(
            reds__conv_acl_log,
            R("[[\"count\" :1 \"reason\" \"auth\" \"context\" \"toplevel\" \"object\" \"auth\" "
              "\"username\" \"bob\" \"age-seconds\" \"0.0070000000000000001\" \"client-info\" "
              "\"id=30 addr=127.0.0.1:57706 cmd=auth user=default\" \"entry-id\" :0 "
              "\"timestamp-created\" :1700000000000 \"timestamp-last-updated\" :1700000000001]]"),
            &log),
        REDS_OK);
    ck_assert_uint_eq(log->count, 1);
    const reds_acl_log_entry *e = &log->items[0];
    ck_assert_int_eq(e->count, 1);
    ASSERT_STR(&e->reason, "auth");
    ASSERT_STR(&e->context, "toplevel");
    ASSERT_STR(&e->object, "auth");
    ASSERT_STR(&e->username, "bob");
    ck_assert(e->age_seconds == 0.0070000000000000001);
    ASSERT_STR(&e->client_info, "id=30 addr=127.0.0.1:57706 cmd=auth user=default");
    ck_assert(e->entry_id.set && e->entry_id.value == 0);
    ck_assert(e->timestamp_created.value == 1700000000000);
    ck_assert(e->timestamp_last_updated.value == 1700000000001);
    reds_free(log);
    ASSERT_REFUSED(reds__conv_acl_log, R("[[\"age-seconds\" \"recent\"]]"));
}
END_TEST

/* ------------------------------------------------------------------ cluster */

#define NODE_A "c4ef9c76d30d6e5684820585d57be3baf0d5bc2c"
#define NODE_B "9038375db95131b3d2cf01f76f55bd370442212f"

START_TEST(cluster_info_lines)
{
    reds_cluster_info_reply *ci = NULL;
    ck_assert_int_eq(
        test_convert(
            reds__conv_cluster_info,
            R("\"cluster_state:ok\\r\\ncluster_slots_assigned:16384\\r\\n"
              "cluster_slots_ok:16384\\r\\ncluster_slots_pfail:0\\r\\ncluster_slots_fail:0\\r\\n"
              "cluster_known_nodes:2\\r\\ncluster_size:1\\r\\ncluster_current_epoch:1\\r\\n"
              "cluster_my_epoch:0\\r\\ncluster_stats_messages_ping_sent:3\\r\\n"
              "cluster_stats_messages_sent:8\\r\\ncluster_stats_messages_received:8\\r\\n"
              "total_cluster_links_buffer_limit_exceeded:0\\r\\n\""),
            &ci),
        REDS_OK);
    ASSERT_STR(&ci->cluster_state, "ok");
    ck_assert_int_eq(ci->cluster_slots_assigned, 16384);
    ck_assert_int_eq(ci->cluster_slots_ok, 16384);
    ck_assert_int_eq(ci->cluster_known_nodes, 2);
    ck_assert_int_eq(ci->cluster_size, 1);
    ck_assert_int_eq(ci->cluster_current_epoch, 1);
    ck_assert_int_eq(ci->cluster_my_epoch, 0);
    ck_assert_int_eq(ci->cluster_stats_messages_sent, 8);
    ck_assert_int_eq(ci->total_cluster_links_buffer_limit_exceeded, 0);
    reds_free(ci);
    ASSERT_REFUSED(reds__conv_cluster_info, R("\"cluster_state:ok\\r\\ncluster_size:one\\r\\n\""));
    ASSERT_REFUSED(reds__conv_cluster_info, R("[\"cluster_state:ok\"]"));
}
END_TEST

START_TEST(cluster_nodes_words)
{
    reds_cluster_node_list *l = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_cluster_nodes,
                     R("\"" NODE_B " 127.0.0.1:7402@17402 slave " NODE_A
                       " 0 1795260952368 0 connected\\n" NODE_A
                       " 127.0.0.1:7401@17401,host-a myself,master - 0 0 1 connected 0-5460 5462 "
                       "[5461->-" NODE_B "]\\n\""),
                     &l),
        REDS_OK);
    ck_assert_uint_eq(l->count, 2);
    const reds_cluster_node *b = &l->items[0], *a = &l->items[1];
    ASSERT_STR(&b->id, NODE_B);
    ASSERT_STR(&b->addr, "127.0.0.1:7402@17402");
    ASSERT_STR(&b->flags, "slave");
    ASSERT_STR(&b->master, NODE_A);
    ck_assert_int_eq(b->ping_sent, 0);
    ck_assert_int_eq(b->pong_recv, 1795260952368);
    ck_assert_int_eq(b->config_epoch, 0);
    ASSERT_STR(&b->link_state, "connected");
    ck_assert_uint_eq(b->slots.count, 0);
    ASSERT_STR(&a->addr, "127.0.0.1:7401@17401,host-a");
    ASSERT_STR(&a->flags, "myself,master");
    ASSERT_STR(&a->master, "-");
    ck_assert_int_eq(a->config_epoch, 1);
    ck_assert_uint_eq(a->slots.count, 3);
    ASSERT_STR(&a->slots.items[0], "0-5460");
    ASSERT_STR(&a->slots.items[1], "5462");
    ASSERT_STR(&a->slots.items[2], "[5461->-" NODE_B "]");
    ck_assert_ptr_nonnull(strstr(a->line.ptr, "myself,master"));
    reds_free(l);

    /* CLUSTER REPLICAS: an array of such lines. */
    l = NULL;
    ck_assert_int_eq(test_convert(reds__conv_cluster_nodes,
                                  R("[\"" NODE_B " 127.0.0.1:7402@17402 slave " NODE_A
                                    " 0 1795260952368 0 connected\"]"),
                                  &l),
                     REDS_OK);
    ck_assert_uint_eq(l->count, 1);
    ASSERT_STR(&l->items[0].master, NODE_A);
    reds_free(l);
    l = NULL;
    ck_assert_int_eq(test_convert(reds__conv_cluster_nodes, R("\"\""), &l), REDS_OK);
    ck_assert_uint_eq(l->count, 0);
    reds_free(l);
    ASSERT_REFUSED(reds__conv_cluster_nodes,
                   R("\"" NODE_A " 127.0.0.1:7401@17401 master - 0 0 1\""));
    ASSERT_REFUSED(reds__conv_cluster_nodes,
                   R("\"" NODE_A " 127.0.0.1:7401@17401 master - zero 0 1 connected\""));
    ASSERT_REFUSED(reds__conv_cluster_nodes, R("[:1]"));
}
END_TEST

START_TEST(cluster_shards_slots_links)
{
    reds_cluster_shard_list *sh = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_cluster_shards,
                     R("[[\"slots\" [:0 :5460 :5462 :16383] \"nodes\" [[\"id\" \"" NODE_A
                       "\" \"port\" :7401 "
                       "\"ip\" \"127.0.0.1\" \"endpoint\" \"127.0.0.1\" \"role\" \"master\" "
                       "\"replication-offset\" :98 \"health\" \"online\"] [\"id\" \"" NODE_B
                       "\" \"port\" :7402 "
                       "\"tls-port\" :7502 \"ip\" \"127.0.0.1\" \"endpoint\" \"127.0.0.1\" "
                       "\"hostname\" \"b\" "
                       "\"role\" \"replica\" \"replication-offset\" :0 \"health\" \"loading\"]]]]"),
                     &sh),
        REDS_OK);
    ck_assert_uint_eq(sh->count, 1);
    ck_assert_uint_eq(sh->items[0].slots.count, 4);
    ck_assert_int_eq(sh->items[0].slots.items[1], 5460);
    ck_assert_int_eq(sh->items[0].slots.items[3], 16383);
    ck_assert_uint_eq(sh->items[0].nnodes, 2);
    const reds_cluster_shard_node *n0 = &sh->items[0].nodes[0], *n1 = &sh->items[0].nodes[1];
    ASSERT_STR(&n0->id, NODE_A);
    ck_assert_int_eq(n0->port, 7401);
    ck_assert_int_eq(n0->tls_port, 0);
    ASSERT_STR(&n0->ip, "127.0.0.1");
    ASSERT_STR(&n0->endpoint, "127.0.0.1");
    ck_assert_ptr_null(n0->hostname.ptr);
    ASSERT_STR(&n0->role, "master");
    ck_assert_int_eq(n0->replication_offset, 98);
    ASSERT_STR(&n0->health, "online");
    ck_assert_int_eq(n1->tls_port, 7502);
    ASSERT_STR(&n1->hostname, "b");
    ASSERT_STR(&n1->role, "replica");
    ASSERT_STR(&n1->health, "loading");
    reds_free(sh);
    ASSERT_REFUSED(reds__conv_cluster_shards, R("[[\"slots\" [\"0\" \"16383\"]]]"));

    reds_cluster_slot_range_list *sl = NULL;
    ck_assert_int_eq(
        test_convert(reds__conv_cluster_slots,
                     R("[[:0 :5460 [\"127.0.0.1\" :7401 \"" NODE_A
                       "\" []] [\"127.0.0.1\" :7402 \"" NODE_B
                       "\" [\"hostname\" \"b\"]]] [:5461 :16383 [\"127.0.0.1\" :7403]]]"),
                     &sl),
        REDS_OK);
    ck_assert_uint_eq(sl->count, 2);
    const reds_cluster_slot_range *r0 = &sl->items[0];
    ck_assert_int_eq(r0->start, 0);
    ck_assert_int_eq(r0->end, 5460);
    ASSERT_STR(&r0->master.ip, "127.0.0.1");
    ck_assert_int_eq(r0->master.port, 7401);
    ASSERT_STR(&r0->master.id, NODE_A);
    ck_assert_uint_eq(r0->master.metadata.count, 0);
    ck_assert_uint_eq(r0->nreplicas, 1);
    ck_assert_int_eq(r0->replicas[0].port, 7402);
    ASSERT_STR(reds_map_get(&r0->replicas[0].metadata, REDS_STR("hostname")), "b");
    /* Redis 3.0 sends no ID; a range without replicas has none. */
    ck_assert_ptr_null(sl->items[1].master.id.ptr);
    ck_assert_uint_eq(sl->items[1].nreplicas, 0);
    ck_assert_ptr_null(sl->items[1].replicas);
    reds_free(sl);
    ASSERT_REFUSED(reds__conv_cluster_slots, R("[[:0 :5460]]"));
    ASSERT_REFUSED(reds__conv_cluster_slots,
                   R("[[:0 :5460 [\"127.0.0.1\" :7401] [\"127.0.0.1\"]]]"));
    ASSERT_REFUSED(reds__conv_cluster_slots, R("[[:0 :5460 [\"127.0.0.1\" \"7401\"]]]"));

    reds_cluster_link_list *links = NULL;
    ck_assert_int_eq(
        test_convert(
            reds__conv_cluster_links,
            R("[[\"direction\" \"to\" \"node\" \"" NODE_B "\" \"create-time\" :1795260950057 "
              "\"events\" \"r\" \"send-buffer-allocated\" :0 \"send-buffer-used\" :0] "
              "[\"direction\" \"from\" \"node\" \"" NODE_B "\" \"create-time\" :1795260950067 "
              "\"events\" \"rw\" \"send-buffer-allocated\" :1024 \"send-buffer-used\" :12]]"),
            &links),
        REDS_OK);
    ck_assert_uint_eq(links->count, 2);
    ASSERT_STR(&links->items[0].direction, "to");
    ASSERT_STR(&links->items[0].node, NODE_B);
    ck_assert_int_eq(links->items[0].create_time, 1795260950057);
    ASSERT_STR(&links->items[1].events, "rw");
    ck_assert_int_eq(links->items[1].send_buffer_allocated, 1024);
    ck_assert_int_eq(links->items[1].send_buffer_used, 12);
    reds_free(links);
    ASSERT_REFUSED(reds__conv_cluster_links, R("[[\"create-time\" \"soon\"]]"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("replies_server");
    TCase *tc = tcase_create("shapes");
    tcase_add_checked_fixture(tc, NULL, test_arena_clear);
    tcase_add_test(tc, every_converter_against_every_shape);
    suite_add_tcase(s, tc);
    tc = tcase_create("streams");
    tcase_add_checked_fixture(tc, NULL, test_arena_clear);
    tcase_add_test(tc, stream_entries_and_reads);
    tcase_add_test(tc, stream_claims_and_pending);
    tcase_add_test(tc, xinfo_replies);
    suite_add_tcase(s, tc);
    tc = tcase_create("scripting_pubsub");
    tcase_add_checked_fixture(tc, NULL, test_arena_clear);
    tcase_add_test(tc, scripting_replies);
    tcase_add_test(tc, pubsub_replies);
    suite_add_tcase(s, tc);
    tc = tcase_create("server");
    tcase_add_checked_fixture(tc, NULL, test_arena_clear);
    tcase_add_test(tc, info_text);
    tcase_add_test(tc, role_forms);
    tcase_add_test(tc, server_small_records);
    tcase_add_test(tc, memory_stats_with_databases);
    tcase_add_test(tc, command_info_and_docs);
    tcase_add_test(tc, acl_records);
    suite_add_tcase(s, tc);
    tc = tcase_create("cluster");
    tcase_add_checked_fixture(tc, NULL, test_arena_clear);
    tcase_add_test(tc, cluster_info_lines);
    tcase_add_test(tc, cluster_nodes_words);
    tcase_add_test(tc, cluster_shards_slots_links);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), false);
}
