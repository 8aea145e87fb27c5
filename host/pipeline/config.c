/* config.c - argument.yml keys: one table drives defaults, YAML parsing (libyaml), --set, printing
 * and comparison, so a key is described once. */
#include "pipeline/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "core/backend.h"
#include "core/file_io.h"
#include "core/json.h"
#include "core/models.h"
#include "mesh/mesh_file.h"

typedef enum key_type {
    K_BOOL,    /* int32_t 0/1 */
    K_INT,     /* int32_t in [lo, hi] */
    K_FLOAT,   /* double in [lo, hi] */
    K_STR,     /* char[cap] */
    K_DEVICE,  /* char[cap], checked by p3d_device_parse */
    K_ENUM,    /* int32_t index into choices */
    K_INTS,    /* int32_t[max_count] + int32_t count; items in [lo, hi], odd when `odd` */
    K_FLOATS,  /* double[max_count] + count; items in [lo, hi] */
    K_STRS,    /* char[max_count][cap] + count; items from choices, or file-name parts when NULL */
    K_GPU_IDS, /* alias: an int that sets the K_DEVICE field at off */
} key_type;

typedef struct key_desc {
    const char *name;
    key_type type;
    size_t off;       /* the field */
    size_t count_off; /* lists: the int32_t count field */
    int32_t min_count, max_count;
    size_t cap;      /* strings: capacity of the field / of one list item */
    double lo, hi;   /* numbers and numeric list items: inclusive range */
    int32_t odd;     /* K_INTS: items must be odd (centred windows) */
    const char *const *choices; /* K_ENUM, K_STRS: allowed values (NULL-terminated) */
    const char *note; /* printed as a comment: why a key changes nothing, or what it is */
} key_desc;

static const char *const k_fill_names[] = {"auto", "learned", "classic", NULL};
static const char *const k_depth_model_names[] = {"tiefenrausch", "midas-v1", "midas-small", "midas-large", NULL};
/* Index = p3d_mesh_format value. */
static const char *const k_mesh_format_names[] = {"ply", "ply-ascii", "glb", NULL};
/* Index = the video_mesh value. */
static const char *const k_video_mesh_names[] = {"dense", "compact", NULL};
static const char *const k_traj_names[] = {"double-straight-line", "straight-line", "circle", NULL};

_Static_assert(P3D_MESH_PLY_BINARY == 0 && P3D_MESH_PLY_ASCII == 1 && P3D_MESH_GLB == 2,
               "k_mesh_format_names is indexed by p3d_mesh_format");

#define OFF(f) offsetof(p3d_config, f)
#define CAP(f) sizeof(((p3d_config *)0)->f)
#define ITEM_CAP(f) sizeof(((p3d_config *)0)->f[0])
#define NITEMS(f) (int32_t)(sizeof(((p3d_config *)0)->f) / sizeof(((p3d_config *)0)->f[0]))
#define KBOOL(f, note) {#f, K_BOOL, OFF(f), 0, 0, 0, 0, 0, 1, 0, NULL, note}
#define KINT(f, lo, hi, note) {#f, K_INT, OFF(f), 0, 0, 0, 0, lo, hi, 0, NULL, note}
#define KFLOAT(f, lo, hi, note) {#f, K_FLOAT, OFF(f), 0, 0, 0, 0, lo, hi, 0, NULL, note}
#define KSTR(f, note) {#f, K_STR, OFF(f), 0, 0, 0, CAP(f), 0, 0, 0, NULL, note}
#define KENUM(f, names, note) {#f, K_ENUM, OFF(f), 0, 0, 0, 0, 0, 0, 0, names, note}
#define KFLOATS(f, n, mn, lo, hi) {#f, K_FLOATS, OFF(f), OFF(n), mn, NITEMS(f), 0, lo, hi, 0, NULL, NULL}
#define KSTRS(f, n, names) {#f, K_STRS, OFF(f), OFF(n), 0, NITEMS(f), ITEM_CAP(f), 0, 0, 0, names, NULL}

