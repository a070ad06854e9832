/* Parsing of the runner's command line. Every malformed input ends here
 * with one "moat: ..." line and exit status 125, before any sandbox is
 * built. Options stop at the first non-option word (or "--"): everything
 * after PROGRAM belongs to PROGRAM. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moat/platform.h"
#include "options.h"

void complain(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("moat: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputs("\n", stderr);
  va_end(ap);
}

void options_usage(FILE *out) {
  fputs(
      "usage: moat run [OPTIONS] [--] PROGRAM [ARG...]\n"
      "       moat --help | --version\n"
      "\n"
      "Run PROGRAM, an unmodified static Linux x86-64 executable, inside a\n"
      "moat sandbox. PROGRAM is looked up on the sandbox's PATH.\n"
      "\n"
      "options:\n"
      "  --root DIR|IMAGE.tar        the sandbox's root file system, "
      "read-only\n"
      "                              with an in-memory writable layer "
      "(default:\n"
      "                              the host's /usr /bin /sbin /lib* "
      "/etc)\n"
      "  --mount HOST:GUEST[:ro|rw]  show host directory HOST at GUEST; ro "
      "(the\n"
      "                              default) refuses writes, rw writes to "
      "the host\n"
      "  --env NAME=VALUE            set a variable of the guest's "
      "environment\n"
      "  --clear-env                 no default variables (PATH, HOME, "
      "TERM):\n"
      "                              only those of --env\n"
      "  --read-only                 no writable layer over --root (or the\n"
      "                              default root's system directories):\n"
      "                              writes there fail with EROFS\n"
      "  --file HOST:GUEST           a copy of the host file HOST (at most 1\n"
      "                              MiB) at GUEST, taken at start\n"
      "  --tmpfs DIR[:MODE]          an empty in-memory directory at DIR\n"
      "                              (MODE octal, default 1777; repeatable)\n"
      "  --groups G[,G...]           the guest's supplementary groups\n"
      "  --rlimit NAME=SOFT[:HARD]   a resource limit of the first process\n"
      "                              (NOFILE, NPROC, STACK, ...; numbers or\n"
      "                              unlimited), which every later one "
      "inherits\n"
      "  --cwd DIR                   initial working directory (default /)\n"
      "  --user UID[:GID]            the guest's ids inside (default 0:0; "
      "GID\n"
      "                              defaults to UID)\n"
      "  --hostname NAME             the sandbox's hostname (default moat)\n"
      "  --pids N                    at most N guest processes plus threads "
      "(default\n"
      "                              1024); more fail with EAGAIN inside\n"
      "  --memory SIZE               memory of the whole sandbox (e.g. 512M, "
      "2G;\n"
      "                              suffixes K M G T); past it ENOMEM, "
      "then\n"
      "                              the host's OOM kill (status 137)\n"
      "  --host-uid UID[:GID]        when moat runs as root, the host ids "
      "of the\n"
      "                              sandbox's processes (default "
      "65534:65534;\n"
      "                              0 keeps root's, which is weaker)\n"
      "  --allow-no-userns           run even where the host refuses user\n"
      "                              namespaces (weaker isolation)\n"
      "  --cpu-time SECONDS[:HARD]   CPU time of each guest process: "
      "SIGXCPU\n"
      "                              at SECONDS (status 152), SIGKILL at "
      "HARD\n"
      "                              (default SECONDS+1; status 137)\n"
      "  --timeout SECONDS           wall-clock time of the whole sandbox "
      "(0.5\n"
      "                              allowed); then it is killed, status "
      "124\n"
      "  --tmp-size SIZE             file data of the in-memory file "
      "systems\n"
      "                              (/tmp, the writable layer, "
      "/dev/shm; e.g.\n"
      "                              64M); past it ENOSPC (default: no "
      "own limit)\n"
      "  --files N                   open files per guest process "
      "(default\n"
      "                              1024, hard limit 4096); more fail "
      "with EMFILE\n"
      "  --allow-connect HOST:PORT[/tcp|/udp]\n"
      "                              let the guest reach HOST:PORT on the "
      "host's\n"
      "                              network (HOST an IPv4 address, [IPv6] "
      "or a\n"
      "                              CIDR; PORT N or N-M; default /tcp); "
      "repeatable.\n"
      "                              Nothing else is reachable "
      "(ENETUNREACH)\n"
      "  --publish [HOSTADDR:]HOSTPORT:GUESTPORT[/tcp|/udp]\n"
      "                              the host listens on HOSTADDR:HOSTPORT "
      "(default\n"
      "                              127.0.0.1) and hands each connection "
      "to the\n"
      "                              guest's listener on GUESTPORT (/udp: "
      "each\n"
      "                              datagram to the guest's socket there); "
      "repeatable\n"
      "  --platform linux|vm         where the sandbox runs: linux (the "
      "default),\n"
      "                              moat on the host's kernel, or vm, "
      "moat as the\n"
      "                              kernel of a QEMU virtual machine "
      "(docs/vm.md;\n"
      "                              --root, --env, --cwd, --user, "
      "--hostname,\n"
      "                              --memory, --timeout, --read-only, "
      "--strace,\n"
      "                              --stats, --mount HOST:GUEST:ro and "
      "--file only)\n"
      "  --vm-accel kvm|tcg|auto     with --platform vm: KVM, QEMU's "
      "emulator\n"
      "                              (TCG), or KVM when /dev/kvm can be "
      "opened\n"
      "                              (auto, the default)\n"
      "  --strace                    trace every guest system call on "
      "stderr\n"
      "  --stats                     print guest syscalls and host calls at "
      "exit\n"
      "  --no-fast-path              trap every guest system call (do not "
      "rewrite\n"
      "                              syscall sites into jumps into moat)\n"
      "  --no-tty                    leave a terminal on stdin as it is "
      "(no raw\n"
      "                              mode, no pseudo-terminal for the "
      "guest)\n"
      "  --verbose                   report what the lockdown achieved\n"
      "  -h, --help                  show this help\n"
      "  --version                   show moat's version\n"
      "\n"
      "exit status: PROGRAM's; 128+N if it died of signal N; 124 "
      "--timeout;\n"
      "125 error of moat; 126 PROGRAM cannot be executed; 127 PROGRAM not "
      "found.\n",
      out);
}

static bool parse_u32(const char *s, uint32_t *out) {
  if (!s[0] || s[0] == '-' || s[0] == '+')
    return false;
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *end || v > 0xfffffffeul)
    return false;
  *out = (uint32_t)v;
  return true;
}

/* A size in bytes with an optional K, M, G or T suffix (powers of 1024,
 * as ulimit and cgroups read them; "KiB"-style tails are refused). */
