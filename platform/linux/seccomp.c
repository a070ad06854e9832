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
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux_platform.h"
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

/* Up to five comparisons, all of which must hold (libseccomp ANDs the
 * comparisons of one rule). */
struct rule {
  int nr;
  unsigned nargs;
  struct scmp_arg_cmp args[5];
};

#define RULE(n, ...)                                                           \
  {                                                                            \
    .nr = (n),                                                                 \
    .nargs = sizeof((struct scmp_arg_cmp[]){__VA_ARGS__}) /                    \
             sizeof(struct scmp_arg_cmp),                                      \
    .args = {                                                                  \
      __VA_ARGS__                                                              \
    }                                                                          \
  }
#define R0(n)                                                                  \
  { .nr = (n), .nargs = 0 }

/* The kernel reads an fd as a 32-bit int and ignores the upper half of
 * the register, while the filter sees all 64 bits: every pinned integer
 * must be pinned in all 64 bits, or 0x100000002 passes "fd >= 3" and acts
 * on fd 2. STDIO_FD(n): 0, 1 or 2 as a 64-bit value. The host fds of
 * hostfs (3..INT_MAX in all 64 bits, never a standard stream, never
 * AT_FDCWD) are checked by our own prefix (g_host_fd_args below):
 * libseccomp 2.5 refuses two comparisons of one argument in a rule. */
#define STDIO_FD(n) CMP(n, SCMP_CMP_LE, 2)
/* A mode argument never carries set-user-ID or set-group-ID: a guest must
 * not leave a setuid file on the host (hostfs strips them, the filter
 * kills a guest that passes them through the gate). The upper bits of
 * the register are the kernel's to ignore; the low 12 are what it uses. */
#define NO_SETID(n) MASKED(n, S_ISUID | S_ISGID, 0)