/* Print order = the reference's argument.yml order, then our keys. */
static const key_desc k_keys[] = {
    KSTR(depth_edge_model_ckpt, "edge-model.p3dw, or the .pth it was converted from; '' = model search path"),
    KSTR(depth_feat_model_ckpt, "depth-model.p3dw (or its .pth); '' = model search path"),
    KSTR(rgb_feat_model_ckpt, "color-model.p3dw (or its .pth); '' = model search path"),
    KSTR(MiDaS_model_ckpt, "midas-v1.p3dw (or model.pt); used when depth_model is midas-v1"),
    KBOOL(use_boostmonodepth, "BoostingMonocularDepth is not provided: true warns, depth from depth_model"),
    KINT(fps, 1, 1000, NULL),
    KINT(num_frames, 1, 100000, NULL),
    KFLOATS(x_shift_range, n_x_shift, 0, -1e6, 1e6),
    KFLOATS(y_shift_range, n_y_shift, 0, -1e6, 1e6),
    KFLOATS(z_shift_range, n_z_shift, 0, -1e6, 1e6),
    KSTRS(traj_types, n_traj_types, k_traj_names),
    KSTRS(video_postfix, n_video_postfix, NULL),
    KSTR(specific, "only the input with this file name or stem; '' = all"),
    KINT(longer_side_len, 16, 16384, NULL),
    KSTR(src_folder, "inputs when the command line names none"),
    KSTR(depth_folder, NULL),
    KSTR(mesh_folder, NULL),
    KSTR(video_folder, NULL),
    KBOOL(load_ply, "reuse an existing mesh file"),
    KBOOL(save_ply, "write the mesh file (format: mesh_format)"),
    KBOOL(inference_video, "read nowhere in the reference; videos are always rendered"),
    {"gpu_ids", K_GPU_IDS, OFF(device), 0, 0, 0, CAP(device), -1e9, 1e9, 0, NULL, NULL},
    KBOOL(offscreen_rendering, "rendering is always offscreen here; no effect"),
    KSTR(img_format, "folder inputs: only this extension; '' = every image type"),
    KSTR(depth_format, "preferred depth-map extension when several match"),
    KBOOL(require_midas, "estimate depth for photos without a depth map"),
    KFLOAT(depth_threshold, 0, 3, NULL),
    KFLOAT(ext_edge_threshold, 0, 1, NULL),
    KINT(sparse_iter, 0, P3D_CFG_MAX_ITER, NULL),
    {"filter_size", K_INTS, OFF(filter_size), OFF(n_filter_size), 0, NITEMS(filter_size), 0, 1, 99, 1, NULL, NULL},
    KFLOAT(sigma_s, 0, 1e9, "no effect in the reference's filter (spec 2.3)"),
    KFLOAT(sigma_r, 0, 1e9, "no effect in the reference's filter (spec 2.3)"),
    KINT(redundant_number, 0, 1000000, NULL),
    KINT(background_thickness, 0, 10000, NULL),
    KINT(context_thickness, 0, 10000, NULL),
    KINT(background_thickness_2, 0, 10000, NULL),
    KINT(context_thickness_2, 0, 10000, NULL),
    KFLOAT(discount_factor, -1e9, 1e9, "read nowhere in the reference; no effect"),
    KBOOL(log_depth, NULL),
    KINT(largest_size, 16, 65536, NULL),
    KINT(depth_edge_dilate, 0, 10000, NULL),
    KINT(depth_edge_dilate_2, 0, 10000, NULL),
    KBOOL(extrapolate_border, NULL),
    KINT(extrapolation_thickness, 0, 10000, NULL),
    KBOOL(repeat_inpaint_edge, NULL),
    KFLOATS(crop_border, n_crop_border, 4, 0, 0.5),
    KBOOL(anti_flickering, NULL),
    {"device", K_DEVICE, OFF(device), 0, 0, 0, CAP(device), 0, 0, 0, NULL, "auto | cpu | cuda | cuda:N"},
    KENUM(depth_model, k_depth_model_names, NULL),
    KENUM(fill, k_fill_names, "learned: inpainting networks; classic: no weights needed; auto"),
    KENUM(mesh_format, k_mesh_format_names, "glb holds the compact textured mesh, ply the dense one"),
    KENUM(video_mesh, k_video_mesh_names, "compact: render the videos from the textured, simplified mesh (fast)"),
};
#define N_KEYS ((int32_t)(sizeof k_keys / sizeof k_keys[0]))

static void set_str(char *dst, size_t cap, const char *s) { snprintf(dst, cap, "%s", s); }

