/* stereo_quality.c - how good the 3D photo's hidden layers are, measured on a real stereo pair
 * (issue 15): the left view is meshed with its ground-truth disparity by the project's own pipeline
 * (p3d_photo_to_mesh_image, the fill the loaded nets select: none installed = the non-learned fill),
 * rendered at the right camera by the project's rasterizer, and compared with the real right view.
 *
 *   stereo_quality LEFT RIGHT LEFT_DISP RIGHT_DISP [--disp-scale 0.25] [--longer-side N] [--out DIR]
 *                  [--crops K] [--device D] [--assert LIST] [--mirror]
 *
 * --mirror scores the mirrored pair: both views and maps flipped left-right, the right view meshed
 * and the left one the target (the disocclusions open on the other side of every object).
 *
 * Images are 8-bit RGB of the same size; the disparities are greyscale maps of the same size in
 * pixels of that size after multiplying by --disp-scale (Middlebury 2003: value / 4, 0 = unknown).
 *
 * Alignment. The pipeline normalises the disparity (depth_prep.h: shift, scale to [0, 3], 1 / d), so
 * the prepared depth Z satisfies 1 / Z = a * D + b with D the disparity in processing pixels; a and b
 * are fitted (least squares) from the prepared depth the pipeline itself computes, on pixels away from
 * ground-truth disparity jumps (where the median filter moves values). A camera moved by tx along x sees
 * a point at u = x + 0.5 + (cx_view - cx_mesh) - fx tx (a D + b); tx = 1 / (fx a) and cx_view =
 * cx_mesh + b / a put every pixel at x - D, the right view's pixel. The check: PSNR of textured
 * visible pixels for the view shifted by (dx, dy) in {-1, -0.5, 0, 0.5, 1} x {-0.5, 0, 0.5} px; the
 * best should be (0, 0).
 *
 * Masks (right view, processing size): a pixel with ground-truth disparity d6 sees the left view's
 * pixel x + d6; beyond the left image's right side it is "out" (outside the frame: the border
 * extrapolation), where the left disparity there exceeds d6 by more than one processing pixel it is
 * "in" (disoccluded inside the frame), else "visible". Unknown disparities leave a pixel out of all.
 *
 * Baselines, computed here from the same prepared geometry (disparity (1 / Z - b) / a): the left view
 * forward-warped (nearest pixel, the nearer surface wins), then each row's holes filled by
 *   stretch: the hole's background side (the smaller disparity; at the image side, the one side there);
 *   smear:   a linear ramp between the two sides' colours (at the image side, the one side).
 *
 * Own camera: the mesh rendered at its own camera against the processing-size left view, and the same
 * mesh with every input-photo node given back its photo colour ("resampling alone": what triangles and
 * supersampling alone do to the photo); the difference is what the fill did to real pixels.
 *
 * Metrics: PSNR (8-bit peak) and SSIM (luma, 7 x 7 box windows, the usual C1, C2; the mean of the SSIM
 * map over the mask). Output: the table on stdout, DIR/quality.json, DIR/right_ours.png (our render
 * at the right camera), DIR/in_shows.png (the right view dimmed, its disoccluded pixels inside the frame
 * coloured by what our render shows there: red the photo, green a hidden layer, blue the border, yellow
 * nothing), DIR/worst_K.png (the K
 * disoccluded regions inside the frame where our fill's squared error is largest: real | ours |
 * stretch | smear, side by side, enlarged). --assert own,in,out,align exits 1 when a target fails:
 *   own   ours at its own camera within 1 dB of resampling alone
 *   in    disoccluded inside the frame: ours >= stretch + 1.5 dB
 *   out   outside the frame: ours >= stretch
 *   align the best alignment offset is (0, 0)
 *   geom  no disoccluded pixel inside the frame shows the renderer's background (no geometry) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/json.h"
#include "depth/depth_prep.h"
#include "io/resize_area.h"
#include "pipeline/photo3d.h"
#include "render/render.h"

enum { M_UNKNOWN = 0, M_VISIBLE = 1, M_IN = 2, M_OUT = 3 };
enum { R_VISIBLE = 0, R_IN = 1, R_OUT = 2, R_TEXTURED = 3, N_REGIONS = 4 };
enum { S_OURS = 0, S_STRETCH = 1, S_SMEAR = 2, N_SOURCES = 3 };
static const char *const region_names[N_REGIONS] = {"visible", "disoccluded_in", "disoccluded_out", "textured"};
static const char *const source_names[N_SOURCES] = {"ours", "stretch", "smear"};

typedef struct score {
    int64_t n;
    double psnr, ssim;
    int64_t uncovered; /* pixels of exactly the renderer's background colour (no geometry seen) */
} score;

static void usage(void) {
    fprintf(stderr,
            "usage: stereo_quality LEFT RIGHT LEFT_DISP RIGHT_DISP [--disp-scale S] [--longer-side N] [--out DIR]\n"
            "                      [--crops K] [--device D] [--assert own,in,out,align,geom] [--mirror]\n");
}

/* (h, w, 3) area resize of an 8-bit image (the pipeline's own resampling of the photo). */
static p3d_status resize_rgb(const p3d_image *img, int32_t w, int32_t h, uint8_t *out) {
    int64_t ss[3] = {img->height, img->width, 3}, ds[3] = {h, w, 3};
    p3d_tensor src = p3d_tensor_view(img->rgb, P3D_U8, P3D_MEM_HOST, 3, ss);
    p3d_tensor dst = p3d_tensor_view(out, P3D_U8, P3D_MEM_HOST, 3, ds);
    return p3d_resize_area_cpu(&src, &dst, P3D_RESIZE_HWC);
}

