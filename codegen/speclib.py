"""The reds command catalogue: load, validate and write spec/*.yaml.

Shared by generate.py, import_spec.py and audit.py so that all three agree
on one schema (documented in spec/README.md). Every value loaded keeps the
line it came from, so that errors read `spec/string.yaml:12: message`.
"""

import json
import os
import re

import yaml

ARG_TYPES = ("key", "string", "integer", "double", "unix-time", "pattern",
             "pure-token", "oneof", "block")
ARG_FLAGS = ("optional", "multiple", "multiple_token")
SCALAR_TYPES = ("key", "string", "integer", "double", "unix-time", "pattern")

COMMAND_FLAGS = (
    "admin", "allow_busy", "asking", "blocking", "denyoom", "fast", "loading",
    "movablekeys", "no_async_loading", "no_auth", "no_mandatory_keys",
    "no_multi", "noscript", "pubsub", "readonly", "skip_monitor",
    "skip_slowlog", "stale", "write", "module", "may_replicate", "sentinel",
    "only_sentinel", "no_async_loading", "allow_busy")
KEYSPEC_FLAGS = ("RO", "RW", "OW", "RM", "access", "update", "insert",
                 "delete", "not_key", "incomplete", "variable_flags")
TIPS = ("nondeterministic_output", "nondeterministic_output_order",
        "request_policy:all_nodes", "request_policy:all_shards",
        "request_policy:multi_shard", "request_policy:special",
        "response_policy:one_succeeded", "response_policy:all_succeeded",
        "response_policy:agg_logical_and", "response_policy:agg_logical_or",
        "response_policy:agg_min", "response_policy:agg_max",
        "response_policy:agg_sum", "response_policy:special")
SCOPES = ("connection", "closes", "never")
DEDICATED_APIS = ("pubsub", "monitor", "transaction")

# Fields a person writes; the importer never touches them.
COMMAND_ANNOTATIONS = ("reply", "c_name", "scope", "dedicated", "excluded",
                       "omit", "require", "fix", "select", "single",
                       "exclusive",
                       "variants", "doc", "c_arguments", "dynamic",
                       "cacheable")
# The reply kind of a function whose reply has no fixed shape (EVAL's is
# the script's): the command then says why in `dynamic`, which the audit
# requires of every function bound with it.
GENERIC_REPLY = "reply"
ARG_ANNOTATIONS = ("c_name", "c_type", "count_of", "c_as", "same_count_as")
# Fields the importer owns, in the order they are written. `servers` says
# which of spec/servers.yaml's servers have a command or an argument (absent:
# all of them); `per_server` holds what a server documents differently from
# the catalogue's own fields (see server_entry()).
COMMAND_IMPORTED = ("summary", "since", "complexity", "deprecated_since",
                    "replaced_by", "servers", "arity", "flags", "tips",
                    "key_specs", "arguments", "per_server")
PER_SERVER_FIELDS = ("arity", "flags", "tips", "key_specs", "arguments")
COMMAND_FIELDS = COMMAND_IMPORTED + COMMAND_ANNOTATIONS
ARG_IMPORTED = ("name", "type", "token", "key_spec_index", "optional",
                "multiple", "multiple_token", "since", "deprecated_since",
                "servers", "arguments")
ARG_FIELDS = ARG_IMPORTED + ARG_ANNOTATIONS
VARIANT_FIELDS = ("c_name", "reply", "omit", "require", "fix", "select",
                  "single", "doc")
KEYSPEC_FIELDS = ("flags", "begin_search", "find_keys", "notes")

IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
COMMAND_NAME = re.compile(r"^[A-Z][A-Z0-9_\-]*( [A-Z][A-Z0-9_\-]*)?$")
# Add-on specs (generate.py --addon) also bind module commands, whose names
# are dotted: JSON.GET, FT.SEARCH, TS.ADD, FT._LIST, FT.CONFIG GET.
MODULE_COMMAND_NAME = re.compile(
    r"^[A-Z][A-Z0-9_\-]*(\.[A-Z0-9_\-]+)*( [A-Z][A-Z0-9_\-]*)?$")
