// test_cuda_emu.cu - the emulated CUDA device itself (cuda/emu/, built only with P3D_CUDA_EMU=ON):
// launch limits, the device-memory table, streams and events, barriers, per-block shared memory, warp
// collectives in lockstep and their mask checks, atomics across OS threads, the seeded order (a kernel
// with a missing __syncthreads gives a wrong, seed-dependent result; a correct one never does), CUB's
// scan, and the cuDNN calls against brute-force sums, with cuDNN's refusals.
#include <cmath>
#include <cstdint>
#include <vector>

#include <cub/device/device_scan.cuh>

#include "p3d_cuda_check.h"
#include "p3d_test.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

// ---- kernels ------------------------------------------------------------------------------------

static __global__ void noop_kernel(int *p) {
    if (p) p[0] = 1;
}

static __global__ void fill_shared_kernel(int *out, int n) {
    P3D_DYNAMIC_SHARED(int, buf);
    if (threadIdx.x < n) buf[threadIdx.x] = (int)threadIdx.x;
    __syncthreads();
    if (threadIdx.x == 0) {
        int s = 0;
        for (int i = 0; i < n; i++) s += buf[i];
        out[blockIdx.x] = s;
    }
}

// out[b] = sum of x[b * n .. b * n + n): warp shuffles, then one partial per warp in shared memory.
// `barrier` = 0 drops the __syncthreads between writing the partials and reading them (the race).
static __global__ void block_sum_kernel(const int *x, int n, int *out, int barrier) {
    P3D_SHARED(int, part, [32]);
    P3D_SHARED(int, tag, ); // per block: every block writes its own index, then checks it
    int v = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) v += x[(int64_t)blockIdx.x * n + i];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = v;
    if (threadIdx.x == 0) tag = (int)blockIdx.x;
    if (barrier) __syncthreads();
    if (threadIdx.x == 0) {
        int s = 0;
        for (unsigned w = 0; w < blockDim.x / 32; w++) s += part[w];
        out[blockIdx.x] = tag == (int)blockIdx.x ? s : -1;
    }
}

static __global__ void atomics_kernel(int *count, unsigned long long *mx, int *mn, int *cas) {
    const int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    atomicAdd(count, 1);
    atomicMax(mx, (unsigned long long)i * 3);
    atomicMin(mn, 1000000 - i);
    atomicCAS(cas, 0, i + 1); // exactly one thread wins
}

static __global__ void ballot_kernel(unsigned *out) {
    const unsigned b = __ballot_sync(0xffffffffu, threadIdx.x % 3 == 0);
    const int any = __any_sync(0xffffffffu, threadIdx.x == 7);
    const int all = __all_sync(0xffffffffu, threadIdx.x < 32);
    const int up = __shfl_up_sync(0xffffffffu, (int)threadIdx.x, 1);
    const int xo = __shfl_xor_sync(0xffffffffu, (int)threadIdx.x, 5);
    const int idx = __shfl_sync(0xffffffffu, (int)threadIdx.x * 10, 3);
    if (threadIdx.x == 4) {
        out[0] = b;
        out[1] = (unsigned)any;
        out[2] = (unsigned)all;
        out[3] = (unsigned)up;
        out[4] = (unsigned)xo;
        out[5] = (unsigned)idx;
    }
}

// Lanes 16..31 leave before the full-mask shuffle: a device error on a GPU (undefined), here reported.
static __global__ void exited_lane_kernel(int *out) {
    if (threadIdx.x >= 16) return;
    out[threadIdx.x] = __shfl_down_sync(0xffffffffu, (int)threadIdx.x, 1);
}

// Half of a warp waits at __syncthreads, the other half in a full-mask shuffle: a deadlock.
static __global__ void deadlock_kernel(int *out) {
    if ((threadIdx.x & 31) < 16) {
        out[threadIdx.x] = __shfl_down_sync(0xffffffffu, (int)threadIdx.x, 1);
    } else {
        __syncthreads();
    }
}

static __global__ void own_lane_kernel(int *out) {
    out[threadIdx.x] = __shfl_down_sync(0x1u, (int)threadIdx.x, 1); // lanes 1..31 are not in the mask
}

static __global__ void first_kernel(const int *x, int *out) {
    if (threadIdx.x == 0) *out = x[0];
}

// ---- helpers -----------------------------------------------------------------------------------

template <class T>
static T *dev_alloc(size_t n) {
    void *p = nullptr;
    if (cudaMalloc(&p, n * sizeof(T)) != cudaSuccess) {
        fprintf(stderr, "cudaMalloc failed\n");
        exit(2);
    }
    return static_cast<T *>(p);
}

// ---- cases -------------------------------------------------------------------------------------

