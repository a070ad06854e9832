/* Hostile memory requests against the kernel (moat's VM platform,
 * docs/vm.md, and moat on Linux alike): kernel, non-canonical and
 * boundary addresses as the buffers of system calls (each must be
 * EFAULT, never a fault of the kernel), a clear_child_tid and robust
 * list there at exit; a 1 TiB PROT_NONE mapping (Linux makes it, the VM
 * refuses it: what counts is that the caller and the kernel go on); and
 * a child that maps PROT_NONE regions until refused (the VM once made
 * their page tables until memory ran out, and the next process to fault
 * a page in was killed: pid 1, and so the sandbox), while a sibling and
 * the parent then touch fresh memory. Positive controls: a pipe's
 * round trip, a child's exit status, the sibling's and the parent's own
 * pages. */
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

#define FUTEX_WAIT 0

static const uint64_t addrs[] = {
    0xffff800000100000ull, /* the VM's direct map */
    0xffffffff80100000ull, /* its image */
    0xffff808000000000ull, /* its heap */
    0xffffffffc0000000ull, /* a space's own data */
    0xffffffffe000fff0ull, /* a kernel stack's top */
    0xffffffffff600000ull, /* the vsyscall page */
    0x8000000000000000ull, /* non-canonical */
    0x00007ffffffff000ull, /* the last page of the user half */
    0x00007ffffffffff8ull, /* straddles the end of the user half */
    0x0000800000000000ull, /* just past it */
    0x10ull,
    0xfffffffffffffff0ull, /* wraps */
};
#define NADDR (sizeof(addrs) / sizeof(addrs[0]))

static long sc(long n, long a, long b, long c, long d) {
  long r = syscall(n, a, b, c, d, 0L, 0L);
  return r < 0 ? -errno : r;
}

static void print_fate(const char *what, int st) {
  if (WIFEXITED(st))
    printf("%s: exit %d\n", what, WEXITSTATUS(st));
  else
    printf("%s: signal %d\n", what, WTERMSIG(st));
}

static void kernel_buffers(void) {
  int pfd[2];
  if (pipe(pfd))
    return;
  for (unsigned i = 0; i < NADDR; i++) {
    long a = (long)addrs[i], r[19];
    int k = 0;
    char buf[8];
    r[k++] = sc(SYS_write, pfd[1], a, 16, 0);
    if (write(pfd[1], "12345678", 8) != 8)
      return;
    r[k++] = sc(SYS_read, pfd[0], a, 8, 0);
    if (r[k - 1] < 0 && read(pfd[0], buf, 8) != 8)
      return;
    r[k++] = sc(SYS_getrandom, a, 16, 0, 0);
    r[k++] = sc(SYS_clock_gettime, CLOCK_MONOTONIC, a, 0, 0);
    r[k++] = sc(SYS_gettimeofday, a, 0, 0, 0);
    r[k++] = sc(SYS_futex, a, FUTEX_WAIT, 0, 0);
    r[k++] = sc(SYS_rt_sigaction, SIGUSR1, a, 0, 8);
    r[k++] = sc(SYS_rt_sigaction, SIGUSR1, 0, a, 8);
    r[k++] = sc(SYS_rt_sigprocmask, SIG_BLOCK, a, 0, 8);
    r[k++] = sc(SYS_uname, a, 0, 0, 0);
    r[k++] = sc(SYS_pipe, a, 0, 0, 0);
    r[k++] = sc(SYS_nanosleep, a, 0, 0, 0);
    r[k++] = sc(SYS_open, a, 0, 0, 0);
    r[k++] = sc(SYS_stat, (long)"/", a, 0, 0);
    r[k++] = sc(SYS_sigaltstack, a, 0, 0, 0);
    r[k++] = sc(SYS_getcwd, a, 64, 0, 0);
    r[k++] = sc(SYS_poll, a, 1, 0, 0);
    r[k++] = sc(SYS_readv, pfd[0], a, 1, 0);
    r[k++] = sc(SYS_execve, a, 0, 0, 0);
    printf("address %u:", i);
    for (int j = 0; j < k; j++)
      printf(" %s", r[j] < 0 ? errname((int)-r[j]) : "ok");
    printf("\n");
  }
  if (write(pfd[1], "x", 1) != 1)
    return;
  char c = 0;
  printf("pipe round trip: %d\n", read(pfd[0], &c, 1) == 1 && c == 'x');
  close(pfd[0]);
  close(pfd[1]);
  /* the thread-exit words at those addresses */
  for (unsigned i = 0; i < NADDR; i++) {
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
      syscall(SYS_set_tid_address, addrs[i]);
      syscall(SYS_set_robust_list, addrs[i], 24);
      syscall(SYS_exit, 3);
    }
    int st = 0;
    waitpid(p, &st, 0);
    char what[64];
    snprintf(what, sizeof(what), "exit with tid address %u", i);
    print_fate(what, st);
  }
}

static int touch(size_t len) {
  char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
  if (m == MAP_FAILED)
    return 1;
  for (size_t o = 0; o < len; o += 4096)
    m[o] = 3;
  int ok = m[len - 4096] == 3;
  munmap(m, len);
  return ok ? 0 : 2;
}

static void huge_none(void) {
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    void *m = mmap(NULL, 1ull << 40, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m != MAP_FAILED)
      munmap(m, 1ull << 40);
    _exit(touch(1 << 20));
  }
  int st = 0;
  waitpid(p, &st, 0);
  print_fate("1 TiB PROT_NONE, then 1 MiB touched", st);
}

static void none_until_refused(void) {
  int pfd[2];
  if (pipe(pfd))
    return;
  fflush(stdout);
  pid_t a = fork();
  if (a == 0) {
    /* at most 256 GiB: Linux makes them all */
    for (int i = 0; i < 64; i++)
      if (mmap(NULL, 4ull << 30, PROT_NONE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
               0) == MAP_FAILED)
        break;
    char c = 1;
    if (write(pfd[1], &c, 1) != 1)
      _exit(1);
    for (;;)
      pause();
  }
  char c = 0;
  printf("mapper done: %d\n", (int)read(pfd[0], &c, 1));
  fflush(stdout);
  pid_t b = fork();
  if (b == 0)
    _exit(touch(8 << 20));
  int st = 0;
  waitpid(b, &st, 0);
  print_fate("sibling touching 8 MiB", st);
  printf("parent touching 8 MiB: %d\n", touch(8 << 20));
  kill(a, SIGKILL);
  waitpid(a, &st, 0);
  print_fate("mapper", st);
  close(pfd[0]);
  close(pfd[1]);
}

int main(void) {
  kernel_buffers();
  huge_none();
  none_until_refused();
  return 0;
}
