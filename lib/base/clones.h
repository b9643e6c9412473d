/* clones.h: FER_CLONES marks a hot loop of plain C to be compiled also for
 * AVX-512 and AVX2 (GCC's target_clones; the copy the CPU runs is chosen
 * when the program starts). Elsewhere, and under the sanitizers, it is
 * empty and the baseline code runs. */
#ifndef FER_CLONES_H
#define FER_CLONES_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define FER_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
/* The same for loops of 64-bit integer products (rng_key.h's counter-based
 * draws): their vector form needs AVX-512DQ, which x86-64-v4 has. */
#define FER_CLONES_V4 __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define FER_CLONES
#define FER_CLONES_V4
#endif

#endif
