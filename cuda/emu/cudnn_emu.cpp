// cudnn_emu.cpp - the emulated cuDNN calls (cudnn.h), written from cuDNN's documented semantics and
// independent of the project's CPU convolution:
//   forward      y = alpha * conv(x, w) + beta * y              (beta = 0: y is not read)
//   fused        y = act(alpha1 * conv(x, w) + alpha2 * z + bias), act RELU or IDENTITY, IDENTITY
//                only with CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM (else NOT_SUPPORTED);
//                alpha2 = 0: z is not read; ReLU maps NaN to 0 unless the descriptor propagates NaN
//   backward     dx = alpha * conv^T(dy, w) + beta * dx        (the data gradient)
// conv is a cross-correlation (CUDNN_CROSS_CORRELATION) or a true convolution (flipped filter) over
// float32 NCHW tensors with a (K, C/groups, R, S) filter, zero padding, stride, dilation and groups.
// Every shape must agree with the descriptors exactly (CUDNN_STATUS_BAD_PARAM otherwise), the
// workspace must be at least what the size query returned, and every pointer must be device memory.
// The sums are float GEMMs (im2col + OpenBLAS's cblas_sgemm) on the emulator's threads, one task per
// (image, group, block of kColBlock output positions): a batch of one image keeps every thread busy,
// and the blocks' size is fixed, so the sums do not depend on the thread count. The epilogue (alpha,
// beta, bias, activation) is evaluated in double.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <vector>

#include <cblas.h>

#include "cudnn.h"
#include "p3d_emu.h"

struct p3d_cudnn_context {
    cudaStream_t stream;
};
struct p3d_cudnn_tensor {
    int set;
    int n, c, h, w;
};
struct p3d_cudnn_filter {
    int set;
    int k, c, r, s;
};
struct p3d_cudnn_conv {
    int set;
    int pad_h, pad_w, stride_h, stride_w, dil_h, dil_w;
    cudnnConvolutionMode_t mode;
    int groups;
    cudnnMathType_t math;
};
struct p3d_cudnn_act {
    int set;
    cudnnActivationMode_t mode;
    cudnnNanPropagation_t nan;
    double coef;
};

