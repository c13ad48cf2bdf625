/* Extensions: the add-on examples/extension/spec generates (generate.py
 * --addon --prefix myapp), built on the public extension API only. Its
 * packing byte for byte (dotted module names sent as written; Redis 7.4's
 * HEXPIRE family with FIELDS numfields, which no server here has), its
 * command table as the routers read it, its real commands live against a
 * Valkey server (WAITAOF needs 7.2; Redis here is 7.0), and the generator's
 * add-on mode (REDS_PYTHON runs it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#include "cluster_impl.h"
#include "internal.h"
#include "testpack.h"
#include "myapp_commands.h"

#define ASSERT_MSG(expect)                                                                         \
    ck_assert_msg(strcmp(reds_errmsg(), expect) == 0, "message \"%s\"", reds_errmsg())

/* ------------------------------------------------------------- packing */

START_TEST(module_commands_dotted)
{
    test_cap_reset();
    ASSERT_OK(myapp_json_set(test_cap, S("doc"), S("$"), S("{\"a\":1}"), NULL, NULL));
    ASSERT_SENT("*4\r\n$8\r\nJSON.SET\r\n$3\r\ndoc\r\n$1\r\n$\r\n$7\r\n{\"a\":1}\r\n");
    myapp_json_set_opts xx = {.condition = MYAPP_JSON_SET_CONDITION_XX};
    ASSERT_OK(myapp_json_set(test_cap, S("doc"), S("$.a"), S("2"), &xx, NULL));
    ASSERT_SENT("*5\r\n$8\r\nJSON.SET\r\n$3\r\ndoc\r\n$3\r\n$.a\r\n$1\r\n2\r\n$2\r\nXX\r\n");

    ASSERT_OK(myapp_json_get(test_cap, S("doc"), NULL, NULL));
    ASSERT_SENT("*2\r\n$8\r\nJSON.GET\r\n$3\r\ndoc\r\n");
    myapp_json_get_opts g = {
        .indent = S("  "), .space = S(" "), .paths = STRS(S("$.a"), S("$.b")), .npaths = 2};
    ASSERT_OK(myapp_json_get(test_cap, S("doc"), &g, NULL));
    ASSERT_SENT("*8\r\n$8\r\nJSON.GET\r\n$3\r\ndoc\r\n$6\r\nINDENT\r\n$2\r\n  \r\n$5\r\nSPACE\r\n"
                "$1\r\n \r\n$3\r\n$.a\r\n$3\r\n$.b\r\n");

    ASSERT_OK(myapp_json_mget(test_cap, STRS(S("a"), S("b")), 2, S("$"), NULL));
    ASSERT_SENT("*4\r\n$9\r\nJSON.MGET\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\n$\r\n");
    ASSERT_OK(myapp_json_del(test_cap, S("doc"), NULL, NULL));
    ASSERT_SENT("*2\r\n$8\r\nJSON.DEL\r\n$3\r\ndoc\r\n");
    /* A dotted container with a subcommand: two words on the wire. */
    ASSERT_OK(myapp_json_debug_memory(test_cap, S("doc"),
                                      &(myapp_json_debug_memory_opts){.path = S("$")}, NULL));
    ASSERT_SENT("*4\r\n$10\r\nJSON.DEBUG\r\n$6\r\nMEMORY\r\n$3\r\ndoc\r\n$1\r\n$\r\n");
}
END_TEST

