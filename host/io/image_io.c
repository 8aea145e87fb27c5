/* image_io.c - JPEG decoding through libjpeg-turbo (io/jpeg_decode.c), PNG decoding through stb_image,
 * EXIF orientation, PNG writing. */
#include "io/image_io.h"

#include <stdlib.h>
#include <string.h>

#include "core/file_io.h"
#include "io/jpeg_decode.h"

#define STBI_NO_STDIO
#define STBI_WRITE_NO_STDIO
#include <stb_image.h>
#include <stb_image_write.h>

/* Defined in stb_image_write (compiled in stb_impl.c) but not declared by its header. */
unsigned char *stbi_zlib_compress(unsigned char *data, int data_len, int *out_len, int quality);

static const uint8_t PNG_SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

typedef enum image_kind { KIND_JPEG, KIND_PNG } image_kind;

/* ---- EXIF ---------------------------------------------------------------------------------- */

static uint32_t rd16(const uint8_t *p, int le) {
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 : (uint32_t)p[0] << 8 | (uint32_t)p[1];
}

static uint32_t rd32(const uint8_t *p, int le) {
    return le ? rd16(p, 1) | rd16(p + 2, 1) << 16 : rd16(p, 0) << 16 | rd16(p + 2, 0);
}

/* Orientation from the TIFF structure of one APP1 payload (n bytes from "Exif\0\0"); 0 when the
 * payload is not Exif or holds no valid orientation. */
static int32_t exif_payload_orientation(const uint8_t *s, size_t n) {
    if (n < 14 || memcmp(s, "Exif\0\0", 6) != 0) return 0;
    const uint8_t *t = s + 6; /* TIFF header: byte order, 42, offset of IFD0 */
    uint64_t tn = n - 6;
    int le = t[0] == 'I' && t[1] == 'I';
    if (!le && !(t[0] == 'M' && t[1] == 'M')) return 0;
    if (rd16(t + 2, le) != 42) return 0;
    uint64_t ifd = rd32(t + 4, le);
    if (ifd + 2 > tn) return 0;
    uint32_t count = rd16(t + ifd, le);
    for (uint32_t k = 0; k < count; k++) {
        uint64_t e = ifd + 2 + 12 * (uint64_t)k; /* entry: tag, type, count, value */
        if (e + 12 > tn) return 0;
        if (rd16(t + e, le) != 0x0112) continue;
        if (rd16(t + e + 2, le) != 3 || rd32(t + e + 4, le) != 1) return 0; /* SHORT, one value */
        uint32_t v = rd16(t + e + 8, le);
        return v >= 1 && v <= 8 ? (int32_t)v : 0;
    }
    return 0;
}

/* Steps over the JPEG marker segment at *i (after SOI): *marker, and for segments with a length
 * their payload [*payload, *payload + *plen). Returns 0 at the end of the headers (start of scan,
 * end of image) or on malformed or truncated data, which the decoder then reports. */
static int jpeg_next_segment(const uint8_t *p, size_t n, size_t *i, uint8_t *marker, const uint8_t **payload,
                             size_t *plen) {
    while (*i + 4 <= n && p[*i] == 0xFF) {
        uint8_t m = p[*i + 1];
        if (m == 0xFF) { /* fill byte */
            (*i)++;
            continue;
        }
        if (m == 0xDA || m == 0xD9) return 0;
        *marker = m;
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { /* markers without a length */
            *i += 2;
            *payload = NULL, *plen = 0;
            return 1;
        }
        size_t seg = rd16(p + *i + 2, 0);
        if (seg < 2 || seg > n - *i - 2) return 0;
        *payload = p + *i + 4;
        *plen = seg - 2;
        *i += 2 + seg;
        return 1;
    }
    return 0;
}

int32_t p3d_exif_orientation(const uint8_t *p, size_t n) {
    if (n < 4 || p[0] != 0xFF || p[1] != 0xD8) return 1;
    size_t i = 2, plen = 0;
    uint8_t marker = 0;
    const uint8_t *payload = NULL;
    while (jpeg_next_segment(p, n, &i, &marker, &payload, &plen)) {
        int32_t o = marker == 0xE1 ? exif_payload_orientation(payload, plen) : 0;
        if (o) return o;
    }
    return 1;
}

