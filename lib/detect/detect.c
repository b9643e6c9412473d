/* detect.c: OpenCV-exact 8-bit resize, integral images and the cascade
 * scan over a scale pyramid (see detect.h for the procedure). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

#include "detect.h"
#include "error.h"
#include "threads.h"

static uint8_t sat_u8(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* OpenCV's cvRound: nearest, ties to even (the default rounding mode). */
static int round_f(float v) { return (int)lrintf(v); }
static int round_d(double v) { return (int)lrint(v); }

void fer_detect_defaults(fer_detect_opts *o)
{
    memset(o, 0, sizeof *o);
    o->scale_factor = 1.1;
    o->min_neighbors = 3;
}

/* ---- resize --------------------------------------------------------- */

/* Sample positions of one axis (OpenCV's interpolationLinear): d maps to
 * f = scale * (d + 0.5) - 0.5 in double; ofs[d] = floor(f) and c1[d] =
 * round((f - floor(f)) * 256), the weight of the next pixel in 8-bit fixed
 * point. Positions left of the source take pixel 0 (d < *lo), right of it
 * the last pixel (d >= *hi). */
static void axis(int dn, int sn, double scale, int *ofs, int *c1, int *lo, int *hi)
{
    *lo = 0;
    *hi = dn;
    for (int d = 0; d < dn; d++) {
        double f = scale * ((double)d + 0.5) - 0.5;
        int i = (int)floor(f);
        ofs[d] = 0;
        c1[d] = 0;
        if (i >= 0 && sn > 1) {
            if (i < sn - 1) {
                ofs[d] = i;
                c1[d] = (int)lrint((f - i) * 256);
            } else {
                ofs[d] = sn - 1;
                if (*hi > d)
                    *hi = d;
            }
        } else if (*lo < d + 1) {
            *lo = d + 1;
        }
    }
}

/* One source row, resized across: 8.8 fixed point. */
static void hline(const uint8_t *s, uint16_t *d, int dw, const int *ofs, const int *c1, int lo,
                  int hi)
{
    int x = 0;
    for (; x < lo; x++)
        d[x] = (uint16_t)(s[0] << 8);
    for (; x < hi; x++)
        d[x] = (uint16_t)((256 - c1[x]) * s[ofs[x]] + c1[x] * s[ofs[x] + 1]);
    for (; x < dw; x++)
        d[x] = (uint16_t)(s[ofs[dw - 1]] << 8);
}

