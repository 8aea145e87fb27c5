/* test_image_io.c - photo decoding on every fixture, generated PNGs of every kind, EXIF orientation on
 * spliced JPEGs, JPEG colour and CMYK decoding against libjpeg itself, PNG writing, and malformed files
 * that must fail cleanly naming the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_io.h"
#include "io/image_io.h"
#include "p3d_test.h"

#define STBI_WRITE_NO_STDIO
#include <jpeglib.h>
#include <stb_image_write.h>

/* ---- helpers ----------------------------------------------------------------------------- */

typedef struct membuf {
    uint8_t *p;
    size_t n, cap;
} membuf;

static void mem_sink(void *user, void *data, int n) {
    membuf *b = (membuf *)user;
    if (b->n + (size_t)n > b->cap) {
        b->cap = (b->n + (size_t)n) * 2;
        b->p = (uint8_t *)realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, data, (size_t)n);
    b->n += (size_t)n;
}

/* Mean and zero count of channel 0 of an RGB image. */
static double channel0_mean(const p3d_image *img, int64_t *zeros) {
    double sum = 0;
    int64_t n = (int64_t)img->width * img->height;
    *zeros = 0;
    for (int64_t i = 0; i < n; i++) {
        sum += img->rgb[3 * i];
        *zeros += img->rgb[3 * i] == 0;
    }
    return sum / (double)n;
}

/* ---- fixtures ---------------------------------------------------------------------------- */

static void test_columns_progressive_jpeg(void) {
    char p[256];
    if (!p3d_test_fixture("columns/columns.jpg", p, sizeof p)) return;
    p3d_image img;
    CHECK_OK(p3d_image_read(p, 0, &img));
    CHECK(img.width == 768 && img.height == 1024); /* W x H, portrait; EXIF orientation 1 */
    CHECK(img.orientation == 1 && img.file_channels == 3 && !img.is_grey && img.file_bits == 8);
    uint8_t *raw;
    size_t len;
    CHECK_OK(p3d_file_read(p, 1 << 24, &raw, &len));
    CHECK(p3d_exif_orientation(raw, len) == 1); /* it has an Exif block, saying 1 */
    free(raw);
    p3d_image_free(&img);
}

static void test_moon_jpeg(void) {
    char p[256];
    if (!p3d_test_fixture("moon/moon.jpg", p, sizeof p)) return;
    p3d_image img;
    CHECK_OK(p3d_image_read(p, 0, &img));
    CHECK(img.width == 2100 && img.height == 2100 && img.orientation == 1 && !img.is_grey);
    p3d_image_free(&img);
}

/* 8-bit RGB PNGs; channel-0 statistics from the fixtures' SOURCE.txt. */
static void check_rgb_png(const char *rel, int32_t w, int32_t h, double mean, int64_t zeros) {
    char p[256];
    if (!p3d_test_fixture(rel, p, sizeof p)) return;
    p3d_image img;
    CHECK_OK(p3d_image_read(p, 0, &img));
    if (!img.rgb) return;
    CHECK(img.width == w && img.height == h && img.file_channels == 3 && img.file_bits == 8 && !img.is_grey);
    int64_t z;
    CHECK_NEAR(channel0_mean(&img, &z), mean, 1e-3);
    CHECK(z == zeros);
    p3d_image_free(&img);
}

static void test_rgb_pngs(void) {
    check_rgb_png("tum-kinect/TUM_color.png", 640, 480, 118.061, 256);
    check_rgb_png("middlebury-cones/im2.png", 450, 375, 132.615, 2);
}