/* Width and height from the first start-of-frame segment (SOF0..SOF15 but DHT, JPG, DAC); 0 if none. */
static int jpeg_frame_size(const uint8_t *p, size_t n, uint32_t *w, uint32_t *h) {
    size_t i = 2, plen = 0;
    uint8_t m = 0;
    const uint8_t *payload = NULL;
    while (jpeg_next_segment(p, n, &i, &m, &payload, &plen)) {
        if (m < 0xC0 || m > 0xCF || m == 0xC4 || m == 0xC8 || m == 0xCC) continue;
        if (plen < 5) return 0;
        *h = rd16(payload + 1, 0);
        *w = rd16(payload + 3, 0);
        return 1;
    }
    return 0;
}

/* ---- orientation --------------------------------------------------------------------------- */

/* Stored pixel (*sx, *sy) shown at display position (x, y) under orientation o (stored sw x sh). */
static void orient_source(int32_t o, int32_t sw, int32_t sh, int32_t x, int32_t y, int32_t *sx, int32_t *sy) {
    switch (o) {
    case 2: *sx = sw - 1 - x; *sy = y; break;
    case 3: *sx = sw - 1 - x; *sy = sh - 1 - y; break;
    case 4: *sx = x; *sy = sh - 1 - y; break;
    case 5: *sx = y; *sy = x; break;
    case 6: *sx = y; *sy = sh - 1 - x; break;
    case 7: *sx = sw - 1 - y; *sy = sh - 1 - x; break;
    case 8: *sx = sw - 1 - y; *sy = x; break;
    default: *sx = x; *sy = y; break;
    }
}

/* Returns a new buffer with the pixels (px bytes each) of src (sw x sh) laid out for orientation o. */
static void *orient_pixels(const void *src, int32_t sw, int32_t sh, size_t px, int32_t o) {
    int32_t dw = o >= 5 ? sh : sw, dh = o >= 5 ? sw : sh;
    uint8_t *dst = (uint8_t *)malloc((size_t)sw * (size_t)sh * px);
    if (!dst) return NULL;
    for (int32_t y = 0; y < dh; y++)
        for (int32_t x = 0; x < dw; x++) {
            int32_t sx, sy;
            orient_source(o, sw, sh, x, y, &sx, &sy);
            memcpy(dst + ((size_t)y * (size_t)dw + (size_t)x) * px,
                   (const uint8_t *)src + ((size_t)sy * (size_t)sw + (size_t)sx) * px, px);
        }
    return dst;
}

p3d_status p3d_image_orient(p3d_image *img, int32_t o) {
    if (o < 1 || o > 8) return p3d_fail(P3D_ERR_INVALID_ARG, "EXIF orientation %d is not in 1..8", (int)o);
    if (o == 1) return P3D_OK;
    uint8_t *rgb = (uint8_t *)orient_pixels(img->rgb, img->width, img->height, 3, o);
    uint16_t *rgb16 = img->rgb16 ? (uint16_t *)orient_pixels(img->rgb16, img->width, img->height, 6, o) : NULL;
    if (!rgb || (img->rgb16 && !rgb16)) {
        free(rgb);
        free(rgb16);
        return p3d_fail(P3D_ERR_OOM, "out of memory re-orienting a %dx%d image", (int)img->width, (int)img->height);
    }
    free(img->rgb);
    free(img->rgb16);
    img->rgb = rgb;
    img->rgb16 = rgb16;
    if (o >= 5) {
        int32_t w = img->width;
        img->width = img->height;
        img->height = w;
    }
    img->orientation = o;
    return P3D_OK;
}

/* ---- decoding ------------------------------------------------------------------------------ */

static p3d_status image_kind_of(const char *path, const uint8_t *buf, size_t len, image_kind *kind) {
    if (len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF) *kind = KIND_JPEG;
    else if (len >= 8 && memcmp(buf, PNG_SIG, 8) == 0) *kind = KIND_PNG;
    else return p3d_fail(P3D_ERR_FORMAT, "%s: unsupported image kind (not a JPEG or PNG file)", path);
    return P3D_OK;
}

