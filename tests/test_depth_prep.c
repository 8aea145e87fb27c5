/* test_depth_prep.c - the depth preparation stage (depth_prep.h): goldens from a numpy transcription of
 * the reference (tools/gen_depth_prep_golden.py -> tests/data/depth_prep), the median rank table, hole
 * filling, constant and all-invalid maps, argument checks, the moon fixture at 960x960, and CPU vs CUDA
 * when a GPU is present. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p3d_test.h"

#include "depth/depth_prep.h"
#include "nn_oracle.h"
#include "io/npy.h"

#define DATA_DIR "tests/data/depth_prep"

static p3d_ctx *g_cpu, *g_gpu;
static char g_why[600];

/* A fully valid map of the given kind from (h, w) values; the caller frees it. */
static p3d_depth make_map(const float *v, int32_t w, int32_t h, p3d_depth_kind kind) {
    p3d_depth d;
    if (p3d_depth_alloc(w, h, kind, &d) != P3D_OK) {
        fprintf(stderr, "cannot allocate a %dx%d map: %s\n", (int)w, (int)h, p3d_last_error());
        exit(2);
    }
    for (int64_t i = 0; i < (int64_t)w * h; i++) {
        d.value[i] = v[i];
        d.mask[i] = 1;
    }
    d.n_valid = (int64_t)w * h;
    return d;
}

static void set_invalid(p3d_depth *d, int32_t x, int32_t y) {
    const int64_t i = (int64_t)y * d->width + x;
    if (d->mask[i]) d->n_valid--;
    d->mask[i] = 0;
    d->value[i] = 0.0f;
}

/* Largest |a - b| / |b| over n values; prints the worst index when above tol. */
static double max_rel(const char *what, const float *a, const float *b, int64_t n, double tol) {
    double worst = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        const double r = fabs((double)a[i] - (double)b[i]) / fabs((double)b[i]);
        if (!(r <= worst)) worst = r, at = i;
    }
    if (!(worst <= tol))
        fprintf(stderr, "  %s: relative error %.3g at %lld (%.9g vs golden %.9g)\n", what, worst, (long long)at,
                (double)a[at], (double)b[at]);
    return worst;
}

/* ---- median rank --------------------------------------------------------------------------------- */

/* np.digitize(0.5, np.cumsum(float32 1/n weights)) + 1 for n = 1..81, from numpy: n / 2 + 1 except for
 * these n, where float32 rounding gives n / 2. */
static void test_median_rank(void) {
    static const int32_t lower[] = {20, 22, 28, 36, 40, 44, 48, 50, 52, 58, 60, 68, 72, 76};
    for (int32_t n = 1; n <= P3D_DP_MAX_TAPS; n++) {
        int32_t want = n / 2 + 1;
        for (size_t k = 0; k < sizeof lower / sizeof lower[0]; k++)
            if (lower[k] == n) want = n / 2;
        CHECK_MSG(p3d_dp_median_rank(n) == want, "n %d: rank %d, numpy %d", (int)n, (int)p3d_dp_median_rank(n),
                  (int)want);
    }
}

/* ---- goldens ------------------------------------------------------------------------------------- */

typedef struct golden_case {
    char name[64], kind[16], windows[64];
    int32_t H, W, h, w, num_iter;
} golden_case;

static float *read_npy(const char *name, const char *suffix, int64_t want_h, int64_t want_w) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s_%s.npy", DATA_DIR, name, suffix);
    p3d_tensor t;
    if (p3d_npy_read(path, &t, NULL) != P3D_OK) {
        fprintf(stderr, "  %s\n", p3d_last_error());
        return NULL;
    }
    if (t.ndim != 2 || t.shape[0] != want_h || t.shape[1] != want_w) {
        fprintf(stderr, "  %s: unexpected shape\n", path);
        p3d_npy_free(&t);
        return NULL;
    }
    return (float *)t.data;
}

/* The reference's config for a case: num_iter passes of which the last is discarded. */
static p3d_depth_prep_opts case_opts(const golden_case *k) {
    p3d_depth_prep_opts o = p3d_depth_prep_opts_default();
    o.blur = 1, o.snap = 0;
    o.n_passes = k->num_iter - 1;
    const char *s = k->windows;
    for (int32_t p = 0; p < o.n_passes; p++) {
        o.windows[p] = (int32_t)strtol(s, (char **)&s, 10);
        if (*s == ',') s++;
    }
    return o;
}

