/* test_tiefenrausch.c - the QNNPACK-exact integer math, the Tiefenrausch engine on the CPU, and the
 * CUDA twin against it.
 *
 * 1. host/depth/qnn_math.h against hand-computed cases: the Q31 multiplier and shift of a float scale,
 *    rounding of ties (half up in the Q31 product, half away from zero in the final shift), negative
 *    accumulators, saturation, fused ReLU, add multipliers for ratios below and above 1, Int8Quantize's
 *    round-half-even, and numpy's float32 exp bit patterns (which differ from a correctly rounded exp).
 * 2. With ../shared/models/tiefenrausch: the blob is converted into the test's temporary folder with
 *    tools/convert_tiefenrausch.py (P3D_PYTHON, default /usr/bin/python3), loaded and run on
 *    ../shared/fixtures/columns/columns.jpg decoded by the program's own decoder (io/image_io.h:
 *    libjpeg-turbo as cv2.imread sets it up); every pixel of the disparity must equal the released
 *    ../shared/fixtures/columns/columns.npy bit for bit (the statistics are printed too). The CPU
 *    forward is timed (median of 3). The operators one by one, and the other fixtures, are compared
 *    with the numpy oracle by tests/test_tiefenrausch_oracle.py.
 * 3. With a CUDA device: the same input on cuda:0 must give the CPU's quantized output byte for byte.
 * Everything needing ../shared, Python or a GPU is a SKIP with its reason when absent. */
#include <stdint.h>

#include "core/backend.h"
#include "io/image_io.h"
#include "io/npy.h"
#include "p3d_test.h"
#include "depth/qnn_math.h"
#include "io/resize_area.h"
#include "depth/tiefenrausch.h"
#include "nn/weights.h"
#ifdef P3D_HAVE_CUDA
#include "p3d_cuda.h"
#endif

/* ---- 1. requantization math ---------------------------------------------------------------------- */
static p3d_qnn_conv_rq rq_of(float scale, int32_t zp, int32_t lo, int32_t hi) {
    p3d_qnn_conv_rq rq;
    memset(&rq, 0, sizeof rq);
    CHECK(p3d_qnn_conv_rq_init(&rq, scale, zp, lo, hi));
    return rq;
}

static void test_conv_multiplier(void) {
    p3d_qnn_conv_rq rq = rq_of(0.5f, 0, 0, 255);
    CHECK(rq.multiplier == 0x40000000 && rq.shift == 0);
    rq = rq_of(0.75f, 0, 0, 255);
    CHECK(rq.multiplier == 0x60000000 && rq.shift == 0);
    rq = rq_of(1.25f / 1024.0f, 0, 0, 255); /* 1.25 * 2^-10: shift 9 */
    CHECK(rq.multiplier == 0x50000000 && rq.shift == 9);
    rq = rq_of(0.0065436f, 0, 0, 255);
    CHECK(rq.multiplier >= 0x40000000 && rq.shift == 7); /* 0.0065 = 1.675 * 2^-8 */
    p3d_qnn_conv_rq bad;
    CHECK(!p3d_qnn_conv_rq_init(&bad, 1.0f, 0, 0, 255)); /* QNNPACK refuses scale >= 1 */
    CHECK(!p3d_qnn_conv_rq_init(&bad, 3.0f, 0, 0, 255));
    CHECK(!p3d_qnn_conv_rq_init(&bad, 0x1p-33f, 0, 0, 255)); /* shift would exceed 31 */
    CHECK(!p3d_qnn_conv_rq_init(&bad, 0.0f, 0, 0, 255));
}

static void test_conv_rounding(void) {
    /* scale 0.5, shift 0: only the Q31 product rounds, half UP (toward +inf) */
    p3d_qnn_conv_rq rq = rq_of(0.5f, 128, 0, 255);
    CHECK(p3d_qnn_requantize(3, &rq) == 128 + 2);  /* 1.5 -> 2 */
    CHECK(p3d_qnn_requantize(-3, &rq) == 128 - 1); /* -1.5 -> -1 */
    CHECK(p3d_qnn_requantize(5, &rq) == 128 + 3);  /* 2.5 -> 3 */
    CHECK(p3d_qnn_requantize(-5, &rq) == 128 - 2); /* -2.5 -> -2 */
    /* scale 0.25, shift 1: ties of the final shift round half AWAY from zero */
    rq = rq_of(0.25f, 128, 0, 255);
    CHECK(p3d_qnn_requantize(6, &rq) == 128 + 2);  /* 1.5 -> 2 */
    CHECK(p3d_qnn_requantize(-6, &rq) == 128 - 2); /* -1.5 -> -2 */
    CHECK(p3d_qnn_requantize(2, &rq) == 128 + 1);  /* 0.5 -> 1 */
    CHECK(p3d_qnn_requantize(-2, &rq) == 128 - 1); /* -0.5 -> -1 */
    CHECK(p3d_qnn_requantize(-5, &rq) == 128 - 1); /* -1.25 -> -1 */
    CHECK(p3d_qnn_requantize(-7, &rq) == 128 - 2); /* -1.75 -> -2 */
    /* 1.25 * 2^-10 */
    rq = rq_of(1.25f / 1024.0f, 0, 0, 255);
    CHECK(p3d_qnn_requantize(1024, &rq) == 1); /* 1.25 */
    CHECK(p3d_qnn_requantize(2048, &rq) == 3); /* 2.5 -> 3 */
    rq = rq_of(1.25f / 1024.0f, 100, 0, 255);
    CHECK(p3d_qnn_requantize(-2048, &rq) == 100 - 3); /* -2.5 -> -3 */
    CHECK(p3d_qnn_requantize(-1843, &rq) == 100 - 2); /* -2.2498 -> -2 */
    /* non-power-of-two multiplier: 0.75 */
    rq = rq_of(0.75f, 0, 0, 255);
    CHECK(p3d_qnn_requantize(3, &rq) == 2);  /* 2.25 */
    CHECK(p3d_qnn_requantize(7, &rq) == 5);  /* 5.25 */
    CHECK(p3d_qnn_requantize(10, &rq) == 8); /* 7.5: the Q31 product rounds 7.5 up */
}

