/* Advisory file locks (see core/flock.h), enforced between every guest
 * process of the sandbox.
 *
 * One table in the arena maps a file, named by (superblock, ino) as
 * vfs_same_inode names it (hostfs may make two struct inodes for one
 * file), to the locks held on it. flock(2) locks belong to an open file
 * description and cover the whole file; POSIX record locks belong to a
 * process (its sandbox pid) and OFD locks to an open file description,
 * both over byte ranges, and those two kinds conflict with each other but
 * never with flock locks, as in Linux. A process's own POSIX locks (and a
 * description's own OFD locks) never overlap: a new one replaces what it
 * covers, splitting a larger lock, and merges with touching locks of its
 * type, so F_GETLK reports what Linux would.
 *
 * A blocked request sleeps as a pipe reader does (core/poll.h), keyed by
 * its hash bucket: every change to a bucket's locks wakes its sleepers,
 * in whichever guest process the change happens, and a signal cuts the
 * sleep short (-EINTR). Deadlock detection follows Linux: a POSIX waiter
 * records whose lock it waits for, and a request that would close a cycle
 * of such waits (up to 10 steps) fails with EDEADLK.
 *
 * One table lock guards everything: locks are few and short-lived next to
 * the calls that take them, and release on close or exit costs one atomic
 * load while the sandbox holds none. */
#include "flock.h"

#include "file.h"
#include "poll.h"
#include "task.h"

#define FLOCK_BUCKETS 64
#define FLOCK_WAITS 64
#define DEADLOCK_STEPS 10
#define OFFSET_MAX INT64_MAX

enum lock_kind { KIND_FLOCK, KIND_POSIX, KIND_OFD };

struct lock {
  struct lock *next;
  uint8_t kind; /* enum lock_kind */
  uint8_t type; /* MOAT_LOCK_READ or MOAT_LOCK_WRITE */
  int pid;      /* the taker's sandbox pid, for F_GETLK */
  /* POSIX: the owning pid; flock and OFD: the owning struct file. */
  uintptr_t owner;
  /* The bytes [start, end]; end OFFSET_MAX: to the end of the file and
   * beyond. flock locks cover everything. */
  int64_t start, end;
};

/* The locks on one file; freed when the last one goes. */
struct lock_file {
  struct lock_file *next;
  const void *sb;
  uint64_t ino;
  struct lock *locks; /* sorted by start */
};

/* A POSIX request asleep on another process's POSIX lock. */
struct lock_wait {
  int pid; /* 0: a free slot */
  int blocker;
};

struct flock_table {
  struct rt_lock lock;
  uint32_t nlocks; /* atomic: locks held in the whole sandbox */
  struct lock_file *buckets[FLOCK_BUCKETS];
  struct lock_wait waits[FLOCK_WAITS];
};

static struct flock_table *g_flock; /* in the arena, made at boot */

static struct flock_table *table(void) {
  return kzalloc_once((void **)&g_flock, sizeof(*g_flock),
                      "the file lock table");
}

void flock_init(void) {
  table();
}

/* The table if any lock may exist, else NULL: the release hooks' fast
 * path. */
static struct flock_table *table_in_use(void) {
  struct flock_table *t = __atomic_load_n(&g_flock, __ATOMIC_ACQUIRE);
  if (!t || !__atomic_load_n(&t->nlocks, __ATOMIC_SEQ_CST))
    return NULL;
  return t;
}

static int current_pid(void) {
  struct task *t = task_current();
  return t && t->proc ? t->proc->pid : 0;
}

/* ---------------------------------------------------------------------
 * Files and their lock lists (table lock held)
 * ------------------------------------------------------------------- */

struct lock_key {
  const void *sb;
  uint64_t ino;
  unsigned bucket;
};

static struct lock_key key_of(const struct file *f) {
  struct lock_key k;
  const struct inode *inode = f->inode;
  k.sb = inode->sb;
  /* An inode of no file system is its own identity. */
  k.ino = inode->sb ? inode->ino : (uint64_t)(uintptr_t)inode;
  uint64_t h = ((uint64_t)(uintptr_t)k.sb >> 4) ^ k.ino;
  h *= 0x9e3779b97f4a7c15ull;
  k.bucket = (unsigned)(h >> 32) % FLOCK_BUCKETS;
  return k;
}

