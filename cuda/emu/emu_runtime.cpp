// emu_runtime.cpp - the emulated CUDA device (P3D_CUDA_EMU): device memory table, streams, events,
// device queries, and the kernel executor.
//
// Kernels: the blocks of a grid are shared out over a pool of OS threads (real concurrency, real
// atomics); the threads of one block are fibers on one OS thread with their own stacks, switched by a
// small hand-written context switch, so __syncthreads() is a real barrier and a thread-local variable
// is one block's __shared__ memory. A fiber takes a stack when it first runs and gives it back when it
// ends, so the threads of a kernel without barriers or warp collectives all run on one stack that
// stays in the cache (one stack per thread made the switches miss the cache and the TLB: a third of
// the learned fill's emulated time); a thread that waits keeps its stack. Warp collectives (__shfl_*_sync, __ballot_sync, ...) wait until
// every lane named in the mask has arrived at the same collective, then complete together; a lane
// missing from the mask it needs, one that exited, or one waiting at a different barrier is a device
// error. Between two synchronisation points the runnable fibers run in an order shuffled by
// P3D_EMU_SEED (the block order too), so a result that depends on that order reveals a race.
// AddressSanitizer is told about every fiber switch (__sanitizer_start/finish_switch_fiber), and freed
// device memory stays poisoned in a quarantine so a use after cudaFree is reported.
#include <cxxabi.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

#include "cuda_runtime.h"
#include "p3d_emu.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define P3D_EMU_ASAN 1
#else
#define P3D_EMU_ASAN 0
#define ASAN_POISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#define ASAN_UNPOISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#endif

#if !defined(__x86_64__)
#error "the emulated CUDA device's fiber switch is written for x86-64"
#endif

// ---- the context switch (x86-64 System V) ---------------------------------------------------------
// p3d_emu_switch(&from_sp, to_sp): saves the callee-saved registers, MXCSR and the x87 control word
// on the current stack, stores the stack pointer in *from_sp, and resumes the stack to_sp.
// p3d_emu_fiber_start: the first return of a new fiber lands here; r12 holds the fiber, r13 its main.
extern "C" void p3d_emu_switch(void **from_sp, void *to_sp);
extern "C" void p3d_emu_fiber_start(void);
asm(R"(
    .text
    .globl p3d_emu_switch
    .type p3d_emu_switch, @function
p3d_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size p3d_emu_switch, .-p3d_emu_switch

    .globl p3d_emu_fiber_start
    .type p3d_emu_fiber_start, @function
p3d_emu_fiber_start:
    movq %r12, %rdi
    callq *%r13
    ud2
    .size p3d_emu_fiber_start, .-p3d_emu_fiber_start
    .section .note.GNU-stack,"",@progbits
    .text
)");

namespace p3d_emu {

// ---- error state --------------------------------------------------------------------------------
static thread_local cudaError_t g_last_error = cudaSuccess;
static std::atomic<int> g_sticky{0}; // a device fault: every later call returns it (as on a GPU)

static cudaError_t fail(cudaError_t e) {
    g_last_error = e;
    return e;
}
static cudaError_t sticky() { return static_cast<cudaError_t>(g_sticky.load()); }

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

cudaError_t device_fault(const char *what) {
    report("%s", what);
    int expected = 0;
    g_sticky.compare_exchange_strong(expected, cudaErrorIllegalAddress);
    return fail(cudaErrorIllegalAddress);
}

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "p3d CUDA emulator: %s\n", buf);
}

// ---- settings -----------------------------------------------------------------------------------
static long env_long(const char *name, long def) {
    const char *v = getenv(name);
    if (!v || !*v) return def;
    char *end = nullptr;
    const long r = strtol(v, &end, 10);
    return *end ? def : r;
}

static std::atomic<uint64_t> &seed_var() {
    static std::atomic<uint64_t> s{static_cast<uint64_t>(env_long("P3D_EMU_SEED", 1))};
    return s;
}
uint64_t seed() { return seed_var().load(std::memory_order_relaxed); }

static int device_count() {
    static const int n = static_cast<int>(env_long("P3D_EMU_DEVICES", 1));
    return n;
}

static uint64_t splitmix(uint64_t &x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// ---- the device's figures (an H100 SXM) ------------------------------------------------------------
static const size_t kTotalMem = (size_t)80 << 30;
static const size_t kSharedDefault = 48 << 10;  // per block without the opt-in attribute
static const size_t kSharedOptin = 227 << 10;   // cudaFuncAttributeMaxDynamicSharedMemorySize limit
static const unsigned kMaxThreads = 1024;
static const unsigned kMaxBlockDim[3] = {1024, 1024, 64};
static const unsigned kMaxGrid[3] = {2147483647u, 65535u, 65535u};

// ---- device memory --------------------------------------------------------------------------------
struct mem_table {
    std::mutex mu;
    std::map<uintptr_t, size_t> live;              // base -> bytes
    std::deque<std::pair<void *, size_t>> freed;   // poisoned, oldest first
    size_t freed_bytes = 0, in_use = 0;
};
static mem_table &mem() {
    static mem_table *t = new mem_table; // never destroyed: kernels may run during exit
    return *t;
}
static const size_t kQuarantine = (size_t)512 << 20;
static const unsigned char kFreshByte = 0xfe; // cudaMalloc's memory is not zeroed: make that visible

// Whether one block of `live` (start -> size) holds [p, p + bytes); the caller holds its lock.
static bool holds_range(const std::map<uintptr_t, size_t> &live, const void *p, size_t bytes) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    auto it = live.upper_bound(a);
    if (it == live.begin()) return false;
    --it;
    return a >= it->first && bytes <= it->second && a - it->first <= it->second - bytes;
}

// The allocation holding [p, p + bytes), or false.
static bool find_range(const void *p, size_t bytes) {
    mem_table &t = mem();
    std::lock_guard<std::mutex> lock(t.mu);
    return holds_range(t.live, p, bytes);
}
static bool is_device(const void *p) { return find_range(p, 1); }
bool device_range(const void *p, size_t bytes) { return find_range(p, bytes); }

size_t bytes_in_use() {
    std::lock_guard<std::mutex> lock(mem().mu);
    return mem().in_use;
}

// ---- streams and events -----------------------------------------------------------------------------
struct handles {
    std::mutex mu;
    std::set<const void *> streams, events;
};
static handles &hnd() {
    static handles *h = new handles;
    return *h;
}
static bool stream_ok(cudaStream_t s) {
    if (!s) return true;
    std::lock_guard<std::mutex> lock(hnd().mu);
    return hnd().streams.count(s) != 0;
}

