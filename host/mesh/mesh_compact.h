/* mesh_compact.h - One Shot 3D Photography's fourth stage: the inpainted LDI as a textured,
 * simplified mesh that streams and renders anywhere (Kopf et al. 2020, section 6).
 *
 *   charts   the dense mesh's vertices (one per LDI node) are grown into charts, each a face-connected
 *            set of nodes that is a height field over the image plane (no two nodes of a chart share
 *            a pixel). Growth starts from the nearest layer in raster order, so layer 0 is essentially
 *            one chart (the photo) and the inpainted layers become bands. A face whose corners fell
 *            into different charts joins the chart of one corner that has the other corners' pixels
 *            free (those corners become that chart's halo: duplicated vertices at the same position),
 *            else a chart of its own. Torn links stay open edges, as in the dense mesh.
 *   atlas    every chart's pixels (its own nodes and its halo) are copied unwarped into a rectangle of
 *            an RGB atlas (a projective atlas: texture coordinates are pixel positions offset into the
 *            atlas), with a gutter whose texels, and the chart's empty texels, are bled from their
 *            neighbours so bilinear filtering and the first mip levels never pick up another chart.
 *            Rectangles are packed with stb_rect_pack into the smallest power-of-two square that
 *            holds them (at most max_atlas; hidden layers at half resolution by default, or when they
 *            do not fit at full resolution).
 *   geometry each chart's triangles are simplified in tiles of 128 pixels, borders
 *            locked (chart borders, tears, tile edges and the image border keep every vertex, so
 *            neighbouring charts stay watertight where the dense mesh was), in the space (x, y, f * t * 1/depth) of canvas pixels: there
 *            a distance is a displacement in pixels, of the image point (x, y) or of its parallax at
 *            the largest camera shift of the trajectories (t = shift_xy + r_max / f * shift_z: a
 *            forward step moves a point at r pixels from the centre as much as a sideways step of
 *            r / f times its length), so the error bound max_error_px bounds what any preset frame
 *            shows. A tile whose result turns a triangle over in the image plane, or moves a node past
 *            the middle of its gap to the drawn node in front of or behind it at its pixel (another
 *            chart's surface: a hidden band close behind the photo's would show through it), is
 *            simplified again under a lower bound, then split in quarters down to 8 pixels. A tile's
 *            first simplification is an RTIN decimation of its grid (the coarsest right triangles of
 *            the longest-edge bisection hierarchy within the bound, only over complete cells and free
 *            vertices, so borders and tears keep every dense edge): where that keeps at most a fifth of
 *            the tile's dense faces it is the result; elsewhere the RTIN within 10% of the bound
 *            pre-decimates and meshoptimizer spends the bound less the RTIN's measured error on it
 *            (quarters go to meshoptimizer from their dense faces). The tiles
 *            run in parallel (OpenMP) with the same result for any thread count, each ending in
 *            meshoptimizer's vertex-cache order; then each chart's vertex-fetch order. The atlas is
 *            painted and resampled in parallel too (chart by chart, bands of rows), again the same
 *            bytes for any thread count.
 *   cost     (issue 17: at most 0.5 s on two cores for moon at 960) the tiles' simplification is most
 *            of it, meshoptimizer most of that. Branch compact5 (moon at 960, bench/results/README.md):
 *            the RTIN alone on every tile meets the bound but keeps 15.5% of the dense faces (10.1 MB
 *            of GLB), so meshoptimizer stays where the RTIN does not pay; 128-pixel tiles lock a
 *            quarter of the tile edges (6.2% of the faces with the old scheme, but 15% more CPU), which
 *            buys the faces the RTIN-only tiles add: 9.1% of the dense faces, 6.4 MB, frames from the
 *            GLB 38.34 dB, CPU of the stage about 0.9 s against 1.18 s at the same load (still over
 *            the 0.5 s on two cores). Stopping meshoptimizer early (a target index count of a
 *            quarter of its input) saved no time and left 12.9% of the faces. meshoptimizer gets only the vertices a call's triangles
 *            use (the 0.18 library has no sparse mode and did per-vertex work over every dense vertex
 *            of the tile). The RTIN keeps a triangle on a constant-time bound (Martini's error pyramid
 *            made strict: its midpoint's deviation plus its children's errors), rejects one whose own
 *            midpoint is off by more than the bound, and scans exactly only in between, so it keeps
 *            exactly the triangles the exact scan keeps. Its share of the bound, as a pre-decimation, stays at a tenth:
 *            a fifth halves meshoptimizer's input (moon 1.06 M -> 0.65 M triangles) but takes the
 *            sample's and moon at 480's frames below test_mesh_compact's bounds (meshoptimizer's
 *            quadric error is no maximum, so the shares do not simply add up). Every node's drawn
 *            neighbours are found once, and a region without any skips the depth-order check. The
 *            steps around the tiles are parallel or touch each face once: the vertex -> faces lists,
 *            the faces inside one chart, the sort of the faces by tile; chart growth goes through a
 *            face once per chart. The cost that was left before compact5, on one core: meshoptimizer about 0.5 s,
 *            the RTIN 0.1 s, the resampling 0.17 s, chart growth 0.07 s (bench/results/README.md).
 *            Session 7 (the same mesh and atlas, byte for byte): a tile's RTIN runs on the smallest
 *            power-of-two square from its corner that holds its faces (373 of moon's 569 tiles hold fewer
 *            than 10 faces and paid for a whole 128-pixel hierarchy), reads its grid's third coordinate
 *            directly and takes its covered cells from its leaves; the resampling copies the nearest
 *            texel where a sample lies at a texel centre (a fifth of moon's samples). Profile of what is
 *            left, one thread (perf, moon at 960): meshoptimizer about a fifth (three quarters of its
 *            input are the quarters and retries of tiles that cross another chart, from their dense
 *            faces), the resampling a fifth, chart growth a sixth, the RTIN a sixth, page faults of the
 *            fresh scratch about a tenth.
 * The result is a p3d_mesh with uv and tex set (mesh.h); rgba keeps each vertex's node colour and
 * label, for readers that ignore the texture. */
