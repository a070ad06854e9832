/* An epoll set or an eventfd opened again by path (/proc/self/fd/N,
 * /dev/fd/N) fails with ENXIO: its state lives in the open file
 * description. moat once made a second description without that state,
 * and polling it (select on the new fd) was an internal fault of the
 * library OS (found by tests/security/sysfuzz). O_PATH opens work. */
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>

#include "guest.h"

static void show_open(const char *label, int r) {
  if (r < 0)
    printf("%s: -1 %s\n", label, errname(errno));
  else
    printf("%s: ok\n", label);
}

static void reopen(const char *what, int fd) {
  static const char *dirs[] = {"/proc/self/fd", "/dev/fd"};
  static const int modes[] = {O_RDONLY, O_RDWR, O_WRONLY | O_NONBLOCK};
  char path[64], label[96];
  for (int d = 0; d < 2; d++) {
    snprintf(path, sizeof path, "%s/%d", dirs[d], fd);
    for (int m = 0; m < 3; m++) {
      snprintf(label, sizeof label, "%s: open %s mode %d", what, dirs[d], m);
      int r = open(path, modes[m]);
      show_open(label, r);
      if (r < 0)
        continue;
      /* had it opened: what moat used to crash on */
      struct pollfd p = {r, POLLIN | POLLOUT, 0};
      snprintf(label, sizeof label, "%s: poll the new fd", what);
      R(label, poll(&p, 1, 0));
      close(r);
    }
    snprintf(label, sizeof label, "%s: O_PATH open %s", what, dirs[d]);
    int r = open(path, O_PATH);
    show_open(label, r);
    if (r >= 0) {
      char c;
      snprintf(label, sizeof label, "%s: read the O_PATH fd", what);
      R(label, read(r, &c, 1));
      close(r);
    }
  }
}

int main(void) {
  int ep = epoll_create1(0);
  int ev = eventfd(3, 0);
  reopen("epoll", ep);
  reopen("eventfd", ev);
  /* the originals are unharmed */
  struct epoll_event e = {.events = EPOLLIN, .data.u64 = 7};
  R("epoll_ctl add the eventfd", epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e));
  struct epoll_event got;
  R("epoll_wait", epoll_wait(ep, &got, 1, 0));
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(ep, &rd);
  FD_SET(ev, &rd);
  struct timeval tv = {0, 0};
  R("select on both", select((ep > ev ? ep : ev) + 1, &rd, NULL, NULL, &tv));
  uint64_t v = 0;
  R("read the eventfd", read(ev, &v, sizeof v));
  printf("eventfd value: %llu\n", (unsigned long long)v);
  return 0;
}