static void test_device_queries(void) {
    int n = 0;
    CHECK(cudaGetDeviceCount(&n) == cudaSuccess && n == 1);
    cudaDeviceProp prop;
    CHECK(cudaGetDeviceProperties(&prop, 0) == cudaSuccess);
    CHECK(prop.major == 9 && prop.minor == 0 && prop.maxThreadsPerBlock == 1024 && prop.warpSize == 32);
    CHECK(prop.sharedMemPerBlock == 48 * 1024 && prop.maxGridSize[1] == 65535);
    CHECK(cudaGetDeviceProperties(&prop, 1) == cudaErrorInvalidDevice);
    CHECK(cudaSetDevice(3) == cudaErrorInvalidDevice);
    size_t free_b = 0, total_b = 0;
    CHECK(cudaMemGetInfo(&free_b, &total_b) == cudaSuccess && free_b <= total_b && total_b > 0);
    (void)cudaGetLastError();
}

static void test_launch_limits(void) {
    int *d = dev_alloc<int>(4);
    P3D_LAUNCH(noop_kernel, 1, 1025, 0, nullptr)(d);
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
    P3D_LAUNCH(noop_kernel, 0, 32, 0, nullptr)(d);
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
    P3D_LAUNCH(noop_kernel, dim3(1, 65536), 32, 0, nullptr)(d);
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
    P3D_LAUNCH(noop_kernel, 1, dim3(1, 1, 65), 0, nullptr)(d);
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
    P3D_LAUNCH(noop_kernel, 1, dim3(32, 32, 1), 0, nullptr)(d);
    CHECK(cudaGetLastError() == cudaSuccess);
    // 48 KB of dynamic shared memory is allowed, one byte more only after raising the attribute.
    P3D_LAUNCH(fill_shared_kernel, 2, 64, 48 * 1024, nullptr)(d, 64);
    CHECK(cudaGetLastError() == cudaSuccess);
    P3D_LAUNCH(fill_shared_kernel, 2, 64, 48 * 1024 + 1, nullptr)(d, 64);
    CHECK(cudaGetLastError() == cudaErrorInvalidValue);
    CHECK(cudaFuncSetAttribute(fill_shared_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 100 * 1024) ==
          cudaSuccess);
    P3D_LAUNCH(fill_shared_kernel, 2, 64, 100 * 1024, nullptr)(d, 64);
    CHECK(cudaGetLastError() == cudaSuccess);
    CHECK(cudaFuncSetAttribute(fill_shared_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 300 * 1024) ==
          cudaErrorInvalidValue);
    (void)cudaGetLastError();
    int h[2] = {0, 0};
    CHECK(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(h[0] == 64 * 63 / 2 && h[1] == 64 * 63 / 2);
    cudaStream_t s;
    CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess);
    CHECK(cudaStreamDestroy(s) == cudaSuccess);
    P3D_LAUNCH(noop_kernel, 1, 32, 0, s)(d);
    CHECK(cudaGetLastError() == cudaErrorInvalidResourceHandle);
    CHECK(cudaFree(d) == cudaSuccess);
}

