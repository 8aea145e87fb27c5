/* test_inpaint_nets.c - the three inpainting nets (host/inpaint/inpaint_nets.h) against the PyTorch goldens of
 * tools/gen_inpaint_golden.py (tests/data/inpaint), with the seeded random weights that
 * tools/make_test_weights.py writes to $P3D_BUILD_DIR/testdata/{edge,depth,color}-random.p3dw (the
 * ctest fixture inpaint_weights runs it first; without the blobs each case is a SKIP naming them).
 *
 * Per net, on the CPU: forward_3P on the two golden patches (N = 2, 81x101 padded to 128x128) and
 * forward() on the golden padded input of patch 0; each output must satisfy
 * max |C - PyTorch| <= 1e-4 * max |PyTorch| (the figure is printed). With a CUDA device the same
 * forward_3P runs there too and is compared with the CPU's (else a SKIP, not a pass). Also: the
 * per-pixel MACs of reference 4.1, no allocation in a forward, and blobs that must be refused by name
 * (wrong kind, wrong hyper-parameter, mis-shaped tensor). */
#include "p3d_test.h"

#include <stdint.h>

#include "core/backend.h"
#include "blob_edit.h"
#include "inpaint/inpaint_nets.h"
#include "nn_oracle.h"
#include "io/npy.h"
#include "nn/weights.h"

#define TOL_REL 1e-4

static p3d_ctx *g_cpu, *g_gpu;
static char g_why[600];

static const char *source_dir(void) {
    const char *s = getenv("P3D_SOURCE_DIR");
    return s && s[0] ? s : ".";
}

/* $P3D_BUILD_DIR/testdata/<model>-random.p3dw, or NULL after a SKIP naming it. */
static const char *blob_path(p3d_inpaint_kind kind, char *buf, size_t cap) {
    const char *b = getenv("P3D_BUILD_DIR");
    snprintf(buf, cap, "%s/testdata/%s-random.p3dw", b && b[0] ? b : "build", p3d_inpaint_kind_name(kind));
    if (access(buf, R_OK) == 0) return buf;
    SKIP("%s not found (written by the ctest fixture inpaint_weights: tools/make_test_weights.py)", buf);
    return NULL;
}

static int golden(const char *model, const char *what, p3d_tensor *a) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/inpaint/%s_%s.npy", source_dir(), model, what);
    p3d_status st = p3d_npy_read(path, a, NULL);
    CHECK_OK(st);
    return st == P3D_OK;
}

/* Prints "what: max|diff| / max|ref| = r" and fails when r > TOL_REL. */
static double compare(const char *model, const char *what, const float *got, const float *ref, int64_t count) {
    double dmax = 0, rmax = 0;
    for (int64_t i = 0; i < count; i++) {
        const double d = fabs((double)got[i] - (double)ref[i]);
        dmax = d > dmax || d != d ? d : dmax;
        rmax = fabs((double)ref[i]) > rmax ? fabs((double)ref[i]) : rmax;
    }
    const double r = dmax / rmax;
    printf("  %-5s %-28s max|diff| %.3g / max|ref| %.6g = %.3g (limit %g)\n", model, what, dmax, rmax, r, TOL_REL);
    CHECK_MSG(r <= TOL_REL, "%s %s: relative difference %g", model, what, r);
    return r;
}

typedef struct golden_set {
    p3d_tensor in[P3D_INPAINT_MAX_ARGS], out, padded;
    p3d_tensor arg[P3D_INPAINT_MAX_ARGS];
    const p3d_tensor *args[P3D_INPAINT_MAX_ARGS];
    int32_t n_args;
} golden_set;

static void golden_free(golden_set *g) {
    for (int32_t i = 0; i < P3D_INPAINT_MAX_ARGS; i++) p3d_npy_free(&g->in[i]);
    p3d_npy_free(&g->out);
    p3d_npy_free(&g->padded);
}

static int golden_load(p3d_inpaint_kind kind, golden_set *g) {
    memset(g, 0, sizeof *g);
    const char *model = p3d_inpaint_kind_name(kind);
    g->n_args = p3d_inpaint_arg_count(kind);
    char what[64];
    for (int32_t i = 0; i < g->n_args; i++) {
        snprintf(what, sizeof what, "in_%s", p3d_inpaint_arg_name(kind, i));
        if (!golden(model, what, &g->in[i])) return 0;
        const p3d_tensor *a = &g->in[i];
        CHECK(a->ndim == 4 && a->shape[1] == p3d_inpaint_arg_channels(kind, i));
        g->arg[i] = host4(a->data, a->shape[0], a->shape[1], a->shape[2], a->shape[3]);
        g->args[i] = &g->arg[i];
    }
    return golden(model, "out", &g->out) && golden(model, "forward_input_p0", &g->padded) && !p3d_t_case_failed;
}

