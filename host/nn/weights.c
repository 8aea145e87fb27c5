/* weights.c - the p3dw loader: map the file, validate every field weights/FORMAT.md lists, then
 * serve lookups, the expected-table check and uploads. Nothing in the file is trusted: every read goes
 * through a bounds-checked cursor and every size is computed with overflow checks. */
#include "nn/weights.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define P3DW_VERSION 1u
#define P3DW_PROBE 0x01020304u
#define P3DW_PROBE_SWAPPED 0x04030201u
#define P3DW_ALIGN 64u
#define P3DW_HEADER 64u
/* Smallest records: a 1-byte key with an empty string value; a 1-byte name with one dimension. They
 * bound n_hparams / n_tensors by the file size before anything is allocated. */
#define P3DW_HPARAM_MIN (4u + 1u + 4u)
#define P3DW_TENSOR_MIN (4u + 1u + 8u + 24u)
#define P3DW_KEY_MAX 255u
#define P3DW_NAME_MAX 1023u
/* p3d_weights_check reports this many problems in its message, then a count of the rest. */
#define P3DW_CHECK_REPORTED 4

enum { P3DW_HP_I64 = 0, P3DW_HP_F64 = 1, P3DW_HP_STR = 2 };
static const char *const k_hparam_type_names[] = {"i64", "f64", "string"};

typedef struct p3dw_hparam {
    const char *key; /* NUL-terminated copy in the string pool */
    uint8_t type;    /* P3DW_HP_* */
    int64_t i64;
    double f64;
    const char *str;                     /* P3DW_HP_STR: NUL-terminated copy in the string pool */
    size_t key_at, key_len, str_at, str_len; /* where the bytes lie in the file image */
} p3dw_hparam;

typedef struct p3dw_tensor {
    const char *name; /* NUL-terminated copy in the string pool */
    p3d_tensor host;  /* view into the file image */
    size_t offset;    /* relative to data_offset */
    size_t nbytes;
    size_t name_at, name_len;
} p3dw_tensor;

/* One entry of a by-name index: sorted with qsort, searched with bsearch. */
typedef struct p3dw_name_index {
    const char *name;
    int32_t index;
} p3dw_name_index;

struct p3d_weights {
    char *path;
    const uint8_t *image; /* the whole file, read-only; 64-byte aligned */
    size_t size;
    int mapped; /* 1: munmap the image, 0: free it */
    p3d_model_kind kind;
    size_t hparams_offset, table_offset, data_offset;
    int32_t n_hparams, n_tensors;
    p3dw_hparam *hparams; /* file order */
    p3dw_tensor *tensors; /* file order */
    p3dw_name_index *hparams_by_key;
    p3dw_name_index *tensors_by_name;
    char *strings; /* every key, name and string value, NUL-terminated */
};

static const char *const k_kind_names[P3D_MODEL_KIND_COUNT] = {
    "example", "inpaint-edge", "inpaint-depth", "inpaint-color",
    "midas-v1", "midas-small", "midas-large", "tiefenrausch",
};

const char *p3d_model_kind_name(p3d_model_kind kind) {
    if ((unsigned)kind >= P3D_MODEL_KIND_COUNT) return "?";
    return k_kind_names[kind];
}

/* ---- little-endian decoding (the file's byte order, whatever the host's) ------------------------ */
static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }
static int64_t le_i64(const uint8_t *p) {
    uint64_t u = le64(p);
    int64_t v;
    memcpy(&v, &u, sizeof v);
    return v;
}
static double le_f64(const uint8_t *p) {
    uint64_t u = le64(p);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}
