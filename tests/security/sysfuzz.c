/* sysfuzz: a system call fuzzer that runs INSIDE moat (never natively: it
 * refuses to start unless SYSFUZZ_IN_MOAT=1 is in its environment). It
 * proves that a guest that misbehaves can only hurt itself: bad arguments
 * get an error, a bad pointer at worst kills the process that passed it,
 * and the library OS neither crashes nor hangs.
 *
 *   sysfuzz SEED [CHILDREN [CALLS [PARALLEL]]] [-v] [-1]
 *
 * The parent forks CHILDREN processes (PARALLEL at a time), each seeded
 * from SEED and its index. A child makes CALLS raw system calls chosen from
 * moat's syscall table (shim/linux/syscall_table.h, included here so new
 * entries are fuzzed without edits; unknown numbers too) with arguments
 * picked by the table's argument types from adversarial pools: 0, -1,
 * small and huge ints and lengths, random flags; NULL, misaligned,
 * unmapped, read-only, PROT_NONE and kernel-half pointers, pointers just
 * below the end of a mapping, a page another thread maps and unmaps all the
 * time, a page of words that are themselves such pointers and lengths (so
 * iovecs, timespecs, sigactions... are hostile too); fds of every kind
 * (pipe, file, directory, eventfd, epoll, memfd, O_PATH, /dev/null,
 * /proc files, closed and huge numbers); paths inside the child's own
 * directory, special files, loops, over-long names.
 *
 * Calls that would only end or freeze the child are neutralised: exit and
 * exit_group are skipped, a 20 ms interval timer with a handler (no
 * SA_RESTART) turns every blocking wait into EINTR, SIGALRM is kept out of
 * signal masks and sigaction, ARCH_SET_FS becomes ARCH_GET_FS, the kill
 * family reaches only the child itself (or, for pid 0 and -1, only with
 * signals that are ignored by default), pids of calls that change another
 * process name only the child, memory-changing calls aim only at the
 * child's scratch memory (rarely at its stack or code), and fork, vfork,
 * clone and clone3 run from a stub whose new process exits at once
 * without touching memory (but a plain fork now and then makes a
 * grandchild that fuzzes for 200 calls). The parent kills a child that
 * outlives its deadline (and prints the call it was in).
 *
 * The parent prints one line per ending kind and then
 *   sysfuzz: seed S: N of N children reported
 * and exits 1 if a child is missing or died of SIGSYS (every system call
 * is emulated, so SIGSYS would mean a host filter trap reached the guest).
 * Any other end of a child is its own business. -v: each child writes
 * every call to stderr before making it (to reproduce a finding); -1: each
 * child runs one thread only (no page flapper, no second fuzzing thread),
 * so that what a call leaves behind is that call's. SYSFUZZ_ONLY=K in the
 * environment runs child K alone. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

/* the argument types of the table, as in shim/linux/shim.h */
enum {
  T_NONE = 0,
  T_INT,
  T_UINT,
  T_HEX,
  T_PTR,
  T_SIZE,
  T_OFF,
  T_FD,
  T_DIRFD,
  T_PATH,
  T_STR,
  T_INBUF,
  T_OUTBUF,
  T_OUTSTR,
  T_OFLAGS,
  T_MODE,
  T_ATFLAGS,
  T_ACCMODE,
  T_PROT,
  T_MMAPFL,
  T_SIG,
  T_SIGHOW,
  T_CLOCK,
  T_WHENCE,
  T_FCNTL,
  T_IOCTL,
  T_RLIMIT,
  T_ARCHPRCTL,
  T_TIMESPEC,
  T_OUTSTAT,
  T_SIGSET,
  T_OUTSIGSET,
  T_SIGACTION,
  T_OUTSIGACTION,
};

struct sc {
  int nr;
  const char *name;
  int handled;
  unsigned char args[6];
};

#define SUPPORTED 0
#define PARTIAL(note) 0
#define ARGS(...)                                                              \
  { __VA_ARGS__ }
#define SYS(nr, name, status, a) {nr, #name, 1, a},
#define NOSYS(nr, name, a) {nr, #name, 0, a},
static const struct sc table[] = {
#include "../../shim/linux/syscall_table.h"
};
#define NTABLE (sizeof table / sizeof table[0])

/* ---- random numbers ------------------------------------------------- */

static __thread uint64_t rng; /* each fuzzing thread has its own */
static uint64_t rnd(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545F4914F6CDD1DULL;
}
static uint64_t below(uint64_t n) {
  return n ? rnd() % n : 0;
}
static int chance(int n) { /* 1 in n */
  return below((uint64_t)n) == 0;
}
#define PICK(a) ((a)[below(sizeof(a) / sizeof((a)[0]))])

/* ---- raw calls ------------------------------------------------------- */

static long raw6(long nr, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

/* fork-like calls: the new process (or thread) exits at once with the
 * plain exit call, using no stack, no TLS and no other memory, so a random
 * stack, tls or CLONE_VM cannot make it trample the caller. */
static long raw_spawn(long nr, long a, long b, long c, long d, long e) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  long ret;
  __asm__ volatile("syscall\n\t"
                   "test %%rax, %%rax\n\t"
                   "jnz 1f\n\t"
                   "mov $60, %%eax\n\t"
                   "xor %%edi, %%edi\n\t"
                   "syscall\n\t"
                   "ud2\n"
                   "1:"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                   : "rcx", "r11", "memory");
  return ret;
}

