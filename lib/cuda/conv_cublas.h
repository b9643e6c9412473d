/* conv_cublas.h: the convolutions of --gemm cublas (conv_cublas.cu), the
 * yardstick for conv.cu's implicit GEMM: an explicit column matrix (im2col
 * and col2im, our own small kernels) and three plain products by cuBLAS,
 * so that a training run differs from ours only in whose GEMM it runs.
 * conv.cu dispatches here while fer_cuda_cublas() is on.
 *
 * Images go in chunks of nb (the same for every chunk but the last), with
 * L = nb P Q columns, so that the workspace stays near a fixed budget of
 * floats whatever the batch. A chunk's workspace holds
 *   col (C R S, L): im2col of x, row (c, r, s), column (n, p, q); in the
 *                   backward pass it is then overwritten by dcol = w^T t;
 *   t   (K, L):     y before the bias, or dy, with the channel outermost.
 *   forward:  t = w col                  (K x L,   reduction C R S)
 *             y(n, k, p, q) = t[k][(n, p, q)] + b[k]
 *   weights:  dw = sum over chunks, in order, of t col^T  (K x C R S,
 *             reduction L; beta 1 after the first chunk: no atomics)
 *   data:     dcol = w^T t (C R S x L, reduction K), then col2im: each
 *             element of dx gathers its taps in a fixed order.
 *   bias:     conv.cu's kernel, as for our GEMM. */
#ifndef FER_CONV_CUBLAS_H
#define FER_CONV_CUBLAS_H

#include <stddef.h>

#include "backend.h"

/* floats of workspace for shape s: nb (C R S + K) P Q */
size_t fer_cuda_conv_cublas_workspace(const fer_conv_shape *s);
/* cuda_ops.h's conv forward and backward (ws as the workspace says);
 * a failure of cuBLAS is the next sync's error (fer_cuda_defer_error) */
void fer_cuda_conv_cublas_forward(const fer_conv_shape *s, const float *x, const float *w,
                                  const float *b, float *y, float *ws);
/* dx (skipped when NULL) and dw; db is conv.cu's */
void fer_cuda_conv_cublas_backward(const fer_conv_shape *s, const float *x, const float *w,
                                   const float *dy, float *dx, float *dw, float *ws);

/* The two kernels alone, for the tests, over images n0 .. n0 + nb - 1 of
 * x (N, C, H, W): col (C R S, nb P Q) as above, zeros in the padding;
 * and those images of dx from col, every element written (sums of the
 * taps that cover it, 0 where none does), the other images untouched. */
void fer_cuda_im2col(const fer_conv_shape *s, int n0, int nb, const float *x, float *col);
void fer_cuda_col2im(const fer_conv_shape *s, int n0, int nb, const float *col, float *dx);

/* For the tests, which have no cuBLAS: the products by gemm instead, with
 * fer_cuda_gemm's contract (NULL: cuBLAS), and the chunks' budget in
 * floats (0: the default, 2^25, 128 MiB). Set before the workspace is
 * asked for. */
typedef void (*fer_cuda_gemm_fn)(int trans_a, int trans_b, int M, int N, int K, float alpha,
                                 const float *A, int lda, const float *B, int ldb, float beta,
                                 float *C, int ldc);
void fer_cuda_conv_cublas_hooks(fer_cuda_gemm_fn gemm, size_t budget);

#endif
