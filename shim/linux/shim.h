/* Internal interface of the Linux North shim: the handler signature, the
 * argument types of the syscall table, guest-memory helpers, and the
 * pieces the topic files share (signal delivery, strace, stats). Nothing
 * outside shim/linux includes this. */
#ifndef MOAT_SHIM_LINUX_SHIM_H
#define MOAT_SHIM_LINUX_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moat/linux_abi.h"
#include "moat/moat.h"
#include "moat/regs.h"
#include "rt.h"

/* How strace prints an argument (and how the doc lists it). */
enum shim_arg_type {
  T_NONE = 0,
  T_INT,       /* signed decimal */
  T_UINT,      /* unsigned decimal */
  T_HEX,       /* 0x... */
  T_PTR,       /* NULL or 0x... */
  T_SIZE,      /* unsigned decimal */
  T_OFF,       /* signed 64-bit decimal */
  T_FD,        /* int */
  T_DIRFD,     /* int, AT_FDCWD by name */
  T_PATH,      /* NUL-terminated guest string */
  T_STR,       /* the same, not a path */
  T_INBUF,     /* guest bytes the call reads; length is the next argument */
  T_OUTBUF,    /* guest bytes the call fills; length is the result */
  T_OUTSTR,    /* a string the call fills; length is the result */
  T_OFLAGS,    /* O_* */
  T_MODE,      /* octal */
  T_ATFLAGS,   /* AT_* */
  T_ACCMODE,   /* F_OK, R_OK|W_OK|X_OK */
  T_PROT,      /* PROT_* */
  T_MMAPFL,    /* MAP_* */
  T_SIG,       /* SIGxxx */
  T_SIGHOW,    /* SIG_BLOCK ... */
  T_CLOCK,     /* CLOCK_* */
  T_WHENCE,    /* SEEK_* */
  T_FCNTL,     /* F_* */
  T_IOCTL,     /* TCGETS ... */
  T_RLIMIT,    /* RLIMIT_* */
  T_ARCHPRCTL, /* ARCH_* */
  T_TIMESPEC,  /* {tv_sec=..., tv_nsec=...} */
  T_OUTSTAT,   /* struct stat the call fills */
  T_SIGSET,    /* [USR1 TERM] */
  T_OUTSIGSET, /* the same, filled by the call */
  T_SIGACTION, /* {sa_handler=..., sa_mask=[...], sa_flags=...} */
  T_OUTSIGACTION,
};

#define SHIM_MAX_ARGS 6

/* A handler receives the registers (to read or rewrite them) and the six
 * raw arguments; it returns the value for rax (a negative errno on
 * failure). */
#define SYSARGS                                                                \
  struct moat_regs *regs, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,  \
      uint64_t a4, uint64_t a5

#define SYS(nr, name, status, args) long sys_##name(SYSARGS);
#define NOSYS(nr, name, args)
#include "syscall_table.h"
#undef SYS
#undef NOSYS

/* The syscall numbers the shim itself needs by value. */
#define SHIM_NR_RT_SIGRETURN 15
#define SHIM_NR_EXECVE 59
#define SHIM_NR_EXIT 60
#define SHIM_NR_EXIT_GROUP 231
#define SHIM_NR_MAX 463

/* ---- guest memory ----------------------------------------------------
 * The guest shares our address space, so after moat_user_ok() a guest
 * pointer can be used directly. These copy whole objects in and out so a
 * handler never keeps a guest pointer across a core call. */
int user_read(void *dst, uint64_t src, size_t len);
int user_write(uint64_t dst, const void *src, size_t len);
/* A guest path into buf (LINUX_PATH_MAX bytes): 0, -EFAULT or
 * -ENAMETOOLONG. */
int user_path(char *buf, uint64_t guest);
/* A guest buffer that the call reads (prot READ) or fills (WRITE); a
 * zero length is always fine. */
bool user_buf_ok(uint64_t addr, size_t len, int prot);

/* Copy and check a guest iovec array of cnt entries (at most 1024, else
 * -EINVAL) whose buffers the call reads (prot LINUX_PROT_READ) or fills
 * (LINUX_PROT_WRITE); *out is kmalloc'd (NULL for 0). A bad buffer is
 * -EFAULT, or -EBADF when fd is not open. (sys_fs.c) */
struct linux_iovec;
long shim_iov_import(int fd, uint64_t guest, int64_t cnt, int prot,
                     struct linux_iovec **out);

/* The core reports a wait cut short by a signal as -EINTR. For the calls
 * Linux restarts under SA_RESTART (reads, writes, ioctl, opening a fifo,
 * untimed futex waits), the shim turns that into -ERESTARTSYS; signal
 * delivery then restarts the call or makes it -EINTR. */
static inline long restartable(long ret) {
  if (ret == -MOAT_EINTR_TIMED)
    return -LINUX_EINTR;
  return ret == -LINUX_EINTR ? -LINUX_ERESTARTSYS : ret;
}

