/* stages_nets.c - bench stages of the three inpainting networks: inpaint.{edge,depth,color}.HxW.nN,
 * one forward() of N padded patches already in the context's memory (the network alone: forward_3P's
 * host-side padding and the transfers are not timed), at 256x256 (the smallest padded patch),
 * 512x512 (colour patches are scaled to about this area) and 768x1152 (a whole 960x640 canvas), for
 * N = 1 and N = 8. MACs come from the layers' MAC helpers (p3d_inpaint_net_macs), so GFLOP/s is
 * reported. Weights: the random-weight blobs in p3d_bench_weights_dir() (timing does not depend on
 * the values); a stage without its blob, or over the --max-gmac or memory budget, skips itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "inpaint/inpaint_nets.h"

typedef struct net_state {
    p3d_inpaint_net *net;
    p3d_tensor x, y; /* (N, Cin, H, W) -> (N, Cout, H, W), context memory */
} net_state;

static p3d_status net_run(void *s, p3d_ctx *ctx) {
    net_state *st = (net_state *)s;
    return p3d_inpaint_net_forward(st->net, &st->x, &st->y);
}

static void net_teardown(void *s, p3d_ctx *ctx) {
    net_state *st = (net_state *)s;
    p3d_inpaint_net_free(st->net);
    p3d_ctx_release(ctx, st->x.data);
    p3d_ctx_release(ctx, st->y.data);
    free(st);
}

/* A patch-like input: values in [0, 1), then context = the left 3/5, mask = a band right of it. */
static void fill_input(float *x, int64_t n, int64_t c, int64_t h, int64_t w) {
    uint32_t r = 12345;
    for (int64_t b = 0; b < n; b++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t i = 0; i < h * w; i++) {
                const int64_t col = i % w;
                float *v = &x[(b * c + ch) * h * w + i];
                r = r * 1664525u + 1013904223u;
                if (ch == c - 2) *v = col < w * 3 / 5 ? 1.0f : 0.0f;
                else if (ch == c - 1) *v = col >= w * 3 / 5 && col < w * 4 / 5 ? 1.0f : 0.0f;
                else *v = (float)(r >> 8) / 16777216.0f;
            }
}

static p3d_status alloc_tensor(p3d_ctx *ctx, int64_t n, int64_t c, int64_t h, int64_t w, p3d_tensor *t) {
    const int64_t shape[4] = {n, c, h, w};
    void *d = NULL;
    P3D_TRY(p3d_ctx_alloc(ctx, (size_t)(n * c * h * w) * sizeof(float), &d));
    *t = p3d_tensor_view(d, P3D_F32, p3d_ctx_mem(ctx), 4, shape);
    return P3D_OK;
}

/* Budgets and loading; the caller frees *st on failure with net_teardown. */
static p3d_status net_prepare(p3d_ctx *ctx, p3d_bench_case *c, net_state *st, p3d_inpaint_kind kind, int64_t h,
                              int64_t w, int64_t n) {
    const char *model = p3d_inpaint_kind_name(kind);
    char path[1100];
    snprintf(path, sizeof path, "%s/%s-random.p3dw", p3d_bench_weights_dir(), model);
    if (access(path, R_OK) != 0)
        return p3d_fail(P3D_ERR_UNSUPPORTED, "%s not found (write it with tools/make_test_weights.py DIR, then "
                        "--weights-dir DIR)", path);
    p3d_weights *wt = NULL;
    P3D_TRY(p3d_weights_load(path, &wt));
    p3d_status s = p3d_inpaint_net_init(&st->net, ctx, wt, kind);
    p3d_weights_free(wt);
    P3D_TRY(s);
    c->macs = (double)p3d_inpaint_net_macs(st->net, n, h, w);
    if (p3d_bench_max_macs() > 0 && c->macs > p3d_bench_max_macs())
        return p3d_fail(P3D_ERR_UNSUPPORTED, "%.0f GMAC per run is over the --max-gmac budget of %.0f", c->macs * 1e-9,
                        p3d_bench_max_macs() * 1e-9);
    size_t bytes = 0;
    P3D_TRY(p3d_inpaint_net_arena_bytes(st->net, n, h, w, &bytes));
    const size_t budget = p3d_bench_memory_budget(ctx);
    snprintf(c->label + strlen(c->label), sizeof c->label - strlen(c->label), ", arena %.0f MB", (double)bytes / 1e6);
    if (bytes > budget)
        return p3d_fail(P3D_ERR_UNSUPPORTED, "activations need %.1f GB, over the memory budget of %.1f GB",
                        (double)bytes / 1e9, (double)budget / 1e9);
    const int32_t cin = p3d_inpaint_net_in_channels(st->net), cout = p3d_inpaint_net_out_channels(st->net);
    P3D_TRY(p3d_inpaint_net_plan(st->net, n, h, w));
    P3D_TRY(alloc_tensor(ctx, n, cin, h, w, &st->x));
    P3D_TRY(alloc_tensor(ctx, n, cout, h, w, &st->y));
    float *host = (float *)malloc((size_t)(n * cin * h * w) * sizeof(float));
    if (!host) return p3d_fail(P3D_ERR_OOM, "%s: out of host memory for the input", model);
    fill_input(host, n, cin, h, w);
    s = p3d_ctx_upload(ctx, st->x.data, host, p3d_tensor_nbytes(&st->x));
    free(host);
    return s;
}

static p3d_status net_setup(p3d_ctx *ctx, p3d_bench_case *c, p3d_inpaint_kind kind, int64_t h, int64_t w, int64_t n) {
    snprintf(c->label, sizeof c->label, "N=%lld x %lldx%lld", (long long)n, (long long)h, (long long)w);
    c->pixels = (double)(n * h * w);
    net_state *st = (net_state *)calloc(1, sizeof *st);
    if (!st) return p3d_fail(P3D_ERR_OOM, "inpaint: out of host memory");
    const p3d_status s = net_prepare(ctx, c, st, kind, h, w, n);
    if (s != P3D_OK) {
        net_teardown(st, ctx);
        return s;
    }
    c->state = st;
    c->run = net_run;
    c->teardown = net_teardown;
    return P3D_OK;
}

/* Every stage: X(model, kind, H, W, N). */
#define NET_SIZES(X, model, KIND)                                                                            \
    X(model, KIND, 256, 256, 1)                                                                              \
    X(model, KIND, 256, 256, 8)                                                                              \
    X(model, KIND, 512, 512, 1)                                                                              \
    X(model, KIND, 512, 512, 8)                                                                              \
    X(model, KIND, 768, 1152, 1)                                                                             \
    X(model, KIND, 768, 1152, 8)
#define NET_STAGES(X)                                                                                        \
    NET_SIZES(X, edge, P3D_INPAINT_EDGE) NET_SIZES(X, depth, P3D_INPAINT_DEPTH) NET_SIZES(X, color, P3D_INPAINT_COLOR)

/* One setup function per stage (the table's setups take no parameters). */
#define NET_SETUP(model, KIND, h, w, n)                                                                      \
    static p3d_status setup_##model##_##h##x##w##_n##n(p3d_ctx *ctx, p3d_bench_case *c) {                    \
        return net_setup(ctx, c, KIND, h, w, n);                                                             \
    }
NET_STAGES(NET_SETUP)

#define NET_ROW(model, KIND, h, w, n) {"inpaint." #model "." #h "x" #w ".n" #n, setup_##model##_##h##x##w##_n##n},
P3D_BENCH_TABLE(p3d_bench_stages_nets) = {
    NET_STAGES(NET_ROW){NULL, NULL},
};