static struct lock_file *find(struct flock_table *t, const struct lock_key *k,
                              bool create) {
  for (struct lock_file *lf = t->buckets[k->bucket]; lf; lf = lf->next)
    if (lf->sb == k->sb && lf->ino == k->ino)
      return lf;
  if (!create)
    return NULL;
  struct lock_file *lf = kzalloc(sizeof(*lf));
  if (!lf)
    return NULL;
  lf->sb = k->sb;
  lf->ino = k->ino;
  lf->next = t->buckets[k->bucket];
  t->buckets[k->bucket] = lf;
  return lf;
}

/* Free the file's entry if it holds no lock. */
static void prune(struct flock_table *t, const struct lock_key *k) {
  for (struct lock_file **pp = &t->buckets[k->bucket]; *pp; pp = &(*pp)->next) {
    struct lock_file *lf = *pp;
    if (lf->sb != k->sb || lf->ino != k->ino)
      continue;
    if (!lf->locks) {
      *pp = lf->next;
      kfree(lf);
    }
    return;
  }
}

static void unlink_lock(struct flock_table *t, struct lock **pp) {
  struct lock *l = *pp;
  *pp = l->next;
  kfree(l);
  __atomic_sub_fetch(&t->nlocks, 1, __ATOMIC_SEQ_CST);
}

/* Insert l keeping the list sorted by start. */
static void insert_lock(struct flock_table *t, struct lock_file *lf,
                        struct lock *l) {
  struct lock **pp = &lf->locks;
  while (*pp && (*pp)->start <= l->start)
    pp = &(*pp)->next;
  l->next = *pp;
  *pp = l;
  __atomic_add_fetch(&t->nlocks, 1, __ATOMIC_SEQ_CST);
}

/* Wake every request asleep on the bucket's files. */
static void notify(struct flock_table *t, const struct lock_key *k) {
  poll_notify_obj(&t->buckets[k->bucket]);
}

/* What a caller asks for, in the table's terms. */
struct lock_req {
  uint8_t kind;
  uint8_t type; /* enum moat_lock_type */
  int pid;
  uintptr_t owner;
  int64_t start, end;
};

static bool same_owner(const struct lock *l, const struct lock_req *r) {
  return l->kind == r->kind && l->owner == r->owner;
}

static bool conflicts(const struct lock *l, const struct lock_req *r) {
  if ((l->kind == KIND_FLOCK) != (r->kind == KIND_FLOCK))
    return false; /* flock and record locks do not see each other */
  if (same_owner(l, r))
    return false;
  if (l->type != MOAT_LOCK_WRITE && r->type != MOAT_LOCK_WRITE)
    return false;
  return l->start <= r->end && r->start <= l->end;
}

static struct lock *first_conflict(struct lock_file *lf,
                                   const struct lock_req *r) {
  for (struct lock *l = lf ? lf->locks : NULL; l; l = l->next)
    if (conflicts(l, r))
      return l;
  return NULL;
}

/* Sleep until a lock of the bucket changes; the table lock is dropped
 * meanwhile and held again on return. The sleeper registers before the
 * lock drops, so a change (made under the lock) always wakes it. 0 to
 * look again, -EINTR when a signal is pending. */
static int wait_change(struct flock_table *t, const struct lock_key *k) {
  prune(t, k);
  return poll_sleep_on(&t->buckets[k->bucket], &t->lock);
}

/* ---------------------------------------------------------------------
 * flock(2)
 * ------------------------------------------------------------------- */

