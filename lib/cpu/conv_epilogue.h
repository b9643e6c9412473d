/* conv_epilogue.h: the CPU's fused convolution epilogues, applied to an
 * output span right after the kernel wrote it, while it is still in the
 * cache, instead of in passes of their own over the whole output:
 *   training (conv.h's fer_conv2d_forward_fused): the ReLU, and batch
 *     norm's per-channel sums of y and y^2;
 *   inference (fer_conv2d_forward_infer_fused): the ReLU, batch norm's
 *     y a + c per channel, the ReLU after it: the same float operations
 *     as the separate ops, so the same bits.
 *
 * The sums go by parts that do not depend on the thread count (a forward
 * block of Winograd's, an image of implicit GEMM's): each part sums its
 * spans into part[2 (p K + k)] (sum, sum of squares) in double, and
 * fer_conv_epi_finish adds the parts in part order. The squares of
 * floats are exact in double. Internal to lib/cpu. */
#ifndef FER_CONV_EPILOGUE_H
#define FER_CONV_EPILOGUE_H

#include <stddef.h>

typedef struct fer_conv_epi {
    int relu;           /* y = max(y, 0) first (relu_forward's expression) */
    double *part;       /* training: the sums, (parts, K, 2); else NULL */
    const float *a, *c; /* inference: then y = y a[k] + c[k] (K each), or NULL */
    int relu2;          /* inference: then y = max(y, 0) */
    const float *add;   /* inference, or NULL: y + add (laid out as y) before relu2, where
                           the path applies it (fer_conv_wino_adds), a residual join */
} fer_conv_epi;

/* The loops are inlined into their callers (FER_CLONES kernels, so
 * compiled for AVX-512 there) and specialised on their flags, which are
 * constants at each call: a loop testing a flag per element, or a call
 * per span, ran the fused passes several times slower than the separate
 * ones. */
#define FER_EPI_INLINE static inline __attribute__((always_inline))

/* The ReLU over y[0 .. n) in place when relu, then its sum and sum of
 * squares added to acc[0] and acc[1]; 8 double lanes, so that it
 * vectorises. */
FER_EPI_INLINE void epi_sums(float *restrict y, int n, const int relu, double *restrict acc)
{
    double a[8] = {0}, b[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int u = 0; u < 8; u++) {
            float v = y[i + u];
            if (relu)
                y[i + u] = v = v > 0.0f ? v : 0.0f;
            a[u] += v;
            b[u] += (double)v * v;
        }
    for (; i < n; i++) {
        float v = y[i];
        if (relu)
            y[i] = v = v > 0.0f ? v : 0.0f;
        acc[0] += v;
        acc[1] += (double)v * v;
    }
    for (int u = 0; u < 8; u++) {
        acc[0] += a[u];
        acc[1] += b[u];
    }
}

FER_EPI_INLINE void fer_conv_epi_sums(float *restrict y, int n, int relu, double *restrict acc)
{
    if (relu)
        epi_sums(y, n, 1, acc);
    else
        epi_sums(y, n, 0, acc);
}

/* Inference's epilogue over y[0 .. n): the flags r1, bn, r2 as in
 * fer_conv_epi, a and c channel k's. */
FER_EPI_INLINE void epi_affine(float *restrict y, int n, const int r1, const int bn, const int r2,
                               float a, float c)
{
    for (int i = 0; i < n; i++) {
        float v = y[i];
        if (r1)
            v = v > 0.0f ? v : 0.0f;
        if (bn)
            v = v * a + c;
        if (r2)
            v = v > 0.0f ? v : 0.0f;
        y[i] = v;
    }
}

FER_EPI_INLINE void fer_conv_epi_affine(float *restrict y, int n, const fer_conv_epi *e, int k)
{
    const float a = e->a ? e->a[k] : 1.0f, c = e->a ? e->c[k] : 0.0f;
    switch ((e->relu ? 1 : 0) | (e->a ? 2 : 0) | (e->relu2 ? 4 : 0)) {
    case 1: epi_affine(y, n, 1, 0, 0, a, c); break;
    case 2: epi_affine(y, n, 0, 1, 0, a, c); break;
    case 3: epi_affine(y, n, 1, 1, 0, a, c); break;
    case 4: epi_affine(y, n, 0, 0, 1, a, c); break;
    case 5: epi_affine(y, n, 1, 0, 1, a, c); break;
    case 6: epi_affine(y, n, 0, 1, 1, a, c); break;
    case 7: epi_affine(y, n, 1, 1, 1, a, c); break;
    default: break;
    }
}

/* The epilogue e over y[0 .. n) of channel k: the sums into part p's of
 * channel k when training, else inference's. */
FER_EPI_INLINE void fer_conv_epi_span(float *restrict y, int n, const fer_conv_epi *e, int K, int k,
                                      size_t p)
{
    if (e->part)
        fer_conv_epi_sums(y, n, e->relu, e->part + 2 * (p * K + k));
    else
        fer_conv_epi_affine(y, n, e, k);
}

/* stats[k] = the parts' sums of channel k, stats[K + k] their sums of
 * squares, added in part order. */
static inline void fer_conv_epi_finish(const double *part, int parts, int K, double *stats)
{
    for (int k = 0; k < K; k++) {
        double s = 0, s2 = 0;
        for (int p = 0; p < parts; p++) {
            s += part[2 * ((size_t)p * K + k)];
            s2 += part[2 * ((size_t)p * K + k) + 1];
        }
        stats[k] = s;
        stats[K + k] = s2;
    }
}

#endif
