/* moat_boot: build the sandbox from its configuration. The arena first,
 * then the file system tree (the root, each mount in order, /dev, /proc),
 * then the first process with its working directory and fds 0, 1, 2 on
 * the host's streams.
 *
 * The tree: without a "/" mount the root is a memfs holding /tmp (1777),
 * /home, /root (0700), /var and /run. A "/" mount replaces it: the file
 * system itself when RO or RW, an overlay (memfs upper) over it when COW.
 * Every other mount is made in order, creating its mount point: a host
 * directory as hostfs (RO, RW) or an overlay over a read-only hostfs
 * (COW); a tar image as tarfs (RO) or an overlay over it (COW or RW: a
 * tar image is never written); a symlink; an empty memfs. /dev is devfs
 * with a memfs on /dev/shm, /proc is procfs. On a
 * read-only root without /dev or /proc those are left out (there is no
 * place to mount them). */
#include "devfs.h"
#include "pty.h"
#include "file.h"
#include "hostfs.h"
#include "mm.h"
#include "moat/moat.h"
#include "moat/platform.h"
#include "proc.h"
#include "procfs.h"
#include "rt.h"
#include "tarfs.h"
#include "task.h"
#include "vfs.h"

static struct moat_config g_config;
static bool g_booted;
static char g_why[320];

const struct moat_config *moat_config(void) {
  return &g_config;
}

int moat_cpu_count(void) {
  uint32_t n = g_config.ncpus;
  return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

static const char *errno_text(int err) {
  switch (-err) {
  case LINUX_ENOENT:
    return "no such file or directory";
  case LINUX_ENOTDIR:
    return "not a directory";
  case LINUX_EROFS:
    return "read-only file system";
  case LINUX_EACCES:
    return "permission denied";
  case LINUX_ENOMEM:
    return "out of memory";
  case LINUX_ELOOP:
    return "too many levels of symbolic links";
  case LINUX_EEXIST:
    return "file exists";
  case LINUX_EBUSY:
    return "busy";
  case LINUX_ENAMETOOLONG:
    return "name too long";
  case LINUX_EBADF:
    return "bad handle";
  case LINUX_EIO:
    return "input/output error";
  default:
    return "invalid argument";
  }
}

static int fail(int err, const char **why, const char *fmt, const char *arg) {
  char msg[160];
  rt_snprintf(msg, sizeof(msg), fmt, arg);
  rt_snprintf(g_why, sizeof(g_why), "%s: %s", msg, errno_text(err));
  if (why)
    *why = g_why;
  return err < 0 ? err : -LINUX_EINVAL;
}

/* The file system a mount entry describes (for the root or a mount). */
static int mount_fs(const struct moat_mount *m, struct superblock **out,
                    const char **why) {
  struct superblock *base = NULL;
  int err;
  switch (m->kind) {
  case MOAT_MOUNT_HOSTDIR:
    err = hostfs_create(m->handle, m->access != MOAT_ACCESS_RW, &base);
    if (err)
      return fail(err, why, "host directory for %s", m->guest_path);
    if (m->access != MOAT_ACCESS_COW) {
      *out = base;
      return 0;
    }
    break;
  case MOAT_MOUNT_TAR:
    err = tarfs_create(m->tar_base, m->tar_size, &base, g_why, sizeof(g_why));
    if (err) {
      if (why)
        *why = g_why;
      return err;
    }
    if (m->access == MOAT_ACCESS_RO) {
      *out = base;
      return 0;
    }
    break;
  case MOAT_MOUNT_MEMFS:
    *out = memfs_create();
    if (!*out)
      return fail(-LINUX_ENOMEM, why, "memfs for %s", m->guest_path);
    (*out)->root->mode =
        LINUX_S_IFDIR | (m->file_mode ? m->file_mode & 07777 : 01777);
    return 0;
  default:
    return fail(-LINUX_EINVAL, why, "mount %s: unknown kind", m->guest_path);
  }
  *out = overlay_create(base->root);
  if (!*out)
    return fail(-LINUX_ENOMEM, why, "overlay for %s", m->guest_path);
  return 0;
}

static bool is_root_path(const char *p) {
  if (!p || p[0] != '/')
    return false;
  while (*p == '/')
    p++;
  return *p == 0;
}

static bool has_files(const struct moat_config *cfg) {
  for (int i = 0; i < cfg->nmounts; i++)
    if (cfg->mounts[i].kind == MOAT_MOUNT_FILE)
      return true;
  return false;
}

/* A read-only root that files must be placed in is built with its
 * in-memory layer and made read-only once they are there (late_rdonly). */
static int build_root(const struct moat_config *cfg, int *root_index,
                      struct superblock **late_rdonly, const char **why) {
  *root_index = -1;
  *late_rdonly = NULL;
  for (int i = 0; i < cfg->nmounts; i++)
    if (cfg->mounts[i].kind != MOAT_MOUNT_SYMLINK &&
        cfg->mounts[i].kind != MOAT_MOUNT_FILE &&
        is_root_path(cfg->mounts[i].guest_path)) {
      *root_index = i;
      break;
    }
  if (*root_index >= 0) {
    struct moat_mount m = cfg->mounts[*root_index];
    bool late = m.access == MOAT_ACCESS_RO && has_files(cfg) &&
                m.kind != MOAT_MOUNT_MEMFS;
    if (late)
      m.access = MOAT_ACCESS_COW;
    struct superblock *sb;
    int err = mount_fs(&m, &sb, why);
    if (err)
      return err;
    vfs_set_root(sb->root);
    if (late)
      *late_rdonly = sb;
    return 0;
  }
  struct superblock *sb = memfs_create();
  if (!sb)
    return fail(-LINUX_ENOMEM, why, "%s", "the root file system");
  vfs_set_root(sb->root);
  static const struct {
    const char *path;
    uint32_t mode;
  } dirs[] = {{"/tmp", 01777},
              {"/home", 0755},
              {"/root", 0700},
              {"/var", 0755},
              {"/run", 0755}};
  for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
    int err = vfs_mkdir_p(dirs[i].path, dirs[i].mode);
    if (err)
      return fail(err, why, "cannot create %s", dirs[i].path);
  }
  return 0;
}

