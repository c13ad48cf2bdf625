/* See testutil.h. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

fixture_server test_server;

int test_main(Suite *suite, bool with_server)
{
    if (with_server && fixture_start(&test_server, NULL) != 0)
        return 1;
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (with_server)
        fixture_stop(&test_server);
    return failed ? 1 : 0;
}

void test_raw(const char *inline_cmd, char *reply, size_t size)
{
    ck_assert_msg(fixture_command(&test_server, inline_cmd, reply, size) == 0,
                  "raw command %s failed", inline_cmd);
}

void test_flush(void)
{
    char reply[64];
    test_raw("FLUSHALL", reply, sizeof reply);
    ck_assert_str_eq(reply, "+OK");
}

reds_client *test_client(const reds_options *opts)
{
    reds_options o = {0};
    if (opts)
        o = *opts;
    o.host = "127.0.0.1";
    o.port = test_server.port;
    reds_client *c = NULL;
    reds_err err = reds_client_new(&o, &c);
    ck_assert_msg(err == REDS_OK, "reds_client_new: %s", reds_errmsg());
    return c;
}

reds_client *test_client_unix(const reds_options *opts)
{
    reds_options o = {0};
    if (opts)
        o = *opts;
    o.unix_path = test_server.sock;
    reds_client *c = NULL;
    reds_err err = reds_client_new(&o, &c);
    ck_assert_msg(err == REDS_OK, "reds_client_new: %s", reds_errmsg());
    return c;
}
