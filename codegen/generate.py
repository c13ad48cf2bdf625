#!/usr/bin/env python3
"""Render spec/*.yaml into generated/: typed C wrappers, reply converters
and the command table.

    generate.py [--spec DIR] [--out DIR] [--docs DIR] [--check]
    generate.py --addon --prefix NAME --spec DIR --out DIR [--library-spec DIR]
                [--check]

The spec is validated first; any problem is printed as `file:line: message`
and nothing is written. --check writes nothing and exits 1 when generated/
differs from what the spec and templates give (make check-generated).

Without --out, the API reference is written too: docs/reference/, a
Markdown page per command group and an index (README.md), or --docs DIR;
--check covers it. Runs on other specs (--out, --addon) write none.

--addon renders an application's own YAML (same schema; module commands
such as JSON.GET and FT.SEARCH may have dotted names, sent as written) into
NAME_commands.h and NAME_commands.c in --out: functions NAME_<command>
(NAME_json_get), types NAME_..., macros NAME_..., and NAME_catalog, the
add-on's command table that routers read. The code is the library's own
templates on the public extension API (reds/extension.h), so it compiles
with the public headers and links with libreds. Replies use the library's
reply kinds (replies.yaml of --library-spec, default spec/) by name; an
add-on cannot define kinds or records of its own. spec/README.md,
"Extensions", has the details.

How arguments become C (spec/README.md has the full rules):
  required scalar          -> parameter (reds_str, int64_t, double)
  optional scalar          -> options field (reds_str, reds_opt_i64, reds_opt_f64)
  pure-token               -> always sent when required, bool field when optional
  oneof of only tokens     -> an enum (0 = not given)
  other oneof              -> one field per choice, at most (or exactly) one set
  block                    -> a struct (with `set` when optional)
  multiple                 -> pointer + count (n<name>)
"""

import argparse
import collections
import os
import re
import sys
import tempfile

import jinja2

import speclib
from speclib import SpecError

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

C_KEYWORDS = set("""auto break case char const continue default do double else
enum extern float for goto if inline int long register restrict return short
signed sizeof static struct switch typedef union unsigned void volatile while
bool true false class new delete operator template this private public
protected namespace try catch throw virtual friend mutable explicit export
typename using and or not xor bitand bitor compl""".split())
# Locals of every wrapper; arguments with these names get a trailing _.
RESERVED = {"c", "opts", "out", "o", "p", "sz", "cmd", "no_opts"}

REPLY_KIND_FIELDS = ("c_type", "owned", "nullable", "record", "list",
                     "converter", "doc")
RECORD_FIELDS = ("shape", "doc", "fields", "nullable", "presence")
RECORD_SHAPES = ("array", "map", "text", "pairs", "lines", "words", "typed")
FIELD_FIELDS = ("name", "type", "key", "doc", "optional", "nullable", "rest",
                "prefix")
# Field types a line of text can hold (text, lines and words records).
TEXT_FIELD_TYPES = ("int", "int_text", "string")
FIELD_TYPES = {
    # type: (C declaration, fill call template; {src} reply, {dst} lvalue)
    "int": ("int64_t", "reds__fill_int({src}, &{dst})"),
    "int_text": ("int64_t", "reds__fill_int_text({src}, &{dst})"),
    "nullable_int": ("reds_opt_i64", "reds__fill_nullable_int({src}, &{dst})"),
    "u64": ("uint64_t", "reds__fill_u64({src}, &{dst})"),
    "double": ("double", "reds__fill_double({src}, &{dst})"),
    "nullable_double": ("reds_opt_f64",
                        "reds__fill_nullable_double({src}, &{dst})"),
    "bool": ("bool", "reds__fill_bool({src}, &{dst})"),
    "string": ("reds_str", "reds__fill_str({src}, &{dst})"),
    "nullable_string": ("reds_str", "reds__fill_nullable_str({src}, &{dst})"),
    "strlist": ("reds_strlist", "reds__fill_strlist({src}, a, &{dst})"),
    "intlist": ("reds_intlist", "reds__fill_intlist({src}, a, &{dst})"),
    "map": ("reds_map", "reds__fill_map({src}, a, &{dst})"),
    "reply": ("const reds_reply *", "reds__fill_reply({src}, &{dst})"),
}


cident = speclib.cident


def c_string(text):
    """A C string literal for arbitrary text."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 32 or ord(ch) > 126:
            out.append("\\%03o" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def resp_literal(token):
    """(C literal, byte length) of `token` encoded as one RESP bulk."""
    data = token.encode()
    text = "$%d\r\n%s\r\n" % (len(data), token)
    return c_string(text), len(text.encode())


def decl(ctype, name):
    """A C declaration: decl('const reds_str *', 'key') -> 'const reds_str *key'."""
    return ctype + name if ctype.endswith("*") else "%s %s" % (ctype, name)


def comment(text):
    """Text safe inside a C block comment."""
    return str(text).replace("*/", "* /").replace("/*", "/ *")


# -------------------------------------------------------------- the arg model

class Arg:
    """One argument of a function's effective tree (after variant ops)."""

    def __init__(self, spec, where):
        self.spec = spec
        self.where = spec.where() if isinstance(spec, speclib.Node) else where
        self.name = spec["name"]
        # c_as: how C takes a value the server documents more narrowly
        # (score bounds such as "(1.5" are strings; WEIGHTS are doubles).
        self.type = spec.get("c_as") or spec["type"]
        self.token = spec.get("token")
        if self.token is None and self.type == "pure-token":
            self.token = self.name  # undocumented token: the name is sent
        self.optional = bool(spec.get("optional"))
        self.multiple = bool(spec.get("multiple"))
        self.multiple_token = bool(spec.get("multiple_token"))
        self.cname = spec.get("c_name") or cident(self.name)
        if self.cname in C_KEYWORDS or self.cname in RESERVED:
            self.cname += "_"
        self.c_type = spec.get("c_type")
        # count_of: sent as the element count of a sibling array (numkeys);
        # same_count_as: an array that must be as long as a sibling one
        # (XREAD's ids and keys). resolve_counts() finds those siblings.
        self.count_of = spec.get("count_of")
        self.same_count_as = spec.get("same_count_as")
        self.count_target = None
        self.same_target = None
        self.fixed = False
        self.children = named_apart([Arg(a, where)
                                     for a in spec.get("arguments", [])])

    def clone(self):
        other = Arg.__new__(Arg)
        other.__dict__.update(self.__dict__)
        other.children = [c.clone() for c in self.children]
        return other

    @property
    def token_only(self):
        return self.type == "oneof" and all(
            c.type == "pure-token" and not c.multiple for c in self.children)

    def label(self):
        """How messages and docs name it: EX seconds, NX | XX, LIMIT."""
        if self.type == "pure-token":
            return self.token or '""'
        if self.type in ("oneof", "block"):
            if self.token:
                return self.token
            if self.type == "oneof":
                return " | ".join(c.label() for c in self.children)
            return self.name
        return ("%s %s" % (self.token, self.name)) if self.token else self.name


def named_apart(args):
    """Siblings that share a server name (SORT has two `pattern`s) are
    named after their tokens, unless a c_name says otherwise."""
    counts = {}
    for a in args:
        counts[a.cname] = counts.get(a.cname, 0) + 1
    for a in args:
        if counts[a.cname] > 1 and a.token and not a.spec.get("c_name"):
            a.cname = cident(a.token)
    return args


def syntax(args):
    """The command line syntax, as the Redis docs write it."""
    out = []
    for a in args:
        out.append(_syntax_one(a))
    return " ".join(x for x in out if x)


def choices_syntax(a):
    """A oneof's choices as the Redis docs write them: `a | b`. A choice
    is optional by being one, so it gets no brackets of its own."""
    return " | ".join(_syntax_one(c, True) for c in a.children)


def _syntax_one(a, choice=False):
    if a.type == "pure-token":
        body = a.label()  # the empty token shows as ""
    elif a.type == "oneof":
        body = choices_syntax(a)
        if a.token:
            body = "%s <%s>" % (a.token, body)
        elif not a.optional or a.multiple:
            body = "<%s>" % body
    elif a.type == "block":
        body = syntax(a.children)
        if a.token:
            body = "%s %s" % (a.token, body)
    else:
        body = a.name
        if a.token:
            body = "%s %s" % (a.token, body)
    if a.fixed:
        return a.label()
    if a.multiple:
        rep = body if a.multiple_token or not a.token else \
            body[len(a.token) + 1:]
        body = "%s [%s ...]" % (body, rep)
    return "[%s]" % body if a.optional and not choice else body


# ------------------------------------------------------------- code building

# One C declaration an argument contributes: a parameter or a struct field.
# `where` is the argument's spec location; `tag` is "param" or "opt" for
# top-level arguments.
Decl = collections.namedtuple("Decl", "ctype name doc where tag",
                              defaults=(None,))


class Code:
    """The pieces one argument contributes to its container and function."""

    def __init__(self, decls=None, check=None, write=None, present=None):
        self.decls = decls or []      # [Decl]
        self.check = check or []      # lines: validate and size (may return)
        self.write = write or []      # lines: pack into p
        self.present = present        # C expression, None when always sent

    def extend(self, other):
        self.decls += other.decls
        self.check += other.check
        self.write += other.write


def indent(lines, n=1):
    return ["    " * n + line if line else line for line in lines]


def guarded(cond, lines):
    if not lines:
        return []
    if cond is None:
        return lines
    return ["if (%s) {" % cond] + indent(lines) + ["}"]


