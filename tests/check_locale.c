/* Doubles under a decimal-comma locale: a program that calls setlocale()
 * with LANG=de_DE.UTF-8 must send and read exactly what it would in the C
 * locale. The locale is compiled at run time with localedef into a
 * temporary LOCPATH, so nothing is installed; when it cannot be made, every
 * test fails with the reason instead of passing without a decimal comma. */
#include <errno.h>
#include <ftw.h>
#include <locale.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <wctype.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testpack.h"
#include "testreply.h"

extern char **environ;

#define LOCALE  "de_DE.UTF-8"
#define TURKISH "tr_TR.UTF-8"

static char locale_dir[64];      /* the LOCPATH main() made */
static char locale_problem[512]; /* why it could not be made, if so */

static void build_locale(void)
{
    snprintf(locale_dir, sizeof locale_dir, "/tmp/reds-locale-XXXXXX");
    if (!mkdtemp(locale_dir)) {
        snprintf(locale_problem, sizeof locale_problem, "mkdtemp: %s", strerror(errno));
        locale_dir[0] = '\0';
        return;
    }
    /* de_DE writes a decimal comma; tr_TR's "I" and "i" are not one
     * letter in two cases. */
    static const char *const names[][2] = {{"de_DE", LOCALE}, {"tr_TR", TURKISH}};
    for (size_t i = 0; i < 2 && !locale_problem[0]; i++) {
        char out[128];
        snprintf(out, sizeof out, "%s/%s", locale_dir, names[i][1]);
        char *argv[] = {"localedef", "-i", (char *)names[i][0], "-f", "UTF-8", out, NULL};
        pid_t pid;
        int err = posix_spawnp(&pid, "localedef", NULL, NULL, argv, environ);
        if (err) {
            snprintf(locale_problem, sizeof locale_problem,
                     "cannot run localedef (%s): it is needed to build the %s locale these "
                     "tests run under (Debian: libc-bin, with the sources from the locales "
                     "package)",
                     strerror(err), names[i][1]);
            return;
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        /* Exit status 1 means warnings, with the locale still written. */
        if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
            snprintf(locale_problem, sizeof locale_problem,
                     "localedef -i %s -f UTF-8 %s failed (status 0x%x): are the locale sources "
                     "(/usr/share/i18n, Debian's locales package) there?",
                     names[i][0], out, (unsigned)status);
    }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* A checked fixture: the rest of the test runs with a decimal comma, as a
 * program that called setlocale(LC_ALL, "") under de_DE.UTF-8 does. */
static void enter_locale(void)
{
    ck_assert_msg(!locale_problem[0], "%s", locale_problem);
    ck_assert_int_eq(setenv("LOCPATH", locale_dir, 1), 0);
    ck_assert_msg(setlocale(LC_ALL, LOCALE) != NULL, "setlocale(LC_ALL, \"%s\") with LOCPATH=%s",
                  LOCALE, locale_dir);
    ck_assert_str_eq(localeconv()->decimal_point, ",");
    /* The C library itself now writes and reads a decimal comma. */
    char text[16];
    snprintf(text, sizeof text, "%g", 1.5);
    ck_assert_str_eq(text, "1,5");
    ck_assert(strtod("1,5", NULL) == 1.5);
}

/* A checked fixture: the rest of the test runs under tr_TR.UTF-8, where
 * the C library's case-insensitive comparisons no longer match "I" and
 * "i". */
static void enter_turkish(void)
{
    ck_assert_msg(!locale_problem[0], "%s", locale_problem);
    ck_assert_int_eq(setenv("LOCPATH", locale_dir, 1), 0);
    ck_assert_msg(setlocale(LC_ALL, TURKISH) != NULL, "setlocale(LC_ALL, \"%s\") with LOCPATH=%s",
                  TURKISH, locale_dir);
    /* Upper-case I is dotless ı here (strcasecmp itself cannot tell:
     * AddressSanitizer replaces it with a locale-blind one). */
    ck_assert(towlower(L'I') == 0x131);
}

static void leave_locale(void)
{
    setlocale(LC_ALL, "C");
}

/* ------------------------------------------------------------- packing */

START_TEST(packs_the_c_locale_bytes)
{
    ASSERT_OK(reds_zadd(test_cap, S("z"), &(reds_score_member){1.5, S("m")}, 1, NULL, NULL));
    ASSERT_SENT("*4\r\n$4\r\nZADD\r\n$1\r\nz\r\n$3\r\n1.5\r\n$1\r\nm\r\n");
    ASSERT_OK(reds_incrbyfloat(test_cap, S("f"), 0.25, NULL));
    ASSERT_SENT("*3\r\n$11\r\nINCRBYFLOAT\r\n$1\r\nf\r\n$4\r\n0.25\r\n");
    ASSERT_OK(reds_geoadd(test_cap, S("g"), &(reds_geo_member){13.361389, 38.115556, S("Palermo")},
                          1, NULL, NULL));
    ASSERT_SENT("*5\r\n$6\r\nGEOADD\r\n$1\r\ng\r\n$9\r\n13.361389\r\n$9\r\n38.115556\r\n"
                "$7\r\nPalermo\r\n");
}
END_TEST

/* Whatever the double, the bytes are those of the C locale. */
START_TEST(every_double_as_in_the_c_locale)
{
    static const double values[] = {0.1,
                                    0.1 + 0.2,
                                    -2.5,
                                    1e300,
                                    -1e-300,
                                    5e-324,
                                    1.7976931348623157e308,
                                    1e21,
                                    1e-5,
                                    0.015625,
                                    -0.0,
                                    1.5e16,
                                    HUGE_VAL,
                                    -HUGE_VAL,
                                    1.0 / 3,
                                    123.456,
                                    -7,
                                    4503599627370497.5};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char in_c[128];
        size_t in_c_len;
        ck_assert_ptr_nonnull(setlocale(LC_NUMERIC, "C"));
        ASSERT_OK(reds_incrbyfloat(test_cap, S("f"), values[i], NULL));
        ck_assert_uint_lt(test_sent_len, sizeof in_c);
        memcpy(in_c, test_sent, test_sent_len);
        in_c_len = test_sent_len;
        ck_assert_ptr_nonnull(setlocale(LC_NUMERIC, LOCALE));
        ASSERT_OK(reds_incrbyfloat(test_cap, S("f"), values[i], NULL));
        ck_assert_msg(test_sent_len == in_c_len && memcmp(test_sent, in_c, in_c_len) == 0,
                      "values[%zu]: sent %s, the C locale %s", i,
                      test_escaped(test_sent, test_sent_len), test_escaped(in_c, in_c_len));
        ck_assert_msg(!memchr(test_sent, ',', test_sent_len), "values[%zu]: sent %s", i,
                      test_escaped(test_sent, test_sent_len));
    }
}
END_TEST

/* ------------------------------------------------------------- parsing */

static double parsed(const char *text)
{
    double d = -12345;
    reds_err err = test_convert(reds__conv_double, test_parse_bulk(text), &d);
    ck_assert_msg(err == REDS_OK, "\"%s\": %s (%s)", text, reds_err_name(err), reds_errmsg());
    return d;
}

START_TEST(parses_c_locale_text)
{
    ck_assert(parsed("1.5") == 1.5);
    double d = parsed("-inf");
    ck_assert(isinf(d) && d < 0);
    ck_assert(parsed("3.0e10") == 3.0e10);
    ck_assert(parsed("0.30000000000000004") == 0.1 + 0.2);
    ck_assert(parsed("-2.5e-300") == -2.5e-300);
    /* A comma is no decimal point: the server never writes one. */
    ck_assert_int_eq(test_convert(reds__conv_double, test_parse_bulk("1,5"), &d),
                     REDS_ERR_INVALID_RESPONSE);
    /* The public accessor reads the same way. */
    ck_assert_int_eq(reds_reply_double(test_parse_bulk("0.25"), &d), REDS_OK);
    ck_assert(d == 0.25);
}
END_TEST

/* ------------------------------------------------- against a real server */

static reds_client *c;

static void server_setup(void)
{
    test_flush();
    c = test_client(NULL);
}

static void server_teardown(void)
{
    reds_client_free(c);
    c = NULL;
}

START_TEST(zadd_then_zscore)
{
    int64_t added = -1;
    ASSERT_OK(reds_zadd(c, S("z"), &(reds_score_member){1.5, S("a")}, 1, NULL, &added));
    ck_assert_int_eq(added, 1);
    reds_opt_f64 score = {false, -12345};
    ASSERT_OK(reds_zscore(c, S("z"), S("a"), &score));
    ck_assert(score.set);
    ck_assert_msg(score.value == 1.5, "score %.17g", score.value);
    /* What the server stored, as it writes it. */
    reds_reply *r = test_run(c, "ZSCORE", "z", "a", NULL);
    reds_str text;
    ASSERT_OK(reds_reply_str(r, &text));
    ASSERT_STR(&text, "1.5");
    reds_free(r);
    /* A score set without reds is read back exactly. */
    char line[64];
    test_raw("ZADD z 0.1 b", line, sizeof line);
    ck_assert_str_eq(line, ":1");
    ASSERT_OK(reds_zscore(c, S("z"), S("b"), &score));
    ck_assert(score.set && score.value == 0.1);
}
END_TEST

START_TEST(incrbyfloat)
{
    char line[64];
    test_raw("SET f 1.5", line, sizeof line);
    double d = -12345;
    ASSERT_OK(reds_incrbyfloat(c, S("f"), 0.25, &d));
    ck_assert_msg(d == 1.75, "INCRBYFLOAT gave %.17g", d);
    ASSERT_OK(reds_incrbyfloat(c, S("f"), -1e-3, &d));
    ck_assert_msg(d == 1.749, "INCRBYFLOAT gave %.17g", d);
    reds_reply *r = test_run(c, "GET", "f", NULL);
    reds_str text;
    ASSERT_OK(reds_reply_str(r, &text));
    ASSERT_STR(&text, "1.749");
    reds_free(r);
}
END_TEST

START_TEST(geoadd_then_geopos)
{
    int64_t added = -1;
    reds_geo_member palermo = {13.361389, 38.115556, S("Palermo")};
    ASSERT_OK(reds_geoadd(c, S("Sicily"), &palermo, 1, NULL, &added));
    ck_assert_int_eq(added, 1);
    reds_geo_pos_list *pos = NULL;
    ASSERT_OK(reds_geopos(c, S("Sicily"), STRS(S("Palermo")), 1, &pos));
    ck_assert_uint_eq(pos->count, 1);
    ck_assert(pos->items[0].set);
    /* Positions go through a 52-bit geohash: within the server's precision. */
    ck_assert_msg(fabs(pos->items[0].longitude - 13.361389) < 1e-5, "longitude %.17g",
                  pos->items[0].longitude);
    ck_assert_msg(fabs(pos->items[0].latitude - 38.115556) < 1e-5, "latitude %.17g",
                  pos->items[0].latitude);
    reds_free(pos);
}
END_TEST

START_TEST(zscan_scores)
{
    char line[64];
    test_raw("ZADD z 2.5 a", line, sizeof line);
    ck_assert_str_eq(line, ":1");
    reds_scan_iter *it = NULL;
    ASSERT_OK(reds_zscan_iter_new(c, S("z"), NULL, &it));
    const reds_scan_item *item = NULL;
    ASSERT_OK(reds_scan_iter_next(it, &item));
    ck_assert_ptr_nonnull(item);
    ASSERT_STR(&item->key, "a");
    ASSERT_STR(&item->value, "2.5");
    ck_assert_msg(item->score == 2.5, "score %.17g", item->score);
    reds_scan_iter_free(it);
}
END_TEST

/* ---------------------------------------------------- letter case */

START_TEST(url_words_in_any_case)
{
    reds_options *o = NULL;
    ASSERT_OK(reds_url_parse("REDISS://h:1/?ssl_cert_reqs=REQUIRED", NULL, &o));
    ck_assert(o->tls);
    ck_assert_int_eq(o->tls_verify, REDS_TLS_VERIFY_FULL);
    reds_free(o);
    o = NULL;
    ASSERT_OK(
        reds_url_parse("Rediss://h:1/?ssl_cert_reqs=None&ssl_check_hostname=FALSE", NULL, &o));
    ck_assert(o->tls);
    ck_assert_int_eq(o->tls_verify, REDS_TLS_VERIFY_NONE_INSECURE);
    reds_free(o);
    o = NULL;
    ASSERT_ERR(reds_url_parse("redis://h:1/?ssl_cert_reqs=REQUİRED", NULL, &o), REDS_ERR_DATA);
}
END_TEST

START_TEST(container_commands_in_any_case)
{
    /* "client" is a container whatever the locale: the error names both
     * words the user sent. */
    reds_reply *r = NULL;
    ASSERT_ERR(reds_execute_command(c, 2, STRS(S("client"), S("nosuchsub")), &r),
               REDS_ERR_RESPONSE);
    ck_assert_msg(strncmp(reds_errmsg(), "client nosuchsub: ", 18) == 0, "%s", reds_errmsg());
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("locale");
    TCase *tc = tcase_create("pack");
    tcase_add_checked_fixture(tc, enter_locale, leave_locale);
    tcase_add_test(tc, packs_the_c_locale_bytes);
    tcase_add_test(tc, every_double_as_in_the_c_locale);
    suite_add_tcase(s, tc);

    tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, enter_locale, leave_locale);
    tcase_add_checked_fixture(tc, NULL, test_arena_clear);
    tcase_add_test(tc, parses_c_locale_text);
    suite_add_tcase(s, tc);

    tc = tcase_create("server");
    tcase_add_checked_fixture(tc, enter_locale, leave_locale);
    tcase_add_checked_fixture(tc, server_setup, server_teardown);
    tcase_add_test(tc, zadd_then_zscore);
    tcase_add_test(tc, incrbyfloat);
    tcase_add_test(tc, geoadd_then_geopos);
    tcase_add_test(tc, zscan_scores);
    suite_add_tcase(s, tc);

    tc = tcase_create("case");
    tcase_add_checked_fixture(tc, enter_turkish, leave_locale);
    tcase_add_checked_fixture(tc, server_setup, server_teardown);
    tcase_add_test(tc, url_words_in_any_case);
    tcase_add_test(tc, container_commands_in_any_case);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    build_locale();
    int rc = test_main(suite(), true);
    if (locale_dir[0])
        nftw(locale_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
