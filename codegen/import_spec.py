#!/usr/bin/env python3
"""Create or update spec/*.yaml from a live server's COMMAND DOCS and INFO.

    import_spec.py [--url URL] [--spec DIR] [--group G]... [--sentinel]

Without --url a throwaway redis-server is started (and stopped); with
--sentinel it is a Sentinel. From a Sentinel only the Sentinel group is
imported (its other commands are the server's own). Server
fields (arguments, key specs, flags, tips, arity, since, summary,
deprecation) are replaced by what the server says; annotations (reply,
c_name, variants, scope, dedicated, excluded, cacheable, and c_name/c_type on
arguments) are kept. A command new to the spec arrives with the generic
reply kind `reply`, so it is usable at once after `make generate`.
"""

import argparse
import os
import re
import shutil
import sys
import tempfile

import api
import generate
import server
import speclib


def _arg(doc):
    doc = server.pairs(doc)
    out = {"name": doc["name"], "type": doc["type"]}
    for key in ("token", "key_spec_index"):
        if key in doc:
            out[key] = doc[key]
    for flag in doc.get("flags", []):
        out[flag] = True
    for key in ("since", "deprecated_since"):
        if key in doc:
            out[key] = doc[key]
    if "arguments" in doc:
        out["arguments"] = [_arg(a) for a in doc["arguments"]]
    return out


def _keyspec(flat):
    ks = server.pairs(flat)
    out = {"flags": list(ks["flags"])}
    bs = server.pairs(ks["begin_search"])
    spec = server.pairs(bs["spec"])
    if bs["type"] == "index":
        out["begin_search"] = {"index": spec["index"]}
    elif bs["type"] == "keyword":
        out["begin_search"] = {"keyword": {"keyword": spec["keyword"],
                                           "startfrom": spec["startfrom"]}}
    else:
        out["begin_search"] = {"unknown": None}
    fk = server.pairs(ks["find_keys"])
    spec = server.pairs(fk["spec"])
    if fk["type"] == "range":
        out["find_keys"] = {"range": {"lastkey": spec["lastkey"],
                                      "keystep": spec["keystep"],
                                      "limit": spec["limit"]}}
    elif fk["type"] == "keynum":
        out["find_keys"] = {"keynum": {"keynumidx": spec["keynumidx"],
                                       "firstkey": spec["firstkey"],
                                       "keystep": spec["keystep"]}}
    else:
        out["find_keys"] = {"unknown": None}
    if "notes" in ks:
        out["notes"] = ks["notes"]
    return out


def entry_from_server(doc, info):
    """The server-owned fields of one command."""
    out = {"summary": doc.get("summary", ""),
           "since": doc.get("since", "0.0.0")}
    for key in ("complexity", "deprecated_since", "replaced_by"):
        if key in doc:
            out[key] = doc[key]
    out["arity"] = info[1]
    if info[2]:
        out["flags"] = sorted(info[2])
    if len(info) > 7 and info[7]:
        out["tips"] = sorted(info[7])
    if len(info) > 8 and info[8]:
        out["key_specs"] = [_keyspec(k) for k in info[8]]
    if doc.get("arguments"):
        out["arguments"] = [_arg(a) for a in doc["arguments"]]
    return out


# ------------------------------------------------------------- arg matching

def _shape(a, optional=True):
    """An argument's structure without names: what the wire sees."""
    return (a.get("type"), a.get("token"),
            bool(a.get("optional")) if optional else None,
            bool(a.get("multiple")), bool(a.get("multiple_token")),
            tuple(_shape(c) for c in a.get("arguments") or []))


