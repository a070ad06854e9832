/* Internals shared by the files of the Linux South platform: the raw
 * syscall gate, host-call counting, per-thread state kept on each
 * thread's signal stack, and a tiny libc-free formatter for the few
 * messages the platform prints after lockdown. Nothing here may call libc
 * once the sandbox is locked down, so every helper is syscall-free or goes
 * through the gate. */
#ifndef MOAT_PLAT_LINUX_H
#define MOAT_PLAT_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "moat/platform.h"

/* ---- the guest window (see the brief / DESIGN.md) ---- */
#define PLAT_GUEST_LO 0x10000ull
#define PLAT_GUEST_HI 0x400000000000ull

static inline bool plat_in_guest_window(uint64_t addr) {
  return addr >= PLAT_GUEST_LO && addr < PLAT_GUEST_HI;
}

static inline bool plat_range_touches_window(uint64_t lo, uint64_t hi) {
  return lo < PLAT_GUEST_HI && hi > PLAT_GUEST_LO;
}

/* Linux 5.14; Debian 12's libc headers lack it. */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

/* PLAT_PROT_* as the host's PROT_* (mem.c, plat_host_map). */
static inline int host_prot(int prot) {
  return (prot & PLAT_PROT_READ ? 0x1 : 0) |
         (prot & PLAT_PROT_WRITE ? 0x2 : 0) |
         (prot & PLAT_PROT_EXEC ? 0x4 : 0); /* PROT_READ, _WRITE, _EXEC */
}

/* ---- host syscall numbers the runtime uses (x86-64) ---- */
enum {
  HNR_read = 0,
  HNR_write = 1,
  HNR_close = 3,
  HNR_lseek = 8,
  HNR_mmap = 9,
  HNR_mprotect = 10,
  HNR_munmap = 11,
  HNR_mremap = 25,
  HNR_madvise = 28,
  HNR_rt_sigaction = 13,
  HNR_rt_sigprocmask = 14,
  HNR_rt_sigreturn = 15,
  HNR_ioctl = 16,
  HNR_pread64 = 17,
  HNR_pwrite64 = 18,
  HNR_setitimer = 38,
  HNR_getpid = 39,
  HNR_sendto = 44,
  HNR_recvfrom = 45,
  HNR_sendmsg = 46,
  HNR_recvmsg = 47,
  HNR_shutdown = 48,
  HNR_clone = 56,
  HNR_exit = 60,
  HNR_wait4 = 61,
  HNR_fsync = 74,
  HNR_ftruncate = 77,
  HNR_fchmod = 91,
  HNR_sigaltstack = 131,
  HNR_arch_prctl = 158,
  HNR_gettid = 186,
  HNR_futex = 202,
  HNR_getdents64 = 217,
  HNR_restart_syscall = 219,
  HNR_clock_gettime = 228,
  HNR_exit_group = 231,
  HNR_tgkill = 234,
  HNR_openat = 257,
  HNR_mkdirat = 258,
  HNR_mknodat = 259,
  HNR_fchownat = 260,
  HNR_newfstatat = 262,
  HNR_unlinkat = 263,
  HNR_linkat = 265,
  HNR_symlinkat = 266,
  HNR_readlinkat = 267,
  HNR_fchmodat = 268,
  HNR_ppoll = 271,
  HNR_splice = 275,
  HNR_utimensat = 280,
  HNR_renameat2 = 316,
  HNR_membarrier = 324,
  HNR_dup3 = 292,
  HNR_pipe2 = 293,
  HNR_getrandom = 318,
  HNR_fchmodat2 = 452,
  HNR_MAX = 512,
};

/* ---- the gate (gate.S): the only host syscall instructions ---- */
extern char plat_gate_start[], plat_gate_end[];
long plat_gate_syscall6(long nr, long a1, long a2, long a3, long a4, long a5,
                        long a6);
void plat_gate_restorer(void);
_Noreturn void plat_gate_sigreturn(void *ucontext);
/* clone(flags, stack_top - 16) for a thread: the child calls fn(arg) on
 * stack_top (16-byte aligned) and must never return; the parent gets the
 * child's tid or a negative errno. */
