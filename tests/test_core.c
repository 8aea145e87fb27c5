/* test_core.c - status messages, checked sizes, device parsing, the context, the arena, tensors. */
#include <setjmp.h>

#include "core/arena.h"
#include "core/backend.h"
#include "p3d_test.h"

static void test_fail_records_message(void) {
    p3d_clear_error();
    CHECK(p3d_last_error()[0] == '\0');
    p3d_status st = p3d_fail(P3D_ERR_IO, "%s: cannot open", "a.png");
    CHECK(st == P3D_ERR_IO);
    CHECK(strcmp(p3d_last_error(), "a.png: cannot open") == 0);
    p3d_fail_context(st, "image %d", 3);
    CHECK(strcmp(p3d_last_error(), "image 3: a.png: cannot open") == 0);
    CHECK(strcmp(p3d_status_str(P3D_ERR_MODEL), "model error") == 0);
}

static void test_checked_sizes(void) {
    size_t out = 7;
    CHECK(p3d_size_mul(1u << 20, 1u << 10, &out) && out == (size_t)1 << 30);
    CHECK(!p3d_size_mul(SIZE_MAX / 2, 3, &out));
    CHECK(p3d_size_add(1, 2, &out) && out == 3);
    CHECK(!p3d_size_add(SIZE_MAX, 1, &out));
}

static void test_device_parse(void) {
    p3d_device d;
    CHECK_OK(p3d_device_parse("cpu", &d));
    CHECK(d.kind == P3D_DEVICE_CPU);
    CHECK_OK(p3d_device_parse("cuda:3", &d));
    CHECK(d.kind == P3D_DEVICE_CUDA && d.index == 3);
    CHECK_OK(p3d_device_parse("cuda", &d));
    CHECK(d.kind == P3D_DEVICE_CUDA && d.index == 0);
    CHECK_OK(p3d_device_parse("auto", &d));
    CHECK(d.kind == P3D_DEVICE_AUTO);
    CHECK_FAILS(p3d_device_parse("gpu", &d), P3D_ERR_INVALID_ARG, "'gpu'");
    CHECK_FAILS(p3d_device_parse("cuda:", &d), P3D_ERR_INVALID_ARG, "cuda:N");
    CHECK_FAILS(p3d_device_parse("cuda:1x", &d), P3D_ERR_INVALID_ARG, "cuda:1x");
    char buf[32];
    d.kind = P3D_DEVICE_CUDA;
    d.index = 2;
    CHECK(strcmp(p3d_device_str(d, buf, sizeof buf), "cuda:2") == 0);
}

static void test_device_resolve(void) {
    p3d_device d = {P3D_DEVICE_AUTO, 0};
    CHECK_OK(p3d_device_resolve(&d));
    CHECK(d.kind == P3D_DEVICE_CPU || d.kind == P3D_DEVICE_CUDA);
    p3d_device big = {P3D_DEVICE_CUDA, 999};
    p3d_status st = p3d_device_resolve(&big);
    CHECK(st == P3D_ERR_UNSUPPORTED || st == P3D_ERR_INVALID_ARG);
    CHECK(strstr(p3d_last_error(), "cuda:999") != NULL);
}

static void test_ctx_cpu_alloc_accounting(void) {
    p3d_device d = {P3D_DEVICE_CPU, 0};
    p3d_ctx *ctx = NULL;
    CHECK_OK(p3d_ctx_init(&ctx, d));
    if (!ctx) return;
    CHECK(p3d_ctx_mem(ctx) == P3D_MEM_HOST);
    CHECK(p3d_ctx_cuda(ctx) == NULL);
    CHECK(p3d_ctx_threads(ctx) >= 1);
    void *a = NULL, *b = NULL;
    CHECK_OK(p3d_ctx_alloc(ctx, 1000, &a));
    CHECK_OK(p3d_ctx_alloc(ctx, 24, &b));
    CHECK(((uintptr_t)a % 256) == 0 && ((uintptr_t)b % 256) == 0);
    CHECK(p3d_ctx_bytes_in_use(ctx) == 1024);
    p3d_ctx_release(ctx, a);
    CHECK(p3d_ctx_bytes_in_use(ctx) == 24);
    CHECK(p3d_ctx_bytes_peak(ctx) == 1024);
    float src[4] = {1, 2, 3, 4}, dst[4] = {0};
    CHECK_OK(p3d_ctx_upload(ctx, b, src, sizeof src));
    CHECK_OK(p3d_ctx_download(ctx, dst, b, sizeof dst));
    CHECK(dst[3] == 4.0f);
    p3d_ctx_release(ctx, b);
    CHECK(p3d_ctx_bytes_in_use(ctx) == 0);
    CHECK(p3d_ctx_alloc(ctx, SIZE_MAX - 8, &a) == P3D_ERR_OOM);
    p3d_ctx_free(ctx);
}

