/* rng.c: xoshiro256** seeded by splitmix64. */
#include <math.h>
#include <string.h>

#include "rng.h"
#include "rng_key.h"

void fer_rng_seed(fer_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        r->s[i] = z ^ (z >> 31);
    }
}

/* xoshiro256**'s step is rng_key.h's, shared with lib/cuda */
uint64_t fer_rng_u64(fer_rng *r) { return fer_xoshiro_next(r->s); }

float fer_rng_float(fer_rng *r) { return (float)(fer_rng_u64(r) >> 40) * (1.0f / 16777216.0f); }

double fer_rng_double(fer_rng *r) { return (double)(fer_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0); }

uint64_t fer_rng_below(fer_rng *r, uint64_t n)
{
    uint64_t lim = -n % n, x;   /* reject the low 2^64 mod n values */
    do
        x = fer_rng_u64(r);
    while (x < lim);
    return x % n;
}

double fer_rng_normal(fer_rng *r)
{
    double u = fer_rng_double(r), v = fer_rng_double(r);
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

void fer_rng_shuffle(fer_rng *r, void *base, size_t n, size_t size)
{
    unsigned char *a = base, t[16];
    for (size_t i = n; i > 1; i--) {
        unsigned char *x = a + (i - 1) * size, *y = a + fer_rng_below(r, i) * size;
        for (size_t o = 0; o < size; o += sizeof t) {   /* in pieces: any size */
            size_t k = size - o < sizeof t ? size - o : sizeof t;
            memcpy(t, x + o, k);
            memmove(x + o, y + o, k);
            memcpy(y + o, t, k);
        }
    }
}

/* the key draws are rng_key.h's inline functions, shared with lib/cuda */
uint64_t fer_rng_key_base(uint64_t seed, uint64_t step, uint64_t stream)
{
    return fer_key_base(seed, step, stream);
}

uint64_t fer_rng_key_u64(uint64_t base, uint64_t i) { return fer_key_u64(base, i); }

float fer_rng_key_float(uint64_t base, uint64_t i) { return fer_key_float(base, i); }
