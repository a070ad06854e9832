/* The /proc files programs read, checked for their shape and for what
 * they must agree with (the calls that report the same facts): the
 * /proc/sys limits and names, /proc/self/status (signal masks, umask,
 * memory figures that follow an mmap, threads, the name prctl sets),
 * stat, statm, limits, environ, cmdline, cgroup, mountinfo, meminfo,
 * loadavg, uptime, the task/ directory of a threaded process (and
 * writing a thread's comm, as pthread_setname_np does), and another
 * process's entries. Output is identical natively and in moat: facts and
 * constants, never pids, sizes or times. */
#include "guest.h"

#include <ctype.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

extern char **environ;

static char g_buf[65536];

/* The whole file into g_buf; its length, or -1. */
static long slurp(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return -1;
  long len = 0;
  for (;;) {
    ssize_t n = read(fd, g_buf + len, sizeof(g_buf) - 1 - (size_t)len);
    if (n <= 0)
      break;
    len += n;
  }
  close(fd);
  g_buf[len] = 0;
  return len;
}

/* The value after "name:" in a status-like file, or NULL. */
static const char *find_field(const char *text, const char *name) {
  size_t n = strlen(name);
  for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
    if (!strncmp(p, name, n) && p[n] == ':') {
      p += n + 1;
      while (*p == ' ' || *p == '\t')
        p++;
      return p;
    }
  return NULL;
}

/* The same, "" when absent (printed as what is missing, never a crash). */
static const char *field(const char *text, const char *name) {
  const char *v = find_field(text, name);
  return v ? v : "";
}

static long long status_num(const char *path, const char *name) {
  if (slurp(path) < 0)
    return -1;
  const char *v = field(g_buf, name);
  return *v ? strtoll(v, NULL, 10) : -1;
}

static unsigned long long status_hex(const char *name) {
  if (slurp("/proc/self/status") < 0)
    return ~0ull;
  const char *v = field(g_buf, name);
  return *v ? strtoull(v, NULL, 16) : ~0ull;
}

static bool is_int_line(const char *s) {
  if (!isdigit((unsigned char)*s))
    return false;
  while (isdigit((unsigned char)*s))
    s++;
  return !strcmp(s, "\n");
}

static bool is_uuid_line(const char *s) {
  static const int dash[] = {8, 13, 18, 23};
  if (strlen(s) != 37 || s[36] != '\n')
    return false;
  for (int i = 0, d = 0; i < 36; i++) {
    if (d < 4 && i == dash[d]) {
      if (s[i] != '-')
        return false;
      d++;
    } else if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
      return false;
  }
  return true;
}

