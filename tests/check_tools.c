/* The catalogue tools against live servers: the audit passes the real spec
 * on both servers, finds exactly the faults planted in a copy of it (every
 * argument difference, reply kinds that real replies refute, generic replies
 * without a reason). The importer's suite is check_import. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char dir[64], spec_copy[128];

static void setup(void)
{
    test_tmpdir(dir, "tools");
    snprintf(spec_copy, sizeof spec_copy, "%s/spec", dir);
    char log[256];
    ck_assert_int_eq(test_sh(log, sizeof log, "cp -r spec %s", spec_copy), 0);
}

static void teardown(void)
{
    test_rmtree(dir);
}

/* Run a codegen tool on the copy against the test server; returns the exit
 * status and its output in `log`. */
static int tool(const char *script, const char *extra, char *log, size_t size)
{
    return test_sh(log, size, "%s codegen/%s --url unix://%s --spec %s %s", test_python(), script,
                   test_server.sock, spec_copy, extra);
}

/* The reply checker the audit runs, built next to this suite:
 * BUILD/tools/check_reply for BUILD/tests/check_tools. */
static const char *checker(void)
{
    static char path[PATH_MAX + 32];
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert_int_gt(n, 0);
    exe[n] = '\0';
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(exe, '/');
        ck_assert_ptr_nonnull(slash);
        *slash = '\0';
    }
    snprintf(path, sizeof path, "%s/tools/check_reply", exe);
    ck_assert_msg(access(path, X_OK) == 0, "%s is not built", path);
    return path;
}

/* Run the audit on the copy against throwaway servers of its own (both,
 * and a Sentinel, unless `extra` says --server); returns the exit status
 * and its output in `log`. */
static int audit(const char *extra, char *log, size_t size)
{
    return test_sh(log, size, "%s codegen/audit.py --spec %s --checker %s --report - %s",
                   test_python(), spec_copy, checker(), extra);
}

/* Replace the first `from` with `to` in a file of the spec copy. */
static void edit(const char *file, const char *from, const char *to)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", spec_copy, file);
    test_edit_file(path, from, to);
}

static int count_lines(const char *log, const char *prefix)
{
    int n = 0;
    for (const char *p = log; (p = strstr(p, prefix)); p++)
        n++;
    return n;
}

/* The accounting line of the audit against `source`: every leaf command
 * of it accounted for, `missing` of them not. */
static void assert_accounted(const char *log, const char *source, int missing)
{
    char head[64];
    snprintf(head, sizeof head, "audit against %s\n", source);
    const char *at = strstr(log, head);
    ck_assert_msg(at != NULL, "no audit against %s:\n%s", source, log);
    at = strstr(at, " leaf commands accounted for");
    ck_assert_ptr_nonnull(at);
    while (at > log && at[-1] != '\n')
        at--;
    int done = 0, all = 0;
    ck_assert_int_eq(sscanf(at, "%d of %d leaf", &done, &all), 2);
    ck_assert_msg(all > 300 && done == all - missing, "%s: %d of %d", source, done, all);
}

/* The reply-kind check of `server` found nothing wrong and covered at
 * least `floor` functions. */
static void assert_replies_checked(const char *log, const char *server, int floor)
{
    char head[64];
    snprintf(head, sizeof head, "reply kinds on %s: checked ", server);
    const char *at = strstr(log, head);
    ck_assert_msg(at != NULL, "no reply-kind check on %s:\n%s", server, log);
    int checked = 0, all = 0, wrong = -1;
    ck_assert_int_eq(sscanf(at + strlen(head), "%d of %d functions' reply kinds (%d wrong)",
                            &checked, &all, &wrong),
                     3);
    ck_assert_msg(wrong == 0 && checked >= floor, "%s: %d of %d checked, %d wrong\n%s", server,
                  checked, all, wrong, log);
}

START_TEST(audit_of_the_real_spec_is_clean_on_both_servers)
{
    static char log[1 << 18];
    ASSERT_LOG(audit("", log, sizeof log) == 0, log);
    assert_accounted(log, "redis 7.0.15", 0);
    assert_accounted(log, "valkey 8.0.1", 0);
    ck_assert_ptr_nonnull(strstr(log, "audit against redis 7.0.15 (Sentinel)"));
    ck_assert_ptr_nonnull(strstr(log, "audit against valkey 8.0.1 (Sentinel)"));
    /* Redis, Valkey and the Sentinel group against each one's Sentinel. */
    ck_assert_int_eq(count_lines(log, "0 missing, 0 extra, 0 mismatch(es)"), 4);
    /* Most functions' reply kinds met real replies; none was wrong. */
    assert_replies_checked(log, "redis 7.0.15", 340);
    assert_replies_checked(log, "valkey 8.0.1", 340);
    assert_replies_checked(log, "redis 7.0.15 (Sentinel)", 15);
    assert_replies_checked(log, "valkey 8.0.1 (Sentinel)", 20);
    ASSERT_LOG(strstr(log, "api: every declaration of api/commands.api holds"), log);
    ck_assert_ptr_nonnull(strstr(log, "generic replies: 0 function(s)"));
    ck_assert_int_eq(count_lines(log, "- mismatch"), 0);
    ck_assert_int_eq(count_lines(log, "- reply kind:"), 0);
}
END_TEST

