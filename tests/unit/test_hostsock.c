/* Host-backed sockets (core/hostsock.c) over the test platform's
 * plat_net_*, which makes real host connections for what the test
 * granted: a granted TCP destination is reached and carries data both
 * ways, with readiness, names, half-close and end of file; a destination
 * not granted is ENETUNREACH and its listener never sees a connection; a
 * granted port nobody listens on is ECONNREFUSED; a UDP datagram is cut
 * with MSG_TRUNC; the socket works as a guest file too. */
#include <arpa/inet.h>
#include <sys/poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "file.h"
#include "hostsock.h"
#include "poll.h"
#include "testplat.h"
#include "unit.h"

static const uint8_t g_lo[4] = {127, 0, 0, 1};

/* A host listener (TCP) or bound socket (UDP) on 127.0.0.1, any port. */
static int host_listener(int type, uint16_t *port) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  if (type == SOCK_STREAM)
    ck_assert_int_eq(listen(fd, 4), 0);
  socklen_t len = sizeof(a);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

static bool pending(int listener) {
  struct pollfd p = {listener, POLLIN, 0};
  return poll(&p, 1, 50) == 1;
}

START_TEST(tcp_granted) {
  boot_memfs();
  testplat_net_reset();
  uint16_t port;
  int l = host_listener(SOCK_STREAM, &port);
  testplat_net_grant(AF_INET, g_lo, port);
  struct hostsock *h;
  ck_assert_int_eq(
      hostsock_connect(LINUX_SOCK_STREAM, LINUX_AF_INET, g_lo, port, false, &h),
      0);
  int s = accept(l, NULL, NULL);
  ck_assert_int_ge(s, 0);
  char buf[64] = "hello";
  struct linux_iovec iov = {.iov_base = buf, .iov_len = 5};
  ck_assert_int_eq(hostsock_send(h, &iov, 1, 0, false), 5);
  char got[16] = {0};
  ck_assert_int_eq(recv(s, got, sizeof(got), 0), 5);
  ck_assert_str_eq(got, "hello");
  /* nothing to read yet: not readable, EAGAIN without blocking */
  ck_assert_uint_eq(hostsock_poll(h, VFS_POLLIN) & VFS_POLLIN, 0);
  int mf;
  iov.iov_len = sizeof(buf);
  ck_assert_int_eq(hostsock_recv(h, &iov, 1, 0, true, &mf), E(EAGAIN));
  ck_assert_int_eq(send(s, "world", 5, 0), 5);
  struct pollfd p = {s, POLLOUT, 0};
  poll(&p, 1, 100);
  for (int i = 0; i < 100 && !(hostsock_poll(h, VFS_POLLIN) & VFS_POLLIN); i++)
    usleep(1000);
  ck_assert_uint_ne(hostsock_poll(h, VFS_POLLIN | VFS_POLLOUT) & VFS_POLLIN, 0);
  /* a peek leaves it, MSG_WAITALL takes all five */
  iov.iov_len = 3;
  ck_assert_int_eq(hostsock_recv(h, &iov, 1, LINUX_MSG_PEEK, false, &mf), 3);
  iov.iov_len = 5;
  memset(buf, 0, sizeof(buf));
  ck_assert_int_eq(hostsock_recv(h, &iov, 1, LINUX_MSG_WAITALL, false, &mf), 5);
  ck_assert_str_eq(buf, "world");
  /* names: the peer is the listener */
  uint8_t sa[28];
  uint32_t len = sizeof(sa);
  hostsock_name(h, true, sa, &len);
  ck_assert_uint_eq(len, 16);
  ck_assert_uint_eq(sa[0] | sa[1] << 8, LINUX_AF_INET);
  ck_assert_uint_eq((unsigned)(sa[2] << 8 | sa[3]), port);
  ck_assert_int_eq(memcmp(sa + 4, g_lo, 4), 0);
  len = sizeof(sa);
  hostsock_name(h, false, sa, &len);
  ck_assert_int_eq(memcmp(sa + 4, g_lo, 4), 0);
  /* half-close: the host side reads end of file; then its close is ours */
  ck_assert_int_eq(hostsock_shutdown(h, 1), 0);
  ck_assert_int_eq(recv(s, got, sizeof(got), 0), 0);
  close(s);
  ck_assert_int_eq(hostsock_recv(h, &iov, 1, 0, false, &mf), 0);
  hostsock_release(h);
  /* a non-blocking connect: under way or done at once, then connected */
  int rc =
      hostsock_connect(LINUX_SOCK_STREAM, LINUX_AF_INET, g_lo, port, true, &h);
  ck_assert(rc == 0 || rc == E(EINPROGRESS));
  ck_assert_ptr_nonnull(h);
  for (int i = 0; i < 1000 && hostsock_connect_state(h) == E(EINPROGRESS); i++)
    usleep(1000);
  ck_assert_int_eq(hostsock_connect_state(h), 0);
  hostsock_release(h);
  close(l);
}
END_TEST

