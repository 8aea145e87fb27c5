/* trajectory.c - presets, trajectory files (text and a small JSON subset), poses -> views. */
#include "render/trajectory.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_io.h"

#define P3D_PI 3.14159265358979323846
#define P3D_TRAJ_MAX_FILE_BYTES ((size_t)256 << 20)

const float p3d_crop_border_default[4] = {0.03f, 0.03f, 0.05f, 0.03f};

static const char *const k_presets[4] = {"dolly-zoom-in", "zoom-in", "circle", "swing"};

int32_t p3d_traj_is_preset(const char *name) {
    for (int32_t i = 0; i < 4; i++)
        if (strcmp(name, k_presets[i]) == 0) return 1;
    return 0;
}

void p3d_traj_free(p3d_traj *t) {
    if (!t) return;
    free(t->poses);
    memset(t, 0, sizeof *t);
}

static void pose_identity(p3d_pose *p) {
    memset(p, 0, sizeof *p);
    p->rot[0] = p->rot[4] = p->rot[8] = 1.0f;
    p->focal_scale = 1.0f;
}

static p3d_status traj_alloc(p3d_traj *t, const char *name, int64_t n) {
    memset(t, 0, sizeof *t);
    if (n < 1 || n > P3D_TRAJ_MAX_FRAMES)
        return p3d_fail(P3D_ERR_INVALID_ARG, "trajectory %s: %lld frames: need 1..%d", name, (long long)n,
                        P3D_TRAJ_MAX_FRAMES);
    t->poses = (p3d_pose *)malloc((size_t)n * sizeof *t->poses);
    if (!t->poses) return p3d_fail(P3D_ERR_OOM, "trajectory %s: out of memory", name);
    t->n = (int32_t)n;
    snprintf(t->name, sizeof t->name, "%s", name);
    return P3D_OK;
}

p3d_status p3d_traj_make(const char *name, const char *type, double x, double y, double z, int32_t dolly, int32_t n,
                         float anchor_depth, p3d_traj *out) {
    const int line2 = strcmp(type, "double-straight-line") == 0, line1 = strcmp(type, "straight-line") == 0;
    if (!line2 && !line1 && strcmp(type, "circle") != 0)
        return p3d_fail(P3D_ERR_INVALID_ARG, "trajectory %s: unknown type '%s' (double-straight-line, straight-line, "
                        "circle)", name, type);
    if (dolly && (!(anchor_depth > 0) || !isfinite(anchor_depth)))
        return p3d_fail(P3D_ERR_INVALID_ARG, "trajectory %s: anchor depth %g is not positive", name, (double)anchor_depth);
    P3D_TRY(traj_alloc(out, name, n));
    out->fps = P3D_TRAJ_DEFAULT_FPS;
    for (int32_t k = 0; k < n; k++) {
        double t[3];
        if (line2 || line1) {
            /* interp1d(quadratic) through evenly spaced collinear points is exactly linear:
             * double-straight-line (-v, 0, v) -> (2s - 1) v; straight-line (0, v/2, v) -> s v */
            const double s = n > 1 ? (double)k / (double)(n - 1) : 0.0, a = line2 ? 2.0 * s - 1.0 : s;
            t[0] = a * x;
            t[1] = a * y;
            t[2] = a * z;
        } else {
            const double s = -2.0 + 4.0 * (double)k / (double)n; /* np.arange(-2, 2, 4 / N) */
            t[0] = cos(P3D_PI * s) * x;
            t[1] = sin(P3D_PI * s) * y;
            t[2] = cos(P3D_PI * s / 2.0) * z;
        }
        p3d_pose *p = &out->poses[k];
        pose_identity(p);
        for (int32_t c = 0; c < 3; c++) p->pos[c] = (float)-t[c];
        /* dolly zoom: tan(new_fov / 2) = tan(fov / 2) d / (d - c_z), i.e. focal x (d - c_z) / d */
        if (dolly) p->focal_scale = (float)(((double)anchor_depth - (double)p->pos[2]) / (double)anchor_depth);
    }
    return P3D_OK;
}