static void run_golden(const golden_case *k) {
    float *in = read_npy(k->name, "input", k->H, k->W), *pre = read_npy(k->name, "prefilter", k->h, k->w);
    float *fin = read_npy(k->name, "depth", k->h, k->w);
    CHECK_MSG(in && pre && fin, "case %s: golden files missing or malformed", k->name);
    if (in && pre && fin) {
        const int64_t n = (int64_t)k->h * k->w;
        float *got0 = (float *)calloc((size_t)n, sizeof(float)), *got = (float *)calloc((size_t)n, sizeof(float));
        p3d_depth map = make_map(in, k->W, k->H, strcmp(k->kind, "metric") == 0 ? P3D_DEPTH_METRIC : P3D_DEPTH_DISPARITY);
        p3d_depth_prep_opts o = case_opts(k), o0 = o;
        o0.n_passes = 0;
        float c0 = -1, c = -2;
        CHECK_OK(p3d_depth_prepare(g_cpu, &map, k->w, k->h, &o0, got0, &c0));
        CHECK_OK(p3d_depth_prepare(g_cpu, &map, k->w, k->h, &o, got, &c));
        CHECK_MSG(max_rel(k->name, got0, pre, n, 1e-6) <= 1e-6, "case %s: unfiltered depth", k->name);
        CHECK_MSG(max_rel(k->name, got, fin, n, 1e-6) <= 1e-6, "case %s: filtered depth", k->name);
        const int64_t centre = (int64_t)(k->h / 2) * k->w + k->w / 2;
        CHECK(c0 == got0[centre] && c == got0[centre]);
        int64_t changed = 0, changed_golden = 0;
        for (int64_t i = 0; i < n; i++) {
            changed += got[i] != got0[i];
            changed_golden += fin[i] != pre[i];
        }
        printf("  %s: %dx%d -> %dx%d, %d passes, filter changed %lld pixels (golden %lld)\n", k->name, (int)k->W,
               (int)k->H, (int)k->w, (int)k->h, (int)o.n_passes, (long long)changed, (long long)changed_golden);
        CHECK(changed > 0 && changed < n);
        /* The filter alone from the unfiltered map gives the same floats. */
        float *again = (float *)calloc((size_t)n, sizeof(float));
        CHECK_OK(p3d_depth_sharpen(g_cpu, got0, again, k->w, k->h, &o));
        CHECK(memcmp(again, got, sizeof(float) * (size_t)n) == 0);
        free(again);
        p3d_depth_free(&map);
        free(got0);
        free(got);
    }
    free(in);
    free(pre);
    free(fin);
}

static void test_goldens(void) {
    FILE *f = fopen(DATA_DIR "/cases.txt", "r");
    CHECK_MSG(f != NULL, "%s/cases.txt missing (run tools/gen_depth_prep_golden.py)", DATA_DIR);
    if (!f) return;
    char line[256];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        golden_case k;
        memset(&k, 0, sizeof k);
        if (sscanf(line, "%63s %15s %d %d %d %d %d %63s", k.name, k.kind, &k.H, &k.W, &k.h, &k.w, &k.num_iter,
                   k.windows) != 8)
            continue;
        run_golden(&k);
        cases++;
    }
    fclose(f);
    CHECK(cases == 4);
}

/* ---- hole filling -------------------------------------------------------------------------------- */

/* Left half far (disparity 1), right half near (disparity 2): a wide hole across the boundary takes the
 * far value throughout, a hole inside the near half the near value, a run at the border its one
 * neighbour, and a row without a valid pixel is filled along the columns (from the row above). */
static void test_fill_background(void) {
    enum { W = 12, H = 8 };
    float v[W * H], disp[W * H];
    for (int32_t y = 0; y < H; y++)
        for (int32_t x = 0; x < W; x++) v[y * W + x] = x < W / 2 ? 1.0f : 2.0f;
    p3d_depth d = make_map(v, W, H, P3D_DEPTH_DISPARITY);
    for (int32_t y = 2; y < 6; y++)
        for (int32_t x = 4; x < 8; x++) set_invalid(&d, x, y); /* straddles x = 6 */
    set_invalid(&d, 10, 1);                                    /* inside the near half */
    set_invalid(&d, 10, 6);
    set_invalid(&d, 11, 6); /* at the right border */
    for (int32_t x = 0; x < W; x++) set_invalid(&d, x, 7);
    CHECK_OK(p3d_depth_fill_disparity(&d, disp));
    CHECK(disp[6 * W + 10] == 2.0f && disp[6 * W + 11] == 2.0f);
    for (int32_t x = 0; x < W; x++) CHECK(disp[7 * W + x] == disp[6 * W + x]);
    for (int32_t y = 2; y < 6; y++)
        for (int32_t x = 4; x < 8; x++) CHECK_MSG(disp[y * W + x] == 1.0f, "(%d, %d) = %g", (int)x, (int)y, disp[y * W + x]);
    CHECK(disp[1 * W + 10] == 2.0f);
    for (int32_t i = 0; i < W * H; i++)
        if (d.mask[i]) CHECK(disp[i] == v[i]);
    p3d_depth_free(&d);
}

