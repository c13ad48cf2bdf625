/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: drive an async handle (<reds/async.h>) with libuv 1.
 *
 *     uv_loop_t *loop = uv_default_loop();
 *     reds_libuv_attach(c, loop);
 *     ...queue commands...
 *     uv_run(loop, UV_RUN_DEFAULT);
 *
 * The handle owns what this allocates; reds_client_free() releases it
 * (libuv closes handles on its next iteration: run the loop once more
 * before uv_loop_close()). Link with -luv. Strict C99/C11 builds need
 * _POSIX_C_SOURCE (or _GNU_SOURCE) for <uv.h> itself.
 */
#ifndef REDS_ASYNC_LIBUV_H
#define REDS_ASYNC_LIBUV_H

#include <stdlib.h>

#include <reds/async.h>
#include <uv.h>

typedef struct reds_libuv {
    uv_loop_t *loop;
    reds_client *client;
    uv_poll_t *poll; /* for the current descriptor; closed with it */
    int fd;
    uv_timer_t *timer;
    int uv_events; /* what the poll handle was started with */
} reds_libuv;

static inline void reds_libuv_free_handle(uv_handle_t *h)
{
    free(h);
}

static inline void reds_libuv_on_poll(uv_poll_t *p, int status, int events)
{
    reds_libuv *e = (reds_libuv *)p->data;
    /* On an error libuv has stopped the handle: start it again, so that
     * the error is reported until the handle has read what came first. */
    if (status < 0)
        uv_poll_start(p, e->uv_events, reds_libuv_on_poll);
    /* An error is found by reading or writing. */
    int ev = status < 0 ? REDS_ASYNC_READ | REDS_ASYNC_WRITE
                        : ((events & UV_READABLE) ? REDS_ASYNC_READ : 0) |
                              ((events & UV_WRITABLE) ? REDS_ASYNC_WRITE : 0);
    reds_async_handle_events(e->client, ev);
}

static inline void reds_libuv_on_timer(uv_timer_t *t)
{
    reds_async_handle_timer(((reds_libuv *)t->data)->client);
}

static inline void reds_libuv_release_fd(reds_libuv *e)
{
    if (e->poll) {
        uv_poll_stop(e->poll);
        uv_close((uv_handle_t *)e->poll, reds_libuv_free_handle);
    }
    e->poll = NULL;
    e->fd = -1;
}

static inline void reds_libuv_watch(void *data, int fd, int events)
{
    reds_libuv *e = (reds_libuv *)data;
    if (fd != e->fd || !events)
        reds_libuv_release_fd(e);
    if (!events)
        return;
    if (!e->poll) {
        e->poll = (uv_poll_t *)malloc(sizeof *e->poll);
        if (!e->poll || uv_poll_init(e->loop, e->poll, fd) != 0) {
            free(e->poll);
            e->poll = NULL;
            return;
        }
        e->poll->data = e;
        e->fd = fd;
    }
    e->uv_events = ((events & REDS_ASYNC_READ) ? UV_READABLE : 0) |
                   ((events & REDS_ASYNC_WRITE) ? UV_WRITABLE : 0);
    uv_poll_start(e->poll, e->uv_events, reds_libuv_on_poll);
}

static inline void reds_libuv_timer(void *data, long ms)
{
    reds_libuv *e = (reds_libuv *)data;
    if (ms < 0)
        uv_timer_stop(e->timer);
    else
        uv_timer_start(e->timer, reds_libuv_on_timer, (uint64_t)ms, 0);
}

static inline void reds_libuv_detach(void *data)
{
    reds_libuv *e = (reds_libuv *)data;
    reds_libuv_release_fd(e);
    uv_timer_stop(e->timer);
    uv_close((uv_handle_t *)e->timer, reds_libuv_free_handle);
    free(e);
}

/** Drive `client` with `loop`; REDS_ERR_NOMEM when out of memory. */
static inline reds_err reds_libuv_attach(reds_client *client, uv_loop_t *loop)
{
    reds_libuv *e = (reds_libuv *)calloc(1, sizeof *e);
    uv_timer_t *t = (uv_timer_t *)malloc(sizeof *t);
    if (!e || !t || uv_timer_init(loop, t) != 0) {
        free(e);
        free(t);
        return REDS_ERR_NOMEM;
    }
    e->loop = loop;
    e->client = client;
    e->fd = -1;
    e->timer = t;
    t->data = e;
    reds_async_loop l = {e, reds_libuv_watch, reds_libuv_timer, reds_libuv_detach};
    reds_err err = reds_async_attach(client, &l);
    if (err)
        reds_libuv_detach(e);
    return err;
}

#endif
