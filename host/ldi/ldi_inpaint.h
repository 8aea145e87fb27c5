/* ldi_inpaint.h - inpainting of the LDI's hidden layers and of its border (spec 2.15, 2.17, 2.18),
 * with the three networks (learned fill) or the non-learned fill (fill_classic.h).
 *
 *   p3d_ldi_nets nets = {edge, depth, color};          // all NULL: the non-learned fill
 *   P3D_TRY(p3d_ldi_extrapolate(ctx, &nets, &l, &edges, &o, &st));   // 60-px border, 8 strips
 *   P3D_TRY(p3d_ldi_inpaint_pass(ctx, &nets, &l, &edges, &regions, 0, &o, &st));
 *
 * Each region (one per near-side depth edge) becomes a patch: the crop of its synthesis region and
 * context grown by crop_dilate pixels. Patches whose padded size (multiples of 128) agree run through
 * a network together, as one batch; the non-learned fill takes all patches in one call. Results are
 * written back as new nodes behind the existing layers of their pixels, linked to their context and
 * to each other unless the predicted depth jumps (the tear rule). */
#ifndef P3D_LDI_INPAINT_H
#define P3D_LDI_INPAINT_H

#include "core/backend.h"
#include "inpaint/inpaint_nets.h"
#include "ldi/ldi_sources_math.h"
#include "ldi/ldi_stages.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct p3d_ldi_nets {
    p3d_inpaint_net *edge, *depth, *color; /* all set (learned fill) or all NULL (non-learned fill) */
} p3d_ldi_nets;

typedef struct p3d_ldi_inpaint_stats {
    int32_t patches;        /* regions / border strips filled */
    int32_t net_calls[3];   /* batched forward calls of the edge, depth and colour nets */
    int32_t batches_items[3]; /* patches that went through each net */
    int32_t new_nodes;      /* nodes added */
    int32_t recoloured;     /* context nodes re-coloured (erosion) */
    int64_t patch_pixels;   /* sum of patch areas */
} p3d_ldi_inpaint_stats;

/* One inpainting pass (0 or 1) over the regions r of edges e. */
p3d_status p3d_ldi_inpaint_pass(p3d_ctx *ctx, const p3d_ldi_nets *nets, p3d_ldi *l, const p3d_ldi_edges *e,
                                const p3d_ldi_regions *r, int32_t pass, const p3d_ldi_opts *o,
                                p3d_ldi_inpaint_stats *st);

/* Fills the canvas margin (l->border pixels wide; l must have its input layer and nothing in the
 * margin) in the reference's 8 strips: the four sides from context_thickness image pixels, then the
 * four corners from the sides. e: the input layer's edges (near-side edges reaching a side guide the
 * edge net there). New nodes get label P3D_LABEL_BORDER and iter 0. */
p3d_status p3d_ldi_extrapolate(p3d_ctx *ctx, const p3d_ldi_nets *nets, p3d_ldi *l, const p3d_ldi_edges *e,
                               const p3d_ldi_opts *o, p3d_ldi_inpaint_stats *st);

/* The non-learned fill's source rules (ldi_sources_math.h; reference for cuda/ldi/ldi_sources.cu) over a
 * patch: f (h, w) holds each pixel's input flags (P3D_LDI_SRC_CTX, _ERODE, _MASK, _SYNTH) and takes the
 * rules' bits (_FG, _SUP, _SRC: the fill's sources, _CSRC: its colour sources); depth (h, w) on the
 * context, occ (h, w) the occluder's depth on the mask (0: none), rgb (h, w, 3) in [0, 1] on the
 * context, 8-bit values / 255; fg the occluder's colour moments; id < 0 for a border strip. Returns 0
 * on allocation failure. */
int32_t p3d_ldi_sources(uint8_t *f, const float *depth, const float *occ, const float *rgb, int32_t w, int32_t h,
                        int32_t id, float thr, const p3d_ldi_src_moments *fg);

#ifdef __cplusplus
}
#endif
#endif
