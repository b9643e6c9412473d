/* backend_cpu.h: the CPU backend, lib/cpu's kernels behind backend.h's
 * table; device memory is host memory. */
#ifndef FER_BACKEND_CPU_H
#define FER_BACKEND_CPU_H

#include "backend.h"

extern const fer_backend fer_backend_cpu;

#endif
