// conv2d.cu - CUDA twin of host/nn/conv2d.c: cuDNN convolution and transposed convolution (legacy API,
// FMA math), algorithm and workspace chosen once per input shape, bias + activation epilogue.
//
// The cuDNN 9 legacy convolution API used here is deprecated in favour of the graph API but fully
// supported; its deprecation warnings are opt-in (CUDNN_WARN_DEPRECATED), so -Werror builds pass.
#include <stdlib.h>

#include "nn/conv2d.h"
#include "nn/nn_math.h"
#include "nn/p3d_cuda_nn.h"
#include "nn/pad.h"

namespace {
// One planned input shape.
struct conv_slot {
    int32_t ready;
    int64_t n, h, w, ho, wo;
    cudnnTensorDescriptor_t x_desc; // (n, Cin, h, w), or the reflect-padded copy (n, Cin, h+2ph, w+2pw)
    cudnnTensorDescriptor_t y_desc; // (n, Cout, ho, wo)
    cudnnConvolutionFwdAlgo_t fwd_algo;
    cudnnConvolutionBwdDataAlgo_t bwd_algo; // transposed layers
    size_t pad_bytes;                       // reflect-padded input, first in the scratch
    size_t ws_bytes;                        // cuDNN workspace, after it
    int32_t fused;                          // bias (+ ReLU) inside cudnnConvolutionBiasActivationForward
};
} // namespace

struct p3d_conv2d_cuda {
    p3d_cuda_ctx *ctx;
    p3d_conv2d_params p;
    int32_t has_bias;
    cudnnFilterDescriptor_t w_desc; // conv (Cout, Cin/groups, kh, kw); transposed (Cin, Cout, kh, kw)
    cudnnConvolutionDescriptor_t conv_desc;
    cudnnTensorDescriptor_t bias_desc; // (1, Cout, 1, 1)
    cudnnActivationDescriptor_t act_desc;
    conv_slot slot[P3D_PLAN_SLOTS];
};

// y (N, C, plane) = act(y + bias[c]); bias may be NULL.
static __global__ void bias_act_kernel(float *y, const float *bias, int64_t total, int64_t plane, int64_t channels,
                                       p3d_act act, float slope) {
    const int64_t i = P3D_NN_INDEX();
    if (i >= total) return;
    y[i] = p3d_bias_act(y[i], bias ? bias[i / plane % channels] : 0.0f, act, slope);
}

static p3d_status conv_cuda_setup(p3d_conv2d_cuda *cc) {
    const p3d_conv2d_params *p = &cc->p;
    const int reflect = p->pad_mode == P3D_PAD_REFLECT;
    P3D_CUDNN_CHECK(cudnnCreateFilterDescriptor(&cc->w_desc));
    if (p->transposed)
        P3D_CUDNN_CHECK(cudnnSetFilter4dDescriptor(cc->w_desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, p->in_channels,
                                                   p->out_channels, p->kernel_h, p->kernel_w));
    else
        P3D_CUDNN_CHECK(cudnnSetFilter4dDescriptor(cc->w_desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, p->out_channels,
                                                   p->in_channels / p->groups, p->kernel_h, p->kernel_w));
    P3D_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&cc->conv_desc));
    // Reflection padding is done by the pad kernel, so cuDNN sees an unpadded convolution.
    P3D_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(cc->conv_desc, reflect ? 0 : p->pad_h, reflect ? 0 : p->pad_w,
                                                    p->stride_h, p->stride_w, p->dilation_h, p->dilation_w,
                                                    CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    P3D_CUDNN_CHECK(cudnnSetConvolutionGroupCount(cc->conv_desc, p->groups));
    // Parity build: CUDA-core FMA kernels only; CUDNN_DEFAULT_MATH would allow TF32 on sm_80+.
    P3D_CUDNN_CHECK(cudnnSetConvolutionMathType(cc->conv_desc, CUDNN_FMA_MATH));
    P3D_CUDNN_CHECK(cudnnCreateTensorDescriptor(&cc->bias_desc));
    P3D_CUDNN_CHECK(cudnnSetTensor4dDescriptor(cc->bias_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, p->out_channels, 1, 1));
    // The fused epilogue's activation (used only for ReLU or identity). PyTorch's fused conv-add-relu
    // sets up its descriptor the same way; a NaN input there gives 0, where the CPU keeps the NaN.
    P3D_CUDNN_CHECK(cudnnCreateActivationDescriptor(&cc->act_desc));
    P3D_CUDNN_CHECK(cudnnSetActivationDescriptor(cc->act_desc,
                                                 p->act == P3D_ACT_RELU ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY,
                                                 CUDNN_NOT_PROPAGATE_NAN, 0.0));
    return P3D_OK;
}

