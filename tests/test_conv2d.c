/* test_conv2d.c - conv2d / conv_transpose2d layers (CPU) against the direct-loop oracle, the
 * networks' layer geometries, MAC counts, BatchNorm folding, sgemm, planning and argument errors.
 * The CPU-vs-CUDA comparison is in test_nn_cuda.c. */
#include "p3d_test.h"

#include "nn/batchnorm.h"
#include "nn/conv2d.h"
#include "nn/gemm.h"
#include "nn_oracle.h"

static p3d_ctx *g_ctx;

/* One case through the CPU handle against the oracle: exact for integer data (fill_layer), within
 * tol (relative and absolute) for real data. */
static void run_case(const conv_case *k, int real_data, double tol) {
    const p3d_conv2d_params p = conv_case_params(k);
    int64_t ho = 0, wo = 0;
    CHECK_OK(p3d_conv2d_out_size(&p, k->h, k->w, &ho, &wo));
    const int64_t nx = k->n * k->cin * k->h * k->w, nw = p3d_conv2d_weight_count(&p), ny = k->n * k->cout * ho * wo;
    float *x = oracle_alloc(nx), *wt = oracle_alloc(nw), *b = oracle_alloc(k->cout), *y = oracle_alloc(ny);
    double *want = (double *)calloc((size_t)ny, sizeof(double));
    fill_layer(real_data, x, nx, wt, nw, b, k->cout);
    const float *bias = k->bias ? b : NULL;
    if (k->transposed)
        oracle_conv_transpose2d(&p, x, wt, bias, k->n, k->h, k->w, ho, wo, want);
    else
        oracle_conv2d(&p, x, wt, bias, k->n, k->h, k->w, ho, wo, want);
    p3d_conv2d *c = NULL;
    CHECK_OK(p3d_conv2d_init(&c, g_ctx, &p, wt, bias));
    if (c) {
        p3d_tensor tx = host4(x, k->n, k->cin, k->h, k->w), ty = host4(y, k->n, k->cout, ho, wo);
        CHECK_OK(p3d_conv2d_plan(c, k->n, k->h, k->w));
        CHECK_OK(p3d_conv2d_forward(c, &tx, &ty));
        if (compare_close(k->name, y, want, ny, tol, tol)) fprintf(stderr, "  in case '%s'\n", k->name);
    }
    p3d_conv2d_free(c);
    free(x);
    free(wt);
    free(b);
    free(y);
    free(want);
}

#define ZP P3D_PAD_ZEROS
#define RP P3D_PAD_REFLECT
#define A0 P3D_ACT_NONE
#define AR P3D_ACT_RELU
#define AL P3D_ACT_LEAKY_RELU

/* Strides, padding, dilation, groups, reflection, odd sizes, N = 2, rectangular kernels, bias and
 * activations, 1x1 (the no-im2col path), transposed variants. */
