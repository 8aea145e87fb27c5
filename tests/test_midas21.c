/* test_midas21.c - MiDaS v2.1 small and large (host/depth/midas_v21.h) against the PyTorch goldens of
 * tools/gen_midas21_golden.py (tests/data/midas21), with the seeded random weights that
 * tools/make_midas21_weights.py writes to $P3D_BUILD_DIR/testdata/midas-{small,large}-random.p3dw (the
 * ctest fixture midas21_weights runs it first; without the blobs each case is a SKIP naming them).
 *
 * Per net, on the CPU: forward() of the golden input (small 1x3x64x96, large 1x3x96x64) must satisfy
 * max |C - PyTorch| <= 1e-4 * max |PyTorch| (the figure is printed); repeated forwards allocate nothing;
 * an unplanned size and a size that is not a multiple of 32 are refused. With a CUDA device the same
 * forward runs there and is compared with the CPU's (else a SKIP, not a pass). Also: run.py's input size
 * rule (sizes.txt), its preprocessing (INTER_CUBIC on float64, ImageNet normalisation) against the
 * OpenCV emulation's output, the estimate path against preprocess + forward, and blobs that must be
 * refused by name (wrong kind, wrong hyper-parameter, mis-shaped tensor). */
#include "p3d_test.h"

#include <stdint.h>

#include "core/backend.h"
#include "blob_edit.h"
#include "depth/midas_v21.h"
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

/* $P3D_BUILD_DIR/testdata/<kind>-random.p3dw, or NULL after a SKIP naming it. */
static const char *blob_path(p3d_midas21_kind kind, char *buf, size_t cap) {
    const char *b = getenv("P3D_BUILD_DIR");
    snprintf(buf, cap, "%s/testdata/%s-random.p3dw", b && b[0] ? b : "build", p3d_midas21_kind_name(kind));
    if (access(buf, R_OK) == 0) return buf;
    SKIP("%s not found (written by the ctest fixture midas21_weights: tools/make_midas21_weights.py)", buf);
    return NULL;
}

static int golden(const char *name, p3d_tensor *t) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/midas21/%s.npy", source_dir(), name);
    const p3d_status st = p3d_npy_read(path, t, NULL);
    CHECK_OK(st);
    return st == P3D_OK;
}

/* ---- run.py's input path ---------------------------------------------------------------------------------- */

static void test_input_size(void) {
    char path[1024], line[256];
    snprintf(path, sizeof path, "%s/tests/data/midas21/sizes.txt", source_dir());
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) return;
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        int size, w, h, nw, nh, gw = -1, gh = -1;
        if (line[0] == '#' || sscanf(line, "%d %d %d %d %d", &size, &w, &h, &nw, &nh) != 5) continue;
        cases++;
        if (nw == 0 || nh == 0) {
            CHECK_FAILS(p3d_midas21_input_size(size, w, h, &gw, &gh), P3D_ERR_INVALID_ARG, "too elongated");
            continue;
        }
        CHECK_OK(p3d_midas21_input_size(size, w, h, &gw, &gh));
        CHECK_MSG(gw == nw && gh == nh, "%dx%d at %d: got %dx%d, run.py %dx%d", w, h, size, gw, gh, nw, nh);
    }
    fclose(f);
    CHECK(cases >= 40);
    printf("  input size rule: %d cases of sizes.txt\n", cases);
}

