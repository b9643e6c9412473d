/* grouprect.c: OpenCV's groupRectangles (see detect.h).
 *
 * OpenCV compares every pair of rectangles, which takes minutes on the
 * hundreds of thousands of hits of a permissive cascade. The classes are
 * the connected components of the similarity graph, and only those matter
 * (each is numbered by its first member), so any way of finding the
 * similar pairs gives the same result. Here each rectangle goes into a
 * grid by its own bound on the distance to a similar one, and only nearby
 * cells are searched. */
#include <math.h>
#include <stdlib.h>

#include "detect.h"

static int find(int *parent, int i)
{
    int r = i;
    while (parent[r] != r)
        r = parent[r];
    while (parent[i] != r) {          /* path compression */
        int n = parent[i];
        parent[i] = r;
        i = n;
    }
    return r;
}

static int similar(const fer_rect *a, const fer_rect *b, double eps)
{
    double delta = eps * ((a->w < b->w ? a->w : b->w) + (a->h < b->h ? a->h : b->h)) * 0.5;
    return abs(a->x - b->x) <= delta && abs(a->y - b->y) <= delta &&
           abs(a->x + a->w - b->x - b->w) <= delta && abs(a->y + a->h - b->y - b->h) <= delta;
}

/* The grid. Two similar rectangles a, b have |a.x - b.x| and |a.y - b.y|
 * at most delta <= bound(a) = eps * (a.w + a.h) / 2, and the same for b.
 * A rectangle of bound D goes into level L, the least with D <= 2^L, in
 * the cell (floor(x / 2^L), floor(y / 2^L)); a rectangle a then finds
 * every similar b of level L in the cells within min(bound(a), 2^L) of its
 * corner: at most 3 x 3 cells. Coordinates are ints, so no two corners are
 * more than 2^32 apart: levels above MAXLEVEL are folded into it. */
enum { MAXLEVEL = 40 };

typedef struct cell { int level; long long cy, cx; int i; } cell;

