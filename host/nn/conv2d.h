/* conv2d.h - 2-D convolution and transposed convolution layers (NCHW float32), CPU and CUDA.
 *
 *   p3d_conv2d_params p = p3d_conv2d_params_make(64, 128, 4, 2, 1);   // Conv2d(64, 128, 4, 2, 1)
 *   p.act = P3D_ACT_RELU;
 *   p3d_conv2d *conv;
 *   P3D_TRY(p3d_conv2d_init(&conv, ctx, &p, weight, bias));   // host arrays, copied/uploaded once
 *   P3D_TRY(p3d_conv2d_plan(conv, 1, 256, 256));              // once per input shape, at plan time
 *   P3D_TRY(p3d_conv2d_forward(conv, &x, &y));                // x (1,64,256,256) -> y (1,128,128,128)
 *   p3d_conv2d_free(conv);
 *
 * Weights are in PyTorch layout: Conv2d [Cout, Cin/groups, kh, kw]; ConvTranspose2d (transposed = 1)
 * [Cin, Cout, kh, kw]. Bias [Cout] or NULL. The handle owns a copy in its context's memory.
 *
 * Computation: y = act(conv(x, w) + b).
 *   CPU: im2col over tiles of output rows (at most P3D_CONV_COL_TILE_BYTES of columns) and
 *        p3d_sgemm per group; reflection padding is folded into the im2col indexing. Transposed:
 *        sgemm (W^T x X) per tile of input rows, then col2im accumulation.
 *   CUDA: cuDNN (legacy API, FMA math only - no TF32 in the parity build). Reflection padding is a
 *        pad kernel into scratch followed by an unpadded convolution. Bias + ReLU (or bias alone
 *        when cuDNN picked IMPLICIT_PRECOMP_GEMM) run fused in cudnnConvolutionBiasActivationForward;
 *        every other epilogue is one bias-activation kernel. Transposed: cudnnConvolutionBackwardData.
 * The algorithm (cudnnGetConvolution*Algorithm_v7 heuristics: deterministic choice, no benchmarking
 * per shape) and its workspace size are chosen once per input shape by p3d_conv2d_plan and kept in
 * the handle (P3D_PLAN_SLOTS shapes); workspaces live in the context scratch, which layers share.
 *
 * Memory: p3d_conv2d_forward allocates nothing. It fails (P3D_ERR_INVALID_ARG) for an input shape
 * that was not planned, so a missing plan step shows up in tests instead of as a hidden malloc.
 */
#ifndef P3D_CONV2D_H
#define P3D_CONV2D_H

#include "core/backend.h"
#include "core/tensor.h"
#include "nn/nn_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bound on one im2col / col2im tile on the CPU (a tile holds at least one output row). */
#define P3D_CONV_COL_TILE_BYTES ((size_t)16 << 20)
/* Largest cuDNN workspace a conv algorithm may ask for (the context scratch grows to it). */
#define P3D_CONV_WORKSPACE_LIMIT ((size_t)512 << 20)

typedef struct p3d_conv2d_params {
    int32_t in_channels, out_channels;
    int32_t kernel_h, kernel_w;
    int32_t stride_h, stride_w;
    int32_t pad_h, pad_w;           /* each side; for transposed: PyTorch's `padding` */
    int32_t dilation_h, dilation_w;
    int32_t groups;                 /* divides both channel counts; 1 for transposed */
    p3d_pad_mode pad_mode;          /* REFLECT: ReflectionPad2d(pad) then an unpadded conv; ZEROS for transposed */
    int32_t transposed;             /* 1: ConvTranspose2d (output_padding 0) */
    p3d_act act;                    /* fused activation after the bias */
    float act_slope;                /* LeakyReLU negative slope */
} p3d_conv2d_params;

/* Square kernel k, stride, zero padding pad, dilation 1, groups 1, no activation, not transposed. */
p3d_conv2d_params p3d_conv2d_params_make(int32_t in_channels, int32_t out_channels, int32_t k,
                                         int32_t stride, int32_t pad);
/* P3D_ERR_INVALID_ARG naming the bad field, else P3D_OK. */
p3d_status p3d_conv2d_params_check(const p3d_conv2d_params *p);
/* Output height/width for an input of h x w; P3D_ERR_INVALID_ARG when it would be < 1.
 *   conv:       (h + 2*pad - dil*(k-1) - 1) / stride + 1
 *   transposed: (h - 1)*stride - 2*pad + dil*(k-1) + 1 */
