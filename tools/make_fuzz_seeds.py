#!/usr/bin/env python3
"""make_fuzz_seeds.py - writes the seed corpora of the libFuzzer harnesses (tests/fuzz/<harness>/).

Every seed is small (a few hundred bytes) and made here, from nothing but this script (and, for the
JPEGs, the ffmpeg command-line tool): never a copy of ../shared data. Regenerate with
    /usr/bin/python3 tools/make_fuzz_seeds.py [tests/fuzz]
Standard library only, so it runs anywhere the tests do."""
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib


def png(w, h, bits, colour, rows):
    """PNG bytes: rows = list of raw scanline bytes (without the filter byte)."""
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bits, colour, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def exif_app1(orientation, little=True):
    """APP1 Exif segment with one IFD0 entry: Orientation (0x0112, SHORT, 1 value)."""
    e = "<" if little else ">"
    tiff = (b"II" if little else b"MM") + struct.pack(e + "HI", 42, 8)
    tiff += struct.pack(e + "H", 1) + struct.pack(e + "HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(e + "I", 0)
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def jpeg(w, h, extra=""):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "x.jpg")
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={w}x{h}:rate=1",
                        "-frames:v", "1"] + (extra.split() if extra else []) + [out], check=True)
        with open(out, "rb") as f:
            return f.read()


def npy(descr, shape, data, version=1):
    d = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else ""))
    pre = 10 if version == 1 else 12
    total = (pre + len(d) + 1 + 63) // 64 * 64
    d = d + " " * (total - pre - len(d) - 1) + "\n"
    head = b"\x93NUMPY" + bytes([version, 0]) + (struct.pack("<H", len(d)) if version == 1 else struct.pack("<I", len(d)))
    return head + d.encode() + data


def ply_ascii(reference_style=False):
    head = ["ply", "format ascii 1.0"]
    if not reference_style:
        head += ["comment H 2", "comment W 2", "comment hFov 0.9", "comment vFov 0.9"]
    else:
        head += ["comment H 2", "comment W 2", "comment hFov 0.9272952180016122", "comment vFov 0.9272952180016122"]
    head += ["element vertex 4", "property float x", "property float y", "property float z",
             "property uchar red", "property uchar green", "property uchar blue"]
    if not reference_style:
        head += ["property uchar alpha"]
    head += ["element face 2", "property list uchar int vertex_index", "end_header"]
    a = "" if reference_style else " 1"
    verts = [f"0.0 0.0 -1.0 255 0 0{a}", f"0.5 0.0 -1.0 0 255 0{a}", f"0.0 0.5 -1.0 0 0 255{a}",
             f"0.5 0.5 -1.123456789012345 9 9 9{a}"]
    body = verts + ["3 0 1 2", "3 1 3 2"]
    text = "\n".join(head + body)
    return (text if reference_style else text + "\n").encode()


def ply_binary():
    head = ("ply\nformat binary_little_endian 1.0\ncomment H 2\ncomment W 2\ncomment hFov 0.9\ncomment vFov 0.9\n"
            "element vertex 4\nproperty float x\nproperty float y\nproperty float z\nproperty uchar red\n"
            "property uchar green\nproperty uchar blue\nproperty uchar alpha\nelement face 2\n"
            "property list uchar int vertex_index\nend_header\n").encode()
    body = b""
    for x, y, z in [(0, 0, -1), (0.5, 0, -1), (0, 0.5, -1), (0.5, 0.5, -1.5)]:
        body += struct.pack("<fff", x, y, z) + bytes([200, 100, 50, 1])
    for f in [(0, 1, 2), (1, 3, 2)]:
        body += bytes([3]) + struct.pack("<iii", *f)
    return head + body


def glb():
    pos = struct.pack("<12f", 0, 0, -1, 1, 0, -1, 0, 1, -1, 1, 1, -1.5)
    col = bytes([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 9, 9, 9, 255])
    idx = struct.pack("<6I", 0, 1, 2, 1, 3, 2)
    binary = pos + col + idx
    doc = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "COLOR_0": 1}, "indices": 2}]}],
        "buffers": [{"byteLength": len(binary)}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 48},
                        {"buffer": 0, "byteOffset": 48, "byteLength": 16},
                        {"buffer": 0, "byteOffset": 64, "byteLength": 24}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3",
                       "min": [0, 0, -1.5], "max": [1, 1, -1]},
                      {"bufferView": 1, "componentType": 5121, "normalized": True, "count": 4, "type": "VEC4"},
                      {"bufferView": 2, "componentType": 5125, "count": 6, "type": "SCALAR"}],
    }
    j = json.dumps(doc, separators=(",", ":")).encode()
    j += b" " * (-len(j) % 4)
    chunks = struct.pack("<I4s", len(j), b"JSON") + j + struct.pack("<I4s", len(binary), b"BIN\x00") + binary
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


