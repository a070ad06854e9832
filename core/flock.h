/* Advisory file locks shared by every guest process of the sandbox:
 * flock(2) locks, POSIX record locks (fcntl F_SETLK/F_SETLKW/F_GETLK) and
 * open file description locks (F_OFD_*), with Linux's rules for owners,
 * ranges, conflicts and release. core/flock.c holds the table (in the
 * arena); core/file.c and core/task.c call the release hooks. */
#ifndef MOAT_CORE_FLOCK_H
#define MOAT_CORE_FLOCK_H

#include "rt.h"

#ifndef LINUX_F_RDLCK
#define LINUX_F_RDLCK 0
#define LINUX_F_WRLCK 1
#define LINUX_F_UNLCK 2
#endif
#ifndef LINUX_LOCK_SH
#define LINUX_LOCK_SH 1
#define LINUX_LOCK_EX 2
#define LINUX_LOCK_NB 4
#define LINUX_LOCK_UN 8
#endif

/* struct flock as x86-64 Linux lays it out (natural padding after
 * l_whence and after l_pid). */
struct linux_flock {
  int16_t l_type;
  int16_t l_whence;
  int64_t l_start;
  int64_t l_len;
  int32_t l_pid;
};

_Static_assert(sizeof(struct linux_flock) == 32, "struct flock of x86-64");

struct file;

/* Make the table; called while the sandbox has one process (fdt_create
 * at boot), so every later process inherits the pointer. */
void flock_init(void);
/* flock(2) on f: op LOCK_SH, LOCK_EX or LOCK_UN, with LOCK_NB. 0,
 * -EWOULDBLOCK, -EINTR (a signal came during the wait), -EINVAL,
 * -ENOLCK. */
int flock_bsd(struct file *f, int op);
/* fcntl lock command cmd (F_GETLK, F_SETLK(W), F_OFD_*) on f with fl (the
 * core's memory; F_GETLK fills it in). 0 or -errno: -EAGAIN (conflict),
 * -EINTR, -EDEADLK, -EBADF (access mode), -EINVAL, -EOVERFLOW. */
int flock_fcntl(struct file *f, int cmd, struct linux_flock *fl);
/* The current process closed a descriptor of f: its POSIX locks on f's
 * file go (whichever descriptor took them). */
void flock_file_closed(struct file *f);
/* The last reference to f went: the flock and OFD locks it owned go. */
void flock_file_released(struct file *f);
/* Process pid ended (its exit, or its host process died): its POSIX
 * locks go and it waits for none. */
void flock_proc_gone(int pid);

#endif