static const char *signame(int s) {
  static char buf[16];
  const char *n = sigabbrev_np(s);
  if (n)
    return n;
  snprintf(buf, sizeof buf, "%d", s);
  return buf;
}

/* ---- the child's world ---------------------------------------------- */

#define PG 4096L
#define NSCRATCH 32 /* pages of scratch memory the calls may change */
#define FD0 40      /* the pool's fds live at FD0.. */
enum {
  FD_PIPE_R,
  FD_PIPE_W,
  FD_FILE,
  FD_FILE_RO,
  FD_DIR,
  FD_EVENTFD,
  FD_EPOLL,
  FD_NULL,
  FD_PROC,
  FD_PROCDIR,
  FD_MEMFD,
  FD_OPATH,
  FD_ZERO,
  FD_CLOSED,
  NFDS
};

static char *scratch;    /* NSCRATCH pages, RW; page 0 holds hostile words */
static char *ro_page;    /* PROT_READ */
static char *none_page;  /* PROT_NONE */
static char *gone_page;  /* unmapped */
static char *end_map;    /* the end of a 2-page RW mapping; unmapped after */
static char *flap_page;  /* mapped and unmapped by another thread */
static char *paths_page; /* the path strings, read-only copies */
static volatile int flap_stop;
static char stack_anchor;
static volatile unsigned long ticks;
static int logfd = -1;
static int verbose;
static int grandchild; /* a child's child, fuzzing for a short while */
static int single;     /* -1: one thread per child (no flapper, no second) */

struct rec {
  long nr, a[6];
  long idx;
  long pid;
};
static struct rec *recs; /* shared with the parent: the call in progress,
                          * two per child (one per fuzzing thread) */
static int me;
static __thread int my_rec;
static volatile pid_t fuzz_tids[2];
static long n_calls;

static const char *rel_paths[] = {
    "f0",
    "f1",
    "d0",
    "d0/f2",
    "l0",
    "loop",
    "dangling",
    "nx",
    "d0/",
    "f0/",
    ".",
    "..",
    "",
    "fifo",
    "d0/../f0",
    "nx/nx",
    "l0/",
    "d1",
    "d1/x",
    "f0/..",
    "d0/sub",
    "new0",
    "new1",
    /* the other children's: renames and links across directories that
     * other processes change at the same time */
    "../c0/d0",
    "../c1/f0",
    "../c2/d0/f2",
    "../c3",
    "../c1/d0/sub",
    "../c0/new0",
    "../c3/d0",
};
static const char *abs_paths[] = {
    "/",
    "/tmp",
    "/proc",
    "/proc/self/status",
    "/proc/self/maps",
    "/proc/self/fd/40",
    "/proc/self/fd",
    "/proc/1/status",
    "/proc/self/mem",
    "/proc/self/cwd",
    "/proc/self/root",
    "/proc/self/stat",
    "/dev",
    "/dev/null",
    "/dev/zero",
    "/dev/urandom",
    "/dev/tty",
    "/dev/full",
    "/etc/passwd",
    "/usr/bin",
    "/nonexistent",
    "//..//..",
    "/proc/sys",
    "/proc/self/task",
    "/sys",
    "/dev/fd/0",
    "/dev/stdin",
};
static const char *strs[] = {
    "user.x", "trusted.y", "",     "security.selinux",
    "a",      "x.y.z",     "moat", "system.posix_acl_access",
};
static char *longpath, *longname, *pathmax;

static uint64_t ptr_pool(void);

static uint64_t length(void) {
  static const uint64_t v[] = {
      0,    1,         2,       3,          7,          8,         15,
      16,   24,        64,      100,        255,        256,       4095,
      4096, 4097,      8192,    65536,      1 << 20,    1UL << 31, 1UL << 32,
      ~0UL, ~0UL >> 1, -4096UL, 0x7ffff000, 0xffffffff, 1UL << 46,
  };
  if (chance(8))
    return below(1 << 16);
  return PICK(v);
}

static uint64_t intval(void) {
  static const uint64_t v[] = {
      0,      1,    2,     3,         4,          5,          8,
      16,     64,   -1UL,  -2UL,      0x7fffffff, 0x80000000, 0xffffffff,
      -100UL, 1000, 65535, 1UL << 32, 1UL << 63,  ~0UL >> 1,
  };
  switch (below(4)) {
  case 0:
    return below(16);
  case 1:
    return rnd();
  case 2:
    return 1UL << below(64) | (chance(2) ? 1UL << below(64) : 0);
  default:
    return PICK(v);
  }
}

static uint64_t flags(void) {
  uint64_t f = 0;
  int n = (int)below(4);
  for (int i = 0; i < n; i++)
    f |= 1UL << below(32);
  if (chance(10))
    f = rnd();
  return f;
}

static uint64_t fdval(int dirfd) {
  if (dirfd && chance(4))
    return (uint64_t)(long)AT_FDCWD;
  switch (below(6)) {
  case 0: {
    static const long v[] = {-1,
                             -100,
                             0,
                             1,
                             2,
                             3,
                             1000,
                             65535,
                             1 << 20,
                             0x7fffffff,
                             -0x7fffffff - 1,
                             1023,
                             1024};
    return (uint64_t)PICK(v);
  }
  default:
    return FD0 + below(NFDS);
  }
}