START_TEST(audit_checks_reply_kinds_against_real_replies)
{
    /* GET answers a bulk string, which the int converter refuses; HGETALL
     * answers what RESP2 sends as a flat array, which strlist would take,
     * but RESP3 says it is a map. */
    edit("string.yaml",
         "    - {name: key, type: key, key_spec_index: 0}\n  reply: nullable_string\n"
         "  cacheable: true\n\n"
         "GETDEL:",
         "    - {name: key, type: key, key_spec_index: 0}\n  reply: int\n  cacheable: true\n\n"
         "GETDEL:");
    edit("hash.yaml", "  reply: map\n", "  reply: strlist\n");
    static char log[1 << 18];
    ASSERT_LOG(audit("--server redis", log, sizeof log) == 1, log);
    ASSERT_LOG(strstr(log, "- reply kind: `GET` reds_get (int): the int converter refuses the "
                           "reply to `GET {a}k1` (`$2\\r\\n10\\r\\n`): expected an integer "
                           "reply, got a bulk string"),
               log);
    ck_assert_ptr_nonnull(strstr(log,
                                 "- reply kind: `HGETALL` reds_hgetall (strlist): in the RESP3 "
                                 "reply to `HGETALL {a}k1`, the reply is a map, which strlist "
                                 "reads as a list"));
    /* Exactly those; the spec itself still matches the server. */
    ck_assert_int_eq(count_lines(log, "- reply kind:"), 2);
    ck_assert_int_eq(count_lines(log, "- mismatch"), 0);
    assert_accounted(log, "redis 7.0.15", 0);
}
END_TEST

START_TEST(audit_requires_a_reason_for_generic_replies)
{
    /* FCALL loses its `dynamic`; EVAL and the others keep theirs. */
    edit("scripting.yaml", "  dynamic: the function's own reply\n", "");
    static char log[1 << 16];
    ASSERT_LOG(audit("--server redis --group scripting --no-replies", log, sizeof log) == 1, log);
    ASSERT_LOG(strstr(log, "- generic reply: `FCALL` reds_fcall is bound with the generic kind "
                           "`reply` and the spec does not say why"),
               log);
    ck_assert_int_eq(count_lines(log, "- generic reply:"), 1);
    ck_assert_ptr_nonnull(strstr(log, "generic replies: 1 function(s)"));
}
END_TEST

START_TEST(audit_sees_a_dropped_c_as_and_exclusive)
{
    /* Neither shows on a server: the API they gave is in the baseline. */
    edit("sorted-set.yaml", "    - {name: min, type: double, c_as: string}",
         "    - {name: min, type: double}");
    edit("sorted-set.yaml", "  exclusive:\n    - [condition.nx, comparison]\n", "");
    static char log[1 << 16];
    ASSERT_LOG(audit("--server redis --group sorted-set --no-replies", log, sizeof log) == 1, log);
    ASSERT_LOG(strstr(log, "check-api: changed function reds_zcount\n"), log);
    ASSERT_LOG(strstr(log, "check-api: removed contract reds_zadd: NX"), log);
    ASSERT_LOG(strstr(log, "api: the generated API broke"), log);
    /* The server side of the audit is clean: only the API says it. */
    ck_assert_int_eq(count_lines(log, "- mismatch"), 0);
}
END_TEST

START_TEST(audit_finds_exactly_the_planted_faults)
{
    /* Remove STRLEN, change a token of SET and make another optional (two
     * differences in one command), and the arity of GETDEL. */
    edit("string.yaml", "STRLEN:\n  summary: Get the length of the value stored in a key\n",
         "STRLENX:\n  summary: Get the length of the value stored in a key\n");
    edit("string.yaml", "{name: xx, type: pure-token, token: XX}",
         "{name: xx, type: pure-token, token: XXX}");
    edit("string.yaml", "{name: nx, type: pure-token, token: NX}",
         "{name: nx, type: pure-token, token: NX, optional: true}");
    edit("string.yaml",
         "GETDEL:\n  summary: Get the value of a key and delete the key\n"
         "  since: \"6.2.0\"\n  complexity: O(1)\n  arity: 2\n",
         "GETDEL:\n  summary: Get the value of a key and delete the key\n"
         "  since: \"6.2.0\"\n  complexity: O(1)\n  arity: 3\n");
    /* Against the suite's server, which the audit recognises (Redis, or
     * Valkey with REDS_TEST_SERVER=valkey). */
    static char log[1 << 16];
    ck_assert_int_eq(tool("audit.py", "--report - --no-replies", log, sizeof log), 1);
    char source[64];
    snprintf(source, sizeof source, "%s %s", fixture_kind_name(test_server.kind),
             test_server.version);
    ASSERT_LOG(strstr(log, "- missing: `STRLEN` (group string) is on "), log);
    ck_assert_ptr_nonnull(
        strstr(log, "- extra: `STRLENX` (group string) is in the spec but not on "));
    ck_assert_ptr_nonnull(strstr(log,
                                 "- mismatch (arguments): `SET`: "
                                 "arguments[condition].arguments[nx].optional: only in the spec "
                                 "(True)"));
    ck_assert_ptr_nonnull(strstr(log, "- mismatch (arguments): `SET`: "
                                      "arguments[condition].arguments[xx].token: spec 'XXX', "
                                      "server 'XX'"));
    ck_assert_ptr_nonnull(strstr(log, "- mismatch (arity): `GETDEL`: arity: spec 3, server 2"));
    /* Exactly those, nothing else. */
    ck_assert_int_eq(count_lines(log, "- missing:"), 1);
    ck_assert_int_eq(count_lines(log, "- extra:"), 1);
    ck_assert_int_eq(count_lines(log, "- mismatch"), 3);
    assert_accounted(log, source, 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tools");
    TCase *tc = tcase_create("catalogue");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, audit_of_the_real_spec_is_clean_on_both_servers);
    tcase_add_test(tc, audit_checks_reply_kinds_against_real_replies);
    tcase_add_test(tc, audit_requires_a_reason_for_generic_replies);
    tcase_add_test(tc, audit_sees_a_dropped_c_as_and_exclusive);
    tcase_add_test(tc, audit_finds_exactly_the_planted_faults);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
