/* devfs: /dev of the sandbox, and the stdio devices.
 *
 * Devices: null (1:3), zero (1:5), full (1:7), random (1:8), urandom (1:9)
 * and tty (5:0, the controlling terminal: whichever host stream is a
 * terminal, -ENXIO when none is). They are registered with the vfs by
 * number, so a device node in a tar image or made by mknod works too.
 *
 * The stdio devices are three character devices (136:0..2, as pseudo
 * terminals, when the host stream is a terminal; 0:0 otherwise) that read
 * and write the host's streams through plat_stdio_*.
 * They back fds 0, 1, 2 of the first process. They always report S_IFCHR,
 * even when the host stream is a pipe or file: a fifo type would make a
 * reopen through /dev/fd go to the vfs's fifo code instead of the host
 * stream.
 *
 * /dev/stdin, stdout, stderr are symlinks to /proc/self/fd/0, 1, 2, as on
 * Linux. /dev/fd is a directory of its own (Linux: a symlink to
 * /proc/self/fd), so it works even where /proc could not be mounted; its
 * entry N, like /proc/<pid>/fd/N (the same operations), is the inode open
 * at fd N of the calling process: opening it opens that inode again, which
 * is what opening /proc/self/fd/N does for everything but pipes. Open
 * directories are not listed: handing a directory inode to the vfs under
 * another name would move its ".." there. */
#include "devfs.h"

#include "file.h"
#include "moat/platform.h"
#include "poll.h"
#include "proc.h"
#include "pty.h"
#include "rt.h"
#include "task.h"
#include "vfs.h"

#define MAX_ENTRIES 16
#define RW_MAX LINUX_MAX_RW_COUNT

struct devfs_entry {
  const char *name;
  struct inode *inode;
};

struct devfs_dir {
  struct devfs_entry ents[MAX_ENTRIES];
  int n;
};

static struct superblock *g_devfs_sb;
static struct inode *g_stdio_inode[3];
static bool g_stdio_tty[3];

/* ---- stream devices: stdio and tty ----
 * A stdio inode and its files carry (set << 8) | (stream + 1) in their
 * private word: which host stream, of which set of host streams. Set 0
 * is the sandbox's own (what the runner was given, which every process
 * forked from the first one holds); a process started from outside
 * (moat_spawn, docs/oci.md "exec") holds a set of its own, its caller's,
 * in its host process and those forked from it. A host stream can only
 * be used from a host process that holds its set: from any other, a file
 * of it (reached through /proc/PID/fd, or passed in a message) gets EIO
 * instead of the wrong stream. */
/* The calling process's set (struct proc, stdio_set; 0 without one). */
static uint32_t host_set(void) {
  return task_current() ? proc_current()->stdio_set : 0;
}

static uintptr_t stream_word(uint32_t set, int stream) {
  return ((uintptr_t)set << 8) | (uintptr_t)(stream + 1);
}

/* The host stream of f, or -1 when this host process does not hold it. */
static int file_stream(struct file *f) {
  uintptr_t w = (uintptr_t)f->private;
  if (!w || (w >> 8) != host_set())
    return -1;
  return (int)(w & 0xff) - 1;
}

_Static_assert(sizeof(struct plat_termios) == sizeof(struct linux_termios),
               "a guest's termios is the contract's");
_Static_assert(sizeof(struct plat_winsize) == sizeof(struct linux_winsize),
               "a guest's winsize is the contract's");

static bool stream_is_tty(int stream) {
  struct plat_termios t;
  return plat_stdio_term(stream, PLAT_TERM_GET, &t) == 0;
}

/* A terminal stream whose read returns at once, data or not (no ICANON,
 * VMIN and VTIME 0): Linux's read then says 0, also a non-blocking one. */
static bool stream_reads_at_once(int stream) {
  struct plat_termios t;
  return plat_stdio_term(stream, PLAT_TERM_GET, &t) == 0 &&
         !(t.c_lflag & LINUX_ICANON) && t.c_cc[LINUX_VMIN] == 0 &&
         t.c_cc[LINUX_VTIME] == 0;
}

