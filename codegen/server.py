"""Connect the build-time tools to a server: a URL, or a throwaway one."""

import contextlib
import os
import shutil
import subprocess
import tempfile
import time

import resp


@contextlib.contextmanager
def connect(url=None, sentinel=False, binary="redis-server", extra=()):
    """Yield a resp.Connection to `url`, or to a redis-server started here.

    The throwaway server (`binary`: redis-server, valkey-server) listens
    only on a unix socket in a temporary directory, which is its working
    directory too, and is stopped (and the directory removed) on exit.
    `extra` are more server arguments (`--cluster-enabled yes`).
    """
    if url:
        conn = resp.Connection(url)
        try:
            yield conn
        finally:
            conn.close()
        return
    binary = shutil.which(binary)
    if not binary:
        raise SystemExit("the server is not installed (make deps), "
                         "or pass URL=redis://host:port")
    tmp = tempfile.mkdtemp(prefix="reds-tool-")
    sock = os.path.join(tmp, "redis.sock")
    argv = [binary]
    if sentinel:
        conf = os.path.join(tmp, "sentinel.conf")
        with open(conf, "w") as f:
            f.write("port 0\nunixsocket %s\n" % sock)
        argv = [binary, conf, "--sentinel"]
    else:
        argv += ["--port", "0", "--unixsocket", sock, "--save", "",
                 "--appendonly", "no", "--dir", tmp] + list(extra)
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while True:
            try:
                conn = resp.Connection("unix://" + sock)
                conn.call("PING")
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise SystemExit("the throwaway redis-server did not "
                                     "start")
                time.sleep(0.05)
        try:
            yield conn
        finally:
            conn.close()
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


# Command groups only a Sentinel serves: a Redis server has none of their
# commands, and a Sentinel's other commands are the server's own (audited
# and imported from a server).
SENTINEL_GROUPS = ("sentinel",)


def is_sentinel(conn):
    """Whether `conn` talks to a Sentinel (INFO server: redis_mode or
    server_mode)."""
    info = conn.call("INFO", "server")
    # Valkey says server_mode where Redis says redis_mode.
    return "redis_mode:sentinel" in info or "server_mode:sentinel" in info


def identity(conn):
    """(name, version) of the server behind `conn`: Valkey says
    `server_name:valkey` and `valkey_version`; Redis only `redis_version`."""
    info = dict(line.split(":", 1) for line in
                conn.call("INFO", "server").splitlines() if ":" in line)
    name = info.get("server_name", "redis").strip()
    return name, info.get(name + "_version", info.get("redis_version",
                                                      "0.0.0")).strip()


def pairs(flat):
    """A flat [k1, v1, k2, v2] reply as a dict."""
    return dict(zip(flat[::2], flat[1::2]))


def fetch_commands(conn):
    """{name: {"docs": {...}, "info": [...]}} for every leaf command.

    Names are upper case; a subcommand is 'CONTAINER SUB'.
    """
    docs = pairs(conn.call("COMMAND", "DOCS"))
    out = {}

    def add(name, doc, info):
        out[name.replace("|", " ").upper()] = {"docs": doc, "info": info}

    for info in conn.call("COMMAND", "INFO"):
        name = info[0]
        doc = pairs(docs.get(name, []))
        subs = info[9] if len(info) > 9 else []
        if subs:
            subdocs = pairs(doc.get("subcommands", []))
            for sub in subs:
                add(sub[0], pairs(subdocs.get(sub[0], [])), sub)
        else:
            add(name, doc, info)
    return out
