/* The seccomp filter of the Linux platform, built before lockdown (libc
 * and libseccomp are fine here). Two parts, run in order:
 *  1. our own BPF prefix: a 32-bit call (int 0x80) -> ENOSYS without
 *     running it, any other wrong architecture -> KILL_PROCESS; an
 *     instruction pointer outside the syscall gate -> TRAP (SIGSYS, which
 *     context.c turns into north_syscall for the guest);
 *  2. libseccomp's allowlist (default KILL_PROCESS), with arguments pinned
 *     wherever the filter can see them.
 * libseccomp cannot test the instruction pointer, hence the hand-written
 * prefix spliced in front of its exported program. docs/south.md lists
 * every rule below and why it exists; keep the two in step. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plat_linux.h"

#define ALLOW SCMP_ACT_ALLOW
#define MAP_ALLOWED_EXTRA (MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE)

/* Our own comparison builders: libseccomp's leave datum_b unset, which
 * clang rejects under -Wextra. */
#define CMP(n, cmp, x)                                                         \
  { .arg = (n), .op = (cmp), .datum_a = (uint64_t)(x), .datum_b = 0 }
#define MASKED(n, mask, value)                                                 \
  {                                                                            \
    .arg = (n), .op = SCMP_CMP_MASKED_EQ, .datum_a = (uint64_t)(mask),         \
    .datum_b = (uint64_t)(value)                                               \
  }

struct rule {
  int nr;
  unsigned nargs;
  struct scmp_arg_cmp args[2];
};

#define R0(n)                                                                  \
  { .nr = (n), .nargs = 0 }
#define R1(n, a)                                                               \
  {                                                                            \
    .nr = (n), .nargs = 1, .args = { a }                                       \
  }
#define R2(n, a, b)                                                            \
  {                                                                            \
    .nr = (n), .nargs = 2, .args = { a, b }                                    \
  }

