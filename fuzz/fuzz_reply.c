/* fuzz_reply: the input is what a hostile server sends. A thread serves
 * it on a unix socket, one reply per command (serve()); a pooled client
 * connects and runs commands until the stream is used up, so every byte
 * goes through the real transport, hiredis's reader and the reader
 * callbacks into the connection's arena (runtime/conn.c), and every
 * reply reaches:
 *
 *   - reds_execute_command(), the generic tree, whose copy is then walked
 *     with the reds_reply_* accessors;
 *   - or reds_ext_run() with a converter of this file's, which runs one
 *     reply kind's converter on the runtime's arena, as a generated
 *     wrapper does (the kind picked by the round and the input's length);
 *
 * in turn: one of each alone, then both in a pipeline, then both in a
 * transaction (MULTI, QUEUED, QUEUED, then the replies as EXEC's
 * elements), and again. Every reply, either way, also goes through every
 * reds_kind_* converter of <reds/reply_kinds.h> (an arena of its own
 * each, its result released as a caller releases it). The list of kinds
 * (fuzz_kinds.h) is made from reply_kinds.h at build time, so a new kind
 * is fuzzed without an edit here.
 *
 * Beyond the sanitizers it checks the ownership rule every caller relies
 * on: a kind whose `out` is a pointer to a result hands back either NULL
 * or the result it allocated (released by reds_free()), and a scalar kind
 * allocates no result. Built by `make fuzz`. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <hiredis/read.h>

#include <reds/reds.h>
#include <reds/extension.h>

#include "internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ------------------------------------------------------------ reply kinds */

typedef struct kind {
    const char *name;
    const reds_ext_converter *conv;
    bool owned; /* `out` is a pointer to a result the caller releases */
} kind;

