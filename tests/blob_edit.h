/* blob_edit.h - test-only editing of p3dw blobs in memory (byte layout: weights/FORMAT.md), for the
 * networks' refusal tests: read a blob, change a tensor's recorded shape or an i64 hyper-parameter in
 * place, write the result to the test's temporary directory. Include after p3d_test.h. */
#ifndef P3D_BLOB_EDIT_H
#define P3D_BLOB_EDIT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct blob_bytes {
    unsigned char *buf;
    size_t len;
} blob_bytes;

static inline uint64_t le_get(const unsigned char *p, int width) {
    uint64_t v = 0;
    for (int i = width - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static inline void le_put(unsigned char *p, int width, uint64_t v) {
    for (int i = 0; i < width; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* The whole file at path (b->buf NULL and a failed CHECK when it cannot be read). */
static inline blob_bytes blob_read(const char *path) {
    blob_bytes b = {NULL, 0};
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f) return b;
    fseek(f, 0, SEEK_END);
    b.len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    b.buf = (unsigned char *)malloc(b.len);
    CHECK(b.buf && fread(b.buf, 1, b.len, f) == b.len);
    fclose(f);
    return b;
}

/* Offset of the first dim of tensor `name` (its 8-byte dims follow one another), or 0. */
static inline size_t tensor_dims_at(const blob_bytes *b, const char *name) {
    size_t pos = (size_t)le_get(b->buf + 32, 8);
    for (uint32_t i = 0; i < (uint32_t)le_get(b->buf + 20, 4); i++) {
        const size_t k = (size_t)le_get(b->buf + pos, 2), ndim = b->buf[pos + 3];
        if (k == strlen(name) && memcmp(b->buf + pos + 4, name, k) == 0) return pos + 4 + k;
        pos += 4 + k + 8 * ndim + 24;
    }
    return 0;
}

/* Offset of the value of hyper-parameter `key` (8 bytes for an i64), or 0. */
static inline size_t hparam_at(const blob_bytes *b, const char *key) {
    size_t pos = (size_t)le_get(b->buf + 24, 8);
    for (uint32_t i = 0; i < (uint32_t)le_get(b->buf + 16, 4); i++) {
        const size_t k = (size_t)le_get(b->buf + pos, 2), value = pos + 4 + k;
        if (k == strlen(key) && memcmp(b->buf + pos + 4, key, k) == 0) return value;
        pos = value + (b->buf[pos + 2] == 2 ? 4 + (size_t)le_get(b->buf + value, 4) : 8);
    }
    return 0;
}

/* Writes b to <tmpdir>/<label>.p3dw and returns that path (in buf). */
static inline const char *blob_write_tmp(const blob_bytes *b, const char *label, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%s.p3dw", p3d_test_tmpdir(), label);
    FILE *f = fopen(buf, "wb");
    CHECK(f && fwrite(b->buf, 1, b->len, f) == b->len);
    if (f) CHECK(fclose(f) == 0);
    return buf;
}

/* The refusal cases of the network tests on the blob at path: tensor `name`'s last two dims (kh, kw)
 * recorded as (kh * kw, 1) - the same byte count, so only the network's table can object - and then,
 * restored, the i64 hyper-parameter `key` set to `value`. expect(blob, needle) loads each edited blob
 * (written to the temporary directory) and checks that it is refused with that message. */
static inline void blob_refusals(const char *path, const char *name, const char *key, int64_t value,
                                 void (*expect)(const char *blob, const char *needle), const char *shape_needle,
                                 const char *hparam_needle) {
    blob_bytes b = blob_read(path);
    const size_t dims = b.buf ? tensor_dims_at(&b, name) : 0, hp = b.buf ? hparam_at(&b, key) : 0;
    CHECK(dims && hp);
    if (dims && hp) {
        char tmp[1024];
        const uint64_t kh = le_get(b.buf + dims + 16, 8), kw = le_get(b.buf + dims + 24, 8);
        le_put(b.buf + dims + 16, 8, kh * kw);
        le_put(b.buf + dims + 24, 8, 1);
        expect(blob_write_tmp(&b, "misshaped", tmp, sizeof tmp), shape_needle);
        le_put(b.buf + dims + 16, 8, kh);
        le_put(b.buf + dims + 24, 8, kw);
        le_put(b.buf + hp, 8, (uint64_t)value);
        expect(blob_write_tmp(&b, "hparam", tmp, sizeof tmp), hparam_needle);
    }
    free(b.buf);
}

#endif