static const conv_case k_cases[] = {
    {"3x3 s1 p1", 3, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, ZP, 0, A0, 0, 1, 5, 7},
    {"3x3 s2 p1 odd, bias, relu", 4, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, ZP, 0, AR, 1, 1, 9, 11},
    {"3x3 s3 p0", 2, 3, 3, 3, 3, 3, 0, 0, 1, 1, 1, ZP, 0, A0, 1, 1, 10, 8},
    {"5x5 s2 p2 N=2", 3, 5, 5, 5, 2, 2, 2, 2, 1, 1, 1, ZP, 0, AR, 1, 2, 11, 9},
    {"7x7 s2 p3", 4, 8, 7, 7, 2, 2, 3, 3, 1, 1, 1, ZP, 0, AR, 1, 1, 13, 10},
    {"3x3 dil 2 p2", 3, 4, 3, 3, 1, 1, 2, 2, 2, 2, 1, ZP, 0, AL, 0, 2, 9, 7},
    {"3x3 dil (2,3) s (1,2)", 2, 3, 3, 3, 1, 2, 2, 3, 2, 3, 1, ZP, 0, A0, 1, 1, 9, 12},
    {"groups 2", 4, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2, ZP, 0, A0, 1, 2, 6, 5},
    {"depthwise", 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 4, ZP, 0, AL, 1, 1, 7, 7},
    {"reflect p1", 3, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, RP, 0, A0, 1, 1, 5, 6},
    {"reflect 7x7 p3 (edge enc0)", 7, 4, 7, 7, 1, 1, 3, 3, 1, 1, 1, RP, 0, AR, 1, 2, 8, 9},
    {"reflect 3x3 dil 2 p2 (edge middle)", 4, 4, 3, 3, 1, 1, 2, 2, 2, 2, 1, RP, 0, AL, 0, 1, 6, 5},
    {"reflect s2 groups 2", 4, 2, 3, 3, 2, 2, 1, 1, 1, 1, 2, RP, 0, A0, 1, 1, 7, 8},
    {"1x3 kernel s(2,1) p(0,1)", 3, 2, 1, 3, 2, 1, 0, 1, 1, 1, 1, ZP, 0, A0, 1, 1, 7, 6},
    {"1x1 pointwise N=2", 8, 5, 1, 1, 1, 1, 0, 0, 1, 1, 1, ZP, 0, AR, 1, 2, 4, 6},
    {"1x1 groups 2", 4, 6, 1, 1, 1, 1, 0, 0, 1, 1, 2, ZP, 0, A0, 0, 1, 3, 5},
    {"1x1 s2", 3, 2, 1, 1, 2, 2, 0, 0, 1, 1, 1, ZP, 0, A0, 1, 1, 7, 7},
    {"pad > kernel reach", 2, 2, 3, 3, 1, 1, 3, 3, 1, 1, 1, ZP, 0, A0, 1, 1, 3, 4},
    {"T 4x4 s2 p1 N=2 relu", 6, 4, 4, 4, 2, 2, 1, 1, 1, 1, 1, ZP, 1, AR, 1, 2, 5, 7},
    {"T 3x3 s1 p1", 3, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, ZP, 1, A0, 0, 1, 6, 4},
    {"T 3x3 s2 p0 dil 2", 2, 3, 3, 3, 2, 2, 0, 0, 2, 2, 1, ZP, 1, AL, 1, 1, 4, 5},
    {"T 1x1", 4, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1, ZP, 1, A0, 1, 2, 3, 3},
    {"T 4x2 s(2,3) p(1,0)", 3, 2, 4, 2, 2, 3, 1, 0, 1, 1, 1, ZP, 1, A0, 1, 1, 4, 3},
};

static void test_conv_cases_exact(void) {
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) run_case(&k_cases[i], 0, 0.0);
}

static void test_conv_cases_real_sigmoid_tanh(void) {
    conv_case k = {"5x5 s2 p2 sigmoid", 5, 4, 5, 5, 2, 2, 2, 2, 1, 1, 1, ZP, 0, P3D_ACT_SIGMOID, 1, 2, 9, 10};
    run_case(&k, 1, 1e-5);
    k.name = "3x3 reflect tanh";
    k.kh = k.kw = 3;
    k.ph = k.pw = 1;
    k.pad = RP;
    k.act = P3D_ACT_TANH;
    run_case(&k, 1, 1e-5);
    k.name = "T 4x4 s2 p1 sigmoid";
    k.kh = k.kw = 4;
    k.pad = ZP;
    k.transposed = 1;
    k.act = P3D_ACT_SIGMOID;
    run_case(&k, 1, 1e-5);
}

