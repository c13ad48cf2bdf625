/* reds quickstart: typed Redis commands from C.
 *
 *   make demo    (runs this against a throwaway redis-server)
 *
 * Connects to REDS_HOST:REDS_PORT (default 127.0.0.1:6379). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <reds/reds.h>

static int fail(const char *what, reds_err err)
{
    fprintf(stderr, "%s failed: %s: %s\n", what, reds_err_name(err), reds_errmsg());
    return 1;
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

    /* SET with options: a zero-initialised struct, set what you need. */
    reds_set_opts set_opts = {.ex = REDS_I64(60)};
    bool stored;
    if ((err = reds_set(r, REDS_STR("greeting"), REDS_STR("hello from reds"), &set_opts, &stored)))
        return fail("SET", err);
    printf("SET greeting      -> %s\n", stored ? "OK" : "not set");

    /* GET returns an owned string (NULL for a missing key). */
    reds_str *value;
    if ((err = reds_get(r, REDS_STR("greeting"), &value)))
        return fail("GET", err);
    printf("GET greeting      -> \"%s\"\n", value ? value->ptr : "(nil)");
    reds_free(value);

    int64_t ttl;
    if ((err = reds_ttl(r, REDS_STR("greeting"), &ttl)))
        return fail("TTL", err);
    printf("TTL greeting      -> %" PRId64 " s\n", ttl);

    int64_t visits;
    for (int i = 0; i < 3; i++)
        if ((err = reds_incr(r, REDS_STR("visits"), &visits)))
            return fail("INCR", err);
    printf("INCR visits x3    -> %" PRId64 "\n", visits);

    /* Compound repeats are arrays of small structs. */
    reds_field_value fields[] = {{REDS_STR("name"), REDS_STR("Ada")},
                                 {REDS_STR("lang"), REDS_STR("C")}};
    int64_t added;
    if ((err = reds_hset(r, REDS_STR("user:1"), fields, 2, &added)))
        return fail("HSET", err);
    reds_map *user;
    if ((err = reds_hgetall(r, REDS_STR("user:1"), &user)))
        return fail("HGETALL", err);
    printf("HGETALL user:1    ->");
    for (size_t i = 0; i < user->count; i++)
        printf(" %s=%s", user->items[i].key.ptr, user->items[i].value.ptr);
    printf("\n");
    reds_free(user);

    /* Errors carry redis-py's exception kinds and the server's message. */
    err = reds_incr(r, REDS_STR("user:1"), &visits);
    printf("INCR user:1       -> %s (%s)\n", reds_err_name(err), reds_errmsg());

    reds_str keys[] = {REDS_STR("greeting"), REDS_STR("visits"), REDS_STR("user:1")};
    int64_t deleted;
    if ((err = reds_del(r, keys, 3, &deleted)))
        return fail("DEL", err);
    printf("DEL 3 keys        -> %" PRId64 "\n", deleted);

    reds_client_free(r);
    return 0;
}