class FunctionBuilder:
    """Builds one C function (a command or one of its variants)."""

    SCALAR_REQ = {"key": "reds_str", "string": "reds_str", "pattern": "reds_str",
                  "integer": "int64_t", "unix-time": "int64_t",
                  "double": "double", "uint64": "uint64_t"}
    SCALAR_OPT = {"key": "reds_str", "string": "reds_str", "pattern": "reds_str",
                  "integer": "reds_opt_i64", "unix-time": "reds_opt_i64",
                  "double": "reds_opt_f64"}

    def __init__(self, gen, command, fname, type_prefix):
        self.gen = gen
        self.command = command
        self.fname = fname              # C function name without reds_
        self.type_prefix = type_prefix  # base command's C name, for types
        self.cmd_label = command.name
        self.depth = 0
        self.presence = {}  # id(Arg) -> C test of "given" (None: always)

    def problem(self, arg, message):
        raise SpecError(["%s: %s: %s" % (arg.where, self.command.name,
                                          message)])

    # -- scalars and tokens

    def _token(self, tok):
        lit, n = resp_literal(tok)
        return (["reds__size_lit(&sz, %d);" % n],
                ["p = reds__put_lit(p, %s, %d);" % (lit, n)])

    def _scalar_value(self, atype, expr, name):
        if atype in ("key", "string", "pattern"):
            return (["reds__size_str(&sz, %s, \"%s\");" % (expr, name)],
                    ["p = reds__put_str(p, %s);" % expr])
        if atype == "double":
            return (["reds__size_f64(&sz, %s, \"%s\");" % (expr, name)],
                    ["p = reds__put_f64(p, %s);" % expr])
        if atype == "uint64":
            return (["reds__size_num(&sz);"], ["p = reds__put_u64(p, %s);" % expr])
        return (["reds__size_num(&sz);"], ["p = reds__put_i64(p, %s);" % expr])

    def _with_token(self, arg, check, write):
        if arg.token and arg.type != "pure-token":
            tc, tw = self._token(arg.token)
            return tc + check, tw + write
        return check, write

    @staticmethod
    def sibling_count(prefix, target):
        """The element count (n<name>) of `target`, an array beside an
        argument reached through `prefix`. Siblings in a struct share its
        prefix; top-level ones (and the parts of a required top-level
        block, which are top-level too) are parameters or options fields,
        each by whether it is optional."""
        if prefix in ("", "o->"):
            prefix = "o->" if target.optional and not target.fixed else ""
        return prefix + "n" + target.cname.rstrip("_")

    def filled(self, ctype, expr):
        """C tests, any of them true when the field `expr` of type `ctype`
        holds anything but zero (nested structs field by field)."""
        if ctype.endswith("*"):
            return ["%s != NULL" % expr]
        if ctype == "bool":
            return [expr]
        if ctype == "reds_str":
            return ["%s.ptr != NULL" % expr, "%s.len != 0" % expr]
        if ctype in ("reds_opt_i64", "reds_opt_f64"):
            return ["%s.set" % expr]
        known = self.gen.types.get(ctype)
        if known and known[0][0] == "struct":
            out = []
            for fctype, fname in known[0][1]:
                out += self.filled(fctype, "%s.%s" % (expr, fname))
            return out
        return ["%s != 0" % expr]  # numbers, counts, enums

    def unset_check(self, acc, decls):
        """An optional block is given by its `set`: members filled while
        `set` is false would silently not be sent (BITPOS's end without
        its start, GEOSEARCH's ANY without COUNT), so they are refused."""
        # Named as the caller writes it: `count.any`, `ops[].get.offset`.
        shown = re.sub(r"\[i\d+\]", "[]", re.sub(r"^o->", "", acc))
        fields = []  # (name, tests); an array's pointer and count are one
        for d in decls:
            tests = self.filled(d.ctype, "%s.%s" % (acc, d.name))
            if fields and d.ctype == "size_t" and \
                    d.name == "n" + fields[-1][0].rstrip("_"):
                fields[-1][1].extend(tests)
            else:
                fields.append((d.name, tests))
        lines = []
        for name, tests in fields:
            lines += guarded(" || ".join(tests), [
                "return reds__error(REDS_ERR_DATA, \"%s: %s.%s is given but "
                "%s.set is false\");" % (self.cmd_label, shown, name, shown)])
        return guarded("!%s.set" % acc, lines)

    # -- enums (oneofs of tokens)

    def enum_type(self, arg):
        name = "reds_" + (arg.c_type or "%s_%s" % (self.type_prefix,
                                                   arg.cname.rstrip("_")))
        prefix = name.upper()
        values = []
        for i, alt in enumerate(arg.children, 1):
            values.append(("%s_%s" % (prefix, cident(alt.spec.get("c_name")
                                                     or alt.name).upper()),
                           i, alt.token))
        lits = [resp_literal(v[2]) for v in values]
        sig = ("enum", tuple(v[2] for v in values))
        decl = ["/** %s: %s. 0 leaves it out where it is optional. */" % (
            comment(arg.name), comment(" | ".join(v[2] or '""'
                                                  for v in values))),
                "typedef enum %s {" % name]
        decl += ["    %s = %d%s" % (v[0], v[1], "," if v is not values[-1]
                                    else "") for v in values]
        decl += ["} %s;" % name]
        table = ["static const reds_str reds__lit_%s[] = {" % name[5:],
                 "    {NULL, 0},"]
        table += ["    {%s, %d}," % lit for lit in lits]
        table += ["};"]
        self.gen.add_type(name, sig, decl, arg, table)
        return name, len(values), max(n for _, n in lits)

    # -- the recursive walk

    def arg_code(self, arg, required, prefix, in_struct):
        """Code for `arg` in a container whose fields are reached through
        `prefix` ('' for parameters, 'o->' for options, 'x.' in structs).
        `required`: sent unconditionally (not optional, not a choice)."""
        code = self._arg_code(arg, required, prefix, in_struct)
        self.presence[id(arg)] = code.present
        return code

    def _arg_code(self, arg, required, prefix, in_struct):
        acc = prefix + arg.cname
        if arg.count_target is not None:
            # Its token first (Redis 7.4's HTTL key FIELDS numfields ...).
            check, write = self._with_token(
                arg, ["reds__size_num(&sz);"],
                ["p = reds__put_i64(p, (int64_t)%s);" %
                 self.sibling_count(prefix, arg.count_target)])
            return Code(check=check, write=write)
        if arg.multiple:
            return self.multiple_code(arg, required, prefix)
        if arg.type == "pure-token":
            tc, tw = self._token(arg.token)
            if arg.fixed or required:
                return Code(check=tc, write=tw)
            return Code(decls=[Decl("bool", arg.cname, "send %s" % arg.label(),
                                    arg.where)],
                        check=guarded(acc, tc), write=guarded(acc, tw),
                        present=acc)
        if arg.type in speclib.SCALAR_TYPES + ("uint64",):
            if required:
                check, write = self._scalar_value(arg.type, acc, arg.name)
                check, write = self._with_token(arg, check, write)
                doc = arg.type + (" (after %s)" % arg.token if arg.token else "")
                return Code(decls=[Decl(self.SCALAR_REQ[arg.type], arg.cname,
                                        doc, arg.where)],
                            check=check, write=write)
            ctype = self.SCALAR_OPT[arg.type]
            # A NULL pointer with a length is not "left out" but invalid:
            # it counts as given, and sizing it fails with a DataError.
            present = "%s.ptr != NULL || %s.len != 0" % (acc, acc) \
                if ctype == "reds_str" else "%s.set" % acc
            value = acc if ctype == "reds_str" else acc + ".value"
            check, write = self._scalar_value(arg.type, value, arg.name)
            check, write = self._with_token(arg, check, write)
            return Code(decls=[Decl(ctype, arg.cname, arg.label(), arg.where)],
                        check=guarded(present, check),
                        write=guarded(present, write), present=present)
        if arg.type == "oneof" and arg.token_only:
            ename, count, maxlen = self.enum_type(arg)
            bad = ["return reds__error(REDS_ERR_DATA, \"%s: %s is not a %s "
                   "value\");" % (self.cmd_label, arg.name, ename)]
            if required:
                check = guarded("%s == 0 || (unsigned)%s > %d" %
                                (acc, acc, count), bad)
            else:
                check = guarded("(unsigned)%s > %d" % (acc, count), bad)
            size = ["reds__size_lit(&sz, %d);" % maxlen]
            write = ["p = reds__put_lit(p, reds__lit_%s[%s].ptr, "
                     "reds__lit_%s[%s].len);" % (ename[5:], acc, ename[5:],
                                                 acc)]
            size, write = self._with_token(arg, size, write)
            present = None if required else "%s != 0" % acc
            # Each choice is "given" when the enum holds it, so that an
            # `exclusive:` group can name one choice (ZADD's NX).
            for alt in arg.children:
                self.presence[id(alt)] = "%s == %s_%s" % (
                    acc, ename.upper(),
                    cident(alt.spec.get("c_name") or alt.name).upper())
            return Code(decls=[Decl(ename, arg.cname, arg.label(), arg.where)],
                        check=check + guarded(present, size),
                        write=guarded(present, write), present=present)
        if arg.type == "block":
            return self.block_code(arg, required, prefix, in_struct)
        if arg.type == "oneof":
            return self.oneof_code(arg, required, prefix, in_struct)
        self.problem(arg, "cannot map argument %r" % arg.name)

    def struct_type(self, arg, fields_code, with_set, doc):
        name = "reds_" + (arg.c_type or "%s_%s" % (self.type_prefix,
                                                   arg.cname.rstrip("_")))
        decls = ([Decl("bool", "set", "give this argument", arg.where)]
                 if with_set else []) + fields_code.decls
        self.check_unique(decls)
        sig = ("struct", tuple((d.ctype, d.name) for d in decls))
        lines = ["/** %s */" % comment(doc), "typedef struct %s {" % name]
        for d in decls:
            lines.append("    %s;%s" % (decl(d.ctype, d.name),
                                        " /**< %s */" % comment(d.doc)
                                        if d.doc else ""))
        lines.append("} %s;" % name)
        self.gen.add_type(name, sig, lines, arg)
        return name

    def block_code(self, arg, required, prefix, in_struct):
        acc = prefix + arg.cname
        if required and not in_struct:
            # A required block among the parameters: its parts are
            # parameters (or options) of their own.
            code = Code()
            for child in arg.children:
                code.extend(self.top_code(child))
            tc, tw = self._with_token(arg, [], [])
            code.check = tc + code.check
            code.write = tw + code.write
            return code
        inner = Code()
        for child in arg.children:
            inner.extend(self.arg_code(child, not child.optional,
                                       acc + ".", True))
        tname = self.struct_type(arg, inner, not required,
                                 "%s: %s" % (arg.name, syntax(arg.children)))
        check, write = self._with_token(arg, inner.check, inner.write)
        present = None if required else "%s.set" % acc
        unset = [] if required else self.unset_check(acc, inner.decls)
        return Code(decls=[Decl(tname, arg.cname, arg.label(), arg.where)],
                    check=unset + guarded(present, check),
                    write=guarded(present, write), present=present)

    def choices(self, arg, prefix):
        """Each alternative of a oneof as an optional field at `prefix`."""
        code = Code()
        presents = []
        for alt in arg.children:
            c = self.arg_code(alt, False, prefix, True)
            if c.present is None:
                self.problem(alt, "choice %r of %r cannot be left out" %
                             (alt.name, arg.name))
            presents.append(c.present)
            code.extend(c)
        return code, presents

    def exclusive_check(self, arg, presents, required, labels=None):
        count = " + ".join("!!(%s)" % p for p in presents)
        labels = labels or ", ".join(a.label() for a in arg.children)
        if required:
            return guarded("%s != 1" % count, [
                "return reds__error(REDS_ERR_DATA, \"%s: give exactly one "
                "of %s\");" % (self.cmd_label, c_string(labels)[1:-1])])
        return guarded("%s > 1" % count, [
            "return reds__error(REDS_ERR_DATA, \"%s: give at most one of "
            "%s\");" % (self.cmd_label, c_string(labels)[1:-1])])

    def oneof_code(self, arg, required, prefix, in_struct):
        if required and not in_struct:
            # A parameter of its own struct type.
            acc = prefix + arg.cname
            inner, presents = self.choices(arg, acc + ".")
            tname = self.struct_type(arg, inner, False, "%s: exactly one of "
                                     "%s" % (arg.name, choices_syntax(arg)))
            check = self.exclusive_check(arg, presents, True) + inner.check
            check, write = self._with_token(arg, check, inner.write)
            return Code(decls=[Decl(tname, arg.cname, arg.label(), arg.where)],
                        check=check, write=write)
        # Among fields: the choices become fields of the container.
        inner, presents = self.choices(arg, prefix)
        present = " || ".join("(%s)" % p for p in presents)
        check = self.exclusive_check(arg, presents, required)
        if arg.token:
            tc, tw = self._token(arg.token)
            check += guarded(None if required else present, tc)
            write = guarded(None if required else present, tw) + inner.write
        else:
            write = inner.write
        return Code(decls=inner.decls, check=check + inner.check, write=write,
                    present=None if required else present)

    def multiple_code(self, arg, required, prefix):
        acc = prefix + arg.cname
        count = prefix + "n" + arg.cname.rstrip("_")
        i = "i%d" % self.depth
        self.depth += 1
        item = "%s[%s]" % (acc, i)
        single = arg.clone()
        single.multiple = False
        single.optional = False
        if single.type in speclib.SCALAR_TYPES:
            ctype = self.SCALAR_REQ[single.type]
            check, write = self._scalar_value(single.type, item, arg.name)
        elif single.type == "oneof" and single.token_only:
            ctype, n, maxlen = self.enum_type(single)
            check = guarded("%s == 0 || (unsigned)%s > %d" % (item, item, n),
                            ["return reds__error(REDS_ERR_DATA, \"%s: %s "
                             "holds a bad value\");" % (self.cmd_label,
                                                        arg.name)])
            check += ["reds__size_lit(&sz, %d);" % maxlen]
            write = ["p = reds__put_lit(p, reds__lit_%s[%s].ptr, "
                     "reds__lit_%s[%s].len);" % (ctype[5:], item, ctype[5:],
                                                 item)]
        elif single.type == "block" and len(single.children) == 1 and \
                single.children[0].type in speclib.SCALAR_TYPES and \
                not (single.children[0].token or single.children[0].optional
                     or single.children[0].multiple):
            # A block of one value (CONFIG GET parameter): an array of
            # that value, not of one-field structs.
            ctype = self.SCALAR_REQ[single.children[0].type]
            check, write = self._scalar_value(single.children[0].type, item,
                                              arg.name)
        elif single.type == "block":
            inner = Code()
            for child in single.children:
                inner.extend(self.arg_code(child, not child.optional,
                                           item + ".", True))
            ctype = self.struct_type(single, inner, False, "one %s: %s" % (
                arg.name, syntax(single.children)))
            check, write = inner.check, inner.write
        elif single.type == "oneof":
            inner, presents = self.choices(single, item + ".")
            ctype = self.struct_type(single, inner, False, "one %s: exactly "
                                     "one of %s" % (arg.name,
                                                    choices_syntax(single)))
            check = self.exclusive_check(single, presents, True) + inner.check
            write = inner.write
        else:
            self.problem(arg, "a multiple %s is not supported" % arg.type)
        self.depth -= 1
        each_check, each_write = check, write
        once_check, once_write = [], []
        if arg.token:
            tc, tw = self._token(arg.token)
            if arg.multiple_token:
                each_check, each_write = tc + check, tw + write
            else:
                once_check, once_write = tc, tw
        loop = "for (size_t %s = 0; %s < %s; %s++) {" % (i, i, count, i)
        check = ["reds__size_array(&sz, %s, %s, sizeof *%s, \"%s\");" %
                 (acc, count, acc, arg.name)]
        present = None if required else "%s > 0" % count
        if required:
            check += guarded("%s == 0" % count, [
                "return reds__error(REDS_ERR_DATA, \"%s: %s needs at least "
                "one element\");" % (self.cmd_label, arg.name)])
        if arg.same_target is not None:
            # same_count_as: as many elements as the sibling array, when
            # given (XREAD's ids and keys, ZINTER's WEIGHTS and keys).
            other = self.sibling_count(prefix, arg.same_target)
            check += guarded(
                "%s%s != %s" % ("" if required else present + " && ", count,
                                other),
                ["return reds__error(REDS_ERR_DATA, \"%s: %s and %s need "
                 "the same number of elements (%%zu and %%zu)\", %s, %s);" %
                 (self.cmd_label, arg.name, arg.same_target.name, count,
                  other)])
        # Do not walk the items when the array itself is invalid.
        check += guarded(present, once_check + guarded("!sz.bad", [loop] +
                                                        indent(each_check) +
                                                        ["}"]))
        write = guarded(present, once_write + [loop] + indent(each_write) +
                        ["}"])
        decls = [Decl("const %s *" % ctype, arg.cname, arg.label(), arg.where),
                 Decl("size_t", "n" + arg.cname.rstrip("_"),
                      "number of %s" % arg.cname, arg.where)]
        return Code(decls=decls, check=check, write=write, present=present)

    def top_code(self, arg):
        """A top-level argument: required ones are parameters, optional
        ones live in the options struct. Declarations come back tagged
        ("param" or "opt"); a flattened block's parts are tagged already."""
        if arg.optional and not arg.fixed:
            code = self.arg_code(arg, False, "o->", True)
            tag = "opt"
        else:
            code = self.arg_code(arg, True, "", False)
            tag = "param"
        code.decls = [d if d.tag else d._replace(tag=tag) for d in code.decls]
        return code

    def check_unique(self, decls):
        seen = set()
        for d in decls:
            if d.name in seen:
                raise SpecError(["%s: %s: two fields would be named %r; give "
                                 "one a c_name" % (d.where, self.command.name,
                                                   d.name)])
            seen.add(d.name)


