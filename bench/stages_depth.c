/* stages_depth.c - bench stages of the depth networks. The model blob is found like the program
 * finds it ($P3D_MODEL_DIR, then the user cache); the MiDaS stages fall back to the random-weight blobs in
 * p3d_bench_weights_dir() (timing does not depend on the values). A stage is skipped, with the reason,
 * without its blob. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"
#include "core/models.h"
#include "depth/depth_prep.h"
#include "depth/midas.h"
#include "depth/midas_v21.h"
#include "depth/tiefenrausch.h"
#include "io/depth_io.h"

typedef struct tief_state {
    p3d_tief *net;
    p3d_tensor x, disp; /* (1, 3, H, W) f32 and (H, W) f32, in the context's memory */
    void *x_mem, *disp_mem;
} tief_state;

static p3d_status tief_run(void *s, p3d_ctx *ctx) {
    (void)ctx;
    tief_state *t = (tief_state *)s;
    return p3d_tief_forward(t->net, &t->x, &t->disp);
}

static void tief_teardown(void *s, p3d_ctx *ctx) {
    tief_state *t = (tief_state *)s;
    p3d_tief_free(t->net);
    p3d_ctx_release(ctx, t->x_mem);
    p3d_ctx_release(ctx, t->disp_mem);
    free(t);
}

/* Tiefenrausch at the reference CLI's size for a 3:4 photo (384 x 288), on a smooth test pattern. */
static p3d_status tief_setup(p3d_ctx *ctx, p3d_bench_case *c) {
    char path[1100];
    if (!p3d_model_find(NULL, p3d_model_by_name("tiefenrausch"), path, sizeof path))
        return p3d_fail(P3D_ERR_UNSUPPORTED, "tiefenrausch.p3dw not installed (set P3D_MODEL_DIR)");
    const int32_t h = 384, w = 288;
    tief_state *t = (tief_state *)calloc(1, sizeof *t);
    float *host = (float *)malloc(sizeof(float) * 3 * h * w);
    p3d_status st = (t && host) ? P3D_OK : p3d_fail(P3D_ERR_OOM, "out of memory");
    for (int32_t i = 0; st == P3D_OK && i < 3 * h * w; i++) host[i] = (float)((i * 7) % 256) / 255.0f;
    if (st == P3D_OK) st = p3d_tief_load(ctx, path, &t->net);
    if (st == P3D_OK) st = p3d_ctx_alloc(ctx, sizeof(float) * 3 * h * w, &t->x_mem);
    if (st == P3D_OK) st = p3d_ctx_alloc(ctx, sizeof(float) * h * w, &t->disp_mem);
    if (st == P3D_OK) st = p3d_ctx_upload(ctx, t->x_mem, host, sizeof(float) * 3 * h * w);
    if (st == P3D_OK) st = p3d_tief_plan(t->net, h, w);
    free(host);
    if (st != P3D_OK) {
        if (t) tief_teardown(t, ctx);
        return st;
    }
    int64_t xs[4] = {1, 3, h, w}, ds[2] = {h, w};
    t->x = p3d_tensor_view(t->x_mem, P3D_F32, p3d_ctx_mem(ctx), 4, xs);
    t->disp = p3d_tensor_view(t->disp_mem, P3D_F32, p3d_ctx_mem(ctx), 2, ds);
    snprintf(c->label, sizeof c->label, "INT8, 1x3x%dx%d", (int)h, (int)w);
    c->state = t;
    c->run = tief_run;
    c->teardown = tief_teardown;
    c->pixels = (double)h * w;
    c->macs = (double)p3d_tief_macs(t->net, h, w);
    return P3D_OK;
}

/* The installed blob of model `name`, else <p3d_bench_weights_dir()>/<name>-random.p3dw (written by `tool`);
 * P3D_ERR_UNSUPPORTED, the stage's skip reason, when neither exists. */
