/* facenet_blaze.c: BlazeFace on fer's CPU kernels (facenet_blaze.h):
 * loading the converted weights, the forward pass, the decoding and the
 * per-run NMS, and the tiled detection. */
#include "facenet_blaze.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tfconv.h"
#include "tfinput.h"
#include "tfweights.h"
#include "tiled.h"

#define S FER_BLAZE_SIDE
#define NB FER_BLAZE_BLOCKS
#define NA FER_BLAZE_ANCHORS
#define C0 24                   /* channels after the first convolution */
#define BIG ((size_t)C0 * (S / 2) * (S / 2))    /* the largest activation */

/* One block: depthwise 3x3 (no bias) then pointwise with bias. */
typedef struct block {
    int cin, cout, s;
    float *dw, *pw, *pb;        /* fer layout: (cin, 3, 3), (cout, cin), (cout) */
} block;

/* A 1x1 head: K outputs from 96 channels. */
typedef struct head {
    int K;
    float *w, *b;
} head;

struct fer_blaze {
    float *c0w, *c0b;           /* (24, 3, 5, 5), (24) */
    block b[NB];
    head cls16, reg16, cls8, reg8;
    float anchors[2 * NA];
    /* working memory, allocated at the first run */
    float *in, *x, *y, *t, *o16c, *o16r, *o8c, *o8r, *raw;
    fer_box *dec;
};

static void free_work(fer_blaze *m);

/* Block i's channels and stride, as the graph has them. */
static void block_shape(int i, int *cin, int *cout, int *s)
{
    *s = i == 7 || i == 15 || i == 23 || i == 31 ? 2 : 1;
    *cin = i < 16 ? 24 : i < 24 ? 48 : 96;
    *cout = i < 15 ? 24 : i < 23 ? 48 : 96;
}

/* ---- loading ---- */

/* A dense k x k convolution C -> K: its weights are tensor unknown_wi
 * ("unknown" for 0), its bias the next one ("unknown_0" for 0). Returns
 * the weights in fer's layout and sets *bias, both malloc'd; NULL with
 * fer_error() set. */
static float *load_dense(const fer_tfweights *t, int wi, int C, int K, int k, float **bias)
{
    char wn[32], bn[32];
    int ws[4] = {k, k, C, K};
    const float *w, *b;
    float *dst;
    if (wi)
        snprintf(wn, sizeof wn, "unknown_%d", wi);
    else
        strcpy(wn, "unknown");
    snprintf(bn, sizeof bn, "unknown_%d", wi ? wi + 1 : 0);
    if (!(w = fer_tfweights_find(t, wn, 4, ws)) || !(b = fer_tfweights_find(t, bn, 1, &K)))
        return NULL;
    dst = malloc(sizeof *dst * (size_t)k * k * C * K);
    *bias = malloc(sizeof **bias * (size_t)K);
    if (!dst || !*bias) {
        free(dst);
        fer_seterr("%s: out of memory", t->path);
        return NULL;
    }
    fer_tf_hwio_to_kckk(w, k, C, K, dst);
    memcpy(*bias, b, sizeof *b * (size_t)K);
    return dst;
}

/* Tensor names: the first convolution is unknown and unknown_0; block i's
 * depthwise filter unknown_{4i+1}, pointwise unknown_{4i+3} and its bias
 * unknown_{4i+4}; the heads 129 .. 136 (see head order below). */
static int load_all(fer_blaze *m, const fer_tfweights *t)
{
    if (!(m->c0w = load_dense(t, 0, 3, C0, 5, &m->c0b)))
        return -1;
    for (int i = 0; i < NB; i++) {
        block *b = &m->b[i];
        char dn[32];
        int ds[4];
        const float *dw;
        block_shape(i, &b->cin, &b->cout, &b->s);
        ds[0] = ds[1] = 3, ds[2] = b->cin, ds[3] = 1;
        snprintf(dn, sizeof dn, "unknown_%d", 4 * i + 1);
        if (!(dw = fer_tfweights_find(t, dn, 4, ds)))
            return -1;
        if (!(b->dw = malloc(sizeof *b->dw * 9 * (size_t)b->cin)))
            return fer_seterr("%s: out of memory", t->path);
        fer_tf_hwc1_to_ckk(dw, 3, b->cin, b->dw);
        if (!(b->pw = load_dense(t, 4 * i + 3, b->cin, b->cout, 1, &b->pb)))
            return -1;
    }
    {
        /* graph order: conv2d_36 (8x8 regressors) = 129, conv2d_35 (16x16
         * regressors) = 131, conv2d_34 (8x8 scores) = 133, conv2d_33 (16x16
         * scores) = 135 */
        head *h[4] = {&m->reg8, &m->reg16, &m->cls8, &m->cls16};
        const int K[4] = {96, 32, 6, 2};
        for (int i = 0; i < 4; i++) {
            h[i]->K = K[i];
            if (!(h[i]->w = load_dense(t, 129 + 2 * i, 96, K[i], 1, &h[i]->b)))
                return -1;
        }
    }
    return 0;
}

