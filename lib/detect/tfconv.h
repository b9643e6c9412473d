/* tfconv.h: the convolutions of TensorFlow-trained detectors (MobileNet
 * SSD), on one image of C channel planes, (C, H, W) floats, as
 * TensorFlow defines them, so that imported weights give the original's
 * outputs:
 *
 *  - padding: "valid" uses no padding, Ho = ceil((H - k + 1) / s);
 *    "same" gives Ho = ceil(H / s) and pads (Ho - 1) s + k - H rows in
 *    all (at least 0), the smaller half BEFORE the first row: with an even
 *    H, k = 3 and s = 2 that is 0 rows above and 1 below (not 1 and 1, as
 *    a symmetric padding would). Columns likewise. Padding is zeros;
 *  - depthwise: output channel c is input channel c convolved with its own
 *    k x k filter (channel multiplier 1);
 *  - dense: every output channel sums over all input channels (pointwise
 *    when k = 1), done with fer_gemm (gemm.h), so threaded;
 *  - each output gets its bias, then is clipped to [lo, hi] (ReLU6 is
 *    lo = 0, hi = 6; no clip is -INFINITY, INFINITY).
 *
 * Weights here are fer's layout: dense (K, C, k, k), depthwise (C, k, k).
 * fer_tf_hwio_to_kckk and fer_tf_hwc1_to_ckk convert TensorFlow's (k, k,
 * C, K) and (k, k, C, 1); fer_tf_fold_bn folds an inference batch norm
 * into the weights and bias before it.
 *
 * Sizes are the caller's contract (not checked), except what the return
 * values say. */
#ifndef FER_TFCONV_H
#define FER_TFCONV_H

enum { FER_PAD_VALID = 0, FER_PAD_SAME = 1 };

/* Output length of an input length n under kernel k, stride s, mode;
 * 0 when nothing fits (valid, n < k). */
int fer_tf_out_len(int n, int k, int s, int mode);

/* Zero rows (or columns) padded before the first one: 0 for valid,
 * floor(total / 2) for same. */
int fer_tf_pad_before(int n, int k, int s, int mode);

/* Depthwise: x (C, H, W), w (C, k, k), bias (C) or NULL, y (C, Ho, Wo).
 * Channels are shared out over the thread pool (threads.h). */
void fer_tf_depthwise(const float *x, int C, int H, int W, const float *w, int k, int s, int mode,
                      const float *bias, float lo, float hi, float *y);

/* Dense: x (C, H, W), w (K, C, k, k), bias (K) or NULL, y (K, Ho, Wo).
 * k = 1 with s = 1 multiplies straight from x; otherwise the column matrix
 * (C k k, Ho Wo) is built in a malloc'd buffer. Returns 0, or -1 with
 * fer_error() set when out of memory. */
int fer_tf_conv(const float *x, int C, int H, int W, const float *w, int K, int k, int s,
                int mode, const float *bias, float lo, float hi, float *y);

/* TensorFlow's conv2d filter (k, k, C, K) as (K, C, k, k). */
void fer_tf_hwio_to_kckk(const float *src, int k, int C, int K, float *dst);

/* TensorFlow's depthwise filter (k, k, C, 1) as (C, k, k). */
void fer_tf_hwc1_to_ckk(const float *src, int k, int C, float *dst);

/* Folds y = (conv(x) + b - mean) * gamma / sqrt(var + eps) + beta into
 * the conv: each output channel's n weights w[c*n .. c*n + n) and its bias
 * (b[c], taken as 0 when b_in is NULL) are rewritten, for C channels:
 * w *= g, bias = (b - mean) g + beta with g = gamma / sqrt(var + eps),
 * computed in double. */
void fer_tf_fold_bn(float *w, int C, int n, const float *b_in, const float *gamma,
                    const float *beta, const float *mean, const float *var, double eps,
                    float *bias);

#endif