/* Ground-truth disparity at processing pixel (x, y) in processing pixels (nearest native pixel);
 * 0 when unknown. */
static float gt_disp(const p3d_depth *d, int32_t x, int32_t y, int32_t w, int32_t h) {
    int32_t nx = (int32_t)((x + 0.5) * d->width / w), ny = (int32_t)((y + 0.5) * d->height / h);
    if (nx >= d->width) nx = d->width - 1;
    if (ny >= d->height) ny = d->height - 1;
    const size_t k = (size_t)ny * d->width + nx;
    return d->mask[k] ? d->value[k] * (float)w / (float)d->width : 0.0f;
}

static double luma(const uint8_t *p) { return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]; }

/* PSNR and mean SSIM of `a` against the reference `ref` over mask pixels (mask[i] == want). */
static score compare(const uint8_t *a, const uint8_t *ref, const uint8_t *mask, uint8_t want, int32_t w, int32_t h) {
    score s = {0, 0.0, 0.0, 0};
    double se = 0.0, ss = 0.0;
    const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) {
            const size_t i = (size_t)y * w + x;
            if (mask[i] != want) continue;
            s.uncovered += a[3 * i] == 128 && a[3 * i + 1] == 128 && a[3 * i + 2] == 128;
            for (int32_t c = 0; c < 3; c++) {
                const double e = (double)a[3 * i + c] - (double)ref[3 * i + c];
                se += e * e;
            }
            double ma = 0, mb = 0, va = 0, vb = 0, cab = 0;
            int32_t n = 0;
            for (int32_t dy = -3; dy <= 3; dy++)
                for (int32_t dx = -3; dx <= 3; dx++) {
                    const int32_t xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
                    const size_t j = (size_t)yy * w + xx;
                    const double la = luma(a + 3 * j), lb = luma(ref + 3 * j);
                    ma += la, mb += lb, va += la * la, vb += lb * lb, cab += la * lb;
                    n++;
                }
            ma /= n, mb /= n;
            va = va / n - ma * ma, vb = vb / n - mb * mb, cab = cab / n - ma * mb;
            ss += ((2 * ma * mb + c1) * (2 * cab + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            s.n++;
        }
    if (s.n == 0) return s;
    const double mse = se / (3.0 * (double)s.n);
    s.psnr = mse > 0 ? 10.0 * log10(255.0 * 255.0 / mse) : 99.0;
    s.ssim = ss / (double)s.n;
    return s;
}

/* Forward warp of rgb (h, w, 3) by disparity disp to the right view (x - disp), nearer surface wins;
 * then row holes filled by the stretch (smear = 0) or the smear (smear = 1). */
static void baseline(const uint8_t *rgb, const float *disp, int32_t w, int32_t h, int smear, uint8_t *out) {
    float *zb = (float *)malloc((size_t)w * sizeof *zb);
    for (int32_t y = 0; y < h; y++) {
        uint8_t *row = out + (size_t)y * w * 3;
        for (int32_t x = 0; x < w; x++) zb[x] = -1.0f;
        for (int32_t x = 0; x < w; x++) {
            const size_t i = (size_t)y * w + x;
            const int32_t xr = (int32_t)floorf((float)x - disp[i] + 0.5f);
            if (xr < 0 || xr >= w || disp[i] <= zb[xr]) continue;
            zb[xr] = disp[i];
            memcpy(row + 3 * xr, rgb + 3 * i, 3);
        }
        for (int32_t x = 0; x < w;) {
            if (zb[x] >= 0) {
                x++;
                continue;
            }
            int32_t e = x;
            while (e < w && zb[e] < 0) e++;
            const int32_t l = x - 1, r = e; /* the sides, -1 / w when the hole meets the image side */
            for (int32_t k = x; k < e; k++) {
                const uint8_t *src;
                if (l < 0 && r >= w) {
                    memset(row + 3 * k, 128, 3);
                    continue;
                }
                if (l < 0 || (r < w && !smear && zb[r] < zb[l])) src = row + 3 * r;
                else if (r >= w || !smear) src = row + 3 * l;
                else {
                    const float t = (float)(k - l) / (float)(r - l);
                    for (int32_t c = 0; c < 3; c++)
                        row[3 * k + c] = (uint8_t)lrintf((1 - t) * row[3 * l + c] + t * row[3 * r + c]);
                    continue;
                }
                memcpy(row + 3 * k, src, 3);
            }
            x = e;
        }
    }
    free(zb);
}

typedef struct region {
    int32_t x0, y0, x1, y1;
    double err;
} region;

static int cmp_region(const void *a, const void *b) {
    const double x = ((const region *)a)->err, y = ((const region *)b)->err;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The K connected (8-neighbour) components of mask == M_IN with the largest squared error of ours,
 * written side by side: reference | ours | stretch | smear. */
static p3d_status write_crops(const char *dir, int32_t k_max, const uint8_t *mask, const uint8_t *const img[4],
                              int32_t w, int32_t h, p3d_json *j) {
    int32_t *comp = (int32_t *)malloc((size_t)w * h * sizeof *comp), *stack = (int32_t *)malloc((size_t)w * h * sizeof *stack);
    region *rg = (region *)malloc(((size_t)w * h + 1) * sizeof *rg);
    if (!comp || !stack || !rg) {
        free(comp), free(stack), free(rg);
        return p3d_fail(P3D_ERR_OOM, "stereo_quality: out of memory");
    }
    int32_t n = 0;
    for (int32_t i = 0; i < w * h; i++) comp[i] = -1;
    for (int32_t i = 0; i < w * h; i++) {
        if (mask[i] != M_IN || comp[i] >= 0) continue;
        region r = {i % w, i / w, i % w + 1, i / w + 1, 0.0};
        int32_t sp = 0;
        stack[sp++] = i;
        comp[i] = n;
        while (sp) {
            const int32_t p = stack[--sp], x = p % w, y = p / w;
            for (int32_t c = 0; c < 3; c++) {
                const double e = (double)img[1][3 * (size_t)p + c] - img[0][3 * (size_t)p + c];
                r.err += e * e;
            }
            if (x < r.x0) r.x0 = x;
            if (y < r.y0) r.y0 = y;
            if (x + 1 > r.x1) r.x1 = x + 1;
            if (y + 1 > r.y1) r.y1 = y + 1;
            for (int32_t dy = -1; dy <= 1; dy++)
                for (int32_t dx = -1; dx <= 1; dx++) {
                    const int32_t xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
                    const int32_t q = yy * w + xx;
                    if (mask[q] == M_IN && comp[q] < 0) comp[q] = n, stack[sp++] = q;
                }
        }
        rg[n++] = r;
    }
    qsort(rg, (size_t)n, sizeof *rg, cmp_region);
    p3d_status st = P3D_OK;
    p3d_json_key(j, "worst_regions");
    p3d_json_begin_array(j);
    for (int32_t k = 0; k < n && k < k_max && st == P3D_OK; k++) {
        const int32_t m = 12;
        const int32_t x0 = rg[k].x0 - m > 0 ? rg[k].x0 - m : 0, y0 = rg[k].y0 - m > 0 ? rg[k].y0 - m : 0;
        const int32_t x1 = rg[k].x1 + m < w ? rg[k].x1 + m : w, y1 = rg[k].y1 + m < h ? rg[k].y1 + m : h;
        const int32_t cw = x1 - x0, ch = y1 - y0, z = ch < 240 ? (240 + ch - 1) / ch : 1, gap = 4;
        const int32_t ow = 4 * cw * z + 3 * gap, oh = ch * z;
        uint8_t *o = (uint8_t *)malloc((size_t)ow * oh * 3);
        if (!o) {
            st = p3d_fail(P3D_ERR_OOM, "stereo_quality: out of memory");
            break;
        }
        memset(o, 255, (size_t)ow * oh * 3);
        for (int32_t p = 0; p < 4; p++)
            for (int32_t y = 0; y < oh; y++)
                for (int32_t x = 0; x < cw * z; x++) {
                    const size_t si = (size_t)(y0 + y / z) * w + (size_t)(x0 + x / z);
                    memcpy(o + 3 * ((size_t)y * ow + (size_t)p * (cw * z + gap) + x), img[p] + 3 * si, 3);
                }
        char path[1200];
        snprintf(path, sizeof path, "%s/worst_%d.png", dir, (int)k);
        st = p3d_png_write_u8(path, ow, oh, 3, o);
        free(o);
        p3d_json_begin_object(j);
        p3d_json_key(j, "file");
        p3d_json_string(j, path);
        p3d_json_key(j, "box");
        p3d_json_begin_array(j);
        p3d_json_int(j, rg[k].x0), p3d_json_int(j, rg[k].y0), p3d_json_int(j, rg[k].x1), p3d_json_int(j, rg[k].y1);
        p3d_json_end_array(j);
        p3d_json_key(j, "squared_error");
        p3d_json_number(j, rg[k].err);
        p3d_json_end_object(j);
    }
    p3d_json_end_array(j);
    free(comp), free(stack), free(rg);
    return st;
}

static p3d_status render_view(p3d_ctx *ctx, const p3d_mesh *m, const p3d_view *v, int32_t w, int32_t h, uint8_t *out) {
    p3d_renderer *r = NULL;
    const p3d_render_opts ro = {w, h, 3, {128, 128, 128}};
    P3D_TRY(p3d_renderer_init(ctx, m, &ro, &r));
    p3d_status st = p3d_render_frame(r, v, out);
    p3d_renderer_free(r);
    return st;
}

typedef struct args {
    const char *left, *right, *dleft, *dright, *out, *device, *asserts;
    float disp_scale;
    int32_t longer, crops, mirror;
} args;

static int parse(int argc, char **argv, args *a) {
    memset(a, 0, sizeof *a);
    a->disp_scale = 0.25f;
    a->out = ".";
    a->device = "cpu";
    a->asserts = "";
    a->crops = 4;
    const char **pos[4] = {&a->left, &a->right, &a->dleft, &a->dright};
    int32_t np = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--mirror")) {
            a->mirror = 1;
            continue;
        }
        if (s[0] == '-' && s[1] == '-') {
            if (i + 1 >= argc) return 0;
            const char *v = argv[++i];
            if (!strcmp(s, "--disp-scale")) a->disp_scale = (float)atof(v);
            else if (!strcmp(s, "--longer-side")) a->longer = atoi(v);
            else if (!strcmp(s, "--out")) a->out = v;
            else if (!strcmp(s, "--crops")) a->crops = atoi(v);
            else if (!strcmp(s, "--device")) a->device = v;
            else if (!strcmp(s, "--assert")) a->asserts = v;
            else return 0;
        } else if (np < 4) {
            *pos[np++] = s;
        } else {
            return 0;
        }
    }
    return np == 4 && a->disp_scale > 0 && a->crops >= 0;
}

