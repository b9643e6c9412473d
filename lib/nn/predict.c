/* predict.c: batched inference, with test-time averaging over views. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "augment.h"
#include "error.h"
#include "metrics.h"
#include "layers.h"
#include "predict.h"

int fer_tta_parse(const char *name)
{
    static const char *names[4] = {"none", "flip", "crop10", "flipcrop"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, names[i]))
            return i;
    return -1;
}

const char *fer_tta_name(int tta)
{
    return tta == FER_TTA_FLIP       ? "flip"
           : tta == FER_TTA_CROP10   ? "crop10"
           : tta == FER_TTA_FLIPCROP ? "flipcrop"
                                     : "none";
}

int fer_tta_views(int tta)
{
    return tta == FER_TTA_FLIP ? 2 : tta == FER_TTA_CROP10 ? 10 : tta == FER_TTA_FLIPCROP ? 4 : 1;
}

void fer_tta_view(int tta, int v, const uint8_t *src, size_t n, int c, int h, int w,
                  uint8_t *dst)
{
    size_t img = (size_t)c * h * w;
    if (tta == FER_TTA_FLIPCROP) {   /* crop10's views 4 and 9 after flip's two */
        if (v < 2)
            fer_tta_view(FER_TTA_FLIP, v, src, n, c, h, w, dst);
        else
            fer_tta_view(FER_TTA_CROP10, v == 2 ? 4 : 9, src, n, c, h, w, dst);
    } else if (tta == FER_TTA_CROP10) {
        int cw = w - 2 * FER_TTA_CROP > 1 ? w - 2 * FER_TTA_CROP : 1;
        int ch = h - 2 * FER_TTA_CROP > 1 ? h - 2 * FER_TTA_CROP : 1;
        /* top left, top right, bottom left, bottom right, centre */
        static const int fx[5] = {0, 2, 0, 2, 1}, fy[5] = {0, 0, 2, 2, 1};
        int x0 = fx[v % 5] * (w - cw) / 2, y0 = fy[v % 5] * (h - ch) / 2;
        for (size_t i = 0; i < n; i++)
            fer_augment_crop(src + i * img, c, h, w, x0, y0, cw, ch, dst + i * img);
        if (v >= 5)
            fer_augment_mirror(dst, n, c, h, w, dst);
    } else if (tta == FER_TTA_FLIP && v == 1) {
        fer_augment_mirror(src, n, c, h, w, dst);
    } else {
        memcpy(dst, src, n * img);
    }
}

/* The views of b images (b views <= the plan's batch) as one pass of
 * b views images, view-major, then each image's probabilities summed in
 * view order and divided by the count, as the pass per view does: a
 * single face (a webcam's) then costs one pass of 2, 4 or 10, not 2, 4 or 10
 * passes of 1. The same probabilities as pass by pass, to the last bits
 * that a kernel chosen by batch size may change. */
static int views_at_once(fer_model *m, const uint8_t *src, int b, int tta, int views,
                         uint8_t *tmp, float *x, float *logits, float *out)
{
    int c, h, w, k = m->nclasses;
    size_t img;
    fer_net_input_shape(m->net, &c, &h, &w);
    img = (size_t)c * h * w;
    for (int v = 0; v < views; v++)
        fer_tta_view(tta, v, src, b, c, h, w, tmp + (size_t)v * b * img);
    fer_model_preprocess(m, tmp, (size_t)b * views, x);
    if (fer_net_forward(m->net, x, b * views, 0, 0, 0, logits))
        return -1;
    fer_softmax(b * views, k, logits, logits);
    memcpy(out, logits, (size_t)b * k * sizeof *out);
    for (int v = 1; v < views; v++)
        for (size_t j = 0; j < (size_t)b * k; j++)
            out[j] += logits[(size_t)v * b * k + j];
    for (size_t j = 0; j < (size_t)b * k; j++)
        out[j] /= (float)views;
    return 0;
}

