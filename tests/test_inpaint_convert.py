"""Unit tests of tools/convert_inpaint.py and the inpainting golden files (run by test_inpaint_convert.sh).

numpy-only tests always run; the torch tests are skipped with a reason when torch is not installed.
P3D_TESTDATA = the folder holding {edge,depth,color}-random.p3dw (tools/make_test_weights.py); the tests
that need those blobs are skipped when it is unset.
"""
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import convert_testlib
from convert_testlib import NEED_BLOBS, NEED_TORCH, ROOT, TESTDATA, TOOLS, assert_refused, load_manifest
import convert_inpaint as ci  # noqa: E402 (tools/ is on the path through convert_testlib)
import p3dw  # noqa: E402
from golden_weights import random_state_dict, uniform  # noqa: E402

try:
    import torch
except ImportError:
    pass

GOLDEN = os.path.join(ROOT, "tests", "data", "inpaint")
MANIFEST = load_manifest(GOLDEN)
STATE = {model: random_state_dict(model, MANIFEST["seed"]) for model in ci.MODELS}


def edited(model, **changes):
    return convert_testlib.edited(STATE[model], **changes)


class ConverterRefuses(unittest.TestCase):
    def refused(self, model, sd, *names):
        return assert_refused(self, ci.convert_state_dict, model, sd, *names)

    def test_renamed_key(self):
        k = "enc_3.conv.input_conv.weight"
        msg = self.refused("depth", edited("depth", drop=[k], add={k + "s": STATE["depth"][k]}), k + "s")
        self.assertIn(f"missing key {k} ", msg)

    def test_missing_key(self):
        self.refused("edge", edited("edge", drop=["middle.3.conv_block.5.weight_v"]),
                     "missing key middle.3.conv_block.5.weight_v")

    def test_missing_num_batches_tracked(self):
        self.refused("color", edited("color", drop=["dec_3A.bn.num_batches_tracked"]),
                     "missing key dec_3A.bn.num_batches_tracked")

    def test_extra_key(self):
        self.refused("color", edited("color", add={"dec_1B.conv.input_conv.weight": np.ones((1, 4, 3, 3), np.float32)}),
                     "unknown key dec_1B.conv.input_conv.weight")

    def test_key_of_another_model(self):
        self.refused("color", edited("color", add={"dec_5.bn.weight": np.ones(512, np.float32)}),
                     "unknown key dec_5.bn.weight")

    def test_wrong_shape(self):
        k = "enc_3.conv.input_conv.weight"
        self.refused("depth", edited("depth", change={k: np.zeros((256, 128, 3, 3), np.float32)}),
                     f"{k}: got [256, 128, 3, 3], expected [256, 128, 5, 5]")

    def test_wrong_shape_spectral_vector(self):
        self.refused("edge", edited("edge", change={"decoder_0.0.weight_u": np.ones(512, np.float32)}),
                     "decoder_0.0.weight_u: got [512], expected [128]")

    def test_mask_conv_not_ones(self):
        k = "enc_5.conv.mask_conv.weight"
        w = STATE["color"][k].copy()
        w[3, 7, 1, 2] = 0.5
        self.refused("color", edited("color", change={k: w}), f"{k}: 1 of {w.size} values are not 1")

    def test_wrong_dtype(self):
        k = "dec_2.bn.running_var"
        self.refused("depth", edited("depth", change={k: STATE["depth"][k].astype(np.float64)}),
                     f"{k}: dtype float64")

    def test_non_finite(self):
        k = "encoder_2.0.bias"
        b = STATE["edge"][k].copy()
        b[5] = np.nan
        self.refused("edge", edited("edge", change={k: b}), f"{k}: contains NaN")

    def test_unknown_model(self):
        self.refused("midas", STATE["edge"], "unknown model 'midas'")

    def test_refused_blob_is_not_written(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "x.p3dw")
            with self.assertRaises(p3dw.ConversionError):
                ci.write_blob("edge", edited("edge", drop=["encoder_0.1.bias"]), out)
            self.assertEqual(os.listdir(tmp), [])


