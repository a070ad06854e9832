/* The sandbox's network interfaces, as the guest sees them: one, the
 * loopback `lo` (index 1, up and running, MTU 65536, 127.0.0.1/8 and
 * ::1/128), exactly what a fresh Linux network namespace shows once lo
 * is up. The host's interfaces never appear: the sandbox has no host
 * network (docs/sockets.md). The interface ioctls of any socket
 * (SIOCGIF*) answer from here; core/netlink.c builds its RTM_NEWLINK and
 * RTM_NEWADDR messages from the same table. */
#include "moat/moat.h"
#include "rt.h"

#define IFF_UP 0x1
#define IFF_LOOPBACK 0x8
#define IFF_RUNNING 0x40
#define ARPHRD_LOOPBACK 772

const struct moat_netif g_moat_netifs[] = {
    {
        .name = "lo",
        .index = 1,
        .flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING,
        .type = ARPHRD_LOOPBACK,
        .mtu = 65536,
        .txqlen = 1000,
        .inet = {127, 0, 0, 1},
        .inet_prefix = 8,
        .inet6 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
        .inet6_prefix = 128,
    },
};
const int g_moat_nnetifs = sizeof(g_moat_netifs) / sizeof(g_moat_netifs[0]);

const struct moat_netif *moat_netif_by_index(int index) {
  for (int i = 0; i < g_moat_nnetifs; i++)
    if (g_moat_netifs[i].index == index)
      return &g_moat_netifs[i];
  return NULL;
}

const struct moat_netif *moat_netif_by_name(const char *name) {
  for (int i = 0; i < g_moat_nnetifs; i++)
    if (!rt_strcmp(g_moat_netifs[i].name, name))
      return &g_moat_netifs[i];
  return NULL;
}

static void put_inet(struct linux_ifreq *ifr, const uint8_t addr[4]) {
  memset(&ifr->u, 0, sizeof(ifr->u));
  ifr->u.addr.family = LINUX_AF_INET;
  memcpy(ifr->u.addr.data + 2, addr, 4); /* after sin_port */
}

/* The interface requests of Linux's dev_ioctl (any socket) and
 * devinet_ioctl (AF_INET sockets only: the address requests). The name
 * is cut at IFNAMSIZ - 1 as the kernel does. */
int moat_netif_ioctl(int domain, unsigned request, struct linux_ifreq *ifr) {
  ifr->ifr_name[LINUX_IFNAMSIZ - 1] = 0;
  if (request == LINUX_SIOCGIFNAME) {
    const struct moat_netif *nif = moat_netif_by_index(ifr->u.ivalue);
    if (!nif)
      return -LINUX_ENODEV;
    memset(ifr->ifr_name, 0, sizeof(ifr->ifr_name));
    memcpy(ifr->ifr_name, nif->name, rt_strlen(nif->name));
    return 0;
  }
  bool inet_request =
      request == LINUX_SIOCGIFADDR || request == LINUX_SIOCGIFNETMASK ||
      request == LINUX_SIOCGIFBRDADDR || request == LINUX_SIOCGIFDSTADDR;
  if (inet_request && domain != LINUX_AF_INET)
    return -LINUX_ENOTTY;
  /* An alias label (lo:1) names the device before the colon; no alias
   * has an address here. */
  char dev[LINUX_IFNAMSIZ];
  memcpy(dev, ifr->ifr_name, sizeof(dev));
  char *colon = rt_strchr(dev, ':');
  if (colon && inet_request)
    *colon = 0;
  const struct moat_netif *nif = moat_netif_by_name(dev);
  if (!nif)
    return -LINUX_ENODEV;
  switch (request) {
  case LINUX_SIOCGIFFLAGS:
    ifr->u.flags = (int16_t)nif->flags;
    return 0;
  case LINUX_SIOCGIFMETRIC:
    ifr->u.ivalue = 0;
    return 0;
  case LINUX_SIOCGIFMTU:
    ifr->u.ivalue = (int32_t)nif->mtu;
    return 0;
  case LINUX_SIOCGIFTXQLEN:
    ifr->u.ivalue = (int32_t)nif->txqlen;
    return 0;
  case LINUX_SIOCGIFINDEX:
    ifr->u.ivalue = nif->index;
    return 0;
  case LINUX_SIOCGIFHWADDR:
    memset(&ifr->u, 0, sizeof(ifr->u));
    ifr->u.addr.family = (uint16_t)nif->type;
    return 0;
  }
  if (colon)
    return -LINUX_EADDRNOTAVAIL;
  static const uint8_t zero[4];
  uint8_t mask[4] = {0, 0, 0, 0};
  for (int b = 0; b < nif->inet_prefix; b++)
    mask[b / 8] |= (uint8_t)(0x80 >> (b % 8));
  switch (request) {
  case LINUX_SIOCGIFADDR:
  case LINUX_SIOCGIFDSTADDR:
    put_inet(ifr, nif->inet);
    return 0;
  case LINUX_SIOCGIFNETMASK:
    put_inet(ifr, mask);
    return 0;
  case LINUX_SIOCGIFBRDADDR: /* lo has none: 0.0.0.0 */
    put_inet(ifr, zero);
    return 0;
  }
  return -LINUX_ENOTTY;
}

bool moat_netif_request(unsigned request) {
  switch (request) {
  case LINUX_SIOCGIFNAME:
  case LINUX_SIOCGIFCONF:
  case LINUX_SIOCGIFFLAGS:
  case LINUX_SIOCGIFADDR:
  case LINUX_SIOCGIFDSTADDR:
  case LINUX_SIOCGIFBRDADDR:
  case LINUX_SIOCGIFNETMASK:
  case LINUX_SIOCGIFMETRIC:
  case LINUX_SIOCGIFMTU:
  case LINUX_SIOCGIFHWADDR:
  case LINUX_SIOCGIFINDEX:
  case LINUX_SIOCGIFTXQLEN:
    return true;
  }
  return false;
}
