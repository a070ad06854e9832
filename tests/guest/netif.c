/* The loopback interface as programs see it: getifaddrs, if_nameindex,
 * the SIOCGIF* ioctls, and NETLINK_ROUTE itself (RTM_GETLINK and
 * RTM_GETADDR dumps and gets, NLMSG_DONE, NLMSG_ERROR and acks, sequence
 * numbers and port ids, MSG_PEEK|MSG_TRUNC sizing, a cut datagram, the
 * socket's names and options). The host has more interfaces than the
 * sandbox, so only what is about `lo` (index 1) is printed; natively and
 * inside moat the output must be the same. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "guest.h"

/* The netlink ABI (musl has no <linux/netlink.h>): Linux's uapi. */
struct sockaddr_nl {
  unsigned short nl_family, nl_pad;
  unsigned nl_pid, nl_groups;
};
struct nlmsghdr {
  unsigned nlmsg_len;
  unsigned short nlmsg_type, nlmsg_flags;
  unsigned nlmsg_seq, nlmsg_pid;
};
struct nlmsgerr {
  int error;
  struct nlmsghdr msg;
};
struct rtgenmsg {
  unsigned char rtgen_family;
};
struct ifinfomsg {
  unsigned char ifi_family, pad;
  unsigned short ifi_type;
  int ifi_index;
  unsigned ifi_flags, ifi_change;
};
struct ifaddrmsg {
  unsigned char ifa_family, ifa_prefixlen, ifa_flags, ifa_scope;
  unsigned ifa_index;
};
struct rtattr {
  unsigned short rta_len, rta_type;
};
#define NETLINK_ROUTE 0
#define NLM_F_REQUEST 1
#define NLM_F_ACK 4
#define NLM_F_DUMP 0x300
#define NLMSG_ERROR 2
#define NLMSG_DONE 3
#define RTM_NEWLINK 16
#define RTM_GETLINK 18
#define RTM_NEWADDR 20
#define RTM_GETADDR 22
#define IFLA_ADDRESS 1
#define IFLA_IFNAME 3
#define IFLA_MTU 4
#define IFA_ADDRESS 1
#define IFA_LOCAL 2
#define IFA_LABEL 3
#define NLMSG_ALIGN(n) (((n) + 3u) & ~3u)
#define NLMSG_HDRLEN ((int)NLMSG_ALIGN(sizeof(struct nlmsghdr)))
#define NLMSG_LENGTH(n) ((n) + NLMSG_HDRLEN)
#define NLMSG_DATA(h) ((void *)((char *)(h) + NLMSG_HDRLEN))
#define NLMSG_OK(h, len)                                                       \
  ((len) >= (int)sizeof(struct nlmsghdr) &&                                    \
   (h)->nlmsg_len >= sizeof(struct nlmsghdr) && (int)(h)->nlmsg_len <= (len))
#define NLMSG_NEXT(h, len)                                                     \
  ((len) -= (int)NLMSG_ALIGN((h)->nlmsg_len),                                  \
   (struct nlmsghdr *)((char *)(h) + NLMSG_ALIGN((h)->nlmsg_len)))
#define RTA_OK(a, len)                                                         \
  ((len) >= (int)sizeof(struct rtattr) &&                                      \
   (a)->rta_len >= sizeof(struct rtattr) && (a)->rta_len <= (len))
#define RTA_NEXT(a, len)                                                       \
  ((len) -= (int)NLMSG_ALIGN((a)->rta_len),                                    \
   (struct rtattr *)((char *)(a) + NLMSG_ALIGN((a)->rta_len)))
#define RTA_DATA(a) ((void *)((char *)(a) + 4))
#define RTA_PAYLOAD(a) ((int)(a)->rta_len - 4)
#define MSG_PAYLOAD(h, fixed)                                                  \
  ((int)(h)->nlmsg_len - NLMSG_LENGTH((int)NLMSG_ALIGN(fixed)))
#define MSG_ATTRS(h, fixed)                                                    \
  ((struct rtattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(fixed)))

