/* check-reply: run the library's own reply converters on raw server
 * replies, for `make audit` (codegen/audit.py), which checks every bound
 * function's reply kind against what a real server answers.
 *
 * Reads records from stdin, each a line `<kind> <nbytes>` followed by
 * nbytes of raw RESP2 (one reply), and answers one line per record:
 *
 *     ok
 *     refused <ErrorName>: <message>
 *     unknown <kind>               (no such kind in this build)
 *     unparsable <message>         (the bytes are not one RESP2 reply)
 *
 * A kind's converter is the library's reds_kind_<kind> (the extension
 * API's, <reds/reply_kinds.h>, which every function of that kind uses);
 * the program is linked with the whole library and -rdynamic, so dlsym()
 * finds each by the kind's name and the audit needs no table of its own.
 * The reply is parsed by the same hiredis reader into the same arena as a
 * live reply, and converted as the runtime converts it. */
#include <dlfcn.h>
#include <hiredis/read.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reds/extension.h>

#include "internal.h"

/* Large enough for every reply kind's `out` (a pointer, a bool, an
 * int64_t, a reds_opt_i64, a reds_opt_f64, a double). */
typedef union out_buf {
    void *ptr;
    long double ld;
    unsigned char bytes[256];
} out_buf;

static void check(const char *kind, const char *data, size_t len)
{
    char name[256];
    snprintf(name, sizeof name, "reds_kind_%s", kind);
    const reds_ext_converter *conv = dlsym(RTLD_DEFAULT, name);
    if (!conv || !*conv) {
        printf("unknown %s\n", kind);
        return;
    }
    reds_ext_converter fn = *conv;

    reds__arena arena = {0};
    reds__parser parser = {.arena = &arena};
    struct redisReader *reader = reds__reader_new(&parser);
    void *reply = NULL;
    if (!reader) {
        printf("unparsable out of memory\n");
        return;
    }
    if (redisReaderFeed(reader, data, len) != REDIS_OK ||
        redisReaderGetReply(reader, &reply) != REDIS_OK || !reply) {
        printf("unparsable %s\n", reader->err ? reader->errstr : "an incomplete reply");
        redisReaderFree(reader);
        reds__arena_clear(&arena);
        return;
    }
    out_buf out;
    memset(&out, 0, sizeof out);
    reds_err err = fn(reply, &arena, &out);
    if (err)
        printf("refused %s: %s\n", reds_err_name(err), reds_errmsg());
    else
        printf("ok\n");
    redisReaderFree(reader);
    /* The result, owned or not, lives in the arena's chunks. */
    reds__arena_clear(&arena);
}

int main(void)
{
    char line[256];
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    if (!buf)
        return 1;
    while (fgets(line, sizeof line, stdin)) {
        char name[200];
        size_t len;
        if (sscanf(line, "%199s %zu", name, &len) != 2) {
            fprintf(stderr, "check-reply: bad record header: %s", line);
            free(buf);
            return 2;
        }
        if (len > cap) {
            char *bigger = realloc(buf, len);
            if (!bigger) {
                free(buf);
                return 1;
            }
            buf = bigger;
            cap = len;
        }
        if (fread(buf, 1, len, stdin) != len) {
            fprintf(stderr, "check-reply: short record for %s\n", name);
            free(buf);
            return 2;
        }
        check(name, buf, len);
        fflush(stdout);
    }
    free(buf);
    return 0;
}