namespace {

std::mutex g_mu;
std::set<const void *> &handles() {
    static std::set<const void *> *s = new std::set<const void *>;
    return *s;
}
bool handle_ok(cudnnHandle_t h) {
    std::lock_guard<std::mutex> lock(g_mu);
    return h && handles().count(h);
}

cudnnStatus_t bad(const char *what) {
    fprintf(stderr, "p3d emulated cuDNN: %s\n", what);
    return CUDNN_STATUS_BAD_PARAM;
}

template <class T>
cudnnStatus_t create(T **out) {
    *out = new T();
    return CUDNN_STATUS_SUCCESS;
}
template <class T>
cudnnStatus_t destroy(T *d) {
    delete d;
    return CUDNN_STATUS_SUCCESS;
}

// One convolution problem in forward terms: x (n, c, h, w), w (k, c/g, r, s), y (n, k, p, q).
struct problem {
    int n, c, h, w, k, cg, kg, r, s, p, q;
    int ph, pw, sh, sw, dh, dw, groups, flip;
};

cudnnStatus_t make_problem(const p3d_cudnn_tensor *x, const p3d_cudnn_filter *f, const p3d_cudnn_conv *cv,
                           const p3d_cudnn_tensor *y, problem *pr) {
    if (!x || !f || !cv || !y || !x->set || !f->set || !cv->set || !y->set) return bad("a descriptor is not set");
    const int g = cv->groups;
    if (x->c != f->c * g) return bad("input channels != filter channels * groups");
    if (f->k % g) return bad("filter count is not a multiple of the group count");
    const int er = (f->r - 1) * cv->dil_h + 1, es = (f->s - 1) * cv->dil_w + 1;
    const int hp = x->h + 2 * cv->pad_h, wp = x->w + 2 * cv->pad_w;
    if (hp < er || wp < es) return bad("the dilated filter is larger than the padded input");
    const int p = (hp - er) / cv->stride_h + 1, q = (wp - es) / cv->stride_w + 1;
    if (y->n != x->n || y->c != f->k || y->h != p || y->w != q) {
        char msg[256];
        snprintf(msg, sizeof msg, "output descriptor (%d, %d, %d, %d) != the convolution's output (%d, %d, %d, %d)",
                 y->n, y->c, y->h, y->w, x->n, f->k, p, q);
        return bad(msg);
    }
    *pr = problem{x->n, x->c, x->h, x->w, f->k, f->c, f->k / g, f->r, f->s, p, q, cv->pad_h, cv->pad_w,
                  cv->stride_h, cv->stride_w, cv->dil_h, cv->dil_w, g, cv->mode == CUDNN_CONVOLUTION};
    return CUDNN_STATUS_SUCCESS;
}

size_t fwd_workspace(const problem &pr, cudnnConvolutionFwdAlgo_t algo) {
    switch (algo) {
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM: return 0;
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM: return (size_t)pr.cg * pr.r * pr.s * sizeof(int) + 64;
    case CUDNN_CONVOLUTION_FWD_ALGO_GEMM: return (size_t)pr.cg * pr.r * pr.s * pr.p * pr.q * sizeof(float);
    default: return 0;
    }
}
bool fwd_supported(cudnnConvolutionFwdAlgo_t algo) {
    return algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM || algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ||
           algo == CUDNN_CONVOLUTION_FWD_ALGO_GEMM;
}
bool bwd_supported(cudnnConvolutionBwdDataAlgo_t algo) {
    return algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 || algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
}

// Device memory of at least `bytes` at p (a fault otherwise, as a real kernel's would be).
bool dev(const void *p, size_t bytes, const char *what) {
    if (bytes == 0 || p3d_emu::device_range(p, bytes)) return true;
    char msg[160];
    snprintf(msg, sizeof msg, "cuDNN: %s (%zu bytes at %p) is not device memory", what, bytes, p);
    p3d_emu::device_fault(msg);
    return false;
}

size_t bytes4(int a, int b, int c, int d) { return (size_t)a * b * c * d * sizeof(float); }

// The filter tap (ri, si) of output position (oy, ox): input row / column (may be outside).
inline int tap(int o, int stride, int pad, int i, int dil) { return o * stride - pad + i * dil; }

// Output positions per GEMM task (see the top).
constexpr size_t kColBlock = 4096;

size_t col_blocks(const problem &pr) { return ((size_t)pr.p * pr.q + kColBlock - 1) / kColBlock; }

// GEMM task i of a convolution: image b, group g, output positions [e0, e0 + len) of p * q; kdim =
// cg * r * s, the GEMM's inner dimension.
struct gemm_task {
    int b, g, kdim;
    size_t e0, len, pq;
};
gemm_task task_at(const problem &pr, uint64_t i) {
    const size_t nb = col_blocks(pr), pq = (size_t)pr.p * pr.q, e0 = i % nb * kColBlock;
    return gemm_task{(int)(i / (nb * pr.groups)), (int)(i / nb % pr.groups), pr.cg * pr.r * pr.s, e0,
                     std::min(kColBlock, pq - e0), pq};
}

// col (cg * r * s, len) = the input taps of group g of image b at output positions [e0, e0 + len)
// (position e = oy * q + ox; zero outside the input).
void im2col(const problem &pr, const float *x, int b, int g, size_t e0, size_t len, float *col) {
    for (int ci = 0; ci < pr.cg; ci++) {
        const float *xp = x + ((size_t)b * pr.c + (size_t)g * pr.cg + ci) * pr.h * pr.w;
        for (int ri = 0; ri < pr.r; ri++)
            for (int si = 0; si < pr.s; si++) {
                float *row = col + (((size_t)ci * pr.r + ri) * pr.s + si) * len;
                for (size_t e = e0; e < e0 + len; e++) {
                    const int oy = (int)(e / pr.q), ox = (int)(e % pr.q);
                    const int iy = tap(oy, pr.sh, pr.ph, ri, pr.dh), ix = tap(ox, pr.sw, pr.pw, si, pr.dw);
                    row[e - e0] = iy >= 0 && iy < pr.h && ix >= 0 && ix < pr.w ? xp[(size_t)iy * pr.w + ix] : 0.0f;
                }
            }
    }
}

// Input plane ci (of all c) of image b += its taps in col, the (cg * r * s, p * q) matrix of its group
// (the adjoint of im2col for one plane).
void col2im_plane(const problem &pr, const float *col, int b, int ci, float *dx) {
    const size_t pq = (size_t)pr.p * pr.q;
    const int cl = ci % pr.cg; // the plane's row block within its group's matrix
    float *xp = dx + ((size_t)b * pr.c + ci) * pr.h * pr.w;
    for (int ri = 0; ri < pr.r; ri++)
        for (int si = 0; si < pr.s; si++) {
            const float *row = col + (((size_t)cl * pr.r + ri) * pr.s + si) * pq;
            for (int oy = 0; oy < pr.p; oy++) {
                const int iy = tap(oy, pr.sh, pr.ph, ri, pr.dh);
                if (iy < 0 || iy >= pr.h) continue;
                for (int ox = 0; ox < pr.q; ox++) {
                    const int ix = tap(ox, pr.sw, pr.pw, si, pr.dw);
                    if (ix >= 0 && ix < pr.w) xp[(size_t)iy * pr.w + ix] += row[(size_t)oy * pr.q + ox];
                }
            }
        }
}

// The filter as cross-correlation weights (K, C/g, R, S): a true convolution flips R and S.
std::vector<float> xcorr_weights(const problem &pr, const float *w) {
    std::vector<float> f((size_t)pr.k * pr.cg * pr.r * pr.s);
    for (size_t kc = 0; kc < (size_t)pr.k * pr.cg; kc++)
        for (int ri = 0; ri < pr.r; ri++)
            for (int si = 0; si < pr.s; si++)
                f[(kc * pr.r + ri) * pr.s + si] =
                    w[(kc * pr.r + (pr.flip ? pr.r - 1 - ri : ri)) * pr.s + (pr.flip ? pr.s - 1 - si : si)];
    return f;
}

struct fwd_job {
    const problem *pr;
    const float *x, *bias;
    float *y;
    double alpha, beta; // beta: the factor of blend (y for the plain forward, z for the fused call)
    const float *blend; // nullptr when its factor is 0 (then it is not read)
    const p3d_cudnn_act *act;
    std::vector<float> wx, out; // cross-correlation weights; the raw convolution (n, k, p, q)
};

// Task (b, g, block): out[b, group g] (kg, p * q), columns [e0, e0 + len) =
// W_g (kg, cg * r * s) . im2col (cg * r * s, len).
void fwd_task(void *c, uint64_t i) {
    fwd_job &j = *static_cast<fwd_job *>(c);
    const problem &pr = *j.pr;
    const gemm_task t = task_at(pr, i);
    thread_local std::vector<float> col; // the task's im2col block, kept for the thread's next task
    col.resize((size_t)t.kdim * t.len);
    im2col(pr, j.x, t.b, t.g, t.e0, t.len, col.data());
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, pr.kg, (int)t.len, t.kdim, 1.0f,
                j.wx.data() + (size_t)t.g * pr.kg * t.kdim, t.kdim, col.data(), (int)t.len, 0.0f,
                j.out.data() + ((size_t)t.b * pr.k + (size_t)t.g * pr.kg) * t.pq + t.e0, (int)t.pq);
}

