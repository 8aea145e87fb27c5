/* stages_io.c - bench stages of image decoding, INTER_AREA resizing and depth-map reading.
 * Inputs are the real photos in ../shared/fixtures when present, else the project's sample. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "depth_io.h"
#include "image_io.h"
#include "resize_area.h"

/* ---- decode.* : one whole-file decode per run ---------------------------------------------------- */
typedef struct decode_state {
    char path[512];
    int is_depth;
    p3d_depth_opts opts;
} decode_state;

static p3d_status decode_run(void *s, p3d_ctx *ctx) {
    (void)ctx;
    decode_state *d = (decode_state *)s;
    if (d->is_depth) {
        p3d_depth m;
        P3D_TRY(p3d_depth_read(d->path, &d->opts, &m));
        p3d_depth_free(&m);
    } else {
        p3d_image img;
        P3D_TRY(p3d_image_read(d->path, 0, &img));
        p3d_image_free(&img);
    }
    return P3D_OK;
}

static void free_state(void *s, p3d_ctx *ctx) {
    (void)ctx;
    free(s);
}

/* Prepares a decode case for the first readable of `fixture` (under ../shared/fixtures) or `fallback`. */
static p3d_status decode_setup(p3d_bench_case *c, const char *fixture, const char *fallback, int is_depth,
                               p3d_depth_opts opts) {
    decode_state *d = (decode_state *)calloc(1, sizeof *d);
    if (!d) return p3d_fail(P3D_ERR_OOM, "out of memory");
    const char *path = p3d_bench_fixture(fixture, d->path, sizeof d->path);
    if (!path) {
        if (!fallback) {
            free(d);
            return p3d_fail(P3D_ERR_UNSUPPORTED, "../shared/fixtures/%s not found", fixture);
        }
        snprintf(d->path, sizeof d->path, "%s", fallback);
    }
    d->is_depth = is_depth;
    d->opts = opts;
    int32_t w = 0, h = 0;
    if (is_depth) {
        p3d_depth m;
        p3d_status st = p3d_depth_read(d->path, &opts, &m);
        if (st != P3D_OK) {
            free(d);
            return st;
        }
        w = m.width;
        h = m.height;
        p3d_depth_free(&m);
    } else {
        p3d_image img;
        p3d_status st = p3d_image_read(d->path, 0, &img);
        if (st != P3D_OK) {
            free(d);
            return st;
        }
        w = img.width;
        h = img.height;
        p3d_image_free(&img);
    }
    const char *base = strrchr(d->path, '/');
    snprintf(c->label, sizeof c->label, "%.80s %dx%d", base ? base + 1 : d->path, (int)w, (int)h);
    c->state = d;
    c->run = decode_run;
    c->teardown = free_state;
    c->pixels = (double)w * (double)h;
    return P3D_OK;
}

static const p3d_depth_opts k_disp = {P3D_DEPTH_DISPARITY, 1.0f};
static const p3d_depth_opts k_tum = {P3D_DEPTH_METRIC, 1.0f / 5000.0f};

static p3d_status dec_jpeg(p3d_ctx *x, p3d_bench_case *c) {
    (void)x;
    return decode_setup(c, "moon/moon.jpg", NULL, 0, k_disp);
}
static p3d_status dec_jpeg_prog(p3d_ctx *x, p3d_bench_case *c) {
    (void)x;
    return decode_setup(c, "columns/columns.jpg", NULL, 0, k_disp);
}
static p3d_status dec_png(p3d_ctx *x, p3d_bench_case *c) {
    (void)x;
    return decode_setup(c, "tum-kinect/TUM_color.png", "samples/scene.png", 0, k_disp);
}
static p3d_status dep_npy(p3d_ctx *x, p3d_bench_case *c) {
    (void)x;
    return decode_setup(c, "moon/moon.npy", NULL, 1, k_disp);
}
static p3d_status dep_png16(p3d_ctx *x, p3d_bench_case *c) {
    (void)x;
    return decode_setup(c, "tum-kinect/TUM_depth.png", "samples/scene_disp.png", 1, k_tum);
}

/* ---- resize.area.* : the photo to the pipeline's processing size (longer side 960) --------------- */
typedef struct resize_state {
    p3d_tensor src, dst; /* in the context's memory */
    void *src_mem, *dst_mem;
    p3d_resize_layout layout;
} resize_state;

