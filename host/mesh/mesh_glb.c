/* mesh_glb.c - glTF 2.0 binary (GLB) files of a mesh.
 *
 * Layout written (all little-endian, every chunk and buffer view 4-byte aligned):
 *   header   "glTF", version 2, total length
 *   JSON     asset {version "2.0", generator, extras {width, height, hfov, vfov}}, one scene -> one node
 *            -> one mesh -> one primitive (mode 4, triangles; mode 0, points, when there are no faces),
 *            material: doubleSided, KHR_materials_unlit (in extensionsUsed) so viewers show the vertex
 *            colours unshaded. An empty mesh (no vertices) has no mesh, node or scene.
 *   BIN      buffer views of a vertex-colour mesh: 0 POSITION float VEC3 (N x 12 bytes, accessor
 *            min/max as glTF requires), 1 COLOR_0 unsigned byte normalized VEC3 at stride 4 (glTF
 *            aligns every vertex attribute element to 4 bytes; the fourth byte is 0), 2 _PROVENANCE
 *            unsigned byte SCALAR at stride 4 (the label, p3d_ldi_label; an application-specific
 *            attribute, so viewers ignore it), 3 indices UNSIGNED_INT (M x 12 bytes).
 *            A textured mesh (the compact one) carries its colour in the atlas, so it has neither
 *            COLOR_0 nor _PROVENANCE (no consumer reads the labels of a textured mesh, and they were
 *            8 of its 28 bytes per vertex): 0 POSITION, 1 TEXCOORD_0 unsigned short normalized VEC2
 *            (N x 4 bytes, core glTF 2.0: round(u * 65535), at most 1/131070 off, 0.03 texel of a
 *            4096 atlas), 2 indices UNSIGNED_INT, 3 the atlas image (JPEG or PNG).
 * Axes: glTF's y up and camera looking along -z: (x, y, z) -> (x, -y, -z), a rotation by 180 degrees
 * about x, which keeps the faces counter-clockwise as seen from the camera (mesh_math.h).
 *
 * The reader takes what the writer writes and somewhat more (indices of any unsigned type or none,
 * COLOR_0 VEC3 or VEC4 or none - the atlas at TEXCOORD_0 for a textured mesh, else white; _PROVENANCE
 * or none - label 1; TEXCOORD_0 float or normalized unsigned byte / short): one mesh with one primitive,
 * its data in the GLB's own BIN chunk. It checks the chunk lengths, every accessor against its
 * buffer view and every buffer view against the buffer, and fails with P3D_ERR_FORMAT naming the
 * file and the problem. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_io.h"
#include "core/json.h"
#include "io/image_codec.h"
#include "mesh/mesh_format.h"
#include "mesh/mesh_glb.h"
#include "mesh/mesh_tex_math.h"

#define GLB_MAGIC 0x46546C67u /* "glTF" */
#define GLB_JSON 0x4E4F534Au  /* "JSON" */
#define GLB_BIN 0x004E4942u   /* "BIN\0" */
#define GL_UNSIGNED_BYTE 5121
#define GL_UNSIGNED_SHORT 5123
#define GL_UNSIGNED_INT 5125
#define GL_FLOAT 5126

/* ---- writer ---------------------------------------------------------------------------------- */

/* The GLB position of vertex i (glTF axes). */
static void glb_pos(const p3d_mesh *m, int64_t i, float out[3]) {
    out[0] = m->xyz[3 * i];
    out[1] = -m->xyz[3 * i + 1];
    out[2] = -m->xyz[3 * i + 2];
}

/* Where everything goes in the BIN chunk: POSITION, then COLOR_0 and _PROVENANCE (vertex colours) or
 * TEXCOORD_0 (textured), the indices, and the atlas image (textured meshes; its bytes padded to 4). */
typedef struct glb_layout {
    int64_t n, nf;
    int textured;
    size_t off_uv, off_idx, off_img, bin_len;
    uint8_t *img; /* encoded atlas (malloc'ed) */
    size_t img_len;
    const char *mime;
} glb_layout;

static p3d_status glb_layout_make(const p3d_mesh *m, const char *path, glb_layout *L) {
    memset(L, 0, sizeof *L);
    L->n = m->n_vertices;
    L->nf = m->n_faces;
    L->textured = m->uv != NULL && L->n > 0;
    L->off_uv = (size_t)L->n * 12;
    L->off_idx = L->off_uv + (size_t)L->n * (L->textured ? 4 : 8);
    L->off_img = L->off_idx + (size_t)L->nf * 12;
    L->bin_len = L->n ? L->off_img : 0;
    if (!L->textured) return P3D_OK;
    if (!m->tex || m->tex_w <= 0 || m->tex_h <= 0 || m->tex_quality < 0 || m->tex_quality > 100)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: textured mesh without a valid atlas (%dx%d, quality %d)", path,
                        (int)m->tex_w, (int)m->tex_h, (int)m->tex_quality);
    P3D_TRY(p3d_image_encode(path, m->tex, m->tex_w, m->tex_h, m->tex_quality ? P3D_CODEC_JPEG : P3D_CODEC_PNG,
                             m->tex_quality, &L->img, &L->img_len));
    L->mime = m->tex_quality ? "image/jpeg" : "image/png";
    L->bin_len = L->off_img + ((L->img_len + 3) & ~(size_t)3);
    return P3D_OK;
}