START_TEST(hash_field_expiry)
{
    test_cap_reset();
    const reds_str f2[] = {S("a"), S("bc")};
    ASSERT_OK(myapp_hexpire(test_cap, S("h"), 60, f2, 2, NULL, NULL));
    ASSERT_SENT("*7\r\n$7\r\nHEXPIRE\r\n$1\r\nh\r\n$2\r\n60\r\n$6\r\nFIELDS\r\n$1\r\n2\r\n"
                "$1\r\na\r\n$2\r\nbc\r\n");
    myapp_hexpire_opts gt = {.condition = MYAPP_HEXPIRE_CONDITION_GT};
    ASSERT_OK(myapp_hexpire(test_cap, S("h"), 0, f2, 1, &gt, NULL));
    ASSERT_SENT("*7\r\n$7\r\nHEXPIRE\r\n$1\r\nh\r\n$1\r\n0\r\n$2\r\nGT\r\n$6\r\nFIELDS\r\n"
                "$1\r\n1\r\n$1\r\na\r\n");
    /* The four setters share one condition type. */
    myapp_hpexpire_opts nx = {.condition = MYAPP_HEXPIRE_CONDITION_NX};
    ASSERT_OK(myapp_hpexpire(test_cap, S("h"), 1500, f2, 2, &nx, NULL));
    ASSERT_SENT("*8\r\n$8\r\nHPEXPIRE\r\n$1\r\nh\r\n$4\r\n1500\r\n$2\r\nNX\r\n$6\r\nFIELDS\r\n"
                "$1\r\n2\r\n$1\r\na\r\n$2\r\nbc\r\n");
    myapp_hexpireat_opts lt = {.condition = MYAPP_HEXPIRE_CONDITION_LT};
    ASSERT_OK(myapp_hexpireat(test_cap, S("h"), 1735689600, f2, 1, &lt, NULL));
    ASSERT_SENT("*7\r\n$9\r\nHEXPIREAT\r\n$1\r\nh\r\n$10\r\n1735689600\r\n$2\r\nLT\r\n"
                "$6\r\nFIELDS\r\n$1\r\n1\r\n$1\r\na\r\n");
    myapp_hpexpireat_opts xx = {.condition = MYAPP_HEXPIRE_CONDITION_XX};
    ASSERT_OK(myapp_hpexpireat(test_cap, S("h"), 1735689600123, f2, 1, &xx, NULL));
    ASSERT_SENT("*7\r\n$10\r\nHPEXPIREAT\r\n$1\r\nh\r\n$13\r\n1735689600123\r\n$2\r\nXX\r\n"
                "$6\r\nFIELDS\r\n$1\r\n1\r\n$1\r\na\r\n");

    ASSERT_OK(myapp_httl(test_cap, S("h"), f2, 1, NULL));
    ASSERT_SENT("*5\r\n$4\r\nHTTL\r\n$1\r\nh\r\n$6\r\nFIELDS\r\n$1\r\n1\r\n$1\r\na\r\n");
    ASSERT_OK(myapp_hpttl(test_cap, S("h"), f2, 2, NULL));
    ASSERT_SENT(
        "*6\r\n$5\r\nHPTTL\r\n$1\r\nh\r\n$6\r\nFIELDS\r\n$1\r\n2\r\n$1\r\na\r\n$2\r\nbc\r\n");
    ASSERT_OK(myapp_hexpiretime(test_cap, S("h"), f2, 1, NULL));
    ASSERT_SENT("*5\r\n$11\r\nHEXPIRETIME\r\n$1\r\nh\r\n$6\r\nFIELDS\r\n$1\r\n1\r\n$1\r\na\r\n");
    ASSERT_OK(myapp_hpexpiretime(test_cap, S("h"), f2, 1, NULL));
    ASSERT_SENT("*5\r\n$12\r\nHPEXPIRETIME\r\n$1\r\nh\r\n$6\r\nFIELDS\r\n$1\r\n1\r\n$1\r\na\r\n");
    ASSERT_OK(myapp_hpersist(test_cap, S("h"), f2, 2, NULL));
    ASSERT_SENT("*6\r\n$8\r\nHPERSIST\r\n$1\r\nh\r\n$6\r\nFIELDS\r\n$1\r\n2\r\n$1\r\na\r\n"
                "$2\r\nbc\r\n");
    /* Twelve fields: a two-digit count. */
    const reds_str f12[] = {S("0"), S("1"), S("2"), S("3"), S("4"), S("5"),
                            S("6"), S("7"), S("8"), S("9"), S("a"), S("b")};
    ASSERT_OK(myapp_hpersist(test_cap, S("h"), f12, 12, NULL));
    ASSERT_SENT("*16\r\n$8\r\nHPERSIST\r\n$1\r\nh\r\n$6\r\nFIELDS\r\n$2\r\n12\r\n"
                "$1\r\n0\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n"
                "$1\r\n6\r\n$1\r\n7\r\n$1\r\n8\r\n$1\r\n9\r\n$1\r\na\r\n$1\r\nb\r\n");
}
END_TEST

