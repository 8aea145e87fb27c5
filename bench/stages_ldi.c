/* stages_ldi.c - bench stages of the LDI graph stages (ldi_stages.h) on the context's device: the
 * input layer (ldi.build), the cleanup with its two edge searches (ldi.cleanup) and the pass-1
 * regions (ldi.regions), on moon at a longer side of 960 as the pipeline prepares it: the photo
 * resized with p3d_resize_area_cpu, moon.npy through the depth preparation, the reference's camera,
 * the default options (60-px canvas border). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "io/image_io.h"
#include "io/resize_area.h"
#include "pipeline/photo3d.h"

#define LDI_BENCH_SIDE 960

typedef struct ldi_state {
    int32_t w, h;
    uint8_t *rgb;
    float *depth;
    p3d_camera cam;
    p3d_ldi_opts opts;
    p3d_ldi ldi;        /* built (ldi.cleanup) or built and cleaned (ldi.regions) */
    int32_t *link0;     /* ldi.cleanup: the links as built, restored before every run */
    p3d_ldi_edges edges; /* ldi.regions: the edges after the cleanup */
} ldi_state;

static void ldi_teardown(void *s, p3d_ctx *ctx) {
    (void)ctx;
    ldi_state *b = (ldi_state *)s;
    free(b->rgb);
    free(b->depth);
    free(b->link0);
    p3d_ldi_free(&b->ldi);
    p3d_ldi_edges_free(&b->edges);
    free(b);
}

/* moon at 960 as p3d_photo_to_mesh prepares it. */
static p3d_status moon_prepare(p3d_ctx *ctx, ldi_state *b) {
    char ip[1024], dp[1024];
    if (!p3d_bench_fixture("moon/moon.jpg", ip, sizeof ip) || !p3d_bench_fixture("moon/moon.npy", dp, sizeof dp))
        return p3d_fail(P3D_ERR_UNSUPPORTED, "moon fixture not found under ../shared/fixtures");
    p3d_image img;
    P3D_TRY(p3d_image_read(ip, 0, &img));
    const p3d_depth_opts dopt = {P3D_DEPTH_DISPARITY, 1.0f};
    p3d_depth map;
    p3d_status st = p3d_depth_read(dp, &dopt, &map);
    if (st != P3D_OK) {
        p3d_image_free(&img);
        return st;
    }
    const double frac = (double)LDI_BENCH_SIDE / (double)(img.width > img.height ? img.width : img.height);
    b->w = (int32_t)(img.width * frac);
    b->h = (int32_t)(img.height * frac);
    b->rgb = (uint8_t *)malloc((size_t)b->w * b->h * 3);
    b->depth = (float *)malloc((size_t)b->w * b->h * sizeof *b->depth);
    if (!b->rgb || !b->depth) st = p3d_fail(P3D_ERR_OOM, "bench ldi: out of memory");
    if (st == P3D_OK) {
        int64_t ss[3] = {img.height, img.width, 3}, ds[3] = {b->h, b->w, 3};
        p3d_tensor src = p3d_tensor_view(img.rgb, P3D_U8, P3D_MEM_HOST, 3, ss);
        p3d_tensor dst = p3d_tensor_view(b->rgb, P3D_U8, P3D_MEM_HOST, 3, ds);
        st = p3d_resize_area_cpu(&src, &dst, P3D_RESIZE_HWC);
    }
    float centre = 0;
    const p3d_depth_prep_opts po = p3d_depth_prep_opts_default();
    if (st == P3D_OK) st = p3d_depth_prepare(ctx, &map, b->w, b->h, &po, b->depth, &centre);
    b->cam = p3d_camera_reference(img.width, img.height, b->w, b->h);
    b->opts = p3d_ldi_opts_default();
    p3d_depth_free(&map);
    p3d_image_free(&img);
    return st;
}

