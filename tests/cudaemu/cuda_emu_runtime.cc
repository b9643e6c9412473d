/* cuda_emu_runtime.cc: the CUDA runtime calls of cuda_emu_runtime.h on the
 * host: device memory is heap memory known to a registry (so that a copy
 * from or to a range no cudaMalloc made fails, as on the GPU), streams are
 * tokens, and stream capture records closures that a graph launch replays.
 * Where CUDA refuses a call while a capture is under way (a synchronous
 * copy, a synchronize, cudaMalloc in global mode) this refuses it too and
 * invalidates the capture, so that host code that would fail on the GPU
 * fails here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "cuda_emu.h"

struct CUgraph_st {
    std::vector<std::function<void()>> ops;
};
struct CUgraphExec_st {
    std::vector<std::function<void()>> ops;
};
struct CUstream_st {
    unsigned flags;
};

static std::mutex g_lock;                      /* the registry and the capture */
static std::map<const char *, size_t> g_alloc; /* device base -> bytes */
static std::set<cudaStream_t> g_streams;
static size_t g_device_bytes, g_mem_limit;
static int g_mem_limit_read;
static cudaStream_t g_capture;   /* the stream being captured, or NULL */
static cudaGraph_t g_capture_graph;
static int g_capture_invalid;    /* an illegal call ended the capture's use */
static thread_local cudaError_t g_last = cudaSuccess;

cudaError_t fer_emu_set_error(cudaError_t err)
{
    if (err != cudaSuccess)
        g_last = err;
    return err;
}

int fer_emu_no_device(void)
{
    const char *s = getenv("FER_EMU_NO_DEVICE");
    return s && *s && strcmp(s, "0") != 0;
}

size_t fer_emu_device_bytes(void)
{
    std::lock_guard<std::mutex> l(g_lock);
    return g_device_bytes;
}

void fer_emu_set_memory_limit(size_t bytes)
{
    g_mem_limit = bytes;
    g_mem_limit_read = 1;
}

/* the error of a call that needs the device, or cudaSuccess */
static cudaError_t need_device(void)
{
    return fer_emu_no_device() ? fer_emu_set_error(cudaErrorNoDevice) : cudaSuccess;
}

/* A call CUDA forbids during a global-mode capture: it invalidates the
 * capture and fails with err. cudaSuccess when nothing is captured. */
static cudaError_t forbidden_in_capture(cudaError_t err)
{
    std::lock_guard<std::mutex> l(g_lock);
    if (!g_capture)
        return cudaSuccess;
    g_capture_invalid = 1;
    return fer_emu_set_error(err);
}

int fer_emu_capture(cudaStream_t stream, std::function<void()> op)
{
    std::lock_guard<std::mutex> l(g_lock);
    if (!g_capture || (stream && stream != g_capture))
        return 0;
    g_capture_graph->ops.push_back(std::move(op));
    return 1;
}

/* [p, p + n) inside one device allocation */
static int is_device(const void *p, size_t n)
{
    std::lock_guard<std::mutex> l(g_lock);
    auto it = g_alloc.upper_bound((const char *)p);
    if (it == g_alloc.begin())
        return 0;
    --it;
    const char *c = (const char *)p;
    return c >= it->first && c - it->first <= (ptrdiff_t)it->second &&
           n <= it->second - (size_t)(c - it->first);
}

static int valid_stream(cudaStream_t s)
{
    std::lock_guard<std::mutex> l(g_lock);
    return !s || g_streams.count(s);
}

cudaError_t cudaGetDeviceCount(int *count)
{
    if (!count)
        return fer_emu_set_error(cudaErrorInvalidValue);
    *count = fer_emu_no_device() ? 0 : 1;
    return need_device();
}

cudaError_t cudaSetDevice(int device)
{
    if (need_device())
        return cudaErrorNoDevice;
    return device == 0 ? cudaSuccess : fer_emu_set_error(cudaErrorInvalidDevice);
}

