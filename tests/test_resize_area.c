/* test_resize_area.c - cv::resize INTER_AREA: float32 against goldens computed independently from the
 * definition (tools/gen_resize_golden.py -> tests/data/resize_area), uint8 rounding on hand-computed
 * cases, HWC vs CHW, argument checks, and CPU vs CUDA when a GPU is present. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "io/npy.h"
#include "p3d_test.h"
#include "io/resize_area.h"

#define CASES_FILE "tests/data/resize_area/cases.txt"

typedef struct ra_case {
    char name[64];
    int32_t sh, sw, dh, dw, cn, seed;
    char rows[512];
} ra_case;

/* The generator's pattern(): an integer hash per (y, x, c), value k / 16384 - 1 with k < 65536. */
static float ra_pattern(uint32_t y, uint32_t x, uint32_t c, uint32_t seed) {
    uint32_t v = (y * 73856093u) ^ (x * 19349663u) ^ (c * 83492791u) ^ (uint32_t)((uint64_t)seed * 2654435761u);
    v ^= v >> 13;
    v *= 0x5BD1E995u;
    v ^= v >> 15;
    return (float)(v & 0xFFFFu) / 16384.0f - 1.0f;
}

/* (h, w, cn) interleaved pattern image, malloc'ed. */
static float *ra_make_input(const ra_case *k) {
    float *img = (float *)malloc(sizeof(float) * (size_t)k->sh * k->sw * k->cn);
    for (int32_t y = 0; y < k->sh; y++)
        for (int32_t x = 0; x < k->sw; x++)
            for (int32_t c = 0; c < k->cn; c++)
                img[((size_t)y * k->sw + x) * k->cn + c] = ra_pattern((uint32_t)y, (uint32_t)x, (uint32_t)c, (uint32_t)k->seed);
    return img;
}

/* (H, W, C) -> (C, H, W) */
static float *ra_to_planar(const float *hwc, int32_t h, int32_t w, int32_t cn) {
    float *chw = (float *)malloc(sizeof(float) * (size_t)h * w * cn);
    for (int64_t i = 0; i < (int64_t)h * w; i++)
        for (int32_t c = 0; c < cn; c++) chw[(int64_t)c * h * w + i] = hwc[i * cn + c];
    return chw;
}

/* Resizes an (h, w, cn) float image to (dh, dw, cn) with the CPU path in the given layout. */
static float *ra_resize_f32(const float *src, int32_t sh, int32_t sw, int32_t dh, int32_t dw, int32_t cn,
                            p3d_resize_layout layout) {
    int64_t ss[3] = {sh, sw, cn}, ds[3] = {dh, dw, cn};
    if (layout == P3D_RESIZE_CHW) {
        ss[0] = cn, ss[1] = sh, ss[2] = sw;
        ds[0] = cn, ds[1] = dh, ds[2] = dw;
    }
    float *out = (float *)calloc((size_t)dh * dw * cn, sizeof(float));
    p3d_tensor s = p3d_tensor_view((void *)src, P3D_F32, P3D_MEM_HOST, 3, ss);
    p3d_tensor d = p3d_tensor_view(out, P3D_F32, P3D_MEM_HOST, 3, ds);
    CHECK_OK(p3d_resize_area_cpu(&s, &d, layout));
    return out;
}

/* Row index list "all" or "0,12,25" -> rows[] (returns the count). */
static int32_t ra_rows(const ra_case *k, int32_t *rows, int32_t cap) {
    int32_t n = 0;
    if (strcmp(k->rows, "all") == 0) {
        for (int32_t r = 0; r < k->dh && n < cap; r++) rows[n++] = r;
        return n;
    }
    for (const char *p = k->rows; *p && n < cap; p++) {
        rows[n++] = (int32_t)strtol(p, (char **)&p, 10);
        if (!*p) break;
    }
    return n;
}

/* Compares the kept rows with the golden; returns the largest absolute difference. */
static double ra_compare(const ra_case *k, const float *out, const p3d_tensor *gold, int32_t *bad) {
    int32_t rows[2048];
    int32_t n = ra_rows(k, rows, 2048);
    double worst = 0.0;
    const float *g = p3d_tensor_f32(gold);
    CHECK(gold->ndim == 3 && gold->shape[0] == n && gold->shape[1] == k->dw && gold->shape[2] == k->cn);
    if (gold->ndim != 3 || gold->shape[0] != n) return 1e9;
    for (int32_t i = 0; i < n; i++)
        for (int64_t j = 0; j < (int64_t)k->dw * k->cn; j++) {
            double want = g[i * k->dw * k->cn + j], got = out[(int64_t)rows[i] * k->dw * k->cn + j];
            double diff = fabs(got - want);
            if (diff > worst) worst = diff;
            if (diff > 1e-5 * fmax(1.0, fabs(want))) (*bad)++;
        }
    return worst;
}

