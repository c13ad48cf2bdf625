#!/usr/bin/env python3
"""Create or update spec/*.yaml from a live server's COMMAND DOCS and INFO.

    import_spec.py [--url URL] [--spec DIR] [--group G]... [--sentinel]

Without --url a throwaway redis-server is started (and stopped); with
--sentinel it is a Sentinel. From a Sentinel only the Sentinel group is
imported (its other commands are the server's own). Server
fields (arguments, key specs, flags, tips, arity, since, summary,
deprecation) are replaced by what the server says; annotations (reply,
c_name, variants, scope, dedicated, excluded, and c_name/c_type on
arguments) are kept. A command new to the spec arrives with the generic
reply kind `reply`, so it is usable at once after `make generate`.
"""

import argparse
import os
import sys

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


def _carry_arg_annotations(old_args, new_args):
    """Copy c_name/c_type from old arguments onto their new counterparts.

    Arguments are matched in order by (name, type, token): names alone
    are not unique (LCS has two arguments named `len`).
    """
    used = set()
    for new in new_args:
        sig = (new["name"], new["type"], new.get("token"))
        for i, old in enumerate(old_args or []):
            if i in used or (old.get("name"), old.get("type"),
                             old.get("token")) != sig:
                continue
            used.add(i)
            for key in speclib.ARG_ANNOTATIONS:
                if key in old:
                    new[key] = old[key]
            if "arguments" in new:
                _carry_arg_annotations(old.get("arguments"),
                                       new["arguments"])
            break


def merge(old, fresh):
    """Server fields from `fresh`, annotations from `old`."""
    out = dict(fresh)
    if old is None:
        out["reply"] = "reply"
        return out
    for key in speclib.COMMAND_ANNOTATIONS:
        if key in old:
            out[key] = speclib.plain(old[key])
    if "arguments" in out:
        _carry_arg_annotations(speclib.plain(old.get("arguments", [])),
                               out["arguments"])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", help="server to read (default: a throwaway one)")
    ap.add_argument("--spec", default=os.path.join(
        os.path.dirname(__file__), "..", "spec"))
    ap.add_argument("--group", action="append",
                    help="import only this group (repeatable)")
    ap.add_argument("--sentinel", action="store_true",
                    help="the throwaway server is a Sentinel")
    args = ap.parse_args()

    with server.connect(args.url, args.sentinel) as conn:
        sentinel = server.is_sentinel(conn)
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

    by_group = {}
    for name, entry in spec.commands.items():
        by_group.setdefault(entry.group, {})[name] = entry
    added, updated = [], 0
    for name, data in sorted(live.items()):
        group = data["docs"].get("group", "server")
        if args.group and group not in args.group:
            continue
        old = spec.commands.get(name)
        if old is not None and old.group != group:
            by_group[old.group].pop(name)
        fresh = entry_from_server(data["docs"], data["info"])
        by_group.setdefault(group, {})[name] = merge(old, fresh)
        if old is None:
            added.append(name)
        else:
            updated += 1
    for group, commands in sorted(by_group.items()):
        path = os.path.join(args.spec, group + ".yaml")
        text = speclib.dump_group(group, {n: speclib.plain(c)
                                          for n, c in commands.items()})
        old_text = open(path).read() if os.path.exists(path) else None
        if text != old_text:
            with open(path, "w") as f:
                f.write(text)
    stale = sorted(n for n in spec.commands if n not in live and
                   spec.commands[n].group not in skip and
                   (not args.group or spec.commands[n].group in args.group))
    print("import-spec: %d updated, %d new%s" % (
        updated, len(added), (": " + ", ".join(added)) if added else ""))
    if stale:
        print("import-spec: in the spec but not on this server (kept; "
              "`make audit` reports them): " + ", ".join(stale))
    return 0


if __name__ == "__main__":
    sys.exit(main())
