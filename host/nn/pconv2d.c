/* pconv2d.c - partial convolution: checks, planning, the CPU reference and the dispatch to the
 * CUDA twin (cuda/nn/pconv2d.cu). Formulas: pconv2d.h; shared arithmetic: pconv2d_math.h. */
#include "nn/pconv2d.h"

#include <stdlib.h>
#include <string.h>

#include "nn/pconv2d_math.h"

struct p3d_pconv2d {
    p3d_ctx *ctx;
    p3d_conv2d_params p; /* as given; p.act runs after the renormalisation and BatchNorm */
    p3d_conv2d *conv;    /* the feature conv without bias and activation */
    float *bias;         /* context memory, [Cout] or NULL */
    float *bn_scale;     /* context memory, [Cout] or NULL (no BatchNorm) */
    float *bn_shift;
};

p3d_pmask p3d_pmask_one(p3d_tensor plane, int32_t channels) {
    p3d_pmask m;
    memset(&m, 0, sizeof m);
    m.n_groups = 1;
    m.plane[0] = plane;
    m.channels[0] = channels;
    return m;
}

p3d_pmask p3d_pmask_concat(const p3d_pmask *a, const p3d_pmask *b) {
    if (a->n_groups + b->n_groups > P3D_PMASK_MAX_GROUPS)
        P3D_ABORT("pmask concat: %d + %d planes exceed %d", (int)a->n_groups, (int)b->n_groups, P3D_PMASK_MAX_GROUPS);
    p3d_pmask m = *a;
    for (int32_t g = 0; g < b->n_groups; g++) {
        m.plane[m.n_groups] = b->plane[g];
        m.channels[m.n_groups] = b->channels[g];
        m.n_groups++;
    }
    return m;
}

int32_t p3d_pmask_channels(const p3d_pmask *m) {
    int32_t c = 0;
    for (int32_t g = 0; g < m->n_groups; g++) c += m->channels[g];
    return c;
}

int64_t p3d_pconv2d_macs(const p3d_conv2d_params *p, int64_t n, int64_t h, int64_t w) {
    return p3d_conv2d_macs(p, n, h, w);
}

p3d_status p3d_pconv2d_init(p3d_pconv2d **out, p3d_ctx *ctx, const p3d_conv2d_params *p, const float *weight,
                            const float *bias, const float *bn_scale, const float *bn_shift) {
    *out = NULL;
    P3D_TRY(p3d_conv2d_params_check(p));
    if (p->groups != 1 || p->pad_mode != P3D_PAD_ZEROS || p->transposed)
        return p3d_fail(P3D_ERR_INVALID_ARG, "pconv2d: takes groups 1, zero padding, no transposition");
    if (!bn_scale != !bn_shift) return p3d_fail(P3D_ERR_INVALID_ARG, "pconv2d: BatchNorm needs both scale and shift");
    p3d_pconv2d *pc = (p3d_pconv2d *)calloc(1, sizeof *pc);
    if (!pc) return p3d_fail(P3D_ERR_OOM, "pconv2d: out of host memory");
    pc->ctx = ctx;
    pc->p = *p;
    p3d_conv2d_params cp = *p;
    cp.act = P3D_ACT_NONE;
    p3d_status st = p3d_conv2d_init(&pc->conv, ctx, &cp, weight, NULL);
    if (st == P3D_OK) st = p3d_nn_upload(ctx, bias, p->out_channels, &pc->bias);
    if (st == P3D_OK) st = p3d_nn_upload(ctx, bn_scale, p->out_channels, &pc->bn_scale);
    if (st == P3D_OK) st = p3d_nn_upload(ctx, bn_shift, p->out_channels, &pc->bn_shift);
    if (st != P3D_OK) {
        p3d_pconv2d_free(pc);
        return st;
    }
    *out = pc;
    return P3D_OK;
}

void p3d_pconv2d_free(p3d_pconv2d *pc) {
    if (!pc) return;
    p3d_conv2d_free(pc->conv);
    p3d_ctx_release(pc->ctx, pc->bias);
    p3d_ctx_release(pc->ctx, pc->bn_scale);
    p3d_ctx_release(pc->ctx, pc->bn_shift);
    free(pc);
}

