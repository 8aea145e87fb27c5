#!/usr/bin/env python3
"""ctest_skips.py BUILD_DIR - one line naming every skip of the last ctest run and its reason.

A test prints "SKIP: reason" (tests/p3d_test.h) or "SKIP reason" (tests/cli_lib.sh) for each check it
could not run; ctest keeps every test's output in Testing/Temporary/LastTest.log. Reasons shared by
several tests are printed once with the tests' names, so a missing GPU reads as one item.
"""
import os
import re
import sys


def main(argv):
    if len(argv) != 2:
        print("usage: ctest_skips.py BUILD_DIR", file=sys.stderr)
        return 2
    log = os.path.join(argv[1], "Testing", "Temporary", "LastTest.log")
    try:
        text = open(log, errors="replace").read()
    except OSError as e:
        print("skips: unknown (%s)" % e)
        return 1
    by_reason = {}
    test = None
    for line in text.splitlines():
        m = re.match(r"^\d+/\d+ Test: (\S+)", line)
        if m:
            test = m.group(1)
            continue
        m = re.match(r"^\s*SKIP:? (.*)$", line)
        if m and test:
            # One reason per cause: drop the per-check prefix ("edge: ...") where the cause follows.
            reason = re.sub(r"^[\w .-]{1,40}: (?=CPU-vs-CUDA|no usable)", "", m.group(1).strip())
            tests = by_reason.setdefault(reason, [])
            if test not in tests:
                tests.append(test)
    if not by_reason:
        print("skips: none")
        return 0
    n = sum(len(t) for t in by_reason.values())
    items = ["%s [%s]" % (r, ", ".join(t)) for r, t in sorted(by_reason.items(), key=lambda kv: -len(kv[1]))]
    print("skips (%d in %d tests): %s" % (n, len({x for t in by_reason.values() for x in t}), "; ".join(items)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
