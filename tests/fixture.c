/* See fixture.h. */
#include "fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int fixture_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

/* A connection to the unix socket of `s` with a 2 s read timeout, with
 * `inline_cmd` sent; -1 when any of it fails. */
static int send_inline(const fixture_server *s, const char *inline_cmd)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(s->sock) >= sizeof sa.sun_path) {
        close(fd);
        return -1;
    }
    memcpy(sa.sun_path, s->sock, strlen(s->sock) + 1);
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    char line[1024];
    int n = snprintf(line, sizeof line, "%s\r\n", inline_cmd);
    if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Read one line from `fd` into `buf`, without its CRLF; the length or -1. */
static int read_line(int fd, char *buf, size_t size)
{
    size_t got = 0;
    while (got + 1 < size) {
        ssize_t r = read(fd, buf + got, 1);
        if (r <= 0)
            break;
        if (buf[got] == '\n')
            break;
        got++;
    }
    buf[got] = '\0';
    if (got && buf[got - 1] == '\r')
        buf[--got] = '\0';
    return got ? (int)got : -1;
}

int fixture_command(const fixture_server *s, const char *inline_cmd, char *buf, size_t size)
{
    int fd = send_inline(s, inline_cmd);
    if (fd < 0)
        return -1;
    int n = read_line(fd, buf, size);
    close(fd);
    return n > 0 ? 0 : -1;
}

/* The bulk reply of `inline_cmd` in `buf` (truncated to fit); -1 when the
 * reply is not a bulk string (an error such as NOAUTH). */
static int command_bulk(const fixture_server *s, const char *inline_cmd, char *buf, size_t size)
{
    int fd = send_inline(s, inline_cmd);
    if (fd < 0)
        return -1;
    char head[32];
    long len = -1;
    if (read_line(fd, head, sizeof head) > 1 && head[0] == '$')
        len = strtol(head + 1, NULL, 10);
    size_t got = 0;
    while (len > 0 && got < (size_t)len && got + 1 < size) {
        size_t want = (size_t)len - got;
        if (want > size - 1 - got)
            want = size - 1 - got;
        ssize_t r = read(fd, buf + got, want);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    close(fd);
    return len >= 0 ? 0 : -1;
}

fixture_kind fixture_server_kind(void)
{
    const char *e = getenv("REDS_TEST_SERVER");
    if (!e || !*e || strcmp(e, "redis") == 0)
        return FIXTURE_REDIS;
    if (strcmp(e, "valkey") == 0)
        return FIXTURE_VALKEY;
    fprintf(stderr, "fixture: REDS_TEST_SERVER=%s: expected redis or valkey\n", e);
    exit(2);
}

static fixture_kind resolve(fixture_kind kind)
{
    return kind == FIXTURE_DEFAULT ? fixture_server_kind() : kind;
}

const char *fixture_kind_name(fixture_kind kind)
{
    return resolve(kind) == FIXTURE_VALKEY ? "valkey" : "redis";
}

const char *fixture_server_program(fixture_kind kind)
{
    return resolve(kind) == FIXTURE_VALKEY ? "valkey-server" : "redis-server";
}

const char *fixture_cli_program(fixture_kind kind)
{
    return resolve(kind) == FIXTURE_VALKEY ? "valkey-cli" : "redis-cli";
}

int fixture_version(const fixture_server *s)
{
    int major = 0, minor = 0, patch = 0;
    if (sscanf(s->version, "%d.%d.%d", &major, &minor, &patch) != 3)
        return 0;
    return major * 10000 + minor * 100 + patch;
}

/* The value of `field` in INFO text, copied into `out`; false if absent. */
static bool info_field(const char *info, const char *field, char *out, size_t size)
{
    size_t flen = strlen(field);
    for (const char *p = info; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, field, flen) == 0 && p[flen] == ':') {
            size_t n = strcspn(p + flen + 1, "\r\n");
            snprintf(out, size, "%.*s", (int)n, p + flen + 1);
            return true;
        }
    }
    return false;
}

/* Fill in s->kind and s->version from INFO server: Valkey says
 * server_name:valkey and valkey_version (its redis_version is the Redis
 * version it is compatible with), Redis 7.0 has neither. */
static void identify(fixture_server *s)
{
    char info[4096], name[32];
    s->version[0] = '\0';
    if (command_bulk(s, "INFO server", info, sizeof info) != 0)
        return;
    if (info_field(info, "server_name", name, sizeof name) && strcmp(name, "valkey") == 0) {
        s->kind = FIXTURE_VALKEY;
        info_field(info, "valkey_version", s->version, sizeof s->version);
    } else {
        s->kind = FIXTURE_REDIS;
        info_field(info, "redis_version", s->version, sizeof s->version);
    }
}

