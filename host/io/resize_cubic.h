/* resize_cubic.h - cv::resize(img, (dw, dh), interpolation=cv2.INTER_CUBIC) of an 8-bit image taken as
 * float64 samples s / unit, on the host: MiDaS's run.py resizes its float64 image (uint8 / 255.0) this
 * way, so the result is OpenCV's float64 image exactly (same coefficients, same summation order).
 *
 * OpenCV's algorithm (resizeGeneric_ with HResizeCubic<double, double, float> then VResizeCubic):
 *   scale = 1 / (dst / src) (double), per destination index d of an axis:
 *     f = (float)((d + 0.5) * scale - 0.5),  i = floor(f),  t = f - i (float)
 *     weights = interpolateCubic(t) in float, A = -0.75:
 *       w0 = ((A*(t+1) - 5A)*(t+1) + 8A)*(t+1) - 4A,  w1 = ((A+2)*t - (A+3))*t*t + 1,
 *       w2 = ((A+2)*(1-t) - (A+3))*(1-t)*(1-t) + 1,   w3 = 1 - w0 - w1 - w2
 *     taps i-1 .. i+2, clamped to the image (replicated border);
 *   horizontal pass per channel: s0*w0 + s1*w1 + s2*w2 + s3*w3 in double, left to right;
 *   vertical pass on those rows: the same sum with the row weights.
 * No antialiasing when reducing (as OpenCV). Float math without contraction (the host build never
 * fuses a * b + c), so the float weights are OpenCV's bit for bit. */
#ifndef P3D_RESIZE_CUBIC_H
#define P3D_RESIZE_CUBIC_H

#include "core/p3d_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* OpenCV's interpolateCubic: the four weights of fraction t (float arithmetic). */
void p3d_cubic_coeffs(float t, float w[4]);

/* Doubles of scratch p3d_resize_cubic_u8 needs for a destination width dw and cn channels. */
size_t p3d_resize_cubic_scratch(int32_t dw, int32_t cn);

/* src (sh, sw, cn) interleaved uint8, each sample read as (double)s / unit; dst (dh, dw, cn) double;
 * scratch: p3d_resize_cubic_scratch(dw, cn) doubles. P3D_ERR_INVALID_ARG for a size < 1, cn outside
 * 1..4 or unit <= 0. */
p3d_status p3d_resize_cubic_u8(const uint8_t *src, int32_t sw, int32_t sh, int32_t cn, double unit, double *dst,
                               int32_t dw, int32_t dh, double *scratch);

#ifdef __cplusplus
}
#endif
#endif
