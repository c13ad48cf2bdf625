/*
 * reds runtime internals: shared by the runtime and the generated code,
 * never installed. Names are reds__* (double underscore).
 */
#ifndef REDS_INTERNAL_H
#define REDS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>

#include <hiredis/read.h>

#include <reds/async.h>
#include <reds/cache.h>
#include <reds/catalog.h>
#include <reds/client.h>
#include <reds/extension.h>
#include <reds/types.h>

/* ------------------------------------------------------------------ arena */

/* Replies are parsed into an arena: a list of chunks with a bump pointer.
 * A converter that produces an owned result allocates it with
 * reds__arena_result(); the runtime then hands every chunk to the result,
 * which reds_free() releases in one go. Otherwise the arena is reset and
 * its chunk reused, so scalar replies cost no malloc at all. */
typedef struct reds__chunk {
    struct reds__chunk *next;
    size_t size;
} reds__chunk;

typedef struct reds_arena {
    char *cur, *end;
    reds__chunk *head;
    struct reds__owned *result; /* set when a converter made an owned result */
} reds__arena;

/* The header in front of every owned result. */
typedef struct reds__owned {
    reds__chunk *chunks;
    size_t flags; /* REDS__OWNED_WIPE; also keeps the result 16-byte aligned */
} reds__owned;

/* reds_free() zeroes the block first: results holding a password. */
#define REDS__OWNED_WIPE 1u
/* As reds_alloc(), for a result that reds_free() wipes. */
void *reds__alloc_secret(size_t size);

void *reds__arena_alloc_slow(reds__arena *a, size_t n);

/* Whether the first `n` bytes of `a` and `b` match, ignoring the case of
 * ASCII letters only. strcasecmp() follows the locale: under tr_TR "I" and
 * "i" differ, and "REDIS://" or "REQUIRED" would not be recognised. */
static inline bool reds__ascii_ncaseeq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return false;
        if (!x)
            return true;
    }
    return true;
}

/* Whether NUL-terminated `a` equals `word`, ignoring ASCII case. */
static inline bool reds__ascii_caseeq(const char *a, const char *word)
{
    return reds__ascii_ncaseeq(a, word, strlen(word) + 1);
}

static inline void *reds__arena_alloc(reds__arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (REDS__UNLIKELY((size_t)(a->end - a->cur) < n))
        return reds__arena_alloc_slow(a, n);
    void *p = a->cur;
    a->cur += n;
    return p;
}

/* Before a reply's first allocation, when it is known to take about `n`
 * bytes (a bulk string's node, its bytes and an owned reds_str): they then
 * come in one chunk of that size rather than a small one and another. */
#define REDS__ARENA_SMALL 104 /* a reply's first chunk (arena.c) */
void reds__arena_expect_slow(reds__arena *a, size_t n);
static inline void reds__arena_expect(reds__arena *a, size_t n)
{
    if (REDS__UNLIKELY(n > REDS__ARENA_SMALL))
        reds__arena_expect_slow(a, n);
}

/* Copy `len` bytes into the arena with a NUL after them. */
char *reds__arena_strdup(reds__arena *a, const char *s, size_t len);
/* Allocate the owned result (zeroed) that the caller will receive. */
void *reds__arena_result(reds__arena *a, size_t size);
/* After a conversion: give the chunks to the result, or reset for reuse. */
void reds__arena_finish(reds__arena *a);
/* Release everything (on close, or after a failed conversion). */
void reds__arena_clear(reds__arena *a);

/* Zero a NUL-terminated secret (a password), then free it. NULL is ignored. */
void reds__wipe_free(char *s);

/* ------------------------------------------------------------------ errors */