static void sys_files(void) {
  static const char *ints[] = {
      "/proc/sys/kernel/pid_max",       "/proc/sys/kernel/threads-max",
      "/proc/sys/kernel/ngroups_max",   "/proc/sys/fs/file-max",
      "/proc/sys/fs/nr_open",           "/proc/sys/fs/pipe-max-size",
      "/proc/sys/vm/overcommit_memory",
  };
  for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
    long n = slurp(ints[i]);
    printf("%s: %s\n", ints[i],
           n < 0                ? errname(errno)
           : is_int_line(g_buf) ? "integer"
                                : g_buf);
  }
  printf("ngroups_max: %s", (slurp("/proc/sys/kernel/ngroups_max"), g_buf));
  printf("pipe-max-size: %s", (slurp("/proc/sys/fs/pipe-max-size"), g_buf));
  long long pid_max = (slurp("/proc/sys/kernel/pid_max"), atoll(g_buf));
  FACT("pid_max above our pid", pid_max > getpid());
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  long long nr_open = (slurp("/proc/sys/fs/nr_open"), atoll(g_buf));
  FACT("nr_open at least the hard RLIMIT_NOFILE",
       rl.rlim_max == RLIM_INFINITY || nr_open >= (long long)rl.rlim_max);
  long long om = (slurp("/proc/sys/vm/overcommit_memory"), atoll(g_buf));
  FACT("overcommit_memory is 0, 1 or 2", om >= 0 && om <= 2);

  struct utsname u;
  uname(&u);
  char want[128];
  snprintf(want, sizeof(want), "%s\n", u.nodename);
  FACT("hostname is uname's",
       slurp("/proc/sys/kernel/hostname") > 0 && !strcmp(g_buf, want));
  snprintf(want, sizeof(want), "%s\n", u.release);
  FACT("osrelease is uname's",
       slurp("/proc/sys/kernel/osrelease") > 0 && !strcmp(g_buf, want));
  printf("ostype: %s", (slurp("/proc/sys/kernel/ostype"), g_buf));

  char a[64], b[64];
  FACT("boot_id is a uuid",
       slurp("/proc/sys/kernel/random/boot_id") > 0 && is_uuid_line(g_buf));
  snprintf(a, sizeof(a), "%s", g_buf);
  slurp("/proc/sys/kernel/random/boot_id");
  FACT("boot_id stays", !strcmp(a, g_buf));
  FACT("uuid is a uuid",
       slurp("/proc/sys/kernel/random/uuid") > 0 && is_uuid_line(g_buf));
  snprintf(a, sizeof(a), "%s", g_buf);
  slurp("/proc/sys/kernel/random/uuid");
  snprintf(b, sizeof(b), "%s", g_buf);
  FACT("uuid changes", strcmp(a, b) != 0);
  FACT("uuid version 4", a[14] == '4');
}

static const char *status_fields[] = {
    "Name",
    "Umask",
    "State",
    "Tgid",
    "Pid",
    "PPid",
    "TracerPid",
    "Uid",
    "Gid",
    "FDSize",
    "Groups",
    "VmPeak",
    "VmSize",
    "VmLck",
    "VmHWM",
    "VmRSS",
    "VmData",
    "VmStk",
    "VmExe",
    "VmLib",
    "VmSwap",
    "Threads",
    "SigQ",
    "SigPnd",
    "ShdPnd",
    "SigBlk",
    "SigIgn",
    "SigCgt",
    "CapInh",
    "CapPrm",
    "CapEff",
    "CapBnd",
    "CapAmb",
    "NoNewPrivs",
    "Seccomp",
    "Cpus_allowed",
    "Cpus_allowed_list",
    "Mems_allowed_list",
    "voluntary_ctxt_switches",
    "nonvoluntary_ctxt_switches",
};

static void on_usr2(int sig) {}

/* A mask as the status file prints it: 16 hex digits, SIGn is bit n-1. */
static unsigned long long bit(int sig) {
  return 1ull << (sig - 1);
}

