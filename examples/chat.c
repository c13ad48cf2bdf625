/* reds chat: publish/subscribe between processes.
 *
 *   build/examples/chat alice        # in one terminal
 *   build/examples/chat bob          # in another: type lines, see each other's
 *
 * Each line read from stdin is published on the channel "chat" (or the
 * second argument); a background thread prints what the others publish.
 * End with Ctrl-D. Connects to REDS_SOCKET, or REDS_HOST:REDS_PORT
 * (default 127.0.0.1:6379). A message is the sender's name, a NUL byte and
 * the text, so `redis-cli publish chat hi` shows up as from "?". If the
 * server restarts, the subscription comes back by itself and the gap is
 * announced. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reds/reds.h>

static const char *me;

/* Print a whole line at once: the background thread prints too. */
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    flockfile(stdout);
    vprintf(fmt, ap);
    fflush(stdout);
    funlockfile(stdout);
    va_end(ap);
}

/* Runs on the background thread; the message is borrowed. */
static void on_chat(reds_pubsub *ps, const reds_pubsub_message *m, void *udata)
{
    (void)ps;
    (void)udata;
    const char *nul = (const char *)memchr(m->data.ptr, '\0', m->data.len);
    if (!nul) {
        say("?> %.*s\n", (int)m->data.len, m->data.ptr);
        return;
    }
    int namelen = (int)(nul - m->data.ptr);
    if ((size_t)namelen == strlen(me) && memcmp(m->data.ptr, me, (size_t)namelen) == 0)
        return; /* our own line */
    say("%.*s> %.*s\n", namelen, m->data.ptr, (int)(m->data.len - (size_t)namelen - 1), nul + 1);
}

static void on_reconnect(reds_pubsub *ps, const reds_pubsub_message *m, void *udata)
{
    (void)ps;
    (void)udata;
    say("*** reconnected; messages sent meanwhile were lost (%s)\n", m->data.ptr);
}

static void on_error(reds_pubsub *ps, reds_err err, const char *message, void *udata)
{
    (void)ps;
    (void)udata;
    (void)err;
    say("*** %s (retrying)\n", message);
}

static reds_err post(reds_client *c, reds_str channel, const char *text, size_t len)
{
    size_t n = strlen(me);
    char *msg = (char *)malloc(n + 1 + len);
    if (!msg)
        return REDS_ERR_NOMEM;
    memcpy(msg, me, n + 1); /* the name and its NUL */
    memcpy(msg + n + 1, text, len);
    reds_err err = reds_publish(c, channel, reds_strn(msg, n + 1 + len), NULL);
    /* After a server restart the pool's idle connection is dead, and reds
     * never resends on its own: try once more, on a new connection (a chat
     * line seen twice would be harmless). */
    if (reds_err_is(err, REDS_ERR_CONNECTION))
        err = reds_publish(c, channel, reds_strn(msg, n + 1 + len), NULL);
    free(msg);
    return err;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || !argv[1][0]) {
        fprintf(stderr, "usage: %s NAME [CHANNEL]\n", argv[0]);
        return 2;
    }
    me = argv[1];
    reds_str channel = reds_cstr(argc > 2 ? argv[2] : "chat");

    reds_options opts = {0};
    opts.unix_path = getenv("REDS_SOCKET");
    opts.host = getenv("REDS_HOST");
    opts.port = getenv("REDS_PORT") ? atoi(getenv("REDS_PORT")) : 0;
    reds_client *c;
    reds_pubsub *ps = NULL;
    reds_err err = reds_client_new(&opts, &c);
    if (!err) {
        reds_pubsub_options po = {.ignore_subscribe_messages = true, .on_reconnect = on_reconnect};
        err = reds_pubsub_new(c, &po, &ps);
    }
    if (!err)
        err = reds_pubsub_subscribe(ps, &channel, 1, on_chat, NULL);
    if (!err) {
        reds_pubsub_thread_options to = {.poll_ms = 100, .on_error = on_error};
        err = reds_pubsub_run(ps, &to);
    }
    if (!err)
        err = post(c, channel, "(joined)", 8);
    if (err) {
        fprintf(stderr, "chat: %s: %s\n", reds_err_name(err), reds_errmsg());
        reds_pubsub_close(ps);
        reds_client_free(c);
        return 1;
    }
    say("*** %s on channel %s; type lines, Ctrl-D to leave\n", me, channel.ptr);

    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len && (err = post(c, channel, line, (size_t)len)))
            fprintf(stderr, "*** not sent: %s\n", reds_errmsg());
    }
    free(line);
    post(c, channel, "(left)", 6);
    reds_pubsub_close(ps); /* stops the thread, unsubscribes, disconnects */
    reds_client_free(c);
    return 0;
}
