/* dense.c: fully connected layer (PyTorch Linear), the reference loops and
 * the dispatch point. Every inner loop runs along I, contiguous in x, w, dx
 * and dw; sums are float, in this fixed order. fer_dense_forward/backward
 * are the fast path: three GEMMs (gemm.h). */
#include "gemm.h"
#include "layers.h"

void fer_dense_forward(int N, int I, int O, const float *x, const float *w, const float *b,
                       float *y)
{
    /* y (N, O) = x (N, I) w^T (I, O) + b */
    fer_gemm(0, 1, N, O, I, 1.0f, x, I, w, I, 0.0f, y, O);
    if (b)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < O; o++)
                y[(size_t)n * O + o] += b[o];
}

void fer_dense_backward(int N, int I, int O, const float *x, const float *w, const float *dy,
                        float *dx, float *dw, float *db)
{
    /* dx (N, I) = dy (N, O) w (O, I); dw (O, I) = dy^T (O, N) x (N, I) */
    if (dx)
        fer_gemm(0, 0, N, I, O, 1.0f, dy, O, w, I, 0.0f, dx, I);
    fer_gemm(1, 0, O, I, N, 1.0f, dy, O, x, I, 0.0f, dw, I);
    if (db)
        for (int o = 0; o < O; o++) {
            double acc = 0;
            for (int n = 0; n < N; n++)
                acc += dy[(size_t)n * O + o];
            db[o] = (float)acc;
        }
}

/* y[n][o] = b[o] + sum_i x[n][i] * w[o][i] */
void fer_dense_forward_ref(int N, int I, int O, const float *x, const float *w, const float *b,
                           float *y)
{
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * I;
        for (int o = 0; o < O; o++) {
            const float *wo = w + (size_t)o * I;
            float acc = 0.0f;
            for (int i = 0; i < I; i++)
                acc += xn[i] * wo[i];
            y[(size_t)n * O + o] = (b ? b[o] : 0.0f) + acc;
        }
    }
}

/* dx[n] = sum_o dy[n][o] w[o], dw[o] = sum_n dy[n][o] x[n], db[o] = sum_n dy[n][o] */
void fer_dense_backward_ref(int N, int I, int O, const float *x, const float *w,
                            const float *dy, float *dx, float *dw, float *db)
{
    if (dx)
        for (int n = 0; n < N; n++) {
            float *dxn = dx + (size_t)n * I;
            for (int i = 0; i < I; i++)
                dxn[i] = 0.0f;
            for (int o = 0; o < O; o++) {
                const float g = dy[(size_t)n * O + o], *wo = w + (size_t)o * I;
                for (int i = 0; i < I; i++)
                    dxn[i] += g * wo[i];
            }
        }
    for (int o = 0; o < O; o++) {
        float *dwo = dw + (size_t)o * I;
        double bsum = 0;
        for (int i = 0; i < I; i++)
            dwo[i] = 0.0f;
        for (int n = 0; n < N; n++) {
            const float g = dy[(size_t)n * O + o], *xn = x + (size_t)n * I;
            for (int i = 0; i < I; i++)
                dwo[i] += g * xn[i];
            bsum += g;
        }
        if (db)
            db[o] = (float)bsum;
    }
}
