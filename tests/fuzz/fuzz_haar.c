/* fuzz_haar: OpenCV cascade XML (haar.h), both layouts; a cascade that
 * loads is run over a small image, so that tables which parse but point
 * outside the window or their arrays are found too. */
#include "fuzz.h"   /* first: it asks for memfd_create */

#include <stdlib.h>

#include "detect.h"
#include "haar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    fer_cascade c;
    if (fer_haar_parse((const char *)data, n, "fuzz.xml", &c))
        return 0;
    {
        enum { W = 40, H = 32 };
        static uint8_t px[W * H];
        fer_detect_opts o;
        fer_rect *r = NULL;
        for (int i = 0; i < W * H; i++)
            px[i] = (uint8_t)((i * 29) ^ (i / W * 7));
        fer_detect_defaults(&o);
        o.scale_factor = 1.25;
        if (fer_detect(&c, px, W, H, W, &o, &r) > 0 && !r)
            abort();
        free(r);
    }
    fer_haar_free(&c);
    return 0;
}