/* Rules for the same syscall are alternatives (any one allows it). */
static const struct rule g_rules[] = {
    /* standard streams only */
    RULE(HNR_read, STDIO_FD(0)),
    RULE(HNR_write, STDIO_FD(0)),
    RULE(HNR_ioctl, STDIO_FD(0), CMP(1, SCMP_CMP_EQ, LINUX_TCGETS)),
    RULE(HNR_ioctl, STDIO_FD(0), CMP(1, SCMP_CMP_EQ, LINUX_TCSETS)),
    RULE(HNR_ioctl, STDIO_FD(0), CMP(1, SCMP_CMP_EQ, LINUX_TCSETSW)),
    RULE(HNR_ioctl, STDIO_FD(0), CMP(1, SCMP_CMP_EQ, LINUX_TCSETSF)),
    RULE(HNR_ioctl, STDIO_FD(0), CMP(1, SCMP_CMP_EQ, LINUX_TIOCGWINSZ)),
    RULE(HNR_ioctl, STDIO_FD(0), CMP(1, SCMP_CMP_EQ, LINUX_TIOCSWINSZ)),
    /* plat_wait (wait.c): at most PLAT_WAIT_IO_MAX pollfds (their fds
     * are in memory and cannot be pinned: readiness is all a poll
     * reveals), with or without a signal mask (a thread's own host mask
     * is no boundary: it only decides when the platform's own signals
     * reach it). */
    RULE(HNR_ppoll, CMP(1, SCMP_CMP_LE, PLAT_WAIT_IO_MAX)),
    /* memory: anonymous only, no growsdown/hugetlb/populate tricks */
    RULE(HNR_mmap, MASKED(3, ~(uint64_t)MAP_ALLOWED_EXTRA, MAP_ANONYMOUS)),
    /* plat_host_map: a private copy-on-write mapping of a file moat holds
     * open (its own descriptors, 0..INT_MAX in all 64 bits), placed at a
     * fixed address: never shared, so never a write to the file */
    RULE(HNR_mmap, CMP(3, SCMP_CMP_EQ, MAP_PRIVATE | MAP_FIXED),
         MASKED(4, ~(uint64_t)0x7fffffff, 0)),
    R0(HNR_munmap),
    R0(HNR_mprotect),
    /* plat_mem_alias: only a second mapping of shared pages (old size 0),
     * placed at a fixed address; plat_mem_discard: MADV_REMOVE only */
    RULE(HNR_mremap, CMP(1, SCMP_CMP_EQ, 0),
         CMP(3, SCMP_CMP_EQ, MREMAP_MAYMOVE | MREMAP_FIXED)),
    RULE(HNR_madvise, CMP(2, SCMP_CMP_EQ, MADV_REMOVE)),
    RULE(HNR_madvise, CMP(2, SCMP_CMP_EQ, MADV_POPULATE_READ)),
    /* execution */
    RULE(HNR_arch_prctl, CMP(0, SCMP_CMP_EQ, LINUX_ARCH_SET_FS)),
    /* the fast path: each thread's gs base is its own block */
    RULE(HNR_arch_prctl, CMP(0, SCMP_CMP_EQ, LINUX_ARCH_SET_GS)),
    /* the fast path's rewrite of code other threads may be running: every
     * thread of this process serializes (MEMBARRIER_CMD_PRIVATE_EXPEDITED_
     * SYNC_CORE, and its registration), no flags, no CPU */
    RULE(HNR_membarrier, CMP(0, SCMP_CMP_EQ, 32), CMP(1, SCMP_CMP_EQ, 0),
         CMP(2, SCMP_CMP_EQ, 0)),
    RULE(HNR_membarrier, CMP(0, SCMP_CMP_EQ, 64), CMP(1, SCMP_CMP_EQ, 0),
         CMP(2, SCMP_CMP_EQ, 0)),
    R0(HNR_rt_sigreturn),
    R0(HNR_restart_syscall),
    R0(HNR_exit_group),
    /* processes and threads (proc.c): fork with SIGCHLD only, a thread
     * with one fixed flag set; a thread's own exit; the kick signal only */
    RULE(HNR_clone, CMP(0, SCMP_CMP_EQ, SIGCHLD), CMP(1, SCMP_CMP_EQ, 0)),
    RULE(HNR_clone, CMP(0, SCMP_CMP_EQ, PLAT_THREAD_CLONE_FLAGS)),
    R0(HNR_exit),
    RULE(HNR_rt_sigprocmask, CMP(0, SCMP_CMP_EQ, SIG_SETMASK)),
    /* plat_wait blocks PLAT_SIG_WAKE around a wait that watches fds */
    RULE(HNR_rt_sigprocmask, CMP(0, SCMP_CMP_EQ, SIG_BLOCK)),
    R0(HNR_getpid),
    R0(HNR_gettid),
    RULE(HNR_tgkill, CMP(2, SCMP_CMP_EQ, PLAT_SIG_KICK)),
    /* plat_wake ends such a wait in any process of the sandbox */
    RULE(HNR_tgkill, CMP(2, SCMP_CMP_EQ, PLAT_SIG_WAKE)),
    /* plat_space_reap: any child, never blocking, no rusage */
    RULE(HNR_wait4, CMP(2, SCMP_CMP_EQ, WNOHANG | __WALL),
         CMP(3, SCMP_CMP_EQ, 0)),
    /* plat_timer_set: ITIMER_REAL, _VIRTUAL or _PROF, no old value */
    RULE(HNR_setitimer, CMP(0, SCMP_CMP_LE, 2), CMP(2, SCMP_CMP_EQ, 0)),
    /* waiting, time, entropy */
    RULE(HNR_futex, CMP(1, SCMP_CMP_EQ, FUTEX_WAIT)),
    RULE(HNR_futex, CMP(1, SCMP_CMP_EQ, FUTEX_WAKE)),
    RULE(HNR_clock_gettime, CMP(0, SCMP_CMP_LE, LINUX_CLOCK_THREAD_CPUTIME_ID)),
    /* the clocks of the CPU-time timers (plat_timer_set) */
    RULE(HNR_clock_gettime, CMP(0, SCMP_CMP_EQ, PLAT_HOST_CLOCK_VIRT)),
    RULE(HNR_clock_gettime, CMP(0, SCMP_CMP_EQ, PLAT_HOST_CLOCK_PROF)),
    RULE(HNR_getrandom, CMP(2, SCMP_CMP_EQ, 0)),
    /* hostfs: moat's own host fds (never the standard streams), names
     * relative to them, symlinks never followed, no set-id mode bits */
    RULE(HNR_openat, MASKED(2, O_NOFOLLOW, O_NOFOLLOW), NO_SETID(3)),
    R0(HNR_close),
    R0(HNR_pread64),
    R0(HNR_pwrite64),
    RULE(HNR_lseek, CMP(1, SCMP_CMP_EQ, 0), CMP(2, SCMP_CMP_EQ, SEEK_SET)),
    R0(HNR_getdents64),
    RULE(HNR_newfstatat, MASKED(3, AT_SYMLINK_NOFOLLOW, AT_SYMLINK_NOFOLLOW)),
    R0(HNR_readlinkat),
    RULE(HNR_mkdirat, NO_SETID(2)),
    /* a FIFO or a socket node, never a device, never set-id (hostfs) */
    RULE(HNR_mknodat, MASKED(2, S_IFMT | S_ISUID | S_ISGID, S_IFIFO),
         CMP(3, SCMP_CMP_EQ, 0)),
    RULE(HNR_mknodat, MASKED(2, S_IFMT | S_ISUID | S_ISGID, S_IFSOCK),
         CMP(3, SCMP_CMP_EQ, 0)),
    R0(HNR_symlinkat),
    RULE(HNR_unlinkat, MASKED(2, ~(uint64_t)AT_REMOVEDIR, 0)),
    RULE(HNR_renameat2,
         MASKED(4, ~(uint64_t)(LINUX_RENAME_NOREPLACE | LINUX_RENAME_EXCHANGE),
                0)),
    RULE(HNR_linkat, CMP(4, SCMP_CMP_EQ, 0)),
    RULE(HNR_fchmod, NO_SETID(1)),
    RULE(HNR_fchmodat, NO_SETID(2)),
    RULE(HNR_fchmodat2, NO_SETID(2), CMP(3, SCMP_CMP_EQ, AT_SYMLINK_NOFOLLOW)),
    RULE(HNR_utimensat, MASKED(3, ~(uint64_t)AT_SYMLINK_NOFOLLOW, 0)),
    R0(HNR_ftruncate),
    R0(HNR_fsync),
};

