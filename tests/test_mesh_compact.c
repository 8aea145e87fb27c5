/* test_mesh_compact.c - the compact textured mesh (host/mesh/mesh_compact.h), its GLB files and its
 * rendering, on the project's own sample at a small processing size (and moon when ../shared exists):
 *   - a hand-made textured quad renders the bilinear texture values it should (the sampler the CPU and
 *     CUDA rasterizers share), and a textured mesh refuses to be written as PLY;
 *   - the compact mesh has far fewer faces; every vertex is an LDI node of the dense mesh (exact
 *     position and label); texture coordinates inside the atlas; built again with 1, 3 and the
 *     default number of threads, byte-identical;
 *   - rendered at the photo's camera and at preset frames it matches the dense mesh (PSNR, and the
 *     same pixels covered);
 *   - GLB round trip: PNG atlas exact, JPEG atlas close. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef P3D_HAVE_OPENMP
#include <omp.h>
#endif

#include "p3d_test.h"

#include "mesh/mesh_compact.h"
#include "mesh/mesh_file.h"
#include "pipeline/photo3d.h"
#include "render/render.h"
#include "render/trajectory.h"

static p3d_ctx *g_cpu;

static double psnr_u8(const uint8_t *a, const uint8_t *b, size_t n) {
    double se = 0;
    for (size_t i = 0; i < n; i++) se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return se > 0 ? 10.0 * log10(255.0 * 255.0 / (se / (double)n)) : 99.0;
}

/* A 2 x 2 texture on a quad filling the view: pixel centres read the bilinear texture. */
static void test_textured_quad(void) {
    p3d_mesh m;
    CHECK_OK(p3d_mesh_alloc(&m, 4, 2));
    /* A square at depth 1 seen by a 90-degree camera: x, y in [-1, 1] fill the 8x8 frame. */
    const float xyz[12] = {-1, -1, 1, 1, -1, 1, -1, 1, 1, 1, 1, 1};
    const float uv[8] = {0, 0, 1, 0, 0, 1, 1, 1};
    const int32_t faces[6] = {0, 2, 1, 1, 2, 3};
    memcpy(m.xyz, xyz, sizeof xyz);
    memcpy(m.faces, faces, sizeof faces);
    memset(m.rgba, 0, 16);
    m.width = m.height = 8;
    m.hfov = m.vfov = 3.14159265f / 2;
    m.uv = (float *)malloc(sizeof uv);
    m.tex = (uint8_t *)malloc(12);
    memcpy(m.uv, uv, sizeof uv);
    const uint8_t tex[12] = {0, 0, 0, 200, 0, 0, 0, 200, 0, 200, 200, 0}; /* (2, 2, 3) */
    memcpy(m.tex, tex, 12);
    m.tex_w = m.tex_h = 2;
    p3d_renderer *r = NULL;
    const p3d_render_opts o = {8, 8, 1, {1, 2, 3}};
    uint8_t rgb[8 * 8 * 3];
    CHECK_OK(p3d_renderer_init(g_cpu, &m, &o, &r));
    const p3d_view v = p3d_view_of_mesh(&m, 8, 8);
    CHECK_OK(p3d_render_frame(r, &v, rgb));
    /* Output pixel (x, y) has its centre at u = (x + 0.5) / 8, so texel coordinate u * 2 - 0.5 =
     * (x + 0.5) / 4 - 0.5, clamped to [0, 1]: red = 200 * that in x, green = 200 * that in y. */
    int bad = 0;
    for (int32_t y = 0; y < 8; y++)
        for (int32_t x = 0; x < 8; x++) {
            const double tx = fmin(1.0, fmax(0.0, (x + 0.5) / 4.0 - 0.5)), ty = fmin(1.0, fmax(0.0, (y + 0.5) / 4.0 - 0.5));
            const uint8_t *p = rgb + 3 * (y * 8 + x);
            if (fabs(p[0] - 200 * tx) > 1.0 || fabs(p[1] - 200 * ty) > 1.0 || p[2] != 0) {
                if (!bad) fprintf(stderr, "  pixel (%d, %d) = %d %d %d, wanted %.1f %.1f 0\n", x, y, p[0], p[1], p[2], 200 * tx, 200 * ty);
                bad = 1;
            }
        }
    CHECK(!bad);
    p3d_renderer_free(r);
    char path[512];
    CHECK_FAILS(p3d_mesh_write(&m, p3d_test_tmp_path("quad.ply", path, sizeof path), P3D_MESH_PLY_BINARY),
                P3D_ERR_INVALID_ARG, "write the compact (textured) mesh as .glb");
    CHECK(access(path, F_OK) != 0);
    p3d_mesh_free(&m);
}