START_TEST(refused_before_sending)
{
    test_cap_reset();
    const reds_str f[] = {S("a")};
    ASSERT_NOTHING_SENT(myapp_httl(test_cap, S("h"), f, 0, NULL), REDS_ERR_DATA);
    ASSERT_MSG("HTTL: field needs at least one element");
    ASSERT_NOTHING_SENT(myapp_httl(test_cap, S("h"), NULL, 1, NULL), REDS_ERR_DATA);
    ASSERT_NOTHING_SENT(myapp_hpersist(test_cap, S("h"), STRS(reds_strn(NULL, 3)), 1, NULL),
                        REDS_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "HPERSIST: argument 'field' is invalid"));
    myapp_hexpire_opts bad = {.condition = (myapp_hexpire_condition)5};
    ASSERT_NOTHING_SENT(myapp_hexpire(test_cap, S("h"), 1, f, 1, &bad, NULL), REDS_ERR_DATA);
    ASSERT_MSG("HEXPIRE: condition is not a myapp_hexpire_condition value");
    /* The add-on's command name is in the messages of the runtime too. */
    ASSERT_ERR(myapp_json_get(NULL, S("doc"), NULL, NULL), REDS_ERR_DATA);
    ASSERT_MSG("JSON.GET: the client is NULL");
    /* Outputs are cleared first, as the library's own. */
    reds_str *json = (reds_str *)&bad;
    ASSERT_ERR(myapp_json_get(NULL, S("doc"), NULL, &json), REDS_ERR_DATA);
    ck_assert_ptr_null(json);
    /* reds_ext_begin() needs a table entry. */
    reds_ext_size sz = {1, 10, NULL};
    reds_ext_cmd cmd;
    ck_assert_ptr_null(reds_ext_begin(test_cap, &cmd, NULL, &sz));
    ck_assert_int_eq(reds_ext_last_error(), REDS_ERR_DATA);
}
END_TEST

/* The same packing as the library's: an add-on binding of a library
 * command sends exactly what the library's own function does. */
