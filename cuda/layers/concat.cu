// concat.cu - CUDA twin of host/layers/concat.c: one strided 2-D copy per input (rows = samples), queued on
// the context's stream.
#include "layers/concat.h"
#include "nn/p3d_cuda_nn.h"

extern "C" p3d_status p3d_concat_cuda(p3d_cuda_ctx *ctx, const p3d_tensor *const *xs, int32_t count, p3d_tensor *y) {
    const size_t plane_bytes = (size_t)(y->shape[2] * y->shape[3]) * sizeof(float);
    const size_t y_pitch = (size_t)y->shape[1] * plane_bytes;
    size_t offset = 0;
    for (int32_t i = 0; i < count; i++) {
        const size_t block = (size_t)xs[i]->shape[1] * plane_bytes;
        P3D_CUDA_CHECK(cudaMemcpy2DAsync((char *)y->data + offset, y_pitch, xs[i]->data, block, block,
                                         (size_t)y->shape[0], cudaMemcpyDeviceToDevice, ctx->stream));
        offset += block;
    }
    P3D_CUDA_LAUNCH_CHECK(ctx, "concat");
    return P3D_OK;
}