static void test_memory_table(void) {
    int *d = dev_alloc<int>(16);
    int h[17] = {0};
    CHECK(cudaMemcpy(d, h, 16 * sizeof(int), cudaMemcpyHostToDevice) == cudaSuccess);
    CHECK(cudaMemcpy(d, h, 17 * sizeof(int), cudaMemcpyHostToDevice) == cudaErrorInvalidValue); // past the end
    CHECK(cudaMemcpy(d + 4, h, 12 * sizeof(int), cudaMemcpyHostToDevice) == cudaSuccess);
    CHECK(cudaMemcpy(d + 4, h, 13 * sizeof(int), cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
    CHECK(cudaMemcpy(h, d, 16 * sizeof(int), cudaMemcpyHostToDevice) == cudaErrorInvalidValue); // wrong way
    CHECK(cudaMemcpy(d, h, 16 * sizeof(int), cudaMemcpyDeviceToHost) == cudaErrorInvalidValue);
    CHECK(cudaMemcpy(h, h + 1, sizeof(int), cudaMemcpyDeviceToDevice) == cudaErrorInvalidValue); // unknown
    CHECK(cudaMemsetAsync(d, 0, 17 * sizeof(int), nullptr) == cudaErrorInvalidValue);
    CHECK(cudaMemcpy2DAsync(d, 8, h, 8, 12, 2, cudaMemcpyHostToDevice, nullptr) == cudaErrorInvalidPitchValue);
    CHECK(cudaFree(h) == cudaErrorInvalidValue);
    int *fresh = dev_alloc<int>(1);
    int got = 0;
    CHECK(cudaMemcpy(&got, fresh, sizeof got, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(got == (int)0xfefefefe); // cudaMalloc does not zero: the emulator makes that visible
    CHECK(cudaFree(fresh) == cudaSuccess);
    CHECK(cudaFree(d) == cudaSuccess);
    CHECK(cudaFree(d) == cudaErrorInvalidValue); // double free
#if defined(__SANITIZE_ADDRESS__)
    CHECK(__asan_address_is_poisoned(d) && __asan_address_is_poisoned(d + 15)); // a use after free is reported
#endif
    (void)cudaGetLastError();
}

static void test_events(void) {
    cudaEvent_t a, b;
    CHECK(cudaEventCreate(&a) == cudaSuccess && cudaEventCreate(&b) == cudaSuccess);
    float ms = -1.0f;
    CHECK(cudaEventElapsedTime(&ms, a, b) == cudaErrorInvalidResourceHandle); // not recorded yet
    CHECK(cudaEventRecord(a, nullptr) == cudaSuccess);
    usleep(2000);
    CHECK(cudaEventRecord(b, nullptr) == cudaSuccess && cudaEventSynchronize(b) == cudaSuccess);
    CHECK(cudaEventElapsedTime(&ms, a, b) == cudaSuccess && ms >= 1.0f && ms < 1000.0f);
    CHECK(cudaEventDestroy(a) == cudaSuccess && cudaEventDestroy(b) == cudaSuccess);
    CHECK(cudaEventDestroy(a) == cudaErrorInvalidResourceHandle);
    (void)cudaGetLastError();
}

// Copies from page-locked memory on a stream run beside the host and the other streams; an event orders
// them (cudaStreamWaitEvent), a synchronisation ends them, and work on their own stream follows them.
static void test_copy_stream(void) {
    const size_t n = 1 << 16;
    int *h = nullptr, *back = nullptr;
    CHECK(cudaMallocHost((void **)&h, n * sizeof(int)) == cudaSuccess && h);
    CHECK(cudaMallocHost((void **)&back, n * sizeof(int)) == cudaSuccess && back);
    for (size_t i = 0; i < n; i++) h[i] = (int)i + 1;
    int *d = dev_alloc<int>(n), *out = dev_alloc<int>(1);
    cudaStream_t cs, ks;
    cudaEvent_t ready;
    CHECK(cudaStreamCreateWithFlags(&cs, cudaStreamNonBlocking) == cudaSuccess);
    CHECK(cudaStreamCreateWithFlags(&ks, cudaStreamNonBlocking) == cudaSuccess);
    CHECK(cudaEventCreate(&ready) == cudaSuccess);
    // 1. A held copy: the event is not ready, and a kernel on another stream that does not wait for it
    //    reads the fresh-memory pattern.
    setenv("P3D_EMU_COPY_DELAY_US", "300000", 1);
    CHECK(cudaMemcpyAsync(d, h, n * sizeof(int), cudaMemcpyHostToDevice, cs) == cudaSuccess);
    CHECK(cudaEventRecord(ready, cs) == cudaSuccess);
    CHECK(cudaEventQuery(ready) == cudaErrorNotReady);
    P3D_LAUNCH(first_kernel, 1, 32, 0, ks)(d, out);
    int got = 0;
    CHECK(cudaMemcpy(&got, out, sizeof got, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(got == (int)0xfefefefe);
    // 2. The compute stream waits for the event: its kernel sees the copy.
    CHECK(cudaStreamWaitEvent(ks, ready, 0) == cudaSuccess);
    P3D_LAUNCH(first_kernel, 1, 32, 0, ks)(d, out);
    CHECK(cudaMemcpy(&got, out, sizeof got, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(got == 1);
    CHECK(cudaEventQuery(ready) == cudaSuccess);
    // 3. Order on one stream: a copy into page-locked memory is done only after a synchronisation; a
    //    kernel queued after a held upload on the same stream sees it.
    for (size_t i = 0; i < n; i++) h[i] = 7;
    CHECK(cudaMemcpyAsync(d, h, n * sizeof(int), cudaMemcpyHostToDevice, cs) == cudaSuccess);
    P3D_LAUNCH(first_kernel, 1, 32, 0, cs)(d, out);
    CHECK(cudaMemcpy(&got, out, sizeof got, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(got == 7);
    memset(back, 0, n * sizeof(int));
    CHECK(cudaMemcpyAsync(back, d, n * sizeof(int), cudaMemcpyDeviceToHost, cs) == cudaSuccess);
    CHECK(back[n - 1] == 0); // still held
    CHECK(cudaStreamSynchronize(cs) == cudaSuccess);
    CHECK(back[0] == 7 && back[n - 1] == 7);
    // 4. Elapsed time of a held copy, between events on the copy stream.
    setenv("P3D_EMU_COPY_DELAY_US", "20000", 1);
    cudaEvent_t t0;
    CHECK(cudaEventCreate(&t0) == cudaSuccess);
    CHECK(cudaEventRecord(t0, cs) == cudaSuccess);
    CHECK(cudaMemcpyAsync(d, h, n * sizeof(int), cudaMemcpyHostToDevice, cs) == cudaSuccess);
    CHECK(cudaEventRecord(ready, cs) == cudaSuccess);
    CHECK(cudaEventSynchronize(ready) == cudaSuccess);
    float ms = 0.0f;
    CHECK(cudaEventElapsedTime(&ms, t0, ready) == cudaSuccess && ms >= 15.0f);
    unsetenv("P3D_EMU_COPY_DELAY_US");
    CHECK(cudaEventDestroy(t0) == cudaSuccess && cudaEventDestroy(ready) == cudaSuccess);
    CHECK(cudaStreamDestroy(cs) == cudaSuccess && cudaStreamDestroy(ks) == cudaSuccess);
    CHECK(cudaFreeHost(h) == cudaSuccess && cudaFreeHost(back) == cudaSuccess);
    CHECK(cudaFreeHost(h) == cudaErrorInvalidValue);
    (void)cudaGetLastError();
    CHECK(cudaFree(d) == cudaSuccess && cudaFree(out) == cudaSuccess);
}

// Block sums of 300 blocks x 1000 values with and without the barrier, under two seeds.
static void block_sums(int barrier, uint64_t seed, std::vector<int> *out) {
    const int blocks = 300, n = 1000;
    std::vector<int> x((size_t)blocks * n);
    for (size_t i = 0; i < x.size(); i++) x[i] = (int)(i * 7 % 13);
    int *dx = dev_alloc<int>(x.size()), *dy = dev_alloc<int>(blocks);
    CHECK(cudaMemcpy(dx, x.data(), x.size() * sizeof(int), cudaMemcpyHostToDevice) == cudaSuccess);
    p3d_emu_set_seed(seed);
    P3D_LAUNCH(block_sum_kernel, blocks, 256, 0, nullptr)(dx, n, dy, barrier);
    CHECK(cudaGetLastError() == cudaSuccess);
    out->assign(blocks, 0);
    CHECK(cudaMemcpy(out->data(), dy, blocks * sizeof(int), cudaMemcpyDeviceToHost) == cudaSuccess);
    for (int b = 0; b < blocks && barrier; b++) {
        int ref = 0;
        for (int i = 0; i < n; i++) ref += x[(size_t)b * n + i];
        CHECK_MSG((*out)[b] == ref, "block %d: %d, expected %d", b, (*out)[b], ref);
    }
    cudaFree(dx);
    cudaFree(dy);
}

static void test_barrier_and_seed(void) {
    std::vector<int> a, b, c, d;
    block_sums(1, 1, &a);
    block_sums(1, 2, &b);
    CHECK(a == b); // a correct kernel: the same result under every seed
    block_sums(0, 1, &c);
    block_sums(0, 2, &d);
    CHECK_MSG(c != a && d != a && c != d, "the missing __syncthreads went unnoticed");
    p3d_emu_set_seed(1);
}

static void test_atomics(void) {
    int *count = dev_alloc<int>(1), *mn = dev_alloc<int>(1), *cas = dev_alloc<int>(1);
    unsigned long long *mx = dev_alloc<unsigned long long>(1);
    const int init_mn = 2000000;
    CHECK(cudaMemset(count, 0, sizeof(int)) == cudaSuccess && cudaMemset(mx, 0, 8) == cudaSuccess);
    CHECK(cudaMemset(cas, 0, sizeof(int)) == cudaSuccess);
    CHECK(cudaMemcpy(mn, &init_mn, sizeof(int), cudaMemcpyHostToDevice) == cudaSuccess);
    P3D_LAUNCH(atomics_kernel, 400, 128, 0, nullptr)(count, mx, mn, cas);
    CHECK(cudaGetLastError() == cudaSuccess);
    int hc = 0, hmn = 0, hcas = 0;
    unsigned long long hmx = 0;
    cudaMemcpy(&hc, count, 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(&hmx, mx, 8, cudaMemcpyDeviceToHost);
    cudaMemcpy(&hmn, mn, 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(&hcas, cas, 4, cudaMemcpyDeviceToHost);
    CHECK(hc == 400 * 128 && hmx == (400ull * 128 - 1) * 3 && hmn == 1000000 - (400 * 128 - 1));
    CHECK(hcas >= 1 && hcas <= 400 * 128);
    cudaFree(count), cudaFree(mn), cudaFree(cas), cudaFree(mx);
}

static void test_warp_collectives(void) {
    unsigned *d = dev_alloc<unsigned>(6);
    P3D_LAUNCH(ballot_kernel, 1, 32, 0, nullptr)(d);
    CHECK(cudaGetLastError() == cudaSuccess);
    unsigned h[6];
    cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
    unsigned want = 0;
    for (int i = 0; i < 32; i += 3) want |= 1u << i;
    CHECK(h[0] == want && h[1] == 1 && h[2] == 1);
    CHECK(h[3] == 3 && h[4] == (4 ^ 5) && h[5] == 30);
    cudaFree(d);
}

// Device errors are sticky (every later call fails) until cudaDeviceReset, as on a GPU.
static void expect_device_error(const char *what) {
    CHECK_MSG(cudaGetLastError() == cudaErrorLaunchFailure, "%s was not reported", what);
    CHECK(cudaDeviceSynchronize() == cudaErrorLaunchFailure);
    CHECK(cudaDeviceReset() == cudaSuccess);
    CHECK(cudaDeviceSynchronize() == cudaSuccess);
}

static void test_device_errors(void) {
    int *d = dev_alloc<int>(64);
    P3D_LAUNCH(exited_lane_kernel, 1, 32, 0, nullptr)(d);
    expect_device_error("a shuffle naming exited lanes");
    P3D_LAUNCH(deadlock_kernel, 1, 64, 0, nullptr)(d);
    expect_device_error("a deadlock between __syncthreads and a shuffle");
    P3D_LAUNCH(own_lane_kernel, 1, 32, 0, nullptr)(d);
    expect_device_error("a mask without the caller's lane");
    cudaFree(d);
}

// 40 KB of static shared memory (each Tag a separate kernel): out[b] = the sum of the block's thread
// indices through shared memory; out[gridDim.x + b] = the first word as the block found it (undefined:
// the emulator fills fresh shared memory with 0xfe bytes).
template <int Tag>
static __global__ void static_shared_kernel(int *out) {
    P3D_SHARED(int, big, [10 * 1024]);
    if (threadIdx.x == 0) out[gridDim.x + blockIdx.x] = big[0];
    __syncthreads();
    big[threadIdx.x] = (int)threadIdx.x;
    __syncthreads();
    if (threadIdx.x == 0) {
        int sum = 0;
        for (unsigned i = 0; i < blockDim.x; i++) sum += big[i];
        out[blockIdx.x] = sum;
    }
}

// Static shared memory counts towards the launch's limit with the dynamic part, as on the device.
static void test_static_shared(void) {
    int *d = dev_alloc<int>(4);
    P3D_LAUNCH(static_shared_kernel<0>, 2, 64, 8 * 1024, nullptr)(d); // 40 + 8 KB: fits
    CHECK(cudaGetLastError() == cudaSuccess);
    int h[4] = {0, 0, 0, 0};
    CHECK(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(h[0] == 64 * 63 / 2 && h[1] == 64 * 63 / 2);
    CHECK_MSG(h[2] == (int)0xfefefefe && h[3] == (int)0xfefefefe, "fresh shared memory reads %08x", (unsigned)h[2]);
    // The kernel's static size is known now: one more dynamic word is refused before the kernel runs.
    P3D_LAUNCH(static_shared_kernel<0>, 2, 64, 8 * 1024 + 4, nullptr)(d);
    CHECK(cudaGetLastError() == cudaErrorInvalidValue);
    CHECK(cudaDeviceSynchronize() == cudaSuccess); // a refused launch is not a device fault
    // The opt-in attribute: static + attribute <= 227 KB.
    CHECK(cudaFuncSetAttribute(static_shared_kernel<0>, cudaFuncAttributeMaxDynamicSharedMemorySize, 188 * 1024) ==
          cudaErrorInvalidValue);
    (void)cudaGetLastError();
    CHECK(cudaFuncSetAttribute(static_shared_kernel<0>, cudaFuncAttributeMaxDynamicSharedMemorySize, 187 * 1024) ==
          cudaSuccess);
    P3D_LAUNCH(static_shared_kernel<0>, 2, 64, 100 * 1024, nullptr)(d);
    CHECK(cudaGetLastError() == cudaSuccess);
    // A kernel that never ran: its first launch over the limit fails when its threads reach the array.
    P3D_LAUNCH(static_shared_kernel<1>, 2, 64, 9 * 1024, nullptr)(d);
    expect_device_error("40 KB static + 9 KB dynamic shared memory");
    // ... and from then on it is refused at launch.
    P3D_LAUNCH(static_shared_kernel<1>, 2, 64, 9 * 1024, nullptr)(d);
    CHECK(cudaGetLastError() == cudaErrorInvalidValue);
    cudaFree(d);
}

static void test_cub_scan(void) {
    const int n = 1001;
    std::vector<int64_t> h(n);
    for (int i = 0; i < n; i++) h[i] = i % 5;
    int64_t *d = dev_alloc<int64_t>(n);
    cudaMemcpy(d, h.data(), n * 8, cudaMemcpyHostToDevice);
    size_t bytes = 0;
    CHECK(cub::DeviceScan::ExclusiveSum(nullptr, bytes, d, d, n) == cudaSuccess && bytes > 0);
    unsigned char *tmp = dev_alloc<unsigned char>(bytes);
    CHECK(cub::DeviceScan::ExclusiveSum(tmp, bytes, d, d, n) == cudaSuccess); // in place
    std::vector<int64_t> out(n);
    cudaMemcpy(out.data(), d, n * 8, cudaMemcpyDeviceToHost);
    int64_t run = 0, bad = 0;
    for (int i = 0; i < n; i++) {
        bad += out[i] != run;
        run += h[i];
    }
    CHECK(bad == 0);
    cudaFree(tmp);
    cudaFree(d);
}

// ---- cuDNN ---------------------------------------------------------------------------------------

struct conv_shape {
    int n, c, h, w, k, r, s, ph, pw, sh, sw, dh, dw, g;
};

// y (n, k, p, q) = cross-correlation of x (n, c, h, w) with w (k, c/g, r, s), brute force in double.
static std::vector<double> brute_conv(const conv_shape &cs, const std::vector<float> &x, const std::vector<float> &wt,
                                      int p, int q) {
    std::vector<double> y((size_t)cs.n * cs.k * p * q, 0.0);
    const int cg = cs.c / cs.g, kg = cs.k / cs.g;
    for (int b = 0; b < cs.n; b++)
        for (int k = 0; k < cs.k; k++)
            for (int oy = 0; oy < p; oy++)
                for (int ox = 0; ox < q; ox++) {
                    double acc = 0;
                    for (int c = 0; c < cg; c++)
                        for (int r = 0; r < cs.r; r++)
                            for (int s = 0; s < cs.s; s++) {
                                const int iy = oy * cs.sh - cs.ph + r * cs.dh, ix = ox * cs.sw - cs.pw + s * cs.dw;
                                if (iy < 0 || ix < 0 || iy >= cs.h || ix >= cs.w) continue;
                                const int ci = k / kg * cg + c;
                                acc += (double)x[(((size_t)b * cs.c + ci) * cs.h + iy) * cs.w + ix] *
                                       wt[(((size_t)k * cg + c) * cs.r + r) * cs.s + s];
                            }
                    y[(((size_t)b * cs.k + k) * p + oy) * q + ox] = acc;
                }
    return y;
}

static float *upload(const std::vector<float> &v) {
    float *d = dev_alloc<float>(v.size());
    cudaMemcpy(d, v.data(), v.size() * sizeof(float), cudaMemcpyHostToDevice);
    return d;
}

static std::vector<float> download(const float *d, size_t n) {
    std::vector<float> v(n);
    cudaMemcpy(v.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost);
    return v;
}

static void test_cudnn_conv(void) {
    const conv_shape shapes[] = {{2, 4, 9, 11, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1},
                                 {1, 6, 10, 7, 4, 3, 2, 2, 0, 2, 1, 2, 1, 2},
                                 {1, 4, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 4}};
    cudnnHandle_t h;
    CHECK(cudnnCreate(&h) == CUDNN_STATUS_SUCCESS);
    for (const conv_shape &cs : shapes) {
        const int p = (cs.h + 2 * cs.ph - (cs.r - 1) * cs.dh - 1) / cs.sh + 1;
        const int q = (cs.w + 2 * cs.pw - (cs.s - 1) * cs.dw - 1) / cs.sw + 1;
        std::vector<float> x((size_t)cs.n * cs.c * cs.h * cs.w), wt((size_t)cs.k * cs.c / cs.g * cs.r * cs.s);
        for (size_t i = 0; i < x.size(); i++) x[i] = (float)((int)(i * 37 % 17) - 8) / 8.0f;
        for (size_t i = 0; i < wt.size(); i++) wt[i] = (float)((int)(i * 11 % 13) - 6) / 6.0f;
        cudnnTensorDescriptor_t xd, yd, bd;
        cudnnFilterDescriptor_t wd;
        cudnnConvolutionDescriptor_t cd;
        cudnnActivationDescriptor_t ad;
        cudnnCreateTensorDescriptor(&xd), cudnnCreateTensorDescriptor(&yd), cudnnCreateTensorDescriptor(&bd);
        cudnnCreateFilterDescriptor(&wd), cudnnCreateConvolutionDescriptor(&cd), cudnnCreateActivationDescriptor(&ad);
        CHECK(cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, cs.n, cs.c, cs.h, cs.w) == 0);
        CHECK(cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, cs.k, cs.c / cs.g, cs.r, cs.s) == 0);
        CHECK(cudnnSetConvolution2dDescriptor(cd, cs.ph, cs.pw, cs.sh, cs.sw, cs.dh, cs.dw, CUDNN_CROSS_CORRELATION,
                                              CUDNN_DATA_FLOAT) == 0);
        CHECK(cudnnSetConvolutionGroupCount(cd, cs.g) == 0);
        // An output descriptor one row short is refused.
        CHECK(cudnnSetTensor4dDescriptor(yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, cs.n, cs.k, p - 1, q) == 0);
        size_t ws = 0;
        CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, cd, yd, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, &ws) ==
              CUDNN_STATUS_BAD_PARAM);
        CHECK(cudnnSetTensor4dDescriptor(yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, cs.n, cs.k, p, q) == 0);
        CHECK(cudnnSetTensor4dDescriptor(bd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, cs.k, 1, 1) == 0);
        const std::vector<double> ref = brute_conv(cs, x, wt, p, q);
        std::vector<float> bias(cs.k);
        for (int k = 0; k < cs.k; k++) bias[k] = 0.25f * (float)(k - 2);
        float *dx = upload(x), *dw = upload(wt), *db = upload(bias), *dy = dev_alloc<float>(ref.size());
        CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, cd, yd, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, &ws) == 0);
        unsigned char *dws = dev_alloc<unsigned char>(ws + 1);
        const float one = 1.0f, zero = 0.0f;
        CHECK(cudnnConvolutionForward(h, &one, xd, dx, wd, dw, cd, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, dws, ws - 1, &zero,
                                      yd, dy) == CUDNN_STATUS_BAD_PARAM); // workspace too small
        CHECK(cudnnConvolutionForward(h, &one, xd, dx, wd, dw, cd, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, dws, ws, &zero,
                                      yd, dy) == 0);
        std::vector<float> y = download(dy, ref.size());
        double err = 0;
        for (size_t i = 0; i < ref.size(); i++) err = fmax(err, fabs(y[i] - ref[i]));
        CHECK_MSG(err < 1e-5, "conv max error %g", err);
        // Fused: identity only with IMPLICIT_PRECOMP_GEMM; ReLU with NaN handling per the descriptor.
        CHECK(cudnnSetActivationDescriptor(ad, CUDNN_ACTIVATION_IDENTITY, CUDNN_NOT_PROPAGATE_NAN, 0.0) == 0);
        CHECK(cudnnConvolutionBiasActivationForward(h, &one, xd, dx, wd, dw, cd, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                                                    nullptr, 0, &zero, yd, dy, bd, db, ad, yd,
                                                    dy) == CUDNN_STATUS_NOT_SUPPORTED);
        CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, cd, yd, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM,
                                                      &ws) == 0 && ws <= 1000);
        CHECK(cudnnConvolutionBiasActivationForward(h, &one, xd, dx, wd, dw, cd,
                                                    CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, dws, ws, &zero, yd,
                                                    dy, bd, db, ad, yd, dy) == 0);
        y = download(dy, ref.size());
        err = 0;
        const size_t plane = (size_t)p * q;
        for (size_t i = 0; i < ref.size(); i++) err = fmax(err, fabs(y[i] - (ref[i] + bias[i / plane % cs.k])));
        CHECK_MSG(err < 1e-5, "fused identity max error %g", err);
        x[0] = NAN; // y(0, k, 0, 0) reads x(0, 0, ...) for the first group's filters when the tap is inside
        cudaMemcpy(dx, x.data(), sizeof(float), cudaMemcpyHostToDevice);
        for (int prop = 0; prop < 2; prop++) {
            CHECK(cudnnSetActivationDescriptor(ad, CUDNN_ACTIVATION_RELU,
                                               prop ? CUDNN_PROPAGATE_NAN : CUDNN_NOT_PROPAGATE_NAN, 0.0) == 0);
            CHECK(cudnnConvolutionBiasActivationForward(h, &one, xd, dx, wd, dw, cd,
                                                        CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, yd,
                                                        dy, bd, db, ad, yd, dy) == 0);
            y = download(dy, ref.size());
            int nan = 0, neg = 0;
            for (float v : y) nan += std::isnan(v), neg += v < 0.0f;
            CHECK_MSG(prop ? nan > 0 : nan == 0, "ReLU NaN option %d: %d NaN outputs", prop, nan);
            CHECK(neg == 0);
        }
        cudaFree(dx), cudaFree(dw), cudaFree(db), cudaFree(dy), cudaFree(dws);
        cudnnDestroyTensorDescriptor(xd), cudnnDestroyTensorDescriptor(yd), cudnnDestroyTensorDescriptor(bd);
        cudnnDestroyFilterDescriptor(wd), cudnnDestroyConvolutionDescriptor(cd), cudnnDestroyActivationDescriptor(ad);
    }
    CHECK(cudnnDestroy(h) == CUDNN_STATUS_SUCCESS);
}

// Backward data = the adjoint of the forward convolution: <conv(x), dy> == <x, conv^T(dy)>.
static void test_cudnn_backward_data(void) {
    const conv_shape cs = {2, 6, 7, 9, 4, 3, 3, 1, 2, 2, 2, 1, 2, 2};
    const int p = (cs.h + 2 * cs.ph - (cs.r - 1) * cs.dh - 1) / cs.sh + 1;
    const int q = (cs.w + 2 * cs.pw - (cs.s - 1) * cs.dw - 1) / cs.sw + 1;
    std::vector<float> x((size_t)cs.n * cs.c * cs.h * cs.w), wt((size_t)cs.k * cs.c / cs.g * cs.r * cs.s),
        dyv((size_t)cs.n * cs.k * p * q);
    for (size_t i = 0; i < x.size(); i++) x[i] = (float)((int)(i * 29 % 19) - 9) / 9.0f;
    for (size_t i = 0; i < wt.size(); i++) wt[i] = (float)((int)(i * 13 % 7) - 3) / 3.0f;
    for (size_t i = 0; i < dyv.size(); i++) dyv[i] = (float)((int)(i * 5 % 11) - 5) / 5.0f;
    cudnnHandle_t h;
    cudnnCreate(&h);
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    cudnnCreateTensorDescriptor(&xd), cudnnCreateTensorDescriptor(&yd), cudnnCreateFilterDescriptor(&wd);
    cudnnCreateConvolutionDescriptor(&cd);
    cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, cs.n, cs.c, cs.h, cs.w);
    cudnnSetTensor4dDescriptor(yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, cs.n, cs.k, p, q);
    cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, cs.k, cs.c / cs.g, cs.r, cs.s);
    cudnnSetConvolution2dDescriptor(cd, cs.ph, cs.pw, cs.sh, cs.sw, cs.dh, cs.dw, CUDNN_CROSS_CORRELATION,
                                    CUDNN_DATA_FLOAT);
    cudnnSetConvolutionGroupCount(cd, cs.g);
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int got = 0;
    CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, wd, yd, cd, xd, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got,
                                                      perf) == 0 && got > 1);
    CHECK(perf[0].determinism == CUDNN_NON_DETERMINISTIC && perf[1].determinism == CUDNN_DETERMINISTIC);
    float *ddy = upload(dyv), *dw = upload(wt), *ddx = dev_alloc<float>(x.size());
    const float one = 1.0f, zero = 0.0f;
    CHECK(cudnnConvolutionBackwardData(h, &one, wd, dw, yd, ddy, cd, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, nullptr, 0,
                                       &zero, xd, ddx) == 0);
    CHECK(cudnnConvolutionBackwardData(h, &one, wd, dw, yd, ddy, cd, CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD, nullptr,
                                       0, &zero, xd, ddx) == CUDNN_STATUS_NOT_SUPPORTED);
    const std::vector<float> dx = download(ddx, x.size());
    const std::vector<double> y = brute_conv(cs, x, wt, p, q);
    double lhs = 0, rhs = 0;
    for (size_t i = 0; i < y.size(); i++) lhs += y[i] * dyv[i];
    for (size_t i = 0; i < x.size(); i++) rhs += (double)x[i] * dx[i];
    CHECK_NEAR(lhs, rhs, 1e-4 * (fabs(lhs) + 1.0));
    cudaFree(ddy), cudaFree(dw), cudaFree(ddx);
    cudnnDestroyTensorDescriptor(xd), cudnnDestroyTensorDescriptor(yd), cudnnDestroyFilterDescriptor(wd);
    cudnnDestroyConvolutionDescriptor(cd), cudnnDestroy(h);
}

int main(void) {
    RUN(test_device_queries);
    RUN(test_launch_limits);
    RUN(test_memory_table);
    RUN(test_events);
    RUN(test_copy_stream);
    RUN(test_barrier_and_seed);
    RUN(test_atomics);
    RUN(test_warp_collectives);
    RUN(test_device_errors);
    RUN(test_static_shared);
    RUN(test_cub_scan);
    RUN(test_cudnn_conv);
    RUN(test_cudnn_backward_data);
    return p3d_test_finish();
}