def hand_written_functions():
    """Names of the public functions of runtime/include/reds/ (and the
    event-loop adapters under it)."""
    names = set()
    inc = os.path.join(ROOT, "runtime", "include", "reds")
    paths = [os.path.join(d, f) for d, _, files in os.walk(inc) for f in files
             if f.endswith(".h")]
    for path in sorted(paths):
        with open(path) as f:
            # Declarations only: doc comments name generated functions.
            text = re.sub(r"/\*.*?\*/|//[^\n]*", " ", f.read(), flags=re.S)
            names |= set(re.findall(r"\b(reds_[a-z0-9_]+)\s*\(", text))
    return names


# ------------------------------------------------------------ variant ops

def find_path(args, path, where, cmdname):
    """The Arg at a dotted path of C names (or server names)."""
    node_list = args
    found = None
    for part in path.split("."):
        matches = [a for a in node_list if a.cname.rstrip("_") == part or
                   (a.name == part and a.cname.rstrip("_") == cident(part))]
        if not matches:
            matches = [a for a in node_list if a.name == part]
        if len(matches) != 1:
            raise SpecError(["%s: %s: path %r: %s" % (
                where, cmdname, path,
                "no such argument" if not matches else
                "ambiguous; give the arguments c_names")])
        found = matches[0]
        node_list = found.children
    return found


def remove_arg(args, target):
    for i, a in enumerate(args):
        if a is target:
            del args[i]
            return True
        if remove_arg(a.children, target):
            return True
    return False


def parent_of(args, target, parent=None):
    """The Arg whose children hold `target`, or None at the top level."""
    for a in args:
        if a is target:
            return parent
        found = parent_of(a.children, target, a)
        if found is not False:
            return found
    return False


def min_words(arg):
    """The fewest command-line words a required argument takes."""
    if arg.type == "oneof":
        n = min((min_words(c) for c in arg.children), default=0)
    elif arg.type == "block":
        n = sum(min_words(c) for c in arg.children if not c.optional)
    else:
        n = 1
    return n + (1 if arg.token and arg.type != "pure-token" else 0)


def omittable(args, arg, cmdname, arity):
    """Optional arguments can be omitted; so can one choice of a oneof
    that keeps others, and a required top-level argument when the arity
    says the command runs without it (Redis 7.0 documents SENTINEL DEBUG's
    pairs as required, yet `SENTINEL DEBUG` alone lists the parameters)."""
    if arg.optional:
        return True
    parent = parent_of(args, arg)
    if parent:
        return parent.type == "oneof" and len(parent.children) > 1
    if not isinstance(arity, int) or arity >= 0:
        return False
    rest = sum(min_words(a) for a in args if a is not arg and not a.optional)
    return len(cmdname.split()) + rest >= -arity


def apply_ops(args, ops, where, cmdname, arity=None):
    for path in ops.get("omit", []):
        arg = find_path(args, path, where, cmdname)
        if not omittable(args, arg, cmdname, arity):
            raise SpecError(["%s: %s: omit %r: only optional arguments, "
                             "choices of a oneof, and required ones the "
                             "arity allows to leave out can be omitted" %
                             (where, cmdname, path)])
        remove_arg(args, arg)
    for path in ops.get("require", []):
        find_path(args, path, where, cmdname).optional = False
    for path in ops.get("fix", []):
        arg = find_path(args, path, where, cmdname)
        if arg.type != "pure-token":
            raise SpecError(["%s: %s: fix %r: only pure tokens can be fixed"
                             % (where, cmdname, path)])
        arg.fixed = True
        arg.optional = False
    for path, choice in (ops.get("select") or {}).items():
        arg = find_path(args, path, where, cmdname)
        if arg.type != "oneof":
            raise SpecError(["%s: %s: select %r: not a oneof" %
                             (where, cmdname, path)])
        alt = find_path(arg.children, choice, where, cmdname)
        alt.optional = arg.optional
        if arg.multiple:
            alt.multiple = True
        replace_arg(args, arg, alt)
    for path in ops.get("single", []):
        # One element instead of an array (ZADD INCR takes one pair): a
        # required block then becomes parameters of its own.
        arg = find_path(args, path, where, cmdname)
        if not arg.multiple:
            raise SpecError(["%s: %s: single %r: not a multiple argument" %
                             (where, cmdname, path)])
        arg.multiple = arg.multiple_token = False
    return args


