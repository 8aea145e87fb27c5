// fill_classic.cu - CUDA twin of host/inpaint/fill_classic.c's step runner: one thread per element of a
// fill step (fill_classic_math.h). The host plans the levels, sends up the patch's labels and packed
// context (the device builds the rest: cuda/inpaint/fill_gather.cu) and queues the
// steps (pyramids, membrane Jacobi sweeps, nearest-neighbour field init / upsampling / propagation
// and search, votes) in order on the context's stream, so each step sees the previous one's output.
#include "inpaint/fill_classic.h"
#include "inpaint/fill_classic_math.h"
#include "p3d_cuda_check.h"

// Threads per block: a PatchMatch thread holds a few dozen registers, gathers its target window
// (p3d_fill_win, at most 1.4 KB, in local memory) and loops over candidate windows, so smaller
// blocks keep more of them resident while the stride of the elements stays coalesced.
#define P3D_FILL_THREADS 128

// The step travels by value as a kernel parameter (well under the 4 KB limit).
static __global__ void fill_step_kernel(const p3d_fill_step s) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= s.n) return;
    p3d_fill_step_px(&s, static_cast<int32_t>(i));
}

extern "C" p3d_status p3d_fill_classic_cuda(p3d_cuda_ctx *ctx, const p3d_fill_step *s) {
    if (s->n <= 0) return P3D_OK;
    P3D_LAUNCH(fill_step_kernel, p3d_cuda_blocks(s->n, P3D_FILL_THREADS), P3D_FILL_THREADS, 0, ctx->stream)(*s);
    P3D_CUDA_LAUNCH_CHECK(ctx, "fill_classic");
    return P3D_OK;
}
