#!/usr/bin/env python3
"""Compare spec/ with live servers, check reply kinds against real replies,
and write the command lookup table.

    audit.py [--url URL] [--sentinel-url URL] [--spec DIR] [--report FILE]
             [--group G]... [--server NAME]... [--sentinel]
             [--checker PATH] [--no-replies]

Without --url every server of spec/servers.yaml is audited on a throwaway
instance of its own (`--server NAME`: only those); with --url, the server
behind it, recognised from INFO (Valkey says `server_name:valkey`). The
Sentinel group, which only a Sentinel serves, is audited against
--sentinel-url or a throwaway Sentinel (--sentinel: only that, against
--url or a throwaway one).

For each server: every leaf command it has is accounted for (bound,
dedicated, excluded), commands the spec gives it that it lacks and the
reverse are reported, and every difference between the spec's view of the
command on that server (speclib.server_entry) and the server's own
documentation is listed: argument trees, arity, flags, tips, key specs,
and — where that server is the first in servers.yaml to have the command
or argument — names, since, summaries and deprecation.

Then every bound function (base and variants) is called on a throwaway
server of that kind with sample arguments built from the spec (keys holding
data of the command's type, values of the arguments' types, the function's
fixed and required tokens), and the raw reply is handed to the library's
own converter for the function's reply kind (--checker, built by `make
audit`); the same call in RESP3 tells maps from lists, which RESP2 hides.
A function bound with the generic kind `reply` must say why in the spec
(`dynamic`).

Prints a table by group and every finding; writes docs/coverage.md (the
lookup table: every command, its C functions, the servers that have it and
since when). Exits 1 on any finding, 0 otherwise.
"""

import argparse
import contextlib
import difflib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time

import api
import generate
import import_spec
import resp
import server
import speclib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

DEFAULT_SERVERS = [{"name": "redis", "version": "7.0.15",
                    "binary": "redis-server"}]

# Server-owned fields, grouped as the report names them. Those of the
# documentation categories are compared only by the first server of
# servers.yaml that has the command: later ones may word them otherwise.
CATEGORIES = (
    ("arguments", ("arguments",)),
    ("arity", ("arity",)),
    ("flags", ("flags", "tips")),
    ("key specs", ("key_specs",)),
    ("deprecation", ("deprecated_since", "replaced_by")),
    ("docs", ("summary", "since", "complexity")),
)
DOC_CATEGORIES = ("deprecation", "docs")
# Argument fields a later server may document otherwise (a rename, its own
# `since`): compared only where the audited server is the node's first.
ARG_DOC_FIELDS = ("name", "since", "deprecated_since")
# Marks a spec node whose ARG_DOC_FIELDS another server owns.
FOREIGN = "\0foreign"


# ------------------------------------------------------------ the servers

def catalogue_servers(spec):
    return list(getattr(spec, "servers", None) or DEFAULT_SERVERS)


def server_order(spec):
    return [s["name"] for s in catalogue_servers(spec)]


first_server = speclib.owner
servers_of = speclib.servers_of


# ------------------------------------------------------------ comparisons

def strip(value, order=None, server=None, inherited=None):
    """Server-owned fields only, recursively. With `server`, argument nodes
    whose first server is another are marked FOREIGN (their names and
    `since` are that server's)."""
    if isinstance(value, dict):
        out = {}
        have = servers_of(value, order or [], inherited) if order else None
        for k, v in value.items():
            if k in speclib.ARG_ANNOTATIONS or k == "servers":
                continue
            out[k] = strip(v, order, server, have)
        if server and "name" in value and \
                first_server(have, order) != server:
            out[FOREIGN] = True
        return out
    if isinstance(value, list):
        return [strip(v, order, server, inherited) for v in value]
    return value


def _label(path, item, i):
    if isinstance(item, dict) and "name" in item:
        return "%s[%s]" % (path, item["name"])
    return "%s[%d]" % (path, i)


def _key(item):
    if not isinstance(item, dict):
        return repr(item)
    if item.get(FOREIGN):
        return repr((item.get("type"), item.get("token")))
    return repr((item.get("name"), item.get("type"), item.get("token")))


def differences(spec, live, path, out):
    """Append every place where two values differ, as `path: spec X,
    server Y`: all of them, not only the first."""
    if isinstance(spec, dict) and isinstance(live, dict):
        foreign = spec.get(FOREIGN)
        keys = [k for k in spec if k != FOREIGN] + \
            [k for k in live if k not in spec]
        for key in keys:
            if foreign and key in ARG_DOC_FIELDS:
                continue
            if key not in live:
                out.append("%s.%s: only in the spec (%r)" %
                           (path, key, spec[key]))
            elif key not in spec:
                out.append("%s.%s: only on the server (%r)" %
                           (path, key, live[key]))
            else:
                differences(spec[key], live[key], "%s.%s" % (path, key), out)
        return out
    if isinstance(spec, list) and isinstance(live, list):
        if not any(isinstance(x, (dict, list)) for x in spec + live):
            # Flags, tips: one difference for the whole set.
            if sorted(map(repr, spec)) != sorted(map(repr, live)):
                out.append("%s: spec %r, server %r" % (path, spec, live))
            return out
        if len(spec) == len(live):
            for i, (a, b) in enumerate(zip(spec, live)):
                differences(a, b, _label(path, a, i), out)
            return out
        # Different lengths: pair what matches, report the rest.
        sm = difflib.SequenceMatcher(a=[_key(x) for x in spec],
                                     b=[_key(x) for x in live],
                                     autojunk=False)
        for op, i1, i2, j1, j2 in sm.get_opcodes():
            if op == "equal" or (op == "replace" and i2 - i1 == j2 - j1):
                for i, j in zip(range(i1, i2), range(j1, j2)):
                    differences(spec[i], live[j], _label(path, spec[i], i),
                                out)
                continue
            for i in range(i1, i2):
                out.append("%s: only in the spec" %
                           _label(path, spec[i], i))
            for j in range(j1, j2):
                out.append("%s: only on the server" %
                           _label(path, live[j], j))
        return out
    if spec != live:
        out.append("%s: spec %r, server %r" % (path, spec, live))
    return out


