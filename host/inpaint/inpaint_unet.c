/* inpaint_unet.c - the partial-conv U-Net shared by Inpaint_Depth_Net and Inpaint_Color_Net
 * (reference spec 3.1-3.3), parameterised by its layer table. What it computes: inpaint_nets.h;
 * the blob's tensors: tools/convert_inpaint.py (UNET tables); the executable definition:
 * tools/inpaint_nets.py (_PConvUNet with folded=True).
 *
 * Channels per level i (resolution H / 2^i): C(0) = Cin (4 or 6), 64, 128, 256, then 512.
 *   enc_i: C(i-1) -> C(i), stride 2, k 7 (i = 1), 5 (i = 2, 3), 3 (i >= 4), pad k/2, ReLU
 *   dec_i: [up(C(i)), skip C(i-1)] -> C(i-1) (dec_1: -> Cout), k 3, stride 1, pad 1, LeakyReLU
 *          (dec_1: none; colour: sigmoid, fused into dec_1's epilogue as torch.sigmoid after it)
 * BatchNorm (scale/shift) on all but enc_1 and dec_1; conv bias on dec_1 and, in the depth net, on
 * enc_1 and enc_2. The colour net's decoder layers below 6 are called dec_5A .. dec_1A.
 *
 * Activations (floats, P = N*H*W of the padded input): the valid plane m0 and every encoder output
 * and mask stay live as skips (~32 P); the decoder reuses three regions - upsampled features (up to
 * 64 P), the concatenation (up to Cin + 64 P) and the layer output (up to 16 P) - and two mask
 * planes (P each). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inpaint/inpaint_impl.h"
#include "layers/concat.h"
#include "layers/eltwise.h"
#include "layers/upsample.h"
#include "nn/pconv2d.h"

#define UNET_LAYERS 7

typedef struct unet_layer {
    char name[16];
    p3d_conv2d_params p; /* geometry and activation */
    int32_t has_bias, has_bn;
    p3d_pconv2d *pc;
} unet_layer;

typedef struct unet {
    p3d_ctx *ctx;
    int32_t ch[UNET_LAYERS + 1]; /* C(0) .. C(7) */
    unet_layer enc[UNET_LAYERS]; /* enc[i-1] = enc_i */
    unet_layer dec[UNET_LAYERS]; /* dec[i-1] = dec_i */
} unet;

static void layer_make(unet_layer *l, const char *name, int32_t cin, int32_t cout, int32_t k, int32_t stride,
                       p3d_act act, float slope, int32_t bias, int32_t bn) {
    snprintf(l->name, sizeof l->name, "%s", name);
    l->p = p3d_conv2d_params_make(cin, cout, k, stride, k / 2);
    l->p.act = act;
    l->p.act_slope = slope;
    l->has_bias = bias;
    l->has_bn = bn;
}

/* The layer table of reference 3.2 / 3.3 for these channel counts. */
static void unet_table(unet *u, p3d_inpaint_kind kind, int32_t cin, int32_t cout, float slope) {
    static const int32_t widths[UNET_LAYERS] = {64, 128, 256, 512, 512, 512, 512};
    const int color = kind == P3D_INPAINT_COLOR;
    u->ch[0] = cin;
    for (int32_t i = 1; i <= UNET_LAYERS; i++) u->ch[i] = widths[i - 1];
    char name[16];
    for (int32_t i = 1; i <= UNET_LAYERS; i++) {
        const int32_t k = i == 1 ? 7 : i <= 3 ? 5 : 3;
        snprintf(name, sizeof name, "enc_%d", (int)i);
        layer_make(&u->enc[i - 1], name, u->ch[i - 1], u->ch[i], k, 2, P3D_ACT_RELU, slope, !color && i <= 2, i >= 2);
    }
    for (int32_t i = 1; i <= UNET_LAYERS; i++) {
        const int last = i == 1;
        snprintf(name, sizeof name, color && i <= 5 ? "dec_%dA" : "dec_%d", (int)i);
        const p3d_act act = !last ? P3D_ACT_LEAKY_RELU : color ? P3D_ACT_SIGMOID : P3D_ACT_NONE;
        layer_make(&u->dec[i - 1], name, u->ch[i] + u->ch[i - 1], last ? cout : u->ch[i - 1], 3, 1, act, slope, last,
                   !last);
    }
}