static void status_file(void) {
  slurp("/proc/self/status");
  for (size_t i = 0; i < sizeof(status_fields) / sizeof(status_fields[0]); i++)
    if (!find_field(g_buf, status_fields[i]))
      printf("status: no %s\n", status_fields[i]);
  printf("status: State %.1s\n", field(g_buf, "State"));
  FACT("status: Pid is getpid", atoi(field(g_buf, "Pid")) == getpid());
  FACT("status: PPid is getppid", atoi(field(g_buf, "PPid")) == getppid());
  printf("status: Threads %d\n", atoi(field(g_buf, "Threads")));
  FACT("status: SigBlk a 16-digit mask",
       strspn(field(g_buf, "SigBlk"), "0123456789abcdef") == 16);

  umask(027);
  slurp("/proc/self/status");
  printf("status: Umask %.4s\n", field(g_buf, "Umask"));
  umask(022);

  /* masks: what sigprocmask and sigaction set */
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigaddset(&s, SIGUSR2);
  sigaddset(&s, SIGRTMIN + 3);
  sigprocmask(SIG_BLOCK, &s, NULL);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGUSR2, on_usr2);
  unsigned long long blk = status_hex("SigBlk"),
                     want = bit(SIGUSR1) | bit(SIGUSR2) | bit(SIGRTMIN + 3);
  FACT("status: SigBlk has what is blocked", (blk & want) == want);
  FACT("status: SigBlk has SIGUSR1 (0x200)", (blk & 0x200) != 0);
  unsigned long long ign = status_hex("SigIgn");
  printf("status: SigIgn %016llx\n", ign);
  unsigned long long cgt = status_hex("SigCgt");
  FACT("status: SigCgt has SIGUSR2", (cgt & bit(SIGUSR2)) != 0);
  FACT("status: SigCgt lacks SIGPIPE", !(cgt & bit(SIGPIPE)));
  printf("status: SigPnd %016llx ShdPnd %016llx\n", status_hex("SigPnd"),
         status_hex("ShdPnd"));
  syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGUSR1);
  kill(getpid(), SIGUSR2);
  printf("status: after tgkill USR1, kill USR2: SigPnd %016llx ShdPnd "
         "%016llx\n",
         status_hex("SigPnd"), status_hex("ShdPnd"));
  slurp("/proc/self/status");
  const char *q = field(g_buf, "SigQ");
  struct rlimit rl;
  getrlimit(RLIMIT_SIGPENDING, &rl);
  FACT("status: SigQ limit is RLIMIT_SIGPENDING",
       q && strchr(q, '/') &&
           strtoull(strchr(q, '/') + 1, NULL, 10) == rl.rlim_cur);
  struct timespec zero = {0, 0};
  sigtimedwait(&s, NULL, &zero);
  sigtimedwait(&s, NULL, &zero);
  sigprocmask(SIG_UNBLOCK, &s, NULL);
  signal(SIGPIPE, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  signal(SIGUSR2, SIG_DFL);
  printf("status: restored: SigBlk %016llx SigIgn %016llx\n",
         status_hex("SigBlk") & ~(bit(32) | bit(33)), status_hex("SigIgn"));

  /* memory: 32 MiB mapped and touched, then unmapped */
  long long size0 = status_num("/proc/self/status", "VmSize");
  long long rss0 = status_num("/proc/self/status", "VmRSS");
  size_t len = 32 << 20;
  char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
  memset(m, 1, len);
  long long size1 = status_num("/proc/self/status", "VmSize");
  long long rss1 = status_num("/proc/self/status", "VmRSS");
  long long peak1 = status_num("/proc/self/status", "VmPeak");
  long long hwm1 = status_num("/proc/self/status", "VmHWM");
  long long data1 = status_num("/proc/self/status", "VmData");
  FACT("VmSize grew by the mapping", size1 - size0 >= 32 * 1024);
  FACT("VmRSS grew by the touched pages", rss1 - rss0 >= 30 * 1024);
  FACT("VmData counts it", data1 >= 32 * 1024);
  FACT("VmPeak >= VmSize", peak1 >= size1);
  FACT("VmHWM >= VmRSS", hwm1 >= rss1);
  FACT("VmRSS <= VmSize", rss1 <= size1);
  /* statm: pages, the same figures */
  slurp("/proc/self/statm");
  long long sz, res, shr, text, lib, data, dt;
  int nf = sscanf(g_buf, "%lld %lld %lld %lld %lld %lld %lld", &sz, &res, &shr,
                  &text, &lib, &data, &dt);
  printf("statm: %d fields\n", nf);
  FACT("statm size is VmSize",
       sz * 4 == status_num("/proc/self/status", "VmSize"));
  munmap(m, len);
  long long size2 = status_num("/proc/self/status", "VmSize");
  long long peak2 = status_num("/proc/self/status", "VmPeak");
  long long hwm2 = status_num("/proc/self/status", "VmHWM");
  FACT("VmSize shrank after munmap", size1 - size2 >= 32 * 1024);
  FACT("VmPeak kept", peak2 >= size1);
  FACT("VmHWM >= VmRSS after munmap",
       hwm2 >= status_num("/proc/self/status", "VmRSS"));
  printf("VmLck: %lld\n", status_num("/proc/self/status", "VmLck"));

  /* Cpus_allowed_list is the affinity mask */
  cpu_set_t set;
  sched_getaffinity(0, sizeof(set), &set);
  char list[256] = "";
  for (int i = 0; i < CPU_SETSIZE; i++) {
    if (!CPU_ISSET(i, &set))
      continue;
    int j = i;
    while (j + 1 < CPU_SETSIZE && CPU_ISSET(j + 1, &set))
      j++;
    size_t l = strlen(list);
    if (j > i)
      snprintf(list + l, sizeof(list) - l, "%s%d-%d", l ? "," : "", i, j);
    else
      snprintf(list + l, sizeof(list) - l, "%s%d", l ? "," : "", i);
    i = j;
  }
  slurp("/proc/self/status");
  const char *cl = field(g_buf, "Cpus_allowed_list");
  FACT("Cpus_allowed_list is the affinity",
       cl && !strncmp(cl, list, strlen(list)) && cl[strlen(list)] == '\n');

  prctl(PR_SET_NAME, "renamed-abcdefghijkl");
  slurp("/proc/self/status");
  const char *name = field(g_buf, "Name");
  printf("status after PR_SET_NAME: Name %.*s\n", (int)strcspn(name, "\n"),
         name);
  printf("comm after PR_SET_NAME: %s", (slurp("/proc/self/comm"), g_buf));
  slurp("/proc/self/stat");
  printf("stat name: %.*s\n",
         (int)(strrchr(g_buf, ')') - strchr(g_buf, '(')) + 1,
         strchr(g_buf, '('));
  printf("NoNewPrivs before: %lld\n",
         status_num("/proc/self/status", "NoNewPrivs"));
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  printf("NoNewPrivs after: %lld\n",
         status_num("/proc/self/status", "NoNewPrivs"));
  FACT("CapEff non-zero as uid 0",
       (status_hex("CapEff") != 0) == (geteuid() == 0));
}

