/* Process basics: the id family (getuid ... getresgid, getgroups,
 * setresuid to the same ids), getpid/gettid/getppid consistency, uname,
 * sethostname permission, prlimit64/getrlimit/setrlimit (and RLIMIT_NOFILE
 * honoured by open), sysinfo, getrandom, arch_prctl, set_tid_address,
 * umask. Values that differ between a host and a sandbox (pids, the
 * kernel release, memory sizes) are printed as facts, not values. */
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

#include "guest.h"

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("system");
  printf("uid %u euid %u gid %u egid %u\n", getuid(), geteuid(), getgid(),
         getegid());
  uid_t r, e, s;
  R("getresuid", getresuid(&r, &e, &s));
  printf("resuid %u %u %u\n", r, e, s);
  gid_t gr, ge, gs;
  R("getresgid", getresgid(&gr, &ge, &gs));
  printf("resgid %u %u %u\n", gr, ge, gs);
  R("setresuid same", setresuid(-1, geteuid(), -1));
  R("setresgid same", setresgid(-1, getegid(), -1));
  FACT("getgroups count >= 0", getgroups(0, NULL) >= 0);
  FACT("pid positive", getpid() > 0);
  FACT("gettid == getpid", syscall(SYS_gettid) == getpid());
  FACT("getppid >= 0", getppid() >= 0);
  FACT("getpgid(0) == getpgrp()", getpgid(0) == getpgrp());
  FACT("getsid(0) >= 0", getsid(0) >= 0);
  int tid_word = 0;
  FACT("set_tid_address returns tid",
       syscall(SYS_set_tid_address, &tid_word) == getpid());

  struct utsname u;
  R("uname", uname(&u));
  printf("sysname %s machine %s\n", u.sysname, u.machine);
  int major = 0, minor = 0;
  FACT("release looks like a version",
       sscanf(u.release, "%d.%d", &major, &minor) == 2 && major >= 3);
  char host[128] = {0};
  R("gethostname", gethostname(host, sizeof host));
  FACT("nodename == gethostname", strcmp(host, u.nodename) == 0);
  if (geteuid() != 0)
    R("sethostname unprivileged", sethostname("x", 1));

  struct rlimit rl;
  R("getrlimit NOFILE", getrlimit(RLIMIT_NOFILE, &rl));
  FACT("soft <= hard", rl.rlim_cur <= rl.rlim_max);
  struct rlimit lim = {16, rl.rlim_max};
  R("setrlimit NOFILE 16", setrlimit(RLIMIT_NOFILE, &lim));
  R("getrlimit", getrlimit(RLIMIT_NOFILE, &rl));
  printf("nofile soft %lu\n", (unsigned long)rl.rlim_cur);
  write_file("f", "x");
  int n = 0, fd;
  while ((fd = open("f", O_RDONLY)) >= 0)
    n++;
  printf("opens until limit: %d (%s)\n", n, errname(errno));
  R("dup2 beyond limit", dup2(0, 20));
  for (int i = 3; i < 16; i++)
    close(i);
  struct rlimit bad = {32, 16};
  R("setrlimit soft > hard", setrlimit(RLIMIT_NOFILE, &bad));
  R("prlimit64 self read", prlimit(0, RLIMIT_STACK, NULL, &rl));
  FACT("stack limit nonzero", rl.rlim_cur > 0);
  R("prlimit64 bad resource", prlimit(0, 999, NULL, &rl));
  R("getrlimit AS", getrlimit(RLIMIT_AS, &rl));
  R("getrlimit CORE", getrlimit(RLIMIT_CORE, &rl));

  struct sysinfo si;
  R("sysinfo", sysinfo(&si));
  FACT("totalram > 0", si.totalram > 0);
  FACT("freeram <= totalram", si.freeram <= si.totalram);
  FACT("mem_unit >= 1", si.mem_unit >= 1);
  FACT("procs >= 1", si.procs >= 1);
  FACT("uptime >= 0", (long)si.uptime >= 0);

  unsigned char a[32] = {0}, b[32] = {0}, z[32] = {0};
  R("getrandom", syscall(SYS_getrandom, a, sizeof a, 0));
  R("getrandom nonblock", syscall(SYS_getrandom, b, sizeof b, 1));
  FACT("random differs", memcmp(a, b, 32) != 0 && memcmp(a, z, 32) != 0);
  R("getrandom bad flags", syscall(SYS_getrandom, a, sizeof a, 0x100));
  R("getrandom zero length", syscall(SYS_getrandom, a, 0, 0));
  R("getrandom bad pointer", syscall(SYS_getrandom, (void *)8, 16, 0));
  unsigned long fs = 0;
  R("arch_prctl GET_FS", syscall(SYS_arch_prctl, 0x1003, &fs));
  FACT("fs base nonzero", fs != 0);
  R("arch_prctl bad code", syscall(SYS_arch_prctl, 0x9999, &fs));
  R("umask", umask(027));
  R("umask", umask(022));
  return 0;
}
