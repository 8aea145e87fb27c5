/* npy.c - the .npy reader and writer (see npy.h for what is accepted). */
#include "io/npy.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file_io.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c reads and writes little-endian data with memcpy: port it for a big-endian host"
#endif

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAX_HEADER (1u << 20)
#define NPY_MAX_ELEMS ((int64_t)1 << 31)

/* What the header dictionary says. */
typedef struct npy_header {
    p3d_dtype dtype;
    size_t itemsize;
    int is_bool; /* '|b1': bytes must be 0 or 1 */
    int32_t ndim;
    int64_t shape[P3D_MAX_DIMS];
} npy_header;

/* Finds the value of key ('key' or "key") in the header text: returns a pointer just after the ':'
 * (and following blanks), or NULL. */
static const char *npy_find_value(const char *text, const char *key) {
    char pat[2][32];
    snprintf(pat[0], sizeof pat[0], "'%s'", key);
    snprintf(pat[1], sizeof pat[1], "\"%s\"", key);
    for (int i = 0; i < 2; i++) {
        const char *p = strstr(text, pat[i]);
        if (!p) continue;
        p += strlen(pat[i]);
        while (*p == ' ') p++;
        if (*p != ':') return NULL;
        p++;
        while (*p == ' ') p++;
        return p;
    }
    return NULL;
}

/* Parses 'descr': '<f4' into h->dtype / h->itemsize. */
static p3d_status npy_parse_descr(const char *path, const char *text, npy_header *h) {
    const char *v = npy_find_value(text, "descr");
    if (!v || (*v != '\'' && *v != '"'))
        return p3d_fail(P3D_ERR_FORMAT, "%s: bad .npy header: no 'descr' string", path);
    char quote = *v++;
    const char *end = strchr(v, quote);
    if (!end || end - v > 16) return p3d_fail(P3D_ERR_FORMAT, "%s: bad .npy header: malformed 'descr'", path);
    char descr[20] = {0};
    memcpy(descr, v, (size_t)(end - v));
    descr[end - v] = '\0';
    /* Single-byte types carry the byte-order mark '|'; the others must be little-endian '<'. */
    static const struct { const char *descr; p3d_dtype dtype; int is_bool; } kinds[] = {
        {"<f4", P3D_F32, 0}, {"<f8", P3D_F64, 0}, {"<u2", P3D_U16, 0}, {"|u1", P3D_U8, 0}, {"|b1", P3D_U8, 1}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(descr, kinds[i].descr) != 0) continue;
        h->dtype = kinds[i].dtype;
        h->is_bool = kinds[i].is_bool;
        h->itemsize = p3d_dtype_size(h->dtype);
        return P3D_OK;
    }
    if (descr[0] == '>')
        return p3d_fail(P3D_ERR_FORMAT, "%s: big-endian .npy data ('%s') is not supported; save it "
                        "little-endian", path, descr);
    return p3d_fail(P3D_ERR_FORMAT, "%s: .npy dtype '%s' is not supported (float32 '<f4', float64 '<f8', "
                    "uint16 '<u2', uint8 '|u1' or bool '|b1')", path, descr);
}

static p3d_status npy_parse_order(const char *path, const char *text) {
    const char *v = npy_find_value(text, "fortran_order");
    if (v && strncmp(v, "False", 5) == 0) return P3D_OK;
    if (v && strncmp(v, "True", 4) == 0)
        return p3d_fail(P3D_ERR_FORMAT, "%s: .npy array is in Fortran order; save it in C order "
                        "(np.ascontiguousarray)", path);
    return p3d_fail(P3D_ERR_FORMAT, "%s: bad .npy header: no 'fortran_order' True/False", path);
}