static int build_mounts(const struct moat_config *cfg, int root_index,
                        const char **why) {
  for (int i = 0; i < cfg->nmounts; i++) {
    const struct moat_mount *m = &cfg->mounts[i];
    if (i == root_index)
      continue;
    if (!m->guest_path || m->guest_path[0] != '/')
      return fail(-LINUX_EINVAL, why, "mount point %s must be absolute",
                  m->guest_path ? m->guest_path : "(none)");
    int err;
    if (m->kind == MOAT_MOUNT_FILE)
      continue; /* place_files, once every mount is there */
    if (m->kind == MOAT_MOUNT_SYMLINK) {
      if (!m->target || !m->target[0])
        return fail(-LINUX_EINVAL, why, "symlink %s has no target",
                    m->guest_path);
      err = vfs_symlink_path(m->guest_path, m->target);
      if (err)
        return fail(err, why, "cannot create the symlink %s", m->guest_path);
      continue;
    }
    if (is_root_path(m->guest_path))
      return fail(-LINUX_EINVAL, why, "%s is mounted twice", "/");
    struct superblock *sb;
    err = mount_fs(m, &sb, why);
    if (err)
      return err;
    err = vfs_mount(m->guest_path, sb);
    if (err)
      return fail(err, why, "cannot mount %s", m->guest_path);
  }
  return 0;
}

/* Regular files with the contents the runner read from the host at
 * start (a file bind mount of an OCI config: /etc/hosts, /etc/hostname),
 * made with their parent directories. */
