#!/usr/bin/env python3
"""Generates the models' memory orders from the C sources.

Every atomic access in a modelled C function (listed in modelled.txt)
carries a tag in a comment before it, `mo: some.name`. This script finds
each tagged access, reads the memory order written in that very statement
and emits, for the models (C++, Relacy):

    #define CREW_MO_some_name rl::mo_acquire      (the order in the C code)
    #define CREW_MO_FAIL_some_name rl::mo_relaxed (a CAS's failure order)
    #define CREW_OP_some_name crew_model::op_load (the kind of access)

A model names only tags (MO_LOAD(some_name), ...; model.hpp), so a change
of an order in the C code changes the model's order at the next build (the
header is a build product, regenerated whenever a source changes). Each
name can be overridden for a negative control:
-DCREW_MO_OVERRIDE_some_name=rl::mo_relaxed.

The script fails, and with it the build, when:
  - an atomic access in a modelled function has no tag before it (since the
    previous access), or has two;
  - a tag is followed by no access, or by another tag first;
  - a tagged access has no literal memory order (or a CAS not two);
  - two accesses share a tag;
  - a tag sits outside every modelled function;
  - a modelled function, macro or constant is not found;
  - a tag is used by no model, or a model uses a tag that does not exist
    (the models' sources are given on the command line).

It also copies, verbatim, the macros and enum constants modelled.txt
names (e.g. the Treiber stack's version step with its negative-control
switch), so that the models use the C code's own definitions.

Usage: gen_orders.py --root SRCROOT --list modelled.txt --out HEADER
                     [--depfile FILE] MODEL_SOURCES...
"""

import argparse
import os
import re
import sys

ORDERS_C11 = {
    "relaxed": "rl::mo_relaxed",
    "consume": "rl::mo_consume",
    "acquire": "rl::mo_acquire",
    "release": "rl::mo_release",
    "acq_rel": "rl::mo_acq_rel",
    "seq_cst": "rl::mo_seq_cst",
}

# name pattern -> kind; the order of the tests matters (first match wins)
ACCESS_KINDS = [
    (r"atomic_compare_exchange_(?:strong|weak)(?:_explicit)?", "cas"),
    (r"__atomic_compare_exchange(?:_n)?", "cas"),
    (r"AO_compare_\w+", "cas"),
    (r"atomic_thread_fence|__atomic_thread_fence", "fence"),
    (r"atomic_load(?:_explicit)?|__atomic_load(?:_n)?", "load"),
    (r"atomic_store(?:_explicit)?|__atomic_store(?:_n)?", "store"),
    (r"atomic_(?:exchange|fetch_(?:add|sub|or|and|xor))(?:_explicit)?", "rmw"),
    (r"__atomic_(?:exchange(?:_n)?|fetch_\w+|\w+_fetch)", "rmw"),
]

ACCESS_RE = re.compile(
    r"\b(atomic_(?:load|store|exchange|compare_exchange_strong|compare_exchange_weak|"
    r"fetch_add|fetch_sub|fetch_or|fetch_and|fetch_xor)(?:_explicit)?|atomic_thread_fence|"
    r"__atomic_\w+|AO_\w+)\s*\("
)
TAG_RE = re.compile(r"\bmo:\s*([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*)")
USE_RE = re.compile(r"\bMO_(LOAD|STORE|RMW|CAS|FENCE)\s*\(\s*(\w+)\s*\)")


class Error(Exception):
    pass


def split_code_comments(text):
    """Returns (code, comments): code is text with comments and string
    literals blanked (same length, newlines kept); comments is a list of
    (offset, comment text)."""
    code = list(text)
    comments = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            comments.append((i, text[i:j]))
            for k in range(i, j):
                if code[k] != "\n":
                    code[k] = " "
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            comments.append((i, text[i:j]))
            for k in range(i, j):
                code[k] = " "
            i = j
        elif text[i] in "\"'":
            q = text[i]
            j = i + 1
            while j < n and text[j] != q:
                j += 2 if text[j] == "\\" else 1
            for k in range(i + 1, min(j, n)):
                if code[k] != "\n":
                    code[k] = " "
            i = j + 1
        else:
            i += 1
    return "".join(code), comments


def matching(code, i, open_c, close_c):
    """Index just past the bracket matching code[i] (which is open_c)."""
    depth = 0
    for j in range(i, len(code)):
        if code[j] == open_c:
            depth += 1
        elif code[j] == close_c:
            depth -= 1
            if depth == 0:
                return j + 1
    raise Error("unbalanced %s%s" % (open_c, close_c))


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def find_function(code, name):
    """(start, end) of the body {...} of function `name`'s definition."""
    for m in re.finditer(r"\b%s\s*\(" % re.escape(name), code):
        close = matching(code, m.end() - 1, "(", ")")
        rest = code[close:]
        k = len(rest) - len(rest.lstrip())
        if close + k < len(code) and code[close + k] == "{":
            start = close + k
            return start, matching(code, start, "{", "}")
    return None


