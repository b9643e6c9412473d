/* tfinput.h: the input of a TensorFlow-trained detector made from one
 * region of a photo, as its JavaScript runtime makes it: the region on a
 * square of zeros, TensorFlow's bilinear resize, scaled to [-1, 1]. */
#ifndef FER_TFINPUT_H
#define FER_TFINPUT_H

#include "image.h"

#define FER_TF_INPUT_MAX 1024     /* the largest net input side */

/* The region (x0, y0, w, h) of im (1 or 3 channels; inside the image)
 * placed at (px, py) on a zero square of side max(w, h) (0, 0: the
 * padding right or below, face-api's way; centred: human's), resized to
 * S x S (S <= FER_TF_INPUT_MAX) as tf.image.resizeBilinear does without
 * corner alignment or half-pixel centres (output index i samples at
 * i * side / S, between its floor and its ceil, the ceil held to the
 * square), each value v then v / 127.5 - 1, into in (3, S, S), planes
 * R, G, B (a gray image as R = G = B). */
void fer_tf_square_input(const fer_image *im, int x0, int y0, int w, int h, int px, int py,
                         int S, float *in);

#endif
