/* metrics.c: confusion matrix, precision, recall, F1. */
#include <string.h>

#include "error.h"
#include "metrics.h"

int fer_metrics_argmax(const float *v, int k)
{
    int best = 0;
    for (int i = 1; i < k; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

void fer_metrics_compute(fer_metrics *m, int k, const int32_t *truth, const int32_t *pred,
                         size_t n)
{
    long correct = 0, total_support = 0;
    FER_ASSERT(k >= 1 && k <= FER_METRICS_MAXK);
    memset(m, 0, sizeof *m);
    m->k = k;
    for (size_t i = 0; i < n; i++) {
        if (truth[i] < 0 || truth[i] >= k || pred[i] < 0 || pred[i] >= k)
            continue;
        m->cm[truth[i]][pred[i]]++;
        m->n++;
        correct += truth[i] == pred[i];
    }
    m->accuracy = m->n ? (double)correct / m->n : 0;
    for (int c = 0; c < k; c++) {
        long tp = m->cm[c][c], predicted = 0, actual = 0;
        for (int j = 0; j < k; j++) {
            predicted += m->cm[j][c];
            actual += m->cm[c][j];
        }
        m->support[c] = actual;
        m->precision[c] = predicted ? (double)tp / predicted : 0;
        m->recall[c] = actual ? (double)tp / actual : 0;
        m->f1[c] = m->precision[c] + m->recall[c] > 0
                       ? 2 * m->precision[c] * m->recall[c] / (m->precision[c] + m->recall[c])
                       : 0;
        m->macro_p += m->precision[c] / k;
        m->macro_r += m->recall[c] / k;
        m->macro_f1 += m->f1[c] / k;
        m->weighted_p += m->precision[c] * actual;
        m->weighted_r += m->recall[c] * actual;
        m->weighted_f1 += m->f1[c] * actual;
        total_support += actual;
    }
    if (total_support) {
        m->weighted_p /= total_support;
        m->weighted_r /= total_support;
        m->weighted_f1 /= total_support;
    }
}