/* Preprocesses pre_<name>_src.npy to the golden's size and compares with pre_<name>.npy. */
static void check_preprocess(const char *name) {
    char file[64];
    p3d_tensor src, ref;
    memset(&src, 0, sizeof src);
    memset(&ref, 0, sizeof ref);
    snprintf(file, sizeof file, "pre_%s_src", name);
    if (golden(file, &src)) {
        snprintf(file, sizeof file, "pre_%s", name);
        golden(file, &ref);
    }
    if (src.data && ref.data && src.ndim == 3 && ref.ndim == 3) {
        const int32_t sh = (int32_t)src.shape[0], sw = (int32_t)src.shape[1];
        const int32_t dh = (int32_t)ref.shape[1], dw = (int32_t)ref.shape[2];
        uint8_t *rgb = (uint8_t *)malloc((size_t)sh * sw * 3);
        float *out = (float *)malloc(sizeof(float) * 3 * dh * dw);
        double *work = (double *)malloc(sizeof(double) * p3d_midas21_preprocess_work(dw, dh));
        for (int64_t i = 0; i < (int64_t)sh * sw * 3; i++) rgb[i] = (uint8_t)((const float *)src.data)[i];
        CHECK_OK(p3d_midas21_preprocess(rgb, sw, sh, dw, dh, out, work));
        int64_t exact = 0, n = 3 * (int64_t)dh * dw;
        for (int64_t i = 0; i < n; i++) exact += out[i] == ((const float *)ref.data)[i];
        char what[96];
        snprintf(what, sizeof what, "preprocess %s %dx%d -> %dx%d", name, (int)sh, (int)sw, (int)dh, (int)dw);
        compare_rel(what, out, ref.data, n, 1e-6);
        printf("  %-36s %lld of %lld values bit-identical\n", what, (long long)exact, (long long)n);
        free(rgb);
        free(out);
        free(work);
    }
    p3d_npy_free(&src);
    p3d_npy_free(&ref);
}

static void test_preprocess_up(void) { check_preprocess("up"); }
static void test_preprocess_down(void) { check_preprocess("down"); }

/* ---- the networks ---------------------------------------------------------------------------------------- */

typedef struct golden_set {
    p3d_tensor in, out;
} golden_set;

static int golden_load(p3d_midas21_kind kind, golden_set *g) {
    memset(g, 0, sizeof *g);
    const char *short_name = kind == P3D_MIDAS21_SMALL ? "small" : "large";
    char name[32];
    snprintf(name, sizeof name, "%s_in", short_name);
    if (!golden(name, &g->in)) return 0;
    snprintf(name, sizeof name, "%s_out", short_name);
    if (!golden(name, &g->out)) return 0;
    CHECK(g->in.ndim == 4 && g->in.shape[1] == 3 && g->out.ndim == 3 && g->out.shape[1] == g->in.shape[2] &&
          g->out.shape[2] == g->in.shape[3]);
    return !p3d_t_case_failed;
}

static void golden_free(golden_set *g) {
    p3d_npy_free(&g->in);
    p3d_npy_free(&g->out);
}

static p3d_midas21 *load_net(p3d_ctx *ctx, const char *path, p3d_midas21_kind kind) {
    p3d_midas21 *net = NULL;
    CHECK_OK(p3d_midas21_load(ctx, path, kind, &net));
    return net;
}

/* forward() of the golden input on ctx into out (H, W) host; checks that repeated forwards allocate
 * nothing and the refusals. */
static void run_forward(p3d_ctx *ctx, const char *path, p3d_midas21_kind kind, const golden_set *g, float *out) {
    p3d_midas21 *net = load_net(ctx, path, kind);
    if (!net) return;
    const int64_t h = g->in.shape[2], w = g->in.shape[3], xs[4] = {1, 3, h, w}, ys[2] = {h, w};
    const size_t xb = sizeof(float) * 3 * h * w, yb = sizeof(float) * h * w;
    void *xm = NULL, *ym = NULL;
    CHECK_OK(p3d_ctx_alloc(ctx, xb, &xm));
    CHECK_OK(p3d_ctx_alloc(ctx, yb, &ym));
    if (xm && ym) {
        CHECK_OK(p3d_ctx_upload(ctx, xm, g->in.data, xb));
        p3d_tensor x = p3d_tensor_view(xm, P3D_F32, p3d_ctx_mem(ctx), 4, xs);
        p3d_tensor y = p3d_tensor_view(ym, P3D_F32, p3d_ctx_mem(ctx), 2, ys);
        CHECK_FAILS(p3d_midas21_forward(net, &x, &y), P3D_ERR_INVALID_ARG, "was not planned");
        CHECK_FAILS(p3d_midas21_plan(net, (int32_t)h + 16, (int32_t)w), P3D_ERR_INVALID_ARG, "multiples of 32");
        CHECK_OK(p3d_midas21_plan(net, (int32_t)h, (int32_t)w));
        const size_t in_use = p3d_ctx_bytes_in_use(ctx);
        CHECK_OK(p3d_midas21_forward(net, &x, &y));
        CHECK_OK(p3d_midas21_forward(net, &x, &y));
        CHECK_MSG(p3d_ctx_bytes_in_use(ctx) == in_use, "forward allocated %zu bytes",
                  p3d_ctx_bytes_in_use(ctx) - in_use);
        CHECK_OK(p3d_ctx_download(ctx, out, ym, yb));
        p3d_tensor y3 = p3d_tensor_view(ym, P3D_F32, p3d_ctx_mem(ctx), 4, xs);
        CHECK_FAILS(p3d_midas21_forward(net, &x, &y3), P3D_ERR_INVALID_ARG, "output: expected f32");
    }
    p3d_ctx_release(ctx, xm);
    p3d_ctx_release(ctx, ym);
    p3d_midas21_free(net);
}

