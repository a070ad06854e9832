/* SIGBUS raised by the guest's own access to a page of a MAP_SHARED file
 * mapping that lies wholly past the end of the file (mmap(2): "Attempted
 * access to a page of the buffer that lies beyond the end of the mapped
 * file"), by default and caught with its si_code and si_addr. */
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "guest.h"

static sigjmp_buf g_jump;
static volatile int g_code;
static volatile void *g_addr;

static void on_bus(int sig, siginfo_t *si, void *uc) {
  g_code = si->si_code;
  g_addr = si->si_addr;
  siglongjmp(g_jump, 1);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  enter_workdir("sigbus");
  int fd = open("short", O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, "x", 1) != 1)
    return 2;
  volatile char *m = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED)
    return 3;
  printf("first page: %c\n", m[0]);
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    char c = m[4096];
    _exit(c ? 5 : 6);
  }
  int st;
  waitpid(p, &st, 0);
  printf("default: signaled %d sig %d\n", WIFSIGNALED(st), WTERMSIG(st));
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_bus;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGBUS, &sa, NULL);
  if (!sigsetjmp(g_jump, 1))
    printf("read: %d\n", m[4096 + 10]);
  printf("caught: BUS_ADRERR %d, si_addr right %d\n", g_code == BUS_ADRERR,
         g_addr == (void *)(m + 4096 + 10));
  return 0;
}
