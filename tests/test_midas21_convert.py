"""Unit tests of tools/convert_midas21.py, tools/midas21_nets.py and the MiDaS v2.1 golden files (run by
test_midas21_convert.sh).

numpy-only tests always run; the torch tests are skipped with a reason when torch is not installed.
P3D_TESTDATA = the folder holding midas-{small,large}-random.p3dw (tools/make_midas21_weights.py); the
tests that need those blobs are skipped when it is unset.
"""
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import convert_testlib
from convert_testlib import NEED_BLOBS, NEED_TORCH, ROOT, TESTDATA, TOOLS, assert_refused, load_manifest
import convert_midas21 as cm  # noqa: E402 (tools/ is on the path through convert_testlib)
import p3dw  # noqa: E402
from golden_weights import uniform  # noqa: E402
from make_midas21_weights import random_state_dict  # noqa: E402
from make_test_weights import sha256  # noqa: E402

try:
    import torch
except ImportError:
    pass

GOLDEN = os.path.join(ROOT, "tests", "data", "midas21")
MANIFEST = load_manifest(GOLDEN)
STATE = {kind: random_state_dict(kind, MANIFEST["seed"]) for kind in cm.KINDS}


def edited(kind, **changes):
    return convert_testlib.edited(STATE[kind], **changes)


class ConverterRefuses(unittest.TestCase):
    def refused(self, kind, sd, *names):
        return assert_refused(self, cm.convert_state_dict, kind, sd, *names)

    def test_renamed_key(self):
        k = "pretrained.layer2.0.1.conv_dw.weight"
        msg = self.refused("midas-small", edited("midas-small", drop=[k], add={k + "s": STATE["midas-small"][k]}),
                           f"unknown key {k}s")
        self.assertIn(f"missing key {k} ", msg)

    def test_missing_key(self):
        self.refused("midas-large", edited("midas-large", drop=["pretrained.layer3.17.bn2.running_var"]),
                     "missing key pretrained.layer3.17.bn2.running_var")

    def test_missing_num_batches_tracked(self):
        self.refused("midas-small", edited("midas-small", drop=["pretrained.layer1.1.num_batches_tracked"]),
                     "missing key pretrained.layer1.1.num_batches_tracked")

    def test_extra_key(self):
        extra = {"pretrained.conv_head.weight": np.ones((1, 1), np.float32)}
        self.refused("midas-small", edited("midas-small", add=extra), "unknown key pretrained.conv_head.weight")

    def test_other_kind_named(self):
        self.refused("midas-small", STATE["midas-large"], "this is a midas-large checkpoint")
        self.refused("midas-large", STATE["midas-small"], "this is a midas-small checkpoint")

    def test_wrong_shape(self):
        k = "scratch.refinenet3.out_conv.weight"
        self.refused("midas-small", edited("midas-small", change={k: np.zeros((256, 256, 1, 1), np.float32)}),
                     f"{k}: got [256, 256, 1, 1], expected [128, 256, 1, 1]")

    def test_wrong_groups(self):
        k = "pretrained.layer2.0.conv2.weight"  # grouped 3x3: [512, 16, 3, 3]
        self.refused("midas-large", edited("midas-large", change={k: np.zeros((512, 512, 3, 3), np.float32)}),
                     f"{k}: got [512, 512, 3, 3], expected [512, 16, 3, 3]")

    def test_wrong_dtype(self):
        k = "scratch.output_conv.4.bias"
        self.refused("midas-small", edited("midas-small", change={k: STATE["midas-small"][k].astype(np.float64)}),
                     f"{k}: dtype float64")

    def test_non_finite(self):
        k = "scratch.refinenet2.resConfUnit1.conv2.bias"
        b = STATE["midas-large"][k].copy()
        b[5] = np.inf
        self.refused("midas-large", edited("midas-large", change={k: b}), f"{k}: contains NaN or inf")

    def test_negative_variance(self):
        k = "pretrained.layer4.0.0.bn3.running_var"
        v = STATE["midas-small"][k].copy()
        v[0] = -1
        self.refused("midas-small", edited("midas-small", change={k: v}), f"{k}: negative running variance")

    def test_unknown_model(self):
        self.refused("midas-v1", STATE["midas-small"], "unknown model 'midas-v1'")

    def test_refused_blob_is_not_written(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "x.p3dw")
            with self.assertRaises(p3dw.ConversionError):
                cm.write_blob("midas-small", edited("midas-small", drop=["scratch.layer1_rn.weight"]), out)
            self.assertEqual(os.listdir(tmp), [])