static p3d_status midas_blob(const char *name, const char *tool, char *path, size_t cap, int *installed) {
    *installed = p3d_model_find(NULL, p3d_model_by_name(name), path, cap);
    if (*installed) return P3D_OK;
    snprintf(path, cap, "%s/%s-random.p3dw", p3d_bench_weights_dir(), name);
    if (access(path, R_OK) != 0)
        return p3d_fail(P3D_ERR_UNSUPPORTED, "%s.p3dw not installed (P3D_MODEL_DIR) and %s not found (write it "
                        "with %s, then --weights-dir DIR)", name, path, tool);
    return P3D_OK;
}

typedef struct midas1_state {
    p3d_midas1 *net;
    p3d_tensor x, y; /* (1, 3, H, W) -> (1, 1, H, W), context memory */
} midas1_state;

static p3d_status midas1_run(void *s, p3d_ctx *ctx) {
    (void)ctx;
    midas1_state *m = (midas1_state *)s;
    return p3d_midas1_forward(m->net, &m->x, &m->y);
}

static void midas1_teardown(void *s, p3d_ctx *ctx) {
    midas1_state *m = (midas1_state *)s;
    p3d_midas1_free(m->net);
    p3d_ctx_release(ctx, m->x.data);
    p3d_ctx_release(ctx, m->y.data);
    free(m);
}

/* MiDaS v1 forward() at the reference's size for a 3:2 photo (960x640 -> 384x256, 41.2 GMAC), the input
 * already in the context's memory (the INTER_AREA preprocessing is not timed). */
static p3d_status midas1_setup(p3d_ctx *ctx, p3d_bench_case *c) {
    char path[1100];
    const int64_t h = 256, w = 384, xs[4] = {1, 3, h, w}, ys[4] = {1, 1, h, w};
    int installed = 0;
    P3D_TRY(midas_blob("midas-v1", "tools/make_test_weights.py DIR --model midas-v1", path, sizeof path, &installed));
    const char *weights = installed ? "midas-v1.p3dw" : "random weights";
    midas1_state *m = (midas1_state *)calloc(1, sizeof *m);
    float *host = (float *)malloc(sizeof(float) * 3 * h * w);
    void *xd = NULL, *yd = NULL;
    p3d_status st = (m && host) ? P3D_OK : p3d_fail(P3D_ERR_OOM, "out of memory");
    for (int64_t i = 0; st == P3D_OK && i < 3 * h * w; i++) host[i] = (float)((i * 7) % 256) / 255.0f;
    if (st == P3D_OK) st = p3d_midas1_load(ctx, path, &m->net);
    if (st == P3D_OK) st = p3d_ctx_alloc(ctx, sizeof(float) * 3 * h * w, &xd);
    if (st == P3D_OK) st = p3d_ctx_alloc(ctx, sizeof(float) * h * w, &yd);
    if (m) {
        m->x = p3d_tensor_view(xd, P3D_F32, p3d_ctx_mem(ctx), 4, xs);
        m->y = p3d_tensor_view(yd, P3D_F32, p3d_ctx_mem(ctx), 4, ys);
    }
    if (st == P3D_OK) st = p3d_ctx_upload(ctx, xd, host, sizeof(float) * 3 * h * w);
    if (st == P3D_OK) st = p3d_midas1_plan(m->net, 1, h, w);
    free(host);
    if (st != P3D_OK) {
        if (m) midas1_teardown(m, ctx);
        return st;
    }
    snprintf(c->label, sizeof c->label, "f32, 1x3x%dx%d, %s", (int)h, (int)w, weights);
    c->state = m;
    c->run = midas1_run;
    c->teardown = midas1_teardown;
    c->pixels = (double)h * w;
    c->macs = (double)p3d_midas1_macs(m->net, 1, h, w);
    return P3D_OK;
}

typedef struct midas_state {
    p3d_midas21 *net;
    p3d_tensor x, depth; /* (1, 3, S, S) f32 and (S, S) f32, in the context's memory */
    void *x_mem, *depth_mem;
} midas_state;

static p3d_status midas_run(void *s, p3d_ctx *ctx) {
    (void)ctx;
    midas_state *m = (midas_state *)s;
    return p3d_midas21_forward(m->net, &m->x, &m->depth);
}