static p3d_status sample_result(int32_t longer_side, p3d_photo_result *r) {
    p3d_depth map;
    P3D_TRY(p3d_depth_read("samples/scene_disp.png", NULL, &map));
    p3d_ldi_nets nets;
    memset(&nets, 0, sizeof nets);
    p3d_photo_opts o = p3d_photo_opts_default();
    o.longer_side = longer_side;
    o.compact = 1;
    p3d_status st = p3d_photo_to_mesh(g_cpu, &nets, "samples/scene.png", &map, &o, r);
    p3d_depth_free(&map);
    return st;
}

/* Position bits of every dense vertex, sorted, to look compact vertices up. */
typedef struct vkey {
    uint32_t b[3];
    uint8_t label;
} vkey;

static int vkey_cmp(const void *a, const void *b) { return memcmp(a, b, 3 * sizeof(uint32_t)); }

static void check_structure(const p3d_photo_result *r) {
    const p3d_mesh *d = &r->mesh, *c = &r->compact;
    CHECK(c->n_faces > 0 && c->n_faces * 4 < d->n_faces);
    CHECK(c->uv && c->tex && c->tex_w >= 64 && c->tex_w <= 4096 && (c->tex_w & (c->tex_w - 1)) == 0 && c->tex_h == c->tex_w);
    vkey *keys = (vkey *)malloc((size_t)d->n_vertices * sizeof *keys);
    for (int64_t i = 0; i < d->n_vertices; i++) {
        memcpy(keys[i].b, d->xyz + 3 * i, 12);
        keys[i].label = d->rgba[4 * i + 3];
    }
    qsort(keys, (size_t)d->n_vertices, sizeof *keys, vkey_cmp);
    int64_t missing = 0, bad_uv = 0, bad_label = 0;
    for (int64_t i = 0; i < c->n_vertices; i++) {
        vkey k;
        memcpy(k.b, c->xyz + 3 * i, 12);
        const vkey *hit = (const vkey *)bsearch(&k, keys, (size_t)d->n_vertices, sizeof *keys, vkey_cmp);
        if (!hit) missing++;
        else if (hit->label != c->rgba[4 * i + 3]) bad_label++;
        if (!(c->uv[2 * i] > 0 && c->uv[2 * i] < 1 && c->uv[2 * i + 1] > 0 && c->uv[2 * i + 1] < 1)) bad_uv++;
    }
    CHECK_MSG(missing == 0, "%lld compact vertices are no dense vertex", (long long)missing);
    CHECK_MSG(bad_label == 0, "%lld compact vertices changed label", (long long)bad_label);
    CHECK_MSG(bad_uv == 0, "%lld texture coordinates outside (0, 1)", (long long)bad_uv);
    free(keys);
    /* Every vertex is used. */
    uint8_t *used = (uint8_t *)calloc((size_t)c->n_vertices, 1);
    for (int64_t i = 0; i < 3 * c->n_faces; i++) used[c->faces[i]] = 1;
    int64_t unused = 0;
    for (int64_t i = 0; i < c->n_vertices; i++) unused += !used[i];
    CHECK_MSG(unused == 0, "%lld unused vertices", (long long)unused);
    free(used);
}