/* Shapes whose column matrix exceeds P3D_CONV_COL_TILE_BYTES, so the CPU path runs several tiles. */
static void test_conv_tiled(void) {
    const conv_case fwd = {"tiled conv", 64, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, ZP, 0, A0, 1, 1, 30, 300};
    const conv_case refl = {"tiled reflect s2", 64, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, RP, 0, AR, 1, 1, 59, 600};
    const conv_case tr = {"tiled transposed", 4, 64, 4, 4, 2, 2, 1, 1, 1, 1, 1, ZP, 1, A0, 1, 1, 40, 128};
    CHECK(64 * 9 * 300 * 30 * sizeof(float) > P3D_CONV_COL_TILE_BYTES);
    CHECK(64 * 16 * 128 * 40 * sizeof(float) > P3D_CONV_COL_TILE_BYTES);
    run_case(&fwd, 0, 0.0);
    run_case(&refl, 0, 0.0);
    run_case(&tr, 0, 0.0);
}

/* The inpainting networks' layer geometries (reference 3.2-3.4) at small H, W, real channel counts. */
static void test_network_geometries(void) {
    static const conv_case g[] = {
        {"depth enc_1 7x7 s2 p3", 4, 64, 7, 7, 2, 2, 3, 3, 1, 1, 1, ZP, 0, AR, 1, 1, 16, 16},
        {"depth enc_2 5x5 s2 p2", 64, 128, 5, 5, 2, 2, 2, 2, 1, 1, 1, ZP, 0, AR, 1, 1, 8, 8},
        {"depth enc_4 3x3 s2 p1", 256, 512, 3, 3, 2, 2, 1, 1, 1, 1, 1, ZP, 0, AR, 0, 1, 4, 4},
        {"depth dec_7 3x3 s1 p1", 1024, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, ZP, 0, AL, 0, 1, 2, 2},
        {"edge encoder_0 refl 7x7", 7, 64, 7, 7, 1, 1, 3, 3, 1, 1, 1, RP, 0, A0, 1, 1, 16, 16},
        {"edge encoder_1 4x4 s2 p1", 64, 128, 4, 4, 2, 2, 1, 1, 1, 1, 1, ZP, 0, A0, 1, 1, 16, 16},
        {"edge middle refl 3x3 dil 2", 256, 256, 3, 3, 1, 1, 2, 2, 2, 2, 1, RP, 0, A0, 0, 1, 8, 8},
        {"edge decoder_0 T 4x4 s2 p1", 512, 128, 4, 4, 2, 2, 1, 1, 1, 1, 1, ZP, 1, A0, 1, 1, 4, 4},
        {"edge decoder_1 T 4x4 s2 p1", 256, 64, 4, 4, 2, 2, 1, 1, 1, 1, 1, ZP, 1, A0, 1, 2, 8, 8},
        {"edge decoder_2 refl 7x7", 128, 1, 7, 7, 1, 1, 3, 3, 1, 1, 1, RP, 0, P3D_ACT_SIGMOID, 1, 1, 16, 16},
    };
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) run_case(&g[i], g[i].act == P3D_ACT_SIGMOID, 1e-5);
}

