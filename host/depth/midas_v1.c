/* midas_v1.c - MiDaS v1 (MonoDepthNet) on the op runtime: layer table, blob checks, planning, forward,
 * the reference's pre- and post-processing. What it computes: midas.h; the blob's tensors:
 * tools/convert_midas.py; the executable definition: tools/midas_nets.py (MonoDepthNet(folded=True)).
 *
 * Activations (floats, P = N*H*W of the input, F = 256 features, level l = resolution H/2^l):
 *   A, B   ping-pong of the block outputs and of the decoder paths; contiguous, so the 128-channel
 *          output conv at level 1 (128 * P/4 floats) fits in A|B            16 P each
 *   T1     bottleneck conv1 outputs; decoder RCU conv2 outputs (the residual sum), output conv 2      16 P
 *   T2     bottleneck conv2 outputs                                                                    4 P
 *   DS     shortcut conv outputs; decoder RCU conv1 outputs                                           16 P
 *   PATH   path1 (F channels at level 1)                                                              64 P
 *   S1..S4 relu(layerK_rn) of each stage, live until its fusion block                               21 P
 *   x, y   estimate()'s input and output (3 P + P)
 * about 157 P in all (62 MB at 1x256x384). */
#include "depth/midas.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "io/resize_area.h"
#include "layers/eltwise.h"
#include "layers/maxpool2d.h"
#include "layers/upsample.h"
#include "nn/conv2d.h"
#include "nn/nn_common.h"

#define M1_STAGES 4
#define M1_BLOCKS 16 /* 3 + 4 + 6 + 3 */
/* stem, 3 convs per bottleneck, a shortcut conv per stage, layerK_rn, two per RCU, two output convs */
#define M1_LAYERS (1 + 3 * M1_BLOCKS + M1_STAGES + M1_STAGES + 2 * M1_STAGES + 2)
#define M1_NAME 64

static const int32_t k_blocks[M1_STAGES] = {3, 4, 6, 3};
static const int32_t k_planes[M1_STAGES] = {64, 128, 256, 512};

typedef struct m1_conv {
    char weight[M1_NAME], bias[M1_NAME]; /* blob tensor names; bias "" when the conv has none */
    p3d_conv2d_params p;                 /* geometry and fused activation */
    int32_t level;                       /* input resolution: (H >> level, W >> level) */
    int32_t runs;                        /* times one forward runs it (2: the shared RCUs of blocks 3..1) */
    p3d_conv2d *conv;
} m1_conv;

typedef struct m1_block {
    m1_conv *c1, *c2, *c3, *ds; /* ds NULL: identity shortcut */
} m1_block;

struct p3d_midas1 {
    p3d_ctx *ctx;
    int32_t features;
    m1_conv layer[M1_LAYERS]; /* in forward order, as convert_midas.layer_table */
    int32_t n_layers;
    m1_conv *stem;
    m1_block block[M1_BLOCKS];
    m1_conv *rn[M1_STAGES];                     /* rn[k-1] = scratch.layerK_rn (ReLU fused) */
    m1_conv *rcu1[M1_STAGES], *rcu2[M1_STAGES]; /* [k-1] = refinenetK.resConfUnit.conv1 (ReLU fused), conv2 */
    m1_conv *out0, *out1;
    p3d_arena *arena;
    p3d_plan_cache plans;
    float *photo; /* estimate(): the photo as planar float (3, H0, W0), grown to the largest photo */
    size_t photo_cap;
    float *stage; /* estimate() on CUDA: the resized input before its upload */
    size_t stage_cap;
};

/* ---- layer table ------------------------------------------------------------------------------------ */

static m1_conv *add_conv(p3d_midas1 *net, const char *prefix, int32_t cin, int32_t cout, int32_t k, int32_t stride,
                         p3d_act act, int32_t bias, int32_t level) {
    P3D_ASSERT(net->n_layers < M1_LAYERS);
    m1_conv *c = &net->layer[net->n_layers++];
    P3D_ASSERT(snprintf(c->weight, M1_NAME, "%s.weight", prefix) < M1_NAME);
    P3D_ASSERT(snprintf(c->bias, M1_NAME, "%s.bias", prefix) < M1_NAME);
    if (!bias) c->bias[0] = '\0';
    c->p = p3d_conv2d_params_make(cin, cout, k, stride, k / 2);
    c->p.act = act;
    c->level = level;
    c->runs = 1;
    return c;
}