static float *g_cpu_out[P3D_MIDAS21_KIND_COUNT];

static void check_net(p3d_midas21_kind kind) {
    char path[1024];
    if (!blob_path(kind, path, sizeof path)) return;
    golden_set g;
    if (golden_load(kind, &g)) {
        const int64_t count = p3d_tensor_numel(&g.out);
        float *cpu = (float *)calloc((size_t)count, sizeof(float));
        run_forward(g_cpu, path, kind, &g, cpu);
        char what[64];
        snprintf(what, sizeof what, "%s 1x3x%lldx%lld (cpu)", p3d_midas21_kind_name(kind), (long long)g.in.shape[2],
                 (long long)g.in.shape[3]);
        compare_rel(what, cpu, g.out.data, count, TOL_REL);
        g_cpu_out[kind] = cpu;
    }
    golden_free(&g);
}

static void check_net_cuda(p3d_midas21_kind kind) {
    const char *name = p3d_midas21_kind_name(kind);
    char path[1024];
    if (!g_gpu) {
        SKIP_GPU("%s: CPU-vs-CUDA comparison not run: %s", name, g_why);
        return;
    }
    if (!blob_path(kind, path, sizeof path)) return;
    if (!g_cpu_out[kind]) {
        SKIP("%s: no CPU output to compare with (the CPU case did not run)", name);
        return;
    }
    golden_set g;
    if (golden_load(kind, &g)) {
        const int64_t count = p3d_tensor_numel(&g.out);
        float *gpu = (float *)calloc((size_t)count, sizeof(float));
        run_forward(g_gpu, path, kind, &g, gpu);
        char what[64];
        snprintf(what, sizeof what, "%s cuda vs cpu", name);
        compare_rel(what, gpu, g_cpu_out[kind], count, TOL_REL);
        snprintf(what, sizeof what, "%s (cuda)", name);
        compare_rel(what, gpu, g.out.data, count, TOL_REL);
        free(gpu);
    }
    golden_free(&g);
}

static void test_small(void) { check_net(P3D_MIDAS21_SMALL); }
static void test_large(void) { check_net(P3D_MIDAS21_LARGE); }
static void test_small_cuda(void) { check_net_cuda(P3D_MIDAS21_SMALL); }
static void test_large_cuda(void) { check_net_cuda(P3D_MIDAS21_LARGE); }

