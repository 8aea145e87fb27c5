/* depth_estimate.c - the depth models behind one handle (depth_estimate.h). */
#include "depth/depth_estimate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/models.h"
#include "depth/midas.h"
#include "depth/midas_v21.h"
#include "depth/tiefenrausch.h"
#include "io/resize_area.h"

/* The models of --model: the name (models.h's table: the blob NAME.p3dw), the network that runs it
 * and what to do when its blob is missing. */
typedef enum depth_family { DEPTH_TIEF, DEPTH_MIDAS1, DEPTH_MIDAS21 } depth_family;

typedef struct depth_model {
    const char *name;
    depth_family family;
    p3d_midas21_kind midas21_kind; /* DEPTH_MIDAS21 only */
    const char *missing_hint;
} depth_model;

static const depth_model k_depth_models[] = {
    {"tiefenrausch", DEPTH_TIEF, P3D_MIDAS21_SMALL, "install it with tools/fetch_tiefenrausch.sh"},
    {"midas-v1", DEPTH_MIDAS1, P3D_MIDAS21_SMALL, "convert MiDaS/model.pt with tools/convert_midas.py"},
    {"midas-small", DEPTH_MIDAS21, P3D_MIDAS21_SMALL, "convert it with tools/convert_midas21.py"},
    {"midas-large", DEPTH_MIDAS21, P3D_MIDAS21_LARGE, "convert it with tools/convert_midas21.py"},
};

static const depth_model *depth_model_by_name(const char *name) {
    for (size_t i = 0; i < sizeof k_depth_models / sizeof k_depth_models[0]; i++)
        if (strcmp(k_depth_models[i].name, name) == 0) return &k_depth_models[i];
    return NULL;
}

/* The loaded depth network: the one of tief, midas1, midas21 that model names. */
struct p3d_depth_estimator {
    const depth_model *model;
    p3d_tief *tief;
    p3d_midas1 *midas1;
    p3d_midas21 *midas21;
    int postprocess; /* midas-v1: replace the map by the reference's post-processed one */
};

static p3d_status midas1_post(const p3d_image *img, p3d_depth *d) {
    int32_t ow = 0, oh = 0;
    p3d_depth out;
    memset(&out, 0, sizeof out);
    P3D_TRY(p3d_midas1_post_size(img->width, img->height, &ow, &oh));
    float *scratch = (float *)malloc((size_t)d->width * (size_t)d->height * sizeof(float));
    p3d_status st = scratch ? P3D_OK : p3d_fail(P3D_ERR_OOM, "midas-v1 post-processing: out of memory");
    if (st == P3D_OK) st = p3d_depth_alloc(ow, oh, P3D_DEPTH_DISPARITY, &out);
    if (st == P3D_OK) st = p3d_midas1_postprocess(d->value, d->width, d->height, scratch, out.value, ow, oh);
    free(scratch);
    p3d_depth_free(d);
    *d = out;
    return st;
}

p3d_status p3d_depth_estimate(p3d_depth_estimator *m, const p3d_image *img, p3d_depth *d) {
    memset(d, 0, sizeof *d);
    const depth_family fam = m->model->family;
    int32_t nw = 0, nh = 0;
    if (fam == DEPTH_MIDAS1) P3D_TRY(p3d_midas1_input_size(img->width, img->height, &nw, &nh));
    else if (fam == DEPTH_MIDAS21)
        P3D_TRY(p3d_midas21_input_size(p3d_midas21_native_size(m->model->midas21_kind), img->width, img->height, &nw,
                                       &nh));
    else P3D_TRY(p3d_tief_input_size(img->width, img->height, &nw, &nh));
    P3D_TRY(p3d_depth_alloc(nw, nh, P3D_DEPTH_DISPARITY, d));
    const size_t cap = (size_t)nw * (size_t)nh;
    if (fam == DEPTH_MIDAS1)
        P3D_TRY(p3d_midas1_estimate(m->midas1, img->rgb, img->width, img->height, d->value, cap, &nw, &nh));
    else if (fam == DEPTH_MIDAS21)
        P3D_TRY(p3d_midas21_estimate(m->midas21, img->rgb, img->width, img->height, d->value, cap, &nw, &nh));
    else P3D_TRY(p3d_tief_estimate(m->tief, img->rgb, img->width, img->height, d->value, cap, &nw, &nh));
    if (fam == DEPTH_MIDAS1 && m->postprocess) P3D_TRY(midas1_post(img, d));
    d->n_valid = 0;
    for (int64_t i = 0; i < (int64_t)d->width * d->height; i++) {
        const float v = d->value[i];
        d->mask[i] = fam == DEPTH_MIDAS1 ? isfinite(v) && v != 0.0f : v > 0.0f;
        if (!d->mask[i]) d->value[i] = 0.0f;
        d->n_valid += d->mask[i];
    }
    return P3D_OK;
}


