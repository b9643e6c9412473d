/* facenet_ssd.c: face-api.js's SSD MobileNetV1 on fer's CPU kernels
 * (facenet_ssd.h): loading the converted weights, the forward pass, the
 * decoding and the per-run NMS. */
#include "facenet_ssd.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "tfconv.h"
#include "tfinput.h"
#include "tfweights.h"
#include "tiled.h"

#define NPAIR 13        /* MobileNetV1's depthwise + pointwise pairs */
#define NPRED 8         /* the SSD layers after it */
#define NBOX 6          /* box predictors */
#define BN_EPS 0.0010000000474974513    /* face-api's batch-norm epsilon (float 1e-3) */

/* One convolution in fer's layout, bias and clip included. */
typedef struct conv {
    int C, K, k, s, dw;     /* dw: depthwise (K == C) */
    float *w, *b;
    float lo, hi;
} conv;

struct fer_ssd {
    conv c0, dw[NPAIR], pw[NPAIR], pred[NPRED], box[NBOX], cls[NBOX];
    int anchors_per_cell[NBOX];
    float *anchors;             /* (5118, 4): y0 x0 y1 x1 */
    /* working memory, allocated at the first run */
    float *in, *a, *b, *c11, *c13, *p[NPRED], *enc, *logit;
    fer_box *dec;
};

/* MobileNetV1's channels after conv 0 and each pair, and the pairs of
 * stride 2 */
static const int mb_ch[NPAIR + 1] = {32, 64, 128, 128, 256, 256, 512, 512,
                                     512, 512, 512, 512, 1024, 1024};
static int pair_stride(int i) { return i == 2 || i == 4 || i == 6 || i == 12 ? 2 : 1; }
/* the SSD layers: output channels; odd ones are 3x3 stride 2 */
static const int pred_ch[NPRED] = {256, 512, 128, 256, 128, 256, 64, 128};
/* box predictors: input channels and anchors per cell */
static const int box_ch[NBOX] = {512, 1024, 512, 256, 256, 128};
static const int box_na[NBOX] = {3, 6, 6, 6, 6, 6};

static void free_work(fer_ssd *m);

/* ---- loading ---- */

/* The tensor name, f32 of the given shape (nd dims), or NULL with
 * fer_error() set. */
static const float *find(const fer_tfweights *t, const char *name, int nd, int d0, int d1, int d2,
                         int d3)
{
    int want[4] = {d0, d1, d2, d3};
    return fer_tfweights_find(t, name, nd, want);
}

static float *fdup(const float *p, size_t n)
{
    float *q = malloc(sizeof *q * (n ? n : 1));
    if (q)
        memcpy(q, p, sizeof *q * n);
    return q;
}

/* A dense convolution from its TensorFlow weights name/weights (k, k, C,
 * K) and bias name/<bias> (K). */
static int load_dense(const fer_tfweights *t, conv *cv, const char *name, const char *bias, int C,
                      int K, int k, int s, float lo, float hi)
{
    char wn[256], bn[256];
    const float *w, *b;
    snprintf(wn, sizeof wn, "%s/weights", name);
    snprintf(bn, sizeof bn, "%s/%s", name, bias);
    if (!(w = find(t, wn, 4, k, k, C, K)) || !(b = find(t, bn, 1, K, 0, 0, 0)))
        return -1;
    *cv = (conv){C, K, k, s, 0, malloc(sizeof(float) * (size_t)k * k * C * K), fdup(b, K), lo, hi};
    if (!cv->w || !cv->b)
        return fer_seterr("%s: out of memory", t->path);
    fer_tf_hwio_to_kckk(w, k, C, K, cv->w);
    return 0;
}

/* A depthwise 3x3 convolution with its batch norm folded in. */
static int load_depthwise(const fer_tfweights *t, conv *cv, int i, int C)
{
    char n[6][256];
    const char *part[6] = {"depthwise_weights", "BatchNorm/gamma", "BatchNorm/beta",
                           "BatchNorm/moving_mean", "BatchNorm/moving_variance", NULL};
    const float *p[5];
    for (int j = 0; j < 5; j++) {
        snprintf(n[j], sizeof n[j], "MobilenetV1/Conv2d_%d_depthwise/%s", i, part[j]);
        if (!(p[j] = j ? find(t, n[j], 1, C, 0, 0, 0) : find(t, n[j], 4, 3, 3, C, 1)))
            return -1;
    }
    for (int c = 0; c < C; c++)
        if (p[4][c] + BN_EPS <= 0)
            return fer_seterr("%s: %s: a variance below -eps", t->path, n[4]);
    *cv = (conv){C, C, 3, pair_stride(i), 1, malloc(sizeof(float) * 9 * C),
                 malloc(sizeof(float) * C), 0, 6};
    if (!cv->w || !cv->b)
        return fer_seterr("%s: out of memory", t->path);
    fer_tf_hwc1_to_ckk(p[0], 3, C, cv->w);
    fer_tf_fold_bn(cv->w, C, 9, NULL, p[1], p[2], p[3], p[4], BN_EPS, cv->b);
    return 0;
}

