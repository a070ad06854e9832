/* The host's terminal as the sandbox's console: when `moat run` starts on
 * a terminal, the runner puts that terminal in raw mode and the guest's
 * terminal streams are the slave of a pseudo-terminal of the sandbox
 * whose master side is the host's terminal. The sandbox's own line
 * discipline (core/pty_ldisc.c) then echoes, edits lines and turns ^C,
 * ^Z and ^\ into signals for the guest's foreground process group, as
 * the host kernel does for a native program; job control, sessions and
 * window sizes are the sandbox's (docs/ptys.md, "The host's terminal").
 *
 * Two directions, no thread of the guest's involved:
 *  - output: whoever puts bytes in the pty's output ring (a guest
 *    write, an echo) sends them on to the host's terminal at once
 *    (pty_console_flush), under the console's flush lock so that bytes
 *    leave in the order they came;
 *  - input: a host process of the sandbox that is no guest process (the
 *    pump, forked at boot) waits for the host's terminal and feeds what
 *    it reads through the line discipline, as a write to a master does,
 *    and notices a new window size (the platform ends its wait when the
 *    host terminal's size changes) to pass on with SIGWINCH.
 * Everything here uses the South contract's standard streams only. */
#include "poll.h"
#include "proc.h"
#include "pty.h"
#include "task.h"

#include "moat/platform.h"

/* The pump looks at the window size and at the sandbox at least this
 * often even if the platform's wait is never cut short. */
#define PUMP_WAKE_NS 1000000000ll

struct console {
  struct rt_lock flush_lock; /* held while bytes go to the host */
  struct pty *pty;
  unsigned streams;             /* host streams the slave stands in for */
  int out_stream;               /* where the terminal's output goes */
  bool host_gone;               /* the host's terminal failed: drop output */
  struct linux_winsize host_ws; /* the host terminal's last size seen */
};

static struct console *g_console; /* in the arena, made before any fork */

bool pty_console_active(void) {
  return g_console != NULL;
}

bool pty_console_stream(int s) {
  return g_console && s >= 0 && s <= 2 && (g_console->streams >> s & 1);
}

int pty_console_create(const struct linux_termios *tio, unsigned streams) {
  struct console *c = kzalloc(sizeof(*c));
  if (!c)
    return -LINUX_ENOMEM;
  struct linux_termios t = *tio;
  /* a pty is always 8 bits, no parity, receiving (as set_termios) */
  t.c_cflag &= ~(uint32_t)(LINUX_CSIZE | LINUX_PARENB);
  t.c_cflag |= LINUX_CS8 | LINUX_CREAD;
  struct pty *p;
  int rc = pty_new(&t, &p);
  if (rc) {
    kfree(c);
    return rc;
  }
  c->pty = p;
  c->streams = (streams & 7) | 1;
  c->out_stream = (streams & 2) ? 1 : (streams & 4) ? 2 : 0;
  struct linux_winsize ws;
  if (plat_stdio_term(0, PLAT_TERM_GET_SIZE, &ws) == 0)
    c->host_ws = ws;
  rt_lock(&p->lock);
  p->locked = false;
  p->console = true;
  p->ws = c->host_ws;
  rt_unlock(&p->lock);
  g_console = c;
  return 0;
}

int pty_console_open(struct file **out) {
  if (!g_console)
    return -LINUX_ENXIO;
  struct pty *p = g_console->pty;
  return file_open_inode(p->slave, LINUX_O_RDWR, &pty_slave_fops, out);
}

void pty_console_attach(struct proc *me) {
  if (!g_console)
    return;
  struct pty *p = g_console->pty;
  rt_lock(&g_task_table->lock);
  rt_lock(&p->lock);
  p->sid = me->sid;
  p->pgrp = me->pgid;
  rt_unlock(&p->lock);
  me->ctty = p;
  rt_unlock(&g_task_table->lock);
}

/* Write all of buf to the host's terminal; false when it cannot take it
 * any more (closed, an error): its output is dropped from then on. */
static bool host_write(struct console *c, const uint8_t *buf, size_t n) {
  size_t off = 0;
  while (off < n) {
    long w =
        plat_io_write(PLAT_IO_STREAM, c->out_stream, buf + off, n - off, 0);
    if (w == -LINUX_EINTR)
      continue; /* a kick: the bytes are the terminal's already */
    if (w == -LINUX_EAGAIN) {
      poll_host_wait(PLAT_IO_STREAM, c->out_stream, VFS_POLLOUT, 10000000ll);
      continue;
    }
    if (w <= 0 || (size_t)w > n - off)
      return false;
    off += (size_t)w;
  }
  return true;
}