/* Host descriptor arguments, checked by the prefix before the allowlist
 * for a call from the gate: arguments whose bit is set in `args` must be
 * 3..INT_MAX as 64-bit values. Every hostfs call is here. */
static const struct {
  int nr;
  unsigned args;
} g_host_fd_args[] = {
    {HNR_openat, 1u << 0},
    {HNR_close, 1u << 0},
    {HNR_pread64, 1u << 0},
    {HNR_pwrite64, 1u << 0},
    {HNR_lseek, 1u << 0},
    {HNR_getdents64, 1u << 0},
    {HNR_newfstatat, 1u << 0},
    {HNR_readlinkat, 1u << 0},
    {HNR_mkdirat, 1u << 0},
    {HNR_mknodat, 1u << 0},
    {HNR_symlinkat, 1u << 1},
    {HNR_unlinkat, 1u << 0},
    {HNR_renameat2, 1u << 0 | 1u << 2},
    {HNR_linkat, 1u << 0 | 1u << 2},
    {HNR_fchmod, 1u << 0},
    {HNR_fchmodat, 1u << 0},
    {HNR_fchmodat2, 1u << 0},
    {HNR_utimensat, 1u << 0},
    {HNR_ftruncate, 1u << 0},
    {HNR_fsync, 1u << 0},
    {HNR_fchownat, 1u << 0},
    {HNR_splice, 1u << 0 | 1u << 2},
    {HNR_dup3, 1u << 0}, /* its new fd: pinned by every dup3 rule */
};

/* Only with a network grant (--allow-connect, --publish): the broker's
 * channel (its fd pinned exactly; set at build time) and the data path
 * of the host sockets it hands in, which are connected, so sendto and
 * recvfrom carry no address. Their fds are host fds (g_net_fd_args). */