static bool parse_size(const char *s, uint64_t *out) {
  if (!s[0] || s[0] < '0' || s[0] > '9')
    return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno)
    return false;
  unsigned shift = 0;
  switch (*end) {
  case 0:
    break;
  case 'k':
  case 'K':
    shift = 10;
    break;
  case 'm':
  case 'M':
    shift = 20;
    break;
  case 'g':
  case 'G':
    shift = 30;
    break;
  case 't':
  case 'T':
    shift = 40;
    break;
  default:
    return false;
  }
  if (*end && end[1])
    return false;
  if (v > (~0ull >> shift))
    return false;
  *out = (uint64_t)v << shift;
  return true;
}

static bool parse_ids(const char *s, uint32_t *uid, uint32_t *gid) {
  char buf[64];
  if (strlen(s) >= sizeof(buf))
    return false;
  strcpy(buf, s);
  char *colon = strchr(buf, ':');
  if (colon)
    *colon = 0;
  if (!parse_u32(buf, uid))
    return false;
  *gid = *uid;
  return !colon || parse_u32(colon + 1, gid);
}

/* HOST:GUEST[:ro|rw]; HOST may itself hold ':' only if GUEST follows. */
static bool parse_mount(const char *s, struct user_mount *m) {
  char *copy = strdup(s);
  if (!copy)
    return false;
  m->writable = false;
  size_t n = strlen(copy);
  if (n > 3 && copy[n - 3] == ':' &&
      (!strcmp(copy + n - 2, "ro") || !strcmp(copy + n - 2, "rw"))) {
    m->writable = copy[n - 1] == 'w';
    copy[n - 3] = 0;
  }
  char *colon = strchr(copy, ':');
  if (!colon || colon == copy || colon[1] != '/') {
    free(copy);
    return false;
  }
  *colon = 0;
  m->host = copy;
  m->guest = colon + 1;
  return true;
}

