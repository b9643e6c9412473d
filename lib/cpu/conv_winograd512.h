/* conv_winograd512.h: the F(2x2, 3x3) input and output transforms (and
 * the weight gradient's transform of dy) with AVX-512 intrinsics, for conv_winograd.c. Built on x86-64 with GCC or clang,
 * except under AddressSanitizer (its masked loads may start before a row,
 * as the hardware allows); elsewhere FER_WINO512 is 0 and the portable
 * transform runs. */
#ifndef FER_CONV_WINOGRAD512_H
#define FER_CONV_WINOGRAD512_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__)
#define FER_WINO512 1

/* Whether this CPU has AVX-512F (asked once). */
int fer_wino512_available(void);

/* Whether rows of TX tiles fit the transform's mask tables. */
int fer_wino512_fits(int TX);

/* V = B^T d B for the tile rows [r0, r1) of one channel: tile row r is
 * image r / TY, row r % TY; that image's H x W plane of the channel starts
 * at x + (r / TY) * img_stride; zero padding pad. Tile t of the range goes
 * to V[xi * xs + t] for the 16 planes xi = 4i + j. */
void fer_wino512_input(int H, int W, int pad, int TY, int TX, const float *x,
                       size_t img_stride, int r0, int r1, float *V, size_t xs);

/* fer_wino512_input for two channels at once, x0 and x1 (NULL: a zero
 * channel past an odd count), as the bf16 GEMM kernel's pair slots in its
 * panels of B (gemm.h, fer_gemm_panel_cols): tile t of plane xi is the
 * 32-bit slot at V + xi * xs + (t / nr) * ld + t % nr, x0's value rounded
 * to bf16 in its low half, x1's in its high. On CPUs with AVX512_BF16. */
void fer_wino512_input_slots(int H, int W, int pad, int TY, int TX, const float *x0,
                             const float *x1, size_t img_stride, int r0, int r1, float *V,
                             size_t xs, size_t ld, int nr);

/* Inference's epilogue of one output channel, applied to each output in
 * registers before it is stored (conv_epilogue.h's epi_affine, the same
 * float operations): v = max(v, 0) when relu, v = v a + c when bn, then
 * max(v, 0) when relu2. */
typedef struct fer_wino512_epi {
    int relu, bn, relu2;
    float a, c;
    const float *add;   /* or NULL: y + add (laid out as y) before relu2 */
} fer_wino512_epi;

/* y = A^T m A + bias for the tile rows [r0, r1) of one output channel,
 * then ep's epilogue unless ep is NULL: the inverse layout of
 * fer_wino512_input, tile t of the range from M[xi * xs + t]; tile row r
 * is image r / TY, row r % TY, whose P x Q plane of the channel starts at
 * y + (r / TY) * img_stride. Outputs past P or Q (tiles over an odd edge)
 * are not written. */
void fer_wino512_output(int P, int Q, int TY, int TX, float *y, size_t img_stride, float bias,
                        int r0, int r1, const float *M, size_t xs, const fer_wino512_epi *ep);

/* The weight gradient's transform of the output gradient, dY' = A dy A^T,
 * for the tile rows [ty0, ty1) of one (image, channel) plane dy (P x Q;
 * zero past an odd edge): tile (ty, tx) to M[xi * xs + (ty - ty0) * TX +
 * tx] for the 16 planes. */
void fer_wino512_grad(int P, int Q, int TX, int ty0, int ty1, const float *dy, float *M,
                      size_t xs);
/* The weight gradient's two transforms with their results rounded to
 * bf16 (the operands of its bf16 GEMM, stored in half the bytes), laid
 * out as fer_wino512_input's and fer_wino512_grad's. On CPUs with
 * AVX512_BF16. */
void fer_wino512_input_half(int H, int W, int pad, int TY, int TX, const float *x,
                            size_t img_stride, int r0, int r1, uint16_t *V, size_t xs);
void fer_wino512_grad_half(int P, int Q, int TX, int ty0, int ty1, const float *dy, uint16_t *M,
                           size_t xs);
#else
#define FER_WINO512 0
#endif

#endif
