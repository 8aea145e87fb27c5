/* inpaint_edge.c - Inpaint_Edge_Net, the EdgeConnect-style generator (reference spec 3.4). What it
 * computes: inpaint_nets.h; the blob's tensors: tools/convert_inpaint.py (EDGE_SN, EDGE_PLAIN; spectral
 * norm folded into plain `.weight`); the executable definition: tools/inpaint_nets.py
 * (Inpaint_Edge_Net with folded=True).
 *
 *   x1 = relu(IN(conv7x7(reflect3(x))))               (N, 64, H, W)      encoder_0.1
 *   x2 = relu(IN(conv4x4 s2 p1(x1)))                  (N, 128, H/2, W/2) encoder_1.0
 *   x3 = relu(IN(conv4x4 s2 p1(x2)))                  (N, 256, H/4, W/4) encoder_2.0
 *   x4 = 8 x [v + IN(conv3x3(reflect1(lrelu(IN(conv3x3 d2(reflect2(v)))))))]   middle.i.conv_block.{1,5}
 *   x5 = relu(IN(convT4x4 s2 p1([x4, x3])))           (N, 128, H/2, W/2) decoder_0.0
 *   x6 = relu(IN(convT4x4 s2 p1([x5, x2])))           (N, 64, H, W)      decoder_1.0
 *   y  = sigmoid(conv7x7(reflect3([x6, x1])))         (N, 1, H, W)       decoder_2.1
 * IN = InstanceNorm2d without affine over each whole (padded) plane; LeakyReLU slope and IN eps
 * come from the blob. Reflection padding is the convs' REFLECT pad mode; the sigmoid is fused into
 * the last conv's epilogue.
 *
 * Activations (floats, P = N*H*W): x1 64 P, x2 32 P, a block holding x3 and the running sum v (later
 * x5) 32 P, a block for the residual temporaries and then each concatenation in turn 128 P, x6 64 P:
 * about 320 P, where keeping every tensor would take about 490 P. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inpaint/inpaint_impl.h"
#include "layers/concat.h"
#include "layers/eltwise.h"
#include "layers/instance_norm.h"

#define EDGE_MAX_BLOCKS 32

enum { ENC0 = 0, ENC1 = 1, ENC2 = 2, MID0 = 3 }; /* layer indices; middle block b: MID0 + 2b, + 1 */

typedef struct edge_net {
    p3d_ctx *ctx;
    int32_t blocks;
    int32_t n_layers; /* 3 + 2 * blocks + 3 */
    float eps, slope;
    p3d_conv2d_params p[MID0 + 2 * EDGE_MAX_BLOCKS + 3];
    char name[MID0 + 2 * EDGE_MAX_BLOCKS + 3][32]; /* tensor prefix */
    int32_t has_bias[MID0 + 2 * EDGE_MAX_BLOCKS + 3];
    p3d_conv2d *conv[MID0 + 2 * EDGE_MAX_BLOCKS + 3];
} edge_net;

/* Index of decoder_k (k = 0, 1, 2). */
static int32_t dec_index(const edge_net *e, int32_t k) { return MID0 + 2 * e->blocks + k; }

static void add_layer(edge_net *e, int32_t i, const char *name, p3d_conv2d_params p, p3d_pad_mode pad, p3d_act act,
                      int32_t bias) {
    p.pad_mode = pad;
    p.act = act;
    p.act_slope = e->slope;
    e->p[i] = p;
    snprintf(e->name[i], sizeof e->name[i], "%s", name);
    e->has_bias[i] = bias;
}

/* The layer table of reference 3.4 for `blocks` residual blocks of dilation `dil`. */
static void edge_table(edge_net *e, int32_t in_channels, int32_t dil) {
    char name[32];
    add_layer(e, ENC0, "encoder_0.1", p3d_conv2d_params_make(in_channels, 64, 7, 1, 3), P3D_PAD_REFLECT, P3D_ACT_NONE, 1);
    add_layer(e, ENC1, "encoder_1.0", p3d_conv2d_params_make(64, 128, 4, 2, 1), P3D_PAD_ZEROS, P3D_ACT_NONE, 1);
    add_layer(e, ENC2, "encoder_2.0", p3d_conv2d_params_make(128, 256, 4, 2, 1), P3D_PAD_ZEROS, P3D_ACT_NONE, 1);
    for (int32_t b = 0; b < e->blocks; b++) {
        p3d_conv2d_params p = p3d_conv2d_params_make(256, 256, 3, 1, dil);
        p.dilation_h = p.dilation_w = dil;
        snprintf(name, sizeof name, "middle.%d.conv_block.1", (int)b);
        add_layer(e, MID0 + 2 * b, name, p, P3D_PAD_REFLECT, P3D_ACT_NONE, 0);
        snprintf(name, sizeof name, "middle.%d.conv_block.5", (int)b);
        add_layer(e, MID0 + 2 * b + 1, name, p3d_conv2d_params_make(256, 256, 3, 1, 1), P3D_PAD_REFLECT, P3D_ACT_NONE, 0);
    }
    p3d_conv2d_params t0 = p3d_conv2d_params_make(512, 128, 4, 2, 1), t1 = p3d_conv2d_params_make(256, 64, 4, 2, 1);
    t0.transposed = t1.transposed = 1;
    add_layer(e, dec_index(e, 0), "decoder_0.0", t0, P3D_PAD_ZEROS, P3D_ACT_NONE, 1);
    add_layer(e, dec_index(e, 1), "decoder_1.0", t1, P3D_PAD_ZEROS, P3D_ACT_NONE, 1);
    add_layer(e, dec_index(e, 2), "decoder_2.1", p3d_conv2d_params_make(128, 1, 7, 1, 3), P3D_PAD_REFLECT,
              P3D_ACT_SIGMOID, 1);
    e->n_layers = dec_index(e, 3);
}

