/* models.h - where converted weight blobs (.p3dw) are found, and which models the program knows.
 *
 * Search order (first hit wins): --model-dir DIR, $P3D_MODEL_DIR, then the per-user cache
 * ($XDG_CACHE_HOME/photo3d-gpu/models, else ~/.cache/photo3d-gpu/models). */
#ifndef P3D_MODELS_H
#define P3D_MODELS_H

#include "core/p3d_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct p3d_model_desc {
    const char *name;    /* "tiefenrausch" */
    const char *file;    /* "tiefenrausch.p3dw" */
    const char *purpose; /* one line for `info` / `models` */
    const char *source;  /* where the weights come from (licence, file names) */
    const char *obtain;  /* the command that installs it; DIR stands for the model directory */
} p3d_model_desc;

/* The models this program can use, in a fixed order. */
const p3d_model_desc *p3d_models_known(int32_t *count);
/* The entry named `name`, or NULL. */
const p3d_model_desc *p3d_model_by_name(const char *name);

#define P3D_MAX_MODEL_DIRS 3
/* Fills dirs[] in search order (cli_dir may be NULL). Returns how many. */
int32_t p3d_model_dirs(const char *cli_dir, char dirs[P3D_MAX_MODEL_DIRS][1024]);

/* Finds desc->file in the search path; writes its path to out and returns 1, else returns 0. */
int p3d_model_find(const char *cli_dir, const p3d_model_desc *desc, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
