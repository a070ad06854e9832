/* System V IPC scoped to the sandbox: message queues and semaphore sets
 * (msgget/msgsnd/msgrcv/msgctl, semget/semop/semtimedop/semctl), with
 * Linux's ids, keys, ipc_perm permission rules, limits and errors.
 *
 * Everything lives in one table in the arena (made at boot, so every
 * guest process inherits the pointer) under one lock; the sandbox is its
 * own IPC namespace, so nothing of the host's is visible. A blocked
 * msgsnd, msgrcv or semop sleeps as a poller does on the object
 * (poll_wait_begin_key with the object as key) and every change calls
 * poll_notify_obj(object): a waiter in any process wakes, looks again
 * under the lock, and sees EIDRM if the object was removed meanwhile. A
 * sleeper holds a reference so a removed object's memory stays until the
 * last sleeper has looked.
 *
 * SEM_UNDO adjustments are kept per process (by pid: threads share them,
 * a forked child starts with none, exec keeps them) and applied when the
 * process ends (sysv_ipc_proc_gone, from both ends of a process in
 * core/task.c).
 *
 * Shared memory segments live in the pool: one PLAT_MAP_SHARED reservation
 * mapped at boot, before any fork, so every process of the sandbox has
 * it at the same address (never accessible there: PROT_NONE). A segment
 * is a page-aligned range of it, and shmat maps that range into the
 * guest with plat_mem_alias (core/mm.c, mm_shm_attach), so a process
 * that attaches later, forked before or after the segment was made,
 * shares the very pages. A destroyed segment's pages go back to the host
 * (plat_mem_discard) and its range to the pool's free list. */
#include "mm.h"
#include "moat/moat.h"
#include "moat/platform.h"
#include "poll.h"
#include "proc.h"
#include "task.h"
#include "timer.h"

#define IPC_CREAT 01000
#define IPC_EXCL 02000
#define IPC_NOWAIT 04000
#define IPC_RMID 0
#define IPC_SET 1
#define IPC_STAT 2
#define IPC_INFO 3
#define MSG_STAT 11
#define MSG_INFO 12
#define MSG_STAT_ANY 13
#define MSG_NOERROR 010000
#define MSG_EXCEPT 020000
#define MSG_COPY 040000
#define SEM_UNDO 0x1000
#define GETPID 11
#define GETVAL 12
#define GETALL 13
#define GETNCNT 14
#define GETZCNT 15
#define SETVAL 16
#define SETALL 17
#define SEM_STAT 18
#define SEM_INFO 19
#define SEM_STAT_ANY 20

/* Linux's defaults (ipc/msg.c, ipc/sem.c), except the numbers of
 * objects, which the arena bounds. */
#define IPC_SLOTS 256 /* queues, and sets, at once */
#define IPCMNI 32768  /* id = seq * IPCMNI + slot */
#define SEQ_MAX (INT32_MAX / IPCMNI)
#define MSGMAX 8192
#define MSGMNB 16384
#define MSGSSZ 16
#define MSGSEG 0xffff
#define SEMMSL 32000
#define SEMMNS (SEMMSL * 32000)
#define SEMOPM 500
#define SEMVMX 32767
#define SEMAEM SEMVMX

struct kperm {
  int32_t key;
  uint32_t uid, gid, cuid, cgid, mode;
  uint16_t seq;
  int id;
  bool removed;
  uint32_t refs; /* sleepers looking at it after the lock drops */
};

struct kmsg {
  struct kmsg *next;
  long mtype;
  size_t size;
  char text[];
};

struct msq {
  struct kperm perm;
  struct kmsg *head, *tail;
  uint64_t cbytes, qnum, qbytes;
  int lspid, lrpid;
  int64_t stime, rtime, ctime;
};

struct ksem {
  int val;
  int pid;
  uint32_t ncnt, zcnt; /* sleepers whose blocking op is on this one */
};

struct semset {
  struct kperm perm;
  int nsems;
  int64_t otime, ctime;
  struct ksem sems[];
};

/* A process's SEM_UNDO adjustments for one set. */
struct sem_undo {
  struct sem_undo *next;
  int pid;
  struct semset *set;
  int16_t adj[];
};

struct shmseg {
  struct kperm perm; /* mode carries SHM_DEST and SHM_LOCKED too */
  uint64_t size;     /* as asked; the pool range is page-aligned */
  uint64_t off;      /* in the pool */
  uint32_t nattch;   /* VMAs that map it (core/mm.c) */
  bool dest;         /* IPC_RMID came: destroyed at the last detach */
  int cpid, lpid;
  int64_t atime, dtime, ctime;
};

/* A free range of the pool. */
struct extent {
  struct extent *next;
  uint64_t off, len;
};

struct sysv_ipc {
  struct rt_lock lock; /* everything below and in the objects */
  struct msq *msq[IPC_SLOTS];
  struct semset *sem[IPC_SLOTS];
  struct shmseg *shm[IPC_SLOTS];
  uint16_t msq_seq, sem_seq, shm_seq;
  char *pool; /* NULL when the reservation failed: shmget is ENOMEM */
  uint64_t pool_size;
  struct extent *free;           /* sorted by offset, merged */
  uint64_t shm_pages;            /* in all segments */
  uint64_t msg_count, msg_bytes; /* in all queues */
  uint64_t sems_in_use;
  struct sem_undo *undos;
};

static struct sysv_ipc *g_ipc; /* in the arena, made at boot */

static struct sysv_ipc *ipc(void) {
  return kzalloc_once((void **)&g_ipc, sizeof(*g_ipc), "the System V IPC");
}

/* The pool: as large as --memory allows the segments to be (they are
 * charged to it) plus room for fragmentation, reserved, never committed. */
void sysv_ipc_init(void) {
  struct sysv_ipc *s = ipc();
  uint64_t used, limit;
  mm_usage(&used, &limit);
  uint64_t size = ALIGN_UP(limit + limit / 4 + (64ull << 20), 4096);
  void *pool = NULL;
  if (plat_mem_map(NULL, size, 0, PLAT_MAP_SHARED | PLAT_MAP_NORESERVE,
                   &pool) != 0)
    return;
  struct extent *e = kzalloc(sizeof(*e));
  if (!e) {
    plat_mem_unmap(pool, size);
    return;
  }
  e->len = size;
  s->free = e;
  s->pool_size = size;
  s->pool = pool;
}