def resolve_counts(args, where, cmdname, parent=None):
    """Point each `count_of` argument (numkeys) at its sibling array,
    whose element count it is then sent as (the caller gives the array,
    never the count), and each `same_count_as` array at the sibling array
    it must match in length. Shapes that could not be packed right are
    refused (the choices of a oneof are not siblings of each other)."""
    def sibling(arg, name):
        found = [a for a in args if a is not arg and
                 name in (a.name, a.cname.rstrip("_"))]
        if parent is not None and parent.type != "block":
            return None
        return found[0] if len(found) == 1 and found[0].multiple else None

    for arg in args:
        resolve_counts(arg.children, where, cmdname, arg)
        if arg.count_of:
            arg.count_target = sibling(arg, arg.count_of)
            if arg.count_target is None or arg.type != "integer" or \
                    arg.optional or arg.multiple:
                raise SpecError(["%s: %s: count_of %r: a required integer "
                                 "counting one sibling array (top-level or "
                                 "in a block)" % (arg.where, cmdname,
                                                  arg.count_of)])
        if arg.same_count_as:
            arg.same_target = sibling(arg, arg.same_count_as)
            if arg.same_target is None or not arg.multiple:
                raise SpecError(["%s: %s: same_count_as %r: an array as long "
                                 "as one sibling array (top-level or in a "
                                 "block)" % (arg.where, cmdname,
                                             arg.same_count_as)])


def replace_arg(args, old, new):
    for i, a in enumerate(args):
        if a is old:
            args[i] = new
            return True
        if replace_arg(a.children, old, new):
            return True
    return False


# ------------------------------------------------------------ record checks

def check_record_layout(name, rec, records):
    """Problems with the shape-specific rules of one record: `pairs` has a
    key and a value field, `lines` and `words` hold text fields, `rest`
    ends an array or words record, `prefix` collects pairs in a map."""
    problems = []
    shape = rec.get("shape")
    fields = rec.get("fields") or []
    for i, f in enumerate(fields):
        ftype = str(f.get("type", ""))
        last = i == len(fields) - 1
        where = f.where()
        if f.get("rest"):
            if shape not in ("array", "words") or not last:
                problems.append("%s: record %s: rest is for the last field "
                                "of an array or words record" % (where, name))
            elif not (ftype in ("strlist", "intlist") or
                      ftype.startswith("list:")) or (
                          shape == "words" and ftype != "strlist"):
                problems.append("%s: record %s: a rest field is a list" %
                                (where, name))
        if f.get("prefix"):
            sub = records.get(ftype.split(":", 1)[1]) \
                if ftype.startswith("list:") else None
            if shape != "map" or not sub or sub.get("shape") != "pairs":
                problems.append("%s: record %s: a prefix field of a map "
                                "record is a list of a pairs record" %
                                (where, name))
        if f.get("nullable") and shape not in ("array", "map", "pairs"):
            problems.append("%s: record %s: nullable fields are for array, "
                            "map and pairs records" % (where, name))
        if shape in ("lines", "words") and ftype not in TEXT_FIELD_TYPES \
                and not (shape == "words" and f.get("rest")):
            problems.append("%s: record %s: a %s record holds int and string "
                            "fields (and a rest strlist)" % (where, name,
                                                             shape))
    if shape == "pairs" and len(fields) != 2:
        problems.append("%s: record %s: a pairs record has two fields, the "
                        "key and the value" % (rec.where(), name))
    return problems


def wire_type(ftype):
    """The reply type a field is read from, as a reds_reply_type name
    (what a `typed` record tells its fields apart by); None for `reply`."""
    if ftype in ("int", "nullable_int", "bool"):
        return "REDS_REPLY_INTEGER"
    if ftype in ("int_text", "u64", "double", "nullable_double", "string",
                 "nullable_string"):
        return "REDS_REPLY_STRING"
    if ftype == "reply":
        return None
    return "REDS_REPLY_ARRAY"  # lists, maps, embedded records


def check_typed_record(name, rec, records):
    """A `typed` record (GEO results): the first field comes first; every
    other field is optional and is recognised by its reply type, so no
    two of them may share one. `presence` (a leading `bool set`) is for
    array records: nullable ones, or ones a typed record may leave out."""
    problems = []
    fields = rec.get("fields") or []
    if rec.get("presence") and rec.get("shape") != "array":
        problems.append("%s: record %s: presence is for array records" %
                        (rec.where(), name))
    if rec.get("presence") and any(f.get("name") == "set" for f in fields):
        problems.append("%s: record %s: presence adds a field `set`; rename "
                        "yours" % (rec.where(), name))
    if rec.get("shape") != "typed":
        return problems
    seen = {}
    for i, f in enumerate(fields):
        wire = wire_type(str(f.get("type", "")))
        if i == 0:
            if f.get("optional") or wire is None:
                problems.append("%s: record %s: the first field of a typed "
                                "record is required" % (f.where(), name))
            continue
        if not f.get("optional") or wire is None:
            problems.append("%s: record %s: after the first, a typed record's "
                            "fields are optional and not `reply`" %
                            (f.where(), name))
        elif wire in seen:
            problems.append("%s: record %s: fields %s and %s are both read "
                            "from %s; a typed record tells them apart by "
                            "type" % (f.where(), name, seen[wire],
                                      f.get("name"), wire))
        seen[wire] = f.get("name")
    if len(fields) > 32:
        problems.append("%s: record %s: a typed record has at most 32 fields"
                        % (rec.where(), name))
    return problems


# --------------------------------------------------------------- generator

