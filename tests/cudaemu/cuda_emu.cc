/* cuda_emu.cc: launches, fibers and the block scheduler of the emulator
 * (cuda_emu.h says what it emulates). A block's threads are fibers of the
 * OS thread that launched; the scheduler (on that thread's own stack)
 * switches to a runnable fiber picked at random, which runs until it
 * waits at a barrier or returns. Fibers and their stacks are made once per
 * OS thread and reused by every block and launch. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <numeric>

#include "cuda_emu_sched.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define FER_EMU_ASAN 1
#else
#define FER_EMU_ASAN 0
#endif

__thread uint3 fer_emu_thread_idx, fer_emu_block_idx;
__thread dim3 fer_emu_block_dim, fer_emu_grid_dim;
__thread fer_emu_fiber *fer_emu_cur;
__thread fer_emu_block *fer_emu_cur_block;

/* the OS thread's scheduler: its context, its fibers, the current block */
struct emu_os {
    ucontext_t sched;
    std::vector<fer_emu_fiber *> pool;
    fer_emu_block block;
    char *dyn; /* the launch's dynamic shared memory */
    size_t dyn_bytes;
    uint64_t rng;
    uint64_t seed_epoch;
    /* ASan: the scheduler's stack, learnt when a fiber first switches in */
    const void *sched_bottom;
    size_t sched_size;
    void *sched_fake;
};
static thread_local emu_os os;

static uint64_t g_seed = 1, g_seed_epoch; /* epoch: fer_emu_seed calls */
static int g_seed_read;
static size_t g_stack_size;
static uint64_t g_switches;

void fer_emu_seed(uint64_t seed)
{
    g_seed = seed;
    g_seed_read = 1;
    g_seed_epoch++;
}

uint64_t fer_emu_switches(void) { return g_switches; }

