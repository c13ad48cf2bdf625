/* reds extensions: commands the library does not bind, from YAML of the
 * application's own, without forking reds.
 *
 *   make examples    (generates, builds and links this one too)
 *
 * spec/ holds the application's commands in the catalogue's schema: a
 * module's (JSON.SET, JSON.GET: dotted names, sent as written), Redis
 * 7.4's hash field expiry (HEXPIRE, HTTL...: newer than the library's
 * catalogue) and two real commands in shapes of the application's own.
 * An application outside the reds tree builds it the same way, with the
 * public headers and the library only:
 *
 *   python3 codegen/generate.py --addon --prefix myapp --spec spec --out gen
 *   cc -Igen -c gen/myapp_commands.c main.c
 *   cc main.o myapp_commands.o -lreds -lhiredis -lssl -lcrypto -lpthread -lm
 *
 * Connects to REDS_HOST:REDS_PORT (default 127.0.0.1:6379). Commands the
 * server lacks (no JSON module, a server older than 7.4) are reported and
 * skipped. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reds/reds.h>

#include "myapp_commands.h"

static int fail(const char *what, reds_err err)
{
    fprintf(stderr, "%s failed: %s: %s\n", what, reds_err_name(err), reds_errmsg());
    return 1;
}

/* A server without the command answers with an error reply. */
static bool missing(reds_err err)
{
    return err == REDS_ERR_RESPONSE && strstr(reds_errmsg(), "unknown command");
}

static void print_ints(const char *what, const reds_intlist *l)
{
    printf("%-28s ->", what);
    for (size_t i = 0; i < l->count; i++)
        printf(" %" PRId64, l->items[i]);
    printf("\n");
}

int main(void)
{
    reds_options opts = {0};
    opts.host = getenv("REDS_HOST");
    opts.port = getenv("REDS_PORT") ? atoi(getenv("REDS_PORT")) : 0;

    reds_client *r;
    reds_err err = reds_client_new(&opts, &r);
    if (err)
        return fail("reds_client_new", err);

    /* WAITAOF (Redis 7.2, Valkey 7.2), bound by the application as a list
     * of two counts. */
    reds_intlist *acks;
    err = myapp_waitaof(r, 0, 0, 0, &acks);
    if (missing(err)) {
        printf("WAITAOF 0 0 0                -> the server is older than 7.2\n");
    } else if (err) {
        return fail("WAITAOF", err);
    } else {
        print_ints("WAITAOF 0 0 0", acks);
        reds_free(acks);
    }

    /* A module command: JSON.SET and JSON.GET go out as written. */
    myapp_json_set_opts nx = {.condition = MYAPP_JSON_SET_CONDITION_NX};
    bool stored;
    err = myapp_json_set(r, REDS_STR("doc"), REDS_STR("$"), REDS_STR("{\"a\":1}"), &nx, &stored);
    if (missing(err)) {
        printf("JSON.SET doc $ {\"a\":1} NX   -> the server has no JSON module\n");
    } else if (err) {
        return fail("JSON.SET", err);
    } else {
        reds_str *json;
        if ((err = myapp_json_get(r, REDS_STR("doc"), NULL, &json)))
            return fail("JSON.GET", err);
        printf("JSON.GET doc                 -> %s\n", json ? json->ptr : "(nil)");
        reds_free(json);
    }

    /* Redis 7.4's hash field expiry: FIELDS and the count come from the
     * array, so they cannot disagree. */
    reds_field_value fv[] = {{REDS_STR("token"), REDS_STR("t0k3n")}};
    if ((err = reds_hset(r, REDS_STR("session"), fv, 1, NULL)))
        return fail("HSET", err);
    const reds_str fields[] = {REDS_STR("token"), REDS_STR("absent")};
    reds_intlist *set;
    err = myapp_hexpire(r, REDS_STR("session"), 60, fields, 2, NULL, &set);
    if (missing(err)) {
        printf("HEXPIRE session 60 FIELDS 2  -> the server is older than Redis 7.4\n");
    } else if (err) {
        return fail("HEXPIRE", err);
    } else {
        print_ints("HEXPIRE session 60 FIELDS 2", set);
        reds_free(set);
        reds_intlist *ttl;
        if ((err = myapp_httl(r, REDS_STR("session"), fields, 2, &ttl)))
            return fail("HTTL", err);
        print_ints("HTTL session FIELDS 2", ttl);
        reds_free(ttl);
    }

    reds_client_free(r);
    return 0;
}
