/* Pipes and named pipes (fifos), entirely in the core: a 64 KiB ring in
 * the arena. Writes of at most PIPE_BUF bytes are atomic; a reader sees
 * end of file once every writer has gone; a writer with no reader gets
 * EPIPE and SIGPIPE. Sleepers wait as pollers do (core/poll.h): on their
 * own wake word, which every state change and every signal bumps, in
 * whichever guest process it happens.
 *
 * An anonymous pipe is an S_IFIFO inode of an internal "pipefs" with the
 * pipe state in inode->fifo, exactly like a named pipe, so both ends share
 * one inode (fstat shows the same ino) and the state goes with the inode. */
#include "poll.h"
#include "task.h"
#include "vfs_impl.h"

#include "moat/platform.h"

#define PIPE_SIZE 65536u
#define PIPE_BUF 4096u
#define PIPEFS_MAGIC 0x50495045ull
/* f->pos of a reopened anonymous pipe: no count of write opens equals it */
#define ANON_REOPEN (~0ull)

struct pipe {
  struct rt_lock lock;
  uint32_t seq; /* futex word: changes on every state change */
  uint32_t readers, writers;
  uint32_t read_opens, write_opens; /* counts of opens, for fifo open */
  uint8_t *buf;
  uint32_t head; /* next byte to read */
  uint32_t count;
};

static struct pipe *pipe_alloc(void) {
  struct pipe *p = kzalloc(sizeof(*p));
  if (!p)
    return NULL;
  p->buf = kmalloc(PIPE_SIZE);
  if (!p->buf) {
    kfree(p);
    return NULL;
  }
  return p;
}

void pipe_fifo_release(struct pipe *p) {
  if (!p)
    return;
  kfree(p->buf);
  kfree(p);
}

static void changed(struct pipe *p) {
  __atomic_add_fetch(&p->seq, 1, __ATOMIC_SEQ_CST);
  poll_notify_obj(p); /* wakes the pipe's sleepers and pollers */
}

/* Sleep until something changes, in whichever guest process it happens
 * (the pipe's lock dropped meanwhile). -EINTR when a signal is pending. */
static int wait_change(struct pipe *p) {
  return poll_sleep_on(p, &p->lock);
}

static struct pipe *pipe_of(struct file *f) {
  return f->private;
}

static long pipe_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  struct pipe *p = pipe_of(f);
  long rc;
  if (len == 0)
    return 0;
  rt_lock(&p->lock);
  for (;;) {
    if (p->count) {
      /* The buffer is the guest's: what did not copy stays in the pipe. */
      rc = rt_ring_take_user(buf, p->buf, PIPE_SIZE, &p->head, &p->count, len);
      if (rc > 0)
        changed(p);
      break;
    }
    if (!p->writers) {
      rc = 0;
      break;
    }
    if (f->flags & LINUX_O_NONBLOCK) {
      rc = -LINUX_EAGAIN;
      break;
    }
    rc = wait_change(p);
    if (rc < 0)
      break;
  }
  rt_unlock(&p->lock);
  return rc;
}

void pipe_raise_sigpipe(void) {
  struct task *t = task_current();
  if (!t)
    return;
  struct linux_siginfo info;
  memset(&info, 0, sizeof(info));
  info.si_signo = LINUX_SIGPIPE;
  info.si_code = LINUX_SI_USER;
  info.u.kill.pid = t->proc->pid;
  info.u.kill.uid = t->proc->cred.ruid;
  signal_send(t->proc, t, &info);
}