static bool ready(const fixture_server *s)
{
    /* Any answer but LOADING means it serves (NOAUTH: it wants a password). */
    char reply[64];
    return fixture_command(s, "PING", reply, sizeof reply) == 0 &&
           (strcmp(reply, "+PONG") == 0 || strncmp(reply, "-NOAUTH", 7) == 0);
}

/* `conf`: a config file for the server to start from (its first
 * argument, as redis-server wants it), or NULL. */
static int spawn_conf(fixture_server *s, const char *conf, const char *const *extra)
{
    char port[16], logfile[256];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(logfile, sizeof logfile, "%s/redis.log", s->dir);
    const char *std[] = {"--port",
                         port,
                         "--bind",
                         "127.0.0.1",
                         "--unixsocket",
                         s->sock,
                         "--unixsocketperm",
                         "700",
                         "--save",
                         "",
                         "--appendonly",
                         "no",
                         "--enable-debug-command",
                         "local",
                         "--dir",
                         s->dir,
                         "--logfile",
                         logfile,
                         "--daemonize",
                         "no"};
    s->kind = resolve(s->kind);
    const char *argv[64] = {fixture_server_program(s->kind)};
    size_t n = 1;
    if (conf)
        argv[n++] = conf;
    for (size_t i = 0; i < sizeof std / sizeof std[0]; i++)
        argv[n++] = std[i];
    for (size_t i = 0; extra && extra[i] && n < 63; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    return fixture_exec(s, argv);
}

int fixture_exec(fixture_server *s, const char *const *argv)
{
    pid_t parent = getpid();
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        /* The server must not outlive the test, however the test ends. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "fixture: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        if (ready(s)) {
            identify(s);
            return 0;
        }
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return -1; /* exited: the port was taken, or bad arguments */
        }
        sleep_ms(10);
    }
    fixture_kill(s);
    return -1;
}

static int spawn(fixture_server *s, const char *const *extra)
{
    return spawn_conf(s, NULL, extra);
}

static int start(fixture_server *s, fixture_kind kind, const char *conf_text,
                 const char *const *extra)
{
    memset(s, 0, sizeof *s);
    s->kind = resolve(kind);
    snprintf(s->dir, sizeof s->dir, "/tmp/reds-test-XXXXXX");
    if (!mkdtemp(s->dir)) {
        perror("fixture: mkdtemp");
        return -1;
    }
    snprintf(s->sock, sizeof s->sock, "%s/redis.sock", s->dir);
    char conf[192] = "";
    if (conf_text) {
        snprintf(conf, sizeof conf, "%s/redis.conf", s->dir);
        FILE *f = fopen(conf, "w");
        if (!f || fputs(conf_text, f) < 0 || fclose(f) != 0) {
            perror("fixture: redis.conf");
            return -1;
        }
    }
    /* Another process may grab the free port first: try a few. */
    for (int attempt = 0; attempt < 5; attempt++) {
        s->port = fixture_free_port();
        if (s->port > 0 && spawn_conf(s, conf_text ? conf : NULL, extra) == 0)
            return 0;
    }
    fprintf(stderr, "fixture: %s did not start (log in %s)\n", fixture_server_program(s->kind),
            s->dir);
    return -1;
}

int fixture_start(fixture_server *s, const char *const *extra)
{
    return start(s, FIXTURE_DEFAULT, NULL, extra);
}

int fixture_start_kind(fixture_server *s, fixture_kind kind, const char *const *extra)
{
    return start(s, kind, NULL, extra);
}

int fixture_start_conf(fixture_server *s, const char *conf_text, const char *const *extra)
{
    return start(s, FIXTURE_DEFAULT, conf_text, extra);
}

int fixture_restart(fixture_server *s, const char *const *extra)
{
    if (s->pid > 0 || !s->dir[0])
        return -1;
    return spawn(s, extra);
}

void fixture_kill(fixture_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_type == DT_DIR)
            remove_dir(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

void fixture_stop(fixture_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        for (int i = 0; i < 300; i++) {
            if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
                s->pid = 0;
                break;
            }
            sleep_ms(10);
        }
        fixture_kill(s);
    }
    if (s->dir[0])
        remove_dir(s->dir);
    s->dir[0] = '\0';
}
