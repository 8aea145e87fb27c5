/* tiefenrausch_ops.c - runs single Tiefenrausch Int8 operators of the C engine on raw files, and the
 * whole network on photos, for tests/test_tiefenrausch_oracle.py (which compares them with the numpy
 * oracle tools/tiefenrausch_oracle.py). Not installed; built with the tests.
 *
 *   tiefenrausch_ops ops CASES      one operator per line of CASES (written by the Python test):
 *     conv H W C M KH KW SH SW PT PL PB PR G XS WS YS XZ WZ YZ RELU X W B Y
 *          X u8 (H, W, C), W u8 (M, KH, KW, C/G), B i32 (M) -> Y u8 (OH, OW, M)
 *     add N AS AZ BS BZ YS YZ RELU A B Y        A, B u8 (N) -> Y u8 (N)
 *     resize H W C X Y                          X u8 (H, W, C) -> Y u8 (2H, 2W, C), nearest x2
 *     quantize N S Z X Y                        X f32 (N) -> Y u8 (N), Int8Quantize
 *     output N S Z X Y                          X u8 (N) -> Y f32 (N), exp(Int8Dequantize)
 *   Scales are C99 hexadecimal floats (exact), files raw little-endian arrays.
 *   tiefenrausch_ops net BLOB IMAGE OUT     decodes IMAGE (io/image_io.h), runs p3d_tief_estimate on
 *     the CPU and writes OUT_rgb.u8 (the network input, (H, W, 3)), OUT_q.u8 (quantized output,
 *     (H, W)) and OUT.txt ("H W"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "depth/qnn_math.h"
#include "depth/tiefenrausch.h"
#include "io/image_io.h"
#include "io/resize_area.h"

static void *read_raw(const char *path, size_t bytes) {
    FILE *f = fopen(path, "rb");
    void *p = malloc(bytes ? bytes : 1);
    if (!f || !p || fread(p, 1, bytes, f) != bytes) {
        fprintf(stderr, "tiefenrausch_ops: cannot read %zu bytes from %s\n", bytes, path);
        exit(1);
    }
    fclose(f);
    return p;
}

static void write_raw(const char *path, const void *p, size_t bytes) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, bytes, f) != bytes || fclose(f) != 0) {
        fprintf(stderr, "tiefenrausch_ops: cannot write %s\n", path);
        exit(1);
    }
}

static int run_case(char *line) {
    char *tok[40];
    int n = 0;
    for (char *t = strtok(line, " \t\n"); t && n < 40; t = strtok(NULL, " \t\n")) tok[n++] = t;
    if (n == 0) return 0;
#define I(k) ((int32_t)strtol(tok[k], NULL, 10))
#define F(k) strtof(tok[k], NULL)
    if (strcmp(tok[0], "conv") == 0 && n == 25) {
        p3d_tief_conv_spec s = {I(1), I(2), I(3), I(4), I(5), I(6), I(7), I(8), I(9), I(10), I(11), I(12), I(13),
                                F(14), F(15), F(16), I(17), I(18), I(19), I(20)};
        const size_t xn = (size_t)s.h * s.w * s.c, wn = (size_t)s.m * s.kh * s.kw * (s.c / s.groups);
        uint8_t *x = read_raw(tok[21], xn), *w = read_raw(tok[22], wn);
        int32_t *b = read_raw(tok[23], (size_t)s.m * sizeof(int32_t));
        const int32_t oh = (s.h + s.pt + s.pb - s.kh) / s.sh + 1, ow = (s.w + s.pl + s.pr - s.kw) / s.sw + 1;
        uint8_t *y = malloc((size_t)oh * ow * s.m);
        if (p3d_tief_conv_host(&s, x, w, b, y) != P3D_OK) {
            fprintf(stderr, "tiefenrausch_ops: conv: %s\n", p3d_last_error());
            return 1;
        }
        write_raw(tok[24], y, (size_t)oh * ow * s.m);
        free(x), free(w), free(b), free(y);
    } else if (strcmp(tok[0], "add") == 0 && n == 12) {
        const int64_t count = I(1);
        uint8_t *a = read_raw(tok[9], (size_t)count), *b = read_raw(tok[10], (size_t)count), *y = malloc((size_t)count);
        if (p3d_tief_add_host(a, F(2), I(3), b, F(4), I(5), F(6), I(7), I(8), y, count) != P3D_OK) {
            fprintf(stderr, "tiefenrausch_ops: add: %s\n", p3d_last_error());
            return 1;
        }
        write_raw(tok[11], y, (size_t)count);
        free(a), free(b), free(y);
    } else if (strcmp(tok[0], "resize") == 0 && n == 6) {
        const int32_t h = I(1), w = I(2), c = I(3);
        uint8_t *x = read_raw(tok[4], (size_t)h * w * c), *y = malloc((size_t)4 * h * w * c);
        p3d_tief_resize2x_host(x, y, h, w, c);
        write_raw(tok[5], y, (size_t)4 * h * w * c);
        free(x), free(y);
    } else if (strcmp(tok[0], "quantize") == 0 && n == 6) {
        const int64_t count = I(1);
        float *x = read_raw(tok[4], (size_t)count * sizeof(float));
        uint8_t *y = malloc((size_t)count);
        for (int64_t i = 0; i < count; i++) y[i] = p3d_qnn_quantize(x[i], F(2), I(3));
        write_raw(tok[5], y, (size_t)count);
        free(x), free(y);
    } else if (strcmp(tok[0], "output") == 0 && n == 6) {
        const int64_t count = I(1);
        uint8_t *x = read_raw(tok[4], (size_t)count);
        float *y = malloc((size_t)count * sizeof(float));
        for (int64_t i = 0; i < count; i++) y[i] = p3d_qnn_exp_np(p3d_qnn_dequantize(x[i], F(2), I(3)));
        write_raw(tok[5], y, (size_t)count * sizeof(float));
        free(x), free(y);
    } else {
        fprintf(stderr, "tiefenrausch_ops: bad case line (%d fields) starting '%s'\n", n, tok[0]);
        return 1;
    }
#undef I
#undef F
    return 0;
}

static int run_ops(const char *cases) {
    FILE *f = fopen(cases, "r");
    if (!f) {
        fprintf(stderr, "tiefenrausch_ops: cannot open %s\n", cases);
        return 1;
    }
    char line[8192];
    int rc = 0, count = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        rc = run_case(line);
        count++;
    }
    fclose(f);
    if (rc == 0) printf("tiefenrausch_ops: %d cases run\n", count);
    return rc;
}

static int run_net(const char *blob, const char *image, const char *out) {
    p3d_device dev = {P3D_DEVICE_CPU, 0};
    p3d_ctx *ctx = NULL;
    p3d_tief *net = NULL;
    p3d_image img;
    memset(&img, 0, sizeof img);
    p3d_status st = p3d_ctx_init(&ctx, dev);
    if (st == P3D_OK) st = p3d_tief_load(ctx, blob, &net);
    if (st == P3D_OK) st = p3d_image_read(image, 0, &img);
    int32_t w = 0, h = 0;
    if (st == P3D_OK) st = p3d_tief_input_size(img.width, img.height, &w, &h);
    const size_t px = (size_t)w * (size_t)h;
    uint8_t *rgb = malloc(px * 3 + 1), *q = malloc(px + 1);
    float *d = malloc(px * sizeof(float) + 1);
    if (st == P3D_OK) {
        /* the network input as p3d_tief_estimate forms it: INTER_AREA to the network size */
        const int64_t ss[3] = {img.height, img.width, 3}, ds[3] = {h, w, 3};
        p3d_tensor src = p3d_tensor_view(img.rgb, P3D_U8, P3D_MEM_HOST, 3, ss);
        p3d_tensor dst = p3d_tensor_view(rgb, P3D_U8, P3D_MEM_HOST, 3, ds);
        st = p3d_resize_area_cpu(&src, &dst, P3D_RESIZE_HWC);
    }
    int32_t nw = 0, nh = 0;
    if (st == P3D_OK) st = p3d_tief_estimate(net, img.rgb, img.width, img.height, d, px, &nw, &nh);
    if (st == P3D_OK) st = p3d_tief_output_q(net, q, NULL, NULL);
    if (st == P3D_OK) {
        char path[1024], txt[64];
        snprintf(path, sizeof path, "%s_rgb.u8", out);
        write_raw(path, rgb, px * 3);
        snprintf(path, sizeof path, "%s_q.u8", out);
        write_raw(path, q, px);
        snprintf(path, sizeof path, "%s.txt", out);
        const int len = snprintf(txt, sizeof txt, "%d %d\n", (int)h, (int)w);
        write_raw(path, txt, (size_t)len);
    } else {
        fprintf(stderr, "tiefenrausch_ops: %s\n", p3d_last_error());
    }
    free(rgb), free(q), free(d);
    p3d_image_free(&img);
    p3d_tief_free(net);
    p3d_ctx_free(ctx);
    return st == P3D_OK ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "ops") == 0) return run_ops(argv[2]);
    if (argc == 5 && strcmp(argv[1], "net") == 0) return run_net(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: tiefenrausch_ops ops CASES | net BLOB IMAGE OUT\n");
    return 2;
}