static void midas_teardown(void *s, p3d_ctx *ctx) {
    midas_state *m = (midas_state *)s;
    p3d_midas21_free(m->net);
    p3d_ctx_release(ctx, m->x_mem);
    p3d_ctx_release(ctx, m->depth_mem);
    free(m);
}

/* MiDaS v2.1 forward at its native square size (run.py's net_w = net_h), on a smooth test pattern. */
static p3d_status midas_setup(p3d_ctx *ctx, p3d_bench_case *c, p3d_midas21_kind kind) {
    const char *name = p3d_midas21_kind_name(kind);
    char path[1100];
    int installed = 0;
    P3D_TRY(midas_blob(name, "tools/make_midas21_weights.py DIR", path, sizeof path, &installed));
    const int32_t s = p3d_midas21_native_size(kind);
    midas_state *m = (midas_state *)calloc(1, sizeof *m);
    float *host = (float *)malloc(sizeof(float) * 3 * s * s);
    p3d_status st = (m && host) ? P3D_OK : p3d_fail(P3D_ERR_OOM, "out of memory");
    for (int32_t i = 0; st == P3D_OK && i < 3 * s * s; i++) host[i] = (float)((i * 7) % 256) / 128.0f - 1.0f;
    if (st == P3D_OK) st = p3d_midas21_load(ctx, path, kind, &m->net);
    if (st == P3D_OK) c->macs = (double)p3d_midas21_macs(m->net, s, s);
    if (st == P3D_OK && p3d_bench_max_macs() > 0 && c->macs > p3d_bench_max_macs())
        st = p3d_fail(P3D_ERR_UNSUPPORTED, "%.0f GMAC per run is over the --max-gmac budget of %.0f", c->macs * 1e-9,
                      p3d_bench_max_macs() * 1e-9);
    size_t bytes = 0;
    if (st == P3D_OK) st = p3d_midas21_arena_bytes(m->net, s, s, &bytes);
    if (st == P3D_OK && bytes > p3d_bench_memory_budget(ctx))
        st = p3d_fail(P3D_ERR_UNSUPPORTED, "activations need %.1f GB, over the memory budget", bytes / 1e9);
    if (st == P3D_OK) st = p3d_ctx_alloc(ctx, sizeof(float) * 3 * s * s, &m->x_mem);
    if (st == P3D_OK) st = p3d_ctx_alloc(ctx, sizeof(float) * s * s, &m->depth_mem);
    if (st == P3D_OK) st = p3d_ctx_upload(ctx, m->x_mem, host, sizeof(float) * 3 * s * s);
    if (st == P3D_OK) st = p3d_midas21_plan(m->net, s, s);
    free(host);
    if (st != P3D_OK) {
        if (m) midas_teardown(m, ctx);
        return st;
    }
    const int64_t xs[4] = {1, 3, s, s}, ds[2] = {s, s};
    m->x = p3d_tensor_view(m->x_mem, P3D_F32, p3d_ctx_mem(ctx), 4, xs);
    m->depth = p3d_tensor_view(m->depth_mem, P3D_F32, p3d_ctx_mem(ctx), 2, ds);
    snprintf(c->label, sizeof c->label, "f32, 1x3x%dx%d, %s weights", (int)s, (int)s,
             installed ? "installed" : "random");
    c->state = m;
    c->run = midas_run;
    c->teardown = midas_teardown;
    c->pixels = (double)s * s;
    return P3D_OK;
}

static p3d_status midas_small_setup(p3d_ctx *ctx, p3d_bench_case *c) { return midas_setup(ctx, c, P3D_MIDAS21_SMALL); }
static p3d_status midas_large_setup(p3d_ctx *ctx, p3d_bench_case *c) { return midas_setup(ctx, c, P3D_MIDAS21_LARGE); }

/* Depth preparation (depth_prep.h) of the reference's moon.npy (640x640 MiDaS v1 disparity) at 960x960:
 * "full" from the decoded map in host memory to the filtered depth in host memory (fill, normalise,
 * blur, resize on the host; the 4 filter passes on the context's device, with the transfers), "sharpen"
 * the filter passes alone on the unfiltered map, both buffers in the context's memory. */