p3d_status p3d_traj_preset(const char *name, int32_t n, float anchor_depth, p3d_traj *out) {
    if (!p3d_traj_is_preset(name))
        return p3d_fail(P3D_ERR_INVALID_ARG, "trajectory '%s': unknown preset (dolly-zoom-in, zoom-in, circle, swing)", name);
    if (!(anchor_depth > 0) || !isfinite(anchor_depth))
        return p3d_fail(P3D_ERR_INVALID_ARG, "trajectory %s: anchor depth %g is not positive", name, (double)anchor_depth);
    const int dolly = strcmp(name, "dolly-zoom-in") == 0, line = dolly || strcmp(name, "zoom-in") == 0;
    /* spec 1: x/y/z_shift_range per preset (circle: x = y = -0.015, swing: y = 0) */
    const double x = line ? 0.0 : -0.015, y = strcmp(name, "circle") == 0 ? -0.015 : 0.0, z = -0.05;
    return p3d_traj_make(name, line ? "double-straight-line" : "circle", x, y, z, dolly, n, anchor_depth, out);
}

/* ---- poses from numbers ------------------------------------------------------------------------ */

int32_t p3d_rotation_from_look(const double d[3], float rot[9]) {
    const double n = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    if (!(n > 0) || !isfinite(n)) return 0;
    const double z[3] = {d[0] / n, d[1] / n, d[2] / n};
    double x[3] = {z[2], 0.0, -z[0]}; /* (0, 1, 0) x z */
    const double xn = sqrt(x[0] * x[0] + x[2] * x[2]);
    if (xn < 1e-6) return 0;
    x[0] /= xn;
    x[2] /= xn;
    const double y[3] = {z[1] * x[2] - z[2] * x[1], z[2] * x[0] - z[0] * x[2], z[0] * x[1] - z[1] * x[0]}; /* z x x */
    for (int32_t c = 0; c < 3; c++) {
        rot[c] = (float)x[c];
        rot[3 + c] = (float)y[c];
        rot[6 + c] = (float)z[c];
    }
    return 1;
}

/* Fills p from position, optional look or rotation and optional fov (degrees; <= 0: none). Returns a
 * message for the caller to put in context, or NULL. */
static const char *pose_make(const double *pos, const double *look, const double *rot, double fov, float hfov,
                             p3d_pose *p) {
    pose_identity(p);
    for (int32_t c = 0; c < 3; c++) {
        if (!isfinite(pos[c]) || fabs(pos[c]) > 1e6) return "position is not a finite number below 1e6";
        p->pos[c] = (float)pos[c];
    }
    if (look && !p3d_rotation_from_look(look, p->rot)) return "look direction is zero or vertical";
    if (rot) {
        for (int32_t i = 0; i < 3; i++)
            for (int32_t j = 0; j < 3; j++) {
                double dot = 0;
                for (int32_t k = 0; k < 3; k++) dot += rot[3 * i + k] * rot[3 * j + k];
                if (!(fabs(dot - (i == j)) < 1e-3)) return "rotation is not orthonormal (R R^T != I)";
            }
        for (int32_t k = 0; k < 9; k++) p->rot[k] = (float)rot[k];
    }
    if (fov != 0) {
        if (!(fov > 0 && fov < 179)) return "fov must be in (0, 179) degrees";
        p->focal_scale = (float)(tan(0.5 * (double)hfov) / tan(0.5 * fov * P3D_PI / 180.0));
    }
    return NULL;
}

/* One text line's numbers (count 3, 4, 6, 7, 12 or 13) -> pose. */
static const char *pose_from_numbers(const double *v, int32_t n, float hfov, p3d_pose *p) {
    switch (n) {
    case 3: return pose_make(v, NULL, NULL, 0, hfov, p);
    case 4: return pose_make(v, NULL, NULL, v[3], hfov, p);
    case 6: return pose_make(v, v + 3, NULL, 0, hfov, p);
    case 7: return pose_make(v, v + 3, NULL, v[6], hfov, p);
    case 12: return pose_make(v, NULL, v + 3, 0, hfov, p);
    case 13: return pose_make(v, NULL, v + 3, v[12], hfov, p);
    default: return "expected 3 (x y z), 4 (+ fov), 6 (+ look direction), 7, 12 (+ rotation) or 13 numbers";
    }
}

/* Numbers of one line (up to the end, '\n' or '#'), separated by spaces, tabs or commas. -1 on a
 * token that is not a number. Each token is copied (NUL-terminated) before strtod, which would
 * otherwise read on past `end` in a file's buffer. */