/* estimate() on a photo = preprocess to the size rule's input + forward; and the MAC counts. */
static void test_estimate(void) {
    char path[1024];
    if (!blob_path(P3D_MIDAS21_SMALL, path, sizeof path)) return;
    p3d_tensor src;
    if (!golden("pre_down_src", &src)) return;
    const int32_t sh = (int32_t)src.shape[0], sw = (int32_t)src.shape[1];
    uint8_t *rgb = (uint8_t *)malloc((size_t)sh * sw * 3);
    for (int64_t i = 0; i < (int64_t)sh * sw * 3; i++) rgb[i] = (uint8_t)((const float *)src.data)[i];
    p3d_npy_free(&src);
    int32_t nw = 0, nh = 0;
    CHECK_OK(p3d_midas21_input_size(256, sw, sh, &nw, &nh));
    CHECK(nw == 160 && nh == 256); /* 97x150: scale 256 / 150, width round(165.5 / 32) * 32 */
    p3d_midas21 *net = load_net(g_cpu, path, P3D_MIDAS21_SMALL);
    const size_t px = (size_t)nw * nh;
    float *a = (float *)calloc(px, sizeof(float)), *b = (float *)calloc(px, sizeof(float));
    float *x = (float *)calloc(3 * px, sizeof(float));
    double *work = (double *)malloc(sizeof(double) * p3d_midas21_preprocess_work(nw, nh));
    if (net) {
        int32_t ew = 0, eh = 0;
        CHECK_FAILS(p3d_midas21_estimate(net, rgb, sw, sh, a, px - 1, &ew, &eh), P3D_ERR_INVALID_ARG, "holds");
        CHECK_OK(p3d_midas21_estimate(net, rgb, sw, sh, a, px, &ew, &eh));
        CHECK(ew == nw && eh == nh);
        CHECK_OK(p3d_midas21_preprocess(rgb, sw, sh, nw, nh, x, work));
        const int64_t xs[4] = {1, 3, nh, nw}, ys[2] = {nh, nw};
        p3d_tensor tx = p3d_tensor_view(x, P3D_F32, P3D_MEM_HOST, 4, xs);
        p3d_tensor ty = p3d_tensor_view(b, P3D_F32, P3D_MEM_HOST, 2, ys);
        CHECK_OK(p3d_midas21_forward(net, &tx, &ty));
        CHECK(memcmp(a, b, px * sizeof(float)) == 0);
        int64_t positive = 0;
        for (size_t i = 0; i < px; i++) positive += a[i] > 0.0f && isfinite(a[i]);
        CHECK(positive > (int64_t)px / 2);
        const int64_t macs = p3d_midas21_macs(net, 256, 256);
        printf("  midas-small 256x256: %.3f GMAC per forward\n", (double)macs / 1e9);
        CHECK(macs > 0 && p3d_midas21_macs(net, 250, 256) == 0);
        CHECK(p3d_midas21_macs(net, 512, 256) == 2 * macs);
    }
    p3d_midas21_free(net);
    free(rgb);
    free(a);
    free(b);
    free(x);
    free(work);
}

/* ---- blobs that must be refused ------------------------------------------------------------------------- */

static void test_wrong_kind(void) {
    char path[1024];
    if (!blob_path(P3D_MIDAS21_SMALL, path, sizeof path)) return;
    p3d_midas21 *net = NULL;
    CHECK_FAILS(p3d_midas21_load(g_cpu, path, P3D_MIDAS21_LARGE, &net), P3D_ERR_MODEL,
                "is a midas-small model, expected midas-large");
    CHECK(net == NULL);
    p3d_midas21_kind k;
    CHECK_FAILS(p3d_midas21_kind_parse("midas-v1", &k), P3D_ERR_INVALID_ARG, "unknown MiDaS v2.1 model 'midas-v1'");
}

/* Loads a small net from the blob at path and expects `needle`. */
static void expect_refused(const char *path, const char *needle) {
    p3d_midas21 *net = NULL;
    CHECK_FAILS(p3d_midas21_load(g_cpu, path, P3D_MIDAS21_SMALL, &net), P3D_ERR_MODEL, needle);
    CHECK(net == NULL);
    p3d_midas21_free(net);
    unlink(path);
}

static void test_refused_blobs(void) {
    char path[1024];
    if (!blob_path(P3D_MIDAS21_SMALL, path, sizeof path)) return;
    blob_refusals(path, "pretrained.layer3.0.2.conv_dw.weight", "features", 32, expect_refused,
                  "pretrained.layer3.0.2.conv_dw.weight: got [576,1,9,1], expected [576,1,3,3]",
                  "hyper-parameter features = 32, this network needs 64");
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    g_cpu = cpu_ctx();
    g_gpu = cuda_ctx_or_why(g_why, sizeof g_why);
    RUN(test_input_size);
    RUN(test_preprocess_up);
    RUN(test_preprocess_down);
    RUN(test_small);
    RUN(test_large);
    RUN(test_small_cuda);
    RUN(test_large_cuda);
    RUN(test_estimate);
    RUN(test_wrong_kind);
    RUN(test_refused_blobs);
    for (int32_t k = 0; k < P3D_MIDAS21_KIND_COUNT; k++) free(g_cpu_out[k]);
    p3d_ctx_free(g_gpu);
    p3d_ctx_free(g_cpu);
    return p3d_test_finish();
}