// y = act(alpha * conv + beta * blend + bias), element by element.
void fwd_epilogue(fwd_job &j) {
    const problem &pr = *j.pr;
    const size_t plane = (size_t)pr.p * pr.q, n = (size_t)pr.n * pr.k * plane;
    for (size_t e = 0; e < n; e++) {
        double v = j.alpha * j.out[e];
        if (j.blend) v += j.beta * j.blend[e];
        if (j.bias) v += j.bias[e / plane % pr.k];
        float f = (float)v;
        if (j.act && j.act->mode == CUDNN_ACTIVATION_RELU) {
            if (std::isnan(f)) f = j.act->nan == CUDNN_PROPAGATE_NAN ? f : 0.0f;
            else if (f < 0.0f) f = 0.0f;
        }
        j.y[e] = f;
    }
}

struct bwd_job {
    const problem *pr;
    const float *dy;
    std::vector<float> wx, out; // cross-correlation weights; the raw data gradient (n, c, h, w)
    std::vector<float> col;     // per (image, group): W_g^T . dy_g (cg * r * s, p * q)
};

// Task (b, g, block): columns [e0, e0 + len) of col_bg = W_g^T (cg * r * s, kg) . dy_g (kg, p * q).
void bwd_gemm_task(void *c, uint64_t i) {
    bwd_job &j = *static_cast<bwd_job *>(c);
    const problem &pr = *j.pr;
    const gemm_task t = task_at(pr, i);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t.kdim, (int)t.len, pr.kg, 1.0f,
                j.wx.data() + (size_t)t.g * pr.kg * t.kdim, t.kdim,
                j.dy + ((size_t)t.b * pr.k + (size_t)t.g * pr.kg) * t.pq + t.e0, (int)t.pq, 0.0f,
                j.col.data() + ((size_t)t.b * pr.groups + t.g) * t.kdim * t.pq + t.e0, (int)t.pq);
}

