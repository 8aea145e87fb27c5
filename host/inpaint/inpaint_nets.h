/* inpaint_nets.h - the three inpainting networks of 3d-photo-inpainting (reference spec 3.1-3.5):
 * the edge net (EdgeConnect-style generator), the depth and the colour nets (partial-conv U-Nets),
 * CPU and CUDA through the op runtime (conv2d, pconv2d, instance_norm, eltwise, upsample, pad, concat).
 *
 *   p3d_weights *w;
 *   P3D_TRY(p3d_weights_load("color-model.p3dw", &w));
 *   p3d_inpaint_net *net;
 *   P3D_TRY(p3d_inpaint_net_init(&net, ctx, w, P3D_INPAINT_COLOR));  // checks kind, hparams, tensors
 *   p3d_weights_free(w);                                             // the layers hold their own copy
 *   int64_t hp, wp, top, left;
 *   p3d_inpaint_padded_size(net, h, w, &hp, &wp, &top, &left);      // forward_3P's placement
 *   P3D_TRY(p3d_inpaint_net_plan(net, n, hp, wp));                   // once per padded size
 *   const p3d_tensor *args[4] = {&mask, &context, &rgb, &edge};     // host f32 (N, C_i, h, w)
 *   P3D_TRY(p3d_inpaint_net_forward_3p(net, args, 4, &out));         // host f32 (N, 3, h, w)
 *   p3d_inpaint_net_free(net);
 *
 * forward_3P arguments (the reference's call order) and the channels forward() gets:
 *   edge:  (mask 1, context 1, rgb 3, disp 1, edge 1)  -> [rgb, disp / max(disp), edge, context, mask]
 *   depth: (mask 1, context 1, depth 1, edge 1)        -> [depth, edge, context, mask]
 *   colour:(mask 1, context 1, rgb 3, edge 1)          -> [rgb, edge, context, mask]
 * The depth value is the zero-mean log depth (its caller takes the log and the mean, reference 2.17.4).
 * max(disp) is taken per patch over the unpadded crop, as tools/gen_inpaint_golden.py (the reference
 * takes one max over the batch; the pipeline runs one patch per call, where both agree); a patch
 * whose max is not > 0 (all-zero disp: NaN in the reference) is refused. The concatenation is
 * zero-padded (every channel) to multiples of unit_length (128), the input at
 * ((hp - h) / 2, (wp - w) / 2), the extra row/column at the bottom/right; the output is cropped back.
 *
 * What forward() computes on a padded (N, Cin, H, W) input:
 *   U-Nets (inpaint_unet.c): valid = clamp(context + mask, 0, 1), one (N,1,H,W) plane standing for all
 *     Cin channels; 7 partial-conv encoder layers (ReLU), then per decoder step nearest x2 upsampling of
 *     the features and of the mask plane, concatenation [upsampled, skip] of the features (the masks
 *     concatenate as plane lists, p3d_pmask_concat) and a 3x3 partial conv (LeakyReLU 0.2; the last
 *     none). dec_1's skip is the raw input and its valid plane. BatchNorm is the blob's per-channel
 *     scale/shift after the renormalisation (pconv2d.h). Depth output: linear; colour: sigmoid.
 *   Edge net (inpaint_edge.c): reflection-padded 7x7 conv, two stride-2 4x4 convs, 8 residual blocks
 *     (dilation 2) at H/4, two transposed convs on [decoder, skip] concatenations, a reflection-padded
 *     7x7 conv on [decoder, skip], sigmoid. Every norm is InstanceNorm (eps from the blob) over the
 *     whole padded plane, so the padding changes the result exactly as in the reference.
 *
 * Memory: the layers' weights are copied into the context once, at init. plan() sizes one arena for
 * the activations (the largest planned shape) and the layers' scratch; forward() and forward_3p()
 * allocate nothing and fail (P3D_ERR_INVALID_ARG) for a shape that was not planned. Up to
 * P3D_PLAN_SLOTS shapes stay planned at once. A handle runs one forward at a time. */
#ifndef P3D_INPAINT_NETS_H
#define P3D_INPAINT_NETS_H

#include "core/backend.h"
#include "core/tensor.h"
#include "nn/weights.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum p3d_inpaint_kind {
    P3D_INPAINT_EDGE = 0,  /* blob kind "inpaint-edge" */
    P3D_INPAINT_DEPTH = 1, /* "inpaint-depth" */
    P3D_INPAINT_COLOR = 2, /* "inpaint-color" */
} p3d_inpaint_kind;

#define P3D_INPAINT_KIND_COUNT 3
/* Most forward_3P arguments a net takes (the edge net's 5). */
#define P3D_INPAINT_MAX_ARGS 5

