"""Unit tests of tools/convert_midas.py and the MiDaS v1 golden files (ctest test_midas_convert, run from the
source root after the fixture midas_test_weights has written $P3D_BUILD_DIR/testdata/midas-v1-random.p3dw).

numpy-only tests always run; the torch tests are skipped with a reason when torch is not installed.
P3D_TESTDATA = the folder holding midas-v1-random.p3dw; the tests that need the blob are skipped when it is
unset.
"""
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import convert_testlib
from convert_testlib import HAVE_TORCH, NEED_TORCH, ROOT, TESTDATA, TOOLS, assert_refused, load_manifest  # noqa: F401
import convert_midas as cm  # noqa: E402 (tools/ is on the path through convert_testlib)
import p3dw  # noqa: E402
from golden_weights import random_state_dict, uniform  # noqa: E402
from make_test_weights import sha256  # noqa: E402

if HAVE_TORCH:
    import torch
GOLDEN = os.path.join(ROOT, "tests", "data", "midas")
BLOB = os.path.join(TESTDATA, "midas-v1-random.p3dw")
NEED_BLOB = unittest.skipUnless(TESTDATA and os.path.exists(BLOB), "P3D_TESTDATA/midas-v1-random.p3dw not found")
MODEL = "midas-v1"

MANIFEST = load_manifest(GOLDEN)
STATE = random_state_dict(MODEL, MANIFEST["seed"])


def edited(**changes):
    return convert_testlib.edited(STATE, **changes)


class ConverterRefuses(unittest.TestCase):
    def refused(self, sd, *needles, model=MODEL):
        return assert_refused(self, cm.convert_state_dict, model, sd, *needles)

    def test_renamed_key(self):
        k = "pretrained.layer3.2.conv2.weight"
        msg = self.refused(edited(drop=[k], add={k + "s": STATE[k]}), f"unknown key {k}s")
        self.assertIn(f"missing key {k} ", msg)

    def test_missing_key(self):
        self.refused(edited(drop=["scratch.refinenet2.resConfUnit.conv1.bias"]),
                     "missing key scratch.refinenet2.resConfUnit.conv1.bias")

    def test_missing_bn_statistic(self):
        self.refused(edited(drop=["pretrained.layer2.0.downsample.1.running_var"]),
                     "missing key pretrained.layer2.0.downsample.1.running_var")

    def test_missing_num_batches_tracked(self):
        self.refused(edited(drop=["pretrained.layer1.1.num_batches_tracked"]),
                     "missing key pretrained.layer1.1.num_batches_tracked")

    def test_extra_key(self):
        self.refused(edited(add={"scratch.refinenet1.resConfUnit.conv2.bias": np.zeros(256, np.float32)}),
                     "unknown key scratch.refinenet1.resConfUnit.conv2.bias")

    def test_torchvision_head_refused(self):
        self.refused(edited(add={"pretrained.fc.weight": np.zeros((1000, 2048), np.float32)}),
                     "unknown key pretrained.fc.weight")

    def test_wrong_shape(self):
        k = "scratch.layer3_rn.weight"
        self.refused(edited(change={k: np.zeros((256, 1024, 1, 1), np.float32)}),
                     f"{k}: got [256, 1024, 1, 1], expected [256, 1024, 3, 3]")

    def test_wrong_dtype(self):
        k = "pretrained.layer4.2.bn3.running_mean"
        self.refused(edited(change={k: STATE[k].astype(np.float64)}), f"{k}: dtype float64")

    def test_non_finite(self):
        k = "scratch.output_conv.1.bias"
        self.refused(edited(change={k: np.array([np.inf], np.float32)}), f"{k}: contains NaN or inf")

    def test_negative_variance(self):
        k = "pretrained.layer1.4.1.bn2.running_var"
        v = STATE[k].copy()
        v[3] = -1.0
        self.refused(edited(change={k: v}), f"{k}: running_var + eps is not > 0")

    def test_unknown_model(self):
        self.refused(STATE, "unknown model 'midas-small'", model="midas-small")

    def test_refused_blob_is_not_written(self):
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaises(p3dw.ConversionError):
                cm.write_blob(MODEL, edited(drop=["scratch.layer1_rn.weight"]), os.path.join(tmp, "x.p3dw"))
            self.assertEqual(os.listdir(tmp), [])


