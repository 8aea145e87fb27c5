/* inputs.c - INPUT expansion (file, folder, @list), name collisions, depth matching, sharding. */
#include "cli/inputs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const k_image_exts[] = {".jpg", ".jpeg", ".png", ".bmp", ".tga", ".pgm", ".ppm"};

void p3d_inputs_init(p3d_input_list *l) { memset(l, 0, sizeof *l); }

void p3d_inputs_free(p3d_input_list *l) {
    for (int32_t i = 0; i < l->count; i++) {
        free(l->items[i].path);
        free(l->items[i].name);
        free(l->items[i].depth);
    }
    for (int32_t i = 0; i < l->n_problems; i++) free(l->problems[i]);
    free(l->items);
    free(l->problems);
    free(l->by_name);
    memset(l, 0, sizeof *l);
}

/* Grows an array of `size`-byte elements to hold one more. */
static int grow(void **arr, int32_t *cap, int32_t count, size_t size) {
    if (count < *cap) return 1;
    int32_t ncap = *cap ? *cap * 2 : 16;
    if (ncap <= *cap) return 0;
    void *n = realloc(*arr, (size_t)ncap * size);
    if (!n) return 0;
    *arr = n;
    *cap = ncap;
    return 1;
}

p3d_status p3d_inputs_problem(p3d_input_list *l, const char *what, const char *fmt, ...) {
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    size_t n = strlen(what) + strlen(reason) + 3;
    char *msg = (char *)malloc(n);
    if (!msg || !grow((void **)&l->problems, &l->cap_problems, l->n_problems, sizeof *l->problems)) {
        free(msg);
        return p3d_fail(P3D_ERR_OOM, "%s: out of memory", what);
    }
    snprintf(msg, n, "%s: %s", what, reason);
    l->problems[l->n_problems++] = msg;
    return P3D_OK;
}

/* ---- names ---------------------------------------------------------------------------------------- */

void p3d_path_stem(const char *path, char *out, size_t cap) {
    const char *base = strrchr(path, '/');
    snprintf(out, cap, "%s", base ? base + 1 : path);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = '\0';
}

static int has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), m = strlen(ext);
    return n > m && strcasecmp(path + n - m, ext) == 0 && path[n - m - 1] != '/';
}

int p3d_is_image_name(const char *path) {
    for (size_t i = 0; i < sizeof k_image_exts / sizeof k_image_exts[0]; i++)
        if (has_ext(path, k_image_exts[i])) return 1;
    return 0;
}

/* FNV-1a 64 over the bytes, then murmur3's fmix64: FNV alone leaves its low bits depending only on
 * the low bits of each byte, so "modulo a power of two" would split names badly. */
