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

#include "cli/cli.h"
#include "cli/inputs.h"
#include "core/file_io.h"
#include "depth/depth_estimate.h"
#include "io/colormap_math.h"
#include "io/depth_io.h"
#include "io/image_io.h"

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

static p3d_status depth_one(p3d_depth_estimator *m, const char *image_path, const char *out_dir, int formats) {
    p3d_image img;
    P3D_TRY(p3d_image_read(image_path, 0, &img));
    p3d_depth d;
    memset(&d, 0, sizeof d);
    p3d_status st = p3d_depth_estimate(m, &img, &d);
    if (st != P3D_OK) p3d_fail_context(st, "%s", image_path);
    char stem[256], path[1400];
    p3d_path_stem(image_path, stem, sizeof stem);
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
            else if (!p3d_depth_model_known(model))
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
    p3d_depth_estimator *net = NULL;
    p3d_status st = p3d_device_parse(device_arg, &dev);
    if (st == P3D_OK) st = p3d_device_resolve(&dev);
    if (st == P3D_OK) st = p3d_ctx_init(&ctx, dev);
    if (st == P3D_OK) st = p3d_depth_estimator_init(ctx, model, model_dir, postprocess, &net);
    if (st == P3D_OK) st = p3d_dir_ensure(out_dir);
    if (st != P3D_OK) {
        rc = p3d_report_failure(st);
    } else {
        /* One image at a time; failures are collected and reported together at the end. */
        char **failures = (char **)calloc((size_t)n_inputs, sizeof *failures);
        int32_t n_failed = 0;
        for (int32_t i = 0; i < n_inputs; i++) {
            if (depth_one(net, inputs[i], out_dir, formats) == P3D_OK) continue;
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
    p3d_depth_estimator_free(net);
    p3d_ctx_free(ctx);
    free(inputs);
    return rc;
}