/* Flips an image (and its 16-bit samples) or a disparity map left-right in place (--mirror). */
static void mirror_image(p3d_image *im) {
    for (int32_t y = 0; y < im->height; y++)
        for (int32_t x = 0, z = im->width - 1; x < z; x++, z--)
            for (int32_t c = 0; c < 3; c++) {
                const size_t i = ((size_t)y * im->width + x) * 3 + c, j = ((size_t)y * im->width + z) * 3 + c;
                const uint8_t t = im->rgb[i];
                im->rgb[i] = im->rgb[j], im->rgb[j] = t;
                if (im->rgb16) {
                    const uint16_t u = im->rgb16[i];
                    im->rgb16[i] = im->rgb16[j], im->rgb16[j] = u;
                }
            }
}

static void mirror_depth(p3d_depth *d) {
    for (int32_t y = 0; y < d->height; y++)
        for (int32_t x = 0, z = d->width - 1; x < z; x++, z--) {
            const size_t i = (size_t)y * d->width + x, j = (size_t)y * d->width + z;
            const float v = d->value[i];
            const uint8_t m = d->mask[i];
            d->value[i] = d->value[j], d->value[j] = v;
            d->mask[i] = d->mask[j], d->mask[j] = m;
        }
}

static void json_score(p3d_json *j, const char *key, score s) {
    p3d_json_key(j, key);
    p3d_json_begin_object(j);
    p3d_json_key(j, "pixels");
    p3d_json_int(j, s.n);
    p3d_json_key(j, "psnr");
    p3d_json_number(j, s.psnr);
    p3d_json_key(j, "ssim");
    p3d_json_number(j, s.ssim);
    p3d_json_key(j, "uncovered");
    p3d_json_int(j, s.uncovered);
    p3d_json_end_object(j);
}

