/* fcntl's SIGIO owner and signal (F_SETOWN, F_GETOWN, F_SETOWN_EX,
 * F_GETOWN_EX, F_SETSIG, F_GETSIG: kept per open file description,
 * shared by dup and fork), copy_file_range's checks (a write-only input,
 * a read-only or append-mode output, directories, pipes, an overlap
 * within one file, flags) and flock's ignored LOCK_MAND, as fcntl(2),
 * copy_file_range(2) and flock(2) (Linux) document them. Native vs moat. */
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "guest.h"

#ifndef LOCK_MAND
#define LOCK_MAND 32
#define LOCK_READ 64
#endif
#ifndef F_SETOWN_EX
#define F_SETOWN_EX 15
#define F_GETOWN_EX 16
#endif

struct owner_ex {
  int type;
  int pid;
};

static long cfr(int in, long long *oin, int out, long long *oout, size_t len,
                unsigned flags) {
  return syscall(SYS_copy_file_range, in, oin, out, oout, len, flags);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("fdowner");
  write_file("src", "hello world, hello file");
  int fd = open("src", O_RDWR);

  /* ---- owner and signal ---- */
  R("F_GETOWN at first", fcntl(fd, F_GETOWN));
  R("F_GETSIG at first", fcntl(fd, F_GETSIG));
  R("F_SETOWN self", fcntl(fd, F_SETOWN, getpid()));
  FACT("F_GETOWN is our pid", fcntl(fd, F_GETOWN) == getpid());
  struct owner_ex ex = {-1, -1};
  R("F_GETOWN_EX", fcntl(fd, F_GETOWN_EX, &ex));
  printf("type %d, pid is ours %d\n", ex.type, ex.pid == getpid());
  R("F_SETOWN our group", fcntl(fd, F_SETOWN, -getpgrp()));
  FACT("F_GETOWN is minus our group", fcntl(fd, F_GETOWN) == -getpgrp());
  fcntl(fd, F_GETOWN_EX, &ex);
  printf("type %d, pid is our group %d\n", ex.type, ex.pid == getpgrp());
  ex.type = 0; /* F_OWNER_TID */
  ex.pid = (int)syscall(SYS_gettid);
  R("F_SETOWN_EX thread", fcntl(fd, F_SETOWN_EX, &ex));
  ex.type = 7;
  R("F_SETOWN_EX bad type", fcntl(fd, F_SETOWN_EX, &ex));
  R("F_SETOWN_EX bad pointer", syscall(SYS_fcntl, fd, F_SETOWN_EX, 1));
  R("F_GETOWN_EX bad pointer", syscall(SYS_fcntl, fd, F_GETOWN_EX, 1));
  R("F_SETOWN no such process", fcntl(fd, F_SETOWN, 999999));
  R("F_SETOWN 0", fcntl(fd, F_SETOWN, 0));
  R("F_GETOWN after 0", fcntl(fd, F_GETOWN));
  R("F_SETSIG SIGUSR1", fcntl(fd, F_SETSIG, SIGUSR1));
  R("F_GETSIG", fcntl(fd, F_GETSIG));
  R("F_SETSIG 65", fcntl(fd, F_SETSIG, 65));
  int d = dup(fd);
  R("F_GETSIG through a dup", fcntl(d, F_GETSIG));
  close(d);
  pid_t c = fork();
  if (c == 0) {
    R("F_GETSIG in a child", fcntl(fd, F_GETSIG));
    _exit(0);
  }
  waitpid(c, NULL, 0);
  int other = open("src", O_RDONLY);
  R("F_GETSIG of another open", fcntl(other, F_GETSIG));

  /* ---- flock ---- */
  R("flock LOCK_MAND is ignored", flock(fd, LOCK_MAND | LOCK_READ));
  R("flock 0", flock(fd, 0));

  /* ---- copy_file_range ---- */
  int out = open("dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
  R("copy 5", cfr(fd, NULL, out, NULL, 5, 0));
  R("flags", cfr(fd, NULL, out, NULL, 5, 1));
  int wo = open("src", O_WRONLY);
  R("write-only input", cfr(wo, NULL, out, NULL, 5, 0));
  R("read-only output", cfr(fd, NULL, other, NULL, 5, 0));
  int app = open("dst", O_WRONLY | O_APPEND);
  R("append-mode output", cfr(fd, NULL, app, NULL, 5, 0));
  int dir = open(".", O_RDONLY | O_DIRECTORY);
  R("a directory", cfr(dir, NULL, out, NULL, 5, 0));
  int p[2];
  if (pipe(p) < 0)
    return 1;
  R("a pipe", cfr(fd, NULL, p[1], NULL, 5, 0));
  long long a = 0, b = 3;
  R("overlap in one file", cfr(fd, &a, fd, &b, 5, 0));
  b = 10;
  R("no overlap in one file", cfr(fd, &a, fd, &b, 5, 0));
  printf("offsets now %lld %lld\n", a, b);
  a = -1;
  R("negative offset", cfr(fd, &a, out, NULL, 5, 0));
  a = 100;
  R("past the end", cfr(fd, &a, out, NULL, 5, 0));
  printf("src now: %s\n", read_file("src"));
  printf("dst now: %s\n", read_file("dst"));
  return 0;
}
