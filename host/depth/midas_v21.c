/* midas_v21.c - MiDaS v2.1 small and large (midas_v21.h). Each net is built at load time as a list of
 * op nodes (conv, 'same' zero padding, max pool, add, ReLU, bilinear x2) over numbered values, value 0
 * being the input and the last one the output; tools/midas21_nets.py is the PyTorch definition this
 * follows node by node.
 *
 * Memory: per input size, a shape pass gives every value its (C, H, W); a liveness pass then puts each
 * value in an activation buffer whose previous value is dead (the smallest free one that fits, else the
 * largest free one, grown), and ADD / ReLU write over an input that dies at that node. The buffers are
 * carved from one arena in a fixed order, so the planning pass and every forward lay memory out the
 * same way (arena.h's plan-or-run pattern). */
#include "depth/midas_v21.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "io/resize_cubic.h"
#include "layers/eltwise.h"
#include "layers/maxpool2d.h"
#include "layers/upsample.h"
#include "nn/conv2d.h"
#include "nn/nn_common.h"
#include "nn/pad.h"

#define NAME_MAX_LEN 64

static const char *const k_kind_name[P3D_MIDAS21_KIND_COUNT] = {"midas-small", "midas-large"};
static const p3d_model_kind k_model_kind[P3D_MIDAS21_KIND_COUNT] = {P3D_MODEL_MIDAS_SMALL, P3D_MODEL_MIDAS_LARGE};
static const int32_t k_native[P3D_MIDAS21_KIND_COUNT] = {256, 384};
/* ImageNet statistics of run.py's NormalizeImage. */
static const double k_mean[3] = {0.485, 0.456, 0.406};
static const double k_std[3] = {0.229, 0.224, 0.225};

const char *p3d_midas21_kind_name(p3d_midas21_kind kind) {
    return (unsigned)kind < P3D_MIDAS21_KIND_COUNT ? k_kind_name[kind] : "?";
}

p3d_status p3d_midas21_kind_parse(const char *text, p3d_midas21_kind *out) {
    for (int32_t k = 0; k < P3D_MIDAS21_KIND_COUNT; k++) {
        if (strcmp(text, k_kind_name[k]) == 0) {
            *out = (p3d_midas21_kind)k;
            return P3D_OK;
        }
    }
    return p3d_fail(P3D_ERR_INVALID_ARG, "unknown MiDaS v2.1 model '%s' (expected midas-small or midas-large)", text);
}

int32_t p3d_midas21_native_size(p3d_midas21_kind kind) {
    P3D_ASSERT((unsigned)kind < P3D_MIDAS21_KIND_COUNT);
    return k_native[kind];
}

/* ---- run.py's input path -------------------------------------------------------------------------------- */

/* Resize.constrain_to_multiple_of(x, max_val=limit): np.round is round-half-to-even, as nearbyint in the
 * default rounding mode. */
static int64_t constrain_to_multiple(double x, int32_t limit) {
    double y = nearbyint(x / P3D_MIDAS21_MULTIPLE) * P3D_MIDAS21_MULTIPLE;
    if (y > limit) y = floor(x / P3D_MIDAS21_MULTIPLE) * P3D_MIDAS21_MULTIPLE;
    return (int64_t)y;
}

p3d_status p3d_midas21_input_size(int32_t size, int32_t width, int32_t height, int32_t *net_w, int32_t *net_h) {
    if (size < 1 || width < 1 || height < 1)
        return p3d_fail(P3D_ERR_INVALID_ARG, "midas: input size for a %dx%d photo at %d: every value must be >= 1",
                        (int)width, (int)height, (int)size);
    double scale_h = (double)size / height, scale_w = (double)size / width;
    if (scale_w < scale_h) scale_h = scale_w;
    else scale_w = scale_h;
    const int64_t w = constrain_to_multiple(scale_w * width, size), h = constrain_to_multiple(scale_h * height, size);
    if (w < 1 || h < 1)
        return p3d_fail(P3D_ERR_INVALID_ARG, "midas: a %dx%d photo gives a %lldx%lld network input at size %d (too "
                        "elongated)", (int)width, (int)height, (long long)w, (long long)h, (int)size);
    *net_w = (int32_t)w;
    *net_h = (int32_t)h;
    return P3D_OK;
}

size_t p3d_midas21_preprocess_work(int32_t net_w, int32_t net_h) {
    return (size_t)net_w * (size_t)net_h * 3 + p3d_resize_cubic_scratch(net_w, 3);
}

p3d_status p3d_midas21_preprocess(const uint8_t *rgb, int32_t width, int32_t height, int32_t net_w, int32_t net_h,
                                  float *out, double *work) {
    const int64_t plane = (int64_t)net_w * net_h;
    double *img = work;
    P3D_TRY(p3d_resize_cubic_u8(rgb, width, height, 3, 255.0, img, net_w, net_h, work + plane * 3));
    for (int64_t c = 0; c < 3; c++)
        for (int64_t i = 0; i < plane; i++) out[c * plane + i] = (float)((img[i * 3 + c] - k_mean[c]) / k_std[c]);
    return P3D_OK;
}

/* ---- the graph ------------------------------------------------------------------------------------------ */