#define CHECK(what, expr)                                                      \
  do {                                                                         \
    errno = 0;                                                                 \
    long r_ = (long)(expr);                                                    \
    printf("%s: %ld %s\n", what, r_ < 0 ? -1L : r_,                            \
           r_ < 0 ? errname(errno) : "");                                      \
  } while (0)

static const char *fam(int f) {
  return f == AF_INET     ? "inet"
         : f == AF_INET6  ? "inet6"
         : f == AF_PACKET ? "packet"
                          : "?";
}

static void show_addr(const char *what, const struct sockaddr *sa) {
  char buf[64] = "none";
  if (sa && sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf,
              sizeof(buf));
  else if (sa && sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
              sizeof(buf));
  else if (sa && sa->sa_family == AF_PACKET) {
    const struct sockaddr_ll *ll = (const void *)sa;
    snprintf(buf, sizeof(buf), "ll index %d hatype %d halen %d",
             ll->sll_ifindex, ll->sll_hatype, ll->sll_halen);
  }
  printf("  %s %s\n", what, buf);
}

static void test_getifaddrs(void) {
  struct ifaddrs *list;
  if (getifaddrs(&list) < 0) {
    printf("getifaddrs: %s\n", errname(errno));
    return;
  }
  for (struct ifaddrs *a = list; a; a = a->ifa_next) {
    if (strcmp(a->ifa_name, "lo"))
      continue;
    printf("getifaddrs lo %s flags 0x%x\n",
           a->ifa_addr ? fam(a->ifa_addr->sa_family) : "noaddr", a->ifa_flags);
    show_addr("addr", a->ifa_addr);
    show_addr("netmask", a->ifa_netmask);
    printf("  data %s\n", a->ifa_data ? "yes" : "no");
  }
  freeifaddrs(list);
}

static void test_nameindex(void) {
  struct if_nameindex *ni = if_nameindex();
  if (!ni) {
    printf("if_nameindex: %s\n", errname(errno));
    return;
  }
  for (struct if_nameindex *p = ni; p->if_index; p++)
    if (!strcmp(p->if_name, "lo"))
      printf("if_nameindex: %u %s\n", p->if_index, p->if_name);
  if_freenameindex(ni);
}

static void ioctl_name(int fd, unsigned long req, const char *rname,
                       const char *name) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
  errno = 0;
  int r = ioctl(fd, req, &ifr);
  printf("%s %s: %d %s", rname, name, r, r < 0 ? errname(errno) : "");
  if (r == 0) {
    switch (req) {
    case SIOCGIFFLAGS:
      printf("flags 0x%x", (unsigned short)ifr.ifr_flags);
      break;
    case SIOCGIFINDEX:
      printf("index %d", ifr.ifr_ifindex);
      break;
    case SIOCGIFMTU:
      printf("mtu %d", ifr.ifr_mtu);
      break;
    case SIOCGIFHWADDR:
      printf("hw family %d bytes %02x%02x%02x%02x%02x%02x",
             ifr.ifr_hwaddr.sa_family, (unsigned char)ifr.ifr_hwaddr.sa_data[0],
             (unsigned char)ifr.ifr_hwaddr.sa_data[1],
             (unsigned char)ifr.ifr_hwaddr.sa_data[2],
             (unsigned char)ifr.ifr_hwaddr.sa_data[3],
             (unsigned char)ifr.ifr_hwaddr.sa_data[4],
             (unsigned char)ifr.ifr_hwaddr.sa_data[5]);
      break;
    }
  }
  printf("\n");
}

