/*
 * RESP packing straight from typed values, for the generated wrappers.
 *
 * A wrapper first sizes its command (reds__size_*: argument count and an
 * upper bound of the bytes, checking every argument), then writes it in
 * one pass with no bounds checks (reds__put_*). No argv array, no printf.
 */
#ifndef REDS_PACK_H
#define REDS_PACK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* "$<len>\r\n" + "\r\n" around a bulk of up to 20 decimal digits. */
#define REDS__BULK_OVERHEAD 25
/* A bulk holding an int64 or a double, overhead included. */
#define REDS__NUM_BOUND 40
/* No single command may exceed this: the server's limit is far lower, and
 * it keeps every sum below from overflowing. */
#define REDS__MAX_COMMAND ((size_t)1 << 40)

static inline void reds__size_str(reds__size *s, reds_str v, const char *name)
{
    s->argc++;
    if (REDS__UNLIKELY((!v.ptr && v.len) || v.len > REDS__MAX_COMMAND - s->bytes)) {
        if (!s->bad)
            s->bad = name;
        return;
    }
    s->bytes += v.len + REDS__BULK_OVERHEAD;
}

static inline void reds__size_num(reds__size *s)
{
    s->argc++;
    s->bytes += REDS__NUM_BOUND;
}

static inline void reds__size_f64(reds__size *s, double v, const char *name)
{
    if (REDS__UNLIKELY(isnan(v)) && !s->bad)
        s->bad = name;
    reds__size_num(s);
}

static inline void reds__size_lit(reds__size *s, size_t len)
{
    s->argc++;
    s->bytes += len;
}

/* Validate an array argument: a NULL pointer with a count, or a count so
 * large that multiplying it overflows. */
static inline void reds__size_array(reds__size *s, const void *items, size_t n, size_t item_size,
                                    const char *name)
{
    if (REDS__UNLIKELY((!items && n) || n > REDS__MAX_COMMAND / (item_size + 1)) && !s->bad)
        s->bad = name;
}

static inline char *reds__put_lit(char *p, const char *lit, size_t len)
{
    memcpy(p, lit, len);
    return p + len;
}

/* Decimal digits of v, written backwards from `end`; returns the start. */
static inline char *reds__u64_digits(char *end, uint64_t v)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";
    while (v >= 100) {
        unsigned i = (unsigned)(v % 100) * 2;
        v /= 100;
        *--end = pairs[i + 1];
        *--end = pairs[i];
    }
    if (v >= 10) {
        *--end = pairs[v * 2 + 1];
        *--end = pairs[v * 2];
    } else {
        *--end = (char)('0' + v);
    }
    return end;
}

/* Write `prefix<v>\r\n` ('$' for bulk lengths, '*' for the header). */
static inline char *reds__put_len(char *p, char prefix, size_t v)
{
    char tmp[24];
    char *s = reds__u64_digits(tmp + sizeof tmp, v);
    size_t n = (size_t)(tmp + sizeof tmp - s);
    *p++ = prefix;
    memcpy(p, s, n);
    p += n;
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

static inline char *reds__put_str(char *p, reds_str v)
{
    p = reds__put_len(p, '$', v.len);
    if (v.len)
        memcpy(p, v.ptr, v.len);
    p += v.len;
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

static inline char *reds__put_i64(char *p, int64_t v)
{
    char tmp[24];
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char *s = reds__u64_digits(tmp + sizeof tmp, mag);
    if (v < 0)
        *--s = '-';
    size_t n = (size_t)(tmp + sizeof tmp - s);
    *p++ = '$';
    if (n >= 10)
        *p++ = (char)('0' + n / 10);
    *p++ = (char)('0' + n % 10);
    *p++ = '\r';
    *p++ = '\n';
    memcpy(p, s, n);
    p += n;
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

static inline char *reds__put_u64(char *p, uint64_t v)
{
    char tmp[24];
    char *s = reds__u64_digits(tmp + sizeof tmp, v);
    size_t n = (size_t)(tmp + sizeof tmp - s);
    *p++ = '$';
    if (n >= 10)
        *p++ = (char)('0' + n / 10);
    *p++ = (char)('0' + n % 10);
    *p++ = '\r';
    *p++ = '\n';
    memcpy(p, s, n);
    p += n;
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

/* Doubles: integral values as integers, infinities as +inf/-inf (what
 * ZADD and ranges expect), anything else with 17 significant digits so
 * that the server reads back exactly the same double. */
char *reds__put_f64_slow(char *p, double v);

static inline char *reds__put_f64(char *p, double v)
{
    if (v >= -9007199254740992.0 && v <= 9007199254740992.0 && v == (double)(int64_t)v &&
        !(v == 0 && signbit(v)))
        return reds__put_i64(p, (int64_t)v);
    return reds__put_f64_slow(p, v);
}

/* A whole command from an argv (execute_command, handshakes, tools). */
static inline size_t reds__argv_bound(size_t argc, const reds_str *argv)
{
    size_t bound = REDS__BULK_OVERHEAD;
    for (size_t i = 0; i < argc; i++)
        bound += argv[i].len + REDS__BULK_OVERHEAD;
    return bound;
}

static inline char *reds__put_argv(char *p, size_t argc, const reds_str *argv)
{
    p = reds__put_len(p, '*', argc);
    for (size_t i = 0; i < argc; i++)
        p = reds__put_str(p, argv[i]);
    return p;
}

#endif
