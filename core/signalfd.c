/* signalfd: a file that reads the calling thread's pending signals of a
 * mask as struct signalfd_siginfo records, as Linux's. The file holds
 * only the mask (in the arena: a forked child shares the description);
 * whose signals a read or a poll sees is decided by who reads or polls,
 * so a forked child's signalfd reads the child's signals. Nothing needs
 * a wake-up of its own: a signal sent to a process wakes its threads'
 * sleeps (signal_notify bumps their wake words), which is where blocked
 * readers and pollers (core/poll.h) sleep, so they look again. */
#include "moat/moat.h"
#include "poll.h"
#include "task.h"
#include "vfs_impl.h"

#define SFD_CLOEXEC LINUX_O_CLOEXEC
#define SFD_NONBLOCK LINUX_O_NONBLOCK
#define SIG_UNBLOCKABLE                                                        \
  (LINUX_SIGBIT(LINUX_SIGKILL) | LINUX_SIGBIT(LINUX_SIGSTOP))

/* Linux's struct signalfd_siginfo: 128 bytes. */
struct signalfd_siginfo {
  uint32_t ssi_signo;
  int32_t ssi_errno;
  int32_t ssi_code;
  uint32_t ssi_pid;
  uint32_t ssi_uid;
  int32_t ssi_fd;
  uint32_t ssi_tid;
  uint32_t ssi_band;
  uint32_t ssi_overrun;
  uint32_t ssi_trapno;
  int32_t ssi_status;
  int32_t ssi_int;
  uint64_t ssi_ptr;
  uint64_t ssi_utime;
  uint64_t ssi_stime;
  uint64_t ssi_addr;
  uint16_t ssi_addr_lsb;
  uint16_t pad2;
  int32_t ssi_syscall;
  uint64_t ssi_call_addr;
  uint32_t ssi_arch;
  uint8_t pad[28];
};
_Static_assert(sizeof(struct signalfd_siginfo) == 128, "signalfd_siginfo");

struct signalfd {
  uint64_t mask; /* atomic: signalfd on the fd again changes it */
};

static const struct file_ops signalfd_ops;

/* Which fields a siginfo carries, as Linux's siginfo_layout. */
static void sfd_fill(struct signalfd_siginfo *o,
                     const struct linux_siginfo *in) {
  int sig = in->si_signo, code = in->si_code;
  memset(o, 0, sizeof(*o));
  o->ssi_signo = (uint32_t)sig;
  o->ssi_errno = in->si_errno;
  o->ssi_code = code;
  uint64_t value;
  memcpy(&value, (const char *)&in->u + 8, sizeof(value));
  if (code > LINUX_SI_USER && code < LINUX_SI_KERNEL) {
    switch (sig) {
    case LINUX_SIGCHLD:
      o->ssi_pid = (uint32_t)in->u.kill.pid;
      o->ssi_uid = in->u.kill.uid;
      o->ssi_status = in->u.kill.status;
      o->ssi_utime = (uint64_t)in->u.kill.utime;
      o->ssi_stime = (uint64_t)in->u.kill.stime;
      return;
    case LINUX_SIGSEGV:
    case LINUX_SIGBUS:
    case LINUX_SIGILL:
    case LINUX_SIGFPE:
    case LINUX_SIGTRAP:
      o->ssi_addr = in->u.fault.addr;
      return;
    default: /* SIGPOLL's band and fd, and what moat never sends */
      o->ssi_band = (uint32_t)in->u.kill.pid;
      o->ssi_fd = (int32_t)in->u.kill.uid;
      return;
    }
  }
  if (code == LINUX_SI_TIMER) {
    o->ssi_tid = (uint32_t)in->u.timer.tid;
    o->ssi_overrun = (uint32_t)in->u.timer.overrun;
    o->ssi_ptr = value;
    o->ssi_int = (int32_t)value;
    return;
  }
  o->ssi_pid = (uint32_t)in->u.kill.pid;
  o->ssi_uid = in->u.kill.uid;
  if (code < 0) { /* sigqueue, tgkill: the value too */
    o->ssi_ptr = value;
    o->ssi_int = (int32_t)value;
  }
}

