/* CPU time accounting across wait: a child that burns CPU shows it in
 * wait4's rusage, then in the parent's getrusage(RUSAGE_CHILDREN) and
 * times(); a grandchild's time reaches the grandparent through the child's
 * wait. Only lower bounds are checked (the machine is shared). */
#include <sys/resource.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void burn(double seconds) {
  volatile unsigned long x = 0;
  time_t give_up = time(NULL) + 20; /* never spin forever */
  while (cpu_seconds() < seconds && time(NULL) < give_up)
    x++;
}

static double tv(struct timeval t) {
  return (double)t.tv_sec + t.tv_usec / 1e6;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct rusage ru;
  R("getrusage children before", getrusage(RUSAGE_CHILDREN, &ru));
  FACT("children used no CPU yet", tv(ru.ru_utime) + tv(ru.ru_stime) < 0.1);

  pid_t c = fork();
  if (c == 0) {
    pid_t g = fork();
    if (g == 0) {
      burn(0.2);
      _exit(0);
    }
    waitpid(g, NULL, 0);
    burn(0.2);
    _exit(3);
  }
  int status = 0;
  memset(&ru, 0, sizeof(ru));
  R("wait4", wait4(c, &status, 0, &ru) == c);
  printf("exit status %d\n", WEXITSTATUS(status));
  FACT("wait4 rusage holds the child and grandchild (>= 0.3 s)",
       tv(ru.ru_utime) + tv(ru.ru_stime) >= 0.3);
  R("getrusage children after", getrusage(RUSAGE_CHILDREN, &ru));
  FACT("RUSAGE_CHILDREN >= 0.3 s", tv(ru.ru_utime) + tv(ru.ru_stime) >= 0.3);
  struct tms t;
  times(&t);
  FACT("times cutime+cstime >= 0.3 s",
       (double)(t.tms_cutime + t.tms_cstime) / sysconf(_SC_CLK_TCK) >= 0.3);
  R("getrusage self", getrusage(RUSAGE_SELF, &ru));
  FACT("self used little CPU", tv(ru.ru_utime) + tv(ru.ru_stime) < 0.3);
  return 0;
}
