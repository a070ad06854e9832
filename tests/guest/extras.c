/* Supported syscalls beyond the minimum that static programs meet:
 * poll/ppoll/select on ready files and pipes with bytes waiting, sleeps
 * through poll, flock, fallocate, preadv/pwritev, sendfile,
 * copy_file_range, memfd_create, mkfifo (mknodat), statfs/fstatfs,
 * getrusage, sched_getaffinity, sched_get_priority_*, mincore, prctl
 * PR_SET_NAME, rt_sigsuspend, close_range, utime, fchownat, fadvise64,
 * sync/syncfs. Only what Linux documents and is the same on any host is
 * printed. */
#include <poll.h>
#include <sched.h>
#include <sys/wait.h>
#include <signal.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <utime.h>

#include "guest.h"

static volatile int g_got;
static void on_usr1(int sig) {
  g_got = sig;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("extras");
  write_file("f", "0123456789");

  /* poll, ppoll, select */
  int fd = open("f", O_RDONLY);
  struct pollfd pf = {fd, POLLIN, 0};
  R("poll regular file", poll(&pf, 1, 0));
  printf("revents POLLIN %d\n", (pf.revents & POLLIN) != 0);
  int p[2];
  pipe(p);
  write(p[1], "abc", 3);
  struct pollfd pp[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
  R("poll pipe with bytes", poll(pp, 2, 1000));
  printf("read end POLLIN %d write end POLLOUT %d\n",
         (pp[0].revents & POLLIN) != 0, (pp[1].revents & POLLOUT) != 0);
  struct timespec t0, t1, ten = {0, 10 * 1000 * 1000};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  R("poll nothing for 30ms", poll(NULL, 0, 30));
  clock_gettime(CLOCK_MONOTONIC, &t1);
  FACT("slept >= 30ms",
       (t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec) >=
           30 * 1000000ll);
  R("ppoll pipe", ppoll(pp, 1, &ten, NULL));
  fd_set rs;
  FD_ZERO(&rs);
  FD_SET(p[0], &rs);
  struct timeval tv = {1, 0};
  R("select pipe", select(p[0] + 1, &rs, NULL, NULL, &tv));
  FACT("FD_ISSET", FD_ISSET(p[0], &rs));
  R("poll bad fd", poll(&(struct pollfd){77, POLLIN, 0}, 1, 0));
  pf.fd = 77;
  poll(&pf, 1, 0);
  printf("POLLNVAL %d\n", (pf.revents & POLLNVAL) != 0);

  /* flock */
  R("flock ex", flock(fd, LOCK_EX));
  R("flock un", flock(fd, LOCK_UN));
  R("flock sh nb", flock(fd, LOCK_SH | LOCK_NB));
  R("flock bad op", flock(fd, 0));
  close(fd);

  /* fallocate, preadv/pwritev, sendfile, copy_file_range */
  fd = open("g", O_RDWR | O_CREAT, 0644);
  R("fallocate", fallocate(fd, 0, 0, 8192));
  struct stat st;
  fstat(fd, &st);
  printf("size after fallocate %ld\n", (long)st.st_size);
  struct iovec w[2] = {{"ab", 2}, {"cd", 2}};
  R("pwritev", pwritev(fd, w, 2, 100));
  char a[3] = {0}, b[3] = {0};
  struct iovec r[2] = {{a, 2}, {b, 2}};
  R("preadv", preadv(fd, r, 2, 100));
  printf("preadv %s %s\n", a, b);
  int src = open("f", O_RDONLY);
  off_t off = 2;
  R("sendfile file to file", sendfile(fd, src, &off, 5));
  printf("sendfile offset now %ld\n", (long)off);
  R("sendfile to stdout", sendfile(1, src, NULL, 4));
  printf("\n");
  loff_t in = 0, out = 0;
  int dst = open("h", O_WRONLY | O_CREAT, 0644);
  R("copy_file_range",
    syscall(SYS_copy_file_range, src, &in, dst, &out, 10, 0));
  close(dst);
  printf("h: %s\n", read_file("h"));
  R("fadvise", posix_fadvise(src, 0, 0, POSIX_FADV_SEQUENTIAL));
  close(src);
  close(fd);

  /* memfd */
  int m = (int)syscall(SYS_memfd_create, "scratch", 0);
  FACT("memfd_create", m >= 0);
  R("memfd write", write(m, "memory file", 11));
  R("memfd lseek", lseek(m, 0, SEEK_SET));
  char mb[32] = {0};
  R("memfd read", read(m, mb, sizeof mb));
  printf("memfd: %s\n", mb);
  R("memfd ftruncate", ftruncate(m, 4096));
  fstat(m, &st);
  printf("memfd size %ld\n", (long)st.st_size);

  /* FIFO node */
  R("mkfifo", mkfifo("fifo", 0644));
  R("lstat fifo", lstat("fifo", &st));
  FACT("S_ISFIFO", S_ISFIFO(st.st_mode));
  R("mknod regular", mknod("node", S_IFREG | 0600, 0));
  R("mknod exists", mknod("node", S_IFREG | 0600, 0));

  /* statfs */
  struct statfs sf;
  R("statfs", statfs(".", &sf));
  FACT("f_bsize > 0", sf.f_bsize > 0);
  R("fstatfs", fstatfs(1, &sf));
  R("statfs missing", statfs("nope", &sf));

  /* resources and scheduling */
  struct rusage ru;
  R("getrusage self", getrusage(RUSAGE_SELF, &ru));
  R("getrusage bad", getrusage(42, &ru));
  cpu_set_t cs;
  CPU_ZERO(&cs);
  R("sched_getaffinity >= 8", sched_getaffinity(0, sizeof cs, &cs) >= 8);
  FACT("at least one cpu", CPU_COUNT(&cs) >= 1);
  /* The guest's threads run on the host's CPUs, so it sees as many. */
  printf("cpus in the mask: %d\n", CPU_COUNT(&cs));
  printf("online processors: %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
  cpu_set_t none;
  CPU_ZERO(&none);
  R("sched_setaffinity empty", sched_setaffinity(0, sizeof none, &none));
  R("sched_setaffinity same", sched_setaffinity(0, sizeof cs, &cs));
  {
    /* A narrower mask is kept and reported back, and a child inherits
     * it (CPython's test_posix.test_sched_setaffinity). */
    cpu_set_t less = cs, got;
    int last = -1;
    for (int i = 0; i < CPU_SETSIZE; i++)
      if (CPU_ISSET(i, &cs))
        last = i;
    if (CPU_COUNT(&cs) > 1)
      CPU_CLR(last, &less);
    R("sched_setaffinity less", sched_setaffinity(0, sizeof less, &less));
    CPU_ZERO(&got);
    sched_getaffinity(0, sizeof got, &got);
    FACT("narrower mask reported", CPU_EQUAL(&got, &less));
    pid_t c = fork();
    if (c == 0) {
      CPU_ZERO(&got);
      sched_getaffinity(0, sizeof got, &got);
      _exit(CPU_EQUAL(&got, &less) ? 0 : 1);
    }
    int st = -1;
    waitpid(c, &st, 0);
    FACT("child inherits the mask", WIFEXITED(st) && WEXITSTATUS(st) == 0);
    R("sched_setaffinity restore", sched_setaffinity(0, sizeof cs, &cs));
    CPU_ZERO(&got);
    sched_getaffinity(0, sizeof got, &got);
    FACT("full mask back", CPU_EQUAL(&got, &cs));
  }
  R("sched_get_priority_max FIFO", sched_get_priority_max(SCHED_FIFO));
  R("sched_get_priority_min FIFO", sched_get_priority_min(SCHED_FIFO));
  R("sched_get_priority_max OTHER", sched_get_priority_max(SCHED_OTHER));
  R("sched_get_priority_max bad", sched_get_priority_max(77));
  R("sched_getscheduler", sched_getscheduler(0));

  /* mincore */
  unsigned char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  page[0] = 1;
  unsigned char vec[2];
  R("mincore", mincore(page, 8192, vec));
  printf("first page resident %d\n", vec[0] & 1);
  munmap(page, 8192);
  R("mincore unmapped", mincore(page, 8192, vec));
  R("mincore unaligned", mincore(page + 1, 4096, vec));

  /* prctl name */
  R("PR_SET_NAME", prctl(PR_SET_NAME, "renamed-task"));
  char name[17] = {0};
  R("PR_GET_NAME", prctl(PR_GET_NAME, name));
  printf("name %s\n", name);

  /* rt_sigsuspend */
  signal(SIGUSR1, on_usr1);
  sigset_t block, empty;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigprocmask(SIG_BLOCK, &block, NULL);
  raise(SIGUSR1);
  sigemptyset(&empty);
  R("sigsuspend", sigsuspend(&empty));
  printf("handler ran %d\n", g_got == SIGUSR1);

  /* close_range, utime, fchownat, sync */
  int d1 = dup(0), d2 = dup(0);
  R("close_range", syscall(SYS_close_range, d1, d2, 0));
  R("closed", fcntl(d2, F_GETFD));
  struct utimbuf ub = {1234567890, 1234567891};
  R("utime", utime("f", &ub));
  stat("f", &st);
  printf("utime mtime %ld\n", (long)st.st_mtime);
  R("fchownat self", fchownat(AT_FDCWD, "f", geteuid(), getegid(), 0));
  sync();
  R("syncfs", syncfs(1) >= 0 || errno == EINVAL ? 0 : -1);
  return 0;
}
