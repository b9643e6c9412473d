/* bench_blaze.c: milliseconds per run of the BlazeFace face detector at
 * its native input (one fer_blaze_run on a 256x256 photo: resize, net,
 * decode, NMS), at 1 and 2 threads, on seeded random pixels; the sibling
 * of bench_ssd.c. make bench runs it; it skips with one line when make
 * models has not fetched the weights.
 *
 *   bench_blaze [SECONDS]    (per thread count, default 3)
 *
 * One warm-up run, then runs until SECONDS have passed (at least 3);
 * prints the median and the best wall time, megapixels per second of the
 * input photo (0.066 MP) at the median, and the median CPU time of the
 * process per run (all threads): on a machine shared with other jobs the
 * wall time stretches, the CPU time much less. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "facenet_blaze.h"
#include "facenet_ssd.h"
#include "parse.h"
#include "threads.h"

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    char path[4096];
    double secs = 3, t[1000], cpu[1000];
    fer_image im = {0};
    fer_blaze *m;
    unsigned s = 12345;

    if (argc > 1 && fer_parse_double(argv[1], 0.1, 600, &secs) < 0) {
        fprintf(stderr, "bench_blaze: %s: %s\n", argv[1], fer_error());
        return 2;
    }
    if (fer_ssd_find("blazeface.fer", path, sizeof path) < 0) {
        printf("bench_blaze: skip: %s\n", fer_error());
        return 0;
    }
    if (!(m = fer_blaze_load(path)) ||
        fer_image_alloc(&im, FER_BLAZE_SIDE, FER_BLAZE_SIDE, 3) < 0) {
        fprintf(stderr, "bench_blaze: %s\n", fer_error());
        return 1;
    }
    for (size_t i = 0; i < (size_t)im.w * im.h * 3; i++)
        im.px[i] = (unsigned char)((s = s * 1103515245 + 12345) >> 16);
    for (int th = 1; th <= 2; th++) {
        int n = 0;
        double start;
        fer_box *b;
        fer_threads_set(th);
        if (fer_blaze_run(m, &im, 0, 0, im.w, im.h, FER_BLAZE_SCORE, &b) < 0)
            goto fail;
        free(b);
        start = now();
        while (n < 1000 && (n < 3 || now() - start < secs)) {
            double t0 = now(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
            if (fer_blaze_run(m, &im, 0, 0, im.w, im.h, FER_BLAZE_SCORE, &b) < 0)
                goto fail;
            free(b);
            cpu[n] = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1e3;
            t[n++] = (now() - t0) * 1e3;
        }
        qsort(t, (size_t)n, sizeof *t, cmp);
        qsort(cpu, (size_t)n, sizeof *cpu, cmp);
        printf("bench_blaze: %d thread(s), %d runs at %dx%d: median %.1f ms, best %.1f ms, "
               "%.2f MP/s; CPU %.1f ms a run\n", th, n, FER_BLAZE_SIDE, FER_BLAZE_SIDE, t[n / 2],
               t[0], FER_BLAZE_SIDE * FER_BLAZE_SIDE / 1e6 / (t[n / 2] / 1e3), cpu[n / 2]);
    }
    fer_blaze_free(m);
    fer_image_free(&im);
    return 0;
fail:
    fprintf(stderr, "bench_blaze: %s\n", fer_error());
    return 1;
}