/* Reference spec 3.6 / tools/convert_midas.py layer_table. BN-folded convs have a bias. */
static void build_table(p3d_midas1 *net, int32_t features) {
    char pre[32], name[M1_NAME];
    net->features = features;
    net->stem = add_conv(net, "pretrained.layer1.0", 3, 64, 7, 2, P3D_ACT_RELU, 1, 0);
    int32_t cin = 64, b = 0;
    for (int32_t s = 0; s < M1_STAGES; s++) {
        const int32_t p = k_planes[s], out_level = s + 2;
        for (int32_t i = 0; i < k_blocks[s]; i++, b++) {
            /* v1.5: the first block of stages 2-4 strides on its 3x3 conv and its shortcut */
            const int32_t stride = i == 0 && s > 0 ? 2 : 1, in_level = out_level - (stride == 2);
            if (s == 0) snprintf(pre, sizeof pre, "pretrained.layer1.4.%d", (int)i);
            else snprintf(pre, sizeof pre, "pretrained.layer%d.%d", (int)s + 1, (int)i);
            m1_block *blk = &net->block[b];
            snprintf(name, sizeof name, "%s.conv1", pre);
            blk->c1 = add_conv(net, name, i == 0 ? cin : 4 * p, p, 1, 1, P3D_ACT_RELU, 1, in_level);
            snprintf(name, sizeof name, "%s.conv2", pre);
            blk->c2 = add_conv(net, name, p, p, 3, stride, P3D_ACT_RELU, 1, in_level);
            snprintf(name, sizeof name, "%s.conv3", pre);
            blk->c3 = add_conv(net, name, p, 4 * p, 1, 1, P3D_ACT_NONE, 1, out_level);
            blk->ds = NULL;
            if (i == 0) {
                snprintf(name, sizeof name, "%s.downsample.0", pre);
                blk->ds = add_conv(net, name, cin, 4 * p, 1, stride, P3D_ACT_NONE, 1, in_level);
            }
        }
        cin = 4 * p;
    }
    P3D_ASSERT(b == M1_BLOCKS);
    for (int32_t k = 1; k <= M1_STAGES; k++) {
        snprintf(name, sizeof name, "scratch.layer%d_rn", (int)k);
        net->rn[k - 1] = add_conv(net, name, 4 * k_planes[k - 1], features, 3, 1, P3D_ACT_RELU, 0, k + 1);
    }
    for (int32_t k = M1_STAGES; k >= 1; k--) {
        snprintf(name, sizeof name, "scratch.refinenet%d.resConfUnit.conv1", (int)k);
        net->rcu1[k - 1] = add_conv(net, name, features, features, 3, 1, P3D_ACT_RELU, 1, k + 1);
        snprintf(name, sizeof name, "scratch.refinenet%d.resConfUnit.conv2", (int)k);
        net->rcu2[k - 1] = add_conv(net, name, features, features, 3, 1, P3D_ACT_NONE, 0, k + 1);
        net->rcu1[k - 1]->runs = net->rcu2[k - 1]->runs = k < M1_STAGES ? 2 : 1;
    }
    net->out0 = add_conv(net, "scratch.output_conv.0", features, 128, 3, 1, P3D_ACT_NONE, 1, 1);
    net->out1 = add_conv(net, "scratch.output_conv.1", 128, 1, 3, 1, P3D_ACT_NONE, 1, 1);
    P3D_ASSERT(net->n_layers == M1_LAYERS);
}

static p3d_status check_hparams(const p3d_weights *w, int32_t *features) {
    static const char *const want[][2] = {{"resnet_blocks", "3,4,6,3"}, {"batch_norm", "folded into conv"}};
    const char *path = p3d_weights_path(w);
    int64_t f = 0;
    P3D_TRY(p3d_weights_hparam_i64(w, "features", &f));
    if (f < 1 || f > 4096)
        return p3d_fail(P3D_ERR_MODEL, "%s: hyper-parameter features = %lld, expected 1..4096", path, (long long)f);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *v = NULL;
        P3D_TRY(p3d_weights_hparam_str(w, want[i][0], &v));
        if (strcmp(v, want[i][1]) != 0)
            return p3d_fail(P3D_ERR_MODEL, "%s: hyper-parameter %s = '%s', this network needs '%s'", path,
                            want[i][0], v, want[i][1]);
    }
    *features = (int32_t)f;
    return P3D_OK;
}

