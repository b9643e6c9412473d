/* predict.h: running a model over many images in batches. */
#ifndef FER_PREDICT_H
#define FER_PREDICT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Test-time averaging: the probabilities of an image are the mean of its
 * views' probabilities.
 *   none    the image itself
 *   flip    the image and its mirror image (left-right)
 *   crop10  the windows of (w - 2 FER_TTA_CROP) x (h - 2 FER_TTA_CROP)
 *           pixels (44x44 of 48x48) at the top left, top right, bottom
 *           left, bottom right corners and the centre (at (2, 2)), each
 *           resized back to w x h as fer-train --crop 2 resizes its random
 *           windows (fer_augment_crop), then the mirror images of those
 *           five, in this order.
 *   flipcrop the image, its mirror image, the centre window of crop10
 *           (resized back as there) and its mirror image, in this order:
 *           four views, chosen on validation (data/README.md). */
enum fer_tta { FER_TTA_NONE, FER_TTA_FLIP, FER_TTA_CROP10, FER_TTA_FLIPCROP };
#define FER_TTA_CROP 2

/* "none", "flip", "crop10", "flipcrop" -> enum fer_tta, or -1; and back. */
int fer_tta_parse(const char *name);
const char *fer_tta_name(int tta);
/* How many views (forward passes) an image costs: 1, 2, 10 or 4. */
int fer_tta_views(int tta);

/* View v (0 .. fer_tta_views(tta) - 1) of n images src (n, c, h, w) into
 * dst (not src). */
void fer_tta_view(int tta, int v, const uint8_t *src, size_t n, int c, int h, int w,
                  uint8_t *dst);

/* Class probabilities (softmax of the logits), probs (n, classes), for n
 * images px (n, c, h, w) in the model's input shape, in inference mode,
 * batch images at a time, averaged over the views of tta (enum fer_tta;
 * 1 is flip, as this argument's older meaning). flip is 0.5 (a + b) in
 * float; crop10 and flipcrop sum their views in view order in float and
 * divide by the count.
 * A pass runs one view of batch images, or, where all the views of the
 * images left fit in batch (a few faces), all of them at once. 0 or -1
 * (out of memory). */
int fer_predict(fer_model *m, const uint8_t *px, size_t n, int batch, int tta, float *probs);

/* Mean loss and accuracy of m on d (labels >= 0 only). 0 or -1. */
int fer_predict_evaluate(fer_model *m, const fer_dataset *d, int batch, double *loss, double *acc);

/* An ensemble's probabilities: each model's n values added into sum
 * (zeroed first), then divided by the number of models; one model's come
 * out unchanged. fer-eval and fer-classify average -m models this way. */
void fer_predict_sum(float *sum, const float *p, size_t n);
void fer_predict_mean(float *sum, size_t n, int models);

#endif