static long stream_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  int s = file_stream(f);
  if (s < 0)
    return -LINUX_EIO; /* another set's stream (see above) */
  if (len > RW_MAX)
    len = RW_MAX;
  /* The host's stream blocks (O_NONBLOCK is the guest's description's,
   * never set on the host's): a non-blocking read asks first. */
  if ((f->flags & LINUX_O_NONBLOCK) &&
      !(poll_host(PLAT_IO_STREAM, s, VFS_POLLIN) &
        (VFS_POLLIN | VFS_POLLHUP | VFS_POLLERR)) &&
      !stream_reads_at_once(s)) {
    epoll_host_drained(f, VFS_POLLIN);
    return -LINUX_EAGAIN;
  }
  task_sleep_mark(true); /* the host's read may block */
  long n = plat_io_read(PLAT_IO_STREAM, s, buf, len, 0);
  task_sleep_mark(false);
  if (n > (long)len)
    return -LINUX_EIO; /* the host is untrusted */
  return n;
}

static long stream_write(struct file *f, const void *buf, size_t len,
                         uint64_t *pos) {
  int s = file_stream(f);
  if (s < 0)
    return -LINUX_EIO; /* another set's stream (see above) */
  if (len == 0)
    return 0;
  if (len > RW_MAX)
    len = RW_MAX;
  long n = plat_io_write(PLAT_IO_STREAM, s, buf, len, 0);
  if (n > (long)len)
    return -LINUX_EIO;
  if (n == -LINUX_EPIPE && task_current()) {
    /* As a write to a pipe without readers: SIGPIPE, then EPIPE. */
    struct linux_siginfo info;
    memset(&info, 0, sizeof(info));
    info.si_signo = LINUX_SIGPIPE;
    info.si_code = LINUX_SI_USER;
    info.u.kill.pid = proc_current()->pid;
    info.u.kill.uid = proc_current()->cred.ruid;
    signal_send(proc_current(), task_current(), &info);
  }
  return n;
}

static int stream_ioctl(struct file *f, unsigned request, void *arg) {
  int s = file_stream(f);
  if (s < 0)
    return -LINUX_EIO; /* another set's stream (see above) */
  switch (request) {
  case LINUX_TCGETS:
    return plat_stdio_term(s, PLAT_TERM_GET, arg);
  case LINUX_TCSETS:
    return plat_stdio_term(s, PLAT_TERM_SET, arg);
  case LINUX_TCSETSW:
    return plat_stdio_term(s, PLAT_TERM_SET_DRAIN, arg);
  case LINUX_TCSETSF:
    return plat_stdio_term(s, PLAT_TERM_SET_FLUSH, arg);
  case LINUX_TIOCGWINSZ:
    return plat_stdio_term(s, PLAT_TERM_GET_SIZE, arg);
  case LINUX_TIOCSWINSZ:
    return plat_stdio_term(s, PLAT_TERM_SET_SIZE, arg);
  case LINUX_TIOCGPGRP:
    /* The host's process group means nothing inside: the foreground
     * group is the sandbox's first process group. */
    if (!stream_is_tty(s))
      return -LINUX_ENOTTY;
    *(int32_t *)arg = task_current() ? proc_current()->pgid : 1;
    return 0;
  case LINUX_TIOCSPGRP:
    if (!stream_is_tty(s))
      return -LINUX_ENOTTY;
    if (task_current() && *(const int32_t *)arg != proc_current()->pgid)
      return -LINUX_EPERM;
    return 0;
  case LINUX_TIOCSCTTY:
    return stream_is_tty(s) ? 0 : -LINUX_ENOTTY;
  default:
    return -LINUX_ENOTTY;
  }
}

/* The host's answer, checked without waiting; a poller's sleep watches
 * the stream (poll_host). */
static unsigned stream_poll(struct file *f, unsigned events) {
  int s = file_stream(f);
  if (s < 0)
    return VFS_POLLERR; /* another set's stream */
  return poll_host(PLAT_IO_STREAM, s, events) & 0x3ffu;
}

/* readlink of /proc/PID/fd/N on a host stream that is no terminal: the
 * host's own name for it is not the guest's business. */
static long stdio_readlink(struct inode *inode, char *buf, size_t len) {
  static const char *const names[] = {"host:[stdin]", "host:[stdout]",
                                      "host:[stderr]"};
  uintptr_t w = (uintptr_t)inode->private;
  int s = (int)(w & 0xff) - 1;
  if (s < 0 || s > 2)
    return -LINUX_EINVAL;
  size_t n = rt_strlen(names[s]);
  memcpy(buf, names[s], MIN(n, len));
  return (long)n;
}

static const struct inode_ops stdio_iops = {.readlink = stdio_readlink,
                                            .nameless = true};