static int64_t now_sec(void) {
  int64_t ns = 0;
  time_read_clock(LINUX_CLOCK_REALTIME, &ns);
  return ns / 1000000000;
}

/* Linux's ipcperms: flag's rwx bits (any of the three triplets) against
 * the mode for the caller's ids; guest root (CAP_IPC_OWNER) passes. */
static bool perm_ok(const struct kperm *p, int flag) {
  struct task_cred *c = &proc_current()->cred;
  int requested = ((flag >> 6) | (flag >> 3) | flag) & 7;
  uint32_t granted = p->mode;
  if (c->euid == p->cuid || c->euid == p->uid)
    granted >>= 6;
  else if (c->egid == p->cgid || c->egid == p->gid || proc_in_group(p->cgid) ||
           proc_in_group(p->gid))
    granted >>= 3;
  return !(requested & ~granted & 7) || moat_capable(LINUX_CAP_IPC_OWNER);
}

/* IPC_SET and IPC_RMID: the owner, the creator or root. */
static bool owner_ok(const struct kperm *p) {
  struct task_cred *c = &proc_current()->cred;
  return c->euid == p->uid || c->euid == p->cuid ||
         moat_capable(LINUX_CAP_SYS_ADMIN);
}

static void perm_init(struct kperm *p, int32_t key, int flags) {
  struct task_cred *c = &proc_current()->cred;
  p->key = key;
  p->uid = p->cuid = c->euid;
  p->gid = p->cgid = c->egid;
  p->mode = (uint32_t)flags & 0777;
}

static void perm_out(const struct kperm *p, struct moat_ipc_perm *o) {
  memset(o, 0, sizeof(*o));
  o->key = p->key;
  o->uid = p->uid;
  o->gid = p->gid;
  o->cuid = p->cuid;
  o->cgid = p->cgid;
  o->mode = p->mode;
  o->seq = p->seq;
}

static void perm_set(struct kperm *p, const struct moat_ipc_perm *in) {
  p->uid = in->uid;
  p->gid = in->gid;
  p->mode = (p->mode & ~0777u) | (in->mode & 0777);
}

/* The object of slot table with id, or NULL (caller holds the lock). */
static void *lookup(void **table, int id) {
  if (id < 0 || id % IPCMNI >= IPC_SLOTS)
    return NULL;
  struct kperm *p = table[id % IPCMNI];
  return p && p->id == id ? p : NULL;
}

static int find_key(void **table, int32_t key) {
  for (int i = 0; i < IPC_SLOTS; i++) {
    struct kperm *p = table[i];
    if (p && p->key == key)
      return i;
  }
  return -1;
}

static int free_slot(void **table) {
  for (int i = 0; i < IPC_SLOTS; i++)
    if (!table[i])
      return i;
  return -1;
}

static int max_index(void **table) {
  int m = 0;
  for (int i = 0; i < IPC_SLOTS; i++)
    if (table[i])
      m = i;
  return m;
}

static void assign_id(struct kperm *p, uint16_t *seq, int slot) {
  p->seq = *seq;
  p->id = (int)(*seq) * IPCMNI + slot;
  *seq = (uint16_t)((*seq + 1) % SEQ_MAX);
}

/* Sleep on obj with the lock dropped, until poll_notify_obj(obj), a
 * signal or the monotonic deadline (-1: none). 0 to look again,
 * -ERESTARTNOHAND for a signal (System V IPC calls are never restarted
 * after a handler), -EAGAIN at the deadline. The caller holds a
 * reference (perm->refs) across it. */
static int ipc_sleep(struct sysv_ipc *s, void *obj, int64_t deadline) {
  struct poll_wait w;
  int64_t timeout = -1;
  if (deadline >= 0) {
    timeout = deadline - rt_now_ns();
    if (timeout <= 0)
      return -LINUX_EAGAIN;
  }
  poll_wait_begin_key(&w, timeout, obj);
  poll_wait_arm(&w);
  rt_unlock(&s->lock);
  int rc = poll_wait_sleep(&w);
  poll_wait_end(&w);
  rt_lock(&s->lock);
  if (rc == -LINUX_EINTR)
    return -LINUX_ERESTARTNOHAND;
  if (rc == -LINUX_ETIMEDOUT)
    return -LINUX_EAGAIN;
  return 0;
}

/* ---- message queues ---- */

static void msq_free(struct sysv_ipc *s, struct msq *q) {
  for (struct kmsg *m = q->head, *n; m; m = n) {
    n = m->next;
    s->msg_count--;
    s->msg_bytes -= m->size;
    kfree(m);
  }
  kfree(q);
}

/* Drop a sleeper's reference: the last one frees a removed queue. */
static void msq_unref(struct sysv_ipc *s, struct msq *q) {
  if (--q->perm.refs == 0 && q->perm.removed)
    msq_free(s, q);
}

int moat_msgget(int32_t key, int flags) {
  struct sysv_ipc *s = ipc();
  int rc;
  rt_lock(&s->lock);
  int slot = key == 0 ? -1 : find_key((void **)s->msq, key);
  if (slot >= 0) {
    struct msq *q = s->msq[slot];
    if ((flags & IPC_CREAT) && (flags & IPC_EXCL))
      rc = -LINUX_EEXIST;
    else if (!perm_ok(&q->perm, flags))
      rc = -LINUX_EACCES;
    else
      rc = q->perm.id;
    goto out;
  }
  if (key != 0 && !(flags & IPC_CREAT)) {
    rc = -LINUX_ENOENT;
    goto out;
  }
  slot = free_slot((void **)s->msq);
  struct msq *q = slot >= 0 ? kzalloc(sizeof(*q)) : NULL;
  if (!q) {
    rc = slot < 0 ? -LINUX_ENOSPC : -LINUX_ENOMEM;
    goto out;
  }
  perm_init(&q->perm, key, flags);
  q->qbytes = MSGMNB;
  q->ctime = now_sec();
  assign_id(&q->perm, &s->msq_seq, slot);
  s->msq[slot] = q;
  rc = q->perm.id;
out:
  rt_unlock(&s->lock);
  return rc;
}

