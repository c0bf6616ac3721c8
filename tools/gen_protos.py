#!/usr/bin/env python3
"""Writes proto/**/*.proto from the protocol's wire facts (message, field number, name, type).

The wire facts list every message, enum and service of the c1 protocol with full names and field
numbers. This tool turns that listing into ordinary proto3 sources so that build.rs can compile
them with protox. It is run by hand when the protocol changes; its output is committed:

    python3 tools/gen_protos.py path/to/wire-facts.txt proto/

Type references are written fully qualified (leading dot), so no scoping rules are involved.
"""
import re
import sys
from collections import OrderedDict
from pathlib import Path

SKIP_FILES = {"c1/connector/v2/config.proto"}  # SchemaService: never registered, needs validate.*

HEADER = re.compile(r"^## (\S+)\s+package (\S+)")
DECL = re.compile(r"^(\s*)(message|enum) (\S+)\s*$")
FIELD = re.compile(r"^\s+(\d+) (\w+)\s+(.+?)\s*$")
ENUM_VALUE = re.compile(r"^\s+(-?\d+) (\w+)\s*$")
SERVICE = re.compile(r"^service (\S+)")
RPC = re.compile(r"^\s+rpc (\w+)\((stream )?(\S+)\) returns \((stream )?(\S+)\)")
SCALARS = {
    "double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32",
    "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes",
}


def qualify(t):
    return t if t in SCALARS else "." + t


class Node:
    def __init__(self, kind, full):
        self.kind, self.full = kind, full
        self.items = []  # fields or enum values, in listing order
        self.children = OrderedDict()


def parse(text):
    files = OrderedDict()
    cur = None
    node = None
    service = None
    for line in text.splitlines():
        if not line.strip() or (line.startswith("#") and not line.startswith("## ")):
            continue
        m = HEADER.match(line)
        if m:
            cur = {"path": m.group(1), "package": m.group(2), "imports": [], "top": OrderedDict(),
                   "all": {}, "services": []}
            files[cur["path"]] = cur
            node = service = None
            continue
        if line.startswith("imports:"):
            cur["imports"] = [s.strip() for s in line[len("imports:"):].split(",") if s.strip()]
            continue
        m = DECL.match(line)
        if m:
            kind, full = m.group(2), m.group(3)
            node = Node(kind, full)
            service = None
            cur["all"][full] = node
            parent = full.rsplit(".", 1)[0]
            if parent in cur["all"] and cur["all"][parent].kind == "message":
                cur["all"][parent].children[full] = node
            else:
                cur["top"][full] = node
            continue
        m = SERVICE.match(line)
        if m:
            service = {"full": m.group(1), "rpcs": []}
            cur["services"].append(service)
            node = None
            continue
        m = RPC.match(line)
        if m and service is not None:
            service["rpcs"].append(m.groups())
            continue
        if node is not None and node.kind == "enum":
            m = ENUM_VALUE.match(line)
            if m:
                node.items.append((m.group(2), m.group(1)))
                continue
        if node is not None and node.kind == "message":
            m = FIELD.match(line)
            if m:
                node.items.append((int(m.group(1)), m.group(2), m.group(3)))
                continue
        raise SystemExit(f"unparsed line: {line!r}")
    return files


def field_decl(num, name, spec):
    oneof = None
    optional = False
    deprecated = "[deprecated]" in spec
    spec = spec.replace("[deprecated]", "").strip()
    spec = re.sub(r"\s+", " ", spec)
    spec = spec.replace(" (", "  (")
    m = re.search(r"\s+\(oneof (\w+)\)$", spec)
    if m:
        oneof = m.group(1)
        spec = spec[: m.start()]
    if spec.endswith("(optional)"):
        optional = True
        spec = spec[: -len("(optional)")].strip()
    if spec.startswith("map<"):
        k, v = spec[4:-1].split(",")
        t = f"map<{k.strip()}, {qualify(v.strip())}>"
    elif spec.startswith("repeated "):
        t = "repeated " + qualify(spec[len("repeated "):].strip())
    else:
        t = ("optional " if optional else "") + qualify(spec)
    opts = " [deprecated = true]" if deprecated else ""
    return oneof, f"{t} {name} = {num}{opts};"


def emit(node, indent, out):
    pad = "  " * indent
    short = node.full.rsplit(".", 1)[1]
    if node.kind == "enum":
        out.append(f"{pad}enum {short} {{")
        for name, num in node.items:
            out.append(f"{pad}  {name} = {num};")
        out.append(f"{pad}}}")
        return
    out.append(f"{pad}message {short} {{")
    for child in node.children.values():
        emit(child, indent + 1, out)
    groups = OrderedDict()
    order = []
    for num, name, spec in node.items:
        oneof, decl = field_decl(num, name, spec)
        if oneof is None:
            order.append(("field", decl))
        else:
            if oneof not in groups:
                groups[oneof] = []
                order.append(("oneof", oneof))
            groups[oneof].append(decl)
    for kind, value in order:
        if kind == "field":
            out.append(f"{pad}  {value}")
        else:
            out.append(f"{pad}  oneof {value} {{")
            for decl in groups[value]:
                out.append(f"{pad}    {decl}")
            out.append(f"{pad}  }}")
    out.append(f"{pad}}}")


def render(f):
    out = [
        "// Written by tools/gen_protos.py from the c1 protocol's wire facts. Do not edit by hand.",
        'syntax = "proto3";',
        "",
        f"package {f['package']};",
        "",
    ]
    for imp in f["imports"]:
        out.append(f'import "{imp}";')
    if f["imports"]:
        out.append("")
    for node in f["top"].values():
        emit(node, 0, out)
        out.append("")
    for svc in f["services"]:
        out.append(f"service {svc['full'].rsplit('.', 1)[1]} {{")
        for name, s_in, t_in, s_out, t_out in svc["rpcs"]:
            out.append(
                f"  rpc {name}({s_in or ''}{qualify(t_in)}) returns ({s_out or ''}{qualify(t_out)});"
            )
        out.append("}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def main():
    facts, outdir = Path(sys.argv[1]), Path(sys.argv[2])
    files = parse(facts.read_text())
    for path, f in files.items():
        if path in SKIP_FILES:
            continue
        dest = outdir / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(render(f))
        print(dest)


if __name__ == "__main__":
    main()
