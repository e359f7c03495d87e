#!/usr/bin/env python3
"""Checks gen_orders.py on small C sources: every way a tag can go wrong
must fail the generator (and so the build), and the header must carry the
order written in the C statement, whatever it is changed to.

Usage: test_gen_orders.py path/to/gen_orders.py
"""

import os
import subprocess
import sys
import tempfile

GOOD_C = """
#include <stdatomic.h>
static _Atomic int x;
static int plain;
/* not modelled: its access needs no tag */
int other(void) { return atomic_load_explicit(&x, memory_order_seq_cst); }
int f(void)
{
    /* Acquire: pairs with g's release. [mo: t.load] */
    int v = atomic_load_explicit(&x, memory_order_acquire);
    int e = 0;
    /* [mo: t.cas] */
    if (atomic_compare_exchange_strong_explicit(&x, &e, 1, memory_order_acq_rel,
                                                memory_order_relaxed))
        v++;
    /* [mo: t.builtin] */
    __atomic_store_n(&plain, v, __ATOMIC_RELEASE);
    atomic_thread_fence(memory_order_seq_cst); /* [mo: t.rmw] */
    atomic_fetch_add(&x, 1);
    return v;
}
"""
GOOD_C_FENCE_TAGGED = GOOD_C.replace(
    "    atomic_thread_fence(memory_order_seq_cst); /* [mo: t.rmw] */",
    "    /* [mo: t.fence] */\n    atomic_thread_fence(memory_order_seq_cst); /* [mo: t.rmw] */")
GOOD_MODEL = "MO_LOAD(t_load) MO_CAS(t_cas) MO_STORE(t_builtin) MO_FENCE(t_fence) MO_RMW(t_rmw)"


def run(gen, c_text, model_text, listing="f.c fn f\n"):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "f.c"), "w") as f:
            f.write(c_text)
        with open(os.path.join(d, "list.txt"), "w") as f:
            f.write(listing)
        with open(os.path.join(d, "model.cpp"), "w") as f:
            f.write(model_text)
        out = os.path.join(d, "orders.h")
        p = subprocess.run([sys.executable, gen, "--root", d, "--list",
                            os.path.join(d, "list.txt"), "--out", out,
                            os.path.join(d, "model.cpp")],
                           capture_output=True, text=True)
        header = open(out).read() if os.path.exists(out) else ""
        return p.returncode, p.stderr, header


def main():
    gen = sys.argv[1]
    failures = 0

    def expect_fail(what, c_text, model_text, message, listing="f.c fn f\n"):
        nonlocal failures
        rc, err, _ = run(gen, c_text, model_text, listing)
        if rc == 0 or message not in err:
            print("FAIL: %s: rc=%d, stderr=%r (wanted %r)" % (what, rc, err, message))
            failures += 1
        else:
            print("ok: %s" % what)

    # the good case, and what the header says
    rc, err, header = run(gen, GOOD_C_FENCE_TAGGED, GOOD_MODEL)
    want = ["#define CREW_MO_t_load rl::mo_acquire",
            "#define CREW_MO_t_cas rl::mo_acq_rel",
            "#define CREW_MO_FAIL_t_cas rl::mo_relaxed",
            "#define CREW_MO_t_builtin rl::mo_release",
            "#define CREW_MO_t_fence rl::mo_seq_cst",
            "#define CREW_MO_t_rmw rl::mo_seq_cst",
            "#define CREW_OP_t_cas crew_model::op_cas",
            "#ifdef CREW_MO_OVERRIDE_t_load"]
    missing = [w for w in want if w not in header]
    if rc != 0 or missing:
        print("FAIL: good sources: rc=%d, stderr=%r, missing %r" % (rc, err, missing))
        failures += 1
    else:
        print("ok: good sources give the C code's orders")

    # an order changed in the C code is the header's at the next run
    rc, err, header = run(gen, GOOD_C_FENCE_TAGGED.replace(
        "memory_order_acquire);", "memory_order_relaxed);", 1), GOOD_MODEL)
    if rc != 0 or "#define CREW_MO_t_load rl::mo_relaxed" not in header:
        print("FAIL: a changed order does not reach the header: %r" % err)
        failures += 1
    else:
        print("ok: a changed order reaches the header")

    expect_fail("an access without a tag", GOOD_C, GOOD_MODEL, "has no tag")
    expect_fail("two tags for one access",
                GOOD_C_FENCE_TAGGED.replace("/* [mo: t.builtin] */",
                                            "/* [mo: t.builtin] */ /* [mo: t.extra] */"),
                GOOD_MODEL, "follows tag")
    expect_fail("a tag with no access after it",
                GOOD_C_FENCE_TAGGED.replace("    return v;\n", "    /* [mo: t.dangling] */\n"
                                            "    return v;\n"),
                GOOD_MODEL, "followed by no access")
    expect_fail("a tag used twice",
                GOOD_C_FENCE_TAGGED.replace("[mo: t.builtin]", "[mo: t.load]"),
                GOOD_MODEL, "also used")
    expect_fail("a tag outside the modelled functions",
                GOOD_C_FENCE_TAGGED.replace("/* not modelled: its access needs no tag */",
                                            "/* [mo: t.outside] */"),
                GOOD_MODEL, "outside every modelled function")
    expect_fail("an access with no literal order",
                GOOD_C_FENCE_TAGGED.replace("memory_order_acquire);", "mo);", 1),
                GOOD_MODEL, "no literal memory order")
    expect_fail("a tag no model uses", GOOD_C_FENCE_TAGGED,
                GOOD_MODEL.replace("MO_RMW(t_rmw)", ""), "used by no model")
    expect_fail("a model using a tag that does not exist", GOOD_C_FENCE_TAGGED,
                GOOD_MODEL + " MO_LOAD(t_gone)", "no C access has that tag")
    expect_fail("a tag used for another kind of access", GOOD_C_FENCE_TAGGED,
                GOOD_MODEL.replace("MO_LOAD(t_load)", "MO_STORE(t_load)"), "is a load")
    expect_fail("a modelled function that is gone", GOOD_C_FENCE_TAGGED, GOOD_MODEL,
                "not found", listing="f.c fn f\nf.c fn gone\n")
    expect_fail("a macro that is gone", GOOD_C_FENCE_TAGGED, GOOD_MODEL,
                "not found", listing="f.c fn f\nf.c macro GONE\n")

    print("gen_orders checks: %d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
