/* Publish/subscribe against a real server: every subscribe kind, messages
 * byte for byte (binary, 1 MB), handlers, the three ways to read, the
 * background thread started and stopped repeatedly, subscriptions from
 * other threads, and re-subscription after CLIENT KILL, a server restart
 * and a failed health check (a proxy that silently stops forwarding). */
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* ---------------------------------------------------------------- helpers */

static reds_pubsub *new_pubsub(reds_client *c, const reds_pubsub_options *o)
{
    reds_pubsub *ps = NULL;
    ASSERT_OK(reds_pubsub_new(c, o, &ps));
    ck_assert_ptr_nonnull(ps);
    return ps;
}

/* The next message that reaches the caller (handled ones are skipped). */
static reds_pubsub_message *next_msg(reds_pubsub *ps)
{
    for (int i = 0; i < 50; i++) {
        reds_pubsub_message *m = NULL;
        ASSERT_OK(reds_pubsub_get_message(ps, 2000, &m));
        if (m)
            return m;
    }
    ck_abort_msg("no message came");
    return NULL;
}

static bool same(reds_str s, const char *p, size_t len)
{
    return s.ptr && s.len == len && (len == 0 || memcmp(s.ptr, p, len) == 0) && s.ptr[len] == 0;
}

#define SAME(s, lit) same((s), "" lit, sizeof(lit) - 1)

/* Check the next message's kind, channel and count (confirmations). */
static void expect_confirmation(reds_pubsub *ps, reds_pubsub_kind kind, const char *channel,
                                size_t len, int64_t count)
{
    reds_pubsub_message *m = next_msg(ps);
    ck_assert_msg(m->kind == kind, "kind %s, expected %s", reds_pubsub_kind_name(m->kind),
                  reds_pubsub_kind_name(kind));
    if (channel)
        ck_assert_msg(same(m->channel, channel, len), "channel \"%.*s\", expected \"%s\"",
                      (int)m->channel.len, m->channel.ptr ? m->channel.ptr : "(nil)", channel);
    else
        ck_assert_ptr_null(m->channel.ptr);
    ck_assert_ptr_null(m->pattern.ptr);
    ck_assert_int_eq(m->count, count);
    reds_free(m);
}

static reds_reply *run(reds_client *c, size_t argc, const reds_str *argv)
{
    reds_reply *r = NULL;
    ASSERT_OK(reds_execute_command(c, argc, argv, &r));
    return r;
}

static int64_t int_command(reds_client *c, size_t argc, const reds_str *argv)
{
    reds_reply *r = run(c, argc, argv);
    ck_assert_int_eq(r->type, REDS_REPLY_INTEGER);
    int64_t v = r->integer;
    reds_free(r);
    return v;
}

static int64_t publish_n(reds_client *c, const char *cmd, reds_str channel, reds_str data)
{
    reds_str argv[] = {reds_cstr(cmd), channel, data};
    return int_command(c, 3, argv);
}

static int64_t publish(reds_client *c, reds_str channel, reds_str data)
{
    return publish_n(c, "PUBLISH", channel, data);
}

/* Publish until someone receives it (a subscription made on another
 * connection may not be active yet). */
static void publish_until_heard(reds_client *c, const char *cmd, reds_str channel, reds_str data,
                                int64_t receivers)
{
    for (int i = 0; i < 5000; i++) {
        if (publish_n(c, cmd, channel, data) >= receivers)
            return;
        sleep_ms(2);
    }
    ck_abort_msg("nobody subscribed to %.*s", (int)channel.len, channel.ptr);
}

/* PUBSUB NUMSUB / SHARDNUMSUB for one channel. */
static int64_t numsub(reds_client *c, const char *sub, reds_str channel)
{
    reds_str argv[] = {REDS_STR("PUBSUB"), reds_cstr(sub), channel};
    reds_reply *r = run(c, 3, argv);
    ck_assert_int_eq(r->type, REDS_REPLY_ARRAY);
    ck_assert_uint_eq(r->len, 2);
    ck_assert(same(r->element[0].str ? reds_strn(r->element[0].str, r->element[0].len)
                                     : reds_strn(NULL, 0),
                   channel.ptr, channel.len));
    int64_t n = r->element[1].integer;
    reds_free(r);
    return n;
}

static int64_t numpat(reds_client *c)
{
    reds_str argv[] = {REDS_STR("PUBSUB"), REDS_STR("NUMPAT")};
    return int_command(c, 2, argv);
}

/* Wait (boundedly) until the server counts `want` subscribers of a channel
 * ("NUMSUB", "SHARDNUMSUB") or patterns ("NUMPAT", channel unused):
 * commands sent on another connection are not processed at once. */
static void await_subscribers(reds_client *c, const char *what, reds_str channel, int64_t want)
{
    int64_t n = -1;
    for (int i = 0; i < 5000; i++) {
        n = strcmp(what, "NUMPAT") == 0 ? numpat(c) : numsub(c, what, channel);
        if (n == want)
            return;
        sleep_ms(1);
    }
    ck_abort_msg("%s %.*s is %lld, expected %lld", what, (int)channel.len, channel.ptr,
                 (long long)n, (long long)want);
}

/* Connections of the server that are in pub/sub mode. */
static int pubsub_clients(reds_client *c)
{
    reds_str argv[] = {REDS_STR("CLIENT"), REDS_STR("LIST"), REDS_STR("TYPE"), REDS_STR("pubsub")};
    reds_reply *r = run(c, 4, argv);
    int n = 0;
    for (size_t i = 0; i < r->len; i++)
        n += r->str[i] == '\n';
    reds_free(r);
    return n;
}

static int connected_clients(reds_client *c)
{
    reds_str argv[] = {REDS_STR("INFO"), REDS_STR("clients")};
    reds_reply *r = run(c, 2, argv);
    const char *p = strstr(r->str, "connected_clients:");
    ck_assert_ptr_nonnull(p);
    int n = atoi(p + strlen("connected_clients:"));
    reds_free(r);
    return n;
}

/* Wait (boundedly) until the server counts `want` connections: it sees a
 * close only when it next polls that socket. */
static void await_connected(reds_client *c, int want)
{
    int n = 0;
    for (int i = 0; i < 2000 && (n = connected_clients(c)) != want; i++)
        sleep_ms(2);
    ck_assert_int_eq(n, want);
}

static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Wait until the process has `want` threads (a joined thread's entry may
 * linger a moment), then check. */
static void await_threads(int want)
{
    int n = 0;
    for (int i = 0; i < 2000 && (n = thread_count()) != want; i++)
        sleep_ms(1);
    ck_assert_int_eq(n, want);
}

/* What a handler saw, shared with the test thread. */
typedef struct seen {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int n;
    reds_pubsub *ps;
    reds_pubsub_kind kind;
    char channel[64], pattern[64];
    size_t channel_len, pattern_len;
    char *data;
    size_t data_len;
    int kinds[REDS_PUBSUB_RECONNECTED + 1];
} seen;

static void seen_init(seen *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
}

static void seen_free(seen *s)
{
    free(s->data);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
}

static void copy_str(char *dst, size_t size, size_t *len, reds_str s)
{
    *len = s.ptr ? s.len : 0;
    if (*len >= size)
        *len = size - 1;
    if (*len)
        memcpy(dst, s.ptr, *len);
}

static void record(reds_pubsub *ps, const reds_pubsub_message *m, void *udata)
{
    seen *s = udata;
    pthread_mutex_lock(&s->lock);
    s->n++;
    s->ps = ps;
    s->kind = m->kind;
    s->kinds[m->kind]++;
    copy_str(s->channel, sizeof s->channel, &s->channel_len, m->channel);
    copy_str(s->pattern, sizeof s->pattern, &s->pattern_len, m->pattern);
    free(s->data);
    s->data = malloc(m->data.len + 1);
    memcpy(s->data, m->data.ptr ? m->data.ptr : "", m->data.len);
    s->data[m->data.len] = '\0';
    s->data_len = m->data.len;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* Wait until the handler has run `n` times (bounded, not timed). */
static void await_seen(seen *s, int n)
{
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < 100 && s->n < n; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&s->cond, &s->lock, &ts);
    }
    int got = s->n;
    pthread_mutex_unlock(&s->lock);
    ck_assert_msg(got >= n, "the handler ran %d times, expected %d", got, n);
}