VERSION = re.compile(r"^\d+\.\d+\.\d+$")


class SpecError(Exception):
    """One or more problems, each already formatted as `file:line: msg`."""

    def __init__(self, problems):
        super().__init__("\n".join(problems))
        self.problems = problems


class Node(dict):
    """A mapping that remembers where it was written."""

    file = "?"
    line = 0
    key_lines = None

    def where(self, key=None):
        line = self.line
        if key is not None and self.key_lines and key in self.key_lines:
            line = self.key_lines[key]
        return "%s:%d" % (self.file, line)


class Seq(list):
    file = "?"
    line = 0

    def where(self, index=None):
        lines = getattr(self, "item_lines", None)
        line = lines[index] if lines and index is not None else self.line
        return "%s:%d" % (self.file, line)


def _loader_for(path):
    # libyaml where PyYAML has it: six times faster on the whole catalogue.
    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        pass

    def mapping(loader, node):
        out = Node()
        out.file, out.line, out.key_lines = path, node.start_mark.line + 1, {}
        for knode, vnode in node.value:
            key = loader.construct_object(knode, deep=True)
            if key in out:
                raise SpecError(["%s:%d: duplicate key %r" %
                                 (path, knode.start_mark.line + 1, key)])
            out[key] = loader.construct_object(vnode, deep=True)
            out.key_lines[key] = knode.start_mark.line + 1
        return out

    def sequence(loader, node):
        out = Seq(loader.construct_object(n, deep=True) for n in node.value)
        out.file, out.line = path, node.start_mark.line + 1
        out.item_lines = [n.start_mark.line + 1 for n in node.value]
        return out

    Loader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    Loader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, sequence)
    return Loader


