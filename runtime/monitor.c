/* MONITOR (see <reds/monitor.h>). The server sends each command as a
 * status line:
 *
 *     1700000000.123456 [0 127.0.0.1:50432] "SET" "k" "a\"b\x00"
 *
 * with every argument quoted by sdscatrepr(): \\ \" \n \r \t \a \b, other
 * unprintable bytes as \xHH. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reds/monitor.h>

#include "internal.h"
#include "pack.h"

struct reds_monitor {
    reds__config *cfg;
    reds__conn *conn;
};

static reds_err bad_line(const char *why)
{
    return reds__error(REDS_ERR_INVALID_RESPONSE, "MONITOR: unexpected line (%s)", why);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* One quoted argument at *pp (on its opening quote), unescaped into the
 * arena; *pp ends past the closing quote. */
static reds_err unquote(reds__arena *a, const char **pp, const char *end, reds_str *out)
{
    const char *p = *pp + 1;
    const char *close = p;
    /* Find the closing quote first, to size the copy. */
    while (close < end && *close != '"')
        close += (*close == '\\' && close + 1 < end) ? 2 : 1;
    if (close >= end)
        return bad_line("an argument has no closing quote");
    char *buf = reds__arena_alloc(a, (size_t)(close - p) + 1), *w = buf;
    if (!buf)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    while (p < close) {
        if (*p != '\\') {
            *w++ = *p++;
            continue;
        }
        char c = p[1];
        p += 2;
        switch (c) {
        case 'n':
            *w++ = '\n';
            break;
        case 'r':
            *w++ = '\r';
            break;
        case 't':
            *w++ = '\t';
            break;
        case 'a':
            *w++ = '\a';
            break;
        case 'b':
            *w++ = '\b';
            break;
        case '\\':
            *w++ = '\\';
            break;
        case '"':
            *w++ = '"';
            break;
        case 'x': {
            int hi = p < close ? hexval(p[0]) : -1;
            int lo = p + 1 < close ? hexval(p[1]) : -1;
            if (hi < 0 || lo < 0)
                return bad_line("a bad \\x escape");
            *w++ = (char)(hi << 4 | lo);
            p += 2;
            break;
        }
        default:
            return bad_line("an unknown escape");
        }
    }
    *w = '\0';
    *out = reds_strn(buf, (size_t)(w - buf));
    *pp = close + 1;
    return REDS_OK;
}

static bool digits(const char **pp, const char *end, int64_t *out, int max_digits)
{
    const char *p = *pp;
    int64_t v = 0;
    int n = 0;
    while (p < end && *p >= '0' && *p <= '9' && n < max_digits) {
        v = v * 10 + (*p++ - '0');
        n++;
    }
    if (!n)
        return false;
    *pp = p;
    *out = v;
    return true;
}

static reds_err parse(reds__arena *a, const char *line, size_t len, reds_monitor_record **out)
{
    const char *p = line, *end = line + len;
    if (p < end && *p == '+')
        p++;
    while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    reds_monitor_record *r = reds__arena_result(a, sizeof *r);
    if (!r)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    int64_t usec;
    const char *frac;
    if (!digits(&p, end, &r->seconds, 18) || p >= end || *p++ != '.')
        return bad_line("no timestamp");
    frac = p;
    if (!digits(&p, end, &usec, 6) || p - frac != 6)
        return bad_line("no microseconds");
    r->microseconds = (int32_t)usec;
    r->time = (double)r->seconds + (double)usec / 1e6;
    if (end - p < 2 || p[0] != ' ' || p[1] != '[')
        return bad_line("no [db client]");
    p += 2;
    if (!digits(&p, end, &r->db, 18) || p >= end || *p++ != ' ')
        return bad_line("no database");
    /* The client ends at the first `] "`: a quote inside an argument is
     * always escaped, so that sequence cannot start in one. */
    const char *close = NULL;
    for (const char *q = p; q + 2 < end; q++) {
        if (q[0] == ']' && q[1] == ' ' && q[2] == '"') {
            close = q;
            break;
        }
    }
    if (!close)
        return bad_line("no command");
    r->client = reds_strn(reds__arena_strdup(a, p, (size_t)(close - p)), (size_t)(close - p));
    if (!r->client.ptr)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    if (r->client.len == 3 && memcmp(r->client.ptr, "lua", 3) == 0)
        r->source = REDS_MONITOR_LUA;
    else if (r->client.len > 5 && memcmp(r->client.ptr, "unix:", 5) == 0)
        r->source = REDS_MONITOR_UNIX;
    else if (memchr(r->client.ptr, ':', r->client.len))
        r->source = REDS_MONITOR_TCP;
    else
        r->source = REDS_MONITOR_OTHER;
    p = close + 2;
    /* Count the arguments, then unquote them. */
    size_t most = 0, n = 0;
    for (const char *q = p; q < end; most++) {
        if (*q != '"')
            return bad_line("an argument is not quoted");
        for (q++; q < end && *q != '"';)
            q += (*q == '\\' && q + 1 < end) ? 2 : 1;
        if (q < end)
            q++;
        if (q < end && *q++ != ' ')
            return bad_line("no space between arguments");
    }
    reds_str *argv = reds__arena_alloc(a, most * sizeof *argv);
    if (!argv)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    for (;;) {
        if (p >= end || *p != '"')
            return bad_line("an argument is not quoted");
        reds_err err = unquote(a, &p, end, &argv[n++]);
        if (err)
            return err;
        if (p == end)
            break;
        if (*p++ != ' ')
            return bad_line("no space between arguments");
    }
    r->command = argv[0];
    r->nargs = n - 1;
    r->args = argv + 1;
    *out = r;
    return REDS_OK;
}