static int seen_count(seen *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->n;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* ------------------------------------------------------------------ tests */

START_TEST(every_subscribe_kind)
{
    reds_client *c = test_client(NULL);
    reds_pubsub *ps = new_pubsub(c, NULL);
    ck_assert(!reds_pubsub_subscribed(ps));
    reds_str chans[] = {REDS_STR("news"), REDS_STR("sport")};
    ASSERT_OK(reds_pubsub_subscribe(ps, chans, 2, NULL, NULL));
    ck_assert(reds_pubsub_subscribed(ps));
    expect_confirmation(ps, REDS_PUBSUB_SUBSCRIBE, "news", 4, 1);
    expect_confirmation(ps, REDS_PUBSUB_SUBSCRIBE, "sport", 5, 2);
    reds_str pat = REDS_STR("we?ther.*");
    ASSERT_OK(reds_pubsub_psubscribe(ps, &pat, 1, NULL, NULL));
    expect_confirmation(ps, REDS_PUBSUB_PSUBSCRIBE, "we?ther.*", 9, 3);
    reds_str shards[] = {REDS_STR("s1"), REDS_STR("s2")};
    ASSERT_OK(reds_pubsub_ssubscribe(ps, shards, 2, NULL, NULL));
    expect_confirmation(ps, REDS_PUBSUB_SSUBSCRIBE, "s1", 2, 1); /* shard channels only */
    expect_confirmation(ps, REDS_PUBSUB_SSUBSCRIBE, "s2", 2, 2);

    ck_assert_int_eq(publish(c, REDS_STR("news"), REDS_STR("extra!")), 1);
    reds_pubsub_message *m = next_msg(ps);
    ck_assert_int_eq(m->kind, REDS_PUBSUB_MESSAGE);
    ck_assert(SAME(m->channel, "news"));
    ck_assert(SAME(m->data, "extra!"));
    ck_assert_ptr_null(m->pattern.ptr);
    ck_assert_int_eq(m->count, 0);
    reds_free(m);

    ck_assert_int_eq(publish(c, REDS_STR("weather.today"), REDS_STR("rain")), 1);
    m = next_msg(ps);
    ck_assert_int_eq(m->kind, REDS_PUBSUB_PMESSAGE);
    ck_assert(SAME(m->pattern, "we?ther.*"));
    ck_assert(SAME(m->channel, "weather.today"));
    ck_assert(SAME(m->data, "rain"));
    reds_free(m);

    ck_assert_int_eq(publish_n(c, "SPUBLISH", REDS_STR("s2"), REDS_STR("sharded")), 1);
    m = next_msg(ps);
    ck_assert_int_eq(m->kind, REDS_PUBSUB_SMESSAGE);
    ck_assert(SAME(m->channel, "s2"));
    ck_assert(SAME(m->data, "sharded"));
    ck_assert_ptr_null(m->pattern.ptr);
    ck_assert_str_eq(reds_pubsub_kind_name(m->kind), "smessage");
    reds_free(m);

    /* The UN- forms: named, then everything. */
    ASSERT_OK(reds_pubsub_unsubscribe(ps, chans, 1));
    expect_confirmation(ps, REDS_PUBSUB_UNSUBSCRIBE, "news", 4, 2);
    ck_assert_int_eq(publish(c, REDS_STR("news"), REDS_STR("unheard")), 0);
    ASSERT_OK(reds_pubsub_punsubscribe(ps, NULL, 0));
    expect_confirmation(ps, REDS_PUBSUB_PUNSUBSCRIBE, "we?ther.*", 9, 1);
    ASSERT_OK(reds_pubsub_sunsubscribe(ps, shards, 1));
    expect_confirmation(ps, REDS_PUBSUB_SUNSUBSCRIBE, "s1", 2, 1);
    ck_assert(reds_pubsub_subscribed(ps));
    ASSERT_OK(reds_pubsub_unsubscribe(ps, NULL, 0));
    expect_confirmation(ps, REDS_PUBSUB_UNSUBSCRIBE, "sport", 5, 0);
    ASSERT_OK(reds_pubsub_sunsubscribe(ps, NULL, 0));
    expect_confirmation(ps, REDS_PUBSUB_SUNSUBSCRIBE, "s2", 2, 0);
    ck_assert(!reds_pubsub_subscribed(ps));
    ck_assert_int_eq(pubsub_clients(c), 0);

    /* With nothing subscribed, Redis confirms with a nil channel; Valkey
     * 8.0 answers an error (RESP2), which the next read reports. */
    ASSERT_OK(reds_pubsub_unsubscribe(ps, NULL, 0));
    if (test_kind() == FIXTURE_VALKEY) {
        m = (reds_pubsub_message *)&m;
        ASSERT_ERR(reds_pubsub_get_message(ps, 2000, &m), REDS_ERR_RESPONSE);
        ck_assert_str_eq(reds_errmsg(),
                         "pub/sub: NOSUB 'unsubscribe' command executed not in subscribed mode");
        ck_assert_ptr_null(m);
    } else {
        expect_confirmation(ps, REDS_PUBSUB_UNSUBSCRIBE, NULL, 0, 0);
    }
    m = (reds_pubsub_message *)&m;
    ASSERT_OK(reds_pubsub_get_message(ps, 0, &m));
    ck_assert_ptr_null(m);
    reds_pubsub_close(ps);
    reds_client_free(c);
}
END_TEST

static char *pattern_bytes(size_t n, unsigned seed)
{
    char *p = malloc(n);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (char)(i % 7 == 0 ? 0 : seed >> 16);
    }
    return p;
}

/* The CLIENT ID of the connection of `c` named `name` (CLIENT LIST). */
static int64_t id_of_named(reds_client *c, const char *name)
{
    reds_str argv[] = {REDS_STR("CLIENT"), REDS_STR("LIST")};
    reds_reply *r = NULL;
    ASSERT_OK(reds_execute_command(c, 2, argv, &r));
    char needle[80];
    snprintf(needle, sizeof needle, " name=%s ", name);
    const char *at = strstr(r->str, needle);
    ck_assert_msg(at != NULL, "no connection named %s in:\n%s", name, r->str);
    while (at > r->str && at[-1] != '\n')
        at--;
    long long id = -1;
    ck_assert_int_eq(sscanf(at, "id=%lld ", &id), 1);
    reds_free(r);
    return id;
}

/* CLIENT TRACKING's invalidations, redirected to a pub/sub handle over
 * RESP2, carry the keys as an array (and nil for FLUSHALL): messages. */
