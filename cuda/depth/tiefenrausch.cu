// tiefenrausch.cu - CUDA twin of the Tiefenrausch INT8 operators (host/depth/tiefenrausch.c).
//
// Activations are NHWC uint8 (quint8, one scale / zero point per tensor). Every kernel accumulates
// exact int32 sums and requantizes with the shared P3D_HD functions of host/depth/qnn_math.h, so the
// device output is bit-identical to the CPU reference. The float steps (Int8Quantize of the input
// and the dequantize + exp of the output) use IEEE operations on the device (no fast-math) or
// 256-entry tables computed on the host.
#include "depth/qnn_math.h"
#include "depth/tiefenrausch.h"
#include "p3d_cuda_check.h"

namespace {

constexpr int kThreads = 256;

// ---- input / output -------------------------------------------------------------------------------
// x (1, C, H, W) f32 -> y (H, W, C) u8; one thread per pixel.
__global__ void quantize_nchw_kernel(const float *__restrict__ x, uint8_t *__restrict__ y, int32_t c, int64_t px,
                                     float scale, int32_t zero_point) {
    const int64_t p = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= px) return;
    for (int32_t k = 0; k < c; k++) y[p * c + k] = p3d_qnn_quantize(x[(int64_t)k * px + p], scale, zero_point);
}

__global__ void lut_u8_kernel(const uint8_t *__restrict__ x, uint8_t *__restrict__ y, int64_t n,
                              const uint8_t *__restrict__ lut) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = lut[x[i]];
}

__global__ void output_kernel(const uint8_t *__restrict__ x, float *__restrict__ y, int64_t n,
                              const float *__restrict__ lut) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = lut[x[i]];
}

// ---- 1x1 convolution: dp4a GEMM --------------------------------------------------------------------
// y(P, M) = requant(sum_c x[p][c] * w[m][c] - w_zp * sum_c x[p][c] + cst[m]), which equals
// bias + sum (x - x_zp)(w - w_zp) with cst[m] = bias[m] - x_zp * sum_c w[m][c] + C * x_zp * w_zp.
// The raw uint8 products are summed with unsigned dp4a (at most C * 255^2 < 2^31 for C <= 33025).
// Tile: 64 pixels x 64 channels x 32 input channels per step; 256 threads, each 4 pixels x 4
// adjacent channels (so a thread stores one 32-bit word per pixel when M % 4 == 0).
constexpr int kTileP = 64, kTileM = 64, kTileKW = 8; // kTileKW 32-bit words = 32 channels

__global__ void __launch_bounds__(kThreads)
conv_pw_kernel(const uint8_t *__restrict__ x, const uint8_t *__restrict__ w, const int32_t *__restrict__ cst,
               uint8_t *__restrict__ y, int64_t pixels, int32_t c, int32_t m, int32_t w_zp, p3d_qnn_conv_rq rq) {
    P3D_SHARED(uint32_t, xs, [kTileKW][kTileP + 1]);
    P3D_SHARED(uint32_t, ws, [kTileKW][kTileM + 4]);
    const int tid = threadIdx.x;
    const int tp = tid % 16, tm = tid / 16;
    const int64_t p0 = (int64_t)blockIdx.x * kTileP;
    const int32_t m0 = blockIdx.y * kTileM;
    const int32_t cw = c / 4; // words per row
    const uint32_t *xw = reinterpret_cast<const uint32_t *>(x);
    const uint32_t *ww = reinterpret_cast<const uint32_t *>(w);
    uint32_t acc[4][4] = {};
    uint32_t rowsum[4] = {};
    for (int32_t k0 = 0; k0 < cw; k0 += kTileKW) {
        // 512 words of x and 512 of w per step, two of each per thread
        for (int r = 0; r < 2; r++) {
            const int e = tid + r * kThreads;
            const int row = e / kTileKW, kk = e % kTileKW;
            const int32_t k = k0 + kk;
            const int64_t p = p0 + row;
            xs[kk][row] = (p < pixels && k < cw) ? xw[p * cw + k] : 0u;
            const int32_t mm = m0 + row;
            ws[kk][row] = (mm < m && k < cw) ? ww[(int64_t)mm * cw + k] : 0u;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kTileKW; kk++) {
            uint32_t a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) a[i] = xs[kk][tp + 16 * i];
#pragma unroll
            for (int j = 0; j < 4; j++) b[j] = ws[kk][tm * 4 + j];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                rowsum[i] = __dp4a(a[i], 0x01010101u, rowsum[i]);
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] = __dp4a(a[i], b[j], acc[i][j]);
            }
        }
        __syncthreads();
    }
    const int32_t mb = m0 + tm * 4;
    int32_t cj[4];