/* Reference section 4.1: MACs per input pixel of the depth U-Net (144,116) and the edge net (814,656). */
static void test_macs(void) {
    typedef struct { int32_t cin, cout, k, s, p, d, t, div; } layer;
    static const layer depth[] = {
        {4, 64, 7, 2, 3, 1, 0, 1},     {64, 128, 5, 2, 2, 1, 0, 2},   {128, 256, 5, 2, 2, 1, 0, 4},
        {256, 512, 3, 2, 1, 1, 0, 8},  {512, 512, 3, 2, 1, 1, 0, 16}, {512, 512, 3, 2, 1, 1, 0, 32},
        {512, 512, 3, 2, 1, 1, 0, 64}, {1024, 512, 3, 1, 1, 1, 0, 64}, {1024, 512, 3, 1, 1, 1, 0, 32},
        {1024, 512, 3, 1, 1, 1, 0, 16}, {768, 256, 3, 1, 1, 1, 0, 8}, {384, 128, 3, 1, 1, 1, 0, 4},
        {192, 64, 3, 1, 1, 1, 0, 2},   {68, 1, 3, 1, 1, 1, 0, 1},
    };
    static const layer edge[] = {
        {7, 64, 7, 1, 3, 1, 0, 1},   {64, 128, 4, 2, 1, 1, 0, 1}, {128, 256, 4, 2, 1, 1, 0, 2},
        {512, 128, 4, 2, 1, 1, 1, 4}, {256, 64, 4, 2, 1, 1, 1, 2}, {128, 1, 7, 1, 3, 1, 0, 1},
    };
    const int64_t hw = 256;
    int64_t total = 0;
    for (size_t i = 0; i < sizeof depth / sizeof depth[0]; i++) {
        p3d_conv2d_params p = p3d_conv2d_params_make(depth[i].cin, depth[i].cout, depth[i].k, depth[i].s, depth[i].p);
        total += p3d_conv2d_macs(&p, 1, hw / depth[i].div, hw / depth[i].div);
    }
    CHECK(total == 144116LL * hw * hw);
    total = 0;
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        p3d_conv2d_params p = p3d_conv2d_params_make(edge[i].cin, edge[i].cout, edge[i].k, edge[i].s, edge[i].p);
        p.transposed = edge[i].t;
        total += p3d_conv2d_macs(&p, 1, hw / edge[i].div, hw / edge[i].div);
    }
    /* 16 middle convs 256 -> 256, 3x3 (dilation 2 or 1, reflection-padded to keep H/4). */
    p3d_conv2d_params mid = p3d_conv2d_params_make(256, 256, 3, 1, 2);
    mid.dilation_h = mid.dilation_w = 2;
    total += 16 * p3d_conv2d_macs(&mid, 1, hw / 4, hw / 4);
    CHECK(total == 814656LL * hw * hw);
    p3d_conv2d_params p = p3d_conv2d_params_make(3, 8, 3, 1, 1);
    CHECK(p3d_conv2d_macs(&p, 2, 5, 7) == 2LL * 8 * 35 * 27);
    CHECK(p3d_conv2d_macs(&p, 0, 5, 7) == 0);
}

/* conv -> BatchNorm (double oracle) equals the conv with folded weights and bias. */
static void test_fold_batchnorm(void) {
    const int32_t cin = 3, cout = 4, k = 3;
    const int64_t h = 6, w = 5, per = cin * k * k;
    float wt[4 * 27], b[4], gamma[4] = {0.5f, -1.25f, 2.0f, 1.0f}, beta[4] = {0.1f, -0.2f, 0.0f, 3.0f};
    float mean[4] = {0.3f, -1.0f, 0.0f, 2.5f}, var[4] = {1.0f, 0.25f, 4.0f, 0.0f};
    float x[3 * 30], wf[4 * 27], bf[4], y[4 * 30];
    double conv[4 * 30], want[4 * 30];
    fill_real(wt, cout * per, -1, 1);
    fill_real(b, cout, -1, 1);
    fill_real(x, cin * h * w, -1, 1);
    p3d_conv2d_params p = p3d_conv2d_params_make(cin, cout, k, 1, 1);
    oracle_conv2d(&p, x, wt, b, 1, h, w, h, w, conv);
    for (int32_t c = 0; c < cout; c++)
        for (int64_t i = 0; i < h * w; i++)
            want[c * h * w + i] = (conv[c * h * w + i] - mean[c]) / sqrt((double)var[c] + 1e-5) * gamma[c] + beta[c];
    p3d_fold_batchnorm(cout, per, wt, b, gamma, beta, mean, var, 1e-5f, wf, bf);
    p3d_conv2d *c = NULL;
    CHECK_OK(p3d_conv2d_init(&c, g_ctx, &p, wf, bf));
    if (!c) return;
    p3d_tensor tx = host4(x, 1, cin, h, w), ty = host4(y, 1, cout, h, w);
    CHECK_OK(p3d_conv2d_plan(c, 1, h, w));
    CHECK_OK(p3d_conv2d_forward(c, &tx, &ty));
    compare_close("folded conv+bn", y, want, cout * h * w, 1e-4, 1e-4);
    p3d_conv2d_free(c);
    /* In place, and with no conv bias: b' = -mean * s + beta. */
    float sc[4], sh[4];
    p3d_batchnorm_scale_shift(cout, gamma, beta, mean, var, 1e-5f, sc, sh);
    p3d_fold_batchnorm(cout, per, wt, NULL, gamma, beta, mean, var, 1e-5f, wt, b);
    for (int32_t i = 0; i < cout; i++) CHECK_NEAR(b[i], sh[i], 1e-6);
    CHECK_NEAR(sc[3], 1.0 / sqrt(1e-5), 1e-2);
}