/* 16-bit grey: rgb16 holds the samples (replicated), rgb their high bytes. */
static void test_moon_png_16bit(void) {
    char p[256];
    if (!p3d_test_fixture("moon/moon.png", p, sizeof p)) return;
    p3d_image img;
    CHECK_OK(p3d_image_read(p, P3D_IMAGE_KEEP_16BIT, &img));
    if (!img.rgb16) return;
    CHECK(img.width == 640 && img.height == 640 && img.is_grey && img.file_bits == 16 && img.file_channels == 1);
    int64_t n = 640 * 640, zeros = 0, bad = 0;
    uint16_t lo = 65535, hi = 0;
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        uint16_t v = img.rgb16[3 * i];
        lo = v < lo ? v : lo, hi = v > hi ? v : hi, sum += v, zeros += v == 0;
        bad += img.rgb16[3 * i + 1] != v || img.rgb16[3 * i + 2] != v || img.rgb[3 * i] != (v >> 8);
    }
    CHECK(lo == 0 && hi == 65535 && zeros == 1 && bad == 0);
    CHECK_NEAR(sum / (double)n, 28885.4, 0.1);
    p3d_image_free(&img);
}

static void test_grey_png(void) {
    char p[256];
    if (!p3d_test_fixture("middlebury-cones/disp2.png", p, sizeof p)) return;
    p3d_image img;
    CHECK_OK(p3d_image_read(p, P3D_IMAGE_KEEP_16BIT, &img));
    CHECK(img.width == 450 && img.height == 375 && img.is_grey && img.file_bits == 8 && !img.rgb16);
    int64_t z;
    CHECK_NEAR(channel0_mean(&img, &z), 129.829, 1e-3);
    CHECK(z == 5429);
    CHECK(img.rgb[3 * 1000] == img.rgb[3 * 1000 + 1] && img.rgb[3 * 1000] == img.rgb[3 * 1000 + 2]);
    p3d_image_free(&img);
}

/* ---- generated PNGs of every kind -------------------------------------------------------- */

/* 8-bit PNGs with 1..4 channels through stb's writer: alpha dropped, grey replicated. */
static void test_png8_kinds(void) {
    uint8_t px[4 * 3 * 2];
    for (int i = 0; i < 24; i++) px[i] = (uint8_t)(i * 10 + 3);
    for (int cn = 1; cn <= 4; cn++) {
        membuf b = {0};
        CHECK(stbi_write_png_to_func(mem_sink, &b, 3, 2, cn, px, 3 * cn));
        char name[32], path[512];
        snprintf(name, sizeof name, "kind%d.png", cn);
        p3d_test_tmp_file(name, b.p, b.n, path, sizeof path);
        free(b.p);
        p3d_image img;
        CHECK_OK(p3d_image_read(path, 0, &img));
        if (!img.rgb) continue;
        CHECK(img.width == 3 && img.height == 2 && img.file_channels == cn && img.is_grey == (cn <= 2));
        int bad = 0;
        for (int i = 0; i < 6; i++)
            for (int c = 0; c < 3; c++) bad += img.rgb[3 * i + c] != px[i * cn + (cn <= 2 ? 0 : c)];
        CHECK_MSG(bad == 0, "%d channels: %d samples differ", cn, bad);
        p3d_image_free(&img);
    }
}

/* 16-bit PNGs with 1..4 channels through p3d_png_write_u16, read back with KEEP_16BIT. */
static void test_png16_kinds(void) {
    uint16_t px[5 * 4 * 4];
    for (int i = 0; i < 80; i++) px[i] = (uint16_t)(i * 811 + 7);
    for (int cn = 1; cn <= 4; cn++) {
        char name[32], path[512];
        snprintf(name, sizeof name, "kind16_%d.png", cn);
        CHECK_OK(p3d_png_write_u16(p3d_test_tmp_path(name, path, sizeof path), 5, 4, cn, px));
        p3d_image img;
        CHECK_OK(p3d_image_read(path, P3D_IMAGE_KEEP_16BIT, &img));
        if (!img.rgb16) continue;
        CHECK(img.width == 5 && img.height == 4 && img.file_bits == 16 && img.file_channels == cn);
        int bad = 0;
        for (int i = 0; i < 20; i++)
            for (int c = 0; c < 3; c++) {
                uint16_t want = px[i * cn + (cn <= 2 ? 0 : c)];
                bad += img.rgb16[3 * i + c] != want || img.rgb[3 * i + c] != (want >> 8);
            }
        CHECK_MSG(bad == 0, "%d channels: %d samples differ", cn, bad);
        p3d_image_free(&img);
    }
}

