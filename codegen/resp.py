"""A minimal RESP2 client for the build-time tools (import and audit).

Only what the tools need: connect by URL, send a command, read one reply.
No third-party Redis library is available here, and none is needed.
"""

import socket
import urllib.parse


class RespError(Exception):
    """An error reply from the server."""


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
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(out))
        return self._read()

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
