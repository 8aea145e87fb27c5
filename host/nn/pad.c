/* pad.c - reflection / zero padding and cropping: checks, CPU reference, dispatch (twin: cuda/nn/pad.cu). */
#include "nn/pad.h"

#include <string.h>

#include "nn/pad_math.h"

p3d_status p3d_pad_cpu(const p3d_tensor *x, p3d_tensor *y, p3d_pad_mode mode, int64_t top, int64_t left) {
    const int64_t planes = x->shape[0] * x->shape[1], h = x->shape[2], w = x->shape[3];
    const int64_t hy = y->shape[2], wy = y->shape[3];
    const float *xs = (const float *)x->data;
    float *ys = (float *)y->data;
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t p = 0; p < planes; p++) {
        for (int64_t oy = 0; oy < hy; oy++) {
            float *row = ys + (p * hy + oy) * wy;
            const int64_t iy = p3d_pad_src(mode, oy, top, h);
            if (iy < 0) {
                memset(row, 0, (size_t)wy * sizeof(float));
                continue;
            }
            const float *src = xs + (p * h + iy) * w;
            for (int64_t ox = 0; ox < wy; ox++) {
                const int64_t ix = p3d_pad_src(mode, ox, left, w);
                row[ox] = ix < 0 ? 0.0f : src[ix];
            }
        }
    }
    return P3D_OK;
}

static p3d_status pad_check(const char *op, p3d_ctx *ctx, const p3d_tensor *x, const p3d_tensor *y) {
    const p3d_mem mem = p3d_ctx_mem(ctx);
    P3D_TRY(p3d_nn_check(op, "input", x, mem, -1, -1, -1, -1));
    P3D_TRY(p3d_nn_check(op, "output", y, mem, x->shape[0], x->shape[1], -1, -1));
    if (p3d_nn_overlap(x, y)) return p3d_fail(P3D_ERR_INVALID_ARG, "%s: input and output overlap", op);
    return P3D_OK;
}

static p3d_status pad_dispatch(p3d_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, p3d_pad_mode mode, int64_t top,
                               int64_t left) {
#ifdef P3D_HAVE_CUDA
    if (p3d_ctx_cuda(ctx)) return p3d_pad_cuda(p3d_ctx_cuda(ctx), x, y, mode, top, left);
#endif
    return p3d_pad_cpu(x, y, mode, top, left);
}

p3d_status p3d_pad(p3d_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, p3d_pad_mode mode, int64_t top, int64_t left) {
    P3D_TRY(pad_check("pad", ctx, x, y));
    const int64_t h = x->shape[2], w = x->shape[3];
    const int64_t bottom = y->shape[2] - h - top, right = y->shape[3] - w - left;
    if (mode == P3D_PAD_REFLECT) {
        if (top < 0 || bottom < 0 || left < 0 || right < 0 || top >= h || bottom >= h || left >= w || right >= w)
            return p3d_fail(P3D_ERR_INVALID_ARG, "pad: reflection pads (top %lld, bottom %lld, left %lld, right %lld) "
                            "must be >= 0 and below the input size %lldx%lld", (long long)top, (long long)bottom,
                            (long long)left, (long long)right, (long long)h, (long long)w);
    } else if (mode != P3D_PAD_ZEROS) {
        return p3d_fail(P3D_ERR_INVALID_ARG, "pad: unknown mode %d", (int)mode);
    }
    return pad_dispatch(ctx, x, y, mode, top, left);
}

p3d_status p3d_crop(p3d_ctx *ctx, const p3d_tensor *x, p3d_tensor *y, int64_t top, int64_t left) {
    P3D_TRY(pad_check("crop", ctx, x, y));
    if (top < 0 || left < 0 || top + y->shape[2] > x->shape[2] || left + y->shape[3] > x->shape[3])
        return p3d_fail(P3D_ERR_INVALID_ARG, "crop: window %lldx%lld at (%lld, %lld) leaves the input %lldx%lld",
                        (long long)y->shape[2], (long long)y->shape[3], (long long)top, (long long)left,
                        (long long)x->shape[2], (long long)x->shape[3]);
    /* A crop is a zero pad whose input starts above and left of the output: nothing falls outside. */
    return pad_dispatch(ctx, x, y, P3D_PAD_ZEROS, -top, -left);
}

void p3d_pad_to_multiple(int64_t h, int64_t w, int64_t unit, int64_t *hp, int64_t *wp, int64_t *top, int64_t *left) {
    *hp = (h + unit - 1) / unit * unit;
    *wp = (w + unit - 1) / unit * unit;
    *top = (*hp - h) / 2;
    *left = (*wp - w) / 2;
}
