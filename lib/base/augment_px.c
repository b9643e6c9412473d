/* augment_px.c: one augmented copy on the host, stage by stage over the
 * pixels of augment_px.h, the same stages a CUDA block runs. */
#include <string.h>

#include "augment_px.h"

void fer_augment_apply(const fer_augment_params *p, const uint8_t *src, int c, int h, int w,
                       uint8_t *dst, uint8_t *tmp)
{
    const size_t n = (size_t)c * h * w;
    const uint8_t *g = src;
    uint64_t sum = 0;
    if (p->geo) {
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                fer_px_stage_geo(p, src, c, h, w, x, y, tmp);
        g = tmp;
    }
    if (!p->crop && !p->flip && !p->bright) {
        memcpy(dst, g, n);   /* stage 2 as a copy */
        if (p->contrast)
            for (size_t i = 0; i < n; i++)
                sum += dst[i];
    } else {
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                sum += fer_px_stage_crop(p, g, c, h, w, x, y, dst);
    }
    if (p->contrast) {
        const double m = fer_px_mean(sum, n);
        for (size_t i = 0; i < n; i++)
            dst[i] = fer_px_contrast(p->cf, m, dst[i]);
    }
    if (p->erase)
        fer_px_stage_erase(p, c, h, w, dst);
}