START_TEST(tracking_invalidations_are_messages)
{
    reds_options named = {.client_name = "invalidations"};
    reds_client *sink = test_client(&named), *c = test_client(NULL), *d = NULL;
    reds_pubsub *ps = new_pubsub(sink, NULL);
    reds_str chan = REDS_STR("__redis__:invalidate");
    ASSERT_OK(reds_pubsub_subscribe(ps, &chan, 1, NULL, NULL));
    expect_confirmation(ps, REDS_PUBSUB_SUBSCRIBE, "__redis__:invalidate", 20, 1);
    int64_t conn_id = 0;
    ASSERT_OK(reds_pubsub_connection_id(ps, &conn_id));
    ck_assert_int_eq(conn_id, id_of_named(c, "invalidations")); /* as the server says */
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)conn_id);

    ASSERT_OK(reds_client_dedicated(c, &d));
    reds_str on[] = {REDS_STR("CLIENT"), REDS_STR("TRACKING"), REDS_STR("ON"), REDS_STR("REDIRECT"),
                     reds_cstr(id)};
    ASSERT_OK(reds_execute_command(d, 5, on, NULL));
    ASSERT_OK(reds_mset(
        c,
        (const reds_key_value[]){{REDS_STR("k1"), REDS_STR("a")}, {REDS_STR("k2"), REDS_STR("b")}},
        2));
    reds_str keys[] = {REDS_STR("k1"), REDS_STR("k2")};
    reds_strlist *vals = NULL;
    ASSERT_OK(reds_mget(d, keys, 2, &vals)); /* both are tracked now */
    reds_free(vals);

    ASSERT_OK(reds_set(c, REDS_STR("k2"), REDS_STR("c"), NULL, NULL));
    reds_pubsub_message *m = next_msg(ps);
    ck_assert_int_eq(m->kind, REDS_PUBSUB_MESSAGE);
    ck_assert(SAME(m->channel, "__redis__:invalidate"));
    ck_assert_uint_eq(m->data.len, 0);
    ck_assert_uint_eq(m->nitems, 1);
    ck_assert(SAME(m->items[0], "k2"));
    reds_free(m);

    ASSERT_OK(reds_flushall(c, NULL));
    m = next_msg(ps);
    ck_assert_int_eq(m->kind, REDS_PUBSUB_MESSAGE);
    ck_assert(SAME(m->channel, "__redis__:invalidate"));
    ck_assert_ptr_null(m->data.ptr); /* nil: every key */
    ck_assert_ptr_null(m->items);
    ck_assert_uint_eq(m->nitems, 0);
    reds_free(m);

    /* A plain message still has its string and no items. */
    ck_assert_int_eq(publish(c, chan, REDS_STR("hello")), 1);
    m = next_msg(ps);
    ck_assert(SAME(m->data, "hello"));
    ck_assert_ptr_null(m->items);
    reds_free(m);

    /* A new connection has a new id. */
    test_kill_client(conn_id);
    m = next_msg(ps);
    ck_assert_int_eq(m->kind, REDS_PUBSUB_RECONNECTED);
    reds_free(m);
    int64_t again = 0;
    ASSERT_OK(reds_pubsub_connection_id(ps, &again));
    ck_assert(again != conn_id);
    ck_assert_int_eq(again, id_of_named(c, "invalidations"));
    reds_client_free(d);
    reds_pubsub_close(ps);
    reds_client_free(sink);
    reds_client_free(c);
}
END_TEST

START_TEST(binary_safe_messages)
{
    reds_client *c = test_client(NULL);
    reds_pubsub *ps = new_pubsub(c, NULL);
    static const char chan_bytes[] = "bin\0chan\xff\r\n";
    reds_str chan = reds_strn(chan_bytes, sizeof chan_bytes - 1);
    static const char pat_bytes[] = "bin\0*";
    reds_str pat = reds_strn(pat_bytes, sizeof pat_bytes - 1);
    ASSERT_OK(reds_pubsub_subscribe(ps, &chan, 1, NULL, NULL));
    expect_confirmation(ps, REDS_PUBSUB_SUBSCRIBE, chan.ptr, chan.len, 1);
    ASSERT_OK(reds_pubsub_psubscribe(ps, &pat, 1, NULL, NULL));
    expect_confirmation(ps, REDS_PUBSUB_PSUBSCRIBE, pat.ptr, pat.len, 2);
    ASSERT_OK(reds_pubsub_ssubscribe(ps, &chan, 1, NULL, NULL));
    expect_confirmation(ps, REDS_PUBSUB_SSUBSCRIBE, chan.ptr, chan.len, 1);

    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    size_t big_len = 1 << 20;
    char *big = pattern_bytes(big_len, 7);
    const reds_str payloads[] = {reds_strn(all, sizeof all), reds_strn(big, big_len),
                                 reds_strn("", 0)};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(publish(c, chan, payloads[i]), 2); /* the channel and the pattern */
        reds_pubsub_message *m = next_msg(ps);
        ck_assert_int_eq(m->kind, REDS_PUBSUB_MESSAGE);
        ck_assert(same(m->channel, chan.ptr, chan.len));
        ck_assert(same(m->data, payloads[i].ptr ? payloads[i].ptr : "", payloads[i].len));
        reds_free(m);
        m = next_msg(ps);
        ck_assert_int_eq(m->kind, REDS_PUBSUB_PMESSAGE);
        ck_assert(same(m->pattern, pat.ptr, pat.len));
        ck_assert(same(m->channel, chan.ptr, chan.len));
        ck_assert(same(m->data, payloads[i].ptr ? payloads[i].ptr : "", payloads[i].len));
        reds_free(m);
        ck_assert_int_eq(publish_n(c, "SPUBLISH", chan, payloads[i]), 1);
        m = next_msg(ps);
        ck_assert_int_eq(m->kind, REDS_PUBSUB_SMESSAGE);
        ck_assert(same(m->channel, chan.ptr, chan.len));
        ck_assert(same(m->data, payloads[i].ptr ? payloads[i].ptr : "", payloads[i].len));
        reds_free(m);
    }
    /* Several 1 MB messages back to back, read in one go by the socket. */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(publish_n(c, "SPUBLISH", chan, reds_strn(big, big_len)), 1);
    for (int i = 0; i < 3; i++) {
        reds_pubsub_message *m = next_msg(ps);
        ck_assert_int_eq(m->kind, REDS_PUBSUB_SMESSAGE);
        ck_assert(same(m->data, big, big_len));
        reds_free(m);
    }
    free(big);
    reds_pubsub_close(ps);
    reds_client_free(c);
}
END_TEST

START_TEST(get_message_waits_at_most_the_timeout)
{
    reds_client *c = test_client(NULL);
    reds_pubsub *ps = new_pubsub(c, NULL);
    reds_pubsub_message *m = (reds_pubsub_message *)&m;
    /* Nothing subscribed, not even connected: no message, no error. */
    ASSERT_OK(reds_pubsub_get_message(ps, 0, &m));
    ck_assert_ptr_null(m);
    ASSERT_OK(reds_pubsub_get_message(ps, 20, &m));
    ck_assert_ptr_null(m);
    reds_str ch = REDS_STR("quiet");
    ASSERT_OK(reds_pubsub_subscribe(ps, &ch, 1, NULL, NULL));
    expect_confirmation(ps, REDS_PUBSUB_SUBSCRIBE, "quiet", 5, 1);
    ASSERT_OK(reds_pubsub_get_message(ps, 0, &m));
    ck_assert_ptr_null(m);
    ASSERT_OK(reds_pubsub_get_message(ps, 50, &m));
    ck_assert_ptr_null(m);
    /* A message that is already there is returned by a poll. */
    ck_assert_int_eq(publish(c, ch, REDS_STR("now")), 1);
    ASSERT_OK(reds_pubsub_get_message(ps, REDS_NO_TIMEOUT, &m));
    ck_assert_ptr_nonnull(m);
    ck_assert(SAME(m->data, "now"));
    reds_free(m);
    ASSERT_ERR(reds_pubsub_get_message(ps, -5, &m), REDS_ERR_DATA);
    ASSERT_ERR(reds_pubsub_get_message(ps, 0, NULL), REDS_ERR_DATA);
    ASSERT_ERR(reds_pubsub_get_message(NULL, 0, &m), REDS_ERR_DATA);
    reds_pubsub_close(ps);
    reds_client_free(c);
}
END_TEST