def _pair(old, new):
    """Match new arguments to old ones: by name, type and token first, then
    by structure (a rename: same type, token and children), then by type
    and token alone (children changed). Matches keep the order of both
    lists. Returns {new index: old index}."""
    match = {}

    def free_between(j):
        # Old indices a match for new[j] may take without crossing others.
        lo = max([match[k] for k in match if k < j], default=-1)
        hi = min([match[k] for k in match if k > j], default=len(old))
        taken = set(match.values())
        return [i for i in range(lo + 1, hi) if i not in taken]

    tests = (
        lambda o, n: (o.get("name"), o.get("type"), o.get("token")) ==
        (n.get("name"), n.get("type"), n.get("token")),
        lambda o, n: _shape(o) == _shape(n),
        lambda o, n: (o.get("type"), o.get("token")) ==
        (n.get("type"), n.get("token")) and
        (n.get("token") or o.get("type") in ("oneof", "block")),
    )
    for test in tests:
        for j, n in enumerate(new):
            if j in match:
                continue
            for i in free_between(j):
                if test(old[i], n):
                    match[j] = i
                    break
    return match


class Merge:
    """Carry one server's argument tree into the catalogue's.

    `owns`: the server's names and versions win (it is the first in
    servers.yaml that has the command). The binding tree keeps its shape:
    a change that would alter it (a type, a new required argument...) makes
    `compatible` false and the caller keeps the old tree, recording the
    server's own under per_server.
    """

    def __init__(self, server, owns, old_all, new_all, multi):
        self.server = server
        self.owns = owns
        self.old_all = old_all
        self.new_all = new_all
        self.multi = multi          # other servers known: mark new nodes
        self.compatible = True
        self.why = []
        self.renamed = []           # (old C name, new server name)
        self.carried = 0            # annotations carried onto renamed nodes
        self.added = []             # C paths of new optional arguments

    def _servers(self, node, present):
        have = set(speclib.servers_of(node, self.old_all))
        have = have | {self.server} if present else have - {self.server}
        out = [s for s in self.new_all if s in have]
        return None if out == self.new_all else out

    def _mark(self, node, present):
        servers = self._servers(node, present)
        if servers is None:
            node.pop("servers", None)
        else:
            node["servers"] = servers
        return node

    def args(self, old, new, path=(), choices=False):
        """Merge sibling lists; `choices`: they are a oneof's, where a new
        choice is an addition (an enum constant, an options field)."""
        cnames = _cnames(old)
        match = _pair(old, new)
        back = {i: j for j, i in match.items()}
        out, placed = [], set()
        if len(match) < len(old) and len(match) < len(new):
            # Some arguments went and others came: a restructuring, not an
            # addition (GEORADIUS's STORE and STOREDIST became a oneof).
            self.fail(path, "%s became %s" % (
                ", ".join(_describe(old[i]) for i in range(len(old))
                          if i not in back),
                ", ".join(_describe(new[j]) for j in range(len(new))
                          if j not in match)))
            return old

        def place_old_before(limit):
            for i in range(len(old)):
                if i < limit and i not in placed and i not in back:
                    placed.add(i)
                    if not old[i].get("optional") and \
                            on_server_before(old[i], self.server):
                        self.fail(path, "%s is no longer documented" %
                                  old[i]["name"])
                    out.append(self._mark(dict(old[i]), False))

        for j, n in enumerate(new):
            i = match.get(j)
            if i is None:
                place_old_before(max([match[k] for k in match if k < j],
                                     default=-1) + 1)
                if not n.get("optional") and not choices:
                    self.fail(path, "new required argument %s" % n["name"])
                    continue
                node = dict(n)
                if self.multi:
                    node["servers"] = [self.server]
                out.append(node)
                self.added.append(".".join(path + (_cname(n),)))
                continue
            place_old_before(i)
            placed.add(i)
            out.append(self.arg(old[i], n, cnames[i], path))
        place_old_before(len(old))
        return out

    def fail(self, path, why):
        self.compatible = False
        self.why.append("%s%s" % (".".join(path) + ": " if path else "", why))

    def arg(self, o, n, cname, path):
        if _shape(o, optional=False) [:2] != _shape(n, optional=False)[:2] \
                or bool(o.get("multiple")) != bool(n.get("multiple")) or \
                bool(o.get("multiple_token")) != \
                bool(n.get("multiple_token")) or \
                bool(o.get("optional")) != bool(n.get("optional")):
            self.fail(path, "%s became %s" % (_describe(o), _describe(n)))
        if self.owns:
            node = {k: n[k] for k in speclib.ARG_IMPORTED if k in n and
                    k != "arguments"}
            for key in speclib.ARG_ANNOTATIONS:
                if key in o:
                    node[key] = o[key]
            if o.get("servers") is not None:
                node["servers"] = o["servers"]
            if n["name"] != o["name"]:
                self.renamed.append((cname, n["name"]))
                self.carried += sum(1 for k in speclib.ARG_ANNOTATIONS
                                    if k in o)
                if "c_name" not in node and generate.cident(n["name"]) != \
                        cname:
                    node["c_name"] = cname    # the C API keeps its name
        else:
            node = dict(o)
        if o.get("arguments") or n.get("arguments"):
            node["arguments"] = self.args(o.get("arguments") or [],
                                          n.get("arguments") or [],
                                          path + (cname,),
                                          o.get("type") == "oneof")
        return self._mark(node, True)


