/* mesh_ply.c - PLY files: the reference's ASCII layout (spec 2.20) and its binary little-endian twin.
 *
 * Header (both):  ply / format ascii 1.0 | binary_little_endian 1.0 / comment H <h> / comment W <w> /
 *                 comment hFov <rad> / comment vFov <rad> / element vertex N / property float x|y|z /
 *                 property uchar red|green|blue|alpha / element face M /
 *                 property list uchar int vertex_index / end_header
 * ASCII body:     "x y z r g b a" per vertex, "3 i j k" per face; floats in the shortest text that reads
 *                 back to the same float32 (p3d_mesh_format_float).
 * Binary body:    per vertex 3 x float32 LE + 4 bytes; per face 1 byte (3) + 3 x int32 LE.
 *
 * The reader takes these and the reference's own files (float64 text such as 0.123456789012345, read
 * as the nearest float32; a last line without a newline), vertex elements without alpha (label 1,
 * the reference's quirk 25), CRLF line ends and the type aliases float32 / uint8 / int32 / uint32. It
 * refuses - P3D_ERR_FORMAT naming the file and the line or byte offset - everything else: other
 * elements or properties, big-endian files, faces with other than 3 vertices (polygons are not
 * triangulated), indices out of range, missing or extra data, counts larger than the file can hold
 * (checked before any allocation, so a hostile header cannot exhaust memory). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_io.h"
#include "mesh/mesh_format.h"
#include "mesh/mesh_ply.h"

/* ---- writer ---------------------------------------------------------------------------------- */

/* Widest lines: a vertex "x y z r g b a\n" (3 floats of <= 15 characters, 4 bytes of <= 3 digits,
 * 6 spaces, newline) and a face "3 i j k\n" (3 indices of <= 10 digits). */
#define PLY_VERTEX_LINE_MAX 72
#define PLY_FACE_LINE_MAX 40
/* Lines formatted per parallel batch; each batch is split into PLY_SLICES slices of consecutive lines. */
#define PLY_BATCH 65536
#define PLY_SLICES 64

typedef struct ply_job {
    const p3d_mesh *m;
    const char *path;
    int binary;
} ply_job;

static char *put_uint(char *s, uint32_t v) {
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *s++ = tmp[--n];
    return s;
}

static char *format_vertex(const p3d_mesh *m, int64_t i, char *s) {
    for (int k = 0; k < 3; k++) {
        s += p3d_mesh_format_float(m->xyz[3 * i + k], s);
        *s++ = ' ';
    }
    for (int k = 0; k < 4; k++) {
        s = put_uint(s, m->rgba[4 * i + k]);
        *s++ = k < 3 ? ' ' : '\n';
    }
    return s;
}

static char *format_face(const p3d_mesh *m, int64_t i, char *s) {
    *s++ = '3';
    for (int k = 0; k < 3; k++) {
        *s++ = ' ';
        s = put_uint(s, (uint32_t)m->faces[3 * i + k]);
    }
    *s++ = '\n';
    return s;
}

/* Formats lines [0, n) with fmt in parallel batches and writes them in order. */
static p3d_status put_lines(p3d_mesh_out *o, const p3d_mesh *m, int64_t n, size_t line_max,
                            char *(*fmt)(const p3d_mesh *, int64_t, char *)) {
    const int64_t per = PLY_BATCH / PLY_SLICES;
    char *buf = (char *)malloc(PLY_BATCH * line_max);
    if (!buf) return p3d_fail(P3D_ERR_OOM, "%s: out of memory", o->path);
    size_t lens[PLY_SLICES];
    p3d_status st = P3D_OK;
    for (int64_t start = 0; start < n && st == P3D_OK; start += PLY_BATCH) {
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
        for (int32_t sl = 0; sl < PLY_SLICES; sl++) {
            char *s0 = buf + (size_t)sl * (size_t)per * line_max, *s = s0;
            for (int64_t i = start + sl * per, end = start + (sl + 1) * per; i < end && i < n; i++) s = fmt(m, i, s);
            lens[sl] = (size_t)(s - s0);
        }
        for (int32_t sl = 0; sl < PLY_SLICES && st == P3D_OK; sl++)
            st = p3d_mesh_out_put(o, buf + (size_t)sl * (size_t)per * line_max, lens[sl]);
    }
    free(buf);
    return st;
}