// Task (b, ci): input plane ci of image b gathers its taps from its group's col (planes do not overlap).
void bwd_scatter_task(void *c, uint64_t i) {
    bwd_job &j = *static_cast<bwd_job *>(c);
    const problem &pr = *j.pr;
    const int b = (int)(i / pr.c), ci = (int)(i % pr.c);
    const size_t kdim = (size_t)pr.cg * pr.r * pr.s, pq = (size_t)pr.p * pr.q;
    col2im_plane(pr, j.col.data() + ((size_t)b * pr.groups + ci / pr.cg) * kdim * pq, b, ci, j.out.data());
}

cudnnStatus_t workspace_ok(void *ws, size_t have, size_t need) {
    if (have < need) return bad("workspace smaller than the algorithm needs");
    if (!dev(ws, need, "workspace")) return CUDNN_STATUS_EXECUTION_FAILED;
    if (need) memset(ws, 0xfe, need); // the algorithm's scratch: whatever was there is overwritten
    return CUDNN_STATUS_SUCCESS;
}

} // namespace

extern "C" {

size_t cudnnGetVersion(void) { return CUDNN_VERSION; }

const char *cudnnGetErrorString(cudnnStatus_t status) {
    switch (status) {
    case CUDNN_STATUS_SUCCESS: return "CUDNN_STATUS_SUCCESS";
    case CUDNN_STATUS_NOT_INITIALIZED: return "CUDNN_STATUS_NOT_INITIALIZED";
    case CUDNN_STATUS_ALLOC_FAILED: return "CUDNN_STATUS_ALLOC_FAILED";
    case CUDNN_STATUS_BAD_PARAM: return "CUDNN_STATUS_BAD_PARAM";
    case CUDNN_STATUS_INTERNAL_ERROR: return "CUDNN_STATUS_INTERNAL_ERROR";
    case CUDNN_STATUS_INVALID_VALUE: return "CUDNN_STATUS_INVALID_VALUE";
    case CUDNN_STATUS_ARCH_MISMATCH: return "CUDNN_STATUS_ARCH_MISMATCH";
    case CUDNN_STATUS_MAPPING_ERROR: return "CUDNN_STATUS_MAPPING_ERROR";
    case CUDNN_STATUS_EXECUTION_FAILED: return "CUDNN_STATUS_EXECUTION_FAILED";
    case CUDNN_STATUS_NOT_SUPPORTED: return "CUDNN_STATUS_NOT_SUPPORTED";
    }
    return "CUDNN_STATUS_UNKNOWN";
}

cudnnStatus_t cudnnCreate(cudnnHandle_t *handle) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) return CUDNN_STATUS_NOT_INITIALIZED;
    // The emulator's threads share each convolution's GEMM tasks out: OpenBLAS's own threads inside
    // them would only compete for the same cores.
    openblas_set_num_threads(1);
    cudnnHandle_t h = new p3d_cudnn_context{nullptr};
    std::lock_guard<std::mutex> lock(g_mu);
    handles().insert(h);
    *handle = h;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) {
    std::lock_guard<std::mutex> lock(g_mu);
    if (!handle || !handles().erase(handle)) return CUDNN_STATUS_BAD_PARAM;
    delete handle;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t stream) {
    if (!handle_ok(handle)) return CUDNN_STATUS_BAD_PARAM;
    if (cudaStreamSynchronize(stream) != cudaSuccess) return CUDNN_STATUS_BAD_PARAM;
    handle->stream = stream;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *d) { return create(d); }
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d) { return destroy(d); }
cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *d) { return create(d); }
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t d) { return destroy(d); }
cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *d) {
    cudnnStatus_t st = create(d);
    (*d)->groups = 1;
    (*d)->math = CUDNN_DEFAULT_MATH;
    return st;
}
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t d) { return destroy(d); }
cudnnStatus_t cudnnCreateActivationDescriptor(cudnnActivationDescriptor_t *d) { return create(d); }
cudnnStatus_t cudnnDestroyActivationDescriptor(cudnnActivationDescriptor_t d) { return destroy(d); }

cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t format, cudnnDataType_t type,
                                         int n, int c, int h, int w) {
    if (!d || n <= 0 || c <= 0 || h <= 0 || w <= 0) return bad("tensor dimensions must be positive");
    if (format != CUDNN_TENSOR_NCHW || type != CUDNN_DATA_FLOAT) return CUDNN_STATUS_NOT_SUPPORTED;
    if ((long long)n * c * h * w > 2147483647LL) return CUDNN_STATUS_NOT_SUPPORTED;
    *d = p3d_cudnn_tensor{1, n, c, h, w};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t type, cudnnTensorFormat_t format,
                                         int k, int c, int h, int w) {
    if (!d || k <= 0 || c <= 0 || h <= 0 || w <= 0) return bad("filter dimensions must be positive");
    if (format != CUDNN_TENSOR_NCHW || type != CUDNN_DATA_FLOAT) return CUDNN_STATUS_NOT_SUPPORTED;
    *d = p3d_cudnn_filter{1, k, c, h, w};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v,
                                              int dilation_h, int dilation_w, cudnnConvolutionMode_t mode,
                                              cudnnDataType_t compute_type) {
    if (!d || pad_h < 0 || pad_w < 0 || u <= 0 || v <= 0 || dilation_h <= 0 || dilation_w <= 0)
        return bad("convolution: negative padding or non-positive stride / dilation");
    if (mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION) return bad("convolution mode");
    if (compute_type != CUDNN_DATA_FLOAT) return CUDNN_STATUS_NOT_SUPPORTED;
    d->set = 1;
    d->pad_h = pad_h, d->pad_w = pad_w, d->stride_h = u, d->stride_w = v;
    d->dil_h = dilation_h, d->dil_w = dilation_w, d->mode = mode;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t d, int groups) {
    if (!d || groups < 1) return bad("group count must be positive");
    d->groups = groups;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t math) {
    if (!d || math < CUDNN_DEFAULT_MATH || math > CUDNN_FMA_MATH) return bad("math type");
    d->math = math;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t x,
                                                    cudnnFilterDescriptor_t w, int *n, int *c, int *h, int *wd) {
    if (!conv || !x || !w || !conv->set || !x->set || !w->set) return bad("a descriptor is not set");
    const int er = (w->r - 1) * conv->dil_h + 1, es = (w->s - 1) * conv->dil_w + 1;
    *n = x->n;
    *c = w->k;
    *h = (x->h + 2 * conv->pad_h - er) / conv->stride_h + 1;
    *wd = (x->w + 2 * conv->pad_w - es) / conv->stride_w + 1;
    return *h > 0 && *wd > 0 ? CUDNN_STATUS_SUCCESS : bad("empty output");
}

cudnnStatus_t cudnnSetActivationDescriptor(cudnnActivationDescriptor_t d, cudnnActivationMode_t mode,
                                           cudnnNanPropagation_t nan_opt, double coef) {
    if (!d || mode < CUDNN_ACTIVATION_SIGMOID || mode > CUDNN_ACTIVATION_SWISH) return bad("activation mode");
    if (nan_opt != CUDNN_NOT_PROPAGATE_NAN && nan_opt != CUDNN_PROPAGATE_NAN) return bad("NaN option");
    *d = p3d_cudnn_act{1, mode, nan_opt, coef};
    return CUDNN_STATUS_SUCCESS;
}

