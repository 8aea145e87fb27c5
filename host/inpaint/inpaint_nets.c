/* inpaint_nets.c - the common handle of the three inpainting nets: kinds and forward_3P argument
 * tables, planning (arena, host staging), forward, forward_3P (concatenate, normalise, pad, crop)
 * and the helpers the bodies share (inpaint_impl.h). The layers live in inpaint_edge.c and
 * inpaint_unet.c. */
#include "inpaint/inpaint_nets.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inpaint/inpaint_impl.h"
#include "nn/nn_common.h"
#include "nn/pad.h"

/* ---- kinds and forward_3P arguments ------------------------------------------------------------------ */

typedef struct inpaint_kind_desc {
    const char *name;
    p3d_model_kind model;
    const p3d_inpaint_body_ops *ops;
    int32_t n_args;
    const char *arg[P3D_INPAINT_MAX_ARGS];
    int32_t channels[P3D_INPAINT_MAX_ARGS];
    /* forward()'s channel order as argument indices: [values..., edge, context, mask]. */
    int32_t order[P3D_INPAINT_MAX_ARGS];
    int32_t normalise; /* index of the argument divided by its per-patch max (edge net's disp), or -1 */
} inpaint_kind_desc;

static const inpaint_kind_desc k_kinds[P3D_INPAINT_KIND_COUNT] = {
    {"edge", P3D_MODEL_INPAINT_EDGE, &p3d_inpaint_edge_ops, 5, {"mask", "context", "rgb", "disp", "edge"},
     {1, 1, 3, 1, 1}, {2, 3, 4, 1, 0}, 3},
    {"depth", P3D_MODEL_INPAINT_DEPTH, &p3d_inpaint_unet_ops, 4, {"mask", "context", "depth", "edge"},
     {1, 1, 1, 1}, {2, 3, 1, 0}, -1},
    {"color", P3D_MODEL_INPAINT_COLOR, &p3d_inpaint_unet_ops, 4, {"mask", "context", "rgb", "edge"},
     {1, 1, 3, 1}, {2, 3, 1, 0}, -1},
};

static const inpaint_kind_desc *kind_desc(p3d_inpaint_kind kind) {
    if ((unsigned)kind >= P3D_INPAINT_KIND_COUNT) P3D_ABORT("inpaint: bad kind %d", (int)kind);
    return &k_kinds[kind];
}

const char *p3d_inpaint_kind_name(p3d_inpaint_kind kind) {
    return (unsigned)kind < P3D_INPAINT_KIND_COUNT ? k_kinds[kind].name : "?";
}

p3d_status p3d_inpaint_kind_parse(const char *text, p3d_inpaint_kind *out) {
    for (int32_t k = 0; k < P3D_INPAINT_KIND_COUNT; k++) {
        if (strcmp(text, k_kinds[k].name) == 0) {
            *out = (p3d_inpaint_kind)k;
            return P3D_OK;
        }
    }
    if (strcmp(text, "colour") == 0) {
        *out = P3D_INPAINT_COLOR;
        return P3D_OK;
    }
    return p3d_fail(P3D_ERR_INVALID_ARG, "unknown inpainting model '%s' (expected edge, depth or color)", text);
}

p3d_model_kind p3d_inpaint_model_kind(p3d_inpaint_kind kind) { return kind_desc(kind)->model; }
int32_t p3d_inpaint_arg_count(p3d_inpaint_kind kind) { return kind_desc(kind)->n_args; }

const char *p3d_inpaint_arg_name(p3d_inpaint_kind kind, int32_t i) {
    P3D_ASSERT(i >= 0 && i < kind_desc(kind)->n_args);
    return kind_desc(kind)->arg[i];
}

int32_t p3d_inpaint_arg_channels(p3d_inpaint_kind kind, int32_t i) {
    P3D_ASSERT(i >= 0 && i < kind_desc(kind)->n_args);
    return kind_desc(kind)->channels[i];
}

/* ---- helpers of the bodies ----------------------------------------------------------------------------- */

p3d_status p3d_inpaint_hp_i64(const p3d_weights *w, const char *key, int64_t lo, int64_t hi, int32_t *out) {
    int64_t v = 0;
    P3D_TRY(p3d_weights_expect_i64(w, key, lo, hi, &v));
    *out = (int32_t)v;
    return P3D_OK;
}

