/* Real server processes for tests, the demo and the benchmarks: Redis
 * (redis-server) or Valkey (valkey-server), started on a free loopback
 * port and a unix socket in a fresh temporary directory, and always
 * stopped (the server also dies with its parent). The environment variable
 * REDS_TEST_SERVER=redis|valkey picks the kind (Redis when unset). */
#ifndef REDS_FIXTURE_H
#define REDS_FIXTURE_H

#include <stdbool.h>
#include <sys/types.h>

/* Which server a fixture runs. */
typedef enum fixture_kind {
    FIXTURE_DEFAULT = 0, /* the kind REDS_TEST_SERVER names (fixture_server_kind()) */
    FIXTURE_REDIS,
    FIXTURE_VALKEY,
} fixture_kind;

typedef struct fixture_server {
    pid_t pid;
    int port;
    char dir[128];
    char sock[192];
    /* What answers, from INFO server once it serves (server_name and
     * valkey_version or redis_version): the kind asked for and "" when INFO
     * was refused (a password). fixture_restart() starts this kind again. */
    fixture_kind kind;
    char version[16]; /* "7.0.15", "8.0.1" */
} fixture_server;

/* The kind REDS_TEST_SERVER names: "redis" (or unset) or "valkey". Any
 * other value stops the process with a message. */
fixture_kind fixture_server_kind(void);

/* "redis" or "valkey" (FIXTURE_DEFAULT: the name of fixture_server_kind()). */
const char *fixture_kind_name(fixture_kind kind);

/* The program of `kind` to run: "redis-server" / "valkey-server", and for
 * the command-line client "redis-cli" / "valkey-cli". */
const char *fixture_server_program(fixture_kind kind);
const char *fixture_cli_program(fixture_kind kind);

/* The version of what `s` runs as one number, major * 10000 + minor * 100
 * + patch (80001 for 8.0.1), or 0 when unknown. */
int fixture_version(const fixture_server *s);

/* Start the server of fixture_server_kind() with the standard test flags
 * plus `extra` (a NULL terminated argv tail, may be NULL). Returns 0, or -1
 * with a message on stderr. */
int fixture_start(fixture_server *s, const char *const *extra);

/* As fixture_start(), with a server of the given kind whatever
 * REDS_TEST_SERVER says: for a test of a command only one server has. */
int fixture_start_kind(fixture_server *s, fixture_kind kind, const char *const *extra);

/* As fixture_start(), from a config file holding `conf_text` (written as
 * redis.conf in the server's directory; the standard flags still apply):
 * for commands that need one, such as CONFIG REWRITE. */
int fixture_start_conf(fixture_server *s, const char *conf_text, const char *const *extra);

/* Run `argv` (the server program and its arguments, NULL-terminated) as
 * the process of `s`, whose port and socket must be what argv says, wait
 * until it answers PING and fill in s->kind and s->version. Returns 0, or
 * -1 when it exited or never answered. The process dies with the test. For
 * fixtures of other kinds (Sentinel). */
int fixture_exec(fixture_server *s, const char *const *argv);

/* Stop the server (SIGTERM, then SIGKILL) and remove its directory. */
void fixture_stop(fixture_server *s);

/* Kill with SIGKILL and wait, leaving the directory (restart tests). */
void fixture_kill(fixture_server *s);

/* Start a killed server again on the same port, socket and directory, with
 * the standard flags plus `extra`: the program of s->kind (of
 * fixture_server_kind() when that is FIXTURE_DEFAULT). Returns 0, or -1
 * (the port was taken). */
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
