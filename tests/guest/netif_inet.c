/* The interface calls that need an AF_INET, AF_INET6 or AF_UNIX socket:
 * if_nametoindex and if_indextoname (glibc and musl open a datagram
 * socket for their ioctl), and the SIOCGIF* requests on each family,
 * the address ones (SIOCGIFADDR, NETMASK, BRDADDR, DSTADDR) answering
 * only on AF_INET. Only what is about lo is printed; natively and inside
 * moat the output must be the same. */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "guest.h"

static void req(int fd, const char *fam, unsigned long r, const char *rname,
                const char *name) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
  errno = 0;
  int rc = ioctl(fd, r, &ifr);
  printf("%s %s %s: %d %s", fam, rname, name, rc, rc < 0 ? errname(errno) : "");
  if (rc == 0) {
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    char buf[32];
    if (r == SIOCGIFFLAGS)
      printf("flags 0x%x", (unsigned short)ifr.ifr_flags);
    else if (r == SIOCGIFINDEX)
      printf("index %d", ifr.ifr_ifindex);
    else if (r == SIOCGIFMTU)
      printf("mtu %d", ifr.ifr_mtu);
    else
      printf("family %d %s", sin->sin_family,
             inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)));
  }
  printf("\n");
}

static void family(int domain, const char *fam) {
  int fd = socket(domain, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    printf("%s socket: %s\n", fam, errname(errno));
    return;
  }
  req(fd, fam, SIOCGIFFLAGS, "SIOCGIFFLAGS", "lo");
  req(fd, fam, SIOCGIFINDEX, "SIOCGIFINDEX", "lo");
  req(fd, fam, SIOCGIFMTU, "SIOCGIFMTU", "lo");
  req(fd, fam, SIOCGIFADDR, "SIOCGIFADDR", "lo");
  req(fd, fam, SIOCGIFNETMASK, "SIOCGIFNETMASK", "lo");
  req(fd, fam, SIOCGIFBRDADDR, "SIOCGIFBRDADDR", "lo");
  req(fd, fam, SIOCGIFDSTADDR, "SIOCGIFDSTADDR", "lo");
  req(fd, fam, SIOCGIFADDR, "SIOCGIFADDR", "lo:7");
  req(fd, fam, SIOCGIFADDR, "SIOCGIFADDR", "nosuch0");
  struct ifreq reqs[64];
  struct ifconf ifc = {.ifc_len = sizeof(reqs), .ifc_req = reqs};
  int rc = ioctl(fd, SIOCGIFCONF, &ifc);
  for (int i = 0; rc == 0 && i < ifc.ifc_len / (int)sizeof(struct ifreq); i++)
    if (!strcmp(reqs[i].ifr_name, "lo"))
      printf("%s SIOCGIFCONF lo %s\n", fam,
             inet_ntoa(((struct sockaddr_in *)&reqs[i].ifr_addr)->sin_addr));
  close(fd);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("if_nametoindex lo: %u\n", if_nametoindex("lo"));
  errno = 0;
  unsigned n = if_nametoindex("nosuch0");
  printf("if_nametoindex nosuch0: %u %s\n", n, n ? "" : errname(errno));
  char name[IF_NAMESIZE];
  const char *r = if_indextoname(1, name);
  printf("if_indextoname 1: %s\n", r ? r : errname(errno));
  errno = 0;
  r = if_indextoname(999999, name);
  printf("if_indextoname 999999: %s\n", r ? r : errname(errno));
  family(AF_INET, "inet");
  family(AF_INET6, "inet6");
  family(AF_UNIX, "unix");
  return 0;
}