class Generator:
    def __init__(self, spec):
        self.spec = spec
        self.kinds = {}
        self.records = {}
        self.types = {}          # name -> (sig, lines, where)
        self.type_order = []     # names, definition order
        self.tables = {}         # enum name -> literal table lines
        self.all_servers = speclib.server_names(spec)
        self.server_versions = {x["name"]: x["version"]
                                for x in spec.servers}
        self.load_replies()

    # -- replies.yaml

    def load_replies(self):
        problems = []
        replies = self.spec.replies
        if not replies:
            raise SpecError(["%s/replies.yaml:1: missing reply kinds" %
                             self.spec.directory])
        for key in replies:
            if key not in ("kinds", "records"):
                problems.append("%s: unknown field %r in replies.yaml" %
                                (replies.where(key), key))
        records = replies.get("records") or {}
        for name, rec in records.items():
            if not isinstance(rec, speclib.Node):
                problems.append("%s: record %s must be a mapping" %
                                (records.where(name), name))
                continue
            for key in rec:
                if key not in RECORD_FIELDS:
                    problems.append("%s: unknown field %r in record %s" %
                                    (rec.where(key), key, name))
            if rec.get("shape") not in RECORD_SHAPES:
                problems.append("%s: record %s: shape must be one of %s" %
                                (rec.where(), name, ", ".join(RECORD_SHAPES)))
            for f in rec.get("fields") or []:
                for key in f:
                    if key not in FIELD_FIELDS:
                        problems.append("%s: unknown field %r in a field of "
                                        "record %s" % (f.where(key), key,
                                                       name))
                ftype = str(f.get("type", ""))
                base = ftype.split(":", 1)
                if ftype not in FIELD_TYPES and not (
                        len(base) == 2 and base[0] in ("record", "list") and
                        base[1] in records):
                    problems.append("%s: record %s: field %s has bad type %r"
                                    % (f.where("type"), name, f.get("name"),
                                       ftype))
            if rec.get("shape") == "text":
                for f in rec.get("fields") or []:
                    if f.get("type") not in ("int", "int_text", "string"):
                        problems.append("%s: record %s: a text record holds "
                                        "int and string fields only" %
                                        (f.where("type"), name))
            problems += check_record_layout(name, rec, records)
            problems += check_typed_record(name, rec, records)
            self.records[name] = rec
        for name, kind in (replies.get("kinds") or {}).items():
            for key in kind or {}:
                if key not in REPLY_KIND_FIELDS:
                    problems.append("%s: unknown field %r in kind %s" %
                                    (kind.where(key), key, name))
            if kind.get("record") and kind["record"] not in records:
                problems.append("%s: kind %s: no record %r" %
                                (kind.where("record"), name, kind["record"]))
            if "doc" not in kind:
                problems.append("%s: kind %s needs a doc" % (kind.where(),
                                                             name))
            self.kinds[name] = kind
        if problems:
            raise SpecError(problems)

    # -- types shared by functions

    def add_type(self, name, sig, lines, arg, table=None):
        if name in self.types:
            if self.types[name][0] != sig:
                raise SpecError(["%s: type %s is defined twice, differently "
                                 "(give one a c_type; first at %s)" %
                                 (arg.where, name, self.types[name][2])])
            return
        self.types[name] = (sig, lines, arg.where)
        self.type_order.append(name)
        if table:
            self.tables[name] = table

    # -- functions

    def converter(self, kind_name):
        kind = self.kinds[kind_name]
        return "reds__conv_" + (kind.get("converter") or kind_name)

    def out_param(self, kind_name):
        kind = self.kinds[kind_name]
        ctype = kind.get("c_type")
        if not ctype:
            return None
        return "%s *out" % ctype if not ctype.endswith("*") else \
            "%s*out" % ctype

    def build_function(self, cmd, fname, ops, kind_name, doc_extra):
        where = cmd.where()
        args = named_apart([Arg(a, where) for a in
                            cmd.get("arguments") or cmd.get("c_arguments", [])])
        apply_ops(args, ops, where, cmd.name, cmd.get("arity"))
        resolve_counts(args, where, cmd.name)
        base = cmd.get("c_name") or cident(cmd.name)
        fb = FunctionBuilder(self, cmd, fname, base)
        code = Code()
        for a in args:
            code.extend(fb.top_code(a))
        fb.refused_together = []
        code.check += self.exclusive_groups(cmd, args, fb)
        params = [d for d in code.decls if d.tag == "param"]
        opt_fields = [d for d in code.decls if d.tag == "opt"]
        fb.check_unique(params)
        opts_type = None
        if opt_fields:
            fb.check_unique(opt_fields)
            opts_type = self.opts_type(cmd, fname, base, opt_fields)
        words = cmd.name.split(" ")
        name_check, name_write = [], []
        for w in words:
            lit, n = resp_literal(w)
            name_check.append("reds__size_lit(&sz, %d);" % n)
            name_write.append("p = reds__put_lit(p, %s, %d);" % (lit, n))
        kind = self.kinds[kind_name]
        out = self.out_param(kind_name)
        servers = self.servers_of(cmd, args)
        return {
            "name": "reds_" + fname,
            "command": cmd.name,
            "id": "REDS__CMD_" + cident(cmd.name).upper(),
            "summary": cmd.get("summary", ""),
            "syntax": " ".join(words) + (" " + syntax(args) if args else ""),
            "since": cmd.get("since"),
            "since_server": next((n.capitalize() for n in self.all_servers
                                  if speclib.on_server(cmd, n)), ""),
            "servers": ", ".join(
                "%s %s" % (n.capitalize(), self.server_versions[n])
                for n in servers) if servers != self.all_servers else "",
            "complexity": cmd.get("complexity"),
            "group": cmd.group,
            "flags": list(cmd.get("flags", [])),
            "deprecated": cmd.get("deprecated_since"),
            "replaced_by": cmd.get("replaced_by"),
            "scope": cmd.get("scope"),
            "cacheable": bool(cmd.get("cacheable")),
            "refused_together": fb.refused_together,
            "params": params,
            "opts_type": opts_type,
            "opt_fields": opt_fields,
            "out": out,
            "out_doc": kind["doc"],
            "owned": bool(kind.get("owned")),
            "kind": kind_name,
            "conv": self.converter(kind_name),
            "check": name_check + code.check,
            "write": name_write + code.write,
            "doc": doc_extra,
        }

    def servers_of(self, cmd, args):
        """The servers a function works on: the command's, less those that
        lack an argument it always sends."""
        have = [n for n in self.all_servers if speclib.on_server(cmd, n)]
        for a in args:
            if not a.optional or a.fixed:
                have = [n for n in have if speclib.on_server(a.spec, n)]
        return have

    def exclusive_groups(self, cmd, args, fb):
        """Checks for `exclusive:` groups: independent optional arguments
        the server accepts only one of. Members a variant left out are
        skipped."""
        lines = []
        for group in cmd.get("exclusive", []):
            members = []
            for path in group:
                try:
                    members.append(find_path(args, path, cmd.where(),
                                             cmd.name))
                except SpecError:
                    continue  # omitted by this function
            # A token a variant fixes is always given.
            presents = ["1" if m.fixed else fb.presence.get(id(m))
                        for m in members]
            if len(members) < 2:
                continue
            if None in presents:
                raise SpecError(["%s: %s: exclusive %r: every member must "
                                 "be optional" % (cmd.where("exclusive"),
                                                  cmd.name, group)])
            labels = ", ".join(m.label() for m in members)
            fb.refused_together.append(labels)
            lines += fb.exclusive_check(members[0], presents, False,
                                        c_string(labels)[1:-1])
        return lines

    def opts_type(self, cmd, fname, base, fields):
        sig = ("opts", tuple((d.ctype, d.name) for d in fields))
        # Variants share the command's options struct when theirs is the
        # same; otherwise each gets its own.
        for candidate in ("reds_%s_opts" % base, "reds_%s_opts" % fname):
            existing = self.types.get(candidate)
            if existing is None or existing[0] == sig:
                name = candidate
                break
        lines = ["/** Optional arguments of %s (zero-initialise; NULL for "
                 "none). */" % comment(cmd.name), "typedef struct %s {" % name]
        for d in fields:
            lines.append("    %s;%s" % (decl(d.ctype, d.name), " /**< %s */" %
                                         comment(d.doc) if d.doc else ""))
        lines.append("} %s;" % name)
        fake = Arg({"name": "opts", "type": "block"}, cmd.where())
        self.add_type(name, sig, lines, fake)
        return name

    def functions(self):
        out = []
        seen = {}
        problems = []
        for group in sorted(self.spec.groups):
            for name in sorted(self.spec.groups[group]):
                cmd = self.spec.commands[name]
                for fname, ops, kind, doc in speclib.functions(name, cmd):
                    if fname in seen:
                        raise SpecError(["%s: %s: function reds_%s is also "
                                         "made by %s" % (cmd.where(), name,
                                                         fname, seen[fname])])
                    seen[fname] = name
                    try:
                        fn = self.build_function(cmd, fname, ops, kind, doc)
                    except SpecError as e:
                        # Every command's problems in one run.
                        problems += e.problems
                        continue
                    fn["types"] = [t for t in self.type_order
                                   if t not in self._emitted]
                    self._emitted.update(fn["types"])
                    out.append(fn)
        if problems:
            raise SpecError(problems)
        runtime_api = hand_written_functions()
        for fn in out:
            if fn["name"] in runtime_api:
                raise SpecError(["%s: function %s would clash with the "
                                 "runtime's %s(); give the command a c_name"
                                 % (self.spec.commands[fn["command"]].where(),
                                    fn["name"], fn["name"])])
        records = {"reds_" + r for r in self.records}
        records |= {"reds_%s_list" % k["record"] for k in self.kinds.values()
                    if k.get("list")}
        for fn in out:
            if fn["name"] in self.types or fn["name"] in records:
                raise SpecError(["%s: function %s has the name of a type; "
                                 "rename one (c_name, c_type or the record)"
                                 % (self.spec.commands[fn["command"]].where(),
                                    fn["name"])])
        return out

    # -- the command table

    def table(self):
        rows = []
        for name in sorted(self.spec.commands):
            cmd = self.spec.commands[name]
            flags = ["REDS_CMD_" + f.upper() for f in cmd.get("flags", [])]
            if cmd.get("scope") in ("connection", "closes"):
                flags.append("REDS_CMD_CONNECTION_SCOPE")
            if cmd.get("scope") == "closes":
                flags.append("REDS_CMD_CLOSES_CONNECTION")
            if cmd.get("scope") == "never":
                flags.append("REDS_CMD_UNPAIRED_REPLIES")
            if "dedicated" in cmd:
                flags += ["REDS_CMD_CONNECTION_SCOPE", "REDS_CMD_DEDICATED_API"]
            if cmd.get("deprecated_since"):
                flags.append("REDS_CMD_DEPRECATED")
            # Routers keep a command that blocks on any supported server
            # (WAIT on Valkey) off shared connections: blocking is the union.
            if "REDS_CMD_BLOCKING" not in flags and any(
                    "blocking" in (v or {}).get("flags", [])
                    for v in (cmd.get("per_server") or {}).values()):
                flags.append("REDS_CMD_BLOCKING")
            if cmd.get("cacheable"):
                flags.append("REDS_CMD_CACHEABLE")
            req, resp, tips = "REDS_REQUEST_DEFAULT", "REDS_RESPONSE_DEFAULT", []
            for tip in cmd.get("tips", []):
                if tip.startswith("request_policy:"):
                    req = "REDS_REQUEST_" + tip.split(":")[1].upper()
                elif tip.startswith("response_policy:"):
                    resp = "REDS_RESPONSE_" + tip.split(":")[1].upper()
                else:
                    tips.append("REDS_TIP_" + tip.upper())
            specs = []
            for ks in cmd.get("key_specs", []):
                bs, fk = ks["begin_search"], ks["find_keys"]
                kflags = " | ".join("REDS_KEY_" + f.upper()
                                    for f in ks.get("flags", [])) or "0"
                if "index" in bs:
                    b = ("REDS_BEGIN_INDEX", bs["index"], "NULL")
                elif "keyword" in bs:
                    b = ("REDS_BEGIN_KEYWORD", bs["keyword"]["startfrom"],
                         c_string(bs["keyword"]["keyword"]))
                else:
                    b = ("REDS_BEGIN_UNKNOWN", 0, "NULL")
                if "range" in fk:
                    r = fk["range"]
                    f = ("REDS_FIND_RANGE", r["lastkey"], r["keystep"],
                         r["limit"])
                elif "keynum" in fk:
                    r = fk["keynum"]
                    f = ("REDS_FIND_KEYNUM", r["keynumidx"], r["firstkey"],
                         r["keystep"])
                else:
                    f = ("REDS_FIND_UNKNOWN", 0, 0, 0)
                specs.append("{%s, %s, %s, %d, %s, %d, %d, %d}" % (
                    kflags, b[0], f[0], b[1], b[2], f[1], f[2], f[3]))
            bound = not ("dedicated" in cmd or "excluded" in cmd)
            rows.append({
                "name": name,
                "id": "REDS__CMD_" + cident(name).upper(),
                "ident": cident(name),
                "group": cmd.group,
                "since": cmd.get("since", ""),
                "reply": cmd.get("reply", "") if bound else
                ("dedicated:" + cmd["dedicated"] if "dedicated" in cmd
                 else "excluded"),
                "arity": cmd.get("arity", 0),
                "flags": " | ".join(flags) or "0",
                "req": req,
                "resp": resp,
                "tips": " | ".join(tips) or "0",
                "specs": specs,
            })
        return rows

    # -- records

    def record_views(self):
        """Records in dependency order, with their C field declarations."""
        order, views = [], {}

        def visit(name):
            if name in views:
                return
            views[name] = None
            rec = self.records[name]
            fields = []
            for f in rec.get("fields") or []:
                ftype = f["type"]
                cname = cident(f["name"])
                if ftype.startswith("record:"):
                    sub = ftype.split(":", 1)[1]
                    visit(sub)
                    fields.append({"decl": ["reds_%s %s;" % (sub, cname)],
                                   "fill": "reds__fill_%s({src}, a, &{dst})"
                                           % sub, "cname": cname, "f": f})
                elif ftype.startswith("list:"):
                    # A pointer to a record that may be declared later
                    # (records may nest themselves: COMMAND DOCS).
                    sub = ftype.split(":", 1)[1]
                    fields.append({"decl": ["size_t n%s;" % cname,
                                            "struct reds_%s *%s;" % (sub,
                                                                    cname)],
                                   "list": sub, "cname": cname, "f": f})
                else:
                    ctype, fill = FIELD_TYPES[ftype]
                    fields.append({"decl": [decl(ctype, cname) + ";"],
                                   "fill": fill, "cname": cname, "f": f,
                                   "text_int": ftype in ("int", "int_text")})
            for view, f in zip(fields, rec.get("fields") or []):
                view["doc"] = f.get("doc")
                view["key"] = f.get("key") or f["name"]
                view["optional"] = bool(f.get("optional"))
                view["name"] = f["name"]
                view.setdefault("list", None)
                view.setdefault("fill", None)
                view.setdefault("text_int", False)
                view["rest"] = bool(f.get("rest"))
                view["prefix"] = bool(f.get("prefix"))
                if view["prefix"]:
                    # An entry is an item when its name or its value looks
                    # like one (db.9, or a map); then both must fit. Others
                    # sharing the prefix are unknown fields, skipped
                    # (Valkey's db.dict.rehashing.count: 0 beside db.0).
                    pair = self.records[view["list"]]["fields"]
                    view["value_wire"] = wire_type(pair[1]["type"])
                    view["name_digits"] = pair[0]["type"] in ("int",
                                                              "int_text")
                view["type"] = f["type"]
                # `call`: an expression filling the field from {src} into
                # the record reached through {d} ("dst->").
                if view["list"]:
                    call = "reds__fill_list_%s({src}, a, &{d}n%s, &{d}%s)" % (
                        view["list"], view["cname"], view["cname"])
                else:
                    call = view["fill"].replace("{dst}",
                                                "{d}" + view["cname"])
                if f.get("nullable"):
                    call = "(({src})->type == REDS_REPLY_NIL ? REDS_OK : " \
                        "%s)" % call
                view["call"] = call
                view["wire"] = wire_type(f["type"])
            views[name] = {"name": name, "rec": rec, "fields": fields,
                           "shape": rec["shape"],
                           "nullable": bool(rec.get("nullable")),
                           "presence": bool(rec.get("presence")),
                           "doc": rec.get("doc", name)}
            order.append(views[name])

        for name in sorted(self.records):
            visit(name)
        return order

    def kind_views(self):
        out = []
        for name in sorted(self.kinds):
            kind = self.kinds[name]
            if not kind.get("record"):
                continue
            out.append({"name": name, "record": kind["record"],
                        "list": bool(kind.get("list")),
                        "nullable": bool(kind.get("nullable"))})
        return out

    # -- rendering

    @staticmethod
    def environment():
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(os.path.join(HERE, "templates")),
            keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
            undefined=jinja2.StrictUndefined)
        env.filters["comment"] = comment
        env.globals["decl"] = decl
        env.filters["c_string"] = c_string
        return env

    def kind_list(self):
        """Every reply kind with its converter and `out` type, for the
        reds_kind_* converters add-ons run their commands with."""
        out = []
        for name in sorted(self.kinds):
            ctype = self.kinds[name].get("c_type")
            out.append({"name": name, "conv": self.converter(name),
                        "doc": "%s: `out` is %s: %s" % (
                            name, decl(ctype, "*") if ctype else "NULL", self.kinds[name]["doc"])})
        return out

    def render(self):
        self._emitted = set()
        functions = self.functions()
        env = self.environment()
        ctx = {
            "functions": functions,
            "types": self.types,
            "tables": self.tables,
            "table": self.table(),
            "records": self.record_views(),
            "record_kinds": self.kind_views(),
            "kinds": self.kinds,
            "groups": sorted(self.spec.groups),
            "kind_list": self.kind_list(),
        }
        files = {}
        for template, path in (
                ("commands.h.j2", "include/reds/commands.h"),
                ("reply_kinds.h.j2", "include/reds/reply_kinds.h"),
                ("commands.c.j2", "commands.c"),
                ("command_table.c.j2", "command_table.c"),
                ("command_ids.h.j2", "command_ids.h"),
                ("replies.c.j2", "replies.c"),
                ("replies.h.j2", "replies.h")):
            files[path] = env.get_template(template).render(**ctx)
        # What reference() documents.
        self.rendered = (functions, files["include/reds/commands.h"], env)
        return files

    def reference(self):
        """docs/reference/'s pages (after render())."""
        functions, header, env = self.rendered
        return Reference(self, functions, header).render(env)


