/* augment.h: random changes to training images (8-bit, planar). */
#ifndef FER_AUGMENT_H
#define FER_AUGMENT_H

#include <stdint.h>

/* Translates one c x h x w image by (dx, dy) pixels: dst(y, x) =
 * src(y - dy, x - dx), where coordinates outside the image are clamped to
 * its border (the edge rows and columns are repeated, so no black frame
 * appears). src and dst must not overlap. */
void fer_shift(const uint8_t *src, int c, int h, int w, int dx, int dy, uint8_t *dst);

/* Rotates one c x h x w image by deg degrees (counter-clockwise as seen)
 * about its centre and then translates it by (dx, dy) pixels, sampling
 * bilinearly with coordinates clamped to the border (as fer_shift, which
 * this equals for deg = 0 and whole-pixel shifts). src and dst must not
 * overlap. */
void fer_rotate_shift(const uint8_t *src, int c, int h, int w, double deg, double dx, double dy,
                      uint8_t *dst);

#endif
