/* Capabilities as Linux keeps them for root (capabilities(7)), run
 * natively and under moat with the same output: capget/capset rules,
 * what dropping CAP_DAC_OVERRIDE or CAP_CHOWN from the effective set
 * takes away, the bounding and ambient sets, keep-caps across a uid
 * change, and exec giving root its permitted set back as effective.
 * Raw masks are not printed (a native run inside a container may lack
 * some capabilities); each step runs in a child of its own. */
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "guest.h"

#define BIT(c) (1ull << (c))

/* <linux/capability.h>, which musl's headers lack */
#define _LINUX_CAPABILITY_VERSION_3 0x20080522
#define CAP_CHOWN 0
#define CAP_DAC_OVERRIDE 1
#define CAP_DAC_READ_SEARCH 2
#define CAP_SETUID 7
#define CAP_SETPCAP 8
#define CAP_NET_BIND_SERVICE 10
#define CAP_MKNOD 27
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_IS_SET 1
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_LOWER 3
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
struct __user_cap_header_struct {
  unsigned version;
  int pid;
};
struct __user_cap_data_struct {
  unsigned effective, permitted, inheritable;
};

struct caps {
  unsigned long long eff, prm, inh;
};

static int cget(int pid, struct caps *c) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, pid};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof(d));
  int r = (int)syscall(SYS_capget, &h, d);
  c->eff = d[0].effective | (unsigned long long)d[1].effective << 32;
  c->prm = d[0].permitted | (unsigned long long)d[1].permitted << 32;
  c->inh = d[0].inheritable | (unsigned long long)d[1].inheritable << 32;
  return r;
}

static int cset(const struct caps *c) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2] = {
      {(unsigned)c->eff, (unsigned)c->prm, (unsigned)c->inh},
      {(unsigned)(c->eff >> 32), (unsigned)(c->prm >> 32),
       (unsigned)(c->inh >> 32)}};
  return (int)syscall(SYS_capset, &h, d);
}

static void in_child(const char *what, void (*fn)(void)) {
  printf("-- %s\n", what);
  pid_t c = fork();
  if (c == 0) {
    fn();
    exit(0);
  }
  int st = 0;
  waitpid(c, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st))
    printf("child status %#x\n", st);
}

static char secret[64]; /* per run: glibc and musl runs go in parallel */

static void basics(void) {
  struct caps c;
  R("capget", cget(0, &c));
  FACT("effective == permitted", c.eff == c.prm);
  FACT("CAP_DAC_OVERRIDE effective", (c.eff & BIT(CAP_DAC_OVERRIDE)) != 0);
  FACT("inheritable empty", c.inh == 0);
  R("capget(own pid)", cget(getpid(), &c));
  R("capget(getppid())", cget(getppid(), &c));
  R("capget(no such pid)", cget(999999, &c));
  R("capget(-1)", cget(-1, &c));
  struct __user_cap_header_struct h = {0x12345678, 0};
  R("capget(bad version, NULL data)", syscall(SYS_capget, &h, NULL));
  printf("version written back: %#x\n", h.version);
  struct __user_cap_data_struct d[2];
  h.version = 0x12345678;
  R("capget(bad version)", syscall(SYS_capget, &h, d));
  h.version = _LINUX_CAPABILITY_VERSION_3;
  h.pid = getppid();
  memset(d, 0, sizeof(d));
  R("capset(another pid)", syscall(SYS_capset, &h, d));
  R("PR_CAPBSET_READ(CAP_CHOWN)", prctl(PR_CAPBSET_READ, CAP_CHOWN));
  R("PR_CAPBSET_READ(99)", prctl(PR_CAPBSET_READ, 99));
  R("PR_GET_KEEPCAPS", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
}

static void drop_dac(void) {
  struct caps c;
  cget(0, &c);
  R("open 0000 file as root", open(secret, O_RDONLY));
  c.eff &= ~(BIT(CAP_DAC_OVERRIDE) | BIT(CAP_DAC_READ_SEARCH));
  R("capset effective without DAC caps", cset(&c));
  R("open 0000 file", open(secret, O_RDONLY));
  R("access(R_OK) uses the real ids and caps too", access(secret, R_OK));
  c.eff |= BIT(CAP_DAC_READ_SEARCH);
  R("capset with DAC_READ_SEARCH back", cset(&c));
  R("open 0000 file O_RDONLY", open(secret, O_RDONLY));
  R("open 0000 file O_WRONLY", open(secret, O_WRONLY));
  c.eff |= BIT(CAP_DAC_OVERRIDE);
  R("capset with DAC_OVERRIDE back", cset(&c));
  R("open 0000 file O_WRONLY", open(secret, O_WRONLY));
}

static void drop_permitted(void) {
  struct caps c;
  cget(0, &c);
  c.eff &= ~BIT(CAP_CHOWN);
  c.prm &= ~BIT(CAP_CHOWN);
  R("capset dropping CAP_CHOWN", cset(&c));
  R("chown to 1:1", chown(secret, 1, 1));
  R("chown to own ids", chown(secret, 0, 0));
  c.eff |= BIT(CAP_CHOWN);
  R("capset effective beyond permitted", cset(&c));
  c.eff &= ~BIT(CAP_CHOWN);
  c.prm |= BIT(CAP_CHOWN);
  R("capset raising permitted", cset(&c));
  c.prm &= ~BIT(CAP_CHOWN);
  c.inh = BIT(CAP_CHOWN);
  R("capset inheritable outside permitted", cset(&c));
  c.inh = BIT(CAP_NET_BIND_SERVICE);
  R("capset inheritable within permitted", cset(&c));
  struct caps n;
  cget(0, &n);
  FACT("inheritable is set", n.inh == BIT(CAP_NET_BIND_SERVICE));
  FACT("CAP_CHOWN gone from permitted", !(n.prm & BIT(CAP_CHOWN)));
}

static void ambient(void) {
  R("AMBIENT_IS_SET",
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0));
  R("AMBIENT_RAISE (not inheritable)",
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0));
  struct caps c;
  cget(0, &c);
  c.inh = BIT(CAP_NET_BIND_SERVICE);
  R("capset inheritable", cset(&c));
  R("AMBIENT_RAISE",
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0));
  R("AMBIENT_IS_SET",
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0));
  c.inh = 0;
  R("capset dropping inheritable", cset(&c));
  R("AMBIENT_IS_SET after",
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0));
  R("AMBIENT_CLEAR_ALL",
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
}