/* The IEND chunk's CRC is the fixed AE 42 60 82: checks the CRC-32 of the 16-bit writer. */
static void test_png16_crc(void) {
    char path[512];
    uint16_t px[4] = {0, 1000, 40000, 65535};
    CHECK_OK(p3d_png_write_u16(p3d_test_tmp_path("crc.png", path, sizeof path), 2, 2, 1, px));
    uint8_t *b;
    size_t n;
    CHECK_OK(p3d_file_read(path, 1 << 20, &b, &n));
    static const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    CHECK(n > 12 && memcmp(b + n - 12, iend, 12) == 0);
    free(b);
}

static void test_png8_write_roundtrip(void) {
    char path[512];
    uint8_t rgb[7 * 5 * 3], grey[7 * 5];
    for (int i = 0; i < 105; i++) rgb[i] = (uint8_t)(i * 37);
    for (int i = 0; i < 35; i++) grey[i] = (uint8_t)(i * 7);
    CHECK_OK(p3d_png_write_u8(p3d_test_tmp_path("rgb.png", path, sizeof path), 7, 5, 3, rgb));
    p3d_image img;
    CHECK_OK(p3d_image_read(path, 0, &img));
    CHECK(img.rgb && img.width == 7 && img.height == 5 && memcmp(img.rgb, rgb, sizeof rgb) == 0);
    p3d_image_free(&img);
    CHECK_OK(p3d_png_write_u8(p3d_test_tmp_path("grey.png", path, sizeof path), 7, 5, 1, grey));
    CHECK_OK(p3d_image_read(path, 0, &img));
    CHECK(img.rgb && img.is_grey && img.rgb[3 * 34 + 2] == grey[34]);
    p3d_image_free(&img);
    CHECK_FAILS(p3d_png_write_u8(path, 7, 5, 2, grey), P3D_ERR_INVALID_ARG, path);
    CHECK_FAILS(p3d_png_write_u8(p3d_test_tmp_path("no-such-dir/x.png", path, sizeof path), 7, 5, 1, grey), P3D_ERR_IO,
                "no-such-dir/x.png");
}

/* ---- EXIF orientation -------------------------------------------------------------------- */

/* ---- a minimal baseline JPEG encoder ------------------------------------------------------
 * stb_image_write's JPEG writer shifts a signed int past its range (undefined behaviour that the
 * sanitizer build stops at), so the tests make their JPEGs here: greyscale, 8x8 blocks of one flat
 * value each (DC coefficient only, quantiser 1), DC categories 0..11 all coded in 4 bits, the AC
 * table holding only end-of-block ("0"). */

typedef struct bitw {
    membuf *b;
    uint32_t acc;
    int n;
} bitw;

static void put_byte(membuf *b, uint8_t v) { mem_sink(b, &v, 1); }

static void put_bits(bitw *w, uint32_t v, int n) {
    for (int i = n - 1; i >= 0; i--) {
        w->acc = w->acc << 1 | ((v >> i) & 1u);
        if (++w->n < 8) continue;
        put_byte(w->b, (uint8_t)w->acc);
        if ((w->acc & 0xff) == 0xff) put_byte(w->b, 0); /* byte stuffing */
        w->acc = 0, w->n = 0;
    }
}

static void put_segment(membuf *b, uint8_t marker, const uint8_t *payload, size_t n) {
    uint8_t head[4] = {0xFF, marker, (uint8_t)((n + 2) >> 8), (uint8_t)(n + 2)};
    mem_sink(b, head, 4);
    mem_sink(b, (void *)payload, (int)n);
}