static p3d_status put_binary(p3d_mesh_out *o, const p3d_mesh *m) {
    uint8_t rec[16];
    for (int64_t i = 0; i < m->n_vertices; i++) {
        for (int k = 0; k < 3; k++) {
            uint32_t bits;
            memcpy(&bits, &m->xyz[3 * i + k], 4);
            p3d_put_le32(rec + 4 * k, bits);
        }
        memcpy(rec + 12, m->rgba + 4 * i, 4);
        P3D_TRY(p3d_mesh_out_put(o, rec, 16));
    }
    for (int64_t i = 0; i < m->n_faces; i++) {
        rec[0] = 3;
        for (int k = 0; k < 3; k++) p3d_put_le32(rec + 1 + 4 * k, (uint32_t)m->faces[3 * i + k]);
        P3D_TRY(p3d_mesh_out_put(o, rec, 13));
    }
    return P3D_OK;
}

static p3d_status write_ply_body(FILE *f, void *user) {
    const ply_job *job = (const ply_job *)user;
    const p3d_mesh *m = job->m;
    char hf[32], vf[32], head[1024];
    p3d_mesh_format_float(m->hfov, hf);
    p3d_mesh_format_float(m->vfov, vf);
    int n = snprintf(head, sizeof head,
                     "ply\nformat %s 1.0\ncomment H %d\ncomment W %d\ncomment hFov %s\ncomment vFov %s\n"
                     "element vertex %lld\nproperty float x\nproperty float y\nproperty float z\n"
                     "property uchar red\nproperty uchar green\nproperty uchar blue\nproperty uchar alpha\n"
                     "element face %lld\nproperty list uchar int vertex_index\nend_header\n",
                     job->binary ? "binary_little_endian" : "ascii", (int)m->height, (int)m->width, hf, vf,
                     (long long)m->n_vertices, (long long)m->n_faces);
    p3d_mesh_out o;
    P3D_TRY(p3d_mesh_out_init(&o, f, job->path, (size_t)1 << 20));
    p3d_status st = p3d_mesh_out_put(&o, head, (size_t)n);
    if (st == P3D_OK && job->binary) st = put_binary(&o, m);
    if (st == P3D_OK && !job->binary) st = put_lines(&o, m, m->n_vertices, PLY_VERTEX_LINE_MAX, format_vertex);
    if (st == P3D_OK && !job->binary) st = put_lines(&o, m, m->n_faces, PLY_FACE_LINE_MAX, format_face);
    p3d_status fin = p3d_mesh_out_finish(&o);
    return st != P3D_OK ? st : fin;
}

p3d_status p3d_mesh_write_ply(const p3d_mesh *m, const char *path, int binary) {
    P3D_TRY(p3d_mesh_check_for_write(m, path));
    ply_job job = {m, path, binary};
    return p3d_file_write_atomic_fn(path, write_ply_body, &job);
}

/* ---- reader: header -------------------------------------------------------------------------- */

#define PLY_HEADER_MAX 65536
#define PLY_MAX_TOKENS 8

typedef struct ply_header {
    int binary;
    int has_alpha;
    int64_t n_vertices, n_faces;
    size_t body;        /* byte offset of the first vertex */
    int64_t body_line;  /* file line number of the first vertex (1-based) */
    int32_t width, height;
    float hfov, vfov;
} ply_header;

/* Splits line [s, e) into whitespace-separated tokens (pointers + lengths); returns the count, or
 * PLY_MAX_TOKENS + 1 when there are more. */
static int tokenize(const char *s, const char *e, const char **tok, int *len) {
    int n = 0;
    while (s < e) {
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        if (s >= e) break;
        const char *t = s;
        while (s < e && *s != ' ' && *s != '\t') s++;
        if (n == PLY_MAX_TOKENS) return n + 1;
        tok[n] = t;
        len[n++] = (int)(s - t);
    }
    return n;
}

static int tok_is(const char *t, int n, const char *word) { return (int)strlen(word) == n && !memcmp(t, word, (size_t)n); }

/* Non-negative decimal integer of at most 18 digits; -1 when the token is not one. */
static int64_t tok_count(const char *t, int n) {
    if (n < 1 || n > 18) return -1;
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9') return -1;
        v = v * 10 + (t[i] - '0');
    }
    return v;
}

