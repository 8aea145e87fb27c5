/* web_page.c - the self-contained 3D photo page (web_page.h): the template web_page.html (compiled in
 * by tools/embed_file.cmake) with its markers replaced by the title, three.js, GLTFLoader, the
 * configuration JSON and the GLB in base64, streamed into one atomically written file. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_io.h"
#include "core/json.h"
#include "pipeline/web_page.h"
#include "render/render.h"

#include "p3d_web_page_html.h"

/* three.js files larger than this are not three.js */
#define WEB_MAX_SCRIPT ((size_t)64 << 20)

p3d_web_opts p3d_web_defaults(void) {
    p3d_web_opts o;
    memset(&o, 0, sizeof o);
    memcpy(o.crop, p3d_crop_border_default, sizeof o.crop);
    o.ssaa = 3;
    o.background[0] = o.background[1] = o.background[2] = 128;
    o.fps = P3D_TRAJ_DEFAULT_FPS;
    return o;
}

/* A JSON string: quotes, backslashes and control characters escaped, and '<' too, so no "</script>"
 * can close the configuration's script element. */
static void wb_json_string(p3d_text *b, const char *s) {
    p3d_text_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') p3d_text_printf(b, "\\%c", *p);
        else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&') p3d_text_printf(b, "\\u%04x", *p);
        else p3d_text_printf(b, "%c", *p);
    }
    p3d_text_printf(b, "\"");
}

/* A finite float as JSON (9 significant digits: the float back exactly). */
static void wb_num(p3d_text *b, double v) { p3d_text_printf(b, "%.9g", isfinite(v) ? v : 0.0); }

static void wb_vec(p3d_text *b, const float *v, int32_t n) {
    p3d_text_printf(b, "[");
    for (int32_t k = 0; k < n; k++) {
        if (k) p3d_text_printf(b, ",");
        wb_num(b, v[k]);
    }
    p3d_text_printf(b, "]");
}

/* The page's configuration (web_page.html reads it): the mesh camera, the frame camera's crop border,
 * SSAA, background, the bounding box (mesh coordinates), the playback rate, the trajectories (13
 * numbers a pose: position, world -> camera rotation row-major, focal multiplier) and the range of
 * their camera centres. */
static void config_json(p3d_text *b, const p3d_mesh *m, const p3d_traj *trajs, int32_t n_traj, const p3d_web_opts *o) {
    float bmin[3], bmax[3], lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    p3d_mesh_bounds(m, bmin, bmax);
    for (int32_t t = 0; t < n_traj; t++)
        for (int32_t k = 0; k < trajs[t].n; k++)
            for (int32_t c = 0; c < 3; c++) {
                const float v = trajs[t].poses[k].pos[c];
                lo[c] = v < lo[c] ? v : lo[c];
                hi[c] = v > hi[c] ? v : hi[c];
            }
    for (int32_t c = 0; c < 3; c++)
        if (!(lo[c] <= hi[c])) lo[c] = hi[c] = 0.0f; /* no trajectory: the camera stays at the photo's */
    p3d_text_printf(b, "{\"width\":%d,\"height\":%d,\"hfov\":", (int)m->width, (int)m->height);
    wb_num(b, m->hfov);
    p3d_text_printf(b, ",\"vfov\":");
    wb_num(b, m->vfov);
    p3d_text_printf(b, ",\"crop\":");
    wb_vec(b, o->crop, 4);
    p3d_text_printf(b, ",\"ssaa\":%d,\"background\":[%d,%d,%d],\"bmin\":", (int)o->ssaa, o->background[0], o->background[1],
              o->background[2]);
    wb_vec(b, bmin, 3);
    p3d_text_printf(b, ",\"bmax\":");
    wb_vec(b, bmax, 3);
    p3d_text_printf(b, ",\"fps\":");
    wb_num(b, o->fps);
    p3d_text_printf(b, ",\"range\":{\"min\":");
    wb_vec(b, lo, 3);
    p3d_text_printf(b, ",\"max\":");
    wb_vec(b, hi, 3);
    p3d_text_printf(b, "},\n\"trajectories\":[");
    for (int32_t t = 0; t < n_traj; t++) {
        p3d_text_printf(b, "%s\n{\"name\":", t ? "," : "");
        wb_json_string(b, trajs[t].name);
        p3d_text_printf(b, ",\"poses\":[");
        for (int32_t k = 0; k < trajs[t].n; k++) {
            const p3d_pose *p = &trajs[t].poses[k];
            float v[13];
            memcpy(v, p->pos, sizeof p->pos);
            memcpy(v + 3, p->rot, sizeof p->rot);
            v[12] = p->focal_scale;
            for (int32_t c = 0; c < 13; c++) {
                if (k || c) p3d_text_printf(b, ",");
                wb_num(b, v[c]);
            }
        }
        p3d_text_printf(b, "]}");
    }
    p3d_text_printf(b, "]}");
}

/* ---- the file ----------------------------------------------------------------------------------- */

typedef struct web_job {
    const char *path;
    const char *title;
    const uint8_t *three, *loader; /* file contents */
    size_t three_len, loader_len;
    const p3d_text *config;
    const uint8_t *glb;
    size_t glb_len;
} web_job;

static p3d_status put_title(FILE *f, const char *path, const char *title) {
    for (const char *p = title; *p; p++) {
        const char *esc = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '"' ? "&quot;" : NULL;
        P3D_TRY(p3d_file_put(f, path, esc ? esc : p, esc ? strlen(esc) : 1));
    }
    return P3D_OK;
}

