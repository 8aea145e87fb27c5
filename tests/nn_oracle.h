/* nn_oracle.h - test-only direct-loop oracles for the NN ops, written from the PyTorch definitions
 * (not from host/), in double precision, plus fills and comparisons. Include after p3d_test.h.
 *
 * Inputs are small integers wherever the op allows, so sums of products are exact in float and the
 * op under test must match the oracle exactly (tolerance 0); real-valued cases state a tolerance. */
#ifndef P3D_NN_ORACLE_H
#define P3D_NN_ORACLE_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "nn/conv2d.h"
#include "test_ctx.h"

/* ---- data ------------------------------------------------------------------------------------- */

static uint64_t g_oracle_rng = 0x9e3779b97f4a7c15ull;

static inline uint32_t oracle_rand(void) {
    g_oracle_rng ^= g_oracle_rng << 13;
    g_oracle_rng ^= g_oracle_rng >> 7;
    g_oracle_rng ^= g_oracle_rng << 17;
    return (uint32_t)(g_oracle_rng >> 32);
}

/* Integers in [lo, hi]. */
static inline void fill_int(float *v, int64_t n, int lo, int hi) {
    for (int64_t i = 0; i < n; i++) v[i] = (float)(lo + (int)(oracle_rand() % (uint32_t)(hi - lo + 1)));
}

/* Reals in [lo, hi). */
static inline void fill_real(float *v, int64_t n, double lo, double hi) {
    for (int64_t i = 0; i < n; i++) v[i] = (float)(lo + (hi - lo) * (oracle_rand() / 4294967296.0));
}

/* A layer's input, weights and bias: integers (x in [-3,3], w in [-2,2], b in [-4,4]), for which the
 * ops must be exact, or reals in [-1,1). */
static inline void fill_layer(int real, float *x, int64_t nx, float *w, int64_t nw, float *b, int64_t nb) {
    if (real) {
        fill_real(x, nx, -1, 1);
        fill_real(w, nw, -1, 1);
        fill_real(b, nb, -1, 1);
    } else {
        fill_int(x, nx, -3, 3);
        fill_int(w, nw, -2, 2);
        fill_int(b, nb, -4, 4);
    }
}

