/* image_codec.c - in-memory image encoding and decoding (image_codec.h). stb_image_write's JPEG
 * writer is not used (it shifts a signed int out of range, which the sanitizer build rejects), nor
 * stb_image's JPEG reader (hostile Huffman tables overflow it): JPEG goes through libjpeg-turbo both
 * ways. PNG goes through stb. */
#include "io/image_codec.h"

#include "core/file_io.h"
#include "io/jpeg_decode.h"

#include <stdio.h> /* before jpeglib.h, which uses FILE */

#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>
#include <stb_image_write.h>

typedef struct jpeg_fail {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jpeg_fail;

static void jpeg_fail_exit(j_common_ptr cinfo) {
    jpeg_fail *f = (jpeg_fail *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, f->msg);
    longjmp(f->jump, 1);
}

static p3d_status encode_jpeg(const char *what, const uint8_t *rgb, int32_t w, int32_t h, int32_t quality,
                              uint8_t **out, size_t *len) {
    struct jpeg_compress_struct c;
    jpeg_fail err;
    unsigned char *buf = NULL;
    unsigned long n = 0;
    memset(&c, 0, sizeof c);
    c.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_fail_exit;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&c);
        free(buf);
        return p3d_fail(P3D_ERR_IO, "%s: JPEG encoding failed: %s", what, err.msg);
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, &n);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    /* 4:4:4: no chroma subsampling, so a texture atlas keeps each chart's colours to the texel. */
    for (int k = 0; k < c.num_components; k++) c.comp_info[k].h_samp_factor = c.comp_info[k].v_samp_factor = 1;
    c.dct_method = JDCT_ISLOW;
    /* Huffman tables fitted to the image: a few percent smaller, the same pixels. */
    c.optimize_coding = TRUE;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * (size_t)w * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *out = buf;
    *len = (size_t)n;
    return P3D_OK;
}

typedef struct mem_sink {
    uint8_t *data;
    size_t len, cap;
    int failed;
} mem_sink;

static void mem_put(void *user, void *bytes, int n) {
    mem_sink *s = (mem_sink *)user;
    if (s->failed || n <= 0) return;
    if (s->len + (size_t)n > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1 << 16;
        while (cap < s->len + (size_t)n) cap *= 2;
        uint8_t *d = (uint8_t *)realloc(s->data, cap);
        if (!d) {
            s->failed = 1;
            return;
        }
        s->data = d;
        s->cap = cap;
    }
    memcpy(s->data + s->len, bytes, (size_t)n);
    s->len += (size_t)n;
}

p3d_status p3d_image_encode(const char *what, const uint8_t *rgb, int32_t w, int32_t h, p3d_image_codec codec,
                            int32_t quality, uint8_t **out, size_t *len) {
    *out = NULL;
    *len = 0;
    if (w <= 0 || h <= 0 || w > 65535 || h > 65535 || (codec == P3D_CODEC_JPEG && (quality < 1 || quality > 100)))
        return p3d_fail(P3D_ERR_INVALID_ARG, "%s: cannot encode a %dx%d image at quality %d", what, (int)w, (int)h,
                        (int)quality);
    if (codec == P3D_CODEC_JPEG) return encode_jpeg(what, rgb, w, h, quality, out, len);
    mem_sink s = {NULL, 0, 0, 0};
    if (!stbi_write_png_to_func(mem_put, &s, w, h, 3, rgb, w * 3) || s.failed) {
        free(s.data);
        return p3d_fail(P3D_ERR_OOM, "%s: out of memory encoding a %dx%d PNG", what, (int)w, (int)h);
    }
    *out = s.data;
    *len = s.len;
    return P3D_OK;
}

p3d_status p3d_image_decode_rgb(const char *what, const uint8_t *data, size_t len, int32_t max_side, uint8_t **rgb,
                                int32_t *w, int32_t *h) {
    *rgb = NULL;
    /* JPEG through libjpeg-turbo, as photos are read (io/jpeg_decode.h): stb_image's JPEG decoder
     * overflows its Huffman tables on hostile files (found by fuzzing a GLB's embedded atlas). */
    if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) {
        p3d_jpeg_image j;
        P3D_TRY(p3d_jpeg_decode(what, data, len, max_side, p3d_max_pixels(), &j));
        *rgb = j.rgb;
        *w = j.width;
        *h = j.height;
        return P3D_OK;
    }
    int x = 0, y = 0, comp = 0;
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (len < 8 || memcmp(data, png_sig, 8) != 0 || len > (size_t)INT32_MAX ||
        !stbi_info_from_memory(data, (int)len, &x, &y, &comp))
        return p3d_fail(P3D_ERR_FORMAT, "%s: not a JPEG or PNG image", what);
    if (x <= 0 || y <= 0 || x > max_side || y > max_side)
        return p3d_fail(P3D_ERR_FORMAT, "%s: image of %dx%d is larger than %dx%d", what, x, y, (int)max_side,
                        (int)max_side);
    unsigned char *px = stbi_load_from_memory(data, (int)len, &x, &y, &comp, 3);
    if (!px) return p3d_fail(P3D_ERR_FORMAT, "%s: truncated or corrupt image (%s)", what, stbi_failure_reason());
    /* stb's buffer goes to the caller, who frees it with free(): copy it (stbi_image_free is free()
     * by default, but that is stb's business). */
    const size_t n = (size_t)x * (size_t)y * 3;
    *rgb = (uint8_t *)malloc(n);
    if (*rgb) memcpy(*rgb, px, n);
    stbi_image_free(px);
    if (!*rgb) return p3d_fail(P3D_ERR_OOM, "%s: out of memory for a %dx%d image", what, x, y);
    *w = x;
    *h = y;
    return P3D_OK;
}
