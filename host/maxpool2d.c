/* maxpool2d.c - max pooling: checks, CPU reference, dispatch (twin: cuda/maxpool2d.cu). */
#include "maxpool2d.h"

#include "maxpool2d_math.h"

p3d_status p3d_maxpool2d_out_size(int32_t kernel, int32_t stride, int32_t pad, int64_t h, int64_t w, int64_t *ho,
                                  int64_t *wo) {
    if (kernel < 1 || stride < 1 || pad < 0 || pad > kernel / 2)
        return p3d_fail(P3D_ERR_INVALID_ARG, "maxpool2d: kernel %d, stride %d, pad %d (need kernel, stride >= 1 and "
                        "0 <= pad <= kernel / 2)", (int)kernel, (int)stride, (int)pad);
    if (h + 2 * pad < kernel || w + 2 * pad < kernel)
        return p3d_fail(P3D_ERR_INVALID_ARG, "maxpool2d: %lldx%lld input is smaller than the %dx%d window",
                        (long long)h, (long long)w, (int)kernel, (int)kernel);
    *ho = (h + 2 * pad - kernel) / stride + 1;
    *wo = (w + 2 * pad - kernel) / stride + 1;
    return P3D_OK;
}

p3d_status p3d_maxpool2d_cpu(const p3d_tensor *x, p3d_tensor *y, int32_t kernel, int32_t stride, int32_t pad) {
    const int64_t planes = x->shape[0] * x->shape[1], h = x->shape[2], w = x->shape[3];
    const int64_t ho = y->shape[2], wo = y->shape[3];
    const float *xs = (const float *)x->data;
    float *ys = (float *)y->data;
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t r = 0; r < planes * ho; r++) {
        const float *xp = xs + r / ho * h * w;
        for (int64_t ox = 0; ox < wo; ox++) ys[r * wo + ox] = p3d_maxpool_at(xp, h, w, r % ho, ox, kernel, stride, pad);
    }
    return P3D_OK;
}

p3d_status p3d_maxpool2d(p3d_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, int32_t kernel, int32_t stride,
                         int32_t pad) {
    const p3d_mem mem = p3d_ctx_mem(ctx);
    int64_t ho = 0, wo = 0;
    P3D_TRY(p3d_nn_check("maxpool2d", "input", x, mem, -1, -1, -1, -1));
    P3D_TRY(p3d_maxpool2d_out_size(kernel, stride, pad, x->shape[2], x->shape[3], &ho, &wo));
    P3D_TRY(p3d_nn_check("maxpool2d", "output", y, mem, x->shape[0], x->shape[1], ho, wo));
    if (p3d_nn_overlap(x, y)) return p3d_fail(P3D_ERR_INVALID_ARG, "maxpool2d: input and output overlap");
#ifdef P3D_HAVE_CUDA
    if (p3d_ctx_cuda(ctx)) return p3d_maxpool2d_cuda(p3d_ctx_cuda(ctx), x, y, kernel, stride, pad);
#endif
    return p3d_maxpool2d_cpu(x, y, kernel, stride, pad);
}