int fer_resize_linear_cv(const uint8_t *src, int sw, int sh, int sstride, uint8_t *dst,
                         int dw, int dh)
{
    double scale_x, scale_y;
    int *xofs, *xc, *yofs, *yc, xlo, xhi, ylo, yhi, row0 = -1, row1 = -1;
    uint16_t *rows, *r0, *r1;

    if (dw == sw && dh == sh) {
        for (int y = 0; y < dh; y++)
            memcpy(dst + (size_t)y * dw, src + (size_t)y * sstride, (size_t)dw);
        return 0;
    }
    scale_x = 1. / ((double)dw / sw);
    scale_y = 1. / ((double)dh / sh);
    if (fabs(scale_x - 2) < DBL_EPSILON && fabs(scale_y - 2) < DBL_EPSILON) {
        /* OpenCV turns an exact 2x shrink into its fast 2x2 mean */
        for (int y = 0; y < dh; y++) {
            const uint8_t *a = src + (size_t)(2 * y) * sstride, *b = a + sstride;
            for (int x = 0; x < dw; x++)
                dst[(size_t)y * dw + x] =
                    (uint8_t)((a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1] + 2) >> 2);
        }
        return 0;
    }
    xofs = malloc((size_t)(2 * dw + 2 * dh) * sizeof *xofs);
    rows = malloc((size_t)dw * 2 * sizeof *rows);
    if (!xofs || !rows) {
        free(xofs);
        free(rows);
        return fer_seterr("resize: out of memory");
    }
    xc = xofs + dw;
    yofs = xc + dw;
    yc = yofs + dh;
    axis(dw, sw, scale_x, xofs, xc, &xlo, &xhi);
    axis(dh, sh, scale_y, yofs, yc, &ylo, &yhi);
    r0 = rows;
    r1 = rows + dw;
    for (int dy = 0; dy < dh; dy++) {
        uint8_t *d = dst + (size_t)dy * dw;
        if (dy < ylo || dy >= yhi) {
            /* above or below the source: its first or last row */
            int y = dy < ylo ? 0 : sh - 1;
            if (y != row0) {
                hline(src + (size_t)y * sstride, r0, dw, xofs, xc, xlo, xhi);
                row0 = y;
            }
            for (int x = 0; x < dw; x++)
                d[x] = sat_u8((r0[x] + 128) >> 8);
            continue;
        }
        {
            int y0 = yofs[dy], c1 = yc[dy], c0 = 256 - c1;
            if (y0 != row0) {
                if (y0 == row1) {
                    uint16_t *t = r0;
                    r0 = r1;
                    r1 = t;
                    row0 = row1;
                    row1 = -1;
                } else {
                    hline(src + (size_t)y0 * sstride, r0, dw, xofs, xc, xlo, xhi);
                    row0 = y0;
                }
            }
            if (y0 + 1 != row1) {
                hline(src + (size_t)(y0 + 1) * sstride, r1, dw, xofs, xc, xlo, xhi);
                row1 = y0 + 1;
            }
            for (int x = 0; x < dw; x++)
                d[x] = sat_u8((int)(((uint32_t)r0[x] * c0 + (uint32_t)r1[x] * c1 + 32768) >> 16));
        }
    }
    free(xofs);
    free(rows);
    return 0;
}

/* ---- integral images ------------------------------------------------ */

void fer_integral(const uint8_t *px, int w, int h, int stride, int32_t *sum, uint32_t *sqsum,
                  int32_t *tilted, int ostride)
{
    size_t os = (size_t)ostride;
    memset(sum, 0, (size_t)(w + 1) * sizeof *sum);
    if (sqsum)
        memset(sqsum, 0, (size_t)(w + 1) * sizeof *sqsum);
    for (int y = 0; y < h; y++) {
        const uint8_t *p = px + (size_t)y * stride;
        uint32_t *s = (uint32_t *)sum + (y + 1) * os;
        const uint32_t *su = (const uint32_t *)sum + y * os;
        uint32_t rs = 0, rq = 0;
        s[0] = 0;
        for (int x = 0; x < w; x++) {
            rs += p[x];
            s[x + 1] = su[x + 1] + rs;
        }
        if (sqsum) {
            uint32_t *q = sqsum + (y + 1) * os;
            const uint32_t *qu = sqsum + y * os;
            q[0] = 0;
            for (int x = 0; x < w; x++) {
                rq += (uint32_t)p[x] * p[x];
                q[x + 1] = qu[x + 1] + rq;
            }
        }
    }
    if (!tilted)
        return;
    /* T[Y][X] = T[Y-1][X-1] + T[Y-1][X+1] - T[Y-2][X] + I[Y-1][X-1] + I[Y-2][X-1],
     * with T[Y-1][W+1] = T[Y-2][W] at the right edge; unsigned wraps as
     * OpenCV's int does */
    {
        uint32_t *t = (uint32_t *)tilted;
        memset(t, 0, (size_t)(w + 1) * sizeof *t);
        for (int Y = 1; Y <= h; Y++) {
            uint32_t *tr = t + Y * os;
            const uint32_t *t1 = t + (Y - 1) * os, *t2 = Y >= 2 ? t + (Y - 2) * os : NULL;
            const uint8_t *i1 = px + (size_t)(Y - 1) * stride;
            const uint8_t *i2 = Y >= 2 ? px + (size_t)(Y - 2) * stride : NULL;
            tr[0] = t1[1];      /* the triangle left of the image: T[Y-1][1] */
            for (int X = 1; X <= w; X++) {
                uint32_t v = t1[X - 1] + i1[X - 1] + (i2 ? i2[X - 1] : 0);
                if (X < w)
                    v += t1[X + 1] - (t2 ? t2[X] : 0);
                tr[X] = v;
            }
        }
    }
}