void p3d_config_defaults(p3d_config *c) {
    static const double xs[4] = {0.00, 0.00, -0.015, -0.015};
    static const double ys[4] = {0.00, 0.00, -0.015, -0.00};
    static const double zs[4] = {-0.05, -0.05, -0.05, -0.05};
    static const char *const traj[4] = {"double-straight-line", "double-straight-line", "circle", "circle"};
    static const char *const post[4] = {"dolly-zoom-in", "zoom-in", "circle", "swing"};
    static const int32_t filt[5] = {7, 7, 5, 5, 5};
    static const double crop[4] = {0.03, 0.03, 0.05, 0.03};
    memset(c, 0, sizeof *c);
    c->use_boostmonodepth = 0;
    c->require_midas = 1;
    c->fps = 40;
    c->num_frames = 240;
    c->n_traj = c->n_x_shift = c->n_y_shift = c->n_z_shift = c->n_traj_types = c->n_video_postfix = 4;
    for (int i = 0; i < 4; i++) {
        c->x_shift_range[i] = xs[i];
        c->y_shift_range[i] = ys[i];
        c->z_shift_range[i] = zs[i];
        set_str(c->traj_types[i], P3D_CFG_NAME, traj[i]);
        set_str(c->video_postfix[i], P3D_CFG_NAME, post[i]);
        c->crop_border[i] = crop[i];
    }
    c->n_crop_border = 4;
    c->anti_flickering = 1;
    c->inference_video = 1;
    c->offscreen_rendering = 0;
    set_str(c->src_folder, sizeof c->src_folder, "image");
    set_str(c->depth_folder, sizeof c->depth_folder, "depth");
    set_str(c->mesh_folder, sizeof c->mesh_folder, "mesh");
    set_str(c->video_folder, sizeof c->video_folder, "video");
    set_str(c->depth_format, sizeof c->depth_format, ".npy");
    c->load_ply = 0;
    c->save_ply = 1;
    c->mesh_format = P3D_MESH_PLY_BINARY;
    c->longer_side_len = 960;
    set_str(c->device, sizeof c->device, "auto");
    c->depth_model = P3D_DEPTH_MODEL_TIEFENRAUSCH;
    c->fill = P3D_FILL_AUTO;
    c->video_mesh = 1;
    c->depth_threshold = 0.04;
    c->ext_edge_threshold = 0.002;
    c->sparse_iter = 5;
    c->n_filter_size = 5;
    memcpy(c->filter_size, filt, sizeof filt);
    c->sigma_s = 4.0;
    c->sigma_r = 0.5;
    c->redundant_number = 12;
    c->background_thickness = 70;
    c->context_thickness = 140;
    c->background_thickness_2 = 70;
    c->context_thickness_2 = 70;
    c->discount_factor = 1.0;
    c->log_depth = 1;
    c->largest_size = 512;
    c->depth_edge_dilate = 10;
    c->depth_edge_dilate_2 = 5;
    c->extrapolate_border = 1;
    c->extrapolation_thickness = 60;
    c->repeat_inpaint_edge = 1;
}

static const key_desc *key_by_name(const char *name) {
    for (int32_t i = 0; i < N_KEYS; i++)
        if (strcmp(k_keys[i].name, name) == 0) return &k_keys[i];
    return NULL;
}

const char *const *p3d_config_key_names(int32_t *count) {
    static const char *names[sizeof k_keys / sizeof k_keys[0]];
    for (int32_t i = 0; i < N_KEYS; i++) names[i] = k_keys[i].name;
    *count = N_KEYS;
    return names;
}

static const char *enum_str(const char *const *names, int32_t v) {
    for (int32_t i = 0; names[i]; i++)
        if (i == v) return names[i];
    return "?";
}
const char *p3d_fill_mode_str(int32_t fill) { return enum_str(k_fill_names, fill); }
const char *p3d_depth_model_str(int32_t kind) { return enum_str(k_depth_model_names, kind); }

/* ---- scalar parsing ---------------------------------------------------------------------------- */

/* One YAML scalar as the loader gives it. `quoted`: single- or double-quoted (always a string). */
typedef struct scalar {
    const char *text;
    int quoted;
} scalar;

static int is_null(const scalar *s) {
    return !s->quoted && (s->text[0] == '\0' || strcmp(s->text, "~") == 0 || strcasecmp(s->text, "null") == 0);
}

static int parse_bool(const scalar *s, int32_t *out) {
    static const char *const t[] = {"true", "yes", "on"}, *const f[] = {"false", "no", "off"};
    if (s->quoted) return 0;
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(s->text, t[i]) == 0 || strcasecmp(s->text, f[i]) == 0) {
            *out = strcasecmp(s->text, t[i]) == 0;
            return 1;
        }
    }
    return 0;
}

static int parse_int(const scalar *s, double lo, double hi, int32_t *out) {
    const char *p = s->text;
    if (s->quoted || !*p) return 0;
    if (*p == '+' || *p == '-') p++;
    if (!isdigit((unsigned char)*p)) return 0;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q)) return 0;
    errno = 0;
    long long v = strtoll(s->text, NULL, 10);
    if (errno || (double)v < lo || (double)v > hi) return 0;
    *out = (int32_t)v;
    return 1;
}

