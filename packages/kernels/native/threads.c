// A small pool of POSIX threads for the GEMM: one step's products split over the machine's cores.
//
// Work is split into tasks that each own a disjoint part of the output and compute it exactly as the
// single-threaded path does (same packing, same k order), so results are bit-identical whatever the thread
// count. The pool is per process: Node worker threads that load the addon share it. A caller that finds the
// pool busy (another thread's product is running on it) runs its product on its own thread instead of
// waiting, and a task never starts nested parallel work, so the pool never holds more than `threads` busy
// threads. rmt_set_threads (the addon's setThreads; env RMT_KERNEL_THREADS at load) sets the count:
// @rmt/trainer sets 1 when its data-parallel workers already take the other cores.
#ifndef _WIN32
#define _GNU_SOURCE // sched_getaffinity, CPU_COUNT
#endif
#include "kernels.h"

#if defined(_WIN32) || defined(RMT_NO_THREADS)
int rmt_threads(void) { return 1; }
void rmt_set_threads(int n) { (void)n; }
int rmt_default_threads(void) { return 1; }
void rmt_parallel(int tasks, rmt_task fn, void *ctx) {
  for (int i = 0; i < tasks; i++) fn(ctx, i);
}
#else
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
// How long a thread that waits (a worker for the next job, the caller for the last task) spins before it
// sleeps. A step's products come a few hundred µs apart, and waking a sleeping thread took 50–90 µs on
// these VMs (a 2-thread batch of attention products ran slower than one thread); spinning yields the core
// to any other runnable thread, so a busy machine loses little.
#define SPIN_NS 2000000L

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; // guards everything below (the atomics are also read spinning)
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;    // a new job for the workers
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;    // the last task of a job finished
static pthread_mutex_t owner = PTHREAD_MUTEX_INITIALIZER; // held by the caller whose job is on the pool
static int wanted = -1;                                   // threads a product may use (-1: not yet read)
static int started = 0;                                   // worker threads alive (callers are the +1)
static atomic_ulong generation = 0;
static rmt_task jobFn;
static void *jobCtx;
static int jobTasks, nextTask, jobWorkers;
static atomic_int unfinished = 0;
static __thread int insideTask = 0;

static long nowNs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}

static inline void cpuRelax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static int newJob(unsigned long seen) { return atomic_load(&generation) != seen; }
static int jobDone(unsigned long unused) { return (void)unused, atomic_load(&unfinished) == 0; }

// Spin, without the lock, until ready(arg) or SPIN_NS pass.
static void spinUntil(int (*ready)(unsigned long), unsigned long arg) {
  long until = nowNs() + SPIN_NS;
  for (int i = 1; !ready(arg); i++) {
    cpuRelax();
    if (i % 64 == 0) {
      if (nowNs() > until) return;
      sched_yield();
    }
  }
}

// Tasks of the current job until none is left; called with `lock` held, returns with it held.
static void drain(void) {
  while (nextTask < jobTasks) {
    int task = nextTask++;
    rmt_task fn = jobFn;
    void *ctx = jobCtx;
    pthread_mutex_unlock(&lock);
    insideTask = 1;
    fn(ctx, task);
    insideTask = 0;
    pthread_mutex_lock(&lock);
    if (--unfinished == 0) pthread_cond_signal(&done);
  }
}

// Worker `index` takes part in jobs that want more than index + 1 threads (a lowered count leaves the rest idle).
static void *worker(void *arg) {
  int index = (int)(intptr_t)arg;
  pthread_mutex_lock(&lock);
  unsigned long seen = generation;
  for (;;) {
    if (generation == seen) {
      pthread_mutex_unlock(&lock);
      spinUntil(newJob, seen);
      pthread_mutex_lock(&lock);
    }
    while (generation == seen) pthread_cond_wait(&wake, &lock);
    seen = generation;
    if (index < jobWorkers) drain();
  }
  return NULL;
}

// The cores this process may run on (its affinity mask, which containers and taskset narrow).
int rmt_default_threads(void) {
#ifdef CPU_COUNT
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n < MAX_THREADS ? n : MAX_THREADS;
  }
#endif
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n < MAX_THREADS ? (int)n : MAX_THREADS;
}

static int clampThreads(int n) { return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n; }

int rmt_threads(void) {
  pthread_mutex_lock(&lock);
  if (wanted < 0) {
    const char *env = getenv("RMT_KERNEL_THREADS");
    int n = env && *env ? atoi(env) : 0;
    wanted = n > 0 ? clampThreads(n) : rmt_default_threads();
  }
  int n = wanted;
  pthread_mutex_unlock(&lock);
  return n;
}

void rmt_set_threads(int n) {
  pthread_mutex_lock(&lock);
  wanted = n > 0 ? clampThreads(n) : rmt_default_threads();
  pthread_mutex_unlock(&lock);
}

void rmt_parallel(int tasks, rmt_task fn, void *ctx) {
  int threads = rmt_threads();
  // Inline: one task or one thread, a task asking for more, or the pool busy with another caller's product.
  if (tasks <= 1 || threads <= 1 || insideTask || pthread_mutex_trylock(&owner) != 0) {
    for (int i = 0; i < tasks; i++) fn(ctx, i);
    return;
  }
  pthread_mutex_lock(&lock);
  while (started < threads - 1) {
    pthread_t t;
    if (pthread_create(&t, NULL, worker, (void *)(intptr_t)started) != 0) break; // fewer threads: the tasks still all run
    pthread_detach(t);
    started++;
  }
  jobFn = fn, jobCtx = ctx, jobTasks = tasks, nextTask = 0, unfinished = tasks, jobWorkers = threads - 1;
  generation++;
  pthread_cond_broadcast(&wake);
  drain();
  if (unfinished > 0) {
    pthread_mutex_unlock(&lock);
    spinUntil(jobDone, 0);
    pthread_mutex_lock(&lock);
  }
  while (unfinished > 0) pthread_cond_wait(&done, &lock);
  jobTasks = 0;
  pthread_mutex_unlock(&lock);
  pthread_mutex_unlock(&owner);
}
#endif

// Items [0, n) split into contiguous ranges, one per thread, when there is enough work (n · workPerItem);
// range edges are multiples of `align`, so that a kernel's vector and scalar paths take the same items
// whatever the thread count.
struct rangeJob {
  rmt_range fn;
  void *ctx;
  int64_t n, align;
  int tasks;
};

static void rangeTask(void *ctx, int task) {
  struct rangeJob *j = ctx;
  int64_t units = (j->n + j->align - 1) / j->align;
  int64_t from = units * task / j->tasks * j->align, to = units * (task + 1) / j->tasks * j->align;
  if (to > j->n) to = j->n;
  if (to > from) j->fn(j->ctx, from, to);
}

// Below this much work (floats touched, about) a kernel stays on one thread: the wake-up would cost more.
#define PARALLEL_MIN_WORK (1 << 16)

void rmt_parallel_range(int64_t n, int64_t workPerItem, int64_t align, rmt_range fn, void *ctx) {
  int threads = rmt_threads();
  int64_t units = (n + align - 1) / align;
  if (threads <= 1 || units < 2 || (double)n * (double)workPerItem < PARALLEL_MIN_WORK) {
    if (n > 0) fn(ctx, 0, n);
    return;
  }
  struct rangeJob job = {fn, ctx, n, align, units < threads ? (int)units : threads};
  rmt_parallel(job.tasks, rangeTask, &job);
}

