// resize_area.cu - the CUDA twin of host/io/resize_area.c: one thread per destination element, each
// running the shared P3D_HD math of resize_area_math.h (so results equal the CPU's bit for bit).
#include "core/backend.h"
#include "io/resize_area.h"
#include "p3d_cuda_check.h"

// Destination elements (planes, dh, dw, cn) in a grid-stride loop; g is passed by value.
static __global__ void resize_area_kernel(p3d_ra_geom g, const void *src, void *dst, int64_t n) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int32_t c = (int32_t)(i % g.cn);
        int64_t pix = i / g.cn;
        int32_t x = (int32_t)(pix % g.dw);
        int64_t row = pix / g.dw;
        p3d_ra_element(&g, src, dst, row / g.dh, (int32_t)(row % g.dh), x, c);
    }
}

extern "C" p3d_status p3d_resize_area_cuda(p3d_ctx *ctx, const p3d_ra_geom *g, const void *src, void *dst) {
    p3d_cuda_ctx *cu = p3d_ctx_cuda(ctx);
    if (!cu) return p3d_fail(P3D_ERR_INVALID_ARG, "resize_area: the context has no CUDA device");
    int64_t n = (int64_t)g->planes * g->dh * g->dw * g->cn;
    if (n == 0) return P3D_OK;
    const int threads = 256;
    int64_t blocks = (n + threads - 1) / threads;
    if (blocks > 65535 * 16) blocks = 65535 * 16; // the grid-stride loop covers the rest
    P3D_LAUNCH(resize_area_kernel, (unsigned)blocks, threads, 0, cu->stream)(*g, src, dst, n);
    P3D_CUDA_LAUNCH_CHECK(cu, "resize_area");
    return P3D_OK;
}