cudaError_t cudaGetDevice(int *device)
{
    if (need_device())
        return cudaErrorNoDevice;
    if (!device)
        return fer_emu_set_error(cudaErrorInvalidValue);
    *device = 0;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int device)
{
    if (need_device())
        return cudaErrorNoDevice;
    if (!p)
        return fer_emu_set_error(cudaErrorInvalidValue);
    if (device != 0)
        return fer_emu_set_error(cudaErrorInvalidDevice);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "fer CUDA emulator (CPU, as an H100)");
    p->major = 9;
    p->minor = 0;
    p->multiProcessorCount = 132;
    p->sharedMemPerBlock = 48 * 1024;
    p->sharedMemPerBlockOptin = 227 * 1024;
    p->sharedMemPerMultiprocessor = 228 * 1024;
    p->totalGlobalMem = (size_t)80 << 30;
    p->warpSize = 32;
    p->maxThreadsPerBlock = 1024;
    p->maxThreadsDim[0] = p->maxThreadsDim[1] = 1024;
    p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = 2147483647;
    p->maxGridSize[1] = p->maxGridSize[2] = 65535;
    p->regsPerBlock = 65536;
    p->l2CacheSize = 50 * 1024 * 1024;
    return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int *v)
{
    if (!v)
        return fer_emu_set_error(cudaErrorInvalidValue);
    *v = 12040;
    return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *v)
{
    if (!v)
        return fer_emu_set_error(cudaErrorInvalidValue);
    *v = 12040;
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
    if (need_device())
        return cudaErrorNoDevice;
    return forbidden_in_capture(cudaErrorStreamCaptureUnsupported);
}

cudaError_t cudaGetLastError(void)
{
    cudaError_t e = g_last;
    g_last = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void) { return g_last; }