def write(root, harness, name, data):
    d = os.path.join(root, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fuzz")
    rgb = [bytes([(x * 40 + y * 7) % 256 for x in range(3 * 6)]) for y in range(4)]
    grey16 = [b"".join(struct.pack(">H", (x * 9000 + y * 1000) % 65536) for x in range(6)) for y in range(4)]
    grey8 = [bytes([(x * 40 + y) % 256 for x in range(6)]) for y in range(4)]
    # photos: PNG 8-bit RGB, 16-bit RGB, grey, grey+alpha; JPEG baseline, progressive, EXIF 6 and 3 (BE)
    write(root, "fuzz_image", "rgb8.png", png(6, 4, 8, 2, rgb))
    write(root, "fuzz_image", "rgb16.png", png(2, 2, 16, 2, [bytes(range(12)), bytes(range(12, 24))]))
    write(root, "fuzz_image", "grey8.png", png(6, 4, 8, 0, grey8))
    write(root, "fuzz_image", "greyalpha8.png", png(2, 2, 8, 4, [bytes([1, 255, 2, 128]), bytes([3, 0, 4, 9])]))
    base = jpeg(16, 8)
    write(root, "fuzz_image", "baseline.jpg", base)
    write(root, "fuzz_image", "exif6.jpg", base[:2] + exif_app1(6) + base[2:])
    write(root, "fuzz_image", "exif3be.jpg", base[:2] + exif_app1(3, little=False) + base[2:])
    write(root, "fuzz_image", "progressive.jpg", jpeg(8, 8, "-pix_fmt yuvj444p"))
    # depth maps: 8/16-bit grey PNG; .npy of every accepted dtype; PFM grey and colour, both byte orders
    write(root, "fuzz_depth_png", "grey16.png", png(6, 4, 16, 0, grey16))
    write(root, "fuzz_depth_png", "grey8.png", png(6, 4, 8, 0, grey8))
    write(root, "fuzz_depth_png", "grey16_zero.png", png(2, 2, 16, 0, [b"\x00\x00\x10\x00", b"\xff\xff\x00\x00"]))
    write(root, "fuzz_npy", "f4.npy", npy("<f4", (2, 3), struct.pack("<6f", 1, 2, 0, 4.5, 1e-3, 7)))
    write(root, "fuzz_npy", "f8.npy", npy("<f8", (1, 2, 2), struct.pack("<4d", 1, 0, 3, 4)))
    write(root, "fuzz_npy", "u2.npy", npy("<u2", (2, 2, 1), struct.pack("<4H", 0, 1000, 65535, 7)))
    write(root, "fuzz_npy", "u1.npy", npy("|u1", (4,), bytes([0, 1, 2, 255])))
    write(root, "fuzz_npy", "b1.npy", npy("|b1", (2, 2), bytes([0, 1, 1, 0])))
    write(root, "fuzz_npy", "v2.npy", npy("<f4", (2, 2), struct.pack("<4f", 1, 2, 3, 4), version=2))
    write(root, "fuzz_pfm", "grey_le.pfm", b"Pf\n3 2\n-1.0\n" + struct.pack("<6f", 1, 2, 3, 4, float("inf"), 0))
    write(root, "fuzz_pfm", "grey_be.pfm", b"Pf\n2 2\n1.0\n" + struct.pack(">4f", 1, 2, 3, 4))
    write(root, "fuzz_pfm", "colour.pfm", b"PF\n1 2\n-1.0\n" + struct.pack("<6f", 1, 2, 3, 4, 5, 6))
    # meshes
    write(root, "fuzz_ply", "ascii.ply", ply_ascii())
    write(root, "fuzz_ply", "reference.ply", ply_ascii(reference_style=True))
    write(root, "fuzz_ply", "binary.ply", ply_binary())
    write(root, "fuzz_glb", "quad.glb", glb())
    # trajectories: text (every number count) and JSON (bare array, wrapped with fps)
    write(root, "fuzz_traj", "text.txt", b"# x y z [fov]\n0 0 0\n0.01,0,0,50\n0 0 0.1 0 0 -1\n"
          b"0 0 0 0 0 -1 40\n0 0 0 1 0 0 0 1 0 0 0 1\n0 0 0 1 0 0 0 1 0 0 0 1 60")
    write(root, "fuzz_traj", "bare.json", b'[{"position": [0, 0, 0]}, {"position": [0.1, 0, 0], "look": [0, 0, -1]}]')
    write(root, "fuzz_traj", "wrapped.json", b'{"fps": 30, "poses": [{"position": [0, 0, 0], '
          b'"rotation": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "fov": 45}]}')
    # configuration: the keys of every type, a list, an alias, quoted strings
    write(root, "fuzz_config", "argument.yml", b"fps: 40\nnum_frames: 24\nx_shift_range: [0.0, 0.0, -0.015, -0.015]\n"
          b"y_shift_range: [0.00, 0.00, -0.015, -0.00]\nz_shift_range: [-0.05, -0.05, -0.05, -0.05]\n"
          b"traj_types: ['double-straight-line', 'double-straight-line', 'circle', 'circle']\n"
          b"video_postfix: ['dolly-zoom-in', 'zoom-in', 'circle', 'swing']\nspecific: ''\nlonger_side_len: 960\n"
          b"src_folder: image\nsave_ply: True\ngpu_ids: 0\nimg_format: '.jpg'\ndepth_threshold: 0.04\n"
          b"filter_size: [7, 7, 5, 5, 5]\nsparse_iter: 5\nuse_boostmonodepth: False\nfill: classic\n"
          b"crop_border: [0.03, 0.03, 0.05, 0.03]\n")
    write(root, "fuzz_config", "alias.yml", b"depth_folder: &d depth\nmesh_folder: *d\nfilter_size: &f [3, 3]\n")
    write(root, "fuzz_config", "flow.yml", b"{fps: 30, num_frames: 10, device: cpu, depth_model: midas-v1}\n")
    # @lists: comments, blanks, relative and absolute entries, CRLF
    write(root, "fuzz_list", "list.txt", b"# photos\n\n  a.jpg  \nsub/b.png\r\n/nonexistent/c.jpg\n.\n")
    print("seeds written under", os.path.abspath(root))


if __name__ == "__main__":
    main()