reds_err reds__error(reds_err err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The code for a server error reply, by its prefix (LOADING, NOSCRIPT...). */
reds_err reds__error_from_reply(const char *msg, size_t len);
void reds__clear_error(void);
/* The code of the last reds__error() on this thread (the public
 * reds_ext_last_error()). */
#define reds__last_err reds_ext_last_error

/* -------------------------------------------------------------- converters */

/* Fill `out` from `r`. Owned results go through reds__arena_result().
 * The public reds_ext_converter: add-ons pass the reds_kind_* ones. */
typedef reds_ext_converter reds__conv_fn;

/* Shape errors, with the expected shape in the message. */
reds_err reds__bad_reply(const reds_reply *r, const char *expected);

/* ------------------------------------------------------- the command table */

/* The table holds data only, never a converter: a wrapper names its own,
 * so that a static app linked with --gc-sections keeps the converters of
 * the commands it calls and no others (README, "Static linking"). An
 * entry is 64 bytes, a cache line: indexing is a shift on the hot path. */
typedef struct reds__command {
    _Alignas(64) reds_catalog_entry info;
} reds__command;

extern const reds__command reds__commands[];
extern const size_t reds__ncommands;

/* ------------------------------------------------------------ connections */

typedef struct reds__config {
    char *host;
    int port;
    char *unix_path;
    char *username;
    char *password;
    int db;
    char *client_name;
    int connect_timeout_ms;
    int socket_timeout_ms;
    int keepalive_s;
    int max_connections; /* resolved: 50 for a blocking pool left at 0 */
    bool pool_blocking;
    int pool_timeout_ms; /* resolved: 0 waits forever */
    int health_check_interval_ms;
    int retries;
    int retry_backoff_base_ms, retry_backoff_cap_ms; /* resolved */
    bool retry_writes;
    bool tls;
    int tls_verify; /* reds_tls_verify */
    char *tls_ca_file, *tls_ca_dir, *tls_cert_file, *tls_key_file, *tls_server_name;
    void *tls_ctx; /* SSL_CTX *, shared by the client's connections */
    /* Where to connect, decided at connect time (Sentinel); NULL for
     * host/port above. Copies of the config share it (counted). */
    struct reds__resolver *resolver;
    /* Send READONLY when connecting (cluster replicas, read_from_replicas). */
    bool readonly;
    int command_timeout_ms;                     /* resolved: 0 = none */
    size_t max_reply_bytes, max_reply_elements; /* resolved */
    /* reds_options.hooks, copied; NULL when no hook is set: all a command
     * pays for hooks is testing this pointer (hooks.c). */
    struct reds__hooks *hooks;
    reds_credentials_fn credentials; /* asked at each connect; over username/password */
    void *credentials_udata;
    int autopipeline; /* resolved: 0 off, else the number of shared connections */
    int autopipeline_max_batch; /* resolved */
    /* Client-side caching (cache.c). The options are kept by the client's
     * own config only (copies for dedicated handles and pub/sub drop
     * them); `cache` is set by the pooled client that owns one, and its
     * connections then turn tracking on in the handshake. */
    size_t cache_max_bytes;
    int cache_ttl_ms;
    int cache_mode; /* reds_cache_mode */
    char **cache_prefixes;
    size_t cache_nprefixes;
    struct reds__cache *cache;
} reds__config;

/* ------------------------------------------------------ address resolvers */

/* A server address a resolver names. */
typedef struct reds__addr {
    char host[256];
    int port;
} reds__addr;

/* Decides where each new connection goes (sentinel.c): it names
 * candidates, best first, and reds__conn_open() connects to the first that
 * answers. Dedicated handles and pub/sub copy the config, and so share the
 * resolver; hence counted references. */
typedef struct reds__resolver {
    /* Up to `max` candidates in `addrs`, their number in `*n` (> 0), and
     * the generation they belong to; or an error
     * (REDS_ERR_MASTER_NOT_FOUND...) with the message set. */
    reds_err (*resolve)(struct reds__resolver *r, reds__addr *addrs, size_t max, size_t *n,
                        unsigned *generation);
    /* A server of `addr` answered READONLY. True when that means it is no
     * longer what the resolver wanted (a demoted master): the connection
     * is closed and the command, which did not run, fails as a
     * connection error (retried where retries are on). */
    bool (*readonly)(struct reds__resolver *r, const reds__addr *addr);
    void (*destroy)(struct reds__resolver *r);
    /* When no candidate connects: this error, or REDS_OK for the last
     * connection error. */
    reds_err unreachable;
    atomic_uint refs;
    /* Bumped when the servers moved (a new master): connections opened at
     * an older generation are closed instead of reused. */
    atomic_uint generation;
} reds__resolver;

struct reds__conn;
void reds__resolver_ref(struct reds__resolver *r);
void reds__resolver_unref(struct reds__resolver *r);
/* After an error reply on `conn`: REDS_ERR_READONLY from a server its
 * resolver no longer wants becomes a connection error (see above). */
reds_err reds__resolver_readonly(struct reds__conn *conn, reds_err err);

/* Checks every rule on options that needs no I/O (config.c). */
reds_err reds__options_check(const reds_options *o);

struct reds__conn;

/* What the reader's callbacks need: where nodes go, and the caps. */
typedef struct reds__parser {
    reds__arena *arena;
    size_t nodes;     /* nodes of the reply being read */
    size_t max_nodes; /* max_reply_elements */
    reds_err fault;   /* why a callback refused the reply, or REDS_OK */
} reds__parser;

/* How a connection moves bytes: plain sockets here, TLS in tls.c. */
typedef struct reds__io {
    /* As send()/recv(): bytes moved, 0 at end of stream (recv), or -1 with
     * errno set (EAGAIN when a socket timeout expired). */
    ssize_t (*send)(struct reds__conn *conn, const char *buf, size_t len);
    ssize_t (*recv)(struct reds__conn *conn, char *buf, size_t len);
    /* Bytes already received and buffered by the transport (TLS records),
     * which poll() on the socket cannot see; 0 for plain sockets. */
    size_t (*pending)(struct reds__conn *conn);
    /* Release the transport's state; the socket is closed by the caller.
     * `inherited` is true in a forked child: say nothing to the peer. */
    void (*close)(struct reds__conn *conn, bool inherited);
    /* What went wrong in the last failed call when errno cannot say (a TLS
     * alert), or NULL. May itself be NULL (plain sockets). */
    const char *(*error)(const struct reds__conn *conn);
} reds__io;

typedef struct reds__conn {
    int fd;
    const reds__io *io;
    void *tls;               /* the transport's state (tls.c), if any */
    const reds__config *cfg; /* owned by the client, outlives the conn */
    unsigned fork_generation;
    bool broken;                /* closed or desynchronised: never reuse */
    struct redisReader *reader; /* holds what was received and not yet parsed */
    reds__arena arena;
    reds__parser parser;
    /* Bytes given to the reader since the connection opened, and where in
     * that stream the reply being read began (max_reply_bytes). */
    uint64_t fed, reply_begin;
    uint64_t idle_fed; /* `fed` when reds__conn_idle() last trimmed the buffers */
    /* The reader waits for a line end that has not come: parsing again
     * before one arrives would rescan the whole line (quadratic). */
    bool need_crlf;
    bool last_cr;            /* the last byte fed was '\r' */
    uint64_t deadline_ms;    /* command_timeout_ms: when the reply must be in; 0 none */
    struct reds__conn *next; /* pool free list */
    unsigned pool_epoch;     /* reds_pool_disconnect() closes older ones */
    bool unsent;             /* the last write failed before any byte left */
    uint64_t last_used_ms;   /* reds__now_ms(), kept only for health checks */
    bool resolved;           /* connected to `addr`, named by cfg->resolver */
    /* Hooks (hooks.c): CONNECT was reported, so CLOSE will be; why it
     * became unusable (a reds_close_reason, 0 before) and the error. */
    bool announced;
    uint8_t close_reason;
    reds_err close_err;
    const reds__io *inner_io; /* under the byte-counting io of hooked connections */
    unsigned resolve_generation;
    /* The cache's tracking generation this connection's CLIENT TRACKING
     * was set up in; 0: not tracked (cache.c). */
    unsigned track_gen;
    reds__addr addr;
} reds__conn;

/* Record why `conn` cannot be used any more (for the CLOSE hook); the
 * first cause stays. */
static inline void reds__conn_why(reds__conn *conn, int why, reds_err err)
{
    if (!conn->close_reason) {
        conn->close_reason = (uint8_t)why;
        conn->close_err = err;
    }
}

/* Fork generation: bumped in every child, so that connections inherited
 * from a parent are recognised and dropped without touching the socket. */
extern atomic_uint reds__fork_generation;

/* Bytes the reader had pending, summed over the parse attempts on this
 * thread that found no complete reply: the work of waiting for one. Tests
 * check it stays linear in what arrives (a long line once cost the
 * square of its length). */
extern _Thread_local uint64_t reds__reader_scanned;

/* A hiredis reader that builds reds_reply nodes in `p->arena`, counting
 * them against `p->max_nodes` (0: no cap). */
struct redisReader *reds__reader_new(reds__parser *p);

reds_err reds__conn_open(const reds__config *cfg, reds__conn **out);
void reds__conn_close(reds__conn *conn);
/* Run the connect-time set-up (AUTH, SELECT, CLIENT SETNAME) again, on a
 * connection that is open and idle. */
reds_err reds__conn_handshake(reds__conn *conn);
/* That set-up as packed commands, sent in one write and answered in
 * order: the blocking connect reads the replies at once, the async
 * client as they come. `buf` holds the password: _free() wipes it. */
#define REDS__HANDSHAKE_MAX 5
typedef struct reds__handshake {
    char *buf;
    size_t len, size;
    size_t n;
    const char *names[REDS__HANDSHAKE_MAX];
    bool auth;       /* the first command is AUTH */
    size_t tracking; /* the index of CLIENT TRACKING (caching), or SIZE_MAX */
} reds__handshake;
/* `conn` (NULL for none: the async client) is the connection a caching
 * client's CLIENT TRACKING is for. */
reds_err reds__handshake_pack(const reds__config *cfg, reds__conn *conn, reds__handshake *hs);
/* The reply to command `i`: REDS_OK, or its error (message set). */
reds_err reds__handshake_check(const reds__handshake *hs, size_t i, const reds_reply *reply);
void reds__handshake_free(reds__handshake *hs);

/* Non-blocking use (the async client). start() opens a non-blocking
 * socket with its connect in progress; connected() says how that went,
 * once the socket is writable. */
reds_err reds__conn_start(const reds__config *cfg, reds__conn **out);
reds_err reds__conn_connected(reds__conn *conn);
/* Send what the socket takes now: the bytes sent (0 when it takes none),
 * or -1 with `*err` set and the connection broken. */
ssize_t reds__conn_send_some(reds__conn *conn, const char *buf, size_t len, reds_err *err);
/* One recv() that does not wait, given to the reader: `*got` bytes (0
 * when none had come). An error, end of stream included, breaks it. */
reds_err reds__conn_pull(reds__conn *conn, size_t *got);
/* The next whole reply the reader holds, or NULL. */
reds_err reds__conn_next(reds__conn *conn, reds_reply **out);
reds_err reds__conn_write(reds__conn *conn, const char *buf, size_t len);
/* Read the next reply into conn->arena. On failure the connection is
 * marked broken (a reply may be half read). */
reds_err reds__conn_read(reds__conn *conn, reds_reply **out);
/* As reds__conn_read(), but wait at most `timeout_ms` (0: do not wait,
 * negative: forever) for a reply to start arriving; `*out` is NULL when
 * none did. For pub/sub and MONITOR, which wait for what the server sends
 * unasked. Once a reply has started, the socket timeout bounds the rest. */
reds_err reds__conn_read_timeout(reds__conn *conn, int timeout_ms, reds_reply **out);
/* "host:port", or "[v6]:port" for an IPv6 address. */
void reds__format_addr(char *buf, size_t size, const char *host, int port);
/* "host:port", "[v6]:port" or "unix:path", for messages. */
void reds__conn_describe(const reds__config *cfg, char *buf, size_t size);

#ifdef CLOCK_MONOTONIC_COARSE
#define REDS__COARSE_CLOCK CLOCK_MONOTONIC_COARSE /* a tick, ~4 ms; no system call */
#else
#define REDS__COARSE_CLOCK CLOCK_MONOTONIC
#endif
/* A coarse monotonic clock in ms (no system call: vDSO). */
uint64_t reds__now_ms(void);
/* Sleep `us` microseconds, resuming after signals. */
void reds__sleep_us(uint64_t us);
/* A fast per-thread pseudo-random number (xorshift64*; not for secrets). */
uint64_t reds__random(void);
/* Exponential backoff with full jitter before retry `attempt` (from 0): a
 * random delay up to min(retry_backoff_cap_ms, retry_backoff_base_ms * 2^attempt). */
void reds__backoff(const reds__config *cfg, int attempt);
/* That delay in ms, without sleeping (the async client sets a timer). */
uint64_t reds__backoff_ms(const reds__config *cfg, int attempt);
/* Health checks (cfg->health_check_interval_ms): touch() records that the
 * connection was just used; healthy() PINGs it first when it has been
 * idle longer than the interval, and is false (connection broken) when
 * that failed, or when its resolver has since moved to other servers.
 * Both cost one test when the interval is 0 and there is no resolver. */
void reds__conn_touch_slow(reds__conn *conn);
bool reds__conn_check_health(reds__conn *conn);
static inline void reds__conn_touch(reds__conn *conn)
{
    if (REDS__UNLIKELY(conn->cfg->health_check_interval_ms))
        reds__conn_touch_slow(conn);
}
static inline bool reds__conn_healthy(reds__conn *conn)
{
    return REDS__LIKELY(!conn->cfg->health_check_interval_ms && !conn->cfg->resolver) ||
           reds__conn_check_health(conn);
}

/* A connection going back to its pool or handle after a command: closed
 * (marked broken) when bytes beyond the replies read have come, which
 * would answer the next command; otherwise the buffers a large reply
 * grew are given back, so that an idle connection holds ~2 KiB. */
void reds__conn_idle_slow(reds__conn *conn);
/* What an idle connection keeps of its reader's buffer (what it holds of
 * parsed replies, and its size). Its arena keeps one small chunk between
 * replies (arena.c). */
#define REDS__READER_KEEP 1024
static inline void reds__conn_idle(reds__conn *conn)
{
    const struct redisReader *r = conn->reader;
    if (REDS__UNLIKELY(r->pos != r->len || conn->fed - conn->idle_fed > REDS__READER_KEEP / 2 ||
                       conn->need_crlf) ||
        conn->tls)
        reds__conn_idle_slow(conn);
}
/* Before an idle connection is lent again: false (and marked broken) when
 * the server has closed it meanwhile (a restart, its idle timeout, CLIENT
 * KILL) or sent something unasked, which would answer the next command.
 * One non-blocking recv(MSG_PEEK) per borrow: no clock, no poll(). */
bool reds__conn_fresh(reds__conn *conn);
/* Fresh, and past its health check: what every borrower asks. */
static inline bool reds__conn_usable(reds__conn *conn)
{
    return reds__conn_fresh(conn) && reds__conn_healthy(conn);
}

/* TLS (tls.c): a context for cfg's TLS options, shared by its
 * connections; and the handshake on a connected socket, which makes the
 * connection speak TLS. */
reds_err reds__tls_ctx_new(const reds__config *cfg, void **ctx);
void reds__tls_ctx_free(void *ctx);
reds_err reds__tls_start(reds__conn *conn);
/* The same in two steps, for non-blocking sockets: begin() sets up the
 * session; handshake() advances it, with `*want` 1 (readable) or 2
 * (writable) when it must wait, 0 when done. */
reds_err reds__tls_begin(reds__conn *conn);
reds_err reds__tls_handshake(reds__conn *conn, int *want);

/* fork() (fork.c): hooks run by pthread_atfork handlers around every
 * fork, with `owner`. Registering installs the handlers, which also bump
 * reds__fork_generation in the child. */
typedef struct reds__fork_hook {
    void (*prepare)(void *owner); /* take locks that must not be held across */
    void (*parent)(void *owner);  /* release them */
    void (*child)(void *owner);   /* make locks usable again */
    void *owner;
    struct reds__fork_hook *prev, *next;
} reds__fork_hook;
void reds__fork_register(reds__fork_hook *h);
void reds__fork_unregister(reds__fork_hook *h);

/* ---------------------------------------------------------------- commands */

/* A command being packed: RESP written straight from typed arguments into
 * `buf` (the inline buffer for small commands), sent as is. The struct is
 * the public reds_ext_cmd (reds/extension.h), which add-ons declare too;
 * `id` is a command reference: an index into reds__commands, the address
 * of an add-on's reds_catalog_entry (never below reds__ncommands: no
 * object lives in the first page), or REDS__CMD_NONE. */
typedef reds_ext_cmd reds__cmd;

#define REDS__CMD_NONE ((uintptr_t)-1)

/* The table entry of a command reference: the library's, an add-on's, or
 * NULL for none. The library's own commands take the first branch. */
static inline const reds_catalog_entry *reds__command_info(uintptr_t id)
{
    if (REDS__LIKELY(id < reds__ncommands))
        return &reds__commands[id].info;
    return id != REDS__CMD_NONE ? (const reds_catalog_entry *)id : NULL;
}

/* Its REDS_CMD_* flags; 0 for none. */
static inline uint32_t reds__command_flags(uintptr_t id)
{
    const reds_catalog_entry *e = reds__command_info(id);
    return e ? e->flags : 0;
}

/* Commands that change a connection's state (SELECT, CLIENT SETNAME...):
 * they would leak to the next borrower of a pooled connection. */
static inline bool reds__connection_scoped(const reds__cmd *cmd)
{
    return (reds__command_flags(cmd->id) & REDS_CMD_CONNECTION_SCOPE) != 0;
}

/* Running total while sizing a command, before anything is written (the
 * public reds_ext_size). */
typedef reds_ext_size reds__size;

/* --------------------------------------------------------------- routers */

/* A reds_client is a router: a pool of one server, a dedicated connection,
 * a pipeline, and later cluster, Sentinel or ring. Every command of every
 * mode goes through run(). */
typedef struct reds__router {
    const char *kind;
    reds_err (*run)(reds_client *c, reds__cmd *cmd);
    /* Lend one connection for a batch of commands (pipelines,
     * transactions), and take it back. NULL when the router cannot. */
    reds_err (*acquire)(reds_client *c, reds__conn **out);
    void (*release)(reds_client *c, reds__conn *conn);
    /* Free the router's own state (not the reds_client itself). */
    void (*destroy)(reds_client *c);
    /* Where reds__cmd_begin() packs a command of up to `bound` bytes, for
     * routers that keep what they are given (pipelines pack straight into
     * their output buffer); NULL (error set) when out of memory. The
     * router owns that space: reds__cmd_run() never frees it. NULL on
     * routers that run each command at once (inline buffer or malloc). */
    char *(*reserve)(reds_client *c, size_t bound);
    /* After destroy(): true when the handle is inside one of its own
     * callbacks and frees itself (reds__client_free_memory) once they
     * return. NULL: never. */
    bool (*deferred)(reds_client *c);
} reds__router;

typedef struct reds__callback {
    reds_response_callback fn;
    void *udata;
} reds__callback;

struct reds_client {
    const reds__router *router;
    reds__config *cfg;
    /* Per-command reply overrides, indexed by command id; NULL when none
     * (the hot path pays one load and one branch). */
    reds__callback *_Atomic callbacks;
    /* A child handle (a pipeline) uses its parent's cfg and callbacks and
     * frees neither. */
    reds_client *parent;
};

/* The last step of reds_client_free(): config, callbacks, the struct. */
void reds__client_free_memory(reds_client *c);
/* Borrow one connection of `c` for a batch, and give it back. */
reds_err reds__client_acquire(reds_client *c, reds__conn **out);
void reds__client_release(reds_client *c, reds__conn *conn);
/* Whether `c` is a dedicated connection (reds_client_dedicated), where
 * commands that change a connection's state are allowed. */
bool reds__client_is_dedicated(const reds_client *c);

/* Pipelines (pipeline.c). True when `c` is a pipeline that queues
 * commands now (rather than running them at once while it watches):
 * scripts, scan iterators and locks need to know. */
bool reds__pipeline_queues(const reds_client *c);
/* Make sure a script is loaded before the pipeline's next command runs:
 * queues a hidden SCRIPT LOAD of `source`, once per execution per sha. */
reds_err reds__pipeline_preload(reds_client *c, const char *sha, reds_str source);
/* A queued command's output and outcome, shared by the pipelines of
 * every router (pipeline.c, cluster_pipeline.c). */
typedef struct reds__queued {
    uintptr_t id; /* a command reference, as reds__cmd's */
    reds__conv_fn conv;
    void *out;
    reds_err err;
    char *msg;  /* "NAME: text" (malloc) when err */
    char *name; /* id REDS__CMD_NONE: the command's label (malloc), or NULL */
} reds__queued;
/* Keep the label of a command the table does not know: its bytes are gone
 * when its reply comes. 1 when q then holds memory. */
size_t reds__queued_label(reds__queued *q, const reds__cmd *cmd);
/* Returns 1 when q holds memory (an unknown command's name), for the
 * caller's count of entries to free (reds__queued_free). */
static inline size_t reds__queued_init(reds__queued *q, const reds__cmd *cmd)
{
    q->id = cmd->id;
    q->conv = cmd->conv;
    q->out = cmd->out;
    q->err = REDS_OK;
    q->msg = NULL;
    q->name = NULL;
    return REDS__UNLIKELY(cmd->id == REDS__CMD_NONE) ? reds__queued_label(q, cmd) : 0;
}
/* Record a failure (`text` may be reds_errmsg(): it is copied); 1 when q
 * held no memory before, for the caller's count of entries to free. */
size_t reds__queued_fail(reds__queued *q, reds_err err, const char *text);
/* Free what q holds. */
void reds__queued_free(reds__queued *q);
/* The command's name, as its messages start ("NAME: "). */
const char *reds__queued_name(const reds__queued *q);
/* The failure's text without the command name. */
const char *reds__queued_text(const reds__queued *q);
/* Convert `reply` into q's output with `c`'s callbacks; an error reply or
 * a failed conversion is recorded instead (the first failure stays).
 * Returns what reds__queued_fail() returns, or 0. */
size_t reds__queued_deliver(reds__queued *q, reds_client *c, reds__arena *a,
                            const reds_reply *reply);
/* "command i+1 of n (NAME): text" as the error of a whole execution. */
reds_err reds__queued_report(const reds__queued *q, size_t i, size_t n);
/* reds_pipeline_result() of one command. */
reds_err reds__queued_result(const reds__queued *q, const char **msg);
/* MULTI, EXEC, DISCARD, WATCH, UNWATCH: pipelines run them themselves. */
bool reds__pipeline_owns(uintptr_t id);
/* Room for `bound` more bytes after `len` in a doubling buffer: the
 * check inline (once per queued command), the growing out of line. */
char *reds__buf_grow(char **buf, size_t *cap, size_t len, size_t bound);
static inline char *reds__buf_reserve(char **buf, size_t *cap, size_t len, size_t bound)
{
    return REDS__LIKELY(bound <= *cap - len) ? *buf + len : reds__buf_grow(buf, cap, len, bound);
}
/* What keeps an async handle busy for reds_poll_run(): its pending
 * commands, and 1 more while it is subscribed to anything. */
size_t reds__async_work(const reds_client *c);
/* The async client's reds__pipeline_preload(): a SCRIPT LOAD queued
 * ahead of the next command, once per sha and connection (async.c). */
reds_err reds__async_preload(reds_client *c, const char *sha, reds_str source);
/* Pipelines of cluster clients (cluster_pipeline.c): the reds_pipeline_*
 * functions pass a handle made from a cluster client to these. */
typedef struct reds__pipeline_ops {
    reds_err (*execute)(reds_client *pipe);
    void (*reset)(reds_client *pipe);
    size_t (*count)(const reds_client *pipe);
    reds_err (*result)(const reds_client *pipe, size_t i, const char **msg);
    reds_err (*watch)(reds_client *pipe, const reds_str *keys, size_t nkeys);
    reds_err (*multi)(reds_client *pipe);
    reds_err (*unwatch)(reds_client *pipe);
    reds_err (*discard)(reds_client *pipe);
} reds__pipeline_ops;
/* The operations of `c` when it is a cluster pipeline; NULL otherwise. */
const reds__pipeline_ops *reds__cluster_pipeline_ops(const reds_client *c);
/* Whether `c` is a cluster client (or a target handle of one). */
bool reds__is_cluster(const reds_client *c);
reds_err reds__cluster_pipeline_new(reds_client *cluster, bool transaction, reds_client **out);
/* The scripts a batch or connection has loaded, by sha (script.c). */
typedef struct reds__shas {
    char (*sha)[41];
    size_t n, cap;
} reds__shas;
bool reds__shas_has(const reds__shas *set, const char *sha);
reds_err reds__shas_add(reds__shas *set, const char *sha);
void reds__shas_free(reds__shas *set);
/* SCRIPT LOAD `source` on `c`, discarding the reply (script.c). */
reds_err reds__script_load(reds_client *c, reds_str source);

/* A client made by `make` from the options of `url` over `base` (the
 * *_from_url() functions; `fn` names the caller in messages). */
reds_err reds__from_url(const char *fn, const char *url, const reds_options *base,
                        reds_err (*make)(const reds_options *opts, reds_client **out),
                        reds_client **out);
reds_err reds__config_new(const reds_options *opts, reds__config **out);
void reds__config_free(reds__config *cfg);
reds_err reds__config_copy(const reds__config *cfg, reds__config **out);

/* The pooled client (pool.c); it owns `cfg` from here, even on failure. */
reds_err reds__pool_new(reds__config *cfg, reds_client **out);
/* Refuse a command that changes a connection's state on a pooled client
 * (see reds__connection_scoped). */
reds_err reds__refuse_connection_scope(const reds__cmd *cmd);

/* One round trip on `conn`: write the command, read its reply, map error
 * replies, convert. */
reds_err reds__roundtrip(reds_client *c, reds__conn *conn, reds__cmd *cmd);
/* What a round trip does once `reply` (in conn's arena) is read. */
reds_err reds__reply(reds_client *c, reds__conn *conn, reds__cmd *cmd, const reds_reply *reply);
/* Convert one reply for `cmd` (override or converter); used by every
 * router once the reply is in the arena. */
reds_err reds__deliver(reds_client *c, reds__cmd *cmd, reds__arena *a, const reds_reply *reply);

/* The entry point of every generated wrapper, after packing: the public
 * reds_ext_run() of add-ons. */
#define reds__cmd_run reds_ext_run
/* Start a command of `size.argc` arguments; returns where to write, or
 * NULL (error already set) on a NULL handle or invalid arguments. Add-ons
 * start theirs with reds_ext_begin(), which gives an entry's address. */
char *reds__cmd_begin(reds_client *c, reds__cmd *cmd, uintptr_t id, const reds__size *size);
/* The name of a command reference, for messages ("command" for none). */
const char *reds__command_name(uintptr_t id);
/* The name of a command for messages: the table's, or for a command it
 * does not know (REDS__CMD_NONE: reds_execute_command), what the user
 * sent, from the packed bytes (reds__cmd_label). A thread-local buffer:
 * valid until the next call on this thread. */
const char *reds__cmd_name(const reds__cmd *cmd);
/* The label of a command line the table does not know: its first word,
 * and the second after a container (CONFIG, CLIENT...), never more, so
 * never an argument. Bytes other than printable ASCII are escaped as
 * \xNN and a word is cut at 32 bytes ("..."): it never holds ": ". */
#define REDS__LABEL_MAX (2 * (32 * 4 + 3) + 2)
const char *reds__cmd_label(size_t argc, const reds_str *argv, char label[REDS__LABEL_MAX]);
/* Whether `word` is a container: the first word of two-word commands. */
bool reds__catalog_container(reds_str word);
/* The arguments of a packed command as views into `buf` (at most `max`);
 * returns how many. Routers pass them to reds_catalog_keys(). */
size_t reds__cmd_argv(const char *buf, size_t len, reds_str *argv, size_t max);
/* The keys of a packed command, found by its entry's key specs (routers):
 * reds__key(k, i) for i < k->n. Small commands stay on the stack. */
#define REDS__KEYS_SMALL 16
typedef struct reds__keys {
    reds_str *argv;
    size_t *pos;
    long n; /* < 0: too short for its key specs (the server will say so) */
    reds_str small_argv[REDS__KEYS_SMALL];
    size_t small_pos[REDS__KEYS_SMALL];
} reds__keys;
reds_err reds__cmd_keys(const reds__cmd *cmd, const reds_catalog_entry *e, reds__keys *k);
void reds__keys_free(reds__keys *k);
static inline reds_str reds__key(const reds__keys *k, long i)
{
    return k->argv[k->pos[i]];
}

/* ------------------------------------------------------ auto-pipelining */

/* Lanes (autopipe.c): concurrent callers of a pooled client share
 * connections, their commands batched into one write. What a caller
 * alone on its lane touches is here, inline: its cost is a few
 * instructions over the pool's own. */
struct reds__waiter;
typedef struct reds__lane {
    _Alignas(64) atomic_bool busy; /* a leader owns the lane */
    atomic_size_t queued;          /* waiters in the list */
    pthread_mutex_t lock;          /* the list */
    struct reds__waiter *head, **tail;
    char *buf; /* a batch's commands, packed together (the leader's) */
    size_t cap;
    /* Written by the lane's owner only: no atomic read-modify-write. */
    atomic_uint_fast64_t writes, commands;
} reds__lane;

typedef struct reds__lanes {
    size_t n;
    size_t max_batch;
    atomic_uint next; /* hands lanes out to threads in turn */
    reds__lane lanes[];
} reds__lanes;

extern _Thread_local unsigned reds__lane_hint; /* the thread's lane, + 1; 0: none yet */
unsigned reds__lane_hint_slow(reds__lanes *l);
void reds__lane_hand_on(reds__lane *ln);

/* The calling thread's lane: threads are spread over lanes in turn. */
static inline reds__lane *reds__lane_of(reds__lanes *l)
{
    if (REDS__LIKELY(l->n == 1))
        return &l->lanes[0];
    unsigned h = reds__lane_hint;
    return &l->lanes[(h ? h : reds__lane_hint_slow(l)) % l->n];
}

static inline bool reds__lane_try(reds__lane *ln)
{
    bool free_ = false;
    return atomic_compare_exchange_strong(&ln->busy, &free_, true);
}

/* The lane owner's counters. */
static inline void reds__lane_count(reds__lane *ln, size_t commands)
{
    atomic_store_explicit(&ln->writes, atomic_load_explicit(&ln->writes, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_store_explicit(&ln->commands,
                          atomic_load_explicit(&ln->commands, memory_order_relaxed) + commands,
                          memory_order_relaxed);
}
reds_err reds__lanes_new(size_t n, size_t max_batch, reds__lanes **out);
void reds__lanes_free(reds__lanes *l);
/* The calling thread's lane, taken: it is free, so the caller runs its
 * command at once as without lanes, then leaves it (`wrote`: a command
 * went out, for the statistics). NULL when the lane is busy: then
 * reds__lanes_queue() waits for a leader to run it (or leads), on a
 * connection of `c`'s pool (its acquire and release); `*sent`: whether
 * it may have reached the server. */
static inline reds__lane *reds__lane_take(reds__lanes *l)
{
    reds__lane *ln = reds__lane_of(l);
    return reds__lane_try(ln) ? ln : NULL;
}
static inline void reds__lane_leave(reds__lane *ln, bool wrote)
{
    if (wrote)
        reds__lane_count(ln, 1);
    /* Free it, then look for waiters: a waiter queues, then tries to take
     * it (both sequentially consistent): one of the two sees the other. */
    atomic_store(&ln->busy, false);
    if (REDS__UNLIKELY(atomic_load(&ln->queued)))
        reds__lane_hand_on(ln);
}
/* What a batch does with a caller's reply (in conn's arena): NULL for
 * reds__reply(); a Cluster client looks for redirections first. Runs on
 * the leader's thread. */
typedef reds_err (*reds__lane_reply)(void *ctx, reds_client *c, reds__conn *conn, reds__cmd *cmd,
                                     const reds_reply *reply);
reds_err reds__lanes_queue(reds__lanes *l, reds_client *c, reds__cmd *cmd, bool *sent,
                           reds__lane_reply on_reply, void *ctx);
/* Take the lane or queue: the whole of it, for routers other than the
 * pool's own (Cluster nodes). */
reds_err reds__lanes_run(reds__lanes *l, reds_client *c, reds__cmd *cmd, bool *sent,
                         reds__lane_reply on_reply, void *ctx);
/* The lanes of a pooled client, or NULL (none, or not a pool). */
reds__lanes *reds__pool_lanes(reds_client *c);
/* Around fork(): held across it, and made anew in the child. */
void reds__lanes_lock(reds__lanes *l);
void reds__lanes_unlock(reds__lanes *l);
void reds__lanes_after_fork(reds__lanes *l);
void reds__lanes_stats(reds__lanes *l, uint64_t *writes, uint64_t *commands);
/* Whether `cmd` may share a connection with other callers' commands:
 * not one that blocks the connection (BLPOP, XREAD BLOCK...), closes it
 * (QUIT), or that the catalogue does not know (a module's might block). */
static inline bool reds__shareable(const reds__cmd *cmd)
{
    const uint32_t alone = REDS_CMD_BLOCKING | REDS_CMD_CLOSES_CONNECTION |
                           REDS_CMD_CONNECTION_SCOPE | REDS_CMD_DEDICATED_API;
    return cmd->id < reds__ncommands && !(reds__commands[cmd->id].info.flags & alone);
}
/* ----------------------------------------------------- client-side cache */

/* The cache of a pooled client (cache.c), a layer in front of its router:
 * pool_run() asks it first when the client has one. */
typedef struct reds__cache reds__cache;
struct ckey;
/* A cacheable read on its way to the server: the keys it registered. */
typedef struct reds__cache_read {
    reds__cache *cache;
    const reds__cmd *cmd;
    uint64_t hash, flush_seq;
    unsigned gen;
    size_t nkeys;
    struct ckey **keys;
    uint64_t *seqs;
    struct ckey *small_keys[REDS__KEYS_SMALL];
    uint64_t small_seqs[REDS__KEYS_SMALL];
} reds__cache_read;
enum { REDS__CACHE_BYPASS, REDS__CACHE_HIT, REDS__CACHE_MISS };
/* For the client `owner` (its cfg has the options): starts the
 * invalidation connection and its thread. */
reds_err reds__cache_new(reds_client *owner, reds__cache **out);
void reds__cache_free(reds__cache *cache);
/* HIT: answered from the cache, outcome in `*err`. MISS: send it, then
 * reds__cache_store() its reply (before conversion) and reds__cache_end().
 * BYPASS: not cached; run it, then reds__cache_wrote(). */
int reds__cache_lookup(reds__cache *cache, reds_client *c, reds__cmd *cmd, reds__cache_read *rd,
                       reds_err *err);
void reds__cache_store(reds__cache_read *rd, const reds__conn *conn, const reds_reply *reply);
void reds__cache_end(reds__cache_read *rd);
/* After a command the cache did not answer: a write's keys (FLUSHALL's
 * everything) are invalidated at once, so this process reads its writes. */
void reds__cache_wrote(reds__cache *cache, const reds__cmd *cmd);
/* The handshake's CLIENT TRACKING: its arguments in `argv` (room for
 * reds__cache_tracking_argc()), their number, 0 while the invalidation
 * connection is down; sets conn->track_gen. */
size_t reds__cache_tracking(reds__cache *cache, reds__conn *conn, reds_str *argv, char idbuf[24]);
size_t reds__cache_tracking_argc(const reds__cache *cache);
reds_err reds__cache_stats(reds__cache *cache, reds_cache_stats *out);
reds_err reds__cache_flush(reds__cache *cache);
/* The cache of `c` (of its parent, for a pipeline), or NULL. */
reds__cache *reds__pool_cache(reds_client *c);
/* A round trip whose reply goes to `rd` before it is converted. */
reds_err reds__roundtrip_cached(reds_client *c, reds__conn *conn, reds__cmd *cmd,
                                reds__cache_read *rd);
/* Called with `udata` (under the handle's lock) whenever the handle loses
 * or replaces its connection (pubsub.c). */
struct reds_pubsub;
void reds__pubsub_on_drop(struct reds_pubsub *ps, void (*fn)(void *udata), void *udata);

/* ------------------------------------------------------------------ hooks */

/* A config's copy of reds_options.hooks (hooks.c). */
typedef struct reds__hooks {
    reds_hooks user;
    atomic_uint lost; /* connections lost and not yet replaced (CONNECT's reconnect) */
} reds__hooks;

/* What a command being traced met, on its thread: reds_ext_run() (and a
 * pipeline's execution) start one when the client has hooks; the byte
 * counting io of hooked connections, error replies, retries and
 * redirections add to the innermost. */
typedef struct reds__trace {
    struct reds__trace *outer;
    const reds__config *cfg;
    const char *name;
    int64_t start_unix_ns;
    uint64_t start_ns;
    uint64_t bytes_out, bytes_in;
    unsigned attempts;
    int port;
    char host[256];
    char status[32]; /* the prefix of the last error reply, or "" */
    char label[REDS__LABEL_MAX];
} reds__trace;
extern _Thread_local reds__trace *reds__tracing;

/* CLOCK_MONOTONIC in ns (hooked paths only: the hot path reads no clock). */
uint64_t reds__mono_ns(void);
/* reds_ext_run() of a client with hooks. */
reds_err reds__run_traced(reds_client *c, reds__cmd *cmd);
/* Start a trace of `name` (copied when not static: `copy`) on `cfg`, and
 * end it: on_command with `batch` commands and outcome `err`. */
void reds__trace_begin(reds__trace *t, const reds__config *cfg, const char *name, bool copy);
void reds__trace_end(reds__trace *t, size_t batch, reds_err err);
/* When a command starts, for a trace that begins later (the async
 * client traces a command when it completes, from these). */
void reds__trace_clock(uint64_t *mono_ns, int64_t *unix_ns);
/* The server the current trace (if any) is going to. */
void reds__trace_addr(const char *host, int port);
/* A command of `t` that went out in another thread's batch (auto-
 * pipelining) on `conn`: its server, and its bytes each way. */
void reds__trace_share(reds__trace *t, const reds__conn *conn, uint64_t out, uint64_t in);
/* An error reply met by the current trace (if any): its prefix. */
void reds__trace_status(const char *msg, size_t len);
/* Connection events; cold paths, called only when cfg->hooks is set. */
void reds__hook_connect(reds__conn *conn, uint64_t start_ns);
void reds__hook_connect_failed(const reds__config *cfg, const reds__addr *addr, uint64_t start_ns,
                               reds_err err);
void reds__hook_close(reds__conn *conn);
void reds__hook_pool_wait(const reds__config *cfg, uint64_t start_ns, reds_err err);
/* Retry number `attempt` (2 for the first) of `cmd`, after `err`. */
void reds__hook_retry(const reds__config *cfg, const reds__cmd *cmd, unsigned attempt,
                      reds_err err);
/* A MOVED or ASK (`kind`) for `slot` that `cmd` follows to host:port. */
void reds__hook_redirect(const reds__config *cfg, const reds__cmd *cmd, reds_err kind, int slot,
                         const char *host, int port);
/* Ask cfg->credentials for a connection's username and password: both
 * malloc'd (*user may be NULL, *password NULL for no AUTH), for the
 * caller to wipe and free; REDS_ERR_AUTH when the callback failed. */
reds_err reds__credentials_get(const reds__config *cfg, char **user, char **password);

/* ---------------------------------------------------------------- pub/sub */

/* Shared by the blocking pub/sub handle and the async client (subs.c). */
enum { REDS__CHANNELS, REDS__PATTERNS, REDS__SHARDS, REDS__NTABLES };
extern const struct reds__subs_command {
    const char *subscribe, *unsubscribe;
} reds__subs_commands[REDS__NTABLES];

/* A subscription's handler: the blocking handle's or the async client's. */
typedef union reds__handler {
    reds_pubsub_handler sync;
    reds_async_message_fn async;
} reds__handler;

typedef struct reds__sub {
    struct reds__sub *next;
    reds__handler fn;
    void *udata;
    bool leaving; /* unsubscribed; the server's confirmation is not read yet */
    uint64_t hash;
    size_t len;
    char name[]; /* len bytes and a NUL */
} reds__sub;

/* A chained hash table of binary-safe names. */
typedef struct reds__subtable {
    reds__sub **buckets;
    size_t nbuckets; /* a power of two, or 0 before the first insert */
    size_t count;    /* entries, leaving ones included */
    size_t nleaving; /* leaving entries */
} reds__subtable;

reds__sub *reds__st_find(const reds__subtable *t, const char *p, size_t len);
/* Add `name` or update its handler; NULL when out of memory. */
reds__sub *reds__st_put(reds__subtable *t, reds_str name, reds__handler fn, void *udata);
void reds__st_leave(reds__subtable *t, reds__sub *s);
/* Remove the entries for which `pred` holds (NULL: all of them). */
void reds__st_remove_if(reds__subtable *t, bool (*pred)(const reds__sub *s, const void *arg),
                        const void *arg);
bool reds__st_is_leaving(const reds__sub *s, const void *arg);
/* Mark `count` names leaving, or every entry when `count` is 0. */
void reds__st_leave_names(reds__subtable *t, const reds_str *names, size_t count);
/* The names given to (un)subscribe: REDS_OK, or REDS_ERR_DATA (message
 * set, naming `fn`); `need_one`: at least one is required. */
reds_err reds__subs_check(const char *fn, const reds_str *names, size_t count, bool need_one);
void reds__st_remove(reds__subtable *t, reds__sub *victim);
void reds__st_free(reds__subtable *t);
/* The packed commands that subscribe to everything in the REDS__NTABLES
 * tables (none left leaving); `*buf` NULL when there is nothing. */
reds_err reds__subs_pack(const reds__subtable *subs, char **buf, size_t *len);
/* The table a message kind concerns, or -1. */
int reds__subs_table(reds_pubsub_kind kind);
/* A reply as a message, allocated as the arena's owned result
 * (reds_free() it); a converter (reds__conv_fn). */
reds_err reds__pubsub_parse(const reds_reply *r, reds__arena *a, reds_pubsub_message **out);

#endif
