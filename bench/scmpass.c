/* Benchmark: a file descriptor passed with SCM_RIGHTS over an AF_UNIX
 * stream socketpair to another process, which closes it and answers one
 * byte. Prints the median round-trip time in microseconds over ROUNDS
 * batches. Static, so the same binary runs natively and inside moat. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define ROUNDS 7

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int send_fd(int s, int fd) {
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct iovec iov = {.iov_base = "x", .iov_len = 1};
  struct msghdr m = {.msg_iov = &iov,
                     .msg_iovlen = 1,
                     .msg_control = u.buf,
                     .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return sendmsg(s, &m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int s) {
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  char d;
  struct iovec iov = {.iov_base = &d, .iov_len = 1};
  struct msghdr m = {.msg_iov = &iov,
                     .msg_iovlen = 1,
                     .msg_control = u.buf,
                     .msg_controllen = sizeof u.buf};
  if (recvmsg(s, &m, 0) != 1 || !CMSG_FIRSTHDR(&m))
    return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof fd);
  return fd;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 2000;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
    perror("socketpair");
    return 1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    close(sv[0]);
    int fd;
    while ((fd = recv_fd(sv[1])) >= 0) {
      close(fd);
      if (write(sv[1], "a", 1) != 1)
        _exit(1);
    }
    _exit(0);
  }
  close(sv[1]);
  double per[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = now_us();
    for (int i = 0; i < n; i++) {
      char c;
      if (send_fd(sv[0], 0) < 0 || read(sv[0], &c, 1) != 1) {
        fprintf(stderr, "socket broke\n");
        return 1;
      }
    }
    per[r] = (now_us() - t0) / n;
  }
  close(sv[0]);
  waitpid(pid, NULL, 0);
  qsort(per, ROUNDS, sizeof(per[0]), cmp);
  printf("%.2f\n", per[ROUNDS / 2]);
  return 0;
}
