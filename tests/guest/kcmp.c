/* kcmp(2) as kcmp(2) documents it: 0 for one shared object, 1 or 2 (an
 * order) for two, by kind: a descriptor's open file description (dup and
 * fork share it, a second open does not), the address space, descriptor
 * table, fs context and signal handlers (a forked child has its own, a
 * thread shares them), an epoll set's registered file; and the errors
 * (EINVAL type, ESRCH pid, EBADF descriptor, ENOENT item, EFAULT slot,
 * EPERM for another user's process). Results are printed as "same" /
 * "differ", never the order. Native vs moat. */
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "guest.h"

/* linux/kcmp.h (musl has no copy). */
enum {
  KCMP_FILE,
  KCMP_VM,
  KCMP_FILES,
  KCMP_FS,
  KCMP_SIGHAND,
  KCMP_IO,
  KCMP_SYSVSEM,
  KCMP_EPOLL_TFD
};
struct kcmp_epoll_slot {
  unsigned efd, tfd, toff;
};

static long kcmp(pid_t a, pid_t b, int type, unsigned long i1,
                 unsigned long i2) {
  return syscall(SYS_kcmp, a, b, type, i1, i2);
}

static void show(const char *label, long r) {
  if (r < 0)
    printf("%s: -1 %s\n", label, errname(errno));
  else
    printf("%s: %s\n", label, r == 0 ? "same" : r <= 2 ? "differ" : "?");
}

static pid_t g_tid;
static volatile int g_stop;

static void *thread_main(void *arg) {
  (void)arg;
  g_tid = (pid_t)syscall(SYS_gettid);
  while (!g_stop)
    usleep(1000);
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("kcmp");
  pid_t me = getpid();
  int a = open("f", O_RDWR | O_CREAT, 0600);
  int b = dup(a);
  int c = open("f", O_RDONLY);
  show("file: a and itself", kcmp(me, me, KCMP_FILE, a, a));
  show("file: a and its dup", kcmp(me, me, KCMP_FILE, a, b));
  show("file: a and a second open", kcmp(me, me, KCMP_FILE, a, c));
  long r1 = kcmp(me, me, KCMP_FILE, a, c), r2 = kcmp(me, me, KCMP_FILE, c, a);
  FACT("file: the order turns with the arguments",
       (r1 == 1 && r2 == 2) || (r1 == 2 && r2 == 1));
  for (int t = KCMP_VM; t <= KCMP_SYSVSEM; t++) {
    char label[32];
    snprintf(label, sizeof(label), "kind %d: itself", t);
    show(label, kcmp(me, me, t, 0, 0));
  }

  /* A thread shares everything; its id names the same process. */
  pthread_t th;
  pthread_create(&th, NULL, thread_main, NULL);
  while (!__atomic_load_n(&g_tid, __ATOMIC_ACQUIRE))
    usleep(1000);
  show("thread: vm", kcmp(me, g_tid, KCMP_VM, 0, 0));
  show("thread: files", kcmp(me, g_tid, KCMP_FILES, 0, 0));
  show("thread: fs", kcmp(me, g_tid, KCMP_FS, 0, 0));
  show("thread: sighand", kcmp(g_tid, me, KCMP_SIGHAND, 0, 0));
  show("thread: file a", kcmp(g_tid, me, KCMP_FILE, a, b));
  g_stop = 1;
  pthread_join(th, NULL);

  /* A forked child: the descriptors' files shared, the rest its own. */
  int ready[2], done[2];
  pipe(ready);
  pipe(done);
  pid_t child = fork();
  if (child == 0) {
    char x;
    int d = open("f", O_RDONLY); /* a file of its own at a new number */
    (void)d;
    write(ready[1], "r", 1);
    read(done[0], &x, 1);
    _exit(0);
  }
  char x;
  read(ready[0], &x, 1);
  show("fork: file a", kcmp(me, child, KCMP_FILE, a, a));
  show("fork: file a vs child's b", kcmp(me, child, KCMP_FILE, a, b));
  show("fork: file c vs child's new open",
       kcmp(me, child, KCMP_FILE, c, done[1] + 1));
  show("fork: vm", kcmp(me, child, KCMP_VM, 0, 0));
  show("fork: files", kcmp(me, child, KCMP_FILES, 0, 0));
  show("fork: fs", kcmp(me, child, KCMP_FS, 0, 0));
  show("fork: sighand", kcmp(me, child, KCMP_SIGHAND, 0, 0));
  /* A thread made this process an undo list (CLONE_SYSVSEM); fork gives
   * the child none. */
  show("fork: sysvsem", kcmp(me, child, KCMP_SYSVSEM, 0, 0));
  show("fork: child's fd not open", kcmp(me, child, KCMP_FILE, a, 999));
  pid_t second = fork();
  if (second == 0) {
    read(done[0], &x, 1);
    _exit(0);
  }
  show("two children: sysvsem (neither has one)",
       kcmp(child, second, KCMP_SYSVSEM, 0, 0));
  show("two children: io", kcmp(child, second, KCMP_IO, 0, 0));
  write(done[1], "dd", 2); /* either child may take either byte */
  waitpid(second, NULL, 0);
  write(done[1], "d", 1);
  waitpid(child, NULL, 0);
  show("reaped child", kcmp(me, child, KCMP_VM, 0, 0));

  /* An epoll set's registered file. */
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  epoll_ctl(ep, EPOLL_CTL_ADD, ready[0], &ev);
  struct kcmp_epoll_slot slot = {.efd = ep, .tfd = ready[0], .toff = 0};
  show("epoll: the registered file",
       kcmp(me, me, KCMP_EPOLL_TFD, ready[0], (unsigned long)&slot));
  show("epoll: another file",
       kcmp(me, me, KCMP_EPOLL_TFD, ready[1], (unsigned long)&slot));
  slot.toff = 1;
  show("epoll: no second item",
       kcmp(me, me, KCMP_EPOLL_TFD, ready[0], (unsigned long)&slot));
  slot.toff = 0;
  slot.tfd = done[0];
  show("epoll: fd not in the set",
       kcmp(me, me, KCMP_EPOLL_TFD, ready[0], (unsigned long)&slot));
  slot.efd = 999;
  show("epoll: set not open",
       kcmp(me, me, KCMP_EPOLL_TFD, ready[0], (unsigned long)&slot));
  show("epoll: slot unreadable", kcmp(me, me, KCMP_EPOLL_TFD, ready[0], 8));
  show("epoll: fd not open, slot unreadable",
       kcmp(me, me, KCMP_EPOLL_TFD, 999, 8));

  /* Errors. */
  show("type 8", kcmp(me, me, 8, 0, 0));
  show("type -1", kcmp(me, me, -1, 0, 0));
  show("no such pid", kcmp(me, 999999, KCMP_VM, 0, 0));
  show("no such pid, bad type", kcmp(999999, me, 99, 0, 0));
  show("fd not open", kcmp(me, me, KCMP_FILE, 999, a));
  show("negative fd", kcmp(me, me, KCMP_FILE, (unsigned long)-1, a));

  /* Another user may not compare this process's objects. */
  pid_t u = fork();
  if (u == 0) {
    if (setgid(1000) < 0 || setuid(1000) < 0) {
      printf("setuid: %s\n", errname(errno));
      _exit(1);
    }
    pid_t self = getpid();
    show("other user: its own", kcmp(self, self, KCMP_VM, 0, 0));
    show("other user: root's process", kcmp(self, me, KCMP_VM, 0, 0));
    _exit(0);
  }
  waitpid(u, NULL, 0);
  return 0;
}
