/* test_pconv2d.c - partial convolution (CPU) against a literal implementation of the reference's
 * PartialConv + PCBActiv (reference section 3.1): channel-replicated mask tensor, dense all-ones
 * mask convolution, the renormalisation formula, BatchNorm after it, the activation. Covers holes
 * larger than the window (S == 0), strides, the decoders' two-plane masks, N = 2 and errors.
 * The CPU-vs-CUDA comparison is in test_nn_cuda.c. */
#include "p3d_test.h"

#include "nn/batchnorm.h"
#include "nn_oracle.h"
#include "nn/pconv2d.h"

static p3d_ctx *g_ctx;

typedef struct pconv_case {
    const char *name;
    int32_t cout, k, stride, pad, dil;
    int32_t n_groups;
    int32_t chans[2]; /* channels of each mask plane; Cin = their sum */
    int32_t bias, bn;
    p3d_act act;
    int64_t n, h, w;
    int32_t real_data;
} pconv_case;

/* The reference, literally: M replicated from the planes, y = conv(x*M) + b, S = dense all-ones
 * conv of M, out = S == 0 ? 0 : (y - b) * winsize / S + b, BatchNorm, activation; new mask S > 0. */
static void oracle_pconv(const p3d_conv2d_params *p, const pconv_case *k, const float *x, float *const *planes,
                         const float *wt, const float *bias, const float *scale, const float *shift, int64_t ho,
                         int64_t wo, double *y, double *new_mask) {
    const int64_t cin = p->in_channels, hw = k->h * k->w, n = k->n;
    float *m = oracle_alloc(n * cin * hw), *xm = oracle_alloc(n * cin * hw);
    for (int64_t b = 0; b < n; b++)
        for (int64_t c = 0, g = 0, end = k->chans[0]; c < cin; c++) {
            if (c == end) end += k->chans[++g];
            for (int64_t i = 0; i < hw; i++) {
                const int64_t at = (b * cin + c) * hw + i;
                m[at] = planes[g][b * hw + i];
                xm[at] = x[at] * m[at];
            }
        }
    p3d_conv2d_params pc = *p;
    pc.act = P3D_ACT_NONE;
    oracle_conv2d(&pc, xm, wt, bias, n, k->h, k->w, ho, wo, y);
    p3d_conv2d_params pm = pc;
    pm.out_channels = 1;
    float *ones = oracle_alloc(cin * k->k * k->k);
    for (int64_t i = 0; i < cin * k->k * k->k; i++) ones[i] = 1.0f;
    double *s = (double *)calloc((size_t)(n * ho * wo), sizeof(double));
    oracle_conv2d(&pm, m, ones, NULL, n, k->h, k->w, ho, wo, s);
    const double winsize = (double)(cin * k->k * k->k);
    for (int64_t b = 0; b < n; b++)
        for (int64_t c = 0; c < p->out_channels; c++)
            for (int64_t i = 0; i < ho * wo; i++) {
                const double sv = s[b * ho * wo + i], bc = bias ? bias[c] : 0.0;
                double *v = &y[(b * p->out_channels + c) * ho * wo + i];
                double out = sv == 0.0 ? 0.0 : (*v - bc) * winsize / sv + bc;
                if (scale) out = scale[c] * out + shift[c];
                *v = oracle_act(p->act, p->act_slope, out);
                new_mask[b * ho * wo + i] = sv > 0.0 ? 1.0 : 0.0;
            }
    free(m);
    free(xm);
    free(ones);
    free(s);
}

/* A 0/1 plane per sample: ones, with a rectangular hole (different per sample and per plane) and a
 * few scattered holes. Sample 1 of plane 0 may be all holes. */
