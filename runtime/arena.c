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
#define KEEP_CHUNK  (64 * 1024)
#define MAX_GROWTH  (1024 * 1024)

/* Big chunks are recycled per thread. Giving a large reply's ~1 MiB back
 * to malloc lets glibc trim its heap, and the next large reply faults
 * every page in again (LRANGE 10k: ~140 page faults, dearer than parsing
 * it). So a freed chunk of SPARE_MIN bytes or more waits on its thread's
 * list, up to SPARE_MAX bytes in all, for the next arena that wants one;
 * the list is released when the thread exits. Other small chunks go
 * straight back to malloc; those of the first size are kept (below). */
#define SPARE_MIN (64 * 1024)
#define SPARE_MAX (2 * 1024 * 1024)

/* Chunks of the first size (what a small owned result takes) are kept
 * too, up to SMALL_KEEP of them. A pipeline hands one to each owned
 * result and its caller holds them all (50 per batch of 50 SET+GET),
 * where glibc's per-thread cache keeps 7: beyond that malloc and free
 * took their slow path, ~380 instructions per result (pipelined SET+GET:
 * 1028 -> 884 instructions a command). Sequential calls gain too (1320 ->
 * 1263): the list is cheaper than glibc's cache. */
#define SMALL_KEEP 128

static _Thread_local struct spares {
    reds__chunk *head;
    size_t bytes;
    reds__chunk *small; /* chunks of FIRST_CHUNK bytes */
    size_t nsmall;
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
    while (s->small) {
        reds__chunk *next = s->small->next;
        free(s->small);
        s->small = next;
    }
    s->bytes = 0;
    s->nsmall = 0;
    s->registered = false;
}

static void create_spares_key(void)
{
    pthread_key_create(&spares_key, release_spares);
}

static bool register_spares(struct spares *s)
{
    if (REDS__LIKELY(s->registered))
        return true;
    pthread_once(&spares_once, create_spares_key);
    if (pthread_setspecific(spares_key, s) != 0)
        return false;
    s->registered = true;
    return true;
}

static void put_chunk(reds__chunk *c)
{
    struct spares *s = &spares;
    if (c->size < SPARE_MIN) {
        if (c->size == FIRST_CHUNK && s->nsmall < SMALL_KEEP && register_spares(s)) {
            c->next = s->small;
            s->small = c;
            s->nsmall++;
            return;
        }
        free(c);
        return;
    }
    if (c->size > SPARE_MAX - s->bytes || !register_spares(s)) {
        free(c);
        return;
    }
    c->next = s->head;
    s->head = c;
    s->bytes += c->size;
}

/* A chunk of at least `n` bytes (and not much more): a spare, or new. */
static reds__chunk *get_chunk(size_t n)
{
    if (n == FIRST_CHUNK && spares.small) {
        reds__chunk *c = spares.small;
        spares.small = c->next;
        spares.nsmall--;
        return c;
    }
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

void *reds__alloc_secret(size_t size)
{
    void *p = reds_alloc(size);
    if (p)
        ((reds__owned *)p - 1)->flags = REDS__OWNED_WIPE;
    return p;
}

void reds_free(void *result)
{
    if (!result)
        return;
    reds__owned *h = (reds__owned *)result - 1;
    /* Only reds_alloc() blocks are marked: one chunk, the header first. */
    if (REDS__UNLIKELY(h->flags & REDS__OWNED_WIPE))
        explicit_bzero(h + 1, h->chunks->size - sizeof *h);
    free_chunks(h->chunks);
}
