// cuda_runtime.h (emulated) - the subset of the CUDA runtime and of the CUDA C++ device language that
// cuda/ uses, for the P3D_CUDA_EMU build: the .cu sources are compiled as C++17 by the host compiler
// and their kernels run on the CPU (cuda/emu/emu_runtime.cpp). See cuda/emu/README.md for what is
// emulated and what is not. Never included by the nvcc build (the include path points here only with
// P3D_CUDA_EMU=ON).
#ifndef P3D_EMU_CUDA_RUNTIME_H
#define P3D_EMU_CUDA_RUNTIME_H

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <typeinfo>
#include <type_traits>
#include <utility>

#define CUDART_VERSION 12040

// ---- qualifiers: every function is a host function here -----------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// Shared memory is per block: the threads of a block are fibers of one OS thread, and an OS thread
// runs one block at a time, so a thread-local variable (static at block scope) is exactly one block's
// copy. Kernels declare it with P3D_SHARED(type, name, dims) and P3D_DYNAMIC_SHARED(type, name)
// (p3d_cuda_check.h): P3D_SHARED tells the runtime the array's size, which the launch check adds to
// the dynamic part. A bare __shared__ would escape that check, so it does not compile here.
#define __shared__ static_assert(false, "declare shared memory with P3D_SHARED(type, name, dims)");

// ---- vector types ------------------------------------------------------------------------------
struct uint3 {
    unsigned int x, y, z;
};
struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
    constexpr operator uint3() const { return uint3{x, y, z}; }
};
struct uchar3 {
    unsigned char x, y, z;
};
static inline uchar3 make_uchar3(unsigned char x, unsigned char y, unsigned char z) { return uchar3{x, y, z}; }

// ---- errors -------------------------------------------------------------------------------------
// The codes keep the real runtime's numeric values.
enum cudaError_t {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInitializationError = 3,
    cudaErrorLaunchFailure = 4,
    cudaErrorLaunchTimeout = 6,
    cudaErrorLaunchOutOfResources = 7,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidPitchValue = 12,
    cudaErrorInsufficientDriver = 35,
    cudaErrorInvalidDevice = 101,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorNotReady = 600,
    cudaErrorIllegalAddress = 700,
    cudaErrorIllegalInstruction = 715,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDeviceFunction = 98,
};
typedef cudaError_t cudaError;

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};

enum cudaFuncAttribute {
    cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
};

#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01
#define cudaEventDefault 0x00

typedef struct p3d_emu_stream *cudaStream_t;
typedef struct p3d_emu_event *cudaEvent_t;

// The fields of the real cudaDeviceProp that the emulator fills (an H100 SXM's figures).
struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem;
    size_t sharedMemPerBlock;
    int regsPerBlock;
    int warpSize;
    int maxThreadsPerBlock;
    int maxThreadsDim[3];
    int maxGridSize[3];
    size_t totalConstMem;
    int major;
    int minor;
    int multiProcessorCount;
    int l2CacheSize;
    int maxThreadsPerMultiProcessor;
    size_t sharedMemPerMultiprocessor;
    size_t sharedMemPerBlockOptin;
    int memoryBusWidth;
};

extern "C" {
const char *cudaGetErrorString(cudaError_t err);
const char *cudaGetErrorName(cudaError_t err);
cudaError_t cudaGetLastError(void);
cudaError_t cudaPeekAtLastError(void);
cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device);
cudaError_t cudaGetDevice(int *device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes);
cudaError_t cudaRuntimeGetVersion(int *version);
cudaError_t cudaDriverGetVersion(int *version);
cudaError_t cudaDeviceSynchronize(void);
// Clears a sticky device error (as destroying the context does); live allocations stay.
cudaError_t cudaDeviceReset(void);
cudaError_t cudaMalloc(void **ptr, size_t bytes);
cudaError_t cudaFree(void *ptr);
// Page-locked host memory: a copy whose host side lies in it runs asynchronously on its stream.
cudaError_t cudaMallocHost(void **ptr, size_t bytes);
cudaError_t cudaFreeHost(void *ptr);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream);
cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind kind, cudaStream_t stream);
cudaError_t cudaMemset(void *ptr, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void *ptr, int value, size_t bytes, cudaStream_t stream);
cudaError_t cudaStreamCreate(cudaStream_t *stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned int flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaEventCreate(cudaEvent_t *event);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
// cudaSuccess once the event's last record has completed, else cudaErrorNotReady (not a sticky error).
cudaError_t cudaEventQuery(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags);
}

