/* test_midas.c - MiDaS v1 (host/depth/midas.h) against the PyTorch goldens of tools/gen_midas_golden.py
 * (tests/data/midas), with the seeded random weights that tools/make_test_weights.py writes to
 * $P3D_BUILD_DIR/testdata/midas-v1-random.p3dw (the ctest fixture midas_test_weights runs it first;
 * without the blob each case is a SKIP naming it).
 *
 * On the CPU: forward() of the golden 1x3x128x96 input (and the same input as a batch of 2); estimate()
 * on the golden 300x75 photo (the reference's INTER_AREA preprocessing to 384x96, then the net) and the
 * reference's post-processing of that output to 640x160. Each must satisfy
 * max |C - PyTorch| <= 1e-4 * max |PyTorch| (the figure is printed). With a CUDA device the same runs
 * there and is compared with the CPU (else a SKIP, not a pass). Also: sizes of the reference's pre- and
 * post-processing, MACs of reference 4.1, no allocation in a forward, and blobs that must be refused by
 * name (wrong kind, mis-shaped tensor, other hyper-parameters). */
#include "p3d_test.h"

#include <stdint.h>

#include "blob_edit.h"
#include "depth/midas.h"
#include "nn_oracle.h"
#include "io/npy.h"
#include "nn/weights.h"

#define TOL_REL 1e-4

static p3d_ctx *g_cpu, *g_gpu;
static char g_why[600];
static float *g_cpu_net, *g_cpu_photo; /* the CPU outputs, for the CUDA comparison */

static const char *blob_path(void) {
    static char buf[1024];
    const char *b = getenv("P3D_BUILD_DIR");
    snprintf(buf, sizeof buf, "%s/testdata/midas-v1-random.p3dw", b && b[0] ? b : "build");
    if (access(buf, R_OK) == 0) return buf;
    SKIP("%s not found (written by the ctest fixture midas_test_weights: tools/make_test_weights.py)", buf);
    return NULL;
}

static int golden(const char *name, p3d_tensor *t) {
    char path[1024];
    const char *s = getenv("P3D_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/data/midas/%s.npy", s && s[0] ? s : ".", name);
    p3d_status st = p3d_npy_read(path, t, NULL);
    CHECK_OK(st);
    return st == P3D_OK;
}

/* A context-memory copy of host data as an (n, c, h, w) tensor (the host data itself on the CPU). */
static p3d_tensor on_ctx(p3d_ctx *ctx, float *host, int64_t n, int64_t c, int64_t h, int64_t w) {
    const int64_t shape[4] = {n, c, h, w};
    if (!p3d_ctx_cuda(ctx)) return p3d_tensor_view(host, P3D_F32, P3D_MEM_HOST, 4, shape);
    void *d = NULL;
    CHECK_OK(p3d_ctx_alloc(ctx, (size_t)(n * c * h * w) * sizeof(float), &d));
    if (d) CHECK_OK(p3d_ctx_upload(ctx, d, host, (size_t)(n * c * h * w) * sizeof(float)));
    return p3d_tensor_view(d, P3D_F32, P3D_MEM_CUDA, 4, shape);
}

static void off_ctx(p3d_ctx *ctx, p3d_tensor *t, float *host) {
    if (!p3d_ctx_cuda(ctx)) return;
    if (t->data) CHECK_OK(p3d_ctx_download(ctx, host, t->data, p3d_tensor_nbytes(t)));
    p3d_ctx_release(ctx, t->data);
}