static void json_document(const p3d_mesh *m, const glb_layout *L, p3d_text *b) {
    const int64_t nv = m->n_vertices, nf = m->n_faces;
    char hf[32], vf[32];
    p3d_mesh_format_float(m->hfov, hf);
    p3d_mesh_format_float(m->vfov, vf);
    p3d_text_printf(b, "{\"asset\":{\"version\":\"2.0\",\"generator\":\"photo3d-gpu %s\",\"extras\":{\"width\":%d,"
                 "\"height\":%d,\"hfov\":%s,\"vfov\":%s}}", P3D_VERSION, (int)m->width, (int)m->height, hf, vf);
    if (nv > 0) {
        float lo[3], hi[3], p[3];
        glb_pos(m, 0, lo);
        memcpy(hi, lo, sizeof hi);
        for (int64_t i = 1; i < nv; i++) {
            glb_pos(m, i, p);
            for (int k = 0; k < 3; k++) {
                lo[k] = p[k] < lo[k] ? p[k] : lo[k];
                hi[k] = p[k] > hi[k] ? p[k] : hi[k];
            }
        }
        char t[6][32];
        for (int k = 0; k < 3; k++) {
            p3d_mesh_format_float(lo[k], t[k]);
            p3d_mesh_format_float(hi[k], t[3 + k]);
        }
        const long long n = (long long)nv;
        const int tx = L->textured, acc_idx = tx ? 2 : 3, view_idx = tx ? 2 : 3;
        p3d_text_printf(b, ",\"extensionsUsed\":[\"KHR_materials_unlit\"],\"scene\":0,\"scenes\":[{\"nodes\":[0]}],"
                     "\"nodes\":[{\"name\":\"photo3d\",\"mesh\":0}],\"materials\":[{\"name\":\"%s\","
                     "\"doubleSided\":true,\"pbrMetallicRoughness\":{\"baseColorFactor\":[1,1,1,1],%s\"metallicFactor\":0,"
                     "\"roughnessFactor\":1},\"extensions\":{\"KHR_materials_unlit\":{}}}],"
                     "\"meshes\":[{\"primitives\":[{\"attributes\":{\"POSITION\":0,%s}",
                  tx ? "atlas" : "vertex colours", tx ? "\"baseColorTexture\":{\"index\":0}," : "",
                  tx ? "\"TEXCOORD_0\":1" : "\"COLOR_0\":1,\"_PROVENANCE\":2");
        if (nf > 0) p3d_text_printf(b, ",\"indices\":%d,\"mode\":4,\"material\":0}]}],", acc_idx);
        else p3d_text_printf(b, ",\"mode\":0,\"material\":0}]}],");
        p3d_text_printf(b, "\"accessors\":[{\"bufferView\":0,\"componentType\":%d,\"count\":%lld,\"type\":\"VEC3\","
                     "\"min\":[%s,%s,%s],\"max\":[%s,%s,%s]},", GL_FLOAT, n, t[0], t[1], t[2], t[3], t[4], t[5]);
        if (tx) {
            p3d_text_printf(b, "{\"bufferView\":1,\"componentType\":%d,\"normalized\":true,\"count\":%lld,\"type\":\"VEC2\"}",
                            GL_UNSIGNED_SHORT, n);
        } else {
            p3d_text_printf(b, "{\"bufferView\":1,\"componentType\":%d,\"normalized\":true,\"count\":%lld,\"type\":\"VEC3\"},",
                            GL_UNSIGNED_BYTE, n);
            p3d_text_printf(b, "{\"bufferView\":2,\"componentType\":%d,\"count\":%lld,\"type\":\"SCALAR\"}", GL_UNSIGNED_BYTE, n);
        }
        if (nf > 0)
            p3d_text_printf(b, ",{\"bufferView\":%d,\"componentType\":%d,\"count\":%lld,\"type\":\"SCALAR\"}", view_idx,
                      GL_UNSIGNED_INT, (long long)nf * 3);
        p3d_text_printf(b, "],\"bufferViews\":[{\"buffer\":0,\"byteOffset\":0,\"byteLength\":%lld,\"target\":34962}", n * 12);
        if (tx)
            p3d_text_printf(b, ",{\"buffer\":0,\"byteOffset\":%zu,\"byteLength\":%lld,\"target\":34962}", L->off_uv, n * 4);
        else
            p3d_text_printf(b, ",{\"buffer\":0,\"byteOffset\":%lld,\"byteLength\":%lld,\"byteStride\":4,\"target\":34962},"
                            "{\"buffer\":0,\"byteOffset\":%lld,\"byteLength\":%lld,\"byteStride\":4,\"target\":34962}",
                            n * 12, n * 4, n * 16, n * 4);
        if (nf > 0)
            p3d_text_printf(b, ",{\"buffer\":0,\"byteOffset\":%zu,\"byteLength\":%lld,\"target\":34963}", L->off_idx,
                      (long long)nf * 12);
        if (tx) {
            /* The atlas: bilinear with mipmaps, clamped (the gutters hold each chart's bled colours). */
            p3d_text_printf(b, ",{\"buffer\":0,\"byteOffset\":%zu,\"byteLength\":%zu}],\"images\":[{\"bufferView\":%d,"
                         "\"mimeType\":\"%s\"}],\"samplers\":[{\"magFilter\":9729,\"minFilter\":9987,\"wrapS\":33071,"
                         "\"wrapT\":33071}],\"textures\":[{\"sampler\":0,\"source\":0}]",
                      L->off_img, L->img_len, nf > 0 ? view_idx + 1 : view_idx, L->mime);
        } else {
            p3d_text_printf(b, "]");
        }
        p3d_text_printf(b, ",\"buffers\":[{\"byteLength\":%zu}]", L->bin_len);
    }
    p3d_text_printf(b, "}");
}

/* A texture coordinate as glTF's normalized unsigned short: round(u * 65535), u clamped to [0, 1]
 * (NaN to 0); the reader and every glTF viewer decode q / 65535. */
static uint16_t glb_unorm16(float u) {
    const float c = u > 0.0f ? (u < 1.0f ? u : 1.0f) : 0.0f;
    return (uint16_t)floorf(c * 65535.0f + 0.5f);
}

