/* test_fill_gather.c - the non-learned fill's static block built from its level-0 labels
 * (host/inpaint/fill_gather.h, issue 14): the CPU build against an independent reference written
 * here (labels reduced by counting children, valid centres from a summed-area table, lists by a
 * plain scan), the emulated or real CUDA build against the CPU's byte for byte (SKIP without a
 * device), the patch inputs packed on the host and unpacked on the CPU and the device, the filled
 * patch's results compacted to the mask on both and unpacked on the host, and the refusals of malformed
 * descriptions. */
#include "p3d_test.h"

#include <stdint.h>

#include "inpaint/fill_classic_math.h"
#include "inpaint/fill_gather.h"
#include "inpaint/fill_gather_math.h"
#include "nn_oracle.h"

static p3d_ctx *g_cpu, *g_gpu;
static char g_why[256];

static uint32_t g_rng = 12345u;
static uint32_t rnd(void) {
    g_rng = g_rng * 1664525u + 1013904223u;
    return g_rng >> 8;
}

/* A block laid out like the fill's: a membrane pyramid (any-context reduction down to 8 px) and a
 * PatchMatch pyramid (all-context reduction, `scales` levels, sources searched on the first
 * `searched`), every buffer 64-byte aligned; the row scratch at the end. */
typedef struct layout {
    p3d_fill_static d;
    size_t bytes;
} layout;

static int64_t take(size_t *at, size_t bytes) {
    const int64_t off = (int64_t)*at;
    *at += (bytes + 63) / 64 * 64;
    return off;
}

static void make_layout(layout *L, int32_t w, int32_t h, int32_t r, int32_t scales, int32_t searched) {
    memset(L, 0, sizeof *L);
    size_t at = 0;
    p3d_fill_static *d = &L->d;
    d->r = r;
    for (int32_t lw = w, lh = h, l = 0;; l++) {
        const size_t n = (size_t)lw * lh;
        d->lv[d->n] = (p3d_fill_static_level){lw, lh, l ? P3D_FILL_STATIC_DOWN : P3D_FILL_STATIC_GIVEN, d->n - 1, 0,
                                              take(&at, n), take(&at, n * 4), -1, -1};
        d->n++;
        if ((lw > lh ? lw : lh) <= 8) break;
        lw = (lw + 1) / 2, lh = (lh + 1) / 2;
    }
    for (int32_t lw = w, lh = h, l = 0; l < scales; l++) {
        const size_t n = (size_t)lw * lh;
        d->lv[d->n] = (p3d_fill_static_level){lw, lh, l ? P3D_FILL_STATIC_DOWN : P3D_FILL_STATIC_COPY, l ? d->n - 1 : 0,
                                              1, take(&at, n), take(&at, n * 4), -1, -1};
        if (l < searched) d->lv[d->n].valid = take(&at, n), d->lv[d->n].sources = take(&at, n * 4);
        d->n++;
        lw = (lw + 1) / 2, lh = (lh + 1) / 2;
    }
    d->scratch = take(&at, ((size_t)h + 1) * 4);
    L->bytes = at;
}

/* Level-0 labels: random rectangles of context and mask over unknown (the mask wins). */
static void make_labels(uint8_t *label, int32_t w, int32_t h) {
    memset(label, P3D_FILL_UNKNOWN, (size_t)w * h);
    for (int32_t k = 0; k < 24; k++) {
        const int32_t x0 = (int32_t)(rnd() % (uint32_t)w), y0 = (int32_t)(rnd() % (uint32_t)h);
        const int32_t x1 = x0 + 1 + (int32_t)(rnd() % (uint32_t)(w / 2 + 1)), y1 = y0 + 1 + (int32_t)(rnd() % (uint32_t)(h / 2 + 1));
        const uint8_t v = k % 3 == 2 ? P3D_FILL_MASK : P3D_FILL_CONTEXT;
        for (int32_t y = y0; y < y1 && y < h; y++)
            for (int32_t x = x0; x < x1 && x < w; x++)
                if (label[y * w + x] != P3D_FILL_MASK) label[y * w + x] = v;
    }
}

