/* with-redis PROGRAM [ARGS...]: run PROGRAM against a throwaway server
 * (redis-server, or valkey-server with REDS_TEST_SERVER=valkey) on a
 * loopback port and a unix socket, then stop the server.
 * PROGRAM finds it in REDS_HOST, REDS_PORT and REDS_SOCKET. Used by
 * `make demo` and `make bench`. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PROGRAM [ARGS...]\n", argv[0]);
        return 2;
    }
    fixture_server s;
    if (fixture_start(&s, NULL) != 0)
        return 1;
    char port[16];
    snprintf(port, sizeof port, "%d", s.port);
    setenv("REDS_HOST", "127.0.0.1", 1);
    setenv("REDS_PORT", port, 1);
    setenv("REDS_SOCKET", s.sock, 1);
    fprintf(stderr, "with-redis: %s %s on 127.0.0.1:%d and %s\n", fixture_kind_name(s.kind),
            s.version, s.port, s.sock);
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    int status = 1;
    signal(SIGINT, SIG_IGN);
    waitpid(pid, &status, 0);
    fixture_stop(&s);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