/* JPEG headers for a w x h greyscale image. */
static void jpeg_headers(membuf *b, int w, int h) {
    uint8_t dqt[65] = {0}, sof[9] = {8, (uint8_t)(h >> 8), (uint8_t)h, (uint8_t)(w >> 8), (uint8_t)w, 1, 1, 0x11, 0};
    uint8_t dc[1 + 16 + 12] = {0x00}, ac[1 + 16 + 1] = {0x10}, sos[6] = {1, 1, 0x00, 0, 63, 0};
    memset(dqt + 1, 1, 64);
    dc[1 + 3] = 12; /* twelve codes of length 4: categories 0..11 */
    for (int i = 0; i < 12; i++) dc[17 + i] = (uint8_t)i;
    ac[1] = 1; /* one code of length 1: symbol 0x00, end of block */
    put_byte(b, 0xFF), put_byte(b, 0xD8);
    put_segment(b, 0xDB, dqt, sizeof dqt);
    put_segment(b, 0xC0, sof, sizeof sof);
    put_segment(b, 0xC4, dc, sizeof dc);
    put_segment(b, 0xC4, ac, sizeof ac);
    put_segment(b, 0xDA, sos, sizeof sos);
}

/* A JPEG whose 8x8 block (bx, by) is the flat grey level(bx, by, user). */
static membuf make_jpeg(int w, int h, uint8_t (*level)(int bx, int by, void *user), void *user) {
    membuf b = {0};
    jpeg_headers(&b, w, h);
    bitw bw = {&b, 0, 0};
    int prev = 0;
    for (int by = 0; by < (h + 7) / 8; by++)
        for (int bx = 0; bx < (w + 7) / 8; bx++) {
            int dc = 8 * (level(bx, by, user) - 128), d = dc - prev, m = d < 0 ? -d : d, cat = 0;
            while (m >> cat) cat++;
            put_bits(&bw, (uint32_t)cat, 4);
            put_bits(&bw, (uint32_t)(d < 0 ? d + (1 << cat) - 1 : d), cat);
            put_bits(&bw, 0, 1); /* end of block */
            prev = dc;
        }
    put_bits(&bw, 0x7f, (8 - bw.n) % 8); /* pad with ones */
    put_byte(&b, 0xFF), put_byte(&b, 0xD9);
    return b;
}

static uint8_t halves(int bx, int by, void *user) {
    (void)by, (void)user;
    return bx < 2 ? 40 : 220;
}

static uint8_t noise_level(int bx, int by, void *user) {
    (void)user;
    return (uint8_t)(((uint32_t)(bx * 7919 + by * 104729) * 2654435761u) >> 24);
}

/* APP1 Exif segment with IFD0 = {0x0100 ImageWidth, 0x0112 Orientation}, in either byte order. */
static size_t make_app1(uint8_t *seg, int orientation, int little) {
    uint8_t t[64] = {0};
    size_t n = 0;
#define PUT16(v) (little ? (t[n] = (uint8_t)(v), t[n + 1] = (uint8_t)((v) >> 8)) : (t[n] = (uint8_t)((v) >> 8), t[n + 1] = (uint8_t)(v)), n += 2)
#define PUT32(v) (little ? (PUT16((v) & 0xffff), PUT16((v) >> 16)) : (PUT16((v) >> 16), PUT16((v) & 0xffff)))
    t[0] = t[1] = little ? 'I' : 'M';
    n = 2;
    PUT16(42);
    PUT32(8u);
    PUT16(2); /* two entries */
    PUT16(0x0100), PUT16(4), PUT32(1u), PUT32(32u);
    PUT16(0x0112), PUT16(3), PUT32(1u), PUT16(orientation), PUT16(0);
    PUT32(0u); /* no next IFD */
#undef PUT32
#undef PUT16
    size_t len = 2 + 6 + n;
    seg[0] = 0xFF, seg[1] = 0xE1, seg[2] = (uint8_t)(len >> 8), seg[3] = (uint8_t)len;
    memcpy(seg + 4, "Exif\0\0", 6);
    memcpy(seg + 10, t, n);
    return 2 + len;
}

/* The 32x16 JPEG (left half dark, right half bright) with the segment spliced in after SOI,
 * written to <tmpdir>/name. */