long plat_gate_clone_thread(long flags, void *stack_top, void (*fn)(void *),
                            void *arg);
/* munmap(base, len), then *clear_word = 0 and FUTEX_WAKE on it (when not
 * NULL), then exit(0): all without touching the stack being unmapped. */
_Noreturn void plat_gate_thread_exit(void *base, size_t len,
                                     uint32_t *clear_word);

/* ---- host-call counting ---- */
enum plat_fn {
  PF_MEM_MAP,
  PF_MEM_UNMAP,
  PF_MEM_PROTECT,
  PF_MEM_ALIAS,
  PF_MEM_DISCARD,
  PF_MEM_VIEW,
  PF_ENTER,
  PF_EXIT,
  PF_WAIT,
  PF_WAKE,
  PF_CLOCK,
  PF_RANDOM,
  PF_STDIO_READ,
  PF_STDIO_WRITE,
  PF_STDIO_IOCTL,
  PF_HOST_OPEN,
  PF_HOST_CLOSE,
  PF_HOST_PREAD,
  PF_HOST_PWRITE,
  PF_HOST_MAP,
  PF_HOST_STAT,
  PF_HOST_READDIR,
  PF_HOST_READLINK,
  PF_HOST_CREATE,
  PF_HOST_REMOVE,
  PF_HOST_MOVE,
  PF_HOST_SETATTR,
  PF_HOST_SYNC,
  PF_FORK,
  PF_THREAD_CREATE,
  PF_THREAD_EXIT,
  PF_THREAD_CTX,
  PF_THREAD_HANDLE,
  PF_KICK,
  PF_TIMER_SET,
  PF_REAP,
  PF_NET_CONNECT,
  PF_NET_ACCEPT,
  PF_NET_SEND,
  PF_NET_RECV,
  PF_NET_SHUTDOWN,
  PF_NET_CLOSE,
  PF_NET_DGRAM,
  PF_COUNT
};

extern uint64_t g_plat_fn_count[PF_COUNT];
extern uint64_t g_host_syscall_count[HNR_MAX];
extern bool g_plat_stats;
/* The host's terminal is the sandbox's console (plat_linux_set_console). */
extern bool g_plat_console;
/* How guest system calls entered moat (--stats): a trap, the fast path,
 * and the sites the fast path rewrote. */
enum { PE_TRAP, PE_FAST, PE_SITES, PE_XMOD, PE_INT3, PE_COUNT };
extern uint64_t g_plat_entry_count[PE_COUNT];
/* The counters are written only for --stats (g_plat_stats, set before
 * lockdown): a page written after a fork is a copy-on-write fault in each
 * process, which costs more than the count. */
static inline void plat_count_entry(int kind) {
  if (g_plat_stats)
    __atomic_fetch_add(&g_plat_entry_count[kind], 1, __ATOMIC_RELAXED);
}

static inline void plat_count(enum plat_fn fn) {
  if (g_plat_stats)
    __atomic_fetch_add(&g_plat_fn_count[fn], 1, __ATOMIC_RELAXED);
}

/* Every host syscall of the platform goes through here. Returns the raw
 * kernel result (negative errno on failure). */