// Execution is synchronous except for one thing a GPU really does beside the kernels: a copy between
// device memory and page-locked host memory (cudaMallocHost) on a created stream is queued on that
// stream and run by the stream's own OS thread after a delay (1 to 3 ms by P3D_EMU_SEED, none for seed
// 0; P3D_EMU_COPY_DELAY_US sets it), as a copy engine runs it. Everything else issued on a stream with queued work first waits for
// that queue to drain, so one stream's work stays in order; cudaEventRecord on such a stream completes
// when the work queued before it has run; cudaStreamWaitEvent makes the stream's later work wait for
// the event. A kernel that reads an upload without waiting for its event thus reads the 0xfe pattern
// of fresh memory, and a host that reads a download without synchronising reads the old bytes.
// (cuDNN, cuBLAS and CUB calls run at once: only the stream that issues the copies queues work.)
enum async_kind { OP_COPY, OP_MARK, OP_WAIT };
struct async_op {
    async_kind kind;
    void *dst;
    const void *src;
    size_t dpitch, spitch, width, height; // a 1-D copy is one row
    cudaEvent_t ev;
    uint64_t gen;
};
} // namespace p3d_emu

// The handles (cuda_runtime.h declares them at global scope).
struct p3d_emu_event {
    bool recorded;
    double ms;                                // host time at which the last record completed
    uint64_t gen_recorded = 0, gen_done = 0;  // records issued / completed (under async_mu)
};
struct p3d_emu_stream {
    unsigned flags;
    std::deque<p3d_emu::async_op> q; // under async_mu
    bool running = false;   // an op taken from q is executing
    bool stop = false;
    std::thread th;         // started with the first queued op
};
namespace p3d_emu {

static std::mutex &async_mu() {
    static std::mutex *m = new std::mutex;
    return *m;
}
static std::condition_variable &async_cv() {
    static std::condition_variable *c = new std::condition_variable;
    return *c;
}
static double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
static bool stream_idle(const p3d_emu_stream *s) { return !s || (s->q.empty() && !s->running); }

static void stream_main(p3d_emu_stream *s) {
    std::unique_lock<std::mutex> lk(async_mu());
    for (;;) {
        async_cv().wait(lk, [s] { return s->stop || !s->q.empty(); });
        if (s->q.empty()) return;
        const async_op op = s->q.front();
        s->q.pop_front();
        s->running = true;
        if (op.kind == OP_WAIT) {
            async_cv().wait(lk, [&op] { return op.ev->gen_done >= op.gen; });
        } else if (op.kind == OP_MARK) {
            if (op.gen > op.ev->gen_done) op.ev->gen_done = op.gen;
            op.ev->ms = now_ms();
        } else {
            lk.unlock();
            const uint64_t sd = seed();
            const long us = env_long("P3D_EMU_COPY_DELAY_US", sd ? (long)(1000 * (1 + sd % 3)) : 0);
            if (us > 0) std::this_thread::sleep_for(std::chrono::microseconds(us));
            for (size_t r = 0; r < op.height; r++)
                memmove(static_cast<char *>(op.dst) + r * op.dpitch, static_cast<const char *>(op.src) + r * op.spitch,
                        op.width);
            lk.lock();
        }
        s->running = false;
        async_cv().notify_all();
    }
}

// Queues op on s (under async_mu).
static void stream_push(p3d_emu_stream *s, const async_op &op) {
    s->q.push_back(op);
    if (!s->th.joinable()) s->th = std::thread(stream_main, s);
    async_cv().notify_all();
}

static void stream_drain(p3d_emu_stream *s) {
    if (!s) return;
    std::unique_lock<std::mutex> lk(async_mu());
    async_cv().wait(lk, [s] { return stream_idle(s); });
}

// A stream about to run synchronous work: valid, and its queued work done first.
static bool stream_enter(cudaStream_t s) {
    if (!stream_ok(s)) return false;
    stream_drain(s);
    return true;
}

static void drain_all() {
    std::vector<const void *> all;
    {
        std::lock_guard<std::mutex> lock(hnd().mu);
        all.assign(hnd().streams.begin(), hnd().streams.end());
    }
    for (const void *s : all) stream_drain(static_cast<p3d_emu_stream *>(const_cast<void *>(s)));
}

// ---- page-locked host memory (cudaMallocHost) ---------------------------------------------------------
struct pinned_table {
    std::mutex mu;
    std::map<uintptr_t, size_t> live;
};
static pinned_table &pinned() {
    static pinned_table *t = new pinned_table;
    return *t;
}
static bool is_pinned(const void *p, size_t bytes) {
    pinned_table &t = pinned();
    std::lock_guard<std::mutex> lock(t.mu);
    return holds_range(t.live, p, bytes);
}

// ---- the kernel executor ---------------------------------------------------------------------------
enum fiber_state { F_READY, F_BARRIER, F_WARP, F_DONE };

static const size_t kStackBytes = 256 << 10; // per CUDA thread (virtual; touched pages only)
static const size_t kGuardBytes = 4096;

struct worker;

struct fiber {
    thread_ids ids;
    unsigned linear = 0;
    fiber_state state = F_DONE;
    void *sp = nullptr;
    char *stack = nullptr; // usable part, kStackBytes; held from the thread's first run to its end
    bool started = false;  // has run (holds a stack) in the current block
    void *fake = nullptr;
    worker *w = nullptr;
    // the pending warp collective
    warp_op op = WARP_SYNC;
    unsigned mask = 0;
    uint64_t value = 0, result = 0;
    int arg = 0, width = 32;
};

struct worker {
    std::vector<fiber> fibers{kMaxThreads};
    std::vector<char *> stacks, free_stacks; // every fiber stack of this thread; those not held
    void *sched_sp = nullptr;
    void *sched_fake = nullptr;
    const void *sched_bottom = nullptr;
    size_t sched_size = 0;
    std::vector<unsigned char> dyn_shared;
    void (*body)(const void *) = nullptr;
    const void *ctx = nullptr;
    fiber *cur = nullptr;
    std::string error; // set by a fiber: the block fails
    uint64_t rng = 0;
    const launch_config *cfg = nullptr;     // the running launch
    std::vector<const void *> static_seen;  // the block's P3D_SHARED arrays reached so far
    size_t static_bytes = 0;                // and their bytes
};

static thread_local worker *tl_worker;

// One worker per OS thread, destroyed with the thread; its fiber stacks are unmapped then.
struct worker_owner {
    worker *w = nullptr;
    ~worker_owner();
};
static thread_local worker_owner tl_owner;

static worker &this_worker() {
    if (!tl_worker) {
        tl_owner.w = new worker;
        tl_worker = tl_owner.w;
    }
    return *tl_worker;
}

static void fiber_main(fiber *f);

worker_owner::~worker_owner() {
    if (!w) return;
    for (char *stack : w->stacks) {
        ASAN_UNPOISON_MEMORY_REGION(stack, kStackBytes);
        munmap(stack - kGuardBytes, kStackBytes + kGuardBytes);
    }
    delete w;
    tl_worker = nullptr;
}

// A stack for a fiber's first run: the last one given back (still in the cache), or a new mapping.
static void fiber_prepare(worker &w, fiber *f) {
    if (!w.free_stacks.empty()) {
        f->stack = w.free_stacks.back();
        w.free_stacks.pop_back();
    } else {
        void *m = mmap(nullptr, kStackBytes + kGuardBytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) {
            report("cannot map a fiber stack");
            abort();
        }
        mprotect(m, kGuardBytes, PROT_NONE); // overflow faults instead of corrupting a neighbour
        f->stack = static_cast<char *>(m) + kGuardBytes;
        w.stacks.push_back(f->stack);
    }
    f->started = true;
    // Initial frame for p3d_emu_switch: [mxcsr|fpucw][r15][r14][r13][r12][rbx][rbp][ret] (16-aligned).
    uint64_t *sp = reinterpret_cast<uint64_t *>(f->stack + kStackBytes - 80);
    sp[0] = 0x1f80ull | (0x037full << 32); // default MXCSR, x87 control word
    sp[1] = 0;                              // r15
    sp[2] = 0;                              // r14
    sp[3] = reinterpret_cast<uint64_t>(&fiber_main); // r13
    sp[4] = reinterpret_cast<uint64_t>(f);           // r12
    sp[5] = 0;                                       // rbx
    sp[6] = 0;                                       // rbp
    sp[7] = reinterpret_cast<uint64_t>(&p3d_emu_fiber_start);
    f->sp = sp;
}

// Gives a fiber's stack back. A fiber that ended ran every frame of its kernel to the end (each
// frame's redzones were cleared on return; fiber_main's own frame sits at the same place in every
// run); one abandoned mid-run (a device error in its block) leaves poisoned redzones in the shadow,
// which are cleared here.
static void fiber_release(worker &w, fiber *f, bool abandoned) {
    if (!f->stack) return;
    if (abandoned) ASAN_UNPOISON_MEMORY_REGION(f->stack, kStackBytes);
    w.free_stacks.push_back(f->stack);
    f->stack = nullptr;
}

// Scheduler -> fiber, until the fiber blocks or ends.
static void resume(worker &w, fiber *f) {
    w.cur = f;
    cur_ids = &f->ids;
#if P3D_EMU_ASAN
    __sanitizer_start_switch_fiber(&w.sched_fake, f->stack, kStackBytes);
#endif
    p3d_emu_switch(&w.sched_sp, f->sp);
#if P3D_EMU_ASAN
    __sanitizer_finish_switch_fiber(w.sched_fake, nullptr, nullptr);
#endif
    w.cur = nullptr;
}

// Fiber -> scheduler; returns when the scheduler resumes this fiber.
static void yield_to_scheduler(fiber *f) {
    worker &w = *f->w;
#if P3D_EMU_ASAN
    __sanitizer_start_switch_fiber(&f->fake, w.sched_bottom, w.sched_size);
#endif
    p3d_emu_switch(&f->sp, w.sched_sp);
#if P3D_EMU_ASAN
    __sanitizer_finish_switch_fiber(f->fake, &w.sched_bottom, &w.sched_size);
#endif
}

static void fiber_main(fiber *f) {
    worker &w = *f->w;
#if P3D_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &w.sched_bottom, &w.sched_size);
#endif
    w.body(w.ctx);
    f->state = F_DONE;
#if P3D_EMU_ASAN
    __sanitizer_start_switch_fiber(nullptr, w.sched_bottom, w.sched_size);
#endif
    void *dead = nullptr;
    p3d_emu_switch(&dead, w.sched_sp);
    __builtin_unreachable();
}

static fiber *current_fiber(const char *what) {
    worker *w = tl_worker;
    if (!w || !w->cur) {
        report("%s called outside a kernel", what);
        abort();
    }
    return w->cur;
}

static void device_error(fiber *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void device_error(fiber *f, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (f->w->error.empty()) f->w->error = buf;
}

void syncthreads() {
    fiber *f = current_fiber("__syncthreads");
    f->state = F_BARRIER;
    yield_to_scheduler(f);
}

uint64_t warp_collective(warp_op op, unsigned mask, uint64_t value, int arg, int width) {
    fiber *f = current_fiber("a warp collective");
    const unsigned lane = f->linear & 31;
    if (!(mask >> lane & 1u)) device_error(f, "thread %u calls a warp collective with mask 0x%08x that leaves out its own lane %u",
                                           f->linear, mask, lane);
    if (width < 1 || width > 32 || (width & (width - 1)))
        device_error(f, "thread %u: shuffle width %d is not a power of two up to 32", f->linear, width);
    f->op = op;
    f->mask = mask;
    f->value = value;
    f->arg = arg;
    f->width = width;
    f->state = F_WARP;
    yield_to_scheduler(f);
    return f->result;
}

static const char *op_name(warp_op op) {
    switch (op) {
    case WARP_SHFL_IDX: return "__shfl_sync";
    case WARP_SHFL_UP: return "__shfl_up_sync";
    case WARP_SHFL_DOWN: return "__shfl_down_sync";
    case WARP_SHFL_XOR: return "__shfl_xor_sync";
    case WARP_BALLOT: return "__ballot_sync";
    case WARP_ANY: return "__any_sync";
    case WARP_ALL: return "__all_sync";
    case WARP_SYNC: return "__syncwarp";
    }
    return "?";
}

// Completes the warp collectives whose every named lane has arrived. Returns 1 when one completed,
// 0 when none could, -1 on a device error (in w.error).
static int complete_warps(worker &w, unsigned n) {
    int progress = 0;
    for (unsigned base = 0; base < n; base += 32) {
        const unsigned count = std::min(32u, n - base);
        fiber *lanes = &w.fibers[base];
        for (unsigned l = 0; l < count; l++) {
            if (lanes[l].state != F_WARP) continue;
            const unsigned m = lanes[l].mask;
            const warp_op op = lanes[l].op;
            for (unsigned k = 0; k < 32; k++) {
                if (!(m >> k & 1u)) continue;
                // The collective and its thread, named in the messages: formatted only on an error
                // (every lane of every collective passes here: formatting it each time cost a quarter
                // of the learned fill's emulated run).
#define P3D_EMU_WARP_ERROR(fmt, ...)                                                                       \
    device_error(&lanes[l], "%s (mask 0x%08x) in thread %u" fmt, op_name(op), m, base + l, __VA_ARGS__)
                if (k >= count) {
                    P3D_EMU_WARP_ERROR(" names lane %u, which the block does not have", k);
                    return -1;
                }
                const fiber &o = lanes[k];
                if (o.state == F_DONE) {
                    P3D_EMU_WARP_ERROR(": lane %u has exited", k);
                    return -1;
                }
                if (o.state == F_BARRIER) {
                    P3D_EMU_WARP_ERROR(": lane %u waits at __syncthreads (deadlock)", k);
                    return -1;
                }
                if (o.op != op || o.mask != m) {
                    P3D_EMU_WARP_ERROR(": lane %u is in %s with mask 0x%08x", k, op_name(o.op), o.mask);
                    return -1;
                }
#undef P3D_EMU_WARP_ERROR
            }
            // Every named lane is here: compute all results from the values before any is written.
            uint64_t res[32];
            unsigned bits = 0;
            for (unsigned k = 0; k < 32; k++)
                if (m >> k & 1u) bits |= (lanes[k].value != 0) << k;
            for (unsigned k = 0; k < 32; k++) {
                if (!(m >> k & 1u)) continue;
                const fiber &me = lanes[k];
                const int wd = me.width, seg = (int)k / wd * wd, pos = (int)k % wd;
                int src = (int)k;
                switch (op) {
                case WARP_SHFL_IDX: src = seg + ((me.arg % wd) + wd) % wd; break;
                case WARP_SHFL_UP: src = pos - me.arg >= 0 ? (int)k - me.arg : (int)k; break;
                case WARP_SHFL_DOWN: src = pos + me.arg < wd ? (int)k + me.arg : (int)k; break;
                case WARP_SHFL_XOR: {
                    const int t = (int)k ^ me.arg;
                    src = t >= seg && t < seg + wd ? t : (int)k;
                    break;
                }
                default: break;
                }
                switch (op) {
                case WARP_SHFL_IDX:
                case WARP_SHFL_UP:
                case WARP_SHFL_DOWN:
                case WARP_SHFL_XOR:
                    if (src < 0 || src >= 32 || !(m >> src & 1u)) {
                        device_error(&lanes[l], "%s in thread %u reads lane %d, which is not in the mask 0x%08x",
                                     op_name(op), base + k, src, m);
                        return -1;
                    }
                    res[k] = lanes[src].value;
                    break;
                case WARP_BALLOT: res[k] = bits; break;
                case WARP_ANY: res[k] = bits != 0; break;
                case WARP_ALL: res[k] = bits == m; break;
                case WARP_SYNC: res[k] = 0; break;
                }
            }
            for (unsigned k = 0; k < 32; k++) {
                if (!(m >> k & 1u)) continue;
                lanes[k].result = res[k];
                lanes[k].state = F_READY;
            }
            progress = 1;
        }
    }
    return progress;
}

// Runs one block to its end. Returns false on a device error (w.error says which).
static bool run_block(worker &w, const launch_config &cfg, uint3 bidx, uint64_t launch_no) {
    const unsigned n = cfg.block.x * cfg.block.y * cfg.block.z;
    cur_block_idx = bidx;
    cur_block_dim = cfg.block;
    cur_grid_dim = cfg.grid;
    if (w.dyn_shared.size() < cfg.dyn_shared + 16) w.dyn_shared.resize(cfg.dyn_shared + 16);
    // Shared memory starts undefined: fill the dynamic part with a pattern instead of zeros.
    memset(w.dyn_shared.data(), kFreshByte, cfg.dyn_shared);
    cur_dyn_shared = w.dyn_shared.data();
    w.cfg = &cfg;
    w.static_seen.clear();
    w.static_bytes = 0;
    w.error.clear();
    const uint64_t block_linear = (uint64_t)bidx.x + (uint64_t)cfg.grid.x * (bidx.y + (uint64_t)cfg.grid.y * bidx.z);
    w.rng = seed() ^ (launch_no * 0x9e3779b97f4a7c15ull) ^ (block_linear * 0xc2b2ae3d27d4eb4full);
    for (unsigned t = 0; t < n; t++) {
        fiber *f = &w.fibers[t];
        f->w = &w;
        f->linear = t;
        f->ids.thread_idx = uint3{t % cfg.block.x, t / cfg.block.x % cfg.block.y, t / (cfg.block.x * cfg.block.y)};
        f->state = F_READY;
        f->started = false;
    }
    std::vector<unsigned> order;
    order.reserve(n);
    for (;;) {
        order.clear();
        for (unsigned t = 0; t < n; t++)
            if (w.fibers[t].state == F_READY) order.push_back(t);
        if (order.empty()) {
            const int c = complete_warps(w, n);
            if (c > 0) continue;
            if (c < 0) break;
            unsigned live = 0, at_barrier = 0;
            for (unsigned t = 0; t < n; t++) {
                live += w.fibers[t].state != F_DONE;
                at_barrier += w.fibers[t].state == F_BARRIER;
            }
            if (live == 0) break;
            if (at_barrier == live) {
                for (unsigned t = 0; t < n; t++)
                    if (w.fibers[t].state == F_BARRIER) w.fibers[t].state = F_READY;
                continue;
            }
            for (unsigned t = 0; t < n; t++)
                if (w.fibers[t].state == F_WARP) {
                    device_error(&w.fibers[t], "thread %u waits in %s (mask 0x%08x) while others wait at __syncthreads "
                                               "(deadlock)", t, op_name(w.fibers[t].op), w.fibers[t].mask);
                    break;
                }
            break;
        }
        if (seed() != 0)
            for (size_t i = order.size(); i > 1; i--) std::swap(order[i - 1], order[splitmix(w.rng) % i]);
        for (unsigned t : order) {
            fiber *f = &w.fibers[t];
            if (!f->started) fiber_prepare(w, f);
            resume(w, f);
            if (f->state == F_DONE) fiber_release(w, f, false);
            if (!w.error.empty()) break;
        }
        if (!w.error.empty()) break;
    }
    if (!w.error.empty()) {
        for (unsigned t = 0; t < n; t++)
            if (w.fibers[t].state != F_DONE) {
                fiber_release(w, &w.fibers[t], true);
                w.fibers[t].state = F_DONE;
            }
        return false;
    }
    return true;
}

// ---- the pool of OS threads ------------------------------------------------------------------------
struct job {
    uint64_t count = 0;
    void (*fn)(void *, uint64_t, worker &) = nullptr;
    void *ctx = nullptr;
    std::atomic<uint64_t> next{0};
    std::atomic<bool> stop{false};
};

class pool {
  public:
    pool() {
        long n = env_long("P3D_EMU_THREADS", (long)std::thread::hardware_concurrency());
        if (n < 1) n = 1;
        if (n > 64) n = 64;
        for (long i = 1; i < n; i++) threads_.emplace_back([this] { loop(); });
    }
    ~pool() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            quit_ = true;
        }
        cv_.notify_all();
        for (auto &t : threads_) t.join();
    }
    // Runs fn(ctx, i, worker) for i in [0, count) on every thread of the pool and the caller.
    void run(uint64_t count, void (*fn)(void *, uint64_t, worker &), void *ctx) {
        std::lock_guard<std::mutex> one(run_mu_);
        job j;
        j.count = count;
        j.fn = fn;
        j.ctx = ctx;
        const bool spread = count > 1 && !threads_.empty();
        if (spread) {
            std::lock_guard<std::mutex> lock(mu_);
            job_ = &j;
            gen_++;
            busy_ = threads_.size();
        }
        if (spread) cv_.notify_all();
        work(j);
        if (spread) {
            std::unique_lock<std::mutex> lock(mu_);
            done_cv_.wait(lock, [this] { return busy_ == 0; });
            job_ = nullptr;
        }
    }