// The heuristic's list: the precomputed-index implicit GEMM first for ungrouped convolutions, the
// plain implicit GEMM first otherwise, then explicit GEMM; the remaining algorithms are listed as not
// supported (callers must skip entries whose status is not SUCCESS).
cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t handle, cudnnTensorDescriptor_t x,
                                                     cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t conv,
                                                     cudnnTensorDescriptor_t y, int requested, int *returned,
                                                     cudnnConvolutionFwdAlgoPerf_t *perf) {
    if (!handle_ok(handle) || requested < 1 || !returned || !perf) return CUDNN_STATUS_BAD_PARAM;
    problem pr;
    const cudnnStatus_t st = make_problem(x, w, conv, y, &pr);
    if (st != CUDNN_STATUS_SUCCESS) return st;
    cudnnConvolutionFwdAlgo_t order[CUDNN_CONVOLUTION_FWD_ALGO_COUNT] = {
        CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
        CUDNN_CONVOLUTION_FWD_ALGO_GEMM,                  CUDNN_CONVOLUTION_FWD_ALGO_DIRECT,
        CUDNN_CONVOLUTION_FWD_ALGO_FFT,                   CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING,
        CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD,              CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED};
    if (pr.groups > 1) std::swap(order[0], order[1]);
    const int count = requested < CUDNN_CONVOLUTION_FWD_ALGO_COUNT ? requested : CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
    for (int i = 0; i < count; i++) {
        const bool ok = fwd_supported(order[i]);
        perf[i] = cudnnConvolutionFwdAlgoPerf_t{order[i], ok ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_NOT_SUPPORTED,
                                                ok ? 1.0f + i : -1.0f, ok ? fwd_workspace(pr, order[i]) : 0,
                                                CUDNN_DETERMINISTIC, conv->math, {0, 0, 0}};
    }
    *returned = count;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle, cudnnTensorDescriptor_t x,
                                                      cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t conv,
                                                      cudnnTensorDescriptor_t y, cudnnConvolutionFwdAlgo_t algo,
                                                      size_t *bytes) {
    if (!handle_ok(handle)) return CUDNN_STATUS_BAD_PARAM;
    problem pr;
    const cudnnStatus_t st = make_problem(x, w, conv, y, &pr);
    if (st != CUDNN_STATUS_SUCCESS) return st;
    if (!fwd_supported(algo)) return CUDNN_STATUS_NOT_SUPPORTED;
    *bytes = fwd_workspace(pr, algo);
    return CUDNN_STATUS_SUCCESS;
}

static cudnnStatus_t forward_common(cudnnHandle_t handle, const void *alpha, cudnnTensorDescriptor_t x_desc,
                                    const void *x, cudnnFilterDescriptor_t w_desc, const void *w,
                                    cudnnConvolutionDescriptor_t conv, cudnnConvolutionFwdAlgo_t algo, void *ws,
                                    size_t ws_bytes, cudnnTensorDescriptor_t y_desc, void *y, fwd_job *j,
                                    problem *pr) {
    if (!handle_ok(handle) || !alpha) return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t st = make_problem(x_desc, w_desc, conv, y_desc, pr);
    if (st != CUDNN_STATUS_SUCCESS) return st;
    if (!fwd_supported(algo)) return CUDNN_STATUS_NOT_SUPPORTED;
    st = workspace_ok(ws, ws_bytes, fwd_workspace(*pr, algo));
    if (st != CUDNN_STATUS_SUCCESS) return st;
    if (!dev(x, bytes4(pr->n, pr->c, pr->h, pr->w), "x") || !dev(w, bytes4(pr->k, pr->cg, pr->r, pr->s), "w") ||
        !dev(y, bytes4(pr->n, pr->k, pr->p, pr->q), "y"))
        return CUDNN_STATUS_EXECUTION_FAILED;
    j->pr = pr;
    j->x = static_cast<const float *>(x);
    j->y = static_cast<float *>(y);
    j->alpha = *static_cast<const float *>(alpha);
    return CUDNN_STATUS_SUCCESS;
}