p3d_status p3d_inpaint_hp_f32(const p3d_weights *w, const char *key, double lo, double hi, float *out) {
    double v = 0;
    P3D_TRY(p3d_weights_hparam_f64(w, key, &v));
    if (!(v >= lo && v <= hi))
        return p3d_fail(P3D_ERR_MODEL, "%s: hyper-parameter %s = %g, expected %g..%g", p3d_weights_path(w), key, v, lo,
                        hi);
    *out = (float)v;
    return P3D_OK;
}

p3d_status p3d_inpaint_hp_str(const p3d_weights *w, const char *key, const char *want) {
    return p3d_weights_expect_str(w, key, want);
}

void p3d_inpaint_spec_add(p3d_inpaint_spec *s, const char *prefix, const char *suffix, int32_t ndim, int64_t d0,
                          int64_t d1, int64_t d2, int64_t d3) {
    if (s->n >= P3D_INPAINT_MAX_SPEC) P3D_ABORT("inpaint: more than %d expected tensors", P3D_INPAINT_MAX_SPEC);
    char *name = s->name[s->n];
    if (snprintf(name, P3D_INPAINT_NAME_MAX, "%s.%s", prefix, suffix) >= P3D_INPAINT_NAME_MAX)
        P3D_ABORT("inpaint: tensor name %s.%s too long", prefix, suffix);
    p3d_weight_spec *r = &s->row[s->n++];
    r->name = name;
    r->dtype = P3D_F32;
    r->ndim = ndim;
    r->dims[0] = d0;
    r->dims[1] = d1;
    r->dims[2] = d2;
    r->dims[3] = d3;
}

void p3d_inpaint_spec_conv(p3d_inpaint_spec *s, const p3d_conv2d_params *p, const char *weight_name,
                           const char *bias_name) {
    const int64_t a = p->transposed ? p->in_channels : p->out_channels;
    const int64_t b = p->transposed ? p->out_channels : p->in_channels / p->groups;
    p3d_inpaint_spec_add(s, weight_name, "weight", 4, a, b, p->kernel_h, p->kernel_w);
    if (bias_name) p3d_inpaint_spec_add(s, bias_name, "bias", 1, p->out_channels, 0, 0, 0);
}

const float *p3d_inpaint_tensor(const p3d_weights *w, const char *prefix, const char *suffix) {
    char name[P3D_INPAINT_NAME_MAX];
    snprintf(name, sizeof name, "%s.%s", prefix, suffix);
    p3d_tensor t;
    if (p3d_weights_get(w, name, &t) != P3D_OK || t.dtype != P3D_F32)
        P3D_ABORT("inpaint: tensor %s passed the check but cannot be read", name);
    return (const float *)t.data;
}

p3d_tensor p3d_inpaint_view(void *data, p3d_mem mem, int64_t n, int64_t c, int64_t h, int64_t w) {
    const int64_t shape[4] = {n, c, h, w};
    return p3d_tensor_view(data, P3D_F32, mem, 4, shape);
}

p3d_tensor p3d_inpaint_plane(const p3d_tensor *x, int64_t b, int64_t c) {
    const int64_t plane = x->shape[2] * x->shape[3];
    float *data = x->data ? (float *)x->data + (b * x->shape[1] + c) * plane : NULL;
    return p3d_inpaint_view(data, x->mem, 1, 1, x->shape[2], x->shape[3]);
}

p3d_status p3d_inpaint_region(p3d_arena *a, int64_t floats, float **out) {
    void *p = NULL;
    P3D_TRY(p3d_arena_alloc(a, (size_t)floats * sizeof(float), &p));
    *out = (float *)p;
    return P3D_OK;
}

/* ---- the handle ----------------------------------------------------------------------------------------- */

struct p3d_inpaint_net {
    p3d_ctx *ctx;
    p3d_inpaint_kind kind;
    const inpaint_kind_desc *desc;
    p3d_inpaint_body *body;
    p3d_inpaint_dims dims;
    p3d_arena *arena;
    p3d_plan_cache plans;
    float *stage;        /* CUDA context: host memory where forward_3p assembles the padded input */
    int64_t stage_floats;
};

