/* ldi_stages.h - the LDI stages of the pipeline (issue 5, reference spec 2.4-2.19), each a pass over
 * the flat LDI arrays (ldi.h):
 *
 *   p3d_ldi_build      one node per pixel, 4-links torn at disparity jumps, the dangling-link pass,
 *                      components under min_component nodes dropped and refilled from their
 *                      surroundings (spec 2.4-2.8, 2.11)
 *   p3d_ldi_edges      near/far roles and depth-edge components; short-edge removal and end joining
 *                      (spec 2.7, 2.9, 2.10, 2.13, 2.14)
 *   p3d_ldi_regions    context and synthesis regions of every edge at once (spec 2.16)
 *   (ldi_inpaint.c)    batched inpainting of the regions and the border (spec 2.15, 2.17, 2.18)
 *
 * Each stage has a _ctx variant that runs on the context's device (cuda/ldi/ldi.cu on a CUDA context:
 * the tear rule, components, roles, edge components and the region rings as data-parallel passes,
 * with the same results as the CPU, bit for bit); the plain names are the CPU reference (ctx NULL).
 * The per-element decisions both backends make are in ldi_graph_math.h.
 *
 * Where the reference's bookkeeping depends on Python set order or has bugs (spec section 7), the
 * choice made is stated at the code that makes it. */
#ifndef P3D_LDI_STAGES_H
#define P3D_LDI_STAGES_H

#include "core/backend.h"
#include "ldi/ldi.h"
#include "ldi/ldi_graph_math.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct p3d_ldi_opts {
    float depth_threshold;        /* 0.04: disparity jump that tears a link */
    int32_t min_component;        /* 200: smaller connected components are dropped and refilled; pixels
                                     at a 960-px longer side, scaled with the area (p3d_ldi_min_component) */
    int32_t redundant_number;     /* 12: depth edges of at most this many nodes may be removed */
    int32_t background_thickness; /* 70: synthesis rings, pass 1 */
    int32_t context_thickness;    /* 140: context rings, pass 1 (and border context width) */
    int32_t background_thickness_2; /* 70: pass 2 */
    int32_t context_thickness_2;    /* 70: pass 2 */
    int32_t depth_edge_dilate;    /* 10: most context rings re-coloured next to an edge (pass 1) */
    int32_t border;               /* 60: extrapolated border width, at least; 0 = no border */
    float border_cover[3];        /* 0.015 0.015 0.05: the largest camera move (|x|, |y|, |z|, mesh
                                     units) the border must cover: the presets' (trajectory.h); the
                                     border grows to it (p3d_ldi_border_needed); 0 0 0 = fixed */
    float border_crop;            /* 0.03: fraction of each frame side the renderer's crop hides */
    int32_t largest_size;         /* 512: colour patches are downscaled to about this geometric mean */
    float ext_edge_threshold;     /* 0.002: threshold on the edge net's sigmoid output */
    int32_t repeat_inpaint_edge;  /* 1: the edge net runs twice more on its own output */
    int32_t crop_dilate;          /* 20: patch crop = region bounding boxes grown by this */
    int32_t passes;               /* 2: inpainting passes (the reference's two iterations) */
} p3d_ldi_opts;

/* The reference's argument.yml values. */
p3d_ldi_opts p3d_ldi_opts_default(void);

/* Builds the input layer of l (already p3d_ldi_init'ed with its border, no nodes) from the
 * processing image rgb (H, W, 3) and depth (H, W) (> 0). With a border the outermost image ring
 * first takes the depth of the ring inside it (spec 2.12 refresh_bord_depth: the ring's depth is
 * unreliable). Stats: nodes dropped with small components and refilled. */
typedef struct p3d_ldi_build_stats {
    int32_t torn_links, dangling_links, small_components, refilled_pixels, unreachable_pixels;
} p3d_ldi_build_stats;
p3d_status p3d_ldi_build(p3d_ldi *l, const uint8_t *rgb, const float *depth, const p3d_ldi_opts *o,
                         p3d_ldi_build_stats *stats);
