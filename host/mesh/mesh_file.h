/* mesh_file.h - the mesh's files: PLY (ASCII, binary) and GLB, written and read by name.
 *
 *   PLY ASCII   the reference's format exactly (spec 2.20): header comments H, W, hFov, vFov; vertex
 *               x y z (float) + red green blue alpha (uchar, alpha = provenance label); face list
 *               (uchar count, int indices). The reference's read_ply and common viewers accept it.
 *   PLY binary  binary_little_endian 1.0 with the same header fields (default: smaller and faster).
 *   GLB         glTF 2.0 binary: POSITION, COLOR_0 (RGB), indices; the label as the application-
 *               specific attribute _PROVENANCE; glTF's axes (y up, camera looking along -z), so
 *               Blender, three.js and model viewers show the photo upright. A textured (compact)
 *               mesh has POSITION, TEXCOORD_0 (normalized uint16) and its atlas instead of the
 *               colours and labels; read back, its vertex colours are the atlas at TEXCOORD_0.
 * Readers take all three, and PLY files the reference wrote.
 *
 *   P3D_TRY(p3d_mesh_write(&m, "out/scene.ply", P3D_MESH_PLY_BINARY));
 *
 * Layering inside host/mesh/: mesh.c (container, LDI -> mesh) <- mesh_format.h (what the codecs
 * share) <- mesh_ply.c, mesh_glb.c (the codecs) <- mesh_file.c (this header: dispatch by name).
 */
#ifndef P3D_MESH_FILE_H
#define P3D_MESH_FILE_H

#include "mesh/mesh.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum p3d_mesh_format {
    P3D_MESH_PLY_BINARY = 0,
    P3D_MESH_PLY_ASCII = 1,
    P3D_MESH_GLB = 2,
} p3d_mesh_format;

/* Format from the file name (case-insensitive): .glb -> GLB, .ply -> PLY binary; P3D_ERR_INVALID_ARG
 * otherwise. */
p3d_status p3d_mesh_format_from_path(const char *path, p3d_mesh_format *out);
/* Written to a temporary name and renamed. */
p3d_status p3d_mesh_write(const p3d_mesh *m, const char *path, p3d_mesh_format fmt);
/* Reads PLY (ASCII or binary little-endian, also the reference's files) or GLB, told apart by the
 * first bytes. Corrupt or truncated files fail with P3D_ERR_FORMAT naming the file and the problem. */
p3d_status p3d_mesh_read(const char *path, p3d_mesh *out);

#ifdef __cplusplus
}
#endif
#endif