static int load_all(fer_ssd *m, const fer_tfweights *t)
{
    char name[256];
    const float *anc;
    if (load_dense(t, &m->c0, "MobilenetV1/Conv2d_0_pointwise", "convolution_bn_offset", 3,
                   mb_ch[0], 3, 2, 0, 6) < 0)
        return -1;
    for (int i = 1; i <= NPAIR; i++) {
        if (load_depthwise(t, &m->dw[i - 1], i, mb_ch[i - 1]) < 0)
            return -1;
        snprintf(name, sizeof name, "MobilenetV1/Conv2d_%d_pointwise", i);
        if (load_dense(t, &m->pw[i - 1], name, "convolution_bn_offset", mb_ch[i - 1], mb_ch[i],
                       1, 1, 0, 6) < 0)
            return -1;
    }
    for (int i = 0; i < NPRED; i++) {
        int C = i ? pred_ch[i - 1] : mb_ch[NPAIR], odd = i & 1;
        snprintf(name, sizeof name, "Prediction/Conv2d_%d_pointwise", i);
        if (load_dense(t, &m->pred[i], name, "convolution_bn_offset", C, pred_ch[i],
                       odd ? 3 : 1, odd ? 2 : 1, 0, 6) < 0)
            return -1;
    }
    for (int i = 0; i < NBOX; i++) {
        snprintf(name, sizeof name, "Prediction/BoxPredictor_%d/BoxEncodingPredictor", i);
        if (load_dense(t, &m->box[i], name, "biases", box_ch[i], box_na[i] * 4, 1, 1,
                       -INFINITY, INFINITY) < 0)
            return -1;
        snprintf(name, sizeof name, "Prediction/BoxPredictor_%d/ClassPredictor", i);
        if (load_dense(t, &m->cls[i], name, "biases", box_ch[i], box_na[i] * 3, 1, 1,
                       -INFINITY, INFINITY) < 0)
            return -1;
    }
    if (!(anc = find(t, "Output/extra_dim", 3, 1, FER_SSD_ANCHORS, 4, 0)))
        return -1;
    if (!(m->anchors = fdup(anc, FER_SSD_ANCHORS * 4)))
        return fer_seterr("%s: out of memory", t->path);
    return 0;
}

fer_ssd *fer_ssd_load(const char *path)
{
    fer_tfweights t;
    fer_ssd *m = calloc(1, sizeof *m);
    int st = -1;
    if (!m) {
        fer_seterr("%s: out of memory", path);
        return NULL;
    }
    if (fer_tfweights_read(path, "ssd_mobilenetv1", "face-api's SSD MobileNetV1", &t) == 0) {
        st = load_all(m, &t);
        fer_tfweights_free(&t);
    }
    if (st < 0) {
        fer_ssd_free(m);
        return NULL;
    }
    for (int i = 0; i < NBOX; i++)
        m->anchors_per_cell[i] = box_na[i];
    return m;
}

static void conv_free(conv *c)
{
    free(c->w);
    free(c->b);
}

void fer_ssd_free(fer_ssd *m)
{
    if (!m)
        return;
    conv_free(&m->c0);
    for (int i = 0; i < NPAIR; i++) {
        conv_free(&m->dw[i]);
        conv_free(&m->pw[i]);
    }
    for (int i = 0; i < NPRED; i++)
        conv_free(&m->pred[i]);
    for (int i = 0; i < NBOX; i++) {
        conv_free(&m->box[i]);
        conv_free(&m->cls[i]);
    }
    free(m->anchors);
    free_work(m);
    free(m);
}

/* ---- the forward pass ---- */

void fer_ssd_decode(const float *anchors, const float *enc, int n, fer_box *out)
{
    for (int i = 0; i < n; i++) {
        const float *a = anchors + 4 * (size_t)i, *t = enc + 4 * (size_t)i;
        float h = a[2] - a[0], w = a[3] - a[1];
        float cy = a[0] + h / 2, cx = a[1] + w / 2;
        float hh = expf(t[2] / 5) * h / 2, hw = expf(t[3] / 5) * w / 2;
        float y = t[0] / 10 * h + cy, x = t[1] / 10 * w + cx;
        out[i] = (fer_box){y - hh, x - hw, y + hh, x + hw, 0};
    }
}

