/* render.h - the mesh rasterizer: frames of a p3d_mesh seen from a camera, on the CPU or a GPU, with
 * no graphics API (headless servers need no OpenGL context).
 *
 *   p3d_renderer *r;
 *   p3d_render_opts o = {960, 640, 3, {128, 128, 128}};        // output size, SSAA factor, background
 *   P3D_TRY(p3d_renderer_init(ctx, &mesh, &o, &r));             // mesh resident on the device for CUDA
 *   for (...) P3D_TRY(p3d_render_frame(r, &view, rgb));        // rgb: host (H, W, 3) uint8
 *   p3d_renderer_free(r);
 *
 * Algorithm (both backends, math in render_math.h):
 *   1. every vertex is projected into the raster (W*s x H*s samples, s = SSAA factor) at 1/256-pixel
 *      fixed point; vertices outside the view's [znear, zfar] (set from the mesh's bounding box seen
 *      from the camera) or far outside the raster are dropped with their triangles;
 *   2. triangles are binned into tiles of 16 x 16 output pixels by their bounding boxes (count, scan,
 *      fill);
 *   3. per tile, every listed triangle writes min(key) into the tile's samples, key = (inverted bits
 *      of the float32 1 / view depth, triangle index): nearest surface wins, exact ties go to the
 *      lower index, so the frame does not depend on drawing order, thread count or backend (the CPU,
 *      one thread per tile drawing its triangles in face order, keeps each sample's 1 / depth and face
 *      in two arrays instead, which picks the same winner and vectorises); coverage
 *      and 1 / depth come from per-triangle planes (exact int64 edge functions stepped along rows,
 *      1 / depth = sum_k w_k e_k), no division per sample; rows of wide triangles are first cut to
 *      their exact covered span, whose samples need no edge test and whose 1 / depth steps along
 *      the row from the span's first sample (the CPU steps each edge's span bound from row to row
 *      with exact integers, p3d_rspan; the GPU finds it per row, p3d_render_walk_span: the same
 *      spans); samples already nearer than the triangle's nearest vertex are skipped;
 *   4. shading is multisampled: each output pixel's s x s samples are grouped by the triangle that
 *      won them (a pixel whose samples one triangle all won skips the grouping), each group is
 *      shaded once at the centroid of its samples (vertex colours or the
 *      atlas, bilinear, interpolated perspective-correctly) and weighs as many samples as it won
 *      (uncovered samples: background). For vertex colours this is what averaging the samples gives
 *      (the interpolation is linear inside a triangle); a texture is read once per triangle and pixel,
 *      as sharp as the atlas, which both backends keep as RGBX (one word per texel). The CPU resolves
 *      a textured mesh's tile a row at a time, in passes over the row's groups (render.c resolve_tile).
 * A pixel centre exactly on a vertex gets that vertex's colour, so at the mesh's own camera with s = 1
 * a single-layer mesh reproduces its image exactly. Triangles are not clipped at the near plane (a
 * triangle with a vertex behind the camera is dropped); trajectories keep the camera in front of the
 * scene. */
#ifndef P3D_RENDER_H
#define P3D_RENDER_H

