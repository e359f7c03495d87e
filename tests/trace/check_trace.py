#!/usr/bin/env python3
"""Runs trace_run and checks its Chrome trace: valid JSON, the expected
events, on the pool's workers, with sane times."""
import json
import os
import subprocess
import sys
import tempfile


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def main():
    prog = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "trace.json")
        env = dict(os.environ)
        env.pop("CREW_TRACE", None)
        subprocess.run([prog, path], check=True, env=env)
        with open(path) as f:
            doc = json.load(f)  # raises, and fails the test, if invalid
    events = doc.get("traceEvents")
    if not isinstance(events, list):
        fail("no traceEvents list")
    names = {e["args"]["name"] for e in events if e.get("ph") == "M"}
    if "worker 0" not in names or "worker 1" not in names:
        fail("thread names missing: %s" % sorted(names))
    tasks = [e for e in events if e.get("cat") == "task"]
    sleeps = [e for e in events if e.get("cat") == "sleep"]
    steals = [e for e in events if e.get("cat") == "steal"]
    # 4 crew_run roots and 150 posts ran as queued tasks; stolen spawns add more.
    if len(tasks) < 155:
        fail("only %d task events (at least 155 expected)" % len(tasks))
    for e in tasks + sleeps:
        if e["ph"] != "X" or e["dur"] < 0 or e["ts"] < 0 or e["tid"] not in (0, 1):
            fail("bad span: %r" % e)
    if not any(e["name"] == "fib" or e["name"].startswith("task 0x") for e in tasks):
        fail("no fib task named")
    if not sleeps:
        fail("no sleep recorded though the pool idled between rounds")
    if not steals:
        fail("no steal recorded, though trace_run forces one")
    # Spans of one worker nest or follow each other, never overlap partly.
    for tid in (0, 1):
        spans = sorted((e["ts"], e["ts"] + e["dur"]) for e in tasks if e["tid"] == tid)
        stack = []
        for start, end in spans:
            while stack and stack[-1] <= start + 1e-3:
                stack.pop()
            if stack and end > stack[-1] + 1e-3:
                fail("worker %d: spans overlap without nesting" % tid)
            stack.append(end)
    print("trace ok: %d tasks, %d sleeps, %d steals" % (len(tasks), len(sleeps), len(steals)))


main()
