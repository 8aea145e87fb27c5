/* stages_io.c - bench stages of image decoding, INTER_AREA resizing, depth-map reading and the mesh
 * (LDI -> mesh, PLY ASCII / binary and GLB writing and reading).
 * Inputs are the real photos in ../shared/fixtures when present, else the project's sample; the mesh
 * stages use a synthetic moon-sized LDI. decode.jpeg.12mp decodes a 4000x3000 4:2:0 JPEG encoded
 * here from a procedural image (written to a temporary file, removed afterwards) with the program's
 * decoder (libjpeg-turbo). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>

#include "bench.h"
#include "core/file_io.h"
#include "io/depth_io.h"
#include "io/image_io.h"
#include "io/resize_area.h"
#include "mesh/mesh_file.h"

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

/* ---- decode.jpeg.12mp: a generated 12-megapixel photo-like JPEG ---------------------------- */
typedef struct jpeg12_state {
    char path[64];
} jpeg12_state;

static p3d_status jpeg12_run(void *s, p3d_ctx *ctx) {
    (void)ctx;
    p3d_image img;
    P3D_TRY(p3d_image_read(((jpeg12_state *)s)->path, 0, &img));
    p3d_image_free(&img);
    return P3D_OK;
}

static void jpeg12_teardown(void *s, p3d_ctx *ctx) {
    (void)ctx;
    unlink(((jpeg12_state *)s)->path);
    free(s);
}

