/* test_maxpool2d.c - max pooling (host/layers/maxpool2d.h) against PyTorch's F.max_pool2d values and a
 * direct-loop oracle of its definition; the ResNet stem's 3x3 / 2 / 1 on even and odd sizes, other
 * geometries, NaN propagation, all-negative inputs (padding must not act as 0), argument errors, and
 * the CUDA twin against the CPU (bit-exact: the same maxpool2d_math.h; a SKIP without a device). */
#include "p3d_test.h"

#include "layers/maxpool2d.h"
#include "nn_oracle.h"

static p3d_ctx *g_cpu, *g_gpu;
static char g_why[600];

/* torch.nn.MaxPool2d(k, stride, pad) from its definition: -inf outside the input, NaN wins. */
static void oracle_maxpool(const float *x, int64_t planes, int64_t h, int64_t w, int32_t k, int32_t s, int32_t p,
                           int64_t ho, int64_t wo, double *y) {
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t oy = 0; oy < ho; oy++)
            for (int64_t ox = 0; ox < wo; ox++) {
                double m = -INFINITY;
                for (int64_t ky = 0; ky < k; ky++)
                    for (int64_t kx = 0; kx < k; kx++) {
                        const int64_t iy = oy * s - p + ky, ix = ox * s - p + kx;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                        const double v = x[(pl * h + iy) * w + ix];
                        if (v > m || isnan(v)) m = v;
                        if (isnan(m)) break;
                    }
                y[(pl * ho + oy) * wo + ox] = m;
            }
}

/* F.max_pool2d(x, 3, 2, 1) of x = ((i * 7) % 11 - 5) - 10, i = 0..29 as (1, 1, 5, 6), printed by PyTorch
 * (for x + 10) and shifted: every value is negative, so a zero-padded pool would differ. */
static void test_pytorch_values(void) {
    float x[30], y[9];
    static const float want[9] = {-6, -5, -5, -6, -5, -6, -5, -5, -6};
    for (int i = 0; i < 30; i++) x[i] = (float)((i * 7) % 11 - 5 - 10);
    p3d_tensor tx = host4(x, 1, 1, 5, 6), ty = host4(y, 1, 1, 3, 3);
    CHECK_OK(p3d_maxpool2d(g_cpu, &tx, &ty, 3, 2, 1));
    compare_close_f("maxpool 3/2/1", y, want, 9, 0, 0);
}

/* The pool of x (n, c, h, w) on ctx (host or device memory alike through p3d_tensor_copy) into y. */
static void pool_on(p3d_ctx *ctx, const float *x, int64_t n, int64_t c, int64_t h, int64_t w, int32_t k, int32_t s,
                    int32_t p, int64_t ho, int64_t wo, float *y) {
    const int64_t xs[4] = {n, c, h, w}, ys[4] = {n, c, ho, wo};
    void *dx = NULL, *dy = NULL;
    CHECK_OK(p3d_ctx_alloc(ctx, (size_t)(n * c * h * w) * sizeof(float), &dx));
    CHECK_OK(p3d_ctx_alloc(ctx, (size_t)(n * c * ho * wo) * sizeof(float), &dy));
    if (dx && dy) {
        p3d_tensor tx = p3d_tensor_view(dx, P3D_F32, p3d_ctx_mem(ctx), 4, xs);
        p3d_tensor ty = p3d_tensor_view(dy, P3D_F32, p3d_ctx_mem(ctx), 4, ys);
        CHECK_OK(p3d_ctx_upload(ctx, dx, x, p3d_tensor_nbytes(&tx)));
        CHECK_OK(p3d_maxpool2d(ctx, &tx, &ty, k, s, p));
        CHECK_OK(p3d_ctx_download(ctx, y, dy, p3d_tensor_nbytes(&ty)));
    }
    p3d_ctx_release(ctx, dx);
    p3d_ctx_release(ctx, dy);
}

typedef struct pool_case {
    const char *name;
    int64_t n, c, h, w;
    int32_t k, s, p;
    int nan; /* plant NaNs */
} pool_case;