static void fill_mask(float *m, int64_t n, int64_t h, int64_t w, int plane_index, int all_hole_sample1) {
    for (int64_t b = 0; b < n; b++) {
        float *mb = m + b * h * w;
        for (int64_t i = 0; i < h * w; i++) mb[i] = oracle_rand() % 7 == 0 ? 0.0f : 1.0f;
        const int64_t y0 = (b + plane_index) % 3, x0 = (2 * b + 1 + plane_index) % 4;
        for (int64_t y = y0; y < y0 + h * 2 / 3 && y < h; y++)
            for (int64_t x = x0; x < x0 + w * 2 / 3 && x < w; x++) mb[y * w + x] = 0.0f;
        if (b == 1 && all_hole_sample1)
            for (int64_t i = 0; i < h * w; i++) mb[i] = 0.0f;
    }
}

static void run_case(const pconv_case *k) {
    const int32_t cin = k->chans[0] + (k->n_groups > 1 ? k->chans[1] : 0);
    p3d_conv2d_params p = p3d_conv2d_params_make(cin, k->cout, k->k, k->stride, k->pad);
    p.dilation_h = p.dilation_w = k->dil;
    p.act = k->act;
    int64_t ho = 0, wo = 0;
    CHECK_OK(p3d_conv2d_out_size(&p, k->h, k->w, &ho, &wo));
    const int64_t nx = k->n * cin * k->h * k->w, ny = k->n * k->cout * ho * wo, nm = k->n * ho * wo;
    const int64_t nw = p3d_conv2d_weight_count(&p);
    float *x = oracle_alloc(nx), *wt = oracle_alloc(nw), *b = oracle_alloc(k->cout), *y = oracle_alloc(ny);
    float *mo = oracle_alloc(nm), *planes[2] = {oracle_alloc(k->n * k->h * k->w), oracle_alloc(k->n * k->h * k->w)};
    float gamma[16], beta[16], mean[16], var[16], scale[16], shift[16];
    double *want = (double *)calloc((size_t)ny, sizeof(double)), *want_m = (double *)calloc((size_t)nm, sizeof(double));
    fill_layer(k->real_data, x, nx, wt, nw, b, k->cout);
    fill_real(gamma, 16, 0.5, 2);
    fill_real(beta, 16, -1, 1);
    fill_real(mean, 16, -1, 1);
    fill_real(var, 16, 0.1, 3);
    p3d_batchnorm_scale_shift(16, gamma, beta, mean, var, 1e-5f, scale, shift);
    for (int g = 0; g < k->n_groups; g++) fill_mask(planes[g], k->n, k->h, k->w, g, k->n > 1 && g == 0);
    const float *bias = k->bias ? b : NULL, *sc = k->bn ? scale : NULL, *sh = k->bn ? shift : NULL;
    oracle_pconv(&p, k, x, planes, wt, bias, sc, sh, ho, wo, want, want_m);
    int64_t zeros = 0;
    for (int64_t i = 0; i < nm; i++) zeros += want_m[i] == 0.0;
    CHECK_MSG(zeros > 0 && zeros < nm, "case '%s' must have holes (S == 0) and valid outputs", k->name);

    p3d_pconv2d *pc = NULL;
    CHECK_OK(p3d_pconv2d_init(&pc, g_ctx, &p, wt, bias, sc, sh));
    if (pc) {
        p3d_tensor tx = host4(x, k->n, cin, k->h, k->w), ty = host4(y, k->n, k->cout, ho, wo);
        p3d_tensor tm = host4(mo, k->n, 1, ho, wo);
        p3d_pmask mask = p3d_pmask_one(host4(planes[0], k->n, 1, k->h, k->w), k->chans[0]);
        if (k->n_groups > 1) {
            p3d_pmask second = p3d_pmask_one(host4(planes[1], k->n, 1, k->h, k->w), k->chans[1]);
            mask = p3d_pmask_concat(&mask, &second);
        }
        CHECK_OK(p3d_pconv2d_plan(pc, k->n, k->h, k->w));
        CHECK_OK(p3d_pconv2d_forward(pc, &tx, &mask, &ty, &tm));
        /* The division by S and the BatchNorm round in float: a few ulp of the pre-BN value. */
        if (compare_close(k->name, y, want, ny, k->real_data ? 1e-5 : 1e-6, 1e-5) +
            compare_close("new mask", mo, want_m, nm, 0.0, 0.0))
            fprintf(stderr, "  in case '%s'\n", k->name);
    }
    p3d_pconv2d_free(pc);
    free(x);
    free(wt);
    free(b);
    free(y);
    free(mo);
    free(planes[0]);
    free(planes[1]);
    free(want);
    free(want_m);
}