static bool hostname_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 64)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
      return false;
  }
  return true;
}

/* --cpu-time SOFT[:HARD]: whole seconds (RLIMIT_CPU has no finer unit);
 * HARD defaults to SOFT + 1 so that SIGXCPU comes first; HARD == SOFT
 * means SIGKILL straight away, as on Linux. */
#define MAX_CPU_SECONDS 31536000u /* a year */
static bool parse_cpu_time(const char *s, struct run_options *o) {
  char buf[32];
  if (strlen(s) >= sizeof(buf))
    return false;
  strcpy(buf, s);
  char *colon = strchr(buf, ':');
  if (colon)
    *colon = 0;
  uint32_t soft, hard;
  if (!parse_u32(buf, &soft) || soft < 1 || soft > MAX_CPU_SECONDS)
    return false;
  hard = soft + 1;
  if (colon &&
      (!parse_u32(colon + 1, &hard) || hard < soft || hard > MAX_CPU_SECONDS))
    return false;
  o->cpu_soft = soft;
  o->cpu_hard = hard;
  return true;
}

/* --timeout SECONDS: a positive decimal number (fractions allowed). */
static bool parse_seconds(const char *s, double *out) {
  if (!s[0] || !((s[0] >= '0' && s[0] <= '9') || s[0] == '.'))
    return false;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || *end || !(v > 0) || v > MAX_CPU_SECONDS)
    return false; /* also NaN, inf, hex floats' oddities */
  *out = v;
  return true;
}

/* "N" or "N-M", 1..65535, N <= M. */
static bool parse_ports(const char *s, uint16_t *lo, uint16_t *hi) {
  char buf[16];
  if (strlen(s) >= sizeof(buf))
    return false;
  strcpy(buf, s);
  char *dash = strchr(buf, '-');
  if (dash)
    *dash = 0;
  uint32_t a, b;
  if (!parse_u32(buf, &a) || a < 1 || a > 65535)
    return false;
  b = a;
  if (dash && (!parse_u32(dash + 1, &b) || b < a || b > 65535))
    return false;
  *lo = (uint16_t)a;
  *hi = (uint16_t)b;
  return true;
}

/* A trailing /tcp or /udp (removed from s); none is tcp. */
static unsigned parse_proto(char *s) {
  size_t n = strlen(s);
  if (n > 4 && !strcmp(s + n - 4, "/tcp")) {
    s[n - 4] = 0;
    return PLAT_NET_TCP;
  }
  if (n > 4 && !strcmp(s + n - 4, "/udp")) {
    s[n - 4] = 0;
    return PLAT_NET_UDP;
  }
  return PLAT_NET_TCP;
}

/* An IPv4 address, or an IPv6 one in brackets, with an optional /PREFIX
 * when cidr. */
static bool parse_host(const char *s, bool cidr, uint16_t *family,
                       uint8_t addr[16], int *prefix) {
  char buf[64];
  if (strlen(s) >= sizeof(buf))
    return false;
  strcpy(buf, s);
  char *host = buf, *slash = NULL;
  bool v6 = buf[0] == '[';
  if (v6) {
    char *close = strchr(buf, ']');
    if (!close)
      return false;
    *close = 0;
    host = buf + 1;
    slash = strchr(host, '/');
    if (close[1])
      return false;
  } else {
    slash = strchr(buf, '/');
  }
  if (slash) {
    if (!cidr)
      return false;
    *slash = 0;
  }
  memset(addr, 0, 16);
  if (inet_pton(v6 ? AF_INET6 : AF_INET, host, addr) != 1)
    return false;
  *family = v6 ? 10 : 2;
  int max = v6 ? 128 : 32;
  *prefix = max;
  if (slash) {
    uint32_t p;
    if (!parse_u32(slash + 1, &p) || (int)p > max)
      return false;
    *prefix = (int)p;
  }
  return true;
}

/* HOST:PORT[/tcp|/udp], HOST as parse_host with a CIDR allowed. */
static bool parse_allow_connect(const char *s, struct plat_linux_net_grant *g) {
  char buf[96];
  if (strlen(s) >= sizeof(buf))
    return false;
  strcpy(buf, s);
  memset(g, 0, sizeof(*g));
  g->protos = parse_proto(buf);
  char *colon = strrchr(buf, ':');
  if (!colon || colon == buf)
    return false;
  *colon = 0;
  if (buf[0] != '[' && strchr(buf, ':'))
    return false; /* IPv6 without brackets */
  return parse_host(buf, true, &g->family, g->addr, &g->prefix) &&
         parse_ports(colon + 1, &g->port_lo, &g->port_hi);
}