typedef struct glb_job {
    const p3d_mesh *m;
    const char *path;
    const p3d_text *json;
    const glb_layout *L;
} glb_job;

static p3d_status write_glb_body(FILE *f, void *user) {
    const glb_job *job = (const glb_job *)user;
    const p3d_mesh *m = job->m;
    const glb_layout *L = job->L;
    const size_t json_len = (job->json->len + 3) & ~(size_t)3;
    const size_t bin_len = L->bin_len;
    const size_t total = 12 + 8 + json_len + (bin_len ? 8 + bin_len : 0);
    if (total > UINT32_MAX)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: the mesh needs %zu bytes, more than a GLB file can hold", job->path, total);
    p3d_mesh_out o;
    P3D_TRY(p3d_mesh_out_init(&o, f, job->path, (size_t)1 << 20));
    uint8_t head[20];
    p3d_put_le32(head, GLB_MAGIC);
    p3d_put_le32(head + 4, 2);
    p3d_put_le32(head + 8, (uint32_t)total);
    p3d_put_le32(head + 12, (uint32_t)json_len);
    p3d_put_le32(head + 16, GLB_JSON);
    p3d_status st = p3d_mesh_out_put(&o, head, 20);
    if (st == P3D_OK) st = p3d_mesh_out_put(&o, job->json->s, job->json->len);
    if (st == P3D_OK) st = p3d_mesh_out_put(&o, "   ", json_len - job->json->len); /* JSON pads with spaces */
    if (st == P3D_OK && bin_len) {
        p3d_put_le32(head, (uint32_t)bin_len);
        p3d_put_le32(head + 4, GLB_BIN);
        st = p3d_mesh_out_put(&o, head, 8);
        uint8_t rec[12];
        for (int64_t i = 0; i < m->n_vertices && st == P3D_OK; i++) {
            float p[3];
            glb_pos(m, i, p);
            for (int k = 0; k < 3; k++) {
                uint32_t bits;
                memcpy(&bits, &p[k], 4);
                p3d_put_le32(rec + 4 * k, bits);
            }
            st = p3d_mesh_out_put(&o, rec, 12);
        }
        for (int64_t i = 0; !L->textured && i < m->n_vertices && st == P3D_OK; i++) {
            memcpy(rec, m->rgba + 4 * i, 3);
            rec[3] = 0;
            st = p3d_mesh_out_put(&o, rec, 4);
        }
        for (int64_t i = 0; !L->textured && i < m->n_vertices && st == P3D_OK; i++) {
            rec[0] = m->rgba[4 * i + 3];
            rec[1] = rec[2] = rec[3] = 0;
            st = p3d_mesh_out_put(&o, rec, 4);
        }
        for (int64_t i = 0; L->textured && i < m->n_vertices && st == P3D_OK; i++) {
            for (int k = 0; k < 2; k++) {
                const uint16_t q = glb_unorm16(m->uv[2 * i + k]);
                rec[2 * k] = (uint8_t)(q & 0xff);
                rec[2 * k + 1] = (uint8_t)(q >> 8);
            }
            st = p3d_mesh_out_put(&o, rec, 4);
        }
        for (int64_t i = 0; i < m->n_faces && st == P3D_OK; i++) {
            for (int k = 0; k < 3; k++) p3d_put_le32(rec + 4 * k, (uint32_t)m->faces[3 * i + k]);
            st = p3d_mesh_out_put(&o, rec, 12);
        }
        if (L->textured && st == P3D_OK) st = p3d_mesh_out_put(&o, L->img, L->img_len);
        if (L->textured && st == P3D_OK) st = p3d_mesh_out_put(&o, "\0\0\0", ((L->img_len + 3) & ~(size_t)3) - L->img_len);
    }
    p3d_status fin = p3d_mesh_out_finish(&o);
    return st != P3D_OK ? st : fin;
}

/* The GLB of m through the FILE writer fn(f, job): a file written atomically, or a memory stream. */
static p3d_status glb_emit(const p3d_mesh *m, const char *path, p3d_status (*emit)(const char *, glb_job *, void *),
                           void *user) {
    P3D_TRY(p3d_mesh_check_for_write(m, path));
    glb_layout L;
    P3D_TRY(glb_layout_make(m, path, &L));
    p3d_text json = {0};
    json_document(m, &L, &json);
    if (json.oom) {
        p3d_text_free(&json);
        free(L.img);
        return p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    }
    glb_job job = {m, path, &json, &L};
    p3d_status st = emit(path, &job, user);
    p3d_text_free(&json);
    free(L.img);
    return st;
}

static p3d_status emit_file(const char *path, glb_job *job, void *user) {
    (void)user;
    return p3d_file_write_atomic_fn(path, write_glb_body, job);
}

p3d_status p3d_mesh_write_glb(const p3d_mesh *m, const char *path) { return glb_emit(m, path, emit_file, NULL); }

typedef struct glb_mem {
    char *data;
    size_t len;
} glb_mem;

/* The same bytes into a POSIX memory stream (open_memstream grows the buffer as the body is written). */
static p3d_status emit_mem(const char *path, glb_job *job, void *user) {
    glb_mem *out = (glb_mem *)user;
    FILE *f = open_memstream(&out->data, &out->len);
    if (!f) return p3d_fail(P3D_ERR_OOM, "%s: out of memory for the GLB", path);
    p3d_status st = write_glb_body(f, job);
    if (fclose(f) != 0 && st == P3D_OK) st = p3d_fail(P3D_ERR_OOM, "%s: out of memory for the GLB", path);
    if (st != P3D_OK) {
        free(out->data);
        out->data = NULL;
        out->len = 0;
    }
    return st;
}

p3d_status p3d_mesh_encode_glb(const p3d_mesh *m, const char *name, uint8_t **data, size_t *len) {
    glb_mem mem = {NULL, 0};
    *data = NULL;
    *len = 0;
    P3D_TRY(glb_emit(m, name, emit_mem, &mem));
    *data = (uint8_t *)mem.data;
    *len = mem.len;
    return P3D_OK;
}

