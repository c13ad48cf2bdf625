/* An application outside the reds tree, built by tests/outside/run.sh
 * (make test-install) against an installed reds: with pkg-config, CMake
 * and plain cc -lreds, as C11 and (main.cpp) as C++17. It runs a few
 * commands against REDS_HOST:REDS_PORT and prints what it got; run.sh
 * compares the output.
 *
 *     outside LABEL */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reds/reds.h>

static int fail(const char *what, reds_err err)
{
    fprintf(stderr, "%s failed: %s: %s\n", what, reds_err_name(err), reds_errmsg());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s LABEL\n", argv[0]);
        return 2;
    }
#ifdef __cplusplus
    const char *lang = "C++";
#else
    const char *lang = "C";
#endif
    /* The header the program was compiled with names the library it runs with. */
    if (strcmp(reds_version(), REDS_VERSION) != 0 || reds_version_number() != REDS_VERSION_NUMBER) {
        fprintf(stderr, "runs with reds %s, compiled against %s\n", reds_version(), REDS_VERSION);
        return 1;
    }
    printf("%s: %s, reds %s, compiled against %d.%d.%d\n", argv[1], lang, reds_version(),
           REDS_VERSION_MAJOR, REDS_VERSION_MINOR, REDS_VERSION_PATCH);

    /* Zeroed, then set: the same source compiles as C and as C++. */
    reds_options opts;
    memset(&opts, 0, sizeof opts);
    opts.host = getenv("REDS_HOST");
    opts.port = getenv("REDS_PORT") ? atoi(getenv("REDS_PORT")) : 0;
    reds_client *r;
    reds_err err = reds_client_new(&opts, &r);
    if (err)
        return fail("reds_client_new", err);

    char key[128];
    snprintf(key, sizeof key, "outside:%s", argv[1]);
    reds_set_opts set_opts;
    memset(&set_opts, 0, sizeof set_opts);
    set_opts.ex = REDS_I64(60);
    set_opts.condition = REDS_SET_CONDITION_NX;
    bool stored;
    if ((err = reds_set(r, reds_cstr(key), reds_cstr(argv[1]), &set_opts, &stored)))
        return fail("SET", err);
    reds_str *value;
    if ((err = reds_get(r, reds_cstr(key), &value)))
        return fail("GET", err);
    printf("SET NX -> %s, GET -> %s\n", stored ? "stored" : "not stored",
           value ? value->ptr : "(nil)");
    reds_free(value);

    int64_t n = 0;
    snprintf(key, sizeof key, "outside:%s:count", argv[1]);
    for (int i = 0; i < 3; i++)
        if ((err = reds_incr(r, reds_cstr(key), &n)))
            return fail("INCR", err);
    printf("INCR x3 -> %" PRId64 "\n", n);

    /* An error reply is a typed error, with the server's message. */
    snprintf(key, sizeof key, "outside:%s", argv[1]);
    reds_field_value fields[] = {{REDS_STR("f"), REDS_STR("v")}};
    err = reds_hset(r, reds_cstr(key), fields, 1, NULL);
    printf("HSET on a string -> %s\n", reds_err_name(err));

    reds_client_free(r);
    return reds_err_is(err, REDS_ERR_RESPONSE) ? 0 : 1;
}