extern "C" void p3d_conv2d_cuda_free(p3d_conv2d_cuda *cc) {
    if (!cc) return;
    // Teardown: a failing destroy cannot be acted on.
    for (int32_t i = 0; i < P3D_PLAN_SLOTS; i++) {
        if (cc->slot[i].x_desc) (void)cudnnDestroyTensorDescriptor(cc->slot[i].x_desc);
        if (cc->slot[i].y_desc) (void)cudnnDestroyTensorDescriptor(cc->slot[i].y_desc);
    }
    if (cc->act_desc) (void)cudnnDestroyActivationDescriptor(cc->act_desc);
    if (cc->bias_desc) (void)cudnnDestroyTensorDescriptor(cc->bias_desc);
    if (cc->conv_desc) (void)cudnnDestroyConvolutionDescriptor(cc->conv_desc);
    if (cc->w_desc) (void)cudnnDestroyFilterDescriptor(cc->w_desc);
    free(cc);
}

extern "C" p3d_status p3d_conv2d_cuda_init(p3d_cuda_ctx *ctx, const p3d_conv2d_params *p, int32_t has_bias,
                                           p3d_conv2d_cuda **out) {
    *out = NULL;
    p3d_conv2d_cuda *cc = (p3d_conv2d_cuda *)calloc(1, sizeof *cc);
    if (!cc) return p3d_fail(P3D_ERR_OOM, "conv2d: out of host memory");
    cc->ctx = ctx;
    cc->p = *p;
    cc->has_bias = has_bias;
    p3d_status st = conv_cuda_setup(cc);
    if (st != P3D_OK) {
        p3d_conv2d_cuda_free(cc);
        return st;
    }
    *out = cc;
    return P3D_OK;
}

// First heuristic result that cuDNN can run with FMA math within the workspace limit, preferring
// deterministic algorithms (first pass); -1 when none qualifies.
template <typename Perf>
static int pick_algo(const Perf *perf, int count) {
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < count; i++) {
            if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].mathType != CUDNN_FMA_MATH ||
                perf[i].memory > P3D_CONV_WORKSPACE_LIMIT)
                continue;
            if (pass == 0 && perf[i].determinism != CUDNN_DETERMINISTIC) continue;
            return i;
        }
    }
    return -1;
}

// cuDNN's legacy descriptors take int dimensions and at most 2^31 elements per tensor.
static p3d_status set_desc(cudnnTensorDescriptor_t d, int64_t n, int64_t c, int64_t h, int64_t w) {
    if (n * c * h * w > INT32_MAX)
        return p3d_fail(P3D_ERR_UNSUPPORTED, "conv2d: tensor [%lld,%lld,%lld,%lld] exceeds cuDNN's 2^31 elements",
                        (long long)n, (long long)c, (long long)h, (long long)w);
    P3D_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, (int)n, (int)c, (int)h, (int)w));
    return P3D_OK;
}

static p3d_status choose_algo(p3d_conv2d_cuda *cc, conv_slot *s) {
    cudnnHandle_t dnn = cc->ctx->cudnn;
    int got = 0;
    if (cc->p.transposed) {
        cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        // Transposed conv = the data gradient of the conv that maps y (Cout) to x (Cin): dy = x, dx = y.
        P3D_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(dnn, cc->w_desc, s->x_desc, cc->conv_desc, s->y_desc,
                                                                    CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, perf));
        const int i = pick_algo(perf, got);
        s->bwd_algo = i >= 0 ? perf[i].algo : CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
        P3D_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(dnn, cc->w_desc, s->x_desc, cc->conv_desc,
                                                                     s->y_desc, s->bwd_algo, &s->ws_bytes));
        s->fused = 0;
        return P3D_OK;
    }
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    P3D_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(dnn, s->x_desc, cc->w_desc, cc->conv_desc, s->y_desc,
                                                           CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf));
    const int i = pick_algo(perf, got);
    s->fwd_algo = i >= 0 ? perf[i].algo : CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    P3D_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(dnn, s->x_desc, cc->w_desc, cc->conv_desc, s->y_desc,
                                                            s->fwd_algo, &s->ws_bytes));
    // cudnnConvolutionBiasActivationForward takes ReLU with any algorithm and identity only with
    // IMPLICIT_PRECOMP_GEMM; it always adds a bias.
    s->fused = cc->has_bias && (cc->p.act == P3D_ACT_RELU ||
                                (cc->p.act == P3D_ACT_NONE && s->fwd_algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM));
    return P3D_OK;
}

