"""check_glb.py FILE - an independent check of a GLB that photo3d-gpu wrote (tests/test_mesh_glb.sh).

Parses the container and the JSON with the standard library and numpy only, and checks what the glTF 2.0
specification requires of it (chunk layout and alignment, buffer views inside the buffer, accessors inside
their views, 4-byte aligned vertex attributes, POSITION min/max equal to the data, index range, declared
extensions), plus what photo3d-gpu promises: COLOR_0 unsigned byte normalized, the _PROVENANCE label,
KHR_materials_unlit + doubleSided, the asset extras, y up, and faces counter-clockwise as seen from the
camera at the origin. Prints one line per failed check and exits 1 when any failed."""
import json
import struct
import sys

import numpy as np

COMPONENT = {5120: ("i1", 1), 5121: ("u1", 1), 5122: ("i2", 2), 5123: ("u2", 2), 5125: ("u4", 4), 5126: ("f4", 4)}
NCOMP = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def main(path):
    data = open(path, "rb").read()
    magic, version, length = struct.unpack_from("<III", data, 0)
    check(magic == 0x46546C67 and version == 2, "GLB magic/version")
    check(length == len(data), f"header length {length} != file size {len(data)}")
    jlen, jtype = struct.unpack_from("<II", data, 12)
    check(jtype == 0x4E4F534A and jlen % 4 == 0, "first chunk is JSON, 4-byte multiple")
    doc = json.loads(data[20:20 + jlen].decode("utf-8"))
    at = 20 + jlen
    blen, btype = struct.unpack_from("<II", data, at)
    check(btype == 0x004E4942 and blen % 4 == 0 and at + 8 + blen == len(data), "second chunk is BIN, 4-byte multiple, ends the file")
    bin_ = data[at + 8:at + 8 + blen]

    asset = doc["asset"]
    check(asset.get("version") == "2.0" and "generator" in asset, "asset version 2.0 + generator")
    ex = asset.get("extras", {})
    check(all(k in ex for k in ("width", "height", "hfov", "vfov")), "asset extras width/height/hfov/vfov")
    used = doc.get("extensionsUsed", [])
    for mat in doc.get("materials", []):
        check(mat.get("doubleSided") is True, "material doubleSided")
        check("KHR_materials_unlit" in mat.get("extensions", {}), "material KHR_materials_unlit")
        for e in mat.get("extensions", {}):
            check(e in used, f"extension {e} declared in extensionsUsed")

    (buf,) = doc["buffers"]
    check("uri" not in buf and buf["byteLength"] <= blen < buf["byteLength"] + 4, "buffer 0 is the BIN chunk (padding < 4)")
    views = doc["bufferViews"]
    for i, v in enumerate(views):
        off, n = v.get("byteOffset", 0), v["byteLength"]
        check(v["buffer"] == 0 and off + n <= buf["byteLength"], f"bufferView {i} inside the buffer")
        check(off % 4 == 0, f"bufferView {i} offset 4-byte aligned")
        if "byteStride" in v:
            check(4 <= v["byteStride"] <= 252 and v["byteStride"] % 4 == 0, f"bufferView {i} stride")

    def read(index, vertex_attribute):
        a = doc["accessors"][index]
        v = views[a["bufferView"]]
        dt, cs = COMPONENT[a["componentType"]]
        nc = NCOMP[a["type"]]
        stride = v.get("byteStride", cs * nc)
        off = a.get("byteOffset", 0)
        check(a["count"] >= 1 and off % cs == 0, f"accessor {index} count and offset")
        check(off + stride * (a["count"] - 1) + cs * nc <= v["byteLength"], f"accessor {index} inside its bufferView")
        if vertex_attribute:
            check((off + v.get("byteOffset", 0)) % 4 == 0 and stride % 4 == 0, f"vertex attribute accessor {index} 4-byte aligned")
            check(v.get("target", 34962) == 34962, f"vertex attribute accessor {index} target")
        base = v.get("byteOffset", 0) + off
        rows = [np.frombuffer(bin_, dtype="<" + dt, count=nc, offset=base + k * stride) for k in range(a["count"])]
        return a, np.array(rows)

    (mesh,) = doc["meshes"]
    (prim,) = mesh["primitives"]
    check(prim.get("mode", 4) == 4, "primitive mode 4")
    attrs = prim["attributes"]
    for name in attrs:
        check(name in ("POSITION", "COLOR_0") or name.startswith("_"), f"attribute {name}: application-specific names start with _")
    pa, pos = read(attrs["POSITION"], True)
    check(pa["componentType"] == 5126 and pa["type"] == "VEC3", "POSITION float VEC3")
    # min/max are float32 values written as decimal text: equal to the data once read as float32.
    check((np.float32(pa["min"]) == pos.min(axis=0)).all() and (np.float32(pa["max"]) == pos.max(axis=0)).all(),
          "POSITION min/max equal the data")
    ca, col = read(attrs["COLOR_0"], True)
    check(ca["componentType"] == 5121 and ca.get("normalized") is True and ca["type"] in ("VEC3", "VEC4"), "COLOR_0 u8 normalized")
    la, lab = read(attrs["_PROVENANCE"], True)
    check(la["componentType"] == 5121 and la["type"] == "SCALAR", "_PROVENANCE u8 scalar")
    check(pa["count"] == ca["count"] == la["count"], "attribute counts agree")
    ia, idx = read(prim["indices"], False)
    check(ia["componentType"] == 5125 and ia["type"] == "SCALAR" and ia["count"] % 3 == 0, "indices u32, whole triangles")
    check("byteStride" not in views[ia["bufferView"]] and views[ia["bufferView"]].get("target") == 34963, "index bufferView")
    check(idx.max() < pa["count"], "indices in range")
    node = doc["nodes"][doc["scenes"][doc.get("scene", 0)]["nodes"][0]]
    check(node["mesh"] == 0, "scene -> node -> mesh 0")

    # The sample (test_mesh --write-glb): a 6 x 4 grid in front of the camera, one torn link.
    tri = pos[idx.reshape(-1, 3)]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    check(bool((pos[:, 2] < 0).all()), "in front of the camera (z < 0)")
    check(bool((np.einsum("ij,ij->i", normal, -tri.mean(axis=1)) > 0).all()), "faces counter-clockwise from the camera")
    check(pos[0, 1] > pos[23, 1], "y up: the top-left pixel above the bottom-right one")
    check(len(tri) == 28, f"28 faces (13 full cells x 2 + 2 three-sided), got {len(tri)}")
    check(int(lab[5, 0]) == 5 and int(lab[0, 0]) == 1, "labels")
    check(ex.get("width") == 6 and ex.get("height") == 4, "extras size")


if __name__ == "__main__":
    main(sys.argv[1])
    for f in failures:
        print("FAIL", f)
    print("GLB check:", "ok" if not failures else f"{len(failures)} failed")
    sys.exit(1 if failures else 0)
