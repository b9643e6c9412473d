/* cuda_emu_runtime.h: the subset of the CUDA runtime API that the backend's
 * host code calls, with the runtime's names, values and semantics, for the
 * emulator (included by cuda_emu.h). Everything runs synchronously on the
 * calling thread: an "async" call has finished when it returns, a stream is
 * a token. Device memory is host heap memory, 256-aligned, filled with
 * 0xFF bytes (NaN floats) by cudaMalloc so that reads of unwritten memory
 * show. FER_EMU_NO_DEVICE=1 in the environment makes the device vanish:
 * cudaGetDeviceCount says 0 and the calls that need a device return
 * cudaErrorNoDevice. Stream capture (global mode) records the launches,
 * copies and sets of the captured stream into a graph; cudaGraphLaunch
 * replays them in order. */
#ifndef FER_CUDA_EMU_RUNTIME_H
#define FER_CUDA_EMU_RUNTIME_H

#include <stddef.h>

#include <functional>

/* the runtime's own numbers, so that a message quoting one matches */
enum cudaError_t {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInsufficientDriver = 35,
    cudaErrorInvalidDevice = 101,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorIllegalState = 401,
    cudaErrorStreamCaptureUnsupported = 900,
    cudaErrorStreamCaptureInvalidated = 901,
    cudaErrorStreamCaptureUnmatched = 903,
    cudaErrorStreamCaptureImplicit = 906,
};
typedef enum cudaError_t cudaError;

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};

enum cudaStreamCaptureMode {
    cudaStreamCaptureModeGlobal = 0,
    cudaStreamCaptureModeThreadLocal = 1,
    cudaStreamCaptureModeRelaxed = 2,
};

enum cudaFuncAttribute {
    cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
    cudaFuncAttributePreferredSharedMemoryCarveout = 9,
};

#define cudaStreamDefault 0x0
#define cudaStreamNonBlocking 0x1

typedef struct CUstream_st *cudaStream_t;
typedef struct CUgraph_st *cudaGraph_t;
typedef struct CUgraphExec_st *cudaGraphExec_t;

/* the fields the backend reads, with an H100's values (so that host code
 * sizing grids by multiProcessorCount picks what it picks on the GPU) */
struct cudaDeviceProp {
    char name[256];
    int major, minor;
    int multiProcessorCount;
    size_t sharedMemPerBlock;      /* 48 KiB without opting in */
    size_t sharedMemPerBlockOptin; /* 227 KiB */
    size_t sharedMemPerMultiprocessor;
    size_t totalGlobalMem;
    int warpSize;
    int maxThreadsPerBlock;
    int maxThreadsDim[3];
    int maxGridSize[3];
    int regsPerBlock;
    int l2CacheSize;
};

cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int *device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device);
cudaError_t cudaDriverGetVersion(int *version);
cudaError_t cudaRuntimeGetVersion(int *version);
cudaError_t cudaDeviceSynchronize(void);

/* returns the last error of any call or launch and resets it to success */
cudaError_t cudaGetLastError(void);
/* the same without resetting */
cudaError_t cudaPeekAtLastError(void);
const char *cudaGetErrorString(cudaError_t err);
const char *cudaGetErrorName(cudaError_t err);

cudaError_t cudaMalloc(void **ptr, size_t bytes);
template <class T> static inline cudaError_t cudaMalloc(T **ptr, size_t bytes)
{
    return cudaMalloc((void **)ptr, bytes);
}
cudaError_t cudaFree(void *ptr);
cudaError_t cudaMallocHost(void **ptr, size_t bytes);
cudaError_t cudaFreeHost(void *ptr);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream = 0);
cudaError_t cudaMemset(void *ptr, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void *ptr, int value, size_t bytes, cudaStream_t stream = 0);

cudaError_t cudaStreamCreate(cudaStream_t *stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);

/* no-ops that check their arguments: the emulator has no limit per kernel
 * below the 227 KiB a launch may ask for */
cudaError_t cudaFuncSetAttribute(const void *func, cudaFuncAttribute attr, int value);
template <class T>
static inline cudaError_t cudaFuncSetAttribute(T *func, cudaFuncAttribute attr, int value)
{
    return cudaFuncSetAttribute((const void *)func, attr, value);
}

/* stream capture into a graph, and its replay */
cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph,
                                 unsigned long long flags = 0);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);

/* ---- the emulator's side of the runtime (not CUDA API) ---- */

/* 1 when $FER_EMU_NO_DEVICE is set to anything but 0 or "" */
int fer_emu_no_device(void);
/* The bytes cudaMalloc holds now (a test's check that all was freed). */
size_t fer_emu_device_bytes(void);
/* cudaMalloc fails with cudaErrorMemoryAllocation beyond bytes in all
 * (0: no limit; default $FER_EMU_MEM_LIMIT), to test out-of-memory paths. */
void fer_emu_set_memory_limit(size_t bytes);
/* Sets the last error (the launch and the runtime calls use it). */
cudaError_t fer_emu_set_error(cudaError_t err);
/* Records op into the graph being captured and returns 1, or returns 0
 * when no capture is under way (the caller then runs it). stream NULL:
 * a kernel launch, which goes to whichever stream is being captured. */
int fer_emu_capture(cudaStream_t stream, std::function<void()> op);

#endif