static void ra_run_case(const ra_case *k) {
    char path[256];
    snprintf(path, sizeof path, "tests/data/resize_area/%s.npy", k->name);
    p3d_tensor gold;
    CHECK_OK(p3d_npy_read(path, &gold, NULL));
    if (!gold.data) return;
    float *src = ra_make_input(k);
    float *out = ra_resize_f32(src, k->sh, k->sw, k->dh, k->dw, k->cn, P3D_RESIZE_HWC);
    int32_t bad = 0;
    double worst = ra_compare(k, out, &gold, &bad);
    fprintf(stderr, "  %-16s %4dx%-4d -> %4dx%-4d C=%d  max |cpu - golden| = %.3g\n", k->name, k->sw, k->sh, k->dw,
            k->dh, k->cn, worst);
    CHECK_MSG(bad == 0, "%s: %d values beyond 1e-5 relative", k->name, bad);
    if (k->cn > 1) { /* planar: each plane alone must give exactly the interleaved result */
        float *chw = ra_to_planar(src, k->sh, k->sw, k->cn);
        float *pout = ra_resize_f32(chw, k->sh, k->sw, k->dh, k->dw, k->cn, P3D_RESIZE_CHW);
        float *want = ra_to_planar(out, k->dh, k->dw, k->cn);
        CHECK_MSG(memcmp(pout, want, sizeof(float) * (size_t)k->dh * k->dw * k->cn) == 0, "%s: CHW != HWC", k->name);
        free(chw);
        free(pout);
        free(want);
    }
    free(src);
    free(out);
    p3d_npy_free(&gold);
}

static void test_goldens(void) {
    FILE *f = fopen(CASES_FILE, "r");
    CHECK_MSG(f != NULL, "%s missing (run tools/gen_resize_golden.py)", CASES_FILE);
    if (!f) return;
    char line[1024];
    int32_t n = 0;
    while (fgets(line, sizeof line, f)) {
        ra_case k;
        if (line[0] == '#') continue;
        if (sscanf(line, "%63s %d %d %d %d %d %d %511s", k.name, &k.sh, &k.sw, &k.dh, &k.dw, &k.cn, &k.seed, k.rows) != 8)
            continue;
        ra_run_case(&k);
        n++;
    }
    fclose(f);
    CHECK(n >= 13);
}

/* uint8 resize of a (h, w, cn) image; returns the malloc'ed (dh, dw, cn) result. */
static uint8_t *ra_resize_u8(const uint8_t *src, int32_t sh, int32_t sw, int32_t dh, int32_t dw, int32_t cn) {
    int64_t ss[3] = {sh, sw, cn}, ds[3] = {dh, dw, cn};
    uint8_t *out = (uint8_t *)calloc((size_t)dh * dw * cn, 1);
    p3d_tensor s = p3d_tensor_view((void *)src, P3D_U8, P3D_MEM_HOST, 3, ss);
    p3d_tensor d = p3d_tensor_view(out, P3D_U8, P3D_MEM_HOST, 3, ds);
    CHECK_OK(p3d_resize_area_cpu(&s, &d, P3D_RESIZE_HWC));
    return out;
}

/* 2x2 blocks: one channel rounds half up ((sum + 2) >> 2); two channels take OpenCV's generic
 * path, sum * 0.25f rounded half to even. 4x4 blocks: sum / 16 rounded half to even. */
static void test_u8_box_rounding(void) {
    const uint8_t one[4] = {1, 2, 3, 4}, half[4] = {0, 0, 1, 1};
    uint8_t *a = ra_resize_u8(one, 2, 2, 1, 1, 1), *b = ra_resize_u8(half, 2, 2, 1, 1, 1);
    CHECK(a[0] == 3); /* 10 / 4 = 2.5 -> 3 */
    CHECK(b[0] == 1); /* 2 / 4 = 0.5 -> 1 */
    const uint8_t two[8] = {1, 0, 2, 0, 3, 1, 4, 1};
    uint8_t *c = ra_resize_u8(two, 2, 2, 1, 1, 2);
    CHECK(c[0] == 2 && c[1] == 0); /* 2.5 -> 2, 0.5 -> 0 (half to even) */
    uint8_t blk[16];
    memset(blk, 0, sizeof blk);
    blk[0] = 24;
    uint8_t *d = ra_resize_u8(blk, 4, 4, 1, 1, 1);
    CHECK(d[0] == 2); /* 1.5 -> 2 */
    blk[0] = 40;
    uint8_t *e = ra_resize_u8(blk, 4, 4, 1, 1, 1);
    CHECK(e[0] == 2); /* 2.5 -> 2 */
    free(a), free(b), free(c), free(d), free(e);
}

