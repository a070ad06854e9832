/* System V message queues and semaphores: keys (IPC_PRIVATE, ftok,
 * IPC_CREAT/IPC_EXCL), msgsnd/msgrcv with every kind of type selection,
 * MSG_EXCEPT, MSG_NOERROR, IPC_NOWAIT, E2BIG, the queue's byte limit,
 * msgctl IPC_STAT/IPC_SET/IPC_RMID/IPC_INFO; semget, semop/semtimedop
 * (atomic arrays, zero-waits, IPC_NOWAIT, timeouts, ERANGE, EFBIG,
 * E2BIG), semctl GETVAL/SETVAL/GETALL/SETALL/GETPID/GETNCNT/GETZCNT/
 * IPC_STAT/IPC_SET/IPC_RMID/IPC_INFO, SEM_UNDO applied when a process
 * exits or is killed (and dropped by SETVAL); and across fork, blocked
 * receivers, senders and semop callers woken by another process, EIDRM
 * when the object is removed under them, EINTR for a handled signal.
 * The blocking cases wait until the child sleeps (state S in
 * /proc/PID/stat) so that they always block, whatever the scheduling.
 * No id, key or pid is printed, only comparisons. */
#include <signal.h>
#include <stdint.h>
#include <sched.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

struct mbuf {
  long mtype;
  char text[8192];
};

union semun {
  int val;
  struct semid_ds *buf;
  unsigned short *array;
  struct seminfo *info;
};

/* The result of a call that wakes a child, printed only after the child
 * has ended (it prints too), so the order never depends on scheduling. */
struct later {
  const char *label;
  long r;
  int e;
};
#define LATER(l, label_, expr)                                                 \
  do {                                                                         \
    errno = 0;                                                                 \
    (l).label = (label_);                                                      \
    (l).r = (long)(expr);                                                      \
    (l).e = errno;                                                             \
  } while (0)

static void show_later(const struct later *l) {
  if (l->r < 0)
    printf("%s: -1 %s\n", l->label, errname(l->e));
  else
    printf("%s: %ld\n", l->label, l->r);
}

static void reap(const char *label, pid_t c) {
  int st = 0;
  waitpid(c, &st, 0);
  if (WIFEXITED(st))
    printf("%s: exit %d\n", label, WEXITSTATUS(st));
  else
    printf("%s: signal %d\n", label, WTERMSIG(st));
}

static void rcv(const char *label, int q, size_t size, long type, int flags) {
  struct mbuf m;
  memset(&m, 0, sizeof(m));
  errno = 0;
  ssize_t n = msgrcv(q, &m, size, type, flags);
  if (n < 0)
    printf("%s: -1 %s\n", label, errname(errno));
  else
    printf("%s: %zd type=%ld text=%.*s\n", label, n, m.mtype, (int)n, m.text);
}

static int snd(int q, long type, const char *text, int flags) {
  struct mbuf m;
  m.mtype = type;
  size_t n = strlen(text);
  memcpy(m.text, text, n);
  return msgsnd(q, &m, n, flags);
}

static void on_usr1(int sig) {
  (void)sig;
}

static void handler(int restart) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_usr1;
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigaction(SIGUSR1, &sa, NULL);
}

static void show_vals(const char *label, int s, int n) {
  unsigned short v[8] = {0};
  union semun a = {.array = v};
  errno = 0;
  if (semctl(s, 0, GETALL, a) < 0) {
    printf("%s: -1 %s\n", label, errname(errno));
    return;
  }
  printf("%s:", label);
  for (int i = 0; i < n; i++)
    printf(" %u", v[i]);
  printf("\n");
}

static int sop(int s, int num, int op, int flg) {
  struct sembuf b = {(unsigned short)num, (short)op, (short)flg};
  return semop(s, &b, 1);
}

