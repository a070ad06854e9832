/* Pipes and named pipes (fifos), entirely in the core, laid out as
 * Linux's are: a ring of page-sized slots in the arena (16 by default,
 * F_SETPIPE_SZ changes the count), each holding the bytes of one or more
 * writes. A write first tops up the last slot when its remainder fits
 * there, then fills whole free slots; so a pipe of one page takes 4096
 * bytes, and writes of at most PIPE_BUF bytes are atomic. A writer whose
 * file is O_DIRECT makes packets (pipe2(O_DIRECT)): every slot it fills
 * is one packet that no later write joins, and a read returns at most
 * one packet (the part of it that does not fit is dropped). A reader
 * sees end of file once every writer has gone; a writer with no reader
 * gets EPIPE and SIGPIPE. Sleepers wait as pollers do (core/poll.h): on
 * their own wake word, which every state change and every signal bumps,
 * in whichever guest process it happens.
 *
 * An anonymous pipe is an S_IFIFO inode of an internal "pipefs" with the
 * pipe state in inode->fifo, exactly like a named pipe, so both ends share
 * one inode (fstat shows the same ino) and the state goes with the inode.
 *
 * tee(2) copies slots from one pipe to another, vmsplice(2) copies user
 * memory into new slots (or out, as a read that ignores packets): the
 * data is copied, never shared with the guest's pages. */
#include "poll.h"
#include "task.h"
#include "vfs_impl.h"

#include "moat/platform.h"

#define PIPE_PAGE 4096u
#define PIPE_DEF_SLOTS 16u
#define PIPE_BUF 4096u
#define PIPE_MAX_SIZE 1048576u /* /proc/sys/fs/pipe-max-size */
#define PIPEFS_MAGIC 0x50495045ull
/* f->pos of a reopened anonymous pipe: no count of write opens equals it */
#define ANON_REOPEN (~0ull)

#define SLOT_MERGE 0x1u  /* a later write may add to it */
#define SLOT_PACKET 0x2u /* one packet: a read takes it and stops */

struct pipe_slot {
  uint32_t off, len; /* the bytes at buf + index * PIPE_PAGE + off */
  uint32_t flags;    /* SLOT_* */
};

struct pipe {
  struct rt_lock lock;
  uint32_t seq; /* futex word: changes on every state change */
  uint32_t readers, writers;
  uint32_t read_opens, write_opens; /* counts of opens, for fifo open */
  uint32_t nslots;                  /* capacity in pages: a power of two */
  uint32_t tail;                    /* the oldest occupied slot */
  uint32_t used;                    /* occupied slots */
  uint32_t count;                   /* bytes in the pipe (FIONREAD) */
  uint8_t *buf;                     /* nslots pages */
  struct pipe_slot *slots;
};

static bool pipe_set_ring(struct pipe *p, uint32_t nslots) {
  uint8_t *buf = kmalloc((size_t)nslots * PIPE_PAGE);
  struct pipe_slot *slots = kzalloc(nslots * sizeof(*slots));
  if (!buf || !slots) {
    kfree(buf);
    kfree(slots);
    return false;
  }
  /* The occupied slots move, in order, to the front of the new ring. */
  for (uint32_t i = 0; i < p->used; i++) {
    uint32_t from = (p->tail + i) & (p->nslots - 1);
    slots[i] = p->slots[from];
    memcpy(buf + (size_t)i * PIPE_PAGE, p->buf + (size_t)from * PIPE_PAGE,
           PIPE_PAGE);
  }
  kfree(p->buf);
  kfree(p->slots);
  p->buf = buf;
  p->slots = slots;
  p->nslots = nslots;
  p->tail = 0;
  return true;
}

static struct pipe *pipe_alloc(void) {
  struct pipe *p = kzalloc(sizeof(*p));
  if (!p)
    return NULL;
  if (!pipe_set_ring(p, PIPE_DEF_SLOTS)) {
    kfree(p);
    return NULL;
  }
  return p;
}

