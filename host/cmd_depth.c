/* cmd_depth.c - `photo3d-gpu depth`: monocular disparity for photos without a depth map.
 *
 * The model is loaded once and reused for every image; a bad image is reported and skipped, and the
 * run ends with exit status 3 naming every image that failed. Outputs are written atomically.
 * Disparity is written at the network's resolution (Tiefenrausch: longer side 384, multiples of 32,
 * as the reference CLI saves it; MiDaS v1: longer side 384, sides rounded up to multiples of 32; MiDaS
 * v2.1: run.py's input size, longer side 256 or 384). For MiDaS v1 that is also the default, though
 * 3d-photo-inpainting's run_depth saves the map after a 3x3 box blur and an INTER_AREA resize to longer
 * side 640: every model then gives what the network computed, at the resolution it computed it, and the
 * later stages resample every map to the processing size themselves (the upscale to 640 adds no
 * information and the reference blurs again when it reads the map, spec 2.2). --postprocess writes the
 * reference's 640-pixel map instead, for comparisons with its depth/<name>.npy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "colormap_math.h"
#include "depth_io.h"
#include "file_io.h"
#include "image_io.h"
#include "midas.h"
#include "midas_v21.h"
#include "models.h"
#include "tiefenrausch.h"

static const char *const k_depth_help =
    "usage: photo3d-gpu depth IMAGE... [-o DIR] [--model NAME] [--format npy,png16,vis]\n"
    "                         [--postprocess] [--model-dir DIR] [--device cpu|cuda[:N]|auto]\n"
    "\n"
    "Estimates disparity (larger = nearer, unknown scale) for each photo and writes, in DIR (default .):\n"
    "  NAME.npy        float32 (H, W) at the network's resolution      (format npy, default)\n"
    "  NAME.png        16-bit, min-max scaled                          (format png16, default)\n"
    "  NAME_vis.png    colour visualisation (magma ramp)               (format vis)\n"
    "\n"
    "  --model NAME      tiefenrausch (INT8, One Shot 3D Photography; the default), midas-v1\n"
    "                    (MiDaS v1 ResNet-50, 3d-photo-inpainting's own model; float32),\n"
    "                    midas-small (MiDaS v2.1 small, 256) or midas-large (MiDaS v2.1, 384):\n"
    "                    relative inverse depth from the photo resized as MiDaS's run.py does\n"
    "  --postprocess     midas-v1 only: write the reference's map instead (3x3 box blur, INTER_AREA to\n"
    "                    longer side 640), as 3d-photo-inpainting saves depth/NAME.npy\n"
    "  --model-dir DIR   where NAME.p3dw is looked for first (then $P3D_MODEL_DIR, then the user\n"
    "                    cache); tools/fetch_tiefenrausch.sh installs tiefenrausch.p3dw,\n"
    "                    tools/convert_midas.py --model midas-v1 converts MiDaS/model.pt,\n"
    "                    tools/convert_midas21.py converts the MiDaS v2.1 checkpoints\n"
    "  --format LIST     comma-separated subset of npy, png16, vis\n"
    "\n"
    "Exit status: 0 all written, 3 some images failed (each named at the end), 2 usage, 1 fatal.\n";

enum { FMT_NPY = 1, FMT_PNG16 = 2, FMT_VIS = 4 };

static int parse_formats(const char *list, int *out) {
    int f = 0;
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 3 && strncmp(p, "npy", 3) == 0) f |= FMT_NPY;
        else if (n == 5 && strncmp(p, "png16", 5) == 0) f |= FMT_PNG16;
        else if (n == 3 && strncmp(p, "vis", 3) == 0) f |= FMT_VIS;
        else return 0;
        p = e ? e + 1 : p + n;
    }
    *out = f;
    return f != 0;
}

/* The file name without directory and extension. */
static void stem_of(const char *path, char *out, size_t cap) {
    const char *base = strrchr(path, '/');
    snprintf(out, cap, "%s", base ? base + 1 : path);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = '\0';
}