long moat_msgsnd(int id, long mtype, const void *text, size_t size, int flags) {
  struct sysv_ipc *s = ipc();
  if (size > MSGMAX || mtype < 1 || id < 0)
    return -LINUX_EINVAL;
  struct kmsg *m = kmalloc(sizeof(*m) + size);
  if (!m)
    return -LINUX_ENOMEM;
  m->next = NULL;
  m->mtype = mtype;
  m->size = size;
  memcpy(m->text, text, size);
  long rc;
  rt_lock(&s->lock);
  struct msq *q = lookup((void **)s->msq, id);
  if (!q) {
    rc = -LINUX_EINVAL;
    goto out;
  }
  if (!perm_ok(&q->perm, 0222)) {
    rc = -LINUX_EACCES;
    goto out;
  }
  q->perm.refs++;
  for (;;) {
    if (q->perm.removed) {
      rc = -LINUX_EIDRM;
      break;
    }
    if (size + q->cbytes <= q->qbytes && 1 + q->qnum <= q->qbytes) {
      if (q->tail)
        q->tail->next = m;
      else
        q->head = m;
      q->tail = m;
      m = NULL;
      q->cbytes += size;
      q->qnum++;
      s->msg_count++;
      s->msg_bytes += size;
      q->lspid = proc_current()->pid;
      q->stime = now_sec();
      poll_notify_obj(q);
      rc = 0;
      break;
    }
    if (flags & IPC_NOWAIT) {
      rc = -LINUX_EAGAIN;
      break;
    }
    rc = ipc_sleep(s, q, -1);
    if (rc < 0)
      break;
  }
  msq_unref(s, q);
out:
  rt_unlock(&s->lock);
  kfree(m);
  return rc;
}

/* The message msgrcv would take (caller holds the lock), or NULL. */
static struct kmsg *msg_find(struct msq *q, long type, int flags,
                             struct kmsg **out_prev) {
  struct kmsg *best = NULL, *best_prev = NULL, *prev = NULL;
  for (struct kmsg *m = q->head; m; prev = m, m = m->next) {
    bool match;
    if (type == 0)
      match = true;
    else if (type > 0)
      match = (flags & MSG_EXCEPT) ? m->mtype != type : m->mtype == type;
    else
      match = m->mtype <= -type && (!best || m->mtype < best->mtype);
    if (!match)
      continue;
    best = m;
    best_prev = prev;
    if (type >= 0 || m->mtype == 1)
      break; /* the first match; or the lowest type possible */
  }
  *out_prev = best_prev;
  return best;
}

long moat_msgrcv(int id, void *text, size_t size, long type, int flags,
                 long *out_mtype) {
  struct sysv_ipc *s = ipc();
  if (id < 0 || (long)size < 0)
    return -LINUX_EINVAL;
  /* MSG_COPY (checkpoint/restore's): a copy of the message at index
   * type, left in the queue; never waits. */
  bool copy = (flags & MSG_COPY) != 0;
  if (copy && ((flags & MSG_EXCEPT) || !(flags & IPC_NOWAIT)))
    return -LINUX_EINVAL;
  if (type == INT64_MIN)
    type = INT64_MIN + 1;
  long rc;
  rt_lock(&s->lock);
  struct msq *q = lookup((void **)s->msq, id);
  if (!q) {
    rc = -LINUX_EINVAL;
    goto out;
  }
  if (!perm_ok(&q->perm, 0444)) {
    rc = -LINUX_EACCES;
    goto out;
  }
  q->perm.refs++;
  for (;;) {
    if (q->perm.removed) {
      rc = -LINUX_EIDRM;
      break;
    }
    struct kmsg *prev, *m;
    if (copy) {
      m = q->head;
      for (long i = 0; m && i < type; i++)
        m = m->next;
      if (type < 0)
        m = NULL;
      if (m && m->size > size && !(flags & MSG_NOERROR)) {
        rc = -LINUX_E2BIG;
        break;
      }
      if (m) {
        size_t n = MIN(size, m->size);
        memcpy(text, m->text, n);
        *out_mtype = m->mtype;
        rc = (long)n;
        break;
      }
    } else {
      m = msg_find(q, type, flags, &prev);
    }
    if (m) {
      if (m->size > size && !(flags & MSG_NOERROR)) {
        rc = -LINUX_E2BIG;
        break;
      }
      if (prev)
        prev->next = m->next;
      else
        q->head = m->next;
      if (q->tail == m)
        q->tail = prev;
      q->cbytes -= m->size;
      q->qnum--;
      s->msg_count--;
      s->msg_bytes -= m->size;
      q->lrpid = proc_current()->pid;
      q->rtime = now_sec();
      poll_notify_obj(q); /* room for blocked senders */
      size_t n = MIN(size, m->size);
      memcpy(text, m->text, n);
      *out_mtype = m->mtype;
      kfree(m);
      rc = (long)n;
      break;
    }
    if (flags & IPC_NOWAIT) {
      rc = -LINUX_ENOMSG;
      break;
    }
    rc = ipc_sleep(s, q, -1);
    if (rc < 0)
      break;
  }
  msq_unref(s, q);
out:
  rt_unlock(&s->lock);
  return rc;
}

static void msq_remove(struct sysv_ipc *s, struct msq *q) {
  s->msq[q->perm.id % IPCMNI] = NULL;
  q->perm.removed = true;
  poll_notify_obj(q); /* sleepers see EIDRM */
  if (!q->perm.refs)
    msq_free(s, q);
}

static void msginfo_fill(struct sysv_ipc *s, int cmd,
                         struct moat_msginfo *info) {
  memset(info, 0, sizeof(*info));
  info->msgmni = IPC_SLOTS;
  info->msgmax = MSGMAX;
  info->msgmnb = MSGMNB;
  info->msgssz = MSGSSZ;
  info->msgseg = MSGSEG;
  if (cmd == MSG_INFO) {
    int n = 0;
    for (int i = 0; i < IPC_SLOTS; i++)
      n += s->msq[i] != NULL;
    info->msgpool = n;
    info->msgmap = (int)s->msg_count;
    info->msgtql = (int)s->msg_bytes;
  } else {
    info->msgpool = IPC_SLOTS * MSGMNB / 1024;
    info->msgmap = MSGMNB;
    info->msgtql = MSGMNB;
  }
}

