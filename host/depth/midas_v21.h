/* midas_v21.h - the MiDaS v2.1 monocular depth networks (isl-org/MiDaS, MIT), CPU and CUDA on the op
 * runtime (conv2d, maxpool2d, eltwise, upsample, pad):
 *
 *   P3D_MIDAS21_SMALL  MidasNet_small: EfficientNet-Lite3 encoder, 64 features, native input 256
 *                      (blob kind "midas-small", from midas_v21_small_256.pt)
 *   P3D_MIDAS21_LARGE  MidasNet: ResNeXt-101 32x8d encoder, 256 features, native input 384
 *                      (blob kind "midas-large", from midas_v21_384.pt)
 *
 * Blobs come from tools/convert_midas21.py (BatchNorm folded into the convs); the executable
 * definition, numerics notes included, is tools/midas21_nets.py.
 *
 *   p3d_midas21 *net;
 *   P3D_TRY(p3d_midas21_load(ctx, "midas-small.p3dw", P3D_MIDAS21_SMALL, &net));
 *   int32_t nw, nh;
 *   P3D_TRY(p3d_midas21_estimate(net, img.rgb, img.width, img.height, disp, cap, &nw, &nh));
 *   // disp: (nh, nw) relative inverse depth >= 0, larger = nearer; 640x480 photo -> 256x192 (small)
 *   p3d_midas21_free(net);
 *
 * The estimate path is run.py's: the photo (RGB8) / 255.0 as float64, resized to the input size rule
 * below with OpenCV's INTER_CUBIC (host/io/resize_cubic.h, the float64 result exactly), normalised with
 * the ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225) in float64, rounded to float32
 * (3, H, W), forward. run.py then resizes the prediction back to the photo size (bicubic); this returns
 * it at the network's resolution, as the depth command writes every model's output.
 *
 * Memory: the layers' weights are copied into the context once, at load. plan() sizes one arena for
 * the activations of an H x W input (buffers reused by liveness; grown to the largest planned size) and
 * the host buffers of the estimate path; forward() and estimate() allocate nothing for a planned size
 * (estimate plans a new size itself). One handle runs one forward at a time. */
#ifndef P3D_MIDAS_V21_H
#define P3D_MIDAS_V21_H

#include "core/backend.h"
#include "core/tensor.h"
#include "nn/weights.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum p3d_midas21_kind {
    P3D_MIDAS21_SMALL = 0,
    P3D_MIDAS21_LARGE = 1,
} p3d_midas21_kind;

#define P3D_MIDAS21_KIND_COUNT 2
/* Input sides must be positive multiples of this (the encoders reduce by 32). */
#define P3D_MIDAS21_MULTIPLE 32

/* "midas-small", "midas-large" (the blob kinds and model names); "?" outside the enum. */
const char *p3d_midas21_kind_name(p3d_midas21_kind kind);
/* Parses "midas-small" / "midas-large"; P3D_ERR_INVALID_ARG naming the text otherwise. */
p3d_status p3d_midas21_kind_parse(const char *text, p3d_midas21_kind *out);
/* 256 (small) or 384 (large): run.py's net_w = net_h. */
int32_t p3d_midas21_native_size(p3d_midas21_kind kind);

/* run.py's network input size for a width x height photo (midas/transforms.py Resize with
 * keep_aspect_ratio, ensure_multiple_of 32, resize_method 'upper_bound'): scale = min(size / width,
 * size / height); each side = round(side * scale / 32) * 32 with round half to even (numpy), or
 * floor(...) * 32 when that exceeds size. P3D_ERR_INVALID_ARG when a side would be 0 (run.py fails
 * there too) or an argument is < 1. */
p3d_status p3d_midas21_input_size(int32_t size, int32_t width, int32_t height, int32_t *net_w, int32_t *net_h);

/* run.py's preprocessing of an RGB8 photo (height, width, 3) into out (3, net_h, net_w) float32 (see
 * the top). work: p3d_midas21_preprocess_work(net_w, net_h) doubles. */
size_t p3d_midas21_preprocess_work(int32_t net_w, int32_t net_h);
p3d_status p3d_midas21_preprocess(const uint8_t *rgb, int32_t width, int32_t height, int32_t net_w, int32_t net_h,
                                  float *out, double *work);

typedef struct p3d_midas21 p3d_midas21;

/* Checks that w is a blob of this kind, its hyper-parameters and every tensor (missing, unknown or
 * mis-shaped tensors fail with P3D_ERR_MODEL naming them), then creates the layers on ctx. w may be
 * freed afterwards. */
p3d_status p3d_midas21_init(p3d_midas21 **out, p3d_ctx *ctx, const p3d_weights *w, p3d_midas21_kind kind);
/* p3d_weights_load + p3d_midas21_init. */
p3d_status p3d_midas21_load(p3d_ctx *ctx, const char *path, p3d_midas21_kind kind, p3d_midas21 **out);
/* NULL is allowed. */
void p3d_midas21_free(p3d_midas21 *net);

p3d_midas21_kind p3d_midas21_get_kind(const p3d_midas21 *net);

/* Prepares forwards on (1, 3, h, w) inputs (positive multiples of 32): the layers' plans, the
 * activation arena and the estimate path's host (and device) buffers. Cheap for a planned size. */
p3d_status p3d_midas21_plan(p3d_midas21 *net, int32_t h, int32_t w);
/* Bytes of activation arena a plan of h x w needs (no allocation; the convs' scratch comes on top). */
p3d_status p3d_midas21_arena_bytes(const p3d_midas21 *net, int32_t h, int32_t w, size_t *bytes);

/* x (1, 3, H, W) f32, normalised as above, in the context's memory -> depth (H, W) f32 in the context's
 * memory, not overlapping x; (H, W) planned. */
p3d_status p3d_midas21_forward(p3d_midas21 *net, const p3d_tensor *x, p3d_tensor *depth);

/* The whole run.py path (see the top) for a host RGB8 photo (height, width, 3): depth is host memory of
 * capacity floats and receives (net_h, net_w) values. Plans the size when needed. */
p3d_status p3d_midas21_estimate(p3d_midas21 *net, const uint8_t *photo, int32_t width, int32_t height, float *depth,
                                size_t capacity, int32_t *net_w, int32_t *net_h);

/* Multiply-accumulates of one forward at h x w (the convolutions; element-wise work not counted);
 * 0 for a size that is not a positive multiple of 32. */
int64_t p3d_midas21_macs(const p3d_midas21 *net, int32_t h, int32_t w);

#ifdef __cplusplus
}
#endif
#endif