static inline float *oracle_alloc(int64_t n) {
    float *p = (float *)calloc((size_t)(n > 0 ? n : 1), sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static inline p3d_tensor host4(float *data, int64_t n, int64_t c, int64_t h, int64_t w) {
    const int64_t shape[4] = {n, c, h, w};
    return p3d_tensor_view(data, P3D_F32, P3D_MEM_HOST, 4, shape);
}


/* ---- conv cases --------------------------------------------------------------------------------- */

/* One conv2d configuration and input shape (h/w pairs: kernel, stride, pad, dilation). */
typedef struct conv_case {
    const char *name;
    int32_t cin, cout, kh, kw, sh, sw, ph, pw, dh, dw, groups;
    p3d_pad_mode pad;
    int32_t transposed;
    p3d_act act;
    int32_t bias;
    int64_t n, h, w;
} conv_case;

static inline p3d_conv2d_params conv_case_params(const conv_case *k) {
    p3d_conv2d_params p = p3d_conv2d_params_make(k->cin, k->cout, k->kh, k->sh, k->ph);
    p.kernel_w = k->kw;
    p.stride_w = k->sw;
    p.pad_w = k->pw;
    p.dilation_h = k->dh;
    p.dilation_w = k->dw;
    p.groups = k->groups;
    p.pad_mode = k->pad;
    p.transposed = k->transposed;
    p.act = k->act;
    return p;
}

/* ---- comparison ------------------------------------------------------------------------------- */

/* Fails the current case when |got - want| > atol + rtol * |want| anywhere, want rounded to float
 * first (so rtol = atol = 0 asks for the correctly rounded result; NaN matches only NaN); prints
 * the first few mismatches. Returns the number of mismatches. */
static inline int64_t compare_close(const char *what, const float *got, const double *want, int64_t n, double rtol,
                                    double atol) {
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        const double g = got[i], e = (double)(float)want[i];
        const int ok = (isnan(g) && isnan(e)) || fabs(g - e) <= atol + rtol * fabs(e);
        if (ok) continue;
        if (bad < 5) fprintf(stderr, "  %s[%lld] = %.9g, expected %.9g\n", what, (long long)i, g, e);
        bad++;
    }
    if (bad) {
        fprintf(stderr, "  FAIL %s: %lld of %lld values differ (rtol %g, atol %g)\n", what, (long long)bad,
                (long long)n, rtol, atol);
        p3d_t_case_failed = 1;
    }
    return bad;
}

/* compare_close against a float reference. */
static inline int64_t compare_close_f(const char *what, const float *got, const float *want, int64_t n, double rtol,
                                      double atol) {
    double *w = (double *)malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    if (!w) exit(2);
    for (int64_t i = 0; i < n; i++) w[i] = want[i];
    int64_t bad = compare_close(what, got, w, n, rtol, atol);
    free(w);
    return bad;
}

/* Prints "what: max|diff| / max|ref| = r" and fails the current case when r > limit; returns r. */
static inline double compare_rel(const char *what, const float *got, const float *ref, int64_t count, double limit) {
    double dmax = 0, rmax = 0;
    for (int64_t i = 0; i < count; i++) {
        const double d = fabs((double)got[i] - (double)ref[i]);
        dmax = d > dmax || d != d ? d : dmax;
        rmax = fabs((double)ref[i]) > rmax ? fabs((double)ref[i]) : rmax;
    }
    const double r = dmax / rmax;
    printf("  %-36s max|diff| %.3g / max|ref| %.6g = %.3g (limit %g)\n", what, dmax, rmax, r, limit);
    CHECK_MSG(r <= limit, "%s: relative difference %g", what, r);
    return r;
}

/* ---- oracles ---------------------------------------------------------------------------------- */

static inline double oracle_act(p3d_act act, double slope, double v) {
    switch (act) {
    case P3D_ACT_NONE: return v;
    case P3D_ACT_RELU: return v > 0 || isnan(v) ? v : 0; /* torch.relu keeps NaN */
    case P3D_ACT_LEAKY_RELU: return v >= 0 ? v : (double)(float)slope * v;
    case P3D_ACT_SIGMOID: return 1.0 / (1.0 + exp(-v));
    case P3D_ACT_TANH: return tanh(v);
    case P3D_ACT_RELU6: return isnan(v) ? v : v < 0 ? 0 : v > 6 ? 6 : v; /* torch.nn.ReLU6 = hardtanh(0, 6) */
    }
    return v;
}

static inline int64_t oracle_reflect(int64_t i, int64_t n) {
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

/* torch.nn.Conv2d (with ReflectionPad2d in front for REFLECT) then the activation:
 *   y[b][co][oy][ox] = act(bias[co] + sum_{ci in group, ky, kx} x[b][ci][iy][ix] * w[co][ci - g*cg][ky][kx])
 * x (n, Cin, h, w), w [Cout, Cin/groups, kh, kw], y (n, Cout, ho, wo) in double. */
static inline void oracle_conv2d(const p3d_conv2d_params *p, const float *x, const float *wt, const float *bias,
                                 int64_t n, int64_t h, int64_t w, int64_t ho, int64_t wo, double *y) {
    const int64_t cg = p->in_channels / p->groups, og = p->out_channels / p->groups;
    for (int64_t b = 0; b < n; b++)
        for (int64_t co = 0; co < p->out_channels; co++)
            for (int64_t oy = 0; oy < ho; oy++)
                for (int64_t ox = 0; ox < wo; ox++) {
                    double acc = bias ? bias[co] : 0.0;
                    const int64_t g = co / og;
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t ky = 0; ky < p->kernel_h; ky++)
                            for (int64_t kx = 0; kx < p->kernel_w; kx++) {
                                int64_t iy = oy * p->stride_h - p->pad_h + ky * p->dilation_h;
                                int64_t ix = ox * p->stride_w - p->pad_w + kx * p->dilation_w;
                                if (p->pad_mode == P3D_PAD_REFLECT) {
                                    iy = oracle_reflect(iy, h);
                                    ix = oracle_reflect(ix, w);
                                } else if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
                                    continue;
                                }
                                const int64_t ci = g * cg + c;
                                acc += (double)x[((b * p->in_channels + ci) * h + iy) * w + ix] *
                                       wt[((co * cg + c) * p->kernel_h + ky) * p->kernel_w + kx];
                            }
                    y[((b * p->out_channels + co) * ho + oy) * wo + ox] = oracle_act(p->act, p->act_slope, acc);
                }
}

/* torch.nn.ConvTranspose2d (output_padding 0) then the activation: every input sample scatters
 *   y[b][co][iy*s - p + ky*d][ix*s - p + kx*d] += x[b][ci][iy][ix] * w[ci][co][ky][kx]
 * w [Cin, Cout, kh, kw]. */
static inline void oracle_conv_transpose2d(const p3d_conv2d_params *p, const float *x, const float *wt,
                                           const float *bias, int64_t n, int64_t h, int64_t w, int64_t ho, int64_t wo,
                                           double *y) {
    const int64_t cin = p->in_channels, cout = p->out_channels;
    for (int64_t b = 0; b < n; b++) {
        double *yb = y + b * cout * ho * wo;
        for (int64_t co = 0; co < cout; co++)
            for (int64_t i = 0; i < ho * wo; i++) yb[co * ho * wo + i] = bias ? bias[co] : 0.0;
        for (int64_t ci = 0; ci < cin; ci++)
            for (int64_t iy = 0; iy < h; iy++)
                for (int64_t ix = 0; ix < w; ix++)
                    for (int64_t co = 0; co < cout; co++)
                        for (int64_t ky = 0; ky < p->kernel_h; ky++)
                            for (int64_t kx = 0; kx < p->kernel_w; kx++) {
                                const int64_t oy = iy * p->stride_h - p->pad_h + ky * p->dilation_h;
                                const int64_t ox = ix * p->stride_w - p->pad_w + kx * p->dilation_w;
                                if (oy < 0 || oy >= ho || ox < 0 || ox >= wo) continue;
                                yb[(co * ho + oy) * wo + ox] += (double)x[((b * cin + ci) * h + iy) * w + ix] *
                                                                wt[((ci * cout + co) * p->kernel_h + ky) * p->kernel_w + kx];
                            }
        for (int64_t i = 0; i < cout * ho * wo; i++) yb[i] = oracle_act(p->act, p->act_slope, yb[i]);
    }
}

#endif
