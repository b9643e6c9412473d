/* fuzz_image: PNG, JPEG and PNM as fer reads photos (image.h,
 * fer_image_read_mem), and PNM frame streams as fer-detect reads
 * ffmpeg's image2pipe; a decoded image is grayed and resized. */
#include "fuzz.h"   /* first: it asks for memfd_create */

#include <stdlib.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    fer_image im, g, s;
    FILE *f;
    if (fer_image_read_mem(data, n, "fuzz", &im) == 0) {
        if (im.w < 1 || im.h < 1 || im.w > FER_IMAGE_DIM_MAX || im.h > FER_IMAGE_DIM_MAX ||
            (im.c != 1 && im.c != 3) || !im.px)
            abort();
        if (fer_image_to_gray(&im, &g) == 0) {
            if (fer_image_resize_area(&g, 7, 5, &s) == 0)
                fer_image_free(&s);
            if (fer_image_resize_bilinear(&g, 5, 7, &s) == 0)
                fer_image_free(&s);
            fer_image_free(&g);
        }
        fer_image_free(&im);
    }
    if ((f = fuzz_stream(data, n))) {
        /* a frame takes at least one byte: at most n frames */
        for (size_t i = 0; i <= n && fer_image_read_pnm_stream(f, "stdin", &im) == 1; i++)
            fer_image_free(&im);
        fclose(f);
    }
    return 0;
}