p3d_status p3d_inpaint_net_init(p3d_inpaint_net **out, p3d_ctx *ctx, const p3d_weights *w, p3d_inpaint_kind kind) {
    *out = NULL;
    if ((unsigned)kind >= P3D_INPAINT_KIND_COUNT) return p3d_fail(P3D_ERR_INVALID_ARG, "inpaint: bad kind %d", (int)kind);
    const inpaint_kind_desc *d = &k_kinds[kind];
    P3D_TRY(p3d_weights_expect_kind(w, d->model));
    p3d_inpaint_net *net = (p3d_inpaint_net *)calloc(1, sizeof *net);
    if (!net) return p3d_fail(P3D_ERR_OOM, "inpaint %s: out of host memory", d->name);
    net->ctx = ctx;
    net->kind = kind;
    net->desc = d;
    p3d_status st = d->ops->init(&net->body, ctx, w, kind, &net->dims);
    if (st == P3D_OK) st = p3d_arena_init(&net->arena, ctx);
    if (st != P3D_OK) {
        p3d_inpaint_net_free(net);
        return st;
    }
    *out = net;
    return P3D_OK;
}

void p3d_inpaint_net_free(p3d_inpaint_net *net) {
    if (!net) return;
    if (net->body) net->desc->ops->free(net->body);
    p3d_arena_free(net->arena);
    free(net->stage);
    free(net);
}

p3d_inpaint_kind p3d_inpaint_net_kind(const p3d_inpaint_net *net) { return net->kind; }
int32_t p3d_inpaint_net_in_channels(const p3d_inpaint_net *net) { return net->dims.in_channels; }
int32_t p3d_inpaint_net_out_channels(const p3d_inpaint_net *net) { return net->dims.out_channels; }
int32_t p3d_inpaint_net_unit(const p3d_inpaint_net *net) { return net->dims.unit; }

void p3d_inpaint_padded_size(const p3d_inpaint_net *net, int64_t h, int64_t w, int64_t *hp, int64_t *wp, int64_t *top,
                             int64_t *left) {
    p3d_pad_to_multiple(h, w, net->dims.unit, hp, wp, top, left);
}

int64_t p3d_inpaint_net_macs(const p3d_inpaint_net *net, int64_t n, int64_t h, int64_t w) {
    return net->desc->ops->macs(net->body, n, h, w);
}

/* forward_3p's own tensors, carved first so that every pass lays out the arena the same way:
 * the padded input (N, Cin, H, W), the padded output (N, Cout, H, W) and, on a GPU, a block as large
 * as that output for the cropped result before its download. */
typedef struct io_tensors {
    p3d_tensor x, y;
    float *crop;
} io_tensors;

static p3d_status layout(p3d_inpaint_net *net, int64_t n, int64_t h, int64_t w, io_tensors *io) {
    const p3d_mem mem = p3d_ctx_mem(net->ctx);
    const int64_t out_floats = n * net->dims.out_channels * h * w;
    float *x = NULL, *y = NULL;
    P3D_TRY(p3d_inpaint_region(net->arena, n * net->dims.in_channels * h * w, &x));
    P3D_TRY(p3d_inpaint_region(net->arena, out_floats, &y));
    io->crop = NULL;
    if (p3d_ctx_cuda(net->ctx)) P3D_TRY(p3d_inpaint_region(net->arena, out_floats, &io->crop));
    io->x = p3d_inpaint_view(x, mem, n, net->dims.in_channels, h, w);
    io->y = p3d_inpaint_view(y, mem, n, net->dims.out_channels, h, w);
    return P3D_OK;
}

static p3d_status check_size(const p3d_inpaint_net *net, int64_t n, int64_t h, int64_t w) {
    const int64_t u = net->dims.unit;
    if (n < 1 || h < u || w < u || h % u || w % u)
        return p3d_fail(P3D_ERR_INVALID_ARG, "inpaint %s: batch %lld of %lldx%lld: expected N >= 1 and sizes that are "
                        "multiples of %lld", net->desc->name, (long long)n, (long long)h, (long long)w, (long long)u);
    return P3D_OK;
}

/* The arena laid out for (n, h, w): forward_3p's tensors, then the body's activations. */
static p3d_status carve(p3d_inpaint_net *net, int64_t n, int64_t h, int64_t w, io_tensors *io) {
    P3D_TRY(layout(net, n, h, w, io));
    return net->desc->ops->run(net->body, net->arena, &io->x, &io->y);
}