def compare(name, entry, live_entry, srv, order):
    """[(category, detail)] for one command on server `srv`: every
    difference between the spec's view of it there and the server's own."""
    view = speclib.server_entry(entry, srv)
    own = (entry.get("per_server") or {}).get(srv) or {}
    cmd_servers = servers_of(entry, order)
    owner = first_server(cmd_servers, order) == srv
    if "arguments" in own:
        # That server's own tree: compared whole, names included.
        view["arguments"] = strip(own["arguments"])
    else:
        view["arguments"] = strip(view.get("arguments") or [], order, srv,
                                  cmd_servers)
    if not view["arguments"]:
        del view["arguments"]
    out = []
    for category, fields in CATEGORIES:
        if category in DOC_CATEGORIES and not owner:
            continue
        for field in fields:
            ours, theirs = strip(view.get(field)), live_entry.get(field)
            if not ours and not theirs:
                continue        # absent and empty are the same
            found = differences(ours, theirs, field, [])
            out += [(category, d) for d in found]
    return out


def status_of(entry):
    if "dedicated" in entry:
        return "dedicated"
    if "excluded" in entry:
        return "excluded"
    return "bound"


def functions_of(name, entry):
    """[(C function name, ops, reply kind)] of a bound command, base first."""
    return [("reds_" + f, ops, kind)
            for f, ops, kind, _ in speclib.functions(name, entry)]


def audit(spec, live, srv, groups=None, skip=()):
    """The comparison with one server, as data. Groups in `skip` are left
    out (the Sentinel groups, against a server)."""
    order = server_order(spec)
    rows = {}
    mismatches = []
    missing, extra = [], []

    def row(group):
        return rows.setdefault(group, {"bound": 0, "dedicated": 0,
                                       "excluded": 0, "missing": 0,
                                       "extra": 0, "mismatched": 0,
                                       "functions": 0})

    for name in sorted(live):
        group = live[name]["docs"].get("group", "server")
        if groups and group not in groups:
            continue
        fresh = import_spec.entry_from_server(live[name]["docs"],
                                              live[name]["info"])
        entry = spec.commands.get(name)
        if entry is None or not speclib.on_server(entry, srv):
            row(group)["missing"] += 1
            missing.append((group, name, None if entry is None else
                            servers_of(entry, order)))
            continue
        r = row(entry.group)
        status = status_of(entry)
        r[status] += 1
        r["functions"] += len(functions_of(name, entry))
        found = compare(name, entry, fresh, srv, order)
        if entry.group != group:
            found.insert(0, ("group", "group: spec %r, server %r" %
                             (entry.group, group)))
        if found:
            r["mismatched"] += 1
        mismatches += [(name, c, d) for c, d in found]
    for name in sorted(spec.commands):
        entry = spec.commands[name]
        if name in live or entry.group in skip or (
                groups and entry.group not in groups) or \
                not speclib.on_server(entry, srv):
            continue
        row(entry.group)["extra"] += 1
        extra.append((entry.group, name))
    return rows, mismatches, missing, extra


def render(rows, mismatches, missing, extra, source):
    total = {k: sum(r[k] for r in rows.values())
             for k in ("bound", "dedicated", "excluded", "missing", "extra",
                       "mismatched", "functions")}
    accounted = total["bound"] + total["dedicated"] + total["excluded"]
    leaves = accounted + total["missing"]
    text = []
    head = ("group", "bound", "functions", "dedicated", "excluded",
            "missing", "extra", "mismatched")
    text.append("| " + " | ".join(head) + " |")
    text.append("|" + "---|" * len(head))
    for group in sorted(rows):
        r = rows[group]
        text.append("| %s | %d | %d | %d | %d | %d | %d | %d |" % (
            group, r["bound"], r["functions"], r["dedicated"], r["excluded"],
            r["missing"], r["extra"], r["mismatched"]))
    text.append("| **total** | **%d** | **%d** | **%d** | **%d** | **%d** | "
                "**%d** | **%d** |" % (
                    total["bound"], total["functions"], total["dedicated"],
                    total["excluded"], total["missing"], total["extra"],
                    total["mismatched"]))
    summary = ("%d of %d leaf commands accounted for: %d bound (%d functions), "
               "%d served by dedicated APIs, %d excluded; %d missing, "
               "%d extra, %d mismatch(es)" % (
                   accounted, leaves, total["bound"], total["functions"],
                   total["dedicated"], total["excluded"], total["missing"],
                   total["extra"], len(mismatches)))
    details = []
    for group, name, only in missing:
        details.append("- missing: `%s` (group %s) is on %s but not in the "
                       "spec%s" % (name, group, source,
                                   "" if only is None else
                                   " for it (the spec gives it to %s only)"
                                   % ", ".join(only)))
    for group, name in extra:
        details.append("- extra: `%s` (group %s) is in the spec but not on "
                       "%s" % (name, group, source))
    for name, category, detail in mismatches:
        details.append("- mismatch (%s): `%s`: %s" % (category, name, detail))
    return summary, text, details


# ------------------------------------------------- reply kinds: sample calls

# Keys hold data of the command's type; the hash tag keeps every key of a
# call in one slot (the cluster group runs on a one-node cluster).
KEY = "{a}k%d"
DATA = {
    "string": [("SET", "@", "10")],
    "hash": [("HSET", "@", "f1", "10", "f2", "v2")],
    "list": [("RPUSH", "@", "a", "b", "10")],
    "numlist": [("RPUSH", "@", "3", "1", "2")],
    "set": [("SADD", "@", "a", "b", "c")],
    "zset": [("ZADD", "@", "1", "a", "2", "b", "3", "c")],
    "geo": [("GEOADD", "@", "13.361389", "38.115556", "a", "15.087269",
             "37.502669", "b")],
    "hll": [("PFADD", "@", "a", "b", "c")],
    # Two entries, a group `g`, and both pending for consumer `c`.
    "stream": [("XADD", "@", "1-1", "f1", "v1"),
               ("XADD", "@", "2-1", "f2", "v2"),
               ("XGROUP", "CREATE", "@", "g", "0"),
               ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "@", ">")],
}
GROUP_DATA = {"hash": "hash", "list": "list", "set": "set",
              "sorted-set": "zset", "geo": "geo", "hyperloglog": "hll",
              "stream": "stream"}
COMMAND_DATA = {"SORT": "numlist", "SORT_RO": "numlist"}

SCRIPT = "return 1"
SCRIPT_SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()
LIBRARY = "#!lua name=lib\nredis.register_function('f', function() " \
    "return 1 end)\nredis.register_function{function_name='fro', " \
    "callback=function() return 1 end, flags={'no-writes'}}"