/* [HOSTADDR:]HOSTPORT:GUESTPORT[/tcp|/udp]. */
static bool parse_publish(const char *s, struct plat_linux_publish *p) {
  char buf[96];
  if (strlen(s) >= sizeof(buf))
    return false;
  strcpy(buf, s);
  memset(p, 0, sizeof(*p));
  p->proto = parse_proto(buf);
  char *last = strrchr(buf, ':');
  if (!last)
    return false;
  *last = 0;
  uint16_t lo, hi;
  if (!parse_ports(last + 1, &lo, &hi) || lo != hi)
    return false;
  p->guest_port = lo;
  char *port = strrchr(buf, ':');
  int prefix;
  if (port && (buf[0] != '[' || port > strchr(buf, ']'))) {
    *port++ = 0;
    if (buf[0] != '[' && strchr(buf, ':'))
      return false;
    if (!parse_host(buf, false, &p->family, p->addr, &prefix))
      return false;
  } else {
    port = buf;
    p->family = 2;
    p->addr[0] = 127;
    p->addr[3] = 1;
  }
  if (!parse_ports(port, &lo, &hi) || lo != hi)
    return false;
  p->host_port = lo;
  return true;
}

/* Options that take a value, as "--opt VALUE" or "--opt=VALUE". */
static const char *const g_valued[] = {
    "--root",     "--mount",    "--env",    "--cwd",           "--user",
    "--hostname", "--pids",     "--memory", "--host-uid",      "--cpu-time",
    "--timeout",  "--tmp-size", "--files",  "--allow-connect", "--publish",
    "--tmpfs",    "--rlimit",   "--file",   "--groups",        "--platform",
    "--vm-accel"};

/* Resource names of --rlimit, as OCI's config.json and prlimit(1) name
 * them (without the RLIMIT_ prefix), indexed by LINUX_RLIMIT_*. */
static const char *const g_rlimit_names[LINUX_RLIMIT_NLIMITS] = {
    "CPU",      "FSIZE",  "DATA",    "STACK", "CORE",  "RSS",
    "NPROC",    "NOFILE", "MEMLOCK", "AS",    "LOCKS", "SIGPENDING",
    "MSGQUEUE", "NICE",   "RTPRIO",  "RTTIME"};

int options_rlimit_index(const char *name) {
  if (!strncmp(name, "RLIMIT_", 7))
    name += 7;
  for (int r = 0; r < LINUX_RLIMIT_NLIMITS; r++)
    if (g_rlimit_names[r] && !strcmp(name, g_rlimit_names[r]))
      return r;
  return -1;
}

static bool parse_limit(const char *s, uint64_t *out) {
  if (!strcmp(s, "unlimited") || !strcmp(s, "infinity")) {
    *out = LINUX_RLIM_INFINITY;
    return true;
  }
  if (!s[0] || s[0] < '0' || s[0] > '9')
    return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end)
    return false;
  *out = v;
  return true;
}

/* G1,G2,...: sorted, without repeats, as Linux keeps them. */
static bool parse_groups(const char *value, struct run_options *o) {
  char buf[512];
  if (strlen(value) >= sizeof(buf))
    return false;
  strcpy(buf, value);
  o->ngroups = 0;
  for (char *save = NULL, *g = strtok_r(buf, ",", &save); g;
       g = strtok_r(NULL, ",", &save)) {
    uint32_t v;
    if (!parse_u32(g, &v) || o->ngroups >= 32)
      return false;
    uint32_t i = o->ngroups;
    while (i > 0 && o->groups[i - 1] > v)
      i--;
    if (i > 0 && o->groups[i - 1] == v)
      continue;
    memmove(&o->groups[i + 1], &o->groups[i],
            (o->ngroups - i) * sizeof(o->groups[0]));
    o->groups[i] = v;
    o->ngroups++;
  }
  return o->ngroups > 0 || !value[0];
}

