/* models.c - model search path. */
#include "core/models.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The converters read PyTorch checkpoints (they need torch; the program never does). */
#define P3D_CONVERT_INPAINT "/usr/bin/python3 tools/convert_inpaint.py --model "
#define P3D_CONVERT_MIDAS21 "/usr/bin/python3 tools/convert_midas21.py --model "
static const p3d_model_desc g_models[] = {
    {"tiefenrausch", "tiefenrausch.p3dw", "monocular depth, INT8 (One Shot 3D Photography), default",
     "facebookresearch/one_shot_3d_photography (MIT), downloaded and SHA-256 checked by the script",
     "bash tools/fetch_tiefenrausch.sh -o DIR/tiefenrausch.p3dw"},
    {"midas-v1", "midas-v1.p3dw", "monocular depth, MiDaS v1 ResNet-50 (the reference's model)",
     "MiDaS/model.pt, fetched by 3d-photo-inpainting's download.sh",
     "/usr/bin/python3 tools/convert_midas.py --model midas-v1 model.pt DIR/midas-v1.p3dw"},
    {"midas-small", "midas-small.p3dw", "monocular depth, MiDaS v2.1 small (EfficientNet-Lite3)",
     "midas_v21_small_256.pt (isl-org/MiDaS release v2_1, MIT)",
     P3D_CONVERT_MIDAS21 "midas-small midas_v21_small_256.pt DIR/midas-small.p3dw"},
    {"midas-large", "midas-large.p3dw", "monocular depth, MiDaS v2.1 large (ResNeXt-101)",
     "midas_v21_384.pt (isl-org/MiDaS release v2_1, MIT)",
     P3D_CONVERT_MIDAS21 "midas-large midas_v21_384.pt DIR/midas-large.p3dw"},
    {"edge", "edge-model.p3dw", "inpainting: depth-edge network (EdgeConnect-style)",
     "checkpoints/edge-model.pth, fetched by 3d-photo-inpainting's download.sh",
     P3D_CONVERT_INPAINT "edge edge-model.pth DIR/edge-model.p3dw"},
    {"depth", "depth-model.p3dw", "inpainting: depth network (partial-conv U-Net)",
     "checkpoints/depth-model.pth, fetched by 3d-photo-inpainting's download.sh",
     P3D_CONVERT_INPAINT "depth depth-model.pth DIR/depth-model.p3dw"},
    {"color", "color-model.p3dw", "inpainting: colour network (partial-conv U-Net)",
     "checkpoints/color-model.pth, fetched by 3d-photo-inpainting's download.sh",
     P3D_CONVERT_INPAINT "color color-model.pth DIR/color-model.p3dw"},
};

const p3d_model_desc *p3d_models_known(int32_t *count) {
    *count = (int32_t)(sizeof g_models / sizeof g_models[0]);
    return g_models;
}

const p3d_model_desc *p3d_model_by_name(const char *name) {
    for (size_t i = 0; i < sizeof g_models / sizeof g_models[0]; i++)
        if (strcmp(g_models[i].name, name) == 0) return &g_models[i];
    return NULL;
}

int32_t p3d_model_dirs(const char *cli_dir, char dirs[P3D_MAX_MODEL_DIRS][1024]) {
    int32_t n = 0;
    if (cli_dir && cli_dir[0]) snprintf(dirs[n++], 1024, "%s", cli_dir);
    const char *env = getenv("P3D_MODEL_DIR");
    if (env && env[0]) snprintf(dirs[n++], 1024, "%s", env);
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (xdg && xdg[0])
        snprintf(dirs[n++], 1024, "%s/photo3d-gpu/models", xdg);
    else if (home && home[0])
        snprintf(dirs[n++], 1024, "%s/.cache/photo3d-gpu/models", home);
    return n;
}

int p3d_model_find(const char *cli_dir, const p3d_model_desc *desc, char *out, size_t cap) {
    char dirs[P3D_MAX_MODEL_DIRS][1024];
    int32_t n = p3d_model_dirs(cli_dir, dirs);
    for (int32_t i = 0; i < n; i++) {
        int len = snprintf(out, cap, "%s/%s", dirs[i], desc->file);
        if (len < 0 || (size_t)len >= cap) continue; /* a truncated path would name another file */
        if (access(out, R_OK) == 0) return 1;
    }
    out[0] = '\0';
    return 0;
}
