/* UDP to a receiver that does not read, as udp(7) and the kernel behave:
 * the sender never blocks nor sees EAGAIN (blocking and non-blocking,
 * POLLOUT throughout), what does not fit at the receiver is dropped, the
 * receiver then reads some but not all of them in order, and takes new
 * datagrams once drained. Only facts are printed (the counts depend on
 * the buffer accounting), natively and inside moat. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "guest.h"

#define N 2000
#define SIZE 1000

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int r = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof(a);
  OK("bind", bind(r, (struct sockaddr *)&a, sizeof(a)));
  getsockname(r, (struct sockaddr *)&a, &al);
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  char buf[SIZE];
  int ok = 0, again = 0, other = 0, pollout = 0;
  for (int i = 0; i < N; i++) {
    memset(buf, 0, sizeof(buf));
    memcpy(buf, &i, sizeof(i));
    /* every other one non-blocking */
    ssize_t n = sendto(s, buf, SIZE, (i & 1) ? MSG_DONTWAIT : 0,
                       (struct sockaddr *)&a, sizeof(a));
    if (n == SIZE)
      ok++;
    else if (n < 0 && errno == EAGAIN)
      again++;
    else
      other++;
    struct pollfd p = {s, POLLOUT, 0};
    if (poll(&p, 1, 0) == 1 && (p.revents & POLLOUT))
      pollout++;
  }
  FACT("every send took the whole datagram", ok == N);
  FACT("no EAGAIN", again == 0);
  FACT("no other result", other == 0);
  FACT("always POLLOUT", pollout == N);
  int got = 0, last = -1, first = -1, ordered = 1;
  for (;;) {
    ssize_t n = recv(r, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0) {
      printf("drained: %s\n", errname(errno));
      break;
    }
    int i;
    memcpy(&i, buf, sizeof(i));
    if (n != SIZE || i <= last)
      ordered = 0;
    if (first < 0)
      first = i;
    last = i;
    got++;
  }
  FACT("some received", got > 0);
  FACT("some dropped", got < N);
  FACT("in order, whole", ordered);
  FACT("the first one kept", first == 0);
  R("send after draining",
    sendto(s, "new", 3, 0, (struct sockaddr *)&a, sizeof(a)));
  R("received", recv(r, buf, sizeof(buf), 0));
  return 0;
}
