/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/**
 * @file extension.h
 * reds: the extension API, for command bindings outside the library.
 *
 * An application binds commands the library does not have (a module's
 * JSON.GET or FT.SEARCH, a server command newer than the library's
 * catalogue) from YAML of its own, in the catalogue's schema:
 *
 *     python3 codegen/generate.py --addon --prefix myapp \
 *         --spec myapp/spec --out myapp/generated
 *
 * writes myapp_commands.h and myapp_commands.c: functions such as
 * myapp_json_get() that work on every reds_client (pooled, dedicated,
 * pipeline, Cluster, Sentinel, ring) exactly as the library's own. That
 * code needs only this header and the library; the library's own
 * generated wrappers are built on the same entry points.
 *
 * A wrapper sizes its command first (reds_ext_size_*: the number of
 * arguments and an upper bound of the bytes, checking each argument),
 * then reds_ext_begin() gives it the buffer to write into with
 * reds_ext_put_*, and reds_ext_run() sends it and converts the reply:
 *
 *     reds_err myapp_json_get(reds_client *c, reds_str key, reds_str *out)
 *     {
 *         reds_ext_size sz = {0, 0, NULL};
 *         reds_ext_cmd cmd;
 *         char *p;
 *         reds_ext_size_lit(&sz, 14);               // "$8\r\nJSON.GET\r\n"
 *         reds_ext_size_str(&sz, key, "key");
 *         p = reds_ext_begin(c, &cmd, &myapp_catalog[MYAPP_CMD_JSON_GET], &sz);
 *         if (!p)
 *             return reds_ext_last_error();
 *         p = reds_ext_put_lit(p, "$8\r\nJSON.GET\r\n", 14);
 *         p = reds_ext_put_str(p, key);
 *         return reds_ext_run(c, &cmd, p, reds_kind_nullable_string, out);
 *     }
 *
 * The command's table entry (a reds_catalog_entry the add-on owns: name,
 * arity, flags, key specs, tips) is what routers read: a Cluster client
 * finds the keys' slot from its key specs, a replica may serve a
 * `readonly` command, a pooled client refuses a connection-scoped one.
 * It must outlive every command that uses it (static data, as generated).
 *
 * Stability: everything here is part of the library's ABI and only grows.
 * The sizing and packing functions are inline and write RESP, the wire
 * protocol itself, so what an add-on compiled against one version packs
 * stays right for every later one. The out-of-line entry points keep
 * their signatures; reds_ext_cmd's size is fixed, its fields are private
 * (an add-on declares one and passes it, never reads it) and its reserved
 * words let the runtime grow without breaking compiled add-ons. The
 * converters are named after the reply kinds of spec/replies.yaml
 * (reds_kind_int, reds_kind_strlist, ...: <reds/reply_kinds.h>), and kinds
 * are only added, never renamed.
 */
#ifndef REDS_EXTENSION_H
#define REDS_EXTENSION_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <reds/catalog.h>
#include <reds/client.h>
#include <reds/types.h>