fer_blaze *fer_blaze_load(const char *path)
{
    fer_tfweights t;
    fer_blaze *m = calloc(1, sizeof *m);
    int st = -1;
    if (!m) {
        fer_seterr("%s: out of memory", path);
        return NULL;
    }
    if (fer_tfweights_read(path, "blazeface", "BlazeFace", &t) == 0) {
        st = load_all(m, &t);
        fer_tfweights_free(&t);
    }
    if (st < 0) {
        fer_blaze_free(m);
        return NULL;
    }
    fer_blaze_anchors(m->anchors);
    return m;
}

void fer_blaze_free(fer_blaze *m)
{
    head *h[4];
    if (!m)
        return;
    h[0] = &m->reg8, h[1] = &m->reg16, h[2] = &m->cls8, h[3] = &m->cls16;
    free(m->c0w);
    free(m->c0b);
    for (int i = 0; i < NB; i++) {
        free(m->b[i].dw);
        free(m->b[i].pw);
        free(m->b[i].pb);
    }
    for (int i = 0; i < 4; i++) {
        free(h[i]->w);
        free(h[i]->b);
    }
    free_work(m);
    free(m);
}

int fer_blaze_block(const fer_blaze *m, int i, int *cin, int *cout)
{
    if (i < 0 || i >= NB)
        return -1;
    *cin = m->b[i].cin, *cout = m->b[i].cout;
    return m->b[i].s;
}

/* ---- decoding ---- */

void fer_blaze_anchors(float *xy)
{
    int k = 0;
    for (int level = 0; level < 2; level++) {
        int stride = level ? 32 : 16, per = level ? 6 : 2, rows = S / stride;
        for (int gy = 0; gy < rows; gy++)
            for (int gx = 0; gx < rows; gx++)
                for (int a = 0; a < per; a++, k++) {
                    xy[2 * k] = stride * (gx + 0.5f);
                    xy[2 * k + 1] = stride * (gy + 0.5f);
                }
    }
}

void fer_blaze_decode(const float *xy, const float *raw, fer_box *out)
{
    for (int i = 0; i < NA; i++) {
        const float *r = raw + 17 * (size_t)i;
        float cx = xy[2 * i] + r[1], cy = xy[2 * i + 1] + r[2], hw = r[3] / 2, hh = r[4] / 2;
        out[i] = (fer_box){cy - hh, cx - hw, cy + hh, cx + hw, 1.f / (1.f + expf(-r[0]))};
    }
}

/* ---- the forward pass ---- */

static void free_work(fer_blaze *m)
{
    float **p[] = {&m->in, &m->x, &m->y, &m->t, &m->o16c, &m->o16r, &m->o8c, &m->o8r, &m->raw};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        free(*p[i]);
        *p[i] = NULL;
    }
    free(m->dec);
    m->dec = NULL;
}

static int alloc_work(fer_blaze *m)
{
    if (m->in)
        return 0;
    m->in = malloc(sizeof(float) * 3 * S * S);
    m->x = malloc(sizeof(float) * BIG);
    m->y = malloc(sizeof(float) * BIG);
    m->t = malloc(sizeof(float) * BIG);
    m->o16c = malloc(sizeof(float) * 2 * 256);
    m->o16r = malloc(sizeof(float) * 32 * 256);
    m->o8c = malloc(sizeof(float) * 6 * 64);
    m->o8r = malloc(sizeof(float) * 96 * 64);
    m->raw = malloc(sizeof(float) * 17 * NA);
    m->dec = malloc(sizeof(fer_box) * NA);
    if (!m->in || !m->x || !m->y || !m->t || !m->o16c || !m->o16r || !m->o8c || !m->o8r ||
        !m->raw || !m->dec) {
        free_work(m);
        return fer_seterr("out of memory (the detector's working memory)");
    }
    return 0;
}

/* One block from x (cin, H, H) into y (cout, H/s, H/s); t is scratch. */
static int run_block(const block *b, const float *x, int H, float *t, float *y, int skip)
{
    int Ho = fer_tf_out_len(H, 3, b->s, FER_PAD_SAME);
    size_t hw = (size_t)Ho * Ho;
    fer_tf_depthwise(x, b->cin, H, H, b->dw, 3, b->s, FER_PAD_SAME, NULL, -INFINITY, INFINITY,
                     t);
    if (fer_tf_conv(t, b->cin, Ho, Ho, b->pw, b->cout, 1, 1, FER_PAD_SAME, b->pb,
                    skip ? -INFINITY : 0, INFINITY, y) < 0)
        return -1;
    if (!skip)
        return 0;
    for (int c = 0; c < b->cout; c++) {
        float *yc = y + c * hw;
        const float *xc = x + (size_t)c * H * H;
        if (c >= b->cin) {          /* the zero channels padded onto the skip */
            for (size_t k = 0; k < hw; k++)
                yc[k] = yc[k] > 0 ? yc[k] : 0;
        } else if (b->s == 1) {
            for (size_t k = 0; k < hw; k++) {
                float v = yc[k] + xc[k];
                yc[k] = v > 0 ? v : 0;
            }
        } else {                    /* 2x2 max pool, stride 2: H is even, no padding */
            for (int r = 0; r < Ho; r++)
                for (int q = 0; q < Ho; q++) {
                    const float *p = xc + (size_t)2 * r * H + 2 * q;
                    float mx = fmaxf(fmaxf(p[0], p[1]), fmaxf(p[H], p[H + 1]));
                    float v = yc[(size_t)r * Ho + q] + mx;
                    yc[(size_t)r * Ho + q] = v > 0 ? v : 0;
                }
        }
    }
    return 0;
}

