/* file_io.c - whole-file reads and atomic (temporary name + rename) writes. */
#include "core/file_io.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/interrupt.h"

p3d_status p3d_file_read(const char *path, size_t max_bytes, uint8_t **data, size_t *len) {
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return p3d_fail(P3D_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return p3d_fail(P3D_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        fclose(f);
        return p3d_fail(P3D_ERR_FORMAT, "%s: file is empty", path);
    }
    if ((uint64_t)st.st_size > (uint64_t)max_bytes) {
        fclose(f);
        return p3d_fail(P3D_ERR_FORMAT, "%s: file is %lld bytes, more than the %zu this reader accepts",
                        path, (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = (uint8_t *)malloc(n);
    if (!buf) {
        fclose(f);
        return p3d_fail(P3D_ERR_OOM, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = fread(buf, 1, n, f);
    int err = ferror(f);
    fclose(f);
    if (got != n) {
        free(buf);
        return p3d_fail(P3D_ERR_IO, "%s: read %zu of %zu bytes%s", path, got, n, err ? " (read error)" : "");
    }
    *data = buf;
    *len = n;
    return P3D_OK;
}

p3d_status p3d_file_put(FILE *f, const char *path, const void *data, size_t len) {
    /* In chunks, so a long write notices Ctrl-C (interrupt.h, flag mode) within a chunk. */
    const size_t chunk = (size_t)1 << 20;
    const uint8_t *p = (const uint8_t *)data;
    while (len > 0) {
        P3D_TRY(p3d_interrupt_check(path));
        size_t n = len < chunk ? len : chunk;
        if (fwrite(p, 1, n, f) != n) return p3d_fail(P3D_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        p += n;
        len -= n;
    }
    return P3D_OK;
}

/* Flushes f to disk and closes it; records the failure against path. */
static p3d_status close_synced(FILE *f, const char *path) {
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    int err = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    if (bad) return p3d_fail(P3D_ERR_IO, "%s: write failed: %s", path, strerror(err));
    return P3D_OK;
}

p3d_status p3d_file_write_atomic_fn(const char *path, p3d_file_writer fn, void *user) {
    size_t n = strlen(path);
    char *tmp = (char *)malloc(n + 16);
    if (!tmp) return p3d_fail(P3D_ERR_OOM, "%s: out of memory", path);
    snprintf(tmp, n + 16, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        p3d_status st = p3d_fail(P3D_ERR_IO, "%s: cannot create a temporary file beside it: %s", path,
                                 strerror(errno));
        free(tmp);
        return st;
    }
    /* Removed by the signal handler if the process is ended mid-write (interrupt.h). */
    int32_t slot = p3d_interrupt_register_temp(tmp);
    /* mkstemp creates 0600; give the file the usual permissions (0666 less the umask). */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(tmp);
        p3d_interrupt_unregister_temp(slot);
        free(tmp);
        return p3d_fail(P3D_ERR_IO, "%s: cannot open a temporary file: %s", path, strerror(errno));
    }
    p3d_status st = fn(f, user);
    if (st != P3D_OK) fclose(f);
    else st = close_synced(f, path);
    /* A Ctrl-C during a writer that does not poll (fprintf loops, encoders): the file may be whole,
     * but the run is stopping and must not leave new outputs behind. */
    if (st == P3D_OK) st = p3d_interrupt_check(path);
    if (st == P3D_OK && rename(tmp, path) != 0)
        st = p3d_fail(P3D_ERR_IO, "%s: cannot rename the temporary file into place: %s", path, strerror(errno));
    if (st != P3D_OK) unlink(tmp);
    p3d_interrupt_unregister_temp(slot);
    free(tmp);
    return st;
}

typedef struct buffer_job {
    const char *path;
    const void *data;
    size_t len;
} buffer_job;

static p3d_status write_buffer(FILE *f, void *user) {
    const buffer_job *job = (const buffer_job *)user;
    return p3d_file_put(f, job->path, job->data, job->len);
}

p3d_status p3d_file_write_atomic(const char *path, const void *data, size_t len) {
    buffer_job job = {path, data, len};
    return p3d_file_write_atomic_fn(path, write_buffer, &job);
}

p3d_status p3d_dir_ensure(const char *dir) {
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) return p3d_fail(P3D_ERR_IO, "%s: exists and is not a directory", dir);
        return P3D_OK;
    }
    if (mkdir(dir, 0777) != 0) return p3d_fail(P3D_ERR_IO, "%s: cannot create directory: %s", dir, strerror(errno));
    return P3D_OK;
}

/* ---- the pixel limit -------------------------------------------------------------------------- */

static int64_t g_max_pixels = P3D_DEFAULT_MAX_PIXELS;

int64_t p3d_max_pixels(void) { return g_max_pixels; }

void p3d_set_max_pixels(int64_t n) {
    const int64_t cap = (int64_t)1 << 32;
    g_max_pixels = n < 1 ? 1 : n > cap ? cap : n;
}

/* A decimal number at *s (no sign), at most 2^40; advances *s. */
static int parse_u40(const char **s, int64_t *out) {
    const char *p = *s;
    int64_t v = 0;
    if (!isdigit((unsigned char)*p)) return 0;
    for (; isdigit((unsigned char)*p); p++) {
        v = v * 10 + (*p - '0');
        if (v > ((int64_t)1 << 40)) return 0;
    }
    *s = p;
    *out = v;
    return 1;
}

p3d_status p3d_max_pixels_parse(const char *text, int64_t *out) {
    const char *p = text;
    int64_t a = 0, b = 0;
    if (parse_u40(&p, &a)) {
        if (*p == 'x' && (p++, parse_u40(&p, &b)) && *p == '\0' && a <= P3D_MAX_SIDE && b <= P3D_MAX_SIDE) a *= b;
        else if ((*p == 'K' || *p == 'k') && p[1] == '\0') a *= 1000;
        else if ((*p == 'M' || *p == 'm') && p[1] == '\0') a *= 1000000;
        else if ((*p == 'G' || *p == 'g') && p[1] == '\0' && a <= 1000) a *= 1000000000;
        else if (*p != '\0') a = 0;
        if (a >= 1) {
            *out = a;
            return P3D_OK;
        }
    }
    return p3d_fail(P3D_ERR_INVALID_ARG, "--max-pixels '%s': expected a pixel count such as 268M, 268435456 or "
                                         "16384x16384 (at least 1)", text);
}

p3d_status p3d_pixels_check(const char *path, const char *what, int64_t w, int64_t h) {
    if (w <= 0 || h <= 0)
        return p3d_fail(P3D_ERR_FORMAT, "%s: %s has an empty size %lldx%lld", path, what, (long long)w, (long long)h);
    if (w > P3D_MAX_SIDE || h > P3D_MAX_SIDE)
        return p3d_fail(P3D_ERR_FORMAT, "%s: %s is %lldx%lld, a side larger than %d pixels", path, what, (long long)w,
                        (long long)h, P3D_MAX_SIDE);
    if (w * h > g_max_pixels)
        return p3d_fail(P3D_ERR_FORMAT, "%s: %s is %lldx%lld = %lld pixels, more than the limit of %lld (--max-pixels)",
                        path, what, (long long)w, (long long)h, (long long)(w * h), (long long)g_max_pixels);
    return P3D_OK;
}