void pty_console_flush(struct pty *p) {
  struct console *c = g_console;
  if (!c || p != c->pty)
    return;
  rt_lock(&c->flush_lock);
  for (;;) {
    uint8_t buf[1024];
    uint32_t n = 0;
    rt_lock(&p->lock);
    if (!p->stopped) {
      while (n < sizeof(buf) && p->out_count) {
        buf[n++] = p->out[p->out_head];
        p->out_head = (p->out_head + 1) % PTY_OUT_SIZE;
        p->out_count--;
      }
    }
    if (n)
      pty_changed(p);
    rt_unlock(&p->lock);
    if (!n)
      break;
    if (!c->host_gone && !host_write(c, buf, n))
      c->host_gone = true;
  }
  rt_unlock(&c->flush_lock);
}

/* Bytes typed on the host's terminal, through the line discipline, as
 * master_write does: a signal character's signal goes to the
 * foreground group as soon as it is seen. */
static void console_input(struct pty *p, const uint8_t *buf, size_t n) {
  size_t i = 0;
  while (i < n) {
    int sig = 0, pgrp = 0;
    rt_lock(&p->lock);
    while (i < n) {
      if (!p->master_open) {
        i = n;
        break;
      }
      if (ldisc_input_full(p)) {
        /* nobody reads: wait for room, as a writer to a master does */
        pty_changed(p);
        rt_unlock(&p->lock);
        pty_console_flush(p);
        rt_lock(&p->lock);
        poll_sleep_on(p, &p->lock);
        continue;
      }
      ldisc_receive(p, buf[i++], &sig);
      if (sig) {
        pgrp = p->pgrp;
        break;
      }
    }
    pty_changed(p);
    rt_unlock(&p->lock);
    if (sig)
      pty_signal_pgrp(pgrp, sig);
  }
  pty_console_flush(p);
}

/* A new size of the host's terminal becomes the console's, with SIGWINCH
 * for its foreground group. A size the guest set itself (stty cols)
 * stays until the host's changes again. */
static void console_winsize(struct console *c) {
  struct linux_winsize ws;
  if (plat_stdio_term(0, PLAT_TERM_GET_SIZE, &ws) != 0 ||
      !memcmp(&ws, &c->host_ws, sizeof(ws)))
    return;
  c->host_ws = ws;
  struct pty *p = c->pty;
  rt_lock(&p->lock);
  bool same = !memcmp(&p->ws, &ws, sizeof(ws));
  p->ws = ws;
  int fg = p->pgrp;
  rt_unlock(&p->lock);
  if (!same)
    pty_signal_pgrp(fg, LINUX_SIGWINCH);
}

/* The sandbox's first process still runs (without a PID namespace the
 * pump could outlive it: docs/security.md, "Degraded modes"). */
static bool sandbox_alive(void) {
  struct task_table *tt = g_task_table;
  bool alive = false;
  rt_lock(&tt->lock);
  for (uint32_t i = 0; i < tt->max_tasks && !alive; i++) {
    struct proc *q = tt->procs[i];
    alive = q && q->pid == 1 && q->state == PROC_RUNNING;
  }
  rt_unlock(&tt->lock);
  return alive;
}

static _Noreturn void console_pump(struct console *c) {
  struct pty *p = c->pty;
  plat_ctx_set(NULL); /* no guest task: the pump is the terminal */
  for (;;) {
    int r = (int)poll_host_wait(PLAT_IO_STREAM, 0, VFS_POLLIN, PUMP_WAKE_NS);
    console_winsize(c);
    if (!sandbox_alive())
      break;
    if (r <= 0)
      continue;
    if (r & VFS_POLLIN) {
      uint8_t buf[512];
      long n = plat_io_read(PLAT_IO_STREAM, 0, buf, sizeof(buf), 0);
      if (n == -LINUX_EINTR || n == -LINUX_EAGAIN)
        continue;
      if (n <= 0 || n > (long)sizeof(buf))
        break;
      console_input(p, buf, (size_t)n);
      continue;
    }
    if (r & (VFS_POLLHUP | VFS_POLLERR | VFS_POLLNVAL))
      break;
  }
  /* The host's terminal is gone (hung up, closed): the guest's terminal
   * hangs up as when a master is closed (SIGHUP for its session). */
  pty_hangup(p);
  plat_ctx_exit(NULL);
}

int pty_console_start(void) {
  if (!g_console)
    return 0;
  int pid = plat_space_clone();
  if (pid < 0)
    return pid;
  if (pid == 0)
    console_pump(g_console);
  return 0;
}
