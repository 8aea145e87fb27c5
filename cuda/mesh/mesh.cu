// mesh.cu - CUDA twin of p3d_mesh_from_ldi (host/mesh/mesh.c): one thread per LDI node counts its faces
// (mesh_math.h), CUB's exclusive prefix sum gives each node its first face, one thread per node then
// writes its position and faces there - the same faces in the same order as the CPU.
#include <cub/device/device_scan.cuh>

#include "mesh/mesh.h"
#include "mesh/mesh_math.h"
#include "p3d_cuda_check.h"

#define P3D_MESH_THREADS 256

// counts (n + 1): faces of node i; counts[n] = 0 so the exclusive sum's last entry is the total.
static __global__ void mesh_count_kernel(const int32_t *link, const float *depth, int32_t n, float threshold,
                                         int64_t *counts) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i > n) return;
    counts[i] = i < n ? p3d_mesh_node_faces(link, depth, static_cast<int32_t>(i), threshold, nullptr) : 0;
}

// xyz (n, 3), faces (total, 3) from offsets (n + 1).
static __global__ void mesh_fill_kernel(const int32_t *link, const float *depth, const int32_t *pix, int32_t n,
                                        int32_t ext_w, int32_t border, p3d_camera cam, float threshold,
                                        const int64_t *offsets, float *xyz, int32_t *faces) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n) return;
    p3d_mesh_vertex(&cam, ext_w, border, pix[i], depth[i], xyz + 3 * i);
    p3d_mesh_node_faces(link, depth, static_cast<int32_t>(i), threshold, faces + 3 * offsets[i]);
}

extern "C" size_t p3d_mesh_cuda_scan_bytes(int32_t n_nodes) {
    size_t bytes = 0;
    if (cub::DeviceScan::ExclusiveSum(nullptr, bytes, static_cast<const int64_t *>(nullptr),
                                      static_cast<int64_t *>(nullptr), static_cast<int64_t>(n_nodes) + 1) != cudaSuccess)
        return 0;
    return bytes;
}

extern "C" p3d_status p3d_mesh_from_ldi_cuda(p3d_cuda_ctx *ctx, const p3d_mesh_dev *d, int64_t *n_faces) {
    const int64_t n = d->n_nodes;
    P3D_LAUNCH(mesh_count_kernel, p3d_cuda_blocks(n + 1, P3D_MESH_THREADS), P3D_MESH_THREADS, 0, ctx->stream)(
        d->link, d->depth, d->n_nodes, d->threshold, d->counts);
    P3D_CUDA_LAUNCH_CHECK(ctx, "mesh count");
    size_t bytes = p3d_mesh_cuda_scan_bytes(d->n_nodes);
    P3D_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(d->scan_tmp, bytes, static_cast<const int64_t *>(d->counts), d->offsets,
                                                 n + 1, ctx->stream));
    if (n > 0) {
        P3D_LAUNCH(mesh_fill_kernel, p3d_cuda_blocks(n, P3D_MESH_THREADS), P3D_MESH_THREADS, 0, ctx->stream)(
            d->link, d->depth, d->pix, d->n_nodes, d->ext_w, d->border, d->cam, d->threshold, d->offsets, d->xyz,
            d->faces);
        P3D_CUDA_LAUNCH_CHECK(ctx, "mesh fill");
    }
    return p3d_cuda_memcpy_d2h(ctx, n_faces, d->offsets + n, sizeof *n_faces);
}
