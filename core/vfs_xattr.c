/* Extended attributes (man 7 xattr): the rules Linux's vfs applies before
 * a file system sees a request (fs/xattr.c: xattr_permission, the
 * capability checks of security/commoncap.c, the handler lookup), in
 * Linux's order, and the file system's getxattr/setxattr/listxattr ops.
 * memfs keeps user., trusted. and security. attributes as tmpfs does; a
 * file system without the ops keeps none (-EOPNOTSUPP, an empty list).
 * system.posix_acl_* is not supported anywhere: moat has no POSIX ACLs,
 * so those names fail with -EOPNOTSUPP, as on a tmpfs built without
 * them. */
#include "moat/moat.h"
#include "vfs_impl.h"

#define PREFIX_USER "user."
#define PREFIX_TRUSTED "trusted."
#define PREFIX_SECURITY "security."
#define PREFIX_SYSTEM "system."
#define NAME_CAPS "security.capability"

static bool has_prefix(const char *name, const char *prefix) {
  return !rt_strncmp(name, prefix, rt_strlen(prefix));
}

static bool is_dir(const struct inode *inode) {
  return LINUX_S_ISTYPE(inode->mode, LINUX_S_IFDIR);
}

static bool is_reg(const struct inode *inode) {
  return LINUX_S_ISTYPE(inode->mode, LINUX_S_IFREG);
}

static bool owner_or_capable(struct inode *inode) {
  uint32_t euid, egid;
  vfs_cred(&euid, &egid);
  return euid == inode->uid || moat_capable(LINUX_CAP_FOWNER);
}

/* Linux's xattr_permission. write: a set or a remove. */
static int xattr_permission(struct inode *inode, const char *name, bool write) {
  if (has_prefix(name, PREFIX_SECURITY) || has_prefix(name, PREFIX_SYSTEM))
    return 0;
  if (has_prefix(name, PREFIX_TRUSTED)) {
    if (!moat_capable(LINUX_CAP_SYS_ADMIN))
      return write ? -LINUX_EPERM : -LINUX_ENODATA;
    return 0;
  }
  if (has_prefix(name, PREFIX_USER)) {
    /* Only regular files and directories carry user attributes (their
     * permission bits mean something else on the others). */
    if (!is_reg(inode) && !is_dir(inode))
      return write ? -LINUX_EPERM : -LINUX_ENODATA;
    if (is_dir(inode) && (inode->mode & LINUX_S_ISVTX) && write &&
        !owner_or_capable(inode))
      return -LINUX_EPERM;
  }
  return vfs_permission(inode, write ? LINUX_W_OK : LINUX_R_OK);
}

/* commoncap's inode_setxattr/inode_removexattr: security.* needs
 * CAP_SYS_ADMIN, security.capability CAP_SETFCAP. */
static int security_check(const char *name, bool remove) {
  if (!has_prefix(name, PREFIX_SECURITY))
    return 0;
  if (!rt_strcmp(name, NAME_CAPS)) {
    if (remove && !moat_capable(LINUX_CAP_SETFCAP))
      return -LINUX_EPERM;
    return 0; /* a set was checked with its value */
  }
  return moat_capable(LINUX_CAP_SYS_ADMIN) ? 0 : -LINUX_EPERM;
}

/* A security.capability value must be a vfs_cap_data of revision 2 or 3
 * (cap_convert_nscap). It is kept as given: moat does not grant file
 * capabilities at exec. */
static int check_caps_value(const void *value, size_t len) {
  uint32_t magic;
  if (len < sizeof(magic))
    return -LINUX_EINVAL;
  memcpy(&magic, value, sizeof(magic));
  uint32_t rev = magic & 0xff000000u;
  if (!((len == 20 && rev == 0x02000000u) || (len == 24 && rev == 0x03000000u)))
    return -LINUX_EINVAL;
  return moat_capable(LINUX_CAP_SETFCAP) ? 0 : -LINUX_EPERM;
}

/* Linux's xattr_resolve_name: does the file system keep name? */
static int xattr_supported(struct inode *inode, const char *name, bool write) {
  if (!inode->iops || !inode->iops->getxattr ||
      (write && !inode->iops->setxattr))
    return -LINUX_EOPNOTSUPP;
  static const char *const prefixes[] = {PREFIX_USER, PREFIX_TRUSTED,
                                         PREFIX_SECURITY};
  for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
    if (has_prefix(name, prefixes[i]))
      return name[rt_strlen(prefixes[i])] ? 0 : -LINUX_EINVAL;
  }
  return -LINUX_EOPNOTSUPP;
}

long vfs_getxattr(struct inode *inode, const char *name, void *buf,
                  size_t len) {
  if (len > VFS_XATTR_SIZE_MAX)
    len = VFS_XATTR_SIZE_MAX;
  vfs_lock();
  long rc = xattr_permission(inode, name, false);
  if (rc == 0)
    rc = xattr_supported(inode, name, false);
  if (rc == 0)
    rc = inode->iops->getxattr(inode, name, buf, len);
  vfs_unlock();
  if (rc == -LINUX_ERANGE && len >= VFS_XATTR_SIZE_MAX)
    rc = -LINUX_E2BIG; /* longer than any value can be */
  return rc;
}

int vfs_setxattr(struct inode *inode, const char *name, const void *value,
                 size_t len, unsigned flags) {
  bool remove = value == NULL;
  if (vfs_is_rdonly(inode))
    return -LINUX_EROFS;
  int rc = 0;
  if (!remove && len && !rt_strcmp(name, NAME_CAPS))
    rc = check_caps_value(value, len);
  if (rc < 0)
    return rc;
  vfs_lock();
  rc = xattr_permission(inode, name, true);
  if (rc == 0)
    rc = security_check(name, remove);
  if (rc == 0)
    rc = xattr_supported(inode, name, true);
  if (rc == 0)
    rc = inode->iops->setxattr(inode, name, value, len, flags);
  vfs_unlock();
  return rc;
}

long vfs_listxattr(struct inode *inode, char *buf, size_t len) {
  if (len > VFS_XATTR_LIST_MAX)
    len = VFS_XATTR_LIST_MAX;
  vfs_lock();
  long rc = 0;
  if (inode->iops && inode->iops->listxattr)
    rc = inode->iops->listxattr(inode, buf, len,
                                moat_capable(LINUX_CAP_SYS_ADMIN));
  vfs_unlock();
  if (rc == -LINUX_ERANGE && len >= VFS_XATTR_LIST_MAX)
    rc = -LINUX_E2BIG;
  return rc;
}