int flock_bsd(struct file *f, enum moat_lock_type type, bool wait) {
  if (type != MOAT_LOCK_READ && type != MOAT_LOCK_WRITE &&
      type != MOAT_LOCK_UNLOCK)
    return -LINUX_EINVAL;
  struct flock_table *t = table();
  struct lock_key k = key_of(f);
  struct lock_req r = {.kind = KIND_FLOCK,
                       .type = (uint8_t)type,
                       .pid = current_pid(),
                       .owner = (uintptr_t)f,
                       .start = 0,
                       .end = OFFSET_MAX};
  struct lock *spare = NULL;
  if (type != MOAT_LOCK_UNLOCK) {
    spare = kzalloc(sizeof(*spare));
    if (!spare)
      return -LINUX_ENOLCK;
  }
  bool changed = false;
  int rc = 0;
  rt_lock(&t->lock);
  /* A conversion drops the old lock first, as Linux (and BSD) do: a
   * waiter may get in between, and a failed LOCK_NB conversion leaves the
   * description with no lock. */
  struct lock_file *lf = find(t, &k, false);
  for (struct lock **pp = lf ? &lf->locks : NULL; pp && *pp;
       pp = &(*pp)->next) {
    struct lock *l = *pp;
    if (l->kind != KIND_FLOCK || l->owner != r.owner)
      continue;
    if (l->type == type)
      goto out; /* held already */
    unlink_lock(t, pp);
    changed = true;
    break;
  }
  if (type == MOAT_LOCK_UNLOCK)
    goto out;
  for (;;) {
    lf = find(t, &k, true);
    if (!lf) {
      rc = -LINUX_ENOLCK;
      goto out;
    }
    if (!first_conflict(lf, &r))
      break;
    if (!wait) {
      rc = -LINUX_EAGAIN; /* EWOULDBLOCK */
      goto out;
    }
    if (changed) {
      notify(t, &k);
      changed = false;
    }
    rc = wait_change(t, &k);
    if (rc < 0)
      goto out;
  }
  spare->kind = r.kind;
  spare->type = (uint8_t)type;
  spare->pid = r.pid;
  spare->owner = r.owner;
  spare->start = r.start;
  spare->end = r.end;
  insert_lock(t, lf, spare);
  spare = NULL;
out:
  prune(t, &k);
  if (changed)
    notify(t, &k);
  rt_unlock(&t->lock);
  kfree(spare);
  return rc;
}

/* ---------------------------------------------------------------------
 * Record locks: POSIX and OFD
 * ------------------------------------------------------------------- */

/* A request's whence, start and len as bytes [start, end], with Linux's
 * checks (flock_to_posix_lock). */
static int to_range(struct file *f, const struct moat_lock *lk,
                    int64_t *out_start, int64_t *out_end) {
  int64_t base;
  switch (lk->whence) {
  case LINUX_SEEK_SET:
    base = 0;
    break;
  case LINUX_SEEK_CUR:
    base = (int64_t)__atomic_load_n(&f->pos, __ATOMIC_RELAXED);
    break;
  case LINUX_SEEK_END: {
    struct inode *inode = f->inode;
    rt_lock(&inode->lock);
    if (inode->iops && inode->iops->getattr)
      inode->iops->getattr(inode);
    base = (int64_t)inode->size;
    rt_unlock(&inode->lock);
    break;
  }
  default:
    return -LINUX_EINVAL;
  }
  if (base < 0)
    return -LINUX_EINVAL;
  if (lk->start > OFFSET_MAX - base)
    return -LINUX_EOVERFLOW;
  int64_t start = base + lk->start;
  if (start < 0)
    return -LINUX_EINVAL;
  int64_t end;
  if (lk->len > 0) {
    if (lk->len - 1 > OFFSET_MAX - start)
      return -LINUX_EOVERFLOW;
    end = start + (lk->len - 1);
  } else if (lk->len < 0) {
    if (start + lk->len < 0)
      return -LINUX_EINVAL;
    end = start - 1;
    start += lk->len;
  } else {
    end = OFFSET_MAX;
  }
  *out_start = start;
  *out_end = end;
  return 0;
}

/* Would waiting for blocker's lock close a cycle of waits back to me? */
static bool would_deadlock(struct flock_table *t, int me, int blocker) {
  for (int step = 0; step < DEADLOCK_STEPS; step++) {
    int next = 0;
    for (int i = 0; i < FLOCK_WAITS; i++) {
      if (t->waits[i].pid == blocker) {
        next = t->waits[i].blocker;
        break;
      }
    }
    if (!next)
      return false;
    if (next == me)
      return true;
    blocker = next;
  }
  return false;
}

/* Record that pid waits for blocker's lock: the slot, or -1 when the
 * table is full (then the wait is simply not part of deadlock checks). */