/* Scratch of one forward: [S (n,1,ho,wo) | x*m (n,Cin,h,w), CUDA only | the conv's scratch]. */
typedef struct pconv_scratch {
    float *s, *xm;
    void *conv;
    size_t conv_bytes, total;
} pconv_scratch;

static p3d_status pconv_scratch_layout(const p3d_pconv2d *pc, void *base, int64_t n, int64_t h, int64_t w,
                                       int64_t ho, int64_t wo, pconv_scratch *out) {
    size_t off = 0;
    out->s = (float *)p3d_scratch_take(base, &off, (size_t)(n * ho * wo) * sizeof(float));
    out->xm = NULL;
    if (p3d_ctx_cuda(pc->ctx)) out->xm = (float *)p3d_scratch_take(base, &off, (size_t)(n * pc->p.in_channels * h * w) * sizeof(float));
    P3D_TRY(p3d_conv2d_scratch_bytes(pc->conv, n, h, w, &out->conv_bytes));
    out->conv = p3d_scratch_take(base, &off, out->conv_bytes);
    out->total = off;
    return P3D_OK;
}

p3d_status p3d_pconv2d_plan(p3d_pconv2d *pc, int64_t n, int64_t h, int64_t w) {
    int64_t ho, wo;
    P3D_TRY(p3d_conv2d_plan(pc->conv, n, h, w));
    P3D_TRY(p3d_conv2d_out_size(&pc->p, h, w, &ho, &wo));
    pconv_scratch sc;
    P3D_TRY(pconv_scratch_layout(pc, NULL, n, h, w, ho, wo, &sc));
    return p3d_ctx_scratch_reserve(pc->ctx, sc.total);
}

/* ---- CPU reference ------------------------------------------------------------------------------ */

static void window_sum_cpu(const p3d_conv2d_params *p, const p3d_pmask *mask, float *s, float *new_mask, int64_t n,
                           int64_t ho, int64_t wo) {
    const p3d_pconv_window win = p3d_pconv_window_make(p, mask);
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t r = 0; r < n * ho; r++) {
        for (int64_t ox = 0; ox < wo; ox++) {
            const float v = p3d_pconv_window_sum(&win, r / ho, r % ho, ox);
            s[r * wo + ox] = v;
            new_mask[r * wo + ox] = v > 0.0f ? 1.0f : 0.0f;
        }
    }
}

static void finish_cpu(const p3d_pconv2d *pc, float *y, const float *s, int64_t n, int64_t plane) {
    const p3d_conv2d_params *p = &pc->p;
    const int64_t cout = p->out_channels;
    const float winsize = (float)((int64_t)p->in_channels * p->kernel_h * p->kernel_w);
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t nc = 0; nc < n * cout; nc++) {
        const int64_t c = nc % cout;
        const float b = pc->bias ? pc->bias[c] : 0.0f;
        const float *sb = s + nc / cout * plane;
        float *yc = y + nc * plane;
        for (int64_t i = 0; i < plane; i++)
            yc[i] = p3d_pconv_finish(yc[i], b, winsize, sb[i], pc->bn_scale, pc->bn_shift, c, p->act, p->act_slope);
    }
}

/* ---- forward ------------------------------------------------------------------------------------ */

static p3d_status check_mask(const p3d_pmask *m, p3d_mem mem, const p3d_tensor *x) {
    if (m->n_groups < 1 || m->n_groups > P3D_PMASK_MAX_GROUPS)
        return p3d_fail(P3D_ERR_INVALID_ARG, "pconv2d: mask with %d planes (1..%d)", (int)m->n_groups, P3D_PMASK_MAX_GROUPS);
    for (int32_t g = 0; g < m->n_groups; g++) {
        P3D_TRY(p3d_nn_check("pconv2d", "mask plane", &m->plane[g], mem, x->shape[0], 1, x->shape[2], x->shape[3]));
        if (m->channels[g] < 1) return p3d_fail(P3D_ERR_INVALID_ARG, "pconv2d: mask plane %d stands for %d channels", (int)g, (int)m->channels[g]);
    }
    if (p3d_pmask_channels(m) != x->shape[1])
        return p3d_fail(P3D_ERR_INVALID_ARG, "pconv2d: mask planes stand for %d channels, the input has %lld",
                        (int)p3d_pmask_channels(m), (long long)x->shape[1]);
    return P3D_OK;
}