static const float *tensor_data(const p3d_weights *w, const char *name) {
    p3d_tensor t;
    if (!name[0]) return NULL;
    if (p3d_weights_get(w, name, &t) != P3D_OK || t.dtype != P3D_F32)
        P3D_ABORT("midas-v1: tensor %s passed the check but cannot be read", name);
    return (const float *)t.data;
}

/* ---- handle -------------------------------------------------------------------------------------------- */

p3d_status p3d_midas1_init(p3d_midas1 **out, p3d_ctx *ctx, const p3d_weights *w) {
    *out = NULL;
    int32_t features = 0;
    P3D_TRY(p3d_weights_expect_kind(w, P3D_MODEL_MIDAS_V1));
    P3D_TRY(check_hparams(w, &features));
    p3d_midas1 *net = (p3d_midas1 *)calloc(1, sizeof *net);
    if (!net) return p3d_fail(P3D_ERR_OOM, "midas-v1: out of host memory");
    net->ctx = ctx;
    build_table(net, features);
    p3d_weight_spec spec[2 * M1_LAYERS];
    int32_t n = 0;
    for (int32_t i = 0; i < net->n_layers; i++) {
        const m1_conv *c = &net->layer[i];
        spec[n++] = (p3d_weight_spec){c->weight, P3D_F32, 4,
                                      {c->p.out_channels, c->p.in_channels, c->p.kernel_h, c->p.kernel_w}};
        if (c->bias[0]) spec[n++] = (p3d_weight_spec){c->bias, P3D_F32, 1, {c->p.out_channels, 0, 0, 0}};
    }
    p3d_status st = p3d_weights_check(w, spec, n);
    for (int32_t i = 0; i < net->n_layers && st == P3D_OK; i++) {
        m1_conv *c = &net->layer[i];
        st = p3d_conv2d_init(&c->conv, ctx, &c->p, tensor_data(w, c->weight), tensor_data(w, c->bias));
    }
    if (st == P3D_OK) st = p3d_arena_init(&net->arena, ctx);
    if (st != P3D_OK) {
        p3d_midas1_free(net);
        return st;
    }
    *out = net;
    return P3D_OK;
}

p3d_status p3d_midas1_load(p3d_ctx *ctx, const char *path, p3d_midas1 **out) {
    *out = NULL;
    p3d_weights *w = NULL;
    P3D_TRY(p3d_weights_load(path, &w));
    const p3d_status st = p3d_midas1_init(out, ctx, w);
    p3d_weights_free(w);
    return st;
}

void p3d_midas1_free(p3d_midas1 *net) {
    if (!net) return;
    for (int32_t i = 0; i < net->n_layers; i++) p3d_conv2d_free(net->layer[i].conv);
    p3d_arena_free(net->arena);
    free(net->photo);
    free(net->stage);
    free(net);
}

int64_t p3d_midas1_macs(const p3d_midas1 *net, int64_t n, int64_t h, int64_t w) {
    int64_t macs = 0;
    for (int32_t i = 0; i < net->n_layers; i++) {
        const m1_conv *c = &net->layer[i];
        macs += c->runs * p3d_conv2d_macs(&c->p, n, h >> c->level, w >> c->level);
    }
    return macs;
}

/* ---- sizes ----------------------------------------------------------------------------------------------- */

p3d_status p3d_midas1_input_size(int32_t width, int32_t height, int32_t *net_w, int32_t *net_h) {
    if (width < 1 || height < 1) return p3d_fail(P3D_ERR_INVALID_ARG, "midas-v1: bad image size %dx%d", width, height);
    /* MiDaS_utils.resize_image: scale = longer / 384. (width when strictly wider), float64 throughout */
    const double scale = (double)(width > height ? width : height) / (double)P3D_MIDAS1_LONGER_SIDE;
    *net_h = (int32_t)(ceil((double)height / scale / P3D_MIDAS1_MULTIPLE) * P3D_MIDAS1_MULTIPLE);
    *net_w = (int32_t)(ceil((double)width / scale / P3D_MIDAS1_MULTIPLE) * P3D_MIDAS1_MULTIPLE);
    return P3D_OK;
}

