/* Reply converters for the base reply kinds of spec/replies.yaml, and the
 * fill helpers that generated record converters are made of. A converter
 * views the reply in the arena: strings are not copied again. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "pack.h"

static const char *type_name(const reds_reply *r)
{
    static const char *names[] = {"?",   "a bulk string", "an array", "an integer",
                                  "nil", "a status",      "an error"};
    return r && r->type >= 1 && r->type <= 6 ? names[r->type] : "nothing";
}

reds_err reds__bad_reply(const reds_reply *r, const char *expected)
{
    return reds__error(REDS_ERR_INVALID_RESPONSE, "expected %s reply, got %s", expected,
                       type_name(r));
}

static reds_err nomem(void)
{
    return reds__error(REDS_ERR_NOMEM, "out of memory");
}

/* ------------------------------------------------------------ fill helpers */

reds_err reds__fill_str(const reds_reply *r, reds_str *dst)
{
    if (r->type != REDS_REPLY_STRING && r->type != REDS_REPLY_STATUS)
        return reds__bad_reply(r, "a string");
    dst->ptr = r->str;
    dst->len = r->len;
    return REDS_OK;
}

reds_err reds__fill_nullable_str(const reds_reply *r, reds_str *dst)
{
    if (r->type == REDS_REPLY_NIL) {
        dst->ptr = NULL;
        dst->len = 0;
        return REDS_OK;
    }
    return reds__fill_str(r, dst);
}

reds_err reds__fill_int(const reds_reply *r, int64_t *dst)
{
    if (r->type != REDS_REPLY_INTEGER)
        return reds__bad_reply(r, "an integer");
    *dst = r->integer;
    return REDS_OK;
}

reds_err reds__fill_nullable_int(const reds_reply *r, reds_opt_i64 *dst)
{
    dst->set = r->type != REDS_REPLY_NIL;
    dst->value = 0;
    return dst->set ? reds__fill_int(r, &dst->value) : REDS_OK;
}

reds_err reds__fill_bool(const reds_reply *r, bool *dst)
{
    if (r->type != REDS_REPLY_INTEGER || (r->integer != 0 && r->integer != 1))
        return r->type == REDS_REPLY_INTEGER
                   ? reds__error(REDS_ERR_INVALID_RESPONSE, "expected 0 or 1, got %lld",
                                 (long long)r->integer)
                   : reds__bad_reply(r, "an integer 0 or 1");
    *dst = r->integer == 1;
    return REDS_OK;
}

/* Parse a whole decimal integer; no sign for unsigned. */
static bool parse_i64(const char *s, size_t len, int64_t *out)
{
    if (!len || len > 20)
        return false;
    char buf[24], *end;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end || end == buf)
        return false;
    *out = v;
    return true;
}

reds_err reds__fill_int_text(const reds_reply *r, int64_t *dst)
{
    if (r->type == REDS_REPLY_INTEGER) {
        *dst = r->integer;
        return REDS_OK;
    }
    if ((r->type == REDS_REPLY_STRING || r->type == REDS_REPLY_STATUS) &&
        parse_i64(r->str, r->len, dst))
        return REDS_OK;
    return reds__bad_reply(r, "an integer or a decimal string");
}

reds_err reds__fill_u64(const reds_reply *r, uint64_t *dst)
{
    if (r->type == REDS_REPLY_STRING && r->len && r->len <= 20) {
        uint64_t v = 0;
        size_t i;
        for (i = 0; i < r->len && r->str[i] >= '0' && r->str[i] <= '9'; i++) {
            uint64_t d = (uint64_t)(r->str[i] - '0');
            if (v > (UINT64_MAX - d) / 10)
                break;
            v = v * 10 + d;
        }
        if (i == r->len) {
            *dst = v;
            return REDS_OK;
        }
    }
    return reds__bad_reply(r, "an unsigned decimal string");
}