/* The net of this kind from the blob at path on ctx, or NULL (and the case failed). */
static p3d_inpaint_net *load_net(p3d_ctx *ctx, const char *path, p3d_inpaint_kind kind) {
    p3d_weights *w = NULL;
    p3d_inpaint_net *net = NULL;
    CHECK_OK(p3d_weights_load(path, &w));
    if (w) CHECK_OK(p3d_inpaint_net_init(&net, ctx, w, kind));
    p3d_weights_free(w);
    return net;
}

/* forward_3P of the golden inputs on ctx into out (N, Cout, h, w); checks that repeated forwards
 * allocate nothing. */
static void run_3p(p3d_ctx *ctx, const char *path, p3d_inpaint_kind kind, golden_set *g, float *out) {
    p3d_inpaint_net *net = load_net(ctx, path, kind);
    if (!net) return;
    const int64_t n = g->out.shape[0], c = g->out.shape[1], h = g->out.shape[2], wd = g->out.shape[3];
    int64_t hp, wp, top, left;
    p3d_inpaint_padded_size(net, h, wd, &hp, &wp, &top, &left);
    CHECK(hp == 128 && wp == 128 && top == 23 && left == 13);
    p3d_tensor y = host4(out, n, c, h, wd);
    CHECK_FAILS(p3d_inpaint_net_forward_3p(net, g->args, g->n_args, &y), P3D_ERR_INVALID_ARG, "not planned");
    CHECK_OK(p3d_inpaint_net_plan(net, n, hp, wp));
    const size_t in_use = p3d_ctx_bytes_in_use(ctx);
    CHECK_OK(p3d_inpaint_net_forward_3p(net, g->args, g->n_args, &y));
    CHECK_OK(p3d_inpaint_net_forward_3p(net, g->args, g->n_args, &y));
    CHECK_MSG(p3d_ctx_bytes_in_use(ctx) == in_use, "forward_3P allocated %zu bytes",
              p3d_ctx_bytes_in_use(ctx) - in_use);
    CHECK_FAILS(p3d_inpaint_net_forward_3p(net, g->args, g->n_args - 1, &y), P3D_ERR_INVALID_ARG, "inputs");
    p3d_inpaint_net_free(net);
}

/* forward() of the golden padded input of patch 0 on the CPU; returns the crop of its output. */
static void run_padded(const char *path, p3d_inpaint_kind kind, golden_set *g, float *crop) {
    p3d_inpaint_net *net = load_net(g_cpu, path, kind);
    if (!net) return;
    const p3d_tensor *x = &g->padded;
    const int64_t c = p3d_inpaint_net_out_channels(net), hp = x->shape[2], wp = x->shape[3];
    const int64_t h = g->out.shape[2], wd = g->out.shape[3];
    int64_t hp2, wp2, top, left;
    p3d_inpaint_padded_size(net, h, wd, &hp2, &wp2, &top, &left);
    CHECK(hp2 == hp && wp2 == wp);
    CHECK(x->ndim == 4 && x->shape[0] == 1 && x->shape[1] == p3d_inpaint_net_in_channels(net));
    float *y = (float *)calloc((size_t)(c * hp * wp), sizeof(float));
    p3d_tensor tx = host4(x->data, 1, x->shape[1], hp, wp), ty = host4(y, 1, c, hp, wp);
    CHECK_OK(p3d_inpaint_net_plan(net, 1, hp, wp));
    CHECK_OK(p3d_inpaint_net_forward(net, &tx, &ty));
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t r = 0; r < h; r++) memcpy(crop + (ch * h + r) * wd, y + (ch * hp + top + r) * wp + left, (size_t)wd * 4);
    /* Per padded pixel, the MACs of reference 4.1. */
    static const int64_t per_px[P3D_INPAINT_KIND_COUNT] = {814656, 144116, 146962};
    CHECK(p3d_inpaint_net_macs(net, 1, 256, 256) == per_px[kind] * 256 * 256);
    CHECK(p3d_inpaint_net_macs(net, 2, 128, 256) == per_px[kind] * 2 * 128 * 256);
    free(y);
    p3d_inpaint_net_free(net);
}

/* The CPU's forward_3P output per net, for the CUDA comparison (NULL when the CPU case did not run). */
static float *g_cpu_out[P3D_INPAINT_KIND_COUNT];