def _describe(a):
    """How the import names an argument: `name` (type TOKEN, multiple)."""
    extra = [a.get("type")] + ([a["token"]] if a.get("token") else []) + \
        [f for f in ("optional", "multiple") if a.get(f)]
    return "%s (%s)" % (a["name"], " ".join(extra))


def on_server_before(node, server):
    return "servers" not in node or server in node["servers"]


def _cname(a):
    return a.get("c_name") or generate.cident(a["name"])


def _cnames(args):
    """The C names the generator gives siblings (named_apart included)."""
    built = generate.named_apart([generate.Arg(a, "?") for a in args])
    return [b.cname.rstrip("_") for b in built]


# ------------------------------------------------------------ command merge

DOC_FIELDS = ("summary", "since", "complexity", "deprecated_since",
              "replaced_by")


def merge(name, old, fresh, server, servers, old_all, notes):
    """The catalogue entry after `server` documented `fresh`: annotations
    from `old`, and the C binding's shape kept."""
    new_all = servers
    if old is None:
        out = dict(fresh)
        out["reply"] = "reply"
        if len(new_all) > 1:
            out["servers"] = [server]
        return out, None
    old = speclib.plain(old)
    have = [s for s in new_all
            if s in speclib.servers_of(old, old_all) or s == server]
    owns = speclib.owner(have, new_all) == server
    out = dict(old)
    if owns:
        for key in DOC_FIELDS:
            out.pop(key, None)
            if key in fresh:
                out[key] = fresh[key]
    per = dict(out.get("per_server") or {})
    own = {}
    for key in ("arity", "flags", "tips", "key_specs"):
        if owns:
            if key in fresh:
                out[key] = fresh[key]
            else:
                out.pop(key, None)
        elif fresh.get(key) != old.get(key):
            own[key] = fresh.get(key, [] if key != "arity" else 0)
    binding = "c_arguments" if "c_arguments" in old else "arguments"
    m = Merge(server, owns, old_all, new_all, len(new_all) > 1)
    if binding == "c_arguments":
        # The binding is a person's; the server's tree is only audited.
        if fresh.get("arguments"):
            own["arguments"] = fresh["arguments"]
    else:
        merged = m.args(old.get("arguments") or [],
                        fresh.get("arguments") or [])
        if m.compatible:
            if merged:
                out["arguments"] = merged
            else:
                out.pop("arguments", None)
        else:
            own["arguments"] = fresh.get("arguments") or []
            notes.append("%s: the binding keeps its shape; %s documents "
                         "another (%s): recorded under per_server" %
                         (name, server, "; ".join(m.why)))
    if own:
        per[server] = own
    else:
        per.pop(server, None)
    if per:
        out["per_server"] = per
    else:
        out.pop("per_server", None)
    servers_now = [s for s in new_all if s in set(have)]
    if servers_now == new_all:
        out.pop("servers", None)
    else:
        out["servers"] = servers_now
    return out, m


