/* resize_area.c - cv::resize INTER_AREA: planning, the CPU loop, and the dispatch to CUDA. */
#include "io/resize_area.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

/* Plane count, height, width and channels of t read with layout. */
static p3d_status ra_dims(const p3d_tensor *t, p3d_resize_layout layout, int64_t d[4]) {
    const int64_t *s = t->shape;
    if (t->ndim == 2) {
        d[0] = 1, d[1] = s[0], d[2] = s[1], d[3] = 1;
    } else if (t->ndim == 3 && layout == P3D_RESIZE_HWC) {
        d[0] = 1, d[1] = s[0], d[2] = s[1], d[3] = s[2];
    } else if (t->ndim == 3 && layout == P3D_RESIZE_CHW) {
        d[0] = s[0], d[1] = s[1], d[2] = s[2], d[3] = 1;
    } else if (t->ndim == 4 && layout == P3D_RESIZE_CHW) {
        d[0] = s[0] * s[1], d[1] = s[2], d[2] = s[3], d[3] = 1;
    } else {
        return p3d_fail(P3D_ERR_INVALID_ARG, "resize_area: a %dD tensor in %s layout is not supported "
                        "((H,W), (H,W,C), (C,H,W) or (N,C,H,W))", (int)t->ndim,
                        layout == P3D_RESIZE_HWC ? "HWC" : "CHW");
    }
    if (d[0] < 1 || d[1] < 1 || d[2] < 1 || d[1] > INT32_MAX || d[2] > INT32_MAX)
        return p3d_fail(P3D_ERR_INVALID_ARG, "resize_area: empty or oversized image (%lldx%lld)",
                        (long long)d[2], (long long)d[1]);
    if (d[3] < 1 || d[3] > 4)
        return p3d_fail(P3D_ERR_INVALID_ARG, "resize_area: %lld interleaved channels (1..4)", (long long)d[3]);
    return P3D_OK;
}

/* OpenCV's choice of path (cv::hal::resize). */
static void ra_choose_mode(p3d_ra_geom *g) {
    g->inv_x = (double)g->dw / g->sw;
    g->inv_y = (double)g->dh / g->sh;
    g->scale_x = 1.0 / g->inv_x;
    g->scale_y = 1.0 / g->inv_y;
    g->ix = (int32_t)rint(g->scale_x);
    g->iy = (int32_t)rint(g->scale_y);
    if (g->sw == g->dw && g->sh == g->dh) g->mode = P3D_RA_COPY;
    else if (g->scale_x < 1.0 || g->scale_y < 1.0) g->mode = P3D_RA_LINEAR;
    else if (fabs(g->scale_x - g->ix) < DBL_EPSILON && fabs(g->scale_y - g->iy) < DBL_EPSILON) g->mode = P3D_RA_FAST;
    else g->mode = P3D_RA_AREA;
}

p3d_status p3d_resize_area_plan(const p3d_tensor *src, const p3d_tensor *dst, p3d_resize_layout layout,
                                p3d_ra_geom *g) {
    if (src->dtype != dst->dtype || (src->dtype != P3D_F32 && src->dtype != P3D_U8))
        return p3d_fail(P3D_ERR_INVALID_ARG, "resize_area: dtypes %s -> %s (f32 -> f32 or u8 -> u8)",
                        p3d_dtype_name(src->dtype), p3d_dtype_name(dst->dtype));
    if (src->ndim != dst->ndim)
        return p3d_fail(P3D_ERR_INVALID_ARG, "resize_area: source has %d dimensions, destination %d",
                        (int)src->ndim, (int)dst->ndim);
    int64_t s[4], d[4];
    P3D_TRY(ra_dims(src, layout, s));
    P3D_TRY(ra_dims(dst, layout, d));
    if (s[0] != d[0] || s[3] != d[3])
        return p3d_fail(P3D_ERR_INVALID_ARG, "resize_area: source and destination differ in planes or channels "
                        "(%lld x %lld vs %lld x %lld)", (long long)s[0], (long long)s[3], (long long)d[0],
                        (long long)d[3]);
    memset(g, 0, sizeof *g);
    g->planes = (int32_t)s[0];
    g->cn = (int32_t)s[3];
    g->sh = (int32_t)s[1], g->sw = (int32_t)s[2];
    g->dh = (int32_t)d[1], g->dw = (int32_t)d[2];
    g->u8 = src->dtype == P3D_U8;
    ra_choose_mode(g);
    return P3D_OK;
}

/* Every destination element, rows in parallel: (planes * dh) rows of dw * cn elements. The AREA path
 * takes its column spans from a table computed once and its row span once per row (the per-element
 * p3d_ra_element recomputes both, which suits a kernel thread but not a CPU loop); the sums are the
 * same function, so the results are identical. Without memory for the table it runs per element. */
static void ra_run_cpu(const p3d_ra_geom *g, const void *src, void *dst) {
    p3d_ra_span *sx = g->mode == P3D_RA_AREA ? (p3d_ra_span *)malloc((size_t)g->dw * sizeof *sx) : NULL;
    for (int32_t x = 0; sx && x < g->dw; x++) sx[x] = p3d_ra_area_span(x, g->sw, g->scale_x);
    int64_t rows = (int64_t)g->planes * g->dh;
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t r = 0; r < rows; r++) {
        int64_t p = r / g->dh;
        int32_t y = (int32_t)(r % g->dh);
        p3d_ra_span sy = p3d_ra_area_span(y, g->sh, g->scale_y);
        for (int32_t x = 0; x < g->dw; x++)
            for (int32_t c = 0; c < g->cn; c++) {
                if (sx)
                    p3d_ra_store(g, dst, p3d_ra_index(p, g->dh, g->dw, g->cn, y, x, c),
                                 p3d_ra_area_sum(g, src, p, &sy, &sx[x], c));
                else
                    p3d_ra_element(g, src, dst, p, y, x, c);
            }
    }
    free(sx);
}

p3d_status p3d_resize_area_cpu(const p3d_tensor *src, p3d_tensor *dst, p3d_resize_layout layout) {
    if (src->mem != P3D_MEM_HOST || dst->mem != P3D_MEM_HOST)
        return p3d_fail(P3D_ERR_INVALID_ARG, "resize_area: the CPU path takes host tensors");
    p3d_ra_geom g;
    P3D_TRY(p3d_resize_area_plan(src, dst, layout, &g));
    ra_run_cpu(&g, src->data, dst->data);
    return P3D_OK;
}

p3d_status p3d_resize_area(p3d_ctx *ctx, const p3d_tensor *src, p3d_tensor *dst, p3d_resize_layout layout) {
    p3d_mem mem = p3d_ctx_mem(ctx);
    if (src->mem != mem || dst->mem != mem)
        return p3d_fail(P3D_ERR_INVALID_ARG, "resize_area: tensors must live in the context's memory (%s)",
                        mem == P3D_MEM_CUDA ? "CUDA" : "host");
    if (mem == P3D_MEM_HOST) return p3d_resize_area_cpu(src, dst, layout);
#ifdef P3D_HAVE_CUDA
    p3d_ra_geom g;
    P3D_TRY(p3d_resize_area_plan(src, dst, layout, &g));
    return p3d_resize_area_cuda(ctx, &g, src->data, dst->data);
#else
    return p3d_fail(P3D_ERR_UNSUPPORTED, "resize_area: the CUDA backend is not compiled in");
#endif
}
