/* resize_cubic.c - OpenCV-exact INTER_CUBIC resizing of an 8-bit image into float64 (resize_cubic.h). */
#include "io/resize_cubic.h"

#include <math.h>

void p3d_cubic_coeffs(float t, float w[4]) {
    const float A = -0.75f;
    w[0] = ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A;
    w[1] = ((A + 2) * t - (A + 3)) * t * t + 1;
    w[2] = ((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1;
    w[3] = 1.f - w[0] - w[1] - w[2];
}

/* First tap (i - 1) and weights of destination index d on an axis of src_n -> dst_n samples. */
static int64_t cubic_taps(int64_t d, double scale, float w[4]) {
    float f = (float)((d + 0.5) * scale - 0.5);
    const float i = floorf(f);
    f -= i;
    p3d_cubic_coeffs(f, w);
    return (int64_t)i - 1;
}

static int64_t clamp_index(int64_t i, int64_t n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

size_t p3d_resize_cubic_scratch(int32_t dw, int32_t cn) { return (size_t)4 * (size_t)(dw > 0 ? dw : 0) * (size_t)cn; }

/* One source row resized horizontally: row (dw, cn). */
static void hresize(const uint8_t *s, int64_t sw, int64_t cn, double unit, double scale, double *row, int64_t dw) {
    for (int64_t dx = 0; dx < dw; dx++) {
        float w[4];
        const int64_t x0 = cubic_taps(dx, scale, w);
        int64_t xi[4];
        for (int k = 0; k < 4; k++) xi[k] = clamp_index(x0 + k, sw) * cn;
        for (int64_t c = 0; c < cn; c++)
            row[dx * cn + c] = (double)s[xi[0] + c] / unit * (double)w[0] + (double)s[xi[1] + c] / unit * (double)w[1] +
                               (double)s[xi[2] + c] / unit * (double)w[2] + (double)s[xi[3] + c] / unit * (double)w[3];
    }
}

p3d_status p3d_resize_cubic_u8(const uint8_t *src, int32_t sw, int32_t sh, int32_t cn, double unit, double *dst,
                               int32_t dw, int32_t dh, double *scratch) {
    if (sw < 1 || sh < 1 || dw < 1 || dh < 1 || cn < 1 || cn > 4 || !(unit > 0))
        return p3d_fail(P3D_ERR_INVALID_ARG, "resize_cubic: %dx%dx%d -> %dx%d (unit %g): sizes must be >= 1, "
                        "channels 1..4, unit > 0", (int)sw, (int)sh, (int)cn, (int)dw, (int)dh, unit);
    const double scale_x = 1. / ((double)dw / sw), scale_y = 1. / ((double)dh / sh);
    const int64_t row_n = (int64_t)dw * cn;
    for (int64_t dy = 0; dy < dh; dy++) {
        float w[4];
        const int64_t y0 = cubic_taps(dy, scale_y, w);
        for (int k = 0; k < 4; k++)
            hresize(src + clamp_index(y0 + k, sh) * sw * cn, sw, cn, unit, scale_x, scratch + k * row_n, dw);
        const double *r0 = scratch, *r1 = r0 + row_n, *r2 = r1 + row_n, *r3 = r2 + row_n;
        double *out = dst + dy * row_n;
        for (int64_t i = 0; i < row_n; i++)
            out[i] = r0[i] * (double)w[0] + r1[i] * (double)w[1] + r2[i] * (double)w[2] + r3[i] * (double)w[3];
    }
    return P3D_OK;
}