static int place_files(const struct moat_config *cfg, const char **why) {
  for (int i = 0; i < cfg->nmounts; i++) {
    const struct moat_mount *m = &cfg->mounts[i];
    if (m->kind != MOAT_MOUNT_FILE)
      continue;
    if (!m->guest_path || m->guest_path[0] != '/' ||
        is_root_path(m->guest_path) || (m->file_size && !m->file_data))
      return fail(-LINUX_EINVAL, why, "file %s", m->guest_path);
    char *parent = rt_strdup(m->guest_path);
    if (!parent)
      return fail(-LINUX_ENOMEM, why, "file %s", m->guest_path);
    char *slash = rt_strrchr(parent, '/');
    int err = 0;
    if (slash && slash != parent) {
      *slash = 0;
      err = vfs_mkdir_p(parent, 0755);
    }
    /* Only into the sandbox's own memory: a copy written through a host
     * directory grant would overwrite the host's file. */
    struct inode *dir = NULL;
    if (!err && slash && slash != parent)
      err = vfs_resolve(NULL, parent, VFS_FOLLOW | VFS_DIRECTORY, &dir);
    else if (!err)
      dir = vfs_root(); /* a reference of its own */
    kfree(parent);
    if (!err && dir && dir->sb && dir->sb->magic == HOSTFS_MAGIC)
      err = -LINUX_EXDEV;
    vfs_inode_put(dir);
    if (err == -LINUX_EXDEV)
      return fail(err, why,
                  "the file %s would be written into a host "
                  "directory grant",
                  m->guest_path);
    struct file *f = NULL;
    if (!err)
      err = vfs_open(NULL, m->guest_path,
                     LINUX_O_WRONLY | LINUX_O_CREAT | LINUX_O_TRUNC |
                         LINUX_O_NOFOLLOW,
                     m->file_mode & 07777, &f);
    uint64_t pos = 0;
    for (size_t done = 0; !err && done < m->file_size;) {
      long n = f->ops && f->ops->write
                   ? f->ops->write(f, (const char *)m->file_data + done,
                                   m->file_size - done, &pos)
                   : -LINUX_EINVAL;
      if (n <= 0)
        err = n < 0 ? (int)n : -LINUX_EIO;
      else
        done += (size_t)n;
    }
    if (f)
      file_put(f);
    if (err)
      return fail(err, why, "cannot place the file %s", m->guest_path);
  }
  return 0;
}

/* /dev and /proc; on a read-only root without those directories there is
 * nowhere to put them, so they are left out. */
static int build_system_dirs(const struct moat_config *cfg, const char **why) {
  struct superblock *dev, *pts;
  int err = devfs_create(cfg->uid, cfg->gid, &dev);
  if (err)
    return fail(err, why, "%s", "/dev");
  /* The pty table exists even where /dev cannot be mounted: the console
   * needs it. */
  err = devpts_create(&pts);
  if (err)
    return fail(err, why, "%s", "/dev/pts");
  err = vfs_mount("/dev", dev);
  if (err == 0) {
    struct superblock *shm = memfs_create();
    if (!shm)
      return fail(-LINUX_ENOMEM, why, "%s", "/dev/shm");
    shm->root->mode = LINUX_S_IFDIR | 01777;
    err = vfs_mount("/dev/shm", shm);
    if (err)
      return fail(err, why, "cannot mount %s", "/dev/shm");
    err = vfs_mount("/dev/pts", pts);
    if (err)
      return fail(err, why, "cannot mount %s", "/dev/pts");
  } else if (err != -LINUX_EROFS) {
    return fail(err, why, "cannot mount %s", "/dev");
  }
  struct superblock *proc;
  err = procfs_create(&proc);
  if (err)
    return fail(err, why, "%s", "/proc");
  err = vfs_mount("/proc", proc);
  if (err && err != -LINUX_EROFS)
    return fail(err, why, "cannot mount %s", "/proc");
  return 0;
}