/* Doubles are read in the C locale whatever the program gave setlocale():
 * under de_DE, strtod() stops at the '.' of "1.5". The C locale object is
 * made once, so a parse costs what strtod() does, without a uselocale()
 * pair per call. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    /* glibc and musl answer "C" with their built-in object, so this does
     * not fail in practice; strtod() stays the fallback if it ever does. */
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static double strtod_c(const char *s, char **end)
{
    pthread_once(&c_locale_once, make_c_locale);
    return c_locale ? strtod_l(s, end, c_locale) : strtod(s, end);
}

bool reds__parse_double(const char *s, size_t len, double *out)
{
    if (!len || len > 400)
        return false;
    char buf[512], *end;
    memcpy(buf, s, len);
    buf[len] = '\0';
    /* The server writes infinities as inf/-inf (and +inf); strtod knows. */
    errno = 0;
    double v = strtod_c(buf, &end);
    if (*end || end == buf || (errno == ERANGE && !isinf(v)))
        return false;
    *out = v;
    return true;
}

reds_err reds__fill_double(const reds_reply *r, double *dst)
{
    if (r->type == REDS_REPLY_INTEGER) {
        *dst = (double)r->integer;
        return REDS_OK;
    }
    if ((r->type == REDS_REPLY_STRING || r->type == REDS_REPLY_STATUS) &&
        reds__parse_double(r->str, r->len, dst))
        return REDS_OK;
    return reds__bad_reply(r, "a double");
}

reds_err reds__fill_nullable_double(const reds_reply *r, reds_opt_f64 *dst)
{
    dst->set = r->type != REDS_REPLY_NIL;
    dst->value = 0;
    return dst->set ? reds__fill_double(r, &dst->value) : REDS_OK;
}

reds_err reds__fill_strlist(const reds_reply *r, reds__arena *a, reds_strlist *dst)
{
    if (r->type != REDS_REPLY_ARRAY)
        return reds__bad_reply(r, "an array of strings");
    dst->count = r->len;
    dst->items = NULL;
    if (!r->len)
        return REDS_OK;
    dst->items = reds__arena_alloc(a, r->len * sizeof *dst->items);
    if (!dst->items)
        return nomem();
    /* reds__fill_nullable_str(), inlined by hand: this is the per-element
     * loop of LRANGE, SMEMBERS, KEYS... */
    for (size_t i = 0; i < r->len; i++) {
        const reds_reply *e = &r->element[i];
        if (REDS__LIKELY(e->type == REDS_REPLY_STRING || e->type == REDS_REPLY_STATUS)) {
            dst->items[i].ptr = e->str;
            dst->items[i].len = e->len;
        } else if (e->type == REDS_REPLY_NIL) {
            dst->items[i].ptr = NULL;
            dst->items[i].len = 0;
        } else {
            return reds__bad_reply(e, "a string");
        }
    }
    return REDS_OK;
}

/* A list filled element by element: `fill(element, &item)`. The strings
 * list above is the hot one and stays hand-written. */
#define LIST_FILLER(name, T, fill, expected)                                                       \
    reds_err reds__fill_##name(const reds_reply *r, reds__arena *a, T *dst)                        \
    {                                                                                              \
        if (r->type != REDS_REPLY_ARRAY)                                                           \
            return reds__bad_reply(r, expected);                                                   \
        dst->count = r->len;                                                                       \
        dst->items = r->len ? reds__arena_alloc(a, r->len * sizeof *dst->items) : NULL;            \
        if (r->len && !dst->items)                                                                 \
            return nomem();                                                                        \
        for (size_t i = 0; i < r->len; i++) {                                                      \
            reds_err err = fill(&r->element[i], &dst->items[i]);                                   \
            if (err)                                                                               \
                return err;                                                                        \
        }                                                                                          \
        return REDS_OK;                                                                            \
    }

