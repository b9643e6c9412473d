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

/* ReLU: y = max(x, 0); backward uses x: dx = dy where x > 0, else 0 (so 0
 * at x = 0, as PyTorch). y may be x (in place); backward may then be given
 * y for x, which is positive at the same places. Leaky ReLU (a >= 0) and
 * dropout may run in place too. */
void fer_relu_forward(size_t n, const float *x, float *y);
void fer_relu_backward(size_t n, const float *x, const float *dy, float *dx);
/* The residual sum: y = a + b, or a copy of a when b is NULL (y may be a
 * or b); fer_add_relu then max(y, 0), relu_forward's expression. */
void fer_add(size_t n, const float *a, const float *b, float *y);
void fer_add_relu(size_t n, const float *a, const float *b, float *y);

/* Leaky ReLU with negative slope a (0.01 in ff): y = x where x > 0, else
 * a * x (float); dx = dy where x > 0, else a * dy (slope a at x = 0). */
void fer_leaky_relu_forward(size_t n, float a, const float *x, float *y);
void fer_leaky_relu_backward(size_t n, float a, const float *x, const float *dy, float *dx);

/* Inverted dropout: y = x * mask * s with s = 1.0f / (1.0f - p) in float,
 * mask (n) 0 or 1. Element i's draw is the counter-based u =
 * fer_rng_key_float(key, i) (rng.h; key = fer_rng_key_base(seed, step,
 * layer)); mask[i] = (u >= p), so kept with probability 1 - p, and the
 * same key gives the same mask on any thread count. p = 0 copies (mask
 * all 1) and p >= 1 zeroes (mask all 0). Backward: dx = dy * mask * s,
 * the same s. */
void fer_dropout_forward(size_t n, float p, uint64_t key, const float *x, float *y,
                         uint8_t *mask);
void fer_dropout_backward(size_t n, float p, const uint8_t *mask, const float *dy, float *dx);

/* Max pool, k x k window, given stride, no padding: x (N, C, H, W) ->
 * y (N, C, P, Q), P = (H - k) / stride + 1 (Q likewise; trailing rows and
 * columns that fill no window are ignored); needs H, W >= k. argmax
 * (N, C, P, Q) holds the index within the (H, W) plane of each maximum
 * (first one in row-major order on ties; a NaN wins). Backward overwrites
 * dx (N, C, H, W) and adds dy into each argmax, so overlapping windows
 * (k > stride) sum. */
void fer_maxpool_forward(int N, int C, int H, int W, int k, int stride, const float *x,
                         float *y, int32_t *argmax);
void fer_maxpool_backward(int N, int C, int H, int W, int k, int stride, const float *dy,
                          const int32_t *argmax, float *dx);

/* Global average pool: x (N, C, HW) -> y (N, C), summed in double.
 * Backward: dx = dy / HW over each plane. */
void fer_avgpool_forward(int N, int C, int HW, const float *x, float *y);
void fer_avgpool_backward(int N, int C, int HW, const float *dy, float *dx);

/* Batch norm over (N, HW) per channel, x (N, C, HW); HW = 1 for a dense
 * layer's output; gamma, beta, running_mean, running_var, save_mean,
 * save_invstd, dgamma, dbeta are (C). As PyTorch's BatchNorm1d/2d:
 *
 * Training, with M = N * HW values per channel: mean and biased variance
 * var = sum (x - mean)^2 / M (double, two passes); invstd = 1 / sqrt(var +
 * eps); y = gamma (x - mean) invstd + beta, computed in float as x * a + b
 * with a = gamma invstd, b = beta - mean a. Then
 *   running_mean = (1 - momentum) running_mean + momentum mean
 *   running_var  = (1 - momentum) running_var + momentum var M / (M - 1)
 * (momentum 0.1 as PyTorch's default; PyTorch starts them at 0 and 1).
 * save_mean and save_invstd keep mean and invstd for backward. M must be
 * at least 2 (the unbiased variance; PyTorch refuses it too): M = 1 aborts
 * through FER_ASSERT, so a trainer must not pass a batch of one sample to
 * a dense layer's batch norm.
 *
 * Inference: y = gamma (x - running_mean) / sqrt(running_var + eps) + beta.
 *
 * Backward (of the training forward), with xhat = (x - mean) invstd, sums
 * in double: dbeta = sum dy, dgamma = sum dy xhat,
 * dx = gamma invstd (dy - dbeta / M - xhat dgamma / M). */
void fer_batchnorm_forward_train(int N, int C, int HW, const float *x, const float *gamma,
                                 const float *beta, float eps, float momentum,
                                 float *running_mean, float *running_var, float *y,
                                 float *save_mean, float *save_invstd);
