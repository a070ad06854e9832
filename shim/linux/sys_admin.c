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
REFUSE(chroot)
REFUSE(swapon)
REFUSE(swapoff)
REFUSE(reboot)
REFUSE(setdomainname)
REFUSE(init_module)
REFUSE(finit_module)
REFUSE(delete_module)
REFUSE(kexec_load)
REFUSE(kexec_file_load)
REFUSE(acct)
REFUSE(iopl)
REFUSE(ioperm)
REFUSE(settimeofday)
REFUSE(quotactl)
REFUSE(setns)
REFUSE(vhangup)

long sys_clock_settime(SYSARGS) {
  if ((int)a0 < LINUX_CLOCK_REALTIME || (int)a0 > LINUX_CLOCK_BOOTTIME)
    return -LINUX_EINVAL;
  return -LINUX_EPERM;
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