static int run_head(const head *h, const float *x, int H, float *y)
{
    return fer_tf_conv(x, 96, H, H, h->w, h->K, 1, 1, FER_PAD_SAME, h->b, -INFINITY, INFINITY,
                       y);
}

/* A head pair's outputs, (A, cells) scores and (16 A, cells) regressors,
 * into raw rows of 17 per anchor (cell * A + a, TensorFlow's NHWC
 * reshape order). */
static void gather(const float *cls, const float *reg, int A, int cells, float *raw)
{
    for (int p = 0; p < cells; p++)
        for (int a = 0; a < A; a++) {
            float *r = raw + 17 * ((size_t)p * A + a);
            r[0] = cls[(size_t)a * cells + p];
            for (int j = 0; j < 16; j++)
                r[1 + j] = reg[(size_t)(a * 16 + j) * cells + p];
        }
}

static int forward(fer_blaze *m)
{
    int H = S / 2;
    float *x = m->x, *y = m->y, *tmp;
    if (fer_tf_conv(m->in, 3, S, S, m->c0w, C0, 5, 2, FER_PAD_SAME, m->c0b, 0, INFINITY, x) < 0)
        return -1;
    for (int i = 0; i < NB; i++) {
        if (i == NB - 1) {          /* the 16 x 16 heads read block 30's output */
            if (run_head(&m->cls16, x, H, m->o16c) < 0 || run_head(&m->reg16, x, H, m->o16r) < 0)
                return -1;
        }
        if (run_block(&m->b[i], x, H, m->t, y, i < NB - 1) < 0)
            return -1;
        H = fer_tf_out_len(H, 3, m->b[i].s, FER_PAD_SAME);
        tmp = x, x = y, y = tmp;
    }
    FER_ASSERT(H == 8);
    if (run_head(&m->cls8, x, H, m->o8c) < 0 || run_head(&m->reg8, x, H, m->o8r) < 0)
        return -1;
    gather(m->o16c, m->o16r, 2, 256, m->raw);
    gather(m->o8c, m->o8r, 6, 64, m->raw + 17 * 512);
    return 0;
}

int fer_blaze_run(fer_blaze *m, const fer_image *im, int x, int y, int w, int h,
                  float min_score, fer_box **out)
{
    int keep[FER_BLAZE_MAX_OUT], n, side = w > h ? w : h;
    double f = (double)side / S, px, py;
    fer_box *res;

    *out = NULL;
    if (w <= 0 || h <= 0 || x < 0 || y < 0 || x + w > im->w || y + h > im->h)
        return fer_seterr("region %dx%d at (%d, %d) outside the %dx%d image", w, h, x, y, im->w,
                          im->h);
    if (alloc_work(m) < 0)
        return -1;
    fer_tf_square_input(im, x, y, w, h, (side - w) / 2, (side - h) / 2, S, m->in);
    if (forward(m) < 0)
        return -1;
    fer_blaze_decode(m->anchors, m->raw, m->dec);
    if ((n = fer_nms(m->dec, NA, min_score, FER_BLAZE_IOU, FER_BLAZE_MAX_OUT, keep)) <= 0)
        return n;
    if (!(res = malloc(sizeof *res * (size_t)n)))
        return fer_seterr("out of memory");
    /* net pixels -> the padded square -> the image */
    px = x - (side - w) / 2, py = y - (side - h) / 2;
    for (int i = 0; i < n; i++) {
        const fer_box *d = &m->dec[keep[i]];
        res[i] = (fer_box){(float)(d->y0 * f + py), (float)(d->x0 * f + px),
                           (float)(d->y1 * f + py), (float)(d->x1 * f + px), d->score};
    }
    *out = res;
    return n;
}

/* ---- whole photo and tiles ---- */

void fer_blaze_defaults(fer_blaze_opts *o)
{
    o->min_score = FER_BLAZE_SCORE;
    o->tile = FER_BLAZE_TILE_AUTO;
    o->overlap = 0.25;
}

/* fer_blaze_run as tiled.h runs a region */
static int region(void *net, const fer_image *im, int x, int y, int w, int h, float min_score,
                  fer_box **out)
{
    return fer_blaze_run(net, im, x, y, w, h, min_score, out);
}

int fer_blaze_detect(fer_blaze *m, const fer_image *im, const fer_blaze_opts *o,
                     fer_box **out)
{
    return fer_tiled_detect(region, m, im, o->tile, o->overlap, o->min_score, FER_BLAZE_IOU, out);
}
