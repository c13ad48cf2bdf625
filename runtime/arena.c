/* The reply arena (see internal.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Chunk sizes. malloc() rounds what it is asked for, plus its own 8-byte
 * header, up to 16 bytes (glibc), so a chunk asks for 16g - 8 bytes
 * (g grains) and its payload, after our 16-byte header, is 16g - 24:
 * nothing is lost to rounding.
 *
 * Every reply starts in a SMALL chunk. A reply that becomes an owned
 * result keeps the chunks it was parsed into for as long as its caller
 * holds it, and they can be neither shrunk nor moved (the result points
 * into them; glibc's realloc() shrinks in place, but nothing promises it
 * and ASan's always moves). GET of a value of up to 31 bytes fits its
 * node, its bytes and the owned reds_str in SMALL: a held 16-byte GET
 * costs a 128-byte block, where the 1 KiB first chunk of old cost 1040.
 * The first allocation that does not fit a reply's small chunk gets a
 * chunk of its own, of its size (GET's value, an array's elements), and
 * the small chunk stays the bump region (the result's header goes there):
 * GET of 32 bytes to 1 KiB costs ~160 bytes beyond its value (was: the
 * 1040 of the first chunk), for ~110 more instructions (two chunks to
 * take and give back). After that, chunks double (232, 488, 1000, 2024...
 * bytes, up to MAX_GROWTH). HGETALL of 10 fields: 3088 -> 1729 bytes;
 * LRANGE of 100: 11183 -> 7584. */
#define GRAIN        16
#define CHUNK_FOR(n) (((n) + sizeof(reds__chunk) + 8 + GRAIN - 1) / GRAIN) /* in grains */
#define PAYLOAD(g)   ((g)*GRAIN - sizeof(reds__chunk) - 8)
#define SMALL        PAYLOAD(8) /* 104 bytes: a 128-byte block */
#define MAX_GROWTH   (1024 * 1024)
_Static_assert(SMALL == REDS__ARENA_SMALL, "internal.h knows the small chunk's size");

/* Big chunks are recycled per thread. Giving a large reply's ~1 MiB back
 * to malloc lets glibc trim its heap, and the next large reply faults
 * every page in again (LRANGE 10k: ~140 page faults, dearer than parsing
 * it). So a freed chunk of SPARE_MIN bytes or more waits on its thread's
 * list, up to SPARE_MAX bytes in all, for the next arena that wants one;
 * the lists are released when the thread exits. */
#define SPARE_MIN (64 * 1024)
#define SPARE_MAX (2 * 1024 * 1024)

/* Small chunks (blocks of up to 1 KiB) are kept too, on one list per
 * size in grains, up to SMALL_MAX bytes in all. A pipeline hands a chunk
 * to each owned result and its caller holds them all (50 per batch of 50
 * SET+GET), where glibc's per-thread cache keeps 7 of a size: beyond that
 * malloc and free took their slow path, ~380 instructions per result
 * (pipelined SET+GET: 1028 -> 884 instructions a command). Sequential
 * calls gain too (1320 -> 1263): a list is cheaper than glibc's cache.
 * (Lists per size rather than one for a single 1 KiB size: 884 -> 889 and
 * 1264 -> 1269.) */
#define SMALL_GRAINS (1024 / GRAIN)
#define SMALL_MAX    (128 * 1024)

static _Thread_local struct spares {
    reds__chunk *head; /* big chunks */
    size_t bytes;
    size_t small_bytes;
    bool registered;                      /* with the thread-exit destructor */
    reds__chunk *small[SMALL_GRAINS + 1]; /* [g]: chunks of PAYLOAD(g) bytes */
} spares;
static pthread_key_t spares_key;
static pthread_once_t spares_once = PTHREAD_ONCE_INIT;

static void free_list(reds__chunk *c)
{
    while (c) {
        reds__chunk *next = c->next;
        free(c);
        c = next;
    }
}