static int32_t scan_numbers(const char *s, const char *end, double *v, int32_t cap) {
    int32_t n = 0;
    while (s < end && *s != '\n' && *s != '#') {
        if (*s == ' ' || *s == '\t' || *s == ',' || *s == '\r') {
            s++;
            continue;
        }
        char tok[64];
        size_t k = 0;
        while (s + k < end && !strchr(" \t,\r\n#", s[k])) {
            if (k + 1 >= sizeof tok || s[k] == '\0') return -1;
            tok[k] = s[k];
            k++;
        }
        tok[k] = '\0';
        char *e = NULL;
        const double x = strtod(tok, &e);
        if (e != tok + k || n >= cap) return -1;
        v[n++] = x;
        s += k;
    }
    return n;
}

p3d_status p3d_pose_parse(const char *text, float hfov, p3d_pose *out) {
    double v[16];
    const int32_t n = scan_numbers(text, text + strlen(text), v, 16);
    const char *why = n < 0 ? "not a list of numbers" : pose_from_numbers(v, n, hfov, out);
    if (why) return p3d_fail(P3D_ERR_INVALID_ARG, "--pose '%s': %s", text, why);
    return P3D_OK;
}

static p3d_status read_text(const char *path, const char *s, size_t len, float hfov, p3d_traj *out) {
    const char *end = s + len;
    /* lines holding something other than blanks and comments: an upper bound of the pose count */
    int64_t lines = 0;
    for (const char *q = s; q < end;) {
        const char *eol = memchr(q, '\n', (size_t)(end - q));
        if (!eol) eol = end;
        const char *c = q;
        while (c < eol && (*c == ' ' || *c == '\t' || *c == '\r' || *c == ',')) c++;
        lines += c < eol && *c != '#';
        q = eol + 1;
    }
    P3D_TRY(traj_alloc(out, path, lines ? lines : 1));
    int32_t n = 0, line_no = 0;
    for (const char *q = s; q < end;) {
        const char *eol = memchr(q, '\n', (size_t)(end - q));
        if (!eol) eol = end;
        line_no++;
        double v[16];
        const int32_t k = scan_numbers(q, eol, v, 16);
        if (k != 0) {
            const char *why = k < 0 ? "not a list of numbers" : pose_from_numbers(v, k, hfov, &out->poses[n]);
            if (why) {
                p3d_traj_free(out);
                return p3d_fail(P3D_ERR_FORMAT, "%s:%d: %s", path, (int)line_no, why);
            }
            n++;
        }
        q = eol + 1;
    }
    if (n == 0) {
        p3d_traj_free(out);
        return p3d_fail(P3D_ERR_FORMAT, "%s: no poses (expected one pose per line)", path);
    }
    out->n = n;
    return P3D_OK;
}

/* ---- a small JSON reader: objects, arrays, numbers, strings; enough for trajectory files ------------ */
typedef struct json_in {
    const char *s, *end, *path;
    const char *err; /* first error, with err_at */
    const char *err_at;
} json_in;

static void jws(json_in *j) {
    while (j->s < j->end && isspace((unsigned char)*j->s)) j->s++;
}

static int32_t jfail(json_in *j, const char *msg) {
    if (!j->err) {
        j->err = msg;
        j->err_at = j->s;
    }
    return 0;
}

static int32_t jeat(json_in *j, char c) {
    jws(j);
    if (j->s < j->end && *j->s == c) {
        j->s++;
        return 1;
    }
    return 0;
}

static int32_t jnumber(json_in *j, double *v) {
    jws(j);
    char buf[64];
    size_t k = 0;
    while (j->s + k < j->end && k + 1 < sizeof buf && strchr("+-0123456789.eE", j->s[k])) {
        buf[k] = j->s[k];
        k++;
    }
    buf[k] = '\0';
    char *e = NULL;
    *v = strtod(buf, &e);
    if (k == 0 || *e) return jfail(j, "expected a number");
    j->s += k;
    return 1;
}

/* A string without escapes (keys of this format need none). */
static int32_t jstring(json_in *j, char *buf, size_t cap) {
    if (!jeat(j, '"')) return jfail(j, "expected a string");
    size_t k = 0;
    while (j->s < j->end && *j->s != '"') {
        /* JSON strings hold no control characters; a NUL would also cut the key short for strcmp
         * while count_poses did not count it. */
        if ((unsigned char)*j->s < 0x20) return jfail(j, "control character in a string");
        if (*j->s == '\\' || k + 1 >= cap) return jfail(j, "unsupported or too long string");
        buf[k++] = *j->s++;
    }
    buf[k] = '\0';
    if (!jeat(j, '"')) return jfail(j, "unterminated string");
    return 1;
}