START_TEST(same_bytes_as_the_library)
{
    test_cap_reset();
    ASSERT_OK(reds_object_freq(test_cap, S("k"), NULL));
    char lib[64];
    size_t n = test_sent_len;
    memcpy(lib, test_sent, n);
    test_cap_reset();
    ASSERT_OK(myapp_object_freq(test_cap, S("k"), NULL));
    ck_assert_uint_eq(test_sent_len, n);
    ck_assert(memcmp(test_sent, lib, n) == 0);
    test_cap_reset();
    /* A hand-written wrapper on the extension API alone, with an entry of
     * the library's table: it is that command (id and all). */
    const reds_catalog_entry *get = reds_catalog_lookup("GET");
    reds_ext_size sz = {0, 0, NULL};
    reds_ext_cmd cmd;
    reds_ext_size_lit(&sz, 9);
    reds_ext_size_str(&sz, S("k"), "key");
    char *p = reds_ext_begin(test_cap, &cmd, get, &sz);
    ck_assert_ptr_nonnull(p);
    p = reds_ext_put_lit(p, "$3\r\nGET\r\n", 9);
    p = reds_ext_put_str(p, S("k"));
    ASSERT_OK(reds_ext_run(test_cap, &cmd, p, reds_kind_nullable_string, NULL));
    ck_assert_uint_lt(test_last.id, reds__ncommands);
    ck_assert_ptr_eq(reds__command_info(test_last.id), get);
    ASSERT_SENT("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    /* Doubles, integers and unsigned cursors pack as the library's. */
    char buf[128], *e = buf;
    e = reds_ext_put_f64(e, 0.1);
    e = reds_ext_put_f64(e, -INFINITY);
    e = reds_ext_put_i64(e, INT64_MIN);
    e = reds_ext_put_u64(e, UINT64_MAX);
    const char want[] = "$3\r\n0.1\r\n$4\r\n-inf\r\n$20\r\n-9223372036854775808\r\n"
                        "$20\r\n18446744073709551615\r\n";
    ck_assert_uint_eq((size_t)(e - buf), sizeof want - 1);
    ck_assert(memcmp(buf, want, sizeof want - 1) == 0);
}
END_TEST

/* ------------------------------------------------- the command table */

START_TEST(table_entries)
{
    const reds_catalog_entry *mget = &myapp_catalog[MYAPP_CMD_JSON_MGET];
    ck_assert_str_eq(mget->name, "JSON.MGET");
    ck_assert_str_eq(mget->group, "json");
    ck_assert_str_eq(mget->reply, "strlist");
    ck_assert_int_eq(mget->arity, -3);
    ck_assert_uint_eq(mget->flags, REDS_CMD_MODULE | REDS_CMD_READONLY);
    ck_assert_uint_eq(myapp_catalog[MYAPP_CMD_HEXPIRE].flags,
                      REDS_CMD_DENYOOM | REDS_CMD_FAST | REDS_CMD_WRITE);
    ck_assert_str_eq(myapp_catalog[MYAPP_CMD_HEXPIRE].since, "7.4.0");
    ck_assert_str_eq(myapp_catalog[MYAPP_CMD_JSON_DEBUG_MEMORY].name, "JSON.DEBUG MEMORY");
    ck_assert_uint_eq(myapp_catalog[MYAPP_CMD_WAITAOF].request_policy, REDS_REQUEST_ALL_SHARDS);
    ck_assert_uint_eq(myapp_catalog[MYAPP_CMD_WAITAOF].response_policy, REDS_RESPONSE_AGG_MIN);
    ck_assert_uint_eq(myapp_catalog[MYAPP_CMD_OBJECT_FREQ].tips, REDS_TIP_NONDETERMINISTIC_OUTPUT);
    /* Sorted by name, one entry per command. */
    for (size_t i = 1; i < MYAPP_NCOMMANDS; i++)
        ck_assert_int_lt(strcmp(myapp_catalog[i - 1].name, myapp_catalog[i].name), 0);

    /* reds_catalog_keys() reads their key specs as the library's. */
    size_t pos[8];
    const reds_str mget_argv[] = {S("JSON.MGET"), S("a"), S("b"), S("c"), S("$")};
    ck_assert_int_eq(reds_catalog_keys(mget, 5, mget_argv, pos, 8), 3);
    ck_assert_uint_eq(pos[0], 1);
    ck_assert_uint_eq(pos[2], 3);
    const reds_str dbg_argv[] = {S("JSON.DEBUG"), S("MEMORY"), S("doc")};
    ck_assert_int_eq(
        reds_catalog_keys(&myapp_catalog[MYAPP_CMD_JSON_DEBUG_MEMORY], 3, dbg_argv, pos, 8), 1);
    ck_assert_uint_eq(pos[0], 2);
    ck_assert_int_eq(reds_catalog_keys(&myapp_catalog[MYAPP_CMD_WAITAOF], 4,
                                       STRS(S("WAITAOF"), S("0"), S("0"), S("0")), pos, 8),
                     0);
}
END_TEST

/* What routers see of a packed add-on command: its own entry, its keys
 * and their cluster slot, its name for messages. */
START_TEST(routers_read_the_entry)
{
    test_cap_reset();
    ASSERT_OK(myapp_json_mget(test_cap, STRS(S("{u}a"), S("{u}b")), 2, S("$"), NULL));
    const reds_catalog_entry *e = reds__command_info(test_last.id);
    ck_assert_ptr_eq(e, &myapp_catalog[MYAPP_CMD_JSON_MGET]);
    ck_assert_str_eq(reds__command_name(test_last.id), "JSON.MGET");
    ck_assert(!reds__connection_scoped(&test_last));
    reds__keys k;
    ASSERT_OK(reds__cmd_keys(&test_last, e, &k));
    ck_assert_int_eq(k.n, 2);
    ck_assert(str_eq(reds__key(&k, 0), "{u}a"));
    ck_assert(str_eq(reds__key(&k, 1), "{u}b"));
    reds__keys_free(&k);
    int slot;
    ASSERT_OK(reds__cluster_cmd_slot(&test_last, &slot));
    ck_assert_int_eq(slot, reds_cluster_hash_slot(S("u")));
    ck_assert_int_eq(reds__command_flags(test_last.id), REDS_CMD_MODULE | REDS_CMD_READONLY);
    test_cap_reset();

    /* Keys of different slots are refused by a cluster router. */
    ASSERT_OK(myapp_json_mget(test_cap, STRS(S("a"), S("b")), 2, S("$"), NULL));
    ASSERT_ERR(reds__cluster_cmd_slot(&test_last, &slot), REDS_ERR_CROSSSLOT);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "JSON.MGET: keys in different slots"));
    test_cap_reset();

    /* HEXPIRE's key is argv[1], whatever the fields. */
    ASSERT_OK(myapp_hexpire(test_cap, S("session"), 5, STRS(S("f")), 1, NULL, NULL));
    ASSERT_OK(reds__cluster_cmd_slot(&test_last, &slot));
    ck_assert_int_eq(slot, reds_cluster_hash_slot(S("session")));
    ck_assert_int_eq(reds__command_flags(test_last.id) & REDS_CMD_WRITE, REDS_CMD_WRITE);
    test_cap_reset();

    /* A keyless one has no slot (the router uses its request policy). */
    ASSERT_OK(myapp_waitaof(test_cap, 0, 0, 0, NULL));
    ASSERT_OK(reds__cluster_cmd_slot(&test_last, &slot));
    ck_assert_int_eq(slot, -1);
    test_cap_reset();
}
END_TEST

