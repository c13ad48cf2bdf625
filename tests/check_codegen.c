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
    test_tmpdir(dir, "codegen");
    snprintf(spec_dir, sizeof spec_dir, "%s/spec", dir);
    snprintf(out_dir, sizeof out_dir, "%s/out", dir);
    ck_assert_int_eq(mkdir(spec_dir, 0700), 0);
    char log[256];
    ck_assert_int_eq(test_sh(log, sizeof log, "cp spec/replies.yaml %s/", spec_dir), 0);
}

static void teardown(void)
{
    test_rmtree(dir);
}

/* Run `cmd` (a shell command line); its output (stdout and stderr) in
 * `log`, its exit status returned. */
static int run(const char *cmd, char *log, size_t size)
{
    return test_sh(log, size, "%s", cmd);
}

/* Run the generator on spec_dir; its output (stdout and stderr) in `log`. */
static int generate(char *log, size_t size)
{
    return test_sh(log, size, "%s codegen/generate.py --spec %s --out %s", test_python(), spec_dir,
                   out_dir);
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
            "6: GET: count_of 'key': a required integer counting one sibling array (top-level or "
            "in a block)");
    /* The choices of a oneof are not siblings: nothing to count there. */
    refused("GET:\n  summary: s\n  since: \"1.0.0\"\n  arity: -2\n  arguments:\n"
            "    - name: x\n      type: oneof\n      arguments:\n"
            "        - {name: numkeys, type: integer, token: KEYS, count_of: key}\n"
            "        - {name: key, type: key, multiple: true}\n  reply: int\n",
            "9: GET: count_of 'key': a required integer counting one sibling array (top-level or "
            "in a block)");
}
END_TEST

START_TEST(same_count_as_needs_a_sibling_array)
{
    refused("GET:\n  summary: s\n  since: \"1.0.0\"\n  arity: -2\n  arguments:\n"
            "    - {name: key, type: key, multiple: true}\n"
            "    - {name: id, type: string, same_count_as: key}\n  reply: int\n",
            "7: GET: id: same_count_as names a sibling array, on an array");
    refused("GET:\n  summary: s\n  since: \"1.0.0\"\n  arity: -2\n  arguments:\n"
            "    - {name: key, type: key, multiple: true}\n"
            "    - {name: id, type: string, multiple: true, same_count_as: nosuch}\n"
            "  reply: int\n",
            "7: GET: id: same_count_as names a sibling array, on an array");
}
END_TEST

/* A driver for wrappers generated from a test spec, with no library and
 * no server: the runtime's entry points are stubs that print the packed
 * command (or the error), so that a test sees the exact bytes. It names
 * both the internal entry points and their reds_ext_* public forms. */
static const char *driver =
    "#include <stdarg.h>\n"
    "#include <stdint.h>\n"
    "#include <stdio.h>\n"
    "#include <reds/commands.h>\n"
    "typedef struct { size_t argc, bytes; const char *bad; } size_view;\n"
    "static char buf[4096];\n"
    "static int last;\n"
    "int reds__error(int err, const char *fmt, ...) {\n"
    "    va_list ap; va_start(ap, fmt); printf(\"error %s: \",\n"
    "    err == REDS_ERR_DATA ? \"DATA\" : \"other\"); vprintf(fmt, ap);\n"
    "    va_end(ap); return last = err; }\n"
    "int reds__last_err(void) { return last; }\n"
    "int reds_ext_last_error(void) { return last; }\n"
    "char *reds__cmd_begin(void *c, void *cmd, uintptr_t id, const size_view *sz) {\n"
    "    (void)c; (void)cmd; (void)id;\n"
    "    if (sz->bad) { reds__error(REDS_ERR_DATA, \"bad %s\", sz->bad); return NULL; }\n"
    "    return buf + sprintf(buf, \"*%zu\\r\\n\", sz->argc); }\n"
    "int reds__cmd_run(void *c, void *cmd, char *end, void *conv, void *out) {\n"
    "    (void)c; (void)cmd; (void)conv; (void)out;\n"
    "    fwrite(buf, 1, (size_t)(end - buf), stdout); return 0; }\n"
    "int reds_ext_run(void *c, void *cmd, char *end, void *conv, void *out) {\n"
    "    return reds__cmd_run(c, cmd, end, conv, out); }\n";

/* Generate from the spec already in spec_dir, build `main_text` (a main()
 * calling the generated wrappers) with the driver, run it; its output in
 * `log`. */
