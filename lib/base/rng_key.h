/* rng_key.h: the counter-based draws of rng.h, and xoshiro256**'s step,
 * as inline functions that a CUDA kernel can call too (lib/cuda's dropout
 * and augmentation), so the CPU and the GPU compute the same bits from the
 * same formula. rng.c's fer_rng_key_base/_u64/_float and fer_rng_u64 are
 * these; see rng.h for the scheme. */
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

FER_HOSTDEV static inline uint64_t fer_key_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: the next number of state s, which it advances */
FER_HOSTDEV static inline uint64_t fer_xoshiro_next(uint64_t s[4])
{
    uint64_t res = fer_key_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = fer_key_rotl(s[3], 45);
    return res;
}

#endif