/* On a CUDA context the tear and dangling pass, the components, the keep flags and the island refill
 * run on the device (p3d_ldi_build_links_cuda); the host writes its LDI's nodes from the results.
 * depth_dev: NULL, or on a CUDA context the same map on the device, as the depth stage left it there
 * (the photo's staging slot, pipeline/photo3d.c): the device build reads it instead of an upload of depth (issue 14). The
 * host still reads depth: it checks it and takes its kept pixels' depths from it. P3D_LDI_RESIDENT_CHECK=1
 * in the environment: the host also builds the grid on the CPU and fails on any difference (tests). */
p3d_status p3d_ldi_build_ctx(p3d_ctx *ctx, p3d_ldi *l, const uint8_t *rgb, const float *depth, const float *depth_dev,
                             const p3d_ldi_opts *o, p3d_ldi_build_stats *stats);

/* Depth edges: components of discontinuity nodes (nodes with fewer than 4 links inside the image
 * box, or inside the whole canvas once the border exists). A node is on the NEAR (foreground) side
 * when an unlinked neighbour position holds a farther node, on the far side otherwise. edge[node] =
 * edge id or -1; near[e] = 1 for near-side edges (the ones whose hidden side gets inpainted). */
typedef struct p3d_ldi_edges {
    int32_t n_edges;
    int32_t n_nodes;   /* nodes of the LDI when computed */
    int32_t *edge;     /* (n_nodes) */
    uint8_t *near;     /* (n_edges) */
    int32_t *size;     /* (n_edges) nodes per edge */
} p3d_ldi_edges;

/* Which nodes may take part: iter_min..iter_max of l->iter (pass 1: 0..0; pass 2: 1..1). */
p3d_status p3d_ldi_edges_find(const p3d_ldi *l, const p3d_ldi_opts *o, int32_t iter_min, int32_t iter_max,
                              p3d_ldi_edges *out);
p3d_status p3d_ldi_edges_find_ctx(p3d_ctx *ctx, const p3d_ldi *l, const p3d_ldi_opts *o, int32_t iter_min,
                                  int32_t iter_max, p3d_ldi_edges *out);
void p3d_ldi_edges_free(p3d_ldi_edges *e);

/* The reference's cleanup of the input layer (spec 2.10, 2.13, 2.14): near-side and far-side edges of
 * at most redundant_number nodes with a free end are healed (their torn links to layer-0 neighbours
 * re-made), 4-adjacent end points of different edges are joined; edges are then found again.
 * Stats: edges removed, end points joined. */
p3d_status p3d_ldi_cleanup(p3d_ldi *l, const p3d_ldi_opts *o, p3d_ldi_edges *edges, int32_t *removed,
                           int32_t *joined);
/* The two edge searches and the link edits between them on the context's device (the edits' rules
 * decide each pixel pair from the links before any edit, ldi_graph_math.h, so the device makes them in
 * any order; the host receives the list of edits). */
p3d_status p3d_ldi_cleanup_ctx(p3d_ctx *ctx, p3d_ldi *l, const p3d_ldi_opts *o, p3d_ldi_edges *edges,
                               int32_t *removed, int32_t *joined);

/* Context and synthesis regions (spec 2.16) of every near-side edge at once: multi-source
 * breadth-first rings over the LDI links. Per node: mask_edge = the edge whose synthesis region
 * holds it (-1), ctx_edge = the edge whose context holds it, ring numbers, and erode = 1 for
 * context nodes whose colour is re-synthesised. Where regions of different edges meet, the node goes
 * to the region that reached it in the earlier ring, ties to the smaller edge id (deterministic; the
 * reference's outcome depends on Python set order, quirk 34). */
typedef struct p3d_ldi_regions {
    int32_t n_nodes;
    int32_t *mask_edge;  /* (n_nodes) edge synthesised at this node's pixel, or -1 */
    int32_t *ctx_edge;   /* (n_nodes) edge whose context this node is, or -1 */
    uint8_t *erode;      /* (n_nodes) 1: context node whose colour the edge re-synthesises */
    int32_t n_edges;
    int32_t *n_mask;     /* (n_edges) synthesis nodes per edge */
    int32_t *n_ctx;      /* (n_edges) context nodes per edge (erode included) */
} p3d_ldi_regions;

