/* test_cuda_backend.c - the CUDA context of cuda/backend.cu against its contract: the device count,
 * device info and library versions, allocation accounting (in use, peak), the three copy directions,
 * a copy past the end of an allocation refused with the failing call named, the event timer, the
 * traffic counters (bytes per direction, blocking waits, allocations) and the device arena (marks,
 * spills, the regrowth after a spill, no allocation once it is large enough) and the page-locked
 * upload staging (two slots in turn, contents, counters on the taking image, growth). Without a usable device every case is a SKIP naming why; a FAIL where a device is
 * required (P3D_REQUIRE_GPU=1, a device present, or the emulated build). */
#include <stdint.h>
#include <string.h>

#include "core/backend.h"
#include "p3d_test.h"
#ifdef P3D_HAVE_CUDA
#include "p3d_cuda.h"
#endif

#ifdef P3D_HAVE_CUDA
static p3d_ctx *g_gpu;
static char g_why[512];

#define NEED_GPU()                                                                                 \
    do {                                                                                           \
        if (!g_gpu) {                                                                              \
            SKIP_GPU("CUDA backend test not run: %s", g_why);                                      \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static void test_device_queries(void) {
    NEED_GPU();
    int32_t n = 0;
    const char *why = NULL;
    p3d_cuda_device_count(&n, &why);
    CHECK(n >= 1 && why && why[0] == '\0');
    p3d_cuda_device_info info;
    CHECK_OK(p3d_cuda_device_info_get(0, &info));
    CHECK(info.name[0] != '\0' && info.total_mem > 0 && info.free_mem <= info.total_mem);
    CHECK(info.cc_major >= 5 && info.sm_count > 0);
    CHECK_FAILS(p3d_cuda_device_info_get(n, &info), P3D_ERR_DEVICE, "cudaGetDeviceProperties");
    p3d_cuda_versions v;
    p3d_cuda_versions_get(&v);
    CHECK(v.runtime > 0 && v.cudnn > 0 && v.cublas > 0);
}

static void test_memory(void) {
    NEED_GPU();
    p3d_cuda_ctx *cu = p3d_ctx_cuda(g_gpu);
    const size_t base = p3d_cuda_bytes_in_use(cu, 0);
    const size_t n = 1000;
    void *a = NULL, *b = NULL;
    CHECK_OK(p3d_cuda_malloc(cu, n, &a));
    CHECK_OK(p3d_cuda_malloc(cu, n, &b));
    CHECK(a && b && p3d_cuda_bytes_in_use(cu, 0) == base + 2 * n);
    uint8_t src[1000], dst[1000];
    for (size_t i = 0; i < n; i++) src[i] = (uint8_t)(i * 7 + 3);
    memset(dst, 0, sizeof dst);
    CHECK_OK(p3d_cuda_memcpy_h2d(cu, a, src, n));
    CHECK_OK(p3d_cuda_memcpy_d2d(cu, b, a, n));
    CHECK_OK(p3d_cuda_sync(cu));
    CHECK_OK(p3d_cuda_memcpy_d2h(cu, dst, b, n));
    CHECK(memcmp(src, dst, n) == 0);
    /* One byte past the allocation: the runtime refuses it, and the message names the call. */
    CHECK_FAILS(p3d_cuda_memcpy_d2h(cu, dst, (const uint8_t *)b + 1, n), P3D_ERR_DEVICE, "cudaMemcpyAsync");
    p3d_cuda_free(cu, a);
    CHECK(p3d_cuda_bytes_in_use(cu, 0) == base + n && p3d_cuda_bytes_in_use(cu, 1) >= base + 2 * n);
    p3d_cuda_free(cu, b);
    CHECK(p3d_cuda_bytes_in_use(cu, 0) == base);
    CHECK(p3d_ctx_bytes_in_use(g_gpu) == base);
}

static void test_timer(void) {
    NEED_GPU();
    p3d_cuda_ctx *cu = p3d_ctx_cuda(g_gpu);
    p3d_cuda_timer *t = NULL;
    CHECK_OK(p3d_cuda_timer_init(cu, &t));
    if (!t) return;
    const size_t n = (size_t)8 << 20;
    void *a = NULL, *b = NULL;
    CHECK_OK(p3d_cuda_malloc(cu, n, &a));
    CHECK_OK(p3d_cuda_malloc(cu, n, &b));
    double ms = -1.0;
    CHECK_OK(p3d_cuda_timer_start(t));
    for (int i = 0; i < 4 && a && b; i++) CHECK_OK(p3d_cuda_memcpy_d2d(cu, b, a, n));
    CHECK_OK(p3d_cuda_timer_stop_ms(t, &ms));
    CHECK_MSG(ms >= 0.0 && ms < 60000.0, "timer: %g ms", ms);
    double again = -1.0;
    CHECK_OK(p3d_cuda_timer_start(t));
    CHECK_OK(p3d_cuda_timer_stop_ms(t, &again));
    CHECK(again >= 0.0 && again < 60000.0);
    p3d_cuda_free(cu, a);
    p3d_cuda_free(cu, b);
    p3d_cuda_timer_free(t);
}

/* Each wrapper counts what it did: bytes per direction, one wait per device -> host copy and per
 * sync (none for host -> device), one allocation per cudaMalloc. */
static void test_traffic(void) {
    NEED_GPU();
    p3d_cuda_ctx *cu = p3d_ctx_cuda(g_gpu);
    const p3d_device_traffic t0 = p3d_ctx_traffic(g_gpu);
    void *a = NULL;
    CHECK_OK(p3d_cuda_malloc(cu, 4096, &a));
    uint8_t buf[4096];
    memset(buf, 5, sizeof buf);
    CHECK_OK(p3d_cuda_memcpy_h2d(cu, a, buf, 3000));
    CHECK_OK(p3d_cuda_memcpy_d2h(cu, buf, a, 1000));
    CHECK_OK(p3d_cuda_sync(cu));
    const void *host = NULL;
    CHECK_OK(p3d_cuda_download_span(cu, a, 2000, &host));
    CHECK(host && ((const uint8_t *)host)[1999] == 5);
    const p3d_device_traffic d = p3d_device_traffic_sub(p3d_ctx_traffic(g_gpu), t0);
    CHECK_MSG(d.h2d_bytes == 3000 && d.d2h_bytes == 3000 && d.syncs == 3 && d.allocations == 1,
              "traffic: h2d %lld d2h %lld syncs %lld allocations %lld", (long long)d.h2d_bytes,
              (long long)d.d2h_bytes, (long long)d.syncs, (long long)d.allocations);
    p3d_cuda_free(cu, a);
}

/* The arena: blocks carved in order, a request past the block spills (one allocation), the outermost
 * release replaces the block by one that holds the high-water mark, and the same requests then
 * allocate nothing; an inner release keeps the outer blocks. */
static void test_arena(void) {
    NEED_GPU();
    p3d_cuda_ctx *cu = p3d_ctx_cuda(g_gpu);
    CHECK_OK(p3d_cuda_arena_reserve(cu, 4096));
    const size_t cap = p3d_cuda_arena_capacity(cu);
    CHECK(cap >= 4096 && cap % 256 == 0);
    for (int round = 0; round < 2; round++) {
        const p3d_device_traffic t0 = p3d_ctx_traffic(g_gpu);
        const p3d_cuda_arena_mark m0 = p3d_cuda_arena_mark_get(cu);
        void *a = NULL, *b = NULL, *c = NULL;
        CHECK_OK(p3d_cuda_arena_get(cu, 100, &a));
        CHECK_OK(p3d_cuda_arena_get(cu, 300, &b));
        CHECK(a && b && (uint8_t *)b - (uint8_t *)a == 256 && (uintptr_t)a % 256 == 0);
        const p3d_cuda_arena_mark m1 = p3d_cuda_arena_mark_get(cu);
        CHECK_OK(p3d_cuda_arena_get(cu, cap + 5000, &c)); /* round 0: past the block, spills */
        uint8_t one = 9, back = 0;
        CHECK_OK(p3d_cuda_memcpy_h2d(cu, (uint8_t *)c + cap + 4999, &one, 1));
        CHECK_OK(p3d_cuda_memcpy_d2h(cu, &back, (uint8_t *)c + cap + 4999, 1));
        CHECK(back == 9);
        p3d_cuda_arena_release(cu, m1);
        void *b2 = NULL;
        CHECK_OK(p3d_cuda_arena_get(cu, 300, &b2));
        CHECK(b2 == (uint8_t *)b + 512); /* the inner release kept a and b */
        p3d_cuda_arena_release(cu, m0);
        const p3d_device_traffic d = p3d_device_traffic_sub(p3d_ctx_traffic(g_gpu), t0);
        if (round == 0) CHECK_MSG(d.allocations == 2, "spill + regrowth: %lld allocations", (long long)d.allocations);
        else CHECK_MSG(d.allocations == 0, "after the regrowth: %lld allocations", (long long)d.allocations);
    }
    CHECK(p3d_cuda_arena_capacity(cu) >= 512 + cap + 5000); /* the high-water mark of round 0 */
}

/* The staging of core/backend.h: two slots in turn; what a slot's upload allocated and copied counts
 * when it is taken, not when it was queued; a second round of the same size allocates nothing. */
static void test_staging(void) {
    NEED_GPU();
    p3d_ctx *ctx = g_gpu;
    p3d_cuda_ctx *cu = p3d_ctx_cuda(ctx);
    enum { N = 5000 };
    int32_t dst[N];
    const size_t src_bytes = sizeof dst;
    for (int32_t round = 0; round < 2; round++) {
        const p3d_device_traffic t0 = p3d_ctx_traffic(ctx);
        int32_t a = -1, b = -1;
        void *ha = NULL, *hb = NULL, *da = NULL, *db = NULL;
        CHECK_OK(p3d_staging_begin(ctx, src_bytes, 2 * src_bytes, &a, &ha));
        for (int32_t i = 0; i < N; i++) ((int32_t *)ha)[i] = i * 3 + round;
        CHECK_OK(p3d_staging_start(ctx, a));
        CHECK_OK(p3d_staging_begin(ctx, src_bytes, 2 * src_bytes, &b, &hb));
        for (int32_t i = 0; i < N; i++) ((int32_t *)hb)[i] = -i - round;
        CHECK_OK(p3d_staging_start(ctx, b));
        CHECK(a != b && ha != hb);
        /* queued, not taken: nothing counted yet */
        const p3d_device_traffic q = p3d_device_traffic_sub(p3d_ctx_traffic(ctx), t0);
        CHECK(q.h2d_bytes == 0 && q.allocations == 0);
        CHECK_OK(p3d_staging_take(ctx, a, &da));
        const p3d_device_traffic ta = p3d_device_traffic_sub(p3d_ctx_traffic(ctx), t0);
        CHECK_MSG(ta.h2d_bytes == (int64_t)src_bytes && ta.allocations == (round == 0 ? 2 : 0),
                  "round %d: slot a h2d %lld allocations %lld", (int)round, (long long)ta.h2d_bytes,
                  (long long)ta.allocations);
        CHECK_OK(p3d_cuda_memcpy_d2h(cu, dst, da, sizeof dst));
        int ok = 1;
        for (int32_t i = 0; i < N; i++) ok &= dst[i] == i * 3 + round;
        CHECK(ok);
        CHECK_OK(p3d_staging_release(ctx, a));
        CHECK_OK(p3d_staging_take(ctx, b, &db));
        CHECK_OK(p3d_cuda_memcpy_d2h(cu, dst, db, sizeof dst));
        ok = 1;
        for (int32_t i = 0; i < N; i++) ok &= dst[i] == -i - round;
        CHECK(ok);
        double ms = -1.0;
        CHECK_OK(p3d_staging_copy_ms(ctx, b, &ms));
        CHECK(ms >= 0.0);
        CHECK_OK(p3d_staging_release(ctx, b));
    }
    /* a larger upload regrows both slots (counted again), once both are free */
    const p3d_device_traffic t0 = p3d_ctx_traffic(ctx);
    int32_t a = -1;
    void *ha = NULL, *da = NULL;
    CHECK_OK(p3d_staging_begin(ctx, 4 * src_bytes, 4 * src_bytes, &a, &ha));
    memset(ha, 0x5a, 4 * src_bytes);
    CHECK_OK(p3d_staging_start(ctx, a));
    CHECK_OK(p3d_staging_take(ctx, a, &da));
    CHECK(p3d_device_traffic_sub(p3d_ctx_traffic(ctx), t0).allocations == 2);
    CHECK_OK(p3d_cuda_memcpy_d2h(cu, dst, (const int32_t *)da + 3 * N, sizeof dst));
    CHECK(dst[N - 1] == 0x5a5a5a5a);
    /* growing while the other slot holds a queued upload is refused */
    int32_t b = -1;
    void *hb = NULL;
    CHECK_OK(p3d_staging_begin(ctx, 8, 8, &b, &hb));
    CHECK_OK(p3d_staging_start(ctx, b));
    CHECK_OK(p3d_staging_release(ctx, a));
    CHECK_FAILS(p3d_staging_begin(ctx, 8 * src_bytes, 8 * src_bytes, &a, &ha), P3D_ERR_INVALID_ARG, "other slot");
    CHECK_OK(p3d_staging_release(ctx, b));
}
#endif

int main(void) {
#ifdef P3D_HAVE_CUDA
    p3d_device dev;
    if (p3d_device_parse("cuda", &dev) != P3D_OK || p3d_device_resolve(&dev) != P3D_OK) {
        snprintf(g_why, sizeof g_why, "%s", p3d_last_error());
    } else {
        p3d_t_gpu_present = 1; /* a device exists: a context that cannot be created is a failure */
        if (p3d_ctx_init(&g_gpu, dev) != P3D_OK) snprintf(g_why, sizeof g_why, "%s", p3d_last_error());
    }
    RUN(test_device_queries);
    RUN(test_memory);
    RUN(test_timer);
    RUN(test_traffic);
    RUN(test_arena);
    RUN(test_staging);
    p3d_ctx_free(g_gpu);
#else
    RUN(p3d_test_no_cuda);
#endif
    return p3d_test_finish();
}