/* ------------------------------------------------------- live, Valkey */

START_TEST(live_commands)
{
    reds_client *c = test_client(NULL);
    /* The application's OBJECT FREQ answers an int64_t (the library's a
     * nullable one). A new key's LFU counter starts at 5. */
    reds_free(test_run(c, "CONFIG", "SET", "maxmemory-policy", "allkeys-lfu", NULL));
    ASSERT_OK(reds_set(c, S("k"), S("v"), NULL, NULL));
    int64_t freq = -1;
    ASSERT_OK(myapp_object_freq(c, S("k"), &freq));
    ck_assert_int_eq(freq, 5);
    reds_free(test_run(c, "CONFIG", "SET", "maxmemory-policy", "noeviction", NULL));

    reds_intlist *acks = NULL;
    ASSERT_OK(myapp_waitaof(c, 0, 0, 0, &acks));
    ck_assert_uint_eq(acks->count, 2);
    ck_assert_int_eq(acks->items[0], 0);
    ck_assert_int_eq(acks->items[1], 0);
    reds_free(acks);
    /* The server's error, under the add-on command's name. */
    ASSERT_ERR(myapp_waitaof(c, 1, 0, 0, &acks), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(acks);
    ASSERT_MSG("WAITAOF: ERR WAITAOF cannot be used when numlocal is set but appendonly is "
               "disabled.");

    /* The server gets the names and the arguments exactly: Valkey 8.0 has
     * neither the JSON module nor hash field expiry, and says so. */
    reds_str *json = NULL;
    ASSERT_ERR(myapp_json_get(c, S("doc"), NULL, &json), REDS_ERR_RESPONSE);
    ASSERT_MSG("JSON.GET: ERR unknown command 'JSON.GET', with args beginning with: 'doc' ");
    reds_intlist *ttl = NULL;
    ASSERT_ERR(myapp_httl(c, S("h"), STRS(S("a"), S("b")), 2, &ttl), REDS_ERR_RESPONSE);
    ASSERT_MSG("HTTL: ERR unknown command 'HTTL', with args beginning with: 'h' 'FIELDS' '2' 'a' "
               "'b' ");
    reds_client_free(c);
}
END_TEST

START_TEST(live_pipeline_and_dedicated)
{
    reds_client *c = test_client(NULL), *p, *d;
    ASSERT_OK(reds_pipeline_new(c, false, &p));
    reds_intlist *acks = NULL;
    reds_str *json = NULL, *got = NULL;
    ASSERT_OK(reds_set(p, S("k"), S("v"), NULL, NULL));
    ASSERT_OK(myapp_waitaof(p, 0, 0, 0, &acks));
    ASSERT_OK(myapp_json_get(p, S("doc"), NULL, &json));
    ASSERT_OK(reds_get(p, S("k"), &got));
    ASSERT_ERR(reds_pipeline_execute(p), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "command 3 of 4 (JSON.GET): ERR unknown command"));
    ck_assert_uint_eq(acks->count, 2);
    ck_assert_ptr_null(json);
    ASSERT_STR(got, "v");
    const char *msg;
    ASSERT_OK(reds_pipeline_result(p, 1, &msg));
    ASSERT_ERR(reds_pipeline_result(p, 2, &msg), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(msg, "JSON.GET: ERR unknown command 'JSON.GET'"));
    reds_free(acks);
    reds_free(got);
    reds_client_free(p);

    ASSERT_OK(reds_client_dedicated(c, &d));
    ASSERT_OK(myapp_waitaof(d, 0, 0, 0, &acks));
    ck_assert_uint_eq(acks->count, 2);
    reds_free(acks);
    reds_client_free(d);
    reds_client_free(c);
}
END_TEST