/* ---- signals (sys_signal.c) ------------------------------------------ */
/* Deliver every pending unblocked signal: run default actions or build
 * frames. syscall_nr is the syscall that just ran (its result is in
 * regs->rax; a kernel restart code there becomes a restart or -EINTR), or
 * -1 after a fault or rt_sigreturn. */
void shim_deliver_signals(struct moat_regs *regs, long syscall_nr);
/* Run the rest of this syscall under mask (ppoll, pselect6): the caller's
 * mask comes back after signal delivery, through the handler's frame if
 * one runs. */
void shim_sigmask_swap(uint64_t mask);
/* The optional guest sigmask argument of ppoll, pselect6 and epoll_pwait:
 * nothing when gmask is 0, else its 8 bytes go to shim_sigmask_swap.
 * -EINVAL for another size, -EFAULT. (sys_poll.c) */
long shim_sigmask_arg(uint64_t gmask, uint64_t size);
/* An optional guest timespec timeout in ns (-1 when gts is 0): -EFAULT,
 * -EINVAL for a negative or unnormalised one. (sys_poll.c) */
long shim_timeout_arg(uint64_t gts, int64_t *out);
/* Build the strace/stats table and end: death by signal sig. */
_Noreturn void shim_die_of_signal(int sig);

/* ---- strace and stats (strace.c, syscall.c) -------------------------- */
enum {
  STRACE_DONE,       /* after the call: the whole line with its result */
  STRACE_NORETURN,   /* before a call that never returns: "= ?" */
  STRACE_UNFINISHED, /* before a call whose arguments will be gone */
  STRACE_RESUMED,    /* after it: "<... name resumed>) = result" */
};
void shim_strace_call(int nr, const uint64_t args[SHIM_MAX_ARGS], long ret,
                      int phase);
const char *shim_syscall_name(long nr);
/* The argument types of syscall nr; returns how many it takes, or -1 for
 * a number Linux does not assign. */
int shim_syscall_args(long nr, uint8_t out[SHIM_MAX_ARGS]);
/* Print the --stats table of guest syscalls (once). */
void shim_stats_print(void);
/* The errno's symbolic name ("ENOENT") and text, for strace and messages. */
const char *shim_errno_name(int err);
const char *shim_errno_text(int err);
/* "SIGSEGV", "SIGRT_3" ... */
const char *shim_signal_name(int sig);

/* ---- exec (start.c) -------------------------------------------------
 * Two steps so that execve can fail cleanly: prepare resolves "#!"
 * interpreters (rewriting *args, *nargs) and checks the ELF files without
 * touching the address space; load maps the image into an empty guest
 * window, builds the stack and sets regs for the first instruction. Both
 * work in one exec's own state (shim_exec_new; NULL without memory),
 * which *args may point into until shim_exec_free. */
struct shim_exec;
struct shim_exec *shim_exec_new(void);
void shim_exec_free(struct shim_exec *x);
int shim_exec_prepare(struct shim_exec *x, const char *path,
                      const char *const **args, int *nargs, char *why,
                      size_t whylen);
int shim_exec_load(struct shim_exec *x, int nargs, const char *const *args,
                   const char *const *envp, struct moat_regs *regs, char *why,
                   size_t whylen);

/* ---- task state kept by the shim ------------------------------------- */
/* The task's name for PR_GET_NAME, set from the program's file name. */

/* sys_netlink.c: AF_NETLINK sockets and the SIOCGIF* ioctls. sys_net.c
 * passes every call on a netlink socket here (NETLINK_HOOK). */
long netlink_socket(int type, int protocol);
bool netlink_fd(uint64_t fd);
long netlink_sendto(SYSARGS);
long netlink_recvfrom(SYSARGS);
long netlink_sendmsg(SYSARGS);
long netlink_recvmsg(SYSARGS);
long netlink_bind(SYSARGS);
long netlink_connect(SYSARGS);
long netlink_name(SYSARGS, bool peer);
long netlink_unsupported(int fd);
long netif_ioctl(int fd, unsigned request, uint64_t arg);
#define NETLINK_HOOK(call)                                                     \
  do {                                                                         \
    if (netlink_fd(a0))                                                        \
      return call;                                                             \
  } while (0)

/* Make regs->fpstate the guest's FPU state before it is read or written:
 * a platform that left it in the registers (fpstate_lazy) gets it saved
 * now, with XSAVE (the shim, the core and the platform use no FPU or
 * vector register, so the registers still hold the guest's), and loads
 * the area back when it resumes the guest. */
static inline void shim_fpstate_ready(struct moat_regs *regs) {
  if (!regs->fpstate_lazy || !regs->fpstate)
    return;
  __asm__ volatile("xsave64 (%0)" ::"r"(regs->fpstate), "a"(-1), "d"(-1)
                   : "memory");
  regs->fpstate_lazy = 0;
}

#endif
