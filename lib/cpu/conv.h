/* conv.h: 2-D convolution (cross-correlation, as PyTorch's Conv2d).
 *
 * x is (N, C, H, W), w is (K, C, R, S), b is (K) or NULL, y is (N, K, P, Q)
 * with P = (H + 2 pad - R) / stride + 1 and Q likewise; zero padding.
 * fer_conv2d_* pick the fastest kernel for the machine and shape; the _ref
 * kernels are the plain loops that define the result and test the others
 * (float sums, fixed order; db summed in double). */
#ifndef FER_CONV_H
#define FER_CONV_H

#include <stddef.h>

#include "backend.h"

/* fer_conv_shape is the backends' common vocabulary (backend.h). */

/* Fills s and computes P, Q. Returns 0, or -1 (fer_error() says why) when
 * a size is below 1, stride < 1, pad < 0 or the kernel is larger than the
 * padded input. Padding may exceed the kernel (PyTorch allows it). */
int fer_conv_shape_init(fer_conv_shape *s, int N, int C, int H, int W, int K, int R, int S,
                        int stride, int pad);

/* Floats of scratch space that forward or backward may use for this shape;
 * the caller allocates it once (memory is planned, not malloc'd per batch). */
size_t fer_conv2d_workspace(const fer_conv_shape *s);

/* y = conv(x, w) + b. ws: fer_conv2d_workspace(s) floats. */
void fer_conv2d_forward(const fer_conv_shape *s, const float *x, const float *w, const float *b,
                        float *y, float *ws);

/* Training's fused forward (backend.h's conv_forward_fused): the same y,
 * then y = max(y, 0) when relu, and stats (2 K doubles) set to each
 * channel's sum of the stored y over (N, P, Q), then its sum of y^2,
 * taken as each part of the output is written (conv_epilogue.h) and
 * added in an order that does not depend on the thread count. */
void fer_conv2d_forward_fused(const fer_conv_shape *s, const float *x, const float *w,
                              const float *b, int relu, float *y, double *stats, float *ws);

/* Inference's fused forward (backend.h's conv_forward_infer_fused): y =
 * conv(x, w) + b, then max(y, 0) when relu, then batch norm's inference
 * (layers.h) when gamma is not NULL, then y + add when add is not NULL (a
 * residual join: add laid out as y), then max(y, 0) when relu2: the same
 * bits as the ops one by one, each span of y done while in cache (the
 * add, where the path cannot take it, in a pass after).
 * pack, unless NULL, keeps w packed for the GEMMs between calls
 * (fer_conv2d_infer_pack_floats(s) floats, any contents at first): it is
 * packed when repack is set or when what it holds was packed for another
 * path, shape, GEMM kernel or precision, and used as it is otherwise, so
 * the caller sets repack whenever w has changed. The same bits either
 * way. */
size_t fer_conv2d_infer_pack_floats(const fer_conv_shape *s);
void fer_conv2d_forward_infer_fused(const fer_conv_shape *s, const float *x, const float *w,
                                    const float *b, int relu, const float *gamma,
                                    const float *beta, float eps, const float *mean,
                                    const float *var, const float *add, int relu2, float *y,
                                    float *ws, float *pack, int repack);

/* Given dy (N, K, P, Q): dx (N, C, H, W, skipped when NULL), dw (K, C, R, S)
 * and db (K, skipped when NULL) are overwritten, not accumulated. */
void fer_conv2d_backward(const fer_conv_shape *s, const float *x, const float *w, const float *dy,
                         float *dx, float *dw, float *db, float *ws);

void fer_conv2d_forward_ref(const fer_conv_shape *s, const float *x, const float *w,
                            const float *b, float *y);
void fer_conv2d_backward_ref(const fer_conv_shape *s, const float *x, const float *w,
                             const float *dy, float *dx, float *dw, float *db);

#endif
