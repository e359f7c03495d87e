#!/usr/bin/env python3
"""Checks that every C++ block of a page is quoted from a tested example.

    check_quotes.py EXAMPLES_DIR PAGE.md

Every fenced ```cpp block of PAGE.md must be a quote: the paragraph just
before it names a file "examples/NAME.cpp" (the last such name counts), or
says "same file" (the file named last), or only blank lines separate it
from the previous quote (same file). Its lines, split into pieces at lines
that read only "// ..." (an elision), must appear in EXAMPLES_DIR/NAME.cpp:
each piece as consecutive lines, the pieces in order. Exit status 0 when
every block matches and there is at least one; 1 otherwise (the same rules
as docs/examples/check_quotes.c applies to the C pages)."""

import os
import re
import sys

NAME = re.compile(r"examples/([A-Za-z0-9_]+\.cpp)\b")


def blocks(lines):
    """(first line, language, body lines, the paragraph just before, whether
    only blank lines separate it from a previous ```cpp block) per fence."""
    para, prev, after_quote = [], "", False
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^```(\w*)\s*$", line)
        if fence:
            if para:
                prev, para, after_quote = " ".join(para), [], False
            lang, start, body = fence.group(1), i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            yield start, lang, body, prev, after_quote
            prev, after_quote = "", lang == "cpp"
        elif line.strip() == "":
            if para:
                prev, para, after_quote = " ".join(para), [], False
        else:
            para.append(line)
        i += 1


def pieces(body):
    out, cur = [], []
    for line in body:
        if line.strip() == "// ...":
            if cur:
                out.append(cur)
            cur = []
        else:
            cur.append(line)
    if cur:
        out.append(cur)
    return out


def found_in(piece_list, text):
    pos = 0
    for piece in piece_list:
        n = len(piece)
        for k in range(pos, len(text) - n + 1):
            if text[k:k + n] == piece:
                pos = k + n
                break
        else:
            return " / ".join(piece[:1])
    return None


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 1
    examples, page = argv[1], argv[2]
    with open(page, encoding="utf-8") as f:
        lines = f.read().split("\n")
    current, checked, bad = None, 0, 0
    for start, lang, body, para, after_quote in blocks(lines):
        if lang != "cpp":
            continue
        names = NAME.findall(para)
        if names:
            current = names[-1]
        elif not ("same file" in para or after_quote) or current is None:
            print(f"{page}:{start}: a C++ block that quotes no example", file=sys.stderr)
            bad += 1
            continue
        path = os.path.join(examples, current)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read().split("\n")
        except OSError as e:
            print(f"{page}:{start}: {e}", file=sys.stderr)
            bad += 1
            continue
        missing = found_in(pieces(body), text)
        if missing is not None:
            print(f"{page}:{start}: not in {current} (from: {missing!r})", file=sys.stderr)
            bad += 1
        checked += 1
    if checked == 0:
        print(f"{page}: no C++ quotes found", file=sys.stderr)
        return 1
    print(f"{page}: {checked} C++ blocks, {bad} wrong")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