/* A 4000x3000 RGB image with smooth shading, edges and fine texture, encoded at quality 90, 4:2:0. */
static p3d_status jpeg12_write(const char *path, int32_t w, int32_t h) {
    uint8_t *row = (uint8_t *)malloc((size_t)w * 3);
    FILE *f = fopen(path, "wb");
    if (!row || !f) {
        free(row);
        if (f) fclose(f);
        return p3d_fail(P3D_ERR_IO, "%s: cannot write the bench JPEG", path);
    }
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)w;
    cinfo.image_height = (JDIMENSION)h;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 90, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    uint32_t seed = 12345u;
    for (int32_t y = 0; y < h; y++) {
        for (int32_t x = 0; x < w; x++) {
            seed = seed * 1664525u + 1013904223u;
            const double u = (double)x / w, v = (double)y / h;
            const int tile = ((x / 97) + (y / 71)) & 1; /* edges */
            const double shade = 0.5 + 0.35 * sin(7.0 * u + 3.0 * v) * cos(5.0 * v - 2.0 * u);
            for (int c = 0; c < 3; c++) {
                double val = 255.0 * shade * (0.7 + 0.3 * c * u) + (tile ? 25.0 : -25.0) + (double)((seed >> (8 * c)) & 15) - 7.5;
                row[x * 3 + c] = (uint8_t)(val < 0 ? 0 : val > 255 ? 255 : val);
            }
        }
        JSAMPROW r = row;
        jpeg_write_scanlines(&cinfo, &r, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    free(row);
    if (fclose(f) != 0) return p3d_fail(P3D_ERR_IO, "%s: cannot write the bench JPEG", path);
    return P3D_OK;
}

static p3d_status jpeg12_setup(p3d_bench_case *c) {
    jpeg12_state *d = (jpeg12_state *)calloc(1, sizeof *d);
    if (!d) return p3d_fail(P3D_ERR_OOM, "out of memory");
    snprintf(d->path, sizeof d->path, "/tmp/p3d_bench_12mp_XXXXXX");
    const int fd = mkstemp(d->path);
    if (fd < 0) {
        free(d);
        return p3d_fail(P3D_ERR_IO, "cannot create a temporary file for the bench JPEG");
    }
    close(fd);
    const int32_t w = 4000, h = 3000;
    p3d_status st = jpeg12_write(d->path, w, h);
    if (st != P3D_OK) {
        jpeg12_teardown(d, NULL);
        return st;
    }
    struct stat sb;
    const long kb = stat(d->path, &sb) == 0 ? (long)(sb.st_size / 1024) : 0;
    snprintf(c->label, sizeof c->label, "generated %dx%d JPEG q90 4:2:0 (%ld KiB), libjpeg-turbo", (int)w, (int)h,
             kb);
    c->state = d;
    c->run = jpeg12_run;
    c->teardown = jpeg12_teardown;
    c->pixels = (double)w * (double)h;
    return P3D_OK;
}

static p3d_status dec_jpeg12(p3d_ctx *x, p3d_bench_case *c) {
    (void)x;
    return jpeg12_setup(c);
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

/* ---- mesh.* : the moon example's size (960x960 image + 60-pixel border = 1080x1080 canvas) --------- */

/* One node per canvas pixel: a slanted plane with a nearer disc (its rim torn at the reference's 0.04
 * disparity threshold) - about 1.17 M vertices and 2.3 M faces. */
static p3d_status moon_sized_ldi(p3d_ldi *l) {
    const int32_t size = 960, border = 60;
    const p3d_camera cam = {960.0f, 960.0f, 480.0f, 480.0f};
    P3D_TRY(p3d_ldi_init(l, size, size, border, &cam));
    p3d_status st = p3d_ldi_reserve(l, l->ext_w * l->ext_h);
    for (int32_t y = 0; y < l->ext_h && st == P3D_OK; y++)
        for (int32_t x = 0; x < l->ext_w && st == P3D_OK; x++) {
            const float dx = (float)(x - 540), dy = (float)(y - 540);
            const float disp = dx * dx + dy * dy < 250.0f * 250.0f ? 1.5f : 0.5f + 0.0004f * (float)y;
            const uint8_t rgb[3] = {(uint8_t)x, (uint8_t)y, (uint8_t)(x ^ y)};
            const int inside = x >= border && y >= border && x < border + size && y < border + size;
            st = p3d_ldi_add_node(l, x, y, 1.0f / disp, rgb, inside ? P3D_LABEL_ORIGINAL : P3D_LABEL_BORDER, 0, NULL);
        }
    for (int32_t id = 0; id < l->n_nodes && st == P3D_OK; id++) {
        const int32_t x = id % l->ext_w, y = id / l->ext_w;
        if (x + 1 < l->ext_w && fabsf(1.0f / l->depth[id] - 1.0f / l->depth[id + 1]) <= 0.04f)
            p3d_ldi_link(l, id, P3D_DIR_RIGHT, id + 1);
        if (y + 1 < l->ext_h && fabsf(1.0f / l->depth[id] - 1.0f / l->depth[id + l->ext_w]) <= 0.04f)
            p3d_ldi_link(l, id, P3D_DIR_DOWN, id + l->ext_w);
    }
    if (st != P3D_OK) p3d_ldi_free(l);
    return st;
}

typedef enum mesh_op { MESH_BUILD, MESH_WRITE, MESH_READ } mesh_op;

typedef struct mesh_state {
    mesh_op op;
    p3d_mesh_format fmt;
    p3d_ldi ldi;
    p3d_mesh mesh;
    char path[512];
} mesh_state;

static p3d_status mesh_run(void *s, p3d_ctx *ctx) {
    mesh_state *m = (mesh_state *)s;
    p3d_mesh out;
    switch (m->op) {
    case MESH_BUILD:
        P3D_TRY(p3d_mesh_from_ldi_ctx(ctx, &m->ldi, 0.04f, &out));
        p3d_mesh_free(&out);
        return P3D_OK;
    case MESH_WRITE: return p3d_mesh_write(&m->mesh, m->path, m->fmt);
    case MESH_READ:
        P3D_TRY(p3d_mesh_read(m->path, &out));
        p3d_mesh_free(&out);
        return P3D_OK;
    }
    return P3D_OK;
}

static void mesh_teardown(void *s, p3d_ctx *ctx) {
    (void)ctx;
    mesh_state *m = (mesh_state *)s;
    if (m->path[0]) unlink(m->path);
    p3d_ldi_free(&m->ldi);
    p3d_mesh_free(&m->mesh);
    free(m);
}

/* The mesh of the synthetic LDI; for the file stages also its file ($TMPDIR or /tmp), whose size the
 * label reports. */
static p3d_status mesh_setup(p3d_ctx *ctx, p3d_bench_case *c, mesh_op op, p3d_mesh_format fmt) {
    mesh_state *m = (mesh_state *)calloc(1, sizeof *m);
    if (!m) return p3d_fail(P3D_ERR_OOM, "out of memory");
    m->op = op;
    m->fmt = fmt;
    p3d_status st = moon_sized_ldi(&m->ldi);
    if (st == P3D_OK) st = p3d_mesh_from_ldi(&m->ldi, 0.04f, &m->mesh);
    static const char *const ext[3] = {"ply", "ascii.ply", "glb"};
    const char *tmp = getenv("TMPDIR");
    if (op != MESH_BUILD)
        snprintf(m->path, sizeof m->path, "%s/p3d-bench-mesh-%d.%s", tmp && tmp[0] ? tmp : "/tmp", (int)getpid(), ext[fmt]);
    if (st == P3D_OK && op != MESH_BUILD) st = p3d_mesh_write(&m->mesh, m->path, fmt);
    struct stat sb;
    if (st == P3D_OK && op != MESH_BUILD && stat(m->path, &sb) != 0) st = p3d_fail(P3D_ERR_IO, "%s: not written", m->path);
    if (st != P3D_OK) {
        mesh_teardown(m, ctx);
        return st;
    }
    int n = snprintf(c->label, sizeof c->label, "1080x1080 LDI: %lld vertices, %lld faces", (long long)m->mesh.n_vertices,
                     (long long)m->mesh.n_faces);
    if (op != MESH_BUILD) snprintf(c->label + n, sizeof c->label - (size_t)n, ", %.1f MB", (double)sb.st_size / 1e6);
    c->state = m;
    c->run = mesh_run;
    c->teardown = mesh_teardown;
    c->pixels = (double)m->ldi.ext_w * m->ldi.ext_h;
    return P3D_OK;
}

static p3d_status mesh_build(p3d_ctx *x, p3d_bench_case *c) { return mesh_setup(x, c, MESH_BUILD, P3D_MESH_PLY_BINARY); }
static p3d_status mesh_w_ascii(p3d_ctx *x, p3d_bench_case *c) { return mesh_setup(x, c, MESH_WRITE, P3D_MESH_PLY_ASCII); }
static p3d_status mesh_w_bin(p3d_ctx *x, p3d_bench_case *c) { return mesh_setup(x, c, MESH_WRITE, P3D_MESH_PLY_BINARY); }
static p3d_status mesh_w_glb(p3d_ctx *x, p3d_bench_case *c) { return mesh_setup(x, c, MESH_WRITE, P3D_MESH_GLB); }
static p3d_status mesh_r_ascii(p3d_ctx *x, p3d_bench_case *c) { return mesh_setup(x, c, MESH_READ, P3D_MESH_PLY_ASCII); }
static p3d_status mesh_r_bin(p3d_ctx *x, p3d_bench_case *c) { return mesh_setup(x, c, MESH_READ, P3D_MESH_PLY_BINARY); }
static p3d_status mesh_r_glb(p3d_ctx *x, p3d_bench_case *c) { return mesh_setup(x, c, MESH_READ, P3D_MESH_GLB); }

P3D_BENCH_TABLE(p3d_bench_stages_io) = {
    {"decode.jpeg", dec_jpeg},
    {"decode.jpeg.progressive", dec_jpeg_prog},
    {"decode.jpeg.12mp", dec_jpeg12},
    {"decode.png", dec_png},
    {"resize.area.u8", resize_u8},
    {"resize.area.f32", resize_f32},
    {"depth.read.npy", dep_npy},
    {"depth.read.png16", dep_png16},
    {"mesh.from_ldi", mesh_build},
    {"mesh.write.ply_ascii", mesh_w_ascii},
    {"mesh.write.ply_binary", mesh_w_bin},
    {"mesh.write.glb", mesh_w_glb},
    {"mesh.read.ply_ascii", mesh_r_ascii},
    {"mesh.read.ply_binary", mesh_r_bin},
    {"mesh.read.glb", mesh_r_glb},
    {NULL, NULL},
};
