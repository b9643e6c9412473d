/* loss.c: softmax and the softmax cross-entropy loss of PyTorch's
 * CrossEntropyLoss(weight=w, label_smoothing=eps, reduction='mean').
 *
 * With log p = log_softmax(logits), K classes and N rows:
 *   loss = sum_i [ (1 - eps) w[y_i] (-log p_i,y_i)
 *                  + eps / K sum_k w[k] (-log p_i,k) ] / sum_i w[y_i]
 * (w all ones without weights: the divisor is then N). Sums in double. */
#include <math.h>

#include "error.h"
#include "layers.h"

/* Row max and log of sum exp(x - max), in double. */
static void row_logsumexp(int K, const float *x, double *max, double *lse)
{
    double m = x[0], s = 0;
    for (int k = 1; k < K; k++)
        if (x[k] > m)
            m = x[k];
    for (int k = 0; k < K; k++)
        s += exp(x[k] - m);
    *max = m;
    *lse = log(s);
}

void fer_softmax(int N, int K, const float *x, float *p)
{
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * K;
        double m, lse;
        row_logsumexp(K, xn, &m, &lse);
        for (int k = 0; k < K; k++)
            p[(size_t)n * K + k] = (float)exp(xn[k] - m - lse);
    }
}

static double weight(const float *class_w, int k) { return class_w ? class_w[k] : 1.0; }

double fer_xent_forward(int N, int K, const float *logits, const int32_t *labels,
                        const float *class_w, float smoothing, float *probs)
{
    const double eps = smoothing;
    double total = 0, wsum = 0;
    for (int n = 0; n < N; n++) {
        const float *zn = logits + (size_t)n * K;
        const int y = labels[n];
        double m, lse, smooth = 0;
        FER_ASSERT(y >= 0 && y < K);
        row_logsumexp(K, zn, &m, &lse);
        for (int k = 0; k < K; k++) {
            double logp = zn[k] - m - lse;
            probs[(size_t)n * K + k] = (float)exp(logp);
            smooth -= weight(class_w, k) * logp;
        }
        total += (1 - eps) * weight(class_w, y) * -(zn[y] - m - lse) + eps / K * smooth;
        wsum += weight(class_w, y);
    }
    return total / wsum;
}

/* d loss / d z_i,j = [ (1 - eps) w[y_i] (p_i,j - [j = y_i])
 *                      + eps / K (p_i,j sum_k w[k] - w[j]) ] / sum_i w[y_i] */
void fer_xent_backward(int N, int K, const float *probs, const int32_t *labels,
                       const float *class_w, float smoothing, float *dlogits)
{
    const double eps = smoothing;
    double wsum = 0, wall = 0;
    for (int n = 0; n < N; n++) {
        FER_ASSERT(labels[n] >= 0 && labels[n] < K);
        wsum += weight(class_w, labels[n]);
    }
    for (int k = 0; k < K; k++)
        wall += weight(class_w, k);
    for (int n = 0; n < N; n++) {
        const float *pn = probs + (size_t)n * K;
        const double wy = weight(class_w, labels[n]);
        for (int k = 0; k < K; k++) {
            double g = (1 - eps) * wy * (pn[k] - (k == labels[n])) +
                       eps / K * (pn[k] * wall - weight(class_w, k));
            dlogits[(size_t)n * K + k] = (float)(g / wsum);
        }
    }
}