/* 5 -> 2 (scale 2.5): weights 0.4, 0.4, 0.2 | 0.2, 0.4, 0.4. */
static void test_u8_area_weights(void) {
    const uint8_t row[5] = {10, 20, 30, 40, 50};
    uint8_t *o = ra_resize_u8(row, 1, 5, 1, 2, 1);
    CHECK(o[0] == 18 && o[1] == 42);
    const uint8_t sat[5] = {255, 255, 255, 255, 255};
    uint8_t *s = ra_resize_u8(sat, 1, 5, 1, 2, 1);
    CHECK(s[0] == 255 && s[1] == 255); /* float weights summing past 1 saturate, never wrap */
    free(o), free(s);
}

/* Enlargement, 11-bit fixed point: [10, 21] -> [10, 16, 21] (the middle is 15.5 -> 16) and a 2x2 -> 3x3
 * whose centre is ((1024 * (261120 >> 4)) >> 16) + ((1024 * (522240 >> 4)) >> 16) + 2 >> 2 = 191. */
static void test_u8_linear_fixed_point(void) {
    const uint8_t row[2] = {10, 21};
    uint8_t *o = ra_resize_u8(row, 1, 2, 1, 3, 1);
    CHECK(o[0] == 10 && o[1] == 16 && o[2] == 21);
    const uint8_t sq[4] = {0, 255, 255, 255};
    uint8_t *q = ra_resize_u8(sq, 2, 2, 3, 3, 1);
    CHECK(q[0] == 0 && q[1] == 128 && q[4] == 191 && q[8] == 255);
    free(o), free(q);
}

/* For integer-valued input the uint8 area paths equal the float path rounded half to even. */
static void test_u8_matches_f32(void) {
    const int32_t sizes[][4] = {{30, 50, 13, 21}, {48, 48, 16, 16}, {37, 41, 37, 20}};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        int32_t sh = sizes[t][0], sw = sizes[t][1], dh = sizes[t][2], dw = sizes[t][3], cn = 3;
        size_t n = (size_t)sh * sw * cn, m = (size_t)dh * dw * cn;
        uint8_t *u = (uint8_t *)malloc(n);
        float *f = (float *)malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) u[i] = (uint8_t)((i * 2654435761u) >> 24), f[i] = u[i];
        uint8_t *uo = ra_resize_u8(u, sh, sw, dh, dw, cn);
        float *fo = ra_resize_f32(f, sh, sw, dh, dw, cn, P3D_RESIZE_HWC);
        int32_t bad = 0;
        for (size_t i = 0; i < m; i++) bad += uo[i] != (uint8_t)fminf(255.0f, fmaxf(0.0f, rintf(fo[i])));
        CHECK_MSG(bad == 0, "case %zu: %d uint8 values differ from the rounded float path", t, bad);
        free(u), free(f), free(uo), free(fo);
    }
}

static void test_bad_arguments(void) {
    float buf[64] = {0};
    uint8_t ub[64] = {0};
    int64_t s2[2] = {4, 4}, s3[3] = {4, 2, 5}, d3[3] = {2, 1, 5}, d2b[2] = {2, 2};
    p3d_tensor a = p3d_tensor_view(buf, P3D_F32, P3D_MEM_HOST, 2, s2);
    p3d_tensor u = p3d_tensor_view(ub, P3D_U8, P3D_MEM_HOST, 2, d2b);
    CHECK_FAILS(p3d_resize_area_cpu(&a, &u, P3D_RESIZE_HWC), P3D_ERR_INVALID_ARG, "dtypes");
    p3d_tensor c5 = p3d_tensor_view(buf, P3D_F32, P3D_MEM_HOST, 3, s3);
    p3d_tensor c5d = p3d_tensor_view(buf, P3D_F32, P3D_MEM_HOST, 3, d3);
    CHECK_FAILS(p3d_resize_area_cpu(&c5, &c5d, P3D_RESIZE_HWC), P3D_ERR_INVALID_ARG, "channels");
    int64_t dch[3] = {3, 2, 2};
    p3d_tensor pl = p3d_tensor_view(buf, P3D_F32, P3D_MEM_HOST, 3, s3);
    p3d_tensor pl2 = p3d_tensor_view(buf, P3D_F32, P3D_MEM_HOST, 3, dch);
    CHECK_FAILS(p3d_resize_area_cpu(&pl, &pl2, P3D_RESIZE_CHW), P3D_ERR_INVALID_ARG, "planes");
}

