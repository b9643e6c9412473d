/* augment.h: changes to training images (8-bit, planar c x h x w), the one
 * implementation of each transform, shared by fer-augment (copies written
 * to a data set) and fer-train (drawn afresh for every batch).
 *
 * Geometry (augment.c) resamples bilinearly and clamps source coordinates
 * to the border, so the edge rows and columns are repeated into any space
 * a transform leaves behind (no black frame). Photometric changes and
 * erasing (augment_photo.c) work on the bytes in place. Unless said
 * otherwise src and dst must not overlap. */
#ifndef FER_AUGMENT_H
#define FER_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "augment_px.h"
#include "rng.h"

/* Mirrors n images (n, c, h, w) left-right into dst (may equal src). */
void fer_augment_mirror(const uint8_t *src, size_t n, int c, int h, int w, uint8_t *dst);

/* Translates by (dx, dy) pixels: dst(y, x) = src(y - dy, x - dx), with
 * source coordinates clamped to the image. */
void fer_augment_shift(const uint8_t *src, int c, int h, int w, int dx, int dy, uint8_t *dst);

/* Rotates by deg degrees (counter-clockwise as seen) about the centre
 * ((w-1)/2, (h-1)/2), then translates by (dx, dy) pixels: exactly
 * fer_augment_affine with scale 1 (and fer_augment_shift for deg 0 and whole-pixel
 * shifts). */
void fer_augment_rotate_shift(const uint8_t *src, int c, int h, int w, double deg, double dx, double dy,
                      uint8_t *dst);

/* Scales by `scale` (> 0; above 1 zooms in) and rotates by deg degrees
 * (counter-clockwise as seen), both about the centre, then translates by
 * (dx, dy) pixels, in one bilinear resampling: dst(p) = src(q) where
 * p = centre + scale R(deg) (q - centre) + (dx, dy). Scale 1 with deg 0
 * and whole-pixel shifts copies pixels exactly. */
void fer_augment_affine(const uint8_t *src, int c, int h, int w, double deg, double scale,
                        double dx, double dy, uint8_t *dst);

/* Resizes the window of cw x ch pixels at (x0, y0) (inside the image) back
 * to the whole w x h, bilinearly, pixel centres aligned (as PyTorch's
 * align_corners=False): dst(y, x) = src(y0 + (y + 0.5) ch / h - 0.5,
 * x0 + (x + 0.5) cw / w - 0.5), coordinates clamped to the window, so
 * nothing outside it shows. The whole image as window copies it. */
void fer_augment_crop(const uint8_t *src, int c, int h, int w, int x0, int y0, int cw, int ch,
                      uint8_t *dst);

/* Brightness: px = clamp(round(f px)), f >= 0, over n bytes (src may equal
 * dst). f 1 changes nothing, 0 gives black. */
void fer_augment_brightness(const uint8_t *src, size_t n, double f, uint8_t *dst);

/* Contrast about the image's mean m (of all its n bytes):
 * px = clamp(round(f px + (1 - f) m)), f >= 0 (src may equal dst). f 1
 * changes nothing, 0 gives a flat image of the rounded mean. As
 * torchvision's adjust_contrast, except that it rounds where torchvision
 * truncates uint8. */
void fer_augment_contrast(const uint8_t *src, size_t n, double f, uint8_t *dst);

/* Fills the ew x eh rectangle at (x0, y0) of every channel of img (in
 * place) with random bytes, uniform in 0..255, drawn from rng. The
 * rectangle must lie inside the image. */
void fer_augment_erase(uint8_t *img, int c, int h, int w, int x0, int y0, int ew, int eh,
                       fer_rng *rng);

/* The random transforms of one augmented copy. A zeroed struct is
 * "nothing": every field off. */
typedef struct fer_augment_opts {
    int flip;                   /* mirror with probability 1/2 */
    int shift;                  /* whole pixels, uniform in -shift..shift on each axis */
    double rot_lo, rot_hi;      /* degrees, uniform in [lo, hi]; off when both 0 */
    double scale_lo, scale_hi;  /* zoom factor, uniform in [lo, hi]; off when lo is 0 */
    int crop;                   /* a (w-2 crop) x (h-2 crop) window at a random place,
                                   resized back; at least 1x1 */
    double brightness;          /* factor uniform in [max(0, 1-b), 1+b]; off when 0 */
    double contrast;            /* factor uniform in [max(0, 1-c), 1+c]; off when 0 */
    double erase;               /* probability of erasing a rectangle; off when 0 */
} fer_augment_opts;

/* Whether any transform of o is on. */
int fer_augment_any(const fer_augment_opts *o);

/* One random variant of src into dst; tmp is scratch of c h w bytes.
 * Draws from rng only for the transforms that are on, in this order:
 * shift (dx, then dy, by fer_rng_below), rotation (one fer_rng_float),
 * flip (the top bit of one fer_rng_u64), scale, crop (x offset, then y),
 * brightness, contrast, erase; the first three as fer-train has always
 * drawn them, so that its runs without the later ones repeat. Applied in
 * this order: shift, rotation and scale in one resampling (fer_augment_shift when
 * there is neither rotation nor scale), crop, flip, brightness, contrast,
 * erase. An erase (random erasing, Zhong et al. 2017) covers a rectangle
 * of 2% to 33% of the image (uniform) with aspect ratio h/w between 0.3
 * and 3.3 (uniform in its logarithm), at a uniform place; when 10 draws
 * give no rectangle that fits, nothing is erased, as in torchvision.
 * fer_augment_draw and then fer_augment_apply. */
void fer_augment_random(const fer_augment_opts *o, const uint8_t *src, int c, int h, int w,
                        fer_rng *rng, uint8_t *dst, uint8_t *tmp);

/* The draws of fer_augment_random without the pixels: what o gives for
 * one c x h x w copy from rng, in p, which fer_augment_apply
 * (augment_px.h) or a backend's augment_batch then applies. Draws what
 * fer_augment_random draws and leaves rng where it leaves it, erased
 * bytes included (p->erase_rng is the state they start from). */
void fer_augment_draw(const fer_augment_opts *o, int c, int h, int w, fer_rng *rng,
                      fer_augment_params *p);

/* Seeds r for copy `copy` of image `index` from `seed`: every (seed, index,
 * copy) has its own stream, so images can be augmented in any order, on
 * any number of threads, with the same result. */
void fer_augment_rng(fer_rng *r, uint64_t seed, uint64_t index, uint64_t copy);

#endif
