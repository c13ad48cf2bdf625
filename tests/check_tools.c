/* The catalogue tools against a live server: the audit finds exactly the
 * faults planted in a copy of the spec, and the importer restores server
 * fields while keeping every annotation a person wrote. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char dir[64], spec_copy[128];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/reds-tools-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(spec_copy, sizeof spec_copy, "%s/spec", dir);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cp -r spec %s", spec_copy);
    ck_assert_int_eq(system(cmd), 0);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Run a codegen tool on the copy against the test server; returns the exit
 * status and its output in `log`. */
static int tool(const char *script, const char *extra, char *log, size_t size)
{
    const char *python = getenv("REDS_PYTHON");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s codegen/%s --url unix://%s --spec %s %s 2>&1",
             python && *python ? python : "python3", script, test_server.sock, spec_copy, extra);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(log, 1, size - 1, p);
    log[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Replace the first `from` with `to` in a file of the spec copy. */
static void edit(const char *file, const char *from, const char *to)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", spec_copy, file);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    char *at = strstr(text, from);
    ck_assert_msg(at != NULL, "%s not in %s", from, file);
    f = fopen(path, "w");
    fwrite(text, 1, (size_t)(at - text), f);
    fputs(to, f);
    fputs(at + strlen(from), f);
    fclose(f);
}

static int count_lines(const char *log, const char *prefix)
{
    int n = 0;
    for (const char *p = log; (p = strstr(p, prefix)); p++)
        n++;
    return n;
}

START_TEST(audit_of_the_real_spec_is_clean)
{
    static char log[1 << 16];
    ck_assert_msg(tool("audit.py", "--report -", log, sizeof log) == 0, "%s", log);
    ck_assert_msg(strstr(log, "351 of 351 leaf commands accounted for"), "%s", log);
    ck_assert_ptr_nonnull(strstr(log, "0 missing, 0 extra, 0 mismatch(es)"));
}
END_TEST

START_TEST(audit_finds_exactly_the_planted_faults)
{
    /* Remove STRLEN, change a token of SET, and the arity of GETDEL. */
    edit("string.yaml", "STRLEN:\n  summary: Get the length of the value stored in a key\n",
         "STRLENX:\n  summary: Get the length of the value stored in a key\n");
    edit("string.yaml", "{name: xx, type: pure-token, token: XX}",
         "{name: xx, type: pure-token, token: XXX}");
    edit("string.yaml",
         "GETDEL:\n  summary: Get the value of a key and delete the key\n"
         "  since: \"6.2.0\"\n  complexity: O(1)\n  arity: 2\n",
         "GETDEL:\n  summary: Get the value of a key and delete the key\n"
         "  since: \"6.2.0\"\n  complexity: O(1)\n  arity: 3\n");
    static char log[1 << 16];
    ck_assert_int_eq(tool("audit.py", "--report -", log, sizeof log), 1);
    ck_assert_msg(strstr(log, "- missing: `STRLEN` (group string) is on the server but not in "
                              "the spec"),
                  "%s", log);
    ck_assert_ptr_nonnull(
        strstr(log, "- extra: `STRLENX` (group string) is in the spec but not on the server"));
    ck_assert_ptr_nonnull(strstr(log, "- mismatch (arguments): `SET`: "
                                      "arguments[condition].arguments[xx].token: spec 'XXX', "
                                      "server 'XX'"));
    ck_assert_ptr_nonnull(strstr(log, "- mismatch (arity): `GETDEL`: arity: spec 3, server 2"));
    /* Exactly those, nothing else. */
    ck_assert_int_eq(count_lines(log, "- missing:"), 1);
    ck_assert_int_eq(count_lines(log, "- extra:"), 1);
    ck_assert_int_eq(count_lines(log, "- mismatch"), 2);
    ck_assert_ptr_nonnull(strstr(log, "350 of 351 leaf commands accounted for"));
}
END_TEST

START_TEST(import_restores_server_fields_and_keeps_annotations)
{
    /* Lose a command, damage a server field, and write an annotation. */
    edit("string.yaml", "STRLEN:\n  summary: Get the length of the value stored in a key\n",
         "STRLENX:\n  summary: Get the length of the value stored in a key\n");
    edit("string.yaml", "  summary: Get the value of a key\n", "  summary: damaged\n");
    edit("string.yaml", "GETRANGE:\n", "GETRANGE:\n  doc: a note a person wrote\n");
    static char log[1 << 16];
    ck_assert_msg(tool("import_spec.py", "--group string", log, sizeof log) == 0, "%s", log);
    ck_assert_msg(strstr(log, "new: STRLEN"), "%s", log);
    ck_assert_ptr_nonnull(strstr(log, "not on this server (kept; `make audit` reports them): "
                                      "STRLENX"));
    /* The restored file differs from the original in exactly: STRLEN's
     * reply kind (new commands arrive generic), the STRLENX copy, and the
     * annotation we added. */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "diff spec/string.yaml %s/string.yaml > %s/diff.txt", spec_copy, dir);
    ck_assert_int_eq(WEXITSTATUS(system(cmd)), 1);
    char path[256];
    snprintf(path, sizeof path, "%s/diff.txt", dir);
    FILE *f = fopen(path, "r");
    static char diff[1 << 16];
    size_t n = fread(diff, 1, sizeof diff - 1, f);
    diff[n] = '\0';
    fclose(f);
    ck_assert_msg(strstr(diff, "> STRLENX:"), "%s", diff);
    ck_assert_ptr_nonnull(strstr(diff, ">   doc: a note a person wrote"));
    /* STRLEN came back bound with the generic reply; STRLENX kept its own. */
    snprintf(path, sizeof path, "%s/string.yaml", spec_copy);
    f = fopen(path, "r");
    static char text[1 << 20];
    n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    char *strlen_entry = strstr(text, "\nSTRLEN:\n"), *strlenx = strstr(text, "\nSTRLENX:\n");
    ck_assert(strlen_entry && strlenx);
    *strstr(strlen_entry + 1, "\n\n") = '\0';
    *strstr(strlenx + 1, "\n\n") = '\0';
    ck_assert_ptr_nonnull(strstr(strlen_entry, "\n  reply: reply"));
    ck_assert_ptr_nonnull(strstr(strlenx, "\n  reply: int"));
    ck_assert_ptr_null(strstr(diff, "damaged"));
    /* SET's c_names and variant survived untouched (not in the diff). */
    ck_assert_ptr_null(strstr(diff, "set_get"));
    ck_assert_ptr_null(strstr(diff, "c_name"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tools");
    TCase *tc = tcase_create("catalogue");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, audit_of_the_real_spec_is_clean);
    tcase_add_test(tc, audit_finds_exactly_the_planted_faults);
    tcase_add_test(tc, import_restores_server_fields_and_keeps_annotations);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