static p3d_status resize_run(void *s, p3d_ctx *ctx) {
    resize_state *r = (resize_state *)s;
    return p3d_resize_area(ctx, &r->src, &r->dst, r->layout);
}

static void resize_teardown(void *s, p3d_ctx *ctx) {
    resize_state *r = (resize_state *)s;
    p3d_ctx_release(ctx, r->src_mem);
    p3d_ctx_release(ctx, r->dst_mem);
    free(r);
}

/* u8: interleaved (H, W, 3) as decoded; f32: planar (3, H, W) in [0, 1], as the networks take it. */
static p3d_status resize_setup(p3d_ctx *ctx, p3d_bench_case *c, p3d_dtype dt) {
    char buf[512];
    const char *path = p3d_bench_fixture("moon/moon.jpg", buf, sizeof buf);
    if (!path) path = "samples/scene.png";
    p3d_image img;
    P3D_TRY(p3d_image_read(path, 0, &img));
    int64_t w = img.width, h = img.height;
    int64_t tw = w >= h ? 960 : w * 960 / h, th = w >= h ? h * 960 / w : 960;
    resize_state *r = (resize_state *)calloc(1, sizeof *r);
    size_t n = (size_t)(w * h * 3), es = p3d_dtype_size(dt);
    void *host = malloc(n * es);
    p3d_status st = (r && host) ? P3D_OK : p3d_fail(P3D_ERR_OOM, "out of memory");
    if (st == P3D_OK && dt == P3D_U8) {
        memcpy(host, img.rgb, n);
    } else if (st == P3D_OK) {
        float *f = (float *)host;
        for (int64_t ch = 0; ch < 3; ch++)
            for (int64_t i = 0; i < w * h; i++) f[ch * w * h + i] = (float)img.rgb[i * 3 + ch] / 255.0f;
    }
    if (st == P3D_OK) st = p3d_ctx_alloc(ctx, n * es, &r->src_mem);
    if (st == P3D_OK) st = p3d_ctx_alloc(ctx, (size_t)(tw * th * 3) * es, &r->dst_mem);
    if (st == P3D_OK) st = p3d_ctx_upload(ctx, r->src_mem, host, n * es);
    free(host);
    p3d_image_free(&img);
    if (st != P3D_OK) {
        if (r) resize_teardown(r, ctx);
        return st;
    }
    int64_t hwc_s[3] = {h, w, 3}, hwc_d[3] = {th, tw, 3}, chw_s[3] = {3, h, w}, chw_d[3] = {3, th, tw};
    r->layout = dt == P3D_U8 ? P3D_RESIZE_HWC : P3D_RESIZE_CHW;
    r->src = p3d_tensor_view(r->src_mem, dt, p3d_ctx_mem(ctx), 3, dt == P3D_U8 ? hwc_s : chw_s);
    r->dst = p3d_tensor_view(r->dst_mem, dt, p3d_ctx_mem(ctx), 3, dt == P3D_U8 ? hwc_d : chw_d);
    const char *base = strrchr(path, '/');
    snprintf(c->label, sizeof c->label, "%.60s %dx%d -> %dx%d %s", base ? base + 1 : path, (int)w, (int)h, (int)tw,
             (int)th, p3d_dtype_name(dt));
    c->state = r;
    c->run = resize_run;
    c->teardown = resize_teardown;
    c->pixels = (double)(w * h);
    return P3D_OK;
}

static p3d_status resize_u8(p3d_ctx *x, p3d_bench_case *c) { return resize_setup(x, c, P3D_U8); }
static p3d_status resize_f32(p3d_ctx *x, p3d_bench_case *c) { return resize_setup(x, c, P3D_F32); }

P3D_BENCH_TABLE(p3d_bench_stages_io) = {
    {"decode.jpeg", dec_jpeg},
    {"decode.jpeg.progressive", dec_jpeg_prog},
    {"decode.png", dec_png},
    {"resize.area.u8", resize_u8},
    {"resize.area.f32", resize_f32},
    {"depth.read.npy", dep_npy},
    {"depth.read.png16", dep_png16},
    {NULL, NULL},
};
