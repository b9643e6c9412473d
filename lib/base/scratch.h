/* scratch.h: per-thread scratch buffers that only grow, for kernels that
 * run on the thread pool: no allocation per call once warm, freed when the
 * thread ends. Each slot is one buffer; a kernel that calls another (the
 * Winograd convolution calls the GEMM) uses a different slot. */
#ifndef FER_SCRATCH_H
#define FER_SCRATCH_H

#include <stddef.h>

enum { FER_SCRATCH_PACK, FER_SCRATCH_NARROW, FER_SCRATCH_CONV, FER_SCRATCH_STATS,
       FER_SCRATCH_EPI, FER_SCRATCH_SLOTS };

/* A 64-byte aligned buffer of at least n floats for this thread in slot,
 * keeping its contents only while it does not grow; NULL when out of
 * memory. */
float *fer_scratch(int slot, size_t n);

/* malloc for a large buffer that is used all the time (a network's
 * activations): 2 MB aligned and marked for huge pages where it is 2 MB or
 * more, so that its cache footprint does not depend on which physical
 * pages the process gets. free() releases it. */
void *fer_scratch_alloc(size_t bytes);

#endif