/* Float token (copied so strtof never reads past it); 0 when malformed or not finite. */
static int tok_float(const char *t, int n, float *out) {
    char buf[64];
    if (n < 1 || n >= (int)sizeof buf) return 0;
    memcpy(buf, t, (size_t)n);
    buf[n] = 0;
    char *end = NULL;
    float v = strtof(buf, &end);
    if (end != buf + n || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

static int type_is(const char *t, int n, const char *a, const char *b) { return tok_is(t, n, a) || tok_is(t, n, b); }

static p3d_status parse_header(const char *path, const uint8_t *data, size_t len, ply_header *h) {
    memset(h, 0, sizeof *h);
    static const char *const names[7] = {"x", "y", "z", "red", "green", "blue", "alpha"};
    enum { NONE, VERTEX, FACE } element = NONE;
    int have_format = 0, have_vertex = 0, have_face = 0, n_props = 0, face_props = 0;
    size_t at = 0;
    for (int64_t line = 1;; line++) {
        const uint8_t *nl = (const uint8_t *)memchr(data + at, '\n', (len < PLY_HEADER_MAX ? len : PLY_HEADER_MAX) - at);
        if (!nl)
            return p3d_fail(P3D_ERR_FORMAT, "%s: PLY header without end_header in the first %d bytes", path,
                            PLY_HEADER_MAX);
        const char *s = (const char *)data + at, *e = (const char *)nl;
        if (e > s && e[-1] == '\r') e--;
        at = (size_t)(nl - data) + 1;
        const char *tok[PLY_MAX_TOKENS];
        int tl[PLY_MAX_TOKENS];
        int nt = tokenize(s, e, tok, tl);
        if (line == 1) {
            if (nt != 1 || !tok_is(tok[0], tl[0], "ply")) return p3d_fail(P3D_ERR_FORMAT, "%s: not a PLY file", path);
            continue;
        }
        if (nt >= 1 && (tok_is(tok[0], tl[0], "comment") || tok_is(tok[0], tl[0], "obj_info"))) {
            if (nt < 3 || !tok_is(tok[0], tl[0], "comment")) continue;
            int is_h = tok_is(tok[1], tl[1], "H"), is_w = tok_is(tok[1], tl[1], "W");
            int is_hf = tok_is(tok[1], tl[1], "hFov"), is_vf = tok_is(tok[1], tl[1], "vFov");
            if (!(is_h || is_w || is_hf || is_vf)) continue;
            int64_t v = tok_count(tok[2], tl[2]);
            float f = 0;
            if (nt != 3 || ((is_h || is_w) && (v < 0 || v > INT32_MAX)) || ((is_hf || is_vf) && !tok_float(tok[2], tl[2], &f)))
                return p3d_fail(P3D_ERR_FORMAT, "%s: line %lld: malformed comment %.*s", path, (long long)line,
                                tl[1], tok[1]);
            if (is_h) h->height = (int32_t)v;
            if (is_w) h->width = (int32_t)v;
            if (is_hf) h->hfov = f;
            if (is_vf) h->vfov = f;
            continue;
        }
        if (nt == 1 && tok_is(tok[0], tl[0], "end_header")) {
            h->body = at;
            h->body_line = line + 1;
            break;
        }
        if (nt == 3 && tok_is(tok[0], tl[0], "format")) {
            if (have_format || line != 2)
                return p3d_fail(P3D_ERR_FORMAT, "%s: line %lld: the format line must be the second line", path, (long long)line);
            if (!tok_is(tok[2], tl[2], "1.0"))
                return p3d_fail(P3D_ERR_FORMAT, "%s: line %lld: PLY version %.*s (only 1.0)", path, (long long)line, tl[2], tok[2]);
            if (tok_is(tok[1], tl[1], "ascii")) h->binary = 0;
            else if (tok_is(tok[1], tl[1], "binary_little_endian")) h->binary = 1;
            else return p3d_fail(P3D_ERR_FORMAT, "%s: line %lld: unsupported PLY format %.*s (ascii or binary_little_endian)",
                                 path, (long long)line, tl[1], tok[1]);
            have_format = 1;
            continue;
        }
        if (!have_format) return p3d_fail(P3D_ERR_FORMAT, "%s: line %lld: PLY header without a format line", path, (long long)line);
        if (nt == 3 && tok_is(tok[0], tl[0], "element")) {
            int64_t n = tok_count(tok[2], tl[2]);
            if (n < 0) return p3d_fail(P3D_ERR_FORMAT, "%s: line %lld: bad element count %.*s", path, (long long)line, tl[2], tok[2]);
            if (tok_is(tok[1], tl[1], "vertex") && !have_vertex && !have_face) {
                if (n > INT32_MAX)
                    return p3d_fail(P3D_ERR_FORMAT, "%s: line %lld: %lld vertices (at most %d)", path, (long long)line,
                                    (long long)n, (int)INT32_MAX);
                element = VERTEX;
                have_vertex = 1;
                h->n_vertices = n;
            } else if (tok_is(tok[1], tl[1], "face") && have_vertex && !have_face) {
                if (n_props < 6)
                    return p3d_fail(P3D_ERR_FORMAT, "%s: line %lld: vertex element has %d properties (x y z red green blue [alpha])",
                                    path, (long long)line, n_props);
                element = FACE;
                have_face = 1;
                h->n_faces = n;
            } else {
                return p3d_fail(P3D_ERR_FORMAT, "%s: line %lld: unsupported element %.*s (only vertex, then face)", path,
                                (long long)line, tl[1], tok[1]);
            }
            continue;
        }
        if (nt >= 3 && tok_is(tok[0], tl[0], "property")) {
            int ok = 0;
            if (element == VERTEX && nt == 3 && n_props < 7) {
                ok = tok_is(tok[2], tl[2], names[n_props]) &&
                     (n_props < 3 ? type_is(tok[1], tl[1], "float", "float32") : type_is(tok[1], tl[1], "uchar", "uint8"));
                n_props += ok;
            } else if (element == FACE && nt == 5 && face_props == 0) {
                ok = tok_is(tok[1], tl[1], "list") && type_is(tok[2], tl[2], "uchar", "uint8") &&
                     (type_is(tok[3], tl[3], "int", "int32") || type_is(tok[3], tl[3], "uint", "uint32")) &&
                     type_is(tok[4], tl[4], "vertex_index", "vertex_indices");
                face_props += ok;
            }
            if (!ok)
                return p3d_fail(P3D_ERR_FORMAT, "%s: line %lld: unsupported property '%.*s' (vertex: float x y z, uchar red "
                                "green blue [alpha]; face: list uchar int vertex_index)", path, (long long)line,
                                (int)(e - s), s);
            continue;
        }
        return p3d_fail(P3D_ERR_FORMAT, "%s: line %lld: unexpected header line '%.*s'", path, (long long)line,
                        (int)(e - s) < 80 ? (int)(e - s) : 80, s);
    }
    if (!have_vertex || n_props < 6)
        return p3d_fail(P3D_ERR_FORMAT, "%s: PLY header without a vertex element of x y z red green blue [alpha]", path);
    if (have_face && face_props != 1)
        return p3d_fail(P3D_ERR_FORMAT, "%s: face element without its vertex_index list property", path);
    h->has_alpha = n_props == 7;
    return P3D_OK;
}

/* ---- reader: bodies -------------------------------------------------------------------------- */

static p3d_status parse_binary(const char *path, const ply_header *h, const uint8_t *data, size_t len, p3d_mesh *m) {
    const size_t vsize = 15 + (size_t)h->has_alpha, avail = len - h->body;
    /* Sizes compared in double first so a hostile count cannot overflow the products. */
    const double need_d = (double)h->n_vertices * (double)vsize + (double)h->n_faces * 13.0;
    if (need_d != (double)avail) {
        if (need_d < (double)avail)
            return p3d_fail(P3D_ERR_FORMAT, "%s: %zu bytes after the %lld vertices and %lld faces the header declares",
                            path, avail - (size_t)need_d, (long long)h->n_vertices, (long long)h->n_faces);
        return p3d_fail(P3D_ERR_FORMAT, "%s: truncated: the header declares %lld vertices and %lld faces (%.0f bytes) "
                        "but %zu bytes follow it (offset %zu)", path, (long long)h->n_vertices, (long long)h->n_faces,
                        need_d, avail, h->body);
    }
    P3D_TRY(p3d_mesh_alloc(m, h->n_vertices, h->n_faces));
    const uint8_t *p = data + h->body;
    for (int64_t i = 0; i < h->n_vertices; i++, p += vsize) {
        for (int k = 0; k < 3; k++) {
            uint32_t bits = p3d_get_le32(p + 4 * k);
            memcpy(&m->xyz[3 * i + k], &bits, 4);
            if (!isfinite(m->xyz[3 * i + k]))
                return p3d_fail(P3D_ERR_FORMAT, "%s: vertex %lld (offset %zu) has a non-finite coordinate", path,
                                (long long)i, (size_t)(p - data));
        }
        memcpy(m->rgba + 4 * i, p + 12, 3);
        m->rgba[4 * i + 3] = h->has_alpha ? p[15] : P3D_LABEL_ORIGINAL;
    }
    for (int64_t i = 0; i < h->n_faces; i++, p += 13) {
        if (p[0] != 3)
            return p3d_fail(P3D_ERR_FORMAT, "%s: face %lld (offset %zu) has %d vertices; only triangles are supported",
                            path, (long long)i, (size_t)(p - data), (int)p[0]);
        for (int k = 0; k < 3; k++) {
            uint32_t v = p3d_get_le32(p + 1 + 4 * k);
            if (v >= (uint64_t)h->n_vertices)
                return p3d_fail(P3D_ERR_FORMAT, "%s: face %lld (offset %zu) uses vertex %lld of %lld", path, (long long)i,
                                (size_t)(p - data), (long long)(int32_t)v, (long long)h->n_vertices);
            m->faces[3 * i + k] = (int32_t)v;
        }
    }
    return P3D_OK;
}

/* The ASCII body is cut into slices at line starts; the slices count their lines, then parse in parallel
 * knowing their first line number. Each slice keeps its first error; the earliest one is reported. */
#define PLY_PARSE_SLICES 256

typedef struct ascii_slice {
    size_t begin, end; /* byte range in the file, starting at a line start */
    int64_t lines;     /* lines that start in the slice */
    int64_t first;     /* index of its first line in the body */
    int64_t err_line;  /* body line of the first error, or -1 */
    char err[192];
} ascii_slice;

static int parse_u8(const char *t, int n, uint8_t *out) {
    int64_t v = tok_count(t, n);
    if (v < 0 || v > 255) return 0;
    *out = (uint8_t)v;
    return 1;
}

/* Parses body line `idx` ([s, e), without the newline) into m; 0 and a message in err on failure. */
static int parse_line(const ply_header *h, p3d_mesh *m, int64_t idx, const char *s, const char *e, char *err, size_t cap) {
    const char *tok[PLY_MAX_TOKENS];
    int tl[PLY_MAX_TOKENS];
    if (e > s && e[-1] == '\r') e--;
    int nt = tokenize(s, e, tok, tl);
    if (idx < h->n_vertices) {
        int want = h->has_alpha ? 7 : 6;
        if (nt != want) {
            snprintf(err, cap, "vertex %lld has %d values, expected %d", (long long)idx, nt > PLY_MAX_TOKENS ? nt - 1 : nt, want);
            return 0;
        }
        uint8_t *c = m->rgba + 4 * idx;
        c[3] = P3D_LABEL_ORIGINAL;
        for (int k = 0; k < 3; k++)
            if (!tok_float(tok[k], tl[k], &m->xyz[3 * idx + k])) {
                snprintf(err, cap, "vertex %lld: bad coordinate '%.*s'", (long long)idx, tl[k] < 40 ? tl[k] : 40, tok[k]);
                return 0;
            }
        for (int k = 3; k < nt; k++)
            if (!parse_u8(tok[k], tl[k], c + k - 3)) {
                snprintf(err, cap, "vertex %lld: bad colour byte '%.*s' (0..255)", (long long)idx, tl[k] < 40 ? tl[k] : 40, tok[k]);
                return 0;
            }
        return 1;
    }
    if (idx < h->n_vertices + h->n_faces) {
        const int64_t f = idx - h->n_vertices;
        int64_t cnt = nt >= 1 ? tok_count(tok[0], tl[0]) : -1;
        if (cnt >= 0 && cnt != 3) {
            snprintf(err, cap, "face %lld has %lld vertices; only triangles are supported", (long long)f, (long long)cnt);
            return 0;
        }
        if (nt != 4 || cnt != 3) {
            snprintf(err, cap, "face %lld: expected '3 i j k'", (long long)f);
            return 0;
        }
        for (int k = 0; k < 3; k++) {
            int64_t v = tok_count(tok[k + 1], tl[k + 1]);
            if (v < 0 || v >= h->n_vertices) {
                snprintf(err, cap, "face %lld: vertex index '%.*s' out of range (%lld vertices)", (long long)f,
                         tl[k + 1] < 24 ? tl[k + 1] : 24, tok[k + 1], (long long)h->n_vertices);
                return 0;
            }
            m->faces[3 * f + k] = (int32_t)v;
        }
        return 1;
    }
    if (nt != 0) {
        snprintf(err, cap, "data after the %lld vertices and %lld faces the header declares", (long long)h->n_vertices,
                 (long long)h->n_faces);
        return 0;
    }
    return 1;
}

static p3d_status parse_ascii(const char *path, const ply_header *h, const uint8_t *data, size_t len, p3d_mesh *m) {
    const size_t avail = len - h->body;
    /* The shortest lines: "0 0 0 0 0 0\n" (12 bytes) and "3 0 0 0\n" (8); the last newline may be missing. */
    const double min_d = (double)h->n_vertices * 12.0 + (double)h->n_faces * 8.0 - 1.0;
    if (min_d > (double)avail)
        return p3d_fail(P3D_ERR_FORMAT, "%s: truncated: the header declares %lld vertices and %lld faces but only %zu "
                        "bytes follow it", path, (long long)h->n_vertices, (long long)h->n_faces, avail);
    P3D_TRY(p3d_mesh_alloc(m, h->n_vertices, h->n_faces));
    ascii_slice *sl = (ascii_slice *)calloc(PLY_PARSE_SLICES, sizeof *sl);
    if (!sl) return p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    size_t prev = h->body;
    for (int32_t k = 0; k < PLY_PARSE_SLICES; k++) {
        size_t cut = k + 1 == PLY_PARSE_SLICES ? len : h->body + avail / PLY_PARSE_SLICES * (size_t)(k + 1);
        if (cut < prev) cut = prev;
        if (cut < len && cut > prev) { /* move the cut just past the next newline */
            const uint8_t *nl = (const uint8_t *)memchr(data + cut - 1, '\n', len - (cut - 1));
            cut = nl ? (size_t)(nl - data) + 1 : len;
        }
        sl[k].begin = prev;
        sl[k].end = cut;
        sl[k].err_line = -1;
        prev = cut;
    }
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 4)
#endif
    for (int32_t k = 0; k < PLY_PARSE_SLICES; k++) {
        int64_t n = 0;
        for (const uint8_t *p = data + sl[k].begin, *e = data + sl[k].end; p < e; n++) {
            const uint8_t *nl = (const uint8_t *)memchr(p, '\n', (size_t)(e - p));
            p = nl ? nl + 1 : e;
        }
        sl[k].lines = n;
    }
    int64_t total = 0;
    for (int32_t k = 0; k < PLY_PARSE_SLICES; k++) {
        sl[k].first = total;
        total += sl[k].lines;
    }
#ifdef P3D_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 4)
#endif
    for (int32_t k = 0; k < PLY_PARSE_SLICES; k++) {
        int64_t idx = sl[k].first;
        for (const char *p = (const char *)data + sl[k].begin, *e = (const char *)data + sl[k].end; p < e; idx++) {
            const char *nl = (const char *)memchr(p, '\n', (size_t)(e - p)), *le = nl ? nl : e;
            if (!parse_line(h, m, idx, p, le, sl[k].err, sizeof sl[k].err)) {
                sl[k].err_line = idx;
                break;
            }
            p = nl ? nl + 1 : e;
        }
    }
    p3d_status st = P3D_OK;
    for (int32_t k = 0; k < PLY_PARSE_SLICES; k++)
        if (sl[k].err_line >= 0) {
            st = p3d_fail(P3D_ERR_FORMAT, "%s: line %lld: %s", path, (long long)(h->body_line + sl[k].err_line), sl[k].err);
            break;
        }
    if (st == P3D_OK && total < h->n_vertices + h->n_faces)
        st = p3d_fail(P3D_ERR_FORMAT, "%s: truncated: %lld data lines, the header declares %lld vertices and %lld faces",
                      path, (long long)total, (long long)h->n_vertices, (long long)h->n_faces);
    free(sl);
    return st;
}

p3d_status p3d_mesh_parse_ply(const char *path, const uint8_t *data, size_t len, p3d_mesh *out) {
    ply_header h;
    P3D_TRY(parse_header(path, data, len, &h));
    P3D_TRY(h.binary ? parse_binary(path, &h, data, len, out) : parse_ascii(path, &h, data, len, out));
    out->width = h.width;
    out->height = h.height;
    out->hfov = h.hfov;
    out->vfov = h.vfov;
    return P3D_OK;
}