static int note_wait(struct flock_table *t, int slot, int pid, int blocker) {
  if (slot < 0) {
    for (int i = 0; i < FLOCK_WAITS; i++) {
      if (!t->waits[i].pid) {
        slot = i;
        break;
      }
    }
    if (slot < 0)
      return -1;
  }
  t->waits[slot].pid = pid;
  t->waits[slot].blocker = blocker;
  return slot;
}

/* Set the owner's locks over [r->start, r->end] to r->type: what the
 * range covers of its locks goes (a lock reaching past both ends is
 * split), and a new lock merges with the owner's touching locks of the
 * same type. spare holds two free nodes; the ones used become NULL. */
static void apply(struct flock_table *t, struct lock_file *lf,
                  const struct lock_req *r, struct lock **spare) {
  int64_t start = r->start, end = r->end;
  if (r->type != MOAT_LOCK_UNLOCK) {
    for (struct lock *l = lf->locks; l; l = l->next) {
      if (!same_owner(l, r) || l->type != r->type)
        continue;
      bool touches = (end == OFFSET_MAX || l->start <= end + 1) &&
                     (start == 0 || l->end >= start - 1);
      if (!touches)
        continue;
      start = MIN(start, l->start);
      end = MAX(end, l->end);
    }
  }
  for (struct lock **pp = &lf->locks; *pp;) {
    struct lock *l = *pp;
    if (!same_owner(l, r) || l->end < start || l->start > end) {
      pp = &l->next;
      continue;
    }
    if (l->start < start && l->end > end) {
      struct lock *tail = spare[1];
      spare[1] = NULL;
      *tail = *l;
      tail->start = end + 1;
      l->end = start - 1;
      tail->next = l->next;
      l->next = tail;
      __atomic_add_fetch(&t->nlocks, 1, __ATOMIC_SEQ_CST);
      pp = &tail->next;
    } else if (l->start < start) {
      l->end = start - 1;
      pp = &l->next;
    } else if (l->end > end) {
      l->start = end + 1;
      pp = &l->next;
    } else {
      unlink_lock(t, pp);
    }
  }
  if (r->type == MOAT_LOCK_UNLOCK)
    return;
  struct lock *n = spare[0];
  spare[0] = NULL;
  n->kind = r->kind;
  n->type = r->type;
  n->pid = r->pid;
  n->owner = r->owner;
  n->start = start;
  n->end = end;
  insert_lock(t, lf, n);
}

static void report(struct moat_lock *lk, const struct lock *l) {
  lk->type = (enum moat_lock_type)l->type;
  lk->whence = LINUX_SEEK_SET;
  lk->start = l->start;
  lk->len = l->end == OFFSET_MAX ? 0 : l->end - l->start + 1;
  lk->pid = l->kind == KIND_OFD ? -1 : l->pid;
}