// Raises (or lowers) a kernel's dynamic shared memory limit, as the real attribute does (at most the
// device's opt-in maximum).
cudaError_t p3d_emu_func_set_attribute(const void *fn, cudaFuncAttribute attr, int value);
template <class F>
static inline cudaError_t cudaFuncSetAttribute(F *fn, cudaFuncAttribute attr, int value) {
    return p3d_emu_func_set_attribute(reinterpret_cast<const void *>(fn), attr, value);
}

// Emulator only (tests): the fiber / block order seed from now on (P3D_EMU_SEED at start-up).
void p3d_emu_set_seed(uint64_t seed);

// ---- the emulated device side -------------------------------------------------------------------
namespace p3d_emu {

// The current CUDA thread's indices: the block's are per OS thread, the thread's per fiber.
struct thread_ids {
    uint3 thread_idx;
};
// (Inline variables with constant initialisation: no TLS wrapper call, which GCC's -fsanitize=null
// instrumentation of extern thread_local variables mistakes for a null address.)
inline thread_local const thread_ids *cur_ids = nullptr;
inline thread_local uint3 cur_block_idx = {0, 0, 0}, cur_block_dim = {0, 0, 0}, cur_grid_dim = {0, 0, 0};

// Dynamic shared memory of the running block (extern __shared__ arrays).
inline thread_local unsigned char *cur_dyn_shared = nullptr;

// A static shared array (P3D_SHARED) of the running block, reached by one of its threads: the first
// thread of the block to reach it fills it with the "undefined" pattern, and its bytes count towards
// the block's shared memory (a launch over the limit fails, as the real launch would; the kernel's
// static size is remembered so that later launches are refused before they run).
void note_static_shared(void *addr, size_t bytes);

void syncthreads();

enum warp_op { WARP_SHFL_IDX, WARP_SHFL_UP, WARP_SHFL_DOWN, WARP_SHFL_XOR, WARP_BALLOT, WARP_ANY, WARP_ALL,
               WARP_SYNC };
// Executes one warp collective in lockstep with the lanes named by mask; returns this lane's result.
uint64_t warp_collective(warp_op op, unsigned mask, uint64_t value, int arg, int width);

template <class T>
static inline uint64_t to_bits(T v) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "warp shuffle of a type over 8 bytes");
    uint64_t b = 0;
    std::memcpy(&b, &v, sizeof v);
    return b;
}
template <class T>
static inline T from_bits(uint64_t b) {
    T v;
    std::memcpy(&v, &b, sizeof v);
    return v;
}

} // namespace p3d_emu

#define threadIdx (p3d_emu::cur_ids->thread_idx)
#define blockIdx (p3d_emu::cur_block_idx)
#define blockDim (p3d_emu::cur_block_dim)
#define gridDim (p3d_emu::cur_grid_dim)
static constexpr int warpSize = 32;

static inline void __syncthreads() { p3d_emu::syncthreads(); }
static inline void __syncwarp(unsigned mask = 0xffffffffu) {
    (void)p3d_emu::warp_collective(p3d_emu::WARP_SYNC, mask, 0, 0, 32);
}
template <class T>
static inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    return p3d_emu::from_bits<T>(p3d_emu::warp_collective(p3d_emu::WARP_SHFL_IDX, mask, p3d_emu::to_bits(v), src, width));
}
template <class T>
static inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    return p3d_emu::from_bits<T>(
        p3d_emu::warp_collective(p3d_emu::WARP_SHFL_UP, mask, p3d_emu::to_bits(v), (int)delta, width));
}
template <class T>
static inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    return p3d_emu::from_bits<T>(
        p3d_emu::warp_collective(p3d_emu::WARP_SHFL_DOWN, mask, p3d_emu::to_bits(v), (int)delta, width));
}
template <class T>
static inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    return p3d_emu::from_bits<T>(
        p3d_emu::warp_collective(p3d_emu::WARP_SHFL_XOR, mask, p3d_emu::to_bits(v), lane_mask, width));
}
static inline unsigned __ballot_sync(unsigned mask, int pred) {
    return (unsigned)p3d_emu::warp_collective(p3d_emu::WARP_BALLOT, mask, pred != 0, 0, 32);
}
static inline int __any_sync(unsigned mask, int pred) {
    return (int)p3d_emu::warp_collective(p3d_emu::WARP_ANY, mask, pred != 0, 0, 32);
}
static inline int __all_sync(unsigned mask, int pred) {
    return (int)p3d_emu::warp_collective(p3d_emu::WARP_ALL, mask, pred != 0, 0, 32);
}

