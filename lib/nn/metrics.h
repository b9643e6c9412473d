/* metrics.h: classification metrics from true and predicted labels, laid
 * out as scikit-learn's confusion_matrix and classification_report. */
#ifndef FER_METRICS_H
#define FER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define FER_METRICS_MAXK 32

typedef struct fer_metrics {
    int k;                                  /* classes */
    long cm[FER_METRICS_MAXK][FER_METRICS_MAXK]; /* cm[true][pred] */
    long n;                                 /* samples counted */
    double accuracy;
    double precision[FER_METRICS_MAXK], recall[FER_METRICS_MAXK], f1[FER_METRICS_MAXK];
    long support[FER_METRICS_MAXK];
    double macro_p, macro_r, macro_f1;      /* unweighted means over classes */
    double weighted_p, weighted_r, weighted_f1; /* weighted by support */
} fer_metrics;

/* Counts the n pairs (labels < 0 are ignored) and computes every figure.
 * A class never predicted has precision 0 (scikit-learn's zero_division=0
 * behaviour), never present recall 0. */
void fer_metrics_compute(fer_metrics *m, int k, const int32_t *truth, const int32_t *pred,
                         size_t n);

/* Index of the largest of k values (the first on ties). */
int fer_metrics_argmax(const float *v, int k);

#endif