static long pipe_write(struct file *f, const void *buf, size_t len,
                       uint64_t *pos) {
  struct pipe *p = pipe_of(f);
  size_t done = 0;
  long rc = 0;
  if (len == 0)
    return 0;
  rt_lock(&p->lock);
  while (done < len) {
    if (!p->readers) {
      rc = -LINUX_EPIPE;
      break;
    }
    uint32_t room = PIPE_SIZE - p->count;
    /* A write of at most PIPE_BUF bytes goes in whole or not at all. */
    bool need_all = len <= PIPE_BUF;
    if (room == 0 || (need_all && room < len)) {
      if (f->flags & LINUX_O_NONBLOCK) {
        rc = -LINUX_EAGAIN;
        break;
      }
      rc = wait_change(p);
      if (rc < 0)
        break;
      continue;
    }
    size_t n = MIN(len - done, (size_t)room);
    uint32_t tail = (p->head + p->count) % PIPE_SIZE;
    size_t first = MIN(n, (size_t)(PIPE_SIZE - tail));
    size_t left = rt_ucopy(p->buf + tail, (const char *)buf + done, first);
    if (!left)
      left = rt_ucopy(p->buf, (const char *)buf + done + first, n - first);
    else
      left += n - first;
    n -= left;
    p->count += (uint32_t)n;
    done += n;
    if (n)
      changed(p);
    if (left) {
      rc = -LINUX_EFAULT;
      break;
    }
  }
  rt_unlock(&p->lock);
  if (rc == -LINUX_EPIPE)
    pipe_raise_sigpipe();
  if (done)
    return (long)done;
  return rc;
}

static void pipe_release(struct file *f) {
  struct pipe *p = pipe_of(f);
  epoll_file_released(f);
  if (!p)
    return;
  unsigned acc = f->flags & LINUX_O_ACCMODE;
  rt_lock(&p->lock);
  if (acc == LINUX_O_RDONLY || acc == LINUX_O_RDWR)
    p->readers--;
  if (acc == LINUX_O_WRONLY || acc == LINUX_O_RDWR)
    p->writers--;
  if (!p->readers && !p->writers) {
    p->head = 0; /* a fifo forgets its data when nobody has it open */
    p->count = 0;
  }
  changed(p);
  rt_unlock(&p->lock);
}

static int pipe_ioctl(struct file *f, unsigned request, void *arg) {
  if (request == LINUX_FIONREAD) {
    struct pipe *p = pipe_of(f);
    rt_lock(&p->lock);
    *(int32_t *)arg = (int32_t)p->count;
    rt_unlock(&p->lock);
    return 0;
  }
  return -LINUX_ENOTTY;
}

static unsigned pipe_poll(struct file *f, unsigned events) {
  struct pipe *p = pipe_of(f);
  unsigned acc = f->flags & LINUX_O_ACCMODE;
  unsigned ready = 0;
  rt_lock(&p->lock);
  if (acc == LINUX_O_RDONLY || acc == LINUX_O_RDWR) {
    if (p->count)
      ready |= VFS_POLLIN | VFS_POLLRDNORM;
    /* A fifo reader sees HUP only once a writer came after its open and
     * left, as on Linux (f->pos, unused by streams, holds the count of
     * write opens at its open). */
    if (!p->writers && (f->ops != &pipe_fifo_ops || f->pos != p->write_opens))
      ready |= VFS_POLLHUP;
  }
  if (acc == LINUX_O_WRONLY || acc == LINUX_O_RDWR) {
    if (PIPE_SIZE - p->count >= PIPE_BUF)
      ready |= VFS_POLLOUT | VFS_POLLWRNORM;
    if (!p->readers)
      ready |= VFS_POLLERR;
  }
  rt_unlock(&p->lock);
  return ready & (events | VFS_POLLHUP | VFS_POLLERR);
}

/* Open a named pipe: the reader waits for a writer and the writer for a
 * reader, unless O_NONBLOCK (then a writer without reader gets ENXIO).
 * An anonymous pipe reopened through /proc/self/fd/N (or /dev/stdin) is a
 * new open file description of the same pipe that never waits, as Linux's
 * fifo_open does for a pipefs inode: a reader whose writers are all gone
 * reads EOF (and polls HUP), a writer without readers gets EPIPE. */