LIST_FILLER(intlist, reds_intlist, reds__fill_int, "an array of integers")
LIST_FILLER(opt_intlist, reds_opt_intlist, reds__fill_nullable_int, "an array of integers or nils")
LIST_FILLER(doublelist, reds_doublelist, reds__fill_nullable_double, "an array of numbers or nils")
LIST_FILLER(boollist, reds_boollist, reds__fill_bool, "an array of 0 and 1")

reds_err reds__fill_map(const reds_reply *r, reds__arena *a, reds_map *dst)
{
    if (r->type != REDS_REPLY_ARRAY || r->len % 2)
        return r->type == REDS_REPLY_ARRAY
                   ? reds__error(REDS_ERR_INVALID_RESPONSE,
                                 "expected field/value pairs, got %zu elements", r->len)
                   : reds__bad_reply(r, "an array of field/value pairs");
    dst->count = r->len / 2;
    dst->items = NULL;
    if (!r->len)
        return REDS_OK;
    dst->items = reds__arena_alloc(a, dst->count * sizeof *dst->items);
    if (!dst->items)
        return nomem();
    for (size_t i = 0; i < dst->count; i++) {
        reds_err err = reds__fill_str(&r->element[2 * i], &dst->items[i].key);
        if (!err)
            err = reds__fill_nullable_str(&r->element[2 * i + 1], &dst->items[i].value);
        if (err)
            return err;
    }
    return REDS_OK;
}

reds_err reds__fill_reply(const reds_reply *r, const reds_reply **dst)
{
    *dst = r;
    return REDS_OK;
}

/* Deep copy of one node into `a`; recursion is bounded by the reader's
 * nesting limit. */
static bool clone_into(reds_reply *dst, const reds_reply *src, reds__arena *a)
{
    *dst = *src;
    if (src->str && !(dst->str = reds__arena_strdup(a, src->str, src->len)))
        return false;
    if (src->type == REDS_REPLY_ARRAY && src->len) {
        reds_reply *e = reds__arena_alloc(a, src->len * sizeof *e);
        if (!e)
            return false;
        dst->element = e;
        for (size_t i = 0; i < src->len; i++)
            if (!clone_into(&e[i], &src->element[i], a))
                return false;
    }
    return true;
}

reds_reply *reds__reply_clone(const reds_reply *r, reds__arena *a)
{
    reds_reply *root = reds__arena_alloc(a, sizeof *root);
    if (!root || !clone_into(root, r, a)) {
        nomem();
        return NULL;
    }
    return root;
}

/* ---------------------------------------------------- top-level converters */

/* An owned result of `size` bytes filled by `fill`; nil gives NULL when
 * `nullable`, InvalidResponse otherwise. */
#define OWNED(kind, T, nullable, fill_call)                                                        \
    reds_err reds__conv_##kind(const reds_reply *r, reds__arena *a, void *out)                     \
    {                                                                                              \
        if (r->type == REDS_REPLY_NIL && (nullable)) {                                             \
            *(T **)out = NULL;                                                                     \
            return REDS_OK;                                                                        \
        }                                                                                          \
        T *v = reds__arena_result(a, sizeof *v);                                                   \
        if (!v)                                                                                    \
            return nomem();                                                                        \
        reds_err err = fill_call;                                                                  \
        if (err)                                                                                   \
            return err;                                                                            \
        *(T **)out = v;                                                                            \
        return REDS_OK;                                                                            \
    }

OWNED(string, reds_str, false, reds__fill_str(r, v))
OWNED(nullable_string, reds_str, true, reds__fill_str(r, v))
OWNED(strlist, reds_strlist, false, reds__fill_strlist(r, a, v))
OWNED(nullable_strlist, reds_strlist, true, reds__fill_strlist(r, a, v))
OWNED(map, reds_map, false, reds__fill_map(r, a, v))
OWNED(intlist, reds_intlist, false, reds__fill_intlist(r, a, v))
OWNED(opt_intlist, reds_opt_intlist, false, reds__fill_opt_intlist(r, a, v))
OWNED(doublelist, reds_doublelist, false, reds__fill_doublelist(r, a, v))