p3d_status p3d_midas1_post_size(int32_t width, int32_t height, int32_t *out_w, int32_t *out_h) {
    if (width < 1 || height < 1) return p3d_fail(P3D_ERR_INVALID_ARG, "midas-v1: bad image size %dx%d", width, height);
    const double scale = (double)P3D_MIDAS1_POST_LONGER_SIDE / (double)(width > height ? width : height);
    const double h = rint((double)height * scale), w = rint((double)width * scale); /* Python round */
    if (h < 1 || w < 1)
        return p3d_fail(P3D_ERR_INVALID_ARG, "midas-v1: a %dx%d image is too elongated for the %d-pixel "
                        "post-processing size", width, height, P3D_MIDAS1_POST_LONGER_SIDE);
    *out_w = (int32_t)w;
    *out_h = (int32_t)h;
    return P3D_OK;
}

static p3d_status check_size(int64_t n, int64_t h, int64_t w) {
    const int64_t m = P3D_MIDAS1_MULTIPLE;
    if (n < 1 || h < m || w < m || h % m || w % m)
        return p3d_fail(P3D_ERR_INVALID_ARG, "midas-v1: batch %lld of %lldx%lld: expected N >= 1 and sizes that are "
                        "positive multiples of %lld", (long long)n, (long long)h, (long long)w, (long long)m);
    return P3D_OK;
}

/* ---- forward ----------------------------------------------------------------------------------------------- */

typedef struct m1_run {
    p3d_ctx *ctx;
    p3d_mem mem;
    int64_t n, h, w;
} m1_run;

/* An (n, c, H >> level, W >> level) view of data (NULL while planning). */
static p3d_tensor view(const m1_run *r, float *data, int64_t c, int32_t level) {
    const int64_t shape[4] = {r->n, c, r->h >> level, r->w >> level};
    return p3d_tensor_view(data, P3D_F32, r->mem, 4, shape);
}

static int64_t px(const m1_run *r, int32_t level) { return r->n * (r->h >> level) * (r->w >> level); }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static p3d_status region(p3d_arena *a, int64_t floats, float **out) {
    void *p = NULL;
    P3D_TRY(p3d_arena_alloc(a, (size_t)floats * sizeof(float), &p));
    *out = (float *)p;
    return P3D_OK;
}

/* The activation regions of the header comment, sized for r's shape. */
typedef struct m1_regions {
    float *a, *b, *t1, *t2, *ds, *path, *skip[M1_STAGES];
} m1_regions;

static p3d_status carve(const p3d_midas1 *net, const m1_run *r, p3d_arena *arena, m1_regions *g) {
    const int64_t F = net->features;
    int64_t ab = max64(64 * px(r, 1), F * px(r, 2)), t1 = max64(F * px(r, 2), px(r, 1)), t2 = 0, ds = F * px(r, 2);
    for (int32_t i = 0; i < M1_BLOCKS; i++) {
        const m1_block *b = &net->block[i];
        const int32_t lo = b->c3->level;
        ab = max64(ab, b->c3->p.out_channels * px(r, lo));
        t1 = max64(t1, b->c1->p.out_channels * px(r, b->c1->level));
        t2 = max64(t2, b->c2->p.out_channels * px(r, lo));
        if (b->ds) ds = max64(ds, b->ds->p.out_channels * px(r, lo));
    }
    P3D_TRY(region(arena, 2 * ab, &g->a)); /* A and B back to back: A|B holds the output conv's 128 channels */
    g->b = g->a ? g->a + ab : NULL;
    P3D_TRY(region(arena, t1, &g->t1));
    P3D_TRY(region(arena, t2, &g->t2));
    P3D_TRY(region(arena, ds, &g->ds));
    P3D_TRY(region(arena, F * px(r, 1), &g->path));
    for (int32_t k = 0; k < M1_STAGES; k++) P3D_TRY(region(arena, F * px(r, k + 2), &g->skip[k]));
    return P3D_OK;
}

static p3d_status conv(const m1_conv *c, const p3d_tensor *x, p3d_tensor *y) {
    return p3d_conv2d_forward(c->conv, x, y);
}

/* y = relu(conv3(conv2(conv1(x))) + shortcut(x)), the ReLUs of conv1 and conv2 fused. */
static p3d_status bottleneck(const m1_run *r, const m1_block *b, const m1_regions *g, const p3d_tensor *x,
                             p3d_tensor *y) {
    p3d_tensor t1 = view(r, g->t1, b->c1->p.out_channels, b->c1->level);
    p3d_tensor t2 = view(r, g->t2, b->c2->p.out_channels, b->c3->level);
    p3d_tensor sc = b->ds ? view(r, g->ds, b->ds->p.out_channels, b->c3->level) : *x;
    P3D_TRY(conv(b->c1, x, &t1));
    P3D_TRY(conv(b->c2, &t1, &t2));
    P3D_TRY(conv(b->c3, &t2, y));
    if (b->ds) P3D_TRY(conv(b->ds, x, &sc));
    P3D_TRY(p3d_add(r->ctx, y, &sc, y));
    return p3d_activation(r->ctx, y, y, P3D_ACT_RELU, 0.0f);
}