/* Rules for the same syscall are alternatives (any one allows it). */
static const struct rule g_rules[] = {
    /* standard streams only */
    R1(HNR_read, CMP(0, SCMP_CMP_LE, 2)),
    R1(HNR_write, CMP(0, SCMP_CMP_LE, 2)),
    R2(HNR_ioctl, CMP(0, SCMP_CMP_LE, 2), CMP(1, SCMP_CMP_EQ, LINUX_TCGETS)),
    R2(HNR_ioctl, CMP(0, SCMP_CMP_LE, 2), CMP(1, SCMP_CMP_EQ, LINUX_TCSETS)),
    R2(HNR_ioctl, CMP(0, SCMP_CMP_LE, 2), CMP(1, SCMP_CMP_EQ, LINUX_TCSETSW)),
    R2(HNR_ioctl, CMP(0, SCMP_CMP_LE, 2), CMP(1, SCMP_CMP_EQ, LINUX_TCSETSF)),
    R2(HNR_ioctl, CMP(0, SCMP_CMP_LE, 2),
       CMP(1, SCMP_CMP_EQ, LINUX_TIOCGWINSZ)),
    R2(HNR_ioctl, CMP(0, SCMP_CMP_LE, 2),
       CMP(1, SCMP_CMP_EQ, LINUX_TIOCSWINSZ)),
    R2(HNR_ioctl, CMP(0, SCMP_CMP_LE, 2), CMP(1, SCMP_CMP_EQ, LINUX_TIOCGPGRP)),
    /* plat_stdio_poll: one pollfd, no mask (its fd is in memory: only
     * the gate's own code, which polls 0..2, can issue it). */
    R2(HNR_ppoll, CMP(1, SCMP_CMP_EQ, 1), CMP(3, SCMP_CMP_EQ, 0)),
    /* memory: anonymous only, no growsdown/hugetlb/populate tricks */
    R1(HNR_mmap, MASKED(3, ~(uint64_t)MAP_ALLOWED_EXTRA, MAP_ANONYMOUS)),
    R0(HNR_munmap),
    R0(HNR_mprotect),
    /* execution */
    R1(HNR_arch_prctl, CMP(0, SCMP_CMP_EQ, LINUX_ARCH_SET_FS)),
    R0(HNR_rt_sigreturn),
    R0(HNR_restart_syscall),
    R0(HNR_exit_group),
    /* processes and threads (proc.c): fork with SIGCHLD only, a thread
     * with one fixed flag set; a thread's own exit; the kick signal only */
    R2(HNR_clone, CMP(0, SCMP_CMP_EQ, SIGCHLD), CMP(1, SCMP_CMP_EQ, 0)),
    R1(HNR_clone, CMP(0, SCMP_CMP_EQ, PLAT_THREAD_CLONE_FLAGS)),
    R0(HNR_exit),
    R1(HNR_rt_sigprocmask, CMP(0, SCMP_CMP_EQ, SIG_SETMASK)),
    R0(HNR_getpid),
    R0(HNR_gettid),
    R1(HNR_tgkill, CMP(2, SCMP_CMP_EQ, PLAT_SIG_KICK)),
    /* plat_reap: any child, never blocking, no rusage */
    R2(HNR_wait4, CMP(2, SCMP_CMP_EQ, WNOHANG | __WALL),
       CMP(3, SCMP_CMP_EQ, 0)),
    /* plat_timer_set: ITIMER_REAL, _VIRTUAL or _PROF, no old value */
    R2(HNR_setitimer, CMP(0, SCMP_CMP_LE, 2), CMP(2, SCMP_CMP_EQ, 0)),
    /* waiting, time, entropy */
    R1(HNR_futex, CMP(1, SCMP_CMP_EQ, FUTEX_WAIT)),
    R1(HNR_futex, CMP(1, SCMP_CMP_EQ, FUTEX_WAKE)),
    R1(HNR_futex, CMP(1, SCMP_CMP_EQ, FUTEX_WAIT | FUTEX_PRIVATE_FLAG)),
    R1(HNR_futex, CMP(1, SCMP_CMP_EQ, FUTEX_WAKE | FUTEX_PRIVATE_FLAG)),
    R1(HNR_clock_gettime, CMP(0, SCMP_CMP_LE, LINUX_CLOCK_PROCESS_CPUTIME_ID)),
    /* the clocks of the CPU-time timers (plat_timer_set) */
    R1(HNR_clock_gettime, CMP(0, SCMP_CMP_EQ, PLAT_HOST_CLOCK_VIRT)),
    R1(HNR_clock_gettime, CMP(0, SCMP_CMP_EQ, PLAT_HOST_CLOCK_PROF)),
    R1(HNR_getrandom, CMP(2, SCMP_CMP_EQ, 0)),
    /* hostfs: fds above the standard streams, names relative to them,
     * symlinks never followed */
    R2(HNR_openat, MASKED(0, 0x80000000u, 0),
       MASKED(2, O_NOFOLLOW, O_NOFOLLOW)),
    R1(HNR_close, CMP(0, SCMP_CMP_GE, 3)),
    R1(HNR_pread64, CMP(0, SCMP_CMP_GE, 3)),
    R1(HNR_pwrite64, CMP(0, SCMP_CMP_GE, 3)),
    R2(HNR_lseek, CMP(1, SCMP_CMP_EQ, 0), CMP(2, SCMP_CMP_EQ, SEEK_SET)),
    R1(HNR_getdents64, CMP(0, SCMP_CMP_GE, 3)),
    R1(HNR_newfstatat, MASKED(3, AT_SYMLINK_NOFOLLOW, AT_SYMLINK_NOFOLLOW)),
    R0(HNR_readlinkat),
    R0(HNR_mkdirat),
    R0(HNR_symlinkat),
    R1(HNR_unlinkat, MASKED(2, ~(uint64_t)AT_REMOVEDIR, 0)),
    R1(HNR_renameat2,
       MASKED(4, ~(uint64_t)(LINUX_RENAME_NOREPLACE | LINUX_RENAME_EXCHANGE),
              0)),
    R1(HNR_linkat, CMP(4, SCMP_CMP_EQ, 0)),
    R1(HNR_fchmod, CMP(0, SCMP_CMP_GE, 3)),
    R0(HNR_fchmodat),
    R1(HNR_fchmodat2, CMP(3, SCMP_CMP_EQ, AT_SYMLINK_NOFOLLOW)),
    R1(HNR_utimensat, MASKED(3, ~(uint64_t)AT_SYMLINK_NOFOLLOW, 0)),
    R1(HNR_ftruncate, CMP(0, SCMP_CMP_GE, 3)),
    R1(HNR_fsync, CMP(0, SCMP_CMP_GE, 3)),
};

static int count_syscalls(void) {
  int n = 0;
  for (size_t i = 0; i < sizeof(g_rules) / sizeof(g_rules[0]); i++) {
    bool seen = false;
    for (size_t j = 0; j < i; j++)
      seen |= g_rules[j].nr == g_rules[i].nr;
    n += !seen;
  }
  return n;
}

