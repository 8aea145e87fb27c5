/* test_ldi_sources.c - the non-learned fill's source rules (host/ldi/ldi_sources_math.h; the host's
 * p3d_ldi_sources, the device's p3d_ldi_sources_cuda, issue 14) on synthetic patches: each rule's
 * outcome on the CPU where the patch was built to trigger it (the occluder's surface wrapping an end of
 * the mask, reached only round two corners; another object nearer than the seam; an unsupported
 * in-between pixel; the erosion ring in the occluder's colours and in the background's; the seam left
 * out of the colour sources; the border's nodes dropped while the photo gives enough sources and kept
 * when it does not; the empty-source fallbacks; a border strip), then the device's flags and labels
 * against the CPU's, byte for byte, on those and on random patches (SKIP without a device); the
 * codes a patch's pixels go up as (p3d_ldi_src_code, p3d_ldi_src_nibble). */
#include "p3d_test.h"

#include <stdint.h>

#include "inpaint/fill_classic_math.h"
#include "ldi/ldi_inpaint.h"
#include "test_ctx.h"

#define THR 0.04f

typedef struct scene {
    int32_t w, h, id;
    uint8_t *f;
    float *depth, *occ, *rgb;
    p3d_ldi_src_moments fg;
} scene;

static void scene_init(scene *s, int32_t w, int32_t h, int32_t id) {
    const size_t m = (size_t)w * h;
    memset(s, 0, sizeof *s);
    s->w = w, s->h = h, s->id = id;
    s->f = (uint8_t *)calloc(m, 1);
    s->depth = (float *)calloc(m, sizeof(float));
    s->occ = (float *)calloc(m, sizeof(float));
    s->rgb = (float *)calloc(m * 3, sizeof(float));
}

static void scene_free(scene *s) { free(s->f), free(s->depth), free(s->occ), free(s->rgb); }

/* Pixel (x, y) becomes context (flags extra: ERODE, SYNTH) at depth d with colour c (8-bit). */
static void ctx_px(scene *s, int32_t x, int32_t y, uint8_t extra, float d, const uint8_t c[3]) {
    const size_t k = (size_t)y * s->w + x;
    s->f[k] = (uint8_t)(P3D_LDI_SRC_CTX | extra);
    s->depth[k] = d;
    s->occ[k] = 0;
    for (int32_t ch = 0; ch < 3; ch++) s->rgb[3 * k + ch] = (float)c[ch] / 255.0f;
}

/* Pixel (x, y) becomes mask behind an occluder at depth occ (0: none) of colour c. */
static void mask_px(scene *s, int32_t x, int32_t y, float occ, const uint8_t c[3]) {
    const size_t k = (size_t)y * s->w + x;
    s->f[k] = P3D_LDI_SRC_MASK;
    s->depth[k] = 0;
    s->occ[k] = occ;
    for (int32_t ch = 0; ch < 3; ch++) s->rgb[3 * k + ch] = 0;
    if (occ > 0) p3d_ldi_src_moments_add(&s->fg, c);
}

static uint8_t flags_at(const uint8_t *f, const scene *s, int32_t x, int32_t y) { return f[(size_t)y * s->w + x]; }

static uint32_t g_rng = 777u;
static uint32_t rnd(void) {
    g_rng = g_rng * 1664525u + 1013904223u;
    return g_rng >> 8;
}

/* The CPU's result flags of s (a copy of its input flags run through p3d_ldi_sources). */
static uint8_t *run_cpu(const scene *s) {
    const size_t m = (size_t)s->w * s->h;
    uint8_t *f = (uint8_t *)malloc(m);
    memcpy(f, s->f, m);
    CHECK(p3d_ldi_sources(f, s->depth, s->occ, s->rgb, s->w, s->h, s->id, THR, &s->fg));
    return f;
}

static p3d_ctx *g_gpu;
static char g_why[600];