static void build_and_run(const char *main_text, char *log, size_t size)
{
    char path[192], cmd[2048];
    ck_assert_msg(generate(log, size) == 0, "%s", log);
    snprintf(path, sizeof path, "%s/driver.c", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(driver, f);
    fputs(main_text, f);
    fclose(f);
    const char *cc = getenv("CC");
    /* Symbols the driver never calls (reply converters) may stay
     * unresolved: the stubs never convert a reply. */
    snprintf(cmd, sizeof cmd,
             "%s -std=c11 -D_GNU_SOURCE -w -I%s/include -I%s -Iruntime -Iruntime/include "
             "%s/commands.c %s -o %s/driver -Wl,--unresolved-symbols=ignore-all -lm 2>&1 && "
             "%s/driver",
             cc && *cc ? cc : "cc", out_dir, out_dir, out_dir, path, dir, dir);
    run(cmd, log, size);
}

/* Redis 7.4's HTTL key FIELDS numfields field [field ...]: a count_of
 * with a token sends the token, then the count, then the array. */
START_TEST(count_of_with_a_token_packs_exactly)
{
    char path[192], log[8192];
    snprintf(path, sizeof path, "%s/hash.yaml", spec_dir);
    write_file(path, "HTTL:\n  summary: s\n  since: \"7.4.0\"\n  arity: -5\n  arguments:\n"
                     "    - {name: key, type: key, key_spec_index: 0}\n"
                     "    - {name: numfields, type: integer, token: FIELDS, count_of: field}\n"
                     "    - {name: field, type: string, multiple: true}\n"
                     "  reply: int\n"
                     "HPERSIST:\n  summary: s\n  since: \"7.4.0\"\n  arity: -5\n  arguments:\n"
                     "    - {name: key, type: key, key_spec_index: 0}\n"
                     "    - name: fields\n      type: block\n      token: FIELDS\n"
                     "      arguments:\n"
                     "        - {name: numfields, type: integer, count_of: field}\n"
                     "        - {name: field, type: string, multiple: true}\n"
                     "  reply: int\n");
    build_and_run("int main(void) {\n"
                  "    reds_str f[] = {REDS_STR(\"a\"), REDS_STR(\"bc\")};\n"
                  "    reds_client *c = (reds_client *)f;\n"
                  "    reds_httl(c, REDS_STR(\"k\"), f, 2, NULL); puts(\"|\");\n"
                  "    reds_hpersist(c, REDS_STR(\"k\"), f, 1, NULL); puts(\"|\");\n"
                  "    reds_httl(c, REDS_STR(\"k\"), f, 0, NULL); puts(\"|\");\n"
                  "    return 0; }\n",
                  log, sizeof log);
    ck_assert_str_eq(log, "*6\r\n$4\r\nHTTL\r\n$1\r\nk\r\n$6\r\nFIELDS\r\n$1\r\n2\r\n"
                          "$1\r\na\r\n$2\r\nbc\r\n|\n"
                          "*5\r\n$8\r\nHPERSIST\r\n$1\r\nk\r\n$6\r\nFIELDS\r\n$1\r\n1\r\n"
                          "$1\r\na\r\n|\n"
                          "error DATA: HTTL: field needs at least one element|\n");
}
END_TEST

/* make check-generated also fails on a file the generator does not write. */
START_TEST(check_finds_stray_files)
{
    char path[192], log[4096], cmd[512];
    const char *python = getenv("REDS_PYTHON");
    snprintf(path, sizeof path, "%s/string.yaml", spec_dir);
    write_file(path, valid_get);
    ck_assert_msg(generate(log, sizeof log) == 0, "%s", log);
    snprintf(cmd, sizeof cmd, "%s codegen/generate.py --spec %s --out %s --check 2>&1",
             python && *python ? python : "python3", spec_dir, out_dir);
    ck_assert_msg(run(cmd, log, sizeof log) == 0, "%s", log);
    snprintf(path, sizeof path, "%s/include/reds/old_name.h", out_dir);
    write_file(path, "/* left over */\n");
    ck_assert_int_eq(run(cmd, log, sizeof log), 1);
    ck_assert_msg(strstr(log, "include/reds/old_name.h") != NULL, "%s", log);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_msg(run(cmd, log, sizeof log) == 0, "%s", log);
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
    ck_assert_ptr_nonnull(strstr(log, "7 file(s) updated"));
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

/* --docs writes the API reference (a page per group and an index), which
 * --check then covers, stray files included; without it (or --out's
 * default) a run on another spec writes none. */
START_TEST(reference_pages_are_written_and_checked)
{
    char path[192], log[4096], cmd[1024];
    const char *python = getenv("REDS_PYTHON");
    python = python && *python ? python : "python3";
    snprintf(path, sizeof path, "%s/string.yaml", spec_dir);
    write_file(path, valid_get);
    snprintf(cmd, sizeof cmd, "%s codegen/generate.py --spec %s --out %s --docs %s/ref 2>&1",
             python, spec_dir, out_dir, dir);
    ck_assert_msg(run(cmd, log, sizeof log) == 0, "%s", log);
    ck_assert_msg(strstr(log, "9 file(s) updated") != NULL, "%s", log);
    snprintf(cmd, sizeof cmd,
             "grep -qx '### reds_get' %s/ref/string.md && "
             "grep -qxF 'reds_err reds_get(reds_client *c, reds_str key, reds_str **out);' "
             "%s/ref/string.md && grep -qF 'release it with `reds_free()`' %s/ref/string.md && "
             "grep -qF '| [GET](string.md#get) | [`reds_get`](string.md#reds_get) |' "
             "%s/ref/README.md",
             dir, dir, dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s codegen/generate.py --spec %s --out %s --docs %s/ref --check 2>&1",
             python, spec_dir, out_dir, dir);
    ck_assert_msg(run(cmd, log, sizeof log) == 0, "%s", log);
    snprintf(path, sizeof path, "%s/ref/old_group.md", dir);
    write_file(path, "left over\n");
    ck_assert_int_eq(run(cmd, log, sizeof log), 1);
    ck_assert_msg(strstr(log, "old_group.md") != NULL, "%s", log);
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
    tcase_add_test(tc, same_count_as_needs_a_sibling_array);
    tcase_add_test(tc, count_of_with_a_token_packs_exactly);
    tcase_add_test(tc, check_finds_stray_files);
    tcase_add_test(tc, single_needs_a_multiple);
    tcase_add_test(tc, c_arguments_only_where_the_server_has_none);
    tcase_add_test(tc, record_layout_rules);
    tcase_add_test(tc, valid_spec_renders_deterministically);
    tcase_add_test(tc, reference_pages_are_written_and_checked);
    tcase_add_test(tc, the_real_spec_is_current);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), false);
}
