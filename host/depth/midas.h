/* midas.h - MiDaS v1 (`MonoDepthNet`, ResNet-50 encoder + RefineNet-style decoder, 256 features), the
 * monocular depth model of 3d-photo-inpainting (reference spec 2.1, 3.6), float32 on the CPU or CUDA
 * through the op runtime (conv2d with BN folded and fused ReLU, maxpool2d, eltwise, upsample).
 *
 * The weights come from tools/convert_midas.py (a midas-v1.p3dw: every BatchNorm folded into its conv,
 * PyTorch names); tools/midas_nets.py (MonoDepthNet(folded=True)) is the executable definition of what
 * forward() computes:
 *   encoder  conv 7x7/2 (+ReLU), max-pool 3x3/2 p1, ResNet-50 bottlenecks 3, 4, 6, 3 (stride on the 3x3;
 *            out = relu(conv3(relu(conv2(relu(conv1(x))))) + shortcut(x)))      -> 256 @ H/4 .. 2048 @ H/32
 *   scratch  lK = relu(conv 3x3 of stage K to 256 ch): the ReLU is the reference's in-place ReLU at the
 *            start of the fusion block's residual unit, which also turns the value it adds back into
 *            relu(lK) (RCU(v) = conv2(relu(conv1(relu(v)))) + relu(v));
 *            path4 = up2(RCU4(l4)), pathK = up2(RCUK(path(K+1) + RCUK(lK))), one RCU per block used
 *            twice, up2 = bilinear x2 align_corners=True
 *   output   conv 3x3 256->128, conv 3x3 128->1 (both linear), bilinear x2 align_corners=False
 * 41.2 GMAC at 256x384 (reference 4.1).
 *
 *   p3d_midas1 *net;
 *   P3D_TRY(p3d_midas1_load(ctx, "midas-v1.p3dw", &net));    // checks kind, hyper-parameters, every tensor
 *   int32_t nw, nh;
 *   P3D_TRY(p3d_midas1_estimate(net, img.rgb, img.width, img.height, disp, cap, &nw, &nh));
 *   // disp: (nh, nw) relative inverse depth at the network's resolution; 960x640 photo -> 384x256
 *   p3d_midas1_free(net);
 *
 * Memory: the layers' weights are copied into the context once. plan() sizes one arena for the
 * activations of the largest planned (N, H, W) (about 157 floats per input pixel: 62 MB at 256x384)
 * plus the layers' scratch; forward() allocates nothing and fails (P3D_ERR_INVALID_ARG) for a shape
 * that was not planned. Up to P3D_PLAN_SLOTS shapes stay planned. A handle runs one forward at a time. */
#ifndef P3D_MIDAS_H
#define P3D_MIDAS_H

#include "core/backend.h"
#include "core/tensor.h"
#include "nn/weights.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Network inputs are multiples of this in both sides; the reference makes the longer side this long. */
#define P3D_MIDAS1_MULTIPLE 32
#define P3D_MIDAS1_LONGER_SIDE 384
/* The reference's post-processing resizes to this longer side. */
#define P3D_MIDAS1_POST_LONGER_SIDE 640

typedef struct p3d_midas1 p3d_midas1;

/* Checks that w is a midas-v1 blob, its hyper-parameters (features, BN folded, ResNet-50 layout) and every
 * tensor (p3d_weights_check against the table: missing, unknown or mis-shaped tensors fail with
 * P3D_ERR_MODEL naming them), then creates the layers on ctx. w may be freed afterwards. */
p3d_status p3d_midas1_init(p3d_midas1 **out, p3d_ctx *ctx, const p3d_weights *w);
/* p3d_weights_load + p3d_midas1_init. */
p3d_status p3d_midas1_load(p3d_ctx *ctx, const char *path, p3d_midas1 **out);
/* NULL is allowed. */
void p3d_midas1_free(p3d_midas1 *net);

/* MiDaS_utils.resize_image's network size for a width x height photo, in the reference's float64
 * arithmetic: s = longer / 384; side -> ceil(side / s / 32) * 32 (960x640 -> 384x256, 300x75 -> 384x96).
 * P3D_ERR_INVALID_ARG for a size < 1. */
p3d_status p3d_midas1_input_size(int32_t width, int32_t height, int32_t *net_w, int32_t *net_h);
/* run_depth's post-processing target: round(side * 640 / longer) (Python round: half to even). */
p3d_status p3d_midas1_post_size(int32_t width, int32_t height, int32_t *out_w, int32_t *out_h);

/* Prepares forwards on (n, 3, h, w) inputs: n >= 1, h and w positive multiples of 32. Cheap for a shape
 * already planned. */
p3d_status p3d_midas1_plan(p3d_midas1 *net, int64_t n, int64_t h, int64_t w);
/* Bytes of activation arena a plan of (n, h, w) needs (no allocation; the layers' scratch comes on top). */
p3d_status p3d_midas1_arena_bytes(const p3d_midas1 *net, int64_t n, int64_t h, int64_t w, size_t *bytes);

/* x: f32 (N, 3, H, W) RGB in [0, 1] (no mean/std normalisation), y: f32 (N, 1, H, W) relative inverse
 * depth (larger = nearer, unknown scale and shift, may be negative); both in the context's memory, not
 * overlapping, (N, H, W) planned. */
p3d_status p3d_midas1_forward(p3d_midas1 *net, const p3d_tensor *x, p3d_tensor *y);

/* The reference's run_depth up to the network output: photo is host RGB8 (height, width, 3); it becomes
 * sample / 255 (float32) and is resized with INTER_AREA (host/io/resize_area.h, OpenCV's float path) to
 * p3d_midas1_input_size, then forward (planned here on a new size). disparity: host, capacity floats,
 * receives (net_h, net_w) values. The reference resizes in float64; the float32 resize differs from it
 * by rounding only (~1e-7 of the input). */
p3d_status p3d_midas1_estimate(p3d_midas1 *net, const uint8_t *photo, int32_t width, int32_t height,
                               float *disparity, size_t capacity, int32_t *net_w, int32_t *net_h);

/* The reference's resize_depth, on the host: cv2.blur 3x3 (BORDER_REFLECT_101; sums and the 1/9 in
 * double, one rounding to float) of disp (h, w) into scratch (h * w floats), then cv2.resize INTER_AREA
 * to (out_h, out_w) into out. h, w >= 2. */
p3d_status p3d_midas1_postprocess(const float *disp, int32_t w, int32_t h, float *scratch, float *out,
                                  int32_t out_w, int32_t out_h);

/* Multiply-accumulates of one forward on (n, 3, h, w), from p3d_conv2d_macs (41.2 G at 1x256x384). */
int64_t p3d_midas1_macs(const p3d_midas1 *net, int64_t n, int64_t h, int64_t w);

#ifdef __cplusplus
}
#endif
#endif
