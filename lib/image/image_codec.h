/* image_codec.h: the per-format decoders behind fer_image_read_mem()
 * (internal to lib/; tools use image.h).
 *
 * Each decodes the whole buffer buf[0..n) into *im (1 or 3 channels,
 * 8-bit, see image.h). On failure *im is left zeroed and fer_error() reads
 * "name: what is wrong". n > 0 and the magic has been checked by the
 * caller. */
#ifndef FER_IMAGE_CODEC_H
#define FER_IMAGE_CODEC_H

#include "image.h"

int fer_image_decode_png(const uint8_t *buf, size_t n, const char *name, fer_image *im);
int fer_image_decode_jpeg(const uint8_t *buf, size_t n, const char *name, fer_image *im);
int fer_image_decode_pnm(const uint8_t *buf, size_t n, const char *name, fer_image *im);

/* Checks a decoded header's size, 1..FER_IMAGE_DIM_MAX each way; 0, or -1
 * with "name: width 0" style messages. */
int fer_image_check_dims(const char *name, long long w, long long h);

/* Checks that im is a valid 1- or 3-channel image before encoding it;
 * 0, or -1 with "name: not a valid ..." */
int fer_image_check(const fer_image *im, const char *name);

#endif
