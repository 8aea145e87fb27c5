/* stages_depth.c - bench stages of the depth networks. The model blob is found like the program
 * finds it ($P3D_MODEL_DIR, then the user cache); the stage is skipped, with the reason, without it. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "models.h"
#include "tiefenrausch.h"

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

P3D_BENCH_TABLE(p3d_bench_stages_depth) = {
    {"depth.tiefenrausch", tief_setup},
    {NULL, NULL},
};