typedef enum node_op {
    OP_CONV = 0,
    OP_PAD_SAME = 1,   /* TF 'same' zero padding for the stride-2 conv `layer` */
    OP_MAXPOOL = 2,    /* 3x3, stride 2, pad 1 */
    OP_ADD = 3,
    OP_RELU = 4,
    OP_UP_ALIGNED = 5, /* bilinear x2, align_corners=True */
    OP_UP_HALF = 6,    /* bilinear x2, align_corners=False */
} node_op;

typedef struct layer {
    char weight_name[NAME_MAX_LEN + 8], bias_name[NAME_MAX_LEN + 8];
    p3d_conv2d_params p;
    int32_t has_bias;
    p3d_conv2d *conv;
} layer;

typedef struct node {
    node_op op;
    int32_t a, b, out; /* values; b only for OP_ADD */
    int32_t layer;     /* OP_CONV, OP_PAD_SAME */
} node;

struct p3d_midas21 {
    p3d_ctx *ctx;
    p3d_midas21_kind kind;
    layer *layers;
    int32_t n_layers, cap_layers;
    node *nodes;
    int32_t n_nodes, cap_nodes;
    int32_t n_values, cap_values;
    int32_t *chan;     /* per value */
    int32_t *last_use; /* per value: the last node reading it */
    int32_t built_ok;  /* 0 after an allocation failure while building */
    /* per-size state, rebuilt by every pass (one pass at a time) */
    int64_t *hw;        /* per value: H, W */
    int32_t *buf;       /* per value: activation buffer, -1 for the input / output */
    size_t *buf_floats; /* per buffer */
    int32_t *buf_busy;  /* per buffer: last node reading its current value */
    float **buf_data;   /* per buffer */
    int32_t n_bufs;
    p3d_arena *arena;
    p3d_plan_cache plans; /* (1, h, w) planned */
    /* estimate path */
    float *host_x;
    double *host_work;
    size_t host_x_cap, host_work_cap;
    void *dev_x, *dev_y;
    size_t dev_x_cap, dev_y_cap;
};

static void *grow(void *p, int32_t *cap, int32_t need, size_t elem) {
    if (need <= *cap) return p;
    const int32_t n = *cap ? *cap * 2 : 64;
    void *q = realloc(p, (size_t)n * elem);
    if (q) *cap = n;
    return q;
}

static int32_t new_value(p3d_midas21 *m, int32_t channels) {
    if (m->n_values == m->cap_values) {
        const int32_t cap = m->cap_values ? m->cap_values * 2 : 256;
        int32_t *c = (int32_t *)realloc(m->chan, (size_t)cap * sizeof *c);
        if (c) m->chan = c;
        int32_t *l = (int32_t *)realloc(m->last_use, (size_t)cap * sizeof *l);
        if (l) m->last_use = l;
        if (!c || !l) {
            m->built_ok = 0;
            return 0;
        }
        m->cap_values = cap;
    }
    m->chan[m->n_values] = channels;
    m->last_use[m->n_values] = -1;
    return m->n_values++;
}

/* Appends a node reading a (and b) and returns its new output value of `channels` channels. */
static int32_t add_node(p3d_midas21 *m, node_op op, int32_t a, int32_t b, int32_t layer_index, int32_t channels) {
    node *nodes = (node *)grow(m->nodes, &m->cap_nodes, m->n_nodes + 1, sizeof *nodes);
    if (!nodes || !m->built_ok) {
        m->built_ok = 0;
        return 0;
    }
    m->nodes = nodes;
    const int32_t out = new_value(m, channels);
    if (!m->built_ok) return 0;
    node *n = &m->nodes[m->n_nodes];
    n->op = op;
    n->a = a;
    n->b = b;
    n->out = out;
    n->layer = layer_index;
    m->last_use[a] = m->n_nodes;
    if (b >= 0) m->last_use[b] = m->n_nodes;
    m->n_nodes++;
    return out;
}

/* A conv `name` (blob tensors NAME.weight [cout, cin/groups, k, k] and, with bias, NAME.bias) on x. `same`:
 * TF 'same' padding computed from the input size by a pad node (stride 2); else zero padding `pad`. */
static int32_t conv(p3d_midas21 *m, int32_t x, const char *name, int32_t cin, int32_t cout, int32_t k, int32_t stride,
                    int32_t pad, int32_t groups, int32_t bias, p3d_act act, int32_t same) {
    layer *layers = (layer *)grow(m->layers, &m->cap_layers, m->n_layers + 1, sizeof *layers);
    if (!layers || !m->built_ok) {
        m->built_ok = 0;
        return 0;
    }
    m->layers = layers;
    layer *l = &m->layers[m->n_layers];
    memset(l, 0, sizeof *l);
    if (strlen(name) >= NAME_MAX_LEN) P3D_ABORT("midas: layer name %s too long", name);
    snprintf(l->weight_name, sizeof l->weight_name, "%s.weight", name);
    snprintf(l->bias_name, sizeof l->bias_name, "%s.bias", name);
    l->p = p3d_conv2d_params_make(cin, cout, k, stride, same ? 0 : pad);
    l->p.groups = groups;
    l->p.act = act;
    l->has_bias = bias;
    const int32_t index = m->n_layers++;
    if (same) x = add_node(m, OP_PAD_SAME, x, -1, index, cin);
    return add_node(m, OP_CONV, x, -1, index, cout);
}

static int32_t relu(p3d_midas21 *m, int32_t x) { return add_node(m, OP_RELU, x, -1, -1, m->chan[x]); }
static int32_t add(p3d_midas21 *m, int32_t a, int32_t b) { return add_node(m, OP_ADD, a, b, -1, m->chan[a]); }