static const pool_case k_cases[] = {
    {"stem 3/2/1 even", 2, 3, 16, 24, 3, 2, 1, 0},
    {"stem 3/2/1 odd", 1, 4, 13, 9, 3, 2, 1, 0},
    {"stem 3/2/1 tiny", 1, 2, 2, 3, 3, 2, 1, 0},
    {"2/2/0", 2, 2, 8, 7, 2, 2, 0, 0},
    {"3/1/1", 1, 3, 7, 5, 3, 1, 1, 0},
    {"5/3/2", 1, 2, 11, 12, 5, 3, 2, 0},
    {"1/1/0 copy", 1, 1, 4, 5, 1, 1, 0, 0},
    {"NaN propagates", 2, 2, 9, 10, 3, 2, 1, 1},
};

static void run_case(const pool_case *pc, int cuda) {
    int64_t ho = 0, wo = 0;
    CHECK_OK(p3d_maxpool2d_out_size(pc->k, pc->s, pc->p, pc->h, pc->w, &ho, &wo));
    const int64_t nx = pc->n * pc->c * pc->h * pc->w, ny = pc->n * pc->c * ho * wo;
    float *x = oracle_alloc(nx), *y = oracle_alloc(ny), *yc = oracle_alloc(ny);
    double *want = (double *)calloc((size_t)ny, sizeof(double));
    fill_real(x, nx, -3.0, -1.0);
    if (pc->nan)
        for (int64_t i = 5; i < nx; i += 37) x[i] = NAN;
    oracle_maxpool(x, pc->n * pc->c, pc->h, pc->w, pc->k, pc->s, pc->p, ho, wo, want);
    pool_on(g_cpu, x, pc->n, pc->c, pc->h, pc->w, pc->k, pc->s, pc->p, ho, wo, yc);
    if (compare_close(pc->name, yc, want, ny, 0, 0)) fprintf(stderr, "  in case '%s' (cpu)\n", pc->name);
    if (cuda) {
        pool_on(g_gpu, x, pc->n, pc->c, pc->h, pc->w, pc->k, pc->s, pc->p, ho, wo, y);
        if (compare_close_f(pc->name, y, yc, ny, 0, 0)) fprintf(stderr, "  in case '%s' (cuda vs cpu)\n", pc->name);
    }
    free(x);
    free(y);
    free(yc);
    free(want);
}

static void test_against_oracle(void) {
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) run_case(&k_cases[i], 0);
}

static void test_cuda_vs_cpu(void) {
    if (!g_gpu) {
        SKIP_GPU("CPU-vs-CUDA comparison not run: %s", g_why);
        return;
    }
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) run_case(&k_cases[i], 1);
}

static void test_errors(void) {
    float x[64], y[64];
    int64_t ho, wo;
    CHECK_FAILS(p3d_maxpool2d_out_size(3, 2, 2, 8, 8, &ho, &wo), P3D_ERR_INVALID_ARG, "padding 2");
    CHECK_FAILS(p3d_maxpool2d_out_size(0, 1, 0, 8, 8, &ho, &wo), P3D_ERR_INVALID_ARG, "kernel 0");
    CHECK_FAILS(p3d_maxpool2d_out_size(3, 0, 1, 8, 8, &ho, &wo), P3D_ERR_INVALID_ARG, "stride 0");
    CHECK_FAILS(p3d_maxpool2d_out_size(5, 1, 0, 4, 8, &ho, &wo), P3D_ERR_INVALID_ARG, "smaller than the 5x5");
    p3d_tensor tx = host4(x, 1, 1, 8, 8), ty = host4(y, 1, 1, 5, 4);
    CHECK_FAILS(p3d_maxpool2d(g_cpu, &tx, &ty, 3, 2, 1), P3D_ERR_INVALID_ARG, "output");
    ty = host4(x + 8, 1, 1, 4, 4);
    CHECK_FAILS(p3d_maxpool2d(g_cpu, &tx, &ty, 3, 2, 1), P3D_ERR_INVALID_ARG, "overlap");
}

int main(void) {
    g_cpu = cpu_ctx();
    g_gpu = cuda_ctx_or_why(g_why, sizeof g_why);
    RUN(test_pytorch_values);
    RUN(test_against_oracle);
    RUN(test_cuda_vs_cpu);
    RUN(test_errors);
    p3d_ctx_free(g_gpu);
    p3d_ctx_free(g_cpu);
    return p3d_test_finish();
}