static void check_net(p3d_inpaint_kind kind) {
    char path[1024];
    if (!blob_path(kind, path, sizeof path)) return;
    golden_set g;
    if (!golden_load(kind, &g)) {
        golden_free(&g);
        return;
    }
    const char *model = p3d_inpaint_kind_name(kind);
    const int64_t count = p3d_tensor_numel(&g.out), patch = count / g.out.shape[0];
    float *cpu = (float *)calloc((size_t)count, sizeof(float)), *crop = (float *)calloc((size_t)patch, sizeof(float));
    run_3p(g_cpu, path, kind, &g, cpu);
    compare(model, "forward_3P N=2 (cpu)", cpu, g.out.data, count);
    run_padded(path, kind, &g, crop);
    compare(model, "padded forward patch 0 (cpu)", crop, g.out.data, patch);
    g_cpu_out[kind] = cpu;
    free(crop);
    golden_free(&g);
}

/* forward_3P on CUDA against the CPU's output and the golden. */
static void check_net_cuda(p3d_inpaint_kind kind) {
    const char *model = p3d_inpaint_kind_name(kind);
    char path[1024];
    if (!g_gpu) {
        SKIP_GPU("%s: CPU-vs-CUDA comparison not run: %s", model, g_why);
        return;
    }
    if (!blob_path(kind, path, sizeof path)) return;
    if (!g_cpu_out[kind]) {
        SKIP("%s: no CPU output to compare with (the CPU case did not run)", model);
        return;
    }
    golden_set g;
    if (golden_load(kind, &g)) {
        float *gpu = (float *)calloc((size_t)p3d_tensor_numel(&g.out), sizeof(float));
        run_3p(g_gpu, path, kind, &g, gpu);
        compare(model, "forward_3P N=2 cuda vs cpu", gpu, g_cpu_out[kind], p3d_tensor_numel(&g.out));
        compare(model, "forward_3P N=2 (cuda)", gpu, g.out.data, p3d_tensor_numel(&g.out));
        free(gpu);
    }
    golden_free(&g);
}

static void test_edge(void) { check_net(P3D_INPAINT_EDGE); }
static void test_depth(void) { check_net(P3D_INPAINT_DEPTH); }
static void test_color(void) { check_net(P3D_INPAINT_COLOR); }
static void test_edge_cuda(void) { check_net_cuda(P3D_INPAINT_EDGE); }
static void test_depth_cuda(void) { check_net_cuda(P3D_INPAINT_DEPTH); }
static void test_color_cuda(void) { check_net_cuda(P3D_INPAINT_COLOR); }

/* ---- blobs that must be refused ----------------------------------------------------------------------- */

static void test_wrong_kind(void) {
    char path[1024];
    if (!blob_path(P3D_INPAINT_EDGE, path, sizeof path)) return;
    p3d_weights *w = NULL;
    p3d_inpaint_net *net = NULL;
    CHECK_OK(p3d_weights_load(path, &w));
    if (!w) return;
    CHECK_FAILS(p3d_inpaint_net_init(&net, g_cpu, w, P3D_INPAINT_DEPTH), P3D_ERR_MODEL,
                "is a inpaint-edge model, expected inpaint-depth");
    CHECK(net == NULL);
    p3d_weights_free(w);
}

/* Initialises an edge net from the blob at path and expects `needle`. */
static void expect_refused(const char *path, const char *needle) {
    p3d_weights *w = NULL;
    p3d_inpaint_net *net = NULL;
    CHECK_OK(p3d_weights_load(path, &w));
    if (w) CHECK_FAILS(p3d_inpaint_net_init(&net, g_cpu, w, P3D_INPAINT_EDGE), P3D_ERR_MODEL, needle);
    CHECK(net == NULL);
    p3d_inpaint_net_free(net);
    p3d_weights_free(w);
    unlink(path);
}

static void test_refused_blobs(void) {
    char path[1024];
    if (!blob_path(P3D_INPAINT_EDGE, path, sizeof path)) return;
    blob_refusals(path, "middle.3.conv_block.5.weight", "in_channels", 8, expect_refused,
                  "middle.3.conv_block.5.weight: got [256,256,9,1], expected [256,256,3,3]",
                  "hyper-parameter in_channels = 8, this network needs 7");
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    g_cpu = cpu_ctx();
    g_gpu = cuda_ctx_or_why(g_why, sizeof g_why);
    RUN(test_edge);
    RUN(test_depth);
    RUN(test_color);
    RUN(test_edge_cuda);
    RUN(test_depth_cuda);
    RUN(test_color_cuda);
    RUN(test_wrong_kind);
    RUN(test_refused_blobs);
    for (int32_t k = 0; k < P3D_INPAINT_KIND_COUNT; k++) free(g_cpu_out[k]);
    p3d_ctx_free(g_gpu);
    p3d_ctx_free(g_cpu);
    return p3d_test_finish();
}
