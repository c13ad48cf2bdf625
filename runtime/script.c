/* Script objects: Lua source + its SHA-1, run with EVALSHA and loaded on
 * NOSCRIPT. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <reds/script.h>

#include "command_ids.h"
#include "convert.h"
#include "internal.h"
#include "pack.h"

struct reds_script {
    reds_client *client;
    char sha[41];
    size_t len;
    char source[];
};

reds_err reds_script_new(reds_client *client, reds_str source, reds_script **out)
{
    if (!out)
        return reds__error(REDS_ERR_DATA, "reds_script_new: out is NULL");
    *out = NULL;
    if (!source.ptr && source.len)
        return reds__error(REDS_ERR_DATA, "reds_script_new: the source is NULL with a length");
    if (source.len > SIZE_MAX / 2)
        return reds__error(REDS_ERR_DATA, "reds_script_new: the source is too large");
    reds_script *s = malloc(sizeof *s + source.len + 1);
    if (!s)
        return reds__error(REDS_ERR_NOMEM, "out of memory");
    s->client = client;
    s->len = source.len;
    if (source.len)
        memcpy(s->source, source.ptr, source.len);
    s->source[source.len] = '\0';
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(s->source, s->len, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20) {
        free(s);
        return reds__error(REDS_ERR, "reds_script_new: SHA-1 is not available");
    }
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 20; i++) {
        s->sha[2 * i] = hex[md[i] >> 4];
        s->sha[2 * i + 1] = hex[md[i] & 15];
    }
    s->sha[40] = '\0';
    *out = s;
    return REDS_OK;
}

const char *reds_script_sha(const reds_script *script)
{
    return script ? script->sha : "";
}

/* EVALSHA and SCRIPT LOAD are packed here rather than through the
 * generated wrappers: their shape is fixed by the protocol, and scripts
 * must not depend on how the catalogue chooses to type them. */
static reds_err evalsha(reds_client *c, const reds_script *s, const reds_str *keys, size_t nkeys,
                        const reds_str *args, size_t nargs, reds_reply **out)
{
    reds__size sz = {0, 0, NULL};
    reds__size_lit(&sz, 13);
    reds__size_lit(&sz, 40 + REDS__BULK_OVERHEAD);
    reds__size_num(&sz);
    for (size_t i = 0; i < nkeys; i++)
        reds__size_str(&sz, keys[i], "keys");
    for (size_t i = 0; i < nargs; i++)
        reds__size_str(&sz, args[i], "args");
    reds__cmd cmd;
    char *p = reds__cmd_begin(c, &cmd, REDS__CMD_EVALSHA, &sz);
    if (!p)
        return reds__last_err();
    p = reds__put_lit(p, "$7\r\nEVALSHA\r\n", 13);
    p = reds__put_str(p, reds_strn(s->sha, 40));
    p = reds__put_i64(p, (int64_t)nkeys);
    for (size_t i = 0; i < nkeys; i++)
        p = reds__put_str(p, keys[i]);
    for (size_t i = 0; i < nargs; i++)
        p = reds__put_str(p, args[i]);
    return reds__cmd_run(c, &cmd, p, reds__conv_reply, out);
}

bool reds__shas_has(const reds__shas *set, const char *sha)
{
    for (size_t i = 0; i < set->n; i++)
        if (memcmp(set->sha[i], sha, 40) == 0)
            return true;
    return false;
}

reds_err reds__shas_add(reds__shas *set, const char *sha)
{
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 4;
        char(*grown)[41] = realloc(set->sha, cap * sizeof *grown);
        if (!grown)
            return reds__error(REDS_ERR_NOMEM, "out of memory");
        set->sha = grown;
        set->cap = cap;
    }
    memcpy(set->sha[set->n], sha, 40);
    set->sha[set->n++][40] = '\0';
    return REDS_OK;
}

void reds__shas_free(reds__shas *set)
{
    free(set->sha);
    set->sha = NULL;
    set->n = set->cap = 0;
}

reds_err reds__script_load(reds_client *c, reds_str source)
{
    reds__size sz = {0, 0, NULL};
    reds__size_lit(&sz, 12);
    reds__size_lit(&sz, 10);
    reds__size_str(&sz, source, "source");
    reds__cmd cmd;
    char *p = reds__cmd_begin(c, &cmd, REDS__CMD_SCRIPT_LOAD, &sz);
    if (!p)
        return reds__last_err();
    p = reds__put_lit(p, "$6\r\nSCRIPT\r\n", 12);
    p = reds__put_lit(p, "$4\r\nLOAD\r\n", 10);
    p = reds__put_str(p, source);
    return reds__cmd_run(c, &cmd, p, reds__conv_reply, NULL);
}

reds_err reds_script_call(const reds_script *script, reds_client *client, const reds_str *keys,
                          size_t nkeys, const reds_str *args, size_t nargs, reds_reply **out)
{
    if (out)
        *out = NULL;
    if (!script)
        return reds__error(REDS_ERR_DATA, "reds_script_call: the script is NULL");
    if (!client)
        client = script->client;
    if (!client)
        return reds__error(REDS_ERR_DATA, "reds_script_call: no client (the script has none)");
    if ((!keys && nkeys) || (!args && nargs) || nkeys > (uint64_t)INT64_MAX)
        return reds__error(REDS_ERR_DATA, "reds_script_call: keys or args are NULL with a count");
    for (size_t i = 0; i < nkeys; i++)
        if (!keys[i].ptr && keys[i].len)
            return reds__error(REDS_ERR_DATA, "reds_script_call: a key is NULL with a length");
    for (size_t i = 0; i < nargs; i++)
        if (!args[i].ptr && args[i].len)
            return reds__error(REDS_ERR_DATA, "reds_script_call: an arg is NULL with a length");
    reds_str source = reds_strn(script->source, script->len);
    if (reds__pipeline_queues(client) || reds_async_is(client)) {
        /* Loaded within the batch (or on the async connection), ahead of
         * the EVALSHA: a NOSCRIPT reply would come too late to retry. */
        reds_err err = reds_async_is(client) ? reds__async_preload(client, script->sha, source)
                                             : reds__pipeline_preload(client, script->sha, source);
        return err ? err : evalsha(client, script, keys, nkeys, args, nargs, out);
    }
    reds_err err = evalsha(client, script, keys, nkeys, args, nargs, out);
    if (err != REDS_ERR_NOSCRIPT)
        return err;
    err = reds__script_load(client, source);
    return err ? err : evalsha(client, script, keys, nkeys, args, nargs, out);
}

void reds_script_free(reds_script *script)
{
    free(script);
}
