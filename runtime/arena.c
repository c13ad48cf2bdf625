/* The reply arena (see internal.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* First chunk size, and the size up to which a reset keeps a chunk. */
#define FIRST_CHUNK 1024
#define KEEP_CHUNK (64 * 1024)
#define MAX_GROWTH (1024 * 1024)

void *reds__arena_alloc_slow(reds__arena *a, size_t n)
{
    size_t size = a->head ? a->head->size * 2 : FIRST_CHUNK;
    if (size > MAX_GROWTH)
        size = MAX_GROWTH;
    /* Big requests get a chunk of their own behind the current one, so the
     * bump region stays usable for the small nodes around them. */
    if (n > size / 2 && a->head) {
        reds__chunk *big = malloc(sizeof *big + n);
        if (!big)
            return NULL;
        big->size = n;
        big->next = a->head->next;
        a->head->next = big;
        return big + 1;
    }
    if (size < n)
        size = n;
    reds__chunk *c = malloc(sizeof *c + size);
    if (!c)
        return NULL;
    c->size = size;
    c->next = a->head;
    a->head = c;
    a->cur = (char *)(c + 1) + n;
    a->end = (char *)(c + 1) + size;
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
        free(c);
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
        free(keep);
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