/* stb_image decodes a cut-off JPEG without complaint (missing data reads as zeros), so a JPEG must
 * hold an end-of-image marker after its first start-of-scan. */
static p3d_status jpeg_check_complete(const char *path, const uint8_t *buf, size_t len) {
    const uint8_t *sos = NULL;
    for (size_t i = 2; i + 1 < len && !sos; i++)
        if (buf[i] == 0xFF && buf[i + 1] == 0xDA) sos = buf + i;
    for (size_t i = len - 1; sos && buf + i > sos; i--)
        if (buf[i - 1] == 0xFF && buf[i] == 0xD9) return P3D_OK;
    return p3d_fail(P3D_ERR_FORMAT, "%s: truncated JPEG (no end-of-image marker after the image data)", path);
}

/* Width and height as the file's header states them (PNG IHDR, JPEG SOF); 0 when not found. */
static int header_size(image_kind kind, const uint8_t *buf, size_t len, uint32_t *w, uint32_t *h) {
    if (kind == KIND_JPEG) return jpeg_frame_size(buf, len, w, h);
    if (len < 24 || memcmp(buf + 12, "IHDR", 4) != 0) return 0;
    *w = rd32(buf + 16, 0);
    *h = rd32(buf + 20, 0);
    return 1;
}

static int size_ok(uint64_t w, uint64_t h) {
    return w > 0 && h > 0 && w <= P3D_IMAGE_MAX_SIDE && h <= P3D_IMAGE_MAX_SIDE && w * h <= (uint64_t)P3D_IMAGE_MAX_PIXELS;
}

/* stb_image's terse reasons ("outofdata", "bad huffman code", ...) in words a user can act on. */
static const char *decode_failure(void) {
    const char *r = stbi_failure_reason();
    if (!r || strcmp(r, "outofdata") == 0 || strncmp(r, "bad ", 4) == 0 || strstr(r, "corrupt") ||
        strstr(r, "unexpected end") || strstr(r, "expected"))
        return "truncated or corrupt data";
    if (strcmp(r, "outofmem") == 0) return "out of memory";
    return r;
}

/* Header check, before any pixel allocation: the size the header states within the pixel limit
 * (core/file_io.h, --max-pixels) and the channels known. Both decoders go through it. */
static p3d_status image_probe(const char *path, image_kind kind, const uint8_t *buf, size_t len, p3d_image *out) {
    uint32_t hw = 0, hh = 0;
    if (header_size(kind, buf, len, &hw, &hh)) P3D_TRY(p3d_pixels_check(path, "the image", hw, hh));
    int w = 0, h = 0, comp = 0;
    if (!stbi_info_from_memory(buf, (int)len, &w, &h, &comp))
        return p3d_fail(P3D_ERR_FORMAT, "%s: cannot read the image header: %s", path, decode_failure());
    P3D_TRY(p3d_pixels_check(path, "the image", w, h));
    out->width = w;
    out->height = h;
    out->file_channels = comp;
    out->is_grey = comp <= 2;
    out->file_bits = stbi_is_16_bit_from_memory(buf, (int)len) ? 16 : 8;
    return P3D_OK;
}

/* Decodes to (H, W, 3): rgb always, rgb16 too for a 16-bit file when keep16. */
static p3d_status image_decode(const char *path, const uint8_t *buf, size_t len, int keep16, p3d_image *img) {
    int w = 0, h = 0, comp = 0;
    size_t n = (size_t)img->width * (size_t)img->height * 3;
    if (img->file_bits == 16) {
        uint16_t *px = stbi_load_16_from_memory(buf, (int)len, &w, &h, &comp, 3);
        if (!px) return p3d_fail(P3D_ERR_FORMAT, "%s: cannot decode the PNG: %s", path, decode_failure());
        img->rgb = (uint8_t *)malloc(n);
        if (!img->rgb) {
            stbi_image_free(px);
            return p3d_fail(P3D_ERR_OOM, "%s: out of memory for %zu samples", path, n);
        }
        for (size_t i = 0; i < n; i++) img->rgb[i] = (uint8_t)(px[i] >> 8);
        if (keep16) img->rgb16 = px;
        else stbi_image_free(px);
    } else {
        img->rgb = stbi_load_from_memory(buf, (int)len, &w, &h, &comp, 3);
        if (!img->rgb) return p3d_fail(P3D_ERR_FORMAT, "%s: cannot decode the image: %s", path, decode_failure());
    }
    if (w != img->width || h != img->height) /* stb_image's header and pixel passes disagree */
        return p3d_fail(P3D_ERR_FORMAT, "%s: decoded size %dx%d differs from the header's %dx%d", path, w, h,
                        (int)img->width, (int)img->height);
    return P3D_OK;
}