  private:
    static void work(job &j) {
        worker &w = this_worker();
        for (;;) {
            const uint64_t i = j.next.fetch_add(1);
            if (i >= j.count || j.stop.load()) break;
            j.fn(j.ctx, i, w);
        }
    }
    void loop() {
        uint64_t seen = 0;
        for (;;) {
            job *j;
            {
                std::unique_lock<std::mutex> lock(mu_);
                cv_.wait(lock, [&] { return quit_ || gen_ != seen; });
                if (quit_) return;
                seen = gen_;
                j = job_;
            }
            work(*j);
            {
                std::lock_guard<std::mutex> lock(mu_);
                busy_--;
            }
            done_cv_.notify_all();
        }
    }
    std::vector<std::thread> threads_;
    std::mutex mu_, run_mu_;
    std::condition_variable cv_, done_cv_;
    job *job_ = nullptr;
    uint64_t gen_ = 0;
    size_t busy_ = 0;
    bool quit_ = false;
};

static pool &the_pool() {
    static pool p;
    return p;
}

void parallel_for(uint64_t count, void (*fn)(void *, uint64_t), void *ctx) {
    struct wrap {
        void (*fn)(void *, uint64_t);
        void *ctx;
    } w{fn, ctx};
    the_pool().run(
        count, [](void *c, uint64_t i, worker &) {
            const wrap *x = static_cast<const wrap *>(c);
            x->fn(x->ctx, i);
        },
        &w);
}