/* ---- MidasNet_small ------------------------------------------------------------------------------------- */

/* tf_efficientnet_lite3's stages (tools/convert_midas21.py lite3_stages): depthwise-separable or inverted
 * residual (expansion 6; every input width is a multiple of 8, so make_divisible(6 * in) = 6 * in),
 * kernel, first stride, output channels, repeats, and the module holding the stage. */
typedef struct lite_stage {
    int32_t ds, k, stride, cout, repeats;
    const char *prefix;
} lite_stage;

static const lite_stage k_lite3[7] = {
    {1, 3, 1, 24, 1, "pretrained.layer1.3"}, {0, 3, 2, 32, 3, "pretrained.layer1.4"},
    {0, 5, 2, 48, 3, "pretrained.layer2.0"}, {0, 3, 2, 96, 5, "pretrained.layer3.0"},
    {0, 5, 1, 136, 5, "pretrained.layer3.1"}, {0, 5, 2, 232, 6, "pretrained.layer4.0"},
    {0, 3, 1, 384, 1, "pretrained.layer4.1"},
};
/* The stage after which MiDaS's layer1..layer4 end. */
static const int32_t k_lite3_layer_end[4] = {1, 2, 4, 6};

/* A ReLU6 conv with TF 'same' padding (a pad node for stride 2, k/2 each side for stride 1). */
static int32_t tf_conv(p3d_midas21 *m, int32_t x, const char *name, int32_t cin, int32_t cout, int32_t k,
                       int32_t stride, int32_t groups, p3d_act act) {
    return conv(m, x, name, cin, cout, k, stride, k / 2, groups, 1, act, stride > 1);
}

/* ResidualConvUnit_custom (ReLU(False)): x + conv2(relu(conv1(relu(x)))). */
static int32_t rcu_custom(p3d_midas21 *m, int32_t x, const char *name, int32_t c) {
    char n1[NAME_MAX_LEN], n2[NAME_MAX_LEN];
    snprintf(n1, sizeof n1, "%s.conv1", name);
    snprintf(n2, sizeof n2, "%s.conv2", name);
    int32_t t = conv(m, relu(m, x), n1, c, c, 3, 1, 1, 1, 1, P3D_ACT_RELU, 0);
    t = conv(m, t, n2, c, c, 3, 1, 1, 1, 1, P3D_ACT_NONE, 0);
    return add(m, t, x);
}

/* ResidualConvUnit with its in-place ReLU: relu(x) + conv2(relu(conv1(relu(x)))). */
static int32_t rcu_inplace(p3d_midas21 *m, int32_t x, const char *name, int32_t c) {
    char n1[NAME_MAX_LEN], n2[NAME_MAX_LEN];
    snprintf(n1, sizeof n1, "%s.conv1", name);
    snprintf(n2, sizeof n2, "%s.conv2", name);
    const int32_t r = relu(m, x);
    int32_t t = conv(m, r, n1, c, c, 3, 1, 1, 1, 1, P3D_ACT_RELU, 0);
    t = conv(m, t, n2, c, c, 3, 1, 1, 1, 1, P3D_ACT_NONE, 0);
    return add(m, t, r);
}

/* refinenet i: [x0 + RCU1(skip)] -> RCU2 -> bilinear x2 (align_corners) [-> 1x1 out_conv (small)]. */
static int32_t fusion(p3d_midas21 *m, int32_t i, int32_t x0, int32_t skip, int32_t c, int32_t out_c) {
    const int small = m->kind == P3D_MIDAS21_SMALL;
    char unit[NAME_MAX_LEN];
    int32_t s = x0;
    if (skip >= 0) {
        snprintf(unit, sizeof unit, "scratch.refinenet%d.resConfUnit1", (int)i);
        s = add(m, s, small ? rcu_custom(m, skip, unit, c) : rcu_inplace(m, skip, unit, c));
    }
    snprintf(unit, sizeof unit, "scratch.refinenet%d.resConfUnit2", (int)i);
    s = small ? rcu_custom(m, s, unit, c) : rcu_inplace(m, s, unit, c);
    s = add_node(m, OP_UP_ALIGNED, s, -1, -1, c);
    if (!small) return s;
    snprintf(unit, sizeof unit, "scratch.refinenet%d.out_conv", (int)i);
    return conv(m, s, unit, c, out_c, 1, 1, 0, 1, 1, P3D_ACT_NONE, 0);
}

/* The shared decoder: layerN_rn, the four fusion blocks and output_conv; layer[] = encoder outputs. */
static void decoder(p3d_midas21 *m, const int32_t layer_out[4], const int32_t enc_c[4], const int32_t feat[4]) {
    const int small = m->kind == P3D_MIDAS21_SMALL;
    char name[NAME_MAX_LEN];
    int32_t rn[4];
    for (int32_t i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "scratch.layer%d_rn", (int)i + 1);
        rn[i] = conv(m, layer_out[i], name, enc_c[i], feat[i], 3, 1, 1, 1, 0, P3D_ACT_NONE, 0);
    }
    int32_t path = -1;
    for (int32_t i = 4; i >= 1; i--) {
        const int32_t c = feat[i - 1], out_c = small && i > 1 ? c / 2 : c;
        path = fusion(m, i, i == 4 ? rn[3] : path, i == 4 ? -1 : rn[i - 1], c, out_c);
    }
    const int32_t f = feat[0], mid = small ? f / 2 : 128;
    int32_t t = conv(m, path, "scratch.output_conv.0", f, mid, 3, 1, 1, 1, 1, P3D_ACT_NONE, 0);
    t = add_node(m, OP_UP_HALF, t, -1, -1, mid);
    t = conv(m, t, "scratch.output_conv.2", mid, 32, 3, 1, 1, 1, 1, P3D_ACT_RELU, 0);
    conv(m, t, "scratch.output_conv.4", 32, 1, 1, 1, 0, 1, 1, P3D_ACT_RELU, 0);
}