/* The pool router reads the add-on's flags: a connection-scoped command
 * stays off pooled clients and runs on a dedicated connection. */
START_TEST(live_connection_scope)
{
    reds_client *c = test_client(NULL), *d;
    ASSERT_ERR(myapp_client_no_touch(c, MYAPP_CLIENT_NO_TOUCH_ENABLED_ON), REDS_ERR_DATA);
    ASSERT_MSG("CLIENT NO-TOUCH changes the state of one connection: run it on a dedicated "
               "connection (reds_client_dedicated), not a pooled client");
    reds_free(test_run(c, "CONFIG", "SET", "maxmemory-policy", "allkeys-lfu", NULL));
    ASSERT_OK(reds_set(c, S("k"), S("v"), NULL, NULL));
    ASSERT_OK(reds_client_dedicated(c, &d));
    /* With NO-TOUCH on, reading the key leaves its LFU counter at 5; off,
     * the first read counts (at 5 it always does). */
    int64_t freq = -1;
    ASSERT_OK(myapp_client_no_touch(d, MYAPP_CLIENT_NO_TOUCH_ENABLED_ON));
    ASSERT_OK(reds_get(d, S("k"), NULL));
    ASSERT_OK(myapp_object_freq(d, S("k"), &freq));
    ck_assert_int_eq(freq, 5);
    ASSERT_OK(myapp_client_no_touch(d, MYAPP_CLIENT_NO_TOUCH_ENABLED_OFF));
    ASSERT_OK(reds_get(d, S("k"), NULL));
    ASSERT_OK(myapp_object_freq(d, S("k"), &freq));
    ck_assert_int_eq(freq, 6);
    reds_free(test_run(c, "CONFIG", "SET", "maxmemory-policy", "noeviction", NULL));
    reds_client_free(d);
    reds_client_free(c);
}
END_TEST

