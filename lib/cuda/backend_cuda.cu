/* backend_cuda.cu: backend.h's table for the GPU: memory through the CUDA
 * runtime on the backend's one stream (cuda_mem.cu), the ops from lib/cuda's
 * kernel files (cuda_ops.h), and opening a device with a one-line reason
 * when there is none to open. Copies to the device return once the host
 * buffer may be reused; copies to the host return once the data is there;
 * everything else is queued, and its errors show at the next sync. */
#include <stdlib.h>
#include <string.h>

#include "cuda_compat.h"

extern "C" {
#include "error.h"
}
#include "backend_cuda.h"
#include "cuda_mem.h"
#include "cuda_ops.h"
#include "cublas_dl.h"

/* the first failure of a void call (an upload, say), for the next sync */
static cudaError_t pending = cudaSuccess;
static const char *pending_what = "";

static void note(cudaError_t e, const char *what)
{
    if (e != cudaSuccess && pending == cudaSuccess) {
        pending = e;
        pending_what = what;
    }
}

static void *cu_alloc(size_t bytes)
{
    void *p = NULL;
    /* cudaMalloc aligns to 256 bytes, more than the 64 the table asks */
    if (fer_cuda_check(cudaMalloc(&p, bytes ? bytes : 1), "device memory") < 0) {
        cudaGetLastError();     /* an allocation failure is not sticky */
        return NULL;
    }
    return p;
}

static void cu_free(void *block)
{
    if (block) {
        cudaStreamSynchronize(fer_cuda_stream());
        cudaFree(block);
    }
}

static void cu_upload(void *dst, const void *host, size_t bytes)
{
    void *st;
    if (fer_cuda_refilling() || fer_cuda_recording()) {
        /* a graph's upload copies from its staged values (cuda_mem.h):
         * a copy from host memory would replay the recording's bytes */
        if (!(st = fer_cuda_stage(host, bytes)))
            note(cudaErrorMemoryAllocation, "upload");
        else if (!fer_cuda_refilling())
            note(cudaMemcpyAsync(dst, st, bytes, cudaMemcpyDeviceToDevice, fer_cuda_stream()),
                 "upload");
        return;
    }
    /* from pageable memory the copy is staged before the call returns, so
     * the host buffer may change at once */
    note(cudaMemcpyAsync(dst, host, bytes, cudaMemcpyHostToDevice, fer_cuda_stream()), "upload");
}

static void cu_download(void *host, const void *src, size_t bytes)
{
    if (fer_cuda_refilling()) {
        note(cudaErrorStreamCaptureUnsupported, "download while refilling a graph");
        return;
    }
    note(cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, fer_cuda_stream()),
         "download");
    note(cudaStreamSynchronize(fer_cuda_stream()), "download");
}

static void cu_copy(void *dst, const void *src, size_t bytes)
{
    if (!fer_cuda_refilling())
        note(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, fer_cuda_stream()),
             "copy");
}

static void cu_zero(void *dst, size_t bytes)
{
    if (!fer_cuda_refilling())
        note(cudaMemsetAsync(dst, 0, bytes, fer_cuda_stream()), "zero");
}

static int cu_sync(void)
{
    if (fer_cuda_refilling()) {
        note(cudaErrorStreamCaptureUnsupported, "waiting while refilling a graph");
        return 0;   /* reported by the launch */
    }
    cudaError_t e = cudaStreamSynchronize(fer_cuda_stream());
    if (fer_cuda_take_error() < 0) {
        pending = cudaSuccess;
        return -1;
    }
    if (pending != cudaSuccess) {
        cudaError_t p = pending;
        pending = cudaSuccess;
        return fer_cuda_check(p, pending_what);
    }
    if (e == cudaSuccess)
        e = cudaGetLastError();     /* a launch that never ran */
    return fer_cuda_check(e, "a kernel");
}

/* A recorded graph, the memory moves it was recorded at, and the shape
 * of its staged values (cuda_mem.h): bytes and stage calls. */
