/* maxpool2d.c - max pooling: checks, CPU reference, dispatch (twin: cuda/layers/maxpool2d.cu). */
#include "layers/maxpool2d.h"

#include "layers/maxpool2d_math.h"

p3d_status p3d_maxpool2d_out_size(int32_t k, int32_t stride, int32_t pad, int64_t h, int64_t w, int64_t *ho,
                                  int64_t *wo) {
    if (k < 1 || stride < 1 || pad < 0 || pad > k / 2)
        return p3d_fail(P3D_ERR_INVALID_ARG, "maxpool2d: kernel %d, stride %d, padding %d: need kernel >= 1, "
                        "stride >= 1 and 0 <= padding <= kernel / 2", (int)k, (int)stride, (int)pad);
    if (h + 2 * pad < k || w + 2 * pad < k)
        return p3d_fail(P3D_ERR_INVALID_ARG, "maxpool2d: a %lldx%lld input padded by %d is smaller than the %dx%d "
                        "kernel", (long long)h, (long long)w, (int)pad, (int)k, (int)k);
    *ho = (h + 2 * pad - k) / stride + 1;
    *wo = (w + 2 * pad - k) / stride + 1;
    return P3D_OK;
}

p3d_status p3d_maxpool2d_cpu(const p3d_tensor *x, p3d_tensor *y, int32_t k, int32_t stride, int32_t pad) {
    const int64_t h = x->shape[2], w = x->shape[3], ho = y->shape[2], wo = y->shape[3];
    const int64_t rows = y->shape[0] * y->shape[1] * ho;
    const float *xs = (const float *)x->data;
    float *ys = (float *)y->data;
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t r = 0; r < rows; r++) {
        const float *plane = xs + r / ho * h * w;
        const int64_t y0 = r % ho * stride - pad;
        for (int64_t ox = 0; ox < wo; ox++) ys[r * wo + ox] = p3d_maxpool_window(plane, h, w, y0, ox * stride - pad, k);
    }
    return P3D_OK;
}

p3d_status p3d_maxpool2d(p3d_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, int32_t k, int32_t stride, int32_t pad) {
    const p3d_mem mem = p3d_ctx_mem(ctx);
    P3D_TRY(p3d_nn_check("maxpool2d", "input", x, mem, -1, -1, -1, -1));
    int64_t ho = 0, wo = 0;
    P3D_TRY(p3d_maxpool2d_out_size(k, stride, pad, x->shape[2], x->shape[3], &ho, &wo));
    P3D_TRY(p3d_nn_check("maxpool2d", "output", y, mem, x->shape[0], x->shape[1], ho, wo));
    if (p3d_nn_overlap(x, y)) return p3d_fail(P3D_ERR_INVALID_ARG, "maxpool2d: input and output overlap");
#ifdef P3D_HAVE_CUDA
    if (p3d_ctx_cuda(ctx)) return p3d_maxpool2d_cuda(p3d_ctx_cuda(ctx), x, y, k, stride, pad);
#endif
    return p3d_maxpool2d_cpu(x, y, k, stride, pad);
}