def access_kind(name):
    for pattern, kind in ACCESS_KINDS:
        if re.fullmatch(pattern, name):
            return kind
    return None


def orders_of(name, kind, args):
    """The memory orders written in one access: [success] or [success,
    failure] for a CAS, as rl::mo_* names."""
    if name.startswith("AO_"):
        for suffix, mo in (("_full", "seq_cst"), ("_acquire", "acquire"),
                           ("_release", "release")):
            if name.endswith(suffix):
                break
        else:
            mo = "relaxed"
        return [ORDERS_C11[mo]] * (2 if kind == "cas" else 1)
    if name.startswith("__atomic_"):
        found = re.findall(r"\b__ATOMIC_(RELAXED|CONSUME|ACQUIRE|RELEASE|ACQ_REL|SEQ_CST)\b", args)
        found = [f.lower() for f in found]
    elif name.endswith("_explicit") or name == "atomic_thread_fence":
        found = re.findall(r"\bmemory_order_(relaxed|consume|acquire|release|acq_rel|seq_cst)\b",
                           args)
    else:  # the C11 forms without _explicit are seq_cst
        found = ["seq_cst"] * (2 if kind == "cas" else 1)
    want = 2 if kind == "cas" else 1
    if len(found) != want:
        return None
    return [ORDERS_C11[f] for f in found]


def scan_file(root, path, functions, tags, errors):
    """Collects the tagged accesses of the modelled functions of one file."""
    full = os.path.join(root, path)
    with open(full, encoding="utf-8") as f:
        text = f.read()
    code, comments = split_code_comments(text)
    bodies = []
    for fn in functions:
        span = find_function(code, fn)
        if span is None:
            errors.append("%s: modelled function %s not found" % (path, fn))
            continue
        bodies.append((fn, span))
    # every tag in the file, with its offset
    file_tags = []
    for off, com in comments:
        for m in TAG_RE.finditer(com):
            file_tags.append((off + m.start(), m.group(1)))
    for off, tag in file_tags:
        if not any(s <= off < e for _, (s, e) in bodies):
            errors.append("%s:%d: tag %s outside every modelled function"
                          % (path, line_of(text, off), tag))
    for fn, (start, end) in bodies:
        events = [(off, "tag", tag) for off, tag in file_tags if start <= off < end]
        for m in ACCESS_RE.finditer(code, start, end):
            name = m.group(1)
            kind = access_kind(name)
            if kind is None:
                continue
            close = matching(code, m.end() - 1, "(", ")")
            events.append((m.start(), "access", (name, kind, code[m.end():close - 1])))
        events.sort(key=lambda e: e[0])
        pending = None  # (offset, tag) waiting for its access
        for off, what, data in events:
            where = "%s:%d (%s)" % (path, line_of(text, off), fn)
            if what == "tag":
                if pending is not None:
                    errors.append("%s: tag %s follows tag %s with no access between"
                                  % (where, data, pending[1]))
                pending = (off, data)
                continue
            name, kind, args = data
            if pending is None:
                errors.append("%s: %s has no tag (add `mo: <name>` to the comment before it)"
                              % (where, name))
                continue
            tag = pending[1]
            pending = None
            orders = orders_of(name, kind, args)
            if orders is None:
                errors.append("%s: %s (tag %s) has no literal memory order"
                              % (where, name, tag))
                continue
            if tag in tags:
                errors.append("%s: tag %s is also used at %s" % (where, tag, tags[tag]["where"]))
                continue
            tags[tag] = {"where": "%s:%d" % (path, line_of(text, off)), "fn": fn,
                         "name": name, "kind": kind, "orders": orders}
        if pending is not None:
            errors.append("%s:%d (%s): tag %s is followed by no access"
                          % (path, line_of(text, pending[0]), fn, pending[1]))
    return full


def copy_macro(root, path, name, errors):
    """The #define of `name` in path, with the innermost #if block that
    encloses it (both branches of a negative-control switch), or the
    definition alone if none does (an include guard does not count)."""
    with open(os.path.join(root, path), encoding="utf-8") as f:
        text = f.read()
    lines = text.split("\n")
    code_lines = split_code_comments(text)[0].split("\n")
    at = None
    for i, line in enumerate(lines):
        if re.match(r"\s*#\s*define\s+%s\b" % re.escape(name), line):
            at = i
            break
    if at is None:
        errors.append("%s: macro %s not found" % (path, name))
        return None
    blocks, stack = [], []
    for i, line in enumerate(lines):
        d = re.match(r"\s*#\s*(if|ifdef|ifndef|endif)\b", line)
        if d and d.group(1) != "endif":
            stack.append(i)
        elif d and stack:
            blocks.append((stack.pop(), i))
    def is_guard(first):
        g = re.match(r"\s*#\s*ifndef\s+(\w+)", lines[first])
        return (g is not None and first + 1 < len(lines)
                and re.match(r"\s*#\s*define\s+%s\s*$" % g.group(1), lines[first + 1]))
    around = [b for b in blocks if b[0] < at < b[1] and not is_guard(b[0])]
    if around:
        first, last = max(around)
        return "/* %s:%d */\n%s" % (path, first + 1, "\n".join(lines[first:last + 1]))
    else:
        # the definition alone, its comments left out (one may run on past it)
        last = at
        while code_lines[last].rstrip().endswith("\\"):
            last += 1
        body = "\n".join(l.rstrip() for l in code_lines[at:last + 1])
        return "/* %s:%d */\n%s" % (path, at + 1, body)


