/* reds async: typed commands on an event loop (libevent).
 *
 *   make examples build/tools/with-redis && build/tools/with-redis build/examples/async
 *   build/examples/async redis://127.0.0.1:6379/0
 *
 * A non-blocking handle (<reds/async.h>) is a reds_client on which every
 * generated command queues and returns at once; the reply is converted
 * into the command's typed output and a completion runs from the loop.
 * <reds/async/libevent.h> drives the handle with a libevent base (link
 * with -levent). This program queues a few commands and prints their
 * replies, then keeps 100 INCRs in flight until 1,000 completed, and
 * frees the handle in the last completion: the loop then has nothing
 * left to wait for and returns.
 *
 * Connects to the URL given as argument, or REDS_URL, or else
 * REDS_HOST:REDS_PORT (default redis://127.0.0.1:6379). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <reds/async/libevent.h>
#include <reds/reds.h>

#define INCRS 1000 /* INCRs in all */
#define DEPTH 100  /* of which at most this many are in flight */

#define COUNTER "async:counter"

/* Where the replies land. A command's output must live until its
 * completion has run (its arguments, packed at once, need not): here, in
 * one struct that outlives the loop. */
typedef struct app {
    reds_client *c; /* NULL once freed */
    bool stored;
    reds_str *greeting;
    reds_strlist *list;
    reds_map *user;
    int64_t wrong, deleted;
    int64_t counters[DEPTH]; /* one per INCR in flight */
    long issued, done;
    int64_t highest;
    int failures;
} app;

/* Free the handle, once. Its pending commands complete first (with
 * REDS_ERR_CONNECTION), then the adapter lets go of the loop. */
static void finish(app *a)
{
    reds_client *c = a->c;
    a->c = NULL;
    reds_client_free(c);
}

/* Report an error; give up when the connection is gone (the handle
 * would keep reconnecting: a server may come back). */
static bool failed(app *a, const char *what, reds_err err)
{
    if (!err)
        return false;
    if (a->c) {
        fprintf(stderr, "%s failed: %s: %s\n", what, reds_err_name(err), reds_errmsg());
        a->failures++;
    }
    if (a->c && (reds_err_is(err, REDS_ERR_CONNECTION) || err == REDS_ERR_TIMEOUT))
        finish(a);
    return true;
}

static void on_set(reds_client *c, reds_err err, void *out, void *udata)
{
    (void)c;
    if (!failed((app *)udata, "SET", err))
        printf("SET greeting       -> %s\n", *(bool *)out ? "OK" : "not set");
}

static void on_get(reds_client *c, reds_err err, void *out, void *udata)
{
    (void)c;
    reds_str *value = *(reds_str **)out; /* owned: ours to free */
    if (!failed((app *)udata, "GET", err))
        printf("GET greeting       -> \"%s\"\n", value ? value->ptr : "(nil)");
    reds_free(value);
}

static void on_lrange(reds_client *c, reds_err err, void *out, void *udata)
{
    (void)c;
    reds_strlist *list = *(reds_strlist **)out;
    if (!failed((app *)udata, "LRANGE", err)) {
        printf("LRANGE list 0 -1   ->");
        for (size_t i = 0; i < list->count; i++)
            printf(" %s", list->items[i].ptr);
        printf("\n");
    }
    reds_free(list);
}

static void on_hgetall(reds_client *c, reds_err err, void *out, void *udata)
{
    (void)c;
    reds_map *user = *(reds_map **)out;
    if (!failed((app *)udata, "HGETALL", err)) {
        printf("HGETALL user       ->");
        for (size_t i = 0; i < user->count; i++)
            printf(" %s=%s", user->items[i].key.ptr, user->items[i].value.ptr);
        printf("\n");
    }
    reds_free(user);
}

/* A server error reaches the completion like any other outcome. */
static void on_wrongtype(reds_client *c, reds_err err, void *out, void *udata)
{
    (void)c;
    (void)out;
    if (reds_err_is(err, REDS_ERR_RESPONSE))
        printf("INCR user          -> %s (%s)\n", reds_err_name(err), reds_errmsg());
    else if (!failed((app *)udata, "INCR user", err))
        fprintf(stderr, "INCR user: no error?\n");
}

static void on_cleanup(reds_client *c, reds_err err, void *out, void *udata)
{
    (void)c;
    app *a = (app *)udata;
    if (!failed(a, "DEL", err))
        printf("DEL 4 keys         -> %" PRId64 "\n", *(int64_t *)out);
    if (a->c)
        finish(a); /* the last completion: the loop ends */
}

/* One INCR done: issue the next into the same output, so that DEPTH stay
 * in flight; after the last, check the count and clean up. */