/* The reference, independent of fill_gather_math.h. Returns the number of mismatches. */
static int32_t check_reference(const uint8_t *b, const p3d_fill_static *d) {
    int32_t bad = 0;
    for (int32_t l = 0; l < d->n; l++) {
        const p3d_fill_static_level *v = &d->lv[l];
        const uint8_t *label = b + v->label;
        if (v->how != P3D_FILL_STATIC_GIVEN) {
            const p3d_fill_static_level *f = &d->lv[v->from];
            const uint8_t *fl = b + f->label;
            for (int32_t y = 0; y < v->h; y++)
                for (int32_t x = 0; x < v->w; x++) {
                    int32_t want;
                    if (v->how == P3D_FILL_STATIC_COPY) {
                        want = fl[y * v->w + x];
                    } else {
                        int32_t n = 0, c = 0, m = 0;
                        for (int32_t k = 0; k < 4; k++) {
                            const int32_t fx = 2 * x + (k & 1), fy = 2 * y + (k >> 1);
                            if (fx < f->w && fy < f->h) n++, c += fl[fy * f->w + fx] == 1, m += fl[fy * f->w + fx] == 2;
                        }
                        want = (v->all_context ? c == n : c > 0) ? 1 : m ? 2 : 0;
                    }
                    bad += label[y * v->w + x] != want;
                }
        }
        const int32_t *list = (const int32_t *)(b + v->list);
        int32_t k = 0;
        for (int32_t i = 0; i < v->w * v->h; i++)
            if (label[i] == P3D_FILL_MASK) bad += list[k++] != i;
        if (v->valid < 0) continue;
        /* summed-area table of the context */
        const int32_t w = v->w, h = v->h, sw = w + 1, r = d->r;
        int32_t *sat = (int32_t *)calloc((size_t)(w + 1) * (h + 1), sizeof *sat);
        for (int32_t y = 0; y < h; y++)
            for (int32_t x = 0; x < w; x++)
                sat[(y + 1) * sw + x + 1] = sat[y * sw + x + 1] + sat[(y + 1) * sw + x] - sat[y * sw + x] +
                                            (label[y * w + x] == P3D_FILL_CONTEXT);
        const int32_t *src = (const int32_t *)(b + v->sources);
        k = 0;
        for (int32_t y = 0; y < h; y++)
            for (int32_t x = 0; x < w; x++) {
                int ok = x - r >= 0 && y - r >= 0 && x + r < w && y + r < h;
                if (ok) ok = sat[(y + r + 1) * sw + x + r + 1] - sat[(y - r) * sw + x + r + 1] - sat[(y + r + 1) * sw + x - r] +
                             sat[(y - r) * sw + x - r] == (2 * r + 1) * (2 * r + 1);
                bad += b[v->valid + y * w + x] != ok;
                if (ok) bad += src[k++] != P3D_FILL_XY(x, y);
            }
        free(sat);
    }
    return bad;
}

/* Bytes the build wrote (labels, list and source entries up to their counts, valid flags) that differ
 * between blocks a and b; a's counts decide. */
static int32_t compare_built(const uint8_t *a, const uint8_t *b, const p3d_fill_static *d) {
    int32_t bad = 0;
    for (int32_t l = 0; l < d->n; l++) {
        const p3d_fill_static_level *v = &d->lv[l];
        const size_t n = (size_t)v->w * v->h;
        int32_t nm = 0, ns = 0;
        for (size_t i = 0; i < n; i++) nm += a[v->label + i] == P3D_FILL_MASK;
        bad += memcmp(a + v->label, b + v->label, n) != 0;
        bad += memcmp(a + v->list, b + v->list, (size_t)nm * 4) != 0;
        if (v->valid < 0) continue;
        for (size_t i = 0; i < n; i++) ns += a[v->valid + i] != 0;
        bad += memcmp(a + v->valid, b + v->valid, n) != 0;
        bad += memcmp(a + v->sources, b + v->sources, (size_t)ns * 4) != 0;
    }
    return bad;
}

static const int32_t g_sizes[][5] = {
    /* w, h, r, scales, searched */
    {97, 61, 3, 4, 3}, {160, 96, 3, 4, 4}, {33, 200, 2, 3, 1}, {7, 5, 1, 1, 1}, {301, 129, 7, 4, 2},
};

