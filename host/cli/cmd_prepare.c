/* cmd_prepare.c - `photo3d-gpu prepare`: the pipeline's first stage on its own. Decodes the photo and
 * its depth or disparity map, picks the processing size and resamples both to it, and writes them.
 *
 * Processing size: the longer side becomes --longer-side (960), the other side is truncated as the
 * reference does (int(side * frac)), but computed from the IMAGE's size. The reference derives it from
 * the depth map's size (its quirk 19), which makes the output size depend on the depth estimator; we
 * fix that. Both image and map are resampled with OpenCV INTER_AREA semantics (resize_area.h); the map
 * keeps its validity mask through the resize (depth_io.h). Metric depth becomes disparity 1/depth,
 * the pipeline's convention (larger = nearer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/inputs.h"
#include "core/file_io.h"
#include "io/depth_io.h"
#include "io/image_io.h"
#include "io/resize_area.h"

static const char *const k_prepare_help =
    "usage: photo3d-gpu prepare IMAGE --depth FILE [--metric] [--depth-scale S] [--longer-side N] [-o DIR]\n"
    "\n"
    "Resamples IMAGE and its depth map to the processing size and writes, in DIR (default .):\n"
    "  NAME.png        the photo at the processing size (RGB, 8-bit)\n"
    "  NAME_disp.npy   disparity at the processing size (float32 H x W, 0 = invalid)\n"
    "  NAME_disp.png   the same, 16-bit, min-max scaled over valid pixels (0 = invalid)\n"
    "\n"
    "  --depth FILE      depth/disparity map: .npy (f32, f64, u16), 8/16-bit PNG or PFM\n"
    "  --metric          the map holds metric depth (larger = farther); default: disparity\n"
    "  --depth-scale S   value = stored number * S (TUM Kinect PNG: 0.0002, Middlebury: 0.25)\n"
    "  --longer-side N   processing size of the longer side (default 960)\n"
    "  -o, --output DIR  output directory (created if missing)\n";

static int parse_positive(const char *text, double *out) {
    char *end = NULL;
    double v = strtod(text, &end);
    if (!end || *end || !(v > 0) || v > 1e9) return 0;
    *out = v;
    return 1;
}

static p3d_status prepare_one(const char *image_path, const char *depth_path, const p3d_depth_opts *opts,
                              int32_t longer, const char *out_dir) {
    p3d_image img;
    p3d_depth depth, resized;
    uint8_t *rgb = NULL;
    memset(&resized, 0, sizeof resized);
    P3D_TRY(p3d_image_read(image_path, 0, &img));
    p3d_status st = p3d_depth_read(depth_path, opts, &depth);
    if (st != P3D_OK) {
        p3d_image_free(&img);
        return st;
    }
    double frac = (double)longer / (double)(img.width > img.height ? img.width : img.height);
    int32_t w = (int32_t)(img.width * frac), h = (int32_t)(img.height * frac);
    if (w < 1 || h < 1) st = p3d_fail(P3D_ERR_INVALID_ARG, "%s: %dx%d is too small for --longer-side %d",
                                      image_path, (int)img.width, (int)img.height, (int)longer);
    if (st == P3D_OK && !p3d_depth_aspect_ok(depth.width, depth.height, w, h))
        st = p3d_fail(P3D_ERR_FORMAT, "%s: depth map is %dx%d, which does not have the aspect of the image "
                      "%s (%dx%d)", depth_path, (int)depth.width, (int)depth.height, image_path, (int)img.width,
                      (int)img.height);
    if (st == P3D_OK) st = p3d_depth_resize(&depth, w, h, &resized);
    if (st == P3D_OK && !(rgb = (uint8_t *)malloc((size_t)w * (size_t)h * 3)))
        st = p3d_fail(P3D_ERR_OOM, "out of memory");
    if (st == P3D_OK) {
        int64_t ss[3] = {img.height, img.width, 3}, ds[3] = {h, w, 3};
        p3d_tensor src = p3d_tensor_view(img.rgb, P3D_U8, P3D_MEM_HOST, 3, ss);
        p3d_tensor dst = p3d_tensor_view(rgb, P3D_U8, P3D_MEM_HOST, 3, ds);
        st = p3d_resize_area_cpu(&src, &dst, P3D_RESIZE_HWC);
    }
    if (st == P3D_OK && resized.kind == P3D_DEPTH_METRIC) {
        for (int64_t i = 0; i < (int64_t)w * h; i++)
            resized.value[i] = resized.mask[i] ? 1.0f / resized.value[i] : 0.0f;
        resized.kind = P3D_DEPTH_DISPARITY;
    }
    char stem[256], path[1400];
    p3d_path_stem(image_path, stem, sizeof stem);
    if (st == P3D_OK) st = p3d_dir_ensure(out_dir);
    if (st == P3D_OK) {
        snprintf(path, sizeof path, "%s/%s.png", out_dir, stem);
        st = p3d_png_write_u8(path, w, h, 3, rgb);
    }
    if (st == P3D_OK) {
        snprintf(path, sizeof path, "%s/%s_disp.npy", out_dir, stem);
        st = p3d_depth_write_npy(path, &resized);
    }
    if (st == P3D_OK) {
        snprintf(path, sizeof path, "%s/%s_disp.png", out_dir, stem);
        st = p3d_depth_write_png16(path, &resized);
    }
    if (st == P3D_OK) {
        float lo = 0, hi = 0;
        int first = 1;
        for (int64_t i = 0; i < (int64_t)w * h; i++) {
            if (!resized.mask[i]) continue;
            float v = resized.value[i];
            if (first || v < lo) lo = v;
            if (first || v > hi) hi = v;
            first = 0;
        }
        printf("%s: %dx%d -> %dx%d, disparity valid %.1f%%, range %.4g..%.4g, written to %s/%s{.png,_disp.npy,_disp.png}\n",
               stem, (int)img.width, (int)img.height, (int)w, (int)h,
               100.0 * (double)resized.n_valid / ((double)w * h), lo, hi, out_dir, stem);
    }
    free(rgb);
    p3d_depth_free(&resized);
    p3d_depth_free(&depth);
    p3d_image_free(&img);
    return st;
}

int p3d_cmd_prepare(int argc, char **argv) {
    const char *image = NULL, *depth = NULL, *out_dir = ".";
    p3d_depth_opts opts = {P3D_DEPTH_DISPARITY, 1.0f};
    int32_t longer = 960;
    int rc = -1;
    p3d_args it;
    p3d_args_init(&it, argc, argv);
    while (p3d_args_next(&it)) {
        const char *v = NULL;
        double num = 0;
        if (p3d_args_is(&it, "-h", "--help")) {
            fputs(k_prepare_help, stdout);
            return P3D_EXIT_OK;
        } else if (p3d_args_depth(&it, "prepare", &depth, &opts, &rc)) {
            if (rc >= 0) return rc;
        } else if (p3d_args_is(&it, NULL, "--longer-side")) {
            if (!(v = p3d_args_value(&it))) return P3D_EXIT_USAGE;
            if (!parse_positive(v, &num) || num != (int32_t)num || num > 16384)
                return p3d_usage_error("prepare", "--longer-side '%s': expected an integer in 1..16384", v);
            longer = (int32_t)num;
        } else if (p3d_args_is(&it, "-o", "--output")) {
            if (!(out_dir = p3d_args_value(&it))) return P3D_EXIT_USAGE;
        } else if (it.positional) {
            if (image) return p3d_usage_error("prepare", "one IMAGE at a time ('%s' and '%s')", image, it.arg);
            image = it.arg;
        } else {
            return p3d_args_unknown(&it);
        }
    }
    if (!image) return p3d_usage_error("prepare", "missing IMAGE");
    if (!depth) return p3d_usage_error("prepare", "missing --depth FILE (depth estimation is not built yet)");
    p3d_status st = prepare_one(image, depth, &opts, longer, out_dir);
    return st == P3D_OK ? P3D_EXIT_OK : p3d_report_failure(st);
}