static void test_sgemm(void) {
    const int64_t m = 7, n = 9, k = 5;
    float a[7 * 5], b[5 * 9], c1[7 * 9], c2[7 * 9];
    double want[7 * 9];
    fill_real(a, m * k, -1, 1);
    fill_real(b, k * n, -1, 1);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            const int64_t lda = ta ? m : k, ldb = tb ? k : n;
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < n; j++) {
                    double s = 0;
                    for (int64_t p = 0; p < k; p++)
                        s += (double)(ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
                    want[i * n + j] = 2.0 * s + 0.5 * 1.0;
                    c1[i * n + j] = c2[i * n + j] = 1.0f;
                }
            p3d_sgemm(ta, tb, m, n, k, 2.0f, a, lda, b, ldb, 0.5f, c1, n);
            p3d_sgemm_ref(ta, tb, m, n, k, 2.0f, a, lda, b, ldb, 0.5f, c2, n);
            compare_close("sgemm", c1, want, m * n, 1e-5, 1e-5);
            compare_close("sgemm_ref", c2, want, m * n, 1e-5, 1e-5);
        }
}

/* Planning: forward refuses unplanned shapes, allocates nothing, and the ninth shape evicts the first. */
static void test_plan_and_memory(void) {
    p3d_conv2d_params p = p3d_conv2d_params_make(2, 3, 3, 1, 1);
    float wt[3 * 2 * 9], x[2 * 2 * 20 * 20], y[2 * 3 * 20 * 20];
    fill_int(wt, 54, -2, 2);
    fill_int(x, 1600, -3, 3);
    p3d_conv2d *c = NULL;
    CHECK_OK(p3d_conv2d_init(&c, g_ctx, &p, wt, NULL));
    if (!c) return;
    p3d_tensor tx = host4(x, 1, 2, 8, 8), ty = host4(y, 1, 3, 8, 8);
    CHECK_FAILS(p3d_conv2d_forward(c, &tx, &ty), P3D_ERR_INVALID_ARG, "was not planned");
    size_t need = 1;
    CHECK_FAILS(p3d_conv2d_scratch_bytes(c, 1, 8, 8, &need), P3D_ERR_INVALID_ARG, "was not planned");
    CHECK_OK(p3d_conv2d_plan(c, 1, 8, 8));
    CHECK_OK(p3d_conv2d_scratch_bytes(c, 1, 8, 8, &need));
    size_t have = 0;
    CHECK(p3d_ctx_scratch(g_ctx, &have) != NULL && have >= need);
    const size_t in_use = p3d_ctx_bytes_in_use(g_ctx), peak = p3d_ctx_bytes_peak(g_ctx);
    for (int i = 0; i < 3; i++) CHECK_OK(p3d_conv2d_forward(c, &tx, &ty));
    CHECK(p3d_ctx_bytes_in_use(g_ctx) == in_use && p3d_ctx_bytes_peak(g_ctx) == peak);
    for (int64_t s = 9; s < 9 + P3D_PLAN_SLOTS; s++) CHECK_OK(p3d_conv2d_plan(c, 1, s, 8));
    CHECK_FAILS(p3d_conv2d_forward(c, &tx, &ty), P3D_ERR_INVALID_ARG, "was not planned");
    tx = host4(x, 2, 2, 9, 8);
    ty = host4(y, 2, 3, 9, 8);
    CHECK_FAILS(p3d_conv2d_forward(c, &tx, &ty), P3D_ERR_INVALID_ARG, "was not planned");
    tx = host4(x, 1, 2, 9, 8);
    ty = host4(y, 1, 3, 9, 7);
    CHECK_FAILS(p3d_conv2d_forward(c, &tx, &ty), P3D_ERR_INVALID_ARG, "output: expected f32 [1,3,9,8]");
    ty = host4(y, 1, 3, 9, 8);
    CHECK_OK(p3d_conv2d_forward(c, &tx, &ty));
    p3d_tensor alias = host4(x + 10, 1, 3, 9, 8);
    CHECK_FAILS(p3d_conv2d_forward(c, &tx, &alias), P3D_ERR_INVALID_ARG, "overlap");
    p3d_tensor dev = tx;
    dev.mem = P3D_MEM_CUDA;
    CHECK_FAILS(p3d_conv2d_forward(c, &dev, &ty), P3D_ERR_INVALID_ARG, "in device memory");
    p3d_conv2d_free(c);
}