/* The device's flags and labels of s against the CPU's result `want`. */
static void compare_device(const scene *s, const uint8_t *want, const char *what) {
    if (!g_gpu) {
        SKIP_GPU("%s on the device not run: %s", what, g_why);
        return;
    }
#ifdef P3D_HAVE_CUDA
    const size_t m = (size_t)s->w * s->h;
    p3d_ldi_src_sums sums;
    p3d_ldi_src_sums_init(&sums);
    sums.fg = s->fg;
    void *d_f = NULL, *d_depth = NULL, *d_occ = NULL, *d_rgb = NULL, *d_sums = NULL, *d_label = NULL;
    CHECK_OK(p3d_ctx_alloc(g_gpu, m, &d_f));
    CHECK_OK(p3d_ctx_alloc(g_gpu, m * sizeof(float), &d_depth));
    CHECK_OK(p3d_ctx_alloc(g_gpu, m * sizeof(float), &d_occ));
    CHECK_OK(p3d_ctx_alloc(g_gpu, m * 3 * sizeof(float), &d_rgb));
    CHECK_OK(p3d_ctx_alloc(g_gpu, sizeof sums, &d_sums));
    CHECK_OK(p3d_ctx_alloc(g_gpu, m, &d_label));
    if (d_f && d_depth && d_occ && d_rgb && d_sums && d_label) {
        CHECK_OK(p3d_ctx_upload(g_gpu, d_f, s->f, m));
        CHECK_OK(p3d_ctx_upload(g_gpu, d_depth, s->depth, m * sizeof(float)));
        CHECK_OK(p3d_ctx_upload(g_gpu, d_occ, s->occ, m * sizeof(float)));
        CHECK_OK(p3d_ctx_upload(g_gpu, d_rgb, s->rgb, m * 3 * sizeof(float)));
        CHECK_OK(p3d_ctx_upload(g_gpu, d_sums, &sums, sizeof sums));
        CHECK_OK(p3d_ldi_sources_cuda(p3d_ctx_cuda(g_gpu), s->w, s->h, s->id, THR, (uint8_t *)d_f, (const float *)d_depth,
                                      (const float *)d_occ, (const float *)d_rgb, (p3d_ldi_src_sums *)d_sums,
                                      (uint8_t *)d_label));
        uint8_t *got = (uint8_t *)malloc(2 * m);
        CHECK_OK(p3d_ctx_download(g_gpu, got, d_f, m));
        CHECK_OK(p3d_ctx_download(g_gpu, got + m, d_label, m));
        int64_t bad_f = 0, bad_l = 0, first = -1;
        for (size_t k = 0; k < m; k++) {
            const int wrong_f = got[k] != want[k], wrong_l = got[m + k] != p3d_ldi_src_label(want[k]);
            bad_f += wrong_f, bad_l += wrong_l;
            if ((wrong_f || wrong_l) && first < 0) first = (int64_t)k;
        }
        CHECK_MSG(bad_f == 0 && bad_l == 0, "%s: %lld flags and %lld labels differ, first at (%d, %d): device 0x%02x, host 0x%02x",
                  what, (long long)bad_f, (long long)bad_l, first < 0 ? -1 : (int)(first % s->w),
                  first < 0 ? -1 : (int)(first / s->w), first < 0 ? 0 : got[first], first < 0 ? 0 : want[first]);
        free(got);
    }
    p3d_ctx_release(g_gpu, d_f), p3d_ctx_release(g_gpu, d_depth), p3d_ctx_release(g_gpu, d_occ);
    p3d_ctx_release(g_gpu, d_rgb), p3d_ctx_release(g_gpu, d_sums), p3d_ctx_release(g_gpu, d_label);
#else
    (void)s, (void)want;
    SKIP_GPU("%s on the device not run: built without CUDA", what);
#endif
}

static const uint8_t BLUE[3] = {50, 80, 200}, RED[3] = {230, 25, 25};

/* The edge's patch: background at depth 10 everywhere, a 10 x 10 mask behind an occluder at depth 2 (red);
 * the occluder's surface shows as context below the mask and runs on down and round two corners (an
 * L, then back right: reached by the flood only, not by the seeds); another object nearer than the
 * seam (depth 3.3) off the mask; an in-between pixel (depth 5) torn from everything; the erosion ring
 * left of the mask, red in its upper half, blue in its lower half. */