static void build_small(p3d_midas21 *m) {
    char name[NAME_MAX_LEN];
    int32_t x = tf_conv(m, 0, "pretrained.layer1.0", 3, 32, 3, 2, 1, P3D_ACT_RELU6);
    int32_t cin = 32, layer_out[4], li = 0;
    for (int32_t s = 0; s < 7; s++) {
        const lite_stage *st = &k_lite3[s];
        for (int32_t j = 0; j < st->repeats; j++) {
            const int32_t stride = j == 0 ? st->stride : 1, mid = 6 * cin;
            const int32_t in = x;
            if (st->ds) {
                snprintf(name, sizeof name, "%s.%d.conv_dw", st->prefix, (int)j);
                x = tf_conv(m, x, name, cin, cin, st->k, stride, cin, P3D_ACT_RELU6);
                snprintf(name, sizeof name, "%s.%d.conv_pw", st->prefix, (int)j);
                x = tf_conv(m, x, name, cin, st->cout, 1, 1, 1, P3D_ACT_NONE);
            } else {
                snprintf(name, sizeof name, "%s.%d.conv_pw", st->prefix, (int)j);
                x = tf_conv(m, x, name, cin, mid, 1, 1, 1, P3D_ACT_RELU6);
                snprintf(name, sizeof name, "%s.%d.conv_dw", st->prefix, (int)j);
                x = tf_conv(m, x, name, mid, mid, st->k, stride, mid, P3D_ACT_RELU6);
                snprintf(name, sizeof name, "%s.%d.conv_pwl", st->prefix, (int)j);
                x = tf_conv(m, x, name, mid, st->cout, 1, 1, 1, P3D_ACT_NONE);
            }
            if (stride == 1 && cin == st->cout) x = add(m, x, in);
            cin = st->cout;
        }
        if (li < 4 && s == k_lite3_layer_end[li]) layer_out[li++] = x;
    }
    static const int32_t enc_c[4] = {32, 48, 136, 384}, feat[4] = {64, 128, 256, 512};
    decoder(m, layer_out, enc_c, feat);
}

/* ---- MidasNet (ResNeXt-101 32x8d) ---------------------------------------------------------------------- */

static void build_large(p3d_midas21 *m) {
    static const int32_t blocks[4] = {3, 4, 23, 3}, planes[4] = {64, 128, 256, 512};
    char name[NAME_MAX_LEN], prefix[32];
    int32_t x = conv(m, 0, "pretrained.layer1.0", 3, 64, 7, 2, 3, 1, 1, P3D_ACT_RELU, 0);
    x = add_node(m, OP_MAXPOOL, x, -1, -1, 64);
    int32_t cin = 64, layer_out[4];
    for (int32_t li = 0; li < 4; li++) {
        const int32_t width = planes[li] * 4, cout = planes[li] * 4; /* planes * 8 / 64 * 32 groups; expansion 4 */
        for (int32_t j = 0; j < blocks[li]; j++) {
            const int32_t stride = j == 0 && li > 0 ? 2 : 1;
            if (li == 0) snprintf(prefix, sizeof prefix, "pretrained.layer1.4.%d", (int)j);
            else snprintf(prefix, sizeof prefix, "pretrained.layer%d.%d", (int)li + 1, (int)j);
            snprintf(name, sizeof name, "%s.conv1", prefix);
            int32_t t = conv(m, x, name, cin, width, 1, 1, 0, 1, 1, P3D_ACT_RELU, 0);
            snprintf(name, sizeof name, "%s.conv2", prefix);
            t = conv(m, t, name, width, width, 3, stride, 1, 32, 1, P3D_ACT_RELU, 0);
            snprintf(name, sizeof name, "%s.conv3", prefix);
            t = conv(m, t, name, width, cout, 1, 1, 0, 1, 1, P3D_ACT_NONE, 0);
            int32_t identity = x;
            if (j == 0) {
                snprintf(name, sizeof name, "%s.downsample.0", prefix);
                identity = conv(m, x, name, cin, cout, 1, stride, 0, 1, 1, P3D_ACT_NONE, 0);
            }
            x = relu(m, add(m, t, identity));
            cin = cout;
        }
        layer_out[li] = x;
    }
    static const int32_t enc_c[4] = {256, 512, 1024, 2048}, feat[4] = {256, 256, 256, 256};
    decoder(m, layer_out, enc_c, feat);
}

/* ---- loading -------------------------------------------------------------------------------------------- */