p3d_status p3d_conv2d_out_size(const p3d_conv2d_params *p, int64_t h, int64_t w, int64_t *ho, int64_t *wo);
/* Number of weights: Cout * Cin/groups * kh * kw (transposed: Cin * Cout * kh * kw). */
int64_t p3d_conv2d_weight_count(const p3d_conv2d_params *p);
/* Multiply-accumulates of one forward on an (n, Cin, h, w) input (FLOPs = 2 x MACs):
 *   conv: n * Cout * ho * wo * Cin/groups * kh * kw;  transposed: n * Cin * h * w * Cout * kh * kw.
 * 0 when the shape is invalid. */
int64_t p3d_conv2d_macs(const p3d_conv2d_params *p, int64_t n, int64_t h, int64_t w);

typedef struct p3d_conv2d p3d_conv2d;

/* weight/bias: host float arrays in PyTorch layout (see the top); bias may be NULL. */
p3d_status p3d_conv2d_init(p3d_conv2d **out, p3d_ctx *ctx, const p3d_conv2d_params *p,
                           const float *weight, const float *bias);
void p3d_conv2d_free(p3d_conv2d *c);
const p3d_conv2d_params *p3d_conv2d_get_params(const p3d_conv2d *c);

/* Prepares forwards on (n, Cin, h, w) inputs: algorithm, workspace size, context scratch. Cheap
 * when the shape is already planned. */
p3d_status p3d_conv2d_plan(p3d_conv2d *c, int64_t n, int64_t h, int64_t w);
/* Bytes of scratch a forward on (n, Cin, h, w) uses; P3D_ERR_INVALID_ARG when not planned. */
p3d_status p3d_conv2d_scratch_bytes(const p3d_conv2d *c, int64_t n, int64_t h, int64_t w, size_t *bytes);

/* y = act(conv(x) + b). x (N, Cin, H, W) planned, y (N, Cout, Ho, Wo), both in the context's memory,
 * not overlapping. */
p3d_status p3d_conv2d_forward(p3d_conv2d *c, const p3d_tensor *x, p3d_tensor *y);

/* ---- for ops built on a conv (pconv2d) ---------------------------------------------------------- */

/* A per-channel multiplier applied to the input on the fly: input channel ci is multiplied by
 * plane[g] (N, 1, H, W) for the group g with chan_end[g-1] <= ci < chan_end[g]. Host memory; only the
 * CPU path takes it (the CUDA pconv multiplies into scratch first). */
#define P3D_CONV_MAX_MASK_GROUPS 4
typedef struct p3d_conv2d_in_mask {
    int32_t n_groups;
    const float *plane[P3D_CONV_MAX_MASK_GROUPS];
    int32_t chan_end[P3D_CONV_MAX_MASK_GROUPS];
} p3d_conv2d_in_mask;

/* p3d_conv2d_forward with an optional input mask and an explicit scratch block (at least
 * p3d_conv2d_scratch_bytes, in the context's memory) instead of the context scratch. */
p3d_status p3d_conv2d_forward_ex(p3d_conv2d *c, const p3d_tensor *x, const p3d_conv2d_in_mask *mask,
                                 p3d_tensor *y, void *scratch, size_t scratch_bytes);

#ifdef P3D_HAVE_CUDA
/* ---- CUDA twin (cuda/nn/conv2d.cu): descriptors and per-shape algorithms of one layer ---------------- */
struct p3d_cuda_ctx;
typedef struct p3d_conv2d_cuda p3d_conv2d_cuda;
p3d_status p3d_conv2d_cuda_init(struct p3d_cuda_ctx *ctx, const p3d_conv2d_params *p, int32_t has_bias,
                                p3d_conv2d_cuda **out);
void p3d_conv2d_cuda_free(p3d_conv2d_cuda *cc);
/* Plans slot `slot` for (n, Cin, h, w) inputs giving (n, Cout, ho, wo) outputs; *scratch_bytes =
 * what the forward needs. */
p3d_status p3d_conv2d_cuda_plan(p3d_conv2d_cuda *cc, int32_t slot, int64_t n, int64_t h, int64_t w,
                                int64_t ho, int64_t wo, size_t *scratch_bytes);
/* weight/bias: device arrays as in p3d_conv2d_init (bias may be NULL). */
p3d_status p3d_conv2d_cuda_forward(p3d_conv2d_cuda *cc, int32_t slot, const float *weight, const float *bias,
                                   const p3d_tensor *x, p3d_tensor *y, void *scratch, size_t scratch_bytes);
#endif

#ifdef __cplusplus
}
#endif
#endif
