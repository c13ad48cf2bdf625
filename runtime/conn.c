/* One connection: TCP or unix socket, blocking I/O with kernel timeouts
 * (SO_RCVTIMEO/SO_SNDTIMEO), replies parsed by hiredis's reader into the
 * connection's arena. A non-pipelined round trip is one send() and one
 * recv(): no poll(), no getpid(), no clock call. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/read.h>
#include <hiredis/sds.h>

#include "internal.h"
#include "pack.h"

/* What one recv() takes, and so what the reader is given at a time: its
 * own buffer (a second copy) then stays small and in cache, and hiredis
 * 0.14, which moves what it holds each time it has consumed 1 KiB, never
 * moves much. On the stack: an idle connection holds no receive buffer. */
#define FEED_SLICE  (16 * 1024)
#define READER_KEEP REDS__READER_KEEP
/* What it may keep when empty in use (hiredis frees a bigger one). */
#define READER_MAXBUF (16 * 1024)

atomic_uint reds__fork_generation;
_Thread_local uint64_t reds__reader_scanned;

/* ------------------------------------------- hiredis reader -> arena nodes */

/* An array's elements are allocated as they arrive, beyond the first
 * ELEMENTS_AHEAD: a header announcing 10^7 elements costs 2.5 MiB until
 * they come, and then the array doubles as they fill it. The element cap
 * counts the slots allocated, so that no header, however nested, makes
 * more than max_reply_elements of them. */
#define ELEMENTS_AHEAD (64 * 1024)

#if defined(__GNUC__)
#define COLD __attribute__((noinline, cold))
#else
#define COLD
#endif

/* Refuse the reply being read: the reader stops with an error, which
 * reds__conn_read() reports as `err`. */
static void *refuse(reds__parser *p, reds_err err)
{
    p->fault = err;
    return NULL;
}

/* Charge `n` element slots to the reply being read. */
static inline bool charge(reds__parser *p, size_t n)
{
    if (REDS__UNLIKELY(n > p->max_nodes - p->nodes))
        return refuse(p, REDS_ERR_REPLY_TOO_LARGE), false;
    p->nodes += n;
    return true;
}

/* The element array of `parent` is full at `idx` (a power of two from
 * ELEMENTS_AHEAD on) and more elements come: move it to one twice as
 * big. Only finished siblings move; nothing points into the array. */
COLD static reds_reply *grow(reds__parser *p, reds_reply *parent, size_t idx)
{
    size_t n = parent->len < 2 * idx ? parent->len : 2 * idx;
    if (!charge(p, n - idx))
        return NULL;
    reds_reply *bigger = reds__arena_alloc(p->arena, n * sizeof *bigger);
    if (!bigger)
        return NULL;
    memcpy(bigger, parent->element, idx * sizeof *bigger);
    parent->element = bigger;
    return &bigger[idx];
}

static inline reds_reply *node_for(const redisReadTask *task, int type)
{
    reds__parser *p = task->privdata;
    reds_reply *node;
    if (task->parent) {
        /* Children live in their parent's contiguous element array. */
        reds_reply *parent = task->parent->obj;
        size_t idx = (size_t)task->idx;
        if (REDS__LIKELY(idx < ELEMENTS_AHEAD) || (idx & (idx - 1)))
            node = &parent->element[idx];
        else if (!(node = grow(p, parent, idx)))
            return NULL;
    } else {
        node = reds__arena_alloc(p->arena, sizeof *node);
        if (!node)
            return NULL;
    }
    node->type = (reds_reply_type)type;
    node->len = 0;
    node->str = NULL;
    node->integer = 0;
    node->element = NULL;
    return node;
}

static void *create_string(const redisReadTask *task, char *str, size_t len)
{
    /* The copy is made here rather than by reds__arena_strdup(): this runs
     * once per element of every reply. */
    reds__parser *p = task->privdata;
    /* A top-level string (GET's): the arena's first chunk is sized for it
     * and for an owned reds_str, so that the result is one block. */
    if (!task->parent)
        reds__arena_expect(p->arena, sizeof(reds_reply) + ((len + 8) & ~(size_t)7) +
                                         sizeof(reds__owned) + sizeof(reds_str));
    reds_reply *node = node_for(task, task->type);
    char *copy = node ? reds__arena_alloc(p->arena, len + 1) : NULL;
    if (!copy)
        return NULL;
    memcpy(copy, str, len);
    copy[len] = '\0';
    node->str = copy;
    node->len = len;
    return node;
}