/* Parses 'shape': (a, b, ...) into h->ndim / h->shape; rejects empty and oversized arrays. */
static p3d_status npy_parse_shape(const char *path, const char *text, npy_header *h) {
    const char *p = npy_find_value(text, "shape");
    if (!p || *p != '(') return p3d_fail(P3D_ERR_FORMAT, "%s: bad .npy header: no 'shape' tuple", path);
    p++;
    h->ndim = 0;
    int64_t numel = 1;
    for (;;) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        if (!isdigit((unsigned char)*p))
            return p3d_fail(P3D_ERR_FORMAT, "%s: bad .npy header: malformed 'shape'", path);
        if (h->ndim == P3D_MAX_DIMS)
            return p3d_fail(P3D_ERR_FORMAT, "%s: .npy array has more than %d dimensions", path, P3D_MAX_DIMS);
        errno = 0;
        char *end = NULL;
        long long d = strtoll(p, &end, 10);
        if (errno || d > NPY_MAX_ELEMS)
            return p3d_fail(P3D_ERR_FORMAT, "%s: .npy dimension %.20s is absurd", path, p);
        h->shape[h->ndim++] = d;
        numel = d == 0 || numel == 0 ? 0 : (numel > NPY_MAX_ELEMS / d ? NPY_MAX_ELEMS + 1 : numel * d);
        p = end;
    }
    if (h->ndim == 0) return p3d_fail(P3D_ERR_FORMAT, "%s: .npy array is a scalar (shape ())", path);
    if (numel == 0) return p3d_fail(P3D_ERR_FORMAT, "%s: .npy array is empty (a dimension is 0)", path);
    if (numel > NPY_MAX_ELEMS)
        return p3d_fail(P3D_ERR_FORMAT, "%s: .npy array is absurdly large (more than 2^31 elements)", path);
    return P3D_OK;
}

static p3d_status npy_parse_header(const char *path, const char *text, npy_header *h) {
    if (text[0] != '{') return p3d_fail(P3D_ERR_FORMAT, "%s: bad .npy header: not a dictionary", path);
    P3D_TRY(npy_parse_descr(path, text, h));
    P3D_TRY(npy_parse_order(path, text));
    return npy_parse_shape(path, text, h);
}

/* Reads the preamble and header text of an open file; leaves f at the first data byte. */
static p3d_status npy_read_header(FILE *f, const char *path, uint64_t file_size, npy_header *h,
                                  uint64_t *data_offset) {
    uint8_t pre[12];
    if (file_size < 10 || fread(pre, 1, 10, f) != 10)
        return p3d_fail(P3D_ERR_FORMAT, "%s: truncated .npy file (%llu bytes)", path, (unsigned long long)file_size);
    if (memcmp(pre, NPY_MAGIC, 6) != 0) return p3d_fail(P3D_ERR_FORMAT, "%s: not a .npy file (bad magic)", path);
    uint32_t hlen;
    uint64_t off;
    if (pre[6] == 1) {
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
        off = 10;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) return p3d_fail(P3D_ERR_FORMAT, "%s: truncated .npy header", path);
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
        off = 12;
    } else {
        return p3d_fail(P3D_ERR_FORMAT, "%s: unknown .npy format version %d", path, (int)pre[6]);
    }
    if (hlen == 0 || hlen > NPY_MAX_HEADER || off + hlen > file_size)
        return p3d_fail(P3D_ERR_FORMAT, "%s: truncated or bad .npy header (header length %u)", path, hlen);
    char *text = (char *)malloc(hlen + 1);
    if (!text) return p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    p3d_status st = P3D_OK;
    if (fread(text, 1, hlen, f) != hlen) st = p3d_fail(P3D_ERR_IO, "%s: read error in the .npy header", path);
    text[hlen] = '\0';
    if (st == P3D_OK) st = npy_parse_header(path, text, h);
    free(text);
    *data_offset = off + hlen;
    return st;
}

/* Reads n elements of the file's dtype and stores them as float32. */
static p3d_status npy_read_values(FILE *f, const char *path, const npy_header *h, size_t n, float *dst) {
    if (h->dtype == P3D_F32) {
        if (fread(dst, 4, n, f) != n) return p3d_fail(P3D_ERR_IO, "%s: read error in the .npy data", path);
        return P3D_OK;
    }
    enum { CHUNK = 4096 };
    uint8_t buf[CHUNK * 8];
    for (size_t i = 0; i < n; i += CHUNK) {
        size_t m = n - i < CHUNK ? n - i : CHUNK;
        if (fread(buf, h->itemsize, m, f) != m) return p3d_fail(P3D_ERR_IO, "%s: read error in the .npy data", path);
        for (size_t k = 0; k < m; k++) {
            if (h->dtype == P3D_F64) {
                double d;
                memcpy(&d, buf + 8 * k, 8);
                dst[i + k] = (float)d;
            } else if (h->dtype == P3D_U16) {
                uint16_t u;
                memcpy(&u, buf + 2 * k, 2);
                dst[i + k] = (float)u;
            } else {
                if (h->is_bool && buf[k] > 1)
                    return p3d_fail(P3D_ERR_FORMAT, "%s: bool .npy element %zu holds %u, not 0 or 1", path, i + k,
                                    (unsigned)buf[k]);
                dst[i + k] = (float)buf[k];
            }
        }
    }
    return P3D_OK;
}

