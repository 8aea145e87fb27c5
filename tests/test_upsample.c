/* test_upsample.c - nearest and bilinear upsampling (CPU) against PyTorch's F.interpolate values and a
 * double-precision oracle of its formulas; integer factors 1..3, N = 2, errors. The CPU-vs-CUDA
 * comparison is in test_nn_cuda.c. */
#include "p3d_test.h"

#include "nn_oracle.h"
#include "layers/upsample.h"

static p3d_ctx *g_ctx;

/* F.interpolate(scale_factor=(fh, fw), mode=..., align_corners=...) written from its definition. */
static double oracle_src(int aligned, int64_t o, int64_t in, int64_t out, int64_t f) {
    if (aligned) return out > 1 ? (double)o * (double)(in - 1) / (double)(out - 1) : 0.0;
    const double s = ((double)o + 0.5) / (double)f - 0.5;
    return s < 0 ? 0 : s;
}

static void oracle_upsample(const float *x, int64_t planes, int64_t h, int64_t w, int64_t fh, int64_t fw,
                            p3d_upsample_mode mode, double *y) {
    const int64_t ho = h * fh, wo = w * fw;
    for (int64_t p = 0; p < planes; p++)
        for (int64_t oy = 0; oy < ho; oy++)
            for (int64_t ox = 0; ox < wo; ox++) {
                const float *xp = x + p * h * w;
                double v;
                if (mode == P3D_UPSAMPLE_NEAREST) {
                    v = xp[(oy / fh) * w + ox / fw];
                } else {
                    const int al = mode == P3D_UPSAMPLE_BILINEAR_ALIGNED;
                    const double sy = oracle_src(al, oy, h, ho, fh), sx = oracle_src(al, ox, w, wo, fw);
                    const int64_t y0 = (int64_t)sy, x0 = (int64_t)sx;
                    const int64_t y1 = y0 + 1 < h ? y0 + 1 : y0, x1 = x0 + 1 < w ? x0 + 1 : x0;
                    const double ly = sy - y0, lx = sx - x0;
                    v = (1 - ly) * ((1 - lx) * xp[y0 * w + x0] + lx * xp[y0 * w + x1]) +
                        ly * ((1 - lx) * xp[y1 * w + x0] + lx * xp[y1 * w + x1]);
                }
                y[(p * ho + oy) * wo + ox] = v;
            }
}

/* Values printed by PyTorch for [[1, 2], [3, 4]] upsampled x2. */
static void test_pytorch_values(void) {
    float x[4] = {1, 2, 3, 4}, y[16];
    static const float bilinear[16] = {1.0f, 1.25f, 1.75f, 2.0f, 1.5f, 1.75f, 2.25f, 2.5f,
                                       2.5f, 2.75f, 3.25f, 3.5f, 3.0f, 3.25f, 3.75f, 4.0f};
    static const float aligned[16] = {1.0f,    1.33333f, 1.66667f, 2.0f,    1.66667f, 2.0f,    2.33333f, 2.66667f,
                                      2.33333f, 2.66667f, 3.0f,    3.33333f, 3.0f,    3.33333f, 3.66667f, 4.0f};
    static const float nearest[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    p3d_tensor tx = host4(x, 1, 1, 2, 2), ty = host4(y, 1, 1, 4, 4);
    CHECK_OK(p3d_upsample(g_ctx, &tx, &ty, P3D_UPSAMPLE_BILINEAR));
    compare_close_f("bilinear", y, bilinear, 16, 0, 0);
    CHECK_OK(p3d_upsample(g_ctx, &tx, &ty, P3D_UPSAMPLE_BILINEAR_ALIGNED));
    compare_close_f("bilinear aligned", y, aligned, 16, 0, 1e-5);
    CHECK_OK(p3d_upsample(g_ctx, &tx, &ty, P3D_UPSAMPLE_NEAREST));
    compare_close_f("nearest", y, nearest, 16, 0, 0);
}

static void run(const char *name, int64_t n, int64_t c, int64_t h, int64_t w, int64_t fh, int64_t fw,
                p3d_upsample_mode mode) {
    const int64_t nx = n * c * h * w, ny = nx * fh * fw;
    float *x = oracle_alloc(nx), *y = oracle_alloc(ny);
    double *want = (double *)calloc((size_t)ny, sizeof(double));
    fill_int(x, nx, -9, 9);
    oracle_upsample(x, n * c, h, w, fh, fw, mode, want);
    p3d_tensor tx = host4(x, n, c, h, w), ty = host4(y, n, c, h * fh, w * fw);
    CHECK_OK(p3d_upsample(g_ctx, &tx, &ty, mode));
    /* Nearest copies; bilinear with factor 2 uses weights 0.25/0.75 (exact for integers). Other
     * scales are rounded to float, as in PyTorch: the weights carry ~1e-7 * index of error. */
    const double tol = mode == P3D_UPSAMPLE_NEAREST || (mode == P3D_UPSAMPLE_BILINEAR && fh == 2 && fw == 2) ? 0 : 1e-5;
    if (compare_close(name, y, want, ny, tol, tol)) fprintf(stderr, "  in case '%s'\n", name);
    free(x);
    free(y);
    free(want);
}

static void test_against_oracle(void) {
    run("nearest x2 N=2", 2, 3, 5, 7, 2, 2, P3D_UPSAMPLE_NEAREST);
    run("nearest x3 x2", 1, 2, 4, 3, 3, 2, P3D_UPSAMPLE_NEAREST);
    run("bilinear x2 N=2", 2, 3, 5, 7, 2, 2, P3D_UPSAMPLE_BILINEAR);
    run("bilinear x3", 1, 2, 4, 6, 3, 3, P3D_UPSAMPLE_BILINEAR);
    run("bilinear aligned x2", 2, 2, 5, 4, 2, 2, P3D_UPSAMPLE_BILINEAR_ALIGNED);
    run("bilinear aligned x3 x1", 1, 1, 6, 5, 3, 1, P3D_UPSAMPLE_BILINEAR_ALIGNED);
    run("bilinear x1 is a copy", 1, 2, 3, 3, 1, 1, P3D_UPSAMPLE_BILINEAR);
    run("bilinear from 1x1", 1, 1, 1, 1, 2, 2, P3D_UPSAMPLE_BILINEAR);
    run("aligned from 1x1", 1, 1, 1, 1, 2, 2, P3D_UPSAMPLE_BILINEAR_ALIGNED);
}

static void test_errors(void) {
    float x[12], y[64];
    p3d_tensor tx = host4(x, 1, 1, 3, 4), ty = host4(y, 1, 1, 7, 8);
    CHECK_FAILS(p3d_upsample(g_ctx, &tx, &ty, P3D_UPSAMPLE_NEAREST), P3D_ERR_INVALID_ARG, "integer factor");
    ty = host4(y, 1, 2, 6, 8);
    CHECK_FAILS(p3d_upsample(g_ctx, &tx, &ty, P3D_UPSAMPLE_NEAREST), P3D_ERR_INVALID_ARG, "output");
    ty = host4(y, 1, 1, 6, 8);
    CHECK_FAILS(p3d_upsample(g_ctx, &tx, &ty, (p3d_upsample_mode)5), P3D_ERR_INVALID_ARG, "mode");
}

int main(void) {
    g_ctx = cpu_ctx();
    RUN(test_pytorch_values);
    RUN(test_against_oracle);
    RUN(test_errors);
    p3d_ctx_free(g_ctx);
    return p3d_test_finish();
}
