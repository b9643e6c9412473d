/* augment_px.h: the arithmetic of the augmentation transforms (image/
 * augment.h), output pixel by output pixel, as inline functions that the
 * CPU (lib/image's transforms and fer_augment_apply below, which the CPU
 * backend's augment_batch runs) and the CUDA kernel (cuda/augment.cu)
 * compile from this one source, so that both make the same bytes. And
 * fer_augment_params: one copy's drawn transform, which lib/image's
 * fer_augment_draw draws on the host (the draws take cos, sin, exp and
 * log, whose libm and CUDA versions differ in the last bit now and then;
 * everything here is exact on both).
 *
 * Here because three layers need it (backend.h's op, the CPU and the CUDA
 * backends, lib/image) and base is the one they all may include; like
 * rng_key.h, it holds formulas, not policy.
 *
 * Exactness: every floating-point step is one IEEE operation rounded to
 * nearest, in the order this source gives. Products and sums go through
 * fer_px_mul/_add/_sub/_div: on a GPU __dmul_rn, __dadd_rn, ... (and
 * __fmul_rn, __fsub_rn in float), which nvcc never fuses into an FMA (it
 * fuses a plain a * b + c by default); on the host the plain operators,
 * each in a function of its own, which a compiler may fuse only within
 * one expression (clang's default) or under -ffp-contract=fast (gcc's
 * default outside ISO C; fer's C is -std=c11 and the emulator's C++
 * -ffp-contract=off). Conversions to int and to bytes truncate values
 * >= 0 on both, and sums of bytes are integers. */
#ifndef FER_AUGMENT_PX_H
#define FER_AUGMENT_PX_H

#include <stddef.h>
#include <stdint.h>

#include "rng_key.h"

/* One copy's transform, as fer_augment_draw (augment.h) draws it from the
 * options and a generator; every number a pixel needs, nothing random.
 * Applied in this order: geometry, crop, flip, brightness, contrast,
 * erase. */
typedef struct fer_augment_params {
    uint64_t erase_rng[4];  /* the xoshiro256** state the erased bytes come from */
    double cs, sn;          /* geo 2: cos(a) / scale, sin(a) / scale (the inverse map) */
    double bf, cf;          /* brightness and contrast factors (when on) */
    int geo;                /* 0 none, 1 shift by whole pixels, 2 affine resampling */
    int dx, dy;             /* the shift (geo 1 and 2), pixels */
    int crop;               /* the window (ox, oy) cw x ch resized to the image */
    int ox, oy, cw, ch;
    int flip;               /* mirror left-right */
    int bright, contrast;   /* whether each is on */
    int erase;              /* fill the ew x eh rectangle at (ex, ey) with random bytes */
    int ex, ey, ew, eh;
} fer_augment_params;

/* inlined by force: gcc -O2 leaves the sampler a call otherwise, 20% of
 * the time of a turn */
#if defined(__CUDACC__)
#define FER_PX_INLINE static __host__ __device__ __forceinline__
#elif defined(__GNUC__)
#define FER_PX_INLINE static inline __attribute__((always_inline))
#else
#define FER_PX_INLINE static inline
#endif

/* ---- single operations, never fused ---- */

FER_PX_INLINE double fer_px_mul(double a, double b)
{
#ifdef __CUDA_ARCH__
    return __dmul_rn(a, b);
#else
    return a * b;
#endif
}

FER_PX_INLINE double fer_px_add(double a, double b)
{
#ifdef __CUDA_ARCH__
    return __dadd_rn(a, b);
#else
    return a + b;
#endif
}

FER_PX_INLINE double fer_px_sub(double a, double b)
{
#ifdef __CUDA_ARCH__
    return __dsub_rn(a, b);
#else
    return a - b;
#endif
}

FER_PX_INLINE double fer_px_div(double a, double b)
{
#ifdef __CUDA_ARCH__
    return __ddiv_rn(a, b);
#else
    return a / b;
#endif
}

/* The preprocessed input of byte v: v scale - shift in float, two
 * roundings (nn/model.h's fer_model_preprocess). */
FER_PX_INLINE float fer_px_float(uint8_t v, float scale, float shift)
{
#ifdef __CUDA_ARCH__
    return __fsub_rn(__fmul_rn((float)v, scale), shift);
#else
    return (float)v * scale - shift;
#endif
}

FER_PX_INLINE int fer_px_clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

