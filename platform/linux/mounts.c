/* Mount-namespace hardening of the Linux platform (needs the private user
 * and mount namespaces of lockdown; skipped when the host refuses them).
 *  1. Every grant becomes its own detached bind mount (open_tree clone),
 *     read-only in the kernel for a read-only grant, nosuid and nodev for
 *     all. Landlock does not govern chmod, chown or utimes; a read-only
 *     mount does, so even code that jumps into the gate cannot change a
 *     file below a read-only grant.
 *     When moat runs as root, the sandbox's host processes run as an
 *     unprivileged host uid; the user's grants (--mount, --root DIR) are
 *     then idmapped clones made before the switch, so that the invoking
 *     user's files appear as the sandbox's own and what it writes there
 *     is owned by the invoking user (plat_mounts_idmap). The system
 *     directories of the default root are not idmapped: their owners stay
 *     the host's, and what "others" may not read stays unreadable.
 *  2. The process's root becomes an empty read-only tmpfs, so absolute
 *     paths reach nothing of the host: only the grant fds lead anywhere.
 * Runs before lockdown's filter; libc is fine here. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plat_linux.h"

#define NR_open_tree 428
#define NR_fsopen 430
#define NR_fsconfig 431
#define NR_fsmount 432
#define NR_mount_setattr 442

#define OPEN_TREE_CLONE_FLAG 1
#define AT_RECURSIVE_FLAG 0x8000
#define MOUNT_ATTR_RDONLY_FLAG 0x1ull
#define MOUNT_ATTR_NOSUID_FLAG 0x2ull
#define MOUNT_ATTR_NODEV_FLAG 0x4ull
#define MOUNT_ATTR_NOEXEC_FLAG 0x8ull
#define MOUNT_ATTR_IDMAP_FLAG 0x100000ull
#define FSOPEN_CLOEXEC_FLAG 1
#define FSCONFIG_CMD_CREATE_VALUE 6
#define FSMOUNT_CLOEXEC_FLAG 1

struct mount_attr_v0 {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};

/* Grants already replaced by a clone (plat_mounts_clone):
 * harden leaves them as they are. */
#define MAX_IDMAPPED 256
static int g_idmapped[MAX_IDMAPPED];
static int g_nidmapped;

static bool idmapped(int fd) {
  for (int i = 0; i < g_nidmapped; i++)
    if (g_idmapped[i] == fd)
      return true;
  return false;
}

/* Replace the grant's fd (same number) by a private clone of its tree,
 * nosuid and nodev, read-only unless writable, and idmapped through the
 * user namespace userns_fd when that is not -1. */
static int clone_grant(int fd, bool writable, int userns_fd) {
  if (idmapped(fd))
    return 0;
  int tree = (int)syscall(NR_open_tree, fd, "",
                          OPEN_TREE_CLONE_FLAG | O_CLOEXEC | AT_EMPTY_PATH |
                              AT_RECURSIVE_FLAG);
  if (tree < 0)
    return -errno;
  struct mount_attr_v0 attr = {
      .attr_set = MOUNT_ATTR_NOSUID_FLAG | MOUNT_ATTR_NODEV_FLAG |
                  (writable ? 0 : MOUNT_ATTR_RDONLY_FLAG) |
                  (userns_fd >= 0 ? MOUNT_ATTR_IDMAP_FLAG : 0),
      .userns_fd = userns_fd >= 0 ? (uint64_t)userns_fd : 0,
  };
  int err = 0;
  if (syscall(NR_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE_FLAG,
              &attr, sizeof(attr)) < 0)
    err = -errno;
  else if (dup3(tree, fd, O_CLOEXEC) < 0)
    err = -errno;
  close(tree);
  return err;
}

/* An empty read-only tmpfs, detached, becomes our root and cwd. */
static int empty_root(void) {
  int err = 0, mnt = -1;
  int fs = (int)syscall(NR_fsopen, "tmpfs", FSOPEN_CLOEXEC_FLAG);
  if (fs < 0)
    return -errno;
  if (syscall(NR_fsconfig, fs, FSCONFIG_CMD_CREATE_VALUE, NULL, NULL, 0) < 0) {
    err = -errno;
    goto out;
  }
  mnt = (int)syscall(NR_fsmount, fs, FSMOUNT_CLOEXEC_FLAG,
                     MOUNT_ATTR_RDONLY_FLAG | MOUNT_ATTR_NOSUID_FLAG |
                         MOUNT_ATTR_NODEV_FLAG | MOUNT_ATTR_NOEXEC_FLAG);
  if (mnt < 0) {
    err = -errno;
    goto out;
  }
  if (fchdir(mnt) < 0 || chroot(".") < 0 || chdir("/") < 0)
    err = -errno;
out:
  if (mnt >= 0)
    close(mnt);
  close(fs);
  return err;
}

int plat_mounts_harden(const int *fds, const bool *writable, int n,
                       bool *out_grants_cloned, bool *out_root_emptied) {
  *out_grants_cloned = false;
  *out_root_emptied = false;
  for (int i = 0; i < n; i++) {
    int err = clone_grant(fds[i], writable[i], -1);
    if (err)
      return err;
  }
  *out_grants_cloned = true;
  int err = empty_root();
  if (err)
    return err;
  *out_root_emptied = true;
  return 0;
}

int plat_mounts_clone(int fd, bool writable, int userns_fd) {
  if (g_nidmapped == MAX_IDMAPPED)
    return -ENOSPC;
  int err = clone_grant(fd, writable, userns_fd);
  if (!err)
    g_idmapped[g_nidmapped++] = fd;
  return err;
}
