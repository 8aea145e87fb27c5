/* upsample.c - integer-factor upsampling: checks, CPU reference, dispatch (twin: cuda/layers/upsample.cu). */
#include "layers/upsample.h"

#include "layers/upsample_math.h"

p3d_status p3d_upsample_cpu(const p3d_tensor *x, p3d_tensor *y, p3d_upsample_mode mode) {
    const int64_t planes = x->shape[0] * x->shape[1], h = x->shape[2], w = x->shape[3];
    const int64_t ho = y->shape[2], wo = y->shape[3], fh = ho / h, fw = wo / w;
    const float sy = p3d_upsample_scale(mode, h, ho), sx = p3d_upsample_scale(mode, w, wo);
    const float *xs = (const float *)x->data;
    float *ys = (float *)y->data;
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t r = 0; r < planes * ho; r++) {
        const int64_t oy = r % ho;
        const float *xp = xs + r / ho * h * w;
        float *dst = ys + r * wo;
        if (mode == P3D_UPSAMPLE_NEAREST) {
            const float *src = xp + oy / fh * w;
            for (int64_t ix = 0; ix < w; ix++)
                for (int64_t k = 0; k < fw; k++) dst[ix * fw + k] = src[ix];
            continue;
        }
        int64_t y0, y1, x0, x1;
        float ly, lx;
        p3d_upsample_linear(mode, sy, oy, h, &y0, &y1, &ly);
        for (int64_t ox = 0; ox < wo; ox++) {
            p3d_upsample_linear(mode, sx, ox, w, &x0, &x1, &lx);
            dst[ox] = p3d_upsample_blend(xp[y0 * w + x0], xp[y0 * w + x1], xp[y1 * w + x0], xp[y1 * w + x1], ly, lx);
        }
    }
    return P3D_OK;
}

p3d_status p3d_upsample(p3d_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, p3d_upsample_mode mode) {
    const p3d_mem mem = p3d_ctx_mem(ctx);
    P3D_TRY(p3d_nn_check("upsample", "input", x, mem, -1, -1, -1, -1));
    P3D_TRY(p3d_nn_check("upsample", "output", y, mem, x->shape[0], x->shape[1], -1, -1));
    if (y->shape[2] % x->shape[2] || y->shape[3] % x->shape[3])
        return p3d_fail(P3D_ERR_INVALID_ARG, "upsample: %lldx%lld -> %lldx%lld is not an integer factor",
                        (long long)x->shape[2], (long long)x->shape[3], (long long)y->shape[2], (long long)y->shape[3]);
    if ((unsigned)mode > (unsigned)P3D_UPSAMPLE_BILINEAR_ALIGNED)
        return p3d_fail(P3D_ERR_INVALID_ARG, "upsample: unknown mode %d", (int)mode);
    if (p3d_nn_overlap(x, y)) return p3d_fail(P3D_ERR_INVALID_ARG, "upsample: input and output overlap");
#ifdef P3D_HAVE_CUDA
    if (p3d_ctx_cuda(ctx)) return p3d_upsample_cuda(p3d_ctx_cuda(ctx), x, y, mode);
#endif
    return p3d_upsample_cpu(x, y, mode);
}
