/* fill_gather.h - builds the non-learned fill's static workspace block (label pyramids, mask lists,
 * valid source centres; fill_classic.c) in context memory from its level-0 labels, on the CPU or on the
 * device (cuda/inpaint/fill_gather.cu), with the rules of fill_gather_math.h (issue 14). On a device the
 * fill then sends up 1 byte a patch pixel for the block instead of the whole block built on the host.
 *
 *   p3d_fill_static d = {0};  d.r = patch / 2;  d.scratch = OFFSET;   // >= 4 * (max h + 1) free bytes
 *   d.lv[0] = (p3d_fill_static_level){w, h, P3D_FILL_STATIC_GIVEN, -1, 0, label, list, -1, -1};
 *   d.lv[1] = (p3d_fill_static_level){w2, h2, P3D_FILL_STATIC_DOWN, 0, 0, label2, list2, -1, -1};
 *   d.n = 2;
 *   P3D_TRY(p3d_fill_static_build(ctx, base, &d)); // base: the workspace, level 0's labels already there
 */
#ifndef P3D_FILL_GATHER_H
#define P3D_FILL_GATHER_H

#include "core/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a level gets its labels. */
#define P3D_FILL_STATIC_GIVEN 0 /* already in place (level 0, uploaded) */
#define P3D_FILL_STATIC_COPY 1  /* a copy of the labels of level `from` (same size) */
#define P3D_FILL_STATIC_DOWN 2  /* 2x2 reduction of level `from` (p3d_fill_label_down_px) */

#define P3D_FILL_STATIC_MAX 32

/* One level: byte offsets into the workspace; list < 0: no mask list; valid < 0: no source search
 * (then sources is ignored). Levels are built in order, so `from` must be an earlier level. */
typedef struct p3d_fill_static_level {
    int32_t w, h;
    int32_t how, from, all_context;
    int64_t label, list, valid, sources;
} p3d_fill_static_level;

typedef struct p3d_fill_static {
    int32_t n; /* levels, at most P3D_FILL_STATIC_MAX */
    int32_t r; /* source window radius (patch / 2) */
    int64_t scratch; /* offset of 4 * (h + 1) bytes of workspace free for the row offsets (largest h) */
    p3d_fill_static_level lv[P3D_FILL_STATIC_MAX];
} p3d_fill_static;

/* Builds every level of d in the workspace at base (context memory). Fails with P3D_ERR_INVALID_ARG on a
 * malformed description (sizes, order of `from`, too many levels). */
p3d_status p3d_fill_static_build(p3d_ctx *ctx, uint8_t *base, const p3d_fill_static *d);

/* The patch's inputs as they go up (issue 14): only its context pixels' colours and depths, in raster
 * order of the context pixels (label P3D_FILL_CONTEXT): n_ctx colours (3 u8 each when rgb8, every
 * context colour being an 8-bit value / 255 as the LDI's are; else 3 f32), then at
 * P3D_FILL_PACK_DEPTH(n_ctx, rgb8) n_ctx f32 depths. The fill never reads the other pixels' inputs
 * (fill_classic.h), and their outputs are not copied back. */
#define P3D_FILL_PACK_DEPTH(n_ctx, rgb8) (((size_t)(n_ctx) * 3 * ((rgb8) ? 1 : 4) + 15) / 16 * 16)

/* Packs the context pixels of (h, w) label / rgb (h, w, 3) / depth (h, w) (host memory) into out (at
 * least P3D_FILL_PACK_DEPTH(n, 0) + 4 n bytes, n = w * h); *n_ctx and *rgb8 describe the packing.
 * Returns the packed bytes. */
size_t p3d_fill_pack(const uint8_t *label, const float *rgb, const float *depth, int32_t w, int32_t h, uint8_t *out,
                     int32_t *n_ctx, int32_t *rgb8);

/* Unpacks (context memory): rgb (h, w, 3) and depth (h, w) take the packed values on the context pixels
 * of label (h, w) and 0 elsewhere. rows: 4 * (h + 1) bytes of scratch. */
p3d_status p3d_fill_unpack(p3d_ctx *ctx, const uint8_t *label, const uint8_t *packed, int32_t n_ctx, int32_t rgb8,
                           int32_t w, int32_t h, int32_t *rows, float *rgb, float *depth);

