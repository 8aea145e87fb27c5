/* test_ctx.h - the contexts the tests run on: the CPU's, and the first CUDA device's or the reason
 * there is none (a CPU-vs-CUDA comparison then SKIPs with it, SKIP_GPU in p3d_test.h, which fails
 * instead where a GPU is required). Include after p3d_test.h. */
#ifndef P3D_TEST_CTX_H
#define P3D_TEST_CTX_H

#include <stdio.h>
#include <stdlib.h>

#include "core/backend.h"

static inline p3d_ctx *cpu_ctx(void) {
    p3d_device dev = {P3D_DEVICE_CPU, 0};
    p3d_ctx *ctx = NULL;
    if (p3d_ctx_init(&ctx, dev) != P3D_OK) {
        fprintf(stderr, "cannot create a CPU context: %s\n", p3d_last_error());
        exit(2);
    }
    return ctx;
}

/* A context on the first usable CUDA device, or NULL with the reason (for the SKIPs) in why. */
static inline p3d_ctx *cuda_ctx_or_why(char *why, size_t cap) {
    p3d_device dev;
    p3d_ctx *ctx = NULL;
    if (p3d_device_parse("cuda", &dev) != P3D_OK || p3d_device_resolve(&dev) != P3D_OK) {
        snprintf(why, cap, "%s", p3d_last_error());
        return NULL;
    }
    p3d_t_gpu_present = 1; /* a device exists: a context that cannot be created fails the comparisons */
    if (p3d_ctx_init(&ctx, dev) != P3D_OK) {
        snprintf(why, cap, "%s", p3d_last_error());
        return NULL;
    }
    return ctx;
}

/* The same, or NULL after SKIP_GPU("<what> not run: <reason>"). */
static inline p3d_ctx *cuda_ctx_or_skip(const char *what) {
    char why[600];
    p3d_ctx *ctx = cuda_ctx_or_why(why, sizeof why);
    if (!ctx) SKIP_GPU("%s not run: %s", what, why);
    return ctx;
}

#endif
