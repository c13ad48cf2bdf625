/* The generator as a user meets it: broken specs are refused with
 * `file:line: message`, a non-zero exit and no output at all; a valid spec
 * renders, and renders identically twice. Runs codegen/generate.py with the
 * Python the Makefile found (REDS_PYTHON). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char dir[64], spec_dir[128], out_dir[128];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/reds-codegen-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(spec_dir, sizeof spec_dir, "%s/spec", dir);
    snprintf(out_dir, sizeof out_dir, "%s/out", dir);
    ck_assert_int_eq(mkdir(spec_dir, 0700), 0);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp spec/replies.yaml %s/", spec_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void teardown(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Run the generator on spec_dir; its output (stdout and stderr) in `log`. */
static int generate(char *log, size_t size)
{
    const char *python = getenv("REDS_PYTHON");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s codegen/generate.py --spec %s --out %s 2>&1",
             python && *python ? python : "python3", spec_dir, out_dir);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(log, 1, size - 1, p);
    log[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *valid_get = "GET:\n"
                               "  summary: Get the value of a key\n"
                               "  since: \"1.0.0\"\n"
                               "  arity: 2\n"
                               "  flags: [fast, readonly]\n"
                               "  arguments:\n"
                               "    - {name: key, type: key, key_spec_index: 0}\n"
                               "  reply: nullable_string\n";

/* The spec `text` (as string.yaml) is refused with exactly `message`. */
static void refused(const char *text, const char *message)
{
    char path[192], log[4096], expect[512];
    snprintf(path, sizeof path, "%s/string.yaml", spec_dir);
    write_file(path, text);
    ck_assert_int_eq(generate(log, sizeof log), 1);
    snprintf(expect, sizeof expect, "%s/string.yaml:%s", spec_dir, message);
    ck_assert_msg(strstr(log, expect) != NULL, "expected \"%s\" in:\n%s", expect, log);
    ck_assert_msg(strstr(log, "nothing written") != NULL, "%s", log);
    ck_assert_int_ne(access(out_dir, F_OK), 0); /* no partial output */
}

START_TEST(unknown_field)
{
    char text[1024];
    snprintf(text, sizeof text, "%s  colour: red\n", valid_get);
    refused(text, "9: unknown field 'colour' in command GET");
}
END_TEST

START_TEST(unknown_argument_field)
{
    refused("GET:\n  summary: s\n  since: \"1.0.0\"\n  arity: 2\n  arguments:\n"
            "    - {name: key, type: key, optinal: true}\n  reply: int\n",
            "6: unknown field 'optinal' in argument of GET");
}
END_TEST

START_TEST(bad_argument_type)
{
    refused("GET:\n  summary: s\n  since: \"1.0.0\"\n  arity: 2\n  arguments:\n"
            "    - name: key\n      type: str\n  reply: int\n",
            "7: GET: argument 'key' has bad type 'str'");
}
END_TEST

START_TEST(missing_reply_kind)
{
    refused("GET:\n  summary: s\n  since: \"1.0.0\"\n  arity: 2\n",
            "1: GET: missing reply kind (see replies.yaml)");
}
END_TEST

START_TEST(unknown_reply_kind)
{
    refused("GET:\n  summary: s\n  since: \"1.0.0\"\n  arity: 2\n  reply: number\n",
            "5: GET: unknown reply kind 'number'");
}
END_TEST

START_TEST(yaml_syntax_error)
{
    refused("GET:\n  summary: [unclosed\n  since: \"1.0.0\"\n", "3: ");
}
END_TEST

START_TEST(duplicate_key)
{
    refused("GET:\n  summary: s\n  summary: t\n  since: \"1.0.0\"\n  arity: 2\n  reply: int\n",
            "3: duplicate key 'summary'");
}
END_TEST

START_TEST(excluded_without_reason)
{
    refused("SYNC:\n  summary: s\n  since: \"1.0.0\"\n  arity: 1\n  excluded: \"\"\n",
            "5: SYNC: excluded needs a reason");
}
END_TEST

START_TEST(variant_path_not_found)
{
    char text[1024];
    snprintf(text, sizeof text, "%s  variants:\n    - {c_name: get_x, reply: int, fix: [nosuch]}\n",
             valid_get);
    refused(text, "1: GET: path 'nosuch': no such argument");
}
END_TEST

START_TEST(clashing_c_names)
{
    refused("GET:\n  summary: s\n  since: \"1.0.0\"\n  arity: -2\n  arguments:\n"
            "    - {name: a-b, type: string, optional: true}\n"
            "    - {name: a_b, type: string, optional: true}\n  reply: int\n",
            "7: GET: two fields would be named 'a_b'; give one a c_name");
}
END_TEST

START_TEST(count_of_needs_a_sibling_array)
{
    refused("GET:\n  summary: s\n  since: \"1.0.0\"\n  arity: -2\n  arguments:\n"
            "    - {name: numkeys, type: integer, count_of: key}\n"
            "    - {name: key, type: key}\n  reply: int\n",
            "1: GET: count_of 'key': a required top-level integer counting one sibling array");
}
END_TEST

START_TEST(single_needs_a_multiple)
{
    char text[1024];
    snprintf(text, sizeof text,
             "%s  variants:\n    - {c_name: get_one, reply: int, single: [key]}\n", valid_get);
    refused(text, "1: GET: single 'key': not a multiple argument");
}
END_TEST

START_TEST(c_arguments_only_where_the_server_has_none)
{
    char text[1024];
    snprintf(text, sizeof text, "%s  c_arguments:\n    - {name: key, type: key}\n", valid_get);
    refused(text, "9: GET: the server documents arguments now; drop c_arguments");
}
END_TEST

/* Record shapes of the server groups: their rules, checked in replies.yaml. */
START_TEST(record_layout_rules)
{
    static const struct {
        const char *record;
        const char *message;
    } cases[] = {
        {"  bad:\n    shape: pairs\n    fields:\n      - {name: a, type: string}\n",
         "record bad: a pairs record has two fields, the key and the value"},
        {"  bad:\n    shape: array\n    fields:\n      - {name: a, type: strlist, rest: true}\n"
         "      - {name: b, type: int}\n",
         "record bad: rest is for the last field of an array or words record"},
        {"  bad:\n    shape: words\n    fields:\n      - {name: a, type: map}\n",
         "record bad: a words record holds int and string fields (and a rest strlist)"},
        {"  bad:\n    shape: array\n    fields:\n      - {name: a, type: \"list:scan_page\", "
         "prefix: true}\n",
         "record bad: a prefix field of a map record is a list of a pairs record"},
        {"  bad:\n    shape: lines\n    fields:\n      - {name: a, type: string, nullable: true}\n",
         "record bad: nullable fields are for array, map and pairs records"},
    };
    char path[192], log[4096];
    snprintf(path, sizeof path, "%s/string.yaml", spec_dir);
    write_file(path, valid_get);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "cp spec/replies.yaml %s/ && cat >> %s/replies.yaml <<'EOF'\n%sEOF", spec_dir,
                 spec_dir, cases[i].record);
        ck_assert_int_eq(system(cmd), 0);
        ck_assert_int_eq(generate(log, sizeof log), 1);
        ck_assert_msg(strstr(log, cases[i].message) != NULL, "expected \"%s\" in:\n%s",
                      cases[i].message, log);
        ck_assert_int_ne(access(out_dir, F_OK), 0);
    }
}
END_TEST