/* Metric depth: the hole takes the FARTHEST bordering depth (minimum disparity 1 / 4). */
static void test_fill_metric(void) {
    enum { W = 6, H = 5 };
    float v[W * H], disp[W * H];
    for (int32_t i = 0; i < W * H; i++) v[i] = i % W < 3 ? 1.0f : 4.0f;
    p3d_depth d = make_map(v, W, H, P3D_DEPTH_METRIC);
    set_invalid(&d, 2, 2);
    set_invalid(&d, 3, 2);
    d.value[0] = -1.0f; /* a negative metric depth counts as invalid even with the mask set */
    CHECK_OK(p3d_depth_fill_disparity(&d, disp));
    CHECK(disp[2 * W + 2] == 0.25f && disp[2 * W + 3] == 0.25f);
    CHECK(disp[0] == 1.0f);
    CHECK(disp[W + 4] == 0.25f);
    p3d_depth_free(&d);
}

/* One valid pixel fills a whole map (its row, then the columns); the prepared depth with holes equals
 * the prepared depth of the filled map. */
static void test_fill_prepare(void) {
    enum { W = 40, H = 30, w = 60, h = 45 };
    float *in = read_npy("up", "input", H, W);
    CHECK(in != NULL);
    if (!in) return;
    p3d_depth holes = make_map(in, W, H, P3D_DEPTH_DISPARITY);
    for (int32_t y = 5; y < 20; y++)
        for (int32_t x = 3; x < 9; x++) set_invalid(&holes, x, y);
    for (int32_t x = 0; x < W; x++) set_invalid(&holes, x, H - 1);
    float disp[W * H];
    CHECK_OK(p3d_depth_fill_disparity(&holes, disp));
    p3d_depth filled = make_map(disp, W, H, P3D_DEPTH_DISPARITY);
    float *a = (float *)calloc(w * h, sizeof(float)), *b = (float *)calloc(w * h, sizeof(float));
    p3d_depth_prep_opts o = p3d_depth_prep_opts_default();
    CHECK_OK(p3d_depth_prepare(g_cpu, &holes, w, h, &o, a, NULL));
    CHECK_OK(p3d_depth_prepare(g_cpu, &filled, w, h, &o, b, NULL));
    CHECK(memcmp(a, b, sizeof(float) * w * h) == 0);
    for (int32_t i = 0; i < w * h; i++) CHECK(isfinite(a[i]) && a[i] >= 1.0f / 3.0f && a[i] <= 20.0f);

    p3d_depth one = make_map(in, W, H, P3D_DEPTH_DISPARITY);
    for (int32_t i = 0; i < W * H; i++)
        if (i != 7 * W + 11) set_invalid(&one, i % W, i / W);
    CHECK(one.n_valid == 1);
    CHECK_OK(p3d_depth_fill_disparity(&one, disp));
    int all = 1;
    for (int32_t i = 0; i < W * H; i++) all &= disp[i] == in[7 * W + 11];
    CHECK(all);
    free(a);
    free(b);
    free(in);
    p3d_depth_free(&holes);
    p3d_depth_free(&filled);
    p3d_depth_free(&one);
}

/* ---- constant and invalid maps, arguments ------------------------------------------------------- */

static void test_constant_map(void) {
    enum { W = 8, H = 6, w = 16, h = 12 };
    float v[W * H], out[w * h], c = 0;
    for (int32_t i = 0; i < W * H; i++) v[i] = 0.7f;
    p3d_depth d = make_map(v, W, H, P3D_DEPTH_DISPARITY);
    set_invalid(&d, 3, 3);
    p3d_depth_prep_opts o = p3d_depth_prep_opts_default();
    CHECK_OK(p3d_depth_prepare(g_cpu, &d, w, h, &o, out, &c));
    int all = 1;
    for (int32_t i = 0; i < w * h; i++) all &= out[i] == (float)(1.0 / 3.0);
    CHECK(all);
    CHECK(c == (float)(1.0 / 3.0));
    p3d_depth_free(&d);
}