static void test_cpu_reference(void) {
    for (size_t c = 0; c < sizeof g_sizes / sizeof g_sizes[0]; c++) {
        layout L;
        make_layout(&L, g_sizes[c][0], g_sizes[c][1], g_sizes[c][2], g_sizes[c][3], g_sizes[c][4]);
        uint8_t *b = (uint8_t *)calloc(L.bytes, 1);
        make_labels(b + L.d.lv[0].label, g_sizes[c][0], g_sizes[c][1]);
        CHECK_OK(p3d_fill_static_build(g_cpu, b, &L.d));
        const int32_t bad = check_reference(b, &L.d);
        CHECK_MSG(bad == 0, "case %d (%dx%d): %d elements differ from the reference", (int)c, (int)g_sizes[c][0],
                  (int)g_sizes[c][1], (int)bad);
        free(b);
    }
}

static void test_cuda_matches_cpu(void) {
    if (!g_gpu) {
        SKIP_GPU("CPU-vs-CUDA comparison not run: %s", g_why);
        return;
    }
    for (size_t c = 0; c < sizeof g_sizes / sizeof g_sizes[0]; c++) {
        layout L;
        make_layout(&L, g_sizes[c][0], g_sizes[c][1], g_sizes[c][2], g_sizes[c][3], g_sizes[c][4]);
        uint8_t *cpu = (uint8_t *)calloc(L.bytes, 1), *got = (uint8_t *)malloc(L.bytes);
        make_labels(cpu + L.d.lv[0].label, g_sizes[c][0], g_sizes[c][1]);
        /* the device block starts as garbage except level 0's labels: the build must write everything */
        memset(got, 0xa5, L.bytes);
        memcpy(got + L.d.lv[0].label, cpu + L.d.lv[0].label, (size_t)g_sizes[c][0] * g_sizes[c][1]);
        CHECK_OK(p3d_fill_static_build(g_cpu, cpu, &L.d));
        void *dev = NULL;
        CHECK_OK(p3d_ctx_alloc(g_gpu, L.bytes, &dev));
        if (dev) {
            CHECK_OK(p3d_ctx_upload(g_gpu, dev, got, L.bytes));
            CHECK_OK(p3d_fill_static_build(g_gpu, (uint8_t *)dev, &L.d));
            CHECK_OK(p3d_ctx_download(g_gpu, got, dev, L.bytes));
            const int32_t bad = compare_built(cpu, got, &L.d);
            CHECK_MSG(bad == 0, "case %d (%dx%d): %d buffers differ between CPU and CUDA", (int)c, (int)g_sizes[c][0],
                      (int)g_sizes[c][1], (int)bad);
            p3d_ctx_release(g_gpu, dev);
        }
        free(cpu), free(got);
    }
}

/* Pack on the host, unpack on the CPU and on the device: the context pixels get their values back bit
 * for bit (8-bit colours as 8 bits, any other colour as f32), every other pixel 0. */
