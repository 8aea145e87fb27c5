/* fill_gather.c - the non-learned fill's static block from its level-0 labels (fill_gather.h): checks
 * the description, then builds it on the CPU (this file, the reference) or on the device
 * (cuda/inpaint/fill_gather.cu). Each level: labels (given, copied or reduced 2x2), then the valid
 * source centres, then the mask list and the source list, in raster order. */
#include "inpaint/fill_gather.h"

#include <math.h>
#include <string.h>

#include "inpaint/fill_gather_math.h"

static p3d_status static_check(const p3d_fill_static *d) {
    if (d->n < 0 || d->n > P3D_FILL_STATIC_MAX || d->r < 0 || d->scratch < 0)
        return p3d_fail(P3D_ERR_INVALID_ARG, "fill_static: %d levels, radius %d, scratch at %lld: need 0..%d levels",
                        (int)d->n, (int)d->r, (long long)d->scratch, P3D_FILL_STATIC_MAX);
    for (int32_t l = 0; l < d->n; l++) {
        const p3d_fill_static_level *v = &d->lv[l];
        if (v->w < 1 || v->h < 1 || v->w > 0xffff || v->h > 0xffff || v->label < 0)
            return p3d_fail(P3D_ERR_INVALID_ARG, "fill_static: level %d: size %dx%d or labels at %lld", (int)l,
                            (int)v->w, (int)v->h, (long long)v->label);
        if (v->how < P3D_FILL_STATIC_GIVEN || v->how > P3D_FILL_STATIC_DOWN)
            return p3d_fail(P3D_ERR_INVALID_ARG, "fill_static: level %d: unknown label source %d", (int)l, (int)v->how);
        if (v->how != P3D_FILL_STATIC_GIVEN && (v->from < 0 || v->from >= l))
            return p3d_fail(P3D_ERR_INVALID_ARG, "fill_static: level %d comes from level %d: need an earlier one",
                            (int)l, (int)v->from);
        if (v->how == P3D_FILL_STATIC_COPY && (d->lv[v->from].w != v->w || d->lv[v->from].h != v->h))
            return p3d_fail(P3D_ERR_INVALID_ARG, "fill_static: level %d copies a level of another size", (int)l);
        if (v->how == P3D_FILL_STATIC_DOWN &&
            ((d->lv[v->from].w + 1) / 2 != v->w || (d->lv[v->from].h + 1) / 2 != v->h))
            return p3d_fail(P3D_ERR_INVALID_ARG, "fill_static: level %d is not half of level %d", (int)l, (int)v->from);
    }
    return P3D_OK;
}

/* List `kind` of level v, in raster order. */
static void static_list(uint8_t *base, const p3d_fill_static_level *v, int32_t kind) {
    const uint8_t *label = base + v->label, *valid = v->valid >= 0 ? base + v->valid : NULL;
    int32_t *out = (int32_t *)(base + (kind == P3D_FILL_LIST_MASK ? v->list : v->sources)), k = 0;
    for (int32_t y = 0; y < v->h; y++)
        for (int32_t x = 0; x < v->w; x++)
            if (p3d_fill_list_has(label, valid, v->w, x, y, kind)) out[k++] = p3d_fill_list_entry(v->w, x, y, kind);
}

static void static_cpu(uint8_t *base, const p3d_fill_static *d) {
    for (int32_t l = 0; l < d->n; l++) {
        const p3d_fill_static_level *v = &d->lv[l], *f = v->from >= 0 ? &d->lv[v->from] : NULL;
        uint8_t *label = base + v->label;
        if (v->how == P3D_FILL_STATIC_COPY) memcpy(label, base + f->label, (size_t)v->w * v->h);
        if (v->how == P3D_FILL_STATIC_DOWN)
            for (int32_t y = 0; y < v->h; y++)
                for (int32_t x = 0; x < v->w; x++)
                    label[y * v->w + x] = p3d_fill_label_down_px(base + f->label, f->w, f->h, x, y, v->all_context);
        if (v->valid >= 0) {
            for (int32_t y = 0; y < v->h; y++)
                for (int32_t x = 0; x < v->w; x++)
                    base[v->valid + (int64_t)y * v->w + x] = p3d_fill_valid_px(label, v->w, v->h, d->r, x, y);
            static_list(base, v, P3D_FILL_LIST_SOURCES);
        }
        if (v->list >= 0) static_list(base, v, P3D_FILL_LIST_MASK);
    }
}