/* pass 0 or 1 (thicknesses, growth over layer-0 or pass-1 nodes, erosion only in pass 0). */
p3d_status p3d_ldi_regions_find(const p3d_ldi *l, const p3d_ldi_edges *e, const p3d_ldi_opts *o, int32_t pass,
                                p3d_ldi_regions *out);
p3d_status p3d_ldi_regions_find_ctx(p3d_ctx *ctx, const p3d_ldi *l, const p3d_ldi_edges *e, const p3d_ldi_opts *o,
                                    int32_t pass, p3d_ldi_regions *out);
void p3d_ldi_regions_free(p3d_ldi_regions *r);

/* New nodes [first, first + count) whose colours the fill left on the device: colours (count, 3) f32 in
 * [0, 1], the nodes' in order (p3d_fill_gather.results), stored as p3d_ldi_colour_u8 makes them
 * (p3d_ldi_pass_nodes_cuda). Declared in every build: the host's write-back collects them. */
typedef struct p3d_ldi_colour_run {
    int32_t first, count;
    const float *colours;
} p3d_ldi_colour_run;

/* The pixels of an inpainting pass's new nodes as their patches' masks, in the write-back's order
 * (p3d_ldi_pass_nodes_cuda): patch i's crop is box[4i .. 4i + 3] = (x0, y0, w, h) on the canvas, its
 * mask (h, w) in raster order as bits (pixel j: bit j % 8 of byte at[i] + j / 8 of bits); at[n] = the
 * bytes of all. The pass's nodes are the set bits in order, patch after patch, so the device finds each
 * node's pixel by a prefix sum over the bits (1 bit a crop pixel instead of 4 bytes a node). Declared in
 * every build: the host's write-back collects them. */
typedef struct p3d_ldi_pass_masks {
    int32_t n;
    const int32_t *box;
    const int64_t *at;
    const uint8_t *bits;
} p3d_ldi_pass_masks;

#ifdef P3D_HAVE_CUDA
/* CUDA twins (cuda/ldi/ldi.cu); host arrays in and out, the LDI uploaded once per call. Their device
 * buffers come from the context's arena (cuda/p3d_cuda.h); plan sizes it for a w x h image with o's
 * border and context thickness before the first stage, so the stages of an image allocate nothing
 * unless its LDI outgrows the estimate (the arena then grows once and keeps that size). */
p3d_status p3d_ldi_cuda_plan(struct p3d_cuda_ctx *ctx, int32_t w, int32_t h, const p3d_ldi_opts *o);
/* The device LDI of one image (issue 14): between begin and end the stages' launchers work on one copy
 * of the LDI that stays on the device, at the bottom of the arena; before each stage only what the host
 * stages changed since the previous one goes up (chunks that differ from a host shadow of the copy,
 * and the appended nodes). begin after plan, end after the image's last stage (also on failure). */
p3d_status p3d_ldi_cuda_resident_begin(struct p3d_cuda_ctx *ctx, int32_t w, int32_t h, const p3d_ldi_opts *o);
void p3d_ldi_cuda_resident_end(struct p3d_cuda_ctx *ctx);
/* The photo (h, w, 3) the build's input layer takes its colours from on the device: rgb_dev, where the
 * pipeline uploaded it (pipeline/photo3d.c), and rgb, the same photo on the host (for the host's
 * shadow of the copy), both valid until end. After begin; without it (or with either NULL) the build
 * writes colour 0 and the first sync sends the host's colours. */
void p3d_ldi_cuda_resident_photo(struct p3d_cuda_ctx *ctx, const uint8_t *rgb, const uint8_t *rgb_dev);
/* Brings the device LDI up to date with l now (what the next stage would do first); nothing without one. */
p3d_status p3d_ldi_cuda_resident_sync(struct p3d_cuda_ctx *ctx, const p3d_ldi *l);
/* 1 with *v the device LDI's arrays (device pointers; label NULL) when the device LDI holds l's nodes
 * as the host has them (synced, or made on the device, at l->n_nodes nodes since the host's last
 * change); else 0. */
