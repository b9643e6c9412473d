/* cpu_has.c: cpu_has.h. */
#include "cpu_has.h"

int fer_cpu_has_avx512(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    static int v = -1;   /* a race writes the same value twice: harmless */
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx512f") ? 1 : 0;
    }
    return v;
#else
    return 0;
#endif
}
