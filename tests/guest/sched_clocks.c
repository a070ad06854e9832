/* Scheduling attributes and the clock calls' error paths, as sched(7),
 * sched_setscheduler(2), sched_setattr(2), setpriority(2),
 * clock_nanosleep(2) and clock_settime(2) document them: policies and
 * priorities with their ranges, SCHED_RESET_ON_FORK and inheritance,
 * nice values of another process, the rules for another user, the
 * /proc/PID/stat fields; which clocks sleep and which can be set; a
 * sleep on the process's CPU clock while a thread burns; wait4 and
 * waitid reaping before they report a bad pointer. Run as root natively
 * and in moat (guest root). Native vs moat. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

struct attr {
  uint32_t size, policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
  uint32_t util_min, util_max;
};

static void stat_fields(const char *label, pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
  if (fd >= 0)
    close(fd);
  buf[n > 0 ? n : 0] = 0;
  char *p = strrchr(buf, ')');
  long f[52] = {0};
  int k = 3; /* p + 2 is field 3 */
  if (p)
    for (char *q = p + 2; *q && k < 52; k++) {
      f[k] = strtol(q, &q, 10);
      if (k == 3)
        f[k] = 0; /* the state letter */
      while (*q && *q != ' ')
        q++;
      while (*q == ' ')
        q++;
    }
  printf("%s: priority %ld nice %ld rt_priority %ld policy %ld\n", label, f[18],
         f[19], f[40], f[41]);
}

static void show(const char *label) {
  struct sched_param sp = {0};
  int pol = sched_getscheduler(0);
  sched_getparam(0, &sp);
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, 0);
  printf("%s: policy %#x prio %d nice %d\n", label, pol, sp.sched_priority,
         nice);
}

static volatile int g_stop;