static int start_first_process(const struct moat_config *cfg,
                               const char **why) {
  const char *cwd_path = cfg->cwd && cfg->cwd[0] ? cfg->cwd : "/";
  struct inode *cwd = NULL, *root = NULL;
  struct fd_table *fdt = NULL;
  int err = vfs_resolve(NULL, cwd_path, VFS_FOLLOW | VFS_DIRECTORY, &cwd);
  if (err)
    return fail(err, why, "working directory %s", cwd_path);
  struct proc *p;
  err =
      task_create_first(cfg->uid, cfg->gid, cfg->rlimits, cfg->rlimits_set, &p);
  if (err) {
    fail(err, why, "%s", "the first process");
    goto out;
  }
  p->cred.ngroups = MIN(cfg->ngroups, MOAT_MAX_GROUPS);
  for (uint32_t i = 0; i < p->cred.ngroups; i++)
    p->cred.groups[i] = cfg->groups[i];
  root = vfs_root();
  p->fs = fs_context_create(root, cwd);
  fdt = fdt_create();
  if (!p->fs || !fdt) {
    err = fail(-LINUX_ENOMEM, why, "%s", "the first process");
    goto out;
  }
  fdt_set_max(fdt, (uint32_t)MIN(p->rlimit[LINUX_RLIMIT_NOFILE].rlim_cur,
                                 FDT_HARD_MAX));
  for (int s = 0; s < 3; s++) {
    struct file *f;
    err =
        pty_console_stream(s) ? pty_console_open(&f) : devfs_open_stdio(s, &f);
    if (!err) {
      err = fdt_install_at(fdt, s, f, false);
      file_put(f);
    }
    if (err < 0) {
      fail(err, why, "%s", "the standard streams");
      goto out;
    }
  }
  p->fdt = fdt;
  fdt = NULL;
  pty_console_attach(p);   /* its session's terminal, its group in front */
  time_cpu_limit_start(p); /* --cpu-time */
  err = 0;
out:
  if (fdt)
    fdt_put(fdt);
  vfs_inode_put(root);
  vfs_inode_put(cwd);
  return err;
}

int moat_boot(const struct moat_config *cfg, const char **why) {
  if (why)
    *why = NULL;
  if (g_booted)
    return fail(-LINUX_EBUSY, why, "%s", "the sandbox is already built");
  if (!cfg || cfg->nmounts < 0 || cfg->nmounts > MOAT_MAX_MOUNTS)
    return fail(-LINUX_EINVAL, why, "%s", "the configuration");
  struct plat_info pi;
  plat_info(&pi);
  if (pi.version != PLAT_CONTRACT_VERSION)
    return fail(-LINUX_EINVAL, why, "%s",
                "the platform implements another South contract version");
  if (pi.window_lo > MM_WINDOW_START || pi.window_hi < MM_WINDOW_END)
    return fail(-LINUX_EINVAL, why, "%s",
                "the platform's guest window is smaller than "
                "[0x10000, 0x400000000000)");
  g_config = *cfg;
  cfg = &g_config;
  int err = rt_arena_init(0);
  if (err)
    return fail(err, why, "%s", "the sandbox arena");
  err = vfs_init();
  if (err)
    return fail(err, why, "%s", "the file system layer");
  err = mm_init(cfg->mem_limit);
  if (!err)
    err = memfs_pool_init(cfg->tmp_size);
  if (!err)
    err = task_table_init(cfg->hostname, cfg->max_tasks);
  if (err)
    return fail(err, why, "%s", "the process table");
  int root_index;
  struct superblock *late_rdonly;
  vfs_now_freeze(true);
  err = build_root(cfg, &root_index, &late_rdonly, why);
  if (!err)
    err = build_mounts(cfg, root_index, why);
  if (!err)
    err = place_files(cfg, why);
  if (!err)
    err = build_system_dirs(cfg, why);
  if (!err && late_rdonly)
    late_rdonly->flags |= VFS_SB_RDONLY;
  vfs_now_freeze(false);
  if (!err && cfg->console) {
    err = pty_console_create(&cfg->console_tio, cfg->console_streams);
    if (err)
      fail(err, why, "%s", "the console (the host's terminal)");
  }
  if (!err)
    err = start_first_process(cfg, why);
  if (!err && cfg->console) {
    err = pty_console_start();
    if (err)
      fail(err, why, "%s", "the console's reader");
  }
  if (err)
    return err;
  g_booted = true;
  return 0;
}
