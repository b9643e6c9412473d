/* test_nms.c: box overlap, greedy NMS against a brute-force re-statement
 * of it, SSD box decoding on hand-worked boxes and against the formula in
 * double, and the tile grids (tiles.h). Random inputs are fresh each run
 * (seed printed on failure). */
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "facenet_ssd.h"
#include "nms.h"
#include "tiles.h"

static unsigned long long seed;

static void test_iou(void)
{
    fer_box a = {0, 0, 2, 2, 0}, b = {1, 1, 3, 3, 0}, br = {3, 3, 1, 1, 0};
    fer_box flat = {0, 0, 0, 5, 0}, far = {10, 10, 11, 11, 0}, in = {0.5f, 0.5f, 1.5f, 1.5f, 0};
    CHECK_CLOSE(fer_box_iou(&a, &b), 1.0 / 7, 1e-12, 0);       /* 1 shared of 4 + 4 - 1 */
    CHECK_CLOSE(fer_box_iou(&a, &br), 1.0 / 7, 1e-12, 0);      /* corners given reversed */
    CHECK_CLOSE(fer_box_iou(&a, &a), 1.0, 1e-12, 0);
    CHECK_CLOSE(fer_box_iou(&a, &in), 0.25, 1e-12, 0);         /* 1 inside 4 */
    CHECK(fer_box_iou(&a, &flat) == 0, "no area");
    CHECK(fer_box_iou(&a, &far) == 0, "apart");
}

/* NMS restated: among the boxes not yet taken or dropped, take the best
 * (lowest index on ties), drop every other with IoU above max_iou. */
static int brute_nms(const fer_box *b, int n, float min_score, double max_iou, int max_out,
                     int *keep)
{
    char gone[64] = {0};     /* n <= 64 here */
    int nk = 0;
    while (nk < max_out) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (!gone[i] && b[i].score > min_score && (best < 0 || b[i].score > b[best].score))
                best = i;
        if (best < 0)
            break;
        keep[nk++] = best;
        gone[best] = 1;
        for (int i = 0; i < n; i++)
            if (!gone[i] && fer_box_iou(&b[i], &b[best]) > max_iou)
                gone[i] = 1;
    }
    return nk;
}

static void test_nms_random(void)
{
    for (int round = 0; round < 200; round++) {
        int n = 1 + (int)(check_uniform() * 60), keep[64], want[64], nk, nw;
        int max_out = round % 3 ? 64 : 1 + round % 7;
        float min_score = (float)(check_uniform() * 0.5);
        fer_box b[64];
        for (int i = 0; i < n; i++) {       /* clustered, so that boxes overlap */
            float cx = (float)(int)(check_uniform() * 4) * 10, cy = (float)(int)(check_uniform() * 3) * 10;
            float x = cx + check_randf(-3, 3), y = cy + check_randf(-3, 3);
            float w = check_randf(2, 12), h = check_randf(2, 12);
            /* a few equal scores, to check the order of ties */
            float s = i % 5 == 4 ? b[i - 1].score : check_randf(0, 1);
            b[i] = (fer_box){y, x, y + h, x + w, s};
        }
        nk = fer_nms(b, n, min_score, 0.5, max_out, keep);
        nw = brute_nms(b, n, min_score, 0.5, max_out, want);
        CHECK(nk == nw, "round %d (seed %llu): %d kept, want %d", round, seed, nk, nw);
        for (int i = 0; i < nk && i < nw; i++)
            CHECK(keep[i] == want[i], "round %d (seed %llu): keep[%d] = %d, want %d", round, seed,
                  i, keep[i], want[i]);
        for (int i = 0; i < nk; i++)
            for (int j = 0; j < i; j++)
                CHECK(fer_box_iou(&b[keep[i]], &b[keep[j]]) <= 0.5, "kept boxes overlap");
    }
}