/* JPEG: libjpeg-turbo with OpenCV imread's settings (the depth networks' reference input), then the
 * EXIF orientation. */
static p3d_status jpeg_read(const char *path, const uint8_t *buf, size_t len, p3d_image *out) {
    uint32_t hw = 0, hh = 0;
    /* the pixel limit (--max-pixels) on the SOF header, then again in the decoder on its own header */
    if (jpeg_frame_size(buf, len, &hw, &hh)) P3D_TRY(p3d_pixels_check(path, "the image", hw, hh));
    P3D_TRY(jpeg_check_complete(path, buf, len));
    p3d_jpeg_image j;
    P3D_TRY(p3d_jpeg_decode(path, buf, len, P3D_MAX_SIDE, p3d_max_pixels(), &j));
    out->width = j.width;
    out->height = j.height;
    out->rgb = j.rgb;
    out->file_channels = j.components;
    out->is_grey = j.components == 1;
    out->file_bits = 8;
    out->orientation = 1;
    return p3d_image_orient(out, p3d_exif_orientation(buf, len));
}

static p3d_status image_read_buffer(const char *path, const uint8_t *buf, size_t len, uint32_t flags,
                                    p3d_image *out) {
    image_kind kind = KIND_JPEG;
    P3D_TRY(image_kind_of(path, buf, len, &kind));
    if (kind == KIND_JPEG) return jpeg_read(path, buf, len, out);
    P3D_TRY(image_probe(path, kind, buf, len, out));
    out->orientation = 1;
    return image_decode(path, buf, len, (flags & P3D_IMAGE_KEEP_16BIT) != 0, out);
}

p3d_status p3d_image_read(const char *path, uint32_t flags, p3d_image *out) {
    memset(out, 0, sizeof *out);
    uint8_t *buf = NULL;
    size_t len = 0;
    P3D_TRY(p3d_file_read(path, P3D_IMAGE_MAX_FILE_BYTES, &buf, &len));
    p3d_status st = image_read_buffer(path, buf, len, flags, out);
    free(buf);
    if (st != P3D_OK) p3d_image_free(out);
    return st;
}

void p3d_image_free(p3d_image *img) {
    if (!img) return;
    free(img->rgb);
    free(img->rgb16);
    memset(img, 0, sizeof *img);
}

/* ---- writing ------------------------------------------------------------------------------- */

static p3d_status check_write_size(const char *path, int32_t w, int32_t h) {
    if (w <= 0 || h <= 0 || !size_ok((uint64_t)w, (uint64_t)h))
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: cannot write a %dx%d PNG (limits: %d per side, 2^28 pixels)",
                        path, (int)w, (int)h, P3D_IMAGE_MAX_SIDE);
    return P3D_OK;
}

typedef struct png8_job {
    const char *path;
    int32_t w, h, channels;
    const uint8_t *data;
    p3d_status st;
    FILE *f;
} png8_job;

static void png8_sink(void *user, void *bytes, int n) {
    png8_job *job = (png8_job *)user;
    if (job->st == P3D_OK) job->st = p3d_file_put(job->f, job->path, bytes, (size_t)n);
}

static p3d_status png8_payload(FILE *f, void *user) {
    png8_job *job = (png8_job *)user;
    job->f = f;
    if (!stbi_write_png_to_func(png8_sink, job, job->w, job->h, job->channels, job->data, job->w * job->channels) &&
        job->st == P3D_OK)
        job->st = p3d_fail(P3D_ERR_OOM, "%s: PNG encoding failed (out of memory)", job->path);
    return job->st;
}

