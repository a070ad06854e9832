/* Sleeping until a file may have become ready, without polling: a waiter
 * registers its task in the vfs's waiter table (in the arena, so every
 * guest process sees it) and sleeps on its own wake word, which
 * vfs_poll_notify and signal senders both bump. Used by moat_poll,
 * epoll_wait and blocking eventfd reads and writes. */
#ifndef MOAT_CORE_POLL_H
#define MOAT_CORE_POLL_H

#include "rt.h"

struct poll_wait {
  struct task *self;
  int slot;         /* -1: table full, sleep in short steps instead */
  int64_t deadline; /* 0: none (forever) */
  uint32_t seen;
  /* Set by the caller before a sleep: a watched file has no wake-up
   * (the host's streams), so the sleep is cut to a few ms. */
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
/* The file registered in set ep under descriptor tfd, the toff-th such
 * item (kcmp's KCMP_EPOLL_TFD): its address in *out, 0 when there is
 * none; -EINVAL when ep is no epoll set. Only compared, never used. */
long epoll_target_of(struct file *ep, int tfd, uint32_t toff, uintptr_t *out);
/* Install f in the calling process's table: the fd or -EMFILE. */
int anon_file_install(struct file *f, bool cloexec);
#endif
