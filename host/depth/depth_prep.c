/* depth_prep.c - depth preparation: hole filling, the reference's normalisation and resize (host), and the
 * masked-median filter passes: checks, CPU loops, dispatch (twin: cuda/depth/depth_prep.cu). See depth_prep.h. */
#include "depth/depth_prep.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/resize_area.h"

p3d_depth_prep_opts p3d_depth_prep_opts_default(void) {
    p3d_depth_prep_opts o;
    memset(&o, 0, sizeof o);
    o.disp_rescale = 3.0;
    o.min_disp = 0.05;
    o.depth_threshold = 0.04;
    o.n_passes = 4;
    o.windows[0] = 7;
    o.windows[1] = 7;
    o.windows[2] = 5;
    o.windows[3] = 5;
    o.blur = 0;
    o.snap = 1;
    o.fringe = 2;
    return o;
}

p3d_status p3d_depth_prep_opts_check(const p3d_depth_prep_opts *o) {
    if (!(o->disp_rescale > 0) || !isfinite(o->disp_rescale))
        return p3d_fail(P3D_ERR_INVALID_ARG, "depth_prep: disp_rescale %g: expected a finite number > 0", o->disp_rescale);
    if (!(o->min_disp > 0) || !isfinite(o->min_disp))
        return p3d_fail(P3D_ERR_INVALID_ARG, "depth_prep: min_disp %g: expected a finite number > 0", o->min_disp);
    if (!(o->depth_threshold >= 0) || !isfinite(o->depth_threshold))
        return p3d_fail(P3D_ERR_INVALID_ARG, "depth_prep: depth_threshold %g: expected a finite number >= 0",
                        o->depth_threshold);
    if ((o->blur != 0 && o->blur != 1) || (o->snap != 0 && o->snap != 1))
        return p3d_fail(P3D_ERR_INVALID_ARG, "depth_prep: blur %d, snap %d: expected 0 or 1", (int)o->blur, (int)o->snap);
    if (o->fringe < 0 || o->fringe > P3D_DEPTH_PREP_MAX_FRINGE)
        return p3d_fail(P3D_ERR_INVALID_ARG, "depth_prep: %d fringe passes: expected 0..%d", (int)o->fringe,
                        P3D_DEPTH_PREP_MAX_FRINGE);
    if (o->n_passes < 0 || o->n_passes > P3D_DEPTH_PREP_MAX_PASSES)
        return p3d_fail(P3D_ERR_INVALID_ARG, "depth_prep: %d filter passes: expected 0..%d", (int)o->n_passes,
                        P3D_DEPTH_PREP_MAX_PASSES);
    for (int32_t p = 0; p < o->n_passes; p++)
        if (o->windows[p] < 1 || o->windows[p] > P3D_DP_MAX_WINDOW || o->windows[p] % 2 == 0)
            return p3d_fail(P3D_ERR_INVALID_ARG, "depth_prep: window %d of pass %d: expected an odd size in 1..%d",
                            (int)o->windows[p], (int)p + 1, P3D_DP_MAX_WINDOW);
    return P3D_OK;
}

static p3d_status check_size(int32_t w, int32_t h) {
    if (w < 3 || h < 3)
        return p3d_fail(P3D_ERR_INVALID_ARG, "depth_prep: processing size %dx%d: the filter needs at least 3x3",
                        (int)w, (int)h);
    if ((int64_t)w * h > INT32_MAX)
        return p3d_fail(P3D_ERR_INVALID_ARG, "depth_prep: processing size %dx%d is too large", (int)w, (int)h);
    return P3D_OK;
}

/* ---- hole filling ------------------------------------------------------------------------------ */

static int pixel_valid(const p3d_depth *m, int64_t i) {
    const float v = m->value[i];
    return m->mask[i] && isfinite(v) && (m->kind == P3D_DEPTH_DISPARITY || v > 0.0f);
}

/* Fills the unknown runs of one line of `len` pixels, `stride` apart: each run takes the smaller of the
 * known values just before and just after it (the one that exists at the line's ends). Returns 0, leaving
 * the line as it is, when it has no known pixel. */
static int fill_line(float *disp, const uint8_t *known, int64_t start, int64_t stride, int32_t len) {
    int any = 0;
    for (int32_t k = 0; k < len && !any; k++) any = known[start + k * stride];
    if (!any) return 0;
    for (int32_t a = 0; a < len;) {
        if (known[start + a * stride]) {
            a++;
            continue;
        }
        int32_t b = a;
        while (b < len && !known[start + b * stride]) b++;
        const float before = a > 0 ? disp[start + (a - 1) * stride] : INFINITY;
        const float after = b < len ? disp[start + b * stride] : INFINITY;
        const float v = before < after ? before : after;
        for (int32_t k = a; k < b; k++) disp[start + k * stride] = v;
        a = b;
    }
    return 1;
}

