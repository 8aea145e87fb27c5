"""check_gltf_pygltflib.py FILE.glb ATLAS_W ATLAS_H - the compact mesh's GLB read by pygltflib (PyPI), a glTF
library that is not ours (tests/test_gltf_reader.sh). Checks: the file parses; every accessor's count, type and
component type fit its buffer view and the data; POSITION min/max equal the data; indices below the vertex count;
TEXCOORD_0 normalized unsigned short (core glTF 2.0) in [0, 1]; no COLOR_0 or _PROVENANCE (the atlas carries the
colour); the embedded image decodes (PIL) to the atlas size the program reported; the material is
KHR_materials_unlit with a baseColorTexture; the camera metadata (asset extras width, height, hfov, vfov) is
present and consistent. Prints one line per failed check; exit 1 when any failed, 77 without pygltflib."""
import io
import math
import sys

try:
    import pygltflib
except ImportError:
    print("SKIP: pygltflib is not installed (tools/setup.sh --test installs it)")
    sys.exit(77)
import numpy as np
from PIL import Image

DTYPE = {5120: "i1", 5121: "u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
NCOMP = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def accessor_data(gltf, blob, i):
    """Accessor i as an (count, ncomp) array, read through its buffer view (stride included)."""
    a = gltf.accessors[i]
    bv = gltf.bufferViews[a.bufferView]
    dt = np.dtype(DTYPE[a.componentType])
    n = NCOMP[a.type]
    elem = dt.itemsize * n
    stride = bv.byteStride or elem
    start = (bv.byteOffset or 0) + (a.byteOffset or 0)
    need = (a.count - 1) * stride + elem if a.count else 0
    if not check((a.byteOffset or 0) + need <= bv.byteLength, f"accessor {i}: {a.count} x {a.type} past its buffer view"):
        return None
    check(bv.byteOffset + bv.byteLength <= len(blob), f"buffer view {a.bufferView} past the binary chunk")
    raw = np.frombuffer(blob, dtype=np.uint8, count=need, offset=start) if a.count else np.zeros(0, np.uint8)
    rows = np.lib.stride_tricks.as_strided(raw, shape=(a.count, elem), strides=(stride, 1)) if a.count else raw.reshape(0, elem)
    return np.ascontiguousarray(rows).view(dt).reshape(a.count, n)


def main(path, atlas_w, atlas_h):
    gltf = pygltflib.GLTF2().load(path)
    check(gltf is not None, "pygltflib parses the file")
    blob = gltf.binary_blob()
    check(blob is not None and len(blob) == gltf.buffers[0].byteLength, "one buffer: the GLB's binary chunk")
    check(gltf.asset.version == "2.0", "asset version 2.0")

    ex = gltf.asset.extras or {}
    if check(all(k in ex for k in ("width", "height", "hfov", "vfov")), f"camera metadata in asset extras: {ex}"):
        w, h, hf, vf = ex["width"], ex["height"], ex["hfov"], ex["vfov"]
        check(isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0, "extras width/height are sizes")
        check(0 < hf < math.pi and 0 < vf < math.pi, "extras hfov/vfov in (0, pi)")
        # square pixels, principal point at the centre: tan(hfov / 2) / tan(vfov / 2) = W / H
        check(abs(math.tan(hf / 2) / math.tan(vf / 2) - w / h) < 1e-3 * w / h, "hfov/vfov agree with width/height")

    (mesh,) = gltf.meshes
    (prim,) = mesh.primitives
    attrs = prim.attributes
    check(prim.mode in (None, 4), "triangles")
    data = {}
    for name in ("COLOR_0", "_PROVENANCE"):
        check(getattr(attrs, name, None) is None, f"no {name} in a textured GLB")
    for name in ("POSITION", "TEXCOORD_0"):
        idx = getattr(attrs, name)
        if check(idx is not None, f"attribute {name}"):
            data[name] = accessor_data(gltf, blob, idx)
    for i, a in enumerate(gltf.accessors):
        d = accessor_data(gltf, blob, i)
        check(d is not None and d.shape[0] == a.count, f"accessor {i}: count {a.count} matches the data")
    nv = gltf.accessors[attrs.POSITION].count
    for name in data:
        check(gltf.accessors[getattr(attrs, name)].count == nv, f"{name}: one per vertex")
    pa = gltf.accessors[attrs.POSITION]
    check(pa.type == "VEC3" and pa.componentType == 5126, "POSITION float VEC3")
    if data.get("POSITION") is not None and nv:
        p = data["POSITION"]
        check(np.all(np.isfinite(p)), "positions finite")
        # the JSON's decimal bounds, rounded to float32, are exactly the data's
        check(pa.min is not None and np.array_equal(np.float32(pa.min), p.min(0)), f"POSITION min {pa.min} = data {p.min(0)}")
        check(pa.max is not None and np.array_equal(np.float32(pa.max), p.max(0)), f"POSITION max {pa.max} = data {p.max(0)}")
    ta = gltf.accessors[attrs.TEXCOORD_0]
    check(ta.type == "VEC2" and ta.componentType == 5123 and ta.normalized is True, "TEXCOORD_0 normalized uint16 VEC2")
    if data.get("TEXCOORD_0") is not None:
        uv = data["TEXCOORD_0"].astype(np.float64) / 65535.0
        check(np.all(uv >= 0) and np.all(uv <= 1), f"TEXCOORD_0 in [0, 1]: {uv.min()}..{uv.max()}")
    ia = gltf.accessors[prim.indices]
    check(ia.type == "SCALAR" and ia.componentType in (5121, 5123, 5125), "indices unsigned SCALAR")
    idx = accessor_data(gltf, blob, prim.indices)
    if idx is not None:
        check(ia.count % 3 == 0 and ia.count > 0, f"index count {ia.count}: whole triangles")
        check(int(idx.max()) < nv, f"indices below the vertex count {nv} (max {int(idx.max())})")

    (mat,) = gltf.materials
    check("KHR_materials_unlit" in (mat.extensions or {}), "material KHR_materials_unlit")
    check("KHR_materials_unlit" in (gltf.extensionsUsed or []), "KHR_materials_unlit in extensionsUsed")
    bct = mat.pbrMetallicRoughness.baseColorTexture if mat.pbrMetallicRoughness else None
    if check(bct is not None, "material has a baseColorTexture"):
        tex = gltf.textures[bct.index]
        check(bct.texCoord in (None, 0), "baseColorTexture reads TEXCOORD_0")
        img = gltf.images[tex.source]
        check(img.mimeType in ("image/jpeg", "image/png"), f"image mime type {img.mimeType}")
        bv = gltf.bufferViews[img.bufferView]
        raw = blob[(bv.byteOffset or 0):(bv.byteOffset or 0) + bv.byteLength]
        im = Image.open(io.BytesIO(raw))
        im.load()
        check(im.format == {"image/jpeg": "JPEG", "image/png": "PNG"}.get(img.mimeType), f"image is {im.format}, says {img.mimeType}")
        check(im.size == (atlas_w, atlas_h), f"image {im.size} = the atlas {atlas_w}x{atlas_h}")
        if tex.sampler is not None:
            s = gltf.samplers[tex.sampler]
            check(s.magFilter == 9729, "sampler magFilter LINEAR")
    for f in failures:
        print("FAIL", f)
    print(f"{path}: {nv} vertices, {ia.count // 3} triangles, {len(failures)} failed checks (pygltflib)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
