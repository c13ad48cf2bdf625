/* See fixture_relay.h.
 *
 * One thread runs a poll() loop over a wake-up pipe, the listening socket
 * and each client connection with its server side. It holds the relay's
 * lock all the time except while it sleeps in poll(), so the test's thread
 * changes the configuration under the lock and wakes it: from then on the
 * loop sees the change. */
#include "fixture_relay.h"
#include "fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The most one send() or recv() moves: a big reply goes out in pieces. */
#define PIECE (64 * 1024)

typedef enum relay_mode { MODE_PASS, MODE_STALL, MODE_TRICKLE, MODE_CUT } relay_mode;

/* Bytes waiting to go: data[off..len). */
typedef struct byte_queue {
    char *data;
    size_t off, len, cap;
} byte_queue;

typedef struct relay_conn {
    int cfd, ufd; /* the client; the server (-1: fake server, or it closed) */
    bool polled;  /* in this round's pollfd array, at ci (and ui) */
    size_t ci, ui;
    byte_queue to_client, to_server;
    long long next_byte_ms; /* trickle: when the next byte may go */
    /* A delayed injection (relay_inject): queued at inject_at. */
    char *inject;
    size_t inject_len;
    long long inject_at;
    /* Fake server: the start of a request not complete yet, the replies
     * still owed, and the one being made (its fill, then its tail). */
    byte_queue request;
    uint64_t owed;
    bool making;
    size_t fill_left;
    char fill_byte;
    char *tail;
    struct relay_conn *next;
} relay_conn;

struct relay {
    int listen_fd, wake[2], port, upstream_port;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t done; /* close_done caught up with close_asked */
    /* Everything below is guarded by `lock`. */
    relay_mode mode;
    int trickle_ms;
    size_t cut_left;
    char *inject; /* armed when not NULL */
    size_t inject_len;
    int inject_delay_ms;
    bool scripted;
    char *head, *tail;
    size_t fill;
    char fill_byte;
    relay_counts counts;
    unsigned close_asked, close_done;
    bool stop;
    relay_conn *conns;
    struct pollfd *pfd;
    size_t npfd_cap;
};

/* ------------------------------------------------------------- buffers */

static size_t pending(const byte_queue *b)
{
    return b->len - b->off;
}