START_TEST(valid_spec_renders_deterministically)
{
    char path[192], log[4096];
    snprintf(path, sizeof path, "%s/string.yaml", spec_dir);
    write_file(path, valid_get);
    ck_assert_msg(generate(log, sizeof log) == 0, "%s", log);
    ck_assert_ptr_nonnull(strstr(log, "6 file(s) updated"));
    /* A second run finds nothing to change. */
    ck_assert_msg(generate(log, sizeof log) == 0, "%s", log);
    ck_assert_ptr_nonnull(strstr(log, "0 file(s) updated"));
    /* The header says where it comes from, and declares the function. */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "head -1 %s/include/reds/commands.h | grep -q 'DO NOT EDIT' && "
             "grep -q 'reds_err reds_get(reds_client \\*c, reds_str key, reds_str \\*\\*out);' "
             "%s/include/reds/commands.h",
             out_dir, out_dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(the_real_spec_is_current)
{
    /* generated/ matches spec/ (what make check-generated checks). */
    const char *python = getenv("REDS_PYTHON");
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s codegen/generate.py --check",
             python && *python ? python : "python3");
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("codegen");
    TCase *tc = tcase_create("validation");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, unknown_field);
    tcase_add_test(tc, unknown_argument_field);
    tcase_add_test(tc, bad_argument_type);
    tcase_add_test(tc, missing_reply_kind);
    tcase_add_test(tc, unknown_reply_kind);
    tcase_add_test(tc, yaml_syntax_error);
    tcase_add_test(tc, duplicate_key);
    tcase_add_test(tc, excluded_without_reason);
    tcase_add_test(tc, variant_path_not_found);
    tcase_add_test(tc, clashing_c_names);
    tcase_add_test(tc, count_of_needs_a_sibling_array);
    tcase_add_test(tc, single_needs_a_multiple);
    tcase_add_test(tc, c_arguments_only_where_the_server_has_none);
    tcase_add_test(tc, record_layout_rules);
    tcase_add_test(tc, valid_spec_renders_deterministically);
    tcase_add_test(tc, the_real_spec_is_current);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), false);
}