FER_PX_INLINE double fer_px_clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* round(t) clamped to 0..255, half up */
FER_PX_INLINE uint8_t fer_px_byte(double t)
{
    t = fer_px_add(t, 0.5);
    return t < 1 ? 0 : t >= 255 ? 255 : (uint8_t)t;
}

/* ---- resampling ---- */

/* The bilinear value at (sx, sy), both >= 0 and already clamped to [..,
 * xmax] x [.., ymax], of the c planes of src (h w bytes apart) to dst[p h
 * w]: top = s00 + fx (s01 - s00), bottom likewise, top + fy (bottom -
 * top), rounded half up. */
FER_PX_INLINE void fer_px_sample(const uint8_t *src, int c, int h, int w, double sx, double sy,
                                 int xmax, int ymax, uint8_t *dst)
{
    int x0 = (int)sx, y0 = (int)sy;   /* sx, sy >= 0: truncation is floor */
    int x1 = x0 + 1 <= xmax ? x0 + 1 : x0, y1 = y0 + 1 <= ymax ? y0 + 1 : y0;
    double fx = fer_px_sub(sx, x0), fy = fer_px_sub(sy, y0);
    size_t plane = (size_t)h * w;
    for (int p = 0; p < c; p++) {
        const uint8_t *s0 = src + p * plane + (size_t)y0 * w, *s1 = src + p * plane + (size_t)y1 * w;
        double top = fer_px_add(s0[x0], fer_px_mul(fx, s0[x1] - s0[x0]));
        double bot = fer_px_add(s1[x0], fer_px_mul(fx, s1[x1] - s1[x0]));
        dst[p * plane] = (uint8_t)fer_px_add(fer_px_add(top, fer_px_mul(fy, fer_px_sub(bot, top))),
                                             0.5);
    }
}

/* Pixel (x, y) of the rotation and scale by the inverse map (cs, sn) about
 * the centre after the shift (dx, dy) (augment.h's fer_augment_affine):
 * source u = x - dx - cx, v = y - dy - cy; sx = cs u - sn v + cx, sy = sn
 * u + cs v + cy, clamped to the image. All c planes, to dst[p h w]. */
FER_PX_INLINE void fer_px_affine(const uint8_t *src, int c, int h, int w, double cs, double sn,
                                 double dx, double dy, int x, int y, uint8_t *dst)
{
    const double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
    double u = fer_px_sub(fer_px_sub(x, dx), cx), v = fer_px_sub(fer_px_sub(y, dy), cy);
    double sx = fer_px_clampd(fer_px_add(fer_px_sub(fer_px_mul(cs, u), fer_px_mul(sn, v)), cx), 0,
                              w - 1);
    double sy = fer_px_clampd(fer_px_add(fer_px_add(fer_px_mul(sn, u), fer_px_mul(cs, v)), cy), 0,
                              h - 1);
    fer_px_sample(src, c, h, w, sx, sy, w - 1, h - 1, dst);
}

/* The source coordinate of output coordinate i when the window [o, o +
 * len) is resized to size: o + (i + 0.5) len / size - 0.5, clamped to the
 * window (augment.h's fer_augment_crop; k = len / size). */
FER_PX_INLINE double fer_px_crop_at(int i, int o, int len, double k)
{
    return fer_px_clampd(fer_px_sub(fer_px_add(o, fer_px_mul(fer_px_add(i, 0.5), k)), 0.5), o,
                         o + len - 1);
}

/* Pixel (x, y) of the window (x0, y0) cw x ch of src resized to w x h. */
FER_PX_INLINE void fer_px_crop(const uint8_t *src, int c, int h, int w, int x0, int y0, int cw,
                               int ch, int x, int y, uint8_t *dst)
{
    double sx = fer_px_crop_at(x, x0, cw, fer_px_div(cw, w));
    double sy = fer_px_crop_at(y, y0, ch, fer_px_div(ch, h));
    fer_px_sample(src, c, h, w, sx, sy, x0 + cw - 1, y0 + ch - 1, dst);
}

/* ---- point operations ---- */

/* brightness: round(f v) */
FER_PX_INLINE uint8_t fer_px_brightness(double f, int v)
{
    return fer_px_byte(fer_px_mul(f, v));
}

/* contrast about the mean m: round(f v + (1 - f) m) */
FER_PX_INLINE uint8_t fer_px_contrast(double f, double m, int v)
{
    return fer_px_byte(fer_px_add(fer_px_mul(f, v), fer_px_mul(fer_px_sub(1, f), m)));
}