p3d_status p3d_fill_static_build(p3d_ctx *ctx, uint8_t *base, const p3d_fill_static *d) {
    if (!base || !d) return p3d_fail(P3D_ERR_INVALID_ARG, "fill_static: workspace %p, description %p", (void *)base,
                                     (const void *)d);
    P3D_TRY(static_check(d));
#ifdef P3D_HAVE_CUDA
    if (p3d_ctx_cuda(ctx)) return p3d_fill_static_cuda(p3d_ctx_cuda(ctx), base, d);
#endif
    (void)ctx;
    static_cpu(base, d);
    return P3D_OK;
}

size_t p3d_fill_pack(const uint8_t *label, const float *rgb, const float *depth, int32_t w, int32_t h, uint8_t *out,
                     int32_t *n_ctx, int32_t *rgb8) {
    const int64_t n = (int64_t)w * h;
    int32_t nc = 0, is8 = 1;
    for (int64_t i = 0; i < n; i++) {
        if (label[i] != P3D_FILL_CONTEXT) continue;
        nc++;
        for (int32_t c = 0; c < 3 && is8; c++) {
            const float v = rgb[3 * i + c];
            is8 = v >= 0.0f && v <= 1.0f && !signbit(v) && (float)(uint8_t)lrintf(v * 255.0f) / 255.0f == v;
        }
    }
    float *dep = (float *)(out + P3D_FILL_PACK_DEPTH(nc, is8));
    int32_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        if (label[i] != P3D_FILL_CONTEXT) continue;
        for (int32_t c = 0; c < 3; c++) {
            if (is8) out[3 * (int64_t)k + c] = (uint8_t)lrintf(rgb[3 * i + c] * 255.0f);
            else memcpy(out + 4 * (3 * (int64_t)k + c), &rgb[3 * i + c], sizeof(float));
        }
        dep[k++] = depth[i];
    }
    *n_ctx = nc;
    *rgb8 = is8;
    return P3D_FILL_PACK_DEPTH(nc, is8) + (size_t)nc * sizeof(float);
}

p3d_status p3d_fill_unpack(p3d_ctx *ctx, const uint8_t *label, const uint8_t *packed, int32_t n_ctx, int32_t rgb8,
                           int32_t w, int32_t h, int32_t *rows, float *rgb, float *depth) {
    if (w < 1 || h < 1 || n_ctx < 0 || (int64_t)n_ctx > (int64_t)w * h)
        return p3d_fail(P3D_ERR_INVALID_ARG, "fill_unpack: %d context pixels in %dx%d", (int)n_ctx, (int)w, (int)h);
#ifdef P3D_HAVE_CUDA
    if (p3d_ctx_cuda(ctx)) return p3d_fill_unpack_cuda(p3d_ctx_cuda(ctx), label, packed, n_ctx, rgb8, w, h, rows, rgb, depth);
#endif
    (void)ctx;
    (void)rows;
    const float *dep = (const float *)(packed + P3D_FILL_PACK_DEPTH(n_ctx, rgb8));
    int64_t k = 0;
    for (int64_t i = 0; i < (int64_t)w * h; i++) {
        const int32_t in = label[i] == P3D_FILL_CONTEXT;
        for (int32_t c = 0; c < 3; c++) rgb[3 * i + c] = in ? p3d_fill_unpack_channel(packed, 3 * k + c, rgb8) : 0.0f;
        depth[i] = in ? dep[k] : 0.0f;
        k += in;
    }
    return P3D_OK;
}

p3d_status p3d_fill_results_pack(p3d_ctx *ctx, const int32_t *list, int64_t n_mask, const float *rgb,
                                 const float *depth, float *out) {
    if (n_mask < 0 || (n_mask > 0 && (!list || !rgb || !depth || !out)))
        return p3d_fail(P3D_ERR_INVALID_ARG, "fill_results: %lld mask pixels, list %p, results %p", (long long)n_mask,
                        (const void *)list, (void *)out);
#ifdef P3D_HAVE_CUDA
    if (p3d_ctx_cuda(ctx)) return p3d_fill_results_pack_cuda(p3d_ctx_cuda(ctx), list, n_mask, rgb, depth, out);
#endif
    (void)ctx;
    for (int64_t k = 0; k < n_mask; k++) p3d_fill_result_put(list, n_mask, k, rgb, depth, out);
    return P3D_OK;
}

void p3d_fill_results_unpack(const float *packed, int64_t n_mask, const uint8_t *mask, int32_t w, int32_t h,
                             float *rgb, float *depth) {
    int64_t k = 0;
    for (int64_t i = 0; i < (int64_t)w * h && k < n_mask; i++) {
        if (!mask[i]) continue;
        memcpy(rgb + 3 * i, packed + 3 * k, 3 * sizeof(float));
        depth[i] = packed[3 * n_mask + k];
        k++;
    }
}