# Every call starts from this state (after RESET and FLUSHALL).
GROUP_SETUP = {
    "scripting": [("SCRIPT", "FLUSH"), ("FUNCTION", "FLUSH"),
                  ("SCRIPT", "LOAD", SCRIPT),
                  ("FUNCTION", "LOAD", LIBRARY)],
    # A one-node cluster that serves every slot.
    "cluster": [("CLUSTER", "FLUSHSLOTS"),
                ("CLUSTER", "ADDSLOTSRANGE", "0", "16383")],
    # A Sentinel monitoring a throwaway server (already, after the first).
    "sentinel": [("?", "SENTINEL", "MONITOR", "mymaster", "127.0.0.1",
                  "$port", "1")],
}

# Values by the server's argument name: for one command, for one group,
# then for any command by the argument's type.
COMMAND_VALUES = {
    "ACL DELUSER": {"username": "reds-audit-nobody"},
    "ACL DRYRUN": {"command": "ping"},
    "ACL SETUSER": {"username": "reds-audit"},
    "AUTH": {"password": "reds-audit-pw"},
    "BITOP": {"operation": "AND"},
    "CLIENT KILL": {"ip:port": "$addr"},
    "CLUSTER SETSLOT": {"subcommand": "stable"},
    "COMMAND GETKEYS": {"command": "get", "arg": "k"},
    "COMMAND GETKEYSANDFLAGS": {"command": "get", "arg": "k"},
    "CONFIG GET": {"parameter": "maxmemory"},
    "CONFIG SET": {"parameter": "lfu-log-factor", "value": "10"},
    "EVAL": {"script": SCRIPT},
    "EVAL_RO": {"script": SCRIPT},
    "FCALL": {"function": "f"},
    "FCALL_RO": {"function": "fro"},
    "FUNCTION LOAD": {"function-code": LIBRARY.replace("=lib", "=lib2")
                      .replace("'f'", "'f2'").replace("'fro'", "'fro2'")},
    "FUNCTION RESTORE": {"serialized-value": "$dump"},
    "RESTORE": {"key": "{a}restored", "serialized-value": "$dump"},
    "RESTORE-ASKING": {"key": "{a}restored", "serialized-value": "$dump"},
    "SENTINEL CONFIG": {"parameter": "resolve-hostnames", "value": "no"},
    "SENTINEL DEBUG": {"parameter": "info-period", "value": "10000"},
    "SENTINEL SET": {"option": "down-after-milliseconds", "value": "30000"},
    "SWAPDB": {"index1": 0, "index2": 1},
    "XAUTOCLAIM": {"start": "0-0"},
    "XGROUP CREATE": {"groupname": "g2", "id": "0"},
    "XGROUP CREATECONSUMER": {"consumername": "c2"},
    "XREAD": {"id": "0"},
    "XREADGROUP": {"id": ">"},
    "XSETID": {"last-id": "5-0"},
    "XTRIM": {"threshold": "10"},
    "ZRANGESTORE": {"min": "0", "max": "-1"},
}
# Optional arguments a sample call sends (COMMAND GETKEYS needs the
# command's own arguments).
COMMAND_INCLUDE = {"COMMAND GETKEYS": ("arg",),
                   "COMMAND GETKEYSANDFLAGS": ("arg",)}
# Commands to run first and after. `=name` keeps a reply (or its field
# `name=`) for `$name`; `?` ignores an error; `@idle` waits for background
# saves.
COMMAND_SETUP = {
    "AUTH": [("ACL", "SETUSER", "default", "on", ">reds-audit-pw")],
    # No background save or rewrite runs (BGSAVE's of the call before).
    "BGREWRITEAOF": [("@idle",)],
    "BGSAVE": [("@idle",)],
    "CLIENT CACHING": [("CLIENT", "TRACKING", "ON", "OPTIN")],
    # Its own connection's address: killed after the reply.
    "CLIENT KILL": [("=addr", "CLIENT", "INFO")],
    "CLUSTER ADDSLOTS": [("CLUSTER", "DELSLOTS", "0")],
    "CLUSTER ADDSLOTSRANGE": [("CLUSTER", "DELSLOTSRANGE", "0", "1")],
    # A fresh node, whose config epoch is still 0.
    "CLUSTER SET-CONFIG-EPOCH": [("CLUSTER", "RESET", "HARD")],
    "FUNCTION RESTORE": [("=dump", "FUNCTION", "DUMP"),
                         ("FUNCTION", "FLUSH")],
    # A latency sample: a script slower than the threshold.
    "LATENCY GRAPH": [("CONFIG", "SET", "latency-monitor-threshold", "1"),
                      ("EVAL", "local i = 0 while i < 2000000 do i = i + 1 "
                       "end", "0")],
    "OBJECT FREQ": [("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")],
    "RESTORE": [("SET", "{a}k1", "10"), ("=dump", "DUMP", "{a}k1")],
    "RESTORE-ASKING": [("SET", "{a}k1", "10"), ("=dump", "DUMP", "{a}k1")],
    "SAVE": [("@idle",)],
    "SENTINEL MONITOR": [("?", "SENTINEL", "REMOVE", "reds-audit")],
}
COMMAND_TEARDOWN = {
    "AUTH": [("ACL", "SETUSER", "default", "nopass")],
    "LATENCY GRAPH": [("CONFIG", "SET", "latency-monitor-threshold", "0"),
                      ("LATENCY", "RESET")],
    "OBJECT FREQ": [("CONFIG", "SET", "maxmemory-policy", "noeviction")],
}
GROUP_VALUES = {
    "stream": {"start": "-", "end": "+", "id": "1-1", "group": "g",
               "groupname": "g", "consumer": "c", "consumername": "c",
               "count": 10, "field": "f", "value": "v", "min-idle-time": 0},
    "sorted-set": {"min": "-inf", "max": "+inf", "start": "0", "stop": "-1",
                   "score": 1, "increment": 1},
    "cluster": {"slot": 0},
    "sentinel": {"master-name": "mymaster", "ip": "127.0.0.1",
                 "port": "$port", "quorum": 1, "current-epoch": 0,
                 "runid": "*", "nodename": "mymaster", "name": "reds-audit",
                 "pattern": "reds-audit-none"},
}
LEX_VALUES = {"min": "-", "max": "+"}      # ZRANGEBYLEX and friends
INTEGER_VALUES = {
    "count": 2, "offset": 0, "index": 0, "start": 0, "stop": -1, "end": -1,
    "db": 1, "destination-db": 1, "timeout": 1, "seconds": 100,
    "milliseconds": 100000, "increment": 1, "decrement": 1,
    "numreplicas": 0, "numlocal": 0, "cursor": 0, "ttl": 0, "min-idle-time": 0,
    "client-id": 999999, "slot": 0, "start-slot": 0, "end-slot": 1,
    "config-epoch": 1, "num-matches": 1, "bit": 1, "value": 1, "port": 1,
}
DOUBLE_VALUES = {"timeout": 0.01, "increment": 1.5, "score": 1,
                 "longitude": 15, "latitude": 37, "radius": 200000,
                 "width": 400000, "height": 400000}
