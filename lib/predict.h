/* predict.h: running a model over many images in batches. */
#ifndef FER_PREDICT_H
#define FER_PREDICT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Class probabilities (softmax of the logits), probs (n, classes), for n
 * images px (n, c, h, w) in the model's input shape, in inference mode,
 * batch images at a time. When flip is set, each image's probabilities are
 * averaged with its mirror image's. 0 or -1 (out of memory). */
int fer_predict(fer_model *m, const uint8_t *px, size_t n, int batch, int flip, float *probs);

/* Mirrors n images (n, c, h, w) left-right into dst (may equal src). */
void fer_mirror(const uint8_t *src, size_t n, int c, int h, int w, uint8_t *dst);

#endif
