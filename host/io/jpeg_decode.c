/* jpeg_decode.c - JPEG -> RGB8 through libjpeg-turbo, with OpenCV imread's decoder settings. */
#include "io/jpeg_decode.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

/* libjpeg reports fatal errors through error_exit, which must not return: jump back to the caller
 * with the library's message. */
typedef struct jpeg_err {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_err_exit(j_common_ptr cinfo) {
    jpeg_err *e = (jpeg_err *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->message);
    longjmp(e->jump, 1);
}

/* Warnings (level -1) and trace messages are not printed; decoding goes on, as in OpenCV. */
static void jpeg_err_quiet(j_common_ptr cinfo, int level) {
    (void)cinfo;
    (void)level;
}

/* OpenCV's icvCvt_CMYK2BGR_8u_C4C3R on the Adobe (inverted) CMYK samples libjpeg returns:
 * x = k - ((255 - x) * k >> 8) for x in c, m, y, stored as R, G, B. */
static void cmyk_to_rgb(const uint8_t *cmyk, uint8_t *rgb, int32_t n) {
    for (int32_t i = 0; i < n; i++, cmyk += 4, rgb += 3) {
        const int32_t k = cmyk[3];
        for (int c = 0; c < 3; c++) rgb[c] = (uint8_t)(k - (((255 - cmyk[c]) * k) >> 8));
    }
}

/* Everything that touches the decompressor, between setjmp and jpeg_destroy_decompress. Locals the
 * error path needs live in *out / *row (not automatic variables changed after setjmp). */
static p3d_status jpeg_run(const char *path, const uint8_t *buf, size_t len, int64_t max_side, int64_t max_pixels,
                           p3d_jpeg_image *out, uint8_t **row) {
    struct jpeg_decompress_struct cinfo;
    jpeg_err err;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = jpeg_err_exit;
    err.pub.emit_message = jpeg_err_quiet;
    err.message[0] = '\0';
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return p3d_fail(P3D_ERR_FORMAT, "%s: cannot decode the JPEG: %s", path, err.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, buf, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    const int64_t w = cinfo.image_width, h = cinfo.image_height;
    if (w < 1 || h < 1 || w > max_side || h > max_side || w * h > max_pixels) {
        jpeg_destroy_decompress(&cinfo);
        return p3d_fail(P3D_ERR_FORMAT, "%s: absurd image dimensions %lldx%lld (limits: %lld per side, %lld pixels)",
                        path, (long long)w, (long long)h, (long long)max_side, (long long)max_pixels);
    }
    const int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    out->components = cinfo.num_components;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    /* the library's defaults, stated: what cv2.imread decodes with */
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    cinfo.quantize_colors = FALSE;
    cinfo.scale_num = cinfo.scale_denom = 1;
    jpeg_start_decompress(&cinfo);
    if ((int64_t)cinfo.output_width != w || (int64_t)cinfo.output_height != h || cinfo.output_components != (cmyk ? 4 : 3)) {
        jpeg_destroy_decompress(&cinfo);
        return p3d_fail(P3D_ERR_FORMAT, "%s: decoder output %ux%u x %d differs from the header's %lldx%lld", path,
                        cinfo.output_width, cinfo.output_height, cinfo.output_components, (long long)w, (long long)h);
    }
    const size_t n = (size_t)w * (size_t)h * 3;
    out->rgb = (uint8_t *)malloc(n);
    if (cmyk) *row = (uint8_t *)malloc((size_t)w * 4);
    if (!out->rgb || (cmyk && !*row)) {
        jpeg_destroy_decompress(&cinfo);
        return p3d_fail(P3D_ERR_OOM, "%s: out of memory for a %lldx%lld image", path, (long long)w, (long long)h);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *dst = out->rgb + (size_t)cinfo.output_scanline * (size_t)w * 3;
        JSAMPROW r = cmyk ? *row : dst;
        if (jpeg_read_scanlines(&cinfo, &r, 1) != 1) break;
        if (cmyk) cmyk_to_rgb(*row, dst, (int32_t)w);
    }
    if (cinfo.output_scanline < cinfo.output_height) {
        jpeg_destroy_decompress(&cinfo);
        return p3d_fail(P3D_ERR_FORMAT, "%s: the JPEG data ends after %u of %u rows", path, cinfo.output_scanline,
                        cinfo.output_height);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    out->width = (int32_t)w;
    out->height = (int32_t)h;
    return P3D_OK;
}

p3d_status p3d_jpeg_decode(const char *path, const uint8_t *buf, size_t len, int64_t max_side, int64_t max_pixels,
                           p3d_jpeg_image *out) {
    memset(out, 0, sizeof *out);
    uint8_t *row = NULL;
    p3d_status st = jpeg_run(path, buf, len, max_side, max_pixels, out, &row);
    free(row);
    if (st != P3D_OK) {
        free(out->rgb);
        memset(out, 0, sizeof *out);
    }
    return st;
}