/* Runs the same allocation sequence a stage would: planned once, then reused without reallocation. */
static p3d_status arena_pass(p3d_arena *a, int64_t h, int64_t w, p3d_tensor *x, p3d_tensor *y) {
    int64_t s1[4] = {1, 3, h, w};
    int64_t s2[4] = {1, 64, h / 2, w / 2};
    P3D_TRY(p3d_arena_tensor(a, P3D_F32, 4, s1, x));
    P3D_TRY(p3d_arena_tensor(a, P3D_F32, 4, s2, y));
    return P3D_OK;
}

static void test_arena_plan_commit_reuse(void) {
    p3d_device d = {P3D_DEVICE_CPU, 0};
    p3d_ctx *ctx = NULL;
    p3d_arena *a = NULL;
    CHECK_OK(p3d_ctx_init(&ctx, d));
    if (!ctx) return;
    CHECK_OK(p3d_arena_init(&a, ctx));
    p3d_tensor x, y;
    p3d_arena_begin_plan(a);
    CHECK_OK(arena_pass(a, 64, 48, &x, &y));
    CHECK(x.data == NULL && y.data == NULL);
    CHECK_OK(p3d_arena_commit(a));
    size_t expect = ((size_t)3 * 64 * 48 * 4 + 255) / 256 * 256 + ((size_t)64 * 32 * 24 * 4 + 255) / 256 * 256;
    CHECK(p3d_arena_capacity(a) == expect);
    for (int img = 0; img < 3; img++) {
        p3d_arena_reset(a);
        CHECK_OK(arena_pass(a, 64, 48, &x, &y));
        CHECK(x.data != NULL && y.data != NULL);
        CHECK(((uintptr_t)y.data % P3D_ARENA_ALIGN) == 0);
        p3d_tensor_f32(&y)[64 * 32 * 24 - 1] = 1.0f; /* last element is writable (ASan checks) */
    }
    CHECK(p3d_arena_allocations(a) == 1);
    /* A run that allocates more than its plan is an error, not an overflow. */
    p3d_arena_reset(a);
    CHECK_FAILS(arena_pass(a, 128, 96, &x, &y), P3D_ERR_OOM, "more than its plan");
    /* Re-planning for a smaller size keeps the block; a larger one grows it once. */
    p3d_arena_begin_plan(a);
    CHECK_OK(arena_pass(a, 32, 32, &x, &y));
    CHECK_OK(p3d_arena_commit(a));
    CHECK(p3d_arena_allocations(a) == 1);
    p3d_arena_begin_plan(a);
    CHECK_OK(arena_pass(a, 128, 96, &x, &y));
    CHECK_OK(p3d_arena_commit(a));
    CHECK(p3d_arena_allocations(a) == 2);
    int64_t bad[2] = {1, -1};
    CHECK_FAILS(p3d_arena_tensor(a, P3D_F32, 2, bad, &x), P3D_ERR_INVALID_ARG, "[1,-1]");
    p3d_arena_free(a);
    CHECK(p3d_ctx_bytes_in_use(ctx) == 0);
    p3d_ctx_free(ctx);
}

static void test_tensor_views(void) {
    float buf[24];
    int64_t shape[3] = {2, 3, 4};
    p3d_tensor t = p3d_tensor_view(buf, P3D_F32, P3D_MEM_HOST, 3, shape);
    CHECK(p3d_tensor_numel(&t) == 24);
    CHECK(p3d_tensor_nbytes(&t) == 96);
    char s[64];
    CHECK(strcmp(p3d_shape_str(s, sizeof s, t.ndim, t.shape), "[2,3,4]") == 0);
    p3d_tensor u = t;
    CHECK(p3d_tensor_same_shape(&t, &u));
    u.shape[2] = 5;
    CHECK(!p3d_tensor_same_shape(&t, &u));
    CHECK(p3d_dtype_size(P3D_I8) == 1 && p3d_dtype_size(P3D_I32) == 4);
}

static jmp_buf g_abort_jmp;
static char g_abort_msg[256];
static void on_abort(const char *msg) {
    snprintf(g_abort_msg, sizeof g_abort_msg, "%s", msg);
    longjmp(g_abort_jmp, 1);
}

static void test_assert_independent_of_ndebug(void) {
    p3d_set_abort_callback(on_abort);
    volatile int reached = 0;
    if (setjmp(g_abort_jmp) == 0) {
        float f = 0;
        int64_t one = 1;
        p3d_tensor t = p3d_tensor_view(&f, P3D_F32, P3D_MEM_HOST, 1, &one);
        (void)p3d_tensor_i8(&t); /* wrong dtype: a programmer error */
        reached = 1;
    }
    p3d_set_abort_callback(NULL);
    CHECK(!reached);
    CHECK(strstr(g_abort_msg, "tensor is f32, not i8") != NULL);
}

int main(void) {
    RUN(test_fail_records_message);
    RUN(test_checked_sizes);
    RUN(test_device_parse);
    RUN(test_device_resolve);
    RUN(test_ctx_cpu_alloc_accounting);
    RUN(test_arena_plan_commit_reuse);
    RUN(test_tensor_views);
    RUN(test_assert_independent_of_ndebug);
    return p3d_test_finish();
}
