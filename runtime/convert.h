/* Converters and fill helpers (internal). Generated record converters in
 * generated/replies.c are built from the reds__fill_* helpers; every base
 * reply kind of spec/replies.yaml has a reds__conv_<kind> here. */
#ifndef REDS_CONVERT_H
#define REDS_CONVERT_H

#include "internal.h"

/* Fill an embedded value from a reply node; allocations go to the arena. */
reds_err reds__fill_str(const reds_reply *r, reds_str *dst);
reds_err reds__fill_nullable_str(const reds_reply *r, reds_str *dst);
reds_err reds__fill_int(const reds_reply *r, int64_t *dst);
/* An integer or nil (`set` false). */
reds_err reds__fill_nullable_int(const reds_reply *r, reds_opt_i64 *dst);
/* An integer, or a decimal string holding one (CLIENT LIST, INFO...). */
reds_err reds__fill_int_text(const reds_reply *r, int64_t *dst);
reds_err reds__fill_bool(const reds_reply *r, bool *dst);
reds_err reds__fill_u64(const reds_reply *r, uint64_t *dst);
reds_err reds__fill_double(const reds_reply *r, double *dst);
/* A number or nil (`set` false). */
reds_err reds__fill_nullable_double(const reds_reply *r, reds_opt_f64 *dst);
reds_err reds__fill_strlist(const reds_reply *r, reds__arena *a, reds_strlist *dst);
reds_err reds__fill_intlist(const reds_reply *r, reds__arena *a, reds_intlist *dst);
reds_err reds__fill_boollist(const reds_reply *r, reds__arena *a, reds_boollist *dst);
/* Arrays whose elements may be nil (BITFIELD, ZMSCORE). */
reds_err reds__fill_opt_intlist(const reds_reply *r, reds__arena *a, reds_opt_intlist *dst);
reds_err reds__fill_doublelist(const reds_reply *r, reds__arena *a, reds_doublelist *dst);
reds_err reds__fill_map(const reds_reply *r, reds__arena *a, reds_map *dst);
reds_err reds__fill_reply(const reds_reply *r, const reds_reply **dst);
bool reds__parse_double(const char *s, size_t len, double *out);
/* A deep copy of `r` in `a` (its root included), so that a part of one
 * reply (an element of EXEC's array) can become an owned result of its
 * own; NULL (error set) when out of memory. */
reds_reply *reds__reply_clone(const reds_reply *r, reds__arena *a);

/* Base reply kinds. */
reds_err reds__conv_ok(const reds_reply *r, reds__arena *a, void *out);
reds_err reds__conv_ok_or_nil(const reds_reply *r, reds__arena *a, void *out);
reds_err reds__conv_int(const reds_reply *r, reds__arena *a, void *out);
reds_err reds__conv_bool(const reds_reply *r, reds__arena *a, void *out);
reds_err reds__conv_nullable_int(const reds_reply *r, reds__arena *a, void *out);
reds_err reds__conv_double(const reds_reply *r, reds__arena *a, void *out);
reds_err reds__conv_nullable_double(const reds_reply *r, reds__arena *a, void *out);
reds_err reds__conv_string(const reds_reply *r, reds__arena *a, void *out);
reds_err reds__conv_nullable_string(const reds_reply *r, reds__arena *a, void *out);
reds_err reds__conv_strlist(const reds_reply *r, reds__arena *a, void *out);
reds_err reds__conv_nullable_strlist(const reds_reply *r, reds__arena *a, void *out);
reds_err reds__conv_map(const reds_reply *r, reds__arena *a, void *out);
reds_err reds__conv_intlist(const reds_reply *r, reds__arena *a, void *out);
reds_err reds__conv_opt_intlist(const reds_reply *r, reds__arena *a, void *out);
reds_err reds__conv_doublelist(const reds_reply *r, reds__arena *a, void *out);
reds_err reds__conv_reply(const reds_reply *r, reds__arena *a, void *out);

/* Hand-written kinds of the server groups: SCRIPT EXISTS, INFO, ROLE. */
reds_err reds__conv_boollist(const reds_reply *r, reds__arena *a, void *out);
reds_err reds__conv_info(const reds_reply *r, reds__arena *a, void *out);
reds_err reds__conv_role(const reds_reply *r, reds__arena *a, void *out);

#endif