static int fifo_open(struct inode *inode, struct file *f) {
  rt_lock(&vfs_shared()->pipe_lock);
  if (!inode->fifo)
    inode->fifo = pipe_alloc();
  struct pipe *p = inode->fifo;
  bool anon = inode->sb && inode->sb == vfs_shared()->pipefs;
  rt_unlock(&vfs_shared()->pipe_lock);
  if (!p)
    return -LINUX_ENOMEM;
  unsigned acc = f->flags & LINUX_O_ACCMODE;
  bool nonblock = f->flags & LINUX_O_NONBLOCK;
  int rc = 0;
  rt_lock(&p->lock);
  if (anon) {
    if (acc == LINUX_O_RDONLY || acc == LINUX_O_RDWR)
      p->readers++;
    if (acc == LINUX_O_WRONLY || acc == LINUX_O_RDWR)
      p->writers++;
    f->pos = ANON_REOPEN; /* HUP whenever no writer is left (pipe_poll) */
    changed(p);
  } else if (acc == LINUX_O_RDWR) {
    p->readers++;
    p->writers++;
    p->read_opens++;
    p->write_opens++;
    changed(p);
  } else if (acc == LINUX_O_RDONLY) {
    p->readers++;
    p->read_opens++;
    f->pos = p->write_opens;
    changed(p);
    uint32_t opens = p->write_opens;
    while (!nonblock && !p->writers && p->write_opens == opens) {
      rc = wait_change(p);
      if (rc < 0) {
        p->readers--;
        changed(p);
        break;
      }
    }
  } else {
    if (!p->readers && nonblock) {
      rc = -LINUX_ENXIO;
    } else {
      p->writers++;
      p->write_opens++;
      changed(p);
      uint32_t opens = p->read_opens;
      while (!p->readers && p->read_opens == opens) {
        rc = wait_change(p);
        if (rc < 0) {
          p->writers--;
          changed(p);
          break;
        }
      }
    }
  }
  rt_unlock(&p->lock);
  if (rc == 0)
    f->private = p;
  return rc;
}

const struct file_ops pipe_fifo_ops = {
    .open = fifo_open,
    .release = pipe_release,
    .read = pipe_read,
    .write = pipe_write,
    .ioctl = pipe_ioctl,
    .poll = pipe_poll,
    .epoll_release_hook = true,
    .stream = true,
};

static int pipe_anon_open(struct inode *inode, struct file *f) {
  f->private = inode->fifo;
  return 0;
}

static const struct file_ops pipe_anon_ops = {
    .open = pipe_anon_open,
    .release = pipe_release,
    .read = pipe_read,
    .write = pipe_write,
    .ioctl = pipe_ioctl,
    .poll = pipe_poll,
    .epoll_release_hook = true,
    .stream = true,
};

int pipe_create(unsigned flags, struct file **out_read,
                struct file **out_write) {
  if (flags & ~(unsigned)(LINUX_O_NONBLOCK | LINUX_O_CLOEXEC | LINUX_O_DIRECT))
    return -LINUX_EINVAL;
  rt_lock(&vfs_shared()->pipe_lock);
  struct vfs_shared *v = vfs_shared();
  if (!v->pipefs)
    v->pipefs = vfs_sb_alloc("pipefs", PIPEFS_MAGIC, 0);
  struct superblock *sb = v->pipefs;
  rt_unlock(&vfs_shared()->pipe_lock);
  if (!sb)
    return -LINUX_ENOMEM;
  struct inode *inode =
      vfs_inode_alloc(sb, LINUX_S_IFIFO | 0600, &nameless_iops, NULL);
  if (!inode)
    return -LINUX_ENOMEM;
  vfs_cred(&inode->uid, &inode->gid);
  struct file *r = NULL, *w = NULL;
  int rc = -LINUX_ENOMEM;
  inode->fifo = pipe_alloc();
  if (!inode->fifo)
    goto out;
  inode->fifo->readers = 1;
  inode->fifo->writers = 1;
  unsigned keep = flags & (LINUX_O_NONBLOCK | LINUX_O_DIRECT);
  rc = file_open_inode(inode, LINUX_O_RDONLY | keep, &pipe_anon_ops, &r);
  if (rc < 0)
    goto out;
  rc = file_open_inode(inode, LINUX_O_WRONLY | keep, &pipe_anon_ops, &w);
  if (rc < 0)
    goto out;
  *out_read = r;
  *out_write = w;
  r = w = NULL;
out:
  file_put(r);
  file_put(w);
  vfs_inode_put(inode);
  return rc;
}
