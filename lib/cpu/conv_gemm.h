/* conv_gemm.h: convolution as GEMM with implicit im2col (internal to
 * conv.c's dispatch; tested against the reference kernels in
 * tests/test_fastpath.c). conv_gemm.c says how each pass maps to GEMMs;
 * 3x3 stride-1 shapes with enough channels go to Winograd's algorithm
 * (conv_winograd.h) instead, forward, data and weight gradient, and 3x3
 * stride-1 shapes of one input channel to conv_direct.h.
 * Forward processes images in groups of fer_conv_gemm_group so that small
 * images still make long GEMM rows; FER_CONV_COLS_TARGET bounds the floats
 * a group stages in the workspace. */
#ifndef FER_CONV_GEMM_H
#define FER_CONV_GEMM_H

#include "conv.h"
#include "conv_epilogue.h"

#define FER_CONV_COLS_TARGET (1u << 21)

/* want images a group, at most cap (by a workspace bound), kept within
 * 1 .. N: the group sizes of conv_gemm.c and conv_winograd.c. */
int fer_conv_clamp_group(size_t want, size_t cap, int N);

/* Images per group for shape s. */
int fer_conv_gemm_group(const fer_conv_shape *s);

/* Floats of workspace forward and backward need. */
size_t fer_conv_gemm_workspace(const fer_conv_shape *s);

/* y = conv(x, w) + b, then epi's ReLU and sums (conv_epilogue.h) unless
 * epi is NULL, in fer_conv_epi_parts(s) parts. */
void fer_conv2d_forward_gemm(const fer_conv_shape *s, const float *x, const float *w,
                             const float *b, float *y, float *ws, const fer_conv_epi *epi);
int fer_conv_epi_parts(const fer_conv_shape *s);

/* Weights that stay fixed over many forward passes (inference) packed
 * once for the GEMMs: fer_conv_pack_floats(s) floats hold them for any
 * batch size; fer_conv_pack fills pack for the path the forward pass
 * takes at s->N (fer_conv_pack_kind: 1 Winograd, 2 implicit GEMM, 3
 * direct, whose pack is the weights as they are) and for the GEMM kernel
 * and precision of the moment (fer_gemm_layout).
 * fer_conv2d_forward_packed is then
 * fer_conv2d_forward_gemm with the same bits, for shapes of the same
 * kind. */
int fer_conv_pack_kind(const fer_conv_shape *s);
size_t fer_conv_pack_floats(const fer_conv_shape *s);
void fer_conv_pack(const fer_conv_shape *s, const float *w, float *pack);
void fer_conv2d_forward_packed(const fer_conv_shape *s, const float *x, const float *pack,
                               const float *b, float *y, float *ws, const fer_conv_epi *epi);
void fer_conv2d_backward_gemm(const fer_conv_shape *s, const float *x, const float *w,
                              const float *dy, float *dx, float *dw, float *db, float *ws);

/* Whether the generators of the weight gradient and of the strided
 * forward may write the bf16 kernel's pair panels themselves (on by
 * default; they do only with that kernel). Off, they write fp32 panels
 * that the GEMM folds, for the same bits. For tests that compare the
 * two. */
void fer_conv_gemm_set_paired(int on);

#endif