static void test_errors(void) {
    enum { W = 8, H = 6 };
    float v[W * H], out[W * H * 4], c = 0;
    for (int32_t i = 0; i < W * H; i++) v[i] = (float)i;
    p3d_depth d = make_map(v, W, H, P3D_DEPTH_DISPARITY);
    p3d_depth_prep_opts o = p3d_depth_prep_opts_default();
    for (int32_t i = 0; i < W * H; i++) set_invalid(&d, i % W, i / W);
    CHECK_FAILS(p3d_depth_prepare(g_cpu, &d, W, H, &o, out, &c), P3D_ERR_INVALID_ARG, "no valid pixel");
    CHECK_FAILS(p3d_depth_fill_disparity(&d, out), P3D_ERR_INVALID_ARG, "no valid pixel");
    p3d_depth_free(&d);
    d = make_map(v, W, H, P3D_DEPTH_DISPARITY);
    CHECK_FAILS(p3d_depth_prepare(g_cpu, &d, 2, 2, &o, out, &c), P3D_ERR_INVALID_ARG, "at least 3x3");
    CHECK_FAILS(p3d_depth_prepare(g_cpu, &d, 16, 16, &o, out, &c), P3D_ERR_INVALID_ARG, "aspect");
    o.windows[1] = 4;
    CHECK_FAILS(p3d_depth_prepare(g_cpu, &d, W, H, &o, out, &c), P3D_ERR_INVALID_ARG, "window 4 of pass 2");
    o = p3d_depth_prep_opts_default();
    o.windows[0] = 11;
    CHECK_FAILS(p3d_depth_prepare(g_cpu, &d, W, H, &o, out, &c), P3D_ERR_INVALID_ARG, "window 11");
    o = p3d_depth_prep_opts_default();
    o.n_passes = P3D_DEPTH_PREP_MAX_PASSES + 1;
    CHECK_FAILS(p3d_depth_prepare(g_cpu, &d, W, H, &o, out, &c), P3D_ERR_INVALID_ARG, "filter passes");
    o = p3d_depth_prep_opts_default();
    o.min_disp = 0;
    CHECK_FAILS(p3d_depth_prepare(g_cpu, &d, W, H, &o, out, &c), P3D_ERR_INVALID_ARG, "min_disp");
    o = p3d_depth_prep_opts_default();
    o.snap = 2;
    CHECK_FAILS(p3d_depth_prepare(g_cpu, &d, W, H, &o, out, &c), P3D_ERR_INVALID_ARG, "snap 2");
    o = p3d_depth_prep_opts_default();
    CHECK_FAILS(p3d_depth_sharpen(g_cpu, v, v + 1, W, H, &o), P3D_ERR_INVALID_ARG, "overlap");
    p3d_depth_free(&d);
}

/* A stick 3 pixels wide and 12 tall (disparity 2) standing on a background (disparity 1), 32 x 24:
 * with snap (the default) the four passes keep every pixel of it, tip included; the reference's median
 * (snap 0) eats its top rows, the majority of every window there being background. */
static void test_thin_structure(void) {
    enum { W = 32, H = 24 };
    float disp[W * H], out[W * H];
    for (int32_t y = 0; y < H; y++)
        for (int32_t x = 0; x < W; x++) disp[y * W + x] = x >= 14 && x < 17 && y >= 8 && y < 20 ? 2.0f : 1.0f;
    float depth[W * H];
    for (int32_t i = 0; i < W * H; i++) depth[i] = 1.0f / disp[i];
    for (int32_t snap = 1; snap >= 0; snap--) {
        p3d_depth_prep_opts o = p3d_depth_prep_opts_default();
        o.snap = snap;
        CHECK_OK(p3d_depth_sharpen(g_cpu, depth, out, W, H, &o));
        int32_t stick = 0, wrong = 0;
        for (int32_t i = 0; i < W * H; i++) {
            stick += out[i] == depth[i] && disp[i] == 2.0f;
            wrong += out[i] != depth[i];
        }
        printf("  snap %d: %d of 36 stick pixels kept, %d pixels changed\n", (int)snap, (int)stick, (int)wrong);
        if (snap) CHECK_MSG(stick == 36 && wrong == 0, "snap: %d stick pixels kept, %d changed", (int)stick, (int)wrong);
        else CHECK_MSG(stick < 36, "the median kept the whole stick: the test does not show the erosion");
    }
}

/* Pixels whose disparity lies between their two row neighbours', more than the threshold from each:
 * one-pixel columns of in-between depth that no surface beside them on the row holds. */
static int64_t count_between(const float *depth, int32_t w, int32_t h, double thr) {
    int64_t n = 0;
    for (int32_t y = 1; y + 1 < h; y++)
        for (int32_t x = 1; x + 1 < w; x++) {
            const int64_t i = (int64_t)y * w + x;
            const double c = 1.0 / depth[i], a = 1.0 / depth[i - 1], b = 1.0 / depth[i + 1];
            const double lo = a < b ? a : b, hi = a < b ? b : a;
            n += c - lo > thr && hi - c > thr;
        }
    return n;
}