p3d_status p3d_inpaint_net_arena_bytes(const p3d_inpaint_net *net, int64_t n, int64_t h, int64_t w, size_t *bytes) {
    P3D_TRY(check_size(net, n, h, w));
    p3d_inpaint_net probe = *net;
    P3D_TRY(p3d_arena_init(&probe.arena, net->ctx)); /* never committed: allocates no context memory */
    p3d_arena_begin_plan(probe.arena);
    io_tensors io;
    p3d_status st = carve(&probe, n, h, w, &io);
    *bytes = p3d_arena_used(probe.arena);
    p3d_arena_free(probe.arena);
    return st;
}

p3d_status p3d_inpaint_net_plan(p3d_inpaint_net *net, int64_t n, int64_t h, int64_t w) {
    P3D_TRY(check_size(net, n, h, w));
    if (p3d_plan_find(&net->plans, n, h, w) >= 0) return P3D_OK;
    P3D_TRY(net->desc->ops->plan(net->body, n, h, w));
    p3d_arena_begin_plan(net->arena);
    io_tensors io;
    p3d_status st = carve(net, n, h, w, &io);
    /* Commit even after a failed pass: it ends the planning state with the largest earlier plan. */
    const p3d_status cst = p3d_arena_commit(net->arena);
    if (st == P3D_OK) st = cst;
    const int64_t stage = n * net->dims.in_channels * h * w;
    if (st == P3D_OK && p3d_ctx_cuda(net->ctx) && stage > net->stage_floats) {
        free(net->stage);
        net->stage_floats = 0;
        net->stage = (float *)malloc((size_t)stage * sizeof(float));
        if (!net->stage) st = p3d_fail(P3D_ERR_OOM, "inpaint %s: out of host memory for the input staging",
                                       net->desc->name);
        else net->stage_floats = stage;
    }
    if (st != P3D_OK) return p3d_fail_context(st, "inpaint %s: planning %lldx%lldx%lld", net->desc->name,
                                              (long long)n, (long long)h, (long long)w);
    p3d_plan_insert(&net->plans, n, h, w);
    return P3D_OK;
}

static p3d_status need_plan(const p3d_inpaint_net *net, int64_t n, int64_t h, int64_t w) {
    if (p3d_plan_find(&net->plans, n, h, w) >= 0) return P3D_OK;
    return p3d_fail(P3D_ERR_INVALID_ARG, "inpaint %s: %lld patches of %lldx%lld were not planned (call "
                    "p3d_inpaint_net_plan at plan time)", net->desc->name, (long long)n, (long long)h, (long long)w);
}

p3d_status p3d_inpaint_net_forward(p3d_inpaint_net *net, const p3d_tensor *x, p3d_tensor *y) {
    const p3d_mem mem = p3d_ctx_mem(net->ctx);
    char what[32];
    snprintf(what, sizeof what, "inpaint %s", net->desc->name);
    P3D_TRY(p3d_nn_check(what, "input", x, mem, -1, net->dims.in_channels, -1, -1));
    const int64_t n = x->shape[0], h = x->shape[2], w = x->shape[3];
    P3D_TRY(p3d_nn_check(what, "output", y, mem, n, net->dims.out_channels, h, w));
    if (p3d_nn_overlap(x, y)) return p3d_fail(P3D_ERR_INVALID_ARG, "%s: input and output overlap", what);
    P3D_TRY(need_plan(net, n, h, w));
    p3d_arena_reset(net->arena);
    io_tensors io;
    P3D_TRY(layout(net, n, h, w, &io));
    return net->desc->ops->run(net->body, net->arena, x, y);
}

/* ---- forward_3P ------------------------------------------------------------------------------------------ */