static void bounding(void) {
  R("PR_CAPBSET_DROP(CAP_MKNOD)", prctl(PR_CAPBSET_DROP, CAP_MKNOD));
  R("PR_CAPBSET_READ(CAP_MKNOD)", prctl(PR_CAPBSET_READ, CAP_MKNOD));
  struct caps c;
  cget(0, &c);
  FACT("still permitted (the bounding set limits exec only)",
       (c.prm & BIT(CAP_MKNOD)) != 0);
  c.eff &= ~BIT(CAP_SETPCAP);
  R("capset without CAP_SETPCAP", cset(&c));
  R("PR_CAPBSET_DROP without CAP_SETPCAP", prctl(PR_CAPBSET_DROP, CAP_CHOWN));
}

static void setuid_drop(void) {
  struct caps c;
  R("setresuid(0, 1000, 0)", setresuid(0, 1000, 0));
  cget(0, &c);
  FACT("euid 1000: effective empty", c.eff == 0);
  FACT("permitted kept (saved uid 0)", (c.prm & BIT(CAP_CHOWN)) != 0);
  R("seteuid(0)", seteuid(0));
  cget(0, &c);
  FACT("euid 0 again: effective = permitted", c.eff == c.prm && c.eff);
  R("setresuid(1000, 1000, 1000)", setresuid(1000, 1000, 1000));
  cget(0, &c);
  FACT("all ids 1000: everything empty", c.eff == 0 && c.prm == 0);
  R("open 0000 file", open(secret, O_RDONLY));
  R("setuid(0)", setuid(0));
}

static void keepcaps(void) {
  R("PR_SET_KEEPCAPS 1", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
  R("PR_GET_KEEPCAPS", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
  R("PR_SET_KEEPCAPS 2", prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0));
  R("setresuid(1000, 1000, 1000)", setresuid(1000, 1000, 1000));
  struct caps c;
  cget(0, &c);
  FACT("keep-caps: effective empty", c.eff == 0);
  FACT("keep-caps: permitted kept", (c.prm & BIT(CAP_SETUID)) != 0);
  c.eff = BIT(CAP_SETUID);
  R("capset effective CAP_SETUID", cset(&c));
  R("setuid(0) with CAP_SETUID", setuid(0));
  printf("uid now %d\n", (int)getuid());
}

static char *g_self;

static void exec_restores(void) {
  struct caps c;
  cget(0, &c);
  c.eff &= ~BIT(CAP_DAC_OVERRIDE);
  R("capset effective without DAC_OVERRIDE", cset(&c));
  execl(g_self, g_self, "after-exec", (char *)NULL);
  printf("exec failed\n");
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  g_self = argv[0];
  if (argc > 1 && !strcmp(argv[1], "after-exec")) {
    struct caps c;
    cget(0, &c);
    FACT("after exec: effective = permitted again", c.eff == c.prm);
    FACT("CAP_DAC_OVERRIDE effective", (c.eff & BIT(CAP_DAC_OVERRIDE)) != 0);
    return 0;
  }
  if (getuid() != 0) {
    printf("not root: nothing to compare\n");
    return 0;
  }
  snprintf(secret, sizeof(secret), "/tmp/caps_secret.%d", (int)getpid());
  unlink(secret);
  int fd = open(secret, O_CREAT | O_WRONLY, 0);
  R("create 0000 file", fd >= 0);
  close(fd);
  chmod(secret, 0);
  in_child("basics", basics);
  in_child("dropping DAC caps", drop_dac);
  in_child("dropping a permitted cap", drop_permitted);
  in_child("ambient", ambient);
  in_child("bounding", bounding);
  in_child("uid changes", setuid_drop);
  in_child("keep-caps", keepcaps);
  in_child("exec", exec_restores);
  unlink(secret);
  return 0;
}
