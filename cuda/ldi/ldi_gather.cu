// ldi_gather.cu - CUDA twin of the host's patch crop for the non-learned fill's inputs (issue 14): a
// patch's context colours and depths are read from the device LDI (the resident copy, cuda/ldi/ldi.cu)
// with the per-pixel rule of host/ldi/ldi_gather_math.h that the host's crop uses (ldi_inpaint.c
// set_context, strip_patch), so they equal the host's crop bit for bit. Up goes one byte per context
// pixel, the layer of its node at the pixel, instead of the node's packed colour and depth (7 bytes,
// p3d_fill_pack). The labels come from the host here: this is the way of a patch that
// cuda/ldi/ldi_sources.cu cannot make on the device (a node deeper than P3D_LDI_SRC_MAX_LAYER).
//
// Rows as p3d_fill_unpack_cuda: the context pixels before each row (p3d_fill_context_rows_cuda), then
// one thread a row walks it, its context pixels taking the layer bytes from the row's offset on.
#include "inpaint/fill_classic_math.h"
#include "inpaint/fill_gather.h"
#include "ldi/ldi_gather_math.h"
#include "ldi/ldi_stages.h"
#include "p3d_cuda_check.h"

#define P3D_LDI_GATHER_THREADS 128

// Row y of the crop: context pixel number k of the patch (raster order) takes its node's colour and
// depth, its node being layer layers[k] of its canvas pixel; every other pixel 0.
static __global__ void gather_row_kernel(const p3d_ldi v, int32_t x0, int32_t y0, int32_t w, int32_t h,
                                         const uint8_t *label, const uint8_t *layers, const int32_t *rows, float *rgb,
                                         float *depth) {
    const int32_t y = static_cast<int32_t>(blockIdx.x * blockDim.x + threadIdx.x);
    if (y >= h) return;
    int64_t k = rows[y];
    for (int32_t x = 0; x < w; x++) {
        const int64_t i = static_cast<int64_t>(y) * w + x;
        const int32_t a = label[i] == P3D_FILL_CONTEXT
                              ? p3d_ldi_layer_node(v.head, v.next, static_cast<int64_t>(y + y0) * v.ext_w + (x + x0),
                                                   layers[k++])
                              : -1;
        if (a >= 0) {
            p3d_ldi_gather_px(v.rgb, v.depth, a, rgb + 3 * i, depth + i);
        } else {
            for (int32_t c = 0; c < 3; c++) rgb[3 * i + c] = 0.0f;
            depth[i] = 0.0f;
        }
    }
}

extern "C" p3d_status p3d_ldi_gather_cuda(p3d_cuda_ctx *ctx, const p3d_ldi *l, int32_t x0, int32_t y0, int32_t w,
                                          int32_t h, const uint8_t *label, const uint8_t *layers, int32_t *rows,
                                          float *rgb, float *depth, int32_t *done) {
    *done = 0;
    if (w < 1 || h < 1 || x0 < 0 || y0 < 0 || x0 + w > l->ext_w || y0 + h > l->ext_h)
        return p3d_fail(P3D_ERR_INVALID_ARG, "LDI gather (cuda): crop %dx%d at (%d, %d) outside the %dx%d canvas", (int)w,
                        (int)h, (int)x0, (int)y0, (int)l->ext_w, (int)l->ext_h);
    p3d_ldi v;
    if (!p3d_ldi_cuda_resident_current(ctx, l, &v)) return P3D_OK;
    P3D_TRY(p3d_fill_context_rows_cuda(ctx, label, w, h, rows));
    P3D_LAUNCH(gather_row_kernel, p3d_cuda_blocks(h, P3D_LDI_GATHER_THREADS), P3D_LDI_GATHER_THREADS, 0, ctx->stream)(
        v, x0, y0, w, h, label, layers, rows, rgb, depth);
    P3D_CUDA_LAUNCH_CHECK(ctx, "LDI gather");
    *done = 1;
    return P3D_OK;
}
