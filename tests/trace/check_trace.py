#!/usr/bin/env python3
"""Runs trace_run and checks its Chrome traces: valid JSON, the expected
events, on the pools' workers, with sane times, readable names, and one
file per pool."""
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def load(path):
    if not os.path.exists(path):
        fail("%s was not written" % path)
    with open(path) as f:
        doc = json.load(f)  # raises, and fails the test, if invalid
    events = doc.get("traceEvents")
    if not isinstance(events, list):
        fail("%s: no traceEvents list" % path)
    return events, doc.get("otherData", {}).get("functions", {})


def meta(events):
    procs = {e["args"]["name"] for e in events if e.get("name") == "process_name"}
    threads = {e["args"]["name"] for e in events if e.get("name") == "thread_name"}
    return procs, threads


def check_first(events, functions):
    procs, threads = meta(events)
    if procs != {"crew pool tracer"}:
        fail("pool name not on the process row: %s" % sorted(procs))
    if threads != {"tracer-0", "tracer-1"}:
        fail("worker rows not named after the pool: %s" % sorted(threads))
    tasks = [e for e in events if e.get("cat") == "task"]
    nodes = [e for e in events if e.get("cat") == "node"]
    pieces = [e for e in events if e.get("cat") == "piece"]
    sleeps = [e for e in events if e.get("cat") == "sleep"]
    steals = [e for e in events if e.get("cat") == "steal"]
    # 4 crew_run roots and 150 posts ran as queued tasks; stolen spawns add more.
    if len(tasks) < 155:
        fail("only %d task events (at least 155 expected)" % len(tasks))
    for e in tasks + sleeps + nodes + pieces:
        if e["ph"] != "X" or e["dur"] < 0 or e["ts"] < 0 or e["tid"] not in (0, 1):
            fail("bad span: %r" % e)
    names = {e["name"] for e in tasks}
    # static functions of the program, named from its symbol table
    for want in ("fib", "force_steal"):
        if want not in names:
            fail("static function %s not named (names: %s)" % (want, sorted(names)[:20]))
    if sum(1 for e in tasks if e["name"] == "posts") != 150:
        fail("the label of the posts is not on their 150 spans")
    if "posted" in names:
        fail("a labelled post shows its function's name, not its label")
    node_names = sorted(e["name"] for e in nodes)
    if node_names != ["load", "parse", "stage"]:
        fail("graph nodes: %s (want load, parse and the unlabelled stage)" % node_names)
    # grain 1000 over 100,000 indices: 100 pieces at least (splits may cut more)
    if len(pieces) < 100 or any(e["name"] != "sum loop" for e in pieces):
        fail("loop pieces: %d, names %s" % (len(pieces), sorted({e["name"] for e in pieces})))
    covered = sorted((e["args"]["begin"], e["args"]["end"]) for e in pieces)
    pos = 0
    for b, e in covered:
        if b != pos:
            fail("loop pieces do not tile [0, 100000): gap or overlap at %d" % pos)
        pos = e
    if pos != 100000:
        fail("loop pieces end at %d" % pos)
    if not sleeps:
        fail("no sleep recorded though the pool idled between rounds")
    if not steals:
        fail("no steal recorded, though trace_run forces one")
    # Spans of one worker nest or follow each other, never overlap partly.
    for tid in (0, 1):
        spans = sorted((e["ts"], e["ts"] + e["dur"]) for e in tasks + nodes + pieces
                       if e["tid"] == tid)
        stack = []
        for start, end in spans:
            while stack and stack[-1] <= start + 1e-3:
                stack.pop()
            if stack and end > stack[-1] + 1e-3:
                fail("worker %d: spans overlap without nesting" % tid)
            stack.append(end)
    # Every name says where its function is, for addr2line.
    for name in ("fib", "posts", "load", "sum loop"):
        if name not in functions:
            fail("otherData.functions has no place for %s" % name)
    module, offset = functions["fib"].get("module"), functions["fib"].get("offset")
    if not module or not offset:
        fail("no module and offset for fib: %r" % functions["fib"])
    if shutil.which("addr2line"):
        out = subprocess.run(["addr2line", "-f", "-e", module, offset],
                             capture_output=True, text=True).stdout.split("\n")[0]
        if out != "fib":
            fail("addr2line -f -e %s %s says %r, not fib" % (module, offset, out))
    return len(tasks), len(nodes), len(pieces), len(sleeps), len(steals)


def main():
    prog = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "trace.json")
        env = dict(os.environ)
        env.pop("CREW_TRACE", None)
        # In a cross build meson names the emulator that runs the
        # program (qemu-user); empty otherwise.
        wrapper = shlex.split(os.environ.get("MESON_EXE_WRAPPER", ""))
        subprocess.run(wrapper + [prog, path], check=True, env=env)
        counts = check_first(*load(path))
        second, _ = load(os.path.join(tmp, "trace.2.json"))
        procs, threads = meta(second)
        if procs != {"crew pool second"} or threads != {"second-0"}:
            fail("the second pool's file: %s %s" % (sorted(procs), sorted(threads)))
        if not any(e.get("cat") == "task" for e in second):
            fail("the second pool's file has no task")
    print("trace ok: %d tasks, %d nodes, %d pieces, %d sleeps, %d steals; a file per pool"
          % counts)


main()
