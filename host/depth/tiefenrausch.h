/* tiefenrausch.h - the Tiefenrausch INT8 monocular depth network (One Shot 3D Photography, Kopf et
 * al. 2020), run with Caffe2/QNNPACK's exact integer arithmetic (host/depth/qnn_math.h) on the CPU or CUDA.
 *
 * The weights come from tools/convert_tiefenrausch.py (a tiefenrausch.p3dw holding the operator
 * graph and every uint8 weight / int32 bias under its Caffe2 blob name, layout documented there).
 *
 *   p3d_tief *net;
 *   P3D_TRY(p3d_tief_load(ctx, "tiefenrausch.p3dw", &net));
 *   int32_t nw, nh;
 *   P3D_TRY(p3d_tief_estimate(net, img.rgb, img.width, img.height, disp, cap, &nw, &nh));
 *   // disp: (nh, nw) float disparity, larger = nearer; 768x1024 photo -> 288x384
 *   p3d_tief_free(net);
 *
 * The activations of one input size are planned once (one arena block, buffers reused by
 * liveness); a new size re-plans, growing the block only when needed. One p3d_tief must not run
 * two forwards at once (it owns the activations); use one per worker thread. */
#ifndef P3D_TIEFENRAUSCH_H
#define P3D_TIEFENRAUSCH_H

#include "core/backend.h"
#include "core/p3d_common.h"
#include "core/tensor.h"
#include "depth/qnn_math.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct p3d_tief p3d_tief;

/* Loads and checks the blob (model kind, graph table, every weight's dtype and shape, the
 * requantization scales QNNPACK would accept) and, on a CUDA context, uploads the weights. */
p3d_status p3d_tief_load(p3d_ctx *ctx, const char *path, p3d_tief **out);
void p3d_tief_free(p3d_tief *net);

/* The reference CLI's network input size for a width x height photo: the longer side becomes 384,
 * the other int(side * 384 / longer) (truncated), then both are floored to multiples of 32.
 * P3D_ERR_INVALID_ARG when a side would be 0. */
p3d_status p3d_tief_input_size(int32_t width, int32_t height, int32_t *net_w, int32_t *net_h);

/* Plans the activations for an h x w input (positive multiples of 32). Forward calls it on a size
 * change; calling it first keeps the allocation out of the timed path. */
p3d_status p3d_tief_plan(p3d_tief *net, int32_t h, int32_t w);

/* x: f32 (1, 3, H, W) NCHW RGB in [0, 1], in the context's memory. disparity: f32 (H, W) in the
 * context's memory; disparity = exp(network output), as the reference CLI saves it. */
p3d_status p3d_tief_forward(p3d_tief *net, const p3d_tensor *x, p3d_tensor *disparity);

/* The reference CLI's exact input path: rgb is host uint8 (h, w, 3), already resized to the
 * network size; each sample becomes float32(sample / 255.0 in double) before Int8Quantize.
 * disparity: host float (h, w). */
p3d_status p3d_tief_forward_rgb8(p3d_tief *net, const uint8_t *rgb, int32_t h, int32_t w,
                                 float *disparity);

/* The reference CLI end to end: photo is host RGB8 (height, width, 3) (decoded, EXIF-oriented),
 * resized with INTER_AREA (host/io/resize_area.h, OpenCV-exact) to p3d_tief_input_size, then
 * forward_rgb8. disparity: host, capacity floats, receives (net_h, net_w) values. */
p3d_status p3d_tief_estimate(p3d_tief *net, const uint8_t *photo, int32_t width, int32_t height, float *disparity,
                             size_t capacity, int32_t *net_w, int32_t *net_h);

/* The last forward's quantized network output (before Int8Dequantize and exp), host (H, W), with
 * its scale and zero point (either may be NULL). */
p3d_status p3d_tief_output_q(p3d_tief *net, uint8_t *dst, float *scale, int32_t *zero_point);

/* Multiply-accumulates of one forward at h x w (for benchmarks). */
int64_t p3d_tief_macs(const p3d_tief *net, int32_t h, int32_t w);

/* ---- single operators on host memory --------------------------------------------------------------
 * The engine's CPU kernels one operator at a time, for tests/test_tiefenrausch_oracle.py (which compares
 * them with the numpy oracle tools/tiefenrausch_oracle.py). Tensors are NHWC uint8 without the batch
 * axis. Int8Quantize and exp(Int8Dequantize) are p3d_qnn_quantize / p3d_qnn_exp_np of qnn_math.h. */
