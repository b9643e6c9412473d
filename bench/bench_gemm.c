/* bench_gemm.c: GFLOP/s of fer_gemm against OpenBLAS cblas_sgemm (when
 * built with HAVE_OPENBLAS) on the shapes the networks produce: im2col
 * convolutions (M = K out channels, N = N*P*Q pixels, K = C*R*S), their
 * backward products, and dense layers; on 1 and 2 threads.
 *
 *   bench_gemm [samples [threads...]]     default: 7 samples, threads 1 2
 *
 * Each sample repeats one call for >= 30 ms; ours and OpenBLAS alternate,
 * sample by sample, so that load from other processes hits both alike,
 * and on 2 threads or more each sample starts alike: a 0.3 s pause, then
 * one untimed call (ours had come first after the pause, and with cores
 * back from idle and its threads to wake paid for both libraries' start:
 * 0.65-0.87 of OpenBLAS in medians where the best samples were 1.45-1.69).
 * Printed: median GFLOP/s, % of the FMA peak (PEAK_PER_CORE per thread),
 * ratio ours / OpenBLAS; then the best sample of each and their ratio, and
 * the ratio of the median process CPU time per call (OpenBLAS / ours, all
 * threads, spinning included): the figures to read when other processes
 * share the cores and stretch the wall clock.
 * Unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE before running: they can
 * steer OpenBLAS to slower kernels. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "gemm.h"
#include "parse.h"
#include "threads.h"

#ifdef HAVE_OPENBLAS
#include <cblas.h>
#endif

#define PEAK_PER_CORE 117.0   /* GFLOP/s, measured FMA peak of one Zen 4 core */
#define MAXS 64

typedef struct shape { const char *name; int ta, tb, M, N, K; } shape;

static const shape shapes[] = {
    {"conv1 fwd 1->32 48x48", 0, 0, 32, 64 * 48 * 48, 9},
    {"conv2 fwd 32->64 24x24", 0, 0, 64, 64 * 24 * 24, 32 * 9},
    {"conv3 fwd 64->128 12x12", 0, 0, 128, 64 * 12 * 12, 64 * 9},
    {"conv4 fwd 128->256 6x6", 0, 0, 256, 64 * 6 * 6, 128 * 9},
    {"conv5 fwd 256->512 3x3", 0, 0, 512, 64 * 3 * 3, 256 * 9},
    {"conv6 fwd 512->512 3x3", 0, 0, 512, 64 * 3 * 3, 512 * 9},
    {"conv1 bwd-wt dY col^T", 0, 1, 32, 9, 64 * 48 * 48},
    {"conv2 bwd-wt dY col^T", 0, 1, 64, 32 * 9, 64 * 24 * 24},
    {"conv3 bwd-data W^T dY", 1, 0, 64 * 9, 64 * 12 * 12, 128},
    {"conv3 bwd-wt dY col^T", 0, 1, 128, 64 * 9, 64 * 12 * 12},
    {"dense fwd 64x2304->1024", 0, 1, 64, 1024, 2304},
    {"dense bwd dx", 0, 0, 64, 2304, 1024},
    {"dense bwd dW dY^T x", 1, 0, 1024, 2304, 64},
    {"square 1024", 0, 0, 1024, 1024, 1024},
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct operands {
    const shape *s;
    const float *A, *B;
    float *C;
    int lda, ldb, ldc;
} operands;

static void call(const operands *o, int ours)
{
    const shape *s = o->s;
    if (ours) {
        fer_gemm(s->ta, s->tb, s->M, s->N, s->K, 1.0f, o->A, o->lda, o->B, o->ldb, 0.0f, o->C,
                 o->ldc);
        return;
    }
#ifdef HAVE_OPENBLAS
    cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
                s->tb ? CblasTrans : CblasNoTrans, s->M, s->N, s->K, 1.0f, o->A, o->lda, o->B,
                o->ldb, 0.0f, o->C, o->ldc);
#endif
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Seconds per call, wall clock, over one sample of >= 30 ms; *cpu gets the
 * process CPU seconds per call (all threads, spinning included). */
static double sample(const operands *o, int ours, double *cpu)
{
    int n = 0;
    double t0 = now(), c0 = cpu_now(), t;
    do {
        call(o, ours);
        n++;
    } while ((t = now() - t0) < 0.03);
    *cpu = (cpu_now() - c0) / n;
    return t / n;
}

/* OpenBLAS's worker threads spin for a while (2^28 cycles by default)
 * after a call before they sleep; a fer sample taken then finds one of the
 * two cores busy and runs at one core's speed. Waiting 0.3 s lets them
 * sleep without slowing OpenBLAS itself (as OPENBLAS_THREAD_TIMEOUT
 * would). */
static void let_blas_sleep(void)
{
    struct timespec d = {0, 300000000};
    nanosleep(&d, NULL);
}

static void fill(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)((seed >> 8) * (1.0 / 16777216.0) * 2 - 1);
    }
}