/* The results of a filled patch, compacted (context memory): out (P3D_FILL_RESULT_BYTES(n_mask), layout in
 * fill_gather_math.h) takes the colours rgb (h, w, 3) and depths (h, w) of the n_mask pixels of the
 * level-0 mask list `list` (raster order). On a device only these come back, not the whole patch (16
 * bytes a patch pixel). */
p3d_status p3d_fill_results_pack(p3d_ctx *ctx, const int32_t *list, int64_t n_mask, const float *rgb,
                                 const float *depth, float *out);
/* Host: the packed results -> rgb (h, w, 3) and depth (h, w) at the pixels where mask (h, w) is set, in
 * raster order (the mask list's); the other pixels are left as they are. */
void p3d_fill_results_unpack(const float *packed, int64_t n_mask, const uint8_t *mask, int32_t w, int32_t h,
                             float *rgb, float *depth);

/* A patch's inputs gathered on the device from data the caller keeps there, instead of packed on the
 * host and uploaded (issue 14: ldi/ldi_inpaint.c gathers them from the device LDI with
 * cuda/ldi/ldi_gather.cu). The fill calls run once the patch's level-0 labels are on the device: run
 * writes rgb (h, w, 3) and depth (h, w) (context memory) as p3d_fill_unpack would, the inputs on the
 * context pixels of label (h, w, context memory) and 0 elsewhere; tmp: w * h bytes and rows:
 * 4 * (h + 1) bytes of device scratch. *done = 0 when it cannot (its data is not on the device as
 * the host has it): the fill then uploads the packed inputs.
 * results (set by the fill on a device, NULL before): the patch's results there, packed as
 * p3d_fill_results_pack (its mask pixels' colours, then depths), in the context's scratch, valid until
 * the scratch is next reserved; the caller may read them on the device instead of sending them back
 * up (ldi/: the colours of a pass's new nodes). */
typedef struct p3d_fill_gather {
    p3d_status (*run)(void *arg, p3d_ctx *ctx, const uint8_t *label, int32_t w, int32_t h, uint8_t *tmp,
                      int32_t *rows, float *rgb, float *depth, int32_t *done);
    void *arg;
    const float *results;
    /* NULL, or: makes the level-0 labels (h, w) at label AND the inputs rgb / depth (as run writes them)
     * on the device from the caller's device data, instead of the labels' upload and run (ldi/: the
     * source rules on the device LDI, cuda/ldi/ldi_sources.cu); tmp: tmp_bytes of device scratch, free
     * until the static block is built. *done = 0 when it cannot (nothing queued): the fill then uploads
     * the labels and calls run. */
    p3d_status (*inputs)(void *arg, p3d_ctx *ctx, uint8_t *label, int32_t w, int32_t h, uint8_t *tmp, size_t tmp_bytes,
                         float *rgb, float *depth, int32_t *done);
} p3d_fill_gather;

#ifdef P3D_HAVE_CUDA
struct p3d_cuda_ctx;
/* rows[y] (y < h; rows holds h + 1) = the context pixels (P3D_FILL_CONTEXT) of label (h, w) before
 * row y: the offsets at which a row's context pixels take packed per-pixel entries
 * (p3d_fill_unpack_cuda; cuda/ldi/ldi_gather.cu). Queued on the context's stream. */
p3d_status p3d_fill_context_rows_cuda(struct p3d_cuda_ctx *ctx, const uint8_t *label, int32_t w, int32_t h,
                                      int32_t *rows);
/* The device packing of p3d_fill_results_pack, queued on the context's stream. */
p3d_status p3d_fill_results_pack_cuda(struct p3d_cuda_ctx *ctx, const int32_t *list, int64_t n_mask, const float *rgb,
                                      const float *depth, float *out);
/* The device unpacking of p3d_fill_unpack, queued on the context's stream. */
p3d_status p3d_fill_unpack_cuda(struct p3d_cuda_ctx *ctx, const uint8_t *label, const uint8_t *packed, int32_t n_ctx,
                                int32_t rgb8, int32_t w, int32_t h, int32_t *rows, float *rgb, float *depth);
/* The device build of p3d_fill_static_build (d already checked), queued on the context's stream. */
p3d_status p3d_fill_static_cuda(struct p3d_cuda_ctx *ctx, uint8_t *base, const p3d_fill_static *d);
#endif

#ifdef __cplusplus
}
#endif
#endif