static void release_spares(void *list)
{
    struct spares *s = list;
    free_list(s->head);
    s->head = NULL;
    for (size_t g = 0; g <= SMALL_GRAINS; g++) {
        free_list(s->small[g]);
        s->small[g] = NULL;
    }
    s->bytes = 0;
    s->small_bytes = 0;
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

/* Every chunk of up to PAYLOAD(SMALL_GRAINS) bytes has the size of its
 * list, PAYLOAD(g): get_chunk() and reds_alloc() round them up. */
static void put_chunk(reds__chunk *c)
{
    struct spares *s = &spares;
    size_t size = c->size;
    if (size <= PAYLOAD(SMALL_GRAINS)) {
        if (size <= SMALL_MAX - s->small_bytes && register_spares(s)) {
            size_t g = CHUNK_FOR(size);
            c->next = s->small[g];
            s->small[g] = c;
            s->small_bytes += size;
            return;
        }
    } else if (size >= SPARE_MIN && size <= SPARE_MAX - s->bytes && register_spares(s)) {
        c->next = s->head;
        s->head = c;
        s->bytes += size;
        return;
    }
    free(c);
}

/* A chunk of at least `n` bytes (and not much more): a spare, or new. */
static reds__chunk *get_chunk(size_t n)
{
    if (n <= PAYLOAD(SMALL_GRAINS)) {
        size_t g = CHUNK_FOR(n);
        reds__chunk *c = spares.small[g];
        if (c) {
            spares.small[g] = c->next;
            spares.small_bytes -= PAYLOAD(g);
            return c;
        }
        n = PAYLOAD(g);
    } else if (n >= SPARE_MIN) {
        for (reds__chunk **p = &spares.head; *p; p = &(*p)->next) {
            reds__chunk *c = *p;
            if (c->size >= n && c->size / 2 <= n) {
                *p = c->next;
                spares.bytes -= c->size;
                return c;
            }
        }
    }
    if (n > SIZE_MAX - sizeof(reds__chunk))
        return NULL;
    reds__chunk *c = malloc(sizeof *c + n);
    if (c)
        c->size = n;
    return c;
}

void *reds__arena_alloc_slow(reds__arena *a, size_t n)
{
    reds__chunk *head = a->head;
    size_t size = SMALL;
    if (head) {
        /* The next size up: a block twice the head's. */
        size = head->size < MAX_GROWTH / 2 ? 2 * head->size + sizeof(reds__chunk) + 8 : MAX_GROWTH;
        /* Big requests, and the first one that overflows a reply's small
         * chunk, get a chunk of their own behind the current one, so the
         * bump region stays usable for the small nodes around them. */
        if (n > size / 2 || (head->size == SMALL && !head->next)) {
            reds__chunk *own = get_chunk(n);
            if (!own)
                return NULL;
            own->next = head->next;
            head->next = own;
            return own + 1;
        }
    }
    if (size < n)
        size = n;
    reds__chunk *c = get_chunk(size);
    if (!c)
        return NULL;
    c->next = head;
    a->head = c;
    a->cur = (char *)(c + 1) + n;
    a->end = (char *)(c + 1) + c->size;
    return c + 1;
}

void reds__arena_expect_slow(reds__arena *a, size_t n)
{
    /* Only before a reply's first allocation: the arena is empty, or holds
     * the small chunk a reset kept, unused. */
    reds__chunk *head = a->head;
    if (head && (head->next || a->cur != (char *)(head + 1)))
        return;
    reds__chunk *c = get_chunk((n + 7) & ~(size_t)7);
    if (!c)
        return; /* the allocations that follow will fail, or fit */
    if (head)
        put_chunk(head);
    c->next = NULL;
    a->head = c;
    a->cur = (char *)(c + 1);
    a->end = a->cur + c->size;
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
    /* Keep the reply's small first chunk (the last of the list) for the
     * next one: a scalar reply costs no malloc. The others go back; an
     * arena holds no more than SMALL bytes between replies, so that
     * whatever the next reply makes an owned result of starts small. */
    reds__chunk *keep = a->head;
    if (!keep)
        return;
    if (REDS__UNLIKELY(keep->next || keep->size != SMALL)) {
        reds__chunk *c = keep;
        keep = NULL;
        while (c) {
            reds__chunk *next = c->next;
            if (!next && c->size == SMALL)
                keep = c;
            else
                put_chunk(c);
            c = next;
        }
        a->head = keep;
        if (!keep) {
            a->cur = a->end = NULL;
            return;
        }
        keep->next = NULL;
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
    size_t n = sizeof(reds__owned) + size;
    if (n <= PAYLOAD(SMALL_GRAINS))
        n = PAYLOAD(CHUNK_FOR(n)); /* what malloc gives anyway: see put_chunk() */
    reds__chunk *c = calloc(1, sizeof *c + n);
    if (!c)
        return NULL;
    c->size = n;
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