static void build_edge(scene *s) {
    scene_init(s, 44, 30, 0);
    for (int32_t y = 0; y < s->h; y++)
        for (int32_t x = 0; x < s->w; x++) {
            const uint8_t c[3] = {(uint8_t)(BLUE[0] + (x * 7 + y * 3) % 11), (uint8_t)(BLUE[1] + (x + y) % 5), BLUE[2]};
            ctx_px(s, x, y, 0, 10.0f, c);
        }
    for (int32_t y = 5; y < 15; y++)
        for (int32_t x = 15; x < 25; x++) {
            const uint8_t c[3] = {(uint8_t)(RED[0] + (x + y) % 7), RED[1], (uint8_t)(RED[2] + x % 3)};
            mask_px(s, x, y, 2.0f, c);
        }
    for (int32_t y = 15; y < 18; y++)
        for (int32_t x = 15; x < 25; x++) ctx_px(s, x, y, 0, 2.0f, RED);
    for (int32_t y = 18; y < 28; y++)
        for (int32_t x = 15; x < 18; x++) ctx_px(s, x, y, 0, 2.0f + 0.002f * (float)(y - 18), RED);
    for (int32_t y = 25; y < 28; y++)
        for (int32_t x = 18; x < 30; x++) ctx_px(s, x, y, 0, 2.02f, RED);
    for (int32_t y = 2; y < 6; y++)
        for (int32_t x = 32; x < 36; x++) ctx_px(s, x, y, 0, 3.3f, BLUE);
    ctx_px(s, 5, 20, 0, 5.0f, BLUE);
    for (int32_t y = 5; y < 15; y++)
        for (int32_t x = 13; x < 15; x++) ctx_px(s, x, y, P3D_LDI_SRC_ERODE, 10.0f, y < 10 ? RED : BLUE);
}

static void test_edge_patch(void) {
    scene s;
    build_edge(&s);
    uint8_t *f = run_cpu(&s);
    /* the occluder's surface, seeds and flooded pixels alike: never a source */
    for (int32_t y = 15; y < 28; y++)
        for (int32_t x = 15; x < 30; x++) {
            const uint8_t v = flags_at(f, &s, x, y);
            if (!(v & P3D_LDI_SRC_CTX) || s.depth[(size_t)y * s.w + x] > 3.0f) continue;
            CHECK_MSG((v & P3D_LDI_SRC_FG) && !(v & P3D_LDI_SRC_SRC), "occluder surface (%d, %d): 0x%02x", (int)x, (int)y, v);
        }
    CHECK(flags_at(f, &s, 29, 26) & P3D_LDI_SRC_FG); /* the far end of the L, two corners from the mask */
    /* the nearer object: supported, but nearer than the seam by more than THR */
    CHECK((flags_at(f, &s, 33, 3) & (P3D_LDI_SRC_SUP | P3D_LDI_SRC_SRC)) == P3D_LDI_SRC_SUP);
    /* the in-between pixel: not supported, no source */
    CHECK(!(flags_at(f, &s, 5, 20) & (P3D_LDI_SRC_SUP | P3D_LDI_SRC_SRC)));
    /* the erosion ring: red (the occluder's colours) left out, blue kept; the seam column (x 14) is a
     * source but no colour source */
    CHECK(!(flags_at(f, &s, 13, 7) & P3D_LDI_SRC_SRC));
    CHECK((flags_at(f, &s, 13, 12) & (P3D_LDI_SRC_SRC | P3D_LDI_SRC_CSRC)) == (P3D_LDI_SRC_SRC | P3D_LDI_SRC_CSRC));
    CHECK((flags_at(f, &s, 14, 12) & (P3D_LDI_SRC_SRC | P3D_LDI_SRC_CSRC)) == P3D_LDI_SRC_SRC);
    /* the background: a colour source; the mask: the fill's mask */
    CHECK((flags_at(f, &s, 2, 2) & (P3D_LDI_SRC_SRC | P3D_LDI_SRC_CSRC)) == (P3D_LDI_SRC_SRC | P3D_LDI_SRC_CSRC));
    CHECK(p3d_ldi_src_label(flags_at(f, &s, 20, 10)) == P3D_FILL_MASK);
    CHECK(p3d_ldi_src_label(flags_at(f, &s, 2, 2)) == P3D_FILL_CONTEXT);
    compare_device(&s, f, "edge patch");
    free(f);
    scene_free(&s);
}