p3d_status p3d_png_write_u8(const char *path, int32_t w, int32_t h, int32_t channels, const uint8_t *data) {
    P3D_TRY(check_write_size(path, w, h));
    if (channels != 1 && channels != 3)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: 8-bit PNG with %d channels (1 or 3)", path, (int)channels);
    png8_job job = {path, w, h, channels, data, P3D_OK, NULL};
    return p3d_file_write_atomic_fn(path, png8_payload, &job);
}

/* CRC-32 (ISO-HDLC, as PNG chunks use), four bits at a time. */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n) {
    static const uint32_t t[16] = {0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC, 0x76DC4190, 0x6B6B51F4,
                                   0x4DB26158, 0x5005713C, 0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C,
                                   0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C};
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ t[crc & 15];
        crc = (crc >> 4) ^ t[crc & 15];
    }
    return ~crc;
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Appends one chunk (length, type, data, CRC over type + data) at out; returns bytes written. */
static size_t png_chunk(uint8_t *out, const char type[4], const uint8_t *data, uint32_t n) {
    put_be32(out, n);
    memcpy(out + 4, type, 4);
    if (n) memcpy(out + 8, data, n);
    put_be32(out + 8 + n, crc32_update(0, out + 4, (size_t)n + 4));
    return (size_t)n + 12;
}

/* Scanlines of a 16-bit image of n samples per row: each is "filter 2 (Up)" + the big-endian
 * samples, byte-wise minus the row above. */
static uint8_t *png16_scanlines(size_t n, int32_t h, const uint16_t *data, size_t *len) {
    size_t row = 1 + 2 * n;
    *len = row * (size_t)h;
    uint8_t *raw = (uint8_t *)malloc(*len);
    if (!raw) return NULL;
    for (int32_t y = 0; y < h; y++) {
        uint8_t *r = raw + (size_t)y * row;
        const uint16_t *s = data + (size_t)y * n, *up = y ? s - n : NULL;
        r[0] = 2;
        for (size_t x = 0; x < n; x++) {
            uint16_t a = up ? up[x] : 0;
            r[1 + 2 * x] = (uint8_t)((s[x] >> 8) - (a >> 8));
            r[2 + 2 * x] = (uint8_t)((s[x] & 0xff) - (a & 0xff));
        }
    }
    return raw;
}

p3d_status p3d_png_write_u16(const char *path, int32_t w, int32_t h, int32_t channels, const uint16_t *data) {
    static const uint8_t colour_type[5] = {0, 0, 4, 2, 6}; /* grey, grey+alpha, RGB, RGBA */
    P3D_TRY(check_write_size(path, w, h));
    if (channels < 1 || channels > 4)
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: 16-bit PNG with %d channels (1..4)", path, (int)channels);
    size_t rawlen;
    uint8_t *raw = png16_scanlines((size_t)w * (size_t)channels, h, data, &rawlen);
    if (!raw || rawlen > (size_t)0x7fffffff) {
        free(raw);
        return p3d_fail(P3D_ERR_OOM, "%s: cannot encode a %dx%d 16-bit PNG", path, (int)w, (int)h);
    }
    int zlen = 0;
    uint8_t *z = stbi_zlib_compress(raw, (int)rawlen, &zlen, 8);
    free(raw);
    uint8_t *png = z ? (uint8_t *)malloc((size_t)zlen + 8 + 3 * 12 + 13) : NULL;
    if (!png) {
        free(z);
        return p3d_fail(P3D_ERR_OOM, "%s: out of memory encoding a 16-bit PNG", path);
    }
    uint8_t ihdr[13] = {0};
    put_be32(ihdr, (uint32_t)w);
    put_be32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 16; /* bit depth; then colour type; deflate, adaptive filtering, no interlace (0s) */
    ihdr[9] = colour_type[channels];
    memcpy(png, PNG_SIG, 8);
    size_t n = 8;
    n += png_chunk(png + n, "IHDR", ihdr, 13);
    n += png_chunk(png + n, "IDAT", z, (uint32_t)zlen);
    n += png_chunk(png + n, "IEND", NULL, 0);
    free(z);
    p3d_status st = p3d_file_write_atomic(path, png, n);
    free(png);
    return st;
}
