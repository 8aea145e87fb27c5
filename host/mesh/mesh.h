/* mesh.h - the triangle mesh a 3D photo is exported as, and its construction from the LDI (files:
 * mesh_file.h).
 *
 * Vertices in camera space of the processing image (OpenCV axes: x right, y down, z forward;
 * positive z), one colour + provenance label per vertex, triangles as vertex index triples.
 *
 *   p3d_mesh m;
 *   P3D_TRY(p3d_mesh_from_ldi(&ldi, 0.04f, &m));
 *   P3D_TRY(p3d_mesh_write(&m, "out/scene.ply", P3D_MESH_PLY_BINARY));
 *   p3d_mesh_free(&m);
 */
#ifndef P3D_MESH_H
#define P3D_MESH_H

#include "core/backend.h"
#include "ldi/ldi.h"

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
    /* Textured meshes only (the compact mesh, mesh_compact.h; NULL otherwise): per-vertex texture
     * coordinates into an RGB atlas, glTF's convention (u right, v down from the atlas' top-left
     * corner, [0, 1] across the atlas). rgba then keeps a colour for readers without textures. */
    float *uv;      /* (n_vertices, 2) */
    uint8_t *tex;   /* (tex_h, tex_w, 3) */
    int32_t tex_w, tex_h;
    int32_t tex_quality; /* how files embed the atlas: JPEG of this quality (1..100), or PNG when 0 */
} p3d_mesh;

/* Empty mesh with room for the given counts (arrays allocated, counts set). */
p3d_status p3d_mesh_alloc(p3d_mesh *m, int64_t n_vertices, int64_t n_faces);
/* NULL or a zeroed struct is allowed. */
void p3d_mesh_free(p3d_mesh *m);

/* One vertex per LDI node (vertex i = node i): position p3d_ldi_unproject of its image pixel and depth,
 * colour rgb, alpha = label. Faces over linked pixel cells, one triangulation per cell, no face with a
 * torn leg or with a diagonal whose disparity jump |1/da - 1/db| exceeds depth_threshold (the rules
 * and the winding are in mesh_math.h); faces ordered by node id, the same for any thread count.
 * depth_threshold >= 0 (+inf: no diagonal check). The CPU path. */
p3d_status p3d_mesh_from_ldi(const p3d_ldi *l, float depth_threshold, p3d_mesh *out);
/* The same on the context's device (the LDI and the mesh stay in host memory; on CUDA the link and
 * depth arrays go up, positions and faces come back). Identical output on every backend. */
p3d_status p3d_mesh_from_ldi_ctx(p3d_ctx *ctx, const p3d_ldi *l, float depth_threshold, p3d_mesh *out);
/* p3d_mesh_from_ldi_ctx that also says where the device copies of the positions (n_vertices, 3) and
 * faces (n_faces, 3) are (*xyz_dev, *faces_dev: CUDA memory in the context's scratch block, valid until
 * the next op that uses the scratch; NULL on the CPU or for an empty LDI), so the renderer can take
 * them without an upload (render.h p3d_renderer_init_device). */
p3d_status p3d_mesh_from_ldi_dev(p3d_ctx *ctx, const p3d_ldi *l, float depth_threshold, p3d_mesh *out,
                                 const float **xyz_dev, const int32_t **faces_dev);

#ifdef P3D_HAVE_CUDA
struct p3d_cuda_ctx;
/* Device arrays of one p3d_mesh_from_ldi_ctx call (all CUDA memory). */
typedef struct p3d_mesh_dev {
    const int32_t *link; /* (n_nodes, 4) */
    const float *depth;  /* (n_nodes) */
    const int32_t *pix;  /* (n_nodes) canvas pixel index */
    int32_t n_nodes, ext_w, border;
    p3d_camera cam;
    float threshold;
    int64_t *counts;  /* (n_nodes + 1) scratch: faces per node, then their exclusive prefix sum */
    int64_t *offsets; /* (n_nodes + 1) first face of each node; offsets[n_nodes] = total */
    void *scan_tmp;   /* p3d_mesh_cuda_scan_bytes(n_nodes) bytes for the prefix sum */
    float *xyz;       /* (n_nodes, 3) out */
    int32_t *faces;   /* (4 * n_nodes, 3) out: room for the most a node can emit */
} p3d_mesh_dev;
/* Scratch bytes the prefix sum over n_nodes + 1 counts needs. */
size_t p3d_mesh_cuda_scan_bytes(int32_t n_nodes);
/* Positions, face counts, prefix sum, faces; *n_faces = the total (synchronises). */
p3d_status p3d_mesh_from_ldi_cuda(struct p3d_cuda_ctx *ctx, const p3d_mesh_dev *d, int64_t *n_faces);
#endif

#ifdef __cplusplus
}
#endif
#endif
