/* eltwise.c - element-wise ops: checks, CPU reference, dispatch (twin: cuda/layers/eltwise.cu). */
#include "layers/eltwise.h"

#include "layers/eltwise_math.h"

p3d_status p3d_activation_cpu(const p3d_tensor *x, p3d_tensor *y, p3d_act act, float slope) {
    const int64_t total = p3d_tensor_numel(x);
    const float *xs = (const float *)x->data;
    float *ys = (float *)y->data;
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t i = 0; i < total; i++) ys[i] = p3d_act_apply(act, slope, xs[i]);
    return P3D_OK;
}

p3d_status p3d_binary_cpu(p3d_binary_op op, const p3d_tensor *a, const p3d_tensor *b, p3d_tensor *y) {
    const int64_t total = p3d_tensor_numel(a), channels = a->shape[1], plane = a->shape[2] * a->shape[3];
    const int broadcast = b->shape[1] != a->shape[1];
    const float *as = (const float *)a->data, *bs = (const float *)b->data;
    float *ys = (float *)y->data;
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t i = 0; i < total; i++)
        ys[i] = p3d_binary_apply(op, as[i], bs[p3d_binary_b_index(i, channels, plane, broadcast)]);
    return P3D_OK;
}

/* y has x's shape; it may be x but no other overlap. */
static p3d_status check_out(const char *op, const p3d_tensor *x, const p3d_tensor *y, p3d_mem mem) {
    P3D_TRY(p3d_nn_check(op, "output", y, mem, x->shape[0], x->shape[1], x->shape[2], x->shape[3]));
    if (y->data != x->data && p3d_nn_overlap(x, y))
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: output partly overlaps an input", op);
    return P3D_OK;
}

p3d_status p3d_activation(p3d_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, p3d_act act, float slope) {
    const p3d_mem mem = p3d_ctx_mem(ctx);
    P3D_TRY(p3d_nn_check("activation", "input", x, mem, -1, -1, -1, -1));
    P3D_TRY(check_out("activation", x, y, mem));
    if ((unsigned)act > (unsigned)P3D_ACT_LAST) return p3d_fail(P3D_ERR_INVALID_ARG, "activation: unknown kind %d", (int)act);
#ifdef P3D_HAVE_CUDA
    if (p3d_ctx_cuda(ctx)) return p3d_activation_cuda(p3d_ctx_cuda(ctx), x, y, act, slope);
#endif
    return p3d_activation_cpu(x, y, act, slope);
}

p3d_status p3d_binary(p3d_ctx *ctx, p3d_binary_op op, const p3d_tensor *a, const p3d_tensor *b, p3d_tensor *y) {
    static const char *const names[] = {"add", "mul", "add_clamp01"};
    if ((unsigned)op > (unsigned)P3D_BINARY_ADD_CLAMP01)
        return p3d_fail(P3D_ERR_INVALID_ARG, "binary op: unknown kind %d", (int)op);
    const char *name = names[op];
    const p3d_mem mem = p3d_ctx_mem(ctx);
    P3D_TRY(p3d_nn_check(name, "a", a, mem, -1, -1, -1, -1));
    const int64_t bc = b && b->ndim == 4 && b->shape[1] == 1 ? 1 : a->shape[1];
    P3D_TRY(p3d_nn_check(name, "b", b, mem, a->shape[0], bc, a->shape[2], a->shape[3]));
    P3D_TRY(check_out(name, a, y, mem));
    if (y->data != b->data && p3d_nn_overlap(b, y))
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: output partly overlaps an input", name);
#ifdef P3D_HAVE_CUDA
    if (p3d_ctx_cuda(ctx)) return p3d_binary_cuda(p3d_ctx_cuda(ctx), op, a, b, y);
#endif
    return p3d_binary_cpu(op, a, b, y);
}

p3d_status p3d_add(p3d_ctx *ctx, const p3d_tensor *a, const p3d_tensor *b, p3d_tensor *y) {
    return p3d_binary(ctx, P3D_BINARY_ADD, a, b, y);
}

p3d_status p3d_mul(p3d_ctx *ctx, const p3d_tensor *a, const p3d_tensor *b, p3d_tensor *y) {
    return p3d_binary(ctx, P3D_BINARY_MUL, a, b, y);
}

p3d_status p3d_add_clamp01(p3d_ctx *ctx, const p3d_tensor *a, const p3d_tensor *b, p3d_tensor *y) {
    return p3d_binary(ctx, P3D_BINARY_ADD_CLAMP01, a, b, y);
}
