/* bench_cuda_gemm.c: our GPU GEMM against cuBLAS at the products the
 * convolutions make (implicit GEMM: M = batch x output pixels, N = output
 * channels, K = input channels x kernel area), for fp32, tf32 and bf16.
 * Prints a table and one line per precision: the goal (ours at least 70%
 * of cuBLAS at every size) met or not. Without a GPU it says so in one
 * line and exits 0, so `make bench` runs it anywhere.
 *
 *   bench_cuda_gemm [BATCH [REPS]]     (defaults 128 and 20) */
#include <stdio.h>
#include <stdlib.h>

#include "backend_cuda.h"
#include "error.h"
#include "parse.h"

/* the 4-stage cnn's 3x3 convolutions at width 1, and resnet18's widest */
static const struct {
    const char *what;
    int pixels, n, k;   /* output pixels per image, channels out, C x R x S */
} sizes[] = {
    {"cnn 64->64 3x3 48x48", 48 * 48, 64, 64 * 9},
    {"cnn 128->128 3x3 24x24", 24 * 24, 128, 128 * 9},
    {"cnn 256->256 3x3 12x12", 12 * 12, 256, 256 * 9},
    {"cnn 512->512 3x3 6x6", 6 * 6, 512, 512 * 9},
    {"resnet18 512->512 3x3 2x2", 2 * 2, 512, 512 * 9},
};

int main(int argc, char **argv)
{
    long batch = 128, reps = 20;
    if ((argc > 1 && fer_parse_long(argv[1], 1, 4096, &batch)) ||
        (argc > 2 && fer_parse_long(argv[2], 1, 10000, &reps)) || argc > 3) {
        fprintf(stderr, "usage: bench_cuda_gemm [BATCH [REPS]]\n");
        return 2;
    }
    if (!fer_backend_cuda_open(0)) {
        printf("skip bench_cuda_gemm: %s\n", fer_error());
        return 0;
    }
    static const char *precisions[] = {"fp32", "tf32", "bf16"};
    printf("%-28s %9s %6s %6s %6s %9s %9s %6s\n", "product (batch)", "precision", "M", "N",
           "K", "ours TF/s", "cuBLAS", "ratio");
    for (int p = 0; p < 3; p++) {
        double worst = 1e9;
        fer_backend_cuda_precision(precisions[p]);
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            int M = (int)batch * sizes[i].pixels, N = sizes[i].n, K = sizes[i].k;
            double flop = 2.0 * M * N * K;
            double ours = fer_backend_cuda_time_gemm("ours", M, N, K, (int)reps);
            double cub = fer_backend_cuda_time_gemm("cublas", M, N, K, (int)reps);
            if (ours < 0 || cub < 0) {
                fprintf(stderr, "bench_cuda_gemm: %s\n", fer_error());
                return 1;
            }
            double ratio = cub / ours;
            if (ratio < worst)
                worst = ratio;
            printf("%-28s %9s %6d %6d %6d %9.1f %9.1f %6.2f\n", sizes[i].what, precisions[p], M,
                   N, K, flop / ours / 1e12, flop / cub / 1e12, ratio);
        }
        printf("goal %s: our GEMM >= 0.70 of cuBLAS at every size: %s (worst %.2f)\n",
               precisions[p], worst >= 0.70 ? "met" : "NOT met", worst);
    }
    return 0;   /* a missed goal is a result, not a failure */
}
