/* Administrative syscalls of the Linux shim: mounting, modules, rebooting,
 * setting the clock, raw I/O ports and the like. A sandbox grants none of
 * these rights, so each is refused with EPERM, as a container without
 * CAP_SYS_ADMIN would see, instead of the unimplemented-syscall warning.
 * The few that merely read state answer what the sandbox is. */
#include "shim.h"

#define REFUSE(name)                                                           \
  long sys_##name(SYSARGS) {                                                   \
    return -LINUX_EPERM;                                                       \
  }

REFUSE(mount)
REFUSE(umount2)
REFUSE(pivot_root)
REFUSE(swapon)
REFUSE(swapoff)
REFUSE(reboot)
REFUSE(init_module)
REFUSE(finit_module)
REFUSE(delete_module)
REFUSE(kexec_load)
REFUSE(kexec_file_load)
REFUSE(iopl)
REFUSE(ioperm)
REFUSE(settimeofday)
REFUSE(quotactl)
REFUSE(setns)
REFUSE(vhangup)

/* Only CLOCK_REALTIME and the CPU clocks can be set on Linux (any other
 * is EINVAL); the time is read, then refused as a process without
 * CAP_SYS_TIME in the host's namespace is (EPERM): the sandbox never sets
 * the host's clock, and a CPU clock is never settable. */
/* chroot inside the sandbox's own file system tree (CAP_SYS_CHROOT). */
long sys_chroot(SYSARGS) {
  char path[LINUX_PATH_MAX];
  long n = moat_user_strncpy(path, a0, sizeof(path));
  if (n < 0)
    return n == -LINUX_ENAMETOOLONG ? n : -LINUX_EFAULT;
  return moat_chroot(path);
}

long sys_setdomainname(SYSARGS) {
  char name[65];
  if (a1 > 64)
    return -LINUX_EINVAL;
  if (user_read(name, a0, (size_t)a1) < 0)
    return -LINUX_EFAULT;
  return moat_setdomainname(name, (size_t)a1);
}

/* Process accounting is never on: turning it off (NULL) is what a
 * privileged caller may do; turning it on is refused. */
long sys_acct(SYSARGS) {
  if (!moat_capable(20 /* CAP_SYS_PACCT */))
    return -LINUX_EPERM;
  return a0 ? -LINUX_EPERM : 0;
}

long sys_setfsuid(SYSARGS) {
  return moat_setfsid(false, (uint32_t)a0);
}

long sys_setfsgid(SYSARGS) {
  return moat_setfsid(true, (uint32_t)a0);
}

/* Called by hand (not after an interrupted call): nothing to restart,
 * Linux's do_no_restart_syscall. */
long sys_restart_syscall(SYSARGS) {
  return -LINUX_EINTR;
}

long sys_clock_settime(SYSARGS) {
  int clock = (int)a0;
  struct linux_timespec ts;
  if (clock > LINUX_CLOCK_REALTIME)
    return -LINUX_EINVAL;
  if (user_read(&ts, a1, sizeof(ts)) < 0)
    return -LINUX_EFAULT;
  if (clock == LINUX_CLOCK_REALTIME)
    return ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000
               ? -LINUX_EINVAL
               : -LINUX_EPERM;
  struct linux_timespec res;
  int err = moat_clock_getres(clock, &res); /* does that CPU clock exist */
  return err < 0 ? err : -LINUX_EPERM;
}

/* unshare(0) changes nothing and succeeds; anything else would need
 * namespaces the sandbox does not offer. */
long sys_unshare(SYSARGS) {
  return a0 ? -LINUX_EPERM : 0;
}

/* The kernel log is the host's: reading it is refused, the size queries
 * report an empty log. */
long sys_syslog(SYSARGS) {
  switch ((int)a0) {
  case 0: /* SYSLOG_ACTION_CLOSE */
  case 1: /* SYSLOG_ACTION_OPEN */
    return 0;
  case 9: /* SYSLOG_ACTION_SIZE_UNREAD */
    return 0;
  case 10: /* SYSLOG_ACTION_SIZE_BUFFER */
    return 0;
  default:
    return -LINUX_EPERM;
  }
}