class ConverterFolds(unittest.TestCase):
    def test_tables(self):
        self.assertEqual(len(cm.checkpoint_table()), 338)
        self.assertEqual(list(STATE), list(cm.checkpoint_table()))
        out = cm.convert_state_dict(MODEL, STATE)
        self.assertEqual([(k, v.shape) for k, v in out.items()], list(cm.blob_table().items()))
        self.assertEqual(len(out), 126)
        self.assertFalse([k for k in out if ".bn" in k or k.endswith(("running_mean", "running_var"))])
        self.assertTrue(all(v.dtype == np.float32 for v in out.values()))

    def test_batch_norm_fold(self):
        """conv (1x1, no bias) -> eval BN equals the folded conv with its new bias."""
        out = cm.convert_state_dict(MODEL, STATE)
        pre = "pretrained.layer2.0"
        w = STATE[f"{pre}.downsample.0.weight"].astype(np.float64)[:, :, 0, 0]
        g, b, m, v = (STATE[f"{pre}.downsample.1.{k}"].astype(np.float64) for k in cm.BN_KEYS)
        x = uniform(1, "test.x", (256, 50), -2.0, 2.0).astype(np.float64)
        bn = ((w @ x) - m[:, None]) / np.sqrt(v[:, None] + 1e-5) * g[:, None] + b[:, None]
        folded = out[f"{pre}.downsample.0.weight"].astype(np.float64)[:, :, 0, 0] @ x \
            + out[f"{pre}.downsample.0.bias"].astype(np.float64)[:, None]
        np.testing.assert_allclose(folded, bn, rtol=0, atol=1e-5)

    def test_plain_tensors_unchanged(self):
        out = cm.convert_state_dict(MODEL, STATE)
        for k in ("scratch.layer4_rn.weight", "scratch.refinenet3.resConfUnit.conv1.bias",
                  "scratch.output_conv.1.weight"):
            self.assertIs(out[k], STATE[k])

    def test_num_batches_tracked_ignored(self):
        k = "pretrained.layer3.4.bn1.num_batches_tracked"
        a = cm.convert_state_dict(MODEL, STATE)
        b = cm.convert_state_dict(MODEL, edited(change={k: np.array(3, np.int64)}))
        self.assertTrue(all(np.array_equal(a[n], b[n]) for n in a))

    def test_golden_files_match_manifest(self):
        total = 0
        for name, meta in MANIFEST["files"].items():
            arr = np.load(os.path.join(GOLDEN, name))
            self.assertEqual(list(arr.shape), meta["shape"], name)
            self.assertEqual(arr.dtype.str, meta["dtype"], name)
            total += os.path.getsize(os.path.join(GOLDEN, name))
        self.assertLess(total, 1_000_000)

    @NEED_BLOB
    def test_blob_matches_manifest(self):
        self.assertEqual(sha256(BLOB), MANIFEST["blobs"][MODEL]["sha256"])
        kind, hp, tensors = p3dw.read(BLOB)
        self.assertEqual(kind, MODEL)
        self.assertEqual(hp["features"], 256)
        self.assertEqual(list(tensors), list(cm.blob_table()))


@NEED_TORCH
class TorchModule(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import midas_nets
        cls.nets = midas_nets

    def forward(self, net, x):
        with torch.no_grad():
            return net(torch.from_numpy(x)).numpy()

    def check_goldens(self, net):
        for x_name, y_name in (("net_in", "net_out"), (None, "photo_out")):
            want = np.load(os.path.join(GOLDEN, f"{y_name}.npy"))
            x = np.load(os.path.join(GOLDEN, f"{x_name}.npy")) if x_name else self.photo_input()
            got = self.forward(net, x)
            self.assertLessEqual(np.abs(got - want).max(), 1e-5 * np.abs(want).max(), y_name)

    def photo_input(self):
        import gen_midas_golden as g
        photo = np.load(os.path.join(GOLDEN, "photo.npy"))
        h, w = g.reference_input_size(*photo.shape[:2])
        self.assertEqual([h, w], MANIFEST["photo_net_input"])
        return g.resize(photo / 255.0, h, w).astype(np.float32).transpose(2, 0, 1)[None].copy()

    def test_self_check(self):
        self.assertTrue(self.nets.self_check())

    def test_goldens_reproduce(self):
        self.check_goldens(self.nets.load_numpy(self.nets.build(), STATE))

    def test_postprocessing_reproduces(self):
        import gen_midas_golden as g
        out = np.load(os.path.join(GOLDEN, "photo_out.npy"))[0, 0]
        h, w = g.reference_output_size(*MANIFEST["photo"])
        post = g.resize(g.blur3x3(out)[:, :, None], h, w)[:, :, 0]
        np.testing.assert_array_equal(post.astype(np.float32), np.load(os.path.join(GOLDEN, "photo_post.npy")))

    def test_inplace_relu_quirk(self):
        """The RCU's residual adds relu(x): feeding x and relu(x) gives the same output."""
        unit = self.nets.ResidualConvUnit(8).eval()
        x = torch.from_numpy(uniform(2, "test.rcu", (1, 8, 5, 6), -1.0, 1.0))
        with torch.no_grad():
            self.assertTrue(torch.equal(unit(x.clone()), unit(torch.relu(x))))

    @NEED_BLOB
    def test_folded_blob_reproduces_goldens(self):
        tensors = {k: v for k, (v, _, _) in p3dw.read(BLOB)[2].items()}
        self.check_goldens(self.nets.load_numpy(self.nets.build(folded=True), tensors))

    def cli(self, obj, tmp):
        pth, out = os.path.join(tmp, "in.pt"), os.path.join(tmp, "out.p3dw")
        torch.save(obj, pth)
        r = subprocess.run([sys.executable, os.path.join(TOOLS, "convert_midas.py"), "--model", MODEL, pth, out],
                           capture_output=True, text=True)
        return r, out

    def test_cli_refuses_naming_the_key(self):
        k = "pretrained.layer2.3.conv3.weight"
        cases = [edited(drop=[k], add={k.replace("conv3", "conv4"): STATE[k]}), edited(drop=[k]),
                 edited(add={"scratch.extra.weight": STATE[k]}), edited(change={k: STATE[k][:256].copy()})]
        for sd, needle in zip(cases, (k, k, "scratch.extra.weight", k)):
            with tempfile.TemporaryDirectory() as tmp:
                r, out = self.cli({n: torch.from_numpy(np.array(v)) for n, v in sd.items()}, tmp)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(needle, r.stderr)
                self.assertFalse(os.path.exists(out))

    def test_cli_converts_wrapped_state_dict(self):
        net = self.nets.load_numpy(self.nets.build(), STATE)
        with tempfile.TemporaryDirectory() as tmp:
            r, out = self.cli({"model": net.state_dict()}, tmp)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(sha256(out), MANIFEST["blobs"][MODEL]["sha256"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