static void test_ioctls(int fd) {
  ioctl_name(fd, SIOCGIFFLAGS, "SIOCGIFFLAGS", "lo");
  ioctl_name(fd, SIOCGIFINDEX, "SIOCGIFINDEX", "lo");
  ioctl_name(fd, SIOCGIFMTU, "SIOCGIFMTU", "lo");
  ioctl_name(fd, SIOCGIFHWADDR, "SIOCGIFHWADDR", "lo");
  ioctl_name(fd, SIOCGIFFLAGS, "SIOCGIFFLAGS", "nosuch0");
  ioctl_name(fd, SIOCGIFINDEX, "SIOCGIFINDEX", "nosuch0");
  /* the address requests belong to AF_INET sockets */
  ioctl_name(fd, SIOCGIFADDR, "SIOCGIFADDR (netlink socket)", "lo");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_ifindex = 1;
  int r = ioctl(fd, SIOCGIFNAME, &ifr);
  printf("SIOCGIFNAME 1: %d %s\n", r, r < 0 ? errname(errno) : ifr.ifr_name);
  ifr.ifr_ifindex = 999999;
  r = ioctl(fd, SIOCGIFNAME, &ifr);
  printf("SIOCGIFNAME 999999: %d %s\n", r, r < 0 ? errname(errno) : "");

  /* SIOCGIFCONF: the size asked with no buffer covers whole entries;
   * then lo's IPv4 address among them */
  struct ifconf ifc = {.ifc_len = 0, .ifc_buf = NULL};
  r = ioctl(fd, SIOCGIFCONF, &ifc);
  printf("SIOCGIFCONF size: %d multiple %d\n", r,
         ifc.ifc_len > 0 && ifc.ifc_len % (int)sizeof(struct ifreq) == 0);
  struct ifreq reqs[64];
  ifc.ifc_len = sizeof(reqs);
  ifc.ifc_req = reqs;
  r = ioctl(fd, SIOCGIFCONF, &ifc);
  for (int i = 0; r == 0 && i < ifc.ifc_len / (int)sizeof(struct ifreq); i++)
    if (!strcmp(reqs[i].ifr_name, "lo")) {
      printf("SIOCGIFCONF lo:");
      show_addr("", &reqs[i].ifr_addr);
    }
  /* a buffer smaller than one entry gets none */
  ifc.ifc_len = sizeof(struct ifreq) - 1;
  r = ioctl(fd, SIOCGIFCONF, &ifc);
  printf("SIOCGIFCONF short: %d len %d\n", r, ifc.ifc_len);

  int p[2];
  if (pipe(p) == 0) {
    ioctl_name(p[0], SIOCGIFFLAGS, "SIOCGIFFLAGS (pipe)", "lo");
    close(p[0]);
    close(p[1]);
  }
}

struct req {
  struct nlmsghdr h;
  union {
    struct rtgenmsg g;
    struct ifinfomsg i;
    struct ifaddrmsg a;
  } u;
  char attrs[64];
};

static int send_req(int fd, int type, int flags, int family, int index,
                    unsigned seq) {
  struct req q;
  memset(&q, 0, sizeof(q));
  q.h.nlmsg_type = (unsigned short)type;
  q.h.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | flags);
  q.h.nlmsg_seq = seq;
  if (type == RTM_GETLINK) {
    q.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    q.u.i.ifi_family = (unsigned char)family;
    q.u.i.ifi_index = index;
  } else {
    q.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    q.u.a.ifa_family = (unsigned char)family;
  }
  struct sockaddr_nl k = {.nl_family = AF_NETLINK};
  return (int)sendto(fd, &q, q.h.nlmsg_len, 0, (struct sockaddr *)&k,
                     sizeof(k));
}

/* Receive until NLMSG_DONE (dump) or one datagram (get), printing the
 * messages about lo, checking each carries seq and our port id. */