static uint64_t name_hash(const char *s) {
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

uint32_t p3d_shard_of(const char *name, uint32_t n) {
    P3D_ASSERT(n >= 1);
    return (uint32_t)(name_hash(name) % n);
}

/* ---- the by-name index -------------------------------------------------------------------------- */

static int32_t *index_slot(const p3d_input_list *l, const char *name) {
    uint32_t mask = l->by_name_cap - 1;
    for (uint32_t s = (uint32_t)name_hash(name) & mask;; s = (s + 1) & mask) {
        int32_t *slot = &l->by_name[s];
        if (*slot < 0 || strcmp(l->items[*slot].name, name) == 0) return slot;
    }
}

/* Rebuilds the index with room for count + 1 items at load <= 1/2. */
static int index_rebuild(p3d_input_list *l, int32_t want) {
    uint32_t cap = 64;
    while (cap < 2u * (uint32_t)want + 2u) cap *= 2;
    int32_t *idx = (int32_t *)malloc((size_t)cap * sizeof *idx);
    if (!idx) return 0;
    for (uint32_t i = 0; i < cap; i++) idx[i] = -1;
    free(l->by_name);
    l->by_name = idx;
    l->by_name_cap = cap;
    for (int32_t i = 0; i < l->count; i++) *index_slot(l, l->items[i].name) = i;
    return 1;
}

/* Adds one image file (already stat'ed). */
static p3d_status add_file(p3d_input_list *l, const char *path, const struct stat *st, const p3d_inputs_opts *opts) {
    char stem[1024];
    p3d_path_stem(path, stem, sizeof stem);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (opts && opts->specific && opts->specific[0] && strcmp(opts->specific, base) != 0 &&
        strcmp(opts->specific, stem) != 0)
        return P3D_OK;
    if (2u * (uint32_t)(l->count + 1) > l->by_name_cap && !index_rebuild(l, l->count + 1))
        return p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    int32_t *slot = index_slot(l, stem);
    if (*slot >= 0) {
        const p3d_input *prev = &l->items[*slot];
        if (prev->dev == (uint64_t)st->st_dev && prev->ino == (uint64_t)st->st_ino) return P3D_OK;
        return p3d_inputs_problem(l, path, "has the name '%s' of %s (their outputs would overwrite each other)", stem,
                                  prev->path);
    }
    if (!grow((void **)&l->items, &l->cap, l->count, sizeof *l->items))
        return p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    p3d_input *in = &l->items[l->count];
    memset(in, 0, sizeof *in);
    in->path = strdup(path);
    in->name = strdup(stem);
    if (!in->path || !in->name) {
        free(in->path);
        free(in->name);
        return p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    }
    in->dev = (uint64_t)st->st_dev;
    in->ino = (uint64_t)st->st_ino;
    *slot = l->count++;
    return P3D_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int folder_wants(const char *name, const p3d_inputs_opts *opts) {
    if (name[0] == '.') return 0;
    if (opts && opts->img_format && opts->img_format[0]) return has_ext(name, opts->img_format);
    return p3d_is_image_name(name);
}

static p3d_status add_folder(p3d_input_list *l, const char *dir, const p3d_inputs_opts *opts) {
    DIR *d = opendir(dir);
    if (!d) return p3d_inputs_problem(l, dir, "cannot read the folder: %s", strerror(errno));
    char **names = NULL;
    int32_t n = 0, cap = 0;
    p3d_status st = P3D_OK;
    struct dirent *e;
    while (st == P3D_OK && (e = readdir(d)) != NULL) {
        if (!folder_wants(e->d_name, opts)) continue;
        char *s = strdup(e->d_name);
        if (!s || !grow((void **)&names, &cap, n, sizeof *names)) {
            free(s);
            st = p3d_fail(P3D_ERR_OOM, "%s: out of memory", dir);
            break;
        }
        names[n++] = s;
    }
    closedir(d);
    /* readdir's order depends on the file system; the name order does not. */
    if (n > 1) qsort(names, (size_t)n, sizeof *names, cmp_str);
    const size_t dl = strlen(dir);
    const int slash = dl > 0 && dir[dl - 1] == '/';
    int32_t added = 0;
    for (int32_t i = 0; i < n && st == P3D_OK; i++) {
        size_t len = dl + strlen(names[i]) + 2;
        char *path = (char *)malloc(len);
        if (!path) {
            st = p3d_fail(P3D_ERR_OOM, "%s: out of memory", dir);
            break;
        }
        snprintf(path, len, "%s%s%s", dir, slash ? "" : "/", names[i]);
        struct stat fst;
        if (stat(path, &fst) == 0 && S_ISREG(fst.st_mode)) {
            st = add_file(l, path, &fst, opts);
            added++;
        }
        free(path);
    }
    for (int32_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (st == P3D_OK && added == 0)
        st = p3d_inputs_problem(l, dir, "no %s images in the folder",
                                opts && opts->img_format && opts->img_format[0] ? opts->img_format
                                                                                : "(.jpg .jpeg .png .bmp .tga .pgm .ppm)");
    return st;
}

/* A file or a folder; origin ("LIST:LINE") or NULL for the command line. */
static p3d_status add_path(p3d_input_list *l, const char *path, const char *origin, const p3d_inputs_opts *opts) {
    struct stat st;
    if (stat(path, &st) != 0) {
        if (origin) return p3d_inputs_problem(l, path, "%s (listed in %s)", strerror(errno), origin);
        return p3d_inputs_problem(l, path, "%s", strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) return add_folder(l, path, opts);
    if (!S_ISREG(st.st_mode)) return p3d_inputs_problem(l, path, "not a regular file or a folder");
    return add_file(l, path, &st, opts);
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

static p3d_status add_list(p3d_input_list *l, const char *list, const p3d_inputs_opts *opts) {
    FILE *f = fopen(list, "r");
    if (!f) return p3d_fail(P3D_ERR_INVALID_ARG, "@%s: cannot open the list file: %s", list, strerror(errno));
    /* Relative entries are relative to the list's folder. */
    const char *slash = strrchr(list, '/');
    size_t dir_len = slash ? (size_t)(slash - list) + 1 : 0;
    char *line = NULL, *joined = NULL;
    size_t line_cap = 0, joined_cap = 0;
    p3d_status st = P3D_OK;
    long line_no = 0;
    while (st == P3D_OK && getline(&line, &line_cap, f) >= 0) {
        line_no++;
        char *entry = trim(line);
        if (!entry[0] || entry[0] == '#') continue;
        const char *path = entry;
        if (entry[0] != '/' && dir_len) {
            size_t need = dir_len + strlen(entry) + 1;
            if (need > joined_cap) {
                char *nj = (char *)realloc(joined, need);
                if (!nj) {
                    st = p3d_fail(P3D_ERR_OOM, "@%s: out of memory", list);
                    break;
                }
                joined = nj;
                joined_cap = need;
            }
            memcpy(joined, list, dir_len);
            strcpy(joined + dir_len, entry);
            path = joined;
        }
        char origin[1100];
        snprintf(origin, sizeof origin, "%s:%ld", list, line_no);
        st = add_path(l, path, origin, opts);
    }
    if (st == P3D_OK && ferror(f)) st = p3d_fail(P3D_ERR_IO, "@%s: read error", list);
    free(line);
    free(joined);
    fclose(f);
    return st;
}

p3d_status p3d_inputs_add(p3d_input_list *l, const char *arg, const p3d_inputs_opts *opts) {
    if (arg[0] == '@') return add_list(l, arg + 1, opts);
    return add_path(l, arg, NULL, opts);
}

/* ---- depth maps ---------------------------------------------------------------------------------- */

/* The input whose file is (dev, ino), or -1. */
/* Keeps the items for which keep(l, i, ctx) holds, in their order, and frees the others. Positions
 * move, so the by-name index is dropped (add_file rebuilds it on its next call). */
static void inputs_keep(p3d_input_list *l, int (*keep)(const p3d_input_list *, int32_t, const void *),
                        const void *ctx) {
    int32_t kept = 0;
    for (int32_t i = 0; i < l->count; i++) {
        if (keep(l, i, ctx)) {
            l->items[kept++] = l->items[i];
        } else {
            free(l->items[i].path);
            free(l->items[i].name);
            free(l->items[i].depth);
        }
    }
    l->count = kept;
    free(l->by_name);
    l->by_name = NULL;
    l->by_name_cap = 0;
}

static int not_dropped(const p3d_input_list *l, int32_t i, const void *drop) {
    (void)l;
    return !((const uint8_t *)drop)[i];
}

static int32_t input_by_file(const p3d_input_list *l, uint64_t dev, uint64_t ino) {
    for (int32_t i = 0; i < l->count; i++)
        if (l->items[i].dev == dev && l->items[i].ino == ino) return i;
    return -1;
}

p3d_status p3d_inputs_match_depth(p3d_input_list *l, const char *dir, const char *preferred_ext) {
    struct stat st;
    if (stat(dir, &st) != 0) return p3d_fail(P3D_ERR_INVALID_ARG, "depth folder %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return p3d_fail(P3D_ERR_INVALID_ARG, "depth folder %s: not a folder", dir);
    static const char *const suffixes[3] = {"", "_disp", "_depth"};
    const char *exts[4] = {preferred_ext, ".npy", ".png", ".pfm"};
    /* (dev, ino) of each input's depth map, to drop the inputs that are another one's map */
    uint64_t *dev = (uint64_t *)calloc((size_t)l->count + 1, sizeof *dev);
    uint64_t *ino = (uint64_t *)calloc((size_t)l->count + 1, sizeof *ino);
    uint8_t *has = (uint8_t *)calloc((size_t)l->count + 1, 1);
    p3d_status status = dev && ino && has ? P3D_OK : p3d_fail(P3D_ERR_OOM, "%s: out of memory", dir);
    for (int32_t i = 0; status == P3D_OK && i < l->count; i++) {
        p3d_input *in = &l->items[i];
        for (int s = 0; s < 3 && !in->depth && status == P3D_OK; s++)
            for (int e = 0; e < 4 && !in->depth; e++) {
                if (!exts[e] || !exts[e][0]) continue;
                size_t n = strlen(dir) + strlen(in->name) + strlen(suffixes[s]) + strlen(exts[e]) + 2;
                char *p = (char *)malloc(n);
                if (!p) {
                    status = p3d_fail(P3D_ERR_OOM, "%s: out of memory", dir);
                    break;
                }
                snprintf(p, n, "%s/%s%s%s", dir, in->name, suffixes[s], exts[e]);
                struct stat fst;
                /* a photo is never its own depth map (--depth-dir naming the photos' folder) */
                if (stat(p, &fst) == 0 && S_ISREG(fst.st_mode) &&
                    !((uint64_t)fst.st_dev == in->dev && (uint64_t)fst.st_ino == in->ino)) {
                    in->depth = p;
                    dev[i] = (uint64_t)fst.st_dev, ino[i] = (uint64_t)fst.st_ino, has[i] = 1;
                } else {
                    free(p);
                }
            }
    }
    if (status == P3D_OK) {
        /* Files that are the depth maps of other inputs are not photos: drop them (order kept). */
        uint8_t *drop = (uint8_t *)calloc((size_t)l->count + 1, 1);
        if (!drop) status = p3d_fail(P3D_ERR_OOM, "%s: out of memory", dir);
        int32_t n_drop = 0;
        for (int32_t i = 0; drop && i < l->count; i++) {
            int32_t j = has[i] ? input_by_file(l, dev[i], ino[i]) : -1;
            if (j >= 0 && !drop[j]) drop[j] = 1, n_drop++;
        }
        if (n_drop) {
            for (int32_t i = 0; i < l->count; i++)
                if (drop[i])
                    p3d_log(P3D_LOG_DEBUG, "%s is the depth map of another input, not a photo", l->items[i].path);
            inputs_keep(l, not_dropped, drop);
        }
        free(drop);
    }
    free(dev);
    free(ino);
    free(has);
    return status;
}

p3d_status p3d_inputs_set_depth(p3d_input_list *l, const char *file) {
    if (l->count != 1)
        return p3d_fail(P3D_ERR_INVALID_ARG, "--depth %s: names the depth map of one photo, but there are %d inputs "
                                             "(use --depth-dir for several)",
                        file, (int)l->count);
    struct stat st;
    if (stat(file, &st) != 0) return p3d_fail(P3D_ERR_INVALID_ARG, "--depth %s: %s", file, strerror(errno));
    if (!S_ISREG(st.st_mode)) return p3d_fail(P3D_ERR_INVALID_ARG, "--depth %s: not a file", file);
    char *p = strdup(file);
    if (!p) return p3d_fail(P3D_ERR_OOM, "%s: out of memory", file);
    free(l->items[0].depth);
    l->items[0].depth = p;
    return P3D_OK;
}

/* ---- shards --------------------------------------------------------------------------------------- */

/* A decimal number without sign or blanks, at most 1000000; advances *s. */
static int parse_count(const char **s, uint32_t *out) {
    const char *p = *s;
    uint32_t v = 0;
    if (!isdigit((unsigned char)*p)) return 0;
    for (; isdigit((unsigned char)*p); p++) {
        v = v * 10u + (uint32_t)(*p - '0');
        if (v > 1000000u) return 0;
    }
    *s = p;
    *out = v;
    return 1;
}

p3d_status p3d_shard_parse(const char *text, uint32_t *k, uint32_t *n) {
    const char *p = text;
    uint32_t kk = 0, nn = 0;
    if (!parse_count(&p, &kk) || *p++ != '/' || !parse_count(&p, &nn) || *p)
        return p3d_fail(P3D_ERR_INVALID_ARG, "--shard '%s': expected K/N, e.g. 0/4 (shards are numbered from 0)",
                        text);
    if (nn < 1 || kk >= nn)
        return p3d_fail(P3D_ERR_INVALID_ARG, "--shard '%s': K must be in 0..N-1 and N at least 1 (shards are "
                                             "numbered from 0, like SLURM_ARRAY_TASK_ID with --array=0-%u)",
                        text, nn ? nn - 1 : 0);
    *k = kk;
    *n = nn;
    return P3D_OK;
}

struct shard_ctx {
    uint32_t k, n;
};
static int in_shard(const p3d_input_list *l, int32_t i, const void *ctx) {
    const struct shard_ctx *c = (const struct shard_ctx *)ctx;
    return p3d_shard_of(l->items[i].name, c->n) == c->k;
}

void p3d_inputs_shard(p3d_input_list *l, uint32_t k, uint32_t n) {
    const struct shard_ctx c = {k, n};
    inputs_keep(l, in_shard, &c);
}
