/* The importer against real servers, on copies of spec/: importing from
 * Redis 7.0 and Valkey 8.0 changes nothing in the committed catalogue; a
 * copy in which Valkey's documentation wins (its renamed arguments) still
 * generates, compiles and keeps every declaration of api/commands.api; and
 * a command whose annotations were lost is an error, not a silent
 * generic binding. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static fixture_server redis, valkey;
static char dir[64], spec_copy[128];

static void start_servers(void)
{
    ck_assert_int_eq(fixture_start_kind(&redis, FIXTURE_REDIS, NULL), 0);
    ck_assert_int_eq(fixture_start_kind(&valkey, FIXTURE_VALKEY, NULL), 0);
}

static void stop_servers(void)
{
    fixture_stop(&redis);
    fixture_stop(&valkey);
}

static void setup(void)
{
    test_tmpdir(dir, "import");
    snprintf(spec_copy, sizeof spec_copy, "%s/spec", dir);
    char log[256];
    ck_assert_int_eq(test_sh(log, sizeof log, "cp -r spec %s", spec_copy), 0);
}

static void teardown(void)
{
    test_rmtree(dir);
}

static int import_from(const fixture_server *s, char *log, size_t size)
{
    return test_sh(log, size, "%s codegen/import_spec.py --url unix://%s --spec %s", test_python(),
                   s->sock, spec_copy);
}

/* Replace the first `from` with `to` in a file of the copy. */
static void edit(const char *file, const char *from, const char *to)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", spec_copy, file);
    test_edit_file(path, from, to);
}

/* Remove a whole entry (from its name to the blank line) from the copy. */
static void remove_entry(const char *file, const char *name)
{
    char path[256], log[256];
    snprintf(path, sizeof path, "%s/%s", spec_copy, file);
    ck_assert_int_eq(test_sh(log, sizeof log, "sed -i '/^%s:$/,/^$/d' %s", name, path), 0);
    ck_assert_int_eq(test_sh(log, sizeof log, "grep -c '^%s:$' %s", name, path), 1);
}

START_TEST(importing_from_both_servers_changes_nothing)
{
    static char log[1 << 16];
    ASSERT_LOG(import_from(&redis, log, sizeof log) == 0, log);
    ASSERT_LOG(strstr(log, "import-spec: redis 7.0.15: 351 updated, 0 new"), log);
    ASSERT_LOG(import_from(&valkey, log, sizeof log) == 0, log);
    ASSERT_LOG(strstr(log, "import-spec: valkey 8.0.1: 358 updated, 0 new"), log);
    /* Byte for byte the committed catalogue: both servers are in it. */
    ASSERT_LOG(test_sh(log, sizeof log, "diff -r spec %s", spec_copy) == 0, log);
}
END_TEST

START_TEST(valkey_first_carries_renames_and_keeps_the_api)
{
    /* Valkey's documentation wins in this copy: its argument names replace
     * Redis's wherever it renamed one (GEOADD's data, ZRANGE's limit...). */
    char path[256];
    snprintf(path, sizeof path, "%s/servers.yaml", spec_copy);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("servers:\n  - {name: valkey, version: \"8.0.1\", binary: valkey-server}\n"
          "  - {name: redis, version: \"7.0.15\", binary: redis-server}\n",
          f);
    fclose(f);
    static char log[1 << 16];
    ASSERT_LOG(import_from(&valkey, log, sizeof log) == 0, log);
    ck_assert_msg(strstr(log, "import-spec: 79 argument(s) renamed by the server; 70 "
                              "annotation(s) carried across, C names kept"),
                  "%s", log);
    /* The renames reached the copy, and GEOADD's C names stayed. */
    ASSERT_LOG(test_sh(log, sizeof log,
                       "grep -A8 '    - name: data$' %s/geo.yaml | grep -c 'c_type: geo_member'",
                       spec_copy) == 0,
               log);
    ck_assert_str_eq(log, "1\n");
    /* It generates, compiles, and every declaration of the baseline holds. */
    ASSERT_LOG(test_sh(log, sizeof log, "%s codegen/generate.py --spec %s --out %s/gen",
                       test_python(), spec_copy, dir) == 0,
               log);
    ck_assert_msg(test_sh(log, sizeof log,
                          "for f in %s/gen/*.c; do cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror "
                          "-fsyntax-only -Iruntime/include -I%s/gen/include -Iruntime -I%s/gen $f "
                          "|| exit 1; done",
                          dir, dir, dir) == 0,
                  "%s", log);
    ASSERT_LOG(test_sh(log, sizeof log, "%s codegen/api.py --spec %s", test_python(), spec_copy) ==
                   0,
               log);
    ASSERT_LOG(strstr(log, "none changed or removed"), log);
}
END_TEST

START_TEST(a_command_that_lost_its_annotations_is_an_error)
{
    /* LPOS and CLIENT KILL as a careless edit leaves them: gone. */
    remove_entry("list.yaml", "LPOS");
    remove_entry("connection.yaml", "CLIENT KILL");
    static char log[1 << 16];
    ck_assert_int_eq(import_from(&redis, log, sizeof log), 1);
    ASSERT_LOG(strstr(log, "LPOS: new to the spec, yet the API baseline has reds_lpos, "
                           "reds_lpos_count: its annotations were lost"),
               log);
    ASSERT_LOG(strstr(log, "CLIENT KILL: new to the spec, yet the API baseline has "
                           "reds_client_kill, reds_client_kill_addr"),
               log);
}
END_TEST