static p3d_status npy_read_open(FILE *f, const char *path, p3d_tensor *out, p3d_dtype *file_dtype) {
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) return p3d_fail(P3D_ERR_IO, "%s: not a regular file", path);
    npy_header h;
    uint64_t off = 0;
    P3D_TRY(npy_read_header(f, path, (uint64_t)sb.st_size, &h, &off));
    p3d_tensor t = p3d_tensor_view(NULL, P3D_F32, P3D_MEM_HOST, h.ndim, h.shape);
    uint64_t n = (uint64_t)p3d_tensor_numel(&t), have = (uint64_t)sb.st_size - off;
    if (have != n * h.itemsize)
        return p3d_fail(P3D_ERR_FORMAT, "%s: .npy data is %s: the header promises %llu bytes, the file holds %llu",
                        path, have < n * h.itemsize ? "truncated" : "followed by surplus bytes",
                        (unsigned long long)(n * h.itemsize), (unsigned long long)have);
    t.data = malloc((size_t)n * sizeof(float));
    if (!t.data) return p3d_fail(P3D_ERR_OOM, "%s: out of memory for %llu values", path, (unsigned long long)n);
    p3d_status st = npy_read_values(f, path, &h, (size_t)n, (float *)t.data);
    if (st != P3D_OK) {
        free(t.data);
        return st;
    }
    *out = t;
    if (file_dtype) *file_dtype = h.dtype;
    return P3D_OK;
}

p3d_status p3d_npy_read(const char *path, p3d_tensor *out, p3d_dtype *file_dtype) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return p3d_fail(P3D_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    p3d_status st = npy_read_open(f, path, out, file_dtype);
    fclose(f);
    return st;
}

void p3d_npy_free(p3d_tensor *t) {
    if (!t) return;
    free(t->data);
    memset(t, 0, sizeof *t);
}

typedef struct npy_write_job {
    const char *path;
    const p3d_tensor *t;
} npy_write_job;

/* Preamble + header padded with blanks and '\n' to a multiple of 64 bytes, as NumPy writes it. */
static p3d_status npy_write_payload(FILE *f, void *user) {
    const npy_write_job *job = (const npy_write_job *)user;
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int32_t i = 0; i < job->t->ndim; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%lld,%s", (long long)job->t->shape[i],
                      i + 1 < job->t->ndim ? " " : "");
    if (job->t->ndim > 1) n--; /* "(5,)" keeps its comma, "(3, 4,)" does not */
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    size_t total = (10 + (size_t)n + 1 + 63) / 64 * 64;
    uint8_t head[320];
    memcpy(head, NPY_MAGIC, 6);
    head[6] = 1;
    head[7] = 0;
    uint16_t hlen = (uint16_t)(total - 10);
    head[8] = (uint8_t)(hlen & 0xff);
    head[9] = (uint8_t)(hlen >> 8);
    memset(head + 10, ' ', total - 10);
    memcpy(head + 10, dict, (size_t)n);
    head[total - 1] = '\n';
    P3D_TRY(p3d_file_put(f, job->path, head, total));
    return p3d_file_put(f, job->path, job->t->data, p3d_tensor_nbytes(job->t));
}

p3d_status p3d_npy_write(const char *path, const p3d_tensor *t) {
    if (t->dtype != P3D_F32 || t->mem != P3D_MEM_HOST || t->ndim < 1 || t->ndim > P3D_MAX_DIMS)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: p3d_npy_write takes a host float32 tensor of 1..4 dimensions "
                        "(got %s, %d dimensions)", path, p3d_dtype_name(t->dtype), (int)t->ndim);
    npy_write_job job = {path, t};
    return p3d_file_write_atomic_fn(path, npy_write_payload, &job);
}