// ---- launch checks, trace ----------------------------------------------------------------------------
struct attr_table {
    std::mutex mu;
    std::map<const void *, size_t> max_dyn_shared; // cudaFuncAttributeMaxDynamicSharedMemorySize, where set
    std::map<const void *, size_t> static_shared;  // static shared bytes per kernel, learnt when it first ran
};
static attr_table &attrs() {
    static attr_table *t = new attr_table;
    return *t;
}

// The shared-memory rule of a launch, as the device applies it: without the attribute, static plus
// dynamic shared memory is at most 48 KB; with it, the dynamic part is at most the attribute's value,
// and static plus that value at most the opt-in maximum. Returns an empty string when the launch fits.
static std::string shared_check(const void *fn, size_t static_bytes, size_t dyn_bytes) {
    char buf[256];
    size_t attr = 0;
    bool has_attr = false;
    {
        std::lock_guard<std::mutex> lock(attrs().mu);
        auto it = attrs().max_dyn_shared.find(fn);
        if (it != attrs().max_dyn_shared.end()) has_attr = true, attr = it->second;
    }
    if (!has_attr && static_bytes + dyn_bytes > kSharedDefault) {
        snprintf(buf, sizeof buf,
                 "%zu bytes of static and %zu of dynamic shared memory per block (limit %zu without "
                 "cudaFuncAttributeMaxDynamicSharedMemorySize)", static_bytes, dyn_bytes, kSharedDefault);
        return buf;
    }
    if (has_attr && dyn_bytes > attr) {
        snprintf(buf, sizeof buf, "%zu bytes of dynamic shared memory (the kernel's attribute allows %zu)",
                 dyn_bytes, attr);
        return buf;
    }
    if (has_attr && static_bytes + attr > kSharedOptin) {
        snprintf(buf, sizeof buf, "%zu bytes of static shared memory plus the attribute's %zu exceed the "
                 "device's %zu per block", static_bytes, attr, kSharedOptin);
        return buf;
    }
    return std::string();
}

