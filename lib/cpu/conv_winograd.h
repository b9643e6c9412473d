/* conv_winograd.h: 3x3 stride-1 convolution by Winograd's minimal
 * filtering F(2x2, 3x3) (Lavin and Gray, 2015), internal to conv_gemm.c.
 *
 * Each 2x2 block of outputs comes from a 4x4 block of input: with the
 * input transformed (V = B^T d B), the weights transformed (U = G g G^T)
 * and the product taken element by element and summed over channels as 16
 * GEMMs, M[xi] (K, tiles) = U[xi] (K, C) x V[xi] (C, tiles), the outputs
 * are A^T M A. That is 16 multiply-adds per 2x2 outputs and channel pair
 * where direct convolution takes 36: 2.25 times fewer. The transforms'
 * constants are 0, +-1 and 1/2, so rounding stays near that of direct
 * convolution (tests/test_fastpath.c compares with the reference loops). */
#ifndef FER_CONV_WINOGRAD_H
#define FER_CONV_WINOGRAD_H

#include "conv.h"
#include "conv_epilogue.h"

/* Whether shape s is a 3x3 stride-1 convolution that Winograd serves
 * better than implicit GEMM (enough channels and tiles). */
int fer_conv_wino_ok(const fer_conv_shape *s);

/* Floats of workspace fer_conv2d_forward_wino needs (any 3x3 stride-1
 * shape). */
size_t fer_conv_wino_workspace(const fer_conv_shape *s);

/* y = conv(x, w) + b (b may be NULL) for a 3x3, stride-1 shape; then
 * epi's ReLU and sums (conv_epilogue.h) unless epi is NULL, in
 * fer_conv_wino_blocks(s) parts: the forward blocks. */
void fer_conv2d_forward_wino(const fer_conv_shape *s, const float *x, const float *w,
                             const float *b, float *y, float *ws, const fer_conv_epi *epi);
int fer_conv_wino_blocks(const fer_conv_shape *s);
/* Whether the forward applies an inference epilogue's residual add
 * (fer_conv_epi.add) itself, in its AVX-512 output transform. */
int fer_conv_wino_adds(const fer_conv_shape *s);

/* The same pass in two halves, for weights that stay fixed over many
 * passes (inference): fer_conv_wino_pack transforms and packs w into pack
 * (fer_conv_wino_pack_floats(s) floats), for the
 * GEMM kernel and precision of the moment; fer_conv2d_forward_wino_packed
 * runs the forward from it, with the same bits as the whole pass. */
size_t fer_conv_wino_pack_floats(const fer_conv_shape *s);
void fer_conv_wino_pack(const fer_conv_shape *s, const float *w, float *pack);
/* fer_conv_wino_pack of the weights wt[k][c][r][s] = w[c][k][2-r][2-s]
 * (w: C x K x 3 x 3), a data gradient's, without making them: the same
 * pack as from wt. */
void fer_conv_wino_pack_flipped(const fer_conv_shape *s, const float *w, float *pack);
void fer_conv2d_forward_wino_packed(const fer_conv_shape *s, const float *x, const float *pack,
                                    const float *b, float *y, float *ws,
                                    const fer_conv_epi *epi);

/* Whether the transforms may write the bf16 kernel's operands as bf16
 * (on by default; they do only with that kernel): the forward's input as
 * pair slots in the GEMM's panels, the weight gradient's V and M as
 * bf16 rows. Off, they write fp32 planes that the GEMM packs, for the
 * same bits. For tests that compare the two. */
void fer_conv_wino_set_slots(int on);

/* dw (K, C, 3, 3) = the weight gradient for dy (N, K, P, Q), through
 * the same transforms: dU[xi] = sum over tiles of (A dy A^T)[xi] times
 * V[xi], then dw = G^T dU G. Same workspace as the forward pass. */
void fer_conv2d_wgrad_wino(const fer_conv_shape *s, const float *x, const float *dy, float *dw,
                           float *ws);

#endif