typedef struct cu_graph {
    cudaGraphExec_t exec;
    unsigned moves;
    size_t used;
    unsigned calls;
} cu_graph;

static unsigned record_moves;
static cu_graph *image_of;    /* whose values the staging image holds */
static cu_graph *refilling;   /* the graph graph_refill named */
static int refill_bad;

static int cu_graph_begin(void)
{
    if (fer_cuda_stage_begin(0) < 0)
        return -1;
    record_moves = fer_cuda_scratch_moves();
    if (fer_cuda_check(cudaStreamBeginCapture(fer_cuda_stream(), cudaStreamCaptureModeGlobal),
                       "recording a graph") < 0) {
        size_t used;
        unsigned calls;
        fer_cuda_stage_end(&used, &calls);
        return -1;
    }
    return 0;
}

static void *cu_graph_end(void)
{
    cudaGraph_t g = NULL;
    cu_graph *cg = NULL;
    size_t used;
    unsigned calls;
    const int over = fer_cuda_stage_end(&used, &calls);
    if (fer_cuda_check(cudaStreamEndCapture(fer_cuda_stream(), &g), "recording a graph") < 0) {
        cudaGetLastError();
        return NULL;
    }
    if (fer_cuda_scratch_moves() != record_moves) {
        /* an op grew the scratch while recording: its address is gone */
        fer_seterr("cuda: recording a graph: the scratch memory moved");
    } else if (over) {
        /* the next recording gets the room this one lacked */
        fer_seterr("cuda: recording a graph: its values outgrew the staging memory");
    } else if (!(cg = (cu_graph *)malloc(sizeof *cg))) {
        fer_seterr("out of memory");
    } else if (fer_cuda_check(cudaGraphInstantiate(&cg->exec, g, 0), "instantiating a graph") <
               0) {
        free(cg);
        cg = NULL;
    } else {
        cg->moves = record_moves;
        cg->used = used;
        cg->calls = calls;
        image_of = cg;
    }
    cudaGraphDestroy(g);
    return cg;
}

static void cu_graph_refill(void *graph)
{
    refilling = (cu_graph *)graph;
    refill_bad = fer_cuda_stage_begin(1) < 0;
}

static int cu_graph_launch(void *graph)
{
    cu_graph *cg = (cu_graph *)graph;
    if (fer_cuda_refilling() || refilling) {
        size_t used;
        unsigned calls;
        const int over = fer_cuda_stage_end(&used, &calls);
        const int same = refilling == cg && !refill_bad && !over && used == cg->used &&
                         calls == cg->calls;
        refilling = NULL;
        image_of = same ? cg : NULL;
        if (pending == cudaErrorStreamCaptureUnsupported) {
            pending = cudaSuccess;   /* a read-back in the walk: not this graph's ops */
            return 1;
        }
        if (!same)
            return 1;
    }
    if (cg->moves != fer_cuda_scratch_moves() || (cg->used && image_of != cg))
        return 1;
    if (fer_cuda_stage_upload(cg->used) < 0)
        note(cudaErrorMemoryAllocation, "a graph's values");
    note(cudaGraphLaunch(cg->exec, fer_cuda_stream()), "a graph");
    return 0;
}

static void cu_graph_free(void *graph)
{
    cu_graph *cg = (cu_graph *)graph;
    if (cg) {
        cudaStreamSynchronize(fer_cuda_stream());
        cudaGraphExecDestroy(cg->exec);
        if (image_of == cg)
            image_of = NULL;
        if (refilling == cg)
            refilling = NULL;
        free(cg);
    }
}