#define NET_RULES 5
#define CONTROL_RULES 5
static void net_rules(struct rule *out, int ch) {
  struct rule r[NET_RULES] = {
      RULE(HNR_sendmsg, CMP(0, SCMP_CMP_EQ, ch),
           CMP(2, SCMP_CMP_EQ, MSG_NOSIGNAL)),
      RULE(HNR_recvmsg, CMP(0, SCMP_CMP_EQ, ch),
           CMP(2, SCMP_CMP_EQ, MSG_CMSG_CLOEXEC)),
      RULE(HNR_sendto, MASKED(3, ~(uint64_t)(MSG_DONTWAIT | MSG_NOSIGNAL), 0),
           CMP(4, SCMP_CMP_EQ, 0), CMP(5, SCMP_CMP_EQ, 0)),
      RULE(HNR_recvfrom, MASKED(3, ~(uint64_t)(MSG_DONTWAIT | MSG_PEEK), 0),
           CMP(4, SCMP_CMP_EQ, 0), CMP(5, SCMP_CMP_EQ, 0)),
      RULE(HNR_shutdown, CMP(1, SCMP_CMP_LE, 2)),
  };
  memcpy(out, r, sizeof(r));
}

static const struct {
  int nr;
  unsigned args;
} g_net_fd_args[] = {
    {HNR_sendto, 1u << 0},
    {HNR_recvfrom, 1u << 0},
    {HNR_shutdown, 1u << 0},
};

/* With the console the host's terminal is the runner's: of the terminal
 * requests only TCGETS and TIOCGWINSZ stay (plat_stdio_term). */
static bool rule_dropped(const struct rule *r) {
  return g_plat_console && r->nr == HNR_ioctl && r->nargs >= 2 &&
         r->args[1].datum_a != LINUX_TCGETS &&
         r->args[1].datum_a != LINUX_TIOCGWINSZ;
}

static bool net_granted(void) {
  return plat_linux_net_channel() >= 0;
}

/* fchownat (plat_host_setattr's PLAT_SET_OWNER): the owner and group each
 * the sandbox's own id (plat_hostfs_owner, in all 64 bits) or -1 (as a
 * 32-bit value: unchanged), the link itself, by name or by fd. Four rules,
 * as libseccomp takes one comparison per argument in a rule. What a
 * subverted guest could pass is then only what hostfs passes; the host
 * kernel's id maps would refuse any other id as well (docs/security.md). */
#define OWNER_RULES 4
static void owner_rules(struct rule *out) {
  uint32_t uid, gid;
  plat_hostfs_owner(&uid, &gid);
  const uint64_t keep = 0xffffffffu,
                 flags = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH;
  for (int i = 0; i < OWNER_RULES; i++) {
    struct rule r = RULE(HNR_fchownat, CMP(2, SCMP_CMP_EQ, i & 1 ? keep : uid),
                         CMP(3, SCMP_CMP_EQ, i & 2 ? keep : gid),
                         CMP(4, SCMP_CMP_EQ, flags));
    out[i] = r;
  }
}

/* The rules of the pool's pipe (export_allowlist). */
#define FILL_RULES 5

static int count_syscalls(void) {
  int n = 0;
  for (size_t i = 0; i < sizeof(g_rules) / sizeof(g_rules[0]); i++) {
    bool seen = false;
    for (size_t j = 0; j < i; j++)
      seen |= g_rules[j].nr == g_rules[i].nr;
    n += !seen;
  }
  int rd, wr;
  plat_linux_pool_pipe(&rd, &wr);
  bool ctl = plat_linux_control_fd() >= 0;
  return n + 1 /* fchownat */ + (rd >= 0 ? 3 : 0) /* splice, pipe2, dup3 */ +
         (net_granted() ? NET_RULES : 0) +
         (ctl && !net_granted() ? 2 : 0) /* sendmsg, recvmsg */ +
         (ctl && rd < 0 ? 1 : 0) /* dup3 */;
}

