/* test_eltwise.c - activations, residual add, mask product (with channel broadcast) and the U-Nets'
 * clamp(a + b, 0, 1) on the CPU against direct formulas; in place and errors. The CPU-vs-CUDA
 * comparison is in test_nn_cuda.c. */
#include "p3d_test.h"

#include "layers/eltwise.h"
#include "nn_oracle.h"

static p3d_ctx *g_ctx;

static void test_activations(void) {
    enum { N = 2 * 3 * 4 * 5 };
    float x[N], y[N];
    double want[N];
    fill_real(x, N, -4, 4);
    x[0] = 0.0f;
    x[1] = -0.0f;
    x[2] = NAN;
    x[3] = 7.5f; /* above ReLU6's cap */
    static const p3d_act acts[] = {P3D_ACT_NONE, P3D_ACT_RELU, P3D_ACT_LEAKY_RELU, P3D_ACT_SIGMOID, P3D_ACT_TANH,
                                   P3D_ACT_RELU6};
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        for (int i = 0; i < N; i++) want[i] = oracle_act(acts[a], 0.2f, x[i]);
        p3d_tensor tx = host4(x, 2, 3, 4, 5), ty = host4(y, 2, 3, 4, 5);
        CHECK_OK(p3d_activation(g_ctx, &tx, &ty, acts[a], 0.2f));
        /* ReLU / LeakyReLU / ReLU6 are exact; sigmoid and tanh within libm's rounding. */
        const double tol = acts[a] == P3D_ACT_SIGMOID || acts[a] == P3D_ACT_TANH ? 2.5e-7 : 0.0;
        compare_close("activation", y, want, N, tol, tol);
    }
    /* In place. */
    p3d_tensor tx = host4(x, 2, 3, 4, 5);
    CHECK_OK(p3d_activation(g_ctx, &tx, &tx, P3D_ACT_RELU, 0.0f));
    for (int i = 3; i < N; i++) CHECK(x[i] >= 0.0f);
    CHECK(isnan(x[2]));
}

static void test_binary(void) {
    enum { N = 2 * 3 * 4 * 5, M = 2 * 4 * 5 };
    float a[N], b[N], m[M], y[N];
    double want[N];
    fill_int(a, N, -8, 8);
    fill_int(b, N, -8, 8);
    for (int i = 0; i < N; i++) b[i] *= 0.125f;
    fill_int(m, M, 0, 1);
    p3d_tensor ta = host4(a, 2, 3, 4, 5), tb = host4(b, 2, 3, 4, 5), tm = host4(m, 2, 1, 4, 5);
    p3d_tensor ty = host4(y, 2, 3, 4, 5);
    CHECK_OK(p3d_add(g_ctx, &ta, &tb, &ty));
    for (int i = 0; i < N; i++) want[i] = (double)a[i] + b[i];
    compare_close("add", y, want, N, 0, 0);
    CHECK_OK(p3d_mul(g_ctx, &ta, &tb, &ty));
    for (int i = 0; i < N; i++) want[i] = (double)a[i] * b[i];
    compare_close("mul", y, want, N, 0, 0);
    CHECK_OK(p3d_mul(g_ctx, &ta, &tm, &ty));
    for (int i = 0; i < N; i++) want[i] = (double)a[i] * m[i / 60 * 20 + i % 20];
    compare_close("mul broadcast", y, want, N, 0, 0);
    CHECK_OK(p3d_add_clamp01(g_ctx, &tb, &tm, &ty));
    for (int i = 0; i < N; i++) {
        const double v = (double)b[i] + m[i / 60 * 20 + i % 20];
        want[i] = v < 0 ? 0 : (v > 1 ? 1 : v);
    }
    compare_close("add_clamp01 broadcast", y, want, N, 0, 0);
    /* The U-Nets' internal mask: clamp(context + mask, 0, 1) of two (N,1,H,W) planes. */
    float ctxp[4] = {0, 1, 0, 1}, hole[4] = {0, 0, 1, 1}, valid[4];
    p3d_tensor tc = host4(ctxp, 1, 1, 2, 2), th = host4(hole, 1, 1, 2, 2), tv = host4(valid, 1, 1, 2, 2);
    CHECK_OK(p3d_add_clamp01(g_ctx, &tc, &th, &tv));
    CHECK(valid[0] == 0.0f && valid[1] == 1.0f && valid[2] == 1.0f && valid[3] == 1.0f);
    /* Residual add in place. */
    for (int i = 0; i < N; i++) want[i] = (double)a[i] + b[i];
    CHECK_OK(p3d_add(g_ctx, &ta, &tb, &ta));
    compare_close("add in place", a, want, N, 0, 0);
}

static void test_errors(void) {
    float a[60], b[60], y[60];
    fill_real(a, 60, -1, 1);
    fill_real(b, 60, -1, 1);
    p3d_tensor ta = host4(a, 1, 3, 4, 5), tb = host4(b, 1, 2, 4, 5), ty = host4(y, 1, 3, 4, 5);
    CHECK_FAILS(p3d_add(g_ctx, &ta, &tb, &ty), P3D_ERR_INVALID_ARG, "add: b: expected f32 [1,3,4,5]");
    tb = host4(b, 1, 3, 4, 5);
    p3d_tensor part = host4(a + 1, 1, 3, 4, 5);
    CHECK_FAILS(p3d_mul(g_ctx, &ta, &tb, &part), P3D_ERR_INVALID_ARG, "overlap");
    CHECK_FAILS(p3d_binary(g_ctx, (p3d_binary_op)7, &ta, &tb, &ty), P3D_ERR_INVALID_ARG, "unknown");
    CHECK_FAILS(p3d_activation(g_ctx, &ta, &ty, (p3d_act)9, 0.0f), P3D_ERR_INVALID_ARG, "unknown");
}

int main(void) {
    g_ctx = cpu_ctx();
    RUN(test_activations);
    RUN(test_binary);
    RUN(test_errors);
    p3d_ctx_free(g_ctx);
    return p3d_test_finish();
}
