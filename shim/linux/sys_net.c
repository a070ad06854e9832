/* Network syscalls of the Linux shim. The sandbox has no sockets yet, so
 * socket() answers as a kernel built without any address family would:
 * programs that probe for a service (nscd, syslog) fall back quietly
 * instead of tripping the unimplemented-syscall warning. */
#include "shim.h"

#define SHIM_SOCK_TYPE_MASK 0xf
#define SHIM_AF_MAX 46

long sys_socket(SYSARGS) {
  int family = (int)a0;
  if (family < 0 || family >= SHIM_AF_MAX)
    return -LINUX_EAFNOSUPPORT;
  if (((int)a1 & SHIM_SOCK_TYPE_MASK) == 0)
    return -LINUX_EINVAL;
  return -LINUX_EAFNOSUPPORT;
}

long sys_socketpair(SYSARGS) {
  if (!user_buf_ok(a3, 2 * sizeof(int), LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  return -LINUX_EAFNOSUPPORT;
}