int moat_msgctl(int id, int cmd, struct moat_msqid_ds *buf,
                struct moat_msginfo *info) {
  struct sysv_ipc *s = ipc();
  int rc = 0;
  if (id < 0 || cmd < 0)
    return -LINUX_EINVAL;
  rt_lock(&s->lock);
  if (cmd == IPC_INFO || cmd == MSG_INFO) {
    msginfo_fill(s, cmd, info);
    rc = max_index((void **)s->msq);
    goto out;
  }
  struct msq *q;
  if (cmd == MSG_STAT || cmd == MSG_STAT_ANY) {
    /* id is a slot index here; the answer is the object's id. */
    q = id < IPC_SLOTS ? s->msq[id] : NULL;
  } else if (cmd == IPC_STAT || cmd == IPC_SET || cmd == IPC_RMID) {
    q = lookup((void **)s->msq, id);
  } else {
    rc = -LINUX_EINVAL;
    goto out;
  }
  if (!q) {
    rc = -LINUX_EINVAL;
    goto out;
  }
  switch (cmd) {
  case IPC_STAT:
  case MSG_STAT:
  case MSG_STAT_ANY:
    if (cmd != MSG_STAT_ANY && !perm_ok(&q->perm, 0444)) {
      rc = -LINUX_EACCES;
      break;
    }
    memset(buf, 0, sizeof(*buf));
    perm_out(&q->perm, &buf->perm);
    buf->stime = q->stime;
    buf->rtime = q->rtime;
    buf->ctime = q->ctime;
    buf->cbytes = q->cbytes;
    buf->qnum = q->qnum;
    buf->qbytes = q->qbytes;
    buf->lspid = q->lspid;
    buf->lrpid = q->lrpid;
    rc = cmd == IPC_STAT ? 0 : q->perm.id;
    break;
  case IPC_SET:
    if (!owner_ok(&q->perm)) {
      rc = -LINUX_EPERM;
      break;
    }
    /* Raising the limit above MSGMNB takes CAP_SYS_RESOURCE. */
    if (buf->qbytes > MSGMNB && !moat_capable(LINUX_CAP_SYS_RESOURCE)) {
      rc = -LINUX_EPERM;
      break;
    }
    perm_set(&q->perm, &buf->perm);
    q->qbytes = buf->qbytes;
    q->ctime = now_sec();
    poll_notify_obj(q); /* a larger limit lets senders in */
    break;
  case IPC_RMID:
    if (!owner_ok(&q->perm)) {
      rc = -LINUX_EPERM;
      break;
    }
    msq_remove(s, q);
    break;
  }
out:
  rt_unlock(&s->lock);
  return rc;
}

/* ---- semaphores ---- */

static void sem_free(struct semset *set) {
  kfree(set);
}

static void sem_unref(struct semset *set) {
  if (--set->perm.refs == 0 && set->perm.removed)
    sem_free(set);
}

int moat_semget(int32_t key, int nsems, int flags) {
  struct sysv_ipc *s = ipc();
  int rc;
  if (nsems < 0 || nsems > SEMMSL)
    return -LINUX_EINVAL;
  rt_lock(&s->lock);
  int slot = key == 0 ? -1 : find_key((void **)s->sem, key);
  if (slot >= 0) {
    struct semset *set = s->sem[slot];
    if ((flags & IPC_CREAT) && (flags & IPC_EXCL))
      rc = -LINUX_EEXIST;
    else if (nsems > set->nsems)
      rc = -LINUX_EINVAL;
    else if (!perm_ok(&set->perm, flags))
      rc = -LINUX_EACCES;
    else
      rc = set->perm.id;
    goto out;
  }
  if (key != 0 && !(flags & IPC_CREAT)) {
    rc = -LINUX_ENOENT;
    goto out;
  }
  if (nsems == 0) {
    rc = -LINUX_EINVAL;
    goto out;
  }
  slot = free_slot((void **)s->sem);
  struct semset *set =
      slot >= 0 ? kzalloc(sizeof(*set) + (size_t)nsems * sizeof(struct ksem))
                : NULL;
  if (!set) {
    rc = slot < 0 ? -LINUX_ENOSPC : -LINUX_ENOMEM;
    goto out;
  }
  perm_init(&set->perm, key, flags);
  set->nsems = nsems;
  set->ctime = now_sec();
  assign_id(&set->perm, &s->sem_seq, slot);
  s->sem[slot] = set;
  s->sems_in_use += (uint64_t)nsems;
  rc = set->perm.id;
out:
  rt_unlock(&s->lock);
  return rc;
}

/* The calling process's undo record for set, made if make (NULL when
 * none, or out of memory). Caller holds the lock. */
static struct sem_undo *undo_find(struct sysv_ipc *s, struct semset *set,
                                  bool make) {
  int pid = proc_current()->pid;
  for (struct sem_undo *u = s->undos; u; u = u->next)
    if (u->pid == pid && u->set == set)
      return u;
  if (!make)
    return NULL;
  struct sem_undo *u =
      kzalloc(sizeof(*u) + (size_t)set->nsems * sizeof(int16_t));
  if (!u)
    return NULL;
  u->pid = pid;
  u->set = set;
  __atomic_store_n(&proc_current()->sem_undo_list, true, __ATOMIC_RELAXED);
  u->next = s->undos;
  s->undos = u;
  set->perm.refs++; /* the record names it until the process ends */
  return u;
}

/* Try the operations at once: 0 done; 1 must wait (*blocking: the
 * operation that blocks); or -EAGAIN (IPC_NOWAIT), -ERANGE. Nothing
 * changes unless all succeed. Caller holds the lock. */
static int sem_try(struct semset *set, const struct moat_sembuf *ops,
                   size_t nsops, struct sem_undo *undo, size_t *blocking) {
  int vals[SEMOPM];
  /* Work on a copy of the touched values (the same semaphore may appear
   * more than once: each op sees the ones before it). */
  for (size_t i = 0; i < nsops; i++) {
    int cur = set->sems[ops[i].num].val;
    for (size_t j = 0; j < i; j++)
      if (ops[j].num == ops[i].num)
        cur = vals[j];
    int op = ops[i].op;
    if (op == 0) {
      if (cur != 0)
        goto wait;
    } else {
      int next = cur + op;
      if (next < 0)
        goto wait;
      if (next > SEMVMX)
        return -LINUX_ERANGE;
      if (ops[i].flg & SEM_UNDO) {
        int adj = (undo ? undo->adj[ops[i].num] : 0) - op;
        for (size_t j = 0; j < i; j++)
          if (ops[j].num == ops[i].num && (ops[j].flg & SEM_UNDO))
            adj -= ops[j].op;
        if (adj < -(SEMAEM + 1) || adj > SEMAEM)
          return -LINUX_ERANGE;
      }
      cur = next;
    }
    vals[i] = cur;
    continue;
  wait:
    if (ops[i].flg & IPC_NOWAIT)
      return -LINUX_EAGAIN;
    *blocking = i;
    return 1;
  }
  int pid = proc_current()->pid;
  for (size_t i = 0; i < nsops; i++) {
    struct ksem *k = &set->sems[ops[i].num];
    k->val = vals[i];
    k->pid = pid;
    if (ops[i].op && (ops[i].flg & SEM_UNDO) && undo)
      undo->adj[ops[i].num] = (int16_t)(undo->adj[ops[i].num] - ops[i].op);
  }
  return 0;
}

