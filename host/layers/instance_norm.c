/* instance_norm.c - instance normalisation: checks, CPU reference, dispatch (twin:
 * cuda/layers/instance_norm.cu). Definition: instance_norm.h. */
#include "layers/instance_norm.h"

#include "layers/instance_norm_math.h"

p3d_status p3d_instance_norm_cpu(const p3d_tensor *x, p3d_tensor *y, float eps, p3d_act act, float slope) {
    const int64_t planes = x->shape[0] * x->shape[1], hw = x->shape[2] * x->shape[3];
    const float *xs = (const float *)x->data;
    float *ys = (float *)y->data;
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
    for (int64_t p = 0; p < planes; p++) {
        const float *xp = xs + p * hw;
        float *yp = ys + p * hw;
        double sum = 0.0;
        for (int64_t i = 0; i < hw; i++) sum += (double)xp[i];
        const double mean = sum / (double)hw;
        double sq = 0.0;
        for (int64_t i = 0; i < hw; i++) sq += p3d_inorm_sq_dev(xp[i], mean);
        const double inv_std = p3d_inorm_inv_std(sq, hw, eps);
        for (int64_t i = 0; i < hw; i++) yp[i] = p3d_inorm_apply(xp[i], mean, inv_std, act, slope);
    }
    return P3D_OK;
}

p3d_status p3d_instance_norm(p3d_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, float eps, p3d_act act, float slope) {
    const p3d_mem mem = p3d_ctx_mem(ctx);
    P3D_TRY(p3d_nn_check("instance_norm", "input", x, mem, -1, -1, -1, -1));
    P3D_TRY(p3d_nn_check("instance_norm", "output", y, mem, x->shape[0], x->shape[1], x->shape[2], x->shape[3]));
    if (y->data != x->data && p3d_nn_overlap(x, y))
        return p3d_fail(P3D_ERR_INVALID_ARG, "instance_norm: input and output partly overlap");
    if (!(eps >= 0.0f)) return p3d_fail(P3D_ERR_INVALID_ARG, "instance_norm: eps %g", (double)eps);
#ifdef P3D_HAVE_CUDA
    if (p3d_ctx_cuda(ctx)) return p3d_instance_norm_cuda(p3d_ctx_cuda(ctx), x, y, eps, act, slope);
#endif
    return p3d_instance_norm_cpu(x, y, eps, act, slope);
}
