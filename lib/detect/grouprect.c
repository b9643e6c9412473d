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

/* Whether class a (n1 members) lies inside class b (n2) grown by eps,
 * and b is the stronger. */
static int inside(fer_rect a, int n1, fer_rect b, int n2, double eps)
{
    int dx = (int)lrint(b.w * eps), dy = (int)lrint(b.h * eps);
    return a.x >= b.x - dx && a.y >= b.y - dy && a.x + a.w <= b.x + b.w + dx &&
           a.y + a.h <= b.y + b.h + dy && (n2 > (n1 > 3 ? n1 : 3) || n1 < 3);
}

/* The same test for every kept class (avg[keep[0..m-1]]), through a grid:
 * a grown box of extent E <= 2^L goes into the (at most 2 x 2) cells of
 * side 2^L it overlaps, and a class is looked for only in the cell of its
 * top-left corner at each level. dropped[ii] gets 1 when keep[ii] lies
 * inside another. Returns -1, having done nothing, when out of memory or
 * when the boxes are not all upright (eps < 0, an empty box): the caller
 * then compares every pair. */
static int mark_inside(const fer_rect *avg, const int *count, const int *keep, int m, double eps,
                       int *dropped)
{
    cell *c;
    int nc = 0, used[MAXLEVEL + 1] = {0};
    if (m <= 0)
        return 0;
    if (!(eps >= 0 && eps <= 1e6))
        return -1;
    for (int jj = 0; jj < m; jj++) {
        fer_rect b = avg[keep[jj]];
        if (b.w < 0 || b.h < 0 || lrint(b.w * eps) < 0 || lrint(b.h * eps) < 0)
            return -1;
    }
    if (!(c = malloc((size_t)m * 4 * sizeof *c)))
        return -1;
    for (int jj = 0; jj < m; jj++) {
        fer_rect b = avg[keep[jj]];
        long long dx = (int)lrint(b.w * eps), dy = (int)lrint(b.h * eps);
        long long x0 = b.x - dx, x1 = (long long)b.x + b.w + dx;
        long long y0 = b.y - dy, y1 = (long long)b.y + b.h + dy;
        long long e = x1 - x0 > y1 - y0 ? x1 - x0 : y1 - y0;
        int l = 0;
        double g;
        while (l < MAXLEVEL && e > (1LL << l))
            l++;
        g = ldexp(1, l);
        used[l] = 1;
        for (long long cy = (long long)floor(y0 / g); cy <= (long long)floor(y1 / g); cy++)
            for (long long cx = (long long)floor(x0 / g); cx <= (long long)floor(x1 / g); cx++)
                c[nc++] = (cell){l, cy, cx, jj};
    }
    qsort(c, (size_t)nc, sizeof *c, cmp_cell);
    for (int ii = 0; ii < m; ii++) {
        int i = keep[ii];
        fer_rect a = avg[i];
        dropped[ii] = 0;
        for (int l = 0; l <= MAXLEVEL && !dropped[ii]; l++) {
            double g = ldexp(1, l);
            long long cy = (long long)floor(a.y / g), cx = (long long)floor(a.x / g);
            if (!used[l])
                continue;
            for (int k = lower_bound(c, nc, l, cy, cx);
                 k < nc && c[k].level == l && c[k].cy == cy && c[k].cx == cx; k++) {
                int jj = c[k].i;
                if (jj != ii && inside(a, count[i], avg[keep[jj]], count[keep[jj]], eps)) {
                    dropped[ii] = 1;
                    break;
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
    /* drop a class lying inside a stronger one (parent: 1 = dropped) */
    if (mark_inside(avg, count, label, nkept, eps, parent) < 0) {
        for (int ii = 0; ii < nkept; ii++) {
            int i = label[ii], jj;
            for (jj = 0; jj < nkept; jj++)
                if (jj != ii && inside(avg[i], count[i], avg[label[jj]], count[label[jj]], eps))
                    break;
            parent[ii] = jj < nkept;
        }
    }
    for (int ii = 0; ii < nkept; ii++) {
        int i = label[ii];
        if (parent[ii])
            continue;
        if (weights)
            weights[k] = count[i];
        r[k++] = avg[i];
    }
    free(parent), free(label), free(count), free(acc), free(avg);
    return k;
}
