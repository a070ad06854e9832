/* Reopening an anonymous pipe by name (issue 7, item 8): /proc/self/fd/N,
 * /dev/fd/N and /dev/stdin name the pipe itself, and opening them makes a
 * new open file description of the same pipe. Unlike a named fifo's open,
 * it never waits for the other end: a reader whose writers have all gone
 * reads what is left, then EOF (`echo hi | cat /dev/stdin`), a writer
 * without readers opens and then gets EPIPE. Run natively and in moat;
 * the outputs must match. Each step has an alarm so a hang shows as a
 * failure, not a stuck test. */
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "guest.h"

static void step(const char *what) {
  printf("-- %s\n", what);
  fflush(stdout);
  alarm(5);
}

/* Read fd to EOF (or an error) and print what came. */
static void drain(const char *label, int fd) {
  char buf[256];
  size_t got = 0;
  for (;;) {
    ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
    if (n < 0) {
      printf("%s: read -1 %s after \"%.*s\"\n", label, errname(errno), (int)got,
             buf);
      return;
    }
    if (n == 0)
      break;
    got += (size_t)n;
  }
  buf[got] = 0;
  printf("%s: \"%s\" then EOF\n", label, buf);
}

static int reopen(const char *fmt, int fd, int flags) {
  char path[64];
  snprintf(path, sizeof(path), fmt, fd);
  int r = open(path, flags);
  if (r < 0)
    printf("open %s: -1 %s\n", path, errname(errno));
  return r;
}

static void writer_gone(const char *fmt, const char *name) {
  int p[2];
  pipe(p);
  write(p[1], "hi\n", 3);
  close(p[1]);
  int r = reopen(fmt, p[0], O_RDONLY);
  if (r >= 0) {
    printf("open %s: new fd %s\n", name, r != p[0] ? "differs" : "same");
    drain(name, r);
    close(r);
  }
  drain("original end", p[0]);
  close(p[0]);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);

  step("the writer has exited: /proc/self/fd, /dev/fd, reads then EOF");
  writer_gone("/proc/self/fd/%d", "/proc/self/fd/N");
  writer_gone("/dev/fd/%d", "/dev/fd/N");

  step("/dev/stdin on a pipe whose writer (a child) has exited");
  {
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);
      write(p[1], "from the child\n", 15);
      _exit(0);
    }
    close(p[1]);
    waitpid(pid, NULL, 0);
    dup2(p[0], 0);
    close(p[0]);
    int r = open("/dev/stdin", O_RDONLY);
    if (r < 0) {
      printf("open /dev/stdin: -1 %s\n", errname(errno));
    } else {
      drain("/dev/stdin", r);
      close(r);
    }
  }

  step("a writer still there: the open does not wait; a new description");
  {
    int p[2];
    pipe(p);
    int r = reopen("/proc/self/fd/%d", p[0], O_RDONLY | O_NONBLOCK);
    if (r >= 0) {
      char c;
      ssize_t n = read(r, &c, 1);
      printf("read on the empty pipe: %zd %s\n", n,
             n < 0 ? errname(errno) : "");
      printf("O_NONBLOCK: reopened %s, original %s\n",
             fcntl(r, F_GETFL) & O_NONBLOCK ? "set" : "clear",
             fcntl(p[0], F_GETFL) & O_NONBLOCK ? "set" : "clear");
      struct pollfd pf = {.fd = r, .events = POLLIN};
      int n1 = poll(&pf, 1, 0);
      printf("poll with a writer: %d revents %#x\n", n1, pf.revents);
      close(p[1]);
      pf.revents = 0;
      int n2 = poll(&pf, 1, 0);
      printf("poll without writers: %d revents %#x\n", n2, pf.revents);
      printf("read without writers: %zd\n", read(r, &c, 1));
      close(r);
    }
    close(p[0]);
  }

  step("the write end reopened: writes reach the same pipe");
  {
    int p[2];
    pipe(p);
    int w = reopen("/proc/self/fd/%d", p[1], O_WRONLY);
    if (w >= 0) {
      printf("write through the reopened end: %zd\n", write(w, "abc", 3));
      close(w);
    }
    close(p[1]);
    drain("the read end", p[0]);
    close(p[0]);
  }

  step("the write end reopened after every reader has gone");
  {
    int p[2];
    pipe(p);
    close(p[0]);
    int w = reopen("/proc/self/fd/%d", p[1], O_WRONLY | O_NONBLOCK);
    if (w >= 0) {
      ssize_t n = write(w, "x", 1);
      printf("write: %zd %s\n", n, n < 0 ? errname(errno) : "");
      close(w);
    }
    close(p[1]);
  }

  step("the read end reopened twice: readers share the data");
  {
    int p[2];
    pipe(p);
    int a = reopen("/proc/self/fd/%d", p[0], O_RDONLY);
    write(p[1], "12", 2);
    close(p[1]);
    char c;
    if (a >= 0) {
      printf("reopened end reads %zd byte(s)\n", read(a, &c, 1));
      drain("original end", p[0]);
      drain("reopened end", a);
      close(a);
    }
    close(p[0]);
  }
  alarm(0);
  printf("done\n");
  return 0;
}
