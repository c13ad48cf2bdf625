/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: drive an async handle (<reds/async.h>) with libevent 2.
 *
 *     struct event_base *base = event_base_new();
 *     reds_client *c;
 *     reds_async_new(&opts, &c);
 *     reds_libevent_attach(c, base);
 *     ...queue commands...
 *     event_base_dispatch(base);
 *
 * The handle owns what this allocates; reds_client_free() releases it.
 * Link with -levent (or -levent_core).
 */
#ifndef REDS_ASYNC_LIBEVENT_H
#define REDS_ASYNC_LIBEVENT_H

#include <stdlib.h>

#include <event2/event.h>
#include <reds/async.h>

typedef struct reds_libevent {
    struct event_base *base;
    reds_client *client;
    int fd;
    struct event *rd, *wr, *timer;
} reds_libevent;

static inline void reds_libevent_on_io(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    reds_async_handle_events((reds_client *)arg, ((what & EV_READ) ? REDS_ASYNC_READ : 0) |
                                                     ((what & EV_WRITE) ? REDS_ASYNC_WRITE : 0));
}

static inline void reds_libevent_on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    reds_async_handle_timer((reds_client *)arg);
}

static inline void reds_libevent_release_fd(reds_libevent *e)
{
    if (e->rd)
        event_free(e->rd);
    if (e->wr)
        event_free(e->wr);
    e->rd = e->wr = NULL;
    e->fd = -1;
}

static inline void reds_libevent_watch(void *data, int fd, int events)
{
    reds_libevent *e = (reds_libevent *)data;
    if (fd != e->fd || !events)
        reds_libevent_release_fd(e);
    if (!events)
        return;
    if (!e->rd) {
        e->fd = fd;
        e->rd = event_new(e->base, fd, EV_READ | EV_PERSIST, reds_libevent_on_io, e->client);
        e->wr = event_new(e->base, fd, EV_WRITE | EV_PERSIST, reds_libevent_on_io, e->client);
        if (!e->rd || !e->wr) {
            reds_libevent_release_fd(e);
            return;
        }
    }
    if (events & REDS_ASYNC_READ)
        event_add(e->rd, NULL);
    else
        event_del(e->rd);
    if (events & REDS_ASYNC_WRITE)
        event_add(e->wr, NULL);
    else
        event_del(e->wr);
}

static inline void reds_libevent_timer(void *data, long ms)
{
    reds_libevent *e = (reds_libevent *)data;
    if (ms < 0) {
        evtimer_del(e->timer);
    } else {
        struct timeval tv;
        tv.tv_sec = ms / 1000;
        tv.tv_usec = (ms % 1000) * 1000;
        evtimer_add(e->timer, &tv);
    }
}

static inline void reds_libevent_detach(void *data)
{
    reds_libevent *e = (reds_libevent *)data;
    reds_libevent_release_fd(e);
    event_free(e->timer);
    free(e);
}

/** Drive `client` with `base`; REDS_ERR_NOMEM when libevent cannot. */
static inline reds_err reds_libevent_attach(reds_client *client, struct event_base *base)
{
    reds_libevent *e = (reds_libevent *)calloc(1, sizeof *e);
    if (!e)
        return REDS_ERR_NOMEM;
    e->base = base;
    e->client = client;
    e->fd = -1;
    e->timer = evtimer_new(base, reds_libevent_on_timer, client);
    if (!e->timer) {
        free(e);
        return REDS_ERR_NOMEM;
    }
    reds_async_loop loop = {e, reds_libevent_watch, reds_libevent_timer, reds_libevent_detach};
    reds_err err = reds_async_attach(client, &loop);
    if (err)
        reds_libevent_detach(e);
    return err;
}

#endif