int moat_semtimedop(int id, const struct moat_sembuf *ops, size_t nsops,
                    int64_t timeout_ns) {
  struct sysv_ipc *s = ipc();
  if (nsops < 1 || id < 0)
    return -LINUX_EINVAL;
  if (nsops > SEMOPM)
    return -LINUX_E2BIG;
  int max = 0;
  bool undos = false, alter = false;
  for (size_t i = 0; i < nsops; i++) {
    max = MAX(max, (int)ops[i].num);
    undos |= (ops[i].flg & SEM_UNDO) != 0;
    alter |= ops[i].op != 0;
  }
  int64_t deadline = timeout_ns < 0 ? -1 : rt_now_ns() + timeout_ns;
  int rc;
  rt_lock(&s->lock);
  struct semset *set = lookup((void **)s->sem, id);
  if (!set) {
    rc = -LINUX_EINVAL;
    goto out;
  }
  if (max >= set->nsems) {
    rc = -LINUX_EFBIG;
    goto out;
  }
  if (!perm_ok(&set->perm, alter ? 0222 : 0444)) {
    rc = -LINUX_EACCES;
    goto out;
  }
  struct sem_undo *undo = NULL;
  if (undos && !(undo = undo_find(s, set, true))) {
    rc = -LINUX_ENOMEM;
    goto out;
  }
  set->perm.refs++;
  for (;;) {
    if (set->perm.removed) {
      rc = -LINUX_EIDRM;
      break;
    }
    size_t b = 0;
    rc = sem_try(set, ops, nsops, undo, &b);
    if (rc <= 0) {
      if (rc == 0) {
        set->otime = now_sec();
        if (alter)
          poll_notify_obj(set);
      }
      break;
    }
    struct ksem *k = &set->sems[ops[b].num];
    bool zero = ops[b].op == 0;
    if (zero)
      k->zcnt++;
    else
      k->ncnt++;
    rc = ipc_sleep(s, set, deadline);
    if (zero)
      k->zcnt--;
    else
      k->ncnt--;
    if (rc < 0) {
      if (set->perm.removed)
        rc = -LINUX_EIDRM;
      break;
    }
  }
  sem_unref(set);
out:
  rt_unlock(&s->lock);
  return rc;
}

/* The set is removed: drop the undo records that name it. */
static void undo_drop_set(struct sysv_ipc *s, struct semset *set) {
  for (struct sem_undo **pu = &s->undos; *pu;) {
    struct sem_undo *u = *pu;
    if (u->set == set) {
      *pu = u->next;
      kfree(u);
      set->perm.refs--;
      continue;
    }
    pu = &u->next;
  }
}

static void sem_remove(struct sysv_ipc *s, struct semset *set) {
  s->sem[set->perm.id % IPCMNI] = NULL;
  s->sems_in_use -= (uint64_t)set->nsems;
  set->perm.removed = true;
  undo_drop_set(s, set);
  poll_notify_obj(set);
  if (!set->perm.refs)
    sem_free(set);
}

void sysv_ipc_proc_gone(int pid) {
  struct sysv_ipc *s = __atomic_load_n(&g_ipc, __ATOMIC_ACQUIRE);
  if (!s || !__atomic_load_n(&s->undos, __ATOMIC_ACQUIRE))
    return;
  rt_lock(&s->lock);
  for (struct sem_undo **pu = &s->undos; *pu;) {
    struct sem_undo *u = *pu;
    if (u->pid != pid) {
      pu = &u->next;
      continue;
    }
    *pu = u->next;
    struct semset *set = u->set;
    bool changed = false;
    for (int i = 0; i < set->nsems && !set->perm.removed; i++) {
      if (!u->adj[i])
        continue;
      /* As Linux's exit_sem: clamped to [0, SEMVMX]. */
      int v = set->sems[i].val + u->adj[i];
      set->sems[i].val = v < 0 ? 0 : v > SEMVMX ? SEMVMX : v;
      set->sems[i].pid = pid;
      changed = true;
    }
    if (changed) {
      set->otime = now_sec();
      poll_notify_obj(set);
    }
    kfree(u);
    sem_unref(set);
  }
  rt_unlock(&s->lock);
}

static void seminfo_fill(struct sysv_ipc *s, int cmd,
                         struct moat_seminfo *info) {
  memset(info, 0, sizeof(*info));
  info->semmni = IPC_SLOTS;
  info->semmns = SEMMNS;
  info->semmsl = SEMMSL;
  info->semopm = SEMOPM;
  info->semvmx = SEMVMX;
  info->semmnu = SEMMNS;
  info->semmap = SEMMNS;
  info->semume = SEMOPM;
  if (cmd == SEM_INFO) {
    int n = 0;
    for (int i = 0; i < IPC_SLOTS; i++)
      n += s->sem[i] != NULL;
    info->semusz = n;
    info->semaem = (int)s->sems_in_use;
  } else {
    info->semusz = (int)sizeof(struct sem_undo);
    info->semaem = SEMAEM;
  }
}

/* Values a SETVAL or SETALL gives: every process's adjustments for
 * them go (all, for semnum -1). */
static void undo_clear(struct sysv_ipc *s, struct semset *set, int semnum) {
  for (struct sem_undo *u = s->undos; u; u = u->next)
    if (u->set == set) {
      if (semnum < 0)
        memset(u->adj, 0, (size_t)set->nsems * sizeof(int16_t));
      else
        u->adj[semnum] = 0;
    }
}