static const kind kinds[] = {
#define KIND(name, owned) {#name, &reds_kind_##name, owned},
#include "fuzz_kinds.h"
#undef KIND
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

/* Large enough for every kind's `out` (as tools/check_reply.c). */
typedef union out_buf {
    void *ptr;
    long double ld;
    unsigned char bytes[256];
} out_buf;

/* `kind_name` NULL: not about one kind. */
static void fail(const char *kind_name, const char *what)
{
    fprintf(stderr, "fuzz_reply: %s%s%s\n", kind_name ? "reds_kind_" : "",
            kind_name ? kind_name : "", what);
    abort();
}

/* Convert `reply` with `k` into an arena of its own, as reds__deliver()
 * does, and release what it made as the caller would. */
static void convert(const kind *k, const reds_reply *reply)
{
    reds__arena arena = {0};
    out_buf out;
    memset(&out, 0, sizeof out);
    reds_err err = (*k->conv)(reply, &arena, &out);
    if (err) {
        arena.result = NULL; /* a failed conversion keeps nothing */
        reds__arena_clear(&arena);
        return;
    }
    void *result = arena.result ? (void *)(arena.result + 1) : NULL;
    if (!k->owned && result)
        fail(k->name, ": a scalar kind allocated a result (it would leak)");
    if (k->owned && out.ptr != result)
        fail(k->name, out.ptr ? ": the output is not the result the arena holds (a pointer "
                                "into a reused arena, or a second result)"
                              : ": the output is NULL but a result was allocated (it would leak)");
    reds__arena_finish(&arena);
    reds_free(out.ptr && k->owned ? out.ptr : NULL);
    reds__arena_clear(&arena);
}

static void convert_all(const reds_reply *reply)
{
    for (size_t i = 0; i < NKINDS; i++)
        convert(&kinds[i], reply);
}

/* The reds_reply_* accessors on every node of a generic reply. */
static void walk(const reds_reply *r, int depth)
{
    int64_t i64;
    reds_str s;
    double d;
    (void)reds_reply_int(r, &i64);
    (void)reds_reply_str(r, &s);
    (void)reds_reply_double(r, &d);
    (void)reds_reply_is_nil(r);
    size_t n = reds_reply_count(r);
    if (reds_reply_at(r, n))
        fail(NULL, "reds_reply_at() past the end is not NULL");
    for (size_t i = 0; i < n && depth < 16; i++)
        walk(reds_reply_at(r, i), depth + 1);
}

/* The converter of the kind commands: every kind on a side arena, then
 * kind `chosen` on the arena the runtime passes (the connection's). */
static size_t chosen;
static void *chosen_result; /* what a successful `chosen` returned */

static reds_err every_kind(const reds_reply *reply, struct reds_arena *arena, void *out)
{
    convert_all(reply);
    const kind *k = &kinds[chosen];
    reds_err err = (*k->conv)(reply, arena, out);
    chosen_result = !err && k->owned ? ((out_buf *)out)->ptr : NULL;
    return err;
}

static const reds_catalog_entry fuzz_entry = {.name = "FUZZ", .arity = 1};

/* FUZZ with every_kind, as a generated wrapper runs (or queues) it. */
static reds_err kind_command(reds_client *c, out_buf *out)
{
    reds_ext_size sz = {0, 0, NULL};
    reds_ext_cmd cmd;
    reds_ext_size_lit(&sz, 10);
    char *p = reds_ext_begin(c, &cmd, &fuzz_entry, &sz);
    if (!p)
        return reds_ext_last_error();
    p = reds_ext_put_lit(p, "$4\r\nFUZZ\r\n", 10);
    memset(out, 0, sizeof *out);
    chosen_result = NULL;
    return reds_ext_run(c, &cmd, p, every_kind, out);
}

/* After a kind command succeeded: its output is what the converter made,
 * and the caller's to release. */
static void kind_done(const out_buf *out)
{
    if (kinds[chosen].owned && chosen_result != out->ptr)
        fail(kinds[chosen].name, ": the output is not what the converter returned");
    reds_free(chosen_result);
}

/* FUZZ with the generic tree. */
static reds_err generic_command(reds_client *c, reds_reply **reply)
{
    reds_str argv[] = {REDS_STR("FUZZ")};
    *reply = NULL;
    return reds_execute_command(c, 1, argv, reply);
}

static void generic_done(reds_reply *reply)
{
    if (!reply)
        fail(NULL, "a generic command succeeded without a reply");
    walk(reply, 0);
    convert_all(reply);
    reds_free(reply);
}

static reds_err run_kind(reds_client *c)
{
    out_buf out;
    reds_err err = kind_command(c, &out);
    if (!err)
        kind_done(&out);
    return err;
}

static reds_err run_generic(reds_client *c)
{
    reds_reply *reply;
    reds_err err = generic_command(c, &reply);
    if (!err)
        generic_done(reply);
    else if (reply)
        fail(NULL, "a failed generic command left a reply");
    return err;
}

/* Both commands in a pipeline, or a transaction (MULTI, both, EXEC: the
 * replies then come as EXEC's elements), each output taken only when its
 * command succeeded. */
static reds_err run_pipeline(reds_client *c, bool transaction)
{
    reds_client *p = NULL;
    reds_err err = reds_pipeline_new(c, transaction, &p);
    if (err)
        return err;
    reds_reply *reply = NULL;
    out_buf out;
    memset(&out, 0, sizeof out);
    if (!(err = generic_command(p, &reply)) && !(err = kind_command(p, &out)))
        err = reds_pipeline_execute(p);
    if (reds_pipeline_count(p) == 2) {
        if (reds_pipeline_result(p, 0, NULL) == REDS_OK)
            generic_done(reply);
        if (reds_pipeline_result(p, 1, NULL) == REDS_OK)
            kind_done(&out);
    }
    reds_client_free(p);
    return err;
}

/* ---------------------------------------------------------------- server */

/* The server answers in step, one reply per command, as a server does:
 * bytes sent before they were asked for would be unread data, for which
 * a pool closes the connection (README, "A pooled connection is clean or
 * gone"), and the rest of the input would go unread. So the input is cut
 * into replies first, by hiredis's own reader (the one the client uses,
 * with callbacks that build nothing); what follows the last complete
 * reply (an incomplete or malformed one) answers one more command. */
static char sentinel_obj;
static void *made_string(const redisReadTask *t, char *s, size_t n)
{
    (void)t, (void)s, (void)n;
    return &sentinel_obj;
}
static void *made_array(const redisReadTask *t, int n)
{
    (void)t, (void)n;
    return &sentinel_obj;
}
static void *made_integer(const redisReadTask *t, long long v)
{
    (void)t, (void)v;
    return &sentinel_obj;
}
static void *made_nil(const redisReadTask *t)
{
    (void)t;
    return &sentinel_obj;
}
static void made_free(void *obj)
{
    (void)obj;
}
static redisReplyObjectFunctions cut_functions = {made_string, made_array, made_integer, made_nil,
                                                  made_free};

/* The end of each reply in `data`; the last end is always `size`.
 * `*whole` says whether the last one is a complete reply. */
static size_t cut_replies(const uint8_t *data, size_t size, size_t *ends, size_t max, bool *whole)
{
    size_t n = 0;
    redisReader *r = redisReaderCreateWithFunctions(&cut_functions);
    if (!r)
        abort();
    r->maxbuf = 0;
    if (size && redisReaderFeed(r, (const char *)data, size) != REDIS_OK)
        abort();
    void *reply;
    while (n + 1 < max && redisReaderGetReply(r, &reply) == REDIS_OK && reply)
        ends[n++] = size - (r->len - r->pos);
    redisReaderFree(r);
    *whole = n && ends[n - 1] == size;
    if (!*whole)
        ends[n++] = size;
    return n;
}

static char sock_dir[64], sock_path[128];
static int listen_fd = -1;

typedef struct server {
    const uint8_t *data;
    size_t size;
    const size_t *ends; /* where each reply ends */
    size_t nreplies;
    bool whole;  /* the last reply is complete */
    int stop[2]; /* a byte on stop[1]: the input is done */
    atomic_int accepted;
    pthread_t thread;
} server;

/* Wait for `fd` to be ready for `events`, or for the stop signal. */
static bool wait_for(server *s, int fd, short events)
{
    struct pollfd p[2] = {{fd, events, 0}, {s->stop[0], POLLIN, 0}};
    while (poll(p, 2, -1) < 0)
        if (errno != EINTR)
            return false;
    return !(p[1].revents & POLLIN);
}

/* The first connection gets the replies, one per command, then the end
 * of the stream: right after the last reply when that is incomplete (the
 * client is reading the rest of it), otherwise when the client asks for
 * more, so that it always sees the end the same way. Any later
 * connection (the client reconnecting after a protocol error) is closed
 * at once. */
static void *serve(void *arg)
{
    server *s = arg;
    while (wait_for(s, listen_fd, POLLIN)) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            continue;
        if (atomic_fetch_add(&s->accepted, 1) > 0) {
            close(fd);
            continue;
        }
        /* Commands are counted by their first byte, '*': no argument the
         * client sends here (FUZZ, MULTI, EXEC) holds one. */
        size_t asked = 0, sent = 0;
        bool shut = false;
        char sink[4096];
        for (;;) {
            size_t upto = !asked ? 0 : asked < s->nreplies ? s->ends[asked - 1] : s->size;
            if (sent == s->size && !shut && (!s->whole || asked > s->nreplies)) {
                shutdown(fd, SHUT_WR);
                shut = true;
            }
            if (!wait_for(s, fd, sent < upto ? POLLIN | POLLOUT : POLLIN))
                break;
            ssize_t n = read(fd, sink, sizeof sink);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                break; /* the client closed the connection */
            for (ssize_t i = 0; i < n; i++)
                asked += sink[i] == '*';
            if (sent < upto) {
                n = send(fd, s->data + sent, upto - sent, MSG_NOSIGNAL);
                if (n > 0)
                    sent += (size_t)n;
                else if (n < 0 && errno != EAGAIN && errno != EINTR)
                    break;
            }
        }
        close(fd);
    }
    return NULL;
}

