/* The pub/sub commands that are plain request/reply (PUBLISH, SPUBLISH,
 * PUBSUB *) against a real server, with subscribers on raw connections so
 * that the counts they report are known exactly. */
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "testutil.h"

static reds_client *c;

static void setup(void)
{
    test_flush();
    c = test_client(NULL);
}

/* Subscribers close their sockets; wait until the server has noticed, so
 * that the next test starts without any subscription. */
static void teardown(void)
{
    for (int i = 0; i < 200; i++) {
        reds_strlist *ch = NULL, *sh = NULL;
        int64_t pat = -1;
        ASSERT_OK(reds_pubsub_channels(c, NULL, &ch));
        ASSERT_OK(reds_pubsub_shardchannels(c, NULL, &sh));
        ASSERT_OK(reds_pubsub_numpat(c, &pat));
        bool idle = !ch->count && !sh->count && !pat;
        reds_free(ch);
        reds_free(sh);
        if (idle)
            break;
        usleep(10000);
    }
    reds_client_free(c);
    c = NULL;
}

/* A subscriber: a raw connection that sends `cmd` (inline) and reads until
 * the server's confirmations end with `until` (": <count>" of the last). */
static int subscriber(const char *cmd, const char *until)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    ck_assert_uint_lt(strlen(test_server.sock), sizeof sa.sun_path);
    memcpy(sa.sun_path, test_server.sock, strlen(test_server.sock) + 1);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char line[256];
    int n = snprintf(line, sizeof line, "%s\r\n", cmd);
    ck_assert_int_eq(write(fd, line, (size_t)n), n);
    char buf[4096];
    size_t got = 0;
    while (got + 1 < sizeof buf) {
        ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
        ck_assert_msg(r > 0, "subscriber: no confirmation for %s", cmd);
        got += (size_t)r;
        buf[got] = '\0';
        if (strstr(buf, until))
            break;
    }
    return fd;
}

/* Read what a subscriber received until `expect` appears. */
static void assert_received(int fd, const char *expect)
{
    char buf[4096];
    size_t got = 0;
    while (got + 1 < sizeof buf) {
        ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
        ck_assert_msg(r > 0, "subscriber never got %s", expect);
        got += (size_t)r;
        buf[got] = '\0';
        if (strstr(buf, expect))
            return;
    }
    ck_abort_msg("subscriber never got %s", expect);
}

START_TEST(publish_counts_receivers)
{
    int64_t n = -1;
    ASSERT_OK(reds_publish(c, REDS_STR("news"), REDS_STR("hello"), &n));
    ck_assert_int_eq(n, 0);
    int a = subscriber("SUBSCRIBE news sport", ":2\r\n");
    int b = subscriber("PSUBSCRIBE n*", ":1\r\n");
    ASSERT_OK(reds_publish(c, REDS_STR("news"), REDS_STR("hello"), &n));
    ck_assert_int_eq(n, 2); /* a by channel, b by pattern */
    assert_received(a, "$5\r\nhello\r\n");
    assert_received(b, "$5\r\nhello\r\n");
    ASSERT_OK(reds_publish(c, REDS_STR("sport"), reds_strn("b\0in", 4), &n));
    ck_assert_int_eq(n, 1);
    assert_received(a, "$4\r\nb"); /* b\0in: strstr stops at the NUL */
    close(a);
    close(b);
}
END_TEST