// ---- atomics: real atomics (blocks run on several OS threads), relaxed like the device's -------
template <class T>
static inline T atomicAdd(T *p, T v) {
    static_assert(std::is_integral<T>::value, "atomicAdd: integer types only in this emulation");
    return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
static inline float atomicAdd(float *p, float v) {
    float old, sum;
    __atomic_load(p, &old, __ATOMIC_RELAXED);
    do {
        sum = old + v;
    } while (!__atomic_compare_exchange(p, &old, &sum, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return old;
}
template <class T>
static inline T atomicSub(T *p, T v) {
    return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED);
}
template <class T>
static inline T atomicExch(T *p, T v) {
    return __atomic_exchange_n(p, v, __ATOMIC_RELAXED);
}
template <class T>
static inline T atomicCAS(T *p, T expected, T desired) {
    __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    return expected; // the old value either way
}
template <class T>
static inline T atomicMin(T *p, T v) {
    T old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (v < old && !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    return old;
}
template <class T>
static inline T atomicMax(T *p, T v) {
    T old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (v > old && !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    return old;
}
template <class T>
static inline T atomicAnd(T *p, T v) {
    return __atomic_fetch_and(p, v, __ATOMIC_RELAXED);
}
template <class T>
static inline T atomicOr(T *p, T v) {
    return __atomic_fetch_or(p, v, __ATOMIC_RELAXED);
}

// ---- arithmetic intrinsics: one IEEE rounding each (the build uses -ffp-contract=off) ----------
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dsub_rn(double a, double b) { return a - b; }
static inline int __popc(unsigned v) { return __builtin_popcount(v); }
static inline int __popcll(unsigned long long v) { return __builtin_popcountll(v); }
static inline int __ffs(int v) { return __builtin_ffs(v); }
static inline int __clz(int v) { return v ? __builtin_clz((unsigned)v) : 32; }
// Four byte products summed into c (unsigned and signed forms).
static inline unsigned __dp4a(unsigned a, unsigned b, unsigned c) {
    for (int i = 0; i < 4; i++) c += ((a >> (8 * i)) & 0xffu) * ((b >> (8 * i)) & 0xffu);
    return c;
}
static inline int __dp4a(int a, int b, int c) {
    for (int i = 0; i < 4; i++)
        c += (int)(int8_t)(uint8_t)((unsigned)a >> (8 * i)) * (int)(int8_t)(uint8_t)((unsigned)b >> (8 * i));
    return c;
}
using std::rintf;

// ---- launches -------------------------------------------------------------------------------------
namespace p3d_emu {

struct launch_config {
    const char *name;
    const void *fn;
    dim3 grid, block;
    size_t dyn_shared;
    cudaStream_t stream;
    const char *signature; // typeid name of the kernel's pointer type (P3D_EMU_TRACE)
};

// Checks the configuration as the device would (the error becomes cudaGetLastError's) and runs the
// grid: body(ctx) executes one CUDA thread, with threadIdx/blockIdx set.
void run_grid(const launch_config &cfg, void (*body)(const void *), const void *ctx);

template <class... P>
struct launcher {
    launch_config cfg;
    void (*fn)(P...);
    // The arguments convert to the kernel's parameter types and are copied once, as into the real
    // parameter space; every thread receives its own copies of them.
    void operator()(P... args) const {
        struct frame {
            void (*fn)(P...);
            std::tuple<std::decay_t<P>...> args;
        };
        const frame f{fn, std::tuple<std::decay_t<P>...>(args...)};
        run_grid(
            cfg, [](const void *c) {
                const frame *fr = static_cast<const frame *>(c);
                std::apply(fr->fn, fr->args);
            },
            &f);
    }
};

template <class... P>
static inline launcher<P...> make_launcher(const char *name, void (*fn)(P...), dim3 grid, dim3 block, size_t smem,
                                           cudaStream_t stream) {
    return launcher<P...>{
        launch_config{name, reinterpret_cast<const void *>(fn), grid, block, smem, stream, typeid(fn).name()}, fn};
}

} // namespace p3d_emu

#endif