/* The largest mean absolute difference (over the channels) of an 8 x 8 block of two W x H RGB
 * frames: a local defect the PSNR of the whole frame averages away. */
static double max_block_error(const uint8_t *a, const uint8_t *b, int32_t W, int32_t H) {
    double worst = 0;
    for (int32_t by = 0; by + 8 <= H; by += 8)
        for (int32_t bx = 0; bx + 8 <= W; bx += 8) {
            int64_t sum = 0;
            for (int32_t y = by; y < by + 8; y++)
                for (int32_t i = 3 * (y * W + bx); i < 3 * (y * W + bx + 8); i++) sum += abs((int)a[i] - (int)b[i]);
            const double e = (double)sum / (8 * 8 * 3);
            worst = e > worst ? e : worst;
        }
    return worst;
}

/* Frames of the dense and compact meshes: the photo's camera and frames of two presets. At the photo's
 * camera no 8 x 8 block may differ by more than max_block on average: a hidden band that the
 * simplification moved in front of the surface hiding it showed there as a dark fragment beside the
 * astronaut's arm on moon at 480 (108 before the fix, 17 after). There both frames are also held
 * against the photo itself (the dense mesh at one sample per pixel: a vertex on every pixel centre):
 * the renderer shades a triangle once per pixel (multisampling), which keeps the compact mesh's
 * texture as sharp as the photo while the dense mesh's vertex colours are interpolated between pixel
 * centres, so there the compact frame must show the photo about as well as the dense frame (within
 * 1 dB; moon at 960, SSAA 3: compact 34.4 dB, dense 33.7, and 32.0 for the compact mesh under the
 * supersampling renderer before) rather than match the dense frame's softness; the presets' frames
 * must stay within min_psnr of the dense ones. */
static void check_frames(const p3d_photo_result *r, double min_psnr, double max_block) {
    const int32_t W = r->width, H = r->height;
    const size_t n = (size_t)W * H * 3;
    uint8_t *a = (uint8_t *)malloc(n), *b = (uint8_t *)malloc(n);
    const p3d_render_opts o = {W, H, 2, {255, 0, 255}};
    p3d_renderer *rd = NULL, *rc = NULL;
    CHECK_OK(p3d_renderer_init(g_cpu, &r->mesh, &o, &rd));
    CHECK_OK(p3d_renderer_init(g_cpu, &r->compact, &o, &rc));
    uint8_t *photo = (uint8_t *)malloc(n);
    const p3d_render_opts o1 = {W, H, 1, {255, 0, 255}};
    p3d_renderer *r1 = NULL;
    CHECK_OK(p3d_renderer_init(g_cpu, &r->mesh, &o1, &r1));
    const p3d_view v1 = p3d_view_of_mesh(&r->mesh, W, H);
    if (r1) CHECK_OK(p3d_render_frame(r1, &v1, photo));
    p3d_renderer_free(r1);
    p3d_traj tr[2];
    memset(tr, 0, sizeof tr);
    CHECK_OK(p3d_traj_preset("circle", 240, r->center_depth, &tr[0]));
    CHECK_OK(p3d_traj_preset("dolly-zoom-in", 240, r->center_depth, &tr[1]));
    for (int32_t k = 0; rd && rc && k < 5; k++) {
        p3d_view vd, vc;
        if (k == 0) {
            vd = p3d_view_of_mesh(&r->mesh, W, H);
            vc = p3d_view_of_mesh(&r->compact, W, H);
        } else {
            const p3d_pose *p = &tr[(k - 1) / 2].poses[(k - 1) % 2 ? 200 : 60];
            vd = p3d_view_of_pose(&r->mesh, p, W, H, p3d_crop_border_default);
            vc = p3d_view_of_pose(&r->compact, p, W, H, p3d_crop_border_default);
        }
        CHECK_OK(p3d_render_frame(rd, &vd, a));
        CHECK_OK(p3d_render_frame(rc, &vc, b));
        const double psnr = psnr_u8(a, b, n);
        size_t cover_diff = 0;
        for (size_t i = 0; i < n; i += 3) {
            const int bg_a = a[i] == 255 && a[i + 1] == 0 && a[i + 2] == 255, bg_b = b[i] == 255 && b[i + 1] == 0 && b[i + 2] == 255;
            cover_diff += bg_a != bg_b;
        }
        fprintf(stderr, "  frame %d: PSNR %.2f dB, %zu pixels covered by one mesh only\n", (int)k, psnr, cover_diff);
        if (k == 0) {
            const double pd = psnr_u8(a, photo, n), pc = psnr_u8(b, photo, n);
            fprintf(stderr, "  frame 0 against the photo: dense %.2f dB, compact %.2f dB\n", pd, pc);
            CHECK_MSG(pc >= pd - 1.0, "photo's camera: compact frame %.2f dB from the photo, dense %.2f dB", pc, pd);
        } else {
            CHECK_MSG(psnr >= min_psnr, "frame %d: PSNR %.2f dB < %.1f", (int)k, psnr, min_psnr);
        }
        if (k == 0) {
            const double be = max_block_error(a, b, W, H);
            fprintf(stderr, "  frame 0: largest 8x8 block error %.1f\n", be);
            CHECK_MSG(be <= max_block, "photo's camera: an 8x8 block differs by %.1f on average (> %.0f)", be, max_block);
        }
        CHECK_MSG(cover_diff * 1000 <= (size_t)W * H, "frame %d: %zu pixels covered by one mesh only", (int)k, cover_diff);
    }
    p3d_traj_free(&tr[0]);
    p3d_traj_free(&tr[1]);
    p3d_renderer_free(rd);
    p3d_renderer_free(rc);
    free(photo);
    free(a);
    free(b);
}

