/* fill_gather.c - the non-learned fill's static block from its level-0 labels (fill_gather.h): checks
 * the description, then builds it on the CPU (this file, the reference) or on the device
 * (cuda/inpaint/fill_gather.cu). Each level: labels (given, copied or reduced 2x2), then the valid
 * source centres, then the mask list and the source list, in raster order. */
#include "inpaint/fill_gather.h"

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