void note_static_shared(void *addr, size_t bytes) {
    fiber *f = current_fiber("P3D_SHARED");
    worker &w = *f->w;
    for (const void *a : w.static_seen)
        if (a == addr) return;
    w.static_seen.push_back(addr);
    w.static_bytes += bytes;
    memset(addr, kFreshByte, bytes); // shared memory starts undefined in every block
    {
        std::lock_guard<std::mutex> lock(attrs().mu);
        size_t &known = attrs().static_shared[w.cfg->fn];
        if (w.static_bytes > known) known = w.static_bytes;
    }
    const std::string why = shared_check(w.cfg->fn, w.static_bytes, w.cfg->dyn_shared);
    if (!why.empty()) device_error(f, "%s", why.c_str());
}

static void trace(const launch_config &cfg) {
    static const char *path = getenv("P3D_EMU_TRACE");
    if (!path || !*path) return;
    static std::mutex mu;
    static std::set<std::string> seen;
    std::string name = cfg.name;
    if (cfg.signature) {
        int st = 0;
        char *d = abi::__cxa_demangle(cfg.signature, nullptr, nullptr, &st);
        if (st == 0 && d) {
            // "void (*)(float*, int)" -> "(float*, int)"
            const char *p = strstr(d, "(*)");
            name += p ? p + 3 : d;
        }
        free(d);
    }
    std::lock_guard<std::mutex> lock(mu);
    if (!seen.insert(name).second) return;
    // "%e" in the path stands for the program's name (one trace per test program).
    std::string file = path;
    const size_t at = file.find("%e");
    if (at != std::string::npos) file.replace(at, 2, program_invocation_short_name);
    const int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return;
    name += "\n";
    if (write(fd, name.data(), name.size()) < 0) { // the trace is a diagnostic: a failed write is ignored
    }
    close(fd);
}