#ifndef P3D_MESH_COMPACT_H
#define P3D_MESH_COMPACT_H

#include "ldi/ldi.h"
#include "mesh/mesh.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct p3d_compact_opts {
    float max_error_px; /* simplification bound in pixels of displacement (default 0.5) */
    float shift_xy;     /* largest sideways camera translation of the trajectories, in depth units */
    float shift_z;      /* largest forward/backward translation, in depth units */
    int32_t gutter;     /* texels around each chart (default 2) */
    int32_t max_atlas;  /* largest atlas side (power of two, default 4096) */
    int32_t jpeg_quality; /* the atlas in files: JPEG of this quality (default 93), 0 = PNG (lossless) */
    int32_t hidden_scale; /* pixels per texel of the hidden layers' charts: 1, or 2 (default: half resolution) */
} p3d_compact_opts;

/* Defaults: 0.5 px, gutter 2, atlas up to 4096 as JPEG quality 93, hidden layers at half resolution; shifts of the reference's presets (circle: 0.015 in x
 * and y; dolly zoom and zoom: 0.05 forward). */
p3d_compact_opts p3d_compact_defaults(void);

typedef struct p3d_compact_stats {
    int32_t charts, halo_vertices, own_charts; /* own_charts: faces that needed a chart of their own */
    int32_t dense_tiles;                       /* 8-pixel regions left dense (flips or depth-order crossings) */
    int32_t atlas_w, atlas_h, hidden_scale;    /* hidden_scale 1, or 2 when hidden layers were halved */
    double atlas_fill;                         /* chart texels / atlas texels */
    float error_px;                            /* largest simplification error met, in pixels */
} p3d_compact_stats;

/* dense = p3d_mesh_from_ldi(l, ...) of the same LDI (vertex i is node i). out is a new textured mesh;
 * stats may be NULL. P3D_ERR_INVALID_ARG for mismatched inputs, P3D_ERR_UNSUPPORTED when the charts do
 * not fit an atlas of max_atlas even at half resolution. */
p3d_status p3d_mesh_compact(const p3d_ldi *l, const p3d_mesh *dense, const p3d_compact_opts *o, p3d_mesh *out,
                            p3d_compact_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
