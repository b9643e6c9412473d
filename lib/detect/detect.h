/* detect.h: multi-scale Viola-Jones detection with a Haar cascade, done
 * the way OpenCV 4.6's CascadeClassifier::detectMultiScale does it, so that
 * the boxes match OpenCV's bit for bit on the same gray image:
 *
 *  - scales: factor = 1, s, s^2, ... (double); the window is
 *    round(win * factor); factors whose window is below min size are
 *    skipped, the loop ends at the first window above max size or the
 *    image; each factor is kept as a float;
 *  - per scale the IMAGE is resized (not the features) to
 *    round(W / factor) x round(H / factor) with OpenCV's 8-bit INTER_LINEAR
 *    (fer_resize_linear_cv below), then integral, squared and (when the
 *    cascade needs it) tilted integral images are taken;
 *  - windows step by 2 pixels while factor < 2, else by 1, in rows split
 *    into OpenCV's stripes; a window rejected by the first stage makes the
 *    next x be skipped;
 *  - each window is normalised by the standard deviation of its pixels
 *    shrunk by 1 on each side (float 1/sqrt(area*sumsq - sum^2)); a window
 *    whose deviation is 10 or less is rejected outright;
 *  - features are float sums of weighted integer rectangle sums, times the
 *    normalisation; stage sums are double;
 *  - hits at (x, y) become (round(x*factor), round(y*factor),
 *    round(win_w*factor), round(win_h*factor)), then
 *    fer_group_rects(..., min_neighbors, 0.2), then clipped to the image.
 *
 * Threads: the scales of one call are shared out with fer_parallel_for
 * (threads.h, so fer_threads_set() chooses how many); the result does not
 * depend on the thread count. */
#ifndef FER_DETECT_H
#define FER_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "haar.h"

typedef struct fer_rect { int x, y, w, h; } fer_rect;

typedef struct fer_detect_opts {
    double scale_factor;        /* > 1; OpenCV's default 1.1 */
    int min_neighbors;          /* groups of <= this many hits are dropped; 0 = no grouping */
    int min_w, min_h;           /* smallest window, 0 = any */
    int max_w, max_h;           /* largest window, 0 = the image size */
    long max_hits;              /* most windows accepted, 0 = FER_DETECT_HITS_MAX */
    size_t max_scratch;         /* bytes of scan copies, 0 = FER_DETECT_SCRATCH_MAX */
} fer_detect_opts;

/* Each scanning thread keeps a resized copy of the photo and its integral
 * images, about 9 bytes a pixel (13 with tilted features), as large as the
 * photo. When every thread's copy would pass max_scratch bytes together,
 * the scales are scanned one after another on the calling thread instead:
 * memory stays at one copy, the boxes are the same, only slower. With the
 * pixel limit (image.h, 100 MP) one copy is at most 1.3 GB. */
#define FER_DETECT_SCRATCH_MAX ((size_t)1 << 30)

/* The most windows one call accepts before grouping (16 bytes each, so
 * 256 MiB): a cascade accepting more (one that accepts everything, on a
 * large photo) makes fer_detect fail instead of filling memory. */
#define FER_DETECT_HITS_MAX (1L << 24)

/* scale 1.1, 3 neighbours, no size limits (OpenCV's defaults). */
void fer_detect_defaults(fer_detect_opts *o);

/* The most scales one image is scanned at: a scale factor of 1.0001
 * would give thousands, each a pass over the photo. */
#define FER_DETECT_SCALES_MAX 1000

/* The number of scales o gives on a w x h image, counted up to
 * FER_DETECT_SCALES_MAX + 1 (0 for a bad factor or size). */
int fer_detect_nscales(const fer_cascade *c, int w, int h, const fer_detect_opts *o);

/* Detects objects in the w x h gray image px (rows stride bytes apart, so a
 * sub-rectangle of a larger image can be passed as is). *out gets a
 * malloc'd array of boxes (NULL when none; free it); returns their count,
 * or -1 with fer_error() set (bad options, more than FER_DETECT_SCALES_MAX
 * scales, more than max_hits windows accepted, out of memory). Memory: besides the boxes, each thread holds the
 * largest scanned image and its integral images, 9 bytes a pixel of px
 * (13 when the cascade has tilted features). */
int fer_detect(const fer_cascade *c, const uint8_t *px, int w, int h, int stride,
               const fer_detect_opts *o, fer_rect **out);

/* The same without grouping and clipping: every window the cascade
 * accepts, in scale, row, column order. */
int fer_detect_raw(const fer_cascade *c, const uint8_t *px, int w, int h, int stride,
                   const fer_detect_opts *o, fer_rect **out);

/* OpenCV's groupRectangles(rects, threshold, eps): rects are split into
 * classes of "similar" ones (two are similar when every edge differs by at
 * most eps * (min(w1,w2) + min(h1,h2)) / 2; classes are the transitive
 * closure), each class is averaged (float 1/n, rounded), classes of
 * <= threshold members are dropped, and so is a class whose average lies
 * inside another's (grown by eps) when that one has more members than
 * max(3, own) or the own has fewer than 3. Works in place on r[0..n-1];
 * returns the new count, in class order (classes numbered by their first
 * member). weights, when not NULL, gets each survivor's member count.
 * threshold <= 0 leaves the rects untouched (weights all 1). Returns -1
 * only when out of memory. */
int fer_group_rects(fer_rect *r, int n, int threshold, double eps, int *weights);

/* OpenCV 4.6's cv::resize(INTER_LINEAR) of an 8-bit gray image, bit for
 * bit: 11-bit fixed-point weights from float sample positions
 * ((d + 0.5) * s/d' - 0.5), edge clamping, and the rounding of its SIMD
 * vertical pass ((r0 >> 4) * b0 >> 16 + (r1 >> 4) * b1 >> 16 + 2) >> 2; an
 * exact 2x shrink is a 2x2 mean, as in OpenCV. src is sw x sh with stride sstride; dst is dw x dh, contiguous.
 * Returns 0, or -1 when out of memory. */
int fer_resize_linear_cv(const uint8_t *src, int sw, int sh, int sstride, uint8_t *dst,
                         int dw, int dh);

/* Integral images of a w x h 8-bit image, each (h + 1) x (w + 1) with rows
 * ostride (>= w + 1) elements apart; row 0 is 0, and so is column 0 of
 * sum and sqsum:
 *   sum[Y][X]    = sum of px[y][x] for y < Y, x < X
 *   sqsum[Y][X]  = the same of px^2, modulo 2^32 (as OpenCV's CV_32S)
 *   tilted[Y][X] = sum of px[y][x] for y < Y, |x - (X - 1)| <= Y - 1 - y
 *                  (the 45-degree triangle above pixel (X-1, Y-1)).
 * sqsum and tilted may be NULL. */
void fer_integral(const uint8_t *px, int w, int h, int stride, int32_t *sum, uint32_t *sqsum,
                  int32_t *tilted, int ostride);

#endif
