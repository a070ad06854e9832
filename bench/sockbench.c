/* Benchmark: sockets between two processes. argv[1] picks the socket
 * (unix: an AF_UNIX stream through a named listener; tcp: TCP over
 * 127.0.0.1) and argv[2] the measure: rtt prints the median round trip of
 * one byte there and back in microseconds over ROUNDS batches; tput
 * sends 1 GiB in 64 KiB writes one way and prints MB/s (MiB = 2^20).
 * Static, so the same binary runs natively and inside moat. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define ROUNDS 7
#define CHUNK (64 * 1024)
#define TOTAL (1ll << 30)

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* A connected pair (client in this process, server side accepted). */
static void connect_pair(int tcp, int *cl, int *sv) {
  int l, c;
  if (tcp) {
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    l = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&a, &al)) {
      perror("tcp listen");
      exit(1);
    }
    c = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c, (struct sockaddr *)&a, sizeof a)) {
      perror("connect");
      exit(1);
    }
  } else {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "sockbench-%d",
             (int)getpid()); /* abstract */
    socklen_t al = sizeof(sa_family_t) + 1 + strlen(a.sun_path + 1);
    l = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(l, (struct sockaddr *)&a, al) || listen(l, 1)) {
      perror("unix listen");
      exit(1);
    }
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&a, al)) {
      perror("connect");
      exit(1);
    }
  }
  *sv = accept(l, NULL, NULL);
  if (*sv < 0) {
    perror("accept");
    exit(1);
  }
  if (tcp) {
    int one = 1;
    setsockopt(*sv, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  close(l);
  *cl = c;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: sockbench unix|tcp rtt|tput\n");
    return 2;
  }
  int tcp = !strcmp(argv[1], "tcp");
  int rtt = !strcmp(argv[2], "rtt");
  int cl, sv;
  connect_pair(tcp, &cl, &sv);
  pid_t pid = fork();
  if (pid == 0) {
    close(cl);
    if (rtt) {
      char c;
      while (read(sv, &c, 1) == 1)
        if (write(sv, &c, 1) != 1)
          _exit(1);
    } else {
      char *buf = malloc(CHUNK);
      long long got = 0;
      long n;
      while ((n = read(sv, buf, CHUNK)) > 0)
        got += n;
      if (write(sv, "k", 1) != 1 || got != TOTAL)
        _exit(1);
    }
    _exit(0);
  }
  close(sv);
  if (rtt) {
    int n = argc > 3 ? atoi(argv[3]) : 5000;
    double per[ROUNDS];
    char c = 'x';
    for (int r = 0; r < ROUNDS; r++) {
      double t0 = now_us();
      for (int i = 0; i < n; i++)
        if (write(cl, &c, 1) != 1 || read(cl, &c, 1) != 1) {
          fprintf(stderr, "socket broke\n");
          return 1;
        }
      per[r] = (now_us() - t0) / n;
    }
    qsort(per, ROUNDS, sizeof(per[0]), cmp);
    printf("%.2f\n", per[ROUNDS / 2]);
    close(cl);
  } else {
    char *buf = malloc(CHUNK);
    memset(buf, 'z', CHUNK);
    double t0 = now_us();
    for (long long sent = 0; sent < TOTAL;) {
      long n = write(cl, buf, CHUNK);
      if (n <= 0) {
        fprintf(stderr, "socket broke\n");
        return 1;
      }
      sent += n;
    }
    shutdown(cl, SHUT_WR);
    char k;
    if (read(cl, &k, 1) != 1) {
      fprintf(stderr, "no ack\n");
      return 1;
    }
    double s = (now_us() - t0) / 1e6;
    printf("%.0f\n", TOTAL / 1048576.0 / s);
    close(cl);
  }
  int st;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