static void test_sample(void) {
    p3d_photo_result r;
    CHECK_OK(sample_result(320, &r));
    if (p3d_t_case_failed) return;
    fprintf(stderr, "  sample at 320: %lld -> %lld faces, %d charts, atlas %d, error %.2f px\n", (long long)r.mesh.n_faces,
            (long long)r.compact.n_faces, (int)r.compact_stats.charts, (int)r.compact.tex_w, (double)r.compact_stats.error_px);
    check_structure(&r);
    /* 41.1 at the photo's camera before and after the depth-order fix (not traced: the sample's
     * hard synthetic edges), so a looser bound than moon's. */
    check_frames(&r, 33.0, 48.0);
    /* Deterministic: the same LDI gives the same mesh, byte for byte, again and (the tiles, the
     * painting and the resampling run in parallel) with one thread and with three. */
    const p3d_compact_opts co = p3d_compact_defaults();
#ifdef P3D_HAVE_OPENMP
    const int32_t n_runs = 3;
    const int saved_threads = omp_get_max_threads();
#else
    const int32_t n_runs = 1;
#endif
    for (int32_t run = 0; run < n_runs; run++) {
#ifdef P3D_HAVE_OPENMP
        omp_set_num_threads(run == 0 ? saved_threads : run == 1 ? 1 : 3);
#endif
        p3d_mesh again;
        CHECK_OK(p3d_mesh_compact(&r.ldi, &r.mesh, &co, &again, NULL));
        CHECK_MSG(again.n_vertices == r.compact.n_vertices && again.n_faces == r.compact.n_faces &&
                      again.tex_w == r.compact.tex_w && again.tex_h == r.compact.tex_h &&
                      !memcmp(again.xyz, r.compact.xyz, (size_t)again.n_vertices * 12) &&
                      !memcmp(again.uv, r.compact.uv, (size_t)again.n_vertices * 8) &&
                      !memcmp(again.faces, r.compact.faces, (size_t)again.n_faces * 12) &&
                      !memcmp(again.tex, r.compact.tex, (size_t)again.tex_w * again.tex_h * 3),
                  "compact mesh built again (run %d) differs", (int)run);
        p3d_mesh_free(&again);
    }
#ifdef P3D_HAVE_OPENMP
    omp_set_num_threads(saved_threads);
#endif
    /* GLB round trips: the PNG atlas exactly, the JPEG one closely. */
    char path[512];
    p3d_test_tmp_path("compact.glb", path, sizeof path);
    for (int32_t q = 0; q < 2; q++) {
        r.compact.tex_quality = q ? 95 : 0;
        CHECK_OK(p3d_mesh_write(&r.compact, path, P3D_MESH_GLB));
        p3d_mesh back;
        CHECK_OK(p3d_mesh_read(path, &back));
        if (p3d_t_case_failed) break;
        CHECK(back.n_vertices == r.compact.n_vertices && back.n_faces == r.compact.n_faces && back.uv && back.tex &&
              back.tex_w == r.compact.tex_w && back.tex_h == r.compact.tex_h);
        /* TEXCOORD_0 is stored as normalized uint16: each coordinate within half a step, 1 / 131070. */
        float uv_err = 0.0f;
        for (int64_t i = 0; i < 2 * back.n_vertices; i++) {
            const float d = fabsf(back.uv[i] - r.compact.uv[i]);
            uv_err = d > uv_err ? d : uv_err;
        }
        CHECK(uv_err <= 0.5f / 65535.0f + 1e-7f);
        CHECK(!memcmp(back.faces, r.compact.faces, (size_t)back.n_faces * 12));
        const double tp = psnr_u8(back.tex, r.compact.tex, (size_t)back.tex_w * back.tex_h * 3);
        fprintf(stderr, "  GLB with a %s atlas: texture PSNR %.2f dB\n", q ? "JPEG" : "PNG", tp);
        CHECK(q ? tp >= 40.0 : tp == 99.0);
        CHECK(back.tex_quality == (q ? 90 : 0));
        p3d_mesh_free(&back);
    }
    p3d_photo_result_free(&r);
}