#pragma unroll
    for (int j = 0; j < 4; j++) cj[j] = mb + j < m ? cst[mb + j] : 0;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const int64_t p = p0 + tp + 16 * i;
        if (p >= pixels) continue;
        uint8_t out[4];
#pragma unroll
        for (int j = 0; j < 4; j++)
            out[j] = p3d_qnn_requantize((int32_t)acc[i][j] - w_zp * (int32_t)rowsum[i] + cj[j], &rq);
        uint8_t *dst = y + p * m + mb;
        if ((m & 3) == 0 && mb + 3 < m) {
            *reinterpret_cast<uint32_t *>(dst) =
                (uint32_t)out[0] | ((uint32_t)out[1] << 8) | ((uint32_t)out[2] << 16) | ((uint32_t)out[3] << 24);
        } else {
            for (int j = 0; j < 4; j++)
                if (mb + j < m) dst[j] = out[j];
        }
    }
}

// ---- any KH x KW convolution (depthwise, grouped, dense) -------------------------------------------------
// One thread per output element, channel fastest (consecutive threads read consecutive channels of
// a depthwise input). Padding contributes zero, as QNNPACK's input-zero-point padding does.
__global__ void conv_kernel(const uint8_t *__restrict__ x, const uint8_t *__restrict__ w,
                            const int32_t *__restrict__ bias, uint8_t *__restrict__ y, int32_t h, int32_t wd,
                            int32_t c, int32_t oh, int32_t ow, int32_t m, int32_t kh, int32_t kw, int32_t sh,
                            int32_t sw, int32_t pt, int32_t pl, int32_t groups, int32_t x_zp, int32_t w_zp,
                            p3d_qnn_conv_rq rq) {
    const int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    const int64_t total = (int64_t)oh * ow * m;
    if (idx >= total) return;
    const int32_t mm = (int32_t)(idx % m);
    const int64_t pix = idx / m;
    const int32_t ox = (int32_t)(pix % ow), oy = (int32_t)(pix / ow);
    const int32_t cg = c / groups, g = mm / (m / groups);
    const uint8_t *wr = w + (int64_t)mm * kh * kw * cg;
    int32_t acc = bias[mm];
    for (int32_t ky = 0; ky < kh; ky++) {
        const int32_t iy = oy * sh - pt + ky;
        if (iy < 0 || iy >= h) continue;
        for (int32_t kx = 0; kx < kw; kx++) {
            const int32_t ix = ox * sw - pl + kx;
            if (ix < 0 || ix >= wd) continue;
            const uint8_t *src = x + ((int64_t)iy * wd + ix) * c + (int64_t)g * cg;
            const uint8_t *wt = wr + (ky * kw + kx) * cg;
            for (int32_t k = 0; k < cg; k++) acc += ((int32_t)src[k] - x_zp) * ((int32_t)wt[k] - w_zp);
        }
    }
    y[idx] = p3d_qnn_requantize(acc, &rq);
}

// ---- elementwise --------------------------------------------------------------------------------------
__global__ void add_kernel(const uint8_t *__restrict__ a, const uint8_t *__restrict__ b, uint8_t *__restrict__ y,
                           int64_t n, p3d_qnn_add_rq rq) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = p3d_qnn_add(a[i], b[i], &rq);
}

// Caffe2 Int8ResizeNearest x2 (in_y = y / 2, in_x = x / 2); one thread per output byte.
__global__ void resize2x_kernel(const uint8_t *__restrict__ x, uint8_t *__restrict__ y, int32_t h, int32_t w,
                                int32_t c) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    const int64_t total = (int64_t)4 * h * w * c;
    if (i >= total) return;
    const int32_t k = (int32_t)(i % c);
    const int64_t pix = i / c;
    const int32_t ox = (int32_t)(pix % (2 * w)), oy = (int32_t)(pix / (2 * w));
    y[i] = x[((int64_t)(oy / 2) * w + ox / 2) * c + k];
}

} // namespace

