/* cuda_ops.h: the CUDA backend's ops, one host function each, with the
 * signatures and semantics of backend.h's table (backend_cuda.cu fills the
 * table with them). Each launches its kernels on the backend's stream and
 * returns at once; pointers are device addresses.
 * Files: elementwise.cu, pool.cu, batchnorm.cu, loss.cu, optim.cu (the
 * small ops), gemm.cu, conv.cu (conv_cublas.cu with --gemm cublas),
 * dense.cu (the products), backend_cuda.cu (memory, stream, errors, the
 * table). C++ (nvcc, or g++ against the emulator in the tests); no CUDA
 * type appears here. */
#ifndef FER_CUDA_OPS_H
#define FER_CUDA_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

/* Device scratch of at least bytes, the backend's, for an op's partial
 * sums: valid until the next call; NULL with fer_error() set when the
 * device is out of memory. */
void *fer_cuda_scratch(size_t bytes);

/* The products' operand precision (--precision): operands rounded to
 * bf16 or tf32 feed the tensor cores (mma.sync), fp32 accumulation;
 * fp32 runs the plain tiled kernel. And whether cuBLAS computes them
 * instead of our GEMM (--gemm cublas), as a yardstick. */
enum { FER_CUDA_FP32, FER_CUDA_TF32, FER_CUDA_BF16 };
void fer_cuda_set_precision(int precision);
int fer_cuda_precision(void);
void fer_cuda_set_cublas(int on);
int fer_cuda_cublas(void);

/* C = alpha op(A) op(B) + beta C, row-major, as fer_gemm (gemm.h): the
 * same arguments, device pointers; beta == 0 never reads C. */
void fer_cuda_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                   int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* conv.cu: implicit GEMM (no column matrix); the weight gradient sums its
 * split-K partials in a fixed order in the workspace, never atomically.
 * With cuBLAS on, im2col + cuBLAS (conv_cublas.h), whose workspace is
 * larger: the workspace is the path's that is on when it is asked for, so
 * --gemm is chosen before a net is planned and not changed after. */
size_t fer_cuda_conv_workspace(const fer_conv_shape *s);
void fer_cuda_conv_forward(const fer_conv_shape *s, const float *x, const float *w,
                           const float *b, float *y, float *ws);
void fer_cuda_conv_backward(const fer_conv_shape *s, const float *x, const float *w,
                            const float *dy, float *dx, float *dw, float *db, float *ws);
void fer_cuda_conv_forward_fused(const fer_conv_shape *s, const float *x, const float *w,
                                 const float *b, int relu, float *y, double *stats, float *ws);

/* batchnorm.cu */
void fer_cuda_bn_forward_train(int N, int C, int HW, const float *x, const float *gamma,
                               const float *beta, float eps, float momentum, float *run_mean,
                               float *run_var, float *y, float *save_mean, float *save_invstd);
void fer_cuda_bn_forward_train_stats(int N, int C, int HW, const double *stats,
                                     const float *x, const float *gamma, const float *beta,
                                     float eps, float momentum, float *run_mean, float *run_var,
                                     int relu, float *y, float *save_mean, float *save_invstd);
void fer_cuda_bn_forward_infer(int N, int C, int HW, const float *x, const float *gamma,
                               const float *beta, float eps, const float *run_mean,
                               const float *run_var, float *y);
void fer_cuda_bn_backward(int N, int C, int HW, const float *x, const float *dy,
                          const float *gamma, const float *save_mean, const float *save_invstd,
                          float *dx, float *dgamma, float *dbeta);

/* elementwise.cu */
void fer_cuda_relu_forward(size_t n, const float *x, float *y);
void fer_cuda_relu_backward(size_t n, const float *x, const float *dy, float *dx);
void fer_cuda_lrelu_forward(size_t n, float a, const float *x, float *y);
void fer_cuda_lrelu_backward(size_t n, float a, const float *x, const float *dy, float *dx);
void fer_cuda_dropout_forward(size_t n, float p, uint64_t key, const float *x, float *y,
                              uint8_t *mask);
void fer_cuda_dropout_backward(size_t n, float p, const uint8_t *mask, const float *dy,
                               float *dx);
void fer_cuda_add(size_t n, const float *a, const float *b, float *y);
void fer_cuda_ema(size_t n, float k, const float *w, float *avg);

/* pool.cu */
void fer_cuda_maxpool_forward(int N, int C, int H, int W, int k, int stride, const float *x,
                              float *y, int32_t *argmax);
void fer_cuda_maxpool_backward(int N, int C, int H, int W, int k, int stride, const float *dy,
                               const int32_t *argmax, float *dx);
void fer_cuda_avgpool_forward(int N, int C, int HW, const float *x, float *y);
void fer_cuda_avgpool_backward(int N, int C, int HW, const float *dy, float *dx);

/* dense.cu */
void fer_cuda_dense_forward(int N, int I, int O, const float *x, const float *w, const float *b,
                            float *y);
void fer_cuda_dense_backward(int N, int I, int O, const float *x, const float *w,
                             const float *dy, float *dx, float *dw, float *db);

/* loss.cu */
void fer_cuda_xent_forward(int N, int K, const float *logits, const int32_t *labels,
                           const float *class_w, float smoothing, float *probs, double *loss);
void fer_cuda_xent_backward(int N, int K, const float *probs, const int32_t *labels,
                            const float *class_w, float smoothing, float *dlogits);

/* optim.cu: one launch over every segment of the flat block */
void fer_cuda_sum_squares(const float *g, const fer_optim_segment *seg, int nseg, double *out);
void fer_cuda_optim_step(const fer_optim_step_args *a);

/* augment.cu: training's batch, one block per image, augment_px.h's
 * stages exactly as the CPU runs them; index and par are host arrays,
 * copied (staged) before it returns */
void fer_cuda_augment_batch(int n, int c, int h, int w, const uint8_t *data, const int64_t *index,
                            const fer_augment_params *par, float scale, float shift, float *x);

#endif
