/* See fixture_heap.h. */
#include "fixture_heap.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HEAP_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HEAP_SANITIZER 1
#endif
#endif

#ifdef HEAP_SANITIZER
/* <sanitizer/allocator_interface.h>, which GCC 12 does not ship. */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

size_t heap_in_use(void)
{
#ifdef HEAP_SANITIZER
    return __sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
#endif
}

const char *heap_source(void)
{
#ifdef HEAP_SANITIZER
    return "__sanitizer_get_current_allocated_bytes()";
#else
    return "mallinfo2() uordblks + hblkhd";
#endif
}

bool heap_measurable(void)
{
    static int known; /* 0 unknown, 1 yes, -1 no */
    if (!known) {
        size_t before = heap_in_use();
        char *volatile p = malloc(64 * 1024);
        size_t after = heap_in_use();
        if (p)
            p[0] = 1;
        free(p);
        known = after >= before + 64 * 1024 ? 1 : -1;
    }
    return known > 0;
}

struct heap_peak {
    pthread_t thread;
    atomic_bool stop, started;
    size_t base, peak;
};

static void *sample(void *arg)
{
    heap_peak *p = arg;
    p->base = p->peak = heap_in_use();
    atomic_store(&p->started, true);
    while (!atomic_load(&p->stop)) {
        size_t now = heap_in_use();
        if (now > p->peak)
            p->peak = now;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    size_t now = heap_in_use();
    if (now > p->peak)
        p->peak = now;
    return NULL;
}

heap_peak *heap_peak_start(void)
{
    heap_peak *p = calloc(1, sizeof *p);
    if (!p || pthread_create(&p->thread, NULL, sample, p) != 0) {
        fprintf(stderr, "heap_peak_start: cannot start the sampler\n");
        abort();
    }
    while (!atomic_load(&p->started)) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    return p;
}

size_t heap_peak_stop(heap_peak *p)
{
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    size_t grew = p->peak - p->base;
    free(p);
    return grew;
}