/* Rows first (every row with a valid pixel is then complete), then columns for the rows without one. */
p3d_status p3d_depth_fill_disparity(const p3d_depth *map, float *disp) {
    const int32_t W = map->width, H = map->height;
    if (W < 1 || H < 1 || (int64_t)W * H > INT32_MAX)
        return p3d_fail(P3D_ERR_INVALID_ARG, "depth_prep: map of %dx%d pixels", (int)W, (int)H);
    const int64_t n = (int64_t)W * H;
    int64_t n_valid = 0;
    for (int64_t i = 0; i < n; i++) {
        const int ok = pixel_valid(map, i);
        disp[i] = !ok ? 0.0f : map->kind == P3D_DEPTH_METRIC ? 1.0f / map->value[i] : map->value[i];
        n_valid += ok;
    }
    if (n_valid == 0)
        return p3d_fail(P3D_ERR_INVALID_ARG, "depth_prep: the %dx%d depth map has no valid pixel", (int)W, (int)H);
    if (n_valid == n) return P3D_OK;
    uint8_t *known = (uint8_t *)malloc((size_t)n);
    if (!known) return p3d_fail(P3D_ERR_OOM, "depth_prep: out of memory filling a %dx%d map", (int)W, (int)H);
    for (int64_t i = 0; i < n; i++) known[i] = (uint8_t)pixel_valid(map, i);
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int32_t y = 0; y < H; y++)
        if (fill_line(disp, known, (int64_t)y * W, 1, W)) memset(known + (int64_t)y * W, 1, (size_t)W);
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int32_t x = 0; x < W; x++) fill_line(disp, known, x, W, H);
    free(known);
    return P3D_OK;
}

/* ---- normalisation and resize (host) ----------------------------------------------------------- */

/* OpenCV BORDER_REFLECT_101 for an index at most one step outside 0..n-1 (a 1-pixel axis maps to 0). */
static int32_t reflect101(int32_t i, int32_t n) {
    if (n == 1) return 0;
    return i < 0 ? -i : i >= n ? 2 * n - 2 - i : i;
}

/* skimage's mode 'reflect' (scipy 'mirror'): reflection about the edge pixels, which are not repeated. */
static int32_t mirror(int32_t i, int32_t n) {
    if (n == 1) return 0;
    const int32_t period = 2 * (n - 1);
    i = abs(i) % period;
    return i > n - 1 ? period - i : i;
}

/* cv2.blur(src, (3, 3)) of a float32 (H, W) map: OpenCV sums float32 input in double (box filter sum
 * type CV_64F) and scales by 1/9 before storing float32. */
static void blur3(const float *src, float *dst, int32_t W, int32_t H) {
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int32_t y = 0; y < H; y++) {
        for (int32_t x = 0; x < W; x++) {
            double s = 0.0;
            for (int32_t dy = -1; dy <= 1; dy++) {
                const float *row = src + (int64_t)reflect101(y + dy, H) * W;
                s += (double)row[reflect101(x - 1, W)] + (double)row[x] + (double)row[reflect101(x + 1, W)];
            }
            dst[(int64_t)y * W + x] = (float)(s * (1.0 / 9.0));
        }
    }
}

/* Bilinear taps along one axis as skimage.transform.resize(order=1) places them: source coordinate
 * (d + 0.5) * n_in / n_out - 0.5, floor and ceil mirrored, fraction towards the ceil. */
static void skimage_taps(int32_t d, int32_t n_in, int32_t n_out, int32_t *lo, int32_t *hi, double *f) {
    const double c = ((double)d + 0.5) * ((double)n_in / (double)n_out) - 0.5;
    const double c0 = floor(c);
    *f = c - c0;
    *lo = mirror((int32_t)c0, n_in);
    *hi = mirror((int32_t)ceil(c), n_in);
}

/* depth_out = 1 / max(resize(norm) * scale, min_disp) with skimage's bilinear resize (float64, as the
 * reference computes after skimage converts to float). */
