/* depth_io.c - depth / disparity map reading, validity masks, writing and resizing. */
#include "io/depth_io.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_io.h"
#include "io/image_io.h"
#include "io/npy.h"
#include "io/resize_area.h"

#define PFM_MAX_FILE_BYTES ((size_t)1 << 32)

p3d_status p3d_depth_alloc(int32_t w, int32_t h, p3d_depth_kind kind, p3d_depth *out) {
    memset(out, 0, sizeof *out);
    if (w <= 0 || h <= 0 || w > P3D_IMAGE_MAX_SIDE || h > P3D_IMAGE_MAX_SIDE ||
        (int64_t)w * h > P3D_IMAGE_MAX_PIXELS)
        return p3d_fail(P3D_ERR_INVALID_ARG, "depth map size %dx%d out of range", (int)w, (int)h);
    size_t n = (size_t)w * (size_t)h;
    out->value = (float *)calloc(n, sizeof(float));
    out->mask = (uint8_t *)calloc(n, 1);
    if (!out->value || !out->mask) {
        p3d_depth_free(out);
        return p3d_fail(P3D_ERR_OOM, "out of memory for a %dx%d depth map", (int)w, (int)h);
    }
    out->width = w;
    out->height = h;
    out->kind = kind;
    return P3D_OK;
}

void p3d_depth_free(p3d_depth *d) {
    if (!d) return;
    free(d->value);
    free(d->mask);
    memset(d, 0, sizeof *d);
}

/* Stores stored number `raw` at pixel i: scaled when valid, 0 and masked otherwise. */
static void depth_set(p3d_depth *d, size_t i, float raw, float scale) {
    float v = raw * scale;
    int ok = isfinite(raw) && isfinite(v) && raw != 0.0f && !(d->kind == P3D_DEPTH_METRIC && v < 0.0f);
    d->value[i] = ok ? v : 0.0f;
    d->mask[i] = (uint8_t)ok;
    d->n_valid += ok;
}

/* ---- .npy ---------------------------------------------------------------------------------- */

/* (H, W), (1, H, W) or (H, W, 1) -> *h, *w; 0 otherwise. */
static int npy_plane_dims(const p3d_tensor *t, int64_t *h, int64_t *w) {
    const int64_t *s = t->shape;
    if (t->ndim == 2) *h = s[0], *w = s[1];
    else if (t->ndim == 3 && s[0] == 1) *h = s[1], *w = s[2];
    else if (t->ndim == 3 && s[2] == 1) *h = s[0], *w = s[1];
    else return 0;
    return 1;
}

static p3d_status depth_read_npy(const char *path, const p3d_depth_opts *o, p3d_depth *out) {
    p3d_tensor t;
    p3d_dtype file_dtype = P3D_F32;
    P3D_TRY(p3d_npy_read(path, &t, &file_dtype));
    int64_t h = 0, w = 0;
    p3d_status st = P3D_OK;
    char s[96];
    if (file_dtype == P3D_U8)
        st = p3d_fail(P3D_ERR_FORMAT, "%s: a depth map .npy must be float32, float64 or uint16, not 8-bit", path);
    else if (!npy_plane_dims(&t, &h, &w))
        st = p3d_fail(P3D_ERR_FORMAT, "%s: a depth map must be a 2-D (H, W) array, not %s", path,
                      p3d_shape_str(s, sizeof s, t.ndim, t.shape));
    else if ((st = p3d_pixels_check(path, "the depth map", w, h)) == P3D_OK)
        st = p3d_depth_alloc((int32_t)w, (int32_t)h, o->kind, out);
    for (size_t i = 0; st == P3D_OK && i < (size_t)(w * h); i++) depth_set(out, i, ((const float *)t.data)[i], o->scale);
    p3d_npy_free(&t);
    return st;
}

/* ---- PNG ----------------------------------------------------------------------------------- */

static p3d_status depth_read_png(const char *path, const p3d_depth_opts *o, p3d_depth *out) {
    p3d_image img;
    P3D_TRY(p3d_image_read(path, P3D_IMAGE_KEEP_16BIT, &img));
    p3d_status st = P3D_OK;
    if (!img.is_grey)
        st = p3d_fail(P3D_ERR_FORMAT, "%s: a colour PNG (%d channels) is not a depth map; expected 8- or 16-bit "
                      "greyscale", path, (int)img.file_channels);
    if (st == P3D_OK) st = p3d_depth_alloc(img.width, img.height, o->kind, out);
    if (st == P3D_OK)
        for (size_t i = 0; i < (size_t)img.width * (size_t)img.height; i++)
            depth_set(out, i, img.rgb16 ? (float)img.rgb16[3 * i] : (float)img.rgb[3 * i], o->scale);
    p3d_image_free(&img);
    return st;
}

/* ---- PFM ----------------------------------------------------------------------------------- */

