/* image_io.h - photo decoding (JPEG baseline + progressive, PNG 8/16-bit) and PNG writing.
 *
 * JPEG goes through libjpeg-turbo with OpenCV imread's decoder settings (accurate integer IDCT, fancy
 * upsampling; io/jpeg_decode.h), so the depth networks get the same samples as their cv2.imread-based
 * reference pipelines; PNG goes through stb_image. A decoded image is interleaved RGB uint8 (H, W, 3),
 * rows packed: alpha is dropped, grey is replicated into the three channels (is_grey remembers that),
 * 16-bit samples are reduced to 8 bits by v >> 8 (stb_image's rule). With P3D_IMAGE_KEEP_16BIT a 16-bit
 * PNG also keeps its full samples in rgb16 (H, W, 3). A JPEG's EXIF orientation (APP1 Exif, IFD0
 * tag 0x0112) is applied, so width/height and pixels are as the photo is meant to be viewed.
 *
 *   p3d_image img;
 *   P3D_TRY(p3d_image_read("photo.jpg", 0, &img));   // img.rgb[(y * img.width + x) * 3 + c]
 *   p3d_image_free(&img);
 *
 * Limits checked on the header, before any pixel memory is allocated: at most P3D_MAX_SIDE pixels per
 * side and the pixel limit in all (core/file_io.h: --max-pixels, default 2^28). Failures name the file
 * and the cause (the decoder's reason for corrupt or truncated data; "truncated or corrupt data" for
 * what stb_image calls outofdata, bad huffman code, ...). Writers go through a temporary file and
 * rename(); they take at most P3D_IMAGE_MAX_SIDE per side and P3D_IMAGE_MAX_PIXELS in all, whatever
 * the reading limit. */
#ifndef P3D_IMAGE_IO_H
#define P3D_IMAGE_IO_H

#include "core/p3d_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define P3D_IMAGE_MAX_SIDE 65535
#define P3D_IMAGE_MAX_PIXELS ((int64_t)1 << 28)
#define P3D_IMAGE_MAX_FILE_BYTES ((size_t)1 << 30)

/* p3d_image_read flags. */
#define P3D_IMAGE_KEEP_16BIT 1u /* also fill rgb16 when the file is a 16-bit PNG */

typedef struct p3d_image {
    int32_t width, height; /* as displayed, after the EXIF orientation */
    uint8_t *rgb;          /* (H, W, 3) RGB, malloc'ed */
    uint16_t *rgb16;       /* (H, W, 3) 16-bit samples, or NULL (see P3D_IMAGE_KEEP_16BIT) */
    int32_t file_channels; /* channels in the file: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA */
    int32_t file_bits;     /* bits per sample in the file: 8 or 16 */
    int32_t is_grey;       /* 1 when the file had no colour (1 or 2 channels) */
    int32_t orientation;   /* EXIF orientation that was applied, 1..8 (1 = none, and for PNG) */
} p3d_image;

/* Decodes a JPEG or PNG file into *out (zeroed on failure). flags: 0 or P3D_IMAGE_KEEP_16BIT. */
p3d_status p3d_image_read(const char *path, uint32_t flags, p3d_image *out);
void p3d_image_free(p3d_image *img);

/* The EXIF orientation (1..8) of a JPEG held in memory; 1 when there is none, it is malformed or
 * out of range, or the data is not a JPEG. Reads only inside [jpeg, jpeg + len). */
int32_t p3d_exif_orientation(const uint8_t *jpeg, size_t len);

/* Re-lays img (rgb and, when present, rgb16) as EXIF orientation o says the stored pixels are to be
 * viewed: 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse,
 * 8 rotate 90 counter-clockwise; 5..8 swap width and height. o = 1 changes nothing. */
p3d_status p3d_image_orient(p3d_image *img, int32_t o);

/* 8-bit PNG: data (H, W, channels) interleaved, rows packed; channels 1 (grey) or 3 (RGB). */
p3d_status p3d_png_write_u8(const char *path, int32_t width, int32_t height, int32_t channels,
                            const uint8_t *data);
/* 16-bit PNG: data (H, W, channels) in host byte order, rows packed; channels 1 (grey),
 * 2 (grey + alpha), 3 (RGB) or 4 (RGBA). Encoded here (stb_image_write has no 16-bit PNG): "Up"
 * filtered scanlines, deflated by stb's stbi_zlib_compress. */
p3d_status p3d_png_write_u16(const char *path, int32_t width, int32_t height, int32_t channels,
                             const uint16_t *data);

#ifdef __cplusplus
}
#endif
#endif
