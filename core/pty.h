/* Pseudo-terminals of the sandbox (core/pty.c) and their line discipline
 * (core/pty_ldisc.c): the pair behind /dev/ptmx and /dev/pts/N.
 *
 * A struct pty lives in the arena, so every guest process sees the same
 * one; pty->lock guards everything in it but refs (atomic) and slave
 * (the pty table's lock). Lock order: the task table's lock, then a
 * pty's lock; the vfs lock, then the pty table's lock. Signals the line
 * discipline raises (INTR, QUIT, SUSP, a window change) are sent after
 * pty->lock is dropped. */
#ifndef MOAT_CORE_PTY_H
#define MOAT_CORE_PTY_H

#include "file.h"
#include "rt.h"
#include "vfs.h"

struct proc;

#define PTY_IN_SIZE 4096u   /* the slave's input, as Linux's N_TTY_BUF_SIZE */
#define PTY_OUT_SIZE 65536u /* what the slave wrote and the master not read */

struct pty {
  struct rt_lock lock;
  uint32_t refs;     /* atomic: the master file, slave files, the slave inode */
  int index;         /* N of /dev/pts/N */
  bool locked;       /* TIOCSPTLCK: the slave cannot be opened */
  bool master_open;  /* false: hung up (the master was closed) */
  bool other_closed; /* every slave file closed after one was open */
  bool stopped;      /* output stopped (IXON's STOP, TCOOFF) */
  bool console;      /* the host's terminal is the master (pty_console.c) */
  bool packet;       /* TIOCPKT: master reads start with a status byte */
  uint8_t pktstatus; /* LINUX_TIOCPKT_* events the master has not read */
  bool lnext;        /* the next input byte is literal (VLNEXT) */
  uint32_t slave_opens;
  struct linux_termios tio; /* the slave's; the master's calls use it too */
  struct linux_winsize ws;
  int pgrp, sid; /* foreground process group and session (0: none) */
  /* Input (master to slave): free-running counters into in[]; bytes
   * before canon_head form complete lines (ICANON), eol marks a line's
   * last byte and eof an end-of-file byte, which a read consumes but
   * does not return. */
  uint32_t in_head, in_tail, canon_head;
  uint32_t column, canon_column; /* the output column, for erase echo */
  uint8_t in[PTY_IN_SIZE];
  uint8_t eol[PTY_IN_SIZE / 8], eof[PTY_IN_SIZE / 8];
  /* Output (slave to master, and echoes): a ring. */
  uint8_t *out;
  uint32_t out_head, out_count;
  struct inode *slave; /* /dev/pts/N while the master is open */
};

/* Is byte i (a free-running counter) marked in map (eol, eof)? */
static inline bool pty_bit(const uint8_t *map, uint32_t i) {
  i %= PTY_IN_SIZE;
  return (map[i >> 3] >> (i & 7)) & 1;
}

/* Packet mode: events for the master's next read (pty->lock held). */
static inline void pty_pkt(struct pty *p, uint8_t set, uint8_t clear) {
  if (p->packet)
    p->pktstatus = (uint8_t)((p->pktstatus & ~clear) | set);
}

/* Output stopped or started (IXON's STOP and START, TCOOFF, TCOON):
 * in packet mode, an event when the slave's side did it. */
static inline void pty_flow(struct pty *p, bool stop, bool report) {
  if (p->stopped == stop)
    return;
  p->stopped = stop;
  if (report)
    pty_pkt(p, stop ? LINUX_TIOCPKT_STOP : LINUX_TIOCPKT_START,
            stop ? LINUX_TIOCPKT_START : LINUX_TIOCPKT_STOP);
}

/* ---- line discipline (core/pty_ldisc.c), pty->lock held ---- */
/* Bytes the slave may read now (a complete line or, raw, anything). */
uint32_t ldisc_readable(struct pty *p);
/* Can the slave's input take another byte, or must the master wait? */
bool ldisc_input_full(struct pty *p);
/* One byte written to the master. *sig: a signal for the foreground
 * process group (0 for none). */
void ldisc_receive(struct pty *p, uint8_t c, int *sig);
/* One byte written by the slave, through OPOST: false when it does not
 * fit in the output now (nothing was added). */
bool ldisc_output(struct pty *p, uint8_t c);
/* The termios changed from old: canonical mode on or off. */
void ldisc_termios_changed(struct pty *p, const struct linux_termios *old);
void ldisc_flush_input(struct pty *p);
/* The default termios of a new pseudo-terminal, as Linux's. */
void ldisc_default_termios(struct linux_termios *t);

/* ---- used by the rest of the core ---- */
/* /dev/pts: the devpts file system (after devfs_create). */
int devpts_create(struct superblock **out);
/* /dev/ptmx's operations (devfs registers them as 5:2). */
extern const struct file_ops pty_ptmx_fops;
/* open(2) without O_NOCTTY of a slave: the caller, a session leader
 * without a controlling terminal, gets it if it has no session. */
void pty_open_ctty(struct file *f);
/* /dev/tty: turn f into an open of the caller's controlling pty.
 * -ENOENT when its controlling terminal is not a pty. */
int pty_open_dev_tty(struct file *f);
/* readlink of /proc/self/fd/N for a pty file: "/dev/pts/N" or
 * "/dev/ptmx"; -EINVAL for anything else. */
long pty_fd_link(struct file *f, char *buf, size_t len);
/* The process p ends (before it becomes a zombie): a session leader's
 * controlling terminal hangs up its foreground group (SIGHUP). */
void pty_proc_exit(struct proc *p);

/* /proc/PID/stat's tty_nr and tpgid: p's controlling terminal as Linux
 * encodes a device number, and its foreground group (0 and -1 without
 * one). */
void pty_ctty_of(struct proc *p, uint32_t *out_dev, int *out_pgrp);

/* ---- shared with the console (core/pty_console.c) ---- */
extern const struct file_ops pty_slave_fops;
/* A new pair with its slave unlocked and the master side held by the
 * caller (one reference), as ptmx_open makes it; tio its termios. */
int pty_new(const struct linux_termios *tio, struct pty **out);
/* The master side is gone: the slave hangs up (master_release). */
void pty_hangup(struct pty *p);
/* sig to process group pgid (nothing for pgid <= 0); no lock held. */
void pty_signal_pgrp(int pgid, int sig);
/* p changed: wake its sleepers and pollers. */
void pty_changed(struct pty *p);
/* The console's output ring has bytes: send them to the host's terminal
 * (pty_console.c). No lock held. */
void pty_console_flush(struct pty *p);
/* The host's terminal as the sandbox's console (docs/ptys.md, "The
 * host's terminal"): made by moat_boot when the configuration says the
 * host's stream 0 is a terminal. */
int pty_console_create(const struct linux_termios *tio, unsigned streams);
/* Is host stream s the console (the slave stands in for it)? */
bool pty_console_stream(int s);
/* A slave file of the console, open read-write (for fds 0..2 of the
 * first process). */
int pty_console_open(struct file **out);
/* The first process p takes the console as its controlling terminal, its
 * group in the foreground. */
void pty_console_attach(struct proc *p);
/* Fork the host process that reads the host's terminal into the
 * console's line discipline. */
int pty_console_start(void);
/* Is there a console (then /dev/tty never reaches the host's streams)? */
bool pty_console_active(void);

#endif
