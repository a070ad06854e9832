/* Process and identity syscalls of the Linux shim: exit, the id family,
 * uname, the thread pointer (arch_prctl), limits, and the small start-up
 * calls static glibc and musl make (set_tid_address, set_robust_list,
 * rseq, prctl ...). Process creation, exit, wait, groups and futexes
 * live in sys_proc.c. */
#include "moat/platform.h"
#include "shim.h"

/* The highest valid user-space address + 1 on x86-64 with 4-level paging:
 * a thread pointer beyond it is refused as Linux does. */
#define SHIM_TASK_SIZE_MAX 0x7ffffffff000ull

/* ---- ids -------------------------------------------------------------- */

long sys_getpid(SYSARGS) {
  return moat_getpid();
}

long sys_getppid(SYSARGS) {
  return moat_getppid();
}

long sys_gettid(SYSARGS) {
  return moat_gettid();
}

long sys_getuid(SYSARGS) {
  return moat_getuid();
}

long sys_geteuid(SYSARGS) {
  return moat_geteuid();
}

long sys_getgid(SYSARGS) {
  return moat_getgid();
}

long sys_getegid(SYSARGS) {
  return moat_getegid();
}

long sys_setresuid(SYSARGS) {
  return moat_setresuid((uint32_t)a0, (uint32_t)a1, (uint32_t)a2);
}

long sys_setresgid(SYSARGS) {
  return moat_setresgid((uint32_t)a0, (uint32_t)a1, (uint32_t)a2);
}

long sys_setuid(SYSARGS) {
  uint32_t id = (uint32_t)a0;
  if (id == (uint32_t)-1)
    return -LINUX_EINVAL;
  if (moat_capable(LINUX_CAP_SETUID))
    return moat_setresuid(id, id, id);
  return moat_setresuid((uint32_t)-1, id, (uint32_t)-1);
}

long sys_setgid(SYSARGS) {
  uint32_t id = (uint32_t)a0;
  if (id == (uint32_t)-1)
    return -LINUX_EINVAL;
  if (moat_capable(LINUX_CAP_SETGID))
    return moat_setresgid(id, id, id);
  return moat_setresgid((uint32_t)-1, id, (uint32_t)-1);
}

long sys_setreuid(SYSARGS) {
  return moat_setresuid((uint32_t)a0, (uint32_t)a1, (uint32_t)-1);
}

long sys_setregid(SYSARGS) {
  return moat_setresgid((uint32_t)a0, (uint32_t)a1, (uint32_t)-1);
}

static long put_three_ids(uint64_t g0, uint64_t g1, uint64_t g2, uint32_t r,
                          uint32_t e, uint32_t s) {
  if (user_write(g0, &r, 4) < 0 || user_write(g1, &e, 4) < 0 ||
      user_write(g2, &s, 4) < 0)
    return -LINUX_EFAULT;
  return 0;
}

long sys_getresuid(SYSARGS) {
  /* The core keeps no separate saved id to query: it is the effective
   * one until the guest changes ids. */
  return put_three_ids(a0, a1, a2, moat_getuid(), moat_geteuid(),
                       moat_geteuid());
}

long sys_getresgid(SYSARGS) {
  return put_three_ids(a0, a1, a2, moat_getgid(), moat_getegid(),
                       moat_getegid());
}

#define SHIM_NGROUPS_MAX 65536

