/* batchnorm.c: batch normalisation per channel over (N, HW), as PyTorch's
 * BatchNorm1d/2d. Statistics are summed in double, two passes (mean, then
 * squared deviations), so that large means do not cancel the variance. */
#include <math.h>

#include "error.h"
#include "layers.h"

/* Mean and biased variance of channel c of x (N, C, HW). */
static void channel_stats(int N, int C, int HW, const float *x, int c, double *mean,
                          double *var)
{
    const double M = (double)N * HW;
    double sum = 0, sq = 0;
    for (int n = 0; n < N; n++) {
        const float *xc = x + ((size_t)n * C + c) * HW;
        for (int i = 0; i < HW; i++)
            sum += xc[i];
    }
    *mean = sum / M;
    for (int n = 0; n < N; n++) {
        const float *xc = x + ((size_t)n * C + c) * HW;
        for (int i = 0; i < HW; i++) {
            double d = xc[i] - *mean;
            sq += d * d;
        }
    }
    *var = sq / M;
}

/* y = x * a + b per channel, with a = gamma * invstd, b = beta - mean * a. */
static void scale_shift(int N, int C, int HW, const float *x, int c, float a, float b, float *y)
{
    for (int n = 0; n < N; n++) {
        const size_t off = ((size_t)n * C + c) * HW;
        for (int i = 0; i < HW; i++)
            y[off + i] = x[off + i] * a + b;
    }
}

void fer_batchnorm_forward_train(int N, int C, int HW, const float *x, const float *gamma,
                                 const float *beta, float eps, float momentum,
                                 float *running_mean, float *running_var, float *y,
                                 float *save_mean, float *save_invstd)
{
    const double M = (double)N * HW;
    FER_ASSERT(M > 1);   /* the unbiased variance needs two values per channel */
    for (int c = 0; c < C; c++) {
        double mean, var;
        channel_stats(N, C, HW, x, c, &mean, &var);
        const double invstd = 1.0 / sqrt(var + eps);
        const double a = gamma[c] * invstd;
        scale_shift(N, C, HW, x, c, (float)a, (float)(beta[c] - mean * a), y);
        save_mean[c] = (float)mean;
        save_invstd[c] = (float)invstd;
        running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mean);
        running_var[c] = (float)((1.0 - momentum) * running_var[c] +
                                 momentum * var * M / (M - 1));
    }
}

void fer_batchnorm_forward_infer(int N, int C, int HW, const float *x, const float *gamma,
                                 const float *beta, float eps, const float *running_mean,
                                 const float *running_var, float *y)
{
    for (int c = 0; c < C; c++) {
        const double a = gamma[c] / sqrt((double)running_var[c] + eps);
        scale_shift(N, C, HW, x, c, (float)a, (float)(beta[c] - running_mean[c] * a), y);
    }
}

/* With xhat = (x - mean) * invstd and M = N * HW values per channel:
 * dbeta = sum dy, dgamma = sum dy * xhat and
 * dx = gamma * invstd * (dy - dbeta / M - xhat * dgamma / M). */
void fer_batchnorm_backward(int N, int C, int HW, const float *x, const float *dy,
                            const float *gamma, const float *save_mean,
                            const float *save_invstd, float *dx, float *dgamma, float *dbeta)
{
    const double M = (double)N * HW;
    for (int c = 0; c < C; c++) {
        const double mean = save_mean[c], invstd = save_invstd[c];
        double sdy = 0, sdyx = 0;
        for (int n = 0; n < N; n++) {
            const size_t off = ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                sdy += dy[off + i];
                sdyx += dy[off + i] * ((x[off + i] - mean) * invstd);
            }
        }
        dbeta[c] = (float)sdy;
        dgamma[c] = (float)sdyx;
        const double k = gamma[c] * invstd, mdy = sdy / M, mdyx = sdyx / M;
        for (int n = 0; n < N; n++) {
            const size_t off = ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                double xhat = (x[off + i] - mean) * invstd;
                dx[off + i] = (float)(k * (dy[off + i] - mdy - xhat * mdyx));
            }
        }
    }
}