STRING_VALUES = {
    "field": "f1", "member": "a", "member1": "a", "member2": "b",
    "element": "a", "pivot": "a", "value": "10", "message": "hello",
    "channel": "ch", "shardchannel": "ch", "pattern": "*",
    "username": "default", "connection-name": "reds-audit",
    "event": "command", "ip:port": "127.0.0.1:1", "host": "127.0.0.1",
    "script": SCRIPT, "sha1": SCRIPT_SHA, "function": "f",
    "library-name": "lib", "node-id": "$myid", "parameter": "maxmemory",
}
# Not run: what they would do to a server (even a throwaway one) ends the
# audit's own session or reaches beyond it.
UNSAFE = {
    "SHUTDOWN": "stops the server",
    "FAILOVER": "hands the server's role to a replica",
    "REPLICAOF": "makes the server a replica",
    "SLAVEOF": "makes the server a replica",
    "MIGRATE": "moves keys to another server",
    "CLUSTER MEET": "joins the node to another",
    "CLUSTER FAILOVER": "needs a second node (a replica)",
    "CLUSTER FORGET": "needs a second node",
    "CLUSTER REPLICATE": "needs a second node",
}

SAFE_FUNCTIONS = ("reds_replicaof_no_one", "reds_slaveof_no_one")


class Skip(Exception):
    """A function whose reply kind is not checked, and why."""

    def __init__(self, reason, detail=""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class Sample:
    """One function's sample call."""

    def __init__(self, command, function, kind, argv, keys, setup, teardown,
                 data, group):
        self.command = command
        self.function = function
        self.kind = kind
        self.argv = argv
        self.keys = keys
        self.setup = setup
        self.teardown = teardown
        self.data = data
        self.group = group


def sample_value(command, group, arg):
    """A value the server accepts for a value argument of `command`."""
    name, stype = arg.name, arg.spec["type"]
    for table in (COMMAND_VALUES.get(command, {}),
                  LEX_VALUES if "LEX" in command else {},
                  GROUP_VALUES.get(group, {})):
        if name in table:
            return table[name]
    if stype == "integer":
        return INTEGER_VALUES.get(name, 1)
    if stype == "unix-time":
        now = int(time.time()) + 1000
        return now * 1000 if "milli" in name else now
    if stype == "double":
        return DOUBLE_VALUES.get(name, 1.5)
    if stype == "pattern":
        return STRING_VALUES.get(name, "*")
    return STRING_VALUES.get(name, "v")


def sample_call(name, entry, function, ops, kind, srv, flags=False):
    """The Sample of one function on server `srv` (with `flags`, every
    optional pure token it can send too), or raises Skip."""
    if name in UNSAFE and function not in SAFE_FUNCTIONS:
        raise Skip("not run: %s" % UNSAFE[name])
    args = generate.named_apart([generate.Arg(a, entry.where()) for a in
                                 entry.get("arguments") or
                                 entry.get("c_arguments", [])])
    generate.apply_ops(args, ops, entry.where(), name, entry.get("arity"))
    generate.resolve_counts(args, entry.where(), name)
    group = entry.group
    include = COMMAND_INCLUDE.get(name, ())
    choose = COMMAND_VALUES.get(name, {})
    argv = name.split()
    keys = []
    counts = {}         # id(array argument) -> elements sent
    pending = []        # (position in argv, count_of argument)

    def emit(arg, forced=False):
        if arg.optional and not forced and not arg.fixed and \
                arg.name not in include:
            if not (flags and arg.type == "pure-token" and
                    speclib.on_server(arg.spec, srv)):
                return
        if not speclib.on_server(arg.spec, srv):
            raise Skip("not applicable: sends %s, which %s lacks" %
                       (arg.name, srv))
        if arg.type == "pure-token":
            argv.append(arg.token)
        elif arg.type == "oneof":
            if arg.token:
                argv.append(arg.token)
            choices = [c for c in arg.children
                       if speclib.on_server(c.spec, srv)]
            pick = [c for c in choices if c.name == choose.get(arg.name)]
            emit((pick or choices)[0], True)
        elif arg.type == "block":
            if arg.token:
                argv.append(arg.token)
            for child in arg.children:
                emit(child)
        else:
            if arg.token:
                argv.append(arg.token)
            if arg.count_of:
                pending.append((len(argv), arg))
                argv.append(None)
            elif arg.spec["type"] == "key" and \
                    "key" not in COMMAND_VALUES.get(name, {}):
                keys.append(KEY % (len(keys) + 1))
                argv.append(keys[-1])
            else:
                argv.append(sample_value(name, group, arg))
        counts[id(arg)] = 1

    for arg in args:
        emit(arg)
    for pos, arg in pending:
        target = [a for a in args if a is not arg and
                  arg.count_of in (a.name, a.cname.rstrip("_"))]
        argv[pos] = sum(counts.get(id(t), 0) for t in target)
    data = COMMAND_DATA.get(name, GROUP_DATA.get(group, "string"))
    return Sample(name, function, kind, [str(a) for a in argv], keys,
                  COMMAND_SETUP.get(name, []), COMMAND_TEARDOWN.get(name, []),
                  data, group)


class Runner:
    """One connection to a throwaway server, reopened when a command (QUIT)
    closes it. Replies are raw bytes."""

    def __init__(self, url, sentinel=False, values=None):
        self.url = url
        self.sentinel = sentinel
        self.conn = None
        self.values = dict(values or {})

    def raw(self, *args):
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = resp.Connection(self.url)
                return self.conn.call_raw(*args)
            except (ConnectionError, OSError):
                if self.conn:
                    self.conn.close()
                self.conn = None
                if attempt:
                    raise

    def close(self):
        if self.conn:
            self.conn.close()

    def value(self, reply, name=None):
        """A reply's value; of a `name=value ...` text (CLIENT INFO), the
        field `name`."""
        node, _ = resp.parse_typed(reply)
        text = node[1]
        if isinstance(text, bytes) and name and \
                (b"%s=" % name.encode()) in text:
            for word in text.split():
                if word.startswith(b"%s=" % name.encode()):
                    return word.split(b"=", 1)[1].decode()
        return text

    def idle(self):
        """Wait (a few seconds at most) until no background save or
        rewrite runs."""
        for _ in range(200):
            info = self.value(self.raw("INFO", "persistence"))
            if b"rdb_bgsave_in_progress:0" in info and \
                    b"aof_rewrite_in_progress:0" in info:
                return
            time.sleep(0.02)

    def setup(self, sample, proto):
        if self.sentinel:
            # A Sentinel has no RESET or FLUSHALL; HELLO picks RESP.
            self.raw("HELLO", str(proto))
        else:
            self.raw("RESET")
            if proto == 3:
                self.raw("HELLO", "3")
            self.raw("FLUSHALL")
        steps = list(GROUP_SETUP.get(sample.group, []))
        for key in sample.keys:
            steps += [tuple(key if w == "@" else w for w in step)
                      for step in DATA[sample.data]]
        steps += sample.setup
        if sample.group == "cluster":
            steps.append(("=myid", "CLUSTER", "MYID"))
        for step in steps:
            if step == ("@idle",):
                self.idle()
                continue
            keep = step[0][1:] if step[0].startswith("=") else None
            tolerant = step[0] == "?"       # its error does not matter
            if keep or tolerant:
                step = step[1:]
            reply = self.raw(*(self.values.get(w[1:], w)
                               if w.startswith("$") else w for w in step))
            if reply[:1] in b"-!" and not tolerant:
                raise Skip("the sample call failed",
                           "setup %s: %s" % (" ".join(step),
                                             error_text(reply)))
            if keep:
                self.values[keep] = self.value(reply, keep)

    def call(self, sample, proto):
        """The raw reply of the sample call in RESP `proto`; Skip when the
        server refuses it."""
        self.setup(sample, proto)
        argv = [self.values.get(a[1:], a) if a.startswith("$") else a
                for a in sample.argv]
        reply = self.raw(*argv)
        while reply[:1] == b">":       # a RESP3 push before the reply
            reply = self.conn.read_raw()
        for step in sample.teardown:
            self.raw(*step)
        if reply[:1] in b"-!":
            raise Skip("the sample call failed", error_text(reply))
        return reply


def error_text(reply):
    text = reply.split(b"\r\n", 1)[0][1:].decode("utf-8", "replace")
    return text if len(text) <= 80 else text[:77] + "..."


def show(argv):
    """A command line as a person would type it (long words shortened)."""
    words = []
    for a in argv:
        a = a if len(a) <= 40 else a[:37] + "..."
        words.append(a if a and not any(c in a for c in " \n\"'") else
                     repr(a))
    return " ".join(words)


def show_reply(reply):
    text = repr(reply[:60])[2:-1]
    return text + ("..." if len(reply) > 60 else "")


# ------------------------------------------ reply kinds: shapes from RESP3

LIST_CONVERTERS = ("strlist", "nullable_strlist", "intlist", "opt_intlist",
                   "doublelist", "boollist")


class Shapes:
    """What RESP3 tells that RESP2 hides: maps. A kind that reads a list
    (strlist, a record whose fields are by position) must not be answered
    with a map, and a kind that reads pairs must not be answered with a
    set or a list of anything but pairs."""

    def __init__(self, replies):
        self.kinds = replies.get("kinds") or {}
        self.records = replies.get("records") or {}

    def kind(self, name, node):
        out = []
        kind = self.kinds.get(name)
        if kind is None or name == speclib.GENERIC_REPLY:
            return out
        if kind.get("record"):
            if kind.get("list"):
                self.list_of(kind["record"], node, "the reply", out)
            else:
                self.record(kind["record"], node, "the reply", out)
        else:
            self.basic(kind.get("converter") or name, node, "the reply", out)
        return out

    def basic(self, conv, node, path, out):
        if node[0] == "%" and conv in LIST_CONVERTERS:
            out.append("%s is a map, which %s reads as a list" % (path, conv))
        elif node[0] in "*~" and conv in LIST_CONVERTERS and any(
                item[0] in "*~%" for item in node[1]):
            # RESP2 flattens what RESP3 nests (ZRANGE WITHSCORES' pairs).
            out.append("%s is a list of lists, which %s reads as a flat "
                       "list" % (path, conv))
        elif conv == "map":
            self.pairs(node, path, "map", out)

    def pairs(self, node, path, what, out):
        if node[0] == "~":
            out.append("%s is a set, which %s reads as pairs" % (path, what))

    def field(self, ftype, node, path, out):
        if node[0] == "_":
            return
        if ftype in ("strlist", "intlist", "map"):
            self.basic(ftype, node, path, out)
        elif ftype.startswith("record:"):
            self.record(ftype[7:], node, path, out)
        elif ftype.startswith("list:"):
            self.list_of(ftype[5:], node, path, out)

    def list_of(self, name, node, path, out):
        rec = self.records.get(name) or {}
        fields = rec.get("fields") or []
        if node[0] == "%":
            # Name/value records read a map's entries (PUBSUB NUMSUB, and
            # XREAD's streams, which RESP2 sends as [name, entries] arrays).
            if rec.get("shape") not in ("pairs", "array") or \
                    len(fields) < 2:
                out.append("%s is a map, read as a list of %s" %
                           (path, name))
                return
            value = fields[1]
            for k, v in node[1]:
                self.field(value.get("type", ""), v,
                           "%s[%s]" % (path, k[1]), out)
            return
        if node[0] in "*~" and rec.get("shape") != "pairs":
            for i, item in enumerate(node[1]):
                self.record(name, item, "%s[%d]" % (path, i), out)

    def record(self, name, node, path, out):
        rec = self.records.get(name) or {}
        shape, fields = rec.get("shape"), rec.get("fields") or []
        if node[0] == "_":
            return
        if shape == "array":
            if node[0] == "%":
                out.append("%s is a map, which %s reads by position" %
                           (path, name))
                return
            if node[0] not in "*~":
                return
            items = node[1]
            for i, f in enumerate(fields):
                if f.get("rest"):
                    ftype = f.get("type", "")
                    for j, item in enumerate(items[i:]):
                        if ftype.startswith("list:"):
                            self.record(ftype[5:], item, "%s.%s[%d]" %
                                        (path, f["name"], j), out)
                    break
                if i < len(items):
                    self.field(f.get("type", ""), items[i],
                               "%s.%s" % (path, f["name"]), out)
        elif shape == "map":
            if node[0] == "~" or (node[0] == "*" and node[1] and
                                  node[1][0][0] != "$" and
                                  node[1][0][0] != "+"):
                out.append("%s is a list, which %s reads as name/value "
                           "pairs" % (path, name))
                return
            if node[0] != "%":
                return
            by_key = {f.get("key", f["name"]): f for f in fields
                      if not f.get("prefix")}
            for k, v in node[1]:
                key = k[1].decode("utf-8", "replace") \
                    if isinstance(k[1], bytes) else str(k[1])
                if key in by_key:
                    self.field(by_key[key].get("type", ""), v,
                               "%s.%s" % (path, key), out)
        elif shape == "pairs":
            if node[0] == "*" and len(node[1]) == 2 and len(fields) > 1:
                self.field(fields[1].get("type", ""), node[1][1],
                           "%s.%s" % (path, fields[1]["name"]), out)


# ------------------------------------------------- reply kinds: the check

class ReplyCheck:
    """Every bound function of `srv`'s commands (or, `sentinel`, of the
    Sentinel groups), called on throwaway servers, its reply converted by
    the library (`checker`)."""

    def __init__(self, spec, srv, checker, sentinel=False):
        self.spec = spec
        self.srv = srv
        self.checker = checker
        self.sentinel = sentinel
        self.results = []       # (command, function, kind, status, detail)

    def samples(self, groups):
        for name in sorted(self.spec.commands):
            entry = self.spec.commands[name]
            if not speclib.on_server(entry, self.srv) or \
                    (groups and entry.group not in groups) or \
                    (entry.group in server.SENTINEL_GROUPS) != self.sentinel:
                continue
            for function, ops, kind in functions_of(name, entry):
                # The fewest arguments, then every optional flag (pure
                # token) too: no flag a function sends may change its
                # reply's shape (that is a variant's job).
                try:
                    samples = [sample_call(name, entry, function, ops, kind,
                                           self.srv, flags)
                               for flags in (False, True)]
                except Skip as e:
                    yield name, function, kind, e
                    continue
                if samples[1].argv == samples[0].argv:
                    del samples[1]
                yield name, function, kind, samples

    def run(self, targets, groups=None):
        """`targets`: {"standalone" | "cluster" | "sentinel": f}, f() giving
        a Runner on a throwaway server (started when first needed)."""
        shapes = Shapes(self.spec.replies)
        runners = {}
        done = []       # ((command, function, kind), [(sample, RESP2, RESP3)])
        try:
            for name, function, kind, samples in self.samples(groups):
                key = (name, function, kind)
                if isinstance(samples, Skip):
                    if not samples.reason.startswith("not applicable"):
                        self.results.append(key + ("skipped",
                                                   samples.reason))
                    continue
                where = "sentinel" if self.sentinel else "cluster" \
                    if samples[0].group == "cluster" else "standalone"
                if where not in runners:
                    runners[where] = targets[where]()
                runner = runners[where]
                calls = []
                for i, sample in enumerate(samples):
                    try:
                        reply2 = runner.call(sample, 2)
                    except Skip as e:
                        if i == 0:
                            self.results.append(key + ("skipped", "%s: %s" %
                                                       (e.reason, e.detail)))
                            break
                        continue    # flags this server refuses together
                    try:
                        reply3 = runner.call(sample, 3)
                    except Skip:
                        reply3 = None
                    calls.append((sample, reply2, reply3))
                if calls:
                    done.append((key, calls))
        finally:
            for runner in runners.values():
                runner.close()
        verdicts = iter(self.convert([
            (sample.kind, reply2)
            for _, calls in done for sample, reply2, _ in calls]))
        for key, calls in done:
            status, detail = "checked", ""
            for sample, reply2, reply3 in calls:
                found = self.judge(sample, next(verdicts), reply2, reply3,
                                   shapes)
                if found and status == "checked":
                    status, detail = found
            self.results.append(key + (status, detail))

    def judge(self, sample, verdict, reply2, reply3, shapes):
        """None when the reply fits the kind, else (status, detail)."""
        conv = sample.kind
        if verdict.startswith("unknown"):
            return ("mismatch", "reply kind %r: no converter reds_kind_%s "
                    "in %s (a stale build? make generate, then make audit)" %
                    (conv, conv, self.checker))
        if verdict.startswith("unparsable"):
            # Not the kind's fault: the library cannot read the reply at
            # all (hiredis 0.14's reader stops at 7 levels).
            return ("unreadable", "the library's reader cannot read the "
                    "reply to `%s`: %s" % (show(sample.argv),
                                           verdict.split(" ", 1)[-1]))
        if verdict != "ok":
            return ("mismatch", "the %s converter refuses the reply to `%s` "
                    "(`%s`): %s" % (conv, show(sample.argv),
                                    show_reply(reply2),
                                    verdict.split(": ", 1)[-1]))
        found = shapes.kind(sample.kind, resp.parse_typed(reply3)[0]) \
            if reply3 is not None else []
        if found:
            return ("mismatch", "in the RESP3 reply to `%s`, %s" %
                    (show(sample.argv), "; ".join(found)))
        return None

    def convert(self, items):
        """The checker's verdict on each (reply kind, raw reply)."""
        if not items:
            return []
        data = b"".join(b"%s %d\n%s" % (kind.encode(), len(raw), raw)
                        for kind, raw in items)
        proc = subprocess.run([self.checker], input=data,
                              stdout=subprocess.PIPE, check=True)
        lines = proc.stdout.decode("utf-8", "replace").splitlines()
        if len(lines) != len(items):
            raise SystemExit("audit: %s answered %d of %d replies" %
                             (self.checker, len(lines), len(items)))
        return lines

    def summary(self):
        checked = sum(1 for r in self.results if r[3] == "checked")
        wrong = sum(1 for r in self.results if r[3] == "mismatch")
        kinds = (("not run", "not run (unsafe, or needing a second node)"),
                 ("the sample call failed", "refused by the server"),
                 ("the library's reader", "unreadable by the library"))
        counts = []
        for prefix, label in kinds:
            n = sum(1 for r in self.results if r[3] != "checked" and
                    r[3] != "mismatch" and r[4].startswith(prefix))
            if n:
                counts.append("%d %s" % (n, label))
        skipped = len(self.results) - checked - wrong
        text = "checked %d of %d functions' reply kinds (%d wrong); " \
            "skipped %d" % (checked + wrong, len(self.results), wrong,
                            skipped)
        return text + (" (%s)" % ", ".join(counts) if counts else "")

    def details(self):
        """Findings (reply kinds the server's replies refute)."""
        return ["- reply kind: `%s` %s (%s): %s" % (c, f, k, d)
                for c, f, k, s, d in self.results if s == "mismatch"]

    def warnings(self):
        """Replies the library cannot read whatever the kind: a runtime
        limit, reported without failing the audit of the spec."""
        return ["- warning (reader): `%s` %s: %s" % (c, f, d)
                for c, f, k, s, d in self.results if s == "unreadable"]


def generic_replies(spec):
    """Functions bound with the generic reply kind whose command does not
    say why (`dynamic`)."""
    out = []
    for name in sorted(spec.commands):
        entry = spec.commands[name]
        if "dynamic" in entry:
            continue
        for function, _, kind in functions_of(name, entry):
            if kind == speclib.GENERIC_REPLY:
                out.append("- generic reply: `%s` %s is bound with the "
                           "generic kind `reply` and the spec does not say "
                           "why (give it a reply kind, or `dynamic: "
                           "<why>` if its shape truly varies)" %
                           (name, function))
    return out


# ------------------------------------------------------------- the report

def lookup_table(spec, lives):
    """Every command: its C functions (or API, or why not), and the servers
    that have it, since when."""
    servers = catalogue_servers(spec)
    order = [s["name"] for s in servers]
    head = ["command", "group", "C functions (reply kind)"] + \
        [s["name"] for s in servers]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    apis = {"pubsub": "the pub/sub API", "monitor": "the MONITOR API",
            "transaction": "pipelines and transactions"}
    for name in sorted(spec.commands):
        entry = spec.commands[name]
        status = status_of(entry)
        if status == "dedicated":
            what = "served by %s" % apis.get(entry["dedicated"],
                                             entry["dedicated"])
        elif status == "excluded":
            what = "excluded: %s" % entry["excluded"]
        else:
            what = "<br>".join("`%s` (%s)" % (f, k) for f, _, k in
                               functions_of(name, entry))
        have = servers_of(entry, order)
        owner = first_server(have, order)
        cells = []
        for s in order:
            if s not in have:
                cells.append("—")
            elif s == owner:
                cells.append(str(entry.get("since", "?")))
            elif s in lives and name in lives[s]:
                cells.append(str(lives[s][name]["docs"].get("since", "?")))
            else:
                cells.append("yes")
        out.append("| `%s` | %s | %s | %s |" % (
            name, entry.group, what.replace("|", "\\|"), " | ".join(cells)))
    return out


# ------------------------------------------------------------------ runs

class Run:
    """One audited server (or Sentinel)."""

    def __init__(self, source, summary, table, details, clean):
        self.source = source
        self.summary = summary
        self.table = table
        self.details = details
        self.clean = clean
        self.replies = None       # a ReplyCheck
        self.name = None
        self.live = None


def identify(conn):
    """(server name, version, is Sentinel)."""
    name, version = server.identity(conn)
    return name, version, server.is_sentinel(conn)


def unix_url(conn):
    return "unix://" + conn.sock.getpeername()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_replies(spec, name, binary, checker, groups, stack, own,
                  sentinel):
    """The ReplyCheck of server `name` (or of its Sentinel): on the audit's
    own throwaway server (`own`) when it has one, else on one of the same
    kind, never on a server given by URL; the cluster group on a one-node
    cluster; the Sentinel group on a Sentinel that monitors a throwaway
    server. Servers start when first needed and stop with `stack`."""
    def start(sentinel=False, *extra):
        return stack.enter_context(server.connect(None, sentinel, binary,
                                                  extra))

    def standalone():
        return Runner(unix_url(own or start()))

    def cluster():
        return Runner(unix_url(start(False, "--cluster-enabled", "yes")))

    def sentinel_runner():
        port = free_port()
        start(False, "--port", str(port))
        return Runner(unix_url(own or start(True)), True, {"port": port})

    check = ReplyCheck(spec, name, checker, sentinel)
    check.run({"standalone": standalone, "cluster": cluster,
               "sentinel": sentinel_runner}, groups)
    return check


def audit_one(spec, url, sentinel, groups, binary, checker):
    """Audit one live server (or Sentinel); check reply kinds on
    throwaway servers of its kind (when `checker`)."""
    entry_for = {s["name"]: s for s in catalogue_servers(spec)}
    with contextlib.ExitStack() as stack:
        conn = stack.enter_context(server.connect(url, sentinel, binary))
        name, version, is_sentinel = identify(conn)
        live = server.fetch_commands(conn)
        if name not in entry_for:
            return Run("%s %s" % (name, version),
                       "the catalogue does not describe %s "
                       "(spec/servers.yaml: %s)" %
                       (name, ", ".join(entry_for)), [], [], False)
        notes = []
        if is_sentinel:
            # A Sentinel's other commands are the server's own.
            groups = [g for g in groups or server.SENTINEL_GROUPS
                      if g in server.SENTINEL_GROUPS]
            skip = ()
        else:
            skip = server.SENTINEL_GROUPS
        if version != entry_for[name]["version"]:
            notes.append("- note: %s %s; the catalogue describes %s" %
                         (name, version, entry_for[name]["version"]))
        rows, mismatches, missing, extra = audit(spec, live, name, groups,
                                                 skip)
        source = "%s %s%s" % (name, version,
                              " (Sentinel)" if is_sentinel else "")
        summary, table, details = render(rows, mismatches, missing, extra,
                                         source)
        run = Run(source, summary, table, notes + details,
                  not (missing or extra or mismatches))
        run.name, run.live = name, live
        binary = entry_for[name]["binary"]
        if checker and shutil.which(binary):
            run.replies = check_replies(spec, name, binary, checker, groups,
                                        stack, None if url else conn,
                                        is_sentinel)
            run.details += run.replies.details() + run.replies.warnings()
            run.clean = run.clean and not run.replies.details()
        elif checker:
            run.details.append("- note: reply kinds not checked: %s is not "
                               "installed" % binary)
    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", help="server to compare with (default: a "
                    "throwaway one of each server of spec/servers.yaml)")
    ap.add_argument("--sentinel-url", help="Sentinel to compare the "
                    "Sentinel group with (default: a throwaway one)")
    ap.add_argument("--spec", default=os.path.join(ROOT, "spec"))
    ap.add_argument("--report", default=os.path.join(ROOT, "docs",
                                                     "coverage.md"),
                    help="Markdown report to write ('-' for none)")
    ap.add_argument("--group", action="append",
                    help="audit only this group (repeatable)")
    ap.add_argument("--server", action="append",
                    help="without --url: audit only this server of "
                    "spec/servers.yaml (repeatable; no Sentinel)")
    ap.add_argument("--sentinel", action="store_true",
                    help="audit only the Sentinel group, against a "
                    "Sentinel (--url, or a throwaway one)")
    ap.add_argument("--checker", default=os.path.join(ROOT, "build", "tools",
                                                      "check_reply"),
                    help="the reply converter program (make audit builds "
                    "it)")
    ap.add_argument("--no-replies", action="store_true",
                    help="do not check reply kinds against real replies")
    args = ap.parse_args()

    spec = speclib.Spec(args.spec)
    servers = catalogue_servers(spec)
    notes = []
    checker = None if args.no_replies else args.checker
    if checker and not os.access(checker, os.X_OK):
        notes.append("reply kinds were not checked: no %s (make audit "
                     "builds it)" % checker)
        checker = None
    runs = []
    want_server = not args.sentinel and not (
        args.group and all(g in server.SENTINEL_GROUPS for g in args.group))
    want_sentinel = not args.server and (
        args.sentinel or not args.group or
        any(g in server.SENTINEL_GROUPS for g in args.group))
    if want_server:
        if args.url:
            runs.append(audit_one(spec, args.url, False, args.group, None,
                                  checker))
        else:
            for s in servers:
                if args.server and s["name"] not in args.server:
                    continue
                if not shutil.which(s["binary"]):
                    notes.append("%s was not audited: %s is not installed "
                                 "(make deps)" % (s["name"], s["binary"]))
                    continue
                runs.append(audit_one(spec, None, False, args.group,
                                      s["binary"], checker))
    if want_sentinel:
        url = args.url if args.sentinel else args.sentinel_url
        binaries = [s["binary"] for s in servers if shutil.which(s["binary"])]
        if url:
            runs.append(audit_one(spec, url, False, args.group, None,
                                  checker))
        for binary in [] if url else binaries:
            # Each server's own Sentinel: Valkey's names primaries too.
            runs.append(audit_one(spec, None, True, args.group, binary,
                                  checker))
        if not url and not binaries:
            notes.append("the Sentinel group was not audited: no server to "
                         "start a Sentinel with (pass --sentinel-url)")
    generic = generic_replies(spec) if want_server else []

    for run in runs:
        print("audit against %s" % run.source)
        for line in run.table:
            print(line)
        for line in run.details:
            print(line)
        print(run.summary)
        if run.replies:
            print("reply kinds on %s: %s" % (run.source,
                                             run.replies.summary()))
    for line in generic:
        print(line)
    if want_server:
        print("generic replies: %d function(s) bound with the generic kind "
              "`reply` without a reason (dynamic)" % len(generic))
    # What people wrote that no server shows (a c_as, an exclusive group):
    # the generated API it gave is in the baseline, so losing it is seen.
    api_ok = True
    if want_server and os.path.exists(api.BASELINE):
        try:
            files = generate.generate(args.spec)
        except speclib.SpecError as e:
            for p in e.problems:
                print(p)
            api_ok = False
        else:
            decls = [d for path in api.PUBLIC for d in api.extract(files[path])]
            api_ok = api.report(api.read_baseline(), decls, out=sys.stdout)
            print("api: %s" % ("every declaration of api/commands.api holds"
                               if api_ok else "the generated API broke"))
    for note in notes:
        print("audit: " + note)

    if args.report != "-":
        write_report(args.report, spec, runs, generic, notes)
    clean = all(r.clean for r in runs) and not generic and api_ok
    return 0 if clean else 1


def write_report(path, spec, runs, generic, notes):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    md = ["# Command coverage", "",
          "Generated by `make audit` (codegen/audit.py) against %s; do not "
          "edit by hand." % ", ".join(r.source for r in runs), ""]
    for run in runs:
        title = run.source[0].upper() + run.source[1:]
        if run.source.endswith("(Sentinel)"):
            title = "The Sentinel group, against %s" % run.source
        md += ["## %s" % title, "", "**%s.**" % run.summary, ""]
        if run.replies:
            md += ["Reply kinds, against real replies: %s." %
                   run.replies.summary(), ""]
        md += run.table + [""]
        if run.details:
            md += run.details + [""]
    if generic:
        md += ["## Generic replies without a reason", ""] + generic + [""]
    md += ["_%s._" % (n[0].upper() + n[1:]) for n in notes]
    md += ["## Commands", "",
           "Every command of the catalogue: the functions that bind it "
           "(with their reply kinds), or the API that serves it, or why it "
           "is not bound; and the servers that have it, since which "
           "version.", ""]
    md += lookup_table(spec, {r.name: r.live for r in runs
                              if r.live and "Sentinel" not in r.source})
    md += ["", "## Reply kinds not checked, and why", ""]
    for run in runs:
        skipped = ["- `%s` %s: %s" % (c, f, d) for c, f, k, s, d in
                   (run.replies.results if run.replies else [])
                   if s in ("skipped", "unreadable")]
        if skipped:
            md += ["On %s:" % run.source, ""] + skipped + [""]
    with open(path, "w") as f:
        f.write("\n".join(md))


if __name__ == "__main__":
    sys.exit(main())
