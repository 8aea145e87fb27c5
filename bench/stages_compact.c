/* stages_compact.c - bench stages of the compact mesh (host/mesh/mesh_compact.h) on the reference's
 * example (moon.jpg + moon.npy at 960x960, non-learned fill):
 *   mesh.compact.moon            dense mesh + LDI -> textured, simplified mesh (the stage alone)
 *   render.frames.moon-dense     frames 0, 60, 120, 180, 239 of the four presets (960x960, SSAA 3)
 *   render.frames.moon-compact   the same frames from the compact mesh; its label gives the faces and
 *                                GLB size against the dense mesh's and the frames' PSNR against the
 *                                dense mesh's frames, from the mesh in memory and from its GLB written
 *                                and read back (quantized texture coordinates, JPEG atlas), measured
 *                                at setup.
 * The pipeline up to the dense mesh runs once per stage setup, outside the timed region. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "mesh/mesh_file.h"
#include "pipeline/photo3d.h"
#include "render/render.h"
#include "render/trajectory.h"

#define CB_SIDE 960
static const char *const k_presets[4] = {"dolly-zoom-in", "zoom-in", "circle", "swing"};
static const int32_t k_frames[5] = {0, 60, 120, 180, 239};

typedef struct compact_state {
    p3d_photo_result r; /* LDI, dense mesh and (for the compact render) the compact mesh */
    p3d_mesh out;       /* mesh.compact: each run's result */
    p3d_renderer *ren;
    p3d_traj traj[4];
    uint8_t *rgb;
    int32_t compact;
} compact_state;

static void compact_teardown(void *s, p3d_ctx *ctx) {
    (void)ctx;
    compact_state *b = (compact_state *)s;
    p3d_renderer_free(b->ren);
    for (int32_t k = 0; k < 4; k++) p3d_traj_free(&b->traj[k]);
    p3d_photo_result_free(&b->r);
    p3d_mesh_free(&b->out);
    free(b->rgb);
    free(b);
}

p3d_status p3d_bench_moon_result(p3d_ctx *ctx, int32_t compact, p3d_photo_result *r) {
    char img_path[1024], dep_path[1024];
    if (!p3d_bench_fixture("moon/moon.jpg", img_path, sizeof img_path) ||
        !p3d_bench_fixture("moon/moon.npy", dep_path, sizeof dep_path))
        return p3d_fail(P3D_ERR_UNSUPPORTED, "../shared/fixtures/moon not found");
    p3d_depth map;
    P3D_TRY(p3d_depth_read(dep_path, NULL, &map));
    p3d_ldi_nets nets;
    memset(&nets, 0, sizeof nets);
    p3d_photo_opts o = p3d_photo_opts_default();
    o.compact = compact;
    p3d_status st = p3d_photo_to_mesh(ctx, &nets, img_path, &map, &o, r);
    p3d_depth_free(&map);
    return st;
}

static p3d_status compact_run(void *s, p3d_ctx *ctx) {
    (void)ctx;
    compact_state *b = (compact_state *)s;
    p3d_mesh_free(&b->out);
    const p3d_compact_opts o = p3d_compact_defaults();
    return p3d_mesh_compact(&b->r.ldi, &b->r.mesh, &o, &b->out, NULL);
}

static p3d_status compact_setup(p3d_ctx *ctx, p3d_bench_case *c) {
    compact_state *b = (compact_state *)calloc(1, sizeof *b);
    if (!b) return p3d_fail(P3D_ERR_OOM, "bench: out of memory");
    p3d_status st = p3d_bench_moon_result(ctx, 0, &b->r);
    if (st != P3D_OK) {
        compact_teardown(b, ctx);
        return st;
    }
    c->state = b;
    c->run = compact_run;
    c->teardown = compact_teardown;
    c->pixels = (double)b->r.width * b->r.height;
    snprintf(c->label, sizeof c->label, "moon 960x960: %lld dense faces -> textured, simplified mesh",
             (long long)b->r.mesh.n_faces);
    return P3D_OK;
}

static p3d_status frames_run(void *s, p3d_ctx *ctx) {
    (void)ctx;
    compact_state *b = (compact_state *)s;
    const p3d_mesh *m = b->compact ? &b->r.compact : &b->r.mesh;
    for (int32_t t = 0; t < 4; t++)
        for (int32_t k = 0; k < 5; k++) {
            const p3d_view v = p3d_view_of_pose(m, &b->traj[t].poses[k_frames[k]], CB_SIDE, CB_SIDE, p3d_crop_border_default);
            P3D_TRY(p3d_render_frame(b->ren, &v, b->rgb));
        }
    return P3D_OK;
}

/* Bytes of m written as GLB (a temporary file); back (when not NULL) receives the file read back. */
static long long glb_bytes(const p3d_mesh *m, p3d_mesh *back) {
    char path[] = "/tmp/p3d-bench-glb-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    close(fd);
    char glb[64];
    snprintf(glb, sizeof glb, "%s.glb", path);
    struct stat sb;
    long long n = p3d_mesh_write(m, glb, P3D_MESH_GLB) == P3D_OK && stat(glb, &sb) == 0 ? (long long)sb.st_size : -1;
    if (back && n >= 0 && p3d_mesh_read(glb, back) != P3D_OK) n = -1;
    unlink(glb);
    unlink(path);
    return n;
}

