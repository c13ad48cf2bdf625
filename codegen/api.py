#!/usr/bin/env python3
"""The generated public C API as a list of declarations, and its baseline.

    api.py --check     fail when a declaration of api/commands.api changed
                       or disappeared; list the additions
    api.py --update    rewrite api/commands.api (after a reviewed change)

Apps include <reds/commands.h>: once a baseline is committed, a
regeneration may add declarations but never change or remove one. Each
line of the baseline is `<key>\\t<declaration>`: a function's prototype,
a struct and each of its fields (nested members by dotted path), an enum
and each constant with its value, a macro, and each check a function's doc
states (`Refused together: NX, GT`). The declarations come from the
header the generator renders, so what is compared is what apps compile
against, with whitespace and comments normalised away.
"""

import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BASELINE = os.path.join(ROOT, "api", "commands.api")
# The generated headers apps include.
PUBLIC = ("include/reds/commands.h", "include/reds/reply_kinds.h")

_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_DEPRECATED = re.compile(r"REDS_DEPRECATED\((?:[^()]|\"[^\"]*\")*\)\s*")


def _norm(text):
    return re.sub(r"\s+", " ", text).replace("( ", "(").replace(" )", ")") \
        .replace(" ;", ";").strip()


def _fields(body, prefix, out):
    """Field declarations of a struct body, nested structs and unions by
    dotted path."""
    depth, start, i = 0, 0, 0
    while i < len(body):
        ch = body[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == ";" and depth == 0:
            item = _norm(body[start:i])
            start = i + 1
            if not item:
                i += 1
                continue
            m = re.match(r"^(struct|union)\s*(\w*)\s*\{(.*)\}\s*(\w+)$",
                         item, re.S)
            if m:
                path = prefix + "." + m.group(4)
                out.append((path, "%s %s" % (m.group(1), m.group(4))))
                _fields(m.group(3), path, out)
            else:
                name = re.findall(r"(\w+)\s*(?:\[[^\]]*\])?$", item)
                out.append((prefix + "." + (name[0] if name else item),
                            item + ";"))
        i += 1


def extract(header):
    """[(key, declaration)] of a generated header, in header order."""
    out = []
    # The checks a function promises (exclusive options) are part of its
    # contract: the doc comment states them, and dropping one is a change.
    for m in re.finditer(r"/\*\*((?:(?!\*/).)*)\*/\s*(?:REDS_DEPRECATED\("
                         r"\"[^\"]*\"\)\s*)?reds_err (reds_\w+)\(", header,
                         re.S):
        for line in re.findall(r"^ \* (Refused together.*)$", m.group(1), re.M):
            out.append(("contract %s: %s" % (m.group(2), line.split(": ", 1)[1]
                                             .rstrip(".")), _norm(line)))
    text = _DEPRECATED.sub("", _COMMENT.sub(" ", header))
    text = re.sub(r"^\s*#\s*(if|ifdef|ifndef|elif|else|endif|include)\b.*$",
                  "", text, flags=re.M)
    for m in re.finditer(r"^\s*#\s*define\s+(REDS_\w+)(.*)$", text, re.M):
        if m.group(1) not in ("REDS_COMMANDS_H", "REDS_DEPRECATED") and \
                not m.group(1).endswith("_H"):
            out.append(("macro " + m.group(1),
                        _norm("#define %s%s" % (m.group(1), m.group(2)))))
    text = re.sub(r"^\s*#.*$", "", text, flags=re.M)
    text = re.sub(r'extern "C" \{|^\}\s*$', "", text, flags=re.M)
    for m in re.finditer(r"typedef\s+(struct|enum|union)\s+(\w+)\s*\{(.*?)\}"
                         r"\s*(\w+)\s*;", text, re.S):
        kind, tag, body, name = m.groups()
        out.append(("%s %s" % (kind, name),
                    "typedef %s %s %s;" % (kind, tag, name)))
        if kind == "enum":
            for item in body.split(","):
                item = _norm(item)
                if item:
                    key = item.split("=")[0].strip()
                    out.append(("enum %s.%s" % (name, key), item))
        else:
            _fields(body, "%s %s" % (kind, name), out)
    text = re.sub(r"typedef\s+(struct|enum|union)\s+\w+\s*\{.*?\}\s*\w+\s*;",
                  "", text, flags=re.S)
    for m in re.finditer(r"([A-Za-z_][\w \*]*?\b(reds_\w+)\s*\([^;{]*\))\s*;",
                         text, re.S):
        out.append(("function " + m.group(2), _norm(m.group(1)) + ";"))
    for m in re.finditer(r"extern\s+([^;]*?\b(reds_\w+))\s*;", text):
        out.append(("object " + m.group(2), _norm("extern " + m.group(1)) + ";"))
    return out


def read_baseline(path=BASELINE):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            key, _, decl = line.rstrip("\n").partition("\t")
            out[key] = decl
    return out


def write_baseline(decls, path=BASELINE):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("# The public API of generated/include/reds/commands.h and "
                "reply_kinds.h:\n# a regeneration may add lines but never change or remove "
                "one. `make check-api` compares;\n# `make update-api` "
                "rewrites it after a reviewed addition. %d declarations.\n"
                % len(decls))
        for key, decl in sorted(decls):
            f.write("%s\t%s\n" % (key, decl))


def compare(baseline, decls):
    """(changed, removed, added): lists of keys."""
    current = dict(decls)
    changed = sorted(k for k in baseline if k in current and
                     current[k] != baseline[k])
    removed = sorted(k for k in baseline if k not in current)
    added = sorted(k for k in current if k not in baseline)
    return changed, removed, added


def report(baseline, decls, out=sys.stderr):
    """Print the differences; return True when the API only grew."""
    current = dict(decls)
    changed, removed, added = compare(baseline, decls)
    for k in changed:
        print("check-api: changed %s\n    was: %s\n    now: %s" %
              (k, baseline[k], current[k]), file=out)
    for k in removed:
        print("check-api: removed %s\n    was: %s" % (k, baseline[k]),
              file=out)
    if added:
        print("check-api: %d addition(s): %s" % (len(added), ", ".join(added)),
              file=out)
    return not changed and not removed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spec", default=os.path.join(ROOT, "spec"))
    ap.add_argument("--baseline", default=BASELINE)
    ap.add_argument("--update", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, HERE)
    import generate
    import speclib
    try:
        files = generate.generate(args.spec)
    except speclib.SpecError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return 1
    decls = [d for path in PUBLIC for d in extract(files[path])]
    if args.update:
        write_baseline(decls, args.baseline)
        print("api: %s: %d declarations" % (args.baseline, len(decls)))
        return 0
    baseline = read_baseline(args.baseline)
    if not report(baseline, decls):
        print("check-api: the generated API broke; keep the old declaration "
              "(c_name, omit, a variant) instead (README: Compatibility)",
              file=sys.stderr)
        return 1
    print("check-api: %d declarations, none changed or removed" % len(decls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
