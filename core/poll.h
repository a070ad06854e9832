/* Sleeping until a file may have become ready, without polling: a waiter
 * registers its task in the vfs's waiter table (in the arena, so every
 * guest process sees it) and sleeps on its own wake word, which
 * vfs_poll_notify and signal senders both bump. Used by moat_poll,
 * epoll_wait and blocking eventfd reads and writes. */
#ifndef MOAT_CORE_POLL_H
#define MOAT_CORE_POLL_H

#include "rt.h"

#include "moat/platform.h"

/* The host objects one poll sleep watches beside its wake word (the
 * host's streams, sockets and published ports: nothing in the sandbox
 * changes when they become ready, so the sleep asks the host). */
#define POLL_HOST_IO PLAT_WAIT_IO_MAX

struct poll_wait {
  struct task *self;
  int slot;         /* -1: table full, sleep in short steps instead */
  int64_t deadline; /* 0: none (forever) */
  uint32_t seen;
  /* Filled by poll_host during a scan (poll_scan_begin..end): the host
   * objects the sleep watches. */
  struct plat_io io[POLL_HOST_IO];
  int nio;
  /* A watched host object could not be handed to the sleep (more than
   * POLL_HOST_IO, or one ready but not reported: an edge-triggered
   * item), so the sleep is cut to a few ms and the scan repeated. */
  bool unnotified;
};

/* Start waiting: timeout_ns < 0 forever, 0 check only. */
void poll_wait_begin(struct poll_wait *w, int64_t timeout_ns);
/* The same for a sleeper that waits on one object only (a pipe, an
 * eventfd): only poll_notify_obj(key) and vfs_poll_notify wake it, so a
 * change to one pipe does not wake every blocked reader of the sandbox. */
void poll_wait_begin_key(struct poll_wait *w, int64_t timeout_ns, void *key);
/* obj changed: wake its sleepers and every poller (moat_poll,
 * epoll_wait), which watch any file. */
void poll_notify_obj(void *obj);
/* Called by a poll op whose file becomes ready by itself at a monotonic
 * instant (a timerfd): the current poll sleep ends no later than that. */
void poll_due_at(int64_t mono_ns);
/* Call before looking at readiness: changes after it wake the sleep. */
void poll_wait_arm(struct poll_wait *w);
/* Around the look at readiness (the files' poll ops): the host objects
 * their poll_host calls find not ready are watched by the next sleep. */
void poll_scan_begin(struct poll_wait *w);
void poll_scan_end(struct poll_wait *w);
/* A poll op's question about a host object (PLAT_IO_* kind, handle): its
 * readiness now (Linux poll bits, events as asked plus POLLERR, POLLHUP,
 * POLLNVAL), without waiting. During a scan, an object found not ready
 * is watched by the sleep that follows. */
unsigned poll_host(int kind, int handle, unsigned events);
/* One host object's readiness, waiting at most timeout_ns (< 0: no
 * limit) without a task's wake-ups (the console's pump, which is no
 * guest thread): the ready bits, 0 when none came in the time. */
unsigned poll_host_wait(int kind, int handle, unsigned events,
                        int64_t timeout_ns);
/* Sleep until one of io[0..nio) is ready (> 0, revents set), the
 * calling thread is woken (0: a signal came, or its wake word moved:
 * look again) or timeout_ns passes (-ETIMEDOUT; < 0: no limit).
 * -EINTR when a signal is pending. For the blocking calls that wait for
 * the host alone (a receive on host sockets). */
int poll_host_sleep(struct plat_io *io, int nio, int64_t timeout_ns);
/* Nothing was ready: sleep. 0 to look again, -EINTR when a signal is
 * pending, -ETIMEDOUT when the time is up (or it was 0). */
int poll_wait_sleep(struct poll_wait *w);
void poll_wait_end(struct poll_wait *w);
/* Sleep, untimed, until poll_notify_obj(key) (or a signal), with lock
 * (held by the caller, who checked the condition under it) dropped
 * meanwhile and held again on return. The sleeper registers before the
 * lock drops, so a change made under the lock always wakes it. 0 to look
 * again, -EINTR when a signal is pending. */
int poll_sleep_on(void *key, struct rt_lock *lock);
/* The same, until the monotonic instant deadline at the latest (0: no
 * deadline). Returns 0 also when the time is up: the caller looks once
 * more and compares the clock with its deadline. */
int poll_sleep_on_until(void *key, struct rt_lock *lock, int64_t deadline);
/* poll_sleep_on, also until the host object io is ready. */
int poll_sleep_on_host(void *key, struct rt_lock *lock,
                       const struct plat_io *io);

struct file;
struct file_ops;
/* A new open file description on a fresh anonymous inode (mode 0600, no
 * file type, as Linux's anon inodes), for eventfd and epoll. */
/* The ops of an anonymous inode (epoll set, eventfd, socket, ...): opening
 * it again by path (/proc/self/fd/N) fails with ENXIO, as on Linux. */
extern const struct file_ops anon_reopen_ops;
/* The inode ops of pipes, sockets and anonymous files: readlink of
 * /proc/self/fd/N says "pipe:[INO]", "socket:[INO]" or "anon_inode:NAME"
 * (core/vfs.h, nameless). */
struct inode_ops;
extern const struct inode_ops nameless_iops;

/* name: what readlink of /proc/self/fd/N shows after "anon_inode:", as
 * Linux's anon_inode_getfile ("[eventfd]"). */
int anon_file_create(const struct file_ops *ops, void *private,
                     const char *name, unsigned flags, struct file **out);
/* A pollable file goes: drop it from every epoll set (core/epoll.c).
 * Called by the release hooks of pipes, eventfds and epoll sets. */
void epoll_file_released(struct file *f);
/* A non-blocking read (events VFS_POLLIN) or write (VFS_POLLOUT) of the
 * host object behind f found it not ready (-EAGAIN): its next readiness
 * is a new edge for the edge-triggered epoll items on f. */
void epoll_host_drained(struct file *f, unsigned events);
/* The file registered in set ep under descriptor tfd, the toff-th such
 * item (kcmp's KCMP_EPOLL_TFD): its address in *out, 0 when there is
 * none; -EINVAL when ep is no epoll set. Only compared, never used. */
long epoll_target_of(struct file *ep, int tfd, uint32_t toff, uintptr_t *out);
/* Install f in the calling process's table: the fd or -EMFILE. */
int anon_file_install(struct file *f, bool cloexec);
#endif
