/* A fault-injecting TCP relay on loopback, for tests of what a client does
 * when the network or the server misbehaves.
 *
 * A relay listens on a free 127.0.0.1 port and runs in a thread of the
 * test process (one poll() loop, no busy waiting). Each connection a client
 * makes to it is paired with a connection of its own to a real server
 * (relay_start(port)); or, with no upstream (relay_start(0)), the relay is
 * a fake server that answers every request with bytes the test scripts
 * (relay_script()).
 *
 * Requests always go to the server as they come. What goes back to the
 * client is shaped by a mode, which applies to every connection from the
 * moment it is set until the next one, and so can change between
 * commands: pass through, stall, trickle, cut after some bytes. An extra
 * reply can be injected after the next one, and every client connection
 * closed at once. Counters say how many bytes went each way.
 *
 * The functions below are called from the test's thread; each takes
 * effect before it returns (anything the relay does afterwards follows
 * it). */
#ifndef REDS_FIXTURE_RELAY_H
#define REDS_FIXTURE_RELAY_H

#include <stddef.h>
#include <stdint.h>

typedef struct relay relay;

/* A relay to the server on 127.0.0.1:`upstream_port`, or a fake server
 * when `upstream_port` is 0 (it answers nothing until relay_script()).
 * Starts in pass-through mode. NULL (message on stderr) on failure. */
relay *relay_start(int upstream_port);

/* Stop the thread, close every socket and free everything. NULL is
 * ignored. */
void relay_stop(relay *r);

/* The port clients connect to. */
int relay_port(const relay *r);

/* Modes for what goes to clients. */
/* Forward everything as it comes (the initial mode). */
void relay_pass(relay *r);
/* Forward nothing; what the server sends is kept, and sent when the mode
 * changes. */
void relay_stall(relay *r);
/* Forward one byte every `ms` milliseconds on each connection. */
void relay_trickle(relay *r, int ms);
/* Forward `bytes` more bytes (over all connections), then close the
 * connection that took the last of them, both sides, with whatever it
 * still had to forward; the mode is then pass-through again. With `bytes`
 * 0, the next connection that has something to forward is closed. */
void relay_cut(relay *r, size_t bytes);

/* Once: right after the next bytes that come from the server (with a fake
 * server: after the next complete scripted reply), queue `len` bytes of
 * `bytes` (copied) to the same client. With `delay_ms` 0 they join that
 * reply and leave in the same write (in pass-through mode, for a reply
 * that arrives from the server in one piece: small ones); otherwise they
 * are queued `delay_ms` later. */
void relay_inject(relay *r, const char *bytes, size_t len, int delay_ms);

/* Close every client connection (and its server side) now. */
void relay_close_clients(relay *r);

/* Fake server: answer each request (a RESP array, or an inline line) with
 * `head`, then `fill` copies of `fill_byte`, then `tail` (NULL for none).
 * The fill is made as it is sent, so it may be huge; the fake server then
 * keeps the connection open and silent until the next request. Applies
 * to the requests that arrive from now on. */
void relay_script(relay *r, const char *head, size_t fill, char fill_byte, const char *tail);

typedef struct relay_counts {
    uint64_t accepted;  /* client connections accepted */
    uint64_t to_server; /* bytes received from clients */
    uint64_t to_client; /* bytes written to clients */
    uint64_t requests;  /* requests the fake server answered */
    uint64_t open;      /* client connections open right now */
} relay_counts;

/* The counters since relay_start() or the last relay_reset_counts()
 * (`open` is never reset). */
relay_counts relay_get_counts(relay *r);
void relay_reset_counts(relay *r);

#endif
