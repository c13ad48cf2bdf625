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

#include "internal.h"
#include "pack.h"

#define READ_MIN      (64 * 1024)
#define READ_MAX      (1024 * 1024)
#define READER_MAXBUF (1024 * 1024)

atomic_uint reds__fork_generation;

/* ------------------------------------------- hiredis reader -> arena nodes */

static reds_reply *node_for(const redisReadTask *task, int type)
{
    reds__arena *arena = task->privdata;
    reds_reply *node;
    if (task->parent) {
        /* Children live in their parent's contiguous element array. */
        reds_reply *parent = task->parent->obj;
        node = &parent->element[task->idx];
    } else {
        node = reds__arena_alloc(arena, sizeof *node);
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
    reds_reply *node = node_for(task, task->type);
    char *copy = reds__arena_alloc(task->privdata, len + 1);
    if (!node || !copy)
        return NULL;
    memcpy(copy, str, len);
    copy[len] = '\0';
    node->str = copy;
    node->len = len;
    return node;
}

static void *create_array(const redisReadTask *task, int elements)
{
    reds_reply *node = node_for(task, REDS_REPLY_ARRAY);
    if (!node)
        return NULL;
    node->len = (size_t)elements;
    if (elements > 0) {
        node->element = reds__arena_alloc(task->privdata, (size_t)elements * sizeof *node);
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

struct redisReader *reds__reader_new(reds__arena *arena)
{
    redisReader *r = redisReaderCreateWithFunctions(&arena_functions);
    if (r) {
        r->privdata = arena;
        r->maxbuf = READER_MAXBUF;
    }
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

void reds__conn_describe(const reds__config *cfg, char *buf, size_t size)
{
    if (cfg->unix_path)
        snprintf(buf, size, "unix:%s", cfg->unix_path);
    else if (strchr(cfg->host, ':'))
        snprintf(buf, size, "[%s]:%d", cfg->host, cfg->port);
    else
        snprintf(buf, size, "%s:%d", cfg->host, cfg->port);
}

/* Where `conn` goes: its config's address, or the one its resolver named. */
static void describe_conn(const reds__conn *conn, char *buf, size_t size)
{
    if (!conn->resolved)
        reds__conn_describe(conn->cfg, buf, size);
    else if (strchr(conn->addr.host, ':'))
        snprintf(buf, size, "[%s]:%d", conn->addr.host, conn->addr.port);
    else
        snprintf(buf, size, "%s:%d", conn->addr.host, conn->addr.port);
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

/* connect() bounded by the connect timeout: non-blocking, then poll(). */
static int connect_within(int fd, const struct sockaddr *addr, socklen_t len, int ms)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return errno;
    int err = 0;
    if (connect(fd, addr, len) < 0) {
        err = errno;
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
    if (!err && fcntl(fd, F_SETFL, flags) < 0)
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

static reds_err open_socket(reds__conn *conn)
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
            connect_within(conn->fd, (struct sockaddr *)&sa, sizeof sa, cfg->connect_timeout_ms);
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
        err = connect_within(fd, ai->ai_addr, ai->ai_addrlen, cfg->connect_timeout_ms);
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

/* AUTH, SELECT, CLIENT SETNAME and READONLY, sent in one write and read in
 * order. */
reds_err reds__conn_handshake(reds__conn *conn)
{
    const reds__config *cfg = conn->cfg;
    struct {
        const char *name;
        size_t argc;
        reds_str argv[4];
    } cmds[4];
    size_t n = 0;
    char db[16];
    if (cfg->password) {
        size_t i = 0;
        cmds[n].name = "AUTH";
        cmds[n].argv[i++] = REDS_STR("AUTH");
        if (cfg->username)
            cmds[n].argv[i++] = reds_cstr(cfg->username);
        cmds[n].argv[i++] = reds_cstr(cfg->password);
        cmds[n++].argc = i;
    }
    if (cfg->db) {
        snprintf(db, sizeof db, "%d", cfg->db);
        cmds[n].name = "SELECT";
        cmds[n].argv[0] = REDS_STR("SELECT");
        cmds[n].argv[1] = reds_cstr(db);
        cmds[n++].argc = 2;
    }
    if (cfg->client_name) {
        cmds[n].name = "CLIENT SETNAME";
        cmds[n].argv[0] = REDS_STR("CLIENT");
        cmds[n].argv[1] = REDS_STR("SETNAME");
        cmds[n].argv[2] = reds_cstr(cfg->client_name);
        cmds[n++].argc = 3;
    }
    if (cfg->readonly) {
        cmds[n].name = "READONLY";
        cmds[n].argv[0] = REDS_STR("READONLY");
        cmds[n++].argc = 1;
    }
    if (!n)
        return REDS_OK;
    size_t bound = 0;
    for (size_t i = 0; i < n; i++)
        bound += reds__argv_bound(cmds[i].argc, cmds[i].argv);
    char *buf = malloc(bound), *p = buf;
    if (!buf)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        p = reds__put_argv(p, cmds[i].argc, cmds[i].argv);
    reds_err err = reds__conn_write(conn, buf, (size_t)(p - buf));
    /* The buffer holds the password: wipe it before freeing. */
    memset(buf, 0, bound);
    free(buf);
    reds_err first = REDS_OK;
    /* After a refusal of the connection (maxclients) nothing more comes. */
    for (size_t i = 0; i < n && !err && !conn->broken; i++) {
        reds_reply *reply;
        err = reds__conn_read(conn, &reply);
        if (!err && reply->type == REDS_REPLY_ERROR && !first) {
            first = reds__error_from_reply(reply->str, reply->len);
            /* Any refusal of AUTH is an authentication failure, but for
             * one of the connection itself (maxclients). */
            if (i == 0 && cfg->password && first != REDS_ERR_CONNECTION)
                first = REDS_ERR_AUTH;
            reds__error(first, "%s: %s", cmds[i].name, reply->str);
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

static reds_err open_at(const reds__config *cfg, const reds__addr *addr, reds__conn **out)
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
    conn->rcap = READ_MIN;
    conn->rbuf = malloc(conn->rcap);
    conn->reader = reds__reader_new(&conn->arena);
    if (!conn->rbuf || !conn->reader) {
        reds__conn_close(conn);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    reds_err err = open_socket(conn);
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
        reds__conn_close(conn);
        return err;
    }
    *out = conn;
    return REDS_OK;
}

void reds__conn_close(reds__conn *conn)
{
    if (!conn)
        return;
    /* close() only: in a forked child this leaves the parent's socket as
     * it is (shutdown() would cut it for both processes). */
    unsigned gen = atomic_load_explicit(&reds__fork_generation, memory_order_relaxed);
    conn->io->close(conn, conn->fork_generation != gen);
    if (conn->fd >= 0)
        close(conn->fd);
    if (conn->reader)
        redisReaderFree(conn->reader);
    reds__arena_clear(&conn->arena);
    free(conn->rbuf);
    free(conn);
}

reds_err reds__conn_write(reds__conn *conn, const char *buf, size_t len)
{
    const char *start = buf;
    while (len) {
        ssize_t n = conn->io->send(conn, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            conn->broken = true;
            /* Nothing left: the server cannot have run it (retries). */
            conn->unsent = buf == start;
            return io_error(conn, "writing to", errno);
        }
        buf += n;
        len -= (size_t)n;
    }
    return REDS_OK;
}

/* However much one recv() brings in, the reader is fed this much at a
 * time: its own buffer (a second copy of what it is given) then stays
 * small and in cache. An LRANGE of 10,000 takes ~10% less user CPU. */
#define FEED_SLICE (16 * 1024)

static reds_err feed(reds__conn *conn, const char *buf, size_t len)
{
    if (redisReaderFeed(conn->reader, buf, len) == REDIS_OK)
        return REDS_OK;
    conn->broken = true;
    return reds__error(REDS_ERR_NOMEM, "out of memory reading a reply");
}

/* An error reply that is a connection error (maxclients) comes just
 * before the server closes: the connection is never reused. */
static inline reds_reply *got_reply(reds__conn *conn, reds_reply *reply)
{
    if (REDS__UNLIKELY(reply->type == REDS_REPLY_ERROR) &&
        reds__error_from_reply(reply->str, reply->len) == REDS_ERR_CONNECTION)
        conn->broken = true;
    return reply;
}

reds_err reds__conn_read(reds__conn *conn, reds_reply **out)
{
    redisReader *r = conn->reader;
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(r, &reply) != REDIS_OK) {
            conn->broken = true;
            reds__arena_clear(&conn->arena);
            if (r->err == REDIS_ERR_OOM)
                return reds__error(REDS_ERR_NOMEM, "out of memory reading a reply");
            return reds__error(REDS_ERR_INVALID_RESPONSE, "Protocol error: %s", r->errstr);
        }
        if (reply) {
            /* What is left in rbuf belongs to the next replies. */
            *out = got_reply(conn, reply);
            return REDS_OK;
        }
        if (!conn->ravail) {
            ssize_t n = conn->io->recv(conn, conn->rbuf, conn->rcap);
            if (n <= 0) {
                if (n < 0 && errno == EINTR)
                    continue;
                conn->broken = true;
                reds__arena_clear(&conn->arena);
                return io_error(conn, "reading from", n == 0 ? 0 : errno);
            }
            conn->roff = 0;
            conn->ravail = (size_t)n;
            /* A full buffer means more is coming: read bigger next time. */
            if ((size_t)n == conn->rcap && conn->rcap < READ_MAX) {
                char *bigger = realloc(conn->rbuf, conn->rcap * 2);
                if (bigger) {
                    conn->rbuf = bigger;
                    conn->rcap *= 2;
                }
            }
        }
        size_t n = conn->ravail < FEED_SLICE ? conn->ravail : FEED_SLICE;
        reds_err err = feed(conn, conn->rbuf + conn->roff, n);
        if (err)
            return err;
        conn->roff += n;
        conn->ravail -= n;
    }
}

reds_err reds__conn_read_timeout(reds__conn *conn, int timeout_ms, reds_reply **out)
{
    *out = NULL;
    /* A reply may be complete in the reader already, or buffered by TLS. */
    void *reply = NULL;
    if (redisReaderGetReply(conn->reader, &reply) != REDIS_OK)
        return reds__conn_read(conn, out); /* reports the protocol error */
    if (reply) {
        *out = got_reply(conn, reply);
        return REDS_OK;
    }
    if (!conn->ravail && !conn->io->pending(conn)) {
        struct pollfd p = {conn->fd, POLLIN, 0};
        int n;
        do
            n = poll(&p, 1, timeout_ms < 0 ? -1 : timeout_ms);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            conn->broken = true;
            return io_error(conn, "waiting for", errno);
        }
        if (n == 0)
            return REDS_OK;
    }
    return reds__conn_read(conn, out);
}

/* ---------------------------------------------------------- health checks */

uint64_t reds__now_ms(void)
{
    struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
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
    if (reds__conn_write(conn, ping, sizeof ping - 1) || reds__conn_read(conn, &reply))
        return false;
    bool ok =
        reply->type == REDS_REPLY_STATUS && reply->len == 4 && memcmp(reply->str, "PONG", 4) == 0;
    reds__arena_finish(&conn->arena);
    if (!ok)
        conn->broken = true;
    conn->last_used_ms = now;
    return ok;
}
