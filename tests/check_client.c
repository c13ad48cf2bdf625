/* Clients against a real server: options, errors, timeouts, threads. */
#include "testutil.h"

START_TEST(ping_tcp_and_unix)
{
    reds_client *tcp = test_client(NULL), *unix_ = test_client_unix(NULL);
    reds_str *pong = NULL;
    ASSERT_OK(reds_ping(tcp, NULL, &pong));
    ASSERT_STR(pong, "PONG");
    reds_free(pong);
    ASSERT_OK(reds_ping(unix_, NULL, &pong));
    ASSERT_STR(pong, "PONG");
    reds_free(pong);
    reds_client_free(tcp);
    reds_client_free(unix_);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("client");
    TCase *tc = tcase_create("basics");
    tcase_add_checked_fixture(tc, test_flush, NULL);
    tcase_add_test(tc, ping_tcp_and_unix);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