/* Numbers of an array, nested arrays flattened (rotation as [[...], [...], [...]]). */
static int32_t jnumbers(json_in *j, double *v, int32_t cap, int32_t *n, int32_t depth) {
    if (!jeat(j, '[')) return jfail(j, "expected an array of numbers");
    if (jeat(j, ']')) return 1;
    do {
        jws(j);
        if (j->s < j->end && *j->s == '[') {
            if (depth > 0) return jfail(j, "arrays nested too deep");
            if (!jnumbers(j, v, cap, n, depth + 1)) return 0;
        } else {
            if (*n >= cap) return jfail(j, "too many numbers");
            if (!jnumber(j, &v[*n])) return 0;
            (*n)++;
        }
    } while (jeat(j, ','));
    return jeat(j, ']') ? 1 : jfail(j, "expected ',' or ']'");
}

static int32_t jpose(json_in *j, float hfov, p3d_pose *p) {
    double pos[3], look[3], rot[9], fov = 0;
    int32_t npos = -1, nlook = -1, nrot = -1;
    if (!jeat(j, '{')) return jfail(j, "expected a pose object {\"position\": [x, y, z], ...}");
    if (!jeat(j, '}')) {
        do {
            char key[32];
            if (!jstring(j, key, sizeof key) || !(jeat(j, ':') || jfail(j, "expected ':'"))) return 0;
            int32_t *cnt = NULL, cap = 0;
            double *dst = NULL;
            if (strcmp(key, "position") == 0) dst = pos, cnt = &npos, cap = 3;
            else if (strcmp(key, "look") == 0) dst = look, cnt = &nlook, cap = 3;
            else if (strcmp(key, "rotation") == 0) dst = rot, cnt = &nrot, cap = 9;
            else if (strcmp(key, "fov") == 0) {
                if (!jnumber(j, &fov)) return 0;
                continue;
            } else return jfail(j, "unknown pose key (position, look, rotation, fov)");
            *cnt = 0;
            if (!jnumbers(j, dst, cap, cnt, 0)) return 0;
            if (*cnt != cap) return jfail(j, cap == 3 ? "expected 3 numbers" : "expected 9 numbers");
        } while (jeat(j, ','));
        if (!jeat(j, '}')) return jfail(j, "expected ',' or '}'");
    }
    if (npos < 0) return jfail(j, "pose without \"position\"");
    if (nlook >= 0 && nrot >= 0) return jfail(j, "pose with both \"look\" and \"rotation\"");
    const char *why = pose_make(pos, nlook >= 0 ? look : NULL, nrot >= 0 ? rot : NULL, fov, hfov, p);
    return why ? jfail(j, why) : 1;
}

/* Counts the "position" keys (every pose has one): an upper bound of the pose count. */
static int64_t count_poses(const char *s, size_t len) {
    int64_t n = 0;
    for (size_t i = 0; i + 10 <= len; i++) n += s[i] == '"' && memcmp(s + i, "\"position\"", 10) == 0;
    return n;
}

