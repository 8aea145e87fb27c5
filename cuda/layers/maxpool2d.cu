// maxpool2d.cu - CUDA twin of host/layers/maxpool2d.c: one thread per output element (maxpool2d_math.h).
#include "layers/maxpool2d.h"
#include "layers/maxpool2d_math.h"
#include "nn/p3d_cuda_nn.h"

// y (P, ho, wo) from x (P, h, w), P = N*C planes.
static __global__ void maxpool_kernel(const float *x, float *y, int64_t total, int64_t h, int64_t w, int64_t ho,
                                      int64_t wo, int32_t k, int32_t stride, int32_t pad) {
    const int64_t i = P3D_NN_INDEX();
    if (i >= total) return;
    const int64_t ox = i % wo, oy = i / wo % ho;
    y[i] = p3d_maxpool_window(x + i / (wo * ho) * h * w, h, w, oy * stride - pad, ox * stride - pad, k);
}

extern "C" p3d_status p3d_maxpool2d_cuda(p3d_cuda_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, int32_t k,
                                         int32_t stride, int32_t pad) {
    const int64_t total = p3d_nn_numel(y);
    P3D_LAUNCH(maxpool_kernel, p3d_cuda_blocks(total, P3D_NN_THREADS), P3D_NN_THREADS, 0, ctx->stream)(
        (const float *)x->data, (float *)y->data, total, x->shape[2], x->shape[3], y->shape[2], y->shape[3], k, stride,
        pad);
    P3D_CUDA_LAUNCH_CHECK(ctx, "maxpool2d");
    return P3D_OK;
}