/* Next blank-separated token of the header at *pos (at most cap - 1 characters). */
static int pfm_token(const uint8_t *buf, size_t len, size_t *pos, char *tok, size_t cap) {
    size_t i = *pos, n = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r')) i++;
    while (i < len && n + 1 < cap && !(buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
        tok[n++] = (char)buf[i++];
    tok[n] = '\0';
    *pos = i;
    return n > 0 && (i >= len || n + 1 < cap);
}

typedef struct pfm_header {
    int32_t w, h, channels;
    int little; /* 1 when the scale is negative */
    size_t data;
} pfm_header;

static p3d_status pfm_parse_header(const char *path, const uint8_t *buf, size_t len, pfm_header *ph) {
    char tok[4][32];
    size_t pos = 0;
    for (int i = 0; i < 4; i++)
        if (!pfm_token(buf, len, &pos, tok[i], sizeof tok[i]))
            return p3d_fail(P3D_ERR_FORMAT, "%s: truncated or malformed PFM header", path);
    ph->channels = strcmp(tok[0], "Pf") == 0 ? 1 : strcmp(tok[0], "PF") == 0 ? 3 : 0;
    char *e1 = NULL, *e2 = NULL, *e3 = NULL;
    errno = 0;
    long w = strtol(tok[1], &e1, 10), h = strtol(tok[2], &e2, 10);
    double scale = strtod(tok[3], &e3);
    if (!ph->channels || *e1 || *e2 || *e3 || errno || !isfinite(scale) || scale == 0.0)
        return p3d_fail(P3D_ERR_FORMAT, "%s: malformed PFM header (\"%s %s %s %s\")", path, tok[0], tok[1], tok[2], tok[3]);
    P3D_TRY(p3d_pixels_check(path, "the PFM map", w, h));
    ph->w = (int32_t)w;
    ph->h = (int32_t)h;
    ph->little = scale < 0;
    ph->data = pos + 1; /* exactly one blank after the scale */
    size_t need = (size_t)w * (size_t)h * (size_t)ph->channels * 4;
    if (ph->data > len || len - ph->data < need)
        return p3d_fail(P3D_ERR_FORMAT, "%s: truncated PFM data: %zu bytes needed, %zu present", path, need,
                        ph->data > len ? (size_t)0 : len - ph->data);
    return P3D_OK;
}

/* Sample c = 0 of file row r (bottom row first) at column x. */
static float pfm_sample(const uint8_t *data, const pfm_header *ph, int32_t r, int32_t x) {
    const uint8_t *p = data + (((size_t)r * (size_t)ph->w + (size_t)x) * (size_t)ph->channels) * 4;
    uint32_t u = ph->little ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
                            : (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static p3d_status depth_read_pfm(const char *path, const p3d_depth_opts *o, p3d_depth *out) {
    uint8_t *buf = NULL;
    size_t len = 0;
    P3D_TRY(p3d_file_read(path, PFM_MAX_FILE_BYTES, &buf, &len));
    pfm_header ph = {0, 0, 0, 0, 0};
    p3d_status st = pfm_parse_header(path, buf, len, &ph);
    if (st == P3D_OK) st = p3d_depth_alloc(ph.w, ph.h, o->kind, out);
    if (st == P3D_OK)
        for (int32_t y = 0; y < ph.h; y++)
            for (int32_t x = 0; x < ph.w; x++)
                depth_set(out, (size_t)y * (size_t)ph.w + (size_t)x, pfm_sample(buf + ph.data, &ph, ph.h - 1 - y, x),
                          o->scale);
    free(buf);
    return st;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

typedef enum depth_format { FMT_NPY, FMT_PNG, FMT_PFM } depth_format;

static p3d_status depth_sniff(const char *path, depth_format *fmt) {
    uint8_t head[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return p3d_fail(P3D_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    if (n == 0) return p3d_fail(P3D_ERR_FORMAT, "%s: file is empty", path);
    if (n >= 6 && memcmp(head, "\x93NUMPY", 6) == 0) *fmt = FMT_NPY;
    else if (n >= 8 && memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0) *fmt = FMT_PNG;
    else if (n >= 3 && head[0] == 'P' && (head[1] == 'f' || head[1] == 'F') && (head[2] == '\n' || head[2] == ' ' || head[2] == '\r'))
        *fmt = FMT_PFM;
    else return p3d_fail(P3D_ERR_FORMAT, "%s: unsupported depth file kind (expected .npy, PNG or PFM)", path);
    return P3D_OK;
}

p3d_status p3d_depth_read(const char *path, const p3d_depth_opts *opts, p3d_depth *out) {
    memset(out, 0, sizeof *out);
    p3d_depth_opts o = opts ? *opts : (p3d_depth_opts){P3D_DEPTH_DISPARITY, 1.0f};
    if (o.scale == 0.0f) o.scale = 1.0f;
    if (!(o.scale > 0.0f) || !isfinite(o.scale))
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: depth scale %g must be positive and finite", path, (double)o.scale);
    depth_format fmt = FMT_NPY;
    P3D_TRY(depth_sniff(path, &fmt));
    p3d_status st = fmt == FMT_NPY ? depth_read_npy(path, &o, out)
                    : fmt == FMT_PNG ? depth_read_png(path, &o, out)
                                     : depth_read_pfm(path, &o, out);
    if (st != P3D_OK) p3d_depth_free(out);
    return st;
}

/* ---- writing ------------------------------------------------------------------------------- */

p3d_status p3d_depth_write_npy(const char *path, const p3d_depth *d) {
    int64_t shape[2] = {d->height, d->width};
    p3d_tensor t = p3d_tensor_view(d->value, P3D_F32, P3D_MEM_HOST, 2, shape);
    return p3d_npy_write(path, &t);
}

p3d_status p3d_depth_write_png16(const char *path, const p3d_depth *d) {
    size_t n = (size_t)d->width * (size_t)d->height;
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (d->mask[i]) lo = fminf(lo, d->value[i]), hi = fmaxf(hi, d->value[i]);
    uint16_t *px = (uint16_t *)malloc(n * sizeof(uint16_t));
    if (!px) return p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    double range = (double)hi - (double)lo;
    for (size_t i = 0; i < n; i++) {
        double t = range > 0.0 ? ((double)d->value[i] - lo) / range : 1.0;
        px[i] = d->mask[i] ? (uint16_t)(1 + lrint(t * 65534.0)) : 0;
    }
    p3d_status st = p3d_png_write_u16(path, d->width, d->height, 1, px);
    free(px);
    return st;
}

/* ---- resizing ------------------------------------------------------------------------------ */

int p3d_depth_aspect_ok(int32_t w, int32_t h, int32_t tw, int32_t th) {
    if (w <= 0 || h <= 0 || tw <= 0 || th <= 0) return 0;
    /* Some scale s puts both sides within a pixel: |s w - tw| <= 1 and |s h - th| <= 1. (A bound on
     * the width alone refused 640x448 -> 64x44, whose height was truncated from 44.8.) */
    const double lo = fmax((tw - 1.0) / w, (th - 1.0) / h), hi = fmin((tw + 1.0) / w, (th + 1.0) / h);
    return lo <= hi;
}

/* (H, W) float plane resize on the host. */
static p3d_status depth_plane_resize(const float *src, int32_t w, int32_t h, float *dst, int32_t tw, int32_t th) {
    int64_t ss[2] = {h, w}, ds[2] = {th, tw};
    p3d_tensor s = p3d_tensor_view((void *)src, P3D_F32, P3D_MEM_HOST, 2, ss);
    p3d_tensor d = p3d_tensor_view(dst, P3D_F32, P3D_MEM_HOST, 2, ds);
    return p3d_resize_area_cpu(&s, &d, P3D_RESIZE_HWC);
}

/* The masked path: value * mask (the stored values already are) and mask resized, then divided. */
static p3d_status depth_resize_masked(const p3d_depth *src, p3d_depth *out) {
    size_t n = (size_t)src->width * (size_t)src->height, m = (size_t)out->width * (size_t)out->height;
    float *mask = (float *)malloc(n * sizeof(float)), *cover = (float *)malloc(m * sizeof(float));
    p3d_status st = mask && cover ? P3D_OK : p3d_fail(P3D_ERR_OOM, "depth resize: out of memory");
    for (size_t i = 0; st == P3D_OK && i < n; i++) mask[i] = src->mask[i];
    if (st == P3D_OK) st = depth_plane_resize(src->value, src->width, src->height, out->value, out->width, out->height);
    if (st == P3D_OK) st = depth_plane_resize(mask, src->width, src->height, cover, out->width, out->height);
    for (size_t i = 0; st == P3D_OK && i < m; i++) {
        int ok = cover[i] >= 0.5f;
        out->value[i] = ok ? out->value[i] / cover[i] : 0.0f;
        out->mask[i] = (uint8_t)ok;
        out->n_valid += ok;
    }
    free(mask);
    free(cover);
    return st;
}

p3d_status p3d_depth_resize(const p3d_depth *src, int32_t tw, int32_t th, p3d_depth *out) {
    memset(out, 0, sizeof *out);
    if (!p3d_depth_aspect_ok(src->width, src->height, tw, th))
        return p3d_fail(P3D_ERR_INVALID_ARG, "depth map %dx%d cannot be resized to %dx%d: the aspect ratios differ "
                        "by more than one pixel (%dx%d would need a width of %.1f)", (int)src->width,
                        (int)src->height, (int)tw, (int)th, (int)src->width, (int)src->height,
                        (double)src->width * th / src->height);
    P3D_TRY(p3d_depth_alloc(tw, th, src->kind, out));
    p3d_status st;
    if (src->n_valid == (int64_t)src->width * src->height) {
        st = depth_plane_resize(src->value, src->width, src->height, out->value, tw, th);
        memset(out->mask, 1, (size_t)tw * (size_t)th);
        out->n_valid = (int64_t)tw * th;
    } else {
        st = depth_resize_masked(src, out);
    }
    if (st != P3D_OK) p3d_depth_free(out);
    return st;
}