START_TEST(pubsub_channels_numsub_numpat)
{
    reds_strlist *l = NULL;
    ASSERT_OK(reds_pubsub_channels(c, NULL, &l));
    ck_assert_uint_eq(l->count, 0);
    reds_free(l);
    int a = subscriber("SUBSCRIBE news sport", ":2\r\n");
    int b = subscriber("SUBSCRIBE news", ":1\r\n");
    int p = subscriber("PSUBSCRIBE n* s*", ":2\r\n");

    l = NULL;
    ASSERT_OK(reds_pubsub_channels(c, &(reds_pubsub_channels_opts){.pattern = REDS_STR("n*")}, &l));
    ck_assert_uint_eq(l->count, 1);
    ASSERT_STR(&l->items[0], "news");
    reds_free(l);
    l = NULL;
    ASSERT_OK(reds_pubsub_channels(c, NULL, &l));
    ck_assert_uint_eq(l->count, 2); /* patterns are not channels */
    bool news = false, sport = false;
    for (size_t i = 0; i < l->count; i++) {
        news |= l->items[i].len == 4 && !memcmp(l->items[i].ptr, "news", 4);
        sport |= l->items[i].len == 5 && !memcmp(l->items[i].ptr, "sport", 5);
    }
    ck_assert(news && sport);
    reds_free(l);

    reds_channel_count_list *counts = NULL;
    ASSERT_OK(reds_pubsub_numsub(
        c,
        &(reds_pubsub_numsub_opts){
            .channels = (reds_str[]){REDS_STR("news"), REDS_STR("sport"), REDS_STR("none")},
            .nchannels = 3},
        &counts));
    ck_assert_uint_eq(counts->count, 3);
    ASSERT_STR(&counts->items[0].channel, "news");
    ck_assert_int_eq(counts->items[0].count, 2);
    ASSERT_STR(&counts->items[1].channel, "sport");
    ck_assert_int_eq(counts->items[1].count, 1);
    ASSERT_STR(&counts->items[2].channel, "none");
    ck_assert_int_eq(counts->items[2].count, 0);
    reds_free(counts);
    /* Without channels: an empty list. */
    counts = NULL;
    ASSERT_OK(reds_pubsub_numsub(c, NULL, &counts));
    ck_assert_uint_eq(counts->count, 0);
    reds_free(counts);

    int64_t n = -1;
    ASSERT_OK(reds_pubsub_numpat(c, &n));
    ck_assert_int_eq(n, 2);
    close(a);
    close(b);
    close(p);
}
END_TEST

START_TEST(shard_channels)
{
    int64_t n = -1;
    ASSERT_OK(reds_spublish(c, REDS_STR("orders"), REDS_STR("o1"), &n));
    ck_assert_int_eq(n, 0);
    int a = subscriber("SSUBSCRIBE orders", ":1\r\n");
    int b = subscriber("SSUBSCRIBE orders invoices", ":2\r\n");
    ASSERT_OK(reds_spublish(c, REDS_STR("orders"), REDS_STR("o2"), &n));
    ck_assert_int_eq(n, 2);
    assert_received(a, "$2\r\no2\r\n");

    reds_strlist *l = NULL;
    ASSERT_OK(reds_pubsub_shardchannels(
        c, &(reds_pubsub_shardchannels_opts){.pattern = REDS_STR("inv*")}, &l));
    ck_assert_uint_eq(l->count, 1);
    ASSERT_STR(&l->items[0], "invoices");
    reds_free(l);
    l = NULL;
    ASSERT_OK(reds_pubsub_shardchannels(c, NULL, &l));
    ck_assert_uint_eq(l->count, 2);
    reds_free(l);
    /* Shard channels are not channels. */
    l = NULL;
    ASSERT_OK(reds_pubsub_channels(c, NULL, &l));
    ck_assert_uint_eq(l->count, 0);
    reds_free(l);

    reds_channel_count_list *counts = NULL;
    ASSERT_OK(reds_pubsub_shardnumsub(
        c,
        &(reds_pubsub_shardnumsub_opts){
            .shardchannels =
                (reds_str[]){REDS_STR("orders"), REDS_STR("invoices"), REDS_STR("none")},
            .nshardchannels = 3},
        &counts));
    ck_assert_uint_eq(counts->count, 3);
    ASSERT_STR(&counts->items[0].channel, "orders");
    ck_assert_int_eq(counts->items[0].count, 2);
    ASSERT_STR(&counts->items[1].channel, "invoices");
    ck_assert_int_eq(counts->items[1].count, 1);
    ck_assert_int_eq(counts->items[2].count, 0);
    reds_free(counts);
    close(a);
    close(b);
}
END_TEST

START_TEST(pubsub_help)
{
    reds_strlist *help = NULL;
    ASSERT_OK(reds_pubsub_help(c, &help));
    ck_assert_uint_gt(help->count, 5);
    ck_assert_ptr_nonnull(strstr(help->items[0].ptr, "PUBSUB"));
    reds_free(help);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pubsub_cmds");
    TCase *tc = tcase_create("pubsub");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, publish_counts_receivers);
    tcase_add_test(tc, pubsub_channels_numsub_numpat);
    tcase_add_test(tc, shard_channels);
    tcase_add_test(tc, pubsub_help);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
