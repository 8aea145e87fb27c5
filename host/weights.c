/* weights.c - TEMPORARY minimal p3dw reader (see weights.h); replaced by branch `weights`. */
#include "weights.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wrec {
    char *name;
    p3d_tensor t;
    uint64_t off;
} wrec;
typedef struct hrec {
    char *key;
    int type;
    int64_t i;
    char *s;
} hrec;
struct p3d_weights {
    char *path;
    uint8_t *buf;
    size_t size, data_off;
    uint32_t kind;
    wrec *t;
    int32_t nt;
    hrec *h;
    int32_t nh;
};

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

p3d_status p3d_weights_load(const char *path, p3d_weights **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return p3d_fail(P3D_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p3d_weights *w = calloc(1, sizeof *w);
    w->buf = malloc((size_t)n);
    w->size = (size_t)n;
    w->path = strdup(path);
    if (fread(w->buf, 1, (size_t)n, f) != (size_t)n) { fclose(f); p3d_weights_free(w); return p3d_fail(P3D_ERR_IO, "%s: short read", path); }
    fclose(f);
    if (n < 64 || memcmp(w->buf, "P3DW", 4)) { p3d_weights_free(w); return p3d_fail(P3D_ERR_FORMAT, "%s: not a p3dw file", path); }
    w->kind = rd32(w->buf + 12);
    w->nh = (int32_t)rd32(w->buf + 16);
    w->nt = (int32_t)rd32(w->buf + 20);
    size_t pos = rd64(w->buf + 24);
    size_t tpos = rd64(w->buf + 32);
    w->data_off = rd64(w->buf + 40);
    w->h = calloc((size_t)w->nh, sizeof *w->h);
    for (int32_t i = 0; i < w->nh; i++) {
        uint16_t kl; memcpy(&kl, w->buf + pos, 2);
        int type = w->buf[pos + 2];
        pos += 4;
        w->h[i].key = strndup((const char *)w->buf + pos, kl);
        pos += kl;
        w->h[i].type = type;
        if (type == 2) {
            uint32_t sl = rd32(w->buf + pos);
            w->h[i].s = strndup((const char *)w->buf + pos + 4, sl);
            pos += 4 + sl;
        } else {
            w->h[i].i = (int64_t)rd64(w->buf + pos);
            pos += 8;
        }
    }
    w->t = calloc((size_t)w->nt, sizeof *w->t);
    for (int32_t i = 0; i < w->nt; i++) {
        uint16_t kl; memcpy(&kl, w->buf + tpos, 2);
        int dt = w->buf[tpos + 2], nd = w->buf[tpos + 3];
        tpos += 4;
        w->t[i].name = strndup((const char *)w->buf + tpos, kl);
        tpos += kl;
        int64_t dims[4];
        for (int d = 0; d < nd; d++) dims[d] = (int64_t)rd64(w->buf + tpos + 8 * (size_t)d);
        tpos += 8 * (size_t)nd;
        float sc; memcpy(&sc, w->buf + tpos, 4);
        int32_t zp; memcpy(&zp, w->buf + tpos + 4, 4);
        w->t[i].off = rd64(w->buf + tpos + 8);
        tpos += 24;
        w->t[i].t = p3d_tensor_view(w->buf + w->data_off + w->t[i].off, (p3d_dtype)dt, P3D_MEM_HOST, nd, dims);
        w->t[i].t.scale = sc;
        w->t[i].t.zero_point = zp;
    }
    *out = w;
    return P3D_OK;
}

void p3d_weights_free(p3d_weights *w) {
    if (!w) return;
    for (int32_t i = 0; i < w->nt; i++) free(w->t[i].name);
    for (int32_t i = 0; i < w->nh; i++) { free(w->h[i].key); free(w->h[i].s); }
    free(w->t); free(w->h); free(w->buf); free(w->path); free(w);
}

const char *p3d_weights_path(const p3d_weights *w) { return w->path; }

p3d_status p3d_weights_expect_kind(const p3d_weights *w, p3d_model_kind want) {
    if (w->kind != (uint32_t)want) return p3d_fail(P3D_ERR_MODEL, "%s: wrong model kind %u", w->path, w->kind);
    return P3D_OK;
}

static const hrec *find_h(const p3d_weights *w, const char *key) {
    for (int32_t i = 0; i < w->nh; i++) if (!strcmp(w->h[i].key, key)) return &w->h[i];
    return NULL;
}

p3d_status p3d_weights_hparam_i64(const p3d_weights *w, const char *key, int64_t *out) {
    const hrec *h = find_h(w, key);
    if (!h || h->type != 0) return p3d_fail(P3D_ERR_MODEL, "%s: missing hyper-parameter %s", w->path, key);
    *out = h->i;
    return P3D_OK;
}

p3d_status p3d_weights_hparam_str(const p3d_weights *w, const char *key, const char **out) {
    const hrec *h = find_h(w, key);
    if (!h || h->type != 2) return p3d_fail(P3D_ERR_MODEL, "%s: missing hyper-parameter %s", w->path, key);
    *out = h->s;
    return P3D_OK;
}

static const wrec *find_t(const p3d_weights *w, const char *name) {
    for (int32_t i = 0; i < w->nt; i++) if (!strcmp(w->t[i].name, name)) return &w->t[i];
    return NULL;
}

p3d_status p3d_weights_get(const p3d_weights *w, const char *name, p3d_tensor *out) {
    const wrec *r = find_t(w, name);
    if (!r) return p3d_fail(P3D_ERR_MODEL, "%s: missing tensor %s", w->path, name);
    *out = r->t;
    return P3D_OK;
}

p3d_status p3d_weights_check(const p3d_weights *w, const p3d_weight_spec *spec, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        const wrec *r = find_t(w, spec[i].name);
        if (!r) return p3d_fail(P3D_ERR_MODEL, "%s: missing tensor %s", w->path, spec[i].name);
        int ok = r->t.dtype == spec[i].dtype && r->t.ndim == spec[i].ndim;
        for (int32_t d = 0; ok && d < spec[i].ndim; d++) ok = r->t.shape[d] == spec[i].dims[d];
        if (!ok) return p3d_fail(P3D_ERR_MODEL, "%s: %s: wrong shape", w->path, spec[i].name);
    }
    if (n != w->nt) return p3d_fail(P3D_ERR_MODEL, "%s: unknown tensors", w->path);
    return P3D_OK;
}

p3d_status p3d_weights_upload_all(const p3d_weights *w, p3d_ctx *ctx, void **block) {
    size_t n = w->size - w->data_off;
    P3D_TRY(p3d_ctx_alloc(ctx, n, block));
    return p3d_ctx_upload(ctx, *block, w->buf + w->data_off, n);
}

p3d_status p3d_weights_get_in(const p3d_weights *w, const p3d_ctx *ctx, void *block, const char *name,
                              p3d_tensor *out) {
    const wrec *r = find_t(w, name);
    if (!r) return p3d_fail(P3D_ERR_MODEL, "%s: missing tensor %s", w->path, name);
    *out = r->t;
    out->data = (uint8_t *)block + r->off;
    out->mem = p3d_ctx_mem(ctx);
    return P3D_OK;
}