static void read_replies(int fd, unsigned seq, unsigned pid, bool dump) {
  static char buf[65536];
  int bad = 0;
  for (int rounds = 0; rounds < 64; rounds++) {
    struct sockaddr_nl from;
    struct iovec iov = {buf, sizeof(buf)};
    struct msghdr m = {.msg_name = &from,
                       .msg_namelen = sizeof(from),
                       .msg_iov = &iov,
                       .msg_iovlen = 1};
    ssize_t n = recvmsg(fd, &m, 0);
    if (n < 0) {
      printf("  recvmsg: %s\n", errname(errno));
      return;
    }
    if (rounds == 0)
      printf("  from family %d pid %u namelen %u flags 0x%x\n", from.nl_family,
             from.nl_pid, m.msg_namelen, m.msg_flags);
    for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, (int)n);
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq || h->nlmsg_pid != pid)
        bad++;
      if (h->nlmsg_type == NLMSG_DONE) {
        printf("  done flags 0x%x bad %d\n", h->nlmsg_flags, bad);
        return;
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(h);
        printf("  error %s len %u echo type %d bad %d\n",
               e->error ? errname(-e->error) : "0 (ack)", h->nlmsg_len,
               e->msg.nlmsg_type, bad);
        return;
      }
      if (h->nlmsg_type == RTM_NEWLINK) {
        struct ifinfomsg *i = NLMSG_DATA(h);
        if (i->ifi_index != 1)
          continue;
        printf("  link flags 0x%x index %d type %d iff 0x%x", h->nlmsg_flags,
               i->ifi_index, i->ifi_type, i->ifi_flags);
        int len = MSG_PAYLOAD(h, sizeof(*i));
        for (struct rtattr *a = MSG_ATTRS(h, sizeof(*i)); RTA_OK(a, len);
             a = RTA_NEXT(a, len)) {
          if (a->rta_type == IFLA_IFNAME)
            printf(" name %s", (char *)RTA_DATA(a));
          else if (a->rta_type == IFLA_MTU)
            printf(" mtu %u", *(unsigned *)RTA_DATA(a));
          else if (a->rta_type == IFLA_ADDRESS)
            printf(" hwlen %d", (int)RTA_PAYLOAD(a));
        }
        printf("\n");
      } else if (h->nlmsg_type == RTM_NEWADDR) {
        struct ifaddrmsg *i = NLMSG_DATA(h);
        if (i->ifa_index != 1)
          continue;
        printf("  addr flags 0x%x %s/%d scope %d", h->nlmsg_flags,
               fam(i->ifa_family), i->ifa_prefixlen, i->ifa_scope);
        int len = MSG_PAYLOAD(h, sizeof(*i));
        for (struct rtattr *a = MSG_ATTRS(h, sizeof(*i)); RTA_OK(a, len);
             a = RTA_NEXT(a, len)) {
          char s[64];
          if (a->rta_type == IFA_ADDRESS || a->rta_type == IFA_LOCAL) {
            inet_ntop(i->ifa_family, RTA_DATA(a), s, sizeof(s));
            printf(" %s %s", a->rta_type == IFA_LOCAL ? "local" : "address", s);
          } else if (a->rta_type == IFA_LABEL) {
            printf(" label %s", (char *)RTA_DATA(a));
          }
        }
        printf("\n");
      }
    }
    if (!dump) {
      printf("  one datagram, bad %d\n", bad);
      return;
    }
  }
}

