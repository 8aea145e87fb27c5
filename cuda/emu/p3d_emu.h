// p3d_emu.h - internal to cuda/emu/: what the emulated libraries (cuDNN, cuBLAS, CUB) share with the
// emulated runtime.
#ifndef P3D_EMU_H
#define P3D_EMU_H

#include <cstddef>
#include <cstdint>

#include "cuda_runtime.h"

namespace p3d_emu {

// Runs fn(ctx, i) for i in [0, count) on the emulator's OS threads (the caller included).
void parallel_for(uint64_t count, void (*fn)(void *, uint64_t), void *ctx);

// The seed of the fiber and block order (P3D_EMU_SEED, default 1; 0 = natural order).
uint64_t seed();

// Bytes of live device allocations.
size_t bytes_in_use();

// Whether [p, p + bytes) lies inside one live device allocation.
bool device_range(const void *p, size_t bytes);

// A fault on the device (an access outside device memory): reported, and sticky like a real one.
cudaError_t device_fault(const char *what);

} // namespace p3d_emu

#endif