def load_file(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        data = yaml.load(text, Loader=_loader_for(path))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise SpecError(["%s:%d: %s" % (path, mark.line + 1 if mark else 0,
                                         e.problem or e)])
    return data if data is not None else Node()


class Spec:
    """All commands of spec/*.yaml plus the reply kinds of replies.yaml."""

    def __init__(self, directory):
        self.directory = directory
        self.commands = {}          # name -> Node, with .group set
        self.groups = {}            # group -> [names]
        self.replies = Node()
        self.servers = []           # spec/servers.yaml, in precedence order
        problems = []
        for fname in sorted(os.listdir(directory)):
            if not fname.endswith(".yaml"):
                continue
            path = os.path.join(directory, fname)
            try:
                data = load_file(path)
            except SpecError as e:
                problems += e.problems
                continue
            if fname == "replies.yaml":
                self.replies = data
                continue
            if fname == "servers.yaml":
                problems += _load_servers(data, path, self.servers)
                continue
            group = fname[:-5]
            if not isinstance(data, dict):
                problems.append("%s:1: a group file is a mapping of command "
                                "name to entry" % path)
                continue
            names = []
            for name, entry in data.items():
                if name in self.commands:
                    problems.append("%s: %s is also in %s" % (
                        data.where(name), name,
                        self.commands[name].file))
                    continue
                if not isinstance(entry, Node):
                    problems.append("%s: %s: the entry must be a mapping" %
                                    (data.where(name), name))
                    continue
                entry.group = group
                entry.name = name
                # Point messages about the command at its name's line.
                entry.line = data.key_lines.get(name, entry.line)
                self.commands[name] = entry
                names.append(name)
            self.groups[group] = names
        if problems:
            raise SpecError(problems)


# ------------------------------------------------------------------- servers

SERVER_FIELDS = ("name", "version", "binary")


def _load_servers(data, path, out):
    problems = []
    items = data.get("servers") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        return ["%s:1: servers.yaml holds `servers:`, a list of {name, "
                "version, binary}" % path]
    for item in items:
        if not isinstance(item, Node) or not all(
                isinstance(item.get(f), str) for f in SERVER_FIELDS):
            problems.append("%s: a server is {name, version, binary}" %
                            items.where())
            continue
        _check_fields(item, SERVER_FIELDS, "a server", problems)
        if not IDENT.match(item["name"]) or not VERSION.match(item["version"]):
            problems.append("%s: server %r: a lower-case name and a 1.2.3 "
                            "version" % (item.where(), item["name"]))
        out.append(item)
    return problems


def server_names(spec):
    """The catalogue's servers, first the one whose documentation wins."""
    return [s["name"] for s in spec.servers]


def servers_of(node, servers, inherited=None):
    """The servers that have a command or argument: its own `servers:`,
    else its parent's (`inherited`), else every one of `servers`."""
    have = node.get("servers")
    return list(have) if have is not None else list(inherited or servers)


def owner(have, servers):
    """The server whose documentation a node carries: the first one of
    servers.yaml's order (`servers`) among those that have it."""
    return next((s for s in servers if s in have), None)


def functions(name, entry):
    """[(C name without reds_, variant ops, reply kind, doc)] of a bound
    command, the base function first; [] for a dedicated or excluded one."""
    if "dedicated" in entry or "excluded" in entry:
        return []
    out = [(entry.get("c_name") or cident(name),
            {k: entry[k] for k in ("omit", "require", "fix", "select",
                                   "single") if k in entry},
            entry.get("reply"), entry.get("doc"))]
    for v in entry.get("variants", []):
        out.append((v["c_name"], v, v.get("reply"), v.get("doc")))
    return out


def cident(name):
    """A C identifier from a server name: 'unix-time-seconds' ->
    'unix_time_seconds', 'CLIENT KILL' -> 'client_kill'."""
    ident = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not ident:
        ident = "arg"
    if ident[0].isdigit():
        ident = "_" + ident
    return ident


def on_server(node, server):
    """Whether `server` has this command or argument."""
    return "servers" not in node or server in node["servers"]


def _args_on(args, server):
    out = []
    for a in args or []:
        if not on_server(a, server):
            continue
        a = dict(a)
        if "arguments" in a:
            a["arguments"] = _args_on(a["arguments"], server)
        out.append(a)
    return out


def server_view(entry, server):
    """The command's argument tree as `server` documents it: its own tree
    where it differs in shape (`per_server`), else the catalogue's minus
    the arguments that server lacks."""
    own = (entry.get("per_server") or {}).get(server) or {}
    if "arguments" in own:
        return own["arguments"]
    return _args_on(entry.get("arguments"), server)


def server_entry(entry, server):
    """The command's server fields as `server` documents them."""
    out = {k: entry[k] for k in COMMAND_IMPORTED if k in entry and
           k not in ("servers", "per_server")}
    own = (entry.get("per_server") or {}).get(server) or {}
    for key in PER_SERVER_FIELDS:
        if key in own:
            out[key] = own[key]
    args = server_view(entry, server)
    if args:
        out["arguments"] = args
    else:
        out.pop("arguments", None)
    return out


def _check_servers(node, known, what, problems):
    if "servers" not in node:
        return
    value = node["servers"]
    if not isinstance(value, list) or any(s not in known for s in value) or \
            len(set(value)) != len(value):
        problems.append("%s: %s: servers lists names of servers.yaml (%s)" %
                        (node.where("servers"), what, ", ".join(known)))


# ---------------------------------------------------------------- validation

def _check_fields(node, allowed, what, problems):
    for key in node:
        if key not in allowed:
            problems.append("%s: unknown field %r in %s" %
                            (node.where(key), key, what))


def _check_args(args, cname, problems, path=""):
    if not isinstance(args, list):
        problems.append("%s: %s: arguments must be a list" %
                        (getattr(args, "where", lambda: "?")(), cname))
        return
    for arg in args:
        if not isinstance(arg, Node):
            problems.append("%s: %s: each argument is a mapping" %
                            (args.where(), cname))
            continue
        what = "argument of %s" % cname
        _check_fields(arg, ARG_FIELDS, what, problems)
        name = arg.get("name")
        if not isinstance(name, str) or not name:
            problems.append("%s: %s: argument without a name" %
                            (arg.where(), cname))
            continue
        atype = arg.get("type")
        if atype not in ARG_TYPES:
            problems.append("%s: %s: argument %r has bad type %r (one of %s)"
                            % (arg.where("type"), cname, name, atype,
                               ", ".join(ARG_TYPES)))
            continue
        for flag in ARG_FLAGS:
            if flag in arg and arg[flag] is not True:
                problems.append("%s: %s: %s: %r must be true or absent" %
                                (arg.where(flag), cname, name, flag))
        if arg.get("multiple_token") and not arg.get("multiple"):
            problems.append("%s: %s: %s: multiple_token needs multiple" %
                            (arg.where(), cname, name))
        # A pure-token without a token sends its name: Redis 7.0 documents
        # SENTINEL SIMULATE-FAILURE's modes that way.
        if "token" in arg and not isinstance(arg["token"], str):
            problems.append("%s: %s: %s: token must be a string" %
                            (arg.where("token"), cname, name))
        for vfield in ("since", "deprecated_since"):
            if vfield in arg and not VERSION.match(str(arg[vfield])):
                problems.append("%s: %s: %s: %s must look like 1.2.3" %
                                (arg.where(vfield), cname, name, vfield))
        if "c_name" in arg and not IDENT.match(str(arg["c_name"])):
            problems.append("%s: %s: %s: c_name %r is not a C identifier" %
                            (arg.where("c_name"), cname, name, arg["c_name"]))
        if "c_type" in arg and not IDENT.match(str(arg["c_type"])):
            problems.append("%s: %s: %s: c_type %r is not a C identifier" %
                            (arg.where("c_type"), cname, name, arg["c_type"]))
        if atype in ("oneof", "block"):
            if not arg.get("arguments"):
                problems.append("%s: %s: %s %r needs arguments" %
                                (arg.where(), cname, atype, name))
            else:
                _check_args(arg["arguments"], cname, problems)
        elif "arguments" in arg:
            problems.append("%s: %s: only oneof and block have arguments" %
                            (arg.where("arguments"), cname))
        if "c_as" in arg and (atype not in SCALAR_TYPES or
                              arg["c_as"] not in ("string", "integer",
                                                  "double", "uint64")):
            problems.append("%s: %s: %s: c_as (string, integer, double or "
                            "uint64) applies to a value argument" %
                            (arg.where("c_as"), cname, name))
        if arg.get("c_as") == "uint64" and arg.get("optional"):
            problems.append("%s: %s: %s: c_as uint64 is for required "
                            "arguments (scan cursors)" %
                            (arg.where("c_as"), cname, name))
        if "c_type" in arg and atype not in ("oneof", "block"):
            problems.append("%s: %s: %s: c_type applies to oneof and block" %
                            (arg.where("c_type"), cname, name))
        if "same_count_as" in arg:
            # Counts that must agree (XREAD's ids and keys) are checked
            # before sending; the generator checks the variants' trees.
            other = [a for a in args if isinstance(a, Node) and a is not arg
                     and arg["same_count_as"] in (a.get("name"),
                                                  a.get("c_name"))]
            if not arg.get("multiple") or len(other) != 1 or \
                    not other[0].get("multiple"):
                problems.append("%s: %s: %s: same_count_as names a sibling "
                                "array, on an array" %
                                (arg.where("same_count_as"), cname, name))


def _check_arg_servers(args, known, cname, problems):
    for arg in args:
        if isinstance(arg, Node):
            _check_servers(arg, known, "%s: %s" % (cname, arg.get("name")),
                           problems)
            _check_arg_servers(arg.get("arguments") or [], known, cname,
                               problems)


def _check_keyspec(ks, cname, problems):
    if not isinstance(ks, Node):
        problems.append("%s: key spec must be a mapping" % cname)
        return
    _check_fields(ks, KEYSPEC_FIELDS, "key spec of %s" % cname, problems)
    for flag in ks.get("flags", []):
        if flag not in KEYSPEC_FLAGS:
            problems.append("%s: %s: unknown key spec flag %r" %
                            (ks.where("flags"), cname, flag))
    bs = ks.get("begin_search")
    if not isinstance(bs, dict) or len(bs) != 1 or \
            next(iter(bs)) not in ("index", "keyword", "unknown"):
        problems.append("%s: %s: begin_search is {index: N}, "
                        "{keyword: {keyword: K, startfrom: N}} or "
                        "{unknown: null}" % (ks.where("begin_search"), cname))
    fk = ks.get("find_keys")
    if not isinstance(fk, dict) or len(fk) != 1 or \
            next(iter(fk)) not in ("range", "keynum", "unknown"):
        problems.append("%s: %s: find_keys is {range: {...}}, "
                        "{keynum: {...}} or {unknown: null}" %
                        (ks.where("find_keys"), cname))


def _check_cacheable(cmd, name, problems):
    """`cacheable: true` lets a caching client answer the command from its
    process (spec/README.md, "Client-side caching"): only a read whose
    reply depends on nothing but its keys' values and its arguments, so
    that the server's invalidation of those keys is all it takes."""
    where = cmd.where("cacheable")
    if cmd["cacheable"] is not True:
        problems.append("%s: %s: cacheable is true or absent" % (where, name))
        return
    flags = cmd.get("flags", [])
    why = ("it is not readonly" if "readonly" not in flags else
           "it blocks" if "blocking" in flags else
           "it has no keys (no key_specs)" if not cmd.get("key_specs") else
           "its output is random (tip nondeterministic_output)"
           if "nondeterministic_output" in cmd.get("tips", []) else
           "it is connection-scoped" if "scope" in cmd or "dedicated" in cmd
           else None)
    if why:
        problems.append("%s: %s: cannot be cacheable: %s" % (where, name, why))


def validate(spec, reply_kinds, command_name=COMMAND_NAME):
    """Return a list of `file:line: message` problems (empty when valid).
    `command_name`: the pattern of valid names (MODULE_COMMAND_NAME for
    add-ons)."""
    problems = []
    known = server_names(spec)
    for name in sorted(spec.commands):
        cmd = spec.commands[name]
        if not command_name.match(name):
            problems.append("%s: bad command name %r (upper case; a "
                            "subcommand is 'CONTAINER SUB')" %
                            (cmd.where(), name))
        _check_fields(cmd, COMMAND_FIELDS, "command %s" % name, problems)
        for field in ("summary", "since", "arity"):
            if field not in cmd:
                problems.append("%s: %s: missing %r" %
                                (cmd.where(), name, field))
        if "since" in cmd and not VERSION.match(str(cmd["since"])):
            problems.append("%s: %s: since must look like 1.2.3" %
                            (cmd.where("since"), name))
        if "arity" in cmd and not isinstance(cmd["arity"], int):
            problems.append("%s: %s: arity must be an integer" %
                            (cmd.where("arity"), name))
        for flag in cmd.get("flags", []):
            if flag not in COMMAND_FLAGS:
                problems.append("%s: %s: unknown command flag %r" %
                                (cmd.where("flags"), name, flag))
        for tip in cmd.get("tips", []):
            if tip not in TIPS:
                problems.append("%s: %s: unknown tip %r" %
                                (cmd.where("tips"), name, tip))
        for ks in cmd.get("key_specs", []):
            _check_keyspec(ks, name, problems)
        _check_args(cmd.get("arguments", []), name, problems)
        _check_servers(cmd, known, name, problems)
        _check_arg_servers(cmd.get("arguments") or [], known, name, problems)
        per = cmd.get("per_server")
        if per is not None:
            if not isinstance(per, Node) or any(
                    s not in known or not isinstance(v, Node) or
                    any(k not in PER_SERVER_FIELDS for k in v)
                    for s, v in per.items()):
                problems.append("%s: %s: per_server maps a server of "
                                "servers.yaml to its own %s" %
                                (cmd.where("per_server"), name,
                                 ", ".join(PER_SERVER_FIELDS)))
            else:
                for own in per.values():
                    if "arguments" in own:
                        _check_args(own["arguments"], name, problems)
        if "c_arguments" in cmd:
            # Arguments the server does not document (Redis 7.0's COMMAND
            # GETKEYS): bound as written, ignored by the audit.
            if "arguments" in cmd:
                problems.append("%s: %s: the server documents arguments "
                                "now; drop c_arguments" %
                                (cmd.where("c_arguments"), name))
            _check_args(cmd["c_arguments"], name, problems)
        status = [f for f in ("dedicated", "excluded") if f in cmd]
        if len(status) > 1:
            problems.append("%s: %s: dedicated and excluded exclude each "
                            "other" % (cmd.where(), name))
        if "dedicated" in cmd and cmd["dedicated"] not in DEDICATED_APIS:
            problems.append("%s: %s: dedicated must be one of %s" %
                            (cmd.where("dedicated"), name,
                             ", ".join(DEDICATED_APIS)))
        if "excluded" in cmd and not (isinstance(cmd["excluded"], str) and
                                      cmd["excluded"].strip()):
            problems.append("%s: %s: excluded needs a reason" %
                            (cmd.where("excluded"), name))
        groups = cmd.get("exclusive", [])
        if not isinstance(groups, list) or not all(
                isinstance(g, list) and len(g) >= 2 and
                all(isinstance(p, str) for p in g) for g in groups):
            problems.append("%s: %s: exclusive is a list of lists of two or "
                            "more argument paths" % (cmd.where("exclusive"),
                                                     name))
        if "cacheable" in cmd:
            _check_cacheable(cmd, name, problems)
        if "scope" in cmd and cmd["scope"] not in SCOPES:
            problems.append("%s: %s: scope must be one of %s" %
                            (cmd.where("scope"), name, ", ".join(SCOPES)))
        if cmd.get("scope") == "never" and "excluded" not in cmd:
            # A function of it could only ever fail.
            problems.append("%s: %s: scope: never needs excluded (reds "
                            "refuses the command everywhere)" %
                            (cmd.where("scope"), name))
        if "dynamic" in cmd:
            kinds = [cmd.get("reply")] + [v.get("reply") for v in
                                          cmd.get("variants", [])
                                          if isinstance(v, dict)]
            if not (isinstance(cmd["dynamic"], str) and
                    cmd["dynamic"].strip()):
                problems.append("%s: %s: dynamic needs a reason (what "
                                "decides the reply's shape)" %
                                (cmd.where("dynamic"), name))
            elif GENERIC_REPLY not in kinds:
                problems.append("%s: %s: dynamic says why a reply is "
                                "generic, and no function of %s has the "
                                "%r kind" % (cmd.where("dynamic"), name,
                                             name, GENERIC_REPLY))
        if status:
            for field in ("reply", "variants"):
                if field in cmd:
                    problems.append("%s: %s: a %s command has no %s" %
                                    (cmd.where(field), name, status[0],
                                     field))
            continue
        if "reply" not in cmd:
            problems.append("%s: %s: missing reply kind (see replies.yaml)"
                            % (cmd.where(), name))
        elif cmd["reply"] not in reply_kinds:
            problems.append("%s: %s: unknown reply kind %r" %
                            (cmd.where("reply"), name, cmd["reply"]))
        if "c_name" in cmd and not IDENT.match(str(cmd["c_name"])):
            problems.append("%s: %s: c_name %r is not a C identifier" %
                            (cmd.where("c_name"), name, cmd["c_name"]))
        for variant in cmd.get("variants", []):
            if not isinstance(variant, Node):
                problems.append("%s: %s: a variant is a mapping" %
                                (cmd.where("variants"), name))
                continue
            _check_fields(variant, VARIANT_FIELDS,
                          "variant of %s" % name, problems)
            for field in ("c_name", "reply"):
                if field not in variant:
                    problems.append("%s: %s: variant without %s" %
                                    (variant.where(), name, field))
            if variant.get("reply") not in reply_kinds:
                problems.append("%s: %s: unknown reply kind %r" %
                                (variant.where("reply"), name,
                                 variant.get("reply")))
    return problems


# ------------------------------------------------------------------- writing

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_ .\-:/()'`,]*$")


def scalar(value):
    """A YAML scalar that reads back as exactly `value`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    text = str(value)
    if _PLAIN.match(text) and not text.endswith(":") and ": " not in text \
            and " #" not in text and text.strip() == text:
        try:
            if yaml.safe_load(text) == text:
                return text
        except yaml.YAMLError:
            pass
    return json.dumps(text, ensure_ascii=False)


def _flow(value):
    if isinstance(value, dict):
        return "{" + ", ".join("%s: %s" % (k, _flow(v))
                               for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return scalar(value)


def _is_leaf(value):
    """Small enough to write on one line."""
    if isinstance(value, dict):
        return all(not isinstance(v, (dict, list)) or
                   (isinstance(v, dict) and _is_leaf(v) and len(v) <= 3) or
                   (isinstance(v, list) and all(not isinstance(x, (dict, list))
                                                for x in v))
                   for v in value.values()) and len(_flow(value)) <= 78
    if isinstance(value, list):
        return all(not isinstance(v, (dict, list)) for v in value) and \
            len(_flow(value)) <= 70
    return True


def _emit(value, indent, out):
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item and not _is_leaf(item):
                out.append("%s%s:" % (pad, key))
                _emit(item, indent + 2, out)
            else:
                out.append("%s%s: %s" % (pad, key, _flow(item)))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and not _is_leaf(item):
                first = True
                for key, sub in item.items():
                    lead = pad + ("- " if first else "  ")
                    first = False
                    if isinstance(sub, (dict, list)) and sub and \
                            not _is_leaf(sub):
                        out.append("%s%s:" % (lead, key))
                        _emit(sub, indent + 4, out)
                    else:
                        out.append("%s%s: %s" % (lead, key, _flow(sub)))
            else:
                out.append("%s- %s" % (pad, _flow(item)))


def ordered_arg(arg):
    """An argument's fields in canonical order (imported, then annotations)."""
    out = {}
    for key in ARG_FIELDS:
        if key in arg:
            out[key] = [ordered_arg(a) for a in arg[key]] \
                if key == "arguments" else arg[key]
    return out


def ordered_command(cmd):
    out = {}
    for key in COMMAND_FIELDS:
        if key not in cmd:
            continue
        value = cmd[key]
        if key in ("arguments", "c_arguments"):
            value = [ordered_arg(a) for a in value]
        elif key == "per_server":
            value = {srv: {k: ([ordered_arg(a) for a in own[k]]
                               if k == "arguments" else own[k])
                           for k in PER_SERVER_FIELDS if k in own}
                     for srv, own in sorted(value.items())}
        elif key == "key_specs":
            value = [{k: ks[k] for k in KEYSPEC_FIELDS if k in ks}
                     for ks in value]
        elif key == "variants":
            value = [{k: v[k] for k in VARIANT_FIELDS if k in v}
                     for v in value]
        out[key] = value
    return out


def dump_servers(servers):
    """The canonical text of spec/servers.yaml."""
    out = ["# The servers the catalogue describes, in precedence order: where",
           "# they document a command differently, the first one's text and",
           "# argument names are the catalogue's. `make import-spec URL=...`",
           "# adds a server it has not seen. Schema: spec/README.md.",
           "servers:"]
    for s in servers:
        out.append("  - " + _flow({k: s[k] for k in SERVER_FIELDS}))
    return "\n".join(out) + "\n"


def dump_group(group, commands):
    """The canonical text of spec/<group>.yaml."""
    out = ["# reds command catalogue, group %r. Schema: spec/README.md." %
           group,
           "# Server fields come from `make import-spec`; reply, c_name, "
           "variants,",
           "# scope, dedicated and excluded are written by people and kept "
           "by it.",
           ""]
    for name in sorted(commands):
        out.append("%s:" % scalar(name))
        _emit(ordered_command(commands[name]), 2, out)
        out.append("")
    return "\n".join(out)


def plain(value):
    """Strip Node/Seq wrappers (for comparisons and dumping)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