/* splitmix64 over the thread's state, reseeded when fer_emu_seed ran */
static uint64_t rng_next(void)
{
    if (!g_seed_read) {
        const char *s = getenv("FER_EMU_SEED");
        if (s && *s)
            g_seed = strtoull(s, NULL, 0);
        g_seed_read = 1;
    }
    if (os.seed_epoch != g_seed_epoch + 1) {
        os.rng = g_seed;
        os.seed_epoch = g_seed_epoch + 1;
    }
    uint64_t z = (os.rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in [0, n) (the bias of the modulo is irrelevant here) */
static size_t rng_below(size_t n) { return (size_t)(rng_next() % n); }

void fer_emu_set_stack_size(size_t bytes) { g_stack_size = bytes; }

static size_t stack_size(void)
{
    if (!g_stack_size) {
        const char *s = getenv("FER_EMU_STACK_KB");
        size_t kb = s && *s ? strtoull(s, NULL, 10) : 0;
        /* ASan's frames are larger (redzones) */
        g_stack_size = (kb ? kb : FER_EMU_ASAN ? 256 : 64) * 1024;
    }
    return g_stack_size;
}

[[noreturn]] void fer_emu_die(const fer_emu_fiber *f, const char *fmt, ...)
{
    const fer_emu_block *b = fer_emu_cur_block;
    va_list ap;
    if (!f)
        f = fer_emu_cur;
    fprintf(stderr, "cuda_emu: ");
    if (b)
        fprintf(stderr, "kernel %s block (%u,%u,%u) ", b->name, b->idx.x, b->idx.y, b->idx.z);
    if (f)
        fprintf(stderr, "thread (%u,%u,%u) ", f->tid.x, f->tid.y, f->tid.z);
    fprintf(stderr, "%s", b || f ? ": " : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    fflush(stderr);
    abort();
}

fer_emu_fiber *fer_emu_self(const char *what)
{
    if (!fer_emu_cur)
        fer_emu_die(NULL, "%s called outside a kernel", what);
    return fer_emu_cur;
}

/* A stack of size bytes above a PROT_NONE guard page, so that an overflow
 * faults instead of writing over the neighbour's stack. */
static fer_emu_fiber *fiber_new(void)
{
    fer_emu_fiber *f = new fer_emu_fiber();
    size_t page = (size_t)sysconf(_SC_PAGESIZE), size = stack_size();
    size = (size + page - 1) / page * page;
    char *m = (char *)mmap(NULL, size + page, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED || mprotect(m, page, PROT_NONE) != 0)
        fer_emu_die(NULL, "no memory for a fiber stack of %zu bytes", size);
    f->stack = m + page;
    f->stack_size = size;
    if (getcontext(&f->ctx) != 0)
        fer_emu_die(NULL, "getcontext failed");
    return f;
}

static void fiber_main(void);

/* from the scheduler into fiber f, back when f waits or exits */
static void switch_in(fer_emu_fiber *f)
{
    fer_emu_cur = f;
    fer_emu_thread_idx = f->tid;
    g_switches++;
#if FER_EMU_ASAN
    __sanitizer_start_switch_fiber(&os.sched_fake, f->stack, f->stack_size);
#endif
    swapcontext(&os.sched, &f->ctx);
#if FER_EMU_ASAN
    __sanitizer_finish_switch_fiber(os.sched_fake, NULL, NULL);
#endif
    fer_emu_cur = NULL;
}

void fer_emu_yield(void)
{
    fer_emu_fiber *f = fer_emu_cur;
#if FER_EMU_ASAN
    __sanitizer_start_switch_fiber(&f->fake_stack, os.sched_bottom, os.sched_size);
#endif
    swapcontext(&f->ctx, &os.sched);
#if FER_EMU_ASAN
    __sanitizer_finish_switch_fiber(f->fake_stack, &os.sched_bottom, &os.sched_size);
#endif
}

void fer_emu_release(int lin)
{
    fer_emu_block *b = fer_emu_cur_block;
    b->fibers[lin]->wait = FER_EMU_RUNNABLE;
    b->ready.push_back(lin);
}

static void fiber_main(void)
{
    fer_emu_fiber *f = fer_emu_cur;
#if FER_EMU_ASAN
    __sanitizer_finish_switch_fiber(NULL, &os.sched_bottom, &os.sched_size);
#endif
    (*fer_emu_cur_block->body)();
    f->wait = FER_EMU_EXITED;
    fer_emu_cur_block->exited++;
#if FER_EMU_ASAN
    /* NULL: this fiber's fake stack dies with it */
    __sanitizer_start_switch_fiber(NULL, os.sched_bottom, os.sched_size);
#endif
    swapcontext(&f->ctx, &os.sched);
    /* never resumed: the next block makes the context anew */
    abort();
}

void __syncthreads(void)
{
    fer_emu_fiber *f = fer_emu_self("__syncthreads");
    fer_emu_block *b = fer_emu_cur_block;
    f->wait = FER_EMU_AT_SYNC;
    if (++b->sync_arrived == b->n) {
        b->sync_arrived = 0;
        for (int i = 0; i < b->n; i++)
            fer_emu_release(i);
    }
    fer_emu_yield();
}

const char *fer_emu_wait_name(const fer_emu_fiber *f)
{
    static const char *shfl[] = {"__shfl_sync", "__shfl_up_sync", "__shfl_down_sync",
                                 "__shfl_xor_sync"};
    switch (f->wait) {
    case FER_EMU_RUNNABLE: return "running";
    case FER_EMU_AT_SYNC: return "__syncthreads";
    case FER_EMU_EXITED: return "exited";
    }
    switch (f->warp_kind) {
    case FER_EMU_WARP_SYNC: return "__syncwarp";
    case FER_EMU_WARP_MMA_BF16: return "fer_mma_bf16_m16n8k16";
    case FER_EMU_WARP_MMA_TF32: return "fer_mma_tf32_m16n8k8";
    }
    return f->warp_kind >= 0 && f->warp_kind < 4 ? shfl[f->warp_kind] : "a warp collective";
}

/* Nothing is runnable yet some threads have not returned: on the GPU the
 * block would hang. Name a waiting thread and one that will never come. */
[[noreturn]] static void deadlock(fer_emu_block *b)
{
    for (int i = 0; i < b->n; i++) {
        fer_emu_fiber *f = b->fibers[i];
        if (f->wait == FER_EMU_AT_WARP) {
            int w0 = i & ~31;
            for (int j = w0; j < w0 + 32 && j < b->n; j++)
                if (b->fibers[j]->wait != FER_EMU_AT_WARP)
                    fer_emu_die(f, "deadlock: waits at %s, but lane %d of its warp (thread %d) is "
                                   "at %s", fer_emu_wait_name(f), j - w0, j, fer_emu_wait_name(b->fibers[j]));
            fer_emu_die(f, "deadlock at %s (warp of %d lanes)", fer_emu_wait_name(f), b->warps[i / 32].nlanes);
        }
    }
    for (int i = 0; i < b->n; i++) {
        fer_emu_fiber *f = b->fibers[i];
        if (f->wait == FER_EMU_AT_SYNC)
            for (int j = 0; j < b->n; j++)
                if (b->fibers[j]->wait != FER_EMU_AT_SYNC)
                    fer_emu_die(f, "deadlock: waits at __syncthreads, but thread %d of the block "
                                   "has %s", j, b->fibers[j]->wait == FER_EMU_EXITED
                                                    ? "exited" : "not arrived");
    }
    fer_emu_die(b->fibers[0], "deadlock (the scheduler found nothing runnable)");
}

static void run_block(fer_emu_block *b)
{
    fer_emu_cur_block = b;
    fer_emu_block_idx = b->idx;
    if (os.dyn_bytes)
        memset(os.dyn, 0xFF, os.dyn_bytes); /* NaN floats: unwritten reads show */
    b->sync_arrived = b->exited = 0;
    b->ready.clear();
    for (size_t w = 0; w < b->warps.size(); w++) {
        b->warps[w].arrived = 0;
        b->warps[w].gen = 0;
    }
    for (int i = 0; i < b->n; i++) {
        fer_emu_fiber *f = b->fibers[i];
        f->lin = i;
        f->tid.x = (unsigned)i % b->dim.x;
        f->tid.y = (unsigned)i / b->dim.x % b->dim.y;
        f->tid.z = (unsigned)i / (b->dim.x * b->dim.y);
        f->wait = FER_EMU_RUNNABLE;
        f->ctx.uc_stack.ss_sp = f->stack;
        f->ctx.uc_stack.ss_size = f->stack_size;
        f->ctx.uc_link = NULL;
#if FER_EMU_ASAN
        /* the stack's last user never returned from its frames: clear their
         * redzones before frames of another layout land there */
        __asan_unpoison_memory_region(f->stack, f->stack_size);
#endif
        makecontext(&f->ctx, fiber_main, 0);
        b->ready.push_back(i);
    }
    while (!b->ready.empty()) {
        size_t k = rng_below(b->ready.size());
        int lin = b->ready[k];
        b->ready[k] = b->ready.back();
        b->ready.pop_back();
        switch_in(b->fibers[lin]);
    }
    if (b->exited != b->n)
        deadlock(b);
    fer_emu_cur_block = NULL;
}

/* cudaErrorInvalidConfiguration unless the launch could run on an H100 */
static int bad_config(dim3 g, dim3 t, size_t dyn)
{
    unsigned long long threads = (unsigned long long)t.x * t.y * t.z;
    return !g.x || !g.y || !g.z || g.x > 2147483647u || g.y > 65535 || g.z > 65535 || !threads ||
           threads > 1024 || t.x > 1024 || t.y > 1024 || t.z > 64 || dyn > 227 * 1024;
}

static void run_grid(const char *name, dim3 grid, dim3 block, size_t dyn,
                     const std::function<void()> &body)
{
    fer_emu_block *b = &os.block;
    if (fer_emu_cur_block)
        fer_emu_die(NULL, "launch of %s from inside a kernel", name);
    b->name = name;
    b->body = &body;
    b->dim = block;
    b->n = (int)(block.x * block.y * block.z);
    while (os.pool.size() < (size_t)b->n)
        os.pool.push_back(fiber_new());
    b->fibers.assign(os.pool.begin(), os.pool.begin() + b->n);
    b->warps.assign((size_t)(b->n + 31) / 32, fer_emu_warp());
    for (size_t w = 0; w < b->warps.size(); w++)
        b->warps[w].nlanes = b->n - (int)w * 32 < 32 ? b->n - (int)w * 32 : 32;
    fer_emu_block_dim = block;
    fer_emu_grid_dim = grid;

    /* exactly dyn bytes: under ASan a read past the end is caught */
    os.dyn = NULL;
    os.dyn_bytes = dyn;
    if (dyn && posix_memalign((void **)&os.dyn, 16, dyn) != 0)
        fer_emu_die(NULL, "no memory for %zu bytes of shared memory of %s", dyn, name);

    /* the blocks in a seeded random order: a shuffle when the grid is
     * small enough to list, else an affine permutation i -> (a i + c) mod n */
    uint64_t n = (uint64_t)grid.x * grid.y * grid.z;
    std::vector<uint32_t> order;
    uint64_t a = 1, c = rng_next() % n;
    if (n <= (1u << 22)) {
        order.resize(n);
        for (uint64_t i = 0; i < n; i++)
            order[i] = (uint32_t)i;
        for (uint64_t i = n - 1; i > 0; i--) {
            uint64_t j = rng_below(i + 1);
            uint32_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    } else {
        do
            a = rng_next() % n | 1;
        while (std::gcd(a, n) != 1);
    }
    for (uint64_t i = 0; i < n; i++) {
        uint64_t k = order.empty() ? (unsigned __int128)a * i % n + c : order[i];
        k %= n;
        b->idx.x = (unsigned)(k % grid.x);
        b->idx.y = (unsigned)(k / grid.x % grid.y);
        b->idx.z = (unsigned)(k / ((uint64_t)grid.x * grid.y));
        run_block(b);
    }
    free(os.dyn);
    os.dyn = NULL;
    os.dyn_bytes = 0;
}

void *fer_emu_dyn_smem(void)
{
    fer_emu_self("fer_emu_dyn_smem (FER_DYN_SMEM)");
    return os.dyn;
}

void fer_emu_launch(const char *name, dim3 grid, dim3 block, size_t dyn_smem,
                    std::function<void()> body)
{
    if (fer_emu_no_device()) {
        fer_emu_set_error(cudaErrorNoDevice);
        return;
    }
    if (bad_config(grid, block, dyn_smem)) {
        fer_emu_set_error(cudaErrorInvalidConfiguration);
        return;
    }
    if (fer_emu_capture(NULL, [=]() { run_grid(name, grid, block, dyn_smem, body); }))
        return;
    run_grid(name, grid, block, dyn_smem, body);
}
