/* conv2d.c - convolution and transposed convolution layers: parameter checks, shape planning, the
 * CPU reference (im2col + sgemm; sgemm + col2im) and the dispatch to the CUDA twin (cuda/nn/conv2d.cu). */
#include "nn/conv2d.h"

#include <stdlib.h>
#include <string.h>

#include "nn/gemm.h"
#include "nn/nn_math.h"

struct p3d_conv2d {
    p3d_ctx *ctx;
    p3d_conv2d_params p;
    float *weight; /* context memory, PyTorch layout (conv2d.h) */
    float *bias;   /* context memory, [Cout], or NULL */
    p3d_plan_cache plans;
    size_t scratch[P3D_PLAN_SLOTS]; /* bytes a forward at each planned shape uses */
#ifdef P3D_HAVE_CUDA
    p3d_conv2d_cuda *cuda; /* descriptors and algorithms; NULL on a CPU context */
#endif
};

p3d_conv2d_params p3d_conv2d_params_make(int32_t in_channels, int32_t out_channels, int32_t k,
                                         int32_t stride, int32_t pad) {
    p3d_conv2d_params p;
    memset(&p, 0, sizeof p);
    p.in_channels = in_channels;
    p.out_channels = out_channels;
    p.kernel_h = p.kernel_w = k;
    p.stride_h = p.stride_w = stride;
    p.pad_h = p.pad_w = pad;
    p.dilation_h = p.dilation_w = 1;
    p.groups = 1;
    p.pad_mode = P3D_PAD_ZEROS;
    p.act = P3D_ACT_NONE;
    p.act_slope = 0.2f; /* the networks' LeakyReLU slope; used only with P3D_ACT_LEAKY_RELU */
    return p;
}

p3d_status p3d_conv2d_params_check(const p3d_conv2d_params *p) {
    const char *bad = NULL;
    if (p->in_channels < 1 || p->out_channels < 1) bad = "channel counts must be >= 1";
    else if (p->kernel_h < 1 || p->kernel_w < 1) bad = "kernel size must be >= 1";
    else if (p->stride_h < 1 || p->stride_w < 1) bad = "stride must be >= 1";
    else if (p->dilation_h < 1 || p->dilation_w < 1) bad = "dilation must be >= 1";
    else if (p->pad_h < 0 || p->pad_w < 0) bad = "padding must be >= 0";
    else if (p->groups < 1 || p->in_channels % p->groups || p->out_channels % p->groups)
        bad = "groups must divide both channel counts";
    else if (p->pad_mode != P3D_PAD_ZEROS && p->pad_mode != P3D_PAD_REFLECT) bad = "unknown padding mode";
    else if ((unsigned)p->act > (unsigned)P3D_ACT_LAST) bad = "unknown activation";
    else if (p->transposed && (p->groups != 1 || p->pad_mode != P3D_PAD_ZEROS))
        bad = "a transposed conv takes groups 1 and zero padding";
    if (!bad) return P3D_OK;
    return p3d_fail(P3D_ERR_INVALID_ARG, "conv2d %d->%d k%dx%d: %s", (int)p->in_channels, (int)p->out_channels,
                    (int)p->kernel_h, (int)p->kernel_w, bad);
}

static int64_t out_dim(const p3d_conv2d_params *p, int64_t in, int32_t k, int32_t s, int32_t pad, int32_t d) {
    const int64_t span = (int64_t)d * (k - 1) + 1;
    if (p->transposed) return (in - 1) * s - 2 * (int64_t)pad + span;
    const int64_t padded = in + 2 * (int64_t)pad;
    return padded < span ? 0 : (padded - span) / s + 1;
}

p3d_status p3d_conv2d_out_size(const p3d_conv2d_params *p, int64_t h, int64_t w, int64_t *ho, int64_t *wo) {
    *ho = h < 1 ? 0 : out_dim(p, h, p->kernel_h, p->stride_h, p->pad_h, p->dilation_h);
    *wo = w < 1 ? 0 : out_dim(p, w, p->kernel_w, p->stride_w, p->pad_w, p->dilation_w);
    if (*ho >= 1 && *wo >= 1) return P3D_OK;
    return p3d_fail(P3D_ERR_INVALID_ARG, "conv2d k%dx%d s%d p%d d%d: input %lldx%lld gives an empty output",
                    (int)p->kernel_h, (int)p->kernel_w, (int)p->stride_h, (int)p->pad_h, (int)p->dilation_h,
                    (long long)h, (long long)w);
}