static p3d_status check_hparams(const p3d_weights *w, p3d_midas21_kind kind) {
    const int small = kind == P3D_MIDAS21_SMALL;
    const int64_t features = small ? 64 : 256;
    P3D_TRY(p3d_weights_expect_i64(w, "features", features, features, NULL));
    P3D_TRY(p3d_weights_expect_i64(w, "input_size", k_native[kind], k_native[kind], NULL));
    P3D_TRY(p3d_weights_expect_str(w, "backbone", small ? "efficientnet_lite3" : "resnext101_32x8d"));
    P3D_TRY(p3d_weights_expect_str(w, "batch_norm", "folded into conv"));
    P3D_TRY(p3d_weights_expect_str(w, "padding", small ? "tf-same" : "symmetric"));
    P3D_TRY(p3d_weights_expect_str(w, "activation", small ? "relu6" : "relu"));
    P3D_TRY(p3d_weights_expect_str(w, "rcu_skip", small ? "x" : "relu(x)"));
    return p3d_weights_expect_i64(w, "non_negative", 1, 1, NULL);
}

static p3d_status check_tensors(const p3d_midas21 *m, const p3d_weights *w) {
    p3d_weight_spec *spec = (p3d_weight_spec *)calloc((size_t)m->n_layers * 2, sizeof *spec);
    if (!spec) return p3d_fail(P3D_ERR_OOM, "%s: out of host memory", k_kind_name[m->kind]);
    int32_t n = 0;
    for (int32_t i = 0; i < m->n_layers; i++) {
        const layer *l = &m->layers[i];
        p3d_weight_spec *r = &spec[n++];
        r->name = l->weight_name;
        r->dtype = P3D_F32;
        r->ndim = 4;
        r->dims[0] = l->p.out_channels;
        r->dims[1] = l->p.in_channels / l->p.groups;
        r->dims[2] = l->p.kernel_h;
        r->dims[3] = l->p.kernel_w;
        if (!l->has_bias) continue;
        r = &spec[n++];
        r->name = l->bias_name;
        r->dtype = P3D_F32;
        r->ndim = 1;
        r->dims[0] = l->p.out_channels;
    }
    const p3d_status st = p3d_weights_check(w, spec, n);
    free(spec);
    return st;
}

static const float *blob_data(const p3d_weights *w, const char *name) {
    p3d_tensor t;
    if (p3d_weights_get(w, name, &t) != P3D_OK || t.dtype != P3D_F32)
        P3D_ABORT("midas: tensor %s passed the check but cannot be read", name);
    return (const float *)t.data;
}

void p3d_midas21_free(p3d_midas21 *m) {
    if (!m) return;
    for (int32_t i = 0; i < m->n_layers; i++) p3d_conv2d_free(m->layers[i].conv);
    p3d_arena_free(m->arena);
    p3d_ctx_release(m->ctx, m->dev_x);
    p3d_ctx_release(m->ctx, m->dev_y);
    free(m->layers);
    free(m->nodes);
    free(m->chan);
    free(m->last_use);
    free(m->hw);
    free(m->buf);
    free(m->buf_floats);
    free(m->buf_busy);
    free(m->buf_data);
    free(m->host_x);
    free(m->host_work);
    free(m);
}

p3d_status p3d_midas21_init(p3d_midas21 **out, p3d_ctx *ctx, const p3d_weights *w, p3d_midas21_kind kind) {
    *out = NULL;
    if ((unsigned)kind >= P3D_MIDAS21_KIND_COUNT) return p3d_fail(P3D_ERR_INVALID_ARG, "midas: bad kind %d", (int)kind);
    P3D_TRY(p3d_weights_expect_kind(w, k_model_kind[kind]));
    P3D_TRY(check_hparams(w, kind));
    p3d_midas21 *m = (p3d_midas21 *)calloc(1, sizeof *m);
    if (!m) return p3d_fail(P3D_ERR_OOM, "%s: out of host memory", k_kind_name[kind]);
    m->ctx = ctx;
    m->kind = kind;
    m->built_ok = 1;
    new_value(m, 3);
    if (kind == P3D_MIDAS21_SMALL) build_small(m);
    else build_large(m);
    p3d_status st = m->built_ok ? P3D_OK : p3d_fail(P3D_ERR_OOM, "%s: out of host memory", k_kind_name[kind]);
    if (st == P3D_OK) {
        const size_t nv = (size_t)m->n_values;
        m->hw = (int64_t *)calloc(nv * 2, sizeof *m->hw);
        m->buf = (int32_t *)calloc(nv, sizeof *m->buf);
        m->buf_floats = (size_t *)calloc(nv, sizeof *m->buf_floats);
        m->buf_busy = (int32_t *)calloc(nv, sizeof *m->buf_busy);
        m->buf_data = (float **)calloc(nv, sizeof *m->buf_data);
        if (!m->hw || !m->buf || !m->buf_floats || !m->buf_busy || !m->buf_data)
            st = p3d_fail(P3D_ERR_OOM, "%s: out of host memory", k_kind_name[kind]);
    }
    for (int32_t v = 0; st == P3D_OK && v < m->n_values - 1; v++)
        if (m->last_use[v] < 0) P3D_ABORT("midas: value %d is never read", (int)v);
    if (st == P3D_OK) st = check_tensors(m, w);
    for (int32_t i = 0; st == P3D_OK && i < m->n_layers; i++) {
        layer *l = &m->layers[i];
        st = p3d_conv2d_init(&l->conv, ctx, &l->p, blob_data(w, l->weight_name),
                             l->has_bias ? blob_data(w, l->bias_name) : NULL);
    }
    if (st == P3D_OK) st = p3d_arena_init(&m->arena, ctx);
    if (st != P3D_OK) {
        p3d_midas21_free(m);
        return st;
    }
    *out = m;
    return P3D_OK;
}