/* ---- the cascade, compiled for one integral-image stride ------------- */

typedef struct cfeat {
    int o[FER_HAAR_RECTS][4];
    float w[FER_HAAR_RECTS];
} cfeat;

typedef struct cstump {
    cfeat f;
    float thr;
    float leaf[2];              /* value < thr, value >= thr */
} cstump;

typedef struct plan {
    const fer_cascade *c;
    int stride;                 /* of the integral images, elements */
    int tofs;                   /* tilted image offset from sum, elements */
    cfeat *feats;               /* per feature */
    cstump *stumps;             /* per tree, when every tree is a stump */
    int nofs[4];                /* normalisation rectangle */
    double area;
} plan;

static void compile_feat(const fer_haar_feature *f, int step, int tofs, cfeat *o)
{
    memset(o, 0, sizeof *o);
    for (int k = 0; k < f->nrects; k++) {
        int x = f->r[k].x, y = f->r[k].y, w = f->r[k].w, h = f->r[k].h;
        if (f->tilted) {
            o->o[k][0] = tofs + x + step * y;
            o->o[k][1] = tofs + x - h + step * (y + h);
            o->o[k][2] = tofs + x + w + step * (y + w);
            o->o[k][3] = tofs + x + w - h + step * (y + w + h);
        } else {
            o->o[k][0] = x + step * y;
            o->o[k][1] = x + w + step * y;
            o->o[k][2] = x + step * (y + h);
            o->o[k][3] = x + w + step * (y + h);
        }
        o->w[k] = f->r[k].weight;
    }
}

static int plan_make(plan *p, const fer_cascade *c, int stride, int tofs)
{
    memset(p, 0, sizeof *p);
    p->c = c;
    p->stride = stride;
    p->tofs = tofs;
    if (!(p->feats = malloc((size_t)c->nfeatures * sizeof *p->feats)))
        return -1;
    for (int i = 0; i < c->nfeatures; i++)
        compile_feat(&c->features[i], stride, tofs, &p->feats[i]);
    if (c->max_nodes == 1) {
        if (!(p->stumps = malloc((size_t)c->ntrees * sizeof *p->stumps)))
            return -1;
        for (int t = 0; t < c->ntrees; t++) {
            const fer_haar_node *n = &c->nodes[c->trees[t].node];
            const float *lv = &c->leaves[c->trees[t].leaf];
            p->stumps[t].f = p->feats[n->feature];
            p->stumps[t].thr = n->threshold;
            /* a stump's children are leaves 0 and 1 in OpenCV's files; take
             * them through the links all the same */
            p->stumps[t].leaf[0] = lv[-n->left];
            p->stumps[t].leaf[1] = lv[-n->right];
        }
    }
    p->nofs[0] = 1 + stride;
    p->nofs[1] = 1 + (c->win_w - 2) + stride;
    p->nofs[2] = 1 + stride * (1 + c->win_h - 2);
    p->nofs[3] = 1 + (c->win_w - 2) + stride * (1 + c->win_h - 2);
    p->area = (double)(c->win_w - 2) * (c->win_h - 2);
    return 0;
}

static void plan_free(plan *p)
{
    free(p->feats);
    free(p->stumps);
}

/* Rectangle sum at offsets o from p, wrapping like OpenCV's int. */
#define RSUM(p, o) \
    ((int32_t)((uint32_t)(p)[(o)[0]] - (uint32_t)(p)[(o)[1]] - (uint32_t)(p)[(o)[2]] + \
               (uint32_t)(p)[(o)[3]]))

static inline float feat_value(const cfeat *f, const int32_t *p)
{
    float r = f->w[0] * (float)RSUM(p, f->o[0]) + f->w[1] * (float)RSUM(p, f->o[1]);
    if (f->w[2] != 0.0f)
        r += f->w[2] * (float)RSUM(p, f->o[2]);
    return r;
}