int64_t p3d_conv2d_weight_count(const p3d_conv2d_params *p) {
    const int64_t k = (int64_t)p->kernel_h * p->kernel_w;
    if (p->transposed) return (int64_t)p->in_channels * p->out_channels * k;
    return (int64_t)p->out_channels * (p->in_channels / p->groups) * k;
}

int64_t p3d_conv2d_macs(const p3d_conv2d_params *p, int64_t n, int64_t h, int64_t w) {
    int64_t ho = h < 1 ? 0 : out_dim(p, h, p->kernel_h, p->stride_h, p->pad_h, p->dilation_h);
    int64_t wo = w < 1 ? 0 : out_dim(p, w, p->kernel_w, p->stride_w, p->pad_w, p->dilation_w);
    if (n < 1 || ho < 1 || wo < 1) return 0;
    /* Every weight meets every input position (transposed) or every output position (conv). */
    return n * p3d_conv2d_weight_count(p) * (p->transposed ? h * w : ho * wo);
}

/* ---- handle ---------------------------------------------------------------------------------- */

p3d_status p3d_conv2d_init(p3d_conv2d **out, p3d_ctx *ctx, const p3d_conv2d_params *p,
                           const float *weight, const float *bias) {
    *out = NULL;
    P3D_TRY(p3d_conv2d_params_check(p));
    if (!weight) return p3d_fail(P3D_ERR_INVALID_ARG, "conv2d: no weights");
    p3d_conv2d *c = (p3d_conv2d *)calloc(1, sizeof *c);
    if (!c) return p3d_fail(P3D_ERR_OOM, "conv2d: out of host memory");
    c->ctx = ctx;
    c->p = *p;
    p3d_status st = p3d_nn_upload(ctx, weight, p3d_conv2d_weight_count(p), &c->weight);
    if (st == P3D_OK) st = p3d_nn_upload(ctx, bias, p->out_channels, &c->bias);
#ifdef P3D_HAVE_CUDA
    if (st == P3D_OK && p3d_ctx_cuda(ctx)) st = p3d_conv2d_cuda_init(p3d_ctx_cuda(ctx), p, bias != NULL, &c->cuda);
#endif
    if (st != P3D_OK) {
        p3d_conv2d_free(c);
        return st;
    }
    *out = c;
    return P3D_OK;
}

void p3d_conv2d_free(p3d_conv2d *c) {
    if (!c) return;
#ifdef P3D_HAVE_CUDA
    p3d_conv2d_cuda_free(c->cuda);
#endif
    p3d_ctx_release(c->ctx, c->weight);
    p3d_ctx_release(c->ctx, c->bias);
    free(c);
}

const p3d_conv2d_params *p3d_conv2d_get_params(const p3d_conv2d *c) { return &c->p; }

/* Output rows (conv) or input rows (transposed) per CPU tile: as many as fit the tile budget, >= 1. */
static int64_t cpu_tile_rows(int64_t col_rows, int64_t row_len, int64_t total_rows) {
    const int64_t row_bytes = col_rows * row_len * (int64_t)sizeof(float);
    int64_t r = (int64_t)P3D_CONV_COL_TILE_BYTES / row_bytes;
    return r < 1 ? 1 : (r > total_rows ? total_rows : r);
}

static int64_t cpu_col_rows(const p3d_conv2d_params *p) {
    const int64_t k = (int64_t)p->kernel_h * p->kernel_w;
    return p->transposed ? p->out_channels * k : p->in_channels / p->groups * k;
}

static size_t cpu_scratch_bytes(const p3d_conv2d_params *p, int64_t h, int64_t w, int64_t ho, int64_t wo) {
    const int64_t kk = cpu_col_rows(p);
    const int64_t len = p->transposed ? w : wo;
    return (size_t)(kk * cpu_tile_rows(kk, len, p->transposed ? h : ho) * len) * sizeof(float);
}

