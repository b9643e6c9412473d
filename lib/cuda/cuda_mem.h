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
/* Graph staging (backend.h's graph_refill). A kernel takes its per-call
 * values (a dropout key, the transforms of a batch, the optimiser's
 * numbers, an upload's bytes) from device memory that fer_cuda_stage
 * fills, so that a recorded graph can be replayed with new ones:
 *   direct:    the bytes are copied at once into a ring on the device;
 *   recording: they go into a host image at the next offset of the
 *              graph's block, which the graph's launch uploads;
 *   refilling: likewise, while the ops launch nothing (FER_LAUNCH and
 *              the backend's copies check fer_cuda_refilling), so that a
 *              walk of the same ops with new values rewrites the image.
 * fer_cuda_stage gives the device address that holds the bytes when the
 * kernel queued next runs; NULL with fer_error() set on failure. */
void *fer_cuda_stage(const void *host, size_t bytes);
int fer_cuda_recording(void);
/* fer_cuda_stage_begin(0) before a recording, (1) before a refill; then
 * fer_cuda_stage_end: the image's bytes and stage calls, and -1 when the
 * image outgrew the block (the next recording gets room). */
int fer_cuda_stage_begin(int refill);
int fer_cuda_stage_end(size_t *used, unsigned *calls);
/* queues the image's first used bytes to the device block */
int fer_cuda_stage_upload(size_t used);
/* frees the scratch and staging blocks (fer_cuda_scratch, cuda_ops.h) */
void fer_cuda_mem_release(void);

#endif