/* A one-pixel column of in-between disparity between a background (1) and a foreground (2), 32 x 16, one
 * filter pass of window 1 (every window holds only its centre, a discontinuity: the pass keeps it, as the
 * passes keep the middle of a ramp wider than their clean reach): without snap, the reference's passes,
 * the column stays; with snap the in-between step joins it to the side nearer in disparity: 1.2 -> 1,
 * 1.7 -> 2, and 1.5 (equally far) -> 2, the nearer surface. */
static void test_between(void) {
    enum { W = 32, H = 16 };
    float depth[W * H], out[W * H];
    const float mids[3] = {1.2f, 1.7f, 1.5f}, want[3] = {1.0f, 0.5f, 0.5f};
    for (int32_t k = 0; k < 3; k++) {
        for (int32_t y = 0; y < H; y++)
            for (int32_t x = 0; x < W; x++) depth[y * W + x] = 1.0f / (x < 15 ? 1.0f : x == 15 ? mids[k] : 2.0f);
        p3d_depth_prep_opts o = p3d_depth_prep_opts_default();
        o.n_passes = 1, o.windows[0] = 1, o.snap = 0;
        CHECK_OK(p3d_depth_sharpen(g_cpu, depth, out, W, H, &o));
        CHECK_MSG(count_between(out, W, H, o.depth_threshold) == H - 2, "column %.1f: the median pass moved it", mids[k]);
        o.snap = 1;
        CHECK_OK(p3d_depth_sharpen(g_cpu, depth, out, W, H, &o));
        CHECK(count_between(out, W, H, o.depth_threshold) == 0);
        for (int32_t y = 0; y < H; y++)
            CHECK_MSG(out[y * W + 15] == (y == 0 || y == H - 1 ? depth[y * W + 15] : want[k]),
                      "column %.1f, row %d: disparity %.3f", mids[k], (int)y, 1.0 / out[y * W + 15]);
    }
    /* a wedge of a third surface (disparity 1.5) two pixels wide in rows 0..7 narrowing to a one-pixel
     * tip in row 8, between 1 and 2: the tip continues a surface above it and is kept */
    for (int32_t y = 0; y < H; y++)
        for (int32_t x = 0; x < W; x++)
            depth[y * W + x] = 1.0f / ((y < 8 && (x == 15 || x == 16)) || (y == 8 && x == 15) ? 1.5f : x <= 15 ? 1.0f : 2.0f);
    p3d_depth_prep_opts o = p3d_depth_prep_opts_default();
    o.n_passes = 1, o.windows[0] = 1, o.snap = 1;
    CHECK_OK(p3d_depth_sharpen(g_cpu, depth, out, W, H, &o));
    CHECK_MSG(out[8 * W + 15] == depth[8 * W + 15], "wedge tip: disparity %.3f", 1.0 / out[8 * W + 15]);
}

/* The colour fringe step (p3d_depth_fringe): a background (disparity 1, grey 100 with a +-10 checker
 * texture) left of a foreground (disparity 2, grey 220) whose depth edge lies between columns 15 and 16,
 * 32 x 16. The photo's edge lies a pixel further left: column 15 blends 70 % foreground (184), column
 * 14 20 % (124). Column 15 joins the foreground (its colour is nearer the foreground's mean), column 14
 * and the rest of the background keep their depth; the photo is not touched. With the foreground's
 * colour equal to the background's, or with fringe 0, nothing moves. */