static void stat_file(void) {
  slurp("/proc/self/stat");
  char *close_paren = strrchr(g_buf, ')');
  int n = 2;
  for (char *p = close_paren + 1; *p; p++)
    if (*p == ' ')
      n++;
  printf("stat: %d fields\n", n);
  long long f[64] = {0};
  char *s = close_paren + 4; /* past ") S " */
  for (int i = 4; i <= n && *s; i++)
    f[i] = strtoll(s, &s, 10);
  FACT("stat: 4 ppid", f[4] == getppid());
  FACT("stat: 5 pgrp", f[5] == getpgrp());
  FACT("stat: 6 session", f[6] == getsid(0));
  FACT("stat: 20 num_threads is 1", f[20] == 1);
  FACT("stat: 19 nice is 0", f[19] == 0);
  FACT("stat: 18 priority is 20", f[18] == 20);
  FACT("stat: 23 vsize is VmSize",
       f[23] == status_num("/proc/self/status", "VmSize") * 1024);
  FACT("stat: 22 starttime after boot", f[22] >= 0);
  FACT("stat: 38 exit_signal SIGCHLD", f[38] == SIGCHLD);
}

static void limits_file(void) {
  struct rlimit rl = {512, 1024};
  setrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = 0;
  rl.rlim_max = RLIM_INFINITY;
  setrlimit(RLIMIT_CORE, &rl);
  slurp("/proc/self/limits");
  char *nl = strchr(g_buf, '\n');
  printf("limits header: %.*s|\n", (int)(nl - g_buf), g_buf);
  static const char *want[] = {"Max open files", "Max core file size",
                               "Max cpu time", "Max file size"};
  for (size_t i = 0; i < 4; i++) {
    char *l = strstr(g_buf, want[i]);
    if (!l) {
      printf("limits: no %s\n", want[i]);
      continue;
    }
    nl = strchr(l, '\n');
    printf("limits: %.*s|\n", (int)(nl - l), l);
  }
  int lines = 0;
  for (char *p = g_buf; *p; p++)
    lines += *p == '\n';
  printf("limits: %d lines\n", lines);
}