static void resize_bilinear_depth(const float *norm, int32_t W, int32_t H, float *depth_out, int32_t w, int32_t h,
                                  double scale, double min_disp) {
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int32_t y = 0; y < h; y++) {
        int32_t r0, r1;
        double dr;
        skimage_taps(y, H, h, &r0, &r1, &dr);
        const float *top = norm + (int64_t)r0 * W, *bot = norm + (int64_t)r1 * W;
        for (int32_t x = 0; x < w; x++) {
            int32_t c0, c1;
            double dc;
            skimage_taps(x, W, w, &c0, &c1, &dc);
            const double t = (1 - dc) * top[c0] + dc * top[c1];
            const double b = (1 - dc) * bot[c0] + dc * bot[c1];
            const double disp = ((1 - dr) * t + dr * b) * scale;
            depth_out[(int64_t)y * w + x] = (float)(1.0 / (disp > min_disp ? disp : min_disp));
        }
    }
}

static float max_of(const float *v, int64_t n) {
    float m = v[0];
    for (int64_t i = 1; i < n; i++) m = v[i] > m ? v[i] : m;
    return m;
}

p3d_status p3d_depth_prep_normalize(const p3d_depth *map, int32_t w, int32_t h, const p3d_depth_prep_opts *opts,
                                    float *depth_out, float *center_depth) {
    P3D_TRY(p3d_depth_prep_opts_check(opts));
    P3D_TRY(check_size(w, h));
    const int32_t W = map->width, H = map->height;
    if (W < 1 || H < 1 || (int64_t)W * H > INT32_MAX)
        return p3d_fail(P3D_ERR_INVALID_ARG, "depth_prep: map of %dx%d pixels", (int)W, (int)H);
    if (!p3d_depth_aspect_ok(W, H, w, h))
        return p3d_fail(P3D_ERR_INVALID_ARG, "depth_prep: a %dx%d map does not have the aspect of the processing "
                        "size %dx%d", (int)W, (int)H, (int)w, (int)h);
    const int64_t n = (int64_t)W * H, n_out = (int64_t)w * h;
    float *disp = (float *)malloc(sizeof(float) * (size_t)n), *tmp = (float *)malloc(sizeof(float) * (size_t)n);
    p3d_status st = disp && tmp ? P3D_OK : p3d_fail(P3D_ERR_OOM, "depth_prep: out of memory for a %dx%d map",
                                                    (int)W, (int)H);
    if (st == P3D_OK) st = p3d_depth_fill_disparity(map, disp);
    if (st != P3D_OK) {
        free(disp);
        free(tmp);
        return st;
    }
    /* The reference's float32 arithmetic, step by step (numpy float32 arrays, float32 scalars). */
    float mn = disp[0];
    for (int64_t i = 1; i < n; i++) mn = disp[i] < mn ? disp[i] : mn;
    for (int64_t i = 0; i < n; i++) disp[i] = disp[i] - mn;
    const float m = max_of(disp, n);
    if (m == 0.0f) {
        /* Constant map: a flat plane at the largest normalised disparity (see depth_prep.h). */
        const double d = opts->disp_rescale > opts->min_disp ? opts->disp_rescale : opts->min_disp;
        for (int64_t i = 0; i < n_out; i++) depth_out[i] = (float)(1.0 / d);
    } else {
        for (int64_t i = 0; i < n; i++) disp[i] = disp[i] / m;
        if (opts->blur)
            blur3(disp, tmp, W, H);
        else
            memcpy(tmp, disp, sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n; i++) tmp[i] = tmp[i] * m;
        const float m2 = max_of(tmp, n), rescale = (float)opts->disp_rescale;
        for (int64_t i = 0; i < n; i++) tmp[i] = tmp[i] / m2 * rescale;
        const float m3 = max_of(tmp, n);
        for (int64_t i = 0; i < n; i++) tmp[i] = tmp[i] / m3;
        if (w >= W && h >= H) {
            resize_bilinear_depth(tmp, W, H, depth_out, w, h, (double)m3, opts->min_disp);
        } else {
            /* Reducing: skimage would blur with a Gaussian first (anti_aliasing); INTER_AREA instead. The
             * map has no invalid pixel left, so this is what p3d_depth_resize would do too. */
            const int64_t ss[2] = {H, W}, ds[2] = {h, w};
            p3d_tensor s = p3d_tensor_view(tmp, P3D_F32, P3D_MEM_HOST, 2, ss);
            p3d_tensor d = p3d_tensor_view(depth_out, P3D_F32, P3D_MEM_HOST, 2, ds);
            st = p3d_resize_area_cpu(&s, &d, P3D_RESIZE_HWC);
            for (int64_t i = 0; st == P3D_OK && i < n_out; i++) {
                const double v = (double)depth_out[i] * m3;
                depth_out[i] = (float)(1.0 / (v > opts->min_disp ? v : opts->min_disp));
            }
        }
    }
    free(disp);
    free(tmp);
    if (st == P3D_OK && center_depth) *center_depth = depth_out[(int64_t)(h / 2) * w + w / 2];
    return st;
}