static void test_fringe(void) {
    enum { W = 32, H = 16 };
    float depth[W * H], out[W * H];
    uint8_t rgb[W * H * 3], copy[W * H * 3];
    for (int32_t same = 0; same < 2; same++) {
        const int32_t fg = same ? 100 : 220;
        for (int32_t y = 0; y < H; y++)
            for (int32_t x = 0; x < W; x++) {
                depth[y * W + x] = x < 16 ? 1.0f : 0.5f;
                const int32_t bg = 100 + ((x + y) % 2 ? 10 : -10);
                const int32_t v = x < 14 ? bg : x == 14 ? (8 * bg + 2 * fg) / 10 : x == 15 ? (3 * bg + 7 * fg) / 10 : fg;
                for (int32_t c = 0; c < 3; c++) rgb[3 * (y * W + x) + c] = (uint8_t)v;
            }
        memcpy(copy, rgb, sizeof rgb);
        p3d_depth_prep_opts o = p3d_depth_prep_opts_default();
        memcpy(out, depth, sizeof depth);
        CHECK_OK(p3d_depth_fringe(g_cpu, rgb, out, W, H, &o));
        CHECK(memcmp(copy, rgb, sizeof rgb) == 0);
        int64_t moved = 0, wrong = 0;
        for (int32_t y = 0; y < H; y++)
            for (int32_t x = 0; x < W; x++) {
                const int32_t i = y * W + x;
                const float want = !same && x == 15 ? 0.5f : depth[i];
                moved += out[i] != depth[i];
                wrong += out[i] != want;
            }
        CHECK_MSG(wrong == 0, "%s: %lld pixels with the wrong depth (%lld moved)", same ? "one colour" : "blend",
                  (long long)wrong, (long long)moved);
        o.fringe = 0;
        memcpy(out, depth, sizeof depth);
        CHECK_OK(p3d_depth_fringe(g_cpu, rgb, out, W, H, &o));
        CHECK(memcmp(out, depth, sizeof depth) == 0);
    }
    /* A wall of two colours, brick (200, 60, 50) with mortar rows (220, 220, 210), `thick` rows every
     * fourth, left of a brown pillar (120, 80, 30): column 15 on the mortar rows blends 60 % pillar
     * into the mortar (160, 136, 102), nearer the wall's mean (mostly brick) than the pillar's, but a
     * blend of the pillar and the mortar beside it. Mortar two rows thick: those pixels join the
     * pillar. One row thick: each would be a one-row sliver whose link to the pillar the LDI's
     * dangling rule cuts (the rows above and below are torn there), so they stay, except on the
     * outer ring row 0 (the build does not apply the rule there). Column 15 on the brick rows is
     * brick and stays. */
    for (int32_t thick = 1; thick <= 2; thick++) {
        for (int32_t y = 0; y < H; y++)
            for (int32_t x = 0; x < W; x++) {
                const int32_t i = y * W + x, mortar = y % 4 < thick;
                static const uint8_t brick[3] = {200, 60, 50}, mort[3] = {220, 220, 210}, wood[3] = {120, 80, 30};
                depth[i] = x < 16 ? 1.0f : 0.5f;
                for (int32_t c = 0; c < 3; c++)
                    rgb[3 * i + c] = x >= 16  ? wood[c]
                                     : !mortar ? brick[c]
                                     : x < 15  ? mort[c]
                                               : (uint8_t)((4 * mort[c] + 6 * wood[c]) / 10);
            }
        p3d_depth_prep_opts o = p3d_depth_prep_opts_default();
        memcpy(out, depth, sizeof depth);
        CHECK_OK(p3d_depth_fringe(g_cpu, rgb, out, W, H, &o));
        int64_t wrong = 0, moved = 0;
        for (int32_t y = 0; y < H; y++)
            for (int32_t x = 0; x < W; x++) {
                const int32_t joins = x == 15 && y % 4 < thick && (thick == 2 || y == 0);
                wrong += out[y * W + x] != (joins ? 0.5f : depth[y * W + x]);
                moved += out[y * W + x] != depth[y * W + x];
            }
        CHECK_MSG(wrong == 0, "wall and pillar, mortar %d rows: %lld pixels with the wrong depth (%lld moved)",
                  (int)thick, (long long)wrong, (long long)moved);
    }
    p3d_depth_prep_opts o = p3d_depth_prep_opts_default();
    o.fringe = P3D_DEPTH_PREP_MAX_FRINGE + 1;
    CHECK_FAILS(p3d_depth_fringe(g_cpu, rgb, out, W, H, &o), P3D_ERR_INVALID_ARG, "fringe");
}

/* ---- moon fixture -------------------------------------------------------------------------------- */

