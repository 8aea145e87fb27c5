/* weights.h - TEMPORARY subset of the p3dw loader API (the real one comes from branch `weights`);
 * only what host/tiefenrausch.c needs until that branch is merged. */
#ifndef P3D_WEIGHTS_H
#define P3D_WEIGHTS_H

#include "backend.h"
#include "p3d_common.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum p3d_model_kind {
    P3D_MODEL_EXAMPLE = 0,
    P3D_MODEL_TIEFENRAUSCH = 7,
} p3d_model_kind;

typedef struct p3d_weights p3d_weights;

p3d_status p3d_weights_load(const char *path, p3d_weights **out);
void p3d_weights_free(p3d_weights *w);
const char *p3d_weights_path(const p3d_weights *w);
p3d_status p3d_weights_expect_kind(const p3d_weights *w, p3d_model_kind want);
p3d_status p3d_weights_hparam_i64(const p3d_weights *w, const char *key, int64_t *out);
p3d_status p3d_weights_hparam_str(const p3d_weights *w, const char *key, const char **out);
p3d_status p3d_weights_get(const p3d_weights *w, const char *name, p3d_tensor *out);

typedef struct p3d_weight_spec {
    const char *name;
    p3d_dtype dtype;
    int32_t ndim;
    int64_t dims[P3D_MAX_DIMS];
} p3d_weight_spec;

p3d_status p3d_weights_check(const p3d_weights *w, const p3d_weight_spec *spec, int32_t n);
p3d_status p3d_weights_upload_all(const p3d_weights *w, p3d_ctx *ctx, void **block);
p3d_status p3d_weights_get_in(const p3d_weights *w, const p3d_ctx *ctx, void *block, const char *name,
                              p3d_tensor *out);

#ifdef __cplusplus
}
#endif
#endif