reds_err reds__conv_reply(const reds_reply *r, reds__arena *a, void *out)
{
    reds_reply *root = reds__arena_result(a, sizeof *root);
    if (!root)
        return nomem();
    *root = *r;
    *(reds_reply **)out = root;
    return REDS_OK;
}

reds_err reds__conv_ok(const reds_reply *r, reds__arena *a, void *out)
{
    (void)a;
    (void)out;
    return r->type == REDS_REPLY_STATUS ? REDS_OK : reds__bad_reply(r, "a status");
}

reds_err reds__conv_ok_or_nil(const reds_reply *r, reds__arena *a, void *out)
{
    (void)a;
    if (r->type != REDS_REPLY_STATUS && r->type != REDS_REPLY_NIL)
        return reds__bad_reply(r, "OK or nil");
    *(bool *)out = r->type == REDS_REPLY_STATUS;
    return REDS_OK;
}

reds_err reds__conv_int(const reds_reply *r, reds__arena *a, void *out)
{
    (void)a;
    return reds__fill_int(r, out);
}

reds_err reds__conv_bool(const reds_reply *r, reds__arena *a, void *out)
{
    (void)a;
    return reds__fill_bool(r, out);
}

reds_err reds__conv_nullable_int(const reds_reply *r, reds__arena *a, void *out)
{
    (void)a;
    return reds__fill_nullable_int(r, out);
}

reds_err reds__conv_double(const reds_reply *r, reds__arena *a, void *out)
{
    (void)a;
    return reds__fill_double(r, out);
}

reds_err reds__conv_nullable_double(const reds_reply *r, reds__arena *a, void *out)
{
    (void)a;
    return reds__fill_nullable_double(r, out);
}

/* ------------------------------------------------------ INFO and ROLE replies */

OWNED(boollist, reds_boollist, false, reds__fill_boollist(r, a, v))

/* The next line of `*s` (up to `end`), without its "\r\n"; false at the end. */
static bool next_line(const char **s, const char *end, const char **line, size_t *len)
{
    if (*s >= end)
        return false;
    const char *nl = memchr(*s, '\n', (size_t)(end - *s));
    const char *stop = nl ? nl : end;
    *line = *s;
    *len = (size_t)(stop - *s);
    if (*len && (*line)[*len - 1] == '\r')
        (*len)--;
    *s = stop + 1;
    return true;
}

static reds_err info_copy(reds__arena *a, const char *s, size_t len, reds_str *dst)
{
    dst->ptr = reds__arena_strdup(a, s, len);
    dst->len = len;
    return dst->ptr ? REDS_OK : nomem();
}

/* INFO text: "# Section" headers and "key:value" lines. Two passes: count,
 * then fill one array of sections and one of fields they share. */