static uint64_t path(void) {
  if (chance(6))
    return ptr_pool();
  if (chance(10)) {
    static char **longs[] = {&longpath, &longname, &pathmax};
    return (uint64_t)(uintptr_t)*PICK(longs);
  }
  /* the strings live in paths_page: read-only copies, so a call that
   * writes where a path was expected gets EFAULT, not a changed pool */
  int n = (int)(sizeof rel_paths / sizeof rel_paths[0]);
  int m = (int)(sizeof abs_paths / sizeof abs_paths[0]);
  int i = (int)below((uint64_t)(n + m));
  return (uint64_t)(uintptr_t)(paths_page + 64 * i);
}

static uint64_t ptr_pool(void) {
  char *flap = flap_page;
  switch (below(20)) {
  case 0:
    return 0;
  case 1: {
    static const uint64_t v[] = {1,
                                 8,
                                 4095,
                                 4096,
                                 0x10000,
                                 0x400000000000,
                                 0x3ffffffff000,
                                 0x3fffffffffff,
                                 0x7ffffffff000,
                                 0xffff800000000000,
                                 0xfffffffffffff000,
                                 -1UL,
                                 1UL << 63};
    return PICK(v);
  }
  case 2:
    return (uint64_t)(uintptr_t)(scratch + PG + below(64) * 8);
  case 3:
    return (uint64_t)(uintptr_t)(scratch + PG + 1 + 2 * below(64));
  case 4:
    return (uint64_t)(uintptr_t)(ro_page + (chance(2) ? 0 : below(PG)));
  case 5:
    return (uint64_t)(uintptr_t)(none_page + (chance(2) ? 0 : below(PG)));
  case 6:
    return (uint64_t)(uintptr_t)(gone_page + (chance(2) ? 0 : below(PG)));
  case 7:
    return (uint64_t)(uintptr_t)(end_map - 1 - below(64));
  case 8:
    return (uint64_t)(uintptr_t)(flap + (chance(2) ? 0 : below(PG)));
  case 9:
  case 10:
  case 11:
    return (uint64_t)(uintptr_t)(scratch + 8 * below(PG / 8)); /* words */
  case 12:
    return (uint64_t)(uintptr_t)(scratch + PG * (1 + below(NSCRATCH - 1)));
  case 13:
    return (uint64_t)(uintptr_t)(paths_page + 64 * below(40));
  case 14:
    return (uint64_t)(uintptr_t)(&stack_anchor - 1024);
  case 15:
    return (uint64_t)(uintptr_t)(void *)&raw6; /* code: read-only */
  case 16:
    return (uint64_t)(uintptr_t)(end_map - PG * below(3));
  default:
    return (uint64_t)(uintptr_t)(scratch + PG * below(NSCRATCH) + below(PG));
  }
}

/* a mix of everything, for words inside structures */
static uint64_t word(void) {
  switch (below(5)) {
  case 0:
    return ptr_pool();
  case 1:
    return length();
  case 2:
    return intval();
  case 3:
    return fdval(0);
  default:
    return below(8);
  }
}

/* an address for mmap, munmap, mprotect...: the scratch pages, bad
 * values, and now and then the child's own stack or code */
static uint64_t mem_addr(void) {
  switch (below(12)) {
  case 0:
    return ptr_pool();
  case 1:
    return (uint64_t)(uintptr_t)(flap_page);
  case 2:
    return (uint64_t)(uintptr_t)(scratch + PG * below(NSCRATCH) +
                                 (chance(4) ? below(PG) : 0));
  case 3:
    return (uint64_t)(uintptr_t)end_map - PG * below(3);
  case 4:
    if (chance(50))
      return ((uint64_t)(uintptr_t)&stack_anchor & ~(PG - 1)) - PG;
    return (uint64_t)(uintptr_t)none_page;
  default:
    return (uint64_t)(uintptr_t)(scratch + PG * (1 + below(NSCRATCH - 1)));
  }
}

/* Most of the time, a range that starts in the scratch pages ends there
 * too: a range running on into the child's stack or data only ends the
 * child's run early (and it may, now and then). */
static uint64_t keep_inside(uint64_t addr, uint64_t len) {
  uint64_t lo = (uint64_t)(uintptr_t)scratch;
  uint64_t hi = lo + NSCRATCH * PG;
  if (addr >= lo && addr < hi && (len > hi - addr) && !chance(50))
    return hi - addr;
  return len;
}

static void fill_words(void) {
  uint64_t *w = (uint64_t *)scratch;
  int n = (int)(PG / 8);
  for (int k = 0; k < 16; k++)
    w[below((uint64_t)n)] = word();
  if (chance(64))
    for (int i = 0; i < n; i++)
      w[i] = word();
}

static void try_mprotect_scratch(void) {
  /* keep page 0 (the words) writable */
  mprotect(scratch, PG, PROT_READ | PROT_WRITE);
}

static int is_self_pid(long p) {
  return p == getpid();
}

static uint64_t pidval(int others_ok) {
  static const long bad[] = {999999, 0x3fffffff, -999999, -0x7fffffff - 1};
  if (others_ok && chance(3))
    return (uint64_t)(long)(int)intval();
  switch (below(3)) {
  case 0:
    return 0;
  case 1:
    return (uint64_t)getpid();
  default:
    return (uint64_t)PICK(bad);
  }
}

static int harmless_sig(void) {
  static const int v[] = {0, SIGCHLD, SIGURG, SIGWINCH, SIGCONT};
  return PICK(v);
}

/* a signal to send to itself: mostly harmless ones (a fatal one ends the
 * child's run), never a stop (which only the deadline would end) */