static void unet_free(p3d_inpaint_body *b) {
    unet *u = (unet *)b;
    if (!u) return;
    for (int32_t i = 0; i < UNET_LAYERS; i++) {
        p3d_pconv2d_free(u->enc[i].pc);
        p3d_pconv2d_free(u->dec[i].pc);
    }
    free(u);
}

static p3d_status layer_init(unet_layer *l, p3d_ctx *ctx, const p3d_weights *w) {
    char conv[32], bn[32];
    snprintf(conv, sizeof conv, "%s.conv.input_conv", l->name);
    snprintf(bn, sizeof bn, "%s.bn", l->name);
    const float *bias = l->has_bias ? p3d_inpaint_tensor(w, conv, "bias") : NULL;
    const float *scale = l->has_bn ? p3d_inpaint_tensor(w, bn, "scale") : NULL;
    const float *shift = l->has_bn ? p3d_inpaint_tensor(w, bn, "shift") : NULL;
    return p3d_pconv2d_init(&l->pc, ctx, &l->p, p3d_inpaint_tensor(w, conv, "weight"), bias, scale, shift);
}

static void layer_spec(const unet_layer *l, p3d_inpaint_spec *s) {
    char conv[32], bn[32];
    snprintf(conv, sizeof conv, "%s.conv.input_conv", l->name);
    snprintf(bn, sizeof bn, "%s.bn", l->name);
    p3d_inpaint_spec_conv(s, &l->p, conv, l->has_bias ? conv : NULL);
    if (l->has_bn) {
        p3d_inpaint_spec_add(s, bn, "scale", 1, l->p.out_channels, 0, 0, 0);
        p3d_inpaint_spec_add(s, bn, "shift", 1, l->p.out_channels, 0, 0, 0);
    }
}

static p3d_status unet_check(const p3d_weights *w, p3d_inpaint_kind kind, p3d_inpaint_dims *dims, float *slope) {
    const int color = kind == P3D_INPAINT_COLOR;
    int32_t layers = 0;
    float bn_eps = 0;
    P3D_TRY(p3d_inpaint_hp_i64(w, "in_channels", color ? 6 : 4, color ? 6 : 4, &dims->in_channels));
    P3D_TRY(p3d_inpaint_hp_i64(w, "out_channels", color ? 3 : 1, color ? 3 : 1, &dims->out_channels));
    P3D_TRY(p3d_inpaint_hp_i64(w, "layer_size", UNET_LAYERS, UNET_LAYERS, &layers));
    P3D_TRY(p3d_inpaint_hp_i64(w, "unit_length", 1 << UNET_LAYERS, 1 << 14, &dims->unit));
    if (dims->unit % (1 << UNET_LAYERS))
        return p3d_fail(P3D_ERR_MODEL, "%s: hyper-parameter unit_length = %d is not a multiple of %d",
                        p3d_weights_path(w), (int)dims->unit, 1 << UNET_LAYERS);
    P3D_TRY(p3d_inpaint_hp_f32(w, "bn_eps", 0.0, 1.0, &bn_eps));
    P3D_TRY(p3d_inpaint_hp_f32(w, "leaky_slope", 0.0, 1.0, slope));
    P3D_TRY(p3d_inpaint_hp_str(w, "upsampling", "nearest"));
    P3D_TRY(p3d_inpaint_hp_str(w, "output_activation", color ? "sigmoid" : "none"));
    return p3d_inpaint_hp_str(w, "batch_norm", "scale-shift after renormalisation");
}