/* The reference's ResidualConvUnit on v = relu(its input) (the caller applied the in-place ReLU):
 * out = conv2(relu(conv1(v))) + v into g->t1, conv1's output in g->ds. */
static p3d_status rcu(const m1_run *r, const p3d_midas1 *net, int32_t k, const m1_regions *g, const p3d_tensor *v,
                      p3d_tensor *out) {
    const int32_t level = k + 1;
    p3d_tensor t = view(r, g->ds, net->features, level);
    *out = view(r, g->t1, net->features, level);
    P3D_TRY(conv(net->rcu1[k - 1], v, &t));
    P3D_TRY(conv(net->rcu2[k - 1], &t, out));
    return p3d_add(r->ctx, out, v, out);
}

/* Fusion block k (4 .. 1): path (k < 4) and skip relu(lK_rn) at level k + 1 -> up2 into dst (level k). */
static p3d_status fusion(const m1_run *r, const p3d_midas1 *net, int32_t k, const m1_regions *g, p3d_tensor *path,
                         const p3d_tensor *skip, p3d_tensor *dst) {
    p3d_tensor u;
    P3D_TRY(rcu(r, net, k, g, skip, &u));
    if (path) {
        P3D_TRY(p3d_add(r->ctx, path, &u, path)); /* output += RCU(xs[1]) */
        P3D_TRY(p3d_activation(r->ctx, path, path, P3D_ACT_RELU, 0.0f));
        P3D_TRY(rcu(r, net, k, g, path, &u));
    }
    return p3d_upsample(r->ctx, &u, dst, P3D_UPSAMPLE_BILINEAR_ALIGNED);
}

/* Carves the regions from a and, unless a is planning, runs x (N, 3, H, W) -> y (N, 1, H, W). */
static p3d_status run(p3d_midas1 *net, p3d_arena *a, const m1_run *r, const p3d_tensor *x, p3d_tensor *y) {
    m1_regions g;
    P3D_TRY(carve(net, r, a, &g));
    if (p3d_arena_planning(a)) return P3D_OK;
    p3d_ctx *ctx = r->ctx;
    p3d_tensor stem = view(r, g.a, 64, 1), pooled = view(r, g.b, 64, 2);
    P3D_TRY(conv(net->stem, x, &stem));
    P3D_TRY(p3d_maxpool2d(ctx, &stem, &pooled, 3, 2, 1));
    p3d_tensor cur = pooled;
    p3d_tensor skip[M1_STAGES];
    for (int32_t s = 0, b = 0; s < M1_STAGES; s++) {
        for (int32_t i = 0; i < k_blocks[s]; i++, b++) {
            const m1_block *blk = &net->block[b];
            p3d_tensor next = view(r, cur.data == g.a ? g.b : g.a, blk->c3->p.out_channels, blk->c3->level);
            P3D_TRY(bottleneck(r, blk, &g, &cur, &next));
            cur = next;
        }
        skip[s] = view(r, g.skip[s], net->features, s + 2);
        P3D_TRY(conv(net->rn[s], &cur, &skip[s]));
    }
    /* path4 -> A, path3 -> B, path2 -> A, path1 -> PATH */
    p3d_tensor p4 = view(r, g.a, net->features, 4), p3 = view(r, g.b, net->features, 3);
    p3d_tensor p2 = view(r, g.a, net->features, 2), p1 = view(r, g.path, net->features, 1);
    P3D_TRY(fusion(r, net, 4, &g, NULL, &skip[3], &p4));
    P3D_TRY(fusion(r, net, 3, &g, &p4, &skip[2], &p3));
    P3D_TRY(fusion(r, net, 2, &g, &p3, &skip[1], &p2));
    P3D_TRY(fusion(r, net, 1, &g, &p2, &skip[0], &p1));
    p3d_tensor o0 = view(r, g.a, 128, 1), o1 = view(r, g.t1, 1, 1);
    P3D_TRY(conv(net->out0, &p1, &o0));
    P3D_TRY(conv(net->out1, &o0, &o1));
    return p3d_upsample(ctx, &o1, y, P3D_UPSAMPLE_BILINEAR);
}