p3d_status p3d_midas21_load(p3d_ctx *ctx, const char *path, p3d_midas21_kind kind, p3d_midas21 **out) {
    *out = NULL;
    p3d_weights *w = NULL;
    P3D_TRY(p3d_weights_load(path, &w));
    const p3d_status st = p3d_midas21_init(out, ctx, w, kind);
    p3d_weights_free(w);
    return st;
}

p3d_midas21_kind p3d_midas21_get_kind(const p3d_midas21 *m) { return m->kind; }

/* ---- shapes, buffers, execution ------------------------------------------------------------------------- */

/* TF 'same' padding of one axis of size n for a conv of kernel k, stride s: the total (before = total / 2). */
static int64_t same_total(int64_t n, int32_t k, int32_t s) {
    const int64_t t = ((n + s - 1) / s - 1) * s + k - n;
    return t > 0 ? t : 0;
}

static p3d_status check_size(const p3d_midas21 *m, int64_t h, int64_t w) {
    if (h < P3D_MIDAS21_MULTIPLE || w < P3D_MIDAS21_MULTIPLE || h % P3D_MIDAS21_MULTIPLE || w % P3D_MIDAS21_MULTIPLE)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: input %lldx%lld: height and width must be positive multiples of %d",
                        k_kind_name[m->kind], (long long)h, (long long)w, P3D_MIDAS21_MULTIPLE);
    return P3D_OK;
}

/* hw[2v], hw[2v+1] of every value for an h x w input. */
static p3d_status infer_shapes(const p3d_midas21 *m, int64_t h, int64_t w, int64_t *hw) {
    hw[0] = h;
    hw[1] = w;
    for (int32_t i = 0; i < m->n_nodes; i++) {
        const node *n = &m->nodes[i];
        const int64_t ih = hw[2 * n->a], iw = hw[2 * n->a + 1];
        int64_t *o = hw + 2 * n->out;
        switch (n->op) {
        case OP_CONV: P3D_TRY(p3d_conv2d_out_size(&m->layers[n->layer].p, ih, iw, &o[0], &o[1])); break;
        case OP_PAD_SAME: {
            const p3d_conv2d_params *p = &m->layers[n->layer].p;
            o[0] = ih + same_total(ih, p->kernel_h, p->stride_h);
            o[1] = iw + same_total(iw, p->kernel_w, p->stride_w);
            break;
        }
        case OP_MAXPOOL: P3D_TRY(p3d_maxpool2d_out_size(3, 2, 1, ih, iw, &o[0], &o[1])); break;
        case OP_ADD:
            if (hw[2 * n->b] != ih || hw[2 * n->b + 1] != iw)
                return p3d_fail(P3D_ERR_INVALID_ARG, "%s: input %lldx%lld: a residual sum meets %lldx%lld and "
                                "%lldx%lld", k_kind_name[m->kind], (long long)h, (long long)w, (long long)ih,
                                (long long)iw, (long long)hw[2 * n->b], (long long)hw[2 * n->b + 1]);
            o[0] = ih;
            o[1] = iw;
            break;
        case OP_RELU:
            o[0] = ih;
            o[1] = iw;
            break;
        case OP_UP_ALIGNED:
        case OP_UP_HALF:
            o[0] = 2 * ih;
            o[1] = 2 * iw;
            break;
        }
    }
    const int32_t last = m->n_values - 1;
    if (hw[2 * last] != h || hw[2 * last + 1] != w)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: input %lldx%lld gives a %lldx%lld output", k_kind_name[m->kind],
                        (long long)h, (long long)w, (long long)hw[2 * last], (long long)hw[2 * last + 1]);
    return P3D_OK;
}

/* Assigns every internal value a buffer (m->buf, m->buf_floats, m->n_bufs) for the shapes in m->hw. */
static void assign_buffers(p3d_midas21 *m) {
    const int32_t output = m->n_values - 1;
    m->n_bufs = 0;
    for (int32_t v = 0; v < m->n_values; v++) m->buf[v] = -1;
    for (int32_t i = 0; i < m->n_nodes; i++) {
        const node *n = &m->nodes[i];
        const int32_t v = n->out;
        if (v == output) continue;
        const size_t need = (size_t)m->chan[v] * (size_t)m->hw[2 * v] * (size_t)m->hw[2 * v + 1];
        if (n->op == OP_ADD || n->op == OP_RELU) { /* in place over an input that dies here */
            const int32_t cand[2] = {n->a, n->b};
            for (int k = 0; k < 2 && m->buf[v] < 0; k++)
                if (cand[k] > 0 && m->last_use[cand[k]] == i) m->buf[v] = m->buf[cand[k]];
        }
        if (m->buf[v] < 0) {
            int32_t best = -1, largest = -1;
            for (int32_t b = 0; b < m->n_bufs; b++) {
                if (m->buf_busy[b] >= i) continue;
                if (m->buf_floats[b] >= need && (best < 0 || m->buf_floats[b] < m->buf_floats[best])) best = b;
                if (largest < 0 || m->buf_floats[b] > m->buf_floats[largest]) largest = b;
            }
            if (best < 0) best = largest;
            if (best < 0) {
                best = m->n_bufs++;
                m->buf_floats[best] = 0;
            }
            m->buf[v] = best;
        }
        const int32_t b = m->buf[v];
        if (m->buf_floats[b] < need) m->buf_floats[b] = need;
        m->buf_busy[b] = m->last_use[v];
    }
}

