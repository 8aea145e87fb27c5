// upsample.cu - CUDA twin of host/layers/upsample.c: one thread per output element (upsample_math.h).
#include "layers/upsample.h"
#include "layers/upsample_math.h"
#include "nn/p3d_cuda_nn.h"

// y (P, ho, wo) from x (P, h, w); sy, sx: source scales (p3d_upsample_scale).
static __global__ void upsample_kernel(const float *x, float *y, int64_t total, int64_t h, int64_t w, int64_t ho,
                                       int64_t wo, p3d_upsample_mode mode, float sy, float sx) {
    const int64_t i = P3D_NN_INDEX();
    if (i >= total) return;
    const int64_t ox = i % wo, oy = i / wo % ho;
    const float *xp = x + i / (wo * ho) * h * w;
    if (mode == P3D_UPSAMPLE_NEAREST) {
        y[i] = xp[oy / (ho / h) * w + ox / (wo / w)];
        return;
    }
    int64_t y0, y1, x0, x1;
    float ly, lx;
    p3d_upsample_linear(mode, sy, oy, h, &y0, &y1, &ly);
    p3d_upsample_linear(mode, sx, ox, w, &x0, &x1, &lx);
    y[i] = p3d_upsample_blend(xp[y0 * w + x0], xp[y0 * w + x1], xp[y1 * w + x0], xp[y1 * w + x1], ly, lx);
}

extern "C" p3d_status p3d_upsample_cuda(p3d_cuda_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, p3d_upsample_mode mode) {
    const int64_t total = p3d_nn_numel(y), h = x->shape[2], w = x->shape[3], ho = y->shape[2], wo = y->shape[3];
    P3D_LAUNCH(upsample_kernel, p3d_cuda_blocks(total, P3D_NN_THREADS), P3D_NN_THREADS, 0, ctx->stream)(
        (const float *)x->data, (float *)y->data, total, h, w, ho, wo, mode, p3d_upsample_scale(mode, h, ho),
        p3d_upsample_scale(mode, w, wo));
    P3D_CUDA_LAUNCH_CHECK(ctx, "upsample");
    return P3D_OK;
}