#include "core/backend.h"
#include "mesh/mesh.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Raster tile of one rasterisation work unit: P3D_RENDER_TILE x P3D_RENDER_TILE OUTPUT pixels, i.e.
 * (P3D_RENDER_TILE * s)^2 raster samples at supersampling factor s (at most P3D_RENDER_MAX_SSAA, so
 * a tile's keys fit in 32 KB of CUDA shared memory). */
#define P3D_RENDER_TILE 16
#define P3D_RENDER_MAX_SSAA 4

/* A camera: world -> camera rotation (row-major 3x3, rows = camera x right, y down, z forward in
 * mesh coordinates), camera centre in mesh coordinates, intrinsics in OUTPUT pixels (pixel (x, y) has
 * its centre at (x + 0.5, y + 0.5)). */
typedef struct p3d_view {
    float rot[9];
    float pos[3];
    float fx, fy, cx, cy;
} p3d_view;

typedef struct p3d_render_opts {
    int32_t width, height; /* output frame size */
    int32_t ssaa;          /* supersampling factor 1..P3D_RENDER_MAX_SSAA (4) */
    uint8_t background[3]; /* colour where no triangle is seen (the reference: gray #808080) */
} p3d_render_opts;

typedef struct p3d_renderer p3d_renderer;

/* Checks the mesh (indices in range, finite coordinates) and the options, and plans every buffer of
 * the frame loop (device copies of the mesh on CUDA). The CPU backend reads the mesh in place: it
 * must outlive the renderer. */
/* The checks p3d_renderer_init makes on a mesh (arrays present, counts below 2^31, a positive image
 * size and fields of view in (0, pi), finite coordinates, indices in range); the viewer makes them too. */
p3d_status p3d_render_check_mesh(const p3d_mesh *m);

p3d_status p3d_renderer_init(p3d_ctx *ctx, const p3d_mesh *m, const p3d_render_opts *o, p3d_renderer **out);
/* The same for an untextured mesh whose positions and faces are also on ctx's CUDA device (xyz_dev
 * (n_vertices, 3) float, faces_dev (n_faces, 3) int32: device memory, as p3d_mesh_from_ldi_dev leaves
 * them): the renderer copies them on the device instead of uploading m's, so the device mesh is
 * rendered without a host round trip (issue 14); m (host) gives the checks, the bounds and the
 * colours. Frames are identical to p3d_renderer_init's. Without a CUDA context, or with NULL device
 * arrays, it is p3d_renderer_init. */
p3d_status p3d_renderer_init_device(p3d_ctx *ctx, const p3d_mesh *m, const float *xyz_dev, const int32_t *faces_dev,
                                    const p3d_render_opts *o, p3d_renderer **out);
void p3d_renderer_free(p3d_renderer *r);

/* Renders one frame into rgb (host memory, (height, width, 3) RGB). */
p3d_status p3d_render_frame(p3d_renderer *r, const p3d_view *v, uint8_t *rgb);
/* On a CUDA context: renders one frame and leaves it on the device; returns the renderer's device
 * buffer ((height, width, 3) RGB, valid until the next frame), queued on the context's stream. NULL
 * with *st set on failure, or P3D_ERR_UNSUPPORTED on the CPU. For encoders that take device frames
 * (video.h p3d_video_write_device). */
const uint8_t *p3d_render_frame_device(p3d_renderer *r, const p3d_view *v, p3d_status *st);

/* The mesh camera's view: identity rotation at the origin with the mesh's intrinsics (fx = W / (2
 * tan(hfov / 2)), fy likewise, principal point at the image centre), scaled to an out_w x out_h
 * output. */
p3d_view p3d_view_of_mesh(const p3d_mesh *m, int32_t out_w, int32_t out_h);

/* The mesh's axis-aligned bounding box (all zero for an empty mesh). */
void p3d_mesh_bounds(const p3d_mesh *m, float bmin[3], float bmax[3]);

/* The depth range [*znear, *zfar] every frame of view v uses: the view depths of the bounding box's
 * corners with a small margin, znear at least 1e-4 zfar (a camera inside the box). The interactive
 * viewer (view.h) uses the same range so its frames match the rasterizer's. */
void p3d_view_depth_range(const p3d_view *v, const float bmin[3], const float bmax[3], float *znear, float *zfar);

/* Depth of the scene at the image centre (the dolly zoom's anchor, spec 2.23 mean_loc_depth): the
 * nearest vertex projecting to the centre pixel (W/2, H/2) of the mesh camera, else the median vertex
 * depth. 1 for an empty mesh. */
float p3d_mesh_center_depth(const p3d_mesh *m);

/* ---- backends: internal ------------------------------------------------------------------------ */
/* Per-frame state both backends share: the raster view (SSAA-scaled intrinsics, near/far) and the
 * tile grid. */
typedef struct p3d_render_frame_setup {
    int32_t rw, rh;         /* raster size: width * s, height * s */
    int32_t tiles_x, tiles_y;
    int32_t tile_px;        /* raster samples per tile side: P3D_RENDER_TILE * s */
} p3d_render_frame_setup;

/* The CPU: meshes with at most this many faces (the compact mesh: a few hundred thousand) keep every
 * face's setup of the frame in one table (a p3d_rtri each, 160 bytes: 84 MB at the limit), made once
 * by the binning's count pass; the tiles and the resolve read it instead of setting each triangle up
 * again in every tile it touches. Larger (dense) meshes set triangles up per tile, into per-thread
 * caches. Both give the same frames (test_render). */
#define P3D_RENDER_SETUP_TABLE_MAX (1 << 19)

/* A textured mesh's atlas (tex_h, tex_w, 3) RGB as (tex_h, tex_w, 4) RGBX (4th byte 0), the layout
 * both backends sample (p3d_render_tex_bilinear_x: one word per texel); malloc'ed, NULL when out of
 * memory. */
uint8_t *p3d_render_atlas_rgbx(const p3d_mesh *m);

#ifdef P3D_HAVE_CUDA
struct p3d_cuda_ctx;
typedef struct p3d_render_cuda p3d_render_cuda;
/* Device copies of the mesh and the frame buffers; rview points at a p3d_rview (render_math.h). */
p3d_status p3d_render_cuda_init(struct p3d_cuda_ctx *ctx, const p3d_mesh *m, const p3d_render_opts *o,
                                const p3d_render_frame_setup *fs, p3d_render_cuda **out);
/* The same with the positions and faces copied from device arrays (p3d_renderer_init_device). */
p3d_status p3d_render_cuda_init_dev(struct p3d_cuda_ctx *ctx, const p3d_mesh *m, const float *xyz_dev,
                                    const int32_t *faces_dev, const p3d_render_opts *o,
                                    const p3d_render_frame_setup *fs, p3d_render_cuda **out);
void p3d_render_cuda_free(p3d_render_cuda *r);
/* rgb NULL: the frame is left in the device buffer p3d_render_cuda_frame_buffer returns. */
p3d_status p3d_render_cuda_frame(p3d_render_cuda *r, const void *rview, uint8_t *rgb);
const uint8_t *p3d_render_cuda_frame_buffer(const p3d_render_cuda *r);
#endif

#ifdef __cplusplus
}
#endif
#endif