reds_err reds_monitor_parse(const char *line, size_t len, reds_monitor_record **out)
{
    if (out)
        *out = NULL;
    if (!out || (!line && len))
        return reds__error(REDS_ERR_DATA, "reds_monitor_parse: NULL argument");
    reds__arena a = {0};
    reds_err err = parse(&a, line ? line : "", len, out);
    if (err) {
        *out = NULL;
        reds__arena_clear(&a);
        return err;
    }
    reds__arena_finish(&a);
    return REDS_OK;
}

reds_err reds_monitor_new(reds_client *client, reds_monitor **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_monitor_new: out is NULL");
    *out = NULL;
    if (!client)
        return reds__error(REDS_ERR_DATA, "reds_monitor_new: the client is NULL");
    if (reds_async_is(client))
        return reds__error(REDS_ERR_DATA, "reds_monitor_new: MONITOR blocks, and an async "
                                          "handle has no monitor of its own");
    reds_monitor *m = calloc(1, sizeof *m);
    if (!m)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    reds_err err = reds__config_copy(client->cfg, &m->cfg);
    if (!err)
        err = reds__conn_open(m->cfg, &m->conn);
    if (!err) {
        static const char cmd[] = "*1\r\n$7\r\nMONITOR\r\n";
        err = reds__conn_write(m->conn, cmd, sizeof cmd - 1);
    }
    if (!err) {
        reds_reply *reply;
        err = reds__conn_read(m->conn, &reply);
        if (!err && reply->type == REDS_REPLY_ERROR) {
            err = reds__error_from_reply(reply->str, reply->len);
            reds__error(err, "MONITOR: %s", reply->str);
        } else if (!err && reply->type != REDS_REPLY_STATUS) {
            err = reds__bad_reply(reply, "+OK");
        }
        reds__arena_finish(&m->conn->arena);
    }
    if (err) {
        reds_monitor_close(m);
        return err;
    }
    *out = m;
    return REDS_OK;
}

reds_err reds_monitor_next(reds_monitor *m, int timeout_ms, reds_monitor_record **out)
{
    if (out)
        *out = NULL;
    if (!m || !out)
        return reds__error(REDS_ERR_DATA, "reds_monitor_next: NULL argument");
    if (timeout_ms < 0 && timeout_ms != REDS_NO_TIMEOUT)
        return reds__error(REDS_ERR_DATA,
                           "reds_monitor_next: timeout_ms must be >= 0 or "
                           "REDS_NO_TIMEOUT, not %d",
                           timeout_ms);
    if (m->conn->broken)
        return reds__error(REDS_ERR_CONNECTION, "MONITOR: the connection was lost");
    reds_reply *reply;
    reds_err err = reds__conn_read_timeout(m->conn, timeout_ms, &reply);
    if (err || !reply)
        return err;
    reds__arena *a = &m->conn->arena;
    if (reply->type == REDS_REPLY_STATUS)
        err = parse(a, reply->str, reply->len, out);
    else if (reply->type == REDS_REPLY_ERROR)
        err =
            reds__error(reds__error_from_reply(reply->str, reply->len), "MONITOR: %s", reply->str);
    else
        err = reds__bad_reply(reply, "a MONITOR line");
    if (err) {
        *out = NULL;
        a->result = NULL;
    }
    reds__arena_finish(a);
    return err;
}

void reds_monitor_close(reds_monitor *m)
{
    if (!m)
        return;
    reds__conn_close(m->conn);
    reds__config_free(m->cfg);
    free(m);
}