static p3d_status unet_init(p3d_inpaint_body **out, p3d_ctx *ctx, const p3d_weights *w, p3d_inpaint_kind kind,
                            p3d_inpaint_dims *dims) {
    *out = NULL;
    float slope = 0;
    P3D_TRY(unet_check(w, kind, dims, &slope));
    unet *u = (unet *)calloc(1, sizeof *u);
    if (!u) return p3d_fail(P3D_ERR_OOM, "inpaint %s: out of host memory", p3d_inpaint_kind_name(kind));
    u->ctx = ctx;
    unet_table(u, kind, dims->in_channels, dims->out_channels, slope);
    p3d_inpaint_spec spec;
    spec.n = 0;
    for (int32_t i = 0; i < UNET_LAYERS; i++) layer_spec(&u->enc[i], &spec);
    for (int32_t i = 0; i < UNET_LAYERS; i++) layer_spec(&u->dec[i], &spec);
    p3d_status st = p3d_weights_check(w, spec.row, spec.n);
    for (int32_t i = 0; i < UNET_LAYERS && st == P3D_OK; i++) st = layer_init(&u->enc[i], ctx, w);
    for (int32_t i = 0; i < UNET_LAYERS && st == P3D_OK; i++) st = layer_init(&u->dec[i], ctx, w);
    if (st != P3D_OK) {
        unet_free((p3d_inpaint_body *)u);
        return st;
    }
    *out = (p3d_inpaint_body *)u;
    return P3D_OK;
}

/* enc_i and dec_i both take inputs at level i - 1: (n, ., h >> (i-1), w >> (i-1)). */
static p3d_status unet_plan(p3d_inpaint_body *b, int64_t n, int64_t h, int64_t w) {
    unet *u = (unet *)b;
    for (int32_t i = 0; i < UNET_LAYERS; i++) {
        P3D_TRY(p3d_pconv2d_plan(u->enc[i].pc, n, h >> i, w >> i));
        P3D_TRY(p3d_pconv2d_plan(u->dec[i].pc, n, h >> i, w >> i));
    }
    return P3D_OK;
}

