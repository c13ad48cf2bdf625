/* fork() support.
 *
 * Every child bumps reds__fork_generation: connections made before the
 * fork carry the old generation, and whoever meets one drops it without a
 * word to the server (close() of our copy of the descriptor only).
 *
 * Locks are the other half. A lock that another thread holds at the
 * moment of fork() stays locked forever in the child, where that thread
 * does not exist. Pool locks are held only for a few instructions, so the
 * prepare handler takes them all (fork() waits for those instructions)
 * and both sides release them afterwards. A dedicated connection's lock
 * is held for a whole round trip, possibly a BLPOP of minutes: fork()
 * must not wait for that, so the child re-initialises it instead; the
 * connection it guarded is the parent's and is dropped on first use. */
#include <pthread.h>

#include "internal.h"

static pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER;
static reds__fork_hook *hooks;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void prepare(void)
{
    pthread_mutex_lock(&registry);
    for (reds__fork_hook *h = hooks; h; h = h->next)
        if (h->prepare)
            h->prepare(h->owner);
}

static void parent(void)
{
    for (reds__fork_hook *h = hooks; h; h = h->next)
        if (h->parent)
            h->parent(h->owner);
    pthread_mutex_unlock(&registry);
}

static void child(void)
{
    atomic_fetch_add(&reds__fork_generation, 1);
    for (reds__fork_hook *h = hooks; h; h = h->next)
        if (h->child)
            h->child(h->owner);
    pthread_mutex_init(&registry, NULL);
}

static void install(void)
{
    pthread_atfork(prepare, parent, child);
}

void reds__fork_register(reds__fork_hook *h)
{
    pthread_once(&once, install);
    pthread_mutex_lock(&registry);
    h->prev = NULL;
    h->next = hooks;
    if (hooks)
        hooks->prev = h;
    hooks = h;
    pthread_mutex_unlock(&registry);
}

void reds__fork_unregister(reds__fork_hook *h)
{
    pthread_mutex_lock(&registry);
    if (h->prev)
        h->prev->next = h->next;
    else if (hooks == h)
        hooks = h->next;
    if (h->next)
        h->next->prev = h->prev;
    h->prev = h->next = NULL;
    pthread_mutex_unlock(&registry);
}