/* forward() of the golden input (N = n copies) on ctx; out receives (n, 1, 128, 96). */
static void run_forward(p3d_ctx *ctx, const p3d_tensor *in, int64_t n, float *out) {
    p3d_midas1 *net = NULL;
    const char *path = blob_path();
    if (!path) return;
    CHECK_OK(p3d_midas1_load(ctx, path, &net));
    if (!net) return;
    const int64_t h = in->shape[2], w = in->shape[3], plane = 3 * h * w;
    float *xs = (float *)malloc((size_t)(n * plane) * sizeof(float));
    for (int64_t b = 0; b < n; b++) memcpy(xs + b * plane, in->data, (size_t)plane * sizeof(float));
    p3d_tensor x = on_ctx(ctx, xs, n, 3, h, w), y = on_ctx(ctx, out, n, 1, h, w);
    CHECK_FAILS(p3d_midas1_forward(net, &x, &y), P3D_ERR_INVALID_ARG, "not planned");
    CHECK_OK(p3d_midas1_plan(net, n, h, w));
    const size_t in_use = p3d_ctx_bytes_in_use(ctx);
    CHECK_OK(p3d_midas1_forward(net, &x, &y));
    CHECK_OK(p3d_midas1_forward(net, &x, &y));
    CHECK_MSG(p3d_ctx_bytes_in_use(ctx) == in_use, "forward allocated %zu bytes", p3d_ctx_bytes_in_use(ctx) - in_use);
    off_ctx(ctx, &x, xs);
    off_ctx(ctx, &y, out);
    free(xs);
    p3d_midas1_free(net);
}

/* estimate() of the golden photo on ctx into out (96 x 384). */
static void run_estimate(p3d_ctx *ctx, float *out, size_t cap) {
    p3d_midas1 *net = NULL;
    const char *path = blob_path();
    p3d_tensor photo;
    if (!path || !golden("photo", &photo)) return;
    const int32_t h = (int32_t)photo.shape[0], w = (int32_t)photo.shape[1];
    uint8_t *rgb = (uint8_t *)malloc((size_t)h * (size_t)w * 3);
    for (int64_t i = 0; i < p3d_tensor_numel(&photo); i++) rgb[i] = (uint8_t)((const float *)photo.data)[i];
    CHECK_OK(p3d_midas1_load(ctx, path, &net));
    int32_t nw = 0, nh = 0;
    if (net) {
        CHECK_FAILS(p3d_midas1_estimate(net, rgb, w, h, out, 100, &nw, &nh), P3D_ERR_INVALID_ARG, "holds 100 values");
        CHECK_OK(p3d_midas1_estimate(net, rgb, w, h, out, cap, &nw, &nh));
        CHECK(nw == 384 && nh == 96);
    }
    p3d_midas1_free(net);
    p3d_npy_free(&photo);
    free(rgb);
}

static void test_forward(void) {
    p3d_tensor in, want;
    if (!blob_path() || !golden("net_in", &in) || !golden("net_out", &want)) return;
    const int64_t count = p3d_tensor_numel(&want);
    float *y = (float *)calloc((size_t)(2 * count), sizeof(float));
    run_forward(g_cpu, &in, 1, y);
    compare_rel("forward 1x3x128x96 (cpu)", y, want.data, count, TOL_REL);
    run_forward(g_cpu, &in, 2, y);
    compare_rel("forward N=2, sample 0 (cpu)", y, want.data, count, TOL_REL);
    compare_rel("forward N=2, sample 1 (cpu)", y + count, want.data, count, TOL_REL);
    g_cpu_net = y;
    p3d_npy_free(&in);
    p3d_npy_free(&want);
}

