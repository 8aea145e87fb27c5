// pad.cu - CUDA twin of host/nn/pad.c: one thread per output element, source index from pad_math.h.
#include "nn/p3d_cuda_nn.h"
#include "nn/pad.h"
#include "nn/pad_math.h"

// y (P, hy, wy) from x (P, h, w), P = N*C planes.
static __global__ void pad_kernel(const float *x, float *y, int64_t total, int64_t h, int64_t w, int64_t hy,
                                  int64_t wy, p3d_pad_mode mode, int64_t top, int64_t left) {
    const int64_t i = P3D_NN_INDEX();
    if (i >= total) return;
    const int64_t ox = i % wy, oy = i / wy % hy, p = i / (wy * hy);
    const int64_t iy = p3d_pad_src(mode, oy, top, h), ix = p3d_pad_src(mode, ox, left, w);
    y[i] = iy < 0 || ix < 0 ? 0.0f : x[(p * h + iy) * w + ix];
}

extern "C" p3d_status p3d_pad_cuda(p3d_cuda_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, p3d_pad_mode mode,
                                   int64_t top, int64_t left) {
    const int64_t total = p3d_nn_numel(y);
    P3D_LAUNCH(pad_kernel, p3d_cuda_blocks(total, P3D_NN_THREADS), P3D_NN_THREADS, 0, ctx->stream)(
        (const float *)x->data, (float *)y->data, total, x->shape[2], x->shape[3], y->shape[2], y->shape[3], mode,
        top, left);
    P3D_CUDA_LAUNCH_CHECK(ctx, "pad");
    return P3D_OK;
}