static p3d_status write_vis(const char *path, const p3d_depth *d) {
    float lo = 0, hi = 0;
    int first = 1;
    int64_t n = (int64_t)d->width * d->height;
    for (int64_t i = 0; i < n; i++) {
        if (!d->mask[i]) continue;
        if (first || d->value[i] < lo) lo = d->value[i];
        if (first || d->value[i] > hi) hi = d->value[i];
        first = 0;
    }
    uint8_t *rgb = (uint8_t *)malloc((size_t)n * 3);
    if (!rgb) return p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    float range = hi > lo ? hi - lo : 1.0f;
    for (int64_t i = 0; i < n; i++) p3d_colormap_magma(d->mask[i] ? (d->value[i] - lo) / range : 0.0f, rgb + 3 * i);
    p3d_status st = p3d_png_write_u8(path, d->width, d->height, 3, rgb);
    free(rgb);
    return st;
}

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
typedef struct depth_net {
    const depth_model *model;
    p3d_tief *tief;
    p3d_midas1 *midas1;
    p3d_midas21 *midas21;
    int postprocess; /* midas-v1: replace the map by the reference's post-processed one */
} depth_net;

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

/* The model's disparity for img into d (allocated here). Valid: Tiefenrausch's exp() output and MiDaS
 * v2.1's non-negative output where > 0; MiDaS v1 (any sign) where finite and not 0, as p3d_depth_read
 * would read the file back. */
