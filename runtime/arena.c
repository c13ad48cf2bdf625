/* The reply arena (see internal.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* First chunk size (header included, it is 1 KiB: small enough for
 * glibc's per-thread cache, which a GET result's chunk goes through every
 * time), and the size up to which a reset keeps a chunk. */
#define FIRST_CHUNK (1024 - sizeof(reds__chunk))
#define KEEP_CHUNK (64 * 1024)
#define MAX_GROWTH (1024 * 1024)

/* Big chunks are recycled per thread. Giving a large reply's ~1 MiB back
 * to malloc lets glibc trim its heap, and the next large reply faults
 * every page in again (LRANGE 10k: ~140 page faults, dearer than parsing
 * it). So a freed chunk of SPARE_MIN bytes or more waits on its thread's
 * list, up to SPARE_MAX bytes in all, for the next arena that wants one;
 * the list is released when the thread exits. Small chunks, the only ones
 * small replies use, go straight back to malloc. */
#define SPARE_MIN (64 * 1024)
#define SPARE_MAX (2 * 1024 * 1024)

static _Thread_local struct spares {
    reds__chunk *head;
    size_t bytes;
    bool registered; /* with the thread-exit destructor */
} spares;
static pthread_key_t spares_key;
static pthread_once_t spares_once = PTHREAD_ONCE_INIT;

static void release_spares(void *list)
{
    struct spares *s = list;
    while (s->head) {
        reds__chunk *next = s->head->next;
        free(s->head);
        s->head = next;
    }
    s->bytes = 0;
    s->registered = false;
}

static void create_spares_key(void)
{
    pthread_key_create(&spares_key, release_spares);
}

static void put_chunk(reds__chunk *c)
{
    /* Small chunks first, without touching the thread-local list (not
     * free in position-independent code). */
    if (c->size < SPARE_MIN) {
        free(c);
        return;
    }
    struct spares *s = &spares;
    if (c->size > SPARE_MAX - s->bytes) {
        free(c);
        return;
    }
    if (!s->registered) {
        pthread_once(&spares_once, create_spares_key);
        if (pthread_setspecific(spares_key, s) != 0) {
            free(c);
            return;
        }
        s->registered = true;
    }
    c->next = s->head;
    s->head = c;
    s->bytes += c->size;
}

/* A chunk of at least `n` bytes (and not much more): a spare, or new. */
static reds__chunk *get_chunk(size_t n)
{
    if (n >= SPARE_MIN) {
        for (reds__chunk **p = &spares.head; *p; p = &(*p)->next) {
            reds__chunk *c = *p;
            if (c->size >= n && c->size / 2 <= n) {
                *p = c->next;
                spares.bytes -= c->size;
                return c;
            }
        }
    }
    reds__chunk *c = malloc(sizeof *c + n);
    if (c)
        c->size = n;
    return c;
}

void *reds__arena_alloc_slow(reds__arena *a, size_t n)
{
    size_t size = a->head ? a->head->size * 2 : FIRST_CHUNK;
    if (size > MAX_GROWTH)
        size = MAX_GROWTH;
    /* Big requests get a chunk of their own behind the current one, so the
     * bump region stays usable for the small nodes around them. */
    if (n > size / 2 && a->head) {
        reds__chunk *big = get_chunk(n);
        if (!big)
            return NULL;
        big->next = a->head->next;
        a->head->next = big;
        return big + 1;
    }
    if (size < n)
        size = n;
    reds__chunk *c = get_chunk(size);
    if (!c)
        return NULL;
    c->next = a->head;
    a->head = c;
    a->cur = (char *)(c + 1) + n;
    a->end = (char *)(c + 1) + c->size;
    return c + 1;
}

char *reds__arena_strdup(reds__arena *a, const char *s, size_t len)
{
    char *p = reds__arena_alloc(a, len + 1);
    if (p) {
        if (len)
            memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

void *reds__arena_result(reds__arena *a, size_t size)
{
    reds__owned *h = reds__arena_alloc(a, sizeof *h + size);
    if (!h)
        return NULL;
    memset(h, 0, sizeof *h + size);
    a->result = h;
    return h + 1;
}

static void free_chunks(reds__chunk *c)
{
    while (c) {
        reds__chunk *next = c->next;
        put_chunk(c);
        c = next;
    }
}

void reds__arena_finish(reds__arena *a)
{
    if (a->result) {
        a->result->chunks = a->head;
        a->result = NULL;
        a->head = NULL;
        a->cur = a->end = NULL;
        return;
    }
    reds__chunk *keep = a->head;
    if (!keep)
        return;
    /* Keep the newest (largest) chunk unless it is huge. */
    free_chunks(keep->next);
    keep->next = NULL;
    if (keep->size > KEEP_CHUNK) {
        put_chunk(keep);
        a->head = NULL;
        a->cur = a->end = NULL;
        return;
    }
    a->cur = (char *)(keep + 1);
    a->end = a->cur + keep->size;
}

void reds__arena_clear(reds__arena *a)
{
    free_chunks(a->head);
    a->head = NULL;
    a->cur = a->end = NULL;
    a->result = NULL;
}

void *reds_alloc(size_t size)
{
    if (size > SIZE_MAX - sizeof(reds__chunk) - sizeof(reds__owned))
        return NULL;
    reds__chunk *c = calloc(1, sizeof *c + sizeof(reds__owned) + size);
    if (!c)
        return NULL;
    c->size = sizeof(reds__owned) + size;
    reds__owned *h = (reds__owned *)(c + 1);
    h->chunks = c;
    return h + 1;
}

void reds_free(void *result)
{
    if (!result)
        return;
    reds__owned *h = (reds__owned *)result - 1;
    free_chunks(h->chunks);
}