static const struct {
    cudaError_t err;
    const char *name, *text;
} errors[] = {
    {cudaSuccess, "cudaSuccess", "no error"},
    {cudaErrorInvalidValue, "cudaErrorInvalidValue", "invalid argument"},
    {cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation", "out of memory"},
    {cudaErrorInvalidConfiguration, "cudaErrorInvalidConfiguration",
     "invalid configuration argument"},
    {cudaErrorNoDevice, "cudaErrorNoDevice", "no CUDA-capable device is detected"},
    {cudaErrorInsufficientDriver, "cudaErrorInsufficientDriver",
     "CUDA driver version is insufficient for CUDA runtime version"},
    {cudaErrorInvalidDevice, "cudaErrorInvalidDevice", "invalid device ordinal"},
    {cudaErrorInvalidResourceHandle, "cudaErrorInvalidResourceHandle", "invalid resource handle"},
    {cudaErrorIllegalState, "cudaErrorIllegalState",
     "the operation cannot be performed in the present state"},
    {cudaErrorStreamCaptureUnsupported, "cudaErrorStreamCaptureUnsupported",
     "operation not permitted when stream is capturing"},
    {cudaErrorStreamCaptureInvalidated, "cudaErrorStreamCaptureInvalidated",
     "operation failed due to a previous error during capture"},
    {cudaErrorStreamCaptureUnmatched, "cudaErrorStreamCaptureUnmatched",
     "capture was not initiated in this stream"},
    {cudaErrorStreamCaptureImplicit, "cudaErrorStreamCaptureImplicit",
     "operation would make the legacy stream depend on a capturing blocking stream"},
};

const char *cudaGetErrorString(cudaError_t err)
{
    for (auto &e : errors)
        if (e.err == err)
            return e.text;
    return "unrecognized error code";
}

const char *cudaGetErrorName(cudaError_t err)
{
    for (auto &e : errors)
        if (e.err == err)
            return e.name;
    return "cudaErrorUnknown";
}

static size_t mem_limit(void)
{
    if (!g_mem_limit_read) {
        const char *s = getenv("FER_EMU_MEM_LIMIT");
        g_mem_limit = s && *s ? strtoull(s, NULL, 0) : 0;
        g_mem_limit_read = 1;
    }
    return g_mem_limit;
}

cudaError_t cudaMalloc(void **ptr, size_t bytes)
{
    void *p = NULL;
    if (need_device())
        return cudaErrorNoDevice;
    if (!ptr)
        return fer_emu_set_error(cudaErrorInvalidValue);
    if (forbidden_in_capture(cudaErrorStreamCaptureUnsupported))
        return cudaErrorStreamCaptureUnsupported;
    *ptr = NULL;
    if (!bytes)
        return cudaSuccess;
    size_t limit = mem_limit();
    {
        std::lock_guard<std::mutex> l(g_lock);
        if (limit && (bytes > limit || g_device_bytes > limit - bytes))
            return fer_emu_set_error(cudaErrorMemoryAllocation);
    }
    /* exactly bytes (ASan then catches a kernel reading past the end),
     * 256-aligned as cudaMalloc's */
    if (posix_memalign(&p, 256, bytes) != 0)
        return fer_emu_set_error(cudaErrorMemoryAllocation);
    memset(p, 0xFF, bytes);
    std::lock_guard<std::mutex> l(g_lock);
    g_alloc[(const char *)p] = bytes;
    g_device_bytes += bytes;
    *ptr = p;
    return cudaSuccess;
}

cudaError_t cudaFree(void *ptr)
{
    if (!ptr)
        return cudaSuccess;
    if (forbidden_in_capture(cudaErrorStreamCaptureUnsupported))
        return cudaErrorStreamCaptureUnsupported;
    {
        std::lock_guard<std::mutex> l(g_lock);
        auto it = g_alloc.find((const char *)ptr);
        if (it == g_alloc.end())
            return fer_emu_set_error(cudaErrorInvalidValue);
        g_device_bytes -= it->second;
        g_alloc.erase(it);
    }
    free(ptr);
    return cudaSuccess;
}

cudaError_t cudaMallocHost(void **ptr, size_t bytes)
{
    if (!ptr)
        return fer_emu_set_error(cudaErrorInvalidValue);
    *ptr = malloc(bytes ? bytes : 1);
    return *ptr ? cudaSuccess : fer_emu_set_error(cudaErrorMemoryAllocation);
}

cudaError_t cudaFreeHost(void *ptr)
{
    free(ptr);
    return cudaSuccess;
}

/* the device side(s) of a copy must lie inside device allocations */
static cudaError_t check_copy(void *dst, const void *src, size_t n, cudaMemcpyKind kind)
{
    if (need_device())
        return cudaErrorNoDevice;
    if (!n)
        return cudaSuccess;
    int dd = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    int sd = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if ((unsigned)kind > cudaMemcpyDefault || !dst || !src || (dd && !is_device(dst, n)) ||
        (sd && !is_device(src, n)))
        return fer_emu_set_error(cudaErrorInvalidValue);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, cudaMemcpyKind kind)
{
    cudaError_t e = check_copy(dst, src, n, kind);
    if (e)
        return e;
    if (forbidden_in_capture(cudaErrorStreamCaptureImplicit))
        return cudaErrorStreamCaptureImplicit;
    if (n)
        memcpy(dst, src, n);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind kind,
                            cudaStream_t stream)
{
    cudaError_t e = check_copy(dst, src, n, kind);
    if (e)
        return e;
    if (!valid_stream(stream))
        return fer_emu_set_error(cudaErrorInvalidResourceHandle);
    if (!n)
        return cudaSuccess;
    if (!stream && forbidden_in_capture(cudaErrorStreamCaptureImplicit))
        return cudaErrorStreamCaptureImplicit;
    if (!fer_emu_capture(stream, [=]() { memcpy(dst, src, n); }))
        memcpy(dst, src, n);
    return cudaSuccess;
}

cudaError_t cudaMemset(void *ptr, int value, size_t n)
{
    if (need_device())
        return cudaErrorNoDevice;
    if (n && (!ptr || !is_device(ptr, n)))
        return fer_emu_set_error(cudaErrorInvalidValue);
    if (forbidden_in_capture(cudaErrorStreamCaptureImplicit))
        return cudaErrorStreamCaptureImplicit;
    if (n)
        memset(ptr, value, n);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *ptr, int value, size_t n, cudaStream_t stream)
{
    if (need_device())
        return cudaErrorNoDevice;
    if (n && (!ptr || !is_device(ptr, n)))
        return fer_emu_set_error(cudaErrorInvalidValue);
    if (!valid_stream(stream))
        return fer_emu_set_error(cudaErrorInvalidResourceHandle);
    if (!n)
        return cudaSuccess;
    if (!stream && forbidden_in_capture(cudaErrorStreamCaptureImplicit))
        return cudaErrorStreamCaptureImplicit;
    if (!fer_emu_capture(stream, [=]() { memset(ptr, value, n); }))
        memset(ptr, value, n);
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned flags)
{
    if (need_device())
        return cudaErrorNoDevice;
    if (!stream || flags > cudaStreamNonBlocking)
        return fer_emu_set_error(cudaErrorInvalidValue);
    *stream = new CUstream_st{flags};
    std::lock_guard<std::mutex> l(g_lock);
    g_streams.insert(*stream);
    return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t *stream)
{
    return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream)
{
    std::lock_guard<std::mutex> l(g_lock);
    if (!stream || !g_streams.erase(stream))
        return fer_emu_set_error(cudaErrorInvalidResourceHandle);
    delete stream;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
    if (need_device())
        return cudaErrorNoDevice;
    if (!valid_stream(stream))
        return fer_emu_set_error(cudaErrorInvalidResourceHandle);
    std::lock_guard<std::mutex> l(g_lock);
    if (g_capture && (stream == g_capture || !stream)) {
        g_capture_invalid = 1;
        return fer_emu_set_error(cudaErrorStreamCaptureUnsupported);
    }
    return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void *func, cudaFuncAttribute attr, int value)
{
    if (!func || (attr == cudaFuncAttributeMaxDynamicSharedMemorySize &&
                  (value < 0 || value > 227 * 1024)))
        return fer_emu_set_error(cudaErrorInvalidValue);
    return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode)
{
    if (need_device())
        return cudaErrorNoDevice;
    if (!valid_stream(stream) || !stream)
        return fer_emu_set_error(stream ? cudaErrorInvalidResourceHandle
                                        : cudaErrorStreamCaptureUnsupported);
    if (mode != cudaStreamCaptureModeGlobal)
        return fer_emu_set_error(cudaErrorInvalidValue); /* the one mode emulated */
    std::lock_guard<std::mutex> l(g_lock);
    if (g_capture)
        return fer_emu_set_error(cudaErrorIllegalState); /* one capture at a time */
    g_capture = stream;
    g_capture_graph = new CUgraph_st();
    g_capture_invalid = 0;
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph)
{
    if (!graph)
        return fer_emu_set_error(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> l(g_lock);
    if (!g_capture || stream != g_capture)
        return fer_emu_set_error(g_capture ? cudaErrorStreamCaptureUnmatched
                                           : cudaErrorIllegalState);
    *graph = g_capture_graph;
    g_capture = NULL;
    g_capture_graph = NULL;
    if (g_capture_invalid) {
        delete *graph;
        *graph = NULL;
        return fer_emu_set_error(cudaErrorStreamCaptureInvalidated);
    }
    return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long flags)
{
    if (!exec || !graph || flags)
        return fer_emu_set_error(cudaErrorInvalidValue);
    *exec = new CUgraphExec_st{graph->ops};
    return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream)
{
    if (need_device())
        return cudaErrorNoDevice;
    if (!exec)
        return fer_emu_set_error(cudaErrorInvalidValue);
    if (!valid_stream(stream))
        return fer_emu_set_error(cudaErrorInvalidResourceHandle);
    auto ops = exec->ops; /* a copy: the replay may be captured itself */
    if (fer_emu_capture(stream, [ops]() { for (auto &op : ops) op(); }))
        return cudaSuccess;
    for (auto &op : ops)
        op();
    return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec)
{
    delete exec;
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph)
{
    delete graph;
    return cudaSuccess;
}