START_TEST(ignore_subscribe_messages)
{
    reds_client *c = test_client(NULL);
    reds_pubsub_options o = {.ignore_subscribe_messages = true};
    reds_pubsub *ps = new_pubsub(c, &o);
    reds_str ch = REDS_STR("c"), pat = REDS_STR("c*");
    ASSERT_OK(reds_pubsub_subscribe(ps, &ch, 1, NULL, NULL));
    ASSERT_OK(reds_pubsub_psubscribe(ps, &pat, 1, NULL, NULL));
    await_subscribers(c, "NUMPAT", ch, 1);
    ck_assert_int_eq(publish(c, ch, REDS_STR("one")), 2);
    reds_pubsub_message *m = next_msg(ps);
    ck_assert_int_eq(m->kind, REDS_PUBSUB_MESSAGE);
    ck_assert(SAME(m->data, "one"));
    reds_free(m);
    m = next_msg(ps);
    ck_assert_int_eq(m->kind, REDS_PUBSUB_PMESSAGE);
    reds_free(m);
    ASSERT_OK(reds_pubsub_unsubscribe(ps, NULL, 0));
    ASSERT_OK(reds_pubsub_punsubscribe(ps, NULL, 0));
    ASSERT_OK(reds_pubsub_ping(ps, REDS_STR("after")));
    m = next_msg(ps); /* the confirmations were read and dropped */
    ck_assert_int_eq(m->kind, REDS_PUBSUB_PONG);
    ck_assert(SAME(m->data, "after"));
    ck_assert(!reds_pubsub_subscribed(ps));
    reds_free(m);
    reds_pubsub_close(ps);
    reds_client_free(c);
}
END_TEST

START_TEST(handlers_take_their_messages)
{
    reds_client *c = test_client(NULL);
    reds_pubsub *ps = new_pubsub(c, NULL);
    seen sc, sp, ss;
    seen_init(&sc);
    seen_init(&sp);
    seen_init(&ss);
    reds_str ch = REDS_STR("handled"), plain = REDS_STR("plain"), pat = REDS_STR("pat:*"),
             shard = REDS_STR("shard");
    ASSERT_OK(reds_pubsub_subscribe(ps, &ch, 1, record, &sc));
    ASSERT_OK(reds_pubsub_subscribe(ps, &plain, 1, NULL, NULL));
    ASSERT_OK(reds_pubsub_psubscribe(ps, &pat, 1, record, &sp));
    ASSERT_OK(reds_pubsub_ssubscribe(ps, &shard, 1, record, &ss));
    /* Confirmations have no handler: they come to the caller. */
    expect_confirmation(ps, REDS_PUBSUB_SUBSCRIBE, "handled", 7, 1);
    expect_confirmation(ps, REDS_PUBSUB_SUBSCRIBE, "plain", 5, 2);
    expect_confirmation(ps, REDS_PUBSUB_PSUBSCRIBE, "pat:*", 5, 3);
    expect_confirmation(ps, REDS_PUBSUB_SSUBSCRIBE, "shard", 5, 1);

    ck_assert_int_eq(publish(c, ch, REDS_STR("to the handler")), 1);
    reds_pubsub_message *m = (reds_pubsub_message *)&m;
    ASSERT_OK(reds_pubsub_get_message(ps, 5000, &m));
    ck_assert_ptr_null(m); /* handled, so not returned */
    ck_assert_int_eq(sc.n, 1);
    ck_assert_ptr_eq(sc.ps, ps);
    ck_assert_int_eq(sc.kind, REDS_PUBSUB_MESSAGE);
    ck_assert(same(reds_strn(sc.data, sc.data_len), "to the handler", 14));

    ck_assert_int_eq(publish(c, REDS_STR("pat:9"), REDS_STR("\0p")), 1);
    ASSERT_OK(reds_pubsub_get_message(ps, 5000, &m));
    ck_assert_ptr_null(m);
    ck_assert_int_eq(sp.n, 1);
    ck_assert_int_eq(sp.kind, REDS_PUBSUB_PMESSAGE);
    ck_assert(same(reds_strn(sp.pattern, sp.pattern_len), "pat:*", 5));
    ck_assert(same(reds_strn(sp.channel, sp.channel_len), "pat:9", 5));
    ck_assert_uint_eq(sp.data_len, 2);
    ck_assert(memcmp(sp.data, "\0p", 2) == 0);

    ck_assert_int_eq(publish_n(c, "SPUBLISH", shard, REDS_STR("s")), 1);
    ASSERT_OK(reds_pubsub_get_message(ps, 5000, &m));
    ck_assert_ptr_null(m);
    ck_assert_int_eq(ss.n, 1);
    ck_assert_int_eq(ss.kind, REDS_PUBSUB_SMESSAGE);

    ck_assert_int_eq(publish(c, plain, REDS_STR("to the caller")), 1);
    m = next_msg(ps);
    ck_assert(SAME(m->data, "to the caller"));
    reds_free(m);

    /* Subscribing again without a handler gives its messages back. */
    ASSERT_OK(reds_pubsub_subscribe(ps, &ch, 1, NULL, NULL));
    expect_confirmation(ps, REDS_PUBSUB_SUBSCRIBE, "handled", 7, 3);
    ck_assert_int_eq(publish(c, ch, REDS_STR("back")), 1);
    m = next_msg(ps);
    ck_assert(SAME(m->data, "back"));
    reds_free(m);
    ck_assert_int_eq(sc.n, 1);

    reds_pubsub_close(ps);
    reds_client_free(c);
    seen_free(&sc);
    seen_free(&sp);
    seen_free(&ss);
}
END_TEST

typedef struct listen_log {
    int n;
    reds_pubsub_kind kinds[16];
    char text[16][16];
} listen_log;

static void listen_handler(reds_pubsub *ps, const reds_pubsub_message *m, void *udata)
{
    listen_log *log = udata;
    ck_assert_int_lt(log->n, 16);
    log->kinds[log->n] = m->kind;
    snprintf(log->text[log->n], sizeof log->text[0], "%.*s", (int)m->data.len,
             m->data.ptr ? m->data.ptr : "");
    log->n++;
    /* Ending listen() as in redis-py: unsubscribe from everything. */
    if (m->kind == REDS_PUBSUB_SMESSAGE) {
        ASSERT_OK(reds_pubsub_unsubscribe(ps, NULL, 0));
        ASSERT_OK(reds_pubsub_punsubscribe(ps, NULL, 0));
        ASSERT_OK(reds_pubsub_sunsubscribe(ps, NULL, 0));
    }
}

START_TEST(listen_until_unsubscribed)
{
    reds_client *c = test_client(NULL);
    reds_pubsub *ps = new_pubsub(c, NULL);
    listen_log log = {0};
    /* Nothing subscribed: listen returns at once. */
    ASSERT_OK(reds_pubsub_listen(ps, listen_handler, &log));
    ck_assert_int_eq(log.n, 0);
    reds_str ch = REDS_STR("l"), pat = REDS_STR("l*"), shard = REDS_STR("ls");
    ASSERT_OK(reds_pubsub_subscribe(ps, &ch, 1, NULL, NULL));
    ASSERT_OK(reds_pubsub_psubscribe(ps, &pat, 1, NULL, NULL));
    ASSERT_OK(reds_pubsub_ssubscribe(ps, &shard, 1, NULL, NULL));
    await_subscribers(c, "SHARDNUMSUB", shard, 1); /* the last one sent */
    ck_assert_int_eq(publish(c, ch, REDS_STR("m1")), 2);
    ck_assert_int_eq(publish_n(c, "SPUBLISH", shard, REDS_STR("m2")), 1);
    ASSERT_OK(reds_pubsub_listen(ps, listen_handler, &log));
    static const reds_pubsub_kind want[] = {
        REDS_PUBSUB_SUBSCRIBE,   REDS_PUBSUB_PSUBSCRIBE,   REDS_PUBSUB_SSUBSCRIBE,
        REDS_PUBSUB_MESSAGE,     REDS_PUBSUB_PMESSAGE,     REDS_PUBSUB_SMESSAGE,
        REDS_PUBSUB_UNSUBSCRIBE, REDS_PUBSUB_PUNSUBSCRIBE, REDS_PUBSUB_SUNSUBSCRIBE,
    };
    ck_assert_int_eq(log.n, 9);
    for (int i = 0; i < 9; i++)
        ck_assert_msg(log.kinds[i] == want[i], "message %d is %s", i,
                      reds_pubsub_kind_name(log.kinds[i]));
    ck_assert_str_eq(log.text[3], "m1");
    ck_assert_str_eq(log.text[4], "m1");
    ck_assert_str_eq(log.text[5], "m2");
    ck_assert(!reds_pubsub_subscribed(ps));
    ASSERT_ERR(reds_pubsub_listen(ps, NULL, NULL), REDS_ERR_DATA);
    reds_pubsub_close(ps);
    reds_client_free(c);
}
END_TEST