/* OpenCV's runAt: 1 when every stage passes, -stage when one fails
 * (0 = the first), -1 when the window is too flat to look at. */
static inline int run_window(const plan *p, const int32_t *pw, const uint32_t *pq)
{
    const fer_cascade *c = p->c;
    int32_t vs = RSUM(pw, p->nofs);
    uint32_t vq = pq[p->nofs[0]] - pq[p->nofs[1]] - pq[p->nofs[2]] + pq[p->nofs[3]];
    double nf = p->area * vq - (double)vs * vs;
    float vnf;
    if (!(nf > 0.))
        return -1;
    vnf = (float)(1. / sqrt(nf));
    if (!(p->area * vnf < 1e-1))
        return -1;
    if (p->stumps) {
        const cstump *st = p->stumps;
        for (int si = 0; si < c->nstages; si++) {
            int n = c->stages[si].ntrees;
            double sum = 0;
            for (int i = 0; i < n; i++) {
                float v = feat_value(&st[i].f, pw) * vnf;
                /* an index, not a branch: the outcome is data-dependent */
                sum += st[i].leaf[!(v < st[i].thr)];
            }
            if (sum < c->stages[si].threshold)
                return -si;
            st += n;
        }
        return 1;
    }
    for (int si = 0; si < c->nstages; si++) {
        const fer_haar_stage *s = &c->stages[si];
        double sum = 0;
        for (int t = s->tree; t < s->tree + s->ntrees; t++) {
            const fer_haar_tree *tr = &c->trees[t];
            const fer_haar_node *nodes = &c->nodes[tr->node];
            int idx = 0;
            do {
                const fer_haar_node *nd = &nodes[idx];
                float v = feat_value(&p->feats[nd->feature], pw) * vnf;
                idx = v < nd->threshold ? nd->left : nd->right;
            } while (idx > 0);
            sum += c->leaves[tr->leaf - idx];
        }
        if (sum < s->threshold)
            return -si;
    }
    return 1;
}

/* ---- the scan over scales ------------------------------------------- */

typedef struct rectvec { fer_rect *r; int n, cap; } rectvec;

