/*
 * RESP packing straight from typed values, for the generated wrappers.
 *
 * A wrapper first sizes its command (reds__size_*: argument count and an
 * upper bound of the bytes, checking every argument), then writes it in
 * one pass with no bounds checks (reds__put_*). No argv array, no printf.
 * The functions themselves are the public ones of <reds/extension.h>.
 */
#ifndef REDS_PACK_H
#define REDS_PACK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <reds/extension.h>

#include "internal.h"

/* The packing of reds/extension.h, which add-ons use too, under the names
 * the library's own generated wrappers call it by. */
#define REDS__BULK_OVERHEAD REDS_EXT_BULK_OVERHEAD
#define REDS__NUM_BOUND     REDS_EXT_NUM_BOUND
#define REDS__MAX_COMMAND   REDS_EXT_MAX_COMMAND
#define reds__size_str      reds_ext_size_str
#define reds__size_num      reds_ext_size_num
#define reds__size_f64      reds_ext_size_f64
#define reds__size_lit      reds_ext_size_lit
#define reds__size_array    reds_ext_size_array
#define reds__put_lit       reds_ext_put_lit
#define reds__put_str       reds_ext_put_str
#define reds__put_i64       reds_ext_put_i64
#define reds__put_u64       reds_ext_put_u64
#define reds__put_f64       reds_ext_put_f64
#define reds__put_f64_slow  reds_ext_put_f64_slow

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