static void test_pack_unpack(void) {
    const int32_t w = 53, h = 37, n = w * h;
    uint8_t *label = (uint8_t *)malloc((size_t)n), *packed = (uint8_t *)malloc((size_t)n * 16 + 16);
    float *rgb = (float *)malloc((size_t)n * 12), *depth = (float *)malloc((size_t)n * 4);
    float *out_rgb = (float *)malloc((size_t)n * 12), *out_depth = (float *)malloc((size_t)n * 4);
    int32_t *rows = (int32_t *)malloc(((size_t)h + 1) * 4);
    make_labels(label, w, h);
    for (int32_t pass = 0; pass < 2; pass++) {
        for (int32_t i = 0; i < n; i++) {
            for (int32_t c = 0; c < 3; c++)
                rgb[3 * i + c] = pass == 0 ? (float)(rnd() % 256u) / 255.0f : (float)(rnd() % 1000u) / 999.0f;
            depth[i] = 1.0f + (float)(rnd() % 5000u) * 0.01f;
        }
        int32_t nc = 0, rgb8 = -1, want_nc = 0;
        const size_t bytes = p3d_fill_pack(label, rgb, depth, w, h, packed, &nc, &rgb8);
        for (int32_t i = 0; i < n; i++) want_nc += label[i] == P3D_FILL_CONTEXT;
        CHECK(nc == want_nc);
        CHECK_MSG(rgb8 == (pass == 0), "pass %d: rgb8 %d", (int)pass, (int)rgb8);
        CHECK(bytes == P3D_FILL_PACK_DEPTH(nc, rgb8) + (size_t)nc * 4);
        for (int32_t dev = 0; dev < 2; dev++) {
            p3d_ctx *ctx = dev ? g_gpu : g_cpu;
            if (!ctx) {
                SKIP_GPU("CPU-vs-CUDA comparison not run: %s", g_why);
                continue;
            }
            memset(out_rgb, 0xa5, (size_t)n * 12), memset(out_depth, 0xa5, (size_t)n * 4);
            if (!dev) {
                CHECK_OK(p3d_fill_unpack(ctx, label, packed, nc, rgb8, w, h, rows, out_rgb, out_depth));
            } else {
                uint8_t *d = NULL;
                const size_t at_p = 4096, at_r = at_p + (size_t)n * 16 + 16, at_c = at_r + ((size_t)h + 1) * 4 + 64,
                             at_d = at_c + (size_t)n * 12;
                CHECK_OK(p3d_ctx_alloc(ctx, at_d + (size_t)n * 4, (void **)&d));
                if (!d) continue;
                CHECK_OK(p3d_ctx_upload(ctx, d, label, (size_t)n));
                CHECK_OK(p3d_ctx_upload(ctx, d + at_p, packed, bytes));
                CHECK_OK(p3d_ctx_upload(ctx, d + at_c, out_rgb, (size_t)n * 12));
                CHECK_OK(p3d_ctx_upload(ctx, d + at_d, out_depth, (size_t)n * 4));
                CHECK_OK(p3d_fill_unpack(ctx, d, d + at_p, nc, rgb8, w, h, (int32_t *)(d + at_r), (float *)(d + at_c),
                                         (float *)(d + at_d)));
                CHECK_OK(p3d_ctx_download(ctx, out_rgb, d + at_c, (size_t)n * 12));
                CHECK_OK(p3d_ctx_download(ctx, out_depth, d + at_d, (size_t)n * 4));
                p3d_ctx_release(ctx, d);
            }
            int32_t bad = 0;
            for (int32_t i = 0; i < n; i++) {
                const int32_t in = label[i] == P3D_FILL_CONTEXT;
                for (int32_t c = 0; c < 3; c++) bad += memcmp(&out_rgb[3 * i + c], in ? &rgb[3 * i + c] : &(float){0.0f}, 4) != 0;
                bad += memcmp(&out_depth[i], in ? &depth[i] : &(float){0.0f}, 4) != 0;
            }
            CHECK_MSG(bad == 0, "pass %d, %s: %d values differ", (int)pass, dev ? "CUDA" : "CPU", (int)bad);
        }
    }
    free(label), free(packed), free(rgb), free(depth), free(out_rgb), free(out_depth), free(rows);
}

/* The filled patch's results compacted to its mask pixels (p3d_fill_results_pack) on the CPU and on the
 * device, then unpacked on the host into a patch whose other pixels hold a sentinel: the mask pixels
 * get their colours and depths back bit for bit, the others are untouched. The mask list is the
 * level-0 one (raster order), as the fill's static block holds it. */