typedef struct prep_state {
    p3d_depth map;
    p3d_depth_prep_opts opts;
    float *host_out;  /* (960, 960) host */
    void *src, *dst;  /* (960, 960) context memory, sharpen only */
} prep_state;

#define PREP_SIDE 960

static p3d_status prep_full_run(void *s, p3d_ctx *ctx) {
    prep_state *p = (prep_state *)s;
    return p3d_depth_prepare(ctx, &p->map, PREP_SIDE, PREP_SIDE, &p->opts, p->host_out, NULL);
}

static p3d_status prep_sharpen_run(void *s, p3d_ctx *ctx) {
    prep_state *p = (prep_state *)s;
    return p3d_depth_sharpen(ctx, (const float *)p->src, (float *)p->dst, PREP_SIDE, PREP_SIDE, &p->opts);
}

static void prep_teardown(void *s, p3d_ctx *ctx) {
    prep_state *p = (prep_state *)s;
    p3d_depth_free(&p->map);
    free(p->host_out);
    p3d_ctx_release(ctx, p->src);
    p3d_ctx_release(ctx, p->dst);
    free(p);
}

static p3d_status prep_setup(p3d_ctx *ctx, p3d_bench_case *c, int sharpen_only) {
    char buf[1100];
    const char *path = p3d_bench_fixture("moon/moon.npy", buf, sizeof buf);
    if (!path) return p3d_fail(P3D_ERR_UNSUPPORTED, "../shared/fixtures/moon/moon.npy not found");
    const size_t bytes = sizeof(float) * PREP_SIDE * PREP_SIDE;
    prep_state *p = (prep_state *)calloc(1, sizeof *p);
    if (!p) return p3d_fail(P3D_ERR_OOM, "out of memory");
    p->opts = p3d_depth_prep_opts_default();
    p->host_out = (float *)malloc(bytes);
    p3d_status st = p->host_out ? p3d_depth_read(path, NULL, &p->map) : p3d_fail(P3D_ERR_OOM, "out of memory");
    if (st == P3D_OK && sharpen_only) {
        st = p3d_depth_prep_normalize(&p->map, PREP_SIDE, PREP_SIDE, &p->opts, p->host_out, NULL);
        if (st == P3D_OK) st = p3d_ctx_alloc(ctx, bytes, &p->src);
        if (st == P3D_OK) st = p3d_ctx_alloc(ctx, bytes, &p->dst);
        if (st == P3D_OK) st = p3d_ctx_upload(ctx, p->src, p->host_out, bytes);
    }
    if (st != P3D_OK) {
        prep_teardown(p, ctx);
        return st;
    }
    snprintf(c->label, sizeof c->label, "moon.npy %dx%d -> %dx%d, %d passes (7 7 5 5)%s", (int)p->map.width,
             (int)p->map.height, PREP_SIDE, PREP_SIDE, (int)p->opts.n_passes, sharpen_only ? "" : ", host in/out");
    c->state = p;
    c->run = sharpen_only ? prep_sharpen_run : prep_full_run;
    c->teardown = prep_teardown;
    c->pixels = (double)PREP_SIDE * PREP_SIDE;
    return P3D_OK;
}

static p3d_status prep_full_setup(p3d_ctx *ctx, p3d_bench_case *c) { return prep_setup(ctx, c, 0); }
static p3d_status prep_sharpen_setup(p3d_ctx *ctx, p3d_bench_case *c) { return prep_setup(ctx, c, 1); }

P3D_BENCH_TABLE(p3d_bench_stages_depth) = {
    {"depth.prep.full", prep_full_setup},
    {"depth.prep.sharpen", prep_sharpen_setup},
    {"depth.tiefenrausch", tief_setup},
    {"depth.midas-v1", midas1_setup},
    {"depth.midas-small", midas_small_setup},
    {"depth.midas-large", midas_large_setup},
    {NULL, NULL},
};
