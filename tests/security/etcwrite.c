/* Writes, deletes and renames under /etc and /tmp inside a sandbox; each
 * must work there (the default root is copy-on-write) and tests/run.py
 * then checks that the host's /etc and /tmp did not change. argv[1] is a
 * marker used in the names of new files, so the runner can look for them
 * on the host. Prints "op: ok", or "op: FAILED ENAME". */
#include "guest.h"

static void check(const char *op, int ok) {
  if (ok)
    printf("%s: ok\n", op);
  else
    printf("%s: FAILED %s\n", op, errname(errno));
}

static int exists(const char *p) {
  struct stat st;
  return lstat(p, &st) == 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *m = argc > 1 ? argv[1] : "moat-canary";
  char p[256], q[256];
  int fd = open("/etc/passwd", O_WRONLY | O_APPEND);
  check("append to /etc/passwd",
        fd >= 0 && write(fd, "intruder:x:0:0::/:/bin/sh\n", 26) == 26);
  close(fd);
  check("read back /etc/passwd",
        strstr(read_file("/etc/passwd"), "root") != NULL);
  snprintf(p, sizeof p, "/etc/%s", m);
  fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
  check("create /etc/<marker>", fd >= 0 && write(fd, "new\n", 4) == 4);
  close(fd);
  check("stat it", exists(p));
  check("unlink /etc/hostname", unlink("/etc/hostname") == 0);
  check("gone inside", !exists("/etc/hostname"));
  snprintf(q, sizeof q, "/etc/hosts.%s", m);
  check("rename /etc/hosts", rename("/etc/hosts", q) == 0);
  check("renamed inside", exists(q) && !exists("/etc/hosts"));
  check("truncate /etc/issue", truncate("/etc/issue", 0) == 0);
  snprintf(p, sizeof p, "/etc/%s.d", m);
  check("mkdir under /etc", mkdir(p, 0755) == 0);
  check("chmod /etc/os-release", chmod("/etc/os-release", 0600) == 0);
  check("unlink /etc/group", unlink("/etc/group") == 0);
  snprintf(p, sizeof p, "/tmp/%s", m);
  fd = open(p, O_WRONLY | O_CREAT, 0644);
  check("create in /tmp", fd >= 0 && write(fd, "tmp\n", 4) == 4);
  close(fd);
  snprintf(q, sizeof q, "/tmp/%s-renamed", m);
  check("rename in /tmp", rename(p, q) == 0);
  snprintf(p, sizeof p, "/tmp/%s-dir", m);
  check("mkdir in /tmp", mkdir(p, 0700) == 0);
  return 0;
}