def stray_files(out_dir, files):
    """Files under `out_dir` that this run does not write (a renamed
    output's old name, a file added by hand): whatever `files` holds, so
    that new outputs are never stray."""
    stray = []
    for root, _, names in os.walk(out_dir):
        for name in names:
            path = os.path.relpath(os.path.join(root, name), out_dir)
            if path.replace(os.sep, "/") not in files:
                stray.append(path)
    return sorted(stray)


# ------------------------------------------------------------ API reference

# The hand-written APIs that serve `dedicated:` commands: their header, the
# prefix of the function for each command (reds_pubsub_subscribe for
# SUBSCRIBE) and the names that do not follow it.
DEDICATED_APIS = {
    "pubsub": ("pubsub.h", "reds_pubsub_", {}),
    "transaction": ("pipeline.h", "reds_pipeline_",
                    {"EXEC": "reds_pipeline_execute"}),
    "monitor": ("monitor.h", "reds_monitor_", {"MONITOR": "reds_monitor_new"}),
}
# One typedef of a header, with the doc comment right above it.
TYPEDEF = re.compile(r"^(/\*\*(?:(?!\*/).)*\*/\n)?typedef (?:struct|enum) "
                     r"(reds_\w+) \{\n.*?^\} \2;$", re.M | re.S)
REFERENCE_WIDTH = 96


def typedefs(text):
    """name -> (declaration text, names of the other types it uses) for
    every `typedef struct|enum reds_x {...} reds_x;` of a header."""
    found = {}
    for m in TYPEDEF.finditer(text):
        body = m.group(0)
        uses = []
        for ident in re.findall(r"\breds_\w+\b", body[len(m.group(1) or ""):]):
            if ident != m.group(2) and ident not in uses:
                uses.append(ident)
        found[m.group(2)] = (body, uses)
    return found


def md_text(text):
    """Prose for Markdown: `<` outside code spans would start an HTML tag
    (the server's "BUMPED <epoch>")."""
    parts = str(text).split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("&", "&amp;").replace("<", "&lt;")
    return "`".join(parts)


def md_anchor(heading):
    """The anchor GitHub (and most renderers) give a Markdown heading."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-")


def wrap_call(head, args, tail, width=REFERENCE_WIDTH):
    """`head(arg, arg, ...)tail`, broken after commas and aligned after
    the parenthesis when longer than `width`."""
    lines, line = [], head + "("
    pad = " " * len(line)
    for i, a in enumerate(args):
        piece = a + (", " if i < len(args) - 1 else ")" + tail)
        if len(line) + len(piece.rstrip()) > width and line.strip() != \
                (head + "(").strip():
            lines.append(line.rstrip())
            line = pad
        line += piece
    lines.append(line.rstrip())
    return "\n".join(lines)


def base_type(ctype):
    """reds_geo_from from `const reds_geo_from *`."""
    return ctype.replace("const ", "").replace("*", "").strip()


def arg_nodes(args, out=None):
    """where -> spec node, for every argument of a command's tree."""
    out = {} if out is None else out
    for a in args or []:
        if isinstance(a, speclib.Node):
            out.setdefault(a.where(), a)
        arg_nodes(a.get("arguments"), out)
    return out