/* One signal of the mask, waiting for it unless nonblock: its number or
 * a negative errno. */
static int sfd_take(struct signalfd *s, bool nonblock,
                    struct linux_siginfo *info) {
  struct poll_wait w;
  int rc;
  poll_wait_begin_key(&w, nonblock ? 0 : -1, s);
  for (;;) {
    poll_wait_arm(&w);
    rc = signal_take(__atomic_load_n(&s->mask, __ATOMIC_ACQUIRE), info);
    if (rc > 0)
      break;
    rc = poll_wait_sleep(&w);
    if (rc == -LINUX_ETIMEDOUT) {
      rc = -LINUX_EAGAIN;
      break;
    }
    if (rc == -LINUX_EINTR) {
      rc = -LINUX_ERESTARTSYS;
      break;
    }
    if (rc < 0)
      break;
  }
  poll_wait_end(&w);
  return rc;
}

static long sfd_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  (void)pos;
  struct signalfd *s = f->private;
  size_t count = len / sizeof(struct signalfd_siginfo);
  if (!count)
    return -LINUX_EINVAL;
  bool nonblock = (f->flags & LINUX_O_NONBLOCK) != 0;
  long total = 0;
  char *out = buf;
  for (; count; count--) {
    struct linux_siginfo info;
    int rc = sfd_take(s, nonblock, &info);
    if (rc < 0)
      return total ? total : rc;
    struct signalfd_siginfo si;
    sfd_fill(&si, &info);
    if (rt_ucopy(out, &si, sizeof(si)))
      return total ? total : -LINUX_EFAULT; /* consumed, as on Linux */
    out += sizeof(si);
    total += (long)sizeof(si);
    nonblock = true; /* only the first one is waited for */
  }
  return total;
}

static unsigned sfd_poll(struct file *f, unsigned events) {
  struct signalfd *s = f->private;
  struct task *t = task_current();
  unsigned ready = 0;
  if (t && (signal_pending_of(t) & __atomic_load_n(&s->mask, __ATOMIC_ACQUIRE)))
    ready = VFS_POLLIN | VFS_POLLRDNORM;
  return ready & (events | VFS_POLLERR | VFS_POLLHUP);
}

static void sfd_release(struct file *f) {
  epoll_file_released(f);
  kfree(f->private);
  f->private = NULL;
}

static const struct file_ops signalfd_ops = {
    .release = sfd_release,
    .read = sfd_read,
    .poll = sfd_poll,
    .epoll_release_hook = true,
    .stream = true,
};

int moat_signalfd4(int fd, uint64_t mask, int flags) {
  if (flags & ~(int)(SFD_NONBLOCK | SFD_CLOEXEC))
    return -LINUX_EINVAL;
  mask &= ~SIG_UNBLOCKABLE;
  if (fd != -1) {
    struct fd_table *t = proc_current_fdt();
    struct file *f = t ? fdt_lookup(t, fd) : NULL;
    if (!f)
      return -LINUX_EBADF;
    int rc = fd;
    if (f->ops != &signalfd_ops)
      rc = -LINUX_EINVAL;
    else
      __atomic_store_n(&((struct signalfd *)f->private)->mask, mask,
                       __ATOMIC_RELEASE);
    file_put(f);
    if (rc >= 0)
      poll_notify_obj(NULL); /* pollers look at the new mask */
    return rc;
  }
  struct signalfd *s = kzalloc(sizeof(*s));
  if (!s)
    return -LINUX_ENOMEM;
  s->mask = mask;
  struct file *f;
  int rc = anon_file_create(&signalfd_ops, s, "[signalfd]",
                            LINUX_O_RDWR | (flags & SFD_NONBLOCK), &f);
  if (rc < 0) {
    kfree(s);
    return rc;
  }
  rc = anon_file_install(f, flags & SFD_CLOEXEC);
  file_put(f);
  return rc;
}