int32_t p3d_depth_model_known(const char *name) { return depth_model_by_name(name) != NULL; }

const char *p3d_depth_estimator_model(const p3d_depth_estimator *e) { return e->model->name; }

void p3d_depth_estimator_free(p3d_depth_estimator *e) {
    if (!e) return;
    p3d_tief_free(e->tief);
    p3d_midas1_free(e->midas1);
    p3d_midas21_free(e->midas21);
    free(e);
}

p3d_status p3d_depth_estimator_init(p3d_ctx *ctx, const char *model, const char *model_dir, int32_t postprocess,
                                    p3d_depth_estimator **out) {
    *out = NULL;
    const depth_model *dm = depth_model_by_name(model);
    if (!dm)
        return p3d_fail(P3D_ERR_INVALID_ARG, "depth model '%s': expected tiefenrausch, midas-v1, midas-small or "
                        "midas-large", model);
    const p3d_model_desc *desc = p3d_model_by_name(model);
    P3D_ASSERT(desc != NULL);
    char model_path[1100];
    if (!p3d_model_find(model_dir, desc, model_path, sizeof model_path)) {
        char dirs[P3D_MAX_MODEL_DIRS][1024];
        int32_t nd = p3d_model_dirs(model_dir, dirs);
        return p3d_fail(P3D_ERR_MODEL, "model %s not found in %s%s%s%s%s (%s)", desc->file, dirs[0],
                        nd > 1 ? ", " : "", nd > 1 ? dirs[1] : "", nd > 2 ? ", " : "", nd > 2 ? dirs[2] : "",
                        dm->missing_hint);
    }
    p3d_depth_estimator *e = (p3d_depth_estimator *)calloc(1, sizeof *e);
    if (!e) return p3d_fail(P3D_ERR_OOM, "out of memory");
    e->model = dm;
    e->postprocess = postprocess;
    p3d_status st;
    if (dm->family == DEPTH_MIDAS1) st = p3d_midas1_load(ctx, model_path, &e->midas1);
    else if (dm->family == DEPTH_MIDAS21) st = p3d_midas21_load(ctx, model_path, dm->midas21_kind, &e->midas21);
    else st = p3d_tief_load(ctx, model_path, &e->tief);
    if (st != P3D_OK) {
        p3d_depth_estimator_free(e);
        return st;
    }
    *out = e;
    return P3D_OK;
}

p3d_status p3d_depth_estimate_photo(p3d_depth_estimator *e, const p3d_image *img, p3d_depth *d) {
    p3d_depth raw;
    P3D_TRY(p3d_depth_estimate(e, img, &raw));
    if (p3d_depth_aspect_ok(raw.width, raw.height, img->width, img->height)) {
        *d = raw;
        return P3D_OK;
    }
    int32_t nw = raw.width, nh = raw.height;
    int32_t tw = img->width >= img->height ? nw : (int32_t)lround((double)nh * img->width / img->height);
    int32_t th = img->width >= img->height ? (int32_t)lround((double)nw * img->height / img->width) : nh;
    tw = tw > 0 ? tw : 1;
    th = th > 0 ? th : 1;
    /* value * mask and mask, resized alike; valid where at least half the weight was valid */
    size_t n = (size_t)nw * nh, m = (size_t)tw * th;
    float *src = (float *)malloc(2 * n * sizeof *src), *dst = (float *)malloc(2 * m * sizeof *dst);
    p3d_status st = src && dst ? p3d_depth_alloc(tw, th, P3D_DEPTH_DISPARITY, d)
                               : p3d_fail(P3D_ERR_OOM, "depth estimate: out of memory");
    if (st == P3D_OK) {
        for (size_t i = 0; i < n; i++) src[i] = raw.mask[i] ? raw.value[i] : 0.0f, src[n + i] = raw.mask[i];
        int64_t ss[3] = {2, nh, nw}, ds[3] = {2, th, tw};
        p3d_tensor ts = p3d_tensor_view(src, P3D_F32, P3D_MEM_HOST, 3, ss);
        p3d_tensor td = p3d_tensor_view(dst, P3D_F32, P3D_MEM_HOST, 3, ds);
        st = p3d_resize_area_cpu(&ts, &td, P3D_RESIZE_CHW);
    }
    if (st == P3D_OK) {
        d->n_valid = 0;
        for (size_t i = 0; i < m; i++) {
            float w = dst[m + i];
            d->mask[i] = w >= 0.5f;
            d->value[i] = d->mask[i] ? dst[i] / w : 0.0f;
            d->n_valid += d->mask[i];
        }
    }
    free(src);
    free(dst);
    p3d_depth_free(&raw);
    return st;
}