static const char *exif_jpeg(const char *name, int orientation, int little, char *path, size_t cap) {
    membuf j = make_jpeg(32, 16, halves, NULL);
    uint8_t seg[128];
    size_t s = make_app1(seg, orientation, little);
    uint8_t *out = (uint8_t *)malloc(j.n + s);
    memcpy(out, j.p, 2);
    memcpy(out + 2, seg, s);
    memcpy(out + 2 + s, j.p + 2, j.n - 2);
    p3d_test_tmp_file(name, out, j.n + s, path, cap);
    free(out);
    free(j.p);
    return path;
}

static int is_dark(const p3d_image *img, int x, int y) {
    const uint8_t *p = img->rgb + ((size_t)y * img->width + x) * 3;
    return p[0] >= 38 && p[0] <= 42 && p[1] == p[0] && p[2] == p[0];
}

static int is_bright(const p3d_image *img, int x, int y) {
    const uint8_t *p = img->rgb + ((size_t)y * img->width + x) * 3;
    return p[0] >= 218 && p[0] <= 222 && p[1] == p[0] && p[2] == p[0];
}

/* 6 (big-endian "MM"): rotate 90 clockwise to view: the stored left (dark) ends on top. */
static void test_exif_orientation_6(void) {
    char path[512];
    p3d_image img;
    CHECK_OK(p3d_image_read(exif_jpeg("o6.jpg", 6, 0, path, sizeof path), 0, &img));
    if (!img.rgb) return;
    CHECK(img.orientation == 6 && img.width == 16 && img.height == 32 && img.is_grey);
    CHECK(is_dark(&img, 8, 4) && is_dark(&img, 2, 12) && is_bright(&img, 8, 28) && is_bright(&img, 13, 20));
    p3d_image_free(&img);
}

/* 3 (little-endian "II"): rotate 180: dark ends on the right. */
static void test_exif_orientation_3(void) {
    char path[512];
    p3d_image img;
    CHECK_OK(p3d_image_read(exif_jpeg("o3.jpg", 3, 1, path, sizeof path), 0, &img));
    if (!img.rgb) return;
    CHECK(img.orientation == 3 && img.width == 32 && img.height == 16);
    CHECK(is_bright(&img, 4, 8) && is_dark(&img, 28, 8));
    p3d_image_free(&img);
}

/* All eight orientations on a 3x2 image whose pixels are numbered 0..5 (stored row-major). */
static void test_orient_all(void) {
    /* Display layouts (rows of stored indices) for orientations 1..8, as EXIF defines them. */
    static const int want[8][6] = {{0, 1, 2, 3, 4, 5}, {2, 1, 0, 5, 4, 3}, {5, 4, 3, 2, 1, 0}, {3, 4, 5, 0, 1, 2},
                                   {0, 3, 1, 4, 2, 5}, {3, 0, 4, 1, 5, 2}, {5, 2, 4, 1, 3, 0}, {2, 5, 1, 4, 0, 3}};
    for (int o = 1; o <= 8; o++) {
        p3d_image img = {3, 2, (uint8_t *)malloc(18), NULL, 3, 8, 0, 1};
        for (int i = 0; i < 18; i++) img.rgb[i] = (uint8_t)(i / 3);
        CHECK_OK(p3d_image_orient(&img, o));
        CHECK(img.width == (o >= 5 ? 2 : 3) && img.height == (o >= 5 ? 3 : 2));
        int bad = 0;
        for (int i = 0; i < 6; i++) bad += img.rgb[3 * i] != want[o - 1][i];
        CHECK_MSG(bad == 0, "orientation %d", o);
        p3d_image_free(&img);
    }
}

