/* cuda_mem.cu: the CUDA backend's stream, error check and scratch
 * memory, which every op file uses. One stream per process: the tools
 * run one net at a time, and one in-order stream keeps every result in
 * a fixed order. */
#include <stdlib.h>

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

/* Staging (cuda_mem.h): the device block the kernels read their per-call
 * values from, and the host image of a graph's values. */
enum { STAGE_DIRECT, STAGE_RECORD, STAGE_REFILL };
static int stage_mode;
static unsigned char *stage_dev;    /* direct: a ring; a graph: its values from 0 */
static size_t stage_dev_bytes;
static size_t ring;                 /* direct: the ring's next free byte */
static unsigned char *stage_img;    /* recording or refilling: the values, on the host */
static size_t stage_img_cap, stage_used, stage_want;
static unsigned stage_calls;
static int stage_over;              /* the graph's values outgrew stage_dev */

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

/* *block of at least bytes (at least `least`, half again when it grows):
 * a new block, since the old one may still be read by queued work, which
 * is waited for before it is freed. A move makes recorded graphs stale.
 * 0, or -1 with fer_error() set. */
static int grow(void **block, size_t *have, size_t bytes, size_t least, const char *what)
{
    if (bytes <= *have)
        return 0;
    if (*block) {
        cudaStreamSynchronize(fer_cuda_stream());
        cudaFree(*block);
        *block = NULL;
        *have = 0;
    }
    size_t want = bytes < least ? least : bytes + bytes / 2;
    if (fer_cuda_check(cudaMalloc(block, want), what) < 0) {
        cudaGetLastError();       /* not sticky: the next sync reports it instead */
        fer_cuda_defer_error();   /* the op that wanted it queues nothing */
        *block = NULL;
        return -1;
    }
    *have = want;
    scratch_moves++;
    return 0;
}

void *fer_cuda_scratch(size_t bytes)
{
    return grow(&scratch, &scratch_bytes, bytes, 4096, "scratch memory") < 0 ? NULL : scratch;
}

/* stage_dev of at least bytes */
static int stage_grow(size_t bytes)
{
    void *p = stage_dev;
    const size_t had = stage_dev_bytes;
    const int rc = grow(&p, &stage_dev_bytes, bytes, 65536, "staging memory");
    stage_dev = (unsigned char *)p;
    if (stage_dev_bytes != had)
        ring = 0;
    return rc;
}

void *fer_cuda_stage(const void *host, size_t bytes)
{
    const size_t b = (bytes + 63) / 64 * 64;
    void *p;
    if (stage_mode == STAGE_DIRECT) {
        /* one stream: the copy into a slot waits for the kernels that read
         * the slot's last values, so the ring may wrap at any time */
        if (stage_grow(b) < 0)
            return NULL;
        if (ring + b > stage_dev_bytes)
            ring = 0;
        p = stage_dev + ring;
        ring += b;
        if (fer_cuda_check(cudaMemcpyAsync(p, host, bytes, cudaMemcpyHostToDevice,
                                           fer_cuda_stream()),
                           "staging") < 0) {
            fer_cuda_defer_error();
            return NULL;
        }
        return p;
    }
    /* a graph's values: at the next offset of the image, uploaded by the
     * graph's launch */
    stage_calls++;
    if (stage_used + b > stage_dev_bytes) {
        stage_over = 1;   /* this graph is not kept; the next one gets room */
        stage_used += b;
        if (stage_used > stage_want)
            stage_want = stage_used;
        return stage_dev;
    }
    if (stage_used + b > stage_img_cap) {
        unsigned char *img = (unsigned char *)realloc(stage_img, stage_dev_bytes);
        if (!img) {
            stage_over = 1;
            return stage_dev;
        }
        stage_img = img;
        stage_img_cap = stage_dev_bytes;
    }
    memcpy(stage_img + stage_used, host, bytes);
    p = stage_dev + stage_used;
    stage_used += b;
    if (stage_used > stage_want)
        stage_want = stage_used;
    return p;
}

int fer_cuda_refilling(void)
{
    return stage_mode == STAGE_REFILL;
}

int fer_cuda_recording(void)
{
    return stage_mode == STAGE_RECORD;
}

int fer_cuda_stage_begin(int refill)
{
    /* room for the largest graph so far, before a recording fixes the
     * address; a refill keeps the address it has */
    if (!refill && stage_grow(stage_want ? stage_want : 1) < 0)
        return -1;
    stage_mode = refill ? STAGE_REFILL : STAGE_RECORD;
    stage_used = 0;
    stage_calls = 0;
    stage_over = 0;
    return 0;
}

int fer_cuda_stage_end(size_t *used, unsigned *calls)
{
    stage_mode = STAGE_DIRECT;
    *used = stage_used;
    *calls = stage_calls;
    return stage_over ? -1 : 0;
}

int fer_cuda_stage_upload(size_t used)
{
    if (!used)
        return 0;
    return fer_cuda_check(cudaMemcpyAsync(stage_dev, stage_img, used, cudaMemcpyHostToDevice,
                                          fer_cuda_stream()),
                          "a graph's values");
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
    if (stage_dev) {
        cudaStreamSynchronize(fer_cuda_stream());
        cudaFree(stage_dev);
    }
    stage_dev = NULL;
    stage_dev_bytes = ring = stage_want = 0;
    free(stage_img);
    stage_img = NULL;
    stage_img_cap = 0;
    scratch_moves++;
}
