/* How much heap the test process uses, for tests of the memory a client
 * holds or grows: glibc's mallinfo2(), or the sanitizer's own count when
 * the test runs under AddressSanitizer or ThreadSanitizer (which replace
 * malloc, so glibc's figures would not move). */
#ifndef REDS_FIXTURE_HEAP_H
#define REDS_FIXTURE_HEAP_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes of heap in use: with glibc, mallinfo2()'s uordblks (chunks in use
 * in every arena) plus hblkhd (chunks of their own mapping: malloc serves
 * requests of 128 KiB and more with mmap, which uordblks does not count).
 * Chunks in glibc's per-thread caches (tcache) count as in use. */
size_t heap_in_use(void);

/* The name of what heap_in_use() reads, for messages. */
const char *heap_source(void);

/* Whether heap_in_use() sees allocations at all: false when another
 * allocator replaced malloc without the means to count (valgrind, whose
 * mallinfo2() answers zeros). Tests then skip what they would measure. */
bool heap_measurable(void);

/* A thread that samples heap_in_use() every millisecond, for the peak of
 * a call that frees what it grew before it returns. */
typedef struct heap_peak heap_peak;
heap_peak *heap_peak_start(void);
/* Stop it: how far the heap grew at most above its size at the start. */
size_t heap_peak_stop(heap_peak *p);

#endif
