/* npy_test.h - test-side reader of the golden .npy files (tests/data/inpaint, written by numpy.save
 * in tools/gen_inpaint_golden.py). Header-only; include after p3d_test.h.
 *
 * Reads format versions 1-3 with dtype '<f4' or '|u1' (binary maps), fortran_order False and 1..4
 * dimensions; the values come back as float32 in C order. Anything else (another dtype, a
 * big-endian or Fortran-order array, a malformed header, truncated or surplus data) fails the
 * current case with the file name and the reason and returns 0.
 *
 *   npy_array a;
 *   if (!npy_test_read("tests/data/inpaint/edge_out.npy", &a)) return;   // a.shape = {2, 1, 81, 101}
 *   ... a.data[i] ...
 *   npy_test_free(&a);
 *
 * The program's own .npy I/O for users lives with the `net` subcommand (host/cmd_net.c). */
#ifndef P3D_NPY_TEST_H
#define P3D_NPY_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct npy_array {
    float *data;
    int32_t ndim;
    int64_t shape[4];
    int64_t numel;
} npy_array;

static inline int npy_test_bad(const char *path, const char *why, unsigned char *buf) {
    fprintf(stderr, "  FAIL %s: %s\n", path, why);
    p3d_t_case_failed = 1;
    free(buf);
    return 0;
}

/* The value text of 'key' in the header dict (points after the colon and blanks), or NULL. */
static inline const char *npy_test_field(const char *hdr, const char *key) {
    const char *p = strstr(hdr, key);
    if (!p) return NULL;
    p = strchr(p + strlen(key), ':');
    if (!p) return NULL;
    for (p++; *p == ' '; p++) continue;
    return p;
}

static inline int npy_test_read(const char *path, npy_array *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return npy_test_bad(path, "cannot open", NULL);
    fseek(f, 0, SEEK_END);
    const long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = (unsigned char *)malloc((size_t)(len > 0 ? len : 1) + 1);
    const int got = buf && len > 0 && fread(buf, 1, (size_t)len, f) == (size_t)len;
    fclose(f);
    if (!got) return npy_test_bad(path, "cannot read", buf);
    if (len < 12 || memcmp(buf, "\x93NUMPY", 6) != 0 || buf[6] < 1 || buf[6] > 3)
        return npy_test_bad(path, "not a .npy file of version 1-3", buf);
    const size_t pre = buf[6] == 1 ? 10 : 12;
    const size_t hlen = buf[6] == 1 ? (size_t)(buf[8] | buf[9] << 8)
                                    : (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    if (pre + hlen > (size_t)len) return npy_test_bad(path, "header runs past the end", buf);
    char hdr[1024];
    if (hlen >= sizeof hdr) return npy_test_bad(path, "header too long", buf);
    memcpy(hdr, buf + pre, hlen);
    hdr[hlen] = '\0';
    const char *descr = npy_test_field(hdr, "'descr'"), *fortran = npy_test_field(hdr, "'fortran_order'");
    const char *shape = npy_test_field(hdr, "'shape'");
    if (!descr || !fortran || !shape || *shape != '(') return npy_test_bad(path, "malformed header", buf);
    const int is_f4 = strncmp(descr, "'<f4'", 5) == 0, is_u1 = strncmp(descr, "'|u1'", 5) == 0;
    if (!is_f4 && !is_u1) return npy_test_bad(path, "dtype is not '<f4' or '|u1'", buf);
    if (strncmp(fortran, "False", 5) != 0) return npy_test_bad(path, "Fortran order", buf);
    out->numel = 1;
    for (const char *p = shape + 1; *p != ')';) {
        char *end = NULL;
        const long long d = strtoll(p, &end, 10);
        if (end == p || d < 1 || out->ndim == 4) return npy_test_bad(path, "shape is not 1..4 dimensions >= 1", buf);
        out->shape[out->ndim++] = d;
        out->numel *= d;
        for (p = end; *p == ',' || *p == ' '; p++) continue;
    }
    const size_t item = is_f4 ? 4 : 1;
    if (out->ndim == 0 || (size_t)len - pre - hlen != (size_t)out->numel * item)
        return npy_test_bad(path, "data size does not match the shape", buf);
    out->data = (float *)malloc((size_t)out->numel * sizeof(float));
    if (!out->data) return npy_test_bad(path, "out of memory", buf);
    const unsigned char *src = buf + pre + hlen;
    for (int64_t i = 0; i < out->numel; i++) {
        if (is_u1) {
            out->data[i] = (float)src[i];
        } else {
            const uint32_t bits = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 |
                                  (uint32_t)src[4 * i + 2] << 16 | (uint32_t)src[4 * i + 3] << 24;
            memcpy(&out->data[i], &bits, 4);
        }
    }
    free(buf);
    return 1;
}

static inline void npy_test_free(npy_array *a) {
    free(a->data);
    a->data = NULL;
}

#endif
