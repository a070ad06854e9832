/* Landlock for the Linux platform: confine every host file access of the
 * process to the granted directories, read-only grants with read rights
 * only. This holds even if the sandbox is subverted and jumps into the
 * syscall gate with an allowlisted openat and an arbitrary path, which
 * the seccomp filter cannot inspect. Runs before lockdown (libc is fine).
 * Our own copies of the ABI values keep this independent of the age of
 * the build host's <linux/landlock.h>. */
#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plat_linux.h"

#define LL_CREATE_RULESET_VERSION 1u
#define LL_RULE_PATH_BENEATH 1

#define LL_FS_EXECUTE (1ull << 0)
#define LL_FS_WRITE_FILE (1ull << 1)
#define LL_FS_READ_FILE (1ull << 2)
#define LL_FS_READ_DIR (1ull << 3)
#define LL_FS_V1_ALL ((1ull << 13) - 1)
#define LL_FS_REFER (1ull << 13)     /* ABI 2 */
#define LL_FS_TRUNCATE (1ull << 14)  /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ull << 15) /* ABI 5 */
#define LL_NET_BIND_TCP (1ull << 0)  /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ull << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ull << 0) /* ABI 6 */

struct ll_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net; /* ABI 4 */
  uint64_t scoped;             /* ABI 6 */
};

struct ll_path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

/* Returns 0 when the ruleset is in force, -EOPNOTSUPP when the kernel has
 * no Landlock (the caller records it and goes on), or another -errno. */
int plat_landlock_apply(const int *fds, const bool *writable, int n,
                        int *out_abi) {
  unsigned rights[PLAT_LANDLOCK_MAX];
  if (n < 0 || n > PLAT_LANDLOCK_MAX)
    return -EINVAL;
  for (int i = 0; i < n; i++)
    rights[i] = writable[i] ? PLAT_LL_ALL : PLAT_LL_READ;
  return plat_landlock_apply_rights(fds, rights, n, out_abi);
}

int plat_landlock_apply_rights(const int *fds, const unsigned *rights, int n,
                               int *out_abi) {
  long abi =
      syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
  *out_abi = abi > 0 ? (int)abi : 0;
  if (abi <= 0)
    return -EOPNOTSUPP;

  struct ll_ruleset_attr attr = {.handled_access_fs = LL_FS_V1_ALL};
  size_t attr_size = sizeof(uint64_t);
  if (abi >= 2)
    attr.handled_access_fs |= LL_FS_REFER;
  if (abi >= 3)
    attr.handled_access_fs |= LL_FS_TRUNCATE;
  if (abi >= 4) {
    /* No TCP rule is ever added: no bind, no connect. */
    attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
    attr_size = 2 * sizeof(uint64_t);
  }
  if (abi >= 5)
    attr.handled_access_fs |= LL_FS_IOCTL_DEV;
  if (abi >= 6) {
    /* Not LL_SCOPE_SIGNAL: with it the kernel drops our parent-death
     * signal (tested on 6.18), and the filter allows no signal-sending
     * syscall anyway. */
    attr.scoped = LL_SCOPE_ABSTRACT_UNIX;
    attr_size = sizeof(attr);
  }
  int err = 0;
  int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
  if (ruleset < 0)
    return -errno;
  for (int i = 0; i < n; i++) {
    uint64_t allowed = 0;
    if (rights[i] & PLAT_LL_READ)
      allowed |= LL_FS_READ_FILE | LL_FS_READ_DIR;
    if (rights[i] & PLAT_LL_EXEC)
      allowed |= LL_FS_EXECUTE;
    if (rights[i] & PLAT_LL_WRITE_FILE)
      allowed |= LL_FS_WRITE_FILE | (abi >= 5 ? LL_FS_IOCTL_DEV : 0);
    if ((rights[i] & PLAT_LL_ALL) == PLAT_LL_ALL)
      allowed = attr.handled_access_fs;
    struct ll_path_beneath_attr rule = {
        .allowed_access = allowed,
        .parent_fd = fds[i],
    };
    if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &rule,
                0) < 0) {
      err = -errno;
      goto out;
    }
  }
  if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
    err = -errno;
out:
  close(ruleset);
  return err;
}
