/* stages_fill.c - bench stages of the non-learned inpainting fill (host/inpaint/fill_classic.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "inpaint/fill_classic.h"

typedef struct fill_state {
    p3d_fill_patch patch;
    uint8_t *context, *mask;
    float *rgb, *depth;
    p3d_fill_opts opts;
} fill_state;

/* The fill writes only mask pixels and never reads their input values, so every run does the same
 * work on the same inputs. */
static p3d_status fill_run(void *s, p3d_ctx *ctx) {
    fill_state *f = (fill_state *)s;
    return p3d_fill_classic(ctx, &f->patch, 1, &f->opts);
}

static void fill_teardown(void *s, p3d_ctx *ctx) {
    (void)ctx;
    fill_state *f = (fill_state *)s;
    free(f->context);
    free(f->mask);
    free(f->rgb);
    free(f->depth);
    free(f);
}

/* One edge patch of the size the pipeline sees for a long edge: 400x300, foreground right of a wavy
 * boundary, the 70-px band left of it to synthesise (the reference's bg = 70), the rest context;
 * the background a noisy two-scale texture on a tilted plane, default options. */
static p3d_status fill_setup(p3d_ctx *ctx, p3d_bench_case *c) {
    (void)ctx;
    const int32_t w = 400, h = 300, band = 70;
    fill_state *f = (fill_state *)calloc(1, sizeof *f);
    if (!f) return p3d_fail(P3D_ERR_OOM, "fill: out of host memory");
    f->context = (uint8_t *)malloc((size_t)w * h);
    f->mask = (uint8_t *)malloc((size_t)w * h);
    f->rgb = (float *)malloc((size_t)w * h * 3 * sizeof(float));
    f->depth = (float *)malloc((size_t)w * h * sizeof(float));
    if (!f->context || !f->mask || !f->rgb || !f->depth) {
        fill_teardown(f, ctx);
        return p3d_fail(P3D_ERR_OOM, "fill: out of host memory");
    }
    uint32_t r = 12345u;
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) {
            const int32_t i = y * w + x;
            const double edge = 330.0 + 20.0 * sin(y / 30.0);
            r = r * 1664525u + 1013904223u;
            const float noise = (float)(r >> 8) / 16777216.0f;
            f->context[i] = x < edge - band;
            f->mask[i] = x >= edge - band && x < edge;
            for (int32_t k = 0; k < 3; k++)
                f->rgb[3 * i + k] = 0.35f + 0.2f * sinf(0.21f * x + 0.13f * y + k) + 0.15f * sinf(0.05f * (x - y)) +
                                    0.2f * noise;
            f->depth[i] = f->context[i] ? 1.0f / (0.1f + 0.0005f * y) : 1.0f;
        }
    f->patch = (p3d_fill_patch){w, h, f->context, f->mask, f->rgb, f->depth, NULL};
    f->opts = p3d_fill_opts_default();
    snprintf(c->label, sizeof c->label, "%dx%d patch, %d-px band, patch %d, %d scales x %d EM x %d (coarsest) / %d "
             "passes", (int)w, (int)h, (int)band, (int)f->opts.patch, (int)f->opts.scales, (int)f->opts.em_iters,
             (int)f->opts.coarse_nnf_iters, (int)f->opts.nnf_iters);
    c->pixels = (double)w * h;
    c->state = f;
    c->run = fill_run;
    c->teardown = fill_teardown;
    return P3D_OK;
}

P3D_BENCH_TABLE(p3d_bench_stages_fill) = {
    {"inpaint.fill_classic.400x300", fill_setup},
    {NULL, NULL},
};