/* ---------------------------------------------------- the generator */

static char dir[64];

static void gen_setup(void)
{
    test_tmpdir(dir, "addon");
}

static void gen_teardown(void)
{
    test_rmtree(dir);
}

/* Write `text` as DIR/spec/<name>. */
static void spec_file(const char *name, const char *text)
{
    char path[192];
    snprintf(path, sizeof path, "%s/spec", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/spec/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Run generate.py with `args` (%s: DIR); exit status, output in `log`. */
static int generate(const char *args, char *log, size_t size)
{
    char tail[512];
    snprintf(tail, sizeof tail, args, dir, dir);
    return test_sh(log, size, "%s codegen/generate.py %s", test_python(), tail);
}

/* DIR/out/<name>, whole (the caller frees it). */
static char *slurp(const char *name)
{
    char path[192];
    snprintf(path, sizeof path, "%s/out/%s", dir, name);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static const size_t max = 1 << 20;
    char *text = malloc(max);
    ck_assert_ptr_nonnull(text);
    size_t n = fread(text, 1, max - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

#define ADDON "--addon --prefix acme --spec %s/spec --out %s/out"

static const char *ft_search = "FT.SEARCH:\n"
                               "  summary: Searches the index\n"
                               "  since: \"1.0.0\"\n"
                               "  arity: -3\n"
                               "  flags: [module, readonly]\n"
                               "  arguments:\n"
                               "    - {name: index, type: string}\n"
                               "    - {name: query, type: string}\n"
                               "  reply: reply\n";

START_TEST(generator_addon)
{
    char log[4096];
    spec_file("search.yaml", ft_search);
    ck_assert_msg(generate(ADDON, log, sizeof log) == 0, "%s", log);
    ck_assert_msg(generate(ADDON " --check", log, sizeof log) == 0, "%s", log);
    char *h = slurp("acme_commands.h"), *c = slurp("acme_commands.c");
    ck_assert_ptr_nonnull(strstr(h, "reds_err acme_ft_search(reds_client *c, reds_str index, "
                                    "reds_str query, reds_reply **out);"));
    ck_assert_ptr_nonnull(strstr(c, "\"$9\\r\\nFT.SEARCH\\r\\n\""));
    ck_assert_ptr_nonnull(strstr(c, "#include <reds/extension.h>"));
    /* Public names only: nothing internal to the library. */
    ck_assert_ptr_null(strstr(c, "reds__"));
    ck_assert_ptr_null(strstr(c, "internal.h"));
    ck_assert_ptr_null(strstr(c, "pack.h"));
    ck_assert_ptr_null(strstr(c, "command_ids.h"));
    free(h);
    free(c);
    /* The library's own catalogue keeps refusing dotted names. */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "cp spec/replies.yaml %s/spec/", dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(generate("--spec %s/spec --out %s/lib", log, sizeof log), 1);
    ck_assert_msg(strstr(log, "bad command name 'FT.SEARCH'"), "%s", log);
}
END_TEST

START_TEST(generator_refusals)
{
    char log[4096];
    spec_file("search.yaml", ft_search);
    ck_assert_int_eq(generate("--addon --prefix reds --spec %s/spec --out %s/out", log, sizeof log),
                     1);
    ck_assert_msg(strstr(log, "--prefix 'reds': a lower-case C identifier other than reds"), "%s",
                  log);
    ck_assert_int_eq(generate("--addon --spec %s/spec --out %s/out", log, sizeof log), 2);
    /* Reply kinds are the library's. */
    spec_file("replies.yaml", "kinds: {}\n");
    ck_assert_int_eq(generate(ADDON, log, sizeof log), 1);
    ck_assert_msg(strstr(log, "replies.yaml:1: an add-on names the library's reply kinds"), "%s",
                  log);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm %s/spec/replies.yaml", dir);
    ck_assert_int_eq(system(cmd), 0);
    /* Names of the add-on that would shadow what its code uses. */
    spec_file("search.yaml", "FT.SEARCH:\n"
                             "  summary: s\n"
                             "  since: \"1.0.0\"\n"
                             "  arity: -2\n"
                             "  arguments:\n"
                             "    - name: mode\n"
                             "      type: oneof\n"
                             "      c_type: str\n"
                             "      arguments:\n"
                             "        - {name: a, type: pure-token, token: A}\n"
                             "        - {name: b, type: pure-token, token: B}\n"
                             "  reply: ok\n"
                             "CATALOG:\n"
                             "  summary: s\n"
                             "  since: \"1.0.0\"\n"
                             "  arity: 1\n"
                             "  reply: ok\n"
                             "X.SUB:\n"
                             "  summary: s\n"
                             "  since: \"1.0.0\"\n"
                             "  arity: 1\n"
                             "  dedicated: pubsub\n");
    ck_assert_int_eq(generate(ADDON, log, sizeof log), 1);
    ck_assert_msg(strstr(log, "search.yaml:22: X.SUB: dedicated APIs are the library's"), "%s",
                  log);
    spec_file("search.yaml", "FT.SEARCH:\n"
                             "  summary: s\n"
                             "  since: \"1.0.0\"\n"
                             "  arity: -2\n"
                             "  arguments:\n"
                             "    - name: mode\n"
                             "      type: oneof\n"
                             "      c_type: str\n"
                             "      arguments:\n"
                             "        - {name: a, type: pure-token, token: A}\n"
                             "        - {name: b, type: pure-token, token: B}\n"
                             "  reply: ok\n"
                             "CATALOG:\n"
                             "  summary: s\n"
                             "  since: \"1.0.0\"\n"
                             "  arity: 1\n"
                             "  reply: ok\n");
    ck_assert_int_eq(generate(ADDON, log, sizeof log), 1);
    ck_assert_msg(
        strstr(log, "search.yaml:6: the add-on's acme_str would be the library's reds_str"), "%s",
        log);
    ck_assert_msg(strstr(log, "search.yaml:13: acme_catalog is also the command table's"), "%s",
                  log);
    ck_assert_msg(strstr(log, "nothing written"), "%s", log);
    char out[128];
    snprintf(out, sizeof out, "%s/out", dir);
    ck_assert_int_ne(access(out, F_OK), 0);
}
END_TEST

static Suite *extension_suite(void)
{
    Suite *s = suite_create("extension");
    TCase *tc = tcase_create("packing");
    tcase_add_test(tc, module_commands_dotted);
    tcase_add_test(tc, hash_field_expiry);
    tcase_add_test(tc, refused_before_sending);
    tcase_add_test(tc, same_bytes_as_the_library);
    suite_add_tcase(s, tc);
    tc = tcase_create("table");
    tcase_add_test(tc, table_entries);
    tcase_add_test(tc, routers_read_the_entry);
    suite_add_tcase(s, tc);
    tc = tcase_create("live");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_add_test(tc, live_commands);
    tcase_add_test(tc, live_pipeline_and_dedicated);
    tcase_add_test(tc, live_connection_scope);
    suite_add_tcase(s, tc);
    tc = tcase_create("generator");
    tcase_add_checked_fixture(tc, gen_setup, gen_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, generator_addon);
    tcase_add_test(tc, generator_refusals);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Valkey whatever REDS_TEST_SERVER says: WAITAOF is 7.2, and the
     * Redis of this machine is 7.0. */
    if (fixture_start_kind(&test_server, FIXTURE_VALKEY, NULL) != 0)
        return 1;
    printf("server: %s %s\n", fixture_kind_name(test_server.kind), test_server.version);
    fflush(stdout);
    int rc = test_main(extension_suite(), false);
    fixture_stop(&test_server);
    return rc;
}
