/* Processes and threads of the Linux shim: fork, vfork, clone, clone3,
 * exit and exit_group, wait4 and waitid, process groups and sessions,
 * futex and the robust-list calls, set_tid_address, rt_sigqueueinfo, and
 * the north_interrupt upcall (a running thread kicked to take its
 * signals). The state lives in the core (core/task.c, core/futex.c);
 * this file decodes the ABI. docs/processes.md describes the model. */
#include "moat/platform.h"
#include "shim.h"

#define CLONE_NAMESPACES                                                       \
  (LINUX_CLONE_NEWNS | LINUX_CLONE_NEWCGROUP | LINUX_CLONE_NEWUTS |            \
   LINUX_CLONE_NEWIPC | LINUX_CLONE_NEWUSER | LINUX_CLONE_NEWPID |             \
   LINUX_CLONE_NEWNET)

#define WNOHANG 1
#define WUNTRACED 2
#define WEXITED 4
#define WCONTINUED 8
#define WNOWAIT 0x01000000
#define WALL_FLAGS 0xe0000000u /* __WNOTHREAD __WALL __WCLONE */

/* The highest valid user-space address + 1 (a thread pointer beyond it is
 * refused as Linux does). */
#define TASK_SIZE_MAX 0x7ffffffff000ull

void north_interrupt(struct moat_regs *regs) {
  /* Another process reading /proc/<pid>/stat may have kicked us for our
   * CPU time (core/task.c, task_proc_cpu_ns). */
  moat_interrupted();
  shim_deliver_signals(regs, -1);
}

/* Everything clone and clone3 share. stack/tls/ptid/ctid are guest
 * values, checked here. */
/* LINUX_CLONE_PIDFD: the parent's pidfd of the child (Linux makes it after
 * the child's copy of the descriptors, so the child has none), written
 * where the caller asked. */
static long clone_pidfd(long pid, uint64_t flags, uint64_t pidfd_addr) {
  if (pid <= 0 || !(flags & LINUX_CLONE_PIDFD))
    return pid;
  int32_t fd = moat_pidfd_open((int)pid, 0);
  if (fd >= 0)
    user_write(pidfd_addr, &fd, 4);
  return pid;
}

