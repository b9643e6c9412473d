/* tfinput.c: a detector's input from a photo region (tfinput.h). */
#include "tfinput.h"

#include <math.h>
#include <stdint.h>

#include "error.h"

void fer_tf_square_input(const fer_image *im, int x0, int y0, int w, int h, int px, int py,
                         int S, float *in)
{
    int side = w > h ? w : h, nc = im->c;
    int cf[FER_TF_INPUT_MAX], cc[FER_TF_INPUT_MAX];
    double ratio = (double)side / S, cl[FER_TF_INPUT_MAX];
    size_t plane = (size_t)S * S;
    FER_ASSERT(S > 0 && S <= FER_TF_INPUT_MAX);
    for (int q = 0; q < S; q++) {
        double fx = ratio * q;
        cf[q] = (int)floor(fx), cc[q] = (int)ceil(fx), cl[q] = fx - cf[q];
        if (cc[q] > side - 1)
            cc[q] = side - 1;
    }
    for (int r = 0; r < S; r++) {
        double fy = ratio * r, ly;
        int ys[2] = {(int)floor(fy), (int)ceil(fy)};
        const uint8_t *rows[2];
        ly = fy - ys[0];
        if (ys[1] > side - 1)
            ys[1] = side - 1;
        /* a row of the padding: NULL */
        for (int i = 0; i < 2; i++) {
            int yy = ys[i] - py;
            rows[i] = yy >= 0 && yy < h ? im->px + ((size_t)(y0 + yy) * im->w + x0) * nc : NULL;
        }
        for (int q = 0; q < S; q++) {
            int xs[2] = {cf[q] - px, cc[q] - px};
            for (int c = 0; c < 3; c++) {
                double v[4];
                int ch = nc == 3 ? c : 0;
                for (int i = 0; i < 4; i++) {
                    const uint8_t *row = rows[i >> 1];
                    int xx = xs[i & 1];
                    v[i] = row && xx >= 0 && xx < w ? row[(size_t)xx * nc + ch] : 0;
                }
                double top = v[0] + (v[1] - v[0]) * cl[q], bot = v[2] + (v[3] - v[2]) * cl[q];
                float val = (float)(top + (bot - top) * ly);
                in[c * plane + (size_t)r * S + q] = val / 127.5f - 1.f;
            }
        }
    }
}