p3d_status p3d_conv2d_plan(p3d_conv2d *c, int64_t n, int64_t h, int64_t w) {
    const p3d_conv2d_params *p = &c->p;
    int64_t ho, wo;
    if (n < 1) return p3d_fail(P3D_ERR_INVALID_ARG, "conv2d: batch size %lld", (long long)n);
    P3D_TRY(p3d_conv2d_out_size(p, h, w, &ho, &wo));
    if (p->pad_mode == P3D_PAD_REFLECT && (p->pad_h >= h || p->pad_w >= w))
        return p3d_fail(P3D_ERR_INVALID_ARG, "conv2d: reflection padding %dx%d needs an input larger than "
                        "%lldx%lld", (int)p->pad_h, (int)p->pad_w, (long long)h, (long long)w);
    int32_t slot = p3d_plan_find(&c->plans, n, h, w);
    if (slot >= 0) return p3d_ctx_scratch_reserve(c->ctx, c->scratch[slot]);
    slot = p3d_plan_insert(&c->plans, n, h, w);
    size_t bytes = cpu_scratch_bytes(p, h, w, ho, wo);
    p3d_status st = P3D_OK;
#ifdef P3D_HAVE_CUDA
    if (c->cuda) st = p3d_conv2d_cuda_plan(c->cuda, slot, n, h, w, ho, wo, &bytes);
#endif
    if (st == P3D_OK) st = p3d_ctx_scratch_reserve(c->ctx, bytes);
    if (st != P3D_OK) {
        p3d_plan_forget(&c->plans, slot);
        return st;
    }
    c->scratch[slot] = bytes;
    return P3D_OK;
}

static p3d_status not_planned(const p3d_conv2d *c, int64_t n, int64_t h, int64_t w) {
    return p3d_fail(P3D_ERR_INVALID_ARG, "conv2d: input [%lld,%d,%lld,%lld] was not planned (call "
                    "p3d_conv2d_plan at plan time)", (long long)n, (int)c->p.in_channels, (long long)h, (long long)w);
}

p3d_status p3d_conv2d_scratch_bytes(const p3d_conv2d *c, int64_t n, int64_t h, int64_t w, size_t *bytes) {
    const int32_t slot = p3d_plan_find(&c->plans, n, h, w);
    if (slot < 0) return not_planned(c, n, h, w);
    *bytes = c->scratch[slot];
    return P3D_OK;
}

/* ---- CPU reference ------------------------------------------------------------------------------ */

/* Plane of the input multiplier for channel ci of sample b, or NULL. */
static const float *mask_plane(const p3d_conv2d_in_mask *m, int64_t ci, int64_t b, int64_t plane) {
    if (!m) return NULL;
    for (int32_t g = 0; g < m->n_groups; g++)
        if (ci < m->chan_end[g]) return m->plane[g] + b * plane;
    P3D_ABORT("conv2d: input mask groups end at channel %d, below channel %lld",
              (int)m->chan_end[m->n_groups - 1], (long long)ci);
}

/* Output columns [lo, hi) whose input column ox*stride + off lies inside 0..w-1. */
static void inside_range(int64_t off, int64_t stride, int64_t w, int64_t wo, int64_t *lo, int64_t *hi) {
    int64_t l = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int64_t h = w - 1 - off < 0 ? 0 : (w - 1 - off) / stride + 1;
    if (h > wo) h = wo;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* Input column i (outside 0..w-1) of a row: its mirror image, or 0 for zero padding. */
static inline float pad_sample(int reflect, const float *xr, const float *mr, int64_t i, int64_t w) {
    if (!reflect) return 0.0f;
    i = p3d_reflect_index(i, w);
    return mr ? xr[i] * mr[i] : xr[i];
}

/* im2col for output rows [oy0, oy0+rows) of input channels [c0, c0+cg) of one sample:
 *   col[((ci-c0)*kh + ky)*kw + kx][(oy-oy0)*wo + ox] = x[ci][iy][ix] (* mask[ci][iy][ix])
 * with iy = oy*sh - ph + ky*dh (reflected, or 0 outside the input for zero padding). */
static void im2col_tile(const p3d_conv2d_params *p, const float *xb, const p3d_conv2d_in_mask *mask, int64_t b,
                        int64_t h, int64_t w, int64_t wo, int64_t c0, int64_t cg, int64_t oy0, int64_t rows,
                        float *col) {
    const int64_t kh = p->kernel_h, kw = p->kernel_w, sh = p->stride_h, sw = p->stride_w;
    const int64_t np = rows * wo;
    const int reflect = p->pad_mode == P3D_PAD_REFLECT;
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t r = 0; r < cg * kh * kw; r++) {
        const int64_t ci = c0 + r / (kh * kw), ky = r / kw % kh, kx = r % kw;
        const float *xc = xb + ci * h * w;
        const float *mc = mask_plane(mask, ci, b, h * w);
        const int64_t xoff = kx * p->dilation_w - p->pad_w;
        int64_t lo, hi;
        inside_range(xoff, sw, w, wo, &lo, &hi);
        float *dst = col + r * np;
        for (int64_t oy = oy0; oy < oy0 + rows; oy++, dst += wo) {
            int64_t iy = oy * sh - p->pad_h + ky * p->dilation_h;
            if (reflect) {
                iy = p3d_reflect_index(iy, h);
            } else if (iy < 0 || iy >= h) {
                memset(dst, 0, (size_t)wo * sizeof(float));
                continue;
            }
            const float *xr = xc + iy * w;
            const float *mr = mc ? mc + iy * w : NULL;
            /* Columns [lo, hi) read inside the row; the others are padding (mirrored or zero). */
            for (int64_t ox = 0; ox < lo; ox++) dst[ox] = pad_sample(reflect, xr, mr, ox * sw + xoff, w);
            for (int64_t ox = lo, i = lo * sw + xoff; ox < hi; ox++, i += sw) dst[ox] = mr ? xr[i] * mr[i] : xr[i];
            for (int64_t ox = hi; ox < wo; ox++) dst[ox] = pad_sample(reflect, xr, mr, ox * sw + xoff, w);
        }
    }
}