static int64_t unet_macs(const p3d_inpaint_body *b, int64_t n, int64_t h, int64_t w) {
    const unet *u = (const unet *)b;
    int64_t macs = 0;
    for (int32_t i = 0; i < UNET_LAYERS; i++)
        macs += p3d_pconv2d_macs(&u->enc[i].p, n, h >> i, w >> i) + p3d_pconv2d_macs(&u->dec[i].p, n, h >> i, w >> i);
    return macs;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static p3d_status unet_run(p3d_inpaint_body *b, p3d_arena *a, const p3d_tensor *x, p3d_tensor *y) {
    unet *u = (unet *)b;
    p3d_ctx *ctx = u->ctx;
    const p3d_mem mem = p3d_ctx_mem(ctx);
    const int64_t n = x->shape[0], H = x->shape[2], W = x->shape[3];
    const int32_t *C = u->ch;

    /* Skips: feat[i] (n, C(i), H>>i, W>>i) and mask[i] (n, 1, H>>i, W>>i); feat[0] is the input. */
    p3d_tensor feat[UNET_LAYERS + 1], mask[UNET_LAYERS + 1];
    feat[0] = *x;
    for (int32_t i = 0; i <= UNET_LAYERS; i++) {
        float *m = NULL, *f = NULL;
        P3D_TRY(p3d_inpaint_region(a, n * (H >> i) * (W >> i), &m));
        mask[i] = p3d_inpaint_view(m, mem, n, 1, H >> i, W >> i);
        if (i == 0) continue;
        P3D_TRY(p3d_inpaint_region(a, n * C[i] * (H >> i) * (W >> i), &f));
        feat[i] = p3d_inpaint_view(f, mem, n, C[i], H >> i, W >> i);
    }
    /* Decoder regions, each as large as its largest use over the steps i = 7 .. 1 (at level i - 1). */
    int64_t up_n = 0, cat_n = 0, out_n = 0;
    for (int32_t i = 1; i <= UNET_LAYERS; i++) {
        const int64_t px = n * (H >> (i - 1)) * (W >> (i - 1));
        up_n = max64(up_n, C[i] * px);
        cat_n = max64(cat_n, (C[i] + C[i - 1]) * px);
        if (i > 1) out_n = max64(out_n, C[i - 1] * px);
    }
    float *up_r = NULL, *cat_r = NULL, *out_r = NULL, *upm_r = NULL, *outm_r = NULL;
    P3D_TRY(p3d_inpaint_region(a, up_n, &up_r));
    P3D_TRY(p3d_inpaint_region(a, cat_n, &cat_r));
    P3D_TRY(p3d_inpaint_region(a, out_n, &out_r));
    P3D_TRY(p3d_inpaint_region(a, n * H * W, &upm_r));
    P3D_TRY(p3d_inpaint_region(a, n * H * W, &outm_r));
    if (p3d_arena_planning(a)) return P3D_OK;

    /* valid = clamp(context + mask, 0, 1): the input's last two channels, per sample (channel views
     * of a batch are not contiguous). */
    for (int64_t s = 0; s < n; s++) {
        p3d_tensor ctx_plane = p3d_inpaint_plane(x, s, C[0] - 2), hole = p3d_inpaint_plane(x, s, C[0] - 1);
        p3d_tensor valid = p3d_inpaint_plane(&mask[0], s, 0);
        P3D_TRY(p3d_add_clamp01(ctx, &ctx_plane, &hole, &valid));
    }
    for (int32_t i = 1; i <= UNET_LAYERS; i++) {
        const p3d_pmask m = p3d_pmask_one(mask[i - 1], C[i - 1]);
        P3D_TRY(p3d_pconv2d_forward(u->enc[i - 1].pc, &feat[i - 1], &m, &feat[i], &mask[i]));
    }
    p3d_tensor cur = feat[UNET_LAYERS], cur_m = mask[UNET_LAYERS];
    for (int32_t i = UNET_LAYERS; i >= 1; i--) {
        const int64_t h = H >> (i - 1), w = W >> (i - 1);
        p3d_tensor up = p3d_inpaint_view(up_r, mem, n, C[i], h, w), up_m = p3d_inpaint_view(upm_r, mem, n, 1, h, w);
        P3D_TRY(p3d_upsample(ctx, &cur, &up, P3D_UPSAMPLE_NEAREST));
        P3D_TRY(p3d_upsample(ctx, &cur_m, &up_m, P3D_UPSAMPLE_NEAREST));
        const p3d_tensor *parts[2] = {&up, &feat[i - 1]};
        p3d_tensor cat = p3d_inpaint_view(cat_r, mem, n, C[i] + C[i - 1], h, w);
        P3D_TRY(p3d_concat(ctx, parts, 2, &cat));
        const p3d_pmask m_up = p3d_pmask_one(up_m, C[i]), m_skip = p3d_pmask_one(mask[i - 1], C[i - 1]);
        const p3d_pmask m_cat = p3d_pmask_concat(&m_up, &m_skip);
        p3d_tensor out = i > 1 ? p3d_inpaint_view(out_r, mem, n, C[i - 1], h, w) : *y;
        p3d_tensor out_m = p3d_inpaint_view(outm_r, mem, n, 1, h, w);
        P3D_TRY(p3d_pconv2d_forward(u->dec[i - 1].pc, &cat, &m_cat, &out, &out_m));
        cur = out;
        cur_m = out_m;
    }
    return P3D_OK;
}

const p3d_inpaint_body_ops p3d_inpaint_unet_ops = {unet_init, unet_free, unet_plan, unet_run, unet_macs};