/* One layer: x (C, H, W) into y; H and W become the output's. */
static int run_conv(const conv *cv, const float *x, int *H, int *W, float *y)
{
    int h = *H, w = *W;
    *H = fer_tf_out_len(h, cv->k, cv->s, FER_PAD_SAME);
    *W = fer_tf_out_len(w, cv->k, cv->s, FER_PAD_SAME);
    if (cv->dw) {
        fer_tf_depthwise(x, cv->C, h, w, cv->w, cv->k, cv->s, FER_PAD_SAME, cv->b, cv->lo, cv->hi,
                         y);
        return 0;
    }
    return fer_tf_conv(x, cv->C, h, w, cv->w, cv->K, cv->k, cv->s, FER_PAD_SAME, cv->b, cv->lo,
                       cv->hi, y);
}

static void free_work(fer_ssd *m)
{
    float **p[] = {&m->in, &m->a, &m->b, &m->c11, &m->c13, &m->enc, &m->logit};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        free(*p[i]);
        *p[i] = NULL;
    }
    for (int i = 0; i < NPRED; i++) {
        free(m->p[i]);
        m->p[i] = NULL;
    }
    free(m->dec);
    m->dec = NULL;
}

static int alloc_work(fer_ssd *m)
{
    size_t S = FER_SSD_SIDE, big = 64 * (S / 2) * (S / 2);    /* pair 1's output */
    if (m->in)
        return 0;
    m->in = malloc(sizeof(float) * 3 * S * S);
    m->a = malloc(sizeof(float) * big);
    m->b = malloc(sizeof(float) * big);
    m->c11 = malloc(sizeof(float) * 512 * (S / 16) * (S / 16));
    m->c13 = malloc(sizeof(float) * 1024 * (S / 32) * (S / 32));
    for (int i = 0; i < NPRED; i++)
        m->p[i] = malloc(sizeof(float) * (size_t)pred_ch[i] * (S / 32) * (S / 32));
    m->enc = malloc(sizeof(float) * 4 * FER_SSD_ANCHORS);
    m->logit = malloc(sizeof(float) * 3 * FER_SSD_ANCHORS);
    m->dec = malloc(sizeof(fer_box) * FER_SSD_ANCHORS);
    if (!m->in || !m->a || !m->b || !m->c11 || !m->c13 || !m->enc || !m->logit || !m->dec)
        goto oom;
    for (int i = 0; i < NPRED; i++)
        if (!m->p[i])
            goto oom;
    return 0;
oom:
    free_work(m);
    return fer_seterr("out of memory (the detector's working memory)");
}

/* A predictor's output (A*n, cells) into rows of n per anchor, anchor
 * index (cell * A + a), as TensorFlow's NHWC reshape orders them. */
static void gather(const float *y, int A, int n, int cells, float *dst)
{
    for (int p = 0; p < cells; p++)
        for (int a = 0; a < A; a++)
            for (int j = 0; j < n; j++)
                dst[((size_t)p * A + a) * n + j] = y[(size_t)(a * n + j) * cells + p];
}

static int forward(fer_ssd *m)
{
    int H = FER_SSD_SIDE, W = FER_SSD_SIDE, H11 = 0, W11 = 0, Hp[NPRED], Wp[NPRED], h, w;
    float *x = m->a, *y = m->b, *feat[NBOX];
    int fh[NBOX], fw[NBOX], off = 0;

    if (run_conv(&m->c0, m->in, &H, &W, x) < 0)
        return -1;
    for (int i = 0; i < NPAIR; i++) {
        if (run_conv(&m->dw[i], x, &H, &W, y) < 0)
            return -1;
        float *dst = i == 10 ? m->c11 : i == 12 ? m->c13 : x;
        if (run_conv(&m->pw[i], y, &H, &W, dst) < 0)
            return -1;
        if (i == 10) {
            H11 = H, W11 = W;
            memcpy(x, m->c11, sizeof(float) * 512 * (size_t)H * W);
        }
    }
    h = H, w = W;
    for (int i = 0; i < NPRED; i++) {
        if (run_conv(&m->pred[i], i ? m->p[i - 1] : m->c13, &h, &w, m->p[i]) < 0)
            return -1;
        Hp[i] = h, Wp[i] = w;
    }
    feat[0] = m->c11, fh[0] = H11, fw[0] = W11;
    feat[1] = m->c13, fh[1] = H, fw[1] = W;
    for (int i = 2; i < NBOX; i++)
        feat[i] = m->p[2 * i - 3], fh[i] = Hp[2 * i - 3], fw[i] = Wp[2 * i - 3];
    for (int i = 0; i < NBOX; i++) {
        int A = m->anchors_per_cell[i], cells = fh[i] * fw[i], hh = fh[i], ww = fw[i];
        FER_ASSERT(off + cells * A <= FER_SSD_ANCHORS);
        if (run_conv(&m->box[i], feat[i], &hh, &ww, x) < 0)
            return -1;
        gather(x, A, 4, cells, m->enc + 4 * (size_t)off);
        hh = fh[i], ww = fw[i];
        if (run_conv(&m->cls[i], feat[i], &hh, &ww, x) < 0)
            return -1;
        gather(x, A, 3, cells, m->logit + 3 * (size_t)off);
        off += cells * A;
    }
    FER_ASSERT(off == FER_SSD_ANCHORS);
    return 0;
}