/* libseccomp writes its program to an fd; a memfd keeps it off disk. */
static int export_allowlist(struct sock_filter **out, size_t *out_len) {
  int err = 0, fd = -1;
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (!ctx)
    return -ENOMEM;
  err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  for (size_t i = 0; !err && i < sizeof(g_rules) / sizeof(g_rules[0]); i++)
    if (!rule_dropped(&g_rules[i]))
      err = seccomp_rule_add_array(ctx, ALLOW, g_rules[i].nr, g_rules[i].nargs,
                                   g_rules[i].args);
  if (!err && plat_linux_pool_fd() >= 0) {
    /* The page cache's pool (mem.c): mapped shared once, anywhere; its
     * descriptor only. Its private views at fixed places (plat_mem_view)
     * are the MAP_PRIVATE|MAP_FIXED form plat_host_map has. */
    int fd = plat_linux_pool_fd();
    struct rule pool =
        RULE(HNR_mmap, CMP(3, SCMP_CMP_EQ, MAP_SHARED | MAP_NORESERVE),
             CMP(4, SCMP_CMP_EQ, fd), CMP(5, SCMP_CMP_EQ, 0));
    err = seccomp_rule_add_array(ctx, ALLOW, pool.nr, pool.nargs, pool.args);
  }
  int rd, wr;
  plat_linux_pool_pipe(&rd, &wr);
  if (!err && rd >= 0) {
    /* Filling the pool from host files (mem.c, plat_linux_pool_fill): a
     * host file's pages into this process's pipe (at the file's offset,
     * none on the pipe's side), the pipe's into the pool's memfd (at an
     * offset, none on the pipe's side); a forked child's own pipe, made
     * and put at the same numbers. Both splice descriptors and dup3's
     * old one are host fds (g_host_fd_args); no flags anywhere. */
    int pool = plat_linux_pool_fd();
    struct rule fill[FILL_RULES] = {
        RULE(HNR_splice, CMP(2, SCMP_CMP_EQ, wr), CMP(3, SCMP_CMP_EQ, 0),
             CMP(5, SCMP_CMP_EQ, 0)),
        RULE(HNR_splice, CMP(0, SCMP_CMP_EQ, rd), CMP(1, SCMP_CMP_EQ, 0),
             CMP(2, SCMP_CMP_EQ, pool), CMP(5, SCMP_CMP_EQ, 0)),
        RULE(HNR_pipe2, CMP(1, SCMP_CMP_EQ, O_CLOEXEC)),
        RULE(HNR_dup3, CMP(1, SCMP_CMP_EQ, rd), CMP(2, SCMP_CMP_EQ, O_CLOEXEC)),
        RULE(HNR_dup3, CMP(1, SCMP_CMP_EQ, wr), CMP(2, SCMP_CMP_EQ, O_CLOEXEC)),
    };
    for (size_t i = 0; !err && i < FILL_RULES; i++)
      err = seccomp_rule_add_array(ctx, ALLOW, fill[i].nr, fill[i].nargs,
                                   fill[i].args);
  }
  if (!err) {
    struct rule own[OWNER_RULES];
    owner_rules(own);
    for (size_t i = 0; !err && i < OWNER_RULES; i++)
      err = seccomp_rule_add_array(ctx, ALLOW, own[i].nr, own[i].nargs,
                                   own[i].args);
  }
  if (!err && net_granted()) {
    struct rule net[NET_RULES];
    net_rules(net, plat_linux_net_channel());
    for (size_t i = 0; !err && i < NET_RULES; i++)
      err = seccomp_rule_add_array(ctx, ALLOW, net[i].nr, net[i].nargs,
                                   net[i].args);
  }
  if (!err && plat_linux_control_fd() >= 0) {
    /* An OCI container's control channel (control.c): its records, and
     * a descriptor the process holds put at 0, 1 or 2 (the standard
     * streams of a process started by exec; the old one is a host fd,
     * g_host_fd_args), no flags. */
    int ch = plat_linux_control_fd();
    struct rule ctl[CONTROL_RULES] = {
        RULE(HNR_sendmsg, CMP(0, SCMP_CMP_EQ, ch),
             CMP(2, SCMP_CMP_EQ, MSG_NOSIGNAL)),
        RULE(HNR_recvmsg, CMP(0, SCMP_CMP_EQ, ch),
             CMP(2, SCMP_CMP_EQ, MSG_CMSG_CLOEXEC)),
        RULE(HNR_dup3, CMP(1, SCMP_CMP_EQ, 0), CMP(2, SCMP_CMP_EQ, 0)),
        RULE(HNR_dup3, CMP(1, SCMP_CMP_EQ, 1), CMP(2, SCMP_CMP_EQ, 0)),
        RULE(HNR_dup3, CMP(1, SCMP_CMP_EQ, 2), CMP(2, SCMP_CMP_EQ, 0)),
    };
    for (size_t i = 0; !err && i < CONTROL_RULES; i++)
      err = seccomp_rule_add_array(ctx, ALLOW, ctl[i].nr, ctl[i].nargs,
                                   ctl[i].args);
  }
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

/* The prefix's second part: for a call from the gate whose number is in
 * g_host_fd_args, each marked argument must have its upper 33 bits clear
 * and be at least 3, else the process is killed. Falls through to the
 * allowlist. Writes nothing when out is NULL; returns the length. */
static size_t host_fd_checks(struct sock_filter *out) {
  struct {
    int nr;
    unsigned args;
  } all[sizeof(g_host_fd_args) / sizeof(g_host_fd_args[0]) +
        sizeof(g_net_fd_args) / sizeof(g_net_fd_args[0])];
  size_t nall = 0;
  for (size_t i = 0; i < sizeof(g_host_fd_args) / sizeof(g_host_fd_args[0]);
       i++, nall++) {
    all[nall].nr = g_host_fd_args[i].nr;
    all[nall].args = g_host_fd_args[i].args;
  }
  for (size_t i = 0;
       net_granted() && i < sizeof(g_net_fd_args) / sizeof(g_net_fd_args[0]);
       i++, nall++) {
    all[nall].nr = g_net_fd_args[i].nr;
    all[nall].args = g_net_fd_args[i].args;
  }
  size_t n = 0, total = 0;
  for (int pass = 0; pass < 2; pass++) {
    n = 0;
#define EMIT(insn)                                                             \
  do {                                                                         \
    if (pass && out)                                                           \
      out[n] = (struct sock_filter)insn;                                       \
    n++;                                                                       \
  } while (0)
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
    for (size_t i = 0; i < nall; i++) {
      unsigned nargs = (unsigned)__builtin_popcount(all[i].args);
      /* body: 5 per argument, then the jump out and the kill */
      uint8_t body = (uint8_t)(5 * nargs + 2);
      EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)all[i].nr, 0, body));
      for (unsigned a = 0, k = 0; a < 6; a++) {
        if (!(all[i].args & (1u << a)))
          continue;
        uint32_t lo = (uint32_t)(offsetof(struct seccomp_data, args) + 8 * a);
        /* instructions left before this entry's kill, after each jump */
        uint8_t left = (uint8_t)(5 * (nargs - k) + 1);
        EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, lo + 4));
        EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, (uint8_t)(left - 2)));
        EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, lo));
        EMIT(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x80000000u,
                      (uint8_t)(left - 4), 0));
        EMIT(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 3, 0, (uint8_t)(left - 5)));
        k++;
      }
      /* checked: on to the allowlist */
      EMIT(BPF_STMT(BPF_JMP | BPF_JA | BPF_K, (uint32_t)(total - n - 1)));
      EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
    }
#undef EMIT
    total = n;
  }
  return total;
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
  size_t flen = host_fd_checks(NULL);
  if (plen + flen + lib_len > BPF_MAXINSNS) {
    free(lib);
    return -E2BIG;
  }
  struct sock_filter *all = malloc((plen + flen + lib_len) * sizeof(*all));
  if (!all) {
    free(lib);
    return -ENOMEM;
  }
  memcpy(all, prefix, sizeof(prefix));
  host_fd_checks(all + plen);
  memcpy(all + plen + flen, lib, lib_len * sizeof(*lib));
  free(lib);
  *out = all;
  *out_rules = count_syscalls();
  return (int)(plen + flen + lib_len);
}