static int self_sig(void) {
  if (!chance(30))
    return harmless_sig();
  int s = (int)below(66);
  if (s == SIGSTOP || s == SIGTSTP || s == SIGTTIN || s == SIGTTOU ||
      s == SIGSYS) /* SIGSYS must only ever mean a host trap */
    s = SIGURG;
  return s;
}

static void unblock_alarm(void);

static void drop_sigalrm(uint64_t p) {
  /* a set we were handed may be any of the pool's pointers; clear the bit
   * only where that is safe to write */
  char *c = (char *)(uintptr_t)p;
  if (c >= scratch && c + 8 <= scratch + PG * NSCRATCH) {
    uint64_t s;
    memcpy(&s, c, 8);
    s &= ~(1UL << (SIGALRM - 1));
    memcpy(c, &s, 8);
  }
}

/* a signal mask for a call that waits: NULL, bad pointers, or scratch
 * words without SIGALRM (a readable page of text could block it) */
static uint64_t mask_ptr(void) {
  switch (below(6)) {
  case 0:
    return 0;
  case 1:
    return (uint64_t)(uintptr_t)(gone_page + below(PG));
  case 2:
    return (uint64_t)(uintptr_t)none_page;
  case 3:
    return (uint64_t)(uintptr_t)(end_map - 1 - below(8));
  default: {
    char *c = scratch + PG + 8 * below(64);
    drop_sigalrm((uint64_t)(uintptr_t)c);
    return (uint64_t)(uintptr_t)c;
  }
  }
}

static void alarm_handler(int sig) {
  (void)sig;
  ticks++;
}

static void *flapper(void *arg) {
  (void)arg;
  /* SIGALRM is for the main thread: it must interrupt its waits */
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  struct timespec last = {0, 0};
  while (!flap_stop) {
    /* every 20 ms, SIGALRM to each fuzzing thread: the interval timer's
     * signal reaches only one thread of the process */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - last.tv_sec) * 1000000000L + now.tv_nsec - last.tv_nsec >
        20000000L) {
      last = now;
      for (int i = 0; i < 2; i++)
        if (fuzz_tids[i] > 0)
          raw6(SYS_tgkill, getpid(), fuzz_tids[i], SIGALRM, 0, 0, 0);
    }
    void *p = mmap(flap_page, PG, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == flap_page) {
      memset(p, 0x5a, 64);
      sched_yield();
      if (chance(2))
        mprotect(p, PG, PROT_NONE);
      munmap(p, PG);
    }
    sched_yield();
  }
  return NULL;
}

static void make_fds(void) {
  int fds[NFDS];
  int p[2];
  if (pipe2(p, O_NONBLOCK) < 0)
    p[0] = p[1] = -1;
  fds[FD_PIPE_R] = p[0];
  fds[FD_PIPE_W] = p[1];
  fds[FD_FILE] = open("f0", O_RDWR | O_CREAT, 0644);
  fds[FD_FILE_RO] = open("f1", O_RDONLY | O_CREAT, 0644);
  fds[FD_DIR] = open(".", O_RDONLY | O_DIRECTORY);
  fds[FD_EVENTFD] = (int)raw6(SYS_eventfd2, 0, O_NONBLOCK, 0, 0, 0, 0);
  fds[FD_EPOLL] = (int)raw6(SYS_epoll_create1, 0, 0, 0, 0, 0, 0);
  fds[FD_NULL] = open("/dev/null", O_RDWR);
  fds[FD_PROC] = open("/proc/self/status", O_RDONLY);
  fds[FD_PROCDIR] = open("/proc/self", O_RDONLY | O_DIRECTORY);
  fds[FD_MEMFD] = (int)raw6(SYS_memfd_create, (long)"fz", 0, 0, 0, 0, 0);
  fds[FD_OPATH] = open("d0", O_PATH);
  fds[FD_ZERO] = open("/dev/zero", O_RDONLY);
  fds[FD_CLOSED] = -1;
  for (int i = 0; i < NFDS; i++) {
    if (fds[i] >= 0) {
      dup2(fds[i], FD0 + i);
      if (fds[i] != FD0 + i)
        close(fds[i]);
    } else {
      close(FD0 + i);
    }
  }
}

static void make_files(void) {
  int fd = open("f0", O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    static const char text[] = "some file text\nline two\n";
    if (write(fd, text, sizeof text - 1) < 0) {
    }
    close(fd);
  }
  close(open("f1", O_RDWR | O_CREAT, 0644));
  mkdir("d0", 0755);
  close(open("d0/f2", O_RDWR | O_CREAT, 0600));
  if (symlink("f0", "l0") < 0) {
  }
  if (symlink("loop", "loop") < 0) {
  }
  if (symlink("nowhere", "dangling") < 0) {
  }
  mkfifo("fifo", 0644);
}

static void *map(size_t len, int prot) {
  void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    _exit(90);
  }
  return p;
}

