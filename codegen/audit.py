#!/usr/bin/env python3
"""Compare spec/ with a live server and report command coverage.

    audit.py [--url URL] [--sentinel-url URL] [--spec DIR] [--report FILE]
             [--group G]... [--sentinel]

Without --url a throwaway redis-server is started (and stopped). The
Sentinel group, which only a Sentinel serves, is audited against
--sentinel-url or a throwaway Sentinel (--sentinel: only that, against
--url or a throwaway one). Prints a
table by group — bound, dedicated, excluded, missing, extra — and every
mismatch between the spec and the server: argument trees, arity, flags,
tips, key specs, deprecation and documentation fields. Writes the same as
Markdown (default docs/coverage.md). Exits 1 on any missing command or
mismatch, 0 otherwise.
"""

import argparse
import os
import shutil
import sys

import import_spec
import server
import speclib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Server-owned fields, grouped as the report names them.
CATEGORIES = (
    ("arguments", ("arguments",)),
    ("arity", ("arity",)),
    ("flags", ("flags", "tips")),
    ("key specs", ("key_specs",)),
    ("deprecation", ("deprecated_since", "replaced_by")),
    ("docs", ("summary", "since", "complexity")),
)


def strip_annotations(value):
    """Server-owned fields only, recursively (c_name/c_type dropped)."""
    if isinstance(value, dict):
        return {k: strip_annotations(v) for k, v in value.items()
                if k not in speclib.ARG_ANNOTATIONS}
    if isinstance(value, list):
        return [strip_annotations(v) for v in value]
    return value


def first_difference(spec, live, path):
    """The first place two values differ, as `path: spec X, server Y`."""
    if isinstance(spec, dict) and isinstance(live, dict):
        for key in list(spec) + [k for k in live if k not in spec]:
            if key not in live:
                return "%s.%s: only in the spec (%r)" % (path, key, spec[key])
            if key not in spec:
                return "%s.%s: only on the server (%r)" % (path, key,
                                                           live[key])
            diff = first_difference(spec[key], live[key],
                                    "%s.%s" % (path, key))
            if diff:
                return diff
        return None
    if isinstance(spec, list) and isinstance(live, list):
        for i, (a, b) in enumerate(zip(spec, live)):
            label = "%s[%d]" % (path, i)
            if isinstance(a, dict) and "name" in a:
                label = "%s[%s]" % (path, a["name"])
            diff = first_difference(a, b, label)
            if diff:
                return diff
        if len(spec) != len(live):
            return "%s: %d entries in the spec, %d on the server" % (
                path, len(spec), len(live))
        return None
    if spec != live:
        return "%s: spec %r, server %r" % (path, spec, live)
    return None


def compare(name, entry, live_entry):
    """[(category, detail)] for one command."""
    spec_fields = strip_annotations(speclib.plain(entry))
    out = []
    for category, fields in CATEGORIES:
        for field in fields:
            diff = first_difference(spec_fields.get(field),
                                    live_entry.get(field), field)
            if diff:
                out.append((category, diff))
    return out


def status_of(entry):
    if "dedicated" in entry:
        return "dedicated"
    if "excluded" in entry:
        return "excluded"
    return "bound"


def audit(spec, live, groups=None, skip=()):
    """The whole comparison, as data. Groups in `skip` are left out (the
    Sentinel groups, against a server)."""
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
        if entry is None:
            row(group)["missing"] += 1
            missing.append((group, name))
            continue
        r = row(entry.group)
        status = status_of(entry)
        r[status] += 1
        if status == "bound":
            r["functions"] += 1 + len(entry.get("variants", []))
        if entry.group != group:
            mismatches.append((name, "group", "group: spec %r, server %r" %
                               (entry.group, group)))
        found = compare(name, entry, fresh)
        if found:
            r["mismatched"] += 1
        mismatches += [(name, c, d) for c, d in found]
    for name in sorted(spec.commands):
        entry = spec.commands[name]
        if name in live or entry.group in skip or (
                groups and entry.group not in groups):
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
    for group, name in missing:
        details.append("- missing: `%s` (group %s) is on the server but not "
                       "in the spec" % (name, group))
    for group, name in extra:
        details.append("- extra: `%s` (group %s) is in the spec but not on "
                       "the server" % (name, group))
    for name, category, detail in mismatches:
        details.append("- mismatch (%s): `%s`: %s" % (category, name, detail))
    return summary, text, details