void run_grid(const launch_config &cfg, void (*body)(const void *), const void *ctx) {
    if (sticky()) {
        fail(sticky());
        return;
    }
    const dim3 g = cfg.grid, b = cfg.block;
    const unsigned gd[3] = {g.x, g.y, g.z}, bd[3] = {b.x, b.y, b.z};
    for (int i = 0; i < 3; i++) {
        if (gd[i] == 0 || bd[i] == 0 || gd[i] > kMaxGrid[i] || bd[i] > kMaxBlockDim[i]) {
            report("launch of %s: grid (%u, %u, %u), block (%u, %u, %u) exceeds the device's limits", cfg.name, g.x,
                   g.y, g.z, b.x, b.y, b.z);
            fail(cudaErrorInvalidConfiguration);
            return;
        }
    }
    if ((uint64_t)b.x * b.y * b.z > kMaxThreads) {
        report("launch of %s: %llu threads per block (at most %u)", cfg.name,
               (unsigned long long)b.x * b.y * b.z, kMaxThreads);
        fail(cudaErrorInvalidConfiguration);
        return;
    }
    // The kernel's static shared size is known from its earlier launches (ptxas knows it at build
    // time); a first launch over the limit is caught when its threads reach the P3D_SHARED arrays.
    size_t static_bytes = 0;
    {
        std::lock_guard<std::mutex> lock(attrs().mu);
        auto it = attrs().static_shared.find(cfg.fn);
        if (it != attrs().static_shared.end()) static_bytes = it->second;
    }
    const std::string why = shared_check(cfg.fn, static_bytes, cfg.dyn_shared);
    if (!why.empty()) {
        report("launch of %s: %s", cfg.name, why.c_str());
        fail(cudaErrorInvalidValue);
        return;
    }
    if (!stream_enter(cfg.stream)) {
        fail(cudaErrorInvalidResourceHandle);
        return;
    }
    trace(cfg);
    static std::atomic<uint64_t> launches{0};
    struct grid_run {
        const launch_config *cfg;
        void (*body)(const void *);
        const void *ctx;
        uint64_t launch_no;
        std::vector<uint32_t> order; // block order (shuffled by the seed)
        std::mutex mu;
        std::string error;
        std::atomic<bool> failed{false};
    } run;
    run.cfg = &cfg;
    run.body = body;
    run.ctx = ctx;
    run.launch_no = launches.fetch_add(1);
    const uint64_t blocks = (uint64_t)g.x * g.y * g.z;
    if (seed() != 0 && blocks > 1 && blocks <= (1u << 26)) {
        run.order.resize(blocks);
        for (uint64_t i = 0; i < blocks; i++) run.order[i] = (uint32_t)i;
        uint64_t r = seed() ^ (run.launch_no * 0xd6e8feb86659fd93ull);
        for (uint64_t i = blocks; i > 1; i--) std::swap(run.order[i - 1], run.order[splitmix(r) % i]);
    }
    the_pool().run(
        blocks,
        [](void *c, uint64_t i, worker &w) {
            grid_run &r = *static_cast<grid_run *>(c);
            if (r.failed.load()) return;
            const uint64_t lin = r.order.empty() ? i : r.order[i];
            const dim3 gg = r.cfg->grid;
            const uint3 bidx{(unsigned)(lin % gg.x), (unsigned)(lin / gg.x % gg.y), (unsigned)(lin / ((uint64_t)gg.x * gg.y))};
            w.body = r.body;
            w.ctx = r.ctx;
            if (!run_block(w, *r.cfg, bidx, r.launch_no)) {
                std::lock_guard<std::mutex> lock(r.mu);
                if (!r.failed.exchange(true))
                    r.error = "block (" + std::to_string(bidx.x) + ", " + std::to_string(bidx.y) + ", " +
                              std::to_string(bidx.z) + "): " + w.error;
            }
            cur_ids = nullptr;
        },
        &run);
    if (run.failed.load()) {
        report("kernel %s failed: %s", cfg.name, run.error.c_str());
        int expected = 0;
        g_sticky.compare_exchange_strong(expected, cudaErrorLaunchFailure);
        fail(cudaErrorLaunchFailure);
    }
}

} // namespace p3d_emu

using namespace p3d_emu;

void p3d_emu_set_seed(uint64_t s) { seed_var().store(s); }

cudaError_t p3d_emu_func_set_attribute(const void *fn, cudaFuncAttribute attr, int value) {
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 || (size_t)value > kSharedOptin)
        return fail(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> lock(attrs().mu);
    auto it = attrs().static_shared.find(fn);
    if (it != attrs().static_shared.end() && it->second + (size_t)value > kSharedOptin)
        return fail(cudaErrorInvalidValue);
    attrs().max_dyn_shared[fn] = (size_t)value;
    return cudaSuccess;
}

// ---- the runtime API ------------------------------------------------------------------------------
extern "C" {

const char *cudaGetErrorName(cudaError_t err) {
    switch (err) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorLaunchTimeout: return "cudaErrorLaunchTimeout";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidPitchValue: return "cudaErrorInvalidPitchValue";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorIllegalInstruction: return "cudaErrorIllegalInstruction";
    case cudaErrorInvalidDeviceFunction: return "cudaErrorInvalidDeviceFunction";
    }
    return "cudaErrorUnknown";
}

// The real runtime's wording, with the emulator named where it matters.
const char *cudaGetErrorString(cudaError_t err) {
    switch (err) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorLaunchFailure: return "unspecified launch failure (emulated device: see the emulator's message)";
    case cudaErrorLaunchTimeout: return "the launch timed out and was terminated";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidPitchValue: return "invalid pitch argument";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected (emulated device, P3D_EMU_DEVICES=0)";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorIllegalInstruction: return "an illegal instruction was encountered";
    case cudaErrorInvalidDeviceFunction: return "invalid device function";
    }
    return "unknown error";
}

cudaError_t cudaGetLastError(void) {
    if (sticky()) return sticky();
    const cudaError_t e = g_last_error;
    g_last_error = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void) { return sticky() ? sticky() : g_last_error; }

static thread_local int g_device = 0;

