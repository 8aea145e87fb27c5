// cub/device/device_scan.cuh (emulated) - cub::DeviceScan::ExclusiveSum for the P3D_CUDA_EMU build:
// the same two-call protocol (size query with a null temporary, then the scan), computed on the host
// over device memory, with the temporary storage and the input / output ranges checked against the
// device allocations.
#ifndef P3D_EMU_CUB_DEVICE_SCAN_CUH
#define P3D_EMU_CUB_DEVICE_SCAN_CUH

#include <cstddef>

#include "cuda_runtime.h"
#include "p3d_emu.h"

namespace cub {

struct DeviceScan {
    // The temporary storage the emulated scan asks for (the real one asks for a size that depends on
    // the input; any caller that honours the query works with both).
    static constexpr size_t kTempBytes = 256;

    template <class InputIt, class OutputIt, class NumItemsT>
    static cudaError_t ExclusiveSum(void *d_temp_storage, size_t &temp_storage_bytes, InputIt d_in, OutputIt d_out,
                                    NumItemsT num_items, cudaStream_t stream = 0) {
        (void)stream;
        if (!d_temp_storage) {
            temp_storage_bytes = kTempBytes;
            return cudaSuccess;
        }
        const size_t n = static_cast<size_t>(num_items);
        if (temp_storage_bytes < kTempBytes || !p3d_emu::device_range(d_temp_storage, kTempBytes))
            return p3d_emu::device_fault("cub::DeviceScan::ExclusiveSum: temporary storage too small or not device memory");
        if (n == 0) return cudaSuccess;
        if (!p3d_emu::device_range(&d_in[0], n * sizeof(d_in[0])) || !p3d_emu::device_range(&d_out[0], n * sizeof(d_out[0])))
            return p3d_emu::device_fault("cub::DeviceScan::ExclusiveSum: input or output range outside device memory");
        auto run = d_in[0];
        run = 0;
        for (size_t i = 0; i < n; i++) {
            const auto v = d_in[i]; // read before the write: the scan may run in place
            d_out[i] = run;
            run = run + v;
        }
        return cudaSuccess;
    }
};

} // namespace cub

#endif