class ConverterFolds(unittest.TestCase):
    def test_tables(self):
        # Keys: checkpoint / blob; values: the MiDaS README's 21M and 105M parameters.
        for kind, n_ckpt, n_blob in (("midas-small", 482, 190), ("midas-large", 666, 246)):
            self.assertEqual(len(cm.checkpoint_table(kind)), n_ckpt)
            self.assertEqual(list(cm.convert_state_dict(kind, STATE[kind])), list(cm.blob_table(kind)))
            self.assertEqual(len(cm.blob_table(kind)), n_blob)
        self.assertEqual(cm.lite3_stages(), [("ds", 3, 1, 1, 24, 1), ("ir", 3, 2, 6, 32, 3), ("ir", 5, 2, 6, 48, 3),
                                             ("ir", 3, 2, 6, 96, 5), ("ir", 5, 1, 6, 136, 5), ("ir", 5, 2, 6, 232, 6),
                                             ("ir", 3, 1, 6, 384, 1)])
        self.assertEqual(cm.ENCODER_CHANNELS["midas-small"], (32, 48, 136, 384))
        self.assertNotIn("scratch.refinenet4.resConfUnit1.conv1.weight", cm.blob_table("midas-large"))
        self.assertIn("scratch.refinenet3.resConfUnit1.conv1.weight", cm.blob_table("midas-large"))

    def test_wrapped_checkpoint(self):
        sd = STATE["midas-small"]
        self.assertIs(cm.unwrap_checkpoint({"model": sd, "optimizer": {}}), sd)
        for key in ("model", "state_dict"):
            self.assertIs(cm.unwrap_checkpoint({key: sd}), sd)
        self.assertIs(cm.unwrap_checkpoint(sd), sd)

    def test_batch_norm_fold(self):
        for kind, conv, bn, eps in (("midas-small", "pretrained.layer3.1.2.conv_dw", "pretrained.layer3.1.2.bn2", 1e-3),
                                    ("midas-large", "pretrained.layer2.0.downsample.0",
                                     "pretrained.layer2.0.downsample.1", 1e-5)):
            sd = STATE[kind]
            out = cm.convert_state_dict(kind, sd)
            w = sd[f"{conv}.weight"].astype(np.float64)
            h = uniform(1, "test.h", (w.shape[1] * w.shape[2] * w.shape[3], 7), -3.0, 3.0).astype(np.float64)
            y = w.reshape(w.shape[0], -1) @ h
            g, b, m, v = (sd[f"{bn}.{k}"].astype(np.float64)[:, None] for k in cm.BN_KEYS[:4])
            ref = (y - m) / np.sqrt(v + eps) * g + b
            got = out[f"{conv}.weight"].astype(np.float64).reshape(w.shape[0], -1) @ h + out[f"{conv}.bias"][:, None]
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * np.abs(ref).max())
            self.assertNotIn(f"{bn}.running_mean", out)
        out = cm.convert_state_dict("midas-small", STATE["midas-small"])
        self.assertIs(out["scratch.output_conv.2.weight"], STATE["midas-small"]["scratch.output_conv.2.weight"])

    def test_num_batches_tracked_ignored(self):
        k = "pretrained.layer1.4.1.bn3.num_batches_tracked"
        a = cm.convert_state_dict("midas-small", STATE["midas-small"])
        b = cm.convert_state_dict("midas-small", edited("midas-small", change={k: np.array(7, np.int64)}))
        self.assertTrue(all(np.array_equal(a[n], b[n]) for n in a))

    def test_golden_files_match_manifest(self):
        total = 0
        for name, meta in MANIFEST["files"].items():
            path = os.path.join(GOLDEN, name)
            total += os.path.getsize(path)
            self.assertEqual(os.path.getsize(path), meta["bytes"], name)
            if name.endswith(".npy"):
                arr = np.load(path)
                self.assertEqual(list(arr.shape), meta["shape"], name)
                self.assertEqual(arr.dtype.str, meta["dtype"], name)
        self.assertLess(total, 1_500_000)

    @NEED_BLOBS
    def test_blobs_match_manifest(self):
        for kind in cm.KINDS:
            path = os.path.join(TESTDATA, f"{kind}-random.p3dw")
            self.assertEqual(sha256(path), MANIFEST["blobs"][kind]["sha256"], kind)
            name, hp, tensors = p3dw.read(path)
            self.assertEqual(name, kind)
            self.assertEqual(hp, dict(cm.HPARAMS[kind]))
            self.assertEqual({k: v[0].shape for k, v in tensors.items()}, dict(cm.blob_table(kind)))