START_TEST(tcp_not_granted) {
  boot_memfs();
  testplat_net_reset();
  uint16_t port, other;
  int l = host_listener(SOCK_STREAM, &port);
  int l2 = host_listener(SOCK_STREAM, &other);
  testplat_net_grant(AF_INET, g_lo, other);
  struct hostsock *h = NULL;
  ck_assert_int_eq(
      hostsock_connect(LINUX_SOCK_STREAM, LINUX_AF_INET, g_lo, port, false, &h),
      E(ENETUNREACH));
  ck_assert_ptr_null(h);
  /* the same through a sockaddr_in, and families that are not IP */
  struct sockaddr_in sin = {.sin_family = AF_INET,
                            .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ck_assert_int_eq(hostsock_connect_sockaddr(LINUX_SOCK_STREAM, &sin,
                                             sizeof(sin), false, &h),
                   E(ENETUNREACH));
  ck_assert_int_eq(
      hostsock_connect_sockaddr(LINUX_SOCK_STREAM, &sin, 8, false, &h),
      E(EINVAL));
  uint16_t unix_family = LINUX_AF_UNIX;
  ck_assert_int_eq(hostsock_connect_sockaddr(LINUX_SOCK_STREAM, &unix_family,
                                             sizeof(unix_family), false, &h),
                   E(EAFNOSUPPORT));
  ck_assert(!pending(l)); /* nothing ever reached the host listener */
  /* positive control: the granted one is reached */
  sin.sin_port = htons(other);
  ck_assert_int_eq(hostsock_connect_sockaddr(LINUX_SOCK_STREAM, &sin,
                                             sizeof(sin), false, &h),
                   0);
  ck_assert(pending(l2));
  hostsock_release(h);
  close(l);
  close(l2);
  /* granted, nobody listening: the host's answer */
  ck_assert_int_eq(hostsock_connect(LINUX_SOCK_STREAM, LINUX_AF_INET, g_lo,
                                    other, false, &h),
                   E(ECONNREFUSED));
}
END_TEST

START_TEST(udp_truncated) {
  boot_memfs();
  testplat_net_reset();
  uint16_t port;
  int u = host_listener(SOCK_DGRAM, &port);
  testplat_net_grant(AF_INET, g_lo, port);
  struct hostsock *h;
  ck_assert_int_eq(
      hostsock_connect(LINUX_SOCK_DGRAM, LINUX_AF_INET, g_lo, port, false, &h),
      0);
  char big[100];
  memset(big, 'x', sizeof(big));
  struct linux_iovec iov = {.iov_base = big, .iov_len = sizeof(big)};
  ck_assert_int_eq(hostsock_send(h, &iov, 1, 0, false), 100);
  struct sockaddr_in from;
  socklen_t flen = sizeof(from);
  char got[200];
  ck_assert_int_eq(
      recvfrom(u, got, sizeof(got), 0, (struct sockaddr *)&from, &flen), 100);
  ck_assert_int_eq(sendto(u, big, 50, 0, (struct sockaddr *)&from, flen), 50);
  char small[10];
  struct linux_iovec siov = {.iov_base = small, .iov_len = sizeof(small)};
  int mf;
  ck_assert_int_eq(hostsock_recv(h, &siov, 1, LINUX_MSG_TRUNC, false, &mf), 50);
  ck_assert_int_ne(mf & LINUX_MSG_TRUNC, 0);
  hostsock_release(h);
  close(u);
}
END_TEST

START_TEST(as_a_file) {
  boot_memfs();
  testplat_net_reset();
  uint16_t port;
  int l = host_listener(SOCK_STREAM, &port);
  testplat_net_grant(AF_INET, g_lo, port);
  struct hostsock *h;
  ck_assert_int_eq(
      hostsock_connect(LINUX_SOCK_STREAM, LINUX_AF_INET, g_lo, port, false, &h),
      0);
  struct file *f;
  ck_assert_int_eq(hostsock_file_new(h, 0, &f), 0);
  ck_assert(hostsock_file(f));
  int fd = anon_file_install(f, false);
  file_put(f);
  ck_assert_int_ge(fd, 0);
  int s = accept(l, NULL, NULL);
  ck_assert_int_eq(moat_write(fd, "ping", 4), 4);
  char got[8] = {0};
  ck_assert_int_eq(recv(s, got, sizeof(got), 0), 4);
  ck_assert_int_eq(send(s, "pong", 4, 0), 4);
  char buf[8] = {0};
  ck_assert_int_eq(moat_read(fd, buf, sizeof(buf)), 4);
  ck_assert_str_eq(buf, "pong");
  ck_assert_int_eq(moat_close(fd), 0);
  /* the last reference ends the connection */
  ck_assert_int_eq(recv(s, got, sizeof(got), 0), 0);
  close(s);
  close(l);
}
END_TEST

Suite *suite_hostsock(void) {
  Suite *s = suite_create("hostsock");
  TCase *tc = unit_tcase(s, "hostsock");
  tcase_add_test(tc, tcp_granted);
  tcase_add_test(tc, tcp_not_granted);
  tcase_add_test(tc, udp_truncated);
  tcase_add_test(tc, as_a_file);
  return s;
}