/* "edge", "depth", "color" ("?" outside the enum). */
const char *p3d_inpaint_kind_name(p3d_inpaint_kind kind);
/* Parses "edge", "depth", "color" (also "colour"); P3D_ERR_INVALID_ARG naming the text otherwise. */
p3d_status p3d_inpaint_kind_parse(const char *text, p3d_inpaint_kind *out);
/* The blob kind a net needs. */
p3d_model_kind p3d_inpaint_model_kind(p3d_inpaint_kind kind);

/* The forward_3P arguments of a net, in call order: their count, names ("mask", "context", "rgb",
 * "disp", "depth", "edge") and channel counts. */
int32_t p3d_inpaint_arg_count(p3d_inpaint_kind kind);
const char *p3d_inpaint_arg_name(p3d_inpaint_kind kind, int32_t i);
int32_t p3d_inpaint_arg_channels(p3d_inpaint_kind kind, int32_t i);

typedef struct p3d_inpaint_net p3d_inpaint_net;

/* Checks that w is a blob of this kind, its hyper-parameters (channel counts, layer_size 7 /
 * residual_blocks, unit_length, eps, slopes, activations) and every tensor (p3d_weights_check with
 * the table built from the hyper-parameters: missing, unknown or mis-shaped tensors fail with
 * P3D_ERR_MODEL naming them), then creates the layers on ctx. w may be freed afterwards. */
p3d_status p3d_inpaint_net_init(p3d_inpaint_net **out, p3d_ctx *ctx, const p3d_weights *w, p3d_inpaint_kind kind);
/* NULL is allowed. */
void p3d_inpaint_net_free(p3d_inpaint_net *net);

p3d_inpaint_kind p3d_inpaint_net_kind(const p3d_inpaint_net *net);
/* Channels of forward()'s input (7, 4, 6) and of its output (1, 1, 3). */
int32_t p3d_inpaint_net_in_channels(const p3d_inpaint_net *net);
int32_t p3d_inpaint_net_out_channels(const p3d_inpaint_net *net);
/* The blob's unit_length (128): forward_3P pads to multiples of it. */
int32_t p3d_inpaint_net_unit(const p3d_inpaint_net *net);
/* forward_3P's placement of an h x w patch (p3d_pad_to_multiple with the net's unit). */
void p3d_inpaint_padded_size(const p3d_inpaint_net *net, int64_t h, int64_t w, int64_t *hp, int64_t *wp, int64_t *top,
                             int64_t *left);

/* Prepares forwards of n patches of padded size h x w (multiples of the unit): the layers' plans and
 * scratch, the activation arena (grown to the largest planned shape; one allocation) and, on a CUDA
 * context, forward_3p's host staging buffer. Cheap for a shape already planned. */
p3d_status p3d_inpaint_net_plan(p3d_inpaint_net *net, int64_t n, int64_t h, int64_t w);
/* Bytes of activation arena a plan of (n, h, w) needs (no allocation; the layers' scratch comes on
 * top: at most a few tiles of P3D_CONV_COL_TILE_BYTES on the CPU, cuDNN workspaces on a GPU). */
p3d_status p3d_inpaint_net_arena_bytes(const p3d_inpaint_net *net, int64_t n, int64_t h, int64_t w, size_t *bytes);

/* forward(): x (N, Cin, H, W) padded input -> y (N, Cout, H, W), both f32 in the context's memory,
 * not overlapping; (N, H, W) planned. */
p3d_status p3d_inpaint_net_forward(p3d_inpaint_net *net, const p3d_tensor *x, p3d_tensor *y);

/* forward_3P(): args[0..n_args) host f32 (N, C_i, h, w) in the order above, out host f32
 * (N, Cout, h, w); (N, padded h, padded w) planned. Concatenation, normalisation and zero padding
 * run on the host into the planned staging memory, one upload, forward(), crop, one download. */
p3d_status p3d_inpaint_net_forward_3p(p3d_inpaint_net *net, const p3d_tensor *const *args, int32_t n_args,
                                      p3d_tensor *out);

/* Multiply-accumulates of one forward() on (n, Cin, h, w), from the layers' MAC helpers
 * (p3d_conv2d_macs / p3d_pconv2d_macs; norms, masks and element-wise work not counted). Per
 * padded pixel: edge 814,656, depth 144,116, colour 146,962 (reference 4.1). */
int64_t p3d_inpaint_net_macs(const p3d_inpaint_net *net, int64_t n, int64_t h, int64_t w);

#ifdef __cplusplus
}
#endif
#endif
