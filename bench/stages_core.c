/* stages_core.c - bench stages of the backend itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* copy.upload: one 960x960 RGB float image (the pipeline's processing size) from host memory into
 * the context's memory - the cost every stage pays to move its input to the GPU. */
typedef struct upload_state {
    float *host;
    void *dev;
    size_t bytes;
} upload_state;

static p3d_status upload_run(void *s, p3d_ctx *ctx) {
    upload_state *u = (upload_state *)s;
    return p3d_ctx_upload(ctx, u->dev, u->host, u->bytes);
}

static void upload_teardown(void *s, p3d_ctx *ctx) {
    upload_state *u = (upload_state *)s;
    p3d_ctx_release(ctx, u->dev);
    free(u->host);
    free(u);
}

static p3d_status upload_setup(p3d_ctx *ctx, p3d_bench_case *c) {
    upload_state *u = (upload_state *)calloc(1, sizeof *u);
    if (!u) return p3d_fail(P3D_ERR_OOM, "copy.upload: out of memory");
    u->bytes = (size_t)960 * 960 * 3 * sizeof(float);
    u->host = (float *)malloc(u->bytes);
    p3d_status st = u->host ? p3d_ctx_alloc(ctx, u->bytes, &u->dev) : p3d_fail(P3D_ERR_OOM, "copy.upload: out of memory");
    if (st != P3D_OK) {
        free(u->host);
        free(u);
        return st;
    }
    memset(u->host, 0, u->bytes);
    c->state = u;
    c->run = upload_run;
    c->teardown = upload_teardown;
    c->pixels = 960.0 * 960.0;
    snprintf(c->label, sizeof c->label, "960x960x3 f32 (%.1f MB)", (double)u->bytes / 1e6);
    return P3D_OK;
}

P3D_BENCH_TABLE(p3d_bench_stages_core) = {
    {"copy.upload", upload_setup},
    {NULL, NULL},
};