static void test_moon(void) {
    char buf[512];
    const char *path = p3d_test_fixture("moon/moon.npy", buf, sizeof buf);
    if (!path) return;
    p3d_depth map;
    CHECK_OK(p3d_depth_read(path, NULL, &map));
    if (!map.value) return;
    const int32_t w = 960, h = 960;
    float *pre = (float *)malloc(sizeof(float) * w * h), *out = (float *)malloc(sizeof(float) * w * h), c0 = 0, c = 0;
    p3d_depth_prep_opts o = p3d_depth_prep_opts_default(), o0 = o;
    o0.n_passes = 0;
    CHECK_OK(p3d_depth_prepare(g_cpu, &map, w, h, &o0, pre, &c0));
    CHECK_OK(p3d_depth_prepare(g_cpu, &map, w, h, &o, out, &c));
    int64_t changed = 0, bad = 0;
    float lo = out[0], hi = out[0];
    for (int64_t i = 0; i < (int64_t)w * h; i++) {
        changed += out[i] != pre[i];
        bad += !(isfinite(out[i]) && out[i] >= (float)(1.0 / 3.0) && out[i] <= 20.0f);
        lo = out[i] < lo ? out[i] : lo;
        hi = out[i] > hi ? out[i] : hi;
    }
    /* the reference's median for comparison: it leaves one-pixel columns of in-between depth too */
    float *med = (float *)malloc(sizeof(float) * w * h), cm = 0;
    p3d_depth_prep_opts om = o;
    om.snap = 0;
    CHECK_OK(p3d_depth_prepare(g_cpu, &map, w, h, &om, med, &cm));
    const int64_t between = count_between(out, w, h, o.depth_threshold);
    const int64_t between_median = count_between(med, w, h, o.depth_threshold);
    free(med);
    printf("  moon.npy %dx%d -> %dx%d: depth %.4f..%.4f, centre %.6f, filter changed %lld of %d pixels, "
           "in-between pixels %lld (the median's: %lld)\n", (int)map.width, (int)map.height, (int)w, (int)h, lo, hi, c,
           (long long)changed, (int)(w * h), (long long)between, (long long)between_median);
    CHECK_MSG(between < 20, "moon: %lld pixels of in-between depth left (95 before the in-between step)", (long long)between);
    CHECK(bad == 0);
    CHECK(changed > 0 && changed < (int64_t)w * h / 2);
    CHECK(c == c0 && c == pre[(h / 2) * w + w / 2]);
    free(pre);
    free(out);
    p3d_depth_free(&map);
}

/* TUM Kinect metric depth with 19% holes (0) -> disparity, filled, at 960x720. */
static void test_tum(void) {
    char buf[512];
    const char *path = p3d_test_fixture("tum-kinect/TUM_depth.png", buf, sizeof buf);
    if (!path) return;
    p3d_depth_opts dopt = {P3D_DEPTH_METRIC, 1.0f / 5000.0f};
    p3d_depth map;
    CHECK_OK(p3d_depth_read(path, &dopt, &map));
    if (!map.value) return;
    CHECK(map.n_valid < (int64_t)map.width * map.height);
    const int32_t w = 960, h = 720;
    float *out = (float *)malloc(sizeof(float) * w * h), c = 0;
    p3d_depth_prep_opts o = p3d_depth_prep_opts_default();
    CHECK_OK(p3d_depth_prepare(g_cpu, &map, w, h, &o, out, &c));
    int64_t bad = 0;
    for (int64_t i = 0; i < (int64_t)w * h; i++) bad += !(isfinite(out[i]) && out[i] >= (float)(1.0 / 3.0) && out[i] <= 20.0f);
    printf("  TUM_depth.png %dx%d (%.1f%% valid) -> %dx%d: centre %.4f\n", (int)map.width, (int)map.height,
           100.0 * (double)map.n_valid / ((double)map.width * map.height), (int)w, (int)h, c);
    CHECK(bad == 0);
    free(out);
    p3d_depth_free(&map);
}

/* ---- CPU vs CUDA --------------------------------------------------------------------------------- */

/* The filter selects input values and both backends run depth_prep_math.h, so the floats must agree. */
static void compare_backends(const char *what, const p3d_depth *map, int32_t w, int32_t h, const p3d_depth_prep_opts *o) {
    float *a = (float *)malloc(sizeof(float) * w * h), *b = (float *)malloc(sizeof(float) * w * h), ca = 0, cb = 1;
    CHECK_OK(p3d_depth_prepare(g_cpu, map, w, h, o, a, &ca));
    CHECK_OK(p3d_depth_prepare(g_gpu, map, w, h, o, b, &cb));
    int64_t diff = 0;
    for (int64_t i = 0; i < (int64_t)w * h; i++) diff += a[i] != b[i];
    CHECK_MSG(diff == 0 && ca == cb, "%s: %lld pixels differ between CPU and CUDA", what, (long long)diff);
    free(a);
    free(b);
}

/* The fringe step on both backends: moon's prepared depth with a photo made from its unfiltered depth
 * (bright near, dark far, the colour edge where the unfiltered map's is: a pixel or two off the
 * filtered edges), one, two and three passes. */