cudaError_t cudaGetDeviceCount(int *count) {
    *count = 0;
    if (device_count() <= 0) return fail(cudaErrorNoDevice);
    *count = device_count();
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device) {
    if (device < 0 || device >= device_count()) return fail(cudaErrorInvalidDevice);
    memset(prop, 0, sizeof *prop);
    snprintf(prop->name, sizeof prop->name, "p3d emulated CUDA device (H100 limits, CPU)");
    prop->totalGlobalMem = kTotalMem;
    prop->sharedMemPerBlock = kSharedDefault;
    prop->regsPerBlock = 65536;
    prop->warpSize = 32;
    prop->maxThreadsPerBlock = (int)kMaxThreads;
    for (int i = 0; i < 3; i++) {
        prop->maxThreadsDim[i] = (int)kMaxBlockDim[i];
        prop->maxGridSize[i] = (int)kMaxGrid[i];
    }
    prop->totalConstMem = 65536;
    prop->major = 9;
    prop->minor = 0;
    prop->multiProcessorCount = 132;
    prop->l2CacheSize = 50 << 20;
    prop->maxThreadsPerMultiProcessor = 2048;
    prop->sharedMemPerMultiprocessor = 228 << 10;
    prop->sharedMemPerBlockOptin = kSharedOptin;
    prop->memoryBusWidth = 5120;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int *device) {
    *device = g_device;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
    if (device < 0 || device >= device_count()) return fail(cudaErrorInvalidDevice);
    g_device = device;
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes) {
    if (sticky()) return fail(sticky());
    const size_t used = bytes_in_use();
    *total_bytes = kTotalMem;
    *free_bytes = used < kTotalMem ? kTotalMem - used : 0;
    return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *version) {
    *version = CUDART_VERSION;
    return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int *version) {
    *version = CUDART_VERSION;
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void) {
    drain_all();
    return sticky() ? fail(sticky()) : cudaSuccess;
}

cudaError_t cudaDeviceReset(void) {
    g_sticky.store(0);
    g_last_error = cudaSuccess;
    return cudaSuccess;
}

cudaError_t cudaMalloc(void **ptr, size_t bytes) {
    *ptr = nullptr;
    if (sticky()) return fail(sticky());
    if (bytes == 0) return cudaSuccess;
    if (bytes > kTotalMem - bytes_in_use()) return fail(cudaErrorMemoryAllocation);
    void *p = nullptr;
    if (posix_memalign(&p, 256, bytes) != 0) return fail(cudaErrorMemoryAllocation);
    memset(p, kFreshByte, bytes);
    mem_table &t = mem();
    std::lock_guard<std::mutex> lock(t.mu);
    t.live[reinterpret_cast<uintptr_t>(p)] = bytes;
    t.in_use += bytes;
    *ptr = p;
    return cudaSuccess;
}

cudaError_t cudaFree(void *ptr) {
    if (!ptr) return cudaSuccess;
    mem_table &t = mem();
    std::lock_guard<std::mutex> lock(t.mu);
    auto it = t.live.find(reinterpret_cast<uintptr_t>(ptr));
    if (it == t.live.end()) {
        report("cudaFree(%p): not a live device allocation", ptr);
        return fail(cudaErrorInvalidValue);
    }
    const size_t bytes = it->second;
    t.live.erase(it);
    t.in_use -= bytes;
    // Keep the block poisoned (ASan reports any later access); without ASan, scribble over it.
    memset(ptr, 0xdd, bytes);
    ASAN_POISON_MEMORY_REGION(ptr, bytes);
    t.freed.emplace_back(ptr, bytes);
    t.freed_bytes += bytes;
    while (t.freed_bytes > kQuarantine && !t.freed.empty()) {
        auto old = t.freed.front();
        t.freed.pop_front();
        t.freed_bytes -= old.second;
        ASAN_UNPOISON_MEMORY_REGION(old.first, old.second);
        free(old.first);
    }
    return cudaSuccess;
}

cudaError_t cudaMallocHost(void **ptr, size_t bytes) {
    *ptr = nullptr;
    if (sticky()) return fail(sticky());
    void *p = nullptr;
    if (posix_memalign(&p, 256, bytes ? bytes : 1) != 0) return fail(cudaErrorMemoryAllocation);
    memset(p, kFreshByte, bytes);
    pinned_table &t = pinned();
    std::lock_guard<std::mutex> lock(t.mu);
    t.live[reinterpret_cast<uintptr_t>(p)] = bytes ? bytes : 1;
    *ptr = p;
    return cudaSuccess;
}

// As on a GPU, freeing page-locked memory waits for the device's queued work first.
cudaError_t cudaFreeHost(void *ptr) {
    if (!ptr) return cudaSuccess;
    drain_all();
    pinned_table &t = pinned();
    std::lock_guard<std::mutex> lock(t.mu);
    auto it = t.live.find(reinterpret_cast<uintptr_t>(ptr));
    if (it == t.live.end()) {
        report("cudaFreeHost(%p): not a live cudaMallocHost block", ptr);
        return fail(cudaErrorInvalidValue);
    }
    memset(ptr, 0xdd, it->second);
    t.live.erase(it);
    free(ptr);
    return cudaSuccess;
}

// dst/src checked against the direction: device pointers must lie inside one live allocation with the
// whole range, host pointers must not be device pointers.
static cudaError_t check_copy(void *dst, const void *src, size_t dst_span, size_t src_span, cudaMemcpyKind kind,
                              cudaStream_t stream, const char *api) {
    if (sticky()) return fail(sticky());
    if (!stream_ok(stream)) return fail(cudaErrorInvalidResourceHandle);
    const bool dd = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    const bool sd = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if (kind == cudaMemcpyDefault) return cudaSuccess;
    if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault) return fail(cudaErrorInvalidValue);
    if (dst_span == 0 && src_span == 0) return cudaSuccess;
    if ((dd && !find_range(dst, dst_span)) || (!dd && is_device(dst))) {
        report("%s: destination %p (+%zu bytes) is not %s", api, dst, dst_span,
               dd ? "inside one live device allocation" : "host memory");
        return fail(cudaErrorInvalidValue);
    }
    if ((sd && !find_range(src, src_span)) || (!sd && is_device(src))) {
        report("%s: source %p (+%zu bytes) is not %s", api, src, src_span,
               sd ? "inside one live device allocation" : "host memory");
        return fail(cudaErrorInvalidValue);
    }
    return cudaSuccess;
}