START_TEST(a_command_a_server_dropped_keeps_its_functions)
{
    /* A server without WAITAOF: the entry stays, marked for the servers
     * that have it, so the functions and their annotations survive. */
    static char log[1 << 16];
    ASSERT_LOG(import_from(&redis, log, sizeof log) == 0, log);
    ASSERT_LOG(strstr(log, "not on redis (kept, marked with the servers that have them): "
                           "CLIENT CAPA, CLIENT NO-TOUCH, CLIENT SETINFO, CLUSTER MYSHARDID, "
                           "CLUSTER SLOT-STATS, SCRIPT SHOW, WAITAOF"),
               log);
    ck_assert_int_eq(test_sh(log, sizeof log,
                             "grep -A5 '^WAITAOF:' %s/generic.yaml | grep -c "
                             "'servers: \\[valkey\\]'",
                             spec_copy),
                     0);
    ck_assert_int_eq(test_sh(log, sizeof log,
                             "grep -A20 '^WAITAOF:' %s/generic.yaml | grep -c "
                             "'reply: waitaof'",
                             spec_copy),
                     0);
}
END_TEST

START_TEST(check_api_catches_a_dropped_c_as_and_exclusive)
{
    /* ZCOUNT's min loses `c_as: string` (it would become a double),
     * ZADD loses its exclusive groups (NX with GT/LT would be sent). */
    edit("sorted-set.yaml", "    - {name: min, type: double, c_as: string}",
         "    - {name: min, type: double}");
    edit("sorted-set.yaml", "  exclusive:\n    - [condition.nx, comparison]\n", "");
    static char log[1 << 16];
    ck_assert_int_eq(
        test_sh(log, sizeof log, "%s codegen/api.py --spec %s", test_python(), spec_copy), 1);
    ASSERT_LOG(strstr(log, "check-api: changed function reds_zcount\n"
                           "    was: reds_err reds_zcount(reds_client *c, reds_str key, "
                           "reds_str min, reds_str max,"),
               log);
    ASSERT_LOG(strstr(log, "check-api: removed contract reds_zadd: NX"), log);
    ASSERT_LOG(strstr(log, "the generated API broke"), log);
}
END_TEST

START_TEST(import_restores_server_fields_and_keeps_annotations)
{
    /* Damage a server field, write an annotation, and lose STRLEN in a
     * catalogue with no API baseline yet (an app's own, say). */
    edit("string.yaml", "STRLEN:\n  summary: Get the length of the value stored in a key\n",
         "STRLENX:\n  summary: Get the length of the value stored in a key\n");
    edit("string.yaml", "  summary: Get the value of a key\n", "  summary: damaged\n");
    edit("string.yaml", "GETRANGE:\n", "GETRANGE:\n  doc: a note a person wrote\n");
    static char log[1 << 16];
    ASSERT_LOG(test_sh(log, sizeof log,
                       "%s codegen/import_spec.py --url unix://%s --spec %s --group string "
                       "--baseline /dev/null",
                       test_python(), redis.sock, spec_copy) == 0,
               log);
    ASSERT_LOG(strstr(log, "21 updated, 1 new: STRLEN"), log);
    ASSERT_LOG(strstr(log, "not on redis (kept, marked with the servers that have them): "
                           "STRLENX"),
               log);
    /* The file differs from the original in exactly: STRLEN back with the
     * generic reply (new commands arrive so), STRLENX marked as not on
     * Redis, and the annotation. */
    static char diff[1 << 16];
    ck_assert_int_eq(test_sh(diff, sizeof diff, "diff spec/string.yaml %s/string.yaml", spec_copy),
                     1);
    ck_assert_msg(strstr(diff, "> STRLENX:"), "%s", diff);
    ck_assert_msg(strstr(diff, ">   servers: [valkey]"), "%s", diff);
    ck_assert_msg(strstr(diff, ">   doc: a note a person wrote"), "%s", diff);
    ck_assert_int_eq(test_sh(log, sizeof log,
                             "grep -A20 '^STRLEN:$' %s/string.yaml | grep -c "
                             "'^  reply: reply$'",
                             spec_copy),
                     0);
    ck_assert_ptr_null(strstr(diff, "damaged"));
    /* SET's c_names and variant survived untouched (not in the diff). */
    ck_assert_ptr_null(strstr(diff, "set_get"));
    ck_assert_ptr_null(strstr(diff, "c_name"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("import");
    TCase *tc = tcase_create("import");
    tcase_add_unchecked_fixture(tc, start_servers, stop_servers);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, importing_from_both_servers_changes_nothing);
    tcase_add_test(tc, valkey_first_carries_renames_and_keeps_the_api);
    tcase_add_test(tc, a_command_that_lost_its_annotations_is_an_error);
    tcase_add_test(tc, a_command_a_server_dropped_keeps_its_functions);
    tcase_add_test(tc, check_api_catches_a_dropped_c_as_and_exclusive);
    tcase_add_test(tc, import_restores_server_fields_and_keeps_annotations);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), false);
}