static p3d_status check_args(const p3d_inpaint_net *net, const p3d_tensor *const *args, int32_t n_args,
                             const p3d_tensor *out) {
    const inpaint_kind_desc *d = net->desc;
    char what[48];
    snprintf(what, sizeof what, "inpaint %s forward_3P", d->name);
    if (n_args != d->n_args)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s takes %d inputs, got %d", what, (int)d->n_args, (int)n_args);
    const int64_t n = args[0] ? args[0]->shape[0] : -1, h = args[0] ? args[0]->shape[2] : -1,
                  w = args[0] ? args[0]->shape[3] : -1;
    for (int32_t i = 0; i < n_args; i++)
        P3D_TRY(p3d_nn_check(what, d->arg[i], args[i], P3D_MEM_HOST, n, d->channels[i], h, w));
    P3D_TRY(p3d_nn_check(what, "output", out, P3D_MEM_HOST, n, net->dims.out_channels, h, w));
    for (int32_t i = 0; i < n_args; i++)
        if (p3d_nn_overlap(args[i], out))
            return p3d_fail(P3D_ERR_INVALID_ARG, "%s: the output overlaps input %s", what, d->arg[i]);
    return P3D_OK;
}

/* dst (N, Cin, hp, wp) = the arguments concatenated in forward()'s channel order, zero-padded, the
 * normalised argument divided by its per-patch max (float division, as torch). */
static p3d_status assemble(const p3d_inpaint_net *net, const p3d_tensor *const *args, float *dst, int64_t hp,
                           int64_t wp, int64_t top, int64_t left) {
    const inpaint_kind_desc *d = net->desc;
    const int64_t n = args[0]->shape[0], h = args[0]->shape[2], w = args[0]->shape[3];
    for (int64_t b = 0; b < n; b++) {
        int64_t slot = b * net->dims.in_channels;
        for (int32_t k = 0; k < d->n_args; k++) {
            const int32_t i = d->order[k], c_i = d->channels[i];
            const float *src = (const float *)args[i]->data + b * c_i * h * w;
            float dmax = 1.0f;
            if (i == d->normalise) {
                dmax = src[0];
                for (int64_t j = 1; j < c_i * h * w; j++) dmax = src[j] > dmax || isnan(src[j]) ? src[j] : dmax;
                if (!(dmax > 0.0f) || !isfinite(dmax))
                    return p3d_fail(P3D_ERR_INVALID_ARG, "inpaint %s: %s of patch %lld has maximum %g; it must be "
                                    "finite and > 0 to normalise it", d->name, d->arg[i], (long long)b, (double)dmax);
            }
            for (int32_t c = 0; c < c_i; c++, slot++) {
                float *plane = dst + slot * hp * wp;
                const float *sp = src + c * h * w;
                memset(plane, 0, (size_t)(hp * wp) * sizeof(float));
                for (int64_t y = 0; y < h; y++) {
                    float *row = plane + (top + y) * wp + left;
                    if (i == d->normalise)
                        for (int64_t x = 0; x < w; x++) row[x] = sp[y * w + x] / dmax;
                    else
                        memcpy(row, sp + y * w, (size_t)w * sizeof(float));
                }
            }
        }
    }
    return P3D_OK;
}

p3d_status p3d_inpaint_net_forward_3p(p3d_inpaint_net *net, const p3d_tensor *const *args, int32_t n_args,
                                      p3d_tensor *out) {
    P3D_TRY(check_args(net, args, n_args, out));
    const int64_t n = out->shape[0], h = out->shape[2], w = out->shape[3];
    int64_t hp, wp, top, left;
    p3d_inpaint_padded_size(net, h, w, &hp, &wp, &top, &left);
    P3D_TRY(need_plan(net, n, hp, wp));
    p3d_arena_reset(net->arena);
    io_tensors io;
    P3D_TRY(layout(net, n, hp, wp, &io));
    const int on_gpu = p3d_ctx_cuda(net->ctx) != NULL;
    P3D_TRY(assemble(net, args, on_gpu ? net->stage : (float *)io.x.data, hp, wp, top, left));
    if (on_gpu) P3D_TRY(p3d_ctx_upload(net->ctx, io.x.data, net->stage, p3d_tensor_nbytes(&io.x)));
    P3D_TRY(net->desc->ops->run(net->body, net->arena, &io.x, &io.y));
    if (!on_gpu) return p3d_crop(net->ctx, &io.y, out, top, left);
    p3d_tensor crop = p3d_inpaint_view(io.crop, p3d_ctx_mem(net->ctx), n, net->dims.out_channels, h, w);
    P3D_TRY(p3d_crop(net->ctx, &io.y, &crop, top, left));
    return p3d_ctx_download(net->ctx, out->data, crop.data, p3d_tensor_nbytes(out));
}