/* Training's forward from x's statistics given as sums (conv.h's
 * fer_conv2d_forward_fused): stats[c] = sum x, stats[C + c] = sum x^2
 * over (N, HW); mean = sum / M, biased variance sum2 / M - mean^2 (M = N
 * HW); then y = max(y, 0) when relu. Otherwise as forward_train. */
void fer_batchnorm_forward_train_stats(int N, int C, int HW, const double *stats,
                                       const float *x, const float *gamma, const float *beta,
                                       float eps, float momentum, float *running_mean,
                                       float *running_var, int relu, float *y, float *save_mean,
                                       float *save_invstd);
/* The same with y = y + add (N, C, HW; y may be add) before the ReLU:
 * batch norm, a residual add and its ReLU in one pass, the separate ops'
 * bits. */
void fer_batchnorm_forward_train_stats_add(int N, int C, int HW, const double *stats,
                                           const float *x, const float *gamma,
                                           const float *beta, float eps, float momentum,
                                           float *running_mean, float *running_var,
                                           const float *add, int relu, float *y,
                                           float *save_mean, float *save_invstd);
/* Inference's y = x a + b per channel: a and b (C each) as
 * forward_infer computes them, for a kernel that applies them itself. */
void fer_batchnorm_infer_coefs(int C, const float *gamma, const float *beta, float eps,
                               const float *running_mean, const float *running_var, float *a,
                               float *b);
void fer_batchnorm_forward_infer(int N, int C, int HW, const float *x, const float *gamma,
                                 const float *beta, float eps, const float *running_mean,
                                 const float *running_var, float *y);
void fer_batchnorm_backward(int N, int C, int HW, const float *x, const float *dy,
                            const float *gamma, const float *save_mean,
                            const float *save_invstd, float *dx, float *dgamma, float *dbeta);
/* The backward of forward_train_stats with relu, from the ReLU's output
 * gradient dy: dy taken where x a + b > 0, for the forward's a and b made
 * again from the same stats (gamma, beta and eps the forward's), and 0
 * elsewhere; the bits of fer_relu_backward on the forward's y and then
 * fer_batchnorm_backward, in two passes over the maps instead of
 * three. */
void fer_batchnorm_relu_backward_stats(int N, int C, int HW, const double *stats, const float *x,
                                       const float *dy, const float *gamma, const float *beta,
                                       float eps, const float *save_mean,
                                       const float *save_invstd, float *dx, float *dgamma,
                                       float *dbeta);

/* Dense (PyTorch Linear): x (N, I), w (O, I), b (O) or NULL, y (N, O);
 * y = x w^T + b. fer_dense_* pick the fastest kernel; the _ref ones are
 * plain loops (float sums along I) that define the result. */
void fer_dense_forward(int N, int I, int O, const float *x, const float *w, const float *b,
                       float *y);
/* dx (N, I; skipped when NULL), dw (O, I), db (O; skipped when NULL). */
void fer_dense_backward(int N, int I, int O, const float *x, const float *w, const float *dy,
                        float *dx, float *dw, float *db);
void fer_dense_forward_ref(int N, int I, int O, const float *x, const float *w, const float *b,
                           float *y);
void fer_dense_backward_ref(int N, int I, int O, const float *x, const float *w,
                            const float *dy, float *dx, float *dw, float *db);

/* Row-wise softmax: x, p (N, K); p = exp(x - max - log sum exp(x - max)),
 * in double, rounded to float. */
void fer_softmax(int N, int K, const float *x, float *p);

/* Softmax cross-entropy as PyTorch's CrossEntropyLoss(weight, reduction=
 * 'mean', label_smoothing): logits (N, K), labels (N) in [0, K) (others
 * abort through FER_ASSERT), class_w (K) or NULL for all ones, smoothing
 * eps in [0, 1). Writes probs (N, K) (as fer_softmax) and returns, in
 * double, with log p = log_softmax(logits) and w = class_w:
 *   loss = sum_i [ (1 - eps) w[y_i] (-log p[i][y_i])
 *                  + eps / K sum_k w[k] (-log p[i][k]) ] / sum_i w[y_i]
 * (without weights: the plain mean over N of the smoothed loss). */
double fer_xent_forward(int N, int K, const float *logits, const int32_t *labels,
                        const float *class_w, float smoothing, float *probs);
/* The gradient of that loss with respect to the logits, from probs:
 *   dlogits[i][j] = [ (1 - eps) w[y_i] (p[i][j] - [j = y_i])
 *                     + eps / K (p[i][j] sum_k w[k] - w[j]) ] / sum_i w[y_i] */
void fer_xent_backward(int N, int K, const float *probs, const int32_t *labels,
                       const float *class_w, float smoothing, float *dlogits);

#endif