/* ---- reader: a small JSON DOM ------------------------------------------------------------------ */

enum { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };
#define JSON_MAX_DEPTH 64

typedef struct jnode {
    int32_t type;
    int32_t first, next; /* first child (arrays, objects) and next sibling, -1 for none */
    const char *str;     /* J_STR: the raw characters between the quotes; J_NUM: the number's text */
    int32_t len;
    const char *key; /* member name (raw) when the parent is an object */
    int32_t key_len;
    double num;
} jnode;

typedef struct jdoc {
    const char *p, *end;
    jnode *nodes;
    int32_t n, cap;
    const char *err;
} jdoc;

static void j_ws(jdoc *d) {
    while (d->p < d->end && (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r')) d->p++;
}

static int32_t j_new(jdoc *d, int32_t type) {
    if (d->n == d->cap) {
        int32_t cap = d->cap ? d->cap * 2 : 256;
        jnode *t = (jnode *)realloc(d->nodes, (size_t)cap * sizeof *t);
        if (!t) {
            d->err = "out of memory";
            return -1;
        }
        d->nodes = t;
        d->cap = cap;
    }
    jnode *j = &d->nodes[d->n];
    memset(j, 0, sizeof *j);
    j->type = type;
    j->first = j->next = -1;
    return d->n++;
}

/* A string's raw characters (escapes are kept; glTF keys and our values never need decoding). */
static int j_string(jdoc *d, const char **s, int32_t *len) {
    if (d->p >= d->end || *d->p != '"') return 0;
    const char *b = ++d->p;
    while (d->p < d->end && *d->p != '"') {
        if ((unsigned char)*d->p < 0x20) return 0;
        if (*d->p == '\\' && ++d->p >= d->end) return 0;
        d->p++;
    }
    if (d->p >= d->end || d->p - b > INT32_MAX) return 0;
    *s = b;
    *len = (int32_t)(d->p++ - b);
    return 1;
}

static int32_t j_value(jdoc *d, int depth) {
    j_ws(d);
    if (d->p >= d->end || depth > JSON_MAX_DEPTH) {
        d->err = depth > JSON_MAX_DEPTH ? "nested too deeply" : "unexpected end";
        return -1;
    }
    const char c = *d->p;
    if (c == '{' || c == '[') {
        const int obj = c == '{';
        int32_t me = j_new(d, obj ? J_OBJ : J_ARR), last = -1;
        if (me < 0) return -1;
        d->p++;
        j_ws(d);
        if (d->p < d->end && *d->p == (obj ? '}' : ']')) {
            d->p++;
            return me;
        }
        for (;;) {
            const char *key = NULL;
            int32_t key_len = 0;
            if (obj) {
                j_ws(d);
                if (!j_string(d, &key, &key_len)) {
                    d->err = "bad member name";
                    return -1;
                }
                j_ws(d);
                if (d->p >= d->end || *d->p++ != ':') {
                    d->err = "missing ':'";
                    return -1;
                }
            }
            int32_t child = j_value(d, depth + 1);
            if (child < 0) return -1;
            d->nodes[child].key = key;
            d->nodes[child].key_len = key_len;
            if (last < 0) d->nodes[me].first = child;
            else d->nodes[last].next = child;
            last = child;
            j_ws(d);
            if (d->p < d->end && *d->p == ',') {
                d->p++;
                continue;
            }
            if (d->p < d->end && *d->p == (obj ? '}' : ']')) {
                d->p++;
                return me;
            }
            d->err = obj ? "expected ',' or '}'" : "expected ',' or ']'";
            return -1;
        }
    }
    if (c == '"') {
        int32_t me = j_new(d, J_STR);
        if (me < 0) return -1;
        if (!j_string(d, &d->nodes[me].str, &d->nodes[me].len)) {
            d->err = "bad string";
            return -1;
        }
        return me;
    }
    static const char *const words[3] = {"null", "false", "true"};
    for (int w = 0; w < 3; w++) {
        size_t n = strlen(words[w]);
        if ((size_t)(d->end - d->p) >= n && !memcmp(d->p, words[w], n)) {
            d->p += n;
            return j_new(d, J_NULL + w);
        }
    }
    /* A number: JSON's grammar, checked by hand, then strtod on a bounded copy. */
    const char *b = d->p;
    if (d->p < d->end && *d->p == '-') d->p++;
    const char *digits = d->p;
    while (d->p < d->end && ((*d->p >= '0' && *d->p <= '9') || *d->p == '.' || *d->p == 'e' || *d->p == 'E' ||
                             *d->p == '+' || *d->p == '-'))
        d->p++;
    char buf[64];
    if (d->p == digits || d->p - b >= (long)sizeof buf || !(*digits >= '0' && *digits <= '9')) {
        d->err = "unexpected character";
        return -1;
    }
    memcpy(buf, b, (size_t)(d->p - b));
    buf[d->p - b] = 0;
    char *e = NULL;
    double v = strtod(buf, &e);
    if (*e || !isfinite(v)) {
        d->err = "bad number";
        return -1;
    }
    int32_t me = j_new(d, J_NUM);
    if (me < 0) return -1;
    d->nodes[me].num = v;
    d->nodes[me].str = b;
    d->nodes[me].len = (int32_t)(d->p - b);
    return me;
}

static const jnode *j_at(const jdoc *d, int32_t i) { return i >= 0 ? &d->nodes[i] : NULL; }

/* Member `key` of object o, NULL when o is not an object or lacks it. */
static const jnode *j_get(const jdoc *d, const jnode *o, const char *key) {
    if (!o || o->type != J_OBJ) return NULL;
    const int32_t n = (int32_t)strlen(key);
    const jnode *found = NULL;
    for (const jnode *c = j_at(d, o->first); c; c = j_at(d, c->next))
        if (c->key_len == n && !memcmp(c->key, key, (size_t)n)) found = c; /* the last duplicate wins */
    return found;
}

static int64_t j_count(const jdoc *d, const jnode *a) {
    int64_t n = 0;
    if (a && a->type == J_ARR)
        for (const jnode *c = j_at(d, a->first); c; c = j_at(d, c->next)) n++;
    return n;
}

static const jnode *j_item(const jdoc *d, const jnode *a, int64_t i) {
    if (!a || a->type != J_ARR || i < 0) return NULL;
    const jnode *c = j_at(d, a->first);
    while (c && i--) c = j_at(d, c->next);
    return c;
}

/* Integer member in [lo, hi]: 1 and *out when present and valid, 0 when absent (*out = dflt), -1 when
 * present but not such an integer. */
static int j_int(const jdoc *d, const jnode *o, const char *key, int64_t lo, int64_t hi, int64_t dflt, int64_t *out) {
    const jnode *v = j_get(d, o, key);
    *out = dflt;
    if (!v) return 0;
    if (v->type != J_NUM || v->num != floor(v->num) || v->num < (double)lo || v->num > (double)hi) return -1;
    *out = (int64_t)v->num;
    return 1;
}

static int j_str_is(const jnode *v, const char *s) {
    return v && v->type == J_STR && v->len == (int32_t)strlen(s) && !memcmp(v->str, s, (size_t)v->len);
}

/* ---- reader: accessors --------------------------------------------------------------------------- */

typedef struct glb_ctx {
    const char *path;
    jdoc doc;
    const jnode *root;
    const uint8_t *bin;
    size_t bin_len;
} glb_ctx;

/* Resolved view of one accessor: count elements of `size` bytes at bin + offset, `stride` apart. */
typedef struct glb_view {
    int64_t count;
    int32_t component;
    int32_t ncomp;
    int32_t normalized;
    size_t offset, stride, size;
} glb_view;

static int32_t component_bytes(int64_t c) {
    return c == GL_UNSIGNED_BYTE || c == 5120 ? 1 : c == GL_UNSIGNED_SHORT || c == 5122 ? 2 : c == GL_UNSIGNED_INT || c == GL_FLOAT ? 4 : 0;
}

static p3d_status accessor_view(const glb_ctx *g, int64_t index, const char *what, glb_view *out) {
    const jdoc *d = &g->doc;
    const jnode *acc = j_item(d, j_get(d, g->root, "accessors"), index);
    if (!acc || acc->type != J_OBJ) return p3d_fail(P3D_ERR_FORMAT, "%s: %s: accessor %lld missing", g->path, what, (long long)index);
    if (j_get(d, acc, "sparse")) return p3d_fail(P3D_ERR_FORMAT, "%s: %s: sparse accessors are not supported", g->path, what);
    int64_t view = 0, off = 0, comp = 0, count = 0;
    static const char *const types[5] = {"SCALAR", "VEC2", "VEC3", "VEC4", NULL};
    const jnode *type = j_get(d, acc, "type");
    int32_t ncomp = 0;
    for (int32_t k = 0; types[k]; k++)
        if (j_str_is(type, types[k])) ncomp = k + 1;
    const jnode *norm = j_get(d, acc, "normalized");
    if (j_int(d, acc, "bufferView", 0, INT32_MAX, -1, &view) != 1 || j_int(d, acc, "byteOffset", 0, INT64_MAX / 2, 0, &off) < 0 ||
        j_int(d, acc, "componentType", 0, 99999, 0, &comp) != 1 || j_int(d, acc, "count", 1, INT64_MAX / 2, 0, &count) != 1 ||
        !ncomp || !component_bytes(comp) || (norm && norm->type != J_TRUE && norm->type != J_FALSE))
        return p3d_fail(P3D_ERR_FORMAT, "%s: %s: accessor %lld lacks a valid bufferView, componentType, count or type",
                        g->path, what, (long long)index);
    const jnode *bv = j_item(d, j_get(d, g->root, "bufferViews"), view);
    int64_t buf = 0, boff = 0, blen = 0, stride = 0;
    if (!bv || j_int(d, bv, "buffer", 0, INT32_MAX, -1, &buf) != 1 || j_int(d, bv, "byteOffset", 0, INT64_MAX / 2, 0, &boff) < 0 ||
        j_int(d, bv, "byteLength", 1, INT64_MAX / 2, 0, &blen) != 1 || j_int(d, bv, "byteStride", 4, 252, 0, &stride) < 0)
        return p3d_fail(P3D_ERR_FORMAT, "%s: %s: buffer view %lld missing or malformed", g->path, what, (long long)view);
    const jnode *b0 = j_item(d, j_get(d, g->root, "buffers"), buf);
    int64_t buf_len = 0;
    if (buf != 0 || !b0 || j_get(d, b0, "uri") || j_int(d, b0, "byteLength", 1, INT64_MAX / 2, 0, &buf_len) != 1)
        return p3d_fail(P3D_ERR_FORMAT, "%s: %s: only the GLB's own BIN chunk is supported as a buffer", g->path, what);
    if ((uint64_t)buf_len > g->bin_len)
        return p3d_fail(P3D_ERR_FORMAT, "%s: buffer 0 claims %lld bytes, the BIN chunk has %zu", g->path, (long long)buf_len,
                        g->bin_len);
    if (boff + blen > buf_len)
        return p3d_fail(P3D_ERR_FORMAT, "%s: %s: buffer view %lld (bytes %lld..%lld) runs past the %lld-byte buffer", g->path,
                        what, (long long)view, (long long)boff, (long long)(boff + blen), (long long)buf_len);
    const int64_t size = (int64_t)component_bytes(comp) * ncomp, step = stride ? stride : size;
    if (step < size || off % component_bytes(comp) || (boff + off) % component_bytes(comp))
        return p3d_fail(P3D_ERR_FORMAT, "%s: %s: accessor %lld is misaligned or its stride %lld is below its element size",
                        g->path, what, (long long)index, (long long)step);
    /* count <= blen keeps the product below 2^63 (blen < 2^62, step <= 252). */
    if (count > blen || off + (count - 1) * step + size > blen)
        return p3d_fail(P3D_ERR_FORMAT, "%s: %s: accessor %lld (%lld elements) runs past its %lld-byte buffer view", g->path,
                        what, (long long)index, (long long)count, (long long)blen);
    out->count = count;
    out->component = (int32_t)comp;
    out->ncomp = ncomp;
    out->normalized = norm && norm->type == J_TRUE;
    out->offset = (size_t)(boff + off);
    out->stride = (size_t)step;
    out->size = (size_t)size;
    return P3D_OK;
}

/* Accessor `key` of the primitive's attributes with the wanted layout; 0 when absent. */
static p3d_status attribute(const glb_ctx *g, const jnode *attrs, const char *key, int32_t comp, int32_t n1, int32_t n2,
                            int normalized, int64_t count, glb_view *out, int *present) {
    int64_t idx = 0;
    int r = j_int(&g->doc, attrs, key, 0, INT32_MAX, -1, &idx);
    *present = r == 1;
    if (r == 0) return P3D_OK;
    if (r < 0) return p3d_fail(P3D_ERR_FORMAT, "%s: attribute %s is not an accessor index", g->path, key);
    P3D_TRY(accessor_view(g, idx, key, out));
    if (out->component != comp || (out->ncomp != n1 && out->ncomp != n2) || out->normalized != normalized)
        return p3d_fail(P3D_ERR_FORMAT, "%s: attribute %s has component type %d x %d%s; expected %d x %d%s", g->path, key,
                        (int)out->component, (int)out->ncomp, out->normalized ? " normalized" : "", (int)comp, (int)n1,
                        normalized ? " normalized" : "");
    if (count >= 0 && out->count != count)
        return p3d_fail(P3D_ERR_FORMAT, "%s: attribute %s has %lld elements for %lld vertices", g->path, key,
                        (long long)out->count, (long long)count);
    return P3D_OK;
}

/* Largest atlas side a reader takes (the writer makes at most 4096; other tools' textures up to 16384). */
#define GLB_MAX_TEXTURE 16384

/* Texture coordinate k (0: u, 1: v) of vertex i from a TEXCOORD_0 view: float, or normalized unsigned
 * byte / short (q / 255, q / 65535, glTF's decoding). */
static float read_uv(const glb_ctx *g, const glb_view *uv, int64_t i, int k) {
    const uint8_t *p = g->bin + uv->offset + (size_t)i * uv->stride;
    if (uv->component == GL_UNSIGNED_SHORT) return (float)(p[2 * k] | p[2 * k + 1] << 8) / 65535.0f;
    if (uv->component == GL_UNSIGNED_BYTE) return (float)p[k] / 255.0f;
    const uint32_t bits = p3d_get_le32(p + 4 * k);
    float v;
    memcpy(&v, &bits, 4);
    return v;
}

/* TEXCOORD_0 and the material's baseColorTexture, when the primitive has both: the mesh becomes a
 * textured one (uv, tex; tex_quality 90 for a JPEG, 0 for a PNG, so a rewrite keeps the kind). Without
 * COLOR_0 (has_col 0: our textured GLBs) the vertex colours are the atlas at each vertex's TEXCOORD_0,
 * so writing the mesh as PLY still gives a coloured mesh. */
static p3d_status read_texture(const glb_ctx *g, const jnode *prim, int has_col, p3d_mesh *m) {
    const jdoc *d = &g->doc;
    glb_view uv;
    int has_uv = 0;
    const jnode *attrs = j_get(d, prim, "attributes");
    int64_t uv_acc = -1;
    const int r = j_int(d, attrs, "TEXCOORD_0", 0, INT32_MAX, -1, &uv_acc);
    if (r < 0) return p3d_fail(P3D_ERR_FORMAT, "%s: attribute TEXCOORD_0 is not an accessor index", g->path);
    if (r == 1) {
        P3D_TRY(accessor_view(g, uv_acc, "TEXCOORD_0", &uv));
        const int is_float = uv.component == GL_FLOAT && !uv.normalized;
        const int is_unorm = (uv.component == GL_UNSIGNED_SHORT || uv.component == GL_UNSIGNED_BYTE) && uv.normalized;
        if (uv.ncomp != 2 || !(is_float || is_unorm))
            return p3d_fail(P3D_ERR_FORMAT, "%s: attribute TEXCOORD_0 has component type %d x %d%s; expected VEC2 of float "
                            "or normalized unsigned byte / short", g->path, (int)uv.component, (int)uv.ncomp,
                            uv.normalized ? " normalized" : "");
        if (uv.count != m->n_vertices)
            return p3d_fail(P3D_ERR_FORMAT, "%s: attribute TEXCOORD_0 has %lld elements for %lld vertices", g->path,
                            (long long)uv.count, (long long)m->n_vertices);
        has_uv = 1;
    }
    int64_t mat = -1, tex = -1, src = -1, view = -1;
    if (j_int(d, prim, "material", 0, INT32_MAX, -1, &mat) < 0)
        return p3d_fail(P3D_ERR_FORMAT, "%s: primitive material is not an index", g->path);
    const jnode *pbr = j_get(d, j_item(d, j_get(d, g->root, "materials"), mat), "pbrMetallicRoughness");
    const jnode *bct = j_get(d, pbr, "baseColorTexture");
    if (!has_uv || !bct) return P3D_OK;
    const jnode *texture = NULL, *image = NULL, *bv = NULL;
    if (j_int(d, bct, "index", 0, INT32_MAX, -1, &tex) == 1) texture = j_item(d, j_get(d, g->root, "textures"), tex);
    if (texture && j_int(d, texture, "source", 0, INT32_MAX, -1, &src) == 1) image = j_item(d, j_get(d, g->root, "images"), src);
    if (image && j_int(d, image, "bufferView", 0, INT32_MAX, -1, &view) == 1) bv = j_item(d, j_get(d, g->root, "bufferViews"), view);
    int64_t buf = -1, boff = 0, blen = 0;
    if (!bv || j_int(d, bv, "buffer", 0, 0, -1, &buf) != 1 || j_int(d, bv, "byteOffset", 0, INT64_MAX / 2, 0, &boff) < 0 ||
        j_int(d, bv, "byteLength", 1, INT64_MAX / 2, 0, &blen) != 1 || (uint64_t)(boff + blen) > g->bin_len)
        return p3d_fail(P3D_ERR_FORMAT, "%s: the base colour texture is not an image in the GLB's BIN chunk", g->path);
    for (int64_t i = 0; i < 2 * uv.count; i++)
        if (!isfinite(read_uv(g, &uv, i / 2, (int)(i % 2))))
            return p3d_fail(P3D_ERR_FORMAT, "%s: vertex %lld has a non-finite TEXCOORD_0", g->path, (long long)(i / 2));
    char what[512];
    snprintf(what, sizeof what, "%s: base colour texture", g->path);
    P3D_TRY(p3d_image_decode_rgb(what, g->bin + boff, (size_t)blen, GLB_MAX_TEXTURE, &m->tex, &m->tex_w, &m->tex_h));
    m->tex_quality = j_str_is(j_get(d, image, "mimeType"), "image/png") ? 0 : 90;
    m->uv = (float *)malloc(((size_t)uv.count + 1) * 2 * sizeof(float));
    if (!m->uv) return p3d_fail(P3D_ERR_OOM, "%s: out of memory for texture coordinates", g->path);
    for (int64_t i = 0; i < 2 * uv.count; i++) m->uv[i] = read_uv(g, &uv, i / 2, (int)(i % 2));
    for (int64_t i = 0; !has_col && i < m->n_vertices; i++) {
        float c[3];
        p3d_tex_bilinear(m->tex, m->tex_w, m->tex_h, m->uv[2 * i], m->uv[2 * i + 1], c);
        for (int k = 0; k < 3; k++) m->rgba[4 * i + k] = (uint8_t)(c[k] + 0.5f);
    }
    return P3D_OK;
}

static p3d_status read_document(glb_ctx *g, p3d_mesh *m) {
    const jdoc *d = &g->doc;
    int has_col = 0;
    const jnode *asset = j_get(d, g->root, "asset");
    if (!j_str_is(j_get(d, asset, "version"), "2.0"))
        return p3d_fail(P3D_ERR_FORMAT, "%s: not a glTF 2.0 asset", g->path);
    const jnode *ex = j_get(d, asset, "extras");
    int64_t w = 0, h = 0;
    if (j_int(d, ex, "width", 0, INT32_MAX, 0, &w) < 0 || j_int(d, ex, "height", 0, INT32_MAX, 0, &h) < 0)
        return p3d_fail(P3D_ERR_FORMAT, "%s: asset extras width/height are not sizes", g->path);
    float fov[2] = {0, 0};
    static const char *const fov_keys[2] = {"hfov", "vfov"};
    for (int k = 0; k < 2; k++) {
        const jnode *v = j_get(d, ex, fov_keys[k]);
        if (!v) continue;
        char buf[64];
        if (v->type != J_NUM || v->len >= (int32_t)sizeof buf)
            return p3d_fail(P3D_ERR_FORMAT, "%s: asset extras %s is not a number", g->path, fov_keys[k]);
        memcpy(buf, v->str, (size_t)v->len); /* strtof on the text: the exact float32 the writer printed */
        buf[v->len] = 0;
        fov[k] = strtof(buf, NULL);
    }
    const jnode *meshes = j_get(d, g->root, "meshes");
    const int64_t n_meshes = j_count(d, meshes);
    const jnode *prims = j_get(d, j_item(d, meshes, 0), "primitives");
    if (n_meshes > 1 || (n_meshes == 1 && j_count(d, prims) != 1))
        return p3d_fail(P3D_ERR_FORMAT, "%s: %lld meshes / %lld primitives; only one mesh of one primitive is supported",
                        g->path, (long long)n_meshes, (long long)j_count(d, prims));
    if (n_meshes == 0) {
        P3D_TRY(p3d_mesh_alloc(m, 0, 0));
    } else {
        const jnode *prim = j_item(d, prims, 0), *attrs = j_get(d, prim, "attributes");
        int64_t mode = 4, idx = -1;
        if (j_int(d, prim, "mode", 0, 6, 4, &mode) < 0 || (mode != 4 && mode != 0))
            return p3d_fail(P3D_ERR_FORMAT, "%s: primitive mode %lld; only triangles (4) and points (0)", g->path, (long long)mode);
        glb_view pos, col, lab, ind;
        int has_pos, has_lab = 0;
        P3D_TRY(attribute(g, attrs, "POSITION", GL_FLOAT, 3, 3, 0, -1, &pos, &has_pos));
        if (!has_pos) return p3d_fail(P3D_ERR_FORMAT, "%s: primitive without POSITION", g->path);
        if (pos.count > INT32_MAX) return p3d_fail(P3D_ERR_FORMAT, "%s: %lld vertices", g->path, (long long)pos.count);
        P3D_TRY(attribute(g, attrs, "COLOR_0", GL_UNSIGNED_BYTE, 3, 4, 1, pos.count, &col, &has_col));
        P3D_TRY(attribute(g, attrs, "_PROVENANCE", GL_UNSIGNED_BYTE, 1, 1, 0, pos.count, &lab, &has_lab));
        int r = j_int(d, prim, "indices", 0, INT32_MAX, -1, &idx);
        if (r < 0) return p3d_fail(P3D_ERR_FORMAT, "%s: primitive indices is not an accessor index", g->path);
        int64_t n_idx = mode == 0 ? 0 : pos.count;
        if (r == 1) {
            if (mode == 0) return p3d_fail(P3D_ERR_FORMAT, "%s: indexed points are not supported", g->path);
            P3D_TRY(accessor_view(g, idx, "indices", &ind));
            if (ind.ncomp != 1 || ind.normalized ||
                (ind.component != GL_UNSIGNED_BYTE && ind.component != GL_UNSIGNED_SHORT && ind.component != GL_UNSIGNED_INT))
                return p3d_fail(P3D_ERR_FORMAT, "%s: indices must be unsigned integer scalars", g->path);
            n_idx = ind.count;
        }
        if (n_idx % 3)
            return p3d_fail(P3D_ERR_FORMAT, "%s: %lld indices are not whole triangles", g->path, (long long)n_idx);
        P3D_TRY(p3d_mesh_alloc(m, pos.count, n_idx / 3));
        for (int64_t i = 0; i < pos.count; i++) {
            const uint8_t *p = g->bin + pos.offset + (size_t)i * pos.stride;
            for (int k = 0; k < 3; k++) {
                uint32_t bits = p3d_get_le32(p + 4 * k);
                float v;
                memcpy(&v, &bits, 4);
                if (!isfinite(v)) return p3d_fail(P3D_ERR_FORMAT, "%s: vertex %lld has a non-finite coordinate", g->path, (long long)i);
                m->xyz[3 * i + k] = k ? -v : v; /* glTF axes back to OpenCV's */
            }
            uint8_t *c = m->rgba + 4 * i;
            if (has_col) memcpy(c, g->bin + col.offset + (size_t)i * col.stride, 3);
            else c[0] = c[1] = c[2] = 255;
            c[3] = has_lab ? g->bin[lab.offset + (size_t)i * lab.stride] : P3D_LABEL_ORIGINAL;
        }
        for (int64_t i = 0; i < n_idx; i++) {
            uint32_t v = (uint32_t)i;
            if (r == 1) {
                const uint8_t *p = g->bin + ind.offset + (size_t)i * ind.stride;
                v = ind.component == GL_UNSIGNED_INT ? p3d_get_le32(p) : ind.component == GL_UNSIGNED_SHORT ? (uint32_t)(p[0] | p[1] << 8) : p[0];
            }
            if (v >= (uint64_t)pos.count)
                return p3d_fail(P3D_ERR_FORMAT, "%s: index %lld is vertex %lu of %lld", g->path, (long long)i, (unsigned long)v,
                                (long long)pos.count);
            m->faces[i] = (int32_t)v;
        }
    }
    m->width = (int32_t)w;
    m->height = (int32_t)h;
    m->hfov = fov[0];
    m->vfov = fov[1];
    if (n_meshes == 1) P3D_TRY(read_texture(g, j_item(d, prims, 0), has_col, m));
    return P3D_OK;
}

p3d_status p3d_mesh_parse_glb(const char *path, const uint8_t *data, size_t len, p3d_mesh *out) {
    if (len < 20) return p3d_fail(P3D_ERR_FORMAT, "%s: truncated GLB (%zu bytes)", path, len);
    if (p3d_get_le32(data + 4) != 2) return p3d_fail(P3D_ERR_FORMAT, "%s: GLB version %u (only 2)", path, (unsigned)p3d_get_le32(data + 4));
    if (p3d_get_le32(data + 8) != len)
        return p3d_fail(P3D_ERR_FORMAT, "%s: GLB header says %u bytes, the file has %zu (truncated or padded)", path,
                        (unsigned)p3d_get_le32(data + 8), len);
    const size_t json_len = p3d_get_le32(data + 12);
    if (p3d_get_le32(data + 16) != GLB_JSON || json_len % 4 || json_len > len - 20)
        return p3d_fail(P3D_ERR_FORMAT, "%s: GLB's first chunk (offset 12) is not a JSON chunk of %zu bytes within the file",
                        path, json_len);
    glb_ctx g;
    memset(&g, 0, sizeof g);
    g.path = path;
    size_t at = 20 + json_len;
    if (at < len) {
        const size_t bin_len = len - at < 8 ? 0 : p3d_get_le32(data + at);
        if (len - at < 8 || p3d_get_le32(data + at + 4) != GLB_BIN || bin_len % 4 || bin_len != len - at - 8)
            return p3d_fail(P3D_ERR_FORMAT, "%s: GLB's second chunk (offset %zu) is not a BIN chunk filling the rest of the file",
                            path, at);
        g.bin = data + at + 8;
        g.bin_len = bin_len;
    }
    g.doc.p = (const char *)data + 20;
    g.doc.end = g.doc.p + json_len;
    int32_t root = j_value(&g.doc, 0);
    if (root >= 0) {
        j_ws(&g.doc);
        if (g.doc.p != g.doc.end) {
            g.doc.err = "data after the JSON document";
            root = -1;
        }
    }
    p3d_status st;
    if (root < 0 || g.doc.nodes[root].type != J_OBJ)
        st = p3d_fail(P3D_ERR_FORMAT, "%s: GLB JSON chunk: %s at byte %zu", path, g.doc.err ? g.doc.err : "not an object",
                      (size_t)(g.doc.p - (const char *)data));
    else {
        g.root = &g.doc.nodes[root];
        st = read_document(&g, out);
    }
    free(g.doc.nodes);
    return st;
}
