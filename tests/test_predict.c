/* test_predict: test-time averaging. crop10's and flipcrop's
 * probabilities against the mean of their views built here from their
 * description (windows cut and resized by a loop of this file, not
 * fer_augment_crop), flip's against the image and its mirror, and the
 * names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "net_test.h"
#include "error.h"
#include "model.h"
#include "predict.h"

enum { N = 5, C = 7, HW = 48 };

static int small_cnn(fer_model *m, int stages)
{
    fer_model_opts o;
    fer_rng rng;
    fer_model_defaults("cnn", &o);
    o.width = 0.125;
    o.stages = stages;
    fer_rng_seed(&rng, 31);
    if (fer_model_build(m, "cnn", &o, &rng))
        return -1;
    /* running statistics away from 0 and 1, so that the net is no
     * near-constant function */
    for (int i = 0; i < fer_net_nparams(m->net); i++) {
        const fer_param *p = fer_net_param(m->net, i);
        float *w = param_w(m->net, i);
        if (strstr(p->name, "running_var"))
            for (size_t j = 0; j < p->n; j++)
                w[j] = check_randf(0.3f, 2);
        if (strstr(p->name, "running_mean"))
            for (size_t j = 0; j < p->n; j++)
                w[j] = check_randf(-0.5f, 0.5f);
    }
    return 0;
}

/* The window of cw x ch at (x0, y0) of a hw x hw image, stretched back
 * to hw x hw: bilinear, pixel centres aligned, source coordinates kept
 * inside the window, rounded half up; mirrored when flip. The scale
 * cw / hw is rounded to a double first, as augment.h's formula reads:
 * (x + 0.5) cw / hw in another order moves a few values that sit on a
 * half across it (44 / 48 makes many exact halves). */
static void view(const uint8_t *src, int x0, int y0, int cw, int ch, int flip, uint8_t *dst)
{
    for (int y = 0; y < HW; y++)
        for (int x = 0; x < HW; x++) {
            double sy = y0 + (y + 0.5) * ((double)ch / HW) - 0.5;
            double sx = x0 + (x + 0.5) * ((double)cw / HW) - 0.5;
            double v;
            int ya, xa, yb, xb;
            sy = sy < y0 ? y0 : sy > y0 + ch - 1 ? y0 + ch - 1 : sy;
            sx = sx < x0 ? x0 : sx > x0 + cw - 1 ? x0 + cw - 1 : sx;
            ya = (int)sy;
            xa = (int)sx;
            yb = ya + 1 < y0 + ch ? ya + 1 : ya;
            xb = xa + 1 < x0 + cw ? xa + 1 : xa;
            {
                double fx = sx - xa, fy = sy - ya;
                double top = src[ya * HW + xa] + fx * (src[ya * HW + xb] - src[ya * HW + xa]);
                double bot = src[yb * HW + xa] + fx * (src[yb * HW + xb] - src[yb * HW + xa]);
                v = top + fy * (bot - top);
            }
            dst[y * HW + (flip ? HW - 1 - x : x)] = (uint8_t)(v + 0.5);
        }
}

/* A view as the reference draws it: the window at (x, y) of w x h, resized
 * back, and mirrored if flip. */
typedef struct { int x, y, w, h, flip; } window;

/* tta's probabilities = the mean of its views' plain probabilities (drawn
 * by view() above), view by view (batch 2), all views of the five images
 * in one pass, and the two mixed (batch 3 views: one pass for the last
 * images); for the study's cnn and a deeper one. */
static void check_mean_of_views(int tta, const window *wins, int nv)
{
    uint8_t px[N * HW * HW], v[N * HW * HW];
    float got[N * C], one[N * C];
    double want[N * C];
    for (int s = 3; s <= 4; s++) {
        fer_model m;
        if (small_cnn(&m, s)) {
            CHECK(0, "build: %s", fer_error());
            return;
        }
        for (size_t i = 0; i < sizeof px; i++)
            px[i] = (uint8_t)(check_uniform() * 256);
        for (int i = 0; i < N; i++)   /* a bright square off the centre: views differ */
            for (int y = 5; y < 20; y++)
                for (int x = 30; x < 46; x++)
                    px[i * HW * HW + y * HW + x] = 250;
        memset(want, 0, sizeof want);
        for (int k = 0; k < nv; k++) {
            for (int i = 0; i < N; i++)
                view(px + i * HW * HW, wins[k].x, wins[k].y, wins[k].w, wins[k].h, wins[k].flip,
                     v + i * HW * HW);
            CHECK(fer_predict(&m, v, N, N, FER_TTA_NONE, one) == 0, "predict: %s", fer_error());
            for (int j = 0; j < N * C; j++)
                want[j] += one[j] / (double)nv;
        }
        for (int t = 0; t < 3; t++) {
            int batch = t == 0 ? 2 : t == 1 ? nv * N : 3 * nv;
            CHECK(fer_predict(&m, px, N, batch, tta, got) == 0, "%s: %s", fer_tta_name(tta),
                  fer_error());
            for (int j = 0; j < N * C; j++)
                CHECK_CLOSE(got[j], want[j], 1e-6, 1e-5);
        }
        /* and it is not the plain prediction */
        CHECK(fer_predict(&m, px, N, N, FER_TTA_NONE, one) == 0, "predict: %s", fer_error());
        {
            double diff = 0;
            for (int j = 0; j < N * C; j++)
                diff += fabs(one[j] - got[j]);
            CHECK(diff > 1e-4, "%d stages: %s is the plain prediction (%g)", s,
                  fer_tta_name(tta), diff);
        }
        fer_model_free(&m);
    }
}