static const pconv_case k_cases[] = {
    {"3x3 s1 p1 bias relu N=2", 3, 3, 1, 1, 1, 1, {4, 0}, 1, 0, P3D_ACT_RELU, 2, 12, 11, 0},
    {"enc_1 7x7 s2 p3 bias relu", 8, 7, 2, 3, 1, 1, {4, 0}, 1, 0, P3D_ACT_RELU, 1, 23, 20, 0},
    {"enc_2 5x5 s2 p2 bn relu N=2", 6, 5, 2, 2, 1, 1, {5, 0}, 0, 1, P3D_ACT_RELU, 2, 17, 18, 0},
    {"enc_4 3x3 s2 p1 bn relu", 5, 3, 2, 1, 1, 1, {6, 0}, 0, 1, P3D_ACT_RELU, 1, 15, 13, 0},
    {"decoder two planes bn leaky N=2", 4, 3, 1, 1, 1, 2, {3, 2}, 0, 1, P3D_ACT_LEAKY_RELU, 2, 10, 13, 0},
    {"dec_1 two planes bias, no bn", 1, 3, 1, 1, 1, 2, {5, 4}, 1, 0, P3D_ACT_NONE, 1, 12, 12, 0},
    {"dilation 2", 3, 3, 1, 2, 2, 1, {3, 0}, 1, 1, P3D_ACT_NONE, 1, 14, 12, 0},
    {"dec_1A sigmoid real data", 3, 3, 1, 1, 1, 2, {4, 6}, 1, 0, P3D_ACT_SIGMOID, 2, 9, 11, 1},
    {"bn real data leaky", 4, 5, 2, 2, 1, 1, {7, 0}, 1, 1, P3D_ACT_LEAKY_RELU, 1, 16, 15, 1},
};

static void test_pconv_cases(void) {
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) run_case(&k_cases[i]);
}

/* A hole larger than the window gives out = act(shift) (BatchNorm of the 0) and mask 0 there. */
static void test_hole_gives_bn_shift(void) {
    const int64_t h = 9, w = 9;
    float x[9 * 9], m[9 * 9], y[2 * 81], mo[81], wt[2 * 9] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2};
    const float scale[2] = {2.0f, 3.0f}, shift[2] = {-0.5f, 0.25f}, bias[2] = {1.0f, -1.0f};
    for (int64_t i = 0; i < h * w; i++) {
        x[i] = 5.0f;
        m[i] = (i / w >= 2 && i / w <= 6 && i % w >= 2 && i % w <= 6) ? 0.0f : 1.0f; /* 5x5 hole */
    }
    p3d_conv2d_params p = p3d_conv2d_params_make(1, 2, 3, 1, 1);
    p.act = P3D_ACT_LEAKY_RELU;
    p3d_pconv2d *pc = NULL;
    CHECK_OK(p3d_pconv2d_init(&pc, g_ctx, &p, wt, bias, scale, shift));
    if (!pc) return;
    p3d_tensor tx = host4(x, 1, 1, h, w), ty = host4(y, 1, 2, h, w), tm = host4(mo, 1, 1, h, w);
    p3d_pmask mask = p3d_pmask_one(host4(m, 1, 1, h, w), 1);
    CHECK_OK(p3d_pconv2d_plan(pc, 1, h, w));
    CHECK_OK(p3d_pconv2d_forward(pc, &tx, &mask, &ty, &tm));
    /* Centre: window entirely in the hole. */
    CHECK(mo[4 * w + 4] == 0.0f);
    CHECK(y[4 * w + 4] == -0.5f * 0.2f);
    CHECK(y[h * w + 4 * w + 4] == 0.25f);
    /* Corner (0,0): 4 valid samples of 9 (zero padding), y = 5*4*w, renormalised by 9/4. */
    CHECK(mo[0] == 1.0f);
    CHECK_NEAR(y[0], 2.0f * (20.0f * 9.0f / 4.0f + 1.0f) - 0.5f, 1e-5);
    CHECK_NEAR(y[h * w], 3.0f * (40.0f * 9.0f / 4.0f - 1.0f) + 0.25f, 1e-5);
    /* (1,1): the window holds one hole sample (2,2) and 8 valid ones. */
    CHECK_NEAR(y[w + 1], 2.0f * (40.0f * 9.0f / 8.0f + 1.0f) - 0.5f, 1e-5);
    p3d_pconv2d_free(pc);
}