static void test_results(void) {
    const int32_t w = 61, h = 29, n = w * h;
    uint8_t *label = (uint8_t *)malloc((size_t)n), *mask = (uint8_t *)malloc((size_t)n);
    int32_t *list = (int32_t *)malloc((size_t)n * 4);
    float *rgb = (float *)malloc((size_t)n * 12), *depth = (float *)malloc((size_t)n * 4);
    float *packed = (float *)malloc((size_t)n * 16), *out_rgb = (float *)malloc((size_t)n * 12);
    float *out_depth = (float *)malloc((size_t)n * 4);
    make_labels(label, w, h);
    int64_t nm = 0;
    for (int32_t i = 0; i < n; i++) {
        mask[i] = label[i] == P3D_FILL_MASK;
        if (mask[i]) list[nm++] = i;
        for (int32_t c = 0; c < 3; c++) rgb[3 * i + c] = (float)(rnd() % 1000u) / 999.0f;
        depth[i] = 1.0f + (float)(rnd() % 5000u) * 0.01f;
    }
    CHECK(nm > 0 && nm < n);
    for (int32_t dev = 0; dev < 2; dev++) {
        p3d_ctx *ctx = dev ? g_gpu : g_cpu;
        if (!ctx) {
            SKIP_GPU("CPU-vs-CUDA comparison not run: %s", g_why);
            continue;
        }
        memset(packed, 0xa5, (size_t)n * 16);
        if (!dev) {
            CHECK_OK(p3d_fill_results_pack(ctx, list, nm, rgb, depth, packed));
        } else {
            uint8_t *d = NULL;
            const size_t at_c = (size_t)n * 4, at_d = at_c + (size_t)n * 12, at_o = at_d + (size_t)n * 4;
            CHECK_OK(p3d_ctx_alloc(ctx, at_o + P3D_FILL_RESULT_BYTES(nm), (void **)&d));
            if (!d) continue;
            CHECK_OK(p3d_ctx_upload(ctx, d, list, (size_t)nm * 4));
            CHECK_OK(p3d_ctx_upload(ctx, d + at_c, rgb, (size_t)n * 12));
            CHECK_OK(p3d_ctx_upload(ctx, d + at_d, depth, (size_t)n * 4));
            CHECK_OK(p3d_fill_results_pack(ctx, (const int32_t *)d, nm, (const float *)(d + at_c),
                                           (const float *)(d + at_d), (float *)(d + at_o)));
            CHECK_OK(p3d_ctx_download(ctx, packed, d + at_o, P3D_FILL_RESULT_BYTES(nm)));
            p3d_ctx_release(ctx, d);
        }
        memset(out_rgb, 0x5a, (size_t)n * 12), memset(out_depth, 0x5a, (size_t)n * 4);
        p3d_fill_results_unpack(packed, nm, mask, w, h, out_rgb, out_depth);
        int32_t bad = 0;
        const uint32_t sentinel = 0x5a5a5a5au;
        for (int32_t i = 0; i < n; i++) {
            for (int32_t c = 0; c < 3; c++)
                bad += memcmp(&out_rgb[3 * i + c], mask[i] ? (const void *)&rgb[3 * i + c] : (const void *)&sentinel, 4) != 0;
            bad += memcmp(&out_depth[i], mask[i] ? (const void *)&depth[i] : (const void *)&sentinel, 4) != 0;
        }
        CHECK_MSG(bad == 0, "%s: %d values differ", dev ? "CUDA" : "CPU", (int)bad);
    }
    CHECK_FAILS(p3d_fill_results_pack(g_cpu, NULL, 3, rgb, depth, packed), P3D_ERR_INVALID_ARG, "mask pixels");
    free(label), free(mask), free(list), free(rgb), free(depth), free(packed), free(out_rgb), free(out_depth);
}

static void test_refusals(void) {
    layout L;
    make_layout(&L, 40, 30, 3, 2, 1);
    uint8_t *b = (uint8_t *)calloc(L.bytes, 1);
    p3d_fill_static d = L.d;
    d.lv[1].from = 1;
    CHECK_FAILS(p3d_fill_static_build(g_cpu, b, &d), P3D_ERR_INVALID_ARG, "need an earlier one");
    d = L.d;
    d.lv[1].w = 19;
    CHECK_FAILS(p3d_fill_static_build(g_cpu, b, &d), P3D_ERR_INVALID_ARG, "is not half of level 0");
    d = L.d;
    d.n = P3D_FILL_STATIC_MAX + 1;
    CHECK_FAILS(p3d_fill_static_build(g_cpu, b, &d), P3D_ERR_INVALID_ARG, "levels");
    d = L.d;
    d.lv[2].how = 7;
    CHECK_FAILS(p3d_fill_static_build(g_cpu, b, &d), P3D_ERR_INVALID_ARG, "unknown label source");
    free(b);
}

int main(void) {
    g_cpu = cpu_ctx();
    g_gpu = cuda_ctx_or_why(g_why, sizeof g_why);
    RUN(test_cpu_reference);
    RUN(test_cuda_matches_cpu);
    RUN(test_pack_unpack);
    RUN(test_results);
    RUN(test_refusals);
    p3d_ctx_free(g_gpu);
    p3d_ctx_free(g_cpu);
    return p3d_test_finish();
}