START_TEST(ping_gives_pong)
{
    reds_client *c = test_client(NULL);
    reds_pubsub *ps = new_pubsub(c, NULL);
    /* Outside subscribed mode the server answers with a plain bulk. */
    ASSERT_OK(reds_pubsub_ping(ps, REDS_STR("hi")));
    reds_pubsub_message *m = next_msg(ps);
    ck_assert_int_eq(m->kind, REDS_PUBSUB_PONG);
    ck_assert(SAME(m->data, "hi"));
    ck_assert_ptr_null(m->channel.ptr);
    reds_free(m);
    reds_str ch = REDS_STR("x");
    ASSERT_OK(reds_pubsub_subscribe(ps, &ch, 1, NULL, NULL));
    expect_confirmation(ps, REDS_PUBSUB_SUBSCRIBE, "x", 1, 1);
    ASSERT_OK(reds_pubsub_ping(ps, REDS_STR("a\0b")));
    ASSERT_OK(reds_pubsub_ping(ps, REDS_STR("")));
    m = next_msg(ps);
    ck_assert_int_eq(m->kind, REDS_PUBSUB_PONG);
    ck_assert(SAME(m->data, "a\0b"));
    ck_assert_str_eq(reds_pubsub_kind_name(m->kind), "pong");
    reds_free(m);
    m = next_msg(ps);
    ck_assert_int_eq(m->kind, REDS_PUBSUB_PONG);
    ck_assert(SAME(m->data, ""));
    reds_free(m);
    reds_pubsub_close(ps);
    reds_client_free(c);
}
END_TEST

typedef struct errors {
    pthread_mutex_t lock;
    int n;
    reds_err last;
    char message[256];
} errors;

static void on_error(reds_pubsub *ps, reds_err err, const char *message, void *udata)
{
    (void)ps;
    errors *e = udata;
    pthread_mutex_lock(&e->lock);
    e->n++;
    e->last = err;
    snprintf(e->message, sizeof e->message, "%s", message);
    pthread_mutex_unlock(&e->lock);
}

static int error_count(errors *e)
{
    pthread_mutex_lock(&e->lock);
    int n = e->n;
    pthread_mutex_unlock(&e->lock);
    return n;
}

START_TEST(thread_started_and_stopped_20_times)
{
    reds_client *c = test_client(NULL);
    int threads = thread_count();
    int conns = connected_clients(c); /* the test client's own connection */
    reds_pubsub *ps = new_pubsub(c, NULL);
    seen s;
    seen_init(&s);
    errors e = {.lock = PTHREAD_MUTEX_INITIALIZER};
    reds_pubsub_thread_options to = {.poll_ms = 10, .on_error = on_error, .error_udata = &e};
    for (int i = 0; i < 20; i++) {
        char name[32];
        snprintf(name, sizeof name, "round-%d", i);
        reds_str ch = reds_cstr(name), pat = REDS_STR("round-*");
        ASSERT_OK(reds_pubsub_subscribe(ps, &ch, 1, record, &s));
        ASSERT_OK(reds_pubsub_psubscribe(ps, &pat, 1, record, &s));
        /* Read the confirmations here (so the server has both), then let
         * the thread take over. */
        expect_confirmation(ps, REDS_PUBSUB_SUBSCRIBE, name, strlen(name), 1);
        expect_confirmation(ps, REDS_PUBSUB_PSUBSCRIBE, "round-*", 7, 2);
        ASSERT_OK(reds_pubsub_run(ps, &to));
        ck_assert_int_eq(thread_count(), threads + 1);
        ck_assert_int_eq(publish(c, ch, REDS_STR("ping")), 2);
        await_seen(&s, 2 * (i + 1));
        ck_assert_int_eq(pubsub_clients(c), 1);
        ck_assert_int_eq(connected_clients(c), conns + 1);
        ASSERT_OK(reds_pubsub_stop(ps));
        /* Stopped: joined, unsubscribed, the connection kept for reuse. */
        await_threads(threads);
        ck_assert(!reds_pubsub_subscribed(ps));
        ck_assert_int_eq(pubsub_clients(c), 0);
        ck_assert_int_eq(numsub(c, "NUMSUB", ch), 0);
        ck_assert_int_eq(numpat(c), 0);
        ck_assert_int_eq(connected_clients(c), conns + 1);
        ASSERT_OK(reds_pubsub_stop(ps)); /* no thread: nothing to do */
    }
    ck_assert_int_eq(seen_count(&s), 40);
    ck_assert_int_eq(error_count(&e), 0);
    /* The last run ends in close() without a stop(). */
    reds_str ch = REDS_STR("last");
    ASSERT_OK(reds_pubsub_subscribe(ps, &ch, 1, record, &s));
    ASSERT_OK(reds_pubsub_run(ps, &to));
    reds_pubsub_close(ps);
    await_threads(threads);
    await_connected(c, conns);
    reds_client_free(c);
    seen_free(&s);
}
END_TEST

typedef struct subscriber_arg {
    reds_pubsub *ps;
    int id;
    seen *s;
} subscriber_arg;

static void *subscriber(void *arg)
{
    subscriber_arg *a = arg;
    for (int j = 0; j < 25; j++) {
        char name[32];
        snprintf(name, sizeof name, "t%d-%d", a->id, j);
        reds_str ch = reds_cstr(name);
        if (reds_pubsub_subscribe(a->ps, &ch, 1, record, a->s) != REDS_OK)
            return (void *)1;
        if (j % 5 == 0 && reds_pubsub_ping(a->ps, REDS_STR("from a thread")) != REDS_OK)
            return (void *)1;
    }
    /* And take one back. */
    char name[32];
    snprintf(name, sizeof name, "t%d-0", a->id);
    reds_str ch = reds_cstr(name);
    return reds_pubsub_unsubscribe(a->ps, &ch, 1) == REDS_OK ? NULL : (void *)1;
}

