/* mesh.h - the triangle mesh a 3D photo is exported as, and its files.
 *
 * Vertices in camera space of the processing image (OpenCV axes: x right, y down, z forward;
 * positive z), one colour + provenance label per vertex, triangles as vertex index triples.
 *
 * Files:
 *   PLY ASCII   the reference's format exactly (spec 2.20): header comments H, W, hFov, vFov; vertex
 *               x y z (float) + red green blue alpha (uchar, alpha = provenance label); face list
 *               (uchar count, int indices). The reference's read_ply and common viewers accept it.
 *   PLY binary  binary_little_endian 1.0 with the same header fields (default: smaller and faster).
 *   GLB         glTF 2.0 binary: POSITION, COLOR_0 (RGB), indices; the label as the application-
 *               specific attribute _PROVENANCE; glTF's axes (y up, camera looking along -z), so
 *               Blender, three.js and model viewers show the photo upright.
 * Readers take all three, and PLY files the reference wrote.
 *
 *   p3d_mesh m;
 *   P3D_TRY(p3d_mesh_from_ldi(&ldi, 0.04f, &m));
 *   P3D_TRY(p3d_mesh_write(&m, "out/scene.ply", P3D_MESH_PLY_BINARY));
 *   p3d_mesh_free(&m);
 */
#ifndef P3D_MESH_H
#define P3D_MESH_H

#include "ldi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct p3d_mesh {
    int32_t width, height; /* processing image size (the PLY comments W and H) */
    float hfov, vfov;      /* radians: 2 atan(W / (2 fx)), 2 atan(H / (2 fy)) (spec 2.4 calculate_fov) */
    int64_t n_vertices, n_faces;
    float *xyz;     /* (n_vertices, 3) */
    uint8_t *rgba;  /* (n_vertices, 4): RGB + provenance label (p3d_ldi_label) */
    int32_t *faces; /* (n_faces, 3) vertex indices */
} p3d_mesh;

typedef enum p3d_mesh_format {
    P3D_MESH_PLY_BINARY = 0,
    P3D_MESH_PLY_ASCII = 1,
    P3D_MESH_GLB = 2,
} p3d_mesh_format;

/* Empty mesh with room for the given counts (arrays allocated, counts set). */
p3d_status p3d_mesh_alloc(p3d_mesh *m, int64_t n_vertices, int64_t n_faces);
/* NULL or a zeroed struct is allowed. */
void p3d_mesh_free(p3d_mesh *m);

/* One vertex per LDI node (vertex i = node i), faces over linked quads (see mesh.c). */
p3d_status p3d_mesh_from_ldi(const p3d_ldi *l, float depth_threshold, p3d_mesh *out);

/* Format from the file name: .glb -> GLB, .ply -> PLY binary; P3D_ERR_INVALID_ARG otherwise. */
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