static long do_clone(struct moat_regs *regs, uint64_t flags, uint64_t stack,
                     uint64_t ptid, uint64_t ctid, uint64_t tls,
                     uint64_t pidfd_addr) {
  uint64_t exit_signal = flags & 0xff;
  if (flags & CLONE_NAMESPACES)
    return -LINUX_EPERM; /* no namespaces inside the sandbox */
  if (flags & LINUX_CLONE_PIDFD) {
    if (flags & (LINUX_CLONE_THREAD | LINUX_CLONE_DETACHED))
      return -LINUX_EINVAL;
    if (!user_buf_ok(pidfd_addr, 4, LINUX_PROT_WRITE))
      return -LINUX_EFAULT;
  }
  if ((flags & LINUX_CLONE_SIGHAND) && !(flags & LINUX_CLONE_VM))
    return -LINUX_EINVAL;
  if ((flags & LINUX_CLONE_THREAD) && !(flags & LINUX_CLONE_SIGHAND))
    return -LINUX_EINVAL;
  if ((flags & LINUX_CLONE_SETTLS) && tls >= TASK_SIZE_MAX)
    return -LINUX_EPERM;
  if (flags & LINUX_CLONE_THREAD) {
    /* A thread: the whole guest address space is shared (one host
     * process), so LINUX_CLONE_VM|LINUX_CLONE_THREAD is the only shape that
     * works. */
    if (!(flags & LINUX_CLONE_VM) || !(flags & LINUX_CLONE_FILES) ||
        !(flags & LINUX_CLONE_FS))
      return -LINUX_EINVAL;
    if ((flags & LINUX_CLONE_PARENT_SETTID) &&
        !user_buf_ok(ptid, 4, LINUX_PROT_WRITE))
      return -LINUX_EFAULT;
    if ((flags & (LINUX_CLONE_CHILD_SETTID | LINUX_CLONE_CHILD_CLEARTID)) &&
        !user_buf_ok(ctid, 4, LINUX_PROT_WRITE))
      return -LINUX_EFAULT;
    struct moat_regs child = *regs;
    child.rax = 0;
    if (stack)
      child.rsp = stack;
    if (flags & LINUX_CLONE_SETTLS)
      child.fs_base = tls;
    struct moat_thread_start start = {
        .tid_at = {flags & LINUX_CLONE_PARENT_SETTID ? ptid : 0,
                   flags & LINUX_CLONE_CHILD_SETTID ? ctid : 0},
        .clear_at = flags & LINUX_CLONE_CHILD_CLEARTID ? ctid : 0};
    return moat_clone_thread(&child, &start);
  }
  /* A new process. With LINUX_CLONE_VM|LINUX_CLONE_VFORK (posix_spawn) the
   * child shares the parent's memory until it execs, as on Linux;
   * LINUX_CLONE_VM alone gets a copy of the address space (each guest process
   * is a host process), running on the stack it was given. */
  if (exit_signal != LINUX_SIGCHLD && exit_signal != 0 &&
      exit_signal > LINUX_NSIG)
    return -LINUX_EINVAL;
  if ((flags & LINUX_CLONE_PARENT_SETTID) &&
      !user_buf_ok(ptid, 4, LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  bool vfork = (flags & LINUX_CLONE_VFORK) != 0;
  if (vfork && (flags & LINUX_CLONE_VM)) {
    /* posix_spawn's shape: the child runs on the parent's memory (as a
     * thread of this host process) until it execs. */
    struct moat_regs child = *regs;
    child.rax = 0;
    if (stack)
      child.rsp = stack;
    if (flags & LINUX_CLONE_SETTLS)
      child.fs_base = tls;
    int pid = moat_vfork_thread(&child);
    if (pid > 0 && (flags & LINUX_CLONE_PARENT_SETTID)) {
      int32_t v = pid;
      user_write(ptid, &v, 4);
    }
    return clone_pidfd(pid, flags, pidfd_addr);
  }
  int pid = moat_fork(vfork ? MOAT_FORK_VFORK : 0);
  if (pid < 0)
    return pid;
  if (pid == 0) {
    /* The child, in its own copy of memory. */
    if (stack)
      regs->rsp = stack;
    if (flags & LINUX_CLONE_SETTLS)
      regs->fs_base = tls;
    if (flags & LINUX_CLONE_CHILD_SETTID) {
      int32_t me = moat_gettid();
      user_write(ctid, &me, 4);
    }
    if (flags & LINUX_CLONE_CHILD_CLEARTID)
      moat_set_tid_address(ctid);
    if (flags & LINUX_CLONE_PARENT_SETTID) {
      int32_t me = moat_gettid();
      user_write(ptid, &me, 4);
    }
    return 0;
  }
  if (flags & LINUX_CLONE_PARENT_SETTID) {
    int32_t child = pid;
    user_write(ptid, &child, 4);
  }
  return clone_pidfd(pid, flags, pidfd_addr);
}

long sys_fork(SYSARGS) {
  return moat_fork(0);
}

long sys_vfork(SYSARGS) {
  struct moat_regs child = *regs;
  child.rax = 0;
  return moat_vfork_thread(&child);
}

/* x86-64 argument order: flags, stack, parent_tid, child_tid, tls. */
long sys_clone(SYSARGS) {
  /* The pidfd goes where the parent's tid would: not both. */
  if ((a0 & LINUX_CLONE_PIDFD) && (a0 & LINUX_CLONE_PARENT_SETTID))
    return -LINUX_EINVAL;
  return do_clone(regs, a0, a1, a2, a3, a4, a2);
}

struct clone_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
      tls, set_tid, set_tid_size, cgroup;
};

long sys_clone3(SYSARGS) {
  struct clone_args ca;
  memset(&ca, 0, sizeof(ca));
  /* Linux's copy_struct_from_user: older (shorter) structs are
   * zero-extended, a newer one must be zero past what we know (E2BIG),
   * and no struct is larger than a page. */
  if (a1 > 4096)
    return -LINUX_E2BIG;
  if (a1 < 64)
    return -LINUX_EINVAL;
  if (user_read(&ca, a0, MIN((size_t)a1, sizeof(ca))) < 0)
    return -LINUX_EFAULT;
  for (size_t at = sizeof(ca); at < a1;) {
    uint8_t tail[128];
    size_t n = MIN(sizeof(tail), (size_t)a1 - at);
    if (user_read(tail, a0 + at, n) < 0)
      return -LINUX_EFAULT;
    for (size_t i = 0; i < n; i++)
      if (tail[i])
        return -LINUX_E2BIG;
    at += n;
  }
  if (ca.flags & ~0xffffffffull) /* CLONE_CLEAR_SIGHAND, INTO_CGROUP */
    return -LINUX_EINVAL;
  if ((ca.flags & 0xff) || ca.exit_signal > LINUX_NSIG)
    return -LINUX_EINVAL;
  if (ca.set_tid || ca.set_tid_size)
    return -LINUX_EINVAL;
  if ((ca.stack == 0) != (ca.stack_size == 0))
    return -LINUX_EINVAL;
  uint64_t top = ca.stack ? ca.stack + ca.stack_size : 0;
  return do_clone(regs, ca.flags | ca.exit_signal, top, ca.parent_tid,
                  ca.child_tid, ca.tls, ca.pidfd);
}

static void trace_exit(int status) {
  const struct moat_config *cfg = moat_config();
  if (cfg && cfg->strace)
    moat_log("+++ exited with %d +++\n", status & 0xff);
}

long sys_exit(SYSARGS) {
  /* Only this thread; the last one ends the process. */
  moat_exit_thread((int)a0 & 0xff);
}

long sys_exit_group(SYSARGS) {
  trace_exit((int)a0);
  shim_stats_print();
  moat_exit_group((int)a0 & 0xff);
}

/* ---- wait ---- */

struct shim_rusage {
  int64_t words[18]; /* utime, stime (timevals), then 14 counters */
};

/* The child's CPU time, split into user and system time as getrusage
 * splits it; the counters stay zero. */
static void fill_rusage(struct shim_rusage *ru,
                        const struct moat_wait_info *in) {
  memset(ru, 0, sizeof(*ru));
  if (!in || in->cpu_ns <= 0)
    return;
  int64_t sys = in->cpu_sys_ns < 0            ? 0
                : in->cpu_sys_ns > in->cpu_ns ? in->cpu_ns
                                              : in->cpu_sys_ns;
  int64_t user = in->cpu_ns - sys;
  ru->words[0] = user / 1000000000;
  ru->words[1] = user % 1000000000 / 1000;
  ru->words[2] = sys / 1000000000;
  ru->words[3] = sys % 1000000000 / 1000;
}

long sys_wait4(SYSARGS) {
  int pid = (int)a0, options = (int)a2;
  struct moat_wait_info info;
  if ((unsigned)options & ~(WNOHANG | WUNTRACED | WCONTINUED | WALL_FLAGS))
    return -LINUX_EINVAL;
  if (pid == INT32_MIN)
    return -LINUX_ESRCH;
  int idtype = MOAT_P_ALL, id = 0;
  if (pid > 0) {
    idtype = MOAT_P_PID;
    id = pid;
  } else if (pid == 0) {
    idtype = MOAT_P_PGID;
    id = moat_getpgid(0);
  } else if (pid < -1) {
    idtype = MOAT_P_PGID;
    id = -pid;
  }
  int r = moat_wait(idtype, id, (options & ~WALL_FLAGS) | WEXITED, &info);
  if (r == -LINUX_EINTR)
    return -LINUX_ERESTARTSYS;
  if (r <= 0)
    return r;
  /* As Linux: the child is reaped first, a bad pointer is EFAULT after. */
  int32_t st = info.status;
  if (a1 && user_write(a1, &st, 4) < 0)
    return -LINUX_EFAULT;
  if (a3) {
    struct shim_rusage ru;
    fill_rusage(&ru, &info);
    if (user_write(a3, &ru, sizeof(ru)) < 0)
      return -LINUX_EFAULT;
  }
  return r;
}

long sys_waitid(SYSARGS) {
  int idtype = (int)a0, id = (int)a1;
  unsigned options = (unsigned)a3;
  struct moat_wait_info info;
  if (idtype < 0 || idtype > 3) /* P_ALL P_PID P_PGID P_PIDFD */
    return -LINUX_EINVAL;
  bool pidfd_nonblock = false;
  if (options &
      ~(WNOHANG | WUNTRACED | WEXITED | WCONTINUED | WNOWAIT | WALL_FLAGS))
    return -LINUX_EINVAL;
  if (!(options & (WUNTRACED | WEXITED | WCONTINUED)))
    return -LINUX_EINVAL;
  if (idtype == MOAT_P_PGID && id == 0)
    id = moat_getpgid(0);
  if (idtype == 3) { /* P_PIDFD: its process, which must be a child */
    int pid = moat_pidfd_pid(id, &pidfd_nonblock);
    if (pid < 0)
      return pid;
    idtype = MOAT_P_PID;
    id = pid;
    if (pidfd_nonblock)
      options |= WNOHANG;
  }
  int r = moat_wait(idtype, id, (int)(options & ~WALL_FLAGS), &info);
  /* A non-blocking pidfd of a child that has not changed state: EAGAIN
   * unless WNOHANG was asked for (Linux 5.10). */
  if (r == 0 && pidfd_nonblock && !((unsigned)a3 & WNOHANG))
    return -LINUX_EAGAIN;
  if (r == -LINUX_EINTR)
    return -LINUX_ERESTARTSYS;
  if (r < 0)
    return r;
  if (a2) {
    struct linux_siginfo si;
    memset(&si, 0, sizeof(si));
    if (r > 0) {
      si.si_signo = LINUX_SIGCHLD;
      si.si_code = info.code;
      si.u.kill.pid = info.pid;
      si.u.kill.uid = info.uid;
      si.u.kill.status = info.value;
    }
    /* As Linux: after the wait (a reaped child stays reaped). */
    if (user_write(a2, &si, sizeof(si)) < 0)
      return -LINUX_EFAULT;
  }
  if (a4) {
    struct shim_rusage ru;
    fill_rusage(&ru, r > 0 ? &info : NULL);
    if (user_write(a4, &ru, sizeof(ru)) < 0)
      return -LINUX_EFAULT;
  }
  return 0;
}

/* ---- process groups and sessions ---- */

long sys_getpgrp(SYSARGS) {
  return moat_getpgid(0);
}

long sys_getpgid(SYSARGS) {
  return moat_getpgid((int)a0);
}

long sys_getsid(SYSARGS) {
  return moat_getsid((int)a0);
}

long sys_setpgid(SYSARGS) {
  return moat_setpgid((int)a0, (int)a1);
}

long sys_setsid(SYSARGS) {
  return moat_setsid();
}

/* ---- threads: tid address, robust lists, futex ---- */

long sys_set_tid_address(SYSARGS) {
  return moat_set_tid_address(a0);
}

long sys_set_robust_list(SYSARGS) {
  return moat_set_robust_list(a0, a1);
}

long sys_get_robust_list(SYSARGS) {
  uint64_t head = 0, len = 0;
  int r = moat_get_robust_list((int)a0, &head, &len);
  if (r < 0)
    return r;
  if (user_write(a1, &head, 8) < 0 || user_write(a2, &len, 8) < 0)
    return -LINUX_EFAULT;
  return 0;
}

/* futex(2): the multiplexer, decoded into the core's operations. */
long sys_futex(SYSARGS) {
  int op = (int)a1, cmd = op & LINUX_FUTEX_CMD_MASK;
  bool shared = !(op & LINUX_FUTEX_PRIVATE);
  uint32_t val = (uint32_t)a2, val3 = (uint32_t)a5;
  bool wait = cmd == LINUX_FUTEX_WAIT || cmd == LINUX_FUTEX_WAIT_BITSET;
  struct linux_timespec ts;
  if (wait && a3 && user_read(&ts, a3, sizeof(ts)) < 0)
    return -LINUX_EFAULT;
  if (a0 & 3)
    return -LINUX_EINVAL;
  if ((op & LINUX_FUTEX_CLOCK_REALTIME) && !wait)
    return -LINUX_ENOSYS;
  switch (cmd) {
  case LINUX_FUTEX_WAIT:
  case LINUX_FUTEX_WAIT_BITSET: {
    uint32_t bitset = cmd == LINUX_FUTEX_WAIT ? ~0u : val3;
    int clock = (op & LINUX_FUTEX_CLOCK_REALTIME) ? LINUX_CLOCK_REALTIME
                                                  : LINUX_CLOCK_MONOTONIC;
    int64_t deadline = -1;
    if (!bitset)
      return -LINUX_EINVAL;
    if (a3) {
      if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
        return -LINUX_EINVAL;
      int64_t ns = ts.tv_sec > INT64_MAX / 1000000000 - 1
                       ? INT64_MAX / 2
                       : ts.tv_sec * 1000000000 + ts.tv_nsec;
      if (cmd == LINUX_FUTEX_WAIT) { /* relative, always monotonic */
        struct linux_timespec now;
        moat_clock_gettime(LINUX_CLOCK_MONOTONIC, &now);
        deadline = now.tv_sec * 1000000000 + now.tv_nsec + ns;
        clock = LINUX_CLOCK_MONOTONIC;
      } else {
        deadline = ns;
      }
    }
    long r = moat_futex_wait(a0, val, shared, deadline, clock, bitset);
    /* Linux restarts an untimed wait; a timed one reports EINTR. */
    return a3 ? r : restartable(r);
  }
  case LINUX_FUTEX_WAKE:
  case LINUX_FUTEX_WAKE_BITSET:
    return moat_futex_wake(a0, shared, (int)MIN(val, 0x7fffffffu),
                           cmd == LINUX_FUTEX_WAKE ? ~0u : val3);
  /* REQUEUE, CMP_REQUEUE, WAKE_OP carry a count in the timeout slot. */
  case LINUX_FUTEX_REQUEUE:
  case LINUX_FUTEX_CMP_REQUEUE:
    return moat_futex_requeue(a0, a4, shared, (int)val, (int)a3,
                              cmd == LINUX_FUTEX_CMP_REQUEUE, val3);
  case LINUX_FUTEX_WAKE_OP:
    return moat_futex_wake_op(a0, a4, shared, (int)val, (int)a3, val3);
  default:
    return -LINUX_ENOSYS;
  }
}

/* futex_waitv: struct futex_waitv {u64 val, uaddr; u32 flags, reserved}
 * per word, checked in Linux's order; only 32-bit words (LINUX_FUTEX2_SIZE_U32,
 * optionally LINUX_FUTEX2_PRIVATE), as Linux. The timeout is absolute. */
#define FUTEX_WAITV_MAX 128

long sys_futex_waitv(SYSARGS) {
  struct {
    uint64_t val, uaddr;
    uint32_t flags, reserved;
  } w;
  unsigned n = (unsigned)a1;
  if (a2)
    return -LINUX_EINVAL;
  if (!a0 || !n || n > FUTEX_WAITV_MAX)
    return -LINUX_EINVAL;
  int64_t deadline = -1;
  int clock = (int)a4;
  if (a3) {
    if (clock != LINUX_CLOCK_REALTIME && clock != LINUX_CLOCK_MONOTONIC)
      return -LINUX_EINVAL;
    struct linux_timespec ts;
    if (user_read(&ts, a3, sizeof(ts)) < 0)
      return -LINUX_EFAULT;
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
      return -LINUX_EINVAL;
    deadline = ts.tv_sec > INT64_MAX / 1000000000 - 1
                   ? INT64_MAX / 2
                   : ts.tv_sec * 1000000000 + ts.tv_nsec;
  }
  struct moat_futex_waiter *ws = kmalloc(sizeof(*ws) * n);
  if (!ws)
    return -LINUX_ENOMEM;
  long r = 0;
  for (unsigned i = 0; i < n && !r; i++) {
    if (user_read(&w, a0 + (uint64_t)i * sizeof(w), sizeof(w)) < 0)
      r = -LINUX_EFAULT;
    else if ((w.flags & ~(LINUX_FUTEX2_SIZE_MASK | LINUX_FUTEX2_NUMA |
                          LINUX_FUTEX2_PRIVATE)) ||
             w.reserved ||
             (w.flags & LINUX_FUTEX2_SIZE_MASK) != LINUX_FUTEX2_SIZE_U32 ||
             (w.flags & LINUX_FUTEX2_NUMA) || w.val > 0xffffffffull ||
             (w.uaddr & 3))
      r = -LINUX_EINVAL;
    ws[i].uaddr = w.uaddr;
    ws[i].val = (uint32_t)w.val;
    ws[i].private_key = w.flags & LINUX_FUTEX2_PRIVATE;
  }
  if (!r)
    r = moat_futex_waitv(ws, (int)n, deadline, clock);
  kfree(ws);
  return r == -LINUX_EINTR ? -LINUX_ERESTARTSYS : r;
}

/* ---- signals to other processes with a chosen siginfo ---- */

static long queueinfo(int tgid, int tid, int sig, uint64_t uinfo) {
  struct linux_siginfo info;
  if (user_read(&info, uinfo, sizeof(info)) < 0)
    return -LINUX_EFAULT;
  if (sig < 0 || sig > LINUX_NSIG)
    return -LINUX_EINVAL;
  /* Only the kernel may claim SI_USER or positive codes for another
   * process (as Linux: EPERM). */
  if ((info.si_code >= 0 || info.si_code == LINUX_SI_TKILL) &&
      tgid != moat_getpid())
    return -LINUX_EPERM;
  info.si_signo = sig;
  return moat_sigqueue(tgid, tid, &info);
}

/* ---- pidfds (core/pidfd.c) ---- */

long sys_pidfd_open(SYSARGS) {
  return moat_pidfd_open((int)a0, (unsigned)a1);
}

long sys_pidfd_send_signal(SYSARGS) {
  struct linux_siginfo info;
  if (((unsigned)a3 & ~7u) || ((unsigned)a3 & ((unsigned)a3 - 1)))
    return -LINUX_EINVAL; /* before the fd, as Linux */
  if (a2 && user_read(&info, a2, sizeof(info)) < 0)
    return -LINUX_EFAULT;
  return moat_pidfd_send_signal((int)a0, (int)a1, a2 ? &info : NULL,
                                (unsigned)a3);
}

long sys_pidfd_getfd(SYSARGS) {
  return moat_pidfd_getfd((int)a0, (int)a1, (unsigned)a2);
}

long sys_kcmp(SYSARGS) {
  struct moat_kcmp_slot slot;
  bool have =
      (int)a2 == MOAT_KCMP_EPOLL_TFD && user_read(&slot, a4, sizeof(slot)) >= 0;
  return moat_kcmp((int)a0, (int)a1, (int)a2, (int)a3, (int)a4,
                   have ? &slot : NULL);
}

long sys_rt_sigqueueinfo(SYSARGS) {
  return queueinfo((int)a0, 0, (int)a1, a2);
}

long sys_rt_tgsigqueueinfo(SYSARGS) {
  if ((int)a0 <= 0 || (int)a1 <= 0)
    return -LINUX_EINVAL;
  return queueinfo((int)a0, (int)a1, (int)a2, a3);
}

/* ---- the interval timers (setitimer, getitimer, alarm) ---- */

#define ITIMER_REAL 0
#define ITIMER_VIRTUAL 1
#define ITIMER_PROF 2

static int64_t tv_to_ns(const struct linux_timeval *tv) {
  if (tv->tv_sec > INT64_MAX / 1000000000 - 1)
    return INT64_MAX / 2;
  return tv->tv_sec * 1000000000 + tv->tv_usec * 1000;
}

/* Linux rounds a remaining time up to whole microseconds. */
static void ns_to_tv(int64_t ns, struct linux_timeval *tv) {
  int64_t us = (ns + 999) / 1000;
  tv->tv_sec = us / 1000000;
  tv->tv_usec = us % 1000000;
}

long sys_getitimer(SYSARGS) {
  struct linux_timeval out[2]; /* interval, value */
  memset(out, 0, sizeof(out));
  if ((int)a0 < ITIMER_REAL || (int)a0 > ITIMER_PROF)
    return -LINUX_EINVAL;
  int64_t value, interval;
  int r = moat_itimer((int)a0, NULL, NULL, &value, &interval);
  if (r < 0)
    return r;
  ns_to_tv(interval, &out[0]);
  ns_to_tv(value, &out[1]);
  return user_write(a1, out, sizeof(out)) < 0 ? -LINUX_EFAULT : 0;
}

long sys_setitimer(SYSARGS) {
  struct linux_timeval in[2], out[2];
  memset(out, 0, sizeof(out));
  if ((int)a0 < ITIMER_REAL || (int)a0 > ITIMER_PROF)
    return -LINUX_EINVAL;
  if (a1 && user_read(in, a1, sizeof(in)) < 0)
    return -LINUX_EFAULT;
  if (a1) {
    for (int i = 0; i < 2; i++)
      if (in[i].tv_sec < 0 || in[i].tv_usec < 0 || in[i].tv_usec >= 1000000)
        return -LINUX_EINVAL;
  }
  if (a2 && !user_buf_ok(a2, sizeof(out), LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  int64_t value = 0, interval = 0, old_value, old_interval;
  if (a1) {
    value = tv_to_ns(&in[1]);
    interval = tv_to_ns(&in[0]);
  }
  int r = moat_itimer((int)a0, &value, &interval, &old_value, &old_interval);
  if (r < 0)
    return r;
  if (a2) {
    ns_to_tv(old_interval, &out[0]);
    ns_to_tv(old_value, &out[1]);
    user_write(a2, out, sizeof(out));
  }
  return 0;
}

long sys_alarm(SYSARGS) {
  int64_t value = (int64_t)(uint32_t)a0 * 1000000000, interval = 0;
  int64_t old_value = 0;
  moat_itimer_real(&value, &interval, &old_value, NULL);
  /* The seconds left, rounded to the nearest, at least 1 if armed. */
  int64_t secs = (old_value + 500000000) / 1000000000;
  if (old_value && !secs)
    secs = 1;
  return secs;
}