// A copy on a created stream whose host side is page-locked is queued (see stream_main); any other
// copy runs now, after the stream's queued work.
static void copy_2d(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height,
                    cudaMemcpyKind kind, cudaStream_t stream) {
    const void *host = kind == cudaMemcpyHostToDevice ? src : kind == cudaMemcpyDeviceToHost ? dst : nullptr;
    const size_t span = (height - 1) * (host == src ? spitch : dpitch) + width;
    if (stream && host && is_pinned(host, span)) {
        std::lock_guard<std::mutex> lock(async_mu());
        stream_push(stream, async_op{OP_COPY, dst, src, dpitch, spitch, width, height, nullptr, 0});
        return;
    }
    stream_drain(stream);
    for (size_t r = 0; r < height; r++)
        memmove(static_cast<char *>(dst) + r * dpitch, static_cast<const char *>(src) + r * spitch, width);
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
    const cudaError_t e = check_copy(dst, src, bytes, bytes, kind, stream, "cudaMemcpy");
    if (e != cudaSuccess) return e;
    if (bytes) copy_2d(dst, bytes, src, bytes, bytes, 1, kind, stream);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
    return cudaMemcpyAsync(dst, src, bytes, kind, nullptr);
}

cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind kind, cudaStream_t stream) {
    if (width > dpitch || width > spitch) return fail(cudaErrorInvalidPitchValue);
    if (width == 0 || height == 0) return cudaSuccess;
    const cudaError_t e = check_copy(dst, src, (height - 1) * dpitch + width, (height - 1) * spitch + width, kind,
                                     stream, "cudaMemcpy2D");
    if (e != cudaSuccess) return e;
    copy_2d(dst, dpitch, src, spitch, width, height, kind, stream);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *ptr, int value, size_t bytes, cudaStream_t stream) {
    if (sticky()) return fail(sticky());
    if (!stream_enter(stream)) return fail(cudaErrorInvalidResourceHandle);
    if (bytes == 0) return cudaSuccess;
    if (!find_range(ptr, bytes)) {
        report("cudaMemset: %p (+%zu bytes) is not inside one live device allocation", ptr, bytes);
        return fail(cudaErrorInvalidValue);
    }
    memset(ptr, value, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemset(void *ptr, int value, size_t bytes) { return cudaMemsetAsync(ptr, value, bytes, nullptr); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned int flags) {
    if (sticky()) return fail(sticky());
    if (flags > cudaStreamNonBlocking) return fail(cudaErrorInvalidValue);
    cudaStream_t s = new p3d_emu_stream;
    s->flags = flags;
    std::lock_guard<std::mutex> lock(hnd().mu);
    hnd().streams.insert(s);
    *stream = s;
    return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t *stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

// The stream's queued work still runs (as on a GPU) before the handle goes.
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
    {
        std::lock_guard<std::mutex> lock(hnd().mu);
        if (!stream || !hnd().streams.erase(stream)) return fail(cudaErrorInvalidResourceHandle);
    }
    {
        std::lock_guard<std::mutex> lock(async_mu());
        stream->stop = true;
        async_cv().notify_all();
    }
    if (stream->th.joinable()) stream->th.join();
    delete stream;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
    if (sticky()) return fail(sticky());
    return stream_enter(stream) ? cudaSuccess : fail(cudaErrorInvalidResourceHandle);
}

static bool event_ok(cudaEvent_t e) {
    std::lock_guard<std::mutex> lock(hnd().mu);
    return e && hnd().events.count(e);
}

static void event_wait(cudaEvent_t e) {
    std::unique_lock<std::mutex> lk(async_mu());
    async_cv().wait(lk, [e] { return e->gen_done >= e->gen_recorded; });
}

cudaError_t cudaEventCreate(cudaEvent_t *event) {
    if (sticky()) return fail(sticky());
    cudaEvent_t e = new p3d_emu_event{false, 0.0};
    std::lock_guard<std::mutex> lock(hnd().mu);
    hnd().events.insert(e);
    *event = e;
    return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
    {
        std::lock_guard<std::mutex> lock(hnd().mu);
        if (!event || !hnd().events.erase(event)) return fail(cudaErrorInvalidResourceHandle);
    }
    event_wait(event); // a queued record still writes it
    delete event;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
    if (sticky()) return fail(sticky());
    if (!event_ok(event) || !stream_ok(stream)) return fail(cudaErrorInvalidResourceHandle);
    std::lock_guard<std::mutex> lock(async_mu());
    event->recorded = true;
    const uint64_t gen = ++event->gen_recorded;
    if (!stream_idle(stream)) {
        stream_push(stream, async_op{OP_MARK, nullptr, nullptr, 0, 0, 0, 0, event, gen});
        return cudaSuccess;
    }
    event->gen_done = gen;
    event->ms = now_ms();
    return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
    if (sticky()) return fail(sticky());
    if (!event_ok(event)) return fail(cudaErrorInvalidResourceHandle);
    event_wait(event);
    return cudaSuccess;
}

cudaError_t cudaEventQuery(cudaEvent_t event) {
    if (sticky()) return fail(sticky());
    if (!event_ok(event)) return fail(cudaErrorInvalidResourceHandle);
    std::lock_guard<std::mutex> lock(async_mu());
    return event->gen_done >= event->gen_recorded ? cudaSuccess : cudaErrorNotReady;
}

// Not ready (returned, not recorded as the last error, as on a GPU) while a queued record is pending.
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end) {
    if (sticky()) return fail(sticky());
    if (!event_ok(start) || !event_ok(end) || !start->recorded || !end->recorded)
        return fail(cudaErrorInvalidResourceHandle);
    std::lock_guard<std::mutex> lock(async_mu());
    if (start->gen_done < start->gen_recorded || end->gen_done < end->gen_recorded) return cudaErrorNotReady;
    *ms = (float)(end->ms - start->ms);
    return cudaSuccess;
}

// The stream's work issued after this call waits for the event's last record; an event never recorded
// is no dependency. With nothing queued on the stream, the host waits here: the stream's next work runs
// synchronously, so waiting now is waiting before it.
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags) {
    if (sticky()) return fail(sticky());
    if (flags != 0 || !event_ok(event) || !stream_ok(stream)) return fail(cudaErrorInvalidResourceHandle);
    std::unique_lock<std::mutex> lk(async_mu());
    if (!event->recorded) return cudaSuccess;
    const uint64_t gen = event->gen_recorded;
    if (event->gen_done >= gen) return cudaSuccess;
    if (!stream_idle(stream)) {
        stream_push(stream, async_op{OP_WAIT, nullptr, nullptr, 0, 0, 0, 0, event, gen});
        return cudaSuccess;
    }
    async_cv().wait(lk, [event, gen] { return event->gen_done >= gen; });
    return cudaSuccess;
}

} // extern "C"