/* crop10 = the corner and centre 44x44 windows, then their mirror images. */
static void test_crop10(void)
{
    static const window wins[10] = {
        {0, 0, 44, 44, 0}, {4, 0, 44, 44, 0}, {0, 4, 44, 44, 0}, {4, 4, 44, 44, 0},
        {2, 2, 44, 44, 0}, {0, 0, 44, 44, 1}, {4, 0, 44, 44, 1}, {0, 4, 44, 44, 1},
        {4, 4, 44, 44, 1}, {2, 2, 44, 44, 1}};
    check_mean_of_views(FER_TTA_CROP10, wins, 10);
}

/* flipcrop = the image, its mirror, the centre 44x44 window, its mirror. */
static void test_flipcrop(void)
{
    static const window wins[4] = {
        {0, 0, HW, HW, 0}, {0, 0, HW, HW, 1}, {2, 2, 44, 44, 0}, {2, 2, 44, 44, 1}};
    check_mean_of_views(FER_TTA_FLIPCROP, wins, 4);
}

/* View 4 is the centre window, view 9 its mirror image; flip's views are
 * the image and its mirror. */
static void test_views(void)
{
    uint8_t px[HW * HW], a[HW * HW], b[HW * HW];
    for (int i = 0; i < HW * HW; i++)
        px[i] = (uint8_t)(check_uniform() * 256);
    fer_tta_view(FER_TTA_CROP10, 4, px, 1, 1, HW, HW, a);
    view(px, 2, 2, 44, 44, 0, b);
    CHECK(!memcmp(a, b, sizeof a), "view 4 is not the centre window");
    fer_tta_view(FER_TTA_CROP10, 9, px, 1, 1, HW, HW, a);
    view(px, 2, 2, 44, 44, 1, b);
    CHECK(!memcmp(a, b, sizeof a), "view 9 is not the mirrored centre window");
    fer_tta_view(FER_TTA_CROP10, 1, px, 1, 1, HW, HW, a);
    view(px, 4, 0, 44, 44, 0, b);
    CHECK(!memcmp(a, b, sizeof a), "view 1 is not the top right window");
    fer_tta_view(FER_TTA_FLIP, 1, px, 1, 1, HW, HW, a);
    view(px, 0, 0, HW, HW, 1, b);
    CHECK(!memcmp(a, b, sizeof a), "flip's view 1 is not the mirror image");
    fer_tta_view(FER_TTA_FLIP, 0, px, 1, 1, HW, HW, a);
    CHECK(!memcmp(a, px, sizeof a), "flip's view 0 is not the image");
}

/* flip = the mean of the image's and its mirror's probabilities, as
 * 0.5 (a + b) in float. */
static void test_flip(void)
{
    uint8_t px[N * HW * HW], mir[N * HW * HW];
    float got[N * C], a[N * C], b[N * C];
    fer_model m;
    if (small_cnn(&m, 3)) {
        CHECK(0, "build: %s", fer_error());
        return;
    }
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(check_uniform() * 256);
    for (int i = 0; i < N; i++)
        view(px + i * HW * HW, 0, 0, HW, HW, 1, mir + i * HW * HW);
    CHECK(fer_predict(&m, px, N, 3, FER_TTA_FLIP, got) == 0, "flip: %s", fer_error());
    CHECK(fer_predict(&m, px, N, 3, FER_TTA_NONE, a) == 0, "none: %s", fer_error());
    CHECK(fer_predict(&m, mir, N, 3, FER_TTA_NONE, b) == 0, "mirror: %s", fer_error());
    for (int j = 0; j < N * C; j++)
        CHECK(got[j] == 0.5f * (a[j] + b[j]), "flip %d: %g, want %g", j, got[j],
              0.5f * (a[j] + b[j]));
    /* both views in one pass: all five images (batch 10), and the last
     * image alone after a batch of 4 done view by view (batch 4); the
     * same to the last bits a kernel chosen by batch size may change */
    for (int t = 0; t < 2; t++) {
        CHECK(fer_predict(&m, px, N, t ? 4 : 2 * N, FER_TTA_FLIP, got) == 0, "flip: %s",
              fer_error());
        for (int j = 0; j < N * C; j++)
            CHECK_CLOSE(got[j], 0.5f * (a[j] + b[j]), 1e-6, 1e-5);
    }
    fer_model_free(&m);
}

static void test_names(void)
{
    CHECK(fer_tta_parse("none") == FER_TTA_NONE && fer_tta_parse("flip") == FER_TTA_FLIP &&
          fer_tta_parse("crop10") == FER_TTA_CROP10 &&
              fer_tta_parse("flipcrop") == FER_TTA_FLIPCROP,
          "names");
    CHECK(fer_tta_parse("crop") == -1 && fer_tta_parse("") == -1 && fer_tta_parse("FLIP") == -1,
          "a bad name parsed");
    CHECK(fer_tta_views(FER_TTA_NONE) == 1 && fer_tta_views(FER_TTA_FLIP) == 2 &&
          fer_tta_views(FER_TTA_CROP10) == 10 && fer_tta_views(FER_TTA_FLIPCROP) == 4, "views");
    CHECK(!strcmp(fer_tta_name(FER_TTA_CROP10), "crop10") &&
              !strcmp(fer_tta_name(FER_TTA_FLIPCROP), "flipcrop"),
          "name");
}

int main(void)
{
    check_seed(1010);
    RUN(test_crop10);
    RUN(test_flipcrop);
    RUN(test_views);
    RUN(test_flip);
    RUN(test_names);
    return check_done();
}
