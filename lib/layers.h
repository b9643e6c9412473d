/* layers.h: the element-wise, pooling, normalisation, dense and loss
 * kernels of the network engine, forward and backward, on float32 arrays.
 *
 * Shapes use N (batch), C (channels), H, W; "HW" is H*W. Outputs and input
 * gradients are overwritten, never accumulated. Gradients of parameters
 * (dgamma, dbeta, dw, db) are overwritten too. Semantics follow PyTorch so
 * that the same weights give the same numbers. Kernels that have a faster
 * variant keep a _ref one as the oracle. */
#ifndef FER_LAYERS_H
#define FER_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/* ReLU: y = max(x, 0); backward uses x (dx = dy where x > 0). */
void fer_relu_forward(size_t n, const float *x, float *y);
void fer_relu_backward(size_t n, const float *x, const float *dy, float *dx);

/* Leaky ReLU with negative slope a (0.01 in ff). */
void fer_leaky_relu_forward(size_t n, float a, const float *x, float *y);
void fer_leaky_relu_backward(size_t n, float a, const float *x, const float *dy, float *dx);

/* Inverted dropout: y = x * mask / (1 - p), mask[i] = 1 with probability
 * 1 - p, drawn from rng. p = 0 copies. */
void fer_dropout_forward(size_t n, float p, fer_rng *rng, const float *x, float *y,
                         uint8_t *mask);
void fer_dropout_backward(size_t n, float p, const uint8_t *mask, const float *dy, float *dx);

/* Max pool, k x k window, given stride, no padding: x (N, C, H, W) ->
 * y (N, C, P, Q), P = (H - k) / stride + 1. argmax (N, C, P, Q) holds the
 * index within the (H, W) plane of each maximum (first one on ties). */
void fer_maxpool_forward(int N, int C, int H, int W, int k, int stride, const float *x,
                         float *y, int32_t *argmax);
void fer_maxpool_backward(int N, int C, int H, int W, int k, int stride, const float *dy,
                          const int32_t *argmax, float *dx);

/* Global average pool: x (N, C, HW) -> y (N, C). */
void fer_avgpool_forward(int N, int C, int HW, const float *x, float *y);
void fer_avgpool_backward(int N, int C, int HW, const float *dy, float *dx);

/* Batch norm over (N, HW) per channel, x (N, C, HW); HW = 1 for a dense
 * layer's output. Training: batch mean and biased variance normalise;
 * running_mean/var move by momentum (0.1 as PyTorch) towards the batch mean
 * and the unbiased variance; save_mean and save_invstd (C) keep what
 * backward needs. */
void fer_batchnorm_forward_train(int N, int C, int HW, const float *x, const float *gamma,
                                 const float *beta, float eps, float momentum,
                                 float *running_mean, float *running_var, float *y,
                                 float *save_mean, float *save_invstd);
void fer_batchnorm_forward_infer(int N, int C, int HW, const float *x, const float *gamma,
                                 const float *beta, float eps, const float *running_mean,
                                 const float *running_var, float *y);
void fer_batchnorm_backward(int N, int C, int HW, const float *x, const float *dy,
                            const float *gamma, const float *save_mean,
                            const float *save_invstd, float *dx, float *dgamma, float *dbeta);

/* Dense (PyTorch Linear): x (N, I), w (O, I), b (O) or NULL, y (N, O). */
void fer_dense_forward(int N, int I, int O, const float *x, const float *w, const float *b,
                       float *y);
/* dx (N, I; skipped when NULL), dw (O, I), db (O; skipped when NULL). */
void fer_dense_backward(int N, int I, int O, const float *x, const float *w, const float *dy,
                        float *dx, float *dw, float *db);
void fer_dense_forward_ref(int N, int I, int O, const float *x, const float *w, const float *b,
                           float *y);
void fer_dense_backward_ref(int N, int I, int O, const float *x, const float *w,
                            const float *dy, float *dx, float *dw, float *db);

/* Row-wise softmax: x, p (N, K); numerically stable. */
void fer_softmax(int N, int K, const float *x, float *p);

/* Softmax cross-entropy as PyTorch's CrossEntropyLoss(weight, reduction=
 * 'mean', label_smoothing): logits (N, K), labels (N) in [0, K), class_w (K)
 * or NULL for all ones, smoothing in [0, 1). Writes probs (N, K) and returns
 * the mean loss (a weighted mean: divided by the sum of w[label]). */
double fer_xent_forward(int N, int K, const float *logits, const int32_t *labels,
                        const float *class_w, float smoothing, float *probs);
/* The gradient of that mean loss with respect to the logits, from probs. */
void fer_xent_backward(int N, int K, const float *probs, const int32_t *labels,
                       const float *class_w, float smoothing, float *dlogits);

#endif