static void test_decode(void)
{
    /* anchor (y0, x0, y1, x1) = (0.1, 0.2, 0.3, 0.6): h 0.2, w 0.4,
     * centre (0.2, 0.4) */
    float anc[3][4] = {{0.1f, 0.2f, 0.3f, 0.6f}, {0.1f, 0.2f, 0.3f, 0.6f}, {0, 0, 1, 1}};
    float enc[3][4] = {
        {0, 0, 0, 0},                           /* the anchor itself */
        {10, -5, 5 * (float)M_LN2, 0},          /* centre +h, -w/2; height doubled */
        {0, 0, -5 * (float)M_LN2, -5 * (float)M_LN2},   /* halved about (0.5, 0.5) */
    };
    float want[3][4] = {{0.1f, 0.2f, 0.3f, 0.6f}, {0.2f, 0, 0.6f, 0.4f}, {0.25f, 0.25f, 0.75f, 0.75f}};
    fer_box out[3];
    fer_ssd_decode(&anc[0][0], &enc[0][0], 3, out);
    for (int i = 0; i < 3; i++) {
        CHECK_CLOSE(out[i].y0, want[i][0], 1e-6, 0);
        CHECK_CLOSE(out[i].x0, want[i][1], 1e-6, 0);
        CHECK_CLOSE(out[i].y1, want[i][2], 1e-6, 0);
        CHECK_CLOSE(out[i].x1, want[i][3], 1e-6, 0);
    }
    /* random ones against the formula in double */
    for (int i = 0; i < 500; i++) {
        float a[4], t[4];
        double h, w, cy, cx, hh, hw, y, x;
        fer_box o;
        a[0] = check_randf(-0.1f, 0.9f), a[1] = check_randf(-0.1f, 0.9f);
        a[2] = a[0] + check_randf(0.01f, 0.5f), a[3] = a[1] + check_randf(0.01f, 0.5f);
        for (int j = 0; j < 4; j++)
            t[j] = check_randf(-4, 4);
        fer_ssd_decode(a, t, 1, &o);
        h = (double)a[2] - a[0], w = (double)a[3] - a[1], cy = a[0] + h / 2, cx = a[1] + w / 2;
        hh = exp(t[2] / 5.0) * h / 2, hw = exp(t[3] / 5.0) * w / 2;
        y = cy + t[0] / 10.0 * h, x = cx + t[1] / 10.0 * w;
        CHECK_CLOSE(o.y0, y - hh, 1e-5, 0);
        CHECK_CLOSE(o.x0, x - hw, 1e-5, 0);
        CHECK_CLOSE(o.y1, y + hh, 1e-5, 0);
        CHECK_CLOSE(o.x1, x + hw, 1e-5, 0);
    }
}

static void test_tiles(void)
{
    static const int photos[][3] = {
        /* W, H, first side */
        {1024, 683, 200}, {2048, 1150, 200}, {300, 900, 128}, {199, 150, 200}, {513, 512, 256},
    };
    for (size_t p = 0; p < sizeof photos / sizeof photos[0]; p++) {
        int W = photos[p][0], H = photos[p][1], first = photos[p][2];
        fer_tile *t;
        int n = fer_tiles_plan(W, H, first, 0.25, &t), expect_sides = 0;
        for (long s = first; s < (W > H ? W : H); s *= 2)
            expect_sides++;
        CHECK(n >= expect_sides, "photo %zu: %d tiles for %d sizes", p, n, expect_sides);
        if (n <= 0)
            continue;
        for (int i = 0; i < n; i++)
            CHECK(t[i].x >= 0 && t[i].y >= 0 && t[i].x + t[i].w <= W && t[i].y + t[i].h <= H &&
                  t[i].w > 0 && t[i].h > 0, "photo %zu: tile %d (%d,%d %dx%d) outside", p, i,
                  t[i].x, t[i].y, t[i].w, t[i].h);
        /* any face of a quarter of a side lies whole in a tile of that side */
        for (int r = 0; r < 300; r++) {
            int i = (int)(check_uniform() * n), f = t[i].w < t[i].h ? t[i].w : t[i].h, found = 0;
            int side = t[i].w > t[i].h ? t[i].w : t[i].h;
            int fs = (side / 4 < f ? side / 4 : f), x, y;
            x = (int)(check_uniform() * (W - fs + 1)), y = (int)(check_uniform() * (H - fs + 1));
            for (int j = 0; j < n && !found; j++)
                found = (t[j].w == t[i].w && t[j].h == t[i].h) && x >= t[j].x && y >= t[j].y &&
                        x + fs <= t[j].x + t[j].w && y + fs <= t[j].y + t[j].h;
            CHECK(found, "photo %zu (seed %llu): a %d-px face at (%d, %d) in no %dx%d tile", p,
                  seed, fs, x, y, t[i].w, t[i].h);
        }
        free(t);
    }
    {
        fer_tile *t;
        CHECK(fer_tiles_plan(100, 80, 0, 0.25, &t) == 0 && !t, "tiles off");
        CHECK(fer_tiles_plan(100, 80, 100, 0.25, &t) == 0 && !t, "a tile the size of the photo");
    }
}

static void test_tile_cut(void)
{
    fer_tile mid = {100, 100, 200, 200}, corner = {0, 0, 200, 200};
    CHECK(fer_tile_cut(&mid, 1000, 1000, 101, 150, 150, 200, 4), "at the left inner edge");
    CHECK(!fer_tile_cut(&mid, 1000, 1000, 120, 150, 150, 200, 4), "inside");
    CHECK(fer_tile_cut(&mid, 1000, 1000, 150, 150, 299, 200, 4), "at the right inner edge");
    CHECK(!fer_tile_cut(&corner, 1000, 1000, 0, 0, 50, 50, 4), "at the photo's own edge");
    CHECK(fer_tile_cut(&corner, 1000, 1000, 150, 150, 199, 180, 4), "corner tile, inner edge");
    CHECK(!fer_tile_cut(&corner, 200, 200, 150, 150, 200, 200, 4), "tile = photo");
}

int main(void)
{
    seed = (unsigned long long)time(NULL) * 1000003u ^ (unsigned long long)getpid();
    check_seed(seed);
    RUN(test_iou);
    RUN(test_nms_random);
    RUN(test_decode);
    RUN(test_tiles);
    RUN(test_tile_cut);
    return check_done();
}