static void env_and_cmdline(int argc, char **argv, char **env0) {
  long n = slurp("/proc/self/environ");
  long at = 0;
  bool same = n >= 0;
  for (char **e = env0; same && *e; e++) {
    size_t l = strlen(*e) + 1;
    same = at + (long)l <= n && !memcmp(g_buf + at, *e, l);
    at += (long)l;
  }
  FACT("environ is the initial environment", same && at == n);
  n = slurp("/proc/self/cmdline");
  at = 0;
  same = n >= 0;
  for (int i = 0; same && i < argc; i++) {
    size_t l = strlen(argv[i]) + 1;
    same = at + (long)l <= n && !memcmp(g_buf + at, argv[i], l);
    at += (long)l;
  }
  FACT("cmdline is argv", same && at == n);
}

static void misc_files(void) {
  slurp("/proc/self/cgroup");
  FACT("cgroup has a v2 line",
       !strncmp(g_buf, "0::/", 4) || strstr(g_buf, "\n0::/") != NULL);
  long n = slurp("/proc/self/mountinfo");
  bool shape = n > 0, root = false, proc = false;
  for (char *l = g_buf; shape && *l; l = strchr(l, '\n') + 1) {
    char mp[256], fstype[64];
    int id, parent;
    char *dash = strstr(l, " - ");
    shape = dash && dash < strchr(l, '\n') &&
            sscanf(l, "%d %d %*s %*s %255s", &id, &parent, mp) == 3 &&
            sscanf(dash, " - %63s", fstype) == 1;
    if (shape && !strcmp(mp, "/"))
      root = true;
    if (shape && !strcmp(mp, "/proc") && !strcmp(fstype, "proc"))
      proc = true;
  }
  FACT("mountinfo lines well formed", shape);
  FACT("mountinfo has /", root);
  FACT("mountinfo has /proc as proc", proc);

  slurp("/proc/meminfo");
  static const char *mem[] = {
      "MemTotal",     "MemFree",         "MemAvailable",
      "Buffers",      "Cached",          "SwapCached",
      "Active",       "Inactive",        "SwapTotal",
      "SwapFree",     "Dirty",           "Shmem",
      "Slab",         "CommitLimit",     "Committed_AS",
      "VmallocTotal", "HugePages_Total", "Hugepagesize",
  };
  for (size_t i = 0; i < sizeof(mem) / sizeof(mem[0]); i++)
    if (!find_field(g_buf, mem[i]))
      printf("meminfo: no %s\n", mem[i]);
  long long total = atoll(field(g_buf, "MemTotal"));
  FACT("meminfo: MemFree <= MemTotal", atoll(field(g_buf, "MemFree")) <= total);
  FACT("meminfo: MemAvailable <= MemTotal",
       atoll(field(g_buf, "MemAvailable")) <= total);

  slurp("/proc/loadavg");
  double l1, l5, l15;
  int running, total_tasks, last;
  int nf = sscanf(g_buf, "%lf %lf %lf %d/%d %d", &l1, &l5, &l15, &running,
                  &total_tasks, &last);
  printf("loadavg: %d fields\n", nf);
  FACT("loadavg: running >= 1, <= total",
       running >= 1 && running <= total_tasks);

  slurp("/proc/uptime");
  double up, idle, up2;
  printf("uptime: %d fields\n", sscanf(g_buf, "%lf %lf", &up, &idle));
  slurp("/proc/uptime");
  sscanf(g_buf, "%lf", &up2);
  FACT("uptime: positive, not going back", up > 0 && up2 >= up);
}

/* ---- threads: task/ ---- */

static pthread_barrier_t g_bar;
static pid_t g_tids[2];

static void *worker(void *arg) {
  int i = (int)(intptr_t)arg;
  g_tids[i] = (pid_t)syscall(SYS_gettid);
  if (i == 0)
    prctl(PR_SET_NAME, "worker-zero");
  pthread_barrier_wait(&g_bar); /* named */
  pthread_barrier_wait(&g_bar); /* until the main thread has looked */
  return NULL;
}

