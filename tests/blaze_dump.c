/* blaze_dump: for tests/blaze_ref.sh, BlazeFace's boxes in floats on each
 * photo whole and on its tiles (one run per region, before any merging),
 * and each photo as fer decoded it, so that the original runtime
 * (tests/blaze_ref.js) sees the same pixels and regions.
 *
 *   blaze_dump MODEL MINSCORE TILE OUTDIR photo...
 *
 * TILE: the smallest tile side (tiles.h), 0 for whole photos only.
 * Writes OUTDIR/NAME.ppm (P6; a gray photo as R = G = B) for each photo,
 * OUTDIR/regions.txt ("NAME.ppm x y w h" per region, the whole photo
 * first), and prints "NAME.ppm rx ry rw rh x y w h score" per face. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "facenet_blaze.h"
#include "image.h"
#include "parse.h"
#include "tiles.h"

static int dump(fer_blaze *m, FILE *reg, const char *base, const fer_image *im, fer_tile r,
                float ms)
{
    fer_box *b;
    int n = fer_blaze_run(m, im, r.x, r.y, r.w, r.h, ms, &b);
    if (n < 0)
        return -1;
    fprintf(reg, "%s.ppm %d %d %d %d\n", base, r.x, r.y, r.w, r.h);
    for (int k = 0; k < n; k++)
        printf("%s.ppm %d %d %d %d %.4f %.4f %.4f %.4f %.6f\n", base, r.x, r.y, r.w, r.h, b[k].x0,
               b[k].y0, b[k].x1 - b[k].x0, b[k].y1 - b[k].y0, b[k].score);
    free(b);
    return 0;
}

int main(int argc, char **argv)
{
    fer_blaze *m;
    double ms;
    long tile;
    char out[4096];
    FILE *reg;
    if (argc < 6 || fer_parse_double(argv[2], 0, 1, &ms) < 0 ||
        fer_parse_long(argv[3], 0, 100000, &tile) < 0) {
        fprintf(stderr, "usage: blaze_dump MODEL MINSCORE TILE OUTDIR photo...\n");
        return 2;
    }
    if (!(m = fer_blaze_load(argv[1]))) {
        fprintf(stderr, "blaze_dump: %s\n", fer_error());
        return 1;
    }
    snprintf(out, sizeof out, "%s/regions.txt", argv[4]);
    if (!(reg = fopen(out, "w"))) {
        perror(out);
        return 1;
    }
    for (int i = 5; i < argc; i++) {
        fer_image im = {0}, rgb = {0};
        fer_tile *t = NULL;
        const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
        int nt = 0;
        if (fer_image_read(argv[i], &im) < 0 || fer_image_alloc(&rgb, im.w, im.h, 3) < 0) {
            fprintf(stderr, "blaze_dump: %s\n", fer_error());
            return 1;
        }
        for (size_t p = 0; p < (size_t)im.w * im.h; p++)
            for (int c = 0; c < 3; c++)
                rgb.px[p * 3 + c] = im.px[p * im.c + (im.c == 3 ? c : 0)];
        snprintf(out, sizeof out, "%s/%s.ppm", argv[4], base);
        if (fer_image_write_pnm(out, &rgb) < 0 ||
            dump(m, reg, base, &im, (fer_tile){0, 0, im.w, im.h}, (float)ms) < 0 ||
            (nt = fer_tiles_plan(im.w, im.h, (int)tile, 0.25, &t)) < 0) {
            fprintf(stderr, "blaze_dump: %s\n", fer_error());
            return 1;
        }
        for (int k = 0; k < nt; k++)
            if (dump(m, reg, base, &im, t[k], (float)ms) < 0) {
                fprintf(stderr, "blaze_dump: %s\n", fer_error());
                return 1;
            }
        free(t);
        fer_image_free(&im);
        fer_image_free(&rgb);
    }
    fclose(reg);
    fer_blaze_free(m);
    return 0;
}