static void append(byte_queue *b, const char *p, size_t n)
{
    if (!n)
        return;
    if (b->off && b->off == b->len)
        b->off = b->len = 0;
    if (n > b->cap - b->len) {
        /* Move what is left to the front, then grow if still short. */
        if (b->off) {
            memmove(b->data, b->data + b->off, b->len - b->off);
            b->len -= b->off;
            b->off = 0;
        }
        if (n > b->cap - b->len) {
            size_t cap = b->cap ? b->cap : 4096;
            while (cap - b->len < n)
                cap *= 2;
            char *data = realloc(b->data, cap);
            if (!data) {
                fprintf(stderr, "relay: out of memory\n");
                abort();
            }
            b->data = data;
            b->cap = cap;
        }
    }
    if (p)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void append_fill(byte_queue *b, char c, size_t n)
{
    if (!n)
        return;
    append(b, NULL, n);
    memset(b->data + b->len - n, c, n);
}

static char *dup_bytes(const char *p, size_t n)
{
    char *copy = malloc(n ? n : 1);
    if (!copy) {
        fprintf(stderr, "relay: out of memory\n");
        abort();
    }
    memcpy(copy, p, n);
    return copy;
}

/* ------------------------------------------------------------ the loop */

static void wake(relay *r)
{
    ssize_t n = write(r->wake[1], "", 1);
    (void)n; /* a full pipe wakes the loop as well */
}

static void conn_free(relay *r, relay_conn *c)
{
    close(c->cfd);
    if (c->ufd >= 0)
        close(c->ufd);
    free(c->to_client.data);
    free(c->to_server.data);
    free(c->request.data);
    free(c->inject);
    free(c->tail);
    free(c);
    r->counts.open--;
}

static void close_all(relay *r)
{
    while (r->conns) {
        relay_conn *c = r->conns;
        r->conns = c->next;
        conn_free(r, c);
    }
}

static void set_nodelay(int fd)
{
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

static int connect_upstream(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        close(fd);
        return -1;
    }
    set_nodelay(fd);
    return fd;
}

static void accept_all(relay *r)
{
    for (;;) {
        int fd = accept4(r->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int ufd = -1;
        if (r->upstream_port && (ufd = connect_upstream(r->upstream_port)) < 0) {
            close(fd); /* the server is down: so is the relay's side */
            continue;
        }
        set_nodelay(fd);
        relay_conn *c = calloc(1, sizeof *c);
        if (!c) {
            fprintf(stderr, "relay: out of memory\n");
            abort();
        }
        c->cfd = fd;
        c->ufd = ufd;
        c->next = r->conns;
        r->conns = c;
        r->counts.accepted++;
        r->counts.open++;
    }
}

/* Hand the armed injection to `c`, which just got a reply to forward. */
static void take_injection(relay *r, relay_conn *c, long long now)
{
    if (!r->inject)
        return;
    if (r->inject_delay_ms == 0) {
        append(&c->to_client, r->inject, r->inject_len);
        free(r->inject);
    } else {
        free(c->inject);
        c->inject = r->inject;
        c->inject_len = r->inject_len;
        c->inject_at = now + r->inject_delay_ms;
    }
    r->inject = NULL;
}

/* The length of the first complete request in p[0..n), 0 when it is not
 * complete yet: a RESP array of bulk strings, or an inline line. */
static size_t request_length(const char *p, size_t n)
{
    const char *end = p + n, *nl = memchr(p, '\n', n);
    if (!nl)
        return 0;
    if (p[0] != '*')
        return (size_t)(nl + 1 - p);
    long count = strtol(p + 1, NULL, 10);
    const char *q = nl + 1;
    for (long i = 0; i < count; i++) {
        nl = memchr(q, '\n', (size_t)(end - q));
        if (!nl)
            return 0;
        long len = strtol(q + 1, NULL, 10);
        q = nl + 1;
        if (len < 0)
            len = 0;
        if ((size_t)(end - q) < (size_t)len + 2)
            return 0;
        q += len + 2;
    }
    return (size_t)(q - p);
}

/* Fake server: make what is owed, a piece at a time. */
static void produce(relay *r, relay_conn *c, long long now)
{
    while (pending(&c->to_client) < PIECE) {
        if (c->making && c->fill_left) {
            size_t n = c->fill_left < PIECE ? c->fill_left : PIECE;
            append_fill(&c->to_client, c->fill_byte, n);
            c->fill_left -= n;
        } else if (c->making) {
            if (c->tail)
                append(&c->to_client, c->tail, strlen(c->tail));
            free(c->tail);
            c->tail = NULL;
            c->making = false;
            take_injection(r, c, now);
        } else if (c->owed && r->scripted) {
            c->owed--;
            append(&c->to_client, r->head, strlen(r->head));
            c->fill_left = r->fill;
            c->fill_byte = r->fill_byte;
            c->tail = r->tail ? dup_bytes(r->tail, strlen(r->tail) + 1) : NULL;
            c->making = true;
        } else {
            break;
        }
    }
}

/* Whether the mode lets `c` send to its client now; if not yet, when. */
static bool may_send(const relay *r, const relay_conn *c, long long now, int *timeout)
{
    if (r->mode == MODE_STALL)
        return false;
    if (r->mode == MODE_TRICKLE && now < c->next_byte_ms) {
        int wait = (int)(c->next_byte_ms - now);
        if (*timeout < 0 || wait < *timeout)
            *timeout = wait;
        return false;
    }
    return true;
}

/* Send what the mode allows to the client; false to close `c`. */
static bool send_to_client(relay *r, relay_conn *c, long long now)
{
    int ignored = -1;
    if (!pending(&c->to_client) || !may_send(r, c, now, &ignored))
        return true;
    size_t n = pending(&c->to_client);
    if (n > PIECE)
        n = PIECE;
    if (r->mode == MODE_TRICKLE)
        n = 1;
    if (r->mode == MODE_CUT) {
        if (!r->cut_left) {
            r->mode = MODE_PASS;
            return false;
        }
        if (n > r->cut_left)
            n = r->cut_left;
    }
    ssize_t sent = send(c->cfd, c->to_client.data + c->to_client.off, n, MSG_NOSIGNAL);
    if (sent < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    c->to_client.off += (size_t)sent;
    r->counts.to_client += (uint64_t)sent;
    if (r->mode == MODE_TRICKLE)
        c->next_byte_ms = now + r->trickle_ms;
    if (r->mode == MODE_CUT) {
        r->cut_left -= (size_t)sent;
        if (!r->cut_left) {
            r->mode = MODE_PASS;
            return false;
        }
    }
    return true;
}

/* Move bytes one way: false when the reading side closed or failed. */
static bool pull(int fd, byte_queue *into, uint64_t *count)
{
    char buf[PIECE];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (n == 0)
        return false;
    append(into, buf, (size_t)n);
    *count += (uint64_t)n;
    return true;
}

/* One round of work on `c` after poll(); false to close it. */
static bool service(relay *r, relay_conn *c, long long now)
{
    short cre = r->pfd[c->ci].revents;
    if (cre & (POLLIN | POLLHUP | POLLERR)) {
        if (!pull(c->cfd, r->upstream_port ? &c->to_server : &c->request, &r->counts.to_server))
            return false;
        size_t len;
        while (!r->upstream_port && pending(&c->request) &&
               (len = request_length(c->request.data + c->request.off, pending(&c->request)))) {
            c->request.off += len;
            c->owed++;
            r->counts.requests++;
        }
    }
    if (r->upstream_port) {
        if (c->ufd < 0 && !pending(&c->to_client))
            return false; /* the server closed, and all it said went on */
        if (c->ufd >= 0 && (r->pfd[c->ui].revents & (POLLIN | POLLHUP | POLLERR))) {
            size_t before = pending(&c->to_client);
            if (!pull(c->ufd, &c->to_client, &(uint64_t){0})) {
                close(c->ufd);
                c->ufd = -1;
            } else if (pending(&c->to_client) > before) {
                take_injection(r, c, now);
            }
        }
        if (c->ufd >= 0 && pending(&c->to_server)) {
            ssize_t sent = send(c->ufd, c->to_server.data + c->to_server.off,
                                pending(&c->to_server), MSG_NOSIGNAL);
            if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return false;
            if (sent > 0)
                c->to_server.off += (size_t)sent;
        }
    } else {
        produce(r, c, now);
    }
    return send_to_client(r, c, now);
}

static void *relay_loop(void *arg)
{
    relay *r = arg;
    pthread_mutex_lock(&r->lock);
    while (!r->stop) {
        if (r->close_done != r->close_asked) {
            close_all(r);
            r->close_done = r->close_asked;
            pthread_cond_broadcast(&r->done);
        }
        long long now = now_ms();
        int timeout = -1;
        size_t n = 0, want = 2;
        for (relay_conn *c = r->conns; c; c = c->next)
            want += 2;
        if (want > r->npfd_cap) {
            struct pollfd *pfd = realloc(r->pfd, want * sizeof *pfd);
            if (!pfd) {
                fprintf(stderr, "relay: out of memory\n");
                abort();
            }
            r->pfd = pfd;
            r->npfd_cap = want;
        }
        r->pfd[n++] = (struct pollfd){r->wake[0], POLLIN, 0};
        r->pfd[n++] = (struct pollfd){r->listen_fd, POLLIN, 0};
        for (relay_conn *c = r->conns; c; c = c->next) {
            if (c->inject && now >= c->inject_at) {
                append(&c->to_client, c->inject, c->inject_len);
                free(c->inject);
                c->inject = NULL;
            } else if (c->inject) {
                int wait = (int)(c->inject_at - now);
                if (timeout < 0 || wait < timeout)
                    timeout = wait;
            }
            if (!r->upstream_port)
                produce(r, c, now);
            short events = POLLIN;
            if (pending(&c->to_client) && may_send(r, c, now, &timeout))
                events |= POLLOUT;
            c->polled = true;
            c->ci = n;
            r->pfd[n++] = (struct pollfd){c->cfd, events, 0};
            if (c->ufd >= 0) {
                c->ui = n;
                r->pfd[n++] = (struct pollfd){
                    c->ufd, (short)(POLLIN | (pending(&c->to_server) ? POLLOUT : 0)), 0};
            }
        }
        pthread_mutex_unlock(&r->lock);
        int ready = poll(r->pfd, (nfds_t)n, timeout);
        pthread_mutex_lock(&r->lock);
        if (ready < 0 && errno != EINTR) {
            perror("relay: poll");
            abort();
        }
        if (ready < 0)
            continue;
        if (r->pfd[0].revents) {
            char drain[64];
            while (read(r->wake[0], drain, sizeof drain) > 0)
                ;
        }
        now = now_ms();
        for (relay_conn **p = &r->conns; *p;) {
            relay_conn *c = *p;
            if (c->polled && !service(r, c, now)) {
                *p = c->next;
                conn_free(r, c);
            } else {
                p = &c->next;
            }
        }
        if (r->pfd[1].revents)
            accept_all(r); /* polled from the next round on */
    }
    close_all(r);
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* ------------------------------------------------------------ the API */

relay *relay_start(int upstream_port)
{
    relay *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->upstream_port = upstream_port;
    r->wake[0] = r->wake[1] = -1;
    r->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (r->listen_fd < 0 || bind(r->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(r->listen_fd, 128) < 0 ||
        getsockname(r->listen_fd, (struct sockaddr *)&sa, &len) < 0 ||
        pipe2(r->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
        perror("relay: listening");
        goto fail;
    }
    r->port = ntohs(sa.sin_port);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->done, NULL);
    if (pthread_create(&r->thread, NULL, relay_loop, r) != 0) {
        fprintf(stderr, "relay: cannot start its thread\n");
        pthread_cond_destroy(&r->done);
        pthread_mutex_destroy(&r->lock);
        goto fail;
    }
    return r;
fail:
    if (r->listen_fd >= 0)
        close(r->listen_fd);
    if (r->wake[0] >= 0) {
        close(r->wake[0]);
        close(r->wake[1]);
    }
    free(r);
    return NULL;
}

void relay_stop(relay *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = true;
    pthread_mutex_unlock(&r->lock);
    wake(r);
    pthread_join(r->thread, NULL);
    close(r->listen_fd);
    close(r->wake[0]);
    close(r->wake[1]);
    pthread_cond_destroy(&r->done);
    pthread_mutex_destroy(&r->lock);
    free(r->pfd);
    free(r->inject);
    free(r->head);
    free(r->tail);
    free(r);
}

int relay_port(const relay *r)
{
    return r->port;
}

static void set_mode(relay *r, relay_mode mode, int trickle_ms, size_t cut)
{
    pthread_mutex_lock(&r->lock);
    r->mode = mode;
    r->trickle_ms = trickle_ms;
    r->cut_left = cut;
    pthread_mutex_unlock(&r->lock);
    wake(r);
}

void relay_pass(relay *r)
{
    set_mode(r, MODE_PASS, 0, 0);
}

void relay_stall(relay *r)
{
    set_mode(r, MODE_STALL, 0, 0);
}

void relay_trickle(relay *r, int ms)
{
    set_mode(r, MODE_TRICKLE, ms, 0);
}

void relay_cut(relay *r, size_t bytes)
{
    set_mode(r, MODE_CUT, 0, bytes);
}

void relay_inject(relay *r, const char *bytes, size_t len, int delay_ms)
{
    pthread_mutex_lock(&r->lock);
    free(r->inject);
    r->inject = dup_bytes(bytes, len);
    r->inject_len = len;
    r->inject_delay_ms = delay_ms;
    pthread_mutex_unlock(&r->lock);
    wake(r);
}

void relay_close_clients(relay *r)
{
    pthread_mutex_lock(&r->lock);
    unsigned ticket = ++r->close_asked;
    wake(r);
    while (r->close_done != ticket)
        pthread_cond_wait(&r->done, &r->lock);
    pthread_mutex_unlock(&r->lock);
}

void relay_script(relay *r, const char *head, size_t fill, char fill_byte, const char *tail)
{
    pthread_mutex_lock(&r->lock);
    free(r->head);
    free(r->tail);
    r->head = dup_bytes(head, strlen(head) + 1);
    r->tail = tail ? dup_bytes(tail, strlen(tail) + 1) : NULL;
    r->fill = fill;
    r->fill_byte = fill_byte;
    r->scripted = true;
    pthread_mutex_unlock(&r->lock);
    wake(r);
}

relay_counts relay_get_counts(relay *r)
{
    pthread_mutex_lock(&r->lock);
    relay_counts c = r->counts;
    pthread_mutex_unlock(&r->lock);
    return c;
}

void relay_reset_counts(relay *r)
{
    pthread_mutex_lock(&r->lock);
    uint64_t open = r->counts.open;
    memset(&r->counts, 0, sizeof r->counts);
    r->counts.open = open;
    pthread_mutex_unlock(&r->lock);
}