@NEED_TORCH
class TorchModules(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import gen_midas21_golden
        import midas21_nets
        cls.nets, cls.gen = midas21_nets, gen_midas21_golden

    def test_self_check(self):
        self.assertTrue(self.nets._self_check())

    def test_small_golden_reproduces_and_folds(self):
        x = np.load(os.path.join(GOLDEN, "small_in.npy"))
        want = np.load(os.path.join(GOLDEN, "small_out.npy"))
        net = self.nets.load_numpy(self.nets.build("midas-small"), STATE["midas-small"])
        folded = self.nets.load_numpy(self.nets.build("midas-small", folded=True),
                                      cm.convert_state_dict("midas-small", STATE["midas-small"]))
        with torch.no_grad():
            for m in (net, folded):
                out = m(torch.from_numpy(x)).numpy()
                self.assertLessEqual(np.abs(out - want).max(), 1e-5 * np.abs(want).max())

    def test_same_padding(self):
        # Conv2dSame pads (total // 2, the rest) as TF: k3 s2 on 64 -> (0, 1); k5 s2 on 64 -> (1, 2); odd 65 -> (1, 1).
        self.assertEqual(self.nets.same_pad(64, 3, 2), (0, 1))
        self.assertEqual(self.nets.same_pad(64, 5, 2), (1, 2))
        self.assertEqual(self.nets.same_pad(65, 3, 2), (1, 1))

    def test_preprocessing_goldens(self):
        for name, (dh, dw) in (("up", (64, 96)), ("down", (96, 64))):
            src = np.load(os.path.join(GOLDEN, f"pre_{name}_src.npy"))
            want = np.load(os.path.join(GOLDEN, f"pre_{name}.npy"))
            np.testing.assert_array_equal(self.gen.preprocess(src, dw, dh), want)
            ref = self.gen.torch_bicubic(src, dw, dh)
            self.assertLessEqual(np.abs(self.gen.cv_resize_cubic(src / 255.0, dw, dh) - ref).max(), 1e-5)

    def test_cli_refuses_naming_the_key(self):
        k = "scratch.layer3_rn.weight"
        with tempfile.TemporaryDirectory() as tmp:
            pt, out = os.path.join(tmp, "in.pt"), os.path.join(tmp, "out.p3dw")
            sd = edited("midas-small", change={k: STATE["midas-small"][k][:, :, :1, :1].copy()})
            torch.save({n: torch.from_numpy(np.array(v)) for n, v in sd.items()}, pt)
            r = subprocess.run([sys.executable, os.path.join(TOOLS, "convert_midas21.py"), "--model", "midas-small", pt,
                                out], capture_output=True, text=True)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(f"{k}: got [256, 136, 1, 1], expected [256, 136, 3, 3]", r.stderr)
            self.assertFalse(os.path.exists(out))

    def test_cli_converts_wrapped_module_state_dict(self):
        net = self.nets.load_numpy(self.nets.build("midas-small"), STATE["midas-small"])
        with tempfile.TemporaryDirectory() as tmp:
            pt, out = os.path.join(tmp, "small.pt"), os.path.join(tmp, "small.p3dw")
            torch.save({"model": net.state_dict(), "optimizer": {}}, pt)
            r = subprocess.run([sys.executable, os.path.join(TOOLS, "convert_midas21.py"), "--model", "midas-small", pt,
                                out], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(sha256(out), MANIFEST["blobs"]["midas-small"]["sha256"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
