"""test_p3dw.py - unit tests of tools/p3dw.py, the writer/reader every converter uses. Needs numpy only.

Run by tests/test_converter.sh (/usr/bin/python3 tests/test_p3dw.py); exits non-zero on a failure.
"""
import os
import struct
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import p3dw  # noqa: E402


class Silent:
    def write(self, _):
        pass


def writer(hparams=None):
    return p3dw.Writer("example", hparams or {}, log=Silent())


class WriterTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.tmp.name, "t.p3dw")

    def tearDown(self):
        self.tmp.cleanup()

    def assertRefused(self, fn, *needles):
        with self.assertRaises(p3dw.ConversionError) as cm:
            fn()
        for needle in needles:
            self.assertIn(needle, str(cm.exception))
        return str(cm.exception)

    def test_refuses_missing_unknown_and_misshaped_by_name(self):
        w = writer()
        w.add("enc.weight", np.zeros((2, 3, 3, 3), np.float32))
        w.add("extra.bias", np.zeros(4, np.float32))
        expected = {"enc.weight": (2, 3, 5, 5), "dec.weight": (8,)}
        self.assertRefused(lambda: w.write(self.path, expected=expected),
                           "enc.weight: got [2,3,3,3], expected [2,3,5,5]",
                           "missing tensor dec.weight (expected [8])",
                           "unknown tensor extra.bias")
        self.assertFalse(os.path.exists(self.path))
        self.assertEqual(os.listdir(self.tmp.name), [])

    def test_check_expected_accepts_an_exact_match(self):
        p3dw.check_expected({"a": (1, 2)}, {"a": [1, 2]})
        self.assertRefused(lambda: p3dw.check_expected({"a": (1, 2)}, {}), "unknown tensor a")

    def test_refuses_nan_and_inf(self):
        for bad in (np.nan, np.inf, -np.inf):
            arr = np.ones((2, 2), np.float32)
            arr[1, 0] = bad
            self.assertRefused(lambda: writer().add("x.weight", arr), "x.weight", "NaN or inf")

    def test_refuses_duplicate_names(self):
        w = writer()
        w.add("x", np.ones(2, np.float32))
        self.assertRefused(lambda: w.add("x", np.ones(3, np.float32)), "x: added twice")

    def test_refuses_bad_names_dtypes_and_shapes(self):
        w = writer()
        self.assertRefused(lambda: w.add("", np.ones(1, np.float32)), "empty tensor name")
        self.assertRefused(lambda: w.add("a\0b", np.ones(1, np.float32)), "no NUL")
        self.assertRefused(lambda: w.add("n" * 1024, np.ones(1, np.float32)), "at most 1023 bytes")
        self.assertRefused(lambda: w.add("d", np.ones(2, np.float64)), "unsupported dtype float64")
        self.assertRefused(lambda: w.add("e", np.ones((1, 1, 1, 1, 2), np.float32)), "e: 5 dimensions")
        self.assertRefused(lambda: w.add("z", np.ones((2, 0), np.float32)), "z: empty tensor [2,0]")
        self.assertRefused(lambda: writer({"k\0": 1}).write(self.path), "no NUL")
        self.assertRefused(lambda: writer({"k": 2**63}).write(self.path), "does not fit in int64")
        self.assertRefused(lambda: writer({"k": float("nan")}).write(self.path), "not finite")
        self.assertRefused(lambda: writer({"k": [1]}).write(self.path), "unsupported type list")

    def test_quantization_rules(self):
        w = writer()
        q = np.array([1, -2], np.int8)
        self.assertRefused(lambda: w.add("q", q), "q: quantized tensor without a scale")
        self.assertRefused(lambda: w.add("q", q, scale=0.0), "q: scale 0.0")
        self.assertRefused(lambda: w.add("q", q, scale=0.1, zero_point=200), "zero_point 200 outside [-128, 127]")
        self.assertRefused(lambda: w.add("u", q.astype(np.uint8), scale=0.1, zero_point=-1), "outside [0, 255]")
        self.assertRefused(lambda: w.add("f", np.ones(2, np.float32), scale=2.0), "float32 tensor with scale")
        w.add("b", np.array([5], np.int32))  # an i32 tensor without quantization: scale 1

    def test_round_trip(self):
        hp = {"channels": 64, "flag": True, "eps": 1e-5, "act": "leaky_relu", "neg": -3}
        rng = np.random.default_rng(0)
        tensors = {
            "conv.weight": (rng.standard_normal((8, 3, 3, 3)).astype(np.float32), 1.0, 0),
            "conv.weight_int8": (rng.integers(-128, 128, (8, 27)).astype(np.int8), 0.0123, -7),
            "img.lut": (rng.integers(0, 256, 300).astype(np.uint8), 0.5, 128),
            "bias_i32": (rng.integers(-2**31, 2**31, (2, 5)).astype(np.int32), 0.25, 0),
            "swapped": (np.arange(5, dtype=">f4"), 1.0, 0),
        }
        w = p3dw.Writer("inpaint-color", hp, log=Silent())
        for name, (arr, scale, zp) in tensors.items():
            w.add(name, arr, scale=scale, zero_point=zp)
        size = w.write(self.path)
        self.assertEqual(size, os.path.getsize(self.path))
        kind, hp2, t2 = p3dw.read(self.path)
        self.assertEqual(kind, "inpaint-color")
        self.assertEqual(hp2, {**hp, "flag": 1})
        self.assertEqual(list(t2), list(tensors))  # table order = insertion order
        for name, (arr, scale, zp) in tensors.items():
            got, got_scale, got_zp = t2[name]
            np.testing.assert_array_equal(got, arr)
            self.assertEqual(got.dtype.str[1:], arr.dtype.str[1:])
            self.assertEqual(got_scale, float(np.float32(scale)))  # stored as f32
            self.assertEqual(got_zp, zp)
        with open(self.path, "rb") as f:
            header = p3dw.HEADER.unpack(f.read(64))
        self.assertEqual(header[8] % 64, 0)  # data_offset
        self.assertEqual(header[9], size)  # file_size
        self.assertEqual(header[2], 0x01020304)

    def test_little_endian_on_disk(self):
        w = writer({"n": 1})
        w.add("x", np.array([1.0], ">f4"))
        w.write(self.path)
        with open(self.path, "rb") as f:
            buf = f.read()
        self.assertEqual(buf[8:12], b"\x04\x03\x02\x01")
        doff = struct.unpack_from("<Q", buf, 40)[0]
        self.assertEqual(buf[doff:doff + 4], struct.pack("<f", 1.0))

    def test_deterministic(self):
        def make(path):
            w = writer({"a": 1, "b": "x"})
            w.add("t", np.arange(12, dtype=np.float32).reshape(3, 4))
            w.add("q", np.arange(7, dtype=np.int8), scale=0.5, zero_point=1)
            w.write(path)
            with open(path, "rb") as f:
                return f.read()

        self.assertEqual(make(self.path), make(self.path + "2"))

    def test_failed_write_keeps_the_old_file(self):
        w = writer()
        w.add("a", np.ones(1, np.float32))
        w.write(self.path)
        with open(self.path, "rb") as f:
            old = f.read()
        self.assertRefused(lambda: w.write(self.path, expected={"b": (1,)}), "missing tensor b")
        with open(self.path, "rb") as f:
            self.assertEqual(f.read(), old)
        self.assertEqual(os.listdir(self.tmp.name), ["t.p3dw"])

    def test_unknown_model_kind(self):
        self.assertRefused(lambda: p3dw.Writer("nope"), "unknown model kind 'nope'")


if __name__ == "__main__":
    unittest.main(verbosity=2)