static void *burner(void *arg) {
  (void)arg;
  while (!g_stop)
    ;
  return NULL;
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct sched_param sp = {0};

  /* ---- policies ---- */
  show("start");
  sp.sched_priority = 1;
  R("FIFO 1", sched_setscheduler(0, SCHED_FIFO, &sp));
  show("after FIFO 1");
  stat_fields("stat FIFO 1", getpid());
  sp.sched_priority = 50;
  R("setparam 50", sched_setparam(0, &sp));
  show("after setparam 50");
  sp.sched_priority = 100;
  R("RR 100", sched_setscheduler(0, SCHED_RR, &sp));
  sp.sched_priority = 0;
  R("RR 0", sched_setscheduler(0, SCHED_RR, &sp));
  sp.sched_priority = 1;
  R("OTHER 1", sched_setscheduler(0, SCHED_OTHER, &sp));
  R("bad policy", sched_setscheduler(0, 9, &sp));
  R("NULL param", sched_setscheduler(0, SCHED_OTHER, NULL));
  R("bad pointer", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, 1));
  R("negative pid", sched_setscheduler(-1, SCHED_OTHER, &sp));
  R("getscheduler no such pid", sched_getscheduler(999999));
  R("getparam NULL", syscall(SYS_sched_getparam, 0, NULL));
  sp.sched_priority = 0;
  R("BATCH", sched_setscheduler(0, SCHED_BATCH, &sp));
  show("after BATCH");
  R("IDLE", sched_setscheduler(0, SCHED_IDLE, &sp));
  show("after IDLE");
  R("OTHER|RESET_ON_FORK",
    sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &sp));
  show("after RESET_ON_FORK");
  R("priority max FIFO", sched_get_priority_max(SCHED_FIFO));
  R("priority min RR", sched_get_priority_min(SCHED_RR));
  R("priority max OTHER", sched_get_priority_max(SCHED_OTHER));
  R("priority max bad", sched_get_priority_max(42));

  /* A child of a real-time process with SCHED_RESET_ON_FORK and a
   * negative nice: SCHED_OTHER, nice 0, the flag gone. */
  sp.sched_priority = 7;
  R("RR 7 with RESET_ON_FORK",
    sched_setscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, &sp));
  R("nice -3", setpriority(PRIO_PROCESS, 0, -3));
  pid_t c = fork();
  if (c == 0) {
    show("child with reset");
    _exit(0);
  }
  waitpid(c, NULL, 0);
  sp.sched_priority = 0;
  R("back to OTHER", sched_setscheduler(0, SCHED_OTHER, &sp));
  R("nice 2", setpriority(PRIO_PROCESS, 0, 2));
  c = fork();
  if (c == 0) {
    show("child inherits");
    _exit(0);
  }
  waitpid(c, NULL, 0);

  /* sched_setattr / sched_getattr */
  struct attr a = {0};
  R("getattr", syscall(SYS_sched_getattr, 0, &a, sizeof(a), 0));
  printf("attr: size %u policy %u flags %llu nice %d prio %u\n", a.size,
         a.policy, (unsigned long long)a.flags, a.nice, a.priority);
  R("getattr small", syscall(SYS_sched_getattr, 0, &a, 40, 0));
  R("getattr flags", syscall(SYS_sched_getattr, 0, &a, sizeof(a), 1));
  memset(&a, 0, sizeof(a));
  a.size = 48;
  a.policy = SCHED_OTHER;
  a.nice = 6;
  R("setattr nice 6", syscall(SYS_sched_setattr, 0, &a, 0));
  show("after setattr");
  a.size = 40;
  R("setattr small size", syscall(SYS_sched_setattr, 0, &a, 0));
  printf("size written back: %u\n", a.size);
  a.size = 48;
  a.flags = 0x1000;
  R("setattr bad flags", syscall(SYS_sched_setattr, 0, &a, 0));
  a.flags = 0;
  a.policy = SCHED_FIFO;
  a.priority = 3;
  R("setattr FIFO 3", syscall(SYS_sched_setattr, 0, &a, 0));
  show("after setattr FIFO");
  a.policy = SCHED_OTHER;
  a.priority = 0;
  a.nice = 0;
  R("setattr OTHER", syscall(SYS_sched_setattr, 0, &a, 0));

  /* ---- nice values of another process, and another user's rules ---- */
  int go[2];
  if (pipe(go) < 0)
    return 1;
  c = fork();
  if (c == 0) {
    char x;
    close(go[1]);
    if (read(go[0], &x, 1) < 0)
      _exit(1);
    _exit(0);
  }
  close(go[0]);
  R("setpriority child 9", setpriority(PRIO_PROCESS, c, 9));
  errno = 0;
  R("getpriority child", getpriority(PRIO_PROCESS, c));
  stat_fields("stat child", c);
  R("getscheduler child", sched_getscheduler(c));
  R("getpriority no such pid", getpriority(PRIO_PROCESS, 999999));
  R("getpriority bad which", getpriority(7, 0));
  close(go[1]);
  waitpid(c, NULL, 0);
  pid_t parent = getpid();
  c = fork();
  if (c == 0) {
    if (setresuid(4242, 4242, 4242) < 0)
      _exit(1);
    R("user: nice 10", setpriority(PRIO_PROCESS, 0, 10));
    R("user: nice 5 (lower)", setpriority(PRIO_PROCESS, 0, 5));
    R("user: root's process", setpriority(PRIO_PROCESS, parent, 10));
    sp.sched_priority = 1;
    R("user: FIFO", sched_setscheduler(0, SCHED_FIFO, &sp));
    sp.sched_priority = 0;
    R("user: BATCH", sched_setscheduler(0, SCHED_BATCH, &sp));
    R("user: root's scheduler", sched_setscheduler(parent, SCHED_OTHER, &sp));
    R("user: read root's", sched_getscheduler(parent));
    _exit(0);
  }
  waitpid(c, NULL, 0);
  setpriority(PRIO_PROCESS, 0, 0);

  /* ---- clocks: which sleep, which can be set ---- */
  static const int ids[] = {CLOCK_MONOTONIC,
                            CLOCK_PROCESS_CPUTIME_ID,
                            CLOCK_THREAD_CPUTIME_ID,
                            CLOCK_MONOTONIC_RAW,
                            CLOCK_REALTIME_COARSE,
                            CLOCK_MONOTONIC_COARSE,
                            CLOCK_BOOTTIME,
                            10,
                            CLOCK_TAI,
                            12,
                            99,
                            -2 /* own thread's */,
                            -6 /* own process's */};
  for (unsigned i = 0; i < sizeof(ids) / sizeof(*ids); i++) {
    struct timespec zero = {0, 0}, now;
    char label[64];
    snprintf(label, sizeof(label), "clock %d: nanosleep until 0", ids[i]);
    R(label, syscall(SYS_clock_nanosleep, ids[i], TIMER_ABSTIME, &zero, NULL));
    snprintf(label, sizeof(label), "clock %d: settime", ids[i]);
    clock_gettime(CLOCK_REALTIME, &now);
    R(label, syscall(SYS_clock_settime, ids[i], &now));
  }
  struct timespec shortest = {0, 1000};
  R("unknown flag bits are ignored",
    syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 6, &shortest, NULL));
  R("a bad request pointer",
    syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, 1, NULL));
  struct timespec bad = {0, 1000000000};
  R("a bad request",
    syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &bad, NULL));
  R("settime monotonic bad pointer",
    syscall(SYS_clock_settime, CLOCK_MONOTONIC, 1));
  struct timespec real, tai;
  clock_gettime(CLOCK_REALTIME, &real);
  R("gettime TAI", syscall(SYS_clock_gettime, CLOCK_TAI, &tai));
  FACT("TAI within 40 s of UTC",
       tai.tv_sec - real.tv_sec >= -1 && tai.tv_sec - real.tv_sec <= 40);

  /* Sleep for 50 ms of the process's CPU time while a thread burns it. */
  pthread_t th;
  pthread_create(&th, NULL, burner, NULL);
  double before = cpu_now();
  struct timespec cpu = {0, 50000000};
  R("sleep 50 ms on the process CPU clock",
    clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, &cpu, NULL) == 0);
  FACT("the clock advanced by at least 50 ms", cpu_now() - before >= 0.05);
  g_stop = 1;
  pthread_join(th, NULL);

  /* ---- a bad status pointer: the child is reaped all the same ---- */
  c = fork();
  if (c == 0)
    _exit(3);
  R("wait4 to a bad status pointer", wait4(c, (int *)1, 0, NULL));
  R("then no child", wait4(c, NULL, WNOHANG, NULL));
  c = fork();
  if (c == 0)
    _exit(4);
  R("waitid to a bad siginfo pointer",
    syscall(SYS_waitid, P_PID, c, 1, WEXITED, NULL));
  R("then no child", waitpid(c, NULL, WNOHANG));
  return 0;
}