static void test_errors(void) {
    float x[2 * 4 * 25] = {0}, m[2 * 25] = {0}, y[2 * 3 * 25], mo[2 * 25], wt[3 * 4 * 9] = {0};
    p3d_conv2d_params p = p3d_conv2d_params_make(4, 3, 3, 1, 1);
    p3d_pconv2d *pc = NULL;
    p.pad_mode = P3D_PAD_REFLECT;
    CHECK_FAILS(p3d_pconv2d_init(&pc, g_ctx, &p, wt, NULL, NULL, NULL), P3D_ERR_INVALID_ARG, "zero padding");
    p.pad_mode = P3D_PAD_ZEROS;
    CHECK_FAILS(p3d_pconv2d_init(&pc, g_ctx, &p, wt, NULL, wt, NULL), P3D_ERR_INVALID_ARG, "scale and shift");
    CHECK_OK(p3d_pconv2d_init(&pc, g_ctx, &p, wt, NULL, NULL, NULL));
    if (!pc) return;
    p3d_tensor tx = host4(x, 1, 4, 5, 5), ty = host4(y, 1, 3, 5, 5), tm = host4(mo, 1, 1, 5, 5);
    p3d_pmask mask = p3d_pmask_one(host4(m, 1, 1, 5, 5), 4);
    CHECK_FAILS(p3d_pconv2d_forward(pc, &tx, &mask, &ty, &tm), P3D_ERR_INVALID_ARG, "was not planned");
    CHECK_OK(p3d_pconv2d_plan(pc, 1, 5, 5));
    CHECK_OK(p3d_pconv2d_forward(pc, &tx, &mask, &ty, &tm));
    mask.channels[0] = 3;
    CHECK_FAILS(p3d_pconv2d_forward(pc, &tx, &mask, &ty, &tm), P3D_ERR_INVALID_ARG, "stand for 3 channels");
    mask = p3d_pmask_one(host4(m, 1, 1, 5, 4), 4);
    CHECK_FAILS(p3d_pconv2d_forward(pc, &tx, &mask, &ty, &tm), P3D_ERR_INVALID_ARG, "mask plane");
    mask = p3d_pmask_one(host4(m, 1, 1, 5, 5), 4);
    p3d_tensor tm_alias = host4(m, 1, 1, 5, 5);
    CHECK_FAILS(p3d_pconv2d_forward(pc, &tx, &mask, &ty, &tm_alias), P3D_ERR_INVALID_ARG, "overlaps");
    p3d_tensor tm_bad = host4(mo, 1, 2, 5, 5);
    CHECK_FAILS(p3d_pconv2d_forward(pc, &tx, &mask, &ty, &tm_bad), P3D_ERR_INVALID_ARG, "new mask");
    CHECK(p3d_pmask_channels(&mask) == 4);
    CHECK(p3d_pconv2d_macs(&p, 2, 5, 5) == 2LL * 3 * 25 * 36);
    p3d_pconv2d_free(pc);
}

int main(void) {
    g_ctx = cpu_ctx();
    RUN(test_pconv_cases);
    RUN(test_hole_gives_bn_shift);
    RUN(test_errors);
    p3d_ctx_free(g_ctx);
    return p3d_test_finish();
}
