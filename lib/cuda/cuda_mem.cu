/* cuda_mem.cu: the CUDA backend's stream, error check and scratch
 * memory, which every op file uses. One stream per process: the tools
 * run one net at a time, and one in-order stream keeps every result in
 * a fixed order. */
#include "cuda_compat.h"

extern "C" {
#include "error.h"
}
#include "cuda_mem.h"

static cudaStream_t stream;
static int stream_made;
static void *scratch;
static size_t scratch_bytes;
static unsigned scratch_moves;  /* graphs recorded before a move are stale */

cudaStream_t fer_cuda_stream(void)
{
    if (!stream_made) {
        /* the legacy default stream would serialise with every other
         * stream of the process; a stream of our own does not */
        if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess)
            stream = 0;
        stream_made = 1;
    }
    return stream;
}

int fer_cuda_check(cudaError_t e, const char *what)
{
    if (e == cudaSuccess)
        return 0;
    return fer_seterr("cuda: %s: %s", what, cudaGetErrorString(e));
}

/* one message across threads: the backend has one stream */
static char deferred[512];

void fer_cuda_defer_error(void)
{
    if (!deferred[0])
        snprintf(deferred, sizeof deferred, "%s", fer_error()[0] ? fer_error() : "cuda: failed");
}

int fer_cuda_take_error(void)
{
    if (!deferred[0])
        return 0;
    fer_seterr("%s", deferred);
    deferred[0] = 0;
    return -1;
}

void *fer_cuda_scratch(size_t bytes)
{
    if (bytes <= scratch_bytes)
        return scratch;
    /* grows only; the old block may still be read by queued work, so wait
     * for it before freeing */
    if (scratch) {
        cudaStreamSynchronize(fer_cuda_stream());
        cudaFree(scratch);
        scratch = NULL;
        scratch_bytes = 0;
    }
    size_t want = bytes < 4096 ? 4096 : bytes + bytes / 2;
    if (fer_cuda_check(cudaMalloc(&scratch, want), "scratch memory") < 0) {
        scratch = NULL;
        return NULL;
    }
    scratch_bytes = want;
    scratch_moves++;
    return scratch;
}

unsigned fer_cuda_scratch_moves(void)
{
    return scratch_moves;
}

void fer_cuda_mem_release(void)
{
    if (scratch) {
        cudaStreamSynchronize(fer_cuda_stream());
        cudaFree(scratch);
    }
    scratch = NULL;
    scratch_bytes = 0;
    scratch_moves++;
}
