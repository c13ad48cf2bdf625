/* fuzz_monitor: the input is one line of MONITOR output as a hostile
 * server could send it, given to reds_monitor_parse() (runtime/monitor.c),
 * the parser reds_monitor_next() runs on every line.
 *
 * Beyond the sanitizers it checks what a caller relies on: every string
 * of a record is NUL-terminated, and a record written back the way the
 * server quotes (sdscatrepr) parses to the same record. Built by
 * `make fuzz`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reds/reds.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_monitor: %s\n", what);
    abort();
}

static void check_str(reds_str s)
{
    if (!s.ptr || s.ptr[s.len] != '\0')
        fail("a string of the record is NULL or not NUL-terminated");
}

static bool same(reds_str a, reds_str b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

/* As the server's sdscatrepr(): the argument in quotes, escaped. */
static void put_quoted(FILE *f, reds_str s)
{
    fputc('"', f);
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        switch (c) {
        case '\\':
            fputs("\\\\", f);
            break;
        case '"':
            fputs("\\\"", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        case '\a':
            fputs("\\a", f);
            break;
        case '\b':
            fputs("\\b", f);
            break;
        default:
            if (c >= 0x20 && c < 0x7f)
                fputc(c, f);
            else
                fprintf(f, "\\x%02x", c);
        }
    }
    fputc('"', f);
}

/* The record as the server would have written it. */
static char *rewrite(const reds_monitor_record *r, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        fail("out of memory");
    fprintf(f, "%lld.%06d [%lld ", (long long)r->seconds, (int)r->microseconds, (long long)r->db);
    fwrite(r->client.ptr, 1, r->client.len, f);
    fputs("] ", f);
    put_quoted(f, r->command);
    for (size_t i = 0; i < r->nargs; i++) {
        fputc(' ', f);
        put_quoted(f, r->args[i]);
    }
    if (fclose(f) != 0)
        fail("out of memory");
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reds_monitor_record *r = NULL;
    /* An exact copy: past its end is unmapped to ASan (the input buffer is
     * too, but a copy keeps that true whoever calls this). */
    char *line = malloc(size ? size : 1);
    if (!line)
        return 0;
    if (size)
        memcpy(line, data, size);
    reds_err err = reds_monitor_parse(line, size, &r);
    free(line);
    if (err) {
        if (r)
            fail("a failed parse left a record");
        if (err != REDS_ERR_INVALID_RESPONSE && err != REDS_ERR_NOMEM)
            fail("a bad line is not REDS_ERR_INVALID_RESPONSE");
        return 0;
    }
    if (!r)
        fail("a successful parse gave no record");
    check_str(r->client);
    check_str(r->command);
    if (r->nargs && !r->args)
        fail("arguments without their array");
    for (size_t i = 0; i < r->nargs; i++)
        check_str(r->args[i]);
    if (r->microseconds < 0 || r->microseconds > 999999 || r->seconds < 0 || r->db < 0)
        fail("a number out of range");
    if (r->source < REDS_MONITOR_TCP || r->source > REDS_MONITOR_OTHER)
        fail("an unknown source");

    size_t len;
    char *again = rewrite(r, &len);
    reds_monitor_record *r2 = NULL;
    err = reds_monitor_parse(again, len, &r2);
    if (err) {
        fprintf(stderr, "fuzz_monitor: %s\n  rewritten: %.*s\n", reds_errmsg(), (int)len, again);
        fail("the record written back does not parse");
    }
    if (r2->seconds != r->seconds || r2->microseconds != r->microseconds || r2->db != r->db ||
        r2->source != r->source || r2->time != r->time || !same(r2->client, r->client) ||
        !same(r2->command, r->command) || r2->nargs != r->nargs)
        fail("the record written back parses differently");
    for (size_t i = 0; i < r->nargs; i++)
        if (!same(r2->args[i], r->args[i]))
            fail("an argument written back parses differently");
    free(again);
    reds_free(r2);
    reds_free(r);
    return 0;
}