static void test_conv_saturation(void) {
    p3d_qnn_conv_rq rq = rq_of(0.5f, 128, 0, 255);
    CHECK(p3d_qnn_requantize(1000, &rq) == 255);
    CHECK(p3d_qnn_requantize(-1000, &rq) == 0);
    CHECK(p3d_qnn_requantize(INT32_MAX, &rq) == 255);
    CHECK(p3d_qnn_requantize(INT32_MIN, &rq) == 0);
    rq = rq_of(0.999f, 0, 0, 255);
    CHECK(p3d_qnn_requantize(INT32_MIN + 1, &rq) == 0);
    /* fused ReLU: the lower limit is the output zero point */
    rq = rq_of(0.5f, 30, 30, 255);
    CHECK(p3d_qnn_requantize(-10, &rq) == 30);
    CHECK(p3d_qnn_requantize(10, &rq) == 35);
}

static void test_add(void) {
    p3d_qnn_add_rq rq;
    CHECK(p3d_qnn_add_rq_init(&rq, 1.0f, 128, 1.0f, 128, 1.0f, 128, 0, 255));
    CHECK(rq.shift == 21 && rq.a_multiplier == 1 << 21 && rq.b_multiplier == 1 << 21);
    CHECK(p3d_qnn_add(130, 125, &rq) == 127); /* 2 + -3 */
    CHECK(p3d_qnn_add(255, 255, &rq) == 255); /* saturates */
    CHECK(p3d_qnn_add(0, 0, &rq) == 0);
    /* ratio 1.25 (>= 1) and 0.5 */
    CHECK(p3d_qnn_add_rq_init(&rq, 0.625f, 128, 0.25f, 128, 0.5f, 100, 0, 255));
    CHECK(rq.shift == 21 && rq.a_multiplier == 2621440 && rq.b_multiplier == 1048576);
    CHECK(p3d_qnn_add(129, 131, &rq) == 100 + 3); /* 1.25 + 1.5 = 2.75 -> 3 */
    CHECK(p3d_qnn_add(130, 128, &rq) == 100 + 3); /* 2.5 -> 3 (half away from zero) */
    CHECK(p3d_qnn_add(126, 128, &rq) == 100 - 3); /* -2.5 -> -3 */
    CHECK(p3d_qnn_add(127, 127, &rq) == 100 - 2); /* -1.75 -> -2 */
    /* ratio 1/3: multiplier lrintf(0.33333334f * 2^23) */
    CHECK(p3d_qnn_add_rq_init(&rq, 1.0f, 0, 1.0f, 0, 3.0f, 0, 0, 255));
    CHECK(rq.shift == 23 && rq.a_multiplier == 2796203);
    CHECK(p3d_qnn_add(3, 3, &rq) == 2);
    /* fused ReLU */
    CHECK(p3d_qnn_add_rq_init(&rq, 1.0f, 128, 1.0f, 128, 1.0f, 128, 128, 255));
    CHECK(p3d_qnn_add(120, 120, &rq) == 128);
    /* QNNPACK refuses ratios outside [2^-14, 2^8) */
    CHECK(!p3d_qnn_add_rq_init(&rq, 300.0f, 0, 1.0f, 0, 1.0f, 0, 0, 255));
    CHECK(!p3d_qnn_add_rq_init(&rq, 1e-6f, 0, 1.0f, 0, 1.0f, 0, 0, 255));
}

static uint32_t bits(float f) { return p3d_qnn_f32_bits(f); }