static p3d_tensor view4(void *data, p3d_mem mem, int64_t c, int64_t h, int64_t w) {
    const int64_t shape[4] = {1, c, h, w};
    return p3d_tensor_view(data, P3D_F32, mem, 4, shape);
}

static p3d_tensor value_tensor(const p3d_midas21 *m, int32_t v, const p3d_tensor *x, const p3d_tensor *y) {
    if (v == 0) return *x;
    if (v == m->n_values - 1) return *y;
    return view4(m->buf_data[m->buf[v]], p3d_ctx_mem(m->ctx), m->chan[v], m->hw[2 * v], m->hw[2 * v + 1]);
}

/* Carves the buffers for an h x w input from the arena and, unless it is planning, runs x -> y
 * (y a (1, 1, H, W) view). */
static p3d_status run(p3d_midas21 *m, int64_t h, int64_t w, const p3d_tensor *x, const p3d_tensor *y) {
    P3D_TRY(infer_shapes(m, h, w, m->hw));
    assign_buffers(m);
    for (int32_t b = 0; b < m->n_bufs; b++) {
        void *p = NULL;
        P3D_TRY(p3d_arena_alloc(m->arena, m->buf_floats[b] * sizeof(float), &p));
        m->buf_data[b] = (float *)p;
    }
    if (p3d_arena_planning(m->arena)) return P3D_OK;
    p3d_ctx *ctx = m->ctx;
    for (int32_t i = 0; i < m->n_nodes; i++) {
        const node *n = &m->nodes[i];
        const p3d_tensor a = value_tensor(m, n->a, x, y);
        p3d_tensor o = value_tensor(m, n->out, x, y);
        switch (n->op) {
        case OP_CONV: P3D_TRY(p3d_conv2d_forward(m->layers[n->layer].conv, &a, &o)); break;
        case OP_PAD_SAME:
            P3D_TRY(p3d_pad(ctx, &a, &o, P3D_PAD_ZEROS, (o.shape[2] - a.shape[2]) / 2, (o.shape[3] - a.shape[3]) / 2));
            break;
        case OP_MAXPOOL: P3D_TRY(p3d_maxpool2d(ctx, &a, &o, 3, 2, 1)); break;
        case OP_ADD: {
            const p3d_tensor b = value_tensor(m, n->b, x, y);
            P3D_TRY(p3d_add(ctx, &a, &b, &o));
            break;
        }
        case OP_RELU: P3D_TRY(p3d_activation(ctx, &a, &o, P3D_ACT_RELU, 0.0f)); break;
        case OP_UP_ALIGNED: P3D_TRY(p3d_upsample(ctx, &a, &o, P3D_UPSAMPLE_BILINEAR_ALIGNED)); break;
        case OP_UP_HALF: P3D_TRY(p3d_upsample(ctx, &a, &o, P3D_UPSAMPLE_BILINEAR)); break;
        }
    }
    return P3D_OK;
}

p3d_status p3d_midas21_arena_bytes(const p3d_midas21 *m, int32_t h, int32_t w, size_t *bytes) {
    P3D_TRY(check_size(m, h, w));
    p3d_midas21 probe = *m;
    P3D_TRY(p3d_arena_init(&probe.arena, m->ctx)); /* never committed: allocates no context memory */
    p3d_arena_begin_plan(probe.arena);
    const p3d_status st = run(&probe, h, w, NULL, NULL);
    *bytes = p3d_arena_used(probe.arena);
    p3d_arena_free(probe.arena);
    return st;
}

/* Grows a host buffer to n elements of elem bytes (at plan time). */
static p3d_status grow_host(void **p, size_t *cap, size_t n, size_t elem, const char *what) {
    if (n <= *cap) return P3D_OK;
    void *q = realloc(*p, n * elem);
    if (!q) return p3d_fail(P3D_ERR_OOM, "midas: out of host memory for the %s", what);
    *p = q;
    *cap = n;
    return P3D_OK;
}

static p3d_status grow_ctx(p3d_ctx *ctx, void **p, size_t *cap, size_t bytes) {
    if (bytes <= *cap) return P3D_OK;
    p3d_ctx_release(ctx, *p);
    *p = NULL;
    *cap = 0;
    P3D_TRY(p3d_ctx_alloc(ctx, bytes, p));
    *cap = bytes;
    return P3D_OK;
}