void pipe_fifo_release(struct pipe *p) {
  if (!p)
    return;
  kfree(p->buf);
  kfree(p->slots);
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

static bool pipe_full(const struct pipe *p) {
  return p->used >= p->nslots;
}

static uint8_t *slot_data(struct pipe *p, uint32_t index) {
  return p->buf + (size_t)index * PIPE_PAGE + p->slots[index].off;
}

/* Take up to len bytes into buf (guest memory), under the lock, as
 * Linux's pipe_read: slot after slot, stopping after a packet when
 * packets count. Returns the bytes taken or -EFAULT when none could be. */
static long take_locked(struct pipe *p, void *buf, size_t len, bool packets) {
  rt_assert_held(&p->lock);
  size_t done = 0;
  while (p->used && len) {
    struct pipe_slot *s = &p->slots[p->tail];
    size_t chars = MIN((size_t)s->len, len);
    if (rt_ucopy((char *)buf + done, slot_data(p, p->tail), chars))
      return done ? (long)done : -LINUX_EFAULT;
    done += chars;
    s->off += (uint32_t)chars;
    s->len -= (uint32_t)chars;
    p->count -= (uint32_t)chars;
    len -= chars;
    if (packets && (s->flags & SLOT_PACKET)) {
      p->count -= s->len; /* the rest of the packet is dropped */
      s->len = 0;
      len = 0;
    }
    if (!s->len) {
      p->tail = (p->tail + 1) & (p->nslots - 1);
      p->used--;
    }
  }
  return (long)done;
}

static long pipe_read_common(struct file *f, void *buf, size_t len,
                             bool packets, bool nonblock) {
  struct pipe *p = pipe_of(f);
  long rc;
  if (len == 0)
    return 0;
  rt_lock(&p->lock);
  for (;;) {
    if (p->used) {
      /* The buffer is the guest's: what did not copy stays in the pipe. */
      rc = take_locked(p, buf, len, packets);
      if (rc > 0)
        changed(p);
      break;
    }
    if (!p->writers) {
      rc = 0;
      break;
    }
    if (nonblock) {
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

static long pipe_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  (void)pos;
  return pipe_read_common(f, buf, len, true, f->flags & LINUX_O_NONBLOCK);
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

/* Put n bytes from buf (guest memory) into a new slot of flags. false
 * when the copy faulted (the slot is not used then, as Linux drops a
 * page it could not fill). */
static bool put_slot_locked(struct pipe *p, const void *buf, size_t n,
                            uint32_t flags) {
  rt_assert_held(&p->lock);
  uint32_t index = (p->tail + p->used) & (p->nslots - 1);
  if (rt_ucopy(p->buf + (size_t)index * PIPE_PAGE, buf, n))
    return false;
  p->slots[index] = (struct pipe_slot){0, (uint32_t)n, flags};
  p->used++;
  p->count += (uint32_t)n;
  return true;
}

static long pipe_write(struct file *f, const void *buf, size_t len,
                       uint64_t *pos) {
  (void)pos;
  struct pipe *p = pipe_of(f);
  size_t done = 0;
  long rc = 0;
  if (len == 0)
    return 0;
  rt_lock(&p->lock);
  if (!p->readers) {
    rc = -LINUX_EPIPE;
    goto out;
  }
  /* The remainder below a page joins the last slot when it fits there;
   * the rest goes to whole slots (Linux's pipe_write). */
  size_t chars = len & (PIPE_PAGE - 1);
  if (chars && p->used) {
    uint32_t last = (p->tail + p->used - 1) & (p->nslots - 1);
    struct pipe_slot *s = &p->slots[last];
    if ((s->flags & SLOT_MERGE) && s->off + s->len + chars <= PIPE_PAGE) {
      if (rt_ucopy(slot_data(p, last) + s->len, buf, chars)) {
        rc = -LINUX_EFAULT;
        goto out;
      }
      s->len += (uint32_t)chars;
      p->count += (uint32_t)chars;
      done = chars;
      changed(p);
    }
  }
  uint32_t flags = (f->flags & LINUX_O_DIRECT) ? SLOT_PACKET : SLOT_MERGE;
  while (done < len) {
    if (!p->readers) {
      rc = -LINUX_EPIPE;
      break;
    }
    if (!pipe_full(p)) {
      size_t n = MIN(len - done, (size_t)PIPE_PAGE);
      if (!put_slot_locked(p, (const char *)buf + done, n, flags)) {
        rc = -LINUX_EFAULT;
        break;
      }
      done += n;
      changed(p);
      continue;
    }
    if (f->flags & LINUX_O_NONBLOCK) {
      rc = -LINUX_EAGAIN;
      break;
    }
    rc = wait_change(p);
    if (rc < 0)
      break;
  }
out:
  rt_unlock(&p->lock);
  if (rc == -LINUX_EPIPE)
    pipe_raise_sigpipe();
  return done ? (long)done : rc;
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
    p->tail = 0; /* a fifo forgets its data when nobody has it open */
    p->used = 0;
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
    if (p->used)
      ready |= VFS_POLLIN | VFS_POLLRDNORM;
    /* A fifo reader sees HUP only once a writer came after its open and
     * left, as on Linux (f->pos, unused by streams, holds the count of
     * write opens at its open). */
    if (!p->writers && (f->ops != &pipe_fifo_ops || f->pos != p->write_opens))
      ready |= VFS_POLLHUP;
  }
  if (acc == LINUX_O_WRONLY || acc == LINUX_O_RDWR) {
    if (!pipe_full(p)) /* a free slot, as Linux */
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

/* ---- sizes, tee, vmsplice ---------------------------------------------- */

/* The pipe behind an open pipe or fifo (not an O_PATH one), or NULL. */
static struct pipe *pipe_file(struct file *f) {
  if (f->ops != &pipe_fifo_ops && f->ops != &pipe_anon_ops)
    return NULL;
  return pipe_of(f);
}

bool pipe_is_pipe(struct file *f) {
  return pipe_file(f) != NULL;
}

long pipe_get_size(struct file *f) {
  struct pipe *p = pipe_file(f);
  if (!p)
    return -LINUX_EBADF;
  rt_lock(&p->lock);
  long size = (long)p->nslots * PIPE_PAGE;
  rt_unlock(&p->lock);
  return size;
}

/* F_SETPIPE_SZ as Linux's pipe_set_size: the size rounds up to a power of
 * two pages (a page at least); above /proc/sys/fs/pipe-max-size only a
 * shrink or no change is allowed (CAP_SYS_RESOURCE of the initial user
 * namespace, which no guest has, would allow more); fewer slots than the
 * pipe holds now is EBUSY. Returns the new size. */
long pipe_set_size(struct file *f, unsigned arg) {
  struct pipe *p = pipe_file(f);
  if (!p)
    return -LINUX_EBADF;
  if (arg > (1u << 31))
    return -LINUX_EINVAL;
  uint32_t size = PIPE_PAGE;
  while (size < arg)
    size <<= 1;
  uint32_t nslots = size / PIPE_PAGE;
  long rc;
  rt_lock(&p->lock);
  if (nslots > p->nslots && size > PIPE_MAX_SIZE)
    rc = -LINUX_EPERM;
  else if (nslots < p->used)
    rc = -LINUX_EBUSY;
  else if (nslots != p->nslots && !pipe_set_ring(p, nslots))
    rc = -LINUX_ENOMEM;
  else
    rc = (long)p->nslots * PIPE_PAGE;
  if (rc > 0)
    changed(p); /* room for a waiting writer */
  rt_unlock(&p->lock);
  return rc;
}

/* Wait, with p->lock held, until the pipe has data or no writer (0), or
 * -EAGAIN / -EINTR. */
static int wait_readable_locked(struct pipe *p, bool nonblock) {
  while (!p->used && p->writers) {
    if (nonblock)
      return -LINUX_EAGAIN;
    int rc = wait_change(p);
    if (rc < 0)
      return rc;
  }
  return 0;
}

/* Wait, with p->lock held, until the pipe has a free slot (0), or -EPIPE
 * (no reader left; SIGPIPE is the caller's), -EAGAIN, -EINTR. */
static int wait_writable_locked(struct pipe *p, bool nonblock) {
  for (;;) {
    if (!p->readers)
      return -LINUX_EPIPE;
    if (!pipe_full(p))
      return 0;
    if (nonblock)
      return -LINUX_EAGAIN;
    int rc = wait_change(p);
    if (rc < 0)
      return rc;
  }
}

/* tee(2): copy up to len bytes of in's slots to out's, leaving in as it
 * was, as Linux's link_pipe (packets stay packets; the copies never take
 * later writes). Both must be pipes, and different ones. */
long pipe_tee(struct file *in, struct file *out, size_t len, bool nonblock) {
  struct pipe *pi = pipe_file(in), *po = pipe_file(out);
  if (!pi || !po || pi == po)
    return -LINUX_EINVAL;
  nonblock |= ((in->flags | out->flags) & LINUX_O_NONBLOCK) != 0;
  rt_lock(&pi->lock);
  long rc = wait_readable_locked(pi, nonblock);
  rt_unlock(&pi->lock);
  if (rc < 0)
    return rc;
  rt_lock(&po->lock);
  rc = wait_writable_locked(po, nonblock);
  rt_unlock(&po->lock);
  if (rc == -LINUX_EPIPE)
    pipe_raise_sigpipe();
  if (rc < 0)
    return rc;
  /* Both locks, in address order (the only place two pipes are held). */
  struct pipe *first = pi < po ? pi : po, *second = pi < po ? po : pi;
  rt_lock(&first->lock);
  rt_lock(&second->lock);
  size_t done = 0;
  bool sigpipe = false;
  for (uint32_t i = 0; i < pi->used && done < len; i++) {
    if (!po->readers) {
      sigpipe = true;
      break;
    }
    if (pipe_full(po))
      break;
    uint32_t from = (pi->tail + i) & (pi->nslots - 1);
    struct pipe_slot s = pi->slots[from];
    uint32_t to = (po->tail + po->used) & (po->nslots - 1);
    s.len = (uint32_t)MIN((size_t)s.len, len - done);
    memcpy(po->buf + (size_t)to * PIPE_PAGE, slot_data(pi, from), s.len);
    po->slots[to] = (struct pipe_slot){0, s.len, s.flags & ~SLOT_MERGE};
    po->used++;
    po->count += s.len;
    done += s.len;
  }
  if (done)
    changed(po);
  rt_unlock(&second->lock);
  rt_unlock(&first->lock);
  if (sigpipe)
    pipe_raise_sigpipe();
  if (sigpipe && !done)
    return -LINUX_EPIPE;
  return (long)done;
}

/* vmsplice(2) into a pipe: after waiting for one free slot, each piece of
 * the guest's buffers that lies within one page becomes a slot of its own
 * (Linux's iter_to_pipe, which links the pages), until the pipe is full.
 * Out of a pipe: a read that ignores packet boundaries. */
long pipe_vmsplice(struct file *f, const struct linux_iovec *iov, int iovcnt,
                   bool nonblock) {
  struct pipe *p = pipe_file(f);
  if (!p)
    return -LINUX_EBADF;
  /* Only SPLICE_F_NONBLOCK counts here, not the file's O_NONBLOCK. */
  unsigned acc = f->flags & LINUX_O_ACCMODE;
  long done = 0;
  if (acc == LINUX_O_WRONLY || acc == LINUX_O_RDWR) {
    rt_lock(&p->lock);
    long rc = wait_writable_locked(p, nonblock);
    for (int i = 0; i < iovcnt && rc == 0; i++) {
      uintptr_t at = (uintptr_t)iov[i].iov_base;
      size_t left = iov[i].iov_len;
      while (left && rc == 0) {
        if (pipe_full(p)) {
          rc = 1; /* stop: what went in is the answer */
          break;
        }
        size_t n = MIN(left, (size_t)(PIPE_PAGE - (at & (PIPE_PAGE - 1))));
        if (!put_slot_locked(p, (const void *)at, n, 0)) {
          rc = -LINUX_EFAULT;
          break;
        }
        done += (long)n;
        at += n;
        left -= n;
      }
    }
    if (done)
      changed(p);
    rt_unlock(&p->lock);
    if (rc == -LINUX_EPIPE)
      pipe_raise_sigpipe();
    return done ? done : (rc < 0 ? rc : 0);
  }
  /* Out of the pipe: wait for data once, then take what is there. */
  rt_lock(&p->lock);
  long rc = wait_readable_locked(p, nonblock);
  for (int i = 0; i < iovcnt && rc == 0; i++) {
    if (!iov[i].iov_len)
      continue;
    long n = take_locked(p, iov[i].iov_base, iov[i].iov_len, false);
    if (n < 0) {
      rc = n;
      break;
    }
    done += n;
    if ((size_t)n < iov[i].iov_len)
      break;
  }
  if (done)
    changed(p);
  rt_unlock(&p->lock);
  return done ? done : (rc < 0 ? rc : 0);
}