/* ---- filter passes ----------------------------------------------------------------------------- */

static void sharpen_pass_cpu(const float *src, float *dst, uint8_t *disc, int32_t w, int32_t h, int32_t window,
                             double threshold, int32_t snap) {
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) disc[(int64_t)y * w + x] = p3d_dp_discontinuity(src, h, w, y, x, threshold);
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 8)
#endif
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) dst[(int64_t)y * w + x] = p3d_dp_filter_pixel(src, disc, h, w, y, x, window, snap, threshold);
}

/* The in-between step (depth_prep_math.h p3d_dp_between_pixel): dst = src with one-pixel columns of
 * in-between depth joined to a side. */
static void between_pass_cpu(const float *src, float *dst, int32_t w, int32_t h, double threshold) {
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) dst[(int64_t)y * w + x] = p3d_dp_between_pixel(src, h, w, y, x, threshold);
}

/* One fringe pass (depth_prep_math.h p3d_dp_fringe_pixel): dst = src with the photo's mixed pixels on
 * the far side of each depth edge joined to the near side. */
static void fringe_pass_cpu(const float *src, const uint8_t *rgb, float *dst, int32_t w, int32_t h, double threshold) {
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) dst[(int64_t)y * w + x] = p3d_dp_fringe_pixel(src, rgb, h, w, y, x, threshold);
}

/* The passes with explicit buffers (context memory): the filter passes, then with snap the in-between
 * step; step p of the `steps` writes dst when steps - 1 - p is even and tmp otherwise, so the last one
 * lands in dst and src is only read. */
static p3d_status sharpen_run(p3d_ctx *ctx, const float *src, float *dst, float *tmp, uint8_t *disc, int32_t w,
                              int32_t h, const p3d_depth_prep_opts *opts) {
    const int64_t n = (int64_t)w * h;
    if (opts->n_passes == 0) {
        const int64_t shape[1] = {n};
        p3d_tensor s = p3d_tensor_view((void *)src, P3D_F32, p3d_ctx_mem(ctx), 1, shape);
        p3d_tensor d = p3d_tensor_view(dst, P3D_F32, p3d_ctx_mem(ctx), 1, shape);
        return p3d_tensor_copy(ctx, &d, &s);
    }
    const float *in = src;
    const int32_t steps = opts->n_passes + (opts->snap ? 1 : 0);
    for (int32_t p = 0; p < steps; p++) {
        float *out = (steps - 1 - p) % 2 == 0 ? dst : tmp;
        if (p == opts->n_passes) {
#ifdef P3D_HAVE_CUDA
            if (p3d_ctx_cuda(ctx)) {
                P3D_TRY(p3d_depth_between_pass_cuda(p3d_ctx_cuda(ctx), in, out, w, h, opts->depth_threshold));
                break;
            }
#endif
            between_pass_cpu(in, out, w, h, opts->depth_threshold);
            break;
        }
#ifdef P3D_HAVE_CUDA
        if (p3d_ctx_cuda(ctx)) {
            P3D_TRY(p3d_depth_sharpen_pass_cuda(p3d_ctx_cuda(ctx), in, out, disc, w, h, opts->windows[p],
                                                opts->depth_threshold, opts->snap));
            in = out;
            continue;
        }
#endif
        sharpen_pass_cpu(in, out, disc, w, h, opts->windows[p], opts->depth_threshold, opts->snap);
        in = out;
    }
    return P3D_OK;
}

/* Scratch layout: `floats` (h, w) float32 buffers, each padded to 64 bytes, then the (h, w) uint8 map. */
static size_t plane_bytes(int32_t w, int32_t h) { return ((size_t)w * (size_t)h * sizeof(float) + 63) & ~(size_t)63; }

static p3d_status reserve_scratch(p3d_ctx *ctx, int32_t w, int32_t h, int32_t floats, float **planes, uint8_t **disc) {
    const size_t pb = plane_bytes(w, h);
    P3D_TRY(p3d_ctx_scratch_reserve(ctx, pb * (size_t)floats + (size_t)w * (size_t)h));
    size_t got = 0;
    uint8_t *base = (uint8_t *)p3d_ctx_scratch(ctx, &got);
    for (int32_t i = 0; i < floats; i++) planes[i] = (float *)(base + pb * (size_t)i);
    *disc = base + pb * (size_t)floats;
    return P3D_OK;
}

