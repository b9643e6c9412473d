/* test_cuda_augment.cc: lib/cuda/augment.cu's batch (fer_cuda_augment_batch)
 * under the CPU emulation of CUDA (tests/cudaemu) against the CPU
 * backend's augment_batch: the same floats, bit for bit, over odd shapes,
 * one and three channels, every transform alone and all at once, and a
 * few scheduling seeds of the emulator (a missing __syncthreads between
 * the kernel's stages would show for some). The transforms are drawn as
 * training draws them (fer_augment_rng, fer_augment_draw). */
#include "check.h"
#include "cuda_compat.h"
#include "cuda_ops.h"

extern "C" {
#include "augment.h"
#include "backend_cpu.h"
}

typedef struct aug_case {
    const char *what;
    fer_augment_opts o;
} aug_case;

static fer_augment_opts opts(int flip, int shift, double rot, double scale, int crop,
                             double bright, double contrast, double erase)
{
    fer_augment_opts o;
    memset(&o, 0, sizeof o);
    o.flip = flip;
    o.shift = shift;
    o.rot_lo = -rot;
    o.rot_hi = rot;
    o.scale_lo = scale > 0 ? 1 - scale : 0;
    o.scale_hi = scale > 0 ? 1 + scale : 0;
    o.crop = crop;
    o.brightness = bright;
    o.contrast = contrast;
    o.erase = erase;
    return o;
}

static void one(const aug_case *ac, int n, int c, int h, int w, uint64_t step)
{
    enum { TOTAL = 4 };
    const size_t img = (size_t)c * h * w, out = (size_t)n * img;
    const float scale = 1 / (255 * 0.25f), shift = 0.5f / 0.25f;
    uint8_t *data = (uint8_t *)malloc(TOTAL * img), *D;
    int64_t *index = (int64_t *)malloc(n * sizeof *index);
    fer_augment_params *par = (fer_augment_params *)malloc(n * sizeof *par);
    float *want = (float *)malloc(out * sizeof *want), *got = (float *)malloc(out * sizeof *got);
    float *X;
    size_t bad = 0;
    for (size_t i = 0; i < TOTAL * img; i++)
        data[i] = (uint8_t)(check_uniform() * 256);
    for (int j = 0; j < n; j++) {
        fer_rng r;
        index[j] = (int64_t)(check_uniform() * TOTAL);
        fer_augment_rng(&r, 3, step, (uint64_t)j);
        fer_augment_draw(&ac->o, c, h, w, &r, &par[j]);
    }
    fer_backend_cpu.augment_batch(n, c, h, w, data, index, par, scale, shift, want);
    CHECK(cudaMalloc(&D, TOTAL * img) == cudaSuccess && cudaMalloc(&X, out * sizeof *X) ==
                                                            cudaSuccess,
          "cudaMalloc");
    cudaMemcpy(D, data, TOTAL * img, cudaMemcpyHostToDevice);
    fer_cuda_augment_batch(n, c, h, w, D, index, par, scale, shift, X);
    CHECK(cudaDeviceSynchronize() == cudaSuccess, "sync");
    cudaMemcpy(got, X, out * sizeof *got, cudaMemcpyDeviceToHost);
    for (size_t i = 0; i < out; i++)
        if (memcmp(&got[i], &want[i], sizeof *got) && bad++ < 5)
            printf("  %s n%d %dx%dx%d step %llu: x[%zu] = %.9g, want %.9g\n", ac->what, n, c, h,
                   w, (unsigned long long)step, i, got[i], want[i]);
    CHECK(!bad, "%s n%d %dx%dx%d step %llu: %zu of %zu floats differ", ac->what, n, c, h, w,
          (unsigned long long)step, bad, out);
    cudaFree(D);
    cudaFree(X);
    free(data), free(index), free(par), free(want), free(got);
}

static void test_against_cpu(void)
{
    static const int shapes[][3] = {{1, 7, 9}, {3, 11, 6}, {1, 5, 5}, {3, 24, 17}, {1, 48, 48}};
    const aug_case cases[] = {
        {"none", opts(0, 0, 0, 0, 0, 0, 0, 0)},
        {"flip", opts(1, 0, 0, 0, 0, 0, 0, 0)},
        {"shift", opts(0, 2, 0, 0, 0, 0, 0, 0)},
        {"rotate", opts(0, 0, 15, 0, 0, 0, 0, 0)},
        {"scale", opts(0, 0, 0, 0.2, 0, 0, 0, 0)},
        {"crop", opts(0, 0, 0, 0, 1, 0, 0, 0)},
        {"brightness", opts(0, 0, 0, 0, 0, 0.3, 0, 0)},
        {"contrast", opts(0, 0, 0, 0, 0, 0, 0.4, 0)},
        {"erase", opts(0, 0, 0, 0, 0, 0, 0, 1)},
        {"all", opts(1, 1, 10, 0.1, 2, 0.2, 0.2, 0.7)},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
            for (int n = 1; n <= 3; n += 2)
                one(&cases[k], n, shapes[s][0], shapes[s][1], shapes[s][2], k + 10 * s);
}

/* A batch of training's size and the emulator's threads in other orders. */
static void test_seeds(void)
{
    const aug_case all = {"all", opts(1, 2, 10, 0.1, 2, 0.2, 0.2, 0.9)};
    for (unsigned seed = 1; seed <= 3; seed++) {
        fer_emu_seed(seed);
        one(&all, 16, 1, 48, 48, seed);
        one(&all, 5, 3, 13, 29, seed);
    }
}

int main(void)
{
    check_seed(16);
    RUN(test_against_cpu);
    RUN(test_seeds);
    return check_done();
}