static void cleanup(void)
{
    if (listen_fd >= 0)
        close(listen_fd);
    unlink(sock_path);
    rmdir(sock_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(sock_dir, sizeof sock_dir, "%s", "/tmp/reds-fuzz-XXXXXX");
    if (!mkdtemp(sock_dir)) {
        perror("fuzz_reply: mkdtemp");
        exit(1);
    }
    snprintf(sock_path, sizeof sock_path, "%s/s", sock_dir);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(listen_fd, 16) < 0) {
        perror("fuzz_reply: listen");
        exit(1);
    }
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A reply takes 3 bytes or more. */
    size_t most = size / 3 + 2;
    size_t *ends = malloc(most * sizeof *ends);
    if (!ends)
        abort();
    server s = {.data = data, .size = size, .ends = ends};
    s.nreplies = cut_replies(data, size, ends, most, &s.whole);
    atomic_init(&s.accepted, 0);
    if (pipe2(s.stop, O_CLOEXEC) < 0 || pthread_create(&s.thread, NULL, serve, &s) != 0) {
        perror("fuzz_reply: server");
        abort();
    }
    /* The server answers every command at once, or ends the stream: a
     * client that waits this long waits for a reply it never asked for
     * (out of step with its commands) and fails the run. */
    reds_options o = {.unix_path = sock_path,
                      .connect_timeout_ms = 5000,
                      .socket_timeout_ms = 5000,
                      .max_connections = 1};
    reds_client *c = NULL;
    if (reds_client_new(&o, &c) != REDS_OK) {
        fprintf(stderr, "fuzz_reply: %s\n", reds_errmsg());
        abort();
    }
    /* At least one reply per round, and one more to see the end. */
    for (size_t i = 0; i <= s.nreplies && atomic_load(&s.accepted) < 2; i++) {
        chosen = (i + size) % NKINDS;
        reds_err err = i % 4 == 0   ? run_generic(c)
                       : i % 4 == 1 ? run_kind(c)
                       : i % 4 == 2 ? run_pipeline(c, false)
                                    : run_pipeline(c, true);
        if (err == REDS_ERR_TIMEOUT)
            fail(NULL, "the client waited for a reply it did not ask for");
        if (err == REDS_ERR_CONNECTION)
            break; /* the stream is used up */
    }
    reds_client_free(c);
    if (write(s.stop[1], "", 1) != 1)
        abort();
    pthread_join(s.thread, NULL);
    close(s.stop[0]);
    close(s.stop[1]);
    free(ends);
    return 0;
}