extern "C" p3d_status p3d_conv2d_cuda_plan(p3d_conv2d_cuda *cc, int32_t slot, int64_t n, int64_t h, int64_t w,
                                           int64_t ho, int64_t wo, size_t *scratch_bytes) {
    const p3d_conv2d_params *p = &cc->p;
    conv_slot *s = &cc->slot[slot];
    s->ready = 0;
    if (!s->x_desc) P3D_CUDNN_CHECK(cudnnCreateTensorDescriptor(&s->x_desc));
    if (!s->y_desc) P3D_CUDNN_CHECK(cudnnCreateTensorDescriptor(&s->y_desc));
    const int reflect = p->pad_mode == P3D_PAD_REFLECT;
    const int64_t hx = reflect ? h + 2 * p->pad_h : h, wx = reflect ? w + 2 * p->pad_w : w;
    P3D_TRY(set_desc(s->x_desc, n, p->in_channels, hx, wx));
    P3D_TRY(set_desc(s->y_desc, n, p->out_channels, ho, wo));
    P3D_TRY(choose_algo(cc, s));
    s->pad_bytes = reflect ? (size_t)(n * p->in_channels * hx * wx) * sizeof(float) : 0;
    size_t off = 0;
    p3d_scratch_take(NULL, &off, s->pad_bytes);
    p3d_scratch_take(NULL, &off, s->ws_bytes);
    *scratch_bytes = off;
    s->n = n;
    s->h = h;
    s->w = w;
    s->ho = ho;
    s->wo = wo;
    s->ready = 1;
    return P3D_OK;
}

extern "C" p3d_status p3d_conv2d_cuda_forward(p3d_conv2d_cuda *cc, int32_t slot, const float *weight,
                                              const float *bias, const p3d_tensor *x, p3d_tensor *y, void *scratch,
                                              size_t scratch_bytes) {
    const p3d_conv2d_params *p = &cc->p;
    const conv_slot *s = &cc->slot[slot];
    P3D_ASSERT(s->ready && s->n == x->shape[0] && s->h == x->shape[2] && s->w == x->shape[3]);
    cudnnHandle_t dnn = cc->ctx->cudnn;
    const float one = 1.0f, zero = 0.0f;
    size_t off = 0;
    float *padded = (float *)p3d_scratch_take(scratch, &off, s->pad_bytes);
    void *ws = p3d_scratch_take(scratch, &off, s->ws_bytes);
    P3D_ASSERT(off <= scratch_bytes);
    const void *xin = x->data;
    if (p->pad_mode == P3D_PAD_REFLECT) {
        p3d_tensor xp = p3d_nn_dev_view(padded, s->n, p->in_channels, s->h + 2 * p->pad_h, s->w + 2 * p->pad_w);
        P3D_TRY(p3d_pad_cuda(cc->ctx, x, &xp, P3D_PAD_REFLECT, p->pad_h, p->pad_w));
        xin = padded;
    }
    if (p->transposed) {
        P3D_CUDNN_CHECK(cudnnConvolutionBackwardData(dnn, &one, cc->w_desc, weight, s->x_desc, xin, cc->conv_desc,
                                                     s->bwd_algo, ws, s->ws_bytes, &zero, s->y_desc, y->data));
    } else if (s->fused) {
        // y = act(conv(x) + 0 * z + bias) with z = y (alpha2 = 0: z is not read for its value).
        P3D_CUDNN_CHECK(cudnnConvolutionBiasActivationForward(dnn, &one, s->x_desc, xin, cc->w_desc, weight,
                                                              cc->conv_desc, s->fwd_algo, ws, s->ws_bytes, &zero,
                                                              s->y_desc, y->data, cc->bias_desc, bias, cc->act_desc,
                                                              s->y_desc, y->data));
    } else {
        P3D_CUDNN_CHECK(cudnnConvolutionForward(dnn, &one, s->x_desc, xin, cc->w_desc, weight, cc->conv_desc,
                                                s->fwd_algo, ws, s->ws_bytes, &zero, s->y_desc, y->data));
    }
    if (!s->fused && (bias || p->act != P3D_ACT_NONE)) {
        const int64_t total = p3d_nn_numel(y);
        P3D_LAUNCH(bias_act_kernel, p3d_cuda_blocks(total, P3D_NN_THREADS), P3D_NN_THREADS, 0, cc->ctx->stream)(
            (float *)y->data, bias, total, s->ho * s->wo, p->out_channels, p->act, p->act_slope);
    }
    P3D_CUDA_LAUNCH_CHECK(cc->ctx, "conv2d");
    return P3D_OK;
}