int moat_semctl(int id, int semnum, int cmd, struct moat_semctl_arg *arg) {
  struct sysv_ipc *s = ipc();
  int rc = 0;
  if (id < 0 || cmd < 0)
    return -LINUX_EINVAL;
  if (cmd == SETVAL && (arg->val < 0 || arg->val > SEMVMX))
    return -LINUX_ERANGE; /* before the set is looked up, as Linux */
  rt_lock(&s->lock);
  if (cmd == IPC_INFO || cmd == SEM_INFO) {
    seminfo_fill(s, cmd, &arg->info);
    rc = max_index((void **)s->sem);
    goto out;
  }
  struct semset *set;
  if (cmd == SEM_STAT || cmd == SEM_STAT_ANY)
    set = id < IPC_SLOTS ? s->sem[id] : NULL;
  else
    set = lookup((void **)s->sem, id);
  if (!set) {
    rc = -LINUX_EINVAL;
    goto out;
  }
  switch (cmd) {
  case IPC_STAT:
  case SEM_STAT:
  case SEM_STAT_ANY:
    if (cmd != SEM_STAT_ANY && !perm_ok(&set->perm, 0444)) {
      rc = -LINUX_EACCES;
      break;
    }
    memset(&arg->ds, 0, sizeof(arg->ds));
    perm_out(&set->perm, &arg->ds.perm);
    arg->ds.otime = set->otime;
    arg->ds.ctime = set->ctime;
    arg->ds.nsems = (uint64_t)set->nsems;
    rc = cmd == IPC_STAT ? 0 : set->perm.id;
    break;
  case IPC_SET:
    if (!owner_ok(&set->perm)) {
      rc = -LINUX_EPERM;
      break;
    }
    perm_set(&set->perm, &arg->ds.perm);
    set->ctime = now_sec();
    break;
  case IPC_RMID:
    if (!owner_ok(&set->perm)) {
      rc = -LINUX_EPERM;
      break;
    }
    sem_remove(s, set);
    break;
  case GETVAL:
  case GETPID:
  case GETNCNT:
  case GETZCNT:
    if (!perm_ok(&set->perm, 0444)) {
      rc = -LINUX_EACCES;
      break;
    }
    if (semnum < 0 || semnum >= set->nsems) {
      rc = -LINUX_EINVAL;
      break;
    }
    rc = cmd == GETVAL    ? set->sems[semnum].val
         : cmd == GETPID  ? set->sems[semnum].pid
         : cmd == GETNCNT ? (int)set->sems[semnum].ncnt
                          : (int)set->sems[semnum].zcnt;
    break;
  case GETALL:
    if (!perm_ok(&set->perm, 0444)) {
      rc = -LINUX_EACCES;
      break;
    }
    for (int i = 0; i < set->nsems && i < arg->nvalues; i++)
      arg->values[i] = (uint16_t)set->sems[i].val;
    arg->nvalues = set->nsems;
    break;
  case SETVAL:
    if (semnum < 0 || semnum >= set->nsems) {
      rc = -LINUX_EINVAL;
      break;
    }
    if (!perm_ok(&set->perm, 0222)) {
      rc = -LINUX_EACCES;
      break;
    }
    undo_clear(s, set, semnum);
    set->sems[semnum].val = arg->val;
    set->sems[semnum].pid = proc_current()->pid;
    set->ctime = now_sec();
    poll_notify_obj(set);
    break;
  case SETALL:
    if (!perm_ok(&set->perm, 0222)) {
      rc = -LINUX_EACCES;
      break;
    }
    if (arg->nvalues < set->nsems) { /* the shim asks again with room */
      arg->nvalues = set->nsems;
      rc = -LINUX_ENOBUFS;
      break;
    }
    for (int i = 0; i < set->nsems; i++)
      if (arg->values[i] > SEMVMX) {
        rc = -LINUX_ERANGE;
        break;
      }
    if (rc)
      break;
    undo_clear(s, set, -1);
    for (int i = 0; i < set->nsems; i++) {
      set->sems[i].val = arg->values[i];
      set->sems[i].pid = proc_current()->pid;
    }
    set->ctime = now_sec();
    poll_notify_obj(set);
    break;
  default:
    rc = -LINUX_EINVAL;
  }
out:
  rt_unlock(&s->lock);
  return rc;
}

int moat_semnsems(int id) {
  struct sysv_ipc *s = ipc();
  rt_lock(&s->lock);
  struct semset *set = lookup((void **)s->sem, id);
  int n = set ? set->nsems : -LINUX_EINVAL;
  rt_unlock(&s->lock);
  return n;
}

/* ---- shared memory ---- */

#define SHM_RDONLY 010000
#define SHM_RND 020000
#define SHM_REMAP 040000
#define SHM_EXEC 0100000
#define SHM_DEST 01000
#define SHM_LOCKED 02000
#define SHM_LOCK 11
#define SHM_UNLOCK 12
#define SHM_STAT 13
#define SHM_INFO 14
#define SHM_STAT_ANY 15
#define SHMMIN 1
#define SHMMAX (UINT64_MAX - (1ull << 24)) /* Linux's default */
#define PAGE 4096ull

/* First fit; caller holds the lock. UINT64_MAX when nothing fits. */
static uint64_t pool_alloc(struct sysv_ipc *s, uint64_t len) {
  for (struct extent **pe = &s->free; *pe; pe = &(*pe)->next) {
    struct extent *e = *pe;
    if (e->len < len)
      continue;
    uint64_t off = e->off;
    e->off += len;
    e->len -= len;
    if (!e->len) {
      *pe = e->next;
      kfree(e);
    }
    return off;
  }
  return UINT64_MAX;
}

/* Give a range back, merged with its neighbours (a range whose record
 * cannot be allocated is lost from the pool, nothing worse). */
static void pool_free(struct sysv_ipc *s, uint64_t off, uint64_t len) {
  struct extent **pe = &s->free, *prev = NULL;
  while (*pe && (*pe)->off < off) {
    prev = *pe;
    pe = &(*pe)->next;
  }
  struct extent *next = *pe;
  if (prev && prev->off + prev->len == off) {
    prev->len += len;
    if (next && prev->off + prev->len == next->off) {
      prev->len += next->len;
      prev->next = next->next;
      kfree(next);
    }
    return;
  }
  if (next && off + len == next->off) {
    next->off = off;
    next->len += len;
    return;
  }
  struct extent *e = kzalloc(sizeof(*e));
  if (!e)
    return;
  e->off = off;
  e->len = len;
  e->next = next;
  *pe = e;
}