/* Malformed Exif blocks must give 1 without reading outside the buffer (the sanitizer build checks). */
static void test_exif_malformed(void) {
    uint8_t seg[128];
    size_t s = make_app1(seg, 6, 0);
    uint8_t buf[2 + 128 + 2];
    buf[0] = 0xFF, buf[1] = 0xD8;
    memcpy(buf + 2, seg, s);
    CHECK(p3d_exif_orientation(buf, 2 + s) == 6);
    for (size_t cut = 0; cut < 2 + s; cut++) { /* every truncation: no crash, 1 or (complete) 6 */
        int32_t o = p3d_exif_orientation(buf, cut);
        CHECK(o == 1);
    }
    uint8_t bad[sizeof buf];
    memcpy(bad, buf, 2 + s);
    bad[2 + 10 + 7] = 0xF0; /* IFD0 offset far beyond the segment */
    CHECK(p3d_exif_orientation(bad, 2 + s) == 1);
    memcpy(bad, buf, 2 + s);
    bad[2 + 10 + 8] = 0xFF, bad[2 + 10 + 9] = 0xFF; /* 65535 entries, none of them the orientation */
    bad[2 + 10 + 8 + 2 + 12 + 1] = 0x13;
    CHECK(p3d_exif_orientation(bad, 2 + s) == 1);
    memcpy(bad, buf, 2 + s);
    bad[2 + 10 + 8 + 2 + 12 + 9] = 9; /* orientation 9: out of range */
    CHECK(p3d_exif_orientation(bad, 2 + s) == 1);
    CHECK(p3d_exif_orientation(buf, 1) == 1 && p3d_exif_orientation(buf + 2, s) == 1);
}

/* ---- JPEG through libjpeg-turbo -------------------------------------------------------------- */

/* A w x h JPEG of the given colour space (JCS_RGB, stored as YCbCr 4:2:0, or JCS_CMYK, stored as
 * Adobe CMYK) holding a textured pattern, encoded in memory with libjpeg. */
static membuf encode_jpeg(int w, int h, J_COLOR_SPACE cs) {
    const int nc = cs == JCS_CMYK ? 4 : 3;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *out = NULL;
    unsigned long n = 0;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &n);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = nc;
    c.in_color_space = cs;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 85, TRUE);
    jpeg_start_compress(&c, TRUE);
    uint8_t *row = (uint8_t *)malloc((size_t)w * (size_t)nc);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++)
            for (int k = 0; k < nc; k++) row[x * nc + k] = (uint8_t)((x * (3 + k) + y * (5 - k) + ((x ^ y) & 7) * 9) & 255);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    membuf b = {out, (size_t)n, (size_t)n};
    return b;
}

/* The same bytes through libjpeg with every decompression default (what cv2.imread uses), output in
 * colour space cs (JCS_RGB or JCS_CMYK); (H, W, components), malloc'ed. */