/* estimate()'s input and output, carved first so that every pass lays out the arena the same way. */
static p3d_status layout_io(p3d_midas1 *net, const m1_run *r, p3d_tensor *x, p3d_tensor *y) {
    float *xd = NULL, *yd = NULL;
    P3D_TRY(region(net->arena, 3 * px(r, 0), &xd));
    P3D_TRY(region(net->arena, px(r, 0), &yd));
    *x = view(r, xd, 3, 0);
    *y = view(r, yd, 1, 0);
    return P3D_OK;
}

static m1_run run_of(const p3d_midas1 *net, int64_t n, int64_t h, int64_t w) {
    m1_run r = {net->ctx, p3d_ctx_mem(net->ctx), n, h, w};
    return r;
}

p3d_status p3d_midas1_arena_bytes(const p3d_midas1 *net, int64_t n, int64_t h, int64_t w, size_t *bytes) {
    P3D_TRY(check_size(n, h, w));
    p3d_midas1 probe = *net;
    P3D_TRY(p3d_arena_init(&probe.arena, net->ctx)); /* never committed: allocates no context memory */
    p3d_arena_begin_plan(probe.arena);
    const m1_run r = run_of(net, n, h, w);
    p3d_tensor x, y;
    p3d_status st = layout_io(&probe, &r, &x, &y);
    if (st == P3D_OK) st = run(&probe, probe.arena, &r, &x, &y);
    *bytes = p3d_arena_used(probe.arena);
    p3d_arena_free(probe.arena);
    return st;
}

p3d_status p3d_midas1_plan(p3d_midas1 *net, int64_t n, int64_t h, int64_t w) {
    P3D_TRY(check_size(n, h, w));
    if (p3d_plan_find(&net->plans, n, h, w) >= 0) return P3D_OK;
    p3d_status st = P3D_OK;
    for (int32_t i = 0; i < net->n_layers && st == P3D_OK; i++) {
        const m1_conv *c = &net->layer[i];
        st = p3d_conv2d_plan(c->conv, n, h >> c->level, w >> c->level);
    }
    if (st == P3D_OK) {
        const m1_run r = run_of(net, n, h, w);
        p3d_tensor x, y;
        p3d_arena_begin_plan(net->arena);
        st = layout_io(net, &r, &x, &y);
        if (st == P3D_OK) st = run(net, net->arena, &r, &x, &y);
        /* Commit even after a failed pass: it ends the planning state with the largest earlier plan. */
        const p3d_status cst = p3d_arena_commit(net->arena);
        if (st == P3D_OK) st = cst;
    }
    if (st != P3D_OK)
        return p3d_fail_context(st, "midas-v1: planning %lldx3x%lldx%lld", (long long)n, (long long)h, (long long)w);
    p3d_plan_insert(&net->plans, n, h, w);
    return P3D_OK;
}

p3d_status p3d_midas1_forward(p3d_midas1 *net, const p3d_tensor *x, p3d_tensor *y) {
    const p3d_mem mem = p3d_ctx_mem(net->ctx);
    P3D_TRY(p3d_nn_check("midas-v1", "input", x, mem, -1, 3, -1, -1));
    const int64_t n = x->shape[0], h = x->shape[2], w = x->shape[3];
    P3D_TRY(p3d_nn_check("midas-v1", "output", y, mem, n, 1, h, w));
    if (p3d_nn_overlap(x, y)) return p3d_fail(P3D_ERR_INVALID_ARG, "midas-v1: input and output overlap");
    if (p3d_plan_find(&net->plans, n, h, w) < 0)
        return p3d_fail(P3D_ERR_INVALID_ARG, "midas-v1: input [%lld,3,%lld,%lld] was not planned (call "
                        "p3d_midas1_plan at plan time)", (long long)n, (long long)h, (long long)w);
    const m1_run r = run_of(net, n, h, w);
    p3d_tensor xi, yi;
    p3d_arena_reset(net->arena);
    P3D_TRY(layout_io(net, &r, &xi, &yi));
    return run(net, net->arena, &r, x, y);
}

/* ---- the reference's pre- and post-processing --------------------------------------------------------------- */