static void compare_fringe(const p3d_depth *map, int32_t w, int32_t h) {
    const size_t n = (size_t)w * h;
    float *pre = (float *)malloc(sizeof(float) * n), *a = (float *)malloc(sizeof(float) * n);
    float *b = (float *)malloc(sizeof(float) * n);
    uint8_t *rgb = (uint8_t *)malloc(3 * n);
    void *dev = NULL;
    p3d_depth_prep_opts o = p3d_depth_prep_opts_default(), o0 = o;
    o0.n_passes = 0;
    CHECK_OK(p3d_depth_prepare(g_cpu, map, w, h, &o0, pre, NULL));
    CHECK_OK(p3d_depth_prepare(g_cpu, map, w, h, &o, a, NULL));
    for (size_t i = 0; i < n; i++) {
        const float v = 255.0f * (1.0f / pre[i]) / 3.0f;
        rgb[3 * i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        rgb[3 * i + 1] = (uint8_t)((i * 7) % 31 + 100);
        rgb[3 * i + 2] = (uint8_t)(255 - rgb[3 * i]);
    }
    /* the depth plane, then the photo: the fringe step reads both in the context's memory */
    CHECK_OK(p3d_ctx_alloc(g_gpu, sizeof(float) * n + 3 * n, &dev));
    if (dev) CHECK_OK(p3d_ctx_upload(g_gpu, (uint8_t *)dev + sizeof(float) * n, rgb, 3 * n));
    for (int32_t passes = 1; passes <= 3 && dev; passes++) {
        o.fringe = passes;
        CHECK_OK(p3d_depth_prepare(g_cpu, map, w, h, &o, a, NULL));
        memcpy(b, a, sizeof(float) * n);
        CHECK_OK(p3d_ctx_upload(g_gpu, dev, a, sizeof(float) * n));
        CHECK_OK(p3d_depth_fringe(g_cpu, rgb, a, w, h, &o));
        CHECK_OK(p3d_depth_fringe(g_gpu, (const uint8_t *)dev + sizeof(float) * n, (float *)dev, w, h, &o));
        CHECK_OK(p3d_ctx_download(g_gpu, pre, dev, sizeof(float) * n));
        int64_t diff = 0, moved = 0;
        for (size_t i = 0; i < n; i++) diff += a[i] != pre[i], moved += a[i] != b[i];
        printf("  fringe, %d passes: %lld pixels moved\n", (int)passes, (long long)moved);
        CHECK_MSG(diff == 0 && moved > 0, "fringe %d passes: %lld pixels differ between CPU and CUDA (%lld moved)",
                  (int)passes, (long long)diff, (long long)moved);
    }
    p3d_ctx_release(g_gpu, dev);
    free(pre), free(a), free(b), free(rgb);
}

static void test_cuda(void) {
    if (!g_gpu) {
        SKIP_GPU("CPU-vs-CUDA comparison not run: %s", g_why);
        return;
    }
    float *in = read_npy("up", "input", 30, 40);
    CHECK(in != NULL);
    if (in) {
        p3d_depth map = make_map(in, 40, 30, P3D_DEPTH_DISPARITY);
        p3d_depth_prep_opts o = p3d_depth_prep_opts_default();
        compare_backends("up, default", &map, 60, 45, &o);
        o.n_passes = 3;
        o.windows[0] = 9, o.windows[1] = 3, o.windows[2] = 1;
        compare_backends("up, windows 9 3 1", &map, 60, 45, &o);
        o.n_passes = 0;
        compare_backends("up, no filter", &map, 60, 45, &o);
        o = p3d_depth_prep_opts_default();
        o.blur = 1, o.snap = 0;
        compare_backends("up, the reference's blur and median", &map, 60, 45, &o);
        p3d_depth_free(&map);
        free(in);
    }
    char buf[512];
    snprintf(buf, sizeof buf, "../shared/fixtures/moon/moon.npy");
    p3d_depth moon;
    if (access(buf, R_OK) == 0 && p3d_depth_read(buf, NULL, &moon) == P3D_OK) {
        p3d_depth_prep_opts o = p3d_depth_prep_opts_default();
        compare_backends("moon 960x960", &moon, 960, 960, &o);
        compare_fringe(&moon, 960, 960);
        p3d_depth_free(&moon);
    }
}

int main(void) {
    g_cpu = cpu_ctx();
    g_gpu = cuda_ctx_or_why(g_why, sizeof g_why);
    RUN(test_median_rank);
    RUN(test_goldens);
    RUN(test_fill_background);
    RUN(test_fill_metric);
    RUN(test_fill_prepare);
    RUN(test_constant_map);
    RUN(test_errors);
    RUN(test_thin_structure);
    RUN(test_between);
    RUN(test_fringe);
    RUN(test_moon);
    RUN(test_tum);
    RUN(test_cuda);
    p3d_ctx_free(g_gpu);
    p3d_ctx_free(g_cpu);
    return p3d_test_finish();
}
