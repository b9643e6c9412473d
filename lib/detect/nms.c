/* nms.c: box overlap and greedy non-maximum suppression (nms.h). */
#include "nms.h"

#include <stdlib.h>

#include "error.h"

static double mn(double a, double b) { return a < b ? a : b; }
static double mx(double a, double b) { return a > b ? a : b; }

double fer_box_iou(const fer_box *a, const fer_box *b)
{
    double ay0 = mn(a->y0, a->y1), ax0 = mn(a->x0, a->x1), ay1 = mx(a->y0, a->y1),
           ax1 = mx(a->x0, a->x1);
    double by0 = mn(b->y0, b->y1), bx0 = mn(b->x0, b->x1), by1 = mx(b->y0, b->y1),
           bx1 = mx(b->x0, b->x1);
    double aa = (ay1 - ay0) * (ax1 - ax0), ab = (by1 - by0) * (bx1 - bx0), inter;
    if (aa <= 0 || ab <= 0)
        return 0;
    inter = mx(mn(ay1, by1) - mx(ay0, by0), 0) * mx(mn(ax1, bx1) - mx(ax0, bx0), 0);
    return inter / (aa + ab - inter);
}

typedef struct cand { float score; int i; } cand;

/* higher score first, then lower index: a stable sort by score */
static int by_score(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

int fer_nms(const fer_box *b, int n, float min_score, double max_iou, int max_out, int *keep)
{
    cand *c;
    int nc = 0, nk = 0;
    if (n <= 0 || max_out <= 0)
        return 0;
    if (!(c = malloc(sizeof *c * (size_t)n)))
        return fer_seterr("out of memory (%d boxes)", n);
    for (int i = 0; i < n; i++)
        if (b[i].score > min_score)
            c[nc++] = (cand){b[i].score, i};
    qsort(c, (size_t)nc, sizeof *c, by_score);
    for (int i = 0; i < nc && nk < max_out; i++) {
        int ok = 1;
        for (int j = nk - 1; j >= 0 && ok; j--)
            if (fer_box_iou(&b[c[i].i], &b[keep[j]]) > max_iou)
                ok = 0;
        if (ok)
            keep[nk++] = c[i].i;
    }
    free(c);
    return nk;
}