def mark_absent(entry, server, servers, old_all):
    """A command `server` does not have: kept (its functions are a promise),
    with the servers that do."""
    entry = speclib.plain(entry)
    have = [s for s in servers
            if s in speclib.servers_of(entry, old_all) and s != server]
    if have == servers:
        entry.pop("servers", None)
    else:
        entry["servers"] = have
    return entry


def keep_api(tmp_spec, baseline, added, notes):
    """Omit, from the functions whose prototype a new argument would change,
    the arguments this import added. Returns the problems left."""
    for _ in range(3):
        try:
            files = generate.generate(tmp_spec)
        except speclib.SpecError as e:
            return e.problems
        decls = dict(d for path in api.PUBLIC for d in api.extract(files[path]))
        changed = [k for k in baseline if k in decls and
                   decls[k] != baseline[k]]
        gone = [k for k in baseline if k not in decls]
        if not changed and not gone:
            return []
        spec = speclib.Spec(tmp_spec)
        fixed = False
        for key in changed:
            fname = key.split(" ", 1)[1].split(".")[0]
            for name, paths in added.items():
                entry = spec.commands.get(name)
                if entry is None or not paths:
                    continue
                targets = [entry] if fname == "reds_" + (
                    entry.get("c_name") or generate.cident(name)) else \
                    [v for v in entry.get("variants", [])
                     if "reds_" + v["c_name"] == fname]
                for t in targets:
                    omit = list(t.get("omit", []))
                    for path in paths:
                        if path not in omit:
                            omit.append(path)
                            fixed = True
                            notes.append("%s: %s does not send the new %s "
                                         "(its prototype stays); bind it in "
                                         "a variant" % (name, fname, path))
                    t["omit"] = omit
        if not fixed:
            return ["check-api: the import would change %s" %
                    ", ".join(changed + gone)]
        _write_groups(tmp_spec, spec.commands)
    return ["check-api: the import still changes the API"]