/* One CUDA resize of src (host bytes, shape ss) into a (dshape) result, downloaded into out. */
static void ra_cuda(p3d_ctx *ctx, p3d_dtype dt, p3d_resize_layout layout, const void *src, const int64_t ss[3],
                    const int64_t dsh[3], void *out) {
    const size_t es = dt == P3D_U8 ? 1 : sizeof(float);
    const size_t sb = es * (size_t)(ss[0] * ss[1] * ss[2]), db = es * (size_t)(dsh[0] * dsh[1] * dsh[2]);
    void *ds = NULL, *dd = NULL;
    CHECK_OK(p3d_ctx_alloc(ctx, sb, &ds));
    CHECK_OK(p3d_ctx_alloc(ctx, db, &dd));
    CHECK_OK(p3d_ctx_upload(ctx, ds, src, sb));
    p3d_tensor s = p3d_tensor_view(ds, dt, P3D_MEM_CUDA, 3, ss), d = p3d_tensor_view(dd, dt, P3D_MEM_CUDA, 3, dsh);
    CHECK_OK(p3d_resize_area(ctx, &s, &d, layout));
    CHECK_OK(p3d_ctx_download(ctx, out, dd, db));
    p3d_ctx_release(ctx, ds);
    p3d_ctx_release(ctx, dd);
}

/* CPU vs CUDA, bit for bit, on every path (float HWC, float CHW, uint8 HWC; shrink, enlarge, integer
 * and fractional scales); a SKIP without a usable GPU. */
static void test_cuda_matches_cpu(void) {
    p3d_device dev;
    CHECK_OK(p3d_device_parse("cuda", &dev));
    if (!p3d_cuda_compiled() || p3d_device_resolve(&dev) != P3D_OK) {
        SKIP_GPU("no usable CUDA device: %s", p3d_cuda_compiled() ? p3d_last_error() : "CUDA backend not compiled");
        return;
    }
    p3d_t_gpu_present = 1;
    p3d_ctx *ctx = NULL;
    CHECK_OK(p3d_ctx_init(&ctx, dev));
    if (!ctx) return;
    const int32_t sizes[][4] = {{48, 64, 24, 32}, {512, 384, 192, 144}, {96, 72, 256, 192}, {20, 30, 45, 12}, {30, 30, 30, 30}};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        ra_case k = {"cuda", sizes[t][0], sizes[t][1], sizes[t][2], sizes[t][3], 3, (int32_t)t, "all"};
        const size_t n = (size_t)k.dh * k.dw * k.cn, ns = (size_t)k.sh * k.sw * k.cn;
        float *src = ra_make_input(&k);
        float *gpu = (float *)malloc(n * sizeof(float));
        /* float, HWC */
        float *cpu = ra_resize_f32(src, k.sh, k.sw, k.dh, k.dw, k.cn, P3D_RESIZE_HWC);
        const int64_t hs[3] = {k.sh, k.sw, k.cn}, hd[3] = {k.dh, k.dw, k.cn};
        ra_cuda(ctx, P3D_F32, P3D_RESIZE_HWC, src, hs, hd, gpu);
        CHECK_MSG(memcmp(cpu, gpu, n * sizeof(float)) == 0, "case %zu: CUDA differs from the CPU (f32 HWC)", t);
        free(cpu);
        /* float, CHW */
        float *chw = ra_to_planar(src, k.sh, k.sw, k.cn);
        cpu = ra_resize_f32(chw, k.sh, k.sw, k.dh, k.dw, k.cn, P3D_RESIZE_CHW);
        const int64_t ps[3] = {k.cn, k.sh, k.sw}, pd[3] = {k.cn, k.dh, k.dw};
        ra_cuda(ctx, P3D_F32, P3D_RESIZE_CHW, chw, ps, pd, gpu);
        CHECK_MSG(memcmp(cpu, gpu, n * sizeof(float)) == 0, "case %zu: CUDA differs from the CPU (f32 CHW)", t);
        free(cpu), free(chw);
        /* uint8, HWC */
        uint8_t *u8 = (uint8_t *)malloc(ns), *ug = (uint8_t *)malloc(n);
        for (size_t i = 0; i < ns; i++) u8[i] = (uint8_t)(src[i] * 255.0f);
        uint8_t *uc = ra_resize_u8(u8, k.sh, k.sw, k.dh, k.dw, k.cn);
        ra_cuda(ctx, P3D_U8, P3D_RESIZE_HWC, u8, hs, hd, ug);
        CHECK_MSG(memcmp(uc, ug, n) == 0, "case %zu: CUDA differs from the CPU (u8 HWC)", t);
        free(u8), free(uc), free(ug), free(src), free(gpu);
    }
    p3d_ctx_free(ctx);
}

int main(void) {
    RUN(test_goldens);
    RUN(test_u8_box_rounding);
    RUN(test_u8_area_weights);
    RUN(test_u8_linear_fixed_point);
    RUN(test_u8_matches_f32);
    RUN(test_bad_arguments);
    RUN(test_cuda_matches_cpu);
    return p3d_test_finish();
}
