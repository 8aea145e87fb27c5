/* test_maxpool2d.c - host/maxpool2d.h against a direct loop written from torch.nn.MaxPool2d's definition
 * (padding never wins, NaN propagates), output sizes and argument refusals; the CUDA twin against the CPU
 * (a SKIP without a device). */
#include "p3d_test.h"

#include "maxpool2d.h"
#include "nn_oracle.h"

static p3d_ctx *g_cpu, *g_gpu;
static char g_why[600];

/* max over the taps inside the plane; NaN wins as in PyTorch. */
static float oracle_pool(const float *xp, int64_t h, int64_t w, int64_t oy, int64_t ox, int k, int s, int p) {
    float m = -INFINITY;
    int nan = 0;
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++) {
            const int64_t iy = oy * s - p + ky, ix = ox * s - p + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const float v = xp[iy * w + ix];
            nan |= isnan(v);
            m = v > m ? v : m;
        }
    return nan ? NAN : m;
}

static void check_case(int64_t n, int64_t c, int64_t h, int64_t w, int k, int s, int p) {
    int64_t ho = 0, wo = 0;
    CHECK_OK(p3d_maxpool2d_out_size(k, s, p, h, w, &ho, &wo));
    CHECK(ho == (h + 2 * p - k) / s + 1 && wo == (w + 2 * p - k) / s + 1);
    float *x = oracle_alloc(n * c * h * w), *y = oracle_alloc(n * c * ho * wo);
    fill_real(x, n * c * h * w, -5, -1); /* all negative: a zero from the padding would show */
    x[3] = NAN;
    p3d_tensor tx = host4(x, n, c, h, w), ty = host4(y, n, c, ho, wo);
    CHECK_OK(p3d_maxpool2d(g_cpu, &tx, &ty, k, s, p));
    int64_t bad = 0;
    for (int64_t pl = 0; pl < n * c; pl++)
        for (int64_t oy = 0; oy < ho; oy++)
            for (int64_t ox = 0; ox < wo; ox++) {
                const float want = oracle_pool(x + pl * h * w, h, w, oy, ox, k, s, p);
                const float got = y[(pl * ho + oy) * wo + ox];
                bad += !(got == want || (isnan(got) && isnan(want)));
            }
    CHECK_MSG(bad == 0, "%lld of %lld outputs differ (%lldx%lld k%d s%d p%d)", (long long)bad,
              (long long)(n * c * ho * wo), (long long)h, (long long)w, k, s, p);
    int64_t nans = 0, nonneg = 0;
    for (int64_t i = 0; i < n * c * ho * wo; i++) {
        nans += isnan(y[i]);
        nonneg += y[i] >= 0;
    }
    CHECK(nans >= 1 && nonneg == 0);
    if (g_gpu) {
        const size_t xb = sizeof(float) * n * c * h * w, yb = sizeof(float) * n * c * ho * wo;
        void *dx = NULL, *dy = NULL;
        float *gy = oracle_alloc(n * c * ho * wo);
        CHECK_OK(p3d_ctx_alloc(g_gpu, xb, &dx));
        CHECK_OK(p3d_ctx_alloc(g_gpu, yb, &dy));
        if (dx && dy) {
            CHECK_OK(p3d_ctx_upload(g_gpu, dx, x, xb));
            const int64_t xs[4] = {n, c, h, w}, ys[4] = {n, c, ho, wo};
            p3d_tensor gx = p3d_tensor_view(dx, P3D_F32, P3D_MEM_CUDA, 4, xs);
            p3d_tensor gyt = p3d_tensor_view(dy, P3D_F32, P3D_MEM_CUDA, 4, ys);
            CHECK_OK(p3d_maxpool2d(g_gpu, &gx, &gyt, k, s, p));
            CHECK_OK(p3d_ctx_download(g_gpu, gy, dy, yb));
            CHECK(memcmp(gy, y, yb) == 0);
        }
        p3d_ctx_release(g_gpu, dx);
        p3d_ctx_release(g_gpu, dy);
        free(gy);
    }
    free(x);
    free(y);
}

static void test_pool(void) {
    check_case(2, 3, 16, 12, 3, 2, 1); /* the ResNeXt stem's pool */
    check_case(1, 2, 9, 7, 3, 2, 1);   /* odd sizes */
    check_case(1, 1, 5, 6, 2, 2, 0);
    check_case(1, 4, 8, 8, 3, 1, 1);
}

static void test_cuda(void) {
    if (!g_gpu) SKIP("CUDA twin not compared: %s", g_why);
}

static void test_refusals(void) {
    int64_t ho, wo;
    CHECK_FAILS(p3d_maxpool2d_out_size(3, 2, 2, 8, 8, &ho, &wo), P3D_ERR_INVALID_ARG, "pad <= kernel / 2");
    CHECK_FAILS(p3d_maxpool2d_out_size(5, 1, 0, 4, 8, &ho, &wo), P3D_ERR_INVALID_ARG, "smaller than the 5x5 window");
    float x[16], y[4];
    p3d_tensor tx = host4(x, 1, 1, 4, 4), ty = host4(y, 1, 1, 2, 1);
    CHECK_FAILS(p3d_maxpool2d(g_cpu, &tx, &ty, 3, 2, 1), P3D_ERR_INVALID_ARG, "output");
    ty = host4(x, 1, 1, 2, 2);
    CHECK_FAILS(p3d_maxpool2d(g_cpu, &tx, &ty, 3, 2, 1), P3D_ERR_INVALID_ARG, "overlap");
}

int main(void) {
    g_cpu = cpu_ctx();
    g_gpu = cuda_ctx_or_why(g_why, sizeof g_why);
    RUN(test_pool);
    RUN(test_cuda);
    RUN(test_refusals);
    p3d_ctx_free(g_gpu);
    p3d_ctx_free(g_cpu);
    return p3d_test_finish();
}