def _write_groups(directory, commands):
    by_group = {}
    for name, entry in commands.items():
        by_group.setdefault(entry.group, {})[name] = speclib.plain(entry)
    for group, cmds in by_group.items():
        with open(os.path.join(directory, group + ".yaml"), "w") as f:
            f.write(speclib.dump_group(group, cmds))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", help="server to read (default: a throwaway one)")
    ap.add_argument("--spec", default=os.path.join(
        os.path.dirname(__file__), "..", "spec"))
    ap.add_argument("--group", action="append",
                    help="import only this group (repeatable)")
    ap.add_argument("--sentinel", action="store_true",
                    help="the throwaway server is a Sentinel")
    ap.add_argument("--server", default="redis-server",
                    help="the throwaway server's binary (valkey-server...)")
    ap.add_argument("--baseline", default=api.BASELINE,
                    help="the API the import must keep (api/commands.api)")
    args = ap.parse_args()

    with server.connect(args.url, args.sentinel, args.server) as conn:
        sentinel = server.is_sentinel(conn)
        name_of_server, version = server.identity(conn)
        live = server.fetch_commands(conn)
    spec = speclib.Spec(args.spec)
    # A Sentinel's other commands are the server's own: import only the
    # Sentinel groups from it, and never miss those on a server.
    if sentinel:
        args.group = [g for g in args.group or server.SENTINEL_GROUPS
                      if g in server.SENTINEL_GROUPS]
        if not args.group:
            raise SystemExit("import-spec: a Sentinel serves only the "
                             "groups " + ", ".join(server.SENTINEL_GROUPS))
    skip = () if sentinel else server.SENTINEL_GROUPS

    servers = [dict(s) for s in spec.servers] or [
        {"name": name_of_server, "version": version,
         "binary": name_of_server + "-server"}]
    old_all = [s["name"] for s in spec.servers] or [name_of_server]
    known = [s for s in servers if s["name"] == name_of_server]
    if known:
        if not sentinel:
            known[0]["version"] = version
    else:
        servers.append({"name": name_of_server, "version": version,
                        "binary": name_of_server + "-server"})
    new_all = [s["name"] for s in servers]

    baseline = api.read_baseline(args.baseline) \
        if os.path.exists(args.baseline) else {}
    by_group = {}
    for name, entry in spec.commands.items():
        by_group.setdefault(entry.group, {})[name] = entry
    added, updated, notes, problems = [], 0, [], []
    new_args = {}
    renamed = carried = 0
    for name, data in sorted(live.items()):
        group = data["docs"].get("group", "server")
        if args.group and group not in args.group:
            continue
        old = spec.commands.get(name)
        if old is not None and old.group != group:
            by_group[old.group].pop(name)
        fresh = entry_from_server(data["docs"], data["info"])
        entry, m = merge(name, old, fresh, name_of_server, new_all, old_all,
                         notes)
        by_group.setdefault(group, {})[name] = entry
        if old is None:
            added.append(name)
            lost = sorted(k.split(" ", 1)[1] for k in baseline
                          if k.startswith("function ") and
                          _command_of(k, name))
            if lost:
                problems.append(
                    "%s/%s.yaml: %s: new to the spec, yet the API baseline "
                    "has %s: its annotations were lost; restore the entry "
                    "(git) and import again" % (args.spec, group, name,
                                                ", ".join(lost)))
        else:
            updated += 1
            renamed += len(m.renamed)
            carried += m.carried
            if m.added:
                new_args[name] = m.added
    absent = []
    for name, entry in spec.commands.items():
        if name in live or entry.group in skip or \
                (args.group and entry.group not in args.group):
            continue
        by_group[entry.group][name] = mark_absent(entry, name_of_server,
                                                  new_all, old_all)
        absent.append(name)

    # Write a copy first: the import must keep the public API.
    tmp = tempfile.mkdtemp(prefix="reds-import-")
    try:
        for fname in os.listdir(args.spec):
            if fname.endswith(".yaml") or fname == "README.md":
                shutil.copy(os.path.join(args.spec, fname), tmp)
        with open(os.path.join(tmp, "servers.yaml"), "w") as f:
            f.write(speclib.dump_servers(servers))
        for group, commands in sorted(by_group.items()):
            with open(os.path.join(tmp, group + ".yaml"), "w") as f:
                f.write(speclib.dump_group(group, {
                    n: speclib.plain(c) for n, c in commands.items()}))
        if baseline:
            problems += keep_api(tmp, baseline, new_args, notes)
        for fname in sorted(os.listdir(tmp)):
            if not fname.endswith(".yaml"):
                continue
            text = open(os.path.join(tmp, fname)).read()
            path = os.path.join(args.spec, fname)
            if not os.path.exists(path) or open(path).read() != text:
                with open(path, "w") as f:
                    f.write(text)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print("import-spec: %s %s: %d updated, %d new%s" % (
        name_of_server, version, updated, len(added),
        (": " + ", ".join(added)) if added else ""))
    if renamed:
        print("import-spec: %d argument(s) renamed by the server; %d "
              "annotation(s) carried across, C names kept" %
              (renamed, carried))
    for note in notes:
        print("import-spec: " + note)
    if absent:
        print("import-spec: not on %s (kept, marked with the servers that "
              "have them): %s" % (name_of_server, ", ".join(sorted(absent))))
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


def _command_of(key, name):
    """Whether baseline key `function reds_x` is one of command `name`'s
    functions: reds_<cident(name)> or reds_<cident(name)>_<variant>."""
    fname = key.split(" ", 1)[1]
    base = "reds_" + generate.cident(name)
    return fname == base or fname.startswith(base + "_")


if __name__ == "__main__":
    sys.exit(main())