reds_err reds__conv_info(const reds_reply *r, reds__arena *a, void *out)
{
    if (r->type != REDS_REPLY_STRING && r->type != REDS_REPLY_STATUS)
        return reds__bad_reply(r, "INFO text");
    const char *end = r->str + r->len, *s = r->str, *line;
    size_t len, nsections = 0, nfields = 0;
    bool headless = false; /* fields before the first header */
    while (next_line(&s, end, &line, &len)) {
        if (!len)
            continue;
        if (line[0] == '#') {
            nsections++;
        } else if (memchr(line, ':', len)) {
            nfields++;
            headless |= nsections == 0;
        } else {
            return reds__error(REDS_ERR_INVALID_RESPONSE,
                               "INFO: expected a '# Section' or 'key:value' line, got '%.*s'",
                               (int)(len > 40 ? 40 : len), line);
        }
    }
    nsections += headless;
    reds_info_reply *v = reds__arena_result(a, sizeof *v);
    reds_pair *fields = nfields ? reds__arena_alloc(a, nfields * sizeof *fields) : NULL;
    v = v && (!nsections || (v->sections = reds__arena_alloc(a, nsections * sizeof *v->sections)))
            ? v
            : NULL;
    if (!v || (nfields && !fields))
        return nomem();
    reds_info_section *cur = NULL;
    if (headless) {
        cur = &v->sections[v->count++];
        memset(cur, 0, sizeof *cur);
        cur->name.ptr = "";
        cur->fields.items = fields;
    }
    reds_err err = REDS_OK;
    s = r->str;
    while (!err && next_line(&s, end, &line, &len)) {
        if (!len)
            continue;
        if (line[0] == '#') {
            size_t skip = 1;
            while (skip < len && line[skip] == ' ')
                skip++;
            cur = &v->sections[v->count++];
            memset(cur, 0, sizeof *cur);
            cur->fields.items = fields;
            err = info_copy(a, line + skip, len - skip, &cur->name);
        } else {
            const char *colon = memchr(line, ':', len);
            reds_pair *f = fields++;
            cur->fields.count++;
            err = info_copy(a, line, (size_t)(colon - line), &f->key);
            if (!err)
                err = info_copy(a, colon + 1, len - (size_t)(colon - line) - 1, &f->value);
        }
    }
    if (!err)
        *(reds_info_reply **)out = v;
    return err;
}

const reds_str *reds_info_get(const reds_info_reply *info, reds_str key)
{
    for (size_t i = 0; info && i < info->count; i++) {
        const reds_str *v = reds_map_get(&info->sections[i].fields, key);
        if (v)
            return v;
    }
    return NULL;
}

static bool word_is(const reds_str *s, const char *word)
{
    return s->len == strlen(word) && memcmp(s->ptr, word, s->len) == 0;
}

/* ROLE: ["master", offset, [[ip, port, offset]...]],
 * ["slave", host, port, state, offset] or ["sentinel", [names]]. */
reds_err reds__conv_role(const reds_reply *r, reds__arena *a, void *out)
{
    if (r->type != REDS_REPLY_ARRAY || r->len < 1)
        return reds__bad_reply(r, "a ROLE array");
    reds_role_reply *v = reds__arena_result(a, sizeof *v);
    if (!v)
        return nomem();
    reds_err err = reds__fill_str(&r->element[0], &v->name);
    if (err)
        return err;
    const reds_reply *e = r->element;
    if (word_is(&v->name, "master")) {
        v->type = REDS_ROLE_MASTER;
        if (r->len < 3 || e[2].type != REDS_REPLY_ARRAY)
            return reds__error(REDS_ERR_INVALID_RESPONSE,
                               "ROLE master: expected offset and replicas");
        err = reds__fill_int(&e[1], &v->master.offset);
        v->master.nreplicas = e[2].len;
        if (!err && e[2].len &&
            !(v->master.replicas = reds__arena_alloc(a, e[2].len * sizeof *v->master.replicas)))
            return nomem();
        for (size_t i = 0; !err && i < e[2].len; i++) {
            const reds_reply *rep = &e[2].element[i];
            reds_role_replica *dst = &v->master.replicas[i];
            if (rep->type != REDS_REPLY_ARRAY || rep->len < 3)
                return reds__bad_reply(rep, "a replica [ip, port, offset]");
            err = reds__fill_str(&rep->element[0], &dst->ip);
            if (!err)
                err = reds__fill_int_text(&rep->element[1], &dst->port);
            if (!err)
                err = reds__fill_int_text(&rep->element[2], &dst->offset);
        }
    } else if (word_is(&v->name, "slave")) {
        v->type = REDS_ROLE_REPLICA;
        if (r->len < 5)
            return reds__error(REDS_ERR_INVALID_RESPONSE,
                               "ROLE slave: expected host, port, state and offset");
        err = reds__fill_str(&e[1], &v->replica.master_host);
        if (!err)
            err = reds__fill_int(&e[2], &v->replica.master_port);
        if (!err)
            err = reds__fill_str(&e[3], &v->replica.state);
        if (!err)
            err = reds__fill_int(&e[4], &v->replica.offset);
    } else if (word_is(&v->name, "sentinel")) {
        v->type = REDS_ROLE_SENTINEL;
        if (r->len < 2)
            return reds__error(REDS_ERR_INVALID_RESPONSE, "ROLE sentinel: expected masters");
        err = reds__fill_strlist(&e[1], a, &v->sentinel.masters);
    } else {
        return reds__error(REDS_ERR_INVALID_RESPONSE, "ROLE: unknown role '%s'", v->name.ptr);
    }
    if (!err)
        *(reds_role_reply **)out = v;
    return err;
}