int p3d_ldi_cuda_resident_current(struct p3d_cuda_ctx *ctx, const p3d_ldi *l, p3d_ldi *v);
/* A patch's non-learned fill inputs gathered from the device LDI (cuda/ldi/ldi_gather.cu, the rule of
 * ldi_gather_math.h): the patch is the canvas crop at (x0, y0), w x h; label (h, w) its fill labels and
 * layers the layer byte of each context pixel (P3D_FILL_CONTEXT) in raster order, both on the device;
 * rgb (h, w, 3) and depth (h, w) take the context pixels' nodes' inputs (p3d_ldi_gather_px) and 0
 * elsewhere, as p3d_fill_unpack. rows: 4 * (h + 1) bytes of device scratch. *done = 0 (nothing queued)
 * when the device LDI does not hold l (p3d_ldi_cuda_resident_current). */
p3d_status p3d_ldi_gather_cuda(struct p3d_cuda_ctx *ctx, const p3d_ldi *l, int32_t x0, int32_t y0, int32_t w, int32_t h,
                               const uint8_t *label, const uint8_t *layers, int32_t *rows, float *rgb, float *depth,
                               int32_t *done);
/* The non-learned fill's source rules on the device (cuda/ldi/ldi_sources.cu; the host's p3d_ldi_sources,
 * ldi_inpaint.h, with the same arguments, on the device): f, depth, occ, rgb as there; sums (device)
 * holds the occluder's colour moments in .fg and the rest as p3d_ldi_src_sums_init leaves it; label
 * (h, w) takes the fill's labels (P3D_FILL_CONTEXT on the colour sources, P3D_FILL_MASK, else
 * P3D_FILL_UNKNOWN). Queued on the context's stream, no host wait. */
struct p3d_ldi_src_sums;
p3d_status p3d_ldi_sources_cuda(struct p3d_cuda_ctx *ctx, int32_t w, int32_t h, int32_t id, float thr, uint8_t *f,
                                const float *depth, const float *occ, const float *rgb, struct p3d_ldi_src_sums *sums,
                                uint8_t *label);
/* Device scratch p3d_ldi_sources_gather_cuda needs for a w x h patch. */
size_t p3d_ldi_sources_scratch(int32_t w, int32_t h);
/* A patch's fill labels and inputs made on the device from the device LDI: code (host) holds each
 * pixel's p3d_ldi_src_code (its crop flags and its node's layer at its pixel), one byte a pixel (h, w),
 * or with nibbles two a byte ((w * h + 1) / 2 bytes, p3d_ldi_src_nibble), and goes up; the device
 * reads the nodes' colours and depths (p3d_ldi_gather_px) and the occluder's depths and colours, runs
 * the source rules and writes label (h, w), and rgb (h, w, 3) and depth (h, w) on the labels' context,
 * 0 elsewhere (as p3d_ldi_gather_cuda). tmp: tmp_bytes of device scratch. *done = 0 (nothing queued)
 * when the device LDI does not hold l (p3d_ldi_cuda_resident_current) or tmp is too small. */
p3d_status p3d_ldi_sources_gather_cuda(struct p3d_cuda_ctx *ctx, const p3d_ldi *l, int32_t x0, int32_t y0, int32_t w,
                                       int32_t h, int32_t id, float thr, const uint8_t *code, int32_t nibbles,
                                       uint8_t *tmp, size_t tmp_bytes, uint8_t *label, float *rgb, float *depth, int32_t *done);
/* The border's nodes made on the device (p3d_ldi_extrapolate): l's nodes [first, n_nodes) are the pixels
 * of the rects (x0, y0, x1, y1 each, canvas pixels, at most 8) in order, each rect in raster order, each
 * alone at its pixel, joined by link_new (iteration 0); the device LDI was synced at first nodes
 * (p3d_ldi_cuda_resident_sync before the border). Up go their depths; the device writes the nodes and
 * replays link_new (p3d_ldi_new_link_pair). Without a device LDI, or when l does not match that
 * description, nothing happens here and the next stage's sync sends the nodes as chunks. *made (unless
 * NULL): 1 when the device made them. */
