/* image_codec.h - images encoded to and decoded from memory: the textures embedded in GLB files
 * (JPEG through libjpeg-turbo, PNG through stb_image_write; decoding through stb_image). Photos read
 * from files go through image_io.h, which also applies EXIF orientation and the size limits. */
#ifndef P3D_IMAGE_CODEC_H
#define P3D_IMAGE_CODEC_H

#include <stddef.h>

#include "core/p3d_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum p3d_image_codec {
    P3D_CODEC_JPEG = 0, /* baseline, 4:4:4 (no chroma subsampling), accurate DCT */
    P3D_CODEC_PNG = 1,
} p3d_image_codec;

/* rgb (h, w, 3) -> *out (malloc'ed, *len bytes). quality 1..100 for JPEG (ignored for PNG).
 * what names the image in messages. */
p3d_status p3d_image_encode(const char *what, const uint8_t *rgb, int32_t w, int32_t h, p3d_image_codec codec,
                            int32_t quality, uint8_t **out, size_t *len);

/* A JPEG or PNG in memory -> *rgb (malloc'ed, (h, w, 3)). Sides above max_side are refused before
 * decoding. P3D_ERR_FORMAT naming what for anything else. */
p3d_status p3d_image_decode_rgb(const char *what, const uint8_t *data, size_t len, int32_t max_side, uint8_t **rgb,
                                int32_t *w, int32_t *h);

#ifdef __cplusplus
}
#endif
#endif