static uint64_t seg_pages(const struct shmseg *g) {
  return ALIGN_UP(g->size, PAGE) / PAGE;
}

/* Caller holds the lock; nobody maps it any more. */
static void shm_destroy(struct sysv_ipc *s, struct shmseg *g) {
  uint64_t len = seg_pages(g) * PAGE;
  if (s->shm[g->perm.id % IPCMNI] == g)
    s->shm[g->perm.id % IPCMNI] = NULL;
  plat_mem_discard(s->pool + g->off, len);
  pool_free(s, g->off, len);
  s->shm_pages -= seg_pages(g);
  mm_uncharge_sandbox(len);
  kfree(g);
}

void sysv_shm_vma_open(void *seg) {
  struct sysv_ipc *s = ipc();
  struct shmseg *g = seg;
  rt_lock(&s->lock);
  g->nattch++;
  g->atime = now_sec();
  g->lpid = proc_current()->pid;
  rt_unlock(&s->lock);
}

void sysv_shm_vma_close(void *seg) {
  struct sysv_ipc *s = ipc();
  struct shmseg *g = seg;
  rt_lock(&s->lock);
  g->nattch--;
  g->dtime = now_sec();
  if (task_current())
    g->lpid = proc_current()->pid;
  if (!g->nattch && g->dest)
    shm_destroy(s, g);
  rt_unlock(&s->lock);
}

int moat_shmget(int32_t key, uint64_t size, int flags) {
  struct sysv_ipc *s = ipc();
  int rc;
  rt_lock(&s->lock);
  int slot = key == 0 ? -1 : find_key((void **)s->shm, key);
  if (slot >= 0) {
    struct shmseg *g = s->shm[slot];
    if ((flags & IPC_CREAT) && (flags & IPC_EXCL))
      rc = -LINUX_EEXIST;
    else if (g->size < size)
      rc = -LINUX_EINVAL;
    else if (!perm_ok(&g->perm, flags))
      rc = -LINUX_EACCES;
    else
      rc = g->perm.id;
    goto out;
  }
  if (key != 0 && !(flags & IPC_CREAT)) {
    rc = -LINUX_ENOENT;
    goto out;
  }
  if (size < SHMMIN || size > SHMMAX) {
    rc = -LINUX_EINVAL;
    goto out;
  }
  uint64_t len = ALIGN_UP(size, PAGE);
  slot = free_slot((void **)s->shm);
  if (slot < 0 || !s->pool) {
    rc = slot < 0 ? -LINUX_ENOSPC : -LINUX_ENOMEM;
    goto out;
  }
  /* Charged to the sandbox as shmem is to Linux's commit (even with
   * SHM_NORESERVE: the pool has no other bound). */
  if (mm_charge_sandbox(len) < 0) {
    rc = -LINUX_ENOMEM;
    goto out;
  }
  struct shmseg *g = kzalloc(sizeof(*g));
  uint64_t off = g ? pool_alloc(s, len) : UINT64_MAX;
  if (off == UINT64_MAX) {
    kfree(g);
    mm_uncharge_sandbox(len);
    rc = -LINUX_ENOMEM;
    goto out;
  }
  perm_init(&g->perm, key, flags);
  g->size = size;
  g->off = off;
  g->cpid = proc_current()->pid;
  g->ctime = now_sec();
  assign_id(&g->perm, &s->shm_seq, slot);
  s->shm[slot] = g;
  s->shm_pages += len / PAGE;
  rc = g->perm.id;
out:
  rt_unlock(&s->lock);
  return rc;
}

static uint64_t seg_size(void *seg) {
  return ((struct shmseg *)seg)->size;
}

long moat_shmat(int id, uint64_t addr, int flags) {
  struct sysv_ipc *s = ipc();
  if (id < 0)
    return -LINUX_EINVAL;
  if (addr & (PAGE - 1)) {
    if (!(flags & SHM_RND))
      return -LINUX_EINVAL;
    addr &= ~(PAGE - 1); /* SHMLBA is the page size on x86-64 */
    if (!addr && (flags & SHM_REMAP))
      return -LINUX_EINVAL;
  } else if (!addr && (flags & SHM_REMAP)) {
    return -LINUX_EINVAL;
  }
  int prot = LINUX_PROT_READ, want = 0444;
  if (!(flags & SHM_RDONLY)) {
    prot |= LINUX_PROT_WRITE;
    want |= 0222;
  }
  if (flags & SHM_EXEC) {
    prot |= LINUX_PROT_EXEC;
    want |= 0111;
  }
  long rc;
  rt_lock(&s->lock);
  struct shmseg *g = lookup((void **)s->shm, id);
  if (!g) {
    rc = -LINUX_EINVAL;
    goto out;
  }
  if (!perm_ok(&g->perm, want)) {
    rc = -LINUX_EACCES;
    goto out;
  }
  /* Held across the mapping (the mm lock comes before this one). */
  g->nattch++;
  rt_unlock(&s->lock);
  rc = mm_shm_attach(addr, g->size, prot, (flags & SHM_REMAP) != 0,
                     (flags & SHM_RDONLY) != 0, s->pool + g->off, g);
  rt_lock(&s->lock);
  g->nattch--;
  if (!g->nattch && g->dest)
    shm_destroy(s, g);
out:
  rt_unlock(&s->lock);
  return rc;
}

int moat_shmdt(uint64_t addr) {
  if (addr & (PAGE - 1))
    return -LINUX_EINVAL;
  return mm_shm_detach(addr, seg_size);
}

