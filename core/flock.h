/* Advisory file locks shared by every guest process of the sandbox:
 * whole-file locks (flock(2)'s), record locks of a process (POSIX
 * fcntl F_SETLK/F_SETLKW/F_GETLK) and of an open file description
 * (F_OFD_*), with Linux's rules for owners, ranges, conflicts and
 * release: the core API's moat_flock, moat_lock_range and moat_lock_test
 * (the Linux shim decodes flock(2) and fcntl(2) into them). core/flock.c
 * holds the table (in the arena); core/file.c and core/task.c call the
 * release hooks. */
#ifndef MOAT_CORE_FLOCK_H
#define MOAT_CORE_FLOCK_H

#include "moat/moat.h"
#include "rt.h"

struct file;

/* Make the table; called while the sandbox has one process (fdt_create
 * at boot), so every later process inherits the pointer. */
void flock_init(void);
/* A whole-file lock on f (moat_flock): type read (shared), write
 * (exclusive) or unlock; without wait a conflict is -EAGAIN
 * (EWOULDBLOCK). 0, -EINTR (a signal came during the wait), -EINVAL,
 * -ENOLCK. */
int flock_bsd(struct file *f, enum moat_lock_type type, bool wait);
/* A record lock on f for owner (moat_lock_range, and with get
 * moat_lock_test, which fills lk in). 0 or -errno: -EAGAIN (conflict),
 * -EINTR, -EDEADLK, -EBADF (O_PATH, access mode), -EINVAL, -EOVERFLOW,
 * -ENOLCK. */
int flock_record(struct file *f, enum moat_lock_owner owner,
                 struct moat_lock *lk, bool get, bool wait);
/* The current process closed a descriptor of f: its POSIX locks on f's
 * file go (whichever descriptor took them). */
void flock_file_closed(struct file *f);
/* The last reference to f went: the flock and OFD locks it owned go. */
void flock_file_released(struct file *f);
/* Process pid ended (its exit, or its host process died): its POSIX
 * locks go and it waits for none. */
void flock_proc_gone(int pid);

#endif