static inline long hsys(long nr, long a1, long a2, long a3, long a4, long a5,
                        long a6) {
  if (g_plat_stats && nr >= 0 && nr < HNR_MAX)
    __atomic_fetch_add(&g_host_syscall_count[nr], 1, __ATOMIC_RELAXED);
  return plat_gate_syscall6(nr, a1, a2, a3, a4, a5, a6);
}
#define hsys0(nr) hsys(nr, 0, 0, 0, 0, 0, 0)
#define hsys1(nr, a) hsys(nr, (long)(a), 0, 0, 0, 0, 0)
#define hsys2(nr, a, b) hsys(nr, (long)(a), (long)(b), 0, 0, 0, 0)
#define hsys3(nr, a, b, c) hsys(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define hsys4(nr, a, b, c, d)                                                  \
  hsys(nr, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define hsys5(nr, a, b, c, d, e)                                               \
  hsys(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)
#define hsys6(nr, a, b, c, d, e, f)                                            \
  hsys(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

/* ---- per-thread state ----
 * The guest owns fs, so there are no thread-locals. Each thread's state
 * sits at the aligned base of its signal stack; every handler runs on that
 * stack and finds it by masking its own stack pointer. */
#define PLAT_ALTSTACK_SIZE (1ul << 20) /* also the alignment */
#define PLAT_THREAD_MAGIC 0x6d6f61745f746872ull
#define PLAT_MAX_THREADS 1024 /* per host process */
/* The host signal that kicks a thread running guest code (plat_ctx_kick);
 * the filter pins tgkill to it. */
#define PLAT_SIG_KICK 63
/* The host signal plat_wake sends to a thread whose plat_wait also
 * watches host descriptors (wait.c): blocked except inside that wait's
 * ppoll, so it is never lost (and but for a late one, wait.c, interrupts
 * nothing else). The filter pins tgkill to these two. */
#define PLAT_SIG_WAKE 62
/* The only thread flags the filter allows for clone: a thread of this
 * process that shares everything the kernel can share (CLONE_VM 0x100,
 * FS 0x200, FILES 0x400, SIGHAND 0x800, THREAD 0x10000, SYSVSEM 0x40000). */
#define PLAT_THREAD_CLONE_FLAGS 0x50f00
/* The host clocks of the calling process that its ITIMER_VIRTUAL (user
 * time) and ITIMER_PROF (user + system time) count: Linux's
 * MAKE_PROCESS_CPUCLOCK(0, CPUCLOCK_VIRT / CPUCLOCK_PROF), pid 0 being
 * the caller. plat_timer_set reads them; the filter pins clock_gettime
 * to these two beside the standard clocks. */
#define PLAT_HOST_CLOCK_VIRT (-7)
#define PLAT_HOST_CLOCK_PROF (-8)

/* Set before lockdown by plat_linux_offer_vdso: the host's vDSO (0 when
 * not offered) and how far CLOCK_BOOTTIME was ahead of CLOCK_MONOTONIC. */
extern uint64_t g_plat_vdso;
extern int64_t g_plat_boot_offset;
/* The host vDSO's clock_gettime (NULL: none found) and the vDSO image's
 * bounds: plat_clock reads the realtime and monotonic clocks there, with
 * no host system call. Should the host's clock source stop serving the
 * vDSO, its fallback `syscall` traps; the SIGSYS handler runs it through
 * the gate for moat (plat_vdso_fallback). */
typedef int (*plat_vdso_clock_fn)(int clock, struct timespec *ts);
extern plat_vdso_clock_fn g_plat_vdso_clock;
extern uint64_t g_plat_vdso_lo, g_plat_vdso_hi;

struct plat_thread {
  uint64_t magic;
  /* The system call fast path (fastpath.c, fast.S) reaches these through
   * the gs segment, whose base is this block: the offsets are fixed
   * (PLAT_T_* in fast.S, checked in fastpath.c). */
  uint64_t fast_rsp;   /* the guest's stack pointer at entry and return */
  uint64_t fast_rip;   /* where the guest resumes */
  uint64_t fast_stack; /* the top of this thread's signal stack */
  uint64_t fast_xsave; /* this block's XSAVE area for the guest's FPU */
  bool gs_set;         /* the host gs base is this block */
  uint64_t fs_base;    /* the guest's thread pointer, tracked by us */
  bool in_guest;       /* plat_enter ran: traps now come from the guest */
  bool in_handler;     /* inside north_syscall / north_fault */
  bool entering;       /* plat_enter ran, no trap since (see running_guest) */
  bool kicked;         /* a kick arrived while inside the library OS */
  bool child_ended;    /* a host SIGCHLD arrived while inside the library OS */
  void *stack_lo;      /* the usable signal stack */
  size_t stack_size;
  void *ctx;               /* the core's per-thread pointer (plat_ctx_get) */
  int host_tid, host_tgid; /* for plat_ctx_self, 0 until asked */
  struct moat_regs start;  /* plat_ctx_create: where the thread starts */
};

/* plat_wait's table of waiters that watch host descriptors (wait.c),
 * shared by the sandbox's host processes: made before the first fork. */
int plat_linux_wait_setup(void);
/* Drop the table's entries of host process tgid, which ended (some of its
 * threads may have died asleep in plat_wait, killed from outside). */
void plat_linux_wait_forget(int tgid);
/* The host fd of a plat_wait entry (net.c): a stream's own, a network
 * handle's or a published port's listening socket's copy. */
int plat_linux_io_fd(int kind, int handle);
/* plat_io_write/read of a network handle (net.c). */
long plat_linux_net_send(int handle, const void *buf, size_t len,
                         unsigned flags);
long plat_linux_net_recv(int handle, void *buf, size_t len, unsigned flags);

/* The calling thread's state, or NULL when it has none yet. */
struct plat_thread *plat_current_thread(void);
/* Allocate a signal stack with its thread block (before lockdown, or via
 * the gate after it). */
int plat_thread_create_stack(struct plat_thread **out);
/* Install sigaltstack and our signal handlers for the calling thread. */
int plat_signals_install(struct plat_thread *t);
/* The host SIGCHLD handler's note for plat_space_reap (reap.c). */
void plat_reap_note(void);
/* Forget a thread block (thread exit, or the other threads after fork). */
void plat_thread_forget(struct plat_thread *t);
/* Every registered thread block (fork's child frees the others'). */
struct plat_thread *plat_thread_at(int index);
/* Slots below this may be in use (plat_thread_at). */
int plat_thread_slots(void);

/* ---- the system call fast path (fastpath.c, fast.S) ---- */
void plat_fast_setup(void);
bool plat_fast_enabled(void);
void plat_fast_thread_init(struct plat_thread *t);
void plat_fast_thread_enter(struct plat_thread *t);
uint32_t plat_fast_fpstate_size(void);
void plat_fast_trap(uint64_t call, uint64_t nr);
bool plat_fast_int3(uint64_t rip, uint64_t *resume);
void plat_fast_range_gone(uint64_t addr, uint64_t len);
void plat_fast_range_protect(uint64_t addr, uint64_t len, int prot);
enum { FAST_NONE, FAST_RUN, FAST_JUMP, FAST_TRAP, FAST_FAULT };
int plat_fast_site(unsigned slot, struct moat_regs *r, uint64_t fs_base,
                   uint64_t *ret);
int plat_thread_count(void);
void plat_fast_window(const struct plat_thread *t, struct moat_regs *r);

/* ---- libc-free output ---- */
struct plat_out {
  char buf[512];
  size_t len;
};
void po_str(struct plat_out *o, const char *s);
void po_dec(struct plat_out *o, int64_t v);
void po_udec(struct plat_out *o, uint64_t v);
void po_hex(struct plat_out *o, uint64_t v);
void po_pad(struct plat_out *o, size_t column);
void po_flush(struct plat_out *o, int fd);
size_t plat_strlen(const char *s);

/* Print "moat: <what>" on stderr and end with status 125. */
_Noreturn void plat_die(const char *what, uint64_t value);

/* ---- hostfs ---- */
/* Register an already opened host directory (O_PATH) as a grant. */
int plat_hostfs_add_grant(int fd, bool writable, bool public_only,
                          int *out_handle);
/* The host fds of all grants and whether each is writable (to keep them
 * open across close-all and to build the Landlock rules). */
int plat_hostfs_grants(int *fds, bool *writable, int max);
/* As root, the sandbox sees the default root's owners through an idmap:
 * host id k as PLAT_PUBLIC_ID_BASE + k inside its user namespace
 * (lockdown.c); hostfs then reports k. */
#define PLAT_PUBLIC_ID_BASE 65536u
void plat_hostfs_public_ids(bool on);
/* Whether the grant whose host fd is fd is public-only (a system
 * directory of the default root). */
bool plat_hostfs_grant_public_only(int fd);
/* The one uid and gid a grant maps (the sandbox's own ids in its host
 * namespace, fixed before the filter is built, which pins the owner
 * arguments of fchownat to them); plat_host_setattr refuses any other
 * owner with -EOVERFLOW. */
void plat_hostfs_set_owner(uint32_t uid, uint32_t gid);
void plat_hostfs_owner(uint32_t *uid, uint32_t *gid);

/* lockdown.c: write text to a (proc or cgroup) file; 0 or -errno. Before
 * lockdown only. */
int plat_linux_write_file(const char *path, const char *text);

/* ---- lockdown status (for --verbose/--stats and docs) ---- */
struct plat_lockdown_status {
  unsigned ns_flags;      /* CLONE_NEW* that took effect */
  bool uid_mapped;        /* uid/gid maps written in the new user namespace */
  bool host_uid_switched; /* root ran moat: the sandbox is host_uid */
  unsigned host_uid, host_gid;
  int public_idmapped; /* system directories seen with their owners */
  /* the sandbox still has host uid 0 */
  bool root_kept;
  /* RLIMIT_NPROC set for --pids (no pids cgroup) */
  unsigned nproc_limit;
  int grants_idmapped;     /* user grants that are idmapped mounts */
  int grants_not_idmapped; /* user grants whose fs refused an idmap */
  bool pid_ns_broken; /* CLONE_NEWPID took effect but no init could start */
  int landlock_abi;   /* 0: unavailable */
  bool landlock_on;
  bool grants_cloned; /* grants are private mounts, ro ones read-only */
  bool root_emptied;  /* the process root is an empty read-only tmpfs */
  bool no_new_privs;
  bool pdeathsig;
  bool caps_dropped;
  bool file_caps_kept; /* CAP_CHOWN, CAP_DAC_*, CAP_FOWNER in our userns */
  bool fds_closed;
  bool rlimits;
  bool seccomp_on;
  int seccomp_rules; /* allowlisted host syscalls */
  int bpf_len;       /* instructions in the installed program */
};
extern struct plat_lockdown_status g_plat_lockdown;
/* Print what lockdown achieved ("moat: lockdown: ..." lines on stderr). */
void plat_lockdown_report(void);

/* seccomp.c: build the whole filter (our IP prefix + libseccomp's
 * allowlist) into a malloc'd array; returns its length or -errno. */
struct sock_filter;
int plat_seccomp_build(struct sock_filter **out, int *out_rules);
/* mounts.c: grants as private (read-only) mounts, an empty root. */
int plat_mounts_harden(const int *fds, const bool *writable, int n,
                       bool *out_grants_cloned, bool *out_root_emptied);
/* mounts.c: replace a grant's fd by a private clone, idmapped through
 * userns_fd unless it is -1 (as host root, before the switch to the
 * sandbox's host uid); harden then leaves it alone. */
int plat_mounts_clone(int fd, bool writable, int userns_fd);
/* landlock.c: confine host file access to the grants. */
int plat_landlock_apply(const int *fds, const bool *writable, int n,
                        int *out_abi);
/* The same with rights per directory (or file): PLAT_LL_* bits;
 * PLAT_LL_ALL is every right Landlock handles (a read-write grant). */
#define PLAT_LL_READ 1u
#define PLAT_LL_EXEC 2u
#define PLAT_LL_WRITE_FILE 4u /* write (and device ioctls) of files */
#define PLAT_LL_ALL 0xffu
#define PLAT_LANDLOCK_MAX 256
int plat_landlock_apply_rights(const int *fds, const unsigned *rights, int n,
                               int *out_abi);

/* net.c: the page (MAP_SHARED, mapped before lockdown) that holds the
 * broker channel's lock for every process of the sandbox. */
int plat_linux_net_prepare_shared(void *page);

#endif