/* Decimal numbers only: digits, sign, '.', exponent (no hex, inf or nan). */
static int parse_float(const scalar *s, double lo, double hi, double *out) {
    if (s->quoted || !s->text[0]) return 0;
    for (const char *q = s->text; *q; q++)
        if (!isdigit((unsigned char)*q) && !strchr("+-.eE", *q)) return 0;
    char *end = NULL;
    errno = 0;
    double v = strtod(s->text, &end);
    if (errno || *end || !isfinite(v) || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

/* A file-name part: non-empty, no '/', fits. */
static int valid_name_part(const char *s, size_t cap) { return s[0] && !strchr(s, '/') && strlen(s) < cap; }

static int index_of(const char *const *names, const char *s) {
    for (int32_t i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0) return (int)i;
    return -1;
}

static void join_names(const char *const *names, char *buf, size_t cap) {
    buf[0] = '\0';
    for (int32_t i = 0; names[i]; i++) {
        size_t n = strlen(buf);
        snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", names[i]);
    }
}

/* What a key wants, for messages. */
static void expected(const key_desc *k, char *buf, size_t cap) {
    char names[256];
    switch (k->type) {
    case K_BOOL: snprintf(buf, cap, "true or false"); break;
    case K_INT: snprintf(buf, cap, "an integer in [%.10g, %.10g]", k->lo, k->hi); break;
    case K_FLOAT: snprintf(buf, cap, "a number in [%.10g, %.10g]", k->lo, k->hi); break;
    case K_STR: snprintf(buf, cap, "a string of at most %zu bytes", k->cap - 1); break;
    case K_DEVICE: snprintf(buf, cap, "auto, cpu, cuda or cuda:N"); break;
    case K_ENUM:
        join_names(k->choices, names, sizeof names);
        snprintf(buf, cap, "one of %s", names);
        break;
    case K_GPU_IDS: snprintf(buf, cap, "an integer (>= 0: that CUDA device, < 0: the CPU)"); break;
    case K_INTS:
        snprintf(buf, cap, "a list of at most %d %sintegers in [%.10g, %.10g]", (int)k->max_count,
                 k->odd ? "odd " : "", k->lo, k->hi);
        break;
    case K_FLOATS:
        if (k->min_count == k->max_count)
            snprintf(buf, cap, "a list of %d numbers in [%.10g, %.10g]", (int)k->max_count, k->lo, k->hi);
        else
            snprintf(buf, cap, "a list of at most %d numbers in [%.10g, %.10g]", (int)k->max_count, k->lo, k->hi);
        break;
    case K_STRS:
        if (k->choices) {
            join_names(k->choices, names, sizeof names);
            snprintf(buf, cap, "a list of at most %d of %s", (int)k->max_count, names);
        } else {
            snprintf(buf, cap, "a list of at most %d non-empty names without '/'", (int)k->max_count);
        }
        break;
    }
}

static p3d_status bad_value(const key_desc *k, const char *where, const char *got) {
    char want[512];
    expected(k, want, sizeof want);
    return p3d_fail(P3D_ERR_INVALID_ARG, "%s: %s: expected %s, got '%s'", where, k->name, want, got);
}

/* Stores one scalar into a scalar key. */
static p3d_status apply_scalar(p3d_config *c, const key_desc *k, const scalar *s, const char *where) {
    char *base = (char *)c;
    int32_t *iv = (int32_t *)(base + k->off);
    switch (k->type) {
    case K_BOOL:
        if (!parse_bool(s, iv)) return bad_value(k, where, s->text);
        return P3D_OK;
    case K_INT:
        if (!parse_int(s, k->lo, k->hi, iv)) return bad_value(k, where, s->text);
        return P3D_OK;
    case K_FLOAT:
        if (!parse_float(s, k->lo, k->hi, (double *)(base + k->off))) return bad_value(k, where, s->text);
        return P3D_OK;
    case K_STR: {
        const char *v = is_null(s) ? "" : s->text;
        if (strlen(v) >= k->cap) return bad_value(k, where, v);
        set_str(base + k->off, k->cap, v);
        return P3D_OK;
    }
    case K_DEVICE: {
        p3d_device dev;
        if (is_null(s) || strlen(s->text) >= k->cap || p3d_device_parse(s->text, &dev) != P3D_OK)
            return bad_value(k, where, s->text);
        set_str(base + k->off, k->cap, s->text);
        return P3D_OK;
    }
    case K_ENUM: {
        int idx = is_null(s) ? -1 : index_of(k->choices, s->text);
        if (idx < 0) return bad_value(k, where, s->text);
        *iv = idx;
        return P3D_OK;
    }
    case K_GPU_IDS: {
        int32_t id = 0;
        if (!parse_int(s, k->lo, k->hi, &id)) return bad_value(k, where, s->text);
        if (id >= 0) snprintf(base + k->off, k->cap, "cuda:%d", (int)id);
        else set_str(base + k->off, k->cap, "cpu");
        return P3D_OK;
    }
    default: return bad_value(k, where, s->text); /* a list key given one scalar */
    }
}

/* Stores list item i (already counted against max_count). */
static p3d_status apply_item(p3d_config *c, const key_desc *k, int32_t i, const scalar *s, const char *where) {
    char *base = (char *)c;
    char what[64];
    snprintf(what, sizeof what, "item %d '%s'", (int)i + 1, s->text);
    if (k->type == K_INTS) {
        int32_t *v = (int32_t *)(base + k->off) + i;
        if (!parse_int(s, k->lo, k->hi, v) || (k->odd && *v % 2 == 0)) return bad_value(k, where, what);
    } else if (k->type == K_FLOATS) {
        if (!parse_float(s, k->lo, k->hi, (double *)(base + k->off) + i)) return bad_value(k, where, what);
    } else {
        char *dst = base + k->off + (size_t)i * k->cap;
        int ok = k->choices ? index_of(k->choices, s->text) >= 0 : valid_name_part(s->text, k->cap);
        if (!ok || strlen(s->text) >= k->cap) return bad_value(k, where, what);
        set_str(dst, k->cap, s->text);
    }
    return P3D_OK;
}

static int is_list_key(const key_desc *k) { return k->type == K_INTS || k->type == K_FLOATS || k->type == K_STRS; }

/* ---- YAML ---------------------------------------------------------------------------------------- */

static scalar scalar_of(const yaml_node_t *n) {
    scalar s = {(const char *)n->data.scalar.value,
                n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE};
    return s;
}

/* "FILE:LINE" for a node (or the --set text). */
static void where_of(char *buf, size_t cap, const char *source, const yaml_node_t *n, int with_line) {
    if (with_line) snprintf(buf, cap, "%s:%lu", source, (unsigned long)n->start_mark.line + 1);
    else snprintf(buf, cap, "%s", source);
}

static p3d_status apply_node(p3d_config *c, const key_desc *k, yaml_document_t *doc, yaml_node_t *v,
                             const char *source, int with_line) {
    char where[1200];
    where_of(where, sizeof where, source, v, with_line);
    if (v->type == YAML_SCALAR_NODE) {
        scalar s = scalar_of(v);
        if (strlen(s.text) != v->data.scalar.length)
            return p3d_fail(P3D_ERR_INVALID_ARG, "%s: %s: the value contains a NUL byte", where, k->name);
        if (is_list_key(k)) return bad_value(k, where, s.text);
        return apply_scalar(c, k, &s, where);
    }
    if (v->type != YAML_SEQUENCE_NODE || !is_list_key(k))
        return bad_value(k, where, v->type == YAML_SEQUENCE_NODE ? "a list" : "a mapping");
    int32_t n = (int32_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n < k->min_count || n > k->max_count) {
        char got[32];
        snprintf(got, sizeof got, "%d items", (int)n);
        return bad_value(k, where, got);
    }
    /* Parse into a copy so a bad item leaves the key as it was. */
    p3d_config tmp = *c;
    for (int32_t i = 0; i < n; i++) {
        yaml_node_t *item = yaml_document_get_node(doc, v->data.sequence.items.start[i]);
        P3D_ASSERT(item != NULL); /* libyaml's loader links every item it stores */
        where_of(where, sizeof where, source, item, with_line);
        if (item->type != YAML_SCALAR_NODE) return bad_value(k, where, "a nested list or mapping");
        scalar s = scalar_of(item);
        P3D_TRY(apply_item(&tmp, k, i, &s, where));
    }
    *(int32_t *)((char *)&tmp + k->count_off) = n;
    *c = tmp;
    return P3D_OK;
}

/* Loads the next YAML document (one without a root node when the text has no more). */
static p3d_status yaml_load(yaml_parser_t *parser, yaml_document_t *doc, const char *source) {
    if (!yaml_parser_load(parser, doc)) {
        p3d_status st = p3d_fail(P3D_ERR_INVALID_ARG, "%s:%lu: malformed YAML: %s%s%s", source,
                                 (unsigned long)parser->problem_mark.line + 1,
                                 parser->problem ? parser->problem : "parse error", parser->context ? " " : "",
                                 parser->context ? parser->context : "");
        return st;
    }
    return P3D_OK;
}

/* A configuration is a mapping of scalars and flat lists: two levels. libyaml's scanner spends time
 * quadratic in the nesting depth (each token rechecks every open level), so a hostile file of a few
 * hundred thousand '[' would keep it busy for minutes: the events are walked first and the text is
 * refused at the first collection nested deeper than this. Parse errors are left to the loader. */
#define CFG_MAX_NESTING 16

static p3d_status yaml_nesting_check(const char *text, size_t len, const char *source) {
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return p3d_fail(P3D_ERR_OOM, "%s: cannot start the YAML parser", source);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    p3d_status st = P3D_OK;
    int32_t depth = 0, done = 0;
    while (!done && st == P3D_OK) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) break;
        if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
            if (++depth > CFG_MAX_NESTING)
                st = p3d_fail(P3D_ERR_INVALID_ARG, "%s:%lu: lists or mappings nested deeper than %d levels", source,
                              (unsigned long)ev.start_mark.line + 1, CFG_MAX_NESTING);
        } else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return st;
}