/* *buf holds at least floats floats afterwards (grown, never shrunk). */
static p3d_status grow(float **buf, size_t *cap, size_t floats) {
    if (*cap >= floats) return P3D_OK;
    float *b = (float *)realloc(*buf, floats * sizeof(float));
    if (!b) return p3d_fail(P3D_ERR_OOM, "midas-v1: out of host memory for %zu floats", floats);
    *buf = b;
    *cap = floats;
    return P3D_OK;
}

p3d_status p3d_midas1_estimate(p3d_midas1 *net, const uint8_t *photo, int32_t width, int32_t height,
                               float *disparity, size_t capacity, int32_t *net_w, int32_t *net_h) {
    int32_t w = 0, h = 0;
    P3D_TRY(p3d_midas1_input_size(width, height, &w, &h));
    const size_t px0 = (size_t)width * (size_t)height, out_px = (size_t)w * (size_t)h;
    if (capacity < out_px)
        return p3d_fail(P3D_ERR_INVALID_ARG, "midas-v1: disparity holds %zu values, the %dx%d output needs %zu",
                        capacity, w, h, out_px);
    P3D_TRY(p3d_midas1_plan(net, 1, h, w));
    const int on_gpu = p3d_ctx_cuda(net->ctx) != NULL;
    P3D_TRY(grow(&net->photo, &net->photo_cap, 3 * px0));
    if (on_gpu) P3D_TRY(grow(&net->stage, &net->stage_cap, 3 * out_px));
    /* read_image: RGB / 255.0 (the float64 quotient, rounded to float32), planar for the resize */
    for (size_t i = 0; i < px0; i++)
        for (int c = 0; c < 3; c++) net->photo[(size_t)c * px0 + i] = (float)(photo[3 * i + (size_t)c] / 255.0);
    const m1_run r = run_of(net, 1, h, w);
    p3d_tensor x, y;
    p3d_arena_reset(net->arena);
    P3D_TRY(layout_io(net, &r, &x, &y));
    const int64_t ss[3] = {3, height, width}, ds[3] = {3, h, w};
    p3d_tensor src = p3d_tensor_view(net->photo, P3D_F32, P3D_MEM_HOST, 3, ss);
    p3d_tensor dst = p3d_tensor_view(on_gpu ? net->stage : x.data, P3D_F32, P3D_MEM_HOST, 3, ds);
    P3D_TRY(p3d_resize_area_cpu(&src, &dst, P3D_RESIZE_CHW));
    if (on_gpu) P3D_TRY(p3d_ctx_upload(net->ctx, x.data, net->stage, p3d_tensor_nbytes(&x)));
    P3D_TRY(run(net, net->arena, &r, &x, &y));
    if (on_gpu) P3D_TRY(p3d_ctx_download(net->ctx, disparity, y.data, p3d_tensor_nbytes(&y)));
    else memcpy(disparity, y.data, p3d_tensor_nbytes(&y));
    *net_w = w;
    *net_h = h;
    return P3D_OK;
}

p3d_status p3d_midas1_postprocess(const float *disp, int32_t w, int32_t h, float *scratch, float *out,
                                  int32_t out_w, int32_t out_h) {
    if (w < 2 || h < 2 || out_w < 1 || out_h < 1)
        return p3d_fail(P3D_ERR_INVALID_ARG, "midas-v1 post-processing: %dx%d -> %dx%d (need at least 2x2 -> 1x1)",
                        w, h, out_w, out_h);
    /* cv2.blur(disp, (3, 3)): BORDER_REFLECT_101 (-1 -> 1, n -> n - 2), double sums times 1/9 */
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) {
            double s = 0.0;
            for (int32_t dy = -1; dy <= 1; dy++) {
                const float *row = disp + (int64_t)p3d_reflect_index(y + dy, h) * w;
                for (int32_t dx = -1; dx <= 1; dx++) s += row[p3d_reflect_index(x + dx, w)];
            }
            scratch[(int64_t)y * w + x] = (float)(s * (1.0 / 9.0));
        }
    const int64_t ss[2] = {h, w}, ds[2] = {out_h, out_w};
    p3d_tensor src = p3d_tensor_view(scratch, P3D_F32, P3D_MEM_HOST, 2, ss);
    p3d_tensor dst = p3d_tensor_view(out, P3D_F32, P3D_MEM_HOST, 2, ds);
    return p3d_resize_area_cpu(&src, &dst, P3D_RESIZE_CHW);
}