p3d_status p3d_midas21_plan(p3d_midas21 *m, int32_t h, int32_t w) {
    P3D_TRY(check_size(m, h, w));
    if (p3d_plan_find(&m->plans, 1, h, w) >= 0) return P3D_OK;
    p3d_status st = infer_shapes(m, h, w, m->hw);
    for (int32_t i = 0; st == P3D_OK && i < m->n_nodes; i++) {
        const node *n = &m->nodes[i];
        if (n->op == OP_CONV) st = p3d_conv2d_plan(m->layers[n->layer].conv, 1, m->hw[2 * n->a], m->hw[2 * n->a + 1]);
    }
    if (st == P3D_OK) {
        p3d_arena_begin_plan(m->arena);
        st = run(m, h, w, NULL, NULL);
        /* Commit even after a failed pass: it ends the planning state with the largest earlier plan. */
        const p3d_status cst = p3d_arena_commit(m->arena);
        if (st == P3D_OK) st = cst;
    }
    const size_t px = (size_t)h * (size_t)w;
    if (st == P3D_OK) st = grow_host((void **)&m->host_x, &m->host_x_cap, 3 * px, sizeof(float), "input");
    if (st == P3D_OK)
        st = grow_host((void **)&m->host_work, &m->host_work_cap, p3d_midas21_preprocess_work(w, h), sizeof(double),
                       "resizing");
    if (st == P3D_OK && p3d_ctx_cuda(m->ctx)) {
        st = grow_ctx(m->ctx, &m->dev_x, &m->dev_x_cap, 3 * px * sizeof(float));
        if (st == P3D_OK) st = grow_ctx(m->ctx, &m->dev_y, &m->dev_y_cap, px * sizeof(float));
    }
    if (st != P3D_OK)
        return p3d_fail_context(st, "%s: planning %dx%d", k_kind_name[m->kind], (int)h, (int)w);
    p3d_plan_insert(&m->plans, 1, h, w);
    return P3D_OK;
}

p3d_status p3d_midas21_forward(p3d_midas21 *m, const p3d_tensor *x, p3d_tensor *depth) {
    const p3d_mem mem = p3d_ctx_mem(m->ctx);
    const char *what = k_kind_name[m->kind];
    P3D_TRY(p3d_nn_check(what, "input", x, mem, 1, 3, -1, -1));
    const int64_t h = x->shape[2], w = x->shape[3];
    if (!depth || depth->dtype != P3D_F32 || depth->ndim != 2 || depth->shape[0] != h || depth->shape[1] != w ||
        depth->mem != mem || !depth->data)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: output: expected f32 [%lld,%lld] in %s memory", what, (long long)h,
                        (long long)w, mem == P3D_MEM_HOST ? "host" : "device");
    const p3d_tensor y = view4(depth->data, mem, 1, h, w);
    if (p3d_nn_overlap(x, &y)) return p3d_fail(P3D_ERR_INVALID_ARG, "%s: input and output overlap", what);
    P3D_TRY(check_size(m, h, w));
    if (p3d_plan_find(&m->plans, 1, h, w) < 0)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: input %lldx%lld was not planned (call p3d_midas21_plan at plan time)",
                        what, (long long)h, (long long)w);
    p3d_arena_reset(m->arena);
    return run(m, h, w, x, &y);
}

p3d_status p3d_midas21_estimate(p3d_midas21 *m, const uint8_t *photo, int32_t width, int32_t height, float *depth,
                                size_t capacity, int32_t *net_w, int32_t *net_h) {
    int32_t w = 0, h = 0;
    P3D_TRY(p3d_midas21_input_size(k_native[m->kind], width, height, &w, &h));
    const size_t px = (size_t)h * (size_t)w;
    if (capacity < px)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: depth holds %zu values, the %dx%d output needs %zu",
                        k_kind_name[m->kind], capacity, (int)w, (int)h, px);
    P3D_TRY(p3d_midas21_plan(m, h, w));
    P3D_TRY(p3d_midas21_preprocess(photo, width, height, w, h, m->host_x, m->host_work));
    const int64_t xs[4] = {1, 3, h, w}, ys[2] = {h, w};
    if (!p3d_ctx_cuda(m->ctx)) {
        const p3d_tensor x = p3d_tensor_view(m->host_x, P3D_F32, P3D_MEM_HOST, 4, xs);
        p3d_tensor y = p3d_tensor_view(depth, P3D_F32, P3D_MEM_HOST, 2, ys);
        P3D_TRY(p3d_midas21_forward(m, &x, &y));
    } else {
        P3D_TRY(p3d_ctx_upload(m->ctx, m->dev_x, m->host_x, 3 * px * sizeof(float)));
        const p3d_tensor x = p3d_tensor_view(m->dev_x, P3D_F32, P3D_MEM_CUDA, 4, xs);
        p3d_tensor y = p3d_tensor_view(m->dev_y, P3D_F32, P3D_MEM_CUDA, 2, ys);
        P3D_TRY(p3d_midas21_forward(m, &x, &y));
        P3D_TRY(p3d_ctx_download(m->ctx, depth, m->dev_y, px * sizeof(float)));
    }
    if (net_w) *net_w = w;
    if (net_h) *net_h = h;
    return P3D_OK;
}

int64_t p3d_midas21_macs(const p3d_midas21 *m, int32_t h, int32_t w) {
    if (h < P3D_MIDAS21_MULTIPLE || w < P3D_MIDAS21_MULTIPLE || h % P3D_MIDAS21_MULTIPLE || w % P3D_MIDAS21_MULTIPLE)
        return 0;
    int64_t *hw = (int64_t *)calloc((size_t)m->n_values * 2, sizeof *hw);
    int64_t macs = 0;
    if (hw && infer_shapes(m, h, w, hw) == P3D_OK)
        for (int32_t i = 0; i < m->n_nodes; i++)
            if (m->nodes[i].op == OP_CONV)
                macs += p3d_conv2d_macs(&m->layers[m->nodes[i].layer].p, 1, hw[2 * m->nodes[i].a],
                                        hw[2 * m->nodes[i].a + 1]);
    free(hw);
    return macs;
}