int fer_predict(fer_model *m, const uint8_t *px, size_t n, int batch, int tta, float *probs)
{
    int c, h, w, k = m->nclasses, views = fer_tta_views(tta), rc = -1;
    size_t img;
    float *x, *p2 = NULL, *logits;
    uint8_t *tmp = NULL;
    fer_net_input_shape(m->net, &c, &h, &w);
    img = (size_t)c * h * w;
    if (batch < 1)
        batch = 1;
    if ((size_t)batch > n * views)   /* a pass holds at most all the views */
        batch = n ? (int)(n * views) : 1;
    if (fer_net_max_batch(m->net) >= batch)
        batch = fer_net_max_batch(m->net);   /* use the plan there is */
    else if (fer_net_plan_infer(m->net, batch))
        return -1;
    x = malloc((size_t)batch * img * sizeof(float));
    logits = malloc((size_t)batch * k * sizeof(float));
    if (views > 1) {
        tmp = malloc((size_t)batch * img);
        p2 = malloc((size_t)batch * k * sizeof(float));
    }
    if (!x || !logits || (views > 1 && (!tmp || !p2))) {
        free(x);
        free(logits);
        free(tmp);
        free(p2);
        return fer_seterr("out of memory");
    }
    for (size_t i = 0; i < n; i += batch) {
        int b = (int)(n - i < (size_t)batch ? n - i : (size_t)batch);
        float *out = probs + i * k;
        if (views > 1 && b * views <= batch) {   /* a few faces: one pass */
            if (views_at_once(m, px + i * img, b, tta, views, tmp, x, logits, out))
                goto fail;
            continue;
        }
        /* every view's probabilities summed, then divided by the count
         * (bit for bit the mean the flip path took before crop10); the
         * plain image, view 0 of none, flip and flipcrop, is read in place */
        for (int v = 0; v < views; v++) {
            const uint8_t *src = px + i * img;
            if (v > 0 || tta == FER_TTA_CROP10) {   /* every other view 0 is the image */
                fer_tta_view(tta, v, src, b, c, h, w, tmp);
                src = tmp;
            }
            fer_model_preprocess(m, src, b, x);
            if (fer_net_forward(m->net, x, b, 0, 0, 0, logits))
                goto fail;
            fer_softmax(b, k, logits, v ? p2 : out);
            for (size_t j = 0; v && j < (size_t)b * k; j++)
                out[j] += p2[j];
        }
        for (size_t j = 0; views > 1 && j < (size_t)b * k; j++)
            out[j] /= (float)views;
    }
    rc = 0;
fail:
    free(x);
    free(logits);
    free(tmp);
    free(p2);
    return rc;
}

int fer_predict_evaluate(fer_model *m, const fer_dataset *d, int batch, double *loss, double *acc)
{
    int k = m->nclasses;
    float *probs = malloc((d->n ? d->n : 1) * k * sizeof(float));
    double l = 0;
    long right = 0, counted = 0;
    if (!probs)
        return fer_seterr("out of memory");
    if (fer_predict(m, d->pixels, d->n, batch, 0, probs)) {
        free(probs);
        return -1;
    }
    for (size_t i = 0; i < d->n; i++) {
        const float *p = probs + i * k;
        int y = d->labels[i];
        if (y < 0 || y >= k)
            continue;
        right += fer_metrics_argmax(p, k) == y;
        l -= log(p[y] > 1e-12f ? p[y] : 1e-12);
        counted++;
    }
    *loss = counted ? l / counted : 0;
    *acc = counted ? (double)right / counted : 0;
    free(probs);
    return 0;
}

void fer_predict_sum(float *sum, const float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sum[i] += p[i];
}

void fer_predict_mean(float *sum, size_t n, int models)
{
    for (size_t i = 0; models > 1 && i < n; i++)
        sum[i] /= (float)models;
}