int fer_ssd_run(fer_ssd *m, const fer_image *im, int x, int y, int w, int h, float min_score,
                fer_box **out)
{
    int keep[FER_SSD_MAX_OUT], n;
    double side, rw, rh;
    fer_box *res;

    *out = NULL;
    if (w <= 0 || h <= 0 || x < 0 || y < 0 || x + w > im->w || y + h > im->h)
        return fer_seterr("region %dx%d at (%d, %d) outside the %dx%d image", w, h, x, y, im->w,
                          im->h);
    if (alloc_work(m) < 0)
        return -1;
    fer_tf_square_input(im, x, y, w, h, 0, 0, FER_SSD_SIDE, m->in);
    if (forward(m) < 0)
        return -1;
    fer_ssd_decode(m->anchors, m->enc, FER_SSD_ANCHORS, m->dec);
    for (int i = 0; i < FER_SSD_ANCHORS; i++)
        m->dec[i].score = 1.f / (1.f + expf(-m->logit[3 * (size_t)i + 1]));
    if ((n = fer_nms(m->dec, FER_SSD_ANCHORS, min_score, 0.5, FER_SSD_MAX_OUT, keep)) <= 0)
        return n;
    if (!(res = malloc(sizeof *res * (size_t)n)))
        return fer_seterr("out of memory");
    /* face-api: the corners clipped to [0, 1] of the square, times
     * side / (the region's side resized, rounded), times the region */
    side = w > h ? w : h;
    rw = 512. / floor(w * (512. / side) + 0.5);
    rh = 512. / floor(h * (512. / side) + 0.5);
    for (int i = 0; i < n; i++) {
        const fer_box *d = &m->dec[keep[i]];
        double top = fmax(0, d->y0) * rh, bot = fmin(1, d->y1) * rh;
        double left = fmax(0, d->x0) * rw, right = fmin(1, d->x1) * rw;
        res[i] = (fer_box){(float)(y + top * h), (float)(x + left * w), (float)(y + bot * h),
                           (float)(x + right * w), d->score};
    }
    *out = res;
    return n;
}

/* ---- whole photo and tiles ---- */

void fer_ssd_defaults(fer_ssd_opts *o)
{
    o->min_score = 0.5f;
    o->tile = FER_SSD_TILE_AUTO;
    o->overlap = 0.25;
}

/* fer_ssd_run as tiled.h runs a region */
static int region(void *net, const fer_image *im, int x, int y, int w, int h, float min_score,
                  fer_box **out)
{
    return fer_ssd_run(net, im, x, y, w, h, min_score, out);
}

int fer_ssd_detect(fer_ssd *m, const fer_image *im, const fer_ssd_opts *o, fer_box **out)
{
    return fer_tiled_detect(region, m, im, o->tile, o->overlap, o->min_score, 0.5, out);
}

int fer_ssd_find(const char *name, char *buf, size_t n)
{
    char exe[4096];
    const char *env = getenv("FER_MODELS");
    ssize_t k;
    if (env && *env && (size_t)snprintf(buf, n, "%s/%s", env, name) < n && !access(buf, R_OK))
        return 0;
    if ((size_t)snprintf(buf, n, "models/%s", name) < n && !access(buf, R_OK))
        return 0;
    if ((k = readlink("/proc/self/exe", exe, sizeof exe - 1)) > 0) {
        char *s;
        exe[k] = 0;
        for (int up = 0; up < 2 && (s = strrchr(exe, '/')); up++)
            *s = 0;
        if ((size_t)snprintf(buf, n, "%s/../models/%s", exe, name) < n && !access(buf, R_OK))
            return 0;
    }
    return fer_seterr("%s: not found in $FER_MODELS, ./models or the build's ../models "
                      "(make models fetches it)", name);
}
