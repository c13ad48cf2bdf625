/* reds latency: per-command latency histograms from the hooks.
 *
 *   make examples && build/tools/with-redis build/examples/latency
 *
 * A reds_hooks.on_command callback sees every command once it completes
 * (name, server, duration, bytes, outcome); this one files each duration
 * into a histogram per command name, in log2 buckets of microseconds,
 * and on_connection counts connections. A small workload runs, then the
 * histograms are printed. Hooks run on whichever thread runs the
 * command, so the tables are behind a mutex.
 *
 * Connects to REDS_HOST:REDS_PORT (default 127.0.0.1:6379). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reds/reds.h>

#define MAX_COMMANDS 32
#define BUCKETS      24 /* up to 2^24 us: 16 s */

typedef struct histogram {
    char command[32];
    uint64_t count, errors, total_ns, max_ns, bytes_out, bytes_in;
    uint64_t bucket[BUCKETS]; /* bucket b: [2^b, 2^(b+1)) us; 0 also holds < 1 us */
} histogram;

typedef struct stats {
    pthread_mutex_t lock;
    histogram h[MAX_COMMANDS];
    size_t n;
    uint64_t connects, closes;
} stats;

static int bucket_of(uint64_t ns)
{
    uint64_t us = ns / 1000;
    int b = 0;
    while (us > 1 && b < BUCKETS - 1) {
        us >>= 1;
        b++;
    }
    return b;
}

static void on_command(const reds_command_event *ev, void *udata)
{
    stats *s = (stats *)udata;
    pthread_mutex_lock(&s->lock);
    histogram *h = NULL;
    for (size_t i = 0; i < s->n && !h; i++)
        if (strcmp(s->h[i].command, ev->command) == 0)
            h = &s->h[i];
    if (!h && s->n < MAX_COMMANDS) {
        h = &s->h[s->n++];
        snprintf(h->command, sizeof h->command, "%s", ev->command);
    }
    if (h) {
        h->count++;
        h->errors += ev->outcome != REDS_OK;
        h->total_ns += ev->duration_ns;
        if (ev->duration_ns > h->max_ns)
            h->max_ns = ev->duration_ns;
        h->bytes_out += ev->bytes_out;
        h->bytes_in += ev->bytes_in;
        h->bucket[bucket_of(ev->duration_ns)]++;
    }
    pthread_mutex_unlock(&s->lock);
}

static void on_connection(const reds_connection_event *ev, void *udata)
{
    stats *s = (stats *)udata;
    pthread_mutex_lock(&s->lock);
    if (ev->kind == REDS_EVENT_CONNECT)
        s->connects++;
    else if (ev->kind == REDS_EVENT_CLOSE)
        s->closes++;
    pthread_mutex_unlock(&s->lock);
}

static void print(const stats *s)
{
    for (size_t i = 0; i < s->n; i++) {
        const histogram *h = &s->h[i];
        printf("%s: %" PRIu64 " calls, %" PRIu64 " errors, mean %.1f us, max %.1f us, "
               "%" PRIu64 " bytes out, %" PRIu64 " in\n",
               h->command, h->count, h->errors, (double)h->total_ns / (double)h->count / 1e3,
               (double)h->max_ns / 1e3, h->bytes_out, h->bytes_in);
        uint64_t most = 0;
        for (int b = 0; b < BUCKETS; b++)
            if (h->bucket[b] > most)
                most = h->bucket[b];
        for (int b = 0; b < BUCKETS; b++) {
            if (!h->bucket[b])
                continue;
            int bar = (int)((h->bucket[b] * 40 + most - 1) / most);
            printf("  %7llu .. %7llu us |%-40.*s| %" PRIu64 "\n", b ? 1ull << b : 0ull,
                   1ull << (b + 1), bar, "########################################", h->bucket[b]);
        }
    }
    printf("connections: %" PRIu64 " opened, %" PRIu64 " closed\n", s->connects, s->closes);
}

static int fail(const char *what, reds_err err)
{
    fprintf(stderr, "%s failed: %s: %s\n", what, reds_err_name(err), reds_errmsg());
    return 1;
}

int main(void)
{
    static stats s;
    pthread_mutex_init(&s.lock, NULL);
    reds_hooks hooks = {on_command, on_connection, &s};

    reds_options opts = {0};
    opts.host = getenv("REDS_HOST");
    opts.port = getenv("REDS_PORT") ? atoi(getenv("REDS_PORT")) : 0;
    opts.hooks = &hooks; /* copied: `hooks` need not outlive the client, `s` must */

    reds_client *r;
    reds_err err = reds_client_new(&opts, &r);
    if (err)
        return fail("reds_client_new", err);

    /* A small workload: single commands, a list read back, a pipeline. */
    char key[32], val[64];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "latency:%d", i % 50);
        snprintf(val, sizeof val, "value-%d", i);
        if ((err = reds_set(r, reds_cstr(key), reds_cstr(val), NULL, NULL)))
            return fail("SET", err);
        reds_str *got = NULL;
        if ((err = reds_get(r, reds_cstr(key), &got)))
            return fail("GET", err);
        reds_free(got);
        int64_t n;
        if ((err = reds_incr(r, REDS_STR("latency:counter"), &n)))
            return fail("INCR", err);
        reds_str elem = reds_cstr(val);
        if ((err = reds_rpush(r, REDS_STR("latency:list"), &elem, 1, &n)))
            return fail("RPUSH", err);
    }
    for (int i = 0; i < 20; i++) {
        reds_strlist *items = NULL;
        if ((err = reds_lrange(r, REDS_STR("latency:list"), 0, -1, &items)))
            return fail("LRANGE", err);
        reds_free(items);
    }
    reds_client *p;
    if ((err = reds_pipeline_new(r, false, &p)))
        return fail("reds_pipeline_new", err);
    for (int batch = 0; batch < 10; batch++) {
        for (int i = 0; i < 100; i++) {
            snprintf(key, sizeof key, "latency:%d", i % 50);
            if ((err = reds_get(p, reds_cstr(key), NULL)))
                return fail("GET (queued)", err);
        }
        if ((err = reds_pipeline_execute(p)))
            return fail("pipeline", err);
    }
    reds_client_free(p);
    /* An error is a command too: counted, with its outcome. */
    int64_t n;
    err = reds_incr(r, REDS_STR("latency:list"), &n);
    printf("INCR of a list     -> %s (expected)\n\n", reds_err_name(err));

    reds_str keys[] = {REDS_STR("latency:counter"), REDS_STR("latency:list")};
    reds_del(r, keys, 2, NULL);
    reds_client_free(r);
    print(&s);
    return 0;
}