#ifdef __cplusplus
extern "C" {
#endif
REDS_API_BEGIN

#if defined(__GNUC__)
#define REDS__LIKELY(x)   __builtin_expect(!!(x), 1)
#define REDS__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define REDS__LIKELY(x)   (x)
#define REDS__UNLIKELY(x) (x)
#endif

/** Where converters allocate owned results (private to the library). */
struct reds_arena;

/** A reply converter: fill `out`, whose type the reply kind names, from
 *  `reply`. The library's are the reds_kind_* of <reds/reply_kinds.h>. */
typedef reds_err (*reds_ext_converter)(const reds_reply *reply, struct reds_arena *arena,
                                       void *out);

/** "$<len>\r\n" and "\r\n" around a bulk of up to 20 decimal digits. */
#define REDS_EXT_BULK_OVERHEAD 25
/** The most bytes an integer or a double takes as a bulk, overhead included. */
#define REDS_EXT_NUM_BOUND 40
/** No command may exceed this: the server's own limit is far lower, and it
 *  keeps every sum of sizes from overflowing. */
#define REDS_EXT_MAX_COMMAND ((size_t)1 << 40)

/** The running total while sizing a command, before anything is written.
 *  Start from {0, 0, NULL}. */
typedef struct reds_ext_size {
    size_t argc;     /**< arguments, the command's name included */
    size_t bytes;    /**< an upper bound of the bytes they take */
    const char *bad; /**< the name of the first invalid argument, or NULL */
} reds_ext_size;

/** A command being packed, on the caller's stack: pass it to
 *  reds_ext_begin() and then reds_ext_run(). Its fields are the library's
 *  (never read or written by an add-on); its size is part of the ABI. */
typedef struct reds_ext_cmd {
    char *buf;
    size_t len;
    /* The command: an index into the library's table, or the address of
     * an add-on's reds_catalog_entry. */
    uintptr_t id;
    reds_ext_converter conv;
    void *out;
    void *reserved[2];
    char inline_buf[256];
} reds_ext_cmd;

/* ------------------------------------------------------------------ sizing */

/** Count a bulk string argument. A NULL `ptr` with a length, or a string
 *  that cannot fit, makes `name` the bad argument. */
static inline void reds_ext_size_str(reds_ext_size *s, reds_str v, const char *name)
{
    s->argc++;
    if (REDS__UNLIKELY((!v.ptr && v.len) || v.len > REDS_EXT_MAX_COMMAND - s->bytes)) {
        if (!s->bad)
            s->bad = name;
        return;
    }
    s->bytes += v.len + REDS_EXT_BULK_OVERHEAD;
}

/** Count an integer argument. */
static inline void reds_ext_size_num(reds_ext_size *s)
{
    s->argc++;
    s->bytes += REDS_EXT_NUM_BOUND;
}

/** Count a double argument; NaN makes `name` the bad argument. */
static inline void reds_ext_size_f64(reds_ext_size *s, double v, const char *name)
{
    if (REDS__UNLIKELY(isnan(v)) && !s->bad)
        s->bad = name;
    reds_ext_size_num(s);
}

/** Count a token already encoded as one RESP bulk of `len` bytes
 *  ("$6\r\nFIELDS\r\n" is 12). */
static inline void reds_ext_size_lit(reds_ext_size *s, size_t len)
{
    s->argc++;
    s->bytes += len;
}

/** Check an array argument before sizing its items: a NULL pointer with a
 *  count, or a count too large to multiply, makes `name` the bad one. */
static inline void reds_ext_size_array(reds_ext_size *s, const void *items, size_t n,
                                       size_t item_size, const char *name)
{
    if (REDS__UNLIKELY((!items && n) || n > REDS_EXT_MAX_COMMAND / (item_size + 1)) && !s->bad)
        s->bad = name;
}

/* ----------------------------------------------------------------- packing */

/* Private helpers of the packing functions. */

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

/* One bulk of the n digits at s. */
static inline char *reds__put_digits(char *p, const char *s, size_t n)
{
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

/** Write `len` bytes already encoded as RESP (a token's bulk); returns
 *  the end. Every reds_ext_put_* writes at `p` and returns the end. */
static inline char *reds_ext_put_lit(char *p, const char *lit, size_t len)
{
    memcpy(p, lit, len);
    return p + len;
}

/** Write a bulk string. */
static inline char *reds_ext_put_str(char *p, reds_str v)
{
    p = reds__put_len(p, '$', v.len);
    if (v.len)
        memcpy(p, v.ptr, v.len);
    p += v.len;
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

/** Write an integer as a bulk of its decimal digits. */
static inline char *reds_ext_put_i64(char *p, int64_t v)
{
    char tmp[24];
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char *s = reds__u64_digits(tmp + sizeof tmp, mag);
    if (v < 0)
        *--s = '-';
    return reds__put_digits(p, s, (size_t)(tmp + sizeof tmp - s));
}

/** Write an unsigned 64-bit integer (a scan cursor). */
static inline char *reds_ext_put_u64(char *p, uint64_t v)
{
    char tmp[24];
    char *s = reds__u64_digits(tmp + sizeof tmp, v);
    return reds__put_digits(p, s, (size_t)(tmp + sizeof tmp - s));
}

/** reds_ext_put_f64() for values that are not integers. */
char *reds_ext_put_f64_slow(char *p, double v);

/** Write a double: integral values as integers, infinities as +inf and
 *  -inf, anything else in the fewest digits the server reads back as
 *  exactly the same double. */
static inline char *reds_ext_put_f64(char *p, double v)
{
    if (v >= -9007199254740992.0 && v <= 9007199254740992.0 && v == (double)(int64_t)v &&
        !(v == 0 && signbit(v)))
        return reds_ext_put_i64(p, (int64_t)v);
    return reds_ext_put_f64_slow(p, v);
}

/* --------------------------------------------------------------- running */

/** Start the command `entry` describes, of the arguments `size` counted:
 *  returns where to write them (the command's name first), or NULL after
 *  recording the error (a NULL client, an invalid argument: nothing is
 *  sent). `entry` must outlive the command, and hold at least its name. */
char *reds_ext_begin(reds_client *c, reds_ext_cmd *cmd, const reds_catalog_entry *entry,
                     const reds_ext_size *size);

/** Send the command packed up to `end` (or queue it, on a pipeline), and
 *  convert its reply into `out` with `conv` (NULL `out` discards it). As
 *  every command function: REDS_OK or an error code, message in
 *  reds_errmsg(). */
reds_err reds_ext_run(reds_client *c, reds_ext_cmd *cmd, char *end, reds_ext_converter conv,
                      void *out);

/** The code of the last error recorded on this thread (REDS_ERR when the
 *  code is unknown): what to return when reds_ext_begin() gave NULL. */
reds_err reds_ext_last_error(void);

REDS_API_END
#ifdef __cplusplus
}
#endif

#include <reds/reply_kinds.h>

#endif