static void bias_act_cpu(float *y, const float *bias, int64_t channels, int64_t plane, p3d_act act, float slope) {
    if (!bias && act == P3D_ACT_NONE) return;
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t c = 0; c < channels; c++) {
        const float b = bias ? bias[c] : 0.0f;
        float *yc = y + c * plane;
        for (int64_t i = 0; i < plane; i++) yc[i] = p3d_bias_act(yc[i], b, act, slope);
    }
}

/* y (n, Cout, ho, wo) = act(W * im2col(x) + b), one sgemm per group and tile of output rows. */
static void conv_cpu(const p3d_conv2d *c, const float *x, const p3d_conv2d_in_mask *mask, float *y, float *col,
                     int64_t n, int64_t h, int64_t w, int64_t ho, int64_t wo) {
    const p3d_conv2d_params *p = &c->p;
    const int64_t cg = p->in_channels / p->groups, og = p->out_channels / p->groups;
    const int64_t kk = cpu_col_rows(p), plane = ho * wo;
    const int64_t rows = cpu_tile_rows(kk, wo, ho);
    /* 1x1, stride 1, no padding and no mask: the input planes already are the column matrix. */
    const int pointwise = kk == cg && p->stride_h == 1 && p->stride_w == 1 && p->pad_h == 0 && p->pad_w == 0 && !mask;
    for (int64_t b = 0; b < n; b++) {
        const float *xb = x + b * p->in_channels * h * w;
        float *yb = y + b * p->out_channels * plane;
        for (int64_t oy0 = 0; oy0 < ho; oy0 += rows) {
            const int64_t r = rows < ho - oy0 ? rows : ho - oy0;
            for (int64_t g = 0; g < p->groups; g++) {
                const float *bm = col;
                int64_t ldb = r * wo;
                if (pointwise) {
                    bm = xb + g * cg * h * w + oy0 * wo;
                    ldb = plane;
                } else {
                    im2col_tile(p, xb, mask, b, h, w, wo, g * cg, cg, oy0, r, col);
                }
                p3d_sgemm(0, 0, og, r * wo, kk, 1.0f, c->weight + g * og * kk, kk, bm, ldb, 0.0f,
                          yb + g * og * plane + oy0 * wo, plane);
            }
        }
        bias_act_cpu(yb, c->bias, p->out_channels, plane, p->act, p->act_slope);
    }
}

/* Adds the columns of input rows [iy0, iy0+rows) into y (Cout, ho, wo):
 *   y[co][iy*sh - ph + ky*dh][ix*sw - pw + kx*dw] += col[(co*kh + ky)*kw + kx][(iy-iy0)*w + ix] */