/* ---- the erased rectangle's bytes ---- */

/* Fills the ew x eh rectangle at (x0, y0) of each of the c planes of img
 * with bytes from generator state s (advanced): plane by plane, row by
 * row, the bytes of each number low byte first (augment.h's
 * fer_augment_erase). */
FER_PX_INLINE void fer_px_erase(uint8_t *img, int c, int h, int w, int x0, int y0, int ew, int eh,
                                uint64_t s[4])
{
    uint64_t bits = 0;
    int left = 0;   /* bytes of `bits` not used yet */
    for (int p = 0; p < c; p++)
        for (int y = y0; y < y0 + eh; y++) {
            uint8_t *row = img + ((size_t)p * h + y) * w;
            for (int x = x0; x < x0 + ew; x++) {
                if (!left) {
                    bits = fer_xoshiro_next(s);
                    left = 8;
                }
                row[x] = (uint8_t)bits;
                bits >>= 8;
                left--;
            }
        }
}

/* ---- one copy, in stages over the output pixels ----
 * A stage's pixels are independent; a stage reads what the stage before
 * wrote (a GPU block syncs between them). */

/* Stage 1, when p->geo: pixel (x, y) of the geometry (shift or affine) of
 * src, all c planes, into g. */
FER_PX_INLINE void fer_px_stage_geo(const fer_augment_params *p, const uint8_t *src, int c, int h,
                                    int w, int x, int y, uint8_t *g)
{
    size_t plane = (size_t)h * w, at = (size_t)y * w + x;
    if (p->geo == 2) {
        fer_px_affine(src, c, h, w, p->cs, p->sn, p->dx, p->dy, x, y, g + at);
    } else {
        const uint8_t *s = src + (size_t)fer_px_clamp(y - p->dy, 0, h - 1) * w +
                           fer_px_clamp(x - p->dx, 0, w - 1);
        for (int q = 0; q < c; q++)
            g[at + q * plane] = s[q * plane];
    }
}

/* Stage 2: pixel (x, y) of the crop (or a copy) of g (stage 1's image, or
 * the source without geometry), brightened, into d at (y, x), or at (y, w
 * - 1 - x) when flipped. Returns the sum of the c bytes written (for the
 * contrast's mean). */
FER_PX_INLINE unsigned fer_px_stage_crop(const fer_augment_params *p, const uint8_t *g, int c,
                                         int h, int w, int x, int y, uint8_t *d)
{
    size_t plane = (size_t)h * w, at = (size_t)y * w + (p->flip ? w - 1 - x : x);
    unsigned sum = 0;
    if (p->crop)
        fer_px_crop(g, c, h, w, p->ox, p->oy, p->cw, p->ch, x, y, d + at);
    else
        for (int q = 0; q < c; q++)
            d[at + q * plane] = g[(size_t)y * w + x + q * plane];
    for (int q = 0; q < c; q++) {
        uint8_t *v = d + at + q * plane;
        if (p->bright)
            *v = fer_px_brightness(p->bf, *v);
        sum += *v;
    }
    return sum;
}

/* Stage 3, when p->contrast: the contrast's mean of the image's n bytes
 * from their sum, then each byte v becomes fer_px_contrast(cf, m, v). */
FER_PX_INLINE double fer_px_mean(uint64_t sum, size_t n)
{
    return fer_px_div((double)sum, (double)n);
}

/* Stage 4, when p->erase (one thread: the bytes are a sequence): the
 * erased rectangle of d. */
FER_PX_INLINE void fer_px_stage_erase(const fer_augment_params *p, int c, int h, int w, uint8_t *d)
{
    uint64_t s[4] = {p->erase_rng[0], p->erase_rng[1], p->erase_rng[2], p->erase_rng[3]};
    fer_px_erase(d, c, h, w, p->ex, p->ey, p->ew, p->eh, s);
}

#ifdef __cplusplus
extern "C" {
#endif
/* The whole copy of src (c, h, w) under p into dst, on the host, stage by
 * stage (augment_px.c); tmp is c h w bytes of scratch. fer_augment_random
 * (augment.h) is fer_augment_draw and then this. */
void fer_augment_apply(const fer_augment_params *p, const uint8_t *src, int c, int h, int w,
                       uint8_t *dst, uint8_t *tmp);
#ifdef __cplusplus
}
#endif

#endif