START_TEST(subscribe_from_threads_while_the_thread_runs)
{
    reds_client *c = test_client(NULL);
    reds_pubsub *ps = new_pubsub(c, NULL);
    seen s, other;
    seen_init(&s);
    seen_init(&other);
    reds_str first = REDS_STR("first");
    ASSERT_OK(reds_pubsub_subscribe(ps, &first, 1, record, &s));
    reds_pubsub_thread_options to = {.poll_ms = 50, .on_message = record, .udata = &other};
    ASSERT_OK(reds_pubsub_run(ps, &to));
    /* One reader at a time. */
    reds_pubsub_message *m;
    ASSERT_ERR(reds_pubsub_get_message(ps, 0, &m), REDS_ERR_PUBSUB);
    ASSERT_ERR(reds_pubsub_listen(ps, record, &s), REDS_ERR_PUBSUB);
    ASSERT_ERR(reds_pubsub_run(ps, &to), REDS_ERR_PUBSUB);
    pthread_t th[4];
    subscriber_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (subscriber_arg){ps, i, &s};
        ck_assert_int_eq(pthread_create(&th[i], NULL, subscriber, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        ck_assert_ptr_null(rc);
    }
    /* Every channel but the unsubscribed ones is delivered, once. */
    int expect = 0;
    for (int i = 0; i < 4; i++) {
        for (int j = 1; j < 25; j++) {
            char name[32];
            snprintf(name, sizeof name, "t%d-%d", i, j);
            publish_until_heard(c, "PUBLISH", reds_cstr(name), REDS_STR("hello"), 1);
            expect++;
        }
        char name[32];
        snprintf(name, sizeof name, "t%d-0", i);
        await_subscribers(c, "NUMSUB", reds_cstr(name), 0);
    }
    await_seen(&s, expect);
    ck_assert_int_eq(seen_count(&s), expect);
    ASSERT_OK(reds_pubsub_stop(ps));
    /* The confirmations and pongs went to on_message. */
    ck_assert_int_eq(other.kinds[REDS_PUBSUB_SUBSCRIBE], 101);
    ck_assert_int_eq(other.kinds[REDS_PUBSUB_PONG], 20);
    ck_assert_int_eq(other.kinds[REDS_PUBSUB_MESSAGE], 0);
    ck_assert_int_eq(pubsub_clients(c), 0);
    /* With the thread stopped, the caller reads again. */
    ASSERT_OK(reds_pubsub_get_message(ps, 0, &m));
    ck_assert_ptr_null(m);
    reds_pubsub_close(ps);
    reds_client_free(c);
    seen_free(&s);
    seen_free(&other);
}
END_TEST

static void stop_from_handler(reds_pubsub *ps, const reds_pubsub_message *m, void *udata)
{
    record(ps, m, udata);
    ASSERT_OK(reds_pubsub_stop(ps)); /* only asks: the thread cannot join itself */
}

START_TEST(thread_rules_and_bad_input)
{
    reds_client *c = test_client(NULL);
    reds_pubsub *ps = NULL;
    ASSERT_ERR(reds_pubsub_new(NULL, NULL, &ps), REDS_ERR_DATA);
    ASSERT_ERR(reds_pubsub_new(c, NULL, NULL), REDS_ERR_DATA);
    reds_pubsub_options bad = {.health_check_interval_ms = -1};
    ASSERT_ERR(reds_pubsub_new(c, &bad, &ps), REDS_ERR_DATA);
    ps = new_pubsub(c, NULL);
    reds_str ch = REDS_STR("rules"), none = {NULL, 3};
    ASSERT_ERR(reds_pubsub_subscribe(ps, NULL, 1, NULL, NULL), REDS_ERR_DATA);
    ASSERT_ERR(reds_pubsub_subscribe(ps, &ch, 0, NULL, NULL), REDS_ERR_DATA);
    ASSERT_ERR(reds_pubsub_psubscribe(ps, &none, 1, NULL, NULL), REDS_ERR_DATA);
    ASSERT_ERR(reds_pubsub_unsubscribe(NULL, NULL, 0), REDS_ERR_DATA);
    ASSERT_ERR(reds_pubsub_sunsubscribe(ps, NULL, 2), REDS_ERR_DATA);
    ck_assert(!reds_pubsub_subscribed(ps));
    ASSERT_ERR(reds_pubsub_stop(NULL), REDS_ERR_DATA);
    ASSERT_OK(reds_pubsub_stop(ps));
    reds_pubsub_close(NULL);
    ck_assert_str_eq(reds_pubsub_kind_name((reds_pubsub_kind)99), "unknown");

    /* As run_in_thread: every subscription needs a handler, or on_message. */
    ASSERT_OK(reds_pubsub_subscribe(ps, &ch, 1, NULL, NULL));
    ASSERT_ERR(reds_pubsub_run(ps, NULL), REDS_ERR_PUBSUB);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "'rules' has no handler"));
    seen s;
    seen_init(&s);
    ASSERT_OK(reds_pubsub_subscribe(ps, &ch, 1, stop_from_handler, &s));
    reds_pubsub_thread_options to = {.poll_ms = -1};
    ASSERT_ERR(reds_pubsub_run(ps, &to), REDS_ERR_DATA);
    ASSERT_OK(reds_pubsub_run(ps, NULL));
    reds_str other = REDS_STR("other");
    ASSERT_ERR(reds_pubsub_subscribe(ps, &other, 1, NULL, NULL), REDS_ERR_PUBSUB);
    /* The handler stops the thread, which unsubscribes on its way out. */
    publish_until_heard(c, "PUBLISH", ch, REDS_STR("stop"), 1);
    await_seen(&s, 1);
    for (int i = 0; i < 2000 && reds_pubsub_subscribed(ps); i++)
        sleep_ms(1);
    ck_assert(!reds_pubsub_subscribed(ps));
    ASSERT_OK(reds_pubsub_stop(ps)); /* joins it */
    ck_assert_int_eq(seen_count(&s), 1);
    ck_assert_int_eq(pubsub_clients(c), 0);
    reds_pubsub_close(ps);
    seen_free(&s);

    /* Nobody listening: the subscription is recorded, the error returned. */
    reds_options o = {.port = fixture_free_port()};
    reds_client *nowhere;
    ASSERT_OK(reds_client_new(&o, &nowhere));
    ps = new_pubsub(nowhere, NULL);
    ASSERT_ERR(reds_pubsub_subscribe(ps, &ch, 1, NULL, NULL), REDS_ERR_CONNECTION);
    ck_assert(reds_pubsub_subscribed(ps));
    reds_pubsub_message *m;
    ASSERT_ERR(reds_pubsub_get_message(ps, 0, &m), REDS_ERR_CONNECTION);
    ck_assert_ptr_null(m);
    ASSERT_OK(reds_pubsub_unsubscribe(ps, NULL, 0));
    ck_assert(!reds_pubsub_subscribed(ps));
    reds_pubsub_close(ps);
    reds_client_free(nowhere);
    reds_client_free(c);
}
END_TEST

/* ------------------------------------------------------------ reconnects */

static const reds_str channels[] = {{"re:c1", 5}, {"re:c2\0bin", 9}};
static const reds_str patterns[] = {{"re:p1.*", 7}, {"re:p2.*", 7}};
static const reds_str shards[] = {{"re:s1", 5}, {"re:s2", 5}};

/* Check on the server that all six subscriptions are active (1) or gone (0). */
static void check_active(reds_client *c, int64_t n)
{
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(numsub(c, "NUMSUB", channels[i]), n);
        ck_assert_int_eq(numsub(c, "SHARDNUMSUB", shards[i]), n);
    }
    ck_assert_int_eq(numpat(c), 2 * n);
}

static void subscribe_all(reds_pubsub *ps, reds_pubsub_handler fn, void *udata)
{
    ASSERT_OK(reds_pubsub_subscribe(ps, channels, 2, fn, udata));
    ASSERT_OK(reds_pubsub_psubscribe(ps, patterns, 2, fn, udata));
    ASSERT_OK(reds_pubsub_ssubscribe(ps, shards, 2, fn, udata));
}

/* Read the six confirmations of subscribe_all (in any order). */
static void expect_six_confirmations(reds_pubsub *ps)
{
    int kinds[REDS_PUBSUB_RECONNECTED + 1] = {0};
    for (int i = 0; i < 6; i++) {
        reds_pubsub_message *m = next_msg(ps);
        kinds[m->kind]++;
        reds_free(m);
    }
    ck_assert_int_eq(kinds[REDS_PUBSUB_SUBSCRIBE], 2);
    ck_assert_int_eq(kinds[REDS_PUBSUB_PSUBSCRIBE], 2);
    ck_assert_int_eq(kinds[REDS_PUBSUB_SSUBSCRIBE], 2);
}

