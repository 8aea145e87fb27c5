// eltwise.cu - CUDA twin of host/layers/eltwise.c: one thread per element, formulas from nn_math.h and
// eltwise_math.h.
#include "layers/eltwise.h"
#include "layers/eltwise_math.h"
#include "nn/p3d_cuda_nn.h"

static __global__ void activation_kernel(const float *x, float *y, int64_t total, p3d_act act, float slope) {
    const int64_t i = P3D_NN_INDEX();
    if (i < total) y[i] = p3d_act_apply(act, slope, x[i]);
}

static __global__ void binary_kernel(p3d_binary_op op, const float *a, const float *b, float *y, int64_t total,
                                     int64_t channels, int64_t plane, int broadcast) {
    const int64_t i = P3D_NN_INDEX();
    if (i < total) y[i] = p3d_binary_apply(op, a[i], b[p3d_binary_b_index(i, channels, plane, broadcast)]);
}

extern "C" p3d_status p3d_activation_cuda(p3d_cuda_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, p3d_act act,
                                          float slope) {
    const int64_t total = p3d_nn_numel(x);
    P3D_LAUNCH(activation_kernel, p3d_cuda_blocks(total, P3D_NN_THREADS), P3D_NN_THREADS, 0, ctx->stream)(
        (const float *)x->data, (float *)y->data, total, act, slope);
    P3D_CUDA_LAUNCH_CHECK(ctx, "activation");
    return P3D_OK;
}

extern "C" p3d_status p3d_binary_cuda(p3d_cuda_ctx *ctx, p3d_binary_op op, const p3d_tensor *a, const p3d_tensor *b,
                                      p3d_tensor *y) {
    const int64_t total = p3d_nn_numel(a);
    P3D_LAUNCH(binary_kernel, p3d_cuda_blocks(total, P3D_NN_THREADS), P3D_NN_THREADS, 0, ctx->stream)(
        op, (const float *)a->data, (const float *)b->data, (float *)y->data, total, a->shape[1],
        a->shape[2] * a->shape[3], b->shape[1] != a->shape[1]);
    P3D_CUDA_LAUNCH_CHECK(ctx, "binary op");
    return P3D_OK;
}