static void tasks(void) {
  pthread_t th[2];
  pthread_barrier_init(&g_bar, NULL, 3);
  for (int i = 0; i < 2; i++)
    pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
  pthread_barrier_wait(&g_bar);
  printf("task: Threads %lld\n", status_num("/proc/self/status", "Threads"));
  DIR *d = opendir("/proc/self/task");
  int n = 0, found = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    n++;
    int tid = atoi(e->d_name);
    found += tid == getpid() || tid == g_tids[0] || tid == g_tids[1];
  }
  if (d)
    closedir(d);
  printf("task: %d entries, %d known\n", n, found);
  char path[128];
  snprintf(path, sizeof(path), "/proc/self/task/%d/comm", g_tids[0]);
  printf("task: worker comm %s", (slurp(path), g_buf));
  snprintf(path, sizeof(path), "/proc/self/task/%d/comm", getpid());
  printf("task: main comm %s", (slurp(path), g_buf));
  printf("task: /proc/self/comm %s", (slurp("/proc/self/comm"), g_buf));
  snprintf(path, sizeof(path), "/proc/self/task/%d/stat", g_tids[1]);
  slurp(path);
  FACT("task: stat starts with the tid", atoi(g_buf) == g_tids[1]);
  printf("task: stat name %.*s\n",
         (int)(strrchr(g_buf, ')') - strchr(g_buf, '(')) + 1,
         strchr(g_buf, '('));
  snprintf(path, sizeof(path), "/proc/self/task/%d/status", g_tids[1]);
  FACT("task: status Pid is the tid", status_num(path, "Pid") == g_tids[1]);
  FACT("task: status Tgid is the pid", status_num(path, "Tgid") == getpid());
  int r = pthread_setname_np(th[1], "set-by-main");
  printf("pthread_setname_np: %s\n", r ? errname(r) : "ok");
  snprintf(path, sizeof(path), "/proc/self/task/%d/comm", g_tids[1]);
  printf("task: second worker comm %s", (slurp(path), g_buf));
  char name[16] = "";
  r = pthread_getname_np(th[1], name, sizeof(name));
  printf("pthread_getname_np: %s %s\n", r ? errname(r) : "ok", name);
  snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", getpid(), g_tids[1]);
  FACT("task: /proc/PID/task/TID is the same",
       slurp(path) > 0 && !strcmp(g_buf, "set-by-main\n"));
  snprintf(path, sizeof(path), "/proc/self/task/%d", 999999);
  struct stat st;
  R("task: a tid that is not ours", stat(path, &st));
  pthread_barrier_wait(&g_bar);
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
}

/* ---- another process ---- */

static void other_process(void) {
  int up[2], down[2];
  if (pipe(up) < 0 || pipe(down) < 0)
    return;
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    prctl(PR_SET_NAME, "the-child");
    char x = 1;
    write(up[1], &x, 1);
    read(down[0], &x, 1);
    _exit(0);
  }
  char x;
  read(up[0], &x, 1);
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/comm", c);
  printf("child comm: %s", (slurp(path), g_buf));
  snprintf(path, sizeof(path), "/proc/%d/status", c);
  FACT("child status PPid is us", status_num(path, "PPid") == getpid());
  FACT("child VmSize > 0", status_num(path, "VmSize") > 0);
  int seen = 0, self = 0;
  DIR *d = opendir("/proc");
  struct dirent *e;
  while (d && (e = readdir(d))) {
    seen += atoi(e->d_name) == c;
    self += atoi(e->d_name) == getpid();
  }
  if (d)
    closedir(d);
  printf("/proc lists the child %d and us %d\n", seen, self);
  write(down[1], &x, 1);
  waitpid(c, NULL, 0);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  char **env0 = environ;
  env_and_cmdline(argc, argv, env0);
  sys_files();
  stat_file();
  status_file();
  limits_file();
  misc_files();
  tasks();
  other_process();
  return 0;
}
