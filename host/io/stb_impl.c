/* stb_impl.c - the one translation unit that compiles stb_image (PNG decoding only: its JPEG decoder
 * overflows its Huffman tables on hostile files, so JPEG goes through libjpeg-turbo everywhere) and
 * stb_image_write (8-bit PNG encoding and the zlib compressor of the 16-bit PNG writer; its JPEG
 * writer is not used: it shifts a signed int out of range, which the sanitizer build rejects).
 * Third-party code: its own warnings are silenced here and nowhere else. */
#include <stddef.h>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_NO_STDIO /* every decode goes through memory the caller has read and size-checked */
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_RECT_PACK_IMPLEMENTATION /* the compact mesh's atlas (host/mesh/mesh_compact.c) */
#define STBI_WRITE_NO_STDIO /* writes go through memory + p3d_file_write_atomic */

/* Defined by stb_image_write but not declared by its header (image_io.c declares it too). */
unsigned char *stbi_zlib_compress(unsigned char *data, int data_len, int *out_len, int quality);

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb_image.h>
#include <stb_image_write.h>
#include <stb_rect_pack.h>
#pragma GCC diagnostic pop