class Reference:
    """docs/reference/: a Markdown page per command group and an index,
    from the functions the generator built. Types are shown as the
    rendered header declares them (the runtime's from <reds/types.h>), so
    the page and the header cannot disagree."""

    TYPES_H = os.path.join(ROOT, "runtime", "include", "reds", "types.h")

    def __init__(self, gen, functions, header):
        self.gen = gen
        self.spec = gen.spec
        self.functions = functions
        self.header = typedefs(header)
        with open(self.TYPES_H) as f:
            self.runtime = typedefs(f.read())
        self.used_runtime = []

    # -- types

    def closure(self, roots, skip):
        """The generated types `roots` need, each once, in the order a
        reader meets them (a type, then what its fields use), but those
        in `skip`."""
        order = []

        def visit(name):
            if name in order or name in skip or name not in self.header:
                return
            order.append(name)
            for dep in self.header[name][1]:
                visit(dep)
        for r in roots:
            visit(r)
        return order

    def runtime_closure(self, name):
        if name not in self.runtime or name in self.used_runtime:
            return
        self.used_runtime.append(name)
        for dep in self.runtime[name][1]:
            self.runtime_closure(dep)

    # -- what a function refuses

    @staticmethod
    def refusals(fn):
        """The DataErrors a function's checks raise before sending, from
        the generated checks themselves, summarised."""
        plain, unset, enums = [], [], []
        prefix = fn["command"] + ": "
        for line in fn["check"]:
            m = re.search(r'reds__error\(REDS_ERR_DATA, "((?:[^"\\]|\\.)*)"',
                          line)
            if not m:
                continue
            msg = m.group(1).replace('\\"', '"').replace("\\\\", "\\")
            msg = msg[len(prefix):] if msg.startswith(prefix) else msg
            msg = msg.replace(" (%zu and %zu)", "")
            g = re.match(r"^\S+ is given but (\S+)\.set is false$", msg)
            e = re.match(r"^(\S+) (?:is not a \S+ value|holds a bad value)$",
                         msg)
            if g:
                if "`%s`" % g.group(1) not in unset:
                    unset.append("`%s`" % g.group(1))
            elif e:
                if "`%s`" % e.group(1) not in enums:
                    enums.append("`%s`" % e.group(1))
            elif msg not in plain:
                plain.append(msg)
        out = list(plain)
        if unset:
            out.append("a member of %s filled while its `.set` is false" %
                       " or ".join(unset))
        if enums:
            out.append("an enum value out of range (%s)" % ", ".join(enums))
        return out

    # -- the example call

    def sample(self, ctype, name, node, pre, taken):
        """A C expression of type `ctype` for an argument a function
        needs (`node`: its spec), declaring what it needs in `pre`."""
        label = node["name"] if node is not None else name
        if ctype == "reds_str":
            return "REDS_STR(%s)" % c_string(label)
        if ctype == "int64_t":
            return "1"
        if ctype == "uint64_t":
            return "0"
        if ctype == "double":
            return "1.0"
        if ctype == "bool":
            return "true"
        if ctype == "reds_opt_i64":
            return "REDS_I64(1)"
        if ctype == "reds_opt_f64":
            return "REDS_F64(1.0)"
        known = self.gen.types.get(ctype)
        if not known:
            return "0"
        sig = known[0]
        if sig[0] == "enum":
            for line in known[1]:
                m = re.match(r"\s+(REDS_\w+) = 1\b", line)
                if m:
                    return m.group(1)
        fields = list(sig[1])
        inits = []
        if node is not None and node.get("type") == "oneof" and fields:
            # Exactly one choice: the first.
            first = (node.get("arguments") or [None])[0]
            take = 2 if fields[0][0].endswith("*") else 1
            inits = self.fill(fields[:take], lambda n: first, pre, taken)
        elif node is not None:
            if fields and fields[0] == ("bool", "set"):
                inits.append(".set = true")
            # The required members (a oneof among them: its first choice;
            # members sent without C, such as pure tokens, match no field).
            by_name = {}
            for child in named_apart([Arg(a, node.where()) for a in
                                      node.get("arguments") or []]):
                if child.optional or child.fixed:
                    continue
                if child.type == "oneof" and not child.token_only:
                    if not child.children:
                        continue
                    child = child.children[0]
                by_name[child.cname] = child.spec
                if child.multiple:
                    by_name["n" + child.cname.rstrip("_")] = child.spec
            chosen = [f for f in fields if f[1] in by_name and f[1] != "set"]
            inits += self.fill(chosen, lambda n: by_name.get(n), pre, taken)
        if not inits:
            return "{0}" if fields else "0"
        return "{%s}" % ", ".join(inits)

    def fill(self, fields, node_of, pre, taken):
        """Designated initialisers for `fields` ((ctype, name) pairs, an
        array's pointer followed by its count)."""
        inits = []
        i = 0
        while i < len(fields):
            ctype, name = fields[i]
            node = node_of(name)
            if ctype.endswith("*") and i + 1 < len(fields) and \
                    fields[i + 1][0] == "size_t":
                var = self.array(ctype, name, node, pre, taken)
                inits += [".%s = %s" % (name, var),
                          ".%s = 1" % fields[i + 1][1]]
                i += 2
                continue
            inits.append(".%s = %s" % (name, self.sample(ctype, name, node,
                                                          pre, taken)))
            i += 1
        return inits

    def array(self, ctype, name, node, pre, taken):
        """A one-element array variable for a pointer + count argument."""
        elem = base_type(ctype)
        var = name.rstrip("_")
        while var in taken or var in C_KEYWORDS:
            var += "_"
        taken.add(var)
        single = None
        if node is not None:
            single = speclib.Node(node)
            single.pop("multiple", None)
            single.file, single.line = node.file, node.line
        value = self.sample(elem, name, single, pre, taken)
        pre.append("%s %s[] = {%s};" % (elem, var, value))
        return var

    def example(self, fn, nodes, base_opts):
        pre, args, taken = [], ["c"], {"c", "out", "err", "opts"}
        params = fn["params"]
        i = 0
        while i < len(params):
            p = params[i]
            node = nodes.get(p.where)
            if p.ctype.endswith("*") and i + 1 < len(params) and \
                    params[i + 1].ctype == "size_t":
                args += [self.array(p.ctype, p.name, node, pre, taken), "1"]
                i += 2
                continue
            value = self.sample(p.ctype, p.name, node, pre, taken)
            if value.startswith("{"):
                var = p.name.rstrip("_")
                while var in taken:
                    var += "_"
                taken.add(var)
                pre.append("%s %s = %s;" % (p.ctype, var, value))
                value = var
            args.append(value)
            i += 1
        if fn["opts_type"]:
            # A variant's reason to be: an option its base function lacks.
            extra = [d.name for d in fn["opt_fields"]
                     if d.ctype == "bool" and d.name not in base_opts]
            if extra:
                pre.append("%s opts = {.%s = true};" % (fn["opts_type"],
                                                        extra[0]))
                args.append("&opts")
            else:
                args.append("NULL")
        ctype = self.gen.kinds[fn["kind"]].get("c_type")
        if ctype:
            pre.append(decl(ctype, "out") + ";")
            args.append("&out")
        lines = pre + [wrap_call("reds_err err = " + fn["name"], args, ";")]
        lines += ["if (err != REDS_OK)",
                  '    fprintf(stderr, "%s: %%s\\n", reds_errmsg());' %
                  fn["command"]]
        if fn["owned"]:
            lines.append("reds_free(out); /* the caller owns it (NULL after "
                         "an error) */")
        return "\n".join(lines)

    # -- pages

    def function_view(self, fn, cmd):
        """One function's entry; `cmd`: its command's view so far (its
        spec nodes, syntax, servers, and the types already shown)."""
        nodes, shown = cmd["nodes"], cmd["shown"]
        args = ["reds_client *c"] + [decl(p.ctype, p.name)
                                     for p in fn["params"]]
        if fn["opts_type"]:
            args.append("const %s *opts" % fn["opts_type"])
        if fn["out"]:
            args.append(fn["out"])
        roots = [base_type(p.ctype) for p in fn["params"]]
        if fn["opts_type"]:
            roots.append(fn["opts_type"])
        ctype = self.gen.kinds[fn["kind"]].get("c_type")
        out_name = base_type(ctype) if ctype else None
        # Types an earlier function of the command showed: named, linked.
        earlier = []
        for t in roots + [out_name]:
            if t in shown and (t, shown[t]) not in earlier:
                earlier.append((t, shown[t]))
        in_types = self.closure(roots, shown)
        shown.update((t, fn["name"]) for t in in_types)
        out_types = self.closure([out_name], shown) if out_name else []
        shown.update((t, fn["name"]) for t in out_types)
        # The runtime's types it uses, but the everyday ones.
        runtime = []
        for t in ([out_name] + self.closure(roots + [out_name], ())):
            for name in [t] + (self.header[t][1] if t in self.header else []):
                if name in self.runtime and name not in runtime and \
                        name not in ("reds_str", "reds_opt_i64",
                                     "reds_opt_f64"):
                    runtime.append(name)
        for name in runtime + [out_name]:
            self.runtime_closure(name)
        # Options only some servers have.
        limited = []
        for d in fn["opt_fields"]:
            node = nodes.get(d.where)
            if d.ctype == "size_t" or node is None or "servers" not in node:
                continue
            names = [n for n in self.gen.all_servers
                     if speclib.on_server(node, n)]
            limited.append("`%s`: only %s" % (d.name, ", ".join(
                "%s %s" % (n.capitalize(), self.gen.server_versions[n])
                for n in names) or "no server"))
        note = []
        if fn["syntax"] != cmd["syntax"]:
            note.append("Sends `%s`." % fn["syntax"])
        if fn["servers"] and fn["servers"] != cmd["servers"]:
            note.append("**Servers:** only %s." % fn["servers"])
        return {
            "name": fn["name"],
            "doc": fn["doc"],
            "note": " ".join(note),
            "prototype": wrap_call("reds_err " + fn["name"], args, ";"),
            "out_ctype": ctype,
            "out_doc": fn["out_doc"],
            "owned": fn["owned"],
            "runtime": runtime,
            "refusals": self.refusals(fn),
            "scope": fn["scope"],
            "limited": limited,
            "earlier": earlier,
            "in_types": "\n\n".join(self.header[t][0] for t in in_types),
            "out_types": "\n\n".join(self.header[t][0] for t in out_types),
            "example": self.example(fn, nodes, cmd["base_opts"]),
        }

    def command_view(self, cmd, fns):
        name = cmd.name
        tree = cmd.get("arguments") or cmd.get("c_arguments") or []
        args = named_apart([Arg(a, cmd.where()) for a in tree])
        have = [n for n in self.gen.all_servers if speclib.on_server(cmd, n)]
        view = {
            "name": name,
            "anchor": md_anchor(name),
            "group": cmd.group,
            "summary": cmd.get("summary", ""),
            "syntax": name + (" " + syntax(args) if args else ""),
            "servers": ", ".join("%s %s" % (n.capitalize(),
                                            self.gen.server_versions[n])
                                 for n in have),
            "only": have != self.gen.all_servers,
            "since": cmd.get("since"),
            "since_server": have[0].capitalize() if have else "",
            "complexity": cmd.get("complexity"),
            "flags": list(cmd.get("flags", [])),
            "deprecated": cmd.get("deprecated_since"),
            "replaced_by": cmd.get("replaced_by"),
            "cacheable": bool(cmd.get("cacheable")),
            "excluded": (cmd.get("excluded") or "").rstrip("."),
            "never": cmd.get("scope") == "never",
            "dedicated": None,
            # For the functions' entries.
            "nodes": arg_nodes(tree),
            "shown": {},  # type -> the function whose entry shows it
            "base_opts": {d.name for d in fns[0]["opt_fields"]} if fns
            else set(),
        }
        view["functions"] = [self.function_view(fn, view) for fn in fns]
        if "dedicated" in cmd:
            header, prefix, names = DEDICATED_APIS[cmd["dedicated"]]
            func = names.get(name, prefix + cident(name))
            view["dedicated"] = {
                "header": header,
                "function": func if func in hand_written_functions() else None}
        return view

    def render(self, env):
        by_cmd = collections.defaultdict(list)
        for fn in self.functions:
            by_cmd[fn["command"]].append(fn)
        pages, groups, index = {}, [], []
        # Text in a table cell: GitHub splits cells at any `|`.
        env.filters["cell"] = lambda s: md_text(s).replace(
            "|", "\\|").replace("\n", " ")
        env.filters["md"] = md_text
        page = env.get_template("reference_group.md.j2")
        for group in sorted(self.spec.groups):
            commands = [self.command_view(self.spec.commands[n],
                                          by_cmd.get(n, []))
                        for n in sorted(self.spec.groups[group])]
            pages["%s.md" % group] = page.render(group=group,
                                                 commands=commands)
            groups.append({"name": group, "commands": len(commands),
                           "functions": sum(len(c["functions"])
                                            for c in commands)})
            index += commands
        index.sort(key=lambda c: c["name"])
        runtime = [{"name": n, "text": self.runtime[n][0]}
                   for n in sorted(self.used_runtime)]
        pages["README.md"] = env.get_template("reference_index.md.j2").render(
            groups=groups, commands=index, runtime=runtime,
            nfunctions=len(self.functions))
        return pages


# ------------------------------------------------------------------ add-ons

