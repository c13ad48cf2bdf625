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
/* An integer, or a decimal string holding one (CLIENT LIST, INFO...). */
reds_err reds__fill_int_text(const reds_reply *r, int64_t *dst);
reds_err reds__fill_bool(const reds_reply *r, bool *dst);
reds_err reds__fill_u64(const reds_reply *r, uint64_t *dst);
reds_err reds__fill_double(const reds_reply *r, double *dst);
reds_err reds__fill_strlist(const reds_reply *r, reds__arena *a, reds_strlist *dst);
reds_err reds__fill_intlist(const reds_reply *r, reds__arena *a, reds_intlist *dst);
reds_err reds__fill_map(const reds_reply *r, reds__arena *a, reds_map *dst);
reds_err reds__fill_reply(const reds_reply *r, const reds_reply **dst);
bool reds__parse_double(const char *s, size_t len, double *out);

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
reds_err reds__conv_reply(const reds_reply *r, reds__arena *a, void *out);

#endif