static uint8_t *libjpeg_defaults(const membuf *b, J_COLOR_SPACE cs, int *w, int *h) {
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr e;
    d.err = jpeg_std_error(&e);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, b->p, (unsigned long)b->n);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = cs;
    jpeg_start_decompress(&d);
    *w = (int)d.output_width, *h = (int)d.output_height;
    const size_t stride = (size_t)d.output_width * (size_t)d.output_components;
    uint8_t *px = (uint8_t *)malloc(stride * d.output_height);
    while (d.output_scanline < d.output_height) {
        JSAMPROW r = px + (size_t)d.output_scanline * stride;
        jpeg_read_scanlines(&d, &r, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    return px;
}

/* A 4:2:0 colour JPEG decodes to exactly libjpeg's default output (islow IDCT, fancy upsampling). */
static void test_jpeg_colour_as_libjpeg(void) {
    membuf j = encode_jpeg(67, 45, JCS_RGB);
    char path[512];
    p3d_image img;
    CHECK_OK(p3d_image_read(p3d_test_tmp_file("colour.jpg", j.p, j.n, path, sizeof path), 0, &img));
    int w = 0, h = 0;
    uint8_t *ref = libjpeg_defaults(&j, JCS_RGB, &w, &h);
    CHECK(img.width == 67 && img.height == 45 && w == 67 && h == 45);
    CHECK(img.file_channels == 3 && !img.is_grey && img.file_bits == 8);
    if (img.rgb) CHECK(memcmp(img.rgb, ref, (size_t)w * (size_t)h * 3) == 0);
    free(ref);
    free(j.p);
    p3d_image_free(&img);
}

/* Adobe CMYK: libjpeg's CMYK samples through OpenCV's rule x = k - (255 - x) * k / 256 (c, m, y as
 * R, G, B). */
static void test_jpeg_cmyk(void) {
    membuf j = encode_jpeg(33, 21, JCS_CMYK);
    char path[512];
    p3d_image img;
    CHECK_OK(p3d_image_read(p3d_test_tmp_file("cmyk.jpg", j.p, j.n, path, sizeof path), 0, &img));
    int w = 0, h = 0;
    uint8_t *cmyk = libjpeg_defaults(&j, JCS_CMYK, &w, &h);
    CHECK(img.width == 33 && img.height == 21 && img.file_channels == 4 && !img.is_grey);
    size_t bad = 0;
    for (size_t i = 0; img.rgb && i < (size_t)w * (size_t)h; i++)
        for (int c = 0; c < 3; c++) {
            const int k = cmyk[4 * i + 3];
            bad += img.rgb[3 * i + (size_t)c] != (uint8_t)(k - (((255 - cmyk[4 * i + (size_t)c]) * k) >> 8));
        }
    CHECK_MSG(bad == 0, "%zu samples differ from OpenCV's CMYK rule", bad);
    free(cmyk);
    free(j.p);
    p3d_image_free(&img);
}

/* ---- malformed files --------------------------------------------------------------------- */

static void check_read_fails(const char *path, p3d_status want, const char *needle) {
    p3d_image img;
    CHECK_FAILS(p3d_image_read(path, 0, &img), want, path);
    CHECK_MSG(strstr(p3d_last_error(), needle) != NULL, "'%s' lacks '%s'", p3d_last_error(), needle);
    CHECK(img.rgb == NULL && img.width == 0);
}

static void test_missing_empty_wrong_magic(void) {
    char path[512];
    check_read_fails(p3d_test_tmp_path("does-not-exist.png", path, sizeof path), P3D_ERR_IO, "cannot open");
    check_read_fails(p3d_test_tmp_file("empty.jpg", "", 0, path, sizeof path), P3D_ERR_FORMAT, "empty");
    check_read_fails(p3d_test_tmp_file("text.png", "hello, world\n", 13, path, sizeof path), P3D_ERR_FORMAT, "unsupported");
    static const uint8_t gif[] = "GIF89a\x01\x00\x01\x00\x00\x00\x00;";
    check_read_fails(p3d_test_tmp_file("gif.png", gif, sizeof gif, path, sizeof path), P3D_ERR_FORMAT, "unsupported");
}

/* A noisy image so that cut-off files really lack data. */
static void noise_rgb(uint8_t *px, size_t n) {
    uint32_t s = 12345;
    for (size_t i = 0; i < n; i++) s = s * 1103515245u + 12345u, px[i] = (uint8_t)(s >> 23);
}

static void test_truncated(void) {
    static uint8_t px[48 * 40 * 3];
    noise_rgb(px, sizeof px);
    membuf png = {0}, jpg = make_jpeg(48, 40, noise_level, NULL);
    stbi_write_png_to_func(mem_sink, &png, 48, 40, 3, px, 48 * 3);
    char path[512];
    const size_t cuts[] = {9, 20, 33, 60};
    for (size_t i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "cut%zu.png", i);
        check_read_fails(p3d_test_tmp_file(name, png.p, png.n * cuts[i] / 100, path, sizeof path), P3D_ERR_FORMAT, "");
        snprintf(name, sizeof name, "cut%zu.jpg", i);
        check_read_fails(p3d_test_tmp_file(name, jpg.p, jpg.n * cuts[i] / 100, path, sizeof path), P3D_ERR_FORMAT, "");
    }
    check_read_fails(p3d_test_tmp_file("cut-end.jpg", jpg.p, jpg.n - 2, path, sizeof path), P3D_ERR_FORMAT, "truncated JPEG");
    free(png.p);
    free(jpg.p);
}