static void messages(void) {
  printf("--- message queues\n");
  int fd = open("keyfile", O_CREAT | O_WRONLY, 0600);
  close(fd);
  key_t key = ftok("keyfile", 'm');
  FACT("ftok", key != -1);
  R("msgget missing key", msgget(key, 0600));
  int q = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
  FACT("msgget create", q >= 0);
  R("msgget exclusive again", msgget(key, IPC_CREAT | IPC_EXCL | 0600));
  FACT("msgget same key, same id", msgget(key, 0) == q);
  FACT("msgget IPC_CREAT finds it", msgget(key, IPC_CREAT | 0600) == q);
  int p = msgget(IPC_PRIVATE, 0600);
  FACT("msgget private", p >= 0 && p != q);
  int p2 = msgget(IPC_PRIVATE, 0600);
  FACT("private is new each time", p2 >= 0 && p2 != p);
  msgctl(p2, IPC_RMID, NULL);

  /* Errors of msgsnd. */
  R("msgsnd type 0", snd(q, 0, "x", 0));
  R("msgsnd type -1", snd(q, -1, "x", 0));
  struct mbuf big = {.mtype = 1};
  R("msgsnd 8193 bytes", msgsnd(q, &big, 8193, 0));
  R("msgsnd bad id", snd(-1, 1, "x", 0));
  int gone = msgget(IPC_PRIVATE, 0600);
  msgctl(gone, IPC_RMID, NULL);
  R("msgsnd removed id", snd(gone, 1, "x", 0));
  R("msgsnd bad pointer", msgsnd(q, (void *)8, 4, 0));
  R("msgrcv bad id", msgrcv(-1, &big, 10, 0, IPC_NOWAIT));
  R("msgrcv negative size", msgrcv(q, &big, (size_t)-1, 0, IPC_NOWAIT));

  /* Types. */
  snd(q, 1, "one", 0);
  snd(q, 2, "two", 0);
  snd(q, 3, "three", 0);
  snd(q, 2, "two-b", 0);
  snd(q, 5, "five", 0);
  R("msgsnd empty", snd(q, 9, "", 0));
  struct msqid_ds ds;
  R("IPC_STAT", msgctl(q, IPC_STAT, &ds));
  printf("qnum=%lu cbytes=%lu qbytes=%lu mode=%o lspid_me=%d lrpid=%d "
         "uid_ok=%d cuid_ok=%d stime_set=%d\n",
         (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes,
         (unsigned long)ds.msg_qbytes, ds.msg_perm.mode & 0777,
         ds.msg_lspid == getpid(), ds.msg_lrpid, ds.msg_perm.uid == geteuid(),
         ds.msg_perm.cuid == geteuid(), ds.msg_stime != 0);
  rcv("MSG_COPY index 1", q, 100, 1, IPC_NOWAIT | 040000);
  rcv("MSG_COPY index 9", q, 100, 9, IPC_NOWAIT | 040000);
  rcv("MSG_COPY index 1 into 2 bytes", q, 2, 1, IPC_NOWAIT | 040000);
  rcv("MSG_COPY|MSG_EXCEPT", q, 100, 1, IPC_NOWAIT | 040000 | MSG_EXCEPT);
  rcv("type 2", q, 100, 2, 0);
  rcv("type -3 (lowest <= 3)", q, 100, -3, 0);
  rcv("type 3 MSG_EXCEPT", q, 100, 3, MSG_EXCEPT);
  rcv("type 0 into 2 bytes", q, 2, 0, 0);
  rcv("type 0 MSG_NOERROR 2 bytes", q, 2, 0, MSG_NOERROR);
  rcv("type 8 none", q, 100, 8, IPC_NOWAIT);
  rcv("type -4 none", q, 100, -4, IPC_NOWAIT);
  rcv("type 0", q, 100, 0, 0);
  rcv("type 9 empty message", q, 100, 9, 0);
  rcv("empty queue", q, 100, 0, IPC_NOWAIT);
  R("MSG_COPY without IPC_NOWAIT", msgrcv(q, &big, 10, 0, 040000));
  R("IPC_STAT again", msgctl(q, IPC_STAT, &ds));
  printf("qnum=%lu cbytes=%lu lrpid_me=%d\n", (unsigned long)ds.msg_qnum,
         (unsigned long)ds.__msg_cbytes, ds.msg_lrpid == getpid());

  /* Limits. */
  struct msginfo info;
  FACT("IPC_INFO", msgctl(0, IPC_INFO, (struct msqid_ds *)&info) >= 0);
  printf("msgmax=%d msgmnb=%d\n", info.msgmax, info.msgmnb);
  FACT("MSG_INFO", msgctl(0, MSG_INFO, (struct msqid_ds *)&info) >= 0);
  int sent = 0;
  memset(big.text, 'b', sizeof(big.text));
  while (msgsnd(q, &big, 8192, IPC_NOWAIT) == 0)
    sent++;
  printf("8192-byte messages that fit: %d (then %s)\n", sent, errname(errno));
  R("msgrcv a full one into 8191", msgrcv(q, &big, 8191, 0, IPC_NOWAIT));

  /* A blocked sender, woken when a receiver makes room. */
  pid_t c = fork();
  if (c == 0) {
    R("child: blocked msgsnd", msgsnd(q, &big, 8192, 0));
    _exit(0);
  }
  wait_sleeping(c);
  struct later l;
  LATER(l, "msgrcv makes room", msgrcv(q, &big, 8192, 0, 0));
  reap("sender", c);
  show_later(&l);
  R("IPC_STAT", msgctl(q, IPC_STAT, &ds));
  printf("qnum=%lu\n", (unsigned long)ds.msg_qnum);
  msgrcv(q, &big, 8192, 0, IPC_NOWAIT);
  msgrcv(q, &big, 8192, 0, IPC_NOWAIT);

  /* A blocked receiver, woken by a send of its type only. */
  c = fork();
  if (c == 0) {
    rcv("child: blocked msgrcv type 7", q, 100, 7, 0);
    _exit(0);
  }
  wait_sleeping(c);
  snd(q, 6, "not for it", 0);
  snd(q, 7, "for it", 0);
  reap("receiver", c);
  rcv("left over", q, 100, 0, IPC_NOWAIT);

  /* IPC_SET: the limit and the mode. */
  ds.msg_qbytes = 100;
  ds.msg_perm.mode = 0640;
  R("IPC_SET", msgctl(q, IPC_SET, &ds));
  R("IPC_STAT", msgctl(q, IPC_STAT, &ds));
  printf("qbytes=%lu mode=%o\n", (unsigned long)ds.msg_qbytes,
         ds.msg_perm.mode & 0777);
  R("101 bytes into a 100-byte queue", msgsnd(q, &big, 101, IPC_NOWAIT));
  R("IPC_STAT bad pointer", msgctl(q, IPC_STAT, (void *)8));
  R("bad command", msgctl(q, 99, &ds));

  /* Permissions (the test runs with the same ids natively and inside). */
  int ro = msgget(IPC_PRIVATE, 0400);
  if (geteuid() != 0) {
    R("msgsnd to a read-only queue", snd(ro, 1, "x", IPC_NOWAIT));
    rcv("msgrcv from a read-only queue", ro, 10, 0, IPC_NOWAIT);
  }
  msgctl(ro, IPC_RMID, NULL);

  /* Removal wakes a blocked receiver with EIDRM. */
  c = fork();
  if (c == 0) {
    rcv("child: msgrcv on a removed queue", q, 100, 0, 0);
    _exit(0);
  }
  wait_sleeping(c);
  LATER(l, "IPC_RMID", msgctl(q, IPC_RMID, NULL));
  reap("removed", c);
  show_later(&l);
  R("msgsnd after IPC_RMID", snd(q, 1, "x", 0));
  R("IPC_RMID again", msgctl(q, IPC_RMID, NULL));
  R("msgget after IPC_RMID", msgget(key, 0));

  /* A handled signal interrupts a blocked msgrcv, SA_RESTART or not. */
  for (int restart = 0; restart < 2; restart++) {
    c = fork();
    if (c == 0) {
      handler(restart);
      rcv(restart ? "child: SA_RESTART msgrcv" : "child: msgrcv", p, 100, 0, 0);
      _exit(0);
    }
    wait_sleeping(c);
    kill(c, SIGUSR1);
    reap("interrupted", c);
  }
  msgctl(p, IPC_RMID, NULL);
  unlink("keyfile");
}

static void semaphores(void) {
  printf("--- semaphores\n");
  int fd = open("semkey", O_CREAT | O_WRONLY, 0600);
  close(fd);
  key_t key = ftok("semkey", 's');
  R("semget nsems -1", semget(IPC_PRIVATE, -1, 0600));
  R("semget nsems 0", semget(IPC_PRIVATE, 0, 0600));
  R("semget too many", semget(IPC_PRIVATE, 32001, 0600));
  R("semget missing key", semget(key, 1, 0600));
  int s = semget(key, 3, IPC_CREAT | IPC_EXCL | 0600);
  FACT("semget create", s >= 0);
  R("semget exclusive again", semget(key, 3, IPC_CREAT | IPC_EXCL | 0600));
  FACT("semget same key (0 sems)", semget(key, 0, 0) == s);
  FACT("semget same key (2 sems)", semget(key, 2, 0) == s);
  R("semget more sems", semget(key, 4, 0));

  struct seminfo si;
  union semun a = {.info = &si};
  FACT("IPC_INFO", semctl(0, 0, IPC_INFO, a) >= 0);
  printf("semmsl=%d semopm=%d semvmx=%d\n", si.semmsl, si.semopm, si.semvmx);
  FACT("SEM_INFO", semctl(0, 0, SEM_INFO, a) >= 0);

  show_vals("new", s, 3);
  struct semid_ds ds;
  a.buf = &ds;
  R("IPC_STAT", semctl(s, 0, IPC_STAT, a));
  printf("nsems=%lu mode=%o uid_ok=%d otime=%ld\n", (unsigned long)ds.sem_nsems,
         ds.sem_perm.mode & 0777, ds.sem_perm.uid == geteuid(),
         (long)ds.sem_otime);
  a.val = 1;
  R("SETVAL", semctl(s, 0, SETVAL, a));
  a.val = 32768;
  R("SETVAL 32768", semctl(s, 0, SETVAL, a));
  a.val = -1;
  R("SETVAL -1", semctl(s, 0, SETVAL, a));
  R("SETVAL bad id 32768", semctl(-1, 0, SETVAL, (union semun){.val = 40000}));
  R("GETVAL", semctl(s, 0, GETVAL));
  R("GETVAL semnum 3", semctl(s, 3, GETVAL));
  R("GETVAL semnum -1", semctl(s, -1, GETVAL));
  unsigned short vals[3] = {1, 2, 3};
  a.array = vals;
  R("SETALL", semctl(s, 0, SETALL, a));
  show_vals("after SETALL", s, 3);
  unsigned short badv[3] = {1, 40000, 3};
  a.array = badv;
  R("SETALL 40000", semctl(s, 0, SETALL, a));
  R("SETALL bad pointer",
    semctl(s, 0, SETALL, (union semun){.array = (void *)8}));
  R("GETALL bad pointer",
    semctl(s, 0, GETALL, (union semun){.array = (void *)8}));
  FACT("GETPID is me", semctl(s, 1, GETPID) == getpid());
  R("GETNCNT", semctl(s, 0, GETNCNT));
  R("GETZCNT", semctl(s, 0, GETZCNT));
  R("bad command", semctl(s, 0, 99));

  /* semop and its errors. */
  R("semop -1", sop(s, 0, -1, 0));
  R("semop -1 NOWAIT at 0", sop(s, 0, -1, IPC_NOWAIT));
  R("wait-for-zero at 0", sop(s, 0, 0, 0));
  R("wait-for-zero NOWAIT at 2", sop(s, 1, 0, IPC_NOWAIT));
  struct timespec ts = {0, 20000000};
  struct sembuf b = {0, -1, 0};
  R("semtimedop times out", semtimedop(s, &b, 1, &ts));
  ts.tv_nsec = 1000000000;
  R("semtimedop bad timeout", semtimedop(s, &b, 1, &ts));
  R("semtimedop bad timeout pointer", semtimedop(s, &b, 1, (void *)8));
  ts.tv_nsec = 0;
  R("semtimedop zero timeout", semtimedop(s, &b, 1, &ts));
  struct sembuf two[2] = {{1, -1, 0}, {2, -5, IPC_NOWAIT}};
  R("atomic pair that cannot", semop(s, two, 2));
  show_vals("unchanged", s, 3);
  struct sembuf same[2] = {{0, 2, 0}, {0, -1, 0}};
  R("same semaphore twice", semop(s, same, 2));
  show_vals("after", s, 3);
  R("semop over 32767", sop(s, 2, 32767, 0));
  R("semop semnum 3", sop(s, 3, 1, 0));
  R("semop 0 ops", semop(s, &b, 0));
  static struct sembuf many[501];
  R("semop 501 ops", semop(s, many, 501));
  R("semop bad pointer", semop(s, (void *)8, 1));
  R("semop bad id", sop(-1, 0, 1, 0));

  /* A blocked decrement, woken by an increment of another process. */
  pid_t c = fork();
  if (c == 0) {
    R("child: semop -5", sop(s, 0, -5, 0));
    _exit(0);
  }
  wait_sleeping(c);
  R("GETNCNT with a sleeper", semctl(s, 0, GETNCNT));
  R("semop +2 (not enough)", sop(s, 0, 2, 0));
  struct later l;
  LATER(l, "semop +3", sop(s, 0, 3, 0));
  reap("decrementer", c);
  show_later(&l);
  show_vals("after", s, 3);

  /* A blocked wait-for-zero. */
  c = fork();
  if (c == 0) {
    R("child: wait for zero", sop(s, 1, 0, 0));
    _exit(0);
  }
  wait_sleeping(c);
  R("GETZCNT with a sleeper", semctl(s, 1, GETZCNT));
  LATER(l, "semop -2 to zero", sop(s, 1, -2, 0));
  reap("zero waiter", c);
  show_later(&l);

  /* SEM_UNDO: undone at exit, at a kill; dropped by SETVAL. */
  c = fork();
  if (c == 0) {
    R("child: +4 SEM_UNDO", sop(s, 2, 4, SEM_UNDO));
    R("child: -1 SEM_UNDO", sop(s, 2, -1, SEM_UNDO));
    show_vals("child sees", s, 3);
    _exit(0);
  }
  reap("undoer", c);
  show_vals("after its exit", s, 3);
  int pp[2];
  if (pipe(pp) < 0)
    return;
  c = fork();
  if (c == 0) {
    sop(s, 2, 2, SEM_UNDO);
    if (write(pp[1], "x", 1) < 0)
      _exit(1);
    for (;;)
      pause();
  }
  char ch;
  if (read(pp[0], &ch, 1) != 1)
    return;
  show_vals("with a killed child's +2", s, 3);
  kill(c, SIGKILL);
  reap("killed undoer", c);
  show_vals("after its death", s, 3);
  c = fork();
  if (c == 0) {
    sop(s, 2, 1, SEM_UNDO);
    semctl(s, 2, SETVAL, (union semun){.val = 9});
    _exit(0);
  }
  reap("setval undoer", c);
  show_vals("SETVAL dropped the undo", s, 3);
  /* The undo of a process whose set is gone does nothing; another set
   * is not touched. */

  /* IPC_SET. */
  a.buf = &ds;
  semctl(s, 0, IPC_STAT, a);
  ds.sem_perm.mode = 0644;
  R("IPC_SET", semctl(s, 0, IPC_SET, a));
  semctl(s, 0, IPC_STAT, a);
  printf("mode=%o otime_set=%d\n", ds.sem_perm.mode & 0777, ds.sem_otime != 0);

  /* Removal wakes a sleeper with EIDRM; a signal interrupts one. */
  c = fork();
  if (c == 0) {
    R("child: semop on a removed set", sop(s, 0, -100, 0));
    _exit(0);
  }
  wait_sleeping(c);
  int s2 = semget(IPC_PRIVATE, 1, 0600);
  for (int restart = 0; restart < 2; restart++) {
    pid_t d = fork();
    if (d == 0) {
      handler(restart);
      R(restart ? "child: SA_RESTART semop" : "child: semop",
        sop(s2, 0, -1, 0));
      _exit(0);
    }
    wait_sleeping(d);
    kill(d, SIGUSR1);
    reap("interrupted", d);
  }
  LATER(l, "IPC_RMID", semctl(s, 0, IPC_RMID));
  reap("removed", c);
  show_later(&l);
  R("GETVAL after IPC_RMID", semctl(s, 0, GETVAL));
  R("semop after IPC_RMID", sop(s, 0, 1, 0));
  R("IPC_RMID again", semctl(s, 0, IPC_RMID));

  /* Permissions. */
  int ro = semget(IPC_PRIVATE, 1, 0400);
  if (geteuid() != 0) {
    R("semop on a read-only set", sop(ro, 0, 1, IPC_NOWAIT));
    R("wait-for-zero on a read-only set", sop(ro, 0, 0, IPC_NOWAIT));
    R("SETVAL on a read-only set",
      semctl(ro, 0, SETVAL, (union semun){.val = 1}));
  }
  semctl(ro, 0, IPC_RMID);
  semctl(s2, 0, IPC_RMID);
  unlink("semkey");
}

/* Another user (uid 4242) against objects of mode 0600, 0604 and one
 * handed over to it with IPC_SET. Run when the test can change its ids
 * (as root, natively and inside moat alike). */
static void permissions(void) {
  printf("--- permissions\n");
  int q = msgget(IPC_PRIVATE, 0600);
  int qr = msgget(IPC_PRIVATE, 0604);
  int qg = msgget(IPC_PRIVATE, 0600);
  int s = semget(IPC_PRIVATE, 1, 0600);
  snd(qr, 1, "r", 0);
  struct msqid_ds ds;
  msgctl(qg, IPC_STAT, &ds);
  ds.msg_perm.uid = 4242;
  R("IPC_SET uid to 4242", msgctl(qg, IPC_SET, &ds));
  pid_t c = fork();
  if (c == 0) {
    if (geteuid() != 0 || setgid(4343) < 0 || setuid(4242) < 0)
      _exit(3);
    R("msgsnd to 0600", snd(q, 1, "x", IPC_NOWAIT));
    rcv("msgrcv from 0600", q, 10, 0, IPC_NOWAIT);
    R("IPC_STAT of 0600", msgctl(q, IPC_STAT, &ds));
    R("IPC_SET of another's", msgctl(q, IPC_SET, &ds));
    R("IPC_RMID of another's", msgctl(q, IPC_RMID, NULL));
    rcv("msgrcv from 0604", qr, 10, 0, IPC_NOWAIT);
    R("msgsnd to 0604", snd(qr, 1, "x", IPC_NOWAIT));
    R("IPC_STAT of 0604", msgctl(qr, IPC_STAT, &ds));
    R("IPC_RMID of one handed over", msgctl(qg, IPC_RMID, NULL));
    R("semop on 0600", sop(s, 0, 1, IPC_NOWAIT));
    R("wait-for-zero on 0600", sop(s, 0, 0, IPC_NOWAIT));
    R("GETVAL of 0600", semctl(s, 0, GETVAL));
    R("SETVAL of 0600", semctl(s, 0, SETVAL, (union semun){.val = 1}));
    R("semctl IPC_RMID of another's", semctl(s, 0, IPC_RMID));
    _exit(0);
  }
  int st = 0;
  waitpid(c, &st, 0);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
    printf("(not run: cannot change ids)\n");
  msgctl(q, IPC_RMID, NULL);
  msgctl(qr, IPC_RMID, NULL);
  msgctl(qg, IPC_RMID, NULL);
  semctl(s, 0, IPC_RMID);
}

/* /proc/sys/kernel's limits and the /proc/sysvipc line of an object
 * (found by its id; the host has other objects natively). */
static void proc_files(void) {
  printf("--- /proc\n");
  char buf[256];
  const char *files[] = {"msgmax", "msgmnb"};
  for (int i = 0; i < 2; i++) {
    snprintf(buf, sizeof(buf), "/proc/sys/kernel/%s", files[i]);
    FILE *f = fopen(buf, "r");
    int v = -1;
    if (f && fscanf(f, "%d", &v) != 1)
      v = -1;
    if (f)
      fclose(f);
    printf("%s: %d\n", files[i], v);
  }
  FILE *f = fopen("/proc/sys/kernel/sem", "r");
  int semmsl = -1, semmns = -1, semopm = -1;
  if (f) {
    if (fscanf(f, "%d %d %d", &semmsl, &semmns, &semopm) != 3)
      semmsl = -1;
    fclose(f);
  }
  printf("sem: %d %d %d\n", semmsl, semmns, semopm);
  int q = msgget(IPC_PRIVATE, 0640);
  snd(q, 1, "abc", 0);
  snd(q, 2, "defg", 0);
  int s = semget(IPC_PRIVATE, 4, 0600);
  const char *paths[] = {"/proc/sysvipc/msg", "/proc/sysvipc/sem"};
  for (int k = 0; k < 2; k++) {
    f = fopen(paths[k], "r");
    int found = 0;
    long a = -1, b = -1;
    unsigned mode = 0;
    while (f && fgets(buf, sizeof(buf), f)) {
      long key, id;
      if (sscanf(buf, "%ld %ld %o %ld %ld", &key, &id, &mode, &a, &b) == 5 &&
          id == (k ? s : q)) {
        found = 1;
        break;
      }
    }
    if (f)
      fclose(f);
    if (k == 0)
      printf("%s: found=%d perms=%o cbytes=%ld qnum=%ld\n", paths[k], found,
             mode, a, b);
    else
      printf("%s: found=%d perms=%o nsems=%ld\n", paths[k], found, mode, a);
  }
  msgctl(q, IPC_RMID, NULL);
  semctl(s, 0, IPC_RMID);
}

/* Contention: four processes take a semaphore as a mutex (SEM_UNDO)
 * around a non-atomic increment of a shared counter; two ping-pong 500
 * messages of two types. The totals are exact whatever the scheduling. */
static void stress(void) {
  printf("--- stress\n");
  volatile long *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  int s = semget(IPC_PRIVATE, 1, 0600);
  semctl(s, 0, SETVAL, (union semun){.val = 1});
  pid_t kids[4];
  for (int k = 0; k < 4; k++) {
    kids[k] = fork();
    if (kids[k] == 0) {
      for (int i = 0; i < 300; i++) {
        if (sop(s, 0, -1, SEM_UNDO) < 0)
          _exit(1);
        long v = *counter;
        if (i % 16 == 0)
          sched_yield();
        *counter = v + 1;
        if (sop(s, 0, 1, SEM_UNDO) < 0)
          _exit(2);
      }
      _exit(0);
    }
  }
  int bad = 0;
  for (int k = 0; k < 4; k++) {
    int st;
    waitpid(kids[k], &st, 0);
    bad += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
  }
  printf("mutex: counter=%ld failed=%d value=%d\n", *counter, bad,
         semctl(s, 0, GETVAL));
  semctl(s, 0, IPC_RMID);
  int q = msgget(IPC_PRIVATE, 0600);
  pid_t c = fork();
  if (c == 0) {
    struct mbuf m;
    long sum = 0;
    for (int i = 0; i < 500; i++) {
      if (msgrcv(q, &m, sizeof(m.text), 1, 0) < 0)
        _exit(1);
      sum += m.text[0];
      m.mtype = 2;
      if (msgsnd(q, &m, 1, 0) < 0)
        _exit(2);
    }
    _exit(sum == 500 * 'p' ? 0 : 3);
  }
  struct mbuf m;
  int got = 0;
  for (int i = 0; i < 500; i++) {
    m.mtype = 1;
    m.text[0] = 'p';
    if (msgsnd(q, &m, 1, 0) < 0 || msgrcv(q, &m, sizeof(m.text), 2, 0) != 1)
      break;
    got++;
  }
  reap("ping-pong child", c);
  printf("ping-pong: %d rounds\n", got);
  msgctl(q, IPC_RMID, NULL);
  munmap((void *)counter, 4096);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("sysv");
  messages();
  semaphores();
  permissions();
  proc_files();
  stress();
  printf("done\n");
  return 0;
}