long sys_getgroups(SYSARGS) {
  int size = (int)a0;
  uint32_t *list;
  int n;

  if (size < 0)
    return -LINUX_EINVAL;
  n = moat_getgroups(0, NULL);
  if (size == 0 || n < 0)
    return n;
  if (size < n)
    return -LINUX_EINVAL;
  if (!user_buf_ok(a1, (size_t)n * 4, LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  list = kmalloc((size_t)(n ? n : 1) * 4);
  if (!list)
    return -LINUX_ENOMEM;
  n = moat_getgroups(n, list);
  if (n > 0 && user_write(a1, list, (size_t)n * 4) < 0)
    n = -LINUX_EFAULT;
  kfree(list);
  return n;
}

long sys_setgroups(SYSARGS) {
  int size = (int)a0;
  uint32_t *want;
  long ret;

  if (size < 0 || size > SHIM_NGROUPS_MAX)
    return -LINUX_EINVAL;
  if (!moat_capable(LINUX_CAP_SETGID))
    return -LINUX_EPERM;
  want = kmalloc((size_t)(size ? size : 1) * 4);
  if (!want)
    return -LINUX_ENOMEM;
  if (size && user_read(want, a1, (size_t)size * 4) < 0)
    ret = -LINUX_EFAULT;
  else
    ret = moat_setgroups(size, want);
  kfree(want);
  return ret;
}

/* ---- system identity ------------------------------------------------- */

long sys_uname(SYSARGS) {
  struct linux_utsname u;
  int err;
  if (!user_buf_ok(a0, sizeof(u), LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  memset(&u, 0, sizeof(u));
  err = moat_uname(&u);
  if (err < 0)
    return err;
  return user_write(a0, &u, sizeof(u)) < 0 ? -LINUX_EFAULT : 0;
}

long sys_sethostname(SYSARGS) {
  char name[65];
  if (a1 > 64)
    return -LINUX_EINVAL;
  if (user_read(name, a0, (size_t)a1) < 0)
    return -LINUX_EFAULT;
  name[a1] = 0;
  return moat_sethostname(name, (size_t)a1);
}

long sys_sysinfo(SYSARGS) {
  struct linux_sysinfo si;
  int err;
  if (!user_buf_ok(a0, sizeof(si), LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  memset(&si, 0, sizeof(si));
  err = moat_sysinfo(&si);
  if (err < 0)
    return err;
  return user_write(a0, &si, sizeof(si)) < 0 ? -LINUX_EFAULT : 0;
}

long sys_getrandom(SYSARGS) {
  size_t len = MIN((size_t)a1, 0x1ffffffful);
  if (a2 & ~7ull) /* GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE */
    return -LINUX_EINVAL;
  if ((a2 & 6) == 6)
    return -LINUX_EINVAL;
  if (!user_buf_ok(a0, len, LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  return moat_getrandom((void *)(uintptr_t)a0, len, (unsigned)a2);
}

/* ---- the thread ------------------------------------------------------- */

long sys_arch_prctl(SYSARGS) {
  uint64_t zero = 0;
  switch ((int)a0) {
  case LINUX_ARCH_SET_FS:
    /* a canonical user address, as Linux checks (the platform loads it
     * when the thread resumes: platform.h, plat_enter) */
    if (a1 >= SHIM_TASK_SIZE_MAX)
      return -LINUX_EPERM;
    regs->fs_base = a1;
    return 0;
  case LINUX_ARCH_GET_FS:
    return user_write(a1, &regs->fs_base, 8) < 0 ? -LINUX_EFAULT : 0;
  case LINUX_ARCH_GET_GS:
    return user_write(a1, &zero, 8) < 0 ? -LINUX_EFAULT : 0;
  case LINUX_ARCH_SET_GS:
    /* The gs base is the platform's to use; the guest gets none. */
    return -LINUX_EPERM;
  case LINUX_ARCH_GET_CPUID:
    return 1;
  case LINUX_ARCH_SET_CPUID:
    return -LINUX_ENODEV;
  default:
    return -LINUX_EINVAL;
  }
}

long sys_rseq(SYSARGS) {
  return -LINUX_ENOSYS;
}

/* ---- limits ----------------------------------------------------------- */

/* The rules (pid, permission, resource, values) are the core's
 * (moat_prlimit); here only the guest's memory, in Linux's order: the new
 * limit is read first, the old one written last (a new limit has then
 * taken effect even when that write fails). */
static long prlimit_common(int pid, int res, uint64_t gnew, uint64_t gold) {
  struct linux_rlimit nl, ol;
  int err;
  if (gnew && user_read(&nl, gnew, sizeof(nl)) < 0)
    return -LINUX_EFAULT;
  memset(&ol, 0, sizeof(ol));
  err = moat_prlimit(pid, res, gnew ? &nl : NULL, gold ? &ol : NULL);
  if (err < 0)
    return err;
  if (gold && user_write(gold, &ol, sizeof(ol)) < 0)
    return -LINUX_EFAULT;
  return 0;
}

long sys_prlimit64(SYSARGS) {
  return prlimit_common((int)a0, (int)a1, a2, a3);
}

long sys_getrlimit(SYSARGS) {
  return prlimit_common(0, (int)a0, 0, a1);
}

long sys_setrlimit(SYSARGS) {
  if (!a1)
    return -LINUX_EFAULT;
  return prlimit_common(0, (int)a0, a1, 0);
}

/* ---- accounting --------------------------------------------------------- */

struct shim_rusage {
  struct linux_timeval ru_utime;
  struct linux_timeval ru_stime;
  int64_t rest[14];
};

static void ns_to_tv(int64_t ns, struct linux_timeval *tv) {
  tv->tv_sec = ns / 1000000000;
  tv->tv_usec = (ns % 1000000000) / 1000;
}

/* User time is what the host counts as the process's own; system time
 * is the rest of its CPU time (moat's own work for the guest counts as
 * user time, since it runs in the guest's host process). The counters
 * stay zero. */
long sys_getrusage(SYSARGS) {
  struct shim_rusage ru;
  int who = (int)a0;
  if (who != MOAT_CPU_SELF && who != MOAT_CPU_CHILDREN &&
      who != MOAT_CPU_THREAD)
    return -LINUX_EINVAL;
  memset(&ru, 0, sizeof(ru));
  int64_t sys = 0;
  int64_t total = moat_cpu_ns(who, &sys);
  ns_to_tv(total - sys, &ru.ru_utime);
  ns_to_tv(sys, &ru.ru_stime);
  return user_write(a1, &ru, sizeof(ru)) < 0 ? -LINUX_EFAULT : 0;
}

/* clock_t ticks of USER_HZ (100). */
long sys_times(SYSARGS) {
  int64_t sys = 0, csys = 0;
  int64_t total = moat_cpu_ns(MOAT_CPU_SELF, &sys);
  int64_t ctotal = moat_cpu_ns(MOAT_CPU_CHILDREN, &csys);
  int64_t tms[4] = {(total - sys) / 10000000, sys / 10000000,
                    (ctotal - csys) / 10000000, csys / 10000000};
  struct linux_timespec now;
  if (a0 && user_write(a0, tms, sizeof(tms)) < 0)
    return -LINUX_EFAULT;
  if (moat_clock_gettime(LINUX_CLOCK_MONOTONIC, &now) < 0)
    return 0;
  return now.tv_sec * 100 + now.tv_nsec / 10000000;
}

/* ---- scheduling --------------------------------------------------------- */

long sys_sched_yield(SYSARGS) {
  return 0;
}

/* The guest is told about moat_cpu_count() CPUs, numbered from 0 (its
 * threads are host threads and run on all of them). The kernel's mask
 * is a whole number of longs, as on Linux. A thread's mask is kept by
 * the core (moat_sched, inherited as Linux's) and reported back, not
 * enforced; a setaffinity must leave at least one CPU. */
#define SHIM_MAX_CPUS (MOAT_SCHED_CPU_WORDS * 64)

/* A process of the sandbox (any thread's tid counts as its own). Linux
 * looks a negative pid up as any other: ESRCH. */
static bool pid_exists(int pid) {
  return pid > 0 && (pid == moat_getpid() || pid == moat_gettid() ||
                     moat_getpgid(pid) >= 0);
}

static int cpu_count(void) {
  return MIN(moat_cpu_count(), SHIM_MAX_CPUS);
}

static size_t cpu_mask_bytes(void) {
  return ALIGN_UP((size_t)cpu_count(), 64) / 8;
}

long sys_sched_getaffinity(SYSARGS) {
  uint64_t mask[SHIM_MAX_CPUS / 64] = {0};
  size_t bytes = cpu_mask_bytes();
  struct moat_sched sc;
  long err = (int)a0 < 0 ? -LINUX_ESRCH : moat_sched_get((int)a0, &sc);
  if (err)
    return err;
  if (a1 < bytes || (a1 & 7))
    return -LINUX_EINVAL;
  for (int i = 0; i < cpu_count(); i++)
    if (!(sc.cpus_off[i / 64] & (1ull << (i % 64))))
      mask[i / 64] |= 1ull << (i % 64);
  return user_write(a2, mask, bytes) < 0 ? -LINUX_EFAULT : (long)bytes;
}

long sys_sched_setaffinity(SYSARGS) {
  uint64_t mask[SHIM_MAX_CPUS / 64] = {0};
  struct moat_sched sc;
  bool any = false;
  if (user_read(mask, a2, MIN((size_t)a1, cpu_mask_bytes())) < 0)
    return -LINUX_EFAULT;
  long err = (int)a0 < 0 ? -LINUX_ESRCH : moat_sched_get((int)a0, &sc);
  if (err)
    return err;
  memset(sc.cpus_off, 0, sizeof(sc.cpus_off));
  for (int i = 0; i < cpu_count(); i++) {
    if (mask[i / 64] & (1ull << (i % 64)))
      any = true;
    else
      sc.cpus_off[i / 64] |= 1ull << (i % 64);
  }
  /* No CPU left: EINVAL, after the permission check (what 0). */
  err = moat_sched_set((int)a0, &sc, any ? MOAT_SCHED_SET_AFFINITY : 0);
  return err ? err : any ? 0 : -LINUX_EINVAL;
}

long sys_getcpu(SYSARGS) {
  uint32_t zero = 0;
  if (a0 && user_write(a0, &zero, 4) < 0)
    return -LINUX_EFAULT;
  if (a1 && user_write(a1, &zero, 4) < 0)
    return -LINUX_EFAULT;
  return 0;
}

#define SHIM_PRIO_PROCESS 0

/* Nice values are kept per thread by the core (moat_sched_*), as Linux
 * keeps them: PRIO_PROCESS names any thread id of the sandbox. For
 * PRIO_PGRP and PRIO_USER only the caller's own thread counts (who 0,
 * or the caller's group or user). */
static long prio_target(int which, int who) {
  if (which < 0 || which > 2 || who < 0)
    return -LINUX_EINVAL;
  if (which == SHIM_PRIO_PROCESS || who == 0)
    return who;
  if (which == 1 ? who == moat_getpgid(0) : (uint32_t)who == moat_geteuid())
    return 0;
  return -LINUX_ESRCH;
}

long sys_getpriority(SYSARGS) {
  long tid = prio_target((int)a0, (int)a1);
  if (tid < 0)
    return tid;
  struct moat_sched sc;
  int err = moat_sched_get((int)tid, &sc);
  /* The raw syscall returns 20 - nice so that it is never negative. */
  return err < 0 ? err : 20 - sc.nice;
}

long sys_setpriority(SYSARGS) {
  long tid = prio_target((int)a0, (int)a1);
  if (tid < 0)
    return tid;
  struct moat_sched sc = {.nice = MAX(-20, MIN(19, (int)a2))};
  return moat_sched_set((int)tid, &sc, MOAT_SCHED_SET_NICE);
}

#define SHIM_PER_QUERY 0xffffffffu

/* Linux records any persona (the flags, such as ADDR_NO_RANDOMIZE, and
 * the execution domain) and returns the old one; moat runs every
 * persona as PER_LINUX on x86-64. */
long sys_personality(SYSARGS) {
  return (long)moat_personality((uint32_t)a0);
}

/* ---- prctl -------------------------------------------------------------- */

#define SHIM_PR_SET_PDEATHSIG 1
#define SHIM_PR_GET_PDEATHSIG 2
#define SHIM_PR_GET_DUMPABLE 3
#define SHIM_PR_SET_DUMPABLE 4
#define SHIM_PR_SET_NAME 15
#define SHIM_PR_GET_NAME 16
#define SHIM_PR_GET_KEEPCAPS 7
#define SHIM_PR_SET_KEEPCAPS 8
#define SHIM_PR_CAPBSET_READ 23
#define SHIM_PR_CAPBSET_DROP 24
#define SHIM_PR_SET_NO_NEW_PRIVS 38
#define SHIM_PR_CAP_AMBIENT 47
#define SHIM_PR_GET_NO_NEW_PRIVS 39
#define SHIM_CAP_LAST_CAP 40

long sys_prctl(SYSARGS) {
  switch ((int)a0) {
  case SHIM_PR_SET_PDEATHSIG:
    return moat_set_pdeathsig((int)a1);
  case SHIM_PR_GET_PDEATHSIG: {
    int32_t sig = moat_get_pdeathsig();
    return user_write(a1, &sig, 4) < 0 ? -LINUX_EFAULT : 0;
  }
  case SHIM_PR_GET_DUMPABLE:
    return !moat_prctl_flag(MOAT_PRCTL_NOT_DUMPABLE, -1);
  case SHIM_PR_SET_DUMPABLE:
    if (a1 > 1)
      return -LINUX_EINVAL;
    moat_prctl_flag(MOAT_PRCTL_NOT_DUMPABLE, a1 == 0);
    return 0;
  case SHIM_PR_SET_NAME: {
    char name[16];
    long n = moat_user_strncpy(name, a1, sizeof(name));
    if (n == -LINUX_ENAMETOOLONG) {
      /* Linux keeps the first 15 bytes of a longer name. */
      if (user_read(name, a1, 15) < 0)
        return -LINUX_EFAULT;
      name[15] = 0;
    } else if (n < 0) {
      return -LINUX_EFAULT;
    }
    return moat_set_comm(name);
  }
  case SHIM_PR_GET_NAME: {
    char comm[16];
    moat_get_comm(comm);
    return user_write(a1, comm, sizeof(comm)) < 0 ? -LINUX_EFAULT : 0;
  }
  case SHIM_PR_CAPBSET_READ:
    if (a1 > SHIM_CAP_LAST_CAP)
      return -LINUX_EINVAL;
    return moat_capbset((int)a1, false);
  case SHIM_PR_CAPBSET_DROP:
    if (a1 > SHIM_CAP_LAST_CAP)
      return -LINUX_EINVAL;
    return moat_capbset((int)a1, true);
  case SHIM_PR_GET_KEEPCAPS:
    if (a1 || a2 || a3 || a4)
      return -LINUX_EINVAL;
    return moat_keepcaps(-1);
  case SHIM_PR_SET_KEEPCAPS:
    if (a1 > 1 || a2 || a3 || a4)
      return -LINUX_EINVAL;
    return moat_keepcaps((int)a1);
  case SHIM_PR_CAP_AMBIENT:
    if (a1 == 4) /* CLEAR_ALL */
      return a2 || a3 || a4 ? -LINUX_EINVAL : moat_cap_ambient(4, 0);
    if (a2 > SHIM_CAP_LAST_CAP || a3 || a4 || a1 < 1 || a1 > 3)
      return -LINUX_EINVAL;
    return moat_cap_ambient((int)a1, (int)a2);
  case SHIM_PR_SET_NO_NEW_PRIVS:
    if (a1 != 1 || a2 || a3 || a4)
      return -LINUX_EINVAL;
    moat_no_new_privs(true);
    return 0;
  case SHIM_PR_GET_NO_NEW_PRIVS:
    if (a1 || a2 || a3 || a4)
      return -LINUX_EINVAL;
    return moat_no_new_privs(false);
  case 36: /* PR_SET_CHILD_SUBREAPER */
    moat_prctl_flag(MOAT_PRCTL_SUBREAPER, a1 != 0);
    return 0;
  case 37: { /* PR_GET_CHILD_SUBREAPER */
    int32_t v = moat_prctl_flag(MOAT_PRCTL_SUBREAPER, -1);
    return user_write(a1, &v, 4) < 0 ? -LINUX_EFAULT : 0;
  }
  case 29: /* PR_SET_TIMERSLACK */
    moat_timer_slack(a1);
    return 0;
  case 30: /* PR_GET_TIMERSLACK */
    return (long)moat_timer_slack((uint64_t)-1);
  case 41: /* PR_SET_THP_DISABLE */
    if (a2 || a3 || a4)
      return -LINUX_EINVAL;
    moat_prctl_flag(MOAT_PRCTL_THP, a1 != 0);
    return 0;
  case 42: /* PR_GET_THP_DISABLE */
    if (a1 || a2 || a3 || a4)
      return -LINUX_EINVAL;
    return moat_prctl_flag(MOAT_PRCTL_THP, -1);
  case 40: { /* PR_GET_TID_ADDRESS */
    uint64_t addr = moat_clear_tid_address();
    return user_write(a1, &addr, 8) < 0 ? -LINUX_EFAULT : 0;
  }
  case 21: /* PR_GET_SECCOMP: the guest has no filter of its own */
    return 0;
  case 27: /* PR_GET_SECUREBITS: none set */
    return 0;
  case 28: /* PR_SET_SECUREBITS: needs CAP_SETPCAP; only "none" is kept */
    if (!moat_capable(8 /* CAP_SETPCAP */))
      return -LINUX_EPERM;
    return a1 ? -LINUX_EPERM : 0;
  case 33: /* PR_MCE_KILL: nothing to keep, the host handles errors */
    return a1 > 1 || a3 || a4 ? -LINUX_EINVAL : 0;
  case 34: /* PR_MCE_KILL_GET */
    if (a1 || a2 || a3 || a4)
      return -LINUX_EINVAL;
    return 2;      /* PR_MCE_KILL_DEFAULT */
  case 25: {       /* PR_GET_TSC: the time stamp counter is readable */
    int32_t v = 1; /* PR_TSC_ENABLE */
    return user_write(a1, &v, 4) < 0 ? -LINUX_EFAULT : 0;
  }
  default:
    return -LINUX_EINVAL;
  }
}

/* ---- capabilities ------------------------------------------------------- */

#define SHIM_CAP_V1 0x19980330u
#define SHIM_CAP_V2 0x20071026u
#define SHIM_CAP_V3 0x20080522u

/* The header's version: v1 has one 32-bit word per set, v2 and v3 two.
 * An unknown version gets the preferred one written back and EINVAL
 * (capget with no data: 0, as libcap probes it). */
static long cap_header(uint64_t hdrp, uint32_t hdr[2], bool want_data) {
  if (user_read(hdr, hdrp, 8) < 0)
    return -LINUX_EFAULT;
  if (hdr[0] != SHIM_CAP_V1 && hdr[0] != SHIM_CAP_V2 && hdr[0] != SHIM_CAP_V3) {
    hdr[0] = SHIM_CAP_V3;
    if (user_write(hdrp, hdr, 4) < 0)
      return -LINUX_EFAULT;
    return want_data ? -LINUX_EINVAL : 1;
  }
  return 0;
}

long sys_capget(SYSARGS) {
  uint32_t hdr[2];
  uint32_t data[6];
  long r = cap_header(a0, hdr, a1 != 0);
  if (r)
    return r < 0 ? r : 0;
  if (!a1)
    return 0;
  if ((int)hdr[1] < 0)
    return -LINUX_EINVAL;
  struct moat_caps c;
  int pid = (int)hdr[1] == moat_getpid() ? 0 : (int)hdr[1];
  int err = moat_capget(pid, &c);
  if (err)
    return err;
  /* struct __user_cap_data_struct: effective, permitted, inheritable,
   * low words first, then the high words. */
  data[0] = (uint32_t)c.effective;
  data[1] = (uint32_t)c.permitted;
  data[2] = (uint32_t)c.inheritable;
  data[3] = (uint32_t)(c.effective >> 32);
  data[4] = (uint32_t)(c.permitted >> 32);
  data[5] = (uint32_t)(c.inheritable >> 32);
  size_t words = hdr[0] == SHIM_CAP_V1 ? 3 : 6;
  return user_write(a1, data, words * 4) < 0 ? -LINUX_EFAULT : 0;
}

/* Only the caller's own sets (pid 0 or its own pid; another is EPERM). */
long sys_capset(SYSARGS) {
  uint32_t hdr[2];
  uint32_t data[6] = {0};
  long r = cap_header(a0, hdr, true);
  if (r)
    return r;
  if (hdr[1] && (int)hdr[1] != moat_getpid())
    return -LINUX_EPERM;
  size_t words = hdr[0] == SHIM_CAP_V1 ? 3 : 6;
  if (user_read(data, a1, words * 4) < 0)
    return -LINUX_EFAULT;
  struct moat_caps c = {
      .effective = data[0] | (uint64_t)data[3] << 32,
      .permitted = data[1] | (uint64_t)data[4] << 32,
      .inheritable = data[2] | (uint64_t)data[5] << 32,
  };
  return moat_capset(&c);
}

#define SHIM_MEMBARRIER_GLOBAL 1
#define SHIM_MEMBARRIER_GLOBAL_EXPEDITED 2
#define SHIM_MEMBARRIER_REGISTER_GLOBAL_EXPEDITED 4
#define SHIM_MEMBARRIER_PRIVATE_EXPEDITED 8
#define SHIM_MEMBARRIER_REGISTER_PRIVATE_EXPEDITED 16
#define SHIM_MEMBARRIER_GET_REGISTRATIONS 512

/* The barrier itself: every guest thread is a host thread, and a host
 * system call is a full barrier on each side; the registrations are kept
 * per process (a new address space, at fork and exec, has none) so that
 * an unregistered PRIVATE_EXPEDITED is EPERM as on Linux. */
long sys_membarrier(SYSARGS) {
  const long supported = SHIM_MEMBARRIER_GLOBAL |
                         SHIM_MEMBARRIER_GLOBAL_EXPEDITED |
                         SHIM_MEMBARRIER_REGISTER_GLOBAL_EXPEDITED |
                         SHIM_MEMBARRIER_PRIVATE_EXPEDITED |
                         SHIM_MEMBARRIER_REGISTER_PRIVATE_EXPEDITED |
                         SHIM_MEMBARRIER_GET_REGISTRATIONS;
  if (a1)
    return -LINUX_EINVAL;
  if (a0 == 0)
    return supported;
  if (a0 & ~(uint64_t)supported || (a0 & (a0 - 1)))
    return -LINUX_EINVAL;
  switch (a0) {
  case SHIM_MEMBARRIER_REGISTER_GLOBAL_EXPEDITED:
  case SHIM_MEMBARRIER_REGISTER_PRIVATE_EXPEDITED:
    moat_membarrier_register((uint32_t)a0);
    return 0;
  case SHIM_MEMBARRIER_PRIVATE_EXPEDITED:
    return moat_membarrier_register(0) &
                   SHIM_MEMBARRIER_REGISTER_PRIVATE_EXPEDITED
               ? 0
               : -LINUX_EPERM;
  case SHIM_MEMBARRIER_GET_REGISTRATIONS:
    return moat_membarrier_register(0);
  default:
    return 0;
  }
}

long sys_sched_rr_get_interval(SYSARGS) {
  struct linux_timespec ts = {0, 0}; /* SCHED_OTHER has no round-robin slice */
  if ((int)a0 < 0)
    return -LINUX_EINVAL;
  if ((int)a0 && !pid_exists((int)a0))
    return -LINUX_ESRCH;
  return user_write(a1, &ts, sizeof(ts)) < 0 ? -LINUX_EFAULT : 0;
}

/* ---- scheduling policies (sched(7)) ------------------------------------
 * The core keeps each thread's policy, priority and nice value with
 * Linux's rules; the host runs every thread as it is (docs/syscalls.md). */

#define SHIM_SCHED_OTHER 0
#define SHIM_SCHED_FIFO 1
#define SHIM_SCHED_RR 2
#define SHIM_SCHED_BATCH 3
#define SHIM_SCHED_IDLE 5
#define SHIM_SCHED_DEADLINE 6
#define SHIM_SCHED_RESET_ON_FORK 0x40000000

static long sched_of(int pid, struct moat_sched *sc) {
  if (pid < 0)
    return -LINUX_EINVAL;
  return moat_sched_get(pid, sc);
}

long sys_sched_getscheduler(SYSARGS) {
  struct moat_sched sc;
  long err = sched_of((int)a0, &sc);
  if (err < 0)
    return err;
  return sc.policy | (sc.reset_on_fork ? SHIM_SCHED_RESET_ON_FORK : 0);
}

long sys_sched_getparam(SYSARGS) {
  struct moat_sched sc;
  if (!a1)
    return -LINUX_EINVAL;
  long err = sched_of((int)a0, &sc);
  if (err < 0)
    return err;
  int32_t prio = sc.prio;
  return user_write(a1, &prio, sizeof(prio)) < 0 ? -LINUX_EFAULT : 0;
}

static long priority_bound(int policy, bool max) {
  switch (policy) {
  case SHIM_SCHED_FIFO:
  case SHIM_SCHED_RR:
    return max ? 99 : 1;
  case SHIM_SCHED_OTHER:
  case SHIM_SCHED_BATCH:
  case SHIM_SCHED_IDLE:
  case SHIM_SCHED_DEADLINE:
    return 0;
  default:
    return -LINUX_EINVAL;
  }
}

long sys_sched_get_priority_max(SYSARGS) {
  return priority_bound((int)a0, true);
}

long sys_sched_get_priority_min(SYSARGS) {
  return priority_bound((int)a0, false);
}

/* SCHED_DEADLINE asks for admission control of the host's CPUs, which
 * the sandbox does not have: refused as for a thread without
 * CAP_SYS_NICE. */
static long set_policy(int pid, int policy, int prio, bool reset) {
  struct moat_sched sc = {
      .policy = policy, .prio = prio, .reset_on_fork = reset};
  if (policy == SHIM_SCHED_DEADLINE)
    return priority_bound(policy, false) < 0 ? -LINUX_EINVAL : -LINUX_EPERM;
  return moat_sched_set(pid, &sc, MOAT_SCHED_SET_POLICY);
}

long sys_sched_setscheduler(SYSARGS) {
  int policy = (int)a1;
  bool reset = policy & SHIM_SCHED_RESET_ON_FORK;
  int32_t prio;
  if (!a2 || (int)a0 < 0)
    return -LINUX_EINVAL;
  policy &= ~SHIM_SCHED_RESET_ON_FORK;
  if (priority_bound(policy, false) < 0)
    return -LINUX_EINVAL;
  if (user_read(&prio, a2, sizeof(prio)) < 0)
    return -LINUX_EFAULT;
  return set_policy((int)a0, policy, prio, reset);
}

long sys_sched_setparam(SYSARGS) {
  int32_t prio;
  struct moat_sched sc;
  if (!a1 || (int)a0 < 0)
    return -LINUX_EINVAL;
  if (user_read(&prio, a1, sizeof(prio)) < 0)
    return -LINUX_EFAULT;
  sc.prio = prio;
  return moat_sched_set((int)a0, &sc, MOAT_SCHED_SET_PRIO);
}

/* struct sched_attr: SCHED_ATTR_SIZE_VER0 48 bytes, VER1 56 (the
 * utilization clamps). */
struct shim_sched_attr {
  uint32_t size, policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
  uint32_t util_min, util_max;
};
#define SHIM_SCHED_ATTR_VER0 48
#define SHIM_SCHED_FLAG_RESET_ON_FORK 0x01
#define SHIM_SCHED_FLAG_KEEP_POLICY 0x08
#define SHIM_SCHED_FLAG_KEEP_PARAMS 0x10
#define SHIM_SCHED_FLAG_ALL 0x7f

long sys_sched_getattr(SYSARGS) {
  struct moat_sched sc;
  uint32_t usize = (uint32_t)a2;
  if (!a1 || (int)a0 < 0 || a3 || usize < SHIM_SCHED_ATTR_VER0 || usize > 4096)
    return -LINUX_EINVAL;
  long err = moat_sched_get((int)a0, &sc);
  if (err < 0)
    return err;
  struct shim_sched_attr at = {0};
  at.size = MIN(usize, (uint32_t)sizeof(at));
  at.policy = (uint32_t)sc.policy;
  at.flags = sc.reset_on_fork ? SHIM_SCHED_FLAG_RESET_ON_FORK : 0;
  at.nice = sc.nice;
  at.priority = (uint32_t)sc.prio;
  at.util_max = 1024; /* SCHED_CAPACITY_SCALE: no clamp */
  return user_write(a1, &at, at.size) < 0 ? -LINUX_EFAULT : 0;
}

long sys_sched_setattr(SYSARGS) {
  struct shim_sched_attr at = {0};
  uint32_t usize;
  if (!a1 || (int)a0 < 0 || a2)
    return -LINUX_EINVAL;
  if (user_read(&usize, a1, sizeof(usize)) < 0)
    return -LINUX_EFAULT;
  if (usize == 0)
    usize = SHIM_SCHED_ATTR_VER0;
  if (usize < SHIM_SCHED_ATTR_VER0 || usize > 4096) {
    uint32_t want = sizeof(at); /* Linux writes back the size it knows */
    user_write(a1, &want, sizeof(want));
    return -LINUX_E2BIG;
  }
  if (user_read(&at, a1, MIN(usize, (uint32_t)sizeof(at))) < 0)
    return -LINUX_EFAULT;
  for (uint32_t off = sizeof(at); off < usize; off++) {
    uint8_t b;
    if (user_read(&b, a1 + off, 1) < 0)
      return -LINUX_EFAULT;
    if (b) {
      uint32_t want = sizeof(at);
      user_write(a1, &want, sizeof(want));
      return -LINUX_E2BIG;
    }
  }
  if (at.flags & ~(uint64_t)SHIM_SCHED_FLAG_ALL)
    return -LINUX_EINVAL;
  int policy = (int)at.policy;
  if (!(at.flags & SHIM_SCHED_FLAG_KEEP_POLICY) &&
      priority_bound(policy, false) < 0)
    return -LINUX_EINVAL;
  struct moat_sched cur;
  long err = moat_sched_get((int)a0, &cur);
  if (err < 0)
    return err;
  if (at.flags & SHIM_SCHED_FLAG_KEEP_POLICY)
    policy = cur.policy;
  bool rt = policy == SHIM_SCHED_FIFO || policy == SHIM_SCHED_RR;
  if (!rt && policy != SHIM_SCHED_DEADLINE) {
    struct moat_sched sc = {.nice = at.nice};
    if (at.nice < -20 || at.nice > 19)
      sc.nice = MAX(-20, MIN(19, at.nice));
    err = moat_sched_set((int)a0, &sc, MOAT_SCHED_SET_NICE);
    if (err < 0)
      return err == -LINUX_EACCES ? -LINUX_EPERM : err;
  }
  if (at.flags & SHIM_SCHED_FLAG_KEEP_PARAMS)
    at.priority = (uint32_t)cur.prio;
  return set_policy((int)a0, policy, (int)at.priority,
                    at.flags & SHIM_SCHED_FLAG_RESET_ON_FORK);
}

#define SHIM_IOPRIO_WHO_PROCESS 1

/* I/O priorities are kept per thread (moat_sched_*) and reported; the
 * host's I/O scheduler never sees them. IOPRIO_WHO_PGRP and
 * IOPRIO_WHO_USER reach the caller's own thread only, as for nice. */
static long ioprio_target(int which, int who) {
  /* IOPRIO_WHO_PROCESS, PGRP, USER are 1, 2, 3: PRIO_* plus one. */
  return prio_target(which - SHIM_IOPRIO_WHO_PROCESS, who);
}

long sys_ioprio_get(SYSARGS) {
  long tid = ioprio_target((int)a0, (int)a1);
  if (tid < 0)
    return tid;
  struct moat_sched sc;
  long err = moat_sched_get((int)tid, &sc);
  return err < 0 ? err : sc.ioprio;
}

long sys_ioprio_set(SYSARGS) {
  long tid = ioprio_target((int)a0, (int)a1);
  if (tid < 0)
    return tid;
  int v = (int)a2, class = (v >> 13) & 7, level = v & 7;
  /* Linux's ioprio_check_cap: classes NONE (level 0), RT and BE (levels
   * 0-7), IDLE; the bits between are hints, accepted. */
  if (v < 0 || v > 0xffff || class > 3 || (class == 0 && level))
    return -LINUX_EINVAL;
  struct moat_sched sc = {.ioprio = v};
  return moat_sched_set((int)tid, &sc, MOAT_SCHED_SET_IOPRIO);
}