static p3d_status run(const args *a, int *failed) {
    p3d_image il, ir;
    p3d_depth dl, dr;
    memset(&il, 0, sizeof il), memset(&ir, 0, sizeof ir), memset(&dl, 0, sizeof dl), memset(&dr, 0, sizeof dr);
    const p3d_depth_opts dop = {P3D_DEPTH_DISPARITY, a->disp_scale};
    P3D_TRY(p3d_image_read(a->left, 0, &il));
    p3d_status st = p3d_image_read(a->right, 0, &ir);
    if (st == P3D_OK) st = p3d_depth_read(a->dleft, &dop, &dl);
    if (st == P3D_OK) st = p3d_depth_read(a->dright, &dop, &dr);
    if (st == P3D_OK && (ir.width != il.width || ir.height != il.height || dl.width != il.width ||
                         dl.height != il.height || dr.width != il.width || dr.height != il.height))
        st = p3d_fail(P3D_ERR_INVALID_ARG, "stereo_quality: the views and disparities differ in size");
    if (st == P3D_OK && a->mirror) {
        /* the mirrored pair: each view flipped left-right, the right view becoming the left */
        p3d_image ti = il;
        p3d_depth td = dl;
        il = ir, ir = ti, dl = dr, dr = td;
        mirror_image(&il), mirror_image(&ir), mirror_depth(&dl), mirror_depth(&dr);
    }
    p3d_device dev;
    p3d_ctx *ctx = NULL;
    if (st == P3D_OK) st = p3d_device_parse(a->device, &dev);
    if (st == P3D_OK) st = p3d_device_resolve(&dev);
    if (st == P3D_OK) st = p3d_ctx_init(&ctx, dev);
    p3d_photo_opts po = p3d_photo_opts_default();
    po.longer_side = a->longer > 0 ? a->longer : (il.width > il.height ? il.width : il.height);
    /* The border must reach as far as the right camera sees beyond the left view's right side: the
     * largest x + 0.5 + d6 - W over the right view (map pixels), at the processing scale, 2 px to spare
     * (cones at 960 need about 110 px; the pipeline's 60 left 6577 pixels without geometry). */
    if (st == P3D_OK && po.ldi.border > 0) {
        double beyond = 0;
        for (int32_t y = 0; y < dr.height; y++)
            for (int32_t x = 0; x < dr.width; x++) {
                const size_t k = (size_t)y * dr.width + x;
                if (dr.mask[k] && x + 0.5 + dr.value[k] - dr.width > beyond) beyond = x + 0.5 + dr.value[k] - dr.width;
            }
        const double scale = (double)po.longer_side / (double)(dr.width > dr.height ? dr.width : dr.height);
        const int32_t need = (int32_t)ceil(beyond * scale) + 2;
        if (need > po.ldi.border) po.ldi.border = need;
    }
    p3d_ldi_nets nets;
    memset(&nets, 0, sizeof nets);
    p3d_photo_result res;
    memset(&res, 0, sizeof res);
    const double t0 = p3d_time_now();
    if (st == P3D_OK) st = p3d_photo_to_mesh_image(ctx, &nets, &il, a->left, &dl, &po, &res);
    const double t_mesh = p3d_time_now() - t0;
    const int32_t w = res.width, h = res.height;
    const size_t n = (size_t)w * h;
    uint8_t *lrgb = NULL, *rrgb = NULL, *mask = NULL, *ours = NULL, *bst = NULL, *bsm = NULL, *tmp = NULL, *prov = NULL;
    float *depth = NULL, *disp = NULL;
    p3d_json j;
    p3d_json_init(&j);
    if (st == P3D_OK) {
        lrgb = (uint8_t *)malloc(n * 3), rrgb = (uint8_t *)malloc(n * 3), mask = (uint8_t *)malloc(n);
        ours = (uint8_t *)malloc(n * 3), bst = (uint8_t *)malloc(n * 3), bsm = (uint8_t *)malloc(n * 3);
        tmp = (uint8_t *)malloc(n * 3), prov = (uint8_t *)malloc(n * 3), depth = (float *)malloc(n * sizeof *depth), disp = (float *)malloc(n * sizeof *disp);
        if (!lrgb || !rrgb || !mask || !ours || !bst || !bsm || !tmp || !prov || !depth || !disp)
            st = p3d_fail(P3D_ERR_OOM, "stereo_quality: out of memory");
    }
    if (st == P3D_OK) st = resize_rgb(&il, w, h, lrgb);
    if (st == P3D_OK) st = resize_rgb(&ir, w, h, rrgb);
    if (st == P3D_OK) st = p3d_depth_prepare(ctx, &dl, w, h, &po.prep, depth, NULL);
    /* 1 / Z = a D + b on pixels whose 5 x 5 ground-truth neighbourhood is known and smooth. */
    double fa = 0, fb = 0;
    int64_t nfit = 0;
    if (st == P3D_OK) {
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (int32_t y = 2; y < h - 2; y++)
            for (int32_t x = 2; x < w - 2; x++) {
                const float d = gt_disp(&dl, x, y, w, h);
                int ok = d > 0;
                for (int32_t dy = -2; ok && dy <= 2; dy++)
                    for (int32_t dx = -2; ok && dx <= 2; dx++) {
                        const float e = gt_disp(&dl, x + dx, y + dy, w, h);
                        ok = e > 0 && fabsf(e - d) <= 0.5f * (float)w / (float)dl.width + 0.26f;
                    }
                if (!ok) continue;
                const double iz = 1.0 / depth[(size_t)y * w + x];
                sx += d, sy += iz, sxx += (double)d * d, sxy += d * iz;
                nfit++;
            }
        if (nfit < 100) {
            st = p3d_fail(P3D_ERR_INVALID_ARG, "stereo_quality: only %lld smooth pixels to fit the depth scale", (long long)nfit);
        } else {
            fa = (nfit * sxy - sx * sy) / (nfit * sxx - sx * sx);
            fb = (sy - fa * sx) / nfit;
        }
    }
    double fit_rms = 0;
    if (st == P3D_OK) {
        int64_t k = 0;
        for (size_t i = 0; i < n; i++) {
            disp[i] = (float)((1.0 / depth[i] - fb) / fa);
            const float d = gt_disp(&dl, (int32_t)(i % w), (int32_t)(i / w), w, h);
            if (d > 0) fit_rms += (disp[i] - d) * (disp[i] - d), k++;
        }
        fit_rms = sqrt(fit_rms / (k ? k : 1));
            if (getenv("SQ_DEBUG")) {
            double bs[8] = {0}, bn[8] = {0};
            for (size_t i = 0; i < n; i++) {
                const float d = gt_disp(&dl, (int32_t)(i % w), (int32_t)(i / w), w, h);
                if (d <= 0) continue;
                int b8 = (int)(d / 8);
                if (b8 > 7) b8 = 7;
                bs[b8] += disp[i] - d, bn[b8] += 1;
            }
            for (int b8 = 0; b8 < 8; b8++) fprintf(stderr, "D %d..%d: mean residual %.3f (%g px)\n", 8 * b8, 8 * b8 + 8, bn[b8] ? bs[b8] / bn[b8] : 0, bn[b8]);
        }
    }
    /* masks of the right view */
    int64_t counts[4] = {0, 0, 0, 0};
    for (int32_t y = 0; st == P3D_OK && y < h; y++)
        for (int32_t x = 0; x < w; x++) {
            const size_t i = (size_t)y * w + x;
            const float d6 = gt_disp(&dr, x, y, w, h);
            uint8_t m = M_UNKNOWN;
            if (d6 > 0) {
                const float xl = (float)x + 0.5f + d6;
                if (xl >= (float)w) {
                    m = M_OUT;
                } else {
                    const float d2 = gt_disp(&dl, (int32_t)xl, y, w, h);
                    m = d2 <= 0 ? M_UNKNOWN : d2 > d6 + 1.0f ? M_IN : M_VISIBLE;
                }
            }
            mask[i] = m;
            counts[m]++;
        }
    /* renders */
    p3d_view v0 = p3d_view_of_mesh(&res.mesh, w, h), vr = v0;
    if (st == P3D_OK) {
        vr.pos[0] = (float)(1.0 / ((double)v0.fx * fa));
        vr.cx = res.cam.cx + (float)(fb / fa);
        vr.cy = res.cam.cy;
        st = render_view(ctx, &res.mesh, &vr, w, h, ours);
    }
    /* alignment: textured visible pixels (luma gradient of the real right view above 12 levels) */
    uint8_t *tex = NULL;
    double align[5][3];
    int32_t best_dx = 0, best_dy = 0;
    if (st == P3D_OK && !(tex = (uint8_t *)calloc(n, 1))) st = p3d_fail(P3D_ERR_OOM, "stereo_quality: out of memory");
    for (int32_t y = 1; st == P3D_OK && y < h - 1; y++)
        for (int32_t x = 1; x < w - 1; x++) {
            const size_t i = (size_t)y * w + x;
            const double gx = luma(rrgb + 3 * (i + 1)) - luma(rrgb + 3 * (i - 1));
            const double gy = luma(rrgb + 3 * (i + w)) - luma(rrgb + 3 * (i - w));
            int vis = 1;
            for (int32_t dy = -1; dy <= 1; dy++)
                for (int32_t dx = -1; dx <= 1; dx++) vis &= mask[i + dy * w + dx] == M_VISIBLE;
            tex[i] = vis && gx * gx + gy * gy > 24.0 * 24.0 ? 1 : 0;
        }
    double best = -1;
    for (int32_t a_x = 0; st == P3D_OK && a_x < 5; a_x++)
        for (int32_t a_y = 0; st == P3D_OK && a_y < 3; a_y++) {
            p3d_view vs = vr;
            vs.cx += 0.5f * (float)(a_x - 2);
            vs.cy += 0.5f * (float)(a_y - 1);
            st = render_view(ctx, &res.mesh, &vs, w, h, tmp);
            if (st != P3D_OK) break;
            align[a_x][a_y] = compare(tmp, rrgb, tex, 1, w, h).psnr;
            if (align[a_x][a_y] > best) best = align[a_x][a_y], best_dx = a_x - 2, best_dy = a_y - 1;
        }
    if (st == P3D_OK) {
        baseline(lrgb, disp, w, h, 0, bst);
        baseline(lrgb, disp, w, h, 1, bsm);
    }
    score sc[N_SOURCES][N_REGIONS];
    const uint8_t *srcs[N_SOURCES] = {ours, bst, bsm};
    for (int32_t s = 0; st == P3D_OK && s < N_SOURCES; s++) {
        sc[s][R_VISIBLE] = compare(srcs[s], rrgb, mask, M_VISIBLE, w, h);
        sc[s][R_IN] = compare(srcs[s], rrgb, mask, M_IN, w, h);
        sc[s][R_OUT] = compare(srcs[s], rrgb, mask, M_OUT, w, h);
        sc[s][R_TEXTURED] = compare(srcs[s], rrgb, tex, 1, w, h);
    }
    /* what our render shows on each region's pixels: the mesh recoloured by provenance (photo /
     * synthesised hidden layer / border), rendered without supersampling */
    int64_t shows[N_REGIONS][4];
    double shows_se[4] = {0, 0, 0, 0};
    memset(shows, 0, sizeof shows);
    if (st == P3D_OK) {
        uint8_t *keep = (uint8_t *)malloc((size_t)res.mesh.n_vertices * 3 + 1);
        if (!keep) st = p3d_fail(P3D_ERR_OOM, "stereo_quality: out of memory");
        for (int64_t i = 0; st == P3D_OK && i < res.mesh.n_vertices; i++) {
            uint8_t *c = res.mesh.rgba + 4 * i;
            memcpy(keep + 3 * i, c, 3);
            const uint8_t lab = c[3];
            c[0] = lab == P3D_LABEL_ORIGINAL ? 255 : 0;
            c[1] = lab == P3D_LABEL_INPAINT1 || lab == P3D_LABEL_INPAINT2 || lab == P3D_LABEL_OCCLUSION ? 255 : 0;
            c[2] = lab == P3D_LABEL_BORDER ? 255 : 0;
        }
        p3d_renderer *rr = NULL;
        const p3d_render_opts ro1 = {w, h, 1, {128, 128, 128}};
        if (st == P3D_OK) st = p3d_renderer_init(ctx, &res.mesh, &ro1, &rr);
        if (st == P3D_OK) st = p3d_render_frame(rr, &vr, tmp);
        p3d_renderer_free(rr);
        for (size_t i = 0; st == P3D_OK && i < n; i++) {
            const uint8_t *c = tmp + 3 * i;
            const int32_t k = c[0] == 128 ? 3 : c[0] > 128 ? 0 : c[1] > 128 ? 1 : 2;
            if (mask[i] == M_VISIBLE) shows[R_VISIBLE][k]++;
            if (mask[i] == M_IN) {
                shows[R_IN][k]++;
                for (int32_t ch = 0; ch < 3; ch++)
                    shows_se[k] += ((double)ours[3 * i + ch] - rrgb[3 * i + ch]) * ((double)ours[3 * i + ch] - rrgb[3 * i + ch]);
            }
            if (mask[i] == M_OUT) shows[R_OUT][k]++;
            /* provenance map: the real view dimmed, disoccluded pixels coloured by what we show */
            static const uint8_t pal[4][3] = {{255, 0, 0}, {0, 200, 0}, {0, 0, 255}, {255, 255, 0}};
            for (int32_t ch = 0; ch < 3; ch++)
                prov[3 * i + ch] = mask[i] == M_IN ? pal[k][ch] : (uint8_t)(rrgb[3 * i + ch] / 3);
        }
        for (int64_t i = 0; keep && i < res.mesh.n_vertices; i++) memcpy(res.mesh.rgba + 4 * i, keep + 3 * i, 3);
        free(keep);
    }
    /* oracle: every synthesised node (hidden layers, border) takes the real right view's colour where
     * it projects, so the score is the best any fill could reach with this geometry */
    score oracle[N_REGIONS];
    memset(oracle, 0, sizeof oracle);
    if (st == P3D_OK) {
        uint8_t *keep = (uint8_t *)malloc((size_t)res.mesh.n_vertices * 3 + 1);
        if (!keep) st = p3d_fail(P3D_ERR_OOM, "stereo_quality: out of memory");
        for (int64_t i = 0; st == P3D_OK && i < res.mesh.n_vertices; i++) {
            uint8_t *c = res.mesh.rgba + 4 * i;
            memcpy(keep + 3 * i, c, 3);
            if (c[3] == P3D_LABEL_ORIGINAL) continue;
            const float *q = res.mesh.xyz + 3 * i;
            const float u = vr.fx * (q[0] - vr.pos[0]) / q[2] + vr.cx, v = vr.fy * q[1] / q[2] + vr.cy;
            const int32_t x = (int32_t)floorf(u), y = (int32_t)floorf(v);
            if (x >= 0 && y >= 0 && x < w && y < h) memcpy(c, rrgb + 3 * ((size_t)y * w + x), 3);
        }
        if (st == P3D_OK) st = render_view(ctx, &res.mesh, &vr, w, h, tmp);
        if (st == P3D_OK) {
            oracle[R_VISIBLE] = compare(tmp, rrgb, mask, M_VISIBLE, w, h);
            oracle[R_IN] = compare(tmp, rrgb, mask, M_IN, w, h);
            oracle[R_OUT] = compare(tmp, rrgb, mask, M_OUT, w, h);
        }
        for (int64_t i = 0; keep && i < res.mesh.n_vertices; i++) memcpy(res.mesh.rgba + 4 * i, keep + 3 * i, 3);
        free(keep);
    }
    /* own camera: ours and the same mesh with the photo's colours on its input nodes */
    score own = {0, 0, 0, 0}, resample = {0, 0, 0, 0};
    int64_t recoloured = 0;
    if (st == P3D_OK) {
        memset(mask, 1, n);
        st = render_view(ctx, &res.mesh, &v0, w, h, tmp);
        if (st == P3D_OK) own = compare(tmp, lrgb, mask, 1, w, h);
    }
    if (st == P3D_OK) {
        const p3d_ldi *l = &res.ldi;
        for (int32_t id = 0; id < l->n_nodes; id++) {
            const int32_t x = p3d_ldi_x(l, id) - l->border, y = p3d_ldi_y(l, id) - l->border;
            if (l->label[id] != P3D_LABEL_ORIGINAL || x < 0 || y < 0 || x >= w || y >= h) continue;
            uint8_t *c = res.mesh.rgba + 4 * (size_t)id;
            const uint8_t *p = lrgb + 3 * ((size_t)y * w + x);
            recoloured += c[0] != p[0] || c[1] != p[1] || c[2] != p[2];
            memcpy(c, p, 3);
        }
        st = render_view(ctx, &res.mesh, &v0, w, h, tmp);
        if (st == P3D_OK) resample = compare(tmp, lrgb, mask, 1, w, h);
    }
    if (st == P3D_OK) {
        printf("stereo_quality: %s at %dx%d, fill %s, border %d px; photo -> mesh %.2f s\n", a->left, (int)w, (int)h,
               nets.depth ? "learned" : "classic", (int)res.ldi.border, t_mesh);
        printf("depth fit: 1/Z = %.6g D + %.6g on %lld px (rms %.3f px); right camera tx %.6g, cx %+.3f px\n", fa, fb,
               (long long)nfit, fit_rms, (double)vr.pos[0], (double)(vr.cx - res.cam.cx));
        printf("alignment (PSNR of %s textured visible px, view shifted dx, dy):\n", "the");
        for (int32_t a_y = 0; a_y < 3; a_y++) {
            printf("  dy %+.1f:", 0.5 * (a_y - 1));
            for (int32_t a_x = 0; a_x < 5; a_x++) printf("  dx %+.1f %6.2f", 0.5 * (a_x - 2), align[a_x][a_y]);
            printf("\n");
        }
        printf("  best at (%+.1f, %+.1f)\n", 0.5 * best_dx, 0.5 * best_dy);
        printf("%-16s %8s %7s | %-15s | %-15s | %-15s\n", "region", "pixels", "no geom", "ours dB  SSIM",
               "stretch dB SSIM", "smear dB  SSIM");
        for (int32_t r = 0; r < N_REGIONS; r++) {
            printf("%-16s %8lld %7lld |", region_names[r], (long long)sc[0][r].n, (long long)sc[0][r].uncovered);
            for (int32_t s = 0; s < N_SOURCES; s++) printf(" %6.2f  %6.4f |", sc[s][r].psnr, sc[s][r].ssim);
            printf("\n");
        }
        printf("oracle fill (synthesised nodes take the real right view's colour): visible %.2f dB, in %.2f dB, "
               "out %.2f dB\n", oracle[R_VISIBLE].psnr, oracle[R_IN].psnr, oracle[R_OUT].psnr);
        printf("our render shows (photo / hidden layer / border / nothing): visible %lld / %lld / %lld / %lld, "
               "in %lld / %lld / %lld / %lld, out %lld / %lld / %lld / %lld\n",
               (long long)shows[0][0], (long long)shows[0][1], (long long)shows[0][2], (long long)shows[0][3],
               (long long)shows[1][0], (long long)shows[1][1], (long long)shows[1][2], (long long)shows[1][3],
               (long long)shows[2][0], (long long)shows[2][1], (long long)shows[2][2], (long long)shows[2][3]);
        printf("in, by what our render shows: PSNR photo %.2f, hidden layer %.2f, border %.2f, nothing %.2f\n",
               10 * log10(65025.0 * 3 * shows[R_IN][0] / (shows_se[0] + 1e-9)),
               10 * log10(65025.0 * 3 * shows[R_IN][1] / (shows_se[1] + 1e-9)),
               10 * log10(65025.0 * 3 * shows[R_IN][2] / (shows_se[2] + 1e-9)),
               10 * log10(65025.0 * 3 * shows[R_IN][3] / (shows_se[3] + 1e-9)));
        printf("own camera: ours %.2f dB (SSIM %.4f), resampling alone %.2f dB (SSIM %.4f); %lld photo nodes recoloured\n",
               own.psnr, own.ssim, resample.psnr, resample.ssim, (long long)recoloured);
        (void)counts;
    }
    if (st == P3D_OK) {
        mkdir(a->out, 0777);
        /* the masks again (the own-camera step overwrote them) */
        for (int32_t y = 0; y < h; y++)
            for (int32_t x = 0; x < w; x++) {
                const float d6 = gt_disp(&dr, x, y, w, h);
                const float xl = (float)x + 0.5f + d6;
                uint8_t m = M_UNKNOWN;
                if (d6 > 0 && xl < (float)w) {
                    const float d2 = gt_disp(&dl, (int32_t)xl, y, w, h);
                    m = d2 > d6 + 1.0f ? M_IN : M_VISIBLE;
                }
                mask[(size_t)y * w + x] = m;
            }
        p3d_json_begin_object(&j);
        p3d_json_key(&j, "left");
        p3d_json_string(&j, a->left);
        p3d_json_key(&j, "width");
        p3d_json_int(&j, w);
        p3d_json_key(&j, "height");
        p3d_json_int(&j, h);
        p3d_json_key(&j, "fill");
        p3d_json_string(&j, nets.depth ? "learned" : "classic");
        p3d_json_key(&j, "seconds_photo_to_mesh");
        p3d_json_number(&j, t_mesh);
        p3d_json_key(&j, "fit");
        p3d_json_begin_object(&j);
        p3d_json_key(&j, "a");
        p3d_json_number(&j, fa);
        p3d_json_key(&j, "b");
        p3d_json_number(&j, fb);
        p3d_json_key(&j, "rms_px");
        p3d_json_number(&j, fit_rms);
        p3d_json_end_object(&j);
        p3d_json_key(&j, "alignment_best");
        p3d_json_begin_array(&j);
        p3d_json_number(&j, 0.5 * best_dx);
        p3d_json_number(&j, 0.5 * best_dy);
        p3d_json_end_array(&j);
        for (int32_t s = 0; s < N_SOURCES; s++) {
            p3d_json_key(&j, source_names[s]);
            p3d_json_begin_object(&j);
            for (int32_t r = 0; r < N_REGIONS; r++) json_score(&j, region_names[r], sc[s][r]);
            p3d_json_end_object(&j);
        }
        json_score(&j, "own_camera", own);
        json_score(&j, "own_camera_resampling", resample);
        p3d_json_key(&j, "recoloured_photo_nodes");
        p3d_json_int(&j, recoloured);
        char rpath[1200];
        snprintf(rpath, sizeof rpath, "%s/right_ours.png", a->out);
        st = p3d_png_write_u8(rpath, w, h, 3, ours);
        snprintf(rpath, sizeof rpath, "%s/in_shows.png", a->out);
        if (st == P3D_OK) st = p3d_png_write_u8(rpath, w, h, 3, prov);
        /* the real right view and the stretch at the processing size, and the masks (0 unknown,
         * 1 visible, 2 disoccluded inside the frame, scaled by 100), for comparisons outside the tool */
        snprintf(rpath, sizeof rpath, "%s/right_real.png", a->out);
        if (st == P3D_OK) st = p3d_png_write_u8(rpath, w, h, 3, rrgb);
        snprintf(rpath, sizeof rpath, "%s/right_stretch.png", a->out);
        if (st == P3D_OK) st = p3d_png_write_u8(rpath, w, h, 3, bst);
        for (size_t i = 0; st == P3D_OK && i < n; i++) tmp[i] = (uint8_t)(mask[i] * 100);
        snprintf(rpath, sizeof rpath, "%s/masks.png", a->out);
        if (st == P3D_OK) st = p3d_png_write_u8(rpath, w, h, 1, tmp);
        const uint8_t *imgs[4] = {rrgb, ours, bst, bsm};
        if (st == P3D_OK) st = write_crops(a->out, a->crops, mask, imgs, w, h, &j);
        p3d_json_end_object(&j);
        char path[1200];
        snprintf(path, sizeof path, "%s/quality.json", a->out);
        if (st == P3D_OK) st = p3d_json_write_file(&j, path);
    }
    if (st == P3D_OK && a->asserts[0]) {
        struct {
            const char *name;
            int ok;
            double have, need;
        } t[5] = {
            {"own", own.psnr >= resample.psnr - 1.0, own.psnr, resample.psnr - 1.0},
            {"in", sc[0][R_IN].psnr >= sc[1][R_IN].psnr + 1.5, sc[0][R_IN].psnr, sc[1][R_IN].psnr + 1.5},
            {"out", sc[0][R_OUT].psnr >= sc[1][R_OUT].psnr, sc[0][R_OUT].psnr, sc[1][R_OUT].psnr},
            {"align", best_dx == 0 && best_dy == 0, 0.5 * best_dx, 0.0},
            {"geom", sc[0][R_IN].uncovered == 0, (double)sc[0][R_IN].uncovered, 0.0},
        };
        for (int32_t k = 0; k < 5; k++) {
            if (!strstr(a->asserts, t[k].name)) continue;
            printf("target %-5s %s (%.2f, need %.2f)\n", t[k].name, t[k].ok ? "met" : "FAILED", t[k].have, t[k].need);
            if (!t[k].ok) *failed = 1;
        }
    }
    p3d_json_free(&j);
    free(lrgb), free(rrgb), free(mask), free(ours), free(bst), free(bsm), free(tmp), free(prov), free(depth), free(disp), free(tex);
    p3d_photo_result_free(&res);
    p3d_ctx_free(ctx);
    p3d_image_free(&il), p3d_image_free(&ir);
    p3d_depth_free(&dl), p3d_depth_free(&dr);
    return st;
}

int main(int argc, char **argv) {
    args a;
    if (!parse(argc, argv, &a)) {
        usage();
        return 2;
    }
    int failed = 0;
    const p3d_status st = run(&a, &failed);
    if (st != P3D_OK) {
        fprintf(stderr, "stereo_quality: %s\n", p3d_last_error());
        return 1;
    }
    return failed ? 1 : 0;
}
