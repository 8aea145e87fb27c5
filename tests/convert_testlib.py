"""Scaffolding shared by the converter unit tests (tests/test_*_convert.py): tools/ on sys.path, the
torch and random-weight-blob skips, checkpoint edits and the refusal assertion."""
import importlib.util
import json
import os
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(ROOT, "tools")
sys.path.insert(0, TOOLS)
import p3dw  # noqa: E402

HAVE_TORCH = importlib.util.find_spec("torch") is not None
NEED_TORCH = unittest.skipUnless(HAVE_TORCH, "torch is not installed")
# The folder holding the random-weight blobs (set by the test's .sh wrapper); their tests skip without it.
TESTDATA = os.environ.get("P3D_TESTDATA", "")
NEED_BLOBS = unittest.skipUnless(TESTDATA and os.path.isdir(TESTDATA), "P3D_TESTDATA (random-weight blobs) not set")


def load_manifest(golden_dir):
    with open(os.path.join(golden_dir, "manifest.json")) as f:
        return json.load(f)


def edited(state, drop=(), add=None, change=None):
    """A copy of the state_dict `state` without the keys in drop, with add and change applied."""
    sd = dict(state)
    for k in drop:
        del sd[k]
    sd.update(add or {})
    sd.update(change or {})
    return sd


def assert_refused(case, convert, model, sd, *names):
    """convert(model, sd) must raise p3dw.ConversionError whose message contains every name; returns it."""
    with case.assertRaises(p3dw.ConversionError) as cm:
        convert(model, sd)
    for name in names:
        case.assertIn(name, str(cm.exception))
    return str(cm.exception)