def exclusions(spec):
    out = []
    for name in sorted(spec.commands):
        entry = spec.commands[name]
        if "excluded" in entry:
            out.append("- `%s`: %s" % (name, entry["excluded"]))
    return out


def dedicated(spec):
    apis = {}
    for name in sorted(spec.commands):
        entry = spec.commands[name]
        if "dedicated" in entry:
            apis.setdefault(entry["dedicated"], []).append(name)
    return ["- %s: %s" % (api, ", ".join("`%s`" % n for n in names))
            for api, names in sorted(apis.items())]


def audit_one(spec, url, sentinel, groups):
    """Audit one live server (or Sentinel): (source, summary, table,
    details, clean)."""
    with server.connect(url, sentinel) as conn:
        version = server.pairs(
            [x for line in conn.call("INFO", "server").splitlines()
             if ":" in line for x in line.split(":", 1)]).get(
                 "redis_version", "?")
        is_sentinel = server.is_sentinel(conn)
        live = server.fetch_commands(conn)
    if is_sentinel:
        # A Sentinel's other commands are the server's own.
        groups = [g for g in groups or server.SENTINEL_GROUPS
                  if g in server.SENTINEL_GROUPS]
        skip = ()
    else:
        skip = server.SENTINEL_GROUPS
    rows, mismatches, missing, extra = audit(spec, live, groups, skip)
    source = "Redis %s%s" % (version, " (Sentinel)" if is_sentinel else "")
    summary, table, details = render(rows, mismatches, missing, extra,
                                     source)
    return source, summary, table, details, not (missing or mismatches)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", help="server to compare with (default: a "
                    "throwaway one)")
    ap.add_argument("--sentinel-url", help="Sentinel to compare the "
                    "Sentinel group with (default: a throwaway one)")
    ap.add_argument("--spec", default=os.path.join(ROOT, "spec"))
    ap.add_argument("--report", default=os.path.join(ROOT, "docs",
                                                     "coverage.md"),
                    help="Markdown report to write ('-' for none)")
    ap.add_argument("--group", action="append",
                    help="audit only this group (repeatable)")
    ap.add_argument("--sentinel", action="store_true",
                    help="audit only the Sentinel group, against a "
                    "Sentinel (--url, or a throwaway one)")
    args = ap.parse_args()

    spec = speclib.Spec(args.spec)
    runs = []
    want_server = not args.sentinel and not (
        args.group and all(g in server.SENTINEL_GROUPS for g in args.group))
    want_sentinel = args.sentinel or not args.group or any(
        g in server.SENTINEL_GROUPS for g in args.group)
    if want_server:
        runs.append(audit_one(spec, args.url, False, args.group))
    notes = []
    if want_sentinel:
        url = args.url if args.sentinel else args.sentinel_url
        if url or shutil.which("redis-server"):
            runs.append(audit_one(spec, url, not url, args.group))
        else:
            notes.append("the Sentinel group was not audited: no "
                         "redis-server to start a Sentinel with (pass "
                         "--sentinel-url)")

    for source, summary, table, details, _ in runs:
        print("audit against %s" % source)
        for line in table:
            print(line)
        for line in details:
            print(line)
        print(summary)
    for note in notes:
        print("audit: " + note)

    if args.report != "-":
        os.makedirs(os.path.dirname(os.path.abspath(args.report)),
                    exist_ok=True)
        md = ["# Command coverage", "",
              "Generated by `make audit` (codegen/audit.py) against %s; "
              "do not edit by hand." % " and ".join(r[0] for r in runs), ""]
        details = []
        for i, (source, summary, table, found, _) in enumerate(runs):
            if i:
                md += ["## The Sentinel group, against %s" % source, ""]
            md += ["**%s.**" % summary, ""] + table + [""]
            details += found
        md += ["_%s._" % n[0].upper() + n[1:] for n in notes]
        if details:
            md += ["## Findings", ""] + details + [""]
        md += ["## Served by dedicated APIs", ""] + dedicated(spec) + [""]
        md += ["## Excluded, and why", ""] + exclusions(spec) + [""]
        with open(args.report, "w") as f:
            f.write("\n".join(md))
    return 0 if all(r[4] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
