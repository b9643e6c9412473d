/* tiled.c: a detector over a photo and its tiles (tiled.h). */
#include "tiled.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tiles.h"

/* Appends the n boxes of b to *all (count *na, room *cap); frees b. */
static int append(fer_box **all, int *na, int *cap, fer_box *b, int n)
{
    if (*na + n > *cap) {
        int c = (*na + n) * 2;
        fer_box *g = realloc(*all, sizeof *g * (size_t)c);
        if (!g) {
            free(b);
            return fer_seterr("out of memory");
        }
        *all = g, *cap = c;
    }
    if (n > 0)
        memcpy(*all + *na, b, sizeof *b * (size_t)n);
    *na += n > 0 ? n : 0;
    free(b);
    return 0;
}

int fer_tiled_detect(fer_region_run run, void *net, const fer_image *im, int tile,
                     double overlap, float min_score, float iou, fer_box **out)
{
    fer_tile *t = NULL;
    fer_box *all = NULL, *b, *res = NULL;
    int na = 0, cap = 0, nt, n, *keep = NULL;

    *out = NULL;
    if ((n = run(net, im, 0, 0, im->w, im->h, min_score, &b)) < 0 ||
        append(&all, &na, &cap, b, n) < 0)
        goto fail;
    if ((nt = fer_tiles_plan(im->w, im->h, tile, overlap, &t)) < 0)
        goto fail;
    for (int i = 0; i < nt; i++) {
        int k = 0;
        /* 2% of the tile: a box this near an inner edge is taken as cut */
        double margin = 0.02 * (t[i].w > t[i].h ? t[i].w : t[i].h);
        if ((n = run(net, im, t[i].x, t[i].y, t[i].w, t[i].h, min_score, &b)) < 0)
            goto fail;
        for (int j = 0; j < n; j++)
            if (!fer_tile_cut(&t[i], im->w, im->h, b[j].x0, b[j].y0, b[j].x1, b[j].y1, margin))
                b[k++] = b[j];
        if (append(&all, &na, &cap, b, k) < 0)
            goto fail;
    }
    if (na && !(keep = malloc(sizeof *keep * (size_t)na))) {
        fer_seterr("out of memory (%d boxes)", na);
        goto fail;
    }
    if ((n = na ? fer_nms(all, na, min_score, iou, na, keep) : 0) < 0)
        goto fail;
    if (n && !(res = malloc(sizeof *res * (size_t)n))) {
        fer_seterr("out of memory (%d boxes)", n);
        goto fail;
    }
    for (int i = 0; i < n; i++)
        res[i] = all[keep[i]];
    free(keep);
    free(all);
    free(t);
    *out = res;
    return n;
fail:
    free(keep);
    free(all);
    free(t);
    return -1;
}
