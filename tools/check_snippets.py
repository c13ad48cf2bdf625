#!/usr/bin/env python3
"""Compile the C code blocks of Markdown files as C11 and as C++17, so that
the documentation cannot rot (`make check-snippets`, part of `make test`).

    check_snippets.py [--cc CC] [--cxx CXX] FILE.md ... [--cxx-files F.c ...]

A fenced block whose info string starts with `c` is compiled according to
the words after it:

    ```c             a fragment: the body of a function in which `r` and `c`
                     are `reds_client *`; its #include lines go to the top
    ```c file        declarations at file scope (the reference's prototypes,
                     which must then agree with the header's)
    ```c no-compile  not compiled: a shape with placeholders, or a copy of
                     the header's own typedefs

Each Markdown file is one translation unit per language, after
<reds/reds.h> and the standard headers a snippet prints or allocates with;
#line directives point errors at the Markdown file and line. Deprecated
commands are documented too, so REDS_ALLOW_DEPRECATED is defined.

The C++ build adds -Wno-missing-field-initializers: g++ 12 (-Wextra) warns
about every member a designated initializer leaves out, which is how
options structs are meant to be written (C++20 value-initialises them, as
C does). --cxx-files compiles whole C programs (examples/) as C++ too.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDES = ["-I" + os.path.join(ROOT, "runtime", "include"),
            "-I" + os.path.join(ROOT, "generated", "include")]
C_FLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"]
CXX_FLAGS = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fsyntax-only",
             "-Wno-missing-field-initializers", "-x", "c++"]
PRELUDE = """#define REDS_ALLOW_DEPRECATED
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <reds/reds.h>
"""
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*(.*)$")


def blocks(path):
    """(first line number, info words, code lines) of each fenced block."""
    out = []
    with open(path) as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m.groups()
        body, j = [], i + 1
        while j < len(lines):
            end = lines[j].strip()
            if end.startswith(fence[0] * len(fence)) and \
                    not end.strip(fence[0]):
                break
            line = lines[j]
            body.append(line[len(indent):] if line.startswith(indent)
                        else line.lstrip())
            j += 1
        out.append((i + 2, info.split(), body))
        i = j + 1
    return out


def unit(path):
    """One translation unit of a Markdown file's C blocks, and how many
    blocks it holds."""
    rel = os.path.relpath(path, ROOT)
    includes, scope, funcs = [], [], []
    count = 0
    for line, info, body in blocks(path):
        if not info or info[0] != "c" or "no-compile" in info[1:]:
            continue
        count += 1
        directive = '#line %d "%s"' % (line, rel)
        if "file" in info[1:]:
            scope += [directive] + body
            continue
        code = []
        for text in body:
            if text.startswith("#include"):
                if text not in includes:
                    includes.append(text)
                code.append("")  # keep the line numbers
            else:
                code.append(text)
        name = "reds_snippet_%d" % line
        funcs += ["void %s(reds_client *r, reds_client *c);" % name,
                  "void %s(reds_client *r, reds_client *c)" % name,
                  "{", "    (void)r;", "    (void)c;", "    {",
                  directive] + code + ["    }", "}"]
    text = PRELUDE + "\n".join(includes + scope + funcs) + "\n"
    return text, count


def compile_one(compiler, flags, source, label):
    result = subprocess.run([compiler] + flags + INCLUDES + [source],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    if result.returncode != 0:
        sys.stdout.write(result.stdout)
        print("snippets: %s does not compile as %s" % (label, flags[0][5:]))
        return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cc", default=os.environ.get("CC") or "cc")
    ap.add_argument("--cxx", default=os.environ.get("CXX") or "c++")
    ap.add_argument("markdown", nargs="*")
    ap.add_argument("--cxx-files", nargs="*", default=[],
                    help="C programs to compile as C++ too")
    args = ap.parse_args()
    ok = True
    total = 0
    with tempfile.TemporaryDirectory(prefix="reds-snippets-") as tmp:
        for i, path in enumerate(args.markdown):
            text, count = unit(path)
            if not count:
                continue
            total += count
            source = os.path.join(tmp, "snippets%d.c" % i)
            with open(source, "w") as f:
                f.write(text)
            ok &= compile_one(args.cc, C_FLAGS, source, path)
            ok &= compile_one(args.cxx, CXX_FLAGS, source, path)
    for path in args.cxx_files:
        ok &= compile_one(args.cxx, CXX_FLAGS, path, path)
    if ok:
        print("snippets: %d C blocks of %d Markdown files compile as C11 and "
              "C++17%s" % (total, len(args.markdown),
                           "; %d programs as C++17" % len(args.cxx_files)
                           if args.cxx_files else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
