/* test_pad_concat.c - reflection padding (PyTorch's documented examples), zero padding at an offset
 * and cropping (the nets' centred padding to multiples of 128), channel concatenation; N = 2 and
 * errors. The CPU-vs-CUDA comparison is in test_nn_cuda.c. */
#include "p3d_test.h"

#include "layers/concat.h"
#include "nn_oracle.h"
#include "nn/pad.h"

static p3d_ctx *g_ctx;

/* torch.nn.ReflectionPad2d docs: arange(9) as 3x3, padded by 2, and by (left 1, right 1, top 2, bottom 0). */
static void test_reflect_pytorch_examples(void) {
    float x[9], y[49];
    for (int i = 0; i < 9; i++) x[i] = (float)i;
    static const float pad2[49] = {8, 7, 6, 7, 8, 7, 6, 5, 4, 3, 4, 5, 4, 3, 2, 1, 0, 1, 2, 1, 0, 5, 4, 3, 4,
                                   5, 4, 3, 8, 7, 6, 7, 8, 7, 6, 5, 4, 3, 4, 5, 4, 3, 2, 1, 0, 1, 2, 1, 0};
    static const float pad1120[25] = {7, 6, 7, 8, 7, 4, 3, 4, 5, 4, 1, 0, 1, 2, 1, 4, 3, 4, 5, 4, 7, 6, 7, 8, 7};
    p3d_tensor tx = host4(x, 1, 1, 3, 3), ty = host4(y, 1, 1, 7, 7);
    CHECK_OK(p3d_pad(g_ctx, &tx, &ty, P3D_PAD_REFLECT, 2, 2));
    compare_close_f("reflect 2", y, pad2, 49, 0, 0);
    ty = host4(y, 1, 1, 5, 5);
    CHECK_OK(p3d_pad(g_ctx, &tx, &ty, P3D_PAD_REFLECT, 2, 1));
    compare_close_f("reflect (1,1,2,0)", y, pad1120, 25, 0, 0);
}

static void test_zero_pad_and_crop(void) {
    int64_t hp, wp, top, left;
    p3d_pad_to_multiple(200, 300, 128, &hp, &wp, &top, &left);
    CHECK(hp == 256 && wp == 384 && top == 28 && left == 42);
    p3d_pad_to_multiple(256, 129, 128, &hp, &wp, &top, &left);
    CHECK(hp == 256 && wp == 256 && top == 0 && left == 63);
    p3d_pad_to_multiple(13, 7, 8, &hp, &wp, &top, &left);
    CHECK(hp == 16 && wp == 8 && top == 1 && left == 0);
    const int64_t n = 2, c = 3, h = 13, w = 7, total = n * c * h * w;
    float *x = oracle_alloc(total), *y = oracle_alloc(n * c * hp * wp), *back = oracle_alloc(total);
    fill_int(x, total, 1, 9);
    p3d_tensor tx = host4(x, n, c, h, w), ty = host4(y, n, c, hp, wp), tb = host4(back, n, c, h, w);
    CHECK_OK(p3d_pad(g_ctx, &tx, &ty, P3D_PAD_ZEROS, top, left));
    int64_t zeros = 0;
    for (int64_t i = 0; i < n * c * hp * wp; i++) zeros += y[i] == 0.0f;
    CHECK(zeros == n * c * (hp * wp - h * w));
    CHECK(y[(1 * c + 2) * hp * wp + (top + 4) * wp + left + 5] == x[((1 * c + 2) * h + 4) * w + 5]);
    CHECK_OK(p3d_crop(g_ctx, &ty, &tb, top, left));
    compare_close_f("pad then crop", back, x, total, 0, 0);
    /* A zero pad may also place the input partly outside (offset anywhere). */
    float small[4];
    p3d_tensor ts = host4(small, 1, 1, 2, 2), tx1 = host4(x, 1, 1, h, w);
    CHECK_OK(p3d_pad(g_ctx, &tx1, &ts, P3D_PAD_ZEROS, -12, 1));
    CHECK(small[0] == 0.0f && small[1] == x[12 * w] && small[2] == 0.0f && small[3] == 0.0f);
    free(x);
    free(y);
    free(back);
}