static p3d_status read_json(const char *path, const char *s, size_t len, float hfov, p3d_traj *out) {
    json_in j = {s, s + len, path, NULL, NULL};
    const int64_t upper = count_poses(s, len);
    P3D_TRY(traj_alloc(out, path, upper ? upper : 1));
    int32_t n = 0, ok = 1;
    double fps = 0;
    int32_t wrapped = jeat(&j, '{');
    if (wrapped) {
        int32_t have_poses = 0;
        do {
            char key[32];
            if (!jstring(&j, key, sizeof key) || !(jeat(&j, ':') || jfail(&j, "expected ':'"))) {
                ok = 0;
                break;
            }
            if (strcmp(key, "fps") == 0) {
                if (!(ok = jnumber(&j, &fps))) break;
                if (!(fps > 0 && fps <= 1000)) {
                    ok = jfail(&j, "fps must be in (0, 1000]");
                    break;
                }
            } else if (strcmp(key, "poses") == 0) {
                have_poses = 1;
                break;
            } else {
                ok = jfail(&j, "unknown key (fps, poses)");
                break;
            }
        } while (jeat(&j, ','));
        if (ok && !have_poses) ok = jfail(&j, "no \"poses\" array");
    }
    if (ok && !(ok = jeat(&j, '['))) jfail(&j, "expected an array of poses");
    if (ok && !jeat(&j, ']')) {
        do {
            /* The room counted on the raw text is an upper bound only as long as every pose's key
             * appears there literally; never write past it whatever the text holds. */
            if (n >= (upper ? upper : 1)) {
                ok = jfail(&j, "more poses than \"position\" keys");
                break;
            }
            if (!(ok = jpose(&j, hfov, &out->poses[n]))) break;
            n++;
        } while (jeat(&j, ','));
        if (ok && !(ok = jeat(&j, ']'))) jfail(&j, "expected ',' or ']'");
    }
    if (ok && wrapped) {
        /* keys after "poses" */
        while (ok && jeat(&j, ',')) {
            char key[32];
            if (!(ok = jstring(&j, key, sizeof key) && (jeat(&j, ':') || jfail(&j, "expected ':'")))) break;
            if (strcmp(key, "fps") != 0) ok = jfail(&j, "unknown key (fps, poses)");
            else if ((ok = jnumber(&j, &fps)) && !(fps > 0 && fps <= 1000)) ok = jfail(&j, "fps must be in (0, 1000]");
        }
        if (ok && !(ok = jeat(&j, '}'))) jfail(&j, "expected '}'");
    }
    jws(&j);
    if (ok && j.s != j.end) ok = jfail(&j, "trailing characters after the JSON value");
    if (ok && n == 0) ok = jfail(&j, "no poses");
    if (!ok) {
        int32_t line = 1;
        for (const char *q = s; q < j.err_at && q < j.end; q++) line += *q == '\n';
        p3d_traj_free(out);
        return p3d_fail(P3D_ERR_FORMAT, "%s:%d: %s", path, (int)line, j.err);
    }
    out->n = n;
    out->fps = fps;
    return P3D_OK;
}

p3d_status p3d_traj_read(const char *path, float hfov, p3d_traj *out) {
    memset(out, 0, sizeof *out);
    uint8_t *data = NULL;
    size_t len = 0;
    P3D_TRY(p3d_file_read(path, P3D_TRAJ_MAX_FILE_BYTES, &data, &len));
    const char *s = (const char *)data;
    size_t i = 0;
    while (i < len && isspace((unsigned char)s[i])) i++;
    p3d_status st = (i < len && (s[i] == '{' || s[i] == '[')) ? read_json(path, s, len, hfov, out)
                                                                : read_text(path, s, len, hfov, out);
    free(data);
    if (st != P3D_OK) return st;
    /* the output name part: the file's stem */
    const char *base = strrchr(path, '/');
    snprintf(out->name, sizeof out->name, "%s", base ? base + 1 : path);
    char *dot = strrchr(out->name, '.');
    if (dot && dot != out->name) *dot = '\0';
    return P3D_OK;
}

p3d_view p3d_view_of_pose(const p3d_mesh *m, const p3d_pose *p, int32_t out_w, int32_t out_h, const float crop[4]) {
    const p3d_view cam = p3d_view_of_mesh(m, m->width, m->height);
    const double W = m->width, H = m->height;
    /* crop rectangle in photo pixels, and the largest window of the output's aspect centred in it */
    const double rx0 = crop[1] * W, rx1 = W - crop[3] * W, ry0 = crop[0] * H, ry1 = H - crop[2] * H;
    const double aspect = (double)out_w / (double)out_h;
    double ww = rx1 - rx0, wh = ww / aspect;
    if (wh > ry1 - ry0) {
        wh = ry1 - ry0;
        ww = wh * aspect;
    }
    const double x0 = 0.5 * (rx0 + rx1) - 0.5 * ww, y0 = 0.5 * (ry0 + ry1) - 0.5 * wh, k = (double)out_w / ww;
    p3d_view v;
    memcpy(v.rot, p->rot, sizeof v.rot);
    memcpy(v.pos, p->pos, sizeof v.pos);
    v.fx = (float)(cam.fx * p->focal_scale * k);
    v.fy = (float)(cam.fy * p->focal_scale * k);
    v.cx = (float)((cam.cx - x0) * k);
    v.cy = (float)((cam.cy - y0) * k);
    return v;
}