static void put_be(uint8_t *p, uint32_t v, int bytes) {
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

/* Header dimensions beyond the limits are refused before decoding. */
/* A DHT whose 16 code counts add up to more than 256: stb_image 2.27 wrote past its table when it
 * decoded JPEGs (tests/fuzz/fuzz_image/regress-dht-overflow.jpg is the fuzzer's case); libjpeg-turbo
 * refuses the table. */
static void test_huffman_overflow(void) {
    membuf jpg = make_jpeg(8, 8, halves, NULL);
    char path[512];
    int found = 0;
    for (size_t i = 2; i + 21 < jpg.n && !found; i++)
        if (jpg.p[i] == 0xFF && jpg.p[i + 1] == 0xC4) { /* DHT: length, class/id, 16 counts */
            for (size_t k = 0; k < 16; k++) jpg.p[i + 5 + k] = 17;
            found = 1;
        }
    CHECK(found);
    check_read_fails(p3d_test_tmp_file("dht.jpg", jpg.p, jpg.n, path, sizeof path), P3D_ERR_FORMAT, "Huffman table");
    free(jpg.p);
}

static void test_absurd_dimensions(void) {
    static uint8_t px[8 * 8 * 3];
    membuf png = {0}, jpg = make_jpeg(8, 8, halves, NULL);
    stbi_write_png_to_func(mem_sink, &png, 8, 8, 3, px, 24);
    char path[512];
    put_be(png.p + 16, 100000, 4); /* IHDR width */
    check_read_fails(p3d_test_tmp_file("wide.png", png.p, png.n, path, sizeof path), P3D_ERR_FORMAT, "a side larger");
    put_be(png.p + 16, 40000, 4), put_be(png.p + 20, 40000, 4); /* each side fine, 1.6e9 pixels */
    check_read_fails(p3d_test_tmp_file("huge.png", png.p, png.n, path, sizeof path), P3D_ERR_FORMAT, "(--max-pixels)");
    /* the limit is configurable: 63 pixels refuse the 8x8 photo, 64 take it */
    put_be(png.p + 16, 8, 4), put_be(png.p + 20, 8, 4);
    p3d_set_max_pixels(63);
    check_read_fails(p3d_test_tmp_file("8x8.png", png.p, png.n, path, sizeof path), P3D_ERR_FORMAT, "64 pixels, more than the limit of 63");
    p3d_set_max_pixels(64);
    p3d_image ok8;
    CHECK_OK(p3d_image_read(path, 0, &ok8));
    p3d_image_free(&ok8);
    p3d_set_max_pixels(P3D_DEFAULT_MAX_PIXELS);
    for (size_t i = 2; i + 9 < jpg.n; i++)
        if (jpg.p[i] == 0xFF && jpg.p[i + 1] == 0xC0) { /* SOF0: length, precision, height, width */
            put_be(jpg.p + i + 5, 65535, 2), put_be(jpg.p + i + 7, 65535, 2);
            break;
        }
    check_read_fails(p3d_test_tmp_file("huge.jpg", jpg.p, jpg.n, path, sizeof path), P3D_ERR_FORMAT, "(--max-pixels)");
    free(png.p);
    free(jpg.p);
}

int main(void) {
    RUN(test_columns_progressive_jpeg);
    RUN(test_moon_jpeg);
    RUN(test_rgb_pngs);
    RUN(test_moon_png_16bit);
    RUN(test_grey_png);
    RUN(test_png8_kinds);
    RUN(test_png16_kinds);
    RUN(test_png16_crc);
    RUN(test_png8_write_roundtrip);
    RUN(test_exif_orientation_6);
    RUN(test_exif_orientation_3);
    RUN(test_orient_all);
    RUN(test_exif_malformed);
    RUN(test_jpeg_colour_as_libjpeg);
    RUN(test_jpeg_cmyk);
    RUN(test_missing_empty_wrong_magic);
    RUN(test_truncated);
    RUN(test_absurd_dimensions);
    RUN(test_huffman_overflow);
    return p3d_test_finish();
}