int main(int argc, char **argv)
{
    long nsamp = 7, v;
    int threads[8] = {1, 2}, nthr = 2, have_blas = 0;
    if (argc > 1 && fer_parse_long(argv[1], 1, MAXS, &nsamp)) {
        fprintf(stderr, "bench_gemm: samples: %s\n", fer_error());
        return 2;
    }
    if (argc > 2) {
        nthr = 0;
        for (int i = 2; i < argc && nthr < 8; i++) {
            if (fer_parse_long(argv[i], 1, FER_THREADS_MAX, &v)) {
                fprintf(stderr, "bench_gemm: threads: %s\n", fer_error());
                return 2;
            }
            threads[nthr++] = (int)v;
        }
    }
#ifdef HAVE_OPENBLAS
    have_blas = 1;
#endif
    printf("fer_gemm kernel %s; %s; %ld samples, median; peak %.0f GFLOP/s per thread\n",
           fer_gemm_kernel_name(), have_blas ? "vs OpenBLAS cblas_sgemm" : "no OpenBLAS",
           nsamp, PEAK_PER_CORE);
    printf("%-26s %2s %4s %6s %4s %2s | %6s %5s %6s %5s %5s | %6s %6s %5s | %5s\n", "shape",
           "th", "M", "N", "K", "t", "ours", "%peak", "blas", "%peak", "ratio", "ours^",
           "blas^", "ratio", "cpu");
    printf("%-26s %2s %4s %6s %4s %2s | %-32s | %-20s | %s\n", "", "", "", "", "", "",
           "median GFLOP/s (wall clock)", "best sample (^)", "ratio of CPU time");
    for (int ti = 0; ti < nthr; ti++) {
        int th = threads[ti];
        if (fer_threads_set(th)) {
            fprintf(stderr, "bench_gemm: %s\n", fer_error());
            return 1;
        }
#ifdef HAVE_OPENBLAS
        openblas_set_num_threads(th);
#endif
        for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
            const shape *s = &shapes[si];
            size_t na = (size_t)s->M * s->K, nb = (size_t)s->K * s->N, nc = (size_t)s->M * s->N;
            operands o = {s, NULL, NULL, NULL, s->ta ? s->M : s->K, s->tb ? s->K : s->N, s->N};
            float *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B);
            float *C = malloc(nc * sizeof *C);
            double t_ours[MAXS], t_blas[MAXS], c_ours[MAXS], c_blas[MAXS];
            double flop = 2.0 * s->M * s->N * s->K;
            double go, gb;
            if (!A || !B || !C) {
                fprintf(stderr, "bench_gemm: out of memory\n");
                return 1;
            }
            fill(A, na, 1 + si);
            fill(B, nb, 100 + si);
            o.A = A, o.B = B, o.C = C;
            call(&o, 1);   /* warm up: buffers, pool, pages */
            if (have_blas)
                call(&o, 0);
            for (int r = 0; r < nsamp; r++) {
                /* each sample from the same start: a pause (on 2 threads and
                 * more, so that the other library's threads are asleep),
                 * then one untimed call, which wakes this library's threads
                 * and the cores from their idle state */
                if (have_blas && th > 1)
                    let_blas_sleep();
                call(&o, 1);
                t_ours[r] = sample(&o, 1, &c_ours[r]);
                if (have_blas && th > 1)
                    let_blas_sleep();
                if (have_blas)
                    call(&o, 0);
                t_blas[r] = have_blas ? sample(&o, 0, &c_blas[r]) : (c_blas[r] = 0);
            }
            qsort(t_ours, nsamp, sizeof *t_ours, cmp);
            qsort(t_blas, nsamp, sizeof *t_blas, cmp);
            qsort(c_ours, nsamp, sizeof *c_ours, cmp);
            qsort(c_blas, nsamp, sizeof *c_blas, cmp);
            go = flop / t_ours[nsamp / 2] * 1e-9;
            gb = have_blas ? flop / t_blas[nsamp / 2] * 1e-9 : 0;
            printf("%-26s %2d %4d %6d %4d %d%d | %6.1f %4.0f%% ", s->name, th, s->M, s->N, s->K,
                   s->ta, s->tb, go, 100 * go / (PEAK_PER_CORE * th));
            if (have_blas)
                printf("%6.1f %4.0f%% %5.2f | %6.1f %6.1f %5.2f | %5.2f\n", gb,
                       100 * gb / (PEAK_PER_CORE * th), go / gb, flop / t_ours[0] * 1e-9,
                       flop / t_blas[0] * 1e-9, t_blas[0] / t_ours[0],
                       c_blas[nsamp / 2] / c_ours[nsamp / 2]);
            else
                printf("%6s %5s %5s | %6.1f %6s %5s | %5s\n", "-", "-", "-",
                       flop / t_ours[0] * 1e-9, "-", "-", "-");
            fflush(stdout);
            free(A);
            free(B);
            free(C);
        }
    }
    return 0;
}
