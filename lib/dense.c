/* dense.c: fully connected layer (PyTorch Linear), the reference loops and
 * the dispatch point. Every inner loop runs along I, contiguous in x, w, dx
 * and dw; sums are float, in this fixed order. fer_dense_forward/backward
 * are where a faster kernel will be chosen; for now they call the reference. */
#include "layers.h"

void fer_dense_forward(int N, int I, int O, const float *x, const float *w, const float *b,
                       float *y)
{
    fer_dense_forward_ref(N, I, O, x, w, b, y);
}

void fer_dense_backward(int N, int I, int O, const float *x, const float *w, const float *dy,
                        float *dx, float *dw, float *db)
{
    fer_dense_backward_ref(N, I, O, x, w, dy, dx, dw, db);
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
