/* test_instance_norm.c - instance normalisation (CPU) against a double-precision oracle: large
 * offsets (where a one-pass variance would cancel), fused activations, in place, constant planes,
 * N = 2, errors. The CPU-vs-CUDA comparison is in test_nn_cuda.c. */
#include "p3d_test.h"

#include "layers/instance_norm.h"
#include "nn_oracle.h"

static p3d_ctx *g_ctx;

/* torch.nn.InstanceNorm2d(affine=False) in double: biased variance per (n, c) plane. */
static void oracle_instance_norm(const float *x, int64_t planes, int64_t hw, double eps, p3d_act act, double slope,
                                 double *y) {
    for (int64_t p = 0; p < planes; p++) {
        const float *xp = x + p * hw;
        double mean = 0, var = 0;
        for (int64_t i = 0; i < hw; i++) mean += xp[i];
        mean /= (double)hw;
        for (int64_t i = 0; i < hw; i++) var += (xp[i] - mean) * (xp[i] - mean);
        var /= (double)hw;
        for (int64_t i = 0; i < hw; i++) y[p * hw + i] = oracle_act(act, slope, (xp[i] - mean) / sqrt(var + eps));
    }
}

static void run(const char *name, int64_t n, int64_t c, int64_t h, int64_t w, double offset, p3d_act act, int in_place) {
    const int64_t total = n * c * h * w;
    float *x = oracle_alloc(total), *y = oracle_alloc(total);
    double *want = (double *)calloc((size_t)total, sizeof(double));
    fill_real(x, total, offset - 3.0, offset + 3.0);
    oracle_instance_norm(x, n * c, h * w, 1e-5, act, 0.2f, want);
    p3d_tensor tx = host4(x, n, c, h, w), ty = host4(in_place ? x : y, n, c, h, w);
    CHECK_OK(p3d_instance_norm(g_ctx, &tx, &ty, P3D_INSTANCE_NORM_EPS, act, 0.2f));
    /* Double statistics rounded once: within an ulp or two of the exact result. */
    if (compare_close(name, in_place ? x : y, want, total, 2.5e-7, 1e-7)) fprintf(stderr, "  in case '%s'\n", name);
    free(x);
    free(y);
    free(want);
}

static void test_against_oracle(void) {
    run("plain N=2", 2, 3, 5, 7, 0.0, P3D_ACT_NONE, 0);
    run("offset 1000", 1, 2, 9, 11, 1000.0, P3D_ACT_NONE, 0);
    run("relu in place", 2, 2, 6, 4, 0.5, P3D_ACT_RELU, 1);
    run("leaky", 1, 4, 8, 8, -2.0, P3D_ACT_LEAKY_RELU, 0);
    run("large plane offset 1e4", 1, 1, 300, 257, 1e4, P3D_ACT_NONE, 0);
    run("1x1 planes", 2, 5, 1, 1, 3.0, P3D_ACT_NONE, 0);
}

static void test_constant_plane(void) {
    float x[2 * 16], y[2 * 16];
    for (int i = 0; i < 32; i++) x[i] = i < 16 ? 7.25f : (float)(i % 2);
    p3d_tensor tx = host4(x, 1, 2, 4, 4), ty = host4(y, 1, 2, 4, 4);
    CHECK_OK(p3d_instance_norm(g_ctx, &tx, &ty, P3D_INSTANCE_NORM_EPS, P3D_ACT_NONE, 0.0f));
    for (int i = 0; i < 16; i++) CHECK(y[i] == 0.0f);
    /* Plane 1: values 0/1, mean 0.5, variance 0.25. */
    const double inv = 1.0 / sqrt(0.25 + 1e-5);
    CHECK(y[16] == (float)(-0.5 * inv) && y[17] == (float)(0.5 * inv));
}

static void test_errors(void) {
    float x[64], y[64];
    fill_real(x, 64, -1, 1);
    p3d_tensor tx = host4(x, 1, 2, 4, 8), ty = host4(y, 1, 2, 8, 4);
    CHECK_FAILS(p3d_instance_norm(g_ctx, &tx, &ty, 1e-5f, P3D_ACT_NONE, 0.0f), P3D_ERR_INVALID_ARG, "output");
    ty = host4(x + 1, 1, 2, 4, 8);
    CHECK_FAILS(p3d_instance_norm(g_ctx, &tx, &ty, 1e-5f, P3D_ACT_NONE, 0.0f), P3D_ERR_INVALID_ARG, "overlap");
    ty = host4(y, 1, 2, 4, 8);
    CHECK_FAILS(p3d_instance_norm(g_ctx, &tx, &ty, -1.0f, P3D_ACT_NONE, 0.0f), P3D_ERR_INVALID_ARG, "eps");
}

int main(void) {
    g_ctx = cpu_ctx();
    RUN(test_against_oracle);
    RUN(test_constant_plane);
    RUN(test_errors);
    p3d_ctx_free(g_ctx);
    return p3d_test_finish();
}
