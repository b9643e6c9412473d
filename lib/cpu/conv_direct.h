/* conv_direct.h: 3x3 stride-1 convolutions of one input channel (the first
 * layer of every net here, on the gray face), computed directly: nine
 * products a pixel, vectorised along the output row, in fp32 in every
 * precision. As a GEMM they had a depth of 9, too shallow for the GEMM
 * kernels (packing and the C tile's loads and stores outweighed the 9
 * products), and the weight gradient was a product 9 columns wide.
 * Internal to conv_gemm.c's dispatch; tested against the reference kernels
 * in tests/test_fastpath.c. */
#ifndef FER_CONV_DIRECT_H
#define FER_CONV_DIRECT_H

#include "conv.h"
#include "conv_epilogue.h"

/* Whether s is such a shape (C 1, R = S = 3, stride 1, pad 0 to 2). */
int fer_conv_direct_ok(const fer_conv_shape *s);

/* Floats of workspace the forward pass and the weight gradient need. */
size_t fer_conv_direct_workspace(const fer_conv_shape *s);

/* y = conv(x, w) + b (b may be NULL), then epi's ReLU and sums or its
 * inference ops (conv_epilogue.h) unless epi is NULL, in parts of one
 * image each (fer_conv_epi_parts). y[n, k, p, q] is the nine products
 * w[k, r, s] x[n, p + r - pad, q + s - pad] added in order r, s (rows and
 * columns outside x as zeros), then b[k]: the same bits on any thread
 * count. ws: fer_conv_direct_workspace floats. */
void fer_conv_direct_forward(const fer_conv_shape *s, const float *x, const float *w,
                             const float *b, float *y, float *ws, const fer_conv_epi *epi);

/* dw (K, 1, 3, 3) and, unless db is NULL, db (K) = the gradients for dy
 * (N, K, P, Q), in one pass over dy: per image, float sums in 16 lanes
 * (column q of each row into lane q % 16), the lanes added in order; then
 * the images in order, in double. ws: fer_conv_direct_workspace floats.
 * The same bits on any thread count. */
void fer_conv_direct_wgrad(const fer_conv_shape *s, const float *x, const float *dy, float *dw,
                           float *db, float *ws);

#endif
