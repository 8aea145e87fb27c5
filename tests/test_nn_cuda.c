/* test_nn_cuda.c - every NN op on the CPU and on CUDA with the same inputs, compared. Without a
 * usable CUDA device (or without the CUDA backend) every case is a SKIP naming why, and the program
 * exits 77, which ctest shows as skipped, never as passed.
 *
 * Exact agreement is required where both sides run the same shared arithmetic on the same inputs
 * (pad, crop, concat, upsample, ReLU / LeakyReLU, binary ops, the pconv mask); sigmoid / tanh differ
 * by the libraries' rounding; convolutions by cuDNN's summation order (and, for Winograd / FFT
 * algorithms, their transforms); instance norm by the order of its double sums. */
#include "p3d_test.h"

#include "layers/concat.h"
#include "nn/conv2d.h"
#include "layers/eltwise.h"
#include "layers/instance_norm.h"
#include "nn_oracle.h"
#include "nn/pad.h"
#include "nn/pconv2d.h"
#include "layers/upsample.h"

static p3d_ctx *g_cpu, *g_gpu;
static char g_why[600];

#define NEED_GPU()                                                                                 \
    do {                                                                                           \
        if (!g_gpu) {                                                                              \
            SKIP_GPU("CPU-vs-CUDA comparison not run: %s", g_why);                                     \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Device copy of host data, as an (n, c, h, w) tensor; data NULL (and the case failed) on error. */
static p3d_tensor to_dev(const float *host, int64_t n, int64_t c, int64_t h, int64_t w) {
    const size_t bytes = (size_t)(n * c * h * w) * sizeof(float);
    void *d = NULL;
    CHECK_OK(p3d_ctx_alloc(g_gpu, bytes, &d));
    if (d && host) CHECK_OK(p3d_ctx_upload(g_gpu, d, host, bytes));
    const int64_t shape[4] = {n, c, h, w};
    return p3d_tensor_view(d, P3D_F32, P3D_MEM_CUDA, 4, shape);
}

/* Downloads t into host (sized like t) and releases t. */
static void from_dev(p3d_tensor *t, float *host) {
    if (t->data) CHECK_OK(p3d_ctx_download(g_gpu, host, t->data, p3d_tensor_nbytes(t)));
    p3d_ctx_release(g_gpu, t->data);
    t->data = NULL;
}

/* ---- conv2d ------------------------------------------------------------------------------------ */

static void conv_pair(const conv_case *k) {
    const p3d_conv2d_params p = conv_case_params(k);
    int64_t ho = 0, wo = 0;
    CHECK_OK(p3d_conv2d_out_size(&p, k->h, k->w, &ho, &wo));
    const int64_t nx = k->n * k->cin * k->h * k->w, ny = k->n * k->cout * ho * wo, nw = p3d_conv2d_weight_count(&p);
    float *x = oracle_alloc(nx), *wt = oracle_alloc(nw), *b = oracle_alloc(k->cout);
    float *yc = oracle_alloc(ny), *yg = oracle_alloc(ny);
    fill_layer(1, x, nx, wt, nw, b, k->cout);
    p3d_conv2d *cc = NULL, *cg = NULL;
    CHECK_OK(p3d_conv2d_init(&cc, g_cpu, &p, wt, k->bias ? b : NULL));
    CHECK_OK(p3d_conv2d_init(&cg, g_gpu, &p, wt, k->bias ? b : NULL));
    if (cc && cg) {
        p3d_tensor tx = host4(x, k->n, k->cin, k->h, k->w), ty = host4(yc, k->n, k->cout, ho, wo);
        CHECK_OK(p3d_conv2d_plan(cc, k->n, k->h, k->w));
        CHECK_OK(p3d_conv2d_forward(cc, &tx, &ty));
        p3d_tensor dx = to_dev(x, k->n, k->cin, k->h, k->w), dy = to_dev(NULL, k->n, k->cout, ho, wo);
        CHECK_OK(p3d_conv2d_plan(cg, k->n, k->h, k->w));
        const size_t in_use = p3d_ctx_bytes_in_use(g_gpu);
        CHECK_OK(p3d_conv2d_forward(cg, &dx, &dy));
        CHECK_OK(p3d_conv2d_forward(cg, &dx, &dy));
        CHECK_MSG(p3d_ctx_bytes_in_use(g_gpu) == in_use, "case '%s' allocated in forward", k->name);
        from_dev(&dx, x);
        from_dev(&dy, yg);
        if (compare_close_f(k->name, yg, yc, ny, 1e-4, 1e-4)) fprintf(stderr, "  in case '%s'\n", k->name);
    }
    p3d_conv2d_free(cc);
    p3d_conv2d_free(cg);
    free(x);
    free(wt);
    free(b);
    free(yc);
    free(yg);
}

static void test_conv2d_cuda(void) {
    NEED_GPU();
    static const conv_case cases[] = {
        {"bias relu (fused)", 4, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, P3D_PAD_ZEROS, 0, P3D_ACT_RELU, 1, 2, 17, 13},
        {"bias only", 4, 8, 5, 5, 2, 2, 2, 2, 1, 1, 1, P3D_PAD_ZEROS, 0, P3D_ACT_NONE, 1, 1, 19, 23},
        {"no bias leaky", 6, 4, 7, 7, 2, 2, 3, 3, 1, 1, 1, P3D_PAD_ZEROS, 0, P3D_ACT_LEAKY_RELU, 0, 1, 20, 18},
        {"sigmoid", 8, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, P3D_PAD_ZEROS, 0, P3D_ACT_SIGMOID, 1, 1, 12, 12},
        {"reflect 7x7", 7, 16, 7, 7, 1, 1, 3, 3, 1, 1, 1, P3D_PAD_REFLECT, 0, P3D_ACT_RELU, 1, 1, 24, 20},
        {"reflect dil 2", 16, 16, 3, 3, 1, 1, 2, 2, 2, 2, 1, P3D_PAD_REFLECT, 0, P3D_ACT_NONE, 0, 2, 16, 12},
        {"groups 2 s2 tanh", 8, 6, 3, 3, 2, 2, 1, 1, 1, 1, 2, P3D_PAD_ZEROS, 0, P3D_ACT_TANH, 1, 1, 15, 15},
        {"1x1", 16, 8, 1, 1, 1, 1, 0, 0, 1, 1, 1, P3D_PAD_ZEROS, 0, P3D_ACT_NONE, 1, 2, 9, 7},
        {"T 4x4 s2 p1", 32, 16, 4, 4, 2, 2, 1, 1, 1, 1, 1, P3D_PAD_ZEROS, 1, P3D_ACT_RELU, 1, 2, 8, 10},
        {"T 3x3 s1 p1 no bias", 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, P3D_PAD_ZEROS, 1, P3D_ACT_NONE, 0, 1, 11, 9},
        {"U-Net dec 3x3 512ch", 512, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, P3D_PAD_ZEROS, 0, P3D_ACT_LEAKY_RELU, 0, 1, 8, 8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) conv_pair(&cases[i]);
}

/* ---- pconv2d ----------------------------------------------------------------------------------- */

static void pconv_pair(const char *name, int32_t c0, int32_t c1, int32_t cout, int32_t k, int32_t s, int32_t pad,
                       int32_t bias, int32_t bn, p3d_act act) {
    const int64_t n = 2, h = 21, w = 17, cin = c0 + c1;
    p3d_conv2d_params p = p3d_conv2d_params_make((int32_t)cin, cout, k, s, pad);
    p.act = act;
    int64_t ho = 0, wo = 0;
    CHECK_OK(p3d_conv2d_out_size(&p, h, w, &ho, &wo));
    const int64_t nx = n * cin * h * w, ny = n * cout * ho * wo, nm = n * ho * wo, nw = p3d_conv2d_weight_count(&p);
    float *x = oracle_alloc(nx), *wt = oracle_alloc(nw), *b = oracle_alloc(cout), *sc = oracle_alloc(cout);
    float *sh = oracle_alloc(cout), *m0 = oracle_alloc(n * h * w), *m1 = oracle_alloc(n * h * w);
    float *yc = oracle_alloc(ny), *yg = oracle_alloc(ny), *mc = oracle_alloc(nm), *mg = oracle_alloc(nm);
    fill_real(x, nx, -1, 1);
    fill_real(wt, nw, -1, 1);
    fill_real(b, cout, -1, 1);
    fill_real(sc, cout, 0.5, 2);
    fill_real(sh, cout, -1, 1);
    for (int64_t i = 0; i < n * h * w; i++) {
        const int64_t y = i / w % h, xx = i % w;
        m0[i] = (y >= 4 && y < 15 && xx >= 3 && xx < 12) ? 0.0f : 1.0f;
        m1[i] = oracle_rand() % 3 == 0 ? 0.0f : 1.0f;
    }
    p3d_pconv2d *pc = NULL, *pg = NULL;
    CHECK_OK(p3d_pconv2d_init(&pc, g_cpu, &p, wt, bias ? b : NULL, bn ? sc : NULL, bn ? sh : NULL));
    CHECK_OK(p3d_pconv2d_init(&pg, g_gpu, &p, wt, bias ? b : NULL, bn ? sc : NULL, bn ? sh : NULL));
    if (pc && pg) {
        p3d_tensor tx = host4(x, n, cin, h, w), ty = host4(yc, n, cout, ho, wo), tm = host4(mc, n, 1, ho, wo);
        p3d_pmask hm = p3d_pmask_one(host4(m0, n, 1, h, w), c0);
        if (c1) {
            p3d_pmask second = p3d_pmask_one(host4(m1, n, 1, h, w), c1);
            hm = p3d_pmask_concat(&hm, &second);
        }
        CHECK_OK(p3d_pconv2d_plan(pc, n, h, w));
        CHECK_OK(p3d_pconv2d_forward(pc, &tx, &hm, &ty, &tm));
        p3d_tensor dx = to_dev(x, n, cin, h, w), dy = to_dev(NULL, n, cout, ho, wo), dm = to_dev(NULL, n, 1, ho, wo);
        p3d_tensor dm0 = to_dev(m0, n, 1, h, w), dm1 = to_dev(m1, n, 1, h, w);
        p3d_pmask gm = p3d_pmask_one(dm0, c0);
        if (c1) {
            p3d_pmask second = p3d_pmask_one(dm1, c1);
            gm = p3d_pmask_concat(&gm, &second);
        }
        CHECK_OK(p3d_pconv2d_plan(pg, n, h, w));
        CHECK_OK(p3d_pconv2d_forward(pg, &dx, &gm, &dy, &dm));
        from_dev(&dx, x);
        from_dev(&dm0, m0);
        from_dev(&dm1, m1);
        from_dev(&dy, yg);
        from_dev(&dm, mg);
        compare_close_f(name, yg, yc, ny, 1e-4, 1e-4);
        compare_close_f("new mask", mg, mc, nm, 0, 0);
    }
    p3d_pconv2d_free(pc);
    p3d_pconv2d_free(pg);
    float *bufs[] = {x, wt, b, sc, sh, m0, m1, yc, yg, mc, mg};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
}

static void test_pconv2d_cuda(void) {
    NEED_GPU();
    pconv_pair("enc_1 7x7 s2 bias relu", 4, 0, 16, 7, 2, 3, 1, 0, P3D_ACT_RELU);
    pconv_pair("enc 5x5 s2 bn relu", 8, 0, 16, 5, 2, 2, 0, 1, P3D_ACT_RELU);
    pconv_pair("decoder two planes bn leaky", 12, 8, 8, 3, 1, 1, 0, 1, P3D_ACT_LEAKY_RELU);
    pconv_pair("dec_1A sigmoid", 8, 6, 3, 3, 1, 1, 1, 0, P3D_ACT_SIGMOID);
}

/* ---- instance norm, element-wise, upsample, pad, concat ------------------------------------------ */

static void test_instance_norm_cuda(void) {
    NEED_GPU();
    const int64_t n = 2, c = 3, h = 37, w = 53, total = n * c * h * w;
    float *x = oracle_alloc(total), *yc = oracle_alloc(total), *yg = oracle_alloc(total);
    fill_real(x, total, 97, 103);
    p3d_tensor tx = host4(x, n, c, h, w), ty = host4(yc, n, c, h, w);
    CHECK_OK(p3d_instance_norm(g_cpu, &tx, &ty, P3D_INSTANCE_NORM_EPS, P3D_ACT_RELU, 0.0f));
    p3d_tensor dx = to_dev(x, n, c, h, w);
    CHECK_OK(p3d_instance_norm(g_gpu, &dx, &dx, P3D_INSTANCE_NORM_EPS, P3D_ACT_RELU, 0.0f));
    from_dev(&dx, yg);
    compare_close_f("instance norm", yg, yc, total, 2.5e-7, 1e-7);
    free(x);
    free(yc);
    free(yg);
}

static void test_eltwise_cuda(void) {
    NEED_GPU();
    const int64_t n = 2, c = 3, h = 9, w = 11, total = n * c * h * w, plane = n * h * w;
    float *a = oracle_alloc(total), *b = oracle_alloc(total), *m = oracle_alloc(plane);
    float *yc = oracle_alloc(total), *yg = oracle_alloc(total);
    fill_real(a, total, -5, 5);
    fill_real(b, total, -1, 2);
    fill_int(m, plane, 0, 1);
    p3d_tensor ta = host4(a, n, c, h, w), tb = host4(b, n, c, h, w), tm = host4(m, n, 1, h, w);
    p3d_tensor ty = host4(yc, n, c, h, w);
    p3d_tensor da = to_dev(a, n, c, h, w), db = to_dev(b, n, c, h, w), dm = to_dev(m, n, 1, h, w);
    for (int act = P3D_ACT_NONE; act <= P3D_ACT_LAST; act++) {
        p3d_tensor dy = to_dev(NULL, n, c, h, w);
        CHECK_OK(p3d_activation(g_cpu, &ta, &ty, (p3d_act)act, 0.2f));
        CHECK_OK(p3d_activation(g_gpu, &da, &dy, (p3d_act)act, 0.2f));
        from_dev(&dy, yg);
        const double tol = act == P3D_ACT_SIGMOID || act == P3D_ACT_TANH ? 2.5e-7 : 0.0;
        compare_close_f("activation", yg, yc, total, tol, tol);
    }
    for (int op = P3D_BINARY_ADD; op <= P3D_BINARY_ADD_CLAMP01; op++)
        for (int bc = 0; bc < 2; bc++) {
            p3d_tensor dy = to_dev(NULL, n, c, h, w);
            CHECK_OK(p3d_binary(g_cpu, (p3d_binary_op)op, &ta, bc ? &tm : &tb, &ty));
            CHECK_OK(p3d_binary(g_gpu, (p3d_binary_op)op, &da, bc ? &dm : &db, &dy));
            from_dev(&dy, yg);
            compare_close_f("binary op", yg, yc, total, 0, 0);
        }
    from_dev(&da, a);
    from_dev(&db, b);
    from_dev(&dm, m);
    free(a);
    free(b);
    free(m);
    free(yc);
    free(yg);
}

static void test_upsample_cuda(void) {
    NEED_GPU();
    const int64_t n = 2, c = 3, h = 7, w = 5, total = n * c * h * w;
    float *x = oracle_alloc(total), *yc = oracle_alloc(total * 9), *yg = oracle_alloc(total * 9);
    fill_real(x, total, -2, 2);
    p3d_tensor dx = to_dev(x, n, c, h, w);
    for (int mode = P3D_UPSAMPLE_NEAREST; mode <= P3D_UPSAMPLE_BILINEAR_ALIGNED; mode++)
        for (int64_t f = 2; f <= 3; f++) {
            p3d_tensor tx = host4(x, n, c, h, w), ty = host4(yc, n, c, h * f, w * f);
            p3d_tensor dy = to_dev(NULL, n, c, h * f, w * f);
            CHECK_OK(p3d_upsample(g_cpu, &tx, &ty, (p3d_upsample_mode)mode));
            CHECK_OK(p3d_upsample(g_gpu, &dx, &dy, (p3d_upsample_mode)mode));
            from_dev(&dy, yg);
            compare_close_f("upsample", yg, yc, total * f * f, 0, 0);
        }
    from_dev(&dx, x);
    free(x);
    free(yc);
    free(yg);
}

static void test_pad_concat_cuda(void) {
    NEED_GPU();
    const int64_t n = 2, c = 3, h = 13, w = 10, total = n * c * h * w;
    int64_t hp, wp, top, left;
    p3d_pad_to_multiple(h, w, 8, &hp, &wp, &top, &left);
    float *x = oracle_alloc(total), *yc = oracle_alloc(n * 2 * c * hp * wp), *yg = oracle_alloc(n * 2 * c * hp * wp);
    fill_real(x, total, -1, 1);
    p3d_tensor tx = host4(x, n, c, h, w), dx = to_dev(x, n, c, h, w);
    /* reflect (3, 2, 1, 4), zero pad centred, crop, concat [x, x]. */
    p3d_tensor ty = host4(yc, n, c, h + 5, w + 5), dy = to_dev(NULL, n, c, h + 5, w + 5);
    CHECK_OK(p3d_pad(g_cpu, &tx, &ty, P3D_PAD_REFLECT, 3, 1));
    CHECK_OK(p3d_pad(g_gpu, &dx, &dy, P3D_PAD_REFLECT, 3, 1));
    from_dev(&dy, yg);
    compare_close_f("reflect pad", yg, yc, n * c * (h + 5) * (w + 5), 0, 0);
    ty = host4(yc, n, c, hp, wp);
    dy = to_dev(NULL, n, c, hp, wp);
    CHECK_OK(p3d_pad(g_cpu, &tx, &ty, P3D_PAD_ZEROS, top, left));
    CHECK_OK(p3d_pad(g_gpu, &dx, &dy, P3D_PAD_ZEROS, top, left));
    p3d_tensor dc = to_dev(NULL, n, c, h - 4, w - 3), tc = host4(yg, n, c, h - 4, w - 3);
    CHECK_OK(p3d_crop(g_gpu, &dy, &dc, top + 2, left + 1));
    from_dev(&dy, yg + n * c * hp * wp);
    compare_close_f("zero pad", yg + n * c * hp * wp, yc, n * c * hp * wp, 0, 0);
    from_dev(&dc, yg);
    float *crop = oracle_alloc(n * c * (h - 4) * (w - 3));
    p3d_tensor tcc = host4(crop, n, c, h - 4, w - 3);
    CHECK_OK(p3d_crop(g_cpu, &tx, &tcc, 2, 1));
    compare_close_f("crop", (const float *)tc.data, crop, n * c * (h - 4) * (w - 3), 0, 0);
    const p3d_tensor *hp2[2] = {&tx, &tx}, *dp2[2] = {&dx, &dx};
    ty = host4(yc, n, 2 * c, h, w);
    dy = to_dev(NULL, n, 2 * c, h, w);
    CHECK_OK(p3d_concat(g_cpu, hp2, 2, &ty));
    CHECK_OK(p3d_concat(g_gpu, dp2, 2, &dy));
    from_dev(&dy, yg);
    compare_close_f("concat", yg, yc, 2 * total, 0, 0);
    from_dev(&dx, x);
    free(crop);
    free(x);
    free(yc);
    free(yg);
}

int main(void) {
    g_cpu = cpu_ctx();
    g_gpu = cuda_ctx_or_why(g_why, sizeof g_why);
    RUN(test_conv2d_cuda);
    RUN(test_pconv2d_cuda);
    RUN(test_instance_norm_cuda);
    RUN(test_eltwise_cuda);
    RUN(test_upsample_cuda);
    RUN(test_pad_concat_cuda);
    p3d_ctx_free(g_gpu);
    p3d_ctx_free(g_cpu);
    return p3d_test_finish();
}