static void test_quantize_exp(void) {
    CHECK(p3d_qnn_quantize(0.25f, 0.5f, 128) == 128); /* 0.5 -> 0 (half to even) */
    CHECK(p3d_qnn_quantize(0.75f, 0.5f, 128) == 130); /* 1.5 -> 2 */
    CHECK(p3d_qnn_quantize(1.25f, 0.5f, 128) == 130); /* 2.5 -> 2 */
    CHECK(p3d_qnn_quantize(-0.75f, 0.5f, 128) == 126);
    CHECK(p3d_qnn_quantize(-100.0f, 0.5f, 128) == 0);
    CHECK(p3d_qnn_quantize(1e30f, 0.5f, 128) == 255);
    CHECK(p3d_qnn_quantize(NAN, 0.5f, 128) == 0);
    CHECK(p3d_qnn_dequantize(130, 0.5f, 128) == 1.0f);
    /* numpy's float32 exp on the network's output levels (scale 0.018744078, zero point 128):
     * levels 2 and 3 are where it is one ulp below the correctly rounded value */
    const float s = p3d_qnn_f32_from_bits(0x3c998d2eu);
    const struct { int q; uint32_t x, e; } cases[] = {
        {0, 0xc0198d2eu, 0x3db9ee67u}, {2, 0xc01726f9u, 0x3dc108a8u}, {3, 0xc015f3dfu, 0x3dc4afa8u},
        {76, 0xbf79856bu, 0x3ec12e95u}, {100, 0xbf065b88u, 0x3f17769au}, {200, 0x3facbed4u, 0x4076c51eu},
        {255, 0x40185a14u, 0x412cf6edu},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const float x = p3d_qnn_dequantize((uint8_t)cases[i].q, s, 128);
        CHECK_MSG(bits(x) == cases[i].x, "level %d dequantizes to %08x", cases[i].q, (unsigned)bits(x));
        CHECK_MSG(bits(p3d_qnn_exp_np(x)) == cases[i].e, "exp(level %d) = %08x, numpy %08x", cases[i].q,
                  (unsigned)bits(p3d_qnn_exp_np(x)), (unsigned)cases[i].e);
    }
    for (float x = -10.0f; x <= 10.0f; x += 0.01f) {
        const double e = exp((double)x), got = p3d_qnn_exp_np(x);
        CHECK_MSG(fabs(got - e) <= 3e-7 * e, "exp_np(%g) = %.9g, exp = %.9g", (double)x, got, e);
    }
}

static void test_input_size(void) {
    int32_t w = 0, h = 0;
    CHECK_OK(p3d_tief_input_size(768, 1024, &w, &h));
    CHECK(w == 288 && h == 384);
    CHECK_OK(p3d_tief_input_size(1024, 768, &w, &h));
    CHECK(w == 384 && h == 288);
    CHECK_OK(p3d_tief_input_size(4032, 3024, &w, &h)); /* 288 */
    CHECK(w == 384 && h == 288);
    CHECK_OK(p3d_tief_input_size(1000, 333, &w, &h)); /* int(333 * 384 / 1000) = 127 -> 96 */
    CHECK(w == 384 && h == 96);
    CHECK_OK(p3d_tief_input_size(384, 384, &w, &h));
    CHECK(w == 384 && h == 384);
    CHECK_FAILS(p3d_tief_input_size(1000, 20, &w, &h), P3D_ERR_INVALID_ARG, "too elongated");
    CHECK_FAILS(p3d_tief_input_size(0, 20, &w, &h), P3D_ERR_INVALID_ARG, "bad image size");
}

/* ---- 2. the model --------------------------------------------------------------------------------- */
static char g_blob[1024];
static const char *g_blob_skip; /* why the model cases skip, or NULL */

static const char *model_blob(void) {
    if (g_blob[0] || g_blob_skip) return g_blob_skip ? NULL : g_blob;
    if (access("../shared/models/tiefenrausch/tiefenrausch_init.pb", R_OK) != 0) {
        g_blob_skip = "../shared/models/tiefenrausch not found (../shared is absent beside the project root)";
        return NULL;
    }
    const char *py = getenv("P3D_PYTHON");
    if (!py || !py[0]) py = "/usr/bin/python3";
    char cmd[4096], path[512];
    snprintf(cmd, sizeof cmd, "%s -c 'import numpy' 2>/dev/null", py);
    if (system(cmd) != 0) {
        g_blob_skip = "no python3 with numpy to run tools/convert_tiefenrausch.py (set P3D_PYTHON)";
        return NULL;
    }
    snprintf(path, sizeof path, "%s/tiefenrausch.p3dw", p3d_test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s tools/convert_tiefenrausch.py --from ../shared/models/tiefenrausch -o %s > %s.log 2>&1",
             py, path, path);
    if (system(cmd) != 0) {
        fprintf(stderr, "  FAIL: tools/convert_tiefenrausch.py failed, see %s.log\n", path);
        g_blob_skip = "conversion failed";
        p3d_t_failed++;
        return NULL;
    }
    snprintf(g_blob, sizeof g_blob, "%s", path);
    return g_blob;
}

static p3d_ctx *cpu_ctx(void) {
    p3d_device dev = {P3D_DEVICE_CPU, 0};
    p3d_ctx *ctx = NULL;
    if (p3d_ctx_init(&ctx, dev) != P3D_OK) {
        fprintf(stderr, "cpu context: %s\n", p3d_last_error());
        exit(2);
    }
    return ctx;
}