p3d_status p3d_ldi_border_nodes_cuda(struct p3d_cuda_ctx *ctx, const p3d_ldi *l, int32_t first, const int32_t *rects,
                                     int32_t n_rects, float thr, int32_t *made);
/* An inpainting pass's nodes made on the device (p3d_ldi_inpaint_pass): l's nodes [first, n_nodes) are
 * the pass's (iteration iter), placed behind older layers and linked to older nodes by the host, then
 * joined by link_new; the device LDI was synced at first nodes. Up go their depths and their links to
 * older nodes; their pixels as masks (NULL: as pixels; also when masks' set bits are not exactly the
 * new nodes' pixels in order, or are not fewer bytes); their colours unless runs (n_runs, in node
 * order) cover the new nodes exactly: the device then takes the colours from there. The device inserts
 * them into the pixel lists and replays link_new. Without a device LDI, or when l does not match that
 * description, nothing happens here (the next sync sends the nodes as chunks). *made as above. */
p3d_status p3d_ldi_pass_nodes_cuda(struct p3d_cuda_ctx *ctx, const p3d_ldi *l, int32_t first, uint8_t iter, float thr,
                                   const p3d_ldi_colour_run *runs, int32_t n_runs, const p3d_ldi_pass_masks *masks,
                                   int32_t *made);
/* build: depth (l->height, l->width) as refreshed (host) -> right / down link flags (h, w) after the
 * dangling pass and the island refill, the dropped pixels' refilled depths written into depth, and
 * torn_links, dangling_links, small_components, refilled_pixels and unreachable_pixels of st: the
 * tear, components, keep flags and island refill (cuda/ldi/ldi_refill.cu) all run on the device, with
 * the rules of the CPU build (ldi_graph_math.h, ldi_build_math.h). Back come the flags (one byte a
 * pixel) and the depths of the dropped pixels only. With the resident device LDI held (below), the
 * device also writes l's input layer (ldi_build_math.h) into it, so the first stage after the build
 * sends only the cleanup's changes. l is not changed (the host writes its nodes from the results).
 * depth_dev: NULL (depth goes up), or the map on the device before the ring refresh, which the device
 * then applies itself (p3d_ldi_ring_depth); depth is then read only for its kept pixels (theirs are the
 * device's) and the host's shadow of the device LDI. */
p3d_status p3d_ldi_build_links_cuda(struct p3d_cuda_ctx *ctx, const p3d_ldi *l, float *depth, const float *depth_dev,
                                    const p3d_ldi_opts *o, uint8_t *right, uint8_t *down, p3d_ldi_build_stats *st);
/* edges: out->edge (n_nodes, allocated by the caller); out->near and out->size allocated (malloc) and
 * filled, out->n_edges set. The device sends back only the nodes with a role (their edge ids) and the
 * per-edge arrays, not per-node arrays. */
p3d_status p3d_ldi_edges_cuda(struct p3d_cuda_ctx *ctx, const p3d_ldi *l, const p3d_ldi_box *box, float threshold,
                              p3d_ldi_edges *out);
/* The cleanup's first edge search and its link edits (p3d_ldi_cleanup_ctx, the rules of
 * ldi_graph_math.h) on the device LDI (or a copy of l when none is held): the edits are made in the
 * device LDI, and only their list (8 bytes an edit) and the counts come back, which the host applies
 * to l (and to its shadow of the device LDI, so the next stage sends nothing for them). *removed: short
 * edges removed; *joined: ends joined. */
p3d_status p3d_ldi_cleanup_cuda(struct p3d_cuda_ctx *ctx, p3d_ldi *l, const p3d_ldi_box *box, float threshold,
                                int32_t redundant, int32_t *removed, int32_t *joined);
/* regions: out's arrays allocated by the caller (erode, n_mask, n_ctx zeroed) and filled. */
p3d_status p3d_ldi_regions_cuda(struct p3d_cuda_ctx *ctx, const p3d_ldi *l, const p3d_ldi_edges *e,
                                const p3d_ldi_ring_plan *plan, p3d_ldi_regions *out);
#endif

#ifdef __cplusplus
}
#endif
#endif