/* The border's nodes (SYNTH) on an edge's patch: no colour source while the photo gives at least
 * P3D_LDI_SRC_MIN_REAL sources, a colour source when it gives fewer. */
static void test_border_nodes(void) {
    for (int32_t many = 0; many < 2; many++) {
        scene s;
        const int32_t real_rows = many ? 8 : 1; /* 8 x 12 = 96 real sources, or 12 */
        scene_init(&s, 12, real_rows + 8, 3);
        for (int32_t y = 0; y < s.h; y++)
            for (int32_t x = 0; x < s.w; x++) {
                if (y >= real_rows + 4)
                    mask_px(&s, x, y, 1.0f, RED);
                else
                    ctx_px(&s, x, y, y < real_rows ? 0 : P3D_LDI_SRC_SYNTH, 4.0f, BLUE);
            }
        uint8_t *f = run_cpu(&s);
        const uint8_t synth = flags_at(f, &s, 5, real_rows + 1), real = flags_at(f, &s, 5, 0);
        CHECK(synth & P3D_LDI_SRC_SRC);
        CHECK(real & P3D_LDI_SRC_CSRC);
        if (many)
            CHECK_MSG(!(synth & P3D_LDI_SRC_CSRC), "96 real sources: the border's node 0x%02x stays a colour source", synth);
        else
            CHECK_MSG(synth & P3D_LDI_SRC_CSRC, "12 real sources: the border's node 0x%02x was dropped", synth);
        compare_device(&s, f, many ? "border nodes, enough real sources" : "border nodes, few real sources");
        free(f);
        scene_free(&s);
    }
}

/* Nothing left: the context is all on the occluder's surface (every source dropped: the sources fall
 * back to the whole context) and all of it next to the mask (every colour source dropped as seam:
 * the colour sources fall back to the sources). */
static void test_fallbacks(void) {
    scene s;
    scene_init(&s, 10, 6, 1);
    for (int32_t y = 0; y < s.h; y++)
        for (int32_t x = 0; x < s.w; x++) {
            if (y == 2)
                ctx_px(&s, x, y, 0, 2.0f, RED);
            else if (y == 1 || y == 3)
                mask_px(&s, x, y, 2.0f, RED);
        }
    uint8_t *f = run_cpu(&s);
    for (int32_t x = 0; x < s.w; x++) {
        const uint8_t v = flags_at(f, &s, x, 2);
        CHECK_MSG((v & (P3D_LDI_SRC_FG | P3D_LDI_SRC_SRC | P3D_LDI_SRC_CSRC)) ==
                      (P3D_LDI_SRC_FG | P3D_LDI_SRC_SRC | P3D_LDI_SRC_CSRC),
                  "fallback pixel (%d, 2): 0x%02x", (int)x, v);
    }
    CHECK(p3d_ldi_src_label(flags_at(f, &s, 0, 0)) == P3D_FILL_UNKNOWN);
    compare_device(&s, f, "fallbacks");
    free(f);
    scene_free(&s);
}

/* A border strip (id < 0, no occluder): its seam stays a colour source. */
static void test_strip(void) {
    scene s;
    scene_init(&s, 16, 10, -1);
    for (int32_t y = 0; y < s.h; y++)
        for (int32_t x = 0; x < s.w; x++) {
            if (y < 4)
                mask_px(&s, x, y, 0.0f, RED);
            else
                ctx_px(&s, x, y, 0, 3.0f + 0.01f * (float)x, BLUE);
        }
    uint8_t *f = run_cpu(&s);
    CHECK((flags_at(f, &s, 7, 4) & (P3D_LDI_SRC_SRC | P3D_LDI_SRC_CSRC | P3D_LDI_SRC_FG)) ==
          (P3D_LDI_SRC_SRC | P3D_LDI_SRC_CSRC));
    compare_device(&s, f, "border strip");
    free(f);
    scene_free(&s);
}

