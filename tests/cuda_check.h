/* cuda_check.h: the comparisons of the emulated GEMM and convolution tests
 * (test_cuda_gemm.cc, test_cuda_conv_cublas.cc), on check.h: an element
 * passes when |got - want| <= 1e-6 + rtol mag, mag being the reference
 * over absolute values (absv), so the bound follows the sum's rounding
 * rather than its cancellation. Each case runs under another emulator
 * seed (next_seed), which a failure names. */
#ifndef FER_CUDA_CHECK_H
#define FER_CUDA_CHECK_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "check.h"
#include "cuda_test.h"

typedef std::vector<float> vec;

static uint64_t emu_seed = 1;

/* the first emulator seed: the command's argument, else 1 (each case
 * takes the next) */
static void first_seed(int argc, char **argv)
{
    if (argc > 1)
        emu_seed = strtoull(argv[1], NULL, 10);
}

static void next_seed(void)
{
    fer_emu_seed(emu_seed++);
}

static vec absv(const vec &v)
{
    vec r(v);
    for (float &f : r)
        f = fabsf(f);
    return r;
}

/* 1 when |got[i] - want[i]| <= 1e-6 + rtol mag[i] for i in [from, to),
 * else a failure naming the first element that is not */
static int within(const char *what, const char *ctx, const vec &got, const vec &want,
                  const vec &mag, double rtol, size_t from = 0, size_t to = SIZE_MAX)
{
    if (to > want.size())
        to = want.size();
    for (size_t i = from; i < to; i++) {
        const double tol = 1e-6 + rtol * mag[i];
        if (!(fabs((double)got[i] - want[i]) <= tol)) {
            check_fail(__FILE__, __LINE__,
                       "%s: %s[%zu] = %.9g, want %.9g (tol %.3g, emulator seed %llu)", ctx,
                       what, i, got[i], want[i], tol, (unsigned long long)(emu_seed - 1));
            return 0;
        }
    }
    return 1;
}

/* run() (a vec of results) under three emulator seeds: each run's result
 * must be the first's, bit for bit */
template <class F> static void same_bits_each_run(F run)
{
    vec first;
    for (int r = 0; r < 3; r++) {
        next_seed();
        const vec got = run();
        if (r == 0)
            first = got;
        else
            CHECK(got.size() == first.size() &&
                      !memcmp(got.data(), first.data(), got.size() * sizeof(float)),
                  "run %d differs from run 0", r);
    }
}

#endif
