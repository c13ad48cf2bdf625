/* Scan iterators: SCAN, SSCAN, HSCAN and ZSCAN page by page through
 * reds_execute_command(), so they depend on the wire format of the reply
 * (a cursor and an array), not on any generated output type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reds/scan.h>

#include "convert.h"
#include "internal.h"

enum kind { SCAN, SSCAN, HSCAN, ZSCAN };

static const struct {
    const char *name;
    size_t len;
} commands[] = {{"SCAN", 4}, {"SSCAN", 5}, {"HSCAN", 5}, {"ZSCAN", 5}};

struct reds_scan_iter {
    reds_client *client;
    enum kind kind;
    reds_str key, match, type; /* copies, in `strings` */
    reds_opt_i64 count;
    char count_text[24];
    char cursor[24];
    bool finished; /* the server answered cursor 0 */
    reds_reply *page;
    size_t pos;
    reds_scan_item item;
    char strings[];
};

static reds_err make(reds_client *client, enum kind kind, reds_str key,
                     const reds_scan_iter_opts *opts, reds_scan_iter **out)
{
    static const reds_scan_iter_opts none;
    const char *name = commands[kind].name;
    if (!out)
        return reds__error(REDS_ERR_DATA, "%s iterator: out is NULL", name);
    *out = NULL;
    if (!opts)
        opts = &none;
    if (!client)
        return reds__error(REDS_ERR_DATA, "%s iterator: the client is NULL", name);
    if (reds__pipeline_queues(client))
        return reds__error(REDS_ERR_DATA,
                           "%s iterator: a pipeline that queues cannot iterate "
                           "(it runs commands only when it executes)",
                           name);
    if (reds_async_is(client))
        return reds__error(REDS_ERR_DATA,
                           "%s iterator: an async handle cannot iterate (each page is a "
                           "completion: call the SCAN command with a cursor instead)",
                           name);
    if ((!key.ptr && key.len) || (!opts->match.ptr && opts->match.len) ||
        (!opts->type.ptr && opts->type.len))
        return reds__error(REDS_ERR_DATA, "%s iterator: a string is NULL with a length", name);
    if (kind != SCAN && opts->type.ptr)
        return reds__error(REDS_ERR_DATA, "%s iterator: TYPE is for SCAN only", name);
    if (opts->count.set && opts->count.value <= 0)
        return reds__error(REDS_ERR_DATA, "%s iterator: COUNT must be positive", name);
    /* A response callback would turn the pages into its own type. */
    const reds_catalog_entry *info = reds_catalog_lookup(name);
    reds__callback *cbs = atomic_load(&client->callbacks);
    if (info && cbs && cbs[(const reds__command *)info - reds__commands].fn)
        return reds__error(REDS_ERR_DATA,
                           "%s iterator: the client has a response callback for "
                           "%s; iterate on a client without one",
                           name, name);
    size_t size = key.len + opts->match.len + opts->type.len + 3;
    if (size < key.len || size > SIZE_MAX - sizeof(reds_scan_iter))
        return reds__error(REDS_ERR_DATA, "%s iterator: arguments too large", name);
    reds_scan_iter *it = calloc(1, sizeof *it + size);
    if (!it)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    it->client = client;
    it->kind = kind;
    char *p = it->strings;
    const reds_str *src[3] = {&key, &opts->match, &opts->type};
    reds_str *dst[3] = {&it->key, &it->match, &it->type};
    for (int i = 0; i < 3; i++) {
        if (src[i]->len)
            memcpy(p, src[i]->ptr, src[i]->len);
        p[src[i]->len] = '\0';
        /* "Given" (even empty) keeps a pointer; "not given" stays NULL. */
        *dst[i] = reds_strn(src[i]->ptr || i == 0 ? p : NULL, src[i]->len);
        p += src[i]->len + 1;
    }
    it->count = opts->count;
    if (it->count.set)
        snprintf(it->count_text, sizeof it->count_text, "%lld", (long long)it->count.value);
    strcpy(it->cursor, "0");
    *out = it;
    return REDS_OK;
}

reds_err reds_scan_iter_new(reds_client *client, const reds_scan_iter_opts *opts,
                            reds_scan_iter **out)
{
    return make(client, SCAN, reds_strn(NULL, 0), opts, out);
}

reds_err reds_sscan_iter_new(reds_client *client, reds_str key, const reds_scan_iter_opts *opts,
                             reds_scan_iter **out)
{
    return make(client, SSCAN, key, opts, out);
}

reds_err reds_hscan_iter_new(reds_client *client, reds_str key, const reds_scan_iter_opts *opts,
                             reds_scan_iter **out)
{
    return make(client, HSCAN, key, opts, out);
}

