/* System V IPC in the Linux shim: msgget/msgsnd/msgrcv/msgctl and
 * semget/semop/semtimedop/semctl decoded from the x86-64 ABI; the
 * objects are the core's (core/sysv_ipc.c, docs/ipc.md). Guest memory is
 * copied in and out here, in the order Linux reads it, so the errors of
 * bad pointers match. */
#include "shim.h"

#define MSGMAX 8192
#define SEMOPM 500
#define IPC_RMID 0
#define IPC_SET 1
#define IPC_STAT 2
#define IPC_INFO 3
#define MSG_STAT 11
#define MSG_INFO 12
#define MSG_STAT_ANY 13
#define GETALL 13
#define SETVAL 16
#define SETALL 17
#define SEM_STAT 18
#define SEM_INFO 19
#define SEM_STAT_ANY 20

_Static_assert(sizeof(struct moat_ipc_perm) == 48, "ipc64_perm");
_Static_assert(sizeof(struct moat_msqid_ds) == 120, "msqid64_ds");
_Static_assert(sizeof(struct moat_semid_ds) == 104, "semid64_ds");
_Static_assert(sizeof(struct moat_msginfo) == 32, "msginfo");
_Static_assert(sizeof(struct moat_seminfo) == 40, "seminfo");
_Static_assert(sizeof(struct moat_sembuf) == 6, "sembuf");

long sys_msgget(SYSARGS) {
  return moat_msgget((int32_t)a0, (int)a1);
}

long sys_msgsnd(SYSARGS) {
  int64_t mtype;
  if (user_read(&mtype, a1, sizeof(mtype)) < 0)
    return -LINUX_EFAULT;
  if (a2 > MSGMAX || mtype < 1 || (int)a0 < 0)
    return -LINUX_EINVAL;
  void *text = kmalloc(a2 ? a2 : 1);
  if (!text)
    return -LINUX_ENOMEM;
  long rc = -LINUX_EFAULT;
  if (user_read(text, a1 + sizeof(mtype), a2) == 0)
    rc = moat_msgsnd((int)a0, (long)mtype, text, a2, (int)a3);
  kfree(text);
  return rc;
}

long sys_msgrcv(SYSARGS) {
  if ((int)a0 < 0 || (int64_t)a2 < 0)
    return -LINUX_EINVAL;
  size_t room = MIN((size_t)a2, (size_t)MSGMAX);
  void *text = kmalloc(room ? room : 1);
  if (!text)
    return -LINUX_ENOMEM;
  long mtype = 0;
  long rc = moat_msgrcv((int)a0, text, room, (long)a3, (int)a4, &mtype);
  if (rc >= 0) {
    int64_t t = mtype;
    /* Taken from the queue already: a bad buffer loses it, as Linux. */
    if (user_write(a1, &t, sizeof(t)) < 0 ||
        user_write(a1 + sizeof(t), text, (size_t)rc) < 0)
      rc = -LINUX_EFAULT;
  }
  kfree(text);
  return rc;
}

long sys_msgctl(SYSARGS) {
  int cmd = (int)a1;
  struct moat_msqid_ds ds;
  struct moat_msginfo info;
  memset(&ds, 0, sizeof(ds));
  if (cmd == IPC_SET && user_read(&ds, a2, sizeof(ds)) < 0)
    return -LINUX_EFAULT;
  long rc = moat_msgctl((int)a0, cmd, &ds, &info);
  if (rc < 0)
    return rc;
  if (cmd == IPC_INFO || cmd == MSG_INFO) {
    if (user_write(a2, &info, sizeof(info)) < 0)
      return -LINUX_EFAULT;
  } else if (cmd == IPC_STAT || cmd == MSG_STAT || cmd == MSG_STAT_ANY) {
    if (user_write(a2, &ds, sizeof(ds)) < 0)
      return -LINUX_EFAULT;
  }
  return rc;
}

long sys_semget(SYSARGS) {
  return moat_semget((int32_t)a0, (int)a1, (int)a2);
}

static long do_semtimedop(int id, uint64_t usops, uint64_t nsops,
                          uint64_t utimeout) {
  struct linux_timespec ts;
  if (utimeout && user_read(&ts, utimeout, sizeof(ts)) < 0)
    return -LINUX_EFAULT;
  if ((int64_t)nsops < 1 || id < 0)
    return -LINUX_EINVAL;
  if (nsops > SEMOPM)
    return -LINUX_E2BIG;
  struct moat_sembuf *ops = kmalloc(nsops * sizeof(*ops));
  if (!ops)
    return -LINUX_ENOMEM;
  long rc = -LINUX_EFAULT;
  if (user_read(ops, usops, nsops * sizeof(*ops)) < 0)
    goto out;
  int64_t timeout = -1;
  if (utimeout) {
    rc = -LINUX_EINVAL;
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
      goto out;
    timeout = ts.tv_sec > INT64_MAX / 4000000000
                  ? INT64_MAX / 4
                  : ts.tv_sec * 1000000000 + ts.tv_nsec;
  }
  rc = moat_semtimedop(id, ops, nsops, timeout);
out:
  kfree(ops);
  return rc;
}

