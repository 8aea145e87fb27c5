/* concat.c - channel concatenation: checks, CPU reference, dispatch (twin: cuda/layers/concat.cu). */
#include "layers/concat.h"

#include <stdio.h>
#include <string.h>

p3d_status p3d_concat_cpu(const p3d_tensor *const *xs, int32_t count, p3d_tensor *y) {
    const int64_t n = y->shape[0], plane = y->shape[2] * y->shape[3], cy = y->shape[1];
    for (int64_t b = 0; b < n; b++) {
        float *dst = (float *)y->data + b * cy * plane;
        for (int32_t i = 0; i < count; i++) {
            const int64_t block = xs[i]->shape[1] * plane;
            memcpy(dst, (const float *)xs[i]->data + b * block, (size_t)block * sizeof(float));
            dst += block;
        }
    }
    return P3D_OK;
}

p3d_status p3d_concat(p3d_ctx *ctx, const p3d_tensor *const *xs, int32_t count, p3d_tensor *y) {
    const p3d_mem mem = p3d_ctx_mem(ctx);
    if (count < 1) return p3d_fail(P3D_ERR_INVALID_ARG, "concat: no inputs");
    P3D_TRY(p3d_nn_check("concat", "input 0", xs[0], mem, -1, -1, -1, -1));
    int64_t channels = 0;
    for (int32_t i = 0; i < count; i++) {
        char what[32];
        snprintf(what, sizeof what, "input %d", (int)i);
        P3D_TRY(p3d_nn_check("concat", what, xs[i], mem, xs[0]->shape[0], -1, xs[0]->shape[2], xs[0]->shape[3]));
        channels += xs[i]->shape[1];
    }
    P3D_TRY(p3d_nn_check("concat", "output", y, mem, xs[0]->shape[0], channels, xs[0]->shape[2], xs[0]->shape[3]));
    for (int32_t i = 0; i < count; i++)
        if (p3d_nn_overlap(xs[i], y)) return p3d_fail(P3D_ERR_INVALID_ARG, "concat: output overlaps input %d", (int)i);
#ifdef P3D_HAVE_CUDA
    if (p3d_ctx_cuda(ctx)) return p3d_concat_cuda(p3d_ctx_cuda(ctx), xs, count, y);
#endif
    return p3d_concat_cpu(xs, count, y);
}
