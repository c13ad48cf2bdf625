"""A minimal RESP2 client for the build-time tools (import and audit).

Only what the tools need: connect by URL, send a command, read one reply.
No third-party Redis library is available here, and none is needed.
"""

import socket
import urllib.parse


class RespError(Exception):
    """An error reply from the server."""


def pack(args):
    """A command as RESP: an array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def parse_typed(data, pos=0):
    """One RESP2 or RESP3 reply of `data` as a tree of (type, value) pairs,
    `type` being its first byte: "*" (a list of nodes), "%" (a list of
    (key, value) node pairs), "~", ">", "$", "+", ":", ",", "_", ... Returns
    (node, position after it)."""
    end = data.index(b"\r\n", pos)
    kind, rest, pos = chr(data[pos]), data[pos + 1:end], end + 2
    if kind in "$=!":
        n = int(rest)
        if n < 0:
            return ("_", None), pos
        return (kind, data[pos:pos + n]), pos + n + 2
    if kind in "*~>%|":
        n = int(rest)
        if n < 0:
            return ("_", None), pos
        items = []
        for _ in range(n * (2 if kind in "%|" else 1)):
            item, pos = parse_typed(data, pos)
            items.append(item)
        if kind in "%|":
            items = list(zip(items[::2], items[1::2]))
        if kind == "|":
            return parse_typed(data, pos)
        return (kind, items), pos
    return (kind, rest), pos


class Connection:
    def __init__(self, url="redis://127.0.0.1:6379", timeout=10.0):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme == "unix":
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(urllib.parse.unquote(parts.path))
        elif parts.scheme == "redis":
            self.sock = socket.create_connection(
                (parts.hostname or "127.0.0.1", parts.port or 6379), timeout)
        else:
            raise ValueError("unsupported URL scheme %r (redis:// or unix://)"
                             % parts.scheme)
        self.file = self.sock.makefile("rb")
        if parts.password is not None:
            user = urllib.parse.unquote(parts.username or "default")
            self.call("AUTH", user, urllib.parse.unquote(parts.password))

    def close(self):
        self.file.close()
        self.sock.close()

    def call(self, *args):
        self.sock.sendall(pack(args))
        return self._read()

    def call_raw(self, *args):
        """Send a command; return its reply's bytes exactly as received
        (RESP2 or RESP3), errors included."""
        self.sock.sendall(pack(args))
        return self.read_raw()

    def read_raw(self):
        """The next reply's bytes (a RESP3 push, or a reply not yet read)."""
        line = self.file.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed by server")
        kind, rest, out = line[:1], line[1:-2], [line]
        if kind in b"$=!" and int(rest) >= 0:
            out.append(self.file.read(int(rest) + 2))
        elif kind in b"*~>%|" and int(rest) > 0:
            n = int(rest) * (2 if kind in b"%|" else 1)
            out += [self.read_raw() for _ in range(n)]
        if kind == b"|":
            out.append(self.read_raw())    # the reply the attribute annotates
        return b"".join(out)

    def _read(self):
        line = self.file.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed by server")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.file.read(n + 2)[:-2]
            try:
                return data.decode()
            except UnicodeDecodeError:
                return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise ConnectionError("protocol error: %r" % line)