static void *create_array(const redisReadTask *task, int elements)
{
    reds__parser *p = task->privdata;
    /* (hiredis has refused counts below -1 and above INT_MAX.) Refused
     * at once when they could never fit, else charged as allocated. */
    size_t ahead = elements < ELEMENTS_AHEAD ? (size_t)elements : ELEMENTS_AHEAD;
    if ((size_t)elements > p->max_nodes - p->nodes || !charge(p, ahead))
        return refuse(p, REDS_ERR_REPLY_TOO_LARGE);
    reds_reply *node = node_for(task, REDS_REPLY_ARRAY);
    if (!node)
        return NULL;
    node->len = (size_t)elements;
    if (elements > 0) {
        node->element = reds__arena_alloc(p->arena, ahead * sizeof *node);
        if (!node->element)
            return NULL;
    }
    return node;
}

static void *create_integer(const redisReadTask *task, long long value)
{
    reds_reply *node = node_for(task, REDS_REPLY_INTEGER);
    if (node)
        node->integer = value;
    return node;
}

static void *create_nil(const redisReadTask *task)
{
    return node_for(task, REDS_REPLY_NIL);
}

static void free_object(void *obj)
{
    (void)obj; /* the arena owns every node */
}

static redisReplyObjectFunctions arena_functions = {
    create_string, create_array, create_integer, create_nil, free_object,
};

struct redisReader *reds__reader_new(reds__parser *p)
{
    redisReader *r = redisReaderCreateWithFunctions(&arena_functions);
    if (r) {
        r->privdata = p;
        r->maxbuf = READER_MAXBUF;
    }
    if (!p->max_nodes)
        p->max_nodes = SIZE_MAX;
    return r;
}

/* ------------------------------------------------------------- transport */

static ssize_t plain_send(reds__conn *conn, const char *buf, size_t len)
{
    return send(conn->fd, buf, len, MSG_NOSIGNAL);
}

static ssize_t plain_recv(reds__conn *conn, char *buf, size_t len)
{
    return recv(conn->fd, buf, len, 0);
}

static size_t plain_pending(reds__conn *conn)
{
    (void)conn;
    return 0;
}

static void plain_close(reds__conn *conn, bool inherited)
{
    (void)conn;
    (void)inherited;
}

static const reds__io plain_io = {plain_send, plain_recv, plain_pending, plain_close, NULL};

