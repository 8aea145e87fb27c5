#!/usr/bin/python3
"""make_test_weights.py OUTDIR [--seed N] [--manifest M] - writes OUTDIR/{edge,depth,color,midas-v1}-random.p3dw.

The seeded random state_dicts of tools/golden_weights.py, converted by the converter core of
tools/convert_inpaint.py (inpainting nets) or tools/convert_midas.py (midas-v1). numpy only. The blobs
(50-150 MB each) are not committed: tests regenerate them and compare their SHA-256 with
tests/data/inpaint/manifest.json or tests/data/midas/manifest.json, whose golden outputs were computed
by PyTorch from the same weights (tools/gen_inpaint_golden.py, tools/gen_midas_golden.py).

With --manifest, only the blobs that manifest lists are handled: one that already exists with the
manifest's SHA-256 is kept, any other is (re)written, and the exit status is 1 if a written blob's
SHA-256 differs from the manifest's.
"""
import argparse
import hashlib
import io
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_inpaint  # noqa: E402
import convert_midas  # noqa: E402
from golden_weights import SEED, random_state_dict  # noqa: E402

WRITERS = {model: conv.write_blob for conv in (convert_inpaint, convert_midas) for model in conv.MODELS}
MODELS = tuple(WRITERS)


def write_blob(model, sd, path, log=sys.stdout):
    """The blob of `model` by its converter's core (convert_inpaint.py or convert_midas.py)."""
    return WRITERS[model](model, sd, path, log=log)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def blob_path(outdir, model):
    return os.path.join(outdir, f"{model}-random.p3dw")


def make_blobs(outdir, models, seed, state_dict, write, quiet=True):
    """Writes OUTDIR/<model>-random.p3dw = write(model, state_dict(model, seed), path, log) for each model;
    returns {model: sha256}."""
    os.makedirs(outdir, exist_ok=True)
    digests = {}
    for model in models:
        path = blob_path(outdir, model)
        write(model, state_dict(model, seed), path, log=io.StringIO() if quiet else sys.stdout)
        digests[model] = sha256(path)
        print(f"{path}: sha256 {digests[model]}")
    return digests


def check_blobs(outdir, manifest_path, models, state_dict, write):
    """Keeps each blob of the manifest's (those of `models` only) whose size and SHA-256 match
    manifest["blobs"][model], rewrites the others with the manifest's seed; returns True if all match then."""
    with open(manifest_path) as f:
        manifest = json.load(f)
    ok = True
    for model in [m for m in manifest["blobs"] if m in models]:
        want, size = manifest["blobs"][model]["sha256"], manifest["blobs"][model]["bytes"]
        path = blob_path(outdir, model)
        if os.path.exists(path) and os.path.getsize(path) == size and sha256(path) == want:
            print(f"{path}: up to date (sha256 {want})")
            continue
        got = make_blobs(outdir, [model], manifest["seed"], state_dict, write)[model]
        if got != want:
            print(f"{path}: sha256 {got} differs from {manifest_path}: {want}", file=sys.stderr)
            ok = False
    return ok


def blobs_main(argv, doc, models, seed, state_dict, write):
    """The command line of the random-weight scripts: OUTDIR [--seed N] [--model M]... [--manifest M]."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=seed)
    ap.add_argument("--model", choices=models, action="append", help="only this model (repeatable)")
    ap.add_argument("--manifest", help="keep blobs whose SHA-256 matches this manifest, check the others")
    args = ap.parse_args(argv)
    if args.manifest:
        return 0 if check_blobs(args.outdir, args.manifest, args.model or models, state_dict, write) else 1
    make_blobs(args.outdir, args.model or models, args.seed, state_dict, write)
    return 0


def main(argv=None):
    return blobs_main(argv, __doc__, MODELS, SEED, random_state_dict, write_blob)


if __name__ == "__main__":
    sys.exit(main())