typedef struct p3d_tief_conv_spec {
    int32_t h, w, c;                   /* input (H, W, C) */
    int32_t m, kh, kw;                 /* weight (M, KH, KW, C / groups) */
    int32_t sh, sw, pt, pl, pb, pr, groups;
    float x_scale, w_scale, y_scale;
    int32_t x_zp, w_zp, y_zp, relu;    /* relu: the output's lower limit is y_zp (Int8ConvRelu) */
} p3d_tief_conv_spec;

/* Int8Conv: y (OH, OW, M) with OH = (H + pt + pb - KH) / sh + 1 (likewise OW), by the kernel the engine
 * picks for this shape (pointwise, depthwise or general). P3D_ERR_INVALID_ARG for shapes or scales the
 * engine refuses. */
p3d_status p3d_tief_conv_host(const p3d_tief_conv_spec *s, const uint8_t *x, const uint8_t *w, const int32_t *bias,
                              uint8_t *y);
/* Int8Add of n elements (relu as above). */
p3d_status p3d_tief_add_host(const uint8_t *a, float a_scale, int32_t a_zp, const uint8_t *b, float b_scale,
                             int32_t b_zp, float y_scale, int32_t y_zp, int32_t relu, uint8_t *y, int64_t n);
/* Int8ResizeNearest x2: x (H, W, C) -> y (2H, 2W, C). */
void p3d_tief_resize2x_host(const uint8_t *x, uint8_t *y, int32_t h, int32_t w, int32_t c);

#ifdef P3D_HAVE_CUDA
/* CUDA launchers (cuda/depth/tiefenrausch.cu), all on the context's stream; tensors are device NHWC
 * uint8 unless stated. Called by p3d_tief_forward on a CUDA context. */
struct p3d_cuda_ctx;
/* x: f32 (1, C, H, W) NCHW -> y: u8 (H, W, C) NHWC, Caffe2 Int8Quantize. */
p3d_status p3d_tief_quantize_cuda(struct p3d_cuda_ctx *cu, const float *x, uint8_t *y, int32_t c,
                                  int32_t h, int32_t w, float scale, int32_t zero_point);
/* y[i] = lut[x[i]] for n bytes (the rgb8 input path); lut is 256 device bytes. */
p3d_status p3d_tief_lut_u8_cuda(struct p3d_cuda_ctx *cu, const uint8_t *x, uint8_t *y, int64_t n,
                                const uint8_t *lut);
/* 1x1 stride-1 convolution as a dp4a GEMM: y(P, M) = requant(x(P, C) . w(M, C)^T - w_zp * rowsum(x)
 * + cst[m]), cst[m] = bias[m] - x_zp * sum_c w[m][c] + C * x_zp * w_zp. C % 4 == 0. */
p3d_status p3d_tief_conv_pw_cuda(struct p3d_cuda_ctx *cu, const uint8_t *x, const uint8_t *w,
                                 const int32_t *cst, uint8_t *y, int64_t pixels, int32_t c, int32_t m,
                                 int32_t w_zp, p3d_qnn_conv_rq rq);
/* General (dense, grouped or depthwise) KH x KW convolution with stride and zero-point padding:
 * x (H, W, C), w (M, KH, KW, C / groups), bias (M), y (OH, OW, M). */
p3d_status p3d_tief_conv_cuda(struct p3d_cuda_ctx *cu, const uint8_t *x, const uint8_t *w,
                              const int32_t *bias, uint8_t *y, int32_t h, int32_t wd, int32_t c,
                              int32_t oh, int32_t ow, int32_t m, int32_t kh, int32_t kw, int32_t sh,
                              int32_t sw, int32_t pt, int32_t pl, int32_t groups, int32_t x_zp,
                              int32_t w_zp, p3d_qnn_conv_rq rq);
/* y = Int8Add(a, b), n elements. */
p3d_status p3d_tief_add_cuda(struct p3d_cuda_ctx *cu, const uint8_t *a, const uint8_t *b, uint8_t *y,
                             int64_t n, p3d_qnn_add_rq rq);
/* Nearest x2: x (H, W, C) -> y (2H, 2W, C). */
p3d_status p3d_tief_resize2x_cuda(struct p3d_cuda_ctx *cu, const uint8_t *x, uint8_t *y, int32_t h,
                                  int32_t w, int32_t c);
/* y[i] = lut[x[i]] as float, n elements: Int8Dequantize + exp folded into a 256-entry table. */
p3d_status p3d_tief_output_cuda(struct p3d_cuda_ctx *cu, const uint8_t *x, float *y, int64_t n,
                                const float *lut);
#endif

#ifdef __cplusplus
}
#endif
#endif