p3d_status p3d_depth_sharpen(p3d_ctx *ctx, const float *src, float *dst, int32_t w, int32_t h,
                             const p3d_depth_prep_opts *opts) {
    P3D_TRY(p3d_depth_prep_opts_check(opts));
    P3D_TRY(check_size(w, h));
    const size_t bytes = (size_t)w * (size_t)h * sizeof(float);
    if ((const char *)src < (const char *)dst + bytes && (const char *)dst < (const char *)src + bytes)
        return p3d_fail(P3D_ERR_INVALID_ARG, "depth_prep: sharpen source and destination overlap");
    float *tmp = NULL;
    uint8_t *disc = NULL;
    P3D_TRY(reserve_scratch(ctx, w, h, 1, &tmp, &disc));
    return sharpen_run(ctx, src, dst, tmp, disc, w, h, opts);
}

p3d_status p3d_depth_fringe(p3d_ctx *ctx, const uint8_t *rgb, float *depth, int32_t w, int32_t h,
                            const p3d_depth_prep_opts *opts) {
    P3D_TRY(p3d_depth_prep_opts_check(opts));
    P3D_TRY(check_size(w, h));
    if (!rgb || !depth) return p3d_fail(P3D_ERR_INVALID_ARG, "depth_prep: fringe step without a photo or a depth map");
    if (opts->fringe == 0) return P3D_OK;
    /* scratch: one float plane (ping-pong); the photo is read where it is, in the context's memory */
    const size_t pb = plane_bytes(w, h), px = (size_t)w * (size_t)h;
    P3D_TRY(p3d_ctx_scratch_reserve(ctx, pb));
    size_t got = 0;
    float *tmp = (float *)p3d_ctx_scratch(ctx, &got);
    /* pass p writes tmp when fringe - 1 - p is odd, so the last one lands in depth */
    const float *in = depth;
    for (int32_t p = 0; p < opts->fringe; p++) {
        float *out = (opts->fringe - 1 - p) % 2 == 0 ? depth : tmp;
        if (out == in) {
            /* an odd count's first pass cannot read and write depth: copy it to tmp first */
            const int64_t shape[1] = {(int64_t)px};
            p3d_tensor s = p3d_tensor_view(depth, P3D_F32, p3d_ctx_mem(ctx), 1, shape);
            p3d_tensor d = p3d_tensor_view(tmp, P3D_F32, p3d_ctx_mem(ctx), 1, shape);
            P3D_TRY(p3d_tensor_copy(ctx, &d, &s));
            in = tmp;
            out = depth;
        }
#ifdef P3D_HAVE_CUDA
        if (p3d_ctx_cuda(ctx)) {
            P3D_TRY(p3d_depth_fringe_pass_cuda(p3d_ctx_cuda(ctx), in, rgb, out, w, h, opts->depth_threshold));
            in = out;
            continue;
        }
#endif
        fringe_pass_cpu(in, rgb, out, w, h, opts->depth_threshold);
        in = out;
    }
    return P3D_OK;
}

p3d_status p3d_depth_prepare(p3d_ctx *ctx, const p3d_depth *map, int32_t w, int32_t h, const p3d_depth_prep_opts *opts,
                             float *depth_out, float *center_depth) {
    P3D_TRY(p3d_depth_prep_opts_check(opts));
    P3D_TRY(check_size(w, h));
    /* planes: [0] unfiltered, [1] filtered (device only), [2] ping-pong. */
    float *planes[3] = {NULL, NULL, NULL};
    uint8_t *disc = NULL;
    const size_t bytes = (size_t)w * (size_t)h * sizeof(float);
    if (p3d_ctx_mem(ctx) == P3D_MEM_HOST) {
        P3D_TRY(reserve_scratch(ctx, w, h, 2, planes, &disc));
        P3D_TRY(p3d_depth_prep_normalize(map, w, h, opts, planes[0], center_depth));
        return sharpen_run(ctx, planes[0], depth_out, planes[1], disc, w, h, opts);
    }
    P3D_TRY(reserve_scratch(ctx, w, h, 3, planes, &disc));
    P3D_TRY(p3d_depth_prep_normalize(map, w, h, opts, depth_out, center_depth));
    P3D_TRY(p3d_ctx_upload(ctx, planes[0], depth_out, bytes));
    P3D_TRY(sharpen_run(ctx, planes[0], planes[1], planes[2], disc, w, h, opts));
    return p3d_ctx_download(ctx, depth_out, planes[1], bytes);
}
