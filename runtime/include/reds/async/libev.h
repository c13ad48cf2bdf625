/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: drive an async handle (<reds/async.h>) with libev 4.
 *
 *     struct ev_loop *loop = EV_DEFAULT;
 *     reds_libev_attach(c, loop);
 *     ...queue commands...
 *     ev_run(loop, 0);
 *
 * The handle owns what this allocates; reds_client_free() releases it.
 * Link with -lev.
 */
#ifndef REDS_ASYNC_LIBEV_H
#define REDS_ASYNC_LIBEV_H

#include <stdlib.h>

#include <ev.h>
#include <reds/async.h>

typedef struct reds_libev {
    struct ev_loop *loop;
    reds_client *client;
    ev_io io;
    ev_timer timer;
} reds_libev;

static inline void reds_libev_on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    reds_libev *e = (reds_libev *)w->data;
    reds_async_handle_events(e->client, ((revents & EV_READ) ? REDS_ASYNC_READ : 0) |
                                            ((revents & EV_WRITE) ? REDS_ASYNC_WRITE : 0));
}

static inline void reds_libev_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    reds_async_handle_timer(((reds_libev *)w->data)->client);
}

static inline void reds_libev_watch(void *data, int fd, int events)
{
    reds_libev *e = (reds_libev *)data;
    ev_io_stop(e->loop, &e->io);
    if (!events)
        return;
    ev_io_set(&e->io, fd, ((events & REDS_ASYNC_READ) ? EV_READ : 0) |
                              ((events & REDS_ASYNC_WRITE) ? EV_WRITE : 0));
    ev_io_start(e->loop, &e->io);
}

static inline void reds_libev_timer(void *data, long ms)
{
    reds_libev *e = (reds_libev *)data;
    ev_timer_stop(e->loop, &e->timer);
    if (ms >= 0) {
        ev_now_update(e->loop);
        ev_timer_set(&e->timer, (double)ms / 1000.0, 0.0);
        ev_timer_start(e->loop, &e->timer);
    }
}

static inline void reds_libev_detach(void *data)
{
    reds_libev *e = (reds_libev *)data;
    ev_io_stop(e->loop, &e->io);
    ev_timer_stop(e->loop, &e->timer);
    free(e);
}

/** Drive `client` with `loop`; REDS_ERR_NOMEM when out of memory. */
static inline reds_err reds_libev_attach(reds_client *client, struct ev_loop *loop)
{
    reds_libev *e = (reds_libev *)calloc(1, sizeof *e);
    if (!e)
        return REDS_ERR_NOMEM;
    e->loop = loop;
    e->client = client;
    ev_io_init(&e->io, reds_libev_on_io, -1, 0);
    ev_timer_init(&e->timer, reds_libev_on_timer, 0.0, 0.0);
    e->io.data = e;
    e->timer.data = e;
    reds_async_loop l = {e, reds_libev_watch, reds_libev_timer, reds_libev_detach};
    reds_err err = reds_async_attach(client, &l);
    if (err)
        free(e);
    return err;
}

#endif
