/* cuda_mem.h: the CUDA backend's stream, error check and scratch memory
 * (cuda_mem.cu), for lib/cuda's own files: it names CUDA types. */
#ifndef FER_CUDA_MEM_H
#define FER_CUDA_MEM_H

#include "cuda_compat.h"
#include "cuda_ops.h"

/* the backend's one stream (cuda_compat.h declares it for nvcc's
 * FER_LAUNCH only; the emulated build needs it here) */
cudaStream_t fer_cuda_stream(void);
/* 0 when e is cudaSuccess, else -1 with fer_error() "cuda: what: why" */
int fer_cuda_check(cudaError_t e, const char *what);
/* A failure of queued work that has no cudaError_t (a cuBLAS status):
 * fer_cuda_defer_error keeps fer_error()'s message, the first one only,
 * and the backend's next sync returns it (fer_cuda_take_error: -1 with
 * fer_error() set to it, once; 0 when none is kept). */
void fer_cuda_defer_error(void);
int fer_cuda_take_error(void);
/* how many times the scratch block has moved: a graph recorded with its
 * old address is stale */
unsigned fer_cuda_scratch_moves(void);
/* frees the scratch block (fer_cuda_scratch, cuda_ops.h) */
void fer_cuda_mem_release(void);

#endif
