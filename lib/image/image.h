/* image.h: decoding, encoding, graying and resizing 8-bit images.
 *
 * An image is (H, W, C) interleaved, row-major, C = 1 (gray) or 3 (RGB).
 * Decoders turn everything they accept into one of those two: gray+alpha
 * and RGBA lose the alpha channel, palettes are expanded (transparency
 * ignored), 16-bit PNG samples are reduced to their high byte, PNM samples
 * of another maxval are scaled as round(v * 255 / maxval). JPEGs are
 * decoded with libjpeg's defaults (islow IDCT, fancy upsampling, as
 * OpenCV's imread); CMYK/YCCK JPEGs are refused, and libjpeg's warnings
 * (truncated or corrupt data) are errors.
 *
 * Every failing call returns -1 with fer_error() naming the file and what
 * is wrong, and leaves the output image zeroed ({0, 0, 0, NULL}), so that
 * fer_image_free() is always safe on it. */
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
/* Most pixels (w * h) a decoder accepts, checked on the header before
 * anything is allocated: 100 megapixels, or $FER_MAX_PIXELS (1..2^30). A
 * 1 MB PNG can declare 32768 x 32768. */
#define FER_IMAGE_PIXELS_MAX 100000000LL

/* The pixel limit in force: 0 with *max set, or -1 when FER_MAX_PIXELS is
 * set but not a count in range (fer_error() says so). */
int fer_image_max_pixels(long long *max);

/* Allocates an image of the given size (pixels uninitialised); w, h > 0,
 * c 1 or 3. 0 or -1 (im zeroed). */
int fer_image_alloc(fer_image *im, int w, int h, int c);
/* Frees the pixels and zeroes im; safe on a zeroed image or NULL. */
void fer_image_free(fer_image *im);

/* Decodes a PNG, JPEG or PNM (P5/P6, also P2/P3) file chosen by its first
 * bytes, not its name; "-" reads stdin (whole, then decodes; messages say
 * "stdin"). Width and height must be 1..FER_IMAGE_DIM_MAX, and their
 * product at most the pixel limit (fer_image_max_pixels). Returns 0, or
 * -1 with fer_error() naming the file and what is wrong ("x.jpg: not a
 * PNG, JPEG or PNM image", "y.png: truncated PNG data", "z: empty file",
 * "c.jpg: CMYK JPEG not supported", "p.pgm: width 0"). Only the first
 * image of a file is read (bytes after a PNM frame are ignored). */
int fer_image_read(const char *path, fer_image *im);

/* The same from memory; name is used in messages only. */
int fer_image_read_mem(const void *buf, size_t n, const char *name, fer_image *im);

/* Reads one PNM image (P5 or P6, maxval 1..65535) from a stream of
 * concatenated frames, as ffmpeg's image2pipe writes them; whitespace
 * between frames is skipped. Reads exactly one frame's bytes (no
 * read-ahead). Returns 1 with an image, 0 at a clean end of stream (EOF
 * before a frame starts), -1 on error (name in the message). */
int fer_image_read_pnm_stream(FILE *f, const char *name, fer_image *im);

/* Encoders (8-bit gray or RGB, as the image has 1 or 3 channels). The file
 * is written whole to a temporary file and renamed into place (see
 * outfile.h); "-" writes stdout. 0 or -1 (message names path); a failure
 * leaves no file behind. quality is 1..100. */
int fer_image_write_png(const char *path, const fer_image *im);
int fer_image_write_jpeg(const char *path, const fer_image *im, int quality);
int fer_image_write_pnm(const char *path, const fer_image *im);  /* P5 or P6, maxval 255 */
/* Chooses the encoder by the name's extension, any case (.png .jpg .jpeg
 * .pgm .ppm .pnm; JPEG at FER_IMAGE_JPEG_QUALITY); -1 for another. The
 * PNM type follows the channels, not the extension. */
int fer_image_write(const char *path, const fer_image *im);
#define FER_IMAGE_JPEG_QUALITY 95

/* Encoders to a FILE the caller owns (for pipes); 0 or -1, with messages
 * starting "PNG: ", "JPEG: ", "PNM: ". The caller checks fflush/fclose. */
int fer_image_write_png_file(FILE *f, const fer_image *im);
int fer_image_write_jpeg_file(FILE *f, const fer_image *im, int quality);
int fer_image_write_pnm_file(FILE *f, const fer_image *im);

/* 8-bit gray with BT.601 weights in OpenCV's 15-bit fixed point:
 * (9798 R + 19235 G + 3735 B + 16384) >> 15, into out (allocated here).
 * A gray image is copied. 0 or -1. */
int fer_image_to_gray(const fer_image *in, fer_image *out);

/* Resizes in to (w, h) with the same channels into out (allocated here;
 * w, h > 0). Bilinear samples at pixel centres, sx = (x + 0.5) * in->w / w
 * - 0.5, clamped to the edge pixels (OpenCV's INTER_LINEAR), with 11-bit
 * weights: within 1 level of the exact result. Area averages the source
 * box [x * in->w / w, (x + 1) * in->w / w) with fractional weights
 * (INTER_AREA): for integer factors exactly the block mean, rounded. Meant
 * for shrinking; enlarging gives a nearest-like result. The same size
 * copies. 0 or -1 (out zeroed). */
int fer_image_resize_bilinear(const fer_image *in, int w, int h, fer_image *out);
int fer_image_resize_area(const fer_image *in, int w, int h, fer_image *out);

/* Copies the rectangle (x, y, w, h) of in, which may extend past the
 * borders or lie wholly outside (replicating the edge pixels), into out
 * (allocated here; w, h > 0). 0 or -1 (out zeroed). */
int fer_image_crop(const fer_image *in, int x, int y, int w, int h, fer_image *out);

#endif
