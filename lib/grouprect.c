/* grouprect.c: OpenCV's groupRectangles (see detect.h). */
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

int fer_group_rects(fer_rect *r, int n, int threshold, double eps, int *weights)
{
    int *parent, *label, *count, nclasses = 0, k = 0;
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
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (similar(&r[i], &r[j], eps)) {
                int a = find(parent, i), b = find(parent, j);
                if (a != b)
                    parent[a > b ? a : b] = a < b ? a : b;
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
    for (int i = 0; i < nclasses; i++) {
        fer_rect a = avg[i];
        int n1 = count[i], j;
        if (n1 <= threshold)
            continue;
        /* drop a class lying inside a stronger one */
        for (j = 0; j < nclasses; j++) {
            fer_rect b = avg[j];
            int n2 = count[j], dx, dy;
            if (j == i || n2 <= threshold)
                continue;
            dx = (int)lrint(b.w * eps);
            dy = (int)lrint(b.h * eps);
            if (a.x >= b.x - dx && a.y >= b.y - dy && a.x + a.w <= b.x + b.w + dx &&
                a.y + a.h <= b.y + b.h + dy && (n2 > (n1 > 3 ? n1 : 3) || n1 < 3))
                break;
        }
        if (j == nclasses) {
            if (weights)
                weights[k] = n1;
            r[k++] = a;
        }
    }
    free(parent), free(label), free(count), free(acc), free(avg);
    return k;
}