p3d_status p3d_config_load_string(p3d_config *c, const char *text, size_t len, const char *source) {
    P3D_TRY(yaml_nesting_check(text, len, source));
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) return p3d_fail(P3D_ERR_OOM, "%s: cannot start the YAML parser", source);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    p3d_status st = yaml_load(&parser, &doc, source);
    if (st != P3D_OK) {
        yaml_parser_delete(&parser);
        return st;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    uint32_t seen_line[sizeof k_keys / sizeof k_keys[0]] = {0};
    if (root && root->type != YAML_MAPPING_NODE)
        st = p3d_fail(P3D_ERR_INVALID_ARG, "%s:%lu: expected a mapping of 'key: value' lines", source,
                      (unsigned long)root->start_mark.line + 1);
    for (yaml_node_pair_t *p = root && st == P3D_OK ? root->data.mapping.pairs.start : NULL;
         p && p < root->data.mapping.pairs.top && st == P3D_OK; p++) {
        yaml_node_t *kn = yaml_document_get_node(&doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(&doc, p->value);
        unsigned long line = (unsigned long)kn->start_mark.line + 1;
        if (kn->type != YAML_SCALAR_NODE) {
            st = p3d_fail(P3D_ERR_INVALID_ARG, "%s:%lu: a key must be a plain name", source, line);
            break;
        }
        const char *name = (const char *)kn->data.scalar.value;
        const key_desc *k = key_by_name(name);
        if (!k) {
            st = p3d_fail(P3D_ERR_INVALID_ARG,
                          "%s:%lu: unknown key '%s' (photo3d-gpu run --print-config lists the keys)", source, line,
                          name);
            break;
        }
        size_t idx = (size_t)(k - k_keys);
        if (seen_line[idx]) {
            st = p3d_fail(P3D_ERR_INVALID_ARG, "%s:%lu: key '%s' given twice (first on line %u)", source, line, name,
                          (unsigned)seen_line[idx]);
            break;
        }
        seen_line[idx] = (uint32_t)line;
        st = apply_node(c, k, &doc, vn, source, 1);
    }
    yaml_document_delete(&doc);
    if (st == P3D_OK) {
        /* A second document ("---") would be silently ignored by a mapping loader: refuse it. */
        st = yaml_load(&parser, &doc, source);
        if (st == P3D_OK) {
            if (yaml_document_get_root_node(&doc))
                st = p3d_fail(P3D_ERR_INVALID_ARG, "%s:%lu: more than one YAML document", source,
                              (unsigned long)doc.start_mark.line + 1);
            yaml_document_delete(&doc);
        }
    }
    yaml_parser_delete(&parser);
    return st;
}

p3d_status p3d_config_load_file(p3d_config *c, const char *path) {
    uint8_t *data = NULL;
    size_t len = 0;
    P3D_TRY(p3d_file_read(path, (size_t)1 << 20, &data, &len));
    p3d_status st = p3d_config_load_string(c, (const char *)data, len, path);
    free(data);
    return st;
}

p3d_status p3d_config_set(p3d_config *c, const char *assignment) {
    const char *eq = strchr(assignment, '=');
    char name[128];
    if (!eq || eq == assignment || (size_t)(eq - assignment) >= sizeof name)
        return p3d_fail(P3D_ERR_INVALID_ARG, "--set '%s': expected KEY=VALUE", assignment);
    memcpy(name, assignment, (size_t)(eq - assignment));
    name[eq - assignment] = '\0';
    const key_desc *k = key_by_name(name);
    if (!k)
        return p3d_fail(P3D_ERR_INVALID_ARG, "--set: unknown key '%s' (photo3d-gpu run --print-config lists the keys)",
                        name);
    const char *value = eq + 1;
    const char *source = "--set";
    P3D_TRY(yaml_nesting_check(value, strlen(value), source));
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) return p3d_fail(P3D_ERR_OOM, "--set: cannot start the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)value, strlen(value));
    p3d_status st = yaml_load(&parser, &doc, source);
    if (st != P3D_OK) {
        yaml_parser_delete(&parser);
        return st;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root) {
        st = apply_node(c, k, &doc, root, source, 0);
    } else {
        /* "KEY=" : an empty plain scalar (an empty string for string keys, an error otherwise). */
        scalar s = {"", 0};
        st = is_list_key(k) ? bad_value(k, source, "") : apply_scalar(c, k, &s, source);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return st;
}

/* ---- checks, warnings ----------------------------------------------------------------------------- */

p3d_status p3d_config_check(p3d_config *c) {
    const int32_t n = c->n_x_shift;
    if (c->n_y_shift != n || c->n_z_shift != n || c->n_traj_types != n || c->n_video_postfix != n)
        return p3d_fail(P3D_ERR_INVALID_ARG,
                        "configuration: x_shift_range, y_shift_range, z_shift_range, traj_types and video_postfix "
                        "need one entry per video; they have %d, %d, %d, %d and %d",
                        (int)c->n_x_shift, (int)c->n_y_shift, (int)c->n_z_shift, (int)c->n_traj_types,
                        (int)c->n_video_postfix);
    for (int32_t i = 0; i < n; i++)
        for (int32_t j = 0; j < i; j++)
            if (strcmp(c->video_postfix[i], c->video_postfix[j]) == 0)
                return p3d_fail(P3D_ERR_INVALID_ARG,
                                "configuration: video_postfix '%s' appears twice (the videos would overwrite each other)",
                                c->video_postfix[i]);
    c->n_traj = n;
    if (c->n_filter_size < c->sparse_iter)
        return p3d_fail(P3D_ERR_INVALID_ARG, "configuration: sparse_iter is %d but filter_size has %d entries",
                        (int)c->sparse_iter, (int)c->n_filter_size);
    if (c->crop_border[0] + c->crop_border[2] >= 1.0 || c->crop_border[1] + c->crop_border[3] >= 1.0)
        return p3d_fail(P3D_ERR_INVALID_ARG, "configuration: crop_border leaves no frame (top + bottom and left + "
                                             "right must be below 1)");
    if (c->img_format[0] && c->img_format[0] != '.')
        return p3d_fail(P3D_ERR_INVALID_ARG, "configuration: img_format '%s' must be an extension such as '.jpg'",
                        c->img_format);
    if (c->depth_format[0] != '.')
        return p3d_fail(P3D_ERR_INVALID_ARG, "configuration: depth_format '%s' must be an extension such as '.npy'",
                        c->depth_format);
    return P3D_OK;
}

int32_t p3d_config_warnings(const p3d_config *c, char *buf, size_t cap) {
    int32_t n = 0;
    if (cap) buf[0] = '\0';
    if (c->use_boostmonodepth) {
        snprintf(buf, cap,
                 "use_boostmonodepth: BoostingMonocularDepth is not provided; depth maps come from depth_model (%s)",
                 p3d_depth_model_str(c->depth_model));
        n++;
    }
    return n;
}

/* ---- printing, comparison ----------------------------------------------------------------------- */

/* YAML double-quoted string: quote, backslash and control characters escaped, other bytes as they are. */
static void print_yaml_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f) fprintf(f, "\\x%02x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

/* A float as YAML 1.1 (PyYAML) reads it: shortest round-trip digits, always with a '.' and a signed
 * exponent, so the reference's loader also sees a float. */
static void print_yaml_float(FILE *f, double v) {
    char t[48];
    p3d_fmt_double(t, sizeof t, v);
    char *e = strchr(t, 'e');
    if (!strchr(t, '.')) {
        if (e) {
            memmove(e + 2, e, strlen(e) + 1);
            memcpy(e, ".0", 2);
        } else {
            strcat(t, ".0");
        }
    }
    fputs(t, f);
}

p3d_status p3d_config_print(const p3d_config *c, FILE *f) {
    const char *base = (const char *)c;
    fprintf(f, "# photo3d-gpu %s: effective configuration (photo3d-gpu run --config FILE reads it back)\n",
            P3D_VERSION);
    for (int32_t i = 0; i < N_KEYS; i++) {
        const key_desc *k = &k_keys[i];
        const void *field = base + k->off;
        if (k->type == K_GPU_IDS) {
            fprintf(f, "# gpu_ids: accepted as an alias of device (N >= 0: cuda:N, < 0: cpu)\n");
            continue;
        }
        fprintf(f, "%s: ", k->name);
        int32_t n = is_list_key(k) ? *(const int32_t *)(base + k->count_off) : 0;
        switch (k->type) {
        case K_BOOL: fputs(*(const int32_t *)field ? "true" : "false", f); break;
        case K_INT: fprintf(f, "%d", (int)*(const int32_t *)field); break;
        case K_FLOAT: print_yaml_float(f, *(const double *)field); break;
        case K_STR:
        case K_DEVICE: print_yaml_string(f, (const char *)field); break;
        case K_ENUM: fputs(enum_str(k->choices, *(const int32_t *)field), f); break;
        case K_INTS:
        case K_FLOATS:
        case K_STRS:
            fputc('[', f);
            for (int32_t j = 0; j < n; j++) {
                if (j) fputs(", ", f);
                if (k->type == K_INTS) fprintf(f, "%d", (int)((const int32_t *)field)[j]);
                else if (k->type == K_FLOATS) print_yaml_float(f, ((const double *)field)[j]);
                else print_yaml_string(f, (const char *)field + (size_t)j * k->cap);
            }
            fputc(']', f);
            break;
        case K_GPU_IDS: break;
        }
        if (k->note) fprintf(f, "  # %s", k->note);
        fputc('\n', f);
    }
    if (fflush(f) != 0 || ferror(f)) return p3d_fail(P3D_ERR_IO, "printing the configuration: write failed");
    return P3D_OK;
}

int p3d_config_equal(const p3d_config *a, const p3d_config *b) {
    const char *pa = (const char *)a, *pb = (const char *)b;
    for (int32_t i = 0; i < N_KEYS; i++) {
        const key_desc *k = &k_keys[i];
        const void *fa = pa + k->off, *fb = pb + k->off;
        int32_t n = 0;
        if (is_list_key(k)) {
            n = *(const int32_t *)(pa + k->count_off);
            if (n != *(const int32_t *)(pb + k->count_off)) return 0;
        }
        switch (k->type) {
        case K_BOOL:
        case K_INT:
        case K_ENUM:
            if (*(const int32_t *)fa != *(const int32_t *)fb) return 0;
            break;
        case K_FLOAT:
            if (*(const double *)fa != *(const double *)fb) return 0;
            break;
        case K_STR:
        case K_DEVICE:
        case K_GPU_IDS:
            if (strcmp((const char *)fa, (const char *)fb) != 0) return 0;
            break;
        case K_INTS:
            if (memcmp(fa, fb, (size_t)n * sizeof(int32_t)) != 0) return 0;
            break;
        case K_FLOATS:
            for (int32_t j = 0; j < n; j++)
                if (((const double *)fa)[j] != ((const double *)fb)[j]) return 0;
            break;
        case K_STRS:
            for (int32_t j = 0; j < n; j++)
                if (strcmp((const char *)fa + (size_t)j * k->cap, (const char *)fb + (size_t)j * k->cap) != 0) return 0;
            break;
        }
    }
    return 1;
}

/* ---- model weights ------------------------------------------------------------------------------ */

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* The keys that name a model's weights. */
static const struct {
    const char *model, *key;
    size_t off;
} k_ckpt_keys[] = {
    {"edge", "depth_edge_model_ckpt", OFF(depth_edge_model_ckpt)},
    {"depth", "depth_feat_model_ckpt", OFF(depth_feat_model_ckpt)},
    {"color", "rgb_feat_model_ckpt", OFF(rgb_feat_model_ckpt)},
    {"midas-v1", "MiDaS_model_ckpt", OFF(MiDaS_model_ckpt)},
};

p3d_status p3d_config_find_model(const p3d_config *c, const char *model, const char *cli_model_dir, char *out,
                                 size_t cap, int *found, char *why, size_t why_cap) {
    *found = 0;
    out[0] = '\0';
    if (why_cap) why[0] = '\0';
    const p3d_model_desc *d = p3d_model_by_name(model);
    if (!d) return p3d_fail(P3D_ERR_INVALID_ARG, "unknown model '%s'", model);
    const char *key = NULL, *conf = NULL;
    for (size_t i = 0; i < sizeof k_ckpt_keys / sizeof k_ckpt_keys[0]; i++)
        if (strcmp(model, k_ckpt_keys[i].model) == 0) {
            key = k_ckpt_keys[i].key;
            conf = (const char *)c + k_ckpt_keys[i].off;
        }
    char beside[P3D_CFG_PATH + 8] = "";
    if (conf && conf[0]) {
        if (ends_with(conf, ".p3dw")) {
            if (access(conf, R_OK) != 0)
                return p3d_fail(P3D_ERR_INVALID_ARG, "%s: %s: %s", key, conf, strerror(errno));
            if (strlen(conf) >= cap) return p3d_fail(P3D_ERR_INVALID_ARG, "%s: path too long", key);
            set_str(out, cap, conf);
            *found = 1;
            return P3D_OK;
        }
        /* A PyTorch checkpoint (the reference's value): the blob converted from it, beside it. */
        snprintf(beside, sizeof beside, "%s", conf);
        char *slash = strrchr(beside, '/'), *dot = strrchr(beside, '.');
        if (dot && (!slash || dot > slash + 1)) *dot = '\0';
        strcat(beside, ".p3dw");
        if (access(beside, R_OK) == 0 && strlen(beside) < cap) {
            set_str(out, cap, beside);
            *found = 1;
            return P3D_OK;
        }
    }
    if (p3d_model_find(cli_model_dir, d, out, cap)) {
        *found = 1;
        return P3D_OK;
    }
    char dirs[P3D_MAX_MODEL_DIRS][1024];
    int32_t nd = p3d_model_dirs(cli_model_dir, dirs);
    size_t w = 0;
    if (why_cap) {
        w += (size_t)snprintf(why, why_cap, "%s not found (looked at %s%s", d->file, beside[0] ? beside : "",
                              beside[0] ? ", " : "");
        for (int32_t i = 0; i < nd && w < why_cap; i++)
            w += (size_t)snprintf(why + w, why_cap - w, "%s%s/", i ? ", " : "", dirs[i]);
        if (w < why_cap)
            snprintf(why + w, why_cap - w, "; %s: %s, with DIR = %s)", conf && conf[0] ? "convert it" : "get it",
                     d->obtain, nd ? dirs[0] : "a model directory");
    }
    return P3D_OK;
}