ADDON_PREFIX = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# The internal names the library's wrappers call, and the public ones of
# reds/extension.h that add-on code calls instead: the same functions
# (pack.h and internal.h alias the one to the other), so add-ons pack and
# run exactly as the library does.
ADDON_API = {
    "reds__size": "reds_ext_size",
    "reds__cmd": "reds_ext_cmd",
    "reds__cmd_begin": "reds_ext_begin",
    "reds__cmd_run": "reds_ext_run",
    "reds__last_err": "reds_ext_last_error",
    "reds__error": "reds_set_error",
    "reds__size_str": "reds_ext_size_str",
    "reds__size_num": "reds_ext_size_num",
    "reds__size_f64": "reds_ext_size_f64",
    "reds__size_lit": "reds_ext_size_lit",
    "reds__size_array": "reds_ext_size_array",
    "reds__put_lit": "reds_ext_put_lit",
    "reds__put_str": "reds_ext_put_str",
    "reds__put_i64": "reds_ext_put_i64",
    "reds__put_u64": "reds_ext_put_u64",
    "reds__put_f64": "reds_ext_put_f64",
}
# Library names add-on code uses besides those: the add-on's own may not
# shadow them (with the reply kinds' types and converters).
ADDON_LIBRARY_NAMES = {"reds_str", "reds_opt_i64", "reds_opt_f64",
                       "reds_client", "reds_err", "reds_catalog_entry",
                       "reds_key_spec"}


class AddonGenerator(Generator):
    """generate.py --addon: an application's own commands (a module's
    JSON.GET, a server command newer than the library's catalogue) from
    YAML in the catalogue's schema into <prefix>_commands.h and .c. The
    functions, types and macros are the application's (<prefix>_json_get,
    <PREFIX>_...); the code is the library's own templates, on the public
    extension API (reds/extension.h) and the library's reply kinds, with a
    command table of the add-on's own that routers read as the library's."""

    def __init__(self, spec, prefix, library_spec, spec_label):
        if not ADDON_PREFIX.match(prefix or "") or prefix == "reds" or \
                prefix.startswith("reds_"):
            raise SpecError(["generate: --prefix %r: a lower-case C "
                             "identifier other than reds (myapp, acme_json)"
                             % prefix])
        if spec.replies:
            raise SpecError(["%s: an add-on names the library's reply kinds "
                             "(%s/replies.yaml); defining kinds or records "
                             "in an add-on is not supported" %
                             (spec.replies.where(), library_spec)])
        spec.replies = speclib.load_file(os.path.join(library_spec,
                                                      "replies.yaml"))
        servers = os.path.join(library_spec, "servers.yaml")
        if not spec.servers and os.path.exists(servers):
            problems = speclib._load_servers(speclib.load_file(servers),
                                             servers, spec.servers)
            if problems:
                raise SpecError(problems)
        self.prefix = prefix
        self.spec_label = spec_label
        super().__init__(spec)

    def render(self):
        for name in sorted(self.spec.commands):
            cmd = self.spec.commands[name]
            if "dedicated" in cmd:
                raise SpecError(["%s: %s: dedicated APIs are the library's; "
                                 "an add-on binds a command or excludes it" %
                                 (cmd.where("dedicated"), name)])
        self._emitted = set()
        functions = self.functions()
        table = self.table()
        prefix, upper = self.prefix, self.prefix.upper()
        for row in table:
            row["id"] = "%s_CMD_%s" % (upper, row["ident"].upper())
        for fn in functions:
            # The add-on's own table entry, and the kind's public converter.
            fn["id"] = "&%s_catalog[%s_CMD_%s]" % (
                prefix, upper, cident(fn["command"]).upper())
            fn["conv"] = "reds_kind_" + fn["kind"]
            # A module's version is not the server's.
            if "module" in self.spec.commands[fn["command"]].get("flags",
                                                                  []):
                fn["since_server"] = "module"
        env = self.environment()
        ctx = {
            "functions": functions,
            "types": self.types,
            "tables": self.tables,
            "table": table,
            "groups": sorted(self.spec.groups),
            "prefix": prefix,
            "PREFIX": upper,
            "spec_label": self.spec_label,
        }
        files = {}
        for template, path in (("addon_commands.h.j2", "%s_commands.h"),
                               ("addon_commands.c.j2", "%s_commands.c")):
            files[path % prefix] = env.get_template(template).render(**ctx)
        return self.mangle(files, functions, table)

    def mangle(self, files, functions, table):
        """The names the builder gives (reds_json_get, reds_hexpire_opts,
        REDS_HEXPIRE_CONDITION_NX, reds__lit_...) under the add-on's
        prefix, and the library internals it calls by their public names."""
        prefix, upper = self.prefix, self.prefix.upper()
        own, where = {}, {}
        for fn in functions:
            own[fn["name"]] = prefix + fn["name"][4:]
            where[fn["name"]] = self.spec.commands[fn["command"]].where()
        for tname, (_, lines, twhere) in self.types.items():
            own[tname] = prefix + tname[4:]
            where[tname] = twhere
            for line in lines:
                m = re.match(r"\s+(REDS_\w+) = \d+", line)
                if m:
                    own[m.group(1)] = upper + m.group(1)[4:]
                    where[m.group(1)] = twhere
            if tname in self.tables:
                own["reds__lit_" + tname[5:]] = "%s__lit_%s" % (prefix,
                                                               tname[5:])
        library = set(ADDON_LIBRARY_NAMES) | set(ADDON_API.values())
        for name, kind in self.kinds.items():
            library.add("reds_kind_" + name)
            library.add((kind.get("c_type") or "").rstrip(" *"))
        problems = []
        for old in sorted(own):
            if old in library:
                problems.append("%s: the add-on's %s would be the library's "
                                "%s; give it a c_name or c_type" %
                                (where[old], own[old], old))
        taken = {"%s_catalog" % prefix: "the command table",
                 "%s_NCOMMANDS" % upper: "the command table"}
        for row in table:
            if row["id"] in taken:
                problems.append("%s: %s and %s are both %s in C; rename one" %
                                (self.spec.commands[row["name"]].where(),
                                 row["name"], taken[row["id"]], row["id"]))
            taken[row["id"]] = row["name"]
        for old in sorted(own):
            if own[old] in taken:
                problems.append("%s: %s is also the command table's; give "
                                "it a c_name or c_type" % (where[old],
                                                           own[old]))
        if problems:
            raise SpecError(problems)

        def rename(m):
            return own.get(m.group(0)) or ADDON_API.get(m.group(0)) or \
                m.group(0)

        out = {}
        for path, text in files.items():
            text = re.sub(r"\b(?:reds|REDS)_\w+", rename, text)
            left = sorted(set(re.findall(r"\b(?:reds|REDS)__\w+", text)))
            if left:
                raise SpecError(["generate: add-on code would use the "
                                 "library's internal %s; ADDON_API in "
                                 "codegen/generate.py needs their public "
                                 "names" % ", ".join(left)])
            out[path] = text
        return out


def generate_addon(spec_dir, prefix, library_spec, spec_label):
    spec = speclib.Spec(spec_dir)
    gen = AddonGenerator(spec, prefix, library_spec, spec_label)
    problems = speclib.validate(spec, gen.kinds,
                                speclib.MODULE_COMMAND_NAME)
    if problems:
        raise SpecError(problems)
    return gen.render()


def generate(spec_dir, reference=False):
    """generated/'s files; with `reference`, (those, docs/reference/'s)."""
    spec = speclib.Spec(spec_dir)
    gen = Generator(spec)
    problems = speclib.validate(spec, gen.kinds)
    if problems:
        raise SpecError(problems)
    files = gen.render()
    return (files, gen.reference()) if reference else files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spec", help="the YAML directory (spec/)")
    ap.add_argument("--out", help="where to write (generated/)")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when --out is not what the spec gives")
    ap.add_argument("--addon", action="store_true",
                    help="an application's own commands into "
                    "<prefix>_commands.h and .c (needs --prefix, --spec and "
                    "--out)")
    ap.add_argument("--prefix", help="--addon: the C prefix of its names")
    ap.add_argument("--library-spec", default=os.path.join(ROOT, "spec"),
                    help="--addon: the library's spec/, for its reply kinds")
    ap.add_argument("--docs", help="where the API reference goes (default: "
                    "docs/reference/, unless --out is given)")
    args = ap.parse_args()
    if args.docs and args.addon:
        ap.error("--docs is not for --addon")
    # The reference documents the library's own catalogue: a run on
    # another spec (--out given: the tests' specs) writes none unless asked.
    docs_dir = args.docs or (None if args.out or args.addon else
                             os.path.join(ROOT, "docs", "reference"))
    if args.addon and not (args.prefix and args.spec and args.out):
        ap.error("--addon needs --prefix, --spec and --out")
    if args.prefix and not args.addon:
        ap.error("--prefix is for --addon")
    args.spec = args.spec or os.path.join(ROOT, "spec")
    args.out = args.out or os.path.join(ROOT, "generated")
    try:
        if args.addon:
            files = generate_addon(args.spec, args.prefix, args.library_spec,
                                   args.spec)
        elif docs_dir:
            files, docs = generate(args.spec, reference=True)
        else:
            files = generate(args.spec)
    except SpecError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        print("generate: %d problem(s); nothing written" % len(e.problems),
              file=sys.stderr)
        return 1
    # (directory, its files, how messages name it)
    outputs = [(args.out, files, args.out if args.addon else "generated/")]
    if docs_dir:
        outputs.append((docs_dir, docs, "docs/reference/"
                        if args.docs is None else docs_dir))
    if args.check:
        failed = False
        for out_dir, out_files, label in outputs:
            stale = []
            for path, text in sorted(out_files.items()):
                full = os.path.join(out_dir, path)
                if not os.path.exists(full) or open(full).read() != text:
                    stale.append(path)
            # An add-on's --out may hold the application's other files.
            stray = [] if args.addon else stray_files(out_dir, out_files)
            if stray:
                print("%s holds files the generator does not write (%s): "
                      "remove them" % (label, ", ".join(stray)),
                      file=sys.stderr)
            if stale:
                print("%s is stale (%s): %s" % (
                    label, ", ".join(stale),
                    "generate it again" if args.addon else
                    "run `make generate` and commit the result"),
                    file=sys.stderr)
            failed = failed or bool(stale or stray)
        return 1 if failed else 0
    # Write every file to a temporary name first, then rename: a failure
    # leaves generated/ (and docs/reference/) as they were.
    pending = []
    for out_dir, out_files, _ in outputs:
        for path, text in sorted(out_files.items()):
            full = os.path.join(out_dir, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            if os.path.exists(full) and open(full).read() == text:
                continue
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(full))
            os.chmod(tmp, 0o644)
            with os.fdopen(fd, "w") as f:
                f.write(text)
            pending.append((tmp, full))
    for tmp, full in pending:
        os.replace(tmp, full)
    print("generate: %d file(s) updated" % len(pending))
    return 0


if __name__ == "__main__":
    sys.exit(main())