/* Publish on every subscription and check each delivery byte for byte. */
static void check_delivery(reds_client *c, reds_pubsub *ps)
{
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(publish(c, channels[i], REDS_STR("after\0gap")), 1);
        reds_pubsub_message *m = next_msg(ps);
        ck_assert_int_eq(m->kind, REDS_PUBSUB_MESSAGE);
        ck_assert(same(m->channel, channels[i].ptr, channels[i].len));
        ck_assert(SAME(m->data, "after\0gap"));
        reds_free(m);
        char name[16];
        snprintf(name, sizeof name, "re:p%d.x", i + 1);
        ck_assert_int_eq(publish(c, reds_cstr(name), REDS_STR("p")), 1);
        m = next_msg(ps);
        ck_assert_int_eq(m->kind, REDS_PUBSUB_PMESSAGE);
        ck_assert(same(m->pattern, patterns[i].ptr, patterns[i].len));
        ck_assert(same(m->channel, name, strlen(name)));
        reds_free(m);
        ck_assert_int_eq(publish_n(c, "SPUBLISH", shards[i], REDS_STR("s")), 1);
        m = next_msg(ps);
        ck_assert_int_eq(m->kind, REDS_PUBSUB_SMESSAGE);
        ck_assert(same(m->channel, shards[i].ptr, shards[i].len));
        reds_free(m);
    }
}

static int64_t kill_pubsub_clients(reds_client *c)
{
    reds_str argv[] = {REDS_STR("CLIENT"), REDS_STR("KILL"), REDS_STR("TYPE"), REDS_STR("pubsub")};
    return int_command(c, 4, argv);
}

START_TEST(resubscribes_after_client_kill)
{
    reds_client *c = test_client(NULL);
    reds_pubsub *ps = new_pubsub(c, NULL);
    subscribe_all(ps, NULL, NULL);
    expect_six_confirmations(ps);
    check_active(c, 1);
    for (int round = 0; round < 3; round++) {
        ck_assert_int_eq(kill_pubsub_clients(c), 1);
        check_active(c, 0); /* the server forgot them */
        /* The handle notices, reconnects and reports the gap first. */
        reds_pubsub_message *m = next_msg(ps);
        ck_assert_int_eq(m->kind, REDS_PUBSUB_RECONNECTED);
        ck_assert_str_eq(reds_pubsub_kind_name(m->kind), "reconnected");
        ck_assert_int_eq(m->count, 6);
        ck_assert_msg(strstr(m->data.ptr, "connection closed by server"), "%s", m->data.ptr);
        ck_assert_ptr_null(m->channel.ptr);
        reds_free(m);
        expect_six_confirmations(ps);
        check_active(c, 1);
        ck_assert_int_eq(pubsub_clients(c), 1);
        check_delivery(c, ps);
    }
    /* Unsubscribed channels stay unsubscribed across a reconnect. */
    ASSERT_OK(reds_pubsub_unsubscribe(ps, channels, 1));
    expect_confirmation(ps, REDS_PUBSUB_UNSUBSCRIBE, channels[0].ptr, channels[0].len, 3);
    ck_assert_int_eq(kill_pubsub_clients(c), 1);
    reds_pubsub_message *m = next_msg(ps);
    ck_assert_int_eq(m->kind, REDS_PUBSUB_RECONNECTED);
    ck_assert_int_eq(m->count, 5);
    reds_free(m);
    for (int i = 0; i < 5; i++)
        reds_free(next_msg(ps));
    ck_assert_int_eq(numsub(c, "NUMSUB", channels[0]), 0);
    ck_assert_int_eq(numsub(c, "NUMSUB", channels[1]), 1);
    reds_pubsub_close(ps);
    reds_client_free(c);
}
END_TEST

START_TEST(thread_resubscribes_after_client_kill)
{
    reds_client *c = test_client(NULL);
    seen gaps, msgs;
    seen_init(&gaps);
    seen_init(&msgs);
    reds_pubsub_options o = {
        .on_reconnect = record, .on_reconnect_udata = &gaps, .ignore_subscribe_messages = true};
    reds_pubsub *ps = new_pubsub(c, &o);
    subscribe_all(ps, record, &msgs);
    errors e = {.lock = PTHREAD_MUTEX_INITIALIZER};
    reds_pubsub_thread_options to = {.poll_ms = 20, .on_error = on_error, .error_udata = &e};
    ASSERT_OK(reds_pubsub_run(ps, &to));
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 2; i++)
            publish_until_heard(c, "SPUBLISH", shards[i], REDS_STR("s"), 1);
        publish_until_heard(c, "PUBLISH", channels[1], REDS_STR("c"), 1);
        check_active(c, 1);
        await_seen(&msgs, 3 * (round + 1));
        ck_assert_int_eq(kill_pubsub_clients(c), 1);
        await_seen(&gaps, round + 1);
        ck_assert_int_eq(gaps.kind, REDS_PUBSUB_RECONNECTED);
    }
    publish_until_heard(c, "PUBLISH", channels[0], REDS_STR("c"), 1);
    check_active(c, 1);
    await_seen(&msgs, 10);
    ck_assert_int_eq(seen_count(&gaps), 3);
    ck_assert_int_eq(error_count(&e), 0); /* a kill is repaired, not an error */
    ASSERT_OK(reds_pubsub_stop(ps));
    check_active(c, 0);
    reds_pubsub_close(ps);
    reds_client_free(c);
    seen_free(&gaps);
    seen_free(&msgs);
}
END_TEST

START_TEST(resubscribes_after_server_restart)
{
    fixture_server s;
    ck_assert_int_eq(fixture_start(&s, NULL), 0);
    reds_options opts = {.port = s.port};
    reds_client *c;
    ASSERT_OK(reds_client_new(&opts, &c));
    reds_pubsub *ps = new_pubsub(c, NULL);
    subscribe_all(ps, NULL, NULL);
    expect_six_confirmations(ps);
    check_active(c, 1);

    fixture_kill(&s);
    /* The drop is seen and one reconnect tried, which the dead server refuses. */
    reds_pubsub_message *m = (reds_pubsub_message *)&m;
    reds_err err = reds_pubsub_get_message(ps, 5000, &m);
    ck_assert_msg(reds_err_is(err, REDS_ERR_CONNECTION), "%s: %s", reds_err_name(err),
                  reds_errmsg());
    ck_assert_ptr_null(m);
    ck_assert(reds_pubsub_subscribed(ps)); /* still remembered */
    ck_assert_int_eq(fixture_restart(&s, NULL), 0);

    m = next_msg(ps);
    ck_assert_int_eq(m->kind, REDS_PUBSUB_RECONNECTED);
    ck_assert_int_eq(m->count, 6);
    reds_free(m);
    expect_six_confirmations(ps);
    /* The pool's connections died with the server: a fresh client. */
    reds_client_free(c);
    ASSERT_OK(reds_client_new(&opts, &c));
    check_active(c, 1);
    check_delivery(c, ps);
    reds_pubsub_close(ps);

    /* The same with the background thread, over the unix socket. */
    reds_client_free(c);
    opts = (reds_options){.unix_path = s.sock};
    ASSERT_OK(reds_client_new(&opts, &c));
    seen gaps, msgs;
    seen_init(&gaps);
    seen_init(&msgs);
    reds_pubsub_options o = {.on_reconnect = record, .on_reconnect_udata = &gaps};
    ps = new_pubsub(c, &o);
    subscribe_all(ps, record, &msgs);
    errors e = {.lock = PTHREAD_MUTEX_INITIALIZER};
    reds_pubsub_thread_options to = {.poll_ms = 10, .on_error = on_error, .error_udata = &e};
    ASSERT_OK(reds_pubsub_run(ps, &to));
    publish_until_heard(c, "SPUBLISH", shards[1], REDS_STR("before"), 1);
    fixture_kill(&s);
    for (int i = 0; i < 5000 && error_count(&e) == 0; i++)
        sleep_ms(2);
    ck_assert_int_ge(error_count(&e), 1);
    pthread_mutex_lock(&e.lock);
    ck_assert_msg(reds_err_is(e.last, REDS_ERR_CONNECTION), "%s", e.message);
    pthread_mutex_unlock(&e.lock);
    ck_assert_int_eq(seen_count(&gaps), 0);
    ck_assert_int_eq(fixture_restart(&s, NULL), 0);
    await_seen(&gaps, 1);
    ck_assert_int_eq(gaps.kind, REDS_PUBSUB_RECONNECTED);
    reds_client_free(c);
    ASSERT_OK(reds_client_new(&opts, &c));
    int before = seen_count(&msgs);
    publish_until_heard(c, "PUBLISH", channels[1], REDS_STR("after"), 1);
    publish_until_heard(c, "SPUBLISH", shards[0], REDS_STR("after"), 1);
    check_active(c, 1);
    await_seen(&msgs, before + 2);
    ASSERT_OK(reds_pubsub_stop(ps));
    check_active(c, 0);

    /* Stopping while the server is gone: nothing to tell it, the handle
     * is left subscribed to nothing. */
    subscribe_all(ps, record, &msgs);
    ASSERT_OK(reds_pubsub_run(ps, &to));
    publish_until_heard(c, "SPUBLISH", shards[1], REDS_STR("x"), 1);
    fixture_kill(&s);
    ASSERT_OK(reds_pubsub_stop(ps));
    ck_assert(!reds_pubsub_subscribed(ps));
    reds_pubsub_close(ps);
    reds_client_free(c);
    seen_free(&gaps);
    seen_free(&msgs);
    fixture_stop(&s);
}
END_TEST