extern "C" {

p3d_status p3d_tief_quantize_cuda(p3d_cuda_ctx *cu, const float *x, uint8_t *y, int32_t c, int32_t h, int32_t w,
                                  float scale, int32_t zero_point) {
    const int64_t px = (int64_t)h * w;
    if (px <= 0) return P3D_OK;
    P3D_LAUNCH(quantize_nchw_kernel, p3d_cuda_blocks(px, kThreads), kThreads, 0, cu->stream)(
        x, y, c, px, scale, zero_point);
    P3D_CUDA_LAUNCH_CHECK(cu, "tiefenrausch quantize");
    return P3D_OK;
}

p3d_status p3d_tief_lut_u8_cuda(p3d_cuda_ctx *cu, const uint8_t *x, uint8_t *y, int64_t n, const uint8_t *lut) {
    if (n <= 0) return P3D_OK;
    P3D_LAUNCH(lut_u8_kernel, p3d_cuda_blocks(n, kThreads), kThreads, 0, cu->stream)(x, y, n, lut);
    P3D_CUDA_LAUNCH_CHECK(cu, "tiefenrausch input table");
    return P3D_OK;
}

p3d_status p3d_tief_conv_pw_cuda(p3d_cuda_ctx *cu, const uint8_t *x, const uint8_t *w, const int32_t *cst,
                                 uint8_t *y, int64_t pixels, int32_t c, int32_t m, int32_t w_zp, p3d_qnn_conv_rq rq) {
    if (c % 4 || c > 33024)
        return p3d_fail(P3D_ERR_INVALID_ARG, "tiefenrausch pointwise conv: %d input channels (needs a multiple of 4, "
                        "at most 33024)", (int)c);
    if (pixels <= 0 || m <= 0) return P3D_OK;
    const dim3 grid((unsigned)((pixels + kTileP - 1) / kTileP), (unsigned)((m + kTileM - 1) / kTileM));
    P3D_LAUNCH(conv_pw_kernel, grid, kThreads, 0, cu->stream)(x, w, cst, y, pixels, c, m, w_zp, rq);
    P3D_CUDA_LAUNCH_CHECK(cu, "tiefenrausch pointwise conv");
    return P3D_OK;
}

p3d_status p3d_tief_conv_cuda(p3d_cuda_ctx *cu, const uint8_t *x, const uint8_t *w, const int32_t *bias, uint8_t *y,
                              int32_t h, int32_t wd, int32_t c, int32_t oh, int32_t ow, int32_t m, int32_t kh,
                              int32_t kw, int32_t sh, int32_t sw, int32_t pt, int32_t pl, int32_t groups,
                              int32_t x_zp, int32_t w_zp, p3d_qnn_conv_rq rq) {
    const int64_t total = (int64_t)oh * ow * m;
    if (total <= 0) return P3D_OK;
    P3D_LAUNCH(conv_kernel, p3d_cuda_blocks(total, kThreads), kThreads, 0, cu->stream)(
        x, w, bias, y, h, wd, c, oh, ow, m, kh, kw, sh, sw, pt, pl, groups, x_zp, w_zp, rq);
    P3D_CUDA_LAUNCH_CHECK(cu, "tiefenrausch conv");
    return P3D_OK;
}

p3d_status p3d_tief_add_cuda(p3d_cuda_ctx *cu, const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n,
                             p3d_qnn_add_rq rq) {
    if (n <= 0) return P3D_OK;
    P3D_LAUNCH(add_kernel, p3d_cuda_blocks(n, kThreads), kThreads, 0, cu->stream)(a, b, y, n, rq);
    P3D_CUDA_LAUNCH_CHECK(cu, "tiefenrausch add");
    return P3D_OK;
}

p3d_status p3d_tief_resize2x_cuda(p3d_cuda_ctx *cu, const uint8_t *x, uint8_t *y, int32_t h, int32_t w, int32_t c) {
    const int64_t total = (int64_t)4 * h * w * c;
    if (total <= 0) return P3D_OK;
    P3D_LAUNCH(resize2x_kernel, p3d_cuda_blocks(total, kThreads), kThreads, 0, cu->stream)(x, y, h, w, c);
    P3D_CUDA_LAUNCH_CHECK(cu, "tiefenrausch resize");
    return P3D_OK;
}

p3d_status p3d_tief_output_cuda(p3d_cuda_ctx *cu, const uint8_t *x, float *y, int64_t n, const float *lut) {
    if (n <= 0) return P3D_OK;
    P3D_LAUNCH(output_kernel, p3d_cuda_blocks(n, kThreads), kThreads, 0, cu->stream)(x, y, n, lut);
    P3D_CUDA_LAUNCH_CHECK(cu, "tiefenrausch output");
    return P3D_OK;
}

} // extern "C"