static int stdio_open(struct inode *inode, struct file *f) {
  f->private = inode->private;
  return f->private ? 0 : -LINUX_ENXIO;
}

static const struct file_ops stdio_fops = {
    .open = stdio_open,
    .read = stream_read,
    .write = stream_write,
    .ioctl = stream_ioctl,
    .poll = stream_poll,
    .stream = true,
};

/* /dev/tty: the caller's controlling terminal when it is a pty of the
 * sandbox; otherwise, unless the caller made a session of its own, the
 * first host stream that is a terminal (reads come from stream 0 when it
 * is one). */
static int tty_open(struct inode *inode, struct file *f) {
  static const int order[3] = {0, 2, 1};
  int rc = pty_open_dev_tty(f);
  if (rc != -LINUX_ENOENT)
    return rc;
  if ((task_current() && proc_current()->no_host_tty) || pty_console_active())
    return -LINUX_ENXIO; /* no terminal, or only the console's slave */
  for (int i = 0; i < 3; i++)
    if (stream_is_tty(order[i])) {
      f->private = (void *)stream_word(host_set(), order[i]);
      return 0;
    }
  return -LINUX_ENXIO;
}

static const struct file_ops tty_fops = {
    .open = tty_open,
    .read = stream_read,
    .write = stream_write,
    .ioctl = stream_ioctl,
    .poll = stream_poll,
    .stream = true,
};

/* ---- memory devices ---- */

static long null_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  return 0;
}

static long null_write(struct file *f, const void *buf, size_t len,
                       uint64_t *pos) {
  return (long)MIN(len, RW_MAX);
}

static long zero_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  len = MIN(len, RW_MAX);
  return rt_ucopy_result(len, rt_ufill(buf, 0, len));
}

static long full_write(struct file *f, const void *buf, size_t len,
                       uint64_t *pos) {
  return len ? -LINUX_ENOSPC : 0;
}

static long random_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  len = MIN(len, RW_MAX);
  size_t done = 0;
  while (done < len) {
    size_t chunk = MIN(len - done, (size_t)1 << 20);
    long err = rt_urandom((char *)buf + done, chunk);
    if (err < 0)
      return done ? (long)done : err;
    done += chunk;
  }
  return (long)done;
}

static const struct file_ops null_fops = {.read = null_read,
                                          .write = null_write};
static const struct file_ops zero_fops = {.read = zero_read,
                                          .write = null_write};
static const struct file_ops full_fops = {.read = zero_read,
                                          .write = full_write};
static const struct file_ops random_fops = {.read = random_read,
                                            .write = null_write};

/* ---- directories and symlinks ---- */

static int devfs_lookup(struct inode *dir, const char *name,
                        struct inode **out) {
  struct devfs_dir *d = dir->private;
  for (int i = 0; i < d->n; i++)
    if (!rt_strcmp(d->ents[i].name, name)) {
      *out = vfs_inode_get(d->ents[i].inode);
      return 0;
    }
  return -LINUX_ENOENT;
}

static int devfs_readdir(struct inode *dir, uint64_t *pos, vfs_emit_fn emit,
                         void *ctx) {
  struct devfs_dir *d = dir->private;
  for (uint64_t i = *pos - 2; i < (uint64_t)d->n; i++) {
    struct inode *c = d->ents[i].inode;
    const char *name = d->ents[i].name;
    int r = emit(ctx, name, rt_strlen(name), c->ino, vfs_dtype(c->mode), i + 3);
    if (r > 0)
      return 0;
    if (r < 0)
      return r;
    *pos = i + 3;
  }
  return 0;
}

static long devfs_readlink(struct inode *inode, char *buf, size_t len) {
  const char *target = inode->private;
  size_t n = rt_strlen(target);
  memcpy(buf, target, MIN(n, len));
  return (long)n;
}

static const struct inode_ops devfs_iops = {
    .lookup = devfs_lookup,
    .readdir = devfs_readdir,
    .readlink = devfs_readlink,
};

