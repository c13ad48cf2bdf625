/* reds_poll: the built-in loop of <reds/async.h>, on poll(), for programs
 * that have none. It is an adapter like the others: each attached handle
 * gets a slot that records what reds_async_loop asked for. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <reds/async.h>

#include "internal.h"

typedef struct slot {
    reds_client *client; /* NULL once detached: freed at the next pass */
    int fd, events;
    uint64_t timer_at; /* ms of the monotonic clock; 0: none */
} slot;

struct reds_poll {
    slot **slots;
    size_t n, cap;
};

static uint64_t mono_ms(void)
{
    return reds__mono_ns() / 1000000;
}

static void slot_watch(void *data, int fd, int events)
{
    slot *s = data;
    s->fd = events ? fd : -1;
    s->events = events;
}

static void slot_timer(void *data, long ms)
{
    slot *s = data;
    s->timer_at = ms < 0 ? 0 : mono_ms() + (uint64_t)ms;
}

static void slot_detach(void *data)
{
    slot *s = data;
    s->client = NULL;
    s->fd = -1;
    s->timer_at = 0;
}

reds_err reds_poll_new(reds_poll **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_poll_new: out is NULL");
    *out = calloc(1, sizeof **out);
    return *out ? REDS_OK : reds__error(REDS_ERR_NOMEM, "out of memory");
}

/* Forget detached slots. Only between passes: a pass holds indexes. */
static void sweep(reds_poll *p)
{
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (p->slots[i]->client)
            p->slots[k++] = p->slots[i];
        else
            free(p->slots[i]);
    }
    p->n = k;
}

void reds_poll_free(reds_poll *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        if (p->slots[i]->client)
            reds_async_attach(p->slots[i]->client, NULL);
    for (size_t i = 0; i < p->n; i++)
        free(p->slots[i]);
    free(p->slots);
    free(p);
}

reds_err reds_poll_attach(reds_poll *p, reds_client *c)
{
    if (!p || !reds_async_is(c))
        return reds__error(REDS_ERR_DATA, "reds_poll_attach: %s",
                           p ? "the handle is not an async handle" : "the loop is NULL");
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        slot **slots = realloc(p->slots, cap * sizeof *slots);
        if (!slots)
            return reds__error(REDS_ERR_NOMEM, "out of memory");
        p->slots = slots;
        p->cap = cap;
    }
    slot *s = calloc(1, sizeof *s);
    if (!s)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    s->client = c;
    s->fd = -1;
    p->slots[p->n++] = s;
    reds_async_loop loop = {s, slot_watch, slot_timer, slot_detach};
    return reds_async_attach(c, &loop);
}

size_t reds_poll_run(reds_poll *p, int timeout_ms)
{
    if (!p)
        return 0;
    uint64_t end = timeout_ms > 0 ? mono_ms() + (uint64_t)timeout_ms : 0;
    struct pollfd *fds = NULL;
    size_t *owner = NULL, room = 0, pending = 0;
    for (;;) {
        sweep(p);
        pending = 0;
        for (size_t i = 0; i < p->n; i++)
            pending += reds__async_work(p->slots[i]->client);
        if (!pending)
            break;
        if (p->n > room) {
            free(fds);
            free(owner);
            room = p->n;
            fds = malloc(room * sizeof *fds);
            owner = malloc(room * sizeof *owner);
            if (!fds || !owner)
                break;
        }
        uint64_t now = mono_ms(), wake = end;
        nfds_t nfds = 0;
        for (size_t i = 0; i < p->n; i++) {
            slot *s = p->slots[i];
            if (s->timer_at && (!wake || s->timer_at < wake))
                wake = s->timer_at;
            if (s->fd < 0)
                continue;
            fds[nfds].fd = s->fd;
            fds[nfds].events = (short)((s->events & REDS_ASYNC_READ ? POLLIN : 0) |
                                       (s->events & REDS_ASYNC_WRITE ? POLLOUT : 0));
            fds[nfds].revents = 0;
            owner[nfds++] = i;
        }
        int wait = timeout_ms == 0 ? 0 : !wake ? -1 : wake > now ? (int)(wake - now) : 0;
        int ready = poll(fds, nfds, wait);
        if (ready < 0 && errno != EINTR)
            break;
        for (nfds_t k = 0; ready > 0 && k < nfds; k++) {
            slot *s = p->slots[owner[k]];
            short r = fds[k].revents;
            if (!r || !s->client || s->fd != fds[k].fd)
                continue;
            /* Errors and hang-ups are found by reading or writing. */
            int ev = (r & (POLLIN | POLLERR | POLLHUP) ? REDS_ASYNC_READ : 0) |
                     (r & (POLLOUT | POLLERR | POLLHUP) ? REDS_ASYNC_WRITE : 0);
            reds_async_handle_events(s->client, ev);
        }
        now = mono_ms();
        for (size_t i = 0; i < p->n; i++) {
            slot *s = p->slots[i];
            if (s->client && s->timer_at && now >= s->timer_at) {
                s->timer_at = 0;
                reds_async_handle_timer(s->client);
            }
        }
        if (timeout_ms == 0 || (end && mono_ms() >= end)) {
            sweep(p);
            pending = 0;
            for (size_t i = 0; i < p->n; i++)
                pending += reds__async_work(p->slots[i]->client);
            break;
        }
    }
    free(fds);
    free(owner);
    return pending;
}