static float le_f32(const uint8_t *p) {
    uint32_t u = le32(p);
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* A P3D_ERR_FORMAT message that starts with the path. */
static p3d_status bad(const p3d_weights *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static p3d_status bad(const p3d_weights *w, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return p3d_fail(P3D_ERR_FORMAT, "%s: %s", w->path, msg);
}

/* Keys, names and string values: well-formed UTF-8 without NUL (FORMAT.md). */
static int valid_text(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c == 0) return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1Fu, min = 0x80;
        else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0Fu, min = 0x800;
        else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07u, min = 0x10000;
        else return 0;
        if (n - i < len) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

/* ---- a bounds-checked reader over the file image ------------------------------------------------- */
typedef struct p3dw_cursor {
    const p3d_weights *w;
    size_t pos;
    const char *what; /* "hyper-parameter record" or "tensor record" */
    int32_t index;
} p3dw_cursor;

/* Advances over n bytes and points *out at them, or fails naming the record and the field. */
static p3d_status take(p3dw_cursor *c, size_t n, const char *field, const uint8_t **out) {
    size_t end;
    if (!p3d_size_add(c->pos, n, &end) || end > c->w->size)
        return bad(c->w, "%s %d: %s (%zu bytes at offset %zu) runs past the end of the file (%zu bytes)",
                   c->what, (int)c->index, field, n, c->pos, c->w->size);
    *out = c->w->image + c->pos;
    c->pos = end;
    return P3D_OK;
}

/* A key or name: u16 length in [1, max] already read; takes and checks the bytes. */
static p3d_status take_text(p3dw_cursor *c, size_t len, size_t max, const char *field, size_t *at) {
    const uint8_t *p = NULL;
    if (len < 1 || len > max)
        return bad(c->w, "%s %d: %s length %zu (must be 1..%zu)", c->what, (int)c->index, field, len, max);
    P3D_TRY(take(c, len, field, &p));
    if (!valid_text(p, len)) return bad(c->w, "%s %d: %s is not UTF-8 text without NUL", c->what, (int)c->index, field);
    *at = (size_t)(p - c->w->image);
    return P3D_OK;
}

/* ---- opening ------------------------------------------------------------------------------------ */
static p3d_status read_whole(p3d_weights *w, int fd) {
    size_t cap = (w->size + P3DW_ALIGN - 1) / P3DW_ALIGN * P3DW_ALIGN;
    uint8_t *buf = (uint8_t *)aligned_alloc(P3DW_ALIGN, cap);
    if (!buf) return p3d_fail(P3D_ERR_OOM, "%s: out of memory reading %zu bytes", w->path, w->size);
    size_t got = 0;
    while (got < w->size) {
        ssize_t n = read(fd, buf + got, w->size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            p3d_status st = n < 0 ? p3d_fail(P3D_ERR_IO, "%s: read failed: %s", w->path, strerror(errno))
                                  : bad(w, "truncated while reading: %zu of %zu bytes", got, w->size);
            free(buf);
            return st;
        }
        got += (size_t)n;
    }
    w->image = buf;
    w->mapped = 0;
    return P3D_OK;
}

/* Maps (or reads) the file into w->image / w->size. An empty file leaves image NULL. */
static p3d_status open_image(p3d_weights *w) {
    int fd = open(w->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return p3d_fail(P3D_ERR_IO, "%s: cannot open: %s", w->path, strerror(errno));
    struct stat sb;
    p3d_status st = P3D_OK;
    if (fstat(fd, &sb) != 0)
        st = p3d_fail(P3D_ERR_IO, "%s: cannot stat: %s", w->path, strerror(errno));
    else if (S_ISDIR(sb.st_mode))
        st = p3d_fail(P3D_ERR_IO, "%s: is a directory, not a weight blob", w->path);
    else if (!S_ISREG(sb.st_mode))
        st = p3d_fail(P3D_ERR_IO, "%s: not a regular file", w->path);
    else if ((uint64_t)sb.st_size > SIZE_MAX - P3DW_ALIGN)
        st = bad(w, "%lld bytes: too large for this machine's address space", (long long)sb.st_size);
    if (st != P3D_OK || sb.st_size == 0) {
        close(fd);
        return st;
    }
    w->size = (size_t)sb.st_size;
    /* Read by default: a private copy survives the file being rewritten in place (cp over it) while a
     * batch runs, where a mapping would fault (SIGBUS) at the next access of a truncated page.
     * P3D_WEIGHTS_MMAP=1 maps instead (shared pages, for a blob that is only ever replaced by rename). */
    const char *use_mmap = getenv("P3D_WEIGHTS_MMAP"), *no_mmap = getenv("P3D_WEIGHTS_NO_MMAP");
    if (use_mmap && strcmp(use_mmap, "1") == 0 && !(no_mmap && strcmp(no_mmap, "1") == 0)) {
        void *p = mmap(NULL, w->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            w->image = (const uint8_t *)p;
            w->mapped = 1;
            close(fd);
            return P3D_OK;
        }
        p3d_log(P3D_LOG_DEBUG, "%s: mmap failed (%s): reading the file instead", w->path, strerror(errno));
    }
    st = read_whole(w, fd);
    close(fd);
    return st;
}

/* ---- the header ---------------------------------------------------------------------------------- */
/* An offset field must point past the header and inside the file; then it fits a size_t. */
static p3d_status header_offset(const p3d_weights *w, const uint8_t *h, size_t at, const char *field,
                                size_t *out) {
    uint64_t v = le64(h + at);
    if (v < P3DW_HEADER) return bad(w, "%s %llu points into the 64-byte header", field, (unsigned long long)v);
    if (v > w->size)
        return bad(w, "%s %llu is past the end of the file (%zu bytes)", field, (unsigned long long)v, w->size);
    *out = (size_t)v;
    return P3D_OK;
}

/* n records of at least min_size bytes each must fit between offset and the end of the file. */
static p3d_status header_count(const p3d_weights *w, uint32_t n, size_t offset, size_t min_size,
                               const char *what, int32_t *out) {
    if (n > (w->size - offset) / min_size || n > INT32_MAX)
        return bad(w, "%u %s records cannot fit in the %zu bytes after offset %zu", n, what, w->size - offset,
                   offset);
    *out = (int32_t)n;
    return P3D_OK;
}

static p3d_status parse_header(p3d_weights *w) {
    const uint8_t *h = w->image;
    if (w->size == 0) return bad(w, "empty file (0 bytes), not a p3dw weight blob");
    size_t n = w->size < 4 ? w->size : 4;
    if (memcmp(h, "P3DW", n) != 0) {
        char got[16] = "";
        for (size_t i = 0; i < n; i++) snprintf(got + 3 * i, sizeof got - 3 * i, "%02x ", h[i]);
        got[3 * n - 1] = '\0';
        return bad(w, "not a p3dw weight blob (starts with bytes %s, expected \"P3DW\")", got);
    }
    if (w->size < P3DW_HEADER)
        return bad(w, "truncated: %zu bytes, shorter than the 64-byte header", w->size);
    uint32_t probe = le32(h + 8), version = le32(h + 4);
    if (probe == P3DW_PROBE_SWAPPED)
        return bad(w, "byte-swapped: endian probe reads 0x%08x, expected 0x%08x (written in big-endian order, "
                      "not by tools/p3dw.py; reconvert it)", probe, P3DW_PROBE);
    if (probe != P3DW_PROBE) return bad(w, "corrupt header: endian probe 0x%08x, expected 0x%08x", probe, P3DW_PROBE);
    if (version > P3DW_VERSION)
        return bad(w, "written by a newer photo3d-gpu (format v%u, this build reads %u)", version, P3DW_VERSION);
    if (version != P3DW_VERSION) return bad(w, "format version %u (this build reads %u)", version, P3DW_VERSION);
    uint64_t file_size = le64(h + 48);
    if (file_size > w->size)
        return bad(w, "truncated: header says %llu bytes, file has %zu", (unsigned long long)file_size, w->size);
    if (file_size != w->size)
        return bad(w, "header says %llu bytes, file has %zu (trailing data)", (unsigned long long)file_size, w->size);
    if (le32(h + 56) != P3DW_ALIGN) return bad(w, "alignment %u, expected %u", le32(h + 56), P3DW_ALIGN);
    if (le32(h + 60) != 0) return bad(w, "reserved header field is %u, expected 0", le32(h + 60));
    uint32_t kind = le32(h + 12);
    if (kind >= P3D_MODEL_KIND_COUNT)
        return bad(w, "unknown model kind %u (this build knows 0..%d)", kind, P3D_MODEL_KIND_COUNT - 1);
    w->kind = (p3d_model_kind)kind;
    P3D_TRY(header_offset(w, h, 24, "hparams_offset", &w->hparams_offset));
    P3D_TRY(header_offset(w, h, 32, "table_offset", &w->table_offset));
    P3D_TRY(header_offset(w, h, 40, "data_offset", &w->data_offset));
    if (w->data_offset % P3DW_ALIGN != 0)
        return bad(w, "data_offset %zu is not a multiple of %u", w->data_offset, P3DW_ALIGN);
    P3D_TRY(header_count(w, le32(h + 16), w->hparams_offset, P3DW_HPARAM_MIN, "hyper-parameter", &w->n_hparams));
    return header_count(w, le32(h + 20), w->table_offset, P3DW_TENSOR_MIN, "tensor", &w->n_tensors);
}

/* ---- hyper-parameter records --------------------------------------------------------------------- */
static p3d_status parse_hparams(p3d_weights *w, size_t *end) {
    p3dw_cursor c = {w, w->hparams_offset, "hyper-parameter record", 0};
    for (; c.index < w->n_hparams; c.index++) {
        p3dw_hparam *hp = &w->hparams[c.index];
        const uint8_t *p = NULL;
        P3D_TRY(take(&c, 4, "header", &p));
        hp->key_len = le16(p);
        hp->type = p[2];
        if (p[3] != 0) return bad(w, "hyper-parameter record %d: reserved byte is %u, expected 0", (int)c.index, p[3]);
        P3D_TRY(take_text(&c, hp->key_len, P3DW_KEY_MAX, "key", &hp->key_at));
        const int klen = (int)hp->key_len;
        const char *key = (const char *)w->image + hp->key_at;
        switch (hp->type) {
        case P3DW_HP_I64:
            P3D_TRY(take(&c, 8, "i64 value", &p));
            hp->i64 = le_i64(p);
            break;
        case P3DW_HP_F64:
            P3D_TRY(take(&c, 8, "f64 value", &p));
            hp->f64 = le_f64(p);
            break;
        case P3DW_HP_STR:
            P3D_TRY(take(&c, 4, "string length", &p));
            hp->str_len = le32(p);
            P3D_TRY(take(&c, hp->str_len, "string value", &p));
            if (!valid_text(p, hp->str_len))
                return bad(w, "hyper-parameter %.*s: string value is not UTF-8 text without NUL", klen, key);
            hp->str_at = (size_t)(p - w->image);
            break;
        default:
            return bad(w, "hyper-parameter %.*s: unknown value type %u (0 = i64, 1 = f64, 2 = string)", klen, key,
                       hp->type);
        }
    }
    *end = c.pos;
    return P3D_OK;
}

/* ---- tensor records ------------------------------------------------------------------------------ */
/* dtype, scale and zero point: f32 has scale 1 and zero point 0; the integer dtypes a finite scale > 0,
 * and i8/u8 a zero point their values can take. */
static p3d_status check_quantization(const p3d_weights *w, const char *name, int nlen, const p3d_tensor *t) {
    if (t->dtype == P3D_F32) {
        if (t->scale != 1.0f || t->zero_point != 0)
            return bad(w, "tensor %.*s: f32 with scale %g and zero_point %d (must be 1 and 0)", nlen, name,
                       (double)t->scale, (int)t->zero_point);
        return P3D_OK;
    }
    if (!(isfinite(t->scale) && t->scale > 0.0f))
        return bad(w, "tensor %.*s: scale %g (must be finite and > 0)", nlen, name, (double)t->scale);
    int32_t lo = t->dtype == P3D_I8 ? -128 : 0, hi = t->dtype == P3D_I8 ? 127 : 255;
    if (t->dtype != P3D_I32 && (t->zero_point < lo || t->zero_point > hi))
        return bad(w, "tensor %.*s: zero_point %d outside [%d, %d] of %s", nlen, name, (int)t->zero_point, (int)lo,
                   (int)hi, p3d_dtype_name(t->dtype));
    return P3D_OK;
}

/* dims >= 1, product(dims) * dtype size without overflow (int64 for the element count, size_t for the
 * bytes) and equal to the record's nbytes. */
static p3d_status check_size(const p3d_weights *w, const char *name, int nlen, const p3d_tensor *t,
                             uint64_t nbytes) {
    char shape[160];
    p3d_shape_str(shape, sizeof shape, t->ndim, t->shape);
    size_t numel = 1, bytes;
    for (int32_t d = 0; d < t->ndim; d++) {
        if (t->shape[d] < 1)
            return bad(w, "tensor %.*s: dimension %d is %lld in %s (must be >= 1)", nlen, name, (int)d,
                       (long long)t->shape[d], shape);
        if (!p3d_size_mul(numel, (size_t)t->shape[d], &numel) || numel > (size_t)INT64_MAX)
            return bad(w, "tensor %.*s: %s has more elements than int64 holds", nlen, name, shape);
    }
    if (!p3d_size_mul(numel, p3d_dtype_size(t->dtype), &bytes))
        return bad(w, "tensor %.*s: %s %s overflows size_t bytes", nlen, name, p3d_dtype_name(t->dtype), shape);
    if (nbytes != bytes)
        return bad(w, "tensor %.*s: nbytes %llu, but %s %s is %zu bytes", nlen, name, (unsigned long long)nbytes,
                   p3d_dtype_name(t->dtype), shape, bytes);
    return P3D_OK;
}

/* Data offset: aligned, after the previous tensor's data (table order), inside the file. */
static p3d_status check_data_range(const p3d_weights *w, const char *name, int nlen, uint64_t offset,
                                   size_t nbytes, size_t prev_end) {
    size_t start, end;
    if (offset % P3DW_ALIGN != 0)
        return bad(w, "tensor %.*s: data offset %llu is not a multiple of %u", nlen, name,
                   (unsigned long long)offset, P3DW_ALIGN);
    if (offset > w->size || !p3d_size_add(w->data_offset, (size_t)offset, &start) ||
        !p3d_size_add(start, nbytes, &end) || end > w->size)
        return bad(w, "tensor %.*s: data (%zu bytes at data_offset + %llu) runs past the end of the file (%zu bytes)",
                   nlen, name, nbytes, (unsigned long long)offset, w->size);
    if (offset < prev_end)
        return bad(w, "tensor %.*s: data at data_offset + %llu overlaps the previous tensor's (ends at + %zu)", nlen,
                   name, (unsigned long long)offset, prev_end);
    return P3D_OK;
}

static p3d_status parse_tensors(p3d_weights *w, size_t *end) {
    p3dw_cursor c = {w, w->table_offset, "tensor record", 0};
    size_t prev_end = 0;
    for (; c.index < w->n_tensors; c.index++) {
        p3dw_tensor *rec = &w->tensors[c.index];
        p3d_tensor *t = &rec->host;
        const uint8_t *p = NULL;
        P3D_TRY(take(&c, 4, "header", &p));
        rec->name_len = le16(p);
        uint8_t dtype = p[2], ndim = p[3];
        P3D_TRY(take_text(&c, rec->name_len, P3DW_NAME_MAX, "name", &rec->name_at));
        const int nlen = (int)rec->name_len;
        const char *name = (const char *)w->image + rec->name_at;
        if (dtype > P3D_I32)
            return bad(w, "tensor %.*s: unknown dtype %u (0 = f32, 1 = i8, 2 = u8, 3 = i32)", nlen, name, dtype);
        if (ndim < 1 || ndim > P3D_MAX_DIMS) return bad(w, "tensor %.*s: ndim %u (must be 1..4)", nlen, name, ndim);
        memset(t, 0, sizeof *t);
        t->dtype = (p3d_dtype)dtype;
        t->mem = P3D_MEM_HOST;
        t->ndim = ndim;
        P3D_TRY(take(&c, 8u * ndim, "dims", &p));
        for (int32_t d = 0; d < t->ndim; d++) t->shape[d] = le_i64(p + 8 * d);
        P3D_TRY(take(&c, 24, "scale, zero_point, offset and nbytes", &p));
        t->scale = le_f32(p);
        t->zero_point = (int32_t)le32(p + 4);
        uint64_t offset = le64(p + 8), nbytes = le64(p + 16);
        P3D_TRY(check_size(w, name, nlen, t, nbytes));
        P3D_TRY(check_quantization(w, name, nlen, t));
        rec->nbytes = (size_t)nbytes;
        P3D_TRY(check_data_range(w, name, nlen, offset, rec->nbytes, prev_end));
        rec->offset = (size_t)offset;
        prev_end = rec->offset + rec->nbytes;
        t->data = (void *)(w->image + w->data_offset + rec->offset);
    }
    *end = c.pos;
    return P3D_OK;
}

/* The header, the hyper-parameters and the tensor table must not overlap, and both tables end before
 * the data section. Empty tables take no room. */
static p3d_status check_regions(const p3d_weights *w, size_t hparams_end, size_t table_end) {
    if (hparams_end > w->data_offset)
        return bad(w, "hyper-parameter records end at %zu, past data_offset %zu", hparams_end, w->data_offset);
    if (table_end > w->data_offset)
        return bad(w, "tensor records end at %zu, past data_offset %zu", table_end, w->data_offset);
    if (w->n_hparams > 0 && w->n_tensors > 0 && w->hparams_offset < table_end && w->table_offset < hparams_end)
        return bad(w, "hyper-parameter records (bytes %zu..%zu) overlap the tensor records (bytes %zu..%zu)",
                   w->hparams_offset, hparams_end, w->table_offset, table_end);
    return P3D_OK;
}

/* ---- names: NUL-terminated copies, by-name indexes, uniqueness ----------------------------------- */
static char *pool_copy(char **cursor, const uint8_t *src, size_t n) {
    char *dst = *cursor;
    memcpy(dst, src, n);
    dst[n] = '\0';
    *cursor = dst + n + 1;
    return dst;
}

static p3d_status build_strings(p3d_weights *w) {
    /* The texts are disjoint ranges of the file (check_regions), so total <= size + counts: no overflow. */
    size_t total = 1;
    for (int32_t i = 0; i < w->n_hparams; i++) total += w->hparams[i].key_len + 1 + w->hparams[i].str_len + 1;
    for (int32_t i = 0; i < w->n_tensors; i++) total += w->tensors[i].name_len + 1;
    w->strings = (char *)malloc(total);
    if (!w->strings) return p3d_fail(P3D_ERR_OOM, "%s: out of memory for the names", w->path);
    char *cur = w->strings;
    for (int32_t i = 0; i < w->n_hparams; i++) {
        p3dw_hparam *hp = &w->hparams[i];
        hp->key = pool_copy(&cur, w->image + hp->key_at, hp->key_len);
        hp->str = hp->type == P3DW_HP_STR ? pool_copy(&cur, w->image + hp->str_at, hp->str_len) : NULL;
    }
    for (int32_t i = 0; i < w->n_tensors; i++)
        w->tensors[i].name = pool_copy(&cur, w->image + w->tensors[i].name_at, w->tensors[i].name_len);
    return P3D_OK;
}

static int cmp_name_index(const void *a, const void *b) {
    return strcmp(((const p3dw_name_index *)a)->name, ((const p3dw_name_index *)b)->name);
}

/* Sorts idx[0..n) by name; fails on the first name that occurs twice. */
static p3d_status sort_unique(const p3d_weights *w, p3dw_name_index *idx, int32_t n, const char *what) {
    if (n > 1) qsort(idx, (size_t)n, sizeof *idx, cmp_name_index);
    for (int32_t i = 1; i < n; i++)
        if (strcmp(idx[i - 1].name, idx[i].name) == 0) {
            int32_t a = idx[i - 1].index, b = idx[i].index;
            return bad(w, "duplicate %s %s (records %d and %d)", what, idx[i].name, (int)(a < b ? a : b),
                       (int)(a < b ? b : a));
        }
    return P3D_OK;
}

static int32_t find_name(const p3dw_name_index *idx, int32_t n, const char *name) {
    if (n == 0) return -1;
    p3dw_name_index key = {name, 0};
    const p3dw_name_index *hit = (const p3dw_name_index *)bsearch(&key, idx, (size_t)n, sizeof *idx, cmp_name_index);
    return hit ? hit->index : -1;
}

/* ---- load / free -------------------------------------------------------------------------------- */
static p3d_status alloc_tables(p3d_weights *w) {
    /* +1: a table of 0 records still gets a non-NULL pointer. */
    w->hparams = (p3dw_hparam *)calloc((size_t)w->n_hparams + 1, sizeof *w->hparams);
    w->tensors = (p3dw_tensor *)calloc((size_t)w->n_tensors + 1, sizeof *w->tensors);
    w->hparams_by_key = (p3dw_name_index *)calloc((size_t)w->n_hparams + 1, sizeof *w->hparams_by_key);
    w->tensors_by_name = (p3dw_name_index *)calloc((size_t)w->n_tensors + 1, sizeof *w->tensors_by_name);
    if (!w->hparams || !w->tensors || !w->hparams_by_key || !w->tensors_by_name)
        return p3d_fail(P3D_ERR_OOM, "%s: out of memory for %d tensor records", w->path, (int)w->n_tensors);
    return P3D_OK;
}

static p3d_status parse(p3d_weights *w) {
    size_t hparams_end = 0, table_end = 0;
    P3D_TRY(parse_header(w));
    P3D_TRY(alloc_tables(w));
    P3D_TRY(parse_hparams(w, &hparams_end));
    P3D_TRY(parse_tensors(w, &table_end));
    P3D_TRY(check_regions(w, hparams_end, table_end));
    P3D_TRY(build_strings(w));
    for (int32_t i = 0; i < w->n_hparams; i++) w->hparams_by_key[i] = (p3dw_name_index){w->hparams[i].key, i};
    for (int32_t i = 0; i < w->n_tensors; i++) w->tensors_by_name[i] = (p3dw_name_index){w->tensors[i].name, i};
    P3D_TRY(sort_unique(w, w->hparams_by_key, w->n_hparams, "hyper-parameter"));
    return sort_unique(w, w->tensors_by_name, w->n_tensors, "tensor name");
}

p3d_status p3d_weights_load(const char *path, p3d_weights **out) {
    P3D_ASSERT(path && out);
    *out = NULL;
    if (!host_is_little_endian())
        return p3d_fail(P3D_ERR_UNSUPPORTED, "%s: p3dw tensors are little-endian and this host is not", path);
    p3d_weights *w = (p3d_weights *)calloc(1, sizeof *w);
    size_t len = strlen(path);
    if (w) w->path = (char *)malloc(len + 1);
    if (!w || !w->path) {
        free(w);
        return p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    }
    memcpy(w->path, path, len + 1);
    p3d_status st = open_image(w);
    if (st == P3D_OK) st = parse(w);
    if (st != P3D_OK) {
        p3d_weights_free(w);
        return st;
    }
    *out = w;
    return P3D_OK;
}

void p3d_weights_free(p3d_weights *w) {
    if (!w) return;
    if (w->image && w->mapped) munmap((void *)w->image, w->size);
    else free((void *)w->image);
    free(w->hparams);
    free(w->tensors);
    free(w->hparams_by_key);
    free(w->tensors_by_name);
    free(w->strings);
    free(w->path);
    free(w);
}

/* ---- accessors ----------------------------------------------------------------------------------- */
const char *p3d_weights_path(const p3d_weights *w) { return w->path; }
p3d_model_kind p3d_weights_kind(const p3d_weights *w) { return w->kind; }

p3d_status p3d_weights_expect_kind(const p3d_weights *w, p3d_model_kind want) {
    if (w->kind == want) return P3D_OK;
    return p3d_fail(P3D_ERR_MODEL, "%s: is a %s model, expected %s", w->path, p3d_model_kind_name(w->kind),
                    p3d_model_kind_name(want));
}

static p3d_status find_hparam(const p3d_weights *w, const char *key, uint8_t type, const p3dw_hparam **out) {
    int32_t i = find_name(w->hparams_by_key, w->n_hparams, key);
    if (i < 0) return p3d_fail(P3D_ERR_MODEL, "%s: missing hyper-parameter %s", w->path, key);
    if (w->hparams[i].type != type)
        return p3d_fail(P3D_ERR_MODEL, "%s: missing hyper-parameter %s of type %s (the file's is a %s)", w->path, key,
                        k_hparam_type_names[type], k_hparam_type_names[w->hparams[i].type]);
    *out = &w->hparams[i];
    return P3D_OK;
}

p3d_status p3d_weights_hparam_i64(const p3d_weights *w, const char *key, int64_t *out) {
    const p3dw_hparam *hp;
    P3D_TRY(find_hparam(w, key, P3DW_HP_I64, &hp));
    *out = hp->i64;
    return P3D_OK;
}

p3d_status p3d_weights_hparam_f64(const p3d_weights *w, const char *key, double *out) {
    const p3dw_hparam *hp;
    P3D_TRY(find_hparam(w, key, P3DW_HP_F64, &hp));
    *out = hp->f64;
    return P3D_OK;
}

p3d_status p3d_weights_hparam_str(const p3d_weights *w, const char *key, const char **out) {
    const p3dw_hparam *hp;
    P3D_TRY(find_hparam(w, key, P3DW_HP_STR, &hp));
    *out = hp->str;
    return P3D_OK;
}

p3d_status p3d_weights_expect_i64(const p3d_weights *w, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    int64_t v = 0;
    P3D_TRY(p3d_weights_hparam_i64(w, key, &v));
    if (v < lo || v > hi) {
        if (lo == hi)
            return p3d_fail(P3D_ERR_MODEL, "%s: hyper-parameter %s = %lld, this network needs %lld", w->path, key,
                            (long long)v, (long long)lo);
        return p3d_fail(P3D_ERR_MODEL, "%s: hyper-parameter %s = %lld, expected %lld..%lld", w->path, key, (long long)v,
                        (long long)lo, (long long)hi);
    }
    if (out) *out = v;
    return P3D_OK;
}

p3d_status p3d_weights_expect_str(const p3d_weights *w, const char *key, const char *want) {
    const char *v = NULL;
    P3D_TRY(p3d_weights_hparam_str(w, key, &v));
    if (strcmp(v, want) != 0)
        return p3d_fail(P3D_ERR_MODEL, "%s: hyper-parameter %s = '%s', this network needs '%s'", w->path, key, v, want);
    return P3D_OK;
}

int32_t p3d_weights_count(const p3d_weights *w) { return w->n_tensors; }

const char *p3d_weights_tensor_at(const p3d_weights *w, int32_t i, p3d_tensor *out) {
    P3D_ASSERT(i >= 0 && i < w->n_tensors);
    *out = w->tensors[i].host;
    return w->tensors[i].name;
}

static p3d_status find_tensor(const p3d_weights *w, const char *name, const p3dw_tensor **out) {
    int32_t i = find_name(w->tensors_by_name, w->n_tensors, name);
    if (i < 0) return p3d_fail(P3D_ERR_MODEL, "%s: missing tensor %s", w->path, name);
    *out = &w->tensors[i];
    return P3D_OK;
}

p3d_status p3d_weights_get(const p3d_weights *w, const char *name, p3d_tensor *out) {
    const p3dw_tensor *rec = NULL;
    P3D_TRY(find_tensor(w, name, &rec));
    *out = rec->host;
    return P3D_OK;
}

/* ---- the expected-table check -------------------------------------------------------------------- */
typedef struct p3dw_report {
    char msg[900];
    size_t len;
    int32_t problems;
} p3dw_report;

static void report(p3dw_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(p3dw_report *r, const char *fmt, ...) {
    if (r->problems++ >= P3DW_CHECK_REPORTED || r->len >= sizeof r->msg) return;
    if (r->len > 0) r->len += (size_t)snprintf(r->msg + r->len, sizeof r->msg - r->len, "; ");
    if (r->len >= sizeof r->msg) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->msg + r->len, sizeof r->msg - r->len, fmt, ap);
    va_end(ap);
    if (n > 0) r->len += (size_t)n;
}

/* "[4,3,3,3]", with the dtype in front when show_dtype ("i8 [5,2]"). */
static const char *spec_str(char *buf, size_t cap, int show_dtype, p3d_dtype dt, int32_t ndim, const int64_t *dims) {
    char shape[160];
    p3d_shape_str(shape, sizeof shape, ndim, dims);
    snprintf(buf, cap, "%s%s%s", show_dtype ? p3d_dtype_name(dt) : "", show_dtype ? " " : "", shape);
    return buf;
}

p3d_status p3d_weights_check(const p3d_weights *w, const p3d_weight_spec *spec, int32_t n) {
    P3D_ASSERT(n >= 0);
    unsigned char *seen = (unsigned char *)calloc((size_t)w->n_tensors + 1, 1);
    if (!seen) return p3d_fail(P3D_ERR_OOM, "%s: out of memory checking the tensors", w->path);
    p3dw_report r = {.len = 0, .problems = 0};
    for (int32_t i = 0; i < n; i++) {
        const p3d_weight_spec *s = &spec[i];
        P3D_ASSERT(s->name && s->ndim >= 1 && s->ndim <= P3D_MAX_DIMS);
        for (int32_t d = 0; d < s->ndim; d++) P3D_ASSERT(s->dims[d] >= 1);
        char want[200], got[200];
        int32_t k = find_name(w->tensors_by_name, w->n_tensors, s->name);
        if (k < 0) {
            report(&r, "missing tensor %s (expected %s)", s->name,
                   spec_str(want, sizeof want, 0, s->dtype, s->ndim, s->dims));
            continue;
        }
        if (seen[k]) P3D_ABORT("p3d_weights_check: %s is listed twice in the expected table", s->name);
        seen[k] = 1;
        const p3d_tensor *t = &w->tensors[k].host;
        int same = t->dtype == s->dtype && t->ndim == s->ndim;
        for (int32_t d = 0; same && d < s->ndim; d++) same = t->shape[d] == s->dims[d];
        if (!same) {
            int show_dtype = t->dtype != s->dtype;
            report(&r, "%s: got %s, expected %s", s->name,
                   spec_str(got, sizeof got, show_dtype, t->dtype, t->ndim, t->shape),
                   spec_str(want, sizeof want, show_dtype, s->dtype, s->ndim, s->dims));
        }
    }
    for (int32_t k = 0; k < w->n_tensors; k++)
        if (!seen[k]) report(&r, "unknown tensor %s", w->tensors[k].name);
    free(seen);
    if (r.problems == 0) return P3D_OK;
    if (r.problems > P3DW_CHECK_REPORTED)
        return p3d_fail(P3D_ERR_MODEL, "%s: %s; and %d more problems", w->path, r.msg,
                        (int)(r.problems - P3DW_CHECK_REPORTED));
    return p3d_fail(P3D_ERR_MODEL, "%s: %s", w->path, r.msg);
}

/* ---- uploads ------------------------------------------------------------------------------------- */
p3d_status p3d_weights_upload(const p3d_weights *w, p3d_ctx *ctx, const char *name, p3d_tensor *out) {
    const p3dw_tensor *rec = NULL;
    void *dst;
    P3D_TRY(find_tensor(w, name, &rec));
    P3D_TRY(p3d_ctx_alloc(ctx, rec->nbytes, &dst));
    p3d_status st = p3d_ctx_upload(ctx, dst, rec->host.data, rec->nbytes);
    if (st != P3D_OK) {
        p3d_ctx_release(ctx, dst);
        return p3d_fail_context(st, "%s: uploading %s", w->path, name);
    }
    *out = rec->host;
    out->data = dst;
    out->mem = p3d_ctx_mem(ctx);
    return P3D_OK;
}

p3d_status p3d_weights_upload_all(const p3d_weights *w, p3d_ctx *ctx, void **block) {
    size_t bytes = w->size - w->data_offset;
    *block = NULL;
    /* An empty data section still gets a block, so the caller's release is unconditional. */
    P3D_TRY(p3d_ctx_alloc(ctx, bytes ? bytes : P3DW_ALIGN, block));
    p3d_status st = p3d_ctx_upload(ctx, *block, w->image + w->data_offset, bytes);
    if (st != P3D_OK) {
        p3d_ctx_release(ctx, *block);
        *block = NULL;
        return p3d_fail_context(st, "%s: uploading the weights", w->path);
    }
    return P3D_OK;
}

p3d_status p3d_weights_get_in(const p3d_weights *w, const p3d_ctx *ctx, void *block, const char *name,
                              p3d_tensor *out) {
    const p3dw_tensor *rec = NULL;
    P3D_TRY(find_tensor(w, name, &rec));
    *out = rec->host;
    out->data = (uint8_t *)block + rec->offset;
    out->mem = p3d_ctx_mem(ctx);
    return P3D_OK;
}