void reds__format_addr(char *buf, size_t size, const char *host, int port)
{
    snprintf(buf, size, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

void reds__conn_describe(const reds__config *cfg, char *buf, size_t size)
{
    if (cfg->unix_path)
        snprintf(buf, size, "unix:%s", cfg->unix_path);
    else
        reds__format_addr(buf, size, cfg->host, cfg->port);
}

/* Where `conn` goes: its config's address, or the one its resolver named. */
static void describe_conn(const reds__conn *conn, char *buf, size_t size)
{
    if (!conn->resolved)
        reds__conn_describe(conn->cfg, buf, size);
    else
        reds__format_addr(buf, size, conn->addr.host, conn->addr.port);
}

static reds_err io_error(const reds__conn *conn, const char *what, int err)
{
    char where[300];
    describe_conn(conn, where, sizeof where);
    if (err == EAGAIN || err == EWOULDBLOCK || err == ETIMEDOUT)
        return reds__error(REDS_ERR_TIMEOUT, "Timeout %s %s", what, where);
    const char *detail = conn->io->error ? conn->io->error(conn) : NULL;
    return reds__error(REDS_ERR_CONNECTION, "Error %s %s: %s", what, where,
                       detail ? detail
                       : err  ? strerror(err)
                              : "connection closed by server");
}

static void set_timeout(int fd, int ms)
{
    struct timeval tv = {0, 0};
    if (ms > 0) {
        tv.tv_sec = ms / 1000;
        tv.tv_usec = (ms % 1000) * 1000;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* connect() bounded by the connect timeout: non-blocking, then poll().
 * Without `wait` (the async client) the socket stays non-blocking and a
 * connect in progress is a success: the loop says when it is done. */
static int connect_within(int fd, const struct sockaddr *addr, socklen_t len, int ms, bool wait)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return errno;
    int err = 0;
    if (connect(fd, addr, len) < 0) {
        err = errno;
        if (!wait)
            return err == EINPROGRESS || err == EAGAIN ? 0 : err;
        if (err == EINPROGRESS) {
            struct pollfd p = {fd, POLLOUT, 0};
            int n;
            do
                n = poll(&p, 1, ms > 0 ? ms : -1);
            while (n < 0 && errno == EINTR);
            if (n == 0) {
                err = ETIMEDOUT;
            } else if (n < 0) {
                err = errno;
            } else {
                socklen_t elen = sizeof err;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
                    err = errno;
            }
        }
    }
    if (!err && wait && fcntl(fd, F_SETFL, flags) < 0)
        err = errno;
    return err;
}

static void tune_tcp(int fd, int keepalive_s)
{
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    if (keepalive_s > 0) {
        int interval = keepalive_s / 3 > 0 ? keepalive_s / 3 : 1, count = 3;
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
#ifdef TCP_KEEPIDLE
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &keepalive_s, sizeof keepalive_s);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
#endif
    }
}

static reds_err open_socket(reds__conn *conn, bool wait)
{
    const reds__config *cfg = conn->cfg;
    char where[300];
    describe_conn(conn, where, sizeof where);
    if (cfg->unix_path && !conn->resolved) {
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof sa);
        sa.sun_family = AF_UNIX;
        if (strlen(cfg->unix_path) >= sizeof sa.sun_path)
            return reds__error(REDS_ERR_DATA, "unix socket path is longer than %zu bytes",
                               sizeof sa.sun_path - 1);
        memcpy(sa.sun_path, cfg->unix_path, strlen(cfg->unix_path));
        conn->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (conn->fd < 0)
            return io_error(conn, "creating a socket for", errno);
        int err =
            connect_within(conn->fd, (struct sockaddr *)&sa, sizeof sa, cfg->connect_timeout_ms,
                           wait);
        return err ? io_error(conn, "connecting to", err) : REDS_OK;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", conn->resolved ? conn->addr.port : cfg->port);
    struct addrinfo hints, *res, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(conn->resolved ? conn->addr.host : cfg->host, port, &hints, &res);
    if (rc != 0)
        return reds__error(REDS_ERR_CONNECTION, "Error resolving %s: %s", where, gai_strerror(rc));
    int err = 0;
    for (ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        err = connect_within(fd, ai->ai_addr, ai->ai_addrlen, cfg->connect_timeout_ms, wait);
        if (!err) {
            conn->fd = fd;
            tune_tcp(fd, cfg->keepalive_s);
            break;
        }
        close(fd);
    }
    freeaddrinfo(res);
    return conn->fd < 0 ? io_error(conn, "connecting to", err) : REDS_OK;
}

reds_err reds__handshake_pack(const reds__config *cfg, reds__conn *conn, reds__handshake *hs)
{
    struct {
        size_t argc;
        reds_str argv[4];
        const reds_str *args; /* when not argv (CLIENT TRACKING) */
    } cmds[REDS__HANDSHAKE_MAX] = {{0}};
    size_t n = 0;
    char db[16];
    memset(hs, 0, sizeof *hs);
    /* A credentials callback, asked afresh for each connection, takes
     * precedence over the configured username and password. */
    char *cb_user = NULL, *cb_password = NULL;
    const char *username = cfg->username, *password = cfg->password;
    if (cfg->credentials) {
        reds_err err = reds__credentials_get(cfg, &cb_user, &cb_password);
        if (err)
            return err;
        username = cb_user;
        password = cb_password;
    }
    if (password) {
        size_t i = 0;
        hs->names[n] = "AUTH";
        cmds[n].argv[i++] = REDS_STR("AUTH");
        if (username)
            cmds[n].argv[i++] = reds_cstr(username);
        cmds[n].argv[i++] = reds_cstr(password);
        cmds[n++].argc = i;
    }
    hs->auth = password != NULL;
    if (cfg->db) {
        snprintf(db, sizeof db, "%d", cfg->db);
        hs->names[n] = "SELECT";
        cmds[n].argv[0] = REDS_STR("SELECT");
        cmds[n].argv[1] = reds_cstr(db);
        cmds[n++].argc = 2;
    }
    if (cfg->client_name) {
        hs->names[n] = "CLIENT SETNAME";
        cmds[n].argv[0] = REDS_STR("CLIENT");
        cmds[n].argv[1] = REDS_STR("SETNAME");
        cmds[n].argv[2] = reds_cstr(cfg->client_name);
        cmds[n++].argc = 3;
    }
    if (cfg->readonly) {
        hs->names[n] = "READONLY";
        cmds[n].argv[0] = REDS_STR("READONLY");
        cmds[n++].argc = 1;
    }
    /* A caching client's connections report the keys they read to its
     * invalidation connection (cache.c); none while that is down. */
    reds_str *track = NULL;
    char track_id[24];
    hs->tracking = SIZE_MAX;
    if (cfg->cache && conn) {
        track = malloc(reds__cache_tracking_argc(cfg->cache) * sizeof *track);
        size_t argc = track ? reds__cache_tracking(cfg->cache, conn, track, track_id) : 0;
        if (argc) {
            hs->names[n] = "CLIENT TRACKING";
            hs->tracking = n;
            cmds[n].args = track;
            cmds[n++].argc = argc;
        }
    }
    hs->n = n;
    reds_err err = REDS_OK;
    if (n) {
        for (size_t i = 0; i < n; i++)
            hs->size +=
                reds__argv_bound(cmds[i].argc, cmds[i].args ? cmds[i].args : cmds[i].argv);
        char *p = hs->buf = malloc(hs->size);
        if (p) {
            for (size_t i = 0; i < n; i++)
                p = reds__put_argv(p, cmds[i].argc, cmds[i].args ? cmds[i].args : cmds[i].argv);
            hs->len = (size_t)(p - hs->buf);
        } else {
            err = reds__error(REDS_ERR_NOMEM, "out of memory");
        }
    }
    free(track);
    reds__wipe_free(cb_password);
    reds__wipe_free(cb_user);
    return err;
}

reds_err reds__handshake_check(const reds__handshake *hs, size_t i, const reds_reply *reply)
{
    if (reply->type != REDS_REPLY_ERROR)
        return REDS_OK;
    reds_err err = reds__error_from_reply(reply->str, reply->len);
    /* Any refusal of AUTH is an authentication failure, but for one of
     * the connection itself (maxclients). */
    if (i == 0 && hs->auth && err != REDS_ERR_CONNECTION)
        err = REDS_ERR_AUTH;
    return reds__error(err, "%s: %s", hs->names[i], reply->str);
}

void reds__handshake_free(reds__handshake *hs)
{
    /* The buffer holds the password: wipe it before freeing. */
    if (hs->buf) {
        memset(hs->buf, 0, hs->size);
        free(hs->buf);
    }
    hs->buf = NULL;
}

/* AUTH, SELECT, CLIENT SETNAME, READONLY and CLIENT TRACKING, sent in one
 * write and read in order. */
reds_err reds__conn_handshake(reds__conn *conn)
{
    reds__handshake hs;
    reds_err err = reds__handshake_pack(conn->cfg, conn, &hs);
    if (err || !hs.n)
        return err;
    err = reds__conn_write(conn, hs.buf, hs.len);
    reds__handshake_free(&hs);
    reds_err first = REDS_OK;
    /* After a refusal of the connection (maxclients) nothing more comes. */
    for (size_t i = 0; i < hs.n && !err && !conn->broken; i++) {
        reds_reply *reply;
        err = reds__conn_read(conn, &reply);
        if (!err && i == hs.tracking && reply->type == REDS_REPLY_ERROR) {
            /* The invalidation connection went meanwhile: a connection
             * like any other, whose reads are not cached. */
            conn->track_gen = 0;
        } else if (!err && !first) {
            first = reds__handshake_check(&hs, i, reply);
        }
        reds__arena_finish(&conn->arena);
    }
    return err ? err : first;
}

static reds_err open_at(const reds__config *cfg, const reds__addr *addr, reds__conn **out);

/* With a resolver: connect to the first candidate that answers. */
static reds_err open_resolved(const reds__config *cfg, reds__conn **out)
{
    reds__resolver *r = cfg->resolver;
    reds__addr addrs[16];
    size_t n = 0;
    unsigned gen = 0;
    reds_err err = r->resolve(r, addrs, sizeof addrs / sizeof addrs[0], &n, &gen);
    if (err)
        return err;
    char tried[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        err = open_at(cfg, &addrs[i], out);
        if (!err) {
            (*out)->resolve_generation = gen;
            return REDS_OK;
        }
        if (err == REDS_ERR_NOMEM || err == REDS_ERR_DATA)
            return err;
        if (used < sizeof tried)
            used += (size_t)snprintf(tried + used, sizeof tried - used, "%s%s:%d", i ? ", " : "",
                                     addrs[i].host, addrs[i].port);
    }
    if (r->unreachable) {
        char last[256];
        snprintf(last, sizeof last, "%s", reds_errmsg());
        return reds__error(r->unreachable, "%s: none of %s answered (last: %s)",
                           reds_err_name(r->unreachable), tried, last);
    }
    return err;
}

reds_err reds__conn_open(const reds__config *cfg, reds__conn **out)
{
    if (cfg->resolver) {
        *out = NULL;
        return open_resolved(cfg, out);
    }
    return open_at(cfg, NULL, out);
}

/* A connection to `addr` (NULL: cfg's), not connected yet. */
static reds_err conn_new(const reds__config *cfg, const reds__addr *addr, reds__conn **out)
{
    reds__conn *conn = calloc(1, sizeof *conn);
    *out = NULL;
    if (!conn)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    conn->fd = -1;
    conn->io = &plain_io;
    conn->cfg = cfg;
    if (addr) {
        conn->resolved = true;
        conn->addr = *addr;
    }
    conn->fork_generation = atomic_load_explicit(&reds__fork_generation, memory_order_relaxed);
    conn->parser.arena = &conn->arena;
    conn->parser.max_nodes = cfg->max_reply_elements;
    conn->reader = reds__reader_new(&conn->parser);
    if (!conn->reader) {
        reds__conn_close(conn);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    *out = conn;
    return REDS_OK;
}

static reds_err open_at(const reds__config *cfg, const reds__addr *addr, reds__conn **out)
{
    reds__conn *conn;
    reds_err err = conn_new(cfg, addr, &conn);
    if (err)
        return err;
    *out = NULL;
    uint64_t start = 0;
    if (REDS__UNLIKELY(cfg->hooks)) {
        start = reds__mono_ns();
        if (addr)
            reds__trace_addr(addr->host, addr->port);
    }
    err = open_socket(conn, true);
    if (!err) {
        /* The handshake is bounded by the connect timeout, so a server
         * that accepts but never answers cannot hang us. */
        set_timeout(conn->fd, cfg->connect_timeout_ms);
        if (cfg->tls)
            err = reds__tls_start(conn);
        if (!err)
            err = reds__conn_handshake(conn);
        if (!err && cfg->socket_timeout_ms != cfg->connect_timeout_ms)
            set_timeout(conn->fd, cfg->socket_timeout_ms);
    }
    if (err) {
        if (REDS__UNLIKELY(cfg->hooks))
            reds__hook_connect_failed(cfg, addr, start, err);
        reds__conn_close(conn);
        return err;
    }
    if (REDS__UNLIKELY(cfg->hooks))
        reds__hook_connect(conn, start);
    *out = conn;
    return REDS_OK;
}

void reds__conn_close(reds__conn *conn)
{
    if (!conn)
        return;
    if (REDS__UNLIKELY(conn->announced))
        reds__hook_close(conn);
    /* close() only: in a forked child this leaves the parent's socket as
     * it is (shutdown() would cut it for both processes). */
    unsigned gen = atomic_load_explicit(&reds__fork_generation, memory_order_relaxed);
    conn->io->close(conn, conn->fork_generation != gen);
    if (conn->fd >= 0)
        close(conn->fd);
    if (conn->reader)
        redisReaderFree(conn->reader);
    reds__arena_clear(&conn->arena);
    free(conn);
}

reds_err reds__conn_write(reds__conn *conn, const char *buf, size_t len)
{
    /* The deadline of a command starts with its write. */
    if (REDS__UNLIKELY(conn->cfg->command_timeout_ms))
        conn->deadline_ms = reds__now_ms() + (uint64_t)conn->cfg->command_timeout_ms;
    const char *start = buf;
    while (len) {
        ssize_t n = conn->io->send(conn, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            conn->broken = true;
            /* Nothing left: the server cannot have run it (retries). */
            conn->unsent = buf == start;
            reds_err err = io_error(conn, "writing to", errno);
            reds__conn_why(conn, err == REDS_ERR_TIMEOUT ? REDS_CLOSE_TIMEOUT : REDS_CLOSE_ERROR,
                           err);
            return err;
        }
        buf += n;
        len -= (size_t)n;
    }
    return REDS_OK;
}

/* The reply being read cannot be used: the connection is closed. */
static reds_err read_failed(reds__conn *conn, reds_err err)
{
    conn->broken = true;
    reds__conn_why(conn,
                   err == REDS_ERR_TIMEOUT            ? REDS_CLOSE_TIMEOUT
                   : err == REDS_ERR_REPLY_TOO_LARGE  ? REDS_CLOSE_REPLY_TOO_LARGE
                   : err == REDS_ERR_INVALID_RESPONSE ? REDS_CLOSE_PROTOCOL
                                                      : REDS_CLOSE_ERROR,
                   err);
    reds__arena_clear(&conn->arena);
    return err;
}

static reds_err too_large(reds__conn *conn, const char *what, size_t cap, const char *option)
{
    char where[300];
    describe_conn(conn, where, sizeof where);
    return read_failed(conn, reds__error(REDS_ERR_REPLY_TOO_LARGE,
                                         "Reply from %s too large: more than %zu %s (%s)", where,
                                         cap, what, option));
}

/* Why the reader stopped: a callback's refusal, memory, or the protocol. */
static reds_err reader_failed(reds__conn *conn)
{
    redisReader *r = conn->reader;
    if (conn->parser.fault == REDS_ERR_REPLY_TOO_LARGE)
        return too_large(conn, "elements", conn->cfg->max_reply_elements, "max_reply_elements");
    if (r->err == REDIS_ERR_OOM)
        return read_failed(conn, reds__error(REDS_ERR_NOMEM, "out of memory reading a reply"));
    return read_failed(conn,
                       reds__error(REDS_ERR_INVALID_RESPONSE, "Protocol error: %s", r->errstr));
}

/* An error reply that is a connection error (maxclients) comes just
 * before the server closes: the connection is never reused. */
static inline reds_reply *got_reply(reds__conn *conn, reds_reply *reply)
{
    if (REDS__UNLIKELY(reply->type == REDS_REPLY_ERROR) &&
        reds__error_from_reply(reply->str, reply->len) == REDS_ERR_CONNECTION) {
        conn->broken = true;
        reds__conn_why(conn, REDS_CLOSE_SERVER_CLOSED, REDS_ERR_CONNECTION);
    }
    return reply;
}

/* The announced length of the bulk string the reader is in, or 0. */
static uint64_t bulk_announced(const redisReader *r)
{
    if (r->ridx < 0 || r->rstack[r->ridx].type != REDIS_REPLY_STRING)
        return 0;
    uint64_t len = 0;
    for (size_t i = r->pos; i < r->len && i < r->pos + 20 && r->buf[i] >= '0' && r->buf[i] <= '9';
         i++)
        len = len * 10 + (uint64_t)(r->buf[i] - '0');
    return len;
}

/* The reader holds part of a reply, after a parse that went over
 * `scanned` bytes: check it against the caps, and note whether it waits
 * for a line end (then parsing again before one comes would only rescan
 * the line). */
COLD static reds_err partial(reds__conn *conn, size_t scanned)
{
    redisReader *r = conn->reader;
    reds__reader_scanned += scanned;
    const reds__config *cfg = conn->cfg;
    size_t pending = r->len - r->pos;
    /* A bulk string's header is pending with its data: no rescan. */
    conn->need_crlf = pending && !memmem(r->buf + r->pos, pending, "\r\n", 2);
    if (conn->fed - conn->reply_begin > cfg->max_reply_bytes ||
        (pending >= FEED_SLICE && bulk_announced(r) > cfg->max_reply_bytes))
        return too_large(conn, "bytes", cfg->max_reply_bytes, "max_reply_bytes");
    return REDS_OK;
}

/* Parse what the reader holds: a whole reply in `*out`, or NULL when more
 * must arrive first. */
static inline reds_err parse(reds__conn *conn, reds_reply **out)
{
    redisReader *r = conn->reader;
    void *reply = NULL;
    size_t had = r->len - r->pos;
    if (REDS__UNLIKELY(redisReaderGetReply(r, &reply) != REDIS_OK))
        return reader_failed(conn);
    *out = reply;
    if (!reply)
        return r->len == r->pos ? REDS_OK : partial(conn, had);
    conn->reply_begin = conn->fed - (r->len - r->pos);
    conn->parser.nodes = 0;
    conn->deadline_ms = 0;
    got_reply(conn, reply);
    return REDS_OK;
}

/* With a command deadline: wait until the socket is readable, at most
 * until the deadline. */
static reds_err wait_deadline(reds__conn *conn)
{
    if (conn->io->pending(conn))
        return REDS_OK;
    for (;;) {
        uint64_t now = reds__now_ms();
        int n = 0;
        if (now < conn->deadline_ms) {
            struct pollfd p = {conn->fd, POLLIN, 0};
            n = poll(&p, 1, (int)(conn->deadline_ms - now));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return read_failed(conn, io_error(conn, "waiting for", errno));
        }
        if (n > 0)
            return REDS_OK;
        char where[300];
        describe_conn(conn, where, sizeof where);
        return read_failed(conn, reds__error(REDS_ERR_TIMEOUT,
                                             "Timeout reading from %s: the reply was not "
                                             "complete within command_timeout_ms (%d ms)",
                                             where, conn->cfg->command_timeout_ms));
    }
}

/* Give `n` (> 0) bytes received to the reader. */
static inline __attribute__((always_inline)) reds_err feed(reds__conn *conn, const char *buf,
                                                           ssize_t n)
{
    if (REDS__UNLIKELY(conn->need_crlf))
        conn->need_crlf = !(conn->last_cr && buf[0] == '\n') && !memmem(buf, (size_t)n, "\r\n", 2);
    conn->last_cr = buf[n - 1] == '\r';
    if (REDS__UNLIKELY(redisReaderFeed(conn->reader, buf, (size_t)n) != REDIS_OK))
        return read_failed(conn, reds__error(REDS_ERR_NOMEM, "out of memory reading a reply"));
    conn->fed += (uint64_t)n;
    return REDS_OK;
}

/* Receive what has come (blocking) and give it to the reader. */
static inline __attribute__((always_inline)) reds_err receive(reds__conn *conn)
{
    char buf[FEED_SLICE];
    ssize_t n;
    for (;;) {
        if (REDS__UNLIKELY(conn->deadline_ms)) {
            reds_err err = wait_deadline(conn);
            if (err)
                return err;
        }
        n = conn->io->recv(conn, buf, sizeof buf);
        if (REDS__LIKELY(n > 0))
            break;
        if (n < 0 && errno == EINTR)
            continue;
        return read_failed(conn, io_error(conn, "reading from", n == 0 ? 0 : errno));
    }
    return feed(conn, buf, n);
}


reds_err reds__conn_read(reds__conn *conn, reds_reply **out)
{
    if (REDS__UNLIKELY(conn->cfg->command_timeout_ms) && !conn->deadline_ms)
        conn->deadline_ms = reds__now_ms() + (uint64_t)conn->cfg->command_timeout_ms;
    /* Parse what is buffered (the replies after this one's in a
     * pipeline), then what arrives, until a whole reply is in. */
    const redisReader *r = conn->reader;
    for (;;) {
        if (REDS__LIKELY(!conn->need_crlf) && r->pos != r->len) {
            reds_err err = parse(conn, out);
            if (err || *out)
                return err;
        }
        reds_err err = receive(conn);
        if (err)
            return err;
    }
}

reds_err reds__conn_read_timeout(reds__conn *conn, int timeout_ms, reds_reply **out)
{
    *out = NULL;
    /* A reply may be complete in the reader already. */
    if (!conn->need_crlf) {
        reds_err err = parse(conn, out);
        if (err || *out)
            return err;
    }
    /* Or buffered by TLS, where poll() cannot see it. */
    if (!conn->io->pending(conn)) {
        struct pollfd p = {conn->fd, POLLIN, 0};
        int n;
        do
            n = poll(&p, 1, timeout_ms < 0 ? -1 : timeout_ms);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            conn->broken = true;
            reds__conn_why(conn, REDS_CLOSE_ERROR, REDS_ERR_CONNECTION);
            return io_error(conn, "waiting for", errno);
        }
        if (n == 0)
            return REDS_OK;
    }
    return reds__conn_read(conn, out);
}

/* ------------------------------------------------------- non-blocking use */

reds_err reds__conn_start(const reds__config *cfg, reds__conn **out)
{
    reds__conn *conn;
    reds_err err = conn_new(cfg, NULL, &conn);
    if (!err && (err = open_socket(conn, false)) != REDS_OK) {
        reds__conn_close(conn);
        conn = NULL;
    }
    *out = conn;
    return err;
}

reds_err reds__conn_connected(reds__conn *conn)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (!err)
        return REDS_OK;
    conn->broken = true;
    return io_error(conn, "connecting to", err);
}

ssize_t reds__conn_send_some(reds__conn *conn, const char *buf, size_t len, reds_err *err)
{
    for (;;) {
        ssize_t n = conn->io->send(conn, buf, len);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        conn->broken = true;
        *err = io_error(conn, "writing to", errno);
        reds__conn_why(conn, REDS_CLOSE_ERROR, *err);
        return -1;
    }
}

reds_err reds__conn_pull(reds__conn *conn, size_t *got)
{
    char buf[FEED_SLICE];
    ssize_t n;
    *got = 0;
    do
        n = conn->io->recv(conn, buf, sizeof buf);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return REDS_OK;
    if (n <= 0)
        return read_failed(conn, io_error(conn, "reading from", n == 0 ? 0 : errno));
    *got = (size_t)n;
    return feed(conn, buf, n);
}

reds_err reds__conn_next(reds__conn *conn, reds_reply **out)
{
    *out = NULL;
    const redisReader *r = conn->reader;
    if (conn->need_crlf || r->pos == r->len)
        return REDS_OK;
    return parse(conn, out);
}

/* ------------------------------------------------------ idle connections */

void reds__conn_idle_slow(reds__conn *conn)
{
    redisReader *r = conn->reader;
    if (r->pos != r->len || conn->need_crlf || (conn->tls && conn->io->pending(conn))) {
        conn->broken = true;
        reds__conn_why(conn, REDS_CLOSE_UNREAD_DATA, REDS_OK);
        return;
    }
    /* Forget the bytes parsed (hiredis keeps up to 1 KiB of them), and a
     * buffer a large reply grew. (The arena gives its chunks back itself.) */
    conn->idle_fed = conn->fed;
    if (sdsalloc(r->buf) > READER_KEEP) {
        sds empty = sdsempty();
        if (!empty) {
            conn->broken = true;
            return;
        }
        sdsfree(r->buf);
        r->buf = empty;
    } else {
        sdssetlen(r->buf, 0);
    }
    r->pos = r->len = 0;
}

bool reds__conn_fresh(reds__conn *conn)
{
    char c;
    ssize_t n;
    do
        n = recv(conn->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    /* Nothing to read is the only good answer: anything else is a close
     * (0), a reset, or bytes nobody asked for. */
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return true;
    conn->broken = true;
    reds__conn_why(conn, n > 0 ? REDS_CLOSE_UNREAD_DATA : REDS_CLOSE_STALE, REDS_OK);
    return false;
}

/* ---------------------------------------------------------- health checks */

uint64_t reds__now_ms(void)
{
    struct timespec ts;
    clock_gettime(REDS__COARSE_CLOCK, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void reds__sleep_us(uint64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

void reds__conn_touch_slow(reds__conn *conn)
{
    conn->last_used_ms = reds__now_ms();
}

bool reds__conn_check_health(reds__conn *conn)
{
    const reds__resolver *r = conn->cfg->resolver;
    if (r &&
        conn->resolve_generation != atomic_load_explicit(&r->generation, memory_order_relaxed)) {
        conn->broken = true; /* to servers its resolver has left */
        reds__conn_why(conn, REDS_CLOSE_MOVED, REDS_OK);
        return false;
    }
    int interval = conn->cfg->health_check_interval_ms;
    if (!interval)
        return true;
    uint64_t now = reds__now_ms();
    if (now - conn->last_used_ms <= (uint64_t)interval)
        return true;
    static const char ping[] = "*1\r\n$4\r\nPING\r\n";
    reds_reply *reply;
    /* Not a byte of the command being traced. */
    reds__trace *traced = reds__tracing;
    reds__tracing = NULL;
    bool ok = !reds__conn_write(conn, ping, sizeof ping - 1) && !reds__conn_read(conn, &reply);
    reds__tracing = traced;
    if (!ok) {
        conn->close_reason = REDS_CLOSE_HEALTH_CHECK;
        return false;
    }
    ok = reply->type == REDS_REPLY_STATUS && reply->len == 4 && memcmp(reply->str, "PONG", 4) == 0;
    reds__arena_finish(&conn->arena);
    if (!ok) {
        conn->broken = true;
        reds__conn_why(conn, REDS_CLOSE_HEALTH_CHECK, REDS_OK);
    }
    conn->last_used_ms = now;
    return ok;
}