/* A TCP proxy to the test server whose existing connections can be frozen:
 * it stops forwarding but keeps the sockets open, as a network partition
 * would. Connections made afterwards work. */
typedef struct proxy {
    int listen_fd, port, wake[2];
    pthread_t thread;
    int pairs[32][2];
    bool frozen[32];
    int npairs;
} proxy;

static int connect_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons(test_server.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void *proxy_main(void *arg)
{
    proxy *px = arg;
    for (;;) {
        struct pollfd p[2 + 64];
        int map[2 + 64], n = 0;
        p[n++] = (struct pollfd){px->wake[0], POLLIN, 0};
        p[n++] = (struct pollfd){px->listen_fd, POLLIN, 0};
        for (int i = 0; i < px->npairs; i++) {
            if (px->frozen[i] || px->pairs[i][0] < 0)
                continue;
            for (int k = 0; k < 2; k++) {
                map[n] = i * 2 + k;
                p[n++] = (struct pollfd){px->pairs[i][k], POLLIN, 0};
            }
        }
        if (poll(p, (nfds_t)n, -1) < 0)
            continue;
        if (p[0].revents) {
            char cmd;
            if (read(px->wake[0], &cmd, 1) != 1 || cmd == 'q')
                return NULL;
            for (int i = 0; i < px->npairs; i++)
                px->frozen[i] = true;
            continue;
        }
        if (p[1].revents && px->npairs < 32) {
            int client = accept(px->listen_fd, NULL, NULL);
            int server = client >= 0 ? connect_server() : -1;
            if (server >= 0) {
                px->pairs[px->npairs][0] = client;
                px->pairs[px->npairs][1] = server;
                px->frozen[px->npairs++] = false;
            } else if (client >= 0) {
                close(client);
            }
        }
        for (int j = 2; j < n; j++) {
            if (!p[j].revents)
                continue;
            int i = map[j] / 2, k = map[j] % 2;
            char buf[65536];
            ssize_t got = read(px->pairs[i][k], buf, sizeof buf);
            if (got <= 0 || send(px->pairs[i][!k], buf, (size_t)got, MSG_NOSIGNAL) != got) {
                close(px->pairs[i][0]);
                close(px->pairs[i][1]);
                px->pairs[i][0] = px->pairs[i][1] = -1;
            }
        }
    }
}

static void proxy_start(proxy *px)
{
    memset(px, 0, sizeof *px);
    px->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    ck_assert_int_eq(bind(px->listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(px->listen_fd, 8), 0);
    getsockname(px->listen_fd, (struct sockaddr *)&sa, &len);
    px->port = ntohs(sa.sin_port);
    ck_assert_int_eq(pipe(px->wake), 0);
    ck_assert_int_eq(pthread_create(&px->thread, NULL, proxy_main, px), 0);
}

static void proxy_send(proxy *px, char cmd)
{
    ck_assert_int_eq(write(px->wake[1], &cmd, 1), 1);
}

static void proxy_stop(proxy *px)
{
    proxy_send(px, 'q');
    pthread_join(px->thread, NULL);
    for (int i = 0; i < px->npairs; i++)
        for (int k = 0; k < 2; k++)
            if (px->pairs[i][k] >= 0)
                close(px->pairs[i][k]);
    close(px->listen_fd);
    close(px->wake[0]);
    close(px->wake[1]);
}

START_TEST(health_check_replaces_a_silent_connection)
{
    proxy px;
    proxy_start(&px);
    reds_client *direct = test_client(NULL);
    reds_options via = {.port = px.port};
    reds_client *c;
    ASSERT_OK(reds_client_new(&via, &c));
    reds_pubsub_options o = {.health_check_interval_ms = 50};
    reds_pubsub *ps = new_pubsub(c, &o);
    reds_str ch = REDS_STR("hc");
    ASSERT_OK(reds_pubsub_subscribe(ps, &ch, 1, NULL, NULL));
    expect_confirmation(ps, REDS_PUBSUB_SUBSCRIBE, "hc", 2, 1);
    /* Healthy: the health-check PINGs and their replies stay invisible. */
    for (int i = 0; i < 8; i++) {
        reds_pubsub_message *m = (reds_pubsub_message *)&m;
        ASSERT_OK(reds_pubsub_get_message(ps, 40, &m));
        ck_assert_ptr_null(m);
    }
    ck_assert_int_eq(numsub(direct, "NUMSUB", ch), 1);

    /* Partition: nothing passes, nothing is closed. */
    proxy_send(&px, 'f');
    reds_pubsub_message *m = NULL;
    for (int i = 0; i < 100 && !m; i++)
        ASSERT_OK(reds_pubsub_get_message(ps, 100, &m));
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->kind, REDS_PUBSUB_RECONNECTED);
    ck_assert_int_eq(m->count, 1);
    ck_assert_msg(strstr(m->data.ptr, "health check"), "%s", m->data.ptr);
    reds_free(m);
    expect_confirmation(ps, REDS_PUBSUB_SUBSCRIBE, "hc", 2, 1);
    /* The frozen connection is still subscribed on the server, too. */
    ck_assert_int_eq(numsub(direct, "NUMSUB", ch), 2);
    ck_assert_int_eq(publish(direct, ch, REDS_STR("through")), 2);
    m = next_msg(ps);
    ck_assert_int_eq(m->kind, REDS_PUBSUB_MESSAGE);
    ck_assert(SAME(m->data, "through"));
    reds_free(m);
    reds_pubsub_close(ps);
    reds_client_free(c);
    proxy_stop(&px);
    reds_client_free(direct);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pubsub");
    TCase *tc = tcase_create("messages");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_subscribe_kind);
    tcase_add_test(tc, binary_safe_messages);
    tcase_add_test(tc, tracking_invalidations_are_messages);
    tcase_add_test(tc, get_message_waits_at_most_the_timeout);
    tcase_add_test(tc, ignore_subscribe_messages);
    tcase_add_test(tc, handlers_take_their_messages);
    tcase_add_test(tc, listen_until_unsubscribed);
    tcase_add_test(tc, ping_gives_pong);
    suite_add_tcase(s, tc);

    tc = tcase_create("thread");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, thread_started_and_stopped_20_times);
    tcase_add_test(tc, subscribe_from_threads_while_the_thread_runs);
    tcase_add_test(tc, thread_rules_and_bad_input);
    suite_add_tcase(s, tc);

    tc = tcase_create("reconnect");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, resubscribes_after_client_kill);
    tcase_add_test(tc, thread_resubscribes_after_client_kill);
    tcase_add_test(tc, resubscribes_after_server_restart);
    tcase_add_test(tc, health_check_replaces_a_silent_connection);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