static void make_memory(void) {
  scratch = map(NSCRATCH * PG, PROT_READ | PROT_WRITE);
  for (long i = 0; i < NSCRATCH * PG / 8; i++)
    ((uint64_t *)scratch)[i] = rnd();
  ro_page = map(PG, PROT_READ | PROT_WRITE);
  memset(ro_page, 0x41, PG);
  mprotect(ro_page, PG, PROT_READ);
  none_page = map(PG, PROT_NONE);
  gone_page = map(PG, PROT_READ);
  munmap(gone_page, PG);
  char *e = map(3 * PG, PROT_READ | PROT_WRITE);
  memset(e, 0x42, 2 * PG);
  munmap(e + 2 * PG, PG);
  end_map = e + 2 * PG;
  flap_page = map(PG, PROT_READ);
  munmap(flap_page, PG);
  paths_page = map(PG * 2, PROT_READ | PROT_WRITE);
  int n = (int)(sizeof rel_paths / sizeof rel_paths[0]);
  int m = (int)(sizeof abs_paths / sizeof abs_paths[0]);
  for (int i = 0; i < n + m; i++) {
    const char *s = i < n ? rel_paths[i] : abs_paths[i - n];
    snprintf(paths_page + 64 * i, 64, "%s", s);
  }
  int s = (int)(sizeof strs / sizeof strs[0]);
  for (int i = 0; i < s; i++)
    snprintf(paths_page + 64 * (n + m + i), 64, "%s", strs[i]);
  mprotect(paths_page, PG * 2, PROT_READ);
  longpath = map(3 * PG, PROT_READ | PROT_WRITE);
  for (int i = 0; i < 3 * PG - 1; i++)
    longpath[i] = i % 2 ? '/' : 'a';
  longname = map(PG, PROT_READ | PROT_WRITE);
  memset(longname, 'n', 300);
  pathmax = map(2 * PG, PROT_READ | PROT_WRITE);
  memset(pathmax, 'p', 4096); /* not terminated inside PATH_MAX */
  pathmax[4096] = 0;
}

static uint64_t str_arg(void) {
  int n = (int)(sizeof rel_paths / sizeof rel_paths[0]);
  int m = (int)(sizeof abs_paths / sizeof abs_paths[0]);
  int s = (int)(sizeof strs / sizeof strs[0]);
  if (chance(4))
    return ptr_pool();
  if (chance(8))
    return (uint64_t)(uintptr_t)longname;
  return (uint64_t)(uintptr_t)(paths_page + 64 * (n + m + (int)below(s)));
}

/* Arguments that pass the first checks, so the call gets deeper: a
 * valid page-aligned buffer of two pages or more, a length that fits it,
 * small numbers and flags. */
static uint64_t sane_arg(int type) {
  switch (type) {
  case T_SIZE:
    return chance(2) ? below(64) : below(2 * PG + 1);
  case T_INT:
  case T_UINT:
  case T_OFF:
    return below(16);
  case T_HEX:
  case T_OFLAGS:
  case T_ATFLAGS:
    return chance(2) ? 0 : 1UL << below(20);
  case T_PTR:
  case T_INBUF:
  case T_OUTBUF:
  case T_OUTSTR:
  case T_TIMESPEC:
  case T_OUTSTAT:
  case T_SIGSET:
  case T_OUTSIGSET:
  case T_SIGACTION:
  case T_OUTSIGACTION:
    return (uint64_t)(uintptr_t)(scratch + PG * (1 + below(NSCRATCH - 3)));
  default:
    return 0;
  }
}

static __thread int sane_call;

static uint64_t arg_of(int type) {
  if (sane_call) {
    uint64_t v = sane_arg(type);
    if (v || type == T_SIZE || type == T_INT || type == T_UINT ||
        type == T_OFF || type == T_HEX)
      return v;
  }
  switch (type) {
  case T_FD:
    return fdval(0);
  case T_DIRFD:
    return fdval(1);
  case T_PATH:
    return path();
  case T_STR:
    return str_arg();
  case T_SIZE:
    return length();
  case T_OFF: {
    static const uint64_t v[] = {0,         1,         -1UL,    4096, ~0UL >> 1,
                                 1UL << 63, 1UL << 40, -4096UL, 10,   100};
    return chance(4) ? rnd() : PICK(v);
  }
  case T_OFLAGS:
  case T_ATFLAGS:
  case T_MMAPFL:
  case T_HEX:
    return chance(3) ? intval() : flags();
  case T_MODE:
    return chance(4) ? intval() : below(0200000);
  case T_ACCMODE:
  case T_PROT:
  case T_SIGHOW:
  case T_WHENCE:
    return chance(4) ? intval() : below(8);
  case T_SIG:
    return chance(6) ? intval() : below(66);
  case T_CLOCK:
    return chance(4) ? intval() : below(16);
  case T_RLIMIT:
    return chance(4) ? intval() : below(17);
  case T_FCNTL:
    return chance(4) ? intval() : (chance(3) ? 1024 + below(20) : below(50));
  case T_IOCTL: {
    static const uint64_t v[] = {0x5401, 0x5402, 0x5403, 0x5404,     0x540f,
                                 0x5410, 0x5413, 0x5414, 0x541b,     0x5421,
                                 0x5450, 0x5451, 0x5422, 0x80086601, 0xc0045002,
                                 0x5429, 0x540e};
    return chance(4) ? intval() : PICK(v);
  }
  case T_ARCHPRCTL:
    return chance(4) ? intval() : 0x1001 + below(4);
  case T_INT:
  case T_UINT:
    return intval();
  default: /* every pointer type */
    return ptr_pool();
  }
}