static void edge_free(p3d_inpaint_body *b) {
    edge_net *e = (edge_net *)b;
    if (!e) return;
    for (int32_t i = 0; i < e->n_layers; i++) p3d_conv2d_free(e->conv[i]);
    free(e);
}

static p3d_status edge_check(const p3d_weights *w, p3d_inpaint_dims *dims, int32_t *blocks, int32_t *dil, float *eps,
                             float *slope) {
    P3D_TRY(p3d_inpaint_hp_i64(w, "in_channels", 7, 7, &dims->in_channels));
    P3D_TRY(p3d_inpaint_hp_i64(w, "out_channels", 1, 1, &dims->out_channels));
    P3D_TRY(p3d_inpaint_hp_i64(w, "residual_blocks", 1, EDGE_MAX_BLOCKS, blocks));
    P3D_TRY(p3d_inpaint_hp_i64(w, "resblock_dilation", 1, 16, dil));
    P3D_TRY(p3d_inpaint_hp_i64(w, "unit_length", 32, 1 << 14, &dims->unit));
    /* Two stride-2 steps need multiples of 4; reflection by the dilation at H/4 needs more than it. */
    if (dims->unit % 4 || dims->unit / 4 <= *dil)
        return p3d_fail(P3D_ERR_MODEL, "%s: hyper-parameter unit_length = %d must be a multiple of 4 above 4 x "
                        "resblock_dilation", p3d_weights_path(w), (int)dims->unit);
    P3D_TRY(p3d_inpaint_hp_f32(w, "instance_norm_eps", 0.0, 1.0, eps));
    P3D_TRY(p3d_inpaint_hp_f32(w, "leaky_slope", 0.0, 1.0, slope));
    P3D_TRY(p3d_inpaint_hp_str(w, "output_activation", "sigmoid"));
    return p3d_inpaint_hp_str(w, "spectral_norm", "folded into weight");
}

static p3d_status edge_init(p3d_inpaint_body **out, p3d_ctx *ctx, const p3d_weights *w, p3d_inpaint_kind kind,
                            p3d_inpaint_dims *dims) {
    *out = NULL;
    int32_t blocks = 0, dil = 0;
    float eps = 0, slope = 0;
    P3D_TRY(edge_check(w, dims, &blocks, &dil, &eps, &slope));
    edge_net *e = (edge_net *)calloc(1, sizeof *e);
    if (!e) return p3d_fail(P3D_ERR_OOM, "inpaint %s: out of host memory", p3d_inpaint_kind_name(kind));
    e->ctx = ctx;
    e->blocks = blocks;
    e->eps = eps;
    e->slope = slope;
    edge_table(e, dims->in_channels, dil);
    p3d_inpaint_spec spec;
    spec.n = 0;
    for (int32_t i = 0; i < e->n_layers; i++)
        p3d_inpaint_spec_conv(&spec, &e->p[i], e->name[i], e->has_bias[i] ? e->name[i] : NULL);
    p3d_status st = p3d_weights_check(w, spec.row, spec.n);
    for (int32_t i = 0; i < e->n_layers && st == P3D_OK; i++)
        st = p3d_conv2d_init(&e->conv[i], ctx, &e->p[i], p3d_inpaint_tensor(w, e->name[i], "weight"),
                             e->has_bias[i] ? p3d_inpaint_tensor(w, e->name[i], "bias") : NULL);
    if (st != P3D_OK) {
        edge_free((p3d_inpaint_body *)e);
        return st;
    }
    *out = (p3d_inpaint_body *)e;
    return P3D_OK;
}

/* Input height of layer i for a padded input of height h (the same for widths). */
static int64_t layer_in(const edge_net *e, int32_t i, int64_t h) {
    if (i == ENC0 || i == ENC1 || i == dec_index(e, 2)) return h;
    if (i == ENC2 || i == dec_index(e, 1)) return h / 2;
    return h / 4; /* middle blocks and decoder_0 */
}

static p3d_status edge_plan(p3d_inpaint_body *b, int64_t n, int64_t h, int64_t w) {
    edge_net *e = (edge_net *)b;
    for (int32_t i = 0; i < e->n_layers; i++) P3D_TRY(p3d_conv2d_plan(e->conv[i], n, layer_in(e, i, h), layer_in(e, i, w)));
    return P3D_OK;
}