/* Random patches: blobs of a few surfaces, masks behind occluders, erosion rings, border nodes and
 * unknown pixels; the device against the CPU. */
static void test_random(void) {
    const float surf[5] = {1.5f, 1.52f, 3.0f, 8.0f, 8.3f};
    for (int32_t t = 0; t < 12; t++) {
        scene s;
        scene_init(&s, 8 + (int32_t)(rnd() % 90), 8 + (int32_t)(rnd() % 70), t % 4 == 3 ? -1 : t);
        const int32_t cx = s.w / 2, cy = s.h / 2, r = 2 + (int32_t)(rnd() % 6);
        for (int32_t y = 0; y < s.h; y++)
            for (int32_t x = 0; x < s.w; x++) {
                const uint32_t v = rnd();
                const int32_t in = abs(x - cx) <= r && abs(y - cy) <= r;
                const uint8_t c[3] = {(uint8_t)(v & 255), (uint8_t)((v >> 8) & 255), (uint8_t)(((x * 5 + y) * 9) & 255)};
                if (in) {
                    mask_px(&s, x, y, s.id >= 0 ? surf[(x / 7 + y / 5) % 2] : 0.0f, c);
                } else if (v % 13 == 0) {
                    /* unknown */
                } else {
                    const uint8_t extra = (uint8_t)((v % 7 == 0 ? P3D_LDI_SRC_ERODE : 0) | (v % 11 == 0 ? P3D_LDI_SRC_SYNTH : 0));
                    ctx_px(&s, x, y, extra, surf[((x + (int32_t)(v % 3)) / 9 + y / 6) % 5], c);
                }
            }
        uint8_t *f = run_cpu(&s);
        char what[64];
        snprintf(what, sizeof what, "random patch %d (%dx%d)", (int)t, (int)s.w, (int)s.h);
        compare_device(&s, f, what);
        free(f);
        scene_free(&s);
    }
}

/* Every code with a nibble comes back from it; the codes without one are the deeper layers and the
 * impossible flag sets. */
static void test_nibbles(void) {
    int32_t with = 0;
    for (int32_t c = 0; c < 256; c++) {
        const int32_t n = p3d_ldi_src_nibble((uint8_t)c);
        const uint8_t f = p3d_ldi_src_code_flags((uint8_t)c);
        if (n < 0) continue;
        with++;
        CHECK(n < 16);
        if (f == 0)
            CHECK(p3d_ldi_src_unnibble((uint8_t)n) == 0);
        else
            CHECK_MSG(p3d_ldi_src_unnibble((uint8_t)n) == c, "code 0x%02x -> nibble %d -> 0x%02x", (int)c, (int)n,
                      (int)p3d_ldi_src_unnibble((uint8_t)n));
    }
    CHECK(p3d_ldi_src_nibble(p3d_ldi_src_code(P3D_LDI_SRC_CTX, 2)) < 0);
    CHECK(p3d_ldi_src_nibble(p3d_ldi_src_code(P3D_LDI_SRC_CTX | P3D_LDI_SRC_ERODE | P3D_LDI_SRC_SYNTH, 1)) == 11);
    CHECK(with == 16 + 3 + 8); /* 16 codes of unknown pixels, 3 mask codes, 8 context codes */
    const uint8_t up[2] = {0x5b, 0x02};
    CHECK(p3d_ldi_src_code_at(up, 0, 1) == p3d_ldi_src_unnibble(0xb));
    CHECK(p3d_ldi_src_code_at(up, 1, 1) == p3d_ldi_src_unnibble(0x5));
    CHECK(p3d_ldi_src_code_at(up, 2, 1) == p3d_ldi_src_code(P3D_LDI_SRC_MASK, 0));
}

int main(void) {
    g_gpu = cuda_ctx_or_why(g_why, sizeof g_why);
    RUN(test_edge_patch);
    RUN(test_border_nodes);
    RUN(test_fallbacks);
    RUN(test_strip);
    RUN(test_random);
    RUN(test_nibbles);
    p3d_ctx_free(g_gpu);
    return p3d_test_finish();
}
