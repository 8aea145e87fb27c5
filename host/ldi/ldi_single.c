/* ldi_single.c - a single-layer LDI from an image and its disparity (ldi_single.h). */
#include "ldi/ldi_single.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

p3d_status p3d_ldi_single_layer(const uint8_t *rgb, const float *disp, int32_t width, int32_t height,
                                const p3d_camera *cam, float depth_scale, float tear, p3d_ldi *out) {
    memset(out, 0, sizeof *out);
    if (width < 1 || height < 1 || !(depth_scale > 0) || !(tear >= 0))
        return p3d_fail(P3D_ERR_INVALID_ARG, "single-layer LDI: size %dx%d, depth scale %g, tear %g: need positive "
                        "values", (int)width, (int)height, (double)depth_scale, (double)tear);
    const size_t n = (size_t)width * (size_t)height;
    float *d = (float *)malloc(n * sizeof *d);
    if (!d) return p3d_fail(P3D_ERR_OOM, "single-layer LDI: out of memory");
    p3d_status st = P3D_OK;
    for (int32_t y = 0; y < height && st == P3D_OK; y++) {
        const float *row = disp + (size_t)y * width;
        float *o = d + (size_t)y * width;
        int32_t any = 0;
        for (int32_t x = 0; x < width; x++) any |= row[x] > 0 && isfinite(row[x]);
        if (!any) {
            st = p3d_fail(P3D_ERR_INVALID_ARG, "single-layer LDI: row %d has no valid disparity", (int)y);
            break;
        }
        for (int32_t x = 0; x < width; x++) {
            if (row[x] > 0 && isfinite(row[x])) {
                o[x] = row[x];
                continue;
            }
            float best = INFINITY;
            for (int32_t l = x - 1; l >= 0; l--)
                if (row[l] > 0 && isfinite(row[l])) {
                    best = row[l];
                    break;
                }
            for (int32_t r = x + 1; r < width; r++)
                if (row[r] > 0 && isfinite(row[r])) {
                    best = row[r] < best ? row[r] : best;
                    break;
                }
            o[x] = best;
        }
    }
    if (st == P3D_OK) st = p3d_ldi_init(out, width, height, 0, cam);
    if (st == P3D_OK) st = p3d_ldi_reserve(out, (int32_t)n);
    /* node id = y * width + x: nodes are added in raster order into empty pixels */
    for (int32_t y = 0; y < height && st == P3D_OK; y++)
        for (int32_t x = 0; x < width && st == P3D_OK; x++)
            st = p3d_ldi_add_node(out, x, y, depth_scale / d[(size_t)y * width + x], rgb + 3 * ((size_t)y * width + x),
                                  P3D_LABEL_ORIGINAL, 0, NULL);
    for (int32_t y = 0; y < height && st == P3D_OK; y++)
        for (int32_t x = 0; x < width; x++) {
            const int32_t i = y * width + x;
            if (x + 1 < width && fabsf(d[i] - d[i + 1]) <= tear) p3d_ldi_link(out, i, P3D_DIR_RIGHT, i + 1);
            if (y + 1 < height && fabsf(d[i] - d[i + width]) <= tear) p3d_ldi_link(out, i, P3D_DIR_DOWN, i + width);
        }
    free(d);
    if (st != P3D_OK) p3d_ldi_free(out);
    return st;
}