static p3d_status estimate(const depth_net *m, const p3d_image *img, p3d_depth *d) {
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

static p3d_status depth_one(const depth_net *m, const char *image_path, const char *out_dir, int formats) {
    p3d_image img;
    P3D_TRY(p3d_image_read(image_path, 0, &img));
    p3d_depth d;
    memset(&d, 0, sizeof d);
    p3d_status st = estimate(m, &img, &d);
    if (st != P3D_OK) p3d_fail_context(st, "%s", image_path);
    char stem[256], path[1400];
    stem_of(image_path, stem, sizeof stem);
    if (st == P3D_OK && (formats & FMT_NPY)) {
        snprintf(path, sizeof path, "%s/%s.npy", out_dir, stem);
        st = p3d_depth_write_npy(path, &d);
    }
    if (st == P3D_OK && (formats & FMT_PNG16)) {
        snprintf(path, sizeof path, "%s/%s.png", out_dir, stem);
        st = p3d_depth_write_png16(path, &d);
    }
    if (st == P3D_OK && (formats & FMT_VIS)) {
        snprintf(path, sizeof path, "%s/%s_vis.png", out_dir, stem);
        st = write_vis(path, &d);
    }
    if (st == P3D_OK)
        printf("%s: %dx%d -> disparity %dx%d\n", image_path, (int)img.width, (int)img.height, (int)d.width,
               (int)d.height);
    p3d_depth_free(&d);
    p3d_image_free(&img);
    return st;
}

int p3d_cmd_depth(int argc, char **argv) {
    const char *out_dir = ".", *model = "tiefenrausch", *model_dir = NULL, *device_arg = "auto";
    int formats = FMT_NPY | FMT_PNG16, postprocess = 0;
    const char **inputs = (const char **)calloc((size_t)argc, sizeof *inputs);
    int32_t n_inputs = 0;
    if (!inputs) return p3d_report_failure(p3d_fail(P3D_ERR_OOM, "out of memory"));
    int rc = -1;
    p3d_args it;
    p3d_args_init(&it, argc, argv);
    while (rc < 0 && p3d_args_next(&it)) {
        const char *v = NULL;
        if (p3d_args_is(&it, "-h", "--help")) {
            fputs(k_depth_help, stdout);
            rc = P3D_EXIT_OK;
        } else if (p3d_args_is(&it, "-o", "--output")) {
            if (!(out_dir = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--model")) {
            if (!(model = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
            else if (!depth_model_by_name(model))
                rc = p3d_usage_error("depth", "--model '%s': expected tiefenrausch, midas-v1, midas-small or midas-large",
                                     model);
        } else if (p3d_args_is(&it, NULL, "--postprocess")) {
            postprocess = 1;
        } else if (p3d_args_is(&it, NULL, "--model-dir")) {
            if (!(model_dir = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--device")) {
            if (!(device_arg = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
        } else if (p3d_args_is(&it, NULL, "--format")) {
            if (!(v = p3d_args_value(&it))) rc = P3D_EXIT_USAGE;
            else if (!parse_formats(v, &formats))
                rc = p3d_usage_error("depth", "--format '%s': expected a comma-separated list of npy, png16, vis", v);
        } else if (it.positional) {
            inputs[n_inputs++] = it.arg;
        } else {
            rc = p3d_args_unknown(&it);
        }
    }
    if (rc < 0 && n_inputs == 0) rc = p3d_usage_error("depth", "no IMAGE given");
    if (rc < 0 && postprocess && strcmp(model, "midas-v1") != 0)
        rc = p3d_usage_error("depth", "--postprocess is the midas-v1 reference's post-processing; --model is %s",
                             model);
    if (rc >= 0) {
        free(inputs);
        return rc;
    }

    /* Fatal set-up: device, model, output directory. */
    p3d_device dev;
    p3d_ctx *ctx = NULL;
    const depth_model *dm = depth_model_by_name(model); /* the option check admitted the table's names only */
    depth_net net = {dm, NULL, NULL, NULL, postprocess};
    char model_path[1100];
    p3d_status st = p3d_device_parse(device_arg, &dev);
    if (st == P3D_OK) st = p3d_device_resolve(&dev);
    if (st == P3D_OK) st = p3d_ctx_init(&ctx, dev);
    if (st == P3D_OK) {
        const p3d_model_desc *desc = p3d_model_by_name(model);
        P3D_ASSERT(desc != NULL);
        if (!p3d_model_find(model_dir, desc, model_path, sizeof model_path)) {
            char dirs[P3D_MAX_MODEL_DIRS][1024];
            int32_t nd = p3d_model_dirs(model_dir, dirs);
            st = p3d_fail(P3D_ERR_MODEL, "model %s not found in %s%s%s%s%s (%s)", desc->file, dirs[0],
                          nd > 1 ? ", " : "", nd > 1 ? dirs[1] : "", nd > 2 ? ", " : "", nd > 2 ? dirs[2] : "",
                          dm->missing_hint);
        }
    }
    if (st == P3D_OK && dm->family == DEPTH_MIDAS1) st = p3d_midas1_load(ctx, model_path, &net.midas1);
    else if (st == P3D_OK && dm->family == DEPTH_MIDAS21)
        st = p3d_midas21_load(ctx, model_path, dm->midas21_kind, &net.midas21);
    else if (st == P3D_OK) st = p3d_tief_load(ctx, model_path, &net.tief);
    if (st == P3D_OK) st = p3d_dir_ensure(out_dir);
    if (st != P3D_OK) {
        rc = p3d_report_failure(st);
    } else {
        /* One image at a time; failures are collected and reported together at the end. */
        char **failures = (char **)calloc((size_t)n_inputs, sizeof *failures);
        int32_t n_failed = 0;
        for (int32_t i = 0; i < n_inputs; i++) {
            if (depth_one(&net, inputs[i], out_dir, formats) == P3D_OK) continue;
            fprintf(stderr, "photo3d-gpu: error: %s\n", p3d_last_error());
            if (failures) failures[n_failed] = strdup(p3d_last_error());
            n_failed++;
        }
        if (n_failed) {
            fprintf(stderr, "photo3d-gpu depth: %d of %d image(s) failed:\n", (int)n_failed, (int)n_inputs);
            for (int32_t i = 0; failures && i < n_failed; i++) fprintf(stderr, "  %s\n", failures[i] ? failures[i] : "?");
        }
        for (int32_t i = 0; failures && i < n_failed; i++) free(failures[i]);
        free(failures);
        rc = n_failed ? P3D_EXIT_PARTIAL : P3D_EXIT_OK;
    }
    p3d_tief_free(net.tief);
    p3d_midas1_free(net.midas1);
    p3d_midas21_free(net.midas21);
    p3d_ctx_free(ctx);
    free(inputs);
    return rc;
}
