/* rng_key.h: the counter-based draws of rng.h as inline functions that a
 * CUDA kernel can call too (lib/cuda's dropout and augmentation), so the
 * CPU and the GPU compute the same bits from the same formula. rng.c's
 * fer_rng_key_base/_u64/_float are these; see rng.h for the scheme. */
#ifndef FER_RNG_KEY_H
#define FER_RNG_KEY_H

#include <stdint.h>

#if defined(__CUDACC__)
#define FER_HOSTDEV __host__ __device__
#else
#define FER_HOSTDEV
#endif

#define FER_RNG_KEY_GOLDEN 0x9E3779B97F4A7C15ull

/* splitmix64's finaliser: a bijection that scatters nearby keys */
FER_HOSTDEV static inline uint64_t fer_key_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

FER_HOSTDEV static inline uint64_t fer_key_base(uint64_t seed, uint64_t step, uint64_t stream)
{
    return fer_key_mix(fer_key_mix(fer_key_mix(seed + FER_RNG_KEY_GOLDEN) ^ step) ^ stream);
}

FER_HOSTDEV static inline uint64_t fer_key_u64(uint64_t base, uint64_t i)
{
    return fer_key_mix(base + (i + 1) * FER_RNG_KEY_GOLDEN);
}

/* the top 24 bits, in [0, 1) */
FER_HOSTDEV static inline float fer_key_float(uint64_t base, uint64_t i)
{
    return (float)(fer_key_u64(base, i) >> 40) * (1.0f / 16777216.0f);
}

#endif