/* RFC 4648 base64, in lines of 76 characters. */
static p3d_status put_base64(FILE *f, const char *path, const uint8_t *d, size_t n) {
    static const char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char line[80];
    size_t i = 0;
    while (i < n) {
        size_t len = 0;
        for (; i < n && len < 76; i += 3) {
            const uint32_t a = d[i], b = i + 1 < n ? d[i + 1] : 0, c = i + 2 < n ? d[i + 2] : 0;
            const uint32_t w = a << 16 | b << 8 | c;
            line[len++] = k[w >> 18 & 63];
            line[len++] = k[w >> 12 & 63];
            line[len++] = i + 1 < n ? k[w >> 6 & 63] : '=';
            line[len++] = i + 2 < n ? k[w & 63] : '=';
        }
        line[len++] = '\n';
        P3D_TRY(p3d_file_put(f, path, line, len));
    }
    return P3D_OK;
}

static p3d_status write_page(FILE *f, void *user) {
    const web_job *j = (const web_job *)user;
    const char *t = (const char *)p3d_web_page_html, *end = t + p3d_web_page_html_len;
    while (t < end) {
        const char *mark = strstr(t, "@P3D_");
        if (!mark) mark = end;
        P3D_TRY(p3d_file_put(f, j->path, t, (size_t)(mark - t)));
        if (mark == end) break;
        const char *close = strchr(mark + 1, '@');
        P3D_ASSERT(close);
        const size_t n = (size_t)(close + 1 - mark);
        if (n == 11 && !memcmp(mark, "@P3D_TITLE@", n)) P3D_TRY(put_title(f, j->path, j->title));
        else if (n == 11 && !memcmp(mark, "@P3D_THREE@", n)) P3D_TRY(p3d_file_put(f, j->path, j->three, j->three_len));
        else if (n == 16 && !memcmp(mark, "@P3D_GLTFLOADER@", n)) P3D_TRY(p3d_file_put(f, j->path, j->loader, j->loader_len));
        else if (n == 12 && !memcmp(mark, "@P3D_CONFIG@", n)) P3D_TRY(p3d_file_put(f, j->path, j->config->s, j->config->len));
        else if (n == 9 && !memcmp(mark, "@P3D_GLB@", n)) P3D_TRY(put_base64(f, j->path, j->glb, j->glb_len));
        else P3D_ABORT("web_page.html: unknown marker");
        t = close + 1;
    }
    return P3D_OK;
}

/* A script to inline: read whole, and refused if it could close its own <script> element. */
static p3d_status read_script(const char *dir, const char *rel, uint8_t **data, size_t *len) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return p3d_fail(P3D_ERR_IO,
                        "web page: %s: not found (the page inlines three.js: install Debian's libjs-three, or point "
                        "P3D_THREE_DIR or --three at a folder with three.min.js and examples/js/loaders/GLTFLoader.js, "
                        "the non-module build of three.js r111)",
                        path);
    fclose(probe);
    P3D_TRY(p3d_file_read(path, WEB_MAX_SCRIPT, data, len));
    for (size_t i = 0; i + 8 <= *len; i++) {
        if ((*data)[i] != '<' || (*data)[i + 1] != '/') continue;
        char tag[7];
        for (int k = 0; k < 6; k++) tag[k] = (char)tolower((*data)[i + 2 + k]);
        tag[6] = 0;
        if (!strcmp(tag, "script")) {
            free(*data);
            *data = NULL;
            return p3d_fail(P3D_ERR_FORMAT, "web page: %s contains \"</script\" and cannot be inlined", path);
        }
    }
    return P3D_OK;
}

p3d_status p3d_web_page_write(const char *path, const uint8_t *glb, size_t glb_len, const p3d_mesh *m,
                              const p3d_traj *trajs, int32_t n_traj, const p3d_web_opts *o) {
    if (o->ssaa < 1 || o->ssaa > P3D_RENDER_MAX_SSAA)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: supersampling factor %d: need 1..%d", path, (int)o->ssaa,
                        P3D_RENDER_MAX_SSAA);
    if (!(o->fps > 0) || !glb || glb_len < 12 || m->width < 1 || m->height < 1)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: no GLB, no image size or no frame rate for the page", path);
    const char *dir = o->three_dir;
    if (!dir || !dir[0]) dir = getenv("P3D_THREE_DIR");
    if (!dir || !dir[0]) dir = P3D_WEB_THREE_DIR_DEFAULT;
    uint8_t *three = NULL, *loader = NULL;
    size_t three_len = 0, loader_len = 0;
    p3d_status st = read_script(dir, "three.min.js", &three, &three_len);
    if (st == P3D_OK) st = read_script(dir, "examples/js/loaders/GLTFLoader.js", &loader, &loader_len);
    p3d_text config = {0};
    if (st == P3D_OK) config_json(&config, m, trajs, n_traj, o);
    if (st == P3D_OK && config.oom) st = p3d_fail(P3D_ERR_OOM, "%s: out of memory for the page", path);
    if (st == P3D_OK) {
        web_job j = {path, o->title ? o->title : "photo3d", three, loader, three_len, loader_len, &config, glb, glb_len};
        st = p3d_file_write_atomic_fn(path, write_page, &j);
    }
    p3d_text_free(&config);
    free(three);
    free(loader);
    return st;
}