/* /dev/fd: the calling process's open files. */
static bool parse_fd(const char *name, int *out) {
  uint64_t v = 0;
  if (!name[0] || (name[0] == '0' && name[1]))
    return false;
  for (const char *p = name; *p; p++) {
    if (*p < '0' || *p > '9' || v > 0x7fffffff / 10)
      return false;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  if (v > 0x7fffffff)
    return false;
  *out = (int)v;
  return true;
}

/* Whose files a fd directory shows: /dev/fd the caller's, /proc/PID/fd
 * process PID's (its pid in the inode's private word). */
static struct fd_table *dir_fdt(struct inode *dir) {
  return proc_fdt_get(dir->sb == g_devfs_sb ? 0 : (int)(uintptr_t)dir->private);
}

static struct file *dir_fd_lookup(struct inode *dir, int fd) {
  struct fd_table *fdt = dir_fdt(dir);
  if (!fdt)
    return NULL;
  struct file *f = fdt_lookup(fdt, fd);
  fdt_put(fdt);
  return f;
}

/* The open file entry name of dir stands for (a reference), or NULL. */
static struct file *name_fd_file(struct inode *dir, const char *name, int *fd) {
  return parse_fd(name, fd) ? dir_fd_lookup(dir, *fd) : NULL;
}

static int fd_lookup(struct inode *dir, const char *name, struct inode **out) {
  int fd;
  struct file *f = name_fd_file(dir, name, &fd);
  if (!f)
    return -LINUX_ENOENT;
  /* A directory too (cd /proc/self/fd/N works). */
  *out = vfs_inode_get(f->inode);
  file_put(f);
  return 0;
}

/* The inode number of entry fd of dir as a link: the same in a listing
 * and in lstat. */
static uint64_t fd_link_ino(struct inode *dir, int fd) {
  return ((dir->ino * 1000003u) + (uint64_t)fd + 1) & ((1ull << 62) - 1);
}

static long fd_link_readlink(struct inode *link, char *buf, size_t len);

/* An entry seen as itself (lstat, readlink, O_PATH|O_NOFOLLOW, a walk
 * that does not follow the last component): a link owned by the
 * directory's owner, its mode the open file's access as Linux shows it
 * (r-x readable, -wx writable, rwx both), 64 bytes long. */
struct fd_link {
  struct inode *dir; /* a reference: whose descriptor this is */
  int fd;
};

static void fd_link_evict(struct inode *link) {
  struct fd_link *l = link->private;
  if (l)
    vfs_inode_put(l->dir);
  kfree(l);
}

static const struct inode_ops fd_link_iops = {
    .readlink = fd_link_readlink,
    .evict = fd_link_evict,
    .magic_link = true,
};

static int fd_link_entry(struct inode *dir, const char *name,
                         struct inode **out) {
  int fd;
  struct file *f = name_fd_file(dir, name, &fd);
  if (!f)
    return -LINUX_ENOENT;
  uint32_t mode = LINUX_S_IFLNK;
  if (file_readable(f))
    mode |= 0500;
  if (file_writable(f))
    mode |= 0300;
  file_put(f);
  struct fd_link *l = kmalloc(sizeof(*l));
  struct inode *i =
      l ? vfs_inode_alloc(dir->sb, mode, &fd_link_iops, NULL) : NULL;
  if (!i) {
    kfree(l);
    return -LINUX_ENOMEM;
  }
  l->dir = vfs_inode_get(dir);
  l->fd = fd;
  i->private = l;
  i->ino = fd_link_ino(dir, fd);
  i->uid = dir->uid;
  i->gid = dir->gid;
  i->size = 64;
  *out = i;
  return 0;
}

static int fd_readdir(struct inode *dir, uint64_t *pos, vfs_emit_fn emit,
                      void *ctx) {
  struct fd_table *fdt = dir_fdt(dir);
  if (!fdt)
    return 0;
  uint32_t max = fdt_get_max(fdt);
  int r = 0;
  for (uint64_t fd = *pos - 2; fd < max; fd++) {
    struct file *f = fdt_lookup(fdt, (int)fd);
    if (!f)
      continue;
    file_put(f);
    /* Every entry is a link (Linux: DT_LNK), directories included. */
    char name[16];
    int n = rt_snprintf(name, sizeof(name), "%llu", (unsigned long long)fd);
    r = emit(ctx, name, (size_t)n, fd_link_ino(dir, (int)fd),
             vfs_dtype(LINUX_S_IFLNK), fd + 3);
    if (r)
      break;
    *pos = fd + 3;
  }
  fdt_put(fdt);
  return r > 0 ? 0 : r;
}

/* The path of what f was opened as (VFS lock held), as Linux's d_path:
 * the directory's path and the name it was opened by, " (deleted)" once
 * it has no name left; a directory's own path. -EINVAL when unknown (an
 * object without a name: the caller asks the inode). */
static long file_path_locked(struct file *f, char *buf, size_t len) {
  char *tmp = kmalloc(LINUX_PATH_MAX);
  if (!tmp)
    return -LINUX_ENOMEM;
  long n;
  if (LINUX_S_ISTYPE(f->inode->mode, LINUX_S_IFDIR)) {
    n = vfs_path_of_locked(f->inode, tmp, LINUX_PATH_MAX);
  } else if (f->notify_dir && f->notify_name) {
    n = vfs_path_of_locked(f->notify_dir, tmp, LINUX_PATH_MAX);
    if (n >= 0) {
      const char *del = f->inode->nlink == 0 ? " (deleted)" : "";
      int m = rt_snprintf(tmp + n, LINUX_PATH_MAX - (size_t)n, "%s%s%s",
                          n == 1 ? "" : "/", f->notify_name, del);
      n = m < 0 || (size_t)n + (size_t)m >= LINUX_PATH_MAX ? -LINUX_ENAMETOOLONG
                                                           : n + m;
    }
  } else if (f->notify_name) { /* a whole text: memfd's "/memfd:NAME" */
    int m = rt_snprintf(tmp, LINUX_PATH_MAX, "%s%s", f->notify_name,
                        f->inode->nlink == 0 ? " (deleted)" : "");
    n = m < 0 || m >= LINUX_PATH_MAX ? -LINUX_ENAMETOOLONG : m;
  } else {
    n = -LINUX_EINVAL;
  }
  if (n >= 0)
    memcpy(buf, tmp, MIN((size_t)n, len));
  kfree(tmp);
  return n;
}

/* The link's text of descriptor fd of dir (VFS lock held). */
static long fd_readlink(struct inode *dir, int fd, char *buf, size_t len) {
  struct file *f = dir_fd_lookup(dir, fd);
  if (!f)
    return -LINUX_ENOENT;
  long n = pty_fd_link(f, buf, len);
  if (n < 0)
    n = file_path_locked(f, buf, len);
  /* An object without a name says what it is ("pipe:[INO]"). */
  if (n == -LINUX_EINVAL && f->inode->iops && f->inode->iops->nameless &&
      f->inode->iops->readlink)
    n = f->inode->iops->readlink(f->inode, buf, len);
  file_put(f);
  return n;
}

static long fd_link_readlink(struct inode *link, char *buf, size_t len) {
  struct fd_link *l = link->private;
  return fd_readlink(l->dir, l->fd, buf, len);
}

const struct inode_ops devfs_fd_iops = {
    .lookup = fd_lookup,
    .readdir = fd_readdir,
    .link_entry = fd_link_entry,
    .magic_entries = true, /* each entry stands for a magic link */
};

/* ---- building the tree ---- */

static struct inode *new_node(uint32_t mode, const struct inode_ops *iops,
                              const struct file_ops *fops, uint64_t rdev) {
  struct inode *n = vfs_inode_alloc(g_devfs_sb, mode, iops, fops);
  if (!n)
    return NULL;
  n->rdev = rdev;
  if (LINUX_S_ISTYPE(mode, LINUX_S_IFDIR)) {
    n->private = kzalloc(sizeof(struct devfs_dir));
    if (!n->private) {
      vfs_inode_put(n);
      return NULL;
    }
  }
  return n;
}

/* The inode of host stream s of set (set 0: the sandbox's own). Only a
 * terminal gets a pseudo-terminal number: glibc line-buffers any stream
 * whose device major is 136-143 without asking isatty, so a redirected
 * stream with that number would flush differently from native. */
static struct inode *stdio_node(uint32_t set, int s, bool tty, uint32_t uid,
                                uint32_t gid) {
  struct inode *n = new_node(LINUX_S_IFCHR | 0620, &stdio_iops, &stdio_fops,
                             tty ? VFS_MKDEV(136, s) : 0);
  if (n) {
    n->uid = uid;
    n->gid = gid;
    n->private = (void *)stream_word(set, s);
  }
  return n;
}

/* A terminal is open read-write on all three, as a login sets it up;
 * redirected streams look like the ends of a pipe. */
static unsigned stdio_flags(int s, bool tty) {
  return tty ? LINUX_O_RDWR : s == 0 ? LINUX_O_RDONLY : LINUX_O_WRONLY;
}

static int add(struct inode *dir, const char *name, struct inode *child) {
  struct devfs_dir *d = dir->private;
  if (!child)
    return -LINUX_ENOMEM;
  RT_ASSERT(d->n < MAX_ENTRIES);
  d->ents[d->n].name = name;
  d->ents[d->n].inode = child;
  d->n++;
  if (LINUX_S_ISTYPE(child->mode, LINUX_S_IFDIR))
    dir->nlink++;
  return 0;
}

static struct inode *symlink_node(const char *target) {
  struct inode *n = new_node(LINUX_S_IFLNK | 0777, &devfs_iops, NULL, 0);
  if (n) {
    n->private = (void *)target;
    n->size = rt_strlen(target);
  }
  return n;
}

int devfs_create(uint32_t uid, uint32_t gid, struct superblock **out) {
  static const struct {
    const char *name;
    uint32_t major, minor;
    const struct file_ops *fops;
  } devs[] = {
      {"null", 1, 3, &null_fops},      {"zero", 1, 5, &zero_fops},
      {"full", 1, 7, &full_fops},      {"random", 1, 8, &random_fops},
      {"urandom", 1, 9, &random_fops}, {"tty", 5, 0, &tty_fops},
      {"ptmx", 5, 2, &pty_ptmx_fops},
  };
  struct superblock *sb = vfs_sb_alloc("devfs", DEVFS_MAGIC, 0);
  if (!sb)
    return -LINUX_ENOMEM;
  g_devfs_sb = sb;
  struct inode *root = new_node(LINUX_S_IFDIR | 0755, &devfs_iops, NULL, 0);
  if (!root)
    return -LINUX_ENOMEM;
  sb->root = root;
  int err = 0;
  for (size_t i = 0; i < ARRAY_SIZE(devs) && !err; i++) {
    uint64_t rdev = VFS_MKDEV(devs[i].major, devs[i].minor);
    err = vfs_register_chrdev(rdev, devs[i].fops);
    if (!err)
      err =
          add(root, devs[i].name,
              new_node(LINUX_S_IFCHR | 0666, &devfs_iops, devs[i].fops, rdev));
  }
  struct inode *fd_dir =
      err ? NULL : new_node(LINUX_S_IFDIR | 0500, &devfs_fd_iops, NULL, 0);
  if (fd_dir) {
    fd_dir->uid = uid; /* as /proc/self/fd: the process's own */
    fd_dir->gid = gid;
  }
  if (!err)
    err = add(root, "fd", fd_dir);
  if (!err)
    err =
        add(root, "shm", new_node(LINUX_S_IFDIR | 01777, &devfs_iops, NULL, 0));
  if (!err) /* devpts is mounted here (core/pty.c) */
    err =
        add(root, "pts", new_node(LINUX_S_IFDIR | 0755, &devfs_iops, NULL, 0));
  if (!err)
    err = add(root, "stdin", symlink_node("/proc/self/fd/0"));
  if (!err)
    err = add(root, "stdout", symlink_node("/proc/self/fd/1"));
  if (!err)
    err = add(root, "stderr", symlink_node("/proc/self/fd/2"));
  for (int s = 0; s < 3 && !err; s++) {
    g_stdio_tty[s] = stream_is_tty(s);
    g_stdio_inode[s] = stdio_node(0, s, g_stdio_tty[s], uid, gid);
    if (!g_stdio_inode[s])
      err = -LINUX_ENOMEM;
  }
  if (err)
    return err;
  *out = sb;
  return 0;
}

int devfs_spawn_stdio(uint32_t set, struct fd_table *t) {
  if (!set || set >> 24)
    return -LINUX_EINVAL;
  for (int s = 0; s < 3; s++) {
    bool tty = stream_is_tty(s);
    struct inode *n =
        stdio_node(set, s, tty, g_stdio_inode[s] ? g_stdio_inode[s]->uid : 0,
                   g_stdio_inode[s] ? g_stdio_inode[s]->gid : 0);
    if (!n)
      return -LINUX_ENOMEM;
    struct file *f;
    int err = file_open_inode(n, stdio_flags(s, tty), &stdio_fops, &f);
    vfs_inode_put(n); /* the file holds it */
    if (!err) {
      err = fdt_install_at(t, s, f, false);
      file_put(f);
    }
    if (err < 0)
      return err;
  }
  return 0;
}

int devfs_open_stdio(int stream, struct file **out) {
  if (stream < 0 || stream > 2 || !g_stdio_inode[stream])
    return -LINUX_EINVAL;
  return file_open_inode(g_stdio_inode[stream],
                         stdio_flags(stream, g_stdio_tty[stream]), &stdio_fops,
                         out);
}