int flock_record(struct file *f, enum moat_lock_owner owner,
                 struct moat_lock *lk, bool get, bool wait) {
  if (f->flags & LINUX_O_PATH)
    return -LINUX_EBADF;
  enum moat_lock_type type = lk->type;
  if (type != MOAT_LOCK_READ && type != MOAT_LOCK_WRITE &&
      (get || type != MOAT_LOCK_UNLOCK))
    return -LINUX_EINVAL;
  if (owner != MOAT_LOCK_PROCESS && owner != MOAT_LOCK_FILE)
    return -LINUX_EINVAL;
  struct lock_req r;
  int rc = to_range(f, lk, &r.start, &r.end);
  if (rc < 0)
    return rc;
  if (!get && ((type == MOAT_LOCK_READ && !file_readable(f)) ||
               (type == MOAT_LOCK_WRITE && !file_writable(f))))
    return -LINUX_EBADF;
  bool ofd = owner == MOAT_LOCK_FILE;
  r.kind = ofd ? KIND_OFD : KIND_POSIX;
  r.type = (uint8_t)type;
  r.pid = current_pid();
  r.owner = ofd ? (uintptr_t)f : (uintptr_t)r.pid;

  struct flock_table *t = table();
  struct lock_key k = key_of(f);
  if (get) {
    rt_lock(&t->lock);
    struct lock *l = first_conflict(find(t, &k, false), &r);
    if (l)
      report(lk, l);
    else
      lk->type = MOAT_LOCK_UNLOCK;
    rt_unlock(&t->lock);
    return 0;
  }

  struct lock *spare[2] = {kzalloc(sizeof(struct lock)),
                           kzalloc(sizeof(struct lock))};
  if (!spare[0] || !spare[1]) {
    rc = -LINUX_ENOLCK;
    goto out_free;
  }
  bool changed = false;
  int slot = -1;
  rt_lock(&t->lock);
  for (;;) {
    struct lock_file *lf = find(t, &k, type != MOAT_LOCK_UNLOCK);
    if (!lf) {
      rc = type == MOAT_LOCK_UNLOCK ? 0 : -LINUX_ENOLCK;
      break;
    }
    struct lock *l = type == MOAT_LOCK_UNLOCK ? NULL : first_conflict(lf, &r);
    if (!l) {
      apply(t, lf, &r, spare);
      changed = true;
      rc = 0;
      break;
    }
    if (!wait) {
      rc = -LINUX_EAGAIN;
      break;
    }
    if (r.kind == KIND_POSIX && l->kind == KIND_POSIX) {
      if (would_deadlock(t, r.pid, l->pid)) {
        rc = -LINUX_EDEADLK;
        break;
      }
      slot = note_wait(t, slot, r.pid, l->pid);
    } else if (slot >= 0) {
      t->waits[slot].pid = 0; /* no longer waiting for a process */
      slot = -1;
    }
    rc = wait_change(t, &k);
    if (rc < 0)
      break;
  }
  if (slot >= 0)
    t->waits[slot].pid = 0;
  prune(t, &k);
  if (changed)
    notify(t, &k);
  rt_unlock(&t->lock);
out_free:
  kfree(spare[0]);
  kfree(spare[1]);
  return rc;
}

/* ---------------------------------------------------------------------
 * Release
 * ------------------------------------------------------------------- */

/* Drop the locks of f's file for which match(lock, arg) holds. */
static void drop_matching(struct flock_table *t, const struct file *f,
                          bool (*match)(const struct lock *, uintptr_t),
                          uintptr_t arg) {
  struct lock_key k = key_of(f);
  bool changed = false;
  rt_lock(&t->lock);
  struct lock_file *lf = find(t, &k, false);
  for (struct lock **pp = lf ? &lf->locks : NULL; pp && *pp;) {
    if (match(*pp, arg)) {
      unlink_lock(t, pp);
      changed = true;
    } else {
      pp = &(*pp)->next;
    }
  }
  if (changed) {
    prune(t, &k);
    notify(t, &k);
  }
  rt_unlock(&t->lock);
}

static bool posix_of(const struct lock *l, uintptr_t pid) {
  return l->kind == KIND_POSIX && l->owner == pid;
}

static bool description_of(const struct lock *l, uintptr_t f) {
  return l->kind != KIND_POSIX && l->owner == f;
}

void flock_file_closed(struct file *f) {
  struct flock_table *t = table_in_use();
  int pid = current_pid();
  if (t && pid)
    drop_matching(t, f, posix_of, (uintptr_t)pid);
}

void flock_file_released(struct file *f) {
  struct flock_table *t = table_in_use();
  if (t)
    drop_matching(t, f, description_of, (uintptr_t)f);
}

void flock_proc_gone(int pid) {
  struct flock_table *t = __atomic_load_n(&g_flock, __ATOMIC_ACQUIRE);
  if (!t || pid <= 0)
    return;
  rt_lock(&t->lock);
  for (int i = 0; i < FLOCK_WAITS; i++)
    if (t->waits[i].pid == pid)
      t->waits[i].pid = 0;
  for (int b = 0; b < FLOCK_BUCKETS; b++) {
    bool changed = false;
    for (struct lock_file **lpp = &t->buckets[b]; *lpp;) {
      struct lock_file *lf = *lpp;
      for (struct lock **pp = &lf->locks; *pp;) {
        if (posix_of(*pp, (uintptr_t)pid)) {
          unlink_lock(t, pp);
          changed = true;
        } else {
          pp = &(*pp)->next;
        }
      }
      if (!lf->locks) {
        *lpp = lf->next;
        kfree(lf);
      } else {
        lpp = &lf->next;
      }
    }
    if (changed)
      poll_notify_obj(&t->buckets[b]);
  }
  rt_unlock(&t->lock);
}