static void on_incr(reds_client *c, reds_err err, void *out, void *udata)
{
    app *a = (app *)udata;
    int64_t *counter = (int64_t *)out;
    a->done++;
    if (failed(a, "INCR", err)) {
        if (!a->c)
            return; /* given up */
    } else if (*counter > a->highest) {
        a->highest = *counter;
    }
    if (a->issued < INCRS) {
        a->issued++;
        err = REDS_ASYNC(c, on_incr, a, reds_incr(c, REDS_STR(COUNTER), counter));
        if (!err)
            return;
        a->issued--; /* nothing was queued */
        if (failed(a, "INCR", err) && !a->c)
            return;
    }
    if (a->done < a->issued)
        return;
    printf("INCR counter x%-5d-> %" PRId64 " (%d in flight)\n", INCRS, a->highest, DEPTH);
    if (a->highest != INCRS)
        a->failures++;
    reds_str keys[] = {REDS_STR("async:greeting"), REDS_STR("async:list"), REDS_STR("async:user"),
                       REDS_STR(COUNTER)};
    failed(a, "DEL", REDS_ASYNC(c, on_cleanup, a, reds_del(c, keys, 4, &a->deleted)));
}

/* Queue everything at once: it leaves in one write when the loop runs.
 * A call that returns an error queued nothing (its completion never
 * runs); one that returns REDS_OK completes exactly once. */
static reds_err start(app *a)
{
    reds_client *c = a->c;
    reds_str keys[] = {REDS_STR("async:greeting"), REDS_STR("async:list"), REDS_STR("async:user"),
                       REDS_STR(COUNTER)};
    reds_str items[] = {REDS_STR("one"), REDS_STR("two"), REDS_STR("three")};
    reds_field_value fields[] = {{REDS_STR("name"), REDS_STR("Ada")},
                                 {REDS_STR("lang"), REDS_STR("C")}};
    reds_err err;
    /* No completion: the reply is dropped and the output (NULL) unused. */
    if ((err = reds_del(c, keys, 4, NULL)))
        return err;
    if ((err = REDS_ASYNC(c, on_set, a,
                          reds_set(c, keys[0], REDS_STR("hello from the loop"), NULL, &a->stored))))
        return err;
    if ((err = REDS_ASYNC(c, on_get, a, reds_get(c, keys[0], &a->greeting))))
        return err;
    if ((err = reds_rpush(c, keys[1], items, 3, NULL)))
        return err;
    if ((err = REDS_ASYNC(c, on_lrange, a, reds_lrange(c, keys[1], 0, -1, &a->list))))
        return err;
    if ((err = reds_hset(c, keys[2], fields, 2, NULL)))
        return err;
    if ((err = REDS_ASYNC(c, on_hgetall, a, reds_hgetall(c, keys[2], &a->user))))
        return err;
    if ((err = REDS_ASYNC(c, on_wrongtype, a, reds_incr(c, keys[2], &a->wrong))))
        return err;
    for (int i = 0; i < DEPTH && a->issued < INCRS; i++) {
        a->issued++;
        if ((err = REDS_ASYNC(c, on_incr, a, reds_incr(c, keys[3], &a->counters[i])))) {
            a->issued--;
            return err;
        }
    }
    return REDS_OK;
}

int main(int argc, char **argv)
{
    char url[512];
    const char *host = getenv("REDS_HOST"), *port = getenv("REDS_PORT");
    if (argc > 1)
        snprintf(url, sizeof url, "%s", argv[1]);
    else if (getenv("REDS_URL"))
        snprintf(url, sizeof url, "%s", getenv("REDS_URL"));
    else
        snprintf(url, sizeof url, "redis://%s:%s", host ? host : "127.0.0.1", port ? port : "6379");

    static app a; /* outlives the loop: the outputs live in it */
    reds_err err = reds_async_from_url(url, NULL, &a.c);
    if (err) {
        fprintf(stderr, "reds_async_from_url: %s: %s\n", reds_err_name(err), reds_errmsg());
        return 1;
    }
    struct event_base *base = event_base_new();
    if (!base) {
        fprintf(stderr, "event_base_new failed\n");
        reds_client_free(a.c);
        return 1;
    }
    /* Connecting starts here; commands may be queued before or after. */
    if ((err = reds_libevent_attach(a.c, base)) || (err = start(&a))) {
        fprintf(stderr, "%s: %s\n", reds_err_name(err), reds_errmsg());
        finish(&a); /* what was queued completes now, with an error */
        event_base_free(base);
        return 1;
    }
    event_base_dispatch(base); /* until the handle is freed */
    event_base_free(base);
    return a.failures ? 1 : 0;
}
