/* ssd_dump: for tests/ssd_ref.sh, the SSD face detector's boxes on whole
 * photos in floats, and each photo as fer decoded it, so that the
 * original runtime (tests/faceapi_ref.js) sees the same pixels.
 *
 *   ssd_dump MODEL MINSCORE OUTDIR photo...
 *
 * Writes OUTDIR/NAME.ppm (P6; a gray photo as R = G = B) for each photo
 * and prints "NAME.ppm x y w h score" per face, as faceapi_ref.js does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "facenet_ssd.h"
#include "image.h"
#include "parse.h"

int main(int argc, char **argv)
{
    fer_ssd *m;
    double ms;
    if (argc < 5 || fer_parse_double(argv[2], 0, 1, &ms) < 0) {
        fprintf(stderr, "usage: ssd_dump MODEL MINSCORE OUTDIR photo...\n");
        return 2;
    }
    if (!(m = fer_ssd_load(argv[1]))) {
        fprintf(stderr, "ssd_dump: %s\n", fer_error());
        return 1;
    }
    for (int i = 4; i < argc; i++) {
        fer_image im = {0}, rgb = {0};
        fer_box *b;
        const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
        char out[4096];
        int n;
        if (fer_image_read(argv[i], &im) < 0 || fer_image_alloc(&rgb, im.w, im.h, 3) < 0) {
            fprintf(stderr, "ssd_dump: %s\n", fer_error());
            return 1;
        }
        for (size_t p = 0; p < (size_t)im.w * im.h; p++)
            for (int c = 0; c < 3; c++)
                rgb.px[p * 3 + c] = im.px[p * im.c + (im.c == 3 ? c : 0)];
        snprintf(out, sizeof out, "%s/%s.ppm", argv[3], base);
        if (fer_image_write_pnm(out, &rgb) < 0 ||
            (n = fer_ssd_run(m, &im, 0, 0, im.w, im.h, (float)ms, &b)) < 0) {
            fprintf(stderr, "ssd_dump: %s\n", fer_error());
            return 1;
        }
        for (int k = 0; k < n; k++)
            printf("%s.ppm %.4f %.4f %.4f %.4f %.6f\n", base, b[k].x0, b[k].y0, b[k].x1 - b[k].x0,
                   b[k].y1 - b[k].y0, b[k].score);
        free(b);
        fer_image_free(&im);
        fer_image_free(&rgb);
    }
    fer_ssd_free(m);
    return 0;
}
