/* image.h: decoding, encoding, graying and resizing 8-bit images.
 *
 * An image is (H, W, C) interleaved, row-major, C = 1 (gray) or 3 (RGB).
 * Decoders turn everything they accept into one of those two: gray+alpha
 * and RGBA lose the alpha channel, palettes are expanded, 16-bit samples
 * are reduced to their high byte. */
#ifndef FER_IMAGE_H
#define FER_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct fer_image {
    int w, h, c;            /* width, height, channels (1 or 3) */
    uint8_t *px;            /* h*w*c bytes, malloc'd, owned by the image */
} fer_image;

/* Largest width or height accepted from a file, against absurd headers. */
#define FER_IMAGE_DIM_MAX 32768

/* Allocates an image of the given size (pixels uninitialised). 0 or -1. */
int fer_image_alloc(fer_image *im, int w, int h, int c);
void fer_image_free(fer_image *im);

/* Decodes a PNG, JPEG or PNM (P5/P6, also P2/P3) file chosen by its first
 * bytes, not its name; "-" reads stdin. Returns 0, or -1 with fer_error()
 * naming the file and what is wrong ("x.jpg: not a PNG, JPEG or PNM
 * image", "y.png: truncated"). */
int fer_image_read(const char *path, fer_image *im);

/* The same from memory; name is used in messages only. */
int fer_image_read_mem(const void *buf, size_t n, const char *name, fer_image *im);

/* Reads one PNM image (P5 or P6, maxval <= 255... 65535) from a stream of
 * concatenated frames, as ffmpeg's image2pipe writes them. Returns 1 with
 * an image, 0 at a clean end of stream, -1 on error. */
int fer_image_read_pnm_stream(FILE *f, const char *name, fer_image *im);

/* Encoders. The file is written whole to a temporary file and renamed into
 * place (see outfile.h); "-" writes stdout. 0 or -1. */
int fer_image_write_png(const char *path, const fer_image *im);
int fer_image_write_jpeg(const char *path, const fer_image *im, int quality);
int fer_image_write_pnm(const char *path, const fer_image *im);  /* P5 or P6 */
/* Chooses the encoder by the name's extension (.png .jpg .jpeg .pgm .ppm
 * .pnm); -1 for another. */
int fer_image_write(const char *path, const fer_image *im);

/* Encoders to a FILE the caller owns (for pipes); 0 or -1. */
int fer_image_write_png_file(FILE *f, const fer_image *im);
int fer_image_write_jpeg_file(FILE *f, const fer_image *im, int quality);

/* 8-bit gray with BT.601 weights in OpenCV's 15-bit fixed point:
 * (9798 R + 19235 G + 3735 B + 16384) >> 15. A gray image is copied. */
int fer_image_to_gray(const fer_image *in, fer_image *out);

/* Resizes to (w, h) with the same channels. Bilinear samples at pixel
 * centres (like OpenCV's INTER_LINEAR); area averages the covered source
 * pixels with fractional weights (INTER_AREA), for shrinking. 0 or -1. */
int fer_image_resize_bilinear(const fer_image *in, int w, int h, fer_image *out);
int fer_image_resize_area(const fer_image *in, int w, int h, fer_image *out);

/* Copies the rectangle (x, y, w, h), which may extend past the borders
 * (replicating the edge pixels), into out. 0 or -1. */
int fer_image_crop(const fer_image *in, int x, int y, int w, int h, fer_image *out);

#endif