static int cmp_cell(const void *pa, const void *pb)
{
    const cell *a = pa, *b = pb;
    if (a->level != b->level)
        return a->level < b->level ? -1 : 1;
    if (a->cy != b->cy)
        return a->cy < b->cy ? -1 : 1;
    if (a->cx != b->cx)
        return a->cx < b->cx ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

static int level_of(const fer_rect *a, double eps)
{
    double d = eps * ((double)a->w + a->h) * 0.5;
    int l = 0;
    while (l < MAXLEVEL && !(d <= ldexp(1, l)))
        l++;
    return l;
}

/* first cell of c[0..n-1] not below (level, cy, cx) */
static int lower_bound(const cell *c, int n, int level, long long cy, long long cx)
{
    cell key = {level, cy, cx, -1};
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (cmp_cell(&c[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Joins the classes of every similar pair in the union-find parent. */
static int link_similar(const fer_rect *r, int n, double eps, int *parent)
{
    cell *c;
    int used[MAXLEVEL + 1] = {0};

    if (n < 2 || !(eps >= 0))    /* a negative or NaN eps makes nothing similar */
        return 0;
    if (!(c = malloc((size_t)n * sizeof *c)))
        return -1;
    for (int i = 0; i < n; i++) {
        int l = level_of(&r[i], eps);
        double g = ldexp(1, l);
        c[i] = (cell){l, (long long)floor(r[i].y / g), (long long)floor(r[i].x / g), i};
        used[l] = 1;
    }
    qsort(c, (size_t)n, sizeof *c, cmp_cell);
    for (int i = 0; i < n; i++) {
        double d = eps * ((double)r[i].w + r[i].h) * 0.5;
        for (int l = 0; l <= MAXLEVEL; l++) {
            double g = ldexp(1, l), rad = ceil(d < g ? d : g);
            long long x0 = (long long)floor((r[i].x - rad) / g);
            long long x1 = (long long)floor((r[i].x + rad) / g);
            long long y0 = (long long)floor((r[i].y - rad) / g);
            long long y1 = (long long)floor((r[i].y + rad) / g);
            if (!used[l])
                continue;
            for (long long cy = y0; cy <= y1; cy++)
                for (int k = lower_bound(c, n, l, cy, x0);
                     k < n && c[k].level == l && c[k].cy == cy && c[k].cx <= x1; k++) {
                    int j = c[k].i;
                    if (j > i && similar(&r[i], &r[j], eps)) {
                        int a = find(parent, i), b = find(parent, j);
                        if (a != b)
                            parent[a > b ? a : b] = a < b ? a : b;
                    }
                }
        }
    }
    free(c);
    return 0;
}

int fer_group_rects(fer_rect *r, int n, int threshold, double eps, int *weights)
{
    int *parent, *label, *count, nclasses = 0, nkept = 0, k = 0;
    long long (*acc)[4];
    fer_rect *avg;

    if (threshold <= 0 || n == 0) {
        for (int i = 0; weights && i < n; i++)
            weights[i] = 1;
        return n;
    }
    parent = malloc((size_t)n * sizeof *parent);
    label = malloc((size_t)n * sizeof *label);
    count = calloc((size_t)n, sizeof *count);
    acc = calloc((size_t)n, sizeof *acc);
    avg = malloc((size_t)n * sizeof *avg);
    if (!parent || !label || !count || !acc || !avg) {
        free(parent), free(label), free(count), free(acc), free(avg);
        return -1;
    }
    /* the classes: transitive closure of the similarity */
    for (int i = 0; i < n; i++)
        parent[i] = i;
    if (link_similar(r, n, eps, parent) < 0) {
        free(parent), free(label), free(count), free(acc), free(avg);
        return -1;
    }
    /* numbered by their first member */
    for (int i = 0; i < n; i++) {
        int root = find(parent, i);
        if (root == i)
            label[i] = nclasses++;
        else
            label[i] = label[root];
    }
    for (int i = 0; i < n; i++) {
        int c = label[i];
        acc[c][0] += r[i].x;
        acc[c][1] += r[i].y;
        acc[c][2] += r[i].w;
        acc[c][3] += r[i].h;
        count[c]++;
    }
    /* average with a float reciprocal, rounded to nearest even (OpenCV's
     * saturate_cast<int>(int * float)) */
    for (int c = 0; c < nclasses; c++) {
        float s = 1.f / (float)count[c];
        avg[c].x = (int)lrintf((float)acc[c][0] * s);
        avg[c].y = (int)lrintf((float)acc[c][1] * s);
        avg[c].w = (int)lrintf((float)acc[c][2] * s);
        avg[c].h = (int)lrintf((float)acc[c][3] * s);
    }
    /* the classes above the threshold, in order (label reuses its room) */
    for (int c = 0; c < nclasses; c++)
        if (count[c] > threshold)
            label[nkept++] = c;
    for (int ii = 0; ii < nkept; ii++) {
        int i = label[ii], n1 = count[i], jj;
        fer_rect a = avg[i];
        /* drop a class lying inside a stronger one */
        for (jj = 0; jj < nkept; jj++) {
            int j = label[jj], n2 = count[j], dx, dy;
            fer_rect b = avg[j];
            if (j == i)
                continue;
            dx = (int)lrint(b.w * eps);
            dy = (int)lrint(b.h * eps);
            if (a.x >= b.x - dx && a.y >= b.y - dy && a.x + a.w <= b.x + b.w + dx &&
                a.y + a.h <= b.y + b.h + dy && (n2 > (n1 > 3 ? n1 : 3) || n1 < 3))
                break;
        }
        if (jj == nkept) {
            if (weights)
                weights[k] = n1;
            r[k++] = a;
        }
    }
    free(parent), free(label), free(count), free(acc), free(avg);
    return k;
}