/* NAME=SOFT[:HARD] (HARD defaults to SOFT), SOFT <= HARD. */
static bool parse_rlimit(const char *value, struct run_options *o) {
  const char *eq = strchr(value, '=');
  if (!eq || eq == value || (size_t)(eq - value) > 32)
    return false;
  char name[40], soft[32], hard[32];
  memcpy(name, value, (size_t)(eq - value));
  name[eq - value] = 0;
  int r = options_rlimit_index(name);
  const char *colon = strchr(eq + 1, ':');
  size_t slen = colon ? (size_t)(colon - eq - 1) : strlen(eq + 1);
  if (r < 0 || slen >= sizeof(soft) || (colon && strlen(colon + 1) >= 32))
    return false;
  memcpy(soft, eq + 1, slen);
  soft[slen] = 0;
  snprintf(hard, sizeof(hard), "%s", colon ? colon + 1 : soft);
  struct linux_rlimit l;
  if (!parse_limit(soft, &l.rlim_cur) || !parse_limit(hard, &l.rlim_max) ||
      l.rlim_cur > l.rlim_max)
    return false;
  o->rlimits[r] = l;
  o->rlimits_set |= 1u << r;
  return true;
}

static enum run_action parse_run(int argc, char **argv, int i,
                                 struct run_options *o) {
  for (; i < argc; i++) {
    char *arg = argv[i];
    if (!strcmp(arg, "--")) {
      i++;
      break;
    }
    if (arg[0] != '-' || !arg[1])
      break;
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
      return ACTION_HELP;
    if (!strcmp(arg, "--strace")) {
      o->strace = true;
      continue;
    }
    if (!strcmp(arg, "--stats")) {
      o->stats = true;
      continue;
    }
    if (!strcmp(arg, "--no-fast-path")) {
      o->no_fast_path = true;
      continue;
    }
    if (!strcmp(arg, "--no-tty")) {
      o->no_tty = true;
      continue;
    }
    if (!strcmp(arg, "--verbose")) {
      o->verbose = true;
      continue;
    }
    if (!strcmp(arg, "--allow-no-userns")) {
      o->allow_no_userns = true;
      continue;
    }
    if (!strcmp(arg, "--read-only")) {
      o->read_only = true;
      continue;
    }
    if (!strcmp(arg, "--clear-env")) {
      o->clear_env = true;
      continue;
    }
    const char *name = NULL, *value = NULL;
    for (size_t k = 0; k < sizeof(g_valued) / sizeof(g_valued[0]); k++) {
      size_t len = strlen(g_valued[k]);
      if (!strncmp(arg, g_valued[k], len) &&
          (arg[len] == 0 || arg[len] == '=')) {
        name = g_valued[k];
        value = arg[len] == '=' ? arg + len + 1 : NULL;
      }
    }
    if (!name) {
      complain("unknown option %s (see moat --help)", arg);
      return ACTION_ERROR;
    }
    if (!value) {
      if (i + 1 >= argc) {
        complain("option %s needs a value", name);
        return ACTION_ERROR;
      }
      value = argv[++i];
    }
    if (!strcmp(name, "--root")) {
      if (!value[0]) {
        complain("--root: empty path");
        return ACTION_ERROR;
      }
      o->root = value;
    } else if (!strcmp(name, "--mount")) {
      if (o->nmounts >= MAX_USER_MOUNTS) {
        complain("--mount: at most %d mounts", MAX_USER_MOUNTS);
        return ACTION_ERROR;
      }
      if (!parse_mount(value, &o->mounts[o->nmounts])) {
        complain("--mount %s: expected HOST:GUEST[:ro|rw] with an absolute "
                 "GUEST path",
                 value);
        return ACTION_ERROR;
      }
      o->nmounts++;
    } else if (!strcmp(name, "--env")) {
      const char *eq = strchr(value, '=');
      if (!eq || eq == value) {
        complain("--env %s: expected NAME=VALUE", value);
        return ACTION_ERROR;
      }
      if (o->nenv >= MAX_USER_ENV) {
        complain("--env: at most %d variables", MAX_USER_ENV);
        return ACTION_ERROR;
      }
      o->env[o->nenv++] = value;
    } else if (!strcmp(name, "--cwd")) {
      if (value[0] != '/') {
        complain("--cwd %s: expected an absolute path", value);
        return ACTION_ERROR;
      }
      o->cwd = value;
    } else if (!strcmp(name, "--user")) {
      if (!parse_ids(value, &o->uid, &o->gid)) {
        complain("--user %s: expected UID[:GID] (numbers)", value);
        return ACTION_ERROR;
      }
    } else if (!strcmp(name, "--hostname")) {
      if (!hostname_ok(value)) {
        complain("--hostname %s: expected 1 to 64 letters, digits, '-', "
                 "'.' or '_'",
                 value);
        return ACTION_ERROR;
      }
      o->hostname = value;
    } else if (!strcmp(name, "--pids")) {
      char *end;
      unsigned long n = strtoul(value, &end, 10);
      if (!*value || *end || n < 1 || n > 65536) {
        complain("--pids %s: expected a number from 1 to 65536", value);
        return ACTION_ERROR;
      }
      o->max_tasks = (uint32_t)n;
    } else if (!strcmp(name, "--memory")) {
      /* Below a few MiB not even a shell starts; above 2^48 is no limit. */
      uint64_t v;
      if (!parse_size(value, &v) || v < (4ull << 20) || v > (1ull << 48)) {
        complain("--memory %s: expected a size from 4M to 256T, such as "
                 "512M or 2G (suffixes K, M, G, T)",
                 value);
        return ACTION_ERROR;
      }
      o->memory = v;
    } else if (!strcmp(name, "--host-uid")) {
      if (!parse_ids(value, &o->host_uid, &o->host_gid)) {
        complain("--host-uid %s: expected UID[:GID] (numbers)", value);
        return ACTION_ERROR;
      }
      o->host_uid_given = true;
    } else if (!strcmp(name, "--platform")) {
      if (!strcmp(value, "linux")) {
        o->platform = PLATFORM_LINUX;
      } else if (!strcmp(value, "vm")) {
        o->platform = PLATFORM_VM;
      } else {
        complain("--platform %s: expected linux or vm", value);
        return ACTION_ERROR;
      }
    } else if (!strcmp(name, "--vm-accel")) {
      if (!strcmp(value, "auto")) {
        o->vm_accel = VM_ACCEL_AUTO;
      } else if (!strcmp(value, "kvm")) {
        o->vm_accel = VM_ACCEL_KVM;
      } else if (!strcmp(value, "tcg")) {
        o->vm_accel = VM_ACCEL_TCG;
      } else {
        complain("--vm-accel %s: expected kvm, tcg or auto", value);
        return ACTION_ERROR;
      }
      o->vm_accel_given = true;
    } else if (!strcmp(name, "--cpu-time")) {
      if (!parse_cpu_time(value, o)) {
        complain("--cpu-time %s: expected SECONDS[:HARD], whole seconds "
                 "from 1 to %u, HARD not below SECONDS",
                 value, MAX_CPU_SECONDS);
        return ACTION_ERROR;
      }
    } else if (!strcmp(name, "--timeout")) {
      if (!parse_seconds(value, &o->timeout)) {
        complain("--timeout %s: expected seconds above 0 (such as 10 or "
                 "0.5), at most %u",
                 value, MAX_CPU_SECONDS);
        return ACTION_ERROR;
      }
    } else if (!strcmp(name, "--tmp-size")) {
      uint64_t v;
      if (!parse_size(value, &v) || v < 4096 || v > (1ull << 48)) {
        complain("--tmp-size %s: expected a size from 4K to 256T, such as "
                 "64M or 1G (suffixes K, M, G, T)",
                 value);
        return ACTION_ERROR;
      }
      o->tmp_size = v;
    } else if (!strcmp(name, "--allow-connect")) {
      if (o->ngrants >= MAX_NET_GRANTS) {
        complain("--allow-connect: at most %d", MAX_NET_GRANTS);
        return ACTION_ERROR;
      }
      if (!parse_allow_connect(value, &o->grants[o->ngrants])) {
        complain("--allow-connect %s: expected HOST:PORT[/tcp|/udp], HOST an "
                 "IPv4 address, [IPv6] or a CIDR (10.0.0.0/8, [fd00::/8]), "
                 "PORT N or N-M from 1 to 65535",
                 value);
        return ACTION_ERROR;
      }
      o->ngrants++;
    } else if (!strcmp(name, "--publish")) {
      if (o->npubs >= MAX_PUBLISH) {
        complain("--publish: at most %d", MAX_PUBLISH);
        return ACTION_ERROR;
      }
      if (!parse_publish(value, &o->pubs[o->npubs])) {
        complain("--publish %s: expected "
                 "[HOSTADDR:]HOSTPORT:GUESTPORT[/tcp|/udp], "
                 "HOSTADDR an IPv4 address or [IPv6] (default 127.0.0.1), "
                 "ports from 1 to 65535",
                 value);
        return ACTION_ERROR;
      }
      if (o->pubs[o->npubs].proto != PLAT_NET_TCP &&
          o->pubs[o->npubs].proto != PLAT_NET_UDP) {
        complain("--publish %s: one protocol, /tcp or /udp", value);
        return ACTION_ERROR;
      }
      o->npubs++;
    } else if (!strcmp(name, "--tmpfs")) {
      if (value[0] != '/' || !strcmp(value, "/") || !strncmp(value, "/:", 2)) {
        complain("--tmpfs %s: expected an absolute path other than /", value);
        return ACTION_ERROR;
      }
      if (o->ntmpfs >= MAX_TMPFS) {
        complain("--tmpfs: at most %d", MAX_TMPFS);
        return ACTION_ERROR;
      }
      char *colon = strchr(value, ':');
      uint32_t mode = 0;
      if (colon) {
        char *end;
        unsigned long m = strtoul(colon + 1, &end, 8);
        if (!colon[1] || *end || m > 07777) {
          complain("--tmpfs %s: MODE must be octal, at most 7777", value);
          return ACTION_ERROR;
        }
        mode = (uint32_t)m;
        *colon = 0; /* the word is ours: argv */
      }
      o->tmpfs_mode[o->ntmpfs] = mode;
      o->tmpfs[o->ntmpfs++] = value;
    } else if (!strcmp(name, "--groups")) {
      if (!parse_groups(value, o)) {
        complain("--groups %s: expected up to 32 numeric group ids separated "
                 "by commas",
                 value);
        return ACTION_ERROR;
      }
    } else if (!strcmp(name, "--file")) {
      if (o->nfiles_in >= MAX_FILES) {
        complain("--file: at most %d", MAX_FILES);
        return ACTION_ERROR;
      }
      struct user_mount *f = &o->files_in[o->nfiles_in];
      if (!parse_mount(value, f) || f->writable || !strcmp(f->guest, "/")) {
        complain("--file %s: expected HOST:GUEST with an absolute GUEST path "
                 "other than /",
                 value);
        return ACTION_ERROR;
      }
      o->nfiles_in++;
    } else if (!strcmp(name, "--rlimit")) {
      if (!parse_rlimit(value, o)) {
        complain("--rlimit %s: expected NAME=SOFT[:HARD] with NAME one of "
                 "CPU FSIZE DATA STACK CORE RSS NPROC NOFILE MEMLOCK AS LOCKS "
                 "SIGPENDING MSGQUEUE NICE RTPRIO RTTIME and numbers or "
                 "unlimited, SOFT <= HARD",
                 value);
        return ACTION_ERROR;
      }
    } else if (!strcmp(name, "--files")) {
      if (!parse_u32(value, &o->files) || o->files < 1 || o->files > 65536) {
        complain("--files %s: expected a number from 1 to 65536", value);
        return ACTION_ERROR;
      }
    }
  }
  if (o->vm_accel_given && o->platform != PLATFORM_VM) {
    complain("--vm-accel needs --platform vm");
    return ACTION_ERROR;
  }
  if (i >= argc) {
    complain("run: no PROGRAM given (see moat --help)");
    return ACTION_ERROR;
  }
  o->argc = argc - i;
  o->argv = argv + i;
  return ACTION_RUN;
}

enum run_action options_parse(int argc, char **argv, struct run_options *o) {
  memset(o, 0, sizeof(*o));
  o->host_uid = o->host_gid = 65534;
  if (argc < 2) {
    complain("no command given (see moat --help)");
    return ACTION_ERROR;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help"))
    return ACTION_HELP;
  if (!strcmp(cmd, "--version"))
    return ACTION_VERSION;
  if (!strcmp(cmd, "run"))
    return parse_run(argc, argv, 2, o);
  if (cmd[0] == '-')
    complain("unknown option %s (see moat --help)", cmd);
  else
    complain("unknown command %s (see moat --help)", cmd);
  return ACTION_ERROR;
}