static p3d_status check_outputs(const p3d_tensor *x, const p3d_pmask *m, const p3d_tensor *y, const p3d_tensor *nm) {
    const p3d_tensor *outs[2] = {y, nm};
    for (int i = 0; i < 2; i++) {
        int bad = p3d_nn_overlap(outs[i], x) || (i == 0 && p3d_nn_overlap(y, nm));
        for (int32_t g = 0; g < m->n_groups; g++) bad = bad || p3d_nn_overlap(outs[i], &m->plane[g]);
        if (bad) return p3d_fail(P3D_ERR_INVALID_ARG, "pconv2d: an output overlaps an input or the other output");
    }
    return P3D_OK;
}

p3d_status p3d_pconv2d_forward(p3d_pconv2d *pc, const p3d_tensor *x, const p3d_pmask *mask, p3d_tensor *y,
                               p3d_tensor *new_mask) {
    const p3d_conv2d_params *p = &pc->p;
    const p3d_mem mem = p3d_ctx_mem(pc->ctx);
    P3D_TRY(p3d_nn_check("pconv2d", "input", x, mem, -1, p->in_channels, -1, -1));
    P3D_TRY(check_mask(mask, mem, x));
    const int64_t n = x->shape[0], h = x->shape[2], w = x->shape[3];
    int64_t ho, wo;
    P3D_TRY(p3d_conv2d_out_size(p, h, w, &ho, &wo));
    P3D_TRY(p3d_nn_check("pconv2d", "output", y, mem, n, p->out_channels, ho, wo));
    P3D_TRY(p3d_nn_check("pconv2d", "new mask", new_mask, mem, n, 1, ho, wo));
    P3D_TRY(check_outputs(x, mask, y, new_mask));
    size_t cap = 0;
    void *base = p3d_ctx_scratch(pc->ctx, &cap);
    pconv_scratch sc;
    P3D_TRY(pconv_scratch_layout(pc, base, n, h, w, ho, wo, &sc));
    if (sc.total > cap)
        return p3d_fail(P3D_ERR_INVALID_ARG, "pconv2d: %zu bytes of scratch, the plan needs %zu", cap, sc.total);
#ifdef P3D_HAVE_CUDA
    struct p3d_cuda_ctx *cctx = p3d_ctx_cuda(pc->ctx);
    if (cctx) {
        const int64_t sshape[4] = {n, 1, ho, wo};
        p3d_tensor s = p3d_tensor_view(sc.s, P3D_F32, mem, 4, sshape);
        p3d_tensor xm = p3d_tensor_view(sc.xm, P3D_F32, mem, 4, x->shape);
        P3D_TRY(p3d_pconv2d_window_sum_cuda(cctx, p, mask, &s, new_mask));
        P3D_TRY(p3d_pconv2d_mask_input_cuda(cctx, x, mask, &xm));
        P3D_TRY(p3d_conv2d_forward_ex(pc->conv, &xm, NULL, y, sc.conv, sc.conv_bytes));
        return p3d_pconv2d_finish_cuda(cctx, p, y, &s, pc->bias, pc->bn_scale, pc->bn_shift);
    }
#endif
    window_sum_cpu(p, mask, sc.s, (float *)new_mask->data, n, ho, wo);
    const p3d_conv2d_in_mask im = p3d_pmask_channel_planes(mask);
    P3D_TRY(p3d_conv2d_forward_ex(pc->conv, x, &im, y, sc.conv, sc.conv_bytes));
    finish_cpu(pc, (float *)y->data, sc.s, n, ho * wo);
    return P3D_OK;
}