/* The reference's own example at its processing size: the targets, measured in bench too. */
static void test_moon(void) {
    char img[512], dep[512];
    if (!p3d_test_fixture("moon/moon.jpg", img, sizeof img) || !p3d_test_fixture("moon/moon.npy", dep, sizeof dep)) return;
    p3d_depth map;
    CHECK_OK(p3d_depth_read(dep, NULL, &map));
    p3d_ldi_nets nets;
    memset(&nets, 0, sizeof nets);
    p3d_photo_opts o = p3d_photo_opts_default();
    o.longer_side = 480;
    o.compact = 1;
    p3d_photo_result r;
    CHECK_OK(p3d_photo_to_mesh(g_cpu, &nets, img, &map, &o, &r));
    p3d_depth_free(&map);
    if (p3d_t_case_failed) return;
    fprintf(stderr, "  moon at 480: %lld -> %lld faces (%.1f%%), atlas %d\n", (long long)r.mesh.n_faces,
            (long long)r.compact.n_faces, 100.0 * (double)r.compact.n_faces / (double)r.mesh.n_faces, (int)r.compact.tex_w);
    /* 12.3% since charts keep to their side of the gap to the surface in front or behind
     * (depth_order_breaks in mesh_compact.c; 9.6% before): the 10% is at 960, where it is 9.4%
     * (bench mesh.compact.moon / render.frames.moon-compact). */
    CHECK(r.compact.n_faces * 100 <= r.mesh.n_faces * 13);
    check_structure(&r);
    /* 39.7 .. 40.7 dB over the five frames; 34.05 .. 35.03 before the depth-order fix, whose hidden
     * bands showing through the photo's surface explained the drop first blamed on issue 15's fill. */
    check_frames(&r, 38.0, 40.0);
    p3d_photo_result_free(&r);
}

int main(void) {
    p3d_device dev = {P3D_DEVICE_CPU, 0};
    if (p3d_ctx_init(&g_cpu, dev) != P3D_OK) return 2;
    RUN(test_textured_quad);
    RUN(test_sample);
    RUN(test_moon);
    p3d_ctx_free(g_cpu);
    return p3d_test_finish();
}