/* PSNR of two frames of n bytes (99 when equal). */
static double psnr_u8(const uint8_t *a, const uint8_t *b, size_t n) {
    double se = 0;
    for (size_t i = 0; i < n; i++) se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return se > 0 ? 10.0 * log10(255.0 * 255.0 / (se / (double)n)) : 99.0;
}

static p3d_status frames_setup(p3d_ctx *ctx, p3d_bench_case *c, int32_t compact) {
    compact_state *b = (compact_state *)calloc(1, sizeof *b);
    if (!b) return p3d_fail(P3D_ERR_OOM, "bench: out of memory");
    b->compact = compact;
    p3d_status st = p3d_bench_moon_result(ctx, compact, &b->r);
    const size_t frame = (size_t)CB_SIDE * CB_SIDE * 3;
    if (st == P3D_OK && !(b->rgb = (uint8_t *)malloc(frame))) st = p3d_fail(P3D_ERR_OOM, "bench: out of memory");
    for (int32_t t = 0; st == P3D_OK && t < 4; t++)
        st = p3d_traj_preset(k_presets[t], P3D_TRAJ_DEFAULT_FRAMES, b->r.center_depth, &b->traj[t]);
    const p3d_render_opts ro = {CB_SIDE, CB_SIDE, 3, {128, 128, 128}};
    double psnr_min = INFINITY, psnr_sum = 0, glb_min = INFINITY;
    long long glb_len = -1;
    if (st == P3D_OK && compact) {
        /* The dense mesh's frames first, then the compact mesh's and its GLB's, frame by frame. */
        p3d_renderer *dense = NULL, *from_glb = NULL;
        p3d_mesh back;
        memset(&back, 0, sizeof back);
        glb_len = glb_bytes(&b->r.compact, &back);
        uint8_t *ref = (uint8_t *)malloc(frame), *rgb_glb = (uint8_t *)malloc(frame);
        st = glb_len < 0 ? p3d_fail(P3D_ERR_IO, "bench: the compact mesh's GLB did not write and read back")
             : ref && rgb_glb ? p3d_renderer_init(ctx, &b->r.mesh, &ro, &dense) : p3d_fail(P3D_ERR_OOM, "bench: out of memory");
        if (st == P3D_OK) st = p3d_renderer_init(ctx, &b->r.compact, &ro, &b->ren);
        if (st == P3D_OK) st = p3d_renderer_init(ctx, &back, &ro, &from_glb);
        for (int32_t t = 0; st == P3D_OK && t < 4; t++)
            for (int32_t k = 0; st == P3D_OK && k < 5; k++) {
                const p3d_pose *pose = &b->traj[t].poses[k_frames[k]];
                p3d_view v = p3d_view_of_pose(&b->r.mesh, pose, CB_SIDE, CB_SIDE, p3d_crop_border_default);
                st = p3d_render_frame(dense, &v, ref);
                v = p3d_view_of_pose(&b->r.compact, pose, CB_SIDE, CB_SIDE, p3d_crop_border_default);
                if (st == P3D_OK) st = p3d_render_frame(b->ren, &v, b->rgb);
                v = p3d_view_of_pose(&back, pose, CB_SIDE, CB_SIDE, p3d_crop_border_default);
                if (st == P3D_OK) st = p3d_render_frame(from_glb, &v, rgb_glb);
                const double psnr = psnr_u8(ref, b->rgb, frame), pg = psnr_u8(ref, rgb_glb, frame);
                psnr_min = psnr < psnr_min ? psnr : psnr_min;
                psnr_sum += psnr;
                glb_min = pg < glb_min ? pg : glb_min;
            }
        p3d_renderer_free(dense);
        p3d_renderer_free(from_glb);
        p3d_mesh_free(&back);
        free(ref);
        free(rgb_glb);
    } else if (st == P3D_OK) {
        st = p3d_renderer_init(ctx, &b->r.mesh, &ro, &b->ren);
    }
    if (st != P3D_OK) {
        compact_teardown(b, ctx);
        return st;
    }
    c->state = b;
    c->run = frames_run;
    c->teardown = compact_teardown;
    c->pixels = 20.0 * CB_SIDE * CB_SIDE;
    if (compact)
        snprintf(c->label, sizeof c->label, "20 frames, %lld faces (%.1f%%), GLB %lld B; PSNR vs dense min %.2f mean %.2f, "
                 "from the GLB min %.2f dB", (long long)b->r.compact.n_faces,
                 100.0 * (double)b->r.compact.n_faces / (double)b->r.mesh.n_faces, glb_len, psnr_min, psnr_sum / 20.0, glb_min);
    else
        snprintf(c->label, sizeof c->label, "20 frames, %lld faces, GLB %.1f MB", (long long)b->r.mesh.n_faces,
                 (double)glb_bytes(&b->r.mesh, NULL) / 1e6);
    return P3D_OK;
}

static p3d_status dense_setup(p3d_ctx *ctx, p3d_bench_case *c) { return frames_setup(ctx, c, 0); }
static p3d_status compact_frames_setup(p3d_ctx *ctx, p3d_bench_case *c) { return frames_setup(ctx, c, 1); }

P3D_BENCH_TABLE(p3d_bench_stages_compact) = {
    {"mesh.compact.moon", compact_setup},
    {"render.frames.moon-dense", dense_setup},
    {"render.frames.moon-compact", compact_frames_setup},
    {NULL, NULL},
};