long sys_semop(SYSARGS) {
  return do_semtimedop((int)a0, a1, a2, 0);
}

long sys_semtimedop(SYSARGS) {
  return do_semtimedop((int)a0, a1, a2, a3);
}

long sys_semctl(SYSARGS) {
  int id = (int)a0, semnum = (int)a1, cmd = (int)a2;
  struct moat_semctl_arg arg;
  memset(&arg, 0, sizeof(arg));
  long rc;
  switch (cmd) {
  case IPC_SET:
    if (user_read(&arg.ds, a3, sizeof(arg.ds)) < 0)
      return -LINUX_EFAULT;
    return moat_semctl(id, semnum, cmd, &arg);
  case SETVAL:
    arg.val = (int)a3;
    return moat_semctl(id, semnum, cmd, &arg);
  case GETALL:
  case SETALL: {
    int n = moat_semnsems(id);
    if (n < 0)
      return n;
    arg.nvalues = n;
    arg.values = kmalloc((size_t)n * sizeof(uint16_t));
    if (!arg.values)
      return -LINUX_ENOMEM;
    if (cmd == SETALL &&
        user_read(arg.values, a3, (size_t)n * sizeof(uint16_t)) < 0) {
      kfree(arg.values);
      return -LINUX_EFAULT;
    }
    rc = moat_semctl(id, semnum, cmd, &arg);
    if (rc == -LINUX_ENOBUFS) /* another set under the id: cannot be */
      rc = -LINUX_EIDRM;
    if (rc == 0 && cmd == GETALL &&
        user_write(a3, arg.values, (size_t)n * sizeof(uint16_t)) < 0)
      rc = -LINUX_EFAULT;
    kfree(arg.values);
    return rc;
  }
  default:
    break;
  }
  rc = moat_semctl(id, semnum, cmd, &arg);
  if (rc < 0)
    return rc;
  if (cmd == IPC_INFO || cmd == SEM_INFO) {
    if (user_write(a3, &arg.info, sizeof(arg.info)) < 0)
      return -LINUX_EFAULT;
  } else if (cmd == IPC_STAT || cmd == SEM_STAT || cmd == SEM_STAT_ANY) {
    if (user_write(a3, &arg.ds, sizeof(arg.ds)) < 0)
      return -LINUX_EFAULT;
  }
  return rc;
}

/* ---- shared memory ---- */

#define SHM_STAT 13
#define SHM_INFO 14
#define SHM_STAT_ANY 15

_Static_assert(sizeof(struct moat_shmid_ds) == 112, "shmid64_ds");
_Static_assert(sizeof(struct moat_shminfo) == 72, "shminfo64");

long sys_shmget(SYSARGS) {
  return moat_shmget((int32_t)a0, a1, (int)a2);
}

long sys_shmat(SYSARGS) {
  return moat_shmat((int)a0, a1, (int)a2);
}

long sys_shmdt(SYSARGS) {
  return moat_shmdt(a0);
}

long sys_shmctl(SYSARGS) {
  int cmd = (int)a1;
  struct moat_shmid_ds ds;
  struct moat_shminfo info;
  memset(&ds, 0, sizeof(ds));
  if (cmd == IPC_SET && user_read(&ds, a2, sizeof(ds)) < 0)
    return -LINUX_EFAULT;
  long rc = moat_shmctl((int)a0, cmd, &ds, &info);
  if (rc < 0)
    return rc;
  if (cmd == IPC_INFO) {
    if (user_write(a2, &info.a, 9 * sizeof(uint64_t)) < 0)
      return -LINUX_EFAULT;
  } else if (cmd == SHM_INFO) {
    /* struct shm_info: int used_ids, then shm_tot, shm_rss, shm_swp,
     * swap_attempts, swap_successes */
    uint64_t out[6] = {
        (uint64_t)(uint32_t)info.used_ids, info.a, info.b, 0, 0, 0};
    if (user_write(a2, out, sizeof(out)) < 0)
      return -LINUX_EFAULT;
  } else if (cmd == IPC_STAT || cmd == SHM_STAT || cmd == SHM_STAT_ANY) {
    if (user_write(a2, &ds, sizeof(ds)) < 0)
      return -LINUX_EFAULT;
  }
  return rc;
}
