// ldi_refill.h - internal to cuda/ldi/: the LDI build's island refill on the device (ldi_refill.cu),
// called by the CUDA build (ldi.cu's build_run, whose launcher p3d_ldi_build_links_cuda is the exported
// entry) between the keep flags and the input layer it writes into the device LDI. The
// rules are the CPU refill's (host/ldi/ldi_build.c refill, host/ldi/ldi_build_math.h), so the refilled
// depths and links equal the CPU's bit for bit.
#ifndef P3D_LDI_REFILL_CUDA_H
#define P3D_LDI_REFILL_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "core/p3d_common.h"
#include "p3d_cuda.h"

// Rings per round (p3d_ldi_refill_cuda_rings): a round launches this many ring kernels, each of which
// exits at once when the ring before it filled nothing, so the frontier size never comes back to the
// host. At 960 px the fixtures need at most 7 rings (cones: 55 islands, 726 pixels; moon 3 rings, 27
// islands, 425 pixels; columns 2; the sample has no island); an image whose islands need more gets
// another round (the build reads the last ring's count with its results: one more blocking copy).
#define P3D_LDI_REFILL_RINGS 16

// One build's refill. Set by the caller (device arrays, (h, w) each unless said): the grid and its
// link threshold; keep flags; component labels (read at kept pixels); island names (union-find roots
// over the 4-links between dropped pixels: each island's smallest pixel, read at dropped pixels); the
// dropped pixels in raster order (list, *n_list = m of them, counted on the device, with room for m
// more entries after them); depth (read and refilled), right / down link flags (re-decided at island
// pixels). Written: the list's refilled depths after it (list + m, as float) and counts[0] refilled pixels, [1] unreachable pixels (both as the CPU
// counts them), [2] pixels the round's last ring filled (0: the refill is complete).
typedef struct p3d_ldi_refill_dev {
    int32_t w, h;
    float thr;
    const uint8_t *keep;
    const int32_t *label, *island, *n_list;
    int32_t *list;
    float *depth;
    uint8_t *right, *down;
    int32_t *counts;
    // scratch (p3d_ldi_refill_cuda_open): ring (h, w) per island pixel; best (h, w) vote key per
    // island name; the vote table (cap slots of key and count); rings (P3D_LDI_REFILL_RINGS + 1) fill
    // counts; the next ring's number
    int32_t *ring;
    unsigned long long *best, *keys;
    int32_t *votes, *rings;
    size_t cap;
    int32_t next_ring;
} p3d_ldi_refill_dev;

// Carves r's scratch from the context's arena (the caller's mark releases it) and queues the vote: each
// island's winning component. Nothing is read back.
p3d_status p3d_ldi_refill_cuda_open(p3d_cuda_ctx *ctx, p3d_ldi_refill_dev *r);
// Queues one round: P3D_LDI_REFILL_RINGS rings, then the links at island pixels, the list's depths and
// counts. Another call after a round whose counts[2] is not 0 goes on from the next ring.
p3d_status p3d_ldi_refill_cuda_rings(p3d_cuda_ctx *ctx, p3d_ldi_refill_dev *r);

#endif