static void test_photo(void) {
    p3d_tensor want, post;
    if (!blob_path() || !golden("photo_out", &want) || !golden("photo_post", &post)) return;
    const int64_t count = p3d_tensor_numel(&want), pcount = p3d_tensor_numel(&post);
    float *y = (float *)calloc((size_t)count, sizeof(float));
    run_estimate(g_cpu, y, (size_t)count);
    compare_rel("estimate 300x75 photo -> 384x96 (cpu)", y, want.data, count, TOL_REL);
    int32_t ow = 0, oh = 0;
    CHECK_OK(p3d_midas1_post_size(300, 75, &ow, &oh));
    CHECK(ow == 640 && oh == 160 && post.shape[0] == oh && post.shape[1] == ow);
    float *scratch = (float *)calloc((size_t)count, sizeof(float));
    float *pp = (float *)calloc((size_t)pcount, sizeof(float));
    CHECK_OK(p3d_midas1_postprocess(y, 384, 96, scratch, pp, ow, oh));
    compare_rel("post-processing -> 640x160 (cpu)", pp, post.data, pcount, TOL_REL);
    /* the same post-processing of PyTorch's own output isolates the blur + resize */
    CHECK_OK(p3d_midas1_postprocess(want.data, 384, 96, scratch, pp, ow, oh));
    compare_rel("post-processing of the golden output", pp, post.data, pcount, TOL_REL);
    CHECK_FAILS(p3d_midas1_postprocess(y, 1, 96, scratch, pp, ow, oh), P3D_ERR_INVALID_ARG, "at least 2x2");
    g_cpu_photo = y;
    free(scratch);
    free(pp);
    p3d_npy_free(&want);
    p3d_npy_free(&post);
}

static void test_cuda(void) {
    if (!g_gpu) {
        SKIP_GPU("CPU-vs-CUDA comparison not run: %s", g_why);
        return;
    }
    if (!g_cpu_net || !g_cpu_photo) {
        SKIP("no CPU outputs to compare with (the CPU cases did not run)");
        return;
    }
    p3d_tensor in;
    if (!golden("net_in", &in)) return;
    const int64_t count = in.shape[2] * in.shape[3], pcount = 96 * 384;
    float *y = (float *)calloc((size_t)(2 * count), sizeof(float));
    float *yp = (float *)calloc((size_t)pcount, sizeof(float));
    run_forward(g_gpu, &in, 2, y);
    compare_rel("forward N=2, sample 0 cuda vs cpu", y, g_cpu_net, count, TOL_REL);
    compare_rel("forward N=2, sample 1 cuda vs cpu", y + count, g_cpu_net + count, count, TOL_REL);
    run_estimate(g_gpu, yp, (size_t)pcount);
    compare_rel("estimate photo cuda vs cpu", yp, g_cpu_photo, pcount, TOL_REL);
    free(y);
    free(yp);
    p3d_npy_free(&in);
}

static void test_sizes_and_macs(void) {
    static const int32_t cases[][4] = {
        /* photo w, h -> network w, h (spec 2.1: 960x640 -> 384x256) */
        {960, 640, 384, 256}, {640, 960, 256, 384}, {300, 75, 384, 96}, {1000, 1000, 384, 384},
        {1024, 768, 384, 288}, {4032, 3024, 384, 288}, {100, 37, 384, 160}, {1, 1, 384, 384}, {500, 20, 384, 32},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t w = 0, h = 0;
        CHECK_OK(p3d_midas1_input_size(cases[i][0], cases[i][1], &w, &h));
        CHECK_MSG(w == cases[i][2] && h == cases[i][3], "%dx%d -> %dx%d", cases[i][0], cases[i][1], w, h);
    }
    int32_t w = 0, h = 0;
    CHECK_OK(p3d_midas1_post_size(960, 640, &w, &h));
    CHECK(w == 640 && h == 427);
    CHECK_OK(p3d_midas1_post_size(2100, 2100, &w, &h)); /* the moon example: depth 640x640 */
    CHECK(w == 640 && h == 640);
    CHECK_OK(p3d_midas1_post_size(1000, 500, &w, &h));  /* 320: exact, no tie */
    CHECK(w == 640 && h == 320);
    CHECK_OK(p3d_midas1_post_size(1280, 5, &w, &h));    /* 2.5: Python rounds half to even */
    CHECK(w == 640 && h == 2);
    CHECK_FAILS(p3d_midas1_post_size(1280, 1, &w, &h), P3D_ERR_INVALID_ARG, "too elongated"); /* 0.5 -> 0 */
    CHECK_FAILS(p3d_midas1_input_size(0, 5, &w, &h), P3D_ERR_INVALID_ARG, "bad image size");

    const char *path = blob_path();
    p3d_midas1 *net = NULL;
    if (!path) return;
    CHECK_OK(p3d_midas1_load(g_cpu, path, &net));
    if (!net) return;
    /* tools/midas_nets.py count_macs: 41.2 GMAC at 256x384 (reference 4.1) */
    CHECK(p3d_midas1_macs(net, 1, 256, 384) == INT64_C(41216901120));
    CHECK(p3d_midas1_macs(net, 2, 128, 96) == 2 * INT64_C(5152112640));
    size_t bytes = 0;
    CHECK_OK(p3d_midas1_arena_bytes(net, 1, 256, 384, &bytes));
    printf("  activation arena at 1x3x256x384: %.1f MB (%.1f floats per input pixel)\n", (double)bytes / 1e6,
           (double)bytes / 4.0 / (256.0 * 384.0));
    CHECK(bytes > 0 && bytes < (size_t)80e6);
    CHECK_FAILS(p3d_midas1_plan(net, 1, 100, 96), P3D_ERR_INVALID_ARG, "multiples of 32");
    CHECK_FAILS(p3d_midas1_plan(net, 0, 128, 96), P3D_ERR_INVALID_ARG, "batch 0");
    p3d_midas1_free(net);
}