static void test_pad_errors(void) {
    float x[9], y[100];
    p3d_tensor tx = host4(x, 1, 1, 3, 3), ty = host4(y, 1, 1, 9, 9);
    CHECK_FAILS(p3d_pad(g_ctx, &tx, &ty, P3D_PAD_REFLECT, 3, 3), P3D_ERR_INVALID_ARG, "reflection pads");
    ty = host4(y, 1, 1, 4, 3);
    CHECK_FAILS(p3d_pad(g_ctx, &tx, &ty, P3D_PAD_REFLECT, 2, 0), P3D_ERR_INVALID_ARG, "bottom -1");
    ty = host4(y, 1, 1, 2, 2);
    CHECK_FAILS(p3d_crop(g_ctx, &tx, &ty, 2, 0), P3D_ERR_INVALID_ARG, "leaves the input");
    ty = host4(x + 1, 1, 1, 2, 2);
    CHECK_FAILS(p3d_crop(g_ctx, &tx, &ty, 0, 0), P3D_ERR_INVALID_ARG, "overlap");
    ty = host4(y, 1, 2, 5, 5);
    CHECK_FAILS(p3d_pad(g_ctx, &tx, &ty, P3D_PAD_ZEROS, 1, 1), P3D_ERR_INVALID_ARG, "output");
}

static void test_concat(void) {
    const int64_t n = 2, hw = 6;
    float a[2 * 2 * 6], b[2 * 1 * 6], c[2 * 3 * 6], y[2 * 6 * 6];
    fill_int(a, 24, 1, 9);
    fill_int(b, 12, 10, 19);
    fill_int(c, 36, 20, 29);
    p3d_tensor ta = host4(a, n, 2, 2, 3), tb = host4(b, n, 1, 2, 3), tc = host4(c, n, 3, 2, 3);
    p3d_tensor ty = host4(y, n, 6, 2, 3);
    const p3d_tensor *parts[3] = {&ta, &tb, &tc};
    CHECK_OK(p3d_concat(g_ctx, parts, 3, &ty));
    for (int64_t s = 0; s < n; s++)
        for (int64_t ch = 0; ch < 6; ch++)
            for (int64_t i = 0; i < hw; i++) {
                const float want = ch < 2 ? a[(s * 2 + ch) * hw + i]
                                          : ch < 3 ? b[(s * 1 + ch - 2) * hw + i] : c[(s * 3 + ch - 3) * hw + i];
                CHECK(y[(s * 6 + ch) * hw + i] == want);
            }
    p3d_tensor bad = host4(b, n, 1, 3, 2);
    parts[1] = &bad;
    CHECK_FAILS(p3d_concat(g_ctx, parts, 3, &ty), P3D_ERR_INVALID_ARG, "input 1");
    parts[1] = &tb;
    ty = host4(y, n, 5, 2, 3);
    CHECK_FAILS(p3d_concat(g_ctx, parts, 3, &ty), P3D_ERR_INVALID_ARG, "output: expected f32 [2,6,2,3]");
    p3d_tensor alias = host4(c, 1, 6, 2, 3);
    parts[0] = &tb;
    CHECK_FAILS(p3d_concat(g_ctx, parts, 1, &alias), P3D_ERR_INVALID_ARG, "output: expected f32 [2,1,2,3]");
    ty = host4(b, n, 1, 2, 3);
    CHECK_FAILS(p3d_concat(g_ctx, parts, 1, &ty), P3D_ERR_INVALID_ARG, "overlaps");
    CHECK_FAILS(p3d_concat(g_ctx, parts, 0, &ty), P3D_ERR_INVALID_ARG, "no inputs");
}

int main(void) {
    g_ctx = cpu_ctx();
    RUN(test_reflect_pytorch_examples);
    RUN(test_zero_pad_and_crop);
    RUN(test_pad_errors);
    RUN(test_concat);
    p3d_ctx_free(g_ctx);
    return p3d_test_finish();
}