reds_err reds_zscan_iter_new(reds_client *client, reds_str key, const reds_scan_iter_opts *opts,
                             reds_scan_iter **out)
{
    return make(client, ZSCAN, key, opts, out);
}

/* Check a page's shape: [cursor, [elements]] with pairs for HSCAN and
 * ZSCAN, and keep its cursor. */
static reds_err take_page(reds_scan_iter *it, reds_reply *page)
{
    const char *name = commands[it->kind].name;
    const reds_reply *cursor = reds_reply_at(page, 0), *items = reds_reply_at(page, 1);
    if (reds_reply_count(page) != 2 || cursor->type != REDS_REPLY_STRING || !cursor->len ||
        cursor->len >= sizeof it->cursor || items->type != REDS_REPLY_ARRAY)
        return reds__error(REDS_ERR_INVALID_RESPONSE, "%s: expected a cursor and an array", name);
    for (size_t i = 0; i < cursor->len; i++)
        if (cursor->str[i] < '0' || cursor->str[i] > '9')
            return reds__error(REDS_ERR_INVALID_RESPONSE, "%s: the cursor is not a number", name);
    bool pairs = it->kind == HSCAN || it->kind == ZSCAN;
    if (pairs && items->len % 2)
        return reds__error(REDS_ERR_INVALID_RESPONSE, "%s: expected pairs, got %zu elements", name,
                           items->len);
    for (size_t i = 0; i < items->len; i++)
        if (items->element[i].type != REDS_REPLY_STRING)
            return reds__error(REDS_ERR_INVALID_RESPONSE, "%s: an element is not a string", name);
    memcpy(it->cursor, cursor->str, cursor->len);
    it->cursor[cursor->len] = '\0';
    it->finished = strcmp(it->cursor, "0") == 0;
    return REDS_OK;
}

static reds_err fetch(reds_scan_iter *it)
{
    reds_str argv[9];
    size_t argc = 0;
    argv[argc++] = reds_strn(commands[it->kind].name, commands[it->kind].len);
    if (it->kind != SCAN)
        argv[argc++] = it->key;
    argv[argc++] = reds_cstr(it->cursor);
    if (it->match.ptr) {
        argv[argc++] = REDS_STR("MATCH");
        argv[argc++] = it->match;
    }
    if (it->count.set) {
        argv[argc++] = REDS_STR("COUNT");
        argv[argc++] = reds_cstr(it->count_text);
    }
    if (it->type.ptr) {
        argv[argc++] = REDS_STR("TYPE");
        argv[argc++] = it->type;
    }
    reds_reply *page = NULL;
    reds_err err = reds_execute_command(it->client, argc, argv, &page);
    if (!err)
        err = take_page(it, page);
    if (err) {
        reds_free(page);
        return err;
    }
    it->page = page;
    it->pos = 0;
    return REDS_OK;
}

reds_err reds_scan_iter_next(reds_scan_iter *it, const reds_scan_item **item)
{
    if (!item)
        return reds__error(REDS_ERR_DATA, "reds_scan_iter_next: item is NULL");
    *item = NULL;
    if (!it)
        return reds__error(REDS_ERR_DATA, "reds_scan_iter_next: the iterator is NULL");
    bool pairs = it->kind == HSCAN || it->kind == ZSCAN;
    for (;;) {
        const reds_reply *items = reds_reply_at(it->page, 1);
        if (items && it->pos < items->len) {
            const reds_reply *e = &items->element[it->pos];
            it->item.key = reds_strn(e->str, e->len);
            it->item.value = reds_strn("", 0);
            it->item.score = 0;
            it->pos += pairs ? 2 : 1;
            if (pairs) {
                it->item.value = reds_strn(e[1].str, e[1].len);
                if (it->kind == ZSCAN && !reds__parse_double(e[1].str, e[1].len, &it->item.score))
                    return reds__error(REDS_ERR_INVALID_RESPONSE,
                                       "ZSCAN: score '%s' is not a "
                                       "number",
                                       e[1].str);
            }
            *item = &it->item;
            return REDS_OK;
        }
        if (it->finished)
            return REDS_OK;
        /* The old page is released only once the next one has come: an
         * error leaves the iterator where it was. */
        reds_reply *old = it->page;
        size_t old_pos = it->pos;
        it->page = NULL;
        reds_err err = fetch(it);
        if (err) {
            it->page = old;
            it->pos = old_pos;
            return err;
        }
        reds_free(old);
    }
}

void reds_scan_iter_free(reds_scan_iter *it)
{
    if (!it)
        return;
    reds_free(it->page);
    free(it);
}