static p3d_status build_once(p3d_ctx *ctx, ldi_state *b, p3d_ldi *l) {
    P3D_TRY(p3d_ldi_init(l, b->w, b->h, b->opts.border, &b->cam));
    p3d_ldi_build_stats st;
    p3d_status s = p3d_ldi_build_ctx(ctx, l, b->rgb, b->depth, NULL, &b->opts, &st);
    if (s != P3D_OK) p3d_ldi_free(l);
    return s;
}

static p3d_status build_run(void *s, p3d_ctx *ctx) {
    ldi_state *b = (ldi_state *)s;
    p3d_ldi l;
    P3D_TRY(build_once(ctx, b, &l));
    p3d_ldi_free(&l);
    return P3D_OK;
}

/* The cleanup edits links, so each run starts from the links as built (a 16-byte-per-node copy,
 * inside the timed region). */
static p3d_status cleanup_run(void *s, p3d_ctx *ctx) {
    ldi_state *b = (ldi_state *)s;
    memcpy(b->ldi.link, b->link0, (size_t)b->ldi.n_nodes * 4 * sizeof *b->link0);
    p3d_ldi_edges e;
    int32_t removed, joined;
    P3D_TRY(p3d_ldi_cleanup_ctx(ctx, &b->ldi, &b->opts, &e, &removed, &joined));
    p3d_ldi_edges_free(&e);
    return P3D_OK;
}

static p3d_status regions_run(void *s, p3d_ctx *ctx) {
    ldi_state *b = (ldi_state *)s;
    p3d_ldi_regions r;
    P3D_TRY(p3d_ldi_regions_find_ctx(ctx, &b->ldi, &b->edges, &b->opts, 0, &r));
    p3d_ldi_regions_free(&r);
    return P3D_OK;
}

/* stage: 0 build, 1 cleanup, 2 regions. */
static p3d_status ldi_setup(p3d_ctx *ctx, p3d_bench_case *c, int32_t stage) {
    ldi_state *b = (ldi_state *)calloc(1, sizeof *b);
    if (!b) return p3d_fail(P3D_ERR_OOM, "bench ldi: out of memory");
    p3d_status st = moon_prepare(ctx, b);
    if (st == P3D_OK && stage >= 1) st = build_once(ctx, b, &b->ldi);
    if (st == P3D_OK && stage == 1) {
        size_t bytes = (size_t)b->ldi.n_nodes * 4 * sizeof *b->link0;
        if (!(b->link0 = (int32_t *)malloc(bytes))) st = p3d_fail(P3D_ERR_OOM, "bench ldi: out of memory");
        else memcpy(b->link0, b->ldi.link, bytes);
    }
    if (st == P3D_OK && stage == 2) {
        int32_t removed, joined;
        st = p3d_ldi_cleanup_ctx(ctx, &b->ldi, &b->opts, &b->edges, &removed, &joined);
    }
    if (st != P3D_OK) {
        ldi_teardown(b, ctx);
        return st;
    }
    snprintf(c->label, sizeof c->label, "moon %dx%d, border %d%s", (int)b->w, (int)b->h, (int)b->opts.border,
             stage == 1 ? ", links reset per run" : stage == 2 ? ", pass 1" : "");
    c->pixels = (double)b->w * b->h;
    c->state = b;
    c->run = stage == 0 ? build_run : stage == 1 ? cleanup_run : regions_run;
    c->teardown = ldi_teardown;
    return P3D_OK;
}

static p3d_status build_setup(p3d_ctx *ctx, p3d_bench_case *c) { return ldi_setup(ctx, c, 0); }
static p3d_status cleanup_setup(p3d_ctx *ctx, p3d_bench_case *c) { return ldi_setup(ctx, c, 1); }
static p3d_status regions_setup(p3d_ctx *ctx, p3d_bench_case *c) { return ldi_setup(ctx, c, 2); }

P3D_BENCH_TABLE(p3d_bench_stages_ldi) = {
    {"ldi.build.moon960", build_setup},
    {"ldi.cleanup.moon960", cleanup_setup},
    {"ldi.regions.moon960", regions_setup},
    {NULL, NULL},
};