// The whole convolution is computed before y is written, so an input may alias it (z = y).
static void run_forward(fwd_job &j, const float *w) {
    const problem &pr = *j.pr;
    j.wx = xcorr_weights(pr, w);
    j.out.assign((size_t)pr.n * pr.k * pr.p * pr.q, 0.0f);
    p3d_emu::parallel_for((uint64_t)pr.n * pr.groups * col_blocks(pr), fwd_task, &j);
    fwd_epilogue(j);
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void *alpha, cudnnTensorDescriptor_t x_desc,
                                      const void *x, cudnnFilterDescriptor_t w_desc, const void *w,
                                      cudnnConvolutionDescriptor_t conv, cudnnConvolutionFwdAlgo_t algo,
                                      void *workspace, size_t workspace_bytes, const void *beta,
                                      cudnnTensorDescriptor_t y_desc, void *y) {
    fwd_job j{};
    problem pr;
    if (!beta) return CUDNN_STATUS_BAD_PARAM;
    const cudnnStatus_t st =
        forward_common(handle, alpha, x_desc, x, w_desc, w, conv, algo, workspace, workspace_bytes, y_desc, y, &j, &pr);
    if (st != CUDNN_STATUS_SUCCESS) return st;
    j.beta = *static_cast<const float *>(beta);
    j.blend = j.beta != 0.0 ? j.y : nullptr; // beta = 0: y is not read (it may hold NaN)
    run_forward(j, static_cast<const float *>(w));
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnConvolutionBiasActivationForward(
    cudnnHandle_t handle, const void *alpha1, cudnnTensorDescriptor_t x_desc, const void *x,
    cudnnFilterDescriptor_t w_desc, const void *w, cudnnConvolutionDescriptor_t conv, cudnnConvolutionFwdAlgo_t algo,
    void *workspace, size_t workspace_bytes, const void *alpha2, cudnnTensorDescriptor_t z_desc, const void *z,
    cudnnTensorDescriptor_t bias_desc, const void *bias, cudnnActivationDescriptor_t act,
    cudnnTensorDescriptor_t y_desc, void *y) {
    if (!act || !act->set || !alpha2 || !z_desc || !bias_desc || !z_desc->set || !bias_desc->set)
        return CUDNN_STATUS_BAD_PARAM;
    // Documented: only ReLU and identity, and identity only with IMPLICIT_PRECOMP_GEMM.
    if (act->mode != CUDNN_ACTIVATION_RELU && act->mode != CUDNN_ACTIVATION_IDENTITY) return CUDNN_STATUS_NOT_SUPPORTED;
    if (act->mode == CUDNN_ACTIVATION_IDENTITY && algo != CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM)
        return CUDNN_STATUS_NOT_SUPPORTED;
    fwd_job j{};
    problem pr;
    const cudnnStatus_t st =
        forward_common(handle, alpha1, x_desc, x, w_desc, w, conv, algo, workspace, workspace_bytes, y_desc, y, &j, &pr);
    if (st != CUDNN_STATUS_SUCCESS) return st;
    if (z_desc->n != y_desc->n || z_desc->c != y_desc->c || z_desc->h != y_desc->h || z_desc->w != y_desc->w)
        return bad("z descriptor differs from y's");
    if (bias_desc->n != 1 || bias_desc->c != pr.k || bias_desc->h != 1 || bias_desc->w != 1)
        return bad("bias descriptor must be (1, K, 1, 1)");
    j.beta = *static_cast<const float *>(alpha2);
    if (!dev(bias, (size_t)pr.k * sizeof(float), "bias") ||
        (j.beta != 0.0 && !dev(z, bytes4(pr.n, pr.k, pr.p, pr.q), "z")))
        return CUDNN_STATUS_EXECUTION_FAILED;
    j.blend = j.beta != 0.0 ? static_cast<const float *>(z) : nullptr;
    j.bias = static_cast<const float *>(bias);
    j.act = act;
    run_forward(j, static_cast<const float *>(w));
    return CUDNN_STATUS_SUCCESS;
}

// Backward data: ALGO_0 (non-deterministic on a GPU: atomics) is listed first, then the
// deterministic ALGO_1, so a caller that wants determinism must look at the flag.
cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t handle, cudnnFilterDescriptor_t w,
                                                          cudnnTensorDescriptor_t dy,
                                                          cudnnConvolutionDescriptor_t conv,
                                                          cudnnTensorDescriptor_t dx, int requested, int *returned,
                                                          cudnnConvolutionBwdDataAlgoPerf_t *perf) {
    if (!handle_ok(handle) || requested < 1 || !returned || !perf) return CUDNN_STATUS_BAD_PARAM;
    problem pr;
    const cudnnStatus_t st = make_problem(dx, w, conv, dy, &pr);
    if (st != CUDNN_STATUS_SUCCESS) return st;
    const cudnnConvolutionBwdDataAlgo_t order[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT] = {
        CUDNN_CONVOLUTION_BWD_DATA_ALGO_0,        CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
        CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT,      CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING,
        CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD, CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED};
    const int count = requested < CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT ? requested : CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
    for (int i = 0; i < count; i++) {
        const bool ok = bwd_supported(order[i]);
        perf[i] = cudnnConvolutionBwdDataAlgoPerf_t{
            order[i], ok ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_NOT_SUPPORTED, ok ? 1.0f + i : -1.0f, 0,
            order[i] == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 ? CUDNN_NON_DETERMINISTIC : CUDNN_DETERMINISTIC, conv->math,
            {0, 0, 0}};
    }
    *returned = count;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t handle, cudnnFilterDescriptor_t w,
                                                           cudnnTensorDescriptor_t dy,
                                                           cudnnConvolutionDescriptor_t conv,
                                                           cudnnTensorDescriptor_t dx,
                                                           cudnnConvolutionBwdDataAlgo_t algo, size_t *bytes) {
    if (!handle_ok(handle)) return CUDNN_STATUS_BAD_PARAM;
    problem pr;
    const cudnnStatus_t st = make_problem(dx, w, conv, dy, &pr);
    if (st != CUDNN_STATUS_SUCCESS) return st;
    if (!bwd_supported(algo)) return CUDNN_STATUS_NOT_SUPPORTED;
    *bytes = 0;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void *alpha, cudnnFilterDescriptor_t w_desc,
                                           const void *w, cudnnTensorDescriptor_t dy_desc, const void *dy,
                                           cudnnConvolutionDescriptor_t conv, cudnnConvolutionBwdDataAlgo_t algo,
                                           void *workspace, size_t workspace_bytes, const void *beta,
                                           cudnnTensorDescriptor_t dx_desc, void *dx) {
    if (!handle_ok(handle) || !alpha || !beta) return CUDNN_STATUS_BAD_PARAM;
    problem pr;
    cudnnStatus_t st = make_problem(dx_desc, w_desc, conv, dy_desc, &pr);
    if (st != CUDNN_STATUS_SUCCESS) return st;
    if (!bwd_supported(algo)) return CUDNN_STATUS_NOT_SUPPORTED;
    st = workspace_ok(workspace, workspace_bytes, 0);
    if (st != CUDNN_STATUS_SUCCESS) return st;
    if (!dev(dy, bytes4(pr.n, pr.k, pr.p, pr.q), "dy") || !dev(w, bytes4(pr.k, pr.cg, pr.r, pr.s), "w") ||
        !dev(dx, bytes4(pr.n, pr.c, pr.h, pr.w), "dx"))
        return CUDNN_STATUS_EXECUTION_FAILED;
    bwd_job j{&pr, static_cast<const float *>(dy), xcorr_weights(pr, static_cast<const float *>(w)),
              std::vector<float>((size_t)pr.n * pr.c * pr.h * pr.w, 0.0f),
              std::vector<float>((size_t)pr.n * pr.groups * pr.cg * pr.r * pr.s * pr.p * pr.q)};
    p3d_emu::parallel_for((uint64_t)pr.n * pr.groups * col_blocks(pr), bwd_gemm_task, &j);
    p3d_emu::parallel_for((uint64_t)pr.n * pr.c, bwd_scatter_task, &j);
    const double a = *static_cast<const float *>(alpha), be = *static_cast<const float *>(beta);
    float *dxp = static_cast<float *>(dx);
    for (size_t e = 0; e < j.out.size(); e++) dxp[e] = (float)(a * j.out[e] + (be != 0.0 ? be * dxp[e] : 0.0));
    return CUDNN_STATUS_SUCCESS;
}

} // extern "C"