static int64_t edge_macs(const p3d_inpaint_body *b, int64_t n, int64_t h, int64_t w) {
    const edge_net *e = (const edge_net *)b;
    int64_t macs = 0;
    for (int32_t i = 0; i < e->n_layers; i++) macs += p3d_conv2d_macs(&e->p[i], n, layer_in(e, i, h), layer_in(e, i, w));
    return macs;
}

/* conv, then instance norm with act in place. */
static p3d_status conv_norm(const edge_net *e, int32_t i, const p3d_tensor *x, p3d_tensor *y, p3d_act act) {
    P3D_TRY(p3d_conv2d_forward(e->conv[i], x, y));
    return p3d_instance_norm(e->ctx, y, y, e->eps, act, e->slope);
}

static p3d_status edge_run(p3d_inpaint_body *b, p3d_arena *a, const p3d_tensor *x, p3d_tensor *y) {
    edge_net *e = (edge_net *)b;
    p3d_ctx *ctx = e->ctx;
    const p3d_mem mem = p3d_ctx_mem(ctx);
    const int64_t n = x->shape[0], H = x->shape[2], W = x->shape[3];
    const int64_t q = n * (H / 4) * (W / 4); /* pixels of a batch at H/4 */
    float *r_x1 = NULL, *r_x2 = NULL, *r_mid = NULL, *r_cat = NULL, *r_x6 = NULL;
    P3D_TRY(p3d_inpaint_region(a, 64 * 16 * q, &r_x1));
    P3D_TRY(p3d_inpaint_region(a, 128 * 4 * q, &r_x2));
    P3D_TRY(p3d_inpaint_region(a, 2 * 256 * q, &r_mid));  /* x3 | v, later x5 (128 * 4 q) */
    P3D_TRY(p3d_inpaint_region(a, 128 * 16 * q, &r_cat)); /* t1 | t2, then cat0, cat1, cat2 */
    P3D_TRY(p3d_inpaint_region(a, 64 * 16 * q, &r_x6));
    if (p3d_arena_planning(a)) return P3D_OK;

    p3d_tensor x1 = p3d_inpaint_view(r_x1, mem, n, 64, H, W);
    p3d_tensor x2 = p3d_inpaint_view(r_x2, mem, n, 128, H / 2, W / 2);
    p3d_tensor x3 = p3d_inpaint_view(r_mid, mem, n, 256, H / 4, W / 4);
    p3d_tensor v = p3d_inpaint_view(r_mid + 256 * q, mem, n, 256, H / 4, W / 4);
    p3d_tensor t1 = p3d_inpaint_view(r_cat, mem, n, 256, H / 4, W / 4);
    p3d_tensor t2 = p3d_inpaint_view(r_cat + 256 * q, mem, n, 256, H / 4, W / 4);
    P3D_TRY(conv_norm(e, ENC0, x, &x1, P3D_ACT_RELU));
    P3D_TRY(conv_norm(e, ENC1, &x1, &x2, P3D_ACT_RELU));
    P3D_TRY(conv_norm(e, ENC2, &x2, &x3, P3D_ACT_RELU));
    const p3d_tensor *in = &x3; /* x3 stays intact for the skip: the first block writes its sum to v */
    for (int32_t blk = 0; blk < e->blocks; blk++) {
        P3D_TRY(conv_norm(e, MID0 + 2 * blk, in, &t1, P3D_ACT_LEAKY_RELU));
        P3D_TRY(conv_norm(e, MID0 + 2 * blk + 1, &t1, &t2, P3D_ACT_NONE));
        P3D_TRY(p3d_add(ctx, in, &t2, &v));
        in = &v;
    }
    p3d_tensor cat0 = p3d_inpaint_view(r_cat, mem, n, 512, H / 4, W / 4);
    const p3d_tensor *parts0[2] = {&v, &x3};
    P3D_TRY(p3d_concat(ctx, parts0, 2, &cat0));
    p3d_tensor x5 = p3d_inpaint_view(r_mid, mem, n, 128, H / 2, W / 2);
    P3D_TRY(conv_norm(e, dec_index(e, 0), &cat0, &x5, P3D_ACT_RELU));
    p3d_tensor cat1 = p3d_inpaint_view(r_cat, mem, n, 256, H / 2, W / 2);
    const p3d_tensor *parts1[2] = {&x5, &x2};
    P3D_TRY(p3d_concat(ctx, parts1, 2, &cat1));
    p3d_tensor x6 = p3d_inpaint_view(r_x6, mem, n, 64, H, W);
    P3D_TRY(conv_norm(e, dec_index(e, 1), &cat1, &x6, P3D_ACT_RELU));
    p3d_tensor cat2 = p3d_inpaint_view(r_cat, mem, n, 128, H, W);
    const p3d_tensor *parts2[2] = {&x6, &x1};
    P3D_TRY(p3d_concat(ctx, parts2, 2, &cat2));
    return p3d_conv2d_forward(e->conv[dec_index(e, 2)], &cat2, y);
}

const p3d_inpaint_body_ops p3d_inpaint_edge_ops = {edge_init, edge_free, edge_plan, edge_run, edge_macs};