/* A deterministic textured RGB image. */
static void synth_rgb(uint8_t *rgb, int32_t h, int32_t w) {
    uint32_t s = 12345u;
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++)
            for (int32_t c = 0; c < 3; c++) {
                s = s * 1664525u + 1013904223u;
                const int32_t v = (x * 3 + y * 2 + c * 40) % 256 + (int32_t)(s >> 28) - 8;
                rgb[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
}

static void test_load(void) {
    const char *blob = model_blob();
    if (!blob) {
        SKIP("%s", g_blob_skip);
        return;
    }
    p3d_ctx *ctx = cpu_ctx();
    p3d_tief *net = NULL;
    CHECK_OK(p3d_tief_load(ctx, blob, &net));
    if (net) {
        /* 6.83 GMAC at 384 x 288 */
        const int64_t macs = p3d_tief_macs(net, 384, 288);
        CHECK_MSG(macs > 6800000000LL && macs < 6900000000LL, "%lld MACs", (long long)macs);
        CHECK_FAILS(p3d_tief_plan(net, 100, 64), P3D_ERR_INVALID_ARG, "multiples of 32");
        uint8_t q[4];
        CHECK_FAILS(p3d_tief_output_q(net, q, NULL, NULL), P3D_ERR_INVALID_ARG, "no forward");
    }
    p3d_tief_free(net);
    /* another model kind is refused by name */
    char other[1024];
    const char *root = getenv("P3D_SOURCE_DIR");
    snprintf(other, sizeof other, "%s/tests/data/example.p3dw", root && root[0] ? root : ".");
    net = NULL;
    CHECK_FAILS(p3d_tief_load(ctx, other, &net), P3D_ERR_MODEL, "tiefenrausch");
    CHECK(net == NULL);
    p3d_ctx_free(ctx);
}

/* forward (float NCHW) and forward_rgb8 (the table path) agree; re-running at the same size gives
 * the same bytes (no state leaks between runs); a second size re-plans. */
static void test_forward_paths(void) {
    const char *blob = model_blob();
    if (!blob) {
        SKIP("%s", g_blob_skip);
        return;
    }
    const int32_t h = 96, w = 128;
    const size_t px = (size_t)h * (size_t)w;
    p3d_ctx *ctx = cpu_ctx();
    p3d_tief *net = NULL;
    CHECK_OK(p3d_tief_load(ctx, blob, &net));
    uint8_t *rgb = malloc(px * 3), *q1 = malloc(px), *q2 = malloc(px), *q3 = malloc(px);
    float *x = malloc(px * 3 * sizeof(float)), *d1 = malloc(px * sizeof(float)), *d2 = malloc(px * sizeof(float));
    synth_rgb(rgb, h, w);
    for (size_t p = 0; p < px; p++)
        for (size_t c = 0; c < 3; c++) x[c * px + p] = (float)((double)rgb[p * 3 + c] / 255.0);
    if (net) {
        CHECK_OK(p3d_tief_forward_rgb8(net, rgb, h, w, d1));
        CHECK_OK(p3d_tief_output_q(net, q1, NULL, NULL));
        const int64_t xs[4] = {1, 3, h, w}, ds[2] = {h, w};
        p3d_tensor xt = p3d_tensor_view(x, P3D_F32, P3D_MEM_HOST, 4, xs);
        p3d_tensor dt = p3d_tensor_view(d2, P3D_F32, P3D_MEM_HOST, 2, ds);
        CHECK_OK(p3d_tief_forward(net, &xt, &dt));
        CHECK_OK(p3d_tief_output_q(net, q2, NULL, NULL));
        CHECK(memcmp(q1, q2, px) == 0);
        CHECK(memcmp(d1, d2, px * sizeof(float)) == 0);
        int32_t distinct = 0, seen[256] = {0};
        for (size_t p = 0; p < px; p++) distinct += !seen[q1[p]]++;
        CHECK_MSG(distinct > 10, "only %d output levels on a textured image", distinct);
        /* another size, then back */
        uint8_t *small = malloc(64 * 64 * 3);
        float *ds2 = malloc(64 * 64 * sizeof(float));
        synth_rgb(small, 64, 64);
        CHECK_OK(p3d_tief_forward_rgb8(net, small, 64, 64, ds2));
        CHECK_OK(p3d_tief_forward_rgb8(net, rgb, h, w, d1));
        CHECK_OK(p3d_tief_output_q(net, q3, NULL, NULL));
        CHECK(memcmp(q1, q3, px) == 0);
        free(small);
        free(ds2);
        const int64_t bad[4] = {1, 3, 100, 64};
        const int64_t bad_d[2] = {100, 64};
        p3d_tensor xb = p3d_tensor_view(x, P3D_F32, P3D_MEM_HOST, 4, bad);
        p3d_tensor db = p3d_tensor_view(d2, P3D_F32, P3D_MEM_HOST, 2, bad_d);
        CHECK_FAILS(p3d_tief_forward(net, &xb, &db), P3D_ERR_INVALID_ARG, "multiples of 32");
        CHECK_FAILS(p3d_tief_forward(net, &xt, &db), P3D_ERR_INVALID_ARG, "disparity must be");
    }
    p3d_tief_free(net);
    p3d_ctx_free(ctx);
    free(rgb), free(q1), free(q2), free(q3), free(x), free(d1), free(d2);
}

/* photo (H, W, 3) -> the reference CLI's input: INTER_AREA to the network size (uint8). */
static uint8_t *net_input(const uint8_t *photo, int32_t pw, int32_t ph, int32_t *h, int32_t *w) {
    CHECK_OK(p3d_tief_input_size(pw, ph, w, h));
    CHECK(*w == 288 && *h == 384);
    uint8_t *rgb = malloc((size_t)*h * (size_t)*w * 3);
    const int64_t ss[3] = {ph, pw, 3}, ds[3] = {*h, *w, 3};
    p3d_tensor src = p3d_tensor_view((void *)photo, P3D_U8, P3D_MEM_HOST, 3, ss);
    p3d_tensor dst = p3d_tensor_view(rgb, P3D_U8, P3D_MEM_HOST, 3, ds);
    CHECK_OK(p3d_resize_area_cpu(&src, &dst, P3D_RESIZE_HWC));
    return rgb;
}

/* columns.jpg through the program's decoder (io/image_io.h: libjpeg-turbo, OpenCV's settings). */
static uint8_t *columns_input(int32_t *h, int32_t *w) {
    char path[512];
    if (!p3d_test_fixture("columns/columns.jpg", path, sizeof path)) return NULL;
    p3d_image img;
    CHECK_OK(p3d_image_read(path, 0, &img));
    if (!img.rgb) return NULL;
    uint8_t *rgb = net_input(img.rgb, img.width, img.height, h, w);
    p3d_image_free(&img);
    return rgb;
}

static int cmp_float(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, int n) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            const double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

/* The released output of this model on columns.jpg, from rgb (the network input): every pixel must
 * be bit-identical; the error statistics are printed for the record. */
static void compare_columns(uint8_t *rgb, int32_t h, int32_t w, const char *label) {
    char ref_path[512];
    if (!p3d_test_fixture("columns/columns.npy", ref_path, sizeof ref_path)) return;
    p3d_tensor ref;
    memset(&ref, 0, sizeof ref);
    CHECK_OK(p3d_npy_read(ref_path, &ref, NULL));
    CHECK(ref.ndim == 2 && ref.shape[0] == h && ref.shape[1] == w);
    p3d_ctx *ctx = cpu_ctx();
    p3d_tief *net = NULL;
    CHECK_OK(p3d_tief_load(ctx, g_blob, &net));
    const size_t px = (size_t)h * (size_t)w;
    float *disp = malloc(px * sizeof(float)), *rel = malloc(px * sizeof(float));
    uint8_t *q = malloc(px);
    if (net && ref.data && ref.ndim == 2 && ref.shape[0] == h && ref.shape[1] == w) {
        CHECK_OK(p3d_tief_plan(net, h, w));
        double ms[3];
        for (int r = 0; r < 3; r++) {
            const double t0 = p3d_time_now();
            CHECK_OK(p3d_tief_forward_rgb8(net, rgb, h, w, disp));
            ms[r] = (p3d_time_now() - t0) * 1e3;
        }
        float scale = 0;
        int32_t zp = 0;
        CHECK_OK(p3d_tief_output_q(net, q, &scale, &zp));
        const float *r = (const float *)ref.data;
        size_t exact = 0, in1 = 0, in2 = 0, level_off[4] = {0};
        double max_rel = 0;
        for (size_t p = 0; p < px; p++) {
            const double e = fabs((double)disp[p] - r[p]) / fabs((double)r[p]);
            rel[p] = (float)e;
            if (e > max_rel) max_rel = e;
            exact += disp[p] == r[p];
            in1 += e <= 0.01;
            in2 += e <= 0.02;
            /* the reference's quantized level: log(disparity) / scale + zero point */
            const long d = labs(lround(log((double)r[p]) / scale + zp) - (long)q[p]);
            level_off[d < 3 ? d : 3]++;
        }
        qsort(rel, px, sizeof *rel, cmp_float);
        const double med = rel[px / 2];
        printf("%s: vs columns.npy: max rel err %.4g, median rel err %.4g, within 1%% %.2f%%, within 2%% %.2f%%, "
               "bit-identical %.2f%% (output levels: %zu equal, %zu off by 1, %zu by 2, %zu by more)\n",
               label, max_rel, med, 100.0 * (double)in1 / (double)px, 100.0 * (double)in2 / (double)px,
               100.0 * (double)exact / (double)px, level_off[0], level_off[1], level_off[2], level_off[3]);
        printf("%s: CPU forward 288x384: %.1f ms (median of 3, %d threads), %.2f GMAC\n", label, median_of(ms, 3),
               (int)p3d_ctx_threads(ctx), (double)p3d_tief_macs(net, h, w) * 1e-9);
        CHECK_MSG(exact == px, "%zu of %zu pixels differ from the released output", px - exact, px);
    }
    p3d_tief_free(net);
    p3d_ctx_free(ctx);
    p3d_npy_free(&ref);
    free(disp), free(rel), free(q);
}

/* The whole path of the program: image_io decode, p3d_tief_estimate (INTER_AREA + engine); the
 * decoder is the reference's (libjpeg with cv2.imread's settings; columns.jpg is 4:4:4, EXIF
 * orientation 1), so every output pixel must equal the released one. */
static void test_columns_reference(void) {
    if (!model_blob()) {
        SKIP("%s", g_blob_skip);
        return;
    }
    int32_t h = 0, w = 0;
    uint8_t *rgb = columns_input(&h, &w);
    if (!rgb) return;
    /* p3d_tief_estimate on the full photo gives the same as net_input + forward_rgb8 */
    char path[512];
    p3d_image img;
    memset(&img, 0, sizeof img);
    if (p3d_test_fixture("columns/columns.jpg", path, sizeof path)) CHECK_OK(p3d_image_read(path, 0, &img));
    p3d_ctx *ctx = cpu_ctx();
    p3d_tief *net = NULL;
    CHECK_OK(p3d_tief_load(ctx, g_blob, &net));
    const size_t px = (size_t)h * (size_t)w;
    float *a = malloc(px * sizeof(float)), *b = malloc(px * sizeof(float));
    if (net && img.rgb) {
        int32_t nw = 0, nh = 0;
        CHECK_FAILS(p3d_tief_estimate(net, img.rgb, img.width, img.height, a, px - 1, &nw, &nh),
                    P3D_ERR_INVALID_ARG, "needs");
        CHECK_OK(p3d_tief_estimate(net, img.rgb, img.width, img.height, a, px, &nw, &nh));
        CHECK(nw == w && nh == h);
        CHECK_OK(p3d_tief_forward_rgb8(net, rgb, h, w, b));
        CHECK(memcmp(a, b, px * sizeof(float)) == 0);
    }
    p3d_tief_free(net);
    p3d_ctx_free(ctx);
    p3d_image_free(&img);
    free(a), free(b);
    compare_columns(rgb, h, w, "columns (image_io)");
    free(rgb);
}

#ifdef P3D_HAVE_CUDA
/* Every INT8 launcher of cuda/tiefenrausch.cu on synthetic data (no model or ../shared needed),
 * byte for byte against direct loops over the shared qnn_math.h arithmetic: the float input path
 * (Int8Quantize, NaN / huge / rounding-tie inputs), the rgb8 table, the dp4a pointwise GEMM (pixels and
 * M not multiples of the 64-wide tile, M with and without the 4-byte store path, C not a multiple of
 * 32), the general convolution (dense 3x3 stride 2, depthwise, grouped 5x5), add, nearest x2 and the
 * output table. */
static uint32_t g_lcg = 12345u;
static uint8_t rnd8(void) {
    g_lcg = g_lcg * 1664525u + 1013904223u;
    return (uint8_t)(g_lcg >> 24);
}

static void *to_dev_bytes(p3d_cuda_ctx *cu, const void *host, size_t n) {
    void *d = NULL;
    CHECK_OK(p3d_cuda_malloc(cu, n, &d));
    if (d && host) CHECK_OK(p3d_cuda_memcpy_h2d(cu, d, host, n));
    return d;
}

/* Downloads n bytes of d, compares them with ref and frees d. */
static void check_dev_bytes(p3d_cuda_ctx *cu, void *d, const void *ref, size_t n, const char *what) {
    uint8_t *got = malloc(n);
    CHECK_OK(p3d_cuda_memcpy_d2h(cu, got, d, n));
    size_t diff = 0;
    for (size_t i = 0; i < n; i++) diff += got[i] != ((const uint8_t *)ref)[i];
    CHECK_MSG(diff == 0, "%s: %zu of %zu bytes differ between CPU and CUDA", what, diff, n);
    free(got);
    p3d_cuda_free(cu, d);
}

/* x (h, w, c), w (m, kh, kw, c / groups): the reference of p3d_tief_conv_cuda. */
static void tief_conv_ref(const uint8_t *x, const uint8_t *w, const int32_t *bias, uint8_t *y, int32_t h,
                          int32_t wd, int32_t c, int32_t oh, int32_t ow, int32_t m, int32_t kh, int32_t kw,
                          int32_t s, int32_t pad, int32_t groups, int32_t x_zp, int32_t w_zp,
                          const p3d_qnn_conv_rq *rq) {
    const int32_t cg = c / groups, mg = m / groups;
    for (int32_t oy = 0; oy < oh; oy++)
        for (int32_t ox = 0; ox < ow; ox++)
            for (int32_t mm = 0; mm < m; mm++) {
                int32_t acc = bias[mm];
                for (int32_t ky = 0; ky < kh; ky++)
                    for (int32_t kx = 0; kx < kw; kx++) {
                        const int32_t iy = oy * s - pad + ky, ix = ox * s - pad + kx;
                        if (iy < 0 || ix < 0 || iy >= h || ix >= wd) continue;
                        for (int32_t k = 0; k < cg; k++)
                            acc += ((int32_t)x[((int64_t)iy * wd + ix) * c + mm / mg * cg + k] - x_zp) *
                                   ((int32_t)w[(((int64_t)mm * kh + ky) * kw + kx) * cg + k] - w_zp);
                    }
                y[((int64_t)oy * ow + ox) * m + mm] = p3d_qnn_requantize(acc, rq);
            }
}

static void test_cuda_kernels_synthetic(void) {
    p3d_device dev = {P3D_DEVICE_CUDA, 0};
    p3d_ctx *gpu = NULL;
    if (p3d_device_resolve(&dev) != P3D_OK) {
        SKIP_GPU("no CUDA device: %s", p3d_last_error());
        return;
    }
    p3d_t_gpu_present = 1;
    CHECK_OK(p3d_ctx_init(&gpu, dev));
    if (!gpu) return;
    p3d_cuda_ctx *cu = p3d_ctx_cuda(gpu);
    /* quantize: x (1, 3, 5, 7) f32 -> (5, 7, 3) u8 */
    {
        const int32_t c = 3, h = 5, w = 7, px = h * w, zp = 110;
        const float scale = 0.0625f;
        float x[3 * 35];
        for (int32_t i = 0; i < c * px; i++) x[i] = ((float)rnd8() - 128.0f) * scale * 0.75f;
        x[0] = NAN, x[1] = 1e30f, x[2] = -1e30f, x[3] = 2.5f * scale, x[4] = 3.5f * scale, x[5] = -0.5f * scale;
        uint8_t ref[3 * 35];
        for (int32_t p = 0; p < px; p++)
            for (int32_t k = 0; k < c; k++) ref[p * c + k] = p3d_qnn_quantize(x[k * px + p], scale, zp);
        float *dx = to_dev_bytes(cu, x, sizeof x);
        uint8_t *dy = to_dev_bytes(cu, NULL, sizeof ref);
        CHECK_OK(p3d_tief_quantize_cuda(cu, dx, dy, c, h, w, scale, zp));
        check_dev_bytes(cu, dy, ref, sizeof ref, "quantize");
        p3d_cuda_free(cu, dx);
    }
    /* rgb8 table and output table */
    {
        enum { N = 1000 };
        uint8_t x[N], lut[256], ref[N];
        float flut[256], fref[N];
        for (int i = 0; i < 256; i++) lut[i] = rnd8(), flut[i] = expf((float)(i - 128) / 50.0f);
        for (int i = 0; i < N; i++) x[i] = rnd8(), ref[i] = lut[x[i]], fref[i] = flut[x[i]];
        uint8_t *dx = to_dev_bytes(cu, x, N), *dl = to_dev_bytes(cu, lut, 256), *dy = to_dev_bytes(cu, NULL, N);
        float *dfl = to_dev_bytes(cu, flut, sizeof flut), *dfy = to_dev_bytes(cu, NULL, sizeof fref);
        CHECK_OK(p3d_tief_lut_u8_cuda(cu, dx, dy, N, dl));
        check_dev_bytes(cu, dy, ref, N, "input table");
        CHECK_OK(p3d_tief_output_cuda(cu, dx, dfy, N, dfl));
        check_dev_bytes(cu, dfy, fref, sizeof fref, "output table");
        p3d_cuda_free(cu, dx), p3d_cuda_free(cu, dl), p3d_cuda_free(cu, dfl);
    }
    /* pointwise: x (P, C), w (M, C), cst from the bias and zero points */
    const int32_t pw_cases[][3] = {{150, 36, 70}, {130, 64, 68}, {64, 4, 3}};
    for (int t = 0; t < 3; t++) {
        const int32_t P = pw_cases[t][0], C = pw_cases[t][1], M = pw_cases[t][2], x_zp = 121, w_zp = 131;
        uint8_t *x = malloc((size_t)P * C), *w = malloc((size_t)M * C), *ref = malloc((size_t)P * M);
        int32_t *bias = malloc(M * sizeof(int32_t)), *cst = malloc(M * sizeof(int32_t));
        for (int32_t i = 0; i < P * C; i++) x[i] = rnd8();
        for (int32_t i = 0; i < M * C; i++) w[i] = rnd8();
        p3d_qnn_conv_rq rq;
        CHECK(p3d_qnn_conv_rq_init(&rq, 1.0f / (float)(40 * C), 128, 0, 255));
        for (int32_t mm = 0; mm < M; mm++) {
            bias[mm] = (int32_t)rnd8() * 37 - 4000;
            int32_t wsum = 0;
            for (int32_t k = 0; k < C; k++) wsum += w[mm * C + k];
            cst[mm] = bias[mm] - x_zp * wsum + C * x_zp * w_zp;
            for (int32_t p = 0; p < P; p++) {
                int32_t acc = bias[mm];
                for (int32_t k = 0; k < C; k++) acc += ((int32_t)x[p * C + k] - x_zp) * ((int32_t)w[mm * C + k] - w_zp);
                ref[(size_t)p * M + mm] = p3d_qnn_requantize(acc, &rq);
            }
        }
        uint8_t *dx = to_dev_bytes(cu, x, (size_t)P * C), *dw = to_dev_bytes(cu, w, (size_t)M * C);
        int32_t *dc = to_dev_bytes(cu, cst, M * sizeof(int32_t));
        uint8_t *dy = to_dev_bytes(cu, NULL, (size_t)P * M);
        CHECK_OK(p3d_tief_conv_pw_cuda(cu, dx, dw, dc, dy, P, C, M, w_zp, rq));
        check_dev_bytes(cu, dy, ref, (size_t)P * M, "pointwise conv");
        p3d_cuda_free(cu, dx), p3d_cuda_free(cu, dw), p3d_cuda_free(cu, dc);
        free(x), free(w), free(ref), free(bias), free(cst);
    }
    /* general convolution: {h, w, c, m, k, stride, pad, groups} */
    const int32_t cv_cases[][8] = {{9, 11, 8, 12, 3, 2, 1, 1}, {8, 7, 16, 16, 3, 1, 1, 16}, {7, 9, 8, 8, 5, 1, 2, 2}};
    for (int t = 0; t < 3; t++) {
        const int32_t *k = cv_cases[t];
        const int32_t h = k[0], wd = k[1], c = k[2], m = k[3], ks = k[4], s = k[5], pad = k[6], g = k[7];
        const int32_t oh = (h + 2 * pad - ks) / s + 1, ow = (wd + 2 * pad - ks) / s + 1, x_zp = 119, w_zp = 127;
        const size_t nx = (size_t)h * wd * c, nw = (size_t)m * ks * ks * (c / g), ny = (size_t)oh * ow * m;
        uint8_t *x = malloc(nx), *w = malloc(nw), *ref = malloc(ny);
        int32_t *bias = malloc(m * sizeof(int32_t));
        for (size_t i = 0; i < nx; i++) x[i] = rnd8();
        for (size_t i = 0; i < nw; i++) w[i] = rnd8();
        for (int32_t i = 0; i < m; i++) bias[i] = (int32_t)rnd8() * 29 - 3000;
        p3d_qnn_conv_rq rq;
        CHECK(p3d_qnn_conv_rq_init(&rq, 1.0f / (float)(30 * ks * ks * (c / g)), 100, 0, 255));
        tief_conv_ref(x, w, bias, ref, h, wd, c, oh, ow, m, ks, ks, s, pad, g, x_zp, w_zp, &rq);
        uint8_t *dx = to_dev_bytes(cu, x, nx), *dw = to_dev_bytes(cu, w, nw), *dy = to_dev_bytes(cu, NULL, ny);
        int32_t *db = to_dev_bytes(cu, bias, m * sizeof(int32_t));
        CHECK_OK(p3d_tief_conv_cuda(cu, dx, dw, db, dy, h, wd, c, oh, ow, m, ks, ks, s, s, pad, pad, g, x_zp, w_zp, rq));
        check_dev_bytes(cu, dy, ref, ny, "conv");
        p3d_cuda_free(cu, dx), p3d_cuda_free(cu, dw), p3d_cuda_free(cu, db);
        free(x), free(w), free(ref), free(bias);
    }
    /* add and nearest x2: x (5, 6, 7) */
    {
        const int32_t h = 5, w = 6, c = 7, n = h * w * c;
        uint8_t a[210], b[210], sum[210], up[4 * 210];
        for (int32_t i = 0; i < n; i++) a[i] = rnd8(), b[i] = rnd8();
        p3d_qnn_add_rq rq;
        CHECK(p3d_qnn_add_rq_init(&rq, 0.02f, 120, 0.035f, 131, 0.04f, 125, 0, 255));
        for (int32_t i = 0; i < n; i++) sum[i] = p3d_qnn_add(a[i], b[i], &rq);
        for (int32_t oy = 0; oy < 2 * h; oy++)
            for (int32_t ox = 0; ox < 2 * w; ox++)
                for (int32_t k = 0; k < c; k++) up[(oy * 2 * w + ox) * c + k] = a[((oy / 2) * w + ox / 2) * c + k];
        uint8_t *da = to_dev_bytes(cu, a, n), *dbb = to_dev_bytes(cu, b, n), *dy = to_dev_bytes(cu, NULL, n);
        uint8_t *du = to_dev_bytes(cu, NULL, 4 * (size_t)n);
        CHECK_OK(p3d_tief_add_cuda(cu, da, dbb, dy, n, rq));
        check_dev_bytes(cu, dy, sum, n, "add");
        CHECK_OK(p3d_tief_resize2x_cuda(cu, da, du, h, w, c));
        check_dev_bytes(cu, du, up, 4 * (size_t)n, "resize x2");
        p3d_cuda_free(cu, da), p3d_cuda_free(cu, dbb);
    }
    p3d_ctx_free(gpu);
}

/* cuda:0 against the CPU, byte for byte, on the synthetic image at two sizes. */
static void test_cuda_matches_cpu(void) {
    const char *blob = model_blob();
    if (!blob) {
        SKIP("%s", g_blob_skip);
        return;
    }
    int32_t n = 0;
    const char *why = NULL;
    p3d_cuda_device_count(&n, &why);
    if (n < 1) {
        SKIP_GPU("no CUDA device: %s", why ? why : "none found");
        return;
    }
    p3d_t_gpu_present = 1;
    p3d_ctx *cpu = cpu_ctx(), *gpu = NULL;
    p3d_device dev = {P3D_DEVICE_CUDA, 0};
    CHECK_OK(p3d_ctx_init(&gpu, dev));
    p3d_tief *nc = NULL, *ng = NULL;
    CHECK_OK(p3d_tief_load(cpu, blob, &nc));
    if (gpu) CHECK_OK(p3d_tief_load(gpu, blob, &ng));
    const int32_t sizes[2][2] = {{384, 288}, {96, 160}};
    for (int k = 0; k < 2 && nc && ng; k++) {
        const int32_t h = sizes[k][0], w = sizes[k][1];
        const size_t px = (size_t)h * (size_t)w;
        uint8_t *rgb = malloc(px * 3), *qc = malloc(px), *qg = malloc(px);
        float *dc = malloc(px * sizeof(float)), *dg = malloc(px * sizeof(float));
        synth_rgb(rgb, h, w);
        CHECK_OK(p3d_tief_forward_rgb8(nc, rgb, h, w, dc));
        CHECK_OK(p3d_tief_forward_rgb8(ng, rgb, h, w, dg));
        CHECK_OK(p3d_tief_output_q(nc, qc, NULL, NULL));
        CHECK_OK(p3d_tief_output_q(ng, qg, NULL, NULL));
        size_t diff = 0;
        for (size_t p = 0; p < px; p++) diff += qc[p] != qg[p];
        CHECK_MSG(diff == 0, "%dx%d: %zu of %zu output bytes differ between CPU and CUDA", w, h, diff, px);
        CHECK(memcmp(dc, dg, px * sizeof(float)) == 0);
        free(rgb), free(qc), free(qg), free(dc), free(dg);
    }
    p3d_tief_free(nc);
    p3d_tief_free(ng);
    p3d_ctx_free(gpu);
    p3d_ctx_free(cpu);
}
#endif

int main(void) {
    RUN(test_conv_multiplier);
    RUN(test_conv_rounding);
    RUN(test_conv_saturation);
    RUN(test_add);
    RUN(test_quantize_exp);
    RUN(test_input_size);
    RUN(test_load);
    RUN(test_forward_paths);
    RUN(test_columns_reference);
#ifdef P3D_HAVE_CUDA
    RUN(test_cuda_kernels_synthetic);
    RUN(test_cuda_matches_cpu);
#else
    RUN(p3d_test_no_cuda);
#endif
    return p3d_test_finish();
}