static void test_netlink(void) {
  CHECK("socket NETLINK_ROUTE stream",
        socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE));
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  printf("socket NETLINK_ROUTE raw: %s\n", fd >= 0 ? "ok" : errname(errno));
  if (fd < 0)
    return;
  int v = -1;
  socklen_t vl = sizeof(v);
  getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &vl);
  printf("SO_DOMAIN %d", v);
  getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &vl);
  printf(" SO_TYPE %d", v);
  getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &vl);
  printf(" SO_PROTOCOL %d\n", v);
  struct sockaddr_nl me = {.nl_family = AF_NETLINK};
  socklen_t ml = sizeof(me);
  CHECK("getsockname before bind", getsockname(fd, (void *)&me, &ml));
  printf("  pid %u len %u\n", me.nl_pid, ml);
  struct sockaddr_nl bad = {.nl_family = AF_INET};
  CHECK("bind AF_INET", bind(fd, (void *)&bad, sizeof(bad)));
  CHECK("bind short", bind(fd, (void *)&me, 4));
  me.nl_pid = 0;
  CHECK("bind", bind(fd, (void *)&me, sizeof(me)));
  ml = sizeof(me);
  CHECK("getsockname", getsockname(fd, (void *)&me, &ml));
  printf("  pid is getpid %d len %u family %d\n",
         me.nl_pid == (unsigned)getpid(), ml, me.nl_family);
  unsigned pid = me.nl_pid;
  CHECK("shutdown", shutdown(fd, SHUT_RDWR));
  CHECK("listen", listen(fd, 1));

  printf("RTM_GETLINK dump:\n");
  send_req(fd, RTM_GETLINK, NLM_F_DUMP, AF_PACKET, 0, 10);
  /* sizing: a peek of zero bytes with MSG_TRUNC says the datagram's size */
  ssize_t size = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
  printf("  peek size positive %d\n", size > 0);
  read_replies(fd, 10, pid, true);

  printf("RTM_GETADDR dump AF_INET:\n");
  send_req(fd, RTM_GETADDR, NLM_F_DUMP, AF_INET, 0, 11);
  read_replies(fd, 11, pid, true);
  printf("RTM_GETADDR dump AF_INET6:\n");
  send_req(fd, RTM_GETADDR, NLM_F_DUMP, AF_INET6, 0, 12);
  read_replies(fd, 12, pid, true);
  printf("RTM_GETADDR dump AF_UNSPEC:\n");
  send_req(fd, RTM_GETADDR, NLM_F_DUMP, AF_UNSPEC, 0, 13);
  read_replies(fd, 13, pid, true);

  printf("RTM_GETLINK index 1:\n");
  send_req(fd, RTM_GETLINK, 0, AF_UNSPEC, 1, 14);
  read_replies(fd, 14, pid, false);
  printf("RTM_GETLINK index 1 with ack:\n");
  send_req(fd, RTM_GETLINK, NLM_F_ACK, AF_UNSPEC, 1, 15);
  read_replies(fd, 15, pid, false);
  read_replies(fd, 15, pid, false);
  printf("RTM_GETLINK index 999999:\n");
  send_req(fd, RTM_GETLINK, 0, AF_UNSPEC, 999999, 16);
  read_replies(fd, 16, pid, false);

  /* a datagram cut by a short buffer is gone, MSG_TRUNC says so */
  send_req(fd, RTM_GETLINK, 0, AF_UNSPEC, 1, 17);
  char small[16];
  struct iovec iov = {small, sizeof(small)};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  ssize_t n = recvmsg(fd, &m, 0);
  printf("short recvmsg: %zd trunc %d\n", n, !!(m.msg_flags & MSG_TRUNC));
  CHECK("then nothing queued", recv(fd, small, sizeof(small), MSG_DONTWAIT));

  /* musl's getifaddrs style: no bind, send, recv with MSG_DONTWAIT */
  int fd2 = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  struct req q;
  memset(&q, 0, sizeof(q));
  q.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtgenmsg));
  q.h.nlmsg_type = RTM_GETLINK;
  q.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  q.h.nlmsg_seq = 1;
  CHECK("unbound send length", send(fd2, &q, q.h.nlmsg_len, 0));
  static char buf[65536];
  int done = 0, lo = 0;
  for (int i = 0; i < 16 && !done; i++) {
    ssize_t k = recv(fd2, buf, sizeof(buf), MSG_DONTWAIT);
    if (k < 0) {
      printf("recv: %s\n", errname(errno));
      break;
    }
    for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, (int)k);
         h = NLMSG_NEXT(h, k)) {
      if (h->nlmsg_type == NLMSG_DONE)
        done = 1;
      else if (h->nlmsg_type == RTM_NEWLINK &&
               ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index == 1)
        lo++;
    }
  }
  printf("unbound dump: lo %d done %d\n", lo, done);
  ml = sizeof(me);
  getsockname(fd2, (void *)&me, &ml);
  printf("autobound pid nonzero %d\n", me.nl_pid != 0);
  close(fd2);

  test_ioctls(fd);
  close(fd);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  test_getifaddrs();
  test_nameindex();
  test_netlink();
  return 0;
}