static void col2im_tile(const p3d_conv2d_params *p, const float *col, int64_t iy0, int64_t rows, int64_t w,
                        int64_t ho, int64_t wo, float *yb) {
    const int64_t kh = p->kernel_h, kw = p->kernel_w, np = rows * w;
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t co = 0; co < p->out_channels; co++) {
        float *yc = yb + co * ho * wo;
        for (int64_t ky = 0; ky < kh; ky++) {
            for (int64_t kx = 0; kx < kw; kx++) {
                const float *src = col + ((co * kh + ky) * kw + kx) * np;
                for (int64_t iy = iy0; iy < iy0 + rows; iy++, src += w) {
                    const int64_t oy = iy * p->stride_h - p->pad_h + ky * p->dilation_h;
                    if (oy < 0 || oy >= ho) continue;
                    float *yr = yc + oy * wo;
                    for (int64_t ix = 0; ix < w; ix++) {
                        const int64_t ox = ix * p->stride_w - p->pad_w + kx * p->dilation_w;
                        if (ox >= 0 && ox < wo) yr[ox] += src[ix];
                    }
                }
            }
        }
    }
}

/* y (n, Cout, ho, wo) = act(col2im(W^T x) + b), W = [Cin, Cout*kh*kw]. */
static void conv_transpose_cpu(const p3d_conv2d *c, const float *x, float *y, float *col, int64_t n, int64_t h,
                               int64_t w, int64_t ho, int64_t wo) {
    const p3d_conv2d_params *p = &c->p;
    const int64_t kk = cpu_col_rows(p), plane = ho * wo;
    const int64_t rows = cpu_tile_rows(kk, w, h);
    for (int64_t b = 0; b < n; b++) {
        const float *xb = x + b * p->in_channels * h * w;
        float *yb = y + b * p->out_channels * plane;
        memset(yb, 0, (size_t)(p->out_channels * plane) * sizeof(float));
        for (int64_t iy0 = 0; iy0 < h; iy0 += rows) {
            const int64_t r = rows < h - iy0 ? rows : h - iy0;
            p3d_sgemm(1, 0, kk, r * w, p->in_channels, 1.0f, c->weight, kk, xb + iy0 * w, h * w, 0.0f, col, r * w);
            col2im_tile(p, col, iy0, r, w, ho, wo, yb);
        }
        bias_act_cpu(yb, c->bias, p->out_channels, plane, p->act, p->act_slope);
    }
}

/* ---- forward ------------------------------------------------------------------------------------ */

p3d_status p3d_conv2d_forward_ex(p3d_conv2d *c, const p3d_tensor *x, const p3d_conv2d_in_mask *mask,
                                 p3d_tensor *y, void *scratch, size_t scratch_bytes) {
    const p3d_conv2d_params *p = &c->p;
    const p3d_mem mem = p3d_ctx_mem(c->ctx);
    P3D_TRY(p3d_nn_check("conv2d", "input", x, mem, -1, p->in_channels, -1, -1));
    const int64_t n = x->shape[0], h = x->shape[2], w = x->shape[3];
    const int32_t slot = p3d_plan_find(&c->plans, n, h, w);
    if (slot < 0) return not_planned(c, n, h, w);
    int64_t ho, wo;
    P3D_TRY(p3d_conv2d_out_size(p, h, w, &ho, &wo));
    P3D_TRY(p3d_nn_check("conv2d", "output", y, mem, n, p->out_channels, ho, wo));
    if (p3d_nn_overlap(x, y)) return p3d_fail(P3D_ERR_INVALID_ARG, "conv2d: input and output overlap");
    if (scratch_bytes < c->scratch[slot])
        return p3d_fail(P3D_ERR_INVALID_ARG, "conv2d: %zu bytes of scratch, the plan needs %zu", scratch_bytes,
                        c->scratch[slot]);
#ifdef P3D_HAVE_CUDA
    if (c->cuda) {
        P3D_ASSERT(!mask); /* the CUDA pconv multiplies the mask in before the conv */
        return p3d_conv2d_cuda_forward(c->cuda, slot, c->weight, c->bias, x, y, scratch, scratch_bytes);
    }
#endif
    if (p->transposed)
        conv_transpose_cpu(c, (const float *)x->data, (float *)y->data, (float *)scratch, n, h, w, ho, wo);
    else
        conv_cpu(c, (const float *)x->data, mask, (float *)y->data, (float *)scratch, n, h, w, ho, wo);
    return P3D_OK;
}

p3d_status p3d_conv2d_forward(p3d_conv2d *c, const p3d_tensor *x, p3d_tensor *y) {
    size_t bytes = 0;
    void *scratch = p3d_ctx_scratch(c->ctx, &bytes);
    return p3d_conv2d_forward_ex(c, x, NULL, y, scratch, bytes);
}