class ConverterFolds(unittest.TestCase):
    def test_tables(self):
        for model, n in (("edge", 70), ("depth", 91), ("color", 89)):
            self.assertEqual(len(ci.checkpoint_table(model)), n)
            self.assertEqual(list(ci.convert_state_dict(model, STATE[model])), list(ci.blob_table(model)))

    def test_wrapped_checkpoint(self):
        for key in ("model", "state_dict"):
            self.assertIs(ci.unwrap_checkpoint({key: STATE["edge"]}), STATE["edge"])
        self.assertIs(ci.unwrap_checkpoint(STATE["edge"]), STATE["edge"])

    def test_num_batches_tracked_ignored(self):
        k = "enc_4.bn.num_batches_tracked"
        a = ci.convert_state_dict("depth", STATE["depth"])
        b = ci.convert_state_dict("depth", edited("depth", change={k: np.array(7, np.int64)}))
        self.assertTrue(all(np.array_equal(a[n], b[n]) for n in a))

    def test_spectral_norm_fold(self):
        sd = STATE["edge"]
        out = ci.convert_state_dict("edge", sd)
        for prefix, dim in (("encoder_1.0", 0), ("decoder_0.0", 1), ("decoder_1.0", 1), ("middle.7.conv_block.5", 0)):
            w = sd[f"{prefix}.weight_orig"].astype(np.float64)
            w_mat = (w.transpose(1, 0, 2, 3) if dim else w).reshape(w.shape[dim], -1)
            sigma = sd[f"{prefix}.weight_u"].astype(np.float64) @ (w_mat @ sd[f"{prefix}.weight_v"].astype(np.float64))
            self.assertGreater(sigma, 0)
            np.testing.assert_allclose(out[f"{prefix}.weight"], w / sigma, rtol=1e-6, atol=0)

    def test_batch_norm_fold(self):
        sd = STATE["color"]
        out = ci.convert_state_dict("color", sd)
        h = uniform(1, "test.h", (4, 256, 5), -3.0, 3.0).astype(np.float64)
        g, b, m, v = (sd[f"enc_3.bn.{k}"].astype(np.float64)[None, :, None] for k in ci.BN_KEYS)
        bn = (h - m) / np.sqrt(v + 1e-5) * g + b
        folded = h * out["enc_3.bn.scale"][None, :, None] + out["enc_3.bn.shift"][None, :, None]
        np.testing.assert_allclose(folded, bn, rtol=0, atol=1e-6)
        self.assertNotIn("enc_3.bn.running_mean", out)
        self.assertNotIn("enc_3.conv.mask_conv.weight", out)
        self.assertIs(out["enc_3.conv.input_conv.weight"], sd["enc_3.conv.input_conv.weight"])

    def test_golden_files_match_manifest(self):
        total = 0
        for name, meta in MANIFEST["files"].items():
            arr = np.load(os.path.join(GOLDEN, name))
            self.assertEqual(list(arr.shape), meta["shape"], name)
            self.assertEqual(arr.dtype.str, meta["dtype"], name)
            self.assertTrue(arr.flags.c_contiguous, name)
            total += os.path.getsize(os.path.join(GOLDEN, name))
        self.assertLess(total, 3_000_000)


@NEED_TORCH
class TorchModules(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import inpaint_nets
        cls.nets = inpaint_nets

    def forward_3p(self, net, model):
        order = {"edge": ["mask", "context", "rgb", "disp", "edge"], "depth": ["mask", "context", "depth", "edge"],
                 "color": ["mask", "context", "rgb", "edge"]}[model]
        args = [torch.from_numpy(np.load(os.path.join(GOLDEN, f"{model}_in_{a}.npy")).astype(np.float32))
                for a in order]
        with torch.no_grad():
            padded, _ = self.nets.pad_input(net.concat_inputs(*args))
            return net.forward_3P(*args).numpy(), padded.numpy()

    def test_self_check(self):
        self.assertTrue(self.nets.self_check())

    def test_goldens_reproduce(self):
        for model in ci.MODELS:
            net = self.nets.load_numpy(self.nets.build(model), STATE[model])
            out, padded = self.forward_3p(net, model)
            want = np.load(os.path.join(GOLDEN, f"{model}_out.npy"))
            self.assertLessEqual(np.abs(out - want).max(), 1e-5 * np.abs(want).max(), model)
            np.testing.assert_array_equal(padded[:1], np.load(os.path.join(GOLDEN, f"{model}_forward_input_p0.npy")))

    @NEED_BLOBS
    def test_folded_blobs_reproduce_goldens(self):
        for model in ci.MODELS:
            tensors = {k: v for k, (v, _, _) in p3dw.read(os.path.join(TESTDATA, f"{model}-random.p3dw"))[2].items()}
            net = self.nets.load_numpy(self.nets.build(model, folded=True), tensors)
            out, _ = self.forward_3p(net, model)
            want = np.load(os.path.join(GOLDEN, f"{model}_out.npy"))
            self.assertLessEqual(np.abs(out - want).max(), 1e-5 * np.abs(want).max(), model)
            if model == "edge":
                ref = self.nets.spectral_norm_weights(self.nets.load_numpy(self.nets.build("edge"), STATE["edge"]))
                for name, w in ref.items():
                    self.assertLessEqual(np.abs(tensors[name] - w).max(), 1e-5 * np.abs(w).max(), name)

    def cli(self, model, sd, tmp):
        pth, out = os.path.join(tmp, "in.pth"), os.path.join(tmp, "out.p3dw")
        torch.save({k: torch.from_numpy(np.array(v)) for k, v in sd.items()}, pth)
        r = subprocess.run([sys.executable, os.path.join(TOOLS, "convert_inpaint.py"), "--model", model, pth, out],
                           capture_output=True, text=True)
        return r, out

    def test_cli_refuses_naming_the_key(self):
        k = "encoder_2.0.weight_orig"
        cases = [edited("edge", drop=[k], add={"encoder_2.0.weight": STATE["edge"][k]}),
                 edited("edge", drop=[k]),
                 edited("edge", change={k: STATE["edge"][k][:, :, :3, :3].copy()})]
        for sd in cases:
            with tempfile.TemporaryDirectory() as tmp:
                r, out = self.cli("edge", sd, tmp)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(k, r.stderr)
                self.assertFalse(os.path.exists(out))

    def test_cli_converts_module_state_dict(self):
        net = self.nets.load_numpy(self.nets.build("edge"), STATE["edge"])
        with tempfile.TemporaryDirectory() as tmp:
            pth, out = os.path.join(tmp, "edge.pth"), os.path.join(tmp, "edge.p3dw")
            torch.save({"model": net.state_dict()}, pth)
            r = subprocess.run([sys.executable, os.path.join(TOOLS, "convert_inpaint.py"), "--model", "edge", pth, out],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            from make_test_weights import sha256
            self.assertEqual(sha256(out), MANIFEST["blobs"]["edge"]["sha256"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
