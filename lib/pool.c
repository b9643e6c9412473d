/* pool.c: max pooling (with the argmax that backward routes through) and
 * global average pooling. */
#include <math.h>

#include "error.h"
#include "layers.h"

/* Windows start at (p * stride, q * stride); a NaN counts as the maximum (the
 * first one is kept) and a tie keeps the first element in row-major order. */
void fer_maxpool_forward(int N, int C, int H, int W, int k, int stride, const float *x,
                         float *y, int32_t *argmax)
{
    FER_ASSERT(k >= 1 && stride >= 1 && H >= k && W >= k);
    const int P = (H - k) / stride + 1, Q = (W - k) / stride + 1;
    for (size_t plane = 0; plane < (size_t)N * C; plane++) {
        const float *xp = x + plane * H * W;
        float *yp = y + plane * P * Q;
        int32_t *ap = argmax + plane * P * Q;
        for (int p = 0; p < P; p++)
            for (int q = 0; q < Q; q++) {
                int best = p * stride * W + q * stride;
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) {
                        int at = (p * stride + i) * W + q * stride + j;
                        if (!isnan(xp[best]) && (xp[at] > xp[best] || isnan(xp[at])))
                            best = at;
                    }
                yp[p * Q + q] = xp[best];
                ap[p * Q + q] = best;
            }
    }
}

/* Overlapping windows (k > stride) add their gradients. */
void fer_maxpool_backward(int N, int C, int H, int W, int k, int stride, const float *dy,
                          const int32_t *argmax, float *dx)
{
    const int P = (H - k) / stride + 1, Q = (W - k) / stride + 1;
    for (size_t i = 0; i < (size_t)N * C * H * W; i++)
        dx[i] = 0.0f;
    for (size_t plane = 0; plane < (size_t)N * C; plane++) {
        float *dxp = dx + plane * H * W;
        for (int i = 0; i < P * Q; i++)
            dxp[argmax[plane * P * Q + i]] += dy[plane * P * Q + i];
    }
}

void fer_avgpool_forward(int N, int C, int HW, const float *x, float *y)
{
    for (size_t plane = 0; plane < (size_t)N * C; plane++) {
        double acc = 0;
        for (int i = 0; i < HW; i++)
            acc += x[plane * HW + i];
        y[plane] = (float)(acc / HW);
    }
}

void fer_avgpool_backward(int N, int C, int HW, const float *dy, float *dx)
{
    for (size_t plane = 0; plane < (size_t)N * C; plane++) {
        const float g = (float)((double)dy[plane] / HW);
        for (int i = 0; i < HW; i++)
            dx[plane * HW + i] = g;
    }
}