static int rv_push(rectvec *v, fer_rect r)
{
    if (v->n == v->cap) {
        int cap = v->cap ? 2 * v->cap : 64;
        fer_rect *p = realloc(v->r, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        v->r = p;
        v->cap = cap;
    }
    v->r[v->n++] = r;
    return 0;
}

typedef struct scratch {
    uint8_t *img;
    int32_t *sum;               /* sum, then tilted at + tofs */
    uint32_t *sq;
} scratch;

typedef struct job {
    const fer_cascade *c;
    const uint8_t *px;
    int w, h, stride;
    int nscales;
    const float *scales;
    int nstripes;
    const plan *plan;
    size_t img_n, sum_n, sq_n;
    scratch *scr;               /* per thread */
    rectvec *out;               /* per scale */
    atomic_long hits;           /* raw hits so far, all scales */
    long max_hits;
    int failed, toomany;
} job;

static void scan_scale(void *ctx, int si, int thread)
{
    job *j = ctx;
    const fer_cascade *c = j->c;
    const plan *p = j->plan;
    scratch *s = &j->scr[thread];
    float sc = j->scales[si];
    int dw = round_f((float)j->w / sc), dh = round_f((float)j->h / sc);
    int ystep = sc >= 2 ? 1 : 2, szw_w, szw_h, stripe, ymax;
    int win_w = round_f((float)c->win_w * sc), win_h = round_f((float)c->win_h * sc);

    if (j->failed)
        return;
    if (!s->img) {
        s->img = malloc(j->img_n);
        s->sum = malloc(j->sum_n * sizeof *s->sum);
        s->sq = malloc(j->sq_n * sizeof *s->sq);
        if (!s->img || !s->sum || !s->sq) {
            j->failed = 1;
            return;
        }
    }
    if (fer_resize_linear_cv(j->px, j->w, j->h, j->stride, s->img, dw, dh) < 0) {
        j->failed = 1;
        return;
    }
    fer_integral(s->img, dw, dh, dw, s->sum, s->sq, c->has_tilted ? s->sum + p->tofs : NULL,
                 p->stride);
    szw_w = dw + 1 - c->win_w;
    szw_h = dh + 1 - c->win_h;
    if (szw_w <= 0 || szw_h <= 0)
        return;
    stripe = (szw_h / ystep + j->nstripes - 1) / j->nstripes;
    stripe = (stripe > 1 ? stripe : 1) * ystep;
    ymax = j->nstripes * stripe < szw_h ? j->nstripes * stripe : szw_h;
    for (int y = 0; y < ymax; y += ystep) {
        const int32_t *rowp = s->sum + (size_t)y * p->stride;
        const uint32_t *rowq = s->sq + (size_t)y * p->stride;
        for (int x = 0; x < szw_w; x += ystep) {
            int r = run_window(p, rowp + x, rowq + x);
            if (r > 0) {
                fer_rect b = {round_f((float)x * sc), round_f((float)y * sc), win_w, win_h};
                if (atomic_fetch_add(&j->hits, 1) >= j->max_hits) {
                    j->toomany = j->failed = 1;
                    return;
                }
                if (rv_push(&j->out[si], b) < 0) {
                    j->failed = 1;
                    return;
                }
            } else if (r == 0) {
                x += ystep;
            }
        }
    }
}

/* The factors OpenCV scans for an image of w x h (see detect.h); with
 * out NULL only counts them, up to FER_DETECT_SCALES_MAX + 1. */
static int make_scales(const fer_cascade *c, int w, int h, const fer_detect_opts *o, float **out)
{
    int maxw = o->max_w > 0 ? o->max_w : w, maxh = o->max_h > 0 ? o->max_h : h, n = 0, cap = 0;
    float *s = NULL;
    for (double f = 1;; f *= o->scale_factor) {
        int ww = round_d(c->win_w * f), wh = round_d(c->win_h * f);
        if (ww > maxw || wh > maxh || ww > w || wh > h)
            break;
        if (ww < o->min_w || wh < o->min_h)
            continue;
        if (n == FER_DETECT_SCALES_MAX) {
            free(s);
            if (!out)
                return n + 1;
            return fer_seterr("detect: scale factor %g gives more than %d scales", o->scale_factor,
                              FER_DETECT_SCALES_MAX);
        }
        if (!out) {
            n++;
            continue;
        }
        if (n == cap) {
            float *p;
            cap = cap ? 2 * cap : 64;
            if (cap > 1000000 || !(p = realloc(s, (size_t)cap * sizeof *p))) {
                free(s);
                return fer_seterr("detect: too many scales or out of memory");
            }
            s = p;
        }
        s[n++] = (float)f;
    }
    if (out)
        *out = s;
    return n;
}

int fer_detect_nscales(const fer_cascade *c, int w, int h, const fer_detect_opts *o)
{
    if (!(o->scale_factor > 1) || !isfinite(o->scale_factor) || w <= 0 || h <= 0)
        return 0;
    return make_scales(c, w, h, o, NULL);
}

int fer_detect_raw(const fer_cascade *c, const uint8_t *px, int w, int h, int stride,
                   const fer_detect_opts *o, fer_rect **out)
{
    float *scales = NULL;
    int nscales, nthreads, serial, total = 0, dw0, dh0;
    job j;
    plan p;
    fer_rect *res = NULL;

    *out = NULL;
    if (!(o->scale_factor > 1) || !isfinite(o->scale_factor))
        return fer_seterr("detect: scale factor %g is not above 1", o->scale_factor);
    if (w <= 0 || h <= 0 || stride < w)
        return fer_seterr("detect: bad image size %dx%d (stride %d)", w, h, stride);
    if ((nscales = make_scales(c, w, h, o, &scales)) < 0)
        return -1;
    if (nscales == 0) {
        free(scales);
        return 0;
    }
    dw0 = round_f((float)w / scales[0]);
    dh0 = round_f((float)h / scales[0]);
    memset(&j, 0, sizeof j);
    j.c = c;
    j.px = px;
    j.w = w;
    j.h = h;
    j.stride = stride;
    j.nscales = nscales;
    j.scales = scales;
    atomic_init(&j.hits, 0);
    j.max_hits = o->max_hits > 0 ? o->max_hits : FER_DETECT_HITS_MAX;
    {
        int szw0 = dw0 + 1 - c->win_w;
        j.nstripes = (int)ceil((szw0 > 0 ? szw0 : 0) / 32.);
        if (j.nstripes < 1)
            j.nstripes = 1;
    }
    /* scale 0 is the largest; one stride fits every scale */
    j.img_n = (size_t)dw0 * dh0;
    j.sq_n = (size_t)(dh0 + 1) * (dw0 + 1);
    j.sum_n = j.sq_n * (c->has_tilted ? 2 : 1);
    if (plan_make(&p, c, dw0 + 1, c->has_tilted ? (int)j.sq_n : 0) < 0) {
        plan_free(&p);
        free(scales);
        return fer_seterr("detect: out of memory");
    }
    j.plan = &p;
    nthreads = fer_threads_get();
    {
        size_t copy = j.img_n + (j.sum_n + j.sq_n) * 4;
        size_t cap = o->max_scratch ? o->max_scratch : FER_DETECT_SCRATCH_MAX;
        serial = nthreads > 1 && copy > cap / (size_t)nthreads;
    }
    j.scr = calloc((size_t)nthreads, sizeof *j.scr);
    j.out = calloc((size_t)nscales, sizeof *j.out);
    if (!j.scr || !j.out)
        j.failed = 1;
    else if (serial)   /* one copy, on this thread (thread 0's slot) */
        for (int si = 0; si < nscales && !j.failed; si++)
            scan_scale(&j, si, 0);
    else
        fer_parallel_for(nscales, scan_scale, &j);
    if (!j.failed) {
        for (int i = 0; i < nscales; i++)
            total += j.out[i].n;
        if (total && !(res = malloc((size_t)total * sizeof *res)))
            j.failed = 1;
        total = 0;
        for (int i = 0; res && i < nscales; i++) {
            if (j.out[i].n)
                memcpy(res + total, j.out[i].r, (size_t)j.out[i].n * sizeof *res);
            total += j.out[i].n;
        }
    }
    for (int i = 0; j.scr && i < nthreads; i++) {
        free(j.scr[i].img);
        free(j.scr[i].sum);
        free(j.scr[i].sq);
    }
    for (int i = 0; j.out && i < nscales; i++)
        free(j.out[i].r);
    free(j.scr);
    free(j.out);
    plan_free(&p);
    free(scales);
    if (j.failed) {
        free(res);
        if (j.toomany)
            return fer_seterr("detect: more than %ld windows accepted: a cascade this "
                              "permissive finds no faces", j.max_hits);
        return fer_seterr("detect: out of memory");
    }
    *out = res;
    return total;
}

int fer_detect(const fer_cascade *c, const uint8_t *px, int w, int h, int stride,
               const fer_detect_opts *o, fer_rect **out)
{
    fer_rect *r;
    int n = fer_detect_raw(c, px, w, h, stride, o, &r), k = 0;
    *out = NULL;
    if (n <= 0)
        return n;
    if ((n = fer_group_rects(r, n, o->min_neighbors, 0.2, NULL)) < 0) {
        free(r);
        return fer_seterr("detect: out of memory");
    }
    /* OpenCV's clipObjects: intersect with the image, drop empty ones */
    for (int i = 0; i < n; i++) {
        int x0 = r[i].x > 0 ? r[i].x : 0, y0 = r[i].y > 0 ? r[i].y : 0;
        int x1 = r[i].x + r[i].w < w ? r[i].x + r[i].w : w;
        int y1 = r[i].y + r[i].h < h ? r[i].y + r[i].h : h;
        if (x1 > x0 && y1 > y0)
            r[k++] = (fer_rect){x0, y0, x1 - x0, y1 - y0};
    }
    if (k == 0) {
        free(r);
        return 0;
    }
    *out = r;
    return k;
}
