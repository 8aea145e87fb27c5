/* eltwise.h - element-wise ops on NCHW float32 tensors, CPU and CUDA: activations, the residual add,
 * the mask product and the U-Nets' internal mask clamp(a + b, 0, 1).
 *
 *   P3D_TRY(p3d_activation(ctx, &x, &x, P3D_ACT_SIGMOID, 0.0f));   // in place
 *   P3D_TRY(p3d_add(ctx, &x, &res, &x));                           // residual: x += res
 *   P3D_TRY(p3d_mul(ctx, &feat, &mask, &out));                     // mask (N,1,H,W) broadcasts over C
 *   P3D_TRY(p3d_add_clamp01(ctx, &context, &hole, &valid));        // clamp(context + mask, 0, 1)
 *
 * The second operand b has a's shape, or (N, 1, H, W) and is then broadcast over a's channels.
 * y has a's shape and may be a itself (in place); any other overlap is refused. Results are the same
 * float on both backends except for sigmoid and tanh (libm vs CUDA expf/tanhf, within 2 ulp). */
#ifndef P3D_ELTWISE_H
#define P3D_ELTWISE_H

#include "core/backend.h"
#include "nn/nn_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum p3d_binary_op {
    P3D_BINARY_ADD = 0,         /* a + b */
    P3D_BINARY_MUL = 1,         /* a * b */
    P3D_BINARY_ADD_CLAMP01 = 2, /* min(max(a + b, 0), 1) (NaN stays NaN) */
} p3d_binary_op;

/* y = act(x). */
p3d_status p3d_activation(p3d_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, p3d_act act, float slope);
/* y = a op b. */
p3d_status p3d_binary(p3d_ctx *ctx, p3d_binary_op op, const p3d_tensor *a, const p3d_tensor *b, p3d_tensor *y);

p3d_status p3d_add(p3d_ctx *ctx, const p3d_tensor *a, const p3d_tensor *b, p3d_tensor *y);
p3d_status p3d_mul(p3d_ctx *ctx, const p3d_tensor *a, const p3d_tensor *b, p3d_tensor *y);
p3d_status p3d_add_clamp01(p3d_ctx *ctx, const p3d_tensor *a, const p3d_tensor *b, p3d_tensor *y);

p3d_status p3d_activation_cpu(const p3d_tensor *x, p3d_tensor *y, p3d_act act, float slope);
p3d_status p3d_binary_cpu(p3d_binary_op op, const p3d_tensor *a, const p3d_tensor *b, p3d_tensor *y);

#ifdef P3D_HAVE_CUDA
struct p3d_cuda_ctx;
p3d_status p3d_activation_cuda(struct p3d_cuda_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, p3d_act act, float slope);
p3d_status p3d_binary_cuda(struct p3d_cuda_ctx *ctx, p3d_binary_op op, const p3d_tensor *a, const p3d_tensor *b,
                           p3d_tensor *y);
#endif

#ifdef __cplusplus
}
#endif
#endif