def copy_const(root, path, name, errors):
    with open(os.path.join(root, path), encoding="utf-8") as f:
        code, _ = split_code_comments(f.read())
    m = re.search(r"\benum\b[^;{]*\{[^}]*\b%s\s*=\s*([^,}]+)" % re.escape(name), code)
    if m is None:
        errors.append("%s: enum constant %s not found" % (path, name))
        return None
    return "/* %s */\n#define %s (%s)" % (path, name, m.group(1).strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--list", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--depfile")
    ap.add_argument("models", nargs="*")
    a = ap.parse_args()

    errors = []
    per_file = {}
    extras = []
    with open(a.list, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 3 or parts[1] not in ("fn", "macro", "const"):
                errors.append("%s:%d: expected `PATH fn|macro|const NAME`" % (a.list, n))
                continue
            path, what, name = parts
            if what == "fn":
                per_file.setdefault(path, []).append(name)
            else:
                extras.append((path, what, name))

    tags = {}
    read = [a.list]
    for path, functions in per_file.items():
        read.append(scan_file(a.root, path, functions, tags, errors))
    copied = []
    for path, what, name in extras:
        read.append(os.path.join(a.root, path))
        got = (copy_macro if what == "macro" else copy_const)(a.root, path, name, errors)
        if got is not None:
            copied.append(got)

    # every tag used by a model, every use a tag
    used = {}
    for model in a.models:
        read.append(model)
        with open(model, encoding="utf-8") as f:
            code = split_code_comments(f.read())[0]
        # uses in code, not in comments or in the MO_* macros' definitions
        code = re.sub(r"(?m)^\s*#\s*define\b.*(?:\\\n.*)*", "", code)
        for m in USE_RE.finditer(code):
            used.setdefault(m.group(2), []).append((model, m.group(1).lower()))
    idents = {t.replace(".", "_"): t for t in tags}
    if len(idents) != len(tags):
        errors.append("two tags differ only in '.' versus '_'")
    for ident, t in sorted(idents.items()):
        if ident not in used:
            errors.append("%s: tag %s is used by no model" % (tags[t]["where"], t))
    for ident, uses in sorted(used.items()):
        if ident not in idents:
            errors.append("%s: uses MO_%s(%s), but no C access has that tag"
                          % (uses[0][0], uses[0][1].upper(), ident))
            continue
        kind = tags[idents[ident]]["kind"]
        for model, k in uses:
            if k != kind:
                errors.append("%s: MO_%s(%s), but the access at %s is a %s"
                              % (model, k.upper(), ident, tags[idents[ident]]["where"], kind))

    if errors:
        for e in errors:
            print("gen_orders: " + e, file=sys.stderr)
        return 1

    out = ["/* Generated by tests/model/gen_orders.py from the tagged accesses of",
           " * the C sources (tests/model/modelled.txt). Do not edit: change the C",
           " * code, and the models follow at the next build. */",
           "#ifndef CREW_MODEL_ORDERS_H", "#define CREW_MODEL_ORDERS_H", ""]
    for t in sorted(tags):
        d = tags[t]
        ident = t.replace(".", "_")
        out.append("/* %s: %s in %s() at %s */" % (t, d["name"], d["fn"], d["where"]))
        out.append("#define CREW_OP_%s crew_model::op_%s" % (ident, d["kind"]))
        names = [("CREW_MO_", d["orders"][0])]
        if d["kind"] == "cas":
            names.append(("CREW_MO_FAIL_", d["orders"][1]))
        for prefix, mo in names:
            over = prefix.replace("CREW_MO_", "CREW_MO_OVERRIDE_") + ident
            out.append("#ifdef %s" % over)
            out.append("#define %s%s %s" % (prefix, ident, over))
            out.append("#else")
            out.append("#define %s%s %s" % (prefix, ident, mo))
            out.append("#endif")
        out.append("")
    if copied:
        out.append("/* Definitions copied from the C sources. */")
        out.extend(copied)
        out.append("")
    out.append("#endif")
    text = "\n".join(out) + "\n"
    old = None
    if os.path.exists(a.out):
        with open(a.out, encoding="utf-8") as f:
            old = f.read()
    if old != text:
        with open(a.out, "w", encoding="utf-8") as f:
            f.write(text)
    if a.depfile:
        with open(a.depfile, "w", encoding="utf-8") as f:
            f.write("%s: %s\n" % (a.out, " ".join(p.replace(" ", "\\ ") for p in read)))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Error as e:
        print("gen_orders: %s" % e, file=sys.stderr)
        sys.exit(1)
