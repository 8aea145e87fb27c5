/* jpeg_decode.h - JPEG decoding with libjpeg-turbo's libjpeg API, set up as OpenCV's imread sets it
 * up (modules/imgcodecs/src/grfmt_jpeg.cpp leaves the library's defaults): the accurate integer IDCT
 * (JDCT_ISLOW), "fancy" (triangle-filter) chroma upsampling, no colour quantization, output RGB. The
 * depth networks' reference pipelines read photos with cv2.imread, so this is what makes their input
 * the same sample for sample. Grey JPEGs are replicated into RGB; Adobe CMYK / YCCK files are
 * converted with OpenCV's rule (c = k - (255 - c) * k / 256, ... as R, G, B). EXIF orientation is
 * the caller's (io/image_io.c).
 *
 *   p3d_jpeg_image j;
 *   P3D_TRY(p3d_jpeg_decode("a.jpg", buf, len, 65535, 1 << 28, &j));  // j.rgb (H, W, 3), malloc'ed
 *   free(j.rgb);
 *
 * Failures name the file and libjpeg's own message. Warnings (e.g. extraneous bytes before a marker)
 * are tolerated as OpenCV tolerates them; truncation is the caller's check.
 *
 * Known limit: Tiefenrausch's released outputs were made with conda's OpenCV 3.4.2 linked to IJG
 * libjpeg 9d (the repository's requirements.txt). libjpeg 7+ does "fancy" upsampling of 2x-subsampled
 * chroma by DCT scaling (a 16x16 IDCT of the chroma block), while libjpeg-turbo keeps libjpeg 6b's
 * triangle filter; both decode 4:4:4 files (columns.jpg) identically, but on 4:2:0 / 4:2:2 photos
 * their chroma samples can differ. IJG libjpeg 9 is not packaged in Debian 12, so this is not checked
 * here. */
#ifndef P3D_JPEG_DECODE_H
#define P3D_JPEG_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/p3d_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct p3d_jpeg_image {
    int32_t width, height;  /* as stored (before any EXIF orientation) */
    int32_t components;     /* in the file: 1 grey, 3 YCbCr / RGB, 4 CMYK / YCCK */
    uint8_t *rgb;           /* (H, W, 3) RGB, malloc'ed */
} p3d_jpeg_image;

/* Decodes the JPEG held in buf[0, len). The header's size is checked against max_side (per side) and
 * max_pixels before the pixels are allocated. path only names the file in messages. */
p3d_status p3d_jpeg_decode(const char *path, const uint8_t *buf, size_t len, int64_t max_side,
                           int64_t max_pixels, p3d_jpeg_image *out);

#ifdef __cplusplus
}
#endif
#endif
