/* tiles.c: tile grids over a photo (tiles.h). */
#include "tiles.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"

/* Tile origins along a length n for tiles of side s: count, and the i-th. */
static int axis_count(int n, int s, double overlap)
{
    double step = s * (1 - overlap);
    if (n <= s)
        return 1;
    if (step < 1)
        step = 1;
    return (int)ceil((n - s) / step) + 1;
}

static int axis_pos(int n, int s, int count, int i)
{
    if (count <= 1)
        return 0;
    return (int)lround((double)i * (n - s) / (count - 1));
}

int fer_tiles_plan(int W, int H, int first, double overlap, fer_tile **out)
{
    int big = W > H ? W : H, total = 0, k = 0;
    fer_tile *t;
    *out = NULL;
    if (first <= 0 || W <= 0 || H <= 0)
        return 0;
    if (overlap < 0)
        overlap = 0;
    if (overlap > 0.75)
        overlap = 0.75;
    for (long s = first; s < big; s *= 2) {
        long c = (long)axis_count(W, (int)s, overlap) * axis_count(H, (int)s, overlap);
        if (total + c > FER_TILES_MAX)
            return fer_seterr("more than %d tiles of %ld pixels on a %dx%d photo", FER_TILES_MAX,
                              s, W, H);
        total += (int)c;
    }
    if (!total)
        return 0;
    if (!(t = malloc(sizeof *t * (size_t)total)))
        return fer_seterr("out of memory (%d tiles)", total);
    for (long s = first; s < big; s *= 2) {
        int nx = axis_count(W, (int)s, overlap), ny = axis_count(H, (int)s, overlap);
        int tw = W < s ? W : (int)s, th = H < s ? H : (int)s;
        for (int j = 0; j < ny; j++)
            for (int i = 0; i < nx; i++)
                t[k++] = (fer_tile){axis_pos(W, tw, nx, i), axis_pos(H, th, ny, j), tw, th};
    }
    *out = t;
    return total;
}

int fer_tile_cut(const fer_tile *t, int W, int H, double x0, double y0, double x1, double y1,
                 double margin)
{
    return (t->x > 0 && x0 < t->x + margin) || (t->y > 0 && y0 < t->y + margin) ||
           (t->x + t->w < W && x1 > t->x + t->w - margin) ||
           (t->y + t->h < H && y1 > t->y + t->h - margin);
}
