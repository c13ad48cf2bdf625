/* Lookups in the generated command table, and key extraction from key
 * specs (the algorithm of the server's getKeysUsingKeySpecs). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

size_t reds_catalog_count(void)
{
    return reds__ncommands;
}

const reds_catalog_entry *reds_catalog_at(size_t i)
{
    return i < reds__ncommands ? &reds__commands[i].info : NULL;
}

/* Case-insensitive compare of a name given as bytes with a table name. */
static int compare(const char *name, size_t len, const char *entry)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char a = (unsigned char)name[i], b = (unsigned char)entry[i];
        if (a >= 'a' && a <= 'z')
            a = (unsigned char)(a - 'a' + 'A');
        if (!b || a != b)
            return a < b ? -1 : 1;
    }
    return entry[len] ? -1 : 0;
}

static const reds_catalog_entry *search(const char *name, size_t len)
{
    size_t lo = 0, hi = reds__ncommands;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = compare(name, len, reds__commands[mid].info.name);
        if (c == 0)
            return &reds__commands[mid].info;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

bool reds__catalog_container(reds_str word)
{
    char prefix[64]; /* "WORD ": the first name not below it starts with it */
    if (!word.ptr || !word.len || word.len >= sizeof prefix - 1)
        return false;
    memcpy(prefix, word.ptr, word.len);
    prefix[word.len] = ' ';
    size_t n = word.len + 1, lo = 0, hi = reds__ncommands;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (compare(prefix, n, reds__commands[mid].info.name) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < reds__ncommands && reds__ascii_ncaseeq(reds__commands[lo].info.name, prefix, n);
}

const reds_catalog_entry *reds_catalog_lookup(const char *name)
{
    return name ? search(name, strlen(name)) : NULL;
}

const reds_catalog_entry *reds_catalog_find(size_t argc, const reds_str *argv)
{
    if (!argc || !argv || !argv[0].ptr)
        return NULL;
    const reds_catalog_entry *info = search(argv[0].ptr, argv[0].len);
    if (info || argc < 2 || !argv[1].ptr)
        return info;
    /* Containers are not leaves: try "CONTAINER SUB". */
    char name[64];
    if (argv[0].len + 1 + argv[1].len >= sizeof name)
        return NULL;
    memcpy(name, argv[0].ptr, argv[0].len);
    name[argv[0].len] = ' ';
    memcpy(name + argv[0].len + 1, argv[1].ptr, argv[1].len);
    return search(name, argv[0].len + 1 + argv[1].len);
}

static bool equals_nocase(reds_str s, const char *word)
{
    size_t n = strlen(word);
    return s.len == n && s.ptr && reds__ascii_ncaseeq(s.ptr, word, n);
}

static bool parse_count(reds_str s, long *out)
{
    char buf[24], *end;
    if (!s.ptr || !s.len || s.len >= sizeof buf)
        return false;
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = '\0';
    long v = strtol(buf, &end, 10);
    if (*end || v < 0)
        return false;
    *out = v;
    return true;
}

long reds_catalog_keys(const reds_catalog_entry *cmd, size_t argc, const reds_str *argv,
                       size_t *pos, size_t max)
{
    if (!cmd || (argc && !argv))
        return -1;
    long found = 0, n = (long)argc;
    for (unsigned s = 0; s < cmd->nkey_specs; s++) {
        const reds_key_spec *ks = &cmd->key_specs[s];
        long first = 0, last, step;
        if (ks->begin_search == REDS_BEGIN_INDEX) {
            first = ks->index;
        } else if (ks->begin_search == REDS_BEGIN_KEYWORD) {
            long start = ks->index > 0 ? ks->index : n + ks->index;
            long end = ks->index > 0 ? n - 1 : 1;
            for (long i = start; i != end; i += start <= end ? 1 : -1) {
                if (i >= n || i < 1)
                    break;
                if (equals_nocase(argv[i], ks->keyword)) {
                    first = i + 1;
                    break;
                }
            }
            if (!first)
                continue; /* the keyword is optional and absent */
        } else {
            continue;
        }
        if (ks->find_keys == REDS_FIND_RANGE) {
            step = ks->b;
            if (ks->a >= 0)
                last = first + ks->a;
            else if (!ks->c)
                last = n + ks->a;
            else
                last = first + ((n - first) / ks->c + ks->a);
        } else if (ks->find_keys == REDS_FIND_KEYNUM) {
            long numkeys;
            step = ks->c;
            if (first + ks->a >= n || !parse_count(argv[first + ks->a], &numkeys))
                return -1;
            first += ks->b;
            if (numkeys == 0)
                continue;
            last = first + (numkeys - 1) * step;
        } else {
            continue;
        }
        if (step <= 0 || last >= n || last < first || first >= n)
            return -1;
        for (long i = first; i <= last; i += step) {
            if ((size_t)found < max)
                pos[found] = (size_t)i;
            found++;
        }
    }
    return found;
}

size_t reds__cmd_argv(const char *buf, size_t len, reds_str *argv, size_t max)
{
    /* The command was packed by reds: "*<argc>\r\n" then "$<n>\r\n<bytes>\r\n"
     * per argument. Walking it is indexing our own encoding. */
    const char *p = buf, *end = buf + len;
    if (len < 4 || *p != '*')
        return 0;
    size_t argc = 0;
    for (p++; p < end && *p != '\r'; p++)
        argc = argc * 10 + (size_t)(*p - '0');
    p += 2;
    size_t i;
    for (i = 0; i < argc && i < max && p < end; i++) {
        size_t n = 0;
        for (p++; p < end && *p != '\r'; p++)
            n = n * 10 + (size_t)(*p - '0');
        p += 2;
        argv[i].ptr = p;
        argv[i].len = n;
        p += n + 2;
    }
    return i;
}

reds_err reds__cmd_keys(const reds__cmd *cmd, const reds_catalog_entry *e, reds__keys *k)
{
    k->argv = k->small_argv;
    k->pos = k->small_pos;
    k->n = 0;
    size_t argc = 0;
    for (size_t i = 1; i < cmd->len && cmd->buf[i] != '\r'; i++)
        argc = argc * 10 + (size_t)(cmd->buf[i] - '0');
    if (argc > REDS__KEYS_SMALL && !(k->argv = malloc(argc * sizeof *k->argv))) {
        k->argv = k->small_argv;
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    }
    argc = reds__cmd_argv(cmd->buf, cmd->len, k->argv, argc);
    k->n = reds_catalog_keys(e, argc, k->argv, k->pos, REDS__KEYS_SMALL);
    if (k->n > REDS__KEYS_SMALL) {
        if (!(k->pos = malloc((size_t)k->n * sizeof *k->pos))) {
            k->pos = k->small_pos;
            k->n = 0;
            reds__keys_free(k);
            return reds__error(REDS_ERR_NOMEM, "out of memory");
        }
        k->n = reds_catalog_keys(e, argc, k->argv, k->pos, (size_t)k->n);
    }
    return REDS_OK;
}

void reds__keys_free(reds__keys *k)
{
    if (k->argv != k->small_argv)
        free(k->argv);
    if (k->pos != k->small_pos)
        free(k->pos);
    k->argv = k->small_argv;
    k->pos = k->small_pos;
}
