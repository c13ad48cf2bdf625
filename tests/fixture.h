/* Real redis-server processes for tests, the demo and the benchmarks:
 * started on a free loopback port and a unix socket in a fresh temporary
 * directory, and always stopped (the server also dies with its parent). */
#ifndef REDS_FIXTURE_H
#define REDS_FIXTURE_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct fixture_server {
    pid_t pid;
    int port;
    char dir[128];
    char sock[192];
} fixture_server;

/* Start redis-server with the standard test flags plus `extra` (a NULL
 * terminated argv tail, may be NULL). Returns 0, or -1 with a message on
 * stderr. */
int fixture_start(fixture_server *s, const char *const *extra);

/* As fixture_start(), from a config file holding `conf_text` (written as
 * redis.conf in the server's directory; the standard flags still apply):
 * for commands that need one, such as CONFIG REWRITE. */
int fixture_start_conf(fixture_server *s, const char *conf_text, const char *const *extra);

/* Run `argv` (redis-server and its arguments, NULL-terminated) as the
 * process of `s`, whose port and socket must be what argv says, and wait
 * until it answers PING. Returns 0, or -1 when it exited or never answered.
 * The process dies with the test. For fixtures of other kinds (Sentinel). */
int fixture_exec(fixture_server *s, const char *const *argv);

/* Stop the server (SIGTERM, then SIGKILL) and remove its directory. */
void fixture_stop(fixture_server *s);

/* Kill with SIGKILL and wait, leaving the directory (restart tests). */
void fixture_kill(fixture_server *s);

/* Start a killed server again on the same port, socket and directory, with
 * the standard flags plus `extra`. Returns 0, or -1 (the port was taken). */
int fixture_restart(fixture_server *s, const char *const *extra);

/* Send one inline command on a fresh connection and return the first
 * reply line in `buf` ("+OK", ":1", ...); for fixture-level set-up only. */
int fixture_command(const fixture_server *s, const char *inline_cmd, char *buf, size_t size);

/* A free TCP port on 127.0.0.1 (bound and released). */
int fixture_free_port(void);

/* Test timing: sleep, and a monotonic clock in milliseconds. */
void sleep_ms(int ms);
long long now_ms(void);

#endif