/* Make one call. Returns 0 if it was skipped. */
static int one_call(long idx) {
  long nr;
  uint64_t a[6];
  if (chance(40)) {
    static const long unknown[] = {29,
                                   42,
                                   400,
                                   463,
                                   511,
                                   512,
                                   547,
                                   1000,
                                   0x40000000 | 1,
                                   0x40000000 | 39,
                                   -1,
                                   -2,
                                   0x7fffffff,
                                   1 << 20};
    nr = chance(2) ? PICK(unknown) : (long)below(600);
    for (int i = 0; i < 6; i++)
      a[i] = word();
  } else {
    const struct sc *s;
    do
      s = &table[below(NTABLE)];
    while (!s->name || (!s->handled && !chance(8)));
    nr = s->nr;
    sane_call = chance(3);
    for (int i = 0; i < 6; i++)
      a[i] = s->args[i] ? arg_of(s->args[i]) : word();
  }
  fill_words();

  /* neutralise what would only end or freeze the child */
  switch (nr) {
  case SYS_exit:
  case SYS_exit_group:
    return 0;
  case SYS_rt_sigreturn:
    if (!chance(50))
      return 0;
    break;
  case SYS_rt_sigaction:
  case SYS_signalfd:
  case SYS_signalfd4:
    if ((int)a[0] == SIGALRM)
      a[0] = SIGUSR2;
    break;
  case SYS_rt_sigprocmask: /* SIGALRM is unblocked after the call */
    break;
  case SYS_rt_sigsuspend:
  case SYS_rt_sigtimedwait:
    a[0] = mask_ptr();
    break;
  case SYS_pselect6:
  case SYS_ppoll:
  case SYS_epoll_pwait:
  case SYS_epoll_pwait2:
    if (nr == SYS_pselect6) { /* a[5] -> {sigset *, size} */
      uint64_t *w = (uint64_t *)(scratch + PG + 8 * 70);
      w[0] = mask_ptr();
      w[1] = chance(2) ? 8 : length();
      a[5] = chance(4) ? ptr_pool() : (uint64_t)(uintptr_t)w;
      if (a[5] != (uint64_t)(uintptr_t)w && a[5] != 0 &&
          (char *)(uintptr_t)a[5] >= scratch &&
          (char *)(uintptr_t)a[5] < scratch + PG * NSCRATCH)
        a[5] = 0;
    } else {
      a[nr == SYS_ppoll ? 3 : 4] = mask_ptr();
    }
    break;
  case SYS_alarm:
  case SYS_setitimer:
    if (nr == SYS_alarm || (int)a[0] == ITIMER_REAL)
      return 0;
    break;
  case SYS_arch_prctl:
    if (a[0] == 0x1002) /* ARCH_SET_FS */
      a[0] = 0x1003;    /* ARCH_GET_FS */
    break;
  case SYS_kill:
  case SYS_rt_sigqueueinfo:
    a[0] = pidval(0);
    a[1] = (long)a[0] == getpid() ? (uint64_t)self_sig()
                                  : (uint64_t)harmless_sig();
    if (chance(8)) /* every process (that the child may signal) */
      a[0] = -1UL;
    if ((long)a[0] <= 0)
      a[1] = (uint64_t)harmless_sig();
    break;
  case SYS_tkill:
    a[0] = chance(2) ? (uint64_t)gettid() : pidval(0);
    a[1] = (pid_t)a[0] == gettid() ? (uint64_t)self_sig()
                                   : (uint64_t)harmless_sig();
    break;
  case SYS_tgkill:
  case SYS_rt_tgsigqueueinfo:
    a[0] = chance(4) ? pidval(0) : (uint64_t)getpid();
    a[1] = chance(2) ? (uint64_t)gettid() : pidval(0);
    a[2] = is_self_pid((long)a[0]) && (pid_t)a[1] == gettid()
               ? (uint64_t)self_sig()
               : (uint64_t)harmless_sig();
    break;
  case SYS_prlimit64:
  case SYS_sched_setparam:
  case SYS_sched_setscheduler:
  case SYS_sched_setaffinity:
    a[0] = pidval(0);
    break;
  case SYS_setpriority:
  case SYS_ioprio_set:
    a[1] = pidval(0);
    break;
  case SYS_mmap:
    a[0] = mem_addr();
    if ((a[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && chance(2))
      a[0] = (uint64_t)(uintptr_t)(scratch + PG * (1 + below(NSCRATCH - 1)));
    if ((a[3] & MAP_FIXED) &&
        (a[0] < (uint64_t)(uintptr_t)scratch ||
         a[0] >= (uint64_t)(uintptr_t)scratch + NSCRATCH * PG)) {
      if (!chance(20))
        a[3] = (a[3] & ~(uint64_t)MAP_FIXED) | MAP_FIXED_NOREPLACE;
    }
    if (chance(2))
      a[1] = chance(2) ? PG * (1 + below(8)) : length();
    if (a[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE))
      a[1] = keep_inside(a[0], a[1]);
    break;
  case SYS_munmap:
  case SYS_mprotect:
  case SYS_madvise:
  case SYS_mlock:
  case SYS_munlock:
  case SYS_msync:
  case SYS_mincore:
  case SYS_pkey_mprotect:
    a[0] = mem_addr();
    if (chance(2))
      a[1] = PG * below(4) + (chance(4) ? below(PG) : 0);
    a[1] = keep_inside(a[0], a[1]);
    break;
  case SYS_mremap:
    a[0] = mem_addr();
    a[1] = keep_inside(a[0], a[1]);
    a[4] = mem_addr();
    if (!chance(20) && a[4] != (uint64_t)(uintptr_t)flap_page) {
      /* a fixed target: inside the scratch pages, or not fixed */
      a[4] = (uint64_t)(uintptr_t)(scratch + PG * (1 + below(NSCRATCH - 1)));
      a[2] = keep_inside(a[4], a[2]);
    }
    break;
  case SYS_brk:
    if (chance(2))
      a[0] = (uint64_t)raw6(SYS_brk, 0, 0, 0, 0, 0, 0) +
             (chance(2) ? PG * below(16) : -PG * below(4));
    break;
  case SYS_fork:
  case SYS_vfork:
  case SYS_clone:
    /* the new process exits in raw_spawn */
    break;
  case SYS_clone3:
    a[1] = chance(2) ? 88 : a[1];
    break;
  case SYS_execve:
  case SYS_execveat: {
    /* only names inside the child's directory, or bad pointers: never a
     * real program */
    int pi = nr == SYS_execve ? 0 : 1;
    int n = (int)(sizeof rel_paths / sizeof rel_paths[0]);
    a[pi] = chance(4) ? ptr_pool()
                      : (uint64_t)(uintptr_t)(paths_page + 64 * below(n));
    if (pi == 1 && (a[0] == FD0 + FD_MEMFD || a[0] == FD0 + FD_FILE))
      a[4] &= ~(uint64_t)AT_EMPTY_PATH; /* not the file we wrote */
    break;
  }
  case SYS_setpgid:
    a[0] = pidval(0);
    break;
  case SYS_close_range:
  case SYS_close:
  case SYS_dup2:
  case SYS_dup3:
    if (nr == SYS_close_range && chance(2))
      a[0] = FD0 + below(NFDS);
    break;
  default:
    break;
  }
  /* the watchdog's own timer must keep ticking */
  if (nr == SYS_setitimer && (int)a[0] == ITIMER_REAL)
    return 0;

  static struct rec scrap; /* a grandchild's calls are not the child's */
  struct rec *r = grandchild ? &scrap : &recs[2 * me + my_rec];
  r->nr = nr;
  for (int i = 0; i < 6; i++)
    r->a[i] = (long)a[i];
  __atomic_store_n(&r->idx, idx, __ATOMIC_SEQ_CST);
  if (verbose && logfd >= 0) {
    char line[256];
    int len = snprintf(line, sizeof line,
                       "c%d.%d #%ld nr %ld (%#lx %#lx %#lx %#lx %#lx %#lx)\n",
                       me, my_rec, idx, nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    if (write(logfd, line, (size_t)len) < 0) {
    }
  }
  if (nr == SYS_fork && !grandchild && chance(4)) {
    /* a grandchild that fuzzes too, for a while: processes that come and
     * go, share pipes and files, and are orphaned to pid 1 */
    if (raw6(SYS_fork, 0, 0, 0, 0, 0, 0) == 0) {
      grandchild = 1;
      struct itimerval it = {{0, 20000}, {0, 20000}}; /* not inherited */
      raw6(SYS_setitimer, ITIMER_REAL, (long)&it, 0, 0, 0, 0);
      unblock_alarm();
      for (long i = 0; i < 200; i++)
        one_call(i);
      raw6(SYS_exit_group, 0, 0, 0, 0, 0, 0);
    }
  } else if (nr == SYS_fork || nr == SYS_vfork || nr == SYS_clone ||
             nr == SYS_clone3)
    raw_spawn(nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4]);
  else
    raw6(nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4],
         (long)a[5]);
  if (nr == SYS_rt_sigprocmask)
    unblock_alarm();
  return 1;
}

static void unblock_alarm(void) {
  uint64_t set = 1UL << (SIGALRM - 1);
  raw6(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&set, 0, 8, 0, 0);
}

/* The second fuzzing thread of a child (odd children have one): its calls
 * race the main thread's on the same fds and memory. */
static void *second_fuzzer(void *arg) {
  rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ULL + 7;
  my_rec = 1;
  fuzz_tids[1] = gettid();
  for (long i = 0; i < n_calls; i++) {
    if (i % 128 == 127)
      unblock_alarm();
    one_call(i);
  }
  fuzz_tids[1] = 0;
  return NULL;
}

static _Noreturn void child_main(int dirfd, uint64_t seed, long calls) {
  rng = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (int i = 0; i < 8; i++)
    rnd();
  if (verbose)
    logfd = dup2(2, 200);
  int nul = open("/dev/null", O_RDWR);
  for (int i = 0; i < 3; i++)
    dup2(nul, i);
  if (nul > 2)
    close(nul);
  char name[32];
  snprintf(name, sizeof name, "c%d", me);
  mkdirat(dirfd, name, 0755);
  int cd = openat(dirfd, name, O_RDONLY | O_DIRECTORY);
  if (cd < 0 || fchdir(cd) < 0)
    _exit(91);
  close(dirfd);
  make_files();
  make_memory();
  make_fds();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = alarm_handler;
  sigaction(SIGALRM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  struct itimerval it = {{0, 20000}, {0, 20000}};
  setitimer(ITIMER_REAL, &it, NULL);
  n_calls = calls;
  fuzz_tids[0] = gettid();
  pthread_t th;
  if (!single && pthread_create(&th, NULL, flapper, NULL) != 0)
    _exit(92);
  if (!single && me % 2 &&
      pthread_create(&th, NULL, second_fuzzer, (void *)(uintptr_t)(seed + 1)) !=
          0)
    _exit(93);
  for (long i = 0; i < calls; i++) {
    if (i % 128 == 127) {
      fchdir(cd); /* may be closed: then the cwd stays wherever it went */
      make_fds();
      try_mprotect_scratch();
      unblock_alarm(); /* a blocked SIGALRM would end the EINTRs */
      sigaction(SIGALRM, &sa, NULL);
    }
    one_call(i);
  }
  flap_stop = 1;
  raw6(SYS_exit_group, 0, 0, 0, 0, 0, 0);
  for (;;)
    ;
}

/* ---- the parent ------------------------------------------------------ */

static void show_recs(int child) {
  for (int t = 0; t < 1 + child % 2; t++) {
    struct rec *r = &recs[2 * child + t];
    printf("  thread %d, call %ld: nr %ld (%#lx %#lx %#lx %#lx %#lx %#lx)\n", t,
           r->idx, r->nr, r->a[0], r->a[1], r->a[2], r->a[3], r->a[4], r->a[5]);
  }
}

int main(int argc, char **argv) {
  const char *env = getenv("SYSFUZZ_IN_MOAT");
  if (!env || strcmp(env, "1") != 0) {
    fprintf(stderr, "sysfuzz: runs only inside moat "
                    "(moat run --env SYSFUZZ_IN_MOAT=1 ...)\n");
    return 2;
  }
  int pos = 0;
  long opt[4] = {1, 8, 2000, 4};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-v") == 0)
      verbose = 1;
    else if (strcmp(argv[i], "-1") == 0)
      single = 1;
    else if (pos < 4)
      opt[pos++] = strtol(argv[i], NULL, 0);
  }
  if (pos < 1) {
    fprintf(stderr,
            "usage: sysfuzz SEED [CHILDREN [CALLS [PARALLEL]]] [-v] [-1]\n");
    return 2;
  }
  const char *only_env = getenv("SYSFUZZ_ONLY"); /* a child's index */
  int only = only_env ? atoi(only_env) : -1;
  uint64_t seed = (uint64_t)opt[0];
  int nchild = (int)opt[1];
  long calls = opt[2];
  int par = opt[3] > 0 ? (int)opt[3] : 1;
  if (nchild < 1 || nchild > 4096)
    return 2;
  recs = mmap(NULL, 2 * sizeof(struct rec) * (size_t)nchild,
              PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (recs == MAP_FAILED)
    return 3;
  char dir[] = "/tmp/sysfuzz-XXXXXX";
  if (!mkdtemp(dir))
    return 3;
  int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
  if (dirfd < 0)
    return 3;
  signal(SIGPIPE, SIG_IGN);

  pid_t *pids = calloc((size_t)nchild, sizeof(pid_t));
  double *start = calloc((size_t)nchild, sizeof(double));
  int exited0 = 0, exited_other = 0, deadline = 0, sigsys = 0, reported = 0;
  int strays = 0;
  long total_calls = 0;
  int by_sig[65] = {0};
  int next = 0, running = 0;
  const double limit = 10.0; /* seconds a child may take */
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double t = (double)(now.tv_sec - t0.tv_sec) +
               (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
    while (running < par && next < nchild) {
      if (only >= 0 && next != only) { /* replaying one child */
        next++;
        reported++;
        continue;
      }
      fflush(stdout);
      pid_t p = fork();
      if (p == 0) {
        me = next;
        child_main(dirfd, seed * 100003 + (uint64_t)next, calls);
      }
      if (p < 0) {
        perror("sysfuzz: fork");
        return 3;
      }
      pids[next] = p;
      start[next] = t;
      next++;
      running++;
    }
    if (!running)
      break;
    int st;
    pid_t w = waitpid(-1, &st, WNOHANG);
    if (w > 0) {
      int i;
      for (i = 0; i < nchild && pids[i] != w; i++)
        ;
      if (i == nchild) {
        strays++; /* a grandchild made with CLONE_PARENT */
        continue;
      }
      pids[i] = 0;
      running--;
      reported++;
      total_calls += recs[2 * i].idx + 1 + (i % 2 ? recs[2 * i + 1].idx : 0);
      if (WIFEXITED(st)) {
        if (WEXITSTATUS(st) == 0)
          exited0++;
        else {
          exited_other++;
          printf("child %d: exit %d\n", i, WEXITSTATUS(st));
        }
      } else if (WIFSIGNALED(st)) {
        int s = WTERMSIG(st);
        if (s > 0 && s < 65)
          by_sig[s]++;
        if (s == SIGSYS)
          sigsys++;
        if (s != SIGKILL || verbose) {
          printf("child %d: SIG%s\n", i, signame(s));
          show_recs(i);
        }
      }
      continue;
    }
    for (int i = 0; i < next; i++) {
      if (pids[i] > 0 && t - start[i] > limit && start[i] >= 0) {
        printf("child %d: past its deadline\n", i);
        show_recs(i);
        kill(pids[i], SIGKILL);
        start[i] = -1; /* killed once; its status comes through wait */
        deadline++;
      }
    }
    struct timespec nap = {0, 5000000};
    nanosleep(&nap, NULL);
  }
  printf("sysfuzz: seed %lu: %ld calls; exit 0: %d\n", (unsigned long)seed,
         total_calls, exited0);
  if (exited_other)
    printf("sysfuzz: other exits: %d\n", exited_other);
  for (int s = 1; s < 65; s++)
    if (by_sig[s])
      printf("sysfuzz: killed by SIG%s: %d\n", signame(s), by_sig[s]);
  if (deadline)
    printf("sysfuzz: killed at the deadline: %d\n", deadline);
  if (strays)
    printf("sysfuzz: other processes collected: %d\n", strays);
  printf("sysfuzz: seed %lu: %d of %d children reported\n", (unsigned long)seed,
         reported, nchild);
  return reported == nchild && !sigsys ? 0 : 1;
}