/* ------------------------------------------------------------- public bits */

const reds_reply *reds_reply_at(const reds_reply *r, size_t i)
{
    return r && r->type == REDS_REPLY_ARRAY && i < r->len ? &r->element[i] : NULL;
}

size_t reds_reply_count(const reds_reply *r)
{
    return r && r->type == REDS_REPLY_ARRAY ? r->len : 0;
}

bool reds_reply_is_nil(const reds_reply *r)
{
    return !r || r->type == REDS_REPLY_NIL;
}

reds_err reds_reply_int(const reds_reply *r, int64_t *out)
{
    return r ? reds__fill_int(r, out) : reds__bad_reply(r, "an integer");
}

reds_err reds_reply_str(const reds_reply *r, reds_str *out)
{
    return r ? reds__fill_str(r, out) : reds__bad_reply(r, "a string");
}

reds_err reds_reply_double(const reds_reply *r, double *out)
{
    return r ? reds__fill_double(r, out) : reds__bad_reply(r, "a double");
}

const reds_str *reds_map_get(const reds_map *map, reds_str key)
{
    if (!map)
        return NULL;
    for (size_t i = 0; i < map->count; i++) {
        const reds_str *k = &map->items[i].key;
        if (k->len == key.len && (key.len == 0 || memcmp(k->ptr, key.ptr, key.len) == 0))
            return &map->items[i].value;
    }
    return NULL;
}

/* "%.*g" in the C locale's notation, whatever the program gave
 * setlocale(). printf() writes the locale's decimal point ("," under de_DE,
 * several bytes in a few locales) between the integer and the fraction
 * digits, and nothing else that depends on the locale. glibc has no
 * snprintf_l(), and putting the '.' back is cheaper than switching the
 * thread's locale with uselocale() around every call. */
static size_t format_g(char *buf, size_t size, int digits, double v)
{
    int len = snprintf(buf, size, "%.*g", digits, v);
    if (len < 0 || (size_t)len >= size)
        return 0;
    size_t n = (size_t)len, i = buf[0] == '-';
    while (i < n && buf[i] >= '0' && buf[i] <= '9')
        i++;
    if (i == n || buf[i] == '.' || buf[i] == 'e')
        return n;
    size_t j = i + 1;
    while (j < n && (buf[j] < '0' || buf[j] > '9'))
        j++;
    if (j == n) /* no fraction digits follow: not a decimal point */
        return n;
    buf[i] = '.';
    memmove(buf + i + 1, buf + j, n - j + 1);
    return n - (j - i - 1);
}

/* The shortest of 15, 16 or 17 significant digits that reads back as
 * exactly `v`: 0.1 is sent as "0.1", not "0.10000000000000001". */
char *reds_ext_put_f64_slow(char *p, double v)
{
    char tmp[64];
    size_t n = 0;
    if (isinf(v)) {
        n = 4;
        memcpy(tmp, v > 0 ? "+inf" : "-inf", n);
    } else {
        for (int digits = 15; digits <= 17; digits++) {
            n = format_g(tmp, sizeof tmp, digits, v);
            if (strtod_c(tmp, NULL) == v)
                break;
        }
    }
    return reds__put_str(p, reds_strn(tmp, n));
}