/* ---- blobs that must be refused ----------------------------------------------------------------------- */

static void expect_refused(const blob_bytes *b, const char *label, p3d_status want, const char *needle) {
    char path[1024];
    p3d_midas1 *net = NULL;
    blob_write_tmp(b, label, path, sizeof path);
    CHECK_FAILS(p3d_midas1_load(g_cpu, path, &net), want, needle);
    CHECK(net == NULL);
    p3d_midas1_free(net);
    unlink(path);
}

static void test_refused_blobs(void) {
    const char *path = blob_path();
    if (!path) return;
    blob_bytes b = blob_read(path);
    const size_t dims = b.buf ? tensor_dims_at(&b, "pretrained.layer3.2.conv2.weight") : 0;
    const size_t features = b.buf ? hparam_at(&b, "features") : 0, bn = b.buf ? hparam_at(&b, "batch_norm") : 0;
    CHECK(dims && features && bn);
    if (dims && features && bn) {
        le_put(b.buf + 12, 4, P3D_MODEL_INPAINT_EDGE); /* the header's model kind */
        expect_refused(&b, "kind", P3D_ERR_MODEL, "is a inpaint-edge model, expected midas-v1");
        le_put(b.buf + 12, 4, P3D_MODEL_MIDAS_V1);
        /* [256,256,3,3] -> [256,256,9,1]: the same byte count, so only the network's table can object */
        le_put(b.buf + dims + 16, 8, 9);
        le_put(b.buf + dims + 24, 8, 1);
        expect_refused(&b, "misshaped", P3D_ERR_MODEL,
                       "pretrained.layer3.2.conv2.weight: got [256,256,9,1], expected [256,256,3,3]");
        le_put(b.buf + dims + 16, 8, 3);
        le_put(b.buf + dims + 24, 8, 3);
        le_put(b.buf + features, 8, 128);
        expect_refused(&b, "features", P3D_ERR_MODEL,
                       "scratch.layer1_rn.weight: got [256,256,3,3], expected [128,256,3,3]");
        le_put(b.buf + features, 8, 256);
        b.buf[bn + 4] = 'F'; /* a string value: u32 length, then the bytes */
        expect_refused(&b, "bn", P3D_ERR_MODEL,
                       "batch_norm = 'Folded into conv', this network needs 'folded into conv'");
    }
    free(b.buf);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    g_cpu = cpu_ctx();
    g_gpu = cuda_ctx_or_why(g_why, sizeof g_why);
    RUN(test_forward);
    RUN(test_photo);
    RUN(test_cuda);
    RUN(test_sizes_and_macs);
    RUN(test_refused_blobs);
    free(g_cpu_net);
    free(g_cpu_photo);
    p3d_ctx_free(g_gpu);
    p3d_ctx_free(g_cpu);
    return p3d_test_finish();
}
