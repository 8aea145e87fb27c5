/* test_weights.c - host/nn/weights.c against the committed example blob and against malformed blobs.
 *
 * tests/data/example.p3dw is written by tools/convert_example.py from tests/data/example.pth;
 * tests/data/example_values.txt holds what the blob must contain, written by the same script from the
 * PyTorch tensors. Malformed blobs are the example with one field changed, written to the test's
 * temporary directory: each must fail cleanly (status + message starting with the path), never crash;
 * the sanitizer build proves the "never crash" part. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>

#include "core/backend.h"
#include "p3d_test.h"
#include "nn/weights.h"

/* ---- files ------------------------------------------------------------------------------------------ */
static const char *source_path(const char *rel, char *buf, size_t cap) {
    const char *root = getenv("P3D_SOURCE_DIR");
    snprintf(buf, cap, "%s/%s", root && root[0] ? root : ".", rel);
    return buf;
}

typedef struct blob {
    uint8_t *buf;
    size_t len;
} blob;

static blob read_blob(const char *path) {
    blob b = {NULL, 0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    b.len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    b.buf = (uint8_t *)malloc(b.len + 1);
    if (!b.buf || fread(b.buf, 1, b.len, f) != b.len) exit(2);
    fclose(f);
    return b;
}

static const char *write_blob(const char *label, const blob *b, char *path, size_t cap) {
    snprintf(path, cap, "%s/%s.p3dw", p3d_test_tmpdir(), label);
    FILE *f = fopen(path, "wb");
    if (!f || (b->len && fwrite(b->buf, 1, b->len, f) != b->len) || fclose(f) != 0) exit(2);
    return path;
}

static const char *example_path(void) {
    static char buf[1024];
    return source_path("tests/data/example.p3dw", buf, sizeof buf);
}

/* ---- little-endian field access in a blob ---------------------------------------------------------- */
static uint64_t get_le(const blob *b, size_t at, int width) {
    uint64_t v = 0;
    for (int i = width - 1; i >= 0; i--) v = v << 8 | b->buf[at + (size_t)i];
    return v;
}
static void put_le(blob *b, size_t at, int width, uint64_t v) {
    for (int i = 0; i < width; i++) b->buf[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

enum { H_VERSION = 4, H_PROBE = 8, H_KIND = 12, H_NHP = 16, H_NT = 20, H_HPOFF = 24, H_TOFF = 32, H_DOFF = 40,
       H_SIZE = 48, H_ALIGN = 56 };
/* Fields of a tensor record, as offsets from the record's start (see weights/FORMAT.md). */
typedef enum { T_NAMELEN, T_DTYPE, T_NDIM, T_NAME, T_DIMS, T_SCALE, T_ZP, T_OFFSET, T_NBYTES } tfield;

/* Offset of field f of the tensor record called name (or of record number -index-1 when name is NULL). */
static size_t tensor_field(const blob *b, const char *name, int32_t index, tfield f) {
    size_t pos = get_le(b, H_TOFF, 8);
    for (int32_t i = 0; i < (int32_t)get_le(b, H_NT, 4); i++) {
        size_t k = get_le(b, pos, 2), ndim = b->buf[pos + 3], dims = pos + 4 + k, tail = dims + 8 * ndim;
        if (name ? (k == strlen(name) && memcmp(b->buf + pos + 4, name, k) == 0) : i == index) {
            const size_t at[] = {pos, pos + 2, pos + 3, pos + 4, dims, tail, tail + 4, tail + 8, tail + 16};
            return at[f];
        }
        pos = tail + 24;
    }
    fprintf(stderr, "tensor %s not in the example blob\n", name ? name : "#");
    exit(2);
}

/* Offset of the value of the hyper-parameter key (for a string: of its u32 length). */
static size_t hparam_value(const blob *b, const char *key) {
    size_t pos = get_le(b, H_HPOFF, 8);
    for (uint32_t i = 0; i < (uint32_t)get_le(b, H_NHP, 4); i++) {
        size_t k = get_le(b, pos, 2), value = pos + 4 + k;
        if (k == strlen(key) && memcmp(b->buf + pos + 4, key, k) == 0) return value;
        pos = value + (b->buf[pos + 2] == 2 ? 4 + get_le(b, value, 4) : 8);
    }
    fprintf(stderr, "hyper-parameter %s not in the example blob\n", key);
    exit(2);
}

/* ---- the expectations written by tools/convert_example.py ------------------------------------------ */
typedef struct expected_tensor {
    char name[128], dtype[8];
    int32_t ndim;
    int64_t dims[P3D_MAX_DIMS];
    float scale;
    int32_t zero_point;
    int64_t numel;
    double *values;
} expected_tensor;

typedef struct expected_hparam {
    char key[64], type[8], value[128];
} expected_hparam;

typedef struct expected {
    expected_tensor t[32];
    int32_t nt;
    expected_hparam h[16];
    int32_t nh;
} expected;

static void parse_values_line(expected_tensor *t, char *line) {
    t->values = (double *)calloc((size_t)t->numel, sizeof(double));
    char *p = line;
    for (int64_t i = 0; i < t->numel; i++) {
        char *end;
        t->values[i] = strcmp(t->dtype, "f32") == 0 ? (double)strtof(p, &end) : (double)strtoll(p, &end, 10);
        if (end == p) {
            fprintf(stderr, "example_values.txt: %s: too few values\n", t->name);
            exit(2);
        }
        p = end;
    }
}

static void load_expected(expected *e) {
    char path[1024];
    FILE *f = fopen(source_path("tests/data/example_values.txt", path, sizeof path), "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    memset(e, 0, sizeof *e);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        if (strncmp(line, "hparam ", 7) == 0 && e->nh < 16) {
            expected_hparam *h = &e->h[e->nh++];
            if (sscanf(line, "hparam %63s %7s %127s", h->key, h->type, h->value) != 3) exit(2);
        } else if (strncmp(line, "tensor ", 7) == 0 && e->nt < 32) {
            expected_tensor *t = &e->t[e->nt++];
            int n = 0;
            if (sscanf(line, "tensor %127s %7s %d%n", t->name, t->dtype, &t->ndim, &n) != 3) exit(2);
            char *p = line + n, *end;
            t->numel = 1;
            for (int32_t d = 0; d < t->ndim && d < P3D_MAX_DIMS; d++, p = end) {
                t->dims[d] = strtoll(p, &end, 10);
                t->numel *= t->dims[d];
            }
            t->scale = strtof(p, &end);
            t->zero_point = (int32_t)strtol(end, NULL, 10);
            if (getline(&line, &cap, f) <= 0) exit(2);
            parse_values_line(t, line);
        }
    }
    free(line);
    fclose(f);
}

static void free_expected(expected *e) {
    for (int32_t i = 0; i < e->nt; i++) free(e->t[i].values);
}

static double element(const p3d_tensor *t, int64_t i) {
    switch (t->dtype) {
    case P3D_F32: return (double)p3d_tensor_f32(t)[i];
    case P3D_I8: return (double)p3d_tensor_i8(t)[i];
    case P3D_U8: return (double)p3d_tensor_u8(t)[i];
    case P3D_I32: return (double)p3d_tensor_i32(t)[i];
    default: return NAN;
    }
}

/* Every tensor (in file order) and every hyper-parameter equals the PyTorch side, exactly. */
static void check_against_expected(const p3d_weights *w, const expected *e) {
    CHECK(p3d_weights_count(w) == e->nt);
    for (int32_t i = 0; i < e->nt && i < p3d_weights_count(w); i++) {
        const expected_tensor *x = &e->t[i];
        p3d_tensor t, by_name;
        const char *name = p3d_weights_tensor_at(w, i, &t);
        CHECK_MSG(strcmp(name, x->name) == 0, "record %d is %s, expected %s", (int)i, name, x->name);
        CHECK_OK(p3d_weights_get(w, x->name, &by_name));
        CHECK(by_name.data == t.data);
        CHECK_MSG(strcmp(p3d_dtype_name(t.dtype), x->dtype) == 0, "%s: dtype %s", x->name, p3d_dtype_name(t.dtype));
        CHECK(t.mem == P3D_MEM_HOST && t.ndim == x->ndim);
        for (int32_t d = 0; d < x->ndim; d++) CHECK_MSG(t.shape[d] == x->dims[d], "%s: dim %d", x->name, (int)d);
        CHECK_MSG(t.scale == x->scale && t.zero_point == x->zero_point, "%s: scale %g zp %d", x->name,
                  (double)t.scale, (int)t.zero_point);
        CHECK(((uintptr_t)t.data) % 64 == 0);
        if (p3d_tensor_numel(&t) != x->numel) continue;
        int64_t bad = 0;
        for (int64_t k = 0; k < x->numel; k++) bad += element(&t, k) != x->values[k];
        CHECK_MSG(bad == 0, "%s: %lld of %lld values differ from PyTorch's", x->name, (long long)bad,
                  (long long)x->numel);
    }
    for (int32_t i = 0; i < e->nh; i++) {
        const expected_hparam *h = &e->h[i];
        if (strcmp(h->type, "i64") == 0) {
            int64_t v = 0;
            CHECK_OK(p3d_weights_hparam_i64(w, h->key, &v));
            CHECK_MSG(v == strtoll(h->value, NULL, 10), "%s = %lld", h->key, (long long)v);
        } else if (strcmp(h->type, "f64") == 0) {
            double v = 0;
            CHECK_OK(p3d_weights_hparam_f64(w, h->key, &v));
            CHECK_MSG(v == strtod(h->value, NULL), "%s = %.17g", h->key, v);
        } else {
            const char *v = NULL;
            CHECK_OK(p3d_weights_hparam_str(w, h->key, &v));
            CHECK_MSG(v && strcmp(v, h->value) == 0, "%s = %s", h->key, v ? v : "(null)");
        }
    }
}

/* ---- the expected table of the example network, built from its hyper-parameters -------------------- */
#define EXAMPLE_TENSORS 11

static int32_t example_spec(const p3d_weights *w, p3d_weight_spec spec[EXAMPLE_TENSORS]) {
    int64_t cin = 0, c = 0, cup = 0, nout = 0;
    CHECK_OK(p3d_weights_hparam_i64(w, "in_channels", &cin));
    CHECK_OK(p3d_weights_hparam_i64(w, "channels", &c));
    CHECK_OK(p3d_weights_hparam_i64(w, "up_channels", &cup));
    CHECK_OK(p3d_weights_hparam_i64(w, "out_features", &nout));
    const p3d_weight_spec rows[EXAMPLE_TENSORS] = {
        {"conv.weight", P3D_F32, 4, {c, cin, 3, 3}}, /* (out, in, kH, kW) */
        {"conv.bias", P3D_F32, 1, {c}},
        {"bn.weight", P3D_F32, 1, {c}},
        {"bn.bias", P3D_F32, 1, {c}},
        {"bn.running_mean", P3D_F32, 1, {c}},
        {"bn.running_var", P3D_F32, 1, {c}},
        {"up.weight", P3D_F32, 4, {c, cup, 2, 2}}, /* ConvTranspose2d: (in, out, kH, kW) */
        {"up.bias", P3D_F32, 1, {cup}},
        {"fc.weight", P3D_F32, 2, {nout, cup}},
        {"fc.bias", P3D_F32, 1, {nout}},
        {"fc.weight_int8", P3D_I8, 2, {nout, cup}},
    };
    memcpy(spec, rows, sizeof rows);
    return EXAMPLE_TENSORS;
}

/* The committed example blob, or NULL after a failed check. */
static p3d_weights *load_example(void) {
    p3d_weights *w = NULL;
    CHECK_OK(p3d_weights_load(example_path(), &w));
    return w;
}

static int starts_with_path(const char *path) {
    const char *msg = p3d_last_error();
    size_t n = strlen(path);
    return strncmp(msg, path, n) == 0 && msg[n] == ':';
}

/* ---- cases -------------------------------------------------------------------------------------------- */
static void load_and_compare(void) {
    expected e;
    load_expected(&e);
    CHECK(e.nt == EXAMPLE_TENSORS && e.nh == 6);
    p3d_weights *w = NULL;
    CHECK_OK(p3d_weights_load(example_path(), &w));
    if (!w) {
        free_expected(&e);
        return;
    }
    CHECK(strcmp(p3d_weights_path(w), example_path()) == 0);
    CHECK(p3d_weights_kind(w) == P3D_MODEL_EXAMPLE);
    CHECK(strcmp(p3d_model_kind_name(p3d_weights_kind(w)), "example") == 0);
    CHECK_OK(p3d_weights_expect_kind(w, P3D_MODEL_EXAMPLE));
    check_against_expected(w, &e);
    p3d_weights_free(w);
    free_expected(&e);
}

/* The same through the mapping (P3D_WEIGHTS_MMAP=1) and through read() forced (P3D_WEIGHTS_NO_MMAP=1). */
static void load_mapped(void) {
    expected e;
    load_expected(&e);
    setenv("P3D_WEIGHTS_MMAP", "1", 1);
    p3d_weights *w = NULL;
    CHECK_OK(p3d_weights_load(example_path(), &w));
    if (w) check_against_expected(w, &e);
    p3d_weights_free(w);
    unsetenv("P3D_WEIGHTS_MMAP");
    free_expected(&e);
}

static void load_without_mmap(void) {
    expected e;
    load_expected(&e);
    setenv("P3D_WEIGHTS_NO_MMAP", "1", 1);
    p3d_weights *w = NULL;
    CHECK_OK(p3d_weights_load(example_path(), &w));
    if (w) check_against_expected(w, &e);
    p3d_weights_free(w);
    CHECK_FAILS(p3d_weights_load(p3d_test_tmpdir(), &w), P3D_ERR_IO, "is a directory");
    unsetenv("P3D_WEIGHTS_NO_MMAP");
    free_expected(&e);
}

/* fc.weight_int8 is fc.weight quantized by torch.quantize_per_tensor and written by tools/p3dw.py:
 * its scale and zero point survive, and dequantizing it gives fc.weight back within half a step. */
static void int8_keeps_quantization(void) {
    p3d_weights *w = load_example();
    if (!w) return;
    p3d_tensor q, f;
    CHECK_OK(p3d_weights_get(w, "fc.weight_int8", &q));
    CHECK_OK(p3d_weights_get(w, "fc.weight", &f));
    CHECK(q.dtype == P3D_I8 && q.scale > 0.0f && q.zero_point != 0);
    CHECK(p3d_tensor_numel(&q) == p3d_tensor_numel(&f));
    for (int64_t i = 0; i < p3d_tensor_numel(&q); i++)
        CHECK_NEAR(q.scale * (float)(p3d_tensor_i8(&q)[i] - q.zero_point), p3d_tensor_f32(&f)[i], 0.5 * q.scale + 1e-7);
    p3d_weights_free(w);
}

static void hparam_errors(void) {
    p3d_weights *w = load_example();
    if (!w) return;
    int64_t i = 0;
    double d = 0;
    const char *s = NULL;
    CHECK_FAILS(p3d_weights_hparam_i64(w, "nope", &i), P3D_ERR_MODEL, "missing hyper-parameter nope");
    CHECK(starts_with_path(example_path()));
    CHECK_FAILS(p3d_weights_hparam_i64(w, "activation", &i), P3D_ERR_MODEL, "missing hyper-parameter activation");
    CHECK_FAILS(p3d_weights_hparam_f64(w, "channels", &d), P3D_ERR_MODEL, "missing hyper-parameter channels");
    CHECK_FAILS(p3d_weights_hparam_str(w, "bn_eps", &s), P3D_ERR_MODEL, "missing hyper-parameter bn_eps");
    p3d_tensor t;
    CHECK_FAILS(p3d_weights_get(w, "conv.weights", &t), P3D_ERR_MODEL, "missing tensor conv.weights");
    CHECK_FAILS(p3d_weights_expect_kind(w, P3D_MODEL_INPAINT_DEPTH), P3D_ERR_MODEL,
                "is a example model, expected inpaint-depth");
    CHECK(starts_with_path(example_path()));
    p3d_weights_free(w);
}

static void expected_table(void) {
    p3d_weights *w = load_example();
    if (!w) return;
    p3d_weight_spec spec[EXAMPLE_TENSORS + 1];
    int32_t n = example_spec(w, spec);
    CHECK_OK(p3d_weights_check(w, spec, n));

    spec[0].dims[2] = spec[0].dims[3] = 5; /* conv.weight: 5x5 kernels */
    CHECK_FAILS(p3d_weights_check(w, spec, n), P3D_ERR_MODEL, "conv.weight: got [4,3,3,3], expected [4,3,5,5]");
    CHECK(starts_with_path(example_path()));
    spec[0].dims[2] = spec[0].dims[3] = 3;

    spec[n] = (p3d_weight_spec){"extra.weight", P3D_F32, 2, {7, 9}};
    CHECK_FAILS(p3d_weights_check(w, spec, n + 1), P3D_ERR_MODEL, "missing tensor extra.weight (expected [7,9])");
    CHECK_FAILS(p3d_weights_check(w, spec, n - 1), P3D_ERR_MODEL, "unknown tensor fc.weight_int8");
    spec[n - 1].dtype = P3D_F32;
    CHECK_FAILS(p3d_weights_check(w, spec, n), P3D_ERR_MODEL, "fc.weight_int8: got i8 [5,2], expected f32 [5,2]");
    spec[n - 1].dtype = P3D_I8;

    /* All three at once: one message naming each, in spec order, then the unknown ones. */
    spec[6].dims[3] = 3; /* up.weight */
    CHECK_FAILS(p3d_weights_check(w, spec + 1, n), P3D_ERR_MODEL,
                "up.weight: got [4,2,2,2], expected [4,2,2,3]; missing tensor extra.weight (expected [7,9]); "
                "unknown tensor conv.weight");
    CHECK(starts_with_path(example_path()));
    /* More problems than the message lists: the rest are counted. */
    CHECK_FAILS(p3d_weights_check(w, spec + 8, 3), P3D_ERR_MODEL, "; and 4 more problems");
    p3d_weights_free(w);
}

/* Uploads into a CPU context (host memory from p3d_ctx_alloc) and, with a GPU, a CUDA one. */
static void upload_to(p3d_ctx *ctx) {
    p3d_weights *w = load_example();
    if (!w) return;
    p3d_tensor host, dev;
    CHECK_OK(p3d_weights_get(w, "conv.weight", &host));
    size_t base = p3d_ctx_bytes_in_use(ctx);
    CHECK_OK(p3d_weights_upload(w, ctx, "conv.weight", &dev));
    CHECK(dev.mem == p3d_ctx_mem(ctx) && p3d_tensor_same_shape(&dev, &host));
    float back[108];
    CHECK(p3d_tensor_nbytes(&host) == sizeof back);
    CHECK_OK(p3d_ctx_download(ctx, back, dev.data, sizeof back));
    CHECK(memcmp(back, host.data, sizeof back) == 0);
    p3d_ctx_release(ctx, dev.data);
    CHECK_FAILS(p3d_weights_upload(w, ctx, "nope", &dev), P3D_ERR_MODEL, "missing tensor nope");

    void *block = NULL;
    CHECK_OK(p3d_weights_upload_all(w, ctx, &block));
    p3d_weights_free(w); /* the uploaded copy outlives the blob */
    w = load_example();
    for (int32_t i = 0; w && i < p3d_weights_count(w); i++) {
        p3d_tensor h, d;
        const char *name = p3d_weights_tensor_at(w, i, &h);
        CHECK_OK(p3d_weights_get_in(w, ctx, block, name, &d));
        CHECK(p3d_tensor_same_shape(&d, &h) && d.scale == h.scale && d.zero_point == h.zero_point);
        uint8_t buf[512];
        size_t nb = p3d_tensor_nbytes(&h);
        CHECK(nb <= sizeof buf && d.mem == p3d_ctx_mem(ctx));
        if (nb > sizeof buf) continue;
        CHECK_OK(p3d_ctx_download(ctx, buf, d.data, nb));
        CHECK_MSG(memcmp(buf, h.data, nb) == 0, "%s differs after upload_all", name);
    }
    p3d_ctx_release(ctx, block);
    CHECK(p3d_ctx_bytes_in_use(ctx) == base);
    p3d_weights_free(w);
}

static void upload_cpu(void) {
    p3d_ctx *ctx = NULL;
    CHECK_OK(p3d_ctx_init(&ctx, (p3d_device){P3D_DEVICE_CPU, 0}));
    if (ctx) upload_to(ctx);
    p3d_ctx_free(ctx);
}

static void upload_cuda(void) {
    p3d_device dev = {P3D_DEVICE_AUTO, 0};
    p3d_log_set_level(P3D_LOG_WARN);
    CHECK_OK(p3d_device_resolve(&dev));
    if (dev.kind != P3D_DEVICE_CUDA) {
        SKIP_GPU("no usable CUDA device: device upload not compared");
        return;
    }
    p3d_t_gpu_present = 1;
    p3d_ctx *ctx = NULL;
    CHECK_OK(p3d_ctx_init(&ctx, dev));
    if (ctx) upload_to(ctx);
    p3d_ctx_free(ctx);
}

/* ---- malformed blobs ---------------------------------------------------------------------------------- */
static void m_empty(blob *b) { b->len = 0; }
static void m_short_header(blob *b) { b->len = 40; }
static void m_short_data(blob *b) { b->len -= 100; }
static void m_short_data_consistent(blob *b) {
    b->len -= 100;
    put_le(b, H_SIZE, 8, b->len);
}
static void m_magic(blob *b) { b->buf[0] = 'X'; }
static void m_version2(blob *b) { put_le(b, H_VERSION, 4, 2); }
static void m_version0(blob *b) { put_le(b, H_VERSION, 4, 0); }
static void m_swapped(blob *b) { put_le(b, H_PROBE, 4, 0x04030201u); }
static void m_probe(blob *b) { put_le(b, H_PROBE, 4, 0x01020305u); }
static void m_size_larger(blob *b) { put_le(b, H_SIZE, 8, b->len + 64); }
static void m_size_smaller(blob *b) { put_le(b, H_SIZE, 8, b->len - 64); }
static void m_align(blob *b) { put_le(b, H_ALIGN, 4, 32); }
static void m_kind(blob *b) { put_le(b, H_KIND, 4, 99); }
static void m_table_past_eof(blob *b) { put_le(b, H_TOFF, 8, b->len + 64); }
static void m_table_in_header(blob *b) { put_le(b, H_TOFF, 8, 8); }
static void m_data_unaligned(blob *b) { put_le(b, H_DOFF, 8, get_le(b, H_DOFF, 8) + 8); }
static void m_data_before_table(blob *b) { put_le(b, H_DOFF, 8, 64); }
static void m_many_tensors(blob *b) { put_le(b, H_NT, 4, 0xFFFFFFFFu); }
static void m_many_hparams(blob *b) { put_le(b, H_NHP, 4, 0x7FFFFFFFu); }
static void m_tensor_past_eof(blob *b) { put_le(b, tensor_field(b, "fc.bias", 0, T_OFFSET), 8, 1ull << 40); }
static void m_tensor_offset_wraps(blob *b) { put_le(b, tensor_field(b, "fc.bias", 0, T_OFFSET), 8, ~63ull); }
static void m_tensor_unaligned(blob *b) {
    size_t at = tensor_field(b, "conv.bias", 0, T_OFFSET);
    put_le(b, at, 8, get_le(b, at, 8) + 4);
}
static void m_tensor_overlap(blob *b) {
    put_le(b, tensor_field(b, "conv.bias", 0, T_OFFSET), 8, get_le(b, tensor_field(b, "conv.weight", 0, T_OFFSET), 8));
}
static void m_nbytes(blob *b) { put_le(b, tensor_field(b, "conv.bias", 0, T_NBYTES), 8, 20); }
/* fc.weight [2^32, 2^31]: 2^63 elements, past INT64_MAX though a 64-bit size_t holds the product. */
static void m_numel_overflow_i64(blob *b) {
    size_t dims = tensor_field(b, "fc.weight", 0, T_DIMS);
    put_le(b, dims, 8, 1ull << 32);
    put_le(b, dims + 8, 8, 1ull << 31);
}
/* fc.weight [2^32, 2^32]: the product overflows size_t too. */
static void m_numel_overflow_size(blob *b) {
    size_t dims = tensor_field(b, "fc.weight", 0, T_DIMS);
    put_le(b, dims, 8, 1ull << 32);
    put_le(b, dims + 8, 8, 1ull << 32);
}
/* conv.bias [2^62]: a valid int64 element count whose f32 byte size (2^64) overflows size_t. */
static void m_bytes_overflow(blob *b) { put_le(b, tensor_field(b, "conv.bias", 0, T_DIMS), 8, 1ull << 62); }
static void m_dim_negative(blob *b) { put_le(b, tensor_field(b, "conv.weight", 0, T_DIMS) + 16, 8, (uint64_t)-3); }
static void m_dim_zero(blob *b) { put_le(b, tensor_field(b, "conv.bias", 0, T_DIMS), 8, 0); }
static void m_ndim0(blob *b) { b->buf[tensor_field(b, "conv.bias", 0, T_NDIM)] = 0; }
static void m_ndim5(blob *b) { b->buf[tensor_field(b, "conv.bias", 0, T_NDIM)] = 5; }
static void m_dtype(blob *b) { b->buf[tensor_field(b, "conv.bias", 0, T_DTYPE)] = 9; }
static void m_duplicate(blob *b) { memcpy(b->buf + tensor_field(b, "up.weight", 0, T_NAME), "conv.bias", 9); }
static void m_name_nul(blob *b) { b->buf[tensor_field(b, "up.weight", 0, T_NAME) + 2] = 0; }
static void m_name_utf8(blob *b) { b->buf[tensor_field(b, "up.weight", 0, T_NAME) + 2] = 0xFF; }
static void m_name_len0(blob *b) { put_le(b, tensor_field(b, "conv.bias", 0, T_NAMELEN), 2, 0); }
static void m_name_len_big(blob *b) { put_le(b, tensor_field(b, "conv.bias", 0, T_NAMELEN), 2, 1024); }
/* The first record's name runs past the end: cut the file 500 bytes into the table, with a header that
 * agrees on the size (and a data section the cut leaves in place). */
static void m_name_past_eof(blob *b) {
    put_le(b, tensor_field(b, NULL, 0, T_NAMELEN), 2, 1023);
    b->len = get_le(b, H_TOFF, 8) + 500;
    put_le(b, H_SIZE, 8, b->len);
    put_le(b, H_DOFF, 8, 64);
}
static void m_f32_scale(blob *b) { put_le(b, tensor_field(b, "conv.bias", 0, T_SCALE), 4, 0x40000000u); }
static void m_int8_scale_nan(blob *b) { put_le(b, tensor_field(b, "fc.weight_int8", 0, T_SCALE), 4, 0x7FC00000u); }
static void m_int8_zp(blob *b) { put_le(b, tensor_field(b, "fc.weight_int8", 0, T_ZP), 4, 300); }
static void m_hparam_str_past_eof(blob *b) { put_le(b, hparam_value(b, "activation"), 4, 0xFFFFFFF0u); }
static void m_hparam_type(blob *b) { b->buf[hparam_value(b, "channels") - 10] = 7; }
static void m_hparam_key_len0(blob *b) { put_le(b, get_le(b, H_HPOFF, 8), 2, 0); }
static void m_hparam_duplicate(blob *b) { memcpy(b->buf + hparam_value(b, "up_channels") - 11, "in", 2); }
static void m_reserved(blob *b) { put_le(b, 60, 4, 1); }

typedef struct malformed {
    const char *label;
    void (*mutate)(blob *b);
    const char *needle;
} malformed;

static const malformed k_malformed[] = {
    {"empty", m_empty, "empty file (0 bytes)"},
    {"short-header", m_short_header, "truncated: 40 bytes, shorter than the 64-byte header"},
    {"short-data", m_short_data, "truncated: header says 1920 bytes, file has 1820"},
    {"short-data-consistent", m_short_data_consistent, "runs past the end of the file (1820 bytes)"},
    {"magic", m_magic, "not a p3dw weight blob (starts with bytes 58 33 44 57"},
    {"version2", m_version2, "written by a newer photo3d-gpu (format v2, this build reads 1)"},
    {"version0", m_version0, "format version 0"},
    {"byte-swapped", m_swapped, "byte-swapped"},
    {"probe", m_probe, "endian probe 0x01020305"},
    {"size-larger", m_size_larger, "truncated: header says 1984 bytes, file has 1920"},
    {"size-smaller", m_size_smaller, "header says 1856 bytes, file has 1920"},
    {"alignment", m_align, "alignment 32, expected 64"},
    {"kind", m_kind, "unknown model kind 99"},
    {"reserved", m_reserved, "reserved header field is 1"},
    {"table-past-eof", m_table_past_eof, "table_offset 1984 is past the end of the file (1920 bytes)"},
    {"table-in-header", m_table_in_header, "table_offset 8 points into the 64-byte header"},
    {"data-unaligned", m_data_unaligned, "is not a multiple of 64"},
    {"data-before-table", m_data_before_table, "past data_offset 64"},
    {"many-tensors", m_many_tensors, "4294967295 tensor records cannot fit"},
    {"many-hparams", m_many_hparams, "2147483647 hyper-parameter records cannot fit"},
    {"tensor-past-eof", m_tensor_past_eof, "tensor fc.bias: data (20 bytes at data_offset + 1099511627776) runs past"},
    {"tensor-offset-wraps", m_tensor_offset_wraps, "fc.bias: data (20 bytes at data_offset + 18446744073709551552)"},
    {"tensor-unaligned", m_tensor_unaligned, "tensor conv.bias: data offset 452 is not a multiple of 64"},
    {"tensor-overlap", m_tensor_overlap, "tensor conv.bias: data at data_offset + 0 overlaps the previous tensor's"},
    {"nbytes", m_nbytes, "tensor conv.bias: nbytes 20, but f32 [4] is 16 bytes"},
    {"numel-overflow-int64", m_numel_overflow_i64, "fc.weight: [4294967296,2147483648] has more elements than int64"},
    {"numel-overflow-size", m_numel_overflow_size, "fc.weight: [4294967296,4294967296] has more elements"},
    {"bytes-overflow", m_bytes_overflow, "conv.bias: f32 [4611686018427387904] overflows size_t"},
    {"dim-negative", m_dim_negative, "tensor conv.weight: dimension 2 is -3"},
    {"dim-zero", m_dim_zero, "tensor conv.bias: dimension 0 is 0"},
    {"ndim0", m_ndim0, "tensor conv.bias: ndim 0 (must be 1..4)"},
    {"ndim5", m_ndim5, "tensor conv.bias: ndim 5 (must be 1..4)"},
    {"dtype", m_dtype, "tensor conv.bias: unknown dtype 9"},
    {"duplicate-name", m_duplicate, "duplicate tensor name conv.bias (records 1 and 6)"},
    {"name-nul", m_name_nul, "tensor record 6: name is not UTF-8 text without NUL"},
    {"name-utf8", m_name_utf8, "tensor record 6: name is not UTF-8 text without NUL"},
    {"name-len0", m_name_len0, "tensor record 1: name length 0 (must be 1..1023)"},
    {"name-len-big", m_name_len_big, "tensor record 1: name length 1024 (must be 1..1023)"},
    {"name-past-eof", m_name_past_eof, "tensor record 0: name (1023 bytes at offset"},
    {"f32-scale", m_f32_scale, "tensor conv.bias: f32 with scale 2 and zero_point 0"},
    {"int8-scale-nan", m_int8_scale_nan, "tensor fc.weight_int8: scale nan"},
    {"int8-zero-point", m_int8_zp, "tensor fc.weight_int8: zero_point 300 outside [-128, 127]"},
    {"hparam-string-past-eof", m_hparam_str_past_eof, "string value (4294967280 bytes at offset"},
    {"hparam-type", m_hparam_type, "hyper-parameter channels: unknown value type 7"},
    {"hparam-key-len0", m_hparam_key_len0, "hyper-parameter record 0: key length 0 (must be 1..255)"},
    {"hparam-duplicate", m_hparam_duplicate, "duplicate hyper-parameter in_channels (records 0 and 2)"},
};

static void malformed_blobs(void) {
    for (size_t i = 0; i < sizeof k_malformed / sizeof k_malformed[0]; i++) {
        const malformed *m = &k_malformed[i];
        blob b = read_blob(example_path());
        char path[1024];
        m->mutate(&b);
        write_blob(m->label, &b, path, sizeof path);
        static char not_set;
        p3d_weights *w = (p3d_weights *)(void *)&not_set; /* a failed load must set it to NULL */
        CHECK_FAILS(p3d_weights_load(path, &w), P3D_ERR_FORMAT, m->needle);
        CHECK_MSG(w == NULL && starts_with_path(path), "%s: %s", m->label, p3d_last_error());
        if (w != (p3d_weights *)(void *)&not_set) p3d_weights_free(w);
        free(b.buf);
    }
}

static void missing_and_directory(void) {
    char path[1024];
    p3d_weights *w = NULL;
    snprintf(path, sizeof path, "%s/does-not-exist.p3dw", p3d_test_tmpdir());
    CHECK_FAILS(p3d_weights_load(path, &w), P3D_ERR_IO, "does-not-exist.p3dw: cannot open: No such file");
    CHECK(w == NULL && starts_with_path(path));
    CHECK_FAILS(p3d_weights_load(p3d_test_tmpdir(), &w), P3D_ERR_IO, "is a directory");
    CHECK(w == NULL && starts_with_path(p3d_test_tmpdir()));
}

/* Loads path and checks the outcome: success, or a P3D_ERR_FORMAT whose message starts with the path. */
static int load_or_refuse(const char *path, int *loaded) {
    p3d_weights *w = NULL;
    p3d_status st = p3d_weights_load(path, &w);
    if (st == P3D_OK) {
        p3d_tensor t;
        for (int32_t i = 0; i < p3d_weights_count(w); i++) p3d_weights_tensor_at(w, i, &t);
        p3d_weights_free(w);
        ++*loaded;
        return 1;
    }
    return st == P3D_ERR_FORMAT && w == NULL && starts_with_path(path);
}

/* Every byte before the data section set to 0x00, 0xFF, 0x80 or flipped, and every truncation: each
 * load either succeeds or fails with a message that starts with the path. Under the sanitizers this is
 * the proof that no malformed header or table reads outside the file. The file is patched in place
 * (pwrite, ftruncate): rewriting it thousands of times is slow on some file systems. */
static void every_byte_and_length(void) {
    blob orig = read_blob(example_path());
    size_t data_offset = get_le(&orig, H_DOFF, 8);
    char path[1024];
    write_blob("fuzz", &orig, path, sizeof path);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    if (fd < 0) {
        free(orig.buf);
        return;
    }
    int loaded = 0, tries = 0;
    for (size_t at = 0; at < data_offset; at++) {
        const uint8_t values[] = {0x00, 0xFF, 0x80, (uint8_t)(orig.buf[at] ^ 0x01)};
        for (size_t v = 0; v < sizeof values; v++, tries++) {
            CHECK(pwrite(fd, &values[v], 1, (off_t)at) == 1);
            CHECK_MSG(load_or_refuse(path, &loaded), "byte %zu = 0x%02x: %s", at, values[v], p3d_last_error());
        }
        CHECK(pwrite(fd, &orig.buf[at], 1, (off_t)at) == 1);
    }
    for (size_t len = orig.len; len-- > 0;) {
        int none = 0;
        CHECK(ftruncate(fd, (off_t)len) == 0);
        CHECK_MSG(load_or_refuse(path, &none) && none == 0, "cut at %zu: %s", len, p3d_last_error());
    }
    close(fd);
    fprintf(stderr, "  %d mutated headers/tables: %d loaded, %d refused; %zu truncations refused\n", tries, loaded,
            tries - loaded, orig.len);
    CHECK(loaded < tries);
    free(orig.buf);
}

int main(void) {
    RUN(load_and_compare);
    RUN(load_mapped);
    RUN(load_without_mmap);
    RUN(int8_keeps_quantization);
    RUN(hparam_errors);
    RUN(expected_table);
    RUN(upload_cpu);
    RUN(upload_cuda);
    RUN(malformed_blobs);
    RUN(missing_and_directory);
    RUN(every_byte_and_length);
    return p3d_test_finish();
}
