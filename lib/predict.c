/* predict.c: batched inference. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "layers.h"
#include "predict.h"

void fer_mirror(const uint8_t *src, size_t n, int c, int h, int w, uint8_t *dst)
{
    for (size_t r = 0; r < n * c * h; r++) {
        const uint8_t *s = src + r * w;
        uint8_t *d = dst + r * w;
        for (int i = 0, j = w - 1; i <= j; i++, j--) {
            uint8_t a = s[i], b = s[j];
            d[i] = b;
            d[j] = a;
        }
    }
}

int fer_predict(fer_model *m, const uint8_t *px, size_t n, int batch, int flip, float *probs)
{
    int c, h, w, k = m->nclasses;
    size_t img;
    float *x, *p2 = NULL;
    uint8_t *tmp = NULL;
    fer_net_input_shape(m->net, &c, &h, &w);
    img = (size_t)c * h * w;
    if (batch < 1)
        batch = 1;
    if ((size_t)batch > n)
        batch = n ? (int)n : 1;
    if (fer_net_max_batch(m->net) >= batch)
        batch = fer_net_max_batch(m->net);   /* use the plan there is */
    else if (fer_net_plan_infer(m->net, batch))
        return -1;
    x = malloc((size_t)batch * img * sizeof(float));
    if (flip) {
        tmp = malloc((size_t)batch * img);
        p2 = malloc((size_t)batch * k * sizeof(float));
    }
    if (!x || (flip && (!tmp || !p2))) {
        free(x);
        free(tmp);
        free(p2);
        return fer_seterr("out of memory");
    }
    for (size_t i = 0; i < n; i += batch) {
        int b = (int)(n - i < (size_t)batch ? n - i : (size_t)batch);
        fer_model_preprocess(m, px + i * img, b, x);
        fer_softmax(b, k, fer_net_forward(m->net, x, b, 0, NULL), probs + i * k);
        if (flip) {
            fer_mirror(px + i * img, b, c, h, w, tmp);
            fer_model_preprocess(m, tmp, b, x);
            fer_softmax(b, k, fer_net_forward(m->net, x, b, 0, NULL), p2);
            for (size_t j = 0; j < (size_t)b * k; j++)
                probs[i * k + j] = 0.5f * (probs[i * k + j] + p2[j]);
        }
    }
    free(x);
    free(tmp);
    free(p2);
    return 0;
}
