/* Descriptors and pipes: dup, dup2, dup3, fcntl (F_DUPFD, F_DUPFD_CLOEXEC,
 * F_GETFD/F_SETFD, F_GETFL/F_SETFL), pipe, pipe2 (O_CLOEXEC, O_NONBLOCK),
 * EOF, EPIPE with SIGPIPE ignored, EAGAIN, ioctl (FIONREAD, TCGETS on a
 * non-terminal), isatty, and the lowest-free-fd rule. */
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "guest.h"

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("fdpipe");
  write_file("f", "0123456789");
  R("open", open("f", O_RDONLY));
  R("dup", dup(3));
  R("dup2", dup2(3, 10));
  R("dup2 same", dup2(3, 3));
  R("dup2 bad old", dup2(77, 11));
  R("dup2 bad new", dup2(3, -1));
  R("dup2 huge new", dup2(3, 1 << 24));
  R("dup3 same", dup3(3, 3, 0));
  R("dup3 bad flags", dup3(3, 12, 0x1));
  R("dup3 cloexec", dup3(3, 12, O_CLOEXEC));
  R("getfd 12", fcntl(12, F_GETFD));
  R("getfd 10", fcntl(10, F_GETFD));
  char c;
  R("read via 3", read(3, &c, 1));
  R("offset shared by dup", lseek(4, 0, SEEK_CUR));
  R("offset shared by dup2", lseek(10, 0, SEEK_CUR));
  R("F_DUPFD 20", fcntl(3, F_DUPFD, 20));
  R("F_DUPFD 20 again", fcntl(3, F_DUPFD, 20));
  R("F_DUPFD_CLOEXEC", fcntl(3, F_DUPFD_CLOEXEC, 0));
  R("getfd", fcntl(5, F_GETFD));
  R("setfd", fcntl(5, F_SETFD, FD_CLOEXEC));
  R("getfd", fcntl(5, F_GETFD));
  R("setfd 0", fcntl(5, F_SETFD, 0));
  R("getfd", fcntl(5, F_GETFD));
  R("F_GETFL", fcntl(3, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
  R("F_SETFL nonblock|append", fcntl(3, F_SETFL, O_NONBLOCK | O_APPEND));
  R("F_GETFL via dup", fcntl(4, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
  R("F_SETFL cannot change access mode", fcntl(3, F_SETFL, O_RDWR));
  R("F_GETFL", fcntl(3, F_GETFL) & O_ACCMODE);
  R("fcntl bad fd", fcntl(77, F_GETFD));
  R("fcntl bad cmd", fcntl(3, 12345));
  R("close 4", close(4));
  R("lowest free", open("f", O_RDONLY));
  R("close -1", close(-1));
  for (int fd = 3; fd < 32; fd++)
    close(fd);

  /* pipes */
  signal(SIGPIPE, SIG_IGN);
  int p[2];
  R("pipe", pipe(p));
  printf("pipe fds: %d %d\n", p[0], p[1]);
  R("write", write(p[1], "abc", 3));
  int avail = -1;
  R("FIONREAD", ioctl(p[0], FIONREAD, &avail));
  printf("available: %d\n", avail);
  char buf[4096] = {0};
  R("read", read(p[0], buf, sizeof buf));
  printf("data: %s\n", buf);
  R("read write end", read(p[1], buf, 1));
  R("write read end", write(p[0], "x", 1));
  R("lseek pipe", lseek(p[0], 0, SEEK_CUR));
  R("pread pipe", pread(p[0], buf, 1, 0));
  struct stat st;
  R("fstat pipe", fstat(p[0], &st));
  FACT("S_ISFIFO", S_ISFIFO(st.st_mode));
  R("F_GETFL read end", fcntl(p[0], F_GETFL) & O_ACCMODE);
  R("F_GETFL write end", fcntl(p[1], F_GETFL) & O_ACCMODE);
  R("write then close writer", write(p[1], "z", 1));
  R("close writer", close(p[1]));
  R("read remaining", read(p[0], buf, sizeof buf));
  R("read EOF", read(p[0], buf, sizeof buf));
  R("close reader", close(p[0]));
  R("pipe", pipe(p));
  R("close reader", close(p[0]));
  R("write no reader (EPIPE)", write(p[1], "x", 1));
  R("close writer", close(p[1]));

  R("pipe2 nonblock|cloexec", pipe2(p, O_NONBLOCK | O_CLOEXEC));
  R("getfd", fcntl(p[0], F_GETFD));
  FACT("nonblock set", fcntl(p[0], F_GETFL) & O_NONBLOCK);
  R("read empty nonblock", read(p[0], buf, sizeof buf));
  memset(buf, 'p', sizeof buf);
  long total = 0, r = 0;
  for (int i = 0; i < 1024; i++) {
    r = write(p[1], buf, sizeof buf);
    if (r < 0)
      break;
    total += r;
  }
  printf("fill: stopped with %s, at least PIPE_BUF: %d\n",
         r < 0 ? errname(errno) : "no error", total >= 4096);
  long drained = 0;
  while ((r = read(p[0], buf, sizeof buf)) > 0)
    drained += r;
  printf("drain: stopped with %s, all back: %d\n",
         r < 0 ? errname(errno) : "EOF", drained == total);
  R("pipe2 bad flags", pipe2(p, O_RDWR | 0x1000000));

  /* terminals: none here */
  struct termios t;
  R("tcgetattr pipe", tcgetattr(p[0], &t));
  write_file("g", "x");
  int fd = open("g", O_RDONLY);
  R("ioctl TCGETS on file", ioctl(fd, TCGETS, &t));
  R("isatty file", isatty(fd));
  R("isatty pipe", isatty(p[0]));
  R("ioctl bad fd", ioctl(77, FIONREAD, &avail));
  return 0;
}
