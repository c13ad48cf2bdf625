/* See testpack.h. */
#include "testpack.h"

char test_sent[4096];
size_t test_sent_len;
int test_calls;
reds__cmd test_last;

static reds_err capture_run(reds_client *c, reds__cmd *cmd)
{
    (void)c;
    ck_assert_uint_lt(cmd->len, sizeof test_sent);
    memcpy(test_sent, cmd->buf, cmd->len);
    test_sent_len = cmd->len;
    test_last = *cmd;
    test_last.buf = test_sent;
    test_calls++;
    return REDS_OK;
}

static void capture_destroy(reds_client *c)
{
    (void)c;
}

static const reds__router capture_router = {"capture", capture_run,     NULL,
                                            NULL,      capture_destroy, NULL,
                                            NULL};
/* Every client has a config (reds_ext_run() reads its hooks there). */
static reds__config capture_cfg;
static struct reds_client capture = {&capture_router, &capture_cfg, NULL, NULL};
reds_client *const test_cap = &capture;

void test_cap_reset(void)
{
    test_sent_len = 0;
    test_calls = 0;
}

const char *test_escaped(const char *s, size_t len)
{
    static char bufs[2][8192];
    static int which;
    char *out = bufs[which ^= 1];
    size_t n = 0;
    for (size_t i = 0; i < len && n + 3 < sizeof bufs[0]; i++) {
        const char *esc = s[i] == '\r' ? "\\r" : s[i] == '\n' ? "\\n" : s[i] == '\0' ? "\\0" : NULL;
        if (esc) {
            memcpy(out + n, esc, 2);
            n += 2;
        } else {
            out[n++] = s[i];
        }
    }
    out[n] = '\0';
    return out;
}
