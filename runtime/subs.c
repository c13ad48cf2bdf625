/* What the blocking pub/sub handle (pubsub.c) and the async client
 * (async.c) share: subscription tables, the commands that make them again
 * after a reconnect, and replies read as messages. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pack.h"

const struct reds__subs_command reds__subs_commands[REDS__NTABLES] = {
    {"SUBSCRIBE", "UNSUBSCRIBE"},
    {"PSUBSCRIBE", "PUNSUBSCRIBE"},
    {"SSUBSCRIBE", "SUNSUBSCRIBE"},
};

/* ------------------------------------------------------ subscription tables */

static uint64_t hash_name(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

reds__sub *reds__st_find(const reds__subtable *t, const char *p, size_t len)
{
    if (!t->nbuckets)
        return NULL;
    uint64_t h = hash_name(p, len);
    for (reds__sub *s = t->buckets[h & (t->nbuckets - 1)]; s; s = s->next)
        if (s->hash == h && s->len == len && (len == 0 || memcmp(s->name, p, len) == 0))
            return s;
    return NULL;
}

static bool st_grow(reds__subtable *t)
{
    size_t n = t->nbuckets ? t->nbuckets * 2 : 16;
    reds__sub **b = calloc(n, sizeof *b);
    if (!b)
        return false;
    for (size_t i = 0; i < t->nbuckets; i++) {
        reds__sub *s = t->buckets[i];
        while (s) {
            reds__sub *next = s->next;
            s->next = b[s->hash & (n - 1)];
            b[s->hash & (n - 1)] = s;
            s = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
    return true;
}

reds__sub *reds__st_put(reds__subtable *t, reds_str name, reds__handler fn, void *udata)
{
    reds__sub *s = reds__st_find(t, name.ptr, name.len);
    if (!s) {
        if (t->count >= t->nbuckets && !st_grow(t))
            return NULL;
        s = malloc(sizeof *s + name.len + 1);
        if (!s)
            return NULL;
        s->leaving = false;
        s->hash = hash_name(name.ptr, name.len);
        s->len = name.len;
        if (name.len)
            memcpy(s->name, name.ptr, name.len);
        s->name[name.len] = '\0';
        reds__sub **b = &t->buckets[s->hash & (t->nbuckets - 1)];
        s->next = *b;
        *b = s;
        t->count++;
    }
    s->fn = fn;
    s->udata = udata;
    if (s->leaving)
        t->nleaving--;
    s->leaving = false;
    return s;
}

void reds__st_leave(reds__subtable *t, reds__sub *s)
{
    if (!s->leaving) {
        s->leaving = true;
        t->nleaving++;
    }
}

void reds__st_remove_if(reds__subtable *t, bool (*pred)(const reds__sub *s, const void *arg), const void *arg)
{
    for (size_t i = 0; i < t->nbuckets; i++) {
        reds__sub **pp = &t->buckets[i];
        while (*pp) {
            reds__sub *s = *pp;
            if (!pred || pred(s, arg)) {
                *pp = s->next;
                t->nleaving -= s->leaving;
                free(s);
                t->count--;
            } else {
                pp = &s->next;
            }
        }
    }
}

void reds__st_remove(reds__subtable *t, reds__sub *victim)
{
    for (reds__sub **pp = &t->buckets[victim->hash & (t->nbuckets - 1)]; *pp; pp = &(*pp)->next) {
        if (*pp == victim) {
            *pp = victim->next;
            t->nleaving -= victim->leaving;
            free(victim);
            t->count--;
            return;
        }
    }
}

void reds__st_free(reds__subtable *t)
{
    reds__st_remove_if(t, NULL, NULL);
    free(t->buckets);
    t->buckets = NULL;
    t->nbuckets = 0;
}

void reds__st_leave_names(reds__subtable *t, const reds_str *names, size_t count)
{
    if (count) {
        for (size_t i = 0; i < count; i++) {
            reds__sub *s = reds__st_find(t, names[i].ptr, names[i].len);
            if (s)
                reds__st_leave(t, s);
        }
    } else {
        for (size_t i = 0; i < t->nbuckets; i++)
            for (reds__sub *s = t->buckets[i]; s; s = s->next)
                reds__st_leave(t, s);
    }
}

reds_err reds__subs_check(const char *fn, const reds_str *names, size_t count, bool need_one)
{
    if (need_one && !count)
        return reds__error(REDS_ERR_DATA, "%s: no channel or pattern given", fn);
    reds__size size = {0, 0, NULL};
    reds__size_array(&size, names, count, sizeof *names, "channels");
    for (size_t i = 0; i < count && !size.bad; i++)
        reds__size_str(&size, names[i], "channel");
    if (size.bad)
        return reds__error(REDS_ERR_DATA,
                           "%s: argument '%s' is invalid (NULL with a length, or too large)", fn,
                           size.bad);
    return REDS_OK;
}

bool reds__st_is_leaving(const reds__sub *s, const void *arg)
{
    (void)arg;
    return s->leaving;
}

reds_err reds__subs_pack(const reds__subtable *subs, char **buf, size_t *len)
{
    size_t total = 0, most = 0;
    for (int t = 0; t < REDS__NTABLES; t++) {
        total += subs[t].count;
        if (subs[t].count > most)
            most = subs[t].count;
    }
    *buf = NULL;
    *len = 0;
    if (!total)
        return REDS_OK;
    reds_str *argv = malloc((most + 1) * sizeof *argv);
    size_t bound = 0;
    for (int t = 0; t < REDS__NTABLES; t++)
        for (size_t i = 0; i < subs[t].nbuckets; i++)
            for (const reds__sub *s = subs[t].buckets[i]; s; s = s->next)
                bound += s->len + REDS__BULK_OVERHEAD;
    bound += REDS__NTABLES * 2 * REDS__BULK_OVERHEAD;
    char *p = argv ? malloc(bound) : NULL;
    if (!p) {
        free(argv);
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    *buf = p;
    for (int t = 0; t < REDS__NTABLES; t++) {
        size_t n = 0;
        argv[n++] = reds_cstr(reds__subs_commands[t].subscribe);
        for (size_t i = 0; i < subs[t].nbuckets; i++)
            for (const reds__sub *s = subs[t].buckets[i]; s; s = s->next)
                if (!s->leaving)
                    argv[n++] = reds_strn(s->name, s->len);
        if (n > 1)
            p = reds__put_argv(p, n, argv);
    }
    free(argv);
    *len = (size_t)(p - *buf);
    return REDS_OK;
}

/* ---------------------------------------------------- replies as messages */

static bool str_is(const reds_reply *r, const char *s)
{
    size_t n = strlen(s);
    return r->type == REDS_REPLY_STRING && r->len == n && memcmp(r->str, s, n) == 0;
}

static reds_str view(const reds_reply *r)
{
    if (r->type == REDS_REPLY_NIL)
        return reds_strn(NULL, 0);
    return reds_strn(r->str ? r->str : "", r->len);
}

static bool is_text(const reds_reply *r)
{
    return r->type == REDS_REPLY_STRING || r->type == REDS_REPLY_STATUS;
}

/* A message's payload: a string, nil, or an array of strings (CLIENT
 * TRACKING's invalidations), whose views go into the arena with the
 * message. False for any other shape. */
static bool payload(reds_pubsub_message *m, const reds_reply *r, reds__arena *a)
{
    if (is_text(r) || r->type == REDS_REPLY_NIL) {
        m->data = view(r);
        return true;
    }
    if (r->type != REDS_REPLY_ARRAY)
        return false;
    reds_str *items = r->len ? reds__arena_alloc(a, r->len * sizeof *items) : NULL;
    if (r->len && !items)
        return false;
    for (size_t i = 0; i < r->len; i++) {
        if (!is_text(&r->element[i]))
            return false;
        items[i] = view(&r->element[i]);
    }
    m->data = reds_strn("", 0);
    m->items = items;
    m->nitems = r->len;
    return true;
}

reds_err reds__pubsub_parse(const reds_reply *r, reds__arena *a, reds_pubsub_message **out)
{
    static const struct {
        const char *name;
        reds_pubsub_kind kind;
        size_t len;
    } shapes[] = {
        {"message", REDS_PUBSUB_MESSAGE, 3},           {"pmessage", REDS_PUBSUB_PMESSAGE, 4},
        {"smessage", REDS_PUBSUB_SMESSAGE, 3},         {"subscribe", REDS_PUBSUB_SUBSCRIBE, 3},
        {"unsubscribe", REDS_PUBSUB_UNSUBSCRIBE, 3},   {"psubscribe", REDS_PUBSUB_PSUBSCRIBE, 3},
        {"punsubscribe", REDS_PUBSUB_PUNSUBSCRIBE, 3}, {"ssubscribe", REDS_PUBSUB_SSUBSCRIBE, 3},
        {"sunsubscribe", REDS_PUBSUB_SUNSUBSCRIBE, 3}, {"pong", REDS_PUBSUB_PONG, 2},
    };
    *out = NULL;
    if (r->type == REDS_REPLY_ERROR) {
        reds_err err = reds__error_from_reply(r->str, r->len);
        return reds__error(err, "pub/sub: %s", r->str);
    }
    reds_pubsub_message *m = reds__arena_result(a, sizeof *m);
    if (!m)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    /* PING outside subscribed mode: +PONG, or the message as a bulk. */
    if (r->type == REDS_REPLY_STATUS && r->len == 4 && memcmp(r->str, "PONG", 4) == 0) {
        m->kind = REDS_PUBSUB_PONG;
        m->data = reds_strn("", 0);
        *out = m;
        return REDS_OK;
    }
    if (r->type == REDS_REPLY_STRING) {
        m->kind = REDS_PUBSUB_PONG;
        m->data = view(r);
        *out = m;
        return REDS_OK;
    }
    if (r->type != REDS_REPLY_ARRAY || r->len < 2)
        return reds__bad_reply(r, "a pub/sub message");
    const reds_reply *e = r->element;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        if (!str_is(&e[0], shapes[i].name))
            continue;
        if (r->len != shapes[i].len)
            break;
        m->kind = shapes[i].kind;
        switch (m->kind) {
        case REDS_PUBSUB_PMESSAGE:
            if (!is_text(&e[1]) || !is_text(&e[2]) || !payload(m, &e[3], a))
                goto bad;
            m->pattern = view(&e[1]);
            m->channel = view(&e[2]);
            break;
        case REDS_PUBSUB_MESSAGE:
        case REDS_PUBSUB_SMESSAGE:
            if (!is_text(&e[1]) || !payload(m, &e[2], a))
                goto bad;
            m->channel = view(&e[1]);
            break;
        case REDS_PUBSUB_PONG:
            if (!is_text(&e[1]))
                goto bad;
            m->data = view(&e[1]);
            break;
        default: /* the (un)subscribe confirmations */
            if ((!is_text(&e[1]) && e[1].type != REDS_REPLY_NIL) || e[2].type != REDS_REPLY_INTEGER)
                goto bad;
            m->channel = view(&e[1]);
            m->count = e[2].integer;
            break;
        }
        *out = m;
        return REDS_OK;
    }
bad:
    return reds__bad_reply(r, "a pub/sub message");
}

int reds__subs_table(reds_pubsub_kind kind)
{
    switch (kind) {
    case REDS_PUBSUB_MESSAGE:
    case REDS_PUBSUB_SUBSCRIBE:
    case REDS_PUBSUB_UNSUBSCRIBE:
        return REDS__CHANNELS;
    case REDS_PUBSUB_PMESSAGE:
    case REDS_PUBSUB_PSUBSCRIBE:
    case REDS_PUBSUB_PUNSUBSCRIBE:
        return REDS__PATTERNS;
    case REDS_PUBSUB_SMESSAGE:
    case REDS_PUBSUB_SSUBSCRIBE:
    case REDS_PUBSUB_SUNSUBSCRIBE:
        return REDS__SHARDS;
    default:
        return -1;
    }
}