/* filled by name: C++17 has no designated initialisers */
static fer_backend table(void)
{
    fer_backend b;
    memset(&b, 0, sizeof b);
    b.name = "cuda";
    b.alloc = cu_alloc;
    b.free = cu_free;
    b.upload = cu_upload;
    b.download = cu_download;
    b.copy = cu_copy;
    b.zero = cu_zero;
    b.sync = cu_sync;
    b.conv_workspace = fer_cuda_conv_workspace;
    b.conv_forward = fer_cuda_conv_forward;
    b.conv_backward = fer_cuda_conv_backward;
    b.bn_forward_train = fer_cuda_bn_forward_train;
    b.bn_forward_infer = fer_cuda_bn_forward_infer;
    b.bn_backward = fer_cuda_bn_backward;
    b.relu_forward = fer_cuda_relu_forward;
    b.relu_backward = fer_cuda_relu_backward;
    b.lrelu_forward = fer_cuda_lrelu_forward;
    b.lrelu_backward = fer_cuda_lrelu_backward;
    b.dropout_forward = fer_cuda_dropout_forward;
    b.dropout_backward = fer_cuda_dropout_backward;
    b.maxpool_forward = fer_cuda_maxpool_forward;
    b.maxpool_backward = fer_cuda_maxpool_backward;
    b.avgpool_forward = fer_cuda_avgpool_forward;
    b.avgpool_backward = fer_cuda_avgpool_backward;
    b.dense_forward = fer_cuda_dense_forward;
    b.dense_backward = fer_cuda_dense_backward;
    b.add = fer_cuda_add;
    b.xent_forward = fer_cuda_xent_forward;
    b.xent_backward = fer_cuda_xent_backward;
    b.sum_squares = fer_cuda_sum_squares;
    b.optim_step = fer_cuda_optim_step;
    b.ema = fer_cuda_ema;
    b.augment_batch = fer_cuda_augment_batch;
    b.conv_forward_fused = fer_cuda_conv_forward_fused;
    b.bn_forward_train_stats = fer_cuda_bn_forward_train_stats;
    b.graph_begin = cu_graph_begin;
    b.graph_end = cu_graph_end;
    b.graph_launch = cu_graph_launch;
    b.graph_free = cu_graph_free;
    b.graph_refill = cu_graph_refill;
    return b;
}

extern "C" const fer_backend fer_backend_cuda = table();

const fer_backend *fer_backend_cuda_open(int device)
{
    int n = 0, driver = 0, runtime = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    if (!driver) {
        /* no driver at all: a machine without a GPU, not an old driver */
        fer_seterr("cuda: no usable GPU (no CUDA driver is installed)");
        cudaGetLastError();
        return NULL;
    }
    if (e == cudaErrorInsufficientDriver || driver < runtime) {
        fer_seterr("cuda: the GPU driver is too old: it supports CUDA %d.%d, fer was built "
                   "with CUDA %d.%d", driver / 1000, driver % 1000 / 10, runtime / 1000,
                   runtime % 1000 / 10);
        return NULL;
    }
    if (e != cudaSuccess || n == 0) {
        fer_seterr("cuda: no usable GPU (%s)",
                   e != cudaSuccess ? cudaGetErrorString(e) : "the driver lists none");
        cudaGetLastError();
        return NULL;
    }
    if (device < 0 || device >= n) {
        fer_seterr("cuda: no GPU number %d (this machine has %d, numbered from 0)", device, n);
        return NULL;
    }
    if (fer_cuda_check(cudaSetDevice(device), "selecting the GPU") < 0)
        return NULL;
    fer_cuda_stream();
    return &fer_backend_cuda;
}

int fer_backend_cuda_precision(const char *name)
{
    static const char *names[] = {"fp32", "tf32", "bf16"};
    static const int values[] = {FER_CUDA_FP32, FER_CUDA_TF32, FER_CUDA_BF16};
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, names[i])) {
            fer_cuda_set_precision(values[i]);
            return 0;
        }
    return fer_seterr("cuda: precision '%s' (fp32, tf32 or bf16)", name);
}

int fer_backend_cuda_gemm(const char *name)
{
    if (!strcmp(name, "ours")) {
        fer_cuda_set_cublas(0);
        return 0;
    }
    if (strcmp(name, "cublas"))
        return fer_seterr("cuda: --gemm '%s' (ours or cublas)", name);
    if (fer_cublas_load() < 0)
        return -1;
    fer_cuda_set_cublas(1);
    return 0;
}