/* libseccomp writes its program to an fd; a memfd keeps it off disk. */
static int export_allowlist(struct sock_filter **out, size_t *out_len) {
  int err = 0, fd = -1;
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (!ctx)
    return -ENOMEM;
  err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  for (size_t i = 0; !err && i < sizeof(g_rules) / sizeof(g_rules[0]); i++)
    err = seccomp_rule_add_array(ctx, ALLOW, g_rules[i].nr, g_rules[i].nargs,
                                 g_rules[i].args);
  if (err)
    goto out;
  fd = memfd_create("moat-seccomp", MFD_CLOEXEC);
  if (fd < 0) {
    err = -errno;
    goto out;
  }
  err = seccomp_export_bpf(ctx, fd);
  if (err)
    goto out;
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_size <= 0 ||
      st.st_size % (off_t)sizeof(struct sock_filter) ||
      st.st_size > BPF_MAXINSNS * (off_t)sizeof(struct sock_filter)) {
    err = -EINVAL;
    goto out;
  }
  *out = malloc((size_t)st.st_size);
  if (!*out) {
    err = -ENOMEM;
    goto out;
  }
  if (pread(fd, *out, (size_t)st.st_size, 0) != st.st_size) {
    free(*out);
    err = -EIO;
    goto out;
  }
  *out_len = (size_t)st.st_size / sizeof(struct sock_filter);
out:
  if (fd >= 0)
    close(fd);
  seccomp_release(ctx);
  return err;
}

#define IP_LO offsetof(struct seccomp_data, instruction_pointer)
#define IP_HI (offsetof(struct seccomp_data, instruction_pointer) + 4)

int plat_seccomp_build(struct sock_filter **out, int *out_rules) {
  struct sock_filter *lib = NULL;
  size_t lib_len = 0;
  int err = export_allowlist(&lib, &lib_len);
  if (err)
    return err;

  /* The kernel reports the address after the syscall instruction, so the
   * gate's syscalls all satisfy start < ip < end (gate.S starts with ud2). */
  uint64_t lo = (uint64_t)(uintptr_t)plat_gate_start + 1;
  uint64_t hi = (uint64_t)(uintptr_t)plat_gate_end;
  uint32_t lo_hi = (uint32_t)(lo >> 32), lo_lo = (uint32_t)lo;
  uint32_t hi_hi = (uint32_t)(hi >> 32), hi_lo = (uint32_t)hi;
  enum { ALLOW_AT = 12, TRAP_AT = 13, I386_AT = 14, KILL_AT = 16 };
#define TO(pc, target) ((uint8_t)((target) - (pc)-1))
  struct sock_filter prefix[] = {
      /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                       offsetof(struct seccomp_data, arch)),
      /* 1 */
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, TO(1, I386_AT)),
      /* ip >= lo ? */
      /* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, IP_HI),
      /* 3 */ BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, lo_hi, TO(3, 7), 0),
      /* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, lo_hi, 0, TO(4, TRAP_AT)),
      /* 5 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, IP_LO),
      /* 6 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, lo_lo, 0, TO(6, TRAP_AT)),
      /* ip < hi ? */
      /* 7 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, IP_HI),
      /* 8 */ BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, hi_hi, TO(8, TRAP_AT), 0),
      /* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, hi_hi, 0, TO(9, ALLOW_AT)),
      /* 10 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, IP_LO),
      /* 11 */
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, hi_lo, TO(11, TRAP_AT),
               TO(11, ALLOW_AT)),
      /* 12: inside the gate: on to the allowlist after the returns */
      BPF_STMT(BPF_JMP | BPF_JA | BPF_K, 4),
      /* 13 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
      /* A guest's int 0x80 is refused (as a kernel without IA32 emulation
       * does) and never runs; no other architecture is expected. */
      /* 14 */
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, TO(14, KILL_AT)),
      /* 15 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
      /* 16 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
  };
#undef TO
  size_t plen = sizeof(prefix) / sizeof(prefix[0]);
  if (plen + lib_len > BPF_MAXINSNS) {
    free(lib);
    return -E2BIG;
  }
  struct sock_filter *all = malloc((plen + lib_len) * sizeof(*all));
  if (!all) {
    free(lib);
    return -ENOMEM;
  }
  memcpy(all, prefix, sizeof(prefix));
  memcpy(all + plen, lib, lib_len * sizeof(*lib));
  free(lib);
  *out = all;
  *out_rules = count_syscalls();
  return (int)(plen + lib_len);
}