static void test_bad_params(void) {
    p3d_conv2d *c = NULL;
    float wt[64] = {0};
    p3d_conv2d_params p = p3d_conv2d_params_make(4, 6, 3, 1, 1);
    p.groups = 4;
    CHECK_FAILS(p3d_conv2d_init(&c, g_ctx, &p, wt, NULL), P3D_ERR_INVALID_ARG, "groups must divide");
    p = p3d_conv2d_params_make(4, 4, 3, 0, 1);
    CHECK_FAILS(p3d_conv2d_init(&c, g_ctx, &p, wt, NULL), P3D_ERR_INVALID_ARG, "stride");
    p = p3d_conv2d_params_make(2, 2, 3, 1, 1);
    p.transposed = 1;
    p.pad_mode = P3D_PAD_REFLECT;
    CHECK_FAILS(p3d_conv2d_init(&c, g_ctx, &p, wt, NULL), P3D_ERR_INVALID_ARG, "transposed");
    CHECK(c == NULL);
    p = p3d_conv2d_params_make(1, 1, 3, 1, 2);
    p.pad_mode = P3D_PAD_REFLECT;
    CHECK_OK(p3d_conv2d_init(&c, g_ctx, &p, wt, NULL));
    CHECK_FAILS(p3d_conv2d_plan(c, 1, 2, 5), P3D_ERR_INVALID_ARG, "reflection padding");
    CHECK_OK(p3d_conv2d_plan(c, 1, 3, 3));
    p3d_conv2d_free(c);
    c = NULL;
    p = p3d_conv2d_params_make(1, 1, 5, 1, 0);
    CHECK_OK(p3d_conv2d_init(&c, g_ctx, &p, wt, NULL));
    CHECK_FAILS(p3d_conv2d_plan(c, 1, 4, 9), P3D_ERR_INVALID_ARG, "empty output");
    CHECK_FAILS(p3d_conv2d_plan(c, 0, 9, 9), P3D_ERR_INVALID_ARG, "batch size");
    p3d_conv2d_free(c);
}

int main(void) {
    g_ctx = cpu_ctx();
    RUN(test_conv_cases_exact);
    RUN(test_conv_cases_real_sigmoid_tanh);
    RUN(test_conv_tiled);
    RUN(test_network_geometries);
    RUN(test_macs);
    RUN(test_fold_batchnorm);
    RUN(test_sgemm);
    RUN(test_plan_and_memory);
    RUN(test_bad_params);
    p3d_ctx_free(g_ctx);
    return p3d_test_finish();
}