int moat_shmctl(int id, int cmd, struct moat_shmid_ds *buf,
                struct moat_shminfo *info) {
  struct sysv_ipc *s = ipc();
  int rc = 0;
  if (id < 0 || cmd < 0)
    return -LINUX_EINVAL;
  rt_lock(&s->lock);
  if (cmd == IPC_INFO || cmd == SHM_INFO) {
    memset(info, 0, sizeof(*info));
    int used = 0;
    for (int i = 0; i < IPC_SLOTS; i++)
      used += s->shm[i] != NULL;
    if (cmd == IPC_INFO) {
      info->a = SHMMAX;
      info->b = SHMMIN;
      info->c = IPC_SLOTS;
      info->d = 4096; /* SHMSEG */
      info->e = SHMMAX;
    } else {
      info->used_ids = used;
      info->a = s->shm_pages; /* shm_tot */
      info->b = s->shm_pages; /* shm_rss: nothing is swapped here */
    }
    rc = max_index((void **)s->shm);
    goto out;
  }
  struct shmseg *g;
  if (cmd == SHM_STAT || cmd == SHM_STAT_ANY)
    g = id < IPC_SLOTS ? s->shm[id] : NULL;
  else
    g = lookup((void **)s->shm, id);
  if (!g) {
    rc = -LINUX_EINVAL;
    goto out;
  }
  switch (cmd) {
  case IPC_STAT:
  case SHM_STAT:
  case SHM_STAT_ANY:
    if (cmd != SHM_STAT_ANY && !perm_ok(&g->perm, 0444)) {
      rc = -LINUX_EACCES;
      break;
    }
    memset(buf, 0, sizeof(*buf));
    perm_out(&g->perm, &buf->perm);
    buf->segsz = g->size;
    buf->atime = g->atime;
    buf->dtime = g->dtime;
    buf->ctime = g->ctime;
    buf->cpid = g->cpid;
    buf->lpid = g->lpid;
    buf->nattch = g->nattch;
    rc = cmd == IPC_STAT ? 0 : g->perm.id;
    break;
  case IPC_SET:
    if (!owner_ok(&g->perm)) {
      rc = -LINUX_EPERM;
      break;
    }
    perm_set(&g->perm, &buf->perm);
    g->ctime = now_sec();
    break;
  case IPC_RMID:
    if (!owner_ok(&g->perm)) {
      rc = -LINUX_EPERM;
      break;
    }
    /* Gone for shmget at once (its key becomes IPC_PRIVATE); by id it
     * stays until the last detach, as Linux. */
    g->dest = true;
    g->perm.mode |= SHM_DEST;
    g->perm.key = 0;
    if (!g->nattch)
      shm_destroy(s, g);
    break;
  case SHM_LOCK:
  case SHM_UNLOCK:
    if (!owner_ok(&g->perm)) {
      rc = -LINUX_EPERM;
      break;
    }
    if (cmd == SHM_LOCK)
      g->perm.mode |= SHM_LOCKED; /* nothing is ever swapped out here */
    else
      g->perm.mode &= ~(uint32_t)SHM_LOCKED;
    break;
  default:
    rc = -LINUX_EINVAL;
  }
out:
  rt_unlock(&s->lock);
  return rc;
}

/* ---- /proc/sysvipc and /proc/sys/kernel (core/procfs.c) ---- */

void sysv_ipc_proc_text(int which, void (*out)(void *ctx, const char *line),
                        void *ctx) {
  struct sysv_ipc *s = ipc();
  char line[256];
  if (which == SYSV_PROC_LIMITS_MSGMNI)
    rt_snprintf(line, sizeof(line), "%d\n", IPC_SLOTS);
  else if (which == SYSV_PROC_LIMITS_MSGMAX)
    rt_snprintf(line, sizeof(line), "%d\n", MSGMAX);
  else if (which == SYSV_PROC_LIMITS_MSGMNB)
    rt_snprintf(line, sizeof(line), "%d\n", MSGMNB);
  else if (which == SYSV_PROC_LIMITS_SEM)
    rt_snprintf(line, sizeof(line), "%d\t%d\t%d\t%d\n", SEMMSL, SEMMNS, SEMOPM,
                IPC_SLOTS);
  if (which >= SYSV_PROC_LIMITS_MSGMNI) {
    out(ctx, line);
    return;
  }
  /* The headers and lines of Linux's ipc/msg.c, sem.c and shm.c. */
  if (which == SYSV_PROC_MSG)
    out(ctx, "       key      msqid perms      cbytes       qnum lspid lrpid"
             "   uid   gid  cuid  cgid      stime      rtime      ctime\n");
  else if (which == SYSV_PROC_SEM)
    out(ctx, "       key      semid perms      nsems   uid   gid  cuid  cgid"
             "      otime      ctime\n");
  else
    out(ctx, "       key      shmid perms                  size  cpid  lpid "
             "nattch   uid   gid  cuid  cgid      atime      dtime      ctime "
             "                  rss                  swap\n");
  rt_lock(&s->lock);
  for (int i = 0; i < IPC_SLOTS; i++) {
    if (which == SYSV_PROC_MSG && s->msq[i]) {
      struct msq *q = s->msq[i];
      rt_snprintf(line, sizeof(line),
                  "%10d %10d  %4o  %10llu %10llu %5d %5d %5u %5u %5u %5u "
                  "%10lld %10lld %10lld\n",
                  q->perm.key, q->perm.id, q->perm.mode,
                  (unsigned long long)q->cbytes, (unsigned long long)q->qnum,
                  q->lspid, q->lrpid, q->perm.uid, q->perm.gid, q->perm.cuid,
                  q->perm.cgid, (long long)q->stime, (long long)q->rtime,
                  (long long)q->ctime);
    } else if (which == SYSV_PROC_SEM && s->sem[i]) {
      struct semset *set = s->sem[i];
      rt_snprintf(line, sizeof(line),
                  "%10d %10d  %4o %10d %5u %5u %5u %5u %10lld %10lld\n",
                  set->perm.key, set->perm.id, set->perm.mode, set->nsems,
                  set->perm.uid, set->perm.gid, set->perm.cuid, set->perm.cgid,
                  (long long)set->otime, (long long)set->ctime);
    } else if (which == SYSV_PROC_SHM && s->shm[i]) {
      struct shmseg *g = s->shm[i];
      rt_snprintf(line, sizeof(line),
                  "%10d %10d  %4o %21llu %5d %5d  %5u %5u %5u %5u %5u %10lld "
                  "%10lld %10lld %21llu %21llu\n",
                  g->perm.key, g->perm.id, g->perm.mode,
                  (unsigned long long)g->size, g->cpid, g->lpid, g->nattch,
                  g->perm.uid, g->perm.gid, g->perm.cuid, g->perm.cgid,
                  (long long)g->atime, (long long)g->dtime, (long long)g->ctime,
                  (unsigned long long)(seg_pages(g) * PAGE), 0ull);
    } else {
      continue;
    }
    out(ctx, line); /* the caller only appends to its buffer */
  }
  rt_unlock(&s->lock);
}
